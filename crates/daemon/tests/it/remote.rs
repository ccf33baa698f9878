//! The HTTP runtime client against a stand-in `gvpie serve` on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use gvpie_daemon::RuntimeSpec;

use crate::util::{Setup, add_script, recorded};

/// Serves `/health` and `/api/execute` for a bounded number of connections; records bodies.
fn stand_in(healthy: bool) -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                    break;
                }
                if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let (status, answer) = if request_line.starts_with("GET /health") {
                if healthy {
                    ("200 OK", r#"{"status":"ok"}"#.to_string())
                } else {
                    ("503 Service Unavailable", "{}".into())
                }
            } else {
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                seen.lock().expect("bodies").push(json.clone());
                if json["code"].as_str().is_some_and(|c| c.contains("BAD")) {
                    ("400 Bad Request", r#"{"error":{"kind":"parse","message":"nope","line":1}}"#.to_string())
                } else {
                    ("200 OK", r#"{"success":true,"cycles":2,"backend":"gpu","duration_ms":0.5,"error":null}"#.into())
                }
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, bodies)
}

#[test]
fn executions_go_to_the_runtime_api() {
    let (url, bodies) = stand_in(true);
    let mut setup = Setup::new();
    setup.config.runtime = RuntimeSpec::Remote(url);
    gvpie_daemon::seed_examples(&setup.store()).expect("seed");
    let events = setup.run(1);
    let runs = recorded(&events);
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.2));
    let bodies = bodies.lock().expect("bodies");
    assert_eq!(bodies[0]["code"], "TXT 10 10 HELLO GPU\nHALT");
    assert_eq!((bodies[0]["width"].as_u64(), bodies[0]["height"].as_u64()), (Some(128), Some(64)));
    assert_eq!(bodies[0]["image"], "none");
    assert_eq!(bodies[0]["backend"], "auto");
    let entry = setup.store().map_entry(1, false).expect("q").expect("e");
    assert_eq!(entry.backend, gvpie_store::BackendUsed::Gpu);
    assert_eq!(entry.image_hash, None, "no pixels come back from a remote runtime");
    let report =
        gvpie_daemon::replay(&setup.store(), &gvpie_exec::Engine::cpu_only(), 1, Some(gvpie_exec::BackendChoice::Cpu))
            .expect("replay");
    assert!(report.same, "{report:?}");
}

#[test]
fn an_unhealthy_runtime_skips_the_cycle() {
    let (url, bodies) = stand_in(false);
    let mut setup = Setup::new();
    setup.config.runtime = RuntimeSpec::Remote(url);
    add_script(&setup.store(), "a", "pixel", "HALT");
    let events = setup.run(2);
    assert!(recorded(&events).is_empty());
    assert!(bodies.lock().expect("bodies").is_empty());
    assert!(events.iter().any(|e| matches!(e, gvpie_daemon::DaemonEvent::Health { healthy: false, .. })));
}

#[test]
fn an_unreachable_runtime_is_unhealthy() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let mut setup = Setup::new();
    setup.config.runtime = RuntimeSpec::Remote(url);
    add_script(&setup.store(), "a", "pixel", "HALT");
    let events = setup.run(1);
    assert!(events.iter().any(|e| matches!(e, gvpie_daemon::DaemonEvent::Health { healthy: false, .. })));
}

/// A runtime whose `/health` is fine and whose `/api/execute` streams `body_len` bytes (no length announced)
/// until the connection closes.
fn oversized_runtime(body_len: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let Ok(clone) = stream.try_clone() else { continue };
            let mut reader = BufReader::new(clone);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                    break;
                }
                if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let _ = reader.read_exact(&mut vec![0; length]);
            if request_line.starts_with("GET /health") {
                let _ = write!(stream, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}");
                continue;
            }
            if stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n")
                .is_err()
            {
                continue;
            }
            let chunk = vec![b' '; 64 << 10];
            let mut sent = 0;
            // The client hangs up once it has read past its limit.
            while sent < body_len && stream.write_all(&chunk).is_ok() {
                sent += chunk.len();
            }
        }
    });
    url
}

#[test]
fn an_oversized_runtime_answer_is_a_failed_execution_not_a_memory_blowup() {
    assert_eq!(gvpie_daemon::MAX_RUNTIME_REPLY_BYTES, 8 << 20);
    let mut setup = Setup::new();
    setup.config.runtime = RuntimeSpec::Remote(oversized_runtime(9 << 20));
    add_script(&setup.store(), "a", "pixel", "HALT");
    let events = setup.run(1);
    let messages: Vec<String> = events
        .iter()
        .filter_map(|event| match event {
            gvpie_daemon::DaemonEvent::ExecutionRecorded { success: false, error: Some(error), .. } => {
                Some(format!("{}: {}", error.kind, error.message))
            }
            _ => None,
        })
        .collect();
    assert_eq!(messages, ["runtime: the runtime's answer is larger than 8388608 bytes; refused"], "{events:?}");
}
