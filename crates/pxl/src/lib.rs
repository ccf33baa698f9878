//! PXL, gvpie's pixel-program language: syntax, diagnostics, the machine texture and the CPU
//! reference VM.
//!
//! # Brief overview
//!
//! Source text goes through [`parse`] (a tree and every [`Diagnostic`]) and [`assemble`] into a
//! [`Texture`], the versioned binary form that every backend reads. A [`Vm`] runs a texture on
//! a [`gvpie_raster::Canvas`] under a cycle budget and reports a [`Status`]: halted, or a
//! [`Trap`] with its kind and source line. [`compile`] does parse and assemble in one call.
//! [`format`] prints source canonically and [`disassemble`] turns a texture back into source.
//!
//! This crate does no IO and reads no clock; the same program, canvas size and budget always
//! give the same pixels and cycles.
//!
//! # Example
//!
//! ```
//! use gvpie_pxl::{Config, Status, compile, run};
//!
//! let texture = compile("TXT 10 10 HELLO GPU\nHALT").map_err(|d| d[0].headline())?;
//! let result = run(&texture, &Config::default())?;
//! assert_eq!(result.status, Status::Halted);
//! assert_eq!(result.cycles, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub use crate::asm::assemble;
pub use crate::diagnostic::{Diagnostic, render_all};
pub use crate::disasm::{DisasmOptions, disassemble};
pub use crate::fmt::{format, format_instr};
pub use crate::op::{Cmp, OPS, Op, OpInfo, OperandKind};
pub use crate::syntax::{
    Instr, MAX_SOURCE_BYTES, MAX_TEXT_BYTES, Operand, Parsed, SIZE_DIRECTIVE, SourceLine, declared_size, parse,
    parse_literal,
};
pub use crate::texture::{
    Decoded, MAGIC, MAX_RECORDS, MAX_VARS, Names, OPERANDS_PER_RECORD, RECORD_WORDS, RecordError, TEXTURE_VERSION,
    TEXTURE_VERSION_PLAIN, Texture, TextureError, decode_record, slot_count,
};
pub use crate::vm::{
    CALL_DEPTH, Config, DEFAULT_BUDGET, DEFAULT_MAX_FRAMES, DEFAULT_SEED, MachineState, NoTrace, RunResult, Status,
    StepEvent, Tracer, Trap, TrapKind, VarWrite, Vm, run,
};

mod asm;
mod diagnostic;
mod disasm;
mod fmt;
mod fused;
mod op;
mod syntax;
mod texture;
mod vm;

/// Parses and assembles `source`, or returns every diagnostic.
pub fn compile(source: &str) -> Result<Texture, Vec<Diagnostic>> {
    let (parsed, diagnostics) = parse(source);
    if diagnostics.is_empty() { Ok(assemble(&parsed)) } else { Err(diagnostics) }
}
