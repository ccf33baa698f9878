//! The canonical formatter: exact output on fixtures, formatting twice changes nothing, and the
//! formatted program runs exactly like the original.

use expect_test::{Expect, expect};
use gvpie_pxl::{Config, compile, format, render_all};

use crate::util::{CORPUS, EXAMPLES, assert_same_run, run_with};

#[track_caller]
fn check(source: &str, expect: Expect) {
    let formatted = format(source).unwrap_or_else(|d| panic!("{}", render_all(&d)));
    expect.assert_eq(&formatted);
    assert_eq!(format(&formatted).as_deref(), Ok(formatted.as_str()), "not idempotent");
    assert_behaves_the_same(source, &formatted);
}

#[track_caller]
fn assert_behaves_the_same(source: &str, formatted: &str) {
    let config = Config { width: 32, height: 16, budget: 20_000, max_frames: 4 };
    let a = run_with(source, &config);
    let b = run_with(formatted, &config);
    assert_same_run(&a, &b, false, &format!("--- source\n{source}\n--- formatted\n{formatted}"));
}

#[test]
fn canonical_form() {
    check(
        "\n\n   # A heading comment   \n\nstart:   set   x\t0x1f ; trailing comment\n\
         loop: Rect x 0X0A -0 007\n\n\n\n   add x   x 1\n\tif x <= y loop   # back\n\n\
         if x <= 40 loop\ntxt 1 2   spaced  text  \n TXT 0 0\nTxT 3 3 #not a comment;\nend:\n\n\n",
        expect![[r#"
            # A heading comment

            start:
            SET x 0x1f ; trailing comment
            loop:
            RECT x 0x0A -0 007

            ADD x x 1
            IF x <= y loop # back

            IF x <= 40 loop
            TXT 1 2   spaced  text  
            TXT 0 0
            TXT 3 3 #not a comment;
            end:
        "#]],
    );
}

#[test]
fn labels_go_on_their_own_line() {
    check(
        "a: HALT\nb:\nc:   ; comment after a label\nd:",
        expect![[r#"
            a:
            HALT
            b:
            c:
            ; comment after a label
            d:
        "#]],
    );
}

#[test]
fn every_instruction_in_canonical_form() {
    check(
        "halt\ntxt 1 2 x\nrect 1 2 3 4\npset 1 2\ncolor 1 2 3\ncolor 1 2 3 4\nset v 1\nadd v v 1\nsub v v 1\n\
         mul v v 1\ndiv v v 1\nmod v v 1\nand v v 1\nor v v 1\nxor v v 1\nshl v v 1\nshr v v 1\njmp l\n\
         if v != 1 l\ncall l\nret\nline 1 2 3 4\ncirc 1 2 3\ncircf 1 2 3\ntri 1 2 3 4 5 6\ncls\ncls 1 2 3\n\
         pget v 1 2\nrand v 10\nseed 5\nnum 1 2 v\nframe\npeek v 0\npoke 300 v\nloop v 3 l\nl:",
        expect![[r#"
            HALT
            TXT 1 2 x
            RECT 1 2 3 4
            PSET 1 2
            COLOR 1 2 3
            COLOR 1 2 3 4
            SET v 1
            ADD v v 1
            SUB v v 1
            MUL v v 1
            DIV v v 1
            MOD v v 1
            AND v v 1
            OR v v 1
            XOR v v 1
            SHL v v 1
            SHR v v 1
            JMP l
            IF v != 1 l
            CALL l
            RET
            LINE 1 2 3 4
            CIRC 1 2 3
            CIRCF 1 2 3
            TRI 1 2 3 4 5 6
            CLS
            CLS 1 2 3
            PGET v 1 2
            RAND v 10
            SEED 5
            NUM 1 2 v
            FRAME
            PEEK v 0
            POKE 300 v
            LOOP v 3 l
            l:
        "#]],
    );
}

#[test]
fn empty_and_comment_only_programs() {
    assert_eq!(format("").as_deref(), Ok(""));
    assert_eq!(format("\n\n  \n").as_deref(), Ok(""));
    assert_eq!(format("#a\n\n\n;b  \n\n").as_deref(), Ok("#a\n\n;b\n"));
    assert_eq!(format("HALT").as_deref(), Ok("HALT\n"));
    assert_eq!(format("HALT\r\nRET\r\n").as_deref(), Ok("HALT\nRET\n"));
}

#[test]
fn the_corpus_and_examples_are_stable_and_behave_the_same() {
    for (name, source) in CORPUS.iter().chain(EXAMPLES) {
        let once = format(source).unwrap_or_else(|d| panic!("{name}: {}", render_all(&d)));
        let twice = format(&once).unwrap_or_else(|d| panic!("{name}: {}", render_all(&d)));
        assert_eq!(once, twice, "{name}");
        assert_behaves_the_same(source, &once);
    }
}

#[test]
fn the_shipped_examples_are_already_formatted() {
    for (name, source) in EXAMPLES {
        assert_eq!(format(source).as_deref(), Ok(*source), "{name}");
    }
}

#[test]
fn invalid_source_gives_the_same_diagnostics_as_compiling() {
    let source = "RECTT 1\nJMP nowhere\nSET 5 5";
    let from_format = format(source).err().unwrap_or_default();
    let from_compile = compile(source).err().unwrap_or_default();
    assert_eq!(from_format.len(), 3);
    assert_eq!(from_format, from_compile);
}
