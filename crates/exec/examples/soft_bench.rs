//! How the soft renderers' cost grows with the number of shapes: the CPU's (`f64`, all cores) against the GPU's
//! (`f32`), for the gradient steps of `gvpie evolve`'s refinements (issue 15's rule for where `auto` computes them).
//!
//! `cargo run --release -p gvpie-exec --features gpu --example soft_bench -- [SIDE] [EVALUATIONS]`: a SIDE x SIDE
//! target (default 128, the 16384 pixels of `--refine-pixels`) and programs of 50 to 3200 triangles shaped like a
//! search's (large first, then smaller and smaller), each evaluated EVALUATIONS times (default 20) after one untimed
//! evaluation. Prints one JSON line per shape count: milliseconds per evaluation on each, and their ratio.

use std::time::Instant;

use gvpie_evolve::Rng;
use gvpie_evolve::refine::{Call, DrawKind, SLOTS, SoftTarget};
use gvpie_exec::{BackendChoice, Engine};
use gvpie_raster::{Canvas, Rgba};

fn main() {
    let args: Vec<u32> = match std::env::args().skip(1).map(|a| a.parse::<u32>()).collect() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("usage: soft_bench [SIDE] [EVALUATIONS] (whole numbers): {err}");
            std::process::exit(2);
        }
    };
    let side = args.first().copied().unwrap_or(128).clamp(1, 1024);
    let evaluations = args.get(1).copied().unwrap_or(20).max(1);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rng = Rng::new(1);
    let mut canvas = Canvas::new(side, side).expect("size");
    for y in 0..side {
        for x in 0..side {
            let n = rng.below(40);
            canvas.pset(x as i32, y as i32, Rgba::new((x * 2 + n) as u8, (y * 2) as u8, (x + y + n) as u8, 255));
        }
    }
    let target = SoftTarget::new(&canvas, 0.0);
    let engine = Engine::detect();
    let (mut cpu, _) = engine.soft_renderer(BackendChoice::Cpu, threads).expect("cpu");
    let (mut gpu, gpu_choice) = match engine.soft_renderer(BackendChoice::Gpu, threads) {
        Ok(pair) => pair,
        Err(err) => {
            eprintln!("no GPU: {err}");
            return;
        }
    };
    eprintln!("gpu: {:?}; cpu threads: {threads}", gpu_choice.adapter);
    for n_shapes in [50usize, 100, 200, 400, 800, 1600, 3200] {
        let s = side as f64;
        let mut draws: Vec<Call> = vec![(DrawKind::Cls, 0, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 128.0, 128.0, 128.0, 255.0])];
        for i in 0..n_shapes {
            // A search's shapes shrink as it goes: a radius from half the side down to a few pixels.
            let radius = (s / 2.0 * (1.0 - i as f64 / n_shapes as f64).powi(2)).max(3.0);
            let (cx, cy) = (rng.below(side) as f64, rng.below(side) as f64);
            let mut v = [0.0; SLOTS];
            for k in 0..3 {
                v[2 * k] = cx + (rng.below(2001) as f64 / 1000.0 - 1.0) * radius;
                v[2 * k + 1] = cy + (rng.below(2001) as f64 / 1000.0 - 1.0) * radius;
            }
            for slot in v.iter_mut().skip(6).take(3) {
                *slot = rng.below(256) as f64;
            }
            v[9] = 60.0 + rng.below(190) as f64;
            draws.push((DrawKind::Tri, 0, v));
        }
        let time = |renderer: &mut dyn gvpie_evolve::SoftRenderer| {
            renderer.evaluate(&target, &[], &draws, 1.0).expect("evaluate");
            let start = Instant::now();
            for _ in 0..evaluations {
                renderer.evaluate(&target, &[], &draws, 1.0).expect("evaluate");
            }
            start.elapsed().as_secs_f64() * 1000.0 / f64::from(evaluations)
        };
        let cpu_ms = time(cpu.as_mut());
        let gpu_ms = time(gpu.as_mut());
        println!(
            "{{\"bench\":\"soft\",\"side\":{side},\"shapes\":{n_shapes},\"cpu_threads\":{threads},\"cpu_ms\":{cpu_ms:.3},\"gpu_ms\":{gpu_ms:.3},\"gpu_speedup\":{:.2}}}",
            cpu_ms / gpu_ms
        );
    }
}
