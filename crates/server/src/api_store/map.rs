//! `/api/map`: the infinite map, every execution newest first, one execution and its lineage.

use axum::Json;
use axum::extract::{Path, Query, State};
use gvpie_store::MapQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{parse_id, query_bool, query_int};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

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
    /// The agent (daemon) that recorded it; null for records of the API or `gvpie evolve`.
    pub agent: Option<String>,
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
            agent: entry.agent,
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
