//! Cartridges: one PNG that shows a program's screen and carries its source.
//!
//! [`pack`] upscales the screen, writes the payload into the low bits of
//! every pixel's R, G and B, and also stores it in a `gvPx` chunk.
//! [`unpack`] reads the chunk if it is there and sound, else the low bits,
//! and picks the clearest error when neither can be read. Payload bytes come
//! from `payload.rs`, bit placement from `lowbits.rs`, PNG coding from
//! `image.rs`; this module decides sizes and the order of attempts.

use gvpie_raster::Canvas;

use crate::CartError;
use crate::chunk::{CHUNK_TYPE, find_chunk};
use crate::image::{PNG_SIGNATURE, decode_png, encode_rgba_with_chunk, upscale_rgba};
use crate::lowbits;
use crate::payload::{HEADER_LEN, parse_header, parse_payload, payload_bytes};

/// The largest side, in pixels, of a cartridge image: the largest canvas
/// side, so that [`decode_png`] can always read a cartridge back.
pub const MAX_CART_SIDE: u32 = gvpie_raster::MAX_SIDE;

/// The most pixels a cartridge image may have (2^24, a 4096x4096 square).
pub const MAX_CART_PIXELS: u64 = 1 << 24;

/// Where [`unpack`] found the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PayloadSource {
    /// In the `gvPx` chunk.
    Chunk,
    /// In the low bits of the pixels (the chunk was missing or damaged,
    /// typically because an image tool stripped it).
    LowBits,
}

/// A cartridge read back by [`unpack`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cartridge {
    /// The program's source text.
    pub source: String,
    /// Which copy of the payload it came from.
    pub found_in: PayloadSource,
    /// The image as decoded: the upscaled screen, low bits included.
    pub screen: Canvas,
}

/// Packs `source` into a cartridge PNG that shows `screen`.
///
/// The screen is upscaled by the smallest integer factor of at least 2
/// whose pixels' low bits (6 per pixel) hold the whole payload, so a bigger
/// program gives a bigger picture. Looking at the result, one sees the
/// screen; only the two lowest bits of each colour channel differ.
///
/// # Errors
///
/// [`CartError::TooLarge`] if `source` is over 4 MiB, or if the image would
/// need more than 4096 pixels a side or 2^24 pixels in all.
pub fn pack(source: &str, screen: &Canvas) -> Result<Vec<u8>, CartError> {
    pack_payload(&payload_bytes(source)?, screen)
}

/// Like [`pack`], but stores the given payload bytes as they are, in both
/// the chunk and the low bits.
///
/// [`pack`] is this plus [`payload_bytes`]; it exists so that tools and tests
/// can write payloads `pack` never would (another version, damaged bytes).
///
/// # Errors
///
/// [`CartError::TooLarge`] if the image would need more than 4096 pixels a
/// side or 2^24 pixels in all.
pub fn pack_payload(payload: &[u8], screen: &Canvas) -> Result<Vec<u8>, CartError> {
    let scale = cart_scale(screen.width(), screen.height(), payload.len())?;
    let mut rgba = upscale_rgba(screen, scale);
    if !lowbits::embed(&mut rgba, payload) {
        // cart_scale guarantees the capacity; this is a bug, not bad input.
        return Err(CartError::Png("internal error: the payload did not fit the pixels".to_owned()));
    }
    // cart_scale kept both sides <= 4096, so the products cannot overflow.
    let (w, h) = (screen.width() * scale, screen.height() * scale);
    encode_rgba_with_chunk(w, h, &rgba, CHUNK_TYPE, payload)
}

/// The smallest scale >= 2 whose low bits hold `payload_len` bytes.
fn cart_scale(width: u32, height: u32, payload_len: usize) -> Result<u32, CartError> {
    let (w, h) = (u64::from(width), u64::from(height));
    let needed_bits = (payload_len as u64).saturating_mul(8);
    // Capacity grows with the square of the scale and the sides of the screen
    // are at least 1, so the loop ends by scale ~2400 even for a 1x1 screen
    // and the largest payload; bounding it by the side limit is just as good.
    let mut scale = 2u64;
    while (w * scale) * (h * scale) * 6 < needed_bits && scale <= u64::from(MAX_CART_SIDE) {
        scale += 1;
    }
    let (out_w, out_h) = (w * scale, h * scale);
    let side = u64::from(MAX_CART_SIDE);
    if out_w > side || out_h > side || out_w * out_h > MAX_CART_PIXELS {
        let actual = if scale == 2 {
            format!("a {width}x{height} screen at the minimum scale of 2 is {out_w}x{out_h} pixels")
        } else if out_w * out_h * 6 < needed_bits {
            format!("a {width}x{height} screen cannot be scaled up enough to hold {payload_len} bytes of program")
        } else {
            format!(
                "holding {payload_len} bytes of program needs a {width}x{height} screen \
                 at scale {scale}, {out_w}x{out_h} pixels"
            )
        };
        return Err(CartError::TooLarge {
            what: "cartridge image",
            actual,
            limit: format!("{MAX_CART_SIDE} pixels a side and {MAX_CART_PIXELS} pixels in all"),
        });
    }
    // scale <= 4096 here, so it fits.
    Ok(scale as u32)
}

/// Reads the program out of a cartridge PNG.
///
/// The image is decoded first (the screen is part of the result, and a file
/// that is not a whole PNG is reported as such). Then the `gvPx` chunk is
/// tried, then the low bits; the first copy that reads cleanly wins. When
/// neither does, the error is the most useful one: a newer version from
/// either copy, else the chunk's problem, else the low bits' problem, which
/// is [`CartError::NotACartridge`] when they hold no payload at all.
///
/// # Errors
///
/// [`CartError::NotPng`], [`CartError::Truncated`], [`CartError::Png`] and
/// [`CartError::TooLarge`] from decoding; [`CartError::NotACartridge`],
/// [`CartError::NewerVersion`], [`CartError::Truncated`],
/// [`CartError::Corrupt`] and [`CartError::TooLarge`] from the payload.
pub fn unpack(png_bytes: &[u8]) -> Result<Cartridge, CartError> {
    if !png_bytes.starts_with(&PNG_SIGNATURE) {
        return Err(CartError::NotPng);
    }
    let screen = decode_png(png_bytes)?;

    let from_chunk = find_chunk(png_bytes, CHUNK_TYPE).map(|data| data.and_then(parse_payload));
    let chunk_err = match from_chunk {
        Some(Ok(source)) => {
            return Ok(Cartridge { source, found_in: PayloadSource::Chunk, screen });
        }
        Some(Err(e)) => Some(e),
        None => None,
    };

    let lowbits_err = match read_low_bits(screen.pixels()) {
        Ok(source) => return Ok(Cartridge { source, found_in: PayloadSource::LowBits, screen }),
        Err(e) => e,
    };

    Err(match (chunk_err, lowbits_err) {
        (Some(newer @ CartError::NewerVersion { .. }), _) => newer,
        (_, newer @ CartError::NewerVersion { .. }) => newer,
        (Some(chunk), _) => chunk,
        (None, low) => low,
    })
}

/// Parses the payload held in the low bits of `pixels`.
///
/// Reads the header first and then exactly the bytes it promises, so a
/// hostile length costs nothing beyond what the image could hold anyway
/// (at most 12 MiB for a 4096x4096 image).
fn read_low_bits(pixels: &[u32]) -> Result<String, CartError> {
    let capacity = lowbits::capacity_bytes(pixels.len());
    let header = parse_header(&lowbits::extract(pixels, HEADER_LEN))?;
    let total = header.total_len();
    if total > capacity {
        return Err(CartError::Truncated(format!(
            "the cartridge says its program is {} compressed bytes but the image's low bits hold only {}",
            header.body_len,
            capacity.saturating_sub(HEADER_LEN)
        )));
    }
    parse_payload(&lowbits::extract(pixels, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_is_the_smallest_that_fits_but_at_least_two() {
        // 10x10 at scale 2 holds 400 * 6 / 8 = 300 bytes.
        assert_eq!(cart_scale(10, 10, 0), Ok(2));
        assert_eq!(cart_scale(10, 10, 300), Ok(2));
        assert_eq!(cart_scale(10, 10, 301), Ok(3));
        // 1x1: scale s holds 6 s^2 / 8 bytes; 1000 bytes needs s = 37 (8214 bits >= 8000).
        assert_eq!(cart_scale(1, 1, 1000), Ok(37));
    }

    #[test]
    fn too_large_names_the_sizes() {
        let err = cart_scale(3000, 10, 1).expect_err("6000 wide");
        assert_eq!(
            err.to_string(),
            "cartridge image is too large: a 3000x10 screen at the minimum scale of 2 is 6000x20 pixels; \
             the limit is 4096 pixels a side and 16777216 pixels in all"
        );
        // Scale 2 gives 3000x3000 pixels, 6750000 bytes: one short of 7000000.
        let err = cart_scale(1500, 1500, 7_000_000).expect_err("needs scale 3");
        assert_eq!(
            err.to_string(),
            "cartridge image is too large: holding 7000000 bytes of program needs a 1500x1500 screen \
             at scale 3, 4500x4500 pixels; the limit is 4096 pixels a side and 16777216 pixels in all"
        );
        assert!(cart_scale(1, 4096, 2_000_000).is_err());
    }
}
