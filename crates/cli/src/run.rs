//! `gvpie run`: execute a program through the engine (`gvpie-exec`) and report its result as
//! text or JSON.
//!
//! The engine decides `--backend auto` (one program runs on the CPU, so `auto` never opens a
//! GPU device here), runs the program under `--timeout` and builds the result
//! ([`gvpie_exec::ResultJson`], the API's shape); this module adds the canvas size, the frame
//! count, the adapter and the GPU fallback to the JSON, and writes the images.
//!
//! Exit status 0 on success, 1 on a run-time error, the time limit or Ctrl-C (the canvas drawn
//! so far is still written), 2 on a source or usage error. The first Ctrl-C (SIGINT) stops the
//! run at its next check like `--timeout` does (error kind `time_limit`, message `cancelled
//! after …`); a second one ends the process at once (status 130).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use gvpie_exec::{BackendChoice, BackendName, CancelFlag, Engine, ExecError, Outcome, ResultJson, Stop};
use gvpie_pxl::{Config, Diagnostic, StepEvent, Texture};
use serde_json::{Value, json};

use crate::{UsageError, input, write_atomically};

/// The most cycles a caller may ask for.
pub const MAX_BUDGET: u64 = 1_000_000_000_000;
/// The largest `--scale`.
pub const MAX_SCALE: u32 = 64;

/// Arguments of `gvpie run`.
#[derive(Args)]
pub struct RunArgs {
    /// The program: PXL source (`-` for stdin), a cartridge PNG or a machine texture.
    file: PathBuf,
    /// Write the final canvas as PNG (also after a run-time error).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Which backend executes: cpu, gpu or auto (any case; auto: the engine's rule, the CPU for one program).
    #[arg(long, value_parser = crate::evolve_cmd::named::<BackendChoice>(BackendChoice::NAMES), ignore_case = true,
          default_value = "auto")]
    backend: BackendChoice,
    /// CPU execution tier: interp, jit or auto (any case; auto: interpret first, compile to native code once the
    /// program has run long enough). Every tier gives the same results; the JSON's `tier` says which ran.
    #[arg(long, default_value = "auto")]
    tier: gvpie_exec::Tier,
    /// Canvas size, WxH (1x1 to 4096x4096); default: the size the program declares (`SIZE`), else 128x64.
    /// A size other than the declared one wins, with a warning.
    #[arg(long, value_parser = parse_size)]
    size: Option<(u32, u32)>,
    /// Instructions the program may execute.
    #[arg(long, default_value_t = gvpie_pxl::DEFAULT_BUDGET)]
    budget: u64,
    /// Nearest-neighbour upscale factor for written images (1 to 64).
    #[arg(long, default_value_t = 1)]
    scale: u32,
    /// Print each executed instruction: cycle, line, the instruction and the variable it changed.
    #[arg(long)]
    trace: bool,
    /// Write every FRAME as DIR/frame_NNNN.png.
    #[arg(long, value_name = "DIR")]
    frames: Option<PathBuf>,
    /// Write the FRAMEs as one animated PNG.
    #[arg(long, value_name = "OUT.png")]
    anim: Option<PathBuf>,
    /// Milliseconds per frame in the animation.
    #[arg(long, default_value_t = 100)]
    frame_ms: u16,
    /// Keep at most this many frames.
    #[arg(long, default_value_t = gvpie_pxl::DEFAULT_MAX_FRAMES)]
    max_frames: usize,
    /// Stop the program after this many seconds (a `time_limit` error, exit status 1; the
    /// canvas so far is still written). No limit by default. Checked between slices on the CPU;
    /// a GPU dispatch, once started, runs to its budget.
    #[arg(long, value_name = "SECONDS", value_parser = parse_timeout)]
    timeout: Option<Duration>,
}

/// The longest `--timeout`, in seconds (a year).
pub const MAX_TIMEOUT_S: f64 = 365.0 * 24.0 * 3600.0;

/// Parses `--timeout`: seconds, a decimal number above 0 and at most [`MAX_TIMEOUT_S`].
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text.trim().parse().map_err(|_| format!("timeout '{text}' must be a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= MAX_TIMEOUT_S) {
        return Err(format!("timeout {text} is out of range (above 0, at most {MAX_TIMEOUT_S} seconds)"));
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("timeout '{text}': {e}"))
}

/// Kept frames may take at most this much memory together.
pub const MAX_FRAME_BYTES: u64 = 1 << 30;

/// `--max-frames`, lowered so the kept frames fit in [`MAX_FRAME_BYTES`] (a 4096×4096 canvas
/// is 64 MiB a frame).
fn frames_that_fit(max_frames: usize, (width, height): (u32, u32)) -> usize {
    let frame_bytes = u64::from(width) * u64::from(height) * 4;
    max_frames.min(usize::try_from(MAX_FRAME_BYTES / frame_bytes.max(1)).unwrap_or(usize::MAX))
}

/// Parses `WxH`.
pub fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(|| format!("size '{text}' must look like 128x64"))?;
    let parse = |s: &str| s.trim().parse::<u32>().map_err(|_| format!("size '{text}' must look like 128x64"));
    let (w, h) = (parse(w)?, parse(h)?);
    let max = gvpie_raster::MAX_SIDE;
    if w == 0 || h == 0 || w > max || h > max {
        return Err(format!("size {w}x{h} is out of range (1x1 to {max}x{max})"));
    }
    Ok((w, h))
}

fn print_json(value: &Value) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Runs `gvpie run`.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    if args.budget > MAX_BUDGET {
        return Err(UsageError::new(format!("--budget {} is above the limit of {MAX_BUDGET}", args.budget)).into());
    }
    if args.scale == 0 || args.scale > MAX_SCALE {
        return Err(UsageError::new(format!("--scale {} is out of range (1 to {MAX_SCALE})", args.scale)).into());
    }
    let wants_frames = args.frames.is_some() || args.anim.is_some();
    let mut config = Config { budget: args.budget, max_frames: usize::from(wants_frames), ..Config::default() };
    // Open the GPU before loading, so a missing adapter is reported first (exit 2).
    let engine = open_engine(&args, &config)?.with_tier(args.tier);
    let start = Instant::now();
    let loaded = input::load(&args.file)?;
    let texture = match loaded.program {
        Ok(texture) => texture,
        Err(diagnostics) => return report_parse_errors(&args, &diagnostics, start),
    };
    // The program's own size (`SIZE`) unless --size asks for another, which wins with a warning.
    config = config.sized_for(&texture, args.size);
    if let (Some((w, h)), Some((dw, dh))) = (args.size, texture.canvas_size())
        && (w, h) != (dw, dh)
    {
        eprintln!(
            "gvpie: warning: {} declares SIZE {dw} {dh}; running at --size {w}x{h}{}",
            args.file.display(),
            if w < dw || h < dh { " (the picture is cropped)" } else { "" }
        );
    }
    config.max_frames = if wants_frames { frames_that_fit(args.max_frames, (config.width, config.height)) } else { 0 };
    // Ctrl-C stops the run like the deadline does, so the canvas so far is still written.
    let interrupted = CancelFlag::new();
    cancel_on_ctrl_c(interrupted.clone());
    let stop = args.timeout.map_or_else(Stop::never, Stop::after).with_cancel(interrupted.clone());
    let outcome = if args.trace {
        run_traced(&engine, &texture, &config, &stop, loaded.source.as_deref(), args.json)?
    } else {
        engine.execute_until(&texture, &config, args.backend, &stop).map_err(|e| usage_error(&args, e))?
    };
    write_outputs(&args, &outcome.result)?;
    if interrupted.is_cancelled() && outcome.stopped.is_some() {
        let written = args.output.as_ref().map(|p| format!("; the canvas so far is in {}", p.display()));
        eprintln!("gvpie: interrupted (Ctrl-C){}", written.unwrap_or_default());
    }
    let result = ResultJson::from_outcome(&outcome, texture.code_words().len());
    if let Some(reason) = &outcome.gpu_fallback {
        eprintln!("gvpie: the GPU failed ({reason}); the program ran on the CPU");
    }
    if let (Some(reason), gvpie_exec::Tier::Jit) = (&outcome.jit_fallback, args.tier) {
        eprintln!("gvpie: --tier jit: {reason}; the program ran interpreted");
    }
    if args.json {
        let mut object = serde_json::to_value(&result)?;
        object["width"] = json!(config.width);
        object["height"] = json!(config.height);
        object["frames"] = json!(outcome.result.n_frames);
        if let (BackendName::Gpu, Some(adapter)) = (outcome.backend, engine.gpu_adapter()) {
            object["adapter"] = json!(adapter);
        }
        if let Some(reason) = &outcome.gpu_fallback {
            object["gpu_fallback"] = json!(reason);
        }
        print_json(&object)?;
    } else if let Some(error) = &result.error {
        eprintln!(
            "{}:{}: run-time error: {} (after {} cycles)",
            args.file.display(),
            error.line.unwrap_or(0),
            error.message,
            result.cycles
        );
    } else {
        eprintln!("ok: {} cycles on {} in {:.3} ms", result.cycles, result.backend, result.duration_ms);
    }
    Ok(if result.success { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Sets `flag` on the first Ctrl-C (SIGINT); a second one exits at once with status 130. The
/// handler is installed on a thread of its own, which ends with the process.
fn cancel_on_ctrl_c(flag: CancelFlag) {
    let watcher = move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_io().build() else { return };
        runtime.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                flag.cancel();
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        });
    };
    // Without the thread, Ctrl-C keeps its default effect (the process ends at once).
    let _ = std::thread::Builder::new().name("ctrl-c".to_string()).spawn(watcher);
}

/// The engine for `args`: `--backend cpu`, and `auto` where the engine's rule
/// ([`Engine::auto_prefers_gpu`]) keeps one program on the CPU, never open a GPU device.
/// `--backend gpu` without an adapter, or with `--trace`/`--frames`/`--anim` (CPU features),
/// is a usage error (exit 2).
fn open_engine(args: &RunArgs, config: &Config) -> anyhow::Result<Engine> {
    match args.backend {
        BackendChoice::Cpu => Ok(Engine::cpu_only()),
        BackendChoice::Auto if args.trace || !Engine::auto_prefers_gpu(1, config) => Ok(Engine::cpu_only()),
        BackendChoice::Auto => Ok(Engine::detect()),
        BackendChoice::Gpu => {
            if args.trace {
                return Err(
                    UsageError::new("--backend gpu: --trace is a CPU feature; use --backend cpu or auto").into()
                );
            }
            if config.max_frames > 0 || args.frames.is_some() || args.anim.is_some() {
                return Err(UsageError::new(
                    "--backend gpu: frame capture (--frames, --anim) is a CPU feature; use --backend cpu or auto",
                )
                .into());
            }
            let engine = Engine::detect();
            engine.backend_for(BackendChoice::Gpu, 1, config).map_err(|e| usage_error(args, e))?;
            Ok(engine)
        }
    }
}

/// An engine error as a usage error (exit 2): `--backend gpu: why` when the GPU cannot run.
fn usage_error(args: &RunArgs, err: ExecError) -> anyhow::Error {
    match (args.backend, err) {
        (BackendChoice::Gpu, ExecError::GpuUnavailable(why)) => UsageError::new(format!("--backend gpu: {why}")).into(),
        (_, err) => UsageError::new(err.to_string()).into(),
    }
}

fn report_parse_errors(args: &RunArgs, diagnostics: &[Diagnostic], start: Instant) -> anyhow::Result<ExitCode> {
    if args.json {
        let result = ResultJson::from_diagnostics(diagnostics, BackendName::Cpu, start.elapsed());
        print_json(&serde_json::to_value(&result)?)?;
    } else {
        // Named like `gvpie check` names them: FILE:LINE:COLUMN: message.
        for diagnostic in diagnostics {
            eprintln!("{}:{}", args.file.display(), diagnostic.render());
        }
    }
    Ok(ExitCode::from(2))
}

fn run_traced(
    engine: &Engine,
    texture: &Texture,
    config: &Config,
    stop: &Stop,
    source: Option<&str>,
    json: bool,
) -> anyhow::Result<Outcome> {
    use std::io::Write;
    let names = texture.names().map(|n| n.variables).unwrap_or_default();
    let source_lines: Vec<&str> = source.map(|s| s.lines().collect()).unwrap_or_default();
    // With --json, stdout holds only the JSON object, so the trace goes to stderr.
    let mut out: Box<dyn Write> = if json {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
    };
    let mut failed = None;
    let mut tracer = |event: &StepEvent| {
        if failed.is_some() {
            return;
        }
        let text = source_lines
            .get(event.line.wrapping_sub(1) as usize)
            .map(|l| l.trim().to_string())
            .unwrap_or_else(|| event.op.map_or("<invalid>", |op| op.info().mnemonic).to_string());
        let change = event.write.map(|w| {
            let name = names.get(w.index as usize).cloned().unwrap_or_else(|| format!("v{}", w.index));
            format!("  {name}: {} -> {}", w.old, w.new)
        });
        if let Err(err) = writeln!(out, "{:>8} {:>5}  {text}{}", event.cycle, event.line, change.unwrap_or_default()) {
            failed = Some(err);
        }
    };
    let outcome =
        engine.execute_traced(texture, config, stop, &mut tracer).map_err(|e| UsageError::new(e.to_string()))?;
    out.flush()?;
    if let Some(err) = failed {
        return Err(err.into());
    }
    Ok(outcome)
}

fn write_outputs(args: &RunArgs, result: &gvpie_pxl::RunResult) -> anyhow::Result<()> {
    if let Some(path) = &args.output {
        write_atomically(path, &gvpie_cart::encode_png(&result.canvas, args.scale))?;
    }
    let wants_frames = args.frames.is_some() || args.anim.is_some();
    if wants_frames && result.n_frames > result.frames.len() as u64 {
        eprintln!(
            "gvpie: note: the program drew {} frames; kept the first {} (--max-frames, and at most {} MiB of frames)",
            result.n_frames,
            result.frames.len(),
            MAX_FRAME_BYTES >> 20
        );
    }
    if let Some(dir) = &args.frames {
        std::fs::create_dir_all(dir).map_err(|e| UsageError::new(format!("{}: {e}", dir.display())))?;
        for (index, frame) in result.frames.iter().enumerate() {
            write_atomically(&dir.join(format!("frame_{index:04}.png")), &gvpie_cart::encode_png(frame, args.scale))?;
        }
    }
    if let Some(path) = &args.anim {
        let frames = if result.frames.is_empty() { std::slice::from_ref(&result.canvas) } else { &result.frames[..] };
        let png =
            gvpie_cart::encode_apng(frames, args.frame_ms, args.scale).map_err(|e| UsageError::new(e.to_string()))?;
        write_atomically(path, &png)?;
    }
    Ok(())
}
