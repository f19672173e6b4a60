//! `POST /api/v1/sign`: a signer's consent becomes a countersigned, logged pledge.
//! The rules are `service::pledge`'s; this module parses the body and shapes the answer.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use crate::http::error::{AppError, AppResult};
use crate::http::extract::{ApiJson, ClientAddr};
use crate::http::state::AppState;
use crate::service::pledge::{self, SignInput};
use crate::service::sequencer::Signed;
use crate::tlog::record::Record;

#[derive(Debug, Deserialize)]
pub struct SignRequest {
    pub token: String,
    pub consent_name: String,
    #[serde(default)]
    pub mark_svg: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SignResponse {
    pub pledge_id: i64,
    pub log_index: u64,
    pub record: String,
    pub qr_text: String,
    pub statement: String,
    pub checkpoint: String,
    pub verify_url: String,
    pub receipt_url: String,
}

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
