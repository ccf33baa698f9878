//! What the improvement engine commits together with a daemon cycle: goal progress, learned
//! operator statistics, best-program cartridges and LLM proposals, all in the cycle's one transaction.
//!
//! The daemon's generator records kept candidates as executions; their iterations are only
//! known inside the writing transaction, so the changes here refer to them by their index in
//! the batch ([`ParentRef::Pending`]) and are resolved there. Committing them with the
//! executions makes the database a consistent checkpoint: after a stop or a crash, a goal's
//! state (its spec, best iteration, score and status) always matches the executions on record.
//! This module does not decide anything about goals; it only writes what it is given.

use crate::db::Db;
use crate::error::{Result, StoreError};
use crate::hash::Hash;
use crate::params;
use crate::record::{NewImage, ParentRef};
use crate::store::Store;

/// The scope of the operator statistics in the `stats` table.
pub const ARM_SCOPE: &str = "generator";

/// Changes written in a cycle's transaction after its executions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CycleExtras {
    /// Goal changes, applied in order.
    pub goals: Vec<GoalChange>,
    /// Operator statistics to add (scope [`ARM_SCOPE`]).
    pub arms: Vec<ArmDelta>,
    /// Cartridges to register.
    pub cartridges: Vec<CycleCartridge>,
    /// Derived scripts (an optimize goal's best program) to add or update by name.
    pub scripts: Vec<crate::scripts::DerivedScript>,
    /// Language-model proposals and their outcomes (`llm_proposals`, append-only).
    pub proposals: Vec<crate::proposals::NewProposal>,
    /// Goals the daemon sets itself, each added only if no goal of the same origin exists.
    pub self_set_goals: Vec<SelfSetGoal>,
    /// Successors adopted in place of their originals (after `scripts`, which writes the successor).
    pub adoptions: Vec<Adoption>,
    /// The committing agent's part: its heartbeat, the claims it releases, goal islands and
    /// verifications (see `agents.rs`); checked first, so a lost claim writes nothing.
    pub work: crate::agents::WorkCommit,
}

/// A goal the daemon sets itself.
#[derive(Debug, Clone, PartialEq)]
pub struct SelfSetGoal {
    /// Where it comes from (`optimize:SCRIPT`, `explore:N`): at most one goal per origin, ever.
    pub origin: String,
    /// The goal.
    pub goal: crate::goals::NewGoal,
}

/// A successor adopted in place of its original: the successor script is enabled, the original disabled (and
/// kept for replay), and the adoption recorded (`adoptions`, append-only).
#[derive(Debug, Clone, PartialEq)]
pub struct Adoption {
    /// The goal that found it.
    pub goal_id: i64,
    /// The original script's name.
    pub original: String,
    /// The successor script's name.
    pub successor: String,
    /// The original's cycles.
    pub original_cycles: u64,
    /// The successor's cycles.
    pub cycles: u64,
    /// The execution that recorded the successor's program.
    pub execution: ParentRef,
}

impl CycleExtras {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.goals.is_empty()
            && self.arms.is_empty()
            && self.cartridges.is_empty()
            && self.scripts.is_empty()
            && self.proposals.is_empty()
            && self.self_set_goals.is_empty()
            && self.adoptions.is_empty()
            && self.work.is_empty()
    }
}

/// A change to one goal; `None` fields stay.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoalChange {
    /// The goal.
    pub id: i64,
    /// New status (`active`, `paused`, `done`).
    pub status: Option<String>,
    /// New spec (the engine's parameters and its checkpoint).
    pub spec: Option<serde_json::Value>,
    /// A new best: the execution (usually `ParentRef::Pending`) and its score.
    pub best: Option<(ParentRef, f64)>,
}

/// Tries and improvements of one operator (a generator or a mutation kind) to add.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArmDelta {
    /// The operator, e.g. `optimize:delete` or `llm:qwen2.5-coder`.
    pub key: String,
    /// Times it was tried.
    pub tries: i64,
    /// Times it improved its goal.
    pub improvements: i64,
}

/// A cartridge registered under `{path_prefix}{iteration}`, where the iteration is that of
/// the execution at `pending` in the batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CycleCartridge {
    /// The start of the registry path, e.g. `goal-3/best-`.
    pub path_prefix: String,
    /// The batch index of the execution whose program this is.
    pub pending: usize,
    /// The cartridge PNG.
    pub png: Vec<u8>,
    /// Its screen's width.
    pub width: u32,
    /// Its screen's height.
    pub height: u32,
}

impl Store {
    /// Stores an image (content-addressed by [`NewImage::hash`]) outside any execution, for
    /// example an image goal's target. Returns its hash.
    pub fn put_image(&mut self, image: &NewImage) -> Result<Hash> {
        self.db.transaction(|tx| crate::record::image_id(tx, image, None))?;
        Ok(image.hash)
    }
}

/// Applies `extras` inside the cycle's transaction; `iterations` are the batch's.
pub(crate) fn write_extras(tx: &Db, extras: &CycleExtras, iterations: &[i64]) -> Result<()> {
    let resolve = |parent: ParentRef| -> Result<Option<i64>> {
        match parent {
            ParentRef::None => Ok(None),
            ParentRef::Iteration(iteration) => Ok(Some(iteration)),
            ParentRef::Pending(index) => iterations
                .get(index)
                .copied()
                .map(Some)
                .ok_or_else(|| StoreError::Invalid(format!("no execution {index} in this cycle"))),
        }
    };
    crate::agents::write_work(tx, &extras.work, &resolve)?;
    for change in &extras.goals {
        let best = match change.best {
            Some((parent, score)) => resolve(parent)?.map(|iteration| (iteration, score)),
            None => None,
        };
        let changed = tx.execute(
            crate::goals::UPDATE_GOAL,
            params![
                change.id,
                &change.status,
                None::<i64>,
                change.spec.as_ref().map(|s| s.to_string()),
                None::<i64>,
                None::<f64>
            ],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("goal {}", change.id)));
        }
        // Compare-and-set: several agents may commit bests of one goal; the stored best never gets worse.
        if let Some((iteration, score)) = best {
            tx.execute(
                "UPDATE development_goals SET best_iteration = ?2, best_score = ?3 \
                 WHERE id = ?1 AND (best_score IS NULL OR ?3 <= best_score)",
                params![change.id, iteration, score],
            )?;
        }
    }
    let now = crate::time::now_ms();
    for arm in &extras.arms {
        tx.execute(
            "INSERT INTO stats (scope, key, runs, successes, cycles_sum, duration_us_sum, cycles_hist, \
             duration_hist, updated_ms) VALUES (?1, ?2, ?3, ?4, 0, 0, '[]', '[]', ?5) \
             ON CONFLICT(scope, key) DO UPDATE SET runs = stats.runs + excluded.runs, \
             successes = stats.successes + excluded.successes, updated_ms = excluded.updated_ms",
            params![ARM_SCOPE, &arm.key, arm.tries, arm.improvements, now],
        )?;
    }
    for cartridge in &extras.cartridges {
        let Some(iteration) = resolve(ParentRef::Pending(cartridge.pending))? else { continue };
        let path = format!("{}{iteration}", cartridge.path_prefix);
        let hash = Hash::of(&cartridge.png);
        let blob_id = crate::cartridges::blob_id(tx, &hash, &cartridge.png)?;
        tx.execute(
            "INSERT INTO cartridge_registry (path, kind, checksum, width, height, created_at, blob_id) \
             VALUES (?1, 'pixel', ?2, ?3, ?4, datetime('now'), ?5) ON CONFLICT(path) DO NOTHING",
            params![path, hash.to_hex(), cartridge.width, cartridge.height, blob_id],
        )?;
    }
    for script in &extras.scripts {
        crate::scripts::upsert_derived_in(tx, script)?;
    }
    for proposal in &extras.proposals {
        crate::proposals::write_proposal(tx, proposal, resolve, now)?;
    }
    for set in &extras.self_set_goals {
        let goal = &set.goal;
        let kind = if goal.kind.is_empty() { "note" } else { goal.kind.as_str() };
        tx.execute(
            "INSERT INTO development_goals (goal, priority, created_at, kind, spec, updated_at, origin) \
             VALUES (?1, ?2, datetime('now'), ?3, ?4, datetime('now'), ?5) ON CONFLICT DO NOTHING",
            params![&goal.goal, goal.priority, kind, goal.spec.as_ref().map(|s| s.to_string()), &set.origin],
        )?;
    }
    for adoption in &extras.adoptions {
        let iteration = resolve(adoption.execution)?;
        // Only a successor derived from this original takes its place (never a person's script of that name).
        let enabled = tx.execute(
            "UPDATE improvement_scripts SET enabled = 1 WHERE name = ?1 \
             AND parent_script_id = (SELECT id FROM improvement_scripts WHERE name = ?2)",
            params![&adoption.successor, &adoption.original],
        )?;
        if enabled == 0 {
            continue;
        }
        tx.execute("UPDATE improvement_scripts SET enabled = 0 WHERE name = ?1", params![&adoption.original])?;
        tx.execute(
            "INSERT INTO adoptions (created_ms, goal_id, original, successor, original_cycles, cycles, iteration) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                now,
                adoption.goal_id,
                &adoption.original,
                &adoption.successor,
                adoption.original_cycles,
                adoption.cycles,
                iteration
            ],
        )?;
    }
    Ok(())
}
