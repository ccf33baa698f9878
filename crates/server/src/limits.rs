//! The server's limits and bind policy: how much one request may ask for, how many executions
//! run at once, and which addresses may be bound without a token.
//!
//! This module only holds numbers and checks; the code that enforces each limit lives where the
//! limit applies (body reading, request validation, the execution gate).

use std::net::SocketAddr;
use std::time::Duration;

/// Everything a request may ask for, and how much load the server accepts.
///
/// The defaults suit one machine serving a daemon, a UI and a few scripts; tests shrink them.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest request body in bytes (larger bodies get 413 before they are read).
    pub max_body_bytes: usize,
    /// The largest program source in bytes (one program, or each program of a batch).
    pub max_code_bytes: usize,
    /// The largest canvas side in pixels.
    pub max_side: u32,
    /// The most pixels in one canvas (width × height).
    pub max_pixels: u64,
    /// The budget used when a request names none.
    pub default_budget: u64,
    /// The largest budget a request may ask for.
    pub max_budget: u64,
    /// The most programs in one batch.
    pub max_batch: usize,
    /// The most memory the results of one request may take: every program's canvas (4 bytes a
    /// pixel) plus its encoded image (base64 of 4 bytes a pixel for `rgba`, of a PNG's worst
    /// case for `png`). Checked before any work starts (422 `limit_exceeded`).
    pub max_result_bytes: u64,
    /// Executions (or batches) running at the same time.
    pub max_concurrent: usize,
    /// Executions waiting for a slot; one more is answered 429.
    pub max_queue: usize,
    /// How long a request may wait for a slot before it is answered 503.
    pub queue_timeout: Duration,
    /// Wall time one execution (or one batch) may run; past it the run stops with `time_limit`.
    pub execution_time_limit: Duration,
    /// How long the body of a request may take to arrive (408 after), and also how long the request
    /// line and headers may take, idle keep-alive connections included (closed after, no answer).
    pub body_timeout: Duration,
    /// Wall time for a whole request, the event stream excepted (503 after).
    pub request_timeout: Duration,
    /// The seconds a 429 or 503 answer tells the client to wait (`Retry-After`).
    pub retry_after_secs: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Limits {
            max_body_bytes: 16 << 20,
            max_code_bytes: 1 << 20,
            max_side: gvpie_raster::MAX_SIDE,
            max_pixels: 1 << 22,
            default_budget: gvpie_pxl::DEFAULT_BUDGET,
            max_budget: 1_000_000_000,
            max_batch: 1024,
            max_result_bytes: 256 << 20,
            max_concurrent: cores,
            max_queue: 256,
            queue_timeout: Duration::from_secs(10),
            execution_time_limit: Duration::from_secs(5),
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            retry_after_secs: 1,
        }
    }
}

/// Why the server refuses to start.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindError {
    /// A non-loopback address was asked for without a token.
    PublicWithoutToken(SocketAddr),
    /// The token is empty or holds characters a header cannot carry.
    BadToken,
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BindError::PublicWithoutToken(addr) => write!(
                f,
                "refusing to listen on {addr} without a token: anyone who can reach it could run programs \
                 and read the database. Pass --token TOKEN (or set GVPIE_TOKEN), or bind a loopback address \
                 such as 127.0.0.1:{}",
                addr.port()
            ),
            BindError::BadToken => {
                write!(f, "the token must be 1 to 256 visible ASCII characters (no spaces)")
            }
        }
    }
}

impl std::error::Error for BindError {}

/// Checks the bind policy: loopback addresses may go without a token, others may not.
///
/// ```
/// use gvpie_server::check_bind;
///
/// assert!(check_bind("127.0.0.1:8081".parse()?, None).is_ok());
/// assert!(check_bind("0.0.0.0:8081".parse()?, None).is_err());
/// assert!(check_bind("0.0.0.0:8081".parse()?, Some("s3cret")).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_bind(addr: SocketAddr, token: Option<&str>) -> Result<(), BindError> {
    if let Some(token) = token {
        let visible = token.bytes().all(|b| b.is_ascii_graphic());
        if token.is_empty() || token.len() > 256 || !visible {
            return Err(BindError::BadToken);
        }
        return Ok(());
    }
    if addr.ip().is_loopback() { Ok(()) } else { Err(BindError::PublicWithoutToken(addr)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_policy() {
        let addr = |s: &str| s.parse::<SocketAddr>().expect("test address");
        assert!(check_bind(addr("127.0.0.1:1"), None).is_ok());
        assert!(check_bind(addr("127.8.9.10:1"), None).is_ok());
        assert!(check_bind(addr("[::1]:1"), None).is_ok());
        assert_eq!(check_bind(addr("0.0.0.0:1"), None), Err(BindError::PublicWithoutToken(addr("0.0.0.0:1"))));
        assert!(check_bind(addr("[::]:1"), None).is_err());
        assert!(check_bind(addr("192.168.1.2:1"), None).is_err());
        assert_eq!(check_bind(addr("0.0.0.0:1"), Some("")), Err(BindError::BadToken));
        assert_eq!(check_bind(addr("0.0.0.0:1"), Some("a b")), Err(BindError::BadToken));
        assert!(check_bind(addr("0.0.0.0:1"), Some("token")).is_ok());
        let message = check_bind(addr("0.0.0.0:8081"), None).map_err(|e| e.to_string());
        assert!(message.is_err_and(|m| m.contains("--token") && m.contains("GVPIE_TOKEN")));
    }
}
