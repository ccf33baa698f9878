//! The parameters of a program: the integer literals written as operands of its drawing and `COLOR` instructions.
//!
//! A program is read with gvpie-pxl's parser. Every operand of `CLS`, `COLOR`, `RECT`, `PSET`, `LINE`, `CIRC`,
//! `CIRCF` and `TRI` that is written as a literal becomes one [`Param`]; operands that are variables (computed at
//! run time) and every other instruction (control flow, arithmetic, `TXT`, `NUM`) are left alone. A literal inside
//! a loop is one parameter however often it runs. [`Params::write`] puts new values back into the source, changing
//! only the lines whose numbers changed (each rewritten in canonical form, its label and comment kept).

use std::collections::HashMap;

use gvpie_pxl::{Instr, Op, Operand, Parsed};

/// What a parameter means, which sets its range and its step size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A coordinate, size or radius, in pixels.
    Coord,
    /// A colour channel (0..255).
    Channel,
    /// A colour's alpha (0..255).
    Alpha,
}

/// One literal operand of the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Its 1-based source line.
    pub line: u32,
    /// Its operand slot (0-based).
    pub slot: usize,
    /// The instruction it belongs to.
    pub op: Op,
    /// What it means.
    pub kind: ParamKind,
    /// Its value in the source.
    pub value: i32,
}

/// Every parameter of a program, with what is needed to write new values back.
#[derive(Debug, Clone)]
pub struct Params {
    /// The parameters in source order.
    pub list: Vec<Param>,
    by_slot: HashMap<(u32, usize), u32>,
    source: String,
    parsed: Parsed,
}

/// Whether `op`'s literal operands are parameters.
pub fn is_drawing(op: Op) -> bool {
    matches!(op, Op::Color | Op::Cls | Op::Rect | Op::Pset | Op::Line | Op::Circ | Op::Circf | Op::Tri)
}

fn kind_of(op: Op, slot: usize) -> ParamKind {
    match (op, slot) {
        (Op::Color, 3) => ParamKind::Alpha,
        (Op::Color | Op::Cls, _) => ParamKind::Channel,
        _ => ParamKind::Coord,
    }
}

impl Params {
    /// Reads the parameters of `source`, or returns the parser's first diagnostic as a message.
    pub fn read(source: &str) -> Result<Params, String> {
        let (parsed, diagnostics) = gvpie_pxl::parse(source);
        if let Some(first) = diagnostics.first() {
            return Err(first.headline());
        }
        let mut list = Vec::new();
        let mut by_slot = HashMap::new();
        for line in &parsed.lines {
            let Some(instr) = &line.instr else { continue };
            if !is_drawing(instr.op) {
                continue;
            }
            for (slot, operand) in instr.operands.iter().enumerate() {
                if let Operand::Int { value, .. } = operand {
                    by_slot.insert((line.line, slot), list.len() as u32);
                    list.push(Param {
                        line: line.line,
                        slot,
                        op: instr.op,
                        kind: kind_of(instr.op, slot),
                        value: *value,
                    });
                }
            }
        }
        Ok(Params { list, by_slot, source: source.to_string(), parsed })
    }

    /// The parameter written at operand `slot` of the instruction on source line `line`, if that operand is one.
    pub fn literal(&self, line: u32, slot: usize) -> Option<u32> {
        self.by_slot.get(&(line, slot)).copied()
    }

    /// The values in the source.
    pub fn values(&self) -> Vec<i32> {
        self.list.iter().map(|p| p.value).collect()
    }

    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when the program has no parameter.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The source with `values` (one per parameter, in order) written in place of the literals. Lines whose
    /// numbers did not change are kept byte for byte.
    pub fn write(&self, values: &[i32]) -> String {
        let mut changed: HashMap<u32, Vec<(usize, i32)>> = HashMap::new();
        for (param, &value) in self.list.iter().zip(values) {
            if param.value != value {
                changed.entry(param.line).or_default().push((param.slot, value));
            }
        }
        let by_line: HashMap<u32, &gvpie_pxl::SourceLine> = self.parsed.lines.iter().map(|l| (l.line, l)).collect();
        let mut out = String::with_capacity(self.source.len());
        for (index, raw) in self.source.split('\n').enumerate() {
            if index > 0 {
                out.push('\n');
            }
            let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
            let (Some(edits), Some(line)) = (changed.get(&line_no), by_line.get(&line_no)) else {
                out.push_str(raw);
                continue;
            };
            let Some(instr) = &line.instr else {
                out.push_str(raw);
                continue;
            };
            let mut instr: Instr = instr.clone();
            for &(slot, value) in edits {
                if let Some(operand) = instr.operands.get_mut(slot) {
                    *operand = Operand::Int { value, text: value.to_string() };
                }
            }
            let indent: String = raw.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
            out.push_str(&indent);
            if let Some(label) = &line.label {
                out.push_str(label);
                out.push_str(": ");
            }
            out.push_str(&gvpie_pxl::format_instr(&instr));
            if let Some(comment) = &line.comment {
                out.push(' ');
                out.push_str(comment);
            }
            if raw.ends_with('\r') {
                out.push('\r');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_of_drawing_instructions_only() {
        let source =
            "CLS 10 20 30\nSET x 5\nloop: COLOR 255 0 0 128 ; red\n  RECT x 2 3 4\nLOOP x 9 loop\nTXT 1 1 HI\n";
        let params = Params::read(source).expect("parses");
        let found: Vec<(u32, usize, i32)> = params.list.iter().map(|p| (p.line, p.slot, p.value)).collect();
        assert_eq!(
            found,
            [
                (1, 0, 10),
                (1, 1, 20),
                (1, 2, 30),
                (3, 0, 255),
                (3, 1, 0),
                (3, 2, 0),
                (3, 3, 128),
                (4, 1, 2),
                (4, 2, 3),
                (4, 3, 4)
            ]
        );
        assert_eq!(params.list[6].kind, ParamKind::Alpha);
        // Unchanged values give the same text back; a change rewrites only its line.
        assert_eq!(params.write(&params.values()), source);
        let mut values = params.values();
        values[6] = 100;
        values[7] = -3;
        let written = params.write(&values);
        assert_eq!(
            written,
            "CLS 10 20 30\nSET x 5\nloop: COLOR 255 0 0 100 ; red\n  RECT x -3 3 4\nLOOP x 9 loop\nTXT 1 1 HI\n"
        );
        assert_eq!(Params::read(&written).expect("parses").values(), values);
    }
}
