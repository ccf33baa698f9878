//! The optimize goal: a program that draws exactly the same pixels in fewer cycles.
//!
//! [`OptimizeSearch`] edits a program's lines (delete a line, move a line elsewhere, swap two neighbours), runs
//! every candidate in the CPU reference VM with a budget one cycle below the best so far (so a slower candidate is
//! cut short), and accepts it only if it halts with the same final canvas and the same kept frames as the original
//! in strictly fewer cycles. A first pass tries deleting every line in order; after that the edit kinds are chosen
//! by a [`Bandit`] on their observed success. Every accepted edit is recorded ([`Accepted`]), which is the lineage
//! from the original to the result; the original is never changed.
//!
//! The search is seeded and reproducible, reads no clock and does no IO: a time limit is the caller's loop around
//! [`OptimizeSearch::step`].

use std::fmt;

use gvpie_pxl::{Config, RunResult, Status};
use gvpie_raster::Canvas;

use crate::bandit::{ArmStats, Bandit};
use crate::rng::Rng;

/// The most frames compared between the original and a candidate.
pub(crate) const MAX_COMPARED_FRAMES: usize = 1000;

/// A change to the program's lines (0-based line numbers of the program it was applied to).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Edit {
    /// Remove line `line`.
    Delete {
        /// The line removed.
        line: usize,
    },
    /// Move line `from` so that it ends up at index `to`.
    Move {
        /// The line taken out.
        from: usize,
        /// Its index afterwards.
        to: usize,
    },
    /// Swap line `line` with the next one.
    Swap {
        /// The first of the two lines.
        line: usize,
    },
}

impl Edit {
    /// The edit kinds, in the bandit's arm order.
    pub const KINDS: [&'static str; 3] = ["delete", "move", "swap"];

    /// The bandit arm of this edit.
    pub fn kind(&self) -> usize {
        match self {
            Edit::Delete { .. } => 0,
            Edit::Move { .. } => 1,
            Edit::Swap { .. } => 2,
        }
    }
}

impl fmt::Display for Edit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edit::Delete { line } => write!(f, "delete line {}", line + 1),
            Edit::Move { from, to } => write!(f, "move line {} to {}", from + 1, to + 1),
            Edit::Swap { line } => write!(f, "swap lines {} and {}", line + 1, line + 2),
        }
    }
}

/// One accepted edit: a step of the lineage from the original.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The edit.
    pub edit: Edit,
    /// Cycles of the program after it.
    pub cycles: u64,
    /// The number of the evaluation that found it (1-based).
    pub evaluation: u64,
}

/// Everything an [`OptimizeSearch`] needs to continue exactly where it was: plain data, saved by the caller (the
/// daemon keeps it in the goal's row) and given back to [`OptimizeSearch::resume`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptimizeCheckpoint {
    /// The best program so far.
    pub source: String,
    /// Its cycles.
    pub cycles: u64,
    /// Candidates evaluated so far.
    pub n_evaluations: u64,
    /// The next line of the initial deletion pass, or `None` once it is done.
    pub sweep: Option<usize>,
    /// The random generator's state.
    pub rng: [u64; 4],
    /// What the edit-kind bandit learned, in [`Edit::KINDS`] order.
    pub arms: Vec<ArmStats>,
}

/// The settings of an optimize search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptimizeConfig {
    /// Canvas size and cycle budget the program is run with.
    pub vm: Config,
    /// The seed of the random edits.
    pub seed: u64,
}

/// Why an optimize search could not start.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptimizeError {
    /// The program has source errors (the first one's headline).
    Source(String),
    /// The canvas size is invalid.
    Canvas(String),
    /// The original does not halt within the budget, so "the same pixels" is not defined.
    DoesNotHalt(String),
}

impl fmt::Display for OptimizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptimizeError::Source(message) => write!(f, "the program does not compile: {message}"),
            OptimizeError::Canvas(message) => f.write_str(message),
            OptimizeError::DoesNotHalt(message) => write!(f, "the program must halt to be optimized: {message}"),
        }
    }
}

impl std::error::Error for OptimizeError {}

/// What the original draws: the reference every candidate must match.
#[derive(Clone, Debug)]
struct Reference {
    canvas: Canvas,
    frames: Vec<Canvas>,
    n_frames: u64,
}

/// A search for a faster program with the same pixels.
#[derive(Clone, Debug)]
pub struct OptimizeSearch {
    config: OptimizeConfig,
    reference: Reference,
    original_cycles: u64,
    lines: Vec<String>,
    cycles: u64,
    rng: Rng,
    bandit: Bandit,
    history: Vec<Accepted>,
    n_evaluations: u64,
    /// The next line the initial deletion pass tries, or `None` once it is done.
    sweep: Option<usize>,
}

impl OptimizeSearch {
    /// A search starting from `source`.
    ///
    /// # Errors
    ///
    /// [`OptimizeError`] if the program does not compile, the canvas size is invalid, or the program does not halt.
    pub fn new(source: &str, config: OptimizeConfig) -> Result<OptimizeSearch, OptimizeError> {
        let texture = gvpie_pxl::compile(source).map_err(|d| OptimizeError::Source(d[0].headline()))?;
        let vm = Config { max_frames: MAX_COMPARED_FRAMES, ..config.vm };
        let result = gvpie_pxl::run(&texture, &vm).map_err(|e| OptimizeError::Canvas(e.to_string()))?;
        if result.status != Status::Halted {
            return Err(OptimizeError::DoesNotHalt(format!("{:?}", result.status)));
        }
        let reference = Reference { canvas: result.canvas, frames: result.frames, n_frames: result.n_frames };
        let rng = Rng::new(config.seed);
        Ok(OptimizeSearch {
            config,
            reference,
            original_cycles: result.cycles,
            lines: source.lines().map(str::to_string).collect(),
            cycles: result.cycles,
            rng,
            bandit: Bandit::new(Edit::KINDS.len()),
            history: Vec::new(),
            n_evaluations: 0,
            sweep: Some(0),
        })
    }

    /// The fewest cycles any program can draw the original's output in: one instruction for a canvas that is not
    /// all black, and one `FRAME` per frame (the end of a program halts for free). The optimize goal's known
    /// optimum: a search that reaches it is done.
    pub fn known_optimum(&self) -> u64 {
        let drawn = self.reference.canvas.pixels().iter().any(|&p| p != gvpie_raster::Rgba::BLACK.to_u32());
        u64::from(drawn) + self.reference.n_frames
    }

    /// A search that continues from `checkpoint`, made by [`OptimizeSearch::checkpoint`] of a search of the same
    /// `original` and `config`: its next steps are exactly those the saved search would have taken. The history
    /// of accepted edits starts empty (the caller keeps the lineage).
    ///
    /// # Errors
    ///
    /// As [`OptimizeSearch::new`] for the original; [`OptimizeError::Source`] when the checkpoint's program does
    /// not compile.
    pub fn resume(
        original: &str,
        config: OptimizeConfig,
        checkpoint: &OptimizeCheckpoint,
    ) -> Result<OptimizeSearch, OptimizeError> {
        let mut search = OptimizeSearch::new(original, config)?;
        gvpie_pxl::compile(&checkpoint.source).map_err(|d| OptimizeError::Source(d[0].headline()))?;
        search.lines = checkpoint.source.lines().map(str::to_string).collect();
        search.cycles = checkpoint.cycles.min(search.original_cycles);
        search.n_evaluations = checkpoint.n_evaluations;
        search.sweep = checkpoint.sweep;
        search.rng = Rng::from_state(checkpoint.rng);
        if checkpoint.arms.len() == Edit::KINDS.len() {
            search.bandit = Bandit::from_stats(checkpoint.arms.clone());
        }
        Ok(search)
    }

    /// The state to save so that [`OptimizeSearch::resume`] continues exactly from here.
    pub fn checkpoint(&self) -> OptimizeCheckpoint {
        OptimizeCheckpoint {
            source: self.source(),
            cycles: self.cycles,
            n_evaluations: self.n_evaluations,
            sweep: self.sweep,
            rng: self.rng.state(),
            arms: self.bandit.stats().to_vec(),
        }
    }

    /// Cycles of the original.
    pub fn original_cycles(&self) -> u64 {
        self.original_cycles
    }

    /// Cycles of the best program so far.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// The best program so far.
    pub fn source(&self) -> String {
        let mut out = self.lines.join("\n");
        out.push('\n');
        out
    }

    /// The accepted edits, oldest first.
    pub fn history(&self) -> &[Accepted] {
        &self.history
    }

    /// Candidates evaluated so far.
    pub fn n_evaluations(&self) -> u64 {
        self.n_evaluations
    }

    /// What the edit-kind bandit has learned, in [`Edit::KINDS`] order.
    pub fn operator_stats(&self) -> &[ArmStats] {
        self.bandit.stats()
    }

    /// Evaluates one candidate edit; returns it if it was accepted.
    pub fn step(&mut self) -> Option<Accepted> {
        let n = self.lines.len();
        if n == 0 || self.cycles == 0 {
            return None;
        }
        let (edit, from_sweep) = match self.sweep {
            Some(line) if line < n => {
                self.sweep = Some(line + 1);
                (Edit::Delete { line }, true)
            }
            _ => {
                self.sweep = None;
                (self.random_edit(), false)
            }
        };
        let candidate = apply(&self.lines, edit);
        self.n_evaluations += 1;
        let accepted = self.evaluate(&candidate);
        if !from_sweep {
            self.bandit.record(edit.kind(), accepted.is_some());
        }
        let cycles = accepted?;
        self.lines = candidate;
        self.cycles = cycles;
        if let (true, Edit::Delete { line }) = (from_sweep, edit) {
            // The next line moved up into this index; try it next.
            self.sweep = Some(line);
        }
        let record = Accepted { edit, cycles, evaluation: self.n_evaluations };
        self.history.push(record.clone());
        Some(record)
    }

    /// Offers a whole program from elsewhere (a language model, a person): it is adopted as the best when it draws
    /// exactly the reference's pixels and frames in fewer cycles than the best so far, and then returns its cycles.
    /// It counts as an evaluation; the edit bandit and the random state are untouched.
    ///
    /// # Errors
    ///
    /// Why it was not adopted, as a sentence for the next prompt.
    pub fn offer(&mut self, source: &str) -> Result<u64, String> {
        if self.cycles == 0 {
            return Err("the best program already runs in 0 cycles".to_string());
        }
        self.n_evaluations += 1;
        let texture = gvpie_pxl::compile(source)
            .map_err(|d| format!("it does not compile: {}", d.first().map(|d| d.headline()).unwrap_or_default()))?;
        let vm = Config { budget: self.cycles - 1, max_frames: MAX_COMPARED_FRAMES, ..self.config.vm };
        let result: RunResult = gvpie_pxl::run(&texture, &vm).map_err(|e| e.to_string())?;
        if result.status != Status::Halted {
            return Err(format!(
                "it does not halt in fewer than {} cycles (the best so far): {:?}",
                self.cycles, result.status
            ));
        }
        if result.n_frames != self.reference.n_frames || result.frames != self.reference.frames {
            return Err(format!(
                "it draws different frames ({} FRAME instructions run, the original runs {})",
                result.n_frames, self.reference.n_frames
            ));
        }
        if result.canvas != self.reference.canvas {
            let differing = result
                .canvas
                .to_rgba8()
                .chunks_exact(4)
                .zip(self.reference.canvas.to_rgba8().chunks_exact(4))
                .filter(|(a, b)| a != b)
                .count();
            return Err(format!("it draws different pixels ({differing} pixels differ from the original's)"));
        }
        self.lines = source.lines().map(str::to_string).collect();
        self.cycles = result.cycles;
        Ok(result.cycles)
    }

    /// Evaluates `n` candidates.
    pub fn run(&mut self, n: u64) {
        for _ in 0..n {
            self.step();
        }
    }

    fn random_edit(&mut self) -> Edit {
        let n = self.lines.len() as u32;
        let line = self.rng.below(n) as usize;
        match self.bandit.choose() {
            0 => Edit::Delete { line },
            1 if n > 1 => Edit::Move { from: line, to: self.rng.below(n) as usize },
            _ if n > 1 => Edit::Swap { line: line.min(n as usize - 2) },
            _ => Edit::Delete { line },
        }
    }

    /// Runs a candidate with a budget one below the best; `Some(cycles)` if it matches the reference.
    fn evaluate(&self, lines: &[String]) -> Option<u64> {
        let mut source = lines.join("\n");
        source.push('\n');
        let texture = gvpie_pxl::compile(&source).ok()?;
        let vm = Config { budget: self.cycles - 1, max_frames: MAX_COMPARED_FRAMES, ..self.config.vm };
        let result: RunResult = gvpie_pxl::run(&texture, &vm).ok()?;
        let same = result.status == Status::Halted
            && result.cycles < self.cycles
            && result.n_frames == self.reference.n_frames
            && result.canvas == self.reference.canvas
            && result.frames == self.reference.frames;
        same.then_some(result.cycles)
    }
}

fn apply(lines: &[String], edit: Edit) -> Vec<String> {
    let mut out = lines.to_vec();
    match edit {
        Edit::Delete { line } if line < out.len() => {
            out.remove(line);
        }
        Edit::Move { from, to } if from < out.len() => {
            let moved = out.remove(from);
            out.insert(to.min(out.len()), moved);
        }
        Edit::Swap { line } if line + 1 < out.len() => out.swap(line, line + 1),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> OptimizeConfig {
        OptimizeConfig { vm: Config { width: 32, height: 16, ..Config::default() }, seed: 5 }
    }

    #[test]
    fn removes_dead_draws_and_hoists_invariants() {
        let source = "CLS 0 0 0\nRECT 0 0 4 4\nSET y 0\nrow:\nSET x 0\ncol:\nMUL b y 8\nCOLOR 0 0 b\nPSET x y\nLOOP x 32 col\nLOOP y 16 row\nHALT\n";
        let mut search = OptimizeSearch::new(source, config()).expect("valid program");
        let original = search.original_cycles();
        search.run(3000);
        // MUL and COLOR depend on y only: hoisted out of the inner loop, 4 cycles a pixel become 2 (2084 -> 1088).
        assert!(search.cycles() <= 1088, "{} -> {}", original, search.cycles());
        // The result draws the same pixels.
        let run = |s: &str| {
            let texture = gvpie_pxl::compile(s).expect("compiles");
            gvpie_pxl::run(&texture, &config().vm).expect("size").canvas
        };
        assert_eq!(run(&search.source()), run(source));
        assert_eq!(search.history().last().map(|a| a.cycles), Some(search.cycles()));
        assert!(search.operator_stats().iter().map(|a| a.tries).sum::<u64>() > 0);
    }

    #[test]
    fn refuses_programs_that_do_not_halt_or_compile() {
        assert!(matches!(OptimizeSearch::new("x:\nJMP x\n", config()), Err(OptimizeError::DoesNotHalt(_))));
        assert!(matches!(OptimizeSearch::new("RECTT 1\n", config()), Err(OptimizeError::Source(_))));
    }

    #[test]
    fn resumes_exactly_from_a_checkpoint() {
        let source = "CLS 0 0 0\nRECT 0 0 4 4\nSET y 0\nrow:\nSET x 0\ncol:\nMUL b y 8\nCOLOR 0 0 b\nPSET x y\nLOOP x 32 col\nLOOP y 16 row\nHALT\n";
        let mut whole = OptimizeSearch::new(source, config()).expect("valid");
        whole.run(400);
        let mut first = OptimizeSearch::new(source, config()).expect("valid");
        first.run(150);
        let mut second = OptimizeSearch::resume(source, config(), &first.checkpoint()).expect("valid");
        second.run(250);
        assert_eq!(second.checkpoint(), whole.checkpoint());
        assert_eq!(second.n_evaluations(), 400);
    }

    #[test]
    fn offers_are_adopted_only_with_the_same_pixels_in_fewer_cycles() {
        let source = "CLS 0 0 0\nSET i 0\nl:\nPSET i 0\nLOOP i 8 l\nHALT\n";
        let mut search = OptimizeSearch::new(source, config()).expect("valid");
        assert!(search.offer("RECTT\n").expect_err("bad").contains("does not compile"));
        assert!(search.offer("CLS 0 0 0\nRECT 0 0 9 1\n").expect_err("more").contains("1 pixels differ"));
        assert!(search.offer("l:\nJMP l\n").expect_err("loops").contains("does not halt"));
        assert_eq!(search.offer("CLS 0 0 0\nRECT 0 0 8 1\n"), Ok(2));
        assert_eq!(search.cycles(), 2);
        assert_eq!(search.source(), "CLS 0 0 0\nRECT 0 0 8 1\n");
        assert!(search.offer("CLS 0 0 0\nRECT 0 0 8 1\n").is_err(), "not fewer cycles");
        assert_eq!(search.n_evaluations(), 5);
    }

    #[test]
    fn reproducible() {
        let source = "SET i 0\nl:\nRECT i 0 1 1\nCOLOR 255 0 0\nLOOP i 10 l\nHALT\n";
        let mut a = OptimizeSearch::new(source, config()).expect("valid");
        let mut b = OptimizeSearch::new(source, config()).expect("valid");
        a.run(200);
        b.run(200);
        assert_eq!(a.source(), b.source());
        assert_eq!(a.history(), b.history());
    }
}
