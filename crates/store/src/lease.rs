//! The daemon lease: at most one daemon loop per database.
//!
//! Policy (see `docs/daemon.md`): a daemon takes the lease named `daemon` at start and renews
//! it (a heartbeat) at least every third of its time-to-live, and inside every cycle's
//! transaction. A second daemon is refused with a message naming the holder (pid, host,
//! since). A lease is stale, and the next daemon takes it over, when its heartbeat is older
//! than its time-to-live, or at once when the caller can tell the holder is gone (on the same
//! host, its process no longer exists). Every cycle's commit checks, in the same
//! transaction, that its daemon still holds the lease, so a daemon that was suspended past its
//! time-to-live and replaced can never write again: it stops with [`StoreError::LeaseLost`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::error::{Result, StoreError};
use crate::params;
use crate::store::Store;
use crate::time::{format_ms, now_ms};

/// The lease the daemon loop takes.
pub const DAEMON_LEASE: &str = "daemon";

/// Who asks for a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseClaim {
    /// The lease's name (usually [`DAEMON_LEASE`]).
    pub name: String,
    /// A token unique to this claimant (e.g. `pid@host:start-time`).
    pub holder: String,
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// The process's start time as the OS reports it, to tell a reused pid from the holder.
    pub process_start: Option<String>,
    /// How long the lease lasts without a heartbeat.
    pub ttl: Duration,
}

/// A lease held by this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Its name.
    pub name: String,
    /// Our holder token.
    pub holder: String,
    /// Its time-to-live in ms.
    pub ttl_ms: i64,
}

/// A lease as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseInfo {
    /// Its name.
    pub name: String,
    /// The holder's token.
    pub holder: String,
    /// The holder's process id.
    pub pid: u32,
    /// The holder's host.
    pub host: String,
    /// The holder's process start time, if recorded.
    pub process_start: Option<String>,
    /// When it was taken (ms since the epoch).
    pub acquired_ms: i64,
    /// Its last heartbeat (ms since the epoch).
    pub heartbeat_ms: i64,
    /// Time-to-live in ms.
    pub ttl_ms: i64,
    /// The time this was read at (ms since the epoch), for messages.
    pub read_at_ms: i64,
}

impl LeaseInfo {
    /// Whether its heartbeat is older than its time-to-live at `now_ms`.
    pub fn is_expired(&self, now_ms: i64) -> bool {
        now_ms.saturating_sub(self.heartbeat_ms) > self.ttl_ms
    }

    /// The message a refused daemon prints.
    pub fn held_message(&self) -> String {
        let age = self.read_at_ms.saturating_sub(self.heartbeat_ms).max(0) as f64 / 1000.0;
        format!(
            "another gvpie daemon is running on this database: pid {} on host {}, since {} UTC \
             (last heartbeat {age:.1} s ago). Only one daemon runs the loop on a database, so this one did not start. \
             To move the loop here, stop that daemon (Ctrl-C, or SIGTERM: it finishes its cycle and releases the \
             database), or give this one another --db. If that daemon has crashed, its lease expires {} s after its \
             last heartbeat and the next start takes over by itself. A SQLite file has room for one daemon: several \
             agents working together need a PostgreSQL database (--db postgres://USER@HOST:PORT/DATABASE).",
            self.pid,
            self.host,
            format_ms(self.acquired_ms),
            self.ttl_ms / 1000
        )
    }
}

/// A lease just taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acquired {
    /// The lease.
    pub lease: Lease,
    /// The stale lease it replaced, if any.
    pub took_over: Option<LeaseInfo>,
}

fn read_info(db: &Db, name: &str, now: i64) -> Result<Option<LeaseInfo>> {
    let row = db.query_opt(
        "SELECT name, holder, pid, host, process_start, acquired_ms, heartbeat_ms, ttl_ms FROM daemon_leases \
         WHERE name = ?1",
        params![name],
    )?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(LeaseInfo {
        name: row.get(0)?,
        holder: row.get(1)?,
        pid: u32::try_from(row.get::<i64>(2)?).unwrap_or(0),
        host: row.get(3)?,
        process_start: row.get(4)?,
        acquired_ms: row.get(5)?,
        heartbeat_ms: row.get(6)?,
        ttl_ms: row.get(7)?,
        read_at_ms: now,
    }))
}

/// Renews `lease` inside a transaction, or fails with [`StoreError::LeaseLost`].
pub(crate) fn renew_in(tx: &Db, lease: &Lease, now: i64) -> Result<()> {
    let changed = tx.execute(
        "UPDATE daemon_leases SET heartbeat_ms = ?3 WHERE name = ?1 AND holder = ?2",
        params![&lease.name, &lease.holder, now],
    )?;
    if changed == 1 { Ok(()) } else { Err(StoreError::LeaseLost) }
}

impl Store {
    /// Takes the lease `claim.name`, or fails with [`StoreError::LeaseHeld`] naming the holder.
    ///
    /// A stale lease (heartbeat older than its TTL, or `holder_is_gone` says its process no
    /// longer exists) is taken over and returned in [`Acquired::took_over`].
    pub fn acquire_lease(
        &mut self,
        claim: &LeaseClaim,
        holder_is_gone: &dyn Fn(&LeaseInfo) -> bool,
    ) -> Result<Acquired> {
        let now = now_ms();
        let ttl_ms = i64::try_from(claim.ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        let took_over = self.db.transaction(|tx| -> Result<Option<LeaseInfo>> {
            // Two claimants at once must not both find the lease free (PostgreSQL; SQLite's
            // IMMEDIATE transaction serialises them already).
            tx.lock(&format!("lease {}", claim.name))?;
            let existing = read_info(tx, &claim.name, now)?;
            let took_over = match existing {
                Some(info) if info.holder == claim.holder => None,
                Some(info) if info.is_expired(now) || holder_is_gone(&info) => Some(info),
                Some(info) => return Err(StoreError::LeaseHeld(Box::new(info))),
                None => None,
            };
            tx.execute(
                "INSERT INTO daemon_leases (name, holder, pid, host, process_start, acquired_ms, heartbeat_ms, \
                 ttl_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) \
                 ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, pid = excluded.pid, host = excluded.host, \
                 process_start = excluded.process_start, acquired_ms = excluded.acquired_ms, \
                 heartbeat_ms = excluded.heartbeat_ms, ttl_ms = excluded.ttl_ms",
                params![&claim.name, &claim.holder, claim.pid, &claim.host, &claim.process_start, now, ttl_ms],
            )?;
            Ok(took_over)
        })?;
        Ok(Acquired { lease: Lease { name: claim.name.clone(), holder: claim.holder.clone(), ttl_ms }, took_over })
    }

    /// Renews a held lease (its heartbeat), or fails with [`StoreError::LeaseLost`].
    pub fn renew_lease(&mut self, lease: &Lease) -> Result<()> {
        self.db.transaction(|tx| renew_in(tx, lease, now_ms()))
    }

    /// Gives a lease back (a clean stop). Releasing a lease held by someone else does nothing.
    pub fn release_lease(&mut self, lease: &Lease) -> Result<()> {
        self.db.execute(
            "DELETE FROM daemon_leases WHERE name = ?1 AND holder = ?2",
            params![&lease.name, &lease.holder],
        )?;
        Ok(())
    }

    /// The lease `name` as stored, if any.
    pub fn lease_info(&self, name: &str) -> Result<Option<LeaseInfo>> {
        read_info(&self.db, name, now_ms())
    }
}
