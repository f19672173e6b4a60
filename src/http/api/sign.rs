//! `POST /api/v1/sign`: a signer's consent becomes a countersigned, logged pledge.
//! The rules are `service::pledge`'s; this module parses the body and shapes the answer.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use utoipa::ToSchema;

use crate::http::error::{AppError, AppResult, ErrorBody};
use crate::http::extract::{ApiJson, ClientAddr};
use crate::http::state::AppState;
use crate::service::pledge::{self, SignInput};
use crate::service::sequencer::Signed;
use crate::tlog::record::Record;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignRequest {
    /// The token of the signer's link (`/s/{token}`).
    pub token: String,
    /// The signer's name, typed as consent.
    pub consent_name: String,
    /// The drawn mark as SVG, when the campaign asks for one (at most 32 KiB).
    #[serde(default)]
    pub mark_svg: Option<String>,
}

/// The countersigned, logged pledge (SPEC 4.1).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignResponse {
    pub pledge_id: i64,
    pub log_index: u64,
    /// The record, base32.
    pub record: String,
    /// What the QR code holds: the verification link.
    pub qr_text: String,
    /// The statement the signer agreed to.
    pub statement: String,
    /// The signed checkpoint (a signed note) that includes the pledge.
    pub checkpoint: String,
    pub verify_url: String,
    pub receipt_url: String,
}

#[utoipa::path(post, path = "/api/v1/sign", tag = "public",
    request_body = SignRequest,
    responses(
        (status = 201, description = "Signed for the first time.", body = SignResponse),
        (status = 200, description = "Already signed: the same pledge again.", body = SignResponse),
        (status = 400, description = "Malformed JSON.", body = ErrorBody),
        (status = 404, description = "Unknown token.", body = ErrorBody),
        (status = 408, description = "The body came too slowly.", body = ErrorBody),
        (status = 410, description = "Expired or replaced token, or a closed campaign.", body = ErrorBody),
        (status = 413, description = "Over 64 KiB.", body = ErrorBody),
        (status = 415, description = "Not JSON.", body = ErrorBody),
        (status = 422, description = "Breaks a rule: empty consent name, a bad mark.", body = ErrorBody),
        (status = 503, description = "Signing is stopped for now (see `/readyz`); asking again \
            is safe and makes no second pledge.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait, when it is known"))),
    ))]
pub async fn sign(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SignRequest>,
) -> AppResult<(StatusCode, Json<SignResponse>)> {
    let (client_ip, user_agent) = crate::http::extract::evidence(client, &headers);
    let signed = pledge::sign(
        state.store.as_ref(),
        &state.sequencer,
        SignInput {
            token: &req.token,
            consent_name: &req.consent_name,
            mark_svg: req.mark_svg.as_deref(),
            client_ip,
            user_agent,
        },
    )
    .await
    .map_err(AppError::from);
    state.count_sign(&signed);
    let signed = signed?;
    let status = if signed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(response(&state, &req.token, &signed)?)))
}

pub fn response(state: &AppState, raw_token: &str, signed: &Signed) -> AppResult<SignResponse> {
    let record = Record::parse(&signed.record).map_err(AppError::internal)?;
    let b32 = record.to_base32();
    Ok(SignResponse {
        pledge_id: signed.pledge_id,
        log_index: signed.log_index,
        qr_text: state.public_url.qr_text(&b32),
        verify_url: state.public_url.verify_link(&b32),
        receipt_url: state
            .public_url
            .signing_link(&raw_token.trim().to_ascii_uppercase()),
        record: b32,
        statement: signed.statement.clone(),
        checkpoint: signed.checkpoint.clone(),
    })
}
