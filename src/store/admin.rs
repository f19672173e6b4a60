//! What the admin pages' kiosks, pledge search and housekeeping read and write: a trait of
//! its own (a supertrait of [`Store`]) so these queries live beside each other, once, for
//! both engines.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, Type};

use super::sql::{Engine, PLEDGE_VIEW, RowsAffected, SqlStore};
use super::{PledgeView, Result};

/// A kiosk to set up: the device's secret is stored only hashed.
#[derive(Clone, Debug)]
pub struct NewKiosk<'a> {
    pub campaign_id: i64,
    pub label: &'a str,
    pub secret_hash: [u8; 32],
    pub started_by: &'a str,
    pub started_at: i64,
    /// The campaign's closing time when the kiosk started (the cookie's lifetime).
    pub expires_at: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct KioskRow {
    pub id: i64,
    pub campaign_id: i64,
    pub label: String,
    /// The current signer's step, if one is under way.
    pub step_hash: Option<Vec<u8>>,
    pub started_by: String,
    pub started_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
    pub ended_by: Option<String>,
}

/// How many rows [`AdminStore::purge_expired`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub sessions: u64,
    pub kiosks: u64,
    /// Sessions of signers signed in with SSO (`/masuk`).
    pub signer_sessions: u64,
}

/// An ended kiosk stays listed for HR this long before it is purged.
pub const ENDED_KIOSK_KEPT_SECS: i64 = 86_400;

#[async_trait]
pub trait AdminStore: Send + Sync {
    async fn create_kiosk(&self, new: &NewKiosk<'_>) -> Result<i64>;
    /// A kiosk by its device secret, while not ended and its campaign not closed (the
    /// campaign's closing time as it is now, after any edit).
    async fn live_kiosk(&self, secret_hash: &[u8; 32], now: i64) -> Result<Option<KioskRow>>;
    /// A campaign's kiosks, newest first.
    async fn kiosks(&self, campaign_id: i64) -> Result<Vec<KioskRow>>;
    /// Ends a kiosk of the campaign; false when it is unknown or already ended.
    async fn end_kiosk(&self, campaign_id: i64, id: i64, actor: &str, now: i64) -> Result<bool>;
    /// Sets (or, with `None`, ends) the kiosk's current signer step.
    async fn set_kiosk_step(&self, id: i64, step_hash: Option<&[u8; 32]>) -> Result<()>;
    /// Deletes expired admin and signer sessions, and kiosks whose campaign has closed or that ended
    /// a day ago.
    async fn purge_expired(&self, now: i64) -> Result<Purged>;
    /// Pledges of an instansi whose NIP (or staff number) is `number`, or whose name
    /// matches the lowercase LIKE `pattern`; newest first.
    async fn search_pledges(
        &self,
        instansi_id: i64,
        number: &str,
        pattern: &str,
        limit: i64,
    ) -> Result<Vec<PledgeView>>;
}

const KIOSK: &str = "SELECT id, campaign_id, label, step_hash, started_by, started_at, expires_at,
        ended_at, ended_by FROM kiosks";

#[async_trait]
impl<DB: Engine> AdminStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    usize: ColumnIndex<DB::Row>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
{
    async fn create_kiosk(&self, new: &NewKiosk<'_>) -> Result<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO kiosks (campaign_id, label, secret_hash, started_by, started_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(new.campaign_id)
        .bind(new.label)
        .bind(new.secret_hash.to_vec())
        .bind(new.started_by)
        .bind(new.started_at)
        .bind(new.expires_at)
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    async fn live_kiosk(&self, secret_hash: &[u8; 32], now: i64) -> Result<Option<KioskRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{KIOSK} WHERE secret_hash = $1 AND ended_at IS NULL AND campaign_id IN
             (SELECT id FROM campaigns WHERE closed_at IS NULL AND closes_at > $2)"
        )))
        .bind(secret_hash.to_vec())
        .bind(now)
        .fetch_optional(self.pool())
        .await?)
    }

    async fn kiosks(&self, campaign_id: i64) -> Result<Vec<KioskRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{KIOSK} WHERE campaign_id = $1 ORDER BY id DESC"
        )))
        .bind(campaign_id)
        .fetch_all(self.pool())
        .await?)
    }

    async fn end_kiosk(&self, campaign_id: i64, id: i64, actor: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE kiosks SET ended_at = $1, ended_by = $2, step_hash = NULL
             WHERE id = $3 AND campaign_id = $4 AND ended_at IS NULL",
        )
        .bind(now)
        .bind(actor)
        .bind(id)
        .bind(campaign_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_kiosk_step(&self, id: i64, step_hash: Option<&[u8; 32]>) -> Result<()> {
        let q = match step_hash {
            Some(h) => sqlx::query("UPDATE kiosks SET step_hash = $1 WHERE id = $2")
                .bind(h.to_vec())
                .bind(id),
            None => sqlx::query("UPDATE kiosks SET step_hash = NULL WHERE id = $1").bind(id),
        };
        q.execute(self.pool()).await?;
        Ok(())
    }

    async fn purge_expired(&self, now: i64) -> Result<Purged> {
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await?
            .rows_affected();
        let kiosks = sqlx::query(
            "DELETE FROM kiosks WHERE ended_at <= $2 OR campaign_id IN
             (SELECT id FROM campaigns WHERE closed_at IS NOT NULL OR closes_at <= $1)",
        )
        .bind(now)
        .bind(now - ENDED_KIOSK_KEPT_SECS)
        .execute(self.pool())
        .await?
        .rows_affected();
        let signer_sessions = sqlx::query("DELETE FROM signer_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(Purged {
            sessions,
            kiosks,
            signer_sessions,
        })
    }

    async fn search_pledges(
        &self,
        instansi_id: i64,
        number: &str,
        pattern: &str,
        limit: i64,
    ) -> Result<Vec<PledgeView>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{PLEDGE_VIEW} WHERE c.instansi_id = $1 AND (p.number = $2 OR LOWER(p.name) LIKE $3)
             ORDER BY p.signed_at DESC, p.id DESC LIMIT $4"
        )))
        .bind(instansi_id)
        .bind(number)
        .bind(pattern)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}
