//! The witness's HTTP side: `POST /add-checkpoint` with the status codes of
//! c2sp.org/tlog-witness, and `GET /`, the status page in Indonesian. Errors other than the
//! 409 (whose body the spec fixes) use the API's JSON error shape.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

use super::{Refusal, Witness, now_unix};
use crate::http::CONTENT_SECURITY_POLICY;
use crate::http::conn::is_body_timeout;
use crate::http::error::AppError;

/// A request is an old size, at most 63 hashes and a checkpoint with its signatures: far
/// below this.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The media type of a 409's body (c2sp.org/tlog-witness).
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route(
            "/add-checkpoint",
            post(add_checkpoint).layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .route("/", get(status))
        .fallback(|| async {
            AppError::not_found("not_found", "Halaman tidak ditemukan.").into_response()
        })
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .with_state(witness)
}

async fn add_checkpoint(
    State(witness): State<Arc<Witness>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(e) => return body_error(&e).into_response(),
    };
    match witness.add_checkpoint(&body, now_unix()).await {
        Ok(line) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], line).into_response(),
        Err(refusal) => refusal_response(refusal),
    }
}

fn refusal_response(refusal: Refusal) -> Response {
    let error = match refusal {
        Refusal::Conflict(size) => {
            return (
                StatusCode::CONFLICT,
                [(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)],
                format!("{size}\n"),
            )
                .into_response();
        }
        Refusal::Malformed(why) => AppError::bad_request(
            "request_malformed",
            format!("Permintaan add-checkpoint tidak sesuai format: {why}."),
        ),
        Refusal::OldTooLarge { old, size } => AppError::bad_request(
            "old_too_large",
            format!("Ukuran lama ({old}) lebih besar daripada ukuran checkpoint ({size})."),
        ),
        Refusal::UnknownOrigin(origin) => AppError::not_found(
            "unknown_log",
            format!("Saksi ini tidak mengawasi log {origin:?}."),
        ),
        Refusal::NotSigned => AppError::new(
            StatusCode::FORBIDDEN,
            "signature_invalid",
            "Checkpoint tidak memuat tanda tangan sah dari kunci log yang dikenal.",
        ),
        Refusal::Inconsistent(why) => AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "inconsistent",
            format!(
                "Checkpoint tidak konsisten dengan checkpoint yang terakhir ditandatangani: {why}."
            ),
        ),
        Refusal::Internal(e) => AppError::internal(format!("{e:#}")),
    };
    error.into_response()
}

fn body_error(rejection: &BytesRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "Isi permintaan terlalu besar.",
        )
    } else if is_body_timeout(rejection) {
        AppError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "Isi permintaan tidak diterima sampai selesai dalam batas waktu.",
        )
    } else {
        AppError::bad_request(
            "body_invalid",
            "Isi permintaan tidak dapat dibaca sampai selesai.",
        )
    }
}

struct LogRow {
    origin: String,
    keys: Vec<String>,
    size: u64,
    cosigned_at: Option<String>,
    refused: u64,
}

#[derive(Template)]
#[template(path = "witness/status.html")]
struct StatusPage {
    name: String,
    vkey: String,
    logs: Vec<LogRow>,
}

async fn status(State(witness): State<Arc<Witness>>) -> Response {
    let states = match witness.state.all().await {
        Ok(states) => states,
        Err(e) => return AppError::internal(format!("{e:#}")).into_response(),
    };
    let logs = witness
        .logs
        .iter()
        .map(|log| {
            let state = states.iter().find(|s| s.origin == log.origin);
            LogRow {
                origin: log.origin.clone(),
                keys: log.keys.iter().map(|k| k.vkey()).collect(),
                size: state.map_or(0, |s| s.size),
                cosigned_at: state.and_then(|s| s.cosigned_at).map(format_time),
                refused: state.map_or(0, |s| s.refused),
            }
        })
        .collect();
    let page = StatusPage {
        name: witness.cosigner.name.clone(),
        vkey: witness.cosigner.vkey(),
        logs,
    };
    match page.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => AppError::internal(e).into_response(),
    }
}

/// `2026-12-01 13:55:09 UTC`.
fn format_time(at: u64) -> String {
    i64::try_from(at)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map_or_else(
            || at.to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
}
