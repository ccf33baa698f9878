//! Times one long program on the GPU (slices) against the CPU: `cargo run --release -p
//! gvpie-gpu --example long_run -- [cycles]`.

fn main() {
    let cycles: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5_000_000);
    let gpu = gvpie_gpu::GpuBackend::new().unwrap_or_else(|e| panic!("{e}"));
    let texture = gvpie_pxl::compile("l:\nADD a a 1\nJMP l").unwrap_or_else(|d| panic!("{}", d[0].headline()));
    let config = gvpie_pxl::Config { width: 128, height: 64, budget: cycles, max_frames: 0 };
    // Warm-up: the driver may compile the pipeline on first use.
    let warm = gvpie_pxl::Config { budget: 10, ..config };
    let _ = gpu.run_batch(std::slice::from_ref(&texture), &warm);
    let start = std::time::Instant::now();
    let slice: u32 = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(0);
    let tuning = gvpie_gpu::Tuning { slice, ..gvpie_gpu::Tuning::default() };
    let batch = gpu.run_batch_tuned(std::slice::from_ref(&texture), &config, &tuning).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{}: {} cycles in {:.2} s on {:?} ({:?})",
        gpu.adapter_info(),
        batch.results[0].cycles,
        start.elapsed().as_secs_f64(),
        batch.ran_on,
        batch.results[0].status
    );
}
