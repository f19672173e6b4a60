//! The sequencer (SPEC 3.5): sign requests that arrive together are appended together.
//! One task drains the queue; each drain becomes one transaction that locks the log head,
//! skips requests that already have a pledge, assigns indexes and `sequenced_at`, builds and
//! signs statements and records, stores leaves, tree nodes and a signed checkpoint, and
//! compares-and-swaps the head. Only after the commit does any signer get an answer.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use crate::domain::instansi::TimeZone;
use crate::domain::mark::{Mark, mark_line_value};
use crate::domain::nip::EmployeeKind;
use crate::domain::statement::StatementDraft;
use crate::metrics::Metrics;
use crate::store::{Append, LogHead, NewPledge, PledgeReceipt, SignContext, Store, StoreError};
use crate::tlog::keys::{KeyPurpose, NamedKey};
use crate::tlog::merkle::{Frontier, leaf_hash};
use crate::tlog::note::{self, Checkpoint};
use crate::tlog::record::{Format, RecordBody, short_hash};

/// Upper bound of one append; at 5,000 pledges/s a drain holds far fewer.
const MAX_BATCH: usize = 1024;
/// A compare-and-swap can only fail if something bypassed the row lock; retry a little.
const CAS_RETRIES: usize = 3;
/// While appends fail, the sequencer probes the database (and the checkpoint file) this
/// often at first, doubling up to [`PROBE_MAX`], so signing resumes on its own.
const PROBE_FIRST: Duration = Duration::from_millis(250);
const PROBE_MAX: Duration = Duration::from_secs(4);

/// The two signing keys and the log's identity, fixed at startup.
#[derive(Clone, Debug)]
pub struct Keys {
    pub pledge: NamedKey,
    pub log: NamedKey,
    pub origin: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SequencerError {
    #[error(
        "the database holds a log of {db} entries but the checkpoint file {file} records {recorded}: \
         this looks like a restored old backup, and signing would reuse log indexes already printed on receipts"
    )]
    RolledBack {
        db: u64,
        recorded: u64,
        file: String,
    },
    /// Another instance started with a newer key of this purpose (SPEC 3.4); this instance
    /// must not sign again until it is restarted with the current key.
    #[error("this instance's {} key is no longer the current one; restart it with the current key", .0.as_str())]
    KeyRetired(KeyPurpose),
    /// The checkpoint file (the rollback guard) could not be written.
    #[error("writing the checkpoint file failed: {0}")]
    CheckpointFile(#[source] std::io::Error),
    #[error("stored log state is unreadable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the sequencer has stopped")]
    Stopped,
}

/// One sign request, validated, with the invitation's context read from the store.
#[derive(Clone, Debug)]
pub struct SignJob {
    pub ctx: SignContext,
    pub consent: String,
    pub mark: Option<Mark>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// Evidence: by link or after SSO (with the provider's subject).
    pub signed_via: crate::domain::sso::SignedVia,
    pub sso_subject: Option<String>,
}

/// The answer to a sign request: a pledge, new (`created`) or found.
#[derive(Clone, Debug)]
pub struct Signed {
    pub pledge_id: i64,
    pub log_index: u64,
    pub record: Vec<u8>,
    pub statement: String,
    pub checkpoint: String,
    pub created: bool,
}

/// Refuses to sign on a database whose log is smaller than the last checkpoint this
/// deployment wrote to a file outside the database. A failed write of that file stops
/// signing until a later write succeeds (SPEC 4.6): the guard is never silently off.
#[derive(Debug)]
pub struct RollbackGuard {
    path: Option<PathBuf>,
    recorded: AtomicU64,
    /// Set when the last write of the file failed; cleared by the next one that succeeds.
    unwritable: AtomicBool,
    /// The file was absent at start although the log was not empty; cleared once written.
    missing: AtomicBool,
    /// Appends from the sequencer and from annulments may finish together: one writer.
    writing: Mutex<()>,
}

impl RollbackGuard {
    pub fn disabled() -> RollbackGuard {
        RollbackGuard::with_path(None, 0)
    }

    fn with_path(path: Option<PathBuf>, recorded: u64) -> RollbackGuard {
        RollbackGuard {
            path,
            recorded: AtomicU64::new(recorded),
            unwritable: AtomicBool::new(false),
            missing: AtomicBool::new(false),
            writing: Mutex::new(()),
        }
    }

    /// Reads the size recorded in `path`, if the file exists, after checking that one of
    /// `log_keys` (every log key this deployment ever published) signed it.
    pub fn open(
        path: PathBuf,
        log_keys: &[crate::tlog::note::Verifier],
    ) -> Result<RollbackGuard, SequencerError> {
        let recorded = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let body = crate::tlog::note::open(&text, log_keys).map_err(|e| {
                    SequencerError::Corrupt(format!(
                        "checkpoint file {} is not a checkpoint signed by this log: {e}",
                        path.display()
                    ))
                })?;
                Checkpoint::parse(body)
                    .map_err(|e| {
                        SequencerError::Corrupt(format!("checkpoint file {}: {e}", path.display()))
                    })?
                    .size
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => {
                return Err(SequencerError::Corrupt(format!(
                    "checkpoint file {}: {e}",
                    path.display()
                )));
            }
        };
        Ok(RollbackGuard::with_path(Some(path), recorded))
    }

    /// Notes at start that the file is absent beside a log of `db_size` entries: the guard
    /// cannot tell a restored backup from a first start with the file, so it says so.
    pub fn note_start(&self, db_size: u64) {
        if let Some(path) = &self.path
            && db_size > 0
            && self.recorded.load(Ordering::SeqCst) == 0
            && !path.exists()
        {
            tracing::error!(
                path = %path.display(),
                log_size = db_size,
                "the checkpoint file is missing beside a non-empty log; it is written again at \
                 the next append, but a restored old backup cannot be detected until then"
            );
            self.missing.store(true, Ordering::SeqCst);
        }
    }

    pub fn check(&self, db_size: u64) -> Result<(), SequencerError> {
        let recorded = self.recorded.load(Ordering::SeqCst);
        if db_size < recorded {
            return Err(SequencerError::RolledBack {
                db: db_size,
                recorded,
                file: self
                    .path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            });
        }
        Ok(())
    }

    /// Whether the last write of the file failed (signing is stopped until one succeeds).
    pub fn unwritable(&self) -> bool {
        self.unwritable.load(Ordering::SeqCst)
    }

    /// Whether the file was missing at start beside a non-empty log and is not written yet.
    pub fn missing(&self) -> bool {
        self.missing.load(Ordering::SeqCst)
    }

    /// Writes a newer checkpoint atomically (temporary file, fsync, rename).
    pub fn record(&self, size: u64, note: &str) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let _one = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        if self.recorded.fetch_max(size, Ordering::SeqCst) > size {
            return Ok(());
        }
        let written = Self::write(path, note);
        match &written {
            Ok(()) => {
                self.unwritable.store(false, Ordering::SeqCst);
                self.missing.store(false, Ordering::SeqCst);
            }
            Err(e) => {
                tracing::error!(error = %e, "writing the checkpoint file failed; signing stops until it succeeds");
                self.unwritable.store(true, Ordering::SeqCst);
            }
        }
        written
    }

    fn write(path: &std::path::Path, note: &str) -> std::io::Result<()> {
        use std::io::Write;
        let tmp = path.with_extension("tmp");
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(note.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    }

    /// Before an append while the file is unwritable: writes the committed head again, or
    /// refuses the append, so the log never runs ahead of the file by more than one batch.
    fn catch_up(&self, head: &LogHead) -> Result<(), SequencerError> {
        if self.unwritable() && head.size > 0 {
            self.record(head.size, &head.checkpoint)
                .map_err(SequencerError::CheckpointFile)?;
        }
        Ok(())
    }
}

/// Whether this instance can sign, as `/readyz` reports it. The refusals that are not
/// about the database (key retired, checkpoint file) are kept by the sequencer and the
/// [`RollbackGuard`]; this holds what only appends can learn.
#[derive(Debug, Default)]
pub struct Health {
    retired: Mutex<Option<KeyPurpose>>,
    failing: AtomicBool,
}

impl Health {
    /// The purpose whose key was found retired; sticky until the process restarts.
    pub fn key_retired(&self) -> Option<KeyPurpose> {
        *self.retired.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn retire(&self, purpose: KeyPurpose) {
        let mut retired = self.retired.lock().unwrap_or_else(|p| p.into_inner());
        if retired.is_none() {
            tracing::error!(
                purpose = purpose.as_str(),
                "another instance published a newer key; this instance no longer signs until it \
                 is restarted with the current key"
            );
        }
        *retired = Some(purpose);
    }

    /// Whether the last append (or probe) failed in the database.
    pub fn appends_failing(&self) -> bool {
        self.failing.load(Ordering::SeqCst)
    }

    /// Learns from the outcome of an append: refusals say nothing about the database.
    fn observe<T>(&self, outcome: &Result<T, SequencerError>) {
        match outcome {
            Ok(_) => {
                if self.failing.swap(false, Ordering::SeqCst) {
                    tracing::info!("appends succeed again; signing has resumed");
                }
            }
            Err(
                SequencerError::RolledBack { .. }
                | SequencerError::KeyRetired(_)
                | SequencerError::CheckpointFile(_)
                | SequencerError::Store(StoreError::Conflict(_)),
            ) => {}
            Err(_) => self.failing.store(true, Ordering::SeqCst),
        }
    }
}

struct Job {
    job: SignJob,
    reply: oneshot::Sender<Result<Signed, Arc<SequencerError>>>,
}

/// Handle to the sequencing task; cheap to clone.
#[derive(Clone)]
pub struct Sequencer {
    tx: mpsc::Sender<Job>,
}

impl Sequencer {
    /// `grown` hears the log's new size after each committed batch.
    pub fn spawn(
        store: Arc<dyn Store>,
        keys: Arc<Keys>,
        guard: Arc<RollbackGuard>,
        health: Arc<Health>,
        grown: LogSignal,
        metrics: Metrics,
    ) -> Sequencer {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 8);
        tokio::spawn(run(rx, store, keys, guard, health, grown, metrics));
        Sequencer { tx }
    }

    pub async fn sign(&self, job: SignJob) -> Result<Signed, Arc<SequencerError>> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { job, reply })
            .await
            .map_err(|_| Arc::new(SequencerError::Stopped))?;
        answer
            .await
            .map_err(|_| Arc::new(SequencerError::Stopped))?
    }
}

async fn run(
    mut rx: mpsc::Receiver<Job>,
    store: Arc<dyn Store>,
    keys: Arc<Keys>,
    guard: Arc<RollbackGuard>,
    health: Arc<Health>,
    grown: LogSignal,
    metrics: Metrics,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut wait = PROBE_FIRST;
    loop {
        let stopped = health.key_retired().is_some();
        let troubled = !stopped && (health.appends_failing() || guard.unwritable());
        if !troubled {
            wait = PROBE_FIRST;
        }
        let received = tokio::select! {
            n = rx.recv_many(&mut batch, MAX_BATCH) => n,
            () = tokio::time::sleep(wait), if troubled => {
                probe(store.as_ref(), &guard, &health).await;
                wait = (wait * 2).min(PROBE_MAX);
                continue;
            }
        };
        if received == 0 {
            return;
        }
        let jobs: Vec<SignJob> = batch.iter().map(|j| j.job.clone()).collect();
        let started = Instant::now();
        let result = append_pledges(store.as_ref(), &keys, &guard, &health, &metrics, jobs).await;
        match result {
            Ok(answers) => {
                metrics.batch(received, started.elapsed());
                let size = answers.iter().map(|a| a.log_index + 1).max();
                for (job, answer) in batch.drain(..).zip(answers) {
                    let _ = job.reply.send(Ok(answer));
                }
                if let Some(size) = size {
                    grown.grew_to(size);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "sequencing a batch failed");
                let e = Arc::new(e);
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// While appends fail with nobody signing, checks whether the cause is gone: a write
/// transaction that commits, and the checkpoint file written again if it was unwritable.
async fn probe(store: &dyn Store, guard: &RollbackGuard, health: &Health) {
    let outcome = async {
        store.probe_write().await?;
        if guard.unwritable() {
            let head = store.log_head().await?;
            guard.catch_up(&head)?;
        }
        Ok::<(), SequencerError>(())
    }
    .await;
    if let Err(e) = &outcome {
        tracing::warn!(error = %e, "signing is still unavailable");
    }
    health.observe(&outcome);
}

/// Appends the pledges of `jobs` in one transaction and returns one answer per job, in order.
/// A job whose employee already has a pledge in its campaign gets that pledge back.
pub async fn append_pledges(
    store: &dyn Store,
    keys: &Keys,
    guard: &RollbackGuard,
    health: &Health,
    metrics: &Metrics,
    jobs: Vec<SignJob>,
) -> Result<Vec<Signed>, SequencerError> {
    let outcome = retry_moved(|| try_append(store, keys, guard, health, metrics, &jobs)).await;
    health.observe(&outcome);
    outcome
}

/// What every signing append checks under the head lock, before it signs: the log is not
/// older than the checkpoint file, the file can be written, and this instance's keys are
/// still the current ones (SPEC 3.4) — one indexed query in the open transaction.
async fn may_sign(
    tx: &mut dyn crate::store::AppendTx,
    head: &LogHead,
    keys: &Keys,
    guard: &RollbackGuard,
    health: &Health,
) -> Result<(), SequencerError> {
    guard.check(head.size)?;
    let current = tx
        .current_keys(&keys.pledge.key_id, &keys.log.key_id)
        .await?;
    for purpose in [KeyPurpose::Pledge, KeyPurpose::Log] {
        if !current.contains(&purpose) {
            health.retire(purpose);
            return Err(SequencerError::KeyRetired(purpose));
        }
    }
    guard.catch_up(head)
}

/// Refuses at once when an earlier append found this instance's key retired.
fn still_current(health: &Health) -> Result<(), SequencerError> {
    match health.key_retired() {
        Some(purpose) => Err(SequencerError::KeyRetired(purpose)),
        None => Ok(()),
    }
}

/// Runs one append attempt again while its compare-and-swap finds the head moved.
async fn retry_moved<T, F, Fut>(mut attempt_once: F) -> Result<T, SequencerError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SequencerError>>,
{
    let mut attempt = 0;
    loop {
        match attempt_once().await {
            Err(SequencerError::Store(StoreError::LogMoved)) if attempt < CAS_RETRIES => {
                attempt += 1;
                tracing::warn!(attempt, "log head moved during append; retrying");
            }
            other => return other,
        }
    }
}

async fn try_append(
    store: &dyn Store,
    keys: &Keys,
    guard: &RollbackGuard,
    health: &Health,
    metrics: &Metrics,
    jobs: &[SignJob],
) -> Result<Vec<Signed>, SequencerError> {
    still_current(health)?;
    let mut tx = store.begin_append().await?;
    let head = tx.lock_head().await?;
    may_sign(tx.as_mut(), &head, keys, guard, health).await?;

    let pairs: Vec<(i64, i64)> = jobs
        .iter()
        .map(|j| (j.ctx.campaign_id, j.ctx.employee_id))
        .collect();
    let existing: HashMap<(i64, i64), PledgeReceipt> = tx
        .existing_pledges(&pairs)
        .await?
        .into_iter()
        .map(|p| ((p.campaign_id, p.employee_id), p))
        .collect();

    // Jobs for the same person in one batch (a double tap) share one new pledge.
    // Only the first of them is answered "created"; the others get the same pledge as a repeat.
    let mut fresh: Vec<&SignJob> = Vec::new();
    let mut slot: HashMap<(i64, i64), (usize, usize)> = HashMap::new();
    for (at, (job, pair)) in jobs.iter().zip(&pairs).enumerate() {
        if !existing.contains_key(pair) && !slot.contains_key(pair) {
            slot.insert(*pair, (fresh.len(), at));
            fresh.push(job);
        }
    }

    let now = chrono::Utc::now().timestamp();
    let sealed = if fresh.is_empty() {
        None
    } else {
        let owned: Vec<SignJob> = fresh.iter().map(|j| (*j).clone()).collect();
        let keys = keys.clone();
        let head = head.clone();
        let append = tokio::task::spawn_blocking(move || seal(&head, &owned, now, &keys))
            .await
            .map_err(|e| SequencerError::Corrupt(format!("sealing task failed: {e}")))??;
        Some(append)
    };

    let mut ids: HashMap<i64, i64> = HashMap::new();
    if let Some(append) = &sealed {
        ids = tx.write(append).await?.into_iter().collect();
        tx.commit().await?;
        count_pledges(metrics, &fresh);
        // Committed, but not answered: its signers get 503 and, asking again once the file
        // is writable, the pledge they already made (SPEC 4.6).
        guard
            .record(append.head.size, &append.head.checkpoint)
            .map_err(SequencerError::CheckpointFile)?;
    }
    let checkpoint = sealed
        .as_ref()
        .map(|a| a.head.checkpoint.clone())
        .unwrap_or_else(|| head.checkpoint.clone());

    pairs
        .iter()
        .enumerate()
        .map(|(at, pair)| {
            if let Some(p) = existing.get(pair) {
                return Ok(Signed {
                    pledge_id: p.pledge_id,
                    log_index: p.log_index as u64,
                    record: p.record.clone(),
                    statement: p.statement.clone(),
                    checkpoint: checkpoint.clone(),
                    created: false,
                });
            }
            let append = sealed.as_ref().expect("fresh jobs were sealed");
            let (i, owner) = slot[pair];
            let pledge = &append.pledges[i];
            let pledge_id = *ids.get(&(pledge.log_index as i64)).ok_or_else(|| {
                SequencerError::Corrupt("an appended pledge has no id".to_string())
            })?;
            Ok(Signed {
                pledge_id,
                log_index: pledge.log_index,
                record: append.entries[i].1.clone(),
                statement: pledge.statement.clone(),
                checkpoint: checkpoint.clone(),
                created: at == owner,
            })
        })
        .collect()
}

/// Counts a committed batch's new pledges per instansi code (SPEC 4.6), at the commit
/// rather than per request, so the counters add up to the pledges made.
fn count_pledges(metrics: &Metrics, fresh: &[&SignJob]) {
    let mut per_instansi: HashMap<&str, u64> = HashMap::new();
    for job in fresh {
        *per_instansi
            .entry(job.ctx.instansi_code.as_str())
            .or_default() += 1;
    }
    for (code, n) in per_instansi {
        metrics.pledges_committed(code, n);
    }
}

/// The pure part of an append: indexes, statements, records, signatures, tree nodes and the
/// checkpoint. `sequenced_at = max(now, previous)`, so time never runs backwards in the log.
pub fn seal(
    head: &LogHead,
    jobs: &[SignJob],
    now: i64,
    keys: &Keys,
) -> Result<Append, SequencerError> {
    let mut frontier = Frontier::from_bytes(head.size, &head.frontier)
        .map_err(|e| SequencerError::Corrupt(e.to_string()))?;
    if frontier.root() != head.root {
        return Err(SequencerError::Corrupt(
            "stored frontier does not match the stored root".to_string(),
        ));
    }
    let at = now.max(head.last_time);
    let mut entries = Vec::with_capacity(jobs.len());
    let mut nodes = Vec::with_capacity(jobs.len() * 2);
    let mut pledges = Vec::with_capacity(jobs.len());
    for job in jobs {
        let ctx = &job.ctx;
        let tz = ctx.tz;
        let non_asn = ctx.kind == EmployeeKind::NonAsn;
        let draft = StatementDraft {
            instansi: ctx.instansi_name.clone(),
            campaign_id: ctx.campaign_id,
            campaign_title: ctx.campaign_title.clone(),
            template_ref: format!("{}@{}", ctx.template_code, ctx.template_version),
            template_sha256_hex: hex::encode(&ctx.template_sha256),
            nip: if non_asn {
                format!("staff:{}", ctx.number)
            } else {
                ctx.number.clone()
            },
            name: ctx.name.clone(),
            position: ctx.position.clone(),
            unit: ctx.unit_name.clone(),
            consent: job.consent.clone(),
            mark: mark_line_value(job.mark.as_ref()),
        };
        let statement = draft.complete(tz.at(at)).to_text();
        let log_index = frontier.size();
        let record = RecordBody {
            format: Format::Pledge,
            key_id: keys.pledge.key_id,
            log_index,
            sequenced_at: at as u64,
            nip: if non_asn {
                0
            } else {
                ctx.number.parse().unwrap_or(0)
            },
            template_no: ctx.template_no as u16,
            statement_hash: short_hash(&statement),
            name: RecordBody::new_name(&ctx.name),
        }
        .sign(&keys.pledge)
        .to_bytes();
        nodes.extend(frontier.push(leaf_hash(&record)));
        entries.push((log_index, record));
        pledges.push(NewPledge {
            campaign_id: ctx.campaign_id,
            employee_id: ctx.employee_id,
            invitation_id: ctx.invitation_id,
            log_index,
            number: ctx.number.clone(),
            name: ctx.name.clone(),
            unit_id: ctx.unit_id,
            statement,
            mark: job.mark.as_ref().map(|m| m.as_str().to_string()),
            signed_at: at,
            client_ip: job.client_ip.clone(),
            user_agent: job.user_agent.clone(),
            signed_via: job.signed_via,
            sso_subject: job.sso_subject.clone(),
        });
    }
    let root = frontier.root();
    let checkpoint = sign_checkpoint(keys, frontier.size(), root)?;
    Ok(Append {
        old_size: head.size,
        old_root: head.root,
        entries,
        nodes,
        head: LogHead {
            size: frontier.size(),
            root,
            frontier: frontier.to_bytes(),
            last_time: at,
            checkpoint,
        },
        pledges,
        annulments: Vec::new(),
    })
}

pub fn sign_checkpoint(
    keys: &Keys,
    size: u64,
    root: crate::tlog::merkle::Hash,
) -> Result<String, SequencerError> {
    let body = Checkpoint {
        origin: keys.origin.clone(),
        size,
        root,
    }
    .to_text();
    note::sign(&body, &keys.log.name, keys.log.signing_key())
        .map_err(|e| SequencerError::Corrupt(e.to_string()))
}

/// An annulment to append (SPEC 2, 3.2): the pledge, why, and the instansi's zone.
#[derive(Clone, Debug)]
pub struct AnnulRequest {
    pub pledge_id: i64,
    pub invitation_id: i64,
    pub pledge_record: Vec<u8>,
    pub category: String,
    pub reason: String,
    pub tz: TimeZone,
}

#[derive(Clone, Debug)]
pub struct Annulled {
    pub record: Vec<u8>,
    pub text: String,
    pub log_index: u64,
    pub checkpoint: String,
}

/// Appends a format-0x02 record over the annulment text and marks the pledge annulled, in
/// one transaction under the same head lock as pledges. A second annulment is a conflict.
/// `grown` hears the log's new size, as after a batch.
pub async fn annul(
    store: &dyn Store,
    keys: &Keys,
    guard: &RollbackGuard,
    health: &Health,
    grown: &LogSignal,
    req: &AnnulRequest,
) -> Result<Annulled, SequencerError> {
    let outcome = retry_moved(|| try_annul(store, keys, guard, health, req)).await;
    health.observe(&outcome);
    if let Ok(done) = &outcome {
        grown.grew_to(done.log_index + 1);
    }
    outcome
}

async fn try_annul(
    store: &dyn Store,
    keys: &Keys,
    guard: &RollbackGuard,
    health: &Health,
    req: &AnnulRequest,
) -> Result<Annulled, SequencerError> {
    let pledge = crate::tlog::record::Record::parse(&req.pledge_record)
        .map_err(|e| SequencerError::Corrupt(e.to_string()))?;
    still_current(health)?;
    let mut tx = store.begin_append().await?;
    let head = tx.lock_head().await?;
    may_sign(tx.as_mut(), &head, keys, guard, health).await?;
    let at = chrono::Utc::now().timestamp().max(head.last_time);
    let text = crate::tlog::record::annulment_text(
        pledge.body.log_index,
        &leaf_hash(&req.pledge_record),
        &req.category,
        &req.reason,
        &crate::domain::statement::format_time(req.tz.at(at)),
    );
    let mut frontier = Frontier::from_bytes(head.size, &head.frontier)
        .map_err(|e| SequencerError::Corrupt(e.to_string()))?;
    let log_index = frontier.size();
    let record = RecordBody {
        format: Format::Annulment,
        key_id: keys.pledge.key_id,
        log_index,
        sequenced_at: at as u64,
        nip: pledge.body.nip,
        template_no: pledge.body.template_no,
        statement_hash: short_hash(&text),
        name: pledge.body.name.clone(),
    }
    .sign(&keys.pledge)
    .to_bytes();
    let nodes = frontier.push(leaf_hash(&record));
    let root = frontier.root();
    let checkpoint = sign_checkpoint(keys, frontier.size(), root)?;
    let append = Append {
        old_size: head.size,
        old_root: head.root,
        entries: vec![(log_index, record.clone())],
        nodes,
        head: LogHead {
            size: frontier.size(),
            root,
            frontier: frontier.to_bytes(),
            last_time: at,
            checkpoint: checkpoint.clone(),
        },
        pledges: Vec::new(),
        annulments: vec![crate::store::NewAnnulment {
            pledge_id: req.pledge_id,
            invitation_id: req.invitation_id,
            log_index,
            category: req.category.clone(),
            reason: req.reason.clone(),
            text: text.clone(),
            at,
        }],
    };
    tx.write(&append).await?;
    tx.commit().await?;
    guard
        .record(append.head.size, &checkpoint)
        .map_err(SequencerError::CheckpointFile)?;
    Ok(Annulled {
        record,
        text,
        log_index,
        checkpoint,
    })
}

/// How often the shared task reads the log head while anyone is watching.
pub const POLL_EVERY: Duration = Duration::from_secs(2);

/// The size of the log as last seen by this process; only ever grows.
#[derive(Clone, Debug)]
pub struct LogSignal(Arc<watch::Sender<u64>>);

impl LogSignal {
    pub fn new(size: u64) -> LogSignal {
        LogSignal(Arc::new(watch::channel(size).0))
    }

    /// Records that the log holds at least `size` entries; wakes watchers only if it grew.
    pub fn grew_to(&self, size: u64) {
        self.0.send_if_modified(|known| {
            if size > *known {
                *known = size;
                true
            } else {
                false
            }
        });
    }

    pub fn size(&self) -> u64 {
        *self.0.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }

    /// Starts the shared poller: while anyone is subscribed, reads the log head every
    /// `every`. It ends once every handle of this signal is gone.
    pub fn spawn_poller(&self, store: Arc<dyn Store>, every: Duration) {
        let weak: Weak<watch::Sender<u64>> = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(sender) = weak.upgrade() else {
                    return;
                };
                if sender.receiver_count() == 0 {
                    continue;
                }
                match store.log_head().await {
                    Ok(head) => LogSignal(sender).grew_to(head.size),
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the log head for live counts failed")
                    }
                }
            }
        });
    }
}
