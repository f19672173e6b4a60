//! The use cases, by feature. The three ways in (HTTP API, admin pages, CLI) parse their
//! input, call one of these and translate the answer; every rule they apply lives here or in
//! `domain`, and each use case writes its own audit event.

pub mod account;
pub mod audit;
pub mod batches;
pub mod campaign;
pub mod compliance;
pub mod demo;
pub mod error;
pub mod housekeeping;
pub mod instansi;
pub mod invitation;
pub mod kiosk;
pub mod live;
pub mod log_proofs;
pub mod offline;
pub mod oidc;
pub mod pledge;
pub mod pledge_search;
pub mod proof;
pub mod read_cache;
pub mod reminder;
pub mod roster;
pub mod sequencer;
pub mod sso;
pub mod tiles;
pub mod verification;
pub mod verifier;
pub mod witnessing;

pub use error::{ServiceError, ServiceResult};
