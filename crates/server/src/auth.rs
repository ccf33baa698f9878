//! Bearer-token authentication: with a token configured, every request except `GET /health`
//! must carry `Authorization: Bearer TOKEN`, or it is answered 401.
//!
//! The comparison takes the same time wherever the first difference is. This module decides
//! nothing about which addresses may be bound; see [`crate::check_bind`].

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

/// Equality in time that depends only on the lengths.
fn same_bytes(given: &[u8], expected: &[u8]) -> bool {
    if given.len() != expected.len() {
        return false;
    }
    given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::same_bytes;

    #[test]
    fn comparison() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"abcd"));
        assert!(same_bytes(b"", b""));
    }
}
