//! `/api/goals`: development goals (the seed's `development_goals`) for the improvement engine,
//! and each goal's language-model proposals.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use gvpie_evolve::goal::GoalDraft;
use gvpie_evolve::{GoalOptions, ImageGoalParams, ImageGoalSpec, OptimizeGoalParams, OptimizeGoalSpec, StopRules};
use gvpie_store::{Goal, LlmProposal, NewGoal, NewImage};

use super::{parse_id, query_int};
use crate::error::{AppError, ErrorBody};
use crate::json::AppJson;
use crate::limits::Limits;
use crate::state::AppState;

/// The goals.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GoalList {
    /// Every goal, in the one shape of a goal (`gvpie goals list --json` prints the same objects).
    pub goals: Vec<Goal>,
}

/// Every development goal.
#[utoipa::path(get, path = "/api/goals", tag = "map",
    responses((status = 200, body = GoalList), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn list_goals(State(state): State<AppState>) -> Result<Json<GoalList>, AppError> {
    let goals = state.store()?.run(|store| Ok(store.list_goals()?)).await?;
    Ok(Json(GoalList { goals }))
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
    /// Optimize: canvas width the pixels are compared at (default: the width the script declares with `SIZE`, else
    /// 128).
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 4096)]
    pub width: Option<u32>,
    /// Optimize: canvas height (default: the height the script declares, else 64).
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
    /// Image: alpha of every shape (1 to 255), or 0 to solve it per shape (the default).
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

fn refuse_fields(kind: &str, fields: &[(&str, bool)]) -> Result<(), AppError> {
    match fields.iter().find(|(_, present)| *present) {
        Some((field, _)) => Err(AppError::InvalidRequest(format!("{field} does not apply to {kind} goals"))),
        None => Ok(()),
    }
}

/// One of the engine's named settings (`tri`, `cascade`, `gpu`, ...), refused with the expected names.
fn named<T: std::str::FromStr<Err = String>>(value: Option<String>) -> Result<Option<T>, AppError> {
    value.map(|text| text.parse().map_err(AppError::InvalidRequest)).transpose()
}

/// The row of a drafted goal.
fn new_goal(draft: GoalDraft) -> NewGoal {
    NewGoal { goal: draft.goal, priority: draft.priority, kind: draft.kind.name().to_string(), spec: Some(draft.spec) }
}

fn image_target(limits: &Limits, base64_png: &str) -> Result<gvpie_raster::Canvas, AppError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64_png.trim())
        .map_err(|e| AppError::InvalidRequest(format!("target_png is not base64: {e}")))?;
    let canvas = gvpie_cart::decode_png(&bytes).map_err(|e| match e {
        gvpie_cart::CartError::TooLarge { .. } => AppError::LimitExceeded(format!("target_png: {e}")),
        other => AppError::InvalidRequest(format!("target_png is not a PNG this server can read: {other}")),
    })?;
    let (width, height) = (canvas.width(), canvas.height());
    if width.max(height) > limits.max_side || u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(AppError::LimitExceeded(format!(
            "target_png is {width}x{height}; this server allows at most {} a side and {} pixels",
            limits.max_side, limits.max_pixels
        )));
    }
    Ok(canvas)
}

/// Runs an optimize goal's script on the CPU under `stop` (the server's time limit): refused
/// with `time_limit` when it does not end in time. A script that does not compile, traps or
/// runs out of budget is left for [`OptimizeGoalSpec::new`] to report.
fn check_halts_in_time(
    engine: &gvpie_exec::Engine,
    source: &str,
    params: &OptimizeGoalParams,
    stop: &gvpie_exec::Stop,
) -> Result<(), AppError> {
    let Ok(texture) = gvpie_pxl::compile(source) else { return Ok(()) };
    let config =
        gvpie_pxl::Config { width: params.width, height: params.height, budget: params.cycle_budget, max_frames: 0 };
    let outcome = engine
        .execute_until(&texture, &config, gvpie_exec::BackendChoice::Cpu, stop)
        .map_err(|err| AppError::LimitExceeded(err.to_string()))?;
    match outcome.stopped {
        None => Ok(()),
        Some(_) => Err(AppError::TimeLimit(format!(
            "script '{}' did not finish within this server's time limit ({} cycles ran in {} ms); an optimize \
             goal's script must run to its end once to be the reference: lower cycle_budget or the canvas size",
            params.script,
            outcome.result.cycles,
            outcome.duration.as_millis()
        ))),
    }
}

/// Add a goal for the daemon's improvement engine (what `gvpie goals add` does).
#[utoipa::path(post, path = "/api/goals", tag = "map", request_body = NewGoalRequest,
    responses(
        (status = 201, description = "Created", body = Goal),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "Unknown kind or script, a PNG that does not decode, a bad number, or \
            (time_limit) an optimize goal's script that does not end within the server's time limit", body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn create_goal(
    State(state): State<AppState>,
    AppJson(request): AppJson<NewGoalRequest>,
) -> Result<(StatusCode, Json<Goal>), AppError> {
    let options = GoalOptions {
        name: request.name.clone(),
        priority: request.priority.unwrap_or(5),
        seed: request.seed.unwrap_or(1),
        stop: StopRules {
            seconds: request.seconds,
            evaluations: request.evaluations,
            target_score: request.target_score,
            patience: request.patience,
        },
    };
    options.check().map_err(AppError::InvalidRequest)?;
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
            let defaults = ImageGoalParams::default();
            let params = ImageGoalParams {
                shapes: request.shapes.unwrap_or(defaults.shapes),
                mode: named(request.mode)?.unwrap_or(defaults.mode),
                alpha: request.alpha.unwrap_or(defaults.alpha),
                threads: 1,
                strategy: named(request.strategy)?.unwrap_or(defaults.strategy),
                effort: named(request.effort)?,
            };
            params.check().map_err(AppError::InvalidRequest)?;
            let png = request
                .target_png
                .ok_or_else(|| AppError::InvalidRequest("an image goal needs target_png (a base64 PNG)".into()))?;
            // Decoding and hashing are work: under the gate, off the async workers.
            let limits = state.limits().clone();
            let (spec, image) = crate::jobs::gated(&state, move |_stop| {
                let target = image_target(&limits, &png)?;
                let (width, height) = (target.width(), target.height());
                let hash = gvpie_store::image_hash(width, height, &target.to_rgba8());
                let spec = ImageGoalSpec::new(hash.to_hex(), width, height, &params, &options)
                    .map_err(AppError::InvalidRequest)?;
                let image = NewImage { hash, width, height, png: Some(gvpie_cart::encode_png(&target, 1)) };
                let draft = spec.draft(&format!("a {width}x{height} image"), &options);
                Ok::<_, AppError>((draft, image))
            })
            .await?;
            state.store()?.run(move |store| Ok(store.add_goal(&new_goal(spec), Some(&image))?)).await?
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
            let name = script.clone();
            let source = state.store()?.run(move |store| Ok(store.pixel_script_source(&name)?)).await?;
            // Compared at the size asked for, else the size the script declares (`SIZE`), else 128x64.
            // One scan for the SIZE line (the same answer as compiling; compiling is work, done under the gate below).
            let declared = gvpie_pxl::declared_size(&source).unwrap_or((128, 64));
            let (width, height) = (request.width.unwrap_or(declared.0), request.height.unwrap_or(declared.1));
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
            let params = OptimizeGoalParams { script, width, height, cycle_budget };
            // The original runs once to be the reference: outside the store's pool, under the gate,
            // and first through the engine under the time limit, so a script that runs too long
            // (up to the budget ceiling) is refused instead of holding a thread.
            let engine = state.engine().clone();
            let draft = crate::jobs::gated(&state, move |stop| {
                check_halts_in_time(&engine, &source, &params, stop)?;
                let spec = OptimizeGoalSpec::new(source, &params, &options).map_err(AppError::InvalidRequest)?;
                Ok::<_, AppError>(spec.draft(&options))
            })
            .await?;
            state.store()?.run(move |store| Ok(store.add_goal(&new_goal(draft), None)?)).await?
        }
        other => {
            return Err(AppError::InvalidRequest(format!("unknown goal kind '{other}' (expected image or optimize)")));
        }
    };
    Ok((StatusCode::CREATED, Json(goal)))
}

/// One goal: its spec, budget, stop rules, progress and best result.
#[utoipa::path(get, path = "/api/goals/{id}", tag = "map", params(("id" = i64, Path, description = "Goal id")),
    responses((status = 200, body = Goal), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn get_goal(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Goal>, AppError> {
    let id = parse_id("goal id", &id)?;
    let goal = state.store()?.run(move |store| Ok(store.goal(id)?)).await?;
    let goal = goal.ok_or_else(|| AppError::NotFound(format!("no goal with id {id}")))?;
    Ok(Json(goal))
}

/// Pause (`{"status": "paused"}`) or resume (`{"status": "active"}`) a goal; its progress stays.
#[utoipa::path(patch, path = "/api/goals/{id}", tag = "map", params(("id" = i64, Path, description = "Goal id")),
    request_body = GoalPatch,
    responses((status = 200, body = Goal), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "Another status, or resuming a goal that is done", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub(crate) async fn update_goal(
    State(state): State<AppState>,
    Path(id): Path<String>,
    AppJson(patch): AppJson<GoalPatch>,
) -> Result<Json<Goal>, AppError> {
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
    Ok(Json(goal))
}

/// A goal's language-model proposals, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProposalList {
    /// The proposals.
    pub proposals: Vec<LlmProposal>,
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
    Ok(Json(ProposalList { proposals }))
}
