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
use gvpie_evolve::{
    BackendChoice, Clock, Edit, EvolveSettings, GoalHost, GoalOptions, GoalProgress, Kept, Operator,
    OptimizeGoalParams, OptimizeGoalSpec, OptimizeSession, SliceLimits, StopRules,
};
use gvpie_exec::{BackendName, Engine};
use gvpie_pxl::{Config, RunResult, Texture};
use serde_json::json;

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
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    json: bool,
}

/// `gvpie optimize`'s host of the session: the engine runs the database's batches, every accepted program joins
/// the lineage, and a spinner shows progress.
struct CommandHost {
    engine: Engine,
    choice: BackendChoice,
    /// Batches run on the CPU and on the GPU.
    batches: [u64; 2],
    /// Every accepted program: (what found it, its cycles).
    lineage: Vec<(String, u64)>,
    bar: indicatif::ProgressBar,
    last_shown: Instant,
    original_cycles: u64,
    started: Instant,
    seconds: f64,
}

impl GoalHost for CommandHost {
    fn keep(&mut self, kept: &Kept<'_>) -> Result<(), String> {
        if kept.generator != "original" {
            let by = kept.detail.unwrap_or(kept.generator);
            self.lineage.push((by.to_string(), kept.score as u64));
        }
        Ok(())
    }

    fn run_batch(&mut self, textures: &[Texture], vm: &Config) -> Option<Vec<RunResult>> {
        let outcomes = self
            .engine
            .execute_batch(textures, vm, self.choice)
            .or_else(|_| self.engine.execute_batch(textures, vm, BackendChoice::Cpu))
            .ok()?;
        let ran = outcomes.first().map_or(BackendName::Cpu, |o| o.backend);
        self.batches[usize::from(ran == BackendName::Gpu)] += 1;
        Some(outcomes.into_iter().map(|o| o.result).collect())
    }

    fn stepped(&mut self, progress: &GoalProgress, score: f64) {
        if !self.bar.is_hidden() && self.last_shown.elapsed() >= Duration::from_millis(100) {
            self.last_shown = Instant::now();
            self.bar.set_message(format!(
                "{} -> {score} cycles, {} candidates, {:.1}/{}s",
                self.original_cycles,
                progress.evaluations,
                self.started.elapsed().as_secs_f64(),
                self.seconds
            ));
            self.bar.tick();
        }
    }
}

/// The command's clock.
struct SinceStart(Instant);

impl Clock for SinceStart {
    fn seconds(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// Runs the search the daemon's optimize goals run ([`OptimizeSession`]) for `--seconds`, then writes the result.
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
    let shown = args.file.display();
    let vm = Config { width: args.size.0, height: args.size.1, budget: args.budget, max_frames: 0 };
    let params = OptimizeGoalParams {
        script: shown.to_string(),
        width: args.size.0,
        height: args.size.1,
        cycle_budget: args.budget,
    };
    let mut spec =
        OptimizeGoalSpec::new(source.clone(), &params, &GoalOptions { seed: args.seed, ..GoalOptions::default() })
            .map_err(UsageError::new)?;
    spec.evolve = EvolveSettings { every: args.every, children: args.children, islands: args.islands };
    // The time limit is a stop rule like a goal's; `--seconds 0` searches not at all.
    spec.stop = StopRules { seconds: Some(args.seconds), ..StopRules::default() };
    // Opening a GPU takes up to a second: only when the batches could go there.
    let engine = match args.backend {
        BackendChoice::Gpu => Engine::detect(),
        BackendChoice::Auto if args.every > 0 && Engine::auto_prefers_gpu(args.children, &vm) => Engine::detect(),
        _ => Engine::cpu_only(),
    };
    if args.backend == BackendChoice::Gpu && args.every > 0 {
        // Fails when there is no adapter, or when the original shows frames (captured on the CPU only).
        let texture =
            gvpie_pxl::compile(&source).map_err(|d| UsageError::new(format!("{shown}: {}", d[0].headline())))?;
        engine.execute(&texture, &vm, args.backend).map_err(|e| UsageError::new(format!("--backend gpu: {e}")))?;
    }
    let mut session = OptimizeSession::resume(0, &shown.to_string(), spec, true).map_err(UsageError::new)?;
    if let Some(why) = session.no_database() {
        return Err(UsageError::new(format!("{shown}: no program database: {why}")).into());
    }
    let started = Instant::now();
    let mut host = CommandHost {
        engine,
        choice: args.backend,
        batches: [0, 0],
        lineage: Vec::new(),
        bar: progress_line(),
        last_shown: started,
        original_cycles: session.search().original_cycles(),
        started,
        seconds: args.seconds,
    };
    let clock = SinceStart(started);
    session.run_slice(SliceLimits::UNBOUNDED, &clock, &mut host, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    host.bar.finish_and_clear();
    let search = session.search();
    let steps = session.spec().progress.steps;
    let evaluations = search.n_evaluations() + session.stats().database_evaluations;

    let mut text = format!(
        "# gvpie optimize: {} -> {} cycles at {}x{}, from {}\n",
        search.original_cycles(),
        search.cycles(),
        args.size.0,
        args.size.1,
        shown
    );
    for (by, cycles) in &host.lineage {
        text.push_str(&format!("# lineage: {by} -> {cycles} cycles\n"));
    }
    text.push_str(&session.best_source());
    write_atomically(&args.output, text.as_bytes())?;
    let lineage = &host.lineage;
    let from_database = lineage.iter().filter(|(by, _)| by.starts_with("evolve:")).count();
    if args.json {
        let stats: Vec<_> = Edit::KINDS
            .iter()
            .zip(search.operator_stats())
            .map(|(kind, s)| json!({ "edit": kind, "tries": s.tries, "improvements": s.successes }))
            .collect();
        let database = session.evolution().map(|evolution| {
            let database = evolution.database();
            let operators: Vec<_> = Operator::ALL
                .iter()
                .zip(evolution.operator_stats())
                .map(|(operator, s)| json!({ "operator": operator.name(), "tries": s.tries, "improvements": s.successes }))
                .collect();
            json!({
                "generation": database.generation(),
                "islands": database.n_islands(),
                "kept": database.stats().kept,
                "elites": database.elites().count(),
                "evaluations": session.stats().database_evaluations,
                "duplicate_programs": database.stats().duplicate_programs,
                "duplicate_images": database.stats().duplicate_images,
                "migrated": database.stats().migrated,
                "best_score": evolution.best().score,
                "batches": { "cpu": host.batches[0], "gpu": host.batches[1] },
                "operators": operators,
            })
        });
        let lineage_json: Vec<_> = lineage.iter().map(|(by, cycles)| json!({ "by": by, "cycles": cycles })).collect();
        let summary = json!({
            "original_cycles": search.original_cycles(),
            "cycles": search.cycles(),
            "accepted": lineage.len(),
            "accepted_from_database": from_database,
            "steps": steps,
            "evaluations": evaluations,
            "seconds": started.elapsed().as_secs_f64(),
            "operators": stats,
            "lineage": lineage_json,
            "database": database,
        });
        println!("{summary}");
    } else {
        let generations = session.evolution().map(|e| format!(", {} generations", e.database().generation()));
        eprintln!(
            "{} -> {} cycles ({} accepted: {} line edits, {from_database} from the program database; {} candidates{})",
            search.original_cycles(),
            search.cycles(),
            lineage.len(),
            lineage.len() - from_database,
            evaluations,
            generations.unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

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
