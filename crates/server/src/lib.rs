//! The gvpie runtime API: an HTTP server (axum) that runs PXL programs and serves what the
//! daemon remembers, with one typed contract for every client.
//!
//! # Brief overview
//!
//! [`app`] builds the whole [`axum::Router`] from an [`AppState`] (the [`gvpie_exec::Engine`],
//! the [`Limits`], the optional token and the [`EventBus`]); [`serve`] runs it on a socket
//! until a shutdown signal. [`openapi`] returns the OpenAPI document generated from the same
//! route registrations and types, also served at `GET /api/openapi.json`.
//!
//! With a [`StorePool`] ([`AppState::with_store`]) it also serves the daemon's memory: scripts,
//! the infinite map and its lineage, images, content-addressed programs and cartridges. The
//! [`EventBus`] carries [`Event`]s to `GET /api/events` (Server-Sent Events): the API's own
//! executions, and the daemon's events when `gvpie up` runs both in one process
//! ([`Event::from_daemon_json`]).
//!
//! Every failure is an [`AppError`], answered as `{"error": {"kind", "message", "line"?,
//! "column"?}}` ([`ErrorBody`]) with a 4xx status for the caller's mistakes; internal details
//! are logged, never sent. Executions pass an admission gate (bounded concurrency, bounded
//! queue, 429/503 with `Retry-After`) and run under a wall-clock time limit: small programs on
//! the async worker for at most about 50 µs, the rest on blocking threads in slices. With a
//! token, every request except `GET /health` needs `Authorization: Bearer TOKEN`;
//! [`check_bind`] refuses non-loopback addresses without one. `docs/api.md` describes the
//! endpoints for users.
//!
//! This crate does not parse command lines or run the daemon, and it touches a database only
//! through the [`StorePool`] it is given (SQL lives in `gvpie-store`); the `gvpie` CLI wires
//! these together (`gvpie serve`, `gvpie up`).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//!
//! use axum::body::Body;
//! use axum::http::{Request, StatusCode};
//! use gvpie_exec::Engine;
//! use gvpie_server::{AppState, app};
//! use tower::ServiceExt;
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! runtime.block_on(async {
//!     let router = app(AppState::new(Arc::new(Engine::cpu_only())));
//!     let request = Request::post("/api/execute")
//!         .header("content-type", "application/json")
//!         .body(Body::from(r#"{"code": "TXT 10 10 Hello GPU\nHALT", "backend": "CPU"}"#))?;
//!     let response = router.oneshot(request).await?;
//!     assert_eq!(response.status(), StatusCode::OK);
//!     Ok(())
//! })
//! # .map_err(|e: Box<dyn std::error::Error>| e)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub use crate::api_execute::{BatchProgram, BatchRequest, BatchResponse, ExecuteRequest, ExecuteResponse, ImageKind};
pub use crate::api_store::agents::{AgentJson, AgentList};
pub use crate::api_store::cartridges::{CartridgeJson, CartridgeList, NewCartridgeRequest};
pub use crate::api_store::goals::GoalList;
pub use crate::api_store::map::{LineageJson, LineageNodeJson, MapEntryJson, MapPageJson};
pub use crate::api_store::programs::{NewProgramRequest, ProgramJson};
pub use crate::api_store::scripts::{NewScriptRequest, ScriptJson, ScriptList, ScriptPatch};
pub use crate::api_store::summary::SummaryJson;
pub use crate::api_system::Health;
pub use crate::app::{app, openapi};
pub use crate::debug::{
    CheckRequest, CheckResponse, DEBUG_MAX_CYCLES, DEBUG_MAX_PIXELS, DebugMode, DebugRequest, DebugResponse, DebugTrap,
    DiagnosticJson, FrameJson, PackRequest, PackResponse, PixelBreakpoint, UnpackRequest, UnpackResponse, VariableJson,
};
pub use crate::error::{AppError, ErrorBody, ErrorDetail, ErrorLog};
pub use crate::events::{AgentEvent, DaemonEvent, EVENT_BUFFER, Event, EventBus, ExecutionEvent, now_ms};
pub use crate::guard::{HYPER_MAX_HEADERS, MAX_HEADER_BYTES, MAX_HEADERS, MAX_URI_BYTES};
pub use crate::json::AppJson;
pub use crate::limits::{BindError, Limits, check_bind};
pub use crate::run::TIME_LIMIT_KIND;
pub use crate::serve::{SHUTDOWN_GRACE, serve, shutdown_signal};
pub use crate::state::AppState;
pub use crate::store::StorePool;
pub use crate::store_events::{POLL_INTERVAL, watch_store};

mod api_compile;
mod api_execute;
mod api_store;
mod api_system;
mod app;
mod auth;
mod debug;
mod error;
mod events;
mod gate;
mod guard;
mod jobs;
mod json;
mod limits;
mod metrics;
mod openapi_examples;
mod run;
mod serve;
mod state;
mod store;
mod store_events;
mod ui;
