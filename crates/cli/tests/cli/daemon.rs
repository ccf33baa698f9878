//! `gvpie daemon`, `replay`, `scripts`, `up` and `bench store` as real processes: kill -9
//! mid-run, a second daemon, SIGTERM, and the seed's SQL against a database the daemon wrote.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gvpie_store::Store;

use crate::util::{Dir, gvpie};

/// The seed's START_HERE.md command for adding a program, verbatim.
const SEED_INSERT: &str = "INSERT INTO improvement_scripts (name, lang, purpose, code, enabled, created_at)
VALUES (
    'test_rect',
    'pixel',
    'Test rectangle rendering',
    'RECT 10 10 50 30
HALT',
    1,
    datetime('now')
);";

fn seed_scripts(db: &Path) {
    let store = Store::open(db).expect("open");
    gvpie_daemon_like_seed(&store);
}

fn gvpie_daemon_like_seed(store: &Store) {
    for (name, code) in [("hello_gpu", "TXT 10 10 HELLO GPU\nHALT"), ("circle", "CIRCF 40 30 20\nHALT")] {
        store
            .create_script(&gvpie_store::NewScript {
                name: name.into(),
                lang: "pixel".into(),
                purpose: Some(format!("{name} test")),
                code: code.into(),
                enabled: true,
                parent_script_id: None,
            })
            .expect("create");
    }
}

fn spawn_daemon(db: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gvpie"))
        .arg("daemon")
        .arg("--db")
        .arg(db)
        // These tests count the scripts' runs: no self-set goals (their executions are the growth tests' business).
        .args(["--no-log-file", "--metrics-interval", "1", "--no-self-goals"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn daemon")
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn last_iteration(db: &Path) -> i64 {
    Store::open(db).ok().and_then(|s| s.last_iteration().ok().flatten()).unwrap_or(0)
}

/// Every committed cycle is whole: the scripts' counters add up to the executions.
fn assert_consistent(db: &Path) -> i64 {
    let store = Store::open(db).expect("open");
    assert_eq!(store.integrity_check().expect("check"), Ok(()));
    let executions = store.summary().expect("summary").executions;
    let runs: i64 = store.list_scripts().expect("scripts").iter().map(|s| s.run_count).sum();
    assert_eq!(runs, executions, "script counters and executions disagree");
    assert_eq!(store.last_iteration().expect("q"), Some(executions), "iterations have no gaps");
    executions
}

#[test]
fn kill_9_mid_run_loses_nothing_committed_and_iterations_continue() {
    let dir = Dir::new("daemon-kill9");
    let db = dir.join("gvpie.db");
    seed_scripts(&db);
    let mut child = spawn_daemon(&db, &["--interval", "0", "--quiet"]);
    wait_until("300 executions", || last_iteration(&db) >= 300);
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let before = assert_consistent(&db);
    assert!(before >= 300);

    // The dead daemon's lease does not block: same host, its process is gone.
    let run = gvpie(&[
        &"daemon",
        &"--no-self-goals",
        &"--db",
        &db,
        &"--cycles",
        &"3",
        &"--interval",
        &"0",
        &"--no-log-file",
        &"--quiet",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let after = assert_consistent(&db);
    assert_eq!(after, before + 6);
    let store = Store::open(&db).expect("open");
    let newest = store.map_entry(after, false).expect("q").expect("entry");
    assert!(newest.success);
}

#[test]
fn a_second_daemon_is_refused_and_sigterm_stops_cleanly() {
    let dir = Dir::new("daemon-second");
    let db = dir.join("gvpie.db");
    seed_scripts(&db);
    let first = spawn_daemon(&db, &["--interval", "0.05"]);
    wait_until("the first cycle", || last_iteration(&db) >= 2);

    let second = gvpie(&[&"daemon", &"--no-self-goals", &"--db", &db, &"--cycles", &"1", &"--no-log-file"]);
    assert_eq!(second.code, 2, "{}", second.stderr);
    let holder = format!("pid {} on host", first.id());
    assert!(second.stderr.contains(&holder), "{}", second.stderr);
    assert!(second.stderr.contains("since"), "{}", second.stderr);

    let status = Command::new("kill").args(["-TERM", &first.id().to_string()]).status().expect("kill -TERM");
    assert!(status.success());
    let output = first.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("Daemon stopped (stop requested)"), "{stdout}");
    assert_consistent(&db);
    let store = Store::open(&db).expect("open");
    assert!(store.lease_info(gvpie_store::DAEMON_LEASE).expect("q").is_none(), "lease released");
    // Now a new daemon starts at once.
    let again = gvpie(&[
        &"daemon",
        &"--no-self-goals",
        &"--db",
        &db,
        &"--cycles",
        &"1",
        &"--interval",
        &"0",
        &"--no-log-file",
        &"--quiet",
    ]);
    assert_eq!(again.code, 0, "{}", again.stderr);
}

#[test]
fn the_seeds_sql_works_against_a_database_the_daemon_wrote() {
    let dir = Dir::new("daemon-seed-sql");
    let db = dir.join("gvpie.db");
    // Port 0: a fixed port (the default 8081) may be taken on a busy machine.
    let up = gvpie(&[
        &"up",
        &"--no-self-goals",
        &"--db",
        &db,
        &"--bind",
        &"127.0.0.1:0",
        &"--cycles",
        &"1",
        &"--interval",
        &"0",
    ]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert!(up.stdout.contains("Seeded 2 example scripts"), "{}", up.stdout);
    assert!(up.stdout.contains("💾 Saved to infinite map (iteration 2)"), "{}", up.stdout);
    let raw = rusqlite::Connection::open(&db).expect("open");
    // test_rect is already seeded by `up`; the seed's INSERT of another name works verbatim.
    raw.execute_batch(&SEED_INSERT.replace("'test_rect'", "'test_rect_2'")).expect("the seed's INSERT");
    let run = gvpie(&[
        &"daemon",
        &"--no-self-goals",
        &"--db",
        &db,
        &"--cycles",
        &"1",
        &"--interval",
        &"0",
        &"--no-log-file",
        &"--quiet",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let mut statement = raw
        .prepare("SELECT iteration, task_description, timestamp FROM infinite_map ORDER BY iteration DESC LIMIT 10")
        .expect("the seed's map query");
    let rows: Vec<(i64, String, String)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(rows.len(), 5);
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [5, 4, 3, 2, 1]);
    assert_eq!(rows[2].1, "test_rect_2: Test rectangle rendering", "never-run scripts first");
    let mut statement =
        raw.prepare("SELECT name, run_count, success_count FROM improvement_scripts").expect("the seed's rates query");
    let rates: Vec<(String, i64, i64)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(
        rates,
        [("hello_gpu".to_string(), 2, 2), ("test_rect".to_string(), 2, 2), ("test_rect_2".to_string(), 1, 1)]
    );

    let replay = gvpie(&[&"replay", &"3", &"--db", &db]);
    assert_eq!(replay.code, 0, "{}{}", replay.stdout, replay.stderr);
    assert!(replay.stdout.contains("iteration 3: same"), "{}", replay.stdout);
    let missing = gvpie(&[&"replay", &"99", &"--db", &db]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("not in the infinite map"), "{}", missing.stderr);
}

#[test]
fn json_log_format_and_scripts_commands() {
    let dir = Dir::new("daemon-json");
    let db = dir.join("gvpie.db");
    let program = dir.write("box.pxl", "RECT 1 1 5 5\nHALT\n");
    let add = gvpie(&[&"scripts", &"add", &"box", &program, &"--purpose", &"a box", &"--db", &db]);
    assert_eq!(add.code, 0, "{}", add.stderr);
    let run = gvpie(&[
        &"daemon",
        &"--no-self-goals",
        &"--db",
        &db,
        &"--cycles",
        &"2",
        &"--interval",
        &"0",
        &"--log-format",
        &"json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let events: Vec<serde_json::Value> =
        run.stdout.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
    let recorded: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "execution_recorded").collect();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1]["iteration"], 2);
    assert_eq!(recorded[1]["script"], "box");
    assert_eq!(recorded[1]["backend"], "cpu");
    let log = std::fs::read_to_string(dir.join("logs/daemon.log")).expect("the log file");
    assert_eq!(log.lines().count(), events.len());

    let disable = gvpie(&[&"scripts", &"disable", &"box", &"--db", &db]);
    assert_eq!(disable.code, 0, "{}", disable.stderr);
    let list = gvpie(&[&"scripts", &"list", &"--db", &db]);
    assert!(
        list.stdout.lines().any(|l| l.contains("box") && l.contains(" no ") && l.contains("a box")),
        "{}",
        list.stdout
    );
    let unknown = gvpie(&[&"scripts", &"enable", &"nope", &"--db", &db]);
    assert_eq!(unknown.code, 2);
}

#[test]
fn bench_store_reports_its_numbers() {
    let run = gvpie(&[&"bench", &"store", &"--executions", &"3000", &"--batch", &"500", &"--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["executions"], 3000);
    assert!(json["bytes_per_execution"].as_f64().is_some_and(|b| b > 0.0 && b <= 200.0), "{json}");
    assert!(json["recorded_per_s"].as_f64().is_some_and(|r| r > 0.0), "{json}");
}

/// `gvpie up` for a newcomer: the web UI's address before the first cycle, each script's
/// program printed on its first run only, a busy port that says how to choose another, and a
/// lease error named `gvpie up`.
#[test]
fn up_shows_its_address_first_prints_programs_once_and_names_itself() {
    let dir = Dir::new("up-newcomer");
    let db = dir.join("gvpie.db");
    let up = gvpie(&[&"up", &"--db", &db, &"--bind", &"127.0.0.1:0", &"--cycles", &"3", &"--interval", &"0"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    let out = &up.stdout;
    let address = out.find("🌐 Web UI: http://127.0.0.1:").unwrap_or_else(|| panic!("no address: {out}"));
    let first_cycle = out.find("AUTONOMOUS CYCLE #1").unwrap_or_else(|| panic!("no cycle: {out}"));
    assert!(address < first_cycle, "{out}");
    // Each script's block: its name, and whether its program was printed.
    let mut runs: std::collections::HashMap<&str, (usize, usize)> = std::collections::HashMap::new();
    for block in out.split("📐 Script: ").skip(1) {
        let name = block.lines().next().unwrap_or("");
        let entry = runs.entry(name).or_default();
        entry.0 += 1;
        let body = block.split("💾 Saved").next().unwrap_or("");
        entry.1 += usize::from(body.contains("   Program:"));
    }
    assert!(runs.get("hello_gpu").is_some_and(|&(ran, _)| ran >= 2), "{runs:?}\n{out}");
    for (name, (ran, printed)) in &runs {
        assert_eq!(*printed, 1, "{name} ran {ran} times; its program was printed {printed} times\n{out}");
    }

    // A busy port: the message says how to choose another.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let bind = format!("127.0.0.1:{port}");
    for command in ["up", "serve"] {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&command, &"--db", &db, &"--bind", &bind];
        if command == "up" {
            args.extend([&"--cycles" as &dyn AsRef<std::ffi::OsStr>, &"1"]);
        }
        let busy = gvpie(&args);
        assert_eq!(busy.code, 2, "{command}: {}", busy.stderr);
        assert!(busy.stderr.contains(&format!("cannot listen on {bind}: the port is in use")), "{}", busy.stderr);
        assert!(busy.stderr.contains("--bind 127.0.0.1:0 for any free port"), "{}", busy.stderr);
    }
    drop(taken);

    // Another daemon holds the database: `gvpie up` says so in its own name.
    let holder = spawn_daemon(&db, &["--interval", "0.05", "--quiet"]);
    let before = last_iteration(&db);
    wait_until("the other daemon's cycle", || last_iteration(&db) > before);
    let refused = gvpie(&[&"up", &"--db", &db, &"--bind", &"127.0.0.1:0", &"--cycles", &"1"]);
    let _ = Command::new("kill").args(["-TERM", &holder.id().to_string()]).status();
    let _ = holder.wait_with_output();
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.starts_with("gvpie up: "), "{}", refused.stderr);
    assert!(!refused.stderr.contains("gvpie daemon:"), "{}", refused.stderr);
}

/// `gvpie serve` and `gvpie daemon` as two processes on one database: the server's event stream
/// carries the daemon's cycles and executions, and its metrics count them, through the store.
#[test]
fn a_separate_serve_shows_the_daemon_s_events_and_counts_its_executions() {
    use std::io::{Read, Write};
    let dir = Dir::new("serve-beside-daemon");
    let db = dir.join("db/gvpie.db");
    std::fs::create_dir_all(dir.join("db")).expect("mkdir");
    seed_scripts(&db);
    let server = crate::serve::Server::start(&dir, None);
    let addr = server.url().trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream.write_all(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").expect("subscribe");
    stream.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
    let mut daemon = spawn_daemon(&db, &["--interval", "0.2", "--quiet"]);

    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buffer = [0u8; 8192];
    while Instant::now() < deadline
        && !(seen.contains("\"event\":\"cycle_started\"") && seen.contains("\"origin\":\"daemon\""))
    {
        if let Ok(n) = stream.read(&mut buffer) {
            seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    }
    let _ = Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status();
    let _ = daemon.wait();
    assert!(seen.contains("event: daemon") && seen.contains("\"event\":\"cycle_started\""), "{seen}");
    assert!(seen.contains("event: execution") && seen.contains("\"origin\":\"daemon\""), "{seen}");
    assert!(seen.contains("\"script\":\"hello_gpu\"") || seen.contains("\"script\":\"circle\""), "{seen}");

    // The metrics count the daemon's executions (the API ran none).
    let mut metrics = std::net::TcpStream::connect(&addr).expect("connect");
    metrics.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").expect("send");
    let mut text = String::new();
    metrics.read_to_string(&mut text).expect("read");
    let counted: u64 = text
        .lines()
        .filter(|line| line.starts_with("gvpie_executions_total{"))
        .filter_map(|line| line.rsplit(' ').next().and_then(|n| n.parse::<u64>().ok()))
        .sum();
    assert!(counted >= 1, "{text}");
}

#[test]
fn script_names_and_purposes_reach_the_terminal_without_escape_sequences() {
    let dir = Dir::new("daemon-escapes");
    let db = dir.join("gvpie.db");
    let store = Store::open(&db).expect("open");
    store
        .create_script(&gvpie_store::NewScript {
            name: "evil\u{1b}[2J\u{1b}]0;pwned\u{7}".to_string(),
            lang: "pixel".to_string(),
            purpose: Some("line\nfake line \u{1b}[31mred".to_string()),
            code: "TXT 1 1 \u{1b}[5mblink\nHALT\n".to_string(),
            enabled: true,
            parent_script_id: None,
        })
        .expect("script");
    drop(store);
    let list = gvpie(&[&"scripts", &"list", &"--db", &db]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let run = gvpie(&[&"daemon", &"--db", &db, &"--cycles", &"1", &"--interval", &"0"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log = std::fs::read_to_string(dir.join("logs/daemon.log")).expect("the log file");
    for (what, text) in [("scripts list", &list.stdout), ("daemon console", &run.stdout), ("daemon log", &log)] {
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{what}: {text:?}");
        assert!(text.contains("evil\\u{1b}[2J"), "{what}: {text}");
    }
    assert_eq!(list.stdout.lines().count(), 2, "one header, one script: {}", list.stdout);
}
