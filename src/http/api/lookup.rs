//! `GET /api/v1/lookup?nip=`: does a signed pledge exist for this NIP? Minimal disclosure
//! (SPEC 6): an unknown NIP and a NIP without pledges get the same answer, an empty list.

use axum::Json;
use axum::extract::State;
use governor::clock::{Clock, DefaultClock};
use serde::{Deserialize, Serialize};

use crate::domain::instansi::TimeZone;
use crate::domain::nip::Nip;
use crate::domain::text::mask_name;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{ApiQuery, ClientAddr, rate_key};
use crate::http::state::AppState;

#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    #[serde(default)]
    nip: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LookupItem {
    pub template: String,
    pub template_title: String,
    pub campaign: String,
    pub instansi: String,
    pub signed_on: String,
    pub name_masked: String,
    pub log_index: i64,
    pub annulled: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LookupResponse {
    pub pledges: Vec<LookupItem>,
}

pub async fn lookup(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiQuery(q): ApiQuery<LookupQuery>,
) -> AppResult<Json<LookupResponse>> {
    limit(&state, client)?;
    let pledges = find(&state, &q.nip).await?;
    Ok(Json(LookupResponse { pledges }))
}

/// Counts one lookup against the client's address (IPv6 per /64).
pub fn limit(state: &AppState, client: std::net::IpAddr) -> AppResult<()> {
    state
        .lookup_limiter
        .check_key(&rate_key(client))
        .map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            AppError::rate_limited(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        })
}

/// The pledges of a NIP as the public may see them. A malformed NIP is a 400.
pub async fn find(state: &AppState, raw_nip: &str) -> AppResult<Vec<LookupItem>> {
    let nip = Nip::parse(raw_nip, crate::service::ops::today()).map_err(AppError::from_query)?;
    let rows = state.store.lookup(nip.as_str()).await?;
    Ok(rows
        .into_iter()
        .map(|p| {
            let tz = TimeZone::parse(&p.tz).unwrap_or(TimeZone::Jakarta);
            LookupItem {
                template: format!("{}@{}", p.template_code, p.template_version),
                template_title: p.template_title,
                campaign: p.campaign_title,
                instansi: p.instansi_name,
                signed_on: tz.at(p.signed_at).format("%Y-%m-%d").to_string(),
                name_masked: mask_name(&p.name),
                log_index: p.log_index,
                annulled: p.annulled_at.is_some(),
            }
        })
        .collect())
}
