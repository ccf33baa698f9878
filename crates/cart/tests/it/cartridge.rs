//! Cartridges end to end: both copies of the payload, what tools do to the
//! file, and every error a user can meet.

use gvpie_cart::{CART_VERSION, CartError, PayloadSource, pack, pack_payload, unpack};

use crate::helpers::{chunk_data_offset, payload_with_version, replace_chunk_data, resave, screen, strip_ancillary};

const SOURCE: &str = "CLS 1\nFOR I 0 9\n  TEXT I*8 0 \"héllo ✓\" 7\nNEXT\n";

#[test]
fn round_trip_through_the_chunk() {
    let screen = screen(16, 12);
    let cart = unpack(&pack(SOURCE, &screen).expect("packs")).expect("unpacks");
    assert_eq!(cart.source, SOURCE);
    assert_eq!(cart.found_in, PayloadSource::Chunk);
    assert_eq!((cart.screen.width(), cart.screen.height()), (32, 24), "scale 2 suffices");
}

#[test]
fn round_trip_through_the_low_bits_once_the_chunk_is_gone() {
    let png = pack(SOURCE, &screen(16, 12)).expect("packs");
    for (how, stripped) in [("strip", strip_ancillary(&png)), ("resave", resave(&png))] {
        assert!(!stripped.windows(4).any(|w| w == b"gvPx"), "{how} left the chunk");
        let cart = unpack(&stripped).expect("unpacks from the low bits");
        assert_eq!(cart.source, SOURCE, "{how}");
        assert_eq!(cart.found_in, PayloadSource::LowBits, "{how}");
    }
}

#[test]
fn the_image_looks_like_the_screen() {
    let screen = screen(16, 12);
    let cart = unpack(&pack(SOURCE, &screen).expect("packs")).expect("unpacks");
    let want = screen.scaled(2);
    assert_eq!(cart.screen.pixels().len(), want.pixels().len());
    for (i, (&got, &want)) in cart.screen.pixels().iter().zip(want.pixels()).enumerate() {
        // High 6 bits of R, G, B are the screen's; alpha is untouched.
        assert_eq!(got & 0xFFFC_FCFC, want & 0xFFFC_FCFC, "pixel {i}: {got:08x} vs {want:08x}");
    }
}

#[test]
fn a_bigger_program_gets_the_smallest_scale_that_holds_it() {
    // Incompressible text, so the payload is about as long as the source.
    let mut x: u32 = 1;
    let source: String = (0..3000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            char::from(b'!' + (x >> 16) as u8 % 90)
        })
        .collect();
    let payload_len = gvpie_cart::payload_bytes(&source).expect("small").len();
    let screen = screen(8, 8);
    let cart = unpack(&pack(&source, &screen).expect("packs")).expect("unpacks");
    assert_eq!(cart.source, source);
    let scale = (cart.screen.width() / 8) as usize;
    assert_eq!(cart.screen.height(), 8 * scale as u32);
    let capacity = |s: usize| 64 * s * s * 6 / 8;
    assert!(capacity(scale) >= payload_len, "scale {scale} must hold {payload_len} bytes");
    assert!(capacity(scale - 1) < payload_len, "scale {} would have held it", scale - 1);
}

#[test]
fn a_damaged_chunk_falls_back_to_the_low_bits() {
    let mut png = pack(SOURCE, &screen(16, 12)).expect("packs");
    let at = chunk_data_offset(&png) + 20;
    png[at] ^= 0x40; // inside the body: the chunk's CRC now fails
    let cart = unpack(&png).expect("the low bits are intact");
    assert_eq!(cart.source, SOURCE);
    assert_eq!(cart.found_in, PayloadSource::LowBits);
}

#[test]
fn the_chunk_wins_when_the_low_bits_are_damaged() {
    let png = pack(SOURCE, &screen(16, 12)).expect("packs");
    // Re-pack the same chunk over a screen whose low bits hold nothing useful.
    let plain = gvpie_cart::encode_png(&screen(16, 12), 2);
    let payload = gvpie_cart::payload_bytes(SOURCE).expect("small");
    let mut chunks = crate::helpers::chunks(&plain);
    chunks.insert(1, (*b"gvPx", payload));
    let chunk_only = crate::helpers::assemble(&chunks);
    for png in [png, chunk_only] {
        let cart = unpack(&png).expect("unpacks");
        assert_eq!((cart.source.as_str(), cart.found_in), (SOURCE, PayloadSource::Chunk));
    }
}

#[test]
fn a_newer_chunk_with_older_low_bits_reads_the_low_bits() {
    // The versioning policy: the first copy this gvpie can read wins, so a
    // future writer may keep a v1 copy in the pixels for old readers.
    let png = pack(SOURCE, &screen(16, 12)).expect("packs");
    let png = replace_chunk_data(&png, &payload_with_version("FUTURE", 2));
    let cart = unpack(&png).expect("low bits are version 1");
    assert_eq!((cart.source.as_str(), cart.found_in), (SOURCE, PayloadSource::LowBits));
}

#[test]
fn a_newer_version_is_reported_from_the_chunk_and_from_the_low_bits() {
    let png = pack_payload(&payload_with_version(SOURCE, 2), &screen(16, 12)).expect("packs");
    let want = "cartridge format version 2 is newer than this gvpie supports (1); upgrade gvpie";
    for file in [png.clone(), strip_ancillary(&png)] {
        let err = unpack(&file).expect_err("version 2 is unreadable");
        assert_eq!(err, CartError::NewerVersion { found: 2, supported: CART_VERSION });
        assert_eq!(err.to_string(), want);
    }
    // A newer version may change everything after the version byte.
    let mut future = b"GVPC\x09".to_vec();
    future.extend_from_slice(&[0xEE; 40]);
    let png = pack_payload(&future, &screen(4, 4)).expect("packs");
    for file in [png.clone(), strip_ancillary(&png)] {
        assert_eq!(
            unpack(&file).expect_err("version 9"),
            CartError::NewerVersion { found: 9, supported: CART_VERSION }
        );
    }
}

#[test]
fn a_crc_mismatch_is_corrupt() {
    let mut payload = gvpie_cart::payload_bytes(SOURCE).expect("small");
    payload[12] ^= 0x01;
    let png = pack_payload(&payload, &screen(16, 12)).expect("packs");
    for file in [png.clone(), strip_ancillary(&png)] {
        let err = unpack(&file).expect_err("bad crc");
        assert!(matches!(err, CartError::Corrupt(_)), "{err:?}");
        assert!(err.to_string().starts_with("cartridge is corrupt: the program's checksum is"));
    }
}

#[test]
fn a_payload_longer_than_the_image_is_truncated() {
    // The header claims a body far larger than the low bits of 4x4 at scale 2.
    let mut payload = gvpie_cart::payload_bytes("x").expect("small");
    payload[8..12].copy_from_slice(&1_000_000u32.to_le_bytes());
    let png = strip_ancillary(&pack_payload(&payload, &screen(4, 4)).expect("packs"));
    let err = unpack(&png).expect_err("claims too much");
    assert!(matches!(err, CartError::Truncated(_)), "{err:?}");
}

#[test]
fn a_plain_png_is_not_a_cartridge() {
    let png = gvpie_cart::encode_png(&screen(16, 12), 3);
    let err = unpack(&png).expect_err("no payload");
    assert_eq!(err, CartError::NotACartridge);
    assert_eq!(err.to_string(), "PNG has no gvpie cartridge (no gvPx chunk and no data in the low bits)");
}

#[test]
fn random_bytes_are_not_a_png() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    assert_eq!(unpack(&bytes), Err(CartError::NotPng));
    assert_eq!(unpack(b""), Err(CartError::NotPng));
    assert_eq!(unpack(b"\x89PNG"), Err(CartError::NotPng));
    assert_eq!(CartError::NotPng.to_string(), "not a PNG file");
}

#[test]
fn a_file_cut_anywhere_is_truncated_not_a_panic() {
    let png = pack(SOURCE, &screen(8, 6)).expect("packs");
    for cut in 0..png.len() {
        match unpack(&png[..cut]) {
            Err(CartError::NotPng) => assert!(cut < 8, "cut at {cut}"),
            // Even a cut inside IEND, after all the pixels, is noticed.
            Err(CartError::Truncated(msg)) => assert_eq!(msg, "the PNG data ends early"),
            other => panic!("cut at {cut} of {}: {other:?}", png.len()),
        }
    }
    assert!(unpack(&png).is_ok());
}

#[test]
fn the_pixels_can_be_read_back_by_any_png_decoder() {
    let png = pack(SOURCE, &screen(16, 12)).expect("packs");
    let decoder = png::Decoder::new(std::io::Cursor::new(&png));
    let reader = decoder.read_info().expect("a standard PNG");
    let info = reader.info();
    assert_eq!((info.width, info.height), (32, 24));
    assert_eq!(info.color_type, png::ColorType::Rgba);
    // The chunk is ancillary, private and safe to copy.
    let ty = png::chunk::ChunkType(*b"gvPx");
    assert!(!png::chunk::is_critical(ty));
    assert!(png::chunk::is_private(ty));
    assert!(png::chunk::safe_to_copy(ty));
}

#[test]
fn too_large_inputs_are_refused_with_sizes() {
    let source = "x".repeat(gvpie_cart::MAX_SOURCE_BYTES + 1);
    let err = pack(&source, &screen(4, 4)).expect_err("source too large");
    assert!(matches!(err, CartError::TooLarge { what: "program source", .. }), "{err:?}");

    let err = pack("x", &screen(2100, 10)).expect_err("screen too large");
    assert_eq!(
        err.to_string(),
        "cartridge image is too large: a 2100x10 screen at the minimum scale of 2 is 4200x20 \
         pixels; the limit is 4096 pixels a side and 16777216 pixels in all"
    );
}
