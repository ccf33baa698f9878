//! Integration tests of the store: real SQLite files in temporary folders and, when
//! `GVPIE_TEST_POSTGRES` names a server, the same tests on fresh PostgreSQL databases
//! (see `util.rs`).

/// Agents, claims and goal islands.
mod agents;
/// The daemon lease.
mod lease;
/// What only PostgreSQL has: raw SQL, many writers, creation, connection errors.
mod postgres;
/// Reading back: pages, lineage, programs, images, cartridges, goals.
mod query;
/// Recording: iterations, append-only enforcement, content addressing, statistics.
mod record;
/// The seed's tables and its documented SQL, run verbatim.
mod seed_sql;
/// Shared fixtures.
mod util;
