//! The loop: health → scripts → record → learn → generate → sleep, one atomic commit per
//! cycle.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gvpie_exec::{BackendChoice, Engine, ErrorJson, ResultJson};
use gvpie_store::{
    AgentHandle, AgentSpec, AgentState, BackendUsed, Claim, CycleExtras, DAEMON_LEASE, Hash, Lease, LeaseClaim,
    Location, NewExecution, NewImage, RunConfig, Script, Store, StoreError, StoreOptions, TextRef, Verification,
    WorkCommit,
};

use crate::event::{DaemonEvent, EventSink};
use crate::generate::{GenerateContext, Generator, NoGenerator};
use crate::import::ScriptFolder;
use crate::log::{LogFormat, Reporter, RotatingFile};
use crate::prepare::{PrepareCache, Prepared, RemoteInput, preview};
use crate::runtime::{Executed, Remote, RemoteCode, RuntimeSpec, execute_batch_local, execute_local};

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// The database: a SQLite file, or a `postgres://` URL (see `gvpie_store::Location::parse`).
    pub db: PathBuf,
    /// The agent's name (`None`: `host:pid`). A restart under the same name is the same agent.
    pub agent: Option<String>,
    /// The agent's roles, each one of [`gvpie_store::ROLES`] (default: all): `scripts` runs
    /// the improvement scripts, `goals` the goal engine (the [`Generator`]), `evaluate`
    /// re-runs recorded executions to check they reproduce.
    pub roles: Vec<String>,
    /// Pause between cycles; zero runs continuously.
    pub interval: Duration,
    /// Where programs run.
    pub runtime: RuntimeSpec,
    /// The backend asked for.
    pub backend: BackendChoice,
    /// A folder of scripts to import and watch.
    pub scripts_dir: Option<PathBuf>,
    /// Scripts run per cycle.
    pub per_cycle: usize,
    /// Stop after this many cycles (tests, benchmarks).
    pub max_cycles: Option<u64>,
    /// Console and log format.
    pub log_format: LogFormat,
    /// Print to stdout.
    pub console: bool,
    /// The log file; `None` for none. Default: `logs/daemon.log` beside the database.
    pub log_file: Option<PathBuf>,
    /// Rotate the log file past this size.
    pub log_max_bytes: u64,
    /// Rotated log files kept.
    pub log_keep: usize,
    /// Canvas width for script runs.
    pub width: u32,
    /// Canvas height for script runs.
    pub height: u32,
    /// Cycle budget for script runs.
    pub budget: u64,
    /// Longer code is not loaded and its run fails with `code_too_large`.
    pub max_code_bytes: i64,
    /// The lease's time-to-live: a crashed daemon blocks a new one at most this long (less on
    /// the same host, where a dead holder is detected at once). Also the agent's: its claims on
    /// work are taken over by other agents this long after its last heartbeat.
    pub lease_ttl: Duration,
    /// How often the learn step samples `system_metrics`.
    pub metrics_interval: Duration,
    /// How often the scripts folder is polled.
    pub scan_interval: Duration,
}

impl DaemonConfig {
    /// The defaults for a database: 10 s interval, in-process runtime, 3 scripts per cycle,
    /// 128×64 canvas, the default budget, a 10 MiB × 5 rotating log beside the database.
    pub fn new(db: impl Into<PathBuf>) -> DaemonConfig {
        let db = db.into();
        // A PostgreSQL URL has no folder: the log goes under the working directory.
        let log_file = if is_postgres(&db) {
            PathBuf::from("logs").join("daemon.log")
        } else {
            db.parent().unwrap_or(std::path::Path::new(".")).join("logs").join("daemon.log")
        };
        DaemonConfig {
            db,
            agent: None,
            roles: gvpie_store::ROLES.iter().map(|r| r.to_string()).collect(),
            interval: Duration::from_secs(10),
            runtime: RuntimeSpec::InProcess,
            backend: BackendChoice::Auto,
            scripts_dir: None,
            per_cycle: 3,
            max_cycles: None,
            log_format: LogFormat::Text,
            console: true,
            log_file: Some(log_file),
            log_max_bytes: 10 << 20,
            log_keep: 5,
            width: 128,
            height: 64,
            budget: gvpie_pxl::DEFAULT_BUDGET,
            max_code_bytes: 1 << 20,
            lease_ttl: Duration::from_secs(30),
            metrics_interval: Duration::from_secs(60),
            scan_interval: Duration::from_secs(2),
        }
    }

    /// The agent's name: `--agent`, or `host:pid`.
    pub fn agent_name(&self) -> String {
        self.agent.clone().unwrap_or_else(|| format!("{}:{}", crate::process::host_name(), std::process::id()))
    }

    /// Whether the database is a PostgreSQL URL (where several agents may work at once).
    pub fn is_postgres(&self) -> bool {
        is_postgres(&self.db)
    }
}

fn is_postgres(db: &std::path::Path) -> bool {
    let text = db.to_string_lossy().to_ascii_lowercase();
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// The agent's heartbeat thread: its own connection, a heartbeat every third of the TTL, so
/// the agent and its claims stay live through long work (a goal slice, a big script). It
/// raises `lost` when another process took the agent's name over.
struct Heartbeat {
    stop: Arc<AtomicBool>,
    lost: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    fn start(location: &Location, agent: AgentHandle) -> anyhow::Result<Heartbeat> {
        let store = Store::open_location(location, &StoreOptions::default())?;
        let stop = Arc::new(AtomicBool::new(false));
        let lost = Arc::new(AtomicBool::new(false));
        let every = Duration::from_millis(u64::try_from(agent.ttl_ms / 3).unwrap_or(1000).max(20));
        let (stop_flag, lost_flag) = (stop.clone(), lost.clone());
        let thread = std::thread::Builder::new().name("gvpie-heartbeat".to_string()).spawn(move || {
            let mut last = Instant::now();
            while !stop_flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20).min(every));
                if last.elapsed() < every {
                    continue;
                }
                last = Instant::now();
                match store.agent_heartbeat(&agent) {
                    Ok(()) => {}
                    Err(StoreError::LeaseLost) => {
                        lost_flag.store(true, Ordering::Relaxed);
                        return;
                    }
                    // A passing failure (a restarting server): the next beat may work, the TTL gives slack.
                    Err(_) => {}
                }
            }
        })?;
        Ok(Heartbeat { stop, lost, thread: Some(thread) })
    }

    fn end(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a daemon run did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DaemonReport {
    /// Cycles committed.
    pub cycles: u64,
    /// Executions recorded.
    pub executions: u64,
    /// Failed executions among them.
    pub failures: u64,
    /// Why it stopped.
    pub reason: String,
}

/// The daemon: holds the lease on its database from [`Daemon::open`] until it is dropped.
pub struct Daemon {
    config: DaemonConfig,
    store: Store,
    engine: Engine,
    remote: Option<Remote>,
    generator: Box<dyn Generator>,
    reporter: Reporter,
    sink: Option<EventSink>,
    folder: Option<ScriptFolder>,
    cache: PrepareCache,
    known_images: HashSet<Hash>,
    /// The single-daemon lease: SQLite only (one writer). PostgreSQL agents have none.
    lease: Option<Lease>,
    took_over: Option<String>,
    last_renew: Instant,
    released: bool,
    location: Location,
    agent: AgentHandle,
    /// This agent's join, emitted when `run` starts.
    joined: Option<DaemonEvent>,
    heartbeat: Heartbeat,
    /// The other agents as last seen (state and starts), to report joins and leaves.
    peers: Option<HashMap<String, (AgentState, i64)>>,
    last_peer_scan: Option<Instant>,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon").field("db", &self.config.db).field("runtime", &self.config.runtime).finish()
    }
}

/// One script execution waiting for the cycle's commit, with what the console shows of it.
/// A script of the cycle, prepared and about to run.
struct StartedScript {
    script: Script,
    prepared: Prepared,
    config: gvpie_pxl::Config,
    execution: NewExecution,
}

/// The result of a run the executor panicked in.
fn panicked() -> Executed {
    Executed {
        result: ResultJson::failed(
            ErrorJson::new("internal", "the executor panicked (a gvpie bug); see stderr"),
            None,
            std::time::Duration::ZERO,
        ),
        canvas: None,
    }
}

struct Pending {
    script: Option<Script>,
    preview: (Vec<String>, usize),
    result: ResultJson,
    new_images: Vec<Hash>,
}

const MAX_CONSECUTIVE_STORE_ERRORS: u32 = 10;

impl Daemon {
    /// Opens the database and takes the daemon lease, or fails naming the holder
    /// ([`StoreError::LeaseHeld`] inside the error).
    pub fn open(config: DaemonConfig, engine: Engine) -> anyhow::Result<Daemon> {
        use anyhow::Context;
        let location = Location::parse(&config.db.to_string_lossy())?;
        let mut store = Store::open_location(&location, &StoreOptions::default())?;
        let pid = std::process::id();
        let host = crate::process::host_name();
        let process_start = crate::process::process_start(pid);
        // SQLite has one writer: one daemon per file, as before agents. PostgreSQL takes many.
        let (lease, took_over) = if matches!(location, Location::Sqlite(_)) {
            let claim = LeaseClaim {
                name: DAEMON_LEASE.to_string(),
                holder: format!("{pid}@{host}:{}:{}", process_start.as_deref().unwrap_or("?"), gvpie_store::now_ms()),
                pid,
                host: host.clone(),
                process_start,
                ttl: config.lease_ttl,
            };
            let acquired = store.acquire_lease(&claim, &crate::process::holder_is_gone)?;
            (Some(acquired.lease), acquired.took_over.map(|info| format!("pid {} on {}", info.pid, info.host)))
        } else {
            (None, None)
        };
        // Everything that can fail for a reason of its own comes before the agent is registered, so a daemon that
        // does not start leaves no agent behind.
        let remote = match &config.runtime {
            RuntimeSpec::InProcess => None,
            RuntimeSpec::Remote(url) => Some(Remote::new(url).context("cannot set up the HTTP client")?),
        };
        let file = match &config.log_file {
            Some(path) => Some(
                RotatingFile::open(path, config.log_max_bytes, config.log_keep)
                    .with_context(|| format!("cannot open the log file {}", path.display()))?,
            ),
            None => None,
        };
        let reporter = Reporter {
            format: config.log_format,
            console: config.console,
            file,
            file_failed: false,
            shown_programs: Default::default(),
        };
        let name = config.agent_name();
        let registered = store.register_agent(&AgentSpec {
            name: name.clone(),
            host: host.clone(),
            pid,
            roles: config.roles.clone(),
            ttl: config.lease_ttl,
        })?;
        let joined = DaemonEvent::AgentJoined {
            agent: name,
            host,
            pid,
            roles: config.roles.clone(),
            restarted: registered.restarted,
            replaced: registered.replaced_live.clone(),
            own: true,
        };
        if lease.is_some() {
            // The single-daemon lease is ours: whatever a crashed predecessor had claimed is free.
            store.clear_other_claims(&registered.agent)?;
        }
        let heartbeat = match Heartbeat::start(&location, registered.agent.clone()) {
            Ok(heartbeat) => heartbeat,
            Err(err) => {
                let _ = store.stop_agent(&registered.agent);
                return Err(err);
            }
        };
        let folder = config.scripts_dir.as_ref().map(ScriptFolder::new);
        Ok(Daemon {
            config,
            store,
            engine,
            remote,
            generator: Box::new(NoGenerator),
            reporter,
            sink: None,
            folder,
            cache: PrepareCache::default(),
            known_images: HashSet::new(),
            lease,
            took_over,
            last_renew: Instant::now(),
            released: false,
            location,
            agent: registered.agent,
            joined: Some(joined),
            heartbeat,
            peers: None,
            last_peer_scan: None,
        })
    }

    /// Uses `generator` for the "generate improvements" step.
    pub fn with_generator(mut self, generator: Box<dyn Generator>) -> Daemon {
        self.generator = generator;
        self
    }

    /// Sends every event to `sink` too.
    pub fn with_events(mut self, sink: EventSink) -> Daemon {
        self.sink = Some(sink);
        self
    }

    /// The daemon's store (for reading).
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn emit(&mut self, event: DaemonEvent) {
        self.reporter.emit(&event);
        if let Some(sink) = &self.sink {
            sink(&event);
        }
    }

    /// Runs cycles until `stop` is set (SIGINT/SIGTERM), `max_cycles` is reached, or the
    /// lease is lost. A cycle interrupted before its commit is rolled back as a whole.
    pub fn run(&mut self, stop: &AtomicBool) -> anyhow::Result<DaemonReport> {
        let executions_so_far = self.store.last_iteration()?.unwrap_or(0);
        let log_file = self.reporter.file.as_ref().map(|f| f.path().display().to_string());
        self.emit(DaemonEvent::Started {
            // The URL without its password.
            db: self.location.to_string(),
            pid: std::process::id(),
            host: crate::process::host_name(),
            runtime: match &self.config.runtime {
                RuntimeSpec::InProcess => format!("in-process ({})", self.engine.backends().join(", ")),
                RuntimeSpec::Remote(url) => url.clone(),
            },
            interval_s: self.config.interval.as_secs_f64(),
            per_cycle: self.config.per_cycle,
            executions_so_far,
            log_file,
            took_over: self.took_over.clone(),
            agent: self.agent.name.clone(),
            shared: self.lease.is_none(),
        });
        if let Some(joined) = self.joined.take() {
            self.emit(joined);
        }
        let mut report = DaemonReport { cycles: 0, executions: 0, failures: 0, reason: String::new() };
        let mut attempts: u64 = 0;
        let mut store_errors = 0u32;
        let mut last_scan: Option<Instant> = None;
        let mut last_metrics: Option<(Instant, u64)> = None;
        let result = loop {
            if stop.load(Ordering::Relaxed) {
                break Ok("stop requested".to_string());
            }
            if self.heartbeat.lost.load(Ordering::Relaxed) {
                break Err(anyhow::Error::new(StoreError::LeaseLost).context(format!(
                    "agent {} was started again elsewhere (the name's newest process works on)",
                    self.agent.name
                )));
            }
            if self.config.max_cycles.is_some_and(|max| attempts >= max) {
                break Ok(format!("{attempts} cycle(s) done as asked"));
            }
            self.watch_peers();
            attempts += 1;
            if last_scan.is_none_or(|t| t.elapsed() >= self.config.scan_interval) {
                self.scan_folder();
                last_scan = Some(Instant::now());
            }
            let outcome = self.cycle(stop);
            let mut idle = false;
            match outcome {
                Ok(CycleOutcome::Committed { executions, failures }) => {
                    store_errors = 0;
                    report.cycles += 1;
                    report.executions += executions as u64;
                    report.failures += failures as u64;
                    idle = executions == 0;
                }
                Ok(CycleOutcome::Skipped) => idle = true,
                Ok(CycleOutcome::Abandoned) => break Ok("stop requested".to_string()),
                Err(err) => {
                    if matches!(err.downcast_ref::<StoreError>(), Some(StoreError::LeaseLost)) {
                        if self.lease.is_none() {
                            break Err(err.context(format!(
                                "agent {} was started again elsewhere (the name's newest process works on)",
                                self.agent.name
                            )));
                        }
                        break Err(err);
                    }
                    store_errors += 1;
                    self.emit(DaemonEvent::Warning { message: format!("cycle failed and was rolled back: {err:#}") });
                    if store_errors >= MAX_CONSECUTIVE_STORE_ERRORS {
                        break Err(err.context(format!("{store_errors} cycles in a row failed")));
                    }
                }
            }
            if last_metrics.is_none_or(|(t, _)| t.elapsed() >= self.config.metrics_interval) {
                let previous = last_metrics.map(|(t, n)| (t.elapsed(), n));
                self.learn(report.executions, previous);
                last_metrics = Some((Instant::now(), report.executions));
            }
            if self.config.max_cycles.is_some_and(|max| attempts >= max) {
                continue;
            }
            let pause = if self.config.interval.is_zero() && idle {
                // Nothing to do: do not spin on an empty table.
                Duration::from_millis(200)
            } else {
                self.config.interval
            };
            if let Err(err) = self.sleep(pause, stop) {
                break Err(err);
            }
        };
        let reason = match &result {
            Ok(reason) => reason.clone(),
            Err(err) => format!("error: {err:#}"),
        };
        self.learn(report.executions, last_metrics.map(|(t, n)| (t.elapsed(), n)));
        self.release();
        self.emit(DaemonEvent::AgentLeft { agent: self.agent.name.clone(), state: "stopped".to_string(), own: true });
        report.reason = reason.clone();
        self.emit(DaemonEvent::Stopped { reason, cycles: report.cycles, executions: report.executions });
        result.map(|_| report)
    }

    fn release(&mut self) {
        if !self.released {
            self.released = true;
            self.heartbeat.end();
            // Marked stopped, its claims given back: other agents take its work at once.
            if let Err(err) = self.store.stop_agent(&self.agent) {
                eprintln!("gvpie daemon: could not mark agent {} stopped: {err}", self.agent.name);
            }
            if let Some(lease) = &self.lease
                && let Err(err) = self.store.release_lease(lease)
            {
                eprintln!("gvpie daemon: could not release the lease: {err}");
            }
        }
    }

    /// This agent's handle (its name, id and token).
    pub fn agent(&self) -> &AgentHandle {
        &self.agent
    }

    fn has_role(&self, role: &str) -> bool {
        self.config.roles.iter().any(|r| r == role)
    }

    /// Reports other agents joining (a new name, or a restart) and leaving (stopped, or gone
    /// stale), as seen in the `agents` table, at most every scan interval.
    fn watch_peers(&mut self) {
        if self.last_peer_scan.is_some_and(|t| t.elapsed() < self.config.scan_interval) {
            return;
        }
        self.last_peer_scan = Some(Instant::now());
        let Ok(agents) = self.store.agent_states() else { return };
        let first = self.peers.is_none();
        let mut seen = HashMap::new();
        let mut events = Vec::new();
        for agent in agents.into_iter().filter(|a| a.name != self.agent.name) {
            let before = self.peers.as_ref().and_then(|p| p.get(&agent.name)).copied();
            let joined = match before {
                None => !first && agent.state == AgentState::Alive,
                Some((_, starts)) => agent.starts > starts && agent.state == AgentState::Alive,
            };
            if joined {
                events.push(DaemonEvent::AgentJoined {
                    agent: agent.name.clone(),
                    host: agent.host.clone(),
                    pid: agent.pid,
                    roles: agent.roles.clone(),
                    restarted: agent.starts > 1,
                    replaced: None,
                    own: false,
                });
            } else if let Some((AgentState::Alive, _)) = before
                && agent.state != AgentState::Alive
            {
                events.push(DaemonEvent::AgentLeft {
                    agent: agent.name.clone(),
                    state: agent.state.as_str().to_string(),
                    own: false,
                });
            }
            seen.insert(agent.name, (agent.state, agent.starts));
        }
        self.peers = Some(seen);
        for event in events {
            self.emit(event);
        }
    }

    /// Gives claims back after a cycle that will not commit, so nobody waits for the TTL.
    fn give_back(&mut self, claims: &[Claim]) {
        if !claims.is_empty()
            && let Err(err) = self.store.release_claims(&self.agent, claims)
        {
            self.emit(DaemonEvent::Warning { message: format!("could not give claims back: {err}") });
        }
    }

    fn scan_folder(&mut self) {
        let Some(folder) = &mut self.folder else { return };
        let events = folder.scan(&mut self.store);
        for event in events {
            self.emit(event);
        }
    }

    fn renew_if_due(&mut self) -> anyhow::Result<()> {
        let ttl = self.config.lease_ttl;
        if self.last_renew.elapsed() >= ttl / 3 {
            if let Some(lease) = &self.lease {
                self.store.renew_lease(lease)?;
            }
            self.last_renew = Instant::now();
        }
        if self.heartbeat.lost.load(Ordering::Relaxed) {
            return Err(StoreError::LeaseLost.into());
        }
        Ok(())
    }

    fn sleep(&mut self, pause: Duration, stop: &AtomicBool) -> anyhow::Result<()> {
        let until = Instant::now() + pause;
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let now = Instant::now();
            if now >= until {
                return Ok(());
            }
            std::thread::sleep((until - now).min(Duration::from_millis(50)));
            self.renew_if_due()?;
        }
    }

    fn health(&self) -> Result<String, String> {
        match &self.remote {
            None => Ok(format!("in-process runtime healthy (backends: {})", self.engine.backends().join(", "))),
            Some(remote) => remote.health(),
        }
    }

    fn cycle(&mut self, stop: &AtomicBool) -> anyhow::Result<CycleOutcome> {
        let cycle_start = Instant::now();
        let cycle = self.store.counter("daemon_cycles")? + 1;
        self.emit(DaemonEvent::CycleStarted { cycle, at_ms: gvpie_store::now_ms() });
        match self.health() {
            Ok(message) => self.emit(DaemonEvent::Health { cycle, healthy: true, message }),
            Err(message) => {
                self.emit(DaemonEvent::Health { cycle, healthy: false, message });
                return Ok(CycleOutcome::Skipped);
            }
        }
        // Scripts are claimed, not just read: another agent on the same database runs others.
        let mut work = WorkCommit { agent: Some(self.agent.clone()), ..WorkCommit::default() };
        let scripts = if !self.has_role("scripts") {
            Vec::new()
        } else if self.lease.is_some() {
            // SQLite: the single-daemon lease already makes these scripts ours; a claim would only cost a commit.
            self.store.scripts_due(self.config.per_cycle, self.config.max_code_bytes)?
        } else {
            let claimed = self.store.claim_scripts(&self.agent, self.config.per_cycle, self.config.max_code_bytes)?;
            work.claims = claimed.claims;
            claimed.scripts
        };
        if !scripts.is_empty() {
            self.emit(DaemonEvent::Executing { cycle, scripts: scripts.iter().map(|s| s.name.clone()).collect() });
        }
        let mut batch = Vec::with_capacity(scripts.len());
        let mut pending = Vec::with_capacity(scripts.len());
        let mut started = Vec::with_capacity(scripts.len());
        for script in scripts {
            if stop.load(Ordering::Relaxed) {
                self.give_back(&work.claims);
                self.emit(DaemonEvent::CycleAbandoned { cycle, reason: "stop requested".to_string() });
                return Ok(CycleOutcome::Abandoned);
            }
            if let Err(err) = self.renew_if_due() {
                self.give_back(&work.claims);
                return Err(err);
            }
            started.push(self.start_script(script));
        }
        // The cycle's scripts run as one batch per canvas size (on the GPU when the backend
        // choice and the engine's `auto` rule pick it), each recorded with the backend that ran.
        let mut executed = self.execute_started(&started);
        for (start, done) in started.into_iter().zip(executed.drain(..)) {
            let (execution, shown) = self.finish_script(start, done);
            batch.push(execution);
            pending.push(shown);
        }

        let first_generated = batch.len();
        let mut extras = CycleExtras { work, ..CycleExtras::default() };
        let mut notes = Vec::new();
        if self.has_role("goals") {
            let deadline = cycle_start + self.config.interval.max(Duration::from_millis(500));
            let mut ctx = GenerateContext {
                store: &self.store,
                engine: &self.engine,
                cycle,
                deadline,
                batch: &mut batch,
                first_generated,
                stop,
                extras: &mut extras,
                notes: &mut notes,
                agent: Some(&self.agent),
            };
            let generated = self.generator.generate(&mut ctx);
            if let Err(err) = generated {
                let name = self.generator.name().to_string();
                self.emit(DaemonEvent::Warning { message: format!("generator {name} failed: {err:#}") });
            }
        }
        if self.has_role("evaluate") && !stop.load(Ordering::Relaxed) {
            self.evaluate(&mut extras, &mut notes);
        }
        if stop.load(Ordering::Relaxed) {
            self.give_back(&extras.work.claims);
            self.emit(DaemonEvent::CycleAbandoned { cycle, reason: "stop requested".to_string() });
            return Ok(CycleOutcome::Abandoned);
        }
        for claim in &extras.work.claims {
            if let Some(from) = &claim.took_over_from {
                self.emit(DaemonEvent::TookOver {
                    agent: self.agent.name.clone(),
                    from: from.clone(),
                    work: claim.work.clone(),
                    seq: claim.seq,
                });
            }
        }

        // Every record names the agent that made it.
        for execution in &mut batch {
            execution.agent_id = Some(self.agent.id);
        }
        // One transaction: the executions, the extras, and the release of every claim (refused,
        // and all of it rolled back, when a claim is no longer ours).
        let record = match self.store.record_cycle_with(&batch, self.lease.as_ref(), &extras) {
            Ok(record) => record,
            Err(err) => {
                self.give_back(&extras.work.claims);
                return Err(err.into());
            }
        };
        self.last_renew = Instant::now();
        for shown in &pending {
            for hash in &shown.new_images {
                if self.known_images.len() >= 10_000 {
                    self.known_images.clear();
                }
                self.known_images.insert(*hash);
            }
        }
        let mut failures = 0;
        for (index, (execution, iteration)) in batch.iter().zip(&record.iterations).enumerate() {
            failures += usize::from(!execution.success);
            let event = match pending.get(index) {
                Some(shown) => recorded_event(cycle, *iteration, execution, shown),
                None => generated_event(cycle, *iteration, execution),
            };
            self.emit(event);
        }
        if !notes.is_empty() {
            self.emit(DaemonEvent::Generated {
                cycle: record.cycle,
                generator: self.generator.name().to_string(),
                notes,
            });
        }
        let sleep_s = self.config.interval.as_secs_f64();
        self.emit(DaemonEvent::CycleFinished {
            cycle: record.cycle,
            executions: batch.len(),
            failures,
            duration_ms: cycle_start.elapsed().as_secs_f64() * 1000.0,
            sleep_s,
        });
        Ok(CycleOutcome::Committed { executions: batch.len(), failures })
    }

    /// Role `evaluate`: claims a block of recorded executions not checked yet (the newest
    /// first), re-runs each from its record ([`crate::replay`]) and commits the verdicts with
    /// the cycle.
    fn evaluate(&mut self, extras: &mut CycleExtras, notes: &mut Vec<String>) {
        // SQLite: the lease makes this daemon the only one, so the block needs no claim (and no commit of its own).
        let claimed = if self.lease.is_some() {
            self.store.unverified_block().map(|iterations| {
                (!iterations.is_empty()).then(|| gvpie_store::VerifyClaim {
                    claim: Claim { work: "verify".to_string(), seq: 0, took_over_from: None },
                    iterations,
                })
            })
        } else {
            self.store.claim_verification(&self.agent)
        };
        let claim = match claimed {
            Ok(Some(claim)) => claim,
            Ok(None) => return,
            Err(err) => {
                self.emit(DaemonEvent::Warning { message: format!("evaluate: cannot claim executions: {err}") });
                return;
            }
        };
        let (mut same, mut different, mut not_replayable) = (0, 0, 0);
        for iteration in &claim.iterations {
            let verification = match crate::replay(&self.store, &self.engine, *iteration, None) {
                Ok(report) if report.same => {
                    same += 1;
                    Verification { iteration: *iteration, outcome: "same".to_string(), detail: None }
                }
                Ok(report) => {
                    different += 1;
                    Verification {
                        iteration: *iteration,
                        outcome: "different".to_string(),
                        detail: Some(report.differences.join("; ")),
                    }
                }
                Err(err) => {
                    not_replayable += 1;
                    Verification {
                        iteration: *iteration,
                        outcome: "not_replayable".to_string(),
                        detail: Some(format!("{err:#}")),
                    }
                }
            };
            extras.work.verifications.push(verification);
        }
        notes.push(format!(
            "evaluate: {} executions re-run: {same} same, {different} different, {not_replayable} not replayable",
            claim.iterations.len()
        ));
        if self.lease.is_none() {
            extras.work.claims.push(claim.claim);
        }
    }

    /// A script's record before its run, and the program and canvas it runs with.
    fn start_script(&mut self, script: Script) -> StartedScript {
        let started_ms = gvpie_store::now_ms();
        let prepared = self.cache.prepare(&self.store, &script, self.config.max_code_bytes);
        let mut config = gvpie_pxl::Config {
            width: self.config.width,
            height: self.config.height,
            budget: self.config.budget,
            max_frames: 0,
        };
        // A script that declares its canvas size (`SIZE`) runs at that size; the daemon's is the default.
        if let Prepared::Ready(program) = &prepared {
            config = config.sized_for(&program.texture, None);
        }
        let task = TextRef::new(format!("{}: {}", script.name, script.purpose.as_deref().unwrap_or("N/A")));
        let execution = NewExecution {
            started_ms,
            script_id: Some(script.id),
            script_name: Some(script.name.clone()),
            task: Some(task),
            config: Some(RunConfig { width: config.width, height: config.height, budget: config.budget }),
            ..NewExecution::default()
        };
        StartedScript { script, prepared, config, execution }
    }

    /// Runs the ready scripts: in this process, one engine batch per canvas size and budget
    /// (the engine's `auto` rule, or the backend asked for, decides CPU or GPU); with a remote
    /// runtime, one request each. `None` for a script that failed to prepare.
    fn execute_started(&self, started: &[StartedScript]) -> Vec<Option<Executed>> {
        let mut done: Vec<Option<Executed>> = started.iter().map(|_| None).collect();
        if self.remote.is_some() {
            for (slot, start) in done.iter_mut().zip(started) {
                if let Prepared::Ready(program) = &start.prepared {
                    *slot = Some(self.execute(program, &start.config));
                }
            }
            return done;
        }
        let mut groups: Vec<(gvpie_pxl::Config, Vec<usize>)> = Vec::new();
        for (index, start) in started.iter().enumerate() {
            if matches!(start.prepared, Prepared::Ready(_)) {
                match groups.iter_mut().find(|(config, _)| *config == start.config) {
                    Some((_, members)) => members.push(index),
                    None => groups.push((start.config, vec![index])),
                }
            }
        }
        for (config, members) in groups {
            let textures: Vec<gvpie_pxl::Texture> = members
                .iter()
                .filter_map(|&i| match &started[i].prepared {
                    Prepared::Ready(program) => Some(program.texture.clone()),
                    Prepared::Failed { .. } => None,
                })
                .collect();
            let run = || execute_batch_local(&self.engine, &textures, &config, self.config.backend);
            // The VM never panics by design; if a bug makes it, the runs fail and the daemon goes on.
            let results = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
                .unwrap_or_else(|_| textures.iter().map(|_| panicked()).collect());
            for (&i, executed) in members.iter().zip(results) {
                done[i] = Some(executed);
            }
        }
        done
    }

    /// A script's record after its run (`executed`, `None` when it failed to prepare).
    fn finish_script(&mut self, start: StartedScript, executed: Option<Executed>) -> (NewExecution, Pending) {
        let StartedScript { script, prepared, mut execution, .. } = start;
        let mut new_images = Vec::new();
        let (result, shown_code) = match prepared {
            Prepared::Failed { error, code } => {
                execution.code = code.clone();
                let result = ResultJson::failed(error, None, std::time::Duration::ZERO);
                (result, code.map(|c| c.text))
            }
            Prepared::Ready(program) => {
                execution.program = Some(program.program.clone());
                execution.code = Some(program.code.clone());
                execution.cartridge_id = program.cartridge_id;
                let executed = executed.unwrap_or_else(panicked);
                if let Some(canvas) = &executed.canvas {
                    let hash = gvpie_store::image_hash(canvas.width(), canvas.height(), &canvas.to_rgba8());
                    let known = self.known_images.contains(&hash) || self.store.has_image_png(&hash).unwrap_or(false);
                    let png = if known {
                        None
                    } else {
                        new_images.push(hash);
                        Some(gvpie_cart::encode_png(canvas, 1))
                    };
                    execution.image = Some(NewImage { hash, width: canvas.width(), height: canvas.height(), png });
                }
                (executed.result, Some(program.code.text.clone()))
            }
        };
        execution.success = result.success;
        execution.cycles = result.cycles;
        execution.duration_us = (result.duration_ms * 1000.0).round() as i64;
        execution.backend = Some(BackendUsed::from_name(&result.backend));
        execution.error = result.error.as_ref().and_then(|e| serde_json::to_string(e).ok()).map(TextRef::new);
        let preview = shown_code.as_deref().map(preview).unwrap_or_default();
        (execution, Pending { script: Some(script), preview, result, new_images })
    }

    fn execute(&self, program: &crate::prepare::PreparedProgram, config: &gvpie_pxl::Config) -> Executed {
        let run = || match &self.remote {
            None => execute_local(&self.engine, &program.texture, config, self.config.backend),
            Some(remote) => {
                let code = match &program.remote {
                    RemoteInput::Source => RemoteCode::Source(&program.code.text),
                    RemoteInput::Cartridge(png) => RemoteCode::Cartridge(png),
                };
                remote.execute(code, config, self.config.backend)
            }
        };
        // The VM never panics by design; if a bug makes it, the run fails and the daemon goes on.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|_| panicked())
    }

    /// The learn step's sampling: totals and rates into the seed's `system_metrics`.
    fn learn(&mut self, executions: u64, previous: Option<(Duration, u64)>) {
        let summary = match self.store.summary() {
            Ok(summary) => summary,
            Err(err) => {
                self.emit(DaemonEvent::Warning { message: format!("cannot read the summary: {err}") });
                return;
            }
        };
        let rate = previous
            .filter(|(elapsed, _)| !elapsed.is_zero())
            .map(|(elapsed, before)| executions.saturating_sub(before) as f64 / elapsed.as_secs_f64());
        let success_rate =
            if summary.executions > 0 { summary.successes as f64 / summary.executions as f64 } else { 0.0 };
        let mut metrics = vec![
            ("cycle_count", summary.daemon_cycles as f64, None),
            ("executions_total", summary.executions as f64, None),
            ("success_rate", success_rate, None),
            ("programs", summary.programs as f64, None),
            ("images", summary.images as f64, None),
            ("db_bytes", summary.db_bytes as f64, None),
            ("rss_bytes", crate::process::rss_bytes() as f64, Some("daemon")),
        ];
        if let Some(rate) = rate {
            metrics.push(("executions_per_second", rate, Some("daemon")));
        }
        if let Err(err) = self.store.record_metrics(&metrics) {
            self.emit(DaemonEvent::Warning { message: format!("cannot record metrics: {err}") });
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.release();
    }
}

enum CycleOutcome {
    Committed { executions: usize, failures: usize },
    Skipped,
    Abandoned,
}

fn recorded_event(cycle: i64, iteration: i64, execution: &NewExecution, shown: &Pending) -> DaemonEvent {
    DaemonEvent::ExecutionRecorded {
        cycle,
        iteration,
        script: shown.script.as_ref().map(|s| s.name.clone()),
        lang: shown.script.as_ref().map(|s| s.lang.clone()),
        purpose: shown.script.as_ref().and_then(|s| s.purpose.clone()),
        program_preview: shown.preview.0.clone(),
        program_more_lines: shown.preview.1,
        success: shown.result.success,
        cycles: shown.result.cycles,
        backend: shown.result.backend.clone(),
        duration_ms: shown.result.duration_ms,
        error: shown.result.error.clone(),
        image_hash: execution.image.as_ref().map(|i| i.hash.to_hex()),
        program_hash: execution.program.as_ref().map(|p| p.hash.to_hex()),
        generator: None,
    }
}

fn generated_event(cycle: i64, iteration: i64, execution: &NewExecution) -> DaemonEvent {
    let (program_preview, program_more_lines) = execution.code.as_ref().map(|c| preview(&c.text)).unwrap_or_default();
    DaemonEvent::ExecutionRecorded {
        cycle,
        iteration,
        script: None,
        lang: Some("pixel".to_string()),
        purpose: execution.task.as_ref().map(|t| t.text.to_string()),
        program_preview,
        program_more_lines,
        success: execution.success,
        cycles: execution.cycles,
        backend: execution.backend.unwrap_or(BackendUsed::None).as_str().to_string(),
        duration_ms: execution.duration_us as f64 / 1000.0,
        error: execution.error.as_ref().and_then(|e| serde_json::from_str(&e.text).ok()),
        image_hash: execution.image.as_ref().map(|i| i.hash.to_hex()),
        program_hash: execution.program.as_ref().map(|p| p.hash.to_hex()),
        generator: execution.generator.as_ref().map(|g| g.text.to_string()),
    }
}

/// Adds the seed's two example scripts (`hello_gpu`, `test_rect`) when the database has no
/// scripts at all. Returns how many were added.
pub fn seed_examples(store: &Store) -> anyhow::Result<usize> {
    if !store.list_scripts()?.is_empty() {
        return Ok(0);
    }
    let examples = [
        ("hello_gpu", "Test GPU pipeline with simple text rendering", "TXT 10 10 HELLO GPU\nHALT"),
        ("test_rect", "Test rectangle rendering", "RECT 10 10 50 30\nHALT"),
    ];
    for (name, purpose, code) in examples {
        store.create_script(&gvpie_store::NewScript {
            name: name.to_string(),
            lang: "pixel".to_string(),
            purpose: Some(purpose.to_string()),
            code: code.to_string(),
            enabled: true,
            parent_script_id: None,
        })?;
    }
    Ok(examples.len())
}

/// Sets `stop` on SIGINT and SIGTERM; a second SIGINT or SIGTERM ends the process at once
/// (exit status 130). The cycle in progress then rolls back as a whole: SQLite never
/// commits half a transaction.
pub fn stop_on_signals() -> std::io::Result<std::sync::Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, stop.clone())?;
        signal_hook::flag::register(signal, stop.clone())?;
    }
    Ok(stop)
}
