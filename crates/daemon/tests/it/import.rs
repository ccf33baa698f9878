//! Folder import and change detection.

use gvpie_daemon::{DaemonEvent, ScriptFolder};

use crate::util::{Setup, recorded};

const SEED_FILE: &str = "-- First improvement script: Test the GPU pipeline with a simple program

INSERT OR REPLACE INTO improvement_scripts (name, lang, purpose, code, enabled, created_at)
VALUES (
    'hello_gpu',
    'pixel',
    'Test GPU pipeline with simple text rendering',
    'TXT 10 10 HELLO GPU
HALT',
    1,
    datetime('now')
);

-- Add a development goal
INSERT INTO development_goals (goal, priority, created_at)
VALUES ('Validate end-to-end GPU execution pipeline', 10, datetime('now'));
";

fn imported(events: &[DaemonEvent]) -> Vec<(String, Vec<String>, Option<String>)> {
    events
        .iter()
        .filter_map(|e| match e {
            DaemonEvent::ScriptsImported { file, scripts, error } => Some((
                std::path::Path::new(file).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                scripts.clone(),
                error.clone(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn seed_sql_and_pxl_files_are_imported_and_reimported_when_changed() {
    let mut setup = Setup::new();
    let scripts = setup.dir.path().join("improvement_scripts");
    std::fs::create_dir_all(&scripts).expect("mkdir");
    std::fs::write(scripts.join("001_hello_gpu.sql"), SEED_FILE).expect("write");
    std::fs::write(scripts.join("box.pxl"), "# purpose: draw a box\nRECT 2 2 8 8\nHALT\n").expect("write");
    std::fs::write(scripts.join("broken.sql"), "INSERT INTO nowhere VALUES (1);").expect("write");
    std::fs::write(scripts.join("notes.txt"), "ignored").expect("write");
    setup.config.scripts_dir = Some(scripts.clone());
    let events = setup.run(1);
    let files = imported(&events);
    assert_eq!(files.len(), 3, "{files:?}");
    assert_eq!(files[0].0, "001_hello_gpu.sql");
    assert_eq!(files[0].1, ["hello_gpu"]);
    assert_eq!((files[1].0.as_str(), files[1].1.as_slice()), ("box.pxl", &["box".to_string()][..]));
    assert!(files[2].2.as_deref().is_some_and(|e| e.contains("no such table")), "{files:?}");
    assert_eq!(recorded(&events).len(), 2);
    let store = setup.store();
    assert_eq!(store.script_by_name("box").expect("q").expect("box").purpose.as_deref(), Some("draw a box"));
    assert_eq!(store.list_goals().expect("goals").len(), 1);

    // A restart with unchanged files imports nothing, so edits made in the database stay.
    let hello = store.script_by_name("hello_gpu").expect("q").expect("exists");
    store.set_script_enabled(hello.id, false).expect("disable");
    let events = setup.run(1);
    assert!(imported(&events).is_empty(), "{:?}", imported(&events));
    assert!(!setup.store().script(hello.id).expect("q").expect("exists").enabled);

    // A changed file is imported again, keeping the script's id and counters.
    std::fs::write(scripts.join("box.pxl"), "# purpose: a bigger box\nRECT 2 2 20 20\nHALT\n").expect("write");
    let mut folder = ScriptFolder::new(&scripts);
    let mut store = setup.store();
    let events = folder.scan(&mut store);
    assert_eq!(imported(&events).iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), ["box.pxl"]);
    let boxed = store.script_by_name("box").expect("q").expect("exists");
    assert_eq!(boxed.code.as_deref(), Some("# purpose: a bigger box\nRECT 2 2 20 20\nHALT\n"));
    assert_eq!(boxed.run_count, 2);
    // Polling again finds nothing new.
    assert!(folder.scan(&mut store).is_empty());
    // The goal was not added twice.
    assert_eq!(store.list_goals().expect("goals").len(), 1);
}

#[test]
fn a_changed_program_keeps_its_lineage() {
    let mut setup = Setup::new();
    let scripts = setup.dir.path().join("s");
    std::fs::create_dir_all(&scripts).expect("mkdir");
    std::fs::write(scripts.join("p.pxl"), "RECT 0 0 4 4\nHALT\n").expect("write");
    setup.config.scripts_dir = Some(scripts.clone());
    setup.run(1);
    std::fs::write(scripts.join("p.pxl"), "RECT 0 0 5 5\nHALT\n").expect("write");
    setup.run(1);
    let store = setup.store();
    let lineage = store.lineage(2, 10).expect("lineage").expect("exists");
    assert_eq!(lineage.ancestors.iter().map(|n| n.entry.iteration).collect::<Vec<_>>(), [1]);
    assert_ne!(lineage.entry.program_hash, lineage.ancestors[0].entry.program_hash);
}
