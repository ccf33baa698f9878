//! The endpoints over the store: improvement scripts, the infinite map and its lineage, stored
//! images, content-addressed programs and cartridges, goals and a summary.
//!
//! The JSON types here are the API's own, converted from `gvpie-store`'s records, so the wire
//! contract stays put when the storage changes. Each handler does its database work on a
//! pooled connection on a blocking thread (`crate::store`). Nothing here executes programs.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use gvpie_store::{Hash, MapQuery, NewCartridge, NewScript, ProgramInput, ScriptUpdate, TextRef};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{AppError, ErrorBody};
use crate::json::AppJson;
use crate::state::AppState;

// ---------------------------------------------------------------------------------------------
// Scripts

/// An improvement script (a row of the seed's `improvement_scripts`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScriptJson {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// `pixel` (PXL source) or `cartridge`.
    pub lang: String,
    /// What it is for.
    pub purpose: Option<String>,
    /// The program (omitted in lists).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub code: Option<String>,
    /// Length of the code in bytes.
    pub code_len: i64,
    /// Whether the daemon runs it.
    pub enabled: bool,
    /// When it was added.
    pub created_at: Option<String>,
    /// When it last ran.
    pub last_run_at: Option<String>,
    /// How many times it ran.
    pub run_count: i64,
    /// How many of those succeeded.
    pub success_count: i64,
    /// The script it was derived from.
    pub parent_script_id: Option<i64>,
    /// Its latest execution (an infinite-map iteration).
    pub last_iteration: Option<i64>,
}

impl ScriptJson {
    fn from_store(script: gvpie_store::Script, with_code: bool) -> ScriptJson {
        ScriptJson {
            id: script.id,
            name: script.name,
            lang: script.lang,
            purpose: script.purpose,
            code: if with_code { script.code } else { None },
            code_len: script.code_len,
            enabled: script.enabled,
            created_at: script.created_at,
            last_run_at: script.last_run_at,
            run_count: script.run_count,
            success_count: script.success_count,
            parent_script_id: script.parent_script_id,
            last_iteration: script.last_iteration,
        }
    }
}

/// The scripts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScriptList {
    /// Every script, without its code.
    pub scripts: Vec<ScriptJson>,
}

/// A new script.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScriptRequest {
    /// Unique name.
    pub name: String,
    /// `pixel` (default) or `cartridge`.
    #[serde(default)]
    pub lang: Option<String>,
    /// What it is for.
    #[serde(default)]
    pub purpose: Option<String>,
    /// The program.
    pub code: String,
    /// Whether the daemon runs it (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The script it improves on.
    #[serde(default)]
    pub parent_script_id: Option<i64>,
}

/// Changes to a script; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptPatch {
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
    /// A new language.
    #[serde(default)]
    pub lang: Option<String>,
    /// A new purpose.
    #[serde(default)]
    pub purpose: Option<String>,
    /// New code.
    #[serde(default)]
    pub code: Option<String>,
    /// Turn it on or off.
    #[serde(default)]
    pub enabled: Option<bool>,
}

fn check_script_fields(
    state: &AppState,
    lang: Option<&str>,
    code: Option<&str>,
    name: Option<&str>,
) -> Result<(), AppError> {
    if let Some(lang) = lang
        && !gvpie_store::LANGS.contains(&lang)
    {
        return Err(AppError::InvalidRequest(format!(
            "unknown lang '{lang}' (expected {})",
            gvpie_store::LANGS.join(" or ")
        )));
    }
    if let Some(code) = code
        && code.len() > state.limits().max_code_bytes
    {
        return Err(AppError::PayloadTooLarge(format!(
            "code is {} bytes; this server's limit is {}",
            code.len(),
            state.limits().max_code_bytes
        )));
    }
    if name.is_some_and(|name| name.trim().is_empty()) {
        return Err(AppError::InvalidRequest("name cannot be empty".to_string()));
    }
    Ok(())
}

/// Every improvement script.
#[utoipa::path(get, path = "/api/scripts", tag = "scripts",
    responses((status = 200, body = ScriptList), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn list_scripts(State(state): State<AppState>) -> Result<Json<ScriptList>, AppError> {
    let scripts = state.store()?.run(|store| Ok(store.list_scripts()?)).await?;
    Ok(Json(ScriptList { scripts: scripts.into_iter().map(|s| ScriptJson::from_store(s, false)).collect() }))
}

/// Add an improvement script; the daemon runs it in its next cycle when enabled.
#[utoipa::path(post, path = "/api/scripts", tag = "scripts", request_body = NewScriptRequest,
    responses(
        (status = 201, description = "Created", body = ScriptJson),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "Invalid field, or the name is taken", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub(crate) async fn create_script(
    State(state): State<AppState>,
    AppJson(request): AppJson<NewScriptRequest>,
) -> Result<(StatusCode, Json<ScriptJson>), AppError> {
    let lang = request.lang.unwrap_or_else(|| "pixel".to_string());
    check_script_fields(&state, Some(&lang), Some(&request.code), Some(&request.name))?;
    let new = NewScript {
        name: request.name,
        lang,
        purpose: request.purpose,
        code: request.code,
        enabled: request.enabled.unwrap_or(true),
        parent_script_id: request.parent_script_id,
    };
    let script = state.store()?.run(move |store| Ok(store.create_script(&new)?)).await?;
    Ok((StatusCode::CREATED, Json(ScriptJson::from_store(script, true))))
}

/// One script, with its code.
#[utoipa::path(get, path = "/api/scripts/{id}", tag = "scripts", params(("id" = i64, Path, description = "Script id")),
    responses((status = 200, body = ScriptJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub(crate) async fn get_script(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ScriptJson>, AppError> {
    let id = parse_id("script id", &id)?;
    let script = state.store()?.run(move |store| Ok(store.script(id)?)).await?;
    let script = script.ok_or_else(|| AppError::NotFound(format!("no script with id {id}")))?;
    Ok(Json(ScriptJson::from_store(script, true)))
}

/// Change a script (name, lang, purpose, code, enabled).
#[utoipa::path(patch, path = "/api/scripts/{id}", tag = "scripts", params(("id" = i64, Path, description = "Script id")),
    request_body = ScriptPatch,
    responses((status = 200, body = ScriptJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn update_script(
    State(state): State<AppState>,
    Path(id): Path<String>,
    AppJson(patch): AppJson<ScriptPatch>,
) -> Result<Json<ScriptJson>, AppError> {
    let id = parse_id("script id", &id)?;
    check_script_fields(&state, patch.lang.as_deref(), patch.code.as_deref(), patch.name.as_deref())?;
    let update = ScriptUpdate {
        name: patch.name,
        lang: patch.lang,
        purpose: patch.purpose.map(Some),
        code: patch.code,
        enabled: patch.enabled,
    };
    let script = state
        .store()?
        .run(move |store| {
            if store.script(id)?.is_none() {
                return Err(AppError::NotFound(format!("no script with id {id}")));
            }
            Ok(store.update_script(id, &update)?)
        })
        .await?;
    Ok(Json(ScriptJson::from_store(script, true)))
}

// ---------------------------------------------------------------------------------------------
// The infinite map

/// One execution in the infinite map.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MapEntryJson {
    /// Unique, increasing; also the run id.
    pub iteration: i64,
    /// Start time, `YYYY-MM-DD HH:MM:SS.SSS` UTC.
    pub timestamp: String,
    /// Start time in ms since the Unix epoch.
    pub started_ms: i64,
    /// What was attempted.
    pub task_description: Option<String>,
    /// The script that ran.
    pub script_id: Option<i64>,
    /// Its name.
    pub script_name: Option<String>,
    /// The goal worked on.
    pub goal_id: Option<i64>,
    /// Halted without error.
    pub success: bool,
    /// Instructions executed.
    pub cycles: u64,
    /// `cpu`, `gpu` or `none` (nothing ran).
    pub backend: String,
    /// Wall time in ms.
    pub duration_ms: f64,
    /// The error (same shape as in execution results), when it failed.
    #[schema(value_type = Option<gvpie_exec::ErrorJson>)]
    pub error: Option<serde_json::Value>,
    /// SHA-256 of the program's machine texture (see `/api/programs/{hash}`).
    pub program_hash: Option<String>,
    /// SHA-256 of the output image (see `/api/images/{hash}`).
    pub image_hash: Option<String>,
    /// Canvas width.
    pub width: Option<u32>,
    /// Canvas height.
    pub height: Option<u32>,
    /// Cycle budget.
    pub budget: Option<u64>,
    /// The execution it was derived from.
    pub parent_iteration: Option<i64>,
    /// What produced the program (a generator or model name).
    pub generator: Option<String>,
    /// Its score on the goal.
    pub score: Option<f64>,
    /// The code, when asked for.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub code: Option<String>,
}

impl From<gvpie_store::MapEntry> for MapEntryJson {
    fn from(entry: gvpie_store::MapEntry) -> MapEntryJson {
        MapEntryJson {
            iteration: entry.iteration,
            timestamp: entry.timestamp,
            started_ms: entry.started_ms,
            task_description: entry.task_description,
            script_id: entry.script_id,
            script_name: entry.script_name,
            goal_id: entry.goal_id,
            success: entry.success,
            cycles: entry.cycles,
            backend: entry.backend.as_str().to_string(),
            duration_ms: entry.duration_ms,
            error: entry.error,
            program_hash: entry.program_hash.map(|h| h.to_hex()),
            image_hash: entry.image_hash.map(|h| h.to_hex()),
            width: entry.config.map(|c| c.width),
            height: entry.config.map(|c| c.height),
            budget: entry.config.map(|c| c.budget),
            parent_iteration: entry.parent_iteration,
            generator: entry.generator,
            score: entry.score,
            code: entry.code,
        }
    }
}

/// A page of the infinite map, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MapPageJson {
    /// The entries.
    pub entries: Vec<MapEntryJson>,
    /// Pass as `before` to get the next page; null on the last page.
    pub next_before: Option<i64>,
}

/// Filters and paging for `GET /api/map`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MapParams {
    /// Only this script's runs (by name).
    pub script: Option<String>,
    /// Only this goal's executions (goal id).
    pub goal: Option<String>,
    /// Only executions started at or after this time (ms since the Unix epoch).
    pub since: Option<String>,
    /// Only executions started before this time (ms since the Unix epoch).
    pub until: Option<String>,
    /// Only successes (`true`) or failures (`false`).
    pub success: Option<String>,
    /// Only iterations below this one (the previous page's `next_before`).
    pub before: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    pub limit: Option<String>,
    /// Include each entry's code (`true`/`false`, default false).
    pub include_code: Option<String>,
}

/// Lineage depth parameter.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LineageParams {
    /// Generations to follow each way, 1 to 100 (default 20).
    pub depth: Option<String>,
}

/// Query values arrive as text so that a bad one gets this API's error shape and a clear
/// message, not the framework's.
fn query_int(name: &str, value: Option<&str>, min: i64, max: i64) -> Result<Option<i64>, AppError> {
    let Some(text) = value else { return Ok(None) };
    match text.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(AppError::InvalidRequest(format!("{name} must be a whole number from {min} to {max}, not '{text}'"))),
    }
}

fn query_bool(name: &str, value: Option<&str>) -> Result<Option<bool>, AppError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None => Ok(None),
        Some("true" | "1" | "yes") => Ok(Some(true)),
        Some("false" | "0" | "no") => Ok(Some(false)),
        Some(other) => Err(AppError::InvalidRequest(format!("{name} must be true or false, not '{other}'"))),
    }
}

fn parse_id(name: &str, text: &str) -> Result<i64, AppError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| AppError::InvalidRequest(format!("the {name} must be a whole number, not '{text}'")))
}

fn parse_hash(text: &str) -> Result<Hash, AppError> {
    Hash::from_hex(text).map_err(|_| {
        AppError::InvalidRequest(format!("'{text}' is not a SHA-256 hash (64 hex digits, optionally after sha256:)"))
    })
}

/// Page through the infinite map, newest first, filtered by script, goal, time and outcome.
#[utoipa::path(get, path = "/api/map", tag = "map", params(MapParams),
    responses((status = 200, body = MapPageJson), (status = 401, body = ErrorBody),
        (status = 422, description = "A bad filter value", body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn map_page(
    State(state): State<AppState>,
    Query(params): Query<MapParams>,
) -> Result<Json<MapPageJson>, AppError> {
    let query = MapQuery {
        script: params.script.clone(),
        goal_id: query_int("goal", params.goal.as_deref(), 0, i64::MAX)?,
        since_ms: query_int("since", params.since.as_deref(), i64::MIN, i64::MAX)?,
        until_ms: query_int("until", params.until.as_deref(), i64::MIN, i64::MAX)?,
        success: query_bool("success", params.success.as_deref())?,
        before: query_int("before", params.before.as_deref(), i64::MIN, i64::MAX)?,
        limit: query_int("limit", params.limit.as_deref(), 1, 1000)?.map_or(50, |n| n as usize),
        include_code: query_bool("include_code", params.include_code.as_deref())?.unwrap_or(false),
    };
    let page = state.store()?.run(move |store| Ok(store.map_page(&query)?)).await?;
    Ok(Json(MapPageJson {
        entries: page.entries.into_iter().map(MapEntryJson::from).collect(),
        next_before: page.next_before,
    }))
}

/// One execution, with its code.
#[utoipa::path(get, path = "/api/map/{iteration}", tag = "map", params(("iteration" = i64, Path, description = "The iteration")),
    responses((status = 200, body = MapEntryJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn map_entry(
    State(state): State<AppState>,
    Path(iteration): Path<String>,
) -> Result<Json<MapEntryJson>, AppError> {
    let iteration = parse_id("iteration", &iteration)?;
    let entry = state.store()?.run(move |store| Ok(store.map_entry(iteration, true)?)).await?;
    entry.map(|e| Json(e.into())).ok_or_else(|| AppError::NotFound(format!("no iteration {iteration}")))
}

/// An execution in a lineage.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LineageNodeJson {
    /// 1 for a parent or child, 2 for a grandparent or grandchild, …
    pub depth: u32,
    /// The execution.
    pub entry: MapEntryJson,
}

/// Where an execution comes from and what came of it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LineageJson {
    /// The execution asked about.
    pub entry: MapEntryJson,
    /// Its ancestors, nearest first.
    pub ancestors: Vec<LineageNodeJson>,
    /// Its descendants, nearest first.
    pub descendants: Vec<LineageNodeJson>,
}

/// The lineage of an iteration: ancestors and descendants.
#[utoipa::path(get, path = "/api/map/{iteration}/lineage", tag = "map",
    params(("iteration" = i64, Path, description = "The iteration"), LineageParams),
    responses((status = 200, body = LineageJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn lineage(
    State(state): State<AppState>,
    Path(iteration): Path<String>,
    Query(params): Query<LineageParams>,
) -> Result<Json<LineageJson>, AppError> {
    let iteration = parse_id("iteration", &iteration)?;
    let depth = query_int("depth", params.depth.as_deref(), 1, 100)?.unwrap_or(20) as u32;
    let lineage = state.store()?.run(move |store| Ok(store.lineage(iteration, depth)?)).await?;
    let lineage = lineage.ok_or_else(|| AppError::NotFound(format!("no iteration {iteration}")))?;
    let nodes = |nodes: Vec<gvpie_store::LineageNode>| {
        nodes.into_iter().map(|n| LineageNodeJson { depth: n.depth, entry: n.entry.into() }).collect()
    };
    Ok(Json(LineageJson {
        entry: lineage.entry.into(),
        ancestors: nodes(lineage.ancestors),
        descendants: nodes(lineage.descendants),
    }))
}

fn png_response(png: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")], png)
        .into_response()
}

/// The output image of an execution, as PNG (when the store kept it).
#[utoipa::path(get, path = "/api/map/{iteration}/image", tag = "map",
    params(("iteration" = i64, Path, description = "The iteration")),
    responses((status = 200, description = "The canvas the run drew", content_type = "image/png", body = Vec<u8>),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such iteration, or its image was not kept", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn iteration_image(
    State(state): State<AppState>,
    Path(iteration): Path<String>,
) -> Result<Response, AppError> {
    let iteration = parse_id("iteration", &iteration)?;
    let image = state.store()?.run(move |store| Ok(store.image_of_iteration(iteration)?)).await?;
    match image.and_then(|image| image.png) {
        Some(png) => Ok(png_response(png)),
        None => Err(AppError::NotFound(format!("no image kept for iteration {iteration}"))),
    }
}

/// An image by its hash, as PNG.
#[utoipa::path(get, path = "/api/images/{hash}", tag = "map", params(("hash" = String, Path, description = "SHA-256 of the image")),
    responses((status = 200, content_type = "image/png", body = Vec<u8>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn image(State(state): State<AppState>, Path(hash): Path<String>) -> Result<Response, AppError> {
    let hash = parse_hash(&hash)?;
    let image = state.store()?.run(move |store| Ok(store.image_by_hash(&hash)?)).await?;
    match image.and_then(|image| image.png) {
        Some(png) => Ok(png_response(png)),
        None => Err(AppError::NotFound(format!("no image kept with hash {hash}"))),
    }
}

// ---------------------------------------------------------------------------------------------
// Programs

/// Store a program by its content.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProgramRequest {
    /// PXL source; it must compile.
    pub code: String,
}

/// A stored program.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProgramJson {
    /// SHA-256 of its machine texture: the program's name.
    pub hash: String,
    /// The first source text stored for it.
    pub source: Option<String>,
    /// Instruction records.
    pub n_records: i64,
    /// The distinct mnemonics it uses.
    pub opcodes: Vec<String>,
    /// The program it was derived from.
    pub parent_hash: Option<String>,
    /// The machine texture (`docs/texture.md`), base64.
    pub texture: String,
}

impl From<gvpie_store::ProgramRecord> for ProgramJson {
    fn from(program: gvpie_store::ProgramRecord) -> ProgramJson {
        ProgramJson {
            hash: program.hash.to_hex(),
            source: program.source,
            n_records: program.n_records,
            opcodes: program.opcodes,
            parent_hash: program.parent_hash.map(|h| h.to_hex()),
            texture: base64::engine::general_purpose::STANDARD.encode(&program.texture),
        }
    }
}

/// Compile and store a program; its hash names it from then on (storing it again is harmless).
#[utoipa::path(post, path = "/api/programs", tag = "programs", request_body = NewProgramRequest,
    responses((status = 201, body = ProgramJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "The program does not compile (line and column of the first error)", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub(crate) async fn create_program(
    State(state): State<AppState>,
    AppJson(request): AppJson<NewProgramRequest>,
) -> Result<(StatusCode, Json<ProgramJson>), AppError> {
    check_script_fields(&state, None, Some(&request.code), None)?;
    let program = state
        .store()?
        .run(move |store| {
            let texture = gvpie_pxl::compile(&request.code).map_err(|diagnostics| invalid_program(&diagnostics))?;
            let opcodes = opcodes_of(&request.code);
            let input = ProgramInput::new(
                texture.to_bytes(),
                Some(TextRef::new(request.code.as_str())),
                texture.n_records() as i64,
                opcodes,
            );
            let hash = store.put_program(&input)?;
            store.program_by_hash(&hash)?.ok_or_else(|| AppError::internal("a stored program is missing"))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(program.into())))
}

/// The distinct mnemonics of a source, upper-case, sorted.
fn opcodes_of(source: &str) -> Vec<String> {
    let (parsed, _) = gvpie_pxl::parse(source);
    let mut names: Vec<String> = parsed
        .lines
        .iter()
        .filter_map(|line| line.instr.as_ref())
        .map(|instr| instr.op.info().mnemonic.to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// 422 for a program that does not compile, pointing at its first error.
fn invalid_program(diagnostics: &[gvpie_pxl::Diagnostic]) -> AppError {
    AppError::InvalidProgram {
        message: diagnostics.iter().map(gvpie_pxl::Diagnostic::headline).collect::<Vec<_>>().join("\n"),
        line: diagnostics.first().map_or(0, |d| d.line),
        column: diagnostics.first().map_or(0, |d| d.column),
    }
}

/// A program by its hash.
#[utoipa::path(get, path = "/api/programs/{hash}", tag = "programs", params(("hash" = String, Path, description = "SHA-256 of the texture")),
    responses((status = 200, body = ProgramJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn get_program(
    State(state): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Json<ProgramJson>, AppError> {
    let hash = parse_hash(&hash)?;
    let program = state.store()?.run(move |store| Ok(store.program_by_hash(&hash)?)).await?;
    program.map(|p| Json(p.into())).ok_or_else(|| AppError::NotFound(format!("no program with hash {hash}")))
}

// ---------------------------------------------------------------------------------------------
// Cartridges

/// A registered cartridge.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CartridgeJson {
    /// Row id.
    pub id: i64,
    /// Unique name (`sha256:HEX` when registered without one).
    pub path: String,
    /// The seed's kind (`pixel`).
    pub kind: String,
    /// SHA-256 (hex) of the PNG bytes: the cartridge's content address.
    pub checksum: Option<String>,
    /// Image width.
    pub width: Option<i64>,
    /// Image height.
    pub height: Option<i64>,
    /// When registered.
    pub created_at: Option<String>,
    /// Times the daemon ran it.
    pub executed_count: i64,
    /// Whether its PNG is stored (then `GET /api/cartridges/{key}/png` serves it).
    pub has_png: bool,
}

impl From<gvpie_store::CartridgeEntry> for CartridgeJson {
    fn from(entry: gvpie_store::CartridgeEntry) -> CartridgeJson {
        CartridgeJson {
            id: entry.id,
            path: entry.path,
            kind: entry.kind,
            checksum: entry.checksum,
            width: entry.width,
            height: entry.height,
            created_at: entry.created_at,
            executed_count: entry.executed_count,
            has_png: entry.has_png,
        }
    }
}

/// The cartridges.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CartridgeList {
    /// Every registered cartridge.
    pub cartridges: Vec<CartridgeJson>,
}

/// Register a cartridge.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCartridgeRequest {
    /// The cartridge PNG (`gvpie cart pack`), base64.
    pub cartridge: String,
    /// A unique name (letters, digits, `._-`); default `sha256:HEX` of the bytes.
    #[serde(default)]
    pub path: Option<String>,
}

/// Every registered cartridge.
#[utoipa::path(get, path = "/api/cartridges", tag = "cartridges",
    responses((status = 200, body = CartridgeList), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn list_cartridges(State(state): State<AppState>) -> Result<Json<CartridgeList>, AppError> {
    let entries = state.store()?.run(|store| Ok(store.list_cartridges()?)).await?;
    Ok(Json(CartridgeList { cartridges: entries.into_iter().map(CartridgeJson::from).collect() }))
}

/// Register a cartridge (content-addressed: the same PNG is stored once).
#[utoipa::path(post, path = "/api/cartridges", tag = "cartridges", request_body = NewCartridgeRequest,
    responses((status = 201, body = CartridgeJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "Not base64, not a gvpie cartridge, or the path is taken by other bytes", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub(crate) async fn create_cartridge(
    State(state): State<AppState>,
    AppJson(request): AppJson<NewCartridgeRequest>,
) -> Result<(StatusCode, Json<CartridgeJson>), AppError> {
    if let Some(path) = &request.path {
        let valid = !path.is_empty()
            && path.len() <= 200
            && path.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !valid {
            return Err(AppError::InvalidRequest("path must be 1 to 200 letters, digits, '.', '_' or '-'".to_string()));
        }
    }
    let max_code_bytes = state.limits().max_code_bytes;
    let entry = state
        .store()?
        .run(move |store| {
            let png = base64::engine::general_purpose::STANDARD
                .decode(request.cartridge.trim())
                .map_err(|err| AppError::InvalidRequest(format!("cartridge is not valid base64: {err}")))?;
            let cartridge = gvpie_cart::unpack(&png)
                .map_err(|err| AppError::InvalidRequest(format!("cartridge is not a gvpie cartridge: {err}")))?;
            if cartridge.source.len() > max_code_bytes {
                return Err(AppError::PayloadTooLarge(format!(
                    "the cartridge's program is {} bytes; this server's limit is {max_code_bytes}",
                    cartridge.source.len()
                )));
            }
            let new = NewCartridge {
                path: request.path.as_deref(),
                png: &png,
                width: Some(cartridge.screen.width()),
                height: Some(cartridge.screen.height()),
                parent_id: None,
            };
            Ok(store.put_cartridge(&new)?)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(entry.into())))
}

/// A cartridge by its path or its checksum (`sha256:HEX` or bare hex).
#[utoipa::path(get, path = "/api/cartridges/{key}", tag = "cartridges",
    params(("key" = String, Path, description = "The cartridge's path, or its checksum")),
    responses((status = 200, body = CartridgeJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub(crate) async fn get_cartridge(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<CartridgeJson>, AppError> {
    let lookup = key.clone();
    let entry = state.store()?.run(move |store| Ok(store.cartridge(&lookup)?)).await?;
    entry.map(|e| Json(e.into())).ok_or_else(|| AppError::NotFound(format!("no cartridge '{key}'")))
}

/// A cartridge's PNG.
#[utoipa::path(get, path = "/api/cartridges/{key}/png", tag = "cartridges",
    params(("key" = String, Path, description = "The cartridge's path, or its checksum")),
    responses((status = 200, content_type = "image/png", body = Vec<u8>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn cartridge_png(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, AppError> {
    let lookup = key.clone();
    let found = state.store()?.run(move |store| Ok(store.cartridge_png(&lookup)?)).await?;
    found.map(|(_, png)| png_response(png)).ok_or_else(|| AppError::NotFound(format!("no cartridge PNG '{key}'")))
}

// ---------------------------------------------------------------------------------------------
// Goals and summary

/// A development goal (the seed's `development_goals`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GoalJson {
    /// Row id.
    pub id: i64,
    /// What it asks for.
    pub goal: String,
    /// Higher first.
    pub priority: i64,
    /// Done.
    pub completed: bool,
    /// Its kind (for the improvement engine).
    pub kind: String,
    /// Its status.
    pub status: String,
    /// The best execution so far.
    pub best_iteration: Option<i64>,
    /// Its score.
    pub best_score: Option<f64>,
    /// When it was added.
    pub created_at: Option<String>,
}

impl From<gvpie_store::Goal> for GoalJson {
    fn from(goal: gvpie_store::Goal) -> GoalJson {
        GoalJson {
            id: goal.id,
            goal: goal.goal,
            priority: goal.priority,
            completed: goal.completed,
            kind: goal.kind,
            status: goal.status,
            best_iteration: goal.best_iteration,
            best_score: goal.best_score,
            created_at: goal.created_at,
        }
    }
}

/// The goals.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GoalList {
    /// Every goal.
    pub goals: Vec<GoalJson>,
}

/// Every development goal.
#[utoipa::path(get, path = "/api/goals", tag = "map",
    responses((status = 200, body = GoalList), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn list_goals(State(state): State<AppState>) -> Result<Json<GoalList>, AppError> {
    let goals = state.store()?.run(|store| Ok(store.list_goals()?)).await?;
    Ok(Json(GoalList { goals: goals.into_iter().map(GoalJson::from).collect() }))
}

/// A goal with its engine's spec (budget, stop rules, progress) and last change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GoalDetailJson {
    /// The goal.
    #[serde(flatten)]
    pub goal: GoalJson,
    /// The improvement engine's parameters: the budget and stop rules, the progress so far
    /// (steps, evaluations, seconds, stop reason), and for optimize goals the original program.
    #[schema(value_type = Option<Object>)]
    pub spec: Option<serde_json::Value>,
    /// When it was completed.
    pub completed_at: Option<String>,
    /// Last change.
    pub updated_at: Option<String>,
}

impl From<gvpie_store::Goal> for GoalDetailJson {
    fn from(goal: gvpie_store::Goal) -> GoalDetailJson {
        let (spec, completed_at, updated_at) = (goal.spec.clone(), goal.completed_at.clone(), goal.updated_at.clone());
        GoalDetailJson { goal: GoalJson::from(goal), spec, completed_at, updated_at }
    }
}

/// A goal to add: `kind` `optimize` with `script`, or `image` with `target_png`; the budget
/// and stop rules are those of `gvpie goals add`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGoalRequest {
    /// `optimize` or `image`.
    pub kind: String,
    /// Optimize: the pixel script's name.
    #[serde(default)]
    pub script: Option<String>,
    /// Optimize: canvas width the pixels are compared at (default 128).
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 4096)]
    pub width: Option<u32>,
    /// Optimize: canvas height (default 64).
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 4096)]
    pub height: Option<u32>,
    /// Optimize: cycle budget of the original (default: the server's default budget).
    #[serde(default)]
    #[schema(value_type = Option<u64>, minimum = 1)]
    pub cycle_budget: Option<u64>,
    /// Image: the target, a base64 PNG, used at its own size (the program's canvas).
    #[serde(default)]
    pub target_png: Option<String>,
    /// Image: shapes to place (default 100).
    #[serde(default)]
    #[schema(value_type = Option<u64>, minimum = 1)]
    pub shapes: Option<usize>,
    /// Image: `tri` (default), `rect` or `both`.
    #[serde(default)]
    pub mode: Option<String>,
    /// Image: alpha of every shape (1 to 255), or 0 to solve it per shape (default 128).
    #[serde(default)]
    pub alpha: Option<u8>,
    /// Image: `cascade` (default: many climbers on a reduced canvas, scored on the GPU when the daemon has one),
    /// `fast` or `plain`.
    #[serde(default)]
    pub strategy: Option<String>,
    /// Image, cascade: the effort preset, `cpu` or `gpu` (default: the preset of the daemon's scorer).
    #[serde(default)]
    pub effort: Option<String>,
    /// Stop after this many seconds of search.
    #[serde(default)]
    pub seconds: Option<f64>,
    /// Stop after this many candidate evaluations.
    #[serde(default)]
    pub evaluations: Option<u64>,
    /// Stop once the score is at most this (image: RMSE 0..1; optimize: cycles).
    #[serde(default)]
    pub target_score: Option<f64>,
    /// Stop after this many steps in a row without a better score.
    #[serde(default)]
    pub patience: Option<u64>,
    /// The goal's description (default: what it asks for).
    #[serde(default)]
    pub name: Option<String>,
    /// Priority, higher first (default 5).
    #[serde(default)]
    pub priority: Option<i64>,
    /// Seed of the search (default 1).
    #[serde(default)]
    pub seed: Option<u64>,
}

/// Pause or resume a goal.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalPatch {
    /// `paused` or `active`.
    pub status: String,
}

fn goal_error(err: gvpie_daemon::NewGoalError) -> AppError {
    match err {
        gvpie_daemon::NewGoalError::Invalid(message) => AppError::InvalidRequest(message),
        gvpie_daemon::NewGoalError::Store(err) => err.into(),
    }
}

fn refuse_fields(kind: &str, fields: &[(&str, bool)]) -> Result<(), AppError> {
    match fields.iter().find(|(_, present)| *present) {
        Some((field, _)) => Err(AppError::InvalidRequest(format!("{field} does not apply to {kind} goals"))),
        None => Ok(()),
    }
}

fn image_target(state: &AppState, base64_png: &str) -> Result<gvpie_raster::Canvas, AppError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64_png.trim())
        .map_err(|e| AppError::InvalidRequest(format!("target_png is not base64: {e}")))?;
    let canvas = gvpie_cart::decode_png(&bytes).map_err(|e| match e {
        gvpie_cart::CartError::TooLarge { .. } => AppError::LimitExceeded(format!("target_png: {e}")),
        other => AppError::InvalidRequest(format!("target_png is not a PNG this server can read: {other}")),
    })?;
    let limits = state.limits();
    let (width, height) = (canvas.width(), canvas.height());
    if width.max(height) > limits.max_side || u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(AppError::LimitExceeded(format!(
            "target_png is {width}x{height}; this server allows at most {} a side and {} pixels",
            limits.max_side, limits.max_pixels
        )));
    }
    Ok(canvas)
}

/// Add a goal for the daemon's improvement engine (what `gvpie goals add` does).
#[utoipa::path(post, path = "/api/goals", tag = "map", request_body = NewGoalRequest,
    responses(
        (status = 201, description = "Created", body = GoalDetailJson),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "Unknown kind or script, a PNG that does not decode, a bad number", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub(crate) async fn create_goal(
    State(state): State<AppState>,
    AppJson(request): AppJson<NewGoalRequest>,
) -> Result<(StatusCode, Json<GoalDetailJson>), AppError> {
    let options = gvpie_daemon::GoalOptions {
        name: request.name.clone(),
        priority: request.priority.unwrap_or(5),
        seed: request.seed.unwrap_or(1),
        budget: gvpie_daemon::GoalBudget {
            seconds: request.seconds,
            evaluations: request.evaluations,
            target_score: request.target_score,
            patience: request.patience,
        },
    };
    options.check().map_err(goal_error)?;
    let goal = match request.kind.as_str() {
        "image" => {
            refuse_fields(
                "image",
                &[
                    ("script", request.script.is_some()),
                    ("width", request.width.is_some()),
                    ("height", request.height.is_some()),
                    ("cycle_budget", request.cycle_budget.is_some()),
                ],
            )?;
            let defaults = gvpie_daemon::ImageGoalParams::default();
            let params = gvpie_daemon::ImageGoalParams {
                shapes: request.shapes.unwrap_or(defaults.shapes),
                mode: request.mode.unwrap_or(defaults.mode),
                alpha: request.alpha.unwrap_or(defaults.alpha),
                threads: 1,
                strategy: request.strategy.unwrap_or(defaults.strategy),
                effort: request.effort,
            };
            params.check().map_err(goal_error)?;
            let png = request
                .target_png
                .ok_or_else(|| AppError::InvalidRequest("an image goal needs target_png (a base64 PNG)".into()))?;
            let target = image_target(&state, &png)?;
            let label = format!("a {}x{} image", target.width(), target.height());
            state
                .store()?
                .run(move |store| {
                    gvpie_daemon::add_image_goal(store, &target, &label, &params, &options).map_err(goal_error)
                })
                .await?
        }
        "optimize" => {
            refuse_fields(
                "optimize",
                &[
                    ("target_png", request.target_png.is_some()),
                    ("shapes", request.shapes.is_some()),
                    ("mode", request.mode.is_some()),
                    ("alpha", request.alpha.is_some()),
                    ("strategy", request.strategy.is_some()),
                    ("effort", request.effort.is_some()),
                ],
            )?;
            let script = request
                .script
                .ok_or_else(|| AppError::InvalidRequest("an optimize goal needs script (a script's name)".into()))?;
            let limits = state.limits();
            let (width, height) = (request.width.unwrap_or(128), request.height.unwrap_or(64));
            if width == 0 || height == 0 {
                return Err(AppError::InvalidRequest(format!("size {width}x{height}: both sides must be at least 1")));
            }
            if width.max(height) > limits.max_side || u64::from(width) * u64::from(height) > limits.max_pixels {
                return Err(AppError::LimitExceeded(format!(
                    "size {width}x{height}; this server allows at most {} a side and {} pixels",
                    limits.max_side, limits.max_pixels
                )));
            }
            let cycle_budget = request.cycle_budget.unwrap_or(limits.default_budget);
            if cycle_budget == 0 {
                return Err(AppError::InvalidRequest("cycle_budget must be at least 1".into()));
            }
            if cycle_budget > limits.max_budget {
                return Err(AppError::LimitExceeded(format!(
                    "cycle_budget is {cycle_budget}; this server allows at most {}",
                    limits.max_budget
                )));
            }
            let params = gvpie_daemon::OptimizeGoalParams { script, width, height, cycle_budget };
            state
                .store()?
                .run(move |store| gvpie_daemon::add_optimize_goal(store, &params, &options).map_err(goal_error))
                .await?
        }
        other => {
            return Err(AppError::InvalidRequest(format!("unknown goal kind '{other}' (expected image or optimize)")));
        }
    };
    Ok((StatusCode::CREATED, Json(GoalDetailJson::from(goal))))
}

/// One goal: its spec, budget, stop rules, progress and best result.
#[utoipa::path(get, path = "/api/goals/{id}", tag = "map", params(("id" = i64, Path, description = "Goal id")),
    responses((status = 200, body = GoalDetailJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn get_goal(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<GoalDetailJson>, AppError> {
    let id = parse_id("goal id", &id)?;
    let goal = state.store()?.run(move |store| Ok(store.goal(id)?)).await?;
    let goal = goal.ok_or_else(|| AppError::NotFound(format!("no goal with id {id}")))?;
    Ok(Json(GoalDetailJson::from(goal)))
}

/// Pause (`{"status": "paused"}`) or resume (`{"status": "active"}`) a goal; its progress stays.
#[utoipa::path(patch, path = "/api/goals/{id}", tag = "map", params(("id" = i64, Path, description = "Goal id")),
    request_body = GoalPatch,
    responses((status = 200, body = GoalDetailJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "Another status, or resuming a goal that is done", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub(crate) async fn update_goal(
    State(state): State<AppState>,
    Path(id): Path<String>,
    AppJson(patch): AppJson<GoalPatch>,
) -> Result<Json<GoalDetailJson>, AppError> {
    let id = parse_id("goal id", &id)?;
    let status = patch.status;
    if !["paused", "active"].contains(&status.as_str()) {
        return Err(AppError::InvalidRequest(format!("status '{status}': expected paused or active")));
    }
    let goal = state
        .store()?
        .run(move |store| {
            let goal = store.goal(id)?.ok_or_else(|| AppError::NotFound(format!("no goal with id {id}")))?;
            if status == "active" && goal.status == "done" {
                return Err(AppError::InvalidRequest(format!("goal {id} is done; add a new goal to go further")));
            }
            let update = gvpie_store::GoalUpdate { status: Some(status), ..gvpie_store::GoalUpdate::default() };
            Ok(store.update_goal(id, &update)?)
        })
        .await?;
    Ok(Json(GoalDetailJson::from(goal)))
}

/// A language model's proposal for a goal and what became of it (`llm_proposals`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProposalJson {
    /// Row id (increasing).
    pub id: i64,
    /// The goal.
    pub goal_id: i64,
    /// When it was recorded (Unix milliseconds).
    pub created_ms: i64,
    /// `llm:MODEL`.
    pub generator: String,
    /// `adopted`, `refused` (a valid program, not better), `rejected` (not a usable program for the goal) or
    /// `unavailable` (the request failed).
    pub outcome: String,
    /// Why it was refused or rejected.
    pub reason: Option<String>,
    /// The program, or the raw reply when no program could be read (at most 64 KiB).
    pub source: Option<String>,
    /// Its score when it was evaluated (optimize: cycles; image: RMSE).
    pub score: Option<f64>,
    /// The execution kept when adopted.
    pub iteration: Option<i64>,
}

impl From<gvpie_store::LlmProposal> for ProposalJson {
    fn from(p: gvpie_store::LlmProposal) -> ProposalJson {
        ProposalJson {
            id: p.id,
            goal_id: p.goal_id,
            created_ms: p.created_ms,
            generator: p.generator,
            outcome: p.outcome,
            reason: p.reason,
            source: p.source,
            score: p.score,
            iteration: p.iteration,
        }
    }
}

/// A goal's language-model proposals, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProposalList {
    /// The proposals.
    pub proposals: Vec<ProposalJson>,
}

/// How many proposals.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProposalParams {
    /// At most this many, 1 to 1000 (default 50).
    pub limit: Option<String>,
}

/// A goal's last language-model proposals, newest first, whatever became of them.
#[utoipa::path(get, path = "/api/goals/{id}/proposals", tag = "map",
    params(("id" = i64, Path, description = "Goal id"), ProposalParams),
    responses((status = 200, body = ProposalList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn goal_proposals(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<ProposalParams>,
) -> Result<Json<ProposalList>, AppError> {
    let id = parse_id("goal id", &id)?;
    let limit = query_int("limit", params.limit.as_deref(), 1, 1000)?.unwrap_or(50) as usize;
    let proposals = state
        .store()?
        .run(move |store| {
            store.goal(id)?.ok_or_else(|| AppError::NotFound(format!("no goal with id {id}")))?;
            Ok(store.llm_proposals(id, limit)?)
        })
        .await?;
    Ok(Json(ProposalList { proposals: proposals.into_iter().map(ProposalJson::from).collect() }))
}

/// Counts over the whole memory.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SummaryJson {
    /// Executions recorded.
    pub executions: i64,
    /// Successful ones.
    pub successes: i64,
    /// The newest iteration.
    pub last_iteration: Option<i64>,
    /// Daemon cycles committed.
    pub daemon_cycles: i64,
    /// Scripts.
    pub scripts: i64,
    /// Enabled scripts.
    pub enabled_scripts: i64,
    /// Distinct programs.
    pub programs: i64,
    /// Distinct output images.
    pub images: i64,
    /// Images whose PNG is kept.
    pub images_kept: i64,
    /// Cartridges registered.
    pub cartridges: i64,
}

/// How much the memory holds.
#[utoipa::path(get, path = "/api/summary", tag = "map",
    responses((status = 200, body = SummaryJson), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn summary(State(state): State<AppState>) -> Result<Json<SummaryJson>, AppError> {
    let summary = state.store()?.run(|store| Ok(store.summary()?)).await?;
    Ok(Json(SummaryJson {
        executions: summary.executions,
        successes: summary.successes,
        last_iteration: summary.last_iteration,
        daemon_cycles: summary.daemon_cycles,
        scripts: summary.scripts,
        enabled_scripts: summary.enabled_scripts,
        programs: summary.programs,
        images: summary.images,
        images_kept: summary.images_kept,
        cartridges: summary.cartridges,
    }))
}
