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
//! [`Engine::soft_renderer`] gives `gvpie refine` its soft renderer and gradient (the GPU's
//! `refine.wgsl`, or `gvpie_evolve`'s CPU twin; `auto` never picks a software adapter).
//!
//! **The `auto` rule** is [`Engine::auto_prefers_gpu`], the only place it is written: the GPU
//! for batches of at least [`AUTO_MIN_PROGRAMS`] programs without frame capture, when the
//! engine has a GPU; the CPU otherwise. Front ends pass `auto` through and never decide it.
//!
//! **Deadlines.** [`Engine::execute_until`] and [`Engine::execute_batch_until`] take a
//! [`Stop`] (a deadline and a [`CancelFlag`]) and honour it on every path: the CPU checks it
//! between slices of each program ([`CpuRun`]); the GPU runs a batch in resumable slices
//! (each dispatch does bounded work, the programs' state stays on the GPU, and only the
//! programs still running are dispatched again) and checks it between slices, and the GPU's
//! CPU fallback (run here, on every core, not inside `gvpie-gpu`) between slices. A run it
//! stops has error kind [`TIME_LIMIT_KIND`], the cycles it ran, the line it stopped before and
//! the backend that was running. A slice itself cannot be interrupted: the deadline can be
//! overrun by at most one slice (on a real GPU slices grow to about 50 ms). [`Engine::execute`]
//! and [`Engine::execute_batch`] are the same with [`Stop::never`].
//!
//! This crate does no file or network IO; it reads the clock only to time executions and to
//! check deadlines.
//!
//! # Example
//!
//! ```
//! use gvpie_exec::{BackendChoice, Engine, ResultJson};
//!
//! let engine = Engine::cpu_only();
//! let texture = gvpie_pxl::compile("TXT 10 10 HELLO GPU\nHALT").map_err(|d| d[0].headline())?;
//! let stop = gvpie_exec::Stop::after(std::time::Duration::from_secs(5));
//! let outcome = engine.execute_until(&texture, &gvpie_pxl::Config::default(), BackendChoice::Auto, &stop)?;
//! let json = ResultJson::from_outcome(&outcome, texture.code_words().len());
//! assert!(json.success);
//! assert_eq!(json.cycles, 2);
//! assert_eq!(json.backend, "cpu");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

use std::time::Duration;

use gvpie_pxl::{Config, Diagnostic, RunResult, Status, Texture, Tracer};
use serde::{Deserialize, Serialize};

pub use crate::cpu::{CpuRun, MAX_SLICE, SLICE_PIXELS};
pub use crate::shapes::{ImageChoice, ScorerChoice};
pub use crate::stop::{CancelFlag, Stop, StopReason, TIME_LIMIT_KIND};
#[cfg(feature = "gpu")]
pub use gvpie_gpu::{ADAPTER_ENV, AdapterInfo};
/// The CPU's execution tier (`interp`, `jit`, `auto`; see `gvpie_jit`), an engine option.
pub use gvpie_jit::Tier;

mod cpu;
mod refine;
mod shapes;
mod stop;

/// Under `auto`, batches of at least this many programs go to the GPU (see
/// [`Engine::auto_prefers_gpu`]).
pub const AUTO_MIN_PROGRAMS: usize = 64;

/// Every GPU adapter this machine offers, in the order `GVPIE_ADAPTER` ([`ADAPTER_ENV`])
/// indexes them; empty when there is none.
#[cfg(feature = "gpu")]
pub fn list_adapters() -> Vec<AdapterInfo> {
    gvpie_gpu::list_adapters()
}

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
    /// A bug in the engine (a worker thread lost its result).
    Internal(String),
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecError::GpuUnavailable(why) => write!(f, "the GPU backend is not available: {why}"),
            ExecError::Canvas(err) => write!(f, "{err}"),
            ExecError::Internal(why) => write!(f, "internal error: {why}"),
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
    /// Set when the [`Stop`] ended the run before the program finished (`result.status` is
    /// then [`Status::Running`]).
    pub stopped: Option<Stopped>,
    /// Why the GPU failed, when the program was meant for the GPU and ran on the CPU instead.
    pub gpu_fallback: Option<String>,
    /// The CPU tier that ran it (`interp`, or `jit` when compiled code ran); `None` on the GPU.
    pub tier: Option<Tier>,
    /// Why the compiled tier was not used (or was given up) when it was wanted.
    pub jit_fallback: Option<String>,
}

/// Where and why a [`Stop`] ended a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Deadline or cancel.
    pub reason: StopReason,
    /// The 1-based source line of the next instruction (1 when the program never started).
    pub line: u32,
}

/// The available backends: always the CPU, and a GPU when one was opened.
#[derive(Debug, Default)]
pub struct Engine {
    #[cfg(feature = "gpu")]
    gpu: Option<gvpie_gpu::GpuBackend>,
    /// Why there is no GPU (for error messages), when there is none.
    no_gpu: Option<String>,
    /// The CPU's execution tier.
    tier: Tier,
}

/// Whether this machine may have a hardware GPU: on Linux, a GPU is reached through a device node (`/dev/dri`'s
/// render nodes, NVIDIA's `/dev/nvidia*`, AMD's `/dev/kfd`, WSL's `/dev/dxg`); elsewhere, always true.
#[cfg(feature = "gpu")]
fn gpu_device_nodes_may_exist() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let named = |dir: &str, prefix: &str| {
        std::fs::read_dir(dir)
            .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with(prefix)))
            .unwrap_or(false)
    };
    named("/dev/dri", "renderD")
        || named("/dev", "nvidia")
        || std::path::Path::new("/dev/kfd").exists()
        || std::path::Path::new("/dev/dxg").exists()
}

impl Engine {
    /// An engine with only the CPU backend.
    pub fn cpu_only() -> Engine {
        Engine {
            #[cfg(feature = "gpu")]
            gpu: None,
            no_gpu: Some("this engine was started without a GPU".to_string()),
            tier: Tier::Auto,
        }
    }

    /// The same engine running CPU programs under `tier` (the default is [`Tier::Auto`]:
    /// interpret first, compile programs that run long enough). Results are identical in every
    /// tier; only the time differs.
    pub fn with_tier(mut self, tier: Tier) -> Engine {
        self.tier = tier;
        self
    }

    /// The CPU's execution tier.
    pub fn tier(&self) -> Tier {
        self.tier
    }

    /// An engine with the CPU and, when an adapter can be opened (`GVPIE_ADAPTER` picks one),
    /// the GPU. Opening a device takes 0.1–1 s, so do it once per process.
    pub fn detect() -> Engine {
        #[cfg(feature = "gpu")]
        return match gvpie_gpu::GpuBackend::new() {
            Ok(gpu) => Engine { gpu: Some(gpu), no_gpu: None, tier: Tier::Auto },
            Err(err) => Engine { gpu: None, no_gpu: Some(err.to_string()), tier: Tier::Auto },
        };
        #[cfg(not(feature = "gpu"))]
        Engine { no_gpu: Some("this gvpie was built without the `gpu` feature".to_string()), tier: Tier::Auto }
    }

    /// As [`Engine::detect`], but opens a device only when it would be a hardware GPU (or `GVPIE_ADAPTER` names
    /// one): for callers whose `auto` never uses a software adapter such as lavapipe, so that they do not pay for
    /// opening one. Listing the adapters costs far less than opening a device.
    pub fn detect_hardware() -> Engine {
        #[cfg(feature = "gpu")]
        {
            let named = std::env::var_os(gvpie_gpu::ADAPTER_ENV).is_some();
            // Listing adapters loads every driver (0.07-0.1 s with lavapipe): skip it where no GPU device node
            // exists, which no hardware adapter can do without.
            if !named
                && (!gpu_device_nodes_may_exist() || gvpie_gpu::list_adapters().iter().all(|a| a.device_type == "cpu"))
            {
                return Engine {
                    gpu: None,
                    no_gpu: Some("no hardware GPU (a software adapter is never used by auto)".to_string()),
                    tier: Tier::Auto,
                };
            }
        }
        Engine::detect()
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

    /// **The `auto` rule**, the one place it is written: `auto` prefers the GPU for a batch of
    /// at least [`AUTO_MIN_PROGRAMS`] programs that captures no frames. One interpreter thread
    /// on a GPU is far slower than the CPU VM and opening a device costs 0.1–1 s, so a single
    /// program (all `gvpie run` executes) or a small batch runs on the CPU; the GPU keeps no
    /// `FRAME` snapshots, so frame capture runs on the CPU. The GPU is used only when the
    /// engine has one ([`Engine::backend_for`]); callers that open a GPU on demand (the CLI)
    /// ask this first.
    pub fn auto_prefers_gpu(n_programs: usize, config: &Config) -> bool {
        config.max_frames == 0 && n_programs >= AUTO_MIN_PROGRAMS
    }

    /// The backend `choice` resolves to on this engine for `n_programs` programs under `config`.
    ///
    /// # Errors
    ///
    /// [`ExecError::GpuUnavailable`] for `gpu` when the engine has no GPU or `config` asks for
    /// frames (captured on the CPU only).
    pub fn backend_for(
        &self,
        choice: BackendChoice,
        n_programs: usize,
        config: &Config,
    ) -> Result<BackendName, ExecError> {
        match choice {
            BackendChoice::Cpu => Ok(BackendName::Cpu),
            BackendChoice::Auto if self.has_gpu() && Engine::auto_prefers_gpu(n_programs, config) => {
                Ok(BackendName::Gpu)
            }
            BackendChoice::Auto => Ok(BackendName::Cpu),
            BackendChoice::Gpu if config.max_frames > 0 => {
                Err(ExecError::GpuUnavailable("frame capture runs on the CPU only".to_string()))
            }
            BackendChoice::Gpu if self.has_gpu() => Ok(BackendName::Gpu),
            BackendChoice::Gpu => {
                Err(ExecError::GpuUnavailable(self.no_gpu.clone().unwrap_or_else(|| "no adapter".to_string())))
            }
        }
    }

    fn has_gpu(&self) -> bool {
        self.gpu_adapter().is_some()
    }

    /// Executes one program to its end or its budget ([`Engine::execute_until`] with
    /// [`Stop::never`]).
    ///
    /// # Errors
    ///
    /// As [`Engine::execute_batch_until`].
    pub fn execute(&self, texture: &Texture, config: &Config, choice: BackendChoice) -> Result<Outcome, ExecError> {
        self.execute_until(texture, config, choice, &Stop::never())
    }

    /// Executes one program until it finishes or `stop` is reached. `auto` runs a single
    /// program on the CPU ([`Engine::auto_prefers_gpu`]).
    ///
    /// # Errors
    ///
    /// As [`Engine::execute_batch_until`].
    pub fn execute_until(
        &self,
        texture: &Texture,
        config: &Config,
        choice: BackendChoice,
        stop: &Stop,
    ) -> Result<Outcome, ExecError> {
        let mut outcomes = self.execute_batch_until(std::slice::from_ref(texture), config, choice, stop)?;
        outcomes.pop().ok_or_else(|| ExecError::Internal("a batch of one returned no result".to_string()))
    }

    /// Executes one program on the CPU until it finishes or `stop` is reached, reporting every
    /// instruction to `tracer` (`gvpie run --trace`; tracing is a CPU feature).
    ///
    /// # Errors
    ///
    /// [`ExecError::Canvas`] for a canvas size outside 1..=4096.
    pub fn execute_traced<T: Tracer>(
        &self,
        texture: &Texture,
        config: &Config,
        stop: &Stop,
        tracer: &mut T,
    ) -> Result<Outcome, ExecError> {
        Ok(CpuRun::new(texture, config)?.run_traced_until(stop, tracer))
    }

    /// Executes many programs to their end or budget ([`Engine::execute_batch_until`] with
    /// [`Stop::never`]).
    ///
    /// # Errors
    ///
    /// As [`Engine::execute_batch_until`].
    pub fn execute_batch(
        &self,
        textures: &[Texture],
        config: &Config,
        choice: BackendChoice,
    ) -> Result<Vec<Outcome>, ExecError> {
        self.execute_batch_until(textures, config, choice, &Stop::never())
    }

    /// Executes many programs, in order, on the backend [`Engine::backend_for`] picks, until
    /// each finishes or `stop` is reached.
    ///
    /// On the CPU the programs run one after the other, each in slices that check `stop`. On
    /// the GPU they go in one batch of resumable slices (the duration of each outcome is then
    /// the batch's time divided evenly), with `stop` checked between slices. If the GPU fails
    /// (device lost, out of memory, a batch too large for the adapter) the whole batch runs
    /// again on the CPU, on every core, in slices that check `stop`; those outcomes say `cpu`
    /// and carry [`Outcome::gpu_fallback`].
    ///
    /// # Errors
    ///
    /// [`ExecError::GpuUnavailable`] when `gpu` is asked for and cannot run (see
    /// [`Engine::backend_for`]); [`ExecError::Canvas`] for a canvas size outside 1..=4096.
    pub fn execute_batch_until(
        &self,
        textures: &[Texture],
        config: &Config,
        choice: BackendChoice,
        stop: &Stop,
    ) -> Result<Vec<Outcome>, ExecError> {
        match self.backend_for(choice, textures.len(), config)? {
            BackendName::Cpu => cpu::run_each(textures, config, self.tier, stop),
            BackendName::Gpu => self.run_gpu(textures, config, stop),
        }
    }

    #[cfg(feature = "gpu")]
    fn run_gpu(&self, textures: &[Texture], config: &Config, stop: &Stop) -> Result<Vec<Outcome>, ExecError> {
        let Some(gpu) = &self.gpu else {
            return Err(ExecError::GpuUnavailable(self.no_gpu.clone().unwrap_or_else(|| "no adapter".to_string())));
        };
        if let Some(reason) = stop.reached() {
            return textures
                .iter()
                .map(|texture| cpu::not_started(texture, config, BackendName::Gpu, reason))
                .collect();
        }
        let start = std::time::Instant::now();
        let tuning = gvpie_gpu::Tuning::default();
        // The GPU runs the batch in slices of bounded work and asks `stop` between them; once
        // it is reached, the programs still running come back with their cycles and canvas so
        // far and the line they would run next.
        let stop_check = || stop.reached().is_some();
        let batch = match gpu.run_batch_gpu_only_until(textures, config, &tuning, &stop_check) {
            Ok(Ok(batch)) => batch,
            Ok(Err(reason)) => return cpu::run_parallel(textures, config, stop, &reason, start),
            Err(err) => return Err(ExecError::GpuUnavailable(err.to_string())),
        };
        // A finished program's time is its share of the batch; a stopped one's, the whole wait.
        let total = start.elapsed();
        let each = total / u32::try_from(textures.len().max(1)).unwrap_or(u32::MAX);
        let reason = stop.reached().unwrap_or(StopReason::Deadline);
        Ok(batch
            .results
            .into_iter()
            .enumerate()
            .map(|(index, result)| {
                let stopped = (result.status == Status::Running)
                    .then(|| Stopped { reason, line: batch.next_lines.get(index).copied().unwrap_or(0) });
                let duration = if stopped.is_some() { total } else { each };
                Outcome { duration, ..gpu_outcome(result, config.budget, stopped) }
            })
            .collect())
    }

    #[cfg(not(feature = "gpu"))]
    fn run_gpu(&self, _textures: &[Texture], _config: &Config, _stop: &Stop) -> Result<Vec<Outcome>, ExecError> {
        Err(ExecError::GpuUnavailable(self.no_gpu.clone().unwrap_or_default()))
    }
}

/// A program's outcome from a GPU dispatch.
#[cfg(feature = "gpu")]
fn gpu_outcome(result: RunResult, budget: u64, stopped: Option<Stopped>) -> Outcome {
    Outcome {
        result,
        backend: BackendName::Gpu,
        duration: Duration::ZERO,
        budget,
        stopped,
        gpu_fallback: None,
        tier: None,
        jit_fallback: None,
    }
}

/// The error part of [`ResultJson`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorJson {
    /// `parse`, `division_by_zero`, `stack_overflow`, `stack_underflow`, `budget_exhausted`,
    /// `invalid_instruction`, `address_out_of_range`, `time_limit` (the run was stopped by its
    /// deadline or cancelled); front ends add their own (the daemon's `runtime`, `backend`).
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

impl ErrorJson {
    /// An error of `kind` with `message`, without a source position.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> ErrorJson {
        ErrorJson { kind: kind.into(), message: message.into(), line: None, column: None, diagnostics: Vec::new() }
    }

    /// The same error at the 1-based source `line`.
    pub fn at_line(mut self, line: u32) -> ErrorJson {
        self.line = Some(line);
        self
    }
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
    /// `interp` or `jit`: the CPU tier that ran (`jit` when compiled code ran); present for
    /// every CPU run, absent for the GPU and for results without a run.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tier: Option<String>,
    /// Why the compiled tier was not used when it was wanted (no code generator for this
    /// machine, a program too large, code rewritten too often); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub jit_fallback: Option<String>,
}

/// The `backend` of a result that no backend ran (see [`ResultJson::failed`]).
pub const NO_BACKEND: &str = "none";

impl ResultJson {
    /// The result of a finished (or stopped) execution: a trap becomes its error; a run its
    /// [`Stop`] ended becomes error kind [`TIME_LIMIT_KIND`] at the line it stopped on, with
    /// the cycles it ran and the backend that was running.
    pub fn from_outcome(outcome: &Outcome, code_words: usize) -> ResultJson {
        let error = match (outcome.stopped, outcome.result.status) {
            (Some(stopped), _) => {
                Some(ErrorJson::new(TIME_LIMIT_KIND, stopped_message(outcome, stopped.reason)).at_line(stopped.line))
            }
            (None, Status::Trapped(trap)) => {
                Some(ErrorJson::new(trap.kind.name(), trap.message(outcome.budget, code_words)).at_line(trap.line))
            }
            (None, _) => None,
        };
        ResultJson {
            success: error.is_none(),
            cycles: outcome.result.cycles,
            backend: outcome.backend.as_str().to_string(),
            duration_ms: outcome.duration.as_secs_f64() * 1000.0,
            error,
            tier: outcome.tier.map(|tier| tier.as_str().to_string()),
            jit_fallback: outcome.jit_fallback.clone(),
        }
    }

    /// A result without a run: `success: false`, no cycles, `error`, and the backend that was
    /// to run it (`None` gives [`NO_BACKEND`], `"none"`). Every front end builds its failures
    /// (a parse error, an unreachable runtime, a backend that cannot run) with this.
    pub fn failed(error: ErrorJson, backend: Option<BackendName>, duration: Duration) -> ResultJson {
        ResultJson {
            success: false,
            cycles: 0,
            backend: backend.map_or(NO_BACKEND, BackendName::as_str).to_string(),
            duration_ms: duration.as_secs_f64() * 1000.0,
            error: Some(error),
            tier: None,
            jit_fallback: None,
        }
    }

    /// The result of a program that did not parse.
    pub fn from_diagnostics(diagnostics: &[Diagnostic], backend: BackendName, duration: Duration) -> ResultJson {
        let error = ErrorJson {
            kind: "parse".to_string(),
            message: diagnostics.iter().map(Diagnostic::headline).collect::<Vec<_>>().join("\n"),
            line: diagnostics.first().map(|d| d.line),
            column: diagnostics.first().map(|d| d.column),
            diagnostics: diagnostics
                .iter()
                .map(|d| DiagnosticJson { line: d.line, column: d.column, message: d.message.clone() })
                .collect(),
        };
        ResultJson::failed(error, Some(backend), duration)
    }
}

/// The message of a run its [`Stop`] ended.
fn stopped_message(outcome: &Outcome, reason: StopReason) -> String {
    let (ms, cycles) = (outcome.duration.as_millis(), outcome.result.cycles);
    match reason {
        StopReason::Deadline => format!(
            "stopped by the time limit after {ms} ms ({cycles} cycles ran); lower the budget or the canvas size"
        ),
        StopReason::Cancelled => format!("cancelled after {ms} ms ({cycles} cycles ran)"),
    }
}
