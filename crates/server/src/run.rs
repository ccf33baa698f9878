//! Running validated jobs: compile, execute under the deadline, encode the image.
//!
//! Everything here runs on a blocking thread (`spawn_blocking`), except [`run_inline`], which
//! starts a small CPU run on the async worker. Every execution goes through [`Engine`] with the
//! request's deadline and cancel flag (a [`Stop`]): the engine decides `auto`, checks the
//! deadline between slices of CPU work and before a GPU dispatch (its CPU fallback included),
//! and reports `time_limit` with the backend that was running. Request parsing and validation
//! happen before, in `crate::api_execute`.

use std::time::{Duration, Instant};

use base64::Engine as _;
use gvpie_exec::{BackendChoice, BackendName, CpuRun, Engine, ExecError, ResultJson, Stop};
use gvpie_pxl::{Config, Texture};
use gvpie_raster::Canvas;

use crate::error::AppError;

/// The error kind of a run stopped by the server's time limit (the engine's).
pub use gvpie_exec::TIME_LIMIT_KIND;

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

/// Runs every program of `job`, in order, until `stop`: parse failures are results, the rest
/// run as one batch on the backend the engine picks for `job.choice`.
pub(crate) fn run_job(engine: &Engine, job: Job, stop: &Stop) -> Result<Vec<Ran>, AppError> {
    let mut compiled = Vec::with_capacity(job.programs.len());
    for program in job.programs {
        compiled.push(compile(program, job.max_code_bytes)?);
    }
    let mut results: Vec<Option<Ran>> = (0..compiled.len()).map(|_| None).collect();
    let mut to_run = Vec::new();
    for (idx, program) in compiled.into_iter().enumerate() {
        match program {
            Err(parse_failure) => results[idx] = Some(Ran { result: parse_failure, image: None }),
            Ok(texture) => to_run.push((idx, texture)),
        }
    }
    if !to_run.is_empty() {
        let textures: Vec<Texture> = to_run.iter().map(|(_, texture)| texture.clone()).collect();
        let outcomes = engine.execute_batch_until(&textures, &job.config, job.choice, stop).map_err(exec_error)?;
        for ((idx, texture), outcome) in to_run.iter().zip(outcomes) {
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

/// A CPU run started on the async worker by [`run_inline`], to go on on a blocking thread.
#[derive(Debug)]
pub(crate) struct Unfinished {
    run: CpuRun,
    code_words: usize,
    image: ImageFormat,
}

impl Unfinished {
    /// Runs to the end or until `stop`, whichever comes first.
    pub(crate) fn run_to_end(self, stop: &Stop) -> Ran {
        let outcome = self.run.run_until(stop);
        let result = ResultJson::from_outcome(&outcome, self.code_words);
        Ran { result, image: encode_image(&outcome.result.canvas, self.image) }
    }
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
    /// It started and must go on on a blocking thread (boxed: a VM is large).
    Unfinished(Box<Unfinished>),
    /// It is not small enough to start here.
    NotSmall(Job),
}

/// Runs a small single-program job that the engine puts on the CPU on the calling (async)
/// thread for at most about [`INLINE_TIME`] plus one bounded slice: most programs sent to the
/// API (the seed's hello world among them) finish in a few microseconds, and handing them to a
/// blocking thread would cost more than running them. Anything larger goes to a blocking
/// thread as before.
pub(crate) fn run_inline(engine: &Engine, mut job: Job) -> Result<Inline, AppError> {
    let pixels = u64::from(job.config.width) * u64::from(job.config.height);
    let small = job.programs.len() == 1
        && matches!(&job.programs[0], ProgramInput::Code(code) if code.len() <= INLINE_MAX_SOURCE)
        && pixels <= INLINE_MAX_PIXELS
        && (job.image == ImageFormat::None || pixels <= INLINE_MAX_IMAGE_PIXELS)
        // The engine's `auto` rule decides; only CPU work runs here.
        && matches!(engine.backend_for(job.choice, 1, &job.config), Ok(BackendName::Cpu));
    if !small {
        return Ok(Inline::NotSmall(job));
    }
    let Some(program) = job.programs.pop() else { return Ok(Inline::NotSmall(job)) };
    let texture = match compile(program, job.max_code_bytes)? {
        Ok(texture) => texture,
        Err(parse_failure) => return Ok(Inline::Finished(Ran { result: parse_failure, image: None })),
    };
    let code_words = texture.code_words().len();
    let mut run = CpuRun::new(&texture, &job.config).map_err(exec_error)?;
    let slice = CpuRun::slice_for(pixels, INLINE_SLICE_PIXELS);
    loop {
        if run.step(slice) {
            let outcome = run.finish(None);
            let result = ResultJson::from_outcome(&outcome, code_words);
            return Ok(Inline::Finished(Ran { result, image: encode_image(&outcome.result.canvas, job.image) }));
        }
        if run.elapsed() >= INLINE_TIME {
            return Ok(Inline::Unfinished(Box::new(Unfinished { run, code_words, image: job.image })));
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
