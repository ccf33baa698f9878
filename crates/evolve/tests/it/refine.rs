//! Differentiable refinement: the analytic gradient against central differences for every drawing kind and
//! operand kind, the soft renderer's limit against the exact one, and refined programs rerun exactly in the VM.

use gvpie_evolve::refine::soft::{self, SoftTarget};
use gvpie_evolve::refine::{
    Budget, COLOR_SLOT, Call, CpuSoftRenderer, DrawKind, Params, RefineConfig, SLOTS, SoftRenderer, refine, trace,
};
use gvpie_evolve::{Clock, Rng, rmse};
use gvpie_raster::Canvas;

/// A noisy target picture.
fn noise(width: u32, height: u32, seed: u64) -> Canvas {
    let mut rng = Rng::new(seed);
    let bytes: Vec<u8> = (0..width * height)
        .flat_map(|_| [rng.below(256) as u8, rng.below(256) as u8, rng.below(256) as u8, 255])
        .collect();
    Canvas::from_rgba8(width, height, &bytes).expect("valid size")
}

/// Every kind with fractional geometry (so that no bounding box edge sits on a pixel), a half-transparent colour,
/// over a `CLS` and under a second shape, so that gradients flow through layers.
fn scenes() -> Vec<(&'static str, Vec<Call>)> {
    let cls = (DrawKind::Cls, 0, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 40.3, 90.7, 200.2, 255.0]);
    let top = (DrawKind::Rect, 0, [6.3, 1.4, 4.6, 5.2, 0.0, 0.0, 250.0, 20.0, 30.0, 100.0]);
    let color = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 180.4, 60.2, 20.9, 150.3];
    let with = |kind: DrawKind, geometry: &[f64]| {
        let mut v = color;
        v[..geometry.len()].copy_from_slice(geometry);
        vec![cls, (kind, 0, v), top]
    };
    vec![
        ("RECT", with(DrawKind::Rect, &[2.3, 1.6, 7.2, 5.4])),
        ("PSET", with(DrawKind::Pset, &[5.2, 4.3])),
        ("TRI", with(DrawKind::Tri, &[1.2, 1.7, 11.4, 3.3, 4.6, 9.1])),
        ("TRI reversed", with(DrawKind::Tri, &[1.2, 1.7, 4.6, 9.1, 11.4, 3.3])),
        ("CIRCF", with(DrawKind::Circf, &[6.3, 4.6, 3.7])),
        ("CIRC", with(DrawKind::Circ, &[6.3, 4.6, 3.7])),
        ("LINE x-major", with(DrawKind::Line, &[1.3, 2.2, 11.6, 7.1])),
        ("LINE y-major", with(DrawKind::Line, &[9.7, 0.6, 4.2, 9.3])),
    ]
}

#[test]
fn gradient_matches_central_differences_for_every_kind_and_operand() {
    let target = SoftTarget::new(&noise(13, 11, 7), 0.0);
    let weighted = SoftTarget::new(&noise(13, 11, 7), 2.0);
    for (name, draws) in scenes() {
        for (target, sigma) in [(&target, 0.7), (&weighted, 0.35)] {
            let analytic = soft::evaluate(target, &[], &draws, sigma, 1);
            for k in 0..draws.len() {
                let used = match draws[k].0 {
                    DrawKind::Cls => COLOR_SLOT..COLOR_SLOT + 3,
                    DrawKind::Pset => 0..SLOTS,
                    _ => 0..SLOTS,
                };
                for slot in used {
                    if draws[k].0 == DrawKind::Pset && (2..COLOR_SLOT).contains(&slot) {
                        continue;
                    }
                    let h = 1e-5;
                    let at = |delta: f64| {
                        let mut d = draws.clone();
                        d[k].2[slot] += delta;
                        soft::evaluate(target, &[], &d, sigma, 1).loss
                    };
                    let numeric = (at(h) - at(-h)) / (2.0 * h);
                    let got = analytic.grads[k][slot];
                    assert!(
                        (got - numeric).abs() <= 1e-7 + 1e-4 * numeric.abs(),
                        "{name}, call {k}, slot {slot}, sigma {sigma}: analytic {got:e}, numeric {numeric:e}"
                    );
                }
            }
        }
    }
}

#[test]
fn threads_do_not_change_the_result() {
    let target = SoftTarget::new(&noise(13, 11, 3), 0.0);
    for (_, draws) in scenes() {
        // The same sums in the same order, to the last bit, on any number of threads.
        let one = soft::evaluate(&target, &[], &draws, 0.5, 1);
        for threads in [2, 3, 16] {
            let many = soft::evaluate(&target, &[], &draws, 0.5, threads);
            assert_eq!(one.loss.to_bits(), many.loss.to_bits(), "{threads} threads");
            assert_eq!(one.grads, many.grads, "{threads} threads");
        }
    }
}

/// At a tiny softness and integer numbers, the soft render is the exact one (up to the blend's rounding).
#[test]
fn sharp_soft_render_is_the_exact_render() {
    let program = "CLS 20 40 60\nCOLOR 200 100 50 255\nRECT 2 3 9 6\nTRI 1 1 14 4 6 12\nCOLOR 10 220 90\nCIRCF 9 8 4\n\
                   CIRC 4 10 3\nLINE 0 11 15 2\nLINE 13 0 11 12\nPSET 7 7\nRECT 12 0 -3 4\nCIRCF 3 3 -2\n";
    let (width, height) = (16, 13);
    let texture = gvpie_pxl::compile(program).expect("compiles");
    let exact = gvpie_pxl::run(&texture, &gvpie_pxl::Config { width, height, ..Default::default() }).expect("runs");
    let params = Params::read(program).expect("parses");
    let (scene, _) = trace(&texture, &params, width, height, 1000).expect("traces");
    assert_eq!(scene.draws.len(), 10);
    // The soft render as a picture: its loss against the exact picture is ~0.
    let target = SoftTarget::new(&exact.canvas, 0.0);
    let draws = soft::resolve(&scene.draws, &params.values().iter().map(|&v| f64::from(v)).collect::<Vec<_>>());
    // Triangle edges are sharp when σ is well below 1/(2 · edge length), LINE's ties when it is well below ε.
    let loss = soft::evaluate(&target, &scene.masks, &draws, 1e-5, 1).loss;
    assert!(loss.sqrt() < 1e-3, "soft vs exact rmse {}", loss.sqrt());
}

/// Traces tie literals in loops to one parameter and leave variables alone.
#[test]
fn loops_share_their_literals_and_keep_variables() {
    let program = "CLS\nSET i 0\nloop:\nMUL x i 6\nCOLOR 255 0 0 128\nRECT x 2 4 5\nLOOP i 3 loop\nTXT 1 8 AB\n";
    let texture = gvpie_pxl::compile(program).expect("compiles");
    let params = Params::read(program).expect("parses");
    let (scene, _) = trace(&texture, &params, 20, 16, 1000).expect("traces");
    let rects: Vec<_> = scene.draws.iter().filter(|d| d.kind == DrawKind::Rect).collect();
    assert_eq!(rects.len(), 3);
    for (i, rect) in rects.iter().enumerate() {
        assert_eq!(rect.values[0], 6.0 * i as f64);
        assert_eq!(rect.params[0], None);
        assert_eq!(rect.params[1], rects[0].params[1]);
        assert!(rect.params[1].is_some());
    }
    assert_eq!(scene.draws.last().map(|d| d.kind), Some(DrawKind::Mask));
    assert_eq!(scene.masks.len(), 1);
}

struct Steps;

impl Clock for Steps {
    fn seconds(&self) -> f64 {
        0.0
    }
}

/// A program of half-transparent shapes refined towards a picture drawn by the same program with other numbers:
/// the RMSE falls a lot, and the refined program draws exactly the reported picture in the VM.
#[test]
fn refine_moves_shapes_towards_the_target_and_the_vm_agrees() {
    let truth = "CLS 30 30 40\nCOLOR 220 120 40 160\nTRI 4 4 36 8 12 28\nCOLOR 40 180 220 200\nRECT 20 14 14 10\n\
                 COLOR 250 250 250\nCIRCF 10 24 5\n";
    let start = "CLS 60 40 40\nCOLOR 180 150 80 128\nTRI 6 7 33 5 15 25\nCOLOR 80 150 200 128\nRECT 17 16 12 9\n\
                 COLOR 200 200 200\nCIRCF 13 22 4\n";
    let (width, height) = (40, 32);
    let config = gvpie_pxl::Config { width, height, ..Default::default() };
    let target = gvpie_pxl::run(&gvpie_pxl::compile(truth).expect("compiles"), &config).expect("runs").canvas;
    let refine_config = RefineConfig { steps: 250, ..RefineConfig::default() };
    let mut renderer = CpuSoftRenderer { threads: 2 };
    let mut calls = 0;
    let result = refine(
        start,
        &target,
        &refine_config,
        &mut renderer,
        2,
        &Budget { clock: &Steps, deadline: None },
        &mut |_| calls += 1,
    )
    .expect("refines");
    assert!(calls > 0);
    eprintln!("{} -> {} (rounded {})", result.rmse_before, result.rmse_after, result.rmse_rounded);
    assert!(result.rmse_after < 0.5 * result.rmse_before, "{} -> {}", result.rmse_before, result.rmse_after);
    let rerun = gvpie_pxl::run(&gvpie_pxl::compile(&result.source).expect("compiles"), &config).expect("runs");
    assert_eq!(rerun.canvas, result.canvas);
    assert_eq!(rmse(&target, &rerun.canvas), Some(result.rmse_after));
    assert_eq!(renderer.name(), "cpu");
}

/// A program that cannot improve comes back unchanged.
#[test]
fn refine_never_makes_a_program_worse() {
    let program = "CLS 10 20 30\nCOLOR 200 10 10\nRECT 3 3 5 5\n";
    let (width, height) = (12, 12);
    let config = gvpie_pxl::Config { width, height, ..Default::default() };
    let target = gvpie_pxl::run(&gvpie_pxl::compile(program).expect("compiles"), &config).expect("runs").canvas;
    let mut renderer = CpuSoftRenderer { threads: 1 };
    let refine_config = RefineConfig { steps: 30, ..RefineConfig::default() };
    let result = refine(
        program,
        &target,
        &refine_config,
        &mut renderer,
        1,
        &Budget { clock: &Steps, deadline: None },
        &mut |_| {},
    )
    .expect("refines");
    assert_eq!(result.rmse_before, 0.0);
    assert_eq!(result.rmse_after, 0.0);
    assert_eq!(result.source, program);
}

/// A large target: the Adam phase works on a reduced canvas, the polish at full size; the result still reruns
/// exactly and improves.
#[test]
fn large_targets_are_refined_on_a_reduced_canvas() {
    let truth =
        "CLS 30 30 40\nCOLOR 220 120 40 160\nTRI 40 40 360 80 120 280\nCOLOR 40 180 220 200\nRECT 200 140 140 100\n";
    let start =
        "CLS 60 40 40\nCOLOR 180 150 80 128\nTRI 60 70 330 50 150 250\nCOLOR 80 150 200 128\nRECT 170 160 120 90\n";
    let (width, height) = (400, 300);
    let config = gvpie_pxl::Config { width, height, ..Default::default() };
    let target = gvpie_pxl::run(&gvpie_pxl::compile(truth).expect("compiles"), &config).expect("runs").canvas;
    let refine_config =
        RefineConfig { steps: 150, polish_sweeps: 2, soft_max_pixels: 10_000, ..RefineConfig::default() };
    let mut renderer = CpuSoftRenderer { threads: 2 };
    let result = refine(
        start,
        &target,
        &refine_config,
        &mut renderer,
        2,
        &Budget { clock: &Steps, deadline: None },
        &mut |_| {},
    )
    .expect("refines");
    assert!(result.rmse_rounded < 0.5 * result.rmse_before, "{} -> {}", result.rmse_before, result.rmse_rounded);
    assert!(result.rmse_after <= result.rmse_rounded);
    let rerun = gvpie_pxl::run(&gvpie_pxl::compile(&result.source).expect("compiles"), &config).expect("runs");
    assert_eq!(rerun.canvas, result.canvas);
}
