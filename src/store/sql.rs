//! The one SQL implementation of [`Store`] and [`AppendTx`], generic over the engine.
//! Every query lives here once, in the dialect and `$n` placeholders both engines accept.
//! An [`Engine`] supplies only what SQLite and PostgreSQL really do differently: how a
//! writing transaction begins, which locks it takes, how many rows go into one statement,
//! and the migrations. Connecting (pragmas, pool sizes) and engine-only extras such as the
//! SQLite backup stay in [`super::sqlite`] and [`super::postgres`].

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use sqlx::migrate::{Migrate, Migrator};
use sqlx::postgres::PgQueryResult;
use sqlx::sqlite::SqliteQueryResult;
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, QueryBuilder,
    Transaction, Type,
};

use super::*;
use crate::domain::token::NewToken;

/// What one database engine does differently from the other; everything else is shared SQL.
pub trait Engine:
    Database<Connection: Migrate, Arguments: IntoArguments<Self>, QueryResult: RowsAffected>
{
    /// The name [`Store::engine`] reports.
    const ENGINE: &'static str;
    /// Rows per multi-row statement, well below the engine's bound-parameter limit.
    const CHUNK: usize;
    /// The statement that opens a transaction which will write, when plain `BEGIN` is not
    /// enough to serialise writers.
    const BEGIN_WRITE: Option<&'static str>;
    /// Taken first in the template transaction: template numbers are deployment-wide and
    /// dense, so their allocation must be serialised.
    const LOCK_TEMPLATES: Option<&'static str>;
    /// The log-state read of [`AppendTx::lock_head`] (the shared `log_state!` query plus the
    /// engine's row lock), which must leave the row write-locked until commit.
    const LOCK_HEAD: &'static str;

    fn migrator() -> &'static Migrator;
}

/// `rows_affected` is inherent on each engine's result type; this names it for shared code.
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        SqliteQueryResult::rows_affected(self)
    }
}

impl RowsAffected for PgQueryResult {
    fn rows_affected(&self) -> u64 {
        PgQueryResult::rows_affected(self)
    }
}

/// A witness's progress, set from a cosignature or from its 409 answer.
const UPSERT_WITNESS_SIZE: &str =
    "INSERT INTO witness_progress (vkey, size, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (vkey) DO UPDATE SET size = excluded.size, updated_at = excluded.updated_at";

/// The log-state row's read, a literal so that engines can append their row lock with
/// `concat!` for [`Engine::LOCK_HEAD`].
macro_rules! log_state {
    () => {
        "SELECT size, root, frontier, last_time, checkpoint FROM log_state WHERE id = 1"
    };
}
pub(crate) use log_state;

/// A [`Store`] on one connection pool of engine `DB`.
pub struct SqlStore<DB: Database> {
    pool: Pool<DB>,
}

impl<DB: Engine> SqlStore<DB> {
    pub(super) fn new(pool: Pool<DB>) -> Self {
        SqlStore { pool }
    }

    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// A pooled connection that is still inside a transaction is closed, not handed out:
    /// a COMMIT or ROLLBACK that failed (a full disk makes SQLite roll back by itself, and
    /// the later ROLLBACK then fails) leaves sqlx's transaction depth above zero, and every
    /// later `BEGIN` on that connection would fail with "begin_with at non-zero transaction
    /// depth" until a restart. The pool pings before this runs, which flushes a queued
    /// rollback first.
    pub(super) fn not_mid_transaction(
        conn: &mut DB::Connection,
        _: sqlx::pool::PoolConnectionMetadata,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, sqlx::Error>> + Send + '_>>
    {
        use sqlx::Connection as _;
        let reusable = !conn.is_in_transaction();
        if !reusable {
            tracing::warn!("closing a pooled connection left inside a failed transaction");
        }
        Box::pin(std::future::ready(Ok(reusable)))
    }

    async fn begin_write(&self) -> Result<Transaction<'static, DB>> {
        Ok(match DB::BEGIN_WRITE {
            Some(begin) => self.pool.begin_with(begin).await?,
            None => self.pool.begin().await?,
        })
    }
}

const INSERT_AUDIT: &str = "INSERT INTO audit_events (instansi_id, actor, action, summary, at) VALUES ($1, $2, $3, $4, $5)";
const USER_BY_USERNAME: &str =
    "SELECT id, instansi_id, username, role, password_hash FROM users WHERE username = $1";
const USER_BY_TOKEN: &str = "SELECT u.id, u.instansi_id, u.username, u.role, u.password_hash
    FROM api_tokens t JOIN users u ON u.id = t.user_id
    WHERE t.token_hash = $1 AND t.revoked_at IS NULL";
const SESSION: &str = "SELECT u.id, u.instansi_id, u.username, u.role, s.csrf
    FROM sessions s JOIN users u ON u.id = s.user_id
    WHERE s.id_hash = $1 AND s.expires_at > $2";
const CAMPAIGNS: &str = "SELECT id, instansi_id, template_no, title, place, opens_at,
        closes_at, closed_at, mark_enabled, screen_enabled, public_enabled
    FROM campaigns WHERE instansi_id = $1 ORDER BY id DESC";
const EMPLOYEES: &str = "SELECT e.id, e.kind, e.number, e.name, e.position,
        e.unit_id, u.name AS unit, e.active
    FROM employees e JOIN units u ON u.id = e.unit_id
    WHERE e.instansi_id = $1 AND (LOWER(e.number) LIKE $2 OR LOWER(e.name) LIKE $2)
    ORDER BY e.active DESC, e.name, e.number LIMIT $3 OFFSET $4";
const AUDIT: &str = "SELECT id, instansi_id, actor, action, summary, at FROM audit_events
    WHERE (CAST($1 AS BIGINT) IS NULL OR instansi_id = $1) AND id < $2
    ORDER BY id DESC LIMIT $3";
/// Target staff of campaign $1 (all active staff, or those in the target units' subtrees).
const STAFF: &str = "WITH RECURSIVE targeted(id) AS (
        SELECT unit_id FROM campaign_units WHERE campaign_id = $1
        UNION SELECT u.id FROM units u JOIN targeted t ON u.parent_id = t.id),
    staff AS (
        SELECT e.id, e.unit_id, e.number, e.name, e.position FROM employees e
        JOIN campaigns c ON c.id = $1
        WHERE e.instansi_id = c.instansi_id AND e.active
          AND (NOT EXISTS (SELECT 1 FROM campaign_units WHERE campaign_id = $1)
               OR e.unit_id IN (SELECT id FROM targeted)))";
fn compliance() -> String {
    format!(
        "{STAFF} SELECT s.unit_id, COUNT(*) AS target, COUNT(p.id) AS signed FROM staff s
         LEFT JOIN pledges p ON p.employee_id = s.id AND p.campaign_id = $1 AND p.annulled_at IS NULL
         GROUP BY s.unit_id"
    )
}
fn unsigned() -> String {
    format!(
        "{STAFF}, under(id) AS (
            SELECT id FROM units WHERE id = $2
            UNION SELECT u.id FROM units u JOIN under ON u.parent_id = under.id)
         SELECT s.number, s.name, s.unit_id, u.name AS unit, s.position FROM staff s
         JOIN units u ON u.id = s.unit_id
         WHERE NOT EXISTS (SELECT 1 FROM pledges p WHERE p.employee_id = s.id
                           AND p.campaign_id = $1 AND p.annulled_at IS NULL)
           AND (CAST($2 AS BIGINT) IS NULL OR s.unit_id IN (SELECT id FROM under))
         ORDER BY u.name, s.name, s.number LIMIT $3 OFFSET $4"
    )
}
/// Unsigned target staff of campaign $1, in unit $2's subtree and/or with number $3 when
/// given, with their contact data and active invitation.
fn reminder_targets() -> String {
    format!(
        "{STAFF}, under(id) AS (
            SELECT id FROM units WHERE id = $2
            UNION SELECT u.id FROM units u JOIN under ON u.parent_id = under.id)
         SELECT s.id AS employee_id, s.number, s.name, u.name AS unit, e.email, e.telepon,
                (SELECT i.id FROM invitations i WHERE i.campaign_id = $1
                    AND i.employee_id = s.id AND i.revoked_at IS NULL) AS invitation_id
         FROM staff s
         JOIN units u ON u.id = s.unit_id
         JOIN employees e ON e.id = s.id
         WHERE NOT EXISTS (SELECT 1 FROM pledges p WHERE p.employee_id = s.id
                           AND p.campaign_id = $1 AND p.annulled_at IS NULL)
           AND (CAST($2 AS BIGINT) IS NULL OR s.unit_id IN (SELECT id FROM under))
           AND (CAST($3 AS TEXT) IS NULL OR s.number = $3)
         ORDER BY u.name, s.name, s.number"
    )
}
/// The hour bucket is plain integer arithmetic, the same on both engines.
const SIGNATURES_PER_HOUR: &str =
    "SELECT signed_at - (signed_at % 3600) AS hour, COUNT(*) AS signed FROM pledges
    WHERE campaign_id = $1 AND annulled_at IS NULL
    GROUP BY 1 ORDER BY 1";
const REVOKE: &str = "UPDATE invitations SET revoked_at = $1
    WHERE campaign_id = $2 AND revoked_at IS NULL
      AND employee_id IN (SELECT id FROM employees WHERE number = $3)";

pub(super) const PLEDGE_VIEW: &str =
    "SELECT p.id AS pledge_id, p.log_index, p.statement, c.id AS campaign_id,
        c.title AS campaign_title, i.id AS instansi_id, i.name AS instansi_name, i.tz,
        t.number AS template_no, t.code AS template_code, t.version AS template_version,
        t.title AS template_title, e.kind, p.number, p.name, u.name AS unit_name, p.signed_at,
        p.annulled_at, p.annul_category, p.annul_text, p.annul_log_index
    FROM pledges p
    JOIN campaigns c ON c.id = p.campaign_id
    JOIN instansi i ON i.id = c.instansi_id
    JOIN templates t ON t.number = c.template_no
    JOIN employees e ON e.id = p.employee_id
    JOIN units u ON u.id = p.unit_id";

const RECEIPT: &str = "SELECT p.id AS pledge_id, p.campaign_id, p.employee_id, p.log_index,
        l.record, p.statement, p.mark, p.signed_at
    FROM pledges p JOIN log_entries l ON l.idx = p.log_index";

const TARGETS: &str = "WITH RECURSIVE targeted(id) AS (
        SELECT unit_id FROM campaign_units WHERE campaign_id = $1
        UNION SELECT u.id FROM units u JOIN targeted t ON u.parent_id = t.id)
    SELECT e.id AS employee_id, e.number, e.name, u.name AS unit, e.unit_id
    FROM employees e
    JOIN units u ON u.id = e.unit_id
    JOIN campaigns c ON c.id = $1
    WHERE e.instansi_id = c.instansi_id AND e.active
      AND (NOT EXISTS (SELECT 1 FROM campaign_units WHERE campaign_id = $1)
           OR e.unit_id IN (SELECT id FROM targeted))
      AND (CAST($2 AS TEXT) IS NULL OR e.number = $2)
      AND CASE WHEN $3 THEN NOT EXISTS (SELECT 1 FROM pledges p
                   WHERE p.campaign_id = $1 AND p.employee_id = e.id AND p.annulled_at IS NULL)
               ELSE NOT EXISTS (SELECT 1 FROM invitations i
                   WHERE i.campaign_id = $1 AND i.employee_id = e.id AND i.revoked_at IS NULL)
          END
    ORDER BY u.name, e.name, e.number";

const SIGN_CONTEXT: &str = "SELECT v.id AS invitation_id, v.revoked_at, v.replaced, c.id AS campaign_id,
        c.instansi_id,
        c.title AS campaign_title, c.place AS campaign_place, c.opens_at, c.closes_at, c.closed_at,
        c.mark_enabled, i.name AS instansi_name, i.code AS instansi_code, i.tz, t.number AS template_no,
        t.code AS template_code, t.version AS template_version, t.sha256 AS template_sha256,
        t.body AS template_body, e.id AS employee_id, e.kind, e.number, e.name, e.position,
        u.id AS unit_id, u.name AS unit_name,
        (SELECT p.id FROM pledges p WHERE p.invitation_id = v.id) AS pledge_id
    FROM invitations v
    JOIN campaigns c ON c.id = v.campaign_id
    JOIN instansi i ON i.id = c.instansi_id
    JOIN templates t ON t.number = c.template_no
    JOIN employees e ON e.id = v.employee_id
    JOIN units u ON u.id = e.unit_id
";

// sqlx has no bound for "this engine stores these Rust types", so each generic impl names
// the column types its queries bind and read.
#[async_trait]
impl<DB: Engine> Store for SqlStore<DB>
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
    fn engine(&self) -> &'static str {
        DB::ENGINE
    }

    async fn migrate(&self) -> Result<()> {
        DB::migrator().run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn init_setting(&self, key: &str, value: &str) -> Result<String> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        self.setting(key)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("setting {key} vanished")))
    }

    async fn publish_key(&self, key: &KeyRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let head = sqlx::query_as::<_, HeadRow>(DB::LOCK_HEAD)
            .fetch_one(&mut *tx)
            .await?;
        let since = key.not_before.max(head.last_time);
        let inserted = sqlx::query(
            "INSERT INTO signing_keys (key_id, purpose, name, public_key, not_before, not_after)
             VALUES ($1, $2, $3, $4, $5, NULL) ON CONFLICT (key_id) DO NOTHING",
        )
        .bind(&key.key_id)
        .bind(key.purpose.as_str())
        .bind(&key.name)
        .bind(&key.public_key)
        .bind(since)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            sqlx::query(
                "UPDATE signing_keys SET not_after = $1
                 WHERE purpose = $2 AND key_id <> $3 AND not_after IS NULL",
            )
            .bind(since)
            .bind(key.purpose.as_str())
            .bind(&key.key_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn keys(&self) -> Result<Vec<KeyRow>> {
        Ok(sqlx::query_as(
            "SELECT key_id, purpose, name, public_key, not_before, not_after
             FROM signing_keys ORDER BY purpose, not_before",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn add_instansi(&self, new: &NewInstansi, now: i64) -> Result<i64> {
        sqlx::query_scalar(
            "INSERT INTO instansi (code, name, place, tz, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&new.code)
        .bind(&new.name)
        .bind(&new.place)
        .bind(new.tz.name())
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| StoreError::from_write(e, "instansi code exists"))
    }

    async fn instansi_by_code(&self, code: &str) -> Result<Option<Instansi>> {
        Ok(
            sqlx::query_as("SELECT id, code, name, place, tz FROM instansi WHERE code = $1")
                .bind(code)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn instansi_by_id(&self, id: i64) -> Result<Option<Instansi>> {
        Ok(
            sqlx::query_as("SELECT id, code, name, place, tz FROM instansi WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn instansi_all(&self) -> Result<Vec<Instansi>> {
        Ok(
            sqlx::query_as("SELECT id, code, name, place, tz FROM instansi ORDER BY id")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn units(&self, instansi_id: i64) -> Result<Vec<UnitRow>> {
        Ok(sqlx::query_as(
            "SELECT id, key, name, parent_id FROM units WHERE instansi_id = $1 ORDER BY name",
        )
        .bind(instansi_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn add_template(&self, t: &TemplateRow, now: i64) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        if let Some(lock) = DB::LOCK_TEMPLATES {
            sqlx::query(lock).execute(&mut *tx).await?;
        }
        let existing: Option<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT number, sha256 FROM templates WHERE code = $1 AND version = $2")
                .bind(&t.code)
                .bind(t.version)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((number, sha256)) = existing {
            return if sha256 == t.sha256 {
                Ok(number)
            } else {
                Err(StoreError::Conflict(format!(
                    "template {}@{} exists with other text",
                    t.code, t.version
                )))
            };
        }
        let number: i64 = sqlx::query_scalar(
            "INSERT INTO templates (number, code, version, title, body, sha256, created_at)
             SELECT COALESCE(MAX(number), 0) + 1, $1, $2, $3, $4, $5, $6 FROM templates
             RETURNING number",
        )
        .bind(&t.code)
        .bind(t.version)
        .bind(&t.title)
        .bind(&t.body)
        .bind(&t.sha256)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(number)
    }

    async fn templates(&self) -> Result<Vec<TemplateRow>> {
        Ok(sqlx::query_as(
            "SELECT number, code, version, title, body, sha256 FROM templates ORDER BY number",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn begin_roster_import(
        &self,
        instansi_id: i64,
        now: i64,
    ) -> Result<Box<dyn RosterImport>> {
        let mut tx = self.begin_write().await?;
        let import_id: i64 = sqlx::query_scalar(
            "INSERT INTO roster_imports (instansi_id, started_at) VALUES ($1, $2) RETURNING id",
        )
        .bind(instansi_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let units: HashMap<String, i64> =
            sqlx::query_as("SELECT key, id FROM units WHERE instansi_id = $1")
                .bind(instansi_id)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        let before = count_staff(&mut tx, instansi_id).await?;
        Ok(Box::new(SqlRosterImport {
            tx,
            instansi_id,
            import_id,
            now,
            units,
            units_done: HashSet::new(),
            before,
            rows: 0,
            summary: ImportSummary::default(),
        }))
    }

    async fn create_campaign(&self, new: &NewCampaign, now: i64) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO campaigns (instansi_id, template_no, title, place, opens_at, closes_at,
                 closed_at, mark_enabled, screen_enabled, public_enabled, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9, $10) RETURNING id",
        )
        .bind(new.instansi_id)
        .bind(new.template_no)
        .bind(&new.title)
        .bind(&new.place)
        .bind(new.opens_at)
        .bind(new.closes_at)
        .bind(new.mark_enabled)
        .bind(new.screen_enabled)
        .bind(new.public_enabled)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for unit_id in &new.unit_ids {
            sqlx::query("INSERT INTO campaign_units (campaign_id, unit_id) VALUES ($1, $2)")
                .bind(id)
                .bind(unit_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn campaign(&self, id: i64) -> Result<Option<CampaignRow>> {
        Ok(sqlx::query_as(
            "SELECT id, instansi_id, template_no, title, place, opens_at, closes_at, closed_at,
                    mark_enabled, screen_enabled, public_enabled
             FROM campaigns WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn public_campaigns(&self) -> Result<Vec<CampaignRow>> {
        Ok(sqlx::query_as(
            "SELECT id, instansi_id, template_no, title, place, opens_at, closes_at, closed_at,
                    mark_enabled, screen_enabled, public_enabled
             FROM campaigns WHERE public_enabled ORDER BY id DESC LIMIT 200",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn close_campaign(&self, id: i64, now: i64) -> Result<bool> {
        let n =
            sqlx::query("UPDATE campaigns SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(n == 1)
    }

    async fn issue_invitations(
        &self,
        campaign_id: i64,
        reissue: bool,
        number: Option<&str>,
        now: i64,
        mint: &(dyn Fn() -> NewToken + Send + Sync),
    ) -> Result<Vec<(InvitationTarget, String)>> {
        let mut tx = self.begin_write().await?;
        let targets: Vec<InvitationTarget> = sqlx::query_as(TARGETS)
            .bind(campaign_id)
            .bind(number)
            .bind(reissue)
            .fetch_all(&mut *tx)
            .await?;
        let issued: Vec<(InvitationTarget, NewToken)> =
            targets.into_iter().map(|t| (t, mint())).collect();
        for chunk in issued.chunks(DB::CHUNK) {
            if reissue {
                let mut qb = QueryBuilder::<DB>::new("UPDATE invitations SET revoked_at = ");
                qb.push_bind(now);
                qb.push(" WHERE revoked_at IS NULL AND campaign_id = ");
                qb.push_bind(campaign_id);
                qb.push(" AND employee_id IN (");
                let mut sep = qb.separated(", ");
                for (t, _) in chunk {
                    sep.push_bind(t.employee_id);
                }
                qb.push(")");
                qb.build().execute(&mut *tx).await?;
            }
            let mut qb = QueryBuilder::<DB>::new(
                "INSERT INTO invitations (campaign_id, employee_id, token_hash, created_at) ",
            );
            qb.push_values(chunk, |mut b, (t, token)| {
                b.push_bind(campaign_id)
                    .push_bind(t.employee_id)
                    .push_bind(token.hash.to_vec())
                    .push_bind(now);
            });
            qb.build()
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_write(e, "an invitation run raced this one"))?;
        }
        tx.commit().await?;
        Ok(issued.into_iter().map(|(t, k)| (t, k.token)).collect())
    }

    async fn sign_context(&self, token_hash: &[u8; 32]) -> Result<Option<SignContext>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SIGN_CONTEXT} WHERE v.token_hash = $1"
        )))
        .bind(token_hash.to_vec())
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn sign_context_by_invitation(&self, invitation_id: i64) -> Result<Option<SignContext>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SIGN_CONTEXT} WHERE v.id = $1"
        )))
        .bind(invitation_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn receipt_for_invitation(&self, invitation_id: i64) -> Result<Option<PledgeReceipt>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{RECEIPT} WHERE p.invitation_id = $1"
        )))
        .bind(invitation_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn begin_append(&self) -> Result<Box<dyn AppendTx>> {
        let tx = self.begin_write().await?;
        Ok(Box::new(SqlAppend::<DB> { tx }))
    }

    async fn probe_write(&self) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE log_state SET last_time = last_time WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn log_head(&self) -> Result<LogHead> {
        sqlx::query_as::<_, HeadRow>(log_state!())
            .fetch_one(&self.pool)
            .await?
            .into_head()
    }

    async fn log_nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>> {
        let mut rows = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(DB::CHUNK) {
            let mut qb = QueryBuilder::<DB>::new("SELECT level, idx, hash FROM log_nodes WHERE ");
            for (i, id) in chunk.iter().enumerate() {
                if i > 0 {
                    qb.push(" OR ");
                }
                qb.push("(level = ");
                qb.push_bind(i64::from(id.level));
                qb.push(" AND idx = ");
                qb.push_bind(id.index as i64);
                qb.push(")");
            }
            rows.extend(
                qb.build_query_as::<(i64, i64, Vec<u8>)>()
                    .fetch_all(&self.pool)
                    .await?,
            );
        }
        nodes_map(rows)
    }

    async fn log_entry(&self, index: u64) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT record FROM log_entries WHERE idx = $1")
                .bind(index as i64)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn log_level_range(&self, level: u8, start: u64, end: u64) -> Result<Vec<Hash>> {
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT hash FROM log_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
        )
        .bind(i64::from(level))
        .bind(start as i64)
        .bind(end as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|h| to_hash(h)).collect()
    }

    async fn log_entries_range(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        Ok(sqlx::query_scalar(
            "SELECT record FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(start as i64)
        .bind(end as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn checkpoints(&self) -> Result<Vec<(i64, String)>> {
        Ok(
            sqlx::query_as("SELECT size, note FROM checkpoints ORDER BY size")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn witness_size(&self, vkey: &str) -> Result<Option<u64>> {
        let size: Option<i64> =
            sqlx::query_scalar("SELECT size FROM witness_progress WHERE vkey = $1")
                .bind(vkey)
                .fetch_optional(&self.pool)
                .await?;
        Ok(size.map(|s| s as u64))
    }

    async fn set_witness_size(&self, vkey: &str, size: u64, now: i64) -> Result<()> {
        sqlx::query(UPSERT_WITNESS_SIZE)
            .bind(vkey)
            .bind(size as i64)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn add_cosignature(
        &self,
        vkey: &str,
        size: u64,
        line: &str,
        cosigned_at: i64,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO cosignatures (size, vkey, line, cosigned_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (size, vkey) DO NOTHING",
        )
        .bind(size as i64)
        .bind(vkey)
        .bind(line)
        .bind(cosigned_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(UPSERT_WITNESS_SIZE)
            .bind(vkey)
            .bind(size as i64)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn cosigned_checkpoints(&self, limit: u32) -> Result<Vec<CosignedCheckpoint>> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT c.size, c.note, s.vkey, s.line
             FROM checkpoints c JOIN cosignatures s ON s.size = c.size
             WHERE c.size IN (SELECT DISTINCT size FROM cosignatures ORDER BY size DESC LIMIT $1)
             ORDER BY c.size DESC, s.vkey",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<CosignedCheckpoint> = Vec::new();
        for (size, note, vkey, line) in rows {
            match out.last_mut() {
                Some(last) if last.size == size as u64 => last.lines.push((vkey, line)),
                _ => out.push(CosignedCheckpoint {
                    size: size as u64,
                    note,
                    lines: vec![(vkey, line)],
                }),
            }
        }
        Ok(out)
    }

    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool> {
        let taken = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE leases.holder = excluded.holder OR leases.expires_at < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(expires_at)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(taken == 1)
    }

    async fn pledge_by_log_index(&self, index: u64) -> Result<Option<PledgeView>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{PLEDGE_VIEW} WHERE p.log_index = $1"
        )))
        .bind(index as i64)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn logged_pledge(&self, index: u64, annulment: bool) -> Result<Option<LoggedPledge>> {
        let by = if annulment {
            "p.annul_log_index"
        } else {
            "p.log_index"
        };
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{} JOIN log_entries l ON l.idx = {by} WHERE {by} = $1",
            PLEDGE_VIEW.replacen("SELECT ", "SELECT l.record, ", 1)
        )))
        .bind(index as i64)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn pledge_by_annulment_index(&self, index: u64) -> Result<Option<PledgeView>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{PLEDGE_VIEW} WHERE p.annul_log_index = $1"
        )))
        .bind(index as i64)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn lookup(&self, nip: &str) -> Result<Vec<PledgeView>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{PLEDGE_VIEW} WHERE p.number = $1 AND e.kind <> 'NON_ASN' ORDER BY p.signed_at DESC LIMIT 100"
        )))
        .bind(nip)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn record_report(
        &self,
        invitation_id: i64,
        max: i64,
        event: &AuditEvent<'_>,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let counted = sqlx::query(
            "UPDATE invitations SET reports = reports + 1 WHERE id = $1 AND reports < $2",
        )
        .bind(invitation_id)
        .bind(max)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if counted == 0 {
            return Ok(false);
        }
        sqlx::query(INSERT_AUDIT)
            .bind(event.instansi_id)
            .bind(event.actor)
            .bind(event.action)
            .bind(event.summary)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn audit(
        &self,
        instansi_id: Option<i64>,
        actor: &str,
        action: &str,
        summary: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(INSERT_AUDIT)
            .bind(instansi_id)
            .bind(actor)
            .bind(action)
            .bind(summary)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
    async fn audit_events(
        &self,
        instansi_id: Option<i64>,
        before: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>> {
        Ok(sqlx::query_as(AUDIT)
            .bind(instansi_id)
            .bind(before)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn add_user(
        &self,
        instansi_id: Option<i64>,
        username: &str,
        role: Role,
        password_hash: &str,
        now: i64,
    ) -> Result<i64> {
        sqlx::query_scalar(
            "INSERT INTO users (instansi_id, username, role, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(instansi_id)
        .bind(username)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| StoreError::from_write(e, "username exists"))
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as(USER_BY_USERNAME)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn add_api_token(&self, user_id: i64, token_hash: &[u8; 32], now: i64) -> Result<()> {
        sqlx::query("INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES ($1, $2, $3)")
            .bind(user_id)
            .bind(token_hash.to_vec())
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn user_by_api_token(&self, token_hash: &[u8; 32]) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as(USER_BY_TOKEN)
            .bind(token_hash.to_vec())
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn create_session(
        &self,
        id_hash: &[u8; 32],
        user_id: i64,
        csrf: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id_hash.to_vec())
        .bind(user_id)
        .bind(csrf)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &[u8; 32], now: i64) -> Result<Option<SessionRow>> {
        Ok(sqlx::query_as(SESSION)
            .bind(id_hash.to_vec())
            .bind(now)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn delete_session(&self, id_hash: &[u8; 32]) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash.to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn campaigns(&self, instansi_id: i64) -> Result<Vec<CampaignRow>> {
        Ok(sqlx::query_as(CAMPAIGNS)
            .bind(instansi_id)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn revoke_invitation(&self, campaign_id: i64, number: &str, now: i64) -> Result<u64> {
        Ok(sqlx::query(REVOKE)
            .bind(now)
            .bind(campaign_id)
            .bind(number)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn employees(
        &self,
        instansi_id: i64,
        pattern: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<EmployeeRow>> {
        Ok(sqlx::query_as(EMPLOYEES)
            .bind(instansi_id)
            .bind(pattern)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn pledge_by_id(&self, id: i64) -> Result<Option<PledgeView>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{PLEDGE_VIEW} WHERE p.id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }
    async fn pledge_record(&self, id: i64) -> Result<Option<(i64, Vec<u8>)>> {
        Ok(sqlx::query_as(
            "SELECT p.invitation_id, l.record FROM pledges p JOIN log_entries l ON l.idx = p.log_index
             WHERE p.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn compliance_counts(&self, campaign_id: i64) -> Result<Vec<UnitCount>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(compliance()))
            .bind(campaign_id)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn unsigned(
        &self,
        campaign_id: i64,
        unit: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<UnsignedEntry>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(unsigned()))
            .bind(campaign_id)
            .bind(unit)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn signatures_per_hour(&self, campaign_id: i64) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(SIGNATURES_PER_HOUR)
            .bind(campaign_id)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn link_oidc_subject(&self, username: &str, subject: &str) -> Result<bool> {
        Ok(
            sqlx::query("UPDATE users SET oidc_subject = $1 WHERE username = $2")
                .bind(subject)
                .bind(username)
                .execute(&self.pool)
                .await
                .map_err(|e| StoreError::from_write(e, "OIDC subject linked to another account"))?
                .rows_affected()
                > 0,
        )
    }

    async fn user_by_oidc_subject(&self, subject: &str) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as(
            "SELECT id, instansi_id, username, role, password_hash FROM users
             WHERE oidc_subject = $1",
        )
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn create_signer_session(&self, new: &NewSignerSession<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO signer_sessions (id_hash, number, subject, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new.id_hash.to_vec())
        .bind(new.nip)
        .bind(new.subject)
        .bind(new.csrf)
        .bind(new.now)
        .bind(new.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn start_reminder_round(
        &self,
        campaign_id: i64,
        channel: &str,
        key: &str,
        actor: &str,
        now: i64,
    ) -> Result<RoundStart> {
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO reminder_rounds (campaign_id, channel, round_key, actor, started_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (campaign_id, round_key) DO NOTHING
             RETURNING id",
        )
        .bind(campaign_id)
        .bind(channel)
        .bind(key)
        .bind(actor)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(id) = inserted {
            return Ok(RoundStart::New(id));
        }
        let row: ReminderRoundRow = sqlx::query_as(
            "SELECT id, channel, started_at, finished_at, sent, failed, skipped
             FROM reminder_rounds WHERE campaign_id = $1 AND round_key = $2",
        )
        .bind(campaign_id)
        .bind(key)
        .fetch_one(&self.pool)
        .await?;
        Ok(RoundStart::Repeated(row))
    }

    async fn finish_reminder_round(&self, round: i64, counts: RoundCounts, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE reminder_rounds SET finished_at = $1, sent = $2, failed = $3, skipped = $4
             WHERE id = $5",
        )
        .bind(now)
        .bind(counts.sent)
        .bind(counts.failed)
        .bind(counts.skipped)
        .bind(round)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn signer_session(
        &self,
        id_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<SignerSessionRow>> {
        Ok(sqlx::query_as(
            "SELECT number, subject, csrf FROM signer_sessions
             WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash.to_vec())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn delete_signer_session(&self, id_hash: &[u8; 32]) -> Result<()> {
        sqlx::query("DELETE FROM signer_sessions WHERE id_hash = $1")
            .bind(id_hash.to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn invitations_by_nip(&self, nip: &str) -> Result<Vec<SignContext>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SIGN_CONTEXT} WHERE e.number = $1 AND e.kind <> 'NON_ASN' AND e.active
                 AND v.revoked_at IS NULL
             ORDER BY c.closes_at, c.id"
        )))
        .bind(nip)
        .fetch_all(&self.pool)
        .await?)
    }
    async fn campaign_unit_ids(&self, campaign_id: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT unit_id FROM campaign_units WHERE campaign_id = $1 ORDER BY unit_id",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn staff_per_unit(&self, instansi_id: i64) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT unit_id, COUNT(*) AS staff FROM employees
             WHERE instansi_id = $1 AND active GROUP BY unit_id",
        )
        .bind(instansi_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn update_campaign(&self, id: i64, edit: &CampaignEdit) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE campaigns SET title = $1, place = $2, closes_at = $3, screen_enabled = $4,
                 public_enabled = $5
             WHERE id = $6 AND closed_at IS NULL",
        )
        .bind(&edit.title)
        .bind(&edit.place)
        .bind(edit.closes_at)
        .bind(edit.screen_enabled)
        .bind(edit.public_enabled)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM campaign_units WHERE campaign_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for unit_id in &edit.unit_ids {
            sqlx::query("INSERT INTO campaign_units (campaign_id, unit_id) VALUES ($1, $2)")
                .bind(id)
                .bind(unit_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn audit_events_like(
        &self,
        instansi_id: i64,
        pattern: Option<&str>,
        before: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>> {
        Ok(sqlx::query_as(
            "SELECT id, instansi_id, actor, action, summary, at FROM audit_events
             WHERE instansi_id = $1 AND (CAST($2 AS TEXT) IS NULL OR action LIKE $2) AND id < $3
             ORDER BY id DESC LIMIT $4",
        )
        .bind(instansi_id)
        .bind(pattern)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn roster_page(
        &self,
        instansi_id: i64,
        pattern: &str,
        unit: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<EmployeeRow>, i64)> {
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "{ROSTER_MATCH} SELECT COUNT(*) FROM employees e WHERE {ROSTER_WHERE}"
        )))
        .bind(instansi_id)
        .bind(pattern)
        .bind(unit)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{ROSTER_MATCH} SELECT e.id, e.kind, e.number, e.name, e.position, e.unit_id,
                 u.name AS unit, e.active
             FROM employees e JOIN units u ON u.id = e.unit_id
             WHERE {ROSTER_WHERE}
             ORDER BY e.active DESC, e.name, e.number LIMIT $4 OFFSET $5"
        )))
        .bind(instansi_id)
        .bind(pattern)
        .bind(unit)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok((rows, total))
    }

    async fn replace_links(
        &self,
        campaign_id: i64,
        unit: Option<i64>,
        number: Option<&str>,
        now: i64,
        eligible: &(dyn for<'t> Fn(&'t ReminderTarget) -> bool + Send + Sync),
        mint: &(dyn Fn() -> NewToken + Send + Sync),
    ) -> Result<Vec<(ReminderTarget, Option<String>)>> {
        let mut tx = self.begin_write().await?;
        // Read inside the write transaction: someone who signs meanwhile is not reminded,
        // and the link that made their pledge is never replaced.
        let targets: Vec<ReminderTarget> = sqlx::query_as(sqlx::AssertSqlSafe(reminder_targets()))
            .bind(campaign_id)
            .bind(unit)
            .bind(number)
            .fetch_all(&mut *tx)
            .await?;
        let out: Vec<(ReminderTarget, Option<NewToken>)> = targets
            .into_iter()
            .map(|t| {
                let token = eligible(&t).then(mint);
                (t, token)
            })
            .collect();
        let fresh: Vec<(&ReminderTarget, &NewToken)> = out
            .iter()
            .filter_map(|(t, k)| k.as_ref().map(|k| (t, k)))
            .collect();
        for chunk in fresh.chunks(DB::CHUNK) {
            let old: Vec<i64> = chunk.iter().filter_map(|(t, _)| t.invitation_id).collect();
            if !old.is_empty() {
                let mut qb = QueryBuilder::<DB>::new(
                    "UPDATE invitations SET replaced = TRUE, revoked_at = ",
                );
                qb.push_bind(now);
                qb.push(" WHERE revoked_at IS NULL AND id IN (");
                let mut sep = qb.separated(", ");
                for id in old {
                    sep.push_bind(id);
                }
                qb.push(")");
                qb.build().execute(&mut *tx).await?;
            }
            let mut qb = QueryBuilder::<DB>::new(
                "INSERT INTO invitations (campaign_id, employee_id, token_hash, created_at) ",
            );
            qb.push_values(chunk, |mut b, (t, token)| {
                b.push_bind(campaign_id)
                    .push_bind(t.employee_id)
                    .push_bind(token.hash.to_vec())
                    .push_bind(now);
            });
            qb.build()
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_write(e, "another link run raced this round"))?;
        }
        tx.commit().await?;
        Ok(out
            .into_iter()
            .map(|(t, k)| (t, k.map(|k| k.token)))
            .collect())
    }

    async fn restore_links(
        &self,
        campaign_id: i64,
        targets: &[ReminderTarget],
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for chunk in targets.chunks(DB::CHUNK) {
            let mut qb = QueryBuilder::<DB>::new("UPDATE invitations SET revoked_at = ");
            qb.push_bind(now);
            qb.push(" WHERE revoked_at IS NULL AND campaign_id = ");
            qb.push_bind(campaign_id);
            qb.push(" AND employee_id IN (");
            let mut sep = qb.separated(", ");
            for t in chunk {
                sep.push_bind(t.employee_id);
            }
            qb.push(")");
            qb.build().execute(&mut *tx).await?;
            let old: Vec<i64> = chunk.iter().filter_map(|t| t.invitation_id).collect();
            if !old.is_empty() {
                let mut qb = QueryBuilder::<DB>::new(
                    "UPDATE invitations SET revoked_at = NULL, replaced = FALSE WHERE replaced AND id IN (",
                );
                let mut sep = qb.separated(", ");
                for id in old {
                    sep.push_bind(id);
                }
                qb.push(")");
                qb.build().execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The unit $3 and its subtree, for [`ROSTER_WHERE`].
const ROSTER_MATCH: &str = "WITH RECURSIVE under(id) AS (
        SELECT id FROM units WHERE id = $3
        UNION SELECT u.id FROM units u JOIN under ON u.parent_id = under.id)";
/// Staff of instansi $1 whose number or name matches the lowercase LIKE $2, in unit $3's
/// subtree when $3 is given.
const ROSTER_WHERE: &str = "e.instansi_id = $1
    AND (LOWER(e.number) LIKE $2 OR LOWER(e.name) LIKE $2)
    AND (CAST($3 AS BIGINT) IS NULL OR e.unit_id IN (SELECT id FROM under))";

impl<DB: Engine> SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
{
    async fn ensure_unit(
        tx: &mut Transaction<'static, DB>,
        units: &mut HashMap<String, i64>,
        summary: &mut ImportSummary,
        instansi_id: i64,
        unit: &crate::domain::roster::UnitRef,
        parent_id: Option<i64>,
    ) -> Result<i64> {
        if let Some(id) = units.get(&unit.key) {
            sqlx::query(
                "UPDATE units SET name = $1, parent_id = COALESCE($2, parent_id) WHERE id = $3",
            )
            .bind(&unit.name)
            .bind(parent_id)
            .bind(id)
            .execute(&mut **tx)
            .await?;
            return Ok(*id);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO units (instansi_id, key, name, parent_id) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(instansi_id)
        .bind(&unit.key)
        .bind(&unit.name)
        .bind(parent_id)
        .fetch_one(&mut **tx)
        .await?;
        units.insert(unit.key.clone(), id);
        summary.units_created += 1;
        Ok(id)
    }
}

/// Staff rows of an instansi, active or not.
async fn count_staff<DB: Engine>(tx: &mut Transaction<'static, DB>, instansi_id: i64) -> Result<i64>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM employees WHERE instansi_id = $1")
            .bind(instansi_id)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// [`RosterImport`] on one write transaction. Every staff row it writes carries its
/// `import_id`, so "missing from the file" is one `UPDATE`, and created versus updated
/// follows from the instansi's staff count before and after (ids never repeat in a file).
struct SqlRosterImport<DB: Database> {
    tx: Transaction<'static, DB>,
    instansi_id: i64,
    import_id: i64,
    now: i64,
    /// The instansi's units by key: grows with the units, not with the staff.
    units: HashMap<String, i64>,
    /// Units already written by this import, each once however many staff it has.
    units_done: HashSet<String>,
    before: i64,
    rows: u64,
    summary: ImportSummary,
}

#[async_trait]
impl<DB: Engine> RosterImport for SqlRosterImport<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    usize: ColumnIndex<DB::Row>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
{
    async fn add(&mut self, rows: &[RosterRow]) -> Result<()> {
        for row in rows {
            if self.units_done.contains(row.unit.key.as_str()) {
                continue;
            }
            self.units_done.insert(row.unit.key.clone());
            let parent = match &row.parent_unit {
                Some(p) if p.key != row.unit.key => Some(
                    SqlStore::<DB>::ensure_unit(
                        &mut self.tx,
                        &mut self.units,
                        &mut self.summary,
                        self.instansi_id,
                        p,
                        None,
                    )
                    .await?,
                ),
                _ => None,
            };
            SqlStore::<DB>::ensure_unit(
                &mut self.tx,
                &mut self.units,
                &mut self.summary,
                self.instansi_id,
                &row.unit,
                parent,
            )
            .await?;
        }
        for chunk in rows.chunks(DB::CHUNK) {
            let mut qb = QueryBuilder::<DB>::new(
                "INSERT INTO employees (instansi_id, unit_id, kind, number, name, position, active, updated_at, import_id, email, telepon) ",
            );
            let (instansi_id, import_id, now, units) =
                (self.instansi_id, self.import_id, self.now, &self.units);
            qb.push_values(chunk, |mut b, row| {
                b.push_bind(instansi_id)
                    .push_bind(units[&row.unit.key])
                    .push_bind(row.kind.as_str())
                    .push_bind(row.id.as_str().to_string())
                    .push_bind(row.name.clone())
                    .push_bind(row.position.clone())
                    .push_bind(true)
                    .push_bind(now)
                    .push_bind(import_id)
                    .push_bind(row.contact.email.clone().flatten())
                    .push_bind(row.contact.telepon.clone().flatten());
            });
            qb.push(
                " ON CONFLICT (instansi_id, number) DO UPDATE SET unit_id = excluded.unit_id,
                  kind = excluded.kind, name = excluded.name, position = excluded.position,
                  active = TRUE, updated_at = excluded.updated_at, import_id = excluded.import_id",
            );
            // Every row of a file has the same columns: a file without a contact column
            // keeps the stored contact data.
            if chunk[0].contact.email.is_some() {
                qb.push(", email = excluded.email");
            }
            if chunk[0].contact.telepon.is_some() {
                qb.push(", telepon = excluded.telepon");
            }
            qb.build().execute(&mut *self.tx).await?;
        }
        self.rows += rows.len() as u64;
        Ok(())
    }

    async fn finish(mut self: Box<Self>, deactivate_missing: bool) -> Result<ImportSummary> {
        let after = count_staff(&mut self.tx, self.instansi_id).await?;
        let created = u64::try_from(after - self.before).unwrap_or(0);
        self.summary.created = created;
        self.summary.updated = self.rows.saturating_sub(created);
        if deactivate_missing {
            self.summary.deactivated = sqlx::query(
                "UPDATE employees SET active = FALSE, updated_at = $1
                 WHERE instansi_id = $2 AND active AND (import_id IS NULL OR import_id <> $3)",
            )
            .bind(self.now)
            .bind(self.instansi_id)
            .bind(self.import_id)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        }
        let SqlRosterImport { tx, summary, .. } = *self;
        tx.commit().await?;
        Ok(summary)
    }
}

#[derive(sqlx::FromRow)]
struct HeadRow {
    size: i64,
    root: Vec<u8>,
    frontier: Vec<u8>,
    last_time: i64,
    checkpoint: String,
}

impl HeadRow {
    fn into_head(self) -> Result<LogHead> {
        Ok(LogHead {
            size: self.size as u64,
            root: to_hash(&self.root)?,
            frontier: self.frontier,
            last_time: self.last_time,
            checkpoint: self.checkpoint,
        })
    }
}

struct SqlAppend<DB: Database> {
    tx: Transaction<'static, DB>,
}

#[async_trait]
impl<DB: Engine> AppendTx for SqlAppend<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    usize: ColumnIndex<DB::Row>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB>,
{
    async fn lock_head(&mut self) -> Result<LogHead> {
        sqlx::query_as::<_, HeadRow>(DB::LOCK_HEAD)
            .fetch_one(&mut *self.tx)
            .await?
            .into_head()
    }

    async fn current_keys(&mut self, pledge: &[u8], log: &[u8]) -> Result<Vec<KeyPurpose>> {
        let purposes: Vec<String> = sqlx::query_scalar(
            "SELECT purpose FROM signing_keys WHERE not_after IS NULL
               AND ((key_id = $1 AND purpose = 'pledge') OR (key_id = $2 AND purpose = 'log'))",
        )
        .bind(pledge.to_vec())
        .bind(log.to_vec())
        .fetch_all(&mut *self.tx)
        .await?;
        purposes
            .into_iter()
            .map(|p| KeyPurpose::try_from(p).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    async fn existing_pledges(&mut self, keys: &[(i64, i64)]) -> Result<Vec<PledgeReceipt>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(DB::CHUNK) {
            let mut qb = QueryBuilder::<DB>::new(RECEIPT);
            qb.push(" WHERE p.annulled_at IS NULL AND p.employee_id IN (");
            let mut sep = qb.separated(", ");
            for (_, employee) in chunk {
                sep.push_bind(*employee);
            }
            qb.push(")");
            out.extend(
                qb.build_query_as::<PledgeReceipt>()
                    .fetch_all(&mut *self.tx)
                    .await?
                    .into_iter()
                    .filter(|p| chunk.contains(&(p.campaign_id, p.employee_id))),
            );
        }
        Ok(out)
    }

    async fn write(&mut self, append: &Append) -> Result<Vec<(i64, i64)>> {
        let tx = &mut self.tx;
        for chunk in append.entries.chunks(DB::CHUNK) {
            let mut qb = QueryBuilder::<DB>::new("INSERT INTO log_entries (idx, record) ");
            qb.push_values(chunk, |mut b, (idx, record)| {
                b.push_bind(*idx as i64).push_bind(record.clone());
            });
            qb.build().execute(&mut **tx).await?;
        }
        for chunk in append.nodes.chunks(DB::CHUNK) {
            let mut qb = QueryBuilder::<DB>::new("INSERT INTO log_nodes (level, idx, hash) ");
            qb.push_values(chunk, |mut b, (id, hash)| {
                b.push_bind(i64::from(id.level))
                    .push_bind(id.index as i64)
                    .push_bind(hash.to_vec());
            });
            qb.build().execute(&mut **tx).await?;
        }
        let mut ids = Vec::with_capacity(append.pledges.len());
        for chunk in append.pledges.chunks(DB::CHUNK / 2) {
            let mut qb = QueryBuilder::<DB>::new(
                "INSERT INTO pledges (campaign_id, employee_id, invitation_id, log_index, number,
                     name, unit_id, statement, mark, signed_at, client_ip, user_agent,
                     signed_via, sso_subject) ",
            );
            qb.push_values(chunk, |mut b, p| {
                b.push_bind(p.campaign_id)
                    .push_bind(p.employee_id)
                    .push_bind(p.invitation_id)
                    .push_bind(p.log_index as i64)
                    .push_bind(p.number.clone())
                    .push_bind(p.name.clone())
                    .push_bind(p.unit_id)
                    .push_bind(p.statement.clone())
                    .push_bind(p.mark.clone())
                    .push_bind(p.signed_at)
                    .push_bind(p.client_ip.clone())
                    .push_bind(p.user_agent.clone())
                    .push_bind(p.signed_via.as_str().to_string())
                    .push_bind(p.sso_subject.clone());
            });
            qb.push(" RETURNING log_index, id");
            ids.extend(
                qb.build_query_as::<(i64, i64)>()
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(|e| StoreError::from_write(e, "pledge exists"))?,
            );
        }
        let head = &append.head;
        for a in &append.annulments {
            let changed = sqlx::query(
                "UPDATE pledges SET annulled_at = $1, annul_category = $2, annul_reason = $3,
                     annul_text = $4, annul_log_index = $5
                 WHERE id = $6 AND annulled_at IS NULL",
            )
            .bind(a.at)
            .bind(&a.category)
            .bind(&a.reason)
            .bind(&a.text)
            .bind(a.log_index as i64)
            .bind(a.pledge_id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if changed != 1 {
                return Err(StoreError::Conflict("pledge already annulled".to_string()));
            }
            // The employee can be invited again: the old link stops working.
            sqlx::query(
                "UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            )
            .bind(a.at)
            .bind(a.invitation_id)
            .execute(&mut **tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO checkpoints (size, root, note, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (size) DO NOTHING",
        )
        .bind(head.size as i64)
        .bind(head.root.to_vec())
        .bind(&head.checkpoint)
        .bind(head.last_time)
        .execute(&mut **tx)
        .await?;
        let swapped = sqlx::query(
            "UPDATE log_state SET size = $1, root = $2, frontier = $3, last_time = $4, checkpoint = $5
             WHERE id = 1 AND size = $6 AND root = $7",
        )
        .bind(head.size as i64)
        .bind(head.root.to_vec())
        .bind(&head.frontier)
        .bind(head.last_time)
        .bind(&head.checkpoint)
        .bind(append.old_size as i64)
        .bind(append.old_root.to_vec())
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if swapped != 1 {
            return Err(StoreError::LogMoved);
        }
        Ok(ids)
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}
