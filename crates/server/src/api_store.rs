//! The endpoints over the store, one module per resource: improvement scripts, the infinite
//! map and its lineage, stored images, content-addressed programs and cartridges, goals, growth, the
//! agents and a summary.
//!
//! The JSON types here are the API's own, converted from `gvpie-store`'s records, so the wire
//! contract stays put when the storage changes. Each handler does its database work on a
//! pooled connection on a blocking thread (`crate::store`). Nothing here executes programs.
//! This module holds what the resources share: reading query values, ids and hashes, and
//! answering with a PNG.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use gvpie_store::Hash;

use crate::error::AppError;

pub(crate) mod agents;
pub(crate) mod cartridges;
pub(crate) mod goals;
pub(crate) mod growth;
pub(crate) mod images;
pub(crate) mod map;
pub(crate) mod programs;
pub(crate) mod scripts;
pub(crate) mod summary;

/// Query values arrive as text so that a bad one gets this API's error shape and a clear
/// message, not the framework's.
fn query_int(name: &str, value: Option<&str>, min: i64, max: i64) -> Result<Option<i64>, AppError> {
    let Some(text) = value else { return Ok(None) };
    match text.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(AppError::InvalidRequest(format!("{name} must be a whole number from {min} to {max}, not '{text}'"))),
    }
}

fn query_bool(name: &str, value: Option<&str>) -> Result<Option<bool>, AppError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None => Ok(None),
        Some("true" | "1" | "yes") => Ok(Some(true)),
        Some("false" | "0" | "no") => Ok(Some(false)),
        Some(other) => Err(AppError::InvalidRequest(format!("{name} must be true or false, not '{other}'"))),
    }
}

fn parse_id(name: &str, text: &str) -> Result<i64, AppError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| AppError::InvalidRequest(format!("the {name} must be a whole number, not '{text}'")))
}

fn parse_hash(text: &str) -> Result<Hash, AppError> {
    Hash::from_hex(text).map_err(|_| {
        AppError::InvalidRequest(format!("'{text}' is not a SHA-256 hash (64 hex digits, optionally after sha256:)"))
    })
}

fn png_response(png: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")], png)
        .into_response()
}
