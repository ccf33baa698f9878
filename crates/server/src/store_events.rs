//! Events and metrics through the store: what a daemon in another process does, seen by this
//! server.
//!
//! `gvpie up` runs the daemon in the server's process and publishes its events directly. A
//! `gvpie serve` beside a `gvpie daemon` (or any other writer) shares only the database, so
//! [`watch_store`] polls it: every [`POLL_INTERVAL`] it reads the newest iteration and the
//! daemon's cycle counter, and for every execution recorded since the last look it counts the
//! execution in `/metrics` and, when someone listens on `/api/events`, publishes it as an
//! `execution` event (`origin` `daemon`), between a `daemon` event `cycle_started` and a
//! `cycle_finished` for each cycle the counter moved by, the names `gvpie up` streams. No new
//! channel between the processes: the database is the one they already share.
//!
//! Every [`AGENT_POLL_EVERY`] looks it also reads the agents and their claims: each agent's
//! executions feed its throughput (`/api/agents`), and what changed since the last look becomes
//! an `agent` event: `joined` (a name not seen before, or one started again: its start count
//! grew), `left` (an agent that was alive is now `stopped` or `stale`), `took_over` (a piece of
//! work held by an agent that is not alive, or whose claim had lapsed, is now held by another;
//! or such a claim is gone and its goal slice or verify block is in `work_log` as taken over).
//! A script claim taken over and committed within one look leaves nothing to see (scripts run
//! again and again and are not logged), so that takeover goes unreported.

use std::collections::HashMap;
use std::time::Duration;

use gvpie_store::{AgentInfo, AgentState, MapEntry, Store, WorkClaimInfo, WorkLogEntry};

use crate::error::AppError;
use crate::events::{AgentEvent, DaemonEvent, Event, ExecutionEvent, now_ms};
use crate::state::AppState;

/// How often the store is read.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The most executions read in one look; a busier daemon is caught up with over the next looks.
const MAX_PER_POLL: i64 = 500;
/// The agents are read every this many looks (each reading counts every agent's executions).
pub const AGENT_POLL_EVERY: u32 = 2;

/// The agents and claims as one look found them.
#[derive(Debug, Default)]
struct AgentsSeen {
    /// Name → (state, starts).
    agents: HashMap<String, (AgentState, i64)>,
    /// Work → (agent, live, seq).
    claims: HashMap<String, (String, bool, i64)>,
}

impl AgentsSeen {
    fn new(agents: &[AgentInfo], claims: &[WorkClaimInfo]) -> AgentsSeen {
        AgentsSeen {
            agents: agents.iter().map(|a| (a.name.clone(), (a.state, a.starts))).collect(),
            claims: claims.iter().map(|c| (c.work.clone(), (c.agent.clone(), c.live, c.seq))).collect(),
        }
    }
}

/// What changed between two looks at the agents, as `agent` events (see the module docs).
/// `committed(work, seq)` is the `work_log` row of a numbered piece of work, if committed.
fn agent_events(
    before: &AgentsSeen,
    agents: &[AgentInfo],
    claims: &[WorkClaimInfo],
    committed: &dyn Fn(&str, i64) -> Option<WorkLogEntry>,
) -> Vec<AgentEvent> {
    let mut events = Vec::new();
    for agent in agents {
        let previous = before.agents.get(&agent.name).copied();
        let started = match previous {
            None => true,
            Some((_, starts)) => agent.starts > starts,
        };
        if started {
            let mut joined = AgentEvent::new("joined", &agent.name);
            joined.host = Some(agent.host.clone());
            joined.pid = Some(agent.pid);
            joined.roles = Some(agent.roles.clone());
            joined.state = Some(AgentState::Alive.as_str().to_string());
            joined.restarted = Some(agent.starts > 1);
            events.push(joined);
        }
        // Alive before (or started since), not alive now: it left, cleanly or not.
        let was_alive = started || previous.is_some_and(|(state, _)| state == AgentState::Alive);
        if was_alive && agent.state != AgentState::Alive {
            let mut left = AgentEvent::new("left", &agent.name);
            left.state = Some(agent.state.as_str().to_string());
            events.push(left);
        }
    }
    let alive = |name: &str| agents.iter().any(|a| a.name == name && a.state == AgentState::Alive);
    let took_over = |agent: &str, from: &str, work: &str, seq: i64| {
        let mut took = AgentEvent::new("took_over", agent);
        took.from = Some(from.to_string());
        took.work = Some(work.to_string());
        took.seq = Some(seq);
        took
    };
    for claim in claims {
        let Some((holder, was_live, _)) = before.claims.get(&claim.work) else { continue };
        if holder != &claim.agent && (!was_live || !alive(holder)) {
            events.push(took_over(&claim.agent, holder, &claim.work, claim.seq));
        }
    }
    // A lapsed claim that is gone: taken over and committed between two looks. A numbered piece
    // of work says by whom in `work_log`.
    let mut gone: Vec<(&String, &(String, bool, i64))> = before
        .claims
        .iter()
        .filter(|(work, (holder, was_live, seq))| {
            *seq > 0 && (!was_live || !alive(holder)) && !claims.iter().any(|c| &c.work == *work)
        })
        .collect();
    gone.sort();
    for (work, (holder, _, seq)) in gone {
        if let Some(entry) = committed(work, *seq)
            && entry.took_over_from.is_some()
        {
            events.push(took_over(&entry.agent, holder, work, *seq));
        }
    }
    events
}

/// The agents and their claims now, and what changed since `before` (no events without it).
fn look_at_agents(
    store: &Store,
    before: Option<&AgentsSeen>,
) -> Result<(Vec<AgentInfo>, AgentsSeen, Vec<AgentEvent>), AppError> {
    let agents = store.agents()?;
    let claims = store.work_claims()?;
    let events = match before {
        Some(before) => agent_events(before, &agents, &claims, &|work, seq| committed_slice(store, work, seq)),
        None => Vec::new(),
    };
    let seen = AgentsSeen::new(&agents, &claims);
    Ok((agents, seen, events))
}

/// The `work_log` row of `work`'s slice `seq`. The log is read oldest first by prefix, and a
/// goal island's slices commit in order, so its row is among the first `seq` of its work's (a
/// few more for other work sharing the prefix); read only for a lapsed claim that is gone.
fn committed_slice(store: &Store, work: &str, seq: i64) -> Option<WorkLogEntry> {
    let limit = usize::try_from(seq).ok()?.saturating_mul(2).saturating_add(64).min(100_000);
    store.work_log(work, limit).ok()?.into_iter().find(|entry| entry.work == work && entry.seq == seq)
}

/// What one look at the store found.
struct Seen {
    /// The daemon's cycle counter.
    cycles: i64,
    /// The newest iteration read.
    last: i64,
    /// Executions after the previous look, oldest first.
    entries: Vec<MapEntry>,
}

fn look(store: &Store, after: Option<i64>) -> Result<Seen, AppError> {
    let cycles = store.counter("daemon_cycles")?;
    let newest = store.last_iteration()?.unwrap_or(0);
    let Some(after) = after else { return Ok(Seen { cycles, last: newest, entries: Vec::new() }) };
    let last = newest.min(after.saturating_add(MAX_PER_POLL));
    let mut entries = Vec::new();
    for iteration in after + 1..=last {
        if let Some(entry) = store.map_entry(iteration, false)? {
            entries.push(entry);
        }
    }
    Ok(Seen { cycles, last, entries })
}

fn execution_event(entry: &MapEntry) -> Event {
    // A script's run or a goal's candidate is the daemon's; anything else was recorded by another
    // writer of the database (the plain-English compiler of a server, for one).
    let origin = if entry.script_id.is_some() || entry.goal_id.is_some() { "daemon" } else { "store" };
    Event::Execution(ExecutionEvent {
        origin: origin.to_string(),
        success: entry.success,
        cycles: entry.cycles,
        backend: entry.backend.as_str().to_string(),
        duration_ms: entry.duration_ms,
        error_kind: entry.error.as_ref().and_then(|e| e["kind"].as_str()).map(str::to_string),
        script: entry.script_name.clone(),
        iteration: Some(entry.iteration),
        program_hash: entry.program_hash.map(|h| h.to_hex()),
        image_hash: entry.image_hash.map(|h| h.to_hex()),
        agent: entry.agent.clone(),
        at_ms: u64::try_from(entry.started_ms).unwrap_or(0),
    })
}

fn daemon_event(name: &str, data: serde_json::Value) -> Event {
    Event::Daemon(DaemonEvent { event: name.to_string(), data, at_ms: now_ms() })
}

/// Polls the store of `state` until the server closes its event stream: executions recorded by
/// other processes go to `/metrics` and, while someone listens, to `/api/events` (see the module
/// docs). Returns at once for a server without a database. `gvpie serve` runs it; `gvpie up`
/// does not (its daemon publishes in-process).
pub async fn watch_store(state: AppState) {
    let Ok(pool) = state.store() else { return };
    let pool = pool.clone();
    let mut closing = state.events().closing();
    let first = pool.run(|store| look(store, None)).await;
    let (mut cycles, mut last) = match first {
        Ok(seen) => (seen.cycles, seen.last),
        Err(_) => (0, 0),
    };
    // The agents as last seen (`None` until a first look succeeded: what was there before is not news).
    let mut agents_seen: Option<AgentsSeen> = None;
    let mut looks: u32 = 0;
    loop {
        if looks.is_multiple_of(AGENT_POLL_EVERY) {
            let before = agents_seen.take();
            let looked = pool
                .run(move |store| {
                    let found = look_at_agents(store, before.as_ref());
                    Ok((found, before))
                })
                .await;
            match looked {
                Ok((Ok((agents, seen, events)), _)) => {
                    state.agent_rates().record(gvpie_store::now_ms(), &agents);
                    if state.events().n_subscribers() > 0 {
                        for event in events {
                            state.events().publish(Event::Agent(event));
                        }
                    }
                    agents_seen = Some(seen);
                }
                // A failed look changes nothing: the next compares with the same one.
                Ok((Err(_), before)) => agents_seen = before,
                Err(_) => {}
            }
        }
        looks = looks.wrapping_add(1);
        tokio::select! {
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            changed = closing.changed() => {
                if changed.is_err() || *closing.borrow() {
                    return;
                }
            }
        }
        let after = last;
        // A database that is busy or gone for a moment is looked at again next time.
        let Ok(seen) = pool.run(move |store| look(store, Some(after))).await else { continue };
        for entry in &seen.entries {
            let error_kind = entry.error.as_ref().and_then(|e| e["kind"].as_str());
            let duration = Duration::from_secs_f64(entry.duration_ms.max(0.0) / 1000.0);
            state.metrics().record_execution(entry.backend.as_str(), error_kind, duration);
        }
        let events = state.events();
        if events.n_subscribers() > 0 && (seen.cycles > cycles || !seen.entries.is_empty()) {
            for cycle in cycles + 1..=seen.cycles {
                events.publish(daemon_event("cycle_started", serde_json::json!({"cycle": cycle, "from": "store"})));
            }
            for entry in &seen.entries {
                events.publish(execution_event(entry));
            }
            if seen.cycles > cycles {
                let failures = seen.entries.iter().filter(|e| !e.success).count();
                events.publish(daemon_event(
                    "cycle_finished",
                    serde_json::json!({
                        "cycle": seen.cycles,
                        "executions": seen.entries.len(),
                        "failures": failures,
                        "from": "store",
                    }),
                ));
            }
        }
        cycles = seen.cycles;
        last = seen.last;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(name: &str, state: AgentState, starts: i64) -> AgentInfo {
        AgentInfo {
            name: name.to_string(),
            host: "h".to_string(),
            pid: 7,
            roles: vec!["goals".to_string()],
            state,
            last_heartbeat: String::new(),
            executions: 0,
            heartbeat_ms: 0,
            started_ms: 0,
            ttl_ms: 30_000,
            stopped_ms: None,
            starts,
        }
    }

    fn claim(work: &str, agent: &str, live: bool) -> WorkClaimInfo {
        WorkClaimInfo { work: work.to_string(), agent: agent.to_string(), seq: 4, claimed_ms: 0, live }
    }

    fn nothing_committed(_work: &str, _seq: i64) -> Option<WorkLogEntry> {
        None
    }

    fn summary(events: &[AgentEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e.event.as_str() {
                "took_over" => format!(
                    "{} took_over {} from {}",
                    e.agent,
                    e.work.as_deref().unwrap_or("?"),
                    e.from.as_deref().unwrap_or("?")
                ),
                _ => format!("{} {} {}", e.agent, e.event, e.state.as_deref().unwrap_or("?")),
            })
            .collect()
    }

    #[test]
    fn joins_leaves_and_takeovers_between_two_looks() {
        let before = AgentsSeen::new(
            &[agent("a", AgentState::Alive, 1), agent("b", AgentState::Alive, 1), agent("c", AgentState::Alive, 1)],
            &[claim("goal:1:0", "a", true), claim("script:2", "b", true)],
        );
        let now = [
            agent("a", AgentState::Stale, 1),
            agent("b", AgentState::Alive, 1),
            agent("c", AgentState::Stopped, 1),
            agent("d", AgentState::Alive, 1),
        ];
        let claims = [claim("goal:1:0", "b", true), claim("script:2", "b", true)];
        assert_eq!(
            summary(&agent_events(&before, &now, &claims, &nothing_committed)),
            ["a left stale", "c left stopped", "d joined alive", "b took_over goal:1:0 from a"]
        );
    }

    #[test]
    fn a_restart_is_a_join_and_a_commit_then_claim_is_no_takeover() {
        let before = AgentsSeen::new(
            &[agent("a", AgentState::Stale, 1), agent("b", AgentState::Alive, 1)],
            &[claim("script:1", "b", true)],
        );
        // a started again; b committed script:1 and a claimed it next (b alive, its claim was live).
        let now = [agent("a", AgentState::Alive, 2), agent("b", AgentState::Alive, 1)];
        let events = agent_events(&before, &now, &[claim("script:1", "a", true)], &nothing_committed);
        assert_eq!(summary(&events), ["a joined alive"]);
        assert_eq!(events[0].restarted, Some(true));
        // Nothing changed: nothing to say.
        let same = AgentsSeen::new(&now, &[]);
        assert!(agent_events(&same, &now, &[], &nothing_committed).is_empty());
    }

    #[test]
    fn a_lapsed_slice_claim_gone_is_a_takeover_when_the_log_says_so() {
        let before = AgentsSeen::new(
            &[agent("a", AgentState::Alive, 1), agent("b", AgentState::Alive, 1)],
            &[claim("goal:1:0", "a", true), claim("goal:1:1", "b", true)],
        );
        let now = [agent("a", AgentState::Stale, 1), agent("b", AgentState::Alive, 1)];
        // b took goal:1:0's slice 4 over from a and committed it between the looks; goal:1:1 was
        // b's own (alive): committing it is no takeover.
        let log = |work: &str, seq: i64| {
            (work == "goal:1:0" && seq == 4).then(|| WorkLogEntry {
                work: work.to_string(),
                seq,
                agent: "b".to_string(),
                committed_ms: 0,
                took_over_from: Some("a".to_string()),
            })
        };
        let events = agent_events(&before, &now, &[], &log);
        assert_eq!(summary(&events), ["a left stale", "b took_over goal:1:0 from a"]);
        assert_eq!(events[1].seq, Some(4));
        // Not in the log (yet, or read too late): nothing is said rather than a guess.
        assert_eq!(summary(&agent_events(&before, &now, &[], &nothing_committed)), ["a left stale"]);
    }
}
