//! Reading back.

use gvpie_store::{GoalUpdate, MapQuery, NewCartridge, NewGoal, NewScript, ScriptUpdate};

use crate::util::{TempStore, both_backends, hello_script, program, run_of};

both_backends! {
    fn pages_filter_and_follow_the_cursor(kind: Kind) {
        let mut t = TempStore::new(kind);
        let hello = hello_script(&t.store);
        let rect = t
            .store
            .create_script(&NewScript {
                name: "test_rect".into(),
                lang: "pixel".into(),
                purpose: None,
                code: "RECT 10 10 50 30\nHALT".into(),
                enabled: true,
                parent_script_id: None,
            })
            .expect("create");
        for _ in 0..5 {
            t.store
                .record_cycle(&[run_of(&hello, &program("h"), true), run_of(&rect, &program("r"), false)], None)
                .expect("record");
        }
        let page = t.store.map_page(&MapQuery { limit: 4, ..MapQuery::default() }).expect("page");
        assert_eq!(page.entries.iter().map(|e| e.iteration).collect::<Vec<_>>(), [10, 9, 8, 7]);
        assert_eq!(page.next_before, Some(7));
        let page = t
            .store
            .map_page(&MapQuery { script: Some("test_rect".into()), before: Some(7), ..MapQuery::default() })
            .expect("page");
        assert_eq!(page.entries.iter().map(|e| e.iteration).collect::<Vec<_>>(), [6, 4, 2]);
        assert_eq!(page.next_before, None);
        assert!(page.entries.iter().all(|e| !e.success && e.error.is_some()));
        let none = t.store.map_page(&MapQuery { since_ms: Some(i64::MAX - 1), ..MapQuery::default() }).expect("page");
        assert!(none.entries.is_empty());
        let with_code = t.store.map_page(&MapQuery { limit: 1, include_code: true, ..MapQuery::default() }).expect("page");
        assert_eq!(with_code.entries[0].code.as_deref(), Some("source of r"));
    }

    fn programs_and_images_by_hash(kind: Kind) {
        let mut t = TempStore::new(kind);
        let script = hello_script(&t.store);
        let hello = program("hello");
        t.store.record_cycle(&[run_of(&script, &hello, true)], None).expect("record");
        let record = t.store.program_by_hash(&hello.hash).expect("query").expect("stored");
        assert_eq!(record.texture, hello.texture);
        assert_eq!(record.source.as_deref(), Some("source of hello"));
        assert_eq!(record.opcodes, ["TXT", "HALT"]);
        let image = t.store.image_of_iteration(1).expect("query").expect("stored");
        assert_eq!((image.width, image.height, image.first_iteration), (128, 64, Some(1)));
        assert_eq!(image.png.as_deref(), Some(&b"png bytes"[..]));
    }

    fn scripts_crud(kind: Kind) {
        let t = TempStore::new(kind);
        let script = hello_script(&t.store);
        let dup = t.store.create_script(&gvpie_store::NewScript {
            name: "hello_gpu".into(),
            lang: "pixel".into(),
            purpose: None,
            code: "HALT".into(),
            enabled: true,
            parent_script_id: None,
        });
        assert!(dup.expect_err("duplicate").to_string().contains("already exists"));
        let orphan = t.store.create_script(&gvpie_store::NewScript {
            name: "orphan".into(),
            lang: "pixel".into(),
            purpose: None,
            code: "HALT".into(),
            enabled: true,
            parent_script_id: Some(424_242),
        });
        assert_eq!(
            orphan.expect_err("unknown parent").to_string(),
            gvpie_store::StoreError::Invalid("parent_script_id 424242: there is no script with that id".into()).to_string()
        );
        let off = t.store.set_script_enabled(script.id, false).expect("disable");
        assert!(!off.enabled);
        assert!(t.store.scripts_due(10, 1000).expect("due").is_empty());
        let changed = t
            .store
            .update_script(
                script.id,
                &ScriptUpdate { purpose: Some(None), code: Some("HALT".into()), ..Default::default() },
            )
            .expect("update");
        assert_eq!((changed.purpose, changed.code.as_deref()), (None, Some("HALT")));
        assert!(t.store.update_script(999, &ScriptUpdate::default()).is_err());
        let other = t
            .store
            .create_script(&NewScript {
                name: "other".into(),
                lang: "pixel".into(),
                purpose: None,
                code: "HALT".into(),
                enabled: true,
                parent_script_id: None,
            })
            .expect("other");
        let taken = t.store.update_script(other.id, &ScriptUpdate { name: Some("hello_gpu".into()), ..Default::default() });
        assert!(
            matches!(&taken, Err(gvpie_store::StoreError::Invalid(m)) if m == "a script named 'hello_gpu' already exists"),
            "{taken:?}"
        );
    }

    fn cartridges_are_content_addressed(kind: Kind) {
        let mut t = TempStore::new(kind);
        let png = b"\x89PNG fake cartridge".as_slice();
        let a = t.store.put_cartridge(&NewCartridge { png, ..Default::default() }).expect("put");
        assert!(a.path.starts_with("sha256:"));
        let again = t.store.put_cartridge(&NewCartridge { png, ..Default::default() }).expect("put again");
        assert_eq!(a.id, again.id);
        let named = t.store.put_cartridge(&NewCartridge { path: Some("hello.png"), png, ..Default::default() });
        let named = named.expect("named");
        let other = t.store.put_cartridge(&NewCartridge { path: Some("hello.png"), png: b"other", ..Default::default() });
        assert!(other.is_err());
        let (entry, bytes) = t.store.cartridge_png(a.checksum.as_deref().expect("checksum")).expect("get").expect("found");
        assert_eq!((entry.id, bytes.as_slice()), (a.id, png));
        assert_eq!(t.store.cartridge("hello.png").expect("get").map(|c| c.id), Some(named.id));
        assert_eq!(t.store.list_cartridges().expect("list").len(), 2);
        assert_eq!(t.raw().count("SELECT COUNT(*) FROM blobs"), 1);
    }

    fn goals(kind: Kind) {
        let t = TempStore::new(kind);
        let goal = t
            .store
            .create_goal(&NewGoal {
                goal: "match the photo".into(),
                priority: 7,
                kind: "image".into(),
                spec: Some(serde_json::json!({"target": "a.png"})),
            })
            .expect("create");
        assert_eq!((goal.kind.as_str(), goal.status.as_str()), ("image", "active"));
        let paused = t.store.update_goal(goal.id, &GoalUpdate { status: Some("paused".into()), ..Default::default() });
        assert_eq!(paused.expect("pause").status, "paused");
        assert!(t.store.active_goals().expect("active").is_empty());
        let done = t
            .store
            .update_goal(goal.id, &GoalUpdate { status: Some("done".into()), best: Some((3, 0.05)), ..Default::default() })
            .expect("done");
        assert!(done.completed && done.best_iteration == Some(3));
        assert!(t.store.update_goal(goal.id, &GoalUpdate { status: Some("x".into()), ..Default::default() }).is_err());
    }

    fn integrity_and_schema_version(kind: Kind) {
        let t = TempStore::new(kind);
        assert_eq!(t.store.integrity_check().expect("check"), Ok(()));
        assert_eq!(t.store.schema_version().expect("version"), gvpie_store::latest_version());
        t.raw().execute_batch("INSERT INTO schema_version (version, description) VALUES (999, 'future')").expect("insert");
        let err = t.try_open().expect_err("newer schema");
        assert!(matches!(err, gvpie_store::StoreError::NewerSchema { found: 999, .. }), "{err}");
        assert!(err.to_string().contains("newer gvpie"), "{err}");
    }
}

#[test]
fn postgres_urls_are_parsed_and_their_passwords_never_shown() {
    let location = gvpie_store::Location::parse("postgres://gv:s3cret@localhost:5433/gvpie").expect("a URL");
    assert!(matches!(location, gvpie_store::Location::Postgres(_)));
    assert_eq!(location.to_string(), "postgres://gv:***@localhost:5433/gvpie");
    assert!(!format!("{location:?}").contains("s3cret"));
    let query = gvpie_store::Location::parse("postgresql://gv@localhost/gvpie?password=s3cret&sslmode=disable");
    assert_eq!(query.expect("a URL").to_string(), "postgresql://gv@localhost/gvpie?password=***&sslmode=disable");
    let err = gvpie_store::Location::parse("postgres://gv:s3cret@localhost:notaport/gvpie").expect_err("bad port");
    assert!(err.to_string().contains("not a valid PostgreSQL URL"), "{err}");
    assert!(!err.to_string().contains("s3cret"), "{err}");
}
