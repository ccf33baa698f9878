//! The lease, the stop flag and the generator hook.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use gvpie_daemon::{Daemon, GenerateContext, Generator};
use gvpie_store::{NewExecution, ParentRef, StoreError, TextRef};

use crate::util::{Setup, add_script, recorded, recorder};

#[test]
fn a_second_daemon_on_the_same_database_is_refused() {
    let setup = Setup::new();
    let first = Daemon::open(setup.config.clone(), gvpie_exec::Engine::cpu_only()).expect("first");
    let err = Daemon::open(setup.config.clone(), gvpie_exec::Engine::cpu_only()).expect_err("second refused");
    let Some(StoreError::LeaseHeld(info)) = err.downcast_ref::<StoreError>() else { panic!("{err:#}") };
    assert_eq!(info.pid, std::process::id());
    assert!(err.to_string().contains(&format!("pid {} on host", std::process::id())), "{err}");
    drop(first);
    // Dropping the first released the lease.
    Daemon::open(setup.config.clone(), gvpie_exec::Engine::cpu_only()).expect("after release");
}

#[test]
fn a_lease_left_by_a_dead_process_is_taken_over_at_once() {
    let setup = Setup::new();
    let store = setup.store();
    drop(store);
    // A lease from a process of this host that no longer exists, with a fresh heartbeat.
    setup
        .raw()
        .execute(
            "INSERT INTO daemon_leases (name, holder, pid, host, process_start, acquired_ms, heartbeat_ms, ttl_ms)
             VALUES ('daemon', 'ghost', 4194303, ?1, '1', ?2, ?2, 3600000)",
            rusqlite::params![gvpie_daemon::host_name(), gvpie_store::now_ms()],
        )
        .expect("insert");
    let (sink, events) = recorder();
    let mut daemon =
        Daemon::open(setup.config.clone(), gvpie_exec::Engine::cpu_only()).expect("takes over").with_events(sink);
    daemon.run(&AtomicBool::new(false)).expect("run");
    let events = events.lock().expect("events");
    assert!(
        matches!(&events[0], gvpie_daemon::DaemonEvent::Started { took_over: Some(holder), .. } if holder.contains("4194303")),
        "{:?}",
        events[0]
    );
    // A live holder on another host with a fresh heartbeat blocks.
    setup
        .raw()
        .execute(
            "INSERT OR REPLACE INTO daemon_leases (name, holder, pid, host, acquired_ms, heartbeat_ms, ttl_ms)
             VALUES ('daemon', 'elsewhere', 77, 'another-host', ?1, ?1, 3600000)",
            [gvpie_store::now_ms()],
        )
        .expect("insert");
    let err = Daemon::open(setup.config.clone(), gvpie_exec::Engine::cpu_only()).expect_err("held");
    assert!(err.to_string().contains("pid 77 on host another-host"), "{err}");
}

/// Records one generated child of the newest execution, and can ask the daemon to stop.
struct Child {
    stop: Option<Arc<AtomicBool>>,
}

impl Generator for Child {
    fn name(&self) -> &str {
        "child"
    }

    fn generate(&mut self, ctx: &mut GenerateContext<'_>) -> anyhow::Result<()> {
        if let Some(stop) = &self.stop {
            stop.store(true, Ordering::Relaxed);
        }
        let first = ctx.record(NewExecution {
            task: Some(TextRef::new("a mutation")),
            generator: Some(TextRef::new("mutation:tweak")),
            parent: match ctx.store.last_iteration()? {
                Some(iteration) => ParentRef::Iteration(iteration),
                None => ParentRef::None,
            },
            success: true,
            score: Some(0.5),
            ..NewExecution::default()
        });
        ctx.record(NewExecution { parent: ParentRef::Pending(first), ..NewExecution::default() });
        assert_eq!(ctx.recorded().len(), 2);
        assert_eq!(ctx.pending().len(), 3, "the script run, then ours");
        Ok(())
    }
}

#[test]
fn generated_programs_are_committed_with_the_cycle_and_keep_lineage() {
    let setup = Setup::new();
    add_script(&setup.store(), "a", "pixel", "HALT");
    let (sink, events) = recorder();
    let mut config = setup.config.clone();
    config.max_cycles = Some(2);
    let mut daemon = Daemon::open(config, gvpie_exec::Engine::cpu_only())
        .expect("open")
        .with_generator(Box::new(Child { stop: None }))
        .with_events(sink);
    daemon.run(&AtomicBool::new(false)).expect("run");
    let runs = recorded(&events.lock().expect("events"));
    assert_eq!(runs.len(), 6);
    let store = setup.store();
    let lineage = store.lineage(3, 10).expect("lineage").expect("exists");
    // The generator saw only committed iterations: in cycle 2, the newest was 3.
    assert_eq!(lineage.descendants.iter().map(|n| n.entry.iteration).collect::<Vec<_>>(), [5, 6]);
    assert_eq!(store.map_entry(5, false).expect("q").expect("e").generator.as_deref(), Some("mutation:tweak"));
}

#[test]
fn a_stop_before_the_commit_rolls_the_cycle_back() {
    let setup = Setup::new();
    add_script(&setup.store(), "a", "pixel", "HALT");
    let stop = Arc::new(AtomicBool::new(false));
    let (sink, events) = recorder();
    let mut daemon = Daemon::open(setup.config.clone(), gvpie_exec::Engine::cpu_only())
        .expect("open")
        .with_generator(Box::new(Child { stop: Some(stop.clone()) }))
        .with_events(sink);
    let report = daemon.run(&stop).expect("run");
    assert_eq!((report.cycles, report.executions), (0, 0));
    assert!(
        events.lock().expect("events").iter().any(|e| matches!(e, gvpie_daemon::DaemonEvent::CycleAbandoned { .. }))
    );
    let store = setup.store();
    assert_eq!(store.last_iteration().expect("q"), None);
    assert_eq!(store.script_by_name("a").expect("q").expect("a").run_count, 0);
    assert!(store.lease_info(gvpie_store::DAEMON_LEASE).expect("q").is_none(), "released on a clean stop");
}
