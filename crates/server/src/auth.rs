//! Bearer-token authentication: with a token configured, every request except `GET /health`
//! must carry `Authorization: Bearer TOKEN`, or it is answered 401.
//!
//! The comparison takes the same time wherever the first difference is and whatever the
//! expected token's length: it depends only on the length of the token presented, which the
//! caller knows anyway. This module decides nothing about which addresses may be bound; see
//! [`crate::check_bind`], nor about `Host` and `Origin`; see `crate::guard`.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::state::AppState;

/// The middleware.
pub(crate) async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(token) = state.token() else {
        return next.run(request).await;
    };
    let is_health = request.method() == Method::GET && request.uri().path() == "/health";
    if is_health || presented_token(&request).is_some_and(|given| same_bytes(given.as_bytes(), token.as_bytes())) {
        next.run(request).await
    } else {
        AppError::Unauthorized.into_response()
    }
}

fn presented_token(request: &Request) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Equality in time that depends only on `given`'s length: every byte of `given` is compared
/// (with the expected bytes repeated cyclically), a length mismatch is folded into the same
/// accumulator, and nothing returns early.
fn same_bytes(given: &[u8], expected: &[u8]) -> bool {
    let mut difference = (given.len() ^ expected.len()) as u64;
    for (index, &byte) in given.iter().enumerate() {
        let other = if expected.is_empty() { 0 } else { expected[index % expected.len()] };
        difference |= u64::from(byte ^ other);
    }
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::same_bytes;

    #[test]
    fn comparison() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"abcd"));
        assert!(!same_bytes(b"abcabc", b"abc"), "a repetition of the token is not the token");
        assert!(!same_bytes(b"", b"abc"));
        assert!(!same_bytes(b"abc", b""));
        assert!(same_bytes(b"", b""));
    }
}
