//! `ikrar witness`: a witness (c2sp.org/tlog-witness) that an outside party — Bawaslu, the
//! Ombudsman, a newsroom — runs to cosign the checkpoints of logs it watches, promising
//! never to cosign two views of one log. A separate product in the same binary: it shares
//! the pure engines (`tlog::note`, `tlog::merkle`) and the connection edge, nothing of the
//! log server's state.
//!
//! - cosignature/v1 keys and lines are the pure engine [`crate::tlog::cosignature`].
//! - [`request`]: the `add-checkpoint` request body.
//! - [`state`]: the witness's own SQLite database (latest cosigned size and root per log).
//! - [`server`]: `POST /add-checkpoint` and the status page `GET /`.
//!
//! [`Witness::add_checkpoint`] is the use case; its checks run in the order the spec gives
//! them, so that each refusal has exactly the status code the spec names.

pub mod request;
pub mod server;
pub mod state;

use std::collections::BTreeMap;

use crate::tlog::cosignature::Cosigner;
use crate::tlog::merkle;
use crate::tlog::note::{self, Checkpoint, NoteError, Verifier};
use state::WitnessState;

/// A log the witness watches: its origin (the name of its key, per c2sp.org/tlog-witness
/// and tlog-checkpoint) and the keys whose signatures it accepts (several while a log
/// rotates its key).
#[derive(Clone, Debug)]
pub struct WatchedLog {
    pub origin: String,
    pub keys: Vec<Verifier>,
}

/// Groups verifier keys by name: each name is one log's origin.
pub fn watched_logs(keys: Vec<Verifier>) -> Vec<WatchedLog> {
    let mut by_origin: BTreeMap<String, Vec<Verifier>> = BTreeMap::new();
    for key in keys {
        by_origin.entry(key.name.clone()).or_default().push(key);
    }
    by_origin
        .into_iter()
        .map(|(origin, keys)| WatchedLog { origin, keys })
        .collect()
}

/// Why a checkpoint was not cosigned; each maps to one status code of c2sp.org/tlog-witness.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// 400: the body is not an add-checkpoint request.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// 404: no watched log has this origin.
    #[error("unknown origin {0:?}")]
    UnknownOrigin(String),
    /// 403: no signature verifies under a key of the log.
    #[error("no valid signature by a known key of the log")]
    NotSigned,
    /// 400: `old` is larger than the checkpoint's size.
    #[error("old size {old} is larger than the checkpoint size {size}")]
    OldTooLarge { old: u64, size: u64 },
    /// 409: `old` is not the size the witness last cosigned (given here).
    #[error("old size does not match the latest cosigned size {0}")]
    Conflict(u64),
    /// 422: the checkpoint is not consistent with the one cosigned before.
    #[error("not consistent with the latest cosigned checkpoint: {0}")]
    Inconsistent(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The witness: its cosigning key, the logs it watches, its state.
pub struct Witness {
    pub cosigner: Cosigner,
    pub logs: Vec<WatchedLog>,
    pub state: WitnessState,
}

impl Witness {
    /// Opens the state and registers every watched log (size 0 until first cosigned).
    pub async fn new(
        cosigner: Cosigner,
        logs: Vec<WatchedLog>,
        state: WitnessState,
    ) -> anyhow::Result<Self> {
        for log in &logs {
            state.watch(&log.origin).await?;
        }
        Ok(Self {
            cosigner,
            logs,
            state,
        })
    }

    fn log(&self, origin: &str) -> Option<&WatchedLog> {
        self.logs.iter().find(|l| l.origin == origin)
    }

    /// Handles one add-checkpoint body at `now` (POSIX seconds): checks it, records the new
    /// size and root durably, and only then returns the cosignature line.
    pub async fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<String, Refusal> {
        let body = std::str::from_utf8(body)
            .map_err(|_| Refusal::Malformed("isi permintaan bukan UTF-8".into()))?;
        let req = request::AddCheckpoint::parse(body).map_err(Refusal::Malformed)?;
        let origin = req
            .origin()
            .ok_or_else(|| Refusal::Malformed("checkpoint tidak memiliki baris origin".into()))?;
        let log = self
            .log(origin)
            .ok_or_else(|| Refusal::UnknownOrigin(origin.to_owned()))?;
        let text = match note::open(req.note, &log.keys) {
            Ok(text) => text,
            Err(NoteError::NoTrustedSignature | NoteError::BadSignature(_)) => {
                return Err(Refusal::NotSigned);
            }
            Err(e) => {
                tracing::debug!(error = %e, "malformed signed note");
                return Err(Refusal::Malformed(
                    "checkpoint bukan catatan bertanda tangan (signed note) yang sah".into(),
                ));
            }
        };
        let checkpoint = Checkpoint::parse(text).map_err(|e| {
            tracing::debug!(error = %e, "malformed checkpoint");
            Refusal::Malformed("teks checkpoint tidak sesuai c2sp.org/tlog-checkpoint".into())
        })?;
        if req.old > checkpoint.size {
            return Err(Refusal::OldTooLarge {
                old: req.old,
                size: checkpoint.size,
            });
        }
        if i64::try_from(checkpoint.size).is_err() {
            return Err(Refusal::Malformed("ukuran pohon melebihi 2^63 - 1".into()));
        }
        let latest = self
            .state
            .latest(origin)
            .await?
            .ok_or_else(|| anyhow::anyhow!("watched log {origin} has no state row"))?;
        if req.old != latest.size {
            return Err(Refusal::Conflict(latest.size));
        }
        if let Err(why) = consistent(req.old, &req.proof, &latest.root, &checkpoint) {
            // Signed by the log and still refused: possible evidence of a fork, kept.
            tracing::warn!(
                origin,
                old = req.old,
                size = checkpoint.size,
                why,
                "checkpoint refused"
            );
            self.state.record_refusal(origin, now, why, body).await?;
            return Err(Refusal::Inconsistent(why));
        }
        let timestamp = now.max(1);
        let advanced = self
            .state
            .advance(origin, &latest, &checkpoint, req.note, timestamp)
            .await?;
        if !advanced {
            // Another request moved the log on between our read and our write.
            let size = self.state.latest(origin).await?.map_or(0, |l| l.size);
            return Err(Refusal::Conflict(size));
        }
        tracing::info!(origin, size = checkpoint.size, "checkpoint cosigned");
        Ok(self.cosigner.cosign(text, timestamp))
    }
}

/// Whether `checkpoint` extends the tree of `old` leaves with `old_root` by `proof`.
///
/// Another root at the cosigned size is answered 422 here, as SPEC 3.8 asks: it is a proof
/// of inconsistency like any failed consistency proof. (c2sp.org/tlog-witness names 409
/// for it; a log that meets it cannot recover by retrying either way.)
fn consistent(
    old: u64,
    proof: &[merkle::Hash],
    old_root: &merkle::Hash,
    checkpoint: &Checkpoint,
) -> Result<(), &'static str> {
    if old == checkpoint.size {
        if !proof.is_empty() {
            return Err("bukti antara dua ukuran yang sama harus kosong");
        }
        if checkpoint.root != *old_root {
            return Err("hash akar berbeda pada ukuran yang sudah ditandatangani");
        }
        return Ok(());
    }
    if old == 0 {
        return if proof.is_empty() {
            Ok(())
        } else {
            Err("bukti dari ukuran 0 harus kosong")
        };
    }
    merkle::verify_consistency(old, checkpoint.size, proof, old_root, &checkpoint.root)
        .map_err(|_| "bukti konsistensi tidak terverifikasi")
}

/// POSIX seconds now.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::tlog::merkle::{Frontier, NodeId, ProofPlan};

    const ORIGIN: &str = "log.example/log";

    /// A foreign log: leaves `tag-i`, its perfect nodes kept for proofs.
    #[derive(Clone)]
    struct Log {
        key: SigningKey,
        frontier: Frontier,
        nodes: HashMap<NodeId, merkle::Hash>,
    }

    impl Log {
        fn new(tag: &str, size: u64) -> Self {
            let mut log = Log {
                key: SigningKey::from_bytes(&[0x33; 32]),
                frontier: Frontier::empty(),
                nodes: HashMap::new(),
            };
            log.grow(tag, size);
            log
        }

        fn grow(&mut self, tag: &str, to: u64) {
            while self.frontier.size() < to {
                let leaf = merkle::leaf_hash(format!("{tag}-{}", self.frontier.size()).as_bytes());
                self.nodes.extend(self.frontier.push(leaf));
            }
        }

        fn root(&self, size: u64) -> merkle::Hash {
            ProofPlan::root(size)
                .assemble(|id| self.nodes.get(&id).copied())
                .expect("nodes")[0]
        }

        fn checkpoint(&self, size: u64) -> String {
            let cp = Checkpoint {
                origin: ORIGIN.into(),
                size,
                root: self.root(size),
            };
            note::sign(&cp.to_text(), ORIGIN, &self.key).expect("note")
        }

        fn body(&self, old: u64, size: u64) -> String {
            let proof = if old == 0 || old == size {
                Vec::new()
            } else {
                ProofPlan::consistency(old, size)
                    .expect("sizes")
                    .assemble(|id| self.nodes.get(&id).copied())
                    .expect("nodes")
            };
            let lines: String = proof
                .iter()
                .map(|h| format!("{}\n", STANDARD.encode(h)))
                .collect();
            format!("old {old}\n{lines}\n{}", self.checkpoint(size))
        }
    }

    async fn witness(dir: &tempfile::TempDir) -> Witness {
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let log_key = SigningKey::from_bytes(&[0x33; 32]);
        let logs = watched_logs(vec![Verifier::new(ORIGIN, log_key.verifying_key())]);
        let cosigner =
            Cosigner::new("witness.example/w", SigningKey::from_bytes(&[0x44; 32])).expect("name");
        Witness::new(cosigner, logs, WitnessState::open(&url).await.expect("db"))
            .await
            .expect("witness")
    }

    #[tokio::test]
    async fn cosigns_growth_and_refuses_everything_else_with_its_status() {
        let dir = tempfile::tempdir().expect("dir");
        let w = witness(&dir).await;
        let log = Log::new("a", 20);

        let line = w
            .add_checkpoint(log.body(0, 7).as_bytes(), 1000)
            .await
            .expect("first contact");
        let text = Checkpoint {
            origin: ORIGIN.into(),
            size: 7,
            root: log.root(7),
        }
        .to_text();
        assert_eq!(w.cosigner.verifier().verify(&text, &line), Ok(1000));
        w.add_checkpoint(log.body(7, 20).as_bytes(), 1001)
            .await
            .expect("growth");
        // The same checkpoint again is cosigned again (a log may retry).
        w.add_checkpoint(log.body(20, 20).as_bytes(), 1002)
            .await
            .expect("same size, same root");

        assert!(matches!(
            w.add_checkpoint(log.body(7, 20).as_bytes(), 1003).await,
            Err(Refusal::Conflict(20))
        ));
        assert!(matches!(
            w.add_checkpoint(log.body(0, 20).as_bytes(), 1003).await,
            Err(Refusal::Conflict(20))
        ));
        let mut bigger = Log::new("a", 20);
        bigger.grow("a", 30);
        let mut old_too_large = bigger.body(20, 30);
        old_too_large = old_too_large.replacen("old 20\n", "old 31\n", 1);
        assert!(matches!(
            w.add_checkpoint(old_too_large.as_bytes(), 1003).await,
            Err(Refusal::OldTooLarge { old: 31, size: 30 })
        ));

        // A fork: another tree of the same size, and a larger one from another history.
        let fork = Log::new("b", 30);
        assert!(matches!(
            w.add_checkpoint(fork.body(20, 20).as_bytes(), 1004).await,
            Err(Refusal::Inconsistent(_))
        ));
        assert!(matches!(
            w.add_checkpoint(fork.body(20, 30).as_bytes(), 1004).await,
            Err(Refusal::Inconsistent(_))
        ));
        let latest = w.state.latest(ORIGIN).await.expect("db").expect("row");
        assert_eq!(
            (latest.size, latest.root, latest.refused),
            (20, log.root(20), 2)
        );
        assert_eq!(latest.cosigned_at, Some(1002));
        let kept = w.state.refusals(ORIGIN).await.expect("db");
        assert_eq!(kept.len(), 2);
        assert!(kept[1].2.starts_with("old 20\n"));

        // Signed by a stranger under the log's name, or for a log not watched.
        let mut stranger = Log::new("a", 30);
        stranger.key = SigningKey::from_bytes(&[0x55; 32]);
        assert!(matches!(
            w.add_checkpoint(stranger.body(20, 30).as_bytes(), 1005)
                .await,
            Err(Refusal::NotSigned)
        ));
        let other = bigger.body(20, 30).replace(ORIGIN, "other.example/log");
        assert!(matches!(
            w.add_checkpoint(other.as_bytes(), 1005).await,
            Err(Refusal::UnknownOrigin(_))
        ));
        assert!(matches!(
            w.add_checkpoint(b"old 20\n", 1005).await,
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(
            w.add_checkpoint(&[0xff, 0xfe], 1005).await,
            Err(Refusal::Malformed(_))
        ));
        assert_eq!(
            w.state.latest(ORIGIN).await.expect("db").expect("row").size,
            20
        );

        w.add_checkpoint(bigger.body(20, 30).as_bytes(), 1006)
            .await
            .expect("growth after refusals");
    }

    #[tokio::test]
    async fn extension_lines_are_part_of_the_cosigned_text() {
        let dir = tempfile::tempdir().expect("dir");
        let w = witness(&dir).await;
        let log = Log::new("a", 4);
        let text = format!(
            "{}extension line\n",
            Checkpoint {
                origin: ORIGIN.into(),
                size: 4,
                root: log.root(4),
            }
            .to_text()
        );
        let note = note::sign(&text, ORIGIN, &log.key).expect("note");
        let line = w
            .add_checkpoint(format!("old 0\n\n{note}").as_bytes(), 7)
            .await
            .expect("cosigned");
        assert_eq!(w.cosigner.verifier().verify(&text, &line), Ok(7));
        let without = text.replace("extension line\n", "");
        assert!(w.cosigner.verifier().verify(&without, &line).is_err());
        let stored = w.state.latest(ORIGIN).await.expect("db").expect("row");
        assert_eq!(stored.checkpoint.as_deref(), Some(note.as_str()));
    }

    #[tokio::test]
    async fn a_proof_from_zero_must_be_empty_and_a_bad_proof_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let w = witness(&dir).await;
        let log = Log::new("a", 10);
        let with_proof = log.body(0, 10).replacen(
            "old 0\n",
            &format!("old 0\n{}\n", STANDARD.encode([1u8; 32])),
            1,
        );
        assert!(matches!(
            w.add_checkpoint(with_proof.as_bytes(), 10).await,
            Err(Refusal::Inconsistent(_))
        ));
        w.add_checkpoint(log.body(0, 3).as_bytes(), 11)
            .await
            .expect("first");
        let mut grown = Log::new("a", 10);
        grown.grow("a", 10);
        let good = grown.body(3, 10);
        let first_hash = good.lines().nth(1).expect("a proof line").to_owned();
        let bad = good.replacen(&first_hash, &STANDARD.encode([2u8; 32]), 1);
        assert!(matches!(
            w.add_checkpoint(bad.as_bytes(), 12).await,
            Err(Refusal::Inconsistent(_))
        ));
        w.add_checkpoint(good.as_bytes(), 13).await.expect("good");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_two_concurrent_advances_from_one_size_exactly_one_wins() {
        let dir = tempfile::tempdir().expect("dir");
        let w = std::sync::Arc::new(witness(&dir).await);
        let mut current = Log::new("a", 5);
        w.add_checkpoint(current.body(0, 5).as_bytes(), 1)
            .await
            .expect("first");
        for round in 0..10u64 {
            let size = current.frontier.size();
            let mut a = current.clone();
            a.grow(&format!("a{round}"), size + 3);
            let mut b = current.clone();
            b.grow(&format!("b{round}"), size + 3);
            let (wa, wb) = (w.clone(), w.clone());
            let (ba, bb) = (a.body(size, size + 3), b.body(size, size + 3));
            let ta = tokio::spawn(async move { wa.add_checkpoint(ba.as_bytes(), 2).await });
            let tb = tokio::spawn(async move { wb.add_checkpoint(bb.as_bytes(), 2).await });
            let results = [ta.await.expect("task"), tb.await.expect("task")];
            let won = results.iter().filter(|r| r.is_ok()).count();
            assert_eq!(won, 1, "round {round}: {results:?}");
            current = if results[0].is_ok() { a } else { b };
            let latest = w.state.latest(ORIGIN).await.expect("db").expect("row");
            assert_eq!(latest.root, current.root(size + 3));
            for r in &results {
                if let Err(e) = r {
                    assert!(matches!(e, Refusal::Conflict(s) if *s == size + 3), "{e:?}");
                }
            }
        }
    }
}
