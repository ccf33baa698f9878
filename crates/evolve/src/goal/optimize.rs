//! The optimize goal's session: the same pixels in fewer cycles, by line edits and the program database.

use super::propose::{ProgramProposer, ProposalOutcome, ProposalReport, optimize_proposal};
use super::{ArmDelta, Clock, GoalHost, Kept, Lineage, OptimizeGoalSpec, SavedOptimize, SliceLimits, SliceReport};
use crate::{ArmStats, DatabaseConfig, Edit, Evolution, EvolutionConfig, Operator, OptimizeSearch, PixelReference};

/// Counters of a session beyond the spec's progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Candidates the program database evaluated in this session.
    pub database_evaluations: u64,
    /// Generations run in this session.
    pub generations: u64,
}

/// An optimize goal being worked on: its spec (with progress and checkpoint), the line-edit search and, when the
/// spec asks for it, the program database.
#[derive(Debug)]
pub struct OptimizeSession {
    goal_id: i64,
    words: String,
    spec: OptimizeGoalSpec,
    search: OptimizeSearch,
    /// The program database and its evaluator; `None` when the spec's `evolve.every` is 0 or it could not start.
    database: Option<(Evolution, PixelReference)>,
    /// Why there is no program database although the spec asks for one.
    no_database: Option<String>,
    /// Whether the original must still be kept as the root of the lineage.
    needs_root: bool,
    /// The canvas size the original declares (`SIZE`), which every kept program declares too.
    declared: Option<(u32, u32)>,
    stats: SessionStats,
}

impl OptimizeSession {
    /// Resumes goal `goal_id` (described by `words`) from its spec's checkpoint, or starts it. `has_lineage` is
    /// false for a goal that kept nothing yet: its first slice keeps the original as the root of the lineage.
    pub fn resume(goal_id: i64, words: &str, mut spec: OptimizeGoalSpec, has_lineage: bool) -> Result<Self, String> {
        let config = spec.search_config();
        let spec_source_for_size = spec.source.clone();
        let search = match &spec.state {
            Some(saved) => OptimizeSearch::resume(&spec.source, config, &saved.to_checkpoint()),
            None => OptimizeSearch::new(&spec.source, config),
        }
        .map_err(|e| e.to_string())?;
        let mut database = None;
        let mut no_database = None;
        if spec.evolve.every > 0 {
            let reference = PixelReference::new(&spec.source, &spec.vm()).map_err(|e| e.to_string())?;
            let evolution = match spec.state.as_mut().and_then(|s| s.evolution.take()) {
                Some(evolution) => Ok(evolution),
                None => {
                    let config = EvolutionConfig {
                        database: DatabaseConfig {
                            n_islands: spec.evolve.islands.max(1),
                            // Every candidate draws the same pixels: a known image is welcome when it is faster.
                            allow_same_image_if_better: true,
                            seed: spec.seed,
                            ..DatabaseConfig::default()
                        },
                        children_per_generation: spec.evolve.children.max(1),
                        seed: spec.seed,
                        ..EvolutionConfig::default()
                    };
                    // The database starts from the best program so far.
                    Evolution::new(&search.source(), config, |_, texture| reference.evaluate(texture))
                }
            };
            match evolution {
                Ok(evolution) => database = Some((evolution, reference)),
                Err(err) => no_database = Some(err.to_string()),
            }
        }
        Ok(OptimizeSession {
            goal_id,
            words: words.to_string(),
            spec,
            search,
            database,
            no_database,
            needs_root: !has_lineage,
            declared: gvpie_pxl::compile(&spec_source_for_size).ok().and_then(|t| t.canvas_size()),
            stats: SessionStats::default(),
        })
    }

    /// The spec, with the progress so far and the checkpoint of the last slice.
    pub fn spec(&self) -> &OptimizeGoalSpec {
        &self.spec
    }

    /// The spec to store after a slice: progress, and the checkpoint with the program database.
    pub fn into_spec(mut self) -> OptimizeGoalSpec {
        let evolution = self.database.map(|(evolution, _)| evolution);
        self.spec.state = Some(SavedOptimize::from_checkpoint(&self.search.checkpoint(), evolution));
        self.spec
    }

    /// The best program so far, declaring the original's canvas size when the original does (a line edit or the
    /// program database may have dropped the `SIZE` line: the goal compares at its own size, so the pixels are the
    /// same, but a successor must still run at that size on its own).
    pub fn best_source(&self) -> String {
        self.with_declared_size(self.search.source())
    }

    fn with_declared_size(&self, source: String) -> String {
        match self.declared {
            Some((width, height)) if gvpie_pxl::compile(&source).is_ok_and(|t| t.canvas_size().is_none()) => {
                format!("SIZE {width} {height}\n{source}")
            }
            _ => source,
        }
    }

    /// Imports a better program found elsewhere (another island of the same goal, through the
    /// shared tables): it becomes this session's best when it draws exactly the original's
    /// pixels and frames in fewer cycles (re-checked on the CPU VM, as every candidate). The
    /// program database and the edit statistics stay this island's own. Returns whether it was
    /// adopted.
    pub fn import(&mut self, source: &str) -> bool {
        if self.search.offer(source).is_err() {
            return false;
        }
        // The imported program is on record already: it is the lineage's next parent.
        self.needs_root = false;
        true
    }

    /// The line-edit search: the best program, its cycles, the accepted edits.
    pub fn search(&self) -> &OptimizeSearch {
        &self.search
    }

    /// The program database, when there is one.
    pub fn evolution(&self) -> Option<&Evolution> {
        self.database.as_ref().map(|(evolution, _)| evolution)
    }

    /// Why there is no program database although the spec asks for one.
    pub fn no_database(&self) -> Option<&str> {
        self.no_database.as_deref()
    }

    /// Counters of this session.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    fn stop_reason(&self, score: f64) -> Option<String> {
        let reason = self.spec.stop.stop_reason(&self.spec.progress, score);
        if reason.is_none() && self.search.cycles() == 0 {
            return Some("no cycles left to remove".to_string());
        }
        reason
    }

    /// Keeps an accepted program and shares it with the database.
    fn keep(
        &mut self,
        host: &mut dyn GoalHost,
        source: &str,
        cycles: u64,
        generator: &str,
        detail: Option<&str>,
    ) -> Result<(), String> {
        let vm = self.spec.vm();
        let source = &self.with_declared_size(source.to_string());
        host.keep(&Kept {
            source,
            generator,
            detail,
            score: cycles as f64,
            seconds: None,
            canvas: None,
            vm: &vm,
            parent: Lineage::Previous,
            picture: false,
        })?;
        self.spec.progress.kept += 1;
        self.spec.progress.stale_steps = 0;
        Ok(())
    }

    /// Works on the goal until a stop rule, the slice's limits or the host ends it: first one proposal of the
    /// `proposer`, then steps. Every `evolve.every`-th step is one generation of the program database, its
    /// children run as one batch by the host and screened against the original; a new best is adopted only after
    /// [`OptimizeSearch::offer`] re-checks it on the CPU reference VM. The other steps are line edits.
    pub fn run_slice(
        &mut self,
        limits: SliceLimits,
        clock: &dyn Clock,
        host: &mut dyn GoalHost,
        proposer: Option<&mut dyn ProgramProposer>,
    ) -> Result<SliceReport, String> {
        let evaluations_before = self.spec.progress.evaluations;
        let mut kept = 0u64;
        if self.needs_root {
            self.keep_root(host)?;
            kept += 1;
        }
        let edits_before: Vec<ArmStats> = self.search.operator_stats().to_vec();
        let operators_before = self.evolution().map(Evolution::operator_stats).unwrap_or_default();
        let mut score = self.search.cycles() as f64;
        let mut stop = self.stop_reason(score);
        let mut improved = false;
        let mut proposal = None;
        if let Some(proposer) = proposer
            && stop.is_none()
            && !host.stop_requested()
        {
            let report = self.proposal_step(proposer, clock, host)?;
            if report.outcome == ProposalOutcome::Adopted {
                kept += 1;
                improved = true;
                score = self.search.cycles() as f64;
            }
            proposal = Some(report);
            stop = self.stop_reason(score);
        }
        let mut steps = 0u64;
        let mut last = clock.seconds();
        while stop.is_none() && !host.stop_requested() && limits.more(steps, last) {
            steps += 1;
            let accepted = self.step(host);
            let now = clock.seconds();
            self.spec.progress.seconds += now - last;
            last = now;
            for (source, cycles, generator, detail) in accepted {
                score = cycles as f64;
                self.keep(host, &source, cycles, &generator, detail.as_deref())?;
                kept += 1;
                improved = true;
            }
            stop = self.stop_reason(score);
            host.stepped(&self.spec.progress, score);
        }
        let mut arms = self.arm_deltas(&edits_before, &operators_before);
        if let Some(report) = &proposal
            && report.evaluated
        {
            let improvements = u64::from(report.outcome == ProposalOutcome::Adopted);
            arms.push(ArmDelta { key: report.generator.clone(), tries: 1, improvements });
        }
        // The database joins the checkpoint in `into_spec`, without a copy.
        self.spec.state = Some(SavedOptimize::from_checkpoint(&self.search.checkpoint(), None));
        self.spec.progress.stop_reason = stop.clone();
        let note = self.note(evaluations_before, proposal.as_ref(), stop.as_deref());
        Ok(SliceReport { steps, kept, score, stop_reason: stop, improved, arms, proposal, note })
    }

    /// Keeps the original as the root of the lineage.
    fn keep_root(&mut self, host: &mut dyn GoalHost) -> Result<(), String> {
        let source = self.spec.source.clone();
        let vm = self.spec.vm();
        let cycles = self.search.original_cycles();
        host.keep(&Kept {
            source: &source,
            generator: "original",
            detail: None,
            score: cycles as f64,
            seconds: None,
            canvas: None,
            vm: &vm,
            parent: Lineage::Previous,
            picture: false,
        })?;
        self.spec.progress.kept += 1;
        self.needs_root = false;
        Ok(())
    }

    /// One proposal of the model, offered to the search; an adopted one is kept and shared with the database.
    fn proposal_step(
        &mut self,
        proposer: &mut dyn ProgramProposer,
        clock: &dyn Clock,
        host: &mut dyn GoalHost,
    ) -> Result<ProposalReport, String> {
        let started = clock.seconds();
        let (report, adopted) = optimize_proposal(proposer, self.goal_id, &self.words, &self.spec, &mut self.search);
        self.spec.progress.seconds += clock.seconds() - started;
        if report.evaluated {
            self.spec.progress.steps += 1;
            self.spec.progress.evaluations += 1;
        }
        match adopted {
            Some(cycles) => {
                let source = self.search.source();
                if let Some((evolution, reference)) = self.database.as_mut() {
                    reference.share(evolution, &source, cycles, &report.generator);
                }
                self.keep(host, &source, cycles, &report.generator, None)?;
            }
            None if report.evaluated => self.spec.progress.stale_steps += 1,
            None => {}
        }
        Ok(report)
    }

    /// One step: a generation of the program database on its turn, a line edit otherwise. Returns the programs it
    /// accepted: (source, cycles, generator, readable change).
    fn step(&mut self, host: &mut dyn GoalHost) -> Vec<(String, u64, String, Option<String>)> {
        let every = self.spec.evolve.every;
        let generation_turn = every > 0 && (self.spec.progress.steps + 1).is_multiple_of(every);
        self.spec.progress.steps += 1;
        let mut accepted = Vec::new();
        match self.database.as_mut() {
            Some((evolution, reference)) if generation_turn => {
                let (report, new_bests) = evolution.generation_batch(|children| {
                    reference.evaluate_batch(children, |textures, vm| host.run_batch(textures, vm))
                });
                self.stats.generations += 1;
                self.stats.database_evaluations += report.evaluated;
                self.spec.progress.evaluations += report.evaluated;
                for entry in new_bests {
                    // Re-checked on the CPU reference VM before it is adopted.
                    if entry.score > -(self.search.cycles() as f64)
                        && let Ok(cycles) = self.search.offer(&entry.source)
                    {
                        accepted.push((self.search.source(), cycles, entry.evolve_generator(), None));
                    }
                }
                if accepted.is_empty() {
                    self.spec.progress.stale_steps += report.evaluated.max(1);
                }
            }
            _ => {
                self.spec.progress.evaluations += 1;
                match self.search.step() {
                    Some(step) => {
                        let generator = format!("mutation:{}", Edit::KINDS[step.edit.kind()]);
                        let source = self.search.source();
                        if let Some((evolution, reference)) = self.database.as_mut() {
                            reference.share(evolution, &source, step.cycles, &generator);
                        }
                        accepted.push((source, step.cycles, generator, Some(step.edit.to_string())));
                    }
                    None => self.spec.progress.stale_steps += 1,
                }
            }
        }
        accepted
    }

    /// The operators' tries and improvements since the slice began.
    fn arm_deltas(&self, edits_before: &[ArmStats], operators_before: &[ArmStats]) -> Vec<ArmDelta> {
        let delta = |key: String, now: ArmStats, before: ArmStats| {
            (now.tries > before.tries).then(|| ArmDelta {
                key,
                tries: now.tries - before.tries,
                improvements: now.successes.saturating_sub(before.successes),
            })
        };
        let mut arms: Vec<ArmDelta> = Edit::KINDS
            .iter()
            .enumerate()
            .filter_map(|(index, kind)| {
                let now = self.search.operator_stats().get(index).copied().unwrap_or_default();
                delta(format!("optimize:{kind}"), now, edits_before.get(index).copied().unwrap_or_default())
            })
            .collect();
        if let Some(evolution) = self.evolution() {
            let now = evolution.operator_stats();
            arms.extend(Operator::ALL.iter().enumerate().filter_map(|(index, operator)| {
                let after = now.get(index).copied().unwrap_or_default();
                delta(format!("evolve:{operator}"), after, operators_before.get(index).copied().unwrap_or_default())
            }));
        }
        arms
    }

    /// The console line of a slice. Both counts are of candidates evaluated: the goal's total and this slice's.
    fn note(&self, evaluations_before: u64, proposal: Option<&ProposalReport>, stop: Option<&str>) -> String {
        let database = match (self.evolution(), &self.no_database) {
            (Some(evolution), _) => {
                let database = evolution.database();
                format!(
                    ", database: generation {}, {} kept, {} elites",
                    database.generation(),
                    database.stats().kept,
                    database.elites().count()
                )
            }
            (None, Some(why)) => format!(", no program database: {why}"),
            (None, None) => String::new(),
        };
        format!(
            "goal {} optimize {}: {} -> {} cycles, {} candidates (+{} this cycle){database}{}{}",
            self.goal_id,
            self.spec.script,
            self.search.original_cycles(),
            self.search.cycles(),
            self.spec.progress.evaluations,
            self.spec.progress.evaluations - evaluations_before,
            proposal.map(|p| format!(", {}", p.note)).unwrap_or_default(),
            stop.map(|r| format!(", done: {r}")).unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goal::{GoalOptions, OptimizeGoalParams, SliceLimits};

    struct Keeper(Vec<String>);

    impl GoalHost for Keeper {
        fn keep(&mut self, kept: &Kept<'_>) -> Result<(), String> {
            self.0.push(kept.source.to_string());
            Ok(())
        }
    }

    struct NoClock;

    impl Clock for NoClock {
        fn seconds(&self) -> f64 {
            0.0
        }
    }

    #[test]
    fn every_kept_program_declares_the_originals_size() {
        // A redundant CLS (the canvas starts black) and HALT (the end halts for free) to remove.
        let source = "SIZE 32 16\nCLS 0 0 0\nCOLOR 255 0 0\nRECT 1 1 8 8\nHALT\n";
        let params = OptimizeGoalParams { script: "box".into(), width: 32, height: 16, cycle_budget: 1000 };
        let spec =
            OptimizeGoalSpec::new(source.into(), &params, &GoalOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut session = OptimizeSession::resume(1, "box", spec, false).unwrap_or_else(|e| panic!("{e}"));
        let mut host = Keeper(Vec::new());
        let limits = SliceLimits { until: f64::INFINITY, max_steps: Some(300) };
        session.run_slice(limits, &NoClock, &mut host, None).unwrap_or_else(|e| panic!("{e}"));
        assert!(session.search().cycles() < session.search().original_cycles());
        assert!(host.0.len() >= 2, "the original and at least one better program");
        for kept in host.0.iter().chain(std::iter::once(&session.best_source())) {
            let texture = gvpie_pxl::compile(kept).unwrap_or_else(|d| panic!("{}", d[0].headline()));
            assert_eq!(texture.canvas_size(), Some((32, 16)), "{kept}");
        }
    }
}
