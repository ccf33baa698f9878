//! Hiding payload bytes in the two low bits of each colour channel.
//!
//! The bit order is fixed by the cartridge format: pixels row-major, inside a
//! pixel the channels R, G, B (alpha is never touched), and inside each
//! payload byte the bit pairs most-significant first. So byte `i` lives in
//! channel slots `4i..4i+4`, and slot `k` is channel `k % 3` of pixel
//! `k / 3`. Each pixel holds 6 bits, so an image of `p` pixels holds
//! `p * 6 / 8` whole bytes.
//!
//! This module moves bits and nothing else: it does not parse payloads,
//! choose image sizes or know about PNG.

/// How many whole payload bytes the low bits of `pixels` pixels can hold.
pub(crate) fn capacity_bytes(pixels: usize) -> usize {
    pixels.saturating_mul(6) / 8
}

/// Splits each byte into its four bit pairs, most significant first.
fn bit_pairs(bytes: &[u8]) -> impl Iterator<Item = u8> + '_ {
    bytes.iter().flat_map(|&b| [b >> 6, (b >> 4) & 3, (b >> 2) & 3, b & 3])
}

/// Writes `payload` into the low bits of row-major RGBA8 bytes.
///
/// Returns `false` (having written what fits) if `rgba` is too small; callers
/// size the image with [`capacity_bytes`] first, so that never happens. The
/// low bits after the payload keep the image's own values, which keeps the
/// picture as close to the screen as possible.
pub(crate) fn embed(rgba: &mut [u8], payload: &[u8]) -> bool {
    let mut slots = rgba.chunks_exact_mut(4).flat_map(|px| px.iter_mut().take(3));
    for pair in bit_pairs(payload) {
        let Some(slot) = slots.next() else { return false };
        *slot = (*slot & !3) | pair;
    }
    true
}

/// Reads the first `len` payload bytes back out of packed pixels (the
/// `r | g << 8 | b << 16 | a << 24` words of a canvas).
///
/// Returns fewer bytes when the pixels run out first; the caller compares
/// against [`capacity_bytes`] when that matters.
pub(crate) fn extract(pixels: &[u32], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len.min(capacity_bytes(pixels.len())));
    let slots = pixels.iter().flat_map(|&p| [p, p >> 8, p >> 16]);
    let mut byte = 0u8;
    for (k, slot) in slots.take(len.saturating_mul(4)).enumerate() {
        // `slot & 3` is at most 3, so the cast keeps it whole.
        byte = (byte << 2) | (slot & 3) as u8;
        if k % 4 == 3 {
            out.push(byte);
            byte = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(rgba: &[u8]) -> Vec<u32> {
        rgba.chunks_exact(4).map(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]])).collect()
    }

    #[test]
    fn bit_order_matches_the_spec() {
        // 0b11_10_01_00: pairs 3, 2, 1, 0 go to R, G, B of pixel 0, then R of pixel 1.
        let mut rgba = vec![0u8; 8];
        assert!(embed(&mut rgba, &[0b1110_0100]));
        assert_eq!(rgba, [3, 2, 1, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn embed_keeps_high_bits_alpha_and_trailing_low_bits() {
        let mut rgba = vec![0xFFu8; 4 * 4];
        assert!(embed(&mut rgba, &[0x00]));
        assert_eq!(rgba[..8], [0xFC, 0xFC, 0xFC, 0xFF, 0xFC, 0xFF, 0xFF, 0xFF]);
        assert!(rgba[8..].iter().all(|&b| b == 0xFF));
    }

    #[test]
    fn round_trip_and_capacity() {
        let payload: Vec<u8> = (0..=255).collect();
        let pixels = 342; // 342 * 6 / 8 = 256.5 -> 256 whole bytes
        assert_eq!(capacity_bytes(pixels), 256);
        let mut rgba: Vec<u8> = (0..pixels * 4).map(|i| (i * 37) as u8).collect();
        assert!(embed(&mut rgba, &payload));
        assert_eq!(extract(&pack(&rgba), payload.len()), payload);
        assert!(!embed(&mut rgba[..4 * 300], &payload), "too small must say so");
        assert_eq!(extract(&pack(&rgba[..4 * 8]), 100).len(), 6);
    }
}
