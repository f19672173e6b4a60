//! ikrar: digitally signed civil-servant pledges (ikrar netralitas, pakta integritas),
//! countersigned with Ed25519 and appended to an RFC 9162 transparency log.
//!
//! Code tour — a request enters through a way in, calls a use case, and the use case
//! applies the domain's rules and writes through the store; arrows point inward:
//! - Ways in: [`cli`] (commands; `cli::args` is the configuration reference) and [`http`]
//!   (`http::api` JSON, `http::pages` HTML, one route table, one error type).
//! - [`service`]: the use cases by feature (roster, campaign, invitation, pledge,
//!   verification, account, compliance, audit, instansi), the sequencer that batches sign
//!   requests into one durable append, and the ceremony screens' live counts.
//! - [`domain`]: pure types and rules (NIPs, campaign phases, templates, statements, marks,
//!   compliance roll-up).
//! - Pure engines: [`tlog`] (record, Merkle tree, signed notes, key files), [`render`] (QR
//!   codes, the receipt PDF, printable slips), [`formats`] (roster readers, exports).
//! - [`store`]: the boundary to SQLite and PostgreSQL, one SQL implementation.
//! - [`metrics`]: the operator's Prometheus instruments, one registry per app state.
//! - [`startup`]: builds the state `serve` runs on (keys, names, rollback guard).
//! - [`witness`]: `ikrar witness`, a separate product in the same binary: a C2SP witness
//!   that an outside party runs to cosign this or any log.

pub mod cli;
pub mod domain;
pub mod formats;
pub mod http;
pub mod metrics;
pub mod render;
pub mod service;
pub mod startup;
pub mod store;
pub mod tlog;
pub mod witness;

/// Installs the process-wide TLS crypto provider (ring) that outgoing HTTPS requests use.
/// Idempotent; `main` calls it first, and so does everything that builds an HTTP client.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
