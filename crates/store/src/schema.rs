//! The schema and its versioned migrations, applied in order when a store opens.
//!
//! Each migration runs in its own transaction together with the row that records it in
//! `schema_version`, so a crash mid-migration leaves the previous version intact.
//! Migrations are append-only: to change the schema, add migration N+1 at the end of
//! [`MIGRATIONS`]; never edit one that has shipped.
//!
//! The seed's six names keep the seed's columns (extra columns of ours come after them).
//! `infinite_map` and `improvement_runs` are views over the compact `executions` table, so an
//! execution of an already-seen program costs one small row; see the crate docs.

use crate::db::{Db, Dialect};
use crate::error::{Result, StoreError};
use crate::params;

/// One schema step.
pub(crate) struct Migration {
    /// The version the database has after this step.
    pub version: i64,
    /// What it does, recorded in `schema_version`.
    pub description: &'static str,
    /// The SQLite statements.
    pub sqlite: &'static str,
    /// The same step for PostgreSQL: same tables, columns, views and refusals.
    pub postgres: &'static str,
}

/// Every migration, oldest first.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "seed tables, executions, programs, images, leases",
        sqlite: V1,
        postgres: PG_V1,
    },
    Migration {
        version: 2,
        description: "llm_proposals: every LLM proposal of the goal engine",
        sqlite: V2,
        postgres: PG_V2,
    },
    Migration {
        version: 3,
        description: "self-set goals (development_goals.origin) and adoptions",
        sqlite: V3,
        postgres: PG_V3,
    },
    Migration {
        version: 4,
        description: "archived scripts (improvement_scripts.archived_at)",
        sqlite: V4,
        postgres: PG_V4,
    },
    Migration {
        version: 5,
        description: "agents, work claims, goal islands, verifications; executions.agent_id",
        sqlite: crate::agents::SQLITE_MIGRATION,
        postgres: crate::agents::POSTGRES_MIGRATION,
    },
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

/// The advisory lock that serialises migrations on PostgreSQL (two processes opening a new
/// database at once: one migrates, the other waits and finds it done).
const MIGRATION_LOCK: &str = "schema migration";

const SQLITE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (datetime('now'))
);";

// No datetime() of ours yet when this runs (migration 1 defines it).
const POSTGRES_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_version (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
);";

fn current_version(db: &Db) -> Result<i64> {
    Ok(db.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", params![])?.get(0)?)
}

/// Applies every migration newer than the database's version, each in its own transaction
/// with its `schema_version` row (on PostgreSQL, DDL is transactional too: a failed step
/// leaves the previous version intact).
pub(crate) fn migrate(db: &Db) -> Result<()> {
    let current = match db.dialect() {
        // Outside a transaction, so a read-only database whose schema is current still opens.
        Dialect::Sqlite => {
            db.execute_batch(SQLITE_VERSION_TABLE)?;
            current_version(db)?
        }
        Dialect::Postgres => {
            let exists: bool =
                db.query_row("SELECT to_regclass('public.schema_version') IS NOT NULL", params![])?.get(0)?;
            if exists {
                current_version(db)?
            } else {
                db.transaction(|tx| -> Result<i64> {
                    tx.lock(MIGRATION_LOCK)?;
                    tx.execute_batch(POSTGRES_VERSION_TABLE)?;
                    current_version(tx)
                })?
            }
        }
    };
    if current > latest_version() {
        return Err(StoreError::NewerSchema { found: current, known: latest_version() });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        db.transaction(|tx| -> Result<()> {
            tx.lock(MIGRATION_LOCK)?;
            // Another process may have migrated between our read and our lock.
            if current_version(tx)? >= migration.version {
                return Ok(());
            }
            tx.execute_batch(tx.pick(migration.sqlite, migration.postgres))
                .map_err(|e| StoreError::Database(format!("migration {} failed: {}", migration.version, e.message)))?;
            tx.execute(
                "INSERT INTO schema_version (version, description) VALUES (?1, ?2)",
                params![migration.version, migration.description],
            )?;
            Ok(())
        })?;
    }
    Ok(())
}

const V1: &str = r#"
-- The seed's tables: names, columns and defaults as the seed's daemon created them, so the
-- seed's documented SQL works unchanged. Our columns come after the seed's.
-- Differences, on purpose: `lang` has no CHECK (an unknown language must reach the daemon and
-- become a failed run, not be refused by the database) and `created_at` defaults to now.
CREATE TABLE improvement_scripts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    lang TEXT NOT NULL,
    purpose TEXT,
    code TEXT NOT NULL,
    enabled INTEGER DEFAULT 1,
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    last_run_at TEXT,
    run_count INTEGER DEFAULT 0,
    success_count INTEGER DEFAULT 0,
    updated_at TEXT,
    source_file TEXT,
    parent_script_id INTEGER REFERENCES improvement_scripts(id),
    last_iteration INTEGER,
    last_program_id INTEGER
);
-- Never-run scripts first (NULL sorts first), then least recently run.
CREATE INDEX improvement_scripts_due ON improvement_scripts (enabled, last_run_at, id);

CREATE TABLE development_goals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    goal TEXT NOT NULL,
    priority INTEGER DEFAULT 5,
    completed INTEGER DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    completed_at TEXT,
    kind TEXT NOT NULL DEFAULT 'note',
    spec TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    best_iteration INTEGER,
    best_score REAL,
    updated_at TEXT
);

CREATE TABLE system_metrics (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    metric_value REAL NOT NULL,
    context TEXT
);
CREATE INDEX system_metrics_name ON system_metrics (metric_name, id);

-- Content-addressed stores. Every hash is SHA-256 (32 bytes).
CREATE TABLE texts (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    text TEXT NOT NULL
);
CREATE TABLE blobs (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    bytes BLOB NOT NULL
);
-- A program is its machine texture; `hash` is the SHA-256 of the texture bytes.
CREATE TABLE programs (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    texture BLOB NOT NULL,
    source_id INTEGER REFERENCES texts(id),
    n_records INTEGER NOT NULL,
    opcodes TEXT NOT NULL,
    parent_id INTEGER REFERENCES programs(id),
    created_ms INTEGER NOT NULL
);
CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    png BLOB,
    first_iteration INTEGER
);

CREATE TABLE cartridge_registry (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK(kind IN ('pixel', 'code', 'dataset', 'prompt')),
    checksum TEXT,
    width INTEGER,
    height INTEGER,
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    parent_id INTEGER,
    executed_count INTEGER DEFAULT 0,
    blob_id INTEGER REFERENCES blobs(id),
    program_id INTEGER REFERENCES programs(id),
    FOREIGN KEY (parent_id) REFERENCES cartridge_registry(id)
);
CREATE INDEX cartridge_registry_checksum ON cartridge_registry (checksum);

-- One row per execution: the eternal memory. `iteration` is the rowid: unique, and assigned as
-- MAX + 1 inside the writing transaction, so it keeps growing across restarts. Append-only:
-- the triggers below refuse every UPDATE and DELETE.
-- backend: 0 cpu, 1 gpu, 2 none (the program never ran: parse error, bad row).
CREATE TABLE executions (
    iteration INTEGER PRIMARY KEY,
    started_ms INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    success INTEGER NOT NULL,
    cycles INTEGER NOT NULL,
    backend INTEGER NOT NULL,
    script_id INTEGER,
    goal_id INTEGER,
    program_id INTEGER,
    code_id INTEGER,
    task_id INTEGER,
    error_id INTEGER,
    image_id INTEGER,
    width INTEGER,
    height INTEGER,
    budget INTEGER,
    parent_iteration INTEGER,
    generator_id INTEGER,
    score REAL
);
CREATE INDEX executions_script ON executions (script_id) WHERE script_id IS NOT NULL;
CREATE INDEX executions_goal ON executions (goal_id) WHERE goal_id IS NOT NULL;
CREATE INDEX executions_parent ON executions (parent_iteration) WHERE parent_iteration IS NOT NULL;
CREATE INDEX executions_time ON executions (started_ms);

-- Further parents (crossover); the first parent is executions.parent_iteration.
CREATE TABLE execution_parents (
    iteration INTEGER NOT NULL,
    parent_iteration INTEGER NOT NULL,
    PRIMARY KEY (iteration, parent_iteration)
) WITHOUT ROWID;
CREATE INDEX execution_parents_parent ON execution_parents (parent_iteration);

CREATE TRIGGER executions_append_only_update BEFORE UPDATE ON executions
BEGIN SELECT RAISE(ABORT, 'infinite_map is append-only: an execution cannot be changed'); END;
CREATE TRIGGER executions_append_only_delete BEFORE DELETE ON executions
BEGIN SELECT RAISE(ABORT, 'infinite_map is append-only: an execution cannot be deleted'); END;
CREATE TRIGGER execution_parents_append_only_update BEFORE UPDATE ON execution_parents
BEGIN SELECT RAISE(ABORT, 'infinite_map is append-only: lineage cannot be changed'); END;
CREATE TRIGGER execution_parents_append_only_delete BEFORE DELETE ON execution_parents
BEGIN SELECT RAISE(ABORT, 'infinite_map is append-only: lineage cannot be deleted'); END;

-- The seed's infinite_map, with the seed's columns first.
CREATE VIEW infinite_map AS
SELECT
    e.iteration AS id,
    e.iteration AS iteration,
    task.text AS task_description,
    code.text AS code,
    json_object(
        'success', json(CASE WHEN e.success THEN 'true' ELSE 'false' END),
        'cycles', e.cycles,
        'backend', CASE e.backend WHEN 0 THEN 'cpu' WHEN 1 THEN 'gpu' ELSE 'none' END,
        'duration_ms', e.duration_us / 1000.0,
        'error', json(err.text)
    ) AS result,
    printf('Success: %s, Cycles: %d, Duration: %.3fms',
        CASE WHEN e.success THEN 'true' ELSE 'false' END, e.cycles, e.duration_us / 1000.0) AS analysis,
    strftime('%Y-%m-%d %H:%M:%S', e.started_ms / 1000, 'unixepoch') || printf('.%03d', e.started_ms % 1000)
        AS timestamp,
    e.parent_iteration AS parent_iteration,
    e.script_id AS script_id,
    e.goal_id AS goal_id,
    lower(hex(p.hash)) AS program_hash,
    lower(hex(img.hash)) AS image_hash,
    gen.text AS generator,
    e.score AS score
FROM executions e
LEFT JOIN texts task ON task.id = e.task_id
LEFT JOIN texts code ON code.id = e.code_id
LEFT JOIN texts err ON err.id = e.error_id
LEFT JOIN texts gen ON gen.id = e.generator_id
LEFT JOIN programs p ON p.id = e.program_id
LEFT JOIN images img ON img.id = e.image_id;

CREATE TRIGGER infinite_map_append_only_update INSTEAD OF UPDATE ON infinite_map
BEGIN SELECT RAISE(ABORT, 'infinite_map is append-only: an entry cannot be changed'); END;
CREATE TRIGGER infinite_map_append_only_delete INSTEAD OF DELETE ON infinite_map
BEGIN SELECT RAISE(ABORT, 'infinite_map is append-only: an entry cannot be deleted'); END;
CREATE TRIGGER infinite_map_insert INSTEAD OF INSERT ON infinite_map
BEGIN SELECT RAISE(ABORT, 'infinite_map entries are written by gvpie (the daemon or the store API)'); END;

-- The seed's improvement_runs: one row per script execution; its id is the iteration.
CREATE VIEW improvement_runs AS
SELECT
    e.iteration AS id,
    e.script_id AS script_id,
    strftime('%Y-%m-%d %H:%M:%S', e.started_ms / 1000, 'unixepoch') || printf('.%03d', e.started_ms % 1000)
        AS started_at,
    strftime('%Y-%m-%d %H:%M:%S', (e.started_ms + e.duration_us / 1000) / 1000, 'unixepoch')
        || printf('.%03d', (e.started_ms + e.duration_us / 1000) % 1000) AS finished_at,
    e.success AS success,
    json_object(
        'success', json(CASE WHEN e.success THEN 'true' ELSE 'false' END),
        'cycles', e.cycles,
        'backend', CASE e.backend WHEN 0 THEN 'cpu' WHEN 1 THEN 'gpu' ELSE 'none' END,
        'duration_ms', e.duration_us / 1000.0,
        'error', json(err.text)
    ) AS stdout,
    json_extract(err.text, '$.message') AS stderr,
    CAST(round(e.duration_us / 1000.0) AS INTEGER) AS duration_ms,
    CASE e.backend WHEN 0 THEN 'cpu' WHEN 1 THEN 'gpu' ELSE 'none' END AS backend,
    NULL AS cartridge_path,
    e.iteration AS iteration
FROM executions e
LEFT JOIN texts err ON err.id = e.error_id
WHERE e.script_id IS NOT NULL;

CREATE TRIGGER improvement_runs_append_only_update INSTEAD OF UPDATE ON improvement_runs
BEGIN SELECT RAISE(ABORT, 'improvement_runs is append-only: a run cannot be changed'); END;
CREATE TRIGGER improvement_runs_append_only_delete INSTEAD OF DELETE ON improvement_runs
BEGIN SELECT RAISE(ABORT, 'improvement_runs is append-only: a run cannot be deleted'); END;

-- Learned statistics: scope 'script' (key: script name), 'opcode' (key: mnemonic), and any
-- scope a later component adds (the improvement engine's generators). Histograms are JSON
-- arrays of counts per power-of-two bucket (bucket b holds values v with bit length b).
CREATE TABLE stats (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    runs INTEGER NOT NULL,
    successes INTEGER NOT NULL,
    cycles_sum INTEGER NOT NULL,
    cycles_min INTEGER,
    cycles_max INTEGER,
    duration_us_sum INTEGER NOT NULL,
    duration_us_min INTEGER,
    duration_us_max INTEGER,
    cycles_hist TEXT NOT NULL,
    duration_hist TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;

-- Who may run the daemon loop on this database (see the lease module).
CREATE TABLE daemon_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    process_start TEXT,
    acquired_ms INTEGER NOT NULL,
    heartbeat_ms INTEGER NOT NULL,
    ttl_ms INTEGER NOT NULL
);

-- Files imported from a scripts folder, to notice changes across restarts.
CREATE TABLE imported_files (
    path TEXT PRIMARY KEY,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    hash BLOB NOT NULL,
    imported_ms INTEGER NOT NULL,
    scripts TEXT,
    error TEXT
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"#;

const V2: &str = r#"
-- Every proposal a language model made for a goal, whatever became of it, so the prompts can be
-- judged later (the adopted ones are also executions; the others exist nowhere else).
-- outcome: adopted (kept as an execution), refused (a valid program, not better), rejected (not a
-- usable program for the goal), unavailable (the request failed). `source` is the program, or the
-- raw reply when none could be read; `iteration` is the execution kept for an adopted one.
-- Append-only, like the infinite map.
CREATE TABLE llm_proposals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    goal_id INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    generator TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK(outcome IN ('adopted', 'refused', 'rejected', 'unavailable')),
    reason TEXT,
    source TEXT,
    score REAL,
    iteration INTEGER
);
CREATE INDEX llm_proposals_goal ON llm_proposals (goal_id, id);

CREATE TRIGGER llm_proposals_append_only_update BEFORE UPDATE ON llm_proposals
BEGIN SELECT RAISE(ABORT, 'llm_proposals is append-only: a proposal cannot be changed'); END;
CREATE TRIGGER llm_proposals_append_only_delete BEFORE DELETE ON llm_proposals
BEGIN SELECT RAISE(ABORT, 'llm_proposals is append-only: a proposal cannot be deleted'); END;
"#;

const V4: &str = r#"
-- An archived script is a soft delete: hidden from lists, never run, never enabled again; its
-- executions stay in the infinite map and replayable. NULL for a live script.
ALTER TABLE improvement_scripts ADD COLUMN archived_at TEXT;
"#;

const V3: &str = r#"
-- A goal the daemon set itself names where it came from (`optimize:SCRIPT`, `explore:N`); a goal is set
-- once per origin, however many daemons share the database. Goals added by people have none.
ALTER TABLE development_goals ADD COLUMN origin TEXT;
CREATE UNIQUE INDEX development_goals_origin ON development_goals (origin) WHERE origin IS NOT NULL;

-- Every adoption of a successor: a program that draws exactly the original's pixels and frames in fewer
-- cycles, found by an optimize goal, now runs in the original's place (the original is disabled and kept
-- for replay). Append-only, like the infinite map.
CREATE TABLE adoptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_ms INTEGER NOT NULL,
    goal_id INTEGER NOT NULL,
    original TEXT NOT NULL,
    successor TEXT NOT NULL,
    original_cycles INTEGER NOT NULL,
    cycles INTEGER NOT NULL,
    iteration INTEGER
);
CREATE INDEX adoptions_original ON adoptions (original, id);

CREATE TRIGGER adoptions_append_only_update BEFORE UPDATE ON adoptions
BEGIN SELECT RAISE(ABORT, 'adoptions is append-only: an adoption cannot be changed'); END;
CREATE TRIGGER adoptions_append_only_delete BEFORE DELETE ON adoptions
BEGIN SELECT RAISE(ABORT, 'adoptions is append-only: an adoption cannot be deleted'); END;
"#;

// ---- PostgreSQL twins ----
//
// The same tables, columns, views and refusals. Integers are BIGINT (SQLite's INTEGER is 64
// bits), the seed's flags and small numbers INTEGER, reals DOUBLE PRECISION, blobs BYTEA, times
// TEXT in the SQLite side's format. `datetime(text)` is defined so the seed's SQL
// (`datetime('now')`) runs unchanged through psql. Append-only tables refuse UPDATE, DELETE and
// TRUNCATE with a statement trigger (so even a statement that matches no row is refused); the
// views refuse through INSTEAD OF triggers. Iterations come from a sequence. No foreign keys:
// SQLite declares them but does not enforce them, and the two backends must accept the same rows
// (a row typed in by hand, a cartridge naming a parent that is gone).

const PG_V1: &str = r#"
-- SQLite's datetime('now'), as text in the same format: the seed's SQL uses it.
CREATE FUNCTION datetime(what text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN lower(what) = 'now' THEN to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
        ELSE to_char(what::timestamp, 'YYYY-MM-DD HH24:MI:SS') END
$$;
-- Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS.SSS` UTC (time.rs's format_ms).
CREATE FUNCTION gvpie_ms_text(ms bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(TIMESTAMP '1970-01-01' + ms * INTERVAL '1 millisecond', 'YYYY-MM-DD HH24:MI:SS.MS')
$$;
-- `text::json`, but NULL where the text is not JSON (a hand-typed spec must not break a query).
CREATE FUNCTION gvpie_json(text) RETURNS json LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN $1::json;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;
-- The append-only refusal: raises the message given as the trigger's argument.
CREATE FUNCTION gvpie_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TABLE improvement_scripts (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    lang TEXT NOT NULL,
    purpose TEXT,
    code TEXT NOT NULL,
    enabled INTEGER DEFAULT 1,
    created_at TEXT NOT NULL DEFAULT datetime('now'),
    last_run_at TEXT,
    run_count BIGINT DEFAULT 0,
    success_count BIGINT DEFAULT 0,
    updated_at TEXT,
    source_file TEXT,
    parent_script_id BIGINT,
    last_iteration BIGINT,
    last_program_id BIGINT
);
CREATE INDEX improvement_scripts_due ON improvement_scripts (enabled, last_run_at, id);

CREATE TABLE development_goals (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    goal TEXT NOT NULL,
    priority INTEGER DEFAULT 5,
    completed INTEGER DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT datetime('now'),
    completed_at TEXT,
    kind TEXT NOT NULL DEFAULT 'note',
    spec TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    best_iteration BIGINT,
    best_score DOUBLE PRECISION,
    updated_at TEXT
);

CREATE TABLE system_metrics (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    timestamp TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    metric_value DOUBLE PRECISION NOT NULL,
    context TEXT
);
CREATE INDEX system_metrics_name ON system_metrics (metric_name, id);

CREATE TABLE texts (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    hash BYTEA NOT NULL UNIQUE,
    text TEXT NOT NULL
);
CREATE TABLE blobs (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    hash BYTEA NOT NULL UNIQUE,
    bytes BYTEA NOT NULL
);
CREATE TABLE programs (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    hash BYTEA NOT NULL UNIQUE,
    texture BYTEA NOT NULL,
    source_id BIGINT,
    n_records BIGINT NOT NULL,
    opcodes TEXT NOT NULL,
    parent_id BIGINT,
    created_ms BIGINT NOT NULL
);
CREATE TABLE images (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    hash BYTEA NOT NULL UNIQUE,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    png BYTEA,
    first_iteration BIGINT
);

CREATE TABLE cartridge_registry (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK(kind IN ('pixel', 'code', 'dataset', 'prompt')),
    checksum TEXT,
    width BIGINT,
    height BIGINT,
    created_at TEXT NOT NULL DEFAULT datetime('now'),
    parent_id BIGINT,
    executed_count BIGINT DEFAULT 0,
    blob_id BIGINT,
    program_id BIGINT
);
CREATE INDEX cartridge_registry_checksum ON cartridge_registry (checksum);

-- The eternal memory. Iterations come from the sequence: unique and growing however many
-- processes write at once (a rolled-back batch leaves a gap).
CREATE SEQUENCE executions_iteration_seq;
CREATE TABLE executions (
    iteration BIGINT PRIMARY KEY DEFAULT nextval('executions_iteration_seq'),
    started_ms BIGINT NOT NULL,
    duration_us BIGINT NOT NULL,
    success INTEGER NOT NULL,
    cycles BIGINT NOT NULL,
    backend INTEGER NOT NULL,
    script_id BIGINT,
    goal_id BIGINT,
    program_id BIGINT,
    code_id BIGINT,
    task_id BIGINT,
    error_id BIGINT,
    image_id BIGINT,
    width BIGINT,
    height BIGINT,
    budget BIGINT,
    parent_iteration BIGINT,
    generator_id BIGINT,
    score DOUBLE PRECISION
);
ALTER SEQUENCE executions_iteration_seq OWNED BY executions.iteration;
CREATE INDEX executions_script ON executions (script_id) WHERE script_id IS NOT NULL;
CREATE INDEX executions_goal ON executions (goal_id) WHERE goal_id IS NOT NULL;
CREATE INDEX executions_parent ON executions (parent_iteration) WHERE parent_iteration IS NOT NULL;
CREATE INDEX executions_time ON executions (started_ms);

CREATE TABLE execution_parents (
    iteration BIGINT NOT NULL,
    parent_iteration BIGINT NOT NULL,
    PRIMARY KEY (iteration, parent_iteration)
);
CREATE INDEX execution_parents_parent ON execution_parents (parent_iteration);

CREATE TRIGGER executions_append_only_update BEFORE UPDATE ON executions FOR EACH STATEMENT
EXECUTE FUNCTION gvpie_refuse('infinite_map is append-only: an execution cannot be changed');
CREATE TRIGGER executions_append_only_delete BEFORE DELETE ON executions FOR EACH STATEMENT
EXECUTE FUNCTION gvpie_refuse('infinite_map is append-only: an execution cannot be deleted');
CREATE TRIGGER executions_append_only_truncate BEFORE TRUNCATE ON executions FOR EACH STATEMENT
EXECUTE FUNCTION gvpie_refuse('infinite_map is append-only: executions cannot be truncated');
CREATE TRIGGER execution_parents_append_only_update BEFORE UPDATE ON execution_parents FOR EACH STATEMENT
EXECUTE FUNCTION gvpie_refuse('infinite_map is append-only: lineage cannot be changed');
CREATE TRIGGER execution_parents_append_only_delete BEFORE DELETE ON execution_parents FOR EACH STATEMENT
EXECUTE FUNCTION gvpie_refuse('infinite_map is append-only: lineage cannot be deleted');
CREATE TRIGGER execution_parents_append_only_truncate BEFORE TRUNCATE ON execution_parents FOR EACH STATEMENT
EXECUTE FUNCTION gvpie_refuse('infinite_map is append-only: lineage cannot be truncated');

CREATE VIEW infinite_map AS
SELECT
    e.iteration AS id,
    e.iteration AS iteration,
    task.text AS task_description,
    code.text AS code,
    json_build_object(
        'success', e.success <> 0,
        'cycles', e.cycles,
        'backend', CASE e.backend WHEN 0 THEN 'cpu' WHEN 1 THEN 'gpu' ELSE 'none' END,
        'duration_ms', e.duration_us / 1000.0::float8,
        'error', gvpie_json(err.text)
    )::text AS result,
    format('Success: %s, Cycles: %s, Duration: %sms',
        CASE WHEN e.success <> 0 THEN 'true' ELSE 'false' END, e.cycles,
        to_char(e.duration_us / 1000.0, 'FM9999999999999990.000')) AS analysis,
    gvpie_ms_text(e.started_ms) AS timestamp,
    e.parent_iteration AS parent_iteration,
    e.script_id AS script_id,
    e.goal_id AS goal_id,
    encode(p.hash, 'hex') AS program_hash,
    encode(img.hash, 'hex') AS image_hash,
    gen.text AS generator,
    e.score AS score
FROM executions e
LEFT JOIN texts task ON task.id = e.task_id
LEFT JOIN texts code ON code.id = e.code_id
LEFT JOIN texts err ON err.id = e.error_id
LEFT JOIN texts gen ON gen.id = e.generator_id
LEFT JOIN programs p ON p.id = e.program_id
LEFT JOIN images img ON img.id = e.image_id;

CREATE TRIGGER infinite_map_append_only_update INSTEAD OF UPDATE ON infinite_map FOR EACH ROW
EXECUTE FUNCTION gvpie_refuse('infinite_map is append-only: an entry cannot be changed');
CREATE TRIGGER infinite_map_append_only_delete INSTEAD OF DELETE ON infinite_map FOR EACH ROW
EXECUTE FUNCTION gvpie_refuse('infinite_map is append-only: an entry cannot be deleted');
CREATE TRIGGER infinite_map_insert INSTEAD OF INSERT ON infinite_map FOR EACH ROW
EXECUTE FUNCTION gvpie_refuse('infinite_map entries are written by gvpie (the daemon or the store API)');

CREATE VIEW improvement_runs AS
SELECT
    e.iteration AS id,
    e.script_id AS script_id,
    gvpie_ms_text(e.started_ms) AS started_at,
    gvpie_ms_text(e.started_ms + e.duration_us / 1000) AS finished_at,
    e.success AS success,
    json_build_object(
        'success', e.success <> 0,
        'cycles', e.cycles,
        'backend', CASE e.backend WHEN 0 THEN 'cpu' WHEN 1 THEN 'gpu' ELSE 'none' END,
        'duration_ms', e.duration_us / 1000.0::float8,
        'error', gvpie_json(err.text)
    )::text AS stdout,
    gvpie_json(err.text) ->> 'message' AS stderr,
    round(e.duration_us / 1000.0)::bigint AS duration_ms,
    CASE e.backend WHEN 0 THEN 'cpu' WHEN 1 THEN 'gpu' ELSE 'none' END AS backend,
    NULL::text AS cartridge_path,
    e.iteration AS iteration
FROM executions e
LEFT JOIN texts err ON err.id = e.error_id
WHERE e.script_id IS NOT NULL;

CREATE TRIGGER improvement_runs_append_only_update INSTEAD OF UPDATE ON improvement_runs FOR EACH ROW
EXECUTE FUNCTION gvpie_refuse('improvement_runs is append-only: a run cannot be changed');
CREATE TRIGGER improvement_runs_append_only_delete INSTEAD OF DELETE ON improvement_runs FOR EACH ROW
EXECUTE FUNCTION gvpie_refuse('improvement_runs is append-only: a run cannot be deleted');

CREATE TABLE stats (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    runs BIGINT NOT NULL,
    successes BIGINT NOT NULL,
    cycles_sum BIGINT NOT NULL,
    cycles_min BIGINT,
    cycles_max BIGINT,
    duration_us_sum BIGINT NOT NULL,
    duration_us_min BIGINT,
    duration_us_max BIGINT,
    cycles_hist TEXT NOT NULL,
    duration_hist TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE daemon_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    pid BIGINT NOT NULL,
    host TEXT NOT NULL,
    process_start TEXT,
    acquired_ms BIGINT NOT NULL,
    heartbeat_ms BIGINT NOT NULL,
    ttl_ms BIGINT NOT NULL
);

CREATE TABLE imported_files (
    path TEXT PRIMARY KEY,
    mtime_ns BIGINT NOT NULL,
    size BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    imported_ms BIGINT NOT NULL,
    scripts TEXT,
    error TEXT
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
"#;

const PG_V2: &str = r#"
CREATE TABLE llm_proposals (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    goal_id BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    generator TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK(outcome IN ('adopted', 'refused', 'rejected', 'unavailable')),
    reason TEXT,
    source TEXT,
    score DOUBLE PRECISION,
    iteration BIGINT
);
CREATE INDEX llm_proposals_goal ON llm_proposals (goal_id, id);

CREATE TRIGGER llm_proposals_append_only_update BEFORE UPDATE ON llm_proposals FOR EACH STATEMENT
EXECUTE FUNCTION gvpie_refuse('llm_proposals is append-only: a proposal cannot be changed');
CREATE TRIGGER llm_proposals_append_only_delete BEFORE DELETE ON llm_proposals FOR EACH STATEMENT
EXECUTE FUNCTION gvpie_refuse('llm_proposals is append-only: a proposal cannot be deleted');
CREATE TRIGGER llm_proposals_append_only_truncate BEFORE TRUNCATE ON llm_proposals FOR EACH STATEMENT
EXECUTE FUNCTION gvpie_refuse('llm_proposals is append-only: proposals cannot be truncated');
"#;

const PG_V3: &str = r#"
ALTER TABLE development_goals ADD COLUMN origin TEXT;
CREATE UNIQUE INDEX development_goals_origin ON development_goals (origin) WHERE origin IS NOT NULL;

CREATE TABLE adoptions (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    goal_id BIGINT NOT NULL,
    original TEXT NOT NULL,
    successor TEXT NOT NULL,
    original_cycles BIGINT NOT NULL,
    cycles BIGINT NOT NULL,
    iteration BIGINT
);
CREATE INDEX adoptions_original ON adoptions (original, id);

CREATE TRIGGER adoptions_append_only_update BEFORE UPDATE ON adoptions FOR EACH STATEMENT
EXECUTE FUNCTION gvpie_refuse('adoptions is append-only: an adoption cannot be changed');
CREATE TRIGGER adoptions_append_only_delete BEFORE DELETE ON adoptions FOR EACH STATEMENT
EXECUTE FUNCTION gvpie_refuse('adoptions is append-only: an adoption cannot be deleted');
CREATE TRIGGER adoptions_append_only_truncate BEFORE TRUNCATE ON adoptions FOR EACH STATEMENT
EXECUTE FUNCTION gvpie_refuse('adoptions is append-only: adoptions cannot be truncated');
"#;

const PG_V4: &str = r#"
ALTER TABLE improvement_scripts ADD COLUMN archived_at TEXT;
"#;
