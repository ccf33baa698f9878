//! A population search over general PXL programs: the [`ProgramDatabase`] chooses parents, [`Variation`] makes
//! validated children, the caller's evaluator scores them, and a UCB1 [`Bandit`] learns which operator pays.
//!
//! [`Evolution`] is plain data (serde): saved between two generations and loaded again, it continues exactly.
//! The evaluator is a closure, so this module stays IO-free and backend-free: it gets a child's source and compiled
//! texture and returns its score (higher is better) and output canvas, or `None` to reject it (it traps, draws the
//! wrong pixels, ...).

use gvpie_pxl::Texture;
use gvpie_raster::Canvas;
use serde::{Deserialize, Serialize};

use crate::bandit::{ArmStats, Bandit};
use crate::database::{Added, DatabaseConfig, Entry, ProgramDatabase};
use crate::rng::Rng;
use crate::variation::{Child, Operator, Rejection, Variation};

/// What an evaluator says about a program.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The score, higher is better (finite).
    pub score: f64,
    /// What the program drew.
    pub canvas: Canvas,
}

/// The settings of an [`Evolution`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvolutionConfig {
    /// The database's settings (its seed drives parent selection).
    pub database: DatabaseConfig,
    /// Children made per generation.
    pub children_per_generation: usize,
    /// The most lines of a child.
    pub max_lines: usize,
    /// The seed of the variation operators.
    pub seed: u64,
}

impl Default for EvolutionConfig {
    fn default() -> EvolutionConfig {
        EvolutionConfig {
            database: DatabaseConfig::default(),
            children_per_generation: 16,
            max_lines: crate::variation::DEFAULT_MAX_LINES,
            seed: 0,
        }
    }
}

/// Why an evolution could not start.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvolutionError {
    /// The original does not compile (the first diagnostic's headline).
    Source(String),
    /// The evaluator rejected the original.
    Rejected,
}

impl std::fmt::Display for EvolutionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvolutionError::Source(message) => write!(f, "the program does not compile: {message}"),
            EvolutionError::Rejected => f.write_str("the evaluator rejected the original program"),
        }
    }
}

impl std::error::Error for EvolutionError {}

/// What one generation did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenerationReport {
    /// Children that compiled and were evaluated.
    pub evaluated: u64,
    /// Children kept by the database.
    pub kept: u64,
    /// Children that did not compile (or were too long).
    pub invalid: u64,
    /// Children rejected by the evaluator.
    pub rejected: u64,
    /// Children rejected as duplicates (program or image).
    pub duplicates: u64,
    /// The ids of the kept children that were a new global best.
    pub new_bests: Vec<u64>,
}

/// A seeded population search: database, variation operators, operator bandit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evolution {
    config: EvolutionConfig,
    database: ProgramDatabase,
    variation: Variation,
    /// The operator bandit's arms, as (tries, successes), in [`Operator::ALL`] order.
    arms: Vec<(u64, u64)>,
    rng: [u64; 4],
    evaluations: u64,
}

impl Evolution {
    /// A search starting from `original`, which is evaluated and kept as the first entry (generator `original`).
    ///
    /// # Errors
    ///
    /// [`EvolutionError`] when the original does not compile or the evaluator rejects it.
    pub fn new(
        original: &str,
        config: EvolutionConfig,
        mut evaluate: impl FnMut(&str, &Texture) -> Option<Evaluation>,
    ) -> Result<Evolution, EvolutionError> {
        let texture = gvpie_pxl::compile(original).map_err(|d| EvolutionError::Source(d[0].headline()))?;
        let evaluation = evaluate(original, &texture).ok_or(EvolutionError::Rejected)?;
        let mut database = ProgramDatabase::new(config.database.clone());
        let entry = Entry::new(original, &texture, &evaluation.canvas, evaluation.score).with_origin(None, "original");
        if !matches!(database.add(entry, 0), Added::Kept { .. }) {
            return Err(EvolutionError::Rejected);
        }
        Ok(Evolution {
            variation: Variation { max_lines: config.max_lines, ..Variation::default() },
            arms: vec![(0, 0); Operator::ALL.len()],
            rng: Rng::new(config.seed).state(),
            evaluations: 1,
            database,
            config,
        })
    }

    /// The database.
    pub fn database(&self) -> &ProgramDatabase {
        &self.database
    }

    /// The variation operators and their counts (valid, invalid, not applicable).
    pub fn variation(&self) -> &Variation {
        &self.variation
    }

    /// Programs evaluated so far (the original included).
    pub fn evaluations(&self) -> u64 {
        self.evaluations
    }

    /// The best entry so far.
    pub fn best(&self) -> &Entry {
        // The original is always kept, so there is a best.
        self.database.best().unwrap_or_else(|| unreachable!("the original is kept"))
    }

    /// What the operator bandit learned, in [`Operator::ALL`] order (success: a kept child better than its parent).
    pub fn operator_stats(&self) -> Vec<ArmStats> {
        self.arms.iter().map(|&(tries, successes)| ArmStats { tries, successes }).collect()
    }

    /// Files a program found elsewhere (another search of the same goal) on the island whose turn it is, with
    /// the current best as its parent: the database learns of it as of any child. Duplicates are rejected as
    /// usual.
    pub fn add(&mut self, source: &str, texture: &Texture, evaluation: &Evaluation, generator: &str) -> Added {
        let parent = self.database.best().map(|b| b.id);
        let entry = Entry::new(source, texture, &evaluation.canvas, evaluation.score).with_origin(parent, generator);
        let island = self.database.generation() as usize % self.database.n_islands();
        self.database.add(entry, island)
    }

    /// As [`Evolution::generation`], but the children are made first and handed to `evaluate` all at once (a
    /// batch for a GPU), which returns one answer per child, in order (a missing answer is a rejection). Within
    /// a generation the bandit counts every pull as a failure when it is made (so that one generation spreads
    /// over the operators) and turns it into a success once the child is kept and beats its parent. Returns the
    /// report and the kept children that were a new global best, in the order they were filed.
    pub fn generation_batch(
        &mut self,
        evaluate: impl FnOnce(&[Child]) -> Vec<Option<Evaluation>>,
    ) -> (GenerationReport, Vec<Entry>) {
        let mut report = GenerationReport::default();
        let mut rng = Rng::from_state(self.rng);
        let mut bandit = Bandit::from_stats(self.operator_stats());
        let mut children: Vec<(Child, crate::database::Parent)> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..self.config.children_per_generation {
            let Some(parent) = self.database.select_parent() else { break };
            let operator = Operator::ALL[bandit.choose()];
            bandit.record(operator.index(), false);
            let child = if operator == Operator::Crossover {
                let other = self.database.select_parent().map_or_else(|| parent.entry.clone(), |p| p.entry);
                self.variation.crossover(&parent.entry.source, &other.source, &mut rng)
            } else {
                self.variation.mutate(&parent.entry.source, operator, &mut rng)
            };
            let child = match child {
                Ok(child) => child,
                Err(Rejection::NotApplicable | Rejection::Parent(_)) => continue,
                Err(_) => {
                    report.invalid += 1;
                    continue;
                }
            };
            let hash = crate::database::program_hash(&child.texture);
            if self.database.knows_program(hash) || !seen.insert(hash) {
                report.duplicates += 1;
                continue;
            }
            children.push((child, parent));
        }
        let batch: Vec<Child> = children.iter().map(|(child, _)| child.clone()).collect();
        let mut answers = if batch.is_empty() { Vec::new() } else { evaluate(&batch) }.into_iter();
        let mut arms: Vec<ArmStats> = bandit.stats().to_vec();
        let mut new_bests = Vec::new();
        for (child, parent) in children {
            self.evaluations += 1;
            report.evaluated += 1;
            let Some(evaluation) = answers.next().flatten() else {
                report.rejected += 1;
                continue;
            };
            let improved = evaluation.score > parent.entry.score;
            let generator = format!("mutation:{}", child.operator);
            let entry = Entry::new(&child.source, &child.texture, &evaluation.canvas, evaluation.score)
                .with_origin(Some(parent.entry.id), &generator);
            match self.database.add(entry.clone(), parent.island) {
                Added::Kept { id, new_best, .. } => {
                    report.kept += 1;
                    if new_best {
                        report.new_bests.push(id);
                        new_bests.push(Entry { id, ..entry });
                    }
                    if improved {
                        arms[child.operator.index()].successes += 1;
                    }
                }
                Added::DuplicateProgram | Added::DuplicateImage => report.duplicates += 1,
                Added::BadScore => report.rejected += 1,
            }
        }
        self.arms = arms.iter().map(|a| (a.tries, a.successes)).collect();
        self.rng = rng.state();
        self.database.end_generation();
        (report, new_bests)
    }

    /// Makes, evaluates and files [`EvolutionConfig::children_per_generation`] children, then ends the database's
    /// generation (migration, resets).
    pub fn generation(&mut self, mut evaluate: impl FnMut(&str, &Texture) -> Option<Evaluation>) -> GenerationReport {
        let mut report = GenerationReport::default();
        let mut rng = Rng::from_state(self.rng);
        let mut bandit = Bandit::from_stats(self.operator_stats());
        for _ in 0..self.config.children_per_generation {
            let Some(parent) = self.database.select_parent() else { break };
            let operator = Operator::ALL[bandit.choose()];
            let child = if operator == Operator::Crossover {
                let other = self.database.select_parent().map_or_else(|| parent.entry.clone(), |p| p.entry);
                self.variation.crossover(&parent.entry.source, &other.source, &mut rng)
            } else {
                self.variation.mutate(&parent.entry.source, operator, &mut rng)
            };
            let child = match child {
                Ok(child) => child,
                Err(crate::variation::Rejection::NotApplicable | crate::variation::Rejection::Parent(_)) => {
                    bandit.record(operator.index(), false);
                    continue;
                }
                Err(_) => {
                    report.invalid += 1;
                    bandit.record(operator.index(), false);
                    continue;
                }
            };
            if self.database.knows_program(crate::database::program_hash(&child.texture)) {
                // Known already: not worth an evaluation.
                report.duplicates += 1;
                bandit.record(operator.index(), false);
                continue;
            }
            self.evaluations += 1;
            report.evaluated += 1;
            let Some(evaluation) = evaluate(&child.source, &child.texture) else {
                report.rejected += 1;
                bandit.record(operator.index(), false);
                continue;
            };
            let improved = evaluation.score > parent.entry.score;
            let generator = format!("mutation:{operator}");
            let entry = Entry::new(&child.source, &child.texture, &evaluation.canvas, evaluation.score)
                .with_origin(Some(parent.entry.id), &generator);
            match self.database.add(entry, parent.island) {
                Added::Kept { id, new_best, .. } => {
                    report.kept += 1;
                    if new_best {
                        report.new_bests.push(id);
                    }
                    bandit.record(operator.index(), improved);
                }
                Added::DuplicateProgram | Added::DuplicateImage => {
                    report.duplicates += 1;
                    bandit.record(operator.index(), false);
                }
                Added::BadScore => {
                    report.rejected += 1;
                    bandit.record(operator.index(), false);
                }
            }
        }
        self.arms = bandit.stats().iter().map(|a| (a.tries, a.successes)).collect();
        self.rng = rng.state();
        self.database.end_generation();
        report
    }
}
