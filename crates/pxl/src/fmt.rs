//! The canonical formatter: parsed source back to text, one way only.
//!
//! Rules: labels on their own line at column 0; instructions unindented with upper-case
//! mnemonics and single spaces; comments kept, with one space before a trailing one; runs of
//! blank lines collapse to one; no blank lines at the start or end; one final newline.
//! Literals keep their spelling (`0x` prefix lower-case). `TXT` text is kept verbatim.
//! Formatting twice gives the same text, and the formatted program behaves the same.

use crate::diagnostic::Diagnostic;
use crate::syntax::{Instr, SourceLine, parse};

/// Formats `source`, or returns its diagnostics when it does not parse.
pub fn format(source: &str) -> Result<String, Vec<Diagnostic>> {
    let (parsed, diagnostics) = parse(source);
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    let mut out = String::with_capacity(source.len());
    let mut pending_blank = false;
    for line in &parsed.lines {
        let text = format_line(line);
        if text.is_empty() {
            pending_blank = !out.is_empty();
            continue;
        }
        if pending_blank {
            out.push('\n');
            pending_blank = false;
        }
        out.push_str(&text);
        out.push('\n');
    }
    Ok(out)
}

/// One source line in canonical form (may be several output lines, or empty for a blank line).
pub fn format_line(line: &SourceLine) -> String {
    let mut parts = Vec::new();
    if let Some(label) = &line.label {
        parts.push(format!("{label}:"));
    }
    let mut body = line.instr.as_ref().map(format_instr).unwrap_or_default();
    if let Some((width, height)) = line.size {
        body = format!("{} {width} {height}", crate::syntax::SIZE_DIRECTIVE);
    }
    if let Some(comment) = &line.comment {
        if body.is_empty() {
            body = comment.clone();
        } else {
            body = format!("{body} {comment}");
        }
    }
    if !body.is_empty() {
        parts.push(body);
    }
    parts.join("\n")
}

/// One instruction in canonical form.
pub fn format_instr(instr: &Instr) -> String {
    let mut out = instr.op.info().mnemonic.to_string();
    for (index, operand) in instr.operands.iter().enumerate() {
        out.push(' ');
        out.push_str(&canonical_literal(operand.text()));
        if index == 0
            && let Some(cmp) = instr.cmp
        {
            out.push(' ');
            out.push_str(cmp.text());
        }
    }
    if let Some(text) = &instr.text
        && !text.is_empty()
    {
        out.push(' ');
        out.push_str(text);
    }
    out
}

fn canonical_literal(text: &str) -> String {
    match text.strip_prefix("0X") {
        Some(rest) => format!("0x{rest}"),
        None => text.to_string(),
    }
}
