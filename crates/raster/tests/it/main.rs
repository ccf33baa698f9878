//! Integration tests of gvpie-raster through its public API only.
//!
//! `art` pins exact pixels of every shape as ASCII art (expect-test),
//! `font` compares the whole font to a golden file, and `props` checks with
//! proptest that nothing panics, that the symmetry properties hold, and that
//! the fast row-based implementations cover exactly the pixels that the
//! per-pixel rules in the module docs describe (`model`).

mod art;
mod font;
mod model;
mod props;
