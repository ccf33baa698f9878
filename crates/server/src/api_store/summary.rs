//! `/api/summary`: counts over the whole memory.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

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
