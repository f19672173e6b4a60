//! `GET /api/v1/verify/{record}` (SPEC 4.1): the [`Verification`] of a scanned record as
//! JSON. The checks are `service::verification`'s; `/v/{record}` renders the same answer.

use axum::Json;
use axum::extract::State;

use crate::http::error::AppResult;
use crate::http::extract::ApiPath;
use crate::http::state::AppState;
use crate::service::verification::{self, Verification};

pub async fn verify_json(
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> AppResult<Json<Verification>> {
    Ok(Json(
        verification::verify(state.store.as_ref(), &state.keys, &state.reads, &raw).await?,
    ))
}
