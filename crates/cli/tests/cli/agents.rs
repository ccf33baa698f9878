//! Agents as real processes: three `gvpie daemon`s on one PostgreSQL database, one killed with
//! kill -9 mid-cycle and restarted under its name; an agent killed while it holds a goal's
//! slice and the takeover of that slice; SIGTERM; a second daemon on SQLite; `gvpie agents`.
//!
//! The PostgreSQL tests read the server from `GVPIE_TEST_POSTGRES` (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`) and create their own databases; without it
//! they are skipped with a line on stderr, unless `GVPIE_REQUIRE_POSTGRES=1`. They wait on
//! events and records, with generous deadlines that only turn a hang into a failure.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gvpie_store::{Location, Store, StoreOptions};

use crate::util::{Dir, gvpie};

/// A fresh PostgreSQL database for one test (created by the first `gvpie` that opens it), dropped at the end.
struct PgDb {
    url: String,
    name: String,
    server: String,
}

impl PgDb {
    fn new() -> Option<PgDb> {
        let Ok(server) = std::env::var("GVPIE_TEST_POSTGRES") else {
            assert!(
                std::env::var("GVPIE_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "GVPIE_REQUIRE_POSTGRES=1 but GVPIE_TEST_POSTGRES is not set"
            );
            eprintln!("skipped: GVPIE_TEST_POSTGRES is not set (a PostgreSQL server URL)");
            return None;
        };
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!("gvpie_cli_agents_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let base = server.rsplit_once('/').map_or(server.as_str(), |(head, _)| head);
        Some(PgDb { url: format!("{base}/{name}"), name, server })
    }

    fn store(&self) -> Store {
        Store::open_location(&Location::parse(&self.url).expect("URL"), &StoreOptions::default()).expect("open")
    }

    /// Runs SQL through `psql`, as a person would.
    fn psql(&self, sql: &str) -> String {
        let output = Command::new(psql())
            .args([self.url.as_str(), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("run psql");
        assert!(output.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = Command::new(psql())
            .args([
                self.server.as_str(),
                "-X",
                "-q",
                "-c",
                format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name).as_str(),
            ])
            .output();
    }
}

/// `psql` on the PATH, else Debian's newest.
fn psql() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|p| p.join("psql")).find(|p| p.is_file()))
        .unwrap_or_default();
    on_path
        .or_else(|| {
            let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path().join("bin/psql")))
                .filter(|p| p.is_file())
                .collect();
            found.sort();
            found.pop()
        })
        .unwrap_or_else(|| PathBuf::from("psql"))
}

/// A `gvpie daemon` whose JSON events are collected as they come.
struct Agent {
    child: Child,
    events: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Agent {
    fn spawn(db: &dyn AsRef<std::ffi::OsStr>, cwd: &Path, args: &[&str]) -> Agent {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gvpie"))
            .current_dir(cwd)
            .arg("daemon")
            .arg("--db")
            .arg(db)
            .args(["--no-log-file", "--log-format", "json", "--metrics-interval", "3600", "--no-self-goals"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn gvpie daemon");
        let events = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout");
        let sink = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) {
                    sink.lock().expect("events").push(event);
                }
            }
        });
        Agent { child, events }
    }

    fn count(&self, kind: &str) -> usize {
        self.events.lock().expect("events").iter().filter(|e| e["event"] == kind).count()
    }

    fn find(&self, test: impl Fn(&serde_json::Value) -> bool) -> Option<serde_json::Value> {
        self.events.lock().expect("events").iter().find(|e| test(e)).cloned()
    }

    fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// SIGTERM, then its exit status; panics if it does not exit within 30 s.
    fn terminate(&mut self) -> i32 {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "the agent did not exit within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits for `done`; the deadline only turns a hang into a failure (nothing here is timed).
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn agents_json(db: &dyn AsRef<std::ffi::OsStr>) -> Vec<serde_json::Value> {
    let run = gvpie(&[&"agents", &"--db", db, &"--json"]);
    assert_eq!(run.code, 0, "gvpie agents: {}", run.stderr);
    run.json().as_array().expect("an array").clone()
}

fn add_image_goal(db: &str, target: &str, shapes: &str, seed: &str) -> i64 {
    let target = crate::util::examples_dir().join("../test_data/images").join(target);
    let run = gvpie(&[
        &"goals",
        &"add",
        &"image",
        &target,
        &"--resize",
        &"24",
        &"--shapes",
        &shapes,
        &"--strategy",
        &"fast",
        &"--seed",
        &seed,
        &"--db",
        &db,
    ]);
    assert_eq!(run.code, 0, "goals add: {}", run.stderr);
    let id = run.stdout.split_whitespace().nth(2).and_then(|w| w.parse().ok());
    id.unwrap_or_else(|| panic!("no goal id in {}", run.stdout))
}

fn add_script(db: &str, dir: &Dir, name: &str, code: &str) {
    let file = dir.write(&format!("{name}.pxl"), code);
    let run = gvpie(&[&"scripts", &"add", &name, &file, &"--db", &db]);
    assert_eq!(run.code, 0, "scripts add: {}", run.stderr);
}

#[test]
fn three_agents_one_killed_mid_cycle_and_restarted_finish_every_goal() {
    let Some(pg) = PgDb::new() else { return };
    let dir = Dir::new("agents-three");
    let db = pg.url.as_str();
    add_script(db, &dir, "rect", "RECT 2 2 20 10\nHALT");
    add_script(db, &dir, "hello", "TXT 2 2 HELLO\nHALT");
    let goals = [add_image_goal(db, "chelsea.png", "10", "1"), add_image_goal(db, "coffee.png", "10", "2")];
    // A short TTL, so the killed agent's claims are taken over soon.
    let args = |name: &'static str| ["--agent", name, "--interval", "0.3", "--per-cycle", "1", "--lease-ttl", "2"];
    let mut agents = vec![
        Agent::spawn(&db, &dir.path, &args("a1")),
        Agent::spawn(&db, &dir.path, &args("a2")),
        Agent::spawn(&db, &dir.path, &args("a3")),
    ];
    wait_until("a committed cycle by each agent", || agents.iter().all(|a| a.count("cycle_finished") >= 1));

    // kill -9 in the middle of a cycle: after a cycle started, before it finished.
    wait_until("a2 to start a cycle", || {
        let events = agents[1].events.lock().expect("events");
        events.last().is_some_and(|e| e["event"] != "cycle_finished" && e["event"] != "cycle_abandoned")
    });
    agents[1].kill_9();

    // A script typed into psql during the run is picked up by some agent in a following cycle.
    pg.psql(
        "INSERT INTO improvement_scripts (name, lang, purpose, code, enabled) \
         VALUES ('from_psql', 'pixel', 'inserted by hand', 'RECT 1 1 5 5\nHALT', 1)",
    );
    agents[1] = Agent::spawn(&db, &dir.path, &args("a2"));
    wait_until("the restarted a2 to join under its name", || {
        agents[1].find(|e| e["event"] == "agent_joined" && e["own"] == true).is_some()
    });
    let joined = agents[1].find(|e| e["event"] == "agent_joined" && e["own"] == true).expect("joined");
    assert_eq!(joined["restarted"], true, "{joined}");

    let store = pg.store();
    wait_until("every goal done, the psql script run, every agent with executions", || {
        let done = goals.iter().all(|id| store.goal(*id).ok().flatten().is_some_and(|g| g.status == "done"));
        let ran = store.script_by_name("from_psql").ok().flatten().is_some_and(|s| s.run_count > 0);
        let all_worked = store.agents().is_ok_and(|a| a.len() == 3 && a.iter().all(|a| a.executions > 0));
        done && ran && all_worked
    });
    for agent in &mut agents {
        assert_eq!(agent.terminate(), 0, "an agent's exit status after SIGTERM");
    }

    // Iterations unique; every record names its agent; the goals' bests are on record with their lineage.
    assert_eq!(pg.psql("SELECT COUNT(*) = COUNT(DISTINCT iteration) FROM executions"), "t");
    assert_eq!(pg.psql("SELECT COUNT(*) FROM executions WHERE agent_id IS NULL"), "0");
    for id in goals {
        let goal = store.goal(id).expect("read").expect("goal");
        let best = goal.best_iteration.expect("a best");
        let entry = store.map_entry(best, false).expect("read").expect("the best is on record");
        assert_eq!(entry.goal_id, Some(id));
        let scores: Vec<f64> = pg
            .psql(&format!("SELECT best_score FROM goal_islands WHERE goal_id = {id} AND best_score IS NOT NULL"))
            .lines()
            .map(|l| l.parse().expect("a score"))
            .collect();
        assert!(scores.iter().all(|s| goal.best_score.is_some_and(|b| b <= *s)), "the goal keeps its islands' best");
        let lineage = store.lineage(best, 100).expect("lineage").expect("the best's lineage");
        assert!(
            lineage.ancestors.iter().all(|a| store.map_entry(a.entry.iteration, false).is_ok_and(|e| e.is_some())),
            "every ancestor of the best is on record"
        );
    }
    // No slice committed twice: one work_log row per (work, seq), and each island's slices numbered 1..n.
    assert_eq!(pg.psql("SELECT COUNT(*) - COUNT(DISTINCT (work, seq)) FROM work_log"), "0");
    assert_eq!(
        pg.psql(
            "SELECT COUNT(*) FROM goal_islands i WHERE i.slices <> \
             (SELECT COUNT(*) FROM work_log w WHERE w.work = 'goal:' || i.goal_id || ':' || i.island)"
        ),
        "0"
    );

    // The evaluate role re-ran recorded executions, and every one reproduced.
    let verified = store.verification_counts().expect("counts");
    assert!(verified.same > 0, "{verified:?}");
    assert_eq!(verified.different, 0, "{verified:?}");

    let listed = agents_json(&db);
    assert_eq!(listed.len(), 3, "{listed:?}");
    for agent in &listed {
        let keys: Vec<&str> = agent.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(keys, ["executions", "host", "last_heartbeat", "name", "pid", "roles", "state"]);
        assert!(agent["executions"].as_i64().expect("a count") > 0, "{agent}");
        assert_eq!(agent["state"], "stopped");
        assert_eq!(agent["roles"], serde_json::json!(["scripts", "goals", "evaluate"]));
    }
    let names: Vec<&str> = listed.iter().map(|a| a["name"].as_str().expect("name")).collect();
    assert_eq!(names, ["a1", "a2", "a3"]);
}

#[test]
fn an_agent_killed_holding_a_goal_slice_is_taken_over_and_no_slice_commits_twice() {
    let Some(pg) = PgDb::new() else { return };
    let dir = Dir::new("agents-takeover");
    let db = pg.url.as_str();
    // Enough shapes that one slice cannot finish the goal.
    let goal = add_image_goal(db, "astronaut.png", "300", "3");
    let store = pg.store();
    // Long cycles: the slice's claim is held for seconds.
    let mut holder =
        Agent::spawn(&db, &dir.path, &["--agent", "holder", "--roles", "goals", "--interval", "5", "--lease-ttl", "2"]);
    let work = format!("goal:{goal}:0");
    let mut held = None;
    wait_until("the holder to claim the goal's slice", || {
        held = store
            .work_claims()
            .ok()
            .and_then(|claims| claims.into_iter().find(|c| c.work == work && c.agent == "holder" && c.live));
        held.is_some()
    });
    holder.kill_9();
    let held = held.expect("a claim");
    let committed_by_holder = store.work_log(&work, 1000).expect("log").iter().any(|w| w.seq == held.seq);
    assert!(!committed_by_holder, "the holder was killed before committing slice {}", held.seq);

    let mut taker = Agent::spawn(
        &db,
        &dir.path,
        &["--agent", "taker", "--roles", "goals", "--interval", "0.3", "--lease-ttl", "2"],
    );
    wait_until("the taker to commit the slice it took over", || {
        store.work_log(&work, 1000).is_ok_and(|log| log.iter().any(|w| w.seq == held.seq && w.agent == "taker"))
    });
    let log = store.work_log(&work, 1000).expect("log");
    let entry = log.iter().find(|w| w.seq == held.seq).expect("the slice");
    assert_eq!(entry.took_over_from.as_deref(), Some("holder"), "{entry:?}");
    wait_until("the took_over event", || taker.find(|e| e["event"] == "took_over").is_some());
    let event = taker.find(|e| e["event"] == "took_over" && e["work"] == work.as_str()).expect("a took_over event");
    assert_eq!((event["from"].as_str(), event["seq"].as_i64()), (Some("holder"), Some(held.seq)), "{event}");
    wait_until("another slice after it", || {
        store.work_log(&work, 1000).is_ok_and(|log| log.iter().any(|w| w.seq > held.seq))
    });
    assert_eq!(taker.terminate(), 0);

    // Every slice once, numbered without gaps; the goal's best is the best of its islands.
    let log = store.work_log(&format!("goal:{goal}:"), 10_000).expect("log");
    let mut keys: Vec<(String, i64)> = log.iter().map(|w| (w.work.clone(), w.seq)).collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "a slice was committed twice");
    for island in store.goal_islands(goal).expect("islands") {
        let seqs: Vec<i64> =
            keys.iter().filter(|(w, _)| *w == format!("goal:{goal}:{}", island.island)).map(|(_, s)| *s).collect();
        assert_eq!(seqs, (1..=island.slices).collect::<Vec<_>>(), "island {}", island.island);
    }
    let states: Vec<(String, String)> = agents_json(&db)
        .iter()
        .map(|a| (a["name"].as_str().unwrap_or("").to_string(), a["state"].as_str().unwrap_or("").to_string()))
        .collect();
    assert_eq!(states, [("holder".to_string(), "stale".to_string()), ("taker".to_string(), "stopped".to_string())]);
}

#[test]
fn sigterm_stops_an_agent_and_marks_it_stopped() {
    let dir = Dir::new("agents-sigterm");
    let db = dir.join("gvpie.db");
    let db_text = db.to_string_lossy().into_owned();
    add_script(&db_text, &dir, "rect", "RECT 2 2 20 10\nHALT");
    add_image_goal(&db_text, "chelsea.png", "200", "1");
    let mut agent = Agent::spawn(&db, &dir.path, &["--agent", "solo", "--interval", "2"]);
    wait_until("a cycle", || agent.count("cycle_finished") >= 1);
    wait_until("the next cycle to start", || {
        let events = agent.events.lock().expect("events");
        events.last().is_some_and(|e| e["event"] != "cycle_finished")
    });
    assert_eq!(agent.terminate(), 0);
    assert!(agent.find(|e| e["event"] == "agent_left" && e["own"] == true).is_some());
    let listed = agents_json(&db);
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0]["name"].as_str(), listed[0]["state"].as_str()), (Some("solo"), Some("stopped")));
    assert!(listed[0]["executions"].as_i64().expect("count") > 0);
}

#[test]
fn a_second_daemon_on_sqlite_is_refused_and_pointed_to_postgresql() {
    let dir = Dir::new("agents-sqlite-second");
    let db = dir.join("gvpie.db");
    add_script(&db.to_string_lossy(), &dir, "rect", "RECT 2 2 20 10\nHALT");
    let mut first = Agent::spawn(&db, &dir.path, &["--agent", "first", "--interval", "0.2"]);
    wait_until("the first daemon's cycle", || first.count("cycle_finished") >= 1);
    let second = gvpie(&[&"daemon", &"--db", &db, &"--agent", &"second", &"--no-log-file", &"--cycles", &"1"]);
    assert_eq!(second.code, 2, "{}", second.stderr);
    assert!(second.stderr.contains("another gvpie daemon is running"), "{}", second.stderr);
    assert!(second.stderr.contains("PostgreSQL database (--db postgres://"), "{}", second.stderr);
    assert_eq!(first.terminate(), 0);
    let listed = agents_json(&db);
    assert_eq!(listed.len(), 1, "the refused daemon never became an agent: {listed:?}");
    assert_eq!(listed[0]["name"], "first");
}

#[test]
fn agents_on_an_empty_database_and_bad_roles() {
    let dir = Dir::new("agents-empty");
    let db = dir.join("gvpie.db");
    add_script(&db.to_string_lossy(), &dir, "rect", "RECT 2 2 20 10\nHALT");
    assert!(agents_json(&db).is_empty());
    let table = gvpie(&[&"agents", &"--db", &db]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("no agents yet"), "{}", table.stdout);
    let missing = gvpie(&[&"agents", &"--db", &dir.join("none.db")]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("no database at"), "{}", missing.stderr);
    for command in ["daemon", "up"] {
        let bad = gvpie(&[&command, &"--db", &db, &"--roles", &"scripts,cook"]);
        assert_eq!(bad.code, 2, "{}", bad.stderr);
        assert!(bad.stderr.contains("unknown role 'cook'; the roles are scripts, goals, evaluate"), "{}", bad.stderr);
    }
    if let Some(pg) = PgDb::new() {
        assert!(agents_json(&pg.url.as_str()).is_empty(), "a new PostgreSQL database has no agents");
    }
}

#[test]
fn an_optimize_island_imports_the_goals_better_best() {
    let Some(pg) = PgDb::new() else { return };
    let dir = Dir::new("agents-migrate");
    let db = pg.url.as_str();
    // Much to remove (the same rectangle again and again), and no end in sight (a huge patience).
    add_script(db, &dir, "slow", &format!("{}PSET 30 30\nHALT", "RECT 0 0 20 20\n".repeat(12)));
    let added = gvpie(&[&"goals", &"add", &"optimize", &"slow", &"--patience", &"100000000", &"--db", &db]);
    assert_eq!(added.code, 0, "{}", added.stderr);
    let store = pg.store();
    let goal = store.list_goals().expect("goals")[0].id;
    let original = store.script_by_name("slow").expect("read").expect("script").code.expect("code");
    let original_cycles =
        gvpie_pxl::run(&gvpie_pxl::compile(&original).expect("compiles"), &gvpie_pxl::Config::default())
            .expect("runs")
            .cycles;

    // One agent alone works on island 0, the goal itself, and improves its best.
    let run = gvpie(&[
        &"daemon",
        &"--db",
        &db,
        &"--agent",
        &"first",
        &"--roles",
        &"goals",
        &"--cycles",
        &"2",
        &"--interval",
        &"0.5",
        &"--no-log-file",
        &"--quiet",
        &"--no-self-goals",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let shared = store.goal(goal).expect("read").expect("goal");
    let (shared_iteration, shared_score) =
        (shared.best_iteration.expect("a best"), shared.best_score.expect("a score"));
    assert!(shared_score < original_cycles as f64, "island 0 improved the goal");
    assert_eq!(shared.status, "active");

    // Someone holds island 0: the next agent works on island 1, which starts from the original and imports the
    // goal's better best through the shared tables.
    let blocker = store
        .register_agent(&gvpie_store::AgentSpec {
            name: "blocker".into(),
            host: "test".into(),
            pid: 1,
            roles: vec!["goals".into()],
            ttl: Duration::from_secs(600),
        })
        .expect("register")
        .agent;
    let held = store.claim_goal_slice(&blocker, goal, 4).expect("claim").expect("island 0 is free");
    assert_eq!(held.island.island, 0);
    let mut second =
        Agent::spawn(&db, &dir.path, &["--agent", "second", "--roles", "goals", "--cycles", "1", "--interval", "0.5"]);
    assert!(second.child.wait().expect("wait").success());
    let note = format!("imported the goal's best (iteration {shared_iteration})");
    let generated = second
        .find(|e| {
            e["event"] == "generated"
                && e["notes"].as_array().is_some_and(|notes| {
                    notes.iter().any(|n| n.as_str().is_some_and(|n| n.starts_with("[island 1]") && n.contains(&note)))
                })
        })
        .unwrap_or_else(|| panic!("no island 1 note saying {note}: {:?}", second.events.lock().expect("events")));
    assert!(generated["notes"].is_array());
    let island = &store.goal_islands(goal).expect("islands")[1];
    assert_eq!((island.island, island.slices), (1, 1));
    // Whatever island 1 kept descends from the imported best, and the goal's best did not get worse.
    let kept = pg.psql(&format!(
        "SELECT parent_iteration FROM executions WHERE goal_id = {goal} AND iteration > {shared_iteration} \
         ORDER BY iteration LIMIT 1"
    ));
    if !kept.is_empty() {
        assert_eq!(kept, shared_iteration.to_string(), "island 1's first kept program descends from the import");
    }
    let after = store.goal(goal).expect("read").expect("goal");
    assert!(after.best_score.expect("a score") <= shared_score);
    store.stop_agent(&blocker).expect("stop");
}

#[test]
fn an_agent_started_again_under_its_name_replaces_the_running_one() {
    let Some(pg) = PgDb::new() else { return };
    let dir = Dir::new("agents-replace");
    let db = pg.url.as_str();
    add_script(db, &dir, "rect", "RECT 2 2 20 10\nHALT");
    let args = ["--agent", "same", "--interval", "0.2", "--lease-ttl", "2"];
    let mut old = Agent::spawn(&db, &dir.path, &args);
    wait_until("the first process's cycle", || old.count("cycle_finished") >= 1);
    let mut new = Agent::spawn(&db, &dir.path, &args);
    wait_until("the second process to join", || new.find(|e| e["event"] == "agent_joined").is_some());
    let joined = new.find(|e| e["event"] == "agent_joined").expect("joined");
    assert_eq!(joined["restarted"], true, "{joined}");
    assert!(joined["replaced"].as_str().is_some_and(|r| r.starts_with("pid ")), "{joined}");
    // The older process learns at its next heartbeat or commit that its name moved on, and stops (exit 2).
    let deadline = Instant::now() + Duration::from_secs(60);
    let code = loop {
        if let Some(status) = old.child.try_wait().expect("wait") {
            break status.code();
        }
        assert!(Instant::now() < deadline, "the replaced process did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(2));
    wait_until("the newer process's cycle", || new.count("cycle_finished") >= 1);
    assert_eq!(new.terminate(), 0);
    let listed = agents_json(&db);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0]["name"].as_str(), listed[0]["state"].as_str()), (Some("same"), Some("stopped")));
}
