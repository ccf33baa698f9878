//! The reference CPU rasterizer of gvpie.
//!
//! A [`Canvas`] is an always-opaque RGBA8 image of 1x1 to
//! [`MAX_SIDE`]x[`MAX_SIDE`] pixels. Colours are [`Rgba`] values, blended
//! onto the canvas with one exact integer rule. The canvas draws points
//! ([`Canvas::pset`]), rectangles ([`Canvas::fill_rect`]), lines
//! ([`Canvas::line`]), circles ([`Canvas::circle`]), filled triangles
//! ([`Canvas::triangle`]) and text in the built-in 5x7 [`FONT`]
//! ([`Canvas::text`], [`Canvas::number`]).
//!
//! This crate is the specification that the GPU backend must match bit for
//! bit, so every rule is integer arithmetic with no floating point, and each
//! is written out in the docs of the module that implements it:
//!
//! * blending: [`color`];
//! * canvas size, opacity, clipping and RECT: [`canvas`];
//! * LINE, CIRC and TRI, and the [`COORD_LIMIT`] clamp: [`shapes`];
//! * TXT: [`text`], with the glyph layout in [`font`].
//!
//! Every drawing call accepts any `i32` arguments: off-canvas parts are
//! clipped, and nothing panics.
//!
//! # Example
//!
//! ```
//! use gvpie_raster::{Canvas, Rgba};
//!
//! let mut canvas = Canvas::new(16, 8)?;
//! canvas.fill_rect(-3, -3, 5, 5, Rgba::WHITE); // clipped to (0,0)..(2,2)
//! canvas.line(0, 7, 15, 7, Rgba::new(255, 0, 0, 255));
//! // Half-transparent white over black rounds to 128.
//! canvas.pset(10, 0, Rgba::new(255, 255, 255, 128));
//!
//! assert_eq!(canvas.get(1, 1), Some(Rgba::WHITE));
//! assert_eq!(canvas.get(2, 2), Some(Rgba::BLACK));
//! assert_eq!(canvas.get(15, 7), Some(Rgba::new(255, 0, 0, 255)));
//! assert_eq!(canvas.get(10, 0), Some(Rgba::new(128, 128, 128, 255)));
//! assert_eq!(canvas.get(16, 0), None);
//! assert_eq!(canvas.to_rgba8().len(), 16 * 8 * 4);
//! # Ok::<(), gvpie_raster::CanvasError>(())
//! ```

#![warn(missing_docs)]

pub mod canvas;
pub mod color;
pub mod font;
pub mod shapes;
pub mod text;

pub use canvas::{Canvas, CanvasError, MAX_SCALED_PIXELS, MAX_SIDE};
pub use color::Rgba;
pub use font::{FONT, GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyph};
pub use shapes::COORD_LIMIT;
