//! The web UI's static files (`crates/server/ui/`), compiled into the binary and served at `/`
//! and `/ui/...`, so `gvpie serve` alone serves the whole UI offline.
//!
//! The files are plain HTML, CSS and JavaScript modules with no build step. They are embedded
//! with `include_bytes!` from [`ASSETS`]; a unit test checks that every file under `ui/` (except
//! the browser tests in `ui/tests/`) is listed there. These routes are static and public: they
//! carry no data, so they sit outside the token check (the UI asks for the token and sends it
//! with its API calls). They are not part of the OpenAPI document, which describes the API.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// One embedded file: its path under `ui/`, its media type and its bytes.
struct Asset {
    path: &'static str,
    media_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $media_type:literal) => {
        Asset { path: $path, media_type: $media_type, bytes: include_bytes!(concat!("../ui/", $path)) }
    };
}

/// Every file of the UI.
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("js/api.js", "text/javascript; charset=utf-8"),
    asset!("js/canvasview.js", "text/javascript; charset=utf-8"),
    asset!("js/chart.js", "text/javascript; charset=utf-8"),
    asset!("js/dashboard.js", "text/javascript; charset=utf-8"),
    asset!("js/debugger.js", "text/javascript; charset=utf-8"),
    asset!("js/diff.js", "text/javascript; charset=utf-8"),
    asset!("js/dom.js", "text/javascript; charset=utf-8"),
    asset!("js/editor.js", "text/javascript; charset=utf-8"),
    asset!("js/explorer.js", "text/javascript; charset=utf-8"),
    asset!("js/main.js", "text/javascript; charset=utf-8"),
    asset!("js/program.js", "text/javascript; charset=utf-8"),
    asset!("js/pxl.js", "text/javascript; charset=utf-8"),
    asset!("js/textedit.js", "text/javascript; charset=utf-8"),
    asset!("js/blocks.js", "text/javascript; charset=utf-8"),
];

/// Only our own files: no CDN, no inline scripts. Images may come from blobs (thumbnails
/// fetched with the token) and data URLs (canvases).
const CSP: &str = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; \
    connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The UI's routes: `GET /` (the page) and `GET /ui/{*path}` (its files).
pub(crate) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/", get(index)).route("/ui/{*path}", get(file))
}

async fn index() -> Response {
    serve("index.html")
}

async fn file(Path(path): Path<String>) -> Response {
    serve(&path)
}

fn serve(path: &str) -> Response {
    match ASSETS.iter().find(|asset| asset.path == path) {
        Some(asset) => {
            let mut response = asset.bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.media_type));
            // The files change with the binary; revalidating is cheap on loopback.
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
            headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            response
        }
        None => {
            let body = serde_json::json!({"error": {"kind": "not_found", "message": format!("no UI file {path}")}});
            (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ASSETS;

    /// Files under `ui/` that are not served (notes for developers).
    fn is_served(relative: &str) -> bool {
        !relative.ends_with(".md")
    }

    fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read ui/") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|name| name == "tests" || name == "node_modules") {
                    continue;
                }
                walk(&path, root, out);
            } else {
                let relative = path.strip_prefix(root).expect("under ui/").to_string_lossy().replace('\\', "/");
                out.push(relative);
            }
        }
    }

    #[test]
    fn every_ui_file_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        let mut files = Vec::new();
        walk(&root, &root, &mut files);
        let mut on_disk: Vec<String> = files.into_iter().filter(|f| is_served(f)).collect();
        on_disk.sort();
        let mut embedded: Vec<String> = ASSETS.iter().map(|a| a.path.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk, "ASSETS in ui.rs and the files under crates/server/ui/ differ");
    }
}
