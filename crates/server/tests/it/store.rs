//! The endpoints over the store, against a real SQLite database in a temporary folder: scripts,
//! the infinite map (paging, filters, lineage, images), programs, cartridges, goals, summary.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use gvpie_exec::Engine;
use gvpie_server::{AppState, StorePool, app};
use gvpie_store::{NewExecution, NewImage, NewScript, ParentRef, RunConfig, Store, TextRef};
use serde_json::json;

use crate::util::{get, post_json, send, test_limits};

struct Fixture {
    router: Router,
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("gvpie.db");
    let pool = StorePool::open(db.to_str().expect("utf-8 path")).expect("open the store");
    let state = AppState::new(Arc::new(Engine::cpu_only())).with_limits(test_limits()).with_store(pool);
    Fixture { router: app(state), _dir: dir, db }
}

fn patch_json(path: &str, body: serde_json::Value) -> Request<Body> {
    Request::patch(path).header("content-type", "application/json").body(Body::from(body.to_string())).expect("request")
}

#[tokio::test]
async fn scripts_can_be_created_listed_read_and_changed() {
    let fx = fixture();
    let new = json!({"name": "hello_gpu", "purpose": "Test GPU pipeline", "code": "TXT 10 10 HELLO GPU\nHALT"});
    let answer = send(&fx.router, post_json("/api/scripts", new.to_string())).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let created = answer.json();
    assert_eq!((created["lang"].as_str(), created["enabled"].as_bool()), (Some("pixel"), Some(true)));
    let id = created["id"].as_i64().expect("id");

    let list = send(&fx.router, get("/api/scripts")).await.json();
    assert_eq!(list["scripts"][0]["name"], "hello_gpu");
    assert!(list["scripts"][0].get("code").is_none(), "lists leave the code out");

    let one = send(&fx.router, get(&format!("/api/scripts/{id}"))).await.json();
    assert_eq!(one["code"], "TXT 10 10 HELLO GPU\nHALT");

    let changed = send(&fx.router, patch_json(&format!("/api/scripts/{id}"), json!({"enabled": false}))).await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    assert_eq!(changed.json()["enabled"], false);

    // The store sees it too (the daemon reads the same table).
    let store = Store::open(&fx.db).expect("open");
    assert_eq!(store.script(id).expect("read").map(|s| s.enabled), Some(false));
}

#[tokio::test]
async fn script_mistakes_are_4xx() {
    let fx = fixture();
    let new = json!({"name": "a", "code": "HALT"});
    assert_eq!(send(&fx.router, post_json("/api/scripts", new.to_string())).await.status, 201);
    send(&fx.router, post_json("/api/scripts", new.to_string())).await.assert_error(422, "invalid_request");
    let bad_lang = json!({"name": "b", "lang": "python", "code": "print()"});
    send(&fx.router, post_json("/api/scripts", bad_lang.to_string())).await.assert_error(422, "invalid_request");
    send(&fx.router, post_json("/api/scripts", json!({"name": "c"}).to_string()))
        .await
        .assert_error(422, "invalid_request");
    // An unknown parent is the caller's mistake, not a server error (found by schemathesis).
    let orphan = json!({"name": "d", "code": "HALT", "parent_script_id": 10_000_000});
    let error =
        send(&fx.router, post_json("/api/scripts", orphan.to_string())).await.assert_error(422, "invalid_request");
    assert_eq!(error["message"], "parent_script_id 10000000: there is no script with that id");
    let child = json!({"name": "e", "code": "HALT", "parent_script_id": 1});
    assert_eq!(send(&fx.router, post_json("/api/scripts", child.to_string())).await.status, 201);
    send(&fx.router, get("/api/scripts/abc")).await.assert_error(422, "invalid_request");
    send(&fx.router, get("/api/scripts/999")).await.assert_error(404, "not_found");
    send(&fx.router, patch_json("/api/scripts/999", json!({"enabled": true}))).await.assert_error(404, "not_found");
    send(&fx.router, patch_json("/api/scripts/1", json!({"enabled": "yes"})))
        .await
        .assert_error(422, "invalid_request");
    send(&fx.router, post_json("/api/scripts", "{\"name\": ")).await.assert_error(400, "malformed_json");
    let huge = json!({"name": "huge", "code": "HALT\n".repeat(20_000)});
    send(&fx.router, post_json("/api/scripts", huge.to_string())).await.assert_error(413, "payload_too_large");
    // After all of it the database is intact and holds exactly the two good scripts, the child with its parent.
    let store = Store::open(&fx.db).expect("open");
    assert_eq!(store.integrity_check().expect("check"), Ok(()));
    let scripts = store.list_scripts().expect("list");
    assert_eq!(
        scripts.iter().map(|s| (s.name.as_str(), s.parent_script_id)).collect::<Vec<_>>(),
        [("a", None), ("e", Some(1))]
    );
}

/// Records three generations (1 → 2 → 3) and an unrelated run of another script.
fn record_history(db: &std::path::Path) -> Vec<i64> {
    let mut store = Store::open(db).expect("open");
    let script = |name: &str| NewScript {
        name: name.to_string(),
        lang: "pixel".to_string(),
        purpose: None,
        code: "HALT".to_string(),
        enabled: true,
        parent_script_id: None,
    };
    let a = store.create_script(&script("alpha")).expect("script");
    let b = store.create_script(&script("beta")).expect("script");
    let screen = gvpie_raster::Canvas::new(4, 2).expect("canvas");
    let png = gvpie_cart::encode_png(&screen, 1);
    let image =
        NewImage { hash: gvpie_store::image_hash(4, 2, &screen.to_rgba8()), width: 4, height: 2, png: Some(png) };
    let run = |script: &gvpie_store::Script, parent: ParentRef, started_ms: i64| NewExecution {
        started_ms,
        duration_us: 15,
        success: true,
        cycles: 2,
        backend: Some(gvpie_store::BackendUsed::Cpu),
        script_id: Some(script.id),
        script_name: Some(script.name.clone()),
        code: Some(TextRef::new("HALT")),
        task: Some(TextRef::new(format!("{}: test", script.name))),
        image: Some(image.clone()),
        config: Some(RunConfig { width: 4, height: 2, budget: 100 }),
        parent,
        ..NewExecution::default()
    };
    let cycle = store
        .record_cycle(
            &[
                run(&a, ParentRef::None, 1_000),
                run(&a, ParentRef::Pending(0), 2_000),
                run(&a, ParentRef::Pending(1), 3_000),
                run(&b, ParentRef::None, 4_000),
            ],
            None,
        )
        .expect("record");
    cycle.iterations
}

#[tokio::test]
async fn the_infinite_map_pages_filters_and_follows_lineage() {
    let fx = fixture();
    let its = record_history(&fx.db);
    assert_eq!(its.len(), 4);

    let page = send(&fx.router, get("/api/map?limit=2")).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let page = page.json();
    let entries = page["entries"].as_array().expect("entries");
    assert_eq!(entries.iter().map(|e| e["iteration"].as_i64()).collect::<Vec<_>>(), vec![Some(its[3]), Some(its[2])]);
    let next = page["next_before"].as_i64().expect("another page");
    let rest = send(&fx.router, get(&format!("/api/map?limit=2&before={next}"))).await.json();
    assert_eq!(rest["entries"].as_array().map(Vec::len), Some(2));
    assert_eq!(rest["next_before"], serde_json::Value::Null);

    let alpha = send(&fx.router, get("/api/map?script=alpha")).await.json();
    assert_eq!(alpha["entries"].as_array().map(Vec::len), Some(3));
    let timed = send(&fx.router, get("/api/map?since=2000&until=4000")).await.json();
    assert_eq!(timed["entries"].as_array().map(Vec::len), Some(2));
    let failures = send(&fx.router, get("/api/map?success=false")).await.json();
    assert_eq!(failures["entries"].as_array().map(Vec::len), Some(0));
    let with_code = send(&fx.router, get("/api/map?include_code=true&limit=1")).await.json();
    assert_eq!(with_code["entries"][0]["code"], "HALT");

    let entry = send(&fx.router, get(&format!("/api/map/{}", its[1]))).await.json();
    assert_eq!(entry["script_name"], "alpha");
    assert_eq!(entry["parent_iteration"], its[0]);
    assert_eq!((entry["width"].as_u64(), entry["backend"].as_str()), (Some(4), Some("cpu")));
    assert_eq!(entry["image_hash"].as_str().map(str::len), Some(64));

    let lineage = send(&fx.router, get(&format!("/api/map/{}/lineage", its[1]))).await.json();
    assert_eq!(lineage["entry"]["iteration"], its[1]);
    assert_eq!(lineage["ancestors"][0]["entry"]["iteration"], its[0]);
    assert_eq!(lineage["descendants"][0]["entry"]["iteration"], its[2]);
    assert_eq!(lineage["descendants"][0]["depth"], 1);
    let shallow = send(&fx.router, get(&format!("/api/map/{}/lineage?depth=1", its[2]))).await.json();
    assert_eq!(shallow["ancestors"].as_array().map(Vec::len), Some(1));

    let image = send(&fx.router, get(&format!("/api/map/{}/image", its[0]))).await;
    assert_eq!(image.status, 200);
    assert_eq!(image.headers.get("content-type").map(|v| v.as_bytes()), Some(&b"image/png"[..]));
    let canvas = gvpie_cart::decode_png(&image.bytes).expect("a PNG");
    assert_eq!((canvas.width(), canvas.height()), (4, 2));
    let by_hash = send(&fx.router, get(&format!("/api/images/{}", entry["image_hash"].as_str().unwrap_or("")))).await;
    assert_eq!(by_hash.bytes, image.bytes);

    let summary = send(&fx.router, get("/api/summary")).await.json();
    assert_eq!(summary["executions"], 4);
    assert_eq!(send(&fx.router, get("/api/goals")).await.status, 200);
}

#[tokio::test]
async fn map_mistakes_are_4xx() {
    let fx = fixture();
    for query in ["limit=0", "limit=5000", "limit=ten", "since=yesterday", "success=maybe", "goal=-1"] {
        send(&fx.router, get(&format!("/api/map?{query}"))).await.assert_error(422, "invalid_request");
    }
    send(&fx.router, get("/api/map/77")).await.assert_error(404, "not_found");
    send(&fx.router, get("/api/map/x")).await.assert_error(422, "invalid_request");
    send(&fx.router, get("/api/map/77/lineage")).await.assert_error(404, "not_found");
    send(&fx.router, get("/api/map/1/lineage?depth=0")).await.assert_error(422, "invalid_request");
    send(&fx.router, get("/api/map/77/image")).await.assert_error(404, "not_found");
    send(&fx.router, get("/api/images/nothex")).await.assert_error(422, "invalid_request");
    send(&fx.router, get(&format!("/api/images/{}", "0".repeat(64)))).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn programs_are_content_addressed() {
    let fx = fixture();
    let code = "SET a 1\nTXT 1 1 hi\nHALT";
    let first = send(&fx.router, post_json("/api/programs", json!({"code": code}).to_string())).await;
    assert_eq!(first.status, 201, "{}", first.text());
    let first = first.json();
    let hash = first["hash"].as_str().expect("hash").to_string();
    assert_eq!(hash.len(), 64);
    assert_eq!(first["opcodes"], json!(["HALT", "SET", "TXT"]));
    // The same program again: the same hash.
    let again = send(&fx.router, post_json("/api/programs", json!({"code": code}).to_string())).await.json();
    assert_eq!(again["hash"], hash.as_str());
    let fetched = send(&fx.router, get(&format!("/api/programs/{hash}"))).await.json();
    assert_eq!(fetched["source"], code);
    let texture =
        base64::engine::general_purpose::STANDARD.decode(fetched["texture"].as_str().unwrap_or("")).expect("b64");
    assert!(gvpie_pxl::Texture::from_bytes(&texture).is_ok());

    let error = send(&fx.router, post_json("/api/programs", json!({"code": "HALT\nRECT 1 2"}).to_string()))
        .await
        .assert_error(422, "invalid_program");
    assert_eq!((error["line"].as_u64(), error["column"].as_u64()), (Some(2), Some(1)));
    send(&fx.router, get("/api/programs/xyz")).await.assert_error(422, "invalid_request");
    send(&fx.router, get(&format!("/api/programs/{}", "a".repeat(64)))).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn cartridges_are_registered_and_served() {
    let fx = fixture();
    let screen = gvpie_raster::Canvas::new(8, 8).expect("canvas");
    let png = gvpie_cart::pack("HALT\n", &screen).expect("pack");
    let body = json!({"cartridge": base64::engine::general_purpose::STANDARD.encode(&png), "path": "halt.png"});
    let created = send(&fx.router, post_json("/api/cartridges", body.to_string())).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let created = created.json();
    let checksum = created["checksum"].as_str().expect("checksum").to_string();
    assert_eq!(created["path"], "halt.png");

    let list = send(&fx.router, get("/api/cartridges")).await.json();
    assert_eq!(list["cartridges"].as_array().map(Vec::len), Some(1));
    for key in ["halt.png".to_string(), format!("sha256:{checksum}"), checksum.clone()] {
        let entry = send(&fx.router, get(&format!("/api/cartridges/{key}"))).await;
        assert_eq!(entry.status, 200, "{key}: {}", entry.text());
        let bytes = send(&fx.router, get(&format!("/api/cartridges/{key}/png"))).await;
        assert_eq!(bytes.bytes, png);
    }
    send(&fx.router, get("/api/cartridges/nope.png")).await.assert_error(404, "not_found");
    let not_a_cart =
        json!({"cartridge": base64::engine::general_purpose::STANDARD.encode(gvpie_cart::encode_png(&screen, 1))});
    send(&fx.router, post_json("/api/cartridges", not_a_cart.to_string())).await.assert_error(422, "invalid_request");
    let bad_path = json!({"cartridge": "AAAA", "path": "../etc/passwd"});
    send(&fx.router, post_json("/api/cartridges", bad_path.to_string())).await.assert_error(422, "invalid_request");
}

#[tokio::test]
async fn without_a_database_the_store_endpoints_are_503() {
    let router = crate::util::test_app();
    for path in ["/api/scripts", "/api/map", "/api/map/1", "/api/goals", "/api/summary", "/api/cartridges"] {
        let answer = send(&router, get(path)).await;
        answer.assert_error(503, "unavailable");
        assert!(answer.headers.get("retry-after").is_some());
    }
}

/// An image goal's lineage as the daemon records it: every generation's program and image hash,
/// but a PNG only for the last (each cycle's best). Every ancestor's picture is drawn again on
/// demand by replaying it, equals what the program draws, and is kept for the next request.
#[tokio::test]
async fn every_ancestor_picture_is_drawn_on_demand() {
    let fx = fixture();
    let mut store = Store::open(&fx.db).expect("open");
    let generations = [
        "SIZE 12 7\nCLS 10 20 30\nHALT",
        "SIZE 12 7\nCLS 10 20 30\nCOLOR 200 0 0 128\nTRI 0 0 11 0 5 6\nHALT",
        "SIZE 12 7\nCLS 10 20 30\nCOLOR 200 0 0 128\nTRI 0 0 11 0 5 6\nCOLOR 0 250 0 90\nRECT 3 2 5 4\nHALT",
    ];
    let mut batch = Vec::new();
    let mut screens = Vec::new();
    for (index, source) in generations.iter().enumerate() {
        let texture = gvpie_pxl::compile(source).expect("compiles");
        let config = gvpie_pxl::Config::for_texture(&texture);
        let screen = gvpie_pxl::run(&texture, &config).expect("runs").canvas;
        let hash = gvpie_store::image_hash(screen.width(), screen.height(), &screen.to_rgba8());
        let last = index + 1 == generations.len();
        let png = last.then(|| gvpie_cart::encode_png(&screen, 1));
        let program = gvpie_store::ProgramInput::new(texture.to_bytes(), Some(TextRef::new(*source)), 0, Vec::new());
        batch.push(NewExecution {
            started_ms: 1_000 + index as i64,
            success: true,
            backend: Some(gvpie_store::BackendUsed::Cpu),
            program: Some(Arc::new(program)),
            code: Some(TextRef::new(*source)),
            image: Some(NewImage { hash, width: 12, height: 7, png }),
            config: Some(RunConfig { width: 12, height: 7, budget: 1_000 }),
            parent: if index == 0 { ParentRef::None } else { ParentRef::Pending(index - 1) },
            ..NewExecution::default()
        });
        screens.push((hash, screen));
    }
    let its = store.record_cycle(&batch, None).expect("record").iterations;
    assert_eq!(store.image_of_iteration(its[0]).expect("read").and_then(|i| i.png), None, "not kept at first");

    let lineage = send(&fx.router, get(&format!("/api/map/{}/lineage", its[2]))).await.json();
    let ancestors: Vec<i64> = lineage["ancestors"]
        .as_array()
        .expect("ancestors")
        .iter()
        .filter_map(|a| a["entry"]["iteration"].as_i64())
        .collect();
    assert_eq!(ancestors, [its[1], its[0]]);
    for (iteration, (hash, screen)) in its.iter().zip(&screens) {
        let image = send(&fx.router, get(&format!("/api/map/{iteration}/image"))).await;
        assert_eq!(image.status, 200, "iteration {iteration}: {}", image.text());
        let drawn = gvpie_cart::decode_png(&image.bytes).expect("a PNG");
        assert_eq!(drawn.to_rgba8(), screen.to_rgba8(), "iteration {iteration}");
        // Kept now, under the image's hash.
        let kept = store.image_by_hash(hash).expect("read").and_then(|i| i.png);
        assert_eq!(kept.as_deref(), Some(&image.bytes[..]), "iteration {iteration}");
        let by_hash = send(&fx.router, get(&format!("/api/images/{}", hash.to_hex()))).await;
        assert_eq!(by_hash.status, 200);
    }
}

/// `DELETE /api/scripts/{id}` archives: the script is disabled for good and hidden from the list,
/// its row and executions stay (replayable), and it cannot be enabled again.
#[tokio::test]
async fn a_script_can_be_archived_and_its_executions_stay() {
    let fx = fixture();
    let its = record_history(&fx.db);
    let store = Store::open(&fx.db).expect("open");
    let alpha = store.script_by_name("alpha").expect("read").expect("alpha");
    let delete = |id: i64| Request::delete(format!("/api/scripts/{id}")).body(Body::empty()).expect("request");
    let archived = send(&fx.router, delete(alpha.id)).await;
    assert_eq!(archived.status, 200, "{}", archived.text());
    let archived = archived.json();
    assert_eq!(archived["enabled"], false);
    let when = archived["archived_at"].as_str().map(str::to_string).expect("archived_at");
    let names = |list: serde_json::Value| -> Vec<String> {
        list["scripts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["name"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(names(send(&fx.router, get("/api/scripts")).await.json()), ["beta"]);
    assert_eq!(names(send(&fx.router, get("/api/scripts?archived=true")).await.json()), ["alpha", "beta"]);
    send(&fx.router, get("/api/scripts?archived=maybe")).await.assert_error(422, "invalid_request");
    // Again: nothing changes.
    assert_eq!(send(&fx.router, delete(alpha.id)).await.json()["archived_at"].as_str(), Some(when.as_str()));
    let enable = patch_json(&format!("/api/scripts/{}", alpha.id), json!({"enabled": true}));
    let error = send(&fx.router, enable).await.assert_error(422, "invalid_request");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("is archived")), "{error}");
    // Its executions are still there, with their pictures; the daemon never picks it.
    assert_eq!(send(&fx.router, get(&format!("/api/map/{}", its[0]))).await.json()["script_name"], "alpha");
    assert_eq!(send(&fx.router, get(&format!("/api/map/{}/image", its[0]))).await.status, 200);
    assert!(store.scripts_due(10, 1 << 20).expect("due").iter().all(|s| s.name != "alpha"));
    send(&fx.router, delete(999)).await.assert_error(404, "not_found");
}
