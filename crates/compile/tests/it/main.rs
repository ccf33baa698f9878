//! Integration tests of gvpie-compile: descriptions compiled, run in the CPU VM, checked by pixels.

// Helpers: compile, run, check pixels.
mod support;
// The table of descriptions with their pixel checks.
mod descriptions;
// Error messages.
mod errors;
// Nothing panics; output is deterministic and on the canvas.
mod properties;
// docs/compile/ holds what the compiler writes.
mod gallery;
