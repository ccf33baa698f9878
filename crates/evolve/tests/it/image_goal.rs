//! Image goal: exact programs, reproducibility, resume, baseline.

use gvpie_evolve::{Effort, ImageGoalConfig, ImageSearch, ShapeKinds, Strategy, rmse};
use gvpie_raster::{Canvas, Rgba};

/// A small synthetic "photo": a gradient with a few blobs, 48x36.
fn target() -> Canvas {
    let (w, h) = (48u32, 36u32);
    let mut bytes = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let (xf, yf) = (x as i32, y as i32);
            let blob = ((xf - 30).pow(2) + (yf - 12).pow(2) < 80) as u8;
            let r = (x * 5) as u8;
            let g = (y * 7) as u8;
            let b = if blob == 1 { 250 } else { 40 };
            bytes.extend_from_slice(&[r, g, b, 255]);
        }
    }
    let mut canvas = Canvas::from_rgba8(w, h, &bytes).expect("valid size");
    canvas.triangle(2, 30, 20, 20, 10, 35, Rgba::new(200, 30, 30, 255));
    canvas
}

fn small(n_shapes: usize, n_threads: usize) -> ImageGoalConfig {
    ImageGoalConfig {
        n_shapes,
        n_threads,
        seed: 42,
        effort: Effort { restarts: 4, random_tries: 50, max_failures: 30, polish: true },
        ..ImageGoalConfig::default()
    }
}

fn render(program: &str, w: u32, h: u32) -> Canvas {
    let texture = gvpie_pxl::compile(program).expect("program compiles");
    let config = gvpie_pxl::Config { width: w, height: h, ..gvpie_pxl::Config::default() };
    let result = gvpie_pxl::run(&texture, &config).expect("valid size");
    assert_eq!(result.status, gvpie_pxl::Status::Halted);
    result.canvas
}

#[test]
fn program_draws_the_evolved_canvas_exactly() {
    for (kinds, alpha) in [(ShapeKinds::Triangles, 128), (ShapeKinds::Rectangles, 200), (ShapeKinds::Both, 0)] {
        let mut search = ImageSearch::new(target(), ImageGoalConfig { kinds, alpha, ..small(20, 2) }).expect("config");
        let start = search.rmse();
        let mut last = start;
        while !search.is_done() {
            let report = search.step();
            assert!(report.n_candidates > 0);
            assert!((report.rmse - search.rmse()).abs() < 1e-15);
            last = report.rmse;
        }
        assert!(last < start * 0.8, "{kinds:?}: {start} -> {last}");
        let canvas = render(&search.program(), 48, 36);
        assert_eq!(&canvas, search.canvas());
        assert_eq!(rmse(&canvas, search.target()), Some(search.rmse()));
    }
}

#[test]
fn same_seed_same_program_whatever_the_thread_count() {
    let run = |threads| {
        let mut search = ImageSearch::new(target(), small(8, threads)).expect("config");
        search.run();
        search.program()
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
    let mut other = ImageSearch::new(target(), ImageGoalConfig { seed: 43, ..small(8, 1) }).expect("config");
    other.run();
    assert_ne!(one, other.program());
}

#[test]
fn resume_continues_exactly() {
    let mut whole = ImageSearch::new(target(), small(10, 2)).expect("config");
    whole.run();
    let mut first = ImageSearch::new(target(), small(4, 2)).expect("config");
    first.run();
    let mut resumed = ImageSearch::resume(target(), small(10, 1), first.placed()).expect("config");
    assert_eq!(resumed.canvas(), first.canvas());
    resumed.run();
    assert_eq!(resumed.program(), whole.program());
}

#[test]
fn plain_baseline_also_improves_and_is_exact() {
    let config = ImageGoalConfig { strategy: Strategy::Plain, ..small(10, 2) };
    let mut search = ImageSearch::new(target(), config).expect("config");
    let start = search.rmse();
    search.run();
    assert!(search.rmse() < start);
    assert_eq!(&render(&search.program(), 48, 36), search.canvas());
}

#[test]
fn bad_settings_are_errors() {
    let no_restarts = ImageGoalConfig { effort: Effort { restarts: 0, ..Effort::DEFAULT }, ..small(1, 1) };
    assert!(ImageSearch::new(target(), no_restarts).is_err());
}

#[test]
fn one_pixel_target() {
    let target = Canvas::from_rgba8(1, 1, &[10, 20, 30, 255]).expect("size");
    let mut search = ImageSearch::new(target, small(3, 2)).expect("config");
    search.run();
    assert_eq!(search.rmse(), 0.0);
    assert_eq!(&render(&search.program(), 1, 1), search.canvas());
}
