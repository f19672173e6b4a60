//! Keys, templates, health and readiness: what clients and operators read.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use axum::http::header;
use axum::response::{IntoResponse, Response};

use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::{AppError, AppResult, ErrorBody};
use crate::http::extract::{ClientAddr, Rejection};
use crate::http::state::AppState;
use crate::service::offline::KeySet;
use crate::service::{instansi, verifier};

/// One template version (SPEC 4).
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateInfo {
    pub number: i64,
    pub code: String,
    pub version: i64,
    pub title: String,
    /// Lowercase hex SHA-256 of the canonical text.
    pub sha256: String,
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplatesResponse {
    pub templates: Vec<TemplateInfo>,
}

/// Every pledge and log key ever used, with its validity window, so old receipts verify.
#[utoipa::path(get, path = "/api/v1/keys", tag = "public",
    responses(
        (status = 200, description = "Every pledge and log key ever used.", body = KeySet),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ))]
pub async fn keys(State(state): State<AppState>) -> AppResult<Json<KeySet>> {
    Ok(Json(verifier::published_keys(state.store.as_ref()).await?))
}

#[utoipa::path(get, path = "/api/v1/templates", tag = "public",
    responses(
        (status = 200, description = "Every template version.", body = TemplatesResponse),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ))]
pub async fn templates(State(state): State<AppState>) -> AppResult<Json<TemplatesResponse>> {
    let mut templates = Vec::new();
    for (row, t) in instansi::templates(state.store.as_ref()).await? {
        templates.push(TemplateInfo {
            text: t.canonical_text(),
            sha256: hex::encode(&row.sha256),
            number: row.number,
            code: row.code,
            version: row.version,
            title: row.title,
        });
    }
    Ok(Json(TemplatesResponse { templates }))
}

pub async fn stylesheet() -> impl axum::response::IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../templates/static/app.css"),
    )
}

pub async fn script() -> impl axum::response::IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../templates/static/sign.js"),
    )
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// `200 {"status":"ready"}` when this instance can sign; otherwise 503 in the error shape
/// with why (SPEC 4.6). A checkpoint file missing at start beside a non-empty log does not
/// stop signing (the next append writes it) but is reported under `warnings`.
pub async fn readyz(State(state): State<AppState>) -> AppResult<Json<Value>> {
    if state.health.key_retired().is_some() {
        return Err(AppError::key_retired());
    }
    let head = match state.store.log_head().await {
        Ok(head) => head,
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            return Err(AppError::database_unreachable());
        }
    };
    if state.guard.check(head.size).is_err() {
        return Err(AppError::log_rolled_back());
    }
    if state.guard.unwritable() {
        return Err(AppError::checkpoint_file_unwritable());
    }
    if state.health.appends_failing() {
        return Err(AppError::appends_failing());
    }
    let mut ready = json!({ "status": "ready" });
    if state.guard.missing() {
        ready["warnings"] = json!([{
            "code": "checkpoint_file_missing",
            "message": "Berkas checkpoint pengaman log tidak ditemukan saat server dijalankan, \
                        padahal log tidak kosong. Berkas ditulis lagi pada penandatanganan \
                        berikutnya; periksa apakah basis data dipulihkan dari cadangan lama.",
        }]);
    }
    Ok(Json(ready))
}

/// `GET /metrics`: the Prometheus text format, for `--metrics-allow` clients only; to anyone
/// else the same 404 as an unknown address.
pub async fn metrics(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
) -> Result<Response, Rejection> {
    if !state.may_read_metrics(client) {
        return Err(Rejection(not_found().await));
    }
    // The log also grows by annulments and by other instances: read its size from the store.
    match state.store.log_head().await {
        Ok(head) => state.metrics.log_size(head.size),
        Err(e) => tracing::warn!(error = %e, "metrics: the log size could not be read"),
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        state.metrics.render(),
    )
        .into_response())
}

pub async fn not_found() -> AppError {
    AppError::not_found("not_found", "Halaman tidak ditemukan.")
}
