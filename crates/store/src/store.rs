//! The [`Store`] handle: opening a database, its pragmas, and small shared helpers.
//!
//! Only this crate talks to the database driver; nothing here leaks its types.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::types::ValueRef;

use crate::error::{Result, StoreError};
use crate::hash::Hash;

/// The default database file, relative to the working directory.
pub const DEFAULT_DB_PATH: &str = "gvpie-data/gvpie.db";

/// How hard a commit tries to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every commit is on disk when it returns (`synchronous = FULL`): survives power loss.
    #[default]
    Full,
    /// Commits survive a crash of the process but maybe not of the machine
    /// (`synchronous = NORMAL` in WAL mode). For benchmarks and throw-away databases.
    Normal,
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a statement waits for another process's write lock before failing.
    pub busy_timeout: Duration,
    /// Commit durability.
    pub durability: Durability,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions { busy_timeout: Duration::from_secs(10), durability: Durability::Full }
    }
}

/// Where a store lives. Today a SQLite file; `postgres://` URLs are recognised and refused
/// until the PostgreSQL backend exists.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A SQLite database file.
    Sqlite(PathBuf),
}

impl Location {
    /// Parses a `--db` argument: a file path, or a `postgres://`/`postgresql://` URL.
    pub fn parse(text: &str) -> Result<Location> {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Err(StoreError::Unsupported(
                "PostgreSQL databases are planned but not built yet; use a SQLite file path".to_string(),
            ));
        }
        if text.trim().is_empty() {
            return Err(StoreError::Invalid("the database path is empty".to_string()));
        }
        Ok(Location::Sqlite(PathBuf::from(text)))
    }
}

/// The connection behind a store. One variant today; PostgreSQL becomes a second one, and
/// every method that matches on this enum gains an arm (see the crate docs).
pub(crate) enum Backend {
    Sqlite(Connection),
}

/// A handle on gvpie's database: scripts, the infinite map, programs, images, cartridges,
/// goals, statistics, leases.
///
/// A `Store` is `Send` but not `Sync`: give each thread its own (WAL lets many readers and one
/// writer work at once across handles and processes), or share one behind a `Mutex`.
pub struct Store {
    pub(crate) backend: Backend,
    pub(crate) path: PathBuf,
    /// Ids of recently seen content, so recording an already-seen program costs no lookup.
    pub(crate) text_ids: BoundedMap<Hash, i64>,
    pub(crate) program_ids: BoundedMap<Hash, i64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating it and its folder if needed) the SQLite database at `path`, and brings
    /// its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(path, &StoreOptions::default())
    }

    /// Opens a store from a `--db` argument (see [`Location::parse`]).
    pub fn open_location(location: &Location, options: &StoreOptions) -> Result<Store> {
        match location {
            Location::Sqlite(path) => Store::open_with(path, options),
        }
    }

    /// [`Store::open`] with options.
    pub fn open_with(path: impl AsRef<Path>, options: &StoreOptions) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        let open_err = |message: String| StoreError::Open { location: path.display().to_string(), message };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| open_err(format!("cannot create {}: {e}", parent.display())))?;
        }
        let mut conn = Connection::open(&path).map_err(|e| open_err(e.to_string()))?;
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
        conn.execute_batch(&format!("PRAGMA synchronous = {synchronous}; PRAGMA temp_store = MEMORY;"))?;
        crate::schema::migrate(&mut conn)?;
        Ok(Store {
            backend: Backend::Sqlite(conn),
            path,
            text_ids: BoundedMap::new(4096),
            program_ids: BoundedMap::new(4096),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when this connection cannot write (the file or its folder is read-only): reads work,
    /// every write fails with [`StoreError::ReadOnly`].
    pub fn is_read_only(&self) -> bool {
        self.conn().is_readonly(rusqlite::MAIN_DB).unwrap_or(false)
    }

    pub(crate) fn conn(&self) -> &Connection {
        match &self.backend {
            Backend::Sqlite(conn) => conn,
        }
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        match &mut self.backend {
            Backend::Sqlite(conn) => conn,
        }
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn().query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |row| row.get(0))?)
    }

    /// Runs `PRAGMA integrity_check`; `Ok(())` when the database is sound, else its report.
    pub fn integrity_check(&self) -> Result<std::result::Result<(), String>> {
        let mut statement = self.conn().prepare("PRAGMA integrity_check")?;
        let lines: Vec<String> = statement.query_map([], |row| row.get(0))?.collect::<rusqlite::Result<_>>()?;
        Ok(if lines == ["ok"] { Ok(()) } else { Err(lines.join("\n")) })
    }

    /// Copies the write-ahead log into the database file and truncates it.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Bytes the database's pages hold (file size less free pages; the WAL not counted).
    pub fn used_bytes(&self) -> Result<i64> {
        let conn = self.conn();
        let page_size: i64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0))?;
        let page_count: i64 = conn.query_row("PRAGMA page_count", [], |row| row.get(0))?;
        let free: i64 = conn.query_row("PRAGMA freelist_count", [], |row| row.get(0))?;
        Ok((page_count - free) * page_size)
    }

    /// A named counter's value (0 when never set).
    pub fn counter(&self, name: &str) -> Result<i64> {
        use rusqlite::OptionalExtension;
        let value =
            self.conn().query_row("SELECT value FROM counters WHERE name = ?1", [name], |row| row.get(0)).optional()?;
        Ok(value.unwrap_or(0))
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

/// A column read leniently: rows typed in by hand may hold any SQLite type.
pub(crate) fn text_of(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(x) => Some(x.to_string()),
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
    }
}

/// An integer column read leniently (text holding a number counts; anything else is `None`).
pub(crate) fn int_of(value: ValueRef<'_>) -> Option<i64> {
    match value {
        ValueRef::Integer(n) => Some(n),
        ValueRef::Real(x) if x.is_finite() => Some(x as i64),
        ValueRef::Text(bytes) => std::str::from_utf8(bytes).ok().and_then(|t| t.trim().parse().ok()),
        _ => None,
    }
}
