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
use pages::{admin, admin_pledges, campaign_admin, ceremony, dashboard, kiosk, signing, sso};
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
        .route(
            "/admin/logout",
            get(pages::login::logout_page).post(pages::login::logout),
        )
        .route("/admin/login/sso", get(sso::hr_start))
        .route("/masuk", get(sso::masuk))
        .route("/masuk/sso", get(sso::signer_start))
        .route("/masuk/keluar", post(sso::logout))
        .route(
            "/masuk/undangan/{id}",
            get(sso::show)
                .post(sso::sign)
                .layer(DefaultBodyLimit::max(SIGN_BODY_LIMIT)),
        )
        .route("/masuk/undangan/{id}/pdf", get(sso::pdf))
        .route("/masuk/undangan/{id}/lapor", post(sso::report))
        .route("/auth/oidc/callback", get(sso::callback))
        .route("/admin", get(admin::dashboard))
        .route("/admin/campaigns", post(campaign_admin::create))
        .route("/admin/campaigns/baru", get(campaign_admin::new_form))
        .route("/admin/campaigns/{id}", get(admin::campaign))
        .route(
            "/admin/campaigns/{id}/ubah",
            get(campaign_admin::edit_form).post(campaign_admin::edit),
        )
        .route(
            "/admin/campaigns/{id}/invitations",
            post(campaign_admin::issue),
        )
        .route(
            "/admin/campaigns/{id}/tautan/{batch}",
            get(campaign_admin::batch),
        )
        .route(
            "/admin/campaigns/{id}/tautan/{batch}/{kind}",
            get(campaign_admin::batch_file),
        )
        .route("/admin/campaigns/{id}/close", post(campaign_admin::close))
        .route("/admin/campaigns/{id}/dasbor", get(dashboard::show))
        .route(
            "/admin/campaigns/{id}/kios",
            get(kiosk::admin).post(kiosk::start),
        )
        .route(
            "/admin/campaigns/{id}/kios/{kiosk}/akhiri",
            post(kiosk::end),
        )
        .route("/kios", get(kiosk::scan).post(kiosk::take_slip))
        .route(
            "/kios/tanda",
            get(kiosk::step)
                .post(kiosk::sign)
                .layer(DefaultBodyLimit::max(SIGN_BODY_LIMIT)),
        )
        .route("/kios/selesai", post(kiosk::done))
        .route("/static/kios.js", get(kiosk::script))
        .route("/admin/pledges", get(admin_pledges::search))
        .route("/admin/pledges/{id}", get(admin_pledges::show))
        .route("/admin/pledges/{id}/annul", post(admin_pledges::annul))
        .route(
            "/admin/campaigns/{id}/dasbor/events",
            get(dashboard::events),
        )
        .route("/static/dasbor.js", get(dashboard::script))
        .route(
            "/admin/campaigns/{id}/pengingat",
            get(pages::reminders::show).post(pages::reminders::run),
        )
        .route("/acara/{id}", get(ceremony::screen))
        .route("/periksa", get(pages::periksa::show))
        .route("/periksa-sw.js", get(pages::periksa::service_worker))
        .route("/static/periksa.js", get(pages::periksa::verifier_script))
        .route("/static/vendor/jsQR.js", get(pages::periksa::jsqr))
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
        .layer(middleware::from_fn(public_reads_cross_origin))
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

/// Public reads any verifier may fetch from another origin (a copy of the verifier hosted
/// by Bawaslu, or opened from disk): keys, proofs, verification and the log. No cookies or
/// credentials are honoured cross-origin, so `*` gives nothing away.
async fn public_reads_cross_origin(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let public = req.method() == axum::http::Method::GET
        && (path == "/api/v1/keys"
            || path.starts_with("/api/v1/proof/")
            || path.starts_with("/api/v1/verify/")
            || path.starts_with("/log/"));
    let mut res = next.run(req).await;
    if public {
        res.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    res
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
