//! End-to-end tests of the `gvpie` binary: real processes, real files in a temp dir.

mod agents;
mod bad_input;
mod commands;
mod compile;
mod daemon;
mod evolve;
mod evolve_refine;
mod goals;
mod optimize;
mod readme;
mod refine;
mod run;
mod serve;
mod ui;
mod util;
