//! The public log (SPEC 3.5): the latest signed checkpoint and RFC 9162 proofs.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::http::error::{AppError, AppResult};
use crate::http::extract::ApiQuery;
use crate::http::state::AppState;
use crate::store::Store;
use crate::tlog::merkle::{Hash, ProofPlan};
use crate::tlog::sequencer::sign_checkpoint;

/// The latest checkpoint as a signed note. Before the first append, a signed empty tree.
pub async fn checkpoint(State(state): State<AppState>) -> AppResult<impl IntoResponse> {
    let note = current_checkpoint(&state).await?.1;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        note,
    ))
}

/// (tree size, signed checkpoint) of the latest stored head.
pub async fn current_checkpoint(state: &AppState) -> AppResult<(u64, String)> {
    let head = state.store.log_head().await?;
    if head.checkpoint.is_empty() {
        let note = sign_checkpoint(&state.keys, 0, head.root).map_err(AppError::internal)?;
        return Ok((0, note));
    }
    Ok((head.size, head.checkpoint))
}

#[derive(Debug, Deserialize)]
pub struct InclusionQuery {
    index: u64,
    size: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct InclusionProof {
    pub index: u64,
    pub tree_size: u64,
    pub hashes: Vec<String>,
}

pub async fn inclusion(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> AppResult<Json<InclusionProof>> {
    let head = state.store.log_head().await?;
    if q.size == 0 || q.size > head.size || q.index >= q.size {
        return Err(AppError::bad_request(
            "proof_range",
            format!(
                "Rentang tidak sah: perlu 0 ≤ index < size ≤ {} (ukuran log saat ini).",
                head.size
            ),
        ));
    }
    let hashes = inclusion_proof(state.store.as_ref(), q.index, q.size).await?;
    Ok(Json(InclusionProof {
        index: q.index,
        tree_size: q.size,
        hashes: encode(&hashes),
    }))
}

#[derive(Debug, Deserialize)]
pub struct ConsistencyQuery {
    old: u64,
    new: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ConsistencyProof {
    pub old: u64,
    pub new: u64,
    pub hashes: Vec<String>,
}

pub async fn consistency(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> AppResult<Json<ConsistencyProof>> {
    let head = state.store.log_head().await?;
    if q.old == 0 || q.old > q.new || q.new > head.size {
        return Err(AppError::bad_request(
            "proof_range",
            format!(
                "Rentang tidak sah: perlu 0 < old ≤ new ≤ {} (ukuran log saat ini).",
                head.size
            ),
        ));
    }
    let plan = ProofPlan::consistency(q.old, q.new).map_err(AppError::internal)?;
    let hashes = assemble(state.store.as_ref(), &plan).await?;
    Ok(Json(ConsistencyProof {
        old: q.old,
        new: q.new,
        hashes: encode(&hashes),
    }))
}

/// An inclusion proof from stored perfect nodes: one query, no tree rebuild.
pub async fn inclusion_proof(store: &dyn Store, index: u64, size: u64) -> AppResult<Vec<Hash>> {
    let plan = ProofPlan::inclusion(index, size).map_err(AppError::internal)?;
    assemble(store, &plan).await
}

async fn assemble(store: &dyn Store, plan: &ProofPlan) -> AppResult<Vec<Hash>> {
    let nodes = store.log_nodes(&plan.nodes()).await?;
    plan.assemble(|id| nodes.get(&id).copied())
        .map_err(AppError::internal)
}

pub fn encode(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| B64.encode(h)).collect()
}
