//! The machine texture: the one binary form of a PXL program, as 32-bit RGBA texels.
//!
//! The assembler writes it, the CPU VM and the GPU backend both read it, cartridges and the
//! program store keep it. This module defines the layout, checks a texture's header and decodes
//! single records; it does not run anything.
//!
//! Layout (every word is one RGBA8 texel, little-endian: R is the low byte; rows are 8 texels):
//!
//! | row | content |
//! | --- | --- |
//! | 0 | header: magic `PXLT`, version, counts |
//! | 1 ..= n_records | one instruction record per row |
//! | then | the data section (TXT text bytes), 4 bytes a texel, padded to a full row |
//! | then | optional metadata (variable and label names), UTF-8, padded to a full row |
//!
//! A record is 8 words: word 0 = opcode | operand-mode bits << 8 | aux << 16 | reserved << 24,
//! words 1..=6 the operand slots, word 7 the 1-based source line (0 when unknown).
//! Bit k of the mode byte says operand slot k holds a variable index rather than a literal.

use crate::op::{Cmp, Op, OperandKind};

/// Words (texels) in one record, and in one texture row.
pub const RECORD_WORDS: usize = 8;
/// Operand slots in a record.
pub const OPERANDS_PER_RECORD: usize = 6;
/// `PXLT` as a little-endian word.
pub const MAGIC: u32 = u32::from_le_bytes(*b"PXLT");
/// The newest texture format version this build reads, and the one it writes for a program
/// that declares its canvas size (`SIZE`). A program without the declaration is written as
/// version 1 ([`TEXTURE_VERSION_PLAIN`]), byte for byte as before, so its hash is unchanged.
///
/// Version 2 adds one thing: header word 6 holds the declared canvas size (`width | height << 16`,
/// each 1..=4096; 0 = none). A version-1 reader would ignore the word and run the program at
/// the wrong size, hence the bump.
pub const TEXTURE_VERSION: u8 = 2;
/// The version written for a program that declares no canvas size.
pub const TEXTURE_VERSION_PLAIN: u8 = 1;
/// The header word holding the declared canvas size (version 2).
const SIZE_WORD: usize = 6;
/// At most this many instructions in one program.
pub const MAX_RECORDS: usize = 1 << 20;
/// At most this many distinct variables in one program.
pub const MAX_VARS: usize = 1 << 16;
/// At most this many bytes of TXT text in one program.
pub const MAX_DATA_BYTES: usize = 16 << 20;
/// At most this many bytes of metadata.
pub const MAX_META_BYTES: usize = 16 << 20;

const FLAG_METADATA: u32 = 1;

/// Why a texture could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextureError {
    /// The byte length is not a whole number of rows.
    BadLength(usize),
    /// The first texel is not `PXLT`.
    BadMagic,
    /// Written by a newer gvpie.
    NewerVersion {
        /// The version in the texture.
        found: u8,
    },
    /// A count in the header disagrees with the texture's size or a limit.
    BadHeader(&'static str),
}

impl std::fmt::Display for TextureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextureError::BadLength(n) => {
                write!(f, "machine texture length {n} is not a whole number of 8-texel rows")
            }
            TextureError::BadMagic => write!(f, "not a gvpie machine texture (magic PXLT missing)"),
            TextureError::NewerVersion { found } => write!(
                f,
                "machine texture version {found} is newer than this gvpie supports ({TEXTURE_VERSION}); upgrade gvpie"
            ),
            TextureError::BadHeader(what) => write!(f, "machine texture header is invalid: {what}"),
        }
    }
}

impl std::error::Error for TextureError {}

/// Names kept beside the code so that disassembly reads like the source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    /// Variable names by index.
    pub variables: Vec<String>,
    /// Labels with the record index they point to.
    pub labels: Vec<(String, u32)>,
}

/// A checked machine texture. The header agrees with the size; records may still be invalid
/// (they trap when executed). Two textures are equal when their words are.
#[derive(Clone)]
pub struct Texture {
    words: Vec<u32>,
    /// Every record is known to decode: the assembler made it. Textures read from words or
    /// bytes are not known to (their records are decoded where they run).
    records_valid: bool,
}

impl PartialEq for Texture {
    fn eq(&self, other: &Texture) -> bool {
        self.words == other.words
    }
}

impl Eq for Texture {}

impl std::fmt::Debug for Texture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Texture")
            .field("records", &self.n_records())
            .field("vars", &self.n_vars())
            .field("data_bytes", &self.data_len())
            .finish()
    }
}

fn rows_for(words: usize) -> usize {
    words.div_ceil(RECORD_WORDS)
}

impl Texture {
    /// Builds a texture from its parts; the assembler's only way in.
    pub(crate) fn build(
        records: &[[u32; RECORD_WORDS]],
        n_vars: u32,
        data: &[u8],
        names: Option<&Names>,
        canvas_size: Option<(u32, u32)>,
    ) -> Texture {
        let meta = names.map(encode_names).unwrap_or_default();
        let data_rows = rows_for(data.len().div_ceil(4));
        let meta_rows = rows_for(meta.len().div_ceil(4));
        let mut words = Vec::with_capacity((1 + records.len() + data_rows + meta_rows) * RECORD_WORDS);
        words.extend_from_slice(&[
            MAGIC,
            u32::from(if canvas_size.is_some() { TEXTURE_VERSION } else { TEXTURE_VERSION_PLAIN })
                | if names.is_some() { FLAG_METADATA << 8 } else { 0 },
            records.len() as u32,
            data.len() as u32,
            n_vars,
            meta.len() as u32,
            canvas_size.map_or(0, |(w, h)| w | h << 16),
            0,
        ]);
        for record in records {
            words.extend_from_slice(record);
        }
        push_bytes(&mut words, data);
        push_bytes(&mut words, &meta);
        Texture { words, records_valid: false }
    }

    /// Marks every record as valid: only for the assembler's output, which is valid by
    /// construction (checked in debug builds, so every test that compiles a program checks it).
    pub(crate) fn with_records_valid(mut self) -> Texture {
        debug_assert!(
            (0..self.n_records()).all(|i| {
                let mut literals = [0i32; OPERANDS_PER_RECORD];
                decode_record(&self.record(i), self.n_vars(), self.n_records(), self.data_len(), 0, &mut literals)
                    .is_ok()
            }),
            "the assembler made an invalid record"
        );
        self.records_valid = true;
        self
    }

    /// Whether every record is known to be a valid instruction without decoding it (the
    /// assembler made the texture). `false` says nothing: decode the records to know.
    pub fn records_valid(&self) -> bool {
        self.records_valid
    }

    /// Reads a texture from little-endian bytes (4 per texel), checking its header.
    pub fn from_bytes(bytes: &[u8]) -> Result<Texture, TextureError> {
        if !bytes.len().is_multiple_of(4 * RECORD_WORDS) || bytes.is_empty() {
            return Err(TextureError::BadLength(bytes.len()));
        }
        let words = bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        Texture::from_words(words)
    }

    /// Reads a texture from its words, checking its header.
    pub fn from_words(words: Vec<u32>) -> Result<Texture, TextureError> {
        if words.is_empty() || !words.len().is_multiple_of(RECORD_WORDS) {
            return Err(TextureError::BadLength(words.len() * 4));
        }
        if words[0] != MAGIC {
            return Err(TextureError::BadMagic);
        }
        let version = (words[1] & 0xFF) as u8;
        if version > TEXTURE_VERSION {
            return Err(TextureError::NewerVersion { found: version });
        }
        if version == 0 {
            return Err(TextureError::BadHeader("version 0"));
        }
        let texture = Texture { words, records_valid: false };
        if version >= 2 && texture.words[SIZE_WORD] != 0 && texture.canvas_size().is_none() {
            return Err(TextureError::BadHeader("declared canvas size out of range (1x1 to 4096x4096)"));
        }
        let (n_records, n_vars) = (texture.n_records(), texture.n_vars());
        if n_records > MAX_RECORDS {
            return Err(TextureError::BadHeader("too many records"));
        }
        if n_vars > MAX_VARS {
            return Err(TextureError::BadHeader("too many variables"));
        }
        if texture.data_len() > MAX_DATA_BYTES || texture.meta_len() > MAX_META_BYTES {
            return Err(TextureError::BadHeader("data or metadata too large"));
        }
        let expected_rows =
            1 + n_records + rows_for(texture.data_len().div_ceil(4)) + rows_for(texture.meta_len().div_ceil(4));
        if expected_rows * RECORD_WORDS != texture.words.len() {
            return Err(TextureError::BadHeader("counts disagree with the texture size"));
        }
        Ok(texture)
    }

    /// All words, header included.
    pub fn words(&self) -> &[u32] {
        &self.words
    }

    /// Little-endian bytes, 4 per texel: an RGBA8 image 8 texels wide.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// Image height in texels when shown 8 texels wide.
    pub fn height(&self) -> usize {
        self.words.len() / RECORD_WORDS
    }

    /// The format version in the header.
    pub fn version(&self) -> u8 {
        (self.words[1] & 0xFF) as u8
    }

    /// The canvas size the program declares (`SIZE width height`), if it does: header word 6 of
    /// a version-2 texture. Version 1 has no declaration (the word was reserved).
    pub fn canvas_size(&self) -> Option<(u32, u32)> {
        let word = self.words[SIZE_WORD];
        let (width, height) = (word & 0xFFFF, word >> 16);
        let in_range = |side: u32| (1..=crate::syntax::MAX_DECLARED_SIDE).contains(&side);
        (self.version() >= 2 && in_range(width) && in_range(height)).then_some((width, height))
    }

    /// Number of instruction records.
    pub fn n_records(&self) -> usize {
        self.words[2] as usize
    }

    /// Number of variables.
    pub fn n_vars(&self) -> usize {
        self.words[4] as usize
    }

    /// Bytes in the data section.
    pub fn data_len(&self) -> usize {
        self.words[3] as usize
    }

    fn meta_len(&self) -> usize {
        self.words[5] as usize
    }

    /// Words of the code address space seen by `PEEK`/`POKE`: records, then data words.
    pub fn code_words(&self) -> &[u32] {
        let start = RECORD_WORDS;
        let end = start + self.n_records() * RECORD_WORDS + self.data_len().div_ceil(4);
        &self.words[start..end]
    }

    /// Record `index` as its 8 words.
    pub fn record(&self, index: usize) -> [u32; RECORD_WORDS] {
        let start = RECORD_WORDS * (1 + index);
        let mut record = [0; RECORD_WORDS];
        record.copy_from_slice(&self.words[start..start + RECORD_WORDS]);
        record
    }

    /// The data section's bytes.
    pub fn data(&self) -> Vec<u8> {
        let start = RECORD_WORDS * (1 + self.n_records());
        words_to_bytes(&self.words[start..], self.data_len())
    }

    /// The names carried in the metadata, when present and readable.
    pub fn names(&self) -> Option<Names> {
        if self.words[1] >> 8 & FLAG_METADATA == 0 {
            return None;
        }
        let data_rows = rows_for(self.data_len().div_ceil(4));
        let start = RECORD_WORDS * (1 + self.n_records() + data_rows);
        let bytes = words_to_bytes(&self.words[start..], self.meta_len());
        decode_names(&bytes)
    }

    /// The same texture without names (what a stripped program looks like).
    pub fn without_names(&self) -> Texture {
        let records: Vec<_> = (0..self.n_records()).map(|i| self.record(i)).collect();
        let stripped = Texture::build(&records, self.n_vars() as u32, &self.data(), None, self.canvas_size());
        // The same records: valid if these were.
        Texture { records_valid: self.records_valid, ..stripped }
    }
}

fn push_bytes(words: &mut Vec<u32>, bytes: &[u8]) {
    for chunk in bytes.chunks(4) {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        words.push(u32::from_le_bytes(word));
    }
    while !words.len().is_multiple_of(RECORD_WORDS) {
        words.push(0);
    }
}

pub(crate) fn words_to_bytes(words: &[u32], len: usize) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).take(len).collect()
}

// Metadata is plain text so a person can read it in a hex dump: "v NAME" per variable in index
// order, then "l NAME INDEX" per label.
fn encode_names(names: &Names) -> Vec<u8> {
    let mut text = String::new();
    for name in &names.variables {
        text.push_str(&format!("v {name}\n"));
    }
    for (name, index) in &names.labels {
        text.push_str(&format!("l {name} {index}\n"));
    }
    text.into_bytes()
}

fn decode_names(bytes: &[u8]) -> Option<Names> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut names = Names::default();
    for line in text.lines() {
        let mut parts = line.split(' ');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("v"), Some(name), None) => names.variables.push(name.to_string()),
            (Some("l"), Some(name), Some(index)) => names.labels.push((name.to_string(), index.parse().ok()?)),
            _ => return None,
        }
    }
    Some(names)
}

/// One record decoded for execution: operand slots resolved to register indices.
///
/// Literal operands are copied into the VM's register file (one private slot per operand), so
/// the interpreter reads every value operand the same way, with no mode test on the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// The opcode, or `None` for a record that traps as invalid.
    pub op: Option<Op>,
    /// IF's comparison code; 0 otherwise.
    pub aux: u8,
    /// Per operand slot: a register index for values and destinations, the raw word for labels
    /// and text slots.
    pub slots: [u32; OPERANDS_PER_RECORD],
    /// 1-based source line.
    pub line: u32,
}

/// Why a record cannot execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// The opcode byte names no instruction.
    UnknownOpcode(u8),
    /// A mode bit is set where none is allowed, or missing on a destination.
    BadMode(usize),
    /// A variable index is out of range.
    BadVariable(usize),
    /// A jump target is past the end of the program.
    BadTarget(usize),
    /// TXT's text lies outside the data section.
    BadText,
    /// The aux or reserved byte holds something this opcode does not use.
    BadAux,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::UnknownOpcode(code) => write!(f, "unknown opcode {code}"),
            RecordError::BadMode(slot) => write!(f, "operand {} has the wrong mode", slot + 1),
            RecordError::BadVariable(slot) => write!(f, "operand {} names a variable that does not exist", slot + 1),
            RecordError::BadTarget(slot) => write!(f, "operand {} jumps outside the program", slot + 1),
            RecordError::BadText => write!(f, "text lies outside the data section"),
            RecordError::BadAux => write!(f, "header byte holds an unused value"),
        }
    }
}

/// Number of operand slots an opcode uses (TXT's text takes two: offset and length).
pub fn slot_count(op: Op) -> usize {
    let operands = op.info().operands;
    operands.len() + usize::from(operands.contains(&OperandKind::Text))
}

/// Decodes one record. `literal_base` is the register index of this record's first literal
/// slot; `literals` receives the literal values. Never panics, whatever the words.
pub fn decode_record(
    record: &[u32; RECORD_WORDS],
    n_vars: usize,
    n_records: usize,
    data_len: usize,
    literal_base: u32,
    literals: &mut [i32; OPERANDS_PER_RECORD],
) -> Result<Decoded, RecordError> {
    let head = record[0];
    let code = (head & 0xFF) as u8;
    let modes = (head >> 8 & 0xFF) as usize;
    let aux = (head >> 16 & 0xFF) as u8;
    if head >> 24 != 0 {
        return Err(RecordError::BadAux);
    }
    let op = Op::from_code(code).ok_or(RecordError::UnknownOpcode(code))?;
    let n_slots = slot_count(op);
    if modes >> n_slots != 0 {
        return Err(RecordError::BadMode(n_slots));
    }
    match op {
        Op::If if Cmp::from_code(aux).is_none() => return Err(RecordError::BadAux),
        Op::If => {}
        _ if aux != 0 => return Err(RecordError::BadAux),
        _ => {}
    }
    let mut slots = [0u32; OPERANDS_PER_RECORD];
    let mut slot = 0;
    for kind in op.info().operands {
        let is_var = modes >> slot & 1 == 1;
        let word = record[1 + slot];
        match kind {
            OperandKind::Value | OperandKind::Dest => {
                if *kind == OperandKind::Dest && !is_var {
                    return Err(RecordError::BadMode(slot));
                }
                if is_var {
                    if word as usize >= n_vars {
                        return Err(RecordError::BadVariable(slot));
                    }
                    slots[slot] = word;
                } else {
                    literals[slot] = word as i32;
                    slots[slot] = literal_base + slot as u32;
                }
            }
            OperandKind::Label => {
                if is_var {
                    return Err(RecordError::BadMode(slot));
                }
                if word as usize > n_records {
                    return Err(RecordError::BadTarget(slot));
                }
                slots[slot] = word;
            }
            OperandKind::Text => {
                let (offset, len) = (word, record[2 + slot]);
                if is_var || modes >> (slot + 1) & 1 == 1 {
                    return Err(RecordError::BadMode(slot));
                }
                let end = u64::from(offset) + u64::from(len);
                if end > data_len as u64 {
                    return Err(RecordError::BadText);
                }
                slots[slot] = offset;
                slots[slot + 1] = len;
                slot += 1;
            }
        }
        slot += 1;
    }
    Ok(Decoded { op: Some(op), aux, slots, line: record[7] })
}
