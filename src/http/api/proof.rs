//! Proof bundles (SPEC 3.5) as `text/plain` c2sp.org/tlog-proof: public by record
//! (`/api/v1/proof/{record}`) and for HR of the pledge's instansi
//! (`/api/v1/pledges/{id}/proof`). The signer's (`/s/{token}/proof`) is in
//! `pages::signing`, beside the receipt PDF.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::http::auth::Caller;
use crate::http::error::AppResult;
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
pub async fn by_record(
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> AppResult<Response> {
    Ok(response(
        &proof::for_record(state.store.as_ref(), state.policy.as_deref(), &raw).await?,
    ))
}

/// `GET /api/v1/pledges/{id}/proof`: HR of the pledge's instansi; another's answers 404.
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
