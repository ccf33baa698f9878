//! Drawing text and numbers with the built-in font.
//!
//! This module adds [`Canvas::text`] and [`Canvas::number`]. It does no
//! wrapping, no newlines, no kerning and no background fill: one line of
//! fixed-advance 5x7 glyphs from `font`.
//!
//! # TXT
//!
//! Byte `n` (0-based index into the text) has its cell at
//! `(x + GLYPH_ADVANCE * n, y)`, computed exactly in `i64` so that long
//! texts or far-off positions never wrap. The cell is 5 wide and 7 high;
//! row `r` bit `4 - c` set blends the colour onto pixel
//! `(cellx + c, y + r)`. Only glyph bits are drawn. Bytes outside 33..=126
//! draw nothing; they still advance, like the space. Cells entirely off the
//! canvas are skipped without being visited, so a huge text costs only its
//! visible part.
//!
//! [`Canvas::number`] draws the decimal form of an `i32` (with a leading `-`
//! for negatives, `i32::MIN` included) by the same rule.

use crate::canvas::Canvas;
use crate::color::Rgba;
use crate::font::{GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyph};

impl Canvas {
    /// Draws `text` with its first cell's top-left corner at `(x, y)`,
    /// following the TXT rule in the [`text`](crate::text) module docs.
    pub fn text(&mut self, x: i32, y: i32, text: &[u8], color: Rgba) {
        let (width, height) = (i64::from(self.width()), i64::from(self.height()));
        let (x, y) = (i64::from(x), i64::from(y));
        let (gw, gh, adv) = (i64::from(GLYPH_WIDTH), i64::from(GLYPH_HEIGHT), i64::from(GLYPH_ADVANCE));
        if y + gh <= 0 || y >= height {
            return;
        }
        // Visible cells satisfy x + adv*n + gw > 0 and x + adv*n < width:
        // n >= ceil((1 - gw - x) / adv) and n <= floor((width - 1 - x) / adv).
        // div_euclid is floor division here because adv > 0; all values are
        // far from i64's limits.
        let first = (1 - gw - x + adv - 1).div_euclid(adv).max(0);
        let last = (width - 1 - x).div_euclid(adv);
        // A slice is never longer than isize::MAX, so this fits i64.
        let len = text.len() as i64;
        let last = last.min(len - 1);
        let mut n = first;
        while n <= last {
            // 0 <= n < len, so the index cast is lossless.
            let byte = text[n as usize];
            let cellx = x + adv * n;
            n += 1;
            if byte == b' ' {
                continue;
            }
            let Some(rows) = glyph(byte) else { continue };
            for (r, &bits) in (0i64..).zip(rows) {
                for c in 0..gw {
                    if (bits >> (gw - 1 - c)) & 1 == 1 {
                        self.pset_i64(cellx + c, y + r, color);
                    }
                }
            }
        }
    }

    /// Draws the decimal form of `value` (`-` for negatives) as text at
    /// `(x, y)`; see [`Canvas::text`].
    pub fn number(&mut self, x: i32, y: i32, value: i32, color: Rgba) {
        let mut buf = [0u8; 11];
        let digits = decimal(value, &mut buf);
        self.text(x, y, digits, color);
    }

    /// [`Canvas::pset`] for coordinates that may be out of `i32` range;
    /// those are off the canvas anyway.
    fn pset_i64(&mut self, x: i64, y: i64, color: Rgba) {
        if let (Ok(x), Ok(y)) = (i32::try_from(x), i32::try_from(y)) {
            self.pset(x, y, color);
        }
    }
}

/// Writes the decimal form of `value` into the end of `buf` and returns it.
/// 11 bytes hold the longest, `-2147483648`. No allocation: the VM may call
/// this every frame.
fn decimal(value: i32, buf: &mut [u8; 11]) -> &[u8] {
    // unsigned_abs handles i32::MIN, whose magnitude has no i32.
    let mut rest = value.unsigned_abs();
    let mut start = buf.len();
    loop {
        start -= 1;
        // rest % 10 < 10, so the cast is lossless.
        buf[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        start -= 1;
        buf[start] = b'-';
    }
    &buf[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_forms() {
        let mut buf = [0; 11];
        for v in [0, 7, -7, 10, 1234567, i32::MAX, i32::MIN, -1] {
            assert_eq!(decimal(v, &mut buf), v.to_string().as_bytes());
        }
    }
}
