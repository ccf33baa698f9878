//! The [`Store`] handle: opening a database, its pragmas, and small shared helpers.
//!
//! Only this crate talks to the database drivers; nothing here leaks their types. The
//! connection itself is a [`Db`] (the `db` module), SQLite or PostgreSQL.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use crate::db::{Db, Dialect};
use crate::error::{Result, StoreError};
use crate::hash::Hash;
use crate::params;

/// The default database file, relative to the working directory.
pub const DEFAULT_DB_PATH: &str = "gvpie-data/gvpie.db";

/// How hard a commit tries to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every commit is on disk when it returns (`synchronous = FULL`): survives power loss.
    #[default]
    Full,
    /// Commits survive a crash of the process but maybe not of the machine
    /// (`synchronous = NORMAL` in WAL mode; PostgreSQL: `synchronous_commit = off`, a crash of
    /// the server may lose the last commits but never corrupts). For benchmarks and throw-away
    /// databases.
    Normal,
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a statement waits for another process's write lock before failing (SQLite's
    /// busy timeout; PostgreSQL's `lock_timeout`).
    pub busy_timeout: Duration,
    /// Commit durability.
    pub durability: Durability,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions { busy_timeout: Duration::from_secs(10), durability: Durability::Full }
    }
}

/// Where a store lives: a SQLite file, or a PostgreSQL database named by a URL.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?...]`).
    Postgres(String),
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            // Never print a password, not even in a debug dump.
            Location::Postgres(url) => f.debug_tuple("Postgres").field(&redact_url(url)).finish(),
        }
    }
}

impl std::fmt::Display for Location {
    /// The path, or the URL with its password replaced by `***`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl Location {
    /// Parses a `--db` argument: a file path, or a `postgres://`/`postgresql://` URL.
    pub fn parse(text: &str) -> Result<Location> {
        if is_postgres_url(text) {
            // Checked here so a typo fails before anything connects.
            crate::pg::config_of(text)?;
            return Ok(Location::Postgres(text.to_string()));
        }
        if text.trim().is_empty() {
            return Err(StoreError::Invalid("the database path is empty".to_string()));
        }
        Ok(Location::Sqlite(PathBuf::from(text)))
    }
}

/// Whether `text` is a PostgreSQL URL rather than a file path.
fn is_postgres_url(text: &str) -> bool {
    let lower = text.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `url` with the password (in the user part or a `password=` parameter) replaced by `***`.
pub(crate) fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_string() };
    let (head, rest) = url.split_at(scheme_end);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (user_info, host) = authority.split_at(at);
            match user_info.find(':') {
                Some(colon) => format!("{}:***{host}", &user_info[..colon]),
                None => authority.to_string(),
            }
        }
        None => authority.to_string(),
    };
    let tail = match tail.find('?') {
        Some(q) => {
            let (path, query) = tail.split_at(q + 1);
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{head}{authority}{tail}")
}

/// A handle on gvpie's database: scripts, the infinite map, programs, images, cartridges,
/// goals, statistics, leases.
///
/// A `Store` is `Send` but not `Sync`: give each thread its own (WAL lets many readers and one
/// writer work at once across handles and processes; PostgreSQL any number of both), or share
/// one behind a `Mutex`. A PostgreSQL store's client drives its own small async runtime: call it
/// from a plain or blocking thread (`tokio::task::spawn_blocking`), never directly on an async
/// worker, where the client panics.
pub struct Store {
    pub(crate) db: Db,
    pub(crate) path: PathBuf,
    /// The location for people: the path, or the URL without its password.
    pub(crate) location: String,
    /// Ids of recently seen content, so recording an already-seen program costs no lookup.
    pub(crate) text_ids: BoundedMap<Hash, i64>,
    pub(crate) program_ids: BoundedMap<Hash, i64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("location", &self.location).finish()
    }
}

impl Store {
    /// Opens (creating it and its folder if needed) the SQLite database at `path`, and brings
    /// its schema up to date. A PostgreSQL URL works too (see [`Store::open_with`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(path, &StoreOptions::default())
    }

    /// Opens a store from a `--db` argument (see [`Location::parse`]): a SQLite file, or a
    /// PostgreSQL database, which is created when it does not exist yet. Either is migrated.
    pub fn open_location(location: &Location, options: &StoreOptions) -> Result<Store> {
        match location {
            Location::Sqlite(path) => Store::open_with(path, options),
            Location::Postgres(url) => {
                let db = crate::pg::open(url, options)?;
                Ok(Store::with_db(db, PathBuf::from(redact_url(url)), redact_url(url)))
            }
        }
    }

    /// [`Store::open`] with options. A `path` that is a `postgres://` or `postgresql://` URL
    /// opens that PostgreSQL database instead (as [`Store::open_location`]), so every caller
    /// that takes `--db` as a path accepts a URL too.
    pub fn open_with(path: impl AsRef<Path>, options: &StoreOptions) -> Result<Store> {
        if let Some(text) = path.as_ref().to_str()
            && is_postgres_url(text)
        {
            return Store::open_location(&Location::parse(text)?, options);
        }
        let path = path.as_ref().to_path_buf();
        let open_err = |message: String| StoreError::Open { location: path.display().to_string(), message };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| open_err(format!("cannot create {}: {e}", parent.display())))?;
        }
        let conn = Connection::open(&path).map_err(|e| open_err(e.to_string()))?;
        conn.busy_timeout(options.busy_timeout).map_err(|e| open_err(e.to_string()))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(|e| open_err(format!("not a usable SQLite database ({e})")))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(open_err(format!("cannot switch to WAL mode (journal mode stays {mode})")));
        }
        let synchronous = match options.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.execute_batch(&format!("PRAGMA synchronous = {synchronous}; PRAGMA temp_store = MEMORY;"))
            .map_err(crate::db::DbError::from)?;
        let db = Db::sqlite(conn);
        crate::schema::migrate(&db)?;
        let location = path.display().to_string();
        Ok(Store::with_db(db, path, location))
    }

    fn with_db(db: Db, path: PathBuf, location: String) -> Store {
        Store { db, path, location, text_ids: BoundedMap::new(4096), program_ids: BoundedMap::new(4096) }
    }

    /// The database file. For a PostgreSQL store, its URL without the password (see
    /// [`Store::location`]); it is no file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the store lives, for people: the file's path, or the PostgreSQL URL with its
    /// password replaced by `***`.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// True for a PostgreSQL store.
    pub fn is_postgres(&self) -> bool {
        self.db.dialect() == Dialect::Postgres
    }

    /// True when this connection cannot write (the file or its folder is read-only; on
    /// PostgreSQL, a read-only session or a standby): reads work, every write fails with
    /// [`StoreError::ReadOnly`].
    pub fn is_read_only(&self) -> bool {
        match self.db.sqlite_conn() {
            Some(conn) => conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false),
            None => self
                .db
                .query_row("SELECT current_setting('transaction_read_only') = 'on' OR pg_is_in_recovery()", params![])
                .and_then(|row| row.get::<bool>(0))
                .unwrap_or(false),
        }
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.db.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", params![])?.get(0)?)
    }

    /// Checks the database: SQLite's `PRAGMA integrity_check`; on PostgreSQL, which checks its
    /// own pages, that the connection works and the schema is there. `Ok(())` when sound, else
    /// the report.
    pub fn integrity_check(&self) -> Result<std::result::Result<(), String>> {
        match self.db.dialect() {
            Dialect::Sqlite => {
                let lines: Vec<String> = self
                    .db
                    .query_all("PRAGMA integrity_check", params![])?
                    .iter()
                    .map(|row| row.text(0).unwrap_or_default())
                    .collect();
                Ok(if lines == ["ok"] { Ok(()) } else { Err(lines.join("\n")) })
            }
            Dialect::Postgres => {
                let version = self.schema_version()?;
                Ok(if version == crate::schema::latest_version() {
                    Ok(())
                } else {
                    Err(format!("schema version {version}, expected {}", crate::schema::latest_version()))
                })
            }
        }
    }

    /// Copies SQLite's write-ahead log into the database file and truncates it; nothing to do
    /// on PostgreSQL (the server checkpoints by itself).
    pub fn checkpoint(&self) -> Result<()> {
        if self.db.dialect() == Dialect::Sqlite {
            self.db.query_all("PRAGMA wal_checkpoint(TRUNCATE)", params![])?;
        }
        Ok(())
    }

    /// Bytes the database holds: SQLite's pages in use (file size less free pages; the WAL not
    /// counted); PostgreSQL's `pg_database_size` (tables, indexes and their free space).
    pub fn used_bytes(&self) -> Result<i64> {
        let db = &self.db;
        match db.dialect() {
            Dialect::Sqlite => {
                let pragma =
                    |name: &str| -> Result<i64> { Ok(db.query_row(&format!("PRAGMA {name}"), params![])?.get(0)?) };
                Ok((pragma("page_count")? - pragma("freelist_count")?) * pragma("page_size")?)
            }
            Dialect::Postgres => Ok(db.query_row("SELECT pg_database_size(current_database())", params![])?.get(0)?),
        }
    }

    /// A named counter's value (0 when never set).
    pub fn counter(&self, name: &str) -> Result<i64> {
        let row = self.db.query_opt("SELECT value FROM counters WHERE name = ?1", params![name])?;
        Ok(match row {
            Some(row) => row.get(0)?,
            None => 0,
        })
    }
}

/// A map that forgets everything when it grows past its capacity: a cache whose memory stays
/// flat however long the daemon runs.
pub(crate) struct BoundedMap<K, V> {
    map: HashMap<K, V>,
    capacity: usize,
}

impl<K: std::hash::Hash + Eq, V: Copy> BoundedMap<K, V> {
    pub(crate) fn new(capacity: usize) -> BoundedMap<K, V> {
        BoundedMap { map: HashMap::new(), capacity }
    }

    pub(crate) fn get(&self, key: &K) -> Option<V> {
        self.map.get(key).copied()
    }

    pub(crate) fn insert(&mut self, key: K, value: V) {
        if self.map.len() >= self.capacity {
            self.map.clear();
        }
        self.map.insert(key, value);
    }
}
