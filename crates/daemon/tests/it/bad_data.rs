//! Bad rows become failed runs; the daemon goes on.

use base64::Engine as _;

use crate::util::{Setup, add_script, recorded};

#[test]
fn bad_rows_fail_with_their_error_and_the_daemon_goes_on() {
    let mut setup = Setup::new();
    setup.config.per_cycle = 20;
    setup.config.max_code_bytes = 1000;
    let store = setup.store();
    add_script(&store, "typo", "pixel", "RECTT 1 2 3 4\nHALT");
    add_script(&store, "python", "python", "print('hi')");
    add_script(&store, "huge", "pixel", &"HALT\n".repeat(1000));
    add_script(&store, "bad_cart", "cartridge", "not a cartridge at all");
    add_script(&store, "bad_b64", "cartridge", &base64::engine::general_purpose::STANDARD.encode(b"\x89PNG garbage"));
    add_script(&store, "div0", "pixel", "DIV x 1 0");
    add_script(&store, "spin", "pixel", "top:\nJMP top");
    add_script(&store, "empty", "pixel", "");
    add_script(&store, "good", "pixel", "HALT");
    // NULLs where the seed allows them, typed by hand.
    setup
        .raw()
        .execute_batch(
            "INSERT INTO improvement_scripts (name, lang, code, purpose, run_count, success_count, created_at)
             VALUES ('nulls', 'pixel', 'HALT', NULL, NULL, NULL, datetime('now'));
             INSERT INTO improvement_scripts (name, lang, code, enabled) VALUES ('blob', 'pixel', X'48414C54', 1);",
        )
        .expect("insert by hand");
    setup.config.budget = 1000;
    let events = setup.run(2);
    let runs = recorded(&events);
    let kind_of =
        |name: &str| runs.iter().find(|r| r.1.as_deref() == Some(name)).map(|r| (r.2, r.3.clone())).expect(name);
    assert_eq!(kind_of("typo"), (false, Some("parse".into())));
    assert_eq!(kind_of("python"), (false, Some("unknown_language".into())));
    assert_eq!(kind_of("huge"), (false, Some("code_too_large".into())));
    assert_eq!(kind_of("bad_cart"), (false, Some("bad_cartridge".into())));
    assert_eq!(kind_of("bad_b64"), (false, Some("bad_cartridge".into())));
    assert_eq!(kind_of("div0"), (false, Some("division_by_zero".into())));
    assert_eq!(kind_of("spin"), (false, Some("budget_exhausted".into())));
    assert_eq!(kind_of("empty"), (true, None));
    assert_eq!(kind_of("good"), (true, None));
    assert_eq!(kind_of("nulls"), (true, None));
    assert_eq!(kind_of("blob"), (true, None));
    assert_eq!(runs.len(), 22, "two full cycles despite the bad rows");

    let store = setup.store();
    let nulls = store.script_by_name("nulls").expect("query").expect("exists");
    assert_eq!((nulls.run_count, nulls.success_count), (2, 2));
    let typo = store.map_page(&gvpie_store::MapQuery { script: Some("typo".into()), ..Default::default() });
    let entry = &typo.expect("page").entries[0];
    assert_eq!(
        entry.error.as_ref().map(|e| e["message"].as_str().unwrap_or("").contains("did you mean RECT")),
        Some(true)
    );
    assert_eq!(store.integrity_check().expect("check"), Ok(()));
}

#[test]
fn cartridges_run_by_hash_path_or_base64() {
    let mut setup = Setup::new();
    setup.config.per_cycle = 10;
    let source = "RECT 1 1 4 4\nHALT";
    let canvas = gvpie_pxl::run(&gvpie_pxl::compile(source).expect("compile"), &gvpie_pxl::Config::default())
        .expect("run")
        .canvas;
    let png = gvpie_cart::pack(source, &canvas).expect("pack");
    let mut store = setup.store();
    let entry = store
        .put_cartridge(&gvpie_store::NewCartridge { path: Some("box.png"), png: &png, ..Default::default() })
        .expect("register");
    add_script(&store, "by_hash", "cartridge", &format!("sha256:{}", entry.checksum.clone().expect("checksum")));
    add_script(&store, "by_path", "cartridge", "box.png");
    add_script(&store, "inline", "cartridge", &base64::engine::general_purpose::STANDARD.encode(&png));
    let runs = recorded(&setup.run(1));
    assert_eq!(runs.len(), 3);
    assert!(runs.iter().all(|r| r.2), "{runs:?}");
    let entry = setup.store().cartridge("box.png").expect("query").expect("exists");
    assert_eq!(entry.executed_count, 2);
    let map = setup.store().map_entry(3, true).expect("query").expect("exists");
    assert_eq!(map.code.as_deref(), Some(source), "the map shows the cartridge's source");
}
