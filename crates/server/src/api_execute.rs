//! `POST /api/execute` and `POST /api/execute/batch`: request and response types, validation
//! against [`crate::Limits`], and the handlers that pass validated jobs through the execution
//! gate to `crate::run`.
//!
//! Validation happens before a request takes an execution slot, so a bad request costs nothing
//! but its parsing. Results use [`gvpie_exec::ResultJson`], the shape the CLI prints.

use std::str::FromStr;
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use gvpie_exec::{BackendChoice, ResultJson};
use serde::{Deserialize, Serialize};
use serde_json::Number;
use utoipa::ToSchema;

use crate::error::{AppError, ErrorBody};
use crate::events::EventBus;
use crate::events::{Event, ExecutionEvent, now_ms};
use crate::json::AppJson;
use crate::metrics::Metrics;
use crate::run::{ImageFormat, Inline, Job, ProgramInput, Ran, run_inline, run_job};
use crate::state::AppState;

/// Run one program.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "TXT 10 10 Hello GPU\nHALT", "backend": "auto"}))]
pub struct ExecuteRequest {
    /// PXL source. Give `code` or `cartridge`, not both.
    #[serde(default)]
    pub code: Option<String>,
    /// A cartridge PNG (as made by `gvpie cart pack`), base64-encoded.
    #[serde(default)]
    pub cartridge: Option<String>,
    /// `cpu`, `gpu` or `auto` (any case; default `auto`, which runs one program on the CPU).
    #[serde(default)]
    #[schema(example = "auto")]
    pub backend: Option<String>,
    /// Canvas width in pixels (default: the program's `SIZE` when neither width nor height is given, else 128).
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 4096)]
    pub width: Option<Number>,
    /// Canvas height in pixels (default: the program's `SIZE` when neither width nor height is given, else 64).
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 4096)]
    pub height: Option<Number>,
    /// Instructions the program may execute (default 10,000,000; at most the server's ceiling).
    #[serde(default)]
    #[schema(value_type = Option<u64>, minimum = 1)]
    pub budget: Option<Number>,
    /// `png` (base64 PNG), `rgba` (base64 raw RGBA bytes, row by row) or `none` (default).
    #[serde(default)]
    #[schema(value_type = Option<ImageKind>)]
    pub image: Option<String>,
}

/// One program of a batch.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchProgram {
    /// PXL source. Give `code` or `cartridge`, not both.
    #[serde(default)]
    pub code: Option<String>,
    /// A cartridge PNG, base64-encoded.
    #[serde(default)]
    pub cartridge: Option<String>,
}

/// Run many programs with the same settings in one call (one GPU dispatch when the GPU runs them).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The programs, run in order; results come back in the same order.
    pub programs: Vec<BatchProgram>,
    /// `cpu`, `gpu` or `auto` (any case; default `auto`: the GPU when there is one and the batch
    /// has at least 64 programs, else the CPU).
    #[serde(default)]
    pub backend: Option<String>,
    /// Canvas width in pixels (default: the program's `SIZE` when neither width nor height is given, else 128).
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 4096)]
    pub width: Option<Number>,
    /// Canvas height in pixels (default: the program's `SIZE` when neither width nor height is given, else 64).
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 4096)]
    pub height: Option<Number>,
    /// Instructions each program may execute.
    #[serde(default)]
    #[schema(value_type = Option<u64>, minimum = 1)]
    pub budget: Option<Number>,
    /// `png`, `rgba` or `none` (default).
    #[serde(default)]
    #[schema(value_type = Option<ImageKind>)]
    pub image: Option<String>,
}

/// The image formats of a result (names are case-insensitive in requests).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    /// A PNG file, base64.
    Png,
    /// Raw RGBA bytes, 4 per pixel, row by row, base64.
    Rgba,
    /// No image.
    None,
}

/// The result of one program: the fields of every gvpie result, plus the canvas.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExecuteResponse {
    /// `success`, `cycles`, `backend`, `duration_ms`, `error`.
    #[serde(flatten)]
    pub result: ResultJson,
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// The canvas in the format asked for, base64; null when `image` was `none`.
    pub image: Option<String>,
}

/// The results of a batch, in the order of its programs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchResponse {
    /// One result per program.
    pub results: Vec<ExecuteResponse>,
}

/// Settings shared by single and batch requests.
struct Options<'a> {
    backend: Option<&'a str>,
    width: Option<&'a Number>,
    height: Option<&'a Number>,
    budget: Option<&'a Number>,
    image: Option<&'a str>,
}

/// A number field as an integer in `min..=max`, with a message naming the field.
fn integer(field: &str, value: Option<&Number>, default: u64, min: u64, max: u64) -> Result<u64, AppError> {
    let Some(value) = value else { return Ok(default) };
    match value.as_u64() {
        Some(n) if n > max => Err(AppError::LimitExceeded(format!("{field} is {n}; this server allows at most {max}"))),
        Some(n) if n >= min => Ok(n),
        _ if value.as_f64().is_some_and(|f| f.is_finite() && f.fract() == 0.0 && f > max as f64) => {
            Err(AppError::LimitExceeded(format!("{field} is {value}; this server allows at most {max}")))
        }
        _ => Err(AppError::InvalidRequest(format!("{field} must be a whole number from {min} to {max}, not {value}"))),
    }
}

fn validate_options(
    state: &AppState,
    options: &Options<'_>,
) -> Result<(gvpie_pxl::Config, BackendChoice, ImageFormat), AppError> {
    let limits = state.limits();
    let choice = match options.backend {
        None => BackendChoice::Auto,
        Some(text) => BackendChoice::from_str(text).map_err(AppError::InvalidRequest)?,
    };
    if choice == BackendChoice::Gpu && !state.engine().backends().contains(&"gpu") {
        return Err(AppError::BackendUnavailable(format!(
            "this server has no GPU backend (available: {}); ask for cpu or auto",
            state.engine().backends().join(", ")
        )));
    }
    let max_side = u64::from(limits.max_side);
    let width = integer("width", options.width, 128, 1, max_side)?;
    let height = integer("height", options.height, 64, 1, max_side)?;
    if width * height > limits.max_pixels {
        return Err(AppError::LimitExceeded(format!(
            "a {width}x{height} canvas has {} pixels; this server allows at most {}",
            width * height,
            limits.max_pixels
        )));
    }
    let budget = integer("budget", options.budget, limits.default_budget.min(limits.max_budget), 1, limits.max_budget)?;
    let image = match options.image.map(str::to_ascii_lowercase).as_deref() {
        None | Some("none") => ImageFormat::None,
        Some("png") => ImageFormat::Png,
        Some("rgba") => ImageFormat::Rgba,
        Some(_) => {
            let got = options.image.unwrap_or_default();
            return Err(AppError::InvalidRequest(format!("unknown image format '{got}' (expected png, rgba or none)")));
        }
    };
    // Both sides were checked against max_side (at most 4096), so they fit u32.
    let config = gvpie_pxl::Config { width: width as u32, height: height as u32, budget, max_frames: 0 };
    Ok((config, choice, image))
}

/// The canvas size a program declares (`SIZE`), read before it runs; `None` when it declares
/// none or cannot be read (compiling it reports why).
fn declared_size(program: &ProgramInput) -> Option<(u32, u32)> {
    match program {
        ProgramInput::Code(code) => gvpie_pxl::declared_size(code),
        ProgramInput::Cartridge { base64, .. } => {
            use base64::Engine as _;
            let png = base64::engine::general_purpose::STANDARD.decode(base64.trim()).ok()?;
            gvpie_pxl::declared_size(&gvpie_cart::unpack(&png).ok()?.source)
        }
    }
}

/// `config` at the size the programs declare, when the request gives neither width nor height:
/// the declared size is checked against this server's limits like a requested one. A batch
/// runs at one size, so its programs' declarations must agree (programs without one run at it).
fn sized_as_declared(
    state: &AppState,
    explicit: bool,
    config: gvpie_pxl::Config,
    programs: &[ProgramInput],
) -> Result<gvpie_pxl::Config, AppError> {
    if explicit {
        return Ok(config);
    }
    let mut declared: Option<(usize, (u32, u32))> = None;
    for (idx, program) in programs.iter().enumerate() {
        let Some(size) = declared_size(program) else { continue };
        match declared {
            None => declared = Some((idx, size)),
            Some((first, seen)) if seen != size => {
                return Err(AppError::InvalidRequest(format!(
                    "programs[{first}] declares SIZE {} {} and programs[{idx}] SIZE {} {}; a batch runs at one size: \
                     give width and height",
                    seen.0, seen.1, size.0, size.1
                )));
            }
            Some(_) => {}
        }
    }
    let Some((_, (width, height))) = declared else { return Ok(config) };
    let limits = state.limits();
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_side || height > limits.max_side || pixels > limits.max_pixels {
        return Err(AppError::LimitExceeded(format!(
            "the program declares SIZE {width} {height}; this server allows at most {} pixels and {} a side",
            limits.max_pixels, limits.max_side
        )));
    }
    Ok(gvpie_pxl::Config { width, height, ..config })
}

/// [`sized_as_declared`], where reading a cartridge's declaration decodes its PNG: that is
/// work, so it takes a slot and runs on a blocking thread like every other decode (a batch of
/// PNG bombs must not hold the async workers).
async fn sized(
    state: &AppState,
    explicit: bool,
    config: gvpie_pxl::Config,
    programs: Vec<ProgramInput>,
) -> Result<(gvpie_pxl::Config, Vec<ProgramInput>), AppError> {
    let decodes = !explicit && programs.iter().any(|p| matches!(p, ProgramInput::Cartridge { .. }));
    if !decodes {
        return Ok((sized_as_declared(state, explicit, config, &programs)?, programs));
    }
    let shared = state.clone();
    crate::jobs::gated(state, move |_stop| Ok((sized_as_declared(&shared, explicit, config, &programs)?, programs)))
        .await
}

/// The program of a request; `field` is `""` or `"programs[N]."`, to name it in messages.
fn program_input(
    state: &AppState,
    code: Option<String>,
    cartridge: Option<String>,
    field: &str,
) -> Result<ProgramInput, AppError> {
    let limits = state.limits();
    let which = match field.trim_end_matches('.') {
        "" => String::new(),
        name => format!("{name}: "),
    };
    match (code, cartridge) {
        (Some(_), Some(_)) => Err(AppError::InvalidRequest(format!("{which}give either code or cartridge, not both"))),
        (None, None) => Err(AppError::InvalidRequest(format!(
            "{which}give the program as code (PXL source) or cartridge (base64 PNG)"
        ))),
        (Some(code), None) if code.len() > limits.max_code_bytes => Err(AppError::PayloadTooLarge(format!(
            "{field}code is {} bytes; this server's limit is {}",
            code.len(),
            limits.max_code_bytes
        ))),
        (Some(code), None) => Ok(ProgramInput::Code(code)),
        (None, Some(base64)) => Ok(ProgramInput::Cartridge { base64, field: format!("{field}cartridge") }),
    }
}

/// Bytes of JSON around each result besides its image (fields, quotes, separators).
const RESULT_JSON_BYTES: u64 = 512;

/// The bytes of `n` base64 characters for `bytes` bytes.
fn base64_len(bytes: u64) -> u64 {
    bytes.div_ceil(3).saturating_mul(4)
}

/// The most bytes an encoded image of a `width`×`height` canvas can take in an answer: raw RGBA,
/// or a PNG's worst case (the raw rows with their filter bytes, stored deflate blocks, chunks),
/// base64-encoded.
fn image_bytes(width: u32, height: u32, image: ImageFormat) -> u64 {
    let raw = u64::from(width) * u64::from(height) * 4;
    match image {
        ImageFormat::None => 0,
        ImageFormat::Rgba => base64_len(raw),
        ImageFormat::Png => {
            let rows = raw + u64::from(height);
            base64_len(rows + 5 * (rows / 16_384 + 1) + 1024)
        }
    }
}

/// Refuses (422 `limit_exceeded`), before any work, a request whose results would take more
/// than [`crate::Limits::max_result_bytes`]: `programs` canvases and their encoded images.
fn check_result_size(
    state: &AppState,
    programs: usize,
    config: &gvpie_pxl::Config,
    image: ImageFormat,
) -> Result<(), AppError> {
    let limit = state.limits().max_result_bytes;
    let canvas = u64::from(config.width) * u64::from(config.height) * 4;
    let encoded = image_bytes(config.width, config.height, image);
    let each = canvas + encoded + RESULT_JSON_BYTES;
    let total = each.saturating_mul(programs as u64);
    if total <= limit {
        return Ok(());
    }
    let format = match image {
        ImageFormat::None => "no image",
        ImageFormat::Png => "a png image",
        ImageFormat::Rgba => "an rgba image",
    };
    let mib = |bytes: u64| bytes.div_ceil(1 << 20);
    Err(AppError::LimitExceeded(format!(
        "the results would take about {} MiB ({programs} programs × a {}x{} canvas of {canvas} bytes and {format} \
         of up to {encoded} bytes); this server allows at most {} MiB per request: send fewer programs, a \
         smaller canvas or image none",
        mib(total),
        config.width,
        config.height,
        mib(limit)
    )))
}

/// Takes a slot, runs the job (small ones on this thread, the rest on a blocking thread),
/// counts and announces the results.
async fn execute_job(state: &AppState, job: Job) -> Result<Vec<(Ran, u32, u32)>, AppError> {
    let permit = state.gate().acquire().await?;
    let (width, height) = (job.config.width, job.config.height);
    let deadline = Instant::now() + job.time_limit;
    let metrics = state.metrics().clone();
    let events = state.events().clone();
    let ran = match run_inline(state.engine(), job)? {
        Inline::Finished(ran) => {
            drop(permit);
            record(&metrics, &events, std::slice::from_ref(&ran));
            vec![ran]
        }
        Inline::Unfinished(run) => {
            // Held here: when this request ends for any reason (or the server stops), the run stops.
            let cancel = state.jobs().start();
            let stop = cancel.stop(deadline);
            let task = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let ran = run.run_to_end(&stop);
                record(&metrics, &events, std::slice::from_ref(&ran));
                ran
            });
            let ran = task.await.map_err(AppError::internal)?;
            drop(cancel);
            vec![ran]
        }
        Inline::NotSmall(job) => {
            let cancel = state.jobs().start();
            let stop = cancel.stop(deadline);
            let engine = state.engine().clone();
            let task = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let ran = run_job(&engine, job, &stop)?;
                record(&metrics, &events, &ran);
                Ok::<_, AppError>(ran)
            });
            let ran = task.await.map_err(AppError::internal)??;
            drop(cancel);
            ran
        }
    };
    Ok(ran.into_iter().map(|it| (it, width, height)).collect())
}

/// Counts finished executions and announces them on the event stream.
fn record(metrics: &Metrics, events: &EventBus, ran: &[Ran]) {
    for it in ran {
        let result = &it.result;
        let error_kind = result.error.as_ref().map(|e| e.kind.as_str());
        let duration = std::time::Duration::from_secs_f64(result.duration_ms.max(0.0) / 1000.0);
        metrics.record_execution(&result.backend, error_kind, duration);
        if events.n_subscribers() > 0 {
            events.publish(Event::Execution(ExecutionEvent {
                origin: "api".to_string(),
                success: result.success,
                cycles: result.cycles,
                backend: result.backend.clone(),
                duration_ms: result.duration_ms,
                error_kind: error_kind.map(str::to_string),
                script: None,
                iteration: None,
                program_hash: None,
                image_hash: None,
                agent: None,
                at_ms: now_ms(),
            }));
        }
    }
}

fn response((ran, width, height): (Ran, u32, u32)) -> ExecuteResponse {
    ExecuteResponse { result: ran.result, width, height, image: ran.image }
}

/// Run one program.
///
/// A program that does not parse, or stops with a run-time error, is still a 200 answer: its
/// result has `success: false` and the error (kind `parse` with every diagnostic, or the trap,
/// or `time_limit` when the server's time limit stopped it).
#[utoipa::path(
    post,
    path = "/api/execute",
    tag = "execute",
    request_body = ExecuteRequest,
    responses(
        (status = 200, description = "The program ran (or failed to parse); see `success` and `error`", body = ExecuteResponse),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 408, description = "The body arrived too slowly", body = ErrorBody),
        (status = 413, description = "The body or the program is too large", body = ErrorBody),
        (status = 415, description = "The body is not application/json", body = ErrorBody),
        (status = 422, description = "A field is missing, of the wrong type, out of range or above a limit; \
            or the backend asked for does not exist here", body = ErrorBody),
        (status = 429, description = "Too many requests waiting (see Retry-After)", body = ErrorBody),
        (status = 503, description = "No execution slot in time (see Retry-After)", body = ErrorBody),
    )
)]
pub(crate) async fn execute(
    State(state): State<AppState>,
    AppJson(request): AppJson<ExecuteRequest>,
) -> Result<Json<ExecuteResponse>, AppError> {
    let options = Options {
        backend: request.backend.as_deref(),
        width: request.width.as_ref(),
        height: request.height.as_ref(),
        budget: request.budget.as_ref(),
        image: request.image.as_deref(),
    };
    let (config, choice, image) = validate_options(&state, &options)?;
    let program = program_input(&state, request.code, request.cartridge, "")?;
    let explicit = options.width.is_some() || options.height.is_some();
    let (config, mut programs) = sized(&state, explicit, config, vec![program]).await?;
    check_result_size(&state, 1, &config, image)?;
    let program = programs.pop().ok_or_else(|| AppError::internal("the program is missing"))?;
    let limits = state.limits();
    let job = Job {
        programs: vec![program],
        config,
        choice,
        image,
        max_code_bytes: limits.max_code_bytes,
        time_limit: limits.execution_time_limit,
    };
    let mut ran = execute_job(&state, job).await?;
    let first = ran.pop().ok_or_else(|| AppError::internal("an execution returned no result"))?;
    Ok(Json(response(first)))
}

/// Run many programs with the same settings.
///
/// With `backend` `gpu` (or `auto` on a server with a GPU and at least 64 programs: the
/// engine's rule) the programs run as one GPU batch. Each program's result is as in
/// `/api/execute`; the batch shares one time limit, checked on the CPU and on the GPU between
/// slices (the GPU's are resumable: a slice, once started, runs to its end).
#[utoipa::path(
    post,
    path = "/api/execute/batch",
    tag = "execute",
    request_body = BatchRequest,
    responses(
        (status = 200, description = "Every program ran (or failed to parse)", body = BatchResponse),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
        (status = 408, description = "The body arrived too slowly", body = ErrorBody),
        (status = 413, description = "The body or a program is too large", body = ErrorBody),
        (status = 415, description = "The body is not application/json", body = ErrorBody),
        (status = 422, description = "A field is invalid or above a limit (names the program), or the results would \
            take more memory than the server allows (programs × canvas × image)", body = ErrorBody),
        (status = 429, description = "Too many requests waiting (see Retry-After)", body = ErrorBody),
        (status = 503, description = "No execution slot in time (see Retry-After)", body = ErrorBody),
    )
)]
pub(crate) async fn execute_batch(
    State(state): State<AppState>,
    AppJson(request): AppJson<BatchRequest>,
) -> Result<Json<BatchResponse>, AppError> {
    let limits = state.limits();
    if request.programs.is_empty() {
        return Err(AppError::InvalidRequest("programs is empty; give at least one program".to_string()));
    }
    if request.programs.len() > limits.max_batch {
        return Err(AppError::LimitExceeded(format!(
            "the batch has {} programs; this server allows at most {}",
            request.programs.len(),
            limits.max_batch
        )));
    }
    let options = Options {
        backend: request.backend.as_deref(),
        width: request.width.as_ref(),
        height: request.height.as_ref(),
        budget: request.budget.as_ref(),
        image: request.image.as_deref(),
    };
    let (config, choice, image) = validate_options(&state, &options)?;
    check_result_size(&state, request.programs.len(), &config, image)?;
    let mut programs = Vec::with_capacity(request.programs.len());
    for (idx, program) in request.programs.into_iter().enumerate() {
        programs.push(program_input(&state, program.code, program.cartridge, &format!("programs[{idx}]."))?);
    }
    let explicit = options.width.is_some() || options.height.is_some();
    let (config, programs) = sized(&state, explicit, config, programs).await?;
    check_result_size(&state, programs.len(), &config, image)?;
    let job = Job {
        programs,
        config,
        choice,
        image,
        max_code_bytes: limits.max_code_bytes,
        time_limit: limits.execution_time_limit,
    };
    let ran = execute_job(&state, job).await?;
    state.metrics().record_batch();
    Ok(Json(BatchResponse { results: ran.into_iter().map(response).collect() }))
}
