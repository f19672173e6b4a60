//! Offline verification (`ikrar verify`): a QR text or a receipt PDF checked against keys the
//! user trusts — a key file (the JSON of `/api/v1/keys`) or the keys of a URL the user names.
//! Never the keys of the host inside a QR. A receipt PDF's attached tlog-proof is checked
//! offline too: the checkpoint under a trusted log key, and the record's inclusion. Pure
//! except for [`fetch_keys`] and [`check_log`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::domain::statement::Statement;
use crate::tlog::keys::KeyWindow;
use crate::tlog::merkle::{hash_from_slice, leaf_hash, verify_inclusion};
use crate::tlog::note::{Checkpoint, NoteError, Verifier};
use crate::tlog::policy::{Policy, QuorumError};
use crate::tlog::proof::{MAX_PROOF_BYTES, ProofError, TlogProof};
use crate::tlog::record::{Format, Record};

/// Why a record is not valid; one line, Indonesian, for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid(msg: impl Into<String>) -> Invalid {
    Invalid(msg.into())
}

/// One published key (SPEC 4.1), as `/api/v1/keys` lists it and verifiers trust it.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct PublishedKey {
    pub name: String,
    /// Lowercase hex.
    pub key_id: String,
    /// `pledge` or `log`.
    pub purpose: String,
    /// Base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    /// The signed-note verifier key.
    pub vkey: String,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339; absent while the key is current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
}

/// Every pledge and log key ever used: the JSON of `/api/v1/keys`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct KeySet {
    pub keys: Vec<PublishedKey>,
}

impl PublishedKey {
    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> Result<VerifyingKey, Invalid> {
        let bad = || invalid(format!("kunci publik {} tidak sah", self.key_id));
        let bytes: [u8; 32] = B64
            .decode(&self.public_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(bad)?;
        VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
    }
}

impl KeySet {
    pub fn parse(json: &str) -> Result<KeySet, Invalid> {
        serde_json::from_str(json).map_err(|e| invalid(format!("berkas kunci tidak sah: {e}")))
    }

    /// The published pledge key with `key_id`, when its window contains `at`.
    pub fn pledge_key(
        &self,
        key_id: &[u8; 4],
        at: u64,
    ) -> Result<(&PublishedKey, VerifyingKey), Invalid> {
        let key = self.pledge_key_at(key_id, at)?;
        Ok((key, key.verifying_key()?))
    }

    /// [`KeySet::pledge_key`] without decoding the key, for callers that keep it decoded.
    pub fn pledge_key_at(&self, key_id: &[u8; 4], at: u64) -> Result<&PublishedKey, Invalid> {
        let id = hex::encode(key_id);
        let key = self
            .keys
            .iter()
            .find(|k| k.purpose == "pledge" && k.key_id == id)
            .ok_or_else(|| {
                invalid(format!(
                    "kunci {id} tidak ada di antara kunci yang dipercaya"
                ))
            })?;
        let unix = |t: &str| chrono::DateTime::parse_from_rfc3339(t).map(|t| t.timestamp());
        let window = KeyWindow {
            // An unreadable bound does not narrow the window, as before.
            not_before: unix(&key.not_before).unwrap_or(i64::MIN),
            not_after: key.not_after.as_deref().and_then(|t| unix(t).ok()),
        };
        if !window.covers(at as i64) {
            return Err(invalid(format!(
                "rekaman dibuat di luar masa berlaku kunci {id}"
            )));
        }
        Ok(key)
    }

    pub fn log_verifier(&self) -> Result<Verifier, Invalid> {
        let key = self
            .keys
            .iter()
            .rev()
            .find(|k| k.purpose == "log" && k.not_after.is_none())
            .or_else(|| self.keys.iter().rev().find(|k| k.purpose == "log"))
            .ok_or_else(|| invalid("tidak ada kunci log"))?;
        Verifier::from_vkey(&key.vkey).map_err(|e| invalid(format!("kunci log tidak sah: {e}")))
    }

    /// Every log key, retired ones included: a PDF rendered before a rotation carries a
    /// checkpoint the previous log key signed.
    pub fn log_verifiers(&self) -> Result<Vec<Verifier>, Invalid> {
        let verifiers = self
            .keys
            .iter()
            .filter(|k| k.purpose == "log")
            .map(|k| {
                Verifier::from_vkey(&k.vkey)
                    .map_err(|e| invalid(format!("kunci log tidak sah: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if verifiers.is_empty() {
            return Err(invalid("tidak ada kunci log"));
        }
        Ok(verifiers)
    }
}

/// A record that passed: which key signed it and what it says.
#[derive(Debug, Clone)]
pub struct Verified {
    pub record: Record,
    pub key_name: String,
    pub statement: Option<Statement>,
    /// The size of the checkpoint a PDF's attached tlog-proof proved the record into;
    /// `None` when there was no proof to check (a QR text, an older PDF).
    pub included_in: Option<u64>,
    /// That proof's checkpoint note, with its cosignatures.
    pub checkpoint: Option<String>,
}

/// Splits `<SCHEME>://<HOST>/V/<BASE32>` (either case) into HOST (lowercase) and the record.
pub fn parse_qr_text(text: &str) -> Result<(String, Vec<u8>), Invalid> {
    let t = text.trim();
    let rest = t
        .split_once("://")
        .map(|(_, r)| r)
        .ok_or_else(|| invalid("teks QR bukan tautan ikrar"))?;
    let (host, path) = rest
        .split_once('/')
        .ok_or_else(|| invalid("teks QR bukan tautan ikrar"))?;
    let b32 = path
        .strip_prefix("V/")
        .or_else(|| path.strip_prefix("v/"))
        .ok_or_else(|| invalid("teks QR bukan tautan verifikasi ikrar (/V/…)"))?;
    let bytes =
        Record::decode_base32(b32).map_err(|e| invalid(format!("rekaman tidak sah: {e}")))?;
    Ok((host.to_ascii_lowercase(), bytes))
}

/// Checks a record's signature against trusted keys. When `host` is given (from a QR), the
/// signing key's name must belong to that host.
pub fn verify_record(bytes: &[u8], keys: &KeySet, host: Option<&str>) -> Result<Verified, Invalid> {
    let record =
        Record::parse(bytes).map_err(|e| invalid(format!("rekaman tidak dapat dibaca: {e}")))?;
    let (key, vk) = keys.pledge_key(&record.body.key_id, record.body.sequenced_at)?;
    if let Some(host) = host {
        let key_host = key.name.strip_suffix("/pledge").unwrap_or(&key.name);
        if !key_host.eq_ignore_ascii_case(host) {
            return Err(invalid(format!(
                "host di QR ({host}) bukan host kunci penandatangan ({key_host})"
            )));
        }
    }
    record
        .verify_signature(&vk)
        .map_err(|_| invalid("tanda tangan digital tidak sah: rekaman telah diubah"))?;
    Ok(Verified {
        record,
        key_name: key.name.clone(),
        statement: None,
        included_in: None,
        checkpoint: None,
    })
}

/// Checks a receipt PDF: the embedded record's signature, that it commits to the embedded
/// statement, and that the printed name and NIP are the statement's.
pub fn verify_pdf(pdf: &[u8], keys: &KeySet) -> Result<Verified, Invalid> {
    let (b32, statement_text) = crate::render::pdf::extract(pdf)
        .map_err(|e| invalid(format!("PDF tidak dapat dibaca: {e}")))?
        .ok_or_else(|| invalid("PDF ini tidak memuat rekaman ikrar"))?;
    let bytes = Record::decode_base32(&b32)
        .map_err(|e| invalid(format!("rekaman di PDF tidak sah: {e}")))?;
    let mut verified = verify_record(&bytes, keys, None)?;
    if verified.record.body.format != Format::Pledge {
        return Err(invalid("rekaman di PDF bukan ikrar"));
    }
    if !verified.record.commits_to(&statement_text) {
        return Err(invalid(
            "teks pernyataan di PDF telah diubah (hash tidak cocok dengan rekaman)",
        ));
    }
    let statement = Statement::parse(&statement_text).map_err(|e| invalid(e.message))?;
    let printed = crate::render::pdf::extract_printed(pdf)
        .map_err(|e| invalid(format!("PDF tidak dapat dibaca: {e}")))?
        .ok_or_else(|| invalid("nama dan NIP tercetak tidak ditemukan di PDF"))?;
    if crate::domain::text::normalize(&printed.name) != statement.name {
        return Err(invalid(format!(
            "nama tercetak ({}) berbeda dengan pernyataan ({})",
            printed.name, statement.name
        )));
    }
    let digits = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let stated = statement
        .nip
        .strip_prefix("staff:")
        .unwrap_or(&statement.nip);
    if digits(&printed.nip) != digits(stated) {
        return Err(invalid(format!(
            "NIP tercetak ({}) berbeda dengan pernyataan ({stated})",
            printed.nip
        )));
    }
    verified.statement = Some(statement);
    let name = crate::render::pdf::proof_file_name(verified.record.body.log_index);
    let attached = crate::render::pdf::extract_attachment(pdf, &name, MAX_PROOF_BYTES)
        .map_err(|_| invalid(format!("bukti log {name} di PDF tidak dapat dibaca")))?;
    if let Some(bytes) = attached {
        let (size, checkpoint) = check_proof_note(&bytes, keys, &verified.record)?;
        verified.included_in = Some(size);
        verified.checkpoint = Some(checkpoint);
    }
    Ok(verified)
}

/// Checks a tlog-proof (c2sp.org/tlog-proof) of `record` offline: the checkpoint carries a
/// valid signature by one of the trusted log keys, names this log, and the record is at its
/// index in that tree. Returns the checkpoint's size.
pub fn check_proof(text: &[u8], keys: &KeySet, record: &Record) -> Result<u64, Invalid> {
    check_proof_note(text, keys, record).map(|(size, _)| size)
}

/// [`check_proof`], also returning the proof's checkpoint note.
fn check_proof_note(text: &[u8], keys: &KeySet, record: &Record) -> Result<(u64, String), Invalid> {
    let bad = |why: &str| invalid(format!("bukti log tidak sah: {why}"));
    let text = std::str::from_utf8(text).map_err(|_| bad("bukan teks UTF-8"))?;
    let proof =
        TlogProof::parse(text).map_err(|_| bad("bukan berkas c2sp.org/tlog-proof yang utuh"))?;
    let index = record.body.log_index;
    if proof.index != index {
        return Err(bad(&format!(
            "bukti untuk indeks {}, padahal rekaman berindeks {index}",
            proof.index
        )));
    }
    let origin = keys.log_verifier()?.name;
    let checkpoint = proof
        .verify(&record.to_bytes(), &origin, &keys.log_verifiers()?)
        .map_err(|e| match e {
            ProofError::Note(NoteError::BadSignature(_) | NoteError::NoTrustedSignature) => {
                bad("checkpoint tidak ditandatangani kunci log yang dipercaya (bukti telah diubah)")
            }
            ProofError::Note(_) | ProofError::Malformed(_) => bad("checkpoint rusak"),
            ProofError::Origin { found, .. } => {
                bad(&format!("checkpoint berasal dari log lain ({found})"))
            }
            ProofError::OutOfRange { size, .. } => bad(&format!(
                "checkpoint (ukuran {size}) tidak mencakup indeks {index}"
            )),
            ProofError::Inclusion(_) => {
                bad("rekaman tidak tercatat di log menurut bukti ini (bukti inklusi gagal)")
            }
        })?;
    Ok((checkpoint.size, proof.checkpoint))
}

/// Checks a checkpoint note against a witness policy (c2sp.org/tlog-policy): signed by one
/// of the policy's logs when it lists any, and cosigned by its quorum. Returns the names of
/// the witnesses that cosigned.
pub fn check_quorum(note: &str, policy: &Policy) -> Result<Vec<String>, Invalid> {
    if !policy.logs.is_empty() {
        let logs: Vec<Verifier> = policy.logs.iter().map(|l| l.verifier.clone()).collect();
        crate::tlog::note::open(note, &logs).map_err(|_| {
            invalid("checkpoint tidak ditandatangani log yang disebut dalam kebijakan saksi")
        })?;
    }
    policy.check_note(note).map_err(|e| match e {
        QuorumError::NotMet { cosigned } if cosigned.is_empty() => invalid(
            "kuorum saksi tidak terpenuhi: checkpoint belum ditandatangani bersama saksi mana pun",
        ),
        QuorumError::NotMet { cosigned } => invalid(format!(
            "kuorum saksi tidak terpenuhi: hanya ditandatangani bersama oleh {}",
            cosigned.join(", ")
        )),
        QuorumError::Note(_) => invalid("checkpoint rusak"),
    })
}

/// The keys a user trusts, as `ikrar verify` and `ikrar verifier` take them: the JSON of
/// `/api/v1/keys` saved to a file, or a server's URL whose keys are fetched.
pub async fn load_keys(client: &reqwest::Client, keys_arg: &str) -> Result<KeySet, Invalid> {
    if is_url(keys_arg) {
        fetch_keys(client, keys_arg).await
    } else {
        let text = std::fs::read_to_string(keys_arg)
            .map_err(|e| invalid(format!("berkas kunci {keys_arg} tidak terbaca: {e}")))?;
        KeySet::parse(&text)
    }
}

/// Whether a `--keys` argument names a server rather than a file.
pub fn is_url(keys_arg: &str) -> bool {
    keys_arg.starts_with("http://") || keys_arg.starts_with("https://")
}

/// Fetches the keys a user named by URL (`https://host` → `https://host/api/v1/keys`).
pub async fn fetch_keys(client: &reqwest::Client, base: &str) -> Result<KeySet, Invalid> {
    let url = format!("{}/api/v1/keys", base.trim_end_matches('/'));
    let text = get_text(client, &url).await?;
    KeySet::parse(&text)
}

async fn get_text(client: &reqwest::Client, url: &str) -> Result<String, Invalid> {
    let res = client
        .get(url)
        .send()
        .await
        .map_err(|e| invalid(format!("tidak dapat menghubungi {url}: {e}")))?;
    if !res.status().is_success() {
        return Err(invalid(format!("{url} menjawab {}", res.status())));
    }
    res.text()
        .await
        .map_err(|e| invalid(format!("jawaban {url} tidak terbaca: {e}")))
}

/// Online part: the record's leaf is in the log under the URL's published checkpoint;
/// returns the checkpoint's size and note.
pub async fn check_log(
    client: &reqwest::Client,
    base: &str,
    keys: &KeySet,
    record: &Record,
) -> Result<(u64, String), Invalid> {
    let base = base.trim_end_matches('/');
    let note = get_text(client, &format!("{base}/log/checkpoint")).await?;
    let text = crate::tlog::note::open(&note, &[keys.log_verifier()?])
        .map_err(|e| invalid(format!("checkpoint tidak sah: {e}")))?;
    let cp = Checkpoint::parse(text).map_err(|e| invalid(format!("checkpoint tidak sah: {e}")))?;
    let index = record.body.log_index;
    if index >= cp.size {
        return Err(invalid(format!(
            "indeks log {index} di luar checkpoint (ukuran {})",
            cp.size
        )));
    }
    #[derive(Deserialize)]
    struct Proof {
        hashes: Vec<String>,
    }
    let proof: Proof = serde_json::from_str(
        &get_text(
            client,
            &format!("{base}/api/v1/log/inclusion?index={index}&size={}", cp.size),
        )
        .await?,
    )
    .map_err(|e| invalid(format!("bukti inklusi tidak terbaca: {e}")))?;
    let hashes = proof
        .hashes
        .iter()
        .map(|h| {
            B64.decode(h)
                .ok()
                .and_then(|b| hash_from_slice(&b).ok())
                .ok_or_else(|| invalid("bukti inklusi tidak terbaca"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    verify_inclusion(
        &leaf_hash(&record.to_bytes()),
        index,
        cp.size,
        &hashes,
        &cp.root,
    )
    .map_err(|_| invalid("rekaman tidak tercatat di log transparansi (bukti inklusi gagal)"))?;
    Ok((cp.size, note))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first unexpected result"
)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::tlog::keys::NamedKey;
    use crate::tlog::merkle::{Frontier, ProofPlan};
    use crate::tlog::note;
    use crate::tlog::record::RecordBody;

    const HOST: &str = "ikrar.example";

    fn named(name: &str, seed: u8) -> NamedKey {
        NamedKey::new(
            &format!("{HOST}/{name}"),
            SigningKey::from_bytes(&[seed; 32]),
        )
    }

    fn published(key: &NamedKey, purpose: &str, not_after: Option<&str>) -> serde_json::Value {
        serde_json::json!({
            "name": key.name, "key_id": hex::encode(key.key_id), "purpose": purpose,
            "public_key": B64.encode(key.public_bytes()), "vkey": key.vkey(),
            "not_before": "2026-01-01T00:00:00Z", "not_after": not_after,
        })
    }

    /// Three records in a log; the proof of the second, its checkpoint signed by `log`.
    fn logged(log: &NamedKey) -> (Record, String) {
        let pledge = named("pledge", 1);
        let records: Vec<Record> = (0..3)
            .map(|i| {
                RecordBody {
                    format: Format::Pledge,
                    key_id: pledge.key_id,
                    log_index: i,
                    sequenced_at: 1_795_400_000 + i,
                    nip: 198_503_302_010_011_001,
                    template_no: 1,
                    statement_hash: [i as u8; 16],
                    name: RecordBody::new_name("Budi"),
                }
                .sign(&pledge)
            })
            .collect();
        let mut frontier = Frontier::empty();
        let mut nodes = std::collections::HashMap::new();
        for r in &records {
            nodes.extend(frontier.push(r.leaf_hash()));
        }
        let hashes = ProofPlan::inclusion(1, 3)
            .unwrap()
            .assemble(|id| nodes.get(&id).copied())
            .unwrap();
        let body = Checkpoint {
            origin: format!("{HOST}/log"),
            size: 3,
            root: frontier.root(),
        }
        .to_text();
        let proof = TlogProof {
            extra: None,
            index: 1,
            hashes,
            checkpoint: note::sign(&body, &log.name, log.signing_key()).unwrap(),
        };
        (records[1].clone(), proof.to_text())
    }

    #[test]
    fn a_proof_under_a_retired_log_key_still_verifies() {
        let (old, new) = (named("log", 2), named("log", 3));
        let keys = KeySet::parse(
            &serde_json::json!({"keys": [
                published(&named("pledge", 1), "pledge", None),
                published(&old, "log", Some("2026-06-01T00:00:00Z")),
                published(&new, "log", None),
            ]})
            .to_string(),
        )
        .unwrap();
        let (record, proof) = logged(&old);
        assert_eq!(check_proof(proof.as_bytes(), &keys, &record), Ok(3));
        let (record, proof) = logged(&new);
        assert_eq!(check_proof(proof.as_bytes(), &keys, &record), Ok(3));
    }

    #[test]
    fn a_proof_fails_with_a_reason_in_indonesian() {
        let log = named("log", 2);
        let keys =
            KeySet::parse(&serde_json::json!({"keys": [published(&log, "log", None)]}).to_string())
                .unwrap();
        let (record, proof) = logged(&log);
        let reason = |text: &[u8], record: &Record| check_proof(text, &keys, record).unwrap_err().0;
        // Signed by a key the user does not trust.
        let (_, foreign) = logged(&named("log", 9));
        assert!(reason(foreign.as_bytes(), &record).contains("tidak ditandatangani kunci log"));
        assert!(reason(b"\xff\xfe", &record).contains("bukan teks UTF-8"));
        assert!(reason(b"c2sp.org/tlog-proof@v1\n", &record).contains("c2sp.org/tlog-proof"));
        // Another record at the same index: inclusion fails.
        let mut other = record.clone();
        other.body.name = RecordBody::new_name("Orang Lain");
        assert!(reason(proof.as_bytes(), &other).contains("bukti inklusi gagal"));
        let mut moved = record.clone();
        moved.body.log_index = 2;
        assert!(reason(proof.as_bytes(), &moved).contains("bukti untuk indeks 1"));
    }
}
