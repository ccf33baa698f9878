//! `gvpie optimize`: find a program that draws exactly the same pixels in fewer cycles.
//!
//! This module reads the program, drives [`gvpie_evolve::OptimizeSearch`] for a number of seconds, and writes the
//! improved program to a new file (never over the original) with its lineage, the accepted edits, as comments at
//! the top. The search and its CPU verification live in `gvpie-evolve`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use gvpie_evolve::{Edit, OptimizeConfig, OptimizeSearch};
use serde_json::json;

use crate::{UsageError, run, source_or_exit, write_atomically};

/// Arguments of `gvpie optimize`.
#[derive(Args)]
pub struct OptimizeArgs {
    /// The program (PXL source).
    file: PathBuf,
    /// Where to write the faster program (must differ from the original).
    #[arg(short, long)]
    output: PathBuf,
    /// Canvas size, WxH, the program is run and compared at.
    #[arg(long, value_parser = run::parse_size, default_value = "128x64")]
    size: (u32, u32),
    /// Cycle budget of the original.
    #[arg(long, default_value_t = gvpie_pxl::DEFAULT_BUDGET)]
    budget: u64,
    /// How long to search.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seed of the random edits.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs `gvpie optimize`.
pub fn optimize(args: OptimizeArgs) -> anyhow::Result<ExitCode> {
    if args.output == args.file {
        return Err(UsageError::new("--output must differ from the program: the original is kept").into());
    }
    if !(args.seconds.is_finite() && args.seconds >= 0.0) {
        return Err(UsageError::new(format!("--seconds {} must be 0 or more", args.seconds)).into());
    }
    let source = source_or_exit(&args.file)?;
    let vm = gvpie_pxl::Config { width: args.size.0, height: args.size.1, budget: args.budget, max_frames: 0 };
    let mut search = OptimizeSearch::new(&source, OptimizeConfig { vm, seed: args.seed })
        .map_err(|e| UsageError::new(format!("{}: {e}", args.file.display())))?;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < args.seconds {
        // Check the clock every few candidates, not after each one.
        search.run(16);
    }
    let mut text = format!(
        "# gvpie optimize: {} -> {} cycles at {}x{}, from {}\n",
        search.original_cycles(),
        search.cycles(),
        args.size.0,
        args.size.1,
        args.file.display()
    );
    for step in search.history() {
        text.push_str(&format!("# lineage: {} -> {} cycles\n", step.edit, step.cycles));
    }
    text.push_str(&search.source());
    write_atomically(&args.output, text.as_bytes())?;
    let stats: Vec<_> = Edit::KINDS
        .iter()
        .zip(search.operator_stats())
        .map(|(kind, s)| json!({ "edit": kind, "tries": s.tries, "improvements": s.successes }))
        .collect();
    if args.json {
        let summary = json!({
            "original_cycles": search.original_cycles(),
            "cycles": search.cycles(),
            "accepted": search.history().len(),
            "evaluations": search.n_evaluations(),
            "seconds": start.elapsed().as_secs_f64(),
            "operators": stats,
        });
        println!("{summary}");
    } else {
        eprintln!(
            "{} -> {} cycles ({} edits accepted, {} candidates)",
            search.original_cycles(),
            search.cycles(),
            search.history().len(),
            search.n_evaluations()
        );
    }
    Ok(ExitCode::SUCCESS)
}
