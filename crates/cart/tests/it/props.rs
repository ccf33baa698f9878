//! Property tests: round trips for any text, and no panics on any bytes.

use std::sync::LazyLock;

use gvpie_cart::{PayloadSource, pack, unpack};
use proptest::prelude::*;

use crate::helpers::{screen, strip_ancillary};

/// One small cartridge to mutate (built once: packing is the slow part).
static CART: LazyLock<Vec<u8>> =
    LazyLock::new(|| pack("CLS 3\nTEXT 0 0 \"mutate me\" 7\n", &screen(6, 5)).expect("packs"));

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_text_round_trips(source in any::<String>(), w in 1u32..12, h in 1u32..12) {
        let png = pack(&source, &screen(w, h)).expect("small sources always fit");
        let cart = unpack(&png).expect("unpacks");
        prop_assert_eq!(&cart.source, &source);
        prop_assert_eq!(cart.found_in, PayloadSource::Chunk);

        let cart = unpack(&strip_ancillary(&png)).expect("unpacks without the chunk");
        prop_assert_eq!(&cart.source, &source);
        prop_assert_eq!(cart.found_in, PayloadSource::LowBits);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), png_start in any::<bool>()) {
        let mut input = if png_start { b"\x89PNG\r\n\x1a\n".to_vec() } else { Vec::new() };
        input.extend_from_slice(&bytes);
        let _ = unpack(&input);
        let _ = gvpie_cart::decode_png(&input);
        let _ = gvpie_cart::parse_payload(&bytes);
    }

    #[test]
    fn mutated_cartridges_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..8),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut png = CART.clone();
        for (at, xor) in edits {
            let i = at.index(png.len());
            png[i] ^= xor;
        }
        if let Some(cut) = cut {
            png.truncate(cut.index(png.len()));
        }
        let _ = unpack(&png);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Damage inside the payload itself, with every PNG checksum intact, so
    /// that the cartridge parser (not the PNG decoder) meets it, in both copies.
    #[test]
    fn mutated_payloads_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut payload = gvpie_cart::payload_bytes("CLS 3\nTEXT 0 0 \"mutate me\" 7\n").expect("small");
        for (at, value) in edits {
            let i = at.index(payload.len());
            payload[i] = value;
        }
        if let Some(cut) = cut {
            payload.truncate(cut.index(payload.len()));
        }
        let _ = gvpie_cart::parse_payload(&payload);
        let png = gvpie_cart::pack_payload(&payload, &screen(6, 5)).expect("small payload fits");
        let _ = unpack(&png);
        let _ = unpack(&strip_ancillary(&png));
    }
}
