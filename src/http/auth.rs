//! Who is calling: an API bearer token (scripts) or an admin session cookie (pages), both
//! stored only hashed. Login with argon2id, rate-limited per address and per username;
//! CSRF tokens on every admin form; every HR object is scoped to the caller's instansi.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::domain::account::Role;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::service::account;

pub const SESSION_COOKIE: &str = "ikrar_session";
pub const LOGIN_CSRF_COOKIE: &str = "ikrar_login_csrf";

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

/// The header an API call authenticated by the session cookie carries the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An API caller. A call authenticated by the session cookie (not a bearer token) that
/// may change something (POST, PUT, PATCH, DELETE) must echo the session's CSRF token in
/// `X-CSRF-Token` (SPEC 4.6), or a cross-site form could act with the browser's cookie.
impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let by_bearer = parts.headers.contains_key(header::AUTHORIZATION);
        let caller = authenticate(parts, state).await?;
        if !by_bearer && !parts.method.is_safe() {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !csrf_matches(&caller, sent) {
                return Err(AppError::new(
                    StatusCode::FORBIDDEN,
                    "csrf_invalid",
                    "Permintaan dengan sesi masuk memerlukan token CSRF yang sah di header \
                     X-CSRF-Token. Muat ulang halaman lalu coba lagi.",
                ));
            }
        }
        Ok(caller)
    }
}

/// Who the request's bearer token or session cookie belongs to.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, AppError> {
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

/// A page caller: like [`Caller`] but a missing session sends the browser to the login page.
pub struct PageCaller(pub Caller);

impl FromRequestParts<AppState> for PageCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        // Page forms carry their CSRF token in the body; the handlers check it.
        match authenticate(parts, state).await {
            Ok(c) if c.csrf.is_some() => Ok(PageCaller(c)),
            // A page (not a form's post) that asked for a login is returned to afterwards.
            Ok(_) | Err(_) if parts.method == axum::http::Method::GET => {
                let here = parts.uri.path_and_query().map_or("/admin", |p| p.as_str());
                let next =
                    url::form_urlencoded::byte_serialize(here.as_bytes()).collect::<String>();
                Err(Redirect::to(&format!("/admin/login?next={next}")).into_response())
            }
            Ok(_) | Err(_) => Err(Redirect::to("/admin/login").into_response()),
        }
    }
}

/// Compares a submitted CSRF token with the session's in constant time.
fn csrf_matches(caller: &Caller, submitted: &str) -> bool {
    let expected = caller.csrf.as_deref().unwrap_or_default();
    !expected.is_empty()
        && expected.len() == submitted.len()
        && expected
            .bytes()
            .zip(submitted.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Checks a form's CSRF token against the session's.
pub fn check_csrf(caller: &Caller, submitted: &str) -> AppResult<()> {
    if csrf_matches(caller, submitted) {
        Ok(())
    } else {
        Err(AppError::new(
            StatusCode::FORBIDDEN,
            "csrf_invalid",
            "Formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu coba lagi.",
        ))
    }
}

/// A cookie as every one of ours is: HttpOnly, Secure, SameSite=Strict (SPEC 6).
pub fn cookie(name: &'static str, value: String, path: &'static str) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .build()
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
