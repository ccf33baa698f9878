//! The one error type of this crate, [`CartError`].
//!
//! The messages are written for the person at the command line: the CLI
//! prints them as they are (and exits with status 2), so each one says what
//! is wrong with *their file* and, where there is something to do, what. This
//! module only defines the errors; which error a given file earns is decided
//! where the file is read (`payload.rs`, `cartridge.rs`, `image.rs`).

use thiserror::Error;

/// Everything that can go wrong while writing or reading PNGs and cartridges.
///
/// Matching code should keep a `_` arm: new variants may be added.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CartError {
    /// The bytes do not start with the PNG signature.
    #[error("not a PNG file")]
    NotPng,

    /// A readable PNG that carries no cartridge in either place.
    #[error("PNG has no gvpie cartridge (no gvPx chunk and no data in the low bits)")]
    NotACartridge,

    /// The data ends before it should: either the PNG stream itself, or a
    /// cartridge payload shorter than its own header says.
    #[error("file is truncated: {0}")]
    Truncated(String),

    /// The cartridge was written by a newer gvpie, in a format version this
    /// one cannot read.
    #[error("cartridge format version {found} is newer than this gvpie supports ({supported}); upgrade gvpie")]
    NewerVersion {
        /// The version byte found in the cartridge.
        found: u8,
        /// The newest version this build reads, [`CART_VERSION`](crate::CART_VERSION).
        supported: u8,
    },

    /// The cartridge is damaged: checksum mismatch, bad zlib data, source
    /// that is not UTF-8, or an impossible header field.
    #[error("cartridge is corrupt: {0}")]
    Corrupt(String),

    /// Something is over one of this crate's size limits (program source,
    /// cartridge image, or a PNG to decode).
    #[error("{what} is too large: {actual}; the limit is {limit}")]
    TooLarge {
        /// What was too large, e.g. `"program source"`.
        what: &'static str,
        /// Its size, in words, e.g. `"5000000 bytes"`.
        actual: String,
        /// The limit, in words, e.g. `"4194304 bytes (4 MiB)"`.
        limit: String,
    },

    /// [`encode_apng`](crate::encode_apng) was given no frames.
    #[error("an animation needs at least one frame, but none were given")]
    NoFrames,

    /// [`encode_apng`](crate::encode_apng) was given frames of different sizes.
    #[error(
        "animation frame {index} is {width}x{height} but frame 0 is \
         {expected_width}x{expected_height}; all frames must be the same size"
    )]
    FrameSizeMismatch {
        /// The index of the first frame whose size differs from frame 0.
        index: usize,
        /// Frame 0's width.
        expected_width: u32,
        /// Frame 0's height.
        expected_height: u32,
        /// The offending frame's width.
        width: u32,
        /// The offending frame's height.
        height: u32,
    },

    /// Any other complaint of the PNG decoder or encoder, in its own words.
    #[error("PNG error: {0}")]
    Png(String),
}
