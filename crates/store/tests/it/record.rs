//! Recording executions.

use gvpie_store::{NewExecution, ParentRef, Store, TextRef};

use crate::util::{Kind, TempStore, both_backends, hello_script, program, run_of};

both_backends! {
    fn iterations_are_unique_and_continue_after_reopen(kind: Kind) {
        let mut t = TempStore::new(kind);
        let script = hello_script(&t.store);
        let hello = program("hello");
        let first = t.store.record_cycle(&[run_of(&script, &hello, true), run_of(&script, &hello, false)], None);
        assert_eq!(first.expect("record").iterations, [1, 2]);
        t.reopen();
        let second = t.store.record_cycle(&[run_of(&script, &hello, true)], None).expect("record");
        assert_eq!((second.cycle, second.iterations), (2, vec![3]));
        let script = t.store.script(script.id).expect("get").expect("exists");
        assert_eq!((script.run_count, script.success_count, script.last_iteration), (3, 2, Some(3)));
    }

    fn infinite_map_is_append_only(kind: Kind) {
        let mut t = TempStore::new(kind);
        let script = hello_script(&t.store);
        t.store.record_cycle(&[run_of(&script, &program("hello"), true)], None).expect("record");
        let raw = t.raw();
        for sql in [
            "UPDATE executions SET success = 0",
            "DELETE FROM executions",
            "UPDATE infinite_map SET task_description = 'x'",
            "DELETE FROM infinite_map",
            "INSERT INTO infinite_map (iteration, task_description, timestamp) VALUES (9, 'x', 'now')",
            "DELETE FROM improvement_runs",
            "UPDATE improvement_runs SET success = 0",
        ] {
            let err = raw.execute_batch(sql).expect_err(sql);
            assert!(err.contains("append-only") || err.contains("written by gvpie"), "{sql}: {err}");
        }
        assert_eq!(raw.count("SELECT COUNT(*) FROM infinite_map"), 1);
    }

    fn a_failed_batch_writes_nothing(kind: Kind) {
        let mut t = TempStore::new(kind);
        let script = hello_script(&t.store);
        let mut bad = run_of(&script, &program("hello"), true);
        bad.parent = ParentRef::Pending(5);
        let err = t.store.record_cycle(&[run_of(&script, &program("hello"), true), bad], None).expect_err("bad parent");
        assert!(err.to_string().contains("later execution"), "{err}");
        assert_eq!(t.store.last_iteration().expect("query"), None);
        assert_eq!(t.store.script(script.id).expect("get").expect("exists").run_count, 0);
        // Caches learned nothing from the rolled back transaction.
        t.store.record_cycle(&[run_of(&script, &program("hello"), true)], None).expect("record");
        assert!(t.store.program_by_hash(&program("hello").hash).expect("query").is_some());
    }

    fn programs_texts_and_images_are_stored_once(kind: Kind) {
        let mut t = TempStore::new(kind);
        let script = hello_script(&t.store);
        let hello = program("hello");
        let batch: Vec<NewExecution> = (0..100).map(|_| run_of(&script, &hello, true)).collect();
        t.store.record_cycle(&batch, None).expect("record");
        let summary = t.store.summary().expect("summary");
        assert_eq!((summary.executions, summary.programs, summary.images, summary.images_kept), (100, 1, 1, 1));
        assert_eq!(t.raw().count("SELECT COUNT(*) FROM texts"), 2, "the source and the task description");
    }

    fn a_changed_program_continues_its_scripts_lineage(kind: Kind) {
        let mut t = TempStore::new(kind);
        let script = hello_script(&t.store);
        t.store.record_cycle(&[run_of(&script, &program("v1"), true)], None).expect("record");
        t.store.record_cycle(&[run_of(&script, &program("v1"), true)], None).expect("record");
        t.store.record_cycle(&[run_of(&script, &program("v2"), true)], None).expect("record");
        let entry = t.store.map_entry(3, false).expect("query").expect("exists");
        assert_eq!(entry.parent_iteration, Some(2));
        assert_eq!(t.store.map_entry(2, false).expect("query").expect("exists").parent_iteration, None);
    }

    fn statistics_per_script_and_opcode(kind: Kind) {
        let mut t = TempStore::new(kind);
        let script = hello_script(&t.store);
        let hello = program("hello");
        t.store.record_cycle(&[run_of(&script, &hello, true), run_of(&script, &hello, false)], None).expect("record");
        t.store.record_cycle(&[run_of(&script, &hello, true)], None).expect("record");
        let stats = t.store.stats(Some("script")).expect("stats");
        assert_eq!(stats.len(), 1);
        assert_eq!((stats[0].runs, stats[0].successes, stats[0].cycles_sum), (3, 2, 6));
        assert_eq!(stats[0].cycles_hist, [0, 0, 3], "2 cycles fall in bucket 2");
        let opcodes = t.store.stats(Some("opcode")).expect("stats");
        assert_eq!(opcodes.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(), ["HALT", "TXT"]);
        t.store.record_metrics(&[("cycle_count", 2.0, None)]).expect("metrics");
        assert_eq!(t.store.metrics(Some("cycle_count"), 10).expect("metrics")[0].value, 2.0);
    }

    fn bytes_per_execution_of_a_seen_program_are_small(kind: Kind) {
        let mut t = TempStore::new(kind);
        let script = hello_script(&t.store);
        let hello = program("hello");
        t.store.record_cycle(&[run_of(&script, &hello, true)], None).expect("warm up");
        t.store.checkpoint().expect("checkpoint");
        let before = t.store.used_bytes().expect("bytes");
        // PostgreSQL's rows carry a 24-byte header and its pages keep free space: a larger bound.
        let (n, bound) = match kind {
            Kind::Sqlite => (20_000, 200.0),
            Kind::Postgres => (5_000, 300.0),
        };
        for _ in 0..(n / 1000) {
            let mut batch: Vec<NewExecution> = (0..1000).map(|_| run_of(&script, &hello, true)).collect();
            for exec in &mut batch {
                exec.image.as_mut().expect("image").png = None;
            }
            t.store.record_cycle(&batch, None).expect("record");
        }
        t.store.checkpoint().expect("checkpoint");
        let per_execution = (t.store.used_bytes().expect("bytes") - before) as f64 / n as f64;
    assert!(per_execution <= bound, "{per_execution} bytes per execution");
    }

    fn parents_within_a_batch_and_extra_parents(kind: Kind) {
        let mut t = TempStore::new(kind);
        let a = NewExecution { task: Some(TextRef::new("a")), ..NewExecution::default() };
        let b = NewExecution { parent: ParentRef::Pending(0), ..NewExecution::default() };
        let c = NewExecution {
            parent: ParentRef::Pending(1),
            extra_parents: vec![ParentRef::Pending(0)],
            ..NewExecution::default()
        };
        let its = t.store.record_executions(&[a, b, c]).expect("record");
        assert_eq!(its, [1, 2, 3]);
        let lineage = t.store.lineage(3, 10).expect("lineage").expect("exists");
        let ancestors: Vec<(i64, u32)> = lineage.ancestors.iter().map(|n| (n.entry.iteration, n.depth)).collect();
        assert_eq!(ancestors, [(1, 1), (2, 1)]);
        let lineage = t.store.lineage(1, 10).expect("lineage").expect("exists");
        let descendants: Vec<(i64, u32)> = lineage.descendants.iter().map(|n| (n.entry.iteration, n.depth)).collect();
        assert_eq!(descendants, [(2, 1), (3, 1)]);
        let _: &Store = &t.store;
    }

    fn llm_proposals_are_written_with_the_cycle_and_append_only(kind: Kind) {
        use gvpie_store::{CycleExtras, NewGoal, NewProposal};
        let mut t = TempStore::new(kind);
        let script = hello_script(&t.store);
        let goal = NewGoal { goal: "faster".into(), priority: 5, kind: "optimize".into(), spec: None };
        let goal_id = t.store.create_goal(&goal).expect("goal").id;
        let extras = CycleExtras {
            proposals: vec![
                NewProposal {
                    goal_id,
                    generator: "llm:m".into(),
                    outcome: "rejected".into(),
                    reason: Some("no program".into()),
                    source: Some("x".repeat(gvpie_store::MAX_PROPOSAL_SOURCE + 10)),
                    ..NewProposal::default()
                },
                NewProposal {
                    goal_id,
                    generator: "llm:m".into(),
                    outcome: "adopted".into(),
                    source: Some("HALT\n".into()),
                    score: Some(1.0),
                    execution: ParentRef::Pending(0),
                    ..NewProposal::default()
                },
            ],
            ..CycleExtras::default()
        };
        assert!(!extras.is_empty());
        let record = t.store.record_cycle_with(&[run_of(&script, &program("hello"), true)], None, &extras).expect("record");
        let rows = t.store.llm_proposals(goal_id, 10).expect("read");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].outcome.as_str(), rows[0].iteration, rows[0].score),
            ("adopted", Some(record.iterations[0]), Some(1.0))
        );
        assert_eq!(rows[0].source.as_deref(), Some("HALT\n"));
        assert_eq!(
            (rows[1].outcome.as_str(), rows[1].reason.as_deref(), rows[1].iteration),
            ("rejected", Some("no program"), None)
        );
        assert_eq!(rows[1].source.as_ref().map(String::len), Some(gvpie_store::MAX_PROPOSAL_SOURCE));
        assert_eq!(t.store.llm_proposals(goal_id, 1).expect("read").len(), 1);
        assert!(t.store.llm_proposals(goal_id + 1, 10).expect("read").is_empty());

        // An unknown outcome fails the whole cycle.
        let bad = CycleExtras {
            proposals: vec![NewProposal {
                goal_id,
                generator: "llm:m".into(),
                outcome: "maybe".into(),
                ..NewProposal::default()
            }],
            ..CycleExtras::default()
        };
        let err = t.store.record_cycle_with(&[run_of(&script, &program("hello"), true)], None, &bad).expect_err("bad");
        assert!(err.to_string().contains("unknown proposal outcome 'maybe'"), "{err}");
        assert_eq!(t.store.last_iteration().expect("query"), Some(record.iterations[0]));

        let raw = t.raw();
        for sql in ["UPDATE llm_proposals SET outcome = 'adopted'", "DELETE FROM llm_proposals"] {
            let err = raw.execute_batch(sql).expect_err(sql);
            assert!(err.contains("llm_proposals is append-only"), "{sql}: {err}");
        }
        assert_eq!(raw.count("SELECT COUNT(*) FROM llm_proposals"), 2);
    }

    fn lineage_walks_generations_nearest_first(kind: Kind) {
        // 1 → 2 → 3 → 4, and 5 with parents 4 and (crossover) 2; 6 a child of 2.
        let mut t = TempStore::new(kind);
        let run = |parent: ParentRef, extra: Vec<ParentRef>| NewExecution { parent, extra_parents: extra, ..NewExecution::default() };
        let its = t
            .store
            .record_executions(&[
                run(ParentRef::None, vec![]),
                run(ParentRef::Pending(0), vec![]),
                run(ParentRef::Pending(1), vec![]),
                run(ParentRef::Pending(2), vec![]),
                run(ParentRef::Pending(3), vec![ParentRef::Pending(1)]),
                run(ParentRef::Pending(1), vec![]),
            ])
            .expect("record");
        let side = |nodes: &[gvpie_store::LineageNode]| -> Vec<(i64, u32)> {
            nodes.iter().map(|n| (n.entry.iteration - its[0] + 1, n.depth)).collect()
        };
        let lineage = t.store.lineage(its[4], 10).expect("lineage").expect("exists");
        assert_eq!(side(&lineage.ancestors), [(2, 1), (4, 1), (1, 2), (3, 2)]);
        assert_eq!(side(&t.store.lineage(its[4], 1).expect("lineage").expect("exists").ancestors), [(2, 1), (4, 1)]);
        let lineage = t.store.lineage(its[0], 10).expect("lineage").expect("exists");
        assert_eq!(side(&lineage.descendants), [(2, 1), (3, 2), (5, 2), (6, 2), (4, 3)]);
        assert!(lineage.ancestors.is_empty());
    }

    fn a_png_arriving_later_in_a_batch_is_kept(kind: Kind) {
        let mut t = TempStore::new(kind);
        let script = hello_script(&t.store);
        let hello = program("hello");
        let mut batch: Vec<NewExecution> = (0..3).map(|_| run_of(&script, &hello, true)).collect();
        batch[0].image.as_mut().expect("image").png = None;
        batch[2].image.as_mut().expect("image").png = None;
        let its = t.store.record_cycle(&batch, None).expect("record").iterations;
        let image = t.store.image_of_iteration(its[2]).expect("query").expect("stored");
        assert_eq!((image.png.as_deref(), image.first_iteration), (Some(&b"png bytes"[..]), Some(its[0])));
        assert_eq!(t.raw().count("SELECT COUNT(*) FROM images"), 1);
    }
}
