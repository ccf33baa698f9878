//! `gvpie serve` as a real process on a loopback port: the Python bridge (installed with pip
//! from `clients/python`) against it, the bind policy, the token, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::util::Dir;

/// A running `gvpie serve`, stopped when dropped.
pub(crate) struct Server {
    child: Child,
    addr: String,
}

impl Server {
    pub(crate) fn start(dir: &Dir, token: Option<&str>) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gvpie"));
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--db"])
            .arg(dir.join("db/gvpie.db"))
            .env_remove("GVPIE_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(token) = token {
            command.env("GVPIE_TOKEN", token);
        }
        let mut child = command.spawn().expect("start gvpie serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the first line");
        let Some(addr) = line.split("http://").nth(1).and_then(|rest| rest.split_whitespace().next()) else {
            let mut stderr = String::new();
            let _ = child.kill();
            let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut stderr));
            panic!("gvpie serve did not announce its address: {line:?} {stderr}");
        };
        Server { addr: addr.to_string(), child }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// One HTTP/1.1 request over a plain socket; returns the status line's code and the body.
    fn raw(&self, request_head: &str) -> (u16, String) {
        let mut stream = std::net::TcpStream::connect(&self.addr).expect("connect");
        stream.write_all(request_head.as_bytes()).expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (status, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients/python")
}

/// `pip install`s the bridge into `dir/site` (no network, no build isolation) and returns it.
/// It installs from a copy, since setuptools writes `build/` and `*.egg-info` beside the source.
pub(crate) fn install_bridge(dir: &Dir) -> PathBuf {
    let source = dir.join("pixel_os_src");
    std::fs::create_dir_all(source.join("pixel_os")).expect("create the copy");
    for file in ["pyproject.toml", "README.md", "pixel_os/__init__.py", "pixel_os/gvpie_bridge.py"] {
        std::fs::copy(python_dir().join(file), source.join(file)).expect("copy the bridge");
    }
    let site = dir.join("site");
    let output = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "--target"])
        .arg(&site)
        .arg(&source)
        .output()
        .expect("python3 with pip is needed for the bridge tests");
    assert!(
        output.status.success(),
        "pip install of clients/python failed (it needs pip, setuptools and wheel: \
         python3 -m pip install setuptools wheel): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    site
}

/// Runs a Python script with the installed bridge, from the scratch directory.
pub(crate) fn python(dir: &Dir, site: &Path, url: &str, token: Option<&str>, script: &Path) -> (i32, String, String) {
    let mut command = Command::new("python3");
    command.arg(script).current_dir(&dir.path).env("PYTHONPATH", site).env("GVPIE_URL", url).env_remove("GVPIE_TOKEN");
    if let Some(token) = token {
        command.env("GVPIE_TOKEN", token);
    }
    let output = command.output().expect("run python3");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_python_bridge_against_a_real_server() {
    let dir = Dir::new("serve-bridge");
    let site = install_bridge(&dir);
    let server = Server::start(&dir, None);

    // The installed package is the one imported, not the checkout.
    let probe = dir.write("probe.py", "import pixel_os, sys\nprint(pixel_os.__file__)\n");
    let (code, stdout, stderr) = python(&dir, &site, &server.url(), None, &probe);
    assert_eq!(code, 0, "{stderr}");
    assert!(Path::new(stdout.trim()).starts_with(&site), "imported {stdout}");

    let (code, stdout, stderr) = python(&dir, &site, &server.url(), None, &python_dir().join("test_bridge.py"));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    assert_eq!(lines[0], "✅ API is healthy");
    assert_eq!(lines[1], "✅ Success!");
    assert_eq!(lines[2], "   Cycles: 2");
    assert!(lines[3] == "   Backend: CPU" || lines[3] == "   Backend: GPU", "{stdout}");
    assert!(lines[4].starts_with("   Duration: ") && lines[4].ends_with("ms"), "{stdout}");

    let (code, stdout, stderr) = python(&dir, &site, &server.url(), None, &python_dir().join("tests/run_tests.py"));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.lines().last().is_some_and(|l| l.ends_with(" passed, 0 failed")), "{stdout}");
    // The Python tests leave no live script behind: theirs is archived (kept, disabled, hidden).
    let store = gvpie_store::Store::open(dir.join("db/gvpie.db")).expect("open the database");
    let theirs: Vec<_> =
        store.list_scripts().expect("scripts").into_iter().filter(|s| s.name.starts_with("bridge_test_")).collect();
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert!(theirs.iter().all(|s| !s.enabled && s.archived_at.is_some()), "{theirs:?}");
}

#[test]
fn a_public_address_without_a_token_is_refused() {
    let dir = Dir::new("serve-public");
    let output = Command::new(env!("CARGO_BIN_EXE_gvpie"))
        .args(["serve", "--bind", "0.0.0.0:0", "--db"])
        .arg(dir.join("gvpie.db"))
        .env_remove("GVPIE_TOKEN")
        .output()
        .expect("run gvpie");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refusing to listen on 0.0.0.0:0 without a token"), "{stderr}");
    assert!(stderr.contains("--token") && stderr.contains("GVPIE_TOKEN"), "{stderr}");
    assert!(!dir.join("gvpie.db").exists(), "nothing is created when refusing");
}

#[test]
fn with_a_token_only_health_is_open() {
    let dir = Dir::new("serve-token");
    let site = install_bridge(&dir);
    let server = Server::start(&dir, Some("t0ken"));
    let head = |path: &str, auth: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n");
    // With a token any Host is served (a reverse proxy may name the server as it likes).
    assert_eq!(server.raw(&head("/health", "")).0, 200);
    let (status, body) = server.raw(&head("/metrics", ""));
    assert_eq!(status, 401);
    assert!(body.contains("\"kind\":\"unauthorized\""), "{body}");
    assert_eq!(server.raw(&head("/metrics", "Authorization: Bearer nope\r\n")).0, 401);
    assert_eq!(server.raw(&head("/metrics", "Authorization: Bearer t0ken\r\n")).0, 200);
    // The bridge takes the token from GVPIE_TOKEN.
    let (code, stdout, stderr) =
        python(&dir, &site, &server.url(), Some("t0ken"), &python_dir().join("test_bridge.py"));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, _) = python(&dir, &site, &server.url(), Some("wrong"), &python_dir().join("test_bridge.py"));
    assert_ne!(code, 0, "{stdout}");
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = Dir::new("serve-sigterm");
    let mut server = Server::start(&dir, None);
    assert_eq!(server.raw("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").0, 200);
    let pid = server.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(status.success());
    let exit = server.child.wait().expect("wait");
    assert_eq!(exit.code(), Some(0));
    let mut stderr = String::new();
    let _ = server.child.stderr.take().map(|mut e| e.read_to_string(&mut stderr));
    assert!(stderr.contains("gvpie serve: stopped"), "{stderr}");
}

/// Issue 17, finding 7: with a billion-cycle run in flight, SIGTERM printed "stopped" but the
/// process went on until the run ended. Now the shutdown cancels the run (its answer says
/// so) and the process exits.
#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_with_a_billion_cycle_run_in_flight() {
    let dir = Dir::new("serve-sigterm-busy");
    let mut server = Server::start(&dir, None);
    let body = r#"{"code": "top:\nCLS 1 2 3\nJMP top", "budget": 1000000000, "width": 512, "height": 512}"#;
    let request = format!(
        "POST /api/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let addr = server.addr.clone();
    let in_flight = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
        stream.write_all(request.as_bytes()).expect("send");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    });
    // Wait until the run holds its slot (an event, not a sleep: the gauge says so).
    let metrics = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let running = (0..1000).any(|_| {
        let started = server.raw(metrics).1.lines().any(|l| l == "gvpie_executions_in_flight 1");
        if !started {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        started
    });
    assert!(running, "the run did not start");
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    // A generous bound, only so that a regression fails instead of hanging: the assertion is the exit.
    let mut exit = None;
    for _ in 0..1200 {
        exit = server.child.try_wait().expect("wait");
        if exit.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let Some(exit) = exit else {
        let _ = server.child.kill();
        panic!("gvpie serve did not exit after SIGTERM");
    };
    assert_eq!(exit.code(), Some(0));
    let answer = in_flight.join().expect("the client");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""kind":"time_limit""#) && answer.contains("cancelled after"), "{answer}");
    let mut stderr = String::new();
    let _ = server.child.stderr.take().map(|mut e| e.read_to_string(&mut stderr));
    assert!(stderr.contains("gvpie serve: stopped"), "{stderr}");
}

#[test]
fn a_goal_has_one_json_shape_in_the_cli_and_the_api() {
    let dir = Dir::new("goal-shape");
    let db = dir.join("db/gvpie.db");
    let target = dir.join("target.png");
    let drawn = crate::util::gvpie(&[&"run", &crate::util::examples_dir().join("circles.pxl"), &"-o", &target]);
    assert_eq!(drawn.code, 0, "{}", drawn.stderr);
    let added =
        crate::util::gvpie(&[&"goals", &"add", &"image", &target, &"-n", &"2", &"--resize", &"16", &"--db", &db]);
    assert_eq!(added.code, 0, "{}", added.stderr);
    let listed = crate::util::gvpie(&[&"goals", &"list", &"--json", &"--db", &db]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let from_cli: serde_json::Value = serde_json::from_str(&listed.stdout).expect("goals list --json is JSON");

    let server = Server::start(&dir, None);
    let (status, body) = server.raw("GET /api/goals HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 200, "{body}");
    let from_api: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    // The same objects, key for key, with the seed's column names.
    assert_eq!(from_api["goals"], from_cli);
    let goal = &from_cli[0];
    for key in ["id", "goal", "priority", "completed", "created_at", "kind", "spec", "status", "best_score"] {
        assert!(goal.get(key).is_some(), "{key} missing from {goal}");
    }
    assert_eq!(goal["spec"]["shapes"], 2);
}

#[test]
fn without_a_token_a_foreign_host_is_refused() {
    let dir = Dir::new("serve-rebinding");
    let server = Server::start(&dir, None);
    let (status, body) = server.raw("GET /api/scripts HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("\"kind\":\"forbidden\""), "{body}");
    let (status, body) = server.raw("GET /api/scripts HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn serve_warns_when_the_database_is_read_only() {
    let dir = Dir::new("serve-read-only");
    let db = dir.join("db/gvpie.db");
    std::fs::create_dir_all(dir.join("db")).expect("mkdir");
    drop(gvpie_store::Store::open(&db).expect("create the database"));
    // Read-only permissions; for root, whom they do not stop, the immutable attribute too.
    let mut permissions = std::fs::metadata(&db).expect("db").permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&db, permissions.clone()).expect("chmod");
    if std::fs::OpenOptions::new().write(true).open(&db).is_ok() {
        let _ = Command::new("chattr").arg("+i").arg(&db).output();
    }
    let writable = std::fs::OpenOptions::new().write(true).open(&db).is_ok();
    let mut stderr = String::new();
    if !writable {
        let mut server = Server::start(&dir, None);
        let (status, body) = server.raw("GET /api/scripts HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        assert_eq!(status, 200, "reads work: {body}");
        let _ = server.child.kill();
        let _ = server.child.wait();
        let _ = server.child.stderr.take().map(|mut e| e.read_to_string(&mut stderr));
    }
    let _ = Command::new("chattr").arg("-i").arg(&db).output();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    let _ = std::fs::set_permissions(&db, permissions);
    if writable {
        eprintln!("!!! SKIPPED serve_warns_when_the_database_is_read_only: cannot make a file read-only here");
        return;
    }
    assert!(stderr.contains("warning: the database") && stderr.contains("is read-only"), "{stderr}");
}

#[test]
fn growth_has_the_same_numbers_in_stats_the_api_and_the_database() {
    let dir = Dir::new("growth");
    let db = dir.join("db/gvpie.db");
    std::fs::create_dir_all(dir.join("db")).expect("mkdir");
    // Left alone a few cycles: it sets its goals, adopts both seed scripts' successors, keeps pictures.
    crate::util::grow(&db, 2);
    let stats = crate::util::gvpie(&[&"stats", &"--json", &"--db", &db]);
    assert_eq!(stats.code, 0, "{}", stats.stderr);
    let from_cli = stats.json();

    let server = Server::start(&dir, None);
    let (status, body) = server.raw("GET /api/growth HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 200, "{body}");
    let from_api: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    // The same objects, key for key.
    assert_eq!(from_cli["growth"], from_api["growth"]);
    assert_eq!(from_cli["adoptions"], from_api["adoptions"]);

    // And the database's own numbers, counted through the seed's tables and views.
    let raw = rusqlite::Connection::open(&db).expect("open");
    let count = |sql: &str| -> i64 { raw.query_row(sql, [], |row| row.get(0)).expect(sql) };
    let growth = &from_api["growth"];
    assert_eq!(growth["self_set_goals"], count("SELECT COUNT(*) FROM development_goals WHERE origin IS NOT NULL"));
    assert_eq!(growth["goals_done"], count("SELECT COUNT(*) FROM development_goals WHERE status = 'done'"));
    assert_eq!(growth["adoptions"], count("SELECT COUNT(*) FROM adoptions"));
    assert_eq!(growth["with_lineage"], count("SELECT COUNT(*) FROM infinite_map WHERE parent_iteration IS NOT NULL"));
    assert_eq!(growth["distinct_programs"], count("SELECT COUNT(DISTINCT program_id) FROM executions"));
    // Both seed scripts end in a HALT the end of the program makes free: each successor saves one cycle a run.
    assert!(growth["self_set_goals"].as_i64().is_some_and(|n| n >= 3), "{growth}");
    assert_eq!(growth["adoptions"], 2, "{growth}");
    assert_eq!(growth["cycles_saved_per_run"], 2, "{growth}");
    assert!(growth["archive_kinds"].as_i64().is_some_and(|n| n > 0), "{growth}");
    assert!(growth["archive_pictures"].as_i64() >= growth["archive_kinds"].as_i64(), "{growth}");
    assert_eq!(
        from_api["archive"].as_array().map(Vec::len),
        growth["archive_pictures"].as_u64().map(|n| n.min(48) as usize)
    );

    // The console says the same.
    let text = crate::util::gvpie(&[&"stats", &"--db", &db]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    for (label, key) in [
        ("self-set goals", "self_set_goals"),
        ("kinds of pictures in the archive", "archive_kinds"),
        ("distinct pictures kept", "archive_pictures"),
        ("adopted improvements", "adoptions"),
        ("cycles saved per run", "cycles_saved_per_run"),
        ("executions with lineage", "with_lineage"),
    ] {
        let line = text
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("{label}: {}", text.stdout));
        assert_eq!(line.split_whitespace().last().and_then(|n| n.parse::<i64>().ok()), growth[key].as_i64(), "{line}");
    }
    assert!(text.stdout.contains("test_rect → test_rect.optimized: 2 → 1 cycles"), "{}", text.stdout);
}
