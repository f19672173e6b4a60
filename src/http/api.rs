//! The JSON API under `/api/v1` and the log endpoints: one module per resource.

pub mod hr;
pub mod log;
pub mod lookup;
pub mod meta;
pub mod openapi;
pub mod proof;
pub mod reminders;
pub mod sign;
pub mod verify;
