//! Running programs for every front end (CLI, daemon, server) the same way.
//!
//! # Brief overview
//!
//! An [`Engine`] owns the available backends and executes a program (a
//! [`gvpie_pxl::Texture`]) under a [`gvpie_pxl::Config`] on the backend a [`BackendChoice`]
//! selects, timing it. The [`Outcome`] names the backend that really ran. [`ResultJson`] is
//! the one JSON shape of a result (`success`, `cycles`, `backend`, `duration_ms`, `error`)
//! that the CLI prints and the API returns, so client and server cannot drift apart.
//! [`Engine::shape_scorer`] gives the image goal's evaluator cascade its batch scorer (the
//! GPU's shape scorer, or the CPU's), falling back to the CPU if the GPU fails mid-search.
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

pub use crate::shapes::ScorerChoice;

mod shapes;

/// Which backend the caller asks for: one type with the goal specs (`gvpie_evolve::goal`), parsed in any case.
pub use gvpie_evolve::BackendChoice;

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

/// The available backends: always the CPU, and a GPU when one was opened.
#[derive(Debug, Default)]
pub struct Engine {
    #[cfg(feature = "gpu")]
    gpu: Option<gvpie_gpu::GpuBackend>,
    /// Why there is no GPU (for error messages), when there is none.
    no_gpu: Option<String>,
}

impl Engine {
    /// An engine with only the CPU backend.
    pub fn cpu_only() -> Engine {
        Engine {
            #[cfg(feature = "gpu")]
            gpu: None,
            no_gpu: Some("this engine was started without a GPU".to_string()),
        }
    }

    /// An engine with the CPU and, when an adapter can be opened (`GVPIE_ADAPTER` picks one),
    /// the GPU. Opening a device takes 0.1–1 s, so do it once per process.
    pub fn detect() -> Engine {
        #[cfg(feature = "gpu")]
        return match gvpie_gpu::GpuBackend::new() {
            Ok(gpu) => Engine { gpu: Some(gpu), no_gpu: None },
            Err(err) => Engine { gpu: None, no_gpu: Some(err.to_string()) },
        };
        #[cfg(not(feature = "gpu"))]
        Engine { no_gpu: Some("this gvpie was built without the `gpu` feature".to_string()) }
    }

    /// Names of the backends this engine can run (`["cpu"]` or `["cpu", "gpu"]`).
    pub fn backends(&self) -> Vec<&'static str> {
        if self.gpu_adapter().is_some() { vec!["cpu", "gpu"] } else { vec!["cpu"] }
    }

    /// The GPU adapter's name, when the engine has a GPU.
    pub fn gpu_adapter(&self) -> Option<&str> {
        #[cfg(feature = "gpu")]
        return self.gpu.as_ref().map(|gpu| gpu.adapter_info().name.as_str());
        #[cfg(not(feature = "gpu"))]
        None
    }

    #[cfg(not(feature = "gpu"))]
    fn check_choice(&self, choice: BackendChoice) -> Result<(), ExecError> {
        match choice {
            BackendChoice::Gpu => Err(ExecError::GpuUnavailable(self.no_gpu.clone().unwrap_or_default())),
            _ => Ok(()),
        }
    }

    #[cfg(feature = "gpu")]
    fn gpu_for(
        &self,
        choice: BackendChoice,
        n_programs: usize,
        config: &Config,
    ) -> Result<Option<&gvpie_gpu::GpuBackend>, ExecError> {
        match choice {
            BackendChoice::Cpu => Ok(None),
            // The GPU keeps no FRAME snapshots; asking for them means the CPU.
            BackendChoice::Auto if config.max_frames > 0 => Ok(None),
            BackendChoice::Auto => Ok(self.gpu.as_ref().filter(|_| gvpie_gpu::auto_prefers_gpu(n_programs))),
            BackendChoice::Gpu if config.max_frames > 0 => {
                Err(ExecError::GpuUnavailable("frame capture runs on the CPU only".to_string()))
            }
            BackendChoice::Gpu => match &self.gpu {
                Some(gpu) => Ok(Some(gpu)),
                None => Err(ExecError::GpuUnavailable(self.no_gpu.clone().unwrap_or_else(|| "no adapter".to_string()))),
            },
        }
    }

    /// Executes one program. `auto` runs a single program on the CPU: one interpreter thread
    /// on a GPU is slower than the CPU VM.
    pub fn execute(&self, texture: &Texture, config: &Config, choice: BackendChoice) -> Result<Outcome, ExecError> {
        let mut outcomes = self.execute_batch(std::slice::from_ref(texture), config, choice)?;
        outcomes.pop().ok_or_else(|| ExecError::GpuUnavailable("the GPU returned no result".to_string()))
    }

    /// Executes many programs. On the GPU they go in one submission (the duration of each
    /// outcome is then the batch's time divided evenly); if the GPU fails mid-batch the whole
    /// batch is run again on the CPU and the outcomes say `cpu`.
    pub fn execute_batch(
        &self,
        textures: &[Texture],
        config: &Config,
        choice: BackendChoice,
    ) -> Result<Vec<Outcome>, ExecError> {
        #[cfg(not(feature = "gpu"))]
        self.check_choice(choice)?;
        #[cfg(feature = "gpu")]
        if let Some(gpu) = self.gpu_for(choice, textures.len(), config)? {
            let start = Instant::now();
            let batch = gpu.run_batch(textures, config).map_err(|e| ExecError::GpuUnavailable(e.to_string()))?;
            let each = start.elapsed() / u32::try_from(textures.len().max(1)).unwrap_or(u32::MAX);
            let backend = match batch.ran_on {
                gvpie_gpu::RanOn::Gpu => BackendName::Gpu,
                gvpie_gpu::RanOn::CpuFallback { .. } => BackendName::Cpu,
            };
            return Ok(batch
                .results
                .into_iter()
                .map(|result| Outcome { result, backend, duration: each, budget: config.budget })
                .collect());
        }
        textures
            .iter()
            .map(|texture| {
                let start = Instant::now();
                let result = gvpie_pxl::run(texture, config).map_err(ExecError::Canvas)?;
                Ok(Outcome { result, backend: BackendName::Cpu, duration: start.elapsed(), budget: config.budget })
            })
            .collect()
    }
}

/// The error part of [`ResultJson`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
