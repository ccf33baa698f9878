//! `GET /api/agents` and the `agent` events on a real server on a loopback port: agents registered
//! in the database by "other processes" (the test, through `gvpie-store`, as a `gvpie daemon`
//! would) are listed with their state, executions, throughput and claims, and their arrival,
//! departure (clean or stale) and a takeover of their work reach `/api/events` through
//! `watch_store`. On SQLite always; on PostgreSQL too when `GVPIE_TEST_POSTGRES` names a server.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use gvpie_exec::Engine;
use gvpie_server::{AppState, Event, StorePool, serve, watch_store};
use gvpie_store::{AgentHandle, AgentSpec, Location, NewExecution, NewScript, Store, StoreOptions};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::util::test_limits;

/// The longest any awaited event may take before the test fails (not a timing assertion: a bound on hanging).
const PATIENCE: Duration = Duration::from_secs(30);

async fn get_json(addr: std::net::SocketAddr, path: &str) -> (u16, Value) {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    let request = Request::get(path).header("host", addr.to_string()).body(Body::empty()).expect("request");
    let response = sender.send_request(request).await.expect("a response");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).expect("JSON"))
}

/// An open `/api/events` stream.
struct Events {
    body: Incoming,
    buffer: String,
}

impl Events {
    async fn open(addr: std::net::SocketAddr) -> Events {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
        tokio::spawn(connection);
        let request =
            Request::get("/api/events").header("host", addr.to_string()).body(Body::empty()).expect("request");
        let response = sender.send_request(request).await.expect("a response");
        assert_eq!(response.status(), 200);
        Events { body: response.into_body(), buffer: String::new() }
    }

    /// The next `agent` event for which `wanted` holds (others are skipped).
    async fn agent_event(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        self.event("agent", what, wanted).await
    }

    /// The next event named `name` for which `wanted` holds (others are skipped).
    async fn event(&mut self, name: &str, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let message: String = self.buffer.drain(..end + 2).collect();
                let field = |key: &str| message.lines().find_map(|l| l.strip_prefix(key)).map(str::to_string);
                if field("event: ").as_deref() == Some(name) {
                    let data: Value = serde_json::from_str(&field("data: ").expect("data")).expect("JSON data");
                    assert_eq!(data["type"], name, "{data}");
                    if wanted(&data) {
                        return data;
                    }
                }
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .unwrap_or_else(|_| panic!("no {name} event {what} within {PATIENCE:?}"))
                .expect("the stream is open")
                .expect("a frame");
            if let Ok(data) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }
}

fn spec(name: &str, ttl: Duration) -> AgentSpec {
    AgentSpec {
        name: name.to_string(),
        host: "test-host".to_string(),
        pid: 4242,
        roles: vec!["scripts".to_string(), "goals".to_string()],
        ttl,
    }
}

fn register(store: &Store, name: &str, ttl: Duration) -> AgentHandle {
    store.register_agent(&spec(name, ttl)).expect("register").agent
}

/// Executions recorded as `agent`'s.
fn record_for(store: &mut Store, agent: &AgentHandle, n: usize) {
    let batch: Vec<NewExecution> = (0..n)
        .map(|_| NewExecution {
            started_ms: gvpie_store::now_ms(),
            success: true,
            cycles: 2,
            agent_id: Some(agent.id),
            ..NewExecution::default()
        })
        .collect();
    store.record_cycle(&batch, None).expect("record");
}

/// Runs blocking store work off the async workers (PostgreSQL's client runs its own runtime).
fn blocking<R>(work: impl FnOnce() -> R) -> R {
    tokio::task::block_in_place(work)
}

/// The whole story on one database (`db`: a SQLite path or a PostgreSQL URL).
async fn agents_are_listed_and_their_comings_and_goings_streamed(db: &str) {
    let mut store = blocking(|| {
        Store::open_location(&Location::parse(db).expect("location"), &StoreOptions::default()).expect("open the store")
    });
    // Alive when the server first looks, so that its stop is news.
    let first = blocking(|| register(&store, "first", Duration::from_secs(600)));
    let script = blocking(|| {
        store
            .create_script(&NewScript {
                name: "hello".to_string(),
                lang: "pixel".to_string(),
                purpose: None,
                code: "TXT 1 1 hi\nHALT".to_string(),
                enabled: true,
                parent_script_id: None,
            })
            .expect("a script")
    });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let pool = blocking(|| StorePool::open(db).expect("open the pool"));
    let state = AppState::new(Arc::new(Engine::cpu_only())).with_limits(test_limits()).with_store(pool);
    let watcher = tokio::spawn(watch_store(state.clone()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async move {
        let _ = stopped.await;
    }));

    let (status, body) = get_json(addr, "/api/agents").await;
    assert_eq!(status, 200, "{body}");
    let listed = &body["agents"][0];
    assert_eq!(listed["name"], "first");
    // The keys of `gvpie agents --json`, then the API's own.
    for key in ["name", "host", "pid", "roles", "state", "last_heartbeat", "executions"] {
        assert!(listed.get(key).is_some(), "{key} missing: {listed}");
    }
    assert_eq!((listed["host"].as_str(), listed["pid"].as_u64()), (Some("test-host"), Some(4242)));
    assert_eq!(listed["roles"], json!(["scripts", "goals"]));
    assert_eq!((listed["state"].as_str(), listed["executions"].as_i64()), (Some("alive"), Some(0)));
    assert_eq!(listed["working_on"], json!([]));

    let mut events = Events::open(addr).await;
    // A clean stop of an agent the server saw alive: `left`, state `stopped`.
    blocking(|| store.stop_agent(&first).expect("stop"));
    let left = events.agent_event("left first", |e| e["event"] == "left" && e["agent"] == "first").await;
    assert_eq!(left["state"], "stopped");

    // A new agent: `joined`, with its host, pid and roles.
    let late = blocking(|| register(&store, "late", Duration::from_secs(600)));
    let joined = events.agent_event("joined late", |e| e["event"] == "joined" && e["agent"] == "late").await;
    assert_eq!((joined["host"].as_str(), joined["pid"].as_u64()), (Some("test-host"), Some(4242)));
    assert_eq!((joined["restarted"].as_bool(), joined["state"].as_str()), (Some(false), Some("alive")));
    blocking(|| record_for(&mut store, &late, 5));
    // Its executions reach the stream naming it.
    let execution = events.event("execution", "of late", |e| e["agent"] == "late").await;
    assert_eq!(execution["origin"], "store", "{execution}");

    // An agent that claims the script and then stops heartbeating (killed): it goes `stale`, and
    // the next agent to ask takes the script over.
    let short = blocking(|| register(&store, "short", Duration::from_millis(1500)));
    let claimed = blocking(|| store.claim_scripts(&short, 10, 1 << 20).expect("claim"));
    assert_eq!(claimed.claims.len(), 1);
    let (status, body) = get_json(addr, "/api/agents").await;
    assert_eq!(status, 200);
    let row = body["agents"].as_array().expect("agents").iter().find(|a| a["name"] == "short").cloned();
    assert_eq!(row.map(|r| r["working_on"].clone()), Some(json!([format!("script:{}", script.id)])));
    let gone = events.agent_event("short goes stale", |e| e["event"] == "left" && e["agent"] == "short").await;
    assert_eq!(gone["state"], "stale");
    let taker = blocking(|| register(&store, "taker", Duration::from_secs(600)));
    let taken = blocking(|| store.claim_scripts(&taker, 10, 1 << 20).expect("claim"));
    assert_eq!(taken.claims.first().and_then(|c| c.took_over_from.as_deref()), Some("short"));
    let took = events.agent_event("taker takes over", |e| e["event"] == "took_over").await;
    assert_eq!((took["agent"].as_str(), took["from"].as_str()), (Some("taker"), Some("short")));
    assert_eq!(took["work"], format!("script:{}", script.id));

    // The list now: every agent with its state; `late`'s five executions, committed after the
    // server first read it, over more than a second of readings (the stale wait), give it a rate.
    let (status, body) = get_json(addr, "/api/agents").await;
    assert_eq!(status, 200, "{body}");
    let agents = body["agents"].as_array().expect("agents");
    let states: Vec<(String, String)> = agents
        .iter()
        .map(|a| (a["name"].as_str().unwrap_or("").to_string(), a["state"].as_str().unwrap_or("").to_string()))
        .collect();
    let expected = [("first", "stopped"), ("late", "alive"), ("short", "stale"), ("taker", "alive")];
    assert_eq!(states, expected.map(|(n, s)| (n.to_string(), s.to_string())));
    let late_row = &agents[1];
    assert_eq!(late_row["executions"], 5);
    let per_minute = late_row["executions_per_minute"].as_f64().expect("a measured rate");
    assert!(per_minute > 0.0, "{late_row}");
    assert!(late_row["rate_window_s"].as_f64().is_some_and(|w| w >= 1.0), "{late_row}");
    assert_eq!(agents[3]["working_on"], json!([format!("script:{}", script.id)]));

    stop.send(()).expect("server running");
    let finished = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(matches!(finished, Ok(Ok(Ok(())))), "the server shuts down cleanly: {finished:?}");
    // The watcher ends with the event stream.
    tokio::time::timeout(Duration::from_secs(10), watcher).await.expect("the watcher stops").expect("no panic");
    blocking(move || drop(store));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("gvpie.db");
    agents_are_listed_and_their_comings_and_goings_streamed(db.to_str().expect("utf-8 path")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_on_postgres() {
    let Some(server) = std::env::var("GVPIE_TEST_POSTGRES").ok().filter(|u| !u.trim().is_empty()) else {
        assert!(
            std::env::var("GVPIE_REQUIRE_POSTGRES").map_or(true, |v| v != "1"),
            "GVPIE_REQUIRE_POSTGRES=1 but GVPIE_TEST_POSTGRES names no server"
        );
        eprintln!("skipped: the PostgreSQL half of the agents test (GVPIE_TEST_POSTGRES is not set)");
        return;
    };
    // A fresh database on that server (the store creates it); left behind, as the store's tests' CI cluster is temporary.
    let name = format!("gvpie_server_agents_{}_{}", std::process::id(), gvpie_store::now_ms());
    let url = with_dbname(&server, &name);
    agents_are_listed_and_their_comings_and_goings_streamed(&url).await;
}

/// `url` naming the database `dbname` instead of its own (its query, if any, kept).
fn with_dbname(url: &str, dbname: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let (head, rest) = url.split_at(scheme_end);
    let path_start = rest.find('/').unwrap_or(rest.len());
    let query_start = rest.find('?').unwrap_or(rest.len()).max(path_start);
    format!("{head}{}/{dbname}{}", &rest[..path_start], &rest[query_start..])
}

#[test]
fn the_daemons_own_agent_events_become_agent_events() {
    let joined = Event::from_daemon_json(json!({
        "event": "agent_joined", "agent": "gpu0", "host": "h", "pid": 9, "roles": ["goals"],
        "restarted": true, "replaced": null, "own": true,
    }));
    let value = serde_json::to_value(&joined).expect("json");
    assert_eq!(joined.name(), "agent");
    assert_eq!(
        (value["event"].as_str(), value["agent"].as_str(), value["pid"].as_u64(), value["restarted"].as_bool()),
        (Some("joined"), Some("gpu0"), Some(9), Some(true))
    );
    assert_eq!(value["roles"], json!(["goals"]));
    let left = serde_json::to_value(Event::from_daemon_json(
        json!({"event": "agent_left", "agent": "gpu0", "state": "stale", "own": false}),
    ))
    .expect("json");
    assert_eq!(
        (left["type"].as_str(), left["event"].as_str(), left["state"].as_str()),
        (Some("agent"), Some("left"), Some("stale"))
    );
    let took = serde_json::to_value(Event::from_daemon_json(
        json!({"event": "took_over", "agent": "gpu1", "from": "gpu0", "work": "goal:3:0", "seq": 12}),
    ))
    .expect("json");
    assert_eq!(
        (took["event"].as_str(), took["from"].as_str(), took["work"].as_str(), took["seq"].as_i64()),
        (Some("took_over"), Some("gpu0"), Some("goal:3:0"), Some(12))
    );
    // Anything else stays a daemon event.
    assert_eq!(Event::from_daemon_json(json!({"event": "cycle_started", "cycle": 1})).name(), "daemon");
}
