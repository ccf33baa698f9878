//! Random programs, CPU against GPU: valid PXL generated from the grammar (with random
//! `POKE`s that may break records), and random raw textures whose records are mostly
//! invalid. Each proptest case is one batch of hundreds of programs, so thousands of programs
//! run in a few dispatches.

use gvpie_pxl::{Config, Texture};
use proptest::prelude::*;

use crate::util::{backend, check_textures, compile};

const VARS: [&str; 4] = ["a", "b", "c", "d"];
const LABELS: usize = 4;

fn operand() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (-3i32..45).prop_map(|v| v.to_string()),
        2 => prop::sample::select(&VARS[..]).prop_map(str::to_string),
        1 => any::<i32>().prop_map(|v| v.to_string()),
        1 => prop::sample::select(&[i32::MIN, i32::MAX, -8193, 8193, 4096, -1, 255, 256][..]).prop_map(|v| v.to_string()),
    ]
}

fn dest() -> impl Strategy<Value = String> {
    prop::sample::select(&VARS[..]).prop_map(str::to_string)
}

fn label() -> impl Strategy<Value = String> {
    (0..LABELS).prop_map(|k| format!("l{k}"))
}

fn ops(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(operand(), n).prop_map(|v| v.join(" "))
}

fn instruction() -> impl Strategy<Value = String> {
    let cmp = prop::sample::select(&["==", "!=", "<", "<=", ">", ">="][..]);
    let alu = prop::sample::select(&["ADD", "SUB", "MUL", "DIV", "MOD", "AND", "OR", "XOR", "SHL", "SHR"][..]);
    prop_oneof![
        3 => (alu, dest(), ops(2)).prop_map(|(m, d, o)| format!("{m} {d} {o}")),
        1 => (dest(), operand()).prop_map(|(d, o)| format!("SET {d} {o}")),
        1 => label().prop_map(|l| format!("JMP {l}")),
        2 => (operand(), cmp, operand(), label()).prop_map(|(a, c, b, l)| format!("IF {a} {c} {b} {l}")),
        2 => (dest(), -2i32..12, label()).prop_map(|(d, n, l)| format!("LOOP {d} {n} {l}")),
        1 => label().prop_map(|l| format!("CALL {l}")),
        1 => Just("RET".to_string()),
        1 => Just("HALT".to_string()),
        2 => ops(4).prop_map(|o| format!("COLOR {o}")),
        2 => ((0i32..256), (0i32..256), (0i32..256), prop::sample::select(&[0, 1, 127, 128, 254, 255][..]))
            .prop_map(|(r, g, b, a)| format!("COLOR {r} {g} {b} {a}")),
        1 => ops(3).prop_map(|o| format!("CLS {o}")),
        2 => ops(2).prop_map(|o| format!("PSET {o}")),
        3 => ops(4).prop_map(|o| format!("RECT {o}")),
        2 => ops(4).prop_map(|o| format!("LINE {o}")),
        1 => ops(3).prop_map(|o| format!("CIRC {o}")),
        1 => ops(3).prop_map(|o| format!("CIRCF {o}")),
        3 => ops(6).prop_map(|o| format!("TRI {o}")),
        2 => (ops(2), "[ -~]{0,12}").prop_map(|(o, t)| format!("TXT {o} {t}")),
        1 => ops(3).prop_map(|o| format!("NUM {o}")),
        1 => (dest(), ops(2)).prop_map(|(d, o)| format!("PGET {d} {o}")),
        1 => (dest(), operand()).prop_map(|(d, o)| format!("RAND {d} {o}")),
        1 => operand().prop_map(|o| format!("SEED {o}")),
        1 => Just("FRAME".to_string()),
        1 => (dest(), -2i32..80).prop_map(|(d, a)| format!("PEEK {d} {a}")),
        1 => ((-2i32..80), operand()).prop_map(|(a, v)| format!("POKE {a} {v}")),
    ]
}

/// A program of up to 24 instructions with the labels l0..l3 placed among them.
fn program() -> impl Strategy<Value = String> {
    (proptest::collection::vec(instruction(), 1..24), proptest::collection::vec(0usize..24, LABELS)).prop_map(
        |(mut lines, places)| {
            for (k, place) in places.into_iter().enumerate() {
                let at = place.min(lines.len());
                lines.insert(at, format!("l{k}:"));
            }
            lines.join("\n")
        },
    )
}

/// A texture with valid header and random records: most opcodes, modes and operands are
/// nonsense, some are not.
fn raw_texture() -> impl Strategy<Value = Texture> {
    let record = (
        0u32..36,
        prop::sample::select(&[0u32, 0, 0, 1, 2, 3, 0xFF][..]),
        0u32..7,
        0u32..20,
        [0u32..6, 0u32..6, 0u32..9, 0u32..9, 0u32..40, 0u32..40],
    )
        .prop_map(|(op, modes, aux, line, slots)| {
            let aux = if aux > 5 { 0 } else { aux };
            let mut words =
                [op | modes << 8 | aux << 16, slots[0], slots[1], slots[2], slots[3], slots[4], slots[5], line];
            if op == 2 {
                words[3] %= 6;
                words[4] %= 4;
            }
            words
        });
    (proptest::collection::vec(record, 1..10), 0u32..5, "[ -~]{0,9}").prop_map(|(records, n_vars, text)| {
        let data = text.as_bytes();
        let mut words = vec![gvpie_pxl::MAGIC, 1, records.len() as u32, data.len() as u32, n_vars, 0, 0, 0];
        for record in &records {
            words.extend_from_slice(record);
        }
        for chunk in data.chunks(4) {
            let mut w = [0u8; 4];
            w[..chunk.len()].copy_from_slice(chunk);
            words.push(u32::from_le_bytes(w));
        }
        while words.len() % 8 != 0 {
            words.push(0);
        }
        Texture::from_words(words).unwrap_or_else(|e| panic!("generated texture: {e}"))
    })
}

fn cases() -> ProptestConfig {
    let cases = std::env::var("GVPIE_PROP_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    ProptestConfig { cases, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(cases())]

    /// 400 random programs per case on a random small canvas.
    #[test]
    fn random_programs_match_the_cpu(
        sources in proptest::collection::vec(program(), 400),
        width in 1u32..48,
        height in 1u32..40,
        budget in 0u64..400,
    ) {
        if backend().is_some() {
            let programs: Vec<Texture> = sources.iter().map(|s| compile(s)).collect();
            check_textures(&sources, &programs, &Config { width, height, budget, max_frames: 0 });
        }
    }

    /// 400 random raw textures per case: no crash, and the same traps as the CPU.
    #[test]
    fn random_textures_match_the_cpu(textures in proptest::collection::vec(raw_texture(), 400), budget in 0u64..200) {
        if backend().is_some() {
            let labels: Vec<String> = textures.iter().map(|t| format!("{:?}", t.words())).collect();
            check_textures(&labels, &textures, &Config { width: 20, height: 12, budget, max_frames: 0 });
        }
    }
}
