//! `GET /api/v1/lookup?nip=`: does a signed pledge exist for this NIP? Minimal disclosure
//! (SPEC 6): an unknown NIP and a NIP without pledges get the same answer, an empty list.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::http::error::AppResult;
use crate::http::extract::{ApiQuery, ClientAddr};
use crate::http::state::AppState;
use crate::service::verification::{self, LookupItem};

#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    #[serde(default)]
    nip: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LookupResponse {
    pub pledges: Vec<LookupItem>,
}

pub async fn lookup(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiQuery(q): ApiQuery<LookupQuery>,
) -> AppResult<Json<LookupResponse>> {
    state.check_lookup_limit(client)?;
    let pledges = verification::lookup(state.store.as_ref(), &q.nip).await?;
    Ok(Json(LookupResponse { pledges }))
}
