//! The work in progress: one [`CancelFlag`] per request that computes, so that abandoned work
//! stops.
//!
//! A handler takes a [`JobGuard`] from [`Jobs::start`] and keeps it in its own future while
//! the work runs on a blocking thread with [`JobGuard::stop`]. The work is cancelled (the
//! engine stops at its next check) when the guard is dropped, that is when the request ends
//! for any reason (answered, client gone, request timed out), and when the server shuts down
//! ([`Jobs::cancel_all`]): a shutting-down server cancels every job in flight and every job
//! that starts after. This module runs nothing itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use gvpie_exec::{CancelFlag, Stop};

use crate::error::AppError;
use crate::state::AppState;

/// The cancel flags of every job in flight.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    running: HashMap<u64, CancelFlag>,
    shutting_down: bool,
}

/// One job's cancel flag, registered with [`Jobs`]; dropping it cancels the job.
#[derive(Debug)]
pub(crate) struct JobGuard {
    jobs: Arc<Jobs>,
    id: u64,
    flag: CancelFlag,
}

impl Jobs {
    /// Registers a new job. After [`Jobs::cancel_all`], the job is cancelled from the start.
    pub(crate) fn start(self: &Arc<Self>) -> JobGuard {
        let flag = CancelFlag::new();
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.shutting_down {
            flag.cancel();
        }
        let id = inner.next_id;
        inner.next_id += 1;
        inner.running.insert(id, flag.clone());
        JobGuard { jobs: Arc::clone(self), id, flag }
    }

    /// Cancels every job in flight and every job started from now on; returns how many were
    /// in flight.
    pub(crate) fn cancel_all(&self) -> usize {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.shutting_down = true;
        for flag in inner.running.values() {
            flag.cancel();
        }
        inner.running.len()
    }

    /// Jobs in flight.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).running.len()
    }
}

/// Runs `work` on a blocking thread under the admission gate (429/503 when the server is
/// full) with a [`Stop`] at the server's execution time limit, cancelled if the request ends
/// first or the server shuts down. Every endpoint that computes goes through here or through
/// `crate::api_execute`'s equivalent.
pub(crate) async fn gated<T, F>(state: &AppState, work: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&Stop) -> Result<T, AppError> + Send + 'static,
{
    let permit = state.gate().acquire().await?;
    let job = state.jobs().start();
    let stop = job.stop(Instant::now() + state.limits().execution_time_limit);
    let task = tokio::task::spawn_blocking(move || {
        // The slot is freed when the work really ends, even if the request is gone.
        let _permit = permit;
        work(&stop)
    });
    let result = task.await.map_err(AppError::internal)?;
    drop(job);
    result
}

impl JobGuard {
    /// The job's stop: `deadline`, or this guard's flag, whichever comes first.
    pub(crate) fn stop(&self, deadline: Instant) -> Stop {
        Stop::at(deadline).with_cancel(self.flag.clone())
    }

    /// The job's cancel flag.
    #[cfg(test)]
    fn flag(&self) -> &CancelFlag {
        &self.flag
    }
}

impl Drop for JobGuard {
    fn drop(&mut self) {
        self.flag.cancel();
        self.jobs.inner.lock().unwrap_or_else(PoisonError::into_inner).running.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_guard_cancels_its_job_and_cancel_all_cancels_the_rest() {
        let jobs = Arc::new(Jobs::default());
        let first = jobs.start();
        let second = jobs.start();
        let first_flag = first.flag().clone();
        drop(first);
        assert!(first_flag.is_cancelled());
        assert!(!second.flag().is_cancelled());
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs.cancel_all(), 1);
        assert!(second.flag().is_cancelled());
        // Started after the shutdown began: cancelled at once.
        assert!(jobs.start().flag().is_cancelled());
        drop(second);
        assert_eq!(jobs.len(), 0);
    }
}
