//! The signer's pages: `/s/{token}` shows the pledge and the form, then — whenever the link is
//! opened again — the receipt (QR, PDF, verification link); `/s/{token}/pdf` the receipt PDF;
//! `/s/{token}/lapor` reports a wrong roster entry to HR instead of signing. Works without
//! JavaScript (typed name only); the script only adds the signature pad.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::instansi::TimeZone;
use crate::domain::mark::Mark;
use crate::domain::nip::StaffId;
use crate::domain::statement::Statement;
use crate::domain::text;
use crate::http::api::sign::{check_open, invitation, submit};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::ClientAddr;
use crate::http::state::AppState;
use crate::render::pdf::{self, Receipt};
use crate::render::qr;
use crate::store::{PledgeReceipt, SignContext};
use crate::tlog::record::Record;

/// A receipt stays visible this long after its campaign closes (SPEC 2).
const RECEIPT_DAYS_AFTER_CLOSE: i64 = 30;

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub title: String,
    pub message: String,
}

/// Errors on HTML routes: the same status and message as the API, as a page.
pub fn page_error(e: AppError) -> Response {
    let title = match e.status {
        StatusCode::NOT_FOUND => "Tidak ditemukan",
        StatusCode::GONE => "Tidak berlaku lagi",
        StatusCode::TOO_MANY_REQUESTS => "Terlalu banyak permintaan",
        s if s.is_server_error() => "Terjadi kesalahan",
        _ => "Tidak dapat diproses",
    };
    let mut res = html(
        e.status,
        MessagePage {
            title: title.to_string(),
            message: e.message.clone(),
        },
    );
    if let Some(secs) = e.retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

pub fn html(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => AppError::internal(e).into_response(),
    }
}

/// `/s/*` answers are private to their signer: never cached, never leaked by referrer.
fn private(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

#[derive(Template)]
#[template(path = "sign.html")]
struct SignPage {
    token: String,
    instansi: String,
    campaign: String,
    title: String,
    preamble: String,
    points: Vec<String>,
    closing: String,
    name: String,
    nip: String,
    position: String,
    unit: String,
    mark_enabled: bool,
    error: Option<String>,
    consent_name: String,
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    token: String,
    name: String,
    campaign: String,
    signed_at: String,
    log_index: u64,
    qr_svg: String,
    verify_url: String,
    host: String,
    just_signed: bool,
}

async fn show_inner(state: &AppState, token: &str, just_signed: bool) -> AppResult<Response> {
    let ctx = invitation(state, token).await?;
    if let Some(receipt) = receipt_in_window(state, &ctx).await? {
        return receipt_page(state, token, &ctx, &receipt, just_signed);
    }
    check_open(&ctx)?;
    Ok(html(StatusCode::OK, sign_page(token, &ctx, None, "")?))
}

async fn receipt_in_window(
    state: &AppState,
    ctx: &SignContext,
) -> AppResult<Option<PledgeReceipt>> {
    let receipt = state
        .store
        .receipt_for_invitation(ctx.invitation_id)
        .await?;
    let now = chrono::Utc::now().timestamp();
    let ended = ctx.closed_at.unwrap_or(ctx.closes_at).min(ctx.closes_at);
    if receipt.is_some() && now > ended + RECEIPT_DAYS_AFTER_CLOSE * 86_400 {
        return Err(AppError::new(
            StatusCode::GONE,
            "receipt_expired",
            "Tanda terima ini sudah tidak ditampilkan (lebih dari 30 hari setelah kampanye ditutup). \
             Keabsahan ikrar tetap dapat diperiksa dengan memindai QR pada PDF.",
        ));
    }
    Ok(receipt)
}

/// The campaign's pledge text with the instansi's name filled in.
fn template_of(ctx: &SignContext) -> AppResult<crate::domain::template::Template> {
    let t: crate::domain::template::Template =
        serde_json::from_str(&ctx.template_body).map_err(AppError::internal)?;
    Ok(t.render(&ctx.instansi_name))
}

/// Grouped NIP, or the staff number, as printed for the signer.
fn display_number(kind: &str, number: &str) -> String {
    StaffId::from_stored(kind, number)
        .map(|id| id.display())
        .unwrap_or_else(|| number.to_string())
}

fn sign_page(
    token: &str,
    ctx: &SignContext,
    error: Option<String>,
    consent_name: &str,
) -> AppResult<SignPage> {
    let t = template_of(ctx)?;
    Ok(SignPage {
        token: token.to_string(),
        instansi: ctx.instansi_name.clone(),
        campaign: ctx.campaign_title.clone(),
        title: t.title,
        preamble: t.preamble,
        points: t.points,
        closing: t.closing,
        name: ctx.name.clone(),
        nip: display_number(&ctx.kind, &ctx.number),
        position: ctx.position.clone().unwrap_or_else(|| "-".to_string()),
        unit: ctx.unit_name.clone(),
        mark_enabled: ctx.mark_enabled,
        error,
        consent_name: consent_name.to_string(),
    })
}

fn receipt_page(
    state: &AppState,
    token: &str,
    ctx: &SignContext,
    receipt: &PledgeReceipt,
    just_signed: bool,
) -> AppResult<Response> {
    let record = Record::parse(&receipt.record).map_err(AppError::internal)?;
    let b32 = record.to_base32();
    let matrix = qr::encode(&state.public_url.qr_text(&b32)).map_err(AppError::internal)?;
    let tz = TimeZone::parse(&ctx.tz).unwrap_or(TimeZone::Jakarta);
    Ok(html(
        StatusCode::OK,
        ReceiptPage {
            token: token.to_string(),
            name: ctx.name.clone(),
            campaign: ctx.campaign_title.clone(),
            signed_at: format!(
                "{} pukul {}",
                pdf::tanggal(tz.at(receipt.signed_at).date_naive()),
                tz.at(receipt.signed_at).format("%H.%M")
            ),
            log_index: receipt.log_index as u64,
            qr_svg: qr::to_svg(&matrix),
            verify_url: state.public_url.verify_link(&b32),
            host: state.public_url.host().to_string(),
            just_signed,
        },
    ))
}

#[derive(Debug, Deserialize)]
pub struct SignForm {
    #[serde(default)]
    consent: Option<String>,
    #[serde(default)]
    consent_name: String,
    #[serde(default)]
    mark_svg: Option<String>,
}

/// The form's POST. Success (first time or repeated) redirects to the receipt, so a double
/// tap or a browser retry never shows an error or makes a second pledge.
pub async fn post(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<SignForm>,
) -> Response {
    private(
        match post_inner(&state, &token, client, &headers, &form).await {
            Ok(r) => r,
            Err(e) => page_error(e),
        },
    )
}

async fn post_inner(
    state: &AppState,
    token: &str,
    client: std::net::IpAddr,
    headers: &HeaderMap,
    form: &SignForm,
) -> AppResult<Response> {
    let ctx = invitation(state, token).await?;
    let already = state
        .store
        .receipt_for_invitation(ctx.invitation_id)
        .await?
        .is_some();
    if !already && form.consent.is_none() {
        let page = sign_page(
            token,
            &ctx,
            Some("Centang kotak persetujuan untuk menandatangani.".to_string()),
            &form.consent_name,
        )?;
        return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page));
    }
    match submit(
        state,
        token,
        &form.consent_name,
        form.mark_svg.as_deref(),
        client,
        headers,
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/s/{}?ok=1", token.trim())).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let page = sign_page(token, &ctx, Some(e.message), &form.consent_name)?;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
        }
        Err(e) => Err(e),
    }
}

/// The receipt PDF, rendered on demand off the async threads, never stored.
pub async fn pdf(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    private(match pdf_inner(&state, &token).await {
        Ok(r) => r,
        Err(e) => page_error(e),
    })
}

async fn pdf_inner(state: &AppState, token: &str) -> AppResult<Response> {
    let ctx = invitation(state, token).await?;
    let receipt = receipt_in_window(state, &ctx)
        .await?
        .ok_or_else(|| AppError::not_found("pledge_missing", "Ikrar belum ditandatangani."))?;
    let bytes = render_pdf(state, &ctx, &receipt).await?;
    let filename = format!("ikrar-{}.pdf", receipt.log_index);
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Renders a stored pledge's receipt. Name, position and unit come from the signed statement
/// (the snapshot at signing), never from today's roster.
pub async fn render_pdf(
    state: &AppState,
    ctx: &SignContext,
    receipt: &PledgeReceipt,
) -> AppResult<Vec<u8>> {
    let statement =
        Statement::parse(&receipt.statement).map_err(|e| AppError::internal(e.message))?;
    let template = template_of(ctx)?;
    let record = Record::parse(&receipt.record).map_err(AppError::internal)?;
    let b32 = record.to_base32();
    let qr_text = state.public_url.qr_text(&b32);
    let verify_url = state.public_url.verify_link(&b32);
    let host = state.public_url.host().to_string();
    let mark = receipt
        .mark
        .as_deref()
        .map(Mark::parse)
        .transpose()
        .map_err(|e| AppError::internal(e.message))?;
    let tz = TimeZone::parse(&ctx.tz).unwrap_or(TimeZone::Jakarta);
    let date_text = pdf::tanggal(tz.at(receipt.signed_at).date_naive());
    let nip_display = display_number(&ctx.kind, &ctx.number);
    let place = ctx.campaign_place.clone();
    let instansi = statement.instansi.clone();
    let key_id = hex::encode(record.body.key_id);
    let raw_statement = receipt.statement.clone();
    let log_index = receipt.log_index as u64;
    let dash = |s: &str| {
        if s == "-" {
            String::new()
        } else {
            s.to_string()
        }
    };
    let (name, position, unit, consent) = (
        statement.name.clone(),
        dash(&statement.position),
        statement.unit.clone(),
        statement.consent.clone(),
    );
    tokio::task::spawn_blocking(move || {
        pdf::render(&Receipt {
            instansi_name: &instansi,
            template: &template,
            name: &name,
            nip_display: &nip_display,
            position: &position,
            unit: &unit,
            place: &place,
            date_text: &date_text,
            consent_name: &consent,
            mark: mark.as_ref(),
            qr_text: &qr_text,
            host: &host,
            log_index,
            key_id_hex: &key_id,
            record_base32: &b32,
            statement: &raw_statement,
            verify_url: &verify_url,
        })
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)
}

#[derive(Debug, Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    note: String,
}

/// "Data saya salah": the signer tells HR the roster entry is wrong, instead of signing it.
pub async fn report(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Form(form): Form<ReportForm>,
) -> Response {
    let result: AppResult<Response> = async {
        let ctx = invitation(&state, &token).await?;
        let note = text::clean(&form.note, "note")?;
        let note = text::cut_utf8(&note, 500);
        let summary = format!(
            "pegawai {} ({}) melaporkan data roster salah pada kampanye {}: {}",
            ctx.name,
            ctx.number,
            ctx.campaign_id,
            if note.is_empty() { "-" } else { note }
        );
        state
            .store
            .audit(
                Some(ctx.instansi_id),
                &format!("pegawai:{}", ctx.employee_id),
                "roster.report",
                &summary,
                chrono::Utc::now().timestamp(),
            )
            .await?;
        Ok(html(
            StatusCode::OK,
            MessagePage {
                title: "Laporan terkirim".to_string(),
                message: "Terima kasih. BKPSDM akan memeriksa dan memperbaiki data Anda, lalu \
                          mengirim tautan baru bila perlu. Jangan menandatangani data yang salah."
                    .to_string(),
            },
        ))
    }
    .await;
    private(result.unwrap_or_else(page_error))
}

#[derive(Debug, Deserialize)]
pub struct OkQuery {
    #[serde(default)]
    ok: Option<String>,
}

/// `GET /s/{token}`: the form, or the receipt once signed (`?ok=1` after the form adds a
/// "signed" banner).
pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    axum::extract::Query(q): axum::extract::Query<OkQuery>,
) -> Response {
    private(match show_inner(&state, &token, q.ok.is_some()).await {
        Ok(r) => r,
        Err(e) => page_error(e),
    })
}
