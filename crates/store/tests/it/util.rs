//! Fixtures: a store in a fresh temporary folder and small executions.

use std::sync::Arc;

use gvpie_store::{BackendUsed, NewExecution, NewImage, NewScript, ProgramInput, RunConfig, Store, TextRef};

pub const HELLO: &str = "TXT 10 10 HELLO GPU\nHALT";

pub struct TempStore {
    pub dir: tempfile::TempDir,
    pub store: Store,
}

impl TempStore {
    pub fn new() -> TempStore {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path().join("gvpie.db")).expect("open store");
        TempStore { dir, store }
    }

    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("gvpie.db")
    }

    pub fn reopen(&mut self) {
        self.store = Store::open(self.path()).expect("reopen store");
    }

    /// A raw connection, as a person with the sqlite3 shell would have.
    pub fn raw(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path()).expect("raw connection")
    }
}

pub fn hello_script(store: &Store) -> gvpie_store::Script {
    store
        .create_script(&NewScript {
            name: "hello_gpu".into(),
            lang: "pixel".into(),
            purpose: Some("Test GPU pipeline with simple text rendering".into()),
            code: HELLO.into(),
            enabled: true,
            parent_script_id: None,
        })
        .expect("create script")
}

/// A fake program: the store does not interpret textures.
pub fn program(tag: &str) -> Arc<ProgramInput> {
    Arc::new(ProgramInput::new(
        format!("texture of {tag}").into_bytes(),
        Some(TextRef::new(format!("source of {tag}"))),
        2,
        vec!["TXT".into(), "HALT".into()],
    ))
}

pub fn run_of(script: &gvpie_store::Script, program: &Arc<ProgramInput>, success: bool) -> NewExecution {
    NewExecution {
        started_ms: gvpie_store::now_ms(),
        duration_us: 20,
        success,
        cycles: 2,
        backend: Some(BackendUsed::Cpu),
        script_id: Some(script.id),
        script_name: Some(script.name.clone()),
        program: Some(program.clone()),
        code: program.source.clone(),
        task: Some(TextRef::new(format!("{}: {}", script.name, script.purpose.clone().unwrap_or_default()))),
        error: if success { None } else { Some(TextRef::new(r#"{"kind":"parse","message":"bad"}"#)) },
        image: Some(NewImage {
            hash: gvpie_store::Hash::of(b"pixels"),
            width: 128,
            height: 64,
            png: Some(b"png bytes".to_vec()),
        }),
        config: Some(RunConfig { width: 128, height: 64, budget: 10_000_000 }),
        ..NewExecution::default()
    }
}
