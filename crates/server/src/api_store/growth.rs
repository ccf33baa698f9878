//! `/api/growth`: how the system grew by itself — its self-set goals, the explore goals' archive of distinct
//! pictures, the successors it adopted and the cycles they save. The counters and records are `gvpie-store`'s own
//! types ([`Growth`], [`ArchivePicture`], [`AdoptionRecord`]), the one JSON shape `gvpie stats --json` prints too.

use axum::Json;
use axum::extract::State;
use gvpie_store::{AdoptionRecord, ArchivePicture, Growth};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

/// The newest distinct pictures of the archive the answer carries.
pub(crate) const ARCHIVE_PICTURES: usize = 48;
/// The newest adoptions the answer carries.
pub(crate) const ADOPTIONS: usize = 20;

/// The growth counters, the archive's newest distinct pictures and the newest adoptions.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GrowthJson {
    /// The counters over the whole database.
    pub growth: Growth,
    /// The newest distinct pictures of the explore goals' archives (at most 48), newest first; each picture is
    /// `/api/map/{iteration}/image`.
    pub archive: Vec<ArchivePicture>,
    /// The newest adoptions (at most 20), newest first.
    pub adoptions: Vec<AdoptionRecord>,
}

/// How the system grew by itself: self-set goals, the archive of distinct pictures, adopted successors and the
/// cycles they save (`gvpie stats` prints the same).
#[utoipa::path(get, path = "/api/growth", tag = "map",
    responses((status = 200, body = GrowthJson), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn growth(State(state): State<AppState>) -> Result<Json<GrowthJson>, AppError> {
    let answer = state
        .store()?
        .run(|store| {
            Ok(GrowthJson {
                growth: store.growth()?,
                archive: store.archive_pictures(ARCHIVE_PICTURES)?,
                adoptions: store.adoptions(ADOPTIONS)?,
            })
        })
        .await?;
    Ok(Json(answer))
}
