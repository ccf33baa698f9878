//! `gvpie compile`: description → program, picture, JSON, errors (exit 2), `--db`, and the LLM
//! fallback against a stand-in OpenAI-compatible server on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::util::{Dir, decode_png, gvpie};
use gvpie_raster::Rgba;

#[test]
fn compile_prints_a_commented_program_that_runs() {
    let dir = Dir::new("compile_print");
    let png = dir.join("out.png");
    let run = gvpie(&[&"compile", &"a red circle above a blue square", &"--run", &png]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("# red circle"), "{}", run.stdout);
    assert!(run.stdout.contains("CIRCF") && run.stdout.ends_with("HALT\n"), "{}", run.stdout);
    assert!(run.stderr.contains("compiled by the grammar"), "{}", run.stderr);
    let canvas = decode_png(&png);
    assert_eq!((canvas.width(), canvas.height()), (128, 64));
    let red = gvpie_compile::check::mass(&canvas, Rgba::new(255, 0, 0, 255), 0).expect("red pixels");
    let blue = gvpie_compile::check::mass(&canvas, Rgba::new(0, 0, 255, 255), 0).expect("blue pixels");
    assert!(red.centroid.1 < blue.centroid.1);
}

#[test]
fn compile_writes_a_file_that_gvpie_run_draws_at_the_size() {
    let dir = Dir::new("compile_file");
    let program = dir.join("three.pxl");
    let run = gvpie(&[&"compile", &"three yellow stars in a row", &"-o", &program, &"--size", &"200x100"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let png = dir.join("three.png");
    // The program declares the size it was laid out for (`SIZE 200 100`), so no --size is needed.
    assert!(std::fs::read_to_string(&program).expect("written").contains("\nSIZE 200 100\n"));
    let ran = gvpie(&[&"run", &program, &"-o", &png]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let canvas = decode_png(&png);
    assert_eq!(gvpie_compile::check::blobs(&canvas, Rgba::new(255, 255, 0, 255), 0).len(), 3);
}

#[test]
fn compile_json_says_the_path_and_the_objects() {
    let run = gvpie(&[&"compile", &"write HELLO in yellow and a green tree", &"--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["success"], true);
    assert_eq!(json["path"], "grammar");
    assert_eq!(json["objects"][0]["kind"], "text");
    assert_eq!(json["objects"][1]["kind"], "tree");
    assert!(json["source"].as_str().is_some_and(|s| s.contains("TXT")));
    assert!(json["cycles"].as_u64().is_some_and(|c| c > 2));
}

#[test]
fn an_unknown_word_is_exit_2_naming_it() {
    let run = gvpie(&[&"compile", &"draw a circel"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("unknown word 'circel' at 3 (did you mean circle?)"), "{}", run.stderr);
    let empty = gvpie(&[&"compile", &""]);
    assert_eq!(empty.code, 2);
    assert!(empty.stderr.contains("empty description"), "{}", empty.stderr);
    let json = gvpie(&[&"compile", &"a purple elephant", &"--json"]);
    assert_eq!(json.code, 2);
    assert_eq!(json.json()["error"]["location"]["position"], 3);
}

#[test]
fn db_records_the_execution_with_the_description_as_task() {
    let dir = Dir::new("compile_db");
    let db = dir.join("gvpie.db");
    let run = gvpie(&[&"compile", &"a blue square in the top left corner", &"--db", &db, &"--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.json()["iteration"].as_i64().is_some_and(|i| i >= 1));
    let conn = rusqlite::Connection::open(&db).expect("open");
    let (task, result, code, generator): (String, String, String, String) = conn
        .query_row(
            "SELECT task_description, result, code, generator FROM infinite_map ORDER BY iteration DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .expect("a row");
    assert_eq!(task, "a blue square in the top left corner");
    assert!(result.contains("\"success\":true"), "{result}");
    assert!(code.contains("# blue square"), "{code}");
    assert_eq!(generator, "compile:grammar");
}

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
fn the_llm_fallback_is_checked_and_retried_with_the_failure() {
    // "a red circle and a purple elephant": the grammar knows the red circle, not the elephant.
    let replies = vec![
        "I cannot draw that.".to_string(),
        // Runs, but has no red: refused by the pixel check.
        "```pxl\nCOLOR 128 0 128\nRECT 70 20 30 20\nHALT\n```".to_string(),
        "```pxl\nCOLOR 255 0 0\nCIRCF 30 32 12\nCOLOR 128 0 128\nRECT 70 20 30 20\nHALT\n```".to_string(),
    ];
    let (url, prompts) = serve(replies);
    let dir = Dir::new("compile_llm");
    let png = dir.join("out.png");
    let run = gvpie(&[
        &"compile",
        &"a red circle and a purple elephant",
        &"--json",
        &"--run",
        &png,
        &"--llm-url",
        &url,
        &"--llm-model",
        &"stand-in",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["path"], "llm");
    assert_eq!(json["llm_attempts"], 3);
    assert!(json["grammar_errors"][0].as_str().is_some_and(|e| e.contains("elephant")));
    let canvas = decode_png(&png);
    assert!(gvpie_compile::check::mass(&canvas, Rgba::new(255, 0, 0, 255), 0).is_some());
    let prompts = prompts.lock().expect("prompts").clone();
    assert_eq!(prompts.len(), 3);
    assert!(prompts[0].contains("purple elephant") && prompts[0].contains("CIRCF"), "{}", prompts[0]);
    assert!(prompts[2].contains("refused"), "{}", prompts[2]);
}

#[test]
fn the_llm_fallback_gives_up_after_its_attempts_with_exit_2() {
    let (url, _) = serve(vec!["no".to_string(), "still no".to_string()]);
    let run = gvpie(&[
        &"compile",
        &"a purple elephant",
        &"--llm-url",
        &url,
        &"--llm-model",
        &"stand-in",
        &"--llm-attempts",
        &"2",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("unknown word 'elephant' at 3"), "{}", run.stderr);
    assert!(run.stderr.contains("2 replies refused"), "{}", run.stderr);
}

#[test]
fn goals_add_describe_starts_an_optimize_goal_from_the_compiled_program() {
    let dir = Dir::new("compile_goal");
    let db = dir.join("gvpie.db");
    gvpie_store::Store::open(&db).expect("create the database");
    let description = "three yellow stars above a green house";
    let run = gvpie(&[&"goals", &"add", &"describe", &description, &"--db", &db]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("(optimize): describe: three yellow stars above a green house in fewer cycles"),
        "{}",
        run.stdout
    );
    let store = gvpie_store::Store::open(&db).expect("open");
    let goals = store.list_goals().expect("goals");
    assert_eq!(goals.len(), 1);
    let spec = goals[0].spec.clone().expect("a spec");
    assert_eq!(spec["script"], "describe: three yellow stars above a green house");
    assert!(spec["source"].as_str().is_some_and(|s| s.contains("# three yellow stars")), "{spec}");
    let conn = rusqlite::Connection::open(&db).expect("open");
    let task: String = conn
        .query_row("SELECT task_description FROM infinite_map ORDER BY iteration DESC LIMIT 1", [], |row| row.get(0))
        .expect("the compiled program is recorded");
    assert_eq!(task, description);
    let refused = gvpie(&[&"goals", &"add", &"describe", &"a purple elephant", &"--db", &db]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("unknown word 'elephant' at 3"), "{}", refused.stderr);
}
