//! Turning a script row into something runnable, or into the error its run records.
//!
//! `lang = 'pixel'`: `code` is PXL source. `lang = 'cartridge'`: `code` names a cartridge
//! PNG, as one of (tried in this order) `sha256:HEX` (a `cartridge_registry` checksum), a
//! `cartridge_registry.path`, or the PNG itself in base64. The daemon never reads a file named
//! by a database row. Any other language, a missing or oversized code, an undecodable
//! cartridge or a program that does not compile becomes a failed run carrying the reason.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use gvpie_exec::{BackendName, ErrorJson, ResultJson};
use gvpie_pxl::Texture;
use gvpie_store::{ProgramInput, Script, Store, TextRef};

/// Lines of a program shown on the console and in events.
pub const PREVIEW_LINES: usize = 12;

/// A script ready to run.
#[derive(Debug)]
pub(crate) struct PreparedProgram {
    pub texture: Texture,
    pub program: Arc<ProgramInput>,
    /// The program's source text (for a cartridge, the source it carries).
    pub code: TextRef,
    /// What a remote runtime is sent.
    pub remote: RemoteInput,
    pub cartridge_id: Option<i64>,
}

/// What a remote runtime is sent.
#[derive(Debug)]
pub(crate) enum RemoteInput {
    Source,
    Cartridge(Vec<u8>),
}

/// The outcome of preparing a script.
#[derive(Debug, Clone)]
pub(crate) enum Prepared {
    Ready(Arc<PreparedProgram>),
    Failed { error: ErrorJson, code: Option<TextRef> },
}

/// Prepared programs by script id, reused while the script's language and code stay the same.
#[derive(Debug, Default)]
pub(crate) struct PrepareCache {
    entries: HashMap<i64, (String, String, Prepared)>,
}

fn error(kind: &str, message: String) -> ErrorJson {
    ErrorJson::new(kind, message)
}

/// The distinct mnemonics of a texture's records.
pub(crate) fn opcodes(texture: &Texture) -> Vec<String> {
    let mut set = BTreeSet::new();
    for index in 0..texture.n_records() {
        let head = texture.record(index)[0];
        if let Some(op) = gvpie_pxl::Op::from_code((head & 0xFF) as u8) {
            set.insert(op.info().mnemonic);
        }
    }
    set.into_iter().map(str::to_string).collect()
}

/// Compiles PXL source into a prepared program, or the parse error.
pub(crate) fn compile_source(source: &str, remote: RemoteInput, cartridge_id: Option<i64>) -> Prepared {
    let code = TextRef::new(source);
    match gvpie_pxl::compile(source) {
        Ok(texture) => {
            let program = ProgramInput::new(
                texture.to_bytes(),
                Some(code.clone()),
                texture.n_records() as i64,
                opcodes(&texture),
            );
            Prepared::Ready(Arc::new(PreparedProgram {
                texture,
                program: Arc::new(program),
                code,
                remote,
                cartridge_id,
            }))
        }
        Err(diagnostics) => {
            let result = ResultJson::from_diagnostics(&diagnostics, BackendName::Cpu, std::time::Duration::ZERO);
            let error = result.error.unwrap_or_else(|| error("parse", "the program does not compile".to_string()));
            Prepared::Failed { error, code: Some(code) }
        }
    }
}

impl PrepareCache {
    pub(crate) fn prepare(&mut self, store: &Store, script: &Script, max_code_bytes: i64) -> Prepared {
        let Some(code) = &script.code else {
            let failure = if script.code_len > max_code_bytes {
                error(
                    "code_too_large",
                    format!(
                        "the script's code is {} bytes; the daemon runs at most {max_code_bytes} (--max-code-bytes)",
                        script.code_len
                    ),
                )
            } else {
                error("missing_code", "the script has no code (NULL)".to_string())
            };
            return Prepared::Failed { error: failure, code: None };
        };
        if let Some((lang, cached_code, prepared)) = self.entries.get(&script.id)
            && *lang == script.lang
            && cached_code == code
        {
            return prepared.clone();
        }
        let prepared = match script.lang.to_ascii_lowercase().as_str() {
            "pixel" => compile_source(code, RemoteInput::Source, None),
            "cartridge" => prepare_cartridge(store, code),
            other => Prepared::Failed {
                error: error(
                    "unknown_language",
                    format!("unknown language '{other}' (the daemon runs 'pixel' and 'cartridge' scripts)"),
                ),
                code: Some(TextRef::new(code.as_str())),
            },
        };
        if self.entries.len() >= 1024 {
            self.entries.clear();
        }
        self.entries.insert(script.id, (script.lang.clone(), code.clone(), prepared.clone()));
        prepared
    }
}

fn prepare_cartridge(store: &Store, code: &str) -> Prepared {
    use base64::Engine as _;
    let key = code.trim();
    let failed = |message: String| Prepared::Failed {
        error: error("bad_cartridge", message),
        code: Some(TextRef::new(if key.len() <= 200 { key } else { "(cartridge code)" })),
    };
    let (png, cartridge_id) = match store.cartridge_png(key) {
        Ok(Some((entry, png))) => (png, Some(entry.id)),
        Ok(None) => {
            let compact: String = key.chars().filter(|c| !c.is_whitespace()).collect();
            match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
                Ok(bytes) if bytes.starts_with(b"\x89PNG") => (bytes, None),
                _ => {
                    return failed(format!(
                        "'{}' is neither a registered cartridge (sha256:HEX or a cartridge_registry path) nor a \
                         base64 PNG",
                        key.chars().take(80).collect::<String>()
                    ));
                }
            }
        }
        Err(err) => return failed(format!("cannot read the cartridge registry: {err}")),
    };
    match gvpie_cart::unpack(&png) {
        Ok(cart) => compile_source(&cart.source, RemoteInput::Cartridge(png), cartridge_id),
        Err(err) => failed(format!("the cartridge cannot be read: {err}")),
    }
}

/// The first [`PREVIEW_LINES`] lines of a program and how many were left out.
pub(crate) fn preview(code: &str) -> (Vec<String>, usize) {
    let lines: Vec<&str> = code.lines().collect();
    let shown: Vec<String> = lines.iter().take(PREVIEW_LINES).map(|l| l.chars().take(120).collect()).collect();
    let more = lines.len().saturating_sub(shown.len());
    (shown, more)
}
