//! Agents and the work they share: who works on the database, and which piece of work each
//! one holds right now. The rules are written out in `docs/agents.md`.
//!
//! # Agents
//!
//! An agent is one daemon process under a name (`--agent`, default `host:pid`): a row of
//! `agents` with its host, pid, roles, start, heartbeat, time-to-live and, after a clean stop,
//! its stop time. [`Store::register_agent`] creates the row or, for a name seen before, takes
//! it over with a new *token* (the incarnation), even while the previous process still
//! heartbeats: a restarted agent is the same agent, and its executions (the `agent_id` of
//! `executions`) count across restarts. The replaced process notices at its next heartbeat
//! or commit ([`StoreError::LeaseLost`]) and stops. State ([`AgentState`]): *alive* when its
//! heartbeat is within its TTL, *stale* when older and not stopped, *stopped* after
//! [`Store::stop_agent`].
//!
//! # Claims
//!
//! Work is claimed in one short transaction and committed later in the transaction that
//! writes its results. A claim is a row of `work_claims` keyed by the work's name
//! (`script:ID`, `goal:ID:ISLAND`, `verify:BLOCK`) naming the agent, its token and a sequence
//! number. A claim is *live* while its agent's token is current, the agent is not stopped and
//! its heartbeat is within its TTL: one heartbeat keeps all of an agent's claims. A claim that
//! is not live is taken over by the next agent that asks (and the taker learns whose it was,
//! [`Claim::took_over_from`]). On PostgreSQL the claiming `SELECT` locks the candidate rows
//! `FOR UPDATE SKIP LOCKED`, so concurrent claimers skip each other's candidates instead of
//! waiting, and the claim itself is an upsert guarded by the same liveness test, so two
//! claimers can never both win a row. On SQLite the single writer makes a plain claim enough.
//!
//! The commit ([`WorkCommit`], written inside the cycle's transaction through
//! [`crate::CycleExtras::work`]) deletes each claim *only if it is still ours* (same token and
//! sequence number) and fails with [`StoreError::ClaimLost`] otherwise, which rolls the whole
//! cycle back: an agent that was suspended past its TTL and overtaken writes nothing. A goal
//! island's slice number advances by compare-and-set, and every committed slice is logged in
//! `work_log` under the primary key `(work, seq)`: a slice cannot be committed twice.
//!
//! # Goal islands
//!
//! Several agents may work on one goal at once, each on its own *island* (`goal_islands`):
//! island 0 is the goal itself (its spec in `development_goals`), islands 1.. keep their own
//! spec, best iteration and score. Agents claim the lowest free island, so a lone agent only
//! ever works on island 0, exactly as before islands existed. The goal's best is replaced only
//! by a better (or equal) score inside the committing transaction (compare-and-set in
//! `write_extras`), so it never gets worse.

use serde::{Deserialize, Serialize};

use crate::db::{Db, Row};
use crate::error::{Result, StoreError};
use crate::params;
use crate::record::ParentRef;
use crate::scripts::Script;
use crate::store::Store;
use crate::time::{format_ms, now_ms};

/// The roles an agent may take (`--roles`): running the improvement scripts, working on goal
/// slices, and re-running recorded executions to check that they reproduce.
pub const ROLES: &[&str] = &["scripts", "goals", "evaluate"];

/// How many executions one `evaluate` claim covers (a block of consecutive iterations).
pub const VERIFY_BLOCK: i64 = 16;

/// Who registers: [`Store::register_agent`]'s input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSpec {
    /// The agent's name (unique in the database; a restart uses the same one).
    pub name: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// Its roles, each one of [`ROLES`].
    pub roles: Vec<String>,
    /// How long it counts as alive without a heartbeat.
    pub ttl: std::time::Duration,
}

/// A registered agent, as the process that registered it holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentHandle {
    /// The row's id (what `executions.agent_id` holds).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// This incarnation's token.
    pub token: String,
    /// Time-to-live in ms.
    pub ttl_ms: i64,
}

/// What [`Store::register_agent`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The handle to heartbeat and commit with.
    pub agent: AgentHandle,
    /// The name was registered before (a restart).
    pub restarted: bool,
    /// The previous incarnation was still alive and has just been replaced (its pid and host).
    pub replaced_live: Option<String>,
}

/// An agent's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    /// Heartbeat within its TTL.
    Alive,
    /// Heartbeat older than its TTL, and it never said it stopped (crashed, killed, hung).
    Stale,
    /// Stopped cleanly.
    Stopped,
}

impl AgentState {
    /// `alive`, `stale` or `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Alive => "alive",
            AgentState::Stale => "stale",
            AgentState::Stopped => "stopped",
        }
    }
}

/// An agent as stored, with what it has committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentInfo {
    /// Its name.
    pub name: String,
    /// Host of its latest incarnation.
    pub host: String,
    /// Pid of its latest incarnation.
    pub pid: u32,
    /// Its roles.
    pub roles: Vec<String>,
    /// Its state when read.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: AgentState,
    /// The last heartbeat, as the store writes timestamps (`YYYY-MM-DD HH:MM:SS`, UTC).
    pub last_heartbeat: String,
    /// Executions it committed, across all its restarts.
    pub executions: i64,
    /// The last heartbeat in ms since the epoch.
    pub heartbeat_ms: i64,
    /// When its latest incarnation started (ms since the epoch).
    pub started_ms: i64,
    /// Its time-to-live in ms.
    pub ttl_ms: i64,
    /// When it stopped, if it did (ms since the epoch).
    pub stopped_ms: Option<i64>,
    /// How many times it started under this name.
    pub starts: i64,
}

/// One claimed piece of work, to hand back in a [`WorkCommit`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The work's name: `script:ID`, `goal:ID:ISLAND` or `verify:BLOCK`.
    pub work: String,
    /// Its sequence number: a goal island's slice number, a verify block's pass, 0 for scripts.
    pub seq: i64,
    /// The agent whose claim on it had gone stale and was taken over, if any.
    pub took_over_from: Option<String>,
}

/// Scripts claimed for one cycle.
#[derive(Debug, Clone, Default)]
pub struct ScriptClaims {
    /// The scripts, in the order `scripts_due` would give them.
    pub scripts: Vec<Script>,
    /// Their claims.
    pub claims: Vec<Claim>,
}

/// A goal island's stored state (island 0's spec is the goal's own and is `None` here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IslandInfo {
    /// The goal.
    pub goal_id: i64,
    /// The island (0 is the goal itself).
    pub island: i64,
    /// The island's own spec (islands 1..), with its progress and checkpoint.
    pub spec: Option<serde_json::Value>,
    /// The island's best execution.
    pub best_iteration: Option<i64>,
    /// Its score (lower is better).
    pub best_score: Option<f64>,
    /// Slices committed on it.
    pub slices: i64,
    /// `active` or `done`.
    pub status: String,
}

/// A goal slice claimed: the island to work on and the slice's number.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceClaim {
    /// The claim.
    pub claim: Claim,
    /// The island's state before the slice.
    pub island: IslandInfo,
}

/// A block of executions to re-run (role `evaluate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyClaim {
    /// The claim (`verify:BLOCK`).
    pub claim: Claim,
    /// The iterations of the block not verified yet.
    pub iterations: Vec<i64>,
}

/// What an island's slice changes, committed with the cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct IslandChange {
    /// The goal.
    pub goal_id: i64,
    /// The island.
    pub island: i64,
    /// The slice's number (the claim's `seq`): the commit is refused unless the island has
    /// exactly `slice - 1` slices committed.
    pub slice: i64,
    /// The island's new spec (islands 1..; `None` keeps it).
    pub spec: Option<serde_json::Value>,
    /// The island's new best, if better than its own.
    pub best: Option<(ParentRef, f64)>,
    /// The island's search has ended.
    pub done: bool,
}

/// One execution re-run by an `evaluate` agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The iteration.
    pub iteration: i64,
    /// `same`, `different` or `not_replayable`.
    pub outcome: String,
    /// What differed, or why it could not be re-run.
    pub detail: Option<String>,
}

/// The agent's part of a cycle's commit (inside [`crate::CycleExtras`]): its heartbeat is
/// checked, its claims released (each must still be its own), islands advanced and
/// verifications written, all in the cycle's transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkCommit {
    /// The committing agent (`None`: no agent checks, e.g. a library caller).
    pub agent: Option<AgentHandle>,
    /// The claims this cycle worked on.
    pub claims: Vec<Claim>,
    /// Island changes.
    pub islands: Vec<IslandChange>,
    /// Verifications.
    pub verifications: Vec<Verification>,
}

impl WorkCommit {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.agent.is_none() && self.claims.is_empty() && self.islands.is_empty() && self.verifications.is_empty()
    }
}

/// A claim as stored (for the dashboard and tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkClaimInfo {
    /// The work.
    pub work: String,
    /// The claiming agent's name.
    pub agent: String,
    /// The sequence number.
    pub seq: i64,
    /// When it was claimed (ms since the epoch).
    pub claimed_ms: i64,
    /// Whether the claim is live (its agent alive under the same token).
    pub live: bool,
}

/// A committed piece of work (`work_log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkLogEntry {
    /// The work.
    pub work: String,
    /// Its sequence number.
    pub seq: i64,
    /// The agent that committed it.
    pub agent: String,
    /// When (ms since the epoch).
    pub committed_ms: i64,
    /// The stale agent it was taken over from, if any.
    pub took_over_from: Option<String>,
}

/// Counts of `evaluate`'s verdicts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationCounts {
    /// Re-runs that gave the recorded result.
    pub same: i64,
    /// Re-runs that did not.
    pub different: i64,
    /// Executions that could not be re-run (nothing compiled, no program recorded).
    pub not_replayable: i64,
}

/// SQL: the claim `c` is live (its agent's current token, not stopped, heartbeat within TTL at `?{now}`).
fn live(now_param: usize) -> String {
    format!(
        "EXISTS (SELECT 1 FROM agents la WHERE la.id = c.agent_id AND la.token = c.token \
         AND la.stopped_ms IS NULL AND la.heartbeat_ms + la.ttl_ms >= ?{now_param})"
    )
}

/// Checks a role list: every name one of [`ROLES`], none twice, at least one.
pub fn parse_roles(text: &str) -> std::result::Result<Vec<String>, String> {
    let mut roles = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let role = part.to_ascii_lowercase();
        if !ROLES.contains(&role.as_str()) {
            return Err(format!("unknown role '{part}'; the roles are {}", ROLES.join(", ")));
        }
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if roles.is_empty() {
        return Err(format!("no role given; the roles are {}", ROLES.join(", ")));
    }
    Ok(roles)
}

fn check_agent_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "agent name '{}' must be 1 to 200 characters without control characters",
            name.escape_debug()
        )));
    }
    Ok(())
}

fn state_of(stopped_ms: Option<i64>, heartbeat_ms: i64, ttl_ms: i64, now: i64) -> AgentState {
    if stopped_ms.is_some() {
        AgentState::Stopped
    } else if heartbeat_ms.saturating_add(ttl_ms) >= now {
        AgentState::Alive
    } else {
        AgentState::Stale
    }
}

fn agent_from_row(row: &Row, now: i64) -> Result<AgentInfo> {
    let heartbeat_ms: i64 = row.get(5)?;
    let ttl_ms: i64 = row.get(6)?;
    let stopped_ms: Option<i64> = row.get(7)?;
    let roles: String = row.get(3)?;
    Ok(AgentInfo {
        name: row.get(0)?,
        host: row.get(1)?,
        pid: row.get(2)?,
        roles: roles.split(',').filter(|r| !r.is_empty()).map(str::to_string).collect(),
        state: state_of(stopped_ms, heartbeat_ms, ttl_ms, now),
        last_heartbeat: format_ms(heartbeat_ms),
        executions: row.get(9)?,
        heartbeat_ms,
        started_ms: row.get(4)?,
        ttl_ms,
        stopped_ms,
        starts: row.get(8)?,
    })
}

/// A token unique to this incarnation.
fn new_token(spec: &AgentSpec, now: i64) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("{}@{}:{now}:{}", spec.pid, spec.host, COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Claims `work` for `agent` unless someone else holds a live claim on it. Returns the claim
/// (with the stale holder it replaced), or `None` when another agent got there first.
fn claim_in(tx: &Db, agent: &AgentHandle, work: &str, seq: i64, now: i64) -> Result<Option<Claim>> {
    let previous = tx.query_opt(
        "SELECT c.agent_id, c.token, a.name FROM work_claims c LEFT JOIN agents a ON a.id = c.agent_id \
         WHERE c.work = ?1",
        params![work],
    )?;
    let took_over_from = match previous {
        Some(row) => {
            let (id, token): (i64, String) = (row.get(0)?, row.get(1)?);
            let name: Option<String> = row.get(2)?;
            (id != agent.id || token != agent.token).then(|| name.unwrap_or_else(|| format!("agent {id}")))
        }
        None => None,
    };
    let sql = "INSERT INTO work_claims (work, agent_id, token, seq, claimed_ms, took_over_from) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (work) DO UPDATE SET agent_id = excluded.agent_id, \
         token = excluded.token, seq = excluded.seq, claimed_ms = excluded.claimed_ms, \
         took_over_from = excluded.took_over_from \
         WHERE work_claims.agent_id = ?2 OR NOT EXISTS (SELECT 1 FROM agents la WHERE la.id = work_claims.agent_id \
         AND la.token = work_claims.token AND la.stopped_ms IS NULL AND la.heartbeat_ms + la.ttl_ms >= ?5) \
         RETURNING work";
    let won = tx.query_opt(sql, params![work, agent.id, &agent.token, seq, now, &took_over_from])?;
    Ok(won.map(|_| Claim { work: work.to_string(), seq, took_over_from }))
}

impl Store {
    /// Registers an agent, or takes its name over with a new token (a restart, even while the
    /// previous process is alive: it stops at its next heartbeat). Later executions recorded
    /// with [`crate::NewExecution::agent_id`] = the handle's id count as its work.
    pub fn register_agent(&self, spec: &AgentSpec) -> Result<Registered> {
        check_agent_name(&spec.name)?;
        for role in &spec.roles {
            if !ROLES.contains(&role.as_str()) {
                return Err(StoreError::Invalid(format!("unknown role '{role}'; the roles are {}", ROLES.join(", "))));
            }
        }
        let now = now_ms();
        let ttl_ms = i64::try_from(spec.ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        let token = new_token(spec, now);
        let roles = spec.roles.join(",");
        self.db.transaction(|tx| -> Result<Registered> {
            // Read, then insert or rewrite: serialised so two starts under one name cannot interleave.
            tx.lock("agents")?;
            let existing = tx.query_opt(
                "SELECT id, pid, host, heartbeat_ms, ttl_ms, stopped_ms FROM agents WHERE name = ?1",
                params![&spec.name],
            )?;
            match existing {
                Some(row) => {
                    let id: i64 = row.get(0)?;
                    let (pid, host): (i64, String) = (row.get(1)?, row.get(2)?);
                    let state = state_of(row.get(5)?, row.get(3)?, row.get(4)?, now);
                    tx.execute(
                        "UPDATE agents SET host = ?2, pid = ?3, roles = ?4, token = ?5, started_ms = ?6, \
                         heartbeat_ms = ?6, ttl_ms = ?7, stopped_ms = NULL, starts = starts + 1 WHERE id = ?1",
                        params![id, &spec.host, spec.pid, &roles, &token, now, ttl_ms],
                    )?;
                    Ok(Registered {
                        agent: AgentHandle { id, name: spec.name.clone(), token: token.clone(), ttl_ms },
                        restarted: true,
                        replaced_live: (state == AgentState::Alive).then(|| format!("pid {pid} on {host}")),
                    })
                }
                None => {
                    let id: i64 = tx
                        .query_row(
                            "INSERT INTO agents (name, host, pid, roles, token, started_ms, heartbeat_ms, ttl_ms, \
                             stopped_ms, starts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, NULL, 1) RETURNING id",
                            params![&spec.name, &spec.host, spec.pid, &roles, &token, now, ttl_ms],
                        )?
                        .get(0)?;
                    Ok(Registered {
                        agent: AgentHandle { id, name: spec.name.clone(), token: token.clone(), ttl_ms },
                        restarted: false,
                        replaced_live: None,
                    })
                }
            }
        })
    }

    /// The agent's heartbeat, which also keeps all its claims live. Fails with
    /// [`StoreError::LeaseLost`] when another process took the name over.
    pub fn agent_heartbeat(&self, agent: &AgentHandle) -> Result<()> {
        heartbeat_in(&self.db, agent, now_ms())
    }

    /// A clean stop: the agent is marked stopped and its claims are given back at once.
    pub fn stop_agent(&self, agent: &AgentHandle) -> Result<()> {
        self.db.transaction(|tx| -> Result<()> {
            tx.execute(
                "UPDATE agents SET stopped_ms = ?3, heartbeat_ms = ?3 WHERE id = ?1 AND token = ?2",
                params![agent.id, &agent.token, now_ms()],
            )?;
            tx.execute("DELETE FROM work_claims WHERE agent_id = ?1 AND token = ?2", params![agent.id, &agent.token])?;
            Ok(())
        })
    }

    /// Gives claims back without committing anything (a cycle abandoned or rolled back), so
    /// other agents need not wait for the TTL.
    pub fn release_claims(&self, agent: &AgentHandle, claims: &[Claim]) -> Result<()> {
        self.db.transaction(|tx| -> Result<()> {
            for claim in claims {
                tx.execute(
                    "DELETE FROM work_claims WHERE work = ?1 AND agent_id = ?2 AND token = ?3",
                    params![&claim.work, agent.id, &agent.token],
                )?;
            }
            Ok(())
        })
    }

    /// Deletes every claim that is not this incarnation's. Only for a caller that knows no other
    /// agent can be running: a daemon holding a SQLite file's single-daemon lease, which a crashed
    /// predecessor's claims must not hold up for a whole TTL.
    pub fn clear_other_claims(&self, agent: &AgentHandle) -> Result<usize> {
        Ok(self
            .db
            .execute("DELETE FROM work_claims WHERE agent_id <> ?1 OR token <> ?2", params![agent.id, &agent.token])?)
    }

    /// Every agent, by name, with its state and executions.
    pub fn agents(&self) -> Result<Vec<AgentInfo>> {
        self.read_agents("(SELECT COUNT(*) FROM executions e WHERE e.agent_id = a.id)")
    }

    /// Every agent as [`Store::agents`] gives it but without counting its executions (`executions`
    /// is 0): cheap enough for a daemon to poll on a large map.
    pub fn agent_states(&self) -> Result<Vec<AgentInfo>> {
        self.read_agents("0")
    }

    fn read_agents(&self, executions: &str) -> Result<Vec<AgentInfo>> {
        let now = now_ms();
        let sql = format!(
            "SELECT a.name, a.host, a.pid, a.roles, a.started_ms, a.heartbeat_ms, a.ttl_ms, a.stopped_ms, a.starts, \
             {executions} FROM agents a ORDER BY a.name"
        );
        self.db.query_all(&sql, params![])?.iter().map(|row| agent_from_row(row, now)).collect()
    }

    /// Claims up to `limit` enabled scripts no other live agent holds, least recently run
    /// first (the order of `scripts_due`); code longer than `max_code_bytes` is not loaded.
    pub fn claim_scripts(&self, agent: &AgentHandle, limit: usize, max_code_bytes: i64) -> Result<ScriptClaims> {
        let now = now_ms();
        let claims = self.db.transaction(|tx| -> Result<Vec<(i64, Claim)>> {
            let sql = format!(
                "SELECT s.id FROM improvement_scripts s WHERE s.enabled = 1 AND s.archived_at IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM work_claims c WHERE c.work = 'script:' || s.id AND {}) \
                 ORDER BY s.last_run_at ASC NULLS FIRST, s.id ASC LIMIT ?1{}",
                live(2),
                tx.pick("", " FOR UPDATE OF s SKIP LOCKED")
            );
            let mut claims = Vec::with_capacity(limit);
            // A candidate can be lost to a claimer that committed after this statement's snapshot; the next
            // statement sees that claim (and ours), so a few more rounds fill the cycle.
            for _ in 0..3 {
                let wanted = limit - claims.len();
                let ids: Vec<i64> =
                    tx.query_all(&sql, params![wanted, now])?.iter().map(|r| r.get(0)).collect::<Result<_, _>>()?;
                let offered = ids.len();
                for id in ids {
                    if let Some(claim) = claim_in(tx, agent, &format!("script:{id}"), 0, now)? {
                        claims.push((id, claim));
                    }
                }
                if offered < wanted || claims.len() >= limit {
                    break;
                }
            }
            Ok(claims)
        })?;
        let mut out = ScriptClaims::default();
        for (id, claim) in claims {
            // Read outside the claim's transaction: the claim, not a lock, keeps others off it.
            match crate::scripts::script_limited(&self.db, id, max_code_bytes)? {
                Some(script) => {
                    out.scripts.push(script);
                    out.claims.push(claim);
                }
                // Deleted by hand in between: give it back.
                None => self.release_claims(agent, std::slice::from_ref(&claim))?,
            }
        }
        Ok(out)
    }

    /// Claims the next slice of goal `goal_id` on its lowest free island below `islands`
    /// (island 0, the goal itself, when free). `None` when every island is held by a live
    /// agent or done.
    pub fn claim_goal_slice(&self, agent: &AgentHandle, goal_id: i64, islands: u32) -> Result<Option<SliceClaim>> {
        let now = now_ms();
        let islands = i64::from(islands.max(1));
        self.db.transaction(|tx| -> Result<Option<SliceClaim>> {
            for island in 0..islands {
                tx.execute(
                    "INSERT INTO goal_islands (goal_id, island, slices, status, updated_ms) \
                     VALUES (?1, ?2, 0, 'active', ?3) ON CONFLICT (goal_id, island) DO NOTHING",
                    params![goal_id, island, now],
                )?;
            }
            let sql = format!(
                "SELECT i.island, i.slices, i.spec, i.best_iteration, i.best_score, i.status FROM goal_islands i \
                 WHERE i.goal_id = ?1 AND i.island < ?2 AND i.status = 'active' \
                 AND NOT EXISTS (SELECT 1 FROM work_claims c WHERE c.work = 'goal:' || i.goal_id || ':' || i.island \
                 AND {}) ORDER BY i.island LIMIT 1{}",
                live(3),
                tx.pick("", " FOR UPDATE OF i SKIP LOCKED")
            );
            // One candidate at a time, so a concurrent claimer is kept off that island only; a candidate lost to
            // a claimer that committed after this statement's snapshot is excluded by the next statement.
            for _ in 0..islands {
                let Some(row) = tx.query_opt(&sql, params![goal_id, islands, now])? else { break };
                let info = island_from_row(goal_id, &row)?;
                let work = format!("goal:{goal_id}:{}", info.island);
                if let Some(claim) = claim_in(tx, agent, &work, info.slices + 1, now)? {
                    return Ok(Some(SliceClaim { claim, island: info }));
                }
            }
            Ok(None)
        })
    }

    /// Claims the newest block of [`VERIFY_BLOCK`] iterations that has executions not verified
    /// yet and no live claim (role `evaluate`).
    pub fn claim_verification(&self, agent: &AgentHandle) -> Result<Option<VerifyClaim>> {
        let now = now_ms();
        self.db.transaction(|tx| -> Result<Option<VerifyClaim>> {
            let sql = format!(
                "SELECT e.iteration FROM executions e WHERE NOT EXISTS \
                 (SELECT 1 FROM verifications v WHERE v.iteration = e.iteration) \
                 AND NOT EXISTS (SELECT 1 FROM work_claims c WHERE c.work = 'verify:' || (e.iteration / ?1) \
                 AND {}) ORDER BY e.iteration DESC LIMIT 1",
                live(2)
            );
            let Some(row) = tx.query_opt(&sql, params![VERIFY_BLOCK, now])? else { return Ok(None) };
            let block = row.get::<i64>(0)? / VERIFY_BLOCK;
            let work = format!("verify:{block}");
            // A block fills up over time and is checked again for its new executions: the next pass's number.
            let seq: i64 = tx
                .query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM work_log WHERE work = ?1", params![&work])?
                .get(0)?;
            let Some(claim) = claim_in(tx, agent, &work, seq, now)? else { return Ok(None) };
            let iterations = tx
                .query_all(
                    "SELECT e.iteration FROM executions e WHERE e.iteration >= ?1 AND e.iteration < ?2 \
                     AND NOT EXISTS (SELECT 1 FROM verifications v WHERE v.iteration = e.iteration) \
                     ORDER BY e.iteration",
                    params![block * VERIFY_BLOCK, (block + 1) * VERIFY_BLOCK],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect::<Result<_, _>>()?;
            Ok(Some(VerifyClaim { claim, iterations }))
        })
    }

    /// The iterations of the newest block with executions not verified yet, without claiming it:
    /// for a daemon that is alone on its database by construction (SQLite's single-daemon lease),
    /// which commits the verdicts without a claim. Empty when everything is verified.
    pub fn unverified_block(&self) -> Result<Vec<i64>> {
        let newest = self.db.query_opt(
            "SELECT e.iteration FROM executions e WHERE NOT EXISTS \
             (SELECT 1 FROM verifications v WHERE v.iteration = e.iteration) ORDER BY e.iteration DESC LIMIT 1",
            params![],
        )?;
        let Some(row) = newest else { return Ok(Vec::new()) };
        let block = row.get::<i64>(0)? / VERIFY_BLOCK;
        self.db
            .query_all(
                "SELECT e.iteration FROM executions e WHERE e.iteration >= ?1 AND e.iteration < ?2 \
                 AND NOT EXISTS (SELECT 1 FROM verifications v WHERE v.iteration = e.iteration) ORDER BY e.iteration",
                params![block * VERIFY_BLOCK, (block + 1) * VERIFY_BLOCK],
            )?
            .iter()
            .map(|r| Ok(r.get(0)?))
            .collect()
    }

    /// Every claim, live or not (the dashboard, tests).
    pub fn work_claims(&self) -> Result<Vec<WorkClaimInfo>> {
        let sql = format!(
            "SELECT c.work, COALESCE(a.name, ''), c.seq, c.claimed_ms, CASE WHEN {} THEN 1 ELSE 0 END \
             FROM work_claims c LEFT JOIN agents a ON a.id = c.agent_id ORDER BY c.work",
            live(1)
        );
        self.db
            .query_all(&sql, params![now_ms()])?
            .iter()
            .map(|row| {
                Ok(WorkClaimInfo {
                    work: row.get(0)?,
                    agent: row.get(1)?,
                    seq: row.get(2)?,
                    claimed_ms: row.get(3)?,
                    live: row.get(4)?,
                })
            })
            .collect()
    }

    /// The committed work whose name starts with `prefix` (`goal:3:`, `verify:`...), oldest
    /// first, at most `limit` entries.
    pub fn work_log(&self, prefix: &str, limit: usize) -> Result<Vec<WorkLogEntry>> {
        self.db
            .query_all(
                "SELECT w.work, COALESCE(a.name, ''), w.seq, w.committed_ms, w.took_over_from FROM work_log w \
                 LEFT JOIN agents a ON a.id = w.agent_id WHERE substr(w.work, 1, length(CAST(?1 AS TEXT))) = CAST(?1 AS TEXT) \
                 ORDER BY w.committed_ms, w.work, w.seq LIMIT ?2",
                params![prefix, limit],
            )?
            .iter()
            .map(|row| {
                Ok(WorkLogEntry {
                    work: row.get(0)?,
                    agent: row.get(1)?,
                    seq: row.get(2)?,
                    committed_ms: row.get(3)?,
                    took_over_from: row.get(4)?,
                })
            })
            .collect()
    }

    /// A goal's islands (island 0 first).
    pub fn goal_islands(&self, goal_id: i64) -> Result<Vec<IslandInfo>> {
        self.db
            .query_all(
                "SELECT island, slices, spec, best_iteration, best_score, status FROM goal_islands \
                 WHERE goal_id = ?1 ORDER BY island",
                params![goal_id],
            )?
            .iter()
            .map(|row| island_from_row(goal_id, row))
            .collect()
    }

    /// How many re-runs of `evaluate` agents gave each verdict.
    pub fn verification_counts(&self) -> Result<VerificationCounts> {
        let mut counts = VerificationCounts::default();
        for row in self.db.query_all("SELECT outcome, COUNT(*) FROM verifications GROUP BY outcome", params![])? {
            let (outcome, n): (String, i64) = (row.get(0)?, row.get(1)?);
            match outcome.as_str() {
                "same" => counts.same = n,
                "different" => counts.different = n,
                _ => counts.not_replayable += n,
            }
        }
        Ok(counts)
    }
}

fn island_from_row(goal_id: i64, row: &Row) -> Result<IslandInfo> {
    let spec: Option<String> = row.get(2)?;
    Ok(IslandInfo {
        goal_id,
        island: row.get(0)?,
        slices: row.get(1)?,
        spec: spec.and_then(|s| serde_json::from_str(&s).ok()),
        best_iteration: row.get(3)?,
        best_score: row.get(4)?,
        status: row.get(5)?,
    })
}

fn heartbeat_in(db: &Db, agent: &AgentHandle, now: i64) -> Result<()> {
    let changed = db.execute(
        "UPDATE agents SET heartbeat_ms = ?3 WHERE id = ?1 AND token = ?2 AND stopped_ms IS NULL",
        params![agent.id, &agent.token, now],
    )?;
    if changed == 1 { Ok(()) } else { Err(StoreError::LeaseLost) }
}

/// Writes an agent's part of a cycle inside its transaction (see [`WorkCommit`]).
pub(crate) fn write_work(tx: &Db, work: &WorkCommit, resolve: &dyn Fn(ParentRef) -> Result<Option<i64>>) -> Result<()> {
    let now = now_ms();
    let agent = match &work.agent {
        Some(agent) => {
            heartbeat_in(tx, agent, now)?;
            Some(agent)
        }
        None => None,
    };
    // In a global order (by name), so two agents committing at once lock rows in the same order.
    let mut claims: Vec<&Claim> = work.claims.iter().collect();
    claims.sort_by(|a, b| a.work.cmp(&b.work));
    for claim in claims {
        let Some(agent) = agent else {
            return Err(StoreError::Invalid("claims committed without their agent".to_string()));
        };
        let released = tx.execute(
            "DELETE FROM work_claims WHERE work = ?1 AND agent_id = ?2 AND token = ?3 AND seq = ?4",
            params![&claim.work, agent.id, &agent.token, claim.seq],
        )?;
        if released != 1 {
            return Err(StoreError::ClaimLost(claim.work.clone()));
        }
        // Scripts run again and again: only numbered work (goal slices, verify blocks) is logged.
        if claim.seq > 0 {
            tx.execute(
                "INSERT INTO work_log (work, seq, agent_id, committed_ms, took_over_from) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![&claim.work, claim.seq, agent.id, now, &claim.took_over_from],
            )?;
        }
    }
    let mut islands: Vec<&IslandChange> = work.islands.iter().collect();
    islands.sort_by_key(|c| (c.goal_id, c.island));
    for change in islands {
        let best = match change.best {
            Some((parent, score)) => resolve(parent)?.map(|iteration| (iteration, score)),
            None => None,
        };
        // Compare-and-set on the slice number: a slice is committed once, and only after the one before it.
        let changed = tx.execute(
            "UPDATE goal_islands SET slices = ?3, spec = COALESCE(?4, spec), \
             best_iteration = CASE WHEN CAST(?5 AS BIGINT) IS NOT NULL AND (best_score IS NULL OR \
             CAST(?6 AS DOUBLE PRECISION) <= best_score) THEN CAST(?5 AS BIGINT) ELSE best_iteration END, \
             best_score = CASE WHEN CAST(?5 AS BIGINT) IS NOT NULL AND (best_score IS NULL OR \
             CAST(?6 AS DOUBLE PRECISION) <= best_score) THEN CAST(?6 AS DOUBLE PRECISION) ELSE best_score END, \
             status = CASE WHEN ?7 = 1 THEN 'done' ELSE status END, updated_ms = ?8 \
             WHERE goal_id = ?1 AND island = ?2 AND slices = ?3 - 1",
            params![
                change.goal_id,
                change.island,
                change.slice,
                change.spec.as_ref().map(|s| s.to_string()),
                best.map(|b| b.0),
                best.map(|b| b.1),
                change.done,
                now
            ],
        )?;
        if changed != 1 {
            return Err(StoreError::ClaimLost(format!(
                "goal:{}:{} slice {} (committed already, or out of order)",
                change.goal_id, change.island, change.slice
            )));
        }
    }
    for verification in &work.verifications {
        tx.execute(
            "INSERT INTO verifications (iteration, agent_id, outcome, detail, checked_ms) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (iteration) DO NOTHING",
            params![verification.iteration, agent.map(|a| a.id), &verification.outcome, &verification.detail, now],
        )?;
    }
    Ok(())
}

/// The migration's SQLite text (appended to `schema::MIGRATIONS`).
pub(crate) const SQLITE_MIGRATION: &str = "
CREATE TABLE agents (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    roles TEXT NOT NULL,
    token TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    heartbeat_ms INTEGER NOT NULL,
    ttl_ms INTEGER NOT NULL,
    stopped_ms INTEGER,
    starts INTEGER NOT NULL DEFAULT 1
);
ALTER TABLE executions ADD COLUMN agent_id INTEGER REFERENCES agents(id);
CREATE INDEX executions_agent ON executions (agent_id) WHERE agent_id IS NOT NULL;
CREATE TABLE work_claims (
    work TEXT PRIMARY KEY,
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    token TEXT NOT NULL,
    seq INTEGER NOT NULL,
    claimed_ms INTEGER NOT NULL,
    took_over_from TEXT
);
CREATE TABLE work_log (
    work TEXT NOT NULL,
    seq INTEGER NOT NULL,
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    committed_ms INTEGER NOT NULL,
    took_over_from TEXT,
    PRIMARY KEY (work, seq)
);
CREATE TRIGGER work_log_no_update BEFORE UPDATE ON work_log BEGIN SELECT RAISE(ABORT, 'work_log is append-only'); END;
CREATE TRIGGER work_log_no_delete BEFORE DELETE ON work_log BEGIN SELECT RAISE(ABORT, 'work_log is append-only'); END;
CREATE TABLE goal_islands (
    goal_id INTEGER NOT NULL,
    island INTEGER NOT NULL,
    spec TEXT,
    best_iteration INTEGER,
    best_score REAL,
    slices INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'active',
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (goal_id, island)
);
CREATE TABLE verifications (
    iteration INTEGER PRIMARY KEY,
    agent_id INTEGER REFERENCES agents(id),
    outcome TEXT NOT NULL,
    detail TEXT,
    checked_ms INTEGER NOT NULL
);
";

/// The same for PostgreSQL.
pub(crate) const POSTGRES_MIGRATION: &str = "
CREATE TABLE agents (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    roles TEXT NOT NULL,
    token TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    heartbeat_ms BIGINT NOT NULL,
    ttl_ms BIGINT NOT NULL,
    stopped_ms BIGINT,
    starts BIGINT NOT NULL DEFAULT 1
);
ALTER TABLE executions ADD COLUMN agent_id BIGINT;
CREATE INDEX executions_agent ON executions (agent_id) WHERE agent_id IS NOT NULL;
CREATE TABLE work_claims (
    work TEXT PRIMARY KEY,
    agent_id BIGINT NOT NULL,
    token TEXT NOT NULL,
    seq BIGINT NOT NULL,
    claimed_ms BIGINT NOT NULL,
    took_over_from TEXT
);
CREATE TABLE work_log (
    work TEXT NOT NULL,
    seq BIGINT NOT NULL,
    agent_id BIGINT NOT NULL,
    committed_ms BIGINT NOT NULL,
    took_over_from TEXT,
    PRIMARY KEY (work, seq)
);
CREATE FUNCTION gvpie_work_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'work_log is append-only'; END $$;
CREATE TRIGGER work_log_append_only BEFORE UPDATE OR DELETE ON work_log
    FOR EACH ROW EXECUTE FUNCTION gvpie_work_log_append_only();
CREATE TABLE goal_islands (
    goal_id BIGINT NOT NULL,
    island BIGINT NOT NULL,
    spec TEXT,
    best_iteration BIGINT,
    best_score DOUBLE PRECISION,
    slices BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'active',
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (goal_id, island)
);
CREATE TABLE verifications (
    iteration BIGINT PRIMARY KEY,
    agent_id BIGINT,
    outcome TEXT NOT NULL,
    detail TEXT,
    checked_ms BIGINT NOT NULL
);
";
