//! Plain PNG input and output: screenshots, animations and decoding.
//!
//! Encoding upscales a [`Canvas`] nearest-neighbour (one upscaled frame in
//! memory at a time, at most 2^26 pixels by the scale clamp); decoding turns
//! any 8-bit-or-less RGBA/RGB/grey/palette PNG (16-bit is reduced) into a
//! canvas under a fixed memory budget. This module knows nothing about
//! cartridges beyond offering the one extra-chunk hook they need.

use std::io::Cursor;

use gvpie_raster::Canvas;
use png::{BitDepth, ColorType, Decoder, DecodingError, Limits, Transformations};

use crate::CartError;

/// The largest scale [`encode_png`] and [`encode_apng`] accept; larger ones
/// are clamped to it.
pub const MAX_SCALE: u32 = 64;

/// The most pixels an encoded screenshot may have (2^26), the same cap that
/// [`Canvas::scaled`] applies; a larger request has its scale reduced.
pub const MAX_OUTPUT_PIXELS: u64 = gvpie_raster::MAX_SCALED_PIXELS;

/// The largest PNG side [`decode_png`] accepts: the largest canvas side.
pub const MAX_DECODE_SIDE: u32 = gvpie_raster::MAX_SIDE;

/// What the `png` decoder itself may allocate (line buffers and the like).
/// Together with the output buffer and the canvas, both at most 64 MiB for
/// a 4096x4096 image, decoding stays within about 256 MiB.
const DECODER_MEMORY: usize = 128 * 1024 * 1024;

/// The scale really used for a `width` x `height` canvas: `scale` clamped to
/// `1..=MAX_SCALE`, then lowered until the output fits [`MAX_OUTPUT_PIXELS`].
pub(crate) fn effective_scale(width: u32, height: u32, scale: u32) -> u32 {
    let pixels = (u64::from(width) * u64::from(height)).max(1);
    let fit = (MAX_OUTPUT_PIXELS / pixels).isqrt().max(1);
    // The result is <= MAX_SCALE, so the cast is lossless.
    u64::from(scale).clamp(1, fit.min(u64::from(MAX_SCALE))) as u32
}

/// Widens one row of RGBA8 bytes `scale` times, nearest-neighbour.
fn widen_row(row: &[u8], scale: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(row.len() * scale as usize);
    for px in row.chunks_exact(4) {
        for _ in 0..scale {
            out.extend_from_slice(px);
        }
    }
    out
}

/// The whole canvas upscaled, as row-major RGBA8 bytes. Only for scales the
/// caller has already bounded ([`effective_scale`], or the cartridge limits).
pub(crate) fn upscale_rgba(canvas: &Canvas, scale: u32) -> Vec<u8> {
    let src = canvas.to_rgba8();
    let row_len = canvas.width() as usize * 4;
    let mut out = Vec::with_capacity(src.len() * (scale as usize).pow(2));
    for row in src.chunks_exact(row_len) {
        let wide = widen_row(row, scale);
        for _ in 0..scale {
            out.extend_from_slice(&wide);
        }
    }
    out
}

/// Encodes `canvas` as an RGBA8 PNG, upscaled nearest-neighbour by `scale`.
///
/// `scale` is clamped to `1..=64` (0 counts as 1), and then, like
/// `Canvas::scaled`, lowered until the image has at most 2^26 pixels (an
/// 8192x8192 square), so a large canvas with a large scale yields a smaller
/// image rather than an unbounded one. The canvas is opaque, so every alpha
/// byte is 255.
///
/// # Panics
///
/// Never in practice: encoding into memory can only fail for sizes that a
/// canvas and the clamped scale cannot produce.
pub fn encode_png(canvas: &Canvas, scale: u32) -> Vec<u8> {
    // Canvas sides are 1..=4096 and the output has at most 2^26 pixels, so
    // every size the encoder checks is valid, and a Vec never refuses writes.
    encode_frames(std::slice::from_ref(canvas), 0, scale).expect("encoding a canvas into memory cannot fail")
}

/// Encodes `frames` as an animated PNG (APNG) that loops forever, each frame
/// shown for `delay_ms` milliseconds, upscaled like [`encode_png`].
///
/// One frame gives a still PNG (no animation chunks). A delay of 0 asks
/// viewers to go as fast as they can; many instead use a default of their
/// own. Viewers without APNG support show the first frame.
///
/// # Errors
///
/// [`CartError::NoFrames`] for an empty slice, and
/// [`CartError::FrameSizeMismatch`] unless every frame has frame 0's size.
pub fn encode_apng(frames: &[Canvas], delay_ms: u16, scale: u32) -> Result<Vec<u8>, CartError> {
    let first = frames.first().ok_or(CartError::NoFrames)?;
    let (w, h) = (first.width(), first.height());
    if let Some((index, bad)) = frames.iter().enumerate().find(|(_, f)| (f.width(), f.height()) != (w, h)) {
        return Err(CartError::FrameSizeMismatch {
            index,
            expected_width: w,
            expected_height: h,
            width: bad.width(),
            height: bad.height(),
        });
    }
    encode_frames(frames, delay_ms, scale)
}

/// The shared encoder: all frames (already checked to be one size), one
/// upscaled frame in memory at a time. More than one frame makes an APNG.
///
/// Frames go through `write_image_data` rather than the `png` crate's
/// stream writer, whose frame changes (png 0.18) mislabel the second frame's
/// chunks and carry the previous frame's last row into its filtering.
fn encode_frames(frames: &[Canvas], delay_ms: u16, scale: u32) -> Result<Vec<u8>, CartError> {
    let Some(first) = frames.first() else { return Err(CartError::NoFrames) };
    let (w, h) = (first.width(), first.height());
    let scale = effective_scale(w, h, scale);
    // w, h <= 4096 and scale <= 64, so neither product overflows.
    let (out_w, out_h) = (w * scale, h * scale);

    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, out_w, out_h);
    encoder.set_color(ColorType::Rgba);
    encoder.set_depth(BitDepth::Eight);
    // Screenshots are written often (every run with -o, every frame); fdeflate-based `Fast`
    // is several times quicker than the default for a few percent more bytes.
    encoder.set_compression(png::Compression::Fast);
    if frames.len() > 1 {
        let count =
            u32::try_from(frames.len()).map_err(|_| CartError::Png(format!("{} frames is too many", frames.len())))?;
        encoder.set_animated(count, 0).map_err(encode_err)?; // 0 plays = loop forever
        encoder.set_frame_delay(delay_ms, 1000).map_err(encode_err)?;
    }
    let mut writer = encoder.write_header().map_err(encode_err)?;
    for frame in frames {
        writer.write_image_data(&upscale_rgba(frame, scale)).map_err(encode_err)?;
    }
    writer.finish().map_err(encode_err)?;
    Ok(out)
}

/// Encodes RGBA8 bytes as a still PNG with one extra chunk written right
/// after the header (before the image data, so readers meet it early).
pub(crate) fn encode_rgba_with_chunk(
    width: u32,
    height: u32,
    rgba: &[u8],
    chunk_type: [u8; 4],
    chunk_data: &[u8],
) -> Result<Vec<u8>, CartError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(ColorType::Rgba);
    encoder.set_depth(BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(encode_err)?;
    writer.write_chunk(png::chunk::ChunkType(chunk_type), chunk_data).map_err(encode_err)?;
    writer.write_image_data(rgba).map_err(encode_err)?;
    writer.finish().map_err(encode_err)?;
    Ok(out)
}

fn encode_err(e: png::EncodingError) -> CartError {
    CartError::Png(e.to_string())
}

/// The eight bytes every PNG file starts with.
pub(crate) const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

/// Decodes a PNG into a canvas.
///
/// Accepts greyscale, grey+alpha, RGB, RGBA and palette images of any bit
/// depth (16-bit channels keep their high byte); greys become equal R, G, B.
/// Alpha is dropped, since a canvas is always opaque. For an animated PNG
/// this is the default image (the first frame, usually).
///
/// Memory is bounded whatever the bytes say: the size is checked from the
/// header before any pixel buffer exists, text and ICC chunks are skipped
/// unread, and the decoder's own allocations are capped, for about 256 MiB
/// at worst.
///
/// # Errors
///
/// * [`CartError::NotPng`] if the PNG signature is missing;
/// * [`CartError::TooLarge`] above 4096 pixels a side (no canvas can hold it);
/// * [`CartError::Truncated`] if the data ends before the image does;
/// * [`CartError::Png`] for any other decoding problem.
pub fn decode_png(bytes: &[u8]) -> Result<Canvas, CartError> {
    let (width, height, rgba) = decode_rgba(bytes)?;
    Canvas::from_rgba8(width, height, &rgba).map_err(|e| CartError::Png(e.to_string()))
}

/// Decodes a PNG into its exact RGBA8 bytes, alpha kept (grey and RGB images get alpha 255).
///
/// This is the reader for images whose bytes are data, such as machine textures; it has the
/// same limits and errors as [`decode_png`].
pub fn decode_rgba(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), CartError> {
    if !bytes.starts_with(&PNG_SIGNATURE) {
        return Err(CartError::NotPng);
    }
    let mut decoder = Decoder::new_with_limits(Cursor::new(bytes), Limits { bytes: DECODER_MEMORY });
    decoder.set_transformations(Transformations::normalize_to_color8());
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);

    let header = decoder.read_header_info().map_err(decode_err)?;
    let (width, height) = (header.width, header.height);
    if width > MAX_DECODE_SIDE || height > MAX_DECODE_SIDE {
        return Err(CartError::TooLarge {
            what: "PNG image",
            actual: format!("{width}x{height} pixels"),
            limit: format!("{MAX_DECODE_SIDE}x{MAX_DECODE_SIDE} pixels, the largest canvas"),
        });
    }

    let mut reader = decoder.read_info().map_err(decode_err)?;
    // At most 4096 * 4096 * 4 bytes, by the check above.
    let size = reader.output_buffer_size().ok_or_else(memory_too_large)?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(decode_err)?;
    // Reading on to IEND is what notices a file cut short after the pixels.
    reader.finish().map_err(decode_err)?;
    buf.truncate(info.buffer_size());

    if info.bit_depth != BitDepth::Eight {
        return Err(CartError::Png(format!("unsupported bit depth {:?}", info.bit_depth)));
    }
    let rgba = match info.color_type {
        ColorType::Rgba => buf,
        ColorType::Rgb => buf.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
        ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g, 255]).collect(),
        ColorType::GrayscaleAlpha => buf.chunks_exact(2).flat_map(|p| [p[0], p[0], p[0], p[1]]).collect(),
        // EXPAND turns palettes into RGB(A), so this is only for completeness.
        ColorType::Indexed => {
            return Err(CartError::Png("palette image was not expanded".to_owned()));
        }
    };
    Ok((info.width, info.height, rgba))
}

/// Encodes exact RGBA8 bytes (alpha kept) as a PNG, `width` × `height` pixels.
///
/// # Errors
///
/// [`CartError::Png`] when the byte count is not `width * height * 4` or a side is 0.
pub fn encode_rgba(width: u32, height: u32, rgba: &[u8]) -> Result<Vec<u8>, CartError> {
    if width == 0 || height == 0 || rgba.len() as u64 != u64::from(width) * u64::from(height) * 4 {
        return Err(CartError::Png(format!("{} bytes are not a {width}x{height} RGBA image", rgba.len())));
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(ColorType::Rgba);
    encoder.set_depth(BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| CartError::Png(e.to_string()))?;
    writer.write_image_data(rgba).map_err(|e| CartError::Png(e.to_string()))?;
    writer.finish().map_err(|e| CartError::Png(e.to_string()))?;
    Ok(out)
}

fn memory_too_large() -> CartError {
    CartError::TooLarge {
        what: "PNG image",
        actual: "decoding it needs more memory than allowed".to_owned(),
        limit: format!("{} MiB for the decoder", DECODER_MEMORY / (1024 * 1024)),
    }
}

fn decode_err(e: DecodingError) -> CartError {
    match e {
        DecodingError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            CartError::Truncated("the PNG data ends early".to_owned())
        }
        DecodingError::LimitsExceeded => memory_too_large(),
        other => CartError::Png(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canvas(w: u32, h: u32) -> Canvas {
        let rgba: Vec<u8> = (0..w * h * 4).map(|i| (i * 7 % 251) as u8).collect();
        Canvas::from_rgba8(w, h, &rgba).expect("valid size")
    }

    #[test]
    fn scale_is_clamped() {
        assert_eq!(effective_scale(10, 10, 0), 1);
        assert_eq!(effective_scale(10, 10, 3), 3);
        assert_eq!(effective_scale(10, 10, 1000), MAX_SCALE);
        // 4096^2 is already 2^24 pixels: only 2x fits in 2^26.
        assert_eq!(effective_scale(4096, 4096, 64), 2);
        assert_eq!(effective_scale(4096, 1, 64), 64);
    }

    #[test]
    fn encode_then_decode_is_the_upscaled_canvas() {
        let c = canvas(5, 3);
        for scale in [1, 2, 3] {
            let png = encode_png(&c, scale);
            let back = decode_png(&png).expect("our own PNG decodes");
            assert_eq!(back, c.scaled(scale));
        }
    }

    #[test]
    fn decodes_grey_and_rgb() {
        let encode = |color: ColorType, data: &[u8]| {
            let mut out = Vec::new();
            let mut enc = png::Encoder::new(&mut out, 2, 1);
            enc.set_color(color);
            enc.set_depth(BitDepth::Eight);
            let mut w = enc.write_header().expect("header");
            w.write_image_data(data).expect("data");
            w.finish().expect("finish");
            out
        };
        let grey = decode_png(&encode(ColorType::Grayscale, &[10, 200])).expect("grey");
        assert_eq!(grey.to_rgba8(), [10, 10, 10, 255, 200, 200, 200, 255]);
        let rgb = decode_png(&encode(ColorType::Rgb, &[1, 2, 3, 4, 5, 6])).expect("rgb");
        assert_eq!(rgb.to_rgba8(), [1, 2, 3, 255, 4, 5, 6, 255]);
        let ga = decode_png(&encode(ColorType::GrayscaleAlpha, &[9, 0, 8, 128])).expect("ga");
        assert_eq!(ga.to_rgba8(), [9, 9, 9, 255, 8, 8, 8, 255]);
    }

    #[test]
    fn huge_header_is_refused_before_allocating() {
        let mut out = Vec::new();
        let enc = png::Encoder::new(&mut out, 5000, 1);
        // Only the header is written; the size check must fire before pixels are needed.
        drop(enc.write_header().expect("header"));
        let err = decode_png(&out).expect_err("too wide");
        assert_eq!(
            err.to_string(),
            "PNG image is too large: 5000x1 pixels; the limit is 4096x4096 pixels, the largest canvas"
        );
    }

    #[test]
    fn not_png() {
        assert_eq!(decode_png(b"GIF89a"), Err(CartError::NotPng));
        assert_eq!(decode_png(b""), Err(CartError::NotPng));
    }
}
