//! `gvpie serve`: the runtime API server (crate `gvpie-server`) on a socket, until Ctrl-C or
//! SIGTERM.
//!
//! This file only turns arguments into a server: it resolves the address, enforces the bind
//! policy (a non-loopback address needs a token), opens the database, sets up logging and runs
//! the server on a tokio runtime. The endpoints themselves live in `gvpie-server`.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use crate::UsageError;

/// The default address: loopback only, the seed's port.
pub const DEFAULT_BIND: &str = "127.0.0.1:8081";

/// Arguments of `gvpie serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address and port to listen on. Binding anything but loopback needs a token.
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_BIND)]
    pub bind: String,
    /// The database: a SQLite file (created if missing), or a PostgreSQL URL postgres://USER@HOST:PORT/DATABASE
    /// (created and migrated if missing) whose agents the dashboard then shows.
    #[arg(long, value_name = "PATH|URL", default_value = "gvpie-data/gvpie.db")]
    pub db: String,
    /// Require 'Authorization: Bearer TOKEN' on every request except GET /health
    /// (default: the GVPIE_TOKEN environment variable).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
}

/// The token from `--token`, else `GVPIE_TOKEN` (an empty variable counts as unset).
pub fn resolve_token(flag: Option<String>) -> Option<String> {
    flag.or_else(|| std::env::var("GVPIE_TOKEN").ok().filter(|t| !t.is_empty()))
}

/// Resolves `ADDR:PORT` (an IP address or a host name such as `localhost`).
pub fn resolve_bind(text: &str) -> anyhow::Result<SocketAddr> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let mut addrs = text.to_socket_addrs().map_err(|err| {
        UsageError::new(format!("--bind '{text}' is not an address and port such as {DEFAULT_BIND} ({err})"))
    })?;
    addrs.next().ok_or_else(|| UsageError::new(format!("--bind '{text}' resolves to no address")).into())
}

/// Checks the arguments and binds the socket: everything that can fail before serving.
pub fn prepare(args: &ServeArgs) -> anyhow::Result<(std::net::TcpListener, Option<String>)> {
    let addr = resolve_bind(&args.bind)?;
    let token = resolve_token(args.token.clone());
    gvpie_server::check_bind(addr, token.as_deref()).map_err(|err| UsageError::new(err.to_string()))?;
    let listener = match std::net::TcpListener::bind(addr) {
        Ok(listener) => listener,
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {
            let other = SocketAddr::new(addr.ip(), addr.port().wrapping_add(1).max(1));
            let any = SocketAddr::new(addr.ip(), 0);
            return Err(UsageError::new(format!(
                "cannot listen on {addr}: the port is in use (another gvpie serve or gvpie up?); choose another \
                 with --bind {other}, or --bind {any} for any free port"
            ))
            .into());
        }
        Err(err) => return Err(anyhow::Error::new(err).context(format!("cannot listen on {addr}"))),
    };
    listener.set_nonblocking(true).context("cannot set up the socket")?;
    Ok((listener, token))
}

/// Runs `gvpie serve`.
pub fn serve(args: ServeArgs) -> anyhow::Result<std::process::ExitCode> {
    init_logging();
    let (listener, token) = prepare(&args)?;
    let state = build_state(&args.db, token.clone())?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start tokio")?;
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).context("cannot set up the socket")?;
        announce(&listener, &state, &args.db, token.is_some());
        // A daemon in another process shares only the database: its executions and cycles reach
        // /api/events and /metrics through it. (`gvpie up` publishes its daemon's events in-process.)
        tokio::spawn(gvpie_server::watch_store(state.clone()));
        gvpie_server::serve(listener, state, gvpie_server::shutdown_signal()).await.context("the server failed")
    });
    // Work the shutdown cancelled but that has not stopped yet (a GPU dispatch) is not waited for.
    runtime.shutdown_timeout(RUNTIME_GRACE);
    served?;
    eprintln!("gvpie serve: stopped");
    Ok(std::process::ExitCode::SUCCESS)
}

/// How long a stopping server waits for blocking work that its shutdown cancelled, after
/// [`gvpie_server::SHUTDOWN_GRACE`]: the process exits even if a GPU dispatch is still running.
const RUNTIME_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// The server's state: the engine, the database and the token.
pub fn build_state(db: &str, token: Option<String>) -> anyhow::Result<gvpie_server::AppState> {
    // The GPU when an adapter opens (GVPIE_ADAPTER picks one), else the CPU alone.
    let engine = Arc::new(gvpie_exec::Engine::detect());
    let state = gvpie_server::AppState::new(engine).with_token(token);
    let store = gvpie_server::StorePool::open(db).map_err(|err| UsageError::new(format!("--db {db}: {err}")))?;
    if store.is_read_only() {
        eprintln!(
            "gvpie serve: warning: the database {} is read-only: reads work, but every write (scripts, programs, \
             cartridges, goals) will be answered 503 until the file and its folder are writable",
            gvpie_daemon::sanitize_for_terminal(db)
        );
    }
    Ok(state.with_store(store))
}

/// A server running on a thread of its own (for `gvpie up`, beside the daemon).
pub struct BackgroundServer {
    /// Its event bus: publish the daemon's events here.
    pub events: gvpie_server::EventBus,
    /// Where it listens (the port the system chose for `:0`).
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BackgroundServer {
    /// Stops the server (requests in progress finish) and waits for its thread.
    pub fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Binds `bind` (the token, if any, comes from `GVPIE_TOKEN`), opens `db` and serves on a
/// background thread until [`BackgroundServer::stop`].
pub fn start_in_background(bind: &str, db: &std::path::Path) -> anyhow::Result<BackgroundServer> {
    init_logging();
    let db = db.to_str().ok_or_else(|| UsageError::new(format!("--db {}: not valid UTF-8", db.display())))?;
    let args = ServeArgs { bind: bind.to_string(), db: db.to_string(), token: None };
    let (listener, token) = prepare(&args)?;
    let addr = listener.local_addr().context("cannot set up the socket")?;
    let state = build_state(&args.db, token.clone())?;
    let events = state.events().clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("gvpie-server")
        .enable_all()
        .build()
        .context("cannot start tokio")?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("gvpie-server".to_string())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(err) => {
                        eprintln!("gvpie up: cannot set up the socket: {err}");
                        return;
                    }
                };
                announce(&listener, &state, &args.db, token.is_some());
                let shutdown = async move {
                    let _ = stopped.await;
                };
                if let Err(err) = gvpie_server::serve(listener, state, shutdown).await {
                    eprintln!("gvpie up: the server failed: {err}");
                }
            });
            runtime.shutdown_timeout(RUNTIME_GRACE);
        })
        .context("cannot start the server thread")?;
    Ok(BackgroundServer { events, addr, stop: Some(stop), thread: Some(thread) })
}

/// Prints where the server listens (tests read the port from this line).
pub fn announce(listener: &tokio::net::TcpListener, state: &gvpie_server::AppState, db: &str, has_token: bool) {
    let addr = listener.local_addr().map_or_else(|_| "?".to_string(), |a| a.to_string());
    let backends = state.engine().backends().join(", ");
    let auth = if has_token { "token required" } else { "no token" };
    println!("gvpie serve: listening on http://{addr} (backends: {backends}; database {db}; {auth})");
}

/// Logs to stderr; `GVPIE_LOG` (error, warn, info, debug, trace) sets the level, default info.
pub fn init_logging() {
    let level = match std::env::var("GVPIE_LOG").unwrap_or_default().to_ascii_lowercase().as_str() {
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "debug" => tracing::Level::DEBUG,
        "trace" => tracing::Level::TRACE,
        _ => tracing::Level::INFO,
    };
    let _ = tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::stderr).with_target(false).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_addresses() {
        assert_eq!(resolve_bind("127.0.0.1:8081").ok(), "127.0.0.1:8081".parse().ok());
        assert!(resolve_bind("localhost:9").is_ok_and(|a| a.ip().is_loopback()));
        assert!(resolve_bind("nonsense").is_err());
    }
}
