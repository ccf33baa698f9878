//! The local-LLM generator in the goal engine, against a stand-in OpenAI-compatible server:
//! a proposal is kept only when it passes the optimize goal's exact-pixels, fewer-cycles check.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gvpie_daemon::{Daemon, GoalBudget, GoalGenerator, GoalProgress, OptimizeGoalSpec};
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
        evolve: gvpie_daemon::EvolveSettings::off(),
        budget: GoalBudget { evaluations: Some(100), ..GoalBudget::default() },
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
}
