//! The ceremony screen (`/acara/{id}`, SPEC 4): a public projector page with the live count
//! of a campaign whose HR enabled it — counts only, never names or NIPs (SPEC 6). The page
//! is complete without JavaScript (it then reloads itself); `/static/acara.js` follows
//! `/acara/{id}/events`, a server-sent event stream that sends the counts at once and again
//! whenever they change. Viewers share one computation per change (see [`crate::service::live`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

use crate::http::auth::not_found;
use crate::http::conn::{STREAMS_PER_CLIENT, StreamSlot};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{ApiPath, ClientAddr};
use crate::http::pages::dashboard::{percent, thousands};
use crate::http::pages::{html, page_error};
use crate::http::state::{AppState, rate_key};
use crate::service::live::{ScreenCounts, closed};
use crate::store::CampaignRow;

/// A burst of commits reaches each viewer as at most one update per this interval.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// After a failed count, try again this much later.
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(5);

/// A campaign whose ceremony screen is on; any other answers 404.
async fn screen_campaign(state: &AppState, id: i64) -> AppResult<CampaignRow> {
    state
        .store
        .campaign(id)
        .await?
        .filter(|c| c.screen_enabled)
        .ok_or_else(not_found)
}

async fn current_counts(state: &AppState, c: &CampaignRow) -> AppResult<Arc<ScreenCounts>> {
    let size = state.live.log.size();
    Ok(state
        .live
        .screens
        .counts(state.store.as_ref(), c, size)
        .await?)
}

/// A bar's length as a share of 100 SVG units.
fn bar(signed: u64, target: u64) -> String {
    format!(
        "{:.1}",
        100.0 * crate::domain::compliance::rate(signed, target).min(1.0)
    )
}

pub struct UnitLine {
    pub id: i64,
    pub name: String,
    pub signed: String,
    pub target: String,
    pub percent: String,
    pub bar: String,
}

#[derive(Template)]
#[template(path = "acara.html")]
struct CeremonyPage {
    id: i64,
    instansi: String,
    title: String,
    signed: String,
    target: String,
    percent: String,
    bar: String,
    units: Vec<UnitLine>,
}

/// `GET /acara/{id}`: the projector page, correct at load time without any script.
pub async fn screen(State(state): State<AppState>, ApiPath(id): ApiPath<i64>) -> Response {
    let page = async {
        let c = screen_campaign(&state, id).await?;
        let instansi = state
            .store
            .instansi_by_id(c.instansi_id)
            .await?
            .map(|i| i.name)
            .unwrap_or_default();
        let counts = current_counts(&state, &c).await?;
        Ok::<_, AppError>(CeremonyPage {
            id: c.id,
            instansi,
            title: c.title.clone(),
            signed: thousands(counts.signed),
            target: thousands(counts.target),
            percent: percent(counts.signed, counts.target),
            bar: bar(counts.signed, counts.target),
            units: counts
                .units
                .iter()
                .map(|u| UnitLine {
                    id: u.id,
                    name: u.name.clone(),
                    signed: thousands(u.signed),
                    target: thousands(u.target),
                    percent: percent(u.signed, u.target),
                    bar: bar(u.signed, u.target),
                })
                .collect(),
        })
    }
    .await;
    match page {
        Ok(p) => {
            let mut res = html(StatusCode::OK, p);
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            res
        }
        Err(e) => page_error(e),
    }
}

/// One viewer's position in the stream.
struct Viewer {
    state: AppState,
    campaign: CampaignRow,
    log: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    last: Option<Arc<ScreenCounts>>,
    started: bool,
    failed: bool,
    /// This stream's place under the per-client limit, returned when the stream ends.
    _slot: StreamSlot,
}

/// Waits `d`; false if the server is closing meanwhile.
async fn pause(closing: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = closed(closing) => false,
    }
}

/// The next event for a viewer: the counts now, then each time they differ from the last
/// ones sent. `None` ends the stream (the server is shutting down).
async fn next_event(mut v: Viewer) -> Option<(Result<Event, Infallible>, Viewer)> {
    loop {
        if v.failed {
            if !pause(&mut v.closing, RETRY_AFTER_ERROR).await {
                return None;
            }
        } else if v.started {
            if !pause(&mut v.closing, MIN_INTERVAL).await {
                return None;
            }
            tokio::select! {
                changed = v.log.changed() => changed.ok()?,
                _ = closed(&mut v.closing) => return None,
            }
        }
        v.started = true;
        let size = *v.log.borrow_and_update();
        let counts = match v
            .state
            .live
            .screens
            .counts(v.state.store.as_ref(), &v.campaign, size)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, campaign = v.campaign.id, "counting for the ceremony screen failed");
                v.failed = true;
                continue;
            }
        };
        v.failed = false;
        // Pledges of other campaigns also grow the log: send only what changed here.
        if v.last.as_deref() == Some(&*counts) {
            continue;
        }
        let event = match Event::default().event("counts").json_data(&*counts) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "encoding ceremony counts failed");
                continue;
            }
        };
        let event = if v.last.is_none() {
            event.retry(Duration::from_secs(3))
        } else {
            event
        };
        v.last = Some(counts);
        return Some((Ok(event), v));
    }
}

/// `GET /acara/{id}/events`: `event: counts` with `{"signed", "target", "units": [{"id",
/// "signed", "target"}]}`, first at once, then on every change.
pub async fn events(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Response> {
    let slot = state
        .streams
        .acquire(rate_key(client))
        .ok_or_else(too_many_streams)?;
    let campaign = screen_campaign(&state, id).await?;
    Ok(count_stream(state, campaign, slot))
}

/// The counts of `campaign` as a server-sent event stream (first at once, then on every
/// change), for a caller already allowed to see them: the ceremony screen's viewers, or the
/// campaign's HR on its dashboard.
pub fn count_stream(state: AppState, campaign: CampaignRow, slot: StreamSlot) -> Response {
    let viewer = Viewer {
        log: state.live.log.subscribe(),
        closing: state.live.closing(),
        state,
        campaign,
        last: None,
        started: false,
        failed: false,
        _slot: slot,
    };
    let stream = futures_util::stream::unfold(viewer, next_event);
    let mut res = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    // Reverse proxies (nginx) would otherwise hold events back in their buffers.
    res.headers_mut().insert(
        header::HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    res
}

pub fn too_many_streams() -> AppError {
    let refusal = AppError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_streams",
        format!(
            "Terlalu banyak layar acara terbuka dari alamat Anda (paling banyak {STREAMS_PER_CLIENT}). \
             Tutup layar yang tidak dipakai lalu coba lagi."
        ),
    );
    AppError {
        retry_after: Some(10),
        ..refusal
    }
}

/// `GET /static/acara.js`: the script that keeps the screen live.
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../templates/static/acara.js"),
    )
}
