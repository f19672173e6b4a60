//! Files the HR side downloads: links issued as CSV or as printable QR slips. Shared by
//! the HR API and the admin pages, which answer with the same bytes.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::http::auth::Caller;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::service::invitation;
use crate::store::CampaignRow;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct IssueRequest {
    /// Issue fresh links to staff who already have one (the old links stop working).
    #[serde(default)]
    pub reissue: bool,
    /// Only this NIP (or staff number).
    #[serde(default)]
    pub nip: Option<String>,
    /// `csv` (default) or `slips` (a PDF of printable QR slips)
    #[serde(default)]
    pub format: Option<String>,
}

pub async fn issue(
    state: &AppState,
    caller: &Caller,
    c: &CampaignRow,
    req: &IssueRequest,
) -> AppResult<Response> {
    let issued = invitation::issue(
        state.store.as_ref(),
        c,
        req.reissue,
        req.nip.as_deref(),
        &state.public_url,
        &caller.actor(),
    )
    .await?;
    let no_store = (header::CACHE_CONTROL, "no-store".to_string());
    match req.format.as_deref().unwrap_or("csv") {
        "slips" | "pdf" if issued.is_empty() => Err(AppError::new(
            axum::http::StatusCode::CONFLICT,
            "no_new_links",
            "Tidak ada tautan baru untuk dicetak: semua pegawai sasaran sudah punya tautan. \
             Terbitkan ulang (reissue) untuk mencetak slip baru.",
        )),
        "slips" | "pdf" => {
            let pdf = invitation::slips_pdf(state.store.as_ref(), c, &issued).await?;
            Ok((
                [
                    (header::CONTENT_TYPE, "application/pdf".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"slip-kampanye-{}.pdf\"", c.id),
                    ),
                    no_store,
                ],
                pdf,
            )
                .into_response())
        }
        "csv" => {
            let csv = invitation::csv(&issued)?;
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"tautan-kampanye-{}.csv\"", c.id),
                    ),
                    no_store,
                ],
                csv,
            )
                .into_response())
        }
        other => Err(AppError::bad_request(
            "format_unknown",
            format!("Format '{other}' tidak dikenal; gunakan csv atau slips."),
        )
        .field("format")),
    }
}
