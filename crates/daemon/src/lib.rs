//! The autonomous daemon: runs the enabled improvement scripts forever, records every
//! execution in the store, learns from them, and leaves room for generated improvements.
//!
//! # Brief overview
//!
//! [`Daemon::open`] opens the database ([`gvpie_store::Store`]: a SQLite file or a PostgreSQL
//! URL) and registers the daemon as an **agent** ([`DaemonConfig::agent`], default `host:pid`,
//! with [`DaemonConfig::roles`]; a restart under the same name is the same agent). On SQLite it
//! also takes the lease (at most one daemon loop per file; a second is refused with the
//! holder's pid, host and start time and a pointer to PostgreSQL, and a crashed holder's lease
//! is taken over); on PostgreSQL any number of agents share the database, coordinating through
//! the store's claims (`docs/agents.md`). A heartbeat thread keeps the agent and its claims
//! live. [`Daemon::run`] then repeats one cycle:
//!
//! 1. health check of the runtime ([`RuntimeSpec`]: this process by default, or a remote
//!    `gvpie serve` through `GET /health` and `POST /api/execute`);
//! 2. (role `scripts`) the enabled scripts no other agent holds, never-run first then least
//!    recently run, [`DaemonConfig::per_cycle`] of them, claimed; bad rows (unknown language, oversized or missing code, undecodable cartridge,
//!    code that does not compile) become failed runs carrying their error;
//! 3. (role `goals`) the [`Generator`] hook (the improvement engine: [`NoGenerator`] by
//!    default in the library, [`GoalGenerator`] (the active goals, each slice claimed on one of
//!    the goal's islands) in `gvpie daemon` and `gvpie up`);
//! 4. (role `evaluate`) a claimed block of recorded executions re-run ([`replay`]);
//! 5. one commit for the whole cycle: runs, infinite-map entries (each naming the agent),
//!    script counters, per-script and per-opcode statistics, and the release of every claim,
//!    refused as a whole if a claim was lost (a stop before it rolls the cycle back as a whole
//!    and gives the claims back);
//! 6. the learn step samples `system_metrics` every [`DaemonConfig::metrics_interval`];
//! 7. sleep [`DaemonConfig::interval`] (zero: continuous).
//!
//! Agents joining and leaving (this one, and others seen in the `agents` table) and work taken
//! over from a stale agent are events too ([`DaemonEvent::AgentJoined`],
//! [`DaemonEvent::AgentLeft`], [`DaemonEvent::TookOver`]).
//!
//! Every step emits a [`DaemonEvent`] to the console (the seed's look, or JSON lines), the
//! rotating log file and an optional [`EventSink`]. Scripts can also come from a folder
//! ([`ScriptFolder`]). [`replay`] re-runs a recorded execution and compares its pixels.
//!
//! This crate reads the clock and does file and network IO; all database work goes through
//! `gvpie-store`.
//!
//! # Example
//!
//! ```
//! use std::sync::atomic::AtomicBool;
//! use gvpie_daemon::{Daemon, DaemonConfig};
//!
//! let dir = tempfile::tempdir()?;
//! let mut config = DaemonConfig::new(dir.path().join("gvpie.db"));
//! config.max_cycles = Some(2);
//! config.interval = std::time::Duration::ZERO;
//! config.console = false;
//! let mut daemon = Daemon::open(config, gvpie_exec::Engine::cpu_only())?;
//! gvpie_daemon::seed_examples(daemon.store())?;
//! let report = daemon.run(&AtomicBool::new(false))?;
//! assert_eq!((report.cycles, report.executions, report.failures), (2, 4, 0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub use crate::daemon::{Daemon, DaemonConfig, DaemonReport, seed_examples, stop_on_signals};
pub use crate::event::{DaemonEvent, EventSink};
pub use crate::generate::{GenerateContext, Generator, NoGenerator};
pub use crate::goals::GoalGenerator;
pub use crate::import::{MAX_SCRIPT_FILE_BYTES, ScriptFolder};
pub use crate::log::{LogFormat, RotatingFile, render_text, sanitize_for_terminal};
pub use crate::process::{holder_is_gone, host_name, rss_bytes};
pub use crate::replay::{ReplayReport, replay};
pub use crate::runtime::{MAX_RUNTIME_REPLY_BYTES, RuntimeSpec};

pub mod curator;
mod daemon;
mod event;
mod generate;
mod goals;
mod import;
mod log;
mod prepare;
mod process;
mod replay;
mod runtime;
