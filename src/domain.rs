//! Pure domain types and rules. No axum, no sqlx: everything here can be tested alone.

pub mod account;
pub mod audit;
pub mod campaign;
pub mod compliance;
pub mod consent;
pub mod contact;
pub mod error;
pub mod instansi;
pub mod mark;
pub mod nip;
pub mod public_url;
pub mod roster;
pub mod sso;
pub mod statement;
pub mod template;
pub mod text;
pub mod token;
pub mod unit;

pub use error::ValidationError;
