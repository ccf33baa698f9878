//! Shared test helpers: screens to pack, and PNG surgery that imitates what
//! image tools do to a cartridge (strip chunks, re-save, edit a chunk).
//! Helpers here may panic: they only ever see PNGs the tests made.

use gvpie_cart::Canvas;

/// A `w` x `h` screen with a pattern that varies in every channel, so that
/// a misplaced bit or a swapped channel shows up.
pub fn screen(w: u32, h: u32) -> Canvas {
    let rgba: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            [(x * 29 + y * 3) as u8, (y * 31 + 7) as u8, (x ^ y).wrapping_mul(53) as u8, 255]
        })
        .collect();
    Canvas::from_rgba8(w, h, &rgba).expect("test screen has a valid size")
}

/// One PNG chunk: its type and data (length and CRC are recomputed).
pub type Chunk = ([u8; 4], Vec<u8>);

/// Splits a PNG into its chunks (after the signature).
pub fn chunks(png: &[u8]) -> Vec<Chunk> {
    let mut out = Vec::new();
    let mut rest = &png[8..];
    while rest.len() >= 12 {
        let len = u32::from_be_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
        let ty: [u8; 4] = rest[4..8].try_into().expect("4 bytes");
        out.push((ty, rest[8..8 + len].to_vec()));
        rest = &rest[12 + len..];
    }
    out
}

/// Joins chunks back into a PNG, with fresh lengths and CRCs.
pub fn assemble(chunks: &[Chunk]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (ty, data) in chunks {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(ty);
        out.extend_from_slice(data);
        let mut h = crc32fast::Hasher::new();
        h.update(ty);
        h.update(data);
        out.extend_from_slice(&h.finalize().to_be_bytes());
    }
    out
}

/// Drops every ancillary chunk (lowercase first letter), as `pngcrush -rem
/// alla` or a careless uploader does, leaving the pixels bit for bit.
pub fn strip_ancillary(png: &[u8]) -> Vec<u8> {
    let kept: Vec<Chunk> = chunks(png).into_iter().filter(|(ty, _)| ty[0].is_ascii_uppercase()).collect();
    assemble(&kept)
}

/// Decodes and re-encodes the image with the `png` crate, as an image
/// editor's "save as" does: only the pixels survive.
pub fn resave(png: &[u8]) -> Vec<u8> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().expect("our PNG decodes");
    let mut buf = vec![0; reader.output_buffer_size().expect("sane size")];
    let info = reader.next_frame(&mut buf).expect("our PNG decodes");
    assert_eq!(info.color_type, png::ColorType::Rgba, "cartridges are RGBA");

    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, info.width, info.height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("header");
    writer.write_image_data(&buf[..info.buffer_size()]).expect("pixels");
    writer.finish().expect("finish");
    out
}

/// Replaces the data of the `gvPx` chunk, keeping its CRC valid.
pub fn replace_chunk_data(png: &[u8], data: &[u8]) -> Vec<u8> {
    let mut all = chunks(png);
    let chunk = all.iter_mut().find(|(ty, _)| ty == b"gvPx").expect("has a gvPx chunk");
    chunk.1 = data.to_vec();
    assemble(&all)
}

/// The offset in `png` of the first byte of the `gvPx` chunk's data.
pub fn chunk_data_offset(png: &[u8]) -> usize {
    png.windows(4).position(|w| w == b"gvPx").expect("has a gvPx chunk") + 4
}

/// The payload [`gvpie_cart::payload_bytes`] makes, with the version byte changed.
pub fn payload_with_version(source: &str, version: u8) -> Vec<u8> {
    let mut payload = gvpie_cart::payload_bytes(source).expect("small source");
    payload[4] = version;
    payload
}
