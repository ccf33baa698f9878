//! gvpie's extensions of the core contract, as `docs/pxl.md` specifies them.
//!
//! Shapes are checked twice: a few readable ASCII-art snapshots, and a comparison with small
//! models written here straight from the rules in `docs/pxl.md` (not from the rasterizer's
//! faster row-based code) over many pseudo-random cases.

use std::collections::BTreeSet;

use expect_test::expect;
use gvpie_pxl::{Config, DEFAULT_SEED, RecordError, Status, TrapKind, compile};
use gvpie_raster::{Canvas, Rgba};

use crate::util::{
    H, W, art, canvas, check, compile_ok, draw_text_by_hand, outcome, run_small, run_with, small, value, values,
};

/// A deterministic stream of numbers for generating test cases (splitmix64).
struct Cases(u64);

impl Cases {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A coordinate: mostly near the 24x12 canvas, sometimes far away or extreme.
    fn coord(&mut self) -> i32 {
        match self.next() % 10 {
            0 => [i32::MIN, i32::MAX, -8193, 8193, -100_000, 100_000][(self.next() % 6) as usize],
            1 => (self.next() % 400) as i32 - 200,
            _ => (self.next() % 44) as i32 - 10,
        }
    }
}

/// The pixels (on a W x H canvas) that are not black.
fn lit(canvas: &Canvas) -> BTreeSet<(i32, i32)> {
    (0..H as i32)
        .flat_map(|y| (0..W as i32).map(move |x| (x, y)))
        .filter(|&(x, y)| canvas.get(x, y) != Some(Rgba::BLACK))
        .collect()
}

fn on_canvas(points: impl IntoIterator<Item = (i64, i64)>) -> BTreeSet<(i32, i32)> {
    points
        .into_iter()
        .filter(|&(x, y)| (0..i64::from(W)).contains(&x) && (0..i64::from(H)).contains(&y))
        .map(|(x, y)| (x as i32, y as i32))
        .collect()
}

fn clamp(v: i32) -> i64 {
    i64::from(v.clamp(-8192, 8192))
}

/// LINE as docs/pxl.md states it.
fn model_line(x0: i32, y0: i32, x1: i32, y1: i32) -> BTreeSet<(i32, i32)> {
    let (x0, y0, x1, y1) = (clamp(x0), clamp(y0), clamp(x1), clamp(y1));
    let mut points = Vec::new();
    if (x1 - x0).abs() >= (y1 - y0).abs() {
        let (x0, y0, x1, y1) = if x0 <= x1 { (x0, y0, x1, y1) } else { (x1, y1, x0, y0) };
        let (dx, dy) = (x1 - x0, y1 - y0);
        if dx == 0 {
            points.push((x0, y0));
        } else {
            for x in x0.max(-1)..=x1.min(i64::from(W)) {
                let t = x - x0;
                points.push((x, y0 + (2 * dy * t + dx).div_euclid(2 * dx)));
            }
        }
    } else {
        let (x0, y0, x1, y1) = if y0 <= y1 { (x0, y0, x1, y1) } else { (x1, y1, x0, y0) };
        let (dx, dy) = (x1 - x0, y1 - y0);
        for y in y0.max(-1)..=y1.min(i64::from(H)) {
            let t = y - y0;
            points.push((x0 + (2 * dx * t + dy).div_euclid(2 * dy), y));
        }
    }
    on_canvas(points)
}

/// CIRCF and CIRC as docs/pxl.md states them.
fn model_circle(x: i32, y: i32, r: i32, filled: bool) -> BTreeSet<(i32, i32)> {
    if r < 0 {
        return BTreeSet::new();
    }
    let (cx, cy, r) = (clamp(x), clamp(y), i64::from(r.min(8192)));
    let inside = |px: i64, py: i64| (px - cx).pow(2) + (py - cy).pow(2) <= r * r;
    let all = (0..i64::from(H)).flat_map(|py| (0..i64::from(W)).map(move |px| (px, py)));
    on_canvas(all.filter(|&(px, py)| {
        inside(px, py)
            && (filled || !inside(px - 1, py) || !inside(px + 1, py) || !inside(px, py - 1) || !inside(px, py + 1))
    }))
}

/// TRI as docs/pxl.md states it.
fn model_triangle(v: [i32; 6]) -> BTreeSet<(i32, i32)> {
    let p0 = (clamp(v[0]), clamp(v[1]));
    let (mut p1, mut p2) = ((clamp(v[2]), clamp(v[3])), (clamp(v[4]), clamp(v[5])));
    let area2 = (p1.0 - p0.0) * (p2.1 - p0.1) - (p1.1 - p0.1) * (p2.0 - p0.0);
    if area2 == 0 {
        return BTreeSet::new();
    }
    if area2 < 0 {
        std::mem::swap(&mut p1, &mut p2);
    }
    let edges = [(p0, p1), (p1, p2), (p2, p0)];
    let all = (0..i64::from(H)).flat_map(|py| (0..i64::from(W)).map(move |px| (px, py)));
    on_canvas(all.filter(|&(px, py)| {
        edges.iter().all(|&((ax, ay), (bx, by))| (bx - ax) * (py - ay) - (by - ay) * (px - ax) >= 0)
    }))
}

// ## LINE

#[test]
fn line_x_major_and_y_major() {
    check(
        "LINE 1 1 20 6\nCOLOR 255 0 0\nLINE 22 0 18 11\nCOLOR 0 255 0\nLINE 0 11 3 11\nCOLOR 0 0 255\nLINE 0 3 0 9",
        expect![[r#"
            halted after 7 cycles
            ......................R.
            .##...................R.
            ...####..............R..
            B......####..........R..
            B..........####......R..
            B..............####.R...
            B..................#R...
            B..................R....
            B..................R....
            B..................R....
            ..................R.....
            GGGG..............R.....
        "#]],
    );
}

#[test]
fn line_is_the_same_in_both_directions() {
    let mut cases = Cases(1);
    for _ in 0..300 {
        let (x0, y0, x1, y1) = (cases.coord(), cases.coord(), cases.coord(), cases.coord());
        let forward = run_small(&format!("LINE {x0} {y0} {x1} {y1}"));
        let backward = run_small(&format!("LINE {x1} {y1} {x0} {y0}"));
        assert!(forward.canvas == backward.canvas, "LINE {x0} {y0} {x1} {y1}\n{}", art(&forward.canvas));
        assert_eq!(lit(&forward.canvas), model_line(x0, y0, x1, y1), "LINE {x0} {y0} {x1} {y1}");
    }
}

#[test]
fn line_endpoints_are_drawn_and_a_point_is_one_pixel() {
    check(
        "LINE 3 3 3 3\nLINE 5 1 9 2\nLINE 12 1 13 9",
        expect![[r#"
            halted after 3 cycles
            ........................
            .....##.....#...........
            .......###..#...........
            ...#........#...........
            ............#...........
            .............#..........
            .............#..........
            .............#..........
            .............#..........
            .............#..........
            ........................
            ........................
        "#]],
    );
}

// ## CIRC and CIRCF

#[test]
fn circles_outline_and_filled() {
    check(
        "CIRC 5 5 4\nCIRCF 16 5 4\nCOLOR 255 0 0\nCIRC 22 10 0\nCIRCF 22 1 1\nCIRC 0 0 -1\nCIRCF 0 0 -5",
        expect![[r#"
            halted after 7 cycles
            ......................R.
            .....#..........#....RRR
            ...##.##......#####...R.
            ..#.....#....#######....
            ..#.....#....#######....
            .#.......#..#########...
            ..#.....#....#######....
            ..#.....#....#######....
            ...##.##......#####.....
            .....#..........#.......
            ......................R.
            ........................
        "#]],
    );
}

#[test]
fn circles_follow_the_rules() {
    let mut cases = Cases(2);
    for _ in 0..300 {
        let (x, y) = (cases.coord(), cases.coord());
        let r = match cases.next() % 8 {
            0 => cases.coord(),
            1 => -((cases.next() % 5) as i32),
            _ => (cases.next() % 16) as i32,
        };
        for (mnemonic, filled) in [("CIRC", false), ("CIRCF", true)] {
            let source = format!("{mnemonic} {x} {y} {r}");
            assert_eq!(lit(&run_small(&source).canvas), model_circle(x, y, r, filled), "{source}");
        }
    }
}

// ## TRI

#[test]
fn triangles_include_edges_and_either_winding_is_the_same() {
    check(
        "TRI 1 1 10 1 1 10\nCOLOR 255 0 0\nTRI 22 10 14 10 22 2\nTRI 0 11 5 11 9 11",
        expect![[r#"
            halted after 4 cycles
            ........................
            .##########.............
            .#########............R.
            .########............RR.
            .#######............RRR.
            .######............RRRR.
            .#####............RRRRR.
            .####............RRRRRR.
            .###............RRRRRRR.
            .##............RRRRRRRR.
            .#............RRRRRRRRR.
            ........................
        "#]],
    );
}

#[test]
fn triangles_follow_the_rule() {
    let mut cases = Cases(3);
    for _ in 0..300 {
        let v: [i32; 6] = std::array::from_fn(|_| cases.coord());
        let [a, b, c, d, e, f] = v;
        let source = format!("TRI {a} {b} {c} {d} {e} {f}");
        let drawn = lit(&run_small(&source).canvas);
        assert_eq!(drawn, model_triangle(v), "{source}");
        // Every order of the vertices covers the same pixels.
        let rotated = run_small(&format!("TRI {c} {d} {e} {f} {a} {b}"));
        let swapped = run_small(&format!("TRI {a} {b} {e} {f} {c} {d}"));
        assert_eq!(lit(&rotated.canvas), drawn, "{source}");
        assert_eq!(lit(&swapped.canvas), drawn, "{source}");
    }
}

#[test]
fn degenerate_triangles_draw_nothing() {
    for source in ["TRI 0 0 10 10 20 20", "TRI 5 5 5 5 5 5", "TRI 0 3 23 3 11 3", "TRI 1 1 1 1 9 9"] {
        assert!(lit(&run_small(source).canvas).is_empty(), "{source}");
    }
}

// ## The coordinate clamp of LINE, CIRC, CIRCF and TRI (not RECT, PSET, TXT, NUM)

#[test]
fn shapes_are_drawn_from_clamped_coordinates() {
    let same = |a: &str, b: &str| {
        let (x, y) = (run_small(a), run_small(b));
        assert!(x.canvas == y.canvas, "{a} differs from {b}\n{}\n{}", art(&x.canvas), art(&y.canvas));
    };
    same("LINE 0 0 100000 0", "LINE 0 0 8192 0");
    // The clamped line is the diagonal to (8192, 8192), not the slope 1/2 of the numbers given.
    same("LINE 0 0 20000 10000", "LINE 0 0 8192 8192");
    same("LINE 0 0 2147483647 2147483647", "LINE 0 0 8192 8192");
    same("LINE -2147483648 5 2147483647 5", "LINE -8192 5 8192 5");
    same("CIRCF 5 5 100000", "CIRCF 5 5 8192");
    same("CIRCF 2147483647 5 2147483647", "CIRCF 8192 5 8192");
    same("CIRC -2147483648 0 2147483647", "CIRC -8192 0 8192");
    same("TRI 0 0 100000 0 0 100000", "TRI 0 0 8192 0 0 8192");
    same("TRI -2147483648 -2147483648 2147483647 0 0 2147483647", "TRI -8192 -8192 8192 0 0 8192");
    check(
        "LINE 0 0 20000 10000",
        expect![[r#"
            halted after 1 cycles
            #.......................
            .#......................
            ..#.....................
            ...#....................
            ....#...................
            .....#..................
            ......#.................
            .......#................
            ........#...............
            .........#..............
            ..........#.............
            ...........#............
        "#]],
    );
    // A huge filled circle covers the canvas; its huge outline lies far outside it.
    assert_eq!(lit(&run_small("CIRCF 5 5 2147483647").canvas).len(), (W * H) as usize);
    assert!(lit(&run_small("CIRC 5 5 2147483647").canvas).is_empty());
    // RECT is exact, not clamped: its right edge is -100000 + 100005 = 5.
    assert_eq!(lit(&run_small("RECT -100000 0 100005 1").canvas), (0..5).map(|x| (x, 0)).collect());
}

// ## CLS

#[test]
fn cls_fills_without_blending_and_keeps_the_drawing_colour() {
    check(
        "PSET 0 0\nCLS 255 0 0\nPSET 1 0\nCOLOR 0 255 0 100\nCLS 0 0 255\nPSET 2 0\nCOLOR 0 255 0\nCLS\nPSET 3 0",
        expect![[r#"
            halted after 9 cycles
            ...G....................
            ........................
            ........................
            ........................
            ........................
            ........................
            ........................
            ........................
            ........................
            ........................
            ........................
            ........................
        "#]],
    );
    let result = run_small("CLS 300 -4 7");
    assert!(result.canvas.pixels().iter().all(|&p| Rgba::from_u32(p) == Rgba::new(255, 0, 7, 255)));
    // CLS does not touch the drawing colour.
    let result = run_small("COLOR 1 2 3\nCLS 9 9 9\nPSET 0 0");
    assert_eq!(result.canvas.get(0, 0), Some(Rgba::new(1, 2, 3, 255)));
    assert_eq!(result.canvas.get(1, 0), Some(Rgba::new(9, 9, 9, 255)));
}

// ## COLOR with alpha, and the blending rule

fn blend_channel(s: u32, d: u32, a: u32) -> u8 {
    ((s * a + d * (255 - a) + 127) / 255) as u8
}

#[test]
fn alpha_blending_exact_numbers() {
    let cases = [
        ("COLOR 255 255 255 128\nPSET 0 0", Rgba::new(128, 128, 128, 255)),
        ("CLS 10 20 30\nCOLOR 255 0 100 128\nPSET 0 0", Rgba::new(133, 10, 65, 255)),
        ("COLOR 255 0 0 1\nPSET 0 0", Rgba::new(1, 0, 0, 255)),
        ("COLOR 255 0 0 254\nPSET 0 0", Rgba::new(254, 0, 0, 255)),
        ("CLS 10 20 30\nCOLOR 255 0 0 0\nPSET 0 0", Rgba::new(10, 20, 30, 255)),
        ("CLS 10 20 30\nCOLOR 255 0 0 -7\nPSET 0 0", Rgba::new(10, 20, 30, 255)),
        ("CLS 10 20 30\nCOLOR 1 2 3 999\nPSET 0 0", Rgba::new(1, 2, 3, 255)),
        ("CLS 10 20 30\nCOLOR 1 2 3 255\nPSET 0 0", Rgba::new(1, 2, 3, 255)),
        // Twice at half: 128, then (255*128 + 128*127 + 127) / 255 = 192.
        ("COLOR 255 255 255 128\nPSET 0 0\nPSET 0 0", Rgba::new(192, 192, 192, 255)),
    ];
    for (source, expected) in cases {
        assert_eq!(run_small(source).canvas.get(0, 0), Some(expected), "{source}");
    }
    assert_eq!(blend_channel(255, 10, 128), 133);
}

#[test]
fn alpha_blending_every_alpha() {
    // Pixel (a % 16, a / 16) gets colour (250, 128, 3) at alpha a over (10, 20, 30).
    let source = "CLS 10 20 30\nSET a 0\ntop: COLOR 250 128 3 a\nMOD x a 16\nDIV y a 16\nPSET x y\nLOOP a 256 top";
    let result = run_with(source, &Config { width: 16, height: 16, ..small() });
    for a in 0..256u32 {
        let expected = Rgba::new(blend_channel(250, 10, a), blend_channel(128, 20, a), blend_channel(3, 30, a), 255);
        assert_eq!(result.canvas.get((a % 16) as i32, (a / 16) as i32), Some(expected), "alpha {a}");
    }
}

#[test]
fn every_shape_blends_each_pixel_once_and_the_canvas_stays_opaque() {
    let half = Rgba::new(128, 128, 128, 255);
    for shape in [
        "PSET 3 3",
        "RECT -5 -5 100 100",
        "LINE 0 0 23 11",
        "LINE 23 0 0 11",
        "LINE 5 0 5 11",
        "CIRC 10 6 5",
        "CIRCF 10 6 5",
        "CIRC 10 6 0",
        "TRI 0 0 23 3 5 11",
        "TXT 0 0 #%&@WM",
        "NUM 0 3 -2147483648",
    ] {
        let opaque = lit(&run_small(shape).canvas);
        let result = run_small(&format!("COLOR 255 255 255 128\n{shape}"));
        let drawn = lit(&result.canvas);
        assert_eq!(drawn, opaque, "{shape}");
        assert!(!drawn.is_empty(), "{shape}");
        assert!(drawn.iter().all(|&(x, y)| result.canvas.get(x, y) == Some(half)), "{shape}\n{}", art(&result.canvas));
        assert!(result.canvas.to_rgba8().chunks(4).all(|p| p[3] == 255), "{shape}");
    }
}

// ## PGET

#[test]
fn pget_reads_pixels_as_rgb_numbers() {
    assert_eq!(
        values(
            "COLOR 1 2 3\nPSET 5 5\nPGET v 5 5\nPGET black 0 0\nPGET left -1 0\nPGET right 24 0\n\
             PGET below 0 12\nPGET far -2147483648 2147483647\nCLS 255 255 255\nPGET white 23 11\n\
             COLOR 255 0 0 128\nPSET 0 0\nPGET mixed 0 0"
        ),
        "v=66051 black=0 left=-1 right=-1 below=-1 far=-1 white=16777215 mixed=16744319 | halted after 13 cycles"
    );
    // 66051 = 1*65536 + 2*256 + 3; 16744319 = 255*65536 + 127*256 + 127.
    assert_eq!(255 * 65536 + 127 * 256 + 127, 16744319);
}

// ## SEED and RAND

fn xorshift32(mut x: u32) -> u32 {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    x
}

#[test]
fn rand_is_xorshift32_from_the_documented_seed() {
    assert_eq!(DEFAULT_SEED, 0x92D6_8CA2);
    let x1 = xorshift32(0x92D6_8CA2);
    let x2 = xorshift32(x1);
    let x3 = xorshift32(x2);
    let x4 = xorshift32(x3);
    assert_eq!(
        values("RAND a 0\nRAND b -5\nRAND c 1000\nRAND d 2147483647"),
        format!("a={} b={} c={} d={} | halted after 4 cycles", x1 as i32, x2 as i32, x3 % 1000, x4 % 2147483647)
    );
}

#[test]
fn rand_sequence_over_many_steps() {
    // XOR of 1000 draws, and the sum of 1000 draws mod 7, computed here and by the program.
    let source = "SEED 12345\nSET i 0\ntop: RAND r 0\nXOR acc acc r\nRAND m 7\nADD sum sum m\nLOOP i 1000 top";
    let (mut state, mut acc, mut sum) = (12345u32, 0i32, 0i32);
    for _ in 0..1000 {
        state = xorshift32(state);
        acc ^= state as i32;
        state = xorshift32(state);
        sum += (state % 7) as i32;
    }
    assert_eq!(value(source, "acc"), acc);
    assert_eq!(value(source, "sum"), sum);
}

#[test]
fn seed_sets_the_state() {
    let after = |seed: &str| value(&format!("{seed}\nRAND v 0"), "v");
    assert_eq!(after("SEED 1"), xorshift32(1) as i32);
    assert_eq!(after("SEED -1"), xorshift32(u32::MAX) as i32);
    assert_eq!(after("SEED 0x80000000"), xorshift32(0x8000_0000) as i32);
    // SEED 0 means the default state, the same as no SEED.
    assert_eq!(after("SEED 0"), xorshift32(DEFAULT_SEED) as i32);
    assert_eq!(after("SEED 0"), after(""));
    // Re-seeding restarts the sequence.
    assert_eq!(
        values("SEED 9\nRAND a 0\nSEED 9\nRAND b 0\nSUB d a b"),
        format!("a={0} b={0} d=0 | halted after 5 cycles", xorshift32(9) as i32)
    );
    // The modulus is unsigned: a state with the top bit set is not a negative remainder.
    let x = xorshift32(DEFAULT_SEED);
    assert_eq!(value("RAND v 10", "v"), (x % 10) as i32);
}

// ## NUM

#[test]
fn num_draws_decimal_digits_like_txt() {
    for value in [0, 7, -7, 42, -12, 1234567890, i32::MAX, i32::MIN, -1] {
        let config = Config { width: 70, height: 8, ..small() };
        let num = run_with(&format!("NUM 1 0 {value}"), &config);
        let txt = run_with(&format!("TXT 1 0 {value}"), &config);
        assert!(num.canvas == txt.canvas, "{value}");
        let mut expected = canvas(70, 8);
        draw_text_by_hand(&mut expected, 1, 0, value.to_string().as_bytes(), Rgba::WHITE);
        assert!(num.canvas == expected, "{value}");
    }
    check(
        "SET v -3\nMUL v v 12\nNUM 0 2 v",
        expect![[r#"
            halted after 3 cycles
            ........................
            ........................
            ......#####...##........
            .........#...#..........
            ........#...#...........
            #####....#..####........
            ..........#.#...#.......
            ......#...#.#...#.......
            .......###...###........
            ........................
            ........................
            ........................
        "#]],
    );
}

// ## FRAME

#[test]
fn frame_counts_and_keeps_at_most_max_frames() {
    let source = "SET i 0\ntop: PSET i 0\nFRAME\nLOOP i 5 top";
    for (max_frames, kept) in [(0, 0), (1, 1), (3, 3), (5, 5), (100, 5)] {
        let result = run_with(source, &Config { max_frames, width: 8, height: 1, ..small() });
        assert_eq!(outcome(&result), "halted after 16 cycles");
        assert_eq!(result.n_frames, 5);
        assert_eq!(result.frames.len(), kept, "max_frames {max_frames}");
        // Frame k is the canvas after k + 1 pixels.
        let frames: Vec<String> = result.frames.iter().map(|f| art(f).trim_end().to_string()).collect();
        let expected = ["#.......", "##......", "###.....", "####....", "#####..."];
        assert_eq!(frames, expected[..kept], "max_frames {max_frames}");
        assert_eq!(art(&result.canvas).trim_end(), "#####...");
    }
    assert_eq!(gvpie_pxl::DEFAULT_MAX_FRAMES, 1000);
}

// ## LOOP

#[test]
fn loop_counts_up_and_jumps_while_below_the_limit() {
    assert_eq!(values("SET i 0\ntop: ADD n n 1\nLOOP i 5 top"), "i=5 n=5 | halted after 11 cycles");
    // The body runs once even when the counter starts at or above the limit.
    assert_eq!(values("SET i 10\ntop: ADD n n 1\nLOOP i 5 top"), "i=11 n=1 | halted after 3 cycles");
    // A variable limit and a negative range.
    assert_eq!(values("SET i -3\nSET k 2\ntop: ADD n n 1\nLOOP i k top"), "i=2 k=2 n=5 | halted after 12 cycles");
    // The counter wraps: MAX + 1 = MIN, which is below 0.
    assert_eq!(
        values("SET i 2147483647\nLOOP i 0 yes\nSET r 0\nHALT\nyes: SET r 1"),
        "i=-2147483648 r=1 | halted after 3 cycles"
    );
}

// ## PEEK and POKE: self-modifying code

const DOCS: &str = include_str!("../../../../docs/pxl.md");

/// The self-modification example of docs/pxl.md, read from the page itself.
fn docs_example() -> &'static str {
    let start = DOCS.find("Example: a program that rewrites").expect("the example is in docs/pxl.md");
    let block = &DOCS[start..];
    let code = &block[block.find("```\n").expect("a code block") + 4..];
    &code[..code.find("```").expect("the block ends")]
}

#[test]
fn the_docs_self_modification_example() {
    let source = docs_example();
    assert!(source.contains("POKE 11 w"), "{source}");
    assert_eq!(values(source), "i=10 w=10 | halted after 41 cycles");
    // Each pass draws the width the previous pass poked: the last RECT is 9 wide.
    check(
        source,
        expect![[r#"
            halted after 41 cycles
            #########...............
            #########...............
            #########...............
            #########...............
            ........................
            ........................
            ........................
            ........................
            ........................
            ........................
            ........................
            ........................
        "#]],
    );
}

#[test]
fn the_shipped_self_modification_example() {
    let source = crate::util::EXAMPLES.iter().find(|(name, _)| *name == "self_modify").map_or("", |e| e.1);
    let result = run_with(source, &Config { width: 128, height: 64, ..small() });
    assert_eq!(outcome(&result), "halted after 63 cycles");
    // Row band k (6 pixels apart) holds a RECT as wide as the previous pass poked: 1, 12, 24, ...
    let widths: Vec<usize> =
        (0..10).map(|k| (0..128).take_while(|&x| result.canvas.get(x, k * 6) == Some(Rgba::WHITE)).count()).collect();
    assert_eq!(widths, [1, 12, 24, 36, 48, 60, 72, 84, 96, 108]);
}

#[test]
fn peek_reads_record_words_and_data() {
    // Record 0 (SET x -5): word 0 = opcode 6 | mode bit of slot 0 << 8; word 1 = x's index 0;
    // word 2 = the literal -5; word 7 = line 1. Word 15 is record 1's line.
    assert_eq!(
        values("SET x -5\nPEEK a 0\nPEEK b 1\nPEEK c 2\nPEEK d 7\nPEEK e 15\nPEEK f 3"),
        "x=-5 a=262 b=0 c=-5 d=1 e=2 f=0 | halted after 7 cycles"
    );
    // IF keeps its comparison in bits 16-23 of word 0: >= is 5.
    assert_eq!(value("IF 1 >= 2 end\nPEEK a 0\nend:", "a"), 18 | 5 << 16);
    // The data section follows the records: 3 records, so data starts at address 24,
    // 4 bytes a word, little-endian, zero padded.
    assert_eq!(
        values("TXT 0 0 ABCDE\nPEEK a 24\nPEEK b 25"),
        format!("a={} b=69 | halted after 3 cycles", i32::from_le_bytes(*b"ABCD"))
    );
}

#[test]
fn poke_changes_a_literal_for_the_next_execution() {
    check(
        "top: PSET 0 0\nPOKE 1 5\nLOOP i 3 top",
        expect![[r#"
            halted after 9 cycles
            #....#..................
            ........................
            ........................
            ........................
            ........................
            ........................
            ........................
            ........................
            ........................
            ........................
            ........................
            ........................
        "#]],
    );
}

#[test]
fn poke_does_not_change_the_executing_instruction() {
    // The POKE rewrites its own address literal to 7: this execution still writes address 1,
    // the next one writes address 7 (its own line word).
    assert_eq!(values("top: POKE 1 7\nLOOP i 2 top\nPEEK a 1\nPEEK l 7"), "i=2 a=7 l=7 | halted after 6 cycles");
}

#[test]
fn poke_changes_an_opcode() {
    // Record 2 (PSET, address 16) becomes HALT (opcode 1) after the first pass.
    assert_eq!(values("top: LOOP i 3 body\nHALT\nbody: PSET i 0\nPOKE 16 1\nJMP top"), "i=2 | halted after 6 cycles");
    // The line word is what a trap reports.
    assert_eq!(values("POKE 15 42\nDIV a 1 0"), "a=0 | division_by_zero at line 42 (record 1) after 2 cycles");
}

#[test]
fn an_invalid_record_traps_only_when_executed() {
    // Never executed: no trap.
    assert_eq!(outcome(&run_small("POKE 16 0\nHALT\nPSET 1 1")), "halted after 2 cycles");
    // Executed: invalid_instruction with the record's own line.
    let result = run_small("POKE 24 0\nSET a 1\n\nSET b 2\nPSET 1 1");
    assert_eq!(outcome(&result), "invalid_instruction at line 5 (record 3) after 4 cycles");
    let Status::Trapped(trap) = result.status else { panic!() };
    assert_eq!(trap.kind, TrapKind::InvalidInstruction(RecordError::UnknownOpcode(0)));
}

#[test]
fn every_kind_of_invalid_record_traps_with_its_reason() {
    // Record 2 is the target, at address 16; n = 3 records, 1 variable, 2 data bytes.
    let cases = [
        ("POKE 16 200", "TXT 0 0 hi", RecordError::UnknownOpcode(200)),
        ("POKE 16 0x01000004", "PSET 1 1", RecordError::BadAux),
        ("POKE 16 0x00060012", "IF 1 == 1 x", RecordError::BadAux),
        ("POKE 16 0x00010004", "PSET 1 1", RecordError::BadAux),
        ("POKE 16 0x00000006", "SET v 1", RecordError::BadMode(0)),
        ("POKE 16 0x00000406", "SET v 1", RecordError::BadMode(2)),
        ("POKE 16 0x00000111", "JMP x", RecordError::BadMode(0)),
        ("POKE 16 0x00000104", "PSET 1 1", RecordError::BadVariable(0)),
        ("POKE 17 4", "JMP x", RecordError::BadTarget(0)),
        ("POKE 19 1", "TXT 0 0 hi", RecordError::BadText),
        ("POKE 20 3", "TXT 0 0 hi", RecordError::BadText),
    ];
    for (poke, target, why) in cases {
        // "SET v 0" makes the one variable; the target's "x" label is the end.
        let source = format!("SET v 0\n{poke}\n{target}\nx:");
        let result = run_small(&source);
        let Status::Trapped(trap) = result.status else { panic!("{source}: {:?}", result.status) };
        assert_eq!(
            (trap.kind, trap.line, trap.pc, result.cycles),
            (TrapKind::InvalidInstruction(why), 3, 2, 3),
            "{source}"
        );
    }
}

#[test]
fn poking_the_old_word_back_repairs_a_record() {
    assert_eq!(
        values("PEEK saved 32\nPOKE 32 -1\nPOKE 32 saved\nSET z 0\nPSET 1 1"),
        "saved=4 z=0 | halted after 5 cycles"
    );
    // Broken and repaired in a loop: it traps exactly when it is broken at execution.
    assert_eq!(
        values("PEEK good 24\ntop: POKE 24 0\nPOKE 24 good\nbroken: PSET i 0\nLOOP i 3 top\nPOKE 24 0\nJMP broken"),
        "good=260 i=3 | invalid_instruction at line 4 (record 3) after 16 cycles"
    );
}

#[test]
fn poking_data_changes_later_text() {
    // 3 records, so the data ("AB") starts at address 24; both TXT share it.
    let result = run_small("TXT 0 0 AB\nPOKE 24 0x4443\nTXT 12 0 AB");
    let mut expected = canvas(W, H);
    draw_text_by_hand(&mut expected, 0, 0, b"AB", Rgba::WHITE);
    draw_text_by_hand(&mut expected, 12, 0, b"CD", Rgba::WHITE);
    assert!(result.canvas == expected, "{}", art(&result.canvas));
    // Bytes past the text's length are padding: poking them changes no drawing, but PEEK sees them.
    let source = "POKE 24 0x7A7A4343\nTXT 0 0 AB\nPEEK w 24";
    assert_eq!(values(source), format!("w={} | halted after 3 cycles", 0x7A7A4343));
    let result = run_small(source);
    let mut expected = canvas(W, H);
    draw_text_by_hand(&mut expected, 0, 0, b"CC", Rgba::WHITE);
    assert!(result.canvas == expected, "{}", art(&result.canvas));
}

#[test]
fn addresses_outside_the_code_trap() {
    // 2 records and no data: addresses 0..=15.
    assert_eq!(values("PEEK a 15\nPEEK b 16"), "a=2 b=0 | address_out_of_range at line 2 (record 1) after 2 cycles");
    let cases = [
        ("PEEK a -1", -1),
        ("POKE -1 0", -1),
        ("POKE 8 0", 8),
        ("PEEK a 8", 8),
        ("PEEK a -2147483648", i32::MIN),
        ("POKE 2147483647 1", i32::MAX),
    ];
    for (source, address) in cases {
        let result = run_small(source);
        let Status::Trapped(trap) = result.status else { panic!("{source}") };
        assert_eq!((trap.kind, trap.line, result.cycles), (TrapKind::AddressOutOfRange(address), 1, 1), "{source}");
    }
    // With data: 2 records and a text of 5 bytes (2 words): 0..=17.
    assert_eq!(outcome(&run_small("PEEK a 17\nTXT 0 0 ABCDE")), "halted after 2 cycles");
    assert_eq!(
        outcome(&run_small("PEEK a 18\nTXT 0 0 ABCDE")),
        "address_out_of_range at line 1 (record 0) after 1 cycles"
    );
}

#[test]
fn source_programs_cannot_write_invalid_records() {
    // Only POKE (or a hand-made texture) makes an invalid record: compiled code is all valid.
    for (name, source) in crate::util::CORPUS.iter().chain(crate::util::EXAMPLES) {
        let texture = compile_ok(source);
        for index in 0..texture.n_records() {
            let mut literals = [0; 6];
            let decoded = gvpie_pxl::decode_record(
                &texture.record(index),
                texture.n_vars(),
                texture.n_records(),
                texture.data_len(),
                0,
                &mut literals,
            );
            assert!(decoded.is_ok(), "{name}: record {index}: {decoded:?}");
        }
    }
    assert!(compile("POKE 0 0").is_ok());
}

// The CPU VM runs some neighbouring instructions as one dispatch (arithmetic followed by
// arithmetic, LOOP, IF or JMP). None of that may show: POKE into either half, jumps into the
// second half and budgets that end between the two behave as for single instructions.

#[test]
fn poke_into_the_second_of_two_arithmetic_instructions() {
    // Record 2 (ADD b b 1) has its literal 1 at address 19; the second pass adds 5.
    assert_eq!(
        values("SET i 0\ntop: ADD a a 1\nADD b b 1\nPOKE 19 5\nLOOP i 3 top"),
        "i=3 a=3 b=11 | halted after 13 cycles"
    );
}

#[test]
fn poke_breaks_the_second_of_two_arithmetic_instructions() {
    assert_eq!(
        values("top: ADD a a 1\nADD b b 1\nPOKE 8 0\nJMP top"),
        "a=2 b=1 | invalid_instruction at line 2 (record 1) after 6 cycles"
    );
}

#[test]
fn poke_turns_the_first_of_two_arithmetic_instructions_into_a_drawing() {
    // ADD a a 1 (modes: slots 0 and 1 are variables) becomes PSET a a.
    let source = "top: ADD a a 1\nADD b b 1\nPOKE 0 0x304\nLOOP i 2 top";
    assert_eq!(values(source), "a=1 b=2 i=2 | halted after 8 cycles");
    assert_eq!(lit(&run_small(source).canvas), [(1, 1)].into_iter().collect());
}

#[test]
fn poke_turns_a_drawing_into_the_first_of_two_arithmetic_instructions() {
    // PSET 0 0 becomes SET with slot 0 a variable: SET a 0 ... its word 1 is 0, a's index.
    let source = "SET a 7\ntop: PSET 0 0\nADD b a 1\nPOKE 8 0x106\nLOOP i 2 top";
    assert_eq!(values(source), "a=0 b=1 i=2 | halted after 9 cycles");
}

#[test]
fn a_jump_into_the_second_of_two_arithmetic_instructions() {
    assert_eq!(values("JMP mid\nSET a 5\nmid: ADD b a 1"), "a=0 b=1 | halted after 2 cycles");
    assert_eq!(
        values("SET n 0\ntop: SET a 5\nmid: ADD b b a\nADD n n 1\nIF n < 3 mid"),
        "n=3 a=5 b=15 | halted after 11 cycles"
    );
}

#[test]
fn arithmetic_pairs_give_the_same_results_as_single_instructions() {
    // Every first (SET..SHR) with every second (SET..SHR, LOOP, IF, JMP), the second reading
    // what the first wrote; once as a pair and once with a PSET between them.
    let firsts = [
        "SET x 7",
        "ADD x x 3",
        "SUB x 2 x",
        "MUL x x -3",
        "AND x x 6",
        "OR x x 9",
        "XOR x x -1",
        "SHL x x 2",
        "SHR x -64 x",
    ];
    let seconds = [
        "SET y x",
        "ADD y x 1",
        "SUB y y x",
        "MUL y x x",
        "AND y x 12",
        "OR y x 1",
        "XOR y x y",
        "SHL y 1 x",
        "SHR y x 1",
        "LOOP i x top",
        "IF x > 0 top",
        "JMP done",
    ];
    for first in firsts {
        for second in seconds {
            let pair = format!("SET x 1\ntop: ADD n n 1\nIF n > 3 done\n{first}\n{second}\nADD y y x\ndone:");
            let apart = pair.replace(&format!("{first}\n{second}"), &format!("{first}\nPSET 30 30\n{second}"));
            let (a, b) = (values(&pair), values(&apart));
            // Same variables; the version with PSET between runs one more instruction a pass.
            let strip = |s: &str| s.split(" | ").next().unwrap_or_default().to_string();
            assert_eq!(strip(&a), strip(&b), "{first} / {second}");
        }
    }
}
