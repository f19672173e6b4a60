//! ikrar: digitally signed civil-servant pledges (ikrar netralitas, pakta integritas),
//! countersigned with Ed25519 and appended to an RFC 9162 transparency log.
//!
//! Code tour — arrows point inward:
//! - [`http`] is the way in: one module per resource, `http::error` maps errors to statuses.
//! - [`domain`] holds the pure rules: NIPs, staff numbers, templates, statements, marks, rosters.
//! - [`store`] is the boundary to SQLite and PostgreSQL (`store::sqlite`, `store::postgres`).
//! - Pure engines: [`record`] (the signed record and annulment text), [`log`] (the Merkle
//!   tree and its proofs), [`note`] (signed notes and checkpoints), [`keys`] (Ed25519 key files),
//!   [`qr`] (the receipt's QR code), [`pdf`] (the A4 receipt a signer keeps, and the
//!   printable QR slips that hand out signing links) and [`export`] (the compliance report
//!   as CSV and XLSX).
//! - [`ops`] holds the operations the CLI and the HR API share (import, campaigns, invitations,
//!   compliance); [`roster_file`] recognises CSV and XLSX rosters.
//! - [`verify`] checks QR texts and receipt PDFs offline (`ikrar verify`).
//! - [`sequencer`] batches sign requests into one durable log append; [`live`] wakes the
//!   ceremony screens when the log grows and shares their counts.
//! - [`config`] is the command line (`--help` is the configuration reference), [`cli`] runs it,
//!   [`app`] wires state and routes for `serve`.

pub mod cli;
pub mod domain;
pub mod formats;
pub mod http;
pub mod keys;
pub mod render;
pub mod service;
pub mod startup;
pub mod store;
pub mod tlog;

/// Installs the process-wide TLS crypto provider (ring) that outgoing HTTPS requests use.
/// Idempotent; `main` calls it first, and so does everything that builds an HTTP client.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
