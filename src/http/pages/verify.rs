//! `/v/{record}` (also `/V/…`): the page a scanned QR opens, rendering the same
//! [`Verification`] the API serves (JSON with `Accept: application/json`). The record is
//! the capability: its holder sees what the printed paper shows, never more.

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};

use crate::http::error::{AppError, AppResult};
use crate::http::extract::ApiPath;
use crate::http::state::AppState;
use crate::service::verification::{self, Verification};

pub async fn verify_page(
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let result = verification::verify(state.store.as_ref(), &state.keys, &state.reads, &raw).await;
    if wants_json {
        return Ok(Json(result?).into_response());
    }
    let page = match result {
        Ok(v) => VerifyPage::from(&v),
        Err(e) => VerifyPage::error(&AppError::from(e).message),
    };
    let html = page.render().map_err(AppError::internal)?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    valid: bool,
    annulled: bool,
    reason: String,
    rows: Vec<(&'static str, String)>,
    statement: Option<String>,
    log_index: String,
    tree_size: String,
}

impl From<&Verification> for VerifyPage {
    fn from(v: &Verification) -> VerifyPage {
        let mut rows = Vec::new();
        let mut statement = None;
        if let Some(p) = &v.pledge {
            for (label, value) in [
                ("Nama", Some(&p.name)),
                ("NIP", Some(&p.nip)),
                ("Unit kerja", Some(&p.unit)),
                ("Instansi", Some(&p.instansi)),
                ("Kampanye", Some(&p.campaign)),
                ("Naskah", Some(&p.template_title)),
                ("Ditandatangani", Some(&human(&p.signed_at))),
                (
                    "Dibatalkan pada",
                    p.annulled_at.as_deref().map(human).as_ref(),
                ),
                ("Kategori pembatalan", p.annul_category.as_ref()),
            ] {
                if let Some(value) = value {
                    rows.push((label, value.clone()));
                }
            }
            statement = p.statement.clone();
        }
        VerifyPage {
            valid: v.valid,
            annulled: v.annulled,
            reason: v.reason.clone().unwrap_or_default(),
            rows,
            statement,
            // Shown only for a valid record, which always has both.
            log_index: v
                .record
                .as_ref()
                .map(|r| r.log_index.to_string())
                .unwrap_or_default(),
            tree_size: v
                .inclusion
                .as_ref()
                .map(|i| i.tree_size.to_string())
                .unwrap_or_default(),
        }
    }
}

/// The API's RFC 3339 time as the page shows it (`29 November 2026 pukul 08.15 WIB`).
fn human(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(crate::domain::instansi::waktu)
        .unwrap_or_else(|_| rfc3339.to_string())
}

impl VerifyPage {
    fn error(message: &str) -> VerifyPage {
        VerifyPage {
            valid: false,
            annulled: false,
            reason: message.to_string(),
            rows: Vec::new(),
            statement: None,
            log_index: String::new(),
            tree_size: String::new(),
        }
    }
}
