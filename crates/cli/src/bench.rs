//! `gvpie bench cpu`: the CPU VM side by side with Lua 5.4 on the same work, plus parse and
//! end-to-end costs.
//!
//! Runs alternate (gvpie, Lua, gvpie, Lua, ...) so that drift on a noisy machine hits both
//! sides alike; medians are reported with their ratio. The PXL and Lua programs are the files
//! in `bench/`, compiled into the binary so the command works from any directory.

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

fn time_pxl(workload: &Workload) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let texture =
        gvpie_pxl::compile(workload.pxl).map_err(|d| anyhow::anyhow!("bench program: {}", d[0].headline()))?;
    let result = gvpie_pxl::run(&texture, &workload.config)?;
    let elapsed = start.elapsed();
    if result.status != Status::Halted {
        let why = format!("bench program {} did not halt: {:?}", workload.name, result.status);
        return Err(crate::RunTimeError::new(why).into());
    }
    Ok(elapsed)
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
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..args.runs {
            ours.push(time_pxl(workload)?);
            theirs.push(time_lua(&args.lua, &script)?);
        }
        let (ours, theirs) = (median(ours), median(theirs));
        rows.push(json!({
            "workload": workload.name,
            "gvpie_ms": ours.as_secs_f64() * 1000.0,
            "lua_ms": theirs.as_secs_f64() * 1000.0,
            "speedup": theirs.as_secs_f64() / ours.as_secs_f64(),
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

    let report = json!({
        "lua": args.lua,
        "runs": args.runs,
        "workloads": rows,
        "parse_compile_10k_lines_ms": parse.as_secs_f64() * 1000.0,
        "parse_compile_lines_per_s": lines_per_s,
        "hello_end_to_end_us": hello_us,
    });
    if args.json {
        println!("{report}");
    } else {
        println!("{:<52} {:>12} {:>12} {:>9}", "workload", "gvpie ms", "lua ms", "speedup");
        for row in &rows {
            println!(
                "{:<52} {:>12.1} {:>12.1} {:>8.2}x",
                row["workload"].as_str().unwrap_or(""),
                row["gvpie_ms"].as_f64().unwrap_or(0.0),
                row["lua_ms"].as_f64().unwrap_or(0.0),
                row["speedup"].as_f64().unwrap_or(0.0)
            );
        }
        println!("parse+compile 10k lines: {:.2} ms ({lines_per_s:.0} lines/s)", parse.as_secs_f64() * 1000.0);
        println!("hello_gpu end to end (parse, run, PNG): {hello_us:.1} µs");
    }
    Ok(ExitCode::SUCCESS)
}
