//! `gvpie daemon`, `gvpie replay` and `gvpie scripts`: the autonomous loop and the commands
//! around its database (crates `gvpie-daemon` and `gvpie-store`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use gvpie_daemon::{Daemon, DaemonConfig, LogFormat, RuntimeSpec};
use gvpie_exec::BackendChoice;
use gvpie_store::{Location, NewScript, Store, StoreError};

use crate::UsageError;

/// Exit status when another daemon holds the database.
pub const EXIT_HELD: u8 = 2;

/// Arguments of `gvpie daemon` (also used by `gvpie up`).
#[derive(Args, Debug, Clone)]
pub struct DaemonArgs {
    /// The database: a SQLite file (created if missing; one daemon at a time), or a PostgreSQL URL
    /// postgres://USER@HOST:PORT/DATABASE (created and migrated if missing), which several agents share.
    #[arg(long, value_name = "PATH|URL", default_value = gvpie_store::DEFAULT_DB_PATH)]
    pub db: PathBuf,
    /// This agent's name (default host:pid). An agent started again under its name is the same agent: it takes
    /// the name over at once (the older process stops) and its executions count across restarts.
    #[arg(long, value_name = "NAME")]
    pub agent: Option<String>,
    /// What this agent works on, a comma list of: scripts (runs the improvement scripts), goals (works on goal
    /// slices), evaluate (re-runs recorded executions to check they reproduce).
    #[arg(long, value_name = "LIST", value_parser = parse_roles, default_value = "scripts,goals,evaluate")]
    pub roles: Roles,
    /// The GPU this agent runs on: an index of `gvpie gpu info` or a part of one adapter's name (sets
    /// GVPIE_ADAPTER). One agent per GPU: `--agent gpu0 --adapter 0`, `--agent gpu1 --adapter 1`, ...
    #[arg(long, value_name = "NAME|INDEX")]
    pub adapter: Option<String>,
    /// Seconds between cycles; 0 runs continuously.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub interval: f64,
    /// Run programs on a remote `gvpie serve` (e.g. http://127.0.0.1:8081) instead of in this process.
    #[arg(long, value_name = "URL")]
    pub runtime: Option<String>,
    /// Import scripts (.sql in the seed's style, .pxl, cartridge .png) from this folder, and again when files change.
    #[arg(long, value_name = "DIR")]
    pub scripts_dir: Option<PathBuf>,
    /// Scripts run per cycle (never-run first, then least recently run).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub per_cycle: usize,
    /// Console and log file format.
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = parse_log_format)]
    pub log_format: LogFormat,
    /// Stop after N cycles.
    #[arg(long, value_name = "N")]
    pub cycles: Option<u64>,
    /// Backend: cpu, gpu or auto.
    #[arg(long, value_parser = crate::evolve_cmd::named::<BackendChoice>(BackendChoice::NAMES), ignore_case = true,
          default_value = "auto")]
    pub backend: BackendChoice,
    /// The log file (default: logs/daemon.log beside the database).
    #[arg(long, value_name = "PATH", conflicts_with = "no_log_file")]
    pub log_file: Option<PathBuf>,
    /// Write no log file.
    #[arg(long)]
    pub no_log_file: bool,
    /// Print nothing on the console (the log file still gets everything).
    #[arg(long)]
    pub quiet: bool,
    /// Canvas size for script runs, WxH.
    #[arg(long, value_parser = crate::run::parse_size, default_value = "128x64")]
    pub size: (u32, u32),
    /// Cycle budget for each script run.
    #[arg(long, default_value_t = gvpie_pxl::DEFAULT_BUDGET)]
    pub budget: u64,
    /// Scripts with longer code fail with code_too_large instead of running.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_code_bytes: i64,
    /// Seconds without a heartbeat after which another daemon may take the database over.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub lease_ttl: f64,
    /// Seconds between system_metrics samples.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub metrics_interval: f64,
    /// The local-LLM generator for optimize goals.
    #[command(flatten)]
    pub llm: crate::llm_args::LlmArgs,
    /// Work only on the goals people add (`gvpie goals add`). By default the daemon also sets its own: an
    /// optimize goal for every script that has run (a faster program with identical pixels is adopted in its
    /// place, the original kept for replay) and a stream of new kinds of pictures (an explore goal).
    #[arg(long)]
    pub no_self_goals: bool,
}

fn parse_log_format(text: &str) -> Result<LogFormat, String> {
    text.parse()
}

/// An agent's roles, as `--roles` gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles(pub Vec<String>);

/// `--roles`: a comma list of known roles (clap reports an unknown one with the accepted ones, exit 2).
pub fn parse_roles(text: &str) -> Result<Roles, String> {
    gvpie_store::parse_roles(text).map(Roles)
}

/// Opens (creating and migrating when missing) the SQLite file or PostgreSQL database a `--db` names.
pub fn open_or_create(db: &std::path::Path) -> anyhow::Result<Store> {
    let location = Location::parse(&db.to_string_lossy()).map_err(|e| UsageError::new(format!("--db: {e}")))?;
    Ok(Store::open_location(&location, &gvpie_store::StoreOptions::default())?)
}

/// Opens the database a `--db` names: a SQLite file that must exist already, or a PostgreSQL URL
/// (the database is created and migrated when missing).
pub fn open_existing(db: &std::path::Path) -> anyhow::Result<Store> {
    let location = Location::parse(&db.to_string_lossy()).map_err(|e| UsageError::new(format!("--db: {e}")))?;
    if let Location::Sqlite(path) = &location
        && !path.exists()
    {
        return Err(UsageError::new(format!("no database at {} (give --db PATH)", db.display())).into());
    }
    match Store::open_location(&location, &gvpie_store::StoreOptions::default()) {
        Ok(store) => Ok(store),
        // Already names the database and says why.
        Err(err @ gvpie_store::StoreError::Open { .. }) => Err(err.into()),
        Err(err) => Err(anyhow::Error::new(err).context(format!("cannot open {location}"))),
    }
}

fn seconds(value: f64, flag: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| UsageError::new(format!("{flag} must be a number of seconds, 0 or more")).into())
}

impl DaemonArgs {
    /// The daemon's configuration.
    pub fn config(&self) -> anyhow::Result<DaemonConfig> {
        let mut config = DaemonConfig::new(&self.db);
        if let Some(name) = &self.agent
            && (name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control))
        {
            return Err(UsageError::new("--agent must be 1 to 200 characters without control characters").into());
        }
        config.agent = self.agent.clone();
        config.roles = self.roles.0.clone();
        config.interval = seconds(self.interval, "--interval")?;
        config.runtime = match &self.runtime {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => RuntimeSpec::Remote(url.clone()),
            Some(url) => return Err(UsageError::new(format!("--runtime '{url}' is not an http:// URL")).into()),
            None => RuntimeSpec::InProcess,
        };
        config.backend = self.backend;
        config.scripts_dir = self.scripts_dir.clone();
        if self.per_cycle == 0 {
            return Err(UsageError::new("--per-cycle must be at least 1").into());
        }
        config.per_cycle = self.per_cycle;
        config.max_cycles = self.cycles;
        config.log_format = self.log_format;
        config.console = !self.quiet;
        if self.no_log_file {
            config.log_file = None;
        } else if let Some(path) = &self.log_file {
            config.log_file = Some(path.clone());
        } else if config.is_postgres() {
            // Several agents may run from one folder: one log each.
            let name: String = config
                .agent_name()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
                .collect();
            config.log_file = Some(PathBuf::from("logs").join(format!("agent-{name}.log")));
        }
        (config.width, config.height) = self.size;
        config.budget = self.budget;
        config.max_code_bytes = self.max_code_bytes;
        config.lease_ttl = seconds(self.lease_ttl, "--lease-ttl")?.max(Duration::from_millis(100));
        config.metrics_interval = seconds(self.metrics_interval, "--metrics-interval")?;
        Ok(config)
    }
}

/// Opens the daemon, mapping a held lease to its message and [`EXIT_HELD`]; `llm` adds the local-LLM generator to
/// the goal engine.
/// `command` (`gvpie daemon`, `gvpie up`) prefixes the messages.
pub fn open_daemon(
    command: &str,
    config: DaemonConfig,
    llm: Option<gvpie_llm::Proposer>,
    self_set_goals: bool,
) -> anyhow::Result<Result<Daemon, ExitCode>> {
    let mut goals = gvpie_daemon::GoalGenerator::new();
    if self_set_goals {
        goals = goals.with_self_set_goals();
    }
    if let Some(proposer) = llm {
        if config.console {
            let c = proposer.client().config();
            println!("🤖 LLM generator {} at {} ({})", proposer.generator_name(), c.base_url, c.api);
        }
        goals = goals.with_llm(proposer);
    }
    match Daemon::open(config, gvpie_exec::Engine::detect()) {
        // The goal engine works on the active goals (`gvpie goals`) in every cycle.
        Ok(daemon) => Ok(Ok(daemon.with_generator(Box::new(goals)))),
        Err(err) => match err.downcast_ref::<StoreError>() {
            Some(StoreError::LeaseHeld(_)) => {
                eprintln!("{command}: {err}");
                Ok(Err(ExitCode::from(EXIT_HELD)))
            }
            _ => Err(err),
        },
    }
}

/// Runs an opened daemon until a signal, `--cycles` or a lost lease; `command` prefixes the messages.
pub fn run_daemon(command: &str, mut daemon: Daemon) -> anyhow::Result<ExitCode> {
    let stop = gvpie_daemon::stop_on_signals().context("cannot install the signal handlers")?;
    match daemon.run(&stop) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(err) if matches!(err.downcast_ref::<StoreError>(), Some(StoreError::LeaseLost)) => {
            eprintln!("{command}: {err:#}");
            Ok(ExitCode::from(EXIT_HELD))
        }
        Err(err) => Err(err),
    }
}

/// `gvpie daemon`.
pub fn daemon(args: DaemonArgs) -> anyhow::Result<ExitCode> {
    // First: it sets GVPIE_ADAPTER, before any thread starts.
    crate::gpu::select_adapter(args.adapter.as_deref())?;
    let config = args.config()?;
    match open_daemon("gvpie daemon", config, args.llm.proposer()?, !args.no_self_goals)? {
        Ok(daemon) => run_daemon("gvpie daemon", daemon),
        Err(code) => Ok(code),
    }
}

/// Arguments of `gvpie replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The iteration (run id) to re-run.
    pub iteration: i64,
    /// The database.
    #[arg(long, value_name = "PATH", default_value = gvpie_store::DEFAULT_DB_PATH)]
    pub db: PathBuf,
    /// Run on this backend instead of the recorded one (cpu, gpu, auto).
    #[arg(long, value_parser = crate::evolve_cmd::named::<BackendChoice>(BackendChoice::NAMES), ignore_case = true)]
    pub backend: Option<BackendChoice>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `gvpie replay`: exit 0 when the re-run matches the record, 1 when it differs.
pub fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let store = open_existing(&args.db)?;
    let backend = args.backend;
    let report = gvpie_daemon::replay(&store, &gvpie_exec::Engine::detect(), args.iteration, backend)
        .map_err(|e| UsageError::new(format!("{e:#}")))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("iteration {}: {}", report.iteration, if report.same { "same" } else { "DIFFERENT" });
        for check in &report.checks {
            println!("  ok    {check}");
        }
        for difference in &report.differences {
            println!("  DIFF  {difference}");
        }
    }
    Ok(if report.same { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `gvpie scripts ...`.
#[derive(Subcommand, Debug)]
pub enum ScriptsCommand {
    /// List the improvement scripts with their counters.
    List {
        /// The database.
        #[arg(long, value_name = "PATH", default_value = gvpie_store::DEFAULT_DB_PATH)]
        db: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Show archived scripts too.
        #[arg(long)]
        all: bool,
    },
    /// Add a script from a file (PXL source, or a cartridge PNG with --lang cartridge).
    Add {
        /// Its unique name.
        name: String,
        /// The file holding its code.
        file: PathBuf,
        /// pixel or cartridge.
        #[arg(long, default_value = "pixel")]
        lang: String,
        /// What it is for.
        #[arg(long)]
        purpose: Option<String>,
        /// Add it disabled.
        #[arg(long)]
        disabled: bool,
        /// The database.
        #[arg(long, value_name = "PATH", default_value = gvpie_store::DEFAULT_DB_PATH)]
        db: PathBuf,
    },
    /// Let the daemon run a script.
    Enable {
        /// The script's name.
        name: String,
        /// The database.
        #[arg(long, value_name = "PATH", default_value = gvpie_store::DEFAULT_DB_PATH)]
        db: PathBuf,
    },
    /// Stop the daemon running a script (its history stays).
    Disable {
        /// The script's name.
        name: String,
        /// The database.
        #[arg(long, value_name = "PATH", default_value = gvpie_store::DEFAULT_DB_PATH)]
        db: PathBuf,
    },
    /// Archive a script: a soft delete. Disabled for good and hidden from `scripts list`; its
    /// executions stay in the infinite map, replayable.
    Archive {
        /// The script's name.
        name: String,
        /// The database.
        #[arg(long, value_name = "PATH", default_value = gvpie_store::DEFAULT_DB_PATH)]
        db: PathBuf,
    },
}

/// `gvpie scripts`.
pub fn scripts(command: ScriptsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ScriptsCommand::List { db, json, all } => {
            let store = open_existing(&db)?;
            let scripts: Vec<_> =
                store.list_scripts()?.into_iter().filter(|s| all || s.archived_at.is_none()).collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&scripts)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{:>4}  {:<24} {:<9} {:<3} {:>8} {:>8}  {:<23}  purpose",
                "id", "name", "lang", "on", "runs", "ok", "last run"
            );
            // Names and purposes come from anyone who could add a script: no escape sequences reach the terminal.
            let clean = gvpie_daemon::sanitize_for_terminal;
            for s in scripts {
                println!(
                    "{:>4}  {:<24} {:<9} {:<3} {:>8} {:>8}  {:<23}  {}",
                    s.id,
                    clean(&s.name),
                    clean(&s.lang),
                    if s.enabled { "yes" } else { "no" },
                    s.run_count,
                    s.success_count,
                    clean(s.last_run_at.as_deref().unwrap_or("never")),
                    clean(s.purpose.as_deref().unwrap_or(""))
                );
            }
        }
        ScriptsCommand::Add { name, file, lang, purpose, disabled, db } => {
            let bytes = crate::input::read_limited(&file)?;
            let code = match lang.as_str() {
                "pixel" => crate::input::source_text(&file, bytes)?,
                "cartridge" => {
                    let mut store = open_or_create(&db)?;
                    let entry = store
                        .put_cartridge(&gvpie_store::NewCartridge { png: &bytes, ..Default::default() })
                        .map_err(|e| UsageError::new(e.to_string()))?;
                    format!("sha256:{}", entry.checksum.unwrap_or_default())
                }
                other => {
                    return Err(
                        UsageError::new(format!("unknown language '{other}' (expected pixel or cartridge)")).into()
                    );
                }
            };
            let store = open_or_create(&db)?;
            let script = store
                .create_script(&NewScript { name, lang, purpose, code, enabled: !disabled, parent_script_id: None })
                .map_err(|e| UsageError::new(e.to_string()))?;
            println!("added script {} '{}'", script.id, gvpie_daemon::sanitize_for_terminal(&script.name));
        }
        ScriptsCommand::Enable { name, db } => set_enabled(&db, &name, true)?,
        ScriptsCommand::Disable { name, db } => set_enabled(&db, &name, false)?,
        ScriptsCommand::Archive { name, db } => {
            let store = open_existing(&db)?;
            let script =
                store.script_by_name(&name)?.ok_or_else(|| UsageError::new(format!("no script named '{name}'")))?;
            store.archive_script(script.id)?;
            println!("archived '{name}' (its executions stay in the infinite map)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn set_enabled(db: &std::path::Path, name: &str, enabled: bool) -> anyhow::Result<()> {
    let store = open_existing(db)?;
    let script = store.script_by_name(name)?.ok_or_else(|| UsageError::new(format!("no script named '{name}'")))?;
    store.set_script_enabled(script.id, enabled)?;
    println!("{} '{}'", if enabled { "enabled" } else { "disabled" }, gvpie_daemon::sanitize_for_terminal(name));
    Ok(())
}
