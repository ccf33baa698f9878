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
use clap::{Args, ValueEnum};
use gvpie_evolve::{CascadeEffort, Effort, ImageGoalConfig, ImageSearch, Placed, Shape, ShapeKinds, Strategy};
use gvpie_exec::{BackendChoice, Engine};
use gvpie_raster::{Canvas, Rgba};
use serde_json::json;

use crate::run::Backend;
use crate::{UsageError, input, write_atomically};

/// The most hill climbers `--climbers` may ask for.
const MAX_CLIMBERS: u32 = 1 << 20;

/// The most survivors `--survivors` may ask for (each is refined at full size on the CPU).
const MAX_SURVIVORS: u32 = 1024;

/// The most frames written to `--gif`: later shapes are grouped so the animation stays small.
const MAX_ANIMATION_FRAMES: usize = 100;

/// Which shapes to place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Triangles (`TRI`), like primitive's `-m 1`.
    Tri,
    /// Rectangles (`RECT`), like primitive's `-m 2`.
    Rect,
    /// Both.
    Both,
}

/// How the candidates are searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchStrategy {
    /// primitive's scheme at full size: best-of-N random starts, hill climbing, prefix-sum scoring.
    Fast,
    /// The plain random-restart hill climb baseline, scoring every pixel.
    Plain,
    /// The evaluator cascade (the default): many hill climbers on a reduced canvas scored in batches (on the GPU
    /// with --backend gpu), then the best few refined at full size.
    Cascade,
}

/// The cascade's effort presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EffortPreset {
    /// Sized for the CPU scorer.
    Cpu,
    /// Sized for the GPU scorer.
    Gpu,
}

/// Arguments of `gvpie evolve`.
#[derive(Args)]
pub struct EvolveArgs {
    /// The target image (PNG or JPEG).
    target: PathBuf,
    /// How many shapes to place.
    #[arg(short = 'n', long = "shapes", default_value_t = 100)]
    n_shapes: usize,
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
    /// Stop adding shapes after this many seconds, even if fewer than --shapes are placed.
    #[arg(long)]
    seconds: Option<f64>,
    /// Where the cascade's batches are scored: `gpu` (an error without one), `cpu`, or `auto` (a hardware GPU when
    /// there is one, else the CPU; a software adapter such as lavapipe is slower than the CPU). The program is the
    /// same whichever scores: the GPU computes exactly the CPU's numbers.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    backend: Backend,
    /// Seed of the search: the same seed gives the same program, whatever the number of threads.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Resize the target so that its longest side is this many pixels (1 to 4096).
    #[arg(long, default_value_t = 256)]
    resize: u32,
    /// Which shapes to place.
    #[arg(short, long, value_enum, default_value_t = Mode::Tri)]
    mode: Mode,
    /// Alpha of every shape (1 to 255), or 0 to solve it per shape like the colour.
    #[arg(short, long, default_value_t = 128)]
    alpha: u8,
    /// Worker threads (default: all cores).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
    /// Search strategy.
    #[arg(long, value_enum, default_value_t = SearchStrategy::Cascade)]
    strategy: SearchStrategy,
    /// Cascade: the effort preset, sized for the CPU scorer (256 resident climbers of 64 random starts, each
    /// climbing until 64 mutations in a row fail; 8 survivors) or for the GPU (4096 such climbers, one GPU
    /// workgroup each, one dispatch per shape; 16 survivors). Default: the scorer's. With the same preset, the CPU and the GPU
    /// find the same program.
    #[arg(long, value_enum)]
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
    /// Print a JSON summary on stdout.
    #[arg(long)]
    json: bool,
    /// Only print the RMSE of this image (same size as the resized target) against the target, and exit.
    #[arg(long, value_name = "IMAGE")]
    score: Option<PathBuf>,
}

/// Runs `gvpie evolve`.
pub fn evolve(args: EvolveArgs) -> anyhow::Result<ExitCode> {
    if args.backend == Backend::Gpu && args.strategy != SearchStrategy::Cascade {
        return Err(UsageError::new(format!(
            "--backend gpu scores the cascade's batches; --strategy {} searches on the CPU only (use --strategy \
             cascade)",
            if args.strategy == SearchStrategy::Fast { "fast" } else { "plain" }
        ))
        .into());
    }
    if args.backend == Backend::Gpu && args.alpha == 0 {
        return Err(UsageError::new(
            "--backend gpu needs a fixed --alpha (1 to 255): a solved alpha is computed in floating point on the CPU",
        )
        .into());
    }
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
    if !(1..=gvpie_raster::MAX_SIDE).contains(&args.resize) {
        return Err(UsageError::new(format!("--resize {} is out of range (1 to 4096)", args.resize)).into());
    }
    if let Some(seconds) = args.seconds
        && !(seconds.is_finite() && seconds >= 0.0)
    {
        return Err(UsageError::new(format!("--seconds {seconds} must be a number of seconds, 0 or more")).into());
    }
    let target = load_target(&args.target, args.resize)?;
    if let Some(other) = &args.score {
        return score_only(&target, other, args.json);
    }
    let Some(output) = args.output.as_deref() else {
        return Err(UsageError::new("--output is required").into());
    };
    let n_threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // Opening a GPU takes up to a second: only when the cascade may score there.
    let engine = match (args.strategy, args.backend) {
        (SearchStrategy::Cascade, Backend::Gpu | Backend::Auto) if args.alpha != 0 => Engine::detect(),
        _ => Engine::cpu_only(),
    };
    let choice = match args.backend {
        Backend::Cpu => BackendChoice::Cpu,
        Backend::Gpu => BackendChoice::Gpu,
        Backend::Auto => BackendChoice::Auto,
    };
    let (mut scorer, scorer_choice) = engine
        .shape_scorer(choice, n_threads.max(1))
        .map_err(|e| UsageError::new(format!("--backend {}: {e}", backend_name(args.backend))))?;
    let preset = match (args.effort, scorer_choice.backend) {
        _ if args.climb_failures == Some(0) => CascadeEffort::LOCKSTEP,
        (Some(EffortPreset::Gpu), _) | (None, "gpu") => CascadeEffort::GPU,
        _ => CascadeEffort::DEFAULT,
    };
    let preset = CascadeEffort { climb_failures: args.climb_failures.unwrap_or(preset.climb_failures), ..preset };
    let config = ImageGoalConfig {
        n_shapes: args.n_shapes,
        kinds: match args.mode {
            Mode::Tri => ShapeKinds::Triangles,
            Mode::Rect => ShapeKinds::Rectangles,
            Mode::Both => ShapeKinds::Both,
        },
        alpha: args.alpha,
        min_alpha: 1,
        seed: args.seed,
        n_threads: n_threads.max(1),
        effort: Effort {
            restarts: args.restarts,
            random_tries: args.tries,
            max_failures: args.failures,
            polish: Effort::DEFAULT.polish,
        },
        strategy: match args.strategy {
            SearchStrategy::Fast => Strategy::Fast,
            SearchStrategy::Plain => Strategy::Plain,
            SearchStrategy::Cascade => Strategy::Cascade,
        },
        cascade: CascadeEffort {
            climbers: args.climbers.unwrap_or(preset.climbers),
            survivors: args.survivors.unwrap_or(preset.survivors),
            ..preset
        },
    };

    let (width, height) = (target.width(), target.height());
    let mut search = ImageSearch::new(target, config).map_err(|e| UsageError::new(e.to_string()))?;
    let start_rmse = search.rmse();

    let bar = progress_bar(args.n_shapes as u64);
    let start = Instant::now();
    while !search.is_done() {
        if args.seconds.is_some_and(|limit| start.elapsed().as_secs_f64() >= limit) {
            break;
        }
        let report = search.step_with(scorer.as_mut());
        let elapsed = start.elapsed().as_secs_f64().max(1e-9);
        bar.set_position(search.placed().len() as u64);
        bar.set_message(format!(
            "rmse {:.5}  {:.2}M candidates/s on {}",
            report.rmse,
            search.n_candidates() as f64 / elapsed / 1e6,
            scorer.name()
        ));
    }
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    // The scorer's name says whether the GPU held to the end.
    let scored_on = match (args.strategy, &scorer_choice.adapter) {
        (SearchStrategy::Cascade, Some(adapter)) if scorer.name() == "gpu" => format!("gpu ({adapter})"),
        (SearchStrategy::Cascade, _) => scorer.name(),
        _ => "cpu".to_string(),
    };

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
    if args.json {
        let summary = json!({
            "shapes": n_placed,
            "width": width,
            "height": height,
            "rmse": search.rmse(),
            "start_rmse": start_rmse,
            "seconds": seconds,
            "candidates": search.n_candidates(),
            "cycles": rendered.cycles,
            "seed": args.seed,
            "threads": n_threads,
            "strategy": format!("{:?}", args.strategy).to_lowercase(),
            "scored_on": scored_on,
            "adapter": scorer_choice.adapter,
        });
        println!("{summary}");
    } else {
        eprintln!(
            "{n_placed} shapes, {width}x{height}, rmse {:.5} (from {:.5}), {seconds:.2} s, {:.2}M candidates, scored on \
             {scored_on}",
            search.rmse(),
            start_rmse,
            search.n_candidates() as f64 / 1e6
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Cpu => "cpu",
        Backend::Gpu => "gpu",
        Backend::Auto => "auto",
    }
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
