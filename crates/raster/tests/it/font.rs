//! The font against its golden file, and the font's own invariants.
//!
//! `test_data/raster/font.txt` shows every glyph as `#`/`.` rows under a
//! header line naming its character. A missing file is created;
//! `UPDATE_EXPECT=1` rewrites it (the same switch expect-test uses).

use std::collections::HashSet;
use std::path::PathBuf;

use gvpie_raster::{Canvas, FONT, GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, Rgba, glyph};

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test_data/raster/font.txt")
}

/// Renders the font by drawing each character with `Canvas::text`, so the
/// golden file also pins the text path, not just the table.
fn render_font() -> String {
    let mut out = String::from(
        "# gvpie-raster 5x7 font: each glyph under its character and code.\n\
         # Regenerate with UPDATE_EXPECT=1 cargo test -p gvpie-raster.\n",
    );
    for byte in 32u8..=126 {
        let mut canvas = Canvas::new(5, 7).unwrap_or_else(|e| panic!("{e}"));
        canvas.text(0, 0, &[byte], Rgba::WHITE);
        out.push_str(&format!("\n'{}' {byte}\n", char::from(byte)));
        for row in canvas.pixels().chunks(5) {
            out.extend(row.iter().map(|&p| if p == Rgba::WHITE.to_u32() { '#' } else { '.' }));
            out.push('\n');
        }
    }
    out
}

#[test]
fn font_matches_golden_file() {
    let path = golden_path();
    let actual = render_font();
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    match std::fs::read_to_string(&path) {
        Ok(expected) if !update => {
            assert!(
                expected == actual,
                "{} differs from the font; rerun with UPDATE_EXPECT=1 if the change is intended\n{actual}",
                path.display()
            );
        }
        _ => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
            }
            std::fs::write(&path, actual).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

#[test]
fn glyphs_are_distinct_non_empty_and_space_is_empty() {
    assert_eq!(FONT[0], [0; 7]);
    assert_eq!(glyph(b' '), Some(&[0; 7]));
    let mut seen = HashSet::new();
    for byte in 33u8..=126 {
        let g = glyph(byte).unwrap_or_else(|| panic!("no glyph for {byte}"));
        assert!(g.iter().any(|&row| row != 0), "glyph {byte} is empty");
        assert!(g.iter().all(|&row| row < 1 << GLYPH_WIDTH), "glyph {byte} is too wide");
        assert!(seen.insert(*g), "glyph {byte} repeats an earlier one");
    }
    assert_eq!(seen.len(), 94);
    assert_eq!((GLYPH_WIDTH, GLYPH_HEIGHT, GLYPH_ADVANCE), (5, 7, 6));
    assert!(glyph(31).is_none() && glyph(127).is_none());
}
