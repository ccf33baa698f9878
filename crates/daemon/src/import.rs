//! Importing scripts from a folder, at start and whenever a file changes (polling
//! modification times and sizes; a changed file is re-read and compared by hash).
//!
//! - `*.sql`: the seed's style (`INSERT [OR REPLACE] INTO improvement_scripts ...`, also
//!   `INSERT INTO development_goals ...`). The file runs in a private in-memory database and
//!   what it inserted is merged by name into ours (see `gvpie_store::parse_script_sql`): ids,
//!   counters and history stay, code/lang/purpose/enabled are replaced.
//! - `*.pxl`: one `pixel` script named after the file; a first comment line
//!   (`# purpose: ...` or `# ...`) is its purpose.
//! - `*.png`: a cartridge, registered in `cartridge_registry` under its file name, and one
//!   `cartridge` script named after the file whose code is `sha256:HEX`.
//!
//! Deleting a file does not delete its scripts (history refers to them; disable them instead).
//! A file that changed since the last import (also across restarts: the store remembers each
//! file's hash) is imported again; an unchanged one is left alone, so edits made in the
//! database survive restarts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gvpie_store::{Hash, ImportedFile, ImportedScript, NewCartridge, Store};

use crate::event::DaemonEvent;

/// The largest script file read.
pub const MAX_SCRIPT_FILE_BYTES: u64 = 16 << 20;

/// A scripts folder being watched.
#[derive(Debug)]
pub struct ScriptFolder {
    dir: PathBuf,
    seen: HashMap<PathBuf, (i64, i64)>,
}

impl ScriptFolder {
    /// Watches `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> ScriptFolder {
        ScriptFolder { dir: dir.into(), seen: HashMap::new() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Imports every new or changed file; returns what happened, one event per file imported.
    pub fn scan(&mut self, store: &mut Store) -> Vec<DaemonEvent> {
        let mut events = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) => {
                if self.seen.insert(self.dir.clone(), (-1, -1)).is_none() {
                    events.push(DaemonEvent::Warning {
                        message: format!("cannot read the scripts folder {}: {err}", self.dir.display()),
                    });
                }
                return events;
            }
        };
        self.seen.remove(&self.dir);
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| {
                path.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| ["sql", "pxl", "png"].contains(&e.to_ascii_lowercase().as_str()))
            })
            .collect();
        paths.sort();
        for path in paths {
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            if !meta.is_file() {
                continue;
            }
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos() as i64)
                .unwrap_or(0);
            let stamp = (mtime_ns, meta.len() as i64);
            if self.seen.get(&path) == Some(&stamp) {
                continue;
            }
            self.seen.insert(path.clone(), stamp);
            if let Some(event) = import_file(store, &path, stamp) {
                events.push(event);
            }
        }
        events
    }
}

fn import_file(store: &mut Store, path: &Path, (mtime_ns, size): (i64, i64)) -> Option<DaemonEvent> {
    let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf()).display().to_string();
    let shown = path.display().to_string();
    if size as u64 > MAX_SCRIPT_FILE_BYTES {
        return Some(DaemonEvent::ScriptsImported {
            file: shown,
            scripts: Vec::new(),
            error: Some(format!("the file is {size} bytes; script files are at most {MAX_SCRIPT_FILE_BYTES}")),
        });
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => {
            return Some(DaemonEvent::ScriptsImported {
                file: shown,
                scripts: Vec::new(),
                error: Some(err.to_string()),
            });
        }
    };
    let hash = Hash::of(&bytes);
    if let Ok(Some(previous)) = store.imported_file(&key)
        && previous.hash == hash
    {
        // Unchanged since the last import (perhaps by an earlier daemon): leave the database alone.
        return None;
    }
    let result = import_bytes(store, path, &bytes);
    let (scripts, error) = match result {
        Ok(names) => (names, None),
        Err(message) => (Vec::new(), Some(message)),
    };
    let record =
        ImportedFile { path: key, mtime_ns, size, hash, scripts: Some(scripts.join(",")), error: error.clone() };
    if let Err(err) = store.mark_imported(&record) {
        return Some(DaemonEvent::Warning { message: format!("cannot remember the import of {shown}: {err}") });
    }
    Some(DaemonEvent::ScriptsImported { file: shown, scripts, error })
}

fn file_stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "script".to_string())
}

fn import_bytes(store: &mut Store, path: &Path, bytes: &[u8]) -> Result<Vec<String>, String> {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let source_file = path.display().to_string();
    let scripts = match extension.as_str() {
        "sql" => {
            let text = std::str::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text".to_string())?;
            let file = gvpie_store::parse_script_sql(text).map_err(|e| e.to_string())?;
            store.add_goals_if_new(&file.goals).map_err(|e| e.to_string())?;
            file.scripts
        }
        "pxl" => {
            let text = std::str::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text".to_string())?;
            vec![ImportedScript {
                name: file_stem(path),
                lang: "pixel".to_string(),
                purpose: purpose_of(text),
                code: text.to_string(),
                enabled: true,
            }]
        }
        "png" => {
            gvpie_cart::unpack(bytes).map_err(|e| format!("not a gvpie cartridge: {e}"))?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let entry = store.put_cartridge(&NewCartridge { path: Some(&name), png: bytes, ..NewCartridge::default() });
            let entry = match entry {
                Ok(entry) => entry,
                // The name is taken by an older version of the file: register the new bytes by hash.
                Err(_) => store
                    .put_cartridge(&NewCartridge { png: bytes, ..NewCartridge::default() })
                    .map_err(|e| e.to_string())?,
            };
            vec![ImportedScript {
                name: file_stem(path),
                lang: "cartridge".to_string(),
                purpose: Some(format!("Cartridge {name}")),
                code: format!("sha256:{}", entry.checksum.unwrap_or_default()),
                enabled: true,
            }]
        }
        _ => return Ok(Vec::new()),
    };
    store.upsert_scripts(&scripts, Some(&source_file)).map_err(|e| e.to_string())?;
    Ok(scripts.into_iter().map(|s| s.name).collect())
}

/// A `.pxl` file's purpose: its first comment line, without a `purpose:` label.
fn purpose_of(text: &str) -> Option<String> {
    let first = text.lines().map(str::trim).find(|line| !line.is_empty())?;
    let comment = first.strip_prefix('#').or_else(|| first.strip_prefix(';'))?.trim();
    let comment = comment.strip_prefix("purpose:").or_else(|| comment.strip_prefix("Purpose:")).unwrap_or(comment);
    Some(comment.trim().to_string()).filter(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn purpose_comes_from_the_first_comment() {
        assert_eq!(super::purpose_of("# purpose: draw a box\nRECT 0 0 4 4").as_deref(), Some("draw a box"));
        assert_eq!(super::purpose_of("\n; a circle\nCIRC 5 5 3").as_deref(), Some("a circle"));
        assert_eq!(super::purpose_of("HALT"), None);
    }
}
