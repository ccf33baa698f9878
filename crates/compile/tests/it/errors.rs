//! Errors: each names the word, its place in the sentence and the closest known words.

use gvpie_compile::{CompileError, MAX_DESCRIPTION_CHARS, Options, compile, compile_partial};

#[track_caller]
fn check(description: &str, expected: &str) {
    match compile(description, &Options::default()) {
        Ok(compiled) => panic!("{description:?} compiled:\n{}", compiled.source),
        Err(error) => assert_eq!(error.to_string(), expected, "{description:?}"),
    }
}

#[test]
fn unknown_words_are_named_with_their_position_and_the_closest_words() {
    check("draw a circel", "unknown word 'circel' at 3 (did you mean circle?)");
    check("a red sqare", "unknown word 'sqare' at 3 (did you mean square?)");
    check("a blue tringle in the middle", "unknown word 'tringle' at 3 (did you mean triangle?)");
    check("a yelow star", "unknown word 'yelow' at 2 (did you mean yellow or below?)");
    check("a circle. a big sqare", "unknown word 'sqare' at 3 in sentence 2 (did you mean square?)");
    check("a purple elephant", "unknown word 'elephant' at 3");
    check("a circle in the centr", "unknown word 'centr' at 5 (did you mean center or centre?)");
}

#[test]
fn empty_and_unusable_descriptions_say_so() {
    check("", "empty description: say what to draw, e.g. \"a red circle in the center\"");
    check("   ...  !", "empty description: say what to draw, e.g. \"a red circle in the center\"");
    check("please", "nothing to draw: name a shape or thing, e.g. \"a red circle\", \"a house\", \"write HELLO\"");
    check("a circle above", "unexpected 'above' at 3: a relation needs an object after it, e.g. above a square");
    check("write", "unexpected 'write' at 1: say which text to write, e.g. write \"HELLO\"");
    check("a red", "unexpected 'red' at 2: it describes no object; add a noun such as circle, square or house");
    check("1000 circles", "1000 objects asked for; the limit is 400");
    check("write \"h\u{e9}llo\"", "text at 2 holds '\u{e9}'; the 5x7 font draws printable ASCII only");
}

#[test]
fn descriptions_are_bounded() {
    let long = "a red circle and ".repeat(200);
    assert_eq!(
        compile(&long, &Options::default()).expect_err("too long"),
        CompileError::TooLong { chars: long.chars().count() }
    );
    assert!(long.chars().count() > MAX_DESCRIPTION_CHARS);
    let canvas = compile("a circle", &Options { width: 0, height: 10 }).expect_err("no canvas");
    assert_eq!(canvas.to_string(), "canvas 0x10 is outside 1x1 to 4096x4096");
}

#[test]
fn the_partial_result_keeps_what_was_understood() {
    let (compiled, errors) = compile_partial("a red circle and a purple elephant", &Options::default());
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].location(), Some((1, 7)));
    let compiled = compiled.expect("the red circle is understood");
    assert!(compiled.source.contains("COLOR 255 0 0"), "{}", compiled.source);
}
