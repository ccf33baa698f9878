//! The daemon's goal generator: schedules the active image and optimize goals of `development_goals` for a slice
//! of every cycle and records what their sessions keep.
//!
//! The search, stop rules and adoption live in `gvpie_evolve::goal` ([`ImageSession`], [`OptimizeSession`]); this
//! module only schedules and records. Each cycle [`GoalGenerator`] reads the active goals, shares the time left
//! before the cycle's deadline among them, and for each one rebuilds its session from the database alone (the
//! database is the checkpoint): an image goal from the program of its best execution
//! (`gvpie_evolve::parse_program`), an optimize goal from the checkpoint kept in its spec. Its [`StoreHost`] runs
//! every kept program in the VM through the engine and records it as an execution (`infinite_map`: goal,
//! `parent_iteration`, generator, score), and hands the goal's new spec, best iteration and score, the operator
//! statistics, every LLM proposal and a cartridge of the best program to the cycle's commit
//! ([`gvpie_store::CycleExtras`]). A cycle that is rolled back (a stop) thus leaves no trace, and the next daemon
//! continues from the last committed cycle exactly as an uninterrupted one would have.
//!
//! Under an agent ([`GenerateContext::agent`]), each goal's slice is claimed first, on the goal's lowest free island
//! (`gvpie_store::Store::claim_goal_slice`): island 0 is the goal itself, as above; islands 1.. keep their own spec
//! and best in `goal_islands` (image goals: independent restarts with their own seed; optimize goals: searches that
//! import the goal's best when it is better than theirs), and their bests compete for the goal's by compare-and-set
//! in the commit. The claim and the island's slice number go into the cycle's commit, which refuses a slice it no
//! longer holds (`docs/agents.md`).
//!
//! This module does not read files: an image goal's target is a PNG in the `images` table.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{Context as _, anyhow};
use gvpie_evolve::goal::{
    ArmDelta as SliceArm, ExploreGoalSpec, ExploreSession, Feedback, Lineage, ProgramProposer, ProposalError,
    ProposalReport, ProposalRequest, ProposedProgram,
};
use gvpie_evolve::{
    BackendChoice, Clock, CpuShapeScorer, GoalHost, ImageGoalSpec, ImageSession, Kept, OptimizeGoalSpec,
    OptimizeSession, ShapeScorer, SliceLimits, SliceReport, Strategy,
};
use gvpie_pxl::{Config, RunResult, Texture};
use gvpie_raster::Canvas;
use gvpie_store::{
    ARM_SCOPE, Adoption, ArmDelta, CycleCartridge, DerivedScript, Goal, GoalChange, Hash, IslandChange, IslandInfo,
    NewExecution, NewImage, NewProposal, ParentRef, RunConfig, TextRef,
};

use crate::generate::{GenerateContext, Generator};
use crate::prepare::{Prepared, RemoteInput, compile_source};
use crate::runtime::execute_local;

/// The daemon's goal engine; see the module docs.
#[derive(Debug, Default)]
pub struct GoalGenerator {
    /// Decoded targets by hash, so a target PNG is decoded once per process.
    targets: HashMap<String, Canvas>,
    /// At most this many steps per goal and cycle (besides the cycle's deadline).
    max_steps: Option<u64>,
    /// The local-LLM generator, when configured.
    llm: Option<gvpie_llm::Proposer>,
    /// Whether the daemon sets its own goals (see [`crate::curator`]).
    self_set: bool,
    /// Scripts whose self-set optimize goal could not be built (they do not halt, ...): not retried every cycle.
    refused: std::collections::HashSet<String>,
}

impl GoalGenerator {
    /// A goal engine bounded by each cycle's deadline, working on the goals people give.
    pub fn new() -> GoalGenerator {
        GoalGenerator::default()
    }

    /// Also sets its own goals (see [`crate::curator`]): what `gvpie up` and `gvpie daemon` do unless told not to.
    pub fn with_self_set_goals(mut self) -> GoalGenerator {
        self.self_set = true;
        self
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
}

impl Generator for GoalGenerator {
    fn name(&self) -> &str {
        "goals"
    }

    fn generate(&mut self, ctx: &mut GenerateContext<'_>) -> anyhow::Result<()> {
        if self.self_set {
            let set = crate::curator::self_set_goals(ctx.store, &mut self.refused)?;
            for goal in &set {
                ctx.note(format!("self-set goal ({}): {}", goal.origin, goal.goal.goal));
            }
            ctx.extras().self_set_goals.extend(set);
        }
        let goals: Vec<Goal> = ctx
            .store
            .active_goals()?
            .into_iter()
            .filter(|g| matches!(g.kind.as_str(), "image" | "optimize" | "explore"))
            .collect();
        if goals.is_empty() {
            return Ok(());
        }
        let mut arms: Vec<ArmDelta> = Vec::new();
        let goals = crate::curator::by_weight(goals);
        let mut weight_left: f64 = goals.iter().map(|(_, w)| w).sum();
        for (goal, weight) in goals {
            if ctx.stop_requested() {
                break;
            }
            // Share the time left among the goals still to run this cycle, by priority and recent progress.
            let left = ctx.deadline.saturating_duration_since(Instant::now());
            let until = Instant::now() + left.mul_f64((weight / weight_left).clamp(0.0, 1.0));
            weight_left -= weight;
            // Under an agent, the slice is claimed first: on the goal itself (island 0) when free, else on
            // another island, so several agents work on one goal at once without doing the same slice.
            let claimed = match ctx.agent().cloned() {
                Some(agent) => match ctx.store.claim_goal_slice(&agent, goal.id, islands_of(&goal.kind))? {
                    Some(claimed) => Some(claimed),
                    None => {
                        ctx.note(format!(
                            "goal {} ({}): every island is being worked on by other agents",
                            goal.id, goal.kind
                        ));
                        continue;
                    }
                },
                None => None,
            };
            let island = claimed.as_ref().map(|c| &c.island);
            let outcome = match goal.kind.as_str() {
                "image" => self.image_slice(ctx, &goal, until, island),
                "explore" => self.explore_slice(ctx, &goal, until),
                _ => self.optimize_slice(ctx, &goal, until, island),
            };
            let island_number = island.map_or(0, |i| i.island);
            match outcome {
                Ok(slice) => {
                    for delta in slice.arms {
                        add_arm(&mut arms, delta);
                    }
                    let note =
                        if island_number > 0 { format!("[island {island_number}] {}", slice.note) } else { slice.note };
                    ctx.note(note);
                    if let Some(claimed) = claimed {
                        ctx.extras().work.islands.push(IslandChange {
                            goal_id: goal.id,
                            island: island_number,
                            slice: claimed.claim.seq,
                            spec: slice.island.spec,
                            best: slice.island.best,
                            done: slice.island.done,
                        });
                        ctx.extras().work.claims.push(claimed.claim);
                    }
                }
                Err(err) if island_number > 0 => {
                    // An island that cannot run ends; the goal itself goes on.
                    ctx.note(format!("goal {} island {island_number}: cannot run: {err:#}", goal.id));
                    if let Some(claimed) = claimed {
                        ctx.extras().work.islands.push(IslandChange {
                            goal_id: goal.id,
                            island: island_number,
                            slice: claimed.claim.seq,
                            spec: None,
                            best: None,
                            done: true,
                        });
                        ctx.extras().work.claims.push(claimed.claim);
                    }
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
                    if let Some(claimed) = claimed {
                        ctx.extras().work.islands.push(IslandChange {
                            goal_id: goal.id,
                            island: 0,
                            slice: claimed.claim.seq,
                            spec: None,
                            best: None,
                            done: true,
                        });
                        ctx.extras().work.claims.push(claimed.claim);
                    }
                }
            }
        }
        // Goals in id order (a stable sort keeps one goal's changes in order): agents committing at once lock the
        // goals' rows in the same order, so they wait for each other instead of deadlocking.
        ctx.extras().goals.sort_by_key(|change| change.id);
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
    island: IslandResult,
}

/// What a slice changes on its island (see `gvpie_store::IslandChange`).
#[derive(Default)]
struct IslandResult {
    spec: Option<serde_json::Value>,
    best: Option<(ParentRef, f64)>,
    done: bool,
}

/// How many agents may work on one goal at once: image and optimize goals as islands (independent restarts, or
/// searches that migrate their best through the goal); an explore goal's archive is one.
fn islands_of(kind: &str) -> u32 {
    match kind {
        "image" | "optimize" => 4,
        _ => 1,
    }
}

/// Island `island`'s first spec: the goal's, with its own seed and no progress or checkpoint, so each island is
/// an independent search (an image goal's restart from an empty canvas).
fn island_spec(goal: &Goal, island: i64) -> anyhow::Result<serde_json::Value> {
    let mut spec = goal.spec.clone().ok_or_else(|| anyhow!("the goal has no spec"))?;
    let object = spec.as_object_mut().ok_or_else(|| anyhow!("the goal's spec is not an object"))?;
    let seed = object.get("seed").and_then(serde_json::Value::as_u64).unwrap_or(0);
    let offset = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(u64::try_from(island).unwrap_or(0));
    object.insert("seed".to_string(), serde_json::Value::from(seed.wrapping_add(offset)));
    object.remove("progress");
    object.remove("state");
    object.remove("error");
    Ok(spec)
}

/// The state a slice starts from: the goal's own (island 0) or the island's.
struct Start {
    spec: serde_json::Value,
    best_iteration: Option<i64>,
    best_score: Option<f64>,
    island: i64,
}

fn start_of(goal: &Goal, island: Option<&IslandInfo>) -> anyhow::Result<Start> {
    match island {
        Some(island) if island.island > 0 => Ok(Start {
            spec: match &island.spec {
                Some(spec) => spec.clone(),
                None => island_spec(goal, island.island)?,
            },
            best_iteration: island.best_iteration,
            best_score: island.best_score,
            island: island.island,
        }),
        _ => Ok(Start {
            spec: goal.spec.clone().ok_or_else(|| anyhow!("the goal has no spec"))?,
            best_iteration: goal.best_iteration,
            best_score: goal.best_score,
            island: 0,
        }),
    }
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

/// The daemon's clock: seconds since the generator started.
struct SinceStart(Instant);

impl Clock for SinceStart {
    fn seconds(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// The execution of a kept candidate, run in the VM through the engine, with its image.
struct Candidate {
    execution: NewExecution,
    canvas: Option<Canvas>,
}

fn run_candidate(ctx: &GenerateContext<'_>, goal: &Goal, source: &str, vm: &Config, keep_png: bool) -> Candidate {
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

/// A kept program of this cycle: its pending execution, source, score and canvas.
struct KeptHere {
    index: usize,
    generator: String,
    source: String,
    score: f64,
    canvas: Option<Canvas>,
}

/// A session's host in the daemon: every kept program is run in the VM and recorded in the cycle, each the child
/// of the one before; batches run on the engine (the GPU when it has one and the batch is large enough).
struct StoreHost<'c, 'a> {
    ctx: &'c mut GenerateContext<'a>,
    goal: &'c Goal,
    parent: ParentRef,
    kept: Vec<KeptHere>,
}

impl GoalHost for StoreHost<'_, '_> {
    fn keep(&mut self, kept: &Kept<'_>) -> Result<(), String> {
        // The original's picture is the reference of an optimize goal: keep its PNG; and every picture worth showing.
        let keep_png = kept.generator == "original" || kept.picture;
        let mut candidate = run_candidate(self.ctx, self.goal, kept.source, kept.vm, keep_png);
        if let Some(expected) = kept.canvas
            && candidate.canvas.as_ref() != Some(expected)
        {
            return Err("it does not draw the searched canvas".to_string());
        }
        candidate.execution.parent = match kept.parent {
            Lineage::Previous => self.parent,
            Lineage::Root => ParentRef::None,
            Lineage::Of(source) => self.parent_of(source),
        };
        candidate.execution.generator = Some(TextRef::new(kept.generator));
        candidate.execution.score = Some(kept.score);
        if let Some(seconds) = kept.seconds {
            candidate.execution.duration_us = (seconds * 1e6).round().min(i64::MAX as f64) as i64;
        }
        let index = self.ctx.record(candidate.execution);
        if kept.parent == Lineage::Previous {
            self.parent = ParentRef::Pending(index);
        }
        self.kept.push(KeptHere {
            index,
            generator: kept.generator.to_string(),
            source: kept.source.to_string(),
            score: kept.score,
            canvas: candidate.canvas,
        });
        Ok(())
    }

    fn run_batch(&mut self, textures: &[Texture], vm: &Config) -> Option<Vec<RunResult>> {
        let engine = self.ctx.engine;
        let outcomes = engine
            .execute_batch(textures, vm, BackendChoice::Auto)
            .or_else(|_| engine.execute_batch(textures, vm, BackendChoice::Cpu))
            .ok()?;
        Some(outcomes.into_iter().map(|o| o.result).collect())
    }

    fn stop_requested(&self) -> bool {
        self.ctx.stop_requested()
    }
}

impl StoreHost<'_, '_> {
    /// The execution of an earlier program of this goal: kept in this cycle, or the latest on record.
    fn parent_of(&self, source: &str) -> ParentRef {
        if let Some(kept) = self.kept.iter().rev().find(|k| k.source == source) {
            return ParentRef::Pending(kept.index);
        }
        let Prepared::Ready(program) = compile_source(source, RemoteInput::Source, None) else {
            return ParentRef::None;
        };
        match self.ctx.store.latest_iteration_of_program(&program.program.hash) {
            Ok(Some(iteration)) => ParentRef::Iteration(iteration),
            _ => ParentRef::None,
        }
    }

    /// Hands the slice's results to the cycle's commit: the proposal, the best program's PNG and cartridge, the
    /// goal's new spec and best, and the operator statistics. Returns the arms for the bandit line.
    fn commit(self, report: &SliceReport, spec: serde_json::Value, island: i64) -> (Vec<ArmDelta>, IslandResult) {
        let StoreHost { ctx, goal, kept, .. } = self;
        if let Some(proposal) = &report.proposal {
            ctx.extras().proposals.push(proposal_record(goal, proposal, &kept));
        }
        let last = kept.last();
        if let Some(last) = last
            && let Some(canvas) = &last.canvas
        {
            // Keep the PNG of the cycle's last (best) program only, and its cartridge.
            if let Some(image) = ctx.pending_mut(last.index).and_then(|e| e.image.as_mut())
                && image.png.is_none()
            {
                image.png = Some(gvpie_cart::encode_png(canvas, 1));
            }
            if let Ok(png) = gvpie_cart::pack(&last.source, canvas) {
                ctx.extras().cartridges.push(CycleCartridge {
                    path_prefix: format!("goal-{}/best-", goal.id),
                    pending: last.index,
                    png,
                    width: canvas.width(),
                    height: canvas.height(),
                });
            }
        }
        let best = last.map(|k| (ParentRef::Pending(k.index), k.score));
        let island = if island == 0 {
            ctx.extras().goals.push(GoalChange {
                id: goal.id,
                status: report.stop_reason.is_some().then(|| "done".to_string()),
                spec: Some(spec),
                best,
            });
            IslandResult { spec: None, best, done: report.stop_reason.is_some() }
        } else {
            // Another island: its best competes for the goal's (compare-and-set in the commit); its spec and its
            // end are its own, and the goal finishes by island 0's stop rules.
            if best.is_some() {
                ctx.extras().goals.push(GoalChange { id: goal.id, status: None, spec: None, best });
            }
            IslandResult { spec: Some(spec), best, done: report.stop_reason.is_some() }
        };
        let arms = report
            .arms
            .iter()
            .map(|arm: &SliceArm| ArmDelta {
                key: arm.key.clone(),
                tries: i64::try_from(arm.tries).unwrap_or(i64::MAX),
                improvements: i64::try_from(arm.improvements).unwrap_or(i64::MAX),
            })
            .collect();
        (arms, island)
    }
}

/// The `llm_proposals` row of a proposal; an adopted one names the execution that recorded it.
fn proposal_record(goal: &Goal, proposal: &ProposalReport, kept: &[KeptHere]) -> NewProposal {
    let execution = match kept.iter().find(|k| k.generator == proposal.generator) {
        Some(k) if proposal.outcome == gvpie_evolve::goal::ProposalOutcome::Adopted => ParentRef::Pending(k.index),
        _ => ParentRef::None,
    };
    NewProposal {
        goal_id: goal.id,
        generator: proposal.generator.clone(),
        outcome: proposal.outcome.name().to_string(),
        reason: proposal.reason.clone(),
        source: proposal.source.clone(),
        score: proposal.score,
        execution,
    }
}

/// The local LLM as the sessions' proposer.
struct LlmProposer<'p>(&'p mut gvpie_llm::Proposer);

impl ProgramProposer for LlmProposer<'_> {
    fn generator_name(&self) -> String {
        self.0.generator_name()
    }

    fn propose(&mut self, request: &ProposalRequest) -> Result<ProposedProgram, ProposalError> {
        let parents: Vec<gvpie_llm::Parent> = request
            .parents
            .iter()
            .map(|p| gvpie_llm::Parent {
                label: p.label.clone(),
                source: p.source.clone(),
                score: p.score.clone(),
                errors: Vec::new(),
            })
            .collect();
        match self.0.propose(&request.site, &request.description, &parents, &request.vm) {
            Ok(proposal) => Ok(ProposedProgram { source: proposal.source, run: proposal.run }),
            Err(gvpie_llm::ProposeError::Rejected(rejection)) => Err(ProposalError {
                rejected: true,
                reason: rejection.to_string(),
                reply: self.0.last_reply().map(str::to_string),
            }),
            Err(err) => Err(ProposalError { rejected: false, reason: err.to_string(), reply: None }),
        }
    }

    fn feedback(&mut self, site: &str, feedback: Feedback) {
        match feedback {
            Feedback::Accepted => self.0.accepted(site),
            Feedback::Refused(reason) => self.0.reject(site, &reason),
        }
    }
}

impl GoalGenerator {
    fn limits(&self, clock: &SinceStart, until: Instant) -> SliceLimits {
        let left = until.saturating_duration_since(Instant::now()).as_secs_f64();
        SliceLimits { until: clock.seconds() + left, max_steps: self.max_steps }
    }

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

    fn image_slice(
        &mut self,
        ctx: &mut GenerateContext<'_>,
        goal: &Goal,
        until: Instant,
        island: Option<&IslandInfo>,
    ) -> anyhow::Result<Slice> {
        let start = start_of(goal, island)?;
        let spec: ImageGoalSpec = serde_json::from_value(start.spec).context("bad image goal spec")?;
        let target = self.target(ctx, &spec.target)?;
        let n_threads = spec.threads.max(1);
        // One scorer per slice, by the engine's one rule for image searches (`Engine::image_search`): shapes
        // and gradients where `auto` puts them (the CPU for both, measured at equal time on the H100 host).
        // A solved alpha (0) is computed on the CPU only, and the other strategies never call the scorer.
        let engine = ctx.engine;
        let cpu_scorer = || -> Box<dyn ShapeScorer> { Box::new(CpuShapeScorer { n_threads }) };
        let search = match spec.strategy() {
            Strategy::Cascade if spec.alpha != 0 => BackendChoice::Auto,
            _ => BackendChoice::Cpu,
        };
        let (mut scorer, on_gpu) = match engine.image_search(search, BackendChoice::Auto, n_threads) {
            Ok((scorer, choice)) => (scorer, choice.search.backend == "gpu"),
            Err(_) => (cpu_scorer(), false),
        };
        // Resume from the program of the best (latest kept) execution: the database is the checkpoint. Island 0
        // resumes from the goal's best, wherever it was found; another island from its own (an independent restart).
        let placed = match start.best_iteration {
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
        let mut session = ImageSession::resume(goal.id, &goal.goal, spec, target, &placed, start.best_score, on_gpu)
            .map_err(|e| anyhow!("{e}"))?;
        let clock = SinceStart(Instant::now());
        let limits = self.limits(&clock, until);
        let mut proposer = self.llm.as_mut().map(LlmProposer);
        let proposer = proposer.as_mut().map(|p| p as &mut dyn ProgramProposer);
        let parent = start.best_iteration.map_or(ParentRef::None, ParentRef::Iteration);
        let mut host = StoreHost { ctx, goal, parent, kept: Vec::new() };
        let report =
            session.run_slice(limits, &clock, &mut host, scorer.as_mut(), proposer).map_err(|e| anyhow!("{e}"))?;
        let spec = serde_json::to_value(session.spec())?;
        let (arms, island) = host.commit(&report, spec, start.island);
        Ok(Slice { note: report.note, arms, island })
    }

    fn optimize_slice(
        &mut self,
        ctx: &mut GenerateContext<'_>,
        goal: &Goal,
        until: Instant,
        island: Option<&IslandInfo>,
    ) -> anyhow::Result<Slice> {
        let start = start_of(goal, island)?;
        let spec: OptimizeGoalSpec = serde_json::from_value(start.spec).context("bad optimize goal spec")?;
        let has_lineage = start.best_iteration.is_some() || goal.best_iteration.is_some();
        let mut session =
            OptimizeSession::resume(goal.id, &goal.goal, spec, has_lineage).map_err(|e| anyhow!("{e}"))?;
        // Migration through the shared tables: an island imports the goal's best when it is better than its own.
        let mut parent = start.best_iteration.map_or(ParentRef::None, ParentRef::Iteration);
        let mut imported = None;
        if let (Some(shared), Some(score)) = (goal.best_iteration, goal.best_score)
            && score < session.search().cycles() as f64
            && let Some(code) = ctx.store.map_entry(shared, true)?.and_then(|entry| entry.code)
            && session.import(&code)
        {
            parent = ParentRef::Iteration(shared);
            imported = Some(shared);
        }
        let clock = SinceStart(Instant::now());
        let limits = self.limits(&clock, until);
        let mut proposer = self.llm.as_mut().map(LlmProposer);
        let proposer = proposer.as_mut().map(|p| p as &mut dyn ProgramProposer);
        let mut host = StoreHost { ctx, goal, parent, kept: Vec::new() };
        let report = session.run_slice(limits, &clock, &mut host, proposer).map_err(|e| anyhow!("{e}"))?;
        let best_source = session.best_source();
        // Another island's find becomes the script's successor only when it beats the goal's best so far.
        let beats_goal = |score: f64| start.island == 0 || goal.best_score.is_none_or(|best| score < best);
        let island_improved = host.kept.last().is_some_and(|k| beats_goal(k.score));
        let original_cycles = session.search().original_cycles();
        let spec = session.into_spec();
        // The best program beside the original, never over it: `<original>.optimized`, disabled. A goal whose
        // program is no script (`gvpie goals add describe`) keeps its best in the map only.
        if (report.improved || report.stop_reason.is_some())
            && (start.island == 0 || island_improved)
            && let Some(original) = host.ctx.store.script_by_name(&spec.script)?
        {
            host.ctx.extras().scripts.push(DerivedScript {
                name: format!("{}.optimized", spec.script),
                lang: "pixel".to_string(),
                purpose: Some(format!("optimized by goal {} from {}", goal.id, spec.script)),
                code: best_source,
                parent_script_id: Some(original.id),
            });
        }
        // A self-set goal adopts its successor (the rule in `crate::curator`): it then runs in the original's place.
        let adopted = match host.kept.last() {
            Some(last)
                if report.improved
                    && goal.origin.is_some()
                    && last.generator != "original"
                    && beats_goal(last.score) =>
            {
                Some((last.index, last.score, last.source.clone(), last.canvas.clone(), original_cycles))
            }
            _ => None,
        };
        if let Some((index, score, source, canvas, original_cycles)) = adopted {
            let cycles = score as u64;
            host.ctx.extras().adoptions.push(Adoption {
                goal_id: goal.id,
                original: spec.script.clone(),
                successor: format!("{}.optimized", spec.script),
                original_cycles,
                cycles,
                execution: ParentRef::Pending(index),
            });
            if let Some(canvas) = canvas
                && let Ok(png) = gvpie_cart::pack(&source, &canvas)
            {
                host.ctx.extras().cartridges.push(CycleCartridge {
                    path_prefix: format!("adopted/{}-", spec.script),
                    pending: index,
                    png,
                    width: canvas.width(),
                    height: canvas.height(),
                });
            }
            host.ctx.note(format!(
                "adopted {}.optimized in place of {}: {original_cycles} -> {cycles} cycles, same pixels",
                spec.script, spec.script
            ));
        }
        let (arms, island) = host.commit(&report, serde_json::to_value(&spec)?, start.island);
        let note = match imported {
            Some(iteration) => format!("imported the goal's best (iteration {iteration}); {}", report.note),
            None => report.note,
        };
        Ok(Slice { note, arms, island })
    }

    fn explore_slice(&mut self, ctx: &mut GenerateContext<'_>, goal: &Goal, until: Instant) -> anyhow::Result<Slice> {
        let spec_value = goal.spec.clone().ok_or_else(|| anyhow!("the goal has no spec"))?;
        let spec: ExploreGoalSpec = serde_json::from_value(spec_value).context("bad explore goal spec")?;
        let mut session = ExploreSession::resume(goal.id, spec);
        let clock = SinceStart(Instant::now());
        let limits = self.limits(&clock, until);
        let parent = goal.best_iteration.map_or(ParentRef::None, ParentRef::Iteration);
        let mut host = StoreHost { ctx, goal, parent, kept: Vec::new() };
        let report = session.run_slice(limits, &clock, &mut host).map_err(|e| anyhow!("{e}"))?;
        let (arms, island) = host.commit(&report, serde_json::to_value(session.into_spec())?, 0);
        Ok(Slice { note: report.note, arms, island })
    }
}
