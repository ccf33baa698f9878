//! The core contract, `pxl-core.md`, line by line.
//!
//! Outside acceptance tests check every line of that page, so each section here quotes the line
//! it pins and tests it through the public API. The command-line lines (`gvpie run`, JSON,
//! exit codes, backends, wall time) belong to the CLI crate and are tested there.

use expect_test::expect;
use gvpie_pxl::{CALL_DEPTH, Config, DEFAULT_BUDGET, Status, TrapKind, Vm, compile, run};
use gvpie_raster::{CanvasError, Rgba};

use crate::util::{
    RED, art, canvas, check, check_sized, compile_ok, draw_text_by_hand, outcome, run_small, run_with, small, value,
    values, values_with,
};

fn headlines(source: &str) -> Vec<String> {
    match compile(source) {
        Ok(_) => Vec::new(),
        Err(diagnostics) => diagnostics.iter().map(|d| d.headline()).collect(),
    }
}

// ## Source form
//
// "One instruction per line."

#[test]
fn one_instruction_per_line() {
    check(
        "PSET 0 0\nPSET 2 0\n\n\nPSET 4 0",
        expect![[r#"
            halted after 3 cycles
            #.#.#...................
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
    // A second instruction on the same line is just more operands.
    assert_eq!(headlines("PSET 0 0 PSET 2 0"), ["1:10: PSET expects 2 operands (x y), found 5"]);
}

// "`#` or `;` starts a comment that runs to the end of the line"

#[test]
fn hash_and_semicolon_start_comments() {
    check(
        "# a whole-line comment\n; another\nPSET 0 0 # PSET 1 0\nPSET 2 0 ; PSET 3 0\nPSET 4 0#PSET 5 0\nPSET 6 0;PSET 7 0\nHALT# HALT\n   ; indented",
        expect![[r#"
            halted after 5 cycles
            #.#.#.#.................
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
fn comment_characters_end_an_operand() {
    // `SET a 5#9` is `SET a 5` plus a comment, not the operand `5#9`.
    assert_eq!(values("SET a 5#9\nSET b 6;9"), "a=5 b=6 | halted after 2 cycles");
}

// "except in `TXT`, whose text is the rest of the line verbatim (`#` and `;` there are text)"

#[test]
fn txt_draws_hash_and_semicolon() {
    let result = run_small("TXT 0 0 #;x # not a comment ; either");
    let mut expected = canvas(crate::util::W, crate::util::H);
    draw_text_by_hand(&mut expected, 0, 0, b"#;x # not a comment ; either", Rgba::WHITE);
    assert!(result.canvas == expected, "{}", art(&result.canvas));
    check(
        "TXT 0 0 #;",
        expect![[r#"
            halted after 1 cycles
            .#.#....................
            .#.#...##...............
            #####..##...............
            .#.#....................
            #####..##...............
            .#.#....#...............
            .#.#...#................
            ........................
            ........................
            ........................
            ........................
            ........................
        "#]],
    );
}

// "Mnemonics are case-insensitive."

#[test]
fn mnemonics_are_case_insensitive() {
    let upper = "COLOR 255 0 0\nRECT 1 1 3 2\nSET a 4\nPSET a 5\nTXT 8 4 Hi\nHALT";
    let mixed = "color 255 0 0\nRect 1 1 3 2\nsEt a 4\npset a 5\ntxt 8 4 Hi\nHaLt";
    assert_eq!(compile_ok(upper), compile_ok(mixed));
    // Every mnemonic, not only the ones above.
    for info in gvpie_pxl::OPS {
        for spelling in [info.mnemonic.to_lowercase(), capitalized(info.mnemonic)] {
            assert_eq!(gvpie_pxl::Op::from_mnemonic(&spelling), Some(info.op), "{spelling}");
        }
    }
}

fn capitalized(word: &str) -> String {
    let lower = word.to_lowercase();
    let mut chars = lower.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

// "Variable and label names are case-sensitive: `[A-Za-z_][A-Za-z0-9_]*`."

#[test]
fn variable_names_are_case_sensitive() {
    assert_eq!(values("SET a 1\nSET A 2\nADD aA a A"), "a=1 A=2 aA=3 | halted after 3 cycles");
}

#[test]
fn label_names_are_case_sensitive() {
    // Two labels that differ only in case are different labels.
    assert_eq!(values("JMP Top\ntop: SET x 1\nHALT\nTop: SET x 2"), "x=2 | halted after 2 cycles");
    assert_eq!(headlines("Loop: JMP loop"), ["1:11: undefined label 'loop' (did you mean Loop?)"]);
}

#[test]
fn names_follow_the_identifier_pattern() {
    assert_eq!(
        values("SET _ 1\nSET _x9 2\nSET Z_z_0 3\nSET x 4\n__:\nJMP _L9\n_L9:"),
        "_=1 _x9=2 Z_z_0=3 x=4 | halted after 5 cycles"
    );
    assert_eq!(
        headlines("SET 9x 1\nSET a-b 1\nSET a é\n9x:\nb-c: HALT"),
        [
            "1:5: expected a variable to write, found '9x'",
            "2:5: expected a variable to write, found 'a-b'",
            "3:7: bad operand 'é' (expected an integer literal or a variable name)",
            "4:1: invalid label name '9x' (labels are [A-Za-z_][A-Za-z0-9_]*)",
            "5:1: invalid label name 'b-c' (labels are [A-Za-z_][A-Za-z0-9_]*)",
        ]
    );
}

// "A label is `name:` at the start of a line, alone or before an instruction."

#[test]
fn labels_alone_and_before_an_instruction() {
    let alone = "SET i 0\ntop:\nPSET i 0\nADD i i 2\nIF i < 8 top";
    let before = "SET i 0\ntop: PSET i 0\nADD i i 2\nIF i < 8 top";
    let expected = expect![[r#"
        halted after 13 cycles
        #.#.#.#.................
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
    "#]];
    check(alone, expected);
    let (a, b) = (run_small(alone), run_small(before));
    assert_eq!((outcome(&a), art(&a.canvas)), (outcome(&b), art(&b.canvas)));
    // A label on the last line names the end of the program: jumping there halts.
    check(
        "JMP end\nPSET 0 0\nend:",
        expect![[r#"
            halted after 1 cycles
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
            ........................
        "#]],
    );
}

#[test]
fn a_label_does_not_count_as_an_instruction() {
    // Two labels on consecutive lines name the same instruction; neither costs a cycle.
    assert_eq!(values("JMP b\na:\nb:\nSET x 1\nJMP a2\na2:"), "x=1 | halted after 3 cycles");
}

// "An operand is an integer literal or a variable name. Literals are decimal with an optional
// `-` (−2147483648 to 2147483647) or `0x` hex up to `0xFFFFFFFF` (the 32-bit pattern, two's
// complement)."

#[test]
fn decimal_literals_cover_the_whole_i32_range() {
    assert_eq!(
        values("SET a 2147483647\nSET b -2147483648\nSET c 0\nSET d -0\nSET e 007\nSET f -1"),
        "a=2147483647 b=-2147483648 c=0 d=0 e=7 f=-1 | halted after 6 cycles"
    );
}

#[test]
fn hex_literals_are_32_bit_patterns() {
    assert_eq!(
        values("SET a 0xFFFFFFFF\nSET b 0x80000000\nSET c 0x7FFFFFFF\nSET d 0x0\nSET e 0xff\nSET f 0x00000000FF"),
        "a=-1 b=-2147483648 c=2147483647 d=0 e=255 f=255 | halted after 6 cycles"
    );
    // The same bits as the decimal spelling, so the same texture.
    assert_eq!(compile_ok("SET a 0xFFFFFFFF"), compile_ok("SET a -1"));
    assert_eq!(value("SET a 0xFFFFFFFF\nIF a == -1 yes\nSET r 0\nHALT\nyes: SET r 1", "r"), 1);
}

#[test]
fn literals_out_of_range_are_errors() {
    assert_eq!(
        headlines("SET a 2147483648\nSET a -2147483649\nSET a 0x100000000\nSET a 99999999999999999999"),
        [
            "1:7: integer literal '2147483648' is out of range (-2147483648 to 2147483647)",
            "2:7: integer literal '-2147483649' is out of range (-2147483648 to 2147483647)",
            "3:7: hex literal '0x100000000' is out of range (at most 0xFFFFFFFF)",
            "4:7: integer literal '99999999999999999999' is out of range (-2147483648 to 2147483647)",
        ]
    );
}

#[test]
fn operands_may_be_literals_or_variables_everywhere() {
    // "Every operand except a label and TXT's text may be a literal or a variable."
    let literals = "COLOR 255 0 0\nRECT 1 2 3 4\nPSET 6 1\nTXT 8 0 A";
    let variables = "SET r 255\nSET z 0\nSET one 1\nSET two 2\nSET three 3\nSET four 4\nSET six 6\nSET eight 8\n\
                     COLOR r z z\nRECT one two three four\nPSET six one\nTXT eight z A";
    let a = run_small(literals);
    let b = run_small(variables);
    assert!(a.canvas == b.canvas, "{}\n{}", art(&a.canvas), art(&b.canvas));
}

// "Errors in the source (unknown mnemonic, wrong operand count, bad literal, undefined or
// duplicate label) are reported before anything runs, as `LINE:COLUMN: message` (1-based), all
// of them, not only the first."

#[test]
fn every_source_error_is_reported_sorted_with_line_and_column() {
    let source = "\
JMP nowhere
top:
RECTT 0 0 1 1
  PSET 1
SET a 0x1G
top: HALT
SET b 2147483648 ; and a comment
IF a == b top";
    assert_eq!(
        headlines(source),
        [
            "1:5: undefined label 'nowhere'",
            "3:1: unknown mnemonic 'RECTT' (did you mean RECT?)",
            "4:3: PSET expects 2 operands (x y), found 1",
            "5:7: bad hex literal '0x1G'",
            "6:1: duplicate label 'top' (first defined at 2:1)",
            "7:7: integer literal '2147483648' is out of range (-2147483648 to 2147483647)",
        ]
    );
}

#[test]
fn several_errors_on_one_line_are_all_reported() {
    assert_eq!(
        headlines("RECT x 5x 0xZZ -"),
        [
            "1:8: bad operand '5x' (expected an integer literal or a variable name)",
            "1:11: bad hex literal '0xZZ'",
            "1:16: bad operand '-' (expected an integer literal or a variable name)",
        ]
    );
}

#[test]
fn nothing_runs_when_the_source_has_errors() {
    // compile gives diagnostics, not a texture, so there is nothing to run.
    assert!(compile("PSET 0 0\nFOO").is_err());
    assert!(compile("PSET 0 0\nJMP missing").is_err());
}

// ## Machine
//
// "Canvas: 128×64 pixels unless the run asks for another size (at least 1×1, at most
// 4096×4096). Origin top-left, x to the right, y down. Every pixel starts opaque black
// (0,0,0,255)."

#[test]
fn default_canvas_is_128_by_64_opaque_black() {
    let config = Config::default();
    assert_eq!((config.width, config.height), (128, 64));
    let result = run(&compile_ok(""), &config).expect("the default size is valid");
    assert_eq!((result.canvas.width(), result.canvas.height()), (128, 64));
    let bytes = result.canvas.to_rgba8();
    assert_eq!(bytes.len(), 128 * 64 * 4);
    assert!(bytes.chunks(4).all(|p| p == [0, 0, 0, 255]));
}

#[test]
fn default_canvas_edges() {
    let result = run(&compile_ok("PSET 127 63\nPSET 128 0\nPSET 0 64"), &Config::default()).expect("valid size");
    let white: Vec<(u32, u32)> = (0..64u32)
        .flat_map(|y| (0..128u32).map(move |x| (x, y)))
        .filter(|&(x, y)| result.canvas.get(x as i32, y as i32) == Some(Rgba::WHITE))
        .collect();
    assert_eq!(white, [(127, 63)]);
}

#[test]
fn smallest_and_largest_canvas_sizes_run() {
    for (width, height) in [(1, 1), (1, 4096), (4096, 1), (4096, 4096)] {
        let config = Config { width, height, ..Config::default() };
        let result = run(&compile_ok("PSET 0 0\nPSET 4095 4095"), &config).expect("valid size");
        assert_eq!((result.canvas.width(), result.canvas.height()), (width, height));
        assert_eq!(result.canvas.get(0, 0), Some(Rgba::WHITE));
        assert_eq!(result.status, Status::Halted);
    }
    let big = run(&compile_ok("PSET 4095 4095"), &Config { width: 4096, height: 4096, ..Config::default() })
        .expect("valid size");
    assert_eq!(big.canvas.get(4095, 4095), Some(Rgba::WHITE));
    assert_eq!(big.canvas.get(4094, 4095), Some(Rgba::BLACK));
}

#[test]
fn canvas_sizes_outside_1_to_4096_are_rejected() {
    let texture = compile_ok("HALT");
    for (width, height) in [(0, 64), (128, 0), (0, 0), (4097, 64), (128, 4097), (4097, 4097), (u32::MAX, 1)] {
        let config = Config { width, height, ..Config::default() };
        assert_eq!(run(&texture, &config).err(), Some(CanvasError::BadSize { width, height }));
        assert_eq!(Vm::new(&texture, &config).err(), Some(CanvasError::BadSize { width, height }));
    }
}

#[test]
fn origin_is_top_left_x_right_y_down() {
    check(
        "PSET 0 0\nCOLOR 255 0 0\nPSET 3 0\nCOLOR 0 0 255\nPSET 0 2",
        expect![[r#"
            halted after 5 cycles
            #..R....................
            ........................
            B.......................
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

// "Drawing colour starts opaque white (255,255,255,255)."

#[test]
fn drawing_colour_starts_opaque_white() {
    let result = run_small("COLOR 255 0 0\nRECT 0 0 2 1\nHALT");
    assert_eq!(result.canvas.get(0, 0), Some(RED));
    // Without COLOR the first draw is opaque white, replacing red entirely.
    let result = run_small("PSET 0 0");
    assert_eq!(result.canvas.get(0, 0), Some(Rgba::new(255, 255, 255, 255)));
    let vm = Vm::new(&compile_ok(""), &small()).expect("valid size");
    assert_eq!(vm.color(), Rgba::WHITE);
}

// "Variables are 32-bit signed integers, all starting at 0. Arithmetic wraps (two's
// complement)."

#[test]
fn variables_start_at_zero() {
    assert_eq!(values("ADD b a 5\nSUB c a 1\nMUL d a 9"), "b=5 a=0 c=-1 d=0 | halted after 3 cycles");
    // An unset variable as a coordinate is 0.
    assert_eq!(run_small("PSET x y").canvas.get(0, 0), Some(Rgba::WHITE));
}

#[test]
fn arithmetic_wraps() {
    assert_eq!(
        values(
            "ADD a 2147483647 1\nSUB b -2147483648 1\nMUL c 65536 65536\nMUL d 2147483647 2\n\
             SUB e 0 -2147483648\nADD f -2147483648 -1\nMUL g -2147483648 -1"
        ),
        "a=-2147483648 b=2147483647 c=0 d=-2 e=-2147483648 f=2147483647 g=-2147483648 | halted after 7 cycles"
    );
}

// "Every executed instruction costs exactly one cycle, including one that traps. Reaching the
// end of the program halts and costs nothing."

#[test]
fn one_cycle_per_executed_instruction() {
    let cases = [
        ("", "halted after 0 cycles"),
        ("# only a comment\n\n", "halted after 0 cycles"),
        ("HALT", "halted after 1 cycles"),
        ("SET a 1", "halted after 1 cycles"),
        ("SET a 1\nSET b 2\nSET c 3", "halted after 3 cycles"),
        ("SET a 1\nHALT\nSET b 2", "halted after 2 cycles"),
        ("JMP l\nSET a 1\nl:", "halted after 1 cycles"),
        // The trapping instruction is counted.
        ("SET a 1\nDIV b a 0\nSET c 1", "division_by_zero at line 2 (record 1) after 2 cycles"),
        ("RET", "stack_underflow at line 1 (record 0) after 1 cycles"),
        ("SET i 0\nt: LOOP i 10 t", "halted after 11 cycles"),
    ];
    for (source, expected) in cases {
        assert_eq!(outcome(&run_small(source)), expected, "{source}");
    }
}

// "A run has a cycle budget (the caller sets it; the default is at least 1,000,000): a budget
// of N lets exactly N instructions run; a program that would run an (N+1)th stops there with a
// budget error and reports N cycles."

#[test]
fn default_budget_is_at_least_a_million() {
    const { assert!(DEFAULT_BUDGET >= 1_000_000) };
    assert_eq!(Config::default().budget, DEFAULT_BUDGET);
}

#[test]
fn default_budget_runs_a_million_instructions() {
    // 1,000,000 cycles: 500,000 rounds of 2 instructions.
    let source = "top: ADD i i 1\nIF i < 500000 top";
    let result = run(&compile_ok(source), &Config::default()).expect("valid size");
    assert_eq!(outcome(&result), "halted after 1000000 cycles");
}

#[test]
fn budget_of_n_runs_exactly_n_instructions() {
    let forever = "top: ADD i i 1\n# the loop's second line\nJMP top";
    let expectations = [
        (0, "i=0 | budget_exhausted at line 1 (record 0) after 0 cycles"),
        (1, "i=1 | budget_exhausted at line 3 (record 1) after 1 cycles"),
        (2, "i=1 | budget_exhausted at line 1 (record 0) after 2 cycles"),
        (7, "i=4 | budget_exhausted at line 3 (record 1) after 7 cycles"),
        (1000, "i=500 | budget_exhausted at line 1 (record 0) after 1000 cycles"),
    ];
    for (budget, expected) in expectations {
        let config = Config { budget, ..small() };
        assert_eq!(values_with(forever, &config), expected, "budget {budget}");
    }
}

#[test]
fn budget_exactly_enough_halts() {
    let three = "SET a 1\nSET b 2\nSET c 3";
    let run_budget = |budget| outcome(&run_with(three, &Config { budget, ..small() }));
    assert_eq!(run_budget(3), "halted after 3 cycles");
    assert_eq!(run_budget(4), "halted after 3 cycles");
    assert_eq!(run_budget(2), "budget_exhausted at line 3 (record 2) after 2 cycles");
    // HALT is an instruction too: it needs a cycle of budget.
    let halting = "SET a 1\n\nHALT";
    assert_eq!(
        outcome(&run_with(halting, &Config { budget: 1, ..small() })),
        "budget_exhausted at line 3 (record 1) after 1 cycles"
    );
    assert_eq!(outcome(&run_with(halting, &Config { budget: 2, ..small() })), "halted after 2 cycles");
    // An empty program needs no budget at all.
    assert_eq!(outcome(&run_with("", &Config { budget: 0, ..small() })), "halted after 0 cycles");
}

#[test]
fn budget_exhaustion_keeps_the_canvas() {
    let source = "SET i 0\ntop: PSET i 0\nADD i i 1\nJMP top";
    let result = run_with(source, &Config { budget: 1 + 3 * 5 + 1, ..small() });
    assert_eq!(outcome(&result), "budget_exhausted at line 3 (record 2) after 17 cycles");
    expect![[r#"
        ######..................
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
    "#]]
    .assert_eq(&art(&result.canvas));
}

// "Coordinates and sizes are computed exactly, without wrap-around (`RECT 2147483000 0 5000 5`
// draws nothing on a small canvas)."

#[test]
fn coordinates_never_wrap() {
    let nothing = "halted after 1 cycles\n".to_string() + &"........................\n".repeat(12);
    for source in [
        "RECT 2147483000 0 5000 5",
        "RECT 0 2147483000 5 5000",
        "RECT 2147483647 2147483647 2147483647 2147483647",
        "PSET 2147483647 0",
        "PSET -2147483648 0",
        "TXT 2147483640 0 ABCDEFGHIJKLMNOP",
        "TXT -2147483648 0 ABCDEFGHIJKLMNOP",
    ] {
        let result = run_small(source);
        assert_eq!(format!("{}\n{}", outcome(&result), art(&result.canvas)), nothing, "{source}");
    }
    // A far-left rectangle whose exact right edge lands on the canvas covers it.
    check(
        "RECT -2147483644 1 2147483647 2",
        expect![[r#"
            halted after 1 cycles
            ........................
            ###.....................
            ###.....................
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

// "Same program, same canvas size, same budget: same pixels and same cycle count, on every
// backend, every time."

#[test]
fn runs_are_deterministic() {
    let source = "SET i 0\ntop: RAND x 24\nRAND y 12\nRAND c 0\nCOLOR c 128 200\nPSET x y\nLOOP i 200 top";
    let texture = compile_ok(source);
    let first = run(&texture, &small()).expect("valid size");
    for _ in 0..3 {
        let again = run(&texture, &small()).expect("valid size");
        assert_eq!(again.cycles, first.cycles);
        assert_eq!(again.status, first.status);
        assert_eq!(again.canvas.to_rgba8(), first.canvas.to_rgba8());
    }
    // Compiling again gives the same texture, so the same run.
    assert_eq!(compile_ok(source), texture);
    for (name, source) in crate::util::EXAMPLES {
        let texture = compile_ok(source);
        let config = Config { budget: 50_000, ..Config::default() };
        let a = run(&texture, &config).expect("valid size");
        let b = run(&texture, &config).expect("valid size");
        crate::util::assert_same_run(&a, &b, true, name);
    }
}

// ## Instructions
//
// TXT: "draw the rest of the line (after one separating space; inner spaces kept) with the 5×7
// font in the drawing colour; glyph n's cell starts at (x + 6n, y); cell is 5 wide, 7 high;
// glyph bits only, no background; printable ASCII 33–126 each have a distinct, non-empty glyph;
// space has none"

#[test]
fn txt_cells_start_every_six_pixels() {
    check(
        "TXT 1 2 HI!",
        expect![[r#"
            halted after 1 cycles
            ........................
            ........................
            .#...#..###....#........
            .#...#...#.....#........
            .#...#...#.....#........
            .#####...#.....#........
            .#...#...#..............
            .#...#...#..............
            .#...#..###....#........
            ........................
            ........................
            ........................
        "#]],
    );
    for (x, y, text) in [(0, 0, "HELLO GPU"), (-3, -2, "AbC"), (5, 6, "x y  z"), (-7, 0, "~}|{")] {
        let result = run_small(&format!("TXT {x} {y} {text}"));
        let mut expected = canvas(crate::util::W, crate::util::H);
        draw_text_by_hand(&mut expected, x, y, text.as_bytes(), Rgba::WHITE);
        assert!(result.canvas == expected, "TXT {x} {y} {text}\n{}", art(&result.canvas));
    }
}

#[test]
fn txt_text_follows_one_separating_space_and_keeps_inner_spaces() {
    // Two spaces after y: the first separates, the second is text (an empty first cell).
    check_sized(
        32,
        8,
        "TXT 0 0  A  B",
        expect![[r#"
            halted after 1 cycles
            .......###..............####....
            ......#...#.............#...#...
            ......#...#.............#...#...
            ......#...#.............####....
            ......#####.............#...#...
            ......#...#.............#...#...
            ......#...#.............####....
            ................................
        "#]],
    );
    // A tab separates too, and text spacing survives many spaces.
    let tab = run_small("TXT 0 0\tA   B");
    let spaces = run_small("TXT 0 0 A   B");
    assert!(tab.canvas == spaces.canvas);
    let wide = run_with("TXT 0 0 A   B", &Config { width: 40, height: 8, ..small() });
    let mut expected = canvas(40, 8);
    draw_text_by_hand(&mut expected, 0, 0, b"A", Rgba::WHITE);
    draw_text_by_hand(&mut expected, 24, 0, b"B", Rgba::WHITE);
    assert!(wide.canvas == expected, "{}", art(&wide.canvas));
}

#[test]
fn txt_uses_the_drawing_colour_and_draws_no_background() {
    check(
        "COLOR 0 0 255\nRECT 0 0 12 8\nCOLOR 255 0 0\nTXT 0 0 A ",
        expect![[r#"
            halted after 4 cycles
            BRRRBBBBBBBB............
            RBBBRBBBBBBB............
            RBBBRBBBBBBB............
            RBBBRBBBBBBB............
            RRRRRBBBBBBB............
            RBBBRBBBBBBB............
            RBBBRBBBBBBB............
            BBBBBBBBBBBB............
            ........................
            ........................
            ........................
            ........................
        "#]],
    );
}

#[test]
fn txt_spaces_draw_nothing() {
    for source in ["TXT 0 0 ", "TXT 0 0      ", "TXT 0 0", "TXT 3 3 \t"] {
        let Ok(texture) = compile(source) else {
            // A tab is not printable ASCII: a source error, also fine for "draws nothing".
            assert_eq!(source, "TXT 3 3 \t");
            continue;
        };
        let result = run(&texture, &small()).expect("valid size");
        assert!(result.canvas == canvas(crate::util::W, crate::util::H), "{source:?}");
        assert_eq!(result.cycles, 1);
    }
}

#[test]
fn every_printable_glyph_is_distinct_non_empty_and_inside_its_cell() {
    let mut seen = std::collections::HashMap::new();
    for byte in 33u8..=126 {
        let text = char::from(byte).to_string();
        // Drawn at (1, 1) on a 7x9 canvas: the cell is x 1..6, y 1..8; a one-pixel frame
        // around it must stay black.
        let result = run_with(&format!("TXT 1 1 {text}"), &Config { width: 7, height: 9, ..small() });
        let art = art(&result.canvas);
        let lines: Vec<&str> = art.lines().collect();
        assert_eq!(lines[0], ".......", "{text}");
        assert_eq!(lines[8], ".......", "{text}");
        assert!(lines.iter().all(|l| l.starts_with('.') && l.ends_with('.')), "{text}\n{art}");
        assert!(art.contains('#'), "glyph {text} is empty");
        if let Some(other) = seen.insert(art.clone(), byte) {
            panic!("{text} and {} look the same", char::from(other));
        }
    }
    assert_eq!(seen.len(), 94);
    // Space has none.
    let result = run_with("TXT 1 1  ", &Config { width: 7, height: 9, ..small() });
    assert!(!art(&result.canvas).contains('#'));
}

#[test]
fn txt_is_the_font_in_a_5_by_7_cell() {
    // The tallest and widest glyphs touch every edge of the 5x7 cell and nothing beyond.
    check_cell("TXT 0 0 #", 5, 7);
    check_cell("TXT 0 0 ##", 11, 7);
}

fn check_cell(source: &str, width: i32, height: i32) {
    let result = run_small(source);
    let lit: Vec<(i32, i32)> = (0..12)
        .flat_map(|y| (0..24).map(move |x| (x, y)))
        .filter(|&(x, y)| result.canvas.get(x, y) != Some(Rgba::BLACK))
        .collect();
    let max_x = lit.iter().map(|p| p.0).max();
    let max_y = lit.iter().map(|p| p.1).max();
    assert_eq!((max_x, max_y), (Some(width - 1), Some(height - 1)), "{source}");
}

// RECT: "fill the rectangle x ≤ px < x+w, y ≤ py < y+h, clipped to the canvas; w ≤ 0 or h ≤ 0
// draws nothing"

#[test]
fn rect_fills_half_open_rectangles() {
    check(
        "RECT 1 1 3 2\nCOLOR 255 0 0\nRECT 5 0 1 1\nCOLOR 0 255 0\nRECT 20 8 10 10\nCOLOR 0 0 255\nRECT -2 -2 3 3\nRECT -5 10 7 99",
        expect![[r#"
            halted after 8 cycles
            B....R..................
            .###....................
            .###....................
            ........................
            ........................
            ........................
            ........................
            ........................
            ....................GGGG
            ....................GGGG
            BB..................GGGG
            BB..................GGGG
        "#]],
    );
}

#[test]
fn rect_with_empty_size_draws_nothing() {
    for source in ["RECT 1 1 0 5", "RECT 1 1 5 0", "RECT 1 1 -3 5", "RECT 5 5 5 -1", "RECT 0 0 -2147483648 -2147483648"]
    {
        let result = run_small(source);
        assert!(result.canvas == canvas(crate::util::W, crate::util::H), "{source}");
        assert_eq!(outcome(&result), "halted after 1 cycles");
    }
}

#[test]
fn rect_covers_the_whole_canvas_when_larger() {
    let result = run_small("RECT -100 -100 1000 1000");
    assert!(result.canvas.pixels().iter().all(|&p| Rgba::from_u32(p) == Rgba::WHITE));
}

// PSET: "set one pixel (clipped)"

#[test]
fn pset_is_clipped() {
    check(
        "PSET -1 0\nPSET 0 -1\nPSET 24 0\nPSET 0 12\nPSET 23 11\nPSET 0 0\nPSET -2147483648 -2147483648",
        expect![[r#"
            halted after 7 cycles
            #.......................
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
            .......................#
        "#]],
    );
}

// COLOR: "set the drawing colour; each component clamped to 0..255; alpha 255"

#[test]
fn color_components_are_clamped() {
    let cases = [
        ("COLOR 300 -5 128", Rgba::new(255, 0, 128, 255)),
        ("COLOR 256 255 -1", Rgba::new(255, 255, 0, 255)),
        ("COLOR -2147483648 2147483647 0", Rgba::new(0, 255, 0, 255)),
        ("COLOR 1 2 3", Rgba::new(1, 2, 3, 255)),
        ("SET v 1000\nCOLOR v v v", Rgba::WHITE),
    ];
    for (source, expected) in cases {
        let vm_color = {
            let mut vm = Vm::new(&compile_ok(source), &small()).expect("valid size");
            vm.run();
            vm.color()
        };
        assert_eq!(vm_color, expected, "{source}");
        // Alpha 255: the colour replaces what was there.
        let result = run_small(&format!("CLS 9 9 9\n{source}\nPSET 0 0"));
        assert_eq!(result.canvas.get(0, 0), Some(expected), "{source}");
    }
}

// HALT: "stop"

#[test]
fn halt_stops() {
    check(
        "PSET 0 0\nHALT\nPSET 1 0",
        expect![[r#"
            halted after 2 cycles
            #.......................
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

// SET: "v ← a"; ADD SUB MUL DIV MOD AND OR XOR SHL SHR: "v ← a op b. DIV/MOD truncate toward
// zero; a zero divisor is a run-time error. SHL/SHR use b & 31; SHR is arithmetic"

#[test]
fn set_copies_values_and_variables() {
    assert_eq!(values("SET a -7\nSET b a\nSET a 3\nSET a a"), "a=3 b=-7 | halted after 4 cycles");
}

#[test]
fn add_sub_mul() {
    assert_eq!(
        values("ADD a 2 3\nADD b -2 -3\nSUB c 2 5\nSUB d -2 -5\nMUL e -4 5\nMUL f -4 -5\nADD a a a"),
        "a=10 b=-5 c=-3 d=3 e=-20 f=20 | halted after 7 cycles"
    );
}

#[test]
fn bitwise_operations() {
    assert_eq!(
        values("AND a -1 0xF0\nAND b 12 10\nOR c 0xF0 0x0F\nOR d 12 10\nXOR e -1 5\nXOR f 12 10\nAND g -8 -3"),
        "a=240 b=8 c=255 d=14 e=-6 f=6 g=-8 | halted after 7 cycles"
    );
}

#[test]
fn shifts_use_the_low_five_bits_and_shr_is_arithmetic() {
    let cases = [
        ("SHL v 1 31", i32::MIN),
        ("SHL v 1 32", 1),
        ("SHL v 1 33", 2),
        ("SHL v 1 -1", i32::MIN),
        ("SHL v 3 4", 48),
        ("SHL v -1 4", -16),
        ("SHL v 0x40000000 1", i32::MIN),
        ("SHL v 0x40000000 2", 0),
        ("SHR v -8 1", -4),
        ("SHR v -1 31", -1),
        ("SHR v -2147483648 31", -1),
        ("SHR v 2147483647 30", 1),
        ("SHR v 8 35", 1),
        ("SHR v 8 32", 8),
        ("SHR v -7 1", -4),
        ("SHR v 100 -31", 50),
    ];
    for (source, expected) in cases {
        assert_eq!(value(source, "v"), expected, "{source}");
    }
}

#[test]
fn div_and_mod_truncate_toward_zero() {
    let cases = [
        (7, 2, 3, 1),
        (-7, 2, -3, -1),
        (7, -2, -3, 1),
        (-7, -2, 3, -1),
        (6, 3, 2, 0),
        (-6, 3, -2, 0),
        (1, 7, 0, 1),
        (-1, 7, 0, -1),
        (0, -5, 0, 0),
        (i32::MAX, -1, -i32::MAX, 0),
        (i32::MIN, 2, -(1 << 30), 0),
        (i32::MIN, 7, -306783378, -2),
        (i32::MIN, i32::MAX, -1, -1),
    ];
    for (a, b, quotient, remainder) in cases {
        // The expectations agree with Rust's own truncating division.
        assert_eq!((a / b, a % b), (quotient, remainder), "{a} {b}");
        assert_eq!(
            values(&format!("DIV q {a} {b}\nMOD r {a} {b}")),
            format!("q={quotient} r={remainder} | halted after 2 cycles")
        );
    }
}

#[test]
fn min_divided_by_minus_one_wraps() {
    assert_eq!(values("DIV q -2147483648 -1\nMOD r -2147483648 -1"), "q=-2147483648 r=0 | halted after 2 cycles");
}

#[test]
fn zero_divisor_traps() {
    assert_eq!(values("SET q 5\n\nDIV q 1 0\nSET q 6"), "q=5 | division_by_zero at line 3 (record 1) after 2 cycles");
    assert_eq!(values("SET r 5\nMOD r 1 z\nSET r 6"), "r=5 z=0 | division_by_zero at line 2 (record 1) after 2 cycles");
    assert_eq!(values("DIV q 0 0"), "q=0 | division_by_zero at line 1 (record 0) after 1 cycles");
    let result = run_small("DIV q 0 0");
    let Status::Trapped(trap) = result.status else { panic!("{:?}", result.status) };
    assert_eq!(trap.kind, TrapKind::DivisionByZero);
}

// JMP: "jump"

#[test]
fn jmp_jumps_forward_and_back() {
    assert_eq!(values("JMP b\na: SET x 1\nJMP c\nb: SET y 2\nJMP a\nc:"), "x=1 y=2 | halted after 5 cycles");
}

// IF: "jump to label when the comparison holds; op is one of `==` `!=` `<` `<=` `>` `>=`"

#[test]
fn if_all_six_comparisons() {
    let mut table = String::new();
    for op in ["==", "!=", "<", "<=", ">", ">="] {
        let mut row = format!("{op:>2}:");
        for (a, b) in [(1, 1), (1, 2), (2, 1), (-1, 1), (-2147483648, 2147483647), (0xFFFF, -1)] {
            let source = format!("SET a {a}\nIF a {op} {b} yes\nSET r 0\nHALT\nyes: SET r 1");
            row.push_str(&format!(" {}", value(&source, "r")));
        }
        table.push_str(&row);
        table.push('\n');
    }
    // Columns: 1?1, 1?2, 2?1, -1?1, MIN?MAX, 65535?-1 (signed comparisons).
    expect![[r#"
        ==: 1 0 0 0 0 0
        !=: 0 1 1 1 1 1
         <: 0 1 0 1 1 0
        <=: 1 1 0 1 1 0
         >: 0 0 1 0 0 1
        >=: 1 0 1 0 0 1
    "#]]
    .assert_eq(&table);
}

#[test]
fn if_compares_variables_and_literals_in_both_places() {
    assert_eq!(value("SET a 3\nSET b 4\nIF a < b y\nSET r 0\nHALT\ny: SET r 1", "r"), 1);
    assert_eq!(value("SET b 4\nIF 5 < b y\nSET r 0\nHALT\ny: SET r 1", "r"), 0);
    assert_eq!(value("IF 5 > 4 y\nSET r 0\nHALT\ny: SET r 1", "r"), 1);
    // Not taken: falls through at one cycle.
    assert_eq!(values("IF 1 == 2 end\nSET r 7\nend:"), "r=7 | halted after 2 cycles");
}

// CALL/RET: "call and return; 256 nested calls are allowed, the 257th is a run-time error
// (stack overflow), as is RET with no call (stack underflow)"

#[test]
fn call_returns_to_the_next_instruction() {
    assert_eq!(values("CALL f\nSET a 1\nCALL f\nHALT\nf: ADD n n 1\nRET"), "a=1 n=2 | halted after 8 cycles");
}

fn recursion(limit: u32) -> String {
    format!("CALL f\nHALT\nf:\nADD d d 1\nIF d >= {limit} done\nCALL f\ndone:\nRET")
}

#[test]
fn two_hundred_fifty_six_nested_calls_are_allowed() {
    assert_eq!(CALL_DEPTH, 256);
    // Depth 256: the first CALL, then 255 recursive ones.
    assert_eq!(values(&recursion(256)), "d=256 | halted after 1025 cycles");
}

#[test]
fn the_257th_nested_call_overflows() {
    assert_eq!(values(&recursion(257)), "d=256 | stack_overflow at line 6 (record 4) after 769 cycles");
    let result = run_small(&recursion(257));
    let Status::Trapped(trap) = result.status else { panic!("{:?}", result.status) };
    assert_eq!(trap.kind, TrapKind::StackOverflow);
}

#[test]
fn ret_without_call_underflows() {
    assert_eq!(values("SET a 1\n\nRET"), "a=1 | stack_underflow at line 3 (record 1) after 2 cycles");
    assert_eq!(values("CALL f\nRET\nf: RET"), "| stack_underflow at line 2 (record 1) after 3 cycles");
    let Status::Trapped(trap) = run_small("RET").status else { panic!() };
    assert_eq!(trap.kind, TrapKind::StackUnderflow);
}

#[test]
fn the_stack_is_reusable_after_returns() {
    // 1000 calls in a row never nest more than one deep.
    assert_eq!(values("top: CALL f\nLOOP i 1000 top\nHALT\nf: RET"), "i=1000 | halted after 3001 cycles");
}

// ## Results
//
// "A run reports: success (bool), cycles, ..., the canvas as RGBA8, and on failure an error with
// its kind (...) and the 1-based source line of the instruction where it happened (the line in
// the file, counting comments and blank lines). A failed run still returns the canvas as drawn
// up to the failure"

#[test]
fn error_kinds_have_stable_names() {
    let kinds = [
        (TrapKind::DivisionByZero, "division_by_zero"),
        (TrapKind::StackOverflow, "stack_overflow"),
        (TrapKind::StackUnderflow, "stack_underflow"),
        (TrapKind::BudgetExhausted, "budget_exhausted"),
        (TrapKind::InvalidInstruction(gvpie_pxl::RecordError::UnknownOpcode(0)), "invalid_instruction"),
        (TrapKind::AddressOutOfRange(-1), "address_out_of_range"),
    ];
    for (kind, name) in kinds {
        assert_eq!(kind.name(), name);
    }
}

#[test]
fn canvas_comes_back_as_rgba8() {
    let result = run_with("COLOR 1 2 3\nPSET 1 0", &Config { width: 2, height: 1, ..small() });
    assert_eq!(result.canvas.to_rgba8(), [0, 0, 0, 255, 1, 2, 3, 255]);
}

#[test]
fn failed_run_keeps_the_canvas_drawn_so_far() {
    check(
        "RECT 0 0 3 3\nCOLOR 255 0 0\nPSET 5 5\nDIV a 1 0\nRECT 10 0 5 5",
        expect![[r#"
            division_by_zero at line 4 (record 3) after 4 cycles
            ###.....................
            ###.....................
            ###.....................
            ........................
            ........................
            .....R..................
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
fn line_numbers_count_comments_blank_lines_and_labels() {
    let source = "# header comment\n\n; another\nSET a 1\n\nlabel:\n   \n# more\nDIV b a 0\n";
    assert_eq!(values(source), "a=1 b=0 | division_by_zero at line 9 (record 1) after 2 cycles");
    // Windows line endings count the same.
    assert_eq!(values(&source.replace('\n', "\r\n")), "a=1 b=0 | division_by_zero at line 9 (record 1) after 2 cycles");
    // A label before the instruction on the same line: that line.
    assert_eq!(values("\n\nx: RET"), "| stack_underflow at line 3 (record 0) after 1 cycles");
    // A TXT whose text holds '#' does not hide the next line.
    assert_eq!(values("TXT 0 0 # ;\nRET"), "| stack_underflow at line 2 (record 1) after 2 cycles");
}

// ## Example
//
// "TXT 10 10 HELLO GPU / HALT runs in 2 cycles."

#[test]
fn the_example_runs_in_two_cycles() {
    let result = run(&compile_ok("TXT 10 10 HELLO GPU\nHALT"), &Config::default()).expect("valid size");
    assert_eq!(outcome(&result), "halted after 2 cycles");
    let mut expected = canvas(128, 64);
    draw_text_by_hand(&mut expected, 10, 10, b"HELLO GPU", Rgba::WHITE);
    assert!(result.canvas == expected);
    // The same as examples/hello_gpu.pxl.
    let shipped = crate::util::EXAMPLES.iter().find(|(name, _)| *name == "hello_gpu").map(|e| e.1);
    let shipped = run(&compile_ok(shipped.unwrap_or_default()), &Config::default()).expect("valid size");
    assert!(shipped.canvas == expected);
}
