//! Events and metrics through the store: what a daemon in another process does, seen by this
//! server.
//!
//! `gvpie up` runs the daemon in the server's process and publishes its events directly. A
//! `gvpie serve` beside a `gvpie daemon` (or any other writer) shares only the database, so
//! [`watch_store`] polls it: every [`POLL_INTERVAL`] it reads the newest iteration and the
//! daemon's cycle counter, and for every execution recorded since the last look it counts the
//! execution in `/metrics` and, when someone listens on `/api/events`, publishes it as an
//! `execution` event (`origin` `daemon`), between a `daemon` event `cycle_started` and a
//! `cycle_finished` for each cycle the counter moved by, the names `gvpie up` streams. No new
//! channel between the processes: the database is the one they already share.

use std::time::Duration;

use gvpie_store::{MapEntry, Store};

use crate::error::AppError;
use crate::events::{DaemonEvent, Event, ExecutionEvent, now_ms};
use crate::state::AppState;

/// How often the store is read.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The most executions read in one look; a busier daemon is caught up with over the next looks.
const MAX_PER_POLL: i64 = 500;

/// What one look at the store found.
struct Seen {
    /// The daemon's cycle counter.
    cycles: i64,
    /// The newest iteration read.
    last: i64,
    /// Executions after the previous look, oldest first.
    entries: Vec<MapEntry>,
}

fn look(store: &Store, after: Option<i64>) -> Result<Seen, AppError> {
    let cycles = store.counter("daemon_cycles")?;
    let newest = store.last_iteration()?.unwrap_or(0);
    let Some(after) = after else { return Ok(Seen { cycles, last: newest, entries: Vec::new() }) };
    let last = newest.min(after.saturating_add(MAX_PER_POLL));
    let mut entries = Vec::new();
    for iteration in after + 1..=last {
        if let Some(entry) = store.map_entry(iteration, false)? {
            entries.push(entry);
        }
    }
    Ok(Seen { cycles, last, entries })
}

fn execution_event(entry: &MapEntry) -> Event {
    // A script's run or a goal's candidate is the daemon's; anything else was recorded by another
    // writer of the database (the plain-English compiler of a server, for one).
    let origin = if entry.script_id.is_some() || entry.goal_id.is_some() { "daemon" } else { "store" };
    Event::Execution(ExecutionEvent {
        origin: origin.to_string(),
        success: entry.success,
        cycles: entry.cycles,
        backend: entry.backend.as_str().to_string(),
        duration_ms: entry.duration_ms,
        error_kind: entry.error.as_ref().and_then(|e| e["kind"].as_str()).map(str::to_string),
        script: entry.script_name.clone(),
        iteration: Some(entry.iteration),
        program_hash: entry.program_hash.map(|h| h.to_hex()),
        image_hash: entry.image_hash.map(|h| h.to_hex()),
        at_ms: u64::try_from(entry.started_ms).unwrap_or(0),
    })
}

fn daemon_event(name: &str, data: serde_json::Value) -> Event {
    Event::Daemon(DaemonEvent { event: name.to_string(), data, at_ms: now_ms() })
}

/// Polls the store of `state` until the server closes its event stream: executions recorded by
/// other processes go to `/metrics` and, while someone listens, to `/api/events` (see the module
/// docs). Returns at once for a server without a database. `gvpie serve` runs it; `gvpie up`
/// does not (its daemon publishes in-process).
pub async fn watch_store(state: AppState) {
    let Ok(pool) = state.store() else { return };
    let pool = pool.clone();
    let mut closing = state.events().closing();
    let first = pool.run(|store| look(store, None)).await;
    let (mut cycles, mut last) = match first {
        Ok(seen) => (seen.cycles, seen.last),
        Err(_) => (0, 0),
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            changed = closing.changed() => {
                if changed.is_err() || *closing.borrow() {
                    return;
                }
            }
        }
        let after = last;
        // A database that is busy or gone for a moment is looked at again next time.
        let Ok(seen) = pool.run(move |store| look(store, Some(after))).await else { continue };
        for entry in &seen.entries {
            let error_kind = entry.error.as_ref().and_then(|e| e["kind"].as_str());
            let duration = Duration::from_secs_f64(entry.duration_ms.max(0.0) / 1000.0);
            state.metrics().record_execution(entry.backend.as_str(), error_kind, duration);
        }
        let events = state.events();
        if events.n_subscribers() > 0 && (seen.cycles > cycles || !seen.entries.is_empty()) {
            for cycle in cycles + 1..=seen.cycles {
                events.publish(daemon_event("cycle_started", serde_json::json!({"cycle": cycle, "from": "store"})));
            }
            for entry in &seen.entries {
                events.publish(execution_event(entry));
            }
            if seen.cycles > cycles {
                let failures = seen.entries.iter().filter(|e| !e.success).count();
                events.publish(daemon_event(
                    "cycle_finished",
                    serde_json::json!({
                        "cycle": seen.cycles,
                        "executions": seen.entries.len(),
                        "failures": failures,
                        "from": "store",
                    }),
                ));
            }
        }
        cycles = seen.cycles;
        last = seen.last;
    }
}
