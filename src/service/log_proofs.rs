//! RFC 9162 proofs from the stored perfect node hashes (one query, no tree rebuild), for
//! the public proofs, the proof bundles and the witnesses' consistency proofs.

use crate::service::error::{ServiceError, ServiceResult};
use crate::store::{Store, StoreError};
use crate::tlog::merkle::{Hash, ProofPlan};

/// A proof asked for sizes the log cannot prove.
pub fn proof_range(message: String) -> ServiceError {
    ServiceError::malformed("proof_range", message)
}

/// An inclusion proof from stored perfect nodes: one query, no tree rebuild.
pub async fn inclusion_proof(store: &dyn Store, index: u64, size: u64) -> ServiceResult<Vec<Hash>> {
    let plan = ProofPlan::inclusion(index, size)
        .map_err(|e| proof_range(format!("Rentang tidak sah: {e}")))?;
    assemble(store, &plan).await
}

/// A consistency proof from stored perfect nodes, for sizes the caller checked.
pub async fn consistency_proof(store: &dyn Store, old: u64, new: u64) -> ServiceResult<Vec<Hash>> {
    let plan = ProofPlan::consistency(old, new)
        .map_err(|e| proof_range(format!("Rentang tidak sah: {e}")))?;
    assemble(store, &plan).await
}

async fn assemble(store: &dyn Store, plan: &ProofPlan) -> ServiceResult<Vec<Hash>> {
    let nodes = store.log_nodes(&plan.nodes()).await?;
    Ok(plan
        .assemble(|id| nodes.get(&id).copied())
        .map_err(|e| StoreError::Corrupt(format!("log nodes for a proof: {e}")))?)
}
