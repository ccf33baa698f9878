//! Agents and claims: registration and restarts, heartbeats, disjoint claims from two handles
//! on one PostgreSQL database at once, takeover of a stale agent's claim, a lost claim rolling
//! a commit back, islands committed once, the goal's best never getting worse.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gvpie_store::{
    AgentHandle, AgentSpec, AgentState, CycleExtras, GoalChange, IslandChange, Location, NewExecution, NewGoal,
    NewScript, ParentRef, Store, StoreError, StoreOptions, WorkCommit,
};

const POSTGRES_ENV: &str = "GVPIE_TEST_POSTGRES";

/// A fresh database: SQLite in a temporary folder, or PostgreSQL when the server is configured.
struct Db {
    location: Location,
    _dir: Option<tempfile::TempDir>,
    dbname: Option<String>,
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("temp dir");
        Db { location: Location::Sqlite(dir.path().join("gvpie.db")), _dir: Some(dir), dbname: None }
    }

    /// `None` (with a line on stderr) when no server is configured, unless GVPIE_REQUIRE_POSTGRES=1.
    fn postgres() -> Option<Db> {
        let Ok(url) = std::env::var(POSTGRES_ENV) else {
            assert!(
                std::env::var("GVPIE_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "GVPIE_REQUIRE_POSTGRES=1 but {POSTGRES_ENV} is not set"
            );
            eprintln!("skipped: {POSTGRES_ENV} is not set (a PostgreSQL server URL)");
            return None;
        };
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dbname = format!("gvpie_agents_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let base = url.rsplit_once('/').map_or(url.as_str(), |(head, _)| head);
        let location = Location::parse(&format!("{base}/{dbname}")).expect("a URL");
        Some(Db { location, _dir: None, dbname: Some(dbname) })
    }

    fn open(&self) -> Store {
        Store::open_location(&self.location, &StoreOptions::default()).expect("open")
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let (Some(name), Ok(url)) = (&self.dbname, std::env::var(POSTGRES_ENV))
            && let Ok(mut admin) = postgres::Client::connect(&url, postgres::NoTls)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}

fn both() -> Vec<Db> {
    let mut dbs = vec![Db::sqlite()];
    dbs.extend(Db::postgres());
    dbs
}

fn spec(name: &str, ttl: Duration) -> AgentSpec {
    AgentSpec {
        name: name.to_string(),
        host: "test-host".to_string(),
        pid: 4242,
        roles: vec!["scripts".to_string(), "goals".to_string(), "evaluate".to_string()],
        ttl,
    }
}

fn script(store: &Store, name: &str) {
    store
        .create_script(&NewScript {
            name: name.to_string(),
            lang: "pixel".to_string(),
            purpose: None,
            code: "RECT 0 0 4 4\nHALT".to_string(),
            enabled: true,
            parent_script_id: None,
        })
        .expect("script");
}

fn run_of(agent: &AgentHandle) -> NewExecution {
    NewExecution { success: true, cycles: 2, agent_id: Some(agent.id), ..NewExecution::default() }
}

#[test]
fn an_agent_restarted_under_its_name_is_the_same_agent() {
    for db in both() {
        let mut store = db.open();
        assert!(store.agents().expect("agents").is_empty());
        let first = store.register_agent(&spec("a1", Duration::from_secs(30))).expect("register");
        assert!(!first.restarted);
        let extras = CycleExtras {
            work: WorkCommit { agent: Some(first.agent.clone()), ..WorkCommit::default() },
            ..CycleExtras::default()
        };
        let cycle =
            store.record_cycle_with(&[run_of(&first.agent), run_of(&first.agent)], None, &extras).expect("commit");
        // Every record names the agent that made it.
        let entry = store.map_entry(cycle.iterations[0], false).expect("read").expect("recorded");
        assert_eq!(entry.agent.as_deref(), Some("a1"));
        // A restart while the first is alive takes the name over at once; the first's heartbeat then fails.
        let second = store.register_agent(&spec("a1", Duration::from_secs(30))).expect("register again");
        assert!(second.restarted);
        assert!(second.replaced_live.is_some());
        assert_eq!(second.agent.id, first.agent.id);
        assert!(matches!(store.agent_heartbeat(&first.agent), Err(StoreError::LeaseLost)));
        let stale = CycleExtras {
            work: WorkCommit { agent: Some(first.agent.clone()), ..WorkCommit::default() },
            ..CycleExtras::default()
        };
        assert!(matches!(store.record_cycle_with(&[run_of(&first.agent)], None, &stale), Err(StoreError::LeaseLost)));
        store.agent_heartbeat(&second.agent).expect("heartbeat");
        let extras = CycleExtras {
            work: WorkCommit { agent: Some(second.agent.clone()), ..WorkCommit::default() },
            ..CycleExtras::default()
        };
        store.record_cycle_with(&[run_of(&second.agent)], None, &extras).expect("commit");
        let agents = store.agents().expect("agents");
        assert_eq!(agents.len(), 1);
        assert_eq!((agents[0].executions, agents[0].starts, agents[0].state), (3, 2, AgentState::Alive));
        store.stop_agent(&second.agent).expect("stop");
        assert_eq!(store.agents().expect("agents")[0].state, AgentState::Stopped);
    }
}

#[test]
fn a_stale_agents_claims_are_taken_over_and_its_commit_is_refused() {
    for db in both() {
        let mut store = db.open();
        script(&store, "s1");
        let slow = store.register_agent(&spec("slow", Duration::from_millis(200))).expect("register").agent;
        let other = store.register_agent(&spec("other", Duration::from_secs(30))).expect("register").agent;
        let claimed = store.claim_scripts(&slow, 3, 1 << 20).expect("claim");
        assert_eq!(claimed.scripts.len(), 1);
        // Held and live: nobody else gets it.
        assert!(store.claim_scripts(&other, 3, 1 << 20).expect("claim").scripts.is_empty());
        // The slow agent stops heartbeating past its TTL: its claim is taken over.
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(store.agents().expect("agents")[1].state, AgentState::Stale);
        let taken = store.claim_scripts(&other, 3, 1 << 20).expect("claim");
        assert_eq!(taken.claims.len(), 1);
        assert_eq!(taken.claims[0].took_over_from.as_deref(), Some("slow"));
        // The slow agent wakes up and tries to commit: refused, nothing written.
        store.agent_heartbeat(&slow).expect("its own heartbeat still works");
        let before = store.last_iteration().expect("last");
        let late = CycleExtras {
            work: WorkCommit { agent: Some(slow.clone()), claims: claimed.claims.clone(), ..WorkCommit::default() },
            ..CycleExtras::default()
        };
        let refused = store.record_cycle_with(&[run_of(&slow)], None, &late);
        assert!(matches!(refused, Err(StoreError::ClaimLost(_))), "{refused:?}");
        assert_eq!(store.last_iteration().expect("last"), before);
        let done = CycleExtras {
            work: WorkCommit { agent: Some(other.clone()), claims: taken.claims.clone(), ..WorkCommit::default() },
            ..CycleExtras::default()
        };
        store.record_cycle_with(&[run_of(&other)], None, &done).expect("the taker commits");
        // Released at commit: claimable again.
        assert_eq!(store.claim_scripts(&other, 3, 1 << 20).expect("claim").scripts.len(), 1);
    }
}

#[test]
fn two_handles_claiming_at_once_get_disjoint_work() {
    let Some(db) = Db::postgres() else { return };
    let store = db.open();
    for i in 0..40 {
        script(&store, &format!("s{i}"));
    }
    let goal = store
        .create_goal(&NewGoal { goal: "g".to_string(), priority: 1, kind: "image".to_string(), spec: None })
        .expect("goal");
    let a = store.register_agent(&spec("a", Duration::from_secs(30))).expect("register").agent;
    let b = store.register_agent(&spec("b", Duration::from_secs(30))).expect("register").agent;
    let barrier = std::sync::Barrier::new(2);
    let (mine, theirs) = std::thread::scope(|scope| {
        let run = |agent: AgentHandle| {
            let store = db.open();
            let barrier = &barrier;
            let goal_id = goal.id;
            move || {
                barrier.wait();
                let mut scripts = Vec::new();
                let mut islands = Vec::new();
                for _ in 0..10 {
                    scripts.extend(
                        store.claim_scripts(&agent, 2, 1 << 20).expect("claim").scripts.into_iter().map(|s| s.id),
                    );
                    if let Some(slice) = store.claim_goal_slice(&agent, goal_id, 4).expect("claim slice") {
                        islands.push(slice.island.island);
                    }
                }
                (scripts, islands)
            }
        };
        let first = scope.spawn(run(a.clone()));
        let second = scope.spawn(run(b.clone()));
        (first.join().expect("thread"), second.join().expect("thread"))
    });
    let (mut all_scripts, mut all_islands) = (mine.0.clone(), mine.1.clone());
    all_scripts.extend(&theirs.0);
    all_islands.extend(&theirs.1);
    let n = all_scripts.len();
    all_scripts.sort_unstable();
    all_scripts.dedup();
    assert_eq!(all_scripts.len(), n, "a script was claimed twice: {mine:?} {theirs:?}");
    // A claimer that lost a race on a candidate gets fewer than it asked for that round; what nobody got is still
    // free for a third agent, and nothing else is.
    let c = store.register_agent(&spec("c", Duration::from_secs(30))).expect("register").agent;
    let rest = store.claim_scripts(&c, 100, 1 << 20).expect("claim").scripts;
    assert!(rest.iter().all(|s| !all_scripts.contains(&s.id)), "a held script was claimed again");
    assert_eq!(n + rest.len(), 40, "every script claimed exactly once");
    let n = all_islands.len();
    all_islands.sort_unstable();
    all_islands.dedup();
    assert_eq!(all_islands.len(), n, "an island was claimed twice: {mine:?} {theirs:?}");
    let mut rest = 0;
    while store.claim_goal_slice(&c, goal.id, 4).expect("claim").is_some() {
        rest += 1;
        assert!(rest <= 4, "an island was claimed twice");
    }
    assert_eq!(n + rest, 4, "each of the four islands claimed once");
}

#[test]
fn an_island_slice_commits_once_and_the_goal_best_never_gets_worse() {
    for db in both() {
        let mut store = db.open();
        let goal = store
            .create_goal(&NewGoal { goal: "g".to_string(), priority: 1, kind: "image".to_string(), spec: None })
            .expect("goal");
        let a = store.register_agent(&spec("a", Duration::from_secs(30))).expect("register").agent;
        let b = store.register_agent(&spec("b", Duration::from_secs(30))).expect("register").agent;
        let commit = |store: &mut Store, agent: &AgentHandle, claim: &gvpie_store::SliceClaim, score: f64| {
            let extras = CycleExtras {
                goals: vec![GoalChange {
                    id: goal.id,
                    best: Some((ParentRef::Pending(0), score)),
                    ..Default::default()
                }],
                work: WorkCommit {
                    agent: Some(agent.clone()),
                    claims: vec![claim.claim.clone()],
                    islands: vec![IslandChange {
                        goal_id: goal.id,
                        island: claim.island.island,
                        slice: claim.claim.seq,
                        spec: None,
                        best: Some((ParentRef::Pending(0), score)),
                        done: false,
                    }],
                    verifications: Vec::new(),
                },
                ..CycleExtras::default()
            };
            store.record_cycle_with(&[run_of(agent)], None, &extras)
        };
        let on_a = store.claim_goal_slice(&a, goal.id, 2).expect("claim").expect("island 0");
        let on_b = store.claim_goal_slice(&b, goal.id, 2).expect("claim").expect("island 1");
        assert_eq!((on_a.island.island, on_b.island.island, on_a.claim.seq), (0, 1, 1));
        let first = commit(&mut store, &b, &on_b, 5.0).expect("b commits");
        commit(&mut store, &a, &on_a, 9.0).expect("a commits a worse best");
        let stored = store.goal(goal.id).expect("read").expect("goal");
        assert_eq!((stored.best_score, stored.best_iteration), (Some(5.0), Some(first.iterations[0])));
        // The same slice again: refused, nothing written.
        assert!(matches!(commit(&mut store, &a, &on_a, 1.0), Err(StoreError::ClaimLost(_))));
        let log = store.work_log(&format!("goal:{}:", goal.id), 100).expect("log");
        assert_eq!(log.len(), 2);
        assert_eq!(store.goal_islands(goal.id).expect("islands").iter().map(|i| i.slices).collect::<Vec<_>>(), [1, 1]);
    }
}
