//! Arbitrary bytes as PXL source: parsing, formatting, compiling, running and disassembling
//! must never panic, and must keep their promises on whatever compiles.

#![no_main]

use gvpie_pxl::{Config, DisasmOptions, compile, disassemble, format, parse, render_all, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    let (_, diagnostics) = parse(&source);
    let _ = render_all(&diagnostics);
    // Diagnostics come sorted by position.
    assert!(diagnostics.windows(2).all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column)));
    // Formatting is idempotent.
    if let Ok(formatted) = format(&source) {
        assert_eq!(format(&formatted).as_deref(), Ok(formatted.as_str()));
    }
    let Ok(texture) = compile(&source) else { return };
    let config = Config { width: 16, height: 16, budget: 2_000, max_frames: 2 };
    let result = run(&texture, &config).expect("16x16 is a valid size");
    assert!(result.cycles <= config.budget);
    // The listing of a compiled program compiles again, to the same number of records.
    let listing = disassemble(&texture, DisasmOptions::default());
    let again = compile(&listing).expect("a listing of a compiled program compiles");
    assert_eq!(again.n_records(), texture.n_records());
});
