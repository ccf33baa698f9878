//! `gvpie gpu info`: which adapters exist and which one `GVPIE_ADAPTER` picks, through the
//! engine (`gvpie_exec::list_adapters`); the CLI does not depend on the GPU crate. Also
//! `--adapter` of `gvpie daemon` and `gvpie up` ([`select_adapter`]): one agent per GPU.
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

/// `--adapter NAME|INDEX` of `gvpie daemon` and `gvpie up`: checks that it names exactly one of this
/// machine's adapters (an index of `gvpie gpu info`, or a case-insensitive part of one adapter's
/// name) and sets `GVPIE_ADAPTER` to it, so that every engine of the process (the daemon's, and
/// `gvpie up`'s server's) opens that adapter. A name that matches no adapter, or several (eight
/// identical GPUs share one name: give their index), is a usage error listing the adapters.
///
/// Call it first thing in the command, before the process starts any thread: it changes the
/// environment.
pub fn select_adapter(selector: Option<&str>) -> anyhow::Result<()> {
    let Some(selector) = selector else { return Ok(()) };
    let selector = selector.trim();
    if selector.is_empty() {
        return Err(crate::UsageError::new("--adapter needs an adapter's index or name (see gvpie gpu info)").into());
    }
    // SAFETY: called before this command starts any thread (the adapters are listed below, the
    // engine, store and server start later), so nothing reads the environment concurrently.
    unsafe { std::env::set_var(gvpie_exec::ADAPTER_ENV, selector) };
    let adapters = gvpie_exec::list_adapters();
    let matching: Vec<usize> = match selector.parse::<usize>() {
        Ok(index) => (index < adapters.len()).then_some(index).into_iter().collect(),
        Err(_) => {
            let wanted = selector.to_lowercase();
            (0..adapters.len()).filter(|&i| adapters[i].name.to_lowercase().contains(&wanted)).collect()
        }
    };
    if matching.len() == 1 {
        return Ok(());
    }
    let list = if adapters.is_empty() {
        "this machine has no GPU adapter (gvpie runs on the CPU without --adapter)".to_string()
    } else {
        let lines: Vec<String> = adapters
            .iter()
            .enumerate()
            .map(|(index, a)| format!("  {index}: {} (backend {}, type {})", a.name, a.backend, a.device_type))
            .collect();
        format!("the adapters are:\n{}", lines.join("\n"))
    };
    let problem = if matching.is_empty() {
        format!("--adapter '{}' matches no GPU adapter", selector.escape_debug())
    } else {
        format!("--adapter '{}' matches {} adapters; give its index", selector.escape_debug(), matching.len())
    };
    Err(crate::UsageError::new(format!("{problem}; {list}")).into())
}
