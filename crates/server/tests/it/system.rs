//! `/health`, `/metrics`, and the answers for unknown paths and methods.

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use crate::util::{HELLO, execute, get, send, test_app};

#[tokio::test]
async fn health_reports_version_backends_and_uptime() {
    let router = test_app();
    let answer = send(&router, get("/health")).await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["backends"], json!(["cpu"]));
    assert_eq!(body["gpu_adapter"], serde_json::Value::Null);
    assert!(body["uptime_seconds"].as_f64().is_some_and(|s| s >= 0.0));
}

#[tokio::test]
async fn metrics_count_executions_errors_and_durations() {
    let router = test_app();
    execute(&router, &json!({"code": HELLO}).to_string()).await;
    execute(&router, &json!({"code": "DIV a 1 0"}).to_string()).await;
    execute(&router, &json!({"code": "NOPE"}).to_string()).await;
    execute(&router, "not json").await;
    let answer = send(&router, get("/metrics")).await;
    assert_eq!(answer.status, 200);
    let content_type = answer.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = answer.text();
    for line in [
        "gvpie_executions_total{backend=\"cpu\",outcome=\"success\"} 1",
        "gvpie_executions_total{backend=\"cpu\",outcome=\"error\"} 2",
        "gvpie_executions_total{backend=\"gpu\",outcome=\"success\"} 0",
        "gvpie_execution_errors_total{kind=\"division_by_zero\"} 1",
        "gvpie_execution_errors_total{kind=\"parse\"} 1",
        "gvpie_execution_duration_seconds_bucket{le=\"+Inf\"} 3",
        "gvpie_execution_duration_seconds_count 3",
        "gvpie_queue_depth 0",
        "gvpie_executions_in_flight 0",
        "gvpie_rejected_total{reason=\"overloaded\"} 0",
        "gvpie_http_responses_total{class=\"4xx\"} 1",
        "# TYPE gvpie_execution_duration_seconds histogram",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
    // The histogram is cumulative: bucket counts never decrease and end at the count.
    let buckets: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("gvpie_execution_duration_seconds_bucket"))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(buckets.last(), Some(&3.0));
    // Every sample line is `name{labels} value` or `name value` with a number.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap_or("");
        assert!(value.parse::<f64>().is_ok(), "bad sample line {line:?}");
    }
}

#[tokio::test]
async fn unknown_paths_are_404_in_the_error_shape() {
    let router = test_app();
    send(&router, get("/nope")).await.assert_error(404, "not_found");
    send(&router, get("/api/execute/nope")).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn wrong_methods_are_405_in_the_error_shape() {
    let router = test_app();
    send(&router, get("/api/execute")).await.assert_error(405, "method_not_allowed");
    let request = Request::delete("/health").body(Body::empty()).expect("request");
    send(&router, request).await.assert_error(405, "method_not_allowed");
}
