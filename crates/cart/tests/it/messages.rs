//! Every user-facing error message in one snapshot, since the CLI prints
//! them verbatim. Update with `UPDATE_EXPECT=1 cargo test -p gvpie-cart`.

use expect_test::expect;
use gvpie_cart::CartError;

#[test]
fn error_messages() {
    let errors = [
        CartError::NotPng,
        CartError::NotACartridge,
        CartError::Truncated("the PNG data ends early".to_owned()),
        CartError::NewerVersion { found: 2, supported: 1 },
        CartError::Corrupt("the program is not valid UTF-8 text".to_owned()),
        CartError::TooLarge {
            what: "program source",
            actual: "4194305 bytes".to_owned(),
            limit: "4194304 bytes (4 MiB)".to_owned(),
        },
        CartError::NoFrames,
        CartError::FrameSizeMismatch { index: 1, expected_width: 8, expected_height: 8, width: 4, height: 4 },
        CartError::Png("invalid signature".to_owned()),
    ];
    let text: String = errors.iter().map(|e| format!("{e}\n")).collect();
    expect![[r#"
        not a PNG file
        PNG has no gvpie cartridge (no gvPx chunk and no data in the low bits)
        file is truncated: the PNG data ends early
        cartridge format version 2 is newer than this gvpie supports (1); upgrade gvpie
        cartridge is corrupt: the program is not valid UTF-8 text
        program source is too large: 4194305 bytes; the limit is 4194304 bytes (4 MiB)
        an animation needs at least one frame, but none were given
        animation frame 1 is 4x4 but frame 0 is 8x8; all frames must be the same size
        PNG error: invalid signature
    "#]]
    .assert_eq(&text);
}
