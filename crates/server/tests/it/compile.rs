//! `POST /api/compile`: a description → program, objects and picture; errors in the one shape;
//! recorded in the infinite map with the description as task; on a real loopback server too.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use gvpie_exec::Engine;
use gvpie_raster::Rgba;
use gvpie_server::{AppState, StorePool, app, serve};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::util::{post_json, send, test_app, test_limits};

fn compile_request(body: Value) -> Request<Body> {
    post_json("/api/compile", body.to_string())
}

fn picture(answer: &Value) -> gvpie_raster::Canvas {
    let png =
        base64::engine::general_purpose::STANDARD.decode(answer["image"].as_str().expect("image")).expect("base64");
    gvpie_cart::decode_png(&png).expect("a PNG")
}

#[tokio::test]
async fn a_description_becomes_a_program_and_its_picture() {
    let answer = send(&test_app(), compile_request(json!({"description": "a red circle above a blue square"}))).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["path"], "grammar");
    assert_eq!((body["width"].as_u64(), body["height"].as_u64()), (Some(128), Some(64)));
    assert!(body["source"].as_str().is_some_and(|s| s.contains("# red circle") && s.ends_with("HALT\n")));
    assert_eq!(body["objects"][0]["kind"], "circle");
    assert_eq!(body["objects"][1]["kind"], "square");
    assert!(body["iteration"].is_null(), "no database, no record");
    let canvas = picture(&body);
    let red = gvpie_compile::check::mass(&canvas, Rgba::new(255, 0, 0, 255), 0).expect("red");
    let blue = gvpie_compile::check::mass(&canvas, Rgba::new(0, 0, 255, 255), 0).expect("blue");
    assert!(red.centroid.1 < blue.centroid.1);
}

#[tokio::test]
async fn the_size_is_the_requested_one() {
    let answer =
        send(&test_app(), compile_request(json!({"description": "three stars in a row", "width": 64, "height": 32})))
            .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let canvas = picture(&answer.json());
    assert_eq!((canvas.width(), canvas.height()), (64, 32));
    assert_eq!(gvpie_compile::check::blobs(&canvas, Rgba::new(255, 255, 0, 255), 0).len(), 3);
}

#[tokio::test]
async fn errors_have_the_one_shape() {
    let router = test_app();
    let error = send(&router, compile_request(json!({"description": "draw a circel"})))
        .await
        .assert_error(422, "invalid_request");
    assert_eq!(error["message"], "unknown word 'circel' at 3 (did you mean circle?)");
    send(&router, compile_request(json!({"description": ""}))).await.assert_error(422, "invalid_request");
    send(&router, compile_request(json!({"description": "a circle", "width": 0})))
        .await
        .assert_error(422, "invalid_request");
    send(&router, compile_request(json!({"description": "a circle", "width": 100000})))
        .await
        .assert_error(422, "limit_exceeded");
    send(&router, compile_request(json!({"description": "a circle ".repeat(300)})))
        .await
        .assert_error(413, "payload_too_large");
    send(&router, compile_request(json!({"text": "a circle"}))).await.assert_error(422, "invalid_request");
}

#[tokio::test]
async fn with_a_database_it_is_recorded_with_the_description_as_task() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("gvpie.db");
    let pool = StorePool::open(db.to_str().expect("utf-8 path")).expect("open the store");
    let router = app(AppState::new(Arc::new(Engine::cpu_only())).with_limits(test_limits()).with_store(pool));
    let answer = send(&router, compile_request(json!({"description": "write HELLO in yellow"}))).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let iteration = answer.json()["iteration"].as_i64().expect("recorded");
    let entry = send(&router, crate::util::get(&format!("/api/map/{iteration}"))).await;
    assert_eq!(entry.status, 200, "{}", entry.text());
    let entry = entry.json();
    assert_eq!(entry["task_description"], "write HELLO in yellow", "{entry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_real_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let state = AppState::new(Arc::new(Engine::cpu_only())).with_limits(test_limits());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    let connection = tokio::spawn(connection);
    let request = Request::post("/api/compile")
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .body(Body::from(json!({"description": "a house with a tree next to it"}).to_string()))
        .expect("request");
    sender.ready().await.expect("ready");
    let response = sender.send_request(request).await.expect("a response");
    assert_eq!(response.status().as_u16(), 200);
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let body: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(body["objects"][0]["kind"], "house");
    drop(sender);
    let _ = connection.await;
    let _ = stop.send(());
    let _ = server.await;
}
