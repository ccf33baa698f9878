//! `gvpie goals` and `gvpie stats`: add, list, inspect, pause and resume the improvement
//! engine's goals, and show what it learned and how it grew by itself (`gvpie stats`).
//!
//! Adding an image goal loads and resizes the target here (the daemon never reads a file named
//! by a database row) and stores it as a PNG in the database; the goal's spec names it by hash.
//! The daemon's goal engine (`gvpie_daemon::GoalGenerator`) does the work; this module only
//! writes and reads rows through `gvpie-store`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use gvpie_evolve::goal::GoalDraft;
use gvpie_evolve::{
    EffortPreset, GoalOptions, GoalProgress, ImageGoalParams, ImageGoalSpec, ImageRefine, OptimizeGoalParams,
    OptimizeGoalSpec, ShapeKinds, StopRules, Strategy,
};
use gvpie_store::{ARM_SCOPE, Goal, GoalUpdate, NewGoal, NewImage, Store, StoreError};
use serde_json::json;

use crate::UsageError;

/// Goal names, kinds and reasons come from the database, which anyone may write: never raw to the terminal.
fn safe(text: &str) -> std::borrow::Cow<'_, str> {
    gvpie_daemon::sanitize_for_terminal(text)
}
use crate::evolve_cmd::named;

/// The budget and stop-rule flags shared by every kind of goal.
#[derive(Args, Debug, Clone)]
pub struct BudgetArgs {
    /// Stop after this many seconds of search (over all cycles and restarts).
    #[arg(long, value_name = "S")]
    seconds: Option<f64>,
    /// Stop after this many candidate evaluations.
    #[arg(long, value_name = "N")]
    evaluations: Option<u64>,
    /// Stop once the score is at most X (image: RMSE 0..1; optimize: cycles).
    #[arg(long, value_name = "X")]
    target_score: Option<f64>,
    /// Stop after N steps in a row without a better score.
    #[arg(long, value_name = "N")]
    patience: Option<u64>,
    /// A name for the goal (its description).
    #[arg(long)]
    name: Option<String>,
    /// Priority (higher runs first).
    #[arg(long, default_value_t = 5)]
    priority: i64,
    /// Seed of the search.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The database.
    #[arg(long, value_name = "PATH", default_value = gvpie_store::DEFAULT_DB_PATH)]
    db: PathBuf,
}

impl BudgetArgs {
    fn options(&self) -> GoalOptions {
        GoalOptions {
            name: self.name.clone(),
            priority: self.priority,
            seed: self.seed,
            stop: StopRules {
                seconds: self.seconds,
                evaluations: self.evaluations,
                target_score: self.target_score,
                patience: self.patience,
            },
        }
    }
}

/// A refused input is a usage error (exit 2); a database failure is not.
fn goal_error(err: StoreError) -> anyhow::Error {
    match err {
        StoreError::Invalid(message) => UsageError::new(message).into(),
        err => err.into(),
    }
}

/// The row of a drafted goal.
pub(crate) fn new_goal(draft: GoalDraft) -> NewGoal {
    NewGoal { goal: draft.goal, priority: draft.priority, kind: draft.kind.name().to_string(), spec: Some(draft.spec) }
}

/// `gvpie goals ...`.
#[derive(Subcommand, Debug)]
pub enum GoalsCommand {
    /// Add a goal for the daemon's improvement engine.
    // Boxed: the image goal's flags make it much larger than the other commands.
    #[command(subcommand)]
    Add(Box<AddCommand>),
    /// List the goals.
    List {
        /// The database.
        #[arg(long, value_name = "PATH", default_value = gvpie_store::DEFAULT_DB_PATH)]
        db: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one goal: its spec, progress, best score, lineage length and last language-model proposals.
    Show {
        /// The goal's id.
        id: i64,
        /// The database.
        #[arg(long, value_name = "PATH", default_value = gvpie_store::DEFAULT_DB_PATH)]
        db: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop working on a goal (its progress stays).
    Pause {
        /// The goal's id.
        id: i64,
        /// The database.
        #[arg(long, value_name = "PATH", default_value = gvpie_store::DEFAULT_DB_PATH)]
        db: PathBuf,
    },
    /// Work on a paused goal again, from where it stopped.
    Resume {
        /// The goal's id.
        id: i64,
        /// The database.
        #[arg(long, value_name = "PATH", default_value = gvpie_store::DEFAULT_DB_PATH)]
        db: PathBuf,
    },
}

/// `gvpie goals add ...`.
#[derive(Subcommand, Debug)]
pub enum AddCommand {
    /// An image goal: a program of shapes whose rendering matches TARGET (PNG or JPEG); score RMSE.
    Image {
        /// The target image.
        target: PathBuf,
        /// Shapes to place.
        #[arg(short = 'n', long, default_value_t = 100)]
        shapes: usize,
        /// Resize the target so that its longest side is this many pixels (1 to 4096).
        #[arg(long, default_value_t = 128)]
        resize: u32,
        /// tri, rect or both.
        #[arg(long, value_parser = named::<ShapeKinds>(ShapeKinds::NAMES), ignore_case = true, default_value = "tri")]
        mode: ShapeKinds,
        /// Alpha of every shape (1 to 255), or 0 (the default) to solve it per shape like its colour.
        #[arg(long, default_value_t = 0)]
        alpha: u8,
        /// Threads per step (the result does not depend on it).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// cascade (many climbers on a reduced canvas, scored on the GPU when the daemon has one), fast or plain.
        #[arg(long, value_parser = named::<Strategy>(Strategy::NAMES), ignore_case = true, default_value = "cascade")]
        strategy: Strategy,
        /// Cascade: the effort preset, cpu or gpu. Default: the preset of the daemon's scorer.
        #[arg(long, value_parser = named::<EffortPreset>(EffortPreset::NAMES), ignore_case = true)]
        effort: Option<EffortPreset>,
        /// Let the daemon's bandit also refine the placed shapes with gradients (generator `image:refine`: every
        /// 10 shapes it may choose a refinement instead of a shape, and one final refinement runs once every shape
        /// is placed; kept only when the RMSE falls; docs/refine.md). Off by default for goals.
        #[arg(long)]
        refine: bool,
        #[command(flatten)]
        common: BudgetArgs,
    },
    /// An optimize goal: the script SCRIPT_NAME drawing exactly the same pixels in fewer cycles; score cycles.
    Optimize {
        /// The script's name (`gvpie scripts list`).
        script_name: String,
        /// Canvas size the pixels are compared at, WxH (default: the size the script declares with `SIZE`, else
        /// 128x64).
        #[arg(long, value_parser = crate::run::parse_size)]
        size: Option<(u32, u32)>,
        /// Cycle budget of the original.
        #[arg(long, default_value_t = gvpie_pxl::DEFAULT_BUDGET)]
        budget: u64,
        #[command(flatten)]
        common: BudgetArgs,
    },
    /// A describe goal: compile DESCRIPTION (plain English, docs/compile.md) and improve the program
    /// like an optimize goal (same pixels, fewer cycles); the compiled program is recorded in the map.
    Describe {
        /// What to draw, e.g. "three yellow stars above a green house".
        description: String,
        /// Canvas size the program is laid out for and its pixels compared at, WxH.
        #[arg(long, value_parser = crate::run::parse_size, default_value = "128x64")]
        size: (u32, u32),
        #[command(flatten)]
        common: BudgetArgs,
    },
}

/// `gvpie goals`.
pub fn goals(command: GoalsCommand) -> anyhow::Result<ExitCode> {
    match command {
        GoalsCommand::Add(add) => add_goal(*add),
        GoalsCommand::List { db, json } => {
            let store = open_existing(&db)?;
            let goals = store.list_goals()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&goals)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("{:>4}  {:<8} {:<7} {:>5} {:>12} {:>8}  goal", "id", "kind", "status", "prio", "best", "steps");
            for goal in goals {
                let steps = progress(&goal).map(|p| p.steps.to_string()).unwrap_or_default();
                let best = goal.best_score.map(|s| format_score(&goal.kind, s)).unwrap_or_else(|| "-".into());
                println!(
                    "{:>4}  {:<8} {:<7} {:>5} {:>12} {:>8}  {}",
                    goal.id,
                    safe(&goal.kind),
                    goal.status,
                    goal.priority,
                    best,
                    steps,
                    safe(&goal.goal)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        GoalsCommand::Show { id, db, json } => {
            let store = open_existing(&db)?;
            let goal = store.goal(id)?.ok_or_else(|| UsageError::new(format!("no goal {id}")))?;
            let lineage = match goal.best_iteration {
                Some(iteration) => store.lineage(iteration, 10_000)?.map(|l| l.ancestors.len() + 1).unwrap_or(0),
                None => 0,
            };
            let cartridge = goal.best_iteration.map(|i| format!("goal-{id}/best-{i}"));
            let cartridge = cartridge.filter(|path| store.cartridge(path).ok().flatten().is_some());
            let proposals = store.llm_proposals(id, SHOWN_PROPOSALS)?;
            if json {
                let value =
                    json!({ "goal": goal, "lineage_length": lineage, "cartridge": cartridge, "proposals": proposals });
                println!("{}", serde_json::to_string_pretty(&value)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("goal {}: {}", goal.id, safe(&goal.goal));
            println!("  kind      {}", safe(&goal.kind));
            println!("  status    {}", goal.status);
            println!("  priority  {}", goal.priority);
            match (goal.best_iteration, goal.best_score) {
                (Some(iteration), Some(score)) => {
                    println!(
                        "  best      {} (iteration {iteration}, lineage of {lineage})",
                        format_score(&goal.kind, score)
                    );
                }
                _ => println!("  best      none yet"),
            }
            if let Some(path) = &cartridge {
                println!("  cartridge {path}");
            }
            if let Some(p) = progress(&goal) {
                println!(
                    "  progress  {} steps, {} evaluations, {:.1}s, {} kept, {} steps without improvement",
                    p.steps, p.evaluations, p.seconds, p.kept, p.stale_steps
                );
                if let Some(reason) = &p.stop_reason {
                    println!("  stopped   {}", safe(reason));
                }
            }
            if let Some(budget) = goal.spec.as_ref().and_then(|s| s.get("budget")).filter(|b| b != &&json!({})) {
                println!("  budget    {budget}");
            }
            if let Some(error) = goal.spec.as_ref().and_then(|s| s.get("error")) {
                println!("  error     {error}");
            }
            if !proposals.is_empty() {
                println!("  proposals (language model, newest first)");
                for p in &proposals {
                    let score = p.score.map(|s| format!(" {}", format_score(&goal.kind, s))).unwrap_or_default();
                    let kept = p.iteration.map(|i| format!(" as iteration {i}")).unwrap_or_default();
                    let reason = p.reason.as_deref().and_then(|r| r.lines().find(|l| !l.trim().is_empty()));
                    let reason = reason.map(|r| format!(": {}", safe(&r.chars().take(120).collect::<String>())));
                    println!(
                        "    {} {} {}{score}{kept}{}",
                        gvpie_store::format_ms(p.created_ms),
                        safe(&p.generator),
                        safe(&p.outcome),
                        reason.unwrap_or_default()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        GoalsCommand::Pause { id, db } => set_status(&db, id, "paused"),
        GoalsCommand::Resume { id, db } => set_status(&db, id, "active"),
    }
}

/// Language-model proposals shown by `gvpie goals show`.
const SHOWN_PROPOSALS: usize = 10;

fn progress(goal: &Goal) -> Option<GoalProgress> {
    let value = goal.spec.as_ref()?.get("progress")?.clone();
    serde_json::from_value(value).ok()
}

fn format_score(kind: &str, score: f64) -> String {
    if kind == "optimize" { format!("{score:.0} cycles") } else { format!("{score:.6}") }
}

fn set_status(db: &std::path::Path, id: i64, status: &str) -> anyhow::Result<ExitCode> {
    let store = open_existing(db)?;
    let goal = store.goal(id)?.ok_or_else(|| UsageError::new(format!("no goal {id}")))?;
    if status == "active" && goal.status == "done" {
        return Err(UsageError::new(format!("goal {id} is done; add a new goal to go further")).into());
    }
    store.update_goal(id, &GoalUpdate { status: Some(status.to_string()), ..GoalUpdate::default() })?;
    println!("goal {id} {}", if status == "active" { "resumed" } else { "paused" });
    Ok(ExitCode::SUCCESS)
}

fn open_existing(db: &std::path::Path) -> anyhow::Result<Store> {
    crate::daemon_cmd::open_existing(db)
}

fn add_goal(add: AddCommand) -> anyhow::Result<ExitCode> {
    let goal = match add {
        AddCommand::Image { target, shapes, resize, mode, alpha, threads, strategy, effort, refine, common } => {
            if !(1..=gvpie_raster::MAX_SIDE).contains(&resize) {
                return Err(UsageError::new(format!("--resize {resize} is out of range (1 to 4096)")).into());
            }
            let params = ImageGoalParams { shapes, mode, alpha, threads, strategy, effort };
            let options = common.options();
            // Refuse bad flags before reading (and resizing) the target.
            params.check().and_then(|()| options.check()).map_err(UsageError::new)?;
            let canvas = crate::evolve_cmd::load_target(&target, resize)?;
            // The SQLite file and its folder are created when missing; a PostgreSQL database too.
            let mut store = crate::daemon_cmd::open_or_create(&common.db)?;
            let label = target.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            let (width, height) = (canvas.width(), canvas.height());
            let hash = gvpie_store::image_hash(width, height, &canvas.to_rgba8());
            let mut spec =
                ImageGoalSpec::new(hash.to_hex(), width, height, &params, &options).map_err(UsageError::new)?;
            if refine {
                spec.refine = Some(ImageRefine::default());
            }
            let image = NewImage { hash, width, height, png: Some(gvpie_cart::encode_png(&canvas, 1)) };
            store.add_goal(&new_goal(spec.draft(&label, &options)), Some(&image)).map_err(goal_error)?
        }
        AddCommand::Optimize { script_name, size, budget, common } => {
            let mut store = open_existing(&common.db)?;
            let options = common.options();
            let source = store.pixel_script_source(&script_name).map_err(goal_error)?;
            let declared = gvpie_pxl::compile(&source).ok().and_then(|t| t.canvas_size());
            let (width, height) = size.or(declared).unwrap_or((128, 64));
            let params = OptimizeGoalParams { script: script_name, width, height, cycle_budget: budget };
            let spec = OptimizeGoalSpec::new(source, &params, &options).map_err(UsageError::new)?;
            store.add_goal(&new_goal(spec.draft(&options)), None).map_err(goal_error)?
        }
        AddCommand::Describe { description, size, common } => {
            let options = gvpie_compile::Options { width: size.0, height: size.1 };
            let compiled = gvpie_compile::compile(&description, &options)
                .map_err(|e| UsageError::new(format!("the description cannot be compiled: {e}")))?;
            let mut store = open_existing(&common.db)?;
            // The recorded start of the goal: the compiled program, with the description as its task.
            crate::compile_cmd::record_source(&common.db, &description, &compiled.source, size, "compile:grammar")?;
            let options = common.options();
            let params = OptimizeGoalParams {
                script: crate::compile_cmd::describe_script_name(&description),
                width: size.0,
                height: size.1,
                cycle_budget: crate::compile_cmd::COMPILE_BUDGET,
            };
            let spec = OptimizeGoalSpec::new(compiled.source, &params, &options).map_err(UsageError::new)?;
            store.add_goal(&new_goal(spec.draft(&options)), None).map_err(goal_error)?
        }
    };
    println!("added goal {} ({}): {}", goal.id, safe(&goal.kind), safe(&goal.goal));
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `gvpie stats`.
#[derive(Args, Debug)]
pub struct StatsArgs {
    /// The database.
    #[arg(long, value_name = "PATH", default_value = gvpie_store::DEFAULT_DB_PATH)]
    db: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Adoptions `gvpie stats` shows, newest first: as many as `GET /api/growth` answers.
const ADOPTIONS_SHOWN: usize = 20;

/// The growth counters and the newest adoptions, as the dashboard shows them.
fn print_growth(growth: &gvpie_store::Growth, adoptions: &[gvpie_store::AdoptionRecord]) {
    println!("growth (what the daemon did by itself)");
    let rows = [
        ("self-set goals", growth.self_set_goals),
        ("goals done", growth.goals_done),
        ("kinds of pictures in the archive", growth.archive_kinds),
        ("distinct pictures kept", growth.archive_pictures),
        ("adopted improvements", growth.adoptions),
        ("cycles saved per run", growth.cycles_saved_per_run),
        ("executions with lineage", growth.with_lineage),
        ("distinct programs", growth.distinct_programs),
    ];
    for (label, value) in rows {
        println!("  {label:<34} {value:>10}");
    }
    println!("\nadoptions (newest first)");
    if adoptions.is_empty() {
        println!("  (none yet: a self-set optimize goal adopts a program that draws the same in fewer cycles)");
    }
    for a in adoptions {
        let at = a.iteration.map(|i| format!(", #{i}")).unwrap_or_default();
        println!(
            "  {} → {}: {} → {} cycles (goal {}{at}, {})",
            a.original,
            a.successor,
            a.original_cycles,
            a.cycles,
            a.goal_id,
            gvpie_store::format_ms(a.created_ms)
        );
    }
    let more = growth.adoptions - adoptions.len() as i64;
    if more > 0 {
        println!("  … and {more} older");
    }
    println!();
}

/// `gvpie stats`: what the daemon grew by itself (the counters and newest adoptions of `GET /api/growth`, in the
/// same JSON objects), the operator bandit's arms, then the per-script and per-opcode statistics.
pub fn stats(args: StatsArgs) -> anyhow::Result<ExitCode> {
    let store = open_existing(&args.db)?;
    let growth = store.growth()?;
    let adoptions = store.adoptions(ADOPTIONS_SHOWN)?;
    let arms = store.stats(Some(ARM_SCOPE))?;
    let scripts = store.stats(Some("script"))?;
    let opcodes = store.stats(Some("opcode"))?;
    if args.json {
        let arm_json: Vec<_> = arms
            .iter()
            .map(|s| json!({ "operator": s.key, "pulls": s.runs, "improvements": s.successes, "improvement_rate": s.success_rate }))
            .collect();
        let value = json!({
            "growth": growth,
            "adoptions": adoptions,
            "operators": arm_json,
            "scripts": scripts,
            "opcodes": opcodes,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_growth(&growth, &adoptions);
    println!("operators (bandit arms)");
    println!("  {:<28} {:>10} {:>12} {:>8}", "operator", "pulls", "improvements", "rate");
    if arms.is_empty() {
        println!("  (none yet: run the daemon, which sets its own goals, or add one with `gvpie goals add`)");
    }
    for arm in &arms {
        println!("  {:<28} {:>10} {:>12} {:>7.2}%", arm.key, arm.runs, arm.successes, 100.0 * arm.success_rate);
    }
    for (title, rows) in [("scripts", &scripts), ("opcodes", &opcodes)] {
        println!("\n{title}");
        println!("  {:<28} {:>10} {:>8} {:>12} {:>12}", "key", "runs", "ok", "mean cycles", "mean µs");
        for stat in rows.iter() {
            println!(
                "  {:<28} {:>10} {:>7.1}% {:>12.1} {:>12.1}",
                stat.key,
                stat.runs,
                100.0 * stat.success_rate,
                stat.cycles_mean,
                stat.duration_us_mean
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
