//! The image goal's session: shape by shape towards a target picture, with differentiable refinement of the shapes
//! placed so far between shapes and at the end when the spec asks for it (`crate::refine`, generator `image:refine`).

use gvpie_raster::Canvas;

use super::propose::{ProgramProposer, image_proposal};
use super::{
    ArmDelta, Clock, GoalHost, IMAGE_GENERATOR, ImageGoalSpec, ImageRefine, Kept, Lineage, REFINE_GENERATOR,
    SliceLimits, SliceReport, StopRules,
};
use crate::refine::{Budget, CpuSoftRenderer, RefineConfig, SoftRenderer};
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
    /// Whether its gradient steps ran beside the search (see [`ImageRefine::overlap`]): then `shapes` is where
    /// they started, `seconds` only the time the session waited for them and merged, and the shapes placed
    /// meanwhile were kept on top of the refined ones.
    pub overlapped: bool,
}

/// A refinement's gradient steps running on a thread of their own while the session places shapes.
struct Pending<'scope, 'env> {
    /// Shapes placed when it started (the ones it refines).
    shapes: usize,
    /// The refinement state's `at_shapes` before it started (its bandit statistics count from there).
    previous_at: Option<usize>,
    /// Whether it is the final refinement (the search's share of the time budget spent).
    last: bool,
    handle: std::thread::ScopedJoinHandle<'scope, (RefineResult, &'env mut dyn SoftRenderer)>,
}

type RefineResult = Result<crate::refine::Refinement, crate::refine::RefineError>;

/// A session's soft renderer borrowed apart from its scorer (`ShapeScorer::split_gradients`), with the scope its
/// refinements may run beside the search in.
struct Apart<'scope, 'env> {
    scope: &'scope std::thread::Scope<'scope, 'env>,
    /// The renderer, while no refinement holds it.
    renderer: Option<&'env mut dyn SoftRenderer>,
    pending: Option<Pending<'scope, 'env>>,
}

/// What a slice did so far, for its report.
#[derive(Default)]
struct SliceCounts {
    steps: u64,
    kept: u64,
    improvements: u64,
    refine_tries: u64,
    refine_wins: u64,
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

    /// Whether the search's share of the goal's time budget is spent (the final refinement has the rest).
    fn search_time_up(&self) -> bool {
        let share = self.spec.refine.as_ref().map_or(0.0, |r| r.final_share);
        self.spec.stop.seconds.is_some_and(|s| self.spec.progress.seconds >= s * (1.0 - share))
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
        let search_time_up = self.spec.stop.seconds.filter(|_| self.search_time_up());
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
        if report.rmse < self.score {
            progress.stale_steps = 0;
        } else {
            progress.stale_steps += 1;
        }
        self.score = self.score.min(report.rmse);
        self.spec.progress.kept += 1;
        if !host.keeps_every_shape() {
            return Ok(());
        }
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
        Ok(())
    }

    /// The settings of a refinement's gradient steps (the polish runs after them, on the search's own shapes).
    fn refine_config(&self, settings: &ImageRefine, last: bool) -> RefineConfig {
        RefineConfig {
            steps: if last { settings.final_steps } else { settings.steps },
            // The polish runs below, on the search's own shapes, without the VM (see `stack_polish`).
            polish_sweeps: 0,
            soft_max_pixels: settings.soft_pixels.max(1),
            keep_background: true,
            keep_alpha: self.search.config().alpha != 0,
            ..RefineConfig::default()
        }
    }

    /// One refinement of the program so far (see [`ImageRefine`]): kept only when it lowers the RMSE, with the
    /// background and a fixed alpha left alone, so the search goes on from the refined shapes. Its gradients are
    /// `renderer`'s, else the scorer's renderer, else the CPU's.
    fn refine_step(
        &mut self,
        last: bool,
        scorer: &mut dyn ShapeScorer,
        renderer: Option<&mut dyn SoftRenderer>,
        clock: &dyn Clock,
        deadline: Option<f64>,
    ) -> Result<Refined, String> {
        let Some(settings) = self.spec.refine.clone() else {
            return Err("internal error: refinement is off".to_string());
        };
        let started = clock.seconds();
        let threads = self.search.config().n_threads.max(1);
        let config = self.refine_config(&settings, last);
        let shapes = self.search.placed().len();
        let mut cpu = CpuSoftRenderer { threads };
        let budget = Budget { clock, deadline };
        let renderer: &mut dyn SoftRenderer = match renderer {
            Some(renderer) => renderer,
            None => scorer.soft_renderer().unwrap_or(&mut cpu),
        };
        let result = crate::refine::refine(
            &self.search.program(),
            self.search.target(),
            &config,
            renderer,
            threads,
            &budget,
            &mut |_| {},
        );
        self.finish_refinement(last, shapes, result, false, scorer, clock, deadline, started)
    }

    /// Starts the gradient steps of a refinement on a thread of `apart`'s scope, with its renderer, while the
    /// session goes on placing shapes; `false` when no thread could start (then the caller refines in line, and
    /// later refinements compute on the CPU: the renderer went with the thread that did not start).
    fn start_overlapped<'scope, 'env>(
        &mut self,
        apart: &mut Apart<'scope, 'env>,
        last: bool,
        clock: &'env dyn Clock,
        deadline: Option<f64>,
    ) -> bool {
        let Some(settings) = self.spec.refine.clone() else {
            return false;
        };
        let Some(renderer) = apart.renderer.take() else {
            return false;
        };
        let config = self.refine_config(&settings, last);
        let program = self.search.program();
        let target = self.search.target().clone();
        let threads = self.search.config().n_threads.max(1);
        let shapes = self.search.placed().len();
        let spawned = std::thread::Builder::new().name("gvpie-refine".into()).spawn_scoped(apart.scope, move || {
            let budget = Budget { clock, deadline };
            let result =
                crate::refine::refine(&program, &target, &config, &mut *renderer, threads, &budget, &mut |_| {});
            (result, renderer)
        });
        let Ok(handle) = spawned else {
            return false;
        };
        // The next decision comes `every` shapes from here, as after a refinement in line.
        let previous_at = self.spec.refine.as_mut().and_then(|refine| refine.state.at_shapes.replace(shapes));
        apart.pending = Some(Pending { shapes, previous_at, last, handle });
        true
    }

    /// Waits for the refinement computing beside the search, if any, and merges it: its refined shapes under the
    /// ones placed since, kept when the picture gets better.
    fn join_overlapped<'scope, 'env>(
        &mut self,
        apart: &mut Apart<'scope, 'env>,
        scorer: &mut dyn ShapeScorer,
        clock: &dyn Clock,
        deadline: Option<f64>,
    ) -> Result<Option<Refined>, String> {
        let Some(pending) = apart.pending.take() else {
            return Ok(None);
        };
        let started = clock.seconds();
        // A panic on that thread is a bug in the refinement; re-raise it here rather than hide it.
        let (result, renderer) = pending.handle.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        apart.renderer = Some(renderer);
        if let Some(refine) = self.spec.refine.as_mut() {
            refine.state.at_shapes = pending.previous_at;
        }
        self.finish_refinement(pending.last, pending.shapes, result, true, scorer, clock, deadline, started).map(Some)
    }

    /// The rest of a refinement once its gradient steps (of the first `shapes` shapes) are done: adoption (the
    /// refined shapes, under any placed since, when the picture gets better), the polish, the final one's
    /// regrowth, and the bandit's statistics.
    #[allow(clippy::too_many_arguments)]
    fn finish_refinement(
        &mut self,
        last: bool,
        shapes: usize,
        result: RefineResult,
        overlapped: bool,
        scorer: &mut dyn ShapeScorer,
        clock: &dyn Clock,
        deadline: Option<f64>,
        started: f64,
    ) -> Result<Refined, String> {
        let Some(settings) = self.spec.refine.clone() else {
            return Err("internal error: refinement is off".to_string());
        };
        let threads = self.search.config().n_threads.max(1);
        let keep_alpha = self.search.config().alpha != 0;
        let before = self.search.rmse();
        let gradients = result.as_ref().map_or_else(
            |_| "cpu".to_string(),
            |r| match &r.fallback {
                Some(why) => format!("{} (the GPU failed: {why})", r.renderer),
                None => r.renderer.clone(),
            },
        );
        let (steps, exact_runs) = result.as_ref().map_or((0, 0), |r| (r.steps, r.exact_runs));
        // Keep it only when it is better and reads back as the search's own shapes (drawing the same picture when
        // no shape came since).
        let adopted = result
            .ok()
            .filter(|r| r.rmse_after < r.rmse_before && r.status == gvpie_pxl::Status::Halted)
            .and_then(|r| {
                let (_, refined) = crate::parse_program(&r.source).ok()?;
                let current = self.search.placed();
                if refined.len() != shapes || current.len() < shapes {
                    return None;
                }
                let placed: Vec<Placed> = refined.into_iter().chain(current[shapes..].iter().copied()).collect();
                let mut search = self.search.clone();
                search.replace_shapes(&placed).ok()?;
                let same_picture = current.len() > shapes || *search.canvas() == r.canvas;
                (same_picture && search.rmse() < before).then_some(search)
            });
        if let Some(search) = adopted {
            self.search = search;
        }
        let sweeps = if last { settings.final_sweeps } else { settings.sweeps };
        let mut exact_runs = exact_runs;
        let polish_started = clock.seconds();
        let polish = crate::StackPolishConfig {
            sweeps,
            keep_alpha,
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
        Ok(Refined { shapes, last, before, after, steps, exact_runs, seconds, polish_seconds, gradients, overlapped })
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

    /// The steps of a slice (see [`ImageSession::run_slice`]) after its proposal; returns why the goal is done, if
    /// it is. With `apart`, a refinement between shapes whose renderer frees the CPU runs on a thread of its own
    /// while the next shapes are placed, and joins at the next decision (or the slice's end): where its thread is
    /// by then does not change the program.
    #[allow(clippy::too_many_arguments)]
    fn work<'scope, 'env>(
        &mut self,
        limits: SliceLimits,
        clock: &'env dyn Clock,
        host: &mut dyn GoalHost,
        scorer: &mut dyn ShapeScorer,
        mut apart: Option<&mut Apart<'scope, 'env>>,
        vm: &gvpie_pxl::Config,
        counts: &mut SliceCounts,
        mut stop: Option<String>,
    ) -> Result<Option<String>, String> {
        // The goal's time is all the slice's time: its steps, and what the host does between them.
        let mut mark = clock.seconds();
        while !host.stop_requested() && limits.more(counts.steps, clock.seconds()) {
            self.count_time(clock, &mut mark);
            let mut next = self.next_step();
            let final_beside = apart.as_deref().and_then(|a| a.pending.as_ref()).is_some_and(|p| p.last);
            if final_beside
                && matches!(next, Ok(Next::Refine { last: true }))
                && !self.search.is_done()
                && apart.as_deref().and_then(|a| a.pending.as_ref()).is_some_and(|p| !p.handle.is_finished())
            {
                // The final refinement's gradient steps are computing beside the search: shapes go on until they
                // are done (the goal's whole time budget spent ends them first).
                next = Ok(Next::Shape { chosen: false });
            }
            if !matches!(next, Ok(Next::Shape { chosen: false }))
                && let Some(apart) = apart.as_deref_mut()
                && apart.pending.is_some()
            {
                let deadline = self.seconds_left().map(|left| clock.seconds() + left);
                if let Some(refined) = self.join_overlapped(apart, scorer, clock, deadline)? {
                    self.record_refinement(refined, host, vm, counts)?;
                }
                self.count_time(clock, &mut mark);
                next = self.next_step();
            }
            let last = match next {
                Err(reason) => {
                    stop = Some(reason);
                    break;
                }
                Ok(Next::Refine { last }) => last,
                Ok(Next::Shape { chosen }) => {
                    let before = self.score;
                    self.shape_step(clock, host, scorer, vm)?;
                    counts.steps += 1;
                    counts.kept += 1;
                    if self.score < before {
                        counts.improvements += 1;
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
            // Beside the search: every refinement between shapes, and the final one when the search's share of the
            // time is spent (shapes then go on while it computes; with shapes left to place only under a time
            // budget, so the same seed and shape count still give the same program).
            if (!last || (self.search_time_up() && !self.search.is_done()))
                && let Some(apart) = apart.as_deref_mut()
                && apart.renderer.as_deref_mut().is_some_and(|r| r.frees_cpu())
                && self.start_overlapped(apart, last, clock, deadline)
            {
                continue;
            }
            let renderer: Option<&mut dyn SoftRenderer> = match apart.as_deref_mut() {
                Some(Apart { renderer: Some(renderer), .. }) => Some(&mut **renderer),
                _ => None,
            };
            let refined = self.refine_step(last, scorer, renderer, clock, deadline)?;
            self.record_refinement(refined, host, vm, counts)?;
            stop = self.pending_stop();
        }
        // The slice ends (its limits, the host's stop): a refinement still computing is merged first.
        if let Some(apart) = apart
            && apart.pending.is_some()
        {
            let deadline = self.seconds_left().map(|left| clock.seconds() + left);
            if let Some(refined) = self.join_overlapped(apart, scorer, clock, deadline)? {
                self.record_refinement(refined, host, vm, counts)?;
            }
            stop = self.pending_stop();
        }
        self.count_time(clock, &mut mark);
        Ok(stop.or_else(|| self.pending_stop()))
    }

    /// Adds the time since `mark` to the goal's time spent, and moves the mark.
    fn count_time(&mut self, clock: &dyn Clock, mark: &mut f64) {
        let now = clock.seconds();
        self.spec.progress.seconds += (now - *mark).max(0.0);
        *mark = now;
    }

    /// Counts a refinement in the slice, keeps its program when it lowered the RMSE, and remembers it.
    fn record_refinement(
        &mut self,
        refined: Refined,
        host: &mut dyn GoalHost,
        vm: &gvpie_pxl::Config,
        counts: &mut SliceCounts,
    ) -> Result<(), String> {
        counts.steps += 1;
        counts.refine_tries += 1;
        if refined.after < refined.before {
            counts.refine_wins += 1;
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
                vm,
                parent: Lineage::Previous,
                picture: false,
            };
            host.keep(&keep).map_err(|e| format!("the refined program at {} shapes: {e}", refined.shapes))?;
            counts.kept += 1;
            self.spec.progress.kept += 1;
        }
        self.refinements.push(refined);
        host.stepped(&self.spec.progress, self.score);
        Ok(())
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
        let mut counts = SliceCounts { kept, ..SliceCounts::default() };
        // Refinements between shapes run beside the search when the spec asks for it and the scorer's renderer
        // can go to a thread of its own (each decides by `frees_cpu`).
        let overlap = self.spec.refine.as_ref().is_some_and(|r| r.overlap) && scorer.split_gradients().is_some();
        let stop = if overlap {
            let Some((scorer, renderer)) = scorer.split_gradients() else {
                return Err("internal error: the scorer's renderer did not split".to_string());
            };
            std::thread::scope(|scope| {
                let mut apart = Apart { scope, renderer: Some(renderer), pending: None };
                self.work(limits, clock, host, scorer, Some(&mut apart), &vm, &mut counts, stop)
            })?
        } else {
            self.work(limits, clock, host, scorer, None, &vm, &mut counts, stop)?
        };
        let SliceCounts { steps, kept, improvements, refine_tries, refine_wins } = counts;
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
