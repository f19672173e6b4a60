//! `GET /api/v1/lookup?nip=`: does a signed pledge exist for this NIP? Minimal disclosure
//! (SPEC 6): an unknown NIP and a NIP without pledges get the same answer, an empty list.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::error::{AppResult, ErrorBody};
use crate::http::extract::{ApiQuery, ClientAddr};
use crate::http::state::AppState;
use crate::service::verification::{self, LookupItem};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// 18 digits, spaces allowed.
    #[serde(default)]
    nip: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LookupResponse {
    pub pledges: Vec<LookupItem>,
}

#[utoipa::path(get, path = "/api/v1/lookup", tag = "public",
    params(LookupQuery),
    responses(
        (status = 200, description = "The NIP's valid pledges; empty for an unknown NIP.", body = LookupResponse),
        (status = 400, description = "Not a valid NIP, or a malformed query.", body = ErrorBody),
        (status = 429, description = "Too many lookups from this address.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before asking again"))),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ))]
pub async fn lookup(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiQuery(q): ApiQuery<LookupQuery>,
) -> AppResult<Json<LookupResponse>> {
    state.check_lookup_limit(client)?;
    let pledges = verification::lookup(state.store.as_ref(), &q.nip).await?;
    Ok(Json(LookupResponse { pledges }))
}
