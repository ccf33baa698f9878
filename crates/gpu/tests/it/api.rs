//! Scoring mode, argument checks and the public API around the executor.

use gvpie_gpu::{GpuError, RanOn, cpu};

use crate::util::TUNINGS;
use gvpie_pxl::Config;
use gvpie_raster::{Canvas, Rgba};

use crate::util::{backend, compile};

/// A deterministic "photo": a gradient with a disc.
fn target(width: u32, height: u32) -> Canvas {
    let mut canvas = Canvas::new(width, height).unwrap_or_else(|e| panic!("{e}"));
    for y in 0..height as i32 {
        for x in 0..width as i32 {
            canvas.pset(x, y, Rgba::new((x * 4) as u8, (y * 3) as u8, ((x + y) * 2) as u8, 255));
        }
    }
    canvas.circle(20, 15, 9, true, Rgba::new(250, 240, 10, 255));
    canvas
}

#[test]
fn the_workgroup_schedule_is_available() {
    // Every adapter we test on (lavapipe: 32 KiB, NVIDIA: 48 KiB) has the workgroup memory it
    // needs, so the differential tests really run both schedules.
    let Some(gpu) = backend() else { return };
    assert!(gpu.supports_workgroup_schedule(), "{}", gpu.adapter_info());
}

#[test]
fn scores_match_the_cpu_exactly() {
    scores(32, 8);
}

#[test]
fn scores_match_the_cpu_on_the_image_task() {
    // The benchmark's shape: 64x64, 32 alpha shapes.
    scores(64, 32);
}

#[test]
fn scores_match_the_cpu_on_large_canvases() {
    // Too many pixels to score in the slice on lavapipe: the score pass does it.
    scores(256, 4);
}

fn scores(side: u32, n_shapes: u32) {
    let Some(gpu) = backend() else { return };
    let (w, h) = (side, side);
    let mut sources = Vec::new();
    for k in 0..130 {
        let mut s = String::new();
        for j in 0..n_shapes {
            let v = (k * 31 + j * 17) % 64;
            if j % 2 == 0 {
                s.push_str(&format!(
                    "COLOR {} {} {} {}\nRECT {v} {} {} {}\n",
                    v * 4,
                    j * 8,
                    255 - v,
                    40 + j * 6,
                    j,
                    10 + j,
                    5 + v / 3
                ));
            } else {
                s.push_str(&format!("COLOR {} {} {} 128\nTRI {v} 0 {} 63 0 {}\n", j * 8, v * 4, 200, 63 - v, j * 2));
            }
        }
        sources.push(s);
    }
    sources.push("DIV a 1 0".to_string());
    sources.push("l:\nJMP l".to_string());
    let programs: Vec<_> = sources.iter().map(|s| compile(s)).collect();
    let config = Config { width: w, height: h, budget: 2000, max_frames: 0 };
    let target = target(w, h);
    let want = cpu::score_batch(&programs, &config, &target).unwrap_or_else(|e| panic!("{e}"));
    let mut batch = gpu.score_batch(&programs, &config, &target).unwrap_or_else(|e| panic!("{e}"));
    let sliced = gvpie_gpu::Tuning { slice: 5, ..gvpie_gpu::Tuning::default() };
    for tuning in TUNINGS.into_iter().chain([sliced]) {
        batch = gpu.score_batch_tuned(&programs, &config, &target, &tuning).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(batch.ran_on, RanOn::Gpu, "{tuning:?}");
        assert_eq!(batch.results, want, "{tuning:?}");
    }
    assert!(batch.results.iter().all(|s| s.sse > 0));
    let rmse = batch.results[0].rmse(w, h);
    assert!((0.0..=1.0).contains(&rmse));
}

#[test]
fn sse_needs_more_than_32_bits() {
    // A white 1024x1024 canvas against black: 3 * 255^2 * 2^20 > 2^32.
    let Some(gpu) = backend() else { return };
    let config = Config { width: 1024, height: 1024, budget: 10, max_frames: 0 };
    let black = Canvas::new(1024, 1024).unwrap_or_else(|e| panic!("{e}"));
    let batch = gpu.score_batch(&[compile("CLS 255 255 255")], &config, &black).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(batch.results[0].sse, 3 * 255 * 255 * 1024 * 1024);
}

#[test]
fn bad_requests_are_errors() {
    let Some(gpu) = backend() else { return };
    let program = [compile("HALT")];
    let config = Config { width: 0, height: 5, budget: 10, max_frames: 0 };
    assert!(matches!(gpu.run_batch(&program, &config), Err(GpuError::BadRequest(_))));
    let config = Config { width: 8, height: 8, budget: 10, max_frames: 0 };
    let wrong = Canvas::new(4, 4).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(gpu.score_batch(&program, &config, &wrong), Err(GpuError::BadRequest(_))));
    // An empty batch is fine.
    let batch = gpu.run_batch(&[], &config).unwrap_or_else(|e| panic!("{e}"));
    assert!(batch.results.is_empty());
}

#[test]
fn adapters_are_listed_and_selectable() {
    let Some(gpu) = backend() else { return };
    let adapters = gvpie_gpu::list_adapters();
    assert!(adapters.iter().any(|a| a.name == gpu.adapter_info().name));
    if std::env::var("CI").is_ok() {
        // CI runs on lavapipe: make sure it is what we think it is.
        assert_eq!(gpu.adapter_info().device_type, "cpu", "{}", gpu.adapter_info());
    }
    let missing = gvpie_gpu::GpuBackend::with_adapter(Some("no such adapter anywhere"));
    assert!(matches!(missing, Err(GpuError::AdapterNotFound { .. })));
    assert!(gvpie_gpu::GpuBackend::with_adapter(Some("0")).is_ok());
}

#[test]
fn frames_are_counted_not_kept() {
    let Some(gpu) = backend() else { return };
    let config = Config { width: 8, height: 8, budget: 100, max_frames: 10 };
    let batch = gpu.run_batch(&[compile("FRAME\nFRAME")], &config).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(batch.results[0].n_frames, 2);
    assert!(batch.results[0].frames.is_empty());
}
