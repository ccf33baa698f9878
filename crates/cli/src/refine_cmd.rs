//! `gvpie refine`: tune the numbers of a program's drawing instructions towards a target picture with gradients.
//!
//! This module loads the program and the target (PNG or JPEG, through `evolve_cmd::load_target`), picks the soft
//! renderer through [`gvpie_exec::Engine::soft_renderer`] (the GPU's or the CPU's), runs
//! [`gvpie_evolve::refine`] under the `--seconds` budget with a progress bar, checks that the refined program
//! draws the reported picture exactly in the CPU VM, and writes it. The method lives in `gvpie-evolve`
//! (`refine/`; see docs/refine.md); this file only does IO and keeps time.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use gvpie_evolve::refine::{Budget, RefineConfig, RefineProgress};
use gvpie_evolve::{BackendChoice, Clock};
use gvpie_exec::Engine;
use gvpie_raster::Canvas;
use serde_json::json;

use crate::evolve_cmd::{load_target, named};
use crate::{UsageError, input, write_atomically};

/// `gvpie refine` arguments.
#[derive(Args, Debug)]
#[command(after_help = "Only literal numbers are refined: operands computed at run time (variables) stay as they \
are, and the program keeps its control flow (a literal inside a loop is one number shared by every pass). The \
output draws exactly the picture whose RMSE is reported; it is never worse than the input.")]
pub struct RefineArgs {
    /// The program to refine (PXL source).
    program: PathBuf,
    /// The target picture (PNG or JPEG), used at its own size unless the program declares another (SIZE), to which
    /// it is then resized.
    target: PathBuf,
    /// Where to write the refined program.
    #[arg(short, long)]
    output: PathBuf,
    /// Also write the refined program's picture as PNG.
    #[arg(long)]
    png: Option<PathBuf>,
    /// The time budget in seconds: gradient steps (Adam) for most of it, then the exact polish.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// At most this many gradient steps (the clock usually ends the phase first).
    #[arg(long, default_value_t = 100_000)]
    steps: usize,
    /// Where gradients are computed: `gpu` (an error without one), `cpu`, or `auto` (a hardware GPU when there is
    /// one, never a software adapter such as lavapipe; else the CPU). The result is scored by the CPU VM either way.
    #[arg(long, value_parser = named::<BackendChoice>(BackendChoice::NAMES), ignore_case = true, default_value = "auto")]
    backend: BackendChoice,
    /// Resize the target so that its longest side is this many pixels (ignored when the program declares SIZE).
    #[arg(long)]
    resize: Option<u32>,
    /// Weigh the loss towards the target's edges (0: plain mean squared error).
    #[arg(long, default_value_t = 0.0)]
    edge_weight: f64,
    /// Worker threads for the CPU renderer (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    json: bool,
}

/// The command's clock.
struct SinceStart(Instant);

impl Clock for SinceStart {
    fn seconds(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// Runs `gvpie refine`.
pub fn refine(args: RefineArgs) -> anyhow::Result<ExitCode> {
    if !(args.seconds.is_finite() && args.seconds >= 0.0) {
        return Err(
            UsageError::new(format!("--seconds {} must be a number of seconds, 0 or more", args.seconds)).into()
        );
    }
    if !(args.edge_weight.is_finite() && args.edge_weight >= 0.0) {
        return Err(UsageError::new(format!("--edge-weight {} must be 0 or more", args.edge_weight)).into());
    }
    if let Some(side) = args.resize.filter(|s| !(1..=gvpie_raster::MAX_SIDE).contains(s)) {
        return Err(UsageError::new(format!("--resize {side} is out of range (1 to 4096)")).into());
    }
    let bytes = input::read_limited(&args.program)?;
    let shown = args.program.display();
    let source = String::from_utf8(bytes).map_err(|_| UsageError::new(format!("{shown}: not UTF-8 PXL source")))?;
    let texture = gvpie_pxl::compile(&source).map_err(|diagnostics| {
        let rendered: Vec<String> = diagnostics.iter().map(|d| format!("{shown}:{}", d.render())).collect();
        UsageError::new(rendered.join("\n"))
    })?;
    let target = sized_target(&args.target, texture.canvas_size(), args.resize)?;
    let (width, height) = (target.width(), target.height());

    let n_threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let engine = match args.backend {
        BackendChoice::Cpu => Engine::cpu_only(),
        BackendChoice::Gpu | BackendChoice::Auto => Engine::detect(),
    };
    let (mut renderer, choice) = engine
        .soft_renderer(args.backend, n_threads)
        .map_err(|e| UsageError::new(format!("--backend {}: {e}", args.backend)))?;

    let config = RefineConfig { steps: args.steps, edge_weight: args.edge_weight, ..RefineConfig::default() };
    let bar = progress_bar();
    let start = Instant::now();
    let clock = SinceStart(start);
    let budget = Budget { clock: &clock, deadline: Some(args.seconds) };
    let mut show = |p: &RefineProgress| {
        bar.set_position((p.fraction * 1000.0) as u64);
        if p.phase == "adam" {
            bar.set_message(format!("adam  sigma {:.2}  loss {:.6}  best rmse {:.5}", p.sigma, p.soft_loss, p.rmse));
        } else {
            bar.set_message(format!("polish  best rmse {:.5}", p.rmse));
        }
    };
    let result = gvpie_evolve::refine(&source, &target, &config, renderer.as_mut(), n_threads, &budget, &mut show)
        .map_err(|e| UsageError::new(format!("{shown}: {e}")))?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();

    // The program is the result: it must draw exactly the reported picture, at the target's size.
    let program = with_size(&result.source, texture.canvas_size(), width, height);
    let check = gvpie_pxl::compile(&program).map_err(|d| anyhow::anyhow!("internal error: {}", d[0].headline()))?;
    let vm_config = gvpie_pxl::Config { width, height, ..gvpie_pxl::Config::default() }.sized_for(&check, None);
    let rendered = gvpie_pxl::run(&check, &vm_config)?;
    if rendered.canvas != result.canvas || gvpie_evolve::rmse(&target, &rendered.canvas) != Some(result.rmse_after) {
        anyhow::bail!("internal error: the refined program does not draw the refined picture");
    }
    write_atomically(&args.output, program.as_bytes())?;
    if let Some(path) = &args.png {
        write_atomically(path, &gvpie_cart::encode_png(&result.canvas, 1))?;
    }

    let gradients_on = match (&choice.adapter, &result.fallback) {
        (_, Some(why)) => format!("cpu (the GPU failed: {why})"),
        (Some(adapter), None) => format!("gpu ({adapter})"),
        (None, None) => "cpu".to_string(),
    };
    let change = if result.rmse_before > 0.0 { (result.rmse_after / result.rmse_before - 1.0) * 100.0 } else { 0.0 };
    if args.json {
        let summary = json!({
            "width": width,
            "height": height,
            "rmse_before": result.rmse_before,
            "rmse_after": result.rmse_after,
            "rmse_rounded": result.rmse_rounded,
            "params": result.n_params,
            "draws": result.n_draws,
            "steps": result.steps,
            "exact_runs": result.exact_runs,
            "seconds": seconds,
            "gradients_on": gradients_on,
            "status": match result.status {
                gvpie_pxl::Status::Halted => "halted".to_string(),
                gvpie_pxl::Status::Trapped(trap) => trap.kind.name().to_string(),
                gvpie_pxl::Status::Running => "running".to_string(),
            },
        });
        println!("{summary}");
    }
    eprintln!(
        "rmse {:.5} -> {:.5} ({change:+.1}%), {width}x{height}, {} numbers in {} drawing calls, {} gradient steps, {} \
         VM runs, {seconds:.2} s, gradients on {gradients_on}",
        result.rmse_before, result.rmse_after, result.n_params, result.n_draws, result.steps, result.exact_runs
    );
    Ok(ExitCode::SUCCESS)
}

/// The target at the size the program declares (resized to exactly that), else at `--resize`, else its own.
fn sized_target(path: &Path, declared: Option<(u32, u32)>, resize: Option<u32>) -> anyhow::Result<Canvas> {
    let Some((width, height)) = declared else {
        let longest = match resize {
            Some(side) => side,
            None => own_longest_side(path)?,
        };
        return load_target(path, longest);
    };
    let loaded = load_target(path, width.max(height))?;
    if (loaded.width(), loaded.height()) == (width, height) {
        return Ok(loaded);
    }
    // Another aspect ratio: stretch to the declared size.
    let image = image::RgbaImage::from_raw(loaded.width(), loaded.height(), loaded.to_rgba8())
        .ok_or_else(|| anyhow::anyhow!("internal error: image size"))?;
    let resized = image::imageops::resize(&image, width, height, image::imageops::FilterType::Lanczos3);
    Canvas::from_rgba8(width, height, resized.as_raw()).map_err(|e| UsageError::new(e.to_string()).into())
}

/// The longest side of the picture at `path`, at most the canvas limit.
fn own_longest_side(path: &Path) -> anyhow::Result<u32> {
    let bytes = input::read_limited(path)?;
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| UsageError::new(format!("{}: {e}", path.display())))?;
    let (w, h) = reader.into_dimensions().map_err(|e| UsageError::new(format!("{}: {e}", path.display())))?;
    Ok(w.max(h).clamp(1, gvpie_raster::MAX_SIDE))
}

/// `program` declaring the canvas it was refined on: a `SIZE` line is added (after the leading comments) when it
/// declares none, so that a plain `gvpie run` draws the reported picture.
fn with_size(program: &str, declared: Option<(u32, u32)>, width: u32, height: u32) -> String {
    if declared.is_some() {
        return program.to_string();
    }
    let mut out = String::with_capacity(program.len() + 16);
    let mut inserted = false;
    for line in program.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let comment = trimmed.starts_with('#') || trimmed.starts_with(';');
        if !inserted && !comment {
            out.push_str(&format!("{} {width} {height}\n", gvpie_pxl::SIZE_DIRECTIVE));
            inserted = true;
        }
        out.push_str(line);
    }
    if !inserted {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("{} {width} {height}\n", gvpie_pxl::SIZE_DIRECTIVE));
    }
    out
}

/// A progress bar on stderr (hidden when stderr is not a terminal), in thousandths of the budget.
fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(1000);
    let style = indicatif::ProgressStyle::with_template("{bar:30} {elapsed}  {msg}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
