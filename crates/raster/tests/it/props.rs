//! Property tests: no panics, symmetries, and agreement with `model`.
//!
//! Coordinates mix fully arbitrary `i32`s (to hit overflow and clamping)
//! with small values around a small canvas (so shapes actually land on it).

use gvpie_raster::{Canvas, Rgba};
use proptest::prelude::*;

use crate::model;

/// Any i32, biased towards the interesting ones.
fn coord() -> impl Strategy<Value = i32> {
    prop_oneof![
        4 => -12i32..24,
        2 => any::<i32>(),
        1 => -9000i32..9000,
        1 => prop_oneof![
            Just(i32::MIN),
            Just(i32::MAX),
            Just(-8192),
            Just(8192),
            Just(-8193),
            Just(8193),
        ],
    ]
}

fn color() -> impl Strategy<Value = Rgba> {
    (any::<u8>(), any::<u8>(), any::<u8>(), prop_oneof![Just(255u8), Just(0u8), any::<u8>()])
        .prop_map(|(r, g, b, a)| Rgba::new(r, g, b, a))
}

fn canvas(w: u32, h: u32) -> Canvas {
    Canvas::new(w, h).unwrap_or_else(|e| panic!("{e}"))
}

/// What drawing `color` over exactly the `cover` pixels of a fresh
/// canvas must give: each covered pixel blended once.
fn expected(w: u32, h: u32, cover: &[bool], color: Rgba) -> Canvas {
    let mut c = canvas(w, h);
    for (i, _) in cover.iter().enumerate().filter(|(_, on)| **on) {
        // i < w * h <= 12 * 10, so these casts are lossless.
        let (x, y) = ((i % w as usize) as i32, (i / w as usize) as i32);
        c.pset(x, y, color);
    }
    c
}

/// A translucent colour, so that blending a pixel twice would show.
const HALF: Rgba = Rgba::new(200, 100, 50, 130);

proptest! {
    #[test]
    fn nothing_panics(
        (x0, y0, x1, y1, x2, y2) in (coord(), coord(), coord(), coord(), coord(), coord()),
        filled in any::<bool>(),
        text in proptest::collection::vec(any::<u8>(), 0..8),
        color in color(),
        factor in 0u32..4,
    ) {
        let mut c = canvas(7, 5);
        c.pset(x0, y0, color);
        let _ = c.get(x0, y0);
        c.fill_rect(x0, y0, x1, y1, color);
        c.line(x0, y0, x1, y1, color);
        c.circle(x0, y0, x1, filled, color);
        c.triangle(x0, y0, x1, y1, x2, y2, color);
        c.text(x0, y0, &text, color);
        c.number(x0, y0, x1, color);
        let s = c.scaled(factor);
        prop_assert_eq!(s.width(), 7 * factor.max(1));
        prop_assert!(c.pixels().iter().all(|&p| p >> 24 == 0xFF), "canvas lost opacity");
    }

    #[test]
    fn line_is_symmetric(x0 in coord(), y0 in coord(), x1 in coord(), y1 in coord()) {
        let (mut a, mut b) = (canvas(12, 10), canvas(12, 10));
        a.line(x0, y0, x1, y1, HALF);
        b.line(x1, y1, x0, y0, HALF);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn triangle_ignores_rotation_and_winding(
        v in [(coord(), coord()), (coord(), coord()), (coord(), coord())],
    ) {
        let draw = |[a, b, c]: [(i32, i32); 3]| {
            let mut canvas = canvas(12, 10);
            canvas.triangle(a.0, a.1, b.0, b.1, c.0, c.1, HALF);
            canvas
        };
        let [a, b, c] = v;
        let reference = draw(v);
        for other in [[b, c, a], [c, a, b], [a, c, b], [c, b, a], [b, a, c]] {
            prop_assert_eq!(&draw(other), &reference);
        }
    }

    #[test]
    fn filled_circle_contains_outline(cx in coord(), cy in coord(), r in coord()) {
        let (mut filled, mut outline) = (canvas(12, 10), canvas(12, 10));
        filled.circle(cx, cy, r, true, Rgba::WHITE);
        outline.circle(cx, cy, r, false, Rgba::WHITE);
        for (f, o) in filled.pixels().iter().zip(outline.pixels()) {
            prop_assert!(o == &Rgba::BLACK.to_u32() || f == o);
        }
    }

    #[test]
    fn rect_matches_model(
        (w, h) in (1u32..12, 1u32..10),
        (x, y, rw, rh) in (coord(), coord(), coord(), coord()),
    ) {
        let mut c = canvas(w, h);
        c.fill_rect(x, y, rw, rh, HALF);
        prop_assert_eq!(c, expected(w, h, &model::rect(w, h, x, y, rw, rh), HALF));
    }

    #[test]
    fn line_matches_model(
        (w, h) in (1u32..12, 1u32..10),
        (x0, y0, x1, y1) in (coord(), coord(), coord(), coord()),
    ) {
        let mut c = canvas(w, h);
        c.line(x0, y0, x1, y1, HALF);
        prop_assert_eq!(c, expected(w, h, &model::line(w, h, x0, y0, x1, y1), HALF));
    }

    #[test]
    fn circle_matches_model(
        (w, h) in (1u32..12, 1u32..10),
        (cx, cy) in (coord(), coord()),
        r in prop_oneof![3 => -2i32..12, 1 => coord()],
        filled in any::<bool>(),
    ) {
        let mut c = canvas(w, h);
        c.circle(cx, cy, r, filled, HALF);
        prop_assert_eq!(c, expected(w, h, &model::circle(w, h, cx, cy, r, filled), HALF));
    }

    #[test]
    fn triangle_matches_model(
        (w, h) in (1u32..12, 1u32..10),
        v in [(coord(), coord()), (coord(), coord()), (coord(), coord())],
    ) {
        let mut c = canvas(w, h);
        let [a, b, d] = v;
        c.triangle(a.0, a.1, b.0, b.1, d.0, d.1, HALF);
        prop_assert_eq!(c, expected(w, h, &model::triangle(w, h, v), HALF));
    }

    #[test]
    fn text_matches_model(
        (w, h) in (1u32..12, 1u32..10),
        (x, y) in (coord(), coord()),
        text in proptest::collection::vec(prop_oneof![any::<u8>(), 30u8..=127], 0..6),
    ) {
        let mut c = canvas(w, h);
        c.text(x, y, &text, HALF);
        prop_assert_eq!(c, expected(w, h, &model::text(w, h, x, y, &text), HALF));
    }

    #[test]
    fn number_is_its_decimal_text(x in -15i32..15, y in -8i32..12, v in any::<i32>()) {
        let (mut a, mut b) = (canvas(12, 10), canvas(12, 10));
        a.number(x, y, v, HALF);
        b.text(x, y, v.to_string().as_bytes(), HALF);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn rgba8_round_trips(bytes in proptest::collection::vec(any::<u8>(), 12)) {
        let c = Canvas::from_rgba8(3, 1, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let back = c.to_rgba8();
        for (i, (a, b)) in bytes.iter().zip(&back).enumerate() {
            prop_assert_eq!(if i % 4 == 3 { 255 } else { *a }, *b);
        }
    }
}
