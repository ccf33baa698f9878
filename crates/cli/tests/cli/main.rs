//! End-to-end tests of the `gvpie` binary: real processes, real files in a temp dir.

mod bad_input;
mod commands;
mod run;
mod util;
