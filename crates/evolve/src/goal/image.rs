//! The image goal's session: shape by shape towards a target picture, with differentiable refinement of the shapes
//! placed so far between shapes and at the end when the spec asks for it (`crate::refine`, generator `image:refine`).

use gvpie_raster::Canvas;

use super::propose::{ProgramProposer, image_proposal};
use super::{
    ArmDelta, Clock, GoalHost, IMAGE_GENERATOR, ImageGoalSpec, ImageRefine, Kept, Lineage, REFINE_GENERATOR,
    SliceLimits, SliceReport, StopRules,
};
use crate::refine::{Budget, CpuSoftRenderer, RefineConfig};
use crate::{ImageGoalConfig, ImageSearch, Placed, ShapeScorer, Strategy};

/// The first random stream of the regrowth's searches: far above any shape's position, so that a regrown shape
/// does not replay the climbers of the shape placed there first.
const REGROW_STREAM: u64 = 1 << 40;

/// An image goal being worked on: its spec (with progress) and its search.
#[derive(Debug)]
pub struct ImageSession {
    goal_id: i64,
    words: String,
    spec: ImageGoalSpec,
    search: ImageSearch,
    /// The best score so far (the goal's, which may predate this session).
    score: f64,
    /// The refinements this session ran, in order.
    refinements: Vec<Refined>,
}

/// One refinement an image session ran (kept or not).
#[derive(Debug, Clone, PartialEq)]
pub struct Refined {
    /// Shapes placed when it ran.
    pub shapes: usize,
    /// Whether it was the final one (every shape placed, or the search's time or patience spent).
    pub last: bool,
    /// The RMSE before.
    pub before: f64,
    /// The RMSE after (`before` when it did not help and nothing was kept).
    pub after: f64,
    /// Adam steps taken.
    pub steps: usize,
    /// Programs run in the VM (the rounded checks and the polish).
    pub exact_runs: usize,
    /// Seconds it took, on the caller's clock.
    pub seconds: f64,
    /// Of those, the seconds of the exact polish (and regrowth) after the gradients: serial work, what is left
    /// of a refinement's time on many cores.
    pub polish_seconds: f64,
    /// Where its gradients were computed (`cpu`, `gpu`), and why the GPU's moved to the CPU, if they did.
    pub gradients: String,
}

/// The next step of a slice.
enum Next {
    /// Place a shape; `chosen` when the bandit chose it over a refinement.
    Shape { chosen: bool },
    /// Refine; `last` for the final refinement.
    Refine { last: bool },
}

impl ImageSession {
    /// Resumes goal `goal_id` (described by `words`) from the shapes of its best program (`placed`, empty for a
    /// new goal) with the search settings of its spec; `scored_on_gpu` picks the cascade's effort preset when the
    /// spec names none.
    pub fn resume(
        goal_id: i64,
        words: &str,
        spec: ImageGoalSpec,
        target: Canvas,
        placed: &[Placed],
        best_score: Option<f64>,
        scored_on_gpu: bool,
    ) -> Result<ImageSession, String> {
        let config = spec.search_config(scored_on_gpu);
        ImageSession::with_config(goal_id, words, spec, target, config, placed, best_score)
    }

    /// Like [`ImageSession::resume`] with search settings of the caller's (`gvpie evolve`'s flags).
    pub fn with_config(
        goal_id: i64,
        words: &str,
        spec: ImageGoalSpec,
        target: Canvas,
        config: ImageGoalConfig,
        placed: &[Placed],
        best_score: Option<f64>,
    ) -> Result<ImageSession, String> {
        if (target.width(), target.height()) != (spec.width, spec.height) {
            return Err(format!(
                "the target is {}x{}; the goal's canvas is {}x{}",
                target.width(),
                target.height(),
                spec.width,
                spec.height
            ));
        }
        let search = ImageSearch::resume(target, config, placed).map_err(|e| e.to_string())?;
        let score = best_score.unwrap_or_else(|| search.rmse());
        if let Some(refine) = &spec.refine {
            refine.check()?;
        }
        Ok(ImageSession { goal_id, words: words.to_string(), spec, search, score, refinements: Vec::new() })
    }

    /// The spec, with the progress so far.
    pub fn spec(&self) -> &ImageGoalSpec {
        &self.spec
    }

    /// The search: its program, canvas and statistics.
    pub fn search(&self) -> &ImageSearch {
        &self.search
    }

    /// The best score so far (RMSE).
    pub fn score(&self) -> f64 {
        self.score
    }

    /// The refinements this session ran, in order.
    pub fn refinements(&self) -> &[Refined] {
        &self.refinements
    }

    /// Why the goal is done, if it is (a final refinement still to run means it is not).
    fn pending_stop(&self) -> Option<String> {
        self.next_step().err()
    }

    /// The seconds left of the goal's time budget, if it has one.
    fn seconds_left(&self) -> Option<f64> {
        self.spec.stop.seconds.map(|s| (s - self.spec.progress.seconds).max(0.0))
    }

    /// What to do next, or why the goal is done. Without refinement: a shape until a stop rule or every shape is
    /// placed. With it: a target score, the evaluations or the whole time budget end the goal at once; every shape
    /// placed, the patience, or the search's share of the time budget spent lead to the final refinement first;
    /// between shapes, every `every` shapes, the bandit chooses between a shape and a refinement (UCB1 on the
    /// rate at which each beat the other: a shape that improved, a refinement that gained as much as the average
    /// shape since the last one).
    fn next_step(&self) -> Result<Next, String> {
        let Some(refine) = &self.spec.refine else {
            return match self.stop_reason() {
                Some(reason) => Err(reason),
                None => Ok(Next::Shape { chosen: false }),
            };
        };
        let progress = &self.spec.progress;
        let hard = StopRules { patience: None, ..self.spec.stop.clone() };
        if let Some(reason) = hard.stop_reason(progress, self.score) {
            return Err(reason);
        }
        let patience = StopRules { patience: self.spec.stop.patience, ..StopRules::default() };
        let search_time_up = self.spec.stop.seconds.filter(|&s| progress.seconds >= s * (1.0 - refine.final_share));
        let soft = if self.search.is_done() {
            Some(format!("{} shapes placed", self.spec.shapes))
        } else if let Some(seconds) = search_time_up {
            Some(format!("time budget {seconds}s spent"))
        } else {
            patience.stop_reason(progress, self.score)
        };
        let placed = self.search.placed().len();
        if let Some(reason) = soft {
            if refine.state.final_done || placed == 0 || refine.final_steps == 0 {
                return Err(reason);
            }
            return Ok(Next::Refine { last: true });
        }
        let since = placed - refine.state.at_shapes.unwrap_or(0).min(placed);
        if refine.every == 0 || (since as u64) < refine.every {
            return Ok(Next::Shape { chosen: false });
        }
        let arm = |[tries, successes]: [u64; 2]| crate::ArmStats { tries, successes };
        let bandit = crate::Bandit::from_stats(vec![arm(refine.state.shape_arm), arm(refine.state.refine_arm)]);
        Ok(if bandit.choose() == 1 { Next::Refine { last: false } } else { Next::Shape { chosen: true } })
    }

    /// Places one shape and keeps its program.
    fn shape_step(
        &mut self,
        clock: &dyn Clock,
        host: &mut dyn GoalHost,
        scorer: &mut dyn ShapeScorer,
        vm: &gvpie_pxl::Config,
    ) -> Result<(), String> {
        let started = clock.seconds();
        let report = self.search.step_with(scorer);
        let seconds = clock.seconds() - started;
        let progress = &mut self.spec.progress;
        progress.steps += 1;
        progress.evaluations += report.n_candidates;
        progress.seconds += seconds;
        if report.rmse < self.score {
            progress.stale_steps = 0;
        } else {
            progress.stale_steps += 1;
        }
        self.score = self.score.min(report.rmse);
        let source = self.search.program();
        let keep = Kept {
            source: &source,
            generator: IMAGE_GENERATOR,
            detail: None,
            score: report.rmse,
            seconds: Some(seconds),
            canvas: Some(self.search.canvas()),
            vm,
            parent: Lineage::Previous,
            picture: false,
        };
        host.keep(&keep).map_err(|e| format!("the program of shape {}: {e}", self.spec.progress.steps))?;
        self.spec.progress.kept += 1;
        Ok(())
    }

    /// One refinement of the program so far (see [`ImageRefine`]): kept only when it lowers the RMSE, with the
    /// background and a fixed alpha left alone, so the search goes on from the refined shapes.
    fn refine_step(
        &mut self,
        last: bool,
        scorer: &mut dyn ShapeScorer,
        clock: &dyn Clock,
        deadline: Option<f64>,
    ) -> Result<Refined, String> {
        let Some(settings) = self.spec.refine.clone() else {
            return Err("internal error: refinement is off".to_string());
        };
        let started = clock.seconds();
        let threads = self.search.config().n_threads.max(1);
        let config = RefineConfig {
            steps: if last { settings.final_steps } else { settings.steps },
            // The polish runs below, on the search's own shapes, without the VM (see `stack_polish`).
            polish_sweeps: 0,
            soft_max_pixels: settings.soft_pixels.max(1),
            keep_background: true,
            keep_alpha: self.search.config().alpha != 0,
            ..RefineConfig::default()
        };
        let before = self.search.rmse();
        let shapes = self.search.placed().len();
        let mut cpu = CpuSoftRenderer { threads };
        let budget = Budget { clock, deadline };
        let result = crate::refine::refine(
            &self.search.program(),
            self.search.target(),
            &config,
            scorer.soft_renderer().unwrap_or(&mut cpu),
            threads,
            &budget,
            &mut |_| {},
        );
        let gradients = result.as_ref().map_or_else(
            |_| "cpu".to_string(),
            |r| match &r.fallback {
                Some(why) => format!("{} (the GPU failed: {why})", r.renderer),
                None => r.renderer.clone(),
            },
        );
        let (steps, exact_runs) = result.as_ref().map_or((0, 0), |r| (r.steps, r.exact_runs));
        // Keep it only when it is better and reads back as the search's own shapes drawing the same picture.
        let adopted =
            result.ok().filter(|r| r.rmse_after < before && r.status == gvpie_pxl::Status::Halted).and_then(|r| {
                let (_, placed) = crate::parse_program(&r.source).ok()?;
                let mut search = self.search.clone();
                search.replace_shapes(&placed).ok()?;
                (placed.len() == shapes && *search.canvas() == r.canvas && search.rmse() < before).then_some(search)
            });
        if let Some(search) = adopted {
            self.search = search;
        }
        let sweeps = if last { settings.final_sweeps } else { settings.sweeps };
        let mut exact_runs = exact_runs;
        let polish_started = clock.seconds();
        let polish = crate::StackPolishConfig {
            sweeps,
            keep_alpha: config.keep_alpha,
            mutations: settings.moves,
            seed: self.search.config().seed ^ (shapes as u64) << 32,
            threads,
        };
        exact_runs += self.polish(&polish, clock, deadline)?;
        if last && settings.regrow > 0 {
            let (regrown, runs) = self.regrow(settings.regrow, scorer, clock, deadline)?;
            exact_runs += runs;
            if regrown {
                exact_runs += self.polish(&polish, clock, deadline)?;
            }
        }
        let after = self.search.rmse();
        let polish_seconds = clock.seconds() - polish_started;
        let seconds = clock.seconds() - started;
        let progress = &mut self.spec.progress;
        progress.seconds += seconds;
        progress.evaluations += exact_runs as u64;
        if after < self.score {
            progress.stale_steps = 0;
        }
        self.score = self.score.min(after);
        let refine = self.spec.refine.get_or_insert_with(ImageRefine::default);
        // A win: it gained at least as much as the average shape placed since the last refinement.
        let since = shapes - refine.state.at_shapes.unwrap_or(0).min(shapes);
        let shape_gain = match refine.state.rmse {
            Some(then) if since > 0 => (then - before) / since as f64,
            _ => 0.0,
        };
        let won = after < before && before - after >= shape_gain;
        refine.state.refine_arm[0] += 1;
        refine.state.refine_arm[1] += u64::from(won);
        refine.state.at_shapes = Some(shapes);
        refine.state.rmse = Some(after);
        refine.state.final_done |= last;
        Ok(Refined { shapes, last, before, after, steps, exact_runs, seconds, polish_seconds, gradients })
    }

    /// Polishes the search's shapes (see [`crate::polish_stack`]) and keeps the result when it is better; returns
    /// the moves scored.
    fn polish(
        &mut self,
        config: &crate::StackPolishConfig,
        clock: &dyn Clock,
        deadline: Option<f64>,
    ) -> Result<usize, String> {
        if config.sweeps == 0 {
            return Ok(0);
        }
        let search = &self.search;
        let polished =
            crate::polish_stack(search.target(), search.background(), search.placed(), config, clock, deadline);
        if polished.sse_after < polished.sse_before {
            let mut search = self.search.clone();
            search.replace_shapes(&polished.placed).map_err(|e| format!("the polished shapes: {e}"))?;
            if search.rmse() < self.search.rmse() {
                self.search = search;
            }
        }
        Ok(polished.evaluations as usize)
    }

    /// Up to `rounds` times: takes out the shape whose removal costs least (never the top one, which the search
    /// just placed on this very canvas) and searches a new shape on top instead, kept when the picture gets
    /// better. Each attempt draws its climbers from a stream of its own. Returns whether any was kept, and the
    /// shapes whose worth was measured.
    fn regrow(
        &mut self,
        rounds: u32,
        scorer: &mut dyn ShapeScorer,
        clock: &dyn Clock,
        deadline: Option<f64>,
    ) -> Result<(bool, usize), String> {
        let mut tried = std::collections::HashSet::new();
        let (mut regrown, mut measured) = (false, 0);
        // The shapes' worth, measured again only when the shapes changed (it costs a pass over the whole stack).
        let mut measured_costs: Option<Vec<i64>> = None;
        for round in 0..rounds {
            if deadline.is_some_and(|d| clock.seconds() >= d) {
                break;
            }
            let search = &self.search;
            let placed = search.placed();
            let costs = measured_costs.get_or_insert_with(|| {
                measured += placed.len();
                crate::removal_costs(search.target(), search.background(), placed)
            });
            let weakest = costs
                .iter()
                .enumerate()
                .take(placed.len().saturating_sub(1))
                .filter(|(i, _)| !tried.contains(&placed[*i]))
                .min_by_key(|(_, cost)| **cost);
            let Some((i, _)) = weakest else {
                break;
            };
            tried.insert(placed[i]);
            let mut rest = placed.to_vec();
            rest.remove(i);
            let mut trial = search.clone();
            trial.replace_shapes(&rest).map_err(|e| format!("the shapes without shape {i}: {e}"))?;
            trial.step_in_stream(scorer, REGROW_STREAM + u64::from(round));
            if trial.rmse() < self.search.rmse() {
                self.search = trial;
                regrown = true;
                measured_costs = None;
            }
        }
        Ok((regrown, measured))
    }

    fn stop_reason(&self) -> Option<String> {
        let reason = self.spec.stop.stop_reason(&self.spec.progress, self.score);
        if reason.is_none() && self.search.is_done() {
            return Some(format!("{} shapes placed", self.spec.shapes));
        }
        reason
    }

    /// Works on the goal until a stop rule, the slice's limits or the host ends it: first one proposal of the
    /// `proposer` (once a shape is placed: a proposal is compared at the same number of shapes or fewer, so there
    /// is nothing to beat before), then one shape per step, its candidates scored by `scorer` (the cascade's
    /// batches; the other strategies score on the CPU), or, when the spec asks for refinement, a refinement of
    /// the program so far where the bandit chooses one and a final one after the last shape (generator
    /// `image:refine`, gradients on the CPU with the spec's threads). Every shape's program is kept, and every
    /// refinement's that lowered the RMSE.
    pub fn run_slice(
        &mut self,
        limits: SliceLimits,
        clock: &dyn Clock,
        host: &mut dyn GoalHost,
        scorer: &mut dyn ShapeScorer,
        proposer: Option<&mut dyn ProgramProposer>,
    ) -> Result<SliceReport, String> {
        let vm = gvpie_pxl::Config { width: self.spec.width, height: self.spec.height, ..gvpie_pxl::Config::default() };
        let mut arms = Vec::new();
        let mut kept = 0;
        let mut proposal = None;
        let mut stop = self.pending_stop();
        if let Some(proposer) = proposer
            && stop.is_none()
            && !host.stop_requested()
            && !self.search.placed().is_empty()
        {
            let started = clock.seconds();
            let (report, adopted) = image_proposal(proposer, self.goal_id, &self.words, &self.spec, &mut self.search);
            self.spec.progress.seconds += clock.seconds() - started;
            if report.evaluated {
                self.spec.progress.evaluations += 1;
                arms.push(ArmDelta {
                    key: report.generator.clone(),
                    tries: 1,
                    improvements: u64::from(adopted.is_some()),
                });
            }
            if let Some(rmse) = adopted {
                let source = self.search.program();
                let keep = Kept {
                    source: &source,
                    generator: &report.generator,
                    detail: None,
                    score: rmse,
                    seconds: None,
                    canvas: Some(self.search.canvas()),
                    vm: &vm,
                    parent: Lineage::Previous,
                    picture: false,
                };
                host.keep(&keep).map_err(|e| format!("the adopted program of {}: {e}", report.generator))?;
                kept += 1;
                self.spec.progress.kept += 1;
                self.spec.progress.stale_steps = 0;
                self.score = self.score.min(rmse);
            }
            proposal = Some(report);
            stop = self.pending_stop();
        }
        let mut steps = 0u64;
        let mut improvements = 0u64;
        let (mut refine_tries, mut refine_wins) = (0u64, 0u64);
        while !host.stop_requested() && limits.more(steps, clock.seconds()) {
            let last = match self.next_step() {
                Err(reason) => {
                    stop = Some(reason);
                    break;
                }
                Ok(Next::Refine { last }) => last,
                Ok(Next::Shape { chosen }) => {
                    let before = self.score;
                    self.shape_step(clock, host, scorer, &vm)?;
                    steps += 1;
                    kept += 1;
                    if self.score < before {
                        improvements += 1;
                    }
                    if chosen && let Some(refine) = self.spec.refine.as_mut() {
                        refine.state.shape_arm[0] += 1;
                        refine.state.shape_arm[1] += u64::from(self.score < before);
                    }
                    stop = self.pending_stop();
                    host.stepped(&self.spec.progress, self.score);
                    continue;
                }
            };
            // A refinement is one step, like a shape: the slice's end does not cut it (so a goal resumed after any
            // slice reaches the same program); only the goal's own time budget does.
            let deadline = self.seconds_left().map(|left| clock.seconds() + left);
            let refined = self.refine_step(last, scorer, clock, deadline)?;
            steps += 1;
            refine_tries += 1;
            if refined.after < refined.before {
                refine_wins += 1;
                let source = self.search.program();
                let detail =
                    format!("{} gradient steps, rmse {:.6} -> {:.6}", refined.steps, refined.before, refined.after);
                let keep = Kept {
                    source: &source,
                    generator: REFINE_GENERATOR,
                    detail: Some(&detail),
                    score: refined.after,
                    seconds: Some(refined.seconds),
                    canvas: Some(self.search.canvas()),
                    vm: &vm,
                    parent: Lineage::Previous,
                    picture: false,
                };
                host.keep(&keep).map_err(|e| format!("the refined program at {} shapes: {e}", refined.shapes))?;
                kept += 1;
                self.spec.progress.kept += 1;
            }
            self.refinements.push(refined);
            stop = self.pending_stop();
            host.stepped(&self.spec.progress, self.score);
        }
        if refine_tries > 0 {
            arms.push(ArmDelta { key: REFINE_GENERATOR.to_string(), tries: refine_tries, improvements: refine_wins });
        }
        let steps_shapes = steps - refine_tries;
        if steps_shapes > 0 {
            arms.insert(0, ArmDelta { key: IMAGE_GENERATOR.to_string(), tries: steps_shapes, improvements });
        }
        self.spec.progress.stop_reason = stop.clone();
        // The scorer's name after the slice says whether the GPU held.
        let strategy = match self.search.config().strategy {
            Strategy::Cascade => format!(", cascade on {}", scorer.name()),
            Strategy::Plain => ", plain".to_string(),
            _ => String::new(),
        };
        let note = format!(
            "goal {} image: {}/{} shapes, rmse {:.6}, +{steps_shapes} this cycle{strategy}{}{}{}",
            self.goal_id,
            self.search.placed().len(),
            self.spec.shapes,
            self.score,
            if refine_tries > 0 { format!(", refined {refine_wins}/{refine_tries}") } else { String::new() },
            proposal.as_ref().map(|p| format!(", {}", p.note)).unwrap_or_default(),
            stop.as_deref().map(|r| format!(", done: {r}")).unwrap_or_default()
        );
        Ok(SliceReport { steps, kept, score: self.score, stop_reason: stop, improved: kept > 0, arms, proposal, note })
    }
}
