//! The GPU benchmark: instructions per second over a large batch, candidate evaluations per
//! second for the image task (GPU against the CPU on all cores of the same host), the
//! latency of one small program, and the memory bandwidth for the floor analysis. It also
//! checks every example program against the CPU first.
//!
//! `cargo run --release -p gvpie-gpu --example gpu_bench -- [--quick] [--programs N]`
//! (`--quick`: small batches and loops, for lavapipe). Prints a table and one JSON
//! line per measurement. It does not write files.

use std::time::Instant;

use gvpie_gpu::{GpuBackend, RanOn, Schedule, Tuning, cpu};
use gvpie_pxl::{Config, Texture};
use gvpie_raster::{Canvas, Rgba};

struct Rng(u32);

impl Rng {
    fn next(&mut self, n: u32) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x % n
    }
}

fn compile(source: &str) -> Texture {
    gvpie_pxl::compile(source).unwrap_or_else(|d| panic!("{}", gvpie_pxl::render_all(&d)))
}

/// ALU loop with drawing: `iterations` rounds of 6 ALU instructions and a PSET, then shapes.
fn alu_program(k: u32, iterations: u32) -> String {
    format!(
        "SET i 0\nSET s {k}\nloop:\nMUL t i 3\nADD s s t\nXOR s s i\nAND s s 0xFFFF\nAND x s 63\nSHR y s 6\nPSET x y\nLOOP i {iterations} loop\nCOLOR {} 80 200 160\nRECT {} 4 30 20\nTRI 0 0 63 {} 10 63\nLINE 0 {} 63 0\nNUM 2 50 s\nHALT",
        k % 256,
        k % 40,
        k % 64,
        k % 64
    )
}

/// The image task's candidate: 32 filled shapes (RECT or TRI) with alpha colours, on a
/// `side`×`side` canvas (sizes and positions scale with it).
fn image_program(rng: &mut Rng, side: u32) -> String {
    let mut s = String::new();
    for _ in 0..32 {
        s.push_str(&format!("COLOR {} {} {} {}\n", rng.next(256), rng.next(256), rng.next(256), 20 + rng.next(200)));
        if rng.next(2) == 0 {
            let most = side * 40 / 64;
            s.push_str(&format!(
                "RECT {} {} {} {}\n",
                rng.next(side),
                rng.next(side),
                1 + rng.next(most),
                1 + rng.next(most)
            ));
        } else {
            let p: Vec<u32> = (0..6).map(|_| rng.next(side * 72 / 64)).collect();
            s.push_str(&format!("TRI {} {} {} {} {} {}\n", p[0], p[1], p[2], p[3], p[4], p[5]));
        }
    }
    s
}

fn target(side: u32) -> Canvas {
    let mut canvas = Canvas::new(side, side).unwrap_or_else(|e| panic!("{e}"));
    let scale = 256 / side.max(1);
    for y in 0..side as i32 {
        for x in 0..side as i32 {
            let s = scale as i32;
            canvas.pset(x, y, Rgba::new((x * s) as u8, (y * s) as u8, ((x ^ y) * s) as u8, 255));
        }
    }
    canvas
}

/// Runs a batch once untimed, then three times; returns the median wall time, GPU part and
/// packing time, and the last batch.
fn timed<T>(
    mut f: impl FnMut() -> Result<gvpie_gpu::Batch<T>, gvpie_gpu::GpuError>,
) -> (f64, f64, f64, gvpie_gpu::Batch<T>) {
    let (mut times, mut gpu_times, mut pack_times) = (Vec::new(), Vec::new(), Vec::new());
    let mut last = None;
    // One untimed run first: a new batch size allocates the staging, device and canvas buffers that the
    // backend keeps for the batches after it (a search runs many batches of one size).
    drop(f());
    for _ in 0..3 {
        let start = Instant::now();
        let batch = f().unwrap_or_else(|e| panic!("{e}"));
        times.push(start.elapsed().as_secs_f64());
        gpu_times.push(batch.timings.gpu_s);
        pack_times.push(batch.timings.pack_s);
        last = Some(batch);
    }
    let last = last.unwrap_or_else(|| unreachable!());
    (median(times), median(gpu_times), median(pack_times), last)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn arg(args: &[String], name: &str) -> Option<u64> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let n_programs = arg(&args, "--programs").unwrap_or(if quick { 2_000 } else { 100_000 }) as usize;
    let iterations = arg(&args, "--iterations").unwrap_or(if quick { 100 } else { 20_000 }) as u32;
    let n_candidates = arg(&args, "--candidates").unwrap_or(if quick { 256 } else { 200_000 }) as usize;
    let n_threads = std::thread::available_parallelism().map_or(1, |n| n.get());

    let start = Instant::now();
    let gpu = GpuBackend::new().unwrap_or_else(|e| panic!("no GPU: {e}"));
    let open_s = start.elapsed().as_secs_f64();
    println!("adapter: {} | driver: {} | cpu threads: {n_threads}", gpu.adapter_info(), gpu.adapter_info().driver);
    println!("{{\"bench\":\"open\",\"seconds\":{open_s:.4}}}");
    println!("workgroup schedule available: {}", gpu.supports_workgroup_schedule());

    // 0. Correctness on this device: every example and the image task, against the CPU.
    let dir = std::env::var("GVPIE_EXAMPLES").unwrap_or_else(|_| "examples".to_string());
    let mut examples: Vec<(String, Texture)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "pxl")
                && let Ok(source) = std::fs::read_to_string(&path)
            {
                examples.push((path.display().to_string(), compile(&source)));
            }
        }
    }
    examples.sort_by(|a, b| a.0.cmp(&b.0));
    let programs: Vec<Texture> = examples.iter().map(|e| e.1.clone()).collect();
    let config = Config::default();
    let batch = gpu.run_batch(&programs, &config).unwrap_or_else(|e| panic!("{e}"));
    let want = cpu::run_batch(&programs, &config).unwrap_or_else(|e| panic!("{e}"));
    let mut same = 0;
    for ((name, _), (g, c)) in examples.iter().zip(batch.results.iter().zip(&want)) {
        let ok = g.status == c.status && g.cycles == c.cycles && g.canvas == c.canvas && g.n_frames == c.n_frames;
        same += usize::from(ok);
        if !ok {
            println!("MISMATCH {name}: gpu {:?} {} cpu {:?} {}", g.status, g.cycles, c.status, c.cycles);
        }
    }
    println!("examples: {same}/{} identical to the CPU, ran on {:?}", examples.len(), batch.ran_on);

    // 1. Aggregate instructions per second.
    let alu: Vec<Texture> = (0..n_programs as u32).map(|k| compile(&alu_program(k, iterations))).collect();
    let config = Config { width: 64, height: 64, budget: u64::from(iterations) * 8 + 100, max_frames: 0 };
    let target = target(64);
    let cpu_sample = (n_programs / 20).max(n_threads);
    let start = Instant::now();
    let cpu_results = cpu::score_batch(&alu[..cpu_sample], &config, &target).unwrap_or_else(|e| panic!("{e}"));
    let t_cpu = start.elapsed().as_secs_f64();
    let cpu_cycles: u64 = cpu_results.iter().map(|r| r.cycles).sum();
    let variants = [
        ("default", Tuning::default()),
        ("global_vars", Tuning { local_vars: false, ..Tuning::default() }),
        // Looping programs start in the interpreter-only pipeline.
        ("split", Tuning { split: true, ..Tuning::default() }),
    ];
    for (name, tuning) in variants {
        let (t, tg, tp, batch) = timed(|| gpu.score_batch_tuned(&alu, &config, &target, &tuning));
        let plan_s = batch.timings.plan_s;
        if batch.ran_on != RanOn::Gpu {
            println!("note: ALU batch ran on {:?}", batch.ran_on);
        }
        let total_cycles: u64 = batch.results.iter().map(|r| r.cycles).sum();
        let identical = batch.results[..cpu_sample] == cpu_results[..];
        println!(
            "{{\"bench\":\"instructions\",\"variant\":\"{name}\",\"programs\":{n_programs},\"cycles\":{total_cycles},\"seconds\":{t:.4},\"pack_seconds\":{tp:.4},\"plan_seconds\":{plan_s:.4},\"gpu_seconds\":{tg:.4},\"gpu_ips\":{:.4e},\"gpu_ips_dispatch\":{:.4e},\"cpu_programs\":{cpu_sample},\"cpu_ips\":{:.4e},\"identical\":{identical}}}",
            total_cycles as f64 / t,
            total_cycles as f64 / tg,
            cpu_cycles as f64 / t_cpu
        );
    }

    // 1b. Probes: where an instruction's time goes. The loop instruction alone, the ALU loop
    // without pixels or shapes, the ALU loop with a half-transparent PSET (blended: read and
    // write), each in the interpreter-only pipeline and in the full one.
    let probes = [
        ("loop_only", format!("l:\nLOOP i {} l\nHALT", iterations * 8)),
        (
            "alu_no_draw",
            format!(
                "SET s 3\nl:\nMUL t i 3\nADD s s t\nXOR s s i\nAND s s 0xFFFF\nAND x s 63\nSHR y s 6\nLOOP i {iterations} l\nHALT"
            ),
        ),
        (
            "alu_pset_blend",
            format!(
                "COLOR 200 80 40 128\nSET s 3\nl:\nMUL t i 3\nADD s s t\nXOR s s i\nAND s s 0xFFFF\nAND x s 63\nSHR y s 6\nPSET x y\nLOOP i {iterations} l\nHALT"
            ),
        ),
    ];
    for (probe, source) in probes {
        let programs: Vec<Texture> = (0..n_programs).map(|_| compile(&source)).collect();
        for (name, tuning) in [("split", Tuning { split: true, ..Tuning::default() }), ("unsplit", Tuning::default())] {
            let (_, tg, _, batch) = timed(|| gpu.score_batch_tuned(&programs, &config, &target, &tuning));
            let total_cycles: u64 = batch.results.iter().map(|r| r.cycles).sum();
            println!(
                "{{\"bench\":\"instruction_probe\",\"probe\":\"{probe}\",\"variant\":\"{name}\",\"gpu_ips\":{:.4e},\"interp_dispatches\":{},\"full_dispatches\":{}}}",
                total_cycles as f64 / tg,
                batch.timings.interp_dispatches,
                batch.timings.full_dispatches
            );
        }
    }

    // 2. Image task: candidates per second, GPU against all CPU cores, on 64×64 canvases (the
    // task of the issue), then 32×32 and 128×128 (where the schedules compare differently).
    let image_sizes: Vec<(u32, usize)> =
        vec![(64, n_candidates), (32, n_candidates), (128, (n_candidates / 4).max(n_threads))];
    for (side, n) in image_sizes {
        image_bench(&gpu, side, n, n_threads);
    }

    // 3. Latency of one small program.
    let one = [compile("COLOR 255 0 0\nRECT 2 2 20 10\nTXT 1 1 HI\nHALT")];
    let config = Config::default();
    let mut gpu_lat = Vec::new();
    let mut cpu_lat = Vec::new();
    for _ in 0..21 {
        let start = Instant::now();
        let _ = gpu.run_batch(&one, &config);
        gpu_lat.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        let _ = gvpie_pxl::run(&one[0], &config);
        cpu_lat.push(start.elapsed().as_secs_f64());
    }
    println!(
        "{{\"bench\":\"latency\",\"gpu_ms\":{:.3},\"cpu_ms\":{:.4}}}",
        median(gpu_lat) * 1e3,
        median(cpu_lat) * 1e3
    );

    // 4. Device memory bandwidth (a large device-to-device copy, read + write bytes).
    let size: u64 = if quick { 64 << 20 } else { 1 << 30 };
    let bandwidth = gvpie_gpu::measure_copy_bandwidth(&gpu, size, 5);
    println!("{{\"bench\":\"bandwidth\",\"bytes\":{size},\"gb_per_s\":{:.1}}}", bandwidth / 1e9);
}

/// The image task on `side`×`side` canvases: `n` candidates scored on the CPU (a sample) and
/// on the GPU under each schedule and chunk size.
fn image_bench(gpu: &GpuBackend, side: u32, n: usize, n_threads: usize) {
    let mut rng = Rng(0x1234_5678);
    let candidates: Vec<Texture> = (0..n).map(|_| compile(&image_program(&mut rng, side))).collect();
    let config = Config { width: side, height: side, budget: 1000, max_frames: 0 };
    let target = target(side);
    let cpu_sample = (n / 10).max(n_threads);
    let start = Instant::now();
    let cpu_scored = cpu::score_batch(&candidates[..cpu_sample], &config, &target).unwrap_or_else(|e| panic!("{e}"));
    let t_cpu = start.elapsed().as_secs_f64();
    let cpu_rate = cpu_sample as f64 / t_cpu;
    let variants = [
        ("default", Tuning::default()),
        ("lanes", Tuning { schedule: Schedule::Lanes, ..Tuning::default() }),
        ("lanes_one_chunk", Tuning { schedule: Schedule::Lanes, chunk_programs: 0, ..Tuning::default() }),
        ("lanes_chunk_128k", Tuning { schedule: Schedule::Lanes, chunk_programs: 1 << 17, ..Tuning::default() }),
        ("workgroup", Tuning { schedule: Schedule::Workgroup, ..Tuning::default() }),
        ("workgroup_global_prog", Tuning { schedule: Schedule::Workgroup, local_prog: false, ..Tuning::default() }),
    ];
    for (name, tuning) in variants {
        let (t, tg, tp, batch) = timed(|| gpu.score_batch_tuned(&candidates, &config, &target, &tuning));
        let plan_s = batch.timings.plan_s;
        if batch.ran_on != RanOn::Gpu {
            println!("note: image batch ran on {:?}", batch.ran_on);
        }
        let identical = batch.results[..cpu_sample] == cpu_scored[..];
        let gpu_rate = n as f64 / t;
        println!(
            "{{\"bench\":\"image\",\"side\":{side},\"variant\":\"{name}\",\"candidates\":{n},\"seconds\":{t:.4},\"pack_seconds\":{tp:.4},\"plan_seconds\":{plan_s:.4},\"gpu_seconds\":{tg:.4},\"gpu_per_s\":{gpu_rate:.4e},\"gpu_per_s_dispatch\":{:.4e},\"cpu_threads\":{n_threads},\"cpu_per_s\":{cpu_rate:.4e},\"ratio\":{:.1},\"identical\":{identical}}}",
            n as f64 / tg,
            gpu_rate / cpu_rate
        );
    }
}
