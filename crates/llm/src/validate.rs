//! Validation: a proposed program is compiled with `gvpie_pxl` and run in the CPU reference
//! VM under the caller's cycle budget before anyone looks at it.

use gvpie_pxl::{Config, RunResult, Status};

/// Why a proposal was rejected; the text goes into the next prompt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The reply held no usable program (or a diff that does not apply).
    #[error("{0}")]
    Reply(String),
    /// Source errors: every diagnostic's `LINE:COLUMN: message` (the first 10).
    #[error("the program does not compile:\n{}", .0.join("\n"))]
    Compile(Vec<String>),
    /// The run trapped or ran out of cycles.
    #[error("the program does not halt cleanly: {0}")]
    Run(String),
    /// The canvas size is invalid.
    #[error("{0}")]
    Canvas(String),
}

/// At most this many diagnostics are kept for a prompt.
const MAX_DIAGNOSTICS: usize = 10;

/// Compiles `source` and runs it under `vm` (its size and cycle budget); the run must halt.
///
/// # Errors
///
/// [`Rejection::Compile`] with the diagnostics, [`Rejection::Run`] with the trap and its line.
pub fn check(source: &str, vm: &Config) -> Result<RunResult, Rejection> {
    let texture = gvpie_pxl::compile(source).map_err(|diagnostics| {
        let mut lines: Vec<String> = diagnostics.iter().take(MAX_DIAGNOSTICS).map(|d| d.headline()).collect();
        if diagnostics.len() > MAX_DIAGNOSTICS {
            lines.push(format!("... and {} more", diagnostics.len() - MAX_DIAGNOSTICS));
        }
        Rejection::Compile(lines)
    })?;
    let result = gvpie_pxl::run(&texture, vm).map_err(|e| Rejection::Canvas(e.to_string()))?;
    match result.status {
        Status::Halted => Ok(result),
        Status::Trapped(trap) => Err(Rejection::Run(format!(
            "{} ({}) at line {}",
            trap.message(vm.budget, texture.code_words().len()),
            trap.kind.name(),
            trap.line
        ))),
        other => Err(Rejection::Run(format!("{other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks() {
        let vm = Config { budget: 100, ..Config::default() };
        assert_eq!(check("CLS\nHALT\n", &vm).map(|r| r.cycles), Ok(2));
        let Err(Rejection::Compile(errors)) = check("RECTT 1 2\n", &vm) else { panic!("compiles") };
        assert!(errors[0].starts_with("1:1: unknown mnemonic 'RECTT'"), "{errors:?}");
        let Err(Rejection::Run(why)) = check("l:\nJMP l\n", &vm) else { panic!("halts") };
        assert!(why.contains("budget_exhausted"), "{why}");
        assert!(matches!(check("DIV x 1 0\n", &vm), Err(Rejection::Run(_))));
    }
}
