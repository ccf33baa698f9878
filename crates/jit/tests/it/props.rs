//! Random programs and random textures: the compiled tier never differs from the interpreter
//! and never panics.

use gvpie_pxl::{Config, MAGIC, RECORD_WORDS, Texture, compile};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

use crate::util::check_texture;

fn config(budget: u64) -> Config {
    Config { width: 16, height: 8, budget, max_frames: 3 }
}

const VARIABLES: [&str; 4] = ["a", "b", "c", "d"];
const LABELS: [&str; 4] = ["L0", "L1", "L2", "L3"];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        (-3i32..20).prop_map(|v| v.to_string()),
        any::<i32>().prop_map(|v| v.to_string()),
        Just("-1".to_string()),
        Just("-2147483648".to_string()),
        proptest::sample::select(&VARIABLES[..]).prop_map(str::to_string),
        proptest::sample::select(&VARIABLES[..]).prop_map(str::to_string),
    ]
}

fn dest() -> impl Strategy<Value = String> {
    proptest::sample::select(&VARIABLES[..]).prop_map(str::to_string)
}

fn label() -> impl Strategy<Value = String> {
    proptest::sample::select(&LABELS[..]).prop_map(str::to_string)
}

fn instruction() -> impl Strategy<Value = String> {
    let v = value;
    prop_oneof![
        Just("HALT".to_string()),
        (v(), v()).prop_map(|(x, y)| format!("TXT {x} {y} Hi #;")),
        (v(), v(), v(), v()).prop_map(|(a, b, c, d)| format!("RECT {a} {b} {c} {d}")),
        (v(), v()).prop_map(|(a, b)| format!("PSET {a} {b}")),
        (v(), v(), v(), v()).prop_map(|(a, b, c, d)| format!("COLOR {a} {b} {c} {d}")),
        (dest(), v()).prop_map(|(a, b)| format!("SET {a} {b}")),
        (
            proptest::sample::select(&["ADD", "SUB", "MUL", "DIV", "MOD", "AND", "OR", "XOR", "SHL", "SHR"][..]),
            dest(),
            v(),
            v()
        )
            .prop_map(|(m, a, b, c)| format!("{m} {a} {b} {c}")),
        label().prop_map(|l| format!("JMP {l}")),
        (v(), proptest::sample::select(&["==", "!=", "<", "<=", ">", ">="][..]), v(), label())
            .prop_map(|(a, op, b, l)| format!("IF {a} {op} {b} {l}")),
        label().prop_map(|l| format!("CALL {l}")),
        Just("RET".to_string()),
        (v(), v(), v(), v()).prop_map(|(a, b, c, d)| format!("LINE {a} {b} {c} {d}")),
        (proptest::sample::select(&["CIRC", "CIRCF", "CLS", "NUM"][..]), v(), v(), v())
            .prop_map(|(m, a, b, c)| format!("{m} {a} {b} {c}")),
        proptest::collection::vec(v(), 6).prop_map(|c| format!("TRI {}", c.join(" "))),
        (dest(), v(), v()).prop_map(|(a, b, c)| format!("PGET {a} {b} {c}")),
        (dest(), v()).prop_map(|(a, b)| format!("RAND {a} {b}")),
        v().prop_map(|a| format!("SEED {a}")),
        Just("FRAME".to_string()),
        (dest(), 0u32..80).prop_map(|(a, b)| format!("PEEK {a} {b}")),
        (0u32..80, v()).prop_map(|(a, b)| format!("POKE {a} {b}")),
        (dest(), v(), label()).prop_map(|(a, b, l)| format!("LOOP {a} {b} {l}")),
    ]
}

/// A program: instructions with the four labels placed among them.
fn program() -> impl Strategy<Value = String> {
    (proptest::collection::vec(instruction(), 1..16), proptest::collection::vec(0usize..16, 4)).prop_map(
        |(instructions, places)| {
            let mut lines = Vec::new();
            for (index, instruction) in instructions.iter().enumerate() {
                for (label, place) in LABELS.iter().zip(&places) {
                    if place % instructions.len() == index {
                        lines.push(format!("{label}:"));
                    }
                }
                lines.push(instruction.clone());
            }
            lines.join("\n")
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_agree(source in program(), budget in prop_oneof![0u64..40, 40u64..3000]) {
        let texture = compile(&source).expect("generated programs compile");
        check_texture(&texture, &config(budget));
    }

    #[test]
    fn random_textures_agree(
        n_records in 0usize..10,
        n_vars in 0u32..4,
        data in proptest::collection::vec(any::<u8>(), 0..24),
        seed_words in proptest::collection::vec(any::<u32>(), 64),
        choices in proptest::collection::vec(0u8..8, 64),
        budget in 0u64..500,
    ) {
        // Records biased towards valid ones, as in gvpie-pxl's own property tests.
        let mut words = vec![MAGIC, 1, n_records as u32, data.len() as u32, n_vars, 0, 0, 0];
        for index in 0..n_records * RECORD_WORDS {
            let raw = seed_words[index % 64];
            let word = match (index % RECORD_WORDS, choices[index % 64]) {
                (0, 0) => raw,
                (0, _) => {
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
        check_texture(&texture, &config(budget));
    }
}
