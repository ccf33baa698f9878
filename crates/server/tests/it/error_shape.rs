//! Every error a real server answers is in the one JSON error shape: axum's path and query
//! rejections (invalid UTF-8 after percent-decoding), too long a URI, too many or too large
//! headers, an unwritable database (503 with a message, not 500 "internal"). And what hyper
//! answers itself, before the app sees the request, is pinned here as documented in docs/api.md.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::rebinding::RealServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_rejections_are_in_the_json_shape() {
    let server = RealServer::start(None).await;
    let host = server.host();
    // Percent-encoded bytes that are not UTF-8 in a path parameter; a query that does not
    // deserialize (a field twice).
    for target in ["/api/scripts/%FF", "/api/map/%C3%28/lineage", "/api/map?limit=1&limit=2"] {
        let (status, body) = server.json(&format!("GET {target} HTTP/1.1\r\nHost: {host}"), "").await;
        assert_eq!(status, 400, "{target}: {body}");
        assert_eq!(body["error"]["kind"], "bad_request", "{target}: {body}");
    }
    // The fallbacks and the UI's missing files were already JSON; they stay so.
    let (status, body) = server.json(&format!("GET /no/such/thing HTTP/1.1\r\nHost: {host}"), "").await;
    assert_eq!((status, body["error"]["kind"].as_str()), (404, Some("not_found")));
    let (status, body) = server.json(&format!("DELETE /api/scripts HTTP/1.1\r\nHost: {host}"), "").await;
    assert_eq!((status, body["error"]["kind"].as_str()), (405, Some("method_not_allowed")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_uris_and_headers_are_refused_in_the_json_shape() {
    let server = RealServer::start(None).await;
    let host = server.host();
    let long = format!("/api/map?script={}", "a".repeat(gvpie_server::MAX_URI_BYTES));
    let (status, body) = server.json(&format!("GET {long} HTTP/1.1\r\nHost: {host}"), "").await;
    assert_eq!((status, body["error"]["kind"].as_str()), (414, Some("uri_too_long")), "{body}");

    let many: String = (0..gvpie_server::MAX_HEADERS + 10).map(|i| format!("\r\nX-Filler-{i}: {i}")).collect();
    let (status, body) = server.json(&format!("GET /health HTTP/1.1\r\nHost: {host}{many}"), "").await;
    assert_eq!((status, body["error"]["kind"].as_str()), (431, Some("headers_too_large")), "{body}");

    let big = "b".repeat(gvpie_server::MAX_HEADER_BYTES + 1);
    let (status, body) = server.json(&format!("GET /health HTTP/1.1\r\nHost: {host}\r\nX-Big: {big}"), "").await;
    assert_eq!((status, body["error"]["kind"].as_str()), (431, Some("headers_too_large")), "{body}");
}

/// What hyper answers before the app sees the request (documented in docs/api.md): no body, so
/// no JSON. These are the only error answers outside the shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_hyper_answers_itself() {
    let server = RealServer::start(None).await;
    let host = server.host();
    let huge_uri = format!("/{}", "u".repeat(70 << 10));
    let (status, _, body) = server.raw(&format!("GET {huge_uri} HTTP/1.1\r\nHost: {host}"), "").await;
    assert_eq!((status, body.as_str()), (414, ""));
    let too_many: String = (0..gvpie_server::HYPER_MAX_HEADERS + 1).map(|i| format!("\r\nX-F{i}: 1")).collect();
    let (status, _, body) = server.raw(&format!("GET /health HTTP/1.1\r\nHost: {host}{too_many}"), "").await;
    assert_eq!((status, body.as_str()), (431, ""));
    let (status, _, body) = server.raw("NOT HTTP AT ALL", "").await;
    assert_eq!((status, body.as_str()), (400, ""));
    // Raw bytes that are not ASCII in the target (percent-encoded ones reach the app: see above).
    let request =
        [&b"GET /api/scripts/\xff\xfe HTTP/1.1\r\nHost: "[..], host.as_bytes(), b"\r\nConnection: close\r\n\r\n"]
            .concat();
    let (status, _, body) = server.raw_bytes(&request).await;
    assert_eq!((status, body.as_str()), (400, ""));
    // And the server is still fine.
    let (status, _) = server.json(&format!("GET /health HTTP/1.1\r\nHost: {host}"), "").await;
    assert_eq!(status, 200);
}

/// Makes `path` unwritable for this process until dropped: read-only permissions, and for root
/// (whom permissions do not stop) the immutable attribute. `None` when neither works here.
struct Unwritable(PathBuf);

impl Unwritable {
    fn make(path: &Path) -> Option<Unwritable> {
        let guard = Unwritable(path.to_path_buf());
        let mut permissions = std::fs::metadata(path).ok()?.permissions();
        permissions.set_readonly(true);
        std::fs::set_permissions(path, permissions).ok()?;
        if std::fs::OpenOptions::new().write(true).open(path).is_ok() {
            let _ = Command::new("chattr").arg("+i").arg(path).output();
        }
        std::fs::OpenOptions::new().write(true).open(path).is_err().then_some(guard)
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).output();
        if let Ok(metadata) = std::fs::metadata(&self.0) {
            let mut permissions = metadata.permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            permissions.set_readonly(false);
            let _ = std::fs::set_permissions(&self.0, permissions);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_answers_503_with_a_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("gvpie.db");
    let text = path.to_str().expect("utf-8 path").to_string();
    drop(gvpie_server::StorePool::open(&text).expect("create the database"));
    let Some(_unwritable) = Unwritable::make(&path) else {
        eprintln!("!!! SKIPPED a_read_only_database_answers_503_with_a_reason: cannot make a file read-only here");
        return;
    };
    assert!(gvpie_server::StorePool::open(&text).expect("opens read-only").is_read_only());
    let server = RealServer::start_on(None, dir, &text).await;
    let host = server.host();
    // Reads work.
    let (status, body) = server.json(&format!("GET /api/scripts HTTP/1.1\r\nHost: {host}"), "").await;
    assert_eq!(status, 200, "{body}");
    // A write is the server's condition, said plainly: 503, not 500 "internal".
    let script = json!({"name": "ro", "code": "HALT", "lang": "pixel"}).to_string();
    let (status, body) = server.json(&format!("POST /api/scripts HTTP/1.1\r\nHost: {host}"), &script).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (503, Some("unavailable")), "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("read-only")), "{body}");
    // `_unwritable` is dropped before `server` (and its folder): the file is writable again first.
    drop(_unwritable);
    drop(server);
}
