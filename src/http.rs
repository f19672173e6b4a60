//! The way in: one module per resource, one route table here.

pub mod api;
pub mod auth;
pub mod conn;
pub mod download;
pub mod error;
pub mod extract;
pub mod pages;
pub mod state;

use axum::Router;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

use api::{hr, log, meta};
use pages::{admin, ceremony, dashboard, signing};
use tower_http::set_header::SetResponseHeaderLayer;

use tokio::net::TcpListener;

pub use conn::ServeLimits;

use error::AppError;
use extract::{Rejected, Rejection};
use state::AppState;

use crate::metrics::Metrics;

/// Sign requests are tiny; a mark is at most 32 KiB (SPEC 6).
pub const SIGN_BODY_LIMIT: usize = 64 * 1024;

/// Scripts only from our origin, no inline code, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

pub fn router(state: AppState) -> Router {
    let (api, _) = api::openapi::routes().split_for_parts();
    Router::new()
        .merge(api)
        .route("/", get(pages::public::index))
        .route("/cek", get(pages::public::cek))
        .route(
            "/s/{token}",
            get(signing::show)
                .post(signing::post)
                .layer(DefaultBodyLimit::max(SIGN_BODY_LIMIT)),
        )
        .route(
            "/S/{token}",
            get(signing::show)
                .post(signing::post)
                .layer(DefaultBodyLimit::max(SIGN_BODY_LIMIT)),
        )
        .route("/s/{token}/pdf", get(signing::pdf))
        .route("/s/{token}/proof", get(signing::proof))
        .route("/s/{token}/lapor", post(signing::report))
        .route("/static/sign.js", get(meta::script))
        .route("/v/{record}", get(pages::verify::verify_page))
        .route("/V/{record}", get(pages::verify::verify_page))
        .route("/log/checkpoint", get(log::checkpoint))
        .route("/log/tile/entries/{*path}", get(log::entry_bundle))
        .route("/log/tile/{*path}", get(log::hash_tile))
        .route("/static/app.css", get(meta::stylesheet))
        .route(
            "/admin/login",
            get(pages::login::login_page).post(pages::login::login),
        )
        .route("/admin/logout", post(pages::login::logout))
        .route("/admin", get(admin::dashboard))
        .route("/admin/campaigns", post(admin::create_campaign))
        .route("/admin/campaigns/{id}", get(admin::campaign))
        .route(
            "/admin/campaigns/{id}/invitations",
            post(admin::issue_invitations),
        )
        .route("/admin/campaigns/{id}/close", post(admin::close_campaign))
        .route("/admin/campaigns/{id}/dasbor", get(dashboard::show))
        .route(
            "/admin/campaigns/{id}/pengingat",
            get(pages::reminders::show).post(pages::reminders::run),
        )
        .route("/acara/{id}", get(ceremony::screen))
        .route("/transparansi", get(pages::transparency::list))
        .route("/transparansi/{id}", get(pages::transparency::campaign))
        .route("/acara/{id}/events", get(ceremony::events))
        .route("/static/acara.js", get(ceremony::script))
        .route(
            "/admin/roster",
            get(admin::roster)
                .post(admin::upload_roster)
                .layer(DefaultBodyLimit::max(hr::ROSTER_BODY_LIMIT)),
        )
        .route("/admin/audit", get(admin::audit))
        .route("/healthz", get(meta::healthz))
        .route("/readyz", get(meta::readyz))
        .route("/metrics", get(meta::metrics))
        .fallback(|| async { Rejection(meta::not_found().await) })
        .method_not_allowed_fallback(extract::wrong_method)
        .layer(middleware::from_fn(rejections_as_pages))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            count_request,
        ))
        .layer(DefaultBodyLimit::max(SIGN_BODY_LIMIT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .with_state(state)
}

/// Refusals of extractors, unknown routes and wrong methods reach a browser's page request
/// as the HTML error page; the API and scripts get the JSON error shape.
async fn rejections_as_pages(req: Request, next: Next) -> Response {
    let page = !req.uri().path().starts_with("/api/")
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    let res = next.run(req).await;
    match res.extensions().get::<Rejected>() {
        Some(r) if page => {
            pages::page_error(AppError::new(res.status(), r.code, r.message.clone()))
        }
        _ => res,
    }
}

/// Counts every answer by its route template (`/s/{token}`, never the token) and status.
async fn count_request(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let res = next.run(req).await;
    metrics.http_request(
        route.as_deref().unwrap_or(crate::metrics::UNMATCHED_ROUTE),
        res.status().as_u16(),
        started.elapsed(),
    );
    res
}

/// Serves until `shutdown` resolves. Takes a bound listener so tests can use port 0.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_limits(listener, state, ServeLimits::default(), shutdown).await
}

/// [`serve`] with other connection limits than SPEC 4.6's (tests shorten the timeouts).
pub async fn serve_with_limits(
    listener: TcpListener,
    state: AppState,
    limits: ServeLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let live = state.live.clone();
    let shutdown = async move {
        shutdown.await;
        live.close();
    };
    conn::serve(listener, router(state), limits, shutdown).await
}
