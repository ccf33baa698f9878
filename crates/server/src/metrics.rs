//! Counters for `GET /metrics`, rendered in the Prometheus text format (version 0.0.4).
//!
//! Lock-free counters on the hot path; only the per-kind error counts take a short lock.
//! This module does not serve anything; `crate::api_system` renders it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the execution-duration histogram, in seconds.
const BUCKETS: [f64; 14] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

const BACKENDS: [&str; 2] = ["cpu", "gpu"];

/// Process-wide counters.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// `[backend][0 = success, 1 = failure]`.
    executions: [[AtomicU64; 2]; 2],
    errors: Mutex<BTreeMap<String, u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    duration_count: AtomicU64,
    duration_sum_nanos: AtomicU64,
    batches: AtomicU64,
    /// Responses by status class, `[1xx, 2xx, 3xx, 4xx, 5xx]`.
    responses: [AtomicU64; 5],
    rejected_overloaded: AtomicU64,
    rejected_unavailable: AtomicU64,
}

/// Gauges read at render time.
pub(crate) struct Gauges {
    pub(crate) queue_depth: usize,
    pub(crate) in_flight: usize,
    pub(crate) capacity: usize,
    pub(crate) uptime: Duration,
    pub(crate) event_subscribers: usize,
}

impl Metrics {
    /// Counts one execution.
    pub(crate) fn record_execution(&self, backend: &str, error_kind: Option<&str>, duration: Duration) {
        let backend_idx = if backend == "gpu" { 1 } else { 0 };
        let outcome_idx = usize::from(error_kind.is_some());
        self.executions[backend_idx][outcome_idx].fetch_add(1, Ordering::Relaxed);
        if let Some(kind) = error_kind {
            let mut errors = self.errors.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            *errors.entry(kind.to_string()).or_insert(0) += 1;
        }
        // One counter per bucket (not cumulative), so an execution costs one increment here;
        // `render` adds them up.
        let seconds = duration.as_secs_f64();
        if let Some(bucket_idx) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[bucket_idx].fetch_add(1, Ordering::Relaxed);
        }
        self.duration_count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        self.duration_sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Counts one batch request.
    pub(crate) fn record_batch(&self) {
        self.batches.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one response by its status.
    pub(crate) fn record_response(&self, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
        match status {
            429 => self.rejected_overloaded.fetch_add(1, Ordering::Relaxed),
            503 => self.rejected_unavailable.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::with_capacity(4096);
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);

        out.push_str(
            "# HELP gvpie_executions_total Programs executed through this server or recorded by a daemon on its \
             database since it started, by backend and outcome.\n",
        );
        out.push_str("# TYPE gvpie_executions_total counter\n");
        for (backend_idx, backend) in BACKENDS.iter().enumerate() {
            for (outcome_idx, outcome) in ["success", "error"].iter().enumerate() {
                let value = load(&self.executions[backend_idx][outcome_idx]);
                let _ = writeln!(out, "gvpie_executions_total{{backend=\"{backend}\",outcome=\"{outcome}\"}} {value}");
            }
        }

        out.push_str("# HELP gvpie_execution_errors_total Failed executions, by error kind.\n");
        out.push_str("# TYPE gvpie_execution_errors_total counter\n");
        let errors = self.errors.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        for (kind, value) in &errors {
            let _ = writeln!(out, "gvpie_execution_errors_total{{kind=\"{kind}\"}} {value}");
        }

        out.push_str("# HELP gvpie_execution_duration_seconds Wall time of one execution.\n");
        out.push_str("# TYPE gvpie_execution_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (bucket, bound) in self.buckets.iter().zip(BUCKETS) {
            cumulative += load(bucket);
            let _ = writeln!(out, "gvpie_execution_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = load(&self.duration_count);
        let sum = load(&self.duration_sum_nanos) as f64 / 1e9;
        let _ = writeln!(out, "gvpie_execution_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "gvpie_execution_duration_seconds_sum {sum}");
        let _ = writeln!(out, "gvpie_execution_duration_seconds_count {count}");

        out.push_str("# HELP gvpie_batches_total Batch requests executed.\n");
        out.push_str("# TYPE gvpie_batches_total counter\n");
        let _ = writeln!(out, "gvpie_batches_total {}", load(&self.batches));

        out.push_str("# HELP gvpie_queue_depth Requests waiting for an execution slot.\n");
        out.push_str("# TYPE gvpie_queue_depth gauge\n");
        let _ = writeln!(out, "gvpie_queue_depth {}", gauges.queue_depth);
        out.push_str("# HELP gvpie_executions_in_flight Executions running now.\n");
        out.push_str("# TYPE gvpie_executions_in_flight gauge\n");
        let _ = writeln!(out, "gvpie_executions_in_flight {}", gauges.in_flight);
        out.push_str("# HELP gvpie_execution_slots Executions that may run at once.\n");
        out.push_str("# TYPE gvpie_execution_slots gauge\n");
        let _ = writeln!(out, "gvpie_execution_slots {}", gauges.capacity);

        out.push_str("# HELP gvpie_rejected_total Requests refused under load (429 overloaded, 503 unavailable).\n");
        out.push_str("# TYPE gvpie_rejected_total counter\n");
        let _ = writeln!(out, "gvpie_rejected_total{{reason=\"overloaded\"}} {}", load(&self.rejected_overloaded));
        let _ = writeln!(out, "gvpie_rejected_total{{reason=\"unavailable\"}} {}", load(&self.rejected_unavailable));

        out.push_str("# HELP gvpie_http_responses_total HTTP responses, by status class.\n");
        out.push_str("# TYPE gvpie_http_responses_total counter\n");
        for (class_idx, counter) in self.responses.iter().enumerate() {
            let _ = writeln!(out, "gvpie_http_responses_total{{class=\"{}xx\"}} {}", class_idx + 1, load(counter));
        }

        out.push_str("# HELP gvpie_event_subscribers Clients connected to the event stream.\n");
        out.push_str("# TYPE gvpie_event_subscribers gauge\n");
        let _ = writeln!(out, "gvpie_event_subscribers {}", gauges.event_subscribers);
        out.push_str("# HELP gvpie_uptime_seconds Seconds since the server started.\n");
        out.push_str("# TYPE gvpie_uptime_seconds gauge\n");
        let _ = writeln!(out, "gvpie_uptime_seconds {:.3}", gauges.uptime.as_secs_f64());
        out
    }
}
