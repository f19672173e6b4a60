//! `POST /api/v1/sign`: a signer's consent becomes a countersigned, logged pledge.
//! Repeats — a double tap, a retry after a dropped connection, a race — get the same pledge.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};

use crate::domain::mark::Mark;
use crate::domain::{text, token};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{ApiJson, ClientAddr};
use crate::http::state::AppState;
use crate::store::SignContext;
use crate::tlog::record::Record;
use crate::tlog::sequencer::{SignJob, Signed};

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
    let signed = submit(
        &state,
        &req.token,
        &req.consent_name,
        req.mark_svg.as_deref(),
        client,
        &headers,
    )
    .await?;
    let status = if signed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(response(&state, &req.token, &signed)?)))
}

/// Signs for a token, or finds the pledge it already made. Shared by the API and the
/// signing page's form.
pub async fn submit(
    state: &AppState,
    raw_token: &str,
    consent_name: &str,
    mark_svg: Option<&str>,
    client: std::net::IpAddr,
    headers: &HeaderMap,
) -> AppResult<Signed> {
    let ctx = invitation(state, raw_token).await?;
    // A pledge already made is answered before the campaign's window is looked at:
    // the receipt stays available after the campaign closes.
    let receipt = match ctx.pledge_id {
        Some(_) => {
            state
                .store
                .receipt_for_invitation(ctx.invitation_id)
                .await?
        }
        None => None,
    };
    if let Some(receipt) = receipt {
        let head = state.store.log_head().await?;
        return Ok(Signed {
            pledge_id: receipt.pledge_id,
            log_index: receipt.log_index as u64,
            record: receipt.record,
            statement: receipt.statement,
            checkpoint: head.checkpoint,
            created: false,
        });
    }
    check_open(&ctx)?;
    let consent = text::clean(consent_name, "consent_name")?;
    if consent.is_empty() {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "consent_empty",
            "Ketik nama Anda sebagai tanda persetujuan.",
        )
        .field("consent_name"));
    }
    if consent.chars().count() > 200 {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "consent_too_long",
            "Nama persetujuan terlalu panjang (paling banyak 200 karakter).",
        )
        .field("consent_name"));
    }
    let mark = match mark_svg.filter(|m| !m.is_empty()) {
        None => None,
        Some(_) if !ctx.mark_enabled => {
            return Err(AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "mark_disabled",
                "Kampanye ini tidak memakai tanda tangan gambar; kirim tanpa gambar.",
            )
            .field("mark_svg"));
        }
        Some(m) => Some(Mark::parse(m)?),
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| text::cut_utf8(s, 512).to_string());
    Ok(state
        .sequencer
        .sign(SignJob {
            ctx,
            consent,
            mark,
            client_ip: Some(client.to_string()),
            user_agent,
        })
        .await?)
}

/// Resolves a token: unknown answers 404, revoked 410.
pub async fn invitation(state: &AppState, raw: &str) -> AppResult<SignContext> {
    let unknown = || {
        AppError::not_found(
            "token_unknown",
            "Tautan penandatanganan tidak dikenal. Periksa kembali tautan dari BKPSDM.",
        )
        .field("token")
    };
    if !token::looks_valid(raw.trim()) {
        return Err(unknown());
    }
    let ctx = state
        .store
        .sign_context(&token::hash(raw))
        .await?
        .ok_or_else(unknown)?;
    if ctx.revoked_at.is_some() {
        return Err(AppError::new(
            StatusCode::GONE,
            "token_revoked",
            "Tautan ini sudah dicabut. Mintalah tautan baru kepada BKPSDM.",
        )
        .field("token"));
    }
    Ok(ctx)
}

/// Signing happens only while the campaign is open.
pub fn check_open(ctx: &SignContext) -> AppResult<()> {
    let now = chrono::Utc::now().timestamp();
    if ctx.closed_at.is_some() || now >= ctx.closes_at {
        return Err(AppError::new(
            StatusCode::GONE,
            "campaign_closed",
            "Kampanye ini sudah ditutup; penandatanganan tidak dapat dilakukan lagi.",
        ));
    }
    if now < ctx.opens_at {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "campaign_not_open",
            "Kampanye ini belum dibuka untuk penandatanganan.",
        ));
    }
    Ok(())
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
