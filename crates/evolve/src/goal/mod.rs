//! The goal engine: one session per goal kind, holding its step loop, stop rules, adoption and the program
//! database's generations, with no IO.
//!
//! # Brief overview
//!
//! A goal is a typed spec ([`ImageGoalSpec`], [`OptimizeGoalSpec`]) whose progress and checkpoint travel with it.
//! [`ImageSession`] and [`OptimizeSession`] rebuild their search from a spec and run it for a *slice*
//! ([`ImageSession::run_slice`], [`OptimizeSession::run_slice`]) until a stop rule, the slice's end time or step
//! count, or the host asks them to stop. Everything outside the search reaches a session through the caller:
//!
//! - the time, as a [`Clock`] (seconds from any origin), so this crate reads no clock;
//! - the memory, as a [`GoalHost`]: it is told of every kept program ([`GoalHost::keep`]; the daemon runs and
//!   records it in the infinite map with its lineage, `gvpie evolve` keeps nothing), runs batches of programs
//!   ([`GoalHost::run_batch`]; the engine's GPU or CPU) and says when to stop;
//! - a language model, as a [`ProgramProposer`] (one proposal per slice when the caller has one).
//!
//! The daemon schedules and records, the CLI shows progress and writes files; neither has a search loop.

mod explore;
mod image;
mod optimize;
mod propose;
mod spec;

pub use explore::{EXPLORE_CELLS, Elite, ExploreGoalSpec, ExploreSession, ExploreState, PictureFeatures};
pub use image::{ImageSession, Refined};
pub use optimize::{OptimizeSession, SessionStats};
pub use propose::{
    Feedback, ProgramProposer, ProposalError, ProposalOutcome, ProposalParent, ProposalReport, ProposalRequest,
    ProposedProgram,
};
pub use spec::{
    BackendChoice, EffortPreset, EvolveSettings, GoalDraft, GoalKind, GoalOptions, GoalProgress, ImageGoalParams,
    ImageGoalSpec, ImageRefine, OptimizeGoalParams, OptimizeGoalSpec, RefineState, SavedOptimize, StopRules,
};

use gvpie_pxl::{Config, RunResult, Texture};
use gvpie_raster::Canvas;

/// The caller's clock: seconds since any fixed origin, never going back. `Sync`: a refinement running beside an
/// image session's search reads it from its own thread.
pub trait Clock: Sync {
    /// Seconds now.
    fn seconds(&self) -> f64;
}

/// A program a session keeps: better than every program before it in this goal.
#[derive(Debug, Clone, Copy)]
pub struct Kept<'a> {
    /// Its source.
    pub source: &'a str,
    /// What found it: `original`, `image:shape`, `mutation:KIND`, `evolve:OPERATOR`, `llm:MODEL`.
    pub generator: &'a str,
    /// A readable account of the change (an optimize goal's edit, e.g. `delete line 3`), when there is one.
    pub detail: Option<&'a str>,
    /// Its score (lower is better: RMSE or cycles).
    pub score: f64,
    /// Seconds the step that found it took (`None`: not measured; the host may time its own run).
    pub seconds: Option<f64>,
    /// What it draws, as the search computed it (image goals), for the host to check against the VM.
    pub canvas: Option<&'a Canvas>,
    /// The VM configuration it runs under.
    pub vm: &'a Config,
    /// Whose child it is.
    pub parent: Lineage<'a>,
    /// Whether its picture is worth keeping (shown in the explorer and the dashboard), not only its hash.
    pub picture: bool,
}

/// Whose child a kept program is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lineage<'a> {
    /// The program kept before it in this goal (or the goal's best so far): a chain of improvements.
    Previous,
    /// No one's: a starting point.
    Root,
    /// The program with this source, kept earlier by this goal.
    Of(&'a str),
}

/// Where a session's results go and its batches run: the daemon's store and engine, or a command's progress bar.
pub trait GoalHost {
    /// Called for every kept program, in order: each one's parent is the one before it (or the goal's best so
    /// far). An `Err` ends the slice with that error; the daemon refuses a program whose VM canvas differs from
    /// `kept.canvas`.
    fn keep(&mut self, kept: &Kept<'_>) -> Result<(), String>;

    /// Runs a batch of programs under one configuration; `None` when they could not run (the batch then counts
    /// as all failed). The default runs them one by one on the CPU reference VM.
    fn run_batch(&mut self, textures: &[Texture], vm: &Config) -> Option<Vec<RunResult>> {
        textures.iter().map(|texture| gvpie_pxl::run(texture, vm).ok()).collect()
    }

    /// True when the session should stop at the next step boundary (a signal, a cancelled request).
    fn stop_requested(&self) -> bool {
        false
    }

    /// Called after every step, for progress display.
    fn stepped(&mut self, _progress: &GoalProgress, _score: f64) {}

    /// Whether `keep` wants every shape's program. A host that writes only the result (`gvpie evolve`) says no,
    /// and an image session then calls `keep` for its refinements only: writing out a program of thousands of
    /// shapes after every shape took a second of a ten-second run.
    fn keeps_every_shape(&self) -> bool {
        true
    }
}

/// How long a slice may run, besides the goal's own stop rules. A slice always takes at least one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SliceLimits {
    /// The clock reading at which the slice ends (`f64::INFINITY`: none).
    pub until: f64,
    /// The most steps (`None`: no limit). A fixed count makes a slice's content independent of the machine's speed.
    pub max_steps: Option<u64>,
}

impl SliceLimits {
    /// No limit but the goal's own stop rules.
    pub const UNBOUNDED: SliceLimits = SliceLimits { until: f64::INFINITY, max_steps: None };

    fn more(&self, steps: u64, now: f64) -> bool {
        steps == 0 || (now < self.until && self.max_steps.is_none_or(|max| steps < max))
    }
}

/// The tries and improvements of one operator during a slice (the bandit's statistics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmDelta {
    /// `image:shape`, `optimize:KIND`, `evolve:OPERATOR` or `llm:MODEL`.
    pub key: String,
    /// Tries.
    pub tries: u64,
    /// Improvements.
    pub improvements: u64,
}

/// What a slice did.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceReport {
    /// Steps taken in this slice.
    pub steps: u64,
    /// Programs kept in this slice.
    pub kept: u64,
    /// The best score after the slice.
    pub score: f64,
    /// Why the goal is done, when it is.
    pub stop_reason: Option<String>,
    /// True when the slice found a better program than the goal had.
    pub improved: bool,
    /// Operator statistics of this slice.
    pub arms: Vec<ArmDelta>,
    /// The model's proposal of this slice, when a proposer was given.
    pub proposal: Option<ProposalReport>,
    /// One line for the console.
    pub note: String,
}

/// The generator name recorded with an image goal's shape steps.
pub const IMAGE_GENERATOR: &str = "image:shape";

/// The generator name recorded with an image goal's refinements (`crate::refine`).
pub const REFINE_GENERATOR: &str = "image:refine";
