//! Helpers shared by every test module.
//!
//! They keep tests about behaviour, not about the API: a test gives PXL source and reads back
//! text (an outcome line, ASCII art, `name=value` pairs) that it compares with a snapshot or a
//! literal. Helpers panic with the rendered diagnostics when a program that should compile does
//! not, so a failing test says why.

use expect_test::Expect;
use gvpie_pxl::{Config, RunResult, Status, Texture, Vm, compile, render_all, run};
use gvpie_raster::{Canvas, GLYPH_ADVANCE, Rgba, glyph};

/// The canvas `check` draws on: small enough to read as ASCII art.
pub const W: u32 = 24;
/// See [`W`].
pub const H: u32 = 12;

/// A budget that ends runaway test programs quickly.
pub const TEST_BUDGET: u64 = 100_000;

pub const RED: Rgba = Rgba::new(255, 0, 0, 255);
pub const GREEN: Rgba = Rgba::new(0, 255, 0, 255);
pub const BLUE: Rgba = Rgba::new(0, 0, 255, 255);

/// A 24x12 canvas with the test budget.
pub fn small() -> Config {
    Config { width: W, height: H, budget: TEST_BUDGET, ..Config::default() }
}

/// Compiles `source` or panics with every diagnostic.
#[track_caller]
pub fn compile_ok(source: &str) -> Texture {
    compile(source).unwrap_or_else(|d| panic!("program does not compile:\n{}\n---\n{source}", render_all(&d)))
}

/// Compiles and runs `source` under `config`.
#[track_caller]
pub fn run_with(source: &str, config: &Config) -> RunResult {
    let texture = compile_ok(source);
    run(&texture, config).unwrap_or_else(|e| panic!("{e}"))
}

/// Compiles and runs `source` on the small canvas.
#[track_caller]
pub fn run_small(source: &str) -> RunResult {
    run_with(source, &small())
}

/// One line saying how a run ended: `halted after 3 cycles` or
/// `division_by_zero at line 2 (record 1) after 2 cycles`.
pub fn outcome(result: &RunResult) -> String {
    status_line(&result.status, result.cycles)
}

/// [`outcome`] for a status and a cycle count.
pub fn status_line(status: &Status, cycles: u64) -> String {
    match status {
        Status::Halted => format!("halted after {cycles} cycles"),
        Status::Running => format!("still running after {cycles} cycles"),
        Status::Trapped(trap) => {
            format!("{} at line {} (record {}) after {cycles} cycles", trap.kind.name(), trap.line, trap.pc)
        }
    }
}

/// The canvas as ASCII art: `.` black, `#` white, `R` `G` `B` pure red, green, blue, and
/// lower-case letters for other colours, listed with their exact values after the picture.
pub fn art(canvas: &Canvas) -> String {
    let mut others: Vec<u32> = Vec::new();
    let mut out = String::new();
    for row in canvas.pixels().chunks(canvas.width() as usize) {
        for &pixel in row {
            out.push(match Rgba::from_u32(pixel) {
                Rgba::BLACK => '.',
                Rgba::WHITE => '#',
                RED => 'R',
                GREEN => 'G',
                BLUE => 'B',
                _ => {
                    let index = others.iter().position(|&o| o == pixel).unwrap_or_else(|| {
                        others.push(pixel);
                        others.len() - 1
                    });
                    char::from(b'a' + (index % 26) as u8)
                }
            });
        }
        out.push('\n');
    }
    for (index, &pixel) in others.iter().enumerate() {
        let c = Rgba::from_u32(pixel);
        let name = char::from(b'a' + (index % 26) as u8);
        out.push_str(&format!("{name} = ({}, {}, {}, {})\n", c.r, c.g, c.b, c.a));
    }
    out
}

/// Runs `source` on the 24x12 canvas and compares the outcome line and the picture.
#[track_caller]
pub fn check(source: &str, expect: Expect) {
    let result = run_small(source);
    expect.assert_eq(&format!("{}\n{}", outcome(&result), art(&result.canvas)));
}

/// Like [`check`] on a `width` x `height` canvas.
#[track_caller]
pub fn check_sized(width: u32, height: u32, source: &str, expect: Expect) {
    let config = Config { width, height, ..small() };
    let result = run_with(source, &config);
    expect.assert_eq(&format!("{}\n{}", outcome(&result), art(&result.canvas)));
}

/// Runs `source` (small canvas) and prints its variables as `name=value`, in order of first
/// appearance, then the outcome: `a=1 b=-2 | halted after 2 cycles`.
#[track_caller]
pub fn values(source: &str) -> String {
    values_with(source, &small())
}

/// [`values`] under `config`.
#[track_caller]
pub fn values_with(source: &str, config: &Config) -> String {
    let texture = compile_ok(source);
    let names = texture.names().expect("a compiled texture carries names");
    let mut vm = Vm::new(&texture, config).unwrap_or_else(|e| panic!("{e}"));
    vm.run();
    let mut out: Vec<String> =
        names.variables.iter().zip(vm.variables()).map(|(name, value)| format!("{name}={value}")).collect();
    out.push(format!("| {}", status_line(&vm.status(), vm.cycles())));
    out.join(" ")
}

/// The value of variable `name` after running `source` (which must halt).
#[track_caller]
pub fn value(source: &str, name: &str) -> i32 {
    let texture = compile_ok(source);
    let names = texture.names().expect("a compiled texture carries names");
    let mut vm = Vm::new(&texture, &small()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vm.run(), Status::Halted, "{source}");
    let index = names.variables.iter().position(|n| n == name).unwrap_or_else(|| panic!("no variable {name}"));
    vm.variables()[index]
}

/// A fresh canvas of the given size.
#[track_caller]
pub fn canvas(width: u32, height: u32) -> Canvas {
    Canvas::new(width, height).unwrap_or_else(|e| panic!("{e}"))
}

/// Draws `text` the way the contract describes TXT, straight from the font table and without
/// the rasterizer's text code: glyph n's 5x7 cell starts at (x + 6n, y), only set bits drawn.
pub fn draw_text_by_hand(canvas: &mut Canvas, x: i64, y: i64, text: &[u8], color: Rgba) {
    for (n, &byte) in text.iter().enumerate() {
        let Some(rows) = glyph(byte) else { continue };
        let cell_x = x + i64::from(GLYPH_ADVANCE) * n as i64;
        for (r, bits) in rows.iter().enumerate() {
            for c in 0..5 {
                if bits >> (4 - c) & 1 == 1 {
                    let (px, py) = (cell_x + c, y + r as i64);
                    if let (Ok(px), Ok(py)) = (i32::try_from(px), i32::try_from(py)) {
                        canvas.pset(px, py, color);
                    }
                }
            }
        }
    }
}

/// Asserts that two runs agree on pixels, cycles and how they ended. Trap lines are compared
/// only when `same_lines` (formatting and disassembly move instructions to other lines).
#[track_caller]
pub fn assert_same_run(a: &RunResult, b: &RunResult, same_lines: bool, context: &str) {
    assert_eq!(a.cycles, b.cycles, "cycles differ\n{context}");
    assert!(a.canvas == b.canvas, "pixels differ\n{context}");
    assert_eq!(a.n_frames, b.n_frames, "frame counts differ\n{context}");
    assert!(a.frames == b.frames, "frames differ\n{context}");
    match (a.status, b.status) {
        (Status::Trapped(x), Status::Trapped(y)) => {
            assert_eq!((x.kind, x.pc), (y.kind, y.pc), "traps differ\n{context}");
            if same_lines {
                assert_eq!(x.line, y.line, "trap lines differ\n{context}");
            }
        }
        (x, y) => assert_eq!(x, y, "status differs\n{context}"),
    }
}

/// Every example program shipped in `examples/`, with its file name.
pub const EXAMPLES: &[(&str, &str)] = &[
    ("bounce", include_str!("../../../../examples/bounce.pxl")),
    ("circles", include_str!("../../../../examples/circles.pxl")),
    ("countdown", include_str!("../../../../examples/countdown.pxl")),
    ("fibonacci", include_str!("../../../../examples/fibonacci.pxl")),
    ("gradient", include_str!("../../../../examples/gradient.pxl")),
    ("hello_gpu", include_str!("../../../../examples/hello_gpu.pxl")),
    ("mirror", include_str!("../../../../examples/mirror.pxl")),
    ("random_dots", include_str!("../../../../examples/random_dots.pxl")),
    ("self_modify", include_str!("../../../../examples/self_modify.pxl")),
    ("starburst", include_str!("../../../../examples/starburst.pxl")),
    ("test_rect", include_str!("../../../../examples/test_rect.pxl")),
    ("triangles", include_str!("../../../../examples/triangles.pxl")),
    ("xor_pattern", include_str!("../../../../examples/xor_pattern.pxl")),
];

/// Small programs that between them use every instruction, both comment styles, labels alone
/// and before instructions, traps of every kind a source program can reach, and FRAME.
pub const CORPUS: &[(&str, &str)] = &[
    ("empty", ""),
    ("comments only", "# nothing\n; here\n"),
    ("hello", "TXT 10 10 HELLO GPU\nHALT"),
    (
        "every instruction",
        "COLOR 255 128 0 200 ; orange, a little transparent\n\
         CLS 10 20 30\n\
         SET a 3\nADD b a 4\nSUB c b 10\nMUL d c c\nDIV e d 2\nMOD f d 5\n\
         AND g d 6\nOR h g 8\nXOR i h -1\nSHL j a 3\nSHR k i 1\n\
         RECT a b 4 3\nPSET 0 0\nLINE 0 11 23 0\nCIRC 12 6 4\nCIRCF 20 3 2\nTRI 0 0 8 2 3 9\n\
         PGET l 1 1\nSEED 7\nRAND m 100\nRAND n 0\nNUM 0 5 -42\nTXT 1 1 A#;b\n\
         PEEK o 3\nPOKE 3 o\nFRAME\n\
         IF a < b skip\nHALT\nskip: CALL sub\nJMP end\nsub:\nLOOP p 3 sub\nRET\nend:",
    ),
    ("loop", "SET i 0\ntop:\nRECT i i 2 2\nLOOP i 8 top\n"),
    ("division by zero", "RECT 0 0 5 5\nDIV a 1 0\nRECT 5 5 5 5"),
    ("stack underflow", "PSET 1 1\nRET"),
    ("stack overflow", "f: CALL f"),
    ("budget", "top: ADD i i 1\nPSET i 0\nJMP top"),
    ("address out of range", "POKE 100 1"),
    ("invalid after poke", "POKE 8 0\nHALT"),
    ("frames", "SET i 0\nf: PSET i i\nFRAME\nLOOP i 4 f"),
    ("texts shared", "TXT 0 0 hi\nTXT 0 6 hi\nTXT 12 0 yo\nTXT 0 0"),
    ("hex literals", "SET a 0xFFFFFFFF\nSET b 0x80000000\nCOLOR 0xFF 0x7f 0X10\nRECT 0 0 0x3 0x3"),
];
