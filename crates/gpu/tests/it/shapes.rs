//! The shape scorer against `gvpie_evolve::ErrorTable::score`, the CPU reference: every delta, colour (with the
//! alpha, fixed or solved) and pixel count must be equal, on random tables and shapes and on the edge cases of the
//! TRI and RECT rules.

use gvpie_evolve::{ErrorTable, Rng, Shape, ShapeKinds};
use gvpie_gpu::{GpuError, MAX_TABLE_PIXELS, ShapeCandidate, ShapeScore};
use gvpie_raster::{Canvas, Rgba};

fn noise(w: u32, h: u32, rng: &mut Rng) -> Canvas {
    let bytes: Vec<u8> = (0..w * h * 4).map(|_| rng.below(256) as u8).collect();
    Canvas::from_rgba8(w, h, &bytes).expect("size")
}

fn candidate(shape: &Shape) -> ShapeCandidate {
    match *shape {
        Shape::Triangle(v) => ShapeCandidate::triangle(v),
        Shape::Rectangle(r) => ShapeCandidate::rectangle(r),
    }
}

/// Scores `shapes` on the GPU and on the CPU and asserts they agree; returns how many covered a pixel.
fn check(table: &ErrorTable, shapes: &[Shape]) -> usize {
    let Some(gpu) = crate::util::backend() else { return 0 };
    let (w, h) = (table.target().width(), table.target().height());
    let mut scorer = gpu.shape_scorer(w, h, table.alpha(), table.min_alpha()).expect("scorer");
    assert_eq!(scorer.alpha(), (table.alpha(), table.min_alpha()));
    scorer.set_table(&table.prefix_words()).expect("table");
    let candidates: Vec<ShapeCandidate> = shapes.iter().map(candidate).collect();
    let scores = scorer.score(&candidates).expect("score");
    assert_eq!(scores.len(), shapes.len());
    let mut covered = 0;
    for (shape, gpu) in shapes.iter().zip(&scores) {
        let expected = match table.score(shape) {
            Some(s) => {
                covered += 1;
                ShapeScore { delta: s.delta, color: [s.color.r, s.color.g, s.color.b, s.color.a], n_pixels: s.n_pixels }
            }
            None => ShapeScore { delta: 0, color: [0; 4], n_pixels: 0 },
        };
        assert_eq!(*gpu, expected, "{w}x{h} alpha {}: {shape:?}", table.alpha());
    }
    covered
}

/// A table for `alpha` (0: solved, at least `min_alpha`). For a solved alpha the target is the current canvas
/// mixed with noise in a proportion that changes every 4 columns, and the canvas has flat bands, so that shapes get
/// alphas over the whole range, clamped ones and opaque flat patches included.
fn table(w: u32, h: u32, alpha: u8, min_alpha: u8, rng: &mut Rng) -> ErrorTable {
    if alpha != 0 {
        return ErrorTable::new(noise(w, h, rng), noise(w, h, rng), alpha, min_alpha);
    }
    let mut current = noise(w, h, rng);
    for y in (0..h).filter(|y| y % 8 < 3) {
        for x in 0..w {
            current.pset(x as i32, y as i32, Rgba::new(90, 140, 30, 255));
        }
    }
    let noise = noise(w, h, rng);
    let weights: Vec<u32> = (0..w.div_ceil(4)).map(|_| rng.below(300).min(256)).collect();
    let mut target = Canvas::new(w, h).expect("size");
    for y in 0..h {
        for x in 0..w {
            let (p, n, m) = (
                current.pixels()[(y * w + x) as usize],
                noise.pixels()[(y * w + x) as usize],
                weights[(x / 4) as usize],
            );
            let mix = |shift: u32| ((p >> shift & 0xff) * m + (n >> shift & 0xff) * (256 - m)) >> 8;
            target.pset(x as i32, y as i32, Rgba::new(mix(0) as u8, mix(8) as u8, mix(16) as u8, 255));
        }
    }
    ErrorTable::new(target, current, 0, min_alpha)
}

#[test]
fn random_shapes_score_as_on_the_cpu() {
    let mut rng = Rng::new(7);
    let cases = [
        (64, 64, 128, 1),
        (64, 48, 255, 1),
        (37, 29, 1, 1),
        (4096, 1, 200, 1),
        (1, 4096, 77, 1),
        (1, 1, 128, 1),
        (64, 64, 0, 1),
        (64, 64, 0, 40),
        (37, 29, 0, 0),
        (4096, 1, 0, 1),
        (1, 4096, 0, 1),
    ];
    for (w, h, alpha, min_alpha) in cases {
        let table = table(w, h, alpha, min_alpha, &mut rng);
        let mut shapes = Vec::new();
        for _ in 0..3000 {
            let shape = Shape::random_within(ShapeKinds::Both, w, h, 1 + rng.below(40) as i32, &mut rng);
            shapes.push(shape.mutate_by(w, h, 8.0, 20, &mut rng));
        }
        if alpha == 0 && w >= 32 && h >= 29 {
            // The cases reach the whole rule: clamped to the least, opaque, and many alphas between.
            let alphas: std::collections::BTreeSet<u8> =
                shapes.iter().filter_map(|s| table.score(s)).map(|s| s.color.a).collect();
            let least = table.min_alpha();
            assert!(alphas.len() > 50 && alphas.contains(&least) && alphas.contains(&255), "{w}x{h}: {alphas:?}");
        }
        let covered = check(&table, &shapes);
        assert!(crate::util::backend().is_none() || covered > 1000, "only {covered} shapes covered a pixel");
    }
}

#[test]
fn edge_cases_score_as_on_the_cpu() {
    let mut rng = Rng::new(11);
    let table = table(64, 64, 128, 1, &mut rng);
    let shapes = [
        // The whole canvas, two ways; both windings.
        Shape::Rectangle([0, 0, 63, 63]),
        Shape::Rectangle([-100, -100, 500, 500]),
        Shape::Triangle([-200, -200, 400, -200, -200, 400]),
        Shape::Triangle([-200, -200, -200, 400, 400, -200]),
        // Off the canvas, degenerate, one pixel.
        Shape::Rectangle([64, 0, 70, 10]),
        Shape::Rectangle([0, -5, 10, -1]),
        Shape::Triangle([0, 0, 5, 5, 10, 10]),
        Shape::Triangle([-10, -10, -5, -20, -1, -3]),
        Shape::Rectangle([5, 5, 5, 5]),
        // Horizontal edges above and below, thin slivers, coordinates past the ±8192 clamp.
        Shape::Triangle([0, 10, 63, 10, 30, 50]),
        Shape::Triangle([0, 50, 63, 50, 30, 10]),
        Shape::Triangle([0, 0, 63, 1, 0, 2]),
        Shape::Triangle([-20_000, 5, 20_000, 6, 0, 60_000]),
        Shape::Triangle([i32::MIN, i32::MIN, i32::MAX, 0, 0, i32::MAX]),
    ];
    let covered = check(&table, &shapes);
    assert!(crate::util::backend().is_none() || covered == 10, "covered {covered}");
}

#[test]
fn bad_requests_are_refused_with_reasons() {
    let Some(gpu) = crate::util::backend() else { return };
    let refused = |w, h, alpha| gpu.shape_scorer(w, h, alpha, 1).map(|_| ()).expect_err("refused");
    assert_eq!(
        refused(65, 64, 128),
        GpuError::BadRequest(format!("the shape scorer takes canvases of 1 to {MAX_TABLE_PIXELS} pixels, not 65x64"))
    );
    assert_eq!(refused(0, 4, 128).to_string(), "the shape scorer takes canvases of 1 to 4096 pixels, not 0x4");
    assert_eq!(refused(65, 64, 0).to_string(), "the shape scorer takes canvases of 1 to 4096 pixels, not 65x64");
    let mut scorer = gpu.shape_scorer(8, 4, 128, 1).expect("scorer");
    assert_eq!(
        scorer.score(&[ShapeCandidate::rectangle([0, 0, 1, 1])]).expect_err("no table").to_string(),
        "no table was set before scoring"
    );
    assert_eq!(
        scorer.set_table(&[0; 10]).expect_err("short table").to_string(),
        "the table has 10 words, not the 288 of a 8x4 canvas"
    );
    scorer.set_table(&[0; 288]).expect("table");
    assert_eq!(scorer.score(&[]).expect("empty"), Vec::new());
}

#[test]
fn a_new_table_changes_the_scores() {
    let Some(gpu) = crate::util::backend() else { return };
    let mut rng = Rng::new(3);
    let mut target = Canvas::new(16, 16).expect("size");
    target.clear(Rgba::new(200, 10, 10, 255));
    let mut table = ErrorTable::new(target, Canvas::new(16, 16).expect("size"), 255, 1);
    let mut scorer = gpu.shape_scorer(16, 16, 255, 1).expect("scorer");
    let shape = Shape::Rectangle([0, 0, 15, 15]);
    for _ in 0..2 {
        scorer.set_table(&table.prefix_words()).expect("table");
        let got = scorer.score(&[candidate(&shape)]).expect("score")[0];
        let want = table.score(&shape).expect("covers");
        assert_eq!((got.delta, got.n_pixels), (want.delta, 256));
        assert_eq!(got.color, [200, 10, 10, 255]);
        table.draw(&Shape::random(ShapeKinds::Triangles, 16, 16, &mut rng), Rgba::new(0, 255, 0, 255));
    }
}

/// The GPU's resident climbers against `gvpie_evolve::climb_cpu`: same shapes, scores and step counts.
#[test]
fn resident_climbers_climb_as_on_the_cpu() {
    let Some(gpu) = crate::util::backend() else { return };
    let mut rng = Rng::new(21);
    let cases = [
        (64, 64, 128, ShapeKinds::Triangles, 4, 3, 4),
        (37, 29, 200, ShapeKinds::Both, 9, 5, 16),
        (64, 48, 1, ShapeKinds::Rectangles, 3, 2, 2),
        (2, 1, 255, ShapeKinds::Both, 1, 1, 1),
        (64, 64, 0, ShapeKinds::Both, 4, 3, 4),
        (37, 29, 0, ShapeKinds::Triangles, 9, 5, 16),
    ];
    for (w, h, alpha, kinds, spread, step, margin) in cases {
        let mut scorer = gpu.shape_scorer(w, h, alpha, 1).expect("scorer");
        let mut table = table(w, h, alpha, 1, &mut rng);
        scorer.set_table(&table.prefix_words()).expect("table");
        // The same scorer climbs again with another key (its buffers kept), with fewer climbers (new buffers),
        // and against a new table.
        for (round, n_climbers) in [300, 300, 7, 300].into_iter().enumerate() {
            if round == 3 {
                table = self::table(w, h, alpha, 1, &mut rng);
                scorer.set_table(&table.prefix_words()).expect("table");
            }
            let job = gvpie_evolve::ClimbJob {
                key: rng.next_u64() as u32,
                n_climbers,
                kinds,
                random_tries: 12,
                max_failures: 25,
                spread,
                step,
                margin,
            };
            let expected = gvpie_evolve::climb_cpu(&table, &job, 2);
            let params = gvpie_gpu::ClimbParams {
                key: job.key,
                n_climbers: job.n_climbers,
                kinds: match kinds {
                    ShapeKinds::Triangles => 0,
                    ShapeKinds::Rectangles => 1,
                    _ => 2,
                },
                random_tries: job.random_tries,
                max_failures: job.max_failures,
                spread,
                step,
                margin,
            };
            let got = scorer.climb(&params).expect("climb");
            assert_eq!(got.len(), expected.len());
            let mut improved = 0;
            for (i, (gpu, cpu)) in got.iter().zip(&expected).enumerate() {
                assert_eq!(gpu.steps, cpu.steps, "{w}x{h} round {round} climber {i}: steps");
                let cpu_best = cpu.best.map(|(shape, s)| {
                    (
                        candidate(&shape),
                        ShapeScore {
                            delta: s.delta,
                            color: [s.color.r, s.color.g, s.color.b, s.color.a],
                            n_pixels: s.n_pixels,
                        },
                    )
                });
                assert_eq!(gpu.best, cpu_best, "{w}x{h} round {round} climber {i}");
                improved += usize::from(cpu.best.is_some_and(|b| b.1.delta < 0));
            }
            assert!(improved > 0 || w * h < 4 || n_climbers < 10, "{w}x{h} round {round}: no climber improved");
        }
    }
}
