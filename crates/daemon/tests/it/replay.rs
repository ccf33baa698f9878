//! Replay of recorded executions.

use gvpie_store::{BackendUsed, NewExecution, NewImage, RunConfig};

use crate::util::{Setup, add_script};

#[test]
fn every_recorded_execution_replays_identically() {
    let mut setup = Setup::new();
    setup.config.per_cycle = 10;
    let store = setup.store();
    gvpie_daemon::seed_examples(&store).expect("seed");
    add_script(&store, "art", "pixel", "COLOR 255 0 0\nCIRCF 30 30 20\nCOLOR 0 255 0 128\nTRI 0 0 100 10 50 60\nHALT");
    add_script(&store, "trap", "pixel", "RECT 0 0 10 10\nDIV x 1 0");
    add_script(&store, "typo", "pixel", "RECTT 0 0 1 1");
    setup.run(1);
    let engine = gvpie_exec::Engine::cpu_only();
    for iteration in 1..=5 {
        let report = gvpie_daemon::replay(&setup.store(), &engine, iteration, None).expect("replay");
        assert!(report.same, "iteration {iteration}: {report:?}");
    }
    assert!(gvpie_daemon::replay(&setup.store(), &engine, 99, None).is_err());
}

#[test]
fn a_record_whose_pixels_differ_is_reported() {
    let setup = Setup::new();
    let mut store = setup.store();
    let texture = gvpie_pxl::compile("RECT 0 0 3 3\nHALT").expect("compile");
    let program = std::sync::Arc::new(gvpie_store::ProgramInput::new(texture.to_bytes(), None, 2, vec![]));
    let wrong = NewExecution {
        success: true,
        cycles: 2,
        backend: Some(BackendUsed::Cpu),
        program: Some(program),
        image: Some(NewImage { hash: gvpie_store::Hash::of(b"not these pixels"), width: 128, height: 64, png: None }),
        config: Some(RunConfig { width: 128, height: 64, budget: 100 }),
        ..NewExecution::default()
    };
    store.record_executions(&[wrong]).expect("record");
    let report = gvpie_daemon::replay(&store, &gvpie_exec::Engine::cpu_only(), 1, None).expect("replay");
    assert!(!report.same);
    assert!(report.differences.iter().any(|d| d.starts_with("image:")), "{report:?}");
}
