//! Loading a program from a file: PXL source, a cartridge PNG, or a machine texture (raw `.pxt`
//! or PNG).
//!
//! Every failure here is the user's input being wrong, so it becomes a [`UsageError`] (exit
//! status 2) with a message naming the file. Memory stays bounded: files over the source limit
//! are refused before they are read.

use std::io::Read;
use std::path::Path;

use gvpie_pxl::{Diagnostic, MAX_SOURCE_BYTES, Texture, compile};

use crate::UsageError;

/// The largest file accepted (a cartridge PNG holding a maximal source is well below this).
const MAX_FILE_BYTES: u64 = MAX_SOURCE_BYTES as u64 + (16 << 20);
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A program as loaded.
pub struct Loaded {
    /// The source text, when the input had one (source file or cartridge).
    pub source: Option<String>,
    /// The assembled program, or the source's diagnostics.
    pub program: Result<Texture, Vec<Diagnostic>>,
}

/// Reads a whole file (or stdin for `-`), refusing anything over the size limit.
pub fn read_limited(path: &Path) -> anyhow::Result<Vec<u8>> {
    let shown = path.display();
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| UsageError::new(format!("stdin: {e}")))?;
    } else {
        let file = std::fs::File::open(path).map_err(|e| UsageError::new(format!("{shown}: {e}")))?;
        if let Ok(meta) = file.metadata() {
            if meta.is_dir() {
                return Err(UsageError::new(format!("{shown}: is a directory, not a program")).into());
            }
            if meta.len() > MAX_FILE_BYTES {
                return Err(too_large(&shown.to_string(), meta.len()).into());
            }
        }
        file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| UsageError::new(format!("{shown}: {e}")))?;
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(&shown.to_string(), bytes.len() as u64).into());
    }
    Ok(bytes)
}

fn too_large(shown: &str, len: u64) -> UsageError {
    UsageError::new(format!("{shown}: file is {len} bytes; the limit is {MAX_FILE_BYTES} bytes"))
}

/// Turns bytes into UTF-8 source, or says where the first bad byte is.
pub fn source_text(path: &Path, bytes: Vec<u8>) -> anyhow::Result<String> {
    let shown = path.display();
    if bytes.len() > MAX_SOURCE_BYTES {
        return Err(UsageError::new(format!(
            "{shown}: program is {} bytes; the limit is {MAX_SOURCE_BYTES} bytes",
            bytes.len()
        ))
        .into());
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = valid.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        UsageError::new(format!(
            "{shown}: {line}:{column}: not UTF-8 text (byte offset {}); a program is PXL text or a cartridge PNG",
            valid.len()
        ))
        .into()
    })
}

/// Loads a program from `path`, whatever its form.
pub fn load(path: &Path) -> anyhow::Result<Loaded> {
    let bytes = read_limited(path)?;
    let shown = path.display();
    if bytes.starts_with(&gvpie_pxl::MAGIC.to_le_bytes()) {
        let texture = Texture::from_bytes(&bytes).map_err(|e| UsageError::new(format!("{shown}: {e}")))?;
        return Ok(Loaded { source: None, program: Ok(texture) });
    }
    if bytes.starts_with(PNG_SIGNATURE) {
        if let Some(texture) = texture_from_png(&bytes) {
            let texture = texture.map_err(|e| UsageError::new(format!("{shown}: {e}")))?;
            return Ok(Loaded { source: None, program: Ok(texture) });
        }
        let cart = gvpie_cart::unpack(&bytes).map_err(|e| UsageError::new(format!("{shown}: {e}")))?;
        let program = compile(&cart.source);
        return Ok(Loaded { source: Some(cart.source), program });
    }
    let source = source_text(path, bytes)?;
    let program = compile(&source);
    Ok(Loaded { source: Some(source), program })
}

/// A PNG 8 texels wide whose first texel is the texture magic is a machine texture.
fn texture_from_png(bytes: &[u8]) -> Option<Result<Texture, gvpie_pxl::TextureError>> {
    let (width, _, rgba) = gvpie_cart::decode_rgba(bytes).ok()?;
    if width as usize != gvpie_pxl::RECORD_WORDS || !rgba.starts_with(&gvpie_pxl::MAGIC.to_le_bytes()) {
        return None;
    }
    Some(Texture::from_bytes(&rgba))
}
