//! The one error type of the API, [`AppError`], and the one error shape on the wire.
//!
//! Every failure a handler or extractor can meet becomes an [`AppError`]; its `IntoResponse`
//! writes `{"error": {"kind", "message", "line"?, "column"?}}` with the matching status.
//! Internal details never reach the client: they ride in the response extensions as
//! [`ErrorLog`] for the logging middleware (see `crate::app`), which is the only place that logs.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong, for programs (`kind`) and people (`message`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable name: `malformed_json`, `bad_request`, `invalid_request`, `invalid_program`, `limit_exceeded`,
    /// `payload_too_large`, `uri_too_long`, `headers_too_large`, `unsupported_media_type`, `unauthorized`,
    /// `forbidden`, `not_found`, `method_not_allowed`, `request_timeout`, `overloaded`, `unavailable`,
    /// `backend_unavailable`, `time_limit`, `internal`.
    pub kind: String,
    /// A sentence for people.
    pub message: String,
    /// The 1-based line where it went wrong: in the request body (`malformed_json`) or in the
    /// program (`invalid_program`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u32>,
    /// The 1-based column that goes with `line`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub column: Option<u32>,
}

/// Every way a request can fail.
#[derive(Debug)]
#[non_exhaustive]
pub enum AppError {
    /// The body is not JSON (400).
    MalformedJson {
        /// The parser's complaint.
        message: String,
        /// Where, 1-based.
        line: u32,
        /// Where, 1-based.
        column: u32,
    },
    /// A field is missing, of the wrong type, or has a value that makes no sense (422).
    InvalidRequest(String),
    /// A program to store does not compile (422, with the first error's line and column).
    InvalidProgram {
        /// Every diagnostic, one per line.
        message: String,
        /// Line of the first, 1-based.
        line: u32,
        /// Column of the first, 1-based.
        column: u32,
    },
    /// A value is valid but above what this server allows (422).
    LimitExceeded(String),
    /// The body (or a program in it) is too large (413).
    PayloadTooLarge(String),
    /// The body is not `application/json` (415).
    UnsupportedMediaType(String),
    /// The token is missing or wrong (401).
    Unauthorized,
    /// The request comes from where this server does not serve: a `Host` that is not loopback
    /// (without a token) or another site's `Origin` (403).
    Forbidden(String),
    /// The request target is too long (414).
    UriTooLong(String),
    /// Too many header bytes or headers (431).
    HeadersTooLarge(String),
    /// No such thing (404).
    NotFound(String),
    /// The path exists but not with this method (405).
    MethodNotAllowed,
    /// The body did not arrive in time (408).
    RequestTimeout(String),
    /// Too many requests are waiting already (429, `Retry-After`).
    Overloaded {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The server cannot answer now: no slot in time, no database, or the request took too long
    /// (503, `Retry-After`).
    Unavailable {
        /// What is missing.
        message: String,
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The backend asked for does not exist on this server (422).
    BackendUnavailable(String),
    /// Work the request needs before it can be answered (such as running an optimize goal's
    /// script once) did not finish within the server's time limit (422).
    TimeLimit(String),
    /// A bug or an IO failure; the detail is logged, never sent (500).
    Internal(String),
}

/// The detail of an error answer, for the logging middleware only.
#[derive(Debug, Clone)]
pub struct ErrorLog(pub String);

impl AppError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::MalformedJson { .. } => StatusCode::BAD_REQUEST,
            AppError::InvalidRequest(_)
            | AppError::InvalidProgram { .. }
            | AppError::LimitExceeded(_)
            | AppError::BackendUnavailable(_)
            | AppError::TimeLimit(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            AppError::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::Overloaded { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable `kind` of this error.
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::MalformedJson { .. } => "malformed_json",
            AppError::InvalidRequest(_) => "invalid_request",
            AppError::InvalidProgram { .. } => "invalid_program",
            AppError::LimitExceeded(_) => "limit_exceeded",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::UriTooLong(_) => "uri_too_long",
            AppError::HeadersTooLarge(_) => "headers_too_large",
            AppError::NotFound(_) => "not_found",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::RequestTimeout(_) => "request_timeout",
            AppError::Overloaded { .. } => "overloaded",
            AppError::Unavailable { .. } => "unavailable",
            AppError::BackendUnavailable(_) => "backend_unavailable",
            AppError::TimeLimit(_) => "time_limit",
            AppError::Internal(_) => "internal",
        }
    }

    /// The body sent to the client.
    pub fn body(&self) -> ErrorBody {
        let (message, line, column) = match self {
            AppError::MalformedJson { message, line, column } => {
                (format!("the body is not valid JSON: {message}"), Some(*line), Some(*column))
            }
            AppError::InvalidProgram { message, line, column } => (message.clone(), Some(*line), Some(*column)),
            AppError::InvalidRequest(message)
            | AppError::LimitExceeded(message)
            | AppError::PayloadTooLarge(message)
            | AppError::UnsupportedMediaType(message)
            | AppError::NotFound(message)
            | AppError::Forbidden(message)
            | AppError::UriTooLong(message)
            | AppError::HeadersTooLarge(message)
            | AppError::RequestTimeout(message)
            | AppError::BackendUnavailable(message)
            | AppError::TimeLimit(message)
            | AppError::Unavailable { message, .. } => (message.clone(), None, None),
            AppError::Unauthorized => {
                ("this server needs a token: send the header 'Authorization: Bearer TOKEN'".to_string(), None, None)
            }
            AppError::MethodNotAllowed => ("this path does not accept that method".to_string(), None, None),
            AppError::Overloaded { .. } => {
                ("too many requests are waiting; retry after the time in Retry-After".to_string(), None, None)
            }
            AppError::Internal(_) => ("something went wrong on the server".to_string(), None, None),
        };
        ErrorBody { error: ErrorDetail { kind: self.kind().to_string(), message, line, column } }
    }

    /// A 500 whose detail is only logged.
    pub fn internal(detail: impl std::fmt::Display) -> AppError {
        AppError::Internal(detail.to_string())
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Internal(detail) => write!(f, "internal: {detail}"),
            other => write!(f, "{}: {}", other.kind(), other.body().error.message),
        }
    }
}

impl std::error::Error for AppError {}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = self.body();
        let mut response = (status, axum::Json(body)).into_response();
        let retry_after = match &self {
            AppError::Overloaded { retry_after } | AppError::Unavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        match &self {
            AppError::Unauthorized => {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            AppError::RequestTimeout(_)
            | AppError::PayloadTooLarge(_)
            | AppError::UriTooLong(_)
            | AppError::HeadersTooLarge(_) => {
                // The rest of the body may still be on its way: close rather than read it.
                response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response.extensions_mut().insert(ErrorLog(self.to_string()));
        response
    }
}
