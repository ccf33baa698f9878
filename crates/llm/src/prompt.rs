//! Prompts: a condensed PXL spec (from `docs/pxl.md`), the goal, and the parent programs with
//! their scores and the errors of the last proposals.

use crate::client::Message;

/// The language in brief, for the system prompt (condensed from `docs/pxl.md`).
pub const PXL_SUMMARY: &str = "\
PXL is gvpie's pixel-program language. One instruction per line; `#` or `;` starts a comment (not inside TXT).
Mnemonics are case-insensitive. A label is `name:` at the start of a line. Operands are integer literals
(decimal or 0x hex, 32-bit) or variable names; every variable starts at 0. `v` below is a variable written.
Canvas: 128x64 unless told otherwise, origin top-left, starts opaque black; the drawing colour starts white.
Every executed instruction costs exactly 1 cycle; reaching the end of the program halts for free.
Instructions:
  HALT | SET v a | ADD/SUB/MUL/DIV/MOD/AND/OR/XOR/SHL/SHR v a b (wrapping; DIV/MOD by 0 traps)
  JMP label | IF a op b label (op: == != < <= > >=, signed) | LOOP v limit label (v += 1; jump if v < limit)
  CALL label | RET | COLOR r g b [a] (alpha blends: (s*a + d*(255-a) + 127) / 255) | CLS [r g b] (no blending)
  PSET x y | RECT x y w h | LINE x0 y0 x1 y1 | CIRC x y r | CIRCF x y r | TRI x0 y0 x1 y1 x2 y2
  TXT x y text (5x7 font, 6 px per glyph) | NUM x y a | PGET v x y (r*65536+g*256+b, -1 outside)
  SEED s | RAND v n (xorshift32; v = x mod n) | FRAME (end of an animation frame) | PEEK v addr | POKE addr value
Shapes are clipped to the canvas and cost 1 cycle each whatever their size, so one RECT beats a loop of PSETs.
A run stops with an error on a trap (division by zero, stack overflow/underflow, cycle budget exhausted).";

/// A parent program shown to the model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parent {
    /// A short label (`best`, `original`, `iteration 42`).
    pub label: String,
    /// The program.
    pub source: String,
    /// Its score, with what it means (`1604 cycles`, `rmse 0.083`).
    pub score: Option<String>,
    /// What went wrong with the last proposals made from it (compile errors, traps, wrong pixels).
    pub errors: Vec<String>,
}

/// The messages for one proposal: the system prompt (role, PXL summary, answer format) and one user message with the
/// goal and the parents (the first is the one a diff applies to).
pub fn build_messages(goal: &str, parents: &[Parent]) -> Vec<Message> {
    let system = format!(
        "You improve programs written in PXL.\n\n{PXL_SUMMARY}\n\n\
         Answer with ONE complete PXL program in a ```pxl fenced block, or with a unified diff against the first \
         parent in a ```diff fenced block (with @@ hunks and exact context lines). No other code blocks."
    );
    let mut user = format!("Goal: {goal}\n");
    for (index, parent) in parents.iter().enumerate() {
        let which = if index == 0 { " (diffs apply to this one)" } else { "" };
        user.push_str(&format!("\nParent {}: {}{which}", index + 1, parent.label));
        if let Some(score) = &parent.score {
            user.push_str(&format!(", score {score}"));
        }
        user.push_str(&format!("\n```pxl\n{}\n```\n", parent.source.trim_end()));
        if !parent.errors.is_empty() {
            user.push_str("Earlier proposals from it were rejected:\n");
            for error in &parent.errors {
                user.push_str(&format!("- {}\n", error.trim_end().replace('\n', "\n  ")));
            }
        }
    }
    vec![Message::system(system), Message::user(user)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_spec_goal_parents_scores_errors() {
        let parents = [Parent {
            label: "best".to_string(),
            source: "CLS\nHALT\n".to_string(),
            score: Some("2 cycles".to_string()),
            errors: vec!["1:1: unknown mnemonic 'RECTT'".to_string()],
        }];
        let messages = build_messages("fewer cycles", &parents);
        assert_eq!(messages.len(), 2);
        assert!(messages[0].content.contains("LOOP v limit label"));
        let user = &messages[1].content;
        for needle in ["Goal: fewer cycles", "Parent 1: best", "score 2 cycles", "```pxl\nCLS\nHALT\n```", "RECTT"] {
            assert!(user.contains(needle), "{needle} missing from {user}");
        }
    }
}
