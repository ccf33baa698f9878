//! The seed's own SQL, verbatim, against our schema.

use crate::util::{TempStore, both_backends, hello_script, program, run_of};

/// From the seed's START_HERE.md, "Adding New Pixel Programs".
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

/// From START_HERE.md, "Monitor Execution".
const SEED_MAP_SELECT: &str = "
    SELECT iteration, task_description, timestamp
    FROM infinite_map
    ORDER BY iteration DESC
    LIMIT 10
";
const SEED_RATES_SELECT: &str = "
    SELECT name, run_count, success_count
    FROM improvement_scripts
";

/// The seed's improvement_scripts/001_hello_gpu.sql.
pub const SEED_FILE: &str = "-- First improvement script: Test the GPU pipeline with a simple program

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

both_backends! {
    fn seed_insert_gets_defaults_and_is_due(kind: Kind) {
        let t = TempStore::new(kind);
        t.raw().execute_batch(SEED_INSERT).expect("seed insert");
        // The seed's defaults: created_at in SQLite's datetime('now') format.
        let created = t.store.script_by_name("test_rect").expect("query").expect("inserted").created_at;
        assert_eq!(created.map(|c| c.len()), Some("2026-01-01 00:00:00".len()));
        let script = t.store.script_by_name("test_rect").expect("query").expect("inserted");
        assert_eq!((script.run_count, script.success_count, script.enabled), (0, 0, true));
        assert_eq!(script.last_run_at, None);
        let due = t.store.scripts_due(10, 1 << 20).expect("due");
        assert_eq!(due.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["test_rect"]);
    }

    fn seed_selects_work_against_recorded_runs(kind: Kind) {
        let mut t = TempStore::new(kind);
        let script = hello_script(&t.store);
        let hello = program("hello");
        for _ in 0..3 {
            t.store.record_cycle(&[run_of(&script, &hello, true)], None).expect("record");
        }
        let raw = t.raw();
        let first = t.store.map_entry(1, false).expect("entry").expect("recorded").iteration;
        let rows = raw.rows(SEED_MAP_SELECT);
        let iterations: Vec<i64> = rows.iter().map(|r| r[0].as_deref().expect("iteration").parse().expect("a number")).collect();
        assert_eq!(iterations, [first + 2, first + 1, first]);
        assert_eq!(rows[0][1].as_deref(), Some("hello_gpu: Test GPU pipeline with simple text rendering"));
        assert_eq!(rows[0][2].as_deref().map(str::len), Some("2026-01-01 00:00:00.000".len()));
        // The view's timestamp is the store's, to the millisecond.
        let entry = t.store.map_entry(first, false).expect("entry").expect("recorded");
        assert_eq!(rows[2][2].as_deref(), Some(entry.timestamp.as_str()));

        let rows = raw.rows(SEED_RATES_SELECT);
        assert_eq!(rows, [vec![Some("hello_gpu".to_string()), Some("3".to_string()), Some("3".to_string())]]);

        // The other seed columns are there too, as the seed's daemon wrote them.
        let row = &raw.rows("SELECT code, result, parent_iteration FROM infinite_map WHERE iteration = 1")[0];
        assert_eq!(row[0].as_deref(), Some("source of hello"));
        let result: serde_json::Value = serde_json::from_str(row[1].as_deref().expect("result")).expect("result is JSON");
        assert_eq!(result["success"], true);
        assert_eq!(result["cycles"], 2);
        assert_eq!(result["backend"], "cpu");
        assert_eq!(result["duration_ms"], 0.02);
        assert_eq!(row[2], None);
        let row = &raw.rows("SELECT script_id, success, backend, stdout FROM improvement_runs WHERE id = 2")[0];
        let expected = [Some(script.id.to_string()), Some("1".to_string()), Some("cpu".to_string())];
        assert_eq!(row[..3], expected);
    }

    fn upsert_keeps_id_and_statistics(kind: Kind) {
        let mut t = TempStore::new(kind);
        let file = gvpie_store::parse_script_sql(SEED_FILE).expect("parse");
        let ids = t.store.upsert_scripts(&file.scripts, Some("001_hello_gpu.sql")).expect("upsert");
        let script = t.store.script(ids[0]).expect("get").expect("exists");
        t.store.record_cycle(&[run_of(&script, &program("hello"), true)], None).expect("record");
        let mut changed = file.scripts.clone();
        changed[0].code = "TXT 0 0 HI\nHALT".into();
        let again = t.store.upsert_scripts(&changed, Some("001_hello_gpu.sql")).expect("upsert again");
        assert_eq!(again, ids);
        let script = t.store.script(ids[0]).expect("get").expect("exists");
        assert_eq!((script.run_count, script.code.as_deref()), (1, Some("TXT 0 0 HI\nHALT")));
        assert_eq!(t.store.add_goals_if_new(&file.goals).expect("goals"), 1);
        assert_eq!(t.store.add_goals_if_new(&file.goals).expect("goals"), 0);
    }

    fn unknown_lang_and_null_columns_are_accepted_by_the_database(kind: Kind) {
        let t = TempStore::new(kind);
        t.raw()
            .execute_batch(
                "INSERT INTO improvement_scripts (name, lang, code) VALUES ('py', 'python', 'print(1)');
                 INSERT INTO improvement_scripts (name, lang, code, enabled, run_count) VALUES ('n', 'pixel', 'HALT', 1, NULL);
                 INSERT INTO improvement_scripts (name, lang, code, enabled) VALUES ('off', 'pixel', 'HALT', NULL);",
            )
            .expect("insert");
        let due = t.store.scripts_due(10, 1 << 20).expect("due");
        assert_eq!(due.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["py", "n"]);
        assert_eq!(due[1].run_count, 0);
    }
}

#[test]
fn seed_file_parses_in_a_sandbox() {
    let file = gvpie_store::parse_script_sql(SEED_FILE).expect("parse");
    assert_eq!(file.scripts.len(), 1);
    assert_eq!(file.scripts[0].name, "hello_gpu");
    assert_eq!(file.scripts[0].code, "TXT 10 10 HELLO GPU\nHALT");
    assert_eq!(file.goals, [("Validate end-to-end GPU execution pipeline".to_string(), 10)]);
    // A file cannot reach another database.
    let err = gvpie_store::parse_script_sql("ATTACH 'x.db' AS x;").expect_err("attach refused");
    assert!(err.to_string().contains("does not run"), "{err}");
}
