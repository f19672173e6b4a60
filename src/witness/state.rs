//! The witness's durable state: one SQLite file in WAL mode with `synchronous=FULL`, so a
//! size and root are on disk before the cosignature over them is sent. Advancing is a
//! compare-and-swap on the stored size and root: of two requests from the same old size,
//! exactly one moves the log on.

use anyhow::{Context as _, Result, bail};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::{Row as _, SqlitePool};

use crate::tlog::merkle::{self, Hash};
use crate::tlog::note::Checkpoint;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/witness");

/// Refused requests kept verbatim per log; later ones are only counted.
pub const KEPT_REFUSALS: i64 = 100;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://witness.db";

/// What the witness last cosigned for one log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogState {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub checkpoint: Option<String>,
    pub cosigned_at: Option<u64>,
    pub refused: u64,
}

#[derive(Clone)]
pub struct WitnessState {
    pool: SqlitePool,
}

impl WitnessState {
    /// Opens (creating if missing) the SQLite database at `url` and applies the witness's
    /// schema. Refuses other engines and the log server's database.
    pub async fn open(url: &str) -> Result<Self> {
        if !url.starts_with("sqlite:") {
            bail!("saksi hanya memakai SQLite (sqlite://FILE), bukan {url}");
        }
        let options = crate::store::sqlite::durable_options(url)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .with_context(|| format!("membuka basis data saksi {url}"))?;
        MIGRATOR.run(&pool).await.with_context(|| {
            format!(
                "menyiapkan basis data saksi {url} (apakah ini basis data server log? \
                 saksi memerlukan berkasnya sendiri)"
            )
        })?;
        Ok(Self { pool })
    }

    /// Adds a log at size 0 unless it is already known.
    pub async fn watch(&self, origin: &str) -> Result<()> {
        sqlx::query("INSERT INTO witness_log (origin, size, root) VALUES ($1, 0, $2) ON CONFLICT (origin) DO NOTHING")
            .bind(origin)
            .bind(merkle::empty_root().to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn latest(&self, origin: &str) -> Result<Option<LogState>> {
        let row = sqlx::query("SELECT origin, size, root, checkpoint, cosigned_at, refused FROM witness_log WHERE origin = $1")
            .bind(origin)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| log_state(&r)).transpose()
    }

    /// Every log in the database, by origin.
    pub async fn all(&self) -> Result<Vec<LogState>> {
        let rows = sqlx::query("SELECT origin, size, root, checkpoint, cosigned_at, refused FROM witness_log ORDER BY origin")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(log_state).collect()
    }

    /// Records `checkpoint` (whose signed note is `note`) as cosigned at `at`, only if the
    /// log is still at `from`. Returns whether it was; the write is durable when it returns.
    pub async fn advance(
        &self,
        origin: &str,
        from: &LogState,
        checkpoint: &Checkpoint,
        note: &str,
        at: u64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE witness_log SET size = $1, root = $2, checkpoint = $3, cosigned_at = $4 \
             WHERE origin = $5 AND size = $6 AND root = $7",
        )
        .bind(i64::try_from(checkpoint.size).context("tree size above 2^63 - 1")?)
        .bind(checkpoint.root.to_vec())
        .bind(note)
        .bind(i64::try_from(at).context("time above 2^63 - 1")?)
        .bind(origin)
        .bind(i64::try_from(from.size).context("tree size above 2^63 - 1")?)
        .bind(from.root.to_vec())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Counts a refused request signed by the log, and keeps it verbatim while fewer than
    /// [`KEPT_REFUSALS`] are kept for this log. One transaction.
    pub async fn record_refusal(
        &self,
        origin: &str,
        at: u64,
        reason: &str,
        request: &str,
    ) -> Result<()> {
        let at = i64::try_from(at).context("time above 2^63 - 1")?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE witness_log SET refused = refused + 1 WHERE origin = $1")
            .bind(origin)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO witness_refusal (origin, received_at, reason, request) \
             SELECT $1, $2, $3, $4 \
             WHERE (SELECT count(*) FROM witness_refusal WHERE origin = $1) < $5",
        )
        .bind(origin)
        .bind(at)
        .bind(reason)
        .bind(request)
        .bind(KEPT_REFUSALS)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The kept refused requests of a log, oldest first: (time, reason, request).
    pub async fn refusals(&self, origin: &str) -> Result<Vec<(u64, String, String)>> {
        let rows = sqlx::query(
            "SELECT received_at, reason, request FROM witness_refusal WHERE origin = $1 ORDER BY id",
        )
        .bind(origin)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    u64::try_from(r.try_get::<i64, _>(0)?)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                ))
            })
            .collect()
    }
}

fn log_state(r: &sqlx::sqlite::SqliteRow) -> Result<LogState> {
    let root: Vec<u8> = r.try_get("root")?;
    Ok(LogState {
        origin: r.try_get("origin")?,
        size: u64::try_from(r.try_get::<i64, _>("size")?)?,
        root: merkle::hash_from_slice(&root)?,
        checkpoint: r.try_get("checkpoint")?,
        cosigned_at: r
            .try_get::<Option<i64>, _>("cosigned_at")?
            .map(u64::try_from)
            .transpose()?,
        refused: u64::try_from(r.try_get::<i64, _>("refused")?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_the_log_servers_database_and_other_engines() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("ikrar.db").display());
        let store = crate::store::connect(&url).await.expect("log store");
        store.migrate().await.expect("log migrations");
        let refused = WitnessState::open(&url).await.err().expect("refused");
        assert!(
            format!("{refused:#}").contains("basis data server log"),
            "{refused:#}"
        );
        assert!(
            WitnessState::open("postgres://postgres@127.0.0.1:5432/test")
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn keeps_a_bounded_number_of_refusals_and_counts_all() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let state = WitnessState::open(&url).await.expect("db");
        state.watch("a.example/log").await.expect("watch");
        state.watch("a.example/log").await.expect("watch twice");
        for i in 0..KEPT_REFUSALS + 5 {
            state
                .record_refusal("a.example/log", 10, "fork", &format!("request {i}"))
                .await
                .expect("record");
        }
        let kept = state.refusals("a.example/log").await.expect("read");
        assert_eq!(kept.len() as i64, KEPT_REFUSALS);
        assert_eq!(kept[0].2, "request 0");
        let latest = state
            .latest("a.example/log")
            .await
            .expect("read")
            .expect("row");
        assert_eq!(latest.refused as i64, KEPT_REFUSALS + 5);
        assert_eq!((latest.size, latest.root), (0, merkle::empty_root()));
    }
}
