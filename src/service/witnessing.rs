//! Witnessing, the log's side (SPEC 3.8, c2sp.org/tlog-witness): after new checkpoints,
//! each witness of the policy gets an `add-checkpoint` for the newest one, at most one in
//! flight per witness (older checkpoints are skipped, never queued). The size each witness
//! last cosigned is kept in the database and is the next request's `old`; a 409 answer
//! gives the witness's own size. Verified cosignatures are stored per checkpoint, and the
//! published checkpoint is the newest whose cosignatures meet the quorum.
//!
//! It runs beside the sequencer and never in its path: a slow or absent witness delays only
//! its own cosignatures. With several instances, the one holding the `witnessing` lease
//! row pushes; the others stand by and take over when the lease runs out.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::service::error::{ServiceError, ServiceResult};
use crate::service::log_proofs::consistency_proof;
use crate::service::sequencer::LogSignal;
use crate::store::{CosignedCheckpoint, LogHead, Store};
use crate::tlog::note;
use crate::tlog::policy::{Policy, PolicyWitness};

/// How many of the newest cosigned checkpoints are searched for one that meets the quorum.
/// Under a burst, witnesses may each cosign other sizes; once it calms they meet again.
const SEARCH_DEPTH: u32 = 64;
/// The lease's name, its length and how often its holder renews it.
const LEASE: &str = "witnessing";
const LEASE_TTL: Duration = Duration::from_secs(10);
const LEASE_RENEW: Duration = Duration::from_secs(2);
/// How long one `add-checkpoint` may take, and the retry delays for a failing witness.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const FIRST_RETRY: Duration = Duration::from_millis(500);
const LAST_RETRY: Duration = Duration::from_secs(60);
/// With nothing new to push, how often the head is read again anyway.
const IDLE_RECHECK: Duration = Duration::from_secs(10);
/// A witness may answer 409 a few times in a row while the log grows; more is a loop.
const MAX_CONFLICTS_IN_A_ROW: u32 = 3;
/// A witness that finishes a request while another's round target is younger than this
/// pushes that checkpoint too, so that a quorum of witnesses cosigns the same checkpoint
/// even while a burst writes a new one every few milliseconds (as Tessera's rounds do).
const ROUND_WINDOW: Duration = Duration::from_secs(2);
/// Cosignature answers are a few lines; anything longer is not one.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// The newest stored checkpoint with at least `min_size` entries whose cosignatures meet
/// the policy's quorum, with every cosignature gathered for it. `None` when none does, or
/// when the policy needs no cosignature (`quorum none`): callers then publish the newest
/// log-signed checkpoint.
pub async fn accepted_checkpoint(
    store: &dyn Store,
    policy: &Policy,
    min_size: u64,
) -> ServiceResult<Option<(u64, String)>> {
    if !policy.needs_cosignatures() {
        return Ok(None);
    }
    let candidates = store.cosigned_checkpoints(SEARCH_DEPTH).await?;
    Ok(newest_accepted(policy, &candidates).filter(|(size, _)| *size >= min_size))
}

/// Among `candidates` (newest first), the first whose stored lines meet the quorum, as a
/// note with its cosignature lines appended.
pub fn newest_accepted(
    policy: &Policy,
    candidates: &[CosignedCheckpoint],
) -> Option<(u64, String)> {
    candidates.iter().find_map(|c| {
        let cosigned: Vec<bool> = policy
            .witnesses
            .iter()
            .map(|w| c.lines.iter().any(|(vkey, _)| *vkey == w.vkey))
            .collect();
        policy.quorum_met(&cosigned).then(|| {
            let mut note = c.note.clone();
            for (vkey, line) in &c.lines {
                // Only the policy's witnesses: a line of a witness since removed from the
                // policy stays stored but is not served.
                if policy.witnesses.iter().any(|w| w.vkey == *vkey) {
                    note.push_str(line);
                    note.push('\n');
                }
            }
            (c.size, note)
        })
    })
}

/// Keeps the witnessing tasks running; they stop when this is dropped.
pub struct Witnessing {
    _stop: watch::Sender<()>,
}

impl Witnessing {
    /// Starts the lease task and one task per witness that has a URL. `signal` wakes them
    /// when the log grows (on this instance at once, on others within the poll period).
    pub fn spawn(store: Arc<dyn Store>, policy: Arc<Policy>, signal: LogSignal) -> Witnessing {
        let (stop, stopped) = watch::channel(());
        let holder = hex::encode(rand_bytes());
        let (leader_tx, leader) = watch::channel(false);
        tokio::spawn(hold_lease(
            store.clone(),
            holder,
            leader_tx,
            stopped.clone(),
        ));
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build();
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "no HTTP client for witnessing; no checkpoint will be cosigned");
                return Witnessing { _stop: stop };
            }
        };
        let target: RoundTarget = Arc::default();
        for witness in &policy.witnesses {
            let Some(url) = witness.url.clone() else {
                tracing::warn!(
                    witness = %witness.name,
                    "the witness policy gives no URL for this witness; its cosignatures cannot be requested"
                );
                continue;
            };
            let pusher = Pusher {
                store: store.clone(),
                client: client.clone(),
                witness: witness.clone(),
                endpoint: format!("{}/add-checkpoint", url.trim_end_matches('/')),
                target: target.clone(),
            };
            tokio::spawn(pusher.run(leader.clone(), signal.subscribe(), stopped.clone()));
        }
        Witnessing { _stop: stop }
    }
}

fn rand_bytes() -> [u8; 8] {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("the operating system's random source");
    b
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Takes and renews the deployment's witnessing lease; `leader` says whether this
/// instance holds it.
async fn hold_lease(
    store: Arc<dyn Store>,
    holder: String,
    leader: watch::Sender<bool>,
    mut stopped: watch::Receiver<()>,
) {
    let mut tick = tokio::time::interval(LEASE_RENEW);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => return,
        }
        let now = now_ms();
        let held = match store
            .take_lease(LEASE, &holder, now, now + LEASE_TTL.as_millis() as i64)
            .await
        {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, "renewing the witnessing lease failed");
                false
            }
        };
        leader.send_if_modified(|was| {
            if *was != held {
                tracing::info!(held, "witnessing lease");
                *was = held;
                true
            } else {
                false
            }
        });
    }
}

/// What one round with a witness ended in.
enum Round {
    /// Nothing newer than what the witness cosigned.
    UpToDate,
    /// The witness cosigned the checkpoint of this size.
    Cosigned(u64),
    /// The witness said it is at another size (409); the next round uses it.
    Moved(u64),
}

#[derive(Debug, thiserror::Error)]
enum PushError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("the witness could not be reached: {0}")]
    Network(#[from] reqwest::Error),
    #[error("the witness answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("the witness says it cosigned size {0}, larger than this log: the log was rolled back")]
    Ahead(u64),
    #[error("the witness's answer carries no valid cosignature by its key")]
    BadCosignature,
    #[error("the witness keeps answering 409")]
    Conflicts,
}

/// The checkpoint of the current round, shared by the witnesses' tasks, and when it was
/// chosen.
type RoundTarget = Arc<std::sync::Mutex<Option<(LogHead, Instant)>>>;

struct Pusher {
    store: Arc<dyn Store>,
    client: reqwest::Client,
    witness: PolicyWitness,
    endpoint: String,
    target: RoundTarget,
}

impl Pusher {
    async fn run(
        self,
        mut leader: watch::Receiver<bool>,
        mut grew: watch::Receiver<u64>,
        mut stopped: watch::Receiver<()>,
    ) {
        let mut retry = FIRST_RETRY;
        let mut conflicts = 0u32;
        // Set after a cosignature: sizes already cosigned need no new request. Empty after a
        // start, so the head is offered once (a witness answers a repeat with its cosignature).
        let mut cosigned: Option<u64> = None;
        // What the database says it cosigned last, until it cosigns again (`/metrics`).
        if let Ok(Some(size)) = self.store.witness_size(&self.witness.vkey).await {
            crate::metrics::witness_cosigned(&self.witness.verifier.name, size);
        }
        loop {
            if !*leader.borrow_and_update() {
                tokio::select! {
                    _ = leader.changed() => continue,
                    _ = stopped.changed() => return,
                }
            }
            let wait: Result<(), PushError> = match self.round(cosigned).await {
                Ok(Round::UpToDate) => {
                    retry = FIRST_RETRY;
                    conflicts = 0;
                    grew.borrow_and_update();
                    tokio::select! {
                        _ = grew.changed() => {}
                        _ = tokio::time::sleep(IDLE_RECHECK) => {}
                        _ = stopped.changed() => return,
                    }
                    continue;
                }
                Ok(Round::Cosigned(size)) => {
                    retry = FIRST_RETRY;
                    conflicts = 0;
                    cosigned = Some(size);
                    crate::metrics::witness_cosigned(&self.witness.verifier.name, size);
                    tracing::debug!(witness = %self.witness.name, size, "cosigned");
                    continue;
                }
                Ok(Round::Moved(size)) => {
                    conflicts += 1;
                    cosigned = None;
                    tracing::info!(witness = %self.witness.name, size, "the witness is at another size");
                    if conflicts <= MAX_CONFLICTS_IN_A_ROW {
                        continue;
                    }
                    Err(PushError::Conflicts)
                }
                Err(e) => Err(e),
            };
            if let Err(e) = wait {
                tracing::warn!(
                    witness = %self.witness.name,
                    error = %e,
                    retry_in_ms = retry.as_millis() as u64,
                    "witnessing failed; retrying"
                );
                tokio::select! {
                    _ = tokio::time::sleep(retry) => {}
                    _ = stopped.changed() => return,
                }
                retry = (retry * 2).min(LAST_RETRY);
                conflicts = 0;
            }
        }
    }

    /// The checkpoint to push: the current round's when it is recent, not below the
    /// witness's size `old` and not the one it cosigned, else the newest, which then starts
    /// a round.
    async fn next_target(&self, cosigned: Option<u64>, old: u64) -> Result<LogHead, PushError> {
        let current = {
            let round = self.target.lock().unwrap_or_else(PoisonError::into_inner);
            round
                .as_ref()
                .filter(|(head, at)| {
                    at.elapsed() < ROUND_WINDOW
                        && head.size >= old
                        && Some(head.size) != cosigned
                        && !head.checkpoint.is_empty()
                })
                .map(|(head, _)| head.clone())
        };
        if let Some(head) = current {
            return Ok(head);
        }
        let head = self.store.log_head().await.map_err(ServiceError::from)?;
        let mut round = self.target.lock().unwrap_or_else(PoisonError::into_inner);
        if round.as_ref().is_none_or(|(h, _)| h.size < head.size) {
            *round = Some((head.clone(), Instant::now()));
        }
        Ok(head)
    }

    /// One `add-checkpoint` for the round's checkpoint, unless the witness has it.
    async fn round(&self, cosigned: Option<u64>) -> Result<Round, PushError> {
        let old = self
            .store
            .witness_size(&self.witness.vkey)
            .await
            .map_err(ServiceError::from)?
            .unwrap_or(0);
        let head = self.next_target(cosigned, old).await?;
        if head.size == 0 || head.checkpoint.is_empty() || cosigned == Some(head.size) {
            return Ok(Round::UpToDate);
        }
        if old > head.size {
            return Err(PushError::Ahead(old));
        }
        let (text, _) = note::split(&head.checkpoint)
            .map_err(|e| ServiceError::internal("the stored checkpoint is not a signed note", e))?;
        let proof = if old == 0 || old == head.size {
            Vec::new()
        } else {
            consistency_proof(self.store.as_ref(), old, head.size).await?
        };
        let body = request_body(old, &proof, &head.checkpoint);
        let answer = self
            .client
            .post(&self.endpoint)
            .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(body)
            .send()
            .await?;
        let status = answer.status().as_u16();
        let bytes = answer.bytes().await?;
        let answer = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_ANSWER_BYTES)]);
        match status {
            200 => {
                let now = chrono::Utc::now().timestamp();
                for line in answer.lines() {
                    if let Ok(time) = self.witness.verifier.verify(text, line) {
                        self.store
                            .add_cosignature(&self.witness.vkey, head.size, line, time as i64, now)
                            .await
                            .map_err(ServiceError::from)?;
                        return Ok(Round::Cosigned(head.size));
                    }
                }
                Err(PushError::BadCosignature)
            }
            409 => {
                let size = note::parse_size(answer.trim_end_matches('\n')).map_err(|_| {
                    PushError::Refused {
                        status,
                        body: answer.chars().take(200).collect(),
                    }
                })?;
                if size > head.size {
                    return Err(PushError::Ahead(size));
                }
                self.store
                    .set_witness_size(&self.witness.vkey, size, chrono::Utc::now().timestamp())
                    .await
                    .map_err(ServiceError::from)?;
                Ok(Round::Moved(size))
            }
            _ => Err(PushError::Refused {
                status,
                body: answer.chars().take(200).collect(),
            }),
        }
    }
}

/// `old <size>`, the consistency proof a hash a line, an empty line, the checkpoint.
pub fn request_body(old: u64, proof: &[crate::tlog::merkle::Hash], checkpoint: &str) -> String {
    use base64::Engine as _;
    let mut body = format!("old {old}\n");
    for hash in proof {
        body.push_str(&base64::engine::general_purpose::STANDARD.encode(hash));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(checkpoint);
    body
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first unexpected result"
)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::tlog::cosignature::Cosigner;
    use crate::tlog::keys::NamedKey;

    const TEXT: &str = "ikrar.example/log\n7\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    fn setup() -> (Policy, Vec<Cosigner>, String) {
        let a = Cosigner::new("a.example/w", SigningKey::from_bytes(&[5; 32])).unwrap();
        let b = Cosigner::new("b.example/w", SigningKey::from_bytes(&[6; 32])).unwrap();
        let policy = Policy::parse(&format!(
            "witness a {} http://127.0.0.1:1\nwitness b {}\ngroup both all a b\nquorum both\n",
            a.vkey(),
            b.vkey()
        ))
        .unwrap();
        let log = NamedKey::new("ikrar.example/log", SigningKey::from_bytes(&[1; 32]));
        let note = note::sign(TEXT, &log.name, log.signing_key()).unwrap();
        (policy, vec![a, b], note)
    }

    fn line(c: &Cosigner, text: &str) -> (String, String) {
        (
            c.vkey(),
            c.cosign(text, 1_800_000_000).trim_end().to_string(),
        )
    }

    #[test]
    fn the_newest_checkpoint_meeting_the_quorum_is_chosen_with_its_lines() {
        let (policy, ws, note) = setup();
        let older = CosignedCheckpoint {
            size: 7,
            note: note.clone(),
            lines: vec![line(&ws[0], TEXT), line(&ws[1], TEXT)],
        };
        let newer = CosignedCheckpoint {
            size: 9,
            note: note.replace("\n7\n", "\n9\n"),
            lines: vec![line(&ws[0], TEXT)],
        };
        let (size, served) = newest_accepted(&policy, &[newer, older]).unwrap();
        assert_eq!(size, 7);
        assert!(served.starts_with(&note));
        assert_eq!(policy.check_note(&served).unwrap(), vec!["a", "b"]);
        assert!(newest_accepted(&policy, &[]).is_none());
    }

    #[test]
    fn the_request_body_is_the_specs_layout() {
        let body = request_body(3, &[[0u8; 32], [1u8; 32]], "c\n\n— k sig\n");
        assert_eq!(
            body,
            "old 3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
             AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n\nc\n\n— k sig\n"
        );
        assert_eq!(request_body(0, &[], "c\n"), "old 0\n\nc\n");
    }
}
