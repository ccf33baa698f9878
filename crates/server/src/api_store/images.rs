//! `/api/map/{iteration}/image` and `/api/images/{hash}`: stored output images, as PNG.
//!
//! The daemon keeps a PNG only for some executions (each cycle's best, for example); every
//! execution is replayable, so a missing picture is rendered on demand by replaying the
//! iteration's program (its texture, canvas size and budget are on record) on the CPU, under
//! the admission gate and the server's time limit, like any execution. When the replay's pixels
//! hash to the recorded image hash, the PNG is kept in that image's row (images are addressed
//! by the hash of their pixels), so the next request reads it.

use axum::extract::{Path, State};
use axum::response::Response;

use gvpie_exec::{BackendChoice, Stop};
use gvpie_store::{NewImage, RunConfig};

use super::{parse_hash, parse_id, png_response};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

/// What the store knows of an iteration's picture.
enum Picture {
    /// The PNG is kept.
    Kept(Vec<u8>),
    /// Not kept: replay this to draw it, and keep it under `hash` when the pixels agree.
    Replay { texture: Vec<u8>, config: RunConfig, hash: Option<gvpie_store::Hash> },
}

/// The output image of an execution, as PNG: the kept one, else drawn again by replaying the
/// execution (and then kept).
#[utoipa::path(get, path = "/api/map/{iteration}/image", tag = "map",
    params(("iteration" = i64, Path, description = "The iteration")),
    responses((status = 200, description = "The canvas the run drew (kept, or drawn again by replaying the run)",
            content_type = "image/png", body = Vec<u8>),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such iteration, or it never ran a program (a source error), or replaying \
            it would exceed this server's canvas or time limit", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn iteration_image(
    State(state): State<AppState>,
    Path(iteration): Path<String>,
) -> Result<Response, AppError> {
    let iteration = parse_id("iteration", &iteration)?;
    let picture = state.store()?.run(move |store| picture_of(store, iteration)).await?;
    let (texture, config, hash) = match picture {
        Picture::Kept(png) => return Ok(png_response(png)),
        Picture::Replay { texture, config, hash } => (texture, config, hash),
    };
    let limits = state.limits();
    let pixels = u64::from(config.width) * u64::from(config.height);
    if config.width > limits.max_side || config.height > limits.max_side || pixels > limits.max_pixels {
        return Err(AppError::NotFound(format!(
            "iteration {iteration}'s picture was not kept, and its {}x{} canvas is above this server's limit",
            config.width, config.height
        )));
    }
    let texture = gvpie_pxl::Texture::from_bytes(&texture).map_err(AppError::internal)?;
    let vm = gvpie_pxl::Config { width: config.width, height: config.height, budget: config.budget, max_frames: 0 };
    let permit = state.gate().acquire().await?;
    let engine = state.engine().clone();
    let stop = Stop::after(limits.execution_time_limit);
    let outcome = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        engine.execute_until(&texture, &vm, BackendChoice::Cpu, &stop)
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)?;
    if outcome.stopped.is_some() {
        return Err(AppError::NotFound(format!(
            "iteration {iteration}'s picture was not kept, and replaying it takes longer than this server's time limit"
        )));
    }
    let canvas = &outcome.result.canvas;
    let png = gvpie_cart::encode_png(canvas, 1);
    let drawn = gvpie_store::image_hash(canvas.width(), canvas.height(), &canvas.to_rgba8());
    if hash == Some(drawn) {
        let image = NewImage { hash: drawn, width: canvas.width(), height: canvas.height(), png: Some(png.clone()) };
        // Keeping it is a cache: a read-only or busy database still gets its picture.
        let _ = state.store()?.run(move |store| Ok(store.put_image(&image)?)).await;
    }
    Ok(png_response(png))
}

/// The kept PNG of `iteration`, or what replaying it needs.
fn picture_of(store: &mut gvpie_store::Store, iteration: i64) -> Result<Picture, AppError> {
    if let Some(png) = store.image_of_iteration(iteration)?.and_then(|image| image.png) {
        return Ok(Picture::Kept(png));
    }
    let entry = store
        .map_entry(iteration, false)?
        .ok_or_else(|| AppError::NotFound(format!("iteration {iteration} is not in the infinite map")))?;
    let program = match entry.program_hash {
        Some(hash) => store.program_by_hash(&hash)?,
        None => None,
    };
    let Some(program) = program else {
        return Err(AppError::NotFound(format!(
            "iteration {iteration} ran no program (see its error); it drew nothing"
        )));
    };
    let config = entry.config.unwrap_or(RunConfig { width: 128, height: 64, budget: gvpie_pxl::DEFAULT_BUDGET });
    Ok(Picture::Replay { texture: program.texture, config, hash: entry.image_hash })
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
