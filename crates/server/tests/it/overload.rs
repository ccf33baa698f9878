//! The execution gate under load and the time limit: 429 and 503 with Retry-After, and runs
//! that stop at the server's time limit whatever their budget.

use std::time::Duration;

use serde_json::json;

use crate::util::{HELLO, execute, state_with, test_limits};

const FOREVER: &str = "top:\nJMP top";

fn loaded_app(max_queue: usize, queue_timeout: Duration, time_limit: Duration) -> axum::Router {
    let limits = gvpie_server::Limits {
        max_concurrent: 1,
        max_queue,
        queue_timeout,
        execution_time_limit: time_limit,
        ..test_limits()
    };
    gvpie_server::app(state_with(limits))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_hundred_concurrent_requests_get_200_or_429() {
    let router = loaded_app(16, Duration::from_secs(30), Duration::from_millis(40));
    let body = json!({"code": FOREVER, "budget": 1_000_000_000u64}).to_string();
    let mut tasks = Vec::new();
    for _ in 0..400 {
        let router = router.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move { execute(&router, &body).await }));
    }
    let (mut ok, mut refused) = (0, 0);
    for task in tasks {
        let answer = task.await.expect("task");
        match answer.status.as_u16() {
            200 => {
                assert_eq!(answer.json()["error"]["kind"], "time_limit");
                ok += 1;
            }
            429 => {
                answer.assert_error(429, "overloaded");
                assert_eq!(answer.headers.get("retry-after").map(|v| v.as_bytes()), Some(&b"1"[..]));
                refused += 1;
            }
            other => panic!("unexpected status {other}: {}", answer.text()),
        }
    }
    assert!(ok >= 17, "the running one and the queue complete: {ok}");
    assert!(refused >= 300, "most are refused at once: {refused}");
    // The server is still up and serving.
    let answer = execute(&router, &json!({"code": HELLO}).to_string()).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_too_long_for_a_slot_is_503() {
    let router = loaded_app(8, Duration::from_millis(100), Duration::from_millis(1500));
    let body = json!({"code": FOREVER, "budget": 1_000_000_000u64}).to_string();
    let long = {
        let router = router.clone();
        let body = body.clone();
        tokio::spawn(async move { execute(&router, &body).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = execute(&router, &json!({"code": HELLO}).to_string()).await;
    answer.assert_error(503, "unavailable");
    assert_eq!(answer.headers.get("retry-after").map(|v| v.as_bytes()), Some(&b"1"[..]));
    assert_eq!(long.await.expect("task").status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_limit_stops_long_runs() {
    let router = loaded_app(8, Duration::from_secs(5), Duration::from_millis(200));
    let answer = execute(&router, &json!({"code": FOREVER, "budget": 1_000_000_000u64}).to_string()).await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["kind"], "time_limit");
    assert_eq!(body["error"]["line"], 2);
    assert!(body["cycles"].as_u64().is_some_and(|c| c > 1000), "{body}");
    // Pixel-heavy instructions are sliced finely enough too: every CLS touches 4M pixels.
    let heavy = json!({"code": "top:\nCLS 1 2 3\nJMP top", "width": 2048, "height": 2048, "budget": 1_000_000_000u64});
    let answer = execute(&router, &heavy.to_string()).await;
    // The kind says the limit stopped it (run to its budget it would end `budget_exhausted`, minutes later);
    // how long that took is a benchmark's business, not a test's, on a machine that may be busy.
    assert_eq!(answer.json()["error"]["kind"], "time_limit");
}
