//! The token rules: with a token, every request except `GET /health` needs it.

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use crate::util::{HELLO, get, send, state_with, test_limits};

fn guarded_app() -> axum::Router {
    gvpie_server::app(state_with(test_limits()).with_token(Some("s3cret-token".to_string())))
}

fn execute_request(authorization: Option<&str>) -> Request<Body> {
    let mut builder = Request::post("/api/execute").header("content-type", "application/json");
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    builder.body(Body::from(json!({"code": HELLO}).to_string())).expect("request")
}

#[tokio::test]
async fn health_needs_no_token() {
    let router = guarded_app();
    let answer = send(&router, get("/health")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["status"], "healthy");
}

#[tokio::test]
async fn everything_else_needs_the_token() {
    let router = guarded_app();
    for authorization in
        [None, Some("Bearer wrong"), Some("Bearer s3cret-toke"), Some("Basic s3cret-token"), Some("s3cret-token")]
    {
        let answer = send(&router, execute_request(authorization)).await;
        answer.assert_error(401, "unauthorized");
        assert_eq!(answer.headers.get("www-authenticate").map(|v| v.as_bytes()), Some(&b"Bearer"[..]));
    }
    for path in ["/metrics", "/api/openapi.json", "/api/events", "/no/such/path"] {
        send(&router, get(path)).await.assert_error(401, "unauthorized");
    }
    // Only GET /health is open, not other methods on it.
    let request = Request::post("/health").body(Body::empty()).expect("request");
    send(&router, request).await.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn the_right_token_passes() {
    let router = guarded_app();
    for authorization in ["Bearer s3cret-token", "bearer s3cret-token", "Bearer  s3cret-token "] {
        let answer = send(&router, execute_request(Some(authorization))).await;
        assert_eq!(answer.status, 200, "{authorization}: {}", answer.text());
    }
    let request = Request::get("/metrics").header("authorization", "Bearer s3cret-token").body(Body::empty());
    assert_eq!(send(&router, request.expect("request")).await.status, 200);
}

#[tokio::test]
async fn without_a_token_nothing_is_asked() {
    let router = gvpie_server::app(state_with(test_limits()));
    assert_eq!(send(&router, execute_request(None)).await.status, 200);
    assert_eq!(send(&router, get("/metrics")).await.status, 200);
}
