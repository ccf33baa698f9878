//! `gvpie gpu info`: which adapters exist and which one `GVPIE_ADAPTER` picks, through the
//! engine (`gvpie_exec::list_adapters`); the CLI does not depend on the GPU crate.
//!
//! The rule for `--backend auto` is the engine's (`gvpie_exec::Engine::auto_prefers_gpu`):
//! the GPU only for batches of 64 programs or more without frame capture, so a single program,
//! which is all `gvpie run` executes, runs on the CPU. This module does not run programs.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

/// `gvpie gpu` subcommands.
#[derive(Subcommand)]
pub enum GpuCommand {
    /// List the GPU adapters (name, backend, type); `GVPIE_ADAPTER` picks one by index or name.
    Info {
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `gvpie gpu` subcommand.
pub fn gpu(command: GpuCommand) -> anyhow::Result<ExitCode> {
    match command {
        GpuCommand::Info { json } => info(json),
    }
}

fn info(as_json: bool) -> anyhow::Result<ExitCode> {
    let adapters = gvpie_exec::list_adapters();
    let selector = std::env::var(gvpie_exec::ADAPTER_ENV).ok();
    if as_json {
        let list: Vec<_> = adapters
            .iter()
            .enumerate()
            .map(|(index, a)| {
                json!({ "index": index, "name": a.name, "backend": a.backend, "type": a.device_type, "driver": a.driver })
            })
            .collect();
        println!("{}", json!({ "adapters": list, "selector": selector }));
        return Ok(ExitCode::SUCCESS);
    }
    if adapters.is_empty() {
        println!("no GPU adapter found");
        return Ok(ExitCode::SUCCESS);
    }
    for (index, a) in adapters.iter().enumerate() {
        println!("{index}: {} (backend {}, type {}) {}", a.name, a.backend, a.device_type, a.driver);
    }
    if let Some(selector) = selector {
        println!("{}={selector}", gvpie_exec::ADAPTER_ENV);
    }
    Ok(ExitCode::SUCCESS)
}
