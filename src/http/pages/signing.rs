//! The signer's pages: `/s/{token}` shows the pledge and the form, then — whenever the link is
//! opened again — the receipt (QR, PDF, verification link); `/s/{token}/pdf` the receipt PDF
//! and `/s/{token}/proof` its tlog-proof;
//! `/s/{token}/lapor` reports a wrong roster entry to HR instead of signing. Works without
//! JavaScript (typed name only); the script only adds the signature pad.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::http::error::{AppError, AppResult};
use crate::http::extract::{ApiForm, ApiPath, ApiQuery, ClientAddr, evidence};
use crate::http::pages::{MessagePage, html, page_error};
use crate::http::state::AppState;
use crate::render::qr;
use crate::service::audit::now;
use crate::service::pledge::{self, SignInput};
use crate::store::{PledgeReceipt, SignContext};
use crate::tlog::record::Record;

/// `/s/*` answers are private to their signer: never cached, never leaked by referrer.
pub(crate) fn private(mut res: Response) -> Response {
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
pub(crate) struct SignPage {
    /// Where the forms post: `/s/TOKEN`, or `/masuk/undangan/ID` after SSO.
    base: String,
    /// The signer session's CSRF token (after SSO; a link token is its own capability).
    csrf: Option<String>,
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
    /// The typed name is far from the roster name: ask once before signing.
    confirm_name: bool,
    /// Kept from the form the question interrupts.
    consent_checked: bool,
    mark_svg: String,
    /// On a kiosk (SPEC 4.4): no "data saya salah" form, a cancel button, the kiosk script.
    pub(crate) kiosk: bool,
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    base: String,
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
    let ctx = pledge::invitation(state.store.as_ref(), token).await?;
    if let Some(receipt) = pledge::receipt(state.store.as_ref(), &ctx).await? {
        return receipt_page(state, &link_base(token), &ctx, &receipt, just_signed);
    }
    pledge::check_open(&ctx, now())?;
    Ok(html(
        StatusCode::OK,
        sign_page(&link_base(token), None, &ctx, None, "")?,
    ))
}

/// The signing pages' paths for a link token.
fn link_base(token: &str) -> String {
    format!("/s/{}", token.trim())
}

/// The form for an invitation; `base` is the path its forms post to.
pub(crate) fn sign_page(
    base: &str,
    csrf: Option<&str>,
    ctx: &SignContext,
    error: Option<String>,
    consent_name: &str,
) -> AppResult<SignPage> {
    let t = pledge::template_of(ctx)?;
    Ok(SignPage {
        base: base.to_string(),
        csrf: csrf.map(str::to_string),
        instansi: ctx.instansi_name.clone(),
        campaign: ctx.campaign_title.clone(),
        title: t.title,
        preamble: t.preamble,
        points: t.points,
        closing: t.closing,
        name: ctx.name.clone(),
        nip: pledge::display_number(ctx.kind, &ctx.number),
        position: ctx.position.clone().unwrap_or_else(|| "-".to_string()),
        unit: ctx.unit_name.clone(),
        mark_enabled: ctx.mark_enabled,
        error,
        consent_name: consent_name.to_string(),
        confirm_name: false,
        consent_checked: false,
        mark_svg: String::new(),
        kiosk: false,
    })
}

/// What the form asks before a pledge is signed, wherever it is shown (link, SSO, kiosk):
/// the consent tick, then, once, whether a typed name far from the roster name is right.
/// `None` when the form may sign (or the pledge exists already); else the form again.
pub(crate) fn before_signing(
    base: &str,
    csrf: Option<&str>,
    ctx: &SignContext,
    form: &SignForm,
    already: bool,
) -> AppResult<Option<(StatusCode, SignPage)>> {
    if already {
        return Ok(None);
    }
    if form.consent.is_none() {
        let refused = Some("Centang kotak persetujuan untuk menandatangani.".to_string());
        let page = sign_page(base, csrf, ctx, refused, &form.consent_name)?;
        return Ok(Some((StatusCode::UNPROCESSABLE_ENTITY, page)));
    }
    Ok(ask_name_first(base, csrf, ctx, form)?.map(|page| (StatusCode::OK, page)))
}

/// A consent name far from the roster name is asked about once ("Apakah nama Anda
/// benar?") before signing: the form again, with the tick and the drawing kept. `None`
/// when the name is close, or the signer confirmed it.
fn ask_name_first(
    base: &str,
    csrf: Option<&str>,
    ctx: &SignContext,
    form: &SignForm,
) -> AppResult<Option<SignPage>> {
    if form.name_confirmed.is_some()
        || !crate::domain::consent::name_is_far(&form.consent_name, &ctx.name)
    {
        return Ok(None);
    }
    // Only a form that could sign is asked about.
    pledge::check_open(ctx, now())?;
    let mut page = sign_page(base, csrf, ctx, None, &form.consent_name)?;
    page.confirm_name = true;
    page.consent_checked = true;
    page.mark_svg = form.mark_svg.clone().unwrap_or_default();
    Ok(Some(page))
}

/// The receipt of an invitation's pledge; `base` is the path of its pages.
pub(crate) fn receipt_page(
    state: &AppState,
    base: &str,
    ctx: &SignContext,
    receipt: &PledgeReceipt,
    just_signed: bool,
) -> AppResult<Response> {
    let record = Record::parse(&receipt.record).map_err(AppError::internal)?;
    let b32 = record.to_base32();
    let matrix = qr::encode(&state.public_url.qr_text(&b32)).map_err(AppError::internal)?;
    let tz = ctx.tz;
    Ok(html(
        StatusCode::OK,
        ReceiptPage {
            base: base.to_string(),
            name: ctx.name.clone(),
            campaign: ctx.campaign_title.clone(),
            signed_at: crate::domain::instansi::waktu(tz.at(receipt.signed_at)),
            log_index: receipt.log_index as u64,
            qr_svg: qr::to_svg(&matrix),
            verify_url: state.public_url.verify_link(&b32),
            host: state.public_url.host().to_string(),
            just_signed,
        },
    ))
}

/// The signing form, wherever it is shown: by link, after SSO, at a kiosk.
#[derive(Debug, Deserialize)]
pub struct SignForm {
    /// The signer session's CSRF token (after SSO only).
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub consent: Option<String>,
    #[serde(default)]
    pub consent_name: String,
    #[serde(default)]
    pub mark_svg: Option<String>,
    /// The signer answered "Apakah nama Anda benar?" by signing again.
    #[serde(default)]
    pub name_confirmed: Option<String>,
}

/// The form's POST. Success (first time or repeated) redirects to the receipt, so a double
/// tap or a browser retry never shows an error or makes a second pledge.
pub async fn post(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiForm(form): ApiForm<SignForm>,
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
    let ctx = pledge::invitation(state.store.as_ref(), token).await?;
    let already = state
        .store
        .receipt_for_invitation(ctx.invitation_id)
        .await?
        .is_some();
    if let Some((status, page)) = before_signing(&link_base(token), None, &ctx, form, already)? {
        return Ok(html(status, page));
    }
    let (client_ip, user_agent) = evidence(client, headers);
    let signed = pledge::sign(
        state.store.as_ref(),
        &state.sequencer,
        SignInput {
            token,
            consent_name: &form.consent_name,
            mark_svg: form.mark_svg.as_deref(),
            client_ip,
            user_agent,
        },
    )
    .await
    .map_err(AppError::from);
    state.count_sign(&signed);
    match signed {
        Ok(_) => Ok(Redirect::to(&format!("/s/{}?ok=1", token.trim())).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let page = sign_page(
                &link_base(token),
                None,
                &ctx,
                Some(e.message),
                &form.consent_name,
            )?;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
        }
        Err(e) => Err(e),
    }
}

/// The receipt PDF, rendered on demand off the async threads, never stored.
pub async fn pdf(State(state): State<AppState>, ApiPath(token): ApiPath<String>) -> Response {
    private(match pdf_inner(&state, &token).await {
        Ok(r) => r,
        Err(e) => page_error(e),
    })
}

async fn pdf_inner(state: &AppState, token: &str) -> AppResult<Response> {
    let ctx = pledge::invitation(state.store.as_ref(), token).await?;
    pdf_of(state, &ctx).await
}

/// The receipt PDF of an invitation's pledge, as a download.
pub(crate) async fn pdf_of(state: &AppState, ctx: &SignContext) -> AppResult<Response> {
    let receipt = pledge::receipt(state.store.as_ref(), ctx)
        .await?
        .ok_or_else(|| AppError::not_found("pledge_missing", "Ikrar belum ditandatangani."))?;
    let bytes = pledge::receipt_pdf(
        state.store.as_ref(),
        state.policy.as_deref(),
        &state.public_url,
        ctx,
        &receipt,
    )
    .await?;
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

/// The signer's tlog-proof (SPEC 3.5), the same bundle the PDF carries, as a file.
pub async fn proof(State(state): State<AppState>, ApiPath(token): ApiPath<String>) -> Response {
    private(
        match pledge::proof_for_signer(state.store.as_ref(), state.policy.as_deref(), &token).await
        {
            Ok(p) => crate::http::api::proof::response(&p),
            Err(e) => page_error(e.into()),
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    note: String,
}

/// "Data saya salah": the signer tells HR the roster entry is wrong, instead of signing it.
pub async fn report(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    ApiForm(form): ApiForm<ReportForm>,
) -> Response {
    let result: AppResult<Response> = async {
        pledge::report_wrong_data(state.store.as_ref(), &token, &form.note).await?;
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
    if result
        .as_ref()
        .is_err_and(|e| e.status == StatusCode::TOO_MANY_REQUESTS)
    {
        state.metrics.rate_limited("report");
    }
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
    ApiPath(token): ApiPath<String>,
    ApiQuery(q): ApiQuery<OkQuery>,
) -> Response {
    private(match show_inner(&state, &token, q.ok.is_some()).await {
        Ok(r) => r,
        Err(e) => page_error(e),
    })
}
