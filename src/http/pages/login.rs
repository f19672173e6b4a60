//! The login form at `/admin/login` (rate-limited per address and per username, CSRF by a
//! cookie of its own) and logout. Checking the password and opening the session is
//! `service::account`'s.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use governor::clock::{Clock, DefaultClock};
use serde::Deserialize;

use crate::domain::token;
use crate::http::auth::{LOGIN_CSRF_COOKIE, PageCaller, SESSION_COOKIE, check_csrf, cookie};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{ApiForm, ClientAddr};
use crate::http::state::{AppState, rate_key};
use crate::service::account;

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    error: Option<String>,
    /// Offers "Masuk dengan SSO" when OIDC is configured.
    sso: bool,
    /// Kept after a refusal, so only the password is typed again.
    username: String,
    /// The admin page to return to after logging in.
    next: String,
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    keluar: Option<String>,
}

/// Where to go after logging in: an admin page of ours, never another site (`//host`) or
/// the login page itself.
fn safe_next(next: &str) -> &str {
    let ok = next.starts_with("/admin")
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.starts_with("/admin/login")
        && !next.starts_with("/admin/logout");
    if ok { next } else { "/admin" }
}

pub async fn login_page(
    State(state): State<AppState>,
    jar: CookieJar,
    crate::http::extract::ApiQuery(q): crate::http::extract::ApiQuery<LoginQuery>,
) -> Response {
    let csrf = token::random(16);
    let jar = jar.add(cookie(LOGIN_CSRF_COOKIE, csrf.clone(), "/admin"));
    let page = super::html(
        StatusCode::OK,
        LoginPage {
            csrf,
            error: None,
            sso: super::sso::enabled(&state),
            username: String::new(),
            next: safe_next(&q.next).to_string(),
            notice: q.keluar.is_some().then_some("Anda sudah keluar."),
        },
    );
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
    #[serde(default)]
    next: String,
}

/// Checks both limits before any password work: argon2id costs ~17 ms per try.
fn login_limited(state: &AppState, client: std::net::IpAddr, username: &str) -> AppResult<()> {
    let wait = |limit: &'static str| {
        move |nu: governor::NotUntil<governor::clock::QuantaInstant>| {
            state.metrics.rate_limited(limit);
            let w = nu.wait_time_from(DefaultClock::default().now());
            AppError::rate_limited(w.as_secs() + 1)
        }
    };
    state
        .login_ip_limiter
        .check_key(&rate_key(client))
        .map_err(wait("login_ip"))?;
    state
        .login_user_limiter
        .check_key(&username.to_string())
        .map_err(wait("login_user"))?;
    Ok(())
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    jar: CookieJar,
    ApiForm(form): ApiForm<LoginForm>,
) -> Response {
    let next = safe_next(&form.next).to_string();
    let typed = form.username.trim().to_string();
    let fail = |status: StatusCode, msg: &str, jar: CookieJar| {
        let csrf = token::random(16);
        let jar = jar.add(cookie(LOGIN_CSRF_COOKIE, csrf.clone(), "/admin"));
        let page = super::html(
            status,
            LoginPage {
                csrf,
                error: Some(msg.to_string()),
                sso: super::sso::enabled(&state),
                username: typed.clone(),
                next: next.clone(),
                notice: None,
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
        Err(e) => return super::page_error(e.into()),
    };
    let jar = jar
        .remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/admin"))
        .add(cookie(SESSION_COOKIE, session.id, "/"));
    (jar, Redirect::to(&next)).into_response()
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
    ApiForm(form): ApiForm<CsrfForm>,
) -> Response {
    if let Err(e) = check_csrf(&caller, &form.csrf) {
        return super::page_error(e);
    }
    if let Some(c) = jar.get(SESSION_COOKIE)
        && let Err(e) = account::logout(state.store.as_ref(), c.value()).await
    {
        tracing::warn!(error = %e, "ending a session failed");
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    (jar, Redirect::to("/admin/login?keluar=1")).into_response()
}

/// `GET /admin/logout`: the navigation bar's "Keluar" link lands here, so that every admin
/// page offers it without carrying the form token; the button posts the form.
#[derive(askama::Template)]
#[template(path = "admin/confirm.html")]
struct LogoutPage {
    heading: String,
    text: String,
    action: String,
    csrf: String,
    hidden: Vec<(String, String)>,
    button: String,
    back: String,
}

pub async fn logout_page(PageCaller(caller): PageCaller) -> Response {
    super::html(
        StatusCode::OK,
        LogoutPage {
            heading: "Keluar dari halaman admin?".to_string(),
            text: format!("Anda masuk sebagai {}.", caller.username),
            action: "/admin/logout".to_string(),
            csrf: caller.csrf.clone().unwrap_or_default(),
            hidden: Vec::new(),
            button: "Keluar".to_string(),
            back: "/admin".to_string(),
        },
    )
}
