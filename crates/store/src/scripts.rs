//! Improvement scripts (the seed's `improvement_scripts` table): listing, editing, the daemon's
//! choice of what runs next, and importing the seed's `.sql` script files safely.

use serde::{Deserialize, Serialize};

use crate::db::{Db, DbErrorKind, Row, Value};
use crate::error::{Result, StoreError};
use crate::params;
use crate::store::Store;

/// The languages the daemon runs. Any other `lang` is accepted by the database and becomes a
/// failed run with an "unknown language" error.
pub const LANGS: &[&str] = &["pixel", "cartridge"];

/// One improvement script. Columns typed in by hand are read leniently: a NULL or non-text
/// `code` is `None` (or its text form), a NULL `enabled` counts as disabled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Script {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// `pixel` (PXL source) or `cartridge` (see the daemon docs for what `code` holds).
    pub lang: String,
    /// What it is for.
    pub purpose: Option<String>,
    /// The program; `None` when NULL or, in [`Store::scripts_due`], when longer than asked.
    pub code: Option<String>,
    /// Length of `code` in bytes.
    pub code_len: i64,
    /// Whether the daemon runs it.
    pub enabled: bool,
    /// When it was added.
    pub created_at: Option<String>,
    /// When it last ran.
    pub last_run_at: Option<String>,
    /// How many times it ran.
    pub run_count: i64,
    /// How many of those succeeded.
    pub success_count: i64,
    /// When it was last changed through gvpie.
    pub updated_at: Option<String>,
    /// The file it was imported from, if any.
    pub source_file: Option<String>,
    /// The script it was derived from (the improvement engine's improved versions).
    pub parent_script_id: Option<i64>,
    /// Its latest execution.
    pub last_iteration: Option<i64>,
    /// When it was archived ([`Store::archive_script`]: hidden, never run, its executions kept);
    /// `None` for a live script.
    #[serde(default)]
    pub archived_at: Option<String>,
}

/// A script to add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewScript {
    /// Unique name.
    pub name: String,
    /// `pixel` or `cartridge`.
    pub lang: String,
    /// What it is for.
    #[serde(default)]
    pub purpose: Option<String>,
    /// The program.
    pub code: String,
    /// Whether the daemon runs it (default true).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The script it improves on, if any.
    #[serde(default)]
    pub parent_script_id: Option<i64>,
}

fn default_true() -> bool {
    true
}

/// Changes to a script; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScriptUpdate {
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
    /// A new language.
    #[serde(default)]
    pub lang: Option<String>,
    /// A new purpose (`Some(None)` clears it).
    #[serde(default)]
    pub purpose: Option<Option<String>>,
    /// New code.
    #[serde(default)]
    pub code: Option<String>,
    /// Enable or disable.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A script as defined in a file of a scripts folder.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedScript {
    /// Unique name.
    pub name: String,
    /// Language.
    pub lang: String,
    /// Purpose.
    pub purpose: Option<String>,
    /// Code.
    pub code: String,
    /// Enabled.
    pub enabled: bool,
}

/// What a seed-style `.sql` file defines, read by [`parse_script_sql`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SqlScriptFile {
    /// The scripts it inserts.
    pub scripts: Vec<ImportedScript>,
    /// The development goals it inserts (goal text, priority).
    pub goals: Vec<(String, i64)>,
}

/// The columns [`script_from_row`] reads; `{len}` is the byte length of `code`, which the two
/// dialects spell differently ([`script_columns`]).
const SCRIPT_COLUMNS: &str = "id, name, lang, purpose, code, enabled, created_at, last_run_at, run_count, \
     success_count, updated_at, source_file, parent_script_id, last_iteration, {len}, archived_at";

fn script_columns(db: &Db) -> String {
    SCRIPT_COLUMNS.replace("{len}", db.pick("length(CAST(code AS BLOB))", "octet_length(code)"))
}

fn script_from_row(row: &Row, max_code: Option<i64>) -> Result<Script> {
    let code_len = row.int(14).unwrap_or(0);
    let code = if max_code.is_some_and(|max| code_len > max) { None } else { row.text(4) };
    Ok(Script {
        id: row.get(0)?,
        name: row.text(1).unwrap_or_default(),
        lang: row.text(2).unwrap_or_default(),
        purpose: row.text(3),
        code,
        code_len,
        enabled: row.int(5) == Some(1),
        created_at: row.text(6),
        last_run_at: row.text(7),
        run_count: row.int(8).unwrap_or(0),
        success_count: row.int(9).unwrap_or(0),
        updated_at: row.text(10),
        source_file: row.text(11),
        parent_script_id: row.int(12),
        last_iteration: row.int(13),
        archived_at: row.text(15),
    })
}

/// Script `id`, its code read only when at most `max_code_bytes` long (as in `scripts_due`):
/// an agent's claimed script.
pub(crate) fn script_limited(db: &Db, id: i64, max_code_bytes: i64) -> Result<Option<Script>> {
    let sql = format!("SELECT {} FROM improvement_scripts WHERE id = ?1", script_columns(db));
    db.query_opt(&sql, params![id])?.map(|row| script_from_row(&row, Some(max_code_bytes))).transpose()
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(StoreError::Invalid("a script needs a name".to_string()));
    }
    if name.len() > 200 {
        return Err(StoreError::Invalid("a script name is at most 200 bytes".to_string()));
    }
    Ok(())
}

/// A script derived from another one (an optimize goal's best program), kept beside the original: added
/// disabled, and updated by name only while the row with that name is derived from the same original.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DerivedScript {
    /// Its name, e.g. `gradient.optimized`.
    pub name: String,
    /// Its language.
    pub lang: String,
    /// What it is for.
    pub purpose: Option<String>,
    /// The program.
    pub code: String,
    /// The original it was derived from, if it still exists.
    pub parent_script_id: Option<i64>,
}

/// Adds `script` (disabled) or updates the code and purpose of the row with its name, but only when that row
/// is derived from the same original (so a script of that name made by hand, or any original, is never
/// overwritten). Returns whether a row was written.
pub(crate) fn upsert_derived_in(db: &Db, script: &DerivedScript) -> Result<bool> {
    check_name(&script.name)?;
    let changed = db.execute(
        "INSERT INTO improvement_scripts (name, lang, purpose, code, enabled, created_at, updated_at, \
         parent_script_id) VALUES (?1, ?2, ?3, ?4, 0, datetime('now'), datetime('now'), ?5) \
         ON CONFLICT(name) DO UPDATE SET code = excluded.code, purpose = excluded.purpose, \
         updated_at = excluded.updated_at \
         WHERE improvement_scripts.parent_script_id IS NOT DISTINCT FROM excluded.parent_script_id \
         AND improvement_scripts.id IS DISTINCT FROM excluded.parent_script_id",
        params![&script.name, &script.lang, &script.purpose, &script.code, script.parent_script_id],
    )?;
    Ok(changed > 0)
}

impl Store {
    fn scripts_where(&self, condition: &str, params: &[Value], max_code: Option<i64>) -> Result<Vec<Script>> {
        let sql = format!("SELECT {} FROM improvement_scripts {condition}", script_columns(&self.db));
        self.db.query_all(&sql, params)?.iter().map(|row| script_from_row(row, max_code)).collect()
    }

    /// Every script, by id.
    pub fn list_scripts(&self) -> Result<Vec<Script>> {
        self.scripts_where("ORDER BY id", params![], None)
    }

    /// One script by id.
    pub fn script(&self, id: i64) -> Result<Option<Script>> {
        Ok(self.scripts_where("WHERE id = ?1", params![id], None)?.into_iter().next())
    }

    /// One script by name.
    pub fn script_by_name(&self, name: &str) -> Result<Option<Script>> {
        Ok(self.scripts_where("WHERE name = ?1", params![name], None)?.into_iter().next())
    }

    /// The enabled scripts to run next: never-run ones first, then the least recently run;
    /// at most `limit`. A `code` longer than `max_code_bytes` is left out (`None`, with its
    /// length in `code_len`) so a huge row costs no memory.
    pub fn scripts_due(&self, limit: usize, max_code_bytes: i64) -> Result<Vec<Script>> {
        // The code is read only when short enough: a huge row costs no memory.
        let columns = script_columns(&self.db).replacen(
            "code,",
            &format!(
                "CASE WHEN {} <= CAST(?2 AS BIGINT) THEN code END,",
                self.db.pick("length(CAST(code AS BLOB))", "octet_length(code)")
            ),
            1,
        );
        let sql = format!(
            "SELECT {columns} FROM improvement_scripts WHERE enabled = 1 AND archived_at IS NULL \
             ORDER BY last_run_at ASC NULLS FIRST, id ASC LIMIT ?1"
        );
        self.db
            .query_all(&sql, params![limit, max_code_bytes])?
            .iter()
            .map(|row| script_from_row(row, Some(max_code_bytes)))
            .collect()
    }

    /// Adds a script.
    pub fn create_script(&self, new: &NewScript) -> Result<Script> {
        check_name(&new.name)?;
        // Checked here rather than left to the foreign key, whose error does not say which value is wrong.
        if let Some(parent) = new.parent_script_id
            && self.script(parent)?.is_none()
        {
            return Err(StoreError::Invalid(format!("parent_script_id {parent}: there is no script with that id")));
        }
        let inserted = self.db.query_opt(
            "INSERT INTO improvement_scripts (name, lang, purpose, code, enabled, created_at, updated_at, \
             parent_script_id) VALUES (?1, ?2, ?3, ?4, ?5, datetime('now'), datetime('now'), ?6) \
             ON CONFLICT(name) DO NOTHING RETURNING id",
            params![&new.name, &new.lang, &new.purpose, &new.code, new.enabled, new.parent_script_id],
        )?;
        let Some(row) = inserted else {
            return Err(StoreError::Invalid(format!("a script named '{}' already exists", new.name)));
        };
        let id: i64 = row.get(0)?;
        self.script(id)?.ok_or_else(|| StoreError::NotFound(format!("script {id}")))
    }

    /// Changes a script's fields (its statistics and history stay).
    pub fn update_script(&self, id: i64, update: &ScriptUpdate) -> Result<Script> {
        if let Some(name) = &update.name {
            check_name(name)?;
        }
        if update.enabled == Some(true)
            && let Some(script) = self.script(id)?
            && script.archived_at.is_some()
        {
            return Err(StoreError::Invalid(format!(
                "script {id} ('{}') is archived; it cannot be enabled again (add it anew under another name)",
                script.name
            )));
        }
        let purpose_given = update.purpose.is_some();
        let purpose = update.purpose.clone().flatten();
        let changed = self
            .db
            .execute(
                "UPDATE improvement_scripts SET name = COALESCE(?2, name), lang = COALESCE(?3, lang), \
                 purpose = CASE WHEN ?4 THEN ?5 ELSE purpose END, code = COALESCE(?6, code), \
                 enabled = COALESCE(?7, enabled), updated_at = datetime('now') WHERE id = ?1",
                params![id, &update.name, &update.lang, purpose_given, purpose, &update.code, update.enabled],
            )
            .map_err(|e| match e.kind {
                DbErrorKind::Unique => StoreError::Invalid(format!(
                    "a script named '{}' already exists",
                    update.name.as_deref().unwrap_or("")
                )),
                _ => StoreError::from(e),
            })?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("script {id}")));
        }
        self.script(id)?.ok_or_else(|| StoreError::NotFound(format!("script {id}")))
    }

    /// Adds or updates a derived script by name (see [`DerivedScript`]); returns whether a row was written.
    pub fn upsert_derived_script(&self, script: &DerivedScript) -> Result<bool> {
        upsert_derived_in(&self.db, script)
    }

    /// Archives a script: a soft delete. It is disabled for good (enabling it again is refused),
    /// hidden from the API's and the CLI's lists, and its row stays, so every execution that
    /// names it stays replayable (the infinite map is append-only). Archiving twice keeps the
    /// first time.
    pub fn archive_script(&self, id: i64) -> Result<Script> {
        let changed = self.db.execute(
            "UPDATE improvement_scripts SET enabled = 0, archived_at = COALESCE(archived_at, datetime('now')), \
             updated_at = datetime('now') WHERE id = ?1",
            params![id],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("script {id}")));
        }
        self.script(id)?.ok_or_else(|| StoreError::NotFound(format!("script {id}")))
    }

    /// Enables or disables a script.
    pub fn set_script_enabled(&self, id: i64, enabled: bool) -> Result<Script> {
        self.update_script(id, &ScriptUpdate { enabled: Some(enabled), ..ScriptUpdate::default() })
    }

    /// Adds or updates scripts by name, as a folder import does: the id, statistics and history
    /// of an existing script stay; its language, purpose, code and enabled flag are replaced.
    /// Returns the ids.
    pub fn upsert_scripts(&mut self, scripts: &[ImportedScript], source_file: Option<&str>) -> Result<Vec<i64>> {
        self.db.transaction(|tx| -> Result<Vec<i64>> {
            let mut ids = Vec::with_capacity(scripts.len());
            for script in scripts {
                check_name(&script.name)?;
                let row = tx.query_row(
                    "INSERT INTO improvement_scripts (name, lang, purpose, code, enabled, created_at, updated_at, \
                     source_file) VALUES (?1, ?2, ?3, ?4, ?5, datetime('now'), datetime('now'), ?6) \
                     ON CONFLICT(name) DO UPDATE SET lang = excluded.lang, purpose = excluded.purpose, \
                     code = excluded.code, enabled = excluded.enabled, updated_at = excluded.updated_at, \
                     source_file = excluded.source_file RETURNING id",
                    params![&script.name, &script.lang, &script.purpose, &script.code, script.enabled, source_file],
                )?;
                ids.push(row.get(0)?);
            }
            Ok(ids)
        })
    }

    /// Adds development goals whose text is not already there (so re-importing a file adds
    /// nothing twice). Returns how many were added.
    pub fn add_goals_if_new(&mut self, goals: &[(String, i64)]) -> Result<usize> {
        self.db.transaction(|tx| -> Result<usize> {
            // Two importers at once must not both see the goal missing.
            tx.lock("development_goals import")?;
            let mut added = 0;
            for (goal, priority) in goals {
                added += tx.execute(
                    "INSERT INTO development_goals (goal, priority, created_at) \
                     SELECT CAST(?1 AS TEXT), CAST(?2 AS INTEGER), datetime('now') \
                     WHERE NOT EXISTS (SELECT 1 FROM development_goals WHERE goal = ?1)",
                    params![goal, *priority],
                )?;
            }
            Ok(added)
        })
    }
}

/// Runs a seed-style script file (`INSERT [OR REPLACE] INTO improvement_scripts ...`,
/// `INSERT INTO development_goals ...`) in a private in-memory database that has the seed's
/// two tables, and returns what it inserted. Nothing in the file can touch the real database:
/// it never sees it, and `ATTACH` is disabled.
pub fn parse_script_sql(sql: &str) -> Result<SqlScriptFile> {
    let conn = rusqlite::Connection::open_in_memory()?;
    conn.set_limit(rusqlite::limits::Limit::SQLITE_LIMIT_ATTACHED, 0)?;
    conn.execute_batch(
        "CREATE TABLE improvement_scripts (
            id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, lang TEXT NOT NULL, purpose TEXT,
            code TEXT NOT NULL, enabled INTEGER DEFAULT 1, created_at TEXT NOT NULL DEFAULT (datetime('now')),
            last_run_at TEXT, run_count INTEGER DEFAULT 0, success_count INTEGER DEFAULT 0);
         CREATE TABLE development_goals (
            id INTEGER PRIMARY KEY AUTOINCREMENT, goal TEXT NOT NULL, priority INTEGER DEFAULT 5,
            completed INTEGER DEFAULT 0, created_at TEXT NOT NULL DEFAULT (datetime('now')), completed_at TEXT);",
    )?;
    conn.execute_batch(sql).map_err(|e| StoreError::Invalid(format!("the SQL file does not run: {e}")))?;
    let mut file = SqlScriptFile::default();
    let sandbox = Db::sqlite(conn);
    file.scripts = sandbox
        .query_all("SELECT name, lang, purpose, code, enabled FROM improvement_scripts ORDER BY id", params![])?
        .iter()
        .map(|row| ImportedScript {
            name: row.text(0).unwrap_or_default(),
            lang: row.text(1).unwrap_or_default(),
            purpose: row.text(2),
            code: row.text(3).unwrap_or_default(),
            enabled: row.int(4) == Some(1),
        })
        .collect();
    file.goals = sandbox
        .query_all("SELECT goal, priority FROM development_goals ORDER BY id", params![])?
        .iter()
        .map(|row| (row.text(0).unwrap_or_default(), row.int(1).unwrap_or(5)))
        .collect();
    Ok(file)
}

/// What the store remembers of an imported file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedFile {
    /// The file's path as given to the import.
    pub path: String,
    /// Its modification time (ns since the epoch) at import.
    pub mtime_ns: i64,
    /// Its size at import.
    pub size: i64,
    /// SHA-256 of its bytes at import.
    pub hash: crate::hash::Hash,
    /// Scripts it defined (comma-separated names).
    pub scripts: Option<String>,
    /// Why it could not be imported, if so.
    pub error: Option<String>,
}

impl Store {
    /// The import record of `path`, if it was imported before.
    pub fn imported_file(&self, path: &str) -> Result<Option<ImportedFile>> {
        let row = self.db.query_opt(
            "SELECT path, mtime_ns, size, hash, scripts, error FROM imported_files WHERE path = ?1",
            params![path],
        )?;
        let Some(row) = row else { return Ok(None) };
        let hash: Vec<u8> = row.get(3)?;
        Ok(Some(ImportedFile {
            path: row.get(0)?,
            mtime_ns: row.get(1)?,
            size: row.get(2)?,
            hash: crate::hash::Hash::from_slice(&hash).unwrap_or(crate::hash::Hash([0; 32])),
            scripts: row.get(4)?,
            error: row.get(5)?,
        }))
    }

    /// Remembers that `file` was imported (or failed to be).
    pub fn mark_imported(&self, file: &ImportedFile) -> Result<()> {
        self.db.execute(
            "INSERT INTO imported_files (path, mtime_ns, size, hash, imported_ms, scripts, error) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT(path) DO UPDATE SET mtime_ns = excluded.mtime_ns, size = excluded.size, \
             hash = excluded.hash, imported_ms = excluded.imported_ms, scripts = excluded.scripts, \
             error = excluded.error",
            params![
                &file.path,
                file.mtime_ns,
                file.size,
                &file.hash.0[..],
                crate::time::now_ms(),
                &file.scripts,
                &file.error
            ],
        )?;
        Ok(())
    }
}
