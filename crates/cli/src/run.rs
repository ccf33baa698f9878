//! `gvpie run`: execute a program and report its result as text or JSON.
//!
//! Exit status 0 on success, 1 on a run-time error (the canvas drawn so far is still written),
//! 2 on a source or usage error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, ValueEnum};
use gvpie_pxl::{Config, Diagnostic, Status, StepEvent, Texture, Vm};
use serde_json::{Value, json};

use crate::{UsageError, input, write_atomically};

/// The most cycles a caller may ask for.
pub const MAX_BUDGET: u64 = 1_000_000_000_000;
/// The largest `--scale`.
pub const MAX_SCALE: u32 = 64;

/// Which backend executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The CPU reference VM.
    Cpu,
    /// The GPU (wgpu) backend.
    Gpu,
    /// The GPU when one is present and the work is large enough, else the CPU.
    Auto,
}

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
    /// Which backend executes.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    backend: Backend,
    /// Canvas size, WxH (1x1 to 4096x4096).
    #[arg(long, value_parser = parse_size, default_value = "128x64")]
    size: (u32, u32),
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

fn diagnostic_json(d: &Diagnostic) -> Value {
    json!({ "line": d.line, "column": d.column, "message": d.message })
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
    // Open the GPU before loading, so a missing adapter is reported first (exit 2).
    let gpu = choose_gpu(&args, wants_frames)?;
    let start = Instant::now();
    let loaded = input::load(&args.file)?;
    let texture = match loaded.program {
        Ok(texture) => texture,
        Err(diagnostics) => return report_parse_errors(&args, &diagnostics, start),
    };
    let config = Config {
        width: args.size.0,
        height: args.size.1,
        budget: args.budget,
        max_frames: if wants_frames { frames_that_fit(args.max_frames, args.size) } else { 0 },
    };
    let mut ran = Ran { backend: "cpu", adapter: None, fallback: None };
    let result = if args.trace {
        run_traced(&texture, &config, loaded.source.as_deref(), args.json)?
    } else if let Some(gpu) = &gpu {
        let batch =
            gpu.run_batch(std::slice::from_ref(&texture), &config).map_err(|e| UsageError::new(e.to_string()))?;
        match batch.ran_on {
            gvpie_gpu::RanOn::Gpu => {
                ran = Ran { backend: "gpu", adapter: Some(gpu.adapter_info().name.clone()), fallback: None }
            }
            gvpie_gpu::RanOn::CpuFallback { reason } => ran.fallback = Some(reason),
        }
        batch.results.into_iter().next().ok_or_else(|| UsageError::new("the GPU returned no result"))?
    } else {
        gvpie_pxl::run(&texture, &config).map_err(|e| UsageError::new(e.to_string()))?
    };
    let duration_ms = start.elapsed().as_secs_f64() * 1000.0;
    write_outputs(&args, &result)?;
    let code_words = texture.code_words().len();
    let error = match result.status {
        Status::Trapped(trap) => Some(json!({
            "kind": trap.kind.name(),
            "message": trap.message(config.budget, code_words),
            "line": trap.line,
        })),
        _ => None,
    };
    let success = error.is_none();
    if let Some(reason) = &ran.fallback {
        eprintln!("gvpie: the GPU failed ({reason}); the program ran on the CPU");
    }
    if args.json {
        let mut object = json!({
            "success": success,
            "cycles": result.cycles,
            "backend": ran.backend,
            "duration_ms": duration_ms,
            "error": error,
            "width": config.width,
            "height": config.height,
            "frames": result.n_frames,
        });
        if let Some(adapter) = &ran.adapter {
            object["adapter"] = json!(adapter);
        }
        if let Some(reason) = &ran.fallback {
            object["gpu_fallback"] = json!(reason);
        }
        print_json(&object)?;
    } else if let Status::Trapped(trap) = result.status {
        eprintln!(
            "{}:{}: run-time error: {} (after {} cycles)",
            args.file.display(),
            trap.line,
            trap.message(config.budget, code_words),
            result.cycles
        );
    } else {
        eprintln!("ok: {} cycles on {} in {duration_ms:.3} ms", result.cycles, ran.backend);
    }
    Ok(if success { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The backend that really ran, for the report.
struct Ran {
    /// `"cpu"` or `"gpu"`.
    backend: &'static str,
    /// The adapter's name, when the GPU ran.
    adapter: Option<String>,
    /// Why the GPU batch fell back to the CPU, if it did.
    fallback: Option<String>,
}

/// The GPU to run on, or `None` for the CPU. `--backend gpu` without an adapter, or with
/// `--trace`/`--frames`/`--anim` (CPU features), is a usage error (exit 2). `auto` follows
/// `gvpie_gpu::auto_prefers_gpu`: `gvpie run` executes one program, which is CPU work, so
/// `auto` runs it on the CPU without opening a GPU device.
fn choose_gpu(args: &RunArgs, wants_frames: bool) -> anyhow::Result<Option<gvpie_gpu::GpuBackend>> {
    match args.backend {
        Backend::Cpu => Ok(None),
        Backend::Auto => {
            if args.trace || wants_frames || !gvpie_gpu::auto_prefers_gpu(1) {
                return Ok(None);
            }
            Ok(gvpie_gpu::GpuBackend::new().ok())
        }
        Backend::Gpu => {
            if args.trace {
                return Err(
                    UsageError::new("--backend gpu: --trace is a CPU feature; use --backend cpu or auto").into()
                );
            }
            if wants_frames {
                return Err(UsageError::new(
                    "--backend gpu: frame capture (--frames, --anim) is a CPU feature; use --backend cpu or auto",
                )
                .into());
            }
            gvpie_gpu::GpuBackend::new().map(Some).map_err(|e| UsageError::new(format!("--backend gpu: {e}")).into())
        }
    }
}

fn report_parse_errors(args: &RunArgs, diagnostics: &[Diagnostic], start: Instant) -> anyhow::Result<ExitCode> {
    if args.json {
        let first = &diagnostics[0];
        let message = diagnostics.iter().map(Diagnostic::headline).collect::<Vec<_>>().join("\n");
        print_json(&json!({
            "success": false,
            "cycles": 0,
            "backend": "cpu",
            "duration_ms": start.elapsed().as_secs_f64() * 1000.0,
            "error": {
                "kind": "parse",
                "message": message,
                "line": first.line,
                "column": first.column,
                "diagnostics": diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
            },
        }))?;
    } else {
        eprintln!("{}", gvpie_pxl::render_all(diagnostics));
    }
    Ok(ExitCode::from(2))
}

fn run_traced(
    texture: &Texture,
    config: &Config,
    source: Option<&str>,
    json: bool,
) -> anyhow::Result<gvpie_pxl::RunResult> {
    use std::io::Write;
    let names = texture.names().map(|n| n.variables).unwrap_or_default();
    let source_lines: Vec<&str> = source.map(|s| s.lines().collect()).unwrap_or_default();
    let mut vm = Vm::new(texture, config).map_err(|e| UsageError::new(e.to_string()))?;
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
    vm.run_traced(u64::MAX, &mut tracer);
    out.flush()?;
    if let Some(err) = failed {
        return Err(err.into());
    }
    Ok(vm.into_result())
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
