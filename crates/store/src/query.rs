//! Reading the memory back: infinite-map pages and entries, lineage, programs, images,
//! statistics, metrics and a summary. Everything here is read-only.

use serde::{Deserialize, Serialize};

use crate::db::{Row, Value};
use crate::error::Result;
use crate::hash::Hash;
use crate::params;
use crate::record::{BackendUsed, RunConfig};
use crate::store::Store;
use crate::time::format_ms;

/// One infinite-map entry (one execution).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapEntry {
    /// Unique, increasing; also the run id.
    pub iteration: i64,
    /// Start time as `YYYY-MM-DD HH:MM:SS.SSS` UTC (the view's `timestamp`).
    pub timestamp: String,
    /// Start time in ms since the epoch.
    pub started_ms: i64,
    /// What was attempted.
    pub task_description: Option<String>,
    /// The script that ran, if any.
    pub script_id: Option<i64>,
    /// Its name.
    pub script_name: Option<String>,
    /// The goal worked on, if any.
    pub goal_id: Option<i64>,
    /// Halted without error.
    pub success: bool,
    /// Instructions executed.
    pub cycles: u64,
    /// Which backend ran it.
    pub backend: BackendUsed,
    /// Wall time in ms.
    pub duration_ms: f64,
    /// The error (gvpie-exec's `ErrorJson`), when it failed.
    pub error: Option<serde_json::Value>,
    /// The program that ran.
    pub program_hash: Option<Hash>,
    /// The output image.
    pub image_hash: Option<Hash>,
    /// Canvas and budget.
    pub config: Option<RunConfig>,
    /// The parent execution.
    pub parent_iteration: Option<i64>,
    /// What produced it.
    pub generator: Option<String>,
    /// A goal score.
    pub score: Option<f64>,
    /// The agent that recorded it (its name); none for records made outside an agent (the API,
    /// `gvpie evolve`) or before agents existed.
    pub agent: Option<String>,
    /// The code text, when asked for.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub code: Option<String>,
}

/// A filter for [`Store::map_page`]. Entries come newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MapQuery {
    /// Only this script's runs (by name).
    #[serde(default)]
    pub script: Option<String>,
    /// Only this goal's executions.
    #[serde(default)]
    pub goal_id: Option<i64>,
    /// Only executions started at or after this time (ms since the epoch).
    #[serde(default)]
    pub since_ms: Option<i64>,
    /// Only executions started before this time (ms since the epoch).
    #[serde(default)]
    pub until_ms: Option<i64>,
    /// Only successes (`true`) or failures (`false`).
    #[serde(default)]
    pub success: Option<bool>,
    /// The page cursor: only iterations below this one (the previous page's `next_before`).
    #[serde(default)]
    pub before: Option<i64>,
    /// Page size; 0 means 50; at most 1000.
    #[serde(default)]
    pub limit: usize,
    /// Include each entry's code text.
    #[serde(default)]
    pub include_code: bool,
}

/// One page of the infinite map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapPage {
    /// The entries, newest first.
    pub entries: Vec<MapEntry>,
    /// Pass as `before` for the next page; `None` on the last page.
    pub next_before: Option<i64>,
}

/// An execution in a lineage, with its distance from the one asked about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineageNode {
    /// 1 for a parent or child, 2 for a grandparent or grandchild...
    pub depth: u32,
    /// The entry.
    pub entry: MapEntry,
}

/// Ancestors and descendants of an execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lineage {
    /// The execution asked about.
    pub entry: MapEntry,
    /// Its ancestors, nearest first.
    pub ancestors: Vec<LineageNode>,
    /// Its descendants, nearest first.
    pub descendants: Vec<LineageNode>,
}

/// A stored program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramRecord {
    /// SHA-256 of the texture.
    pub hash: Hash,
    /// The machine texture's bytes.
    #[serde(skip)]
    pub texture: Vec<u8>,
    /// The first source text seen for it.
    pub source: Option<String>,
    /// Instruction records.
    pub n_records: i64,
    /// Distinct mnemonics.
    pub opcodes: Vec<String>,
    /// The program it was derived from.
    pub parent_hash: Option<Hash>,
    /// When it was first stored (ms since the epoch).
    pub created_ms: i64,
}

/// A stored output image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredImage {
    /// [`crate::image_hash`] of the pixels.
    pub hash: Hash,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// The PNG, when kept.
    #[serde(skip)]
    pub png: Option<Vec<u8>>,
    /// The first execution that drew it.
    pub first_iteration: Option<i64>,
}

/// Learned statistics of one script, opcode or other key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// `script`, `opcode`, or another component's scope.
    pub scope: String,
    /// The script name, mnemonic...
    pub key: String,
    /// Executions counted.
    pub runs: i64,
    /// Successful ones.
    pub successes: i64,
    /// `successes / runs`.
    pub success_rate: f64,
    /// Sum of cycles.
    pub cycles_sum: i64,
    /// Fewest cycles.
    pub cycles_min: Option<i64>,
    /// Most cycles.
    pub cycles_max: Option<i64>,
    /// Mean cycles.
    pub cycles_mean: f64,
    /// Sum of durations (µs).
    pub duration_us_sum: i64,
    /// Shortest (µs).
    pub duration_us_min: Option<i64>,
    /// Longest (µs).
    pub duration_us_max: Option<i64>,
    /// Mean duration (µs).
    pub duration_us_mean: f64,
    /// Counts per power-of-two bucket of cycles (bucket b: bit length b).
    pub cycles_hist: Vec<i64>,
    /// Counts per power-of-two bucket of µs.
    pub duration_hist: Vec<i64>,
}

/// A `system_metrics` row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Row id.
    pub id: i64,
    /// When.
    pub timestamp: String,
    /// Name.
    pub name: String,
    /// Value.
    pub value: f64,
    /// Context.
    pub context: Option<String>,
}

/// Counts over the whole database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Executions recorded.
    pub executions: i64,
    /// Successful ones.
    pub successes: i64,
    /// The newest iteration.
    pub last_iteration: Option<i64>,
    /// Daemon cycles committed.
    pub daemon_cycles: i64,
    /// Scripts.
    pub scripts: i64,
    /// Enabled scripts.
    pub enabled_scripts: i64,
    /// Distinct programs.
    pub programs: i64,
    /// Distinct output images.
    pub images: i64,
    /// Images whose PNG is kept.
    pub images_kept: i64,
    /// Cartridges registered.
    pub cartridges: i64,
    /// Bytes in use in the database file.
    pub db_bytes: i64,
}

const ENTRY_SELECT: &str = "SELECT e.iteration, e.started_ms, task.text, e.script_id, s.name, e.goal_id, e.success, \
     e.cycles, e.backend, e.duration_us, err.text, p.hash, img.hash, e.width, e.height, e.budget, e.parent_iteration, \
     gen.text, e.score, CASE WHEN ?1 THEN code.text END, ag.name \
     FROM executions e \
     LEFT JOIN agents ag ON ag.id = e.agent_id \
     LEFT JOIN texts task ON task.id = e.task_id \
     LEFT JOIN texts err ON err.id = e.error_id \
     LEFT JOIN texts gen ON gen.id = e.generator_id \
     LEFT JOIN texts code ON code.id = e.code_id \
     LEFT JOIN improvement_scripts s ON s.id = e.script_id \
     LEFT JOIN programs p ON p.id = e.program_id \
     LEFT JOIN images img ON img.id = e.image_id";

fn entry_from_row(row: &Row) -> Result<MapEntry> {
    let started_ms: i64 = row.get(1)?;
    let error: Option<String> = row.get(10)?;
    let hash = |index: usize| -> Result<Option<Hash>> {
        Ok(row.get::<Option<Vec<u8>>>(index)?.as_deref().and_then(Hash::from_slice))
    };
    let width: Option<i64> = row.get(13)?;
    let height: Option<i64> = row.get(14)?;
    let budget: Option<i64> = row.get(15)?;
    let config = match (width, height, budget) {
        (Some(w), Some(h), Some(b)) => Some(RunConfig {
            width: u32::try_from(w).unwrap_or(0),
            height: u32::try_from(h).unwrap_or(0),
            budget: u64::try_from(b).unwrap_or(0),
        }),
        _ => None,
    };
    Ok(MapEntry {
        iteration: row.get(0)?,
        timestamp: format_ms(started_ms),
        started_ms,
        task_description: row.get(2)?,
        script_id: row.get(3)?,
        script_name: row.get(4)?,
        goal_id: row.get(5)?,
        success: row.get::<i64>(6)? != 0,
        cycles: u64::try_from(row.get::<i64>(7)?).unwrap_or(0),
        backend: BackendUsed::from_code(row.get(8)?),
        duration_ms: row.get::<i64>(9)? as f64 / 1000.0,
        error: error.and_then(|text| serde_json::from_str(&text).ok()),
        program_hash: hash(11)?,
        image_hash: hash(12)?,
        config,
        parent_iteration: row.get(16)?,
        generator: row.get(17)?,
        score: row.get(18)?,
        code: row.get(19)?,
        agent: row.get(20)?,
    })
}

impl Store {
    /// One entry by iteration.
    pub fn map_entry(&self, iteration: i64, include_code: bool) -> Result<Option<MapEntry>> {
        let sql = format!("{ENTRY_SELECT} WHERE e.iteration = ?2");
        self.db.query_opt(&sql, params![include_code, iteration])?.map(|row| entry_from_row(&row)).transpose()
    }

    /// A page of the infinite map, newest first.
    pub fn map_page(&self, query: &MapQuery) -> Result<MapPage> {
        let limit = if query.limit == 0 { 50 } else { query.limit.min(1000) };
        let mut conditions: Vec<String> = Vec::new();
        let mut values: Vec<Value> = vec![Value::from(query.include_code)];
        let mut push = |condition: &str, value: Value| {
            values.push(value);
            conditions.push(condition.replace('?', &format!("?{}", values.len())));
        };
        if let Some(script) = &query.script {
            push("e.script_id = (SELECT id FROM improvement_scripts WHERE name = ?)", script.into());
        }
        if let Some(goal) = query.goal_id {
            push("e.goal_id = ?", goal.into());
        }
        if let Some(since) = query.since_ms {
            push("e.started_ms >= ?", since.into());
        }
        if let Some(until) = query.until_ms {
            push("e.started_ms < ?", until.into());
        }
        if let Some(success) = query.success {
            push("e.success = ?", success.into());
        }
        if let Some(before) = query.before {
            push("e.iteration < ?", before.into());
        }
        let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        // One more than the page, to know whether another page follows.
        let sql = format!("{ENTRY_SELECT}{filter} ORDER BY e.iteration DESC LIMIT {}", limit + 1);
        let mut entries: Vec<MapEntry> =
            self.db.query_all(&sql, &values)?.iter().map(entry_from_row).collect::<Result<_>>()?;
        let next_before = if entries.len() > limit {
            entries.truncate(limit);
            entries.last().map(|e| e.iteration)
        } else {
            None
        };
        Ok(MapPage { entries, next_before })
    }

    /// The ancestors and descendants of an execution, up to `max_depth` generations and 500
    /// entries each way.
    pub fn lineage(&self, iteration: i64, max_depth: u32) -> Result<Option<Lineage>> {
        let Some(entry) = self.map_entry(iteration, false)? else {
            return Ok(None);
        };
        let ancestors = self.lineage_side(
            iteration,
            max_depth,
            "SELECT parent_iteration FROM executions WHERE parent_iteration IS NOT NULL AND iteration IN ({set}) \
             UNION SELECT parent_iteration FROM execution_parents WHERE iteration IN ({set})",
        )?;
        let descendants = self.lineage_side(
            iteration,
            max_depth,
            "SELECT iteration FROM executions WHERE parent_iteration IN ({set}) \
             UNION SELECT iteration FROM execution_parents WHERE parent_iteration IN ({set})",
        )?;
        Ok(Some(Lineage { entry, ancestors, descendants }))
    }

    /// A breadth-first walk from `iteration`, one generation per step (`step` gives the next
    /// generation of the iterations in `{set}`), so each lookup uses an index on either backend
    /// and each execution comes at its smallest depth; at most 500, nearest first, then by
    /// iteration.
    fn lineage_side(&self, iteration: i64, max_depth: u32, step: &str) -> Result<Vec<LineageNode>> {
        const MAX_NODES: usize = 500;
        const CHUNK: usize = 256;
        let mut seen = std::collections::HashSet::from([iteration]);
        let mut found: Vec<(i64, u32)> = Vec::new();
        let mut frontier = vec![iteration];
        let mut depth = 0;
        while depth < max_depth && !frontier.is_empty() && found.len() < MAX_NODES {
            depth += 1;
            let mut next = Vec::new();
            for chunk in frontier.chunks(CHUNK) {
                let set = (1..=chunk.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
                let values: Vec<Value> = chunk.iter().map(|&it| Value::from(it)).collect();
                for row in self.db.query_all(&step.replace("{set}", &set), &values)? {
                    let it: i64 = row.get(0)?;
                    if seen.insert(it) {
                        next.push(it);
                    }
                }
            }
            next.sort_unstable();
            found.extend(next.iter().map(|&it| (it, depth)));
            frontier = next;
        }
        found.truncate(MAX_NODES);
        let mut nodes = Vec::with_capacity(found.len());
        for (it, depth) in found {
            if let Some(entry) = self.map_entry(it, false)? {
                nodes.push(LineageNode { depth, entry });
            }
        }
        Ok(nodes)
    }

    /// A program by its hash.
    pub fn program_by_hash(&self, hash: &Hash) -> Result<Option<ProgramRecord>> {
        let row = self.db.query_opt(
            "SELECT p.hash, p.texture, t.text, p.n_records, p.opcodes, parent.hash, p.created_ms FROM programs p \
             LEFT JOIN texts t ON t.id = p.source_id LEFT JOIN programs parent ON parent.id = p.parent_id \
             WHERE p.hash = ?1",
            params![&hash.0[..]],
        )?;
        let Some(row) = row else { return Ok(None) };
        let opcodes: String = row.get(4)?;
        Ok(Some(ProgramRecord {
            hash: row.get::<Vec<u8>>(0)?.as_slice().try_into().map(Hash).unwrap_or(*hash),
            texture: row.get(1)?,
            source: row.get(2)?,
            n_records: row.get(3)?,
            opcodes: opcodes.split_whitespace().map(str::to_string).collect(),
            parent_hash: row.get::<Option<Vec<u8>>>(5)?.as_deref().and_then(Hash::from_slice),
            created_ms: row.get(6)?,
        }))
    }

    /// An image by its hash.
    pub fn image_by_hash(&self, hash: &Hash) -> Result<Option<StoredImage>> {
        let row = self.db.query_opt(
            "SELECT width, height, png, first_iteration FROM images WHERE hash = ?1",
            params![&hash.0[..]],
        )?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(StoredImage {
            hash: *hash,
            width: row.get(0)?,
            height: row.get(1)?,
            png: row.get(2)?,
            first_iteration: row.get(3)?,
        }))
    }

    /// The output image of an execution (its PNG is there when kept; see the crate docs).
    pub fn image_of_iteration(&self, iteration: i64) -> Result<Option<StoredImage>> {
        let row = self.db.query_opt(
            "SELECT img.hash FROM executions e JOIN images img ON img.id = e.image_id WHERE e.iteration = ?1",
            params![iteration],
        )?;
        let hash = match row {
            Some(row) => row.get::<Vec<u8>>(0)?,
            None => return Ok(None),
        };
        match Hash::from_slice(&hash) {
            Some(hash) => self.image_by_hash(&hash),
            None => Ok(None),
        }
    }

    /// Learned statistics; `scope` `None` gives every scope. Sorted by scope, then most runs.
    pub fn stats(&self, scope: Option<&str>) -> Result<Vec<Stat>> {
        let rows = self.db.query_all(
            "SELECT scope, key, runs, successes, cycles_sum, cycles_min, cycles_max, duration_us_sum, \
             duration_us_min, duration_us_max, cycles_hist, duration_hist FROM stats \
             WHERE CAST(?1 AS TEXT) IS NULL OR scope = ?1 ORDER BY scope, runs DESC, key",
            params![scope],
        )?;
        rows.iter()
            .map(|row| {
                let runs: i64 = row.get(2)?;
                let successes: i64 = row.get(3)?;
                let cycles_sum: i64 = row.get(4)?;
                let duration_sum: i64 = row.get(7)?;
                let per_run = |sum: i64| if runs > 0 { sum as f64 / runs as f64 } else { 0.0 };
                let hist = |text: String| serde_json::from_str::<Vec<i64>>(&text).unwrap_or_default();
                Ok(Stat {
                    scope: row.get(0)?,
                    key: row.get(1)?,
                    runs,
                    successes,
                    success_rate: per_run(successes),
                    cycles_sum,
                    cycles_min: row.get(5)?,
                    cycles_max: row.get(6)?,
                    cycles_mean: per_run(cycles_sum),
                    duration_us_sum: duration_sum,
                    duration_us_min: row.get(8)?,
                    duration_us_max: row.get(9)?,
                    duration_us_mean: per_run(duration_sum),
                    cycles_hist: hist(row.get(10)?),
                    duration_hist: hist(row.get(11)?),
                })
            })
            .collect()
    }

    /// `system_metrics` rows, newest first; `name` filters.
    pub fn metrics(&self, name: Option<&str>, limit: usize) -> Result<Vec<Metric>> {
        let rows = self.db.query_all(
            "SELECT id, timestamp, metric_name, metric_value, context FROM system_metrics \
             WHERE CAST(?1 AS TEXT) IS NULL OR metric_name = ?1 ORDER BY id DESC LIMIT ?2",
            params![name, limit],
        )?;
        rows.iter()
            .map(|row| {
                Ok(Metric {
                    id: row.get(0)?,
                    timestamp: row.text(1).unwrap_or_default(),
                    name: row.get(2)?,
                    value: row.get::<f64>(3).ok().or_else(|| row.int(3).map(|n| n as f64)).unwrap_or(0.0),
                    context: row.text(4),
                })
            })
            .collect()
    }

    /// Counts over the whole database.
    pub fn summary(&self) -> Result<Summary> {
        let count = |sql: &str| -> Result<i64> { Ok(self.db.query_row(sql, params![])?.get(0)?) };
        // COUNT(*) over the executions table reads its smallest index; fine for a summary.
        Ok(Summary {
            executions: count("SELECT COUNT(*) FROM executions")?,
            successes: count("SELECT COUNT(*) FROM executions WHERE success = 1")?,
            last_iteration: self.last_iteration()?,
            daemon_cycles: self.counter("daemon_cycles")?,
            scripts: count("SELECT COUNT(*) FROM improvement_scripts")?,
            enabled_scripts: count("SELECT COUNT(*) FROM improvement_scripts WHERE enabled = 1")?,
            programs: count("SELECT COUNT(*) FROM programs")?,
            images: count("SELECT COUNT(*) FROM images")?,
            images_kept: count("SELECT COUNT(*) FROM images WHERE png IS NOT NULL")?,
            cartridges: count("SELECT COUNT(*) FROM cartridge_registry")?,
            db_bytes: self.used_bytes()?,
        })
    }

    /// The newest iteration, if any.
    pub fn last_iteration(&self) -> Result<Option<i64>> {
        Ok(self.db.query_row("SELECT MAX(iteration) FROM executions", params![])?.get(0)?)
    }
}
