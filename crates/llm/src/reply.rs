//! Reply parsing: a whole program (in a ```` ```pxl ```` or bare fence, or bare text) or a
//! unified diff against the parent, which must apply.

/// What a reply holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extracted {
    /// A whole program.
    Program(String),
    /// A unified diff against the parent.
    Diff(String),
}

/// Why a reply gave no program.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// Nothing that could be a program.
    #[error("the reply holds no program")]
    Empty,
    /// A diff, but no parent to apply it to.
    #[error("the reply is a diff, but there is no parent program to apply it to")]
    NoParent,
    /// The diff does not apply to the parent.
    #[error("the diff does not apply: {0}")]
    Diff(String),
}

/// Finds the program or diff in a model's reply.
///
/// Reasoning between `<think>` and `</think>` is dropped. Among fenced blocks, one tagged `pxl` wins, then one tagged
/// `diff` or `patch`, then the first; a block (or, without fences, the whole text) whose lines look like a unified
/// diff (`@@` hunks) is a diff.
///
/// # Errors
///
/// [`ReplyError::Empty`] when nothing is left.
pub fn extract(reply: &str) -> Result<Extracted, ReplyError> {
    let text = strip_thinking(reply);
    let blocks = fenced_blocks(&text);
    let chosen = blocks
        .iter()
        .find(|(tag, _)| tag.eq_ignore_ascii_case("pxl"))
        .or_else(|| {
            blocks.iter().find(|(tag, _)| tag.eq_ignore_ascii_case("diff") || tag.eq_ignore_ascii_case("patch"))
        })
        .or_else(|| blocks.first())
        .map(|(_, body)| body.clone());
    let body = match chosen {
        Some(body) => body,
        None => text.trim().to_string(),
    };
    if body.trim().is_empty() {
        return Err(ReplyError::Empty);
    }
    if looks_like_diff(&body) {
        return Ok(Extracted::Diff(body));
    }
    let mut program = body.trim_matches('\n').to_string();
    program.push('\n');
    Ok(Extracted::Program(program))
}

/// The program a reply proposes: [`extract`], then a diff applied to `parent`.
///
/// # Errors
///
/// [`ReplyError`] when the reply holds nothing, or a diff that does not apply (or has no parent).
pub fn resolve_reply(reply: &str, parent: Option<&str>) -> Result<String, ReplyError> {
    match extract(reply)? {
        Extracted::Program(program) => Ok(program),
        Extracted::Diff(diff) => apply_unified_diff(parent.ok_or(ReplyError::NoParent)?, &diff),
    }
}

fn strip_thinking(reply: &str) -> String {
    let mut out = String::with_capacity(reply.len());
    let mut rest = reply;
    while let Some(start) = rest.find("<think>") {
        out.push_str(&rest[..start]);
        match rest[start..].find("</think>") {
            Some(end) => rest = &rest[start + end + "</think>".len()..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every ```` ``` ```` block: (its tag, its body). An unclosed last block runs to the end.
fn fenced_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(tag) = trimmed.strip_prefix("```") {
            match current.take() {
                Some((tag, lines)) => blocks.push((tag, join(&lines))),
                None => current = Some((tag.trim().to_string(), Vec::new())),
            }
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        }
    }
    if let Some((tag, lines)) = current {
        blocks.push((tag, join(&lines)));
    }
    blocks
}

fn join(lines: &[&str]) -> String {
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn looks_like_diff(body: &str) -> bool {
    body.lines().any(|l| l.starts_with("@@ ") || l == "@@")
}

/// One hunk: its old start (1-based, 0 for an empty file) and its lines.
struct Hunk<'a> {
    old_start: usize,
    lines: Vec<(char, &'a str)>,
}

fn parse_hunks(diff: &str) -> Result<Vec<Hunk<'_>>, ReplyError> {
    let mut hunks: Vec<Hunk<'_>> = Vec::new();
    for line in diff.lines() {
        if line.starts_with("@@") {
            // @@ -a,b +c,d @@ (the numbers are hints; the context decides where a hunk goes).
            let old_start = line
                .split_whitespace()
                .find_map(|part| part.strip_prefix('-'))
                .and_then(|range| range.split(',').next())
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            hunks.push(Hunk { old_start, lines: Vec::new() });
            continue;
        }
        let Some(hunk) = hunks.last_mut() else {
            // `--- a/x`, `+++ b/x`, `diff --git`, prose before the first hunk.
            continue;
        };
        if line.starts_with("--- ") || line.starts_with("+++ ") || line.starts_with('\\') {
            continue;
        }
        match line.chars().next() {
            Some(kind @ ('+' | '-' | ' ')) => hunk.lines.push((kind, &line[1..])),
            // Some models drop the space of an empty context line.
            None => hunk.lines.push((' ', "")),
            Some(_) => return Err(ReplyError::Diff(format!("line '{line}' is not part of a unified diff hunk"))),
        }
    }
    if hunks.is_empty() {
        return Err(ReplyError::Diff("no hunks".to_string()));
    }
    Ok(hunks)
}

/// Applies a unified diff to `parent`. Each hunk's context and removed lines must match the parent (trailing
/// whitespace aside), at the line the hunk names or, failing that, the nearest place after the previous hunk.
///
/// # Errors
///
/// [`ReplyError::Diff`] naming the first hunk that does not apply.
pub fn apply_unified_diff(parent: &str, diff: &str) -> Result<String, ReplyError> {
    let source: Vec<&str> = parent.lines().collect();
    let mut out: Vec<&str> = Vec::with_capacity(source.len());
    let mut cursor = 0usize;
    for (number, hunk) in parse_hunks(diff)?.iter().enumerate() {
        let old: Vec<&str> = hunk.lines.iter().filter(|(k, _)| *k != '+').map(|(_, l)| *l).collect();
        let matches_at = |at: usize| {
            at + old.len() <= source.len() && old.iter().zip(&source[at..]).all(|(a, b)| a.trim_end() == b.trim_end())
        };
        let hinted = hunk.old_start.saturating_sub(1).max(cursor);
        let at = if matches_at(hinted) {
            Some(hinted)
        } else {
            // The nearest match after the previous hunk, either side of the hint.
            (cursor..=source.len()).filter(|&at| matches_at(at)).min_by_key(|&at| at.abs_diff(hinted))
        };
        let Some(at) = at else {
            let first = old.first().copied().unwrap_or("");
            return Err(ReplyError::Diff(format!(
                "hunk {} does not match the parent (its first line '{first}' is not where it says)",
                number + 1
            )));
        };
        out.extend_from_slice(&source[cursor..at]);
        out.extend(hunk.lines.iter().filter(|(k, _)| *k != '-').map(|(_, l)| *l));
        cursor = at + old.len();
    }
    out.extend_from_slice(&source[cursor..]);
    let mut program = out.join("\n");
    program.push('\n');
    Ok(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_and_bare_text() {
        assert_eq!(extract("Sure!\n```pxl\nHALT\n```\nDone."), Ok(Extracted::Program("HALT\n".to_string())));
        assert_eq!(extract("```\nCLS\nHALT\n```"), Ok(Extracted::Program("CLS\nHALT\n".to_string())));
        assert_eq!(extract("CLS\nHALT"), Ok(Extracted::Program("CLS\nHALT\n".to_string())));
        assert_eq!(extract("```text\nno\n```\n```pxl\nHALT\n```"), Ok(Extracted::Program("HALT\n".to_string())));
        assert_eq!(
            extract("<think>hmm ```x```</think>\n```pxl\nHALT\n```"),
            Ok(Extracted::Program("HALT\n".to_string()))
        );
        assert_eq!(extract("   \n"), Err(ReplyError::Empty));
        assert_eq!(extract("```pxl\n```"), Err(ReplyError::Empty));
    }

    #[test]
    fn diffs_apply_with_shifted_hints() {
        let parent = "A\nB\nC\nD\nE\n";
        let diff = "--- a\n+++ b\n@@ -9,3 +9,3 @@\n B\n-C\n+X\n D\n";
        assert_eq!(apply_unified_diff(parent, diff), Ok("A\nB\nX\nD\nE\n".to_string()));
        let two = "@@ -1,2 +1,1 @@\n A\n-B\n@@ -4,2 +3,3 @@\n D\n+Y\n E\n";
        assert_eq!(apply_unified_diff(parent, two), Ok("A\nC\nD\nY\nE\n".to_string()));
    }

    #[test]
    fn diffs_that_do_not_apply_are_rejected() {
        let parent = "A\nB\n";
        assert!(matches!(apply_unified_diff(parent, "@@ -1,1 +1,1 @@\n-Q\n+R\n"), Err(ReplyError::Diff(_))));
        assert!(matches!(apply_unified_diff(parent, "just words"), Err(ReplyError::Diff(_))));
        assert!(matches!(apply_unified_diff(parent, "@@ -1 +1 @@\n*A\n"), Err(ReplyError::Diff(_))));
        assert_eq!(resolve_reply("```diff\n@@ -1 +1 @@\n-A\n+B\n```", None), Err(ReplyError::NoParent));
    }
}
