//! [`AppJson`], the JSON body extractor: content type, size and arrival time are checked, and
//! every rejection is an [`AppError`] in the one error shape.
//!
//! The body is read here, chunk by chunk, under the server's body limit and body timeout, so a
//! 64 MB body is refused as soon as its `Content-Length` (or its bytes) pass the limit and a
//! body that trickles in is cut off with 408. This module does not validate field values;
//! the handlers do.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::state::AppState;

/// A JSON request body, parsed as `T`.
#[derive(Debug)]
pub struct AppJson<T>(pub T);

impl<T> FromRequest<AppState> for AppJson<T>
where
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<AppJson<T>, AppError> {
        check_content_type(&request)?;
        let limits = state.limits();
        let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|length| length > limits.max_body_bytes as u64) {
            return Err(too_large(limits.max_body_bytes));
        }
        let bytes = read_body(request.into_body(), limits.max_body_bytes, limits.body_timeout).await?;
        // Serde would also take an array for a struct (field by position); requests are objects.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|&b| b != b'{') {
            parse_json::<serde::de::IgnoredAny>(&bytes)?;
            return Err(AppError::InvalidRequest("the body must be a JSON object ({...})".to_string()));
        }
        parse_json(&bytes).map(AppJson)
    }
}

fn check_content_type(request: &Request) -> Result<(), AppError> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
    let is_json = content_type.is_some_and(|value| {
        let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
    });
    if is_json {
        Ok(())
    } else {
        Err(AppError::UnsupportedMediaType(format!(
            "send the body as JSON with the header 'Content-Type: application/json' (got {})",
            content_type.map_or_else(|| "no Content-Type".to_string(), |value| format!("'{value}'"))
        )))
    }
}

/// Reads a whole body, refusing more than `max_bytes` (413) or a body slower than `timeout` (408).
pub(crate) async fn read_body(body: Body, max_bytes: usize, timeout: std::time::Duration) -> Result<Vec<u8>, AppError> {
    let mut stream = body.into_data_stream();
    let read = async {
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| AppError::InvalidRequest("the body could not be read".to_string()))?;
            if bytes.len() + chunk.len() > max_bytes {
                return Err(too_large(max_bytes));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(result) => result,
        Err(_elapsed) => {
            Err(AppError::RequestTimeout(format!("the body did not arrive within {} ms", timeout.as_millis())))
        }
    }
}

fn too_large(max_bytes: usize) -> AppError {
    AppError::PayloadTooLarge(format!("the body is larger than this server's limit of {max_bytes} bytes"))
}

/// Parses JSON, telling syntax errors (400, with line and column) from wrong fields (422).
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(bytes).map_err(|err| {
        use serde_json::error::Category;
        let line = u32::try_from(err.line()).unwrap_or(u32::MAX);
        let column = u32::try_from(err.column()).unwrap_or(u32::MAX);
        let message = strip_position(&err.to_string());
        match err.classify() {
            Category::Syntax | Category::Eof | Category::Io => AppError::MalformedJson { message, line, column },
            // A truncated or broken document can fail on a type first ("[1, 2" against an object):
            // report the syntax error when there is one.
            Category::Data => match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Err(syntax) if syntax.classify() != Category::Data => AppError::MalformedJson {
                    message: strip_position(&syntax.to_string()),
                    line: u32::try_from(syntax.line()).unwrap_or(u32::MAX),
                    column: u32::try_from(syntax.column()).unwrap_or(u32::MAX),
                },
                _ => AppError::InvalidRequest(message),
            },
        }
    })
}

/// serde_json appends " at line L column C"; the error shape carries those as fields.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(idx) => message[..idx].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only parsed")]
    struct Sample {
        width: u32,
    }

    #[test]
    fn syntax_errors_are_400_with_position() {
        let err = parse_json::<Sample>(b"{\n  \"width\": }").expect_err("bad json");
        assert_eq!(err.status().as_u16(), 400);
        let body = err.body();
        assert_eq!(body.error.kind, "malformed_json");
        assert_eq!((body.error.line, body.error.column), (Some(2), Some(12)));
        assert!(!body.error.message.contains(" at line "), "{}", body.error.message);
    }

    #[test]
    fn wrong_types_are_422() {
        let err = parse_json::<Sample>(br#"{"width": "wide"}"#).expect_err("wrong type");
        assert_eq!(err.status().as_u16(), 422);
        assert_eq!(err.body().error.kind, "invalid_request");
        let err = parse_json::<Sample>(br#"{"widht": 3}"#).expect_err("unknown field");
        assert!(err.body().error.message.contains("unknown field `widht`"));
    }

    #[test]
    fn empty_body_is_malformed() {
        let err = parse_json::<Sample>(b"").expect_err("empty");
        assert_eq!(err.body().error.kind, "malformed_json");
    }
}
