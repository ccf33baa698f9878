//! What the daemon tells the world: [`DaemonEvent`]s, printed on the console, written to the
//! log file and handed to an [`EventSink`] (the server streams them to UIs).

use std::sync::Arc;

use gvpie_exec::ErrorJson;
use serde::{Deserialize, Serialize};

/// A callback that receives every event; it must return quickly (it runs on the daemon's
/// thread).
pub type EventSink = Arc<dyn Fn(&DaemonEvent) + Send + Sync>;

/// One thing that happened. Serialized with an `event` tag, e.g.
/// `{"event":"execution_recorded","iteration":7,...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DaemonEvent {
    /// The daemon took the database.
    Started {
        /// The database file.
        db: String,
        /// Our process id.
        pid: u32,
        /// Our host.
        host: String,
        /// `in-process` or the runtime URL.
        runtime: String,
        /// Seconds between cycles.
        interval_s: f64,
        /// Scripts per cycle.
        per_cycle: usize,
        /// Executions already in the database.
        executions_so_far: i64,
        /// The log file, if any.
        log_file: Option<String>,
        /// A stale lease we took over: its holder's pid and host.
        took_over: Option<String>,
        /// This daemon's agent name.
        #[serde(default)]
        agent: String,
        /// The database is shared with other agents (PostgreSQL: no single-daemon lease; work is claimed).
        #[serde(default)]
        shared: bool,
    },
    /// Scripts were imported from a folder file.
    ScriptsImported {
        /// The file.
        file: String,
        /// The scripts it defines.
        scripts: Vec<String>,
        /// Why it could not be imported, if so.
        error: Option<String>,
    },
    /// A cycle began.
    CycleStarted {
        /// Its number (the database's count of cycles, plus one).
        cycle: i64,
        /// When (ms since the epoch).
        at_ms: i64,
    },
    /// The runtime's health check.
    Health {
        /// The cycle.
        cycle: i64,
        /// Healthy.
        healthy: bool,
        /// What the runtime said.
        message: String,
    },
    /// The cycle is about to run these scripts.
    Executing {
        /// The cycle.
        cycle: i64,
        /// Their names, in order.
        scripts: Vec<String>,
    },
    /// An execution was committed to the infinite map.
    ExecutionRecorded {
        /// The cycle.
        cycle: i64,
        /// Its iteration (also its run id).
        iteration: i64,
        /// The script, or `None` for a generated program.
        script: Option<String>,
        /// The script's language.
        lang: Option<String>,
        /// The script's purpose.
        purpose: Option<String>,
        /// The first lines of the program.
        program_preview: Vec<String>,
        /// Lines left out of the preview.
        program_more_lines: usize,
        /// Halted without error.
        success: bool,
        /// Instructions executed.
        cycles: u64,
        /// `cpu`, `gpu` or `none`.
        backend: String,
        /// Wall time in ms.
        duration_ms: f64,
        /// The error, if it failed.
        error: Option<ErrorJson>,
        /// The output image's hash.
        image_hash: Option<String>,
        /// The program's hash.
        program_hash: Option<String>,
        /// What generated it (generated programs).
        generator: Option<String>,
    },
    /// The generator's summary of a committed cycle: one line per goal worked on and one
    /// line of what the operator bandit learned.
    Generated {
        /// The cycle.
        cycle: i64,
        /// The generator's name.
        generator: String,
        /// Its lines.
        notes: Vec<String>,
    },
    /// A cycle committed.
    CycleFinished {
        /// The cycle.
        cycle: i64,
        /// Executions recorded.
        executions: usize,
        /// Failed ones among them.
        failures: usize,
        /// Wall time of the whole cycle in ms.
        duration_ms: f64,
        /// Seconds until the next cycle.
        sleep_s: f64,
    },
    /// A cycle was stopped before its commit; nothing of it was written.
    CycleAbandoned {
        /// The cycle.
        cycle: i64,
        /// Why.
        reason: String,
    },
    /// Something went wrong that the daemon survives.
    Warning {
        /// What.
        message: String,
    },
    /// An agent joined the database: this daemon at its start (`own`), or another one seen in
    /// the `agents` table (a new name, or a restart under a known name).
    AgentJoined {
        /// Its name.
        agent: String,
        /// Its host.
        host: String,
        /// Its pid.
        pid: u32,
        /// Its roles.
        roles: Vec<String>,
        /// It ran under this name before.
        restarted: bool,
        /// Its previous incarnation was still alive and has been replaced (pid and host).
        replaced: Option<String>,
        /// This daemon itself.
        own: bool,
    },
    /// An agent left: it stopped cleanly (`stopped`), or its heartbeat went past its TTL
    /// (`stale`: crashed, killed or hung; its claims can now be taken over).
    AgentLeft {
        /// Its name.
        agent: String,
        /// `stopped` or `stale`.
        state: String,
        /// This daemon itself.
        own: bool,
    },
    /// This agent took over a piece of work whose claim had gone stale.
    TookOver {
        /// This agent.
        agent: String,
        /// The stale agent that held it.
        from: String,
        /// The work: `script:ID`, `goal:ID:ISLAND` or `verify:BLOCK`.
        work: String,
        /// Its sequence number (a goal island's slice number).
        seq: i64,
    },
    /// The daemon stopped.
    Stopped {
        /// Why.
        reason: String,
        /// Cycles committed by this process.
        cycles: u64,
        /// Executions recorded by this process.
        executions: u64,
    },
}
