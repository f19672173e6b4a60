//! The embedded engine: one SQLite file in WAL mode with `synchronous=FULL`, so an answered
//! pledge survives a crash. Appends run in `BEGIN IMMEDIATE` transactions, which serialise
//! every writer, in this process or another, on the database's write lock.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::Result;
use super::sql::{Engine, SqlStore, log_state};

pub type SqliteStore = SqlStore<Sqlite>;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

impl Engine for Sqlite {
    const ENGINE: &'static str = "sqlite";
    /// SQLite allows 32,766 bound parameters per statement; chunks stay well below.
    const CHUNK: usize = 500;
    /// A deferred transaction would take the write lock only at its first write, after its
    /// reads, and could then fail with SQLITE_BUSY instead of waiting.
    const BEGIN_WRITE: Option<&'static str> = Some("BEGIN IMMEDIATE");
    /// `BEGIN IMMEDIATE` already serialises every writer.
    const LOCK_TEMPLATES: Option<&'static str> = None;
    /// `BEGIN IMMEDIATE` already holds the write lock; the head is read under it.
    const LOCK_HEAD: &'static str = log_state!();

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }
}

/// How every SQLite file of ours is opened (the log server's, and a witness's): created if
/// missing, WAL with `synchronous=FULL` so an answer given survives a crash, foreign keys
/// on, and a writer waits up to 30 s for the write lock instead of failing.
pub fn durable_options(url: &str) -> Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30)))
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let options = durable_options(url)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .before_acquire(SqlStore::<Sqlite>::not_mid_transaction)
            .connect_with(options)
            .await?;
        Ok(SqlStore::new(pool))
    }

    /// A consistent online copy (`VACUUM INTO`), safe while the server is signing.
    pub async fn backup(&self, path: &str) -> Result<()> {
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
