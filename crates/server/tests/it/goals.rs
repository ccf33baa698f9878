//! `POST /api/goals`, `GET /api/goals/{id}` and `PATCH /api/goals/{id}` against a real SQLite
//! database in a temporary folder: exact statuses and error kinds.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use gvpie_exec::Engine;
use gvpie_server::{AppState, StorePool, app};
use gvpie_store::{NewScript, Store};
use serde_json::{Value, json};

use crate::util::{get, post_json, send, test_limits};

struct Fixture {
    router: Router,
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
}

fn fixture_with(token: Option<&str>) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("gvpie.db");
    let pool = StorePool::open(db.to_str().expect("utf-8 path")).expect("open the store");
    let state = AppState::new(Arc::new(Engine::cpu_only()))
        .with_limits(test_limits())
        .with_store(pool)
        .with_token(token.map(str::to_string));
    let store = Store::open(&db).expect("open");
    for (name, lang, code) in [
        ("gradient", "pixel", "RECT 0 0 4 4\nRECT 1 1 2 2\nHALT"),
        ("forever", "pixel", "x:\nJMP x\n"),
        ("cart", "cartridge", "AAAA"),
    ] {
        let new = NewScript {
            name: name.into(),
            lang: lang.into(),
            purpose: None,
            code: code.into(),
            enabled: true,
            parent_script_id: None,
        };
        store.create_script(&new).expect("script");
    }
    Fixture { router: app(state), _dir: dir, db }
}

fn fixture() -> Fixture {
    fixture_with(None)
}

fn patch_json(path: &str, body: Value) -> Request<Body> {
    Request::patch(path).header("content-type", "application/json").body(Body::from(body.to_string())).expect("request")
}

/// A 6x4 PNG, base64.
fn target_png() -> String {
    let rgba: Vec<u8> = (0..6 * 4).flat_map(|i| [(i * 10) as u8, 40, 200, 255]).collect();
    let canvas = gvpie_raster::Canvas::from_rgba8(6, 4, &rgba).expect("canvas");
    base64::engine::general_purpose::STANDARD.encode(gvpie_cart::encode_png(&canvas, 1))
}

#[tokio::test]
async fn an_optimize_goal_is_added_inspected_paused_and_resumed() {
    let fx = fixture();
    let body = json!({"kind": "optimize", "script": "gradient", "width": 16, "height": 8, "seconds": 30,
        "evaluations": 1000, "target_score": 2, "patience": 50, "seed": 7});
    let created = send(&fx.router, post_json("/api/goals", body.to_string())).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let goal = created.json();
    let id = goal["id"].as_i64().expect("id");
    assert_eq!(
        (goal["kind"].as_str(), goal["status"].as_str(), goal["goal"].as_str(), goal["priority"].as_i64()),
        (Some("optimize"), Some("active"), Some("gradient in fewer cycles"), Some(5))
    );
    assert_eq!(goal["spec"]["script"], "gradient");
    assert_eq!((goal["spec"]["width"].as_u64(), goal["spec"]["height"].as_u64()), (Some(16), Some(8)));
    assert_eq!(goal["spec"]["seed"], 7);
    assert_eq!(
        goal["spec"]["budget"],
        json!({"seconds": 30.0, "evaluations": 1000, "target_score": 2.0, "patience": 50})
    );

    let shown = send(&fx.router, get(&format!("/api/goals/{id}"))).await;
    assert_eq!(shown.status, 200, "{}", shown.text());
    assert_eq!(shown.json(), goal);

    let paused = send(&fx.router, patch_json(&format!("/api/goals/{id}"), json!({"status": "paused"}))).await;
    assert_eq!(paused.status, 200, "{}", paused.text());
    assert_eq!(paused.json()["status"], "paused");
    // The daemon reads the same table: a paused goal is not active.
    let store = Store::open(&fx.db).expect("open");
    assert!(store.active_goals().expect("goals").is_empty());

    let resumed = send(&fx.router, patch_json(&format!("/api/goals/{id}"), json!({"status": "active"}))).await;
    assert_eq!(resumed.status, 200, "{}", resumed.text());
    assert_eq!(resumed.json()["status"], "active");
    assert_eq!(store.active_goals().expect("goals").len(), 1);

    let list = send(&fx.router, get("/api/goals")).await.json();
    assert_eq!(list["goals"][0]["id"], id);

    // A done goal stays done.
    store
        .update_goal(id, &gvpie_store::GoalUpdate { status: Some("done".into()), ..Default::default() })
        .expect("done");
    send(&fx.router, patch_json(&format!("/api/goals/{id}"), json!({"status": "active"})))
        .await
        .assert_error(422, "invalid_request");
}

#[tokio::test]
async fn an_image_goal_stores_its_target() {
    let fx = fixture();
    let body = json!({"kind": "image", "target_png": target_png(), "shapes": 12, "mode": "both", "alpha": 0,
        "name": "stripes", "priority": 9});
    let created = send(&fx.router, post_json("/api/goals", body.to_string())).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let goal = created.json();
    assert_eq!((goal["kind"].as_str(), goal["goal"].as_str()), (Some("image"), Some("stripes")));
    assert_eq!(goal["priority"], 9);
    let spec = &goal["spec"];
    assert_eq!(
        (spec["width"].as_u64(), spec["height"].as_u64(), spec["shapes"].as_u64()),
        (Some(6), Some(4), Some(12))
    );
    assert_eq!((spec["mode"].as_str(), spec["alpha"].as_u64()), (Some("both"), Some(0)));
    // New image goals search with the evaluator cascade unless told otherwise; the effort follows the daemon's scorer.
    assert_eq!((spec["strategy"].as_str(), spec.get("effort")), (Some("cascade"), None));
    // The target is in the images table, by the hash the spec names.
    let hash = spec["target"].as_str().expect("target hash");
    let image = send(&fx.router, get(&format!("/api/images/{hash}"))).await;
    assert_eq!(image.status, 200);

    let unnamed = json!({"kind": "image", "target_png": target_png(), "shapes": 3});
    let created = send(&fx.router, post_json("/api/goals", unnamed.to_string())).await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["goal"], "approximate a 6x4 image with 3 shapes");

    for (strategy, effort) in [("fast", None), ("plain", None), ("cascade", Some("gpu"))] {
        let body = json!({"kind": "image", "target_png": target_png(), "strategy": strategy, "effort": effort});
        let created = send(&fx.router, post_json("/api/goals", body.to_string())).await;
        assert_eq!(created.status, 201, "{}", created.text());
        let spec = &created.json()["spec"];
        assert_eq!((spec["strategy"].as_str(), spec["effort"].as_str()), (Some(strategy), effort));
    }
}

#[tokio::test]
async fn image_goals_refuse_unknown_strategies_and_efforts() {
    let fx = fixture();
    let png = target_png();
    let cases = [
        (
            json!({"kind": "image", "target_png": png, "strategy": "greedy"}),
            "unknown strategy 'greedy' (expected fast, cascade or plain)",
        ),
        (json!({"kind": "image", "target_png": png, "effort": "max"}), "unknown effort 'max' (expected cpu or gpu)"),
        (
            json!({"kind": "image", "target_png": png, "strategy": "fast", "effort": "cpu"}),
            "effort applies to the cascade only, not to strategy 'fast'",
        ),
        (
            json!({"kind": "optimize", "script": "gradient", "strategy": "fast"}),
            "strategy does not apply to optimize goals",
        ),
        (json!({"kind": "optimize", "script": "gradient", "effort": "gpu"}), "effort does not apply to optimize goals"),
    ];
    for (body, message) in cases {
        let answer = send(&fx.router, post_json("/api/goals", body.to_string())).await;
        let error = answer.assert_error(422, "invalid_request");
        assert_eq!(error["message"], message, "{body}");
    }
    assert!(Store::open(&fx.db).expect("open").list_goals().expect("goals").is_empty());
}

#[tokio::test]
async fn unknown_goals_are_404() {
    let fx = fixture();
    send(&fx.router, get("/api/goals/99")).await.assert_error(404, "not_found");
    send(&fx.router, patch_json("/api/goals/99", json!({"status": "paused"}))).await.assert_error(404, "not_found");
    send(&fx.router, get("/api/goals/abc")).await.assert_error(422, "invalid_request");
}

#[tokio::test]
async fn bad_goals_are_refused_with_the_error_shape() {
    let fx = fixture();
    let png = target_png();
    let not_png = base64::engine::general_purpose::STANDARD.encode(b"GIF89a not a png");
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"kind": "dream", "script": "gradient"}), 422, "invalid_request"),
        (json!({"script": "gradient"}), 422, "invalid_request"),
        (json!({"kind": "optimize", "script": "nope"}), 422, "invalid_request"),
        (json!({"kind": "optimize"}), 422, "invalid_request"),
        (json!({"kind": "optimize", "script": "cart"}), 422, "invalid_request"),
        (json!({"kind": "optimize", "script": "forever", "cycle_budget": 1000}), 422, "invalid_request"),
        (json!({"kind": "optimize", "script": "gradient", "seconds": 0}), 422, "invalid_request"),
        (json!({"kind": "optimize", "script": "gradient", "seconds": -3.5}), 422, "invalid_request"),
        (json!({"kind": "optimize", "script": "gradient", "evaluations": -1}), 422, "invalid_request"),
        (json!({"kind": "optimize", "script": "gradient", "patience": "ten"}), 422, "invalid_request"),
        (json!({"kind": "optimize", "script": "gradient", "width": 0}), 422, "invalid_request"),
        (json!({"kind": "optimize", "script": "gradient", "width": 5000}), 422, "limit_exceeded"),
        (json!({"kind": "optimize", "script": "gradient", "cycle_budget": 0}), 422, "invalid_request"),
        (json!({"kind": "optimize", "script": "gradient", "cycle_budget": 1u64 << 40}), 422, "limit_exceeded"),
        (json!({"kind": "optimize", "script": "gradient", "name": "  "}), 422, "invalid_request"),
        (json!({"kind": "optimize", "script": "gradient", "shapes": 5}), 422, "invalid_request"),
        (json!({"kind": "optimize", "script": "gradient", "colour": "red"}), 422, "invalid_request"),
        (json!({"kind": "image"}), 422, "invalid_request"),
        (json!({"kind": "image", "target_png": "%%% not base64"}), 422, "invalid_request"),
        (json!({"kind": "image", "target_png": not_png}), 422, "invalid_request"),
        (json!({"kind": "image", "target_png": png, "shapes": 0}), 422, "invalid_request"),
        (json!({"kind": "image", "target_png": png, "mode": "circle"}), 422, "invalid_request"),
        (json!({"kind": "image", "target_png": png, "alpha": 300}), 422, "invalid_request"),
        (json!({"kind": "image", "target_png": png, "script": "gradient"}), 422, "invalid_request"),
    ];
    for (body, status, kind) in cases {
        let answer = send(&fx.router, post_json("/api/goals", body.to_string())).await;
        assert_eq!(answer.status.as_u16(), status, "{body}: {}", answer.text());
        answer.assert_error(status, kind);
    }
    send(&fx.router, post_json("/api/goals", "{\"kind\": ")).await.assert_error(400, "malformed_json");
    let wrong_status = patch_json("/api/goals/1", json!({"status": "done"}));
    send(&fx.router, wrong_status).await.assert_error(422, "invalid_request");
    // Nothing was added.
    assert!(Store::open(&fx.db).expect("open").list_goals().expect("goals").is_empty());
}

#[tokio::test]
async fn the_goal_endpoints_need_the_token() {
    let fx = fixture_with(Some("s3cret-token"));
    let body = json!({"kind": "optimize", "script": "gradient"}).to_string();
    send(&fx.router, post_json("/api/goals", body.clone())).await.assert_error(401, "unauthorized");
    send(&fx.router, get("/api/goals/1")).await.assert_error(401, "unauthorized");
    let with_token = Request::post("/api/goals")
        .header("content-type", "application/json")
        .header("authorization", "Bearer s3cret-token")
        .body(Body::from(body))
        .expect("request");
    assert_eq!(send(&fx.router, with_token).await.status, 201);
}

#[tokio::test]
async fn a_goals_llm_proposals_are_listed_newest_first() {
    let fx = fixture();
    let created =
        send(&fx.router, post_json("/api/goals", json!({"kind": "optimize", "script": "gradient"}).to_string())).await;
    assert_eq!(created.status, 201);
    let id = created.json()["id"].as_i64().expect("id");
    let empty = send(&fx.router, get(&format!("/api/goals/{id}/proposals"))).await;
    assert_eq!((empty.status.as_u16(), empty.json()), (200, json!({"proposals": []})));

    let mut store = Store::open(&fx.db).expect("open");
    let proposal = |outcome: &str, reason: Option<&str>| gvpie_store::NewProposal {
        goal_id: id,
        generator: "llm:m".into(),
        outcome: outcome.into(),
        reason: reason.map(str::to_string),
        source: Some("HALT\n".into()),
        score: Some(3.0),
        ..gvpie_store::NewProposal::default()
    };
    let extras = gvpie_store::CycleExtras {
        proposals: vec![proposal("rejected", Some("no program")), proposal("refused", Some("not faster"))],
        ..gvpie_store::CycleExtras::default()
    };
    store.record_cycle_with(&[], None, &extras).expect("record");

    let answer = send(&fx.router, get(&format!("/api/goals/{id}/proposals"))).await;
    assert_eq!(answer.status, 200);
    let proposals = answer.json()["proposals"].as_array().expect("proposals").clone();
    let outcomes: Vec<(&str, &str)> =
        proposals.iter().map(|p| (p["outcome"].as_str().unwrap_or(""), p["reason"].as_str().unwrap_or(""))).collect();
    assert_eq!(outcomes, [("refused", "not faster"), ("rejected", "no program")]);
    assert_eq!(proposals[0]["generator"], "llm:m");
    assert_eq!(proposals[0]["source"], "HALT\n");
    assert_eq!(proposals[0]["score"], 3.0);
    assert_eq!(proposals[0]["iteration"], Value::Null);
    assert_eq!(proposals[0]["goal_id"], id);
    let one = send(&fx.router, get(&format!("/api/goals/{id}/proposals?limit=1"))).await.json();
    assert_eq!(one["proposals"].as_array().map(Vec::len), Some(1));

    send(&fx.router, get("/api/goals/99/proposals")).await.assert_error(404, "not_found");
    send(&fx.router, get(&format!("/api/goals/{id}/proposals?limit=0"))).await.assert_error(422, "invalid_request");
    send(&fx.router, get("/api/goals/abc/proposals")).await.assert_error(422, "invalid_request");
}
