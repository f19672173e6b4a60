//! Sign-in with the government's SSO (SPEC 4.5): "Masuk dengan SSO" for HR
//! (`/admin/login/sso`), `/masuk` for signers, the provider's return at `/auth/oidc/callback`,
//! and the signer's invitations at `/masuk/undangan/{id}` — the usual signing page and
//! receipt, reached through the signer's session instead of a link token.
//!
//! The provider is another site, so its return is a cross-site navigation: the login-state
//! cookie is `SameSite=Lax` (sent on that top-level GET), while the sessions it opens are
//! `SameSite=Strict`. The callback therefore answers with a small page that continues to
//! `/admin` or `/masuk` — a same-site navigation, on which the Strict cookie is sent.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;

use crate::http::auth::{SESSION_COOKIE, cookie};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{ApiForm, ApiPath, ApiQuery, ClientAddr, evidence};
use crate::http::pages::signing::{self, private};
use crate::http::pages::{MessagePage, html, page_error};
use crate::http::state::AppState;
use crate::service::account;
use crate::service::audit::now;
use crate::service::oidc::{LoginState, OidcError, Purpose};
use crate::service::pledge::{self, SignInput};
use crate::service::sso::{self, Refusal, Signer};

/// The login state between the redirect to the provider and its return. `__Host-`: only
/// this origin over HTTPS can set it, with `Path=/` and no `Domain`. A browser-session cookie;
/// the state inside it expires after `oidc::LOGIN_STATE_SECS`, checked on return.
pub const LOGIN_STATE_COOKIE: &str = "__Host-ikrar_oidc";
/// A signer's session after SSO, sent only to `/masuk…`.
pub const SIGNER_COOKIE: &str = "ikrar_masuk";
const SIGNER_PATH: &str = "/masuk";

fn message(status: StatusCode, title: &str, text: &str) -> Response {
    private(html(
        status,
        MessagePage {
            title: title.to_string(),
            message: text.to_string(),
        },
    ))
}

fn not_configured() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "SSO belum diaktifkan",
        "Masuk dengan SSO belum diaktifkan di layanan ini. Gunakan tautan penandatanganan \
         dari BKPSDM, atau hubungi BKPSDM.",
    )
}

fn unavailable() -> Response {
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "SSO tidak dapat dihubungi",
        "Layanan SSO sedang tidak dapat dihubungi. Silakan coba lagi beberapa saat lagi.",
    )
}

/// `GET /admin/login/sso`: to the provider, for an HR account.
pub async fn hr_start(State(state): State<AppState>) -> Response {
    start(&state, Purpose::Hr).await
}

/// `GET /masuk/sso`: to the provider, for a signer.
pub async fn signer_start(State(state): State<AppState>) -> Response {
    start(&state, Purpose::Signer).await
}

async fn start(state: &AppState, purpose: Purpose) -> Response {
    let Some(oidc) = state.oidc.as_deref() else {
        return not_configured();
    };
    match oidc.begin(purpose, now()).await {
        Ok((url, login)) => {
            let c = Cookie::build((LOGIN_STATE_COOKIE, login.to_cookie()))
                .path("/")
                .http_only(true)
                .secure(true)
                .same_site(SameSite::Lax)
                .build();
            private((CookieJar::new().add(c), Redirect::to(&url)).into_response())
        }
        Err(e) => {
            tracing::warn!(error = %e, "starting an SSO sign-in failed");
            unavailable()
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "sso_continue.html")]
struct ContinuePage {
    target: &'static str,
}

/// `GET /auth/oidc/callback`: the provider's return. The login state is used once: its
/// cookie is removed whatever happens.
pub async fn callback(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> Response {
    let login = jar
        .get(LOGIN_STATE_COOKIE)
        .and_then(|c| LoginState::from_cookie(c.value()));
    let jar = jar.remove(Cookie::build(LOGIN_STATE_COOKIE).path("/"));
    let answer = callback_inner(&state, login, q).await;
    let (jar, res) = match answer {
        Ok(Signed::Hr(id)) => (
            jar.add(cookie(SESSION_COOKIE, id, "/")),
            html(StatusCode::OK, ContinuePage { target: "/admin" }),
        ),
        Ok(Signed::Signer(id)) => (
            jar.add(cookie(SIGNER_COOKIE, id, SIGNER_PATH)),
            html(StatusCode::OK, ContinuePage { target: "/masuk" }),
        ),
        Err(res) => (jar, res),
    };
    private((jar, res).into_response())
}

enum Signed {
    Hr(String),
    Signer(String),
}

async fn callback_inner(
    state: &AppState,
    login: Option<LoginState>,
    q: CallbackQuery,
) -> Result<Signed, Response> {
    let Some(oidc) = state.oidc.as_deref() else {
        return Err(not_configured());
    };
    let invalid = || {
        message(
            StatusCode::BAD_REQUEST,
            "Permintaan masuk tidak sah",
            "Permintaan masuk ini tidak sah atau sudah kedaluwarsa. Silakan mulai lagi dari \
             halaman masuk.",
        )
    };
    let Some(login) = login else {
        tracing::warn!("SSO callback without a login state");
        return Err(invalid());
    };
    if q.error.is_some() {
        return Err(message(
            StatusCode::FORBIDDEN,
            "Masuk dibatalkan",
            "Masuk dengan SSO dibatalkan atau ditolak oleh penyedia SSO.",
        ));
    }
    let (Some(code), Some(returned)) = (q.code.as_deref(), q.state.as_deref()) else {
        return Err(invalid());
    };
    let identity = match oidc.finish(&login, returned, code, now()).await {
        Ok(i) => i,
        Err(e) => return Err(finish_failed(&e, invalid)),
    };
    let store = state.store.as_ref();
    match login.purpose {
        Purpose::Hr => {
            match account::login_oidc(store, &identity.subject, identity.expires_at).await {
                Ok(Some(session)) => Ok(Signed::Hr(session.id)),
                Ok(None) => Err(message(
                    StatusCode::FORBIDDEN,
                    "Akun SSO belum ditautkan",
                    "Anda berhasil masuk di SSO, tetapi identitas SSO ini belum ditautkan ke akun \
                 admin ikrar mana pun, sehingga tidak dapat masuk. Mintalah administrator \
                 menautkannya (ikrar user link-oidc), atau masuk dengan nama pengguna dan kata \
                 sandi.",
                )),
                Err(e) => Err(page_error(e.into())),
            }
        }
        Purpose::Signer => match sso::open_session(store, &identity).await {
            Ok(Ok(session)) => Ok(Signed::Signer(session.id)),
            Ok(Err(Refusal::NoNip)) => {
                if let Err(e) = sso::record_refusal(store, &identity.subject).await {
                    return Err(page_error(e.into()));
                }
                Err(message(
                    StatusCode::FORBIDDEN,
                    "NIP tidak ditemukan",
                    &format!(
                        "Identitas SSO Anda tidak memuat NIP yang sah (klaim '{}'), sehingga \
                         undangan Anda tidak dapat dicari. Gunakan tautan penandatanganan dari \
                         BKPSDM, atau hubungi BKPSDM.",
                        oidc.nip_claim()
                    ),
                ))
            }
            Err(e) => Err(page_error(e.into())),
        },
    }
}

fn finish_failed(e: &OidcError, invalid: impl Fn() -> Response) -> Response {
    // The error names what failed, never a code, a token or a claim's value.
    tracing::warn!(error = %e, "SSO sign-in refused");
    match e {
        OidcError::State => invalid(),
        OidcError::Unavailable(_) | OidcError::Settings(_) => unavailable(),
        OidcError::Exchange(_) | OidcError::IdToken(_) => message(
            StatusCode::UNAUTHORIZED,
            "Masuk gagal diverifikasi",
            "Tanda masuk dari penyedia SSO tidak dapat diverifikasi. Silakan coba lagi dari \
             halaman masuk.",
        ),
    }
}

/// One invitation as listed on `/masuk`.
struct Listed {
    id: i64,
    campaign: String,
    instansi: String,
    closes: String,
    signed: bool,
}

#[derive(Template)]
#[template(path = "masuk.html")]
struct MasukPage {
    sso: bool,
    signer: Option<SignerView>,
}

struct SignerView {
    nip: String,
    csrf: String,
    invitations: Vec<Listed>,
}

/// The signer of the request's session cookie, if the session is live.
async fn signer_of(state: &AppState, jar: &CookieJar) -> AppResult<Option<Signer>> {
    match jar.get(SIGNER_COOKIE) {
        Some(c) => Ok(sso::signer(state.store.as_ref(), c.value()).await?),
        None => Ok(None),
    }
}

/// `GET /masuk`: "Masuk dengan SSO", or once signed in the NIP's open invitations.
pub async fn masuk(State(state): State<AppState>, jar: CookieJar) -> Response {
    let result: AppResult<Response> = async {
        let signer = match state.oidc {
            Some(_) => signer_of(&state, &jar).await?,
            None => None,
        };
        let view = match signer {
            None => None,
            Some(s) => {
                let list = sso::open_invitations(state.store.as_ref(), &s).await?;
                Some(SignerView {
                    nip: grouped(&s.nip),
                    csrf: s.csrf,
                    invitations: list
                        .into_iter()
                        .map(|c| Listed {
                            id: c.invitation_id,
                            closes: crate::domain::instansi::waktu(c.tz.at(c.closes_at)),
                            campaign: c.campaign_title,
                            instansi: c.instansi_name,
                            signed: c.pledge_id.is_some(),
                        })
                        .collect(),
                })
            }
        };
        Ok(html(
            StatusCode::OK,
            MasukPage {
                sso: state.oidc.is_some(),
                signer: view,
            },
        ))
    }
    .await;
    private(result.unwrap_or_else(page_error))
}

fn grouped(nip: &str) -> String {
    pledge::display_number(crate::domain::nip::EmployeeKind::Pns, nip)
}

/// The signer and one of their own invitations, or the page to answer instead.
async fn signer_invitation(
    state: &AppState,
    jar: &CookieJar,
    id: i64,
) -> Result<(Signer, crate::store::SignContext), Response> {
    let signer = match signer_of(state, jar).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(Redirect::to(SIGNER_PATH).into_response()),
        Err(e) => return Err(page_error(e)),
    };
    match sso::invitation(state.store.as_ref(), &signer, id).await {
        Ok(ctx) => Ok((signer, ctx)),
        Err(e) => Err(page_error(e.into())),
    }
}

fn base(id: i64) -> String {
    format!("/masuk/undangan/{id}")
}

#[derive(Debug, Deserialize)]
pub struct OkQuery {
    #[serde(default)]
    ok: Option<String>,
}

/// `GET /masuk/undangan/{id}`: the signing page, or the receipt once signed.
pub async fn show(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<OkQuery>,
) -> Response {
    let (signer, ctx) = match signer_invitation(&state, &jar, id).await {
        Ok(x) => x,
        Err(res) => return private(res),
    };
    let result: AppResult<Response> = async {
        if let Some(receipt) = pledge::receipt(state.store.as_ref(), &ctx).await? {
            return signing::receipt_page(&state, &base(id), &ctx, &receipt, q.ok.is_some());
        }
        pledge::check_open(&ctx, now())?;
        Ok(html(
            StatusCode::OK,
            signing::sign_page(&base(id), Some(&signer.csrf), &ctx, None, "")?,
        ))
    }
    .await;
    private(result.unwrap_or_else(page_error))
}

fn csrf_ok(signer: &Signer, sent: &str) -> bool {
    let a = signer.csrf.as_bytes();
    let b = sent.as_bytes();
    !a.is_empty()
        && a.len() == b.len()
        && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn csrf_refused() -> Response {
    page_error(AppError::new(
        StatusCode::FORBIDDEN,
        "csrf_invalid",
        "Formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu coba lagi.",
    ))
}

/// `POST /masuk/undangan/{id}`: signs, recording in the evidence that it was after SSO.
pub async fn sign(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiPath(id): ApiPath<i64>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiForm(form): ApiForm<signing::SignForm>,
) -> Response {
    let (signer, ctx) = match signer_invitation(&state, &jar, id).await {
        Ok(x) => x,
        Err(res) => return private(res),
    };
    if !csrf_ok(&signer, &form.csrf) {
        return private(csrf_refused());
    }
    let result: AppResult<Response> = async {
        let already = ctx.pledge_id.is_some();
        if let Some((status, page)) =
            signing::before_signing(&base(id), Some(&signer.csrf), &ctx, &form, already)?
        {
            return Ok(html(status, page));
        }
        let (client_ip, user_agent) = evidence(client, &headers);
        let signed = pledge::sign_after_sso(
            state.store.as_ref(),
            &state.sequencer,
            ctx.clone(),
            SignInput {
                token: "",
                consent_name: &form.consent_name,
                mark_svg: form.mark_svg.as_deref(),
                client_ip,
                user_agent,
            },
            &signer.subject,
        )
        .await
        .map_err(AppError::from);
        state.count_sign(&signed);
        match signed {
            Ok(_) => Ok(Redirect::to(&format!("{}?ok=1", base(id))).into_response()),
            Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
                let page = signing::sign_page(
                    &base(id),
                    Some(&signer.csrf),
                    &ctx,
                    Some(e.message),
                    &form.consent_name,
                )?;
                Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
            }
            Err(e) => Err(e),
        }
    }
    .await;
    private(result.unwrap_or_else(page_error))
}

/// `GET /masuk/undangan/{id}/pdf`: the receipt PDF.
pub async fn pdf(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    let (_, ctx) = match signer_invitation(&state, &jar, id).await {
        Ok(x) => x,
        Err(res) => return private(res),
    };
    private(
        signing::pdf_of(&state, &ctx)
            .await
            .unwrap_or_else(page_error),
    )
}

#[derive(Debug, Deserialize)]
pub struct SsoReportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
}

/// `POST /masuk/undangan/{id}/lapor`: "Data saya salah" after SSO.
pub async fn report(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiPath(id): ApiPath<i64>,
    ApiForm(form): ApiForm<SsoReportForm>,
) -> Response {
    let (signer, ctx) = match signer_invitation(&state, &jar, id).await {
        Ok(x) => x,
        Err(res) => return private(res),
    };
    if !csrf_ok(&signer, &form.csrf) {
        return private(csrf_refused());
    }
    match pledge::report_for_invitation(state.store.as_ref(), &ctx, &form.note).await {
        Ok(()) => message(
            StatusCode::OK,
            "Laporan terkirim",
            "Terima kasih. BKPSDM akan memeriksa dan memperbaiki data Anda. Jangan \
             menandatangani data yang salah.",
        ),
        Err(e) => {
            let e = AppError::from(e);
            if e.status == StatusCode::TOO_MANY_REQUESTS {
                state.metrics.rate_limited("report");
            }
            private(page_error(e))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /masuk/keluar`: ends the signer's session.
pub async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiForm(form): ApiForm<LogoutForm>,
) -> Response {
    match signer_of(&state, &jar).await {
        Ok(Some(signer)) if csrf_ok(&signer, &form.csrf) => {
            if let Some(c) = jar.get(SIGNER_COOKIE)
                && let Err(e) = sso::end_session(state.store.as_ref(), c.value()).await
            {
                tracing::warn!(error = %e, "ending a signer session failed");
            }
        }
        Ok(Some(_)) => return private(csrf_refused()),
        Ok(None) => {}
        Err(e) => return private(page_error(e)),
    }
    let jar = jar.remove(Cookie::build(SIGNER_COOKIE).path(SIGNER_PATH));
    private((jar, Redirect::to(SIGNER_PATH)).into_response())
}

/// Whether SSO is set up, for the login page's button.
pub fn enabled(state: &AppState) -> bool {
    state.oidc.is_some()
}
