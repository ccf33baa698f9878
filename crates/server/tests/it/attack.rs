//! The attacks of issue 17 against a real server on a loopback port: a batch whose answer
//! would not fit in memory, work left behind by a client that went away, a shutdown with a
//! long run in flight, endpoints that computed outside the admission gate, and an optimize goal
//! whose script runs past the time limit. Assertions are on answers and counters, not on wall
//! time; the timings are in `bench/attack.py`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use gvpie_exec::Engine;
use gvpie_server::{AppState, Limits, StorePool, serve};
use gvpie_store::{NewScript, Store};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::util::test_limits;

/// A CLS loop: it never ends by itself, and each instruction touches every pixel.
const FOREVER: &str = "top:\nCLS 1 2 3\nJMP top";

/// A server on `127.0.0.1:0`, stopped by [`Running::stop`].
struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn start(state: AppState) -> Running {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, state, async move {
            let _ = stopped.await;
        }));
        Running { addr, stop: Some(stop), server }
    }

    /// Sends the request head and body on a new connection; the connection, to read from.
    async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> TcpStream {
        let mut stream = TcpStream::connect(self.addr).await.expect("connect");
        let body = body.map(Value::to_string).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("send the head");
        stream.write_all(body.as_bytes()).await.expect("send the body");
        stream
    }

    /// One request, its status and body.
    async fn request(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
        read_answer(self.send(method, path, body).await).await
    }

    /// `gvpie_executions_in_flight` from `/metrics`.
    async fn in_flight(&self) -> u64 {
        let (status, body) = self.request("GET", "/metrics", None).await;
        assert_eq!(status, 200, "{body}");
        body.lines()
            .find_map(|line| line.strip_prefix("gvpie_executions_in_flight "))
            .and_then(|n| n.trim().parse().ok())
            .expect("the in-flight gauge")
    }

    /// Waits (polling, at most `tries` times 20 ms) until `in_flight` is `n`; whether it got there.
    async fn wait_in_flight(&self, n: u64, tries: u32) -> bool {
        for _ in 0..tries {
            if self.in_flight().await == n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// Triggers the shutdown and waits for `serve` to return.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let ended = tokio::time::timeout(Duration::from_secs(60), &mut self.server).await;
        assert!(matches!(ended, Ok(Ok(Ok(())))), "the server stops: {ended:?}");
    }
}

/// Reads a whole `Connection: close` answer: status and body.
async fn read_answer(mut stream: TcpStream) -> (u16, String) {
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.expect("read the answer");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|err| panic!("not JSON ({err}): {body}"))
}

fn state(limits: Limits) -> AppState {
    AppState::new(Arc::new(Engine::cpu_only())).with_limits(limits)
}

/// Limits with a time limit far longer than any test waits, so only cancellation ends a run early.
fn long_limits() -> Limits {
    Limits {
        execution_time_limit: Duration::from_secs(120),
        request_timeout: Duration::from_secs(300),
        ..test_limits()
    }
}

/// Finding 1: 16 programs × 2048×2048 × rgba would need about 600 MiB of canvases and images
/// (and 1024 of them, 37 GiB); the server refused nothing and was killed for memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_results_do_not_fit_is_refused_before_any_work() {
    let server = Running::start(state(test_limits())).await;
    let programs: Vec<Value> = (0..16).map(|_| json!({"code": "HALT"})).collect();
    let body = json!({"programs": programs, "width": 2048, "height": 2048, "image": "rgba", "backend": "cpu"});
    let (status, answer) = server.request("POST", "/api/execute/batch", Some(&body)).await;
    assert_eq!(status, 422, "{answer}");
    let error = &json_of(&answer)["error"];
    assert_eq!(error["kind"], "limit_exceeded");
    let message = error["message"].as_str().expect("message");
    for part in ["16 programs", "2048x2048", "rgba", "256 MiB"] {
        assert!(message.contains(part), "{part} missing: {message}");
    }
    // Nothing ran.
    let (_, metrics) = server.request("GET", "/metrics", None).await;
    assert!(!metrics.lines().any(|l| l.starts_with("gvpie_executions_total{") && !l.ends_with(" 0")), "{metrics}");
    // A PNG's worst case counts too; without an image only the canvases count, and a batch that fits runs.
    let body = json!({"programs": programs, "width": 2048, "height": 2048, "image": "png"});
    assert_eq!(server.request("POST", "/api/execute/batch", Some(&body)).await.0, 422);
    let small: Vec<Value> = (0..4).map(|_| json!({"code": "HALT"})).collect();
    let body = json!({"programs": small, "width": 64, "height": 64, "image": "rgba"});
    let (status, answer) = server.request("POST", "/api/execute/batch", Some(&body)).await;
    assert_eq!(status, 200, "{answer}");
    let rgba =
        json_of(&answer)["results"][3]["image"].as_str().map(|b| base64::engine::general_purpose::STANDARD.decode(b));
    assert!(matches!(rgba, Some(Ok(bytes)) if bytes.len() == 64 * 64 * 4));
    server.stop().await;
}

/// Finding 1 (the work went on after the answer): a client that leaves cancels its work, for
/// one program and for a batch; the slot is free long before the time limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_whose_client_went_away_is_cancelled() {
    let server = Running::start(state(long_limits())).await;
    let single = json!({"code": FOREVER, "budget": 1_000_000_000u64, "backend": "cpu"});
    let batch = json!({"programs": [{"code": FOREVER}, {"code": FOREVER}], "budget": 1_000_000_000u64,
        "width": 256, "height": 256, "backend": "auto"});
    for (path, body) in [("/api/execute", &single), ("/api/execute/batch", &batch)] {
        let connection = server.send("POST", path, Some(body)).await;
        assert!(server.wait_in_flight(1, 500).await, "{path} started");
        drop(connection);
        // 120 s of time limit: only the cancellation frees the slot within these 10 s.
        assert!(server.wait_in_flight(0, 500).await, "{path}: the run was not cancelled");
    }
    server.stop().await;
}

/// Finding 1: a request that outlives the request timeout is answered 503 and its work stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_of_a_timed_out_request_is_cancelled() {
    let limits = Limits { request_timeout: Duration::from_millis(300), ..long_limits() };
    let server = Running::start(state(limits)).await;
    let batch = json!({"programs": [{"code": FOREVER}, {"code": FOREVER}], "budget": 1_000_000_000u64});
    let (status, answer) = server.request("POST", "/api/execute/batch", Some(&batch)).await;
    assert_eq!(status, 503, "{answer}");
    assert!(server.wait_in_flight(0, 500).await, "the batch was not cancelled");
    server.stop().await;
}

/// Finding 7: a shutdown cancels the work in flight (which answers `time_limit`, cancelled)
/// instead of waiting for it; before, a billion-cycle run held the shutdown until its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_cancels_the_work_in_flight() {
    let server = Running::start(state(long_limits())).await;
    let body = json!({"code": FOREVER, "budget": 1_000_000_000u64, "width": 512, "height": 512});
    let connection = server.send("POST", "/api/execute", Some(&body)).await;
    assert!(server.wait_in_flight(1, 500).await, "started");
    let answer = tokio::spawn(read_answer(connection));
    server.stop().await;
    let (status, body) = answer.await.expect("the answer");
    assert_eq!(status, 200, "{body}");
    let result = json_of(&body);
    assert_eq!(result["error"]["kind"], "time_limit", "{result}");
    assert!(result["error"]["message"].as_str().is_some_and(|m| m.starts_with("cancelled")), "{result}");
}

fn store_state(limits: Limits, dir: &tempfile::TempDir) -> AppState {
    let db = dir.path().join("gvpie.db");
    let store = Store::open(&db).expect("open");
    for (name, code) in [("forever", "x:\nJMP x\n"), ("square", "RECT 0 0 4 4\nHALT")] {
        let new = NewScript {
            name: name.into(),
            lang: "pixel".into(),
            purpose: None,
            code: code.into(),
            enabled: true,
            parent_script_id: None,
        };
        store.create_script(&new).expect("script");
    }
    let pool = StorePool::open(db.to_str().expect("utf-8 path")).expect("open the store");
    state(limits).with_store(pool)
}

/// Findings 3, 4 and 5: check, debug, cartridge pack and unpack, goal creation, storing a program
/// or a cartridge and reading a batch's cartridges all compute;
/// they took no execution slot (up to 512 blocking threads, 100 MiB a PNG bomb). Now, with
/// the only slot busy and no queue, each is refused at once with 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_that_computes_takes_a_slot() {
    let dir = tempfile::tempdir().expect("temp dir");
    let limits = Limits { max_concurrent: 1, max_queue: 0, ..long_limits() };
    let server = Running::start(store_state(limits, &dir)).await;
    let busy = json!({"code": FOREVER, "budget": 1_000_000_000u64, "width": 512, "height": 512});
    let connection = server.send("POST", "/api/execute", Some(&busy)).await;
    assert!(server.wait_in_flight(1, 500).await, "started");

    let canvas = gvpie_raster::Canvas::new(4, 4).expect("canvas");
    let png = base64::engine::general_purpose::STANDARD.encode(gvpie_cart::encode_png(&canvas, 1));
    let cartridge = gvpie_cart::pack("HALT", &canvas).expect("pack");
    let cartridge = base64::engine::general_purpose::STANDARD.encode(cartridge);
    let requests = [
        ("/api/check", json!({"code": "HALT"})),
        ("/api/debug", json!({"code": "HALT", "mode": "step", "cycle": 0})),
        ("/api/cart/pack", json!({"code": "HALT"})),
        ("/api/cart/unpack", json!({"cartridge": cartridge})),
        ("/api/goals", json!({"kind": "image", "target_png": png})),
        ("/api/goals", json!({"kind": "optimize", "script": "square"})),
        ("/api/programs", json!({"code": "HALT"})),
        ("/api/cartridges", json!({"cartridge": cartridge})),
        // Reading a cartridge's SIZE decodes its PNG: that takes a slot too.
        ("/api/execute/batch", json!({"programs": [{"cartridge": cartridge}, {"code": "HALT"}]})),
    ];
    for (path, body) in &requests {
        let (status, answer) = server.request("POST", path, Some(body)).await;
        assert_eq!(status, 429, "{path}: {answer}");
        assert_eq!(json_of(&answer)["error"]["kind"], "overloaded", "{path}");
    }
    drop(connection);
    assert!(server.wait_in_flight(0, 500).await, "cancelled");
    // With the slot free, the same requests are served.
    for (path, body) in &requests {
        let (status, answer) = server.request("POST", path, Some(body)).await;
        assert!(status == 200 || status == 201, "{path}: {status} {answer}");
    }
    server.stop().await;
}

/// Finding 5: an optimize goal runs its script once to have a reference; a script that runs
/// for the whole billion-cycle budget held a thread for minutes. Now it runs under the time
/// limit and the goal is refused with `time_limit`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_optimize_goal_whose_script_does_not_end_in_time_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let limits = Limits { execution_time_limit: Duration::from_millis(200), ..test_limits() };
    let server = Running::start(store_state(limits, &dir)).await;
    let body = json!({"kind": "optimize", "script": "forever", "cycle_budget": 1_000_000_000u64});
    let (status, answer) = server.request("POST", "/api/goals", Some(&body)).await;
    assert_eq!(status, 422, "{answer}");
    let error = &json_of(&answer)["error"];
    assert_eq!(error["kind"], "time_limit", "{answer}");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("'forever'")), "{answer}");
    // A script that halts is still a goal.
    let body = json!({"kind": "optimize", "script": "square"});
    assert_eq!(server.request("POST", "/api/goals", Some(&body)).await.0, 201);
    server.stop().await;
}
