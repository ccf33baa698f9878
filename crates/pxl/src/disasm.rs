//! The disassembler: a machine texture back to PXL source.
//!
//! The listing is a valid program that assembles to an equivalent texture (same pixels, same
//! cycles). Names come from the texture's metadata when present and usable, else they are
//! generated (`v0`, `L3`). Invalid records, and `TXT` records whose text source cannot spell
//! (bytes outside printable ASCII, or longer than a `TXT` line may be), are listed as comments;
//! such a listing no longer assembles to the same program.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use crate::op::{Cmp, Op, OperandKind};
use crate::syntax::{MAX_TEXT_BYTES, parse_literal};
use crate::texture::{OPERANDS_PER_RECORD, RECORD_WORDS, Texture, decode_record, slot_count};

/// Options for [`disassemble`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DisasmOptions {
    /// Put a comment with each record's address and raw words before it.
    pub show_words: bool,
    /// Ignore the names in the metadata.
    pub ignore_names: bool,
}

/// Lists `texture` as PXL source.
pub fn disassemble(texture: &Texture, options: DisasmOptions) -> String {
    let n_records = texture.n_records();
    let n_vars = texture.n_vars();
    let data = texture.data();
    let names = if options.ignore_names { None } else { texture.names() };
    let var_names = variable_names(names.as_ref().map(|n| n.variables.as_slice()), n_vars);
    let labels = label_names(texture, names.as_ref().map(|n| n.labels.as_slice()));

    let mut out = String::new();
    let _ = writeln!(
        out,
        "; gvpie machine texture v{}: {n_records} records, {n_vars} variables, {} data bytes",
        texture.words()[1] & 0xFF,
        texture.data_len()
    );
    if let Some((width, height)) = texture.canvas_size() {
        let _ = writeln!(out, "{} {width} {height}", crate::syntax::SIZE_DIRECTIVE);
    }
    for index in 0..=n_records {
        if let Some(names) = labels.get(&(index as u32)) {
            for name in names {
                let _ = writeln!(out, "{name}:");
            }
        }
        if index == n_records {
            break;
        }
        let record = texture.record(index);
        if options.show_words {
            let words: Vec<String> = record.iter().map(|w| format!("{w:08x}")).collect();
            let _ = writeln!(out, "; {:04}: {}", index * RECORD_WORDS, words.join(" "));
        }
        let mut literals = [0i32; OPERANDS_PER_RECORD];
        match decode_record(&record, n_vars, n_records, data.len(), 0, &mut literals) {
            Ok(decoded) => {
                let op = decoded.op.unwrap_or(Op::Halt);
                let line = instruction_text(index, op, &record, decoded.aux, &var_names, &labels, &data);
                let _ = writeln!(out, "{line}");
            }
            Err(why) => {
                let _ = writeln!(out, "; record {index} is invalid ({why}): {:08x}", record[0]);
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments, reason = "one record and everything needed to name its operands")]
fn instruction_text(
    record_index: usize,
    op: Op,
    record: &[u32; RECORD_WORDS],
    aux: u8,
    var_names: &[String],
    labels: &HashMap<u32, Vec<String>>,
    data: &[u8],
) -> String {
    let info = op.info();
    let modes = record[0] >> 8 & 0xFF;
    let mut operands: Vec<(String, bool)> = Vec::new();
    let mut text = None;
    let mut slot = 0;
    for (index, kind) in info.operands.iter().enumerate() {
        let word = record[1 + slot];
        match kind {
            OperandKind::Text => {
                let (offset, len) = (word as usize, record[2 + slot] as usize);
                text = Some(&data[offset..offset + len]);
                slot += 2;
                continue;
            }
            OperandKind::Label => {
                let name = labels.get(&word).and_then(|n| n.first()).cloned().unwrap_or_else(|| format!("L{word}"));
                operands.push((name, false));
            }
            OperandKind::Value | OperandKind::Dest => {
                if modes >> slot & 1 == 1 {
                    operands.push((var_names[word as usize].clone(), false));
                } else {
                    let is_default = index >= info.min_operands && info.defaults.get(index) == Some(&(word as i32));
                    operands.push(((word as i32).to_string(), is_default));
                }
            }
        }
        slot += 1;
    }
    // Trailing optional operands that hold their default are left out, as a person writes them.
    while operands.len() > info.min_operands && operands.last().is_some_and(|(_, is_default)| *is_default) {
        operands.pop();
    }
    let mut out = info.mnemonic.to_string();
    for (index, (operand, _)) in operands.iter().enumerate() {
        out.push(' ');
        out.push_str(operand);
        if op == Op::If && index == 0 {
            out.push(' ');
            out.push_str(Cmp::from_code(aux).unwrap_or(Cmp::Eq).text());
        }
    }
    debug_assert!(slot <= slot_count(op));
    let Some(text) = text.filter(|t| !t.is_empty()) else { return out };
    if text.len() > MAX_TEXT_BYTES || !text.iter().all(|b| (b' '..=b'~').contains(b)) {
        // Written out as a TXT line, a newline in the text would start another instruction.
        let escaped = text.escape_ascii();
        return format!("; record {record_index} is {out} with text that source cannot spell: \"{escaped}\"");
    }
    out.push(' ');
    // All printable ASCII, checked above, so the bytes are valid UTF-8.
    out.push_str(&String::from_utf8_lossy(text));
    out
}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && parse_literal(text).is_err()
}

fn variable_names(from_meta: Option<&[String]>, n_vars: usize) -> Vec<String> {
    if let Some(names) = from_meta {
        let unique: HashSet<&String> = names.iter().collect();
        if names.len() == n_vars && unique.len() == n_vars && names.iter().all(|n| is_name(n)) {
            return names.to_vec();
        }
    }
    (0..n_vars).map(|i| format!("v{i}")).collect()
}

fn label_names(texture: &Texture, from_meta: Option<&[(String, u32)]>) -> HashMap<u32, Vec<String>> {
    let n_records = texture.n_records() as u32;
    let mut labels: HashMap<u32, Vec<String>> = HashMap::new();
    let mut taken: HashSet<String> = HashSet::new();
    if let Some(meta) = from_meta {
        for (name, index) in meta {
            if *index <= n_records && is_name(name) && taken.insert(name.clone()) {
                labels.entry(*index).or_default().push(name.clone());
            }
        }
    }
    // Every jump target needs a label; generate one where the metadata has none.
    for index in 0..texture.n_records() {
        let record = texture.record(index);
        let Some(op) = Op::from_code(record[0] as u8) else { continue };
        let mut slot = 0;
        for kind in op.info().operands {
            if *kind == OperandKind::Label {
                let target = record[1 + slot];
                if target <= n_records && !labels.contains_key(&target) {
                    let mut name = format!("L{target}");
                    while taken.contains(&name) {
                        name.push('_');
                    }
                    taken.insert(name.clone());
                    labels.insert(target, vec![name]);
                }
            }
            slot += if *kind == OperandKind::Text { 2 } else { 1 };
        }
    }
    labels
}
