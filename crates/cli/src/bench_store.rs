//! `gvpie bench store`: how fast executions are durably recorded, and how many bytes an
//! execution of an already-seen program costs in the database: a scratch SQLite file by
//! default, or a PostgreSQL database (`--db URL`), so the two backends compare at one batch size.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use gvpie_store::{
    BackendUsed, Location, NewExecution, NewImage, NewScript, ProgramInput, RunConfig, Store, StoreOptions, TextRef,
};

/// Arguments of `gvpie bench store`.
#[derive(Args, Debug)]
pub struct StoreBenchArgs {
    /// Executions to record.
    #[arg(long, default_value_t = 200_000)]
    pub executions: usize,
    /// Executions per transaction (a daemon cycle).
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Where to put the scratch database (default: a temporary folder, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Record into this PostgreSQL database instead, postgres://USER@HOST:PORT/DATABASE: created and migrated
    /// when missing, it must not hold the benchmark's script yet (give a fresh name); it is left in place.
    #[arg(long, value_name = "URL", conflicts_with = "dir")]
    pub db: Option<String>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Serialize)]
struct Results {
    /// `sqlite` or `postgres`.
    backend: &'static str,
    executions: usize,
    batch: usize,
    recorded_per_s: f64,
    bytes_per_execution: f64,
    seed_cycles_per_s: f64,
    seed_cycle_executions_per_s: f64,
    end_to_end_per_s: f64,
}

/// Runs the benchmark.
pub fn store(args: StoreBenchArgs) -> anyhow::Result<ExitCode> {
    if let Some(url) = &args.db {
        let location = Location::parse(url).map_err(|e| crate::UsageError::new(format!("--db: {e}")))?;
        if !matches!(location, Location::Postgres(_)) {
            return Err(crate::UsageError::new(format!(
                "--db takes a PostgreSQL URL (postgres://USER@HOST:PORT/DATABASE), not {url}; a SQLite scratch file \
                 goes in --dir"
            ))
            .into());
        }
        return report(&measure(&location, &args)?, &args);
    }
    // Without --dir, a private folder (mode 0700, unpredictable name, removed when dropped), so
    // nobody else can plant the database or a symlink in its place.
    let (scratch, private) = match &args.dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let private = tempfile::Builder::new()
                .prefix("gvpie-bench-store-")
                .tempdir()
                .context("cannot create a temporary folder")?;
            (private.path().to_path_buf(), Some(private))
        }
    };
    std::fs::create_dir_all(&scratch).with_context(|| format!("cannot create {}", scratch.display()))?;
    let db = scratch.join("bench.db");
    let _ = std::fs::remove_file(&db);
    let result = measure(&Location::Sqlite(db), &args);
    drop(private);
    report(&result?, &args)
}

fn report(results: &Results, args: &StoreBenchArgs) -> anyhow::Result<ExitCode> {
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        let durability = match results.backend {
            "postgres" => "PostgreSQL, the server's own fsync and synchronous_commit",
            _ => "SQLite, synchronous=FULL (WAL)",
        };
        println!("store benchmark: {} executions, {} per transaction, {durability}", results.executions, results.batch);
        println!("  recorded, durably committed: {:>10.0} executions/s   (goal >= 20000)", results.recorded_per_s);
        println!("  bytes per execution of a seen program: {:>6.1} B      (goal <= 200)", results.bytes_per_execution);
        println!(
            "  seed-shaped cycles (3 runs per commit): {:>6.0} cycles/s = {:.0} executions/s",
            results.seed_cycles_per_s, results.seed_cycle_executions_per_s
        );
        println!("  end to end (compile once, run, hash, record): {:>6.0} executions/s", results.end_to_end_per_s);
    }
    Ok(ExitCode::SUCCESS)
}

fn measure(location: &Location, args: &StoreBenchArgs) -> anyhow::Result<Results> {
    let mut store = Store::open_location(location, &StoreOptions::default())?;
    let script = store.create_script(&NewScript {
        name: "hello_gpu".into(),
        lang: "pixel".into(),
        purpose: Some("Test GPU pipeline with simple text rendering".into()),
        code: "TXT 10 10 HELLO GPU\nHALT".into(),
        enabled: true,
        parent_script_id: None,
    })?;
    let code = script.code.clone().unwrap_or_default();
    let texture = gvpie_pxl::compile(&code).map_err(|_| anyhow::anyhow!("the benchmark program does not compile"))?;
    let source = TextRef::new(code.as_str());
    let program = Arc::new(ProgramInput::new(
        texture.to_bytes(),
        Some(source.clone()),
        texture.n_records() as i64,
        vec!["HALT".into(), "TXT".into()],
    ));
    let config = gvpie_pxl::Config::default();
    let run = gvpie_pxl::run(&texture, &config)?;
    let image_hash = gvpie_store::image_hash(run.canvas.width(), run.canvas.height(), &run.canvas.to_rgba8());
    let task = TextRef::new("hello_gpu: Test GPU pipeline with simple text rendering");
    let template = NewExecution {
        started_ms: gvpie_store::now_ms(),
        duration_us: 21,
        success: true,
        cycles: run.cycles,
        backend: Some(BackendUsed::Cpu),
        script_id: Some(script.id),
        script_name: Some(script.name.clone()),
        program: Some(program.clone()),
        code: Some(source),
        task: Some(task),
        image: Some(NewImage { hash: image_hash, width: 128, height: 64, png: None }),
        config: Some(RunConfig { width: 128, height: 64, budget: config.budget }),
        ..NewExecution::default()
    };
    // The first run stores the program, texts and image.
    let mut first = template.clone();
    first.image =
        Some(NewImage { hash: image_hash, width: 128, height: 64, png: Some(gvpie_cart::encode_png(&run.canvas, 1)) });
    store.record_cycle(&[first], None)?;
    store.checkpoint()?;
    let bytes_before = store.used_bytes()?;

    let batch_size = args.batch.max(1);
    let n_batches = args.executions.div_ceil(batch_size).max(1);
    let start = Instant::now();
    for _ in 0..n_batches {
        let now = gvpie_store::now_ms();
        let batch: Vec<NewExecution> =
            (0..batch_size).map(|_| NewExecution { started_ms: now, ..template.clone() }).collect();
        store.record_cycle(&batch, None)?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let recorded = n_batches * batch_size;
    store.checkpoint()?;
    let bytes_per_execution = (store.used_bytes()? - bytes_before) as f64 / recorded as f64;

    // The seed's shape: a few runs per cycle, one durable commit each.
    let cycles = (args.executions / 10).clamp(10, 500);
    let start = Instant::now();
    for _ in 0..cycles {
        let batch: Vec<NewExecution> = (0..3).map(|_| template.clone()).collect();
        store.record_cycle(&batch, None)?;
    }
    let seed_cycles_per_s = cycles as f64 / start.elapsed().as_secs_f64();

    // End to end: the VM runs, the image is hashed, the execution recorded.
    let engine = gvpie_exec::Engine::cpu_only();
    let n = args.executions.clamp(100, 20_000);
    let start = Instant::now();
    let mut batch = Vec::with_capacity(batch_size);
    for index in 0..n {
        let started_ms = gvpie_store::now_ms();
        let outcome = engine.execute(&texture, &config, gvpie_exec::BackendChoice::Cpu)?;
        let canvas = &outcome.result.canvas;
        let hash = gvpie_store::image_hash(canvas.width(), canvas.height(), &canvas.to_rgba8());
        batch.push(NewExecution {
            started_ms,
            duration_us: outcome.duration.as_micros() as i64,
            cycles: outcome.result.cycles,
            image: Some(NewImage { hash, width: canvas.width(), height: canvas.height(), png: None }),
            ..template.clone()
        });
        if batch.len() == batch_size || index + 1 == n {
            store.record_cycle(&batch, None)?;
            batch.clear();
        }
    }
    let end_to_end_per_s = n as f64 / start.elapsed().as_secs_f64();
    Ok(Results {
        backend: if store.is_postgres() { "postgres" } else { "sqlite" },
        executions: recorded,
        batch: batch_size,
        recorded_per_s: recorded as f64 / elapsed,
        bytes_per_execution,
        seed_cycles_per_s,
        seed_cycle_executions_per_s: seed_cycles_per_s * 3.0,
        end_to_end_per_s,
    })
}
