//! Arbitrary bytes as a plain-English description: the compiler never panics, and whatever it
//! compiles assembles, halts within its budget and keeps its boxes on the canvas.

#![no_main]

use gvpie_compile::{Options, compile, compile_partial};
use gvpie_pxl::{Config, Status, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let description = String::from_utf8_lossy(data);
    // The first byte picks a canvas size, so odd and tiny canvases are covered too.
    let side = u32::from(data.first().copied().unwrap_or(0));
    let options = Options { width: side % 97 + 1, height: side % 41 + 1 };
    let _ = compile_partial(&description, &options);
    let Ok(compiled) = compile(&description, &options) else { return };
    for item in &compiled.layout.items {
        for rect in &item.boxes {
            assert!(rect.x >= 0 && rect.y >= 0 && rect.x + rect.w <= options.width as i32 && rect.y + rect.h <= options.height as i32);
        }
    }
    let texture = gvpie_pxl::compile(&compiled.source).expect("a compiled description assembles");
    let config = Config { width: options.width, height: options.height, budget: 100_000, max_frames: 0 };
    let result = run(&texture, &config).expect("a valid size");
    assert_eq!(result.status, Status::Halted);
});
