//! `gvpie up`: everything in one process on the embedded defaults: the daemon on
//! `gvpie-data/gvpie.db`, seeded with the seed's example scripts when the database has none,
//! and the runtime API server on `--bind` (whose event stream carries the daemon's events).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use gvpie_daemon::LogFormat;

use crate::daemon_cmd::{DaemonArgs, open_daemon, run_daemon};

/// Arguments of `gvpie up`.
#[derive(Args, Debug)]
pub struct UpArgs {
    /// The database: a SQLite file (created if missing), or a PostgreSQL URL postgres://USER@HOST:PORT/DATABASE
    /// that several agents share (see `gvpie daemon --help`).
    #[arg(long, value_name = "PATH|URL", default_value = gvpie_store::DEFAULT_DB_PATH)]
    pub db: PathBuf,
    /// This agent's name (default host:pid); see `gvpie daemon --help`.
    #[arg(long, value_name = "NAME")]
    pub agent: Option<String>,
    /// What this agent works on: a comma list of scripts, goals, evaluate.
    #[arg(long, value_name = "LIST", value_parser = crate::daemon_cmd::parse_roles,
          default_value = "scripts,goals,evaluate")]
    pub roles: crate::daemon_cmd::Roles,
    /// The GPU this agent (and the API's executions) run on: an index of `gvpie gpu info` or a part of one
    /// adapter's name (sets GVPIE_ADAPTER); see `gvpie daemon --help`.
    #[arg(long, value_name = "NAME|INDEX")]
    pub adapter: Option<String>,
    /// Where the daemon's scripts run: cpu, gpu or auto (the engine's rule: the GPU for a
    /// cycle's batch of at least 64 scripts). Each cycle's scripts run as one batch; every
    /// execution records the backend that really ran it.
    #[arg(long, value_parser = crate::evolve_cmd::named::<gvpie_exec::BackendChoice>(gvpie_exec::BackendChoice::NAMES),
          ignore_case = true, default_value = "auto")]
    pub backend: gvpie_exec::BackendChoice,
    /// Where the runtime API listens.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8081")]
    pub bind: String,
    /// Seconds between daemon cycles; 0 runs continuously.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub interval: f64,
    /// Import scripts from this folder too.
    #[arg(long, value_name = "DIR")]
    pub scripts_dir: Option<PathBuf>,
    /// Stop after N daemon cycles.
    #[arg(long, value_name = "N")]
    pub cycles: Option<u64>,
    /// Console and log file format (text or json).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = |t: &str| t.parse::<LogFormat>())]
    pub log_format: LogFormat,
    /// The local-LLM generator for optimize goals.
    #[command(flatten)]
    pub llm: crate::llm_args::LlmArgs,
    /// Work only on the goals people add; see `gvpie daemon --help`.
    #[arg(long)]
    pub no_self_goals: bool,
}

/// `gvpie up`.
pub fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    // First: it sets GVPIE_ADAPTER, before any thread starts (the daemon's and the server's engines read it).
    crate::gpu::select_adapter(args.adapter.as_deref())?;
    {
        let store = crate::daemon_cmd::open_or_create(&args.db)?;
        let added = gvpie_daemon::seed_examples(&store)?;
        if added > 0 {
            println!("🌱 Seeded {added} example scripts (hello_gpu, test_rect) into {}", args.db.display());
        }
    }
    let daemon_args = DaemonArgs {
        db: args.db.clone(),
        agent: args.agent.clone(),
        roles: args.roles.clone(),
        adapter: args.adapter.clone(),
        interval: args.interval,
        runtime: None,
        scripts_dir: args.scripts_dir.clone(),
        per_cycle: 3,
        log_format: args.log_format,
        cycles: args.cycles,
        backend: args.backend,
        log_file: None,
        no_log_file: false,
        quiet: false,
        size: (128, 64),
        budget: gvpie_pxl::DEFAULT_BUDGET,
        max_code_bytes: 1 << 20,
        lease_ttl: 30.0,
        metrics_interval: 60.0,
        llm: args.llm.clone(),
        no_self_goals: args.no_self_goals,
    };
    let llm = daemon_args.llm.proposer()?;
    let daemon = match open_daemon("gvpie up", daemon_args.config()?, llm, !args.no_self_goals)? {
        Ok(daemon) => daemon,
        Err(code) => return Ok(code),
    };

    // ==== HTTP SERVER (gvpie-server) ===============================================
    // The runtime API on `args.bind`, in this process on a thread with its own tokio runtime,
    // sharing the database; the daemon's events go to its event stream. It stops when the
    // daemon does.
    let server = crate::serve_cmd::start_in_background(&args.bind, &args.db)?;
    // The address first, before the daemon's banner and cycles scroll by.
    println!("🌐 Web UI: http://{}/ (the HTTP API is under /api; docs/api.md)", server.addr);
    let events = server.events.clone();
    let daemon = daemon.with_events(std::sync::Arc::new(move |event: &gvpie_daemon::DaemonEvent| {
        // Serialize only when someone listens: the daemon's loop must stay fast.
        if events.n_subscribers() > 0
            && let Ok(value) = serde_json::to_value(event)
        {
            events.publish(gvpie_server::Event::from_daemon_json(value));
        }
    }));
    // ===============================================================================

    let code = run_daemon("gvpie up", daemon);
    server.stop();
    code
}
