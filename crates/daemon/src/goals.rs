//! The goal engine: the daemon's default [`Generator`], which works on the active image and
//! optimize goals of `development_goals` for a bounded slice of every cycle.
//!
//! Each cycle [`GoalGenerator`] reads the active goals, shares the time left before the
//! cycle's deadline among them, and for each one rebuilds its search from the database alone
//! (the database is the checkpoint): an image goal from the program of its best execution
//! (`gvpie_evolve::parse_program`, then `ImageSearch::resume`), an optimize goal from the
//! `OptimizeCheckpoint` kept in its spec. An image goal searches with the strategy in its spec: the evaluator
//! cascade scores its batches with the engine's shape scorer (the GPU when there is one, with the same result),
//! and a goal stored before the field existed goes on as `fast`. It then steps the search, records every kept
//! candidate as an execution (`infinite_map`: goal, `parent_iteration`, generator, score),
//! and hands the goal's new progress, best iteration and score, the operator statistics and
//! a cartridge of the best program to the cycle's commit ([`gvpie_store::CycleExtras`]).
//! A cycle that is rolled back (a stop) thus leaves no trace, and the next daemon continues
//! from the last committed cycle exactly as an uninterrupted one would have.
//!
//! Budgets (seconds, evaluations) and stop rules (target score, patience) are checked after
//! every step; a goal that meets one becomes `done` with the reason in its progress.
//! This module does not read files: an image goal's target is a PNG in the `images` table.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{Context as _, anyhow};
use gvpie_evolve::{
    ArmStats, CascadeEffort, CpuShapeScorer, DatabaseConfig, Edit, Effort, Evaluation, Evolution, EvolutionConfig,
    ImageGoalConfig, ImageSearch, Operator, OptimizeCheckpoint, OptimizeConfig, OptimizeSearch, PixelReference,
    ShapeKinds, ShapeScorer, Strategy,
};
use gvpie_exec::BackendChoice;
use gvpie_raster::Canvas;
use gvpie_store::{
    ARM_SCOPE, ArmDelta, CycleCartridge, DerivedScript, Goal, GoalChange, Hash, NewExecution, NewImage, ParentRef,
    RunConfig, TextRef,
};
use serde::{Deserialize, Serialize};

use crate::generate::{GenerateContext, Generator};
use crate::prepare::{Prepared, RemoteInput, compile_source};
use crate::runtime::execute_local;

/// The budget and stop rules of a goal; a missing field is no limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GoalBudget {
    /// Seconds of search, over all cycles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// Candidates evaluated, over all cycles (image: shapes scored; optimize: edited programs run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluations: Option<u64>,
    /// Done once the score is at most this (lower is better: RMSE, or cycles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_score: Option<f64>,
    /// Done after this many steps in a row without a better score (image: shapes; optimize: candidates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patience: Option<u64>,
}

/// How far a goal got: updated in the cycle's commit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GoalProgress {
    /// Steps taken (image: shapes placed; optimize: candidates evaluated).
    pub steps: u64,
    /// Candidates evaluated.
    pub evaluations: u64,
    /// Seconds of search.
    pub seconds: f64,
    /// Steps in a row without a better score.
    pub stale_steps: u64,
    /// Kept candidates recorded.
    pub kept: u64,
    /// Why the goal is done, once it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
}

/// An image goal's spec (`development_goals.spec` with `kind = 'image'`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageGoalSpec {
    /// The target: the hash of a PNG in the `images` table.
    pub target: String,
    /// The target's width (the program's canvas).
    pub width: u32,
    /// Its height.
    pub height: u32,
    /// Shapes to place.
    pub shapes: usize,
    /// The search's seed.
    #[serde(default = "one")]
    pub seed: u64,
    /// `tri`, `rect` or `both`.
    #[serde(default = "tri")]
    pub mode: String,
    /// Alpha of every shape (0: solved per shape).
    #[serde(default = "half")]
    pub alpha: u8,
    /// Restarts per shape (default: gvpie evolve's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarts: Option<u32>,
    /// Random shapes tried per restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_tries: Option<u32>,
    /// Failed mutations in a row that end a climb.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failures: Option<u32>,
    /// Threads per step (the result does not depend on it).
    #[serde(default = "one_usize")]
    pub threads: usize,
    /// `fast`, `cascade` or `plain`. Goals stored before the cascade have none and go on as `fast`, so that a
    /// resumed goal continues exactly where it stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// The cascade's effort preset, `cpu` or `gpu`; none: the preset of the scorer the daemon has (so a goal
    /// resumed on another machine may search differently unless it is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// Budget and stop rules.
    #[serde(default)]
    pub budget: GoalBudget,
    /// Progress so far.
    #[serde(default)]
    pub progress: GoalProgress,
}

/// An optimize goal's spec (`kind = 'optimize'`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizeGoalSpec {
    /// The script optimized (by name; the original is copied into `source`).
    pub script: String,
    /// The original program, as it was when the goal was added.
    pub source: String,
    /// Canvas width the pixels are compared at.
    #[serde(default = "default_width")]
    pub width: u32,
    /// Canvas height.
    #[serde(default = "default_height")]
    pub height: u32,
    /// Cycle budget of the original.
    #[serde(default = "default_budget")]
    pub cycle_budget: u64,
    /// The edits' seed.
    #[serde(default = "one")]
    pub seed: u64,
    /// The program-database search run beside the line edits.
    #[serde(default)]
    pub evolve: EvolveSettings,
    /// Budget and stop rules.
    #[serde(default)]
    pub budget: GoalBudget,
    /// Progress so far.
    #[serde(default)]
    pub progress: GoalProgress,
    /// The search's checkpoint after the last committed cycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SavedOptimize>,
}

/// How an optimize goal uses the program database ([`Evolution`]): every `every`-th step of the goal is one
/// generation of `children` structural mutations and crossovers over `islands` islands and the MAP-Elites archive,
/// evaluated as one batch; the other steps are line edits ([`OptimizeSearch`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvolveSettings {
    /// A generation every this many steps (0: never; 1: every step).
    pub every: u64,
    /// Children per generation (the batch size).
    pub children: usize,
    /// Islands of the database.
    pub islands: usize,
}

impl Default for EvolveSettings {
    fn default() -> EvolveSettings {
        EvolveSettings { every: 8, children: 16, islands: 4 }
    }
}

impl EvolveSettings {
    /// Line edits only (no program database).
    pub fn off() -> EvolveSettings {
        EvolveSettings { every: 0, ..EvolveSettings::default() }
    }
}

/// [`OptimizeCheckpoint`] as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedOptimize {
    /// The best program.
    pub source: String,
    /// Its cycles.
    pub cycles: u64,
    /// Candidates evaluated.
    pub evaluations: u64,
    /// The deletion sweep's next line.
    pub sweep: Option<usize>,
    /// The random state.
    pub rng: [u64; 4],
    /// (tries, improvements) per edit kind.
    pub arms: Vec<(u64, u64)>,
    /// The program database's search (islands, archive, operator bandit, random state), once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evolution: Option<Evolution>,
}

fn one() -> u64 {
    1
}
fn one_usize() -> usize {
    1
}
fn tri() -> String {
    "tri".to_string()
}
fn half() -> u8 {
    128
}
fn default_width() -> u32 {
    128
}
fn default_height() -> u32 {
    64
}
fn default_budget() -> u64 {
    gvpie_pxl::DEFAULT_BUDGET
}

impl SavedOptimize {
    fn from_checkpoint(checkpoint: &OptimizeCheckpoint) -> SavedOptimize {
        SavedOptimize {
            source: checkpoint.source.clone(),
            cycles: checkpoint.cycles,
            evaluations: checkpoint.n_evaluations,
            sweep: checkpoint.sweep,
            rng: checkpoint.rng,
            arms: checkpoint.arms.iter().map(|a| (a.tries, a.successes)).collect(),
            evolution: None,
        }
    }

    fn to_checkpoint(&self) -> OptimizeCheckpoint {
        OptimizeCheckpoint {
            source: self.source.clone(),
            cycles: self.cycles,
            n_evaluations: self.evaluations,
            sweep: self.sweep,
            rng: self.rng,
            arms: self.arms.iter().map(|&(tries, successes)| ArmStats { tries, successes }).collect(),
        }
    }
}

/// The generator name recorded with an image goal's candidates.
pub const IMAGE_GENERATOR: &str = "image:shape";

/// The daemon's goal engine; see the module docs.
#[derive(Debug, Default)]
pub struct GoalGenerator {
    /// Decoded targets by hash, so a target PNG is decoded once per process.
    targets: HashMap<String, Canvas>,
    /// At most this many steps per goal and cycle (besides the cycle's deadline).
    max_steps: Option<u64>,
    /// The local-LLM generator, when configured.
    llm: Option<gvpie_llm::Proposer>,
}

impl GoalGenerator {
    /// A goal engine bounded by each cycle's deadline.
    pub fn new() -> GoalGenerator {
        GoalGenerator::default()
    }

    /// Also bounds each goal's slice to `max_steps` steps per cycle (at least 1), which makes the
    /// cycles' contents independent of the machine's speed (tests, reproducible runs).
    pub fn with_max_steps(mut self, max_steps: u64) -> GoalGenerator {
        self.max_steps = Some(max_steps.max(1));
        self
    }

    /// Also asks a language model for one proposal per goal and cycle (generator `llm:MODEL`). An optimize goal
    /// keeps one only when it passes the same exact-pixels, fewer-cycles check as every mutation; an image goal
    /// when it is a program of the goal's form with a lower RMSE at no more shapes than placed. Every proposal is
    /// recorded in `llm_proposals` with its outcome.
    pub fn with_llm(mut self, proposer: gvpie_llm::Proposer) -> GoalGenerator {
        self.llm = Some(proposer);
        self
    }

    fn more(&self, tries: u64, until: Instant) -> bool {
        tries == 0 || (Instant::now() < until && self.max_steps.is_none_or(|max| tries < max))
    }
}

impl Generator for GoalGenerator {
    fn name(&self) -> &str {
        "goals"
    }

    fn generate(&mut self, ctx: &mut GenerateContext<'_>) -> anyhow::Result<()> {
        let goals: Vec<Goal> =
            ctx.store.active_goals()?.into_iter().filter(|g| g.kind == "image" || g.kind == "optimize").collect();
        if goals.is_empty() {
            return Ok(());
        }
        let mut arms: Vec<ArmDelta> = Vec::new();
        let n_goals = goals.len();
        for (index, goal) in goals.into_iter().enumerate() {
            if ctx.stop_requested() {
                break;
            }
            // Share the time left fairly among the goals still to run this cycle.
            let left = ctx.deadline.saturating_duration_since(Instant::now());
            let until = Instant::now() + left / (n_goals - index) as u32;
            let outcome = match goal.kind.as_str() {
                "image" => self.image_slice(ctx, &goal, until),
                _ => self.optimize_slice(ctx, &goal, until),
            };
            match outcome {
                Ok(slice) => {
                    for delta in slice.arms {
                        add_arm(&mut arms, delta);
                    }
                    ctx.note(slice.note);
                }
                Err(err) => {
                    // A goal that cannot run (a bad spec, a missing target) is ended with the reason, so it does not
                    // fail again every cycle.
                    let message = format!("{err:#}");
                    let mut spec = goal.spec.clone().unwrap_or_else(|| serde_json::json!({}));
                    if let Some(object) = spec.as_object_mut() {
                        object.insert("error".to_string(), serde_json::Value::String(message.clone()));
                    }
                    ctx.extras().goals.push(GoalChange {
                        id: goal.id,
                        status: Some("done".to_string()),
                        spec: Some(spec),
                        best: None,
                    });
                    ctx.note(format!("goal {} ({}): cannot run: {message}", goal.id, goal.kind));
                }
            }
        }
        if !arms.is_empty() {
            let line = bandit_line(ctx, &arms);
            ctx.extras().arms.extend(arms);
            ctx.note(line);
        }
        Ok(())
    }
}

/// What one goal's slice of a cycle did.
struct Slice {
    note: String,
    arms: Vec<ArmDelta>,
}

fn add_arm(arms: &mut Vec<ArmDelta>, delta: ArmDelta) {
    match arms.iter_mut().find(|a| a.key == delta.key) {
        Some(arm) => {
            arm.tries += delta.tries;
            arm.improvements += delta.improvements;
        }
        None => arms.push(delta),
    }
}

/// `bandit: optimize:delete 3/40 (7.5%) · ...`: every operator's totals including this cycle.
fn bandit_line(ctx: &GenerateContext<'_>, arms: &[ArmDelta]) -> String {
    let mut totals: Vec<(String, i64, i64)> = ctx
        .store
        .stats(Some(ARM_SCOPE))
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.key, s.runs, s.successes))
        .collect();
    for arm in arms {
        match totals.iter_mut().find(|t| t.0 == arm.key) {
            Some(total) => {
                total.1 += arm.tries;
                total.2 += arm.improvements;
            }
            None => totals.push((arm.key.clone(), arm.tries, arm.improvements)),
        }
    }
    totals.sort();
    let parts: Vec<String> = totals
        .iter()
        .map(|(key, tries, wins)| {
            let rate = if *tries > 0 { 100.0 * *wins as f64 / *tries as f64 } else { 0.0 };
            format!("{key} {wins}/{tries} ({rate:.1}%)")
        })
        .collect();
    format!("bandit: {}", parts.join(" · "))
}

/// Checks the budget and stop rules; `Some(reason)` when the goal is done.
fn stop_reason(budget: &GoalBudget, progress: &GoalProgress, score: f64) -> Option<String> {
    if let Some(target) = budget.target_score
        && score <= target
    {
        return Some(format!("target score {target} reached ({score:.6})"));
    }
    if let Some(evaluations) = budget.evaluations
        && progress.evaluations >= evaluations
    {
        return Some(format!("evaluation budget {evaluations} spent"));
    }
    if let Some(seconds) = budget.seconds
        && progress.seconds >= seconds
    {
        return Some(format!("time budget {seconds}s spent"));
    }
    if let Some(patience) = budget.patience
        && progress.stale_steps >= patience
    {
        return Some(format!("no improvement in {patience} steps (patience)"));
    }
    None
}

/// The execution of a kept candidate, run in the VM through the engine, with its image.
struct Candidate {
    execution: NewExecution,
    canvas: Option<Canvas>,
}

fn run_candidate(
    ctx: &GenerateContext<'_>,
    goal: &Goal,
    source: &str,
    vm: &gvpie_pxl::Config,
    keep_png: bool,
) -> Candidate {
    let started_ms = gvpie_store::now_ms();
    let mut execution = NewExecution {
        started_ms,
        goal_id: Some(goal.id),
        task: Some(TextRef::new(format!("goal {}: {}", goal.id, goal.goal))),
        config: Some(RunConfig { width: vm.width, height: vm.height, budget: vm.budget }),
        code: Some(TextRef::new(source)),
        ..NewExecution::default()
    };
    let mut canvas = None;
    match compile_source(source, RemoteInput::Source, None) {
        Prepared::Ready(program) => {
            execution.program = Some(program.program.clone());
            let executed = execute_local(ctx.engine, &program.texture, vm, BackendChoice::Cpu);
            execution.success = executed.result.success;
            execution.cycles = executed.result.cycles;
            execution.duration_us = (executed.result.duration_ms * 1000.0).round() as i64;
            execution.backend = Some(gvpie_store::BackendUsed::from_name(&executed.result.backend));
            execution.error =
                executed.result.error.as_ref().and_then(|e| serde_json::to_string(e).ok()).map(TextRef::new);
            if let Some(drawn) = &executed.canvas {
                let hash = gvpie_store::image_hash(drawn.width(), drawn.height(), &drawn.to_rgba8());
                let png = keep_png.then(|| gvpie_cart::encode_png(drawn, 1));
                execution.image = Some(NewImage { hash, width: drawn.width(), height: drawn.height(), png });
            }
            canvas = executed.canvas;
        }
        Prepared::Failed { error, .. } => {
            execution.backend = Some(gvpie_store::BackendUsed::None);
            execution.error = serde_json::to_string(&error).ok().map(TextRef::new);
        }
    }
    Candidate { execution, canvas }
}

/// The cartridge of a goal's best program, registered as `goal-ID/best-ITERATION`.
fn best_cartridge(goal: &Goal, pending: usize, source: &str, canvas: &Canvas) -> Option<CycleCartridge> {
    let png = gvpie_cart::pack(source, canvas).ok()?;
    Some(CycleCartridge {
        path_prefix: format!("goal-{}/best-", goal.id),
        pending,
        png,
        width: canvas.width(),
        height: canvas.height(),
    })
}

impl GoalGenerator {
    fn target(&mut self, ctx: &GenerateContext<'_>, hash: &str) -> anyhow::Result<Canvas> {
        if let Some(canvas) = self.targets.get(hash) {
            return Ok(canvas.clone());
        }
        let parsed = Hash::from_hex(hash).map_err(|e| anyhow!("bad target hash: {e}"))?;
        let image =
            ctx.store.image_by_hash(&parsed)?.ok_or_else(|| anyhow!("the target image {hash} is not stored"))?;
        let png = image.png.ok_or_else(|| anyhow!("the target image {hash} has no PNG"))?;
        let canvas = gvpie_cart::decode_png(&png).context("the target image cannot be decoded")?;
        if self.targets.len() >= 16 {
            self.targets.clear();
        }
        self.targets.insert(hash.to_string(), canvas.clone());
        Ok(canvas)
    }

    fn image_slice(&mut self, ctx: &mut GenerateContext<'_>, goal: &Goal, until: Instant) -> anyhow::Result<Slice> {
        let spec_value = goal.spec.clone().ok_or_else(|| anyhow!("the goal has no spec"))?;
        let mut spec: ImageGoalSpec = serde_json::from_value(spec_value).context("bad image goal spec")?;
        let target = self.target(ctx, &spec.target)?;
        let kinds = match spec.mode.as_str() {
            "tri" => ShapeKinds::Triangles,
            "rect" => ShapeKinds::Rectangles,
            "both" => ShapeKinds::Both,
            other => return Err(anyhow!("unknown shape mode '{other}' (tri, rect or both)")),
        };
        let effort = Effort {
            restarts: spec.restarts.unwrap_or(Effort::DEFAULT.restarts),
            random_tries: spec.random_tries.unwrap_or(Effort::DEFAULT.random_tries),
            max_failures: spec.max_failures.unwrap_or(Effort::DEFAULT.max_failures),
            polish: Effort::DEFAULT.polish,
        };
        let strategy = match spec.strategy.as_deref() {
            None | Some("fast") => Strategy::Fast,
            Some("cascade") => Strategy::Cascade,
            Some("plain") => Strategy::Plain,
            Some(other) => return Err(anyhow!("unknown strategy '{other}' (fast, cascade or plain)")),
        };
        let n_threads = spec.threads.max(1);
        // One scorer per slice: the GPU's when the engine has a hardware GPU. A solved alpha (0) is computed on the
        // CPU only, and the other strategies never call the scorer.
        let engine = ctx.engine;
        let cpu_scorer = || -> Box<dyn ShapeScorer> { Box::new(CpuShapeScorer { n_threads }) };
        let (mut scorer, on_gpu) = match strategy {
            Strategy::Cascade if spec.alpha != 0 => match engine.shape_scorer(BackendChoice::Auto, n_threads) {
                Ok((scorer, choice)) => (scorer, choice.backend == "gpu"),
                Err(_) => (cpu_scorer(), false),
            },
            _ => (cpu_scorer(), false),
        };
        let cascade = match spec.effort.as_deref() {
            Some("gpu") => CascadeEffort::GPU,
            Some("cpu") => CascadeEffort::DEFAULT,
            None if on_gpu => CascadeEffort::GPU,
            None => CascadeEffort::DEFAULT,
            Some(other) => return Err(anyhow!("unknown effort '{other}' (cpu or gpu)")),
        };
        let config = ImageGoalConfig {
            n_shapes: spec.shapes,
            kinds,
            alpha: spec.alpha,
            seed: spec.seed,
            n_threads,
            effort,
            strategy,
            cascade,
            ..ImageGoalConfig::default()
        };
        // Resume from the program of the best (latest kept) execution: the database is the checkpoint.
        let placed = match goal.best_iteration {
            Some(iteration) => {
                let entry = ctx
                    .store
                    .map_entry(iteration, true)?
                    .ok_or_else(|| anyhow!("best iteration {iteration} is gone"))?;
                let code = entry.code.ok_or_else(|| anyhow!("iteration {iteration} has no code"))?;
                gvpie_evolve::parse_program(&code).map_err(|e| anyhow!("iteration {iteration}: {e}"))?.1
            }
            None => Vec::new(),
        };
        let mut search = ImageSearch::resume(target, config, &placed).map_err(|e| anyhow!("{e}"))?;
        let vm = gvpie_pxl::Config { width: spec.width, height: spec.height, ..gvpie_pxl::Config::default() };
        let mut parent = goal.best_iteration.map_or(ParentRef::None, ParentRef::Iteration);
        let mut score = goal.best_score.unwrap_or_else(|| search.rmse());
        let mut last: Option<(usize, String, f64)> = None;
        let mut tries = 0u64;
        let mut improvements = 0;
        let mut stop = stop_reason(&spec.budget, &spec.progress, score);
        if search.is_done() && stop.is_none() {
            stop = Some(format!("{} shapes placed", spec.shapes));
        }
        let mut llm_arm = None;
        let mut llm_note = String::new();
        // One proposal per cycle, once a shape is placed: a proposal is compared at the same number of shapes or
        // fewer, so there is nothing to beat before.
        if let Some(proposer) = self.llm.as_mut()
            && stop.is_none()
            && !ctx.stop_requested()
            && !search.placed().is_empty()
        {
            let started = Instant::now();
            let step = crate::llm_step::image_step(proposer, goal, &spec, &mut search);
            spec.progress.seconds += started.elapsed().as_secs_f64();
            let name = proposer.generator_name();
            llm_note = format!(", {}", step.note);
            if step.evaluated {
                spec.progress.evaluations += 1;
                llm_arm =
                    Some(ArmDelta { key: name.clone(), tries: 1, improvements: i64::from(step.accepted.is_some()) });
            }
            let mut record = step.record;
            if let Some((source, rmse)) = step.accepted {
                // Recorded as a shape step is; the search now continues from this program.
                let mut candidate = run_candidate(ctx, goal, &source, &vm, false);
                if candidate.canvas.as_ref() != Some(search.canvas()) {
                    return Err(anyhow!("the adopted program of {name} does not draw the searched canvas"));
                }
                candidate.execution.parent = parent;
                candidate.execution.generator = Some(TextRef::new(name));
                candidate.execution.score = Some(rmse);
                let index = ctx.record(candidate.execution);
                record.execution = ParentRef::Pending(index);
                spec.progress.kept += 1;
                spec.progress.stale_steps = 0;
                parent = ParentRef::Pending(index);
                last = Some((index, source, rmse));
                score = score.min(rmse);
            }
            // Every proposal is kept, whatever became of it, in the cycle's commit.
            ctx.extras().proposals.push(record);
            stop = stop_reason(&spec.budget, &spec.progress, score);
        }
        while stop.is_none() && !ctx.stop_requested() && self.more(tries, until) {
            let started = Instant::now();
            let report = search.step_with(scorer.as_mut());
            let elapsed = started.elapsed();
            tries += 1;
            spec.progress.steps += 1;
            spec.progress.evaluations += report.n_candidates;
            spec.progress.seconds += elapsed.as_secs_f64();
            let improved = report.rmse < score;
            if improved {
                improvements += 1;
                spec.progress.stale_steps = 0;
            } else {
                spec.progress.stale_steps += 1;
            }
            score = score.min(report.rmse);
            let source = search.program();
            let mut candidate = run_candidate(ctx, goal, &source, &vm, false);
            if candidate.canvas.as_ref() != Some(search.canvas()) {
                return Err(anyhow!("the program of shape {} does not draw the searched canvas", spec.progress.steps));
            }
            candidate.execution.parent = parent;
            candidate.execution.generator = Some(TextRef::new(IMAGE_GENERATOR));
            candidate.execution.score = Some(report.rmse);
            candidate.execution.duration_us = i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX);
            let index = ctx.record(candidate.execution);
            spec.progress.kept += 1;
            parent = ParentRef::Pending(index);
            last = Some((index, source, report.rmse));
            stop = stop_reason(&spec.budget, &spec.progress, score);
            if stop.is_none() && search.is_done() {
                stop = Some(format!("{} shapes placed", spec.shapes));
            }
        }
        let done = stop.is_some();
        spec.progress.stop_reason = stop.clone();
        let mut best = None;
        if let Some((index, source, rmse)) = &last {
            best = Some((ParentRef::Pending(*index), *rmse));
            // Keep the PNG of the cycle's last (best) candidate only, and its cartridge.
            let canvas = search.canvas().clone();
            if let Some(image) = ctx.pending_mut(*index).and_then(|e| e.image.as_mut())
                && image.png.is_none()
            {
                image.png = Some(gvpie_cart::encode_png(&canvas, 1));
            }
            if let Some(cartridge) = best_cartridge(goal, *index, source, &canvas) {
                ctx.extras().cartridges.push(cartridge);
            }
        }
        // The scorer's name after the slice says whether the GPU held.
        let strategy_note = match strategy {
            Strategy::Cascade => format!(", cascade on {}", scorer.name()),
            Strategy::Plain => ", plain".to_string(),
            _ => String::new(),
        };
        let note = format!(
            "goal {} image: {}/{} shapes, rmse {:.6}, +{tries} this cycle{strategy_note}{llm_note}{}",
            goal.id,
            search.placed().len(),
            spec.shapes,
            score,
            stop.as_deref().map(|r| format!(", done: {r}")).unwrap_or_default()
        );
        ctx.extras().goals.push(GoalChange {
            id: goal.id,
            status: done.then(|| "done".to_string()),
            spec: Some(serde_json::to_value(&spec)?),
            best,
        });
        let mut arms = if tries > 0 {
            vec![ArmDelta { key: IMAGE_GENERATOR.to_string(), tries: tries as i64, improvements }]
        } else {
            Vec::new()
        };
        arms.extend(llm_arm);
        Ok(Slice { note, arms })
    }
}

/// Runs a batch of database children through the engine (the GPU when it has one and the batch is large enough)
/// and screens them against the original.
fn evaluate_children(
    reference: &PixelReference,
    engine: &gvpie_exec::Engine,
    children: &[gvpie_evolve::Child],
) -> Vec<Option<Evaluation>> {
    reference.evaluate_batch(children, |textures, vm| {
        let outcomes = engine
            .execute_batch(textures, vm, BackendChoice::Auto)
            .or_else(|_| engine.execute_batch(textures, vm, BackendChoice::Cpu))
            .ok()?;
        Some(outcomes.into_iter().map(|o| o.result).collect())
    })
}

impl GoalGenerator {
    fn optimize_slice(&mut self, ctx: &mut GenerateContext<'_>, goal: &Goal, until: Instant) -> anyhow::Result<Slice> {
        let spec_value = goal.spec.clone().ok_or_else(|| anyhow!("the goal has no spec"))?;
        let mut spec: OptimizeGoalSpec = serde_json::from_value(spec_value).context("bad optimize goal spec")?;
        let vm = gvpie_pxl::Config {
            width: spec.width,
            height: spec.height,
            budget: spec.cycle_budget,
            ..gvpie_pxl::Config::default()
        };
        let config = OptimizeConfig { vm, seed: spec.seed };
        let mut search = match &spec.state {
            Some(saved) => OptimizeSearch::resume(&spec.source, config, &saved.to_checkpoint()),
            None => OptimizeSearch::new(&spec.source, config),
        }
        .map_err(|e| anyhow!("{e}"))?;
        // The program database: resumed from the checkpoint, or started from the best program so far.
        let mut evolution = spec.state.as_mut().and_then(|s| s.evolution.take());
        let mut evolve_note = String::new();
        let reference = if spec.evolve.every > 0 {
            Some(PixelReference::new(&spec.source, &vm).map_err(|e| anyhow!("{e}"))?)
        } else {
            None
        };
        if let Some(reference) = &reference
            && evolution.is_none()
        {
            let config = EvolutionConfig {
                database: DatabaseConfig {
                    n_islands: spec.evolve.islands.max(1),
                    allow_same_image_if_better: true,
                    seed: spec.seed,
                    ..DatabaseConfig::default()
                },
                children_per_generation: spec.evolve.children.max(1),
                seed: spec.seed,
                ..EvolutionConfig::default()
            };
            let start = search.source();
            match Evolution::new(&start, config, |_, texture| reference.evaluate(texture)) {
                Ok(started) => evolution = Some(started),
                Err(err) => evolve_note = format!(", no program database: {err}"),
            }
        }
        let evolve_arms_before = evolution.as_ref().map(Evolution::operator_stats).unwrap_or_default();
        let mut parent = goal.best_iteration.map_or(ParentRef::None, ParentRef::Iteration);
        let mut best = None;
        let mut new_best = false;
        let mut last_kept: Option<(usize, String, Option<Canvas>)> = None;
        if goal.best_iteration.is_none() {
            // The original is the root of the lineage.
            let mut original = run_candidate(ctx, goal, &spec.source, &vm, true);
            original.execution.generator = Some(TextRef::new("original"));
            original.execution.score = Some(search.original_cycles() as f64);
            let index = ctx.record(original.execution);
            spec.progress.kept += 1;
            parent = ParentRef::Pending(index);
            best = Some((parent, search.original_cycles() as f64));
        }
        let arms_before: Vec<ArmStats> = search.operator_stats().to_vec();
        let mut score = search.cycles() as f64;
        let mut stop = stop_reason(&spec.budget, &spec.progress, score);
        let mut tries = 0u64;
        let mut llm_arm = None;
        let mut llm_note = String::new();
        if let Some(proposer) = self.llm.as_mut()
            && stop.is_none()
            && !ctx.stop_requested()
        {
            let started = Instant::now();
            let step = crate::llm_step::optimize_step(proposer, goal, &spec, &mut search);
            spec.progress.seconds += started.elapsed().as_secs_f64();
            let name = proposer.generator_name();
            llm_note = format!(", {}", step.note);
            if step.evaluated {
                spec.progress.steps += 1;
                spec.progress.evaluations += 1;
                llm_arm =
                    Some(ArmDelta { key: name.clone(), tries: 1, improvements: i64::from(step.accepted.is_some()) });
            }
            let mut record = step.record;
            match step.accepted {
                Some((source, cycles)) => {
                    spec.progress.stale_steps = 0;
                    score = cycles as f64;
                    if let (Some(reference), Some(evolution)) = (&reference, evolution.as_mut()) {
                        reference.share(evolution, &source, cycles, &name);
                    }
                    let mut candidate = run_candidate(ctx, goal, &source, &vm, false);
                    candidate.execution.parent = parent;
                    candidate.execution.generator = Some(TextRef::new(name));
                    candidate.execution.score = Some(score);
                    let index = ctx.record(candidate.execution);
                    record.execution = ParentRef::Pending(index);
                    spec.progress.kept += 1;
                    parent = ParentRef::Pending(index);
                    best = Some((parent, score));
                    new_best = true;
                    last_kept = Some((index, source, candidate.canvas));
                }
                None if step.evaluated => spec.progress.stale_steps += 1,
                None => {}
            }
            // Every proposal is kept, whatever became of it, in the cycle's commit.
            ctx.extras().proposals.push(record);
            stop = stop_reason(&spec.budget, &spec.progress, score);
        }
        let mut clock = Instant::now();
        while stop.is_none() && !ctx.stop_requested() && self.more(tries, until) {
            let every = spec.evolve.every;
            let generation_turn = every > 0 && (spec.progress.steps + 1).is_multiple_of(every);
            tries += 1;
            spec.progress.steps += 1;
            // Kept programs of this step: (source, cycles, generator).
            let mut accepted_now: Vec<(String, u64, String)> = Vec::new();
            if let (true, Some(evolution), Some(reference)) = (generation_turn, evolution.as_mut(), &reference) {
                // One generation of the program database, evaluated as one batch; a new best is adopted only after
                // `OptimizeSearch::offer` re-checks it on the CPU reference VM.
                let engine = ctx.engine;
                let (report, new_bests) =
                    evolution.generation_batch(|children| evaluate_children(reference, engine, children));
                spec.progress.evaluations += report.evaluated;
                for entry in new_bests {
                    if entry.score > -(search.cycles() as f64)
                        && let Ok(cycles) = search.offer(&entry.source)
                    {
                        accepted_now.push((search.source(), cycles, entry.evolve_generator()));
                    }
                }
                if accepted_now.is_empty() {
                    spec.progress.stale_steps += report.evaluated.max(1);
                }
            } else {
                spec.progress.evaluations += 1;
                match search.step() {
                    Some(accepted) => {
                        let generator = format!("mutation:{}", Edit::KINDS[accepted.edit.kind()]);
                        let source = search.source();
                        if let (Some(reference), Some(evolution)) = (&reference, evolution.as_mut()) {
                            reference.share(evolution, &source, accepted.cycles, &generator);
                        }
                        accepted_now.push((source, accepted.cycles, generator));
                    }
                    None => spec.progress.stale_steps += 1,
                }
            }
            spec.progress.seconds += clock.elapsed().as_secs_f64();
            clock = Instant::now();
            for (source, cycles, generator) in accepted_now {
                spec.progress.stale_steps = 0;
                score = cycles as f64;
                let mut candidate = run_candidate(ctx, goal, &source, &vm, false);
                candidate.execution.parent = parent;
                candidate.execution.generator = Some(TextRef::new(generator));
                candidate.execution.score = Some(score);
                let index = ctx.record(candidate.execution);
                spec.progress.kept += 1;
                parent = ParentRef::Pending(index);
                best = Some((parent, score));
                new_best = true;
                last_kept = Some((index, source, candidate.canvas));
            }
            stop = stop_reason(&spec.budget, &spec.progress, score);
            if search.cycles() == 0 && stop.is_none() {
                stop = Some("no cycles left to remove".to_string());
            }
        }
        let mut arms: Vec<ArmDelta> = Edit::KINDS
            .iter()
            .zip(search.operator_stats().iter().zip(arms_before.iter().chain(std::iter::repeat(&ArmStats::default()))))
            .filter(|(_, (now, before))| now.tries > before.tries)
            .map(|(kind, (now, before))| ArmDelta {
                key: format!("optimize:{kind}"),
                tries: (now.tries - before.tries) as i64,
                improvements: (now.successes - before.successes) as i64,
            })
            .collect();
        if let Some(evolution) = &evolution {
            let now = evolution.operator_stats();
            for (index, operator) in Operator::ALL.iter().enumerate() {
                let before = evolve_arms_before.get(index).copied().unwrap_or_default();
                let after = now.get(index).copied().unwrap_or_default();
                if after.tries > before.tries {
                    arms.push(ArmDelta {
                        key: format!("evolve:{operator}"),
                        tries: (after.tries - before.tries) as i64,
                        improvements: after.successes.saturating_sub(before.successes) as i64,
                    });
                }
            }
            let database = evolution.database();
            evolve_note = format!(
                ", database: generation {}, {} kept, {} elites",
                database.generation(),
                database.stats().kept,
                database.elites().count()
            );
        }
        arms.extend(llm_arm);
        let mut saved = SavedOptimize::from_checkpoint(&search.checkpoint());
        saved.evolution = evolution;
        spec.state = Some(saved);
        spec.progress.stop_reason = stop.clone();
        if let Some((index, source, Some(canvas))) = &last_kept {
            if let Some(image) = ctx.pending_mut(*index).and_then(|e| e.image.as_mut())
                && image.png.is_none()
            {
                image.png = Some(gvpie_cart::encode_png(canvas, 1));
            }
            if let Some(cartridge) = best_cartridge(goal, *index, source, canvas) {
                ctx.extras().cartridges.push(cartridge);
            }
        }
        if new_best || stop.is_some() {
            // The best program beside the original, never over it: `<original>.optimized`, disabled.
            let original = ctx.store.script_by_name(&spec.script)?;
            ctx.extras().scripts.push(DerivedScript {
                name: format!("{}.optimized", spec.script),
                lang: "pixel".to_string(),
                purpose: Some(format!("optimized by goal {} from {}", goal.id, spec.script)),
                code: search.source(),
                parent_script_id: original.map(|s| s.id),
            });
        }
        let note = format!(
            "goal {} optimize {}: {} -> {} cycles, {} candidates (+{tries} this cycle){evolve_note}{llm_note}{}",
            goal.id,
            spec.script,
            search.original_cycles(),
            search.cycles(),
            search.n_evaluations(),
            stop.as_deref().map(|r| format!(", done: {r}")).unwrap_or_default()
        );
        ctx.extras().goals.push(GoalChange {
            id: goal.id,
            status: stop.is_some().then(|| "done".to_string()),
            spec: Some(serde_json::to_value(&spec)?),
            best,
        });
        Ok(Slice { note, arms })
    }
}
