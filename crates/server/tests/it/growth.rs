//! `GET /api/growth` on a real server over a database where a daemon ran a few cycles with self-set goals: the
//! counters are `Store::growth()`'s and the archive and adoptions are the store's lists, capped at 48 and 20.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use gvpie_exec::Engine;
use gvpie_server::{AppState, StorePool, serve};
use gvpie_store::{
    Adoption, BackendUsed, CycleExtras, DerivedScript, GoalChange, NewExecution, NewGoal, NewImage, NewScript,
    ParentRef, ProgramInput, RunConfig, SelfSetGoal, Store, TextRef,
};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use serde_json::Value;

use crate::util::test_limits;

/// The script the self-set optimize goal improves: its `HALT` costs a cycle the successor saves.
const ORIGINAL: &str = "RECT 1 1 4 2\nHALT";
const SUCCESSOR: &str = "RECT 1 1 4 2";

/// Distinct pictures the explore goal keeps: more than the answer's 48.
const PICTURES: usize = 50;

/// One execution of `code` on a 16x8 canvas, as the daemon records it.
fn execution(code: &str, parent: ParentRef, generator: Option<&str>) -> NewExecution {
    let config = gvpie_pxl::Config { width: 16, height: 8, budget: 10_000, max_frames: 0 };
    let texture = gvpie_pxl::compile(code).expect("the fixture compiles");
    let result = gvpie_pxl::run(&texture, &config).expect("the fixture runs");
    let rgba = result.canvas.to_rgba8();
    NewExecution {
        started_ms: gvpie_store::now_ms(),
        duration_us: 10,
        success: true,
        cycles: result.cycles,
        backend: Some(BackendUsed::Cpu),
        program: Some(Arc::new(ProgramInput::new(
            texture.to_bytes(),
            Some(TextRef::new(code)),
            texture.n_records() as i64,
            Vec::new(),
        ))),
        code: Some(TextRef::new(code)),
        image: Some(NewImage {
            hash: gvpie_store::image_hash(config.width, config.height, &rgba),
            width: config.width,
            height: config.height,
            png: Some(gvpie_cart::encode_png(&result.canvas, 1)),
        }),
        config: Some(RunConfig { width: config.width, height: config.height, budget: config.budget }),
        parent,
        generator: generator.map(TextRef::new),
        ..NewExecution::default()
    }
}

/// Three cycles as a daemon left alone commits them: the script runs and the daemon sets its goals; the explore
/// goal keeps pictures (one of them twice) and the optimize goal finds a faster successor, adopted at once.
fn seed(db: &Path) {
    let mut store = Store::open(db).expect("open");
    let script = store
        .create_script(&NewScript {
            name: "rect".into(),
            lang: "pixel".into(),
            purpose: None,
            code: ORIGINAL.into(),
            enabled: true,
            parent_script_id: None,
        })
        .expect("script");
    let mut run = execution(ORIGINAL, ParentRef::None, None);
    run.script_id = Some(script.id);
    run.script_name = Some(script.name.clone());
    // The explore goal's checkpoint holds its archive: three cells, three kinds of picture.
    let goal = |origin: &str, kind: &str, spec: Option<Value>| SelfSetGoal {
        origin: origin.into(),
        goal: NewGoal { goal: format!("{origin} (self-set)"), priority: 3, kind: kind.into(), spec },
    };
    let explore_spec = serde_json::json!({"state": {"archive": [{}, {}, {}]}});
    let first = store
        .record_cycle_with(
            &[run],
            None,
            &CycleExtras {
                self_set_goals: vec![goal("optimize:rect", "", None), goal("explore:1", "explore", Some(explore_spec))],
                ..Default::default()
            },
        )
        .expect("cycle 1");
    let original_iteration = first.iterations[0];
    let goals = store.list_goals().expect("goals");
    let id_of = |origin: &str| goals.iter().find(|g| g.origin.as_deref() == Some(origin)).expect("self-set").id;
    let (optimize, explore) = (id_of("optimize:rect"), id_of("explore:1"));

    // The explore goal: a seed and its children, each a different picture, and one picture found twice.
    let mut batch = vec![execution("CLS 0 0 0\nHALT", ParentRef::None, Some("explore:seed"))];
    for i in 0..PICTURES {
        let code = format!("CLS 0 0 0\nCOLOR 255 {} 0\nPSET {} {}\nHALT", i * 5, i % 16, i / 16);
        batch.push(execution(&code, ParentRef::Pending(0), Some("explore:insert")));
    }
    batch.push(execution("CLS 0 0 0\nCOLOR 255 0 0\nPSET 0 0\nHALT", ParentRef::Pending(1), Some("explore:swap")));
    for e in &mut batch {
        e.goal_id = Some(explore);
    }
    store.record_cycle_with(&batch, None, &CycleExtras::default()).expect("cycle 2");

    // The optimize goal's successor: the same pixels in one cycle fewer, adopted in the original's place.
    let mut child = execution(SUCCESSOR, ParentRef::Iteration(original_iteration), Some("optimize:delete"));
    child.goal_id = Some(optimize);
    let extras = CycleExtras {
        goals: vec![GoalChange {
            id: optimize,
            status: Some("done".into()),
            best: Some((ParentRef::Pending(0), child.cycles as f64)),
            ..Default::default()
        }],
        scripts: vec![DerivedScript {
            name: "rect.optimized".into(),
            lang: "pixel".into(),
            purpose: None,
            code: SUCCESSOR.into(),
            parent_script_id: Some(script.id),
        }],
        adoptions: vec![Adoption {
            goal_id: optimize,
            original: "rect".into(),
            successor: "rect.optimized".into(),
            original_cycles: 2,
            cycles: child.cycles,
            execution: ParentRef::Pending(0),
        }],
        ..Default::default()
    };
    store.record_cycle_with(&[child], None, &extras).expect("cycle 3");
}

/// `GET path` on a real server at `addr`, as JSON.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn growth_is_the_stores_counters_archive_and_adoptions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("gvpie.db");
    seed(&db);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let pool = StorePool::open(db.to_str().expect("utf-8 path")).expect("open the store");
    let state = AppState::new(Arc::new(Engine::cpu_only())).with_limits(test_limits()).with_store(pool);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async move {
        let _ = stopped.await;
    }));

    let (status, body) = get_json(addr, "/api/growth").await;
    assert_eq!(status, 200, "{body}");
    let mut keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["adoptions", "archive", "growth"]);

    let store = Store::open(&db).expect("open");
    let growth = store.growth().expect("growth");
    assert_eq!(body["growth"], serde_json::to_value(&growth).expect("JSON"));
    assert_eq!(body["archive"], serde_json::to_value(store.archive_pictures(48).expect("archive")).expect("JSON"));
    assert_eq!(body["adoptions"], serde_json::to_value(store.adoptions(20).expect("adoptions")).expect("JSON"));

    // The numbers are the fixture's: two self-set goals, one done; the seed and 50 distinct pictures (the 51st is
    // a copy); one adoption saving one cycle a run; every explore child and the successor name a parent.
    assert_eq!(
        (growth.self_set_goals, growth.goals_done, growth.archive_pictures, growth.adoptions),
        (2, 1, PICTURES as i64 + 1, 1)
    );
    assert_eq!((growth.cycles_saved_per_run, growth.with_lineage), (1, PICTURES as i64 + 2));
    assert_eq!(growth.archive_kinds, 3);
    let archive = body["archive"].as_array().expect("archive");
    assert_eq!(archive.len(), 48, "the newest 48 of {} pictures", growth.archive_pictures);
    let iterations: Vec<i64> = archive.iter().map(|p| p["iteration"].as_i64().expect("iteration")).collect();
    assert!(iterations.windows(2).all(|w| w[0] > w[1]), "newest first: {iterations:?}");
    let adoption = &body["adoptions"][0];
    assert_eq!(
        (&adoption["original"], &adoption["successor"], &adoption["original_cycles"], &adoption["cycles"]),
        (&Value::from("rect"), &Value::from("rect.optimized"), &Value::from(2), &Value::from(1))
    );

    // Each archive picture is served where the answer says.
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    let path = format!("/api/map/{}/image", iterations[0]);
    let request = Request::get(&path).header("host", addr.to_string()).body(Body::empty()).expect("request");
    let response = sender.send_request(request).await.expect("a response");
    assert_eq!(response.status().as_u16(), 200, "{path}");
    assert_eq!(response.headers()["content-type"], "image/png");

    stop.send(()).expect("server running");
    let finished = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(matches!(finished, Ok(Ok(Ok(())))), "the server shuts down cleanly: {finished:?}");
}
