//! The campaign dashboard for HR (`/admin/campaigns/{id}/dasbor`): totals, the rate per unit
//! and the signatures per hour as SVG charts drawn on the server (readable without
//! JavaScript), the unsigned list filtered by unit, and the compliance downloads. Scoped to
//! the caller's instansi like every HR object: another instansi's campaign answers 404.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use crate::domain::compliance::UnitCompliance;
use crate::domain::instansi::TimeZone;
use crate::http::auth::{PageCaller, not_found, owned_campaign, tz_of};
use crate::http::error::AppError;
use crate::http::extract::ApiPath;
use crate::http::pages::{html, page_error};
use crate::http::state::AppState;
use crate::service::compliance;

/// Unsigned staff per page of the dashboard.
const PAGE: i64 = 50;
/// The hourly chart shows at most this many hours: the latest ones.
const MAX_HOURS: i64 = 48;
/// Unit names longer than this are cut on the chart (the table below has them whole).
const MAX_LABEL: usize = 60;

/// `signed / target` as an Indonesian percentage with one decimal: `87,5%`.
pub fn percent(signed: u64, target: u64) -> String {
    let value = crate::domain::compliance::rate(signed, target) * 100.0;
    format!("{value:.1}%").replace('.', ",")
}

/// A count with Indonesian thousands separators: `12.345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// A length in SVG user units: one decimal, always with a dot.
fn svg_len(v: f64) -> String {
    format!("{:.1}", v.max(0.0))
}

/// One row of the per-unit bar chart; coordinates are SVG user units.
pub struct UnitBar {
    pub name: String,
    pub label: String,
    pub text_x: u32,
    pub text_y: u32,
    pub bar_y: u32,
    pub width: String,
    pub complete: bool,
    pub percent: String,
    pub counts: String,
    pub target: String,
    pub signed: String,
}

pub struct UnitChart {
    pub height: u32,
    pub bars: Vec<UnitBar>,
}

/// Width of the chart's drawing area and of a full bar.
pub const CHART_WIDTH: u32 = 640;
const BAR_WIDTH: f64 = 560.0;
const ROW: u32 = 46;

/// Horizontal bars, one per unit in tree order, children indented under their parent.
pub fn unit_chart(units: &[UnitCompliance]) -> UnitChart {
    let mut depth: std::collections::HashMap<i64, u32> = std::collections::HashMap::new();
    let mut bars = Vec::with_capacity(units.len());
    for (i, u) in units.iter().enumerate() {
        let d = u
            .parent_id
            .and_then(|p| depth.get(&p))
            .map_or(0, |d| (d + 1).min(4));
        depth.insert(u.id, d);
        let label = if u.name.chars().count() > MAX_LABEL {
            let cut: String = u.name.chars().take(MAX_LABEL - 1).collect();
            format!("{cut}…")
        } else {
            u.name.clone()
        };
        let top = i as u32 * ROW;
        bars.push(UnitBar {
            name: u.name.clone(),
            label,
            text_x: d * 14,
            text_y: top + 16,
            bar_y: top + 22,
            width: svg_len(
                BAR_WIDTH * crate::domain::compliance::rate(u.signed, u.target).min(1.0),
            ),
            complete: u.target > 0 && u.signed >= u.target,
            percent: percent(u.signed, u.target),
            counts: format!("{} / {}", thousands(u.signed), thousands(u.target)),
            target: thousands(u.target),
            signed: thousands(u.signed),
        });
    }
    UnitChart {
        height: (units.len() as u32 * ROW).max(ROW),
        bars,
    }
}

pub struct HourColumn {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    pub title: String,
    /// The count written above the column, when the columns are wide enough for it.
    pub label: Option<String>,
    pub label_x: String,
    pub label_y: String,
}

pub struct HourTick {
    pub x: String,
    pub text: String,
}

pub struct HourChart {
    pub columns: Vec<HourColumn>,
    pub ticks: Vec<HourTick>,
    pub max: String,
    pub hours: i64,
    /// Older hours were left out to keep the chart readable.
    pub cut: bool,
}

const PLOT_LEFT: f64 = 8.0;
const PLOT_WIDTH: f64 = 624.0;
const PLOT_TOP: f64 = 22.0;
const PLOT_HEIGHT: f64 = 150.0;

/// Columns per hour from the first to the last hour with pledges (empty hours included),
/// at most the latest [`MAX_HOURS`]. `None` when nobody has signed yet.
pub fn hour_chart(buckets: &[(i64, i64)], tz: TimeZone) -> Option<HourChart> {
    let last = buckets.last()?.0;
    let first = buckets[0].0.max(last - (MAX_HOURS - 1) * 3600);
    let cut = buckets[0].0 < first;
    let hours = (last - first) / 3600 + 1;
    let counts: std::collections::HashMap<i64, i64> = buckets.iter().copied().collect();
    let max = buckets
        .iter()
        .filter(|(h, _)| *h >= first)
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = PLOT_WIDTH / hours as f64;
    let tick_every = (hours + 7) / 8;
    let mut columns = Vec::with_capacity(hours as usize);
    let mut ticks = Vec::new();
    for i in 0..hours {
        let hour = first + i * 3600;
        let n = counts.get(&hour).copied().unwrap_or(0);
        let h = PLOT_HEIGHT * n as f64 / max as f64;
        let x = PLOT_LEFT + slot * i as f64;
        let at = tz.at(hour);
        columns.push(HourColumn {
            x: svg_len(x + slot * 0.1),
            y: svg_len(PLOT_TOP + PLOT_HEIGHT - h),
            width: svg_len(slot * 0.8),
            height: svg_len(h),
            title: format!(
                "{}: {} tanda tangan",
                at.format("%d/%m %H.00"),
                thousands(n as u64)
            ),
            label: (hours <= 24 && n > 0).then(|| thousands(n as u64)),
            label_x: svg_len(x + slot / 2.0),
            label_y: svg_len(PLOT_TOP + PLOT_HEIGHT - h - 4.0),
        });
        if i % tick_every == 0 {
            ticks.push(HourTick {
                x: svg_len(x + slot / 2.0),
                text: at.format("%d/%m %H.00").to_string(),
            });
        }
    }
    Some(HourChart {
        columns,
        ticks,
        max: thousands(max as u64),
        hours,
        cut,
    })
}

pub struct UnitOption {
    pub id: i64,
    pub label: String,
    pub selected: bool,
}

pub struct UnsignedLine {
    pub number: String,
    pub name: String,
    pub unit: String,
    pub position: String,
}

#[derive(Template)]
#[template(path = "admin/campaign_dashboard.html")]
struct DashboardPage {
    id: i64,
    title: String,
    template: String,
    target: String,
    signed: String,
    unsigned_total: String,
    rate: String,
    chart_width: u32,
    units: UnitChart,
    hours: Option<HourChart>,
    options: Vec<UnitOption>,
    unit_name: Option<String>,
    unsigned: Vec<UnsignedLine>,
    page: i64,
    prev: Option<String>,
    next: Option<String>,
    screen: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct DashboardQuery {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    page: String,
}

fn bad_query(field: &'static str) -> AppError {
    AppError::bad_request(
        "query_invalid",
        "Alamat halaman tidak sah: periksa pilihan unit dan nomor halaman.",
    )
    .field(field)
}

fn page_link(unit: Option<i64>, page: i64) -> String {
    match unit {
        Some(u) => format!("?unit={u}&page={page}"),
        None => format!("?page={page}"),
    }
}

pub async fn show(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath(id): ApiPath<i64>,
    query: Result<Query<DashboardQuery>, QueryRejection>,
) -> Response {
    let page = async {
        let Query(q) = query.map_err(|_| bad_query("query"))?;
        let unit = match q.unit.trim() {
            "" => None,
            u => Some(u.parse::<i64>().map_err(|_| bad_query("unit"))?),
        };
        let page = match q.page.trim() {
            "" => 1,
            p => p
                .parse::<i64>()
                .ok()
                .filter(|p| (1..=1_000_000).contains(p))
                .ok_or_else(|| bad_query("page"))?,
        };
        let c = owned_campaign(&state, &caller, id).await?;
        let tz = tz_of(&state, c.instansi_id).await?;
        let report = compliance::report(state.store.as_ref(), &c).await?;
        let unit_name = match unit {
            None => None,
            Some(u) => Some(
                report
                    .units
                    .iter()
                    .find(|x| x.id == u)
                    .map(|x| x.name.clone())
                    .ok_or_else(not_found)?,
            ),
        };
        let per_hour = state.store.signatures_per_hour(c.id).await?;
        let mut rows = state
            .store
            .unsigned(c.id, unit, PAGE + 1, (page - 1) * PAGE)
            .await?;
        let more = rows.len() as i64 > PAGE;
        rows.truncate(PAGE as usize);
        let tree = crate::service::campaign::unit_tree(state.store.as_ref(), c.instansi_id).await?;
        let chart = unit_chart(&report.units);
        let options = report
            .units
            .iter()
            .zip(&chart.bars)
            .map(|(u, bar)| UnitOption {
                id: u.id,
                label: format!("{}{}", "· ".repeat((bar.text_x / 14) as usize), u.name),
                selected: Some(u.id) == unit,
            })
            .collect();
        Ok::<_, AppError>(DashboardPage {
            id: c.id,
            title: c.title.clone(),
            template: report.template.clone(),
            target: thousands(report.total_target),
            signed: thousands(report.total_signed),
            unsigned_total: thousands(report.total_target.saturating_sub(report.total_signed)),
            rate: percent(report.total_signed, report.total_target),
            chart_width: CHART_WIDTH,
            units: chart,
            hours: hour_chart(&per_hour, tz),
            options,
            unit_name,
            unsigned: rows
                .into_iter()
                .map(|r| UnsignedLine {
                    number: r.number,
                    name: r.name,
                    unit: tree.label(r.unit_id),
                    position: r.position.unwrap_or_default(),
                })
                .collect(),
            page,
            prev: (page > 1).then(|| page_link(unit, page - 1)),
            next: more.then(|| page_link(unit, page + 1)),
            screen: c.screen_enabled,
        })
    }
    .await;
    match page {
        Ok(p) => {
            // The unsigned list names people: keep it out of shared caches.
            let mut res = html(StatusCode::OK, p);
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => page_error(e),
    }
}

/// `GET /admin/campaigns/{id}/dasbor/events`: the dashboard's totals, live, from the same
/// event stream as the ceremony screen (`ceremony::count_stream`), for the campaign's HR
/// whether or not its ceremony screen is on.
pub async fn events(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    crate::http::extract::ClientAddr(client): crate::http::extract::ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    let c = match owned_campaign(&state, &caller, id).await {
        Ok(c) => c,
        Err(e) => return page_error(e),
    };
    match state.streams.acquire(crate::http::state::rate_key(client)) {
        Some(slot) => crate::http::pages::ceremony::count_stream(state, c, slot),
        None => page_error(crate::http::pages::ceremony::too_many_streams()),
    }
}

/// `GET /static/dasbor.js`: keeps the dashboard's totals live.
pub async fn script() -> impl axum::response::IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../templates/static/dasbor.js"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_and_counts_read_the_indonesian_way() {
        assert_eq!(percent(7, 8), "87,5%");
        assert_eq!(percent(0, 0), "0,0%");
        assert_eq!(percent(3, 3), "100,0%");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1.000");
        assert_eq!(thousands(4_300_000), "4.300.000");
    }

    #[test]
    fn unit_bars_scale_to_the_rate_and_indent_children() {
        let units = vec![
            UnitCompliance {
                id: 1,
                name: "Dinas A".into(),
                parent_id: None,
                target: 4,
                signed: 2,
            },
            UnitCompliance {
                id: 2,
                name: "Bidang A1".into(),
                parent_id: Some(1),
                target: 2,
                signed: 2,
            },
            UnitCompliance {
                id: 3,
                name: "x".repeat(80),
                parent_id: None,
                target: 0,
                signed: 0,
            },
        ];
        let chart = unit_chart(&units);
        assert_eq!(chart.bars.len(), 3);
        assert_eq!(chart.bars[0].width, "280.0");
        assert_eq!(chart.bars[0].text_x, 0);
        assert_eq!(chart.bars[1].width, "560.0");
        assert!(chart.bars[1].complete);
        assert_eq!(chart.bars[1].text_x, 14);
        assert_eq!(chart.bars[2].width, "0.0");
        assert_eq!(chart.bars[2].label.chars().count(), MAX_LABEL);
        assert!(chart.bars[2].bar_y > chart.bars[1].bar_y);
    }

    #[test]
    fn hour_chart_fills_empty_hours_and_keeps_the_latest() {
        assert!(hour_chart(&[], TimeZone::Jakarta).is_none());
        let base = 1_764_374_400; // 2025-11-29 00:00 UTC, 07.00 in Jakarta
        let chart =
            hour_chart(&[(base, 3), (base + 2 * 3600, 6)], TimeZone::Jakarta).expect("pledges");
        assert_eq!(chart.hours, 3);
        assert_eq!(chart.columns.len(), 3);
        assert_eq!(chart.columns[1].height, "0.0");
        assert_eq!(chart.columns[2].height, "150.0");
        assert_eq!(chart.columns[0].height, "75.0");
        assert_eq!(chart.max, "6");
        assert!(chart.columns[0].title.starts_with("29/11 07.00"));
        assert!(!chart.cut);

        let long =
            hour_chart(&[(base, 1), (base + 100 * 3600, 2)], TimeZone::Jakarta).expect("pledges");
        assert_eq!(long.hours, MAX_HOURS);
        assert!(long.cut);
        assert!(long.ticks.len() <= 8);
    }
}
