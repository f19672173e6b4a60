//! ikrar: digitally signed civil-servant pledges (ikrar netralitas, pakta integritas),
//! countersigned with Ed25519 and appended to an RFC 9162 transparency log.
//!
//! Code tour — arrows point inward:
//! - [`http`] is the way in: one module per resource, `http::error` maps errors to statuses.
//! - [`domain`] holds the pure rules: NIPs, staff numbers, templates, statements, marks, rosters.
//! - [`store`] is the boundary to SQLite and PostgreSQL (`store::sqlite`, `store::postgres`).
//! - Pure engines: [`record`] (the signed record and annulment text), [`log`] (the Merkle
//!   tree and its proofs), [`note`] (signed notes and checkpoints), [`keys`] (Ed25519 key files).
//! - [`sequencer`] batches sign requests into one durable log append.
//! - [`config`] is the command line (`--help` is the configuration reference), [`cli`] runs it,
//!   [`app`] wires state and routes for `serve`.

pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod http;
pub mod keys;
pub mod loadtest;
pub mod log;
pub mod note;
pub mod record;
pub mod sequencer;
pub mod store;
