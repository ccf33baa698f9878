//! Image goals with refinement: the session's `image:refine` arm is chosen, kept only when better, recorded with
//! its generator, and the search goes on from the refined shapes; without refinement a session is the search alone.

use gvpie_evolve::goal::{ArmDelta, IMAGE_GENERATOR, REFINE_GENERATOR};
use gvpie_evolve::{
    Clock, CpuShapeScorer, Effort, GoalHost, GoalOptions, ImageGoalConfig, ImageGoalParams, ImageGoalSpec, ImageRefine,
    ImageSearch, ImageSession, Kept, ShapeKinds, SliceLimits, Strategy, parse_program,
};
use gvpie_raster::{Canvas, Rgba};

/// A small synthetic "photo": a gradient, a disc and a triangle, 40x30.
fn target() -> Canvas {
    let (w, h) = (40u32, 30u32);
    let mut bytes = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let disc = (x as i32 - 26).pow(2) + (y as i32 - 11).pow(2) < 60;
            bytes.extend_from_slice(&[(x * 6) as u8, (y * 8) as u8, if disc { 240 } else { 50 }, 255]);
        }
    }
    let mut canvas = Canvas::from_rgba8(w, h, &bytes).expect("valid size");
    canvas.triangle(2, 26, 17, 15, 9, 29, Rgba::new(210, 40, 30, 255));
    canvas
}

fn config(n_shapes: usize) -> ImageGoalConfig {
    ImageGoalConfig {
        n_shapes,
        n_threads: 2,
        seed: 5,
        effort: Effort { restarts: 3, random_tries: 40, max_failures: 20, polish: true },
        strategy: Strategy::Fast,
        ..ImageGoalConfig::default()
    }
}

fn spec(n_shapes: usize, refine: Option<ImageRefine>) -> ImageGoalSpec {
    let params = ImageGoalParams {
        shapes: n_shapes,
        mode: ShapeKinds::Triangles,
        alpha: 128,
        threads: 2,
        strategy: Strategy::Fast,
        effort: None,
    };
    let mut spec = ImageGoalSpec::new(String::new(), 40, 30, &params, &GoalOptions::default()).expect("spec");
    spec.seed = 5;
    spec.refine = refine;
    spec
}

/// A clock that never moves: refinements are bounded by their step counts alone.
struct Frozen;

impl Clock for Frozen {
    fn seconds(&self) -> f64 {
        0.0
    }
}

/// Records what the daemon's host records: every kept program's generator, score and source, checked in the VM.
#[derive(Default)]
struct Recorder {
    kept: Vec<(String, f64, String)>,
}

impl GoalHost for Recorder {
    fn keep(&mut self, kept: &Kept<'_>) -> Result<(), String> {
        let texture = gvpie_pxl::compile(kept.source).map_err(|d| d[0].headline())?;
        let run = gvpie_pxl::run(&texture, kept.vm).map_err(|e| e.to_string())?;
        if Some(&run.canvas) != kept.canvas {
            return Err("it does not draw the searched canvas".to_string());
        }
        self.kept.push((kept.generator.to_string(), kept.score, kept.source.to_string()));
        Ok(())
    }
}

fn run(session: &mut ImageSession, limits: SliceLimits) -> (Recorder, Vec<ArmDelta>) {
    let mut host = Recorder::default();
    let mut scorer = CpuShapeScorer { n_threads: 2 };
    let report = session.run_slice(limits, &Frozen, &mut host, &mut scorer, None).expect("slice");
    (host, report.arms)
}

#[test]
fn without_refinement_a_session_is_the_search_alone() {
    let mut session =
        ImageSession::with_config(0, "t", spec(6, None), target(), config(6), &[], None).expect("session");
    let (host, arms) = run(&mut session, SliceLimits::UNBOUNDED);
    let mut search = ImageSearch::new(target(), config(6)).expect("search");
    search.run();
    assert_eq!(session.search().program(), search.program());
    assert!(host.kept.iter().all(|k| k.0 == IMAGE_GENERATOR));
    assert_eq!(arms.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(), [IMAGE_GENERATOR]);
    assert!(session.refinements().is_empty());
}

#[test]
fn the_refine_arm_is_chosen_recorded_and_never_makes_the_goal_worse() {
    let refine = ImageRefine { every: 2, steps: 15, final_steps: 30, ..ImageRefine::default() };
    let mut session =
        ImageSession::with_config(0, "t", spec(6, Some(refine)), target(), config(6), &[], None).expect("session");
    let (host, arms) = run(&mut session, SliceLimits::UNBOUNDED);
    let refinements = session.refinements().to_vec();
    assert!(refinements.len() >= 2, "{refinements:?}");
    assert!(refinements.last().is_some_and(|r| r.last && r.shapes == 6), "{refinements:?}");
    // Kept only when better: every kept program beats the one before it, and a refinement never raises the RMSE.
    assert!(refinements.iter().all(|r| r.after <= r.before), "{refinements:?}");
    assert!(host.kept.windows(2).all(|w| w[1].1 < w[0].1), "{:?}", host.kept.iter().map(|k| k.1).collect::<Vec<_>>());
    let refined = host.kept.iter().filter(|k| k.0 == REFINE_GENERATOR).count();
    assert!(refined >= 1, "no refinement kept");
    assert_eq!(refined, refinements.iter().filter(|r| r.after < r.before).count());
    assert_eq!(host.kept.iter().filter(|k| k.0 == IMAGE_GENERATOR).count(), 6);
    let arm = arms.iter().find(|a| a.key == REFINE_GENERATOR).expect("the refine arm's statistics");
    assert_eq!((arm.tries, arm.improvements), (refinements.len() as u64, refined as u64));
    // The bandit's state travels with the spec (the daemon's checkpoint), and the goal is done after the final one.
    let state = &session.spec().refine.as_ref().expect("refine settings").state;
    assert_eq!(state.refine_arm[0], refinements.len() as u64);
    assert!(state.final_done);
    assert_eq!(session.spec().progress.stop_reason.as_deref(), Some("6 shapes placed"));
    // The last kept program is the session's, reads back as an image program and is the refined one.
    let last = host.kept.last().expect("kept");
    assert_eq!(last.2, session.search().program());
    assert_eq!(parse_program(&last.2).expect("image program").1.len(), 6);
    assert_eq!(last.1, session.score());

    // Refined with the same seed, it is never worse than the search alone.
    let mut search = ImageSearch::new(target(), config(6)).expect("search");
    search.run();
    assert!(session.score() <= search.rmse(), "{} > {}", session.score(), search.rmse());
}

#[test]
fn a_resumed_goal_refines_to_the_uninterrupted_result() {
    let refine = ImageRefine { every: 2, steps: 10, final_steps: 20, ..ImageRefine::default() };
    let mut straight = ImageSession::with_config(0, "t", spec(5, Some(refine.clone())), target(), config(5), &[], None)
        .expect("session");
    let (whole, _) = run(&mut straight, SliceLimits::UNBOUNDED);

    // Slices of one step each, the session rebuilt from its best program and spec every time (as the daemon does).
    let mut spec = spec(5, Some(refine));
    let mut best: Option<(String, f64)> = None;
    let mut kept = Vec::new();
    for _ in 0..40 {
        let placed = best.as_ref().map(|b| parse_program(&b.0).expect("image program").1).unwrap_or_default();
        let mut session =
            ImageSession::with_config(0, "t", spec.clone(), target(), config(5), &placed, best.as_ref().map(|b| b.1))
                .expect("session");
        let (host, _) = run(&mut session, SliceLimits { until: f64::INFINITY, max_steps: Some(1) });
        kept.extend(host.kept.iter().map(|k| (k.0.clone(), k.2.clone())));
        if let Some(last) = host.kept.last() {
            best = Some((last.2.clone(), last.1));
        }
        spec = session.spec().clone();
        if spec.progress.stop_reason.is_some() {
            break;
        }
    }
    assert_eq!(kept, whole.kept.iter().map(|k| (k.0.clone(), k.2.clone())).collect::<Vec<_>>());
}

/// A scorer whose gradients claim to leave the CPU free (as a GPU's do): the CPU's renderer on one thread, noting
/// the threads it computed on.
struct Beside {
    scorer: CpuShapeScorer,
    renderer: Offloaded,
}

struct Offloaded {
    frees_cpu: bool,
    /// Stands for a device's latency: each evaluation takes at least this long.
    latency: std::time::Duration,
    cpu: gvpie_evolve::CpuSoftRenderer,
    threads: std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>,
}

impl gvpie_evolve::SoftRenderer for Offloaded {
    fn name(&self) -> String {
        "offloaded".to_string()
    }

    fn frees_cpu(&mut self) -> bool {
        self.frees_cpu
    }

    fn evaluate(
        &mut self,
        target: &gvpie_evolve::refine::SoftTarget,
        masks: &[Vec<bool>],
        draws: &[gvpie_evolve::refine::Call],
        sigma: f64,
    ) -> Result<gvpie_evolve::refine::SoftResult, String> {
        if let Ok(mut threads) = self.threads.lock() {
            threads.push(std::thread::current().name().map(str::to_string));
        }
        std::thread::sleep(self.latency);
        self.cpu.evaluate(target, masks, draws, sigma)
    }
}

impl gvpie_evolve::ShapeScorer for Beside {
    fn name(&self) -> String {
        "cpu".to_string()
    }
    fn set_table(&mut self, table: &gvpie_evolve::ErrorTable) {
        self.scorer.set_table(table);
    }
    fn score(
        &mut self,
        table: &gvpie_evolve::ErrorTable,
        shapes: &[gvpie_evolve::Shape],
    ) -> Vec<Option<gvpie_evolve::Scored>> {
        self.scorer.score(table, shapes)
    }
    fn climb(&mut self, table: &gvpie_evolve::ErrorTable, job: &gvpie_evolve::ClimbJob) -> Vec<gvpie_evolve::Climbed> {
        self.scorer.climb(table, job)
    }
    fn soft_renderer(&mut self) -> Option<&mut dyn gvpie_evolve::SoftRenderer> {
        Some(&mut self.renderer)
    }
    fn split_gradients(&mut self) -> Option<(&mut dyn gvpie_evolve::ShapeScorer, &mut dyn gvpie_evolve::SoftRenderer)> {
        Some((&mut self.scorer, &mut self.renderer))
    }
}

/// Runs a session of `n` shapes with `refine` on a [`Beside`] scorer; returns it, what its host kept, and the
/// names of the threads its gradients were computed on.
fn run_beside(n: usize, refine: ImageRefine, frees_cpu: bool) -> (ImageSession, Recorder, Vec<Option<String>>) {
    let mut session =
        ImageSession::with_config(0, "t", spec(n, Some(refine)), target(), config(n), &[], None).expect("session");
    let threads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let renderer = Offloaded {
        frees_cpu,
        latency: std::time::Duration::ZERO,
        cpu: gvpie_evolve::CpuSoftRenderer { threads: 1 },
        threads: threads.clone(),
    };
    let mut scorer = Beside { scorer: CpuShapeScorer { n_threads: 2 }, renderer };
    let mut host = Recorder::default();
    session.run_slice(SliceLimits::UNBOUNDED, &Frozen, &mut host, &mut scorer, None).expect("slice");
    let names = threads.lock().expect("names").clone();
    (session, host, names)
}

#[test]
fn refinements_beside_the_search_merge_at_the_next_decision_and_repeat_exactly() {
    let refine = ImageRefine { every: 2, steps: 12, final_steps: 20, overlap: true, ..ImageRefine::default() };
    let (session, host, threads) = run_beside(9, refine.clone(), true);
    let refinements = session.refinements().to_vec();
    let beside: Vec<_> = refinements.iter().filter(|r| r.overlapped).collect();
    assert!(beside.len() >= 2, "{refinements:?}");
    // Between shapes only: the final one runs in line, after every shape.
    assert!(beside.iter().all(|r| !r.last && r.shapes < 9 && r.steps == 12), "{refinements:?}");
    assert!(refinements.last().is_some_and(|r| r.last && !r.overlapped && r.shapes == 9), "{refinements:?}");
    // The gradient steps of those ran on the refinement's own thread, the final one's on the session's.
    assert_eq!(threads.iter().filter(|t| t.as_deref() == Some("gvpie-refine")).count(), 12 * beside.len());
    assert_eq!(threads.len(), 12 * beside.len() + 20);
    // Each merged at the next decision, `every` shapes later, when its picture was better.
    assert!(refinements.iter().all(|r| r.after <= r.before), "{refinements:?}");
    assert!(beside.iter().any(|r| r.after < r.before), "no refinement beside the search was kept: {refinements:?}");
    assert!(host.kept.windows(2).all(|w| w[1].1 < w[0].1), "{:?}", host.kept.iter().map(|k| k.1).collect::<Vec<_>>());
    assert_eq!(host.kept.iter().filter(|k| k.0 == IMAGE_GENERATOR).count(), 9);
    assert_eq!(
        host.kept.iter().filter(|k| k.0 == REFINE_GENERATOR).count(),
        refinements.iter().filter(|r| r.after < r.before).count()
    );
    let last = host.kept.last().expect("kept");
    assert_eq!((last.2.as_str(), last.1), (session.search().program().as_str(), session.score()));
    assert_eq!(parse_program(&last.2).expect("image program").1.len(), 9);
    // The same seed gives the same program, whatever the threads' timing.
    let (again, again_host, _) = run_beside(9, refine.clone(), true);
    assert_eq!(again.search().program(), session.search().program());
    assert_eq!(again_host.kept, host.kept);
    // Never worse than the search alone.
    let mut search = ImageSearch::new(target(), config(9)).expect("search");
    search.run();
    assert!(session.score() <= search.rmse(), "{} > {}", session.score(), search.rmse());

    // Gradients that do not free the CPU, or overlap off: refinements take turns, exactly as without the option.
    let mut plain = ImageSession::with_config(
        0,
        "t",
        spec(9, Some(ImageRefine { overlap: false, ..refine.clone() })),
        target(),
        config(9),
        &[],
        None,
    )
    .expect("session");
    run(&mut plain, SliceLimits::UNBOUNDED);
    for (overlap, frees_cpu) in [(true, false), (false, true)] {
        let (turns, _, threads) = run_beside(9, ImageRefine { overlap, ..refine.clone() }, frees_cpu);
        assert!(turns.refinements().iter().all(|r| !r.overlapped));
        assert!(threads.iter().all(|t| t.as_deref() != Some("gvpie-refine")));
        assert_eq!(turns.search().program(), plain.search().program(), "overlap {overlap}, frees_cpu {frees_cpu}");
    }
}

/// A clock that moves a millisecond every time it is read, from any thread, and when told to (this crate reads no
/// real clock): time passes with the work done.
#[derive(Default)]
struct Ticking(std::sync::atomic::AtomicU64);

impl Ticking {
    fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Clock for Ticking {
    fn seconds(&self) -> f64 {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as f64 * 1e-3
    }
}

#[test]
fn under_a_time_budget_shapes_go_on_while_the_final_refinement_computes_beside() {
    let refine = ImageRefine { every: 3, steps: 5, final_steps: 40, overlap: true, ..ImageRefine::default() };
    let mut spec = spec(10_000, Some(refine));
    spec.stop.seconds = Some(1.0);
    let mut session = ImageSession::with_config(0, "t", spec, target(), config(10_000), &[], None).expect("session");
    let renderer = Offloaded {
        frees_cpu: true,
        // 40 steps of at least 5 ms: the final refinement's gradients take 0.2 s or more beside the search.
        latency: std::time::Duration::from_millis(5),
        cpu: gvpie_evolve::CpuSoftRenderer { threads: 1 },
        threads: Default::default(),
    };
    let mut scorer = Beside { scorer: CpuShapeScorer { n_threads: 2 }, renderer };
    let clock = Ticking::default();
    let mut host = Recorder::default();
    session.run_slice(SliceLimits::UNBOUNDED, &clock, &mut host, &mut scorer, None).expect("slice");
    let refinements = session.refinements();
    let last = refinements.last().expect("the final refinement");
    assert!(last.last && last.overlapped, "{refinements:?}");
    assert_eq!(refinements.iter().filter(|r| r.last).count(), 1);
    // Shapes were placed while its gradient steps computed, and stay on top of the refined ones.
    let placed = session.search().placed().len();
    assert!(placed > last.shapes, "{placed} shapes, the final refinement started at {}", last.shapes);
    assert_eq!(session.spec().progress.stop_reason.as_deref(), Some("time budget 1s spent"));
    assert!(session.spec().refine.as_ref().is_some_and(|r| r.state.final_done));
    // What the host kept last is the session's program, and it draws the reported picture (the host checks).
    let kept = host.kept.last().expect("kept");
    assert_eq!((kept.2.as_str(), kept.1), (session.search().program().as_str(), session.score()));
    assert!(host.kept.windows(2).all(|w| w[1].1 < w[0].1));
}

/// A host that writes only the result, and takes its time between steps (a slow terminal, a busy store).
struct SlowResultHost<'a> {
    clock: &'a Ticking,
    kept: Vec<String>,
    steps: u64,
}

impl GoalHost for SlowResultHost<'_> {
    fn keep(&mut self, kept: &Kept<'_>) -> Result<(), String> {
        self.kept.push(kept.generator.to_string());
        Ok(())
    }

    fn stepped(&mut self, _progress: &gvpie_evolve::GoalProgress, _score: f64) {
        self.steps += 1;
        self.clock.advance(40);
    }

    fn keeps_every_shape(&self) -> bool {
        false
    }
}

#[test]
fn a_time_budget_counts_the_hosts_time_and_a_result_only_host_gets_no_shape_programs() {
    let refine = ImageRefine { every: 4, steps: 5, final_steps: 5, ..ImageRefine::default() };
    let mut spec = spec(10_000, Some(refine));
    spec.stop.seconds = Some(0.6);
    let mut session = ImageSession::with_config(0, "t", spec, target(), config(10_000), &[], None).expect("session");
    let clock = Ticking::default();
    let mut host = SlowResultHost { clock: &clock, kept: Vec::new(), steps: 0 };
    let mut scorer = CpuShapeScorer { n_threads: 2 };
    session.run_slice(SliceLimits::UNBOUNDED, &clock, &mut host, &mut scorer, None).expect("slice");
    // 40 ms of the host's after every step count in the budget: at most 0.6 / 0.04 steps, then the goal is done.
    let progress = &session.spec().progress;
    assert!(host.steps <= 16, "{} steps in a 0.6 s budget with 40 ms each", host.steps);
    assert!(progress.seconds >= 0.04 * (host.steps - 1) as f64, "{} s for {} steps", progress.seconds, host.steps);
    assert!(
        progress.stop_reason.as_deref().is_some_and(|r| r.starts_with("time budget")),
        "{:?}",
        progress.stop_reason
    );
    // Only refinements reach `keep` (no shape's program), and the shapes were placed all the same.
    assert!(host.kept.iter().all(|g| g == REFINE_GENERATOR), "{:?}", host.kept);
    assert!(!session.search().placed().is_empty());
    assert_eq!(progress.kept, session.search().placed().len() as u64 + host.kept.len() as u64);
}
