//! The live event stream: an [`EventBus`] that the API and the daemon publish to, and the
//! `GET /api/events` Server-Sent Events endpoint that UIs subscribe to.
//!
//! Publishing never blocks and never fails: with no subscriber an event is dropped, and a
//! subscriber that falls more than [`EVENT_BUFFER`] events behind is told how many it missed
//! (an `event: lagged`) instead of slowing the publishers down. Nothing here is persisted; the
//! history of executions lives in the store.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};
use utoipa::ToSchema;

use crate::state::AppState;

/// Events a slow subscriber may fall behind before it loses some.
pub const EVENT_BUFFER: usize = 1024;

/// One thing that happened, as the event stream sends it (`data:` is this object as JSON,
/// `event:` its `type`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A program ran, through the API or in a daemon cycle.
    Execution(ExecutionEvent),
    /// The daemon reported a step of its loop (a cycle starting or ending, a health check,
    /// an improvement); `event` names it and `data` carries its fields.
    Daemon(DaemonEvent),
    /// An agent (a daemon working on the database) joined, left, or took work over from one
    /// that had gone stale.
    Agent(AgentEvent),
}

/// A finished execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExecutionEvent {
    /// Who ran it: `api`, `daemon`, or `store` (recorded in the database by another process, seen
    /// by polling it: see `watch_store`).
    pub origin: String,
    /// True when the program halted without error.
    pub success: bool,
    /// Instructions executed.
    pub cycles: u64,
    /// `cpu` or `gpu`.
    pub backend: String,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
    /// The error kind when it failed (`parse`, `division_by_zero`, …).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_kind: Option<String>,
    /// The improvement script it belongs to (daemon runs).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub script: Option<String>,
    /// The `infinite_map` iteration it was saved as (daemon runs).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub iteration: Option<i64>,
    /// SHA-256 of the program (daemon runs; see `/api/programs/{hash}`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub program_hash: Option<String>,
    /// SHA-256 of the output image (daemon runs; see `/api/images/{hash}`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub image_hash: Option<String>,
    /// The agent that recorded it (seen in the database by `gvpie serve`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub agent: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// A step of the daemon's loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DaemonEvent {
    /// What happened: `cycle_started`, `cycle_finished`, `health`, ….
    pub event: String,
    /// Its fields.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// An agent's arrival, departure or takeover (SSE `event: agent`). `gvpie serve` sees them in the
/// database's `agents` and `work_claims` tables (`watch_store`); `gvpie up` also gets them from its
/// own daemon, which reports itself and the other agents it sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentEvent {
    /// `joined` (a new agent, or one started again under its name), `left` (stopped cleanly, or
    /// its heartbeat went past its time-to-live: `state` says which) or `took_over` (`agent` took
    /// `work` over from `from`, whose claim had gone stale).
    pub event: String,
    /// The agent's name.
    pub agent: String,
    /// Its host (`joined`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub host: Option<String>,
    /// Its process id (`joined`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pid: Option<u32>,
    /// Its roles (`joined`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub roles: Option<Vec<String>>,
    /// Its state now: `alive` (`joined`), `stopped` or `stale` (`left`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub state: Option<String>,
    /// It ran under this name before (`joined`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub restarted: Option<bool>,
    /// The stale agent whose work was taken over (`took_over`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub from: Option<String>,
    /// The work taken over: `script:ID`, `goal:ID:ISLAND` or `verify:BLOCK` (`took_over`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub work: Option<String>,
    /// The work's sequence number, a goal island's slice number (`took_over`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub seq: Option<i64>,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
}

impl AgentEvent {
    /// An event about `agent` with no details yet.
    pub fn new(event: &str, agent: &str) -> AgentEvent {
        AgentEvent {
            event: event.to_string(),
            agent: agent.to_string(),
            host: None,
            pid: None,
            roles: None,
            state: None,
            restarted: None,
            from: None,
            work: None,
            seq: None,
            at_ms: now_ms(),
        }
    }
}

impl Event {
    /// The SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Execution(_) => "execution",
            Event::Daemon(_) => "daemon",
            Event::Agent(_) => "agent",
        }
    }
}

impl Event {
    /// Converts one of the daemon's events, serialized as JSON with its `event` tag
    /// (`gvpie_daemon::DaemonEvent`), into a stream event: a recorded execution becomes an
    /// [`Event::Execution`] with `origin: "daemon"`, `agent_joined`, `agent_left` and `took_over`
    /// become [`Event::Agent`]s (`joined`, `left`, `took_over`), anything else an
    /// [`Event::Daemon`] whose `data` holds the other fields. This keeps the server independent
    /// of the daemon crate.
    pub fn from_daemon_json(value: serde_json::Value) -> Event {
        let serde_json::Value::Object(mut fields) = value else {
            return Event::Daemon(DaemonEvent { event: "unknown".to_string(), data: value, at_ms: now_ms() });
        };
        let name = match fields.remove("event") {
            Some(serde_json::Value::String(name)) => name,
            _ => "unknown".to_string(),
        };
        let text = |fields: &serde_json::Map<String, serde_json::Value>, key: &str| {
            fields.get(key).and_then(serde_json::Value::as_str).map(str::to_string)
        };
        if name == "execution_recorded" {
            return Event::Execution(ExecutionEvent {
                origin: "daemon".to_string(),
                success: fields.get("success").and_then(serde_json::Value::as_bool).unwrap_or(false),
                cycles: fields.get("cycles").and_then(serde_json::Value::as_u64).unwrap_or(0),
                backend: text(&fields, "backend").unwrap_or_else(|| "none".to_string()),
                duration_ms: fields.get("duration_ms").and_then(serde_json::Value::as_f64).unwrap_or(0.0),
                error_kind: fields
                    .get("error")
                    .and_then(|e| e.get("kind"))
                    .and_then(|k| k.as_str())
                    .map(str::to_string),
                script: text(&fields, "script"),
                iteration: fields.get("iteration").and_then(serde_json::Value::as_i64),
                program_hash: text(&fields, "program_hash"),
                image_hash: text(&fields, "image_hash"),
                agent: text(&fields, "agent"),
                at_ms: now_ms(),
            });
        }
        if let Some(agent) = agent_event_from_daemon(&name, &fields) {
            return Event::Agent(agent);
        }
        Event::Daemon(DaemonEvent { event: name, data: serde_json::Value::Object(fields), at_ms: now_ms() })
    }
}

/// The daemon's `agent_joined`, `agent_left` and `took_over` as [`AgentEvent`]s; `None` for any
/// other event, or one without its agent's name.
fn agent_event_from_daemon(name: &str, fields: &serde_json::Map<String, serde_json::Value>) -> Option<AgentEvent> {
    let text = |key: &str| fields.get(key).and_then(serde_json::Value::as_str).map(str::to_string);
    let kind = match name {
        "agent_joined" => "joined",
        "agent_left" => "left",
        "took_over" => "took_over",
        _ => return None,
    };
    let mut event = AgentEvent::new(kind, &text("agent")?);
    match kind {
        "joined" => {
            event.host = text("host");
            event.pid = fields.get("pid").and_then(serde_json::Value::as_u64).and_then(|p| u32::try_from(p).ok());
            event.roles = fields.get("roles").and_then(|r| serde_json::from_value(r.clone()).ok());
            event.state = Some("alive".to_string());
            event.restarted = fields.get("restarted").and_then(serde_json::Value::as_bool);
        }
        "left" => event.state = text("state"),
        _ => {
            event.from = text("from");
            event.work = text("work");
            event.seq = fields.get("seq").and_then(serde_json::Value::as_i64);
        }
    }
    Some(event)
}

/// Milliseconds since the Unix epoch, for event timestamps.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Where events are published; cheap to clone, one per process.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<(u64, Event)>>,
    next_id: Arc<AtomicU64>,
    closing: watch::Receiver<bool>,
    close: Arc<watch::Sender<bool>>,
}

impl Default for EventBus {
    fn default() -> EventBus {
        EventBus::new()
    }
}

impl EventBus {
    /// A bus with no subscribers.
    pub fn new() -> EventBus {
        let (sender, _) = broadcast::channel(EVENT_BUFFER);
        let (close, closing) = watch::channel(false);
        EventBus { sender, next_id: Arc::new(AtomicU64::new(1)), closing, close: Arc::new(close) }
    }

    /// Sends `event` to every current subscriber; never blocks.
    pub fn publish(&self, event: Event) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // An error only means nobody listens now.
        let _ = self.sender.send(Arc::new((id, event)));
    }

    /// A receiver of every event published from now on (for in-process consumers and tests).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<(u64, Event)>> {
        self.sender.subscribe()
    }

    /// Clients connected now.
    pub fn n_subscribers(&self) -> usize {
        self.sender.receiver_count()
    }

    /// Becomes true when [`EventBus::close`] is called (for publishers that run until then).
    pub(crate) fn closing(&self) -> watch::Receiver<bool> {
        self.closing.clone()
    }

    /// Ends every open stream (at shutdown, so that graceful shutdown does not wait on them).
    pub fn close(&self) {
        let _ = self.close.send(true);
    }
}

/// What one subscriber's stream needs.
struct Subscriber {
    receiver: broadcast::Receiver<Arc<(u64, Event)>>,
    closing: watch::Receiver<bool>,
}

fn to_sse(id: u64, event: &Event) -> SseEvent {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".to_string());
    SseEvent::default().id(id.to_string()).event(event.name()).data(data)
}

/// The stream of one subscriber: events until the server closes or the client leaves.
fn event_stream(bus: &EventBus) -> impl Stream<Item = Result<SseEvent, Infallible>> + use<> {
    let subscriber = Subscriber { receiver: bus.subscribe(), closing: bus.closing.clone() };
    futures_util::stream::unfold(subscriber, |mut subscriber| async move {
        if *subscriber.closing.borrow() {
            return None;
        }
        loop {
            tokio::select! {
                received = subscriber.receiver.recv() => {
                    let sse = match received {
                        Ok(item) => to_sse(item.0, &item.1),
                        Err(broadcast::error::RecvError::Lagged(missed)) => SseEvent::default()
                            .event("lagged")
                            .data(format!("{{\"type\":\"lagged\",\"missed\":{missed}}}")),
                        Err(broadcast::error::RecvError::Closed) => return None,
                    };
                    return Some((Ok(sse), subscriber));
                }
                changed = subscriber.closing.changed() => {
                    if changed.is_err() || *subscriber.closing.borrow() {
                        return None;
                    }
                }
            }
        }
    })
}

/// Live events: executions, daemon cycles and agents, as Server-Sent Events.
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "events",
    responses(
        (status = 200, description = "An endless `text/event-stream`; each `data:` line is one Event as JSON, \
            `event:` is its type (`execution`, `daemon`, `agent`, or `lagged` when this client missed events). \
            A comment line is sent every 15 s to keep the connection open.",
            content_type = "text/event-stream", body = Event),
        (status = 401, description = "Missing or wrong token", body = crate::ErrorBody),
    )
)]
pub(crate) async fn events(State(state): State<AppState>) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    Sse::new(event_stream(state.events())).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
