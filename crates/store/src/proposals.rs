//! The `llm_proposals` table: every proposal a language model made for a goal and what became
//! of it. Adopted proposals are also executions; the others would otherwise be lost, and they
//! are what tells whether the prompts work. Rows are written with a daemon cycle
//! ([`crate::CycleExtras::proposals`]) and never changed.

use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::error::{Result, StoreError};
use crate::params;
use crate::record::ParentRef;
use crate::store::Store;

/// The outcomes a proposal can have.
pub const PROPOSAL_OUTCOMES: [&str; 4] = ["adopted", "refused", "rejected", "unavailable"];

/// Characters of a proposal's source (or raw reply) kept.
pub const MAX_PROPOSAL_SOURCE: usize = 64 * 1024;

/// Characters of a reason kept.
const MAX_REASON: usize = 4096;

/// A proposal to record with a cycle.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewProposal {
    /// The goal it was made for.
    pub goal_id: i64,
    /// `llm:MODEL`.
    pub generator: String,
    /// `adopted`, `refused` (a valid program, not better), `rejected` (not a usable program for the goal) or
    /// `unavailable` (the request failed).
    pub outcome: String,
    /// Why it was refused or rejected (or the request failed).
    pub reason: Option<String>,
    /// The program, or the raw reply when no program could be read (cut to [`MAX_PROPOSAL_SOURCE`] characters).
    pub source: Option<String>,
    /// Its score when it was evaluated (cycles, or RMSE).
    pub score: Option<f64>,
    /// The execution kept when adopted (usually [`ParentRef::Pending`]).
    pub execution: ParentRef,
}

/// A recorded proposal: its one JSON shape (`gvpie goals show --json`, `GET /api/goals/{id}/proposals`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LlmProposal {
    /// Row id (increasing).
    pub id: i64,
    /// The goal.
    pub goal_id: i64,
    /// When it was recorded (Unix milliseconds).
    pub created_ms: i64,
    /// `llm:MODEL`.
    pub generator: String,
    /// `adopted`, `refused` (a valid program, not better), `rejected` (not a usable program for the goal) or
    /// `unavailable` (the request failed).
    pub outcome: String,
    /// Why it was refused or rejected.
    pub reason: Option<String>,
    /// The program, or the raw reply when no program could be read (at most 64 KiB).
    pub source: Option<String>,
    /// Its score when evaluated.
    pub score: Option<f64>,
    /// The execution kept when adopted.
    pub iteration: Option<i64>,
}

fn cut(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Writes `proposal` in the cycle's transaction; `resolve` turns its execution into an iteration.
pub(crate) fn write_proposal(
    tx: &Db,
    proposal: &NewProposal,
    resolve: impl Fn(ParentRef) -> Result<Option<i64>>,
    now_ms: i64,
) -> Result<()> {
    if !PROPOSAL_OUTCOMES.contains(&proposal.outcome.as_str()) {
        return Err(StoreError::Invalid(format!(
            "unknown proposal outcome '{}' (expected adopted, refused, rejected or unavailable)",
            proposal.outcome
        )));
    }
    let iteration = resolve(proposal.execution)?;
    tx.execute(
        "INSERT INTO llm_proposals (goal_id, created_ms, generator, outcome, reason, source, score, iteration) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            proposal.goal_id,
            now_ms,
            &proposal.generator,
            &proposal.outcome,
            proposal.reason.as_deref().map(|r| cut(r, MAX_REASON)),
            proposal.source.as_deref().map(|s| cut(s, MAX_PROPOSAL_SOURCE)),
            proposal.score.filter(|s| s.is_finite()),
            iteration
        ],
    )?;
    Ok(())
}

impl Store {
    /// The last `limit` proposals made for goal `goal_id`, newest first.
    pub fn llm_proposals(&self, goal_id: i64, limit: usize) -> Result<Vec<LlmProposal>> {
        let rows = self.db.query_all(
            "SELECT id, goal_id, created_ms, generator, outcome, reason, source, score, iteration \
             FROM llm_proposals WHERE goal_id = ?1 ORDER BY id DESC LIMIT ?2",
            params![goal_id, limit],
        )?;
        rows.iter()
            .map(|row| {
                Ok(LlmProposal {
                    id: row.get(0)?,
                    goal_id: row.get(1)?,
                    created_ms: row.get(2)?,
                    generator: row.get(3)?,
                    outcome: row.get(4)?,
                    reason: row.get(5)?,
                    source: row.get(6)?,
                    score: row.get(7)?,
                    iteration: row.get(8)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn cuts_at_characters() {
        assert_eq!(cut("héllo", 2), "hé");
        assert_eq!(cut("hi", 5), "hi");
    }
}
