//! `/api/map/{iteration}/image` and `/api/images/{hash}`: stored output images, as PNG.

use axum::extract::{Path, State};
use axum::response::Response;

use super::{parse_hash, parse_id, png_response};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

/// The output image of an execution, as PNG (when the store kept it).
#[utoipa::path(get, path = "/api/map/{iteration}/image", tag = "map",
    params(("iteration" = i64, Path, description = "The iteration")),
    responses((status = 200, description = "The canvas the run drew", content_type = "image/png", body = Vec<u8>),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such iteration, or its image was not kept", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn iteration_image(
    State(state): State<AppState>,
    Path(iteration): Path<String>,
) -> Result<Response, AppError> {
    let iteration = parse_id("iteration", &iteration)?;
    let image = state.store()?.run(move |store| Ok(store.image_of_iteration(iteration)?)).await?;
    match image.and_then(|image| image.png) {
        Some(png) => Ok(png_response(png)),
        None => Err(AppError::NotFound(format!("no image kept for iteration {iteration}"))),
    }
}

/// An image by its hash, as PNG.
#[utoipa::path(get, path = "/api/images/{hash}", tag = "map", params(("hash" = String, Path, description = "SHA-256 of the image")),
    responses((status = 200, content_type = "image/png", body = Vec<u8>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn image(State(state): State<AppState>, Path(hash): Path<String>) -> Result<Response, AppError> {
    let hash = parse_hash(&hash)?;
    let image = state.store()?.run(move |store| Ok(store.image_by_hash(&hash)?)).await?;
    match image.and_then(|image| image.png) {
        Some(png) => Ok(png_response(png)),
        None => Err(AppError::NotFound(format!("no image kept with hash {hash}"))),
    }
}
