//! `gvpie goals` and `gvpie stats` with a real daemon process: an image goal run straight
//! through and one killed (SIGKILL) mid-goal and restarted reach the same program, step for step.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gvpie_raster::{Canvas, Rgba};
use gvpie_store::{MapQuery, Store};

use crate::util::{Dir, gvpie};

fn target_png(dir: &Dir) -> std::path::PathBuf {
    let mut target = Canvas::new(48, 32).expect("canvas");
    target.clear(Rgba::new(30, 30, 30, 255));
    target.fill_rect(4, 4, 20, 12, Rgba::new(240, 200, 20, 255));
    target.fill_rect(20, 14, 24, 16, Rgba::new(20, 90, 230, 255));
    dir.write("target.png", gvpie_cart::encode_png(&target, 1))
}

/// (score, code) of goal 1's kept candidates, oldest first.
fn kept(db: &Path) -> Vec<(Option<f64>, Option<String>)> {
    let Ok(store) = Store::open(db) else { return Vec::new() };
    let query = MapQuery { goal_id: Some(1), limit: 10_000, include_code: true, ..MapQuery::default() };
    let mut entries = store.map_page(&query).map(|p| p.entries).unwrap_or_default();
    entries.reverse();
    entries.into_iter().map(|e| (e.score, e.code)).collect()
}

fn status(db: &Path) -> String {
    Store::open(db).expect("open").goal(1).expect("read").expect("goal").status
}

/// Runs the daemon in cycles of 10 until goal 1 is done.
fn run_to_done(db: &Path) {
    for _ in 0..30 {
        if status(db) == "done" {
            return;
        }
        // Only the goal a person added: the daemon's self-set goals would share its time.
        let run = gvpie(&[
            &"daemon",
            &"--db",
            &db,
            &"--cycles",
            &"10",
            &"--interval",
            &"0",
            &"--no-log-file",
            &"--quiet",
            &"--no-self-goals",
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    panic!("goal 1 never finished");
}

#[test]
fn goals_commands_and_a_killed_daemon_resuming_an_image_goal() {
    let dir = Dir::new("goals-resume");
    let target = target_png(&dir);
    let straight = dir.join("straight.db");
    let resumed = dir.join("resumed.db");
    for db in [&straight, &resumed] {
        // A fixed alpha: with the solved default, two opaque rectangles are matched in a few shapes and the goal's
        // patience ends it early; this test wants a long run to kill in the middle.
        let run = gvpie(&[
            &"goals",
            &"add",
            &"image",
            &target,
            &"--shapes",
            &"60",
            &"--resize",
            &"48",
            &"--alpha",
            &"128",
            &"--db",
            db,
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stdout, "added goal 1 (image): approximate target.png with 60 shapes\n");
    }

    run_to_done(&straight);
    let expected = kept(&straight);
    assert_eq!(expected.len(), 60);

    // The second daemon is killed as soon as its first cycle committed, then restarted.
    let mut child = Command::new(env!("CARGO_BIN_EXE_gvpie"))
        .args(["daemon", "--interval", "0", "--no-log-file", "--quiet", "--no-self-goals", "--db"])
        .arg(&resumed)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while kept(&resumed).is_empty() {
        assert!(Instant::now() < deadline, "no cycle committed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let at_kill = kept(&resumed).len();
    assert!(at_kill < 60, "the goal finished before the kill ({at_kill} shapes)");
    assert_eq!(status(&resumed), "active");
    run_to_done(&resumed);
    assert_eq!(kept(&resumed), expected);

    // list, show, pause, resume, stats.
    let list = gvpie(&[&"goals", &"list", &"--db", &resumed]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[1].contains("image    done"), "{}", list.stdout);
    let show = gvpie(&[&"goals", &"show", &"1", &"--json", &"--db", &resumed]);
    let value = show.json();
    assert_eq!(value["lineage_length"], 60);
    assert_eq!(value["goal"]["spec"]["progress"]["steps"], 60);
    assert_eq!(value["goal"]["spec"]["progress"]["stop_reason"], "60 shapes placed");
    // New goals search with the evaluator cascade; a killed and restarted daemon still reaches the same program.
    assert_eq!(value["goal"]["spec"]["strategy"], "cascade");
    // serde_json's default float parsing may be one ulp off: the exact value is compared in the database.
    let best_score = Store::open(&resumed).expect("open").goal(1).expect("read").expect("goal").best_score;
    assert_eq!(best_score, expected[59].0);
    let shown = value["goal"]["best_score"].as_f64().expect("best score");
    assert!((shown - best_score.unwrap_or_default()).abs() <= 1e-15, "{shown}");
    assert!(value["cartridge"].as_str().is_some_and(|c| c.starts_with("goal-1/best-")), "{value}");
    let resume = gvpie(&[&"goals", &"resume", &"1", &"--db", &resumed]);
    assert_eq!((resume.code, resume.stderr.as_str()), (2, "gvpie: goal 1 is done; add a new goal to go further\n"));

    let run = gvpie(&[&"goals", &"add", &"image", &target, &"--shapes", &"5", &"--name", &"second", &"--db", &resumed]);
    assert_eq!(run.stdout, "added goal 2 (image): second\n");
    assert_eq!(gvpie(&[&"goals", &"pause", &"2", &"--db", &resumed]).stdout, "goal 2 paused\n");
    assert_eq!(Store::open(&resumed).expect("open").goal(2).expect("read").expect("goal").status, "paused");
    assert_eq!(gvpie(&[&"goals", &"resume", &"2", &"--db", &resumed]).stdout, "goal 2 resumed\n");

    let stats = gvpie(&[&"stats", &"--json", &"--db", &resumed]).json();
    let operators = stats["operators"].as_array().expect("operators");
    assert_eq!(operators.len(), 1);
    assert_eq!(operators[0]["operator"], "image:shape");
    // Every committed step counted once: the killed daemon's uncommitted cycle counted nothing.
    assert_eq!(operators[0]["pulls"], 60);
    let text = gvpie(&[&"stats", &"--db", &resumed]);
    assert!(text.stdout.starts_with("growth (what the daemon did by itself)\n"), "{}", text.stdout);
    assert!(text.stdout.contains("\noperators (bandit arms)\n"), "{}", text.stdout);
}

#[test]
fn goals_refuse_bad_input() {
    let dir = Dir::new("goals-bad");
    let db = dir.join("g.db");
    let missing = gvpie(&[&"goals", &"list", &"--db", &db]);
    assert_eq!(missing.code, 2);
    let store = Store::open(&db).expect("open");
    store
        .create_script(&gvpie_store::NewScript {
            name: "spin".into(),
            lang: "pixel".into(),
            purpose: None,
            code: "x:\nJMP x\n".into(),
            enabled: true,
            parent_script_id: None,
        })
        .expect("script");
    let spin = gvpie(&[&"goals", &"add", &"optimize", &"spin", &"--db", &db]);
    assert_eq!(spin.code, 2);
    assert!(spin.stderr.starts_with("gvpie: spin: the program must halt to be optimized"), "{}", spin.stderr);
    let none = gvpie(&[&"goals", &"add", &"optimize", &"nope", &"--db", &db]);
    assert_eq!((none.code, none.stderr.as_str()), (2, "gvpie: no script named 'nope'\n"));
    let image = gvpie(&[&"goals", &"add", &"image", &dir.join("absent.png"), &"--db", &db]);
    assert_eq!(image.code, 2);
    // Refused before the target is read.
    let absent = dir.join("absent.png");
    let strategy = gvpie(&[&"goals", &"add", &"image", &absent, &"--strategy", &"greedy", &"--db", &db]);
    // Parsed by clap from the engine's one list of names, which it shows.
    assert_eq!(strategy.code, 2);
    assert!(strategy.stderr.contains("invalid value 'greedy' for '--strategy <STRATEGY>'"), "{}", strategy.stderr);
    assert!(strategy.stderr.contains("[possible values: fast, cascade, plain]"), "{}", strategy.stderr);
    let effort = gvpie(&[&"goals", &"add", &"image", &absent, &"--effort", &"max", &"--db", &db]);
    assert_eq!(effort.code, 2);
    assert!(effort.stderr.contains("[possible values: cpu, gpu]"), "{}", effort.stderr);
    let fast = gvpie(&[&"goals", &"add", &"image", &absent, &"--strategy", &"fast", &"--effort", &"gpu", &"--db", &db]);
    assert_eq!(
        (fast.code, fast.stderr.as_str()),
        (2, "gvpie: effort applies to the cascade only, not to strategy 'fast'\n")
    );
}

#[test]
fn goals_show_lists_llm_proposals() {
    let dir = Dir::new("goals-proposals");
    let db = dir.join("g.db");
    let mut store = Store::open(&db).expect("open");
    let goal = gvpie_store::NewGoal { goal: "faster".into(), priority: 5, kind: "optimize".into(), spec: None };
    let id = store.create_goal(&goal).expect("goal").id;
    let proposal = |outcome: &str, reason: Option<&str>, score: Option<f64>| gvpie_store::NewProposal {
        goal_id: id,
        generator: "llm:m".into(),
        outcome: outcome.into(),
        reason: reason.map(str::to_string),
        source: Some("HALT\n".into()),
        score,
        ..gvpie_store::NewProposal::default()
    };
    let extras = gvpie_store::CycleExtras {
        proposals: vec![
            proposal("rejected", Some("the program does not compile:\n1:1: unknown mnemonic 'X'"), None),
            proposal("refused", Some("it draws different pixels"), Some(12.0)),
        ],
        ..gvpie_store::CycleExtras::default()
    };
    store.record_cycle_with(&[], None, &extras).expect("record");

    let text = gvpie(&[&"goals", &"show", &"1", &"--db", &db]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let lines: Vec<&str> = text.stdout.lines().skip_while(|l| !l.starts_with("  proposals")).collect();
    assert_eq!(lines.len(), 3, "{}", text.stdout);
    assert!(lines[1].ends_with(" llm:m refused 12 cycles: it draws different pixels"), "{}", lines[1]);
    assert!(lines[2].ends_with(" llm:m rejected: the program does not compile:"), "{}", lines[2]);
    let value = gvpie(&[&"goals", &"show", &"1", &"--json", &"--db", &db]).json();
    let proposals = value["proposals"].as_array().expect("proposals");
    assert_eq!(proposals.len(), 2);
    assert_eq!(proposals[0]["outcome"], "refused");
    assert_eq!(proposals[0]["score"], 12.0);
    assert_eq!(proposals[1]["reason"], "the program does not compile:\n1:1: unknown mnemonic 'X'");
    assert_eq!(proposals[1]["source"], "HALT\n");
}

/// Goal names come from the database, which anyone may write (the API, `psql`): the terminal never gets their
/// escape sequences raw.
#[test]
fn goal_names_reach_the_terminal_without_escape_sequences() {
    let dir = crate::util::Dir::new("goal-escapes");
    let db = dir.join("gvpie.db");
    let store = gvpie_store::Store::open(&db).expect("open");
    let hostile = "fine\u{1b}[2J\u{1b}]0;owned\u{7}";
    store
        .create_goal(&gvpie_store::NewGoal { goal: hostile.into(), priority: 5, kind: "note".into(), spec: None })
        .expect("goal");
    for args in [vec!["goals", "list"], vec!["goals", "show", "1"]] {
        let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> = args.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>).collect();
        all.push(&"--db");
        all.push(&db);
        let run = gvpie(&all);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(!run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{7}'), "{:?}", run.stdout);
        assert!(run.stdout.contains("fine"), "{}", run.stdout);
    }
}

/// `gvpie goals add image --refine`: the daemon's bandit may refine the placed shapes, the goal's
/// spec says so, and the refinements it keeps are in the infinite map as `image:refine`, each
/// better than the program before it.
#[test]
fn an_image_goal_added_with_refine_records_refinements() {
    let dir = Dir::new("goal-refine");
    let target = target_png(&dir);
    let db = dir.join("gvpie.db");
    let add = gvpie(&[&"goals", &"add", &"image", &target, &"-n", &"12", &"--refine", &"--db", &db]);
    assert_eq!(add.code, 0, "{}", add.stderr);
    let show = gvpie(&[&"goals", &"show", &"1", &"--json", &"--db", &db]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    let shown = show.json();
    assert!(shown.to_string().contains("\"refine\":{"), "the spec asks for refinement: {shown}");
    run_to_done(&db);
    let store = Store::open(&db).expect("open");
    let query = MapQuery { goal_id: Some(1), limit: 10_000, ..MapQuery::default() };
    let mut entries = store.map_page(&query).expect("map").entries;
    entries.reverse();
    let refined: Vec<f64> = entries
        .iter()
        .filter(|e| e.generator.as_deref() == Some("image:refine"))
        .map(|e| e.score.expect("scored"))
        .collect();
    assert!(
        !refined.is_empty(),
        "no kept refinement among {:?}",
        entries.iter().map(|e| &e.generator).collect::<Vec<_>>()
    );
    // Every kept program of the goal beats the one before it, refinements included.
    let scores: Vec<f64> = entries.iter().filter_map(|e| e.score).collect();
    assert!(scores.windows(2).all(|w| w[1] < w[0]), "{scores:?}");
}
