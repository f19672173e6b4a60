//! The public log (SPEC 3.5): the latest signed checkpoint and RFC 9162 proofs.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use crate::http::error::AppResult;
use crate::http::extract::ApiQuery;
use crate::http::state::AppState;
use crate::service::verification::{self, Inclusion};

/// The latest checkpoint as a signed note. Before the first append, a signed empty tree.
pub async fn checkpoint(State(state): State<AppState>) -> AppResult<impl IntoResponse> {
    let note = verification::current_checkpoint(state.store.as_ref(), &state.keys)
        .await?
        .1;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        note,
    ))
}

#[derive(Debug, Deserialize)]
pub struct InclusionQuery {
    index: u64,
    size: u64,
}

pub async fn inclusion(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> AppResult<Json<Inclusion>> {
    Ok(Json(
        verification::inclusion(state.store.as_ref(), q.index, q.size).await?,
    ))
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
    Ok(Json(ConsistencyProof {
        old: q.old,
        new: q.new,
        hashes: verification::consistency(state.store.as_ref(), q.old, q.new).await?,
    }))
}
