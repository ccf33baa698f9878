//! Left alone, it grows: self-set goals, adopted successors with lineage, and an archive of distinct pictures
//! that keeps growing, bounded by cycles and steps (never by wall time).

use std::sync::atomic::AtomicBool;

use gvpie_daemon::{Daemon, GoalGenerator};

use crate::util::Setup;

/// Runs `cycles` one-cycle daemons that set their own goals, `steps` steps per goal and cycle.
fn run_alone(setup: &Setup, cycles: u64, steps: u64) {
    for _ in 0..cycles {
        let mut config = setup.config.clone();
        config.max_cycles = Some(1);
        // The cycle's deadline is an hour away: the step count alone bounds the work.
        config.interval = std::time::Duration::from_secs(3600);
        let generator = GoalGenerator::new().with_self_set_goals().with_max_steps(steps);
        let mut daemon =
            Daemon::open(config, gvpie_exec::Engine::cpu_only()).expect("open").with_generator(Box::new(generator));
        daemon.run(&AtomicBool::new(false)).expect("run");
    }
}

#[test]
fn left_alone_it_sets_goals_adopts_successors_and_grows_an_archive() {
    let setup = Setup::new();
    gvpie_daemon::seed_examples(&setup.store()).expect("seed");
    run_alone(&setup, 3, 4);
    let store = setup.store();
    let early = store.growth().expect("growth");
    run_alone(&setup, 4, 4);
    let growth = store.growth().expect("growth");

    // Self-set goals, each once: an optimize goal per script that ran, and an explore goal.
    let goals = store.list_goals().expect("goals");
    let mut origins: Vec<&str> = goals.iter().filter_map(|g| g.origin.as_deref()).collect();
    origins.sort_unstable();
    assert_eq!(origins, ["explore:1", "optimize:hello_gpu", "optimize:test_rect"]);
    assert_eq!(growth.self_set_goals, 3);

    // Both seed scripts end without their HALT (the end of a program halts for free): the known optimum, so
    // their goals are done, and their successors are adopted in their place, the originals kept.
    for name in ["hello_gpu", "test_rect"] {
        let goal = goals.iter().find(|g| g.origin.as_deref() == Some(&format!("optimize:{name}"))).expect("goal");
        assert_eq!((goal.status.as_str(), goal.best_score), ("done", Some(1.0)), "{name}");
        let original = store.script_by_name(name).expect("read").expect("original");
        let successor = store.script_by_name(&format!("{name}.optimized")).expect("read").expect("successor");
        assert!(!original.enabled && successor.enabled, "{name}: the successor runs in the original's place");
        assert_eq!(successor.parent_script_id, Some(original.id));
        let iteration = goal.best_iteration.expect("best");
        let lineage = store.lineage(iteration, 100).expect("lineage").expect("entry");
        assert!(!lineage.ancestors.is_empty(), "{name}: the adopted program names its parent");
        let report = gvpie_daemon::replay(&store, &gvpie_exec::Engine::cpu_only(), iteration, None).expect("replay");
        assert!(report.same, "{name}: {:?}", report.differences);
        assert!(store.cartridge(&format!("adopted/{name}-{iteration}")).expect("read").is_some());
    }
    assert_eq!(growth.adoptions, 2);
    let adoptions = store.adoptions(10).expect("adoptions");
    assert_eq!(adoptions.len(), 2);
    assert!(adoptions.iter().all(|a| a.original_cycles == 2 && a.cycles == 1 && a.iteration.is_some()));
    assert_eq!(growth.cycles_saved_per_run, 2);

    // The archive keeps growing in kinds of pictures, every entry an execution with its parent.
    assert!(early.archive_pictures >= 3, "{early:?}");
    assert!(growth.archive_kinds >= early.archive_kinds && growth.archive_kinds >= 3, "{early:?} -> {growth:?}");
    assert!(growth.archive_pictures > early.archive_pictures, "{early:?} -> {growth:?}");
    assert!(growth.with_lineage >= 10, "{growth:?}");
    let pictures = store.archive_pictures(1000).expect("archive");
    assert_eq!(pictures.len() as i64, growth.archive_pictures);
    let children = pictures.iter().filter(|p| p.generator != "explore:seed").collect::<Vec<_>>();
    assert!(!children.is_empty());
    for picture in children {
        assert!(picture.parent_iteration.is_some(), "{picture:?}");
        assert!(store.image_of_iteration(picture.iteration).expect("read").and_then(|i| i.png).is_some());
    }
}

#[test]
fn two_agents_proposing_the_same_goals_set_each_once() {
    let setup = Setup::new();
    gvpie_daemon::seed_examples(&setup.store()).expect("seed");
    // One cycle: the scripts have run, so both agents see the same two scripts without a goal.
    run_alone(&setup, 1, 1);
    let before = setup.store().list_goals().expect("goals").len();
    let mut store = setup.store();
    let first = gvpie_daemon::curator::self_set_goals(&store, &mut Default::default()).expect("curator");
    let second = gvpie_daemon::curator::self_set_goals(&store, &mut Default::default()).expect("curator");
    let mut origins: Vec<&str> = first.iter().map(|g| g.origin.as_str()).collect();
    origins.sort_unstable();
    assert_eq!(origins, ["optimize:hello_gpu", "optimize:test_rect"]);
    for proposals in [first, second] {
        let extras = gvpie_store::CycleExtras { self_set_goals: proposals, ..Default::default() };
        store.record_cycle_with(&[], None, &extras).expect("commit");
    }
    let goals = store.list_goals().expect("goals");
    assert_eq!(goals.len(), before + 2, "one goal per origin");
}
