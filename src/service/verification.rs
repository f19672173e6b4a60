//! Verification for the public (SPEC 3.2, 3.5, 6): check a scanned record against the
//! published keys, the log and the stored statement; look up a NIP with minimal
//! disclosure; serve the latest checkpoint and RFC 9162 proofs. The record is the
//! capability: its holder sees what the printed paper shows, never more (no drawn
//! signature, no IP, no roster). `ikrar verify` checks offline in [`super::offline`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;
use sha2::Digest as _;

use crate::domain::instansi::{TimeZone, today_in_indonesia};
use crate::domain::nip::{EmployeeKind, Nip, StaffId};
use crate::domain::statement::format_time;
use crate::domain::text::mask_name;
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::log_proofs::{consistency_proof, inclusion_proof, proof_range};
use crate::service::read_cache::ReadCache;
use crate::service::sequencer::Keys;
use crate::store::{PledgeView, Store, StoreError};
use crate::tlog::keys::{KeyPurpose, KeyWindow};
use crate::tlog::merkle::Hash;
use crate::tlog::record::{Format, Record};

/// The answer for one record, served as JSON (SPEC 4.1) and rendered as the page.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Verification {
    pub valid: bool,
    /// Why it is not valid: a stable code and a sentence for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub annulled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pledge: Option<PledgeDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annulment: Option<AnnulmentDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inclusion: Option<Inclusion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaf_hash: Option<String>,
    /// The signed checkpoint the inclusion proof leads to.
    pub checkpoint: String,
}

/// What the record itself says.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RecordFields {
    pub format: u8,
    pub key_id: String,
    pub log_index: u64,
    pub sequenced_at: String,
    /// 18 digits, or empty for non-ASN staff.
    pub nip: String,
    pub template_no: u16,
    pub name: String,
}

/// What the printed paper shows (SPEC 6); a non-ASN staff number masked.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PledgeDetails {
    pub name: String,
    pub nip: String,
    pub kind: String,
    pub unit: String,
    pub instansi: String,
    pub campaign: String,
    pub template: String,
    pub template_title: String,
    pub signed_at: String,
    /// Absent for non-ASN staff: it carries the full staff number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annulled_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annul_category: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct AnnulmentDetails {
    pub pledge_log_index: i64,
    pub category: Option<String>,
    pub annulled_at: Option<String>,
    pub text: String,
}

#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Inclusion {
    pub index: u64,
    pub tree_size: u64,
    pub hashes: Vec<String>,
}

impl Verification {
    fn invalid(
        code: &'static str,
        reason: &str,
        record: Option<RecordFields>,
        checkpoint: &str,
    ) -> Verification {
        Verification {
            valid: false,
            reason_code: Some(code),
            reason: Some(reason.to_string()),
            annulled: false,
            record,
            pledge: None,
            annulment: None,
            inclusion: None,
            leaf_hash: None,
            checkpoint: checkpoint.to_string(),
        }
    }
}

fn utc(unix: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(unix, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn zone(p: &PledgeView) -> TimeZone {
    p.tz
}

/// A record as a client sends it (base32, either case). Only a string that is not base32,
/// or decodes to a length no record can have, is refused: 400 `record_malformed`.
pub fn decode_record(raw: &str) -> ServiceResult<Vec<u8>> {
    Record::decode_base32(raw).map_err(|_| {
        ServiceError::malformed(
            "record_malformed",
            "Kode rekaman tidak sah: bukan base32 atau panjangnya tidak mungkin.",
        )
        .field("record")
    })
}

/// Checks one base32 record. Only a string that is not base32, or decodes to a length no
/// record can have, is refused (`record_malformed`); every other answer is a
/// [`Verification`], valid or not. Keys, the checkpoint, upper proof nodes and signatures
/// already checked come from `reads`; the entry and its pledge row are one query, so an
/// annulment shows at once.
pub async fn verify(
    store: &dyn Store,
    keys: &Keys,
    reads: &ReadCache,
    raw: &str,
) -> ServiceResult<Verification> {
    let bytes = decode_record(raw)?;
    let Ok(record) = Record::parse(&bytes) else {
        let head = reads.head(store, keys, 0).await?;
        return Ok(Verification::invalid(
            "record_unparseable",
            "Rekaman tidak dapat dibaca.",
            None,
            &head.note,
        ));
    };
    let head = reads.head(store, keys, record.body.log_index + 1).await?;
    let (checkpoint_size, checkpoint) = (head.size, head.note.to_string());
    let body = &record.body;
    let fields = RecordFields {
        format: body.format as u8,
        key_id: hex::encode(body.key_id),
        log_index: body.log_index,
        sequenced_at: utc(body.sequenced_at as i64),
        nip: if body.nip == 0 {
            String::new()
        } else {
            format!("{:018}", body.nip)
        },
        template_no: body.template_no,
        name: body.name.clone(),
    };
    let published = reads.keys(store).await?;
    let at = body.sequenced_at as i64;
    let key = published.iter().find(|k| {
        k.purpose == KeyPurpose::Pledge
            && k.key_id == body.key_id
            && KeyWindow {
                not_before: k.not_before,
                not_after: k.not_after,
            }
            .covers(at)
    });
    let Some(key) = key else {
        return Ok(Verification::invalid(
            "key_unknown",
            "Rekaman tidak ditandatangani dengan kunci ikrar yang diterbitkan server ini.",
            Some(fields),
            &checkpoint,
        ));
    };
    let digest: [u8; 32] = sha2::Sha256::digest(&bytes).into();
    if !reads.signature_checked(&digest) {
        let verifying = key
            .public_key
            .as_slice()
            .try_into()
            .ok()
            .and_then(|b: [u8; 32]| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
            .ok_or_else(|| {
                StoreError::Corrupt("a published key is not a valid Ed25519 key".to_string())
            })?;
        if record.verify_signature(&verifying).is_err() {
            return Ok(Verification::invalid(
                "signature_invalid",
                "Tanda tangan digital rekaman tidak sah: rekaman telah diubah.",
                Some(fields),
                &checkpoint,
            ));
        }
        reads.remember_signature(digest);
    }
    let not_in_log = |fields| {
        Verification::invalid(
            "not_in_log",
            "Rekaman tidak tercatat di log transparansi server ini.",
            Some(fields),
            &checkpoint,
        )
    };
    if body.log_index >= checkpoint_size {
        return Ok(not_in_log(fields));
    }
    let annulment = body.format != Format::Pledge;
    let Some(logged) = store.logged_pledge(body.log_index, annulment).await? else {
        // No entry at that index, another record there, or (corruption) no pledge row.
        if store.log_entry(body.log_index).await?.as_deref() == Some(bytes.as_slice()) {
            return Err(StoreError::Corrupt(format!(
                "a logged {} has no pledge row",
                if annulment {
                    "annulment"
                } else {
                    "pledge record"
                }
            ))
            .into());
        }
        return Ok(not_in_log(fields));
    };
    if logged.record != bytes {
        return Ok(not_in_log(fields));
    }
    let mut out = Verification {
        valid: true,
        reason_code: None,
        reason: None,
        annulled: false,
        record: None,
        pledge: None,
        annulment: None,
        inclusion: None,
        leaf_hash: None,
        checkpoint: checkpoint.clone(),
    };
    let p = logged.view;
    if !annulment {
        if !record.commits_to(&p.statement) {
            return Ok(Verification::invalid(
                "statement_mismatch",
                "Teks pernyataan yang tersimpan tidak cocok dengan rekaman.",
                Some(fields),
                &checkpoint,
            ));
        }
        let tz = zone(&p);
        let non_asn = p.kind == EmployeeKind::NonAsn;
        out.annulled = p.annulled_at.is_some();
        out.pledge = Some(PledgeDetails {
            nip: StaffId::from_stored(p.kind, &p.number)
                .map(|id| id.masked())
                .unwrap_or_else(|| "***".to_string()),
            kind: p.kind.as_str().to_string(),
            unit: p.unit_name.clone(),
            instansi: p.instansi_name.clone(),
            campaign: p.campaign_title.clone(),
            template: format!("{}@{}", p.template_code, p.template_version),
            template_title: p.template_title.clone(),
            signed_at: format_time(tz.at(p.signed_at)),
            // A non-ASN statement carries the full staff number, which public pages mask.
            statement: (!non_asn).then(|| p.statement.clone()),
            annulled_at: p.annulled_at.map(|at| format_time(tz.at(at))),
            annul_category: p.annulled_at.and(p.annul_category.clone()),
            name: p.name,
        });
    } else {
        let text = p.annul_text.clone().unwrap_or_default();
        if !record.commits_to(&text) {
            return Ok(Verification::invalid(
                "statement_mismatch",
                "Teks pembatalan yang tersimpan tidak cocok dengan rekaman.",
                Some(fields),
                &checkpoint,
            ));
        }
        let tz = zone(&p);
        out.annulment = Some(AnnulmentDetails {
            pledge_log_index: p.log_index,
            category: p.annul_category.clone(),
            annulled_at: p.annulled_at.map(|t| format_time(tz.at(t))),
            text,
        });
    }
    let hashes = reads
        .inclusion_proof(store, body.log_index, checkpoint_size)
        .await?;
    out.inclusion = Some(Inclusion {
        index: body.log_index,
        tree_size: checkpoint_size,
        hashes: encode(&hashes),
    });
    out.leaf_hash = Some(B64.encode(record.leaf_hash()));
    out.record = Some(fields);
    Ok(out)
}

/// One pledge as the NIP lookup shows it (SPEC 6): no unit, no roster, no evidence.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct LookupItem {
    pub template: String,
    pub template_title: String,
    pub campaign: String,
    pub instansi: String,
    pub signed_on: String,
    pub name_masked: String,
    pub log_index: i64,
    pub annulled: bool,
}

/// The pledges of a NIP as the public may see them; an unknown NIP and one without pledges
/// answer alike (an empty list). A malformed NIP is refused as a malformed parameter.
pub async fn lookup(store: &dyn Store, raw_nip: &str) -> ServiceResult<Vec<LookupItem>> {
    let nip = Nip::parse(raw_nip, today_in_indonesia())
        .map_err(|e| ServiceError::malformed(e.code, e.message).field(e.field))?;
    let rows = store.lookup(nip.as_str()).await?;
    Ok(rows
        .into_iter()
        .map(|p| LookupItem {
            signed_on: zone(&p).at(p.signed_at).format("%Y-%m-%d").to_string(),
            template: format!("{}@{}", p.template_code, p.template_version),
            template_title: p.template_title,
            campaign: p.campaign_title,
            instansi: p.instansi_name,
            name_masked: mask_name(&p.name),
            log_index: p.log_index,
            annulled: p.annulled_at.is_some(),
        })
        .collect())
}

/// An inclusion proof against a tree size the log has reached.
pub async fn inclusion(store: &dyn Store, index: u64, size: u64) -> ServiceResult<Inclusion> {
    let head = store.log_head().await?;
    if size == 0 || size > head.size || index >= size {
        return Err(proof_range(format!(
            "Rentang tidak sah: perlu 0 ≤ index < size ≤ {} (ukuran log saat ini).",
            head.size
        )));
    }
    let hashes = inclusion_proof(store, index, size).await?;
    Ok(Inclusion {
        index,
        tree_size: size,
        hashes: encode(&hashes),
    })
}

/// A consistency proof between two sizes the log has reached.
pub async fn consistency(store: &dyn Store, old: u64, new: u64) -> ServiceResult<Vec<String>> {
    let head = store.log_head().await?;
    if old == 0 || old > new || new > head.size {
        return Err(proof_range(format!(
            "Rentang tidak sah: perlu 0 < old ≤ new ≤ {} (ukuran log saat ini).",
            head.size
        )));
    }
    Ok(encode(&consistency_proof(store, old, new).await?))
}

pub fn encode(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| B64.encode(h)).collect()
}
