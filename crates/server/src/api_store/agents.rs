//! `/api/agents`: the agents (daemons) working on the database, each in the shape `gvpie agents
//! --json` prints (`name`, `host`, `pid`, `roles`, `state`, `last_heartbeat`, `executions`),
//! with what this server can add: the work each one holds now and its throughput.
//!
//! Throughput is measured, not estimated: [`AgentRates`] keeps each agent's `executions` count as
//! this server read it over the last [`RATE_WINDOW`] (every look of `watch_store`, and every call
//! here), and the rate is the growth between the oldest and the newest reading. An agent seen for
//! less than [`MIN_RATE_SPAN`] has no rate yet (`null`), never a guess.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::Json;
use axum::extract::State;
use gvpie_store::{AgentInfo, WorkClaimInfo};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

/// The window throughput is measured over (ms).
pub(crate) const RATE_WINDOW: i64 = 60_000;
/// The shortest span of readings a rate is given for (ms).
pub(crate) const MIN_RATE_SPAN: i64 = 1_000;
/// Readings closer together than this replace each other (ms), so fast polling keeps the history small.
const MIN_SAMPLE_GAP: i64 = 500;

/// One agent, as `gvpie agents --json` prints it, and more.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AgentJson {
    /// Its name (`--agent`; default `host:pid`).
    pub name: String,
    /// Host of its latest start.
    pub host: String,
    /// Process id of its latest start.
    pub pid: u32,
    /// Its roles: `scripts`, `goals`, `evaluate`.
    pub roles: Vec<String>,
    /// `alive` (heartbeat within its time-to-live), `stale` (crashed, killed or hung: its work can be taken
    /// over) or `stopped` (stopped cleanly).
    pub state: String,
    /// Its last heartbeat, `YYYY-MM-DD HH:MM:SS.SSS` UTC.
    pub last_heartbeat: String,
    /// Executions it committed, across all its restarts.
    pub executions: i64,
    /// Executions it committed per minute over the last minute, as this server measured them (the growth
    /// of `executions` between its readings, over `rate_window_s`); `null` until the server has read the
    /// agent over at least a second.
    pub executions_per_minute: Option<f64>,
    /// The span of this server's readings the rate was measured over, in seconds: the last minute once it
    /// has read the agent for that long (`gvpie serve` reads every agent each second), longer only when
    /// nothing read the agents in between (`gvpie up` reads them when this endpoint is called).
    pub rate_window_s: Option<f64>,
    /// The work it holds now (live claims): `script:ID`, `goal:ID:ISLAND`, `verify:BLOCK`.
    pub working_on: Vec<String>,
    /// Its last heartbeat, ms since the Unix epoch.
    pub heartbeat_ms: i64,
    /// When its latest start was, ms since the Unix epoch.
    pub started_ms: i64,
    /// How many times it started under this name.
    pub starts: i64,
    /// When it stopped, if it did (ms since the Unix epoch).
    pub stopped_ms: Option<i64>,
}

/// The agents.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AgentList {
    /// Every agent that ever worked on this database, by name.
    pub agents: Vec<AgentJson>,
}

/// Each agent's `executions` count as read over the last [`RATE_WINDOW`]: (ms, executions), oldest first.
#[derive(Debug, Default)]
pub(crate) struct AgentRates {
    readings: Mutex<HashMap<String, VecDeque<(i64, i64)>>>,
}

impl AgentRates {
    /// Adds a reading of every agent at `now` (ms), forgetting agents no longer listed.
    pub(crate) fn record(&self, now: i64, agents: &[AgentInfo]) {
        let mut readings = self.readings.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        readings.retain(|name, _| agents.iter().any(|a| &a.name == name));
        for agent in agents {
            let history = readings.entry(agent.name.clone()).or_default();
            // A reading from the past (clocks of two callers) would make a negative span.
            if history.back().is_some_and(|&(t, _)| now < t) {
                continue;
            }
            // Readings stay at least MIN_SAMPLE_GAP apart: the newest replaces one too close to the one before it.
            let n = history.len();
            if n >= 2 && history[n - 1].0 - history[n - 2].0 < MIN_SAMPLE_GAP {
                history.pop_back();
            }
            history.push_back((now, agent.executions));
            // Keep one reading at or before the window's start, so the window is covered whole.
            while history.len() > 2 && history.get(1).is_some_and(|&(t, _)| t <= now - RATE_WINDOW) {
                history.pop_front();
            }
        }
    }

    /// Executions per minute and the span (s) they were measured over, if the span is long enough.
    pub(crate) fn rate(&self, name: &str) -> Option<(f64, f64)> {
        let readings = self.readings.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let history = readings.get(name)?;
        let (&(t0, n0), &(t1, n1)) = (history.front()?, history.back()?);
        let span = t1 - t0;
        if span < MIN_RATE_SPAN {
            return None;
        }
        // Counts only grow; a smaller one (a database restored from a backup) reads as no work.
        let done = (n1 - n0).max(0) as f64;
        Some((done * 60_000.0 / span as f64, span as f64 / 1000.0))
    }
}

/// The API's view of the store's agents and claims.
pub(crate) fn agent_list(agents: &[AgentInfo], claims: &[WorkClaimInfo], rates: &AgentRates) -> AgentList {
    let agents = agents
        .iter()
        .map(|agent| {
            let rate = rate_of(rates, agent);
            AgentJson {
                name: agent.name.clone(),
                host: agent.host.clone(),
                pid: agent.pid,
                roles: agent.roles.clone(),
                state: agent.state.as_str().to_string(),
                last_heartbeat: agent.last_heartbeat.clone(),
                executions: agent.executions,
                executions_per_minute: rate.map(|r| r.0),
                rate_window_s: rate.map(|r| r.1),
                working_on: claims.iter().filter(|c| c.live && c.agent == agent.name).map(|c| c.work.clone()).collect(),
                heartbeat_ms: agent.heartbeat_ms,
                started_ms: agent.started_ms,
                starts: agent.starts,
                stopped_ms: agent.stopped_ms,
            }
        })
        .collect();
    AgentList { agents }
}

fn rate_of(rates: &AgentRates, agent: &AgentInfo) -> Option<(f64, f64)> {
    let (per_minute, window) = rates.rate(&agent.name)?;
    // Rounded so that the JSON says what was measured, not float noise.
    Some(((per_minute * 10.0).round() / 10.0, (window * 10.0).round() / 10.0))
}

/// The agents working on this database: each one's name, host, pid, roles, state, last heartbeat and
/// executions (the objects `gvpie agents --json` prints), with its throughput and the work it holds.
#[utoipa::path(get, path = "/api/agents", tag = "agents",
    responses(
        (status = 200, body = AgentList, example = json!({"agents": [{
            "name": "gpu0", "host": "render-1", "pid": 4242, "roles": ["scripts", "goals", "evaluate"],
            "state": "alive", "last_heartbeat": "2026-12-06 11:42:07.123", "executions": 18231,
            "executions_per_minute": 512.0, "rate_window_s": 60.0, "working_on": ["goal:3:0"],
            "heartbeat_ms": 1796557327000_i64, "started_ms": 1796553727000_i64, "starts": 2, "stopped_ms": null
        }]})),
        (status = 401, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub(crate) async fn list_agents(State(state): State<AppState>) -> Result<Json<AgentList>, AppError> {
    let (agents, claims) = state.store()?.run(|store| Ok((store.agents()?, store.work_claims()?))).await?;
    let rates = state.agent_rates();
    rates.record(gvpie_store::now_ms(), &agents);
    Ok(Json(agent_list(&agents, &claims, rates)))
}

#[cfg(test)]
mod tests {
    use gvpie_store::AgentState;

    use super::*;

    fn agent(name: &str, executions: i64) -> AgentInfo {
        AgentInfo {
            name: name.to_string(),
            host: "h".to_string(),
            pid: 1,
            roles: vec!["scripts".to_string()],
            state: AgentState::Alive,
            last_heartbeat: String::new(),
            executions,
            heartbeat_ms: 0,
            started_ms: 0,
            ttl_ms: 30_000,
            stopped_ms: None,
            starts: 1,
        }
    }

    #[test]
    fn the_rate_is_the_growth_over_the_readings_in_the_window() {
        let rates = AgentRates::default();
        rates.record(0, &[agent("a", 100)]);
        assert_eq!(rates.rate("a"), None, "one reading is no rate");
        rates.record(600, &[agent("a", 110)]);
        assert_eq!(rates.rate("a"), None, "less than a second is no rate");
        rates.record(2_000, &[agent("a", 120)]);
        assert_eq!(rates.rate("a"), Some((600.0, 2.0)));
        // Readings older than the window go, but one at its start stays.
        for t in (3_000..=90_000).step_by(1_000) {
            rates.record(t, &[agent("a", 120 + (t - 2_000) / 1_000)]);
        }
        let (per_minute, window) = rates.rate("a").expect("a rate");
        assert_eq!((per_minute, window), (60.0, 60.0));
        // An agent no longer listed is forgotten.
        rates.record(91_000, &[agent("b", 0)]);
        assert_eq!(rates.rate("a"), None);
    }

    #[test]
    fn fast_readings_replace_each_other() {
        let rates = AgentRates::default();
        for t in 0..1_000 {
            rates.record(t, &[agent("a", t)]);
        }
        let readings = rates.readings.lock().expect("lock");
        let history = &readings["a"];
        assert!(history.len() <= 3, "{history:?}");
        assert!(history.iter().zip(history.iter().skip(1)).rev().skip(1).all(|(a, b)| b.0 - a.0 >= MIN_SAMPLE_GAP));
    }
}
