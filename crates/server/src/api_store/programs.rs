//! `/api/programs`: content-addressed programs, compiled and stored by their texture's hash.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine as _;
use gvpie_store::{ProgramInput, TextRef};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::parse_hash;
use super::scripts::check_script_fields;
use crate::error::{AppError, ErrorBody};
use crate::json::AppJson;
use crate::state::AppState;

/// Store a program by its content.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProgramRequest {
    /// PXL source; it must compile.
    pub code: String,
}

/// A stored program.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProgramJson {
    /// SHA-256 of its machine texture: the program's name.
    pub hash: String,
    /// The first source text stored for it.
    pub source: Option<String>,
    /// Instruction records.
    pub n_records: i64,
    /// The distinct mnemonics it uses.
    pub opcodes: Vec<String>,
    /// The program it was derived from.
    pub parent_hash: Option<String>,
    /// The machine texture (`docs/texture.md`), base64.
    pub texture: String,
}

impl From<gvpie_store::ProgramRecord> for ProgramJson {
    fn from(program: gvpie_store::ProgramRecord) -> ProgramJson {
        ProgramJson {
            hash: program.hash.to_hex(),
            source: program.source,
            n_records: program.n_records,
            opcodes: program.opcodes,
            parent_hash: program.parent_hash.map(|h| h.to_hex()),
            texture: base64::engine::general_purpose::STANDARD.encode(&program.texture),
        }
    }
}

/// Compile and store a program; its hash names it from then on (storing it again is harmless).
#[utoipa::path(post, path = "/api/programs", tag = "programs", request_body = NewProgramRequest,
    responses((status = 201, body = ProgramJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "The program does not compile (line and column of the first error)", body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn create_program(
    State(state): State<AppState>,
    AppJson(request): AppJson<NewProgramRequest>,
) -> Result<(StatusCode, Json<ProgramJson>), AppError> {
    check_script_fields(&state, None, Some(&request.code), None)?;
    // Compiling is work: under the gate, not in the store's pool.
    let code = request.code;
    let (code, texture, opcodes) = crate::jobs::gated(&state, move |_stop| {
        let texture = gvpie_pxl::compile(&code).map_err(|diagnostics| invalid_program(&diagnostics))?;
        let opcodes = opcodes_of(&code);
        Ok((code, texture, opcodes))
    })
    .await?;
    let program = state
        .store()?
        .run(move |store| {
            let request = NewProgramRequest { code };
            let input = ProgramInput::new(
                texture.to_bytes(),
                Some(TextRef::new(request.code.as_str())),
                texture.n_records() as i64,
                opcodes,
            );
            let hash = store.put_program(&input)?;
            store.program_by_hash(&hash)?.ok_or_else(|| AppError::internal("a stored program is missing"))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(program.into())))
}

/// The distinct mnemonics of a source, upper-case, sorted.
fn opcodes_of(source: &str) -> Vec<String> {
    let (parsed, _) = gvpie_pxl::parse(source);
    let mut names: Vec<String> = parsed
        .lines
        .iter()
        .filter_map(|line| line.instr.as_ref())
        .map(|instr| instr.op.info().mnemonic.to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// 422 for a program that does not compile, pointing at its first error.
fn invalid_program(diagnostics: &[gvpie_pxl::Diagnostic]) -> AppError {
    AppError::InvalidProgram {
        message: diagnostics.iter().map(gvpie_pxl::Diagnostic::headline).collect::<Vec<_>>().join("\n"),
        line: diagnostics.first().map_or(0, |d| d.line),
        column: diagnostics.first().map_or(0, |d| d.column),
    }
}

/// A program by its hash.
#[utoipa::path(get, path = "/api/programs/{hash}", tag = "programs", params(("hash" = String, Path, description = "SHA-256 of the texture")),
    responses((status = 200, body = ProgramJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn get_program(
    State(state): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Json<ProgramJson>, AppError> {
    let hash = parse_hash(&hash)?;
    let program = state.store()?.run(move |store| Ok(store.program_by_hash(&hash)?)).await?;
    program.map(|p| Json(p.into())).ok_or_else(|| AppError::NotFound(format!("no program with hash {hash}")))
}
