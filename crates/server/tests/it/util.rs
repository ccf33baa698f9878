//! Helpers shared by the tests: an app with small limits, requests, and answers as JSON.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use gvpie_exec::Engine;
use gvpie_server::{AppState, Limits, app};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The seed's hello program.
pub const HELLO: &str = "TXT 10 10 Hello GPU\nHALT";

/// Limits small enough for tests to reach.
pub fn test_limits() -> Limits {
    Limits { max_body_bytes: 1 << 20, max_code_bytes: 64 << 10, max_batch: 16, ..Limits::default() }
}

/// A CPU-only state with `limits`.
pub fn state_with(limits: Limits) -> AppState {
    AppState::new(Arc::new(Engine::cpu_only())).with_limits(limits)
}

/// The app with test limits.
pub fn test_app() -> Router {
    app(state_with(test_limits()))
}

/// A JSON POST.
pub fn post_json(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path).header("content-type", "application/json").body(body.into()).expect("request")
}

/// A GET.
pub fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).expect("request")
}

/// An answer, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", String::from_utf8_lossy(&self.bytes)))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// Asserts the status and the error kind, and that the body has exactly the error shape.
    #[track_caller]
    pub fn assert_error(&self, status: u16, kind: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        let body = self.json();
        let error = body.get("error").unwrap_or_else(|| panic!("no error object: {body}"));
        assert_eq!(error["kind"], kind, "body: {body}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "no message: {body}");
        let object = body.as_object().expect("object");
        assert_eq!(object.len(), 1, "only `error` at the top: {body}");
        for key in error.as_object().expect("error object").keys() {
            assert!(["kind", "message", "line", "column"].contains(&key.as_str()), "unexpected key {key}: {body}");
        }
        error.clone()
    }
}

/// Sends `request` to `router` and reads the whole answer.
pub async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes().to_vec();
    Answer { status, headers, bytes }
}

/// POSTs `body` (JSON text) to `/api/execute`.
pub async fn execute(router: &Router, body: &str) -> Answer {
    send(router, post_json("/api/execute", body.to_string())).await
}

/// A JSON string literal of `text`.
pub fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("string")
}
