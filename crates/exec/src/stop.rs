//! When an execution must stop early: a wall-clock deadline and a cancel flag.
//!
//! Every front end passes one [`Stop`] to the engine (the server its request time limit and a
//! flag set when the client leaves, `gvpie run` its `--timeout`); the engine checks it between
//! slices of CPU work and before a GPU dispatch. A run it stops reports error kind
//! [`TIME_LIMIT_KIND`] and the backend that was running.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The error kind of a run stopped by its deadline or its cancel flag.
pub const TIME_LIMIT_KIND: &str = "time_limit";

/// A flag shared between the caller and a running execution; once set, the execution stops at
/// its next check. Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// A flag not yet set.
    pub fn new() -> CancelFlag {
        CancelFlag::default()
    }

    /// Sets the flag: every execution holding a clone stops at its next check.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`CancelFlag::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Why an execution stopped before it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The deadline passed.
    Deadline,
    /// The cancel flag was set.
    Cancelled,
}

/// When an execution must stop: an optional deadline and an optional cancel flag. The default
/// ([`Stop::never`]) lets every program run to its end or its budget.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    deadline: Option<Instant>,
    cancel: Option<CancelFlag>,
}

impl Stop {
    /// No deadline, no cancel flag.
    pub fn never() -> Stop {
        Stop::default()
    }

    /// Stop at `deadline`.
    pub fn at(deadline: Instant) -> Stop {
        Stop { deadline: Some(deadline), cancel: None }
    }

    /// Stop `limit` from now (no deadline when `now + limit` overflows the clock).
    pub fn after(limit: Duration) -> Stop {
        Stop { deadline: Instant::now().checked_add(limit), cancel: None }
    }

    /// Also stop when `flag` is set.
    pub fn with_cancel(mut self, flag: CancelFlag) -> Stop {
        self.cancel = Some(flag);
        self
    }

    /// The deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether neither a deadline nor a cancel flag is set (the engine then runs without slices).
    pub fn is_never(&self) -> bool {
        self.deadline.is_none() && self.cancel.is_none()
    }

    /// Why the execution must stop now, if it must: cancelled first, then the deadline.
    pub fn reached(&self) -> Option<StopReason> {
        if self.cancel.as_ref().is_some_and(CancelFlag::is_cancelled) {
            return Some(StopReason::Cancelled);
        }
        match self.deadline {
            Some(deadline) if Instant::now() >= deadline => Some(StopReason::Deadline),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_is_never_reached_and_a_past_deadline_is() {
        assert_eq!(Stop::never().reached(), None);
        assert!(Stop::never().is_never());
        assert_eq!(Stop::at(Instant::now()).reached(), Some(StopReason::Deadline));
        assert_eq!(Stop::after(Duration::from_secs(3600)).reached(), None);
        assert_eq!(Stop::after(Duration::MAX).deadline(), None);
    }

    #[test]
    fn a_cancelled_flag_wins_over_the_deadline() {
        let flag = CancelFlag::new();
        let stop = Stop::at(Instant::now()).with_cancel(flag.clone());
        assert_eq!(stop.reached(), Some(StopReason::Deadline));
        flag.cancel();
        assert_eq!(stop.reached(), Some(StopReason::Cancelled));
        assert!(!stop.is_never());
    }
}
