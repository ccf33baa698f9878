//! [`AppState`]: everything a handler may use, shared by every request.
//!
//! It is cheap to clone (a few `Arc`s). It is built once with [`AppState::new`] and the
//! `with_*` methods, then handed to [`crate::app`]. It holds no per-request data.

use std::sync::Arc;
use std::time::Instant;

use gvpie_exec::Engine;

use crate::api_store::agents::AgentRates;
use crate::events::EventBus;
use crate::gate::ExecGate;
use crate::jobs::Jobs;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::store::StorePool;

/// The shared state of the server.
#[derive(Clone)]
pub struct AppState {
    engine: Arc<Engine>,
    limits: Arc<Limits>,
    token: Option<Arc<str>>,
    gate: Arc<ExecGate>,
    jobs: Arc<Jobs>,
    metrics: Arc<Metrics>,
    events: EventBus,
    started: Instant,
    store: Option<StorePool>,
    agent_rates: Arc<AgentRates>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("backends", &self.engine.backends())
            .field("limits", &self.limits)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// A state running programs on `engine`, with the default [`Limits`], no token and a new
    /// [`EventBus`].
    pub fn new(engine: Arc<Engine>) -> AppState {
        let limits = Limits::default();
        AppState {
            engine,
            gate: Arc::new(ExecGate::new(&limits)),
            jobs: Arc::new(Jobs::default()),
            limits: Arc::new(limits),
            token: None,
            metrics: Arc::new(Metrics::default()),
            events: EventBus::new(),
            started: Instant::now(),
            store: None,
            agent_rates: Arc::new(AgentRates::default()),
        }
    }

    /// Replaces the limits.
    pub fn with_limits(mut self, limits: Limits) -> AppState {
        self.gate = Arc::new(ExecGate::new(&limits));
        self.limits = Arc::new(limits);
        self
    }

    /// Requires `Authorization: Bearer TOKEN` on every request except `GET /health`.
    pub fn with_token(mut self, token: Option<String>) -> AppState {
        self.token = token.map(Arc::from);
        self
    }

    /// Publishes to `events` instead of a bus of its own (so that a daemon in the same
    /// process and the server share one stream).
    pub fn with_events(mut self, events: EventBus) -> AppState {
        self.events = events;
        self
    }

    /// Serves the history, scripts, programs, cartridges and images from `store`
    /// (without one those endpoints answer 503).
    pub fn with_store(mut self, store: StorePool) -> AppState {
        self.store = Some(store);
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The event bus: publish daemon events here to have them streamed.
    pub fn events(&self) -> &EventBus {
        &self.events
    }

    /// The engine that runs programs.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub(crate) fn gate(&self) -> &ExecGate {
        &self.gate
    }

    /// The cancel flags of the work in flight.
    pub(crate) fn jobs(&self) -> &Arc<Jobs> {
        &self.jobs
    }

    pub(crate) fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    /// The agents' executions as read lately (for their throughput).
    pub(crate) fn agent_rates(&self) -> &AgentRates {
        &self.agent_rates
    }

    /// The database, or 503 when this server has none.
    pub(crate) fn store(&self) -> Result<&StorePool, crate::error::AppError> {
        self.store.as_ref().ok_or_else(|| crate::error::AppError::Unavailable {
            message: "this server has no database (start it with --db PATH)".to_string(),
            retry_after: 60,
        })
    }
}
