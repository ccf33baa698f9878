//! Serving [`crate::app`] on a socket until a shutdown signal, with a graceful end.
//!
//! The caller binds (so tests can bind port 0 and read the address) and checks the bind
//! policy with [`crate::check_bind`] first; the CLI's `gvpie serve` does both. Shutdown closes
//! the event streams so that open SSE clients do not hold it up.

use std::future::Future;

use tokio::net::TcpListener;

use crate::app::app;
use crate::state::AppState;

/// Serves `state`'s app on `listener` until `shutdown` completes, then finishes the requests
/// in progress and returns.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let events = state.events().clone();
    let router = app(state);
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            events.close();
        })
        .await
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
