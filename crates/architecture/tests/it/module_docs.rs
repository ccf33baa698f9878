//! Every source file opens with a `//!` doc saying what it is for, so a newcomer can read the
//! code map file by file.

/// Whether the first non-empty line of `text` is a `//!` doc comment.
fn opens_with_module_doc(text: &str) -> bool {
    text.lines().map(str::trim).find(|line| !line.is_empty()).is_some_and(|line| line.starts_with("//!"))
}

/// The files among `(label, text)` that do not open with a `//!` doc, one line each
/// (`label: its first line`).
fn missing_module_docs<'a>(files: impl IntoIterator<Item = (String, &'a str)>) -> Vec<String> {
    files
        .into_iter()
        .filter(|(_, text)| !opens_with_module_doc(text))
        .map(|(label, text)| {
            let first = text.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("(empty file)");
            format!("{label}: starts with `{first}`")
        })
        .collect()
}

#[test]
fn every_source_file_opens_with_a_module_doc() {
    let crates = super::workspace_root().join("crates");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&crates).expect("the crates folder") {
        let src = entry.expect("a readable folder entry").path().join("src");
        files.extend(super::rust_files(&src));
    }
    assert!(files.len() > 50, "only {} source files under {}", files.len(), crates.display());
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|file| (super::relative(file), std::fs::read_to_string(file).expect("a readable source file")))
        .collect();
    let missing = missing_module_docs(texts.iter().map(|(label, text)| (label.clone(), text.as_str())));
    assert!(
        missing.is_empty(),
        "{} source files do not open with a `//!` doc (its first non-empty line; one line on what the module is for \
         is enough):\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
}

#[test]
fn files_without_a_module_doc_are_listed() {
    let files = [
        ("a.rs".to_string(), "//! A.\nfn a() {}\n"),
        ("b.rs".to_string(), "\n\n  //! B, after blank lines.\n"),
        ("c.rs".to_string(), "/// An item doc is not a module doc.\nfn c() {}\n"),
        ("d.rs".to_string(), "#![allow(dead_code)]\n//! Too late.\n"),
        ("e.rs".to_string(), "// A plain comment.\n"),
        ("f.rs".to_string(), ""),
    ];
    assert_eq!(
        missing_module_docs(files),
        [
            "c.rs: starts with `/// An item doc is not a module doc.`",
            "d.rs: starts with `#![allow(dead_code)]`",
            "e.rs: starts with `// A plain comment.`",
            "f.rs: starts with `(empty file)`",
        ]
    );
}
