//! The image goal's session: shape by shape towards a target picture.

use gvpie_raster::Canvas;

use super::propose::{ProgramProposer, image_proposal};
use super::{ArmDelta, Clock, GoalHost, IMAGE_GENERATOR, ImageGoalSpec, Kept, Lineage, SliceLimits, SliceReport};
use crate::{ImageGoalConfig, ImageSearch, Placed, ShapeScorer, Strategy};

/// An image goal being worked on: its spec (with progress) and its search.
#[derive(Debug)]
pub struct ImageSession {
    goal_id: i64,
    words: String,
    spec: ImageGoalSpec,
    search: ImageSearch,
    /// The best score so far (the goal's, which may predate this session).
    score: f64,
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
        Ok(ImageSession { goal_id, words: words.to_string(), spec, search, score })
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
    /// batches; the other strategies score on the CPU). Every step's program is kept.
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
        let mut stop = self.stop_reason();
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
            stop = self.stop_reason();
        }
        let mut steps = 0u64;
        let mut improvements = 0u64;
        while stop.is_none() && !host.stop_requested() && limits.more(steps, clock.seconds()) {
            let started = clock.seconds();
            let report = self.search.step_with(scorer);
            let seconds = clock.seconds() - started;
            steps += 1;
            let progress = &mut self.spec.progress;
            progress.steps += 1;
            progress.evaluations += report.n_candidates;
            progress.seconds += seconds;
            if report.rmse < self.score {
                improvements += 1;
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
                vm: &vm,
                parent: Lineage::Previous,
                picture: false,
            };
            host.keep(&keep).map_err(|e| format!("the program of shape {}: {e}", self.spec.progress.steps))?;
            kept += 1;
            self.spec.progress.kept += 1;
            stop = self.stop_reason();
            host.stepped(&self.spec.progress, self.score);
        }
        if steps > 0 {
            arms.insert(0, ArmDelta { key: IMAGE_GENERATOR.to_string(), tries: steps, improvements });
        }
        self.spec.progress.stop_reason = stop.clone();
        // The scorer's name after the slice says whether the GPU held.
        let strategy = match self.search.config().strategy {
            Strategy::Cascade => format!(", cascade on {}", scorer.name()),
            Strategy::Plain => ", plain".to_string(),
            _ => String::new(),
        };
        let note = format!(
            "goal {} image: {}/{} shapes, rmse {:.6}, +{steps} this cycle{strategy}{}{}",
            self.goal_id,
            self.search.placed().len(),
            self.spec.shapes,
            self.score,
            proposal.as_ref().map(|p| format!(", {}", p.note)).unwrap_or_default(),
            stop.as_deref().map(|r| format!(", done: {r}")).unwrap_or_default()
        );
        Ok(SliceReport { steps, kept, score: self.score, stop_reason: stop, improved: kept > 0, arms, proposal, note })
    }
}
