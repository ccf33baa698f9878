//! A real server on a loopback port, spoken to over TCP with hyper's HTTP/1.1 client:
//! the same answers as through the router, keep-alive works, and shutdown is graceful.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use gvpie_exec::Engine;
use gvpie_server::{AppState, serve};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::util::{HELLO, test_limits};

async fn request(sender: &mut hyper::client::conn::http1::SendRequest<Body>, request: Request<Body>) -> (u16, Value) {
    sender.ready().await.expect("connection ready");
    let response = sender.send_request(request).await.expect("a response");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).expect("JSON"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_server_on_loopback() {
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

    let health = Request::get("/health").header("host", addr.to_string()).body(Body::empty()).expect("request");
    let (status, body) = request(&mut sender, health).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("healthy")));

    // Several requests on the same keep-alive connection.
    for _ in 0..3 {
        let execute = Request::post("/api/execute")
            .header("host", addr.to_string())
            .header("content-type", "application/json")
            .body(Body::from(json!({"code": HELLO, "backend": "CPU"}).to_string()))
            .expect("request");
        let (status, body) = request(&mut sender, execute).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!((body["success"].as_bool(), body["cycles"].as_u64()), (Some(true), Some(2)));
    }

    let bad = Request::post("/api/execute")
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .body(Body::from("{\"code\": "))
        .expect("request");
    let (status, body) = request(&mut sender, bad).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (400, Some("malformed_json")));

    drop(sender);
    let _ = connection.await;
    stop.send(()).expect("server running");
    let finished = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(matches!(finished, Ok(Ok(Ok(())))), "the server shuts down cleanly: {finished:?}");
}
