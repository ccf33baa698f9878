//! Integration tests of the daemon, in-process (real SQLite files in temporary folders).
//! Tests that need a real process (kill -9, a second daemon) live in the CLI's tests.

/// Bad rows become failed runs.
mod bad_data;
/// The lease, the stop flag and the generator hook.
mod control;
/// Cycles, selection, recording, learning, events.
mod cycle;
/// The goal engine: goals, budgets, resume.
mod goals;
mod growth;
/// Folder import and change detection.
mod import;
/// The local-LLM generator in the goal engine, against a stand-in server.
mod llm;
/// The HTTP runtime client against a stand-in server.
mod remote;
/// Replay.
mod replay;
/// Shared fixtures.
mod util;
