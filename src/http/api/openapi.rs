//! The `/api/v1` route table and its OpenAPI 3.1 description (SPEC 4.6), from one place:
//! each handler's `#[utoipa::path]` gives both its route and its description, and the
//! schemas are the handlers' own request and response types. `GET /api/v1/openapi.json`
//! serves the result.

use std::sync::OnceLock;

use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::{hr, log, lookup, meta, proof, reminders, sign, verify};
use crate::http::SIGN_BODY_LIMIT;
use crate::http::error::ErrorBody;
use crate::http::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ikrar",
        description = "Digitally signed civil-servant pledges: signing, verification, NIP \
            lookup, the transparency log's proofs, and the HR API (Bearer tokens from \
            `ikrar token create`). Every error answers `{\"error\": {\"code\", \"message\", \
            \"field\"?}}` with an Indonesian message."
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerToken),
    tags(
        (name = "public", description = "For signers and the public"),
        (name = "log", description = "The transparency log's proofs"),
        (name = "hr", description = "For HR of an instansi (Bearer token)"),
        (name = "meta", description = "This description"),
    )
)]
struct ApiDoc;

/// HR calls carry `Authorization: Bearer <token>` (SPEC 4.1).
struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        // No licence is declared for the API; utoipa would publish an empty one.
        openapi.info.license = None;
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every `/api/v1` route with its description. The router serves these and nothing else
/// under `/api/v1`; a test holds the two together.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(sign::sign).layer(DefaultBodyLimit::max(SIGN_BODY_LIMIT)))
        .routes(routes!(verify::verify_json))
        .routes(routes!(proof::by_record))
        .routes(routes!(lookup::lookup))
        .routes(routes!(meta::keys))
        .routes(routes!(meta::templates))
        .routes(routes!(log::inclusion))
        .routes(routes!(log::consistency))
        .routes(routes!(hr::import_roster).layer(DefaultBodyLimit::max(hr::ROSTER_BODY_LIMIT)))
        .routes(routes!(hr::create_campaign, hr::list_campaigns))
        .routes(routes!(hr::get_campaign, hr::edit_campaign))
        .routes(routes!(hr::close_campaign))
        .routes(routes!(hr::compliance))
        .routes(routes!(hr::unsigned))
        .routes(routes!(hr::issue_invitations))
        .routes(routes!(hr::revoke_invitation))
        .routes(routes!(reminders::send_reminders))
        .routes(routes!(hr::get_pledge))
        .routes(routes!(hr::annul_pledge))
        .routes(routes!(hr::pledge_pdf))
        .routes(routes!(proof::by_pledge))
        .routes(routes!(openapi_json))
}

/// The description as JSON, built once per process.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        routes()
            .into_openapi()
            .to_json()
            .expect("the description serializes")
    })
}

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "This OpenAPI 3.1 description.",
        content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        document(),
    )
}
