//! Integration tests of gvpie-cart's public API, one module per topic.
//!
//! They use only what a caller has: the public functions, the `png` crate to
//! look inside the files, and PNG surgery helpers (`helpers.rs`) that imitate
//! what image tools do to cartridges. Unit tests of the internals live next
//! to the code in `src/`.

mod apng;
mod cartridge;
mod fixtures;
mod helpers;
mod messages;
mod props;
mod screenshot;
