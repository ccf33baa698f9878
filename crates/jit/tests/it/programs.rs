//! Whole programs: the examples, the benchmarks at small sizes, and every opcode.

use gvpie_pxl::{Config, Status};

use crate::util::{check, small};

fn repo_file(path: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../");
    std::fs::read_to_string(format!("{root}{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_example_gives_the_interpreters_results() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let mut names: Vec<_> = std::fs::read_dir(root)
        .expect("examples")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".pxl"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        let source = repo_file(&format!("examples/{name}"));
        let config = Config { max_frames: 8, ..Config::default() };
        let observed = check(&source, &config);
        assert_ne!(observed.status, Status::Running, "{name}");
    }
}

#[test]
fn the_benchmarks_at_small_sizes() {
    let xor = repo_file("bench/xor.pxl").replace("LOOP f 100 frame", "LOOP f 3 frame");
    check(&xor, &Config { width: 256, height: 256, budget: 10_000_000, max_frames: 3 });
    let looped = repo_file("bench/loop.pxl").replace("100000000", "5000");
    check(&looped, &small());
    // The ALU loop and pixel fill, written with IF.
    check(ALU_IF, &small());
    check(&FILL_IF.replace("100", "2"), &Config { width: 40, height: 30, budget: 10_000_000, max_frames: 2 });
}

/// The ALU loop with `IF` (the benchmark runs it 100M times).
pub const ALU_IF: &str =
    "SET i 0\nSET s 0\nloop:\nMUL t i 3\nADD s s t\nAND s s 0xFFFF\nADD i i 1\nIF i < 3000 loop\nNUM 0 0 s\nHALT\n";
/// The pixel fill with `IF`.
pub const FILL_IF: &str = "SET f 0\nframe:\nSET y 0\nrow:\nSET x 0\ncol:\nXOR c x y\nADD c c f\nCOLOR c x y\nPSET x y\nADD x x 1\nIF x < 40 col\nADD y y 1\nIF y < 30 row\nFRAME\nADD f f 1\nIF f < 100 frame\nHALT\n";

#[test]
fn every_opcode() {
    let source = "\
SET a 7
ADD b a 5
SUB c a 50
MUL d a -3
DIV e d 2
MOD f d 4
DIV g d a
MOD h 100 a
AND i a 3
OR j a 8
XOR k a 0xFF
SHL l a 33
SHR m c 2
SHR n -1 a
SET z -2147483648
DIV o z -1
MOD p z -1
SET q -1
DIV r z q
MOD s z q
COLOR 255 0 0
RECT 1 1 5 4
PSET 0 0
COLOR 0 300 -5 128
LINE 0 15 31 0
CIRC 10 8 5
CIRCF 24 8 3
TRI 0 0 31 0 16 15
TXT 1 8 Hi!
NUM 12 1 -42
PGET t 1 1
PGET u -1 0
SEED 99
RAND v 10
RAND w 0
RAND x -5
SEED 0
RAND y 1000
FRAME
CALL sub
IF a == 7 eq
HALT
eq:
IF a != 7 never
IF a < 8 lt
HALT
lt:
IF a <= 7 le
HALT
le:
IF a > 6 gt
HALT
gt:
IF a >= 7 ge
HALT
ge:
LOOP k 300 ge
JMP end
never:
HALT
sub:
CLS 1 2 3
COLOR 9 9 9 9
RECT 0 0 3 3
FRAME
RET
end:
";
    let observed = check(source, &small());
    assert_eq!(observed.status, Status::Halted);
    assert_eq!(observed.n_frames, 2);
}

#[test]
fn calls_nest_and_return() {
    check("SET d 0\nCALL f\nHALT\nf:\nADD d d 1\nIF d < 200 f\nCALL g\nRET\ng:\nPSET d 1\nRET\n", &small());
    // Recursion 256 deep, then back out.
    check("CALL f\nHALT\nf:\nADD d d 1\nIF d >= 256 back\nCALL f\nback:\nADD r r 1\nRET\n", &small());
}
