//! `GET /api/v1/verify/{record}` (SPEC 4.1): the [`Verification`] of a scanned record as
//! JSON. The checks are `service::verification`'s; `/v/{record}` renders the same answer.

use axum::Json;
use axum::extract::State;

use crate::http::error::{AppResult, ErrorBody};
use crate::http::extract::ApiPath;
use crate::http::state::AppState;
use crate::service::verification::{self, Verification};

#[utoipa::path(get, path = "/api/v1/verify/{record}", tag = "public",
    params(("record" = String, Path, description = "The record, base32 (either case)")),
    responses(
        (status = 200, description = "The verification; an invalid record has `valid: false` \
            and a reason, without `pledge` and `inclusion`.", body = Verification),
        (status = 400, description = "Not base32, or a length no record has.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ))]
pub async fn verify_json(
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> AppResult<Json<Verification>> {
    Ok(Json(
        verification::verify(state.store.as_ref(), &state.keys, &state.reads, &raw).await?,
    ))
}
