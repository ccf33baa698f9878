//! The OpenAPI document: every route is in it, every operation in it is routed, it is what
//! `/api/openapi.json` serves, and docs/api.md lists the same endpoints.

use axum::body::Body;
use axum::http::Request;
use serde_json::Value;

use crate::util::{get, send, test_app};

/// Every route of the app. A route added to `app()` without its `#[utoipa::path]` cannot
/// exist (routes are registered with `routes!`), and one added here must also be documented.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/metrics"),
    ("get", "/api/openapi.json"),
    ("post", "/api/execute"),
    ("post", "/api/execute/batch"),
    ("get", "/api/events"),
    ("get", "/api/scripts"),
    ("post", "/api/scripts"),
    ("get", "/api/scripts/{id}"),
    ("patch", "/api/scripts/{id}"),
    ("delete", "/api/scripts/{id}"),
    ("get", "/api/map"),
    ("get", "/api/map/{iteration}"),
    ("get", "/api/map/{iteration}/lineage"),
    ("get", "/api/map/{iteration}/image"),
    ("get", "/api/images/{hash}"),
    ("post", "/api/programs"),
    ("get", "/api/programs/{hash}"),
    ("get", "/api/cartridges"),
    ("post", "/api/cartridges"),
    ("get", "/api/cartridges/{key}"),
    ("get", "/api/cartridges/{key}/png"),
    ("get", "/api/goals"),
    ("post", "/api/goals"),
    ("get", "/api/goals/{id}"),
    ("patch", "/api/goals/{id}"),
    ("get", "/api/goals/{id}/proposals"),
    ("get", "/api/summary"),
    ("get", "/api/growth"),
    ("get", "/api/agents"),
    // The web UI's tools (src/debug.rs).
    ("post", "/api/check"),
    ("post", "/api/debug"),
    ("post", "/api/cart/pack"),
    ("post", "/api/cart/unpack"),
    // Plain English to PXL (src/api_compile.rs).
    ("post", "/api/compile"),
];

fn documented_operations(document: &Value) -> Vec<(String, String)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                operations.push((method.clone(), path.clone()));
            }
        }
    }
    operations.sort();
    operations
}

fn document() -> Value {
    serde_json::to_value(gvpie_server::openapi()).expect("the document serialises")
}

#[test]
fn every_route_is_documented_and_nothing_else() {
    let mut expected: Vec<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    expected.sort();
    assert_eq!(documented_operations(&document()), expected);
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let router = test_app();
    for (method, path) in documented_operations(&document()) {
        if path == "/api/events" {
            continue; // An endless stream; tests/it/events.rs covers it.
        }
        let concrete =
            path.replace("{hash}", "0000").replace("{id}", "1").replace("{iteration}", "1").replace("{key}", "k");
        let request = Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(&concrete)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .expect("request");
        let answer = send(&router, request).await;
        let status = answer.status.as_u16();
        assert_ne!(status, 405, "{method} {path}");
        if status == 404 {
            let message = answer.json()["error"]["message"].as_str().unwrap_or("").to_string();
            assert!(!message.starts_with("no endpoint"), "{method} {path} is not routed");
        }
    }
}

#[tokio::test]
async fn the_served_document_is_the_generated_one() {
    let answer = send(&test_app(), get("/api/openapi.json")).await;
    assert_eq!(answer.status, 200);
    let served = answer.json();
    assert_eq!(served, document());
    assert!(served["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    // The error shape and the result shape are in the components, from the Rust types.
    for schema in ["ErrorBody", "ErrorDetail", "ResultJson", "ExecuteRequest", "ExecuteResponse", "Event"] {
        assert!(served["components"]["schemas"][schema].is_object(), "schema {schema} missing");
    }
}

#[test]
fn docs_api_md_lists_every_endpoint() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api.md")).expect("docs/api.md");
    for (method, path) in documented_operations(&document()) {
        let needle = format!("`{} {}`", method.to_uppercase(), path);
        assert!(doc.contains(&needle), "docs/api.md does not mention {needle}");
    }
}
