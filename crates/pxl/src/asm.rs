//! The assembler: a parsed program to its machine texture.
//!
//! Variables get indices in order of first appearance; labels become record indices; `TXT`
//! texts go to the data section (identical texts shared). It assumes the parser reported no
//! errors and does no checking of its own beyond that.

use std::collections::HashMap;

use crate::op::{Op, OperandKind};
use crate::syntax::{Operand, Parsed};
use crate::texture::{Names, RECORD_WORDS, Texture};

/// Assembles a parsed program. Call only when parsing gave no diagnostics.
pub fn assemble(parsed: &Parsed) -> Texture {
    let mut labels: HashMap<&str, u32> = HashMap::new();
    let mut label_order: Vec<(String, u32)> = Vec::new();
    let mut n_records = 0u32;
    for line in &parsed.lines {
        if let Some(label) = &line.label {
            labels.insert(label, n_records);
            label_order.push((label.clone(), n_records));
        }
        if line.instr.is_some() {
            n_records += 1;
        }
    }

    let mut variables: HashMap<&str, u32> = HashMap::new();
    let mut variable_names: Vec<String> = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    let mut texts: HashMap<&str, u32> = HashMap::new();
    let mut records = Vec::with_capacity(n_records as usize);
    for line in &parsed.lines {
        let Some(instr) = &line.instr else { continue };
        let info = instr.op.info();
        let mut record = [0u32; RECORD_WORDS];
        let mut modes = 0u32;
        let mut slot = 0usize;
        for (index, kind) in info.operands.iter().enumerate() {
            match kind {
                OperandKind::Text => {
                    let text = instr.text.as_deref().unwrap_or("");
                    let offset = *texts.entry(text).or_insert_with(|| {
                        let offset = data.len() as u32;
                        data.extend_from_slice(text.as_bytes());
                        offset
                    });
                    record[1 + slot] = offset;
                    record[2 + slot] = text.len() as u32;
                    slot += 2;
                }
                _ => {
                    let word = match instr.operands.get(index) {
                        Some(Operand::Int { value, .. }) => *value as u32,
                        Some(Operand::Var(name)) => {
                            modes |= 1 << slot;
                            *variables.entry(name).or_insert_with(|| {
                                variable_names.push(name.clone());
                                variable_names.len() as u32 - 1
                            })
                        }
                        Some(Operand::Label(name)) => labels.get(name.as_str()).copied().unwrap_or(0),
                        None => info.defaults.get(index).copied().unwrap_or(0) as u32,
                    };
                    record[1 + slot] = word;
                    slot += 1;
                }
            }
        }
        let aux = instr.cmp.map_or(0, |c| c as u32);
        record[0] = instr.op as u32 | modes << 8 | aux << 16;
        record[7] = line.line;
        records.push(record);
    }
    debug_assert!(records.iter().all(|r| Op::from_code(r[0] as u8).is_some()));
    let names = Names { variables: variable_names, labels: label_order };
    Texture::build(&records, names.variables.len() as u32, &data, Some(&names), parsed.canvas_size())
        .with_records_valid()
}
