//! Superinstructions for the CPU VM: two adjacent instructions executed by one dispatch.
//!
//! A pure arithmetic instruction followed by another arithmetic instruction, a `LOOP`, an `IF`
//! or a `JMP` is fused into one entry of the VM's fast table. None of these can trap, so a
//! fused pair behaves exactly like its two instructions one after the other: the VM takes the
//! fused form only when at least two cycles of budget remain and no tracer is listening, and
//! counts two cycles for it. Jumping to the second instruction of a pair runs that instruction
//! on its own, and `POKE` refreshes the pairs that contain the record it changed.
//!
//! This is a CPU implementation detail: the machine texture, the GPU and every observable
//! result are unaffected.

use crate::op::Op;
use crate::texture::{Decoded, OPERANDS_PER_RECORD};

/// One dispatch unit: a plain opcode (its texture number), [`INVALID`], or a fused pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Inst {
    pub kind: u8,
    /// IF's comparison; for a fused pair, the second instruction's.
    pub aux: u8,
    /// Register indices and raw words; a fused pair holds the first instruction's three slots
    /// then the second's.
    pub slots: [u32; OPERANDS_PER_RECORD],
    pub line: u32,
}

/// The kind of a record that cannot execute.
pub(crate) const INVALID: u8 = 0;

impl Inst {
    pub fn plain(decoded: &Decoded) -> Inst {
        Inst {
            kind: decoded.op.map_or(INVALID, |op| op as u8),
            aux: decoded.aux,
            slots: decoded.slots,
            line: decoded.line,
        }
    }
}

/// Instructions that may start a pair.
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
pub(crate) enum First {
    Set,
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    Shl,
    Shr,
}

/// Instructions that may end a pair.
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
pub(crate) enum Second {
    Set,
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    Shl,
    Shr,
    Loop,
    If,
    Jmp,
}

const FUSED_BASE: u8 = 64;
const N_SECOND: u8 = 12;

pub(crate) const fn fused_kind(first: First, second: Second) -> u8 {
    FUSED_BASE + first as u8 * N_SECOND + second as u8
}

fn first(op: Op) -> Option<First> {
    Some(match op {
        Op::Set => First::Set,
        Op::Add => First::Add,
        Op::Sub => First::Sub,
        Op::Mul => First::Mul,
        Op::And => First::And,
        Op::Or => First::Or,
        Op::Xor => First::Xor,
        Op::Shl => First::Shl,
        Op::Shr => First::Shr,
        _ => return None,
    })
}

fn second(op: Op) -> Option<Second> {
    Some(match op {
        Op::Set => Second::Set,
        Op::Add => Second::Add,
        Op::Sub => Second::Sub,
        Op::Mul => Second::Mul,
        Op::And => Second::And,
        Op::Or => Second::Or,
        Op::Xor => Second::Xor,
        Op::Shl => Second::Shl,
        Op::Shr => Second::Shr,
        Op::Loop => Second::Loop,
        Op::If => Second::If,
        Op::Jmp => Second::Jmp,
        _ => return None,
    })
}

/// The fast-table entry for record `index`: the pair (index, index + 1) when it fuses, else
/// the record alone.
pub(crate) fn fast_entry(code: &[Decoded], index: usize) -> Inst {
    let this = &code[index];
    let Some(next) = code.get(index + 1) else { return Inst::plain(this) };
    match (this.op.and_then(first), next.op.and_then(second)) {
        (Some(a), Some(b)) => {
            let mut slots = [0; OPERANDS_PER_RECORD];
            slots[..3].copy_from_slice(&this.slots[..3]);
            slots[3..].copy_from_slice(&next.slots[..3]);
            Inst { kind: fused_kind(a, b), aux: next.aux, slots, line: this.line }
        }
        _ => Inst::plain(this),
    }
}

/// Declares one `u8` constant per fused pair, named `F_<First>_<Second>`.
macro_rules! fused_constants {
    ([$($a:ident)*] $bs:tt) => { $( fused_constants!(@one $a $bs); )* };
    (@one $a:ident [$($b:ident)*]) => {
        paste::paste! { $(
            #[allow(non_upper_case_globals, reason = "named after the two opcodes")]
            pub(crate) const [<F_ $a _ $b>]: u8 = fused_kind(First::$a, Second::$b);
        )* }
    };
}

fused_constants!([Set Add Sub Mul And Or Xor Shl Shr] [Set Add Sub Mul And Or Xor Shl Shr Loop If Jmp]);

/// Expands to the VM's whole `match` on an instruction kind: the plain arms given, plus one
/// arm per fused pair whose body is `$fused!(First, Second)`.
macro_rules! dispatch_match {
    ($kind:expr, $fused:ident, { $($plain:tt)* }) => {
        dispatch_match!(@munch $kind, $fused, { $($plain)* },
            [Set Add Sub Mul And Or Xor Shl Shr],
            [Set Add Sub Mul And Or Xor Shl Shr Loop If Jmp], [])
    };
    (@munch $kind:expr, $fused:ident, { $($plain:tt)* }, [], $bs:tt, [$($arms:tt)*]) => {
        paste::paste! {
            match $kind {
                $($arms)*
                $($plain)*
            }
        }
    };
    (@munch $kind:expr, $fused:ident, $plain:tt, [$a:ident $($rest:ident)*], [$($b:ident)*], [$($arms:tt)*]) => {
        dispatch_match!(@munch $kind, $fused, $plain, [$($rest)*], [$($b)*],
            [$($arms)* $( crate::fused::[<F_ $a _ $b>] => $fused!($a, $b), )*])
    };
}

pub(crate) use dispatch_match;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fused_kinds_do_not_collide_with_opcodes() {
        assert!(crate::op::OPS.len() < usize::from(FUSED_BASE));
        assert_eq!(F_Set_Set, FUSED_BASE);
        assert_eq!(F_Shr_Jmp, FUSED_BASE + 9 * N_SECOND - 1);
    }
}
