//! The live event stream: executions (and daemon events published on the bus) arrive as
//! Server-Sent Events.

use std::sync::Arc;
use std::time::Duration;

use gvpie_exec::Engine;
use gvpie_server::{AppState, DaemonEvent, Event, app};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::util::{HELLO, execute, get, test_limits};

/// Reads SSE frames until one with `event: NAME` arrives, and returns its data as JSON.
async fn next_event(body: &mut axum::body::Body, name: &str) -> Value {
    let mut buffer = String::new();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("an event in time")
            .expect("the stream is open")
            .expect("a frame");
        if let Ok(data) = frame.into_data() {
            buffer.push_str(&String::from_utf8_lossy(&data));
        }
        while let Some(end) = buffer.find("\n\n") {
            let message: String = buffer.drain(..end + 2).collect();
            let field = |key: &str| message.lines().find_map(|l| l.strip_prefix(key)).map(str::to_string);
            if field("event: ").as_deref() == Some(name) {
                assert!(field("id: ").is_some(), "events carry an id: {message}");
                let data = field("data: ").expect("data");
                return serde_json::from_str(&data).expect("JSON data");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_and_daemon_events_are_streamed() {
    let state = AppState::new(Arc::new(Engine::cpu_only())).with_limits(test_limits());
    let bus = state.events().clone();
    let router = app(state);
    let response = router.clone().oneshot(get("/api/events")).await.expect("infallible");
    assert_eq!(response.status(), 200);
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert_eq!(content_type, "text/event-stream");
    let mut body = response.into_body();

    execute(&router, &json!({"code": HELLO}).to_string()).await;
    let event = next_event(&mut body, "execution").await;
    assert_eq!(event["type"], "execution");
    assert_eq!(event["origin"], "api");
    assert_eq!((event["success"].as_bool(), event["cycles"].as_u64()), (Some(true), Some(2)));
    assert_eq!(event["backend"], "cpu");

    bus.publish(Event::Daemon(DaemonEvent {
        event: "cycle_started".to_string(),
        data: json!({"cycle": 7}),
        at_ms: gvpie_server::now_ms(),
    }));
    let event = next_event(&mut body, "daemon").await;
    assert_eq!(event["event"], "cycle_started");
    assert_eq!(event["data"]["cycle"], 7);

    // The daemon's own events, as its JSON: executions become execution events.
    bus.publish(Event::from_daemon_json(json!({
        "event": "execution_recorded", "cycle": 3, "iteration": 41, "script": "hello_gpu", "success": false,
        "cycles": 1, "backend": "gpu", "duration_ms": 0.5, "error": {"kind": "division_by_zero", "message": "m"},
        "program_hash": "ab", "image_hash": "cd",
    })));
    let event = next_event(&mut body, "execution").await;
    assert_eq!((event["origin"].as_str(), event["iteration"].as_i64()), (Some("daemon"), Some(41)));
    assert_eq!((event["script"].as_str(), event["error_kind"].as_str()), (Some("hello_gpu"), Some("division_by_zero")));
    assert_eq!((event["backend"].as_str(), event["image_hash"].as_str()), (Some("gpu"), Some("cd")));
    bus.publish(Event::from_daemon_json(json!({"event": "cycle_finished", "cycle": 3, "executions": 2})));
    let event = next_event(&mut body, "daemon").await;
    assert_eq!((event["event"].as_str(), event["data"]["executions"].as_u64()), (Some("cycle_finished"), Some(2)));
    assert!(event["data"].get("event").is_none());
}

#[tokio::test]
async fn closing_the_bus_ends_the_streams() {
    let state = AppState::new(Arc::new(Engine::cpu_only()));
    let bus = state.events().clone();
    let response = app(state).oneshot(get("/api/events")).await.expect("infallible");
    let mut body = response.into_body();
    bus.close();
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(frame) = body.frame().await {
            frame.expect("frame");
        }
    })
    .await;
    assert!(end.is_ok(), "the stream ends after close()");
}
