//! Running validated jobs: compile, execute under the deadline, encode the image.
//!
//! Everything here runs on a blocking thread (`spawn_blocking`), never on the async workers.
//! CPU executions run the reference VM in slices and check the wall-clock deadline and the
//! cancel flag between slices, so no request keeps a core busy past the time limit, whatever
//! its budget and canvas. GPU executions go through [`Engine`], bounded by the budget ceiling.
//! Request parsing and validation happen before, in `crate::api_execute`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use gvpie_exec::{BackendChoice, BackendName, Engine, ErrorJson, ExecError, Outcome, ResultJson};
use gvpie_pxl::{Config, NoTrace, Status, Texture, Vm};
use gvpie_raster::Canvas;

use crate::error::AppError;

/// Pixel work per slice of a CPU run: each instruction may touch every pixel once, so a slice
/// of `SLICE_PIXELS / pixels` instructions bounds the time between two deadline checks.
const SLICE_PIXELS: u64 = 1 << 22;
/// The most instructions between two deadline checks.
const MAX_SLICE: u64 = 1 << 16;

/// The error kind of a run stopped by the server's time limit.
pub const TIME_LIMIT_KIND: &str = "time_limit";

/// How the canvas comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ImageFormat {
    Png,
    Rgba,
    None,
}

/// One program of a job, not yet compiled.
#[derive(Debug)]
pub(crate) enum ProgramInput {
    /// PXL source.
    Code(String),
    /// A cartridge PNG, base64, and where it was in the request (for messages).
    Cartridge { base64: String, field: String },
}

/// A validated request.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) programs: Vec<ProgramInput>,
    pub(crate) config: Config,
    pub(crate) choice: BackendChoice,
    pub(crate) image: ImageFormat,
    pub(crate) max_code_bytes: usize,
    pub(crate) time_limit: Duration,
}

/// One finished program.
#[derive(Debug)]
pub(crate) struct Ran {
    pub(crate) result: ResultJson,
    pub(crate) image: Option<String>,
}

/// Set when the request is gone (client left, request timed out); the run then stops early.
#[derive(Debug, Clone, Default)]
pub(crate) struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Sets its flag when dropped: hold it in the request's future.
#[derive(Debug)]
pub(crate) struct CancelOnDrop(pub(crate) CancelFlag);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        (self.0).0.store(true, Ordering::Relaxed);
    }
}

/// Runs every program of `job`, in order, under one deadline.
pub(crate) fn run_job(engine: &Engine, job: Job, deadline: Instant, cancel: &CancelFlag) -> Result<Vec<Ran>, AppError> {
    let mut compiled = Vec::with_capacity(job.programs.len());
    for program in job.programs {
        compiled.push(compile(program, job.max_code_bytes)?);
    }
    let use_engine = match job.choice {
        BackendChoice::Cpu => false,
        BackendChoice::Gpu => true,
        // One program gains nothing from a GPU dispatch; a batch goes where the engine says.
        BackendChoice::Auto => compiled.len() > 1 && engine.backends().contains(&"gpu"),
    };
    let mut results: Vec<Option<Ran>> = (0..compiled.len()).map(|_| None).collect();
    let mut for_engine = Vec::new();
    for (idx, program) in compiled.into_iter().enumerate() {
        match program {
            Err(parse_failure) => results[idx] = Some(Ran { result: parse_failure, image: None }),
            Ok(texture) if use_engine => for_engine.push((idx, texture)),
            Ok(texture) => results[idx] = Some(run_cpu(&texture, &job.config, job.image, deadline, cancel)?),
        }
    }
    if !for_engine.is_empty() {
        let textures: Vec<Texture> = for_engine.iter().map(|(_, texture)| texture.clone()).collect();
        let outcomes = engine.execute_batch(&textures, &job.config, job.choice).map_err(exec_error)?;
        for ((idx, texture), outcome) in for_engine.iter().zip(outcomes) {
            let result = ResultJson::from_outcome(&outcome, texture.code_words().len());
            let image = encode_image(&outcome.result.canvas, job.image);
            results[*idx] = Some(Ran { result, image });
        }
    }
    results.into_iter().map(|ran| ran.ok_or_else(|| AppError::internal("a batch result is missing"))).collect()
}

fn exec_error(err: ExecError) -> AppError {
    match err {
        ExecError::GpuUnavailable(why) => {
            AppError::BackendUnavailable(format!("the GPU backend is not available: {why}"))
        }
        ExecError::Canvas(err) => AppError::LimitExceeded(err.to_string()),
        other => AppError::internal(other),
    }
}

/// Source or cartridge → texture; a source error is a result, not a failed request.
fn compile(program: ProgramInput, max_code_bytes: usize) -> Result<Result<Texture, ResultJson>, AppError> {
    let start = Instant::now();
    let source = match program {
        ProgramInput::Code(source) => source,
        ProgramInput::Cartridge { base64, field } => {
            let png = base64::engine::general_purpose::STANDARD
                .decode(base64.trim())
                .map_err(|err| AppError::InvalidRequest(format!("{field} is not valid base64: {err}")))?;
            let cartridge = gvpie_cart::unpack(&png)
                .map_err(|err| AppError::InvalidRequest(format!("{field} is not a gvpie cartridge: {err}")))?;
            if cartridge.source.len() > max_code_bytes {
                return Err(AppError::PayloadTooLarge(format!(
                    "the program in {field} is {} bytes; this server's limit is {max_code_bytes}",
                    cartridge.source.len()
                )));
            }
            cartridge.source
        }
    };
    Ok(gvpie_pxl::compile(&source)
        .map_err(|diagnostics| ResultJson::from_diagnostics(&diagnostics, BackendName::Cpu, start.elapsed())))
}

/// A CPU execution that can stop between slices and go on elsewhere: it starts on the async
/// worker (see [`run_inline`]) and, when it is not done within a few microseconds, moves to a
/// blocking thread.
#[derive(Debug)]
pub(crate) struct CpuRun {
    vm: Vm,
    code_words: usize,
    budget: u64,
    image: ImageFormat,
    slice: u64,
    start: Instant,
}

impl CpuRun {
    fn new(texture: &Texture, config: &Config, image: ImageFormat) -> Result<CpuRun, AppError> {
        let start = Instant::now();
        let vm = Vm::new(texture, config).map_err(|err| AppError::LimitExceeded(err.to_string()))?;
        let pixels = u64::from(config.width) * u64::from(config.height);
        let slice = (SLICE_PIXELS / pixels.max(1)).clamp(1, MAX_SLICE);
        Ok(CpuRun { vm, code_words: texture.code_words().len(), budget: config.budget, image, slice, start })
    }

    /// Runs one slice; true when the program has finished.
    fn step_slice(&mut self, max_steps: u64) -> bool {
        self.vm.run_traced(max_steps, &mut NoTrace) != Status::Running
    }

    /// Runs to the end, the deadline or a cancel, whichever comes first.
    pub(crate) fn run_to_end(mut self, deadline: Instant, cancel: &CancelFlag) -> Ran {
        let slice = self.slice;
        while !self.step_slice(slice) {
            if Instant::now() >= deadline || cancel.is_set() {
                return self.finish(true);
            }
        }
        self.finish(false)
    }

    fn finish(self, stopped_early: bool) -> Ran {
        let line = self.vm.next_line();
        let result = self.vm.into_result();
        let duration = self.start.elapsed();
        let outcome = Outcome { result, backend: BackendName::Cpu, duration, budget: self.budget };
        let mut json = ResultJson::from_outcome(&outcome, self.code_words);
        if stopped_early {
            json.success = false;
            json.error = Some(ErrorJson {
                kind: TIME_LIMIT_KIND.to_string(),
                message: format!(
                    "stopped after {} ms, this server's time limit for one request ({} cycles ran); \
                     lower the budget or the canvas size",
                    duration.as_millis(),
                    outcome.result.cycles
                ),
                line: Some(line),
                column: None,
                diagnostics: Vec::new(),
            });
        }
        let image = encode_image(&outcome.result.canvas, self.image);
        Ran { result: json, image }
    }
}

/// The CPU reference VM, in slices, checking the deadline and the cancel flag between them.
fn run_cpu(
    texture: &Texture,
    config: &Config,
    image: ImageFormat,
    deadline: Instant,
    cancel: &CancelFlag,
) -> Result<Ran, AppError> {
    Ok(CpuRun::new(texture, config, image)?.run_to_end(deadline, cancel))
}

/// Sources up to this size may be compiled on the async worker.
const INLINE_MAX_SOURCE: usize = 4096;
/// Canvases up to this size may run on the async worker.
const INLINE_MAX_PIXELS: u64 = 1 << 16;
/// Canvases up to this size may have their image encoded on the async worker.
const INLINE_MAX_IMAGE_PIXELS: u64 = 1 << 14;
/// Pixel work per inline slice (each slice is bounded by this much drawing).
const INLINE_SLICE_PIXELS: u64 = 1 << 17;
/// Wall time after which an unfinished inline run moves to a blocking thread.
const INLINE_TIME: Duration = Duration::from_micros(50);

/// What [`run_inline`] did with a job.
pub(crate) enum Inline {
    /// It finished (or failed to parse) in a few microseconds.
    Finished(Ran),
    /// It started and must go on on a blocking thread.
    Unfinished(CpuRun),
    /// It is not small enough to start here.
    NotSmall(Job),
}

/// Runs a small single-program CPU job on the calling (async) thread for at most about
/// [`INLINE_TIME`] plus one bounded slice: most programs sent to the API (the seed's hello
/// world among them) finish in a few microseconds, and handing them to a blocking thread would
/// cost more than running them. Anything larger goes to a blocking thread as before.
pub(crate) fn run_inline(mut job: Job) -> Result<Inline, AppError> {
    let pixels = u64::from(job.config.width) * u64::from(job.config.height);
    let small = job.programs.len() == 1
        && matches!(&job.programs[0], ProgramInput::Code(code) if code.len() <= INLINE_MAX_SOURCE)
        && pixels <= INLINE_MAX_PIXELS
        && (job.image == ImageFormat::None || pixels <= INLINE_MAX_IMAGE_PIXELS)
        // `auto` runs a single program on the CPU (see `run_job`).
        && job.choice != BackendChoice::Gpu;
    if !small {
        return Ok(Inline::NotSmall(job));
    }
    let Some(program) = job.programs.pop() else { return Ok(Inline::NotSmall(job)) };
    let texture = match compile(program, job.max_code_bytes)? {
        Ok(texture) => texture,
        Err(parse_failure) => return Ok(Inline::Finished(Ran { result: parse_failure, image: None })),
    };
    let mut run = CpuRun::new(&texture, &job.config, job.image)?;
    let slice = (INLINE_SLICE_PIXELS / pixels.max(1)).clamp(1, MAX_SLICE);
    loop {
        if run.step_slice(slice) {
            return Ok(Inline::Finished(run.finish(false)));
        }
        if run.start.elapsed() >= INLINE_TIME {
            return Ok(Inline::Unfinished(run));
        }
    }
}

fn encode_image(canvas: &Canvas, format: ImageFormat) -> Option<String> {
    let bytes = match format {
        ImageFormat::None => return None,
        ImageFormat::Png => gvpie_cart::encode_png(canvas, 1),
        ImageFormat::Rgba => canvas.to_rgba8(),
    };
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}
