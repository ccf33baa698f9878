//! Helpers shared by the GPU integration tests.

use std::sync::OnceLock;

use gvpie_gpu::{GpuBackend, GpuError, RanOn, Schedule, Tuning};
use gvpie_pxl::{Config, RunResult, Texture};

/// The backend shared by all tests, or `None` (after a loud note) when there is no adapter and
/// `GVPIE_REQUIRE_GPU` is not set.
pub fn backend() -> Option<&'static GpuBackend> {
    static BACKEND: OnceLock<Result<GpuBackend, GpuError>> = OnceLock::new();
    let required = std::env::var("GVPIE_REQUIRE_GPU").is_ok_and(|v| v == "1");
    match BACKEND.get_or_init(GpuBackend::new) {
        Ok(backend) => Some(backend),
        Err(err) if required => panic!("GVPIE_REQUIRE_GPU=1 but the GPU backend is unavailable: {err}"),
        Err(err) => {
            eprintln!("\n!!! NOTE: GPU tests skipped: {err}. Install mesa-vulkan-drivers (lavapipe) to run them.\n");
            None
        }
    }
}

/// Every batch of the differential tests runs under each of these, besides the default: every
/// schedule and memory placement must give the CPU's results, and so must batches cut into
/// chunks of one group or of 64 programs (each packed while the one before runs).
pub const TUNINGS: [Tuning; 3] = [
    // Looping programs start in the interpreter-only pipeline (the default runs every program
    // in the full one).
    Tuning {
        schedule: Schedule::Lanes,
        local_vars: false,
        local_prog: false,
        threads: 1,
        slice: 0,
        max_binding: 0,
        split: true,
        chunk_programs: 0,
    },
    Tuning {
        schedule: Schedule::Workgroup,
        local_vars: true,
        local_prog: true,
        threads: 3,
        slice: 0,
        max_binding: 0,
        split: true,
        chunk_programs: 64,
    },
    Tuning {
        schedule: Schedule::Workgroup,
        local_vars: false,
        local_prog: false,
        threads: 0,
        slice: 0,
        max_binding: 0,
        split: true,
        chunk_programs: 1,
    },
];

/// Compiles PXL source or panics with the diagnostics.
pub fn compile(source: &str) -> Texture {
    gvpie_pxl::compile(source).unwrap_or_else(|d| panic!("{}\n{source}", gvpie_pxl::render_all(&d)))
}

/// Asserts that two results are identical, naming the program on failure.
#[track_caller]
pub fn assert_same(label: &str, cpu: &RunResult, gpu: &RunResult) {
    assert_eq!(cpu.status, gpu.status, "{label}: status");
    assert_eq!(cpu.cycles, gpu.cycles, "{label}: cycles");
    assert_eq!(cpu.n_frames, gpu.n_frames, "{label}: frames");
    if cpu.canvas != gpu.canvas {
        let (w, h) = (cpu.canvas.width(), cpu.canvas.height());
        let mut diffs = Vec::new();
        for y in 0..h as i32 {
            for x in 0..w as i32 {
                let (a, b) = (cpu.canvas.get(x, y), gpu.canvas.get(x, y));
                if a != b && diffs.len() < 8 {
                    diffs.push(format!("({x},{y}) cpu {a:?} gpu {b:?}"));
                }
            }
        }
        panic!("{label}: canvases differ:\n  {}", diffs.join("\n  "));
    }
}

/// Runs `programs` on both backends under `config` and asserts identical results.
/// Returns the number of programs compared (0 without a GPU).
#[track_caller]
pub fn check_textures(labels: &[String], programs: &[Texture], config: &Config) -> usize {
    check(labels, programs, config)
}

/// Like [`check_textures`] for long runs: only the default tuning (every schedule runs the
/// same slices; the short tests cover the others). The GPU runs every program to its end in
/// resumable slices, so no driver loop limit or watchdog may make the batch fall back.
#[track_caller]
pub fn check_textures_long(labels: &[String], programs: &[Texture], config: &Config) -> usize {
    check_with(labels, programs, config, &[Tuning::default()])
}

#[track_caller]
fn check(labels: &[String], programs: &[Texture], config: &Config) -> usize {
    let tunings: Vec<Tuning> = std::iter::once(Tuning::default()).chain(TUNINGS).collect();
    check_with(labels, programs, config, &tunings)
}

/// Runs `programs` under each tuning and asserts that the GPU ran them (no fallback) with
/// the CPU's results.
#[track_caller]
pub fn check_with(labels: &[String], programs: &[Texture], config: &Config, tunings: &[Tuning]) -> usize {
    let Some(gpu) = backend() else { return 0 };
    let cpu = gvpie_gpu::cpu::run_batch(programs, config).unwrap_or_else(|e| panic!("cpu: {e}"));
    for tuning in tunings {
        let batch = gpu.run_batch_tuned(programs, config, tuning).unwrap_or_else(|e| panic!("run_batch: {e}"));
        assert_eq!(batch.ran_on, RanOn::Gpu, "the batch did not run on the GPU ({tuning:?})");
        assert_eq!(batch.results.len(), programs.len());
        for ((label, c), g) in labels.iter().zip(&cpu).zip(&batch.results) {
            assert_same(&format!("{label} [{tuning:?}]"), c, g);
        }
    }
    programs.len()
}

/// Like [`check_textures`] for PXL sources (labelled by their text).
#[track_caller]
pub fn check_sources(sources: &[&str], config: &Config) -> usize {
    let programs: Vec<Texture> = sources.iter().map(|s| compile(s)).collect();
    let labels: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
    check_textures(&labels, &programs, config)
}

/// A small canvas for most tests.
pub fn small(budget: u64) -> Config {
    Config { width: 40, height: 24, budget, max_frames: 0 }
}

/// The repository root: `GVPIE_REPO_ROOT` when set (a test binary carried to another machine),
/// else the root this crate was built in.
pub fn repo_root() -> std::path::PathBuf {
    match std::env::var_os("GVPIE_REPO_ROOT") {
        Some(root) => root.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    }
}
