//! Proof bundles (SPEC 3.5) as `text/plain` c2sp.org/tlog-proof: public by record
//! (`/api/v1/proof/{record}`) and for HR of the pledge's instansi
//! (`/api/v1/pledges/{id}/proof`). The signer's (`/s/{token}/proof`) is in
//! `pages::signing`, beside the receipt PDF.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::http::auth::Caller;
use crate::http::error::{AppResult, ErrorBody};
use crate::http::extract::ApiPath;
use crate::http::state::AppState;
use crate::render::pdf::proof_file_name;
use crate::service::{pledge, proof};
use crate::tlog::proof::TlogProof;

/// The bundle as a file: `ikrar-<index>.tlog-proof`. It follows the log's newest
/// checkpoint, so caches must revalidate.
pub fn response(p: &TlogProof) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}\"", proof_file_name(p.index)),
            ),
            (header::CACHE_CONTROL, "no-cache".to_string()),
        ],
        p.to_text(),
    )
        .into_response()
}

/// `GET /api/v1/proof/{record}`: the record is the capability; 404 when not in this log.
#[utoipa::path(get, path = "/api/v1/proof/{record}", tag = "public",
    params(("record" = String, Path, description = "The record, base32 (either case)")),
    responses(
        (status = 200, description = "The c2sp.org/tlog-proof bundle.", content((String = "text/plain"))),
        (status = 400, description = "Not base32, or a length no record has.", body = ErrorBody),
        (status = 404, description = "The record is not in this log.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ))]
pub async fn by_record(
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> AppResult<Response> {
    Ok(response(
        &proof::for_record(state.store.as_ref(), state.policy.as_deref(), &raw).await?,
    ))
}

/// `GET /api/v1/pledges/{id}/proof`: HR of the pledge's instansi; another's answers 404.
#[utoipa::path(get, path = "/api/v1/pledges/{id}/proof", tag = "hr",
    params(("id" = i64, Path, description = "Pledge id")),
    responses(
        (status = 200, description = "The c2sp.org/tlog-proof bundle.", content((String = "text/plain"))),
        (status = 400, description = "Malformed id.", body = ErrorBody),
        (status = 401, description = "No or bad credentials.", body = ErrorBody),
        (status = 403, description = "The caller has no instansi.", body = ErrorBody),
        (status = 404, description = "No such pledge in the caller's instansi.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn by_pledge(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Response> {
    Ok(response(
        &pledge::proof_for_hr(
            state.store.as_ref(),
            state.policy.as_deref(),
            caller.instansi()?,
            id,
        )
        .await?,
    ))
}
