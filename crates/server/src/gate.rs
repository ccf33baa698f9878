//! The execution gate: at most `max_concurrent` executions at once, at most `max_queue`
//! waiting, and a bounded wait.
//!
//! A full queue answers 429 at once, and a wait past `queue_timeout` answers 503, both with
//! `Retry-After`, so that overload turns into quick, explicit refusals instead of a growing pile
//! of work. The permit is owned, so it can move into the blocking task and is only released
//! when the CPU work really ends (also when the client has gone away).
//! This module does not run anything itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::AppError;
use crate::limits::Limits;

/// Admission control for executions.
#[derive(Debug)]
pub(crate) struct ExecGate {
    slots: Arc<Semaphore>,
    n_slots: usize,
    waiting: AtomicUsize,
    max_queue: usize,
    queue_timeout: Duration,
    retry_after: u64,
}

/// A running slot; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Permit {
    _permit: OwnedSemaphorePermit,
}

/// Decrements the waiting count however the wait ends (also when the request is dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ExecGate {
    pub(crate) fn new(limits: &Limits) -> ExecGate {
        let n_slots = limits.max_concurrent.max(1);
        ExecGate {
            slots: Arc::new(Semaphore::new(n_slots)),
            n_slots,
            waiting: AtomicUsize::new(0),
            max_queue: limits.max_queue,
            queue_timeout: limits.queue_timeout,
            retry_after: limits.retry_after_secs,
        }
    }

    /// Waits for a slot, or refuses with 429 (queue full) or 503 (waited too long).
    pub(crate) async fn acquire(&self) -> Result<Permit, AppError> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(Permit { _permit: permit });
        }
        let before = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.waiting);
        if before >= self.max_queue {
            return Err(AppError::Overloaded { retry_after: self.retry_after });
        }
        match tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Permit { _permit: permit }),
            Ok(Err(closed)) => Err(AppError::internal(closed)),
            Err(_elapsed) => Err(AppError::Unavailable {
                message: format!(
                    "every execution slot stayed busy for {} ms; retry after the time in Retry-After",
                    self.queue_timeout.as_millis()
                ),
                retry_after: self.retry_after,
            }),
        }
    }

    /// Requests waiting for a slot now.
    pub(crate) fn queue_depth(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Executions running now.
    pub(crate) fn in_flight(&self) -> usize {
        self.n_slots - self.slots.available_permits()
    }

    /// Executions that may run at once.
    pub(crate) fn capacity(&self) -> usize {
        self.n_slots
    }
}
