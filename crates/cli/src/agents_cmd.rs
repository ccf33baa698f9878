//! `gvpie agents`: the agents working on a database, with their state and what they committed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Arguments of `gvpie agents`.
#[derive(Args, Debug)]
pub struct AgentsArgs {
    /// The database: a SQLite file (which has room for one daemon) or a PostgreSQL URL postgres://USER@HOST:PORT/DB.
    #[arg(long, value_name = "PATH|URL", default_value = gvpie_store::DEFAULT_DB_PATH)]
    pub db: PathBuf,
    /// Print a JSON array of objects with the keys name, host, pid, roles, state, last_heartbeat, executions.
    #[arg(long)]
    pub json: bool,
}

/// `gvpie agents`.
pub fn agents(args: AgentsArgs) -> anyhow::Result<ExitCode> {
    let store = crate::daemon_cmd::open_existing(&args.db)?;
    let agents = store.agents()?;
    if args.json {
        // The documented shape only: the store's type carries more (start, TTL, restarts) for the API.
        let rows: Vec<serde_json::Value> = agents
            .iter()
            .map(|a| {
                serde_json::json!({
                    "name": a.name,
                    "host": a.host,
                    "pid": a.pid,
                    "roles": a.roles,
                    "state": a.state.as_str(),
                    "last_heartbeat": a.last_heartbeat,
                    "executions": a.executions,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if agents.is_empty() {
        println!("no agents yet (an agent is a `gvpie daemon` or `gvpie up` that ran on this database)");
        return Ok(ExitCode::SUCCESS);
    }
    // Names and hosts come from whoever started an agent: no escape sequences reach the terminal.
    let clean = gvpie_daemon::sanitize_for_terminal;
    println!(
        "{:<24} {:<20} {:>8}  {:<22} {:<8} {:<19}  {:>10}",
        "name", "host", "pid", "roles", "state", "last heartbeat", "executions"
    );
    for a in &agents {
        println!(
            "{:<24} {:<20} {:>8}  {:<22} {:<8} {:<19}  {:>10}",
            clean(&a.name),
            clean(&a.host),
            a.pid,
            clean(&a.roles.join(",")),
            a.state.as_str(),
            clean(&a.last_heartbeat),
            a.executions
        );
    }
    Ok(ExitCode::SUCCESS)
}
