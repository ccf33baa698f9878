//! `gvpie optimize`: find a program that draws exactly the same pixels in fewer cycles.
//!
//! This module reads the program and runs the search the daemon's optimize goals run, for a number of seconds:
//! line edits ([`gvpie_evolve::OptimizeSearch`]) alternating with generations of the program database
//! ([`gvpie_evolve::Evolution`]: islands and a MAP-Elites archive, structural mutations and crossovers), whose
//! children are run as one batch through [`gvpie_exec::Engine`] and screened by a [`gvpie_evolve::PixelReference`].
//! A database program is adopted only after [`OptimizeSearch::offer`] has re-checked it on the CPU VM. The improved
//! program goes to a new file (never over the original) with its lineage, the accepted programs and which search
//! found each, as comments at the top.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use gvpie_daemon::EvolveSettings;
use gvpie_evolve::{
    DatabaseConfig, Edit, Evolution, EvolutionConfig, Operator, OptimizeConfig, OptimizeSearch, PixelReference,
};
use gvpie_exec::{BackendChoice, BackendName, Engine};
use serde_json::json;

use crate::run::Backend;
use crate::{UsageError, run, source_or_exit, write_atomically};

/// The most islands of the program database.
const MAX_ISLANDS: usize = 256;
/// The most children per generation (one batch).
const MAX_CHILDREN: usize = 65_536;

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
    /// Seed of the random edits and of the program database.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A generation of the program database every N steps, line edits otherwise (0: line edits only).
    #[arg(long, value_name = "N", default_value_t = EvolveSettings::default().every)]
    every: u64,
    /// Islands of the program database.
    #[arg(long, value_name = "N", default_value_t = EvolveSettings::default().islands)]
    islands: usize,
    /// Children per generation of the program database (run as one batch).
    #[arg(long, value_name = "N", default_value_t = EvolveSettings::default().children)]
    children: usize,
    /// Which backend runs the database's batches (line edits and the final check always run on the CPU VM).
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    backend: Backend,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    json: bool,
}

/// The program database and what it needs beside the line edits.
struct Database {
    evolution: Evolution,
    reference: PixelReference,
    engine: Engine,
    choice: BackendChoice,
    /// Children evaluated.
    evaluated: u64,
    /// Batches run, per backend that really ran them (cpu, gpu).
    batches: [u64; 2],
}

impl Database {
    /// One generation, evaluated as one batch; returns the new global bests (generator, source, score).
    fn generation(&mut self) -> Vec<(String, String, f64)> {
        let Database { evolution, reference, engine, choice, batches, .. } = self;
        let (report, new_bests) = evolution.generation_batch(|children| {
            reference.evaluate_batch(children, |textures, vm| {
                let outcomes = engine
                    .execute_batch(textures, vm, *choice)
                    .or_else(|_| engine.execute_batch(textures, vm, BackendChoice::Cpu))
                    .ok()?;
                let ran = outcomes.first().map_or(BackendName::Cpu, |o| o.backend);
                batches[usize::from(ran == BackendName::Gpu)] += 1;
                Some(outcomes.into_iter().map(|o| o.result).collect())
            })
        });
        self.evaluated += report.evaluated;
        new_bests.into_iter().map(|entry| (entry.evolve_generator(), entry.source, entry.score)).collect()
    }

    fn json(&self) -> serde_json::Value {
        let database = self.evolution.database();
        let operators: Vec<_> = Operator::ALL
            .iter()
            .zip(self.evolution.operator_stats())
            .map(|(operator, s)| json!({ "operator": operator.name(), "tries": s.tries, "improvements": s.successes }))
            .collect();
        json!({
            "generation": database.generation(),
            "islands": database.n_islands(),
            "kept": database.stats().kept,
            "elites": database.elites().count(),
            "evaluations": self.evaluated,
            "duplicate_programs": database.stats().duplicate_programs,
            "duplicate_images": database.stats().duplicate_images,
            "migrated": database.stats().migrated,
            "best_score": self.evolution.best().score,
            "batches": { "cpu": self.batches[0], "gpu": self.batches[1] },
            "operators": operators,
        })
    }
}

/// Runs `gvpie optimize`.
pub fn optimize(args: OptimizeArgs) -> anyhow::Result<ExitCode> {
    if args.output == args.file {
        return Err(UsageError::new("--output must differ from the program: the original is kept").into());
    }
    if !(args.seconds.is_finite() && args.seconds >= 0.0) {
        return Err(UsageError::new(format!("--seconds {} must be 0 or more", args.seconds)).into());
    }
    if !(1..=MAX_ISLANDS).contains(&args.islands) {
        return Err(UsageError::new(format!("--islands {} is out of range (1 to {MAX_ISLANDS})", args.islands)).into());
    }
    if !(1..=MAX_CHILDREN).contains(&args.children) {
        return Err(
            UsageError::new(format!("--children {} is out of range (1 to {MAX_CHILDREN})", args.children)).into()
        );
    }
    let source = source_or_exit(&args.file)?;
    let vm = gvpie_pxl::Config { width: args.size.0, height: args.size.1, budget: args.budget, max_frames: 0 };
    let shown = args.file.display();
    let mut search = OptimizeSearch::new(&source, OptimizeConfig { vm, seed: args.seed })
        .map_err(|e| UsageError::new(format!("{shown}: {e}")))?;
    let mut database = if args.every > 0 { Some(start_database(&args, &source, &vm)?) } else { None };

    let start = Instant::now();
    let bar = progress_line();
    let mut last_shown = start;
    let mut steps = 0u64;
    // Every accepted program: (what found it, its cycles).
    let mut lineage: Vec<(String, u64)> = Vec::new();
    while start.elapsed().as_secs_f64() < args.seconds && search.cycles() > 0 {
        steps += 1;
        match database.as_mut() {
            Some(db) if steps.is_multiple_of(args.every) => {
                for (generator, program, score) in db.generation() {
                    // Re-checked on the CPU VM before it is adopted.
                    if score > -(search.cycles() as f64)
                        && let Ok(cycles) = search.offer(&program)
                    {
                        lineage.push((generator, cycles));
                    }
                }
            }
            _ => {
                if let Some(accepted) = search.step() {
                    if let Some(db) = database.as_mut() {
                        let generator = format!("mutation:{}", Edit::KINDS[accepted.edit.kind()]);
                        db.reference.share(&mut db.evolution, &search.source(), accepted.cycles, &generator);
                    }
                    lineage.push((accepted.edit.to_string(), accepted.cycles));
                }
            }
        }
        if !bar.is_hidden() && last_shown.elapsed() >= Duration::from_millis(100) {
            last_shown = Instant::now();
            bar.set_message(format!(
                "{} -> {} cycles, {} candidates, {:.1}/{}s",
                search.original_cycles(),
                search.cycles(),
                candidates(&search, database.as_ref()),
                start.elapsed().as_secs_f64(),
                args.seconds
            ));
            bar.tick();
        }
    }
    bar.finish_and_clear();

    let mut text = format!(
        "# gvpie optimize: {} -> {} cycles at {}x{}, from {}\n",
        search.original_cycles(),
        search.cycles(),
        args.size.0,
        args.size.1,
        shown
    );
    for (by, cycles) in &lineage {
        text.push_str(&format!("# lineage: {by} -> {cycles} cycles\n"));
    }
    text.push_str(&search.source());
    write_atomically(&args.output, text.as_bytes())?;
    let from_database = lineage.iter().filter(|(by, _)| by.starts_with("evolve:")).count();
    if args.json {
        let stats: Vec<_> = Edit::KINDS
            .iter()
            .zip(search.operator_stats())
            .map(|(kind, s)| json!({ "edit": kind, "tries": s.tries, "improvements": s.successes }))
            .collect();
        let lineage: Vec<_> = lineage.iter().map(|(by, cycles)| json!({ "by": by, "cycles": cycles })).collect();
        let summary = json!({
            "original_cycles": search.original_cycles(),
            "cycles": search.cycles(),
            "accepted": lineage.len(),
            "accepted_from_database": from_database,
            "steps": steps,
            "evaluations": candidates(&search, database.as_ref()),
            "seconds": start.elapsed().as_secs_f64(),
            "operators": stats,
            "lineage": lineage,
            "database": database.as_ref().map(Database::json),
        });
        println!("{summary}");
    } else {
        let generations = database.as_ref().map(|db| format!(", {} generations", db.evolution.database().generation()));
        eprintln!(
            "{} -> {} cycles ({} accepted: {} line edits, {from_database} from the program database; {} candidates{})",
            search.original_cycles(),
            search.cycles(),
            lineage.len(),
            lineage.len() - from_database,
            candidates(&search, database.as_ref()),
            generations.unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Candidates evaluated: line edits and offers, plus the database's children.
fn candidates(search: &OptimizeSearch, database: Option<&Database>) -> u64 {
    search.n_evaluations() + database.map_or(0, |db| db.evaluated)
}

/// The program database, started from the original, and the engine its batches run on.
fn start_database(args: &OptimizeArgs, source: &str, vm: &gvpie_pxl::Config) -> anyhow::Result<Database> {
    let shown = args.file.display();
    let reference = PixelReference::new(source, vm).map_err(|e| UsageError::new(format!("{shown}: {e}")))?;
    let choice = match args.backend {
        Backend::Cpu => BackendChoice::Cpu,
        Backend::Gpu => BackendChoice::Gpu,
        Backend::Auto => BackendChoice::Auto,
    };
    // Opening a GPU takes up to a second: only when the batches could go there.
    let engine = match args.backend {
        Backend::Gpu => Engine::detect(),
        Backend::Auto if gvpie_gpu::auto_prefers_gpu(args.children) => Engine::detect(),
        _ => Engine::cpu_only(),
    };
    let texture = gvpie_pxl::compile(source).map_err(|d| UsageError::new(format!("{shown}: {}", d[0].headline())))?;
    if args.backend == Backend::Gpu {
        // Fails when there is no adapter, or when the original shows frames (captured on the CPU only).
        engine.execute(&texture, reference.vm(), choice).map_err(|e| UsageError::new(format!("--backend gpu: {e}")))?;
    }
    let config = EvolutionConfig {
        database: DatabaseConfig {
            n_islands: args.islands,
            // Every candidate draws the same pixels: a known image is welcome when it is faster.
            allow_same_image_if_better: true,
            seed: args.seed,
            ..DatabaseConfig::default()
        },
        children_per_generation: args.children,
        seed: args.seed,
        ..EvolutionConfig::default()
    };
    let evolution = Evolution::new(source, config, |_, texture| reference.evaluate(texture))
        .map_err(|e| UsageError::new(format!("{shown}: no program database: {e}")))?;
    Ok(Database { evolution, reference, engine, choice, evaluated: 0, batches: [0, 0] })
}

/// A one-line progress report on stderr, drawn only when stderr is a terminal.
fn progress_line() -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    let style = indicatif::ProgressStyle::with_template("{spinner} optimize: {msg}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    bar.set_style(style);
    bar
}
