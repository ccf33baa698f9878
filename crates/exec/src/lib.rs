//! Running programs for every front end (CLI, daemon, server) the same way.
//!
//! # Brief overview
//!
//! An [`Engine`] owns the available backends and executes a program (a
//! [`gvpie_pxl::Texture`]) under a [`gvpie_pxl::Config`] on the backend a [`BackendChoice`]
//! selects, timing it. The [`Outcome`] names the backend that really ran. [`ResultJson`] is
//! the one JSON shape of a result (`success`, `cycles`, `backend`, `duration_ms`, `error`)
//! that the CLI prints and the API returns, so client and server cannot drift apart.
//!
//! This crate does no file or network IO; it reads the clock only to time executions.
//!
//! # Example
//!
//! ```
//! use gvpie_exec::{BackendChoice, Engine, ResultJson};
//!
//! let engine = Engine::cpu_only();
//! let texture = gvpie_pxl::compile("TXT 10 10 HELLO GPU\nHALT").map_err(|d| d[0].headline())?;
//! let outcome = engine.execute(&texture, &gvpie_pxl::Config::default(), BackendChoice::Auto)?;
//! let json = ResultJson::from_outcome(&outcome, texture.code_words().len());
//! assert!(json.success);
//! assert_eq!(json.cycles, 2);
//! assert_eq!(json.backend, "cpu");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

use std::time::{Duration, Instant};

use gvpie_pxl::{Config, Diagnostic, RunResult, Status, Texture};
use serde::{Deserialize, Serialize};

/// Which backend the caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// The CPU reference VM.
    Cpu,
    /// The GPU backend; an error when no adapter exists.
    Gpu,
    /// The GPU when present and the work is large enough to profit, else the CPU.
    #[default]
    Auto,
}

impl std::str::FromStr for BackendChoice {
    type Err = String;

    /// Case-insensitive: the seed's client sends `"GPU"`.
    fn from_str(text: &str) -> Result<BackendChoice, String> {
        match text.to_ascii_lowercase().as_str() {
            "cpu" => Ok(BackendChoice::Cpu),
            "gpu" => Ok(BackendChoice::Gpu),
            "auto" => Ok(BackendChoice::Auto),
            _ => Err(format!("unknown backend '{text}' (expected cpu, gpu or auto)")),
        }
    }
}

/// The backend that ran a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendName {
    /// The CPU reference VM.
    Cpu,
    /// The GPU backend.
    Gpu,
}

impl BackendName {
    /// `"cpu"` or `"gpu"`.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendName::Cpu => "cpu",
            BackendName::Gpu => "gpu",
        }
    }
}

/// Why an execution could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExecError {
    /// The GPU was asked for and there is none.
    GpuUnavailable(String),
    /// The canvas size is out of range.
    Canvas(gvpie_raster::CanvasError),
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecError::GpuUnavailable(why) => write!(f, "the GPU backend is not available: {why}"),
            ExecError::Canvas(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for ExecError {}

/// One finished execution.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// What the VM produced.
    pub result: RunResult,
    /// The backend that ran it.
    pub backend: BackendName,
    /// Wall time of the execution (loading and running; not parsing).
    pub duration: Duration,
    /// The budget it ran under (for messages).
    pub budget: u64,
}

/// The available backends.
#[derive(Debug, Default)]
pub struct Engine {
    _private: (),
}

impl Engine {
    /// An engine with only the CPU backend.
    pub fn cpu_only() -> Engine {
        Engine { _private: () }
    }

    /// Names of the backends this engine can run (`["cpu"]` or `["cpu", "gpu"]`).
    pub fn backends(&self) -> Vec<&'static str> {
        vec!["cpu"]
    }

    /// Executes one program.
    pub fn execute(&self, texture: &Texture, config: &Config, choice: BackendChoice) -> Result<Outcome, ExecError> {
        if choice == BackendChoice::Gpu {
            return Err(ExecError::GpuUnavailable("this engine has no GPU adapter".to_string()));
        }
        let start = Instant::now();
        let result = gvpie_pxl::run(texture, config).map_err(ExecError::Canvas)?;
        Ok(Outcome { result, backend: BackendName::Cpu, duration: start.elapsed(), budget: config.budget })
    }

    /// Executes many programs, in order.
    pub fn execute_batch(
        &self,
        textures: &[Texture],
        config: &Config,
        choice: BackendChoice,
    ) -> Result<Vec<Outcome>, ExecError> {
        textures.iter().map(|texture| self.execute(texture, config, choice)).collect()
    }
}

/// The error part of [`ResultJson`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorJson {
    /// `parse`, `division_by_zero`, `stack_overflow`, `stack_underflow`, `budget_exhausted`,
    /// `invalid_instruction`, `address_out_of_range`.
    pub kind: String,
    /// A sentence for people.
    pub message: String,
    /// The 1-based source line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The 1-based column (source errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Every source diagnostic (source errors).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub diagnostics: Vec<DiagnosticJson>,
}

/// One source diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosticJson {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The message.
    pub message: String,
}

/// The one JSON shape of an execution result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultJson {
    /// True when the program halted without error.
    pub success: bool,
    /// Instructions executed.
    pub cycles: u64,
    /// `cpu` or `gpu`: the backend that ran.
    pub backend: String,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
    /// The error, when not successful.
    pub error: Option<ErrorJson>,
}

impl ResultJson {
    /// The result of a finished execution.
    pub fn from_outcome(outcome: &Outcome, code_words: usize) -> ResultJson {
        let error = match outcome.result.status {
            Status::Trapped(trap) => Some(ErrorJson {
                kind: trap.kind.name().to_string(),
                message: trap.message(outcome.budget, code_words),
                line: Some(trap.line),
                column: None,
                diagnostics: Vec::new(),
            }),
            _ => None,
        };
        ResultJson {
            success: error.is_none(),
            cycles: outcome.result.cycles,
            backend: outcome.backend.as_str().to_string(),
            duration_ms: outcome.duration.as_secs_f64() * 1000.0,
            error,
        }
    }

    /// The result of a program that did not parse.
    pub fn from_diagnostics(diagnostics: &[Diagnostic], backend: BackendName, duration: Duration) -> ResultJson {
        ResultJson {
            success: false,
            cycles: 0,
            backend: backend.as_str().to_string(),
            duration_ms: duration.as_secs_f64() * 1000.0,
            error: Some(ErrorJson {
                kind: "parse".to_string(),
                message: diagnostics.iter().map(Diagnostic::headline).collect::<Vec<_>>().join("\n"),
                line: diagnostics.first().map(|d| d.line),
                column: diagnostics.first().map(|d| d.column),
                diagnostics: diagnostics
                    .iter()
                    .map(|d| DiagnosticJson { line: d.line, column: d.column, message: d.message.clone() })
                    .collect(),
            }),
        }
    }
}
