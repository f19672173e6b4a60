//! The kiosk (SPEC 4.4). HR's page `/admin/campaigns/{id}/kios` starts (with a confirmation
//! step), lists and ends kiosks; starting one ends HR's session in that browser. The
//! device's pages: `/kios` is the scan screen (and ends any signer's step), `/kios/tanda`
//! the signing page and then the receipt of the current step, `/kios/selesai` ends the
//! step. Every kiosk answer is `no-store`, and the kiosk's cookies are scoped to `/kios`:
//! they never reach an admin page, and no URL of the device names a signer or a token.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use serde::Deserialize;

use crate::domain::campaign::Phase;
use crate::http::auth::{Caller, PageCaller, SESSION_COOKIE, check_csrf, owned_campaign, tz_of};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{ApiForm, ApiPath, ApiQuery, ClientAddr, evidence};
use crate::http::pages::{html, signing};
use crate::http::state::AppState;
use crate::render::qr;
use crate::service::audit::now;
use crate::service::kiosk::{self, RECEIPT_SECONDS};
use crate::service::pledge::{self, SignInput};
use crate::service::{ServiceError, account};
use crate::store::admin::KioskRow;
use crate::store::{CampaignRow, PledgeReceipt, SignContext};
use crate::tlog::record::Record;

/// The device's kiosk secret.
pub const KIOSK_COOKIE: &str = "ikrar_kios";
/// The current signer's step: its secret and the slip token.
pub const STEP_COOKIE: &str = "ikrar_kios_langkah";
const KIOSK_PATH: &str = "/kios";
/// The signing form of the kiosk's current step.
const SIGN_PATH: &str = "/kios/tanda";

/// Kiosk answers are never cached: not by the browser, not by a proxy.
fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A cookie of the kiosk, as every one of ours (HttpOnly, Secure, SameSite=Strict), scoped
/// to `/kios`; with `max_age`, it outlives a browser restart.
fn kiosk_cookie(name: &str, value: &str, max_age: Option<i64>) -> Cookie<'static> {
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    Cookie::parse(format!(
        "{name}={value}; Path={KIOSK_PATH}{age}; HttpOnly; Secure; SameSite=Strict"
    ))
    .expect("a cookie of base32 values is well formed")
    .into_owned()
}

fn removed(name: &'static str) -> Cookie<'static> {
    Cookie::build(name).path(KIOSK_PATH).build()
}

fn respond(r: AppResult<Response>) -> Response {
    no_store(super::respond(r))
}

// ---- HR's side -------------------------------------------------------------------------

pub struct KioskLine {
    pub id: i64,
    pub label: String,
    pub started: String,
    pub started_by: String,
    pub until: String,
    pub live: bool,
    pub state: String,
}

#[derive(Template)]
#[template(path = "admin/kiosk.html")]
struct KioskAdminPage {
    csrf: String,
    can_manage: bool,
    id: i64,
    title: String,
    startable: bool,
    label: String,
    confirm_start: bool,
    confirm_end: Option<i64>,
    kiosks: Vec<KioskLine>,
    message: Option<String>,
    error: Option<String>,
}

impl KioskAdminPage {
    /// Whether kiosk `id` is the one HR asked to end (its confirmation is shown).
    fn ending(&self, id: &i64) -> bool {
        self.confirm_end == Some(*id)
    }
}

fn who(actor: &str) -> String {
    actor.strip_prefix("user:").unwrap_or(actor).to_string()
}

#[derive(Default)]
struct AdminView {
    label: String,
    confirm_start: bool,
    confirm_end: Option<i64>,
    message: Option<String>,
    error: Option<String>,
}

async fn admin_page(
    state: &AppState,
    caller: &Caller,
    c: &CampaignRow,
    view: AdminView,
) -> AppResult<KioskAdminPage> {
    let tz = tz_of(state, c.instansi_id).await?;
    let f = |t: i64| tz.at(t).format("%Y-%m-%d %H:%M").to_string();
    let at = now();
    let open = c.phase(at) != Phase::Closed;
    let kiosks = kiosk::list(state.store.as_ref(), c.id)
        .await?
        .into_iter()
        .map(|k: KioskRow| {
            let live = open && k.ended_at.is_none();
            let state = match (&k.ended_at, &k.ended_by) {
                (Some(t), by) => format!(
                    "diakhiri {} oleh {}",
                    f(*t),
                    by.as_deref().map(who).unwrap_or_default()
                ),
                (None, _) if !open => "berakhir (kampanye ditutup)".to_string(),
                (None, _) => "aktif".to_string(),
            };
            KioskLine {
                id: k.id,
                label: k.label,
                started: f(k.started_at),
                started_by: who(&k.started_by),
                until: f(c.window().ends_at()),
                live,
                state,
            }
        })
        .collect();
    Ok(KioskAdminPage {
        csrf: caller.csrf.clone().unwrap_or_default(),
        can_manage: caller.role.can_manage(),
        id: c.id,
        title: c.title.clone(),
        startable: open,
        label: view.label,
        confirm_start: view.confirm_start,
        confirm_end: view.confirm_end,
        kiosks,
        message: view.message,
        error: view.error,
    })
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    ok: Option<String>,
}

/// `GET /admin/campaigns/{id}/kios`: the campaign's kiosks and the form that starts one.
pub async fn admin(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<DoneQuery>,
) -> Response {
    respond(
        async {
            let c = owned_campaign(&state, &caller, id).await?;
            let message = match q.ok.as_deref() {
                Some("diakhiri") => Some(
                    "Kiosk telah diakhiri; perangkatnya tidak dapat lagi dipakai menandatangani."
                        .to_string(),
                ),
                _ => None,
            };
            let view = AdminView {
                message,
                ..AdminView::default()
            };
            Ok(html(
                StatusCode::OK,
                admin_page(&state, &caller, &c, view).await?,
            ))
        }
        .await,
    )
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    confirm: Option<String>,
}

async fn managed(state: &AppState, caller: &Caller, csrf: &str, id: i64) -> AppResult<CampaignRow> {
    check_csrf(caller, csrf)?;
    caller.must_manage()?;
    owned_campaign(state, caller, id).await
}

/// `POST /admin/campaigns/{id}/kios`: first asks for confirmation, then makes this browser
/// a kiosk: HR's session here ends and the kiosk cookie is set.
pub async fn start(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    jar: CookieJar,
    ApiPath(id): ApiPath<i64>,
    ApiForm(form): ApiForm<StartForm>,
) -> Response {
    let result: AppResult<Response> = async {
        let c = managed(&state, &caller, &form.csrf, id).await?;
        if form.confirm.is_none() {
            let view = AdminView {
                label: form.label.clone(),
                confirm_start: true,
                ..AdminView::default()
            };
            return Ok(html(
                StatusCode::OK,
                admin_page(&state, &caller, &c, view).await?,
            ));
        }
        let started =
            match kiosk::start(state.store.as_ref(), &c, &form.label, &caller.actor()).await {
                Ok(s) => s,
                Err(ServiceError::Invalid(e)) => {
                    let view = AdminView {
                        label: form.label.clone(),
                        error: Some(e.message),
                        ..AdminView::default()
                    };
                    return Ok(html(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        admin_page(&state, &caller, &c, view).await?,
                    ));
                }
                Err(e) => return Err(e.into()),
            };
        // A signer at the tablet must not reach /admin: HR's session ends here and now.
        if let Some(s) = jar.get(SESSION_COOKIE) {
            account::logout(state.store.as_ref(), s.value()).await?;
        }
        let max_age = (started.expires_at - now()).max(60);
        let jar = jar
            .remove(Cookie::build(SESSION_COOKIE).path("/"))
            .remove(removed(STEP_COOKIE))
            .add(kiosk_cookie(KIOSK_COOKIE, &started.secret, Some(max_age)));
        tracing::info!(kiosk = started.id, campaign = c.id, "kiosk started");
        Ok((jar, Redirect::to(KIOSK_PATH)).into_response())
    }
    .await;
    respond(result)
}

#[derive(Deserialize)]
pub struct EndForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: Option<String>,
}

/// `POST /admin/campaigns/{id}/kios/{kiosk}/akhiri`: asks for confirmation, then ends it.
pub async fn end(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath((id, kiosk_id)): ApiPath<(i64, i64)>,
    ApiForm(form): ApiForm<EndForm>,
) -> Response {
    respond(
        async {
            let c = managed(&state, &caller, &form.csrf, id).await?;
            if form.confirm.is_none() {
                let view = AdminView {
                    confirm_end: Some(kiosk_id),
                    ..AdminView::default()
                };
                return Ok(html(
                    StatusCode::OK,
                    admin_page(&state, &caller, &c, view).await?,
                ));
            }
            kiosk::end(state.store.as_ref(), &c, kiosk_id, &caller.actor()).await?;
            Ok(Redirect::to(&format!("/admin/campaigns/{id}/kios?ok=diakhiri")).into_response())
        }
        .await,
    )
}

// ---- The device's side -----------------------------------------------------------------

fn not_a_kiosk() -> AppError {
    AppError::new(
        StatusCode::FORBIDDEN,
        "not_a_kiosk",
        "Perangkat ini bukan kiosk, atau kiosknya sudah diakhiri. Kiosk disiapkan oleh \
         BKPSDM dari halaman kampanye.",
    )
}

/// The live kiosk this browser is, from its cookie.
async fn device(state: &AppState, jar: &CookieJar) -> AppResult<KioskRow> {
    let secret = jar.get(KIOSK_COOKIE).ok_or_else(not_a_kiosk)?;
    kiosk::by_secret(state.store.as_ref(), secret.value())
        .await?
        .ok_or_else(not_a_kiosk)
}

/// The slip token of the device's current step, if the step cookie is still that step's.
fn current_step(k: &KioskRow, jar: &CookieJar) -> Option<String> {
    kiosk::step_token(k, jar.get(STEP_COOKIE)?.value())
}

#[derive(Template)]
#[template(path = "kios/scan.html")]
struct ScanPage {
    campaign: String,
    label: String,
    error: Option<String>,
}

async fn scan_page(
    state: &AppState,
    k: &KioskRow,
    status: StatusCode,
    error: Option<String>,
) -> AppResult<Response> {
    let campaign = state
        .store
        .campaign(k.campaign_id)
        .await?
        .map(|c| c.title)
        .unwrap_or_default();
    Ok(html(
        status,
        ScanPage {
            campaign,
            label: k.label.clone(),
            error,
        },
    ))
}

/// `GET /kios`: the scan screen. Reaching it ends any signer's step on the server.
pub async fn scan(State(state): State<AppState>, jar: CookieJar) -> Response {
    let result: AppResult<Response> = async {
        let k = device(&state, &jar).await?;
        kiosk::end_step(state.store.as_ref(), &k).await?;
        let page = scan_page(&state, &k, StatusCode::OK, None).await?;
        Ok((jar.remove(removed(STEP_COOKIE)), page).into_response())
    }
    .await;
    respond(result)
}

#[derive(Deserialize)]
pub struct SlipForm {
    #[serde(default)]
    slip: String,
}

/// `POST /kios`: a slip scanned or typed starts a signer's step.
pub async fn take_slip(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiForm(form): ApiForm<SlipForm>,
) -> Response {
    let result: AppResult<Response> = async {
        let k = device(&state, &jar).await?;
        match kiosk::begin_step(state.store.as_ref(), &k, &form.slip).await {
            Ok((step, _)) => {
                let jar = jar.add(kiosk_cookie(STEP_COOKIE, &step, None));
                Ok((jar, Redirect::to(SIGN_PATH)).into_response())
            }
            Err(e) => {
                let e = AppError::from(e);
                if e.status.is_server_error() {
                    return Err(e);
                }
                scan_page(&state, &k, e.status, Some(e.message)).await
            }
        }
    }
    .await;
    respond(result)
}

/// The signer's own form (`templates/sign.html`) in its kiosk variant, posting to the step.
fn sign_page(
    ctx: &SignContext,
    error: Option<String>,
    consent_name: &str,
) -> AppResult<signing::SignPage> {
    let mut page = signing::sign_page(SIGN_PATH, None, ctx, error, consent_name)?;
    page.kiosk = true;
    Ok(page)
}

#[derive(Template)]
#[template(path = "kios/receipt.html")]
struct KioskReceiptPage {
    name: String,
    campaign: String,
    signed_at: String,
    log_index: u64,
    qr_svg: String,
    host: String,
    just_signed: bool,
    seconds: u32,
}

fn receipt_page(
    state: &AppState,
    ctx: &SignContext,
    receipt: &PledgeReceipt,
    just_signed: bool,
) -> AppResult<Response> {
    let record = Record::parse(&receipt.record).map_err(AppError::internal)?;
    // The verification QR, as on the signer's own receipt: what the printed paper already
    // shows. Never the signing link, which opens the PDF with the drawn signature.
    let matrix =
        qr::encode(&state.public_url.qr_text(&record.to_base32())).map_err(AppError::internal)?;
    let mut res = html(
        StatusCode::OK,
        KioskReceiptPage {
            name: ctx.name.clone(),
            campaign: ctx.campaign_title.clone(),
            signed_at: crate::domain::instansi::waktu(ctx.tz.at(receipt.signed_at)),
            log_index: receipt.log_index as u64,
            qr_svg: qr::to_svg(&matrix),
            host: state.public_url.host().to_string(),
            just_signed,
            seconds: RECEIPT_SECONDS,
        },
    );
    // Without the script, the browser still returns to the scan screen (which ends the
    // step) when the receipt's time is up.
    res.headers_mut().insert(
        header::REFRESH,
        HeaderValue::from_str(&format!("{RECEIPT_SECONDS}; url={KIOSK_PATH}"))
            .expect("an ASCII header value"),
    );
    Ok(res)
}

#[derive(Debug, Deserialize)]
pub struct OkQuery {
    #[serde(default)]
    ok: Option<String>,
}

/// `GET /kios/tanda`: the current signer's page (the form, or the receipt once signed);
/// without a step, back to the scan screen.
pub async fn step(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiQuery(q): ApiQuery<OkQuery>,
) -> Response {
    respond(
        async {
            let k = device(&state, &jar).await?;
            let Some(t) = current_step(&k, &jar) else {
                return Ok(Redirect::to(KIOSK_PATH).into_response());
            };
            let ctx = pledge::invitation(state.store.as_ref(), &t).await?;
            if let Some(receipt) = pledge::receipt(state.store.as_ref(), &ctx).await? {
                return receipt_page(&state, &ctx, &receipt, q.ok.is_some());
            }
            pledge::check_open(&ctx, now())?;
            Ok(html(StatusCode::OK, sign_page(&ctx, None, "")?))
        }
        .await,
    )
}

/// `POST /kios/tanda`: signs for the current step's slip, through the same use case as the
/// signer's own page; then the receipt.
pub async fn sign(
    State(state): State<AppState>,
    jar: CookieJar,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiForm(form): ApiForm<signing::SignForm>,
) -> Response {
    respond(
        async {
            let k = device(&state, &jar).await?;
            let Some(t) = current_step(&k, &jar) else {
                return Ok(Redirect::to(KIOSK_PATH).into_response());
            };
            let ctx = pledge::invitation(state.store.as_ref(), &t).await?;
            let already = state
                .store
                .receipt_for_invitation(ctx.invitation_id)
                .await?
                .is_some();
            if let Some((status, mut page)) =
                signing::before_signing(SIGN_PATH, None, &ctx, &form, already)?
            {
                page.kiosk = true;
                return Ok(html(status, page));
            }
            let (client_ip, user_agent) = evidence(client, &headers);
            let signed = pledge::sign_at_kiosk(
                state.store.as_ref(),
                &state.sequencer,
                SignInput {
                    token: &t,
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
                Ok(_) => Ok(Redirect::to("/kios/tanda?ok=1").into_response()),
                Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
                    let page = sign_page(&ctx, Some(e.message), &form.consent_name)?;
                    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
                }
                Err(e) => Err(e),
            }
        }
        .await,
    )
}

/// `POST /kios/selesai`: "Selesai" (or the receipt's timer, or "Batal"): ends the signer's
/// step on the server, drops its cookie, and returns to the scan screen.
pub async fn done(State(state): State<AppState>, jar: CookieJar) -> Response {
    let result: AppResult<Response> = async {
        if let Ok(k) = device(&state, &jar).await {
            kiosk::end_step(state.store.as_ref(), &k).await?;
        }
        Ok((jar.remove(removed(STEP_COOKIE)), Redirect::to(KIOSK_PATH)).into_response())
    }
    .await;
    respond(result)
}

/// `GET /static/kios.js`: the kiosk's script (camera scan, receipt timer, and the reload
/// of a page restored from the back/forward cache).
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../templates/static/kios.js"),
    )
}
