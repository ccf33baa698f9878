//! Cartridges made by an earlier build, kept in `test_data/cart/`: every
//! later gvpie must still read them, so the format cannot drift unnoticed.
//!
//! To (re)make them after a deliberate format change (which also means a
//! new version number): `GVPIE_BLESS=1 cargo test -p gvpie-cart fixtures`.

use std::path::PathBuf;

use gvpie_cart::{PayloadSource, unpack};

const SOURCE: &str = "; hello, cartridge\nCLS 1\nTEXT 2 2 \"HI ✓\" 7\n";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test_data/cart")
}

#[test]
fn fixtures_still_unpack() {
    let files = [("hello.png", PayloadSource::Chunk), ("hello-stripped.png", PayloadSource::LowBits)];
    if std::env::var_os("GVPIE_BLESS").is_some() {
        let png = gvpie_cart::pack(SOURCE, &crate::helpers::screen(12, 8)).expect("packs");
        std::fs::create_dir_all(dir()).expect("mkdir");
        std::fs::write(dir().join(files[0].0), &png).expect("write");
        std::fs::write(dir().join(files[1].0), crate::helpers::strip_ancillary(&png)).expect("write");
    }
    for (name, found_in) in files {
        let bytes = std::fs::read(dir().join(name)).expect("fixture exists");
        let cart = unpack(&bytes).expect("fixture unpacks");
        assert_eq!((cart.source.as_str(), cart.found_in), (SOURCE, found_in), "{name}");
        assert_eq!((cart.screen.width(), cart.screen.height()), (24, 16), "{name}");
    }
}
