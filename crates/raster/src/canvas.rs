//! The pixel buffer and its simplest operations.
//!
//! This module defines [`Canvas`] (an always-opaque, row-major grid of
//! packed [`Rgba`] pixels), its construction and conversion to and from
//! RGBA8 bytes, single-pixel access, [`Canvas::clear`], [`Canvas::fill_rect`]
//! and nearest-neighbour [`Canvas::scaled`]. Lines, circles and triangles
//! live in `shapes`, text in `text`.
//!
//! # Rules
//!
//! * Size: both sides are in `1..=MAX_SIDE`; anything else is a
//!   [`CanvasError::BadSize`].
//! * Opacity: every pixel always has alpha 255. [`Canvas::new`] starts
//!   opaque black, [`Canvas::clear`] forces alpha to 255, and
//!   [`Canvas::from_rgba8`] forces alpha to 255 as well, so that the blending
//!   rule (which assumes an opaque destination) holds everywhere.
//! * Clipping: every drawing call takes any `i32` arguments and silently
//!   ignores the parts that fall off the canvas; nothing panics.
//! * RECT: [`Canvas::fill_rect`] covers `x <= px < x + w`, `y <= py < y + h`,
//!   with the sums computed exactly in `i64` (so a far-away rectangle never
//!   wraps onto the canvas); `w <= 0` or `h <= 0` draws nothing. Each covered
//!   pixel is blended once.

use std::fmt;

use crate::color::{Rgba, blend};

/// The largest canvas side, in pixels; sides are `1..=MAX_SIDE`.
pub const MAX_SIDE: u32 = 4096;

/// The most pixels [`Canvas::scaled`] will produce: 2^26 (256 MiB of pixels).
/// A larger request has its factor reduced until it fits.
pub const MAX_SCALED_PIXELS: u64 = 1 << 26;

/// Why a canvas could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CanvasError {
    /// A side was 0 or larger than [`MAX_SIDE`].
    BadSize {
        /// The requested width.
        width: u32,
        /// The requested height.
        height: u32,
    },
    /// [`Canvas::from_rgba8`] got a byte slice whose length is not
    /// `width * height * 4`.
    BadLength {
        /// `width * height * 4`.
        expected: usize,
        /// The length of the slice given.
        found: usize,
    },
}

impl fmt::Display for CanvasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CanvasError::BadSize { width, height } => {
                write!(f, "canvas size {width}x{height} is out of range (1x1 to {MAX_SIDE}x{MAX_SIDE})")
            }
            CanvasError::BadLength { expected, found } => {
                write!(f, "pixel data is {found} bytes long, expected {expected} (width * height * 4)")
            }
        }
    }
}

impl std::error::Error for CanvasError {}

/// An opaque RGBA8 image that the drawing operations write into.
///
/// Pixels are stored row-major, each packed as [`Rgba::to_u32`]. The struct
/// can only be built through its constructors, so its size is always valid
/// and `pixels.len() == width * height`.
#[derive(Clone, PartialEq, Eq)]
pub struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u32>,
}

impl fmt::Debug for Canvas {
    // Only the size: dumping up to 16M pixels into a panic message helps no one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Canvas").field("width", &self.width).field("height", &self.height).finish_non_exhaustive()
    }
}

/// The factor [`Canvas::scaled`] really uses for a `width` x `height` canvas.
fn scale_factor(width: u32, height: u32, factor: u32) -> u32 {
    let pixels = u64::from(width) * u64::from(height);
    // pixels <= 2^24, so the quotient is >= 4 and the root is in 2..=2^13.
    let max_factor = (MAX_SCALED_PIXELS / pixels.max(1)).isqrt();
    // The clamp keeps the result <= 2^13, so the cast is lossless.
    u64::from(factor).clamp(1, max_factor) as u32
}

fn check_size(width: u32, height: u32) -> Result<(), CanvasError> {
    if (1..=MAX_SIDE).contains(&width) && (1..=MAX_SIDE).contains(&height) {
        Ok(())
    } else {
        Err(CanvasError::BadSize { width, height })
    }
}

impl Canvas {
    /// A `width` x `height` canvas with every pixel opaque black.
    ///
    /// # Errors
    ///
    /// [`CanvasError::BadSize`] unless both sides are in `1..=MAX_SIDE`.
    pub fn new(width: u32, height: u32) -> Result<Canvas, CanvasError> {
        check_size(width, height)?;
        // Both sides are <= 4096, so the product fits easily.
        let len = width as usize * height as usize;
        Ok(Canvas { width, height, pixels: vec![Rgba::BLACK.to_u32(); len] })
    }

    /// Builds a canvas from row-major RGBA8 bytes. Alpha bytes are ignored:
    /// every pixel becomes opaque, because the canvas is always opaque.
    ///
    /// # Errors
    ///
    /// [`CanvasError::BadSize`] for a bad size (checked first), then
    /// [`CanvasError::BadLength`] unless `bytes.len() == width * height * 4`.
    pub fn from_rgba8(width: u32, height: u32, bytes: &[u8]) -> Result<Canvas, CanvasError> {
        check_size(width, height)?;
        let expected = width as usize * height as usize * 4;
        if bytes.len() != expected {
            return Err(CanvasError::BadLength { expected, found: bytes.len() });
        }
        let pixels = bytes.chunks_exact(4).map(|p| u32::from_le_bytes([p[0], p[1], p[2], 0xFF])).collect();
        Ok(Canvas { width, height, pixels })
    }

    /// The width in pixels, in `1..=MAX_SIDE`.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// The height in pixels, in `1..=MAX_SIDE`.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// All pixels, row-major, each packed as [`Rgba::to_u32`].
    pub fn pixels(&self) -> &[u32] {
        &self.pixels
    }

    /// All pixels as row-major `r, g, b, a` bytes (alpha is always 255).
    pub fn to_rgba8(&self) -> Vec<u8> {
        // The packing was chosen so that little-endian bytes are RGBA.
        self.pixels.iter().flat_map(|p| p.to_le_bytes()).collect()
    }

    /// The pixel at `(x, y)`, or `None` when it lies off the canvas.
    #[inline]
    pub fn get(&self, x: i32, y: i32) -> Option<Rgba> {
        self.index(x, y).map(|i| Rgba::from_u32(self.pixels[i]))
    }

    /// Sets every pixel to `(color.r, color.g, color.b, 255)`: clearing does
    /// not blend, and its alpha is forced opaque.
    pub fn clear(&mut self, color: Rgba) {
        self.pixels.fill(color.to_u32() | 0xFF00_0000);
    }

    /// Blends `color` onto the pixel at `(x, y)`; does nothing off the canvas.
    #[inline]
    pub fn pset(&mut self, x: i32, y: i32, color: Rgba) {
        if let Some(i) = self.index(x, y) {
            self.pixels[i] = blend(self.pixels[i], color);
        }
    }

    /// Blends `color` onto every pixel with `x <= px < x + w` and
    /// `y <= py < y + h` (computed in `i64`, so it never wraps), clipped to
    /// the canvas. `w <= 0` or `h <= 0` draws nothing.
    pub fn fill_rect(&mut self, x: i32, y: i32, w: i32, h: i32, color: Rgba) {
        if w <= 0 || h <= 0 {
            return;
        }
        let clip = |start: i32, len: i32, side: u32| {
            let lo = i64::from(start).max(0);
            let hi = (i64::from(start) + i64::from(len)).min(i64::from(side));
            // Both bounds are now in 0..=side <= 4096, so `as` is lossless.
            (lo < hi).then_some((lo as usize, hi as usize))
        };
        let (Some((x0, x1)), Some((y0, y1))) = (clip(x, w, self.width), clip(y, h, self.height)) else {
            return;
        };
        for py in y0..y1 {
            self.blend_run(py, x0, x1, color);
        }
    }

    /// A nearest-neighbour upscale: every pixel becomes a `factor` x `factor`
    /// block. A `factor` of 0 counts as 1.
    ///
    /// The result's sides may exceed [`MAX_SIDE`] (it is meant for viewing and
    /// screenshots, not for drawing into), but its pixel count is capped at
    /// [`MAX_SCALED_PIXELS`]: a larger request uses the largest factor that
    /// fits instead (always at least 1, since a full-size canvas fits).
    pub fn scaled(&self, factor: u32) -> Canvas {
        let f = scale_factor(self.width, self.height, factor);
        // f * f * width * height <= 2^26, so none of these overflow.
        let (fu, sw, sh) = (f as usize, self.width * f, self.height * f);
        let mut pixels = Vec::with_capacity(sw as usize * sh as usize);
        for row in self.pixels.chunks_exact(self.width as usize) {
            let start = pixels.len();
            for &p in row {
                pixels.extend(std::iter::repeat_n(p, fu));
            }
            // Build the widened row once, then copy it for the other f - 1 rows.
            for _ in 1..fu {
                pixels.extend_from_within(start..start + sw as usize);
            }
        }
        Canvas { width: sw, height: sh, pixels }
    }

    /// The index of `(x, y)` in `pixels`, or `None` off the canvas.
    #[inline]
    fn index(&self, x: i32, y: i32) -> Option<usize> {
        let x = u32::try_from(x).ok().filter(|&x| x < self.width)?;
        let y = u32::try_from(y).ok().filter(|&y| y < self.height)?;
        Some(y as usize * self.width as usize + x as usize)
    }

    /// Blends `color` onto pixels `x0..=x1` of row `y`, clipped to the canvas.
    /// The shapes reduce to such runs, which is what makes them fast.
    pub(crate) fn span(&mut self, y: i32, x0: i32, x1: i32, color: Rgba) {
        let Ok(y) = u32::try_from(y) else { return };
        if y >= self.height {
            return;
        }
        let lo = x0.max(0);
        // width <= 4096, so it fits i32.
        let hi = x1.min(self.width as i32 - 1);
        if lo > hi {
            return;
        }
        // lo >= 0 and hi < width: both casts are lossless.
        self.blend_run(y as usize, lo as usize, hi as usize + 1, color);
    }

    /// Blends `color` onto pixels `x0..x1` of row `y`; the caller has
    /// clipped (`x0 < x1 <= width`, `y < height`).
    #[inline]
    fn blend_run(&mut self, y: usize, x0: usize, x1: usize, color: Rgba) {
        let start = y * self.width as usize;
        let run = &mut self.pixels[start + x0..start + x1];
        match color.a {
            // The common cases need no per-pixel arithmetic.
            255 => run.fill(color.to_u32()),
            0 => {}
            _ => run.iter_mut().for_each(|p| *p = blend(*p, color)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert!(Canvas::new(1, 1).is_ok());
        assert!(Canvas::new(MAX_SIDE, MAX_SIDE).is_ok());
        for (w, h) in [(0, 1), (1, 0), (4097, 1), (1, 4097), (u32::MAX, u32::MAX)] {
            assert_eq!(Canvas::new(w, h), Err(CanvasError::BadSize { width: w, height: h }));
        }
        assert_eq!(
            CanvasError::BadSize { width: 0, height: 5 }.to_string(),
            "canvas size 0x5 is out of range (1x1 to 4096x4096)"
        );
    }

    #[test]
    fn new_is_opaque_black_and_debug_is_short() -> Result<(), CanvasError> {
        let c = Canvas::new(3, 2)?;
        assert_eq!(c.pixels(), &[0xFF00_0000; 6]);
        assert_eq!(format!("{c:?}"), "Canvas { width: 3, height: 2, .. }");
        Ok(())
    }

    #[test]
    fn rgba8_round_trip_forces_opacity() -> Result<(), CanvasError> {
        let bytes = [1, 2, 3, 4, 5, 6, 7, 255];
        let c = Canvas::from_rgba8(2, 1, &bytes)?;
        assert_eq!(c.get(0, 0), Some(Rgba::new(1, 2, 3, 255)));
        assert_eq!(c.to_rgba8(), [1, 2, 3, 255, 5, 6, 7, 255]);
        assert_eq!(Canvas::from_rgba8(2, 1, &bytes[..7]), Err(CanvasError::BadLength { expected: 8, found: 7 }));
        assert_eq!(Canvas::from_rgba8(0, 1, &[]), Err(CanvasError::BadSize { width: 0, height: 1 }));
        Ok(())
    }

    #[test]
    fn get_and_pset_clip() -> Result<(), CanvasError> {
        let mut c = Canvas::new(2, 2)?;
        for (x, y) in [(-1, 0), (0, -1), (2, 0), (0, 2), (i32::MIN, i32::MAX)] {
            c.pset(x, y, Rgba::WHITE);
            assert_eq!(c.get(x, y), None);
        }
        assert!(c.pixels().iter().all(|&p| p == 0xFF00_0000));
        c.pset(1, 1, Rgba::WHITE);
        assert_eq!(c.get(1, 1), Some(Rgba::WHITE));
        Ok(())
    }

    #[test]
    fn scaled_blocks_and_cap() -> Result<(), CanvasError> {
        let mut c = Canvas::new(2, 1)?;
        c.pset(1, 0, Rgba::WHITE);
        let s = c.scaled(2);
        assert_eq!((s.width(), s.height()), (4, 2));
        let (b, w) = (0xFF00_0000, 0xFFFF_FFFF);
        assert_eq!(s.pixels(), &[b, b, w, w, b, b, w, w]);
        assert_eq!(c.scaled(0), c);
        assert_eq!(c.scaled(1), c);
        // 2 * f * f <= 2^26 gives f <= 5792.
        assert_eq!(scale_factor(2, 1, u32::MAX), 5792);
        assert_eq!(scale_factor(2, 1, 5000), 5000);
        assert_eq!(scale_factor(MAX_SIDE, MAX_SIDE, 3), 2);
        assert_eq!(scale_factor(MAX_SIDE, MAX_SIDE, 0), 1);
        assert_eq!(scale_factor(1, 1, u32::MAX), 8192);
        Ok(())
    }
}
