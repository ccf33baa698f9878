//! Integration tests of gvpie-server, in one binary.
//!
//! Most tests call the router directly (`tower::ServiceExt::oneshot`); `real_server` binds a
//! loopback socket and talks HTTP to it.

/// Shared helpers: building the app, sending requests, reading answers.
mod util;

/// `POST /api/execute` and `/api/execute/batch` on good input.
mod execute;

/// Every bad input of the issue: exact status and error kind.
mod bad_input;

/// Scripts, the infinite map, lineage, images, programs and cartridges over a real database.
mod store;

/// Goals: add, inspect, pause and resume over a real database.
mod goals;

/// `/api/growth` on a real server: the store's growth counters, archive and adoptions.
mod growth;

/// The token rules.
mod auth;

/// The execution gate under load: 429 and 503 with Retry-After, time limits.
mod overload;

/// Issue 17's attacks on a real server: answers too large for memory, abandoned work, a stuck
/// shutdown, endpoints outside the gate, goal scripts past the time limit.
mod attack;

/// `/health`, `/metrics`, not-found and method answers.
mod system;

/// The live event stream.
mod events;

/// `/api/agents` and the `agent` events on a real server, agents registered in the database.
mod agents;

/// The OpenAPI document covers every route, and docs/api.md lists them all.
mod openapi;

/// A real server on a loopback port with a real HTTP client.
mod real_server;

/// A real server cuts off slow request headers (slowloris) and still shuts down gracefully.
mod slow_headers;

/// The web UI's embedded files and its tools: check, debugger, cartridges.
mod ui_tools;

/// `POST /api/compile`: plain English to PXL.
mod compile;

/// DNS rebinding and cross-site requests against a real server: Host and Origin rules.
mod rebinding;

/// Every error a real server answers is in the JSON error shape (axum's rejections, size limits,
/// an unwritable database); what hyper answers before the app sees a request.
mod error_shape;

/// The OpenAPI document's example bodies and parameters reach real resources.
mod examples;

/// The web UI's opcode table agrees with gvpie-pxl's.
mod ui_opcodes;
