//! `gvpie evolve`: approximate a photo with a PXL program of shapes, primitive-style.
//!
//! This module loads the target (PNG or JPEG), resizes it, drives [`gvpie_evolve::ImageSearch`] under an optional
//! time limit with a progress bar on stderr (the evaluator cascade's batches scored on the GPU or the CPU through
//! [`gvpie_exec::Engine::shape_scorer`]), checks that the program draws the output exactly in the CPU VM, and
//! writes the outputs (PNG, PXL program, SVG, build-up animation as GIF or APNG). The search itself lives in
//! `gvpie-evolve`; this file only does IO and keeps time.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;
use gvpie_evolve::{
    BackendChoice, CascadeEffort, Clock, Effort, EffortPreset, GoalHost, GoalOptions, GoalProgress, ImageGoalConfig,
    ImageGoalParams, ImageGoalSpec, ImageRefine, ImageSession, Kept, Placed, Shape, ShapeKinds, ShapeScorer,
    SliceLimits, StopRules, Strategy,
};
use gvpie_exec::Engine;
use gvpie_raster::{Canvas, Rgba};
use serde_json::json;

use crate::{UsageError, input, write_atomically};

/// The most hill climbers `--climbers` may ask for.
const MAX_CLIMBERS: u32 = 1 << 20;

/// The most survivors `--survivors` may ask for (each is refined at full size on the CPU).
const MAX_SURVIVORS: u32 = 1024;
/// The most random polish moves per shape and sweep (each is a scored redraw of the shape's region).
const MAX_POLISH_MOVES: u32 = 100_000;
/// The most regrowth rounds (each is a full shape search).
const MAX_REGROW: u32 = 10_000;

/// The most frames written to `--gif`: later shapes are grouped so the animation stays small.
const MAX_ANIMATION_FRAMES: usize = 100;

/// Arguments of `gvpie evolve`.
/// Shapes placed without `-n`.
const DEFAULT_SHAPES: usize = 100;
/// The shape count of `--seconds S` without `-n`: more than any run places in its time (the time stops it).
const TIMED_SHAPES: usize = 100_000;

#[derive(Args)]
#[command(after_help = "Refinement is on by default: every --refine-every shapes the search may stop to tune the \
numbers of every shape placed so far (positions, colours and a solved alpha; the background stays) with gradients of a \
soft render (--refine-steps Adam steps, then a polish where every move is scored exactly, see docs/refine.md), and once the last \
shape is placed a final refinement of --final-steps steps runs. A refinement is kept only when it lowers the RMSE. \
The budget is in steps, so the same seed gives the same program; with --seconds S shapes and refinements stay within S: \
shapes stop at half of it and the final refinement gets the rest. --no-refine gives the shape search alone, \
exactly as before refinement existed. The report says what refinement gained (RMSE before -> after).")]
pub struct EvolveArgs {
    /// The target image (PNG or JPEG).
    target: PathBuf,
    /// How many shapes to place (default 100; with --seconds and no -n, as many as fit in the time: the best
    /// picture within --seconds).
    #[arg(short = 'n', long = "shapes")]
    n_shapes: Option<usize>,
    /// Where to write the result as PNG (the program's canvas, at its size).
    #[arg(short, long, required_unless_present = "score")]
    output: Option<PathBuf>,
    /// Write the PXL program; `gvpie run --size WxH` draws exactly the output PNG.
    #[arg(long)]
    program: Option<PathBuf>,
    /// Write the shapes as SVG (a vector rendering; the exact pixels are the program's).
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Write the build-up as an animation: GIF, or animated PNG when the name ends in .png.
    #[arg(long)]
    gif: Option<PathBuf>,
    /// Stop adding shapes after this many seconds, even if fewer than --shapes are placed; counted from the
    /// command's start (loading the target and opening a GPU are part of it), and the final refinement stays within
    /// it too.
    #[arg(long)]
    seconds: Option<f64>,
    /// Where the cascade's batches are scored: `gpu` (an error without one), `cpu`, or `auto`, which is the CPU:
    /// measured on an H100 host with 16 cores, the CPU cascade placed 1.5 to 2 times as many shapes in the same
    /// time as the GPU's, and a software adapter such as lavapipe is slower still (BENCHMARKS.md). The program is
    /// the same whichever scores (with the same --effort): the GPU computes exactly the CPU's numbers, the solved
    /// alpha included.
    #[arg(long, value_parser = named::<BackendChoice>(BackendChoice::NAMES), ignore_case = true, default_value = "auto")]
    backend: BackendChoice,
    /// Where refinement computes its gradients: `gpu` (an error without one), `cpu`, or `auto`, which is a hardware
    /// GPU when there is one (opened while the first shapes are placed), else the CPU: measured on an H100 host
    /// with 16 cores, -n 200 gave the same program in up to 11 % less time, and at equal --seconds (five photos,
    /// 2-4 s and 10 s) 1.7 % and 5 % lower RMSE on average, though not on every photo; a software adapter such
    /// as lavapipe is slower than the CPU (BENCHMARKS.md). The GPU computes in 32-bit floats, so the program may
    /// differ from the CPU's; every score is the exact renderer's either way.
    #[arg(long, value_parser = named::<BackendChoice>(BackendChoice::NAMES), ignore_case = true, default_value = "auto")]
    refine_backend: BackendChoice,
    /// Seed of the search: the same seed gives the same program, whatever the number of threads.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Resize the target so that its longest side is this many pixels (1 to 4096).
    #[arg(long, default_value_t = 256)]
    resize: u32,
    /// Which shapes to place: tri (triangles, like primitive's `-m 1`), rect (rectangles, `-m 2`) or both.
    #[arg(short, long, value_parser = named::<ShapeKinds>(ShapeKinds::NAMES), ignore_case = true, default_value = "tri")]
    mode: ShapeKinds,
    /// Alpha of every shape (1 to 255), or 0 to solve it per shape like the colour (and refine it with the rest).
    /// Default: 0, solved, which gave 0.1-39 % lower RMSE at 50 shapes on 17 of 21 photos and at most 1 % more on
    /// the others (BENCHMARKS.md). The GPU solves it in the same integers as the CPU.
    #[arg(short, long)]
    alpha: Option<u8>,
    /// Worker threads (default: all cores).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
    /// Search strategy: cascade (the default: many hill climbers on a reduced canvas scored in batches, on the GPU
    /// with --backend gpu, then the best few refined at full size), fast (primitive's scheme at full size:
    /// best-of-N random starts, hill climbing, prefix-sum scoring) or plain (the random-restart hill climb
    /// baseline, scoring every pixel).
    #[arg(long, value_parser = named::<Strategy>(Strategy::NAMES), ignore_case = true, default_value = "cascade")]
    strategy: Strategy,
    /// Cascade: the effort preset, sized for the CPU scorer (256 resident climbers of 64 random starts, each
    /// climbing until 64 mutations in a row fail; 32 survivors) or for the GPU (4096 such climbers, one GPU
    /// workgroup each, one dispatch per shape; 32 survivors). Default: the scorer's. With the same preset, the CPU and the GPU
    /// find the same program.
    #[arg(long, value_parser = named::<EffortPreset>(EffortPreset::NAMES), ignore_case = true)]
    effort: Option<EffortPreset>,
    /// Cascade: hill climbers per shape on the reduced canvas (overrides the preset).
    #[arg(long)]
    climbers: Option<u32>,
    /// Cascade: the best climbers refined at full size (overrides the preset).
    #[arg(long)]
    survivors: Option<u32>,
    /// Cascade: resident climbers climb until this many mutations in a row fail (overrides the preset); 0 runs 48
    /// climbers in lockstep rounds of 8 mutations instead, one scorer call per round (`CascadeEffort::LOCKSTEP`).
    #[arg(long)]
    climb_failures: Option<u32>,
    /// Fast and plain: restarts per shape.
    #[arg(long, default_value_t = Effort::DEFAULT.restarts)]
    restarts: u32,
    /// Fast and plain: random shapes tried at the start of each restart.
    #[arg(long, default_value_t = Effort::DEFAULT.random_tries)]
    tries: u32,
    /// Fast and plain: failed mutations in a row that end a restart's hill climb.
    #[arg(long, default_value_t = Effort::DEFAULT.max_failures)]
    failures: u32,
    /// Do not refine: the shape search alone, exactly as before refinement existed.
    #[arg(long)]
    no_refine: bool,
    /// Refinement: shapes between two refinements (0: only the final one, after the last shape). At each such
    /// point a bandit chooses between refining and placing the next shape, by which has been gaining more.
    #[arg(long, default_value_t = ImageRefine::default().every, value_name = "K")]
    refine_every: u64,
    /// Refinement: gradient (Adam) steps of each refinement between shapes.
    #[arg(long, default_value_t = ImageRefine::default().steps, value_name = "N")]
    refine_steps: usize,
    /// Refinement: gradient (Adam) steps of the final refinement.
    #[arg(long, default_value_t = ImageRefine::default().final_steps, value_name = "N")]
    final_steps: usize,
    /// Refinement: the most polish sweeps (coordinate descent, each move scored exactly) of a refinement between
    /// shapes.
    #[arg(long, default_value_t = ImageRefine::default().sweeps, value_name = "N")]
    refine_sweeps: usize,
    /// Refinement: the most polish sweeps of the final refinement.
    #[arg(long, default_value_t = ImageRefine::default().final_sweeps, value_name = "N")]
    final_sweeps: usize,
    /// Refinement: random moves of a vertex or corner tried per shape in each polish sweep, after the shape's
    /// coordinate descent (every move scored exactly, only where the picture can change).
    #[arg(long, default_value_t = ImageRefine::default().moves, value_name = "N")]
    polish_moves: u32,
    /// Refinement: after the final refinement, up to N times take out the shape that is worth least and search a
    /// new one on top instead (kept only when the picture gets better; 0: never).
    #[arg(long, default_value_t = ImageRefine::default().regrow, value_name = "N")]
    regrow: u32,
    /// Refinement: run the refinements between shapes in turn with the search. By default, when the gradients
    /// are on a hardware GPU, each one computes there on the shapes placed so far while the CPU places the next
    /// shapes, and its refined shapes go under those at the next refinement point (the same seed still gives the
    /// same program). With gradients on the CPU they always take turns.
    #[arg(long)]
    no_overlap: bool,
    /// Refinement: gradient steps work on the target reduced to at most this many pixels (the polish is always at
    /// full size).
    #[arg(long, default_value_t = ImageRefine::default().soft_pixels, value_name = "PIXELS")]
    refine_pixels: u32,
    /// Print a JSON summary on stdout: shapes, RMSE, seconds, where shapes and gradients were computed, the time
    /// spent inside the shape scorer's calls (`scorer_seconds`) and what refinement did (`refine`; `overlapped`
    /// counts the refinements that ran beside the search, whose `seconds` are only the time spent waiting for them
    /// and merging).
    #[arg(long)]
    json: bool,
    /// Only print the RMSE of this image (same size as the resized target) against the target, and exit.
    #[arg(long, value_name = "IMAGE")]
    score: Option<PathBuf>,
}

/// Runs `gvpie evolve`.
pub fn evolve(args: EvolveArgs) -> anyhow::Result<ExitCode> {
    if args.backend == BackendChoice::Gpu && args.strategy != Strategy::Cascade {
        return Err(UsageError::new(format!(
            "--backend gpu scores the cascade's batches; --strategy {} searches on the CPU only (use --strategy \
             cascade)",
            args.strategy
        ))
        .into());
    }
    let alpha = args.alpha.unwrap_or(0);
    if args.climbers == Some(0) || args.survivors == Some(0) {
        return Err(UsageError::new("--climbers and --survivors must be at least 1").into());
    }
    // Every climber is a result kept in memory (and a GPU workgroup): bound them like every other limit.
    if let Some(climbers) = args.climbers.filter(|&c| c > MAX_CLIMBERS) {
        return Err(UsageError::new(format!("--climbers {climbers} is over the limit of {MAX_CLIMBERS}")).into());
    }
    if let Some(survivors) = args.survivors.filter(|&s| s > MAX_SURVIVORS) {
        return Err(UsageError::new(format!("--survivors {survivors} is over the limit of {MAX_SURVIVORS}")).into());
    }
    if args.polish_moves > MAX_POLISH_MOVES {
        let moves = args.polish_moves;
        return Err(UsageError::new(format!("--polish-moves {moves} is over the limit of {MAX_POLISH_MOVES}")).into());
    }
    if args.regrow > MAX_REGROW {
        return Err(UsageError::new(format!("--regrow {} is over the limit of {MAX_REGROW}", args.regrow)).into());
    }
    if !(1..=gvpie_raster::MAX_SIDE).contains(&args.resize) {
        return Err(UsageError::new(format!("--resize {} is out of range (1 to 4096)", args.resize)).into());
    }
    if let Some(seconds) = args.seconds
        && !(seconds.is_finite() && seconds >= 0.0)
    {
        return Err(UsageError::new(format!("--seconds {seconds} must be a number of seconds, 0 or more")).into());
    }
    // `--seconds S` without `-n`: shapes until the time is up (equal-time comparisons in one command).
    let n_shapes = match (args.n_shapes, args.seconds) {
        (Some(n), _) => n,
        (None, Some(_)) => TIMED_SHAPES,
        (None, None) => DEFAULT_SHAPES,
    };
    // The clock (and --seconds) counts from here: loading the target and opening a GPU are part of the time a
    // user gives, so that paths are compared at equal wall time.
    let start = Instant::now();
    let target = load_target(&args.target, args.resize)?;
    if let Some(other) = &args.score {
        return score_only(&target, other, args.json);
    }
    let Some(output) = args.output.as_deref() else {
        return Err(UsageError::new("--output is required").into());
    };
    let n_threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // Opening a GPU takes up to a second: only when the cascade or the refinement may use one.
    let cascade_on_gpu = args.strategy == Strategy::Cascade && args.backend == BackendChoice::Gpu;
    // `auto` computes the gradients on a hardware GPU, by the engine's rule (`Engine::image_search`): only such
    // an adapter is opened for it (no device node, no time spent looking). With the search on the CPU, that GPU
    // opens on another thread while the first shapes are placed: the first refinement is the first to need it.
    let refine_backend = args.refine_backend;
    let gradients_on_gpu = !args.no_refine && refine_backend != BackendChoice::Cpu;
    let late = !cascade_on_gpu && gradients_on_gpu && refine_backend == BackendChoice::Auto;
    // A GPU asked for by name opens here, so that a missing one is an error before any work.
    let engine = match cascade_on_gpu || (gradients_on_gpu && refine_backend == BackendChoice::Gpu) {
        true => Engine::detect(),
        false => Engine::cpu_only(),
    };
    // The engine lives as long as the process (it is not torn down at the end either, see below).
    let engine: &'static Engine = Box::leak(Box::new(engine));
    let search_backend = if cascade_on_gpu { BackendChoice::Gpu } else { BackendChoice::Cpu };
    let (scorer, mut choice) = engine
        .image_search(search_backend, BackendChoice::Cpu, n_threads.max(1))
        .map_err(|e| UsageError::new(format!("--backend gpu: {e}")))?;
    // The gradients' renderer is kept apart from the search's scorer, so that a refinement can compute on it
    // beside the search (`ImageRefine::overlap`).
    let late = match (late, args.no_refine) {
        (_, true) => None,
        (true, false) => Some(LateGradients::open(n_threads.max(1), args.seconds.is_none())),
        (false, false) => {
            let (renderer, gradients) = engine
                .soft_renderer(refine_backend, n_threads.max(1))
                .map_err(|e| UsageError::new(format!("--refine-backend gpu: {e}")))?;
            choice.gradients = gradients.clone();
            Some(LateGradients::ready(n_threads.max(1), renderer, gradients))
        }
    };
    let mut scorer = TimedScorer { timed: Timed { inner: scorer, times: ScorerTimes::default() }, late };
    let scorer_choice = choice.search.clone();
    let preset = match (args.effort, scorer_choice.backend) {
        _ if args.climb_failures == Some(0) => CascadeEffort::LOCKSTEP,
        (Some(EffortPreset::Gpu), _) | (None, "gpu") => CascadeEffort::GPU,
        _ => CascadeEffort::DEFAULT,
    };
    let preset = CascadeEffort { climb_failures: args.climb_failures.unwrap_or(preset.climb_failures), ..preset };
    let config = ImageGoalConfig {
        n_shapes,
        kinds: args.mode,
        alpha,
        min_alpha: 1,
        seed: args.seed,
        n_threads: n_threads.max(1),
        effort: Effort {
            restarts: args.restarts,
            random_tries: args.tries,
            max_failures: args.failures,
            polish: Effort::DEFAULT.polish,
        },
        strategy: args.strategy,
        cascade: CascadeEffort {
            climbers: args.climbers.unwrap_or(preset.climbers),
            survivors: args.survivors.unwrap_or(preset.survivors),
            ..preset
        },
    };

    let (width, height) = (target.width(), target.height());
    // The goal engine's image session with this command's settings: `--seconds` is its time budget.
    let params = ImageGoalParams {
        shapes: n_shapes,
        mode: args.mode,
        alpha,
        threads: n_threads.max(1),
        strategy: args.strategy,
        effort: args.effort,
    };
    let mut spec =
        ImageGoalSpec::new(String::new(), width, height, &params, &GoalOptions::default()).map_err(UsageError::new)?;
    spec.seed = args.seed;
    // The session counts the time of its own steps: what came before it (loading the target, opening a GPU: 0.2 s
    // or more on the H100 host) is taken off its budget here, so that `--seconds S` ends the command near S.
    let left = args.seconds.map(|s| (s - start.elapsed().as_secs_f64()).max(0.0));
    spec.stop = StopRules { seconds: left, ..StopRules::default() };
    spec.refine = (!args.no_refine).then(|| ImageRefine {
        every: args.refine_every,
        steps: args.refine_steps,
        final_steps: args.final_steps,
        sweeps: args.refine_sweeps,
        final_sweeps: args.final_sweeps,
        soft_pixels: args.refine_pixels,
        moves: args.polish_moves,
        regrow: args.regrow,
        overlap: !args.no_overlap,
        ..ImageRefine::default()
    });
    let label = args.target.display().to_string();
    let mut session = ImageSession::with_config(0, &label, spec, target, config, &[], None).map_err(UsageError::new)?;
    let start_rmse = session.score();

    let mut host = ProgressHost { bar: progress_bar(n_shapes as u64), start, scorer: scorer.name() };
    let clock = SinceStart(start);
    session
        .run_slice(SliceLimits::UNBOUNDED, &clock, &mut host, &mut scorer, None)
        .map_err(|e| anyhow::anyhow!("internal error: {e}"))?;
    host.bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    if let Some(late) = scorer.late.as_ref().and_then(|late| late.choice.clone()) {
        choice.gradients = late;
    }
    // The scorer's name says whether the GPU held to the end.
    let scored_on = match (args.strategy, &scorer_choice.adapter) {
        (Strategy::Cascade, Some(adapter)) if scorer.name() == "gpu" => format!("gpu ({adapter})"),
        (Strategy::Cascade, _) => scorer.name(),
        _ => "cpu".to_string(),
    };
    let search = session.search();

    // The program is the result: check that the VM draws exactly the evolved canvas before writing anything.
    let program = search.program();
    let texture = gvpie_pxl::compile(&program).map_err(|d| anyhow::anyhow!("internal error: {}", d[0].headline()))?;
    let vm_config = gvpie_pxl::Config { width, height, ..gvpie_pxl::Config::default() };
    let rendered = gvpie_pxl::run(&texture, &vm_config)?;
    if rendered.canvas != *search.canvas() || rendered.status != gvpie_pxl::Status::Halted {
        anyhow::bail!("internal error: the program does not reproduce the evolved image");
    }

    write_atomically(output, &gvpie_cart::encode_png(search.canvas(), 1))?;
    if let Some(path) = &args.program {
        write_atomically(path, program.as_bytes())?;
    }
    if let Some(path) = &args.svg {
        write_atomically(path, svg(width, height, search.background(), search.placed()).as_bytes())?;
    }
    if let Some(path) = &args.gif {
        write_atomically(path, &animation(path, width, height, search.background(), search.placed())?)?;
    }

    let n_placed = search.placed().len();
    let refinements = session.refinements();
    // What refinement gained: the final refinement's before and after, and every refinement's gain added up.
    let refined = refinements.iter().rev().find(|r| r.last).or(refinements.last());
    let gained: f64 = refinements.iter().map(|r| r.before - r.after).sum();
    if args.json {
        let mut summary = json!({
            "shapes": n_placed,
            "width": width,
            "height": height,
            "rmse": search.rmse(),
            "start_rmse": start_rmse,
            "seconds": seconds,
            "candidates": search.n_candidates(),
            "cycles": rendered.cycles,
            "seed": args.seed,
            "alpha": alpha,
            "threads": n_threads,
            "strategy": args.strategy.name(),
            "scored_on": scored_on,
            "adapter": scorer_choice.adapter,
            "scorer_seconds": {
                "set_table": scorer.timed.times.set_table,
                "score": scorer.timed.times.score,
                "climb": scorer.timed.times.climb,
                "calls": scorer.timed.times.calls,
            },
        });
        if !args.no_refine {
            summary["refine"] = json!({
                "refinements": refinements.len(),
                "kept": refinements.iter().filter(|r| r.after < r.before).count(),
                "rmse_before": refined.map(|r| r.before),
                "rmse_after": refined.map(|r| r.after),
                "gained": gained,
                "gradient_steps": refinements.iter().map(|r| r.steps).sum::<usize>(),
                "vm_runs": refinements.iter().map(|r| r.exact_runs).sum::<usize>(),
                "seconds": refinements.iter().map(|r| r.seconds).sum::<f64>(),
                "polish_seconds": refinements.iter().map(|r| r.polish_seconds).sum::<f64>(),
                "overlapped": refinements.iter().filter(|r| r.overlapped).count(),
                "gradients_on": gradients_on(&choice, refinements),
                "gradients_adapter": choice.gradients.adapter,
            });
        }
        println!("{summary}");
    } else {
        eprintln!(
            "{n_placed} shapes, {width}x{height}, rmse {:.5} (from {:.5}), {seconds:.2} s, {:.2}M candidates, scored on \
             {scored_on}",
            search.rmse(),
            start_rmse,
            search.n_candidates() as f64 / 1e6
        );
        if let Some(last) = refined {
            eprintln!(
                "refined {} times ({} kept, {:.2} s, gradients on {}): rmse {:.5} -> {:.5} ({:+.1}%) at the last, \
                 -{:.5} in all",
                refinements.len(),
                refinements.iter().filter(|r| r.after < r.before).count(),
                refinements.iter().map(|r| r.seconds).sum::<f64>(),
                gradients_on(&choice, refinements),
                last.before,
                last.after,
                if last.before > 0.0 { 100.0 * (last.after / last.before - 1.0) } else { 0.0 },
                gained
            );
        }
    }
    // The process ends here: tearing the GPU device down would only add 0.07-0.12 s (H100 host) to the command's
    // wall time; the driver frees it with the process.
    if let Some(opening) = scorer.late.as_mut().and_then(|late| late.opening.take()) {
        // No refinement asked for the GPU: the process does not end in the middle of opening it.
        std::mem::forget(opening.join());
    }
    std::mem::forget(scorer);
    Ok(ExitCode::SUCCESS)
}

/// Wall time the search spent in its scorer's calls (the rest of a shape's time is CPU work of the cascade: the
/// tables, the full-size stage), for the JSON summary: where a GPU search's time goes.
#[derive(Debug, Default)]
struct ScorerTimes {
    set_table: f64,
    score: f64,
    climb: f64,
    calls: u64,
}

/// A shape scorer that times its inner scorer's calls, and brings the gradients' GPU when it was opened late.
struct TimedScorer<'a> {
    timed: Timed<'a>,
    late: Option<LateGradients>,
}

/// The inner scorer and the time spent in its calls.
struct Timed<'a> {
    inner: Box<dyn ShapeScorer + 'a>,
    times: ScorerTimes,
}

/// The renderer of `--refine-backend auto` with the search on the CPU: its engine (a hardware GPU when there is
/// one) opens on another thread while the first shapes are placed (on the H100 host opening took 0.2-0.3 s, about
/// a tenth of a 2 s run, and the first refinement comes after 10 shapes or more). A refinement that comes first
/// waits for it when the run has no time budget (the same seed then gives the same program, whatever the timing);
/// under `--seconds` it computes its gradients on the CPU instead, so the wait never overruns the budget.
struct LateGradients {
    threads: usize,
    /// Wait for the GPU rather than compute on the CPU until it is open.
    wait: bool,
    opening: Option<std::thread::JoinHandle<Engine>>,
    renderer: Option<Box<dyn gvpie_evolve::SoftRenderer>>,
    cpu: gvpie_evolve::CpuSoftRenderer,
    /// Where the gradients are computed, once known.
    choice: Option<gvpie_exec::ScorerChoice>,
}

impl LateGradients {
    fn open(threads: usize, wait: bool) -> LateGradients {
        let opening = std::thread::Builder::new().name("gvpie-open-gpu".into()).spawn(Engine::detect_hardware).ok();
        let cpu = gvpie_evolve::CpuSoftRenderer { threads };
        LateGradients { threads, wait, opening, renderer: None, cpu, choice: None }
    }

    /// A renderer that is already open (`--refine-backend cpu|gpu`, or the GPU's search engine's).
    fn ready(
        threads: usize,
        renderer: Box<dyn gvpie_evolve::SoftRenderer>,
        choice: gvpie_exec::ScorerChoice,
    ) -> LateGradients {
        let cpu = gvpie_evolve::CpuSoftRenderer { threads };
        LateGradients { threads, wait: true, opening: None, renderer: Some(renderer), cpu, choice: Some(choice) }
    }

    fn renderer(&mut self) -> &mut dyn gvpie_evolve::SoftRenderer {
        let still_opening = self.opening.as_ref().is_some_and(|opening| !opening.is_finished());
        if self.renderer.is_none() && still_opening && !self.wait {
            return &mut self.cpu;
        }
        let threads = self.threads;
        let renderer = self.renderer.get_or_insert_with(|| {
            // A thread that could not start or panicked leaves the CPU: the gradients are computed either way.
            let engine = self.opening.take().and_then(|t| t.join().ok()).unwrap_or_else(Engine::cpu_only);
            // The engine lives as long as the process (it is not torn down at the end either, see `run`).
            let engine: &'static Engine = Box::leak(Box::new(engine));
            let (renderer, choice) = engine.soft_renderer(BackendChoice::Auto, threads).unwrap_or_else(|_| {
                let cpu = gvpie_evolve::CpuSoftRenderer { threads };
                (Box::new(cpu), gvpie_exec::ScorerChoice { backend: "cpu", adapter: None })
            });
            self.choice = Some(choice);
            renderer
        });
        renderer.as_mut()
    }
}

impl gvpie_evolve::SoftRenderer for LateGradients {
    fn name(&self) -> String {
        match &self.renderer {
            Some(renderer) => renderer.name(),
            None => "cpu".to_string(),
        }
    }

    fn frees_cpu(&mut self) -> bool {
        self.renderer().frees_cpu()
    }

    fn evaluate(
        &mut self,
        target: &gvpie_evolve::refine::SoftTarget,
        masks: &[Vec<bool>],
        draws: &[gvpie_evolve::refine::Call],
        sigma: f64,
    ) -> Result<gvpie_evolve::refine::SoftResult, String> {
        self.renderer().evaluate(target, masks, draws, sigma)
    }
}

impl Timed<'_> {
    fn timed<T>(&mut self, part: fn(&mut ScorerTimes) -> &mut f64, call: impl FnOnce(&mut dyn ShapeScorer) -> T) -> T {
        let start = Instant::now();
        let out = call(self.inner.as_mut());
        *part(&mut self.times) += start.elapsed().as_secs_f64();
        self.times.calls += 1;
        out
    }
}

impl ShapeScorer for Timed<'_> {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn set_table(&mut self, table: &gvpie_evolve::ErrorTable) {
        self.timed(|t| &mut t.set_table, |s| s.set_table(table));
    }

    fn score(
        &mut self,
        table: &gvpie_evolve::ErrorTable,
        shapes: &[gvpie_evolve::Shape],
    ) -> Vec<Option<gvpie_evolve::Scored>> {
        self.timed(|t| &mut t.score, |s| s.score(table, shapes))
    }

    fn climb(&mut self, table: &gvpie_evolve::ErrorTable, job: &gvpie_evolve::ClimbJob) -> Vec<gvpie_evolve::Climbed> {
        self.timed(|t| &mut t.climb, |s| s.climb(table, job))
    }

    fn soft_renderer(&mut self) -> Option<&mut dyn gvpie_evolve::SoftRenderer> {
        self.inner.soft_renderer()
    }
}

impl ShapeScorer for TimedScorer<'_> {
    fn name(&self) -> String {
        self.timed.name()
    }

    fn set_table(&mut self, table: &gvpie_evolve::ErrorTable) {
        self.timed.set_table(table);
    }

    fn score(
        &mut self,
        table: &gvpie_evolve::ErrorTable,
        shapes: &[gvpie_evolve::Shape],
    ) -> Vec<Option<gvpie_evolve::Scored>> {
        self.timed.score(table, shapes)
    }

    fn climb(&mut self, table: &gvpie_evolve::ErrorTable, job: &gvpie_evolve::ClimbJob) -> Vec<gvpie_evolve::Climbed> {
        self.timed.climb(table, job)
    }

    fn soft_renderer(&mut self) -> Option<&mut dyn gvpie_evolve::SoftRenderer> {
        match &mut self.late {
            Some(late) => Some(late.renderer()),
            None => self.timed.soft_renderer(),
        }
    }

    fn split_gradients(&mut self) -> Option<(&mut dyn ShapeScorer, &mut dyn gvpie_evolve::SoftRenderer)> {
        match &mut self.late {
            // The late GPU itself goes apart: whether it is open (and so frees the CPU) is settled per refinement.
            Some(late) => Some((&mut self.timed, late)),
            None => None,
        }
    }
}

/// Where the refinements computed their gradients: the GPU with its adapter, or the CPU (with the GPU's failure
/// when it moved there).
fn gradients_on(choice: &gvpie_exec::ImageChoice, refinements: &[gvpie_evolve::goal::Refined]) -> String {
    let fell_back = refinements.iter().rev().map(|r| &r.gradients).find(|g| g.starts_with("cpu (")).cloned();
    match (&choice.gradients.adapter, fell_back) {
        (_, Some(why)) => why,
        (Some(adapter), None) => format!("gpu ({adapter})"),
        (None, None) => "cpu".to_string(),
    }
}

/// `gvpie evolve`'s host of the session: nothing is recorded (the command writes its files at the end); a
/// progress bar shows the shapes placed.
struct ProgressHost {
    bar: indicatif::ProgressBar,
    start: Instant,
    scorer: String,
}

impl GoalHost for ProgressHost {
    fn keeps_every_shape(&self) -> bool {
        false
    }

    fn keep(&mut self, kept: &Kept<'_>) -> Result<(), String> {
        if kept.generator == gvpie_evolve::goal::REFINE_GENERATOR {
            self.bar.set_message(format!("refined: {}", kept.detail.unwrap_or_default()));
        }
        Ok(())
    }

    fn stepped(&mut self, progress: &GoalProgress, score: f64) {
        let elapsed = self.start.elapsed().as_secs_f64().max(1e-9);
        self.bar.set_position(progress.steps);
        self.bar.set_message(format!(
            "rmse {score:.5}  {:.2}M candidates/s on {}",
            progress.evaluations as f64 / elapsed / 1e6,
            self.scorer
        ));
    }
}

/// The command's clock.
struct SinceStart(Instant);

impl Clock for SinceStart {
    fn seconds(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// A clap parser for one of the engine's named settings (`FromStr` types of `gvpie_evolve::goal`) that lists the
/// accepted names in `--help` and in its error.
pub(crate) fn named<T>(names: &'static [&'static str]) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: std::str::FromStr<Err = String> + Clone + Send + Sync + 'static,
{
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(names).try_map(|name| name.parse::<T>())
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
fn progress_bar(len: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    let style = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} shapes  {msg}  ETA {eta}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// Reads a PNG or JPEG and resizes it so that its longest side is `longest` pixels.
pub(crate) fn load_target(path: &Path, longest: u32) -> anyhow::Result<Canvas> {
    let bytes = input::read_limited(path)?;
    let shown = path.display();
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| UsageError::new(format!("{shown}: {e}")))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(16_384);
    limits.max_image_height = Some(16_384);
    limits.max_alloc = Some(512 << 20);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| UsageError::new(format!("{shown}: {e}")))?;
    let (w, h) = (decoded.width(), decoded.height());
    let rgba = if w.max(h) == longest {
        decoded.to_rgba8()
    } else {
        // Both sides scale by the same factor; the shorter one is rounded and kept at least 1.
        let scale = |side: u32| {
            ((u64::from(side) * u64::from(longest) + u64::from(w.max(h)) / 2) / u64::from(w.max(h))).max(1) as u32
        };
        decoded.resize_exact(scale(w), scale(h), image::imageops::FilterType::Lanczos3).to_rgba8()
    };
    let (w, h) = rgba.dimensions();
    Canvas::from_rgba8(w, h, rgba.as_raw()).map_err(|e| UsageError::new(format!("{shown}: {e}")).into())
}

/// `--score`: the RMSE of another image against the (resized) target, computed like the search's own.
fn score_only(target: &Canvas, other: &Path, as_json: bool) -> anyhow::Result<ExitCode> {
    let bytes = input::read_limited(other)?;
    let decoded = image::load_from_memory(&bytes).map_err(|e| UsageError::new(format!("{}: {e}", other.display())))?;
    let rgba = decoded.to_rgba8();
    let canvas = Canvas::from_rgba8(rgba.width(), rgba.height(), rgba.as_raw())
        .map_err(|e| UsageError::new(format!("{}: {e}", other.display())))?;
    let Some(rmse) = gvpie_evolve::rmse(target, &canvas) else {
        let message = format!(
            "{} is {}x{}, the resized target {}x{}",
            other.display(),
            canvas.width(),
            canvas.height(),
            target.width(),
            target.height()
        );
        return Err(UsageError::new(message).into());
    };
    if as_json {
        println!("{}", json!({ "rmse": rmse }));
    } else {
        println!("{rmse:.6}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The shapes as SVG: a background rectangle and one polygon or rectangle per shape. Pixel `(x, y)` of the program
/// is the unit square from `(x, y)` to `(x + 1, y + 1)` here, so vertices sit at pixel centres.
fn svg(width: u32, height: u32, background: [u8; 3], placed: &[Placed]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
    );
    let [r, g, b] = background;
    let _ = writeln!(out, r#"<rect width="{width}" height="{height}" fill="rgb({r},{g},{b})"/>"#);
    for p in placed {
        let Rgba { r, g, b, a } = p.color;
        let fill = format!(r#"fill="rgb({r},{g},{b})" fill-opacity="{:.4}""#, f64::from(a) / 255.0);
        match p.shape {
            Shape::Triangle(v) => {
                let points: Vec<String> =
                    v.chunks(2).map(|xy| format!("{},{}", f64::from(xy[0]) + 0.5, f64::from(xy[1]) + 0.5)).collect();
                let _ = writeln!(out, r#"<polygon points="{}" {fill}/>"#, points.join(" "));
            }
            Shape::Rectangle([x0, y0, x1, y1]) => {
                let _ = writeln!(
                    out,
                    r#"<rect x="{x0}" y="{y0}" width="{}" height="{}" {fill}/>"#,
                    x1 - x0 + 1,
                    y1 - y0 + 1
                );
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

/// The build-up, one frame per group of shapes (at most [`MAX_ANIMATION_FRAMES`]), as GIF or, for a `.png`
/// name, animated PNG.
fn animation(path: &Path, width: u32, height: u32, background: [u8; 3], placed: &[Placed]) -> anyhow::Result<Vec<u8>> {
    let mut canvas = Canvas::new(width, height)?;
    canvas.clear(Rgba::new(background[0], background[1], background[2], 255));
    let per_frame = placed.len().div_ceil(MAX_ANIMATION_FRAMES).max(1);
    let mut frames = vec![canvas.clone()];
    for (i, p) in placed.iter().enumerate() {
        p.shape.draw(&mut canvas, p.color);
        if (i + 1) % per_frame == 0 || i + 1 == placed.len() {
            frames.push(canvas.clone());
        }
    }
    let delay_ms = 100u16;
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")) {
        return gvpie_cart::encode_apng(&frames, delay_ms, 1).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    let mut bytes = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new_with_speed(&mut bytes, 10);
        encoder.set_repeat(image::codecs::gif::Repeat::Infinite).context("gif")?;
        let n_frames = frames.len();
        for (i, frame) in frames.into_iter().enumerate() {
            let buffer = image::RgbaImage::from_raw(width, height, frame.to_rgba8())
                .ok_or_else(|| anyhow::anyhow!("internal error: frame size"))?;
            // Hold the final picture longer so the result can be seen.
            let ms = if i + 1 == n_frames { 2000 } else { u32::from(delay_ms) };
            let delay = image::Delay::from_numer_denom_ms(ms, 1);
            encoder.encode_frame(image::Frame::from_parts(buffer, 0, 0, delay)).context("gif")?;
        }
    }
    Ok(bytes)
}
