//! The opcode table: one row per instruction, shared by the parser, the assembler, the decoder,
//! the VM, the disassembler and (through its numbers) the GPU backend.
//!
//! This module holds no behaviour; it only says what each opcode is called, what operands it
//! takes, and which number it has in the machine texture.

/// What one operand slot of an instruction holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperandKind {
    /// A value: an integer literal or a variable.
    Value,
    /// A variable that the instruction writes.
    Dest,
    /// A label; in the texture, the index of the target record.
    Label,
    /// `TXT`'s text; in the texture, a byte offset and a length into the data section.
    Text,
}

/// The numeric opcode stored in the low byte of a record's first word.
///
/// Zero is deliberately not an opcode, so that an all-zero record (fresh memory, a stray
/// `POKE 0`) traps instead of running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs, reason = "the mnemonics are documented in docs/pxl.md and in OPS")]
pub enum Op {
    Halt = 1,
    Txt = 2,
    Rect = 3,
    Pset = 4,
    Color = 5,
    Set = 6,
    Add = 7,
    Sub = 8,
    Mul = 9,
    Div = 10,
    Mod = 11,
    And = 12,
    Or = 13,
    Xor = 14,
    Shl = 15,
    Shr = 16,
    Jmp = 17,
    If = 18,
    Call = 19,
    Ret = 20,
    Line = 21,
    Circ = 22,
    Circf = 23,
    Tri = 24,
    Cls = 25,
    Pget = 26,
    Rand = 27,
    Seed = 28,
    Num = 29,
    Frame = 30,
    Peek = 31,
    Poke = 32,
    Loop = 33,
}

/// The static description of one opcode.
#[derive(Debug, Clone, Copy)]
pub struct OpInfo {
    /// The opcode.
    pub op: Op,
    /// The canonical (upper-case) mnemonic.
    pub mnemonic: &'static str,
    /// The operand kinds in source order. Optional trailing operands follow `min_operands`.
    pub operands: &'static [OperandKind],
    /// How many operands the source must give at least; missing optional ones get defaults.
    pub min_operands: usize,
    /// Defaults for optional operands, indexed like `operands`.
    pub defaults: &'static [i32],
    /// The operand names, for error messages and docs (`"x y w h"`).
    pub synopsis: &'static str,
}

use OperandKind::{Dest as D, Label as L, Text as T, Value as V};

/// Every opcode, in opcode order.
pub const OPS: &[OpInfo] = &[
    info(Op::Halt, "HALT", &[], 0, &[], ""),
    info(Op::Txt, "TXT", &[V, V, T], 2, &[], "x y text"),
    info(Op::Rect, "RECT", &[V, V, V, V], 4, &[], "x y w h"),
    info(Op::Pset, "PSET", &[V, V], 2, &[], "x y"),
    info(Op::Color, "COLOR", &[V, V, V, V], 3, &[0, 0, 0, 255], "r g b [a]"),
    info(Op::Set, "SET", &[D, V], 2, &[], "v a"),
    info(Op::Add, "ADD", &[D, V, V], 3, &[], "v a b"),
    info(Op::Sub, "SUB", &[D, V, V], 3, &[], "v a b"),
    info(Op::Mul, "MUL", &[D, V, V], 3, &[], "v a b"),
    info(Op::Div, "DIV", &[D, V, V], 3, &[], "v a b"),
    info(Op::Mod, "MOD", &[D, V, V], 3, &[], "v a b"),
    info(Op::And, "AND", &[D, V, V], 3, &[], "v a b"),
    info(Op::Or, "OR", &[D, V, V], 3, &[], "v a b"),
    info(Op::Xor, "XOR", &[D, V, V], 3, &[], "v a b"),
    info(Op::Shl, "SHL", &[D, V, V], 3, &[], "v a b"),
    info(Op::Shr, "SHR", &[D, V, V], 3, &[], "v a b"),
    info(Op::Jmp, "JMP", &[L], 1, &[], "label"),
    // IF's comparison lives in the record header, not in an operand slot.
    info(Op::If, "IF", &[V, V, L], 3, &[], "a op b label"),
    info(Op::Call, "CALL", &[L], 1, &[], "label"),
    info(Op::Ret, "RET", &[], 0, &[], ""),
    info(Op::Line, "LINE", &[V, V, V, V], 4, &[], "x0 y0 x1 y1"),
    info(Op::Circ, "CIRC", &[V, V, V], 3, &[], "x y r"),
    info(Op::Circf, "CIRCF", &[V, V, V], 3, &[], "x y r"),
    info(Op::Tri, "TRI", &[V, V, V, V, V, V], 6, &[], "x0 y0 x1 y1 x2 y2"),
    info(Op::Cls, "CLS", &[V, V, V], 0, &[0, 0, 0], "[r g b]"),
    info(Op::Pget, "PGET", &[D, V, V], 3, &[], "v x y"),
    info(Op::Rand, "RAND", &[D, V], 2, &[], "v n"),
    info(Op::Seed, "SEED", &[V], 1, &[], "s"),
    info(Op::Num, "NUM", &[V, V, V], 3, &[], "x y value"),
    info(Op::Frame, "FRAME", &[], 0, &[], ""),
    info(Op::Peek, "PEEK", &[D, V], 2, &[], "v addr"),
    info(Op::Poke, "POKE", &[V, V], 2, &[], "addr value"),
    info(Op::Loop, "LOOP", &[D, V, L], 3, &[], "v limit label"),
];

const fn info(
    op: Op,
    mnemonic: &'static str,
    operands: &'static [OperandKind],
    min_operands: usize,
    defaults: &'static [i32],
    synopsis: &'static str,
) -> OpInfo {
    OpInfo { op, mnemonic, operands, min_operands, defaults, synopsis }
}

/// The comparison of an `IF`, stored in the second byte of the record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "the variants are the six comparison operators")]
pub enum Cmp {
    Eq = 0,
    Ne = 1,
    Lt = 2,
    Le = 3,
    Gt = 4,
    Ge = 5,
}

impl Cmp {
    /// All comparisons with their source spelling.
    pub const ALL: [(Cmp, &'static str); 6] =
        [(Cmp::Eq, "=="), (Cmp::Ne, "!="), (Cmp::Lt, "<"), (Cmp::Le, "<="), (Cmp::Gt, ">"), (Cmp::Ge, ">=")];

    /// The comparison spelled `text`, if any.
    pub fn from_text(text: &str) -> Option<Cmp> {
        Cmp::ALL.iter().find(|(_, t)| *t == text).map(|(c, _)| *c)
    }

    /// The comparison with header code `code`, if any.
    pub fn from_code(code: u8) -> Option<Cmp> {
        Cmp::ALL.get(usize::from(code)).map(|(c, _)| *c)
    }

    /// The source spelling.
    pub fn text(self) -> &'static str {
        Cmp::ALL[self as usize].1
    }

    /// Whether `a self b` holds.
    #[inline(always)]
    pub fn holds(self, a: i32, b: i32) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }
}

impl Op {
    /// The opcode with number `code`, if any.
    pub fn from_code(code: u8) -> Option<Op> {
        let index = usize::from(code).checked_sub(1)?;
        OPS.get(index).map(|info| info.op)
    }

    /// This opcode's table row.
    pub fn info(self) -> &'static OpInfo {
        // OPS is in opcode order starting at 1; the test below keeps it that way.
        &OPS[self as usize - 1]
    }

    /// The opcode spelled `mnemonic`, case-insensitively.
    pub fn from_mnemonic(mnemonic: &str) -> Option<Op> {
        OPS.iter().find(|info| info.mnemonic.eq_ignore_ascii_case(mnemonic)).map(|info| info.op)
    }

    /// Whether operand 0 is a variable that this instruction writes.
    pub fn writes_variable(self) -> bool {
        self.info().operands.first() == Some(&OperandKind::Dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_opcode_order() {
        for (index, info) in OPS.iter().enumerate() {
            assert_eq!(info.op as usize, index + 1, "{}", info.mnemonic);
            assert_eq!(Op::from_code(info.op as u8), Some(info.op));
            assert_eq!(Op::from_mnemonic(&info.mnemonic.to_lowercase()), Some(info.op));
            assert!(info.operands.len() <= crate::texture::OPERANDS_PER_RECORD);
            assert!(info.defaults.is_empty() || info.defaults.len() == info.operands.len());
        }
        assert_eq!(Op::from_code(0), None);
        assert_eq!(Op::from_code(OPS.len() as u8 + 1), None);
    }
}
