//! Fixtures: a daemon configuration in a fresh temporary folder and an event recorder.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gvpie_daemon::{Daemon, DaemonConfig, DaemonEvent};

pub struct Setup {
    pub dir: tempfile::TempDir,
    pub config: DaemonConfig,
}

impl Setup {
    pub fn new() -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = DaemonConfig::new(dir.path().join("gvpie.db"));
        config.interval = Duration::ZERO;
        config.console = false;
        config.max_cycles = Some(1);
        Setup { dir, config }
    }

    pub fn store(&self) -> gvpie_store::Store {
        gvpie_store::Store::open(&self.config.db).expect("open store")
    }

    /// A raw connection, as a person with the sqlite3 shell would have.
    pub fn raw(&self) -> rusqlite::Connection {
        let _ = self.store();
        rusqlite::Connection::open(&self.config.db).expect("raw connection")
    }

    /// Opens a daemon with an event recorder, runs it, returns the events.
    pub fn run(&self, cycles: u64) -> Vec<DaemonEvent> {
        let mut config = self.config.clone();
        config.max_cycles = Some(cycles);
        let (sink, events) = recorder();
        let mut daemon = Daemon::open(config, gvpie_exec::Engine::cpu_only()).expect("open daemon").with_events(sink);
        daemon.run(&AtomicBool::new(false)).expect("run");
        events.lock().expect("events").clone()
    }
}

pub fn recorder() -> (gvpie_daemon::EventSink, Arc<Mutex<Vec<DaemonEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let copy = events.clone();
    let sink: gvpie_daemon::EventSink = Arc::new(move |event: &DaemonEvent| {
        copy.lock().expect("events").push(event.clone());
    });
    (sink, events)
}

/// The executions recorded, as (iteration, script, success, error kind).
pub fn recorded(events: &[DaemonEvent]) -> Vec<(i64, Option<String>, bool, Option<String>)> {
    events
        .iter()
        .filter_map(|event| match event {
            DaemonEvent::ExecutionRecorded { iteration, script, success, error, .. } => {
                Some((*iteration, script.clone(), *success, error.as_ref().map(|e| e.kind.clone())))
            }
            _ => None,
        })
        .collect()
}

pub fn add_script(store: &gvpie_store::Store, name: &str, lang: &str, code: &str) -> gvpie_store::Script {
    store
        .create_script(&gvpie_store::NewScript {
            name: name.into(),
            lang: lang.into(),
            purpose: Some(format!("purpose of {name}")),
            code: code.into(),
            enabled: true,
            parent_script_id: None,
        })
        .expect("create script")
}
