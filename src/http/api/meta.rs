//! Keys, templates, health and readiness: what clients and operators read.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::domain::instansi::TimeZone;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::service::instansi;

fn rfc3339(unix: i64) -> String {
    TimeZone::Jakarta
        .at(unix)
        .with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Every pledge and log key ever used, with its validity window, so old receipts verify.
pub async fn keys(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let keys: Vec<Value> = state
        .store
        .keys()
        .await?
        .into_iter()
        .map(|k| {
            let public: [u8; 32] = k.public_key.as_slice().try_into().unwrap_or([0; 32]);
            let mut v = json!({
                "name": k.name,
                "key_id": hex::encode(&k.key_id),
                "purpose": k.purpose.as_str(),
                "public_key": B64.encode(public),
                "vkey": crate::tlog::note::vkey(&k.name, &public),
                "not_before": rfc3339(k.not_before),
            });
            if let Some(t) = k.not_after {
                v["not_after"] = json!(rfc3339(t));
            }
            v
        })
        .collect();
    Ok(Json(json!({ "keys": keys })))
}

pub async fn templates(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let mut out = Vec::new();
    for (row, t) in instansi::templates(state.store.as_ref()).await? {
        out.push(json!({
            "number": row.number,
            "code": row.code,
            "version": row.version,
            "title": row.title,
            "sha256": hex::encode(&row.sha256),
            "text": t.canonical_text(),
        }));
    }
    Ok(Json(json!({ "templates": out })))
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

/// Ready when the database answers and signing is allowed (keys are loaded at startup).
pub async fn readyz(State(state): State<AppState>) -> AppResult<&'static str> {
    state.store.ping().await?;
    let head = state.store.log_head().await?;
    state.guard.check(head.size).map_err(|e| {
        AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "log_rolled_back",
            format!("Tidak siap: {e}"),
        )
    })?;
    Ok("ready")
}

pub async fn not_found() -> AppError {
    AppError::not_found("not_found", "Halaman tidak ditemukan.")
}
