//! The storage boundary. One trait, two engines chosen once from the URL scheme:
//! [`sqlite`] (the embedded default) and [`postgres`] (several instances on one database),
//! both running the one set of queries in [`sql`].
//! Stores move rows; the rules live in `domain` and the engines (`record`, `log`, `note`).

pub mod admin;
pub mod postgres;
pub mod sql;
pub mod sqlite;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::account::Role;
use crate::domain::instansi::TimeZone;
use crate::domain::nip::EmployeeKind;
use crate::domain::roster::RosterRow;
use crate::tlog::keys::KeyPurpose;
use crate::tlog::merkle::{Hash, NodeId};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("the log changed underneath this append (compare-and-swap failed)")]
    LogMoved,
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("unsupported database URL '{0}': use sqlite://… or postgres://…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Unique violations become conflicts, so callers never look at engine error codes.
    pub(crate) fn from_write(e: sqlx::Error, what: &str) -> StoreError {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(what.to_string())
            }
            _ => StoreError::Database(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Opens the database named by `url`, creating a SQLite file if missing. Does not migrate.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_string()))
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct KeyRow {
    pub key_id: Vec<u8>,
    #[sqlx(try_from = "String")]
    pub purpose: KeyPurpose,
    pub name: String,
    pub public_key: Vec<u8>,
    pub not_before: i64,
    pub not_after: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct NewInstansi {
    pub code: String,
    pub name: String,
    pub place: String,
    pub tz: TimeZone,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Instansi {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub place: String,
    #[sqlx(try_from = "String")]
    pub tz: TimeZone,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UnitRow {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub parent_id: Option<i64>,
}

/// A template version as stored: `body` is the template as JSON.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TemplateRow {
    pub number: i64,
    pub code: String,
    pub version: i64,
    pub title: String,
    pub body: String,
    pub sha256: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct NewCampaign {
    pub instansi_id: i64,
    pub template_no: i64,
    pub title: String,
    pub place: String,
    pub opens_at: i64,
    pub closes_at: i64,
    pub mark_enabled: bool,
    pub screen_enabled: bool,
    /// Shown on /transparansi.
    pub public_enabled: bool,
    pub unit_ids: Vec<i64>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CampaignRow {
    pub id: i64,
    pub instansi_id: i64,
    pub template_no: i64,
    pub title: String,
    pub place: String,
    pub opens_at: i64,
    pub closes_at: i64,
    pub closed_at: Option<i64>,
    pub mark_enabled: bool,
    pub screen_enabled: bool,
    pub public_enabled: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub created: u64,
    pub updated: u64,
    pub deactivated: u64,
    pub units_created: u64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct InvitationTarget {
    pub employee_id: i64,
    pub number: String,
    pub name: String,
    pub unit: String,
    /// For the unit's label with its parent; 0 when a query does not select it.
    #[sqlx(default)]
    pub unit_id: i64,
}

/// What `/s/{token}` and `POST /api/v1/sign` need to know about an invitation.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SignContext {
    pub invitation_id: i64,
    pub revoked_at: Option<i64>,
    /// Revoked because a reminder carried a fresh link (410 `token_replaced`).
    pub replaced: bool,
    pub campaign_id: i64,
    pub instansi_id: i64,
    pub campaign_title: String,
    pub campaign_place: String,
    pub opens_at: i64,
    pub closes_at: i64,
    pub closed_at: Option<i64>,
    pub mark_enabled: bool,
    pub instansi_name: String,
    /// The instansi's short code: the `ikrar_pledges_total` label.
    pub instansi_code: String,
    #[sqlx(try_from = "String")]
    pub tz: TimeZone,
    pub template_no: i64,
    pub template_code: String,
    pub template_version: i64,
    pub template_sha256: Vec<u8>,
    pub template_body: String,
    pub employee_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: EmployeeKind,
    pub number: String,
    pub name: String,
    pub position: Option<String>,
    pub unit_id: i64,
    pub unit_name: String,
    /// The pledge this invitation already made, if any.
    pub pledge_id: Option<i64>,
}

/// A stored pledge as its signer sees it again.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PledgeReceipt {
    pub pledge_id: i64,
    pub campaign_id: i64,
    pub employee_id: i64,
    pub log_index: i64,
    pub record: Vec<u8>,
    pub statement: String,
    pub mark: Option<String>,
    pub signed_at: i64,
}

/// A pledge with what the public verification page may show (SPEC 6) and more for HR.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PledgeView {
    pub pledge_id: i64,
    pub log_index: i64,
    pub statement: String,
    pub campaign_id: i64,
    pub campaign_title: String,
    pub instansi_id: i64,
    pub instansi_name: String,
    #[sqlx(try_from = "String")]
    pub tz: TimeZone,
    pub template_no: i64,
    pub template_code: String,
    pub template_version: i64,
    pub template_title: String,
    #[sqlx(try_from = "String")]
    pub kind: EmployeeKind,
    pub number: String,
    pub name: String,
    pub unit_name: String,
    pub signed_at: i64,
    pub annulled_at: Option<i64>,
    pub annul_category: Option<String>,
    pub annul_text: Option<String>,
    pub annul_log_index: Option<i64>,
}

/// A log entry's record with its pledge row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LoggedPledge {
    pub record: Vec<u8>,
    #[sqlx(flatten)]
    pub view: PledgeView,
}

/// A stored checkpoint with the verified cosignature lines gathered for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignedCheckpoint {
    pub size: u64,
    /// The log-signed note, without cosignatures.
    pub note: String,
    /// `(witness vkey, signature line without its newline)`.
    pub lines: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogHead {
    pub size: u64,
    pub root: Hash,
    pub frontier: Vec<u8>,
    pub last_time: i64,
    pub checkpoint: String,
}

#[derive(Clone, Debug)]
pub struct NewPledge {
    pub campaign_id: i64,
    pub employee_id: i64,
    pub invitation_id: i64,
    pub log_index: u64,
    pub number: String,
    pub name: String,
    pub unit_id: i64,
    pub statement: String,
    pub mark: Option<String>,
    pub signed_at: i64,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// Evidence of how the signer was authenticated, with the SSO subject for `Sso`.
    pub signed_via: crate::domain::sso::SignedVia,
    pub sso_subject: Option<String>,
}

/// One durable log append: new entries, the perfect nodes they complete, the new head
/// (with its signed checkpoint) and the pledges whose records the entries are.
#[derive(Clone, Debug)]
pub struct Append {
    pub old_size: u64,
    pub old_root: Hash,
    pub entries: Vec<(u64, Vec<u8>)>,
    pub nodes: Vec<(NodeId, Hash)>,
    pub head: LogHead,
    pub pledges: Vec<NewPledge>,
    pub annulments: Vec<NewAnnulment>,
}

/// Marks a pledge annulled by the 0x02 record at `log_index`.
#[derive(Clone, Debug)]
pub struct NewAnnulment {
    pub pledge_id: i64,
    pub invitation_id: i64,
    pub log_index: u64,
    pub category: String,
    pub reason: String,
    pub text: String,
    pub at: i64,
}

/// Direct counts of one unit (not rolled up).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UnitCount {
    pub unit_id: i64,
    pub target: i64,
    pub signed: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UnsignedEntry {
    pub number: String,
    pub name: String,
    pub unit_id: i64,
    pub unit: String,
    pub position: Option<String>,
}

/// A transaction that owns the log-state row until it commits or is dropped (rolled back).
#[async_trait]
pub trait AppendTx: Send {
    /// Takes the log-state row's write lock and reads it.
    async fn lock_head(&mut self) -> Result<LogHead>;
    /// Which of the two keys is the current one (window still open) of its purpose:
    /// `pledge` as a pledge key, `log` as a log key. One indexed query.
    async fn current_keys(&mut self, pledge: &[u8], log: &[u8]) -> Result<Vec<KeyPurpose>>;
    /// Non-annulled pledges of these (campaign, employee) pairs.
    async fn existing_pledges(&mut self, keys: &[(i64, i64)]) -> Result<Vec<PledgeReceipt>>;
    /// Writes the append and compares-and-swaps the head. Returns (log index, pledge id) pairs.
    async fn write(&mut self, append: &Append) -> Result<Vec<(i64, i64)>>;
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// Rows per [`RosterImport::add`] call that the callers aim for.
pub const ROSTER_CHUNK: usize = 500;

/// A roster import in progress: one write transaction that commits in [`finish`] or rolls
/// back when dropped, so a failed import imports nothing. Staff rows are upserted as they
/// come; which staff this import touched is kept in SQL, not in memory.
///
/// [`finish`]: RosterImport::finish
#[async_trait]
pub trait RosterImport: Send {
    /// Upserts validated rows (and their units). Staff ids must not repeat within an import.
    async fn add(&mut self, rows: &[RosterRow]) -> Result<()>;
    /// Optionally deactivates the instansi's staff this import did not name, and commits.
    async fn finish(self: Box<Self>, deactivate_missing: bool) -> Result<ImportSummary>;
}

#[async_trait]
pub trait Store: admin::AdminStore + Send + Sync {
    fn engine(&self) -> &'static str;
    async fn migrate(&self) -> Result<()>;
    async fn ping(&self) -> Result<()>;

    async fn setting(&self, key: &str) -> Result<Option<String>>;
    /// Stores `value` unless the key exists; returns the stored value either way.
    async fn init_setting(&self, key: &str, value: &str) -> Result<String>;

    /// Publishes a key if new, under the log head's lock so that no append interleaves: it
    /// gets `not_before = max(key.not_before, last sequencing time)` and the older key of the
    /// same purpose gets `not_after` = that same time, so every record an older key signed
    /// lies inside its window and every later record inside the new key's.
    async fn publish_key(&self, key: &KeyRow) -> Result<()>;
    async fn keys(&self) -> Result<Vec<KeyRow>>;

    async fn add_instansi(&self, new: &NewInstansi, now: i64) -> Result<i64>;
    async fn instansi_by_code(&self, code: &str) -> Result<Option<Instansi>>;
    async fn instansi_by_id(&self, id: i64) -> Result<Option<Instansi>>;
    /// Every instansi of this deployment, oldest first.
    async fn instansi_all(&self) -> Result<Vec<Instansi>>;
    async fn units(&self, instansi_id: i64) -> Result<Vec<UnitRow>>;

    /// Inserts templates whose (code, version) is missing; returns their numbers in order.
    async fn add_template(&self, t: &TemplateRow, now: i64) -> Result<i64>;
    async fn templates(&self) -> Result<Vec<TemplateRow>>;

    /// Starts an all-or-nothing roster import in one write transaction; rows are then
    /// added in chunks, so that no layer holds a whole file's rows.
    async fn begin_roster_import(
        &self,
        instansi_id: i64,
        now: i64,
    ) -> Result<Box<dyn RosterImport>>;

    /// All-or-nothing upsert of rows already in memory (small rosters: the demo, tests).
    async fn import_roster(
        &self,
        instansi_id: i64,
        rows: &[RosterRow],
        deactivate_missing: bool,
        now: i64,
    ) -> Result<ImportSummary> {
        let mut import = self.begin_roster_import(instansi_id, now).await?;
        for chunk in rows.chunks(ROSTER_CHUNK) {
            import.add(chunk).await?;
        }
        import.finish(deactivate_missing).await
    }

    async fn create_campaign(&self, new: &NewCampaign, now: i64) -> Result<i64>;
    async fn campaign(&self, id: i64) -> Result<Option<CampaignRow>>;
    /// Campaigns of every instansi that HR marked public, newest first.
    async fn public_campaigns(&self) -> Result<Vec<CampaignRow>>;
    async fn close_campaign(&self, id: i64, now: i64) -> Result<bool>;

    /// Issues invitations in one transaction: to target staff without an active one, or
    /// (`reissue`) revoking and reissuing for every unsigned target; `number` limits to one person.
    async fn issue_invitations(
        &self,
        campaign_id: i64,
        reissue: bool,
        number: Option<&str>,
        now: i64,
        mint: &(dyn Fn() -> crate::domain::token::NewToken + Send + Sync),
    ) -> Result<Vec<(InvitationTarget, String)>>;
    async fn sign_context(&self, token_hash: &[u8; 32]) -> Result<Option<SignContext>>;
    async fn sign_context_by_invitation(&self, invitation_id: i64) -> Result<Option<SignContext>>;
    async fn receipt_for_invitation(&self, invitation_id: i64) -> Result<Option<PledgeReceipt>>;

    async fn begin_append(&self) -> Result<Box<dyn AppendTx>>;
    /// A small write transaction that commits (it rewrites the log head unchanged): whether
    /// appends can succeed again after a failure (a full disk, PostgreSQL restarting).
    async fn probe_write(&self) -> Result<()>;
    async fn log_head(&self) -> Result<LogHead>;
    async fn log_nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>>;
    async fn log_entry(&self, index: u64) -> Result<Option<Vec<u8>>>;
    /// The stored node hashes of one tree level with indexes in `[start, end)`, in index
    /// order: one range read of the primary key (a hash tile).
    async fn log_level_range(&self, level: u8, start: u64, end: u64) -> Result<Vec<Hash>>;
    /// The records with log indexes in `[start, end)`, in index order (an entry bundle).
    async fn log_entries_range(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>>;
    async fn checkpoints(&self) -> Result<Vec<(i64, String)>>;

    /// The size witness `vkey` last cosigned (SPEC 3.8); `None` before first contact.
    async fn witness_size(&self, vkey: &str) -> Result<Option<u64>>;
    /// Records the size a witness says it is at (its 409 answer).
    async fn set_witness_size(&self, vkey: &str, size: u64, now: i64) -> Result<()>;
    /// Stores a verified cosignature line of the checkpoint of `size`, and that the
    /// witness is now at `size`, in one transaction.
    async fn add_cosignature(
        &self,
        vkey: &str,
        size: u64,
        line: &str,
        cosigned_at: i64,
        now: i64,
    ) -> Result<()>;
    /// The newest `limit` stored checkpoints that carry any cosignature, newest first.
    async fn cosigned_checkpoints(&self, limit: u32) -> Result<Vec<CosignedCheckpoint>>;
    /// Takes or renews the lease `name` for `holder` until `expires_at` (milliseconds),
    /// when it is free, expired at `now`, or already `holder`'s. Whether `holder` has it.
    async fn take_lease(&self, name: &str, holder: &str, now: i64, expires_at: i64)
    -> Result<bool>;

    async fn pledge_by_log_index(&self, index: u64) -> Result<Option<PledgeView>>;
    /// The record stored at `index` with the pledge it is (`annulment` false) or annuls, in
    /// one query (the public verify path); `None` when either is missing.
    async fn logged_pledge(&self, index: u64, annulment: bool) -> Result<Option<LoggedPledge>>;
    /// The pledge that the annulment record at `index` annulled.
    async fn pledge_by_annulment_index(&self, index: u64) -> Result<Option<PledgeView>>;
    /// Pledges of ASN staff with this NIP, across instansi (non-ASN staff never appear).
    async fn lookup(&self, nip: &str) -> Result<Vec<PledgeView>>;

    /// Counts one "data saya salah" report on an invitation and writes its audit event, in
    /// one transaction. Refuses (returns `false`, writes nothing) once the invitation already
    /// has `max` reports.
    async fn record_report(
        &self,
        invitation_id: i64,
        max: i64,
        event: &AuditEvent<'_>,
        now: i64,
    ) -> Result<bool>;

    async fn audit(
        &self,
        instansi_id: Option<i64>,
        actor: &str,
        action: &str,
        summary: &str,
        now: i64,
    ) -> Result<()>;
    /// Newest first, below `before` (an event id), at most `limit`.
    async fn audit_events(
        &self,
        instansi_id: Option<i64>,
        before: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>>;

    async fn add_user(
        &self,
        instansi_id: Option<i64>,
        username: &str,
        role: Role,
        password_hash: &str,
        now: i64,
    ) -> Result<i64>;
    async fn user_by_username(&self, username: &str) -> Result<Option<UserRow>>;
    async fn add_api_token(&self, user_id: i64, token_hash: &[u8; 32], now: i64) -> Result<()>;
    async fn user_by_api_token(&self, token_hash: &[u8; 32]) -> Result<Option<UserRow>>;
    async fn create_session(
        &self,
        id_hash: &[u8; 32],
        user_id: i64,
        csrf: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()>;
    async fn session(&self, id_hash: &[u8; 32], now: i64) -> Result<Option<SessionRow>>;
    async fn delete_session(&self, id_hash: &[u8; 32]) -> Result<()>;

    async fn campaigns(&self, instansi_id: i64) -> Result<Vec<CampaignRow>>;
    /// Revokes the active invitation of one person; returns how many were revoked.
    async fn revoke_invitation(&self, campaign_id: i64, number: &str, now: i64) -> Result<u64>;
    /// Staff whose number or name, lowercased, matches the lowercase LIKE `pattern` (the
    /// same on both engines: SQLite's LIKE ignores ASCII case, PostgreSQL's does not).
    async fn employees(
        &self,
        instansi_id: i64,
        pattern: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<EmployeeRow>>;
    async fn pledge_by_id(&self, id: i64) -> Result<Option<PledgeView>>;
    /// (invitation id, stored record) of a pledge.
    async fn pledge_record(&self, id: i64) -> Result<Option<(i64, Vec<u8>)>>;

    /// Per unit: target staff of the campaign and how many of them hold a valid pledge.
    async fn compliance_counts(&self, campaign_id: i64) -> Result<Vec<UnitCount>>;
    /// Target staff without a valid pledge, in `unit` and its subtree when given.
    async fn unsigned(
        &self,
        campaign_id: i64,
        unit: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<UnsignedEntry>>;
    /// Valid (not annulled) pledges of a campaign per hour, oldest first:
    /// (start of the hour as Unix time, count). Hours without pledges are absent.
    async fn signatures_per_hour(&self, campaign_id: i64) -> Result<Vec<(i64, i64)>>;

    /// The target units a campaign names (empty: the whole instansi).
    async fn campaign_unit_ids(&self, campaign_id: i64) -> Result<Vec<i64>>;
    /// Active staff per unit of an instansi (each unit's own, not its subtree's).
    async fn staff_per_unit(&self, instansi_id: i64) -> Result<Vec<(i64, i64)>>;
    /// Changes what HR may change of a campaign that is not closed (title, place, closing
    /// time, flags, target units); `false` if it is closed or gone.
    async fn update_campaign(&self, id: i64, edit: &CampaignEdit) -> Result<bool>;
    /// An instansi's audit events before event id `before`, newest first, whose action
    /// matches the LIKE `pattern` when given.
    async fn audit_events_like(
        &self,
        instansi_id: i64,
        pattern: Option<&str>,
        before: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>>;
    /// One page of an instansi's roster: staff whose number or name matches the lowercase
    /// LIKE `pattern`, in `unit` and its subtree when given; and how many match in all.
    async fn roster_page(
        &self,
        instansi_id: i64,
        pattern: &str,
        unit: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<EmployeeRow>, i64)>;
    /// Links an account to an OIDC subject (a subject links to one account: `Conflict`);
    /// `false` when no account has that username.
    async fn link_oidc_subject(&self, username: &str, subject: &str) -> Result<bool>;
    async fn user_by_oidc_subject(&self, subject: &str) -> Result<Option<UserRow>>;
    async fn create_signer_session(&self, new: &NewSignerSession<'_>) -> Result<()>;
    async fn signer_session(
        &self,
        id_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<SignerSessionRow>>;
    async fn delete_signer_session(&self, id_hash: &[u8; 32]) -> Result<()>;
    /// Active (not revoked) invitations of active ASN staff with this NIP, in every instansi.
    async fn invitations_by_nip(&self, nip: &str) -> Result<Vec<SignContext>>;
    /// Opens reminder round `key` of a campaign, or finds the round that key already opened
    /// (a repeated request must not send again).
    async fn start_reminder_round(
        &self,
        campaign_id: i64,
        channel: &str,
        key: &str,
        actor: &str,
        now: i64,
    ) -> Result<RoundStart>;
    async fn finish_reminder_round(&self, round: i64, counts: RoundCounts, now: i64) -> Result<()>;
    /// In one write transaction: the unsigned targets of a campaign (in `unit`'s subtree,
    /// or the one `number`), and for those `eligible` accepts a fresh link that replaces
    /// their active one (which then answers `token_replaced`).
    async fn replace_links(
        &self,
        campaign_id: i64,
        unit: Option<i64>,
        number: Option<&str>,
        now: i64,
        eligible: &(dyn for<'t> Fn(&'t ReminderTarget) -> bool + Send + Sync),
        mint: &(dyn Fn() -> crate::domain::token::NewToken + Send + Sync),
    ) -> Result<Vec<(ReminderTarget, Option<String>)>>;
    /// Undoes [`Store::replace_links`] for people whose reminder could not be delivered:
    /// their fresh link is revoked and the link it replaced, if any, is active again.
    async fn restore_links(
        &self,
        campaign_id: i64,
        targets: &[ReminderTarget],
        now: i64,
    ) -> Result<()>;
}

/// A signer's session after SSO (`/masuk`).
#[derive(Clone, Copy, Debug)]
pub struct NewSignerSession<'a> {
    pub id_hash: &'a [u8; 32],
    pub nip: &'a str,
    pub subject: &'a str,
    pub csrf: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SignerSessionRow {
    pub number: String,
    pub subject: String,
    pub csrf: String,
}

/// What an edit of a campaign writes (SPEC 2: never its template or opening time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignEdit {
    pub title: String,
    pub place: String,
    pub closes_at: i64,
    pub screen_enabled: bool,
    pub public_enabled: bool,
    pub unit_ids: Vec<i64>,
}

/// An unsigned target of a campaign as a reminder sees them, with their HR-only contact
/// data and the link a reminder would replace.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ReminderTarget {
    pub employee_id: i64,
    pub number: String,
    pub name: String,
    pub unit: String,
    pub email: Option<String>,
    pub telepon: Option<String>,
    /// The active invitation before this round.
    pub invitation_id: Option<i64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct RoundCounts {
    pub sent: i64,
    pub failed: i64,
    pub skipped: i64,
}

/// A reminder round as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ReminderRoundRow {
    pub id: i64,
    pub channel: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    #[sqlx(flatten)]
    pub counts: RoundCounts,
}

#[derive(Clone, Debug)]
pub enum RoundStart {
    New(i64),
    /// The key was used before: this is that round.
    Repeated(ReminderRoundRow),
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub instansi_id: Option<i64>,
    pub username: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub password_hash: String,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub instansi_id: Option<i64>,
    pub username: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub csrf: String,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EmployeeRow {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub kind: EmployeeKind,
    pub number: String,
    pub name: String,
    pub position: Option<String>,
    pub unit_id: i64,
    pub unit: String,
    pub active: bool,
}

/// An audit event to write.
#[derive(Clone, Copy, Debug)]
pub struct AuditEvent<'a> {
    pub instansi_id: Option<i64>,
    pub actor: &'a str,
    pub action: &'a str,
    pub summary: &'a str,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub instansi_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub summary: String,
    pub at: i64,
}

/// The empty log's head, written by the first migration run.
pub fn empty_head() -> LogHead {
    LogHead {
        size: 0,
        root: crate::tlog::merkle::empty_root(),
        frontier: Vec::new(),
        last_time: 0,
        checkpoint: String::new(),
    }
}

pub(crate) fn to_hash(bytes: &[u8]) -> Result<Hash> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("hash of {} bytes", bytes.len())))
}

pub(crate) fn nodes_map(rows: Vec<(i64, i64, Vec<u8>)>) -> Result<HashMap<NodeId, Hash>> {
    rows.into_iter()
        .map(|(level, index, hash)| {
            Ok((
                NodeId {
                    level: level as u8,
                    index: index as u64,
                },
                to_hash(&hash)?,
            ))
        })
        .collect()
}
