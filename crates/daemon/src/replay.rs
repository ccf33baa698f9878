//! `gvpie replay`: re-run a recorded execution and check it gives the same result.
//!
//! The record holds everything needed: the program's machine texture (by hash), the canvas
//! size and the budget. The replay runs it on the backend that ran it (or the one asked for)
//! and compares the image hash, the cycles, success and the error kind. An execution whose
//! code did not compile is replayed by compiling its code again and comparing the error.
//! Executions made through a remote runtime have no image hash (the runtime API sends no
//! pixels when asked for none); their replay compares cycles, success and error only.

use gvpie_exec::{BackendChoice, Engine};
use gvpie_store::{BackendUsed, MapEntry, Store};
use serde::Serialize;

use crate::runtime::execute_local;

/// The result of a replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayReport {
    /// The iteration replayed.
    pub iteration: i64,
    /// True when everything compared is equal.
    pub same: bool,
    /// What was compared, one line each, e.g. `image: 3f… = 3f…`.
    pub checks: Vec<String>,
    /// The differences, if any.
    pub differences: Vec<String>,
}

/// Replays `iteration`.
pub fn replay(
    store: &Store,
    engine: &Engine,
    iteration: i64,
    backend: Option<BackendChoice>,
) -> anyhow::Result<ReplayReport> {
    let entry = store
        .map_entry(iteration, true)?
        .ok_or_else(|| anyhow::anyhow!("iteration {iteration} is not in the infinite map"))?;
    let mut report = ReplayReport { iteration, same: true, checks: Vec::new(), differences: Vec::new() };
    let Some(program_hash) = entry.program_hash else {
        return replay_source(&entry, report);
    };
    let program = store
        .program_by_hash(&program_hash)?
        .ok_or_else(|| anyhow::anyhow!("program {program_hash} of iteration {iteration} is missing from the store"))?;
    let texture = gvpie_pxl::Texture::from_bytes(&program.texture)
        .map_err(|e| anyhow::anyhow!("the stored texture of program {program_hash} is damaged: {e}"))?;
    let recorded_config =
        entry.config.unwrap_or(gvpie_store::RunConfig { width: 128, height: 64, budget: gvpie_pxl::DEFAULT_BUDGET });
    let config = gvpie_pxl::Config {
        width: recorded_config.width,
        height: recorded_config.height,
        budget: recorded_config.budget,
        max_frames: 0,
    };
    let choice = backend.unwrap_or(match entry.backend {
        BackendUsed::Gpu => BackendChoice::Gpu,
        _ => BackendChoice::Cpu,
    });
    let executed = execute_local(engine, &texture, &config, choice);
    report.checks.push(format!(
        "program {program_hash} on {} ({}x{}, budget {})",
        executed.result.backend, config.width, config.height, config.budget
    ));
    let mut compare = |what: &str, recorded: String, now: String| {
        if recorded == now {
            report.checks.push(format!("{what}: {now}"));
        } else {
            report.same = false;
            report.differences.push(format!("{what}: recorded {recorded}, now {now}"));
        }
    };
    compare("success", entry.success.to_string(), executed.result.success.to_string());
    compare("cycles", entry.cycles.to_string(), executed.result.cycles.to_string());
    compare(
        "error",
        error_kind(&entry),
        executed.result.error.as_ref().map(|e| e.kind.clone()).unwrap_or_else(|| "none".to_string()),
    );
    match (entry.image_hash, &executed.canvas) {
        (Some(recorded), Some(canvas)) => {
            let now = gvpie_store::image_hash(canvas.width(), canvas.height(), &canvas.to_rgba8());
            compare("image", recorded.to_hex(), now.to_hex());
        }
        (Some(_), None) => {
            report.same = false;
            report.differences.push("image: recorded, but the replay produced no canvas".to_string());
        }
        (None, _) => report.checks.push("image: no hash recorded (remote runtime); not compared".to_string()),
    }
    Ok(report)
}

fn error_kind(entry: &MapEntry) -> String {
    entry.error.as_ref().and_then(|e| e["kind"].as_str().map(str::to_string)).unwrap_or_else(|| "none".to_string())
}

fn replay_source(entry: &MapEntry, mut report: ReplayReport) -> anyhow::Result<ReplayReport> {
    let recorded = error_kind(entry);
    let Some(code) = &entry.code else {
        report.checks.push(format!("no program and no code recorded (error: {recorded}); nothing to re-run"));
        return Ok(report);
    };
    if recorded != "parse" {
        report.checks.push(format!("no program recorded (error: {recorded}); the code never ran, nothing to re-run"));
        return Ok(report);
    }
    match gvpie_pxl::compile(code) {
        Ok(_) => {
            report.same = false;
            report.differences.push("error: recorded parse, now the code compiles".to_string());
        }
        Err(diagnostics) => {
            let now = diagnostics.iter().map(|d| d.headline()).collect::<Vec<_>>().join("\n");
            let before = entry.error.as_ref().and_then(|e| e["message"].as_str()).unwrap_or("");
            if now == before {
                report.checks.push(format!("parse error: {}", now.lines().next().unwrap_or("")));
            } else {
                report.same = false;
                report.differences.push(format!("parse error: recorded {before:?}, now {now:?}"));
            }
        }
    }
    Ok(report)
}
