//! `gvpie compile`: a plain-English description → a readable PXL program (`gvpie-compile`).
//!
//! The offline grammar compiles the description; when it cannot and an LLM is configured (the
//! same `--llm-*` flags as the daemon), the description goes to the model with the PXL summary,
//! the grammar's partial program and its errors. Every reply is compiled and run in the VM under
//! a budget, then checked against what the description states (colours, counts, text, rough
//! placement: `gvpie_compile::check`); a failing reply is retried with the failure fed back, at
//! most `--llm-attempts` times. The answer says which path produced it (`grammar` or `llm`).
//!
//! Nothing is recorded unless `--db` is given: then the program's execution goes into the
//! infinite map with the description as its `task_description`. Messages go to stderr; exit 2
//! on a description that cannot be compiled.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use gvpie_compile::{CompileError, Compiled, Options, check::Expectation};
use gvpie_exec::{BackendChoice, Engine, Outcome};
use gvpie_pxl::{Config, Texture};
use serde_json::{Value, json};

use crate::llm_args::LlmArgs;
use crate::{UsageError, write_atomically};

/// Cycles a compiled program (or a model's reply) may run.
pub const COMPILE_BUDGET: u64 = 1_000_000;

/// Arguments of `gvpie compile`.
#[derive(Args)]
pub struct CompileArgs {
    /// What to draw, in plain English, e.g. "a red circle above a blue square" (see docs/compile.md).
    description: String,
    /// Write the program to this file instead of printing it.
    #[arg(short, long, value_name = "OUT.pxl")]
    output: Option<PathBuf>,
    /// Canvas size the program is laid out for, WxH (1x1 to 4096x4096).
    #[arg(long, value_parser = crate::run::parse_size, default_value = "128x64")]
    size: (u32, u32),
    /// Also run the program and write its picture as PNG.
    #[arg(long, value_name = "OUT.png")]
    run: Option<PathBuf>,
    /// Print the result as one JSON object on stdout (with the program as `source`).
    #[arg(long)]
    json: bool,
    /// Record the program's execution in this database's infinite map (with the description as task).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Replies the LLM may give before the description is refused (with --llm-url).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    llm_attempts: u32,
    #[command(flatten)]
    llm: LlmArgs,
}

/// A program for the description and where it came from.
struct Produced {
    source: String,
    path: &'static str,
    /// The grammar's errors when the LLM produced it.
    grammar_errors: Vec<String>,
    llm_attempts: u32,
    compiled: Option<Compiled>,
}

/// Runs `gvpie compile`.
pub fn compile(args: CompileArgs) -> anyhow::Result<ExitCode> {
    let (width, height) = args.size;
    let options = Options { width, height };
    let (partial, errors) = gvpie_compile::compile_partial(&args.description, &options);
    let produced = match (partial, errors.first()) {
        (Some(compiled), None) => Produced {
            source: compiled.source.clone(),
            path: "grammar",
            grammar_errors: Vec::new(),
            llm_attempts: 0,
            compiled: Some(compiled),
        },
        (partial, first_error) => {
            let error = first_error.cloned().unwrap_or(CompileError::NothingToDraw);
            match args.llm.config()? {
                Some(config) => match ask_llm(&args, config, partial.as_ref(), &errors) {
                    Ok(produced) => produced,
                    Err(why) => return refuse(&args, &error, Some(&why)),
                },
                None => return refuse(&args, &error, None),
            }
        }
    };
    let config = Config { width, height, budget: COMPILE_BUDGET, max_frames: 0 };
    let texture = gvpie_pxl::compile(&produced.source)
        .map_err(|d| anyhow::anyhow!("the compiled program does not assemble: {}", gvpie_pxl::render_all(&d)))?;
    let outcome = Engine::cpu_only()
        .execute(&texture, &config, BackendChoice::Cpu)
        .map_err(|e| UsageError::new(e.to_string()))?;
    if let Some(path) = &args.output {
        write_atomically(path, produced.source.as_bytes())?;
    }
    if let Some(path) = &args.run {
        write_atomically(path, &gvpie_cart::encode_png(&outcome.result.canvas, 1))?;
    }
    let iteration = match &args.db {
        Some(db) => Some(record(db, &args.description, &produced, &texture, &config, &outcome)?),
        None => None,
    };
    if args.json {
        let objects: Vec<Value> = produced
            .compiled
            .iter()
            .flat_map(|c| c.scene.objects.iter())
            .map(|o| json!({"kind": o.kind.noun(), "count": o.count, "words": o.words}))
            .collect();
        let object = json!({
            "success": true,
            "path": produced.path,
            "description": args.description,
            "width": width,
            "height": height,
            "source": produced.source,
            "objects": objects,
            "cycles": outcome.result.cycles,
            "grammar_errors": produced.grammar_errors,
            "llm_attempts": produced.llm_attempts,
            "iteration": iteration,
        });
        println!("{object}");
    } else if args.output.is_none() {
        print!("{}", produced.source);
    }
    let written = args.output.as_ref().map(|p| format!(" → {}", p.display())).unwrap_or_default();
    let picture = args.run.as_ref().map(|p| format!(", picture {}", p.display())).unwrap_or_default();
    eprintln!(
        "compiled by the {}{written} ({width}x{height}, {} cycles{picture})",
        if produced.path == "llm" { "LLM" } else { "grammar" },
        outcome.result.cycles
    );
    Ok(ExitCode::SUCCESS)
}

/// Exit 2 with the grammar's error (and the LLM's last failure).
fn refuse(args: &CompileArgs, error: &CompileError, llm_failure: Option<&str>) -> anyhow::Result<ExitCode> {
    let message = match llm_failure {
        Some(why) => format!("{error}; the LLM fallback failed too: {why}"),
        None => error.to_string(),
    };
    if args.json {
        let location = error.location().map(|(sentence, position)| json!({"sentence": sentence, "position": position}));
        println!(
            "{}",
            json!({"success": false, "error": {"kind": "compile", "message": message, "location": location}})
        );
    }
    eprintln!("gvpie: compile: {message}");
    Ok(ExitCode::from(2))
}

/// The LLM fallback: ask, check, retry with the failure fed back.
fn ask_llm(
    args: &CompileArgs,
    config: gvpie_llm::LlmConfig,
    partial: Option<&Compiled>,
    errors: &[CompileError],
) -> Result<Produced, String> {
    let (width, height) = args.size;
    let mut client = gvpie_llm::LlmClient::new(config).map_err(|e| e.to_string())?;
    let expectations: Vec<Expectation> = partial.map(Compiled::expectations).unwrap_or_default();
    let vm = Config { width, height, budget: COMPILE_BUDGET, max_frames: 0 };
    let grammar_errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let mut feedback: Option<String> = None;
    let mut last_failure = String::from("no reply");
    for attempt in 1..=args.llm_attempts {
        let messages = llm_messages(
            &args.description,
            (width, height),
            partial,
            &grammar_errors,
            &expectations,
            feedback.as_deref(),
        );
        let reply = match client.chat("compile", &messages) {
            Ok(completion) => completion.text,
            Err(error) => return Err(error.to_string()),
        };
        let failure = match gvpie_llm::resolve_reply(&reply, None) {
            Err(error) => error.to_string(),
            Ok(program) => match gvpie_llm::check(&program, &vm) {
                Err(rejection) => rejection.to_string(),
                Ok(run) => {
                    let mut problems = gvpie_compile::check::verify(&run.canvas, &expectations);
                    if run.canvas.pixels().iter().all(|p| *p == run.canvas.pixels()[0]) {
                        problems.push("the picture is one flat colour: nothing was drawn".into());
                    }
                    if problems.is_empty() {
                        eprintln!(
                            "gvpie: compile: the grammar could not compile this; the LLM's reply {attempt} passed the checks"
                        );
                        return Ok(Produced {
                            source: program,
                            path: "llm",
                            grammar_errors,
                            llm_attempts: attempt,
                            compiled: None,
                        });
                    }
                    problems.join("; ")
                }
            },
        };
        eprintln!("gvpie: compile: LLM reply {attempt} refused: {failure}");
        feedback = Some(failure.clone());
        last_failure = format!("{} replies refused, the last: {failure}", attempt);
    }
    Err(last_failure)
}

fn llm_messages(
    description: &str,
    (width, height): (u32, u32),
    partial: Option<&Compiled>,
    grammar_errors: &[String],
    expectations: &[Expectation],
    feedback: Option<&str>,
) -> Vec<gvpie_llm::Message> {
    let system = format!(
        "You write PXL programs that draw pictures for gvpie.\n\n{}\n\nReply with one complete program in a ```pxl code block. \
         It must halt (end with HALT) and draw on a {width}x{height} canvas.",
        gvpie_llm::PXL_SUMMARY
    );
    let mut user = format!("Draw this on a {width}x{height} canvas: {description}\n\n");
    user.push_str(&format!("The offline compiler could not compile it: {}\n", grammar_errors.join("; ")));
    if let Some(partial) = partial {
        user.push_str(&format!("What it understood, as a starting point:\n```pxl\n{}```\n", partial.source));
    }
    if !expectations.is_empty() {
        user.push_str("The picture will be checked for:\n");
        for expectation in expectations {
            user.push_str(&format!("- {}\n", describe(expectation)));
        }
    }
    if let Some(feedback) = feedback {
        user.push_str(&format!("\nYour previous program was refused: {feedback}\nFix it.\n"));
    }
    vec![gvpie_llm::Message::system(system), gvpie_llm::Message::user(user)]
}

fn describe(expectation: &Expectation) -> String {
    let rgb = |c: gvpie_raster::Rgba| format!("rgb({}, {}, {})", c.r, c.g, c.b);
    match expectation {
        Expectation::Color { color, what } => format!("{what}: pixels of {}", rgb(*color)),
        Expectation::Count { color, count, what } => {
            format!("{what}: exactly {count} separate shapes of {}", rgb(*color))
        }
        Expectation::Text { text, .. } => format!("the text \"{text}\" written with TXT"),
        Expectation::Relative { first, relation, second, what } => {
            format!("{what}: the {} shape {relation:?} the {} one", rgb(*first), rgb(*second))
        }
        Expectation::Region { color, horizontal, vertical, what } => {
            format!("{what}: {} in the {vertical:?}/{horizontal:?} part of the canvas", rgb(*color))
        }
        other => format!("{other:?}"),
    }
}

/// Records the execution in the infinite map; returns its iteration.
fn record(
    db: &std::path::Path,
    description: &str,
    produced: &Produced,
    texture: &Texture,
    config: &Config,
    outcome: &Outcome,
) -> anyhow::Result<i64> {
    use gvpie_store::{BackendUsed, NewExecution, NewImage, ProgramInput, RunConfig, Store, TextRef};
    let mut store = Store::open(db).with_context(|| format!("opening the database {}", db.display()))?;
    let code = TextRef::new(produced.source.as_str());
    let program =
        ProgramInput::new(texture.to_bytes(), Some(code.clone()), texture.n_records() as i64, opcodes(texture));
    let canvas = &outcome.result.canvas;
    let hash = gvpie_store::image_hash(canvas.width(), canvas.height(), &canvas.to_rgba8());
    let png = if store.has_image_png(&hash).unwrap_or(false) { None } else { Some(gvpie_cart::encode_png(canvas, 1)) };
    let execution = NewExecution {
        started_ms: gvpie_store::now_ms(),
        duration_us: outcome.duration.as_micros() as i64,
        success: outcome.result.status == gvpie_pxl::Status::Halted,
        cycles: outcome.result.cycles,
        backend: Some(BackendUsed::Cpu),
        program: Some(Arc::new(program)),
        code: Some(code),
        task: Some(TextRef::new(description)),
        image: Some(NewImage { hash, width: canvas.width(), height: canvas.height(), png }),
        config: Some(RunConfig { width: config.width, height: config.height, budget: config.budget }),
        generator: Some(TextRef::new(format!("compile:{}", produced.path))),
        ..NewExecution::default()
    };
    let iterations = store.record_executions(&[execution]).context("recording the compiled program")?;
    let iteration = iterations.first().copied().unwrap_or(0);
    eprintln!("recorded as iteration {iteration} in {}", db.display());
    Ok(iteration)
}

/// The name a describe goal's program goes by: `describe: ` and the description (at most 150
/// characters, so that the goal's `.optimized` script name stays within the store's limit).
pub fn describe_script_name(description: &str) -> String {
    let short: String = description.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(150).collect();
    format!("describe: {short}")
}

/// Runs `source` on the CPU and records it in `db`'s infinite map with `description` as task.
pub fn record_source(
    db: &std::path::Path,
    description: &str,
    source: &str,
    (width, height): (u32, u32),
    generator: &'static str,
) -> anyhow::Result<i64> {
    let config = Config { width, height, budget: COMPILE_BUDGET, max_frames: 0 };
    let texture = gvpie_pxl::compile(source)
        .map_err(|d| anyhow::anyhow!("the compiled program does not assemble: {}", gvpie_pxl::render_all(&d)))?;
    let outcome = Engine::cpu_only()
        .execute(&texture, &config, BackendChoice::Cpu)
        .map_err(|e| UsageError::new(e.to_string()))?;
    let path = generator.strip_prefix("compile:").unwrap_or("grammar");
    let produced = Produced {
        source: source.to_string(),
        path: if path == "llm" { "llm" } else { "grammar" },
        grammar_errors: Vec::new(),
        llm_attempts: 0,
        compiled: None,
    };
    record(db, description, &produced, &texture, &config, &outcome)
}

/// The distinct mnemonics of a texture's records, for per-opcode statistics.
fn opcodes(texture: &Texture) -> Vec<String> {
    let mut set = std::collections::BTreeSet::new();
    for index in 0..texture.n_records() {
        let head = texture.record(index)[0];
        if let Some(op) = gvpie_pxl::Op::from_code((head & 0xFF) as u8) {
            set.insert(op.info().mnemonic);
        }
    }
    set.into_iter().map(str::to_string).collect()
}
