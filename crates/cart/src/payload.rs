//! The cartridge payload: a small header followed by the zlib-compressed
//! program source.
//!
//! The same payload bytes are stored twice in a cartridge (in the `gvPx`
//! chunk and in the pixels' low bits); this module only turns source text
//! into payload bytes and back. It knows nothing about PNGs or pixels.
//!
//! Layout (all integers little-endian; `docs/cartridge.md` is the full spec):
//!
//! | offset | size | field                                   |
//! |-------:|-----:|-----------------------------------------|
//! | 0      | 4    | magic `b"GVPC"`                         |
//! | 4      | 1    | format version, [`CART_VERSION`]        |
//! | 5      | 1    | flags, 0                                |
//! | 6      | 2    | reserved, 0                             |
//! | 8      | 4    | `n`, length of the compressed body      |
//! | 12     | 4    | CRC-32 of the *uncompressed* source     |
//! | 16     | `n`  | zlib stream of the UTF-8 source         |

use std::io::{Read, Write};

use flate2::Compression;
use flate2::bufread::ZlibDecoder;
use flate2::write::ZlibEncoder;

use crate::CartError;

/// The four bytes every payload starts with.
pub const MAGIC: [u8; 4] = *b"GVPC";

/// The payload format version this build writes, and the newest it reads.
pub const CART_VERSION: u8 = 1;

/// The length of the fixed payload header, before the compressed body.
pub const HEADER_LEN: usize = 16;

/// The largest program source, in bytes, that a cartridge may hold (4 MiB).
///
/// [`payload_bytes`] refuses larger sources, and [`parse_payload`] stops
/// decompressing one byte past it, so a zip bomb costs at most this much
/// memory.
pub const MAX_SOURCE_BYTES: usize = 4 * 1024 * 1024;

/// The header fields that matter once magic and version have been checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Length of the compressed body that follows the header.
    pub(crate) body_len: u32,
    /// CRC-32 of the uncompressed source.
    pub(crate) crc: u32,
}

impl Header {
    /// Header plus body: how many payload bytes this header promises.
    pub(crate) fn total_len(self) -> usize {
        // u32 always fits usize on the 32- and 64-bit targets gvpie supports.
        HEADER_LEN.saturating_add(self.body_len as usize)
    }
}

/// Reads the header at the start of `bytes`, which may be cut short.
///
/// The checks run in a fixed order, and the order is part of the format's
/// promise: magic first (is this a cartridge at all?), then the version byte
/// (so a payload from a newer gvpie is reported as such even if its header
/// has grown or this copy is cut short), and only then completeness.
pub(crate) fn parse_header(bytes: &[u8]) -> Result<Header, CartError> {
    let seen = bytes.len().min(MAGIC.len());
    if seen == 0 || bytes[..seen] != MAGIC[..seen] {
        return Err(CartError::NotACartridge);
    }
    if let Some(&version) = bytes.get(4) {
        check_version(version)?;
    }
    let Some(header) = bytes.get(..HEADER_LEN) else {
        return Err(CartError::Truncated(format!(
            "the cartridge header needs {HEADER_LEN} bytes but only {} are there",
            bytes.len()
        )));
    };
    // Flags (offset 5) and the reserved field (6..8) are deliberately not
    // checked: they exist for additions that older readers may ignore. Any
    // change an old reader would misread must bump the version instead.
    let word = |at: usize| u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
    Ok(Header { body_len: word(8), crc: word(12) })
}

fn check_version(version: u8) -> Result<(), CartError> {
    if version > CART_VERSION {
        return Err(CartError::NewerVersion { found: version, supported: CART_VERSION });
    }
    if version == 0 {
        // No gvpie ever wrote version 0, so this is damage, not age.
        return Err(CartError::Corrupt("format version 0 does not exist".to_owned()));
    }
    Ok(())
}

/// Builds the payload for `source`: header, then the zlib-compressed text.
///
/// This is what [`pack`](crate::pack) stores; it is public so that tools and
/// tests can build variants (for instance a newer-version payload) and hand
/// them to [`pack_payload`](crate::pack_payload).
///
/// # Errors
///
/// [`CartError::TooLarge`] if `source` is over [`MAX_SOURCE_BYTES`].
pub fn payload_bytes(source: &str) -> Result<Vec<u8>, CartError> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(source_too_large(format!("{} bytes", source.len())));
    }
    // Best compression: sources are small, and every byte saved is pixels
    // saved, since the low bits must hold the whole payload.
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
    // Writing into a Vec cannot fail; the mapping is only for completeness.
    let body = encoder
        .write_all(source.as_bytes())
        .and_then(|()| encoder.finish())
        .map_err(|e| CartError::Png(format!("compressing the source failed: {e}")))?;
    // A 4 MiB source deflates to well under 4 GiB, so this cannot fail either.
    let body_len =
        u32::try_from(body.len()).map_err(|_| source_too_large(format!("{} compressed bytes", body.len())))?;

    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&MAGIC);
    out.push(CART_VERSION);
    out.push(0); // flags
    out.extend_from_slice(&0u16.to_le_bytes()); // reserved
    out.extend_from_slice(&body_len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(source.as_bytes()).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads the program source back out of payload bytes.
///
/// Bytes after the body are ignored, because the low-bit copy of a payload
/// is always followed by whatever the rest of the image holds.
///
/// # Errors
///
/// * [`CartError::NotACartridge`] if the bytes do not start with the magic;
/// * [`CartError::NewerVersion`] if the version byte is above [`CART_VERSION`];
/// * [`CartError::Truncated`] if there are fewer bytes than the header says;
/// * [`CartError::TooLarge`] if the body inflates past [`MAX_SOURCE_BYTES`];
/// * [`CartError::Corrupt`] for bad zlib data, a CRC mismatch or non-UTF-8 text.
pub fn parse_payload(bytes: &[u8]) -> Result<String, CartError> {
    let header = parse_header(bytes)?;
    let Some(body) = bytes.get(HEADER_LEN..header.total_len()) else {
        return Err(CartError::Truncated(format!(
            "the cartridge says its program is {} compressed bytes but only {} are there",
            header.body_len,
            bytes.len() - HEADER_LEN
        )));
    };

    // `take` bounds the output: one byte past the limit is enough to know
    // that the limit was passed, whatever the body claims to inflate to.
    let limit = MAX_SOURCE_BYTES as u64 + 1;
    let mut source = Vec::new();
    ZlibDecoder::new(body)
        .take(limit)
        .read_to_end(&mut source)
        .map_err(|e| CartError::Corrupt(format!("the compressed program is damaged ({e})")))?;
    if source.len() > MAX_SOURCE_BYTES {
        return Err(source_too_large("more than that once decompressed".to_owned()));
    }

    let crc = crc32fast::hash(&source);
    if crc != header.crc {
        return Err(CartError::Corrupt(format!(
            "the program's checksum is {crc:#010x} but the cartridge says {:#010x}",
            header.crc
        )));
    }
    String::from_utf8(source).map_err(|_| CartError::Corrupt("the program is not valid UTF-8 text".to_owned()))
}

fn source_too_large(actual: String) -> CartError {
    CartError::TooLarge { what: "program source", actual, limit: format!("{MAX_SOURCE_BYTES} bytes (4 MiB)") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_are_where_the_spec_says() {
        let payload = payload_bytes("CLS 0").expect("small source");
        assert_eq!(&payload[0..4], b"GVPC");
        assert_eq!(payload[4], CART_VERSION);
        assert_eq!(payload[5], 0, "flags");
        assert_eq!(&payload[6..8], &[0, 0], "reserved");
        let body_len = u32::from_le_bytes([payload[8], payload[9], payload[10], payload[11]]);
        assert_eq!(body_len as usize, payload.len() - HEADER_LEN);
        let crc = u32::from_le_bytes([payload[12], payload[13], payload[14], payload[15]]);
        assert_eq!(crc, crc32fast::hash(b"CLS 0"));
    }

    #[test]
    fn round_trips_including_empty_and_trailing_bytes() {
        for source in ["", "x", "héllo wörld ✓ 🎨\n\0"] {
            let mut payload = payload_bytes(source).expect("small source");
            assert_eq!(parse_payload(&payload).as_deref(), Ok(source));
            payload.extend_from_slice(&[0xAA; 7]);
            assert_eq!(parse_payload(&payload).as_deref(), Ok(source));
        }
    }

    #[test]
    fn checks_run_magic_then_version_then_length() {
        assert_eq!(parse_payload(b""), Err(CartError::NotACartridge));
        assert_eq!(parse_payload(b"PNG!"), Err(CartError::NotACartridge));
        assert!(matches!(parse_payload(b"GV"), Err(CartError::Truncated(_))));
        // A newer version is reported even when the rest of the header is missing.
        assert_eq!(parse_payload(b"GVPC\x07"), Err(CartError::NewerVersion { found: 7, supported: CART_VERSION }));
        assert!(matches!(parse_payload(b"GVPC\x00"), Err(CartError::Corrupt(_))));
        assert!(matches!(parse_payload(b"GVPC\x01\0\0\0"), Err(CartError::Truncated(_))));
    }

    #[test]
    fn body_shorter_than_header_says_is_truncated() {
        let payload = payload_bytes("PRINT 1").expect("small source");
        let err = parse_payload(&payload[..payload.len() - 1]).expect_err("must fail");
        assert!(matches!(err, CartError::Truncated(_)), "{err}");
    }

    #[test]
    fn damage_is_corrupt() {
        let good = payload_bytes("PRINT 1").expect("small source");

        let mut bad_crc = good.clone();
        bad_crc[12] ^= 1;
        assert!(matches!(parse_payload(&bad_crc), Err(CartError::Corrupt(_))));

        let mut bad_zlib = good.clone();
        bad_zlib[HEADER_LEN] ^= 0xFF; // the zlib header byte
        assert!(matches!(parse_payload(&bad_zlib), Err(CartError::Corrupt(_))));

        // Well-formed zlib, valid CRC, but not UTF-8.
        let bytes = [0xFFu8, 0xFE];
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&bytes).expect("vec write");
        let body = enc.finish().expect("vec write");
        let mut not_utf8 = good[..8].to_vec();
        not_utf8.extend_from_slice(&(body.len() as u32).to_le_bytes());
        not_utf8.extend_from_slice(&crc32fast::hash(&bytes).to_le_bytes());
        not_utf8.extend_from_slice(&body);
        let err = parse_payload(&not_utf8).expect_err("must fail");
        assert_eq!(err.to_string(), "cartridge is corrupt: the program is not valid UTF-8 text");
    }

    #[test]
    fn zip_bomb_stops_at_the_source_limit() {
        // 8 MiB of zeros (twice the limit) deflates to about 8 KiB.
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..8 {
            enc.write_all(&zeros).expect("vec write");
        }
        let body = enc.finish().expect("vec write");
        let mut bomb = b"GVPC\x01\0\0\0".to_vec();
        bomb.extend_from_slice(&(body.len() as u32).to_le_bytes());
        bomb.extend_from_slice(&0u32.to_le_bytes());
        bomb.extend_from_slice(&body);
        let err = parse_payload(&bomb).expect_err("must fail");
        assert!(matches!(err, CartError::TooLarge { what: "program source", .. }), "{err}");
    }

    #[test]
    fn oversized_source_is_refused() {
        let source = "a".repeat(MAX_SOURCE_BYTES + 1);
        let err = payload_bytes(&source).expect_err("must fail");
        assert_eq!(err.to_string(), "program source is too large: 4194305 bytes; the limit is 4194304 bytes (4 MiB)");
        assert!(payload_bytes(&source[1..]).is_ok());
    }
}
