//! The local-LLM generator in the goal engine, against a stand-in OpenAI-compatible server:
//! a proposal is kept only when it passes the optimize goal's exact-pixels, fewer-cycles check.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gvpie_daemon::{Daemon, GoalGenerator};
use gvpie_evolve::{GoalProgress, ImageGoalSpec, OptimizeGoalSpec, StopRules as GoalBudget};
use gvpie_store::{MapQuery, NewGoal};

use crate::util::Setup;

const SOURCE: &str = "CLS 0 0 0\nRECT 0 0 4 4\nSET y 0\nrow:\nSET x 0\ncol:\nMUL b y 8\nCOLOR 0 0 b\n\
PSET x y\nLOOP x 32 col\nLOOP y 16 row\nHALT\n";

/// Answers each request with the next reply as an OpenAI chat completion; keeps the prompts.
fn serve(replies: Vec<String>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let prompts = Arc::new(Mutex::new(Vec::new()));
    let log = prompts.clone();
    std::thread::spawn(move || {
        for reply in replies {
            let Ok((stream, _)) = listener.accept() else { return };
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            if let Ok(mut log) = log.lock() {
                log.push(String::from_utf8_lossy(&body).into_owned());
            }
            let answer = serde_json::json!({
                "choices": [{"message": {"role": "assistant", "content": reply}}],
                "usage": {"total_tokens": 100}
            })
            .to_string();
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = reader.into_inner().write_all(response.as_bytes());
        }
    });
    (url, prompts)
}

#[test]
fn llm_proposals_pass_the_same_check_as_mutations() {
    // The same gradient with one RECT per row: 32 cycles instead of 2084.
    let mut fast = String::new();
    for y in 0..16 {
        fast.push_str(&format!("COLOR 0 0 {}\nRECT 0 {y} 32 1\n", y * 8));
    }
    let replies = vec![
        "Here you go: RECTT everything".to_string(),
        "```pxl\nCLS 0 0 0\nRECT 0 0 32 16\n```".to_string(),
        format!("```pxl\n{fast}```"),
    ];
    let (url, prompts) = serve(replies);

    let setup = Setup::new();
    let spec = OptimizeGoalSpec {
        script: "gradient".into(),
        source: SOURCE.into(),
        width: 32,
        height: 16,
        cycle_budget: gvpie_pxl::DEFAULT_BUDGET,
        seed: 5,
        evolve: gvpie_evolve::EvolveSettings::off(),
        stop: GoalBudget { evaluations: Some(100), ..GoalBudget::default() },
        progress: GoalProgress::default(),
        state: None,
    };
    let goal = NewGoal {
        goal: "gradient in fewer cycles".into(),
        priority: 5,
        kind: "optimize".into(),
        spec: Some(serde_json::to_value(&spec).expect("json")),
    };
    let goal_id = setup.store().create_goal(&goal).expect("goal").id;

    let mut llm = gvpie_llm::LlmConfig::new(url, "stand-in");
    llm.timeout = Duration::from_secs(10);
    llm.api_key = None;
    let proposer = gvpie_llm::Proposer::from_config(llm).expect("client");
    let mut config = setup.config.clone();
    config.max_cycles = Some(3);
    let mut daemon = Daemon::open(config, gvpie_exec::Engine::cpu_only())
        .expect("open")
        .with_generator(Box::new(GoalGenerator::new().with_max_steps(1).with_llm(proposer)));
    daemon.run(&AtomicBool::new(false)).expect("run");

    let store = setup.store();
    let query = MapQuery { goal_id: Some(goal_id), limit: 100, include_code: true, ..MapQuery::default() };
    let entries = store.map_page(&query).expect("page").entries;
    let llm_kept: Vec<_> = entries.iter().filter(|e| e.generator.as_deref() == Some("llm:stand-in")).collect();
    assert_eq!(llm_kept.len(), 1, "only the exact, faster proposal is kept");
    assert_eq!(llm_kept[0].score, Some(32.0));
    assert_eq!(llm_kept[0].code.as_deref(), Some(fast.as_str()));
    assert!(llm_kept[0].parent_iteration.is_some(), "it has a parent in the lineage");
    let stored = store.goal(goal_id).expect("read").expect("goal");
    assert!(stored.best_score.is_some_and(|s| s <= 32.0), "{:?}", stored.best_score);

    // Rejections went into the next prompt: the compile error, then the wrong pixels.
    let prompts = prompts.lock().map(|p| p.clone()).unwrap_or_default();
    assert_eq!(prompts.len(), 3);
    assert!(prompts[1].contains("unknown mnemonic"), "{}", prompts[1]);
    assert!(prompts[2].contains("pixels differ"), "{}", prompts[2]);

    // The bandit's statistics count the two evaluated proposals (the garbage never ran).
    let arm = store
        .stats(Some(gvpie_store::ARM_SCOPE))
        .expect("stats")
        .into_iter()
        .find(|s| s.key == "llm:stand-in")
        .expect("llm arm");
    assert_eq!((arm.runs, arm.successes), (2, 1));

    // Every proposal is on record with its outcome, newest first; the adopted one names its execution.
    let rows = store.llm_proposals(goal_id, 10).expect("proposals");
    let outcomes: Vec<(&str, Option<&str>)> = rows.iter().map(|r| (r.outcome.as_str(), r.reason.as_deref())).collect();
    assert_eq!(
        outcomes,
        [
            ("adopted", None),
            ("refused", Some("it draws different pixels (512 pixels differ from the original's)")),
            ("rejected", Some("the program does not compile:\n1:1: unknown mnemonic 'Here'")),
        ]
    );
    assert!(rows.iter().all(|r| r.generator == "llm:stand-in" && r.goal_id == goal_id));
    assert_eq!((rows[0].iteration, rows[0].score), (Some(llm_kept[0].iteration), Some(32.0)));
    assert_eq!(rows[0].source.as_deref(), Some(fast.as_str()));
    assert_eq!(rows[1].source.as_deref(), Some("CLS 0 0 0\nRECT 0 0 32 16\n"));
    assert_eq!(rows[2].source.as_deref(), Some("Here you go: RECTT everything"), "a rejected reply is kept as sent");
    assert_eq!(rows[2].score, None);
}

/// A 24×16 target: two coloured rectangles on grey.
fn image_target() -> gvpie_raster::Canvas {
    let mut target = gvpie_raster::Canvas::new(24, 16).expect("canvas");
    target.clear(gvpie_raster::Rgba::new(90, 90, 90, 255));
    target.fill_rect(2, 2, 10, 6, gvpie_raster::Rgba::new(250, 20, 20, 255));
    target.fill_rect(12, 8, 9, 7, gvpie_raster::Rgba::new(20, 40, 240, 255));
    target
}

/// An image goal towards [`image_target`] with a deliberately weak search (one random try per shape), so a
/// hand-made program beats it.
fn add_image_goal(setup: &Setup, shapes: usize, mode: &str) -> i64 {
    let target = image_target();
    let hash = gvpie_store::image_hash(24, 16, &target.to_rgba8());
    let png = gvpie_cart::encode_png(&target, 1);
    let mut store = setup.store();
    store.put_image(&gvpie_store::NewImage { hash, width: 24, height: 16, png: Some(png) }).expect("target");
    let spec = ImageGoalSpec {
        target: hash.to_hex(),
        width: 24,
        height: 16,
        shapes,
        seed: 7,
        mode: mode.parse().expect("mode"),
        alpha: 128,
        restarts: Some(1),
        random_tries: Some(1),
        max_failures: Some(1),
        threads: 1,
        strategy: None,
        effort: None,
        stop: GoalBudget::default(),
        progress: GoalProgress::default(),
        // Stored as before refinement existed: the goal never refines.
        refine: None,
    };
    let goal = NewGoal {
        goal: "approximate two rectangles".into(),
        priority: 5,
        kind: "image".into(),
        spec: Some(serde_json::to_value(&spec).expect("json")),
    };
    store.create_goal(&goal).expect("goal").id
}

/// Runs `cycles` daemon cycles, one shape per goal and cycle, with the LLM answering from `replies`.
fn run_with_llm(setup: &Setup, cycles: u64, url: String) {
    let mut llm = gvpie_llm::LlmConfig::new(url, "stand-in");
    llm.timeout = Duration::from_secs(10);
    llm.api_key = None;
    let proposer = gvpie_llm::Proposer::from_config(llm).expect("client");
    let mut config = setup.config.clone();
    config.max_cycles = Some(cycles);
    let mut daemon = Daemon::open(config, gvpie_exec::Engine::cpu_only())
        .expect("open")
        .with_generator(Box::new(GoalGenerator::new().with_max_steps(1).with_llm(proposer)));
    daemon.run(&AtomicBool::new(false)).expect("run");
}

/// `CLS` with the target's average, as every image program of the goal starts.
fn cls() -> String {
    let [r, g, b] = gvpie_evolve::average_color(&image_target());
    format!("CLS {r} {g} {b}")
}

/// The colour that, blended at alpha 128 over `under`, comes closest to `want`.
fn over(want: [i32; 3], under: [u8; 3]) -> String {
    let c: Vec<String> =
        (0..3).map(|i| ((want[i] * 255 - i32::from(under[i]) * 127) / 128).clamp(0, 255).to_string()).collect();
    format!("COLOR {} 128", c.join(" "))
}

#[test]
fn llm_image_proposals_better_at_the_same_shape_count_are_adopted() {
    let background = gvpie_evolve::average_color(&image_target());
    let good = format!(
        "{}\n{}\nRECT 2 2 10 6\n{}\nRECT 12 8 9 7\nHALT\n",
        cls(),
        over([250, 20, 20], background),
        over([20, 40, 240], background)
    );
    let (url, prompts) = serve(vec!["I cannot draw.".to_string(), format!("```pxl\n{good}```")]);
    let setup = Setup::new();
    let goal_id = add_image_goal(&setup, 6, "both");
    // Cycle 1: no shape yet, no proposal; cycle 2: the garbage; cycle 3: the good program, against 2 shapes.
    run_with_llm(&setup, 3, url);

    let store = setup.store();
    let rows = store.llm_proposals(goal_id, 10).expect("proposals");
    let outcomes: Vec<(&str, Option<&str>)> = rows.iter().map(|r| (r.outcome.as_str(), r.reason.as_deref())).collect();
    assert_eq!(
        outcomes,
        [
            ("adopted", None),
            ("rejected", Some("the program does not compile:\n1:1: unknown mnemonic 'I' (did you mean IF?)"))
        ]
    );
    let query = MapQuery { goal_id: Some(goal_id), limit: 100, include_code: true, ..MapQuery::default() };
    let mut entries = store.map_page(&query).expect("page").entries;
    entries.reverse();
    let generators: Vec<Option<&str>> = entries.iter().map(|e| e.generator.as_deref()).collect();
    assert_eq!(
        generators,
        [Some("image:shape"), Some("image:shape"), Some("llm:stand-in"), Some("image:shape")],
        "one shape per cycle, the adopted proposal between"
    );
    let adopted = &entries[2];
    assert_eq!(rows[0].iteration, Some(adopted.iteration));
    assert_eq!(adopted.parent_iteration, Some(entries[1].iteration));
    let rmse = adopted.score.expect("score");
    assert!(rmse < entries[1].score.expect("score"), "{rmse} beats the search's 2 shapes");
    assert_eq!(rows[0].score, Some(rmse));
    assert_eq!(rows[0].source.as_deref(), Some(good.as_str()));
    // The exact RMSE of the program as the VM draws it.
    let texture = gvpie_pxl::compile(&good).expect("compiles");
    let vm = gvpie_pxl::Config { width: 24, height: 16, ..gvpie_pxl::Config::default() };
    let drawn = gvpie_pxl::run(&texture, &vm).expect("runs").canvas;
    assert_eq!(gvpie_evolve::rmse(&drawn, &image_target()), Some(rmse));
    // The search continued from it: the next shape is drawn over its two rectangles.
    let next = entries[3].code.as_deref().expect("code");
    let (_, placed) = gvpie_evolve::parse_program(next).expect("an image program");
    assert_eq!(placed.len(), 3);
    assert!(next.contains("RECT 2 2 10 6\n") && next.contains("RECT 12 8 9 7\n"), "{next}");
    assert_eq!(entries[3].parent_iteration, Some(adopted.iteration));
    let goal = store.goal(goal_id).expect("read").expect("goal");
    assert_eq!(goal.best_iteration, Some(entries[3].iteration));

    // The prompt carries the goal, the target as a grid of colours and the best program with its RMSE.
    let prompts = prompts.lock().map(|p| p.clone()).unwrap_or_default();
    assert_eq!(prompts.len(), 2);
    for needle in ["24x16 target", "at most 6 shapes", "alpha A = 128", "row 7 (y 14..15):", "RMSE", &cls()] {
        assert!(prompts[0].contains(needle), "{needle} missing from {}", prompts[0]);
    }
    assert!(prompts[1].contains("unknown mnemonic"), "{}", prompts[1]);
    let arm = store
        .stats(Some(gvpie_store::ARM_SCOPE))
        .expect("stats")
        .into_iter()
        .find(|s| s.key == "llm:stand-in")
        .expect("llm arm");
    assert_eq!((arm.runs, arm.successes), (1, 1), "the garbage was never evaluated");
}

#[test]
fn llm_image_proposals_of_another_form_are_rejected() {
    let background = gvpie_evolve::average_color(&image_target());
    let tri = |alpha: u8| format!("COLOR 200 10 10 {alpha}\nTRI 0 0 23 0 0 15\n");
    let tris = |n: i32| -> String { (0..n).map(|i| format!("TRI {i} 0 23 {i} 0 15\n")).collect() };
    let [r, g, b] = background;
    let replies = [
        format!("{}\n{}HALT\n", cls(), tri(255)),
        format!("{}\nCOLOR 1 2 3 128\n{}HALT\n", cls(), tris(8)),
        format!("{}\n{}PSET 1 1\nHALT\n", cls(), tri(128)),
        format!("CLS {} {g} {b}\n{}HALT\n", r.wrapping_add(1), tri(128)),
        format!("{}\nCOLOR 1 2 3 128\nRECT 0 0 4 4\nHALT\n", cls()),
        format!("{}\nCOLOR 1 2 3 128\n{}HALT\n", cls(), tris(7)),
    ];
    let (url, _) = serve(replies.iter().map(|r| format!("```pxl\n{r}```")).collect());
    let setup = Setup::new();
    let goal_id = add_image_goal(&setup, 7, "tri");
    // Cycles 2 to 7 ask once each, with 1 to 6 shapes placed; the seventh shape ends the goal.
    run_with_llm(&setup, 7, url);

    let store = setup.store();
    let mut rows = store.llm_proposals(goal_id, 10).expect("proposals");
    rows.reverse();
    let outcomes: Vec<(&str, Option<&str>)> = rows.iter().map(|r| (r.outcome.as_str(), r.reason.as_deref())).collect();
    let wrong_cls = format!(
        "its background is CLS {} {g} {b}; this goal's is CLS {r} {g} {b} (the target's average colour)",
        r.wrapping_add(1)
    );
    let score = rows.last().and_then(|r| r.score).expect("the refused proposal was scored");
    let refused = format!(
        "it places 7 shapes, more than the 6 placed so far (RMSE {score:.6}); proposals are compared at the same \
         number of shapes or fewer"
    );
    assert_eq!(
        outcomes,
        [
            ("rejected", Some("shape 1 has alpha 255; every COLOR of this goal has alpha 128")),
            ("rejected", Some("it places 8 shapes; this goal allows at most 7")),
            ("rejected", Some("not an image program: line 4: 'PSET 1 1' is not part of an image program")),
            ("rejected", Some(wrong_cls.as_str())),
            ("rejected", Some("shape 1 is not a TRI; this goal's mode is tri")),
            ("refused", Some(refused.as_str())),
        ]
    );
    for (row, reply) in rows.iter().zip(&replies) {
        assert_eq!(row.source.as_deref(), Some(reply.as_str()));
        assert_eq!(row.iteration, None);
    }
    assert!(rows[..5].iter().all(|r| r.score.is_none()), "rejected proposals have no score");
    let entries = store.map_page(&MapQuery { goal_id: Some(goal_id), ..MapQuery::default() }).expect("page").entries;
    assert!(entries.iter().all(|e| e.generator.as_deref() == Some("image:shape")), "nothing adopted");
}
