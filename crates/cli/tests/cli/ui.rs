//! The web UI end to end: a real `gvpie serve` on loopback, its database grown by the daemon
//! for a few cycles (`gvpie up`, until it adopted a successor) and seeded with a lineage the way the daemon
//! records one (`Store::record_cycle`), and headless Chromium
//! driven by `crates/server/ui/tests/e2e.mjs` (playwright-core, Debian's chromium).
//!
//! Without chromium, node or the npm packages the test prints a loud note and passes, unless
//! `GVPIE_REQUIRE_BROWSER=1` (CI sets it), when it fails. Screenshots go to `docs/ui/` when
//! `GVPIE_UI_SCREENSHOTS=1` or when they are missing there, else to the artefacts folder
//! ([`artifacts_dir`]: `$GVPIE_ARTIFACTS/ui`, else `target/ui-artifacts`), which outlives the
//! test; a failure's screenshot (`failure.png`) always goes there, for CI to keep.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use gvpie_store::{
    BackendUsed, GoalUpdate, NewExecution, NewGoal, NewImage, NewScript, ParentRef, ProgramInput, RunConfig, Store,
    TextRef,
};

use crate::util::Dir;

/// The three generations the explorer shows: a script's program, a mutation of it, and a
/// mutation of the mutation.
const GENERATIONS: [&str; 3] = [
    "CLS 0 0 40\nCOLOR 255 200 0\nCIRCF 32 16 10\nHALT\n",
    "CLS 0 0 40\nCOLOR 255 200 0\nCIRCF 32 16 10\nCOLOR 0 200 255\nRECT 4 4 12 8\nHALT\n",
    "CLS 0 0 40\nCOLOR 255 200 0\nCIRCF 32 16 12\nCOLOR 0 200 255\nRECT 4 4 12 8\nLINE 0 31 63 0\nHALT\n",
];

#[test]
fn web_ui_in_headless_chromium() {
    let ui_tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/ui/tests");
    let chromium = std::env::var("GVPIE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    if let Some(missing) = missing_prerequisite(&ui_tests, &chromium) {
        let required = std::env::var("GVPIE_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(!required, "GVPIE_REQUIRE_BROWSER=1 but the browser test cannot run: {missing}");
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! SKIPPED the web UI browser test: {missing}\n\
             !!! apt-get install -y chromium; (cd crates/server/ui/tests && npm ci)\n\
             !!! Set GVPIE_REQUIRE_BROWSER=1 to make this a failure.\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        return;
    }

    let dir = Dir::new("web-ui");
    let db = dir.join("gvpie.db");
    crate::util::grow(&db, 1);
    let child_iteration = seed_lineage(&db);
    let server = Server::start(&db);

    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ui");
    let refresh = std::env::var("GVPIE_UI_SCREENSHOTS").is_ok_and(|v| v == "1");
    let artifacts = artifacts_dir();
    // A failure.png of an earlier run must not be taken for this one's.
    let _ = std::fs::remove_file(artifacts.join("failure.png"));
    std::fs::create_dir_all(&artifacts).expect("create the artefacts folder");
    let screenshots: PathBuf = if refresh || !docs.join("editor.png").exists() { docs } else { artifacts.clone() };

    let output = Command::new("node")
        .arg("e2e.mjs")
        .current_dir(&ui_tests)
        .env("GVPIE_URL", format!("http://{}", server.addr))
        .env("GVPIE_LINEAGE_ITERATION", child_iteration.to_string())
        .env("GVPIE_SCREENSHOTS", &screenshots)
        .env("GVPIE_FAILURE_SCREENSHOT", artifacts.join("failure.png"))
        .env("GVPIE_CHROMIUM", &chromium)
        // For the agents panel's live check: e2e.mjs starts a `gvpie daemon` on the server's database.
        .env("GVPIE_BIN", env!("CARGO_BIN_EXE_gvpie"))
        .env("GVPIE_DB", &db)
        .output()
        .expect("run node e2e.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser test failed (screenshot of the failure: {}):\n{stdout}\n{stderr}\n--- server log ---\n{}",
        artifacts.join("failure.png").display(),
        server.log()
    );
    assert!(stdout.contains("all browser checks passed"), "{stdout}");
}

/// Where the screenshots are kept after the test, failed or not: `$GVPIE_ARTIFACTS/ui` (CI sets it
/// and keeps the folder), else `target/ui-artifacts`.
fn artifacts_dir() -> PathBuf {
    match std::env::var_os("GVPIE_ARTIFACTS").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("ui"),
        // CARGO_TARGET_TMPDIR is <target>/tmp.
        None => Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap_or(Path::new("target")).join("ui-artifacts"),
    }
}

/// Why the browser test cannot run here, if it cannot.
fn missing_prerequisite(ui_tests: &Path, chromium: &str) -> Option<String> {
    if !Path::new(chromium).exists() {
        return Some(format!("no Chromium at {chromium}"));
    }
    match Command::new("node").arg("--version").output() {
        Ok(output) if output.status.success() => {}
        _ => return Some("node is not installed".to_string()),
    }
    if !ui_tests.join("node_modules/playwright-core/package.json").exists() {
        return Some(format!("playwright-core is not installed in {}", ui_tests.display()));
    }
    None
}

/// Records three generations as one daemon cycle would (a script run, then two generated
/// programs each naming its parent, with scores for a goal and their pictures) and returns
/// the middle one's iteration.
fn seed_lineage(db: &Path) -> i64 {
    let mut store = Store::open(db).expect("open the store");
    let script = store
        .create_script(&NewScript {
            name: "sun".to_string(),
            lang: "pixel".to_string(),
            purpose: Some("a sun for the UI test".to_string()),
            code: GENERATIONS[0].to_string(),
            enabled: true,
            parent_script_id: None,
        })
        .expect("create the script");
    let goal = store
        .create_goal(&NewGoal { goal: "draw a sun".to_string(), priority: 5, kind: String::new(), spec: None })
        .expect("create the goal");
    let config = gvpie_pxl::Config { width: 64, height: 32, budget: 10_000, max_frames: 0 };
    let started = gvpie_store::now_ms() - 60_000;
    let scores = [0.25, 0.5, 0.75];
    let batch: Vec<NewExecution> = GENERATIONS
        .iter()
        .enumerate()
        .map(|(idx, code)| {
            let texture = gvpie_pxl::compile(code).expect("the fixture compiles");
            let result = gvpie_pxl::run(&texture, &config).expect("the fixture runs");
            let rgba = result.canvas.to_rgba8();
            let is_script = idx == 0;
            NewExecution {
                started_ms: started + idx as i64 * 20_000,
                duration_us: 40,
                success: true,
                cycles: result.cycles,
                backend: Some(BackendUsed::Cpu),
                script_id: is_script.then_some(script.id),
                script_name: is_script.then(|| script.name.clone()),
                goal_id: Some(goal.id),
                program: Some(Arc::new(ProgramInput::new(
                    texture.to_bytes(),
                    Some(TextRef::new(*code)),
                    texture.n_records() as i64,
                    Vec::new(),
                ))),
                code: Some(TextRef::new(*code)),
                image: Some(NewImage {
                    hash: gvpie_store::image_hash(config.width, config.height, &rgba),
                    width: config.width,
                    height: config.height,
                    // As the daemon keeps them: only the cycle's best picture (the last generation's); the
                    // explorer's other thumbnails are drawn on demand by replaying their executions.
                    png: (idx + 1 == GENERATIONS.len()).then(|| gvpie_cart::encode_png(&result.canvas, 1)),
                }),
                config: Some(RunConfig { width: config.width, height: config.height, budget: config.budget }),
                parent: if idx == 0 { ParentRef::None } else { ParentRef::Pending(idx - 1) },
                generator: (!is_script)
                    .then(|| TextRef::new(if idx == 1 { "mutation:insert" } else { "mutation:tweak" })),
                score: Some(scores[idx]),
                ..NewExecution::default()
            }
        })
        .collect();
    let cycle = store.record_cycle(&batch, None).expect("record the cycle");
    let best = *cycle.iterations.last().expect("three iterations");
    store
        .update_goal(goal.id, &GoalUpdate { best: Some((best, scores[2])), ..GoalUpdate::default() })
        .expect("set the goal's best");
    cycle.iterations[1]
}

/// A running `gvpie serve` on a free loopback port, stopped when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(db: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gvpie"))
            .args(["serve", "--bind", "127.0.0.1:0", "--db"])
            .arg(db)
            .env_remove("GVPIE_TOKEN")
            .env("GVPIE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gvpie serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read the first line");
        let addr = line.split("http://").nth(1).and_then(|rest| rest.split_whitespace().next()).map(str::to_string);
        match addr {
            Some(addr) => Server { child, addr },
            None => {
                let _ = child.kill();
                panic!("gvpie serve did not announce its address: {line:?}");
            }
        }
    }

    /// What the server wrote to stderr so far (read after stopping it).
    fn log(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut text = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
