//! Recording executions: one transaction per batch (a daemon cycle), content-addressed
//! programs, texts and images, lineage, script counters and learned statistics.
//!
//! An execution of an already-seen program writes one small `executions` row plus its index
//! entries; the program, its source, the task text, a repeated error and the output image are
//! stored once, by hash, and referenced by id.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::db::{Db, Dialect, Value};
use crate::error::{Result, StoreError};
use crate::hash::Hash;
use crate::lease::Lease;
use crate::params;
use crate::store::Store;
use crate::time::format_ms;

/// A text stored once by its hash (task descriptions, source code, error JSON, generator
/// names). Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextRef {
    /// SHA-256 of the UTF-8 bytes.
    pub hash: Hash,
    /// The text.
    pub text: Arc<str>,
}

impl TextRef {
    /// Hashes `text`.
    pub fn new(text: impl Into<Arc<str>>) -> TextRef {
        let text = text.into();
        TextRef { hash: Hash::of(text.as_bytes()), text }
    }
}

/// A program as the store keeps it: its machine texture, named by the texture's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramInput {
    /// SHA-256 of `texture`.
    pub hash: Hash,
    /// The machine texture's bytes (`Texture::to_bytes`).
    pub texture: Vec<u8>,
    /// The source it was compiled from, when there is one (the first one seen is kept).
    pub source: Option<TextRef>,
    /// Instruction records.
    pub n_records: i64,
    /// The distinct mnemonics it contains, for per-opcode statistics.
    pub opcodes: Vec<String>,
    /// The program it was derived from, if any (must already be stored).
    pub parent: Option<Hash>,
}

impl ProgramInput {
    /// A program from its texture bytes; hashes them.
    pub fn new(texture: Vec<u8>, source: Option<TextRef>, n_records: i64, opcodes: Vec<String>) -> ProgramInput {
        ProgramInput { hash: Hash::of(&texture), texture, source, n_records, opcodes, parent: None }
    }
}

/// Which backend ran an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendUsed {
    /// The CPU VM.
    Cpu,
    /// The GPU.
    Gpu,
    /// Nothing ran (the code did not compile, or the row was unusable).
    None,
}

impl BackendUsed {
    /// `cpu`, `gpu` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendUsed::Cpu => "cpu",
            BackendUsed::Gpu => "gpu",
            BackendUsed::None => "none",
        }
    }

    /// Parses `cpu`/`gpu` (any case); anything else is `None`.
    pub fn from_name(name: &str) -> BackendUsed {
        match name.to_ascii_lowercase().as_str() {
            "cpu" => BackendUsed::Cpu,
            "gpu" => BackendUsed::Gpu,
            _ => BackendUsed::None,
        }
    }

    pub(crate) fn code(self) -> i64 {
        match self {
            BackendUsed::Cpu => 0,
            BackendUsed::Gpu => 1,
            BackendUsed::None => 2,
        }
    }

    pub(crate) fn from_code(code: i64) -> BackendUsed {
        match code {
            0 => BackendUsed::Cpu,
            1 => BackendUsed::Gpu,
            _ => BackendUsed::None,
        }
    }
}

/// The canvas and budget a program ran under (what a replay needs besides the program).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// Cycle budget.
    pub budget: u64,
}

/// An output image: its hash always, its PNG when the caller wants it kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewImage {
    /// [`crate::image_hash`] of the canvas.
    pub hash: Hash,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// The PNG to keep, if any. Kept only when the store has no PNG for this hash yet.
    pub png: Option<Vec<u8>>,
}

/// The parent of an execution in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParentRef {
    /// No parent (for a script run: the previous run of the script when its program changed).
    #[default]
    None,
    /// An execution already recorded.
    Iteration(i64),
    /// An earlier execution in the same batch, by its index there.
    Pending(usize),
}

/// One execution to record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewExecution {
    /// Start time, ms since the Unix epoch.
    pub started_ms: i64,
    /// Wall time in microseconds.
    pub duration_us: i64,
    /// Whether it halted without error.
    pub success: bool,
    /// Instructions executed.
    pub cycles: u64,
    /// The backend that ran it (`None` when nothing ran).
    pub backend: Option<BackendUsed>,
    /// The script it ran, if any.
    pub script_id: Option<i64>,
    /// The script's name (the key of its statistics).
    pub script_name: Option<String>,
    /// The goal it worked on, if any.
    pub goal_id: Option<i64>,
    /// The cartridge (registry id) it ran, if any.
    pub cartridge_id: Option<i64>,
    /// The program, when the code compiled.
    pub program: Option<Arc<ProgramInput>>,
    /// The exact code text (`infinite_map.code`).
    pub code: Option<TextRef>,
    /// `infinite_map.task_description`.
    pub task: Option<TextRef>,
    /// The error as JSON (gvpie-exec's `ErrorJson`), when it failed.
    pub error: Option<TextRef>,
    /// The output image.
    pub image: Option<NewImage>,
    /// Canvas and budget.
    pub config: Option<RunConfig>,
    /// Its parent.
    pub parent: ParentRef,
    /// Further parents (crossover).
    pub extra_parents: Vec<ParentRef>,
    /// What produced it (the improvement engine: `mutation:insert`, `llm:MODEL`...).
    pub generator: Option<TextRef>,
    /// A goal score.
    pub score: Option<f64>,
    /// The agent that made it (`executions.agent_id`, [`crate::AgentHandle::id`]).
    pub agent_id: Option<i64>,
}

/// What a committed cycle got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleRecord {
    /// The cycle's number (the database's count of committed daemon cycles).
    pub cycle: i64,
    /// The iteration of each execution, in batch order.
    pub iterations: Vec<i64>,
}

#[derive(Default)]
struct StatDelta {
    runs: i64,
    successes: i64,
    cycles_sum: i64,
    cycles_min: Option<i64>,
    cycles_max: Option<i64>,
    duration_sum: i64,
    duration_min: Option<i64>,
    duration_max: Option<i64>,
    cycles_hist: Vec<i64>,
    duration_hist: Vec<i64>,
}

impl StatDelta {
    fn add(&mut self, success: bool, cycles: i64, duration_us: i64) {
        self.runs += 1;
        self.successes += i64::from(success);
        self.cycles_sum = self.cycles_sum.saturating_add(cycles);
        self.duration_sum = self.duration_sum.saturating_add(duration_us);
        self.cycles_min = Some(self.cycles_min.map_or(cycles, |m| m.min(cycles)));
        self.cycles_max = Some(self.cycles_max.map_or(cycles, |m| m.max(cycles)));
        self.duration_min = Some(self.duration_min.map_or(duration_us, |m| m.min(duration_us)));
        self.duration_max = Some(self.duration_max.map_or(duration_us, |m| m.max(duration_us)));
        bump(&mut self.cycles_hist, cycles);
        bump(&mut self.duration_hist, duration_us);
    }
}

/// The histogram bucket of `value`: its bit length (0 for 0).
pub fn bucket_of(value: i64) -> usize {
    (64 - value.max(0).leading_zeros()) as usize
}

fn bump(hist: &mut Vec<i64>, value: i64) {
    let bucket = bucket_of(value);
    if hist.len() <= bucket {
        hist.resize(bucket + 1, 0);
    }
    hist[bucket] += 1;
}

fn merge_hist(stored: &str, delta: &[i64]) -> String {
    let mut hist: Vec<i64> = serde_json::from_str(stored).unwrap_or_default();
    if hist.len() < delta.len() {
        hist.resize(delta.len(), 0);
    }
    for (slot, add) in hist.iter_mut().zip(delta) {
        *slot += add;
    }
    serde_json::to_string(&hist).unwrap_or_else(|_| "[]".to_string())
}

struct ScriptDelta {
    runs: i64,
    successes: i64,
    last_ms: i64,
    last_iteration: i64,
    last_program_id: Option<i64>,
}

/// Ids learned inside a transaction; they enter the caches only once it commits.
#[derive(Default)]
struct Learned {
    texts: Vec<(Hash, i64)>,
    programs: Vec<(Hash, i64)>,
}

impl Store {
    /// Records a daemon cycle's executions in one transaction, and counts the cycle.
    ///
    /// With a lease, the transaction first renews it and fails with
    /// [`StoreError::LeaseLost`] (writing nothing) when another process holds it now.
    pub fn record_cycle(&mut self, batch: &[NewExecution], lease: Option<&Lease>) -> Result<CycleRecord> {
        self.record_inner(batch, lease, true, None)
    }

    /// As [`Store::record_cycle`], and writes `extras` (goal progress, operator statistics,
    /// cartridges) in the same transaction: all of it or nothing.
    pub fn record_cycle_with(
        &mut self,
        batch: &[NewExecution],
        lease: Option<&Lease>,
        extras: &crate::extras::CycleExtras,
    ) -> Result<CycleRecord> {
        self.record_inner(batch, lease, true, Some(extras))
    }

    /// Records executions in one transaction (no cycle counted): the server's and the
    /// improvement engine's path.
    pub fn record_executions(&mut self, batch: &[NewExecution]) -> Result<Vec<i64>> {
        Ok(self.record_inner(batch, None, false, None)?.iterations)
    }

    fn record_inner(
        &mut self,
        batch: &[NewExecution],
        lease: Option<&Lease>,
        count_cycle: bool,
        extras: Option<&crate::extras::CycleExtras>,
    ) -> Result<CycleRecord> {
        let mut learned = Learned::default();
        let caches = Caches { texts: &self.text_ids, programs: &self.program_ids };
        let result = self.db.transaction(|tx| -> Result<CycleRecord> {
            if count_cycle {
                // Daemon cycles from several agents commit one after another anyway (the cycle counter's row);
                // taking the statistics' lock first, before any row or content insert, keeps two of them from
                // deadlocking on it halfway through (one waiting on the other's new program, the other on the lock).
                tx.lock("stats")?;
            }
            if let Some(lease) = lease {
                crate::lease::renew_in(tx, lease, crate::time::now_ms())?;
            }
            let iterations = write_batch(tx, batch, &caches, &mut learned)?;
            if let Some(extras) = extras {
                crate::extras::write_extras(tx, extras, &iterations)?;
            }
            let cycle = if count_cycle {
                tx.query_row(
                    "INSERT INTO counters (name, value) VALUES ('daemon_cycles', 1) \
                     ON CONFLICT(name) DO UPDATE SET value = counters.value + 1 RETURNING value",
                    params![],
                )?
                .get(0)?
            } else {
                0
            };
            Ok(CycleRecord { cycle, iterations })
        })?;
        for (hash, id) in learned.texts {
            self.text_ids.insert(hash, id);
        }
        for (hash, id) in learned.programs {
            self.program_ids.insert(hash, id);
        }
        Ok(result)
    }

    /// Stores a program (if new) and returns its id; the way to add a program without running it.
    pub fn put_program(&mut self, program: &ProgramInput) -> Result<Hash> {
        let mut learned = Learned::default();
        let caches = Caches { texts: &self.text_ids, programs: &self.program_ids };
        self.db.transaction(|tx| program_id(tx, program, &caches, &mut learned))?;
        for (hash, id) in learned.programs {
            self.program_ids.insert(hash, id);
        }
        Ok(program.hash)
    }

    /// Whether the store keeps a PNG for this image hash.
    pub fn has_image_png(&self, hash: &Hash) -> Result<bool> {
        let row = self.db.query_opt("SELECT png IS NOT NULL FROM images WHERE hash = ?1", params![&hash.0[..]])?;
        Ok(match row {
            Some(row) => row.get(0)?,
            None => false,
        })
    }

    /// Adds rows to `system_metrics` (the seed's table): `(name, value, context)`.
    pub fn record_metrics(&mut self, metrics: &[(&str, f64, Option<&str>)]) -> Result<()> {
        let now = format_ms(crate::time::now_ms());
        self.db.transaction(|tx| -> Result<()> {
            for (name, value, context) in metrics {
                tx.execute(
                    "INSERT INTO system_metrics (timestamp, metric_name, metric_value, context) \
                     VALUES (?1, ?2, ?3, ?4)",
                    params![now.as_str(), *name, *value, *context],
                )?;
            }
            Ok(())
        })
    }
}

/// The id caches a writing transaction reads (it never writes them: see [`Learned`]).
struct Caches<'a> {
    texts: &'a crate::store::BoundedMap<Hash, i64>,
    programs: &'a crate::store::BoundedMap<Hash, i64>,
}

/// The iterations of a batch of `n` executions. SQLite: MAX + 1 onwards, inside the writing
/// transaction, which holds the database's only write lock. PostgreSQL: from the sequence, so
/// writers on many machines never collide (increasing within the batch; not necessarily
/// consecutive when others write at the same time).
fn allocate_iterations(tx: &Db, n: usize) -> Result<Vec<i64>> {
    match tx.dialect() {
        Dialect::Sqlite => {
            let first: i64 =
                tx.query_row("SELECT COALESCE(MAX(iteration), 0) + 1 FROM executions", params![])?.get(0)?;
            Ok((0..n as i64).map(|i| first + i).collect())
        }
        Dialect::Postgres => {
            if n == 0 {
                return Ok(Vec::new());
            }
            let rows = tx.query_all(
                "SELECT nextval('executions_iteration_seq') FROM generate_series(1, CAST(?1 AS BIGINT))",
                params![n],
            )?;
            let mut iterations = rows.iter().map(|row| row.get(0)).collect::<std::result::Result<Vec<i64>, _>>()?;
            iterations.sort_unstable();
            Ok(iterations)
        }
    }
}

fn write_batch(tx: &Db, batch: &[NewExecution], caches: &Caches<'_>, learned: &mut Learned) -> Result<Vec<i64>> {
    let allocated = allocate_iterations(tx, batch.len())?;
    let mut iterations = Vec::with_capacity(batch.len());
    let mut scripts: HashMap<i64, ScriptDelta> = HashMap::new();
    let mut stats: HashMap<(&'static str, String), StatDelta> = HashMap::new();
    // Images already stored by this batch, and whether with a PNG: a batch of runs of one program
    // draws one picture many times, and each lookup is a round trip on PostgreSQL.
    let mut images: HashMap<Hash, (i64, bool)> = HashMap::new();
    // The executions' rows, inserted together after the loop (one statement per chunk instead of
    // one per execution: a round trip each on PostgreSQL).
    let mut rows: Vec<Vec<Value>> = Vec::with_capacity(batch.len());
    for (index, exec) in batch.iter().enumerate() {
        let iteration = allocated[index];
        let resolve = |parent: ParentRef| -> Result<Option<i64>> {
            match parent {
                ParentRef::None => Ok(None),
                ParentRef::Iteration(n) => Ok(Some(n)),
                ParentRef::Pending(j) if j < index => Ok(Some(allocated[j])),
                ParentRef::Pending(j) => {
                    Err(StoreError::Invalid(format!("execution {index} names a later execution ({j}) as its parent")))
                }
            }
        };
        let text = |text: &Option<TextRef>, learned: &mut Learned| -> Result<Option<i64>> {
            text.as_ref().map(|t| text_id(tx, t, caches, learned)).transpose()
        };
        let code_id = text(&exec.code, learned)?;
        let task_id = text(&exec.task, learned)?;
        let error_id = text(&exec.error, learned)?;
        let generator_id = text(&exec.generator, learned)?;
        let program_id = exec.program.as_ref().map(|p| program_id(tx, p, caches, learned)).transpose()?;
        let image_id = match &exec.image {
            Some(image) => match images.get(&image.hash) {
                Some(&(id, has_png)) if has_png || image.png.is_none() => Some(id),
                _ => {
                    let id = image_id(tx, image, Some(iteration))?;
                    let had_png = images.get(&image.hash).is_some_and(|&(_, has_png)| has_png);
                    images.insert(image.hash, (id, had_png || image.png.is_some()));
                    Some(id)
                }
            },
            None => None,
        };
        let mut parent = resolve(exec.parent)?;

        if let Some(script_id) = exec.script_id {
            let previous = match scripts.get(&script_id) {
                Some(delta) => Some((Some(delta.last_iteration), delta.last_program_id)),
                None => tx
                    .query_opt(
                        "SELECT last_iteration, last_program_id FROM improvement_scripts WHERE id = ?1",
                        params![script_id],
                    )?
                    .map(|row| (row.int(0), row.int(1))),
            };
            // A script whose program changed continues the lineage of its previous program.
            if parent.is_none()
                && let Some((Some(last_iteration), last_program)) = previous
                && program_id.is_some()
                && last_program.is_some()
                && program_id != last_program
            {
                parent = Some(last_iteration);
            }
            let delta = scripts.entry(script_id).or_insert(ScriptDelta {
                runs: 0,
                successes: 0,
                last_ms: 0,
                last_iteration: 0,
                last_program_id: None,
            });
            delta.runs += 1;
            delta.successes += i64::from(exec.success);
            delta.last_ms = delta.last_ms.max(exec.started_ms + exec.duration_us / 1000);
            delta.last_iteration = iteration;
            if program_id.is_some() {
                delta.last_program_id = program_id;
            }
        }

        let config = exec.config;
        rows.push(
            params![
                iteration,
                exec.started_ms,
                exec.duration_us,
                exec.success,
                exec.cycles,
                exec.backend.unwrap_or(BackendUsed::None).code(),
                exec.script_id,
                exec.goal_id,
                program_id,
                code_id,
                task_id,
                error_id,
                image_id,
                config.map(|c| c.width),
                config.map(|c| c.height),
                config.map(|c| c.budget),
                parent,
                generator_id,
                exec.score,
                exec.agent_id,
            ]
            .to_vec(),
        );
        for extra in &exec.extra_parents {
            if let Some(parent) = resolve(*extra)? {
                tx.execute(
                    "INSERT INTO execution_parents (iteration, parent_iteration) VALUES (?1, ?2) \
                     ON CONFLICT DO NOTHING",
                    params![iteration, parent],
                )?;
            }
        }
        if let Some(cartridge_id) = exec.cartridge_id {
            tx.execute(
                "UPDATE cartridge_registry SET executed_count = COALESCE(executed_count, 0) + 1 WHERE id = ?1",
                params![cartridge_id],
            )?;
        }

        let cycles = i64::try_from(exec.cycles).unwrap_or(i64::MAX);
        if let Some(name) = &exec.script_name {
            stats.entry(("script", name.clone())).or_default().add(exec.success, cycles, exec.duration_us);
        }
        if let Some(program) = &exec.program {
            for op in &program.opcodes {
                stats.entry(("opcode", op.clone())).or_default().add(exec.success, cycles, exec.duration_us);
            }
        }
        iterations.push(iteration);
    }

    insert_executions(tx, &rows)?;

    // In id order, so two writers updating the same scripts lock them in the same order.
    let mut scripts: Vec<(i64, ScriptDelta)> = scripts.into_iter().collect();
    scripts.sort_unstable_by_key(|(id, _)| *id);
    for (script_id, delta) in &scripts {
        tx.execute(
            "UPDATE improvement_scripts SET last_run_at = ?2, run_count = COALESCE(run_count, 0) + ?3, \
             success_count = COALESCE(success_count, 0) + ?4, last_iteration = ?5, \
             last_program_id = COALESCE(?6, last_program_id) WHERE id = ?1",
            params![
                *script_id,
                format_ms(delta.last_ms),
                delta.runs,
                delta.successes,
                delta.last_iteration,
                delta.last_program_id
            ],
        )?;
    }
    write_stats(tx, &stats)?;
    Ok(iterations)
}

/// The `executions` columns, in the order of the rows [`write_batch`] builds.
const EXECUTION_COLUMNS: &str = "iteration, started_ms, duration_us, success, cycles, backend, script_id, goal_id, \
     program_id, code_id, task_id, error_id, image_id, width, height, budget, parent_iteration, generator_id, score, \
     agent_id";

/// Inserts execution rows, many per statement (at most 200 rows: 4,000 parameters, well under
/// either backend's limit).
fn insert_executions(tx: &Db, rows: &[Vec<Value>]) -> Result<()> {
    let columns = EXECUTION_COLUMNS.split(',').count();
    for chunk in rows.chunks(200) {
        let values = (0..chunk.len())
            .map(|row| {
                let cells = (1..=columns).map(|col| format!("?{}", row * columns + col)).collect::<Vec<_>>();
                format!("({})", cells.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let params: Vec<Value> = chunk.iter().flatten().cloned().collect();
        if params.len() != chunk.len() * columns {
            return Err(StoreError::Invalid("an execution row has the wrong number of columns".to_string()));
        }
        tx.execute(&format!("INSERT INTO executions ({EXECUTION_COLUMNS}) VALUES {values}"), &params)?;
    }
    Ok(())
}

fn write_stats(tx: &Db, stats: &HashMap<(&'static str, String), StatDelta>) -> Result<()> {
    if stats.is_empty() {
        return Ok(());
    }
    // Read, merge, write back: on PostgreSQL, concurrent cycles must not interleave here or one
    // cycle's counts would be lost.
    tx.lock("stats")?;
    let now = crate::time::now_ms();
    let mut keys: Vec<&(&'static str, String)> = stats.keys().collect();
    keys.sort_unstable();
    for key in keys {
        let (scope, name) = key;
        let delta = &stats[key];
        let existing = tx.query_opt(
            "SELECT runs, successes, cycles_sum, cycles_min, cycles_max, duration_us_sum, duration_us_min, \
             duration_us_max, cycles_hist, duration_hist FROM stats WHERE scope = ?1 AND key = ?2",
            params![*scope, name],
        )?;
        let (runs, successes, c_sum, c_min, c_max, d_sum, d_min, d_max, c_hist, d_hist) = match existing {
            Some(row) => (
                row.get::<i64>(0)?,
                row.get::<i64>(1)?,
                row.get::<i64>(2)?,
                row.get::<Option<i64>>(3)?,
                row.get::<Option<i64>>(4)?,
                row.get::<i64>(5)?,
                row.get::<Option<i64>>(6)?,
                row.get::<Option<i64>>(7)?,
                row.get::<String>(8)?,
                row.get::<String>(9)?,
            ),
            None => (0, 0, 0, None, None, 0, None, None, "[]".to_string(), "[]".to_string()),
        };
        let min = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let max = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        tx.execute(
            "INSERT INTO stats (scope, key, runs, successes, cycles_sum, cycles_min, cycles_max, \
             duration_us_sum, duration_us_min, duration_us_max, cycles_hist, duration_hist, updated_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
             ON CONFLICT(scope, key) DO UPDATE SET runs = excluded.runs, successes = excluded.successes, \
             cycles_sum = excluded.cycles_sum, cycles_min = excluded.cycles_min, cycles_max = excluded.cycles_max, \
             duration_us_sum = excluded.duration_us_sum, duration_us_min = excluded.duration_us_min, \
             duration_us_max = excluded.duration_us_max, cycles_hist = excluded.cycles_hist, \
             duration_hist = excluded.duration_hist, updated_ms = excluded.updated_ms",
            params![
                *scope,
                name,
                runs + delta.runs,
                successes + delta.successes,
                c_sum.saturating_add(delta.cycles_sum),
                min(c_min, delta.cycles_min),
                max(c_max, delta.cycles_max),
                d_sum.saturating_add(delta.duration_sum),
                min(d_min, delta.duration_min),
                max(d_max, delta.duration_max),
                merge_hist(&c_hist, &delta.cycles_hist),
                merge_hist(&d_hist, &delta.duration_hist),
                now,
            ],
        )?;
    }
    Ok(())
}

/// The id of a content-addressed row (`texts`, `programs`, `images`, `blobs`): found by hash, or
/// inserted. `ON CONFLICT DO NOTHING` then a second look makes two writers inserting the same
/// content at once both end up with the one row (on PostgreSQL the second waits for the first).
pub(crate) fn id_by_hash(tx: &Db, table: &str, hash: &Hash, insert: &str, values: &[Value]) -> Result<(i64, bool)> {
    let select = format!("SELECT id FROM {table} WHERE hash = ?1");
    if let Some(row) = tx.query_opt(&select, params![&hash.0[..]])? {
        return Ok((row.get(0)?, false));
    }
    if let Some(row) = tx.query_opt(insert, values)? {
        return Ok((row.get(0)?, true));
    }
    let row = tx.query_row(&select, params![&hash.0[..]])?;
    Ok((row.get(0)?, false))
}

fn text_id(tx: &Db, text: &TextRef, caches: &Caches<'_>, learned: &mut Learned) -> Result<i64> {
    if let Some(id) = caches.texts.get(&text.hash) {
        return Ok(id);
    }
    if let Some(&(_, id)) = learned.texts.iter().find(|(hash, _)| *hash == text.hash) {
        return Ok(id);
    }
    let (id, _) = id_by_hash(
        tx,
        "texts",
        &text.hash,
        "INSERT INTO texts (hash, text) VALUES (?1, ?2) ON CONFLICT(hash) DO NOTHING RETURNING id",
        params![&text.hash.0[..], &*text.text],
    )?;
    learned.texts.push((text.hash, id));
    Ok(id)
}

fn program_id(tx: &Db, program: &ProgramInput, caches: &Caches<'_>, learned: &mut Learned) -> Result<i64> {
    if let Some(id) = caches.programs.get(&program.hash) {
        return Ok(id);
    }
    if let Some(&(_, id)) = learned.programs.iter().find(|(hash, _)| *hash == program.hash) {
        return Ok(id);
    }
    let found = tx.query_opt("SELECT id FROM programs WHERE hash = ?1", params![&program.hash.0[..]])?;
    let id = match found {
        Some(row) => row.get(0)?,
        None => {
            if Hash::of(&program.texture) != program.hash {
                return Err(StoreError::Invalid("a program's hash does not match its texture".to_string()));
            }
            let source_id = program.source.as_ref().map(|s| text_id(tx, s, caches, learned)).transpose()?;
            let parent_id: Option<i64> = match &program.parent {
                Some(parent) => {
                    match tx.query_opt("SELECT id FROM programs WHERE hash = ?1", params![&parent.0[..]])? {
                        Some(row) => Some(row.get(0)?),
                        None => None,
                    }
                }
                None => None,
            };
            id_by_hash(
                tx,
                "programs",
                &program.hash,
                "INSERT INTO programs (hash, texture, source_id, n_records, opcodes, parent_id, created_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(hash) DO NOTHING RETURNING id",
                params![
                    &program.hash.0[..],
                    &program.texture,
                    source_id,
                    program.n_records,
                    program.opcodes.join(" "),
                    parent_id,
                    crate::time::now_ms()
                ],
            )?
            .0
        }
    };
    learned.programs.push((program.hash, id));
    Ok(id)
}

/// The id of an image, stored if new; a PNG is added to a stored image that has none.
pub(crate) fn image_id(tx: &Db, image: &NewImage, iteration: Option<i64>) -> Result<i64> {
    let found = tx.query_opt("SELECT id, png IS NOT NULL FROM images WHERE hash = ?1", params![&image.hash.0[..]])?;
    let (id, inserted, has_png) = match found {
        Some(row) => (row.get(0)?, false, row.get::<bool>(1)?),
        None => {
            let (id, inserted) = id_by_hash(
                tx,
                "images",
                &image.hash,
                "INSERT INTO images (hash, width, height, png, first_iteration) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT(hash) DO NOTHING RETURNING id",
                params![&image.hash.0[..], image.width, image.height, &image.png, iteration],
            )?;
            (id, inserted, inserted && image.png.is_some())
        }
    };
    if !inserted
        && !has_png
        && let Some(png) = &image.png
    {
        tx.execute("UPDATE images SET png = ?2 WHERE id = ?1 AND png IS NULL", params![id, png])?;
    }
    Ok(id)
}
