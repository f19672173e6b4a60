//! The way in: one module per resource, one route table here.

pub mod api;
pub mod auth;
pub mod download;
pub mod error;
pub mod extract;
pub mod pages;
pub mod state;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{get, post};

use api::{hr, log, lookup, meta, sign, verify};
use pages::{admin, ceremony, dashboard, signing};
use tower_http::set_header::SetResponseHeaderLayer;

use std::net::SocketAddr;

use tokio::net::TcpListener;

use state::AppState;

/// Sign requests are tiny; a mark is at most 32 KiB (SPEC 6).
pub const SIGN_BODY_LIMIT: usize = 64 * 1024;

/// Scripts only from our origin, no inline code, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/api/v1/sign",
            post(sign::sign).layer(DefaultBodyLimit::max(SIGN_BODY_LIMIT)),
        )
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
        .route("/s/{token}/lapor", post(signing::report))
        .route("/static/sign.js", get(meta::script))
        .route("/api/v1/verify/{record}", get(verify::verify_json))
        .route("/v/{record}", get(pages::verify::verify_page))
        .route("/V/{record}", get(pages::verify::verify_page))
        .route("/api/v1/lookup", get(lookup::lookup))
        .route("/api/v1/keys", get(meta::keys))
        .route("/api/v1/templates", get(meta::templates))
        .route("/log/checkpoint", get(log::checkpoint))
        .route("/api/v1/log/inclusion", get(log::inclusion))
        .route("/api/v1/log/consistency", get(log::consistency))
        .route("/static/app.css", get(meta::stylesheet))
        .route(
            "/api/v1/roster",
            post(hr::import_roster).layer(DefaultBodyLimit::max(hr::ROSTER_BODY_LIMIT)),
        )
        .route(
            "/api/v1/campaigns",
            post(hr::create_campaign).get(hr::list_campaigns),
        )
        .route("/api/v1/campaigns/{id}", get(hr::get_campaign))
        .route("/api/v1/campaigns/{id}/close", post(hr::close_campaign))
        .route("/api/v1/campaigns/{id}/compliance", get(hr::compliance))
        .route("/api/v1/campaigns/{id}/unsigned", get(hr::unsigned))
        .route(
            "/api/v1/campaigns/{id}/invitations",
            post(hr::issue_invitations),
        )
        .route(
            "/api/v1/campaigns/{id}/invitations/revoke",
            post(hr::revoke_invitation),
        )
        .route("/api/v1/pledges/{id}", get(hr::get_pledge))
        .route("/api/v1/pledges/{id}/annul", post(hr::annul_pledge))
        .route("/api/v1/pledges/{id}/pdf", get(hr::pledge_pdf))
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
        .route("/acara/{id}", get(ceremony::screen))
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
        .fallback(meta::not_found)
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

/// Serves until `shutdown` resolves. Takes a bound listener so tests can use port 0.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let live = state.live.clone();
    let shutdown = async move {
        shutdown.await;
        live.close();
    };
    let app = router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
