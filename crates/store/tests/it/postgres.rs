//! What only PostgreSQL has: the seed's SQL through psql, refusals the server enforces, many
//! writers at once, creating and migrating a database, and the errors of a bad URL, an
//! unreachable server or a wrong password.

use std::io::{Read, Write};
use std::net::TcpListener;

use gvpie_store::{Location, NewExecution, Store, StoreError, StoreOptions};

use crate::util::{
    Kind, TempStore, drop_database, fresh_dbname, hello_script, program, run_of, server_url, with_dbname,
};

fn pg() -> Option<TempStore> {
    Kind::postgres().map(TempStore::new)
}

#[test]
fn the_seeds_sql_works_through_a_raw_connection() {
    let Some(t) = pg() else { return };
    let raw = t.raw();
    raw.execute_batch(
        "INSERT INTO improvement_scripts (name, lang, purpose, code, enabled) VALUES ('x','pixel','p','CLS\nHALT',1);
         INSERT INTO development_goals (goal, priority) VALUES ('Validate the pipeline', 10);",
    )
    .expect("the seed's inserts");
    let due = t.store.scripts_due(10, 1 << 20).expect("due");
    assert_eq!(due.len(), 1);
    let script = &due[0];
    assert_eq!((script.name.as_str(), script.lang.as_str(), script.code.as_deref()), ("x", "pixel", Some("CLS\nHALT")));
    assert!(script.enabled && script.id > 0 && script.run_count == 0);
    assert_eq!(script.created_at.as_deref().map(str::len), Some("2026-01-01 00:00:00".len()));
    let goals = t.store.list_goals().expect("goals");
    assert_eq!(
        (goals[0].goal.as_str(), goals[0].priority, goals[0].status.as_str()),
        ("Validate the pipeline", 10, "active")
    );

    // The seed's columns and kinds: `enabled` an integer, `id` and `created_at` with defaults.
    let columns = raw.rows(
        "SELECT column_name, data_type, column_default IS NOT NULL OR is_identity = 'YES' FROM information_schema.columns \
         WHERE table_name = 'improvement_scripts' AND column_name IN ('id', 'enabled', 'created_at', 'run_count') \
         ORDER BY column_name",
    );
    let columns: Vec<(String, String, String)> = columns
        .into_iter()
        .map(|row| {
            (row[0].clone().unwrap_or_default(), row[1].clone().unwrap_or_default(), row[2].clone().unwrap_or_default())
        })
        .collect();
    assert_eq!(
        columns,
        [
            ("created_at".into(), "text".into(), "t".into()),
            ("enabled".into(), "integer".into(), "t".into()),
            ("id".into(), "bigint".into(), "t".into()),
            ("run_count".into(), "bigint".into(), "t".into()),
        ]
    );
    for table in [
        "improvement_scripts",
        "development_goals",
        "cartridge_registry",
        "system_metrics",
        "infinite_map",
        "improvement_runs",
    ] {
        assert_eq!(
            raw.count(&format!("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '{table}'")),
            1,
            "{table}"
        );
    }
}

#[test]
fn append_only_tables_refuse_truncate_and_even_an_empty_delete() {
    let Some(mut t) = pg() else { return };
    let script = hello_script(&t.store);
    t.store.record_cycle(&[run_of(&script, &program("p"), true)], None).expect("record");
    let raw = t.raw();
    for sql in [
        "TRUNCATE executions",
        "TRUNCATE execution_parents",
        "TRUNCATE llm_proposals",
        "TRUNCATE adoptions",
        "DELETE FROM executions WHERE false",
        "UPDATE adoptions SET cycles = 0",
        "DELETE FROM adoptions",
        "UPDATE execution_parents SET parent_iteration = 0",
    ] {
        let err = raw.execute_batch(sql).expect_err(sql);
        assert!(err.starts_with("ERROR: ") && err.contains("is append-only"), "{sql}: {err}");
    }
    assert_eq!(raw.count("SELECT COUNT(*) FROM executions"), 1);
}

#[test]
fn many_writers_get_unique_growing_iterations_and_lose_no_count() {
    let Some(t) = pg() else { return };
    let script = hello_script(&t.store);
    let (writers, cycles, batch) = (4, 10, 5);
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let location = t.location().clone();
            let script = script.clone();
            std::thread::spawn(move || {
                let mut store = Store::open_location(&location, &StoreOptions::default()).expect("open");
                let mut mine = Vec::new();
                for c in 0..cycles {
                    // Each writer both repeats a shared program and brings new ones.
                    let runs: Vec<NewExecution> = (0..batch)
                        .map(|i| run_of(&script, &program(if i == 0 { "shared" } else { "own" }), (w + c + i) % 2 == 0))
                        .map(|mut run| {
                            run.program = Some(program(&format!("w{w}c{c}")));
                            run
                        })
                        .collect();
                    mine.extend(store.record_cycle(&runs, None).expect("record").iterations);
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for handle in handles {
        let mine = handle.join().expect("writer");
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "a writer's iterations grow: {mine:?}");
        all.extend(mine);
    }
    let total = writers * cycles * batch;
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), total, "every iteration is unique");
    let summary = t.store.summary().expect("summary");
    assert_eq!((summary.executions, summary.daemon_cycles), (total as i64, (writers * cycles) as i64));
    let script = t.store.script(script.id).expect("get").expect("exists");
    assert_eq!(script.run_count, total as i64, "no lost update of the script's counters");
    let stats = t.store.stats(Some("script")).expect("stats");
    assert_eq!(stats[0].runs, total as i64, "no lost update of the statistics");
    assert_eq!(stats[0].cycles_hist.iter().sum::<i64>(), total as i64);
    // Later writes keep growing past every one of them.
    let mut store = t.open_again();
    let next = store.record_cycle(&[run_of(&script, &program("late"), true)], None).expect("record").iterations[0];
    assert!(next > *all.last().expect("iterations"));
}

#[test]
fn processes_opening_a_new_database_at_once_all_find_it_migrated() {
    let Some(server) = server_url() else { return };
    let dbname = fresh_dbname();
    let url = with_dbname(&server, &dbname);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let location = Location::parse(&url).expect("URL");
            std::thread::spawn(move || {
                Store::open_location(&location, &StoreOptions::default()).map(|s| s.schema_version())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().expect("opener")).collect();
    drop_database(&dbname);
    for result in results {
        assert_eq!(result.expect("opens").expect("version"), gvpie_store::latest_version());
    }
}

#[test]
fn a_database_that_is_not_gvpies_is_refused_and_left_alone() {
    let Some(server) = server_url() else { return };
    let dbname = fresh_dbname();
    let mut admin = crate::util::admin();
    admin.batch_execute(&format!("CREATE DATABASE {dbname}")).expect("create");
    let url = with_dbname(&server, &dbname);
    let mut other = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    other.batch_execute("CREATE TABLE customers (id integer PRIMARY KEY, name text)").expect("a foreign table");
    let err =
        Store::open_location(&Location::parse(&url).expect("URL"), &StoreOptions::default()).expect_err("refused");
    let tables: Vec<String> = other
        .query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", &[])
        .expect("tables")
        .iter()
        .map(|row| row.get(0))
        .collect();
    drop(other);
    drop_database(&dbname);
    let StoreError::Open { location, message } = &err else { panic!("unexpected error {err}") };
    assert_eq!(location, &url);
    assert!(message.contains("not a gvpie database"), "{message}");
    assert_eq!(tables, ["customers"], "nothing was created");
}

#[test]
fn a_newer_schema_is_refused_and_the_database_left_as_it_is() {
    let Some(t) = pg() else { return };
    let raw = t.raw();
    raw.execute_batch("INSERT INTO schema_version (version, description) VALUES (99, 'from the future')")
        .expect("insert");
    let err = t.try_open().expect_err("newer");
    assert!(matches!(err, StoreError::NewerSchema { found: 99, .. }), "{err}");
    assert_eq!(raw.count("SELECT MAX(version) FROM schema_version"), 99);
}

/// A free TCP port on the loopback interface (nothing listens on it once this returns).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

#[test]
fn an_unreachable_server_is_a_clear_open_error_without_the_password() {
    let url = format!("postgres://gvpie:hunter2@127.0.0.1:{}/gvpie", free_port());
    let err =
        Store::open_location(&Location::parse(&url).expect("URL"), &StoreOptions::default()).expect_err("refused");
    let StoreError::Open { location, message } = &err else { panic!("unexpected error {err}") };
    assert!(location.starts_with("postgres://gvpie:***@127.0.0.1:"), "{location}");
    assert!(message.contains("connect") && message.to_lowercase().contains("refused"), "{message}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
}

/// A server that asks for a password and refuses it, as PostgreSQL does (message 28P01);
/// returns its port and, once a client came, the password the client sent.
fn server_refusing_passwords() -> (u16, std::thread::JoinHandle<Option<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("address").port();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().ok()?;
        let read_message = |stream: &mut std::net::TcpStream, typed: bool| -> Option<Vec<u8>> {
            if typed {
                let mut tag = [0u8; 1];
                stream.read_exact(&mut tag).ok()?;
            }
            let mut len = [0u8; 4];
            stream.read_exact(&mut len).ok()?;
            let mut body = vec![0u8; (u32::from_be_bytes(len) as usize).checked_sub(4)?];
            stream.read_exact(&mut body).ok()?;
            Some(body)
        };
        let mut startup = read_message(&mut stream, false)?;
        if startup.get(..4) == Some(&80_877_103u32.to_be_bytes()[..]) {
            // An SSL request: no TLS here; the startup message follows.
            stream.write_all(b"N").ok()?;
            startup = read_message(&mut stream, false)?;
        }
        let _ = startup;
        // AuthenticationCleartextPassword.
        stream.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).ok()?;
        let password = read_message(&mut stream, true)?;
        let mut fields = Vec::new();
        for (code, text) in [
            (b'S', "FATAL"),
            (b'V', "FATAL"),
            (b'C', "28P01"),
            (b'M', "password authentication failed for user \"gvpie\""),
        ] {
            fields.push(code);
            fields.extend_from_slice(text.as_bytes());
            fields.push(0);
        }
        fields.push(0);
        let mut reply = vec![b'E'];
        reply.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
        reply.extend_from_slice(&fields);
        stream.write_all(&reply).ok()?;
        Some(String::from_utf8_lossy(password.strip_suffix(&[0]).unwrap_or(&password)).into_owned())
    });
    (port, handle)
}

#[test]
fn a_wrong_password_is_a_clear_open_error_without_the_password() {
    let (port, server) = server_refusing_passwords();
    let url = format!("postgres://gvpie:hunter2@127.0.0.1:{port}/gvpie");
    let err =
        Store::open_location(&Location::parse(&url).expect("URL"), &StoreOptions::default()).expect_err("refused");
    assert_eq!(server.join().expect("server").as_deref(), Some("hunter2"), "the client did send the password");
    let StoreError::Open { location, message } = &err else { panic!("unexpected error {err}") };
    assert_eq!(location, &format!("postgres://gvpie:***@127.0.0.1:{port}/gvpie"));
    assert_eq!(message, "FATAL: password authentication failed for user \"gvpie\"");
    assert!(!err.to_string().contains("hunter2") && !format!("{err:?}").contains("hunter2"), "{err:?}");
}

#[test]
fn bad_urls_are_refused_before_connecting() {
    for (url, expected) in [
        ("postgres://gvpie:pw@127.0.0.1:99999/gvpie", "not a valid PostgreSQL URL"),
        ("postgres://gvpie:pw@127.0.0.1:5432", "names no database"),
    ] {
        let err = Location::parse(url).expect_err(url);
        assert!(err.to_string().contains(expected), "{url}: {err}");
        assert!(!err.to_string().contains(":pw@"), "{err}");
    }
}

#[test]
fn a_missing_database_is_created_and_the_store_answers_like_sqlite() {
    let Some(server) = server_url() else { return };
    let dbname = fresh_dbname();
    let url = with_dbname(&server, &dbname);
    // Store::open takes a URL too: every caller that takes `--db` as a path accepts one.
    let store = Store::open(&url);
    let checks = store.and_then(|store| {
        Ok((
            store.is_postgres(),
            store.location().to_string(),
            store.integrity_check()?,
            store.is_read_only(),
            store.used_bytes()? > 0,
            store.checkpoint().is_ok(),
            store.counter("daemon_cycles")?,
        ))
    });
    let collation: Option<String> = crate::util::admin()
        .query_opt("SELECT datcollate FROM pg_database WHERE datname = $1", &[&dbname])
        .expect("collation")
        .map(|row| row.get(0));
    drop_database(&dbname);
    assert_eq!(checks.expect("opens"), (true, url, Ok(()), false, true, true, 0));
    assert_eq!(collation.as_deref(), Some("C"), "text sorts as in SQLite");
}

/// Everything a scenario can read back, as JSON, with the times (which differ between two runs)
/// replaced by whether they are set.
fn snapshot(store: &Store, goal_ids: &[i64], last: i64) -> serde_json::Value {
    fn mask(value: &mut serde_json::Value) {
        const TIMES: [&str; 9] = [
            "created_at",
            "updated_at",
            "last_run_at",
            "completed_at",
            "archived_at",
            "timestamp",
            "started_ms",
            "created_ms",
            "db_bytes",
        ];
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    if TIMES.contains(&key.as_str()) || (key.ends_with("_ms") && key != "duration_ms") {
                        *value = serde_json::Value::Bool(!value.is_null());
                    } else {
                        mask(value);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(mask),
            _ => {}
        }
    }
    let hello_hash = program("hello").hash;
    let image = gvpie_store::Hash::of(b"pixels");
    let mut all = serde_json::json!({
        "scripts": store.list_scripts().expect("scripts"),
        "due": store.scripts_due(10, 8).expect("due"),
        "goals": store.list_goals().expect("goals"),
        "active": store.active_goals().expect("active"),
        "map": store.map_page(&gvpie_store::MapQuery { include_code: true, ..Default::default() }).expect("map"),
        "failures": store.map_page(&gvpie_store::MapQuery { success: Some(false), script: Some("hello_gpu".into()), ..Default::default() }).expect("map"),
        "lineage": store.lineage(last, 5).expect("lineage"),
        "stats": store.stats(None).expect("stats"),
        "metrics": store.metrics(None, 10).expect("metrics"),
        "summary": store.summary().expect("summary"),
        "growth": store.growth().expect("growth"),
        "pictures": store.archive_pictures(10).expect("pictures"),
        "adoptions": store.adoptions(10).expect("adoptions"),
        "proposals": goal_ids.iter().map(|&id| store.llm_proposals(id, 10).expect("proposals")).collect::<Vec<_>>(),
        "cartridges": store.list_cartridges().expect("cartridges"),
        "cartridge_png": store.cartridge_png("goal-best").expect("png").map(|(_, bytes)| bytes),
        "image": store.image_by_hash(&image).expect("image").map(|i| (i.width, i.height, i.png, i.first_iteration)),
        "program": store.program_by_hash(&hello_hash).expect("program"),
        "latest_of_program": store.latest_iteration_of_program(&hello_hash).expect("latest"),
        "has_png": store.has_image_png(&image).expect("has png"),
        "imported": store.imported_file("scripts/a.sql").expect("imported"),
        "lease": store.lease_info(gvpie_store::DAEMON_LEASE).expect("lease").map(|l| (l.holder, l.pid, l.host, l.ttl_ms)),
        "cycles": store.counter("daemon_cycles").expect("counter"),
        "version": store.schema_version().expect("version"),
    });
    mask(&mut all);
    all
}

/// The same operations on both backends, every reader's answer compared.
fn scenario(kind: Kind) -> serde_json::Value {
    use gvpie_store::{
        Adoption, ArmDelta, CycleCartridge, CycleExtras, DerivedScript, GoalChange, GoalUpdate, ImportedFile,
        ImportedScript, NewCartridge, NewGoal, NewProposal, NewScript, ParentRef, ScriptUpdate, SelfSetGoal, TextRef,
    };
    let mut t = TempStore::new(kind);
    let store = &mut t.store;
    let hello = hello_script(store);
    let rect = store
        .create_script(&NewScript {
            name: "rect".into(),
            lang: "pixel".into(),
            purpose: None,
            code: "RECT 0 0 4 4\nHALT".into(),
            enabled: true,
            parent_script_id: Some(hello.id),
        })
        .expect("rect");
    let image_goal = store
        .create_goal(&NewGoal {
            goal: "match".into(),
            priority: 7,
            kind: "image".into(),
            spec: Some(serde_json::json!({"target": "a.png"})),
        })
        .expect("goal");
    let explore = store
        .create_goal(&NewGoal {
            goal: "explore".into(),
            priority: 3,
            kind: "explore".into(),
            spec: Some(serde_json::json!({"state": {"archive": [1, 2, 3]}})),
        })
        .expect("goal");
    let lease = store
        .acquire_lease(
            &gvpie_store::LeaseClaim {
                name: gvpie_store::DAEMON_LEASE.into(),
                holder: "me".into(),
                pid: 7,
                host: "h".into(),
                process_start: None,
                ttl: std::time::Duration::from_secs(60),
            },
            &|_| false,
        )
        .expect("lease")
        .lease;
    for round in 0..3 {
        let runs =
            vec![run_of(&hello, &program("hello"), round != 1), run_of(&rect, &program(&format!("r{round}")), true)];
        store.record_cycle(&runs, Some(&lease)).expect("cycle");
    }
    let mut explored = run_of(&hello, &program("x"), true);
    explored.generator = Some(TextRef::new("explore:insert"));
    explored.goal_id = Some(explore.id);
    explored.score = Some(0.25);
    let mut child = run_of(&hello, &program("y"), true);
    child.parent = ParentRef::Pending(0);
    child.extra_parents = vec![ParentRef::Iteration(1)];
    let extras = CycleExtras {
        goals: vec![GoalChange {
            id: image_goal.id,
            status: Some("done".into()),
            spec: Some(serde_json::json!({"progress": 1})),
            best: Some((ParentRef::Pending(1), 0.5)),
        }],
        arms: vec![ArmDelta { key: "mutation:insert".into(), tries: 3, improvements: 1 }],
        cartridges: vec![CycleCartridge {
            path_prefix: "goal-1/best-".into(),
            pending: 1,
            png: b"cartridge png".to_vec(),
            width: 32,
            height: 16,
        }],
        scripts: vec![DerivedScript {
            name: "hello_gpu.optimized".into(),
            lang: "pixel".into(),
            purpose: Some("faster".into()),
            code: "TXT 0 0 HI\nHALT".into(),
            parent_script_id: Some(hello.id),
        }],
        proposals: vec![NewProposal {
            goal_id: image_goal.id,
            generator: "llm:m".into(),
            outcome: "adopted".into(),
            source: Some("HALT".into()),
            score: Some(1.5),
            execution: ParentRef::Pending(1),
            ..NewProposal::default()
        }],
        self_set_goals: vec![SelfSetGoal {
            origin: "optimize:hello_gpu".into(),
            goal: NewGoal { goal: "optimize hello".into(), priority: 4, kind: "optimize".into(), spec: None },
        }],
        adoptions: vec![Adoption {
            goal_id: image_goal.id,
            original: "hello_gpu".into(),
            successor: "hello_gpu.optimized".into(),
            original_cycles: 10,
            cycles: 4,
            execution: ParentRef::Pending(1),
        }],
        ..CycleExtras::default()
    };
    let last =
        store.record_cycle_with(&[explored, child], Some(&lease), &extras).expect("cycle with extras").iterations[1];
    store
        .put_cartridge(&NewCartridge {
            path: Some("goal-best"),
            png: b"other png",
            width: Some(8),
            height: Some(8),
            parent_id: None,
        })
        .expect("cartridge");
    store
        .put_image(&gvpie_store::NewImage {
            hash: gvpie_store::Hash::of(b"target"),
            width: 2,
            height: 2,
            png: Some(vec![1, 2]),
        })
        .expect("image");
    store.record_metrics(&[("cycle_count", 3.0, Some("ctx")), ("rate", 0.5, None)]).expect("metrics");
    store
        .upsert_scripts(
            &[ImportedScript {
                name: "imported".into(),
                lang: "pixel".into(),
                purpose: None,
                code: "HALT".into(),
                enabled: false,
            }],
            Some("scripts/a.sql"),
        )
        .expect("import");
    store.add_goals_if_new(&[("from a file".into(), 2), ("match".into(), 1)]).expect("goals");
    store
        .mark_imported(&ImportedFile {
            path: "scripts/a.sql".into(),
            mtime_ns: 5,
            size: 6,
            hash: gvpie_store::Hash::of(b"file"),
            scripts: Some("imported".into()),
            error: None,
        })
        .expect("mark");
    store
        .update_script(rect.id, &ScriptUpdate { purpose: Some(Some("squares".into())), ..Default::default() })
        .expect("update");
    store.archive_script(rect.id).expect("archive");
    store.update_goal(explore.id, &GoalUpdate { priority: Some(9), ..Default::default() }).expect("goal update");
    snapshot(store, &[image_goal.id, explore.id], last)
}

#[test]
fn both_backends_answer_every_reader_alike() {
    if Kind::postgres().is_none() {
        return;
    }
    let (sqlite, postgres) = (scenario(Kind::Sqlite), scenario(Kind::Postgres));
    let keys = sqlite.as_object().expect("an object").keys().cloned().collect::<Vec<_>>();
    for key in keys {
        assert_eq!(sqlite[&key], postgres[&key], "{key}: SQLite (left) and PostgreSQL (right) differ");
    }
    // The scenario did reach what it meant to.
    assert_eq!(sqlite["growth"]["adoptions"], 1);
    assert_eq!(sqlite["growth"]["archive_kinds"], 3);
    assert_eq!(sqlite["growth"]["cycles_saved_per_run"], 6);
    assert_eq!(sqlite["summary"]["executions"], 8);
}

#[test]
fn a_failed_migration_leaves_the_previous_version_whole() {
    let Some(server) = server_url() else { return };
    let dbname = fresh_dbname();
    crate::util::admin().batch_execute(&format!("CREATE DATABASE {dbname}")).expect("create");
    let url = with_dbname(&server, &dbname);
    let mut raw = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    // A database that claims version 1 without its tables: migration 2 cannot run.
    raw.batch_execute(
        "CREATE TABLE schema_version (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT);
         INSERT INTO schema_version (version, description) VALUES (1, 'pretend');",
    )
    .expect("a broken version 1");
    let err = Store::open(&url).expect_err("migration 2 fails");
    let version: i64 = raw.query_one("SELECT MAX(version) FROM schema_version", &[]).expect("version").get(0);
    let tables: i64 =
        raw.query_one("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'", &[]).expect("n").get(0);
    drop(raw);
    drop_database(&dbname);
    let StoreError::Open { message, .. } = &err else { panic!("unexpected error {err}") };
    assert!(message.contains("migration 2 failed"), "{message}");
    assert_eq!((version, tables), (1, 1), "nothing of migration 2 stayed");
}

#[test]
fn a_broken_connection_fails_one_call_and_the_next_reconnects() {
    let Some(mut t) = pg() else { return };
    let script = hello_script(&t.store);
    t.store.record_cycle(&[run_of(&script, &program("p"), true)], None).expect("record");
    let dbname = match t.location() {
        Location::Postgres(url) => url.rsplit('/').next().unwrap_or_default().to_string(),
        other => panic!("not PostgreSQL: {other}"),
    };
    let terminated: i64 = crate::util::admin()
        .query_one(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'gvpie'",
            &[&dbname],
        )
        .expect("terminate")
        .get(0);
    assert_eq!(terminated, 1, "the store's one connection");
    // The call that meets the broken connection fails; the store connects again for the next one.
    let first = t.store.record_cycle(&[run_of(&script, &program("p"), true)], None);
    let second = t.store.record_cycle(&[run_of(&script, &program("p"), true)], None).expect("reconnected");
    assert!(first.is_err() || second.iterations[0] > 2, "{first:?}");
    assert_eq!(t.store.summary().expect("summary").executions, if first.is_ok() { 3 } else { 2 });
}
