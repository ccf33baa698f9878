//! Tests that keep gvpie's architecture as `ARCHITECTURE.md` states it; this crate has no code.
//!
//! Its one test binary, `tests/it`, reads the workspace from the outside and fails when a rule
//! breaks:
//!
//! - `crate_arrows`: from `cargo metadata`, no forbidden dependency between crates:
//!   `gvpie-raster` depends on no workspace crate and `gvpie-pxl` only on `gvpie-raster`; only
//!   `gvpie-store` depends on a database driver; `gvpie-evolve` depends on no IO crate (its
//!   dev-dependencies included); the CLI does not depend on `gvpie-gpu` (it runs programs
//!   through `gvpie-exec`); the server does not depend on `gvpie-daemon`.
//! - `evolve_io`: no file of `gvpie-evolve` (`src/`, tests included, and `tests/`) uses
//!   `std::fs`, `std::net`, `File::open`, `File::create`, `Instant::now` or `SystemTime::now`:
//!   the clock and the data come from the caller.
//! - `module_docs`: every `.rs` file under `crates/*/src` opens with a `//!` doc.
//!
//! Each checker is a pure function over text or the parsed metadata, and each has a test that
//! feeds it a small synthetic input breaking the rule and pins the exact message.
//! `cargo test -p gvpie-architecture` runs them all.
