//! The PXL parser: source text to a line-by-line syntax tree, plus every diagnostic.
//!
//! Parsing never fails: it returns what it understood and all the problems it found, so the
//! user sees every error at once. This module knows nothing of the texture or the VM; the
//! assembler turns its output into records and the formatter prints it back.

use crate::diagnostic::Diagnostic;
use crate::op::{Cmp, Op, OperandKind};
use crate::texture::{MAX_RECORDS, MAX_VARS};

/// The largest source accepted, in bytes.
pub const MAX_SOURCE_BYTES: usize = 16 << 20;
/// The longest `TXT` text, in bytes.
pub const MAX_TEXT_BYTES: usize = 4096;
/// After this many diagnostics the parser stops collecting and says how many it dropped.
pub const MAX_DIAGNOSTICS: usize = 200;

/// A parsed program: one entry per source line that holds something.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Lines with a label, an instruction or a comment, in order; blank lines are kept as
    /// entries with nothing in them so the formatter can keep paragraphs.
    pub lines: Vec<SourceLine>,
}

/// What one source line holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceLine {
    /// 1-based line number.
    pub line: u32,
    /// A label defined at the start of the line.
    pub label: Option<String>,
    /// The instruction, when the line has a valid one.
    pub instr: Option<Instr>,
    /// A trailing or whole-line comment, starting with its `#` or `;`.
    pub comment: Option<String>,
    /// A `SIZE width height` directive: the canvas size the program declares (no instruction,
    /// 0 cycles).
    pub size: Option<(u32, u32)>,
}

impl Parsed {
    /// The canvas size the program declares with `SIZE`, if it does.
    pub fn canvas_size(&self) -> Option<(u32, u32)> {
        self.lines.iter().find_map(|line| line.size)
    }
}

/// The directive that declares a program's canvas size: `SIZE width height`.
pub const SIZE_DIRECTIVE: &str = "SIZE";
/// The largest canvas side a program may declare (the canvas limit).
pub const MAX_DECLARED_SIDE: u32 = 4096;

/// One instruction as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instr {
    /// The opcode.
    pub op: Op,
    /// The operands in slot order (IF: a, b, label). Optional operands left out are absent.
    pub operands: Vec<Operand>,
    /// IF's comparison.
    pub cmp: Option<Cmp>,
    /// TXT's text.
    pub text: Option<String>,
}

/// One operand as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// A literal, with its spelling kept for the formatter.
    Int {
        /// The value (hex literals as their 32-bit pattern).
        value: i32,
        /// The literal as written.
        text: String,
    },
    /// A variable name.
    Var(String),
    /// A label name.
    Label(String),
}

impl Operand {
    /// The operand as source text.
    pub fn text(&self) -> &str {
        match self {
            Operand::Int { text, .. } => text,
            Operand::Var(name) | Operand::Label(name) => name,
        }
    }
}

/// Parses `source`, returning the tree and every diagnostic (sorted by position).
pub fn parse(source: &str) -> (Parsed, Vec<Diagnostic>) {
    let (parsed, diagnostics, _hint_cells) = parse_counting(source);
    (parsed, diagnostics)
}

/// The canvas size `source` declares with `SIZE`, found without parsing the other lines: one
/// scan, the same answer as `parse(source).0.canvas_size()` for every program that compiles.
/// For a caller that must know the size before it compiles (the HTTP API sizing a batch).
pub fn declared_size(source: &str) -> Option<(u32, u32)> {
    if source.len() > MAX_SOURCE_BYTES {
        return None;
    }
    for (index, raw) in source.split('\n').enumerate() {
        let text = raw.strip_suffix('\r').unwrap_or(raw);
        let mut rest = text.trim_start();
        let word_end = rest.find(|c: char| c.is_whitespace() || c == '#' || c == ';').unwrap_or(rest.len());
        if let Some(colon) = rest[..word_end].find(':') {
            rest = rest[colon + 1..].trim_start();
        }
        let is_size = rest.get(..SIZE_DIRECTIVE.len()).is_some_and(|w| w.eq_ignore_ascii_case(SIZE_DIRECTIVE))
            && rest[SIZE_DIRECTIVE.len()..].chars().next().is_none_or(|c| c.is_whitespace() || c == '#' || c == ';');
        if is_size {
            let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
            return Parser::default().line(line_no, text).size;
        }
    }
    None
}

/// [`parse`], also returning the edit-distance cells its label hints cost.
fn parse_counting(source: &str) -> (Parsed, Vec<Diagnostic>, u64) {
    let mut parser = Parser::default();
    if source.len() > MAX_SOURCE_BYTES {
        parser.error_at(
            1,
            1,
            1,
            format!("program is {} bytes; the limit is {MAX_SOURCE_BYTES} bytes", source.len()),
            "",
        );
        return (Parsed::default(), parser.finish(), 0);
    }
    for (index, raw) in source.split('\n').enumerate() {
        let text = raw.strip_suffix('\r').unwrap_or(raw);
        let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let parsed = parser.line(line_no, text);
        parser.lines.push(parsed);
        if parser.overflowed() {
            break;
        }
    }
    // A trailing newline makes one empty final line; it is not part of the program.
    if source.ends_with('\n')
        && let Some(last) = parser.lines.last()
        && last.label.is_none()
        && last.instr.is_none()
        && last.comment.is_none()
        && last.size.is_none()
    {
        parser.lines.pop();
    }
    parser.check_labels(source);
    let hint_cells = parser.hint_cells;
    let diagnostics = parser.finish();
    (Parsed { lines: parser.lines }, diagnostics, hint_cells)
}

#[derive(Default)]
struct Parser {
    lines: Vec<SourceLine>,
    diagnostics: Vec<Diagnostic>,
    dropped: usize,
    /// Label definitions: name → (line, column).
    labels: std::collections::HashMap<String, (u32, u32)>,
    /// Label uses: (name, line, column).
    label_uses: Vec<(String, u32, u32, u32)>,
    variables: std::collections::HashSet<String>,
    n_instructions: usize,
    /// Where the `SIZE` directive is, once one was seen: (line, column).
    size_at: Option<(u32, u32)>,
    /// Edit-distance cells spent on "did you mean" hints for undefined labels.
    hint_cells: u64,
}

/// The most edit-distance cells (characters × characters) spent on label hints in one program:
/// far more than any ordinary program needs, and about 50 ms of work at most.
const MAX_HINT_CELLS: u64 = 1 << 25;

fn column_of(line: &str, byte: usize) -> u32 {
    u32::try_from(line[..byte].chars().count() + 1).unwrap_or(u32::MAX)
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(is_ident_start) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A whitespace-separated piece of a line with its byte range.
struct Token<'a> {
    text: &'a str,
    start: usize,
}

impl Parser {
    fn overflowed(&self) -> bool {
        self.dropped > 0
    }

    fn error_at(&mut self, line: u32, column: u32, width: u32, message: String, source_line: &str) {
        if self.diagnostics.len() >= MAX_DIAGNOSTICS {
            self.dropped += 1;
            return;
        }
        self.diagnostics.push(Diagnostic {
            line,
            column,
            width,
            message,
            source_line: source_line.chars().take(1000).collect(),
        });
    }

    fn error_token(&mut self, line: u32, text: &str, token: &Token<'_>, message: String) {
        let column = column_of(text, token.start);
        let width = u32::try_from(token.text.chars().count()).unwrap_or(1);
        self.error_at(line, column, width, message, text);
    }

    fn finish(&mut self) -> Vec<Diagnostic> {
        let mut diagnostics = std::mem::take(&mut self.diagnostics);
        diagnostics.sort_by_key(|d| (d.line, d.column));
        if self.dropped > 0 {
            diagnostics.push(Diagnostic {
                line: diagnostics.last().map_or(1, |d| d.line),
                column: 1,
                width: 1,
                message: format!("too many errors; stopped after {MAX_DIAGNOSTICS}"),
                source_line: String::new(),
            });
        }
        diagnostics
    }

    fn line(&mut self, line_no: u32, text: &str) -> SourceLine {
        let mut out = SourceLine { line: line_no, ..SourceLine::default() };
        let mut pos = skip_ws(text, 0);
        // A label: an identifier directly followed by ':'.
        let word_end =
            text[pos..].find(|c: char| c.is_whitespace() || c == '#' || c == ';').map_or(text.len(), |i| pos + i);
        if let Some(colon) = text[pos..word_end].find(':') {
            let name = &text[pos..pos + colon];
            let token = Token { text: name, start: pos };
            if is_ident(name) {
                self.define_label(line_no, text, &token);
                out.label = Some(name.to_string());
            } else {
                let shown = if name.is_empty() { ":" } else { name };
                let token = Token { text: shown, start: pos };
                self.error_token(
                    line_no,
                    text,
                    &token,
                    format!("invalid label name '{shown}' (labels are [A-Za-z_][A-Za-z0-9_]*)"),
                );
            }
            pos = skip_ws(text, pos + colon + 1);
        }
        if pos >= text.len() {
            return out;
        }
        if text[pos..].starts_with(['#', ';']) {
            out.comment = Some(text[pos..].trim_end().to_string());
            return out;
        }
        let mnemonic_end =
            text[pos..].find(|c: char| c.is_whitespace() || c == '#' || c == ';').map_or(text.len(), |i| pos + i);
        let mnemonic = Token { text: &text[pos..mnemonic_end], start: pos };
        if mnemonic.text.eq_ignore_ascii_case(SIZE_DIRECTIVE) {
            let body_end = text[mnemonic_end..].find(['#', ';']).map_or(text.len(), |i| mnemonic_end + i);
            if body_end < text.len() {
                out.comment = Some(text[body_end..].trim_end().to_string());
            }
            let tokens = tokenize(text, mnemonic_end, body_end);
            out.size = self.size_directive(line_no, text, &mnemonic, &tokens);
            return out;
        }
        let Some(op) = Op::from_mnemonic(mnemonic.text) else {
            let message = unknown_mnemonic_message(mnemonic.text);
            self.error_token(line_no, text, &mnemonic, message);
            return out;
        };
        if op == Op::Txt {
            out.instr = self.txt(line_no, text, mnemonic_end, &mnemonic);
            return out;
        }
        // Operands run to the end of the line or to a comment.
        let body_end = text[mnemonic_end..].find(['#', ';']).map_or(text.len(), |i| mnemonic_end + i);
        if body_end < text.len() {
            out.comment = Some(text[body_end..].trim_end().to_string());
        }
        let tokens = tokenize(text, mnemonic_end, body_end);
        out.instr = self.instruction(line_no, text, op, &mnemonic, &tokens);
        out
    }

    fn define_label(&mut self, line_no: u32, text: &str, token: &Token<'_>) {
        let column = column_of(text, token.start);
        if let Some((first_line, first_column)) = self.labels.get(token.text).copied() {
            self.error_token(
                line_no,
                text,
                token,
                format!("duplicate label '{}' (first defined at {first_line}:{first_column})", token.text),
            );
        } else {
            self.labels.insert(token.text.to_string(), (line_no, column));
        }
    }

    /// `SIZE width height`: two decimal literals from 1 to 4096, at most once a program.
    fn size_directive(
        &mut self,
        line_no: u32,
        text: &str,
        mnemonic: &Token<'_>,
        tokens: &[Token<'_>],
    ) -> Option<(u32, u32)> {
        if tokens.len() != 2 {
            let message = format!("SIZE expects 2 operands (width height), found {}", tokens.len());
            match tokens.get(2) {
                Some(extra) => self.error_token(line_no, text, extra, message),
                None => self.error_token(line_no, text, mnemonic, message),
            }
            return None;
        }
        let mut sides = [0u32; 2];
        for ((token, side), what) in tokens.iter().zip(&mut sides).zip(["width", "height"]) {
            match token.text.parse::<u32>() {
                Ok(value)
                    if (1..=MAX_DECLARED_SIDE).contains(&value) && token.text.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    *side = value
                }
                _ => {
                    let shown: String = token.text.chars().take(40).collect();
                    let message =
                        format!("SIZE {what} must be an integer from 1 to {MAX_DECLARED_SIDE}, found '{shown}'");
                    self.error_token(line_no, text, token, message);
                    return None;
                }
            }
        }
        let column = column_of(text, mnemonic.start);
        if let Some((first_line, first_column)) = self.size_at {
            let message = format!("duplicate SIZE (first declared at {first_line}:{first_column})");
            self.error_token(line_no, text, mnemonic, message);
            return None;
        }
        self.size_at = Some((line_no, column));
        Some((sides[0], sides[1]))
    }

    fn count_instruction(&mut self, line_no: u32, text: &str, mnemonic: &Token<'_>) -> bool {
        self.n_instructions += 1;
        if self.n_instructions == MAX_RECORDS + 1 {
            self.error_token(line_no, text, mnemonic, format!("too many instructions (the limit is {MAX_RECORDS})"));
        }
        self.n_instructions <= MAX_RECORDS
    }

    fn txt(&mut self, line_no: u32, text: &str, after_mnemonic: usize, mnemonic: &Token<'_>) -> Option<Instr> {
        let mut operands = Vec::new();
        let mut pos = after_mnemonic;
        let mut ok = true;
        for _ in 0..2 {
            let start = skip_ws(text, pos);
            let end = text[start..].find(char::is_whitespace).map_or(text.len(), |i| start + i);
            if start == end {
                self.error_token(
                    line_no,
                    text,
                    mnemonic,
                    "TXT expects operands x y text, found fewer than 2".to_string(),
                );
                return None;
            }
            let token = Token { text: &text[start..end], start };
            match self.operand(line_no, text, &token, OperandKind::Value) {
                Some(operand) => operands.push(operand),
                None => ok = false,
            }
            pos = end;
        }
        // The text is the rest of the line after exactly one separating space or tab. The
        // separator is whatever whitespace ended `y`, which may be wider than one byte.
        let separator = text[pos..].chars().next().map_or(0, char::len_utf8);
        let body_start = pos + separator;
        let body = &text[body_start..];
        if body.len() > MAX_TEXT_BYTES {
            let token = Token { text: "T", start: body_start };
            self.error_token(
                line_no,
                text,
                &token,
                format!("TXT text is {} bytes; the limit is {MAX_TEXT_BYTES}", body.len()),
            );
            ok = false;
        } else if let Some((offset, bad)) = body.char_indices().find(|(_, c)| !(' '..='~').contains(c)) {
            let token = Token { text: "?", start: body_start + offset };
            // Escaped as docs/pxl.md shows it ('\u{e9}'), so invisible characters are visible too.
            let message = format!("TXT text may only hold printable ASCII; found '{}'", bad.escape_unicode());
            self.error_token(line_no, text, &token, message);
            ok = false;
        }
        let counted = self.count_instruction(line_no, text, mnemonic);
        (ok && counted).then(|| Instr { op: Op::Txt, operands, cmp: None, text: Some(body.to_string()) })
    }

    fn instruction(
        &mut self,
        line_no: u32,
        text: &str,
        op: Op,
        mnemonic: &Token<'_>,
        tokens: &[Token<'_>],
    ) -> Option<Instr> {
        let info = op.info();
        let (tokens, cmp) = if op == Op::If {
            if tokens.len() != 4 {
                self.wrong_count(line_no, text, op, mnemonic, tokens, 4, 4);
                return None;
            }
            let Some(cmp) = Cmp::from_text(tokens[1].text) else {
                self.error_token(
                    line_no,
                    text,
                    &tokens[1],
                    format!("unknown comparison '{}' (expected one of == != < <= > >=)", tokens[1].text),
                );
                return None;
            };
            (vec![&tokens[0], &tokens[2], &tokens[3]], Some(cmp))
        } else {
            if tokens.len() < info.min_operands || tokens.len() > info.operands.len() {
                self.wrong_count(line_no, text, op, mnemonic, tokens, info.min_operands, info.operands.len());
                return None;
            }
            (tokens.iter().collect(), None)
        };
        let mut operands = Vec::with_capacity(tokens.len());
        let mut ok = true;
        for (token, kind) in tokens.iter().zip(info.operands) {
            match self.operand(line_no, text, token, *kind) {
                Some(operand) => operands.push(operand),
                None => ok = false,
            }
        }
        let counted = self.count_instruction(line_no, text, mnemonic);
        (ok && counted).then_some(Instr { op, operands, cmp, text: None })
    }

    #[allow(clippy::too_many_arguments, reason = "an error helper with the context it names")]
    fn wrong_count(
        &mut self,
        line_no: u32,
        text: &str,
        op: Op,
        mnemonic: &Token<'_>,
        tokens: &[Token<'_>],
        min: usize,
        max: usize,
    ) {
        let info = op.info();
        let expected = match (min, max) {
            (0, 0) => "no operands".to_string(),
            (1, 1) => "1 operand".to_string(),
            (a, b) if a == b => format!("{a} operands"),
            (a, b) if b == a + 1 => format!("{a} or {b} operands"),
            (a, b) => format!("{a} to {b} operands"),
        };
        let synopsis = if info.synopsis.is_empty() { String::new() } else { format!(" ({})", info.synopsis) };
        let message = format!("{} expects {expected}{synopsis}, found {}", info.mnemonic, tokens.len());
        // Point at the first extra operand when there are too many, else at the mnemonic.
        match tokens.get(max) {
            Some(extra) => self.error_token(line_no, text, extra, message),
            None => self.error_token(line_no, text, mnemonic, message),
        }
    }

    fn operand(&mut self, line_no: u32, text: &str, token: &Token<'_>, kind: OperandKind) -> Option<Operand> {
        let word = token.text;
        match kind {
            OperandKind::Label => {
                if is_ident(word) {
                    self.label_uses.push((word.to_string(), line_no, column_of(text, token.start), word.len() as u32));
                    return Some(Operand::Label(word.to_string()));
                }
                self.error_token(line_no, text, token, format!("expected a label name, found '{word}'"));
                None
            }
            OperandKind::Dest if !is_ident(word) => {
                self.error_token(line_no, text, token, format!("expected a variable to write, found '{word}'"));
                None
            }
            OperandKind::Value | OperandKind::Dest | OperandKind::Text => {
                if is_ident(word) {
                    if !self.variables.contains(word) {
                        if self.variables.len() == MAX_VARS {
                            self.error_token(
                                line_no,
                                text,
                                token,
                                format!("too many variables (the limit is {MAX_VARS})"),
                            );
                            return None;
                        }
                        self.variables.insert(word.to_string());
                    }
                    return Some(Operand::Var(word.to_string()));
                }
                match parse_literal(word) {
                    Ok(value) => Some(Operand::Int { value, text: word.to_string() }),
                    Err(message) => {
                        self.error_token(line_no, text, token, message);
                        None
                    }
                }
            }
        }
    }

    fn check_labels(&mut self, source: &str) {
        let uses = std::mem::take(&mut self.label_uses);
        let undefined: Vec<_> = uses.into_iter().filter(|(name, ..)| !self.labels.contains_key(name)).collect();
        if undefined.is_empty() {
            return;
        }
        // One scan of the source for the lines to show, not one scan per undefined label
        // (which made a long program full of undefined jumps take minutes to reject).
        let lines: Vec<&str> = source.split('\n').collect();
        // The hint search looks only at labels of a near length, and all of them together at
        // most MAX_HINT_CELLS edit-distance cells: a program with thousands of labels and
        // undefined jumps gets its first hints, then none, instead of a quadratic search.
        let labels = std::mem::take(&mut self.labels);
        let mut by_length: std::collections::HashMap<usize, Vec<&str>> = std::collections::HashMap::new();
        for label in labels.keys() {
            by_length.entry(label.chars().count()).or_default().push(label);
        }
        for (name, line, column, width) in undefined {
            if self.diagnostics.len() >= MAX_DIAGNOSTICS {
                // Dropped anyway: skip the hint search.
                self.dropped += 1;
                continue;
            }
            let n_chars = name.chars().count();
            let near = (n_chars.saturating_sub(2)..=n_chars + 2).filter_map(|n| by_length.get(&n).map(|b| (n, b)));
            let cells: u64 = near.clone().map(|(n, bucket)| (n * n_chars) as u64 * bucket.len() as u64).sum();
            let hint = if name.len() <= 64 && self.hint_cells + cells <= MAX_HINT_CELLS {
                self.hint_cells += cells;
                closest(&name, near.flat_map(|(_, bucket)| bucket.iter().copied()))
                    .map(|near| format!(" (did you mean {near}?)"))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            let raw = lines.get(line as usize - 1).copied().unwrap_or("");
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            self.error_at(line, column, width, format!("undefined label '{name}'{hint}"), raw);
        }
        drop(by_length);
        self.labels = labels;
    }
}

fn skip_ws(text: &str, pos: usize) -> usize {
    text[pos..].find(|c: char| !c.is_whitespace()).map_or(text.len(), |i| pos + i)
}

fn tokenize(text: &str, start: usize, end: usize) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut pos = start;
    loop {
        pos = skip_ws(text, pos).min(end);
        if pos >= end {
            break;
        }
        let token_end = text[pos..end].find(char::is_whitespace).map_or(end, |i| pos + i);
        tokens.push(Token { text: &text[pos..token_end], start: pos });
        pos = token_end;
    }
    tokens
}

/// Parses an integer literal: decimal with an optional `-`, or `0x` hex up to `0xFFFFFFFF`.
pub fn parse_literal(word: &str) -> Result<i32, String> {
    if let Some(hex) = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("bad hex literal '{word}'"));
        }
        let digits = hex.trim_start_matches('0');
        if digits.len() > 8 {
            return Err(format!("hex literal '{word}' is out of range (at most 0xFFFFFFFF)"));
        }
        return u32::from_str_radix(if digits.is_empty() { "0" } else { digits }, 16)
            .map(|v| v as i32)
            .map_err(|_| format!("bad hex literal '{word}'"));
    }
    let digits = word.strip_prefix('-').unwrap_or(word);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("bad operand '{word}' (expected an integer literal or a variable name)"));
    }
    word.parse::<i32>().map_err(|_| format!("integer literal '{word}' is out of range (-2147483648 to 2147483647)"))
}

fn unknown_mnemonic_message(word: &str) -> String {
    let upper = word.to_ascii_uppercase();
    let hint = closest(&upper, crate::op::OPS.iter().map(|info| info.mnemonic).chain([SIZE_DIRECTIVE]))
        .map(|near| format!(" (did you mean {near}?)"))
        .unwrap_or_default();
    let shown: String = word.chars().take(40).collect();
    format!("unknown mnemonic '{shown}'{hint}")
}

/// The candidate nearest to `word` by edit distance, if it is close enough to be a typo.
fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    if word.len() > 64 {
        return None;
    }
    let limit = if word.len() <= 3 { 1 } else { 2 };
    let n_chars = word.chars().count();
    candidates
        // Lengths further apart than the limit are never within it: skip the full distance.
        .filter(|candidate| candidate.chars().count().abs_diff(n_chars) <= limit)
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 0.7 MB program with 30,000 labels and as many undefined jumps, each one letter away
    /// from a label: the hint search compared every undefined label with every label (seconds
    /// of work). Now the first hints are given, the rest are not, and the work is bounded.
    #[test]
    fn label_hints_are_bounded_for_thousands_of_undefined_labels() {
        let source: String = (0..30_000).map(|i| format!("lab{i:05}: JMP lab{i:05}x\n")).collect();
        assert!(source.len() > 700_000, "{}", source.len());
        let (_, diagnostics, hint_cells) = parse_counting(&source);
        assert!(hint_cells <= MAX_HINT_CELLS, "{hint_cells}");
        assert_eq!(diagnostics.len(), MAX_DIAGNOSTICS + 1);
        let hinted = diagnostics.iter().filter(|d| d.message.contains("did you mean")).count();
        // Each search costs 30,000 labels × 8 × 9 cells.
        assert_eq!(hinted as u64, MAX_HINT_CELLS / (30_000 * 72));
        assert_eq!(diagnostics[0].message, "undefined label 'lab00000x' (did you mean lab00000?)");
        assert_eq!(diagnostics[1].message, "undefined label 'lab00001x' (did you mean lab00001?)");
        assert_eq!(diagnostics[hinted].message, format!("undefined label 'lab{hinted:05}x'"));
        assert_eq!(diagnostics[MAX_DIAGNOSTICS].message, format!("too many errors; stopped after {MAX_DIAGNOSTICS}"));
    }

    #[test]
    fn ordinary_programs_keep_their_hints() {
        let (_, diagnostics) = parse("loop:\nJMP lop\nJMP loop_\nJMP x\n");
        let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "undefined label 'lop' (did you mean loop?)",
                "undefined label 'loop_' (did you mean loop?)",
                "undefined label 'x'"
            ]
        );
    }
}
