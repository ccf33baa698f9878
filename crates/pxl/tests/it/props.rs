//! Property tests (proptest).
//!
//! - The formatter is idempotent and keeps a program's meaning.
//! - Text → texture → disassembly → texture keeps a program's meaning, with and without names.
//! - The VM and the disassembler never panic on any machine texture that passes the header
//!   check: random records with a valid header, and random bit flips of compiled programs.
//! - The parser, compiler and formatter never panic on any string.
//!
//! "Meaning" is the code: the same records word for word, apart from the source line of each
//! (formatting and disassembly move instructions to other lines), the same data and names; and,
//! run with the original lines, the same pixels, frames, cycles and ending.

use std::collections::HashSet;

use gvpie_pxl::{Config, DisasmOptions, RECORD_WORDS, Texture, compile, disassemble, format, parse, render_all, run};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

use crate::util::{assert_same_run, compile_ok};

fn config() -> Config {
    Config { width: 16, height: 8, budget: 300, max_frames: 3 }
}

const LABELS: [&str; 4] = ["L0", "top", "_x", "End"];
const VARIABLES: [&str; 4] = ["a", "b", "Count", "_t"];

/// A value operand: a literal in some spelling, or a variable.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        (-3i32..30).prop_map(|v| v.to_string()),
        any::<i32>().prop_map(|v| v.to_string()),
        (0u32..64).prop_map(|v| format!("0x{v:X}")),
        (0u32..64).prop_map(|v| format!("0X{v:x}")),
        Just("0xFFFFFFFF".to_string()),
        proptest::sample::select(&VARIABLES[..]).prop_map(str::to_string),
    ]
}

fn dest() -> impl Strategy<Value = String> {
    proptest::sample::select(&VARIABLES[..]).prop_map(str::to_string)
}

fn label() -> impl Strategy<Value = String> {
    proptest::sample::select(&LABELS[..]).prop_map(str::to_string)
}

/// Text for TXT: printable ASCII, `#` and `;` included, spaces anywhere.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(32u8..=126, 0..12).prop_map(|b| String::from_utf8(b).unwrap_or_default())
}

/// One instruction as a list of words (the mnemonic first).
fn instruction() -> impl Strategy<Value = Vec<String>> {
    let v = value;
    let words = |m: &str, rest: Vec<String>| std::iter::once(m.to_string()).chain(rest).collect::<Vec<_>>();
    prop_oneof![
        Just(vec!["HALT".to_string()]),
        (v(), v(), text()).prop_map(move |(x, y, t)| vec!["TXT".into(), x, y, t]),
        (v(), v(), v(), v()).prop_map(move |(a, b, c, d)| words("RECT", vec![a, b, c, d])),
        (v(), v()).prop_map(move |(a, b)| words("PSET", vec![a, b])),
        (v(), v(), v()).prop_map(move |(a, b, c)| words("COLOR", vec![a, b, c])),
        (v(), v(), v(), v()).prop_map(move |(a, b, c, d)| words("COLOR", vec![a, b, c, d])),
        (dest(), v()).prop_map(move |(a, b)| words("SET", vec![a, b])),
        (
            proptest::sample::select(&["ADD", "SUB", "MUL", "DIV", "MOD", "AND", "OR", "XOR", "SHL", "SHR"][..]),
            dest(),
            v(),
            v()
        )
            .prop_map(move |(m, a, b, c)| words(m, vec![a, b, c])),
        label().prop_map(move |l| words("JMP", vec![l])),
        (v(), proptest::sample::select(&["==", "!=", "<", "<=", ">", ">="][..]), v(), label())
            .prop_map(move |(a, op, b, l)| words("IF", vec![a, op.to_string(), b, l])),
        label().prop_map(move |l| words("CALL", vec![l])),
        Just(vec!["RET".to_string()]),
        (v(), v(), v(), v()).prop_map(move |(a, b, c, d)| words("LINE", vec![a, b, c, d])),
        (proptest::sample::select(&["CIRC", "CIRCF"][..]), v(), v(), v())
            .prop_map(move |(m, a, b, c)| words(m, vec![a, b, c])),
        proptest::collection::vec(v(), 6).prop_map(move |c| words("TRI", c)),
        Just(vec!["CLS".to_string()]),
        (v(), v(), v()).prop_map(move |(a, b, c)| words("CLS", vec![a, b, c])),
        (dest(), v(), v()).prop_map(move |(a, b, c)| words("PGET", vec![a, b, c])),
        (dest(), v()).prop_map(move |(a, b)| words("RAND", vec![a, b])),
        v().prop_map(move |a| words("SEED", vec![a])),
        (v(), v(), v()).prop_map(move |(a, b, c)| words("NUM", vec![a, b, c])),
        Just(vec!["FRAME".to_string()]),
        (dest(), (0u32..60).prop_map(|a| a.to_string())).prop_map(move |(a, b)| words("PEEK", vec![a, b])),
        ((0u32..60).prop_map(|a| a.to_string()), v()).prop_map(move |(a, b)| words("POKE", vec![a, b])),
        (dest(), v(), label()).prop_map(move |(a, b, l)| words("LOOP", vec![a, b, l])),
    ]
}

/// How a line is written: mnemonic case, separators, indentation, comment.
#[derive(Debug, Clone)]
struct Style {
    case: u8,
    separator: &'static str,
    indent: &'static str,
    comment: Option<String>,
}

fn style() -> impl Strategy<Value = Style> {
    (
        0u8..3,
        proptest::sample::select(&[" ", "  ", "\t", " \t "][..]),
        proptest::sample::select(&["", " ", "\t", "    "][..]),
        proptest::option::of("[#;][ a-zA-Z0-9#;:]{0,10}"),
    )
        .prop_map(|(case, separator, indent, comment)| Style { case, separator, indent, comment })
}

#[derive(Debug, Clone)]
enum Line {
    Instruction(Vec<String>, Style),
    Label(String, Option<(Vec<String>, Style)>),
    Comment(String),
    Blank,
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        6 => (instruction(), style()).prop_map(|(i, s)| Line::Instruction(i, s)),
        1 => (label(), proptest::option::of((instruction(), style()))).prop_map(|(l, i)| Line::Label(l, i)),
        1 => "[#;][ -~]{0,12}".prop_map(Line::Comment),
        1 => Just(Line::Blank),
    ]
}

fn write_instruction(words: &[String], style: &Style) -> String {
    let mnemonic = match style.case {
        0 => words[0].to_uppercase(),
        1 => words[0].to_lowercase(),
        _ => words[0].chars().enumerate().map(|(i, c)| if i % 2 == 0 { c.to_ascii_lowercase() } else { c }).collect(),
    };
    let mut out = format!("{}{mnemonic}", style.indent);
    if words[0] == "TXT" {
        // TXT's text follows exactly one separator and takes the rest of the line.
        out.push_str(&format!("{}{}{}{}", style.separator, words[1], style.separator, words[2]));
        out.push(' ');
        out.push_str(&words[3]);
        return out;
    }
    for word in &words[1..] {
        out.push_str(style.separator);
        out.push_str(word);
    }
    if let Some(comment) = &style.comment {
        out.push(' ');
        out.push_str(comment);
    }
    out
}

/// A valid program: every label used is defined exactly once (missing ones at the end).
fn program() -> impl Strategy<Value = String> {
    proptest::collection::vec(line(), 0..24).prop_map(|lines| {
        let mut defined = HashSet::new();
        let mut out = Vec::new();
        for line in lines {
            match line {
                Line::Instruction(words, style) => out.push(write_instruction(&words, &style)),
                Line::Label(name, instr) => {
                    let first = defined.insert(name.clone());
                    let label = if first { format!("{name}:") } else { format!("# was {name}:") };
                    match instr {
                        Some((words, style)) if first => {
                            out.push(format!("{label} {}", write_instruction(&words, &style).trim_start()))
                        }
                        Some((words, style)) => {
                            out.push(label);
                            out.push(write_instruction(&words, &style));
                        }
                        None => out.push(label),
                    }
                }
                Line::Comment(text) => out.push(text),
                Line::Blank => out.push(String::new()),
            }
        }
        for name in LABELS {
            if !defined.contains(name) {
                out.push(format!("{name}:"));
            }
        }
        out.join("\n")
    })
}

/// Runs `a` and `b`, with `b`'s source lines replaced by `a`'s, and checks they agree on
/// everything, trap lines included. The lines must go: `PEEK` can read them.
fn run_both(a: &Texture, b: &Texture, context: &str) {
    let mut words = b.words().to_vec();
    for index in 0..a.n_records() {
        words[RECORD_WORDS * (index + 2) - 1] = a.record(index)[7];
    }
    let b = Texture::from_words(words).expect("only lines changed");
    let x = run(a, &config()).expect("valid size");
    let y = run(&b, &config()).expect("valid size");
    assert_same_run(&x, &y, true, context);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn generated_programs_compile(source in program()) {
        if let Err(diagnostics) = compile(&source) {
            panic!("{}\n---\n{source}", render_all(&diagnostics));
        }
    }

    #[test]
    fn format_is_idempotent_and_keeps_meaning(source in program()) {
        let once = format(&source).unwrap_or_else(|d| panic!("{}\n---\n{source}", render_all(&d)));
        let twice = format(&once).unwrap_or_else(|d| panic!("{}\n---\n{once}", render_all(&d)));
        prop_assert_eq!(&once, &twice);
        let (a, b) = (compile_ok(&source), compile_ok(&once));
        // Same code, apart from source lines.
        prop_assert_eq!(a.n_records(), b.n_records());
        for index in 0..a.n_records() {
            prop_assert_eq!(&a.record(index)[..7], &b.record(index)[..7]);
        }
        prop_assert_eq!(a.names(), b.names());
        run_both(&a, &b, &format!("--- source\n{source}\n--- formatted\n{once}"));
    }

    #[test]
    fn disassembly_keeps_meaning(source in program(), strip in any::<bool>()) {
        let texture = compile_ok(&source);
        let texture = if strip { texture.without_names() } else { texture };
        let listing = disassemble(&texture, DisasmOptions::default());
        let again = compile(&listing).unwrap_or_else(|d| panic!("{}\n---\n{listing}", render_all(&d)));
        prop_assert_eq!(again.n_records(), texture.n_records());
        prop_assert_eq!(again.data(), texture.data());
        for index in 0..texture.n_records() {
            prop_assert_eq!(&again.record(index)[..7], &texture.record(index)[..7]);
        }
        run_both(&texture, &again, &format!("--- source\n{source}\n--- listing\n{listing}"));
        // Disassembling the result gives the same listing (up to the names it carries).
        let relisted = disassemble(&again, DisasmOptions { ignore_names: true, ..DisasmOptions::default() });
        let listed = disassemble(&texture, DisasmOptions { ignore_names: true, ..DisasmOptions::default() });
        prop_assert_eq!(relisted, listed);
    }

    #[test]
    fn vm_survives_random_records(
        n_records in 0usize..8,
        n_vars in 0u32..4,
        data in proptest::collection::vec(any::<u8>(), 0..24),
        seed_words in proptest::collection::vec(any::<u32>(), 64),
        choices in proptest::collection::vec(0u8..8, 64),
    ) {
        // Records biased towards valid ones: real opcodes, small operands, few mode bits.
        let mut words = vec![gvpie_pxl::MAGIC, 1, n_records as u32, data.len() as u32, n_vars, 0, 0, 0];
        for index in 0..n_records * RECORD_WORDS {
            let raw = seed_words[index % 64];
            let word = match (index % RECORD_WORDS, choices[index % 64]) {
                (0, 0) => raw,
                (0, _) => {
                    // A known opcode (or 0), low mode bits, sometimes a comparison.
                    let opcode = raw % 34;
                    let modes = (raw >> 8) & 0x3F;
                    let aux = if (raw >> 20) & 1 == 1 { (raw >> 16) % 6 } else { 0 };
                    opcode | (modes << 8) | (aux << 16)
                }
                (7, _) => raw % 100,
                (_, 0) => raw,
                (_, 1..=2) => raw % 12,
                (_, 3) => (raw % 24).wrapping_sub(4),
                _ => raw % 48,
            };
            words.push(word);
        }
        for chunk in data.chunks(4) {
            let mut bytes = [0u8; 4];
            bytes[..chunk.len()].copy_from_slice(chunk);
            words.push(u32::from_le_bytes(bytes));
        }
        while words.len() % RECORD_WORDS != 0 {
            words.push(0);
        }
        let texture = Texture::from_words(words).expect("the header matches the size");
        let result = run(&texture, &config()).expect("valid size");
        prop_assert!(result.cycles <= config().budget);
        let listing = disassemble(&texture, DisasmOptions { show_words: true, ignore_names: false });
        // The listing always compiles (invalid records become comments).
        if let Err(d) = compile(&listing) {
            panic!("{}\n---\n{listing}", render_all(&d));
        }
    }

    #[test]
    fn vm_survives_bit_flips(source in program(), flips in proptest::collection::vec(any::<u32>(), 1..8)) {
        let mut bytes = compile_ok(&source).to_bytes();
        for flip in flips {
            let bit = flip as usize % (bytes.len() * 8);
            bytes[bit / 8] ^= 1 << (bit % 8);
        }
        if let Ok(texture) = Texture::from_bytes(&bytes) {
            let _ = run(&texture, &config());
            let _ = texture.names();
            let listing = disassemble(&texture, DisasmOptions { show_words: true, ignore_names: false });
            let _ = compile(&listing);
        }
    }

    #[test]
    fn parser_never_panics_on_any_string(source in any::<String>()) {
        let (_, diagnostics) = parse(&source);
        let _ = render_all(&diagnostics);
        let _ = format(&source);
        if let Ok(texture) = compile(&source) {
            let _ = run(&texture, &config());
        }
    }

    #[test]
    fn parser_never_panics_on_pxl_like_text(source in "([A-Za-z]{0,6}|[-0-9xX]{0,4}|[ \t:#;=<>!]|\u{a0}|\u{3000}|\r|\n|é){0,40}") {
        let (_, diagnostics) = parse(&source);
        prop_assert!(diagnostics.windows(2).all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column)));
        let _ = render_all(&diagnostics);
        if let Ok(formatted) = format(&source) {
            prop_assert_eq!(format(&formatted), Ok(formatted.clone()));
        }
    }
}
