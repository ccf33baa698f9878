//! PNG output for gvpie: screenshots, animations, and program cartridges.
//!
//! * [`encode_png`] writes a [`Canvas`] as an upscaled RGBA PNG screenshot,
//!   and [`encode_apng`] writes several as a looping animated PNG.
//! * [`decode_png`] reads an ordinary PNG back into a [`Canvas`], within a
//!   fixed memory budget whatever the file claims.
//! * [`pack`] and [`unpack`] make and read *cartridges*: a single PNG that
//!   shows the program's screen and carries its PXL source twice, in a
//!   private `gvPx` chunk and in the two low bits of every colour channel,
//!   so that it survives image tools that strip unknown chunks. [`unpack`]
//!   returns a [`Cartridge`] that says which copy it read
//!   ([`PayloadSource`]).
//! * [`payload_bytes`], [`parse_payload`] and [`pack_payload`] expose the
//!   payload itself, for tools and tests that need variants of it.
//!
//! Every failure is a [`CartError`], whose messages are meant to be shown
//! to users as they are. Nothing here panics on input bytes, and hostile
//! input is bounded: decoding stays within about 256 MiB and a cartridge's
//! source within [`MAX_SOURCE_BYTES`] however it is compressed. The format
//! is specified in `docs/cartridge.md`.
//!
//! This crate does not render programs or run them: the caller draws the
//! screen (with `gvpie-raster`) and hands over the source text.
//!
//! # Example
//!
//! ```
//! use gvpie_cart::{PayloadSource, pack, unpack};
//! use gvpie_raster::{Canvas, Rgba};
//!
//! let mut screen = Canvas::new(32, 24)?;
//! screen.fill_rect(4, 4, 8, 8, Rgba::WHITE);
//!
//! let png = pack("CLS 0\nRECT 4 4 8 8 7\n", &screen)?;
//! let cart = unpack(&png)?;
//! assert_eq!(cart.source, "CLS 0\nRECT 4 4 8 8 7\n");
//! assert_eq!(cart.found_in, PayloadSource::Chunk);
//! // The smallest scale is 2; only the low bits differ from the screen.
//! assert_eq!((cart.screen.width(), cart.screen.height()), (64, 48));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod cartridge;
mod chunk;
mod error;
mod image;
mod lowbits;
mod payload;

pub use cartridge::{Cartridge, MAX_CART_PIXELS, MAX_CART_SIDE, PayloadSource, pack, pack_payload, unpack};
pub use chunk::CHUNK_TYPE;
pub use error::CartError;
pub use image::{
    MAX_DECODE_SIDE, MAX_OUTPUT_PIXELS, MAX_SCALE, decode_png, decode_rgba, encode_apng, encode_png, encode_rgba,
};
pub use payload::{CART_VERSION, HEADER_LEN, MAGIC, MAX_SOURCE_BYTES, parse_payload, payload_bytes};

// Re-exported so that callers can name the image type without a direct
// dependency on gvpie-raster.
pub use gvpie_raster::Canvas;
