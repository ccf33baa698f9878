//! Every bad input of the issue (and a few more): the exact status and error kind, and the
//! server still answers afterwards.

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use crate::util::{HELLO, execute, post_json, send, state_with, test_app, test_limits};

#[tokio::test]
async fn malformed_json_is_400_with_position() {
    let router = test_app();
    let error = execute(&router, "{\"code\": \"HALT\",\n  \"width\": 12,, }").await.assert_error(400, "malformed_json");
    assert_eq!((error["line"].as_u64(), error["column"].as_u64()), (Some(2), Some(15)));
    execute(&router, "").await.assert_error(400, "malformed_json");
    execute(&router, "{\"code\": \"HALT\"").await.assert_error(400, "malformed_json");
    execute(&router, "[1, 2").await.assert_error(400, "malformed_json");
}

#[tokio::test]
async fn wrong_types_are_422() {
    let router = test_app();
    for body in [
        json!({"code": 5}),
        json!({"code": HELLO, "width": "wide"}),
        json!({"code": HELLO, "budget": true}),
        json!({"code": HELLO, "backend": 7}),
        json!({"code": HELLO, "image": ["png"]}),
        json!([HELLO]),
        json!("TXT 1 1 hi"),
        json!({"code": HELLO, "width": 12.5}),
    ] {
        let answer = execute(&router, &body.to_string()).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.text());
        let error = answer.assert_error(422, "invalid_request");
        assert!(!error["message"].as_str().unwrap_or("").contains("at line"), "{error}");
    }
}

#[tokio::test]
async fn unknown_fields_are_422_and_named() {
    let router = test_app();
    let error =
        execute(&router, &json!({"code": HELLO, "budjet": 5}).to_string()).await.assert_error(422, "invalid_request");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("budjet")), "{error}");
}

#[tokio::test]
async fn a_64_mb_body_is_413() {
    let router = test_app();
    let big = vec![b' '; 64 << 20];
    // Announced by Content-Length: refused before reading.
    let request = Request::post("/api/execute")
        .header("content-type", "application/json")
        .header("content-length", big.len().to_string())
        .body(Body::from(big.clone()))
        .expect("request");
    send(&router, request).await.assert_error(413, "payload_too_large");
    // Not announced (chunked): refused once the bytes pass the limit.
    let chunks = big.chunks(1 << 16).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>();
    let request = post_json("/api/execute", Body::from_stream(futures_util::stream::iter(chunks)));
    let answer = send(&router, request).await;
    answer.assert_error(413, "payload_too_large");
    assert_eq!(answer.headers.get("connection").map(|v| v.as_bytes()), Some(&b"close"[..]));
    assert_eq!(execute(&router, &json!({"code": HELLO}).to_string()).await.status, 200);
}

#[tokio::test]
async fn huge_code_is_413() {
    let router = test_app();
    let code = "HALT\n".repeat(20_000);
    let error = execute(&router, &json!({"code": code}).to_string()).await.assert_error(413, "payload_too_large");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("100000 bytes")), "{error}");
}

#[tokio::test]
async fn a_huge_canvas_is_422() {
    let router = test_app();
    let body = json!({"code": HELLO, "width": 100000, "height": 100000});
    let error = execute(&router, &body.to_string()).await.assert_error(422, "limit_exceeded");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("width is 100000")), "{error}");
    // Each side fits, the area does not.
    let body = json!({"code": HELLO, "width": 4096, "height": 4096});
    let error = execute(&router, &body.to_string()).await.assert_error(422, "limit_exceeded");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("4096x4096")), "{error}");
}

#[tokio::test]
async fn negative_and_zero_sizes_are_422() {
    let router = test_app();
    for (width, height) in [(-5, 10), (10, -1), (0, 10), (10, 0)] {
        let body = json!({"code": HELLO, "width": width, "height": height});
        let error = execute(&router, &body.to_string()).await.assert_error(422, "invalid_request");
        assert!(error["message"].as_str().is_some_and(|m| m.contains("from 1 to 4096")), "{error}");
    }
}

#[tokio::test]
async fn budgets_beyond_u64_or_the_ceiling_are_422() {
    let router = test_app();
    let error = execute(&router, &format!("{{\"code\": \"HALT\", \"budget\": {}}}", "18446744073709551616"))
        .await
        .assert_error(422, "limit_exceeded");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("at most 1000000000")), "{error}");
    execute(&router, "{\"code\": \"HALT\", \"budget\": 1e300}").await.assert_error(422, "limit_exceeded");
    execute(&router, &json!({"code": "HALT", "budget": 1_000_000_001u64}).to_string())
        .await
        .assert_error(422, "limit_exceeded");
    execute(&router, &json!({"code": "HALT", "budget": -1}).to_string()).await.assert_error(422, "invalid_request");
    execute(&router, &json!({"code": "HALT", "budget": 0}).to_string()).await.assert_error(422, "invalid_request");
}

#[tokio::test]
async fn unknown_backend_is_422() {
    let router = test_app();
    let error = execute(&router, &json!({"code": HELLO, "backend": "tpu"}).to_string())
        .await
        .assert_error(422, "invalid_request");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("unknown backend 'tpu'")), "{error}");
}

#[tokio::test]
async fn gpu_on_a_server_without_one_is_422() {
    let router = test_app();
    let error = execute(&router, &json!({"code": HELLO, "backend": "GPU"}).to_string())
        .await
        .assert_error(422, "backend_unavailable");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("available: cpu")), "{error}");
}

#[tokio::test]
async fn unknown_image_format_is_422() {
    let router = test_app();
    execute(&router, &json!({"code": HELLO, "image": "gif"}).to_string()).await.assert_error(422, "invalid_request");
}

#[tokio::test]
async fn program_must_be_code_xor_cartridge() {
    let router = test_app();
    execute(&router, &json!({}).to_string()).await.assert_error(422, "invalid_request");
    execute(&router, &json!({"code": HELLO, "cartridge": "AAAA"}).to_string())
        .await
        .assert_error(422, "invalid_request");
}

#[tokio::test]
async fn bad_cartridges_are_422() {
    let router = test_app();
    let error =
        execute(&router, &json!({"cartridge": "not base64!"}).to_string()).await.assert_error(422, "invalid_request");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("not valid base64")), "{error}");
    // Valid base64 of something that is not a PNG.
    let error = execute(&router, &json!({"cartridge": "aGVsbG8gd29ybGQ="}).to_string())
        .await
        .assert_error(422, "invalid_request");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("not a gvpie cartridge")), "{error}");
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let router = test_app();
    let request = Request::post("/api/execute").body(Body::from("{\"code\": \"HALT\"}")).expect("request");
    send(&router, request).await.assert_error(415, "unsupported_media_type");
    let request = Request::post("/api/execute")
        .header("content-type", "text/plain")
        .body(Body::from("{\"code\": \"HALT\"}"))
        .expect("request");
    send(&router, request).await.assert_error(415, "unsupported_media_type");
}

#[tokio::test(start_paused = true)]
async fn a_slowly_trickling_body_is_408() {
    let limits = gvpie_server::Limits { body_timeout: Duration::from_millis(500), ..test_limits() };
    let router = gvpie_server::app(state_with(limits));
    // One byte every second, for ever.
    let trickle = futures_util::stream::unfold(0u32, |n| async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Some((Ok::<_, std::io::Error>(vec![b' ']), n + 1))
    });
    let answer = send(&router, post_json("/api/execute", Body::from_stream(trickle))).await;
    answer.assert_error(408, "request_timeout");
    assert_eq!(answer.headers.get("connection").map(|v| v.as_bytes()), Some(&b"close"[..]));
}

#[tokio::test]
async fn batch_limits() {
    let router = test_app();
    let batch =
        |programs: serde_json::Value| post_json("/api/execute/batch", json!({"programs": programs}).to_string());
    send(&router, batch(json!([]))).await.assert_error(422, "invalid_request");
    let many: Vec<_> = (0..17).map(|_| json!({"code": "HALT"})).collect();
    send(&router, batch(json!(many))).await.assert_error(422, "limit_exceeded");
    let error = send(&router, batch(json!([{"code": "HALT"}, {}]))).await.assert_error(422, "invalid_request");
    assert!(error["message"].as_str().is_some_and(|m| m.starts_with("programs[1]: ")), "{error}");
    send(&router, post_json("/api/execute/batch", json!({"programs": "HALT"}).to_string()))
        .await
        .assert_error(422, "invalid_request");
}
