//! Development goals (the seed's `development_goals` table, extended for the improvement
//! engine with a kind, a JSON spec owned by that engine, a status and the best result).

use serde::{Deserialize, Serialize};

use crate::db::Row;
use crate::error::{Result, StoreError};
use crate::params;
use crate::store::Store;

/// One goal: the one JSON shape of a goal on every surface (`gvpie goals list --json`, `GET /api/goals`, the
/// event stream), with the seed's column names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Goal {
    /// Row id.
    pub id: i64,
    /// The goal in words (the seed's `goal`).
    pub goal: String,
    /// Priority (the seed's default is 5).
    pub priority: i64,
    /// Done.
    pub completed: bool,
    /// When added.
    pub created_at: Option<String>,
    /// When completed.
    pub completed_at: Option<String>,
    /// `note` (the seed's free text), or the improvement engine's kinds (`image`, `optimize`).
    pub kind: String,
    /// The engine's parameters (JSON), if any: the budget and stop rules, the progress so far (steps,
    /// evaluations, seconds, stop reason), and for optimize goals the original program and the search's checkpoint.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub spec: Option<serde_json::Value>,
    /// `active`, `paused` or `done`.
    pub status: String,
    /// The best execution so far.
    pub best_iteration: Option<i64>,
    /// Its score.
    pub best_score: Option<f64>,
    /// Last change.
    pub updated_at: Option<String>,
    /// Where a goal the daemon set itself came from (`optimize:SCRIPT`, `explore:N`); `null` for a person's.
    pub origin: Option<String>,
}

/// A goal to add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewGoal {
    /// The goal in words.
    pub goal: String,
    /// Priority.
    #[serde(default = "default_priority")]
    pub priority: i64,
    /// Kind (`note` when empty).
    #[serde(default)]
    pub kind: String,
    /// Parameters.
    #[serde(default)]
    pub spec: Option<serde_json::Value>,
}

fn default_priority() -> i64 {
    5
}

/// Changes to a goal; `None` fields stay.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GoalUpdate {
    /// New status (`active`, `paused`, `done`; `done` also sets `completed`).
    #[serde(default)]
    pub status: Option<String>,
    /// New priority.
    #[serde(default)]
    pub priority: Option<i64>,
    /// New spec.
    #[serde(default)]
    pub spec: Option<serde_json::Value>,
    /// A new best result: (iteration, score).
    #[serde(default)]
    pub best: Option<(i64, f64)>,
}

const COLUMNS: &str = "id, goal, priority, completed, created_at, completed_at, kind, spec, status, best_iteration, \
     best_score, updated_at, origin";

fn goal_from_row(row: &Row) -> Result<Goal> {
    Ok(Goal {
        id: row.get(0)?,
        goal: row.text(1).unwrap_or_default(),
        priority: row.int(2).unwrap_or(5),
        completed: row.int(3).unwrap_or(0) != 0,
        created_at: row.text(4),
        completed_at: row.text(5),
        kind: row.text(6).unwrap_or_else(|| "note".to_string()),
        spec: row.text(7).and_then(|text| serde_json::from_str(&text).ok()),
        status: row.text(8).unwrap_or_else(|| "active".to_string()),
        best_iteration: row.int(9),
        best_score: row.get::<Option<f64>>(10).ok().flatten(),
        updated_at: row.text(11),
        origin: row.text(12),
    })
}

impl Store {
    /// Every goal, highest priority first.
    pub fn list_goals(&self) -> Result<Vec<Goal>> {
        let sql = format!("SELECT {COLUMNS} FROM development_goals ORDER BY priority DESC, id");
        self.db.query_all(&sql, params![])?.iter().map(goal_from_row).collect()
    }

    /// The goals with status `active`, highest priority first.
    pub fn active_goals(&self) -> Result<Vec<Goal>> {
        Ok(self.list_goals()?.into_iter().filter(|g| g.status == "active" && !g.completed).collect())
    }

    /// One goal.
    pub fn goal(&self, id: i64) -> Result<Option<Goal>> {
        let sql = format!("SELECT {COLUMNS} FROM development_goals WHERE id = ?1");
        self.db.query_opt(&sql, params![id])?.map(|row| goal_from_row(&row)).transpose()
    }

    /// Adds a goal.
    pub fn create_goal(&self, new: &NewGoal) -> Result<Goal> {
        if new.goal.trim().is_empty() {
            return Err(StoreError::Invalid("a goal needs a description".to_string()));
        }
        let kind = if new.kind.is_empty() { "note" } else { new.kind.as_str() };
        let row = self.db.query_row(
            "INSERT INTO development_goals (goal, priority, created_at, kind, spec, updated_at) \
             VALUES (?1, ?2, datetime('now'), ?3, ?4, datetime('now')) RETURNING id",
            params![&new.goal, new.priority, kind, new.spec.as_ref().map(|s| s.to_string())],
        )?;
        let id: i64 = row.get(0)?;
        self.goal(id)?.ok_or_else(|| StoreError::NotFound(format!("goal {id}")))
    }

    /// Adds a goal whose target image (an image goal's) is stored with it, or none.
    pub fn add_goal(&mut self, new: &NewGoal, target: Option<&crate::NewImage>) -> Result<Goal> {
        if let Some(image) = target {
            self.put_image(image)?;
        }
        self.create_goal(new)
    }

    /// The program of the pixel script `name`, the original an optimize goal improves; `Invalid` naming what is
    /// wrong when there is no such script or it is not a pixel script.
    pub fn pixel_script_source(&self, name: &str) -> Result<String> {
        let script =
            self.script_by_name(name)?.ok_or_else(|| StoreError::Invalid(format!("no script named '{name}'")))?;
        if script.lang != "pixel" {
            return Err(StoreError::Invalid(format!("'{name}' is a {} script; only pixel scripts", script.lang)));
        }
        Ok(script.code.unwrap_or_default())
    }

    /// Changes a goal.
    pub fn update_goal(&self, id: i64, update: &GoalUpdate) -> Result<Goal> {
        if let Some(status) = &update.status
            && !["active", "paused", "done"].contains(&status.as_str())
        {
            return Err(StoreError::Invalid(format!(
                "unknown goal status '{status}' (expected active, paused or done)"
            )));
        }
        let changed = self.db.execute(
            UPDATE_GOAL,
            params![
                id,
                &update.status,
                update.priority,
                update.spec.as_ref().map(|s| s.to_string()),
                update.best.map(|b| b.0),
                update.best.map(|b| b.1)
            ],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("goal {id}")));
        }
        self.goal(id)?.ok_or_else(|| StoreError::NotFound(format!("goal {id}")))
    }
}

/// A goal's change: `?1` id, `?2` status, `?3` priority, `?4` spec, `?5` best iteration, `?6`
/// best score; NULL keeps a field. Shared with a cycle's goal changes.
pub(crate) const UPDATE_GOAL: &str = "UPDATE development_goals SET status = COALESCE(?2, status), \
     priority = COALESCE(?3, priority), spec = COALESCE(?4, spec), best_iteration = COALESCE(?5, best_iteration), \
     best_score = COALESCE(?6, best_score), \
     completed = CASE WHEN ?2 = 'done' THEN 1 WHEN ?2 IS NOT NULL THEN 0 ELSE completed END, \
     completed_at = CASE WHEN ?2 = 'done' THEN datetime('now') WHEN ?2 IS NOT NULL THEN NULL \
     ELSE completed_at END, updated_at = datetime('now') WHERE id = ?1";

/// How the system grew by itself: its self-set goals, the archive of distinct pictures, the adopted successors
/// and the cycles they save. The one JSON shape of `gvpie stats --json`'s `growth` and `GET /api/growth`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Growth {
    /// Goals the daemon set itself.
    pub self_set_goals: i64,
    /// Goals that are done (converged, or out of budget).
    pub goals_done: i64,
    /// Kinds of picture in the largest explore archive (its occupied cells).
    pub archive_kinds: i64,
    /// Distinct pictures the explore goals ever kept (executions of `explore:*` generators): each new kind, and
    /// each clearly better program of a kind.
    pub archive_pictures: i64,
    /// Distinct programs in the infinite map.
    pub distinct_programs: i64,
    /// Executions that name their parent (`parent_iteration`).
    pub with_lineage: i64,
    /// Adoptions of successors, over all time.
    pub adoptions: i64,
    /// Cycles saved each time the daemon runs its scripts: over the originals now replaced by a successor, the
    /// original's cycles minus the latest successor's.
    pub cycles_saved_per_run: i64,
}

/// One picture of an explore goal's archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArchivePicture {
    /// The execution that kept it (its picture is `/api/map/{iteration}/image`).
    pub iteration: i64,
    /// What made it (`explore:insert`, `explore:crossover`, ...).
    pub generator: String,
    /// Its parent's iteration.
    pub parent_iteration: Option<i64>,
    /// Cycles it runs.
    pub cycles: i64,
}

impl Store {
    /// The growth counters.
    pub fn growth(&self) -> Result<Growth> {
        let count = |sql: &str| -> Result<i64> { Ok(self.db.query_row(sql, params![])?.get(0)?) };
        Ok(Growth {
            self_set_goals: count("SELECT COUNT(*) FROM development_goals WHERE origin IS NOT NULL")?,
            goals_done: count("SELECT COUNT(*) FROM development_goals WHERE status = 'done'")?,
            archive_kinds: count(self.db.pick(
                "SELECT COALESCE(MAX(json_array_length(spec, '$.state.archive')), 0) FROM development_goals \
                 WHERE kind = 'explore'",
                // A spec that is not JSON counts as no archive rather than failing the whole count.
                "SELECT COALESCE(MAX(CASE WHEN json_typeof(j -> 'state' -> 'archive') = 'array' \
                 THEN json_array_length(j -> 'state' -> 'archive') END), 0) \
                 FROM (SELECT gvpie_json(spec) AS j FROM development_goals WHERE kind = 'explore') g",
            ))?,
            archive_pictures: count(
                "SELECT COUNT(DISTINCT e.image_id) FROM executions e JOIN texts g ON g.id = e.generator_id \
                 WHERE g.text LIKE 'explore:%' AND e.image_id IS NOT NULL",
            )?,
            distinct_programs: count("SELECT COUNT(DISTINCT program_id) FROM executions WHERE program_id IS NOT NULL")?,
            with_lineage: count("SELECT COUNT(*) FROM executions WHERE parent_iteration IS NOT NULL")?,
            adoptions: count("SELECT COUNT(*) FROM adoptions")?,
            cycles_saved_per_run: count(
                "SELECT CAST(COALESCE(SUM(a.original_cycles - a.cycles), 0) AS BIGINT) FROM adoptions a \
                 JOIN improvement_scripts o ON o.name = a.original AND o.enabled = 0 \
                 JOIN improvement_scripts s ON s.name = a.successor AND s.enabled = 1 \
                 WHERE a.id = (SELECT MAX(id) FROM adoptions b WHERE b.original = a.original)",
            )?,
        })
    }

    /// The newest distinct pictures of the explore goals' archives, at most `limit`.
    pub fn archive_pictures(&self, limit: usize) -> Result<Vec<ArchivePicture>> {
        // The newest execution of each distinct picture (PostgreSQL has no SQLite bare columns
        // taking the row of the MAX, so the newest iterations are chosen first).
        let rows = self.db.query_all(
            "SELECT e.iteration, g.text, e.parent_iteration, e.cycles FROM executions e \
             JOIN texts g ON g.id = e.generator_id \
             WHERE e.iteration IN (SELECT MAX(x.iteration) FROM executions x JOIN texts xg ON xg.id = x.generator_id \
             WHERE xg.text LIKE 'explore:%' AND x.image_id IS NOT NULL GROUP BY x.image_id) \
             ORDER BY e.iteration DESC LIMIT ?1",
            params![limit],
        )?;
        rows.iter()
            .map(|row| {
                Ok(ArchivePicture {
                    iteration: row.get(0)?,
                    generator: row.get(1)?,
                    parent_iteration: row.get(2)?,
                    cycles: row.get(3)?,
                })
            })
            .collect()
    }

    /// The latest iteration whose program has this hash, to name it as a parent.
    pub fn latest_iteration_of_program(&self, program: &crate::Hash) -> Result<Option<i64>> {
        Ok(self
            .db
            .query_row(
                "SELECT MAX(e.iteration) FROM executions e JOIN programs p ON p.id = e.program_id WHERE p.hash = ?1",
                params![&program.0[..]],
            )?
            .get(0)?)
    }
}

/// One recorded adoption (`adoptions`): a successor that runs in its original's place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdoptionRecord {
    /// Row id (increasing).
    pub id: i64,
    /// When (Unix milliseconds).
    pub created_ms: i64,
    /// The goal that found the successor.
    pub goal_id: i64,
    /// The original script.
    pub original: String,
    /// The successor script.
    pub successor: String,
    /// The original's cycles.
    pub original_cycles: i64,
    /// The successor's cycles.
    pub cycles: i64,
    /// The execution that recorded the successor's program.
    pub iteration: Option<i64>,
}

impl Store {
    /// The newest adoptions, at most `limit`.
    pub fn adoptions(&self, limit: usize) -> Result<Vec<AdoptionRecord>> {
        let rows = self.db.query_all(
            "SELECT id, created_ms, goal_id, original, successor, original_cycles, cycles, iteration FROM adoptions \
             ORDER BY id DESC LIMIT ?1",
            params![limit],
        )?;
        rows.iter()
            .map(|row| {
                Ok(AdoptionRecord {
                    id: row.get(0)?,
                    created_ms: row.get(1)?,
                    goal_id: row.get(2)?,
                    original: row.get(3)?,
                    successor: row.get(4)?,
                    original_cycles: row.get(5)?,
                    cycles: row.get(6)?,
                    iteration: row.get(7)?,
                })
            })
            .collect()
    }
}
