//! Arbitrary bytes as a machine texture: reading, running and disassembling must never panic.
//!
//! Random bytes rarely pass the header check, so the same bytes also run a second time behind
//! a header made to fit them (every row a record), which puts the fuzzer's effort on the
//! records: opcodes, mode bits, operands, POKE and PEEK.

#![no_main]

use gvpie_pxl::{Config, DisasmOptions, MAGIC, RECORD_WORDS, Texture, compile, disassemble, run};
use libfuzzer_sys::fuzz_target;

fn exercise(texture: &Texture) {
    let config = Config { width: 16, height: 16, budget: 2_000, max_frames: 2 };
    let result = run(texture, &config).expect("16x16 is a valid size");
    assert!(result.cycles <= config.budget);
    let _ = texture.names();
    let listing = disassemble(texture, DisasmOptions { show_words: true, ignore_names: false });
    // Invalid records become comments, so any listing compiles.
    if let Err(diagnostics) = compile(&listing) {
        panic!("listing does not compile: {diagnostics:?}\n{listing}");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(texture) = Texture::from_bytes(data) {
        exercise(&texture);
    }
    // The bytes as records: the first byte picks the variable count, the rest fills rows.
    let Some((&n_vars, body)) = data.split_first() else { return };
    let mut words: Vec<u32> = body
        .chunks(4)
        .map(|c| {
            let mut bytes = [0u8; 4];
            bytes[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(bytes)
        })
        .collect();
    while words.len() % RECORD_WORDS != 0 {
        words.push(0);
    }
    let n_records = (words.len() / RECORD_WORDS) as u32;
    let header = [MAGIC, 1, n_records, 0, u32::from(n_vars % 16), 0, 0, 0];
    words.splice(0..0, header);
    let texture = Texture::from_words(words).expect("the header fits the rows");
    exercise(&texture);
});
