//! `POST /api/execute` and `/api/execute/batch` on good input.

use base64::Engine as _;
use gvpie_exec::ResultJson;
use serde_json::{Value, json};

use crate::util::{HELLO, execute, post_json, quoted, send, test_app};

#[tokio::test]
async fn hello_runs_on_the_cpu() {
    let router = test_app();
    let answer = execute(&router, &json!({"code": HELLO}).to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["success"], true);
    assert_eq!(body["cycles"], 2);
    assert_eq!(body["backend"], "cpu");
    assert!(body["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0));
    assert_eq!(body["error"], Value::Null);
    assert_eq!(body["image"], Value::Null);
    assert_eq!((body["width"].as_u64(), body["height"].as_u64()), (Some(128), Some(64)));
    // The same result shape as the CLI's `--json`.
    let result: ResultJson = serde_json::from_value(body).expect("a ResultJson");
    assert!(result.success);
}

#[tokio::test]
async fn backend_names_are_case_insensitive() {
    let router = test_app();
    for backend in ["cpu", "CPU", "Cpu", "auto", "AUTO"] {
        let answer = execute(&router, &json!({"code": HELLO, "backend": backend}).to_string()).await;
        assert_eq!(answer.status, 200, "{backend}: {}", answer.text());
        assert_eq!(answer.json()["backend"], "cpu");
    }
}

#[tokio::test]
async fn source_errors_are_results_with_diagnostics() {
    let router = test_app();
    let answer = execute(&router, &json!({"code": "RECTT 1 2 3 4\nSET\nHALT"}).to_string()).await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(body["success"], false);
    assert_eq!(body["cycles"], 0);
    assert_eq!(body["error"]["kind"], "parse");
    assert_eq!((body["error"]["line"].as_u64(), body["error"]["column"].as_u64()), (Some(1), Some(1)));
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("did you mean RECT?")), "{body}");
    assert_eq!(body["error"]["diagnostics"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn traps_are_results_with_their_line() {
    let router = test_app();
    let answer = execute(&router, &json!({"code": "SET a 1\nDIV b a 0\nHALT"}).to_string()).await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(body["success"], false);
    assert_eq!(body["cycles"], 2);
    assert_eq!(body["error"]["kind"], "division_by_zero");
    assert_eq!(body["error"]["line"], 2);
}

#[tokio::test]
async fn budget_is_honoured() {
    let router = test_app();
    let answer = execute(&router, &json!({"code": "top:\nJMP top", "budget": 1000}).to_string()).await;
    let body = answer.json();
    assert_eq!(body["cycles"], 1000);
    assert_eq!(body["error"]["kind"], "budget_exhausted");
}

fn decode(body: &Value) -> Vec<u8> {
    let text = body["image"].as_str().expect("an image");
    base64::engine::general_purpose::STANDARD.decode(text).expect("base64")
}

#[tokio::test]
async fn png_and_rgba_images() {
    let router = test_app();
    let code = "COLOR 255 0 0\nPSET 3 2\nHALT";
    let answer = execute(&router, &json!({"code": code, "width": 8, "height": 4, "image": "PNG"}).to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let png = decode(&answer.json());
    let canvas = gvpie_cart::decode_png(&png).expect("a PNG");
    assert_eq!((canvas.width(), canvas.height()), (8, 4));
    assert_eq!(canvas.get(3, 2).map(|c| (c.r, c.g, c.b, c.a)), Some((255, 0, 0, 255)));

    let answer = execute(&router, &json!({"code": code, "width": 8, "height": 4, "image": "rgba"}).to_string()).await;
    let rgba = decode(&answer.json());
    assert_eq!(rgba.len(), 8 * 4 * 4);
    let pixel = (2 * 8 + 3) * 4;
    assert_eq!(&rgba[pixel..pixel + 4], &[255, 0, 0, 255]);
    assert_eq!(&rgba[0..4], &[0, 0, 0, 255]);
}

#[tokio::test]
async fn cartridges_run_their_source() {
    let router = test_app();
    let screen = gvpie_raster::Canvas::new(16, 8).expect("canvas");
    let png = gvpie_cart::pack("SET a 5\nADD a a 1\nHALT\n", &screen).expect("pack");
    let cartridge = base64::engine::general_purpose::STANDARD.encode(png);
    let answer = execute(&router, &json!({"cartridge": cartridge, "backend": "cpu"}).to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["cycles"], 3);
}

#[tokio::test]
async fn batch_keeps_order_and_reports_each_program() {
    let router = test_app();
    let body = json!({
        "programs": [{"code": HELLO}, {"code": "NOPE"}, {"code": "SET a 1\nSET b 2\nHALT"}],
        "backend": "auto",
        "image": "none",
    });
    let answer = send(&router, post_json("/api/execute/batch", body.to_string())).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    assert_eq!((results[0]["success"].as_bool(), results[0]["cycles"].as_u64()), (Some(true), Some(2)));
    assert_eq!(results[1]["error"]["kind"], "parse");
    assert_eq!(results[2]["cycles"], 3);
}

#[tokio::test]
async fn json_content_type_variants_are_accepted() {
    let router = test_app();
    for content_type in ["application/json", "application/json; charset=utf-8", "Application/JSON"] {
        let request = axum::http::Request::post("/api/execute")
            .header("content-type", content_type)
            .body(axum::body::Body::from(format!("{{\"code\": {}}}", quoted(HELLO))))
            .expect("request");
        assert_eq!(send(&router, request).await.status, 200, "{content_type}");
    }
}

/// A batch of 2 to 63 programs under `auto` runs where the engine's rule puts it (the CPU, also
/// on a server with a GPU) and stops at the server's time limit: the server no longer decides
/// `auto` itself and hands such batches to the engine without a deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_auto_batches_follow_the_engine_and_its_deadline() {
    let engine = gvpie_exec::Engine::detect();
    if engine.gpu_adapter().is_none() {
        assert!(std::env::var_os("GVPIE_REQUIRE_GPU").is_none(), "GVPIE_REQUIRE_GPU is set but no GPU adapter opened");
        eprintln!("NOTE: no GPU in this build (the workspace build has one); running on the CPU only");
    }
    let limits = gvpie_server::Limits {
        execution_time_limit: std::time::Duration::from_millis(300),
        ..crate::util::test_limits()
    };
    let router = gvpie_server::app(gvpie_server::AppState::new(std::sync::Arc::new(engine)).with_limits(limits));
    let forever = json!({"code": "top:\nJMP top"});
    let body = json!({"programs": [forever, forever, {"code": HELLO}], "backend": "auto", "budget": 1_000_000_000u64});
    let answer = send(&router, post_json("/api/execute/batch", body.to_string())).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    let results = body["results"].as_array().expect("results");
    for result in results {
        assert_eq!(result["backend"], "cpu", "{result}");
        assert_eq!(result["error"]["kind"], "time_limit", "{result}");
    }
}

/// A program that declares its canvas size (`SIZE`) runs at it unless the request gives a size;
/// a batch's declarations must agree; a cartridge carries its declaration in its source.
#[tokio::test]
async fn a_declared_canvas_size_is_the_default() {
    let router = test_app();
    let sized = "SIZE 40 30\nRECT 0 0 100 100\nHALT";
    let size_of = |body: &Value| (body["width"].as_u64(), body["height"].as_u64());
    let answer = execute(&router, &json!({"code": sized}).to_string()).await.json();
    assert_eq!((size_of(&answer), answer["cycles"].as_u64()), ((Some(40), Some(30)), Some(2)));
    let asked = execute(&router, &json!({"code": sized, "width": 8, "height": 4}).to_string()).await.json();
    assert_eq!(size_of(&asked), (Some(8), Some(4)), "the request's size wins");
    let plain = execute(&router, &json!({"code": "HALT"}).to_string()).await.json();
    assert_eq!(size_of(&plain), (Some(128), Some(64)));

    let batch = json!({"programs": [{"code": sized}, {"code": "HALT"}]});
    let answer = send(&router, post_json("/api/execute/batch", batch.to_string())).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let results = answer.json()["results"].as_array().cloned().unwrap_or_default();
    assert!(results.iter().all(|r| size_of(r) == (Some(40), Some(30))), "{results:?}");
    let disagree = json!({"programs": [{"code": sized}, {"code": "SIZE 2 2\nHALT"}]});
    let error =
        send(&router, post_json("/api/execute/batch", disagree.to_string())).await.assert_error(422, "invalid_request");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("give width and height")), "{error}");

    let too_big = json!({"code": "SIZE 4096 4096\nHALT"});
    execute(&router, &too_big.to_string()).await.assert_error(422, "limit_exceeded");

    let screen = gvpie_raster::Canvas::new(40, 30).expect("canvas");
    let cartridge = gvpie_cart::pack(sized, &screen).expect("pack");
    let base64 = base64::engine::general_purpose::STANDARD.encode(cartridge);
    let answer = execute(&router, &json!({"cartridge": base64}).to_string()).await.json();
    assert_eq!(size_of(&answer), (Some(40), Some(30)), "{answer}");
}
