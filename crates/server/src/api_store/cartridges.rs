//! `/api/cartridges`: content-addressed cartridges, registered by their PNG.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use gvpie_store::NewCartridge;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::png_response;
use crate::error::{AppError, ErrorBody};
use crate::json::AppJson;
use crate::state::AppState;

/// A registered cartridge.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CartridgeJson {
    /// Row id.
    pub id: i64,
    /// Unique name (`sha256:HEX` when registered without one).
    pub path: String,
    /// The seed's kind (`pixel`).
    pub kind: String,
    /// SHA-256 (hex) of the PNG bytes: the cartridge's content address.
    pub checksum: Option<String>,
    /// Image width.
    pub width: Option<i64>,
    /// Image height.
    pub height: Option<i64>,
    /// When registered.
    pub created_at: Option<String>,
    /// Times the daemon ran it.
    pub executed_count: i64,
    /// Whether its PNG is stored (then `GET /api/cartridges/{key}/png` serves it).
    pub has_png: bool,
}

impl From<gvpie_store::CartridgeEntry> for CartridgeJson {
    fn from(entry: gvpie_store::CartridgeEntry) -> CartridgeJson {
        CartridgeJson {
            id: entry.id,
            path: entry.path,
            kind: entry.kind,
            checksum: entry.checksum,
            width: entry.width,
            height: entry.height,
            created_at: entry.created_at,
            executed_count: entry.executed_count,
            has_png: entry.has_png,
        }
    }
}

/// The cartridges.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CartridgeList {
    /// Every registered cartridge.
    pub cartridges: Vec<CartridgeJson>,
}

/// Register a cartridge.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCartridgeRequest {
    /// The cartridge PNG (`gvpie cart pack`), base64.
    pub cartridge: String,
    /// A unique name (letters, digits, `._-`); default `sha256:HEX` of the bytes.
    #[serde(default)]
    pub path: Option<String>,
}

/// Every registered cartridge.
#[utoipa::path(get, path = "/api/cartridges", tag = "cartridges",
    responses((status = 200, body = CartridgeList), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn list_cartridges(State(state): State<AppState>) -> Result<Json<CartridgeList>, AppError> {
    let entries = state.store()?.run(|store| Ok(store.list_cartridges()?)).await?;
    Ok(Json(CartridgeList { cartridges: entries.into_iter().map(CartridgeJson::from).collect() }))
}

/// Register a cartridge (content-addressed: the same PNG is stored once).
#[utoipa::path(post, path = "/api/cartridges", tag = "cartridges", request_body = NewCartridgeRequest,
    responses((status = 201, body = CartridgeJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "Not base64, not a gvpie cartridge, or the path is taken by other bytes", body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn create_cartridge(
    State(state): State<AppState>,
    AppJson(request): AppJson<NewCartridgeRequest>,
) -> Result<(StatusCode, Json<CartridgeJson>), AppError> {
    if let Some(path) = &request.path {
        let valid = !path.is_empty()
            && path.len() <= 200
            && path.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !valid {
            return Err(AppError::InvalidRequest("path must be 1 to 200 letters, digits, '.', '_' or '-'".to_string()));
        }
    }
    let max_code_bytes = state.limits().max_code_bytes;
    // Decoding is work (a PNG bomb costs about 100 MiB): under the gate, not in the store's pool.
    let cartridge = request.cartridge;
    let (png, cartridge) = crate::jobs::gated(&state, move |_stop| {
        let png = base64::engine::general_purpose::STANDARD
            .decode(cartridge.trim())
            .map_err(|err| AppError::InvalidRequest(format!("cartridge is not valid base64: {err}")))?;
        let cartridge = gvpie_cart::unpack(&png)
            .map_err(|err| AppError::InvalidRequest(format!("cartridge is not a gvpie cartridge: {err}")))?;
        if cartridge.source.len() > max_code_bytes {
            return Err(AppError::PayloadTooLarge(format!(
                "the cartridge's program is {} bytes; this server's limit is {max_code_bytes}",
                cartridge.source.len()
            )));
        }
        Ok((png, cartridge))
    })
    .await?;
    let entry = state
        .store()?
        .run(move |store| {
            let new = NewCartridge {
                path: request.path.as_deref(),
                png: &png,
                width: Some(cartridge.screen.width()),
                height: Some(cartridge.screen.height()),
                parent_id: None,
            };
            Ok(store.put_cartridge(&new)?)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(entry.into())))
}

/// A cartridge by its path or its checksum (`sha256:HEX` or bare hex).
#[utoipa::path(get, path = "/api/cartridges/{key}", tag = "cartridges",
    params(("key" = String, Path, description = "The cartridge's path, or its checksum")),
    responses((status = 200, body = CartridgeJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub(crate) async fn get_cartridge(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<CartridgeJson>, AppError> {
    let lookup = key.clone();
    let entry = state.store()?.run(move |store| Ok(store.cartridge(&lookup)?)).await?;
    entry.map(|e| Json(e.into())).ok_or_else(|| AppError::NotFound(format!("no cartridge '{key}'")))
}

/// A cartridge's PNG.
#[utoipa::path(get, path = "/api/cartridges/{key}/png", tag = "cartridges",
    params(("key" = String, Path, description = "The cartridge's path, or its checksum")),
    responses((status = 200, content_type = "image/png", body = Vec<u8>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn cartridge_png(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, AppError> {
    let lookup = key.clone();
    let found = state.store()?.run(move |store| Ok(store.cartridge_png(&lookup)?)).await?;
    found.map(|(_, png)| png_response(png)).ok_or_else(|| AppError::NotFound(format!("no cartridge PNG '{key}'")))
}
