//! The web UI's server side: its embedded files at `/` and `/ui/...`, and the tools it calls
//! (`/api/check`, `/api/debug`, `/api/cart/pack`, `/api/cart/unpack`).

use gvpie_server::app;
use serde_json::{Value, json};

use crate::util::{get, post_json, send, state_with, test_app, test_limits};

fn post(path: &str, body: Value) -> axum::http::Request<axum::body::Body> {
    post_json(path, body.to_string())
}

#[tokio::test]
async fn the_page_and_its_modules_are_served_offline() {
    let router = test_app();
    let page = send(&router, get("/")).await;
    assert_eq!(page.status, 200);
    assert!(page.headers["content-type"].to_str().is_ok_and(|t| t.starts_with("text/html")));
    assert!(page.text().contains(r#"<script type="module" src="/ui/js/main.js">"#));
    // Nothing from another host: the policy allows our own origin only.
    let policy = page.headers["content-security-policy"].to_str().expect("ascii");
    assert!(policy.starts_with("default-src 'self'"), "{policy}");
    let module = send(&router, get("/ui/js/main.js")).await;
    assert_eq!(module.status, 200);
    assert!(module.headers["content-type"].to_str().is_ok_and(|t| t.starts_with("text/javascript")));
    for file in ["/ui/style.css", "/ui/js/debugger.js", "/ui/favicon.svg"] {
        assert_eq!(send(&router, get(file)).await.status, 200, "{file}");
    }
    send(&router, get("/ui/nope.js")).await.assert_error(404, "not_found");
    send(&router, get("/ui/../Cargo.toml")).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn with_a_token_the_page_is_public_and_the_tools_are_not() {
    let router = app(state_with(test_limits()).with_token(Some("s3cret".to_string())));
    assert_eq!(send(&router, get("/")).await.status, 200);
    send(&router, post("/api/check", json!({"code": "HALT"}))).await.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn check_reports_every_diagnostic() {
    let answer = send(&test_app(), post("/api/check", json!({"code": "RECTT 1 2 3 4\nJMP nowhere\nHALT"}))).await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(body["ok"], false);
    let positions: Vec<(u64, u64)> = body["diagnostics"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| (d["line"].as_u64().unwrap_or(0), d["column"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(positions, vec![(1, 1), (2, 5)]);
    let good = send(&test_app(), post("/api/check", json!({"code": "SET x 1\nloop:\nHALT"}))).await.json();
    assert_eq!((good["ok"].clone(), good["n_instructions"].clone()), (json!(true), json!(2)));
    assert_eq!((good["variables"].clone(), good["labels"].clone()), (json!(["x"]), json!(["loop"])));
}

#[tokio::test]
async fn the_debugger_steps_a_loop_and_steps_back() {
    let router = test_app();
    let code = "SET s 0\nloop:\nADD s s i\nPSET i 0\nLOOP i 3 loop\nHALT";
    let mut cycle = 0;
    let mut last = Value::Null;
    for _ in 0..5 {
        let body = json!({"code": code, "width": 8, "height": 4, "cycle": cycle, "mode": "step"});
        last = send(&router, post("/api/debug", body)).await.json();
        cycle = last["cycle"].as_u64().expect("cycle");
    }
    // SET, ADD, PSET 0 0, LOOP (i = 1), ADD (s = 1): next is PSET on line 4.
    assert_eq!((cycle, last["line"].as_u64(), last["status"].as_str()), (5, Some(4), Some("running")));
    assert_eq!(
        last["variables"],
        json!([{"name": "s", "value": 1, "changed": true}, {"name": "i", "value": 1, "changed": false}])
    );
    let step =
        send(&router, post("/api/debug", json!({"code": code, "width": 8, "height": 4, "cycle": 5, "mode": "step"})))
            .await;
    assert_eq!(step.json()["changed"], json!([[1, 0]]));
    let back =
        send(&router, post("/api/debug", json!({"code": code, "width": 8, "height": 4, "cycle": 5, "mode": "back"})))
            .await;
    assert_eq!(back.json()["cycle"], 4);
    let end = send(&router, post("/api/debug", json!({"code": code, "width": 8, "height": 4, "mode": "continue"})))
        .await
        .json();
    assert_eq!((end["status"].as_str(), end["reason"].as_str()), (Some("halted"), Some("end")));
    // The canvas is raw RGBA: 8×4 pixels, three of them white.
    let rgba = base64_decode(end["canvas"].as_str().expect("canvas"));
    assert_eq!(rgba.len(), 8 * 4 * 4);
    assert_eq!(&rgba[..12], &[255; 12]);
    assert_eq!(&rgba[12..16], &[0, 0, 0, 255]);
}

#[tokio::test]
async fn the_debugger_refuses_bad_programs_and_limits() {
    let router = test_app();
    let error =
        send(&router, post("/api/debug", json!({"code": "HALT\nRECTT"}))).await.assert_error(422, "invalid_program");
    assert_eq!((error["line"].clone(), error["column"].clone()), (json!(2), json!(1)));
    send(&router, post("/api/debug", json!({"code": "HALT", "width": 1000, "height": 1000})))
        .await
        .assert_error(422, "limit_exceeded");
    send(&router, post("/api/debug", json!({"code": "HALT", "budget": 100_000_000})))
        .await
        .assert_error(422, "limit_exceeded");
    send(&router, post("/api/debug", json!({"code": "HALT", "mode": "fly"})))
        .await
        .assert_error(422, "invalid_request");
    send(&router, post("/api/debug", json!({"code": "HALT", "width": 0}))).await.assert_error(422, "invalid_request");
}

#[tokio::test]
async fn cartridges_round_trip() {
    let router = test_app();
    let code = "COLOR 1 2 3\nPSET 0 0\nHALT\n";
    let packed = send(&router, post("/api/cart/pack", json!({"code": code, "width": 8, "height": 8}))).await;
    assert_eq!(packed.status, 200, "{}", packed.text());
    let cartridge = packed.json()["cartridge"].as_str().expect("base64").to_string();
    let unpacked = send(&router, post("/api/cart/unpack", json!({"cartridge": cartridge}))).await;
    assert_eq!(unpacked.json()["code"], code);
    send(&router, post("/api/cart/unpack", json!({"cartridge": "bm90IGEgcG5n"})))
        .await
        .assert_error(422, "invalid_request");
    send(&router, post("/api/cart/pack", json!({"code": "RECTT"}))).await.assert_error(422, "invalid_program");
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).expect("base64")
}

/// The debugger and the cartridge packer use the size a program declares (`SIZE`) when the
/// request gives neither width nor height.
#[tokio::test]
async fn the_tools_use_the_declared_size() {
    let router = test_app();
    let code = "SIZE 12 5\nPSET 11 4\nHALT\n";
    let stepped = send(&router, post("/api/debug", json!({"code": code, "mode": "continue"}))).await.json();
    assert_eq!((stepped["width"].as_u64(), stepped["height"].as_u64()), (Some(12), Some(5)), "{stepped}");
    let asked = send(&router, post("/api/debug", json!({"code": code, "width": 3, "height": 2}))).await.json();
    assert_eq!((asked["width"].as_u64(), asked["height"].as_u64()), (Some(3), Some(2)));
    let packed = send(&router, post("/api/cart/pack", json!({"code": code}))).await;
    assert_eq!(packed.status, 200, "{}", packed.text());
    let png = base64_decode(packed.json()["cartridge"].as_str().unwrap_or(""));
    let cartridge = gvpie_cart::unpack(&png).expect("a cartridge");
    assert_eq!(cartridge.source, code);
    let screen = gvpie_cart::decode_png(&png).expect("a PNG");
    assert_eq!(screen.width() * 5, screen.height() * 12, "the screen keeps the declared 12x5 shape");
}
