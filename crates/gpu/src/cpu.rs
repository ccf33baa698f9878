//! The CPU side of a batch: the fallback when the GPU fails, the reference in tests and the
//! baseline in benchmarks. Programs run on the CPU reference VM, spread over all cores.
//!
//! Nothing here touches a GPU.

use gvpie_pxl::{Config, RunResult, Texture};
use gvpie_raster::{Canvas, CanvasError};

use crate::batch::Scored;

/// The sum over all pixels of the squared R, G and B differences between two canvases of the
/// same size (what the GPU computes in scoring mode).
pub fn sse(canvas: &Canvas, target: &Canvas) -> u64 {
    canvas
        .pixels()
        .iter()
        .zip(target.pixels())
        .map(|(&p, &t)| {
            (0..3)
                .map(|k| {
                    let d = i64::from((p >> (8 * k)) as u8) - i64::from((t >> (8 * k)) as u8);
                    (d * d) as u64
                })
                .sum::<u64>()
        })
        .sum()
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `f` on every program, spread over all cores, results in program order.
fn parallel<T: Send>(programs: &[Texture], f: impl Fn(&Texture) -> T + Sync) -> Vec<T> {
    let per_thread = programs.len().div_ceil(threads()).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            programs.chunks(per_thread).map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<T>>())).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}

fn cpu_config(config: &Config) -> Config {
    // The GPU keeps no frames; the CPU twin keeps none either, so results compare equal.
    Config { max_frames: 0, ..*config }
}

/// Runs every program on the CPU reference VM, on all cores; frames are counted, not kept.
///
/// # Errors
///
/// A canvas size outside 1..=4096.
pub fn run_batch(programs: &[Texture], config: &Config) -> Result<Vec<RunResult>, CanvasError> {
    Canvas::new(config.width, config.height)?;
    let config = cpu_config(config);
    Ok(parallel(programs, |texture| run_one(texture, &config)))
}

/// Runs every program on the CPU and scores its canvas against `target`, on all cores.
///
/// # Errors
///
/// A canvas size outside 1..=4096.
pub fn score_batch(programs: &[Texture], config: &Config, target: &Canvas) -> Result<Vec<Scored>, CanvasError> {
    Canvas::new(config.width, config.height)?;
    let config = cpu_config(config);
    Ok(parallel(programs, |texture| {
        let result = run_one(texture, &config);
        Scored {
            status: result.status,
            cycles: result.cycles,
            n_frames: result.n_frames,
            sse: sse(&result.canvas, target),
        }
    }))
}

fn run_one(texture: &Texture, config: &Config) -> RunResult {
    match gvpie_pxl::run(texture, config) {
        Ok(result) => result,
        // The size was checked by the caller, and it is the only thing `run` can refuse.
        Err(err) => unreachable!("canvas size checked before: {err}"),
    }
}
