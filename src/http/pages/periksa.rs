//! `/periksa`, the in-browser verifier (SPEC 4.3), with its script, its service worker and
//! the fallback QR decoder. The page pins this server's keys and witness policy; it is
//! never cached by intermediaries but kept by its service worker for offline use.

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use crate::http::error::AppResult;
use crate::http::state::AppState;
use crate::render::verifier as page;
use crate::service::verifier::{self, Hosting};

pub async fn show(State(state): State<AppState>) -> AppResult<Response> {
    let config = verifier::for_issuer(state.store.as_ref(), state.policy.as_deref()).await?;
    let html = config.page(Hosting::Issuer)?;
    Ok(([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response())
}

fn script(body: &'static str, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

pub async fn verifier_script() -> Response {
    script(page::SCRIPT, "public, max-age=3600")
}

pub async fn jsqr() -> Response {
    script(page::JSQR, "public, max-age=86400")
}

/// Browsers check a service worker for updates at most daily whatever this says; `no-cache`
/// makes each check revalidate.
pub async fn service_worker() -> Response {
    script(page::service_worker(), "no-cache")
}
