//! The client and proposer against a local stand-in server: a `TcpListener` thread speaking
//! minimal HTTP/1.1 with scripted replies (no model weights can be downloaded here).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gvpie_llm::{Api, LlmClient, LlmConfig, LlmError, Message, Parent, ProposeError, Proposer, Rejection};
use serde_json::{Value, json};

/// One scripted answer.
struct Scripted {
    status: u16,
    body: String,
    delay: Duration,
}

fn ok(body: Value) -> Scripted {
    Scripted { status: 200, body: body.to_string(), delay: Duration::ZERO }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    authorization: Option<String>,
    body: Value,
}

struct StandIn {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl StandIn {
    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Serves `script` in order, one connection per request (`Connection: close`), then stops.
fn serve(script: Vec<Scripted>) -> StandIn {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for reply in script {
            let Ok((stream, _)) = listener.accept() else { return };
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut parts = request_line.split_whitespace();
            let method = parts.next().unwrap_or("").to_string();
            let path = parts.next().unwrap_or("").to_string();
            let mut length = 0usize;
            let mut authorization = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    match name.trim().to_ascii_lowercase().as_str() {
                        "content-length" => length = value.trim().parse().unwrap_or(0),
                        "authorization" => authorization = Some(value.trim().to_string()),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if let Ok(mut log) = log.lock() {
                log.push(Seen { method, path, authorization, body });
            }
            std::thread::sleep(reply.delay);
            let mut stream = reader.into_inner();
            let answer = format!(
                "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                reply.status,
                reply.body.len(),
                reply.body
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    StandIn { url, seen }
}

fn openai_reply(content: &str, total_tokens: Option<u64>) -> Value {
    let mut value = json!({
        "id": "x", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
    });
    if let Some(total) = total_tokens {
        value["usage"] =
            json!({"prompt_tokens": total / 2, "completion_tokens": total - total / 2, "total_tokens": total});
    }
    value
}

fn config(url: &str) -> LlmConfig {
    let mut config = LlmConfig::new(url, "tiny-coder");
    config.timeout = Duration::from_secs(5);
    config.backoff = Duration::from_millis(10);
    config.api_key = None;
    config
}

const PARENT: &str = "CLS 0 0 0\nSET i 0\nloop:\nPSET i 0\nLOOP i 8 loop\nHALT\n";

fn parents() -> Vec<Parent> {
    vec![Parent {
        label: "best".to_string(),
        source: PARENT.to_string(),
        score: Some("18 cycles".to_string()),
        errors: Vec::new(),
    }]
}

fn vm() -> gvpie_pxl::Config {
    gvpie_pxl::Config { width: 16, height: 8, budget: 1000, ..gvpie_pxl::Config::default() }
}

#[test]
fn valid_whole_program() {
    let server = serve(vec![ok(openai_reply("Use one RECT:\n```pxl\nCLS 0 0 0\nRECT 0 0 8 1\nHALT\n```", Some(120)))]);
    let mut config = config(&server.url);
    config.api_key = Some("sk-test".to_string());
    config.max_tokens = 256;
    let mut proposer = Proposer::from_config(config).expect("client");
    let proposal = proposer.propose("goal-1", "same pixels, fewer cycles", &parents(), &vm()).expect("proposal");
    assert_eq!(proposal.source, "CLS 0 0 0\nRECT 0 0 8 1\nHALT\n");
    assert_eq!(proposal.run.cycles, 3);
    assert_eq!(proposal.tokens, 120);
    assert_eq!(proposer.client().tokens_used("goal-1"), 120);
    assert_eq!(proposer.generator_name(), "llm:tiny-coder");
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].method.as_str(), seen[0].path.as_str()), ("POST", "/v1/chat/completions"));
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer sk-test"));
    assert_eq!(seen[0].body["model"], "tiny-coder");
    assert_eq!(seen[0].body["max_tokens"], 256);
    assert_eq!(seen[0].body["messages"][0]["role"], "system");
    let user = seen[0].body["messages"][1]["content"].as_str().unwrap_or("");
    assert!(user.contains("same pixels, fewer cycles") && user.contains("PSET i 0") && user.contains("18 cycles"));
}

#[test]
fn valid_diff_against_the_parent() {
    let diff = "```diff\n--- a.pxl\n+++ b.pxl\n@@ -1,6 +1,3 @@\n CLS 0 0 0\n-SET i 0\n-loop:\n-PSET i 0\n-LOOP i 8 loop\n+RECT 0 0 8 1\n HALT\n```";
    let server = serve(vec![ok(openai_reply(diff, Some(10)))]);
    let mut proposer = Proposer::from_config(config(&server.url)).expect("client");
    let proposal = proposer.propose("g", "fewer cycles", &parents(), &vm()).expect("proposal");
    assert_eq!(proposal.source, "CLS 0 0 0\nRECT 0 0 8 1\nHALT\n");
    // The same pixels as the parent.
    let parent = gvpie_llm::check(PARENT, &vm()).expect("parent runs");
    assert_eq!(proposal.run.canvas, parent.canvas);
}

#[test]
fn a_diff_that_does_not_apply_is_rejected() {
    let server = serve(vec![ok(openai_reply("```diff\n@@ -1,2 +1,1 @@\n-CLS 9 9 9\n+CLS\n```", None))]);
    let mut proposer = Proposer::from_config(config(&server.url)).expect("client");
    let err = proposer.propose("g", "x", &parents(), &vm()).expect_err("rejected");
    assert!(
        matches!(err, ProposeError::Rejected(Rejection::Reply(ref why)) if why.contains("does not apply")),
        "{err}"
    );
}

#[test]
fn garbage_is_rejected_and_its_errors_go_into_the_next_prompt() {
    let server = serve(vec![
        ok(openai_reply("I think you should draw a nice picture with RECTT 1 2.", Some(5))),
        ok(openai_reply("```pxl\nl:\nJMP l\n```", Some(5))),
        ok(openai_reply("", Some(5))),
    ]);
    let mut proposer = Proposer::from_config(config(&server.url)).expect("client");
    let first = proposer.propose("g", "x", &parents(), &vm()).expect_err("garbage");
    let ProposeError::Rejected(Rejection::Compile(errors)) = first else { panic!("{first}") };
    assert!(errors[0].starts_with("1:1: unknown mnemonic"), "{errors:?}");
    // An endless loop runs out of the cycle budget in the VM: never executed blind.
    let second = proposer.propose("g", "x", &parents(), &vm()).expect_err("endless");
    assert!(matches!(second, ProposeError::Rejected(Rejection::Run(ref why)) if why.contains("budget_exhausted")));
    let third = proposer.propose("g", "x", &parents(), &vm()).expect_err("empty");
    assert!(matches!(third, ProposeError::Rejected(Rejection::Reply(_))), "{third}");
    let seen = server.requests();
    let prompt = |i: usize| seen[i].body["messages"][1]["content"].as_str().unwrap_or("").to_string();
    assert!(!prompt(0).contains("rejected"));
    assert!(prompt(1).contains("unknown mnemonic"), "{}", prompt(1));
    assert!(prompt(2).contains("budget_exhausted"), "{}", prompt(2));
    assert_eq!(proposer.last_errors("g").len(), 3);
    proposer.accepted("g");
    assert!(proposer.last_errors("g").is_empty());
}

#[test]
fn a_slow_reply_times_out() {
    let slow = Scripted { status: 200, body: openai_reply("HALT", None).to_string(), delay: Duration::from_secs(3) };
    let server = serve(vec![slow]);
    let mut config = config(&server.url);
    config.timeout = Duration::from_millis(300);
    config.retries = 0;
    let mut client = LlmClient::new(config).expect("client");
    let err = client.chat("g", &[Message::user("hi")]).expect_err("timeout");
    // A timeout, not the reply 3 s later: the kind says so, without a timing assertion on a busy machine.
    assert!(matches!(err, LlmError::Timeout(_)), "{err}");
    assert_eq!(client.tokens_used("g"), 0);
}

#[test]
fn http_500_is_retried_then_succeeds() {
    let error = Scripted { status: 500, body: "{\"error\":\"loading model\"}".to_string(), delay: Duration::ZERO };
    let timeout =
        Scripted { status: 200, body: openai_reply("x", None).to_string(), delay: Duration::from_millis(800) };
    let server = serve(vec![error, timeout, ok(openai_reply("```pxl\nHALT\n```", Some(7)))]);
    let mut config = config(&server.url);
    config.timeout = Duration::from_millis(400);
    config.retries = 2;
    let mut client = LlmClient::new(config).expect("client");
    let completion = client.chat("g", &[Message::user("hi")]).expect("third try");
    assert_eq!(completion.attempts, 3);
    assert_eq!(completion.text, "```pxl\nHALT\n```");
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn errors_after_the_retries_and_4xx_at_once() {
    let e = |status: u16| Scripted { status, body: "nope".to_string(), delay: Duration::ZERO };
    let server = serve(vec![e(503), e(503), e(400)]);
    let mut config = config(&server.url);
    config.retries = 1;
    let mut client = LlmClient::new(config).expect("client");
    let err = client.chat("g", &[Message::user("hi")]).expect_err("503 twice");
    assert_eq!(err, LlmError::Http { status: 503, body: "nope".to_string() });
    let err = client.chat("g", &[Message::user("hi")]).expect_err("400");
    assert!(matches!(err, LlmError::Http { status: 400, .. }));
    assert_eq!(server.requests().len(), 3);
    // Nothing listens any more: a transport error, not a hang.
    let mut config = self::config(&server.url);
    config.retries = 0;
    let mut gone = LlmClient::new(config).expect("client");
    std::thread::sleep(Duration::from_millis(50));
    assert!(matches!(gone.chat("g", &[Message::user("hi")]), Err(LlmError::Transport(_))));
}

#[test]
fn token_budget_per_call_site() {
    let server = serve(vec![
        ok(openai_reply("HALT", Some(60))),
        // No usage: estimated as characters / 4.
        ok(openai_reply("HALT", None)),
        ok(json!({"choices": []})),
    ]);
    let mut config = config(&server.url);
    config.token_budget = Some(50);
    let mut client = LlmClient::new(config).expect("client");
    assert_eq!(client.chat("a", &[Message::user("hi")]).map(|c| c.tokens), Ok(60));
    let err = client.chat("a", &[Message::user("hi")]).expect_err("budget");
    assert_eq!(err, LlmError::BudgetExhausted { site: "a".to_string(), used: 60, budget: 50 });
    assert_eq!(client.tokens_left("a"), Some(0));
    let other = client.chat("b", &[Message::user("12345678")]).expect("own budget");
    assert!(other.estimated);
    assert_eq!(other.tokens, 3); // (8 + 4) / 4
    assert!(matches!(client.chat("b", &[Message::user("hi")]), Err(LlmError::BadReply(_))));
    // The exhausted site sent nothing.
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn ollama_tags_and_chat_shapes() {
    let tags = json!({"models": [
        {"name": "qwen2.5-coder:1.5b", "model": "qwen2.5-coder:1.5b", "size": 986061892, "digest": "abc"},
        {"name": "llama3.2:latest", "model": "llama3.2:latest", "size": 2019393189, "digest": "def"}
    ]});
    let chat = json!({
        "model": "qwen2.5-coder:1.5b", "created_at": "2025-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": "```\nCLS 0 0 0\nRECT 0 0 8 1\nHALT\n```"},
        "done": true, "done_reason": "stop", "total_duration": 1, "prompt_eval_count": 300, "eval_count": 25
    });
    let server = serve(vec![ok(tags), ok(chat)]);
    let mut config = config(&format!("{}/", server.url));
    config.api = Api::Ollama;
    config.model = "qwen2.5-coder:1.5b".to_string();
    config.temperature = 0.2;
    config.max_tokens = 333;
    let mut proposer = Proposer::from_config(config).expect("client");
    let models = proposer.client().list_models().expect("tags");
    assert_eq!(models, ["qwen2.5-coder:1.5b", "llama3.2:latest"]);
    let proposal = proposer.propose("g", "fewer cycles", &parents(), &vm()).expect("proposal");
    assert_eq!(proposal.source, "CLS 0 0 0\nRECT 0 0 8 1\nHALT\n");
    assert_eq!(proposal.tokens, 325);
    let seen = server.requests();
    assert_eq!((seen[0].method.as_str(), seen[0].path.as_str()), ("GET", "/api/tags"));
    assert_eq!((seen[1].method.as_str(), seen[1].path.as_str()), ("POST", "/api/chat"));
    let body = &seen[1].body;
    assert_eq!(body["stream"], false);
    assert_eq!(body["model"], "qwen2.5-coder:1.5b");
    assert_eq!(body["options"]["num_predict"], 333);
    assert!((body["options"]["temperature"].as_f64().unwrap_or(0.0) - 0.2).abs() < 1e-6);
}

/// Answers one request with `head` and then `body_len` bytes of JSON-ish filler, streamed, and closes.
fn serve_oversized(head: &'static str, body_len: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else { return };
        let mut reader = BufReader::new(stream);
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.trim().eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let _ = reader.read_exact(&mut vec![0u8; length]);
        let mut stream = reader.into_inner();
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        let chunk = vec![b' '; 64 << 10];
        let mut sent = 0;
        while sent < body_len {
            // The client hangs up once it has read past its limit: stop then.
            if stream.write_all(&chunk).is_err() {
                return;
            }
            sent += chunk.len();
        }
    });
    url
}

#[test]
fn an_oversized_reply_is_refused_without_reading_it_all() {
    assert_eq!(gvpie_llm::MAX_REPLY_BYTES, 8 << 20);
    // Streamed until the connection closes, no length announced: 9 MiB of it.
    let streamed =
        serve_oversized("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n", 9 << 20);
    // A length of 1 GiB announced: refused before reading.
    let announced = serve_oversized(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\nConnection: close\r\n\r\n",
        1 << 20,
    );
    for url in [streamed, announced] {
        let mut config = config(&url);
        config.retries = 0;
        let mut client = LlmClient::new(config).expect("client");
        let err = client.chat("g", &[Message::user("hi")]).expect_err("too large");
        assert!(matches!(err, LlmError::ReplyTooLarge { limit } if limit == 8 << 20), "{url}: {err}");
        assert!(err.to_string().contains("larger than 8388608 bytes"), "{err}");
    }
}
