//! gvpie's memory: the only crate that talks to a database.
//!
//! # Brief overview
//!
//! A [`Store`] opens (and migrates) a SQLite database, by default `gvpie-data/gvpie.db`
//! ([`DEFAULT_DB_PATH`]), in WAL mode with a busy timeout and `synchronous = FULL`, so every
//! commit is durable and readers never block the writer; or a PostgreSQL database named by a
//! `postgres://` URL, for many processes and machines sharing one memory (see
//! [PostgreSQL](#postgresql)). It holds:
//!
//! - the seed's six tables under the seed's names and columns, so the seed's documented SQL
//!   works unchanged: `improvement_scripts` ([`Script`]), `development_goals` ([`Goal`]),
//!   `cartridge_registry` ([`CartridgeEntry`]), `system_metrics` ([`Metric`]), and
//!   `infinite_map` and `improvement_runs`, which are views over `executions`;
//! - `executions`: one compact row per execution ([`NewExecution`] in, [`MapEntry`] out).
//!   Its `iteration` is unique and increasing across restarts (MAX + 1 inside the writing
//!   transaction; a sequence on PostgreSQL) and doubles as the run id. The table is append-only: triggers refuse every
//!   UPDATE and DELETE, on the table and on both views;
//! - content-addressed stores, all named by SHA-256 ([`Hash`]): `programs` (machine texture
//!   plus first source; [`ProgramRecord`]), `texts` (task descriptions, code, error JSON),
//!   `images` ([`StoredImage`], hash of the pixels by [`image_hash`]) and `blobs` (cartridge
//!   PNGs);
//! - lineage: `executions.parent_iteration` and `execution_parents` ([`Lineage`]);
//! - learned statistics per script and per opcode ([`Stat`]), daemon leases ([`LeaseInfo`]),
//!   the record of imported script files and named counters;
//! - `llm_proposals`: every language-model proposal of the goal engine and its outcome
//!   ([`LlmProposal`]), append-only like `executions`.
//!
//! A daemon cycle is recorded with [`Store::record_cycle`] in one transaction: all of it or
//! nothing. An execution of an already-seen program costs one `executions` row (about 50
//! bytes) and its index entries: program, code, task text, a repeated error and the output
//! image are stored once and referenced by id.
//!
//! # Images kept
//!
//! Every execution records the hash of its output image. The PNG is kept when the caller
//! passes it and the store has none for that hash yet. The daemon passes it the first time a
//! hash is seen, failures included (the canvas as drawn up to the trap); since runs are
//! deterministic, that keeps the picture of every script run at the cost of one PNG per
//! distinct output. The improvement engine should pass PNGs only for the candidates it keeps
//! (new bests), and hashes for the rest.
//!
//! # PostgreSQL
//!
//! [`Location::parse`] takes a file path or a `postgres://`/`postgresql://` URL, and
//! [`Store::open_location`] (or [`Store::open`] given a URL) opens either. On PostgreSQL the
//! store connects (plain TCP or a Unix socket, **no TLS**: point the URL at a trusted network),
//! creates the database when it does not exist, refuses one that has tables but is not
//! gvpie's, and migrates: each migration has a PostgreSQL twin, applied in one transaction with
//! its `schema_version` row under an advisory lock. Every public method works on both backends
//! with the same results; the public API has no driver types, and errors come back as the same
//! [`StoreError`] variants (a connection failure is [`StoreError::Open`], the password shown as
//! `***`).
//!
//! The SQL is written once (the private `db` module: a value type, rows, `?N` placeholders
//! rewritten as `$N`, transactions, advisory locks) and kept portable (`ON CONFLICT`,
//! `RETURNING`, `IS [NOT] DISTINCT FROM`, recursive CTEs); the dialect-specific parts are the
//! pragmas, the DDL, the views' JSON and the triggers (PostgreSQL: one plpgsql function,
//! `gvpie_refuse`, also refusing `TRUNCATE`). The seed's tables keep the seed's names, columns
//! and kinds, and `datetime('now')` exists, so the seed's SQL works through `psql`. Iterations
//! come from a sequence (unique and growing with any number of writers; a rolled-back batch
//! leaves a gap); on SQLite they stay MAX + 1 inside the writing transaction. Concurrent
//! writers are safe: content-addressed rows are inserted with `ON CONFLICT DO NOTHING`, the
//! read-merge-write of statistics and of a lease runs under an advisory lock. Differences:
//! [`Store::used_bytes`] is `pg_database_size`, [`Store::checkpoint`] does nothing,
//! [`Store::integrity_check`] checks the connection and the schema version, [`Store::path`] is
//! the redacted URL ([`Store::location`] says it for both), text cannot hold NUL characters.
//! `docs/daemon.md` has the operator's view.
//!
//! # Agents
//!
//! Several daemons (agents) may share one PostgreSQL database; a SQLite file has room for one.
//! `agents.rs` keeps who they are ([`Store::register_agent`], [`Store::agent_heartbeat`],
//! [`Store::stop_agent`]) and the work they claim: scripts ([`Store::claim_scripts`]), goal
//! slices on islands ([`Store::claim_goal_slice`]) and blocks of executions to re-run
//! ([`Store::claim_verification`]), claimed with `FOR UPDATE SKIP LOCKED` and released by the
//! cycle's commit ([`WorkCommit`] in [`CycleExtras`]) only while still the agent's own
//! ([`StoreError::ClaimLost`] otherwise). Every execution names its agent
//! ([`NewExecution::agent_id`]); a goal's best changes only for a better or equal score. The
//! rules are in `docs/agents.md`.
//!
//! # API for the server
//!
//! Open one `Store` per worker thread (or one behind a `Mutex`); all readers below take
//! `&self`, writers `&mut self` or `&self`. Errors: [`StoreError::NotFound`] → 404,
//! [`StoreError::Invalid`] → 400, [`StoreError::LeaseHeld`] → 409, anything else → 500.
//!
//! | what | method |
//! | --- | --- |
//! | scripts | [`Store::list_scripts`], [`Store::script`], [`Store::script_by_name`], [`Store::create_script`] ([`NewScript`]), [`Store::update_script`] ([`ScriptUpdate`]), [`Store::set_script_enabled`] |
//! | infinite map | [`Store::map_page`] ([`MapQuery`]: script name, goal, time range, success, cursor → [`MapPage`], newest first), [`Store::map_entry`], [`Store::last_iteration`] |
//! | lineage | [`Store::lineage`] (ancestors and descendants, nearest first) |
//! | programs | [`Store::program_by_hash`], [`Store::put_program`] ([`ProgramInput`]) |
//! | cartridges | [`Store::list_cartridges`], [`Store::cartridge`] (path or `sha256:HEX`), [`Store::cartridge_png`], [`Store::put_cartridge`] ([`NewCartridge`]) |
//! | images | [`Store::image_of_iteration`], [`Store::image_by_hash`] (PNG in [`StoredImage::png`] when kept) |
//! | statistics | [`Store::stats`] (`Some("script")`, `Some("opcode")`, or all), [`Store::metrics`], [`Store::summary`] |
//! | goals | [`Store::list_goals`], [`Store::active_goals`], [`Store::goal`], [`Store::create_goal`] ([`NewGoal`]), [`Store::update_goal`] ([`GoalUpdate`]), [`Store::llm_proposals`] ([`LlmProposal`]) |
//! | recording | [`Store::record_executions`] (an API execution worth keeping), [`Store::record_cycle`] (the daemon), [`Store::record_cycle_with`] (the daemon with the improvement engine's [`CycleExtras`]), [`Store::put_image`] |
//! | health | [`Store::integrity_check`], [`Store::schema_version`], [`Store::lease_info`] |
//! | agents | [`Store::agents`] ([`AgentInfo`]: state, last heartbeat, executions), [`Store::work_claims`], [`Store::work_log`], [`Store::goal_islands`], [`Store::verification_counts`] |
//!
//! All these types implement `serde::Serialize`; hashes serialize as 64 hex digits.
//!
//! # Example
//!
//! ```
//! use gvpie_store::{NewExecution, NewScript, Store, TextRef};
//!
//! let dir = tempfile::tempdir()?;
//! let mut store = Store::open(dir.path().join("gvpie.db"))?;
//! let script = store.create_script(&NewScript {
//!     name: "hello_gpu".into(),
//!     lang: "pixel".into(),
//!     purpose: Some("Test GPU pipeline with simple text rendering".into()),
//!     code: "TXT 10 10 HELLO GPU\nHALT".into(),
//!     enabled: true,
//!     parent_script_id: None,
//! })?;
//! let run = NewExecution {
//!     script_id: Some(script.id),
//!     script_name: Some(script.name.clone()),
//!     task: Some(TextRef::new("hello_gpu: Test GPU pipeline with simple text rendering")),
//!     success: true,
//!     cycles: 2,
//!     ..NewExecution::default()
//! };
//! let cycle = store.record_cycle(&[run], None)?;
//! assert_eq!(cycle.iterations, vec![1]);
//! let entry = store.map_entry(1, false)?.expect("recorded");
//! assert_eq!(entry.script_name.as_deref(), Some("hello_gpu"));
//! assert_eq!(store.script(script.id)?.expect("exists").run_count, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub use crate::agents::{
    AgentHandle, AgentInfo, AgentSpec, AgentState, Claim, IslandChange, IslandInfo, ROLES, Registered, ScriptClaims,
    SliceClaim, VERIFY_BLOCK, Verification, VerificationCounts, VerifyClaim, WorkClaimInfo, WorkCommit, WorkLogEntry,
    parse_roles,
};
pub use crate::cartridges::{CartridgeEntry, NewCartridge};
pub use crate::error::{Result, StoreError};
pub use crate::extras::{ARM_SCOPE, Adoption, ArmDelta, CycleCartridge, CycleExtras, GoalChange, SelfSetGoal};
pub use crate::goals::{AdoptionRecord, ArchivePicture, Goal, GoalUpdate, Growth, NewGoal};
pub use crate::hash::{Hash, image_hash};
pub use crate::lease::{Acquired, DAEMON_LEASE, Lease, LeaseClaim, LeaseInfo};
pub use crate::proposals::{LlmProposal, MAX_PROPOSAL_SOURCE, NewProposal, PROPOSAL_OUTCOMES};
pub use crate::query::{
    Lineage, LineageNode, MapEntry, MapPage, MapQuery, Metric, ProgramRecord, Stat, StoredImage, Summary,
};
pub use crate::record::{
    BackendUsed, CycleRecord, NewExecution, NewImage, ParentRef, ProgramInput, RunConfig, TextRef, bucket_of,
};
pub use crate::schema::latest_version;
pub use crate::scripts::{
    DerivedScript, ImportedFile, ImportedScript, LANGS, NewScript, Script, ScriptUpdate, SqlScriptFile,
    parse_script_sql,
};
pub use crate::store::{DEFAULT_DB_PATH, Durability, Location, Store, StoreOptions};
pub use crate::time::{format_ms, now_ms};

mod agents;
mod cartridges;
mod db;
mod error;
mod extras;
mod goals;
mod hash;
mod lease;
mod pg;
mod proposals;
mod query;
mod record;
mod schema;
mod scripts;
mod store;
mod time;

pub(crate) use crate::db::params;
