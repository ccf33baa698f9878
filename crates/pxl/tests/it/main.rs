//! Integration tests of gvpie-pxl through its public API only.
//!
//! Most tests go through the helpers in `util`: `check` runs a program on a small canvas and
//! compares its outcome and pixels (ASCII art) with an inline expect-test snapshot, `values`
//! prints the variables a program ends with. `UPDATE_EXPECT=1 cargo test -p gvpie-pxl` rewrites
//! the snapshots; read the diff before committing it.

/// Shared helpers: compile or fail loudly, run, print outcomes, variables and canvases.
mod util;

/// Every line of the core contract (`pxl-core.md`), one or more tests each.
mod contract;
/// Every source diagnostic, its exact text and caret, hints, limits and garbage input.
mod diagnostics;
/// The canonical formatter: fixtures, idempotence, same behaviour.
mod fmt;
/// The extensions of `docs/pxl.md`: shapes, blending, PGET, RAND, NUM, FRAME, LOOP, PEEK/POKE.
mod language;
/// Property tests: formatter and disassembler preserve behaviour, nothing panics on any input.
mod props;
/// The machine texture: header, records, reading errors, disassembly round trips.
mod texture;
/// The tracer API and single-stepping.
mod trace;
