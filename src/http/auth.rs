//! Who is calling: an API bearer token (scripts) or an admin session cookie (pages), both
//! stored only hashed. Login with argon2id, rate-limited per address and per username;
//! CSRF tokens on every admin form; every HR object is scoped to the caller's instansi.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use governor::clock::{Clock, DefaultClock};
use serde::Deserialize;

use crate::domain::account::Role;
use crate::domain::token;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{ClientAddr, rate_key};
use crate::http::state::AppState;
use crate::service::account;

pub const SESSION_COOKIE: &str = "ikrar_session";
const LOGIN_CSRF_COOKIE: &str = "ikrar_login_csrf";

/// An authenticated HR, admin, auditor or operator.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub instansi_id: Option<i64>,
    /// Present for cookie sessions: the token every form must echo.
    pub csrf: Option<String>,
}

impl Caller {
    /// The caller's instansi, for routes that only per-instansi roles use.
    pub fn instansi(&self) -> AppResult<i64> {
        match (self.role.per_instansi(), self.instansi_id) {
            (true, Some(id)) => Ok(id),
            _ => Err(AppError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Fitur ini untuk akun instansi (admin, hr, auditor).",
            )),
        }
    }

    /// Another instansi's object answers exactly like a missing one.
    pub fn owns(&self, instansi_id: i64) -> AppResult<()> {
        if self.instansi()? == instansi_id {
            Ok(())
        } else {
            Err(not_found())
        }
    }

    pub fn must_manage(&self) -> AppResult<()> {
        if self.role.can_manage() {
            Ok(())
        } else {
            Err(AppError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Peran Anda hanya dapat membaca data.",
            ))
        }
    }

    pub fn actor(&self) -> String {
        format!("user:{}", self.username)
    }
}

pub fn not_found() -> AppError {
    AppError::not_found("not_found", "Data yang diminta tidak ditemukan.")
}

fn unauthorized() -> AppError {
    AppError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Perlu masuk: kirim token API (Authorization: Bearer …) atau masuk di /admin/login.",
    )
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let store = state.store.as_ref();
        let account = if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or_else(unauthorized)?;
            account::by_api_token(store, token).await?
        } else {
            let jar = CookieJar::from_headers(&parts.headers);
            let cookie = jar.get(SESSION_COOKIE).ok_or_else(unauthorized)?;
            account::by_session(store, cookie.value()).await?
        };
        let a = account.ok_or_else(unauthorized)?;
        Ok(Caller {
            user_id: a.user_id,
            username: a.username,
            role: a.role,
            instansi_id: a.instansi_id,
            csrf: a.csrf,
        })
    }
}

/// A page caller: like [`Caller`] but a missing session sends the browser to the login page.
pub struct PageCaller(pub Caller);

impl FromRequestParts<AppState> for PageCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match Caller::from_request_parts(parts, state).await {
            Ok(c) if c.csrf.is_some() => Ok(PageCaller(c)),
            Ok(_) | Err(_) => Err(Redirect::to("/admin/login").into_response()),
        }
    }
}

/// Compares a form's CSRF token with the session's in constant time.
pub fn check_csrf(caller: &Caller, submitted: &str) -> AppResult<()> {
    let expected = caller.csrf.as_deref().unwrap_or_default();
    let ok = !expected.is_empty()
        && expected.len() == submitted.len()
        && expected
            .bytes()
            .zip(submitted.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if ok {
        Ok(())
    } else {
        Err(AppError::new(
            StatusCode::FORBIDDEN,
            "csrf_invalid",
            "Formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu coba lagi.",
        ))
    }
}

fn cookie(name: &'static str, value: String, path: &'static str) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .build()
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    error: Option<String>,
}

pub async fn login_page(jar: CookieJar) -> Response {
    let csrf = token::random(16);
    let jar = jar.add(cookie(LOGIN_CSRF_COOKIE, csrf.clone(), "/admin"));
    let page = crate::http::pages::html(StatusCode::OK, LoginPage { csrf, error: None });
    (jar, no_store(page)).into_response()
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// Checks both limits before any password work: argon2id costs ~17 ms per try.
fn login_limited(state: &AppState, client: std::net::IpAddr, username: &str) -> AppResult<()> {
    let wait = |nu: governor::NotUntil<governor::clock::QuantaInstant>| {
        let w = nu.wait_time_from(DefaultClock::default().now());
        AppError::rate_limited(w.as_secs() + 1)
    };
    state
        .login_ip_limiter
        .check_key(&rate_key(client))
        .map_err(wait)?;
    state
        .login_user_limiter
        .check_key(&username.to_string())
        .map_err(wait)?;
    Ok(())
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    jar: CookieJar,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let fail = |status: StatusCode, msg: &str, jar: CookieJar| {
        let csrf = token::random(16);
        let jar = jar.add(cookie(LOGIN_CSRF_COOKIE, csrf.clone(), "/admin"));
        let page = crate::http::pages::html(
            status,
            LoginPage {
                csrf,
                error: Some(msg.to_string()),
            },
        );
        (jar, no_store(page)).into_response()
    };
    let expected = jar.get(LOGIN_CSRF_COOKIE).map(|c| c.value().to_string());
    if expected.as_deref() != Some(form.csrf.as_str()) || form.csrf.is_empty() {
        return fail(
            StatusCode::FORBIDDEN,
            "Formulir kedaluwarsa atau tidak sah. Silakan coba lagi.",
            jar,
        );
    }
    let username = form.username.trim().to_ascii_lowercase();
    if let Err(e) = login_limited(&state, client, &username) {
        let mut res = fail(e.status, &e.message, jar);
        if let Some(s) = e.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        return res;
    }
    let session = match account::login(state.store.as_ref(), &username, form.password).await {
        Ok(Some(session)) => session,
        Ok(None) => {
            return fail(
                StatusCode::UNAUTHORIZED,
                "Nama pengguna atau kata sandi salah.",
                jar,
            );
        }
        Err(e) => return crate::http::pages::page_error(e.into()),
    };
    let jar = jar
        .remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/admin"))
        .add(cookie(SESSION_COOKIE, session.id, "/"));
    (jar, Redirect::to("/admin")).into_response()
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    jar: CookieJar,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    if let Err(e) = check_csrf(&caller, &form.csrf) {
        return crate::http::pages::page_error(e);
    }
    if let Some(c) = jar.get(SESSION_COOKIE)
        && let Err(e) = account::logout(state.store.as_ref(), c.value()).await
    {
        tracing::warn!(error = %e, "ending a session failed");
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    (jar, Redirect::to("/admin/login")).into_response()
}

/// The bearer token of a request, if any (for tests and tools).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// The instansi's time zone, for showing its times.
pub async fn tz_of(
    state: &AppState,
    instansi_id: i64,
) -> AppResult<crate::domain::instansi::TimeZone> {
    Ok(crate::service::instansi::time_zone(state.store.as_ref(), instansi_id).await?)
}

/// A campaign of the caller's instansi, or 404.
pub async fn owned_campaign(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> AppResult<crate::store::CampaignRow> {
    Ok(crate::service::campaign::owned(state.store.as_ref(), caller.instansi()?, id).await?)
}
