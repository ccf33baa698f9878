//! Source diagnostics: `LINE:COLUMN: message`, the offending line and a caret.
//!
//! Diagnostics are plain values; printing them is the caller's choice.

/// One problem in a program's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
    /// Width of the marked span in characters (at least 1).
    pub width: u32,
    /// What is wrong, including any hint ("did you mean RECT?").
    pub message: String,
    /// The source line, for the caret display.
    pub source_line: String,
}

impl Diagnostic {
    /// The one-line form: `LINE:COLUMN: message`.
    pub fn headline(&self) -> String {
        format!("{}:{}: {}", self.line, self.column, self.message)
    }

    /// The full form: headline, the source line and a caret under the span.
    pub fn render(&self) -> String {
        let mut out = self.headline();
        if !self.source_line.is_empty() {
            // Tabs would shift the caret; show them as single spaces so columns line up.
            let shown: String = self.source_line.chars().map(|c| if c == '\t' { ' ' } else { c }).take(200).collect();
            let pad = " ".repeat(self.column.saturating_sub(1) as usize);
            let carets = "^".repeat(self.width.clamp(1, 200) as usize);
            out.push_str(&format!("\n    {shown}\n    {pad}{carets}"));
        }
        out
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.headline())
    }
}

/// Renders every diagnostic, one block after the other.
pub fn render_all(diagnostics: &[Diagnostic]) -> String {
    diagnostics.iter().map(Diagnostic::render).collect::<Vec<_>>().join("\n")
}
