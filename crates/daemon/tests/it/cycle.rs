//! Cycles: selection order, recording, learning, events.

use gvpie_daemon::DaemonEvent;

use crate::util::{Setup, add_script, recorded};

#[test]
fn a_cycle_runs_the_seed_examples_and_records_them() {
    let setup = Setup::new();
    gvpie_daemon::seed_examples(&setup.store()).expect("seed");
    let events = setup.run(2);
    let runs = recorded(&events);
    assert_eq!(runs.len(), 4);
    assert_eq!(runs.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert!(runs.iter().all(|r| r.2), "{runs:?}");
    assert!(matches!(events.first(), Some(DaemonEvent::Started { .. })));
    assert!(matches!(events.last(), Some(DaemonEvent::Stopped { cycles: 2, executions: 4, .. })));

    let store = setup.store();
    let hello = store.script_by_name("hello_gpu").expect("query").expect("seeded");
    assert_eq!((hello.run_count, hello.success_count), (2, 2));
    let entry = store.map_entry(1, true).expect("query").expect("recorded");
    assert_eq!(entry.task_description.as_deref(), Some("hello_gpu: Test GPU pipeline with simple text rendering"));
    assert_eq!(entry.cycles, 2);
    assert_eq!(entry.code.as_deref(), Some("TXT 10 10 HELLO GPU\nHALT"));
    let image = store.image_of_iteration(1).expect("query").expect("image");
    assert!(image.png.is_some(), "the first image of a hash is kept");
    let summary = store.summary().expect("summary");
    assert_eq!((summary.programs, summary.images, summary.images_kept, summary.daemon_cycles), (2, 2, 2, 2));
    let opcodes: Vec<String> = store.stats(Some("opcode")).expect("stats").into_iter().map(|s| s.key).collect();
    assert_eq!(opcodes.len(), 3, "{opcodes:?}");
    assert!(!store.metrics(Some("executions_total"), 1).expect("metrics").is_empty());
}

#[test]
fn never_run_first_then_least_recently_run() {
    let mut setup = Setup::new();
    setup.config.per_cycle = 1;
    let store = setup.store();
    for name in ["a", "b", "c"] {
        add_script(&store, name, "pixel", "HALT");
    }
    let events = setup.run(5);
    let order: Vec<String> = recorded(&events).into_iter().filter_map(|r| r.1).collect();
    assert_eq!(order, ["a", "b", "c", "a", "b"]);
    // A script added later has never run: it goes first.
    add_script(&store, "late", "pixel", "HALT");
    let order: Vec<String> = recorded(&setup.run(2)).into_iter().filter_map(|r| r.1).collect();
    assert_eq!(order, ["late", "c"]);
}

#[test]
fn iterations_continue_across_daemons() {
    let setup = Setup::new();
    gvpie_daemon::seed_examples(&setup.store()).expect("seed");
    let first = recorded(&setup.run(1));
    let second = recorded(&setup.run(1));
    assert_eq!(first.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(second.iter().map(|r| r.0).collect::<Vec<_>>(), [3, 4]);
}

#[test]
fn a_script_inserted_by_hand_runs_in_the_next_cycle() {
    let mut setup = Setup::new();
    setup.config.max_cycles = None;
    setup.config.interval = std::time::Duration::from_millis(50);
    let (sink, events) = crate::util::recorder();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut daemon = gvpie_daemon::Daemon::open(setup.config.clone(), gvpie_exec::Engine::cpu_only())
        .expect("open")
        .with_events(sink);
    let stop_in_thread = stop.clone();
    let thread = std::thread::spawn(move || daemon.run(&stop_in_thread).map(|report| report.executions));
    std::thread::sleep(std::time::Duration::from_millis(200));
    // The seed's own command, typed into a shell while the daemon runs.
    setup
        .raw()
        .execute_batch(
            "INSERT INTO improvement_scripts (name, lang, purpose, code, enabled, created_at)
             VALUES ('test_rect', 'pixel', 'Test rectangle rendering', 'RECT 10 10 50 30
HALT', 1, datetime('now'));",
        )
        .expect("insert while running");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while recorded(&events.lock().expect("events")).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let executions = thread.join().expect("thread").expect("run");
    assert!(executions >= 1);
    let runs = recorded(&events.lock().expect("events"));
    assert_eq!(runs[0].1.as_deref(), Some("test_rect"));
    assert!(runs[0].2);
}

#[test]
fn text_and_json_console_lines() {
    let setup = Setup::new();
    gvpie_daemon::seed_examples(&setup.store()).expect("seed");
    let events = setup.run(1);
    let text: String = events.iter().map(gvpie_daemon::render_text).collect();
    for expected in [
        "ZERO HUMAN DAEMON",
        "🤖 AUTONOMOUS CYCLE #1",
        "✅ API Health: ✅ in-process runtime healthy",
        "🚀 Executing 2 improvement script(s)",
        "📐 Script: hello_gpu\n   Language: pixel\n   Purpose: Test GPU pipeline with simple text rendering\n   Program:\n     TXT 10 10 HELLO GPU\n     HALT\n   ✅ Execution succeeded (2 cycles)\n   Backend: CPU\n   ⏱️  Duration:",
        "💾 Saved to infinite map (iteration 1)",
        "💾 Saved to infinite map (iteration 2)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    for event in &events {
        let json = serde_json::to_value(event).expect("serializable");
        assert!(json["event"].is_string(), "{json}");
    }
}

#[test]
fn the_log_file_rotates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("logs").join("daemon.log");
    let mut file = gvpie_daemon::RotatingFile::open(&path, 100, 2).expect("open");
    for index in 0..20 {
        file.write(&format!("line {index:02} of the log, about forty bytes\n")).expect("write");
    }
    let names: Vec<String> = {
        let mut names: Vec<String> = std::fs::read_dir(dir.path().join("logs"))
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names, ["daemon.log", "daemon.log.1", "daemon.log.2"]);
    let newest = std::fs::read_to_string(&path).expect("read");
    assert!(newest.contains("line 19"));
    assert!(std::fs::metadata(&path).expect("meta").len() <= 100);
}

/// `--log-file /dev/null` is written into, never rotated: renaming it away would leave a regular
/// file called `/dev/null` behind.
#[test]
#[cfg(unix)]
fn a_log_file_that_is_a_device_is_never_rotated() {
    use std::os::unix::fs::FileTypeExt;
    let mut file = gvpie_daemon::RotatingFile::open(std::path::Path::new("/dev/null"), 100, 2).expect("open");
    for index in 0..20 {
        file.write(&format!("line {index:02} of the log, about forty bytes\n")).expect("write");
    }
    let null = std::fs::metadata("/dev/null").expect("/dev/null");
    assert!(null.file_type().is_char_device(), "/dev/null is no longer a device: {null:?}");
    assert!(!std::path::Path::new("/dev/null.1").exists(), "/dev/null was rotated");
}

/// Issue 15: a cycle's scripts run as one engine batch on the backend asked for (the GPU
/// where the engine has one, as `gvpie up --backend gpu` asks), with the CPU's answers, and
/// each execution records the backend that really ran it.
#[test]
fn a_cycles_scripts_run_as_one_batch_and_record_the_backend_that_ran() {
    let engine = gvpie_exec::Engine::detect();
    let (backend, ran) = if engine.gpu_adapter().is_some() {
        (gvpie_exec::BackendChoice::Gpu, "gpu")
    } else {
        eprintln!("NOTE: no GPU adapter (or no `gpu` feature); the batch runs on the CPU");
        (gvpie_exec::BackendChoice::Auto, "cpu")
    };
    let mut setup = Setup::new();
    setup.config.backend = backend;
    setup.config.per_cycle = 3;
    gvpie_daemon::seed_examples(&setup.store()).expect("seed");
    setup
        .raw()
        .execute_batch(
            "INSERT INTO improvement_scripts (name, lang, purpose, code, enabled, created_at)
             VALUES ('long_loop', 'pixel', 'A loop', 'SET i 0
l:
ADD s s i
LOOP i 30000 l
NUM 1 1 s
HALT', 1, datetime('now'));",
        )
        .expect("insert");
    let (sink, events) = crate::util::recorder();
    let mut config = setup.config.clone();
    config.max_cycles = Some(1);
    let mut daemon = gvpie_daemon::Daemon::open(config, engine).expect("open daemon").with_events(sink);
    daemon.run(&std::sync::atomic::AtomicBool::new(false)).expect("run");
    let events = events.lock().expect("events").clone();
    let runs: Vec<(String, u64, String, bool)> = events
        .iter()
        .filter_map(|event| match event {
            gvpie_daemon::DaemonEvent::ExecutionRecorded { script: Some(script), cycles, backend, success, .. } => {
                Some((script.clone(), *cycles, backend.clone(), *success))
            }
            _ => None,
        })
        .collect();
    assert_eq!(runs.len(), 3, "{runs:?}");
    for (script, cycles, backend, success) in &runs {
        assert_eq!((backend.as_str(), *success), (ran, true), "{script}");
        if script == "long_loop" {
            assert_eq!(*cycles, 1 + 2 * 30_000 + 2);
        }
    }
}
