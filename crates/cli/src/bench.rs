//! `gvpie bench cpu`: the CPU VM side by side with Lua 5.4 on the same work, plus parse and
//! end-to-end costs.
//!
//! Runs alternate (gvpie, Lua, gvpie, Lua, ...) so that drift on a noisy machine hits both
//! sides alike; medians are reported with their ratio. The PXL and Lua programs are the files
//! in `bench/`, compiled into the binary so the command works from any directory.
//!
//! `--tier` picks the CPU execution tier timed in the gvpie column (default `auto`: what
//! `gvpie run` does, compilation included); the interpreter is timed in the same rounds beside
//! it, so every ratio comes from one run. The report also gives the compiled tier's compile
//! time per 1,000 instructions and the `auto` threshold.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use gvpie_pxl::{Config, Status};
use serde_json::json;

use crate::UsageError;

const LOOP_PXL: &str = include_str!("../../../bench/loop.pxl");
const LOOP_LUA: &str = include_str!("../../../bench/loop.lua");
const XOR_PXL: &str = include_str!("../../../bench/xor.pxl");
const XOR_LUA: &str = include_str!("../../../bench/xor.lua");
const ALU_PXL: &str = include_str!("../../../bench/alu.pxl");
const ALU_LUA: &str = include_str!("../../../bench/alu.lua");
const FILL_PXL: &str = include_str!("../../../bench/fill.pxl");
const FILL_LUA: &str = include_str!("../../../bench/fill.lua");

/// Arguments of `gvpie bench cpu`.
#[derive(Args)]
pub struct CpuBenchArgs {
    /// Timed runs of each side (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The Lua interpreter to compare against.
    #[arg(long, default_value = "lua5.4")]
    lua: String,
    /// Print the results as one JSON object.
    #[arg(long)]
    json: bool,
    /// The CPU execution tier of the gvpie column: interp, jit or auto (the interpreter is
    /// always timed beside it).
    #[arg(long, default_value = "auto")]
    tier: gvpie_exec::Tier,
}

struct Workload {
    name: &'static str,
    pxl: &'static str,
    lua: &'static str,
    config: Config,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Parses, assembles and runs the workload through the engine under `tier` (a fresh
/// compilation each time: the compiled-code cache is emptied first); the time and the tier
/// that ran.
fn time_pxl(workload: &Workload, tier: gvpie_exec::Tier) -> anyhow::Result<(Duration, gvpie_exec::Tier)> {
    gvpie_jit::clear_cache();
    let engine = gvpie_exec::Engine::cpu_only().with_tier(tier);
    let start = Instant::now();
    let texture =
        gvpie_pxl::compile(workload.pxl).map_err(|d| anyhow::anyhow!("bench program: {}", d[0].headline()))?;
    let outcome = engine.execute(&texture, &workload.config, gvpie_exec::BackendChoice::Cpu)?;
    let elapsed = start.elapsed();
    if outcome.result.status != Status::Halted {
        let why = format!("bench program {} did not halt: {:?}", workload.name, outcome.result.status);
        return Err(crate::RunTimeError::new(why).into());
    }
    Ok((elapsed, outcome.tier.unwrap_or(gvpie_exec::Tier::Interp)))
}

/// The compiled tier's compile time for a program of about 8,000 instructions, per 1,000.
fn compile_ms_per_1000() -> anyhow::Result<f64> {
    let texture = gvpie_pxl::compile(&ten_thousand_lines()).map_err(|d| anyhow::anyhow!("{}", d[0].headline()))?;
    let vm = gvpie_pxl::Vm::new(&texture, &Config::default())?;
    let compiled = gvpie_jit::Compiled::for_vm(&vm)?;
    Ok(compiled.compile_time().as_secs_f64() * 1000.0 / (compiled.n_records() as f64 / 1000.0))
}

fn time_lua(lua: &str, script: &std::path::Path) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let output = std::process::Command::new(lua)
        .arg(script)
        .output()
        .map_err(|e| UsageError::new(format!("cannot run {lua}: {e} (install lua5.4 or pass --lua)")))?;
    let elapsed = start.elapsed();
    if !output.status.success() {
        anyhow::bail!("{lua} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(elapsed)
}

/// A deterministic 10,000-line program mixing every kind of line the parser meets.
pub fn ten_thousand_lines() -> String {
    let mut source = String::new();
    for i in 0..2000 {
        source.push_str(&format!("l{i}: ADD x{} x{} {i}\n", i % 50, (i + 1) % 50));
        source.push_str(&format!("RECT {} {} 10 0x1F ; a comment\n", i % 128, i % 64));
        source.push_str(&format!("TXT {i} 3 HELLO # NOT A COMMENT {i}\n"));
        source.push_str(&format!("IF x{} < {} l{}\n", i % 50, i * 7, i / 2));
        source.push_str("# a comment line\n");
    }
    source
}

/// Runs `gvpie bench cpu`.
pub fn cpu(args: CpuBenchArgs) -> anyhow::Result<ExitCode> {
    if args.runs == 0 {
        return Err(UsageError::new("--runs must be at least 1").into());
    }
    let workloads = [
        Workload {
            name: "loop: 100M iterations of s = (s + i*3) & 0xFFFF",
            pxl: LOOP_PXL,
            lua: LOOP_LUA,
            config: Config { budget: 1_000_000_000, ..Config::default() },
        },
        Workload {
            name: "xor: 256x256 pixels x 100 frames, pixel by pixel",
            pxl: XOR_PXL,
            lua: XOR_LUA,
            config: Config { width: 256, height: 256, budget: 100_000_000, max_frames: 0 },
        },
        Workload {
            name: "alu-if: the loop written with ADD and IF, 128x64",
            pxl: ALU_PXL,
            lua: ALU_LUA,
            config: Config { budget: 2_000_000_000, ..Config::default() },
        },
        Workload {
            name: "fill-if: 256x256 PSETs x 100 frames, ADD and IF",
            pxl: FILL_PXL,
            lua: FILL_LUA,
            config: Config { width: 256, height: 256, budget: 2_000_000_000, max_frames: 0 },
        },
    ];
    // A private folder (mode 0700, unpredictable name, removed when dropped): nobody else can
    // plant a file or a symlink where the Lua scripts are written.
    let scratch_dir = tempfile::Builder::new().prefix("gvpie-bench-").tempdir()?;
    let scratch = scratch_dir.path();
    let mut rows = Vec::new();
    for (index, workload) in workloads.iter().enumerate() {
        let script = scratch.join(format!("w{index}.lua"));
        std::fs::write(&script, workload.lua)?;
        eprintln!("bench: {} ({} runs each, alternating)", workload.name, args.runs);
        let (mut ours, mut interp, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
        let mut ran = gvpie_exec::Tier::Interp;
        for _ in 0..args.runs {
            let (time, tier) = time_pxl(workload, args.tier)?;
            ours.push(time);
            ran = tier;
            interp.push(time_pxl(workload, gvpie_exec::Tier::Interp)?.0);
            theirs.push(time_lua(&args.lua, &script)?);
        }
        let (ours, interp, theirs) = (median(ours), median(interp), median(theirs));
        rows.push(json!({
            "workload": workload.name,
            "tier": ran.as_str(),
            "gvpie_ms": ours.as_secs_f64() * 1000.0,
            "interp_ms": interp.as_secs_f64() * 1000.0,
            "lua_ms": theirs.as_secs_f64() * 1000.0,
            "speedup": theirs.as_secs_f64() / ours.as_secs_f64(),
            "speedup_over_interp": interp.as_secs_f64() / ours.as_secs_f64(),
        }));
    }
    drop(scratch_dir);

    let source = ten_thousand_lines();
    let mut parse = Vec::new();
    for _ in 0..args.runs {
        let start = Instant::now();
        let texture = gvpie_pxl::compile(&source).map_err(|d| anyhow::anyhow!("{}", d[0].headline()))?;
        parse.push(start.elapsed());
        std::hint::black_box(texture);
    }
    let parse = median(parse);
    let lines_per_s = 10_000.0 / parse.as_secs_f64();

    // End to end: parse, assemble, run and encode the PNG of the seed's hello program.
    let n_hello = 2000;
    let start = Instant::now();
    for _ in 0..n_hello {
        let texture =
            gvpie_pxl::compile("TXT 10 10 HELLO GPU\nHALT").map_err(|d| anyhow::anyhow!("{}", d[0].headline()))?;
        let result = gvpie_pxl::run(&texture, &Config::default())?;
        std::hint::black_box(gvpie_cart::encode_png(&result.canvas, 1));
    }
    let hello_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(n_hello);

    let compile_ms = compile_ms_per_1000()?;
    let threshold =
        format!("{} + {} per instruction of code", gvpie_jit::THRESHOLD_BASE, gvpie_jit::THRESHOLD_PER_RECORD);
    let report = json!({
        "lua": args.lua,
        "runs": args.runs,
        "tier": args.tier.as_str(),
        "jit_compile_ms_per_1000_instructions": compile_ms,
        "jit_threshold_cycles": threshold,
        "workloads": rows,
        "parse_compile_10k_lines_ms": parse.as_secs_f64() * 1000.0,
        "parse_compile_lines_per_s": lines_per_s,
        "hello_end_to_end_us": hello_us,
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{:<52} {:>6} {:>10} {:>10} {:>10} {:>8} {:>9}",
            "workload", "tier", "gvpie ms", "interp ms", "lua ms", "vs lua", "vs interp"
        );
        for row in &rows {
            println!(
                "{:<52} {:>6} {:>10.1} {:>10.1} {:>10.1} {:>7.2}x {:>8.2}x",
                row["workload"].as_str().unwrap_or(""),
                row["tier"].as_str().unwrap_or(""),
                row["gvpie_ms"].as_f64().unwrap_or(0.0),
                row["interp_ms"].as_f64().unwrap_or(0.0),
                row["lua_ms"].as_f64().unwrap_or(0.0),
                row["speedup"].as_f64().unwrap_or(0.0),
                row["speedup_over_interp"].as_f64().unwrap_or(0.0)
            );
        }
        println!("jit compile time: {compile_ms:.2} ms per 1,000 instructions; auto threshold: {threshold} cycles");
        println!("parse+compile 10k lines: {:.2} ms ({lines_per_s:.0} lines/s)", parse.as_secs_f64() * 1000.0);
        println!("hello_gpu end to end (parse, run, PNG): {hello_us:.1} µs");
    }
    Ok(ExitCode::SUCCESS)
}
