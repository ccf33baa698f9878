//! `gvpie-evolve` does no IO and reads no clock, in its tests neither: the daemon and the CLI
//! pass the clock and the data in.
//!
//! The check reads the source text with its comments and the insides of its string literals
//! blanked out (a doc may say what the code must not do), so it finds a forbidden path wherever
//! the code names it, including inside a grouped import such as `use std::{fs, io};`.

/// What `gvpie-evolve`'s source must not name.
const FORBIDDEN: &[&str] = &["std::fs", "std::net", "File::open", "File::create", "Instant::now", "SystemTime::now"];

/// `text` with every comment and the inside of every string literal replaced by spaces
/// (newlines kept, so line numbers stay).
fn blank_comments(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            // Block comments nest in Rust.
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && !chars.get(i.wrapping_sub(1)).is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // A raw string: r"…", r#"…"#, …
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let start = i;
            i += 2 + hashes;
            while i < chars.len()
                && !(chars[i] == '"' && chars[i + 1..].iter().take(hashes).filter(|&&h| h == '#').count() == hashes)
            {
                i += 1;
            }
            i = (i + 1 + hashes).min(chars.len());
            out.extend(chars[start..i].iter().map(|&c| blank(c)));
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(chars.len());
            out.extend(chars[start..i].iter().map(|&c| blank(c)));
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal ('"', '\'', '\u{..}'), not a lifetime.
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(chars.len());
            out.extend(&chars[start..i]);
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The paths a grouped `std::{…}` import names at its top level (`fs` for `std::{fs::File, io}`).
fn grouped_std_modules(group: &str) -> Vec<&str> {
    let mut modules = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                modules.push(group[start..at].trim());
                start = at + 1;
            }
            _ => {}
        }
    }
    modules.push(group[start..].trim());
    modules.into_iter().map(|path| path.split("::").next().unwrap_or("").trim()).filter(|m| !m.is_empty()).collect()
}

/// Every use of a forbidden path in one source file, one line each
/// (`label:line: pattern: the line`), in the order they appear.
fn io_uses(label: &str, text: &str) -> Vec<String> {
    let code = blank_comments(text);
    let lines: Vec<&str> = text.lines().collect();
    let line_of = |offset: usize| code[..offset].matches('\n').count();
    let mut found: Vec<(usize, usize, &str)> = Vec::new();
    for pattern in FORBIDDEN {
        for (offset, _) in code.match_indices(pattern) {
            let before = code[..offset].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            found.push((line_of(offset), offset, pattern));
        }
    }
    for (offset, _) in code.match_indices("std::{") {
        let inner_start = offset + "std::{".len();
        let mut depth = 1;
        let mut end = code.len();
        for (at, c) in code[inner_start..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = inner_start + at;
                        break;
                    }
                }
                _ => {}
            }
        }
        for module in grouped_std_modules(&code[inner_start..end]) {
            match module {
                "fs" => found.push((line_of(offset), offset, "std::fs")),
                "net" => found.push((line_of(offset), offset, "std::net")),
                _ => {}
            }
        }
    }
    found.sort();
    found.dedup();
    found
        .into_iter()
        .map(|(line, _, pattern)| {
            let shown = lines.get(line).map_or("", |l| l.trim());
            format!("{label}:{}: {pattern}: {shown}", line + 1)
        })
        .collect()
}

#[test]
fn evolve_does_no_io_and_reads_no_clock() {
    let evolve = super::workspace_root().join("crates/evolve");
    let mut files = super::rust_files(&evolve.join("src"));
    files.extend(super::rust_files(&evolve.join("tests")));
    assert!(!files.is_empty(), "no source files under {}", evolve.display());
    let mut uses = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a readable source file");
        uses.extend(io_uses(&super::relative(file), &text));
    }
    assert!(
        uses.is_empty(),
        "gvpie-evolve does no IO and reads no clock (the caller passes the clock and the data in), but:\n  {}",
        uses.join("\n  ")
    );
}

#[test]
fn io_in_the_code_is_found_and_in_comments_and_strings_is_not() {
    let source = r##"//! Never std::fs here; the clock (not Instant::now()) comes from the caller.
use std::{collections::HashMap, fs::File, io};
use std::net::TcpStream;

/* A block comment: SystemTime::now() /* nested: File::open */ still a comment. */
fn run(started: std::time::Instant) -> u64 {
    let now = std::time::Instant::now(); // Instant::now() is the caller's job
    let url = "http://example.invalid/"; let quote = '"';
    let _ = File::create("out.png"); let wall = SystemTime::now;
    let _ = r#"std::fs in a raw string "quoted""#;
    let _ = my_std::fs::read("a"); let _ = File::open_buffered("b");
    0
}
"##;
    assert_eq!(
        io_uses("crates/evolve/src/x.rs", source),
        [
            "crates/evolve/src/x.rs:2: std::fs: use std::{collections::HashMap, fs::File, io};",
            "crates/evolve/src/x.rs:3: std::net: use std::net::TcpStream;",
            "crates/evolve/src/x.rs:7: Instant::now: let now = std::time::Instant::now(); // Instant::now() is the \
             caller's job",
            "crates/evolve/src/x.rs:9: File::create: let _ = File::create(\"out.png\"); let wall = SystemTime::now;",
            "crates/evolve/src/x.rs:9: SystemTime::now: let _ = File::create(\"out.png\"); let wall = SystemTime::now;",
            "crates/evolve/src/x.rs:11: File::open: let _ = my_std::fs::read(\"a\"); let _ = File::open_buffered(\"b\");",
        ]
    );
}

#[test]
fn clean_source_has_no_io_uses() {
    let source = "//! Pure.\nuse std::collections::HashMap;\nuse std::{fmt, io::Write};\n\
                  /// Not std::fs.\nfn f(now_ms: u64) -> u64 { now_ms + 1 }\n";
    assert_eq!(io_uses("x.rs", source), Vec::<String>::new());
}
