//! Pure domain types and rules. No axum, no sqlx: everything here can be tested alone.

pub mod account;
pub mod campaign;
pub mod compliance;
pub mod contact;
pub mod error;
pub mod instansi;
pub mod mark;
pub mod nip;
pub mod public_url;
pub mod roster;
pub mod statement;
pub mod template;
pub mod text;
pub mod token;

pub use error::ValidationError;
