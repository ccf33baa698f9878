//! Integration tests of the store: real SQLite files in temporary folders.

/// Agents, claims and goal islands.
mod agents;
/// The daemon lease.
mod lease;
/// Reading back: pages, lineage, programs, images, cartridges, goals.
mod query;
/// Recording: iterations, append-only enforcement, content addressing, statistics.
mod record;
/// The seed's tables and its documented SQL, run verbatim.
mod seed_sql;
/// Shared fixtures.
mod util;
