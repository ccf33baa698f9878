//! `/api/scripts`: the improvement scripts the daemon runs (the seed's `improvement_scripts`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use gvpie_store::{NewScript, ScriptUpdate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::parse_id;
use crate::error::{AppError, ErrorBody};
use crate::json::AppJson;
use crate::state::AppState;

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
    /// When it was archived (`DELETE /api/scripts/{id}`): hidden from the list, never run, its
    /// executions kept. Absent for a live script.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub archived_at: Option<String>,
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
            archived_at: script.archived_at,
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

pub(super) fn check_script_fields(
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

/// Which scripts the list shows.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScriptListQuery {
    /// `true` includes archived scripts (default `false`: they are hidden).
    pub archived: Option<String>,
}

/// Every improvement script (archived ones only with `archived=true`).
#[utoipa::path(get, path = "/api/scripts", tag = "scripts", params(ScriptListQuery),
    responses((status = 200, body = ScriptList), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub(crate) async fn list_scripts(
    State(state): State<AppState>,
    Query(query): Query<ScriptListQuery>,
) -> Result<Json<ScriptList>, AppError> {
    let with_archived = match query.archived.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(AppError::InvalidRequest(format!("archived must be true or false, not '{other}'"))),
    };
    let scripts = state.store()?.run(|store| Ok(store.list_scripts()?)).await?;
    let scripts = scripts.into_iter().filter(|s| with_archived || s.archived_at.is_none());
    Ok(Json(ScriptList { scripts: scripts.map(|s| ScriptJson::from_store(s, false)).collect() }))
}

/// Archive a script: a soft delete. It is disabled for good, hidden from `GET /api/scripts`, and
/// its row stays, so every execution it made stays in the infinite map and replayable. Archiving
/// an archived script changes nothing.
#[utoipa::path(delete, path = "/api/scripts/{id}", tag = "scripts", params(("id" = i64, Path, description = "Script id")),
    responses((status = 200, description = "Archived", body = ScriptJson), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub(crate) async fn archive_script(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ScriptJson>, AppError> {
    let id = parse_id("script id", &id)?;
    let script = state
        .store()?
        .run(move |store| {
            if store.script(id)?.is_none() {
                return Err(AppError::NotFound(format!("no script with id {id}")));
            }
            Ok(store.archive_script(id)?)
        })
        .await?;
    Ok(Json(ScriptJson::from_store(script, true)))
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
