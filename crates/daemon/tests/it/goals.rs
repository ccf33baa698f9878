//! The goal engine: image and optimize goals run by the daemon, budgets and stop rules, and
//! resuming from the database after a restart or a rolled-back cycle.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use gvpie_daemon::{Daemon, GenerateContext, Generator, GoalGenerator};
use gvpie_evolve::{CascadeEffort, Effort, ImageGoalConfig, ImageSearch, ShapeKinds, Strategy};
use gvpie_evolve::{GoalProgress, ImageGoalSpec, OptimizeGoalSpec, StopRules as GoalBudget};
use gvpie_raster::{Canvas, Rgba};
use gvpie_store::{MapQuery, NewGoal, NewImage, Store};

use crate::util::Setup;

const OPTIMIZE_SOURCE: &str = "CLS 0 0 0\nRECT 0 0 4 4\nSET y 0\nrow:\nSET x 0\ncol:\nMUL b y 8\nCOLOR 0 0 b\n\
PSET x y\nLOOP x 32 col\nLOOP y 16 row\nHALT\n";

/// A 24×16 target: two coloured rectangles on grey.
fn image_target() -> Canvas {
    let mut target = Canvas::new(24, 16).expect("canvas");
    target.clear(Rgba::new(90, 90, 90, 255));
    target.fill_rect(2, 2, 10, 6, Rgba::new(250, 20, 20, 255));
    target.fill_rect(12, 8, 9, 7, Rgba::new(20, 40, 240, 255));
    target
}

/// An image goal towards [`image_target`] as stored before strategies existed (no `strategy` in its spec).
fn add_image_goal(store: &mut Store, shapes: usize, budget: GoalBudget) -> i64 {
    add_image_goal_with(store, shapes, budget, None)
}

fn add_image_goal_with(store: &mut Store, shapes: usize, budget: GoalBudget, strategy: Option<&str>) -> i64 {
    let target = image_target();
    let hash = gvpie_store::image_hash(24, 16, &target.to_rgba8());
    let png = gvpie_cart::encode_png(&target, 1);
    store.put_image(&NewImage { hash, width: 24, height: 16, png: Some(png) }).expect("target");
    let spec = ImageGoalSpec {
        target: hash.to_hex(),
        width: 24,
        height: 16,
        shapes,
        seed: 7,
        mode: ShapeKinds::Triangles,
        alpha: 128,
        restarts: Some(2),
        random_tries: Some(40),
        max_failures: Some(20),
        threads: 1,
        strategy: None,
        effort: None,
        stop: budget,
        progress: GoalProgress::default(),
        // Stored as before refinement existed: the goal never refines.
        refine: None,
    };
    let mut spec = serde_json::to_value(&spec).expect("json");
    // Written as JSON, the way a stored row holds it: an unknown strategy is the daemon's to refuse.
    if let Some(strategy) = strategy {
        spec["strategy"] = serde_json::json!(strategy);
    }
    let goal =
        NewGoal { goal: "approximate two rectangles".into(), priority: 5, kind: "image".into(), spec: Some(spec) };
    store.create_goal(&goal).expect("goal").id
}

fn add_optimize_goal(store: &Store, evaluations: u64) -> i64 {
    let spec = OptimizeGoalSpec {
        script: "gradient".into(),
        source: OPTIMIZE_SOURCE.into(),
        width: 32,
        height: 16,
        cycle_budget: gvpie_pxl::DEFAULT_BUDGET,
        seed: 5,
        evolve: gvpie_evolve::EvolveSettings::off(),
        stop: GoalBudget { evaluations: Some(evaluations), ..GoalBudget::default() },
        progress: GoalProgress::default(),
        state: None,
    };
    let goal = NewGoal {
        goal: "gradient in fewer cycles".into(),
        priority: 5,
        kind: "optimize".into(),
        spec: Some(serde_json::to_value(&spec).expect("json")),
    };
    store.create_goal(&goal).expect("goal").id
}

/// A one-cycle daemon configuration whose cycle deadline (the interval, at least 500 ms) is an hour away, so
/// that `with_max_steps` alone bounds a goal's slice however busy the machine is: tests assert results, not
/// timings. A one-cycle daemon never sleeps the interval.
fn one_cycle_config(setup: &Setup) -> gvpie_daemon::DaemonConfig {
    let mut config = setup.config.clone();
    config.max_cycles = Some(1);
    config.interval = std::time::Duration::from_secs(3600);
    config
}

/// Runs `cycles` cycles of the goal engine (exactly `steps` steps per unfinished goal and cycle), one daemon per
/// cycle (resuming from the database, which gives the uninterrupted result).
fn run_goals(setup: &Setup, cycles: u64, steps: u64) {
    for _ in 0..cycles {
        let mut daemon = Daemon::open(one_cycle_config(setup), gvpie_exec::Engine::cpu_only())
            .expect("open")
            .with_generator(Box::new(GoalGenerator::new().with_max_steps(steps)));
        daemon.run(&AtomicBool::new(false)).expect("run");
    }
}

/// Runs one cycle whose generator does its work and then asks the daemon to stop: the cycle is rolled back.
fn run_abandoned_cycle(setup: &Setup, steps: u64) {
    struct StopAfter(GoalGenerator, Arc<AtomicBool>);
    impl Generator for StopAfter {
        fn name(&self) -> &str {
            "stop-after"
        }
        fn generate(&mut self, ctx: &mut GenerateContext<'_>) -> anyhow::Result<()> {
            self.0.generate(ctx)?;
            assert!(!ctx.extras().goals.is_empty());
            self.1.store(true, Ordering::Relaxed);
            Ok(())
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut daemon = Daemon::open(one_cycle_config(setup), gvpie_exec::Engine::cpu_only())
        .expect("open")
        .with_generator(Box::new(StopAfter(GoalGenerator::new().with_max_steps(steps), stop.clone())));
    daemon.run(&stop).expect("run");
}

/// (iteration, parent, generator, score, code) of one kept candidate.
type Kept = (i64, Option<i64>, Option<String>, Option<f64>, Option<String>);

/// A goal's kept candidates, oldest first.
fn history(store: &Store, goal_id: i64) -> Vec<Kept> {
    let query = MapQuery { goal_id: Some(goal_id), limit: 1000, include_code: true, ..MapQuery::default() };
    let mut entries = store.map_page(&query).expect("page").entries;
    entries.reverse();
    entries.into_iter().map(|e| (e.iteration, e.parent_iteration, e.generator, e.score, e.code)).collect()
}

#[test]
fn an_image_goal_resumes_after_restarts_and_rollbacks_to_the_uninterrupted_result() {
    resumes_to_the_uninterrupted_result(None);
}

#[test]
fn a_cascade_image_goal_resumes_after_restarts_and_rollbacks_to_the_uninterrupted_result() {
    resumes_to_the_uninterrupted_result(Some("cascade"));
}

fn resumes_to_the_uninterrupted_result(strategy: Option<&str>) {
    let straight = Setup::new();
    let goal = add_image_goal_with(&mut straight.store(), 6, GoalBudget::default(), strategy);
    run_goals(&straight, 4, 2);
    let store = straight.store();
    let done = store.goal(goal).expect("read").expect("goal");
    assert_eq!(done.status, "done");
    let expected = history(&store, goal);
    assert_eq!(expected.len(), 6);
    // A chain: each kept candidate's parent is the previous one, the first has none.
    for (index, entry) in expected.iter().enumerate() {
        assert_eq!(entry.1, if index == 0 { None } else { Some(expected[index - 1].0) });
        assert_eq!(entry.2.as_deref(), Some("image:shape"));
    }
    assert_eq!(done.best_iteration, Some(expected[5].0));
    assert_eq!(done.best_score, expected[5].3);
    let spec: ImageGoalSpec = serde_json::from_value(done.spec.clone().expect("spec")).expect("spec");
    assert_eq!((spec.progress.steps, spec.progress.kept), (6, 6));
    assert_eq!(spec.progress.stop_reason.as_deref(), Some("6 shapes placed"));
    // The best program of each cycle is a cartridge; the last one is the final program.
    let cartridge = format!("goal-{goal}/best-{}", expected[5].0);
    let (_, png) = store.cartridge_png(&cartridge).expect("read").expect("cartridge");
    assert_eq!(Some(gvpie_cart::unpack(&png).expect("cart").source), expected[5].4);

    // The same goal, interrupted: one cycle, a restart, a cycle rolled back by a stop, restarts.
    let interrupted = Setup::new();
    let goal = add_image_goal_with(&mut interrupted.store(), 6, GoalBudget::default(), strategy);
    run_goals(&interrupted, 1, 2);
    assert_eq!(history(&interrupted.store(), goal).len(), 2);
    run_abandoned_cycle(&interrupted, 2);
    assert_eq!(history(&interrupted.store(), goal).len(), 2);
    run_goals(&interrupted, 1, 2);
    run_goals(&interrupted, 3, 2);
    let resumed = history(&interrupted.store(), goal);
    let strip = |h: &[Kept]| h.iter().map(|e| (e.3, e.4.clone())).collect::<Vec<_>>();
    // Exactly the same programs and scores, step for step.
    assert_eq!(strip(&resumed), strip(&expected));
    assert_eq!(interrupted.store().goal(goal).expect("read").expect("goal").status, "done");
}

/// The search an image goal of [`add_image_goal_with`] runs, done in process.
fn searched_program(shapes: usize, strategy: Strategy) -> String {
    let config = ImageGoalConfig {
        n_shapes: shapes,
        kinds: ShapeKinds::Triangles,
        alpha: 128,
        seed: 7,
        n_threads: 1,
        effort: Effort { restarts: 2, random_tries: 40, max_failures: 20, polish: Effort::DEFAULT.polish },
        strategy,
        cascade: CascadeEffort::DEFAULT,
        ..ImageGoalConfig::default()
    };
    let mut search = ImageSearch::new(image_target(), config).expect("search");
    search.run();
    search.program()
}

#[test]
fn image_goals_search_with_their_strategy_and_old_goals_stay_fast() {
    // A spec stored before strategies existed has no such field, and reads back as none.
    let setup = Setup::new();
    let old = add_image_goal(&mut setup.store(), 3, GoalBudget::default());
    let stored = setup.store().goal(old).expect("read").expect("goal").spec.expect("spec");
    assert!(stored.get("strategy").is_none(), "{stored}");
    let spec: ImageGoalSpec = serde_json::from_value(stored).expect("spec");
    assert_eq!(spec.strategy, None);
    let cascade = add_image_goal_with(&mut setup.store(), 3, GoalBudget::default(), Some("cascade"));
    let plain = add_image_goal_with(&mut setup.store(), 3, GoalBudget::default(), Some("plain"));
    // Two cycles of two shapes each: bounded by steps, not by the cycle's deadline (see `one_cycle_config`).
    let (sink, events) = crate::util::recorder();
    for _ in 0..2 {
        let mut daemon = Daemon::open(one_cycle_config(&setup), gvpie_exec::Engine::cpu_only())
            .expect("open")
            .with_events(sink.clone())
            .with_generator(Box::new(GoalGenerator::new().with_max_steps(2)));
        daemon.run(&AtomicBool::new(false)).expect("run");
    }
    let store = setup.store();
    let last_code = |goal: i64| history(&store, goal).last().and_then(|e| e.4.clone()).expect("a kept program");
    let fast_program = searched_program(3, Strategy::Fast);
    let cascade_program = searched_program(3, Strategy::Cascade);
    assert_ne!(fast_program, cascade_program);
    assert_eq!(last_code(old), fast_program);
    assert_eq!(last_code(cascade), cascade_program);
    assert_eq!(last_code(plain), searched_program(3, Strategy::Plain));
    for goal in [old, cascade, plain] {
        assert_eq!(store.goal(goal).expect("read").expect("goal").status, "done");
    }
    // The console says where the cascade scored; fast goals' lines are as before.
    let notes: Vec<String> = events
        .lock()
        .expect("events")
        .iter()
        .filter_map(|event| match event {
            gvpie_daemon::DaemonEvent::Generated { notes, .. } => Some(notes.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with(&format!("goal {cascade} image: 2/3 shapes")) && n.contains(", cascade on cpu"))
    );
    assert!(notes.iter().any(|n| n.starts_with(&format!("goal {plain} image: 2/3 shapes")) && n.contains(", plain")));
    assert!(notes.iter().filter(|n| n.starts_with(&format!("goal {old} image"))).all(|n| !n.contains("cascade")));
}

#[test]
fn an_image_goal_with_an_unknown_strategy_ends_with_the_reason() {
    let setup = Setup::new();
    let goal = add_image_goal_with(&mut setup.store(), 3, GoalBudget::default(), Some("greedy"));
    run_goals(&setup, 1, 1);
    let done = setup.store().goal(goal).expect("read").expect("goal");
    assert_eq!(done.status, "done");
    let error = done.spec.as_ref().and_then(|s| s["error"].as_str().map(str::to_string));
    assert_eq!(
        error.as_deref(),
        Some("bad image goal spec: unknown strategy 'greedy' (expected fast, cascade or plain)")
    );
}

#[test]
fn new_image_goals_use_the_cascade_and_refuse_unknown_strategies() {
    use gvpie_evolve::{EffortPreset, GoalOptions, ImageGoalParams, Strategy};
    let options = GoalOptions::default();
    let mut params = ImageGoalParams { shapes: 3, ..Default::default() };
    let spec = ImageGoalSpec::new("ab".into(), 24, 16, &params, &options).expect("spec");
    assert_eq!((spec.strategy, spec.effort), (Some(Strategy::Cascade), None));
    params.effort = Some(EffortPreset::Gpu);
    let spec = ImageGoalSpec::new("ab".into(), 24, 16, &params, &options).expect("spec");
    assert_eq!(spec.draft("target", &options).spec["effort"], serde_json::json!("gpu"));
    let refused =
        |params: &ImageGoalParams| ImageGoalSpec::new("ab".into(), 24, 16, params, &options).expect_err("refused");
    assert_eq!("greedy".parse::<Strategy>(), Err("unknown strategy 'greedy' (expected fast, cascade or plain)".into()));
    assert_eq!("max".parse::<EffortPreset>(), Err("unknown effort 'max' (expected cpu or gpu)".into()));
    let bad = ImageGoalParams { strategy: Strategy::Fast, ..params.clone() };
    assert_eq!(refused(&bad), "effort applies to the cascade only, not to strategy 'fast'");
    assert_eq!(refused(&ImageGoalParams { shapes: 0, ..params.clone() }), "shapes must be at least 1");
}

#[test]
fn an_optimize_goal_resumes_exactly_and_learns_operator_statistics() {
    let straight = Setup::new();
    let goal = add_optimize_goal(&straight.store(), 300);
    run_goals(&straight, 4, 100);
    let store = straight.store();
    let done = store.goal(goal).expect("read").expect("goal");
    assert_eq!(done.status, "done");
    let spec: OptimizeGoalSpec = serde_json::from_value(done.spec.clone().expect("spec")).expect("spec");
    assert_eq!(spec.progress.evaluations, 300);
    assert_eq!(spec.progress.stop_reason.as_deref(), Some("evaluation budget 300 spent"));
    let expected = history(&store, goal);
    // The original is the root; every later entry is faster than its parent.
    assert_eq!(expected[0].2.as_deref(), Some("original"));
    assert_eq!(expected[0].3, Some(2084.0));
    for pair in expected.windows(2) {
        assert_eq!(pair[1].1, Some(pair[0].0));
        assert!(pair[1].3 < pair[0].3, "{pair:?}");
        assert!(pair[1].2.as_deref().is_some_and(|g| g.starts_with("mutation:")));
    }
    assert_eq!(done.best_score, expected.last().and_then(|e| e.3));
    let arms = store.stats(Some(gvpie_store::ARM_SCOPE)).expect("stats");
    assert!(arms.iter().all(|s| s.key.starts_with("optimize:")), "{arms:?}");
    let tries: i64 = arms.iter().map(|s| s.runs).sum();
    let saved: u64 = spec.state.as_ref().expect("state").arms.iter().map(|a| a.0).sum();
    assert_eq!(tries as u64, saved);

    let interrupted = Setup::new();
    let goal = add_optimize_goal(&interrupted.store(), 300);
    run_goals(&interrupted, 1, 100);
    run_abandoned_cycle(&interrupted, 100);
    run_goals(&interrupted, 1, 100);
    run_goals(&interrupted, 3, 100);
    let store = interrupted.store();
    let resumed = store.goal(goal).expect("read").expect("goal");
    let resumed_spec: OptimizeGoalSpec = serde_json::from_value(resumed.spec.clone().expect("spec")).expect("spec");
    assert_eq!(resumed_spec.state, spec.state);
    assert_eq!(resumed.best_score, done.best_score);
    let codes = |h: &[Kept]| h.iter().map(|e| (e.2.clone(), e.3, e.4.clone())).collect::<Vec<_>>();
    assert_eq!(codes(&history(&store, goal)), codes(&expected));
}

#[test]
fn stop_rules_end_a_goal_with_the_reason() {
    let setup = Setup::new();
    let patient =
        add_image_goal(&mut setup.store(), 50, GoalBudget { target_score: Some(0.9), ..GoalBudget::default() });
    let evaluations =
        add_image_goal(&mut setup.store(), 50, GoalBudget { evaluations: Some(1), ..GoalBudget::default() });
    run_goals(&setup, 2, 5);
    let store = setup.store();
    // The background alone is within 0.9 of the target: done before any step. One step spends 1 evaluation.
    for (id, reason, steps) in [(patient, "target score 0.9 reached", 0), (evaluations, "evaluation budget 1 spent", 1)]
    {
        let goal = store.goal(id).expect("read").expect("goal");
        assert_eq!(goal.status, "done");
        let spec: ImageGoalSpec = serde_json::from_value(goal.spec.expect("spec")).expect("spec");
        assert!(spec.progress.stop_reason.as_deref().is_some_and(|r| r.starts_with(reason)), "{spec:?}");
        assert_eq!(spec.progress.steps, steps);
        assert_eq!(history(&store, id).len(), steps as usize);
    }
    // A paused goal is left alone.
    let paused = add_image_goal(&mut setup.store(), 5, GoalBudget::default());
    store
        .update_goal(paused, &gvpie_store::GoalUpdate { status: Some("paused".into()), ..Default::default() })
        .expect("pause");
    run_goals(&setup, 1, 5);
    assert!(history(&setup.store(), paused).is_empty());
}

fn add_database_goal(store: &Store, evaluations: u64) -> i64 {
    let spec = OptimizeGoalSpec {
        script: "gradient".into(),
        source: OPTIMIZE_SOURCE.into(),
        width: 32,
        height: 16,
        cycle_budget: gvpie_pxl::DEFAULT_BUDGET,
        seed: 3,
        evolve: gvpie_evolve::EvolveSettings { every: 2, children: 8, islands: 2 },
        stop: GoalBudget { evaluations: Some(evaluations), ..GoalBudget::default() },
        progress: GoalProgress::default(),
        state: None,
    };
    let goal = NewGoal {
        goal: "gradient through the program database".into(),
        priority: 5,
        kind: "optimize".into(),
        spec: Some(serde_json::to_value(&spec).expect("json")),
    };
    store.create_goal(&goal).expect("goal").id
}

fn add_original_script(store: &Store) -> i64 {
    let new = gvpie_store::NewScript {
        name: "gradient".into(),
        lang: "pixel".into(),
        purpose: Some("the original".into()),
        code: OPTIMIZE_SOURCE.into(),
        enabled: true,
        parent_script_id: None,
    };
    store.create_script(&new).expect("script").id
}

#[test]
fn an_optimize_goal_improves_through_the_program_database_and_resumes_exactly() {
    let straight = Setup::new();
    let original = add_original_script(&straight.store());
    let goal = add_database_goal(&straight.store(), 200);
    run_goals(&straight, 4, 20);
    let store = straight.store();
    let done = store.goal(goal).expect("read").expect("goal");
    assert_eq!(done.status, "done");
    let spec: OptimizeGoalSpec = serde_json::from_value(done.spec.clone().expect("spec")).expect("spec");
    let state = spec.state.clone().expect("state");
    let evolution = state.evolution.as_ref().expect("the program database is in the checkpoint");
    assert!(evolution.database().generation() > 0);
    let expected = history(&store, goal);
    assert_eq!(expected[0].2.as_deref(), Some("original"));
    for pair in expected.windows(2) {
        assert_eq!(pair[1].1, Some(pair[0].0));
        assert!(pair[1].3 < pair[0].3, "{pair:?}");
    }
    assert!(
        expected.iter().any(|e| e.2.as_deref().is_some_and(|g| g.starts_with("evolve:"))),
        "no improvement through the database: {:?}",
        expected.iter().map(|e| (&e.2, e.3)).collect::<Vec<_>>()
    );
    // The database's best is the goal's best, re-checked on the CPU: the same pixels in fewer cycles.
    let best = expected.last().expect("best");
    assert_eq!(done.best_score, best.3);
    assert!(best.3 < Some(2084.0));
    assert!(-evolution.best().score <= best.3.expect("score"));
    // The bandit statistics of the database's operators are in the stats table.
    let arms = store.stats(Some(gvpie_store::ARM_SCOPE)).expect("stats");
    let evolve_tries: i64 = arms.iter().filter(|s| s.key.starts_with("evolve:")).map(|s| s.runs).sum();
    let saved: u64 = evolution.operator_stats().iter().map(|a| a.tries).sum();
    assert_eq!(evolve_tries as u64, saved);
    // The best program is kept beside the original, disabled, never over it.
    let optimized = store.script_by_name("gradient.optimized").expect("read").expect("optimized script");
    assert!(!optimized.enabled);
    assert_eq!(optimized.parent_script_id, Some(original));
    assert_eq!(optimized.code, best.4);
    assert_eq!(optimized.purpose.as_deref(), Some(format!("optimized by goal {goal} from gradient").as_str()));
    assert_eq!(store.script(original).expect("read").expect("original").code.as_deref(), Some(OPTIMIZE_SOURCE));

    // Interrupted: a cycle, a rolled-back cycle, restarts: the same programs, scores and checkpoint.
    let interrupted = Setup::new();
    add_original_script(&interrupted.store());
    let goal = add_database_goal(&interrupted.store(), 200);
    run_goals(&interrupted, 1, 20);
    run_abandoned_cycle(&interrupted, 20);
    run_goals(&interrupted, 1, 20);
    run_goals(&interrupted, 3, 20);
    let store = interrupted.store();
    let resumed = store.goal(goal).expect("read").expect("goal");
    let resumed_spec: OptimizeGoalSpec = serde_json::from_value(resumed.spec.clone().expect("spec")).expect("spec");
    assert_eq!(resumed_spec.state, spec.state);
    assert_eq!(resumed.best_score, done.best_score);
    let codes = |h: &[Kept]| h.iter().map(|e| (e.2.clone(), e.3, e.4.clone())).collect::<Vec<_>>();
    assert_eq!(codes(&history(&store, goal)), codes(&expected));
    let resumed_script = store.script_by_name("gradient.optimized").expect("read").expect("optimized script");
    assert_eq!(resumed_script.code, optimized.code);
}

/// An optimize goal whose program is no script (a described picture, `gvpie goals add describe`), with a name far
/// longer than a script name may be: it runs, improves and finishes, its best kept in the map only.
#[test]
fn an_optimize_goal_without_a_script_keeps_its_best_in_the_map() {
    let setup = Setup::new();
    let store = setup.store();
    let description = format!("describe: {}", "a red circle above a blue square ".repeat(12));
    let spec = OptimizeGoalSpec {
        script: description.clone(),
        source: OPTIMIZE_SOURCE.into(),
        width: 32,
        height: 16,
        cycle_budget: gvpie_pxl::DEFAULT_BUDGET,
        seed: 5,
        evolve: gvpie_evolve::EvolveSettings::off(),
        stop: GoalBudget { evaluations: Some(100), ..GoalBudget::default() },
        progress: GoalProgress::default(),
        state: None,
    };
    let goal = NewGoal {
        goal: description.clone(),
        priority: 5,
        kind: "optimize".into(),
        spec: Some(serde_json::to_value(&spec).expect("json")),
    };
    let id = store.create_goal(&goal).expect("goal").id;
    run_goals(&setup, 2, 100);
    let done = store.goal(id).expect("read").expect("goal");
    assert_eq!(done.status, "done");
    let texture = gvpie_pxl::compile(OPTIMIZE_SOURCE).expect("compile");
    let config = gvpie_pxl::Config { width: 32, height: 16, ..gvpie_pxl::Config::default() };
    let original = gvpie_pxl::run(&texture, &config).expect("run").cycles as f64;
    let best = done.best_score.expect("a best");
    assert!(best < original, "{best} vs {original}");
    assert!(store.list_scripts().expect("scripts").is_empty(), "no script row is made for it");
}

#[test]
fn an_image_goal_that_refines_records_image_refine_and_resumes_to_the_uninterrupted_result() {
    // A goal whose spec asks for refinement (every 2 shapes, short refinements): the bandit's `image:refine` arm
    // runs between shapes and once at the end, each kept refinement an execution of its own.
    let add = |setup: &Setup| {
        let target = image_target();
        let hash = gvpie_store::image_hash(24, 16, &target.to_rgba8());
        let png = gvpie_cart::encode_png(&target, 1);
        setup.store().put_image(&NewImage { hash, width: 24, height: 16, png: Some(png) }).expect("target");
        let spec = serde_json::json!({
            "target": hash.to_hex(), "width": 24, "height": 16, "shapes": 5, "seed": 7, "strategy": "fast",
            "restarts": 2, "random_tries": 40, "max_failures": 20,
            "refine": {"every": 2, "steps": 10, "final_steps": 20},
        });
        let goal = NewGoal { goal: "refined rectangles".into(), priority: 5, kind: "image".into(), spec: Some(spec) };
        setup.store().create_goal(&goal).expect("goal").id
    };
    let straight = Setup::new();
    let goal = add(&straight);
    run_goals(&straight, 12, 2);
    let store = straight.store();
    assert_eq!(store.goal(goal).expect("read").expect("goal").status, "done");
    let expected = history(&store, goal);
    let generators: Vec<&str> = expected.iter().filter_map(|e| e.2.as_deref()).collect();
    assert_eq!(generators.iter().filter(|g| **g == "image:shape").count(), 5, "{generators:?}");
    assert!(generators.contains(&"image:refine"), "{generators:?}");
    // Each kept program beats its parent, the one before it.
    assert!(expected.windows(2).all(|w| w[1].3 < w[0].3 && w[1].1 == Some(w[0].0)), "{expected:?}");
    let arms = store.stats(Some(gvpie_store::ARM_SCOPE)).expect("stats");
    assert!(arms.iter().any(|a| a.key == "image:refine" && a.runs >= 1), "{arms:?}");

    // Interrupted by restarts and a rolled-back cycle, it keeps the same programs.
    let interrupted = Setup::new();
    let goal = add(&interrupted);
    run_goals(&interrupted, 2, 2);
    run_abandoned_cycle(&interrupted, 2);
    run_goals(&interrupted, 10, 2);
    let strip = |h: &[Kept]| h.iter().map(|e| (e.2.clone(), e.3, e.4.clone())).collect::<Vec<_>>();
    assert_eq!(strip(&history(&interrupted.store(), goal)), strip(&expected));
}
