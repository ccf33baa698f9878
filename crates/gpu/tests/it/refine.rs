//! The soft renderer (`shaders/refine.wgsl`, `f32`) against its CPU twin (`gvpie_evolve::refine::soft`, `f64`):
//! the loss within a relative 10⁻⁴ and each call's derivatives within 10⁻³ of that call's largest (plus 10⁻⁹),
//! on random scenes of every drawing kind, with masks, colours out of range and layers over layers.

use gvpie_evolve::Rng;
use gvpie_evolve::refine::soft::{self, SoftTarget, bounds};
use gvpie_evolve::refine::{Call, DrawKind, SLOTS};
use gvpie_gpu::SoftCall;
use gvpie_raster::Canvas;

fn noise(w: u32, h: u32, rng: &mut Rng) -> Canvas {
    let bytes: Vec<u8> =
        (0..w * h).flat_map(|_| [rng.below(256) as u8, rng.below(256) as u8, rng.below(256) as u8, 255]).collect();
    Canvas::from_rgba8(w, h, &bytes).expect("valid size")
}

fn random_scene(w: u32, h: u32, n: usize, rng: &mut Rng) -> (Vec<Call>, Vec<Vec<bool>>) {
    let kinds = [
        DrawKind::Rect,
        DrawKind::Pset,
        DrawKind::Line,
        DrawKind::Circ,
        DrawKind::Circf,
        DrawKind::Tri,
        DrawKind::Mask,
    ];
    let mut calls = vec![(DrawKind::Cls, 0, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 40.0, 80.0, 120.0, 255.0])];
    let mut masks = Vec::new();
    let coord =
        |rng: &mut Rng, side: u32| f64::from(rng.range(-4, side as i32 + 4)) + f64::from(rng.below(100)) / 100.0;
    for _ in 0..n {
        let kind = kinds[rng.below(kinds.len() as u32) as usize];
        let mut v = [0.0; SLOTS];
        for (slot, value) in v.iter_mut().enumerate().take(6) {
            *value = coord(rng, if slot % 2 == 0 { w } else { h });
        }
        if matches!(kind, DrawKind::Circ | DrawKind::Circf) {
            v[2] = f64::from(rng.range(-2, 12)) + 0.37;
        }
        if kind == DrawKind::Rect {
            v[2] = f64::from(rng.range(-3, w as i32)) + 0.21;
            v[3] = f64::from(rng.range(-3, h as i32)) + 0.63;
        }
        for value in &mut v[6..] {
            *value = f64::from(rng.range(-20, 280));
        }
        let mut mask = 0;
        if kind == DrawKind::Mask {
            masks.push((0..w * h).map(|_| rng.coin()).collect());
            mask = masks.len() as u32 - 1;
        }
        calls.push((kind, mask, v));
    }
    (calls, masks)
}

#[test]
fn the_gpu_soft_renderer_agrees_with_the_cpu_twin() {
    let Some(gpu) = crate::util::backend() else { return };
    let mut rng = Rng::new(11);
    for (w, h, n, sigma, edge) in
        [(17, 13, 6, 0.7, 0.0), (40, 30, 24, 0.3, 1.5), (64, 48, 40, 1.0, 0.0), (300, 7, 10, 0.5, 0.0)]
    {
        let canvas = noise(w, h, &mut rng);
        let target = SoftTarget::new(&canvas, edge);
        let (calls, masks) = random_scene(w, h, n, &mut rng);
        let mut renderer = gpu.soft_renderer(w, h).expect("renderer");
        let rgbw: Vec<[f32; 4]> =
            target.rgb.iter().zip(&target.weight).map(|(c, &wt)| [c[0], c[1], c[2], wt]).collect();
        renderer.set_target(&rgbw).expect("target");
        // The whole program, then a part of it (buffers reused from a larger evaluation), then all of it again.
        for calls in [&calls[..], &calls[..n / 2 + 1], &calls[..]] {
            let cpu = soft::evaluate(&target, &masks, calls, sigma, 2);
            let gpu_calls: Vec<SoftCall> = calls
                .iter()
                .map(|(kind, mask, v)| {
                    let (x0, y0, x1, y1) = bounds(*kind, v, sigma, w, h);
                    SoftCall {
                        kind: *kind as u32,
                        mask: *mask,
                        bbox: [x0 as i32, y0 as i32, x1 as i32, y1 as i32],
                        values: v.map(|x| x as f32),
                    }
                })
                .collect();
            let (loss, grads) = renderer.evaluate(&gpu_calls, &masks, sigma as f32).expect("evaluates");
            assert!((loss - cpu.loss).abs() <= 1e-4 * cpu.loss, "{w}x{h}: loss gpu {loss} cpu {}", cpu.loss);
            assert_eq!(grads.len(), calls.len());
            for (k, (g, c)) in grads.iter().zip(&cpu.grads).enumerate() {
                let scale = c.iter().fold(0.0f64, |m, x| m.max(x.abs()));
                for slot in 0..SLOTS {
                    let diff = (f64::from(g[slot]) - c[slot]).abs();
                    assert!(
                        diff <= 1e-3 * scale + 1e-9,
                        "{w}x{h} call {k} ({:?}) slot {slot}: gpu {} cpu {}",
                        calls[k].0,
                        g[slot],
                        c[slot]
                    );
                }
            }
        }
    }
}

#[test]
fn bad_soft_requests_are_refused() {
    let Some(gpu) = crate::util::backend() else { return };
    let mut renderer = gpu.soft_renderer(4, 4).expect("renderer");
    let call = SoftCall { kind: 0, mask: 0, bbox: [0, 0, 3, 3], values: [0.0; 10] };
    assert!(renderer.evaluate(&[call], &[], 0.5).is_err(), "no target yet");
    assert!(renderer.set_target(&[[0.0; 4]; 3]).is_err());
    renderer.set_target(&[[0.0; 4]; 16]).expect("target");
    assert!(renderer.evaluate(&[], &[], 0.5).is_err());
    assert!(renderer.evaluate(&[call], &[], 0.5).is_ok());
}
