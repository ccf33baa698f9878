//! `POST /api/compile`: a plain-English description → a PXL program (`gvpie-compile`'s offline
//! grammar), run once on the CPU VM for its picture, and recorded in the infinite map (with the
//! description as `task_description`) when this server has a database.
//!
//! The compile and the run take an execution slot of the admission gate and run on a blocking
//! thread like every other execution. A description the grammar cannot compile is answered 422
//! `invalid_request` with the compiler's message (the word, its position, the closest known
//! words). The LLM fallback is not offered here: it is the CLI's (`gvpie compile --llm-url`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use base64::Engine as _;
use gvpie_compile::{MAX_DESCRIPTION_CHARS, Options};
use gvpie_pxl::{Config, Status};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, ErrorBody};
use crate::json::AppJson;
use crate::state::AppState;

/// Cycles a compiled program may run (compiled programs are straight-line and short).
const COMPILE_BUDGET: u64 = 1_000_000;

/// A description to compile.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompileRequest {
    /// What to draw, e.g. "a red circle above a blue square" (grammar: docs/compile.md).
    #[schema(example = "three yellow stars above a green house")]
    pub description: String,
    /// Canvas width the program is laid out for (default 128).
    pub width: Option<u32>,
    /// Canvas height (default 64).
    pub height: Option<u32>,
}

/// One described object as the compiler understood it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CompiledObject {
    /// Its kind: circle, square, text, house, ...
    pub kind: String,
    /// How many copies.
    pub count: u32,
    /// The words that described it.
    pub words: String,
}

/// A compiled description.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CompileResponse {
    /// Which path produced the program: always `grammar` here.
    pub path: String,
    /// The description.
    pub description: String,
    /// The PXL program, one `#` comment per described object.
    pub source: String,
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// The objects, in the order described.
    pub objects: Vec<CompiledObject>,
    /// Cycles the program ran.
    pub cycles: u64,
    /// The picture, PNG, base64.
    pub image: String,
    /// The iteration it was recorded as in the infinite map; null when this server has no database.
    pub iteration: Option<i64>,
}

/// Compile a plain-English description into a PXL program and draw it.
///
/// The same description and size always give the same program. Recorded in the infinite map
/// (task = the description, generator `compile:grammar`) when the server has a database.
#[utoipa::path(post, path = "/api/compile", tag = "tools", request_body = CompileRequest,
    responses(
        (status = 200, description = "The program, its objects and its picture", body = CompileResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "The description cannot be compiled (unknown word, nothing to draw, too long) or the canvas is too large", body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn compile(
    State(state): State<AppState>,
    AppJson(request): AppJson<CompileRequest>,
) -> Result<Json<CompileResponse>, AppError> {
    let limits = state.limits();
    let (width, height) = (request.width.unwrap_or(128), request.height.unwrap_or(64));
    if width == 0 || height == 0 {
        return Err(AppError::InvalidRequest(format!("the canvas must be at least 1x1, not {width}x{height}")));
    }
    if width > limits.max_side || height > limits.max_side || u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(AppError::LimitExceeded(format!(
            "a {width}x{height} canvas is too large here (sides up to {}, at most {} pixels)",
            limits.max_side, limits.max_pixels
        )));
    }
    let chars = request.description.chars().count();
    if chars > MAX_DESCRIPTION_CHARS {
        return Err(AppError::PayloadTooLarge(format!(
            "description is {chars} characters; the limit is {MAX_DESCRIPTION_CHARS}"
        )));
    }
    let description = request.description.clone();
    let (mut response, texture) = crate::jobs::gated(&state, move |_stop| {
        let compiled = gvpie_compile::compile(&description, &Options { width, height })
            .map_err(|error| AppError::InvalidRequest(error.to_string()))?;
        let texture = gvpie_pxl::compile(&compiled.source).map_err(|d| {
            AppError::internal(format!("a compiled program does not assemble: {}", gvpie_pxl::render_all(&d)))
        })?;
        let config = Config { width, height, budget: COMPILE_BUDGET, max_frames: 0 };
        let started = std::time::Instant::now();
        let result = gvpie_pxl::run(&texture, &config).map_err(AppError::internal)?;
        let duration_us = started.elapsed().as_micros() as i64;
        if result.status != Status::Halted {
            return Err(AppError::internal(format!("a compiled program did not halt: {:?}", result.status)));
        }
        let png = gvpie_cart::encode_png(&result.canvas, 1);
        let response = CompileResponse {
            path: "grammar".to_string(),
            description: description.clone(),
            objects: compiled
                .scene
                .objects
                .iter()
                .map(|o| CompiledObject { kind: o.kind.noun().to_string(), count: o.count, words: o.words.clone() })
                .collect(),
            source: compiled.source,
            width,
            height,
            cycles: result.cycles,
            image: base64::engine::general_purpose::STANDARD.encode(&png),
            iteration: None,
        };
        Ok((response, Recorded { texture, canvas: result.canvas, png, duration_us }))
    })
    .await?;
    if let Ok(store) = state.store()
        && !store.is_read_only()
    {
        let execution = execution(&response, texture);
        let iterations = store.run(move |store| Ok(store.record_executions(&[execution])?)).await?;
        response.iteration = iterations.first().copied();
    }
    Ok(Json(response))
}

/// What the run left for the record.
struct Recorded {
    texture: gvpie_pxl::Texture,
    canvas: gvpie_raster::Canvas,
    png: Vec<u8>,
    duration_us: i64,
}

fn execution(response: &CompileResponse, recorded: Recorded) -> gvpie_store::NewExecution {
    use gvpie_store::{BackendUsed, NewExecution, NewImage, ProgramInput, RunConfig, TextRef};
    let Recorded { texture, canvas, png, duration_us } = recorded;
    let code = TextRef::new(response.source.as_str());
    let opcodes = {
        let mut set = std::collections::BTreeSet::new();
        for index in 0..texture.n_records() {
            if let Some(op) = gvpie_pxl::Op::from_code((texture.record(index)[0] & 0xFF) as u8) {
                set.insert(op.info().mnemonic.to_string());
            }
        }
        set.into_iter().collect()
    };
    let program = ProgramInput::new(texture.to_bytes(), Some(code.clone()), texture.n_records() as i64, opcodes);
    let hash = gvpie_store::image_hash(canvas.width(), canvas.height(), &canvas.to_rgba8());
    NewExecution {
        started_ms: gvpie_store::now_ms(),
        duration_us,
        success: true,
        cycles: response.cycles,
        backend: Some(BackendUsed::Cpu),
        program: Some(Arc::new(program)),
        code: Some(code),
        task: Some(TextRef::new(response.description.as_str())),
        image: Some(NewImage { hash, width: canvas.width(), height: canvas.height(), png: Some(png) }),
        config: Some(RunConfig { width: response.width, height: response.height, budget: COMPILE_BUDGET }),
        generator: Some(TextRef::new("compile:grammar")),
        ..NewExecution::default()
    }
}
