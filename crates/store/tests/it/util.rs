//! Fixtures: a store on each backend (a SQLite file in a fresh temporary folder, or a fresh
//! PostgreSQL database on the server `GVPIE_TEST_POSTGRES` names), raw connections as a person
//! with `sqlite3` or `psql` would have, and small executions.
//!
//! `both_backends!` turns `fn name(kind: Kind) { ... }` into a module with two tests,
//! `name::sqlite` and `name::postgres`. Without `GVPIE_TEST_POSTGRES` the PostgreSQL half says
//! so on stderr and passes, unless `GVPIE_REQUIRE_POSTGRES=1`, where it fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gvpie_store::{
    BackendUsed, Location, NewExecution, NewImage, NewScript, ProgramInput, RunConfig, Store, StoreOptions, TextRef,
};

pub const HELLO: &str = "TXT 10 10 HELLO GPU\nHALT";

/// The server the PostgreSQL half of the suite runs on, e.g. `postgres://postgres@127.0.0.1:55432/postgres`.
pub const POSTGRES_ENV: &str = "GVPIE_TEST_POSTGRES";
/// `1`: a missing server fails the PostgreSQL tests instead of skipping them (CI).
pub const REQUIRE_POSTGRES_ENV: &str = "GVPIE_REQUIRE_POSTGRES";

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    /// `Some(Postgres)` when a server is configured; `None` (after a line on stderr) when not,
    /// or a panic when one is required.
    pub fn postgres() -> Option<Kind> {
        server_url().map(|_| Kind::Postgres)
    }
}

/// The configured server's URL (its maintenance database), if any; see [`Kind::postgres`].
pub fn server_url() -> Option<String> {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var(REQUIRE_POSTGRES_ENV).is_ok_and(|v| v == "1") {
                panic!("{REQUIRE_POSTGRES_ENV}=1 but {POSTGRES_ENV} names no PostgreSQL server");
            }
            eprintln!("skipped: the PostgreSQL half of this test ({POSTGRES_ENV} is not set)");
            // Once per run, past the test harness's capture, so a plain `cargo test` says it too.
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "gvpie-store: PostgreSQL tests skipped ({POSTGRES_ENV} names no server, e.g. \
                     postgres://postgres@127.0.0.1:5432/postgres)"
                );
            });
            None
        }
    }
}

/// Runs each `fn name(kind: Kind)` on both backends: tests `name::sqlite` and `name::postgres`.
macro_rules! both_backends {
    ($($(#[$meta:meta])* fn $name:ident($kind:ident: Kind) $body:block)*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                fn run($kind: crate::util::Kind) $body

                #[test]
                fn sqlite() {
                    run(crate::util::Kind::Sqlite)
                }

                #[test]
                fn postgres() {
                    if let Some(kind) = crate::util::Kind::postgres() {
                        run(kind)
                    }
                }
            }
        )*
    };
}
pub(crate) use both_backends;

/// `url` naming the database `dbname` instead of its own.
pub fn with_dbname(url: &str, dbname: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let (head, rest) = url.split_at(scheme_end);
    let path_start = rest.find('/').unwrap_or(rest.len());
    let query_start = rest.find('?').unwrap_or(rest.len()).max(path_start);
    format!("{head}{}/{dbname}{}", &rest[..path_start], &rest[query_start..])
}

/// A fresh database name, unique to this process and call.
pub fn fresh_dbname() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!("gvpie_test_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A connection to the server's maintenance database.
pub fn admin() -> postgres::Client {
    let url = server_url().expect("a PostgreSQL server");
    postgres::Client::connect(&url, postgres::NoTls).unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

/// Drops a test database, best effort (its connections are ended first).
pub fn drop_database(name: &str) {
    if let Ok(url) = std::env::var(POSTGRES_ENV)
        && let Ok(mut admin) = postgres::Client::connect(&url, postgres::NoTls)
    {
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    }
}

pub struct TempStore {
    pub store: Store,
    location: Location,
    /// The SQLite file's folder.
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL database, dropped with the fixture.
    dbname: Option<String>,
}

impl TempStore {
    /// A new, empty store (on PostgreSQL the store itself creates the database).
    pub fn new(kind: Kind) -> TempStore {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let location = Location::Sqlite(dir.path().join("gvpie.db"));
                let store = Store::open_location(&location, &StoreOptions::default()).expect("open store");
                TempStore { store, location, _dir: Some(dir), dbname: None }
            }
            Kind::Postgres => {
                let dbname = fresh_dbname();
                let url = with_dbname(&server_url().expect("a PostgreSQL server"), &dbname);
                let location = Location::parse(&url).expect("a PostgreSQL URL");
                let store = match Store::open_location(&location, &StoreOptions::default()) {
                    Ok(store) => store,
                    Err(err) => {
                        drop_database(&dbname);
                        panic!("{err}");
                    }
                };
                TempStore { store, location, _dir: None, dbname: Some(dbname) }
            }
        }
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Opens the same database again (another handle, as another process would).
    pub fn try_open(&self) -> gvpie_store::Result<Store> {
        Store::open_location(&self.location, &StoreOptions::default())
    }

    pub fn open_again(&self) -> Store {
        self.try_open().expect("open the store again")
    }

    pub fn reopen(&mut self) {
        self.store = self.open_again();
    }

    /// A raw connection, as a person with the sqlite3 shell or psql would have.
    pub fn raw(&self) -> Raw {
        match &self.location {
            Location::Sqlite(path) => Raw::Sqlite(rusqlite::Connection::open(path).expect("raw connection")),
            Location::Postgres(url) => Raw::Postgres(Box::new(std::cell::RefCell::new(
                postgres::Client::connect(url, postgres::NoTls).expect("raw connection"),
            ))),
            _ => unreachable!("a location the fixture made"),
        }
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        if let Some(name) = &self.dbname {
            drop_database(name);
        }
    }
}

/// A raw connection; every value comes back as text (what psql and sqlite3 print).
pub enum Raw {
    Sqlite(rusqlite::Connection),
    Postgres(Box<std::cell::RefCell<postgres::Client>>),
}

fn pg_message(err: &postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => err.to_string(),
    }
}

impl Raw {
    /// Runs statements (no parameters); the error's text when one fails.
    pub fn execute_batch(&self, sql: &str) -> Result<(), String> {
        match self {
            Raw::Sqlite(conn) => conn.execute_batch(sql).map_err(|e| e.to_string()),
            Raw::Postgres(client) => client.borrow_mut().batch_execute(sql).map_err(|e| pg_message(&e)),
        }
    }

    /// The rows of one query, every value as text (NULL as `None`).
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match self {
            Raw::Sqlite(conn) => {
                let mut statement = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let columns = statement.column_count();
                let rows = statement
                    .query_map([], |row| {
                        (0..columns)
                            .map(|i| {
                                Ok(match row.get_ref(i)? {
                                    rusqlite::types::ValueRef::Null => None,
                                    rusqlite::types::ValueRef::Integer(n) => Some(n.to_string()),
                                    rusqlite::types::ValueRef::Real(x) => Some(x.to_string()),
                                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                                        Some(String::from_utf8_lossy(t).into_owned())
                                    }
                                })
                            })
                            .collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.collect::<rusqlite::Result<_>>().unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
            Raw::Postgres(client) => {
                let messages =
                    client.borrow_mut().simple_query(sql).unwrap_or_else(|e| panic!("{sql}: {}", pg_message(&e)));
                messages
                    .into_iter()
                    .filter_map(|message| match message {
                        postgres::SimpleQueryMessage::Row(row) => {
                            Some((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect())
                        }
                        _ => None,
                    })
                    .collect()
            }
        }
    }

    /// The one integer a query returns (a count).
    pub fn count(&self, sql: &str) -> i64 {
        let rows = self.rows(sql);
        let text =
            rows.first().and_then(|row| row.first().cloned().flatten()).unwrap_or_else(|| panic!("{sql}: no value"));
        text.parse().unwrap_or_else(|e| panic!("{sql}: {text}: {e}"))
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
