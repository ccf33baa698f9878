//! Serving [`crate::app`] on a socket until a shutdown signal, with a graceful end.
//!
//! The caller binds (so tests can bind port 0 and read the address) and checks the bind
//! policy with [`crate::check_bind`] first; the CLI's `gvpie serve` does both. Shutdown closes
//! the event streams so that open SSE clients do not hold it up.
//!
//! Connections are served by hyper's HTTP/1.1 connection with a timer (`axum::serve` gives it
//! none), so a client that sends its request headers too slowly (slowloris), or not at all, is
//! disconnected after [`crate::Limits::body_timeout`]: the same bound as for the body.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};

use crate::app::app;
use crate::state::AppState;

/// Serves `state`'s app on `listener` until `shutdown` completes, then cancels the work in
/// flight, lets the requests in progress answer (for at most [`SHUTDOWN_GRACE`]) and returns.
///
/// Work still running on blocking threads when this returns (a GPU dispatch) is not waited
/// for here; a caller that owns the runtime should drop it with `Runtime::shutdown_timeout`.
///
/// The request line and headers of each request (and an idle keep-alive connection's next
/// request) must arrive within the state's [`crate::Limits::body_timeout`]; past it the
/// connection is closed.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let events = state.events().clone();
    let jobs = state.jobs().clone();
    let header_timeout = state.limits().body_timeout;
    let router = app(state);

    let mut builder = http1::Builder::new();
    // More headers than the guard allows reach it, to be refused in the JSON error shape.
    builder.timer(TokioTimer::new()).header_read_timeout(header_timeout).max_headers(crate::guard::HYPER_MAX_HEADERS);
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);

    loop {
        let (stream, remote) = tokio::select! {
            accepted = accept(&listener) => accepted,
            () = &mut shutdown => break,
        };
        tracing::trace!(%remote, "connection accepted");
        let service = TowerToHyperService::new(router.clone());
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%remote, %error, "connection ended with an error");
            }
        });
    }

    // No new connections; open SSE streams end; the work in flight is cancelled (it stops at its
    // next check and answers `time_limit`), the connections finish their requests, for at most
    // SHUTDOWN_GRACE (a GPU dispatch, once started, cannot be stopped).
    drop(listener);
    events.close();
    let cancelled = jobs.cancel_all();
    if cancelled > 0 {
        tracing::info!(cancelled, "shutting down: cancelled the work in flight");
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("shutting down: requests still running after {} s were abandoned", SHUTDOWN_GRACE.as_secs());
    }
    Ok(())
}

/// How long a shutdown waits for the requests in progress (their work already cancelled) before
/// it returns anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The next connection. Errors that concern one connection are skipped; others (such as too
/// many open files) are logged and retried after a second, as `axum::serve` does.
async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(error) => {
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::ConnectionRefused
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::ConnectionReset
                ) {
                    continue;
                }
                tracing::error!(%error, "accept error");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
