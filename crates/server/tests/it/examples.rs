//! The OpenAPI document's examples are real: every example body is accepted (2xx) by a server
//! with a database, in the order `clients/python/fuzz_api.sh` seeds them, and the path parameter
//! examples then name existing resources; so schemathesis reaches them instead of only 404s.

use axum::body::Body;
use axum::http::Request;
use serde_json::Value;

use crate::util::{send, state_with, test_limits};

fn example_body(document: &Value, method: &str, path: &str) -> String {
    let example = &document["paths"][path][method]["requestBody"]["content"]["application/json"]["example"];
    assert!(example.is_object(), "no example body for {method} {path}");
    example.to_string()
}

fn with_examples(document: &Value, method: &str, path: &str) -> String {
    let mut concrete = path.to_string();
    for parameter in document["paths"][path][method]["parameters"].as_array().into_iter().flatten() {
        if parameter["in"] == "path" {
            let example = &parameter["example"];
            let text = example.as_str().map_or_else(|| example.to_string(), str::to_string);
            concrete = concrete.replace(&format!("{{{}}}", parameter["name"].as_str().expect("name")), &text);
        }
    }
    concrete
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_bodies_and_parameters_reach_real_resources() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("gvpie.db");
    let store = gvpie_server::StorePool::open(db.to_str().expect("utf-8")).expect("db");
    let router = gvpie_server::app(state_with(test_limits()).with_store(store));
    let document = serde_json::to_value(gvpie_server::openapi()).expect("json");
    // Creations first, in the order fuzz_api.sh seeds them; then the rest.
    let calls = [
        ("post", "/api/scripts"),
        ("post", "/api/programs"),
        ("post", "/api/cartridges"),
        ("post", "/api/goals"),
        ("patch", "/api/scripts/{id}"),
        ("patch", "/api/goals/{id}"),
        ("post", "/api/execute"),
        ("post", "/api/execute/batch"),
        ("post", "/api/check"),
        ("post", "/api/debug"),
        ("post", "/api/cart/pack"),
        ("post", "/api/cart/unpack"),
        ("get", "/api/scripts/{id}"),
        ("get", "/api/goals/{id}"),
        ("get", "/api/goals/{id}/proposals"),
        ("get", "/api/cartridges/{key}"),
        ("get", "/api/cartridges/{key}/png"),
        ("get", "/api/programs/{hash}"),
    ];
    for (method, path) in calls {
        let uri = with_examples(&document, method, path);
        let request = match method {
            "get" => Request::get(&uri).body(Body::empty()),
            _ => Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .header("content-type", "application/json")
                .body(Body::from(example_body(&document, method, path))),
        };
        let answer = send(&router, request.expect("request")).await;
        assert!(answer.status.is_success(), "{method} {uri}: {} {}", answer.status, answer.text());
    }
}
