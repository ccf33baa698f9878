//! The numbers the host and the batch shader agree on, each defined once, here or in
//! `gvpie-pxl`: opcodes (from [`gvpie_pxl::OPS`]), trap kinds (one code per
//! [`gvpie_pxl::TrapKind`] variant, named after [`TrapKind::name`]), `IF`'s comparison codes
//! (from [`gvpie_pxl::Cmp`]), outcome statuses, the `Params.flags` bits, and the VM's call
//! depth and default seed.
//!
//! [`wgsl_constants`] writes them as WGSL `const` declarations into the shader's generated
//! prelude, so `shaders/batch.wgsl` uses them by name and never copies a number. This module
//! does not talk to a device.

use gvpie_pxl::{CALL_DEPTH, Cmp, DEFAULT_SEED, OPS, RecordError, TrapKind};

/// `Outcome.status` of a program that ran `HALT` or off the end of its code.
pub(crate) const STATUS_HALTED: u32 = 1;
/// `Outcome.status` of a program that trapped; `Outcome.kind` says how ([`TrapCode`]).
pub(crate) const STATUS_TRAPPED: u32 = 2;
/// `Outcome.status` when the driver cut the shader's loops short (lavapipe stops a shader
/// after 65535 loop iterations) although the slices should keep it from doing so: the host
/// must not trust that batch.
pub(crate) const STATUS_CUT_SHORT: u32 = 3;
/// `Outcome.status` of a program its slice ended before it finished: its state is saved, the
/// outcome holds its pc, next line, budget left and frames so far.
pub(crate) const STATUS_RUNNING: u32 = 4;

/// A group's result word (in the `vars` buffer, after each slice): its low bits count the
/// lanes still running; this bit says its canvases were scored in the dispatch.
pub(crate) const SCHED_SCORED: u32 = 1 << 31;
/// A group's result word: the driver cut the dispatch's loops short (see the canary).
pub(crate) const SCHED_CUT: u32 = 1 << 30;
/// A group's result word (interpreter-only pipeline): a lane stopped before a shape, which
/// only the full pipeline draws; the group goes on there.
pub(crate) const SCHED_RASTER: u32 = 1 << 29;
/// Words of a lane's saved state before its call stack (pc, budget, frames, colour, random
/// state, sp, the pending shape and its progress).
pub(crate) const STATE_HEAD: u32 = 26;
/// Words of one lane's saved state: the head and a full call stack.
pub(crate) const STATE_WORDS: u32 = STATE_HEAD + CALL_DEPTH as u32;

/// `Params.flags`: score against the target instead of keeping canvases.
pub(crate) const FLAG_SCORE: u32 = 1;
/// `Params.flags`: variables live in workgroup memory.
pub(crate) const FLAG_LOCAL_VARS: u32 = 2;
/// `Params.flags`: record heads and code are copied into workgroup memory.
pub(crate) const FLAG_LOCAL_PROG: u32 = 4;
/// `Params.flags`: a group that finishes scores its canvases in the same dispatch (the host
/// sets it where the scoring loop fits the slice); else the score pass does.
pub(crate) const FLAG_INLINE_SCORE: u32 = 8;

/// How the shader reports a trap in `Outcome.kind`: one code per [`TrapKind`] variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum TrapCode {
    DivisionByZero = 1,
    StackOverflow = 2,
    StackUnderflow = 3,
    BudgetExhausted = 4,
    InvalidInstruction = 5,
    AddressOutOfRange = 6,
}

impl TrapCode {
    /// Every code, in code order.
    pub(crate) const ALL: [TrapCode; 6] = [
        TrapCode::DivisionByZero,
        TrapCode::StackOverflow,
        TrapCode::StackUnderflow,
        TrapCode::BudgetExhausted,
        TrapCode::InvalidInstruction,
        TrapCode::AddressOutOfRange,
    ];

    /// The code of a trap kind; `None` for a kind added to `gvpie-pxl` after this table
    /// (`TrapKind` is non-exhaustive, so the integration tests check the table against the
    /// trap kinds of `docs/pxl.md`). The host only decodes, so this direction is for tests.
    #[cfg(test)]
    pub(crate) fn of(kind: &TrapKind) -> Option<TrapCode> {
        Some(match kind {
            TrapKind::DivisionByZero => TrapCode::DivisionByZero,
            TrapKind::StackOverflow => TrapCode::StackOverflow,
            TrapKind::StackUnderflow => TrapCode::StackUnderflow,
            TrapKind::BudgetExhausted => TrapCode::BudgetExhausted,
            TrapKind::InvalidInstruction(_) => TrapCode::InvalidInstruction,
            TrapKind::AddressOutOfRange(_) => TrapCode::AddressOutOfRange,
            _ => return None,
        })
    }

    /// The code the shader wrote, if it is one.
    pub(crate) fn from_u32(code: u32) -> Option<TrapCode> {
        TrapCode::ALL.into_iter().find(|c| *c as u32 == code)
    }

    /// The trap kind this code stands for, with what the outcome carries besides the code:
    /// the invalid record's error, or the address `PEEK`/`POKE` asked for.
    pub(crate) fn kind(self, record_error: impl FnOnce() -> Option<RecordError>, addr: u32) -> Option<TrapKind> {
        Some(match self {
            TrapCode::DivisionByZero => TrapKind::DivisionByZero,
            TrapCode::StackOverflow => TrapKind::StackOverflow,
            TrapCode::StackUnderflow => TrapKind::StackUnderflow,
            TrapCode::BudgetExhausted => TrapKind::BudgetExhausted,
            TrapCode::InvalidInstruction => TrapKind::InvalidInstruction(record_error()?),
            // The shader keeps the i32 address in a u32 word.
            TrapCode::AddressOutOfRange => TrapKind::AddressOutOfRange(addr as i32),
        })
    }

    /// The WGSL name of the code: `TRAP_` and the kind's stable name (`TRAP_DIVISION_BY_ZERO`).
    pub(crate) fn wgsl_name(self) -> String {
        // Any payload does: only the variant's name is used.
        let kind = self.kind(|| Some(RecordError::BadText), 0).unwrap_or(TrapKind::BudgetExhausted);
        format!("TRAP_{}", kind.name().to_uppercase())
    }
}

/// The WGSL name of an `IF` comparison code (the record header's aux byte).
fn cmp_name(cmp: Cmp) -> &'static str {
    match cmp {
        Cmp::Eq => "CMP_EQ",
        Cmp::Ne => "CMP_NE",
        Cmp::Lt => "CMP_LT",
        Cmp::Le => "CMP_LE",
        Cmp::Gt => "CMP_GT",
        Cmp::Ge => "CMP_GE",
    }
}

/// The WGSL `const` declarations of every shared number, one per line.
pub(crate) fn wgsl_constants() -> String {
    let mut out = String::new();
    let mut line = |name: &str, value: u32| out.push_str(&format!("const {name}: u32 = {value}u;\n"));
    line("STATUS_HALTED", STATUS_HALTED);
    line("STATUS_TRAPPED", STATUS_TRAPPED);
    line("STATUS_CUT_SHORT", STATUS_CUT_SHORT);
    line("STATUS_RUNNING", STATUS_RUNNING);
    line("FLAG_SCORE", FLAG_SCORE);
    line("FLAG_LOCAL_VARS", FLAG_LOCAL_VARS);
    line("FLAG_LOCAL_PROG", FLAG_LOCAL_PROG);
    line("FLAG_INLINE_SCORE", FLAG_INLINE_SCORE);
    line("SCHED_SCORED", SCHED_SCORED);
    line("SCHED_CUT", SCHED_CUT);
    line("SCHED_RASTER", SCHED_RASTER);
    line("STATE_HEAD", STATE_HEAD);
    line("STATE_WORDS", STATE_WORDS);
    for code in TrapCode::ALL {
        line(&code.wgsl_name(), code as u32);
    }
    for info in OPS {
        line(&format!("OP_{}", info.mnemonic), info.op as u32);
    }
    for (cmp, _) in Cmp::ALL {
        line(cmp_name(cmp), cmp as u32);
    }
    line("CALL_DEPTH", CALL_DEPTH as u32);
    line("DEFAULT_SEED", DEFAULT_SEED);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_codes_round_trip_and_are_distinct() {
        for (index, code) in TrapCode::ALL.into_iter().enumerate() {
            assert_eq!(code as u32, index as u32 + 1, "codes are 1, 2, ... in order");
            assert_eq!(TrapCode::from_u32(code as u32), Some(code));
            let kind = code.kind(|| Some(RecordError::BadAux), 7);
            assert_eq!(kind.and_then(|k| TrapCode::of(&k)), Some(code));
        }
        assert_eq!(TrapCode::from_u32(0), None);
        assert_eq!(TrapCode::from_u32(TrapCode::ALL.len() as u32 + 1), None);
    }

    #[test]
    fn an_invalid_instruction_needs_its_record_error() {
        assert_eq!(TrapCode::InvalidInstruction.kind(|| None, 0), None);
        assert_eq!(TrapCode::AddressOutOfRange.kind(|| None, u32::MAX), Some(TrapKind::AddressOutOfRange(-1)));
    }

    #[test]
    fn constants_are_named_after_gvpie_pxl() {
        let consts = wgsl_constants();
        for expected in [
            "const OP_HALT: u32 = 1u;\n",
            "const OP_LOOP: u32 = 33u;\n",
            "const TRAP_DIVISION_BY_ZERO: u32 = 1u;\n",
            "const TRAP_ADDRESS_OUT_OF_RANGE: u32 = 6u;\n",
            "const DEFAULT_SEED: u32 = 2463534242u;\n",
            "const CALL_DEPTH: u32 = 256u;\n",
            "const CMP_EQ: u32 = 0u;\n",
            "const CMP_GE: u32 = 5u;\n",
        ] {
            assert!(consts.contains(expected), "{expected} missing from {consts}");
        }
    }
}
