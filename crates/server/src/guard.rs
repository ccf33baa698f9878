//! Guards in front of every route, the web UI's files included: which `Host` and `Origin` a
//! request may carry, how long its URI and headers may be, and the one JSON error shape for
//! every error answer, axum's own rejections included.
//!
//! **DNS rebinding.** Without a token the server listens on loopback only (see
//! [`crate::check_bind`]), but a web page whose domain is made to resolve to 127.0.0.1 reaches it
//! from the browser with its own domain in `Host`. So without a token only loopback `Host` values
//! are accepted: `127.0.0.0/8`, `[::1]` and `localhost`, each with an optional port; any other is
//! answered 403 `forbidden`. A request without `Host` (HTTP/1.0 tools) is not a browser's and
//! passes. With a token any `Host` is accepted (a page cannot send the token).
//!
//! **Cross-site requests.** A state-changing request (POST, PUT, PATCH, DELETE) that carries an
//! `Origin` must come from this server's own origin: `http://` or `https://` followed by the
//! request's own `Host`. Anything else (another site, another port, `null`) is answered 403
//! `forbidden` before any handler runs, so a page cannot add scripts for the daemon to run.
//! Clients that are not browsers send no `Origin` and pass.
//!
//! **Errors.** [`json_errors`] turns any error answer that is not already in the JSON error shape
//! (axum's path and query rejections, such as a path with invalid UTF-8) into it. What hyper
//! answers itself, before any of this runs, is documented in `docs/api.md`: a request line or
//! header section it cannot parse gets an empty 400, one longer than its buffer (about 400 KiB)
//! or with more than [`HYPER_MAX_HEADERS`] headers an empty 431, and a URI over 64 KiB an empty
//! 414. The limits here ([`MAX_URI_BYTES`], [`MAX_HEADER_BYTES`], [`MAX_HEADERS`]) are lower, so
//! every request that hyper parses but that is too large is refused in the JSON shape.

use std::net::{Ipv4Addr, Ipv6Addr};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, ErrorBody, ErrorDetail, ErrorLog};
use crate::state::AppState;

/// The longest request target (path and query) answered in the JSON shape; longer is 414.
pub const MAX_URI_BYTES: usize = 8 << 10;
/// The most header bytes (names and values) of one request; more is 431.
pub const MAX_HEADER_BYTES: usize = 64 << 10;
/// The most headers of one request; more is 431.
pub const MAX_HEADERS: usize = 100;
/// The most headers hyper parses (more get hyper's own empty 431): above [`MAX_HEADERS`], so that
/// the range between them is answered in the JSON shape.
pub const HYPER_MAX_HEADERS: usize = 256;

/// The most of a non-JSON error body that is carried into the JSON message.
const MAX_CARRIED_MESSAGE: usize = 1024;

/// The middleware: size limits, then `Host` (without a token), then `Origin` (state-changing
/// requests).
pub(crate) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match check(&state, &request) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

fn check(state: &AppState, request: &Request) -> Result<(), AppError> {
    let target = request.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI_BYTES {
        return Err(AppError::UriTooLong(format!(
            "the request target is {target} bytes; this server accepts at most {MAX_URI_BYTES}"
        )));
    }
    check_header_size(request.headers())?;
    let host = request_host(request);
    if state.token().is_none()
        && let Some(host) = &host
        && !is_loopback_host(host)
    {
        return Err(AppError::Forbidden(format!(
            "Host '{}' is not a loopback name: without a token this server answers only requests for \
             127.0.0.1, [::1] or localhost (a page on another domain cannot use it); start it with a token \
             to serve other names",
            printable(host)
        )));
    }
    if is_state_changing(request.method())
        && let Some(origin) = request.headers().get(header::ORIGIN)
        && !is_own_origin(origin, host.as_deref())
    {
        return Err(AppError::Forbidden(format!(
            "Origin '{}' is not this server's own: {} requests from other sites are refused",
            printable(&String::from_utf8_lossy(origin.as_bytes())),
            request.method()
        )));
    }
    Ok(())
}

fn check_header_size(headers: &HeaderMap) -> Result<(), AppError> {
    if headers.len() > MAX_HEADERS {
        return Err(AppError::HeadersTooLarge(format!(
            "the request has {} headers; this server accepts at most {MAX_HEADERS}",
            headers.len()
        )));
    }
    let bytes: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if bytes > MAX_HEADER_BYTES {
        return Err(AppError::HeadersTooLarge(format!(
            "the request's headers are {bytes} bytes; this server accepts at most {MAX_HEADER_BYTES}"
        )));
    }
    Ok(())
}

/// The `Host` header, else the authority of an absolute-form target; `None` when neither is
/// there. A `Host` that is not text is kept as its lossy text (and so refused).
fn request_host(request: &Request) -> Option<String> {
    match request.headers().get(header::HOST) {
        Some(value) => Some(String::from_utf8_lossy(value.as_bytes()).into_owned()),
        None => request.uri().authority().map(|authority| authority.as_str().to_string()),
    }
}

fn is_state_changing(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

/// `127.0.0.0/8`, `[::1]` or `localhost` (any case), each with an optional port.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else { return false };
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return false,
            },
        };
        if !inside.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback()) {
            return false;
        }
        (None, port)
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) => (Some(name), Some(port)),
            None => (Some(host), None),
        }
    };
    if port.is_some_and(|port| port.is_empty() || port.len() > 5 || port.parse::<u16>().is_err()) {
        return false;
    }
    match name {
        None => true,
        Some(name) => {
            name.eq_ignore_ascii_case("localhost") || name.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        }
    }
}

/// `Origin` is `http://HOST` or `https://HOST` for the request's own `Host` (case-insensitive).
fn is_own_origin(origin: &HeaderValue, host: Option<&str>) -> bool {
    let (Ok(origin), Some(host)) = (origin.to_str(), host) else { return false };
    let origin = origin.trim();
    let Some(rest) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) else {
        return false;
    };
    !host.is_empty() && rest.eq_ignore_ascii_case(host)
}

/// `text` with control characters escaped, at most 200 characters, for an error message.
fn printable(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().take(200) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The middleware that puts every error answer in the JSON error shape: an answer of status 400
/// or more that is not already JSON (an axum rejection, a fallback) gets the shape, its status
/// kept and its text (if any) as the message.
pub(crate) async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || response.extensions().get::<ErrorLog>().is_some() {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(';').next().is_some_and(|essence| essence.trim() == "application/json"));
    if is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, 64 << 10).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let detail = if text.is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { text };
    let message = if status.is_server_error() {
        "something went wrong on the server".to_string()
    } else {
        printable(&detail.chars().take(MAX_CARRIED_MESSAGE).collect::<String>())
    };
    let body =
        ErrorBody { error: ErrorDetail { kind: kind_of(status).to_string(), message, line: None, column: None } };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut response = Response::from_parts(parts, Body::from(bytes));
    response.extensions_mut().insert(ErrorLog(format!("{}: {detail}", kind_of(status))));
    response
}

/// The `kind` of an error answer by its status, for answers that did not come from an [`AppError`].
fn kind_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        413 => "payload_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        422 => "invalid_request",
        429 => "overloaded",
        431 => "headers_too_large",
        503 => "unavailable",
        500..=599 => "internal",
        _ => "bad_request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for good in [
            "127.0.0.1",
            "127.0.0.1:8081",
            "127.1.2.3:1",
            "localhost",
            "LocalHost:65535",
            "[::1]",
            "[::1]:8081",
            "[0:0:0:0:0:0:0:1]:80",
        ] {
            assert!(is_loopback_host(good), "{good}");
        }
        for bad in [
            "",
            "evil.example",
            "evil.example:8081",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "128.0.0.1",
            "0.0.0.0:8081",
            "10.0.0.1",
            "[::2]",
            "[::1",
            "[::1]x",
            "[::1]:",
            "127.0.0.1:",
            "127.0.0.1:99999",
            "127.0.0.1:80:80",
            "localhost:http",
            "::1",
            "127.1",
            "localhost.",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn own_origins() {
        let origin = |text: &str| HeaderValue::from_str(text).expect("header");
        assert!(is_own_origin(&origin("http://127.0.0.1:8081"), Some("127.0.0.1:8081")));
        assert!(is_own_origin(&origin("https://LOCALHOST:9"), Some("localhost:9")));
        assert!(!is_own_origin(&origin("http://127.0.0.1:8082"), Some("127.0.0.1:8081")));
        assert!(!is_own_origin(&origin("http://evil.example"), Some("127.0.0.1:8081")));
        assert!(!is_own_origin(&origin("null"), Some("127.0.0.1:8081")));
        assert!(!is_own_origin(&origin("http://127.0.0.1:8081"), None));
        assert!(!is_own_origin(&origin("ftp://127.0.0.1:8081"), Some("127.0.0.1:8081")));
    }
}
