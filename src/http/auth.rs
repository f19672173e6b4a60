//! Who is calling: an API bearer token (scripts) or an admin session cookie (pages), both
//! stored only hashed. Login with argon2id, rate-limited per address and per username;
//! CSRF tokens on every admin form; every HR object is scoped to the caller's instansi.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use data_encoding::BASE32_NOPAD;
use governor::clock::{Clock, DefaultClock};
use serde::Deserialize;

use crate::domain::account::{Role, decoy_hash, verify_password};
use crate::domain::statement::sha256;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{ClientAddr, rate_key};
use crate::http::state::AppState;

pub const SESSION_COOKIE: &str = "ikrar_session";
const LOGIN_CSRF_COOKIE: &str = "ikrar_login_csrf";
const SESSION_HOURS: i64 = 12;

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

pub fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).expect("the operating system's random source is available");
    BASE32_NOPAD.encode(&b)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or_else(unauthorized)?;
            let user = state
                .store
                .user_by_api_token(&sha256(token.as_bytes()))
                .await?
                .ok_or_else(unauthorized)?;
            return Ok(Caller {
                user_id: user.id,
                username: user.username,
                role: Role::parse(&user.role).map_err(|e| AppError::internal(e.message))?,
                instansi_id: user.instansi_id,
                csrf: None,
            });
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let cookie = jar.get(SESSION_COOKIE).ok_or_else(unauthorized)?;
        let row = state
            .store
            .session(
                &sha256(cookie.value().as_bytes()),
                chrono::Utc::now().timestamp(),
            )
            .await?
            .ok_or_else(unauthorized)?;
        Ok(Caller {
            user_id: row.id,
            username: row.username,
            role: Role::parse(&row.role).map_err(|e| AppError::internal(e.message))?,
            instansi_id: row.instansi_id,
            csrf: Some(row.csrf),
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
    let csrf = random_token(16);
    let jar = jar.add(cookie(LOGIN_CSRF_COOKIE, csrf.clone(), "/admin"));
    let page = crate::http::pages::signing::html(StatusCode::OK, LoginPage { csrf, error: None });
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
        let csrf = random_token(16);
        let jar = jar.add(cookie(LOGIN_CSRF_COOKIE, csrf.clone(), "/admin"));
        let page = crate::http::pages::signing::html(
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
    let user = match state.store.user_by_username(&username).await {
        Ok(u) => u,
        Err(e) => return crate::http::pages::signing::page_error(e.into()),
    };
    let password = form.password;
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| decoy_hash().to_string());
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        return fail(
            StatusCode::UNAUTHORIZED,
            "Nama pengguna atau kata sandi salah.",
            jar,
        );
    };
    let session = random_token(32);
    let csrf = random_token(16);
    let now = chrono::Utc::now().timestamp();
    let created = state
        .store
        .create_session(
            &sha256(session.as_bytes()),
            user.id,
            &csrf,
            now,
            now + SESSION_HOURS * 3600,
        )
        .await;
    if let Err(e) = created {
        return crate::http::pages::signing::page_error(e.into());
    }
    let _ = state
        .store
        .audit(
            user.instansi_id,
            &format!("user:{}", user.username),
            "login",
            "masuk ke halaman admin",
            now,
        )
        .await;
    let jar = jar
        .remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/admin"))
        .add(cookie(SESSION_COOKIE, session, "/"));
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
        return crate::http::pages::signing::page_error(e);
    }
    if let Some(c) = jar.get(SESSION_COOKIE) {
        let _ = state
            .store
            .delete_session(&sha256(c.value().as_bytes()))
            .await;
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
