//! The compiling tier of the CPU VM: machine texture → Cranelift IR → native code, with the
//! interpreter's exact results.
//!
//! # Brief overview
//!
//! A [`TieredRun`] owns a [`gvpie_pxl::Vm`] and runs it under a [`Tier`]: `interp` (the
//! interpreter only), `jit` (compile at once) or `auto` (interpret first, compile once the
//! program has run [`THRESHOLD_BASE`] + [`THRESHOLD_PER_RECORD`] per instruction of code).
//! [`Compiled`] is one compiled program, cached by a hash of its code.
//!
//! Compiled code keeps PXL variables in machine registers, counts cycles per basic block
//! (a block that does not fit in the cycles left is interpreted, so budgets end on the same
//! instruction), and calls the reference rasterizer for every drawing instruction. Whatever it
//! does not run itself — an instruction about to trap, `PEEK`, `POKE`, an invalid record, the
//! end — it hands to the interpreter at that instruction boundary, so traps, their lines and
//! cycles are the interpreter's own. A `POKE` that changes a code word drops the compiled code
//! (self-modifying programs go on interpreted, and are compiled again from the new code).
//! Machines without a Cranelift backend, and programs the compiler refuses, run interpreted and
//! say why ([`TieredRun::fallback`]).
//!
//! The results are the interpreter's: same pixels, cycles, trap kind and line, frames and
//! random numbers, for every texture (differential tests in `tests/it`).
//!
//! # Example
//!
//! ```
//! use gvpie_jit::{Tier, TieredRun};
//! use gvpie_pxl::{Config, Status, Vm, compile};
//!
//! let texture = compile("SET i 0\nloop:\nPSET i i\nADD i i 1\nIF i < 50 loop\nHALT").map_err(|d| d[0].headline())?;
//! let mut run = TieredRun::new(Vm::new(&texture, &Config::default())?, Tier::Jit);
//! assert_eq!(run.run_to_end(), Status::Halted);
//! assert_eq!(run.vm().cycles(), 1 + 50 * 3 + 1);
//! assert_eq!(run.tier_used(), Tier::Jit);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub use crate::codegen::{CompileError, MAX_JIT_RECORDS, MAX_JIT_VARS};
pub use crate::tier::{
    CACHE_CAPACITY, Compiled, MAX_RECOMPILES, THRESHOLD_BASE, THRESHOLD_PER_RECORD, Tier, TieredRun, UnknownTier,
    clear_cache,
};

mod codegen;
mod runtime;
mod tier;
