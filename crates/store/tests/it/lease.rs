//! The daemon lease: refusal, stale take-over, fencing.

use std::time::Duration;

use gvpie_store::{DAEMON_LEASE, LeaseClaim, StoreError};

use crate::util::{TempStore, both_backends, hello_script, program, run_of};

fn claim(holder: &str, ttl_ms: u64) -> LeaseClaim {
    LeaseClaim {
        name: DAEMON_LEASE.into(),
        holder: holder.into(),
        pid: 4242,
        host: "hostA".into(),
        process_start: None,
        ttl: Duration::from_millis(ttl_ms),
    }
}

both_backends! {
    fn a_second_claimant_is_refused_with_the_holder(kind: Kind) {
        let mut t = TempStore::new(kind);
        t.store.acquire_lease(&claim("first", 60_000), &|_| false).expect("first");
        let mut other = t.open_again();
        let err = other.acquire_lease(&claim("second", 60_000), &|_| false).expect_err("held");
        let StoreError::LeaseHeld(info) = &err else { panic!("unexpected error {err}") };
        assert_eq!((info.holder.as_str(), info.pid, info.host.as_str()), ("first", 4242, "hostA"));
        let message = err.to_string();
        assert!(message.contains("pid 4242 on host hostA, since"), "{message}");
        assert!(!message.to_lowercase().contains("kill"), "{message}");
    }

    fn a_stale_or_dead_holder_is_taken_over(kind: Kind) {
        let mut t = TempStore::new(kind);
        t.store.acquire_lease(&claim("first", 1), &|_| false).expect("first");
        std::thread::sleep(Duration::from_millis(20));
        let got = t.store.acquire_lease(&claim("second", 60_000), &|_| false).expect("expired");
        assert_eq!(got.took_over.map(|i| i.holder), Some("first".to_string()));
        // Not expired, but the caller knows the holder's process is gone.
        let got = t.store.acquire_lease(&claim("third", 60_000), &|info| info.holder == "second").expect("dead");
        assert_eq!(got.took_over.map(|i| i.holder), Some("second".to_string()));
    }

    fn a_replaced_holder_cannot_commit(kind: Kind) {
        let mut t = TempStore::new(kind);
        let script = hello_script(&t.store);
        let first = t.store.acquire_lease(&claim("first", 1), &|_| false).expect("first").lease;
        t.store.record_cycle(&[run_of(&script, &program("p"), true)], Some(&first)).expect("holder commits");
        std::thread::sleep(Duration::from_millis(20));
        let mut other = t.open_again();
        other.acquire_lease(&claim("second", 60_000), &|_| false).expect("take over");
        let err = t.store.record_cycle(&[run_of(&script, &program("p"), true)], Some(&first)).expect_err("fenced");
        assert!(matches!(err, StoreError::LeaseLost));
        assert_eq!(t.store.last_iteration().expect("query"), Some(1));
        t.store.release_lease(&first).expect("release is harmless");
        assert!(t.store.lease_info(DAEMON_LEASE).expect("info").is_some());
    }
}
