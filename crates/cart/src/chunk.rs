//! Finding the `gvPx` chunk in raw PNG bytes.
//!
//! The `png` decoder skips chunks it does not know without handing them
//! out, so the cartridge chunk is found by walking the chunk list here. The
//! walk only looks at lengths, types and CRCs, borrows from the input
//! (nothing is allocated) and always moves forward, so hostile lengths can
//! neither overflow nor loop. It does not decode the image; `image.rs` does.

use crate::CartError;

/// The cartridge chunk's type. By the PNG case rules: ancillary (`g`),
/// private (`v`), reserved bit clear (`P`), safe to copy (`x`), so editors
/// that keep unknown chunks are allowed to carry it along.
pub const CHUNK_TYPE: [u8; 4] = *b"gvPx";

/// The data of the first `chunk_type` chunk in `png` (which must start with
/// the 8-byte signature), or `None` if there is none before `IEND` or the
/// end of the data.
///
/// # Errors
///
/// [`CartError::Corrupt`] if the chunk is there but its CRC does not match.
pub(crate) fn find_chunk(png: &[u8], chunk_type: [u8; 4]) -> Option<Result<&[u8], CartError>> {
    let mut rest = png.get(8..)?;
    loop {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let (ty, tail) = tail.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        let data = tail.get(..len)?;
        let (crc, tail) = tail.get(len..)?.split_first_chunk::<4>()?;
        if *ty == chunk_type {
            let mut hasher = crc32fast::Hasher::new();
            hasher.update(ty);
            hasher.update(data);
            return Some(if hasher.finalize() == u32::from_be_bytes(*crc) {
                Ok(data)
            } else {
                Err(CartError::Corrupt(format!(
                    "the {} chunk's CRC does not match its data",
                    String::from_utf8_lossy(&chunk_type)
                )))
            });
        }
        if ty == b"IEND" {
            return None;
        }
        rest = tail;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(ty: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(ty);
        out.extend_from_slice(data);
        let mut h = crc32fast::Hasher::new();
        h.update(ty);
        h.update(data);
        out.extend_from_slice(&h.finalize().to_be_bytes());
        out
    }

    #[test]
    fn finds_checks_and_stops() {
        let mut png = vec![0u8; 8];
        png.extend(chunk(b"IHDR", &[1; 13]));
        png.extend(chunk(b"gvPx", b"hello"));
        png.extend(chunk(b"IEND", b""));
        assert_eq!(find_chunk(&png, CHUNK_TYPE), Some(Ok(&b"hello"[..])));
        assert_eq!(find_chunk(&png, *b"zzzz"), None);

        let at = png.len() - 12 - 4 - 1; // last CRC byte of gvPx
        png[at] ^= 1;
        assert!(matches!(find_chunk(&png, CHUNK_TYPE), Some(Err(CartError::Corrupt(_)))));
    }

    #[test]
    fn hostile_lengths_end_the_walk() {
        let mut png = vec![0u8; 8];
        png.extend_from_slice(&u32::MAX.to_be_bytes());
        png.extend_from_slice(b"gvPx");
        png.extend_from_slice(b"short");
        assert_eq!(find_chunk(&png, CHUNK_TYPE), None);
        assert_eq!(find_chunk(&png[..3], CHUNK_TYPE), None);
    }
}
