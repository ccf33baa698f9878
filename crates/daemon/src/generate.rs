//! The "generate improvements" step: a hook that the improvement engine fills.
//!
//! Each cycle, after the scripts ran and before the commit, the daemon calls its
//! [`Generator`] with a [`GenerateContext`]. Whatever the generator records there (executions,
//! and through [`GenerateContext::extras`] goal progress, operator statistics and cartridges) is
//! committed with the cycle, atomically, and reported like script runs; its
//! [`GenerateContext::note`] lines are shown once the cycle committed. The default,
//! [`NoGenerator`], does nothing; `gvpie daemon` and `gvpie up` use the goal engine
//! ([`crate::GoalGenerator`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use gvpie_exec::Engine;
use gvpie_store::{AgentHandle, CycleExtras, NewExecution, Store};

/// Produces new programs each cycle (the improvement engine).
pub trait Generator: Send {
    /// A short name for logs.
    fn name(&self) -> &str;

    /// Does this cycle's work. Errors are reported as warnings; the daemon goes on.
    fn generate(&mut self, ctx: &mut GenerateContext<'_>) -> anyhow::Result<()>;
}

/// The default generator: nothing.
#[derive(Debug, Default)]
pub struct NoGenerator;

impl Generator for NoGenerator {
    fn name(&self) -> &str {
        "none"
    }

    fn generate(&mut self, _ctx: &mut GenerateContext<'_>) -> anyhow::Result<()> {
        Ok(())
    }
}

/// What a generator may use during a cycle.
pub struct GenerateContext<'a> {
    /// The database, for reading (goals, best programs, statistics).
    pub store: &'a Store,
    /// The in-process engine, to evaluate candidates.
    pub engine: &'a Engine,
    /// The cycle's number.
    pub cycle: i64,
    /// When the generator should return by (the next cycle is due).
    pub deadline: Instant,
    pub(crate) batch: &'a mut Vec<NewExecution>,
    pub(crate) first_generated: usize,
    pub(crate) stop: &'a AtomicBool,
    pub(crate) extras: &'a mut CycleExtras,
    pub(crate) notes: &'a mut Vec<String>,
    pub(crate) agent: Option<&'a AgentHandle>,
}

impl std::fmt::Debug for GenerateContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerateContext").field("cycle", &self.cycle).finish()
    }
}

impl GenerateContext<'_> {
    /// Adds an execution to the cycle's commit. Returns its index in the batch, for
    /// `ParentRef::Pending` in later executions of the same cycle.
    pub fn record(&mut self, execution: NewExecution) -> usize {
        self.batch.push(execution);
        self.batch.len() - 1
    }

    /// Every execution of this cycle so far: the script runs first, then what the generator
    /// recorded. An index here is what `ParentRef::Pending` takes.
    pub fn pending(&self) -> &[NewExecution] {
        self.batch
    }

    /// An execution of this cycle, to amend it before the commit (for example to keep the PNG
    /// of the cycle's best candidate only). Script runs (before the generator's first) are not
    /// reachable.
    pub fn pending_mut(&mut self, index: usize) -> Option<&mut NewExecution> {
        if index < self.first_generated { None } else { self.batch.get_mut(index) }
    }

    /// The executions this generator recorded so far in this cycle.
    pub fn recorded(&self) -> &[NewExecution] {
        &self.batch[self.first_generated..]
    }

    /// What is written with the cycle besides its executions: goal progress, operator
    /// statistics, cartridges (all in the same transaction).
    pub fn extras(&mut self) -> &mut CycleExtras {
        self.extras
    }

    /// A line for the console and the log, shown once the cycle committed (a rolled-back
    /// cycle shows none).
    pub fn note(&mut self, line: impl Into<String>) {
        self.notes.push(line.into());
    }

    /// The agent this daemon runs as: work shared with other agents (a goal's slice) is
    /// claimed in its name, and the claims go into [`CycleExtras::work`] to be released by the
    /// cycle's commit. `None` outside a daemon (library use): nothing is claimed.
    pub fn agent(&self) -> Option<&AgentHandle> {
        self.agent
    }

    /// True when the daemon was asked to stop (the cycle will be rolled back).
    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// True when the daemon was asked to stop: return soon.
    pub fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }
}
