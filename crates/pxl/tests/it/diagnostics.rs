//! Source diagnostics: every message of the table in `docs/pxl.md`, exactly, with its caret
//! block; did-you-mean hints; the limits; and garbage input, which must never panic.

use expect_test::{Expect, expect};
use gvpie_pxl::{Diagnostic, MAX_SOURCE_BYTES, MAX_TEXT_BYTES, compile, format, parse, render_all};

/// Compiles `source` and compares every diagnostic, rendered, with `expect` ("ok" when none).
#[track_caller]
fn check(source: &str, expect: Expect) {
    let text = match compile(source) {
        Ok(_) => "ok".to_string(),
        Err(diagnostics) => render_all(&diagnostics),
    };
    expect.assert_eq(&format!("{text}\n"));
}

fn headlines(source: &str) -> Vec<String> {
    compile(source).err().unwrap_or_default().iter().map(Diagnostic::headline).collect()
}

// ## The messages of docs/pxl.md, one test each

#[test]
fn unknown_mnemonic_with_hint() {
    check(
        "RECTT 0 0 1 1",
        expect![[r#"
            1:1: unknown mnemonic 'RECTT' (did you mean RECT?)
                RECTT 0 0 1 1
                ^^^^^
        "#]],
    );
}

#[test]
fn operand_count() {
    check(
        "RECT 0 0 1",
        expect![[r#"
            1:1: RECT expects 4 operands (x y w h), found 3
                RECT 0 0 1
                ^^^^
        "#]],
    );
}

#[test]
fn operand_count_points_at_the_first_extra_operand() {
    check(
        "  PSET 1 2 3 4",
        expect![[r#"
            1:12: PSET expects 2 operands (x y), found 4
                  PSET 1 2 3 4
                           ^
        "#]],
    );
}

#[test]
fn operand_count_wordings() {
    assert_eq!(
        headlines("HALT 1\nJMP\nCOLOR 1 2\nCLS 1 2 3 4\nIF a == b\nTRI 1 2 3 4 5\nRET x\nFRAME 1"),
        [
            "1:6: HALT expects no operands, found 1",
            "2:1: JMP expects 1 operand (label), found 0",
            "3:1: COLOR expects 3 or 4 operands (r g b [a]), found 2",
            "4:11: CLS expects 0 to 3 operands ([r g b]), found 4",
            "5:1: IF expects 4 operands (a op b label), found 3",
            "6:1: TRI expects 6 operands (x0 y0 x1 y1 x2 y2), found 5",
            "7:5: RET expects no operands, found 1",
            "8:7: FRAME expects no operands, found 1",
        ]
    );
}

#[test]
fn txt_needs_x_and_y() {
    check(
        "TXT\nTXT 5\nTXT 5 5",
        expect![[r#"
            1:1: TXT expects operands x y text, found fewer than 2
                TXT
                ^^^
            2:1: TXT expects operands x y text, found fewer than 2
                TXT 5
                ^^^
        "#]],
    );
}

#[test]
fn decimal_literal_out_of_range() {
    check(
        "SET a 2147483648",
        expect![[r#"
            1:7: integer literal '2147483648' is out of range (-2147483648 to 2147483647)
                SET a 2147483648
                      ^^^^^^^^^^
        "#]],
    );
}

#[test]
fn hex_literal_out_of_range() {
    check(
        "SET a 0x100000000",
        expect![[r#"
            1:7: hex literal '0x100000000' is out of range (at most 0xFFFFFFFF)
                SET a 0x100000000
                      ^^^^^^^^^^^
        "#]],
    );
}

#[test]
fn bad_hex_literal() {
    check(
        "SET a 0xZZ\nSET a 0x\nSET a 0x-1",
        expect![[r#"
            1:7: bad hex literal '0xZZ'
                SET a 0xZZ
                      ^^^^
            2:7: bad hex literal '0x'
                SET a 0x
                      ^^
            3:7: bad hex literal '0x-1'
                SET a 0x-1
                      ^^^^
        "#]],
    );
}

#[test]
fn bad_operand() {
    check(
        "SET a 5x\nSET a +5\nSET a -\nSET a 1.5\nSET a --1",
        expect![[r#"
            1:7: bad operand '5x' (expected an integer literal or a variable name)
                SET a 5x
                      ^^
            2:7: bad operand '+5' (expected an integer literal or a variable name)
                SET a +5
                      ^^
            3:7: bad operand '-' (expected an integer literal or a variable name)
                SET a -
                      ^
            4:7: bad operand '1.5' (expected an integer literal or a variable name)
                SET a 1.5
                      ^^^
            5:7: bad operand '--1' (expected an integer literal or a variable name)
                SET a --1
                      ^^^
        "#]],
    );
}

#[test]
fn destination_not_a_variable() {
    check(
        "SET 5 1\nADD 0x1 1 2\nPGET -1 0 0",
        expect![[r#"
            1:5: expected a variable to write, found '5'
                SET 5 1
                    ^
            2:5: expected a variable to write, found '0x1'
                ADD 0x1 1 2
                    ^^^
            3:6: expected a variable to write, found '-1'
                PGET -1 0 0
                     ^^
        "#]],
    );
}

#[test]
fn label_operand() {
    check(
        "JMP 5\nCALL -x\nIF 1 == 2 3",
        expect![[r#"
            1:5: expected a label name, found '5'
                JMP 5
                    ^
            2:6: expected a label name, found '-x'
                CALL -x
                     ^^
            3:11: expected a label name, found '3'
                IF 1 == 2 3
                          ^
        "#]],
    );
}

#[test]
fn undefined_label_with_hint() {
    check(
        "loop:\nJMP lop",
        expect![[r#"
            2:5: undefined label 'lop' (did you mean loop?)
                JMP lop
                    ^^^
        "#]],
    );
}

#[test]
fn duplicate_label_names_the_first_definition() {
    check(
        "\n\nloop: HALT\nx:\n  loop:",
        expect![[r#"
            5:3: duplicate label 'loop' (first defined at 3:1)
                  loop:
                  ^^^^
        "#]],
    );
    // Every further duplicate names the first one, too.
    assert_eq!(
        headlines("a:\n  a:\na:"),
        ["2:3: duplicate label 'a' (first defined at 1:1)", "3:1: duplicate label 'a' (first defined at 1:1)"]
    );
}

#[test]
fn bad_label_name() {
    check(
        "1x:\n:\nmy-label: HALT",
        expect![[r#"
            1:1: invalid label name '1x' (labels are [A-Za-z_][A-Za-z0-9_]*)
                1x:
                ^^
            2:1: invalid label name ':' (labels are [A-Za-z_][A-Za-z0-9_]*)
                :
                ^
            3:1: invalid label name 'my-label' (labels are [A-Za-z_][A-Za-z0-9_]*)
                my-label: HALT
                ^^^^^^^^
        "#]],
    );
}

#[test]
fn unknown_comparison() {
    check(
        "top:\nIF a =< b top\nIF a = b top\nIF a <> b top",
        expect![[r#"
            2:6: unknown comparison '=<' (expected one of == != < <= > >=)
                IF a =< b top
                     ^^
            3:6: unknown comparison '=' (expected one of == != < <= > >=)
                IF a = b top
                     ^
            4:6: unknown comparison '<>' (expected one of == != < <= > >=)
                IF a <> b top
                     ^^
        "#]],
    );
}

#[test]
fn txt_text_must_be_printable_ascii() {
    check(
        "TXT 0 0 café",
        expect![[r#"
            1:12: TXT text may only hold printable ASCII; found '\u{e9}'
                TXT 0 0 café
                           ^
        "#]],
    );
    assert_eq!(
        headlines("TXT 0 0 a\tb\nTXT 0 0 \u{1}\nTXT 0 0 ok\u{7f}\nTXT 0 0 \u{1F600}"),
        [
            "1:10: TXT text may only hold printable ASCII; found '\\u{9}'",
            "2:9: TXT text may only hold printable ASCII; found '\\u{1}'",
            "3:11: TXT text may only hold printable ASCII; found '\\u{7f}'",
            "4:9: TXT text may only hold printable ASCII; found '\\u{1f600}'",
        ]
    );
}

#[test]
fn txt_text_length_limit() {
    assert_eq!(MAX_TEXT_BYTES, 4096);
    let at_limit = format!("TXT 0 0 {}", "A".repeat(4096));
    assert!(compile(&at_limit).is_ok());
    assert_eq!(headlines(&format!("TXT 0 0 {}", "A".repeat(5000))), ["1:9: TXT text is 5000 bytes; the limit is 4096"]);
    assert_eq!(
        headlines(&format!("\nTXT 0 0 {}", "A".repeat(4097))),
        ["2:9: TXT text is 4097 bytes; the limit is 4096"]
    );
}

// ## Hints

#[test]
fn mnemonic_hints_within_edit_distance() {
    assert_eq!(
        headlines("rectt 0 0 1 1\nCOLOUR 1 2 3\nPST 1 1\nCRC 1 1 1\nHLT\nRECTANGLE 1 1 1 1\nXX\nFOO 1\npsett 1 1"),
        [
            "1:1: unknown mnemonic 'rectt' (did you mean RECT?)",
            "2:1: unknown mnemonic 'COLOUR' (did you mean COLOR?)",
            "3:1: unknown mnemonic 'PST' (did you mean PSET?)",
            "4:1: unknown mnemonic 'CRC' (did you mean CIRC?)",
            "5:1: unknown mnemonic 'HLT' (did you mean HALT?)",
            "6:1: unknown mnemonic 'RECTANGLE'",
            "7:1: unknown mnemonic 'XX'",
            "8:1: unknown mnemonic 'FOO'",
            "9:1: unknown mnemonic 'psett' (did you mean PSET?)",
        ]
    );
}

#[test]
fn label_hints() {
    assert_eq!(
        headlines("draw_row:\nouter:\nJMP draw_rwo\nJMP Outer\nJMP outr\nJMP zzz\nCALL inner\nJMP ot"),
        [
            "3:5: undefined label 'draw_rwo' (did you mean draw_row?)",
            "4:5: undefined label 'Outer' (did you mean outer?)",
            "5:5: undefined label 'outr' (did you mean outer?)",
            "6:5: undefined label 'zzz'",
            "7:6: undefined label 'inner'",
            "8:5: undefined label 'ot'",
        ]
    );
}

// ## All at once, sorted

#[test]
fn diagnostics_are_sorted_by_position() {
    // The undefined label on line 1 is found last, after every line was read.
    check(
        "JMP end_\nSET 1 2\n\tPSET 0 0 0 ; comment\nfoo",
        expect![[r#"
            1:5: undefined label 'end_'
                JMP end_
                    ^^^^
            2:5: expected a variable to write, found '1'
                SET 1 2
                    ^
            3:11: PSET expects 2 operands (x y), found 3
                 PSET 0 0 0 ; comment
                          ^
            4:1: unknown mnemonic 'foo'
                foo
                ^^^
        "#]],
    );
}

// ## Rendering

#[test]
fn columns_count_characters_and_tabs_render_as_one_space() {
    check(
        "TXT 0 0 ok\n\t\tSET é 1",
        expect![[r#"
            2:7: expected a variable to write, found 'é'
                  SET é 1
                      ^
        "#]],
    );
}

#[test]
fn headline_display_and_render_agree() {
    let diagnostics = compile("\nFOO 1 2").err().unwrap_or_default();
    assert_eq!(diagnostics.len(), 1);
    let d = &diagnostics[0];
    assert_eq!((d.line, d.column, d.width), (2, 1, 3));
    assert_eq!(d.headline(), "2:1: unknown mnemonic 'FOO'");
    assert_eq!(d.to_string(), d.headline());
    assert_eq!(d.render(), "2:1: unknown mnemonic 'FOO'\n    FOO 1 2\n    ^^^");
    assert!(render_all(&[]).is_empty());
}

#[test]
fn crlf_line_endings_do_not_show_in_diagnostics() {
    check(
        "HALT\r\nFOO\r\n",
        expect![[r#"
            2:1: unknown mnemonic 'FOO'
                FOO
                ^^^
        "#]],
    );
}

// ## Limits

#[test]
fn too_many_errors_are_capped_with_a_final_note() {
    let source: String = (0..250).map(|i| format!("ZZZZ{i}\n")).collect();
    let diagnostics = compile(&source).err().unwrap_or_default();
    assert_eq!(diagnostics.len(), 201);
    for (index, d) in diagnostics[..200].iter().enumerate() {
        assert_eq!(d.headline(), format!("{}:1: unknown mnemonic 'ZZZZ{index}'", index + 1));
    }
    let last = &diagnostics[200];
    assert_eq!(last.headline(), "200:1: too many errors; stopped after 200");
    assert_eq!(last.render(), last.headline());
}

#[test]
fn exactly_two_hundred_errors_have_no_note() {
    let source: String = (0..200).map(|i| format!("SET {i} 0\n")).collect();
    let diagnostics = compile(&source).err().unwrap_or_default();
    assert_eq!(diagnostics.len(), 200);
    assert!(diagnostics.iter().all(|d| d.message.starts_with("expected a variable")));
}

#[test]
fn many_undefined_labels_stay_fast_and_capped() {
    // 200,000 jumps to undefined labels: one scan of the source, not one per use.
    let source = "JMP nowhere\n".repeat(200_000);
    let diagnostics = compile(&source).err().unwrap_or_default();
    assert_eq!(diagnostics.len(), 201);
    assert_eq!(diagnostics[0].render(), "1:5: undefined label 'nowhere'\n    JMP nowhere\n        ^^^^^^^");
    assert_eq!(diagnostics[199].headline(), "200:5: undefined label 'nowhere'");
    assert_eq!(diagnostics[200].headline(), "200:1: too many errors; stopped after 200");
    // How long it takes is a benchmark's business (the quadratic version took minutes), not a test's.
}

#[test]
fn source_size_limit() {
    assert_eq!(MAX_SOURCE_BYTES, 16 << 20);
    let source = "#".repeat(MAX_SOURCE_BYTES + 1);
    assert_eq!(headlines(&source), ["1:1: program is 16777217 bytes; the limit is 16777216 bytes"]);
    let source = "#".repeat(MAX_SOURCE_BYTES);
    assert!(compile(&source).is_ok());
}

#[test]
fn variable_limit() {
    let mut source: String = (0..65_536).map(|i| format!("SET v{i} 0\n")).collect();
    assert!(compile(&source).is_ok());
    source.push_str("SET one_too_many 0\nSET v7 1\n");
    assert_eq!(headlines(&source), ["65537:5: too many variables (the limit is 65536)"]);
}

#[test]
fn instruction_limit() {
    // 1,048,576 instructions are fine; one more is an error. Slow in debug builds (a few
    // seconds), so only with GVPIE_SLOW_TESTS set.
    if std::env::var_os("GVPIE_SLOW_TESTS").is_none() {
        return;
    }
    let mut source = "HALT\n".repeat(1 << 20);
    assert!(compile(&source).is_ok());
    source.push_str("RET\n");
    assert_eq!(headlines(&source), ["1048577:1: too many instructions (the limit is 1048576)"]);
}

// ## Garbage in, diagnostics out

#[test]
fn separators_that_are_not_ascii_do_not_panic() {
    // Unicode whitespace after TXT's y once sliced the text in the middle of a character.
    for source in [
        "TXT 1 1\u{a0}x",
        "TXT 1 1\u{3000}x",
        "TXT 1 1\u{2028}",
        "TXT\u{85}1 1 x",
        "TXT 1\u{2003}1\u{2003}x",
        "SET\u{a0}a\u{a0}1",
        "x:\u{3000}HALT",
    ] {
        let (_, diagnostics) = parse(source);
        let _ = format(source);
        let _ = render_all(&diagnostics);
    }
    // Any Unicode whitespace separates (docs/pxl.md says spaces or tabs; the parser is lenient),
    // so the text after a no-break space is "x".
    let nbsp = crate::util::run_small("TXT 1 1\u{a0}x");
    let plain = crate::util::run_small("TXT 1 1 x");
    assert!(nbsp.canvas == plain.canvas);
    assert_eq!(format("TXT 1 1\u{3000}x").as_deref(), Ok("TXT 1 1 x\n"));
}

#[test]
fn garbage_never_panics() {
    let mut state = 0x1234_5678_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet: Vec<char> = "SETRCXPAHLOIFJMN0123456789 -:#;\t\n\r=<>!xyé\u{a0}\u{3000}\0".chars().collect();
    for _ in 0..2000 {
        let len = (next() % 80) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let lossy = String::from_utf8_lossy(&bytes).into_owned();
        let pxlish: String = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
        for source in [lossy, pxlish] {
            let (_, diagnostics) = parse(&source);
            let _ = render_all(&diagnostics);
            assert!(diagnostics.windows(2).all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column)), "{source:?}");
            assert!(diagnostics.iter().all(|d| d.line >= 1 && d.column >= 1 && d.width >= 1), "{source:?}");
            if let Ok(texture) = compile(&source) {
                let config = gvpie_pxl::Config { width: 8, height: 8, budget: 100, max_frames: 2 };
                let _ = gvpie_pxl::run(&texture, &config);
            }
            let _ = format(&source);
        }
    }
}
