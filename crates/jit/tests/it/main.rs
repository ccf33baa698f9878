//! Integration tests of gvpie-jit: the compiled tier against the interpreter.
//!
//! Every test goes through `util::check`, which runs a texture in the interpreter and through
//! [`gvpie_jit::TieredRun`] (compiled at once, in one call and in small slices) and requires the
//! same status (trap kind, line and record), cycles, pixels, frames, variables and call stack.

/// The comparison helpers.
mod util;

/// Every trap kind, budgets ending at every cycle, self-modifying code, tiering and the cache.
mod edges;
/// Every example program, the benchmarks and fixed programs covering every opcode.
mod programs;
/// Random programs and random raw textures (proptest).
mod props;
