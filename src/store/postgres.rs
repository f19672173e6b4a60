//! The shared engine: several instances on one PostgreSQL database. Every append locks the
//! single log-state row (`SELECT … FOR UPDATE`) and compares-and-swaps it on write, so
//! instances and CLIs serialise on that row and never fork the log.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Postgres;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::Result;
use super::sql::{Engine, SqlStore, log_state};

pub type PgStore = SqlStore<Postgres>;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

impl Engine for Postgres {
    const ENGINE: &'static str = "postgres";
    /// PostgreSQL allows 65,535 bound parameters per statement; chunks stay well below.
    const CHUNK: usize = 500;
    /// Writers serialise on row and table locks instead (see the locks below).
    const BEGIN_WRITE: Option<&'static str> = None;
    const LOCK_TEMPLATES: Option<&'static str> =
        Some("LOCK TABLE templates IN SHARE ROW EXCLUSIVE MODE");
    /// The row lock is held until commit: every other appender waits here.
    const LOCK_HEAD: &'static str = concat!(log_state!(), " FOR UPDATE");

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .before_acquire(SqlStore::<Postgres>::not_mid_transaction)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(SqlStore::new(pool))
    }
}
