//! A real server on loopback against what a hostile web page can make a browser send: a
//! rebound domain in `Host`, another site's `Origin` on state-changing requests; and every error
//! it answers, axum's and the guard's, in the one JSON error shape. Raw HTTP/1.1 over TCP, so
//! any header can be sent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use gvpie_exec::Engine;
use gvpie_server::{AppState, StorePool, serve};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::util::test_limits;

/// A real server on a loopback port 0, with a database, stopped when dropped.
pub(crate) struct RealServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The database's folder, removed after the server.
    _db: tempfile::TempDir,
}

impl RealServer {
    pub(crate) async fn start(token: Option<&str>) -> RealServer {
        let db = tempfile::tempdir().expect("temp dir");
        let path = db.path().join("gvpie.db");
        RealServer::start_on(token, db, path.to_str().expect("utf-8 path")).await
    }

    pub(crate) async fn start_on(token: Option<&str>, db: tempfile::TempDir, path: &str) -> RealServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let store = StorePool::open(path).expect("open the database");
        let state = AppState::new(Arc::new(Engine::cpu_only()))
            .with_limits(test_limits())
            .with_token(token.map(str::to_string))
            .with_store(store);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, state, async move {
            let _ = stopped.await;
        }));
        RealServer { addr, stop: Some(stop), _db: db }
    }

    /// The server's own `Host` value.
    pub(crate) fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Sends `head` (request line and headers, without the final blank line) and `body`; returns
    /// the status, the raw head and the body.
    pub(crate) async fn raw(&self, head: &str, body: &str) -> (u16, String, String) {
        let mut request = format!("{head}\r\nConnection: close\r\n");
        if !body.is_empty() {
            request.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        request.push_str(body);
        self.raw_bytes(request.as_bytes()).await
    }

    /// Sends `request` as it is (any bytes); returns the status, the raw head and the body.
    pub(crate) async fn raw_bytes(&self, request: &[u8]) -> (u16, String, String) {
        let head = String::from_utf8_lossy(&request[..request.len().min(60)]).into_owned();
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.expect("connect");
        stream.write_all(request).await.expect("write");
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "no answer within 30 s to {head:?}");
        let text = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, head.to_string(), body.to_string())
    }

    /// Like [`RealServer::raw`], the body parsed as JSON (and checked to be the error shape when
    /// the status is 400 or more).
    pub(crate) async fn json(&self, head: &str, body: &str) -> (u16, Value) {
        let (status, raw_head, text) = self.raw(head, body).await;
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("{head:?}: not JSON ({err}): {status} {raw_head}\n{text}"));
        if status >= 400 {
            assert_error_shape(&value);
            assert!(raw_head.to_ascii_lowercase().contains("content-type: application/json"), "{head:?}: {raw_head}");
        }
        (status, value)
    }

    /// The scripts the database holds, by name.
    pub(crate) async fn script_names(&self) -> Vec<String> {
        let (status, list) = self.json(&format!("GET /api/scripts HTTP/1.1\r\nHost: {}", self.host()), "").await;
        assert_eq!(status, 200, "{list}");
        let mut names: Vec<String> = list["scripts"]
            .as_array()
            .expect("scripts")
            .iter()
            .filter_map(|s| s["name"].as_str().map(str::to_string))
            .collect();
        names.sort();
        names
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `{"error": {"kind", "message", "line"?, "column"?}}` and nothing else.
#[track_caller]
pub(crate) fn assert_error_shape(body: &Value) {
    let object = body.as_object().unwrap_or_else(|| panic!("not an object: {body}"));
    assert_eq!(object.len(), 1, "only `error` at the top: {body}");
    let error = body["error"].as_object().unwrap_or_else(|| panic!("no error object: {body}"));
    assert!(error["kind"].as_str().is_some_and(|k| !k.is_empty()), "{body}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    for key in error.keys() {
        assert!(["kind", "message", "line", "column"].contains(&key.as_str()), "unexpected key {key}: {body}");
    }
}

fn new_script(name: &str) -> String {
    json!({"name": name, "code": "RECT 1 1 4 4\nHALT", "lang": "pixel", "enabled": true}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_only_loopback_host_names_are_served() {
    let server = RealServer::start(None).await;
    let port = server.addr.port();
    for host in
        [format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("LOCALHOST:{port}"), "127.0.0.1".into()]
    {
        let (status, body) = server.json(&format!("GET /api/scripts HTTP/1.1\r\nHost: {host}"), "").await;
        assert_eq!(status, 200, "{host}: {body}");
    }
    // A page on evil.example whose DNS now answers 127.0.0.1: the browser sends its own name.
    for host in [format!("evil.example:{port}"), "evil.example".into(), format!("127.0.0.1.evil.example:{port}")] {
        for path in ["/api/scripts", "/health", "/", "/ui/js/main.js", "/api/openapi.json"] {
            let (status, body) = server.json(&format!("GET {path} HTTP/1.1\r\nHost: {host}"), "").await;
            assert_eq!(status, 403, "{host} {path}: {body}");
            assert_eq!(body["error"]["kind"], "forbidden", "{body}");
            assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("loopback")), "{body}");
        }
    }
    // Nor can it write.
    let (status, body) =
        server.json(&format!("POST /api/scripts HTTP/1.1\r\nHost: evil.example:{port}"), &new_script("rebound")).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (403, Some("forbidden")), "{body}");
    assert!(server.script_names().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_from_another_sites_origin_are_refused() {
    let server = RealServer::start(None).await;
    let host = server.host();
    let port = server.addr.port();
    // A cross-site form or fetch: Host is ours (loopback), Origin is the attacker's.
    for origin in [
        "http://evil.example".to_string(),
        "null".to_string(),
        format!("http://127.0.0.1:{}", port.wrapping_add(1)),
        format!("http://localhost:{port}"),
    ] {
        let (status, body) = server
            .json(&format!("POST /api/scripts HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}"), &new_script("csrf"))
            .await;
        assert_eq!(status, 403, "{origin}: {body}");
        assert_eq!(body["error"]["kind"], "forbidden");
        assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("Origin")), "{body}");
    }
    // Every state-changing method is checked, not only POST.
    let (status, _) = server
        .json(
            &format!("PATCH /api/scripts/1 HTTP/1.1\r\nHost: {host}\r\nOrigin: http://evil.example"),
            r#"{"enabled": true}"#,
        )
        .await;
    assert_eq!(status, 403);
    assert!(server.script_names().await.is_empty(), "nothing was added");

    // The web UI's own requests (its Origin is the server's) and clients that send no Origin pass.
    let (status, body) = server
        .json(&format!("POST /api/scripts HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}"), &new_script("ours"))
        .await;
    assert!(status == 200 || status == 201, "{body}");
    let (status, body) = server.json(&format!("POST /api/scripts HTTP/1.1\r\nHost: {host}"), &new_script("cli")).await;
    assert!(status == 200 || status == 201, "{body}");
    // A cross-site GET reads nothing new and changes nothing; it is not refused for its Origin.
    let (status, _) =
        server.json(&format!("GET /api/scripts HTTP/1.1\r\nHost: {host}\r\nOrigin: http://evil.example"), "").await;
    assert_eq!(status, 200);
    assert_eq!(server.script_names().await, ["cli", "ours"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_any_host_but_still_only_our_origin() {
    let server = RealServer::start(Some("s3cret")).await;
    let auth = "Authorization: Bearer s3cret";
    let (status, body) =
        server.json(&format!("GET /api/scripts HTTP/1.1\r\nHost: gvpie.example.org\r\n{auth}"), "").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server
        .json(
            &format!("POST /api/scripts HTTP/1.1\r\nHost: gvpie.example.org\r\n{auth}\r\nOrigin: http://evil.example"),
            &new_script("csrf"),
        )
        .await;
    assert_eq!((status, body["error"]["kind"].as_str()), (403, Some("forbidden")), "{body}");
    let (status, body) = server
        .json(
            &format!(
                "POST /api/scripts HTTP/1.1\r\nHost: gvpie.example.org\r\n{auth}\r\nOrigin: https://gvpie.example.org"
            ),
            &new_script("ours"),
        )
        .await;
    assert!(status == 200 || status == 201, "{body}");
}
