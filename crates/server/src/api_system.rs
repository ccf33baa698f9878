//! `GET /health`, `GET /metrics` and `GET /api/openapi.json`: the endpoints about the server
//! itself rather than about programs.
//!
//! `/health` is the only endpoint that answers without a token. None of these touch the
//! store or take an execution slot.

use std::sync::OnceLock;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ErrorBody;
use crate::metrics::Gauges;
use crate::state::AppState;

/// The answer of `GET /health`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `healthy` when the server answers.
    #[schema(example = "healthy")]
    pub status: String,
    /// The server's version.
    pub version: String,
    /// Backends that can run programs here: `cpu`, and `gpu` when an adapter was found.
    pub backends: Vec<String>,
    /// The GPU adapter's name, when there is a GPU backend.
    pub gpu_adapter: Option<String>,
    /// Seconds since the server started.
    pub uptime_seconds: f64,
}

/// Is the server up, which backends does it have.
#[utoipa::path(
    get,
    path = "/health",
    tag = "system",
    security(()),
    responses((status = 200, description = "The server is up (no token needed)", body = Health))
)]
pub(crate) async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "healthy".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        backends: state.engine().backends().into_iter().map(str::to_string).collect(),
        gpu_adapter: state.engine().gpu_adapter().map(str::to_string),
        uptime_seconds: state.started().elapsed().as_secs_f64(),
    })
}

/// Counters in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "system",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4: executions by backend and outcome, errors by kind, \
            the execution-duration histogram, queue depth, executions in flight, refusals under load",
            content_type = "text/plain; version=0.0.4", body = String),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
    )
)]
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let gate = state.gate();
    let gauges = Gauges {
        queue_depth: gate.queue_depth(),
        in_flight: gate.in_flight(),
        capacity: gate.capacity(),
        uptime: state.started().elapsed(),
        event_subscribers: state.events().n_subscribers(),
    };
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics().render(&gauges))
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "system",
    responses(
        (status = 200, description = "The OpenAPI document of every endpoint, generated from the server's types",
            content_type = "application/json", body = Object),
        (status = 401, description = "Missing or wrong token", body = ErrorBody),
    )
)]
pub(crate) async fn openapi_json() -> impl IntoResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let document = DOCUMENT.get_or_init(|| crate::openapi().to_pretty_json().unwrap_or_else(|_| "{}".to_string()));
    ([(header::CONTENT_TYPE, "application/json")], document.as_str())
}
