//! Proof bundles (SPEC 3.5): an entry's c2sp.org/tlog-proof into the newest checkpoint that
//! covers it — the newest the witness policy accepts, with its cosignatures, when one
//! covers the entry, else the newest log-signed one — by log index and for the public by
//! record (the record is the capability).
//! The signer's and HR's bundles, and the one the receipt PDF carries, are
//! [`super::pledge`]'s, built with [`for_index`].

use crate::service::error::{ServiceError, ServiceResult};
use crate::service::log_proofs::inclusion_proof;
use crate::service::witnessing::accepted_checkpoint;
use crate::store::{Store, StoreError};
use crate::tlog::note::Checkpoint;
use crate::tlog::policy::Policy;
use crate::tlog::proof::TlogProof;
use crate::tlog::record::Record;

/// The entry at `index`'s proof into the newest checkpoint that `policy` accepts and that
/// covers it, else into the newest stored checkpoint, which covers every committed entry.
/// The checkpoint is served verbatim, with the signatures it carries.
pub async fn for_index(
    store: &dyn Store,
    policy: Option<&Policy>,
    index: u64,
) -> ServiceResult<TlogProof> {
    if let Some(policy) = policy
        && let Some((size, note)) = accepted_checkpoint(store, policy, index + 1).await?
    {
        return Ok(TlogProof {
            extra: None,
            index,
            hashes: inclusion_proof(store, index, size).await?,
            checkpoint: note,
        });
    }
    let head = store.log_head().await?;
    if index >= head.size || head.checkpoint.is_empty() {
        return Err(not_in_log());
    }
    // The stored checkpoint and the head's size are written in one transaction; a
    // mismatch is corruption, and a proof built on it would not verify.
    let size = checkpoint_size(&head.checkpoint)?;
    if size != head.size {
        return Err(StoreError::Corrupt(format!(
            "the stored checkpoint is for size {size}, the log head for {}",
            head.size
        ))
        .into());
    }
    let hashes = inclusion_proof(store, index, size).await?;
    Ok(TlogProof {
        extra: None,
        index,
        hashes,
        checkpoint: head.checkpoint,
    })
}

/// `GET /api/v1/proof/{record}`: the record (base32) must be in this log byte for byte.
pub async fn for_record(
    store: &dyn Store,
    policy: Option<&Policy>,
    raw: &str,
) -> ServiceResult<TlogProof> {
    let bytes = crate::service::verification::decode_record(raw)?;
    let record = Record::parse(&bytes).map_err(|_| not_in_log())?;
    let index = record.body.log_index;
    if store.log_entry(index).await?.as_deref() != Some(bytes.as_slice()) {
        return Err(not_in_log());
    }
    for_index(store, policy, index).await
}

fn checkpoint_size(note: &str) -> ServiceResult<u64> {
    let text = note
        .rfind("\n\n")
        .map(|at| &note[..at + 1])
        .ok_or_else(|| StoreError::Corrupt("the stored checkpoint is not a note".to_string()))?;
    Ok(Checkpoint::parse(text)
        .map_err(|e| StoreError::Corrupt(format!("the stored checkpoint: {e}")))?
        .size)
}

fn not_in_log() -> ServiceError {
    ServiceError::not_found(
        "not_in_log",
        "Rekaman tidak tercatat di log transparansi server ini.",
    )
}
