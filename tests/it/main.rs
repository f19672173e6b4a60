//! The one integration-test binary. The engine under test is SQLite unless
//! `IKRAR_TEST_DATABASE` names a PostgreSQL server (see `support`).

mod abuse;
mod admin_pledges;
mod api;
mod audit;
mod browser;
mod cli;
mod drift;
mod edge;
mod hr;
mod hr_journey;
mod hr_reports;
mod kiosk;
mod layout;
mod log_integrity;
mod merkle_vectors;
mod oidc;
mod operations;
mod periksa;
mod proof;
mod read_path;
mod recovery;
mod reminders;
mod roster_limits;
mod screens;
mod store;
mod support;
mod tiles;
mod transparency;
mod vectors;
mod verify_cli;
mod witness;
mod witnessing;
