//! Prints the program for a description and its picture as characters, one per pixel.
//!
//! `cargo run -p gvpie-compile --example ascii -- "a red circle above a blue square" [WxH]`

use gvpie_compile::{Options, compile};

fn main() {
    let mut args = std::env::args().skip(1);
    let description = args.next().unwrap_or_default();
    let mut options = Options::default();
    if let Some((w, h)) = args.next().as_deref().and_then(|s| s.split_once('x')) {
        options.width = w.parse().unwrap_or(128);
        options.height = h.parse().unwrap_or(64);
    }
    let compiled = match compile(&description, &options) {
        Ok(compiled) => compiled,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(2);
        }
    };
    println!("{}", compiled.source);
    let texture = match gvpie_pxl::compile(&compiled.source) {
        Ok(texture) => texture,
        Err(diagnostics) => {
            eprintln!("{}", gvpie_pxl::render_all(&diagnostics));
            std::process::exit(1);
        }
    };
    let config = gvpie_pxl::Config { width: options.width, height: options.height, ..Default::default() };
    let Ok(result) = gvpie_pxl::run(&texture, &config) else { return };
    let mut palette: Vec<u32> = Vec::new();
    const SYMBOLS: &[u8] = b".#*o+=%@&$xXvV^~";
    for y in 0..result.canvas.height() {
        let mut line = String::new();
        for x in 0..result.canvas.width() {
            let pixel = result.canvas.pixels()[(y * result.canvas.width() + x) as usize];
            let index = palette.iter().position(|p| *p == pixel).unwrap_or_else(|| {
                palette.push(pixel);
                palette.len() - 1
            });
            line.push(SYMBOLS[index.min(SYMBOLS.len() - 1)] as char);
        }
        println!("{line}");
    }
}
