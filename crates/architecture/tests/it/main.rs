//! The architecture tests (see the crate's doc): each module holds one rule, its check of the
//! real workspace, and a test that shows the rule failing on a synthetic input.

use std::path::{Path, PathBuf};

mod crate_arrows;
mod evolve_io;
mod module_docs;

/// The workspace's root folder.
fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Every `.rs` file under `dir` (recursively), sorted; none when `dir` does not exist.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.expect("a readable folder entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `path` relative to the workspace root, with `/` separators, for messages.
fn relative(path: &Path) -> String {
    let root = workspace_root();
    let shown = path.strip_prefix(&root).unwrap_or(path);
    shown.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}
