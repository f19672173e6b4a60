//! Admin pages for HR (session cookie + CSRF on every form): campaigns, roster, invitations
//! and the audit trail. Each page reads and writes through the same operations as the API.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::domain::campaign::Phase;
use crate::domain::instansi::waktu;
use crate::http::auth::{PageCaller, check_csrf, owned_campaign, tz_of};
use crate::http::error::AppResult;
use crate::http::extract::{ApiMultipart, ApiPath, ApiQuery, multipart_error};
use crate::http::pages::{campaign_admin, html, respond};
use crate::http::state::AppState;
use crate::service::ServiceError;
use crate::service::audit::{self, now};
use crate::service::campaign;
use crate::service::roster::{self, ImportOptions};
use crate::store::AuditRow;

pub struct CampaignLine {
    pub id: i64,
    pub title: String,
    pub state: &'static str,
    pub closes: String,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct Dashboard {
    user: String,
    csrf: String,
    can_manage: bool,
    campaigns: Vec<CampaignLine>,
}

async fn dashboard_page(
    state: &AppState,
    caller: &crate::http::auth::Caller,
) -> AppResult<Dashboard> {
    let instansi_id = caller.instansi()?;
    let tz = tz_of(state, instansi_id).await?;
    let now = now();
    let campaigns = campaign::list(state.store.as_ref(), instansi_id)
        .await?
        .into_iter()
        .map(|c| CampaignLine {
            id: c.id,
            state: c.phase(now).label(),
            // A closed campaign shows when signing actually ended.
            closes: waktu(tz.at(c.window().ends_at())),
            title: c.title,
        })
        .collect();
    Ok(Dashboard {
        user: caller.username.clone(),
        csrf: caller.csrf.clone().unwrap_or_default(),
        can_manage: caller.role.can_manage(),
        campaigns,
    })
}

pub async fn dashboard(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    respond(
        dashboard_page(&state, &caller)
            .await
            .map(|p| html(StatusCode::OK, p)),
    )
}

#[derive(Template)]
#[template(path = "admin/campaign.html")]
struct CampaignPage {
    csrf: String,
    can_manage: bool,
    id: i64,
    title: String,
    place: String,
    opens: String,
    closes: String,
    phase: &'static str,
    /// Not closed yet: HR may still close it (even before it opens) and change it.
    closable: bool,
    mark: bool,
    /// When signing actually ended, once the campaign is closed.
    closed_at: Option<String>,
    /// Target units with their parents; empty: the whole instansi.
    target_units: Vec<crate::domain::unit::UnitLine>,
    target_count: u64,
    zone: String,
    /// What the last action did.
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct CampaignQuery {
    #[serde(default)]
    pesan: String,
    #[serde(default)]
    tautan: String,
}

pub async fn campaign(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<CampaignQuery>,
) -> Response {
    respond(
        async {
            let c = owned_campaign(&state, &caller, id).await?;
            let tz = tz_of(&state, c.instansi_id).await?;
            let phase = c.phase(now());
            let f = |t: i64| waktu(tz.at(t));
            let targets = campaign::targets(state.store.as_ref(), &c).await?;
            Ok(html(
                StatusCode::OK,
                CampaignPage {
                    csrf: caller.csrf.clone().unwrap_or_default(),
                    can_manage: caller.role.can_manage(),
                    id: c.id,
                    title: c.title.clone(),
                    place: c.place.clone(),
                    opens: f(c.opens_at),
                    closes: f(c.closes_at),
                    phase: phase.label(),
                    closable: phase != Phase::Closed,
                    mark: c.mark_enabled,
                    closed_at: (phase == Phase::Closed).then(|| f(c.window().ends_at())),
                    target_units: targets.units,
                    target_count: targets.count,
                    zone: format!("{} ({})", tz.abbreviation(), tz.name()),
                    notice: campaign_admin::notice(&q.pesan)
                        .or_else(|| campaign_admin::issue_notice(&q.tautan)),
                },
            ))
        }
        .await,
    )
}

/// One line of the roster list.
pub struct RosterLine {
    pub number: String,
    pub name: String,
    pub kind: &'static str,
    pub unit: String,
    pub position: String,
    pub active: bool,
}

/// Staff per page of the roster list.
const ROSTER_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "admin/roster.html")]
struct RosterPage {
    csrf: String,
    can_manage: bool,
    q: String,
    /// (id, label with its depth marks, selected) of the unit filter.
    units: Vec<(i64, String, bool)>,
    unit: Option<i64>,
    employees: Vec<RosterLine>,
    total: i64,
    page: i64,
    prev: Option<String>,
    next: Option<String>,
    imports: Vec<(String, AuditRow)>,
    report: Option<String>,
    bad_rows: Vec<String>,
}

#[derive(Deserialize, Default)]
pub struct RosterQuery {
    #[serde(default)]
    q: String,
    /// A unit id, or empty for all ("Semua unit" sends `unit=`).
    #[serde(default)]
    unit: String,
    #[serde(default)]
    page: String,
}

async fn roster_page(
    state: &AppState,
    caller: &crate::http::auth::Caller,
    query: &RosterQuery,
    report: Option<String>,
    bad_rows: Vec<String>,
) -> AppResult<RosterPage> {
    let instansi_id = caller.instansi()?;
    let tz = tz_of(state, instansi_id).await?;
    let q = query.q.trim();
    let pattern = format!("%{}%", q.to_lowercase().replace(['%', '_'], ""));
    let tree = campaign::unit_tree(state.store.as_ref(), instansi_id).await?;
    let unit = query
        .unit
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|u| tree.contains(*u));
    let page = query
        .page
        .trim()
        .parse::<i64>()
        .unwrap_or(1)
        .clamp(1, 1_000_000);
    let (rows, total) = state
        .store
        .roster_page(
            instansi_id,
            &pattern,
            unit,
            ROSTER_PAGE,
            (page - 1) * ROSTER_PAGE,
        )
        .await?;
    let link = |p: i64| {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        if !q.is_empty() {
            url.append_pair("q", q);
        }
        if let Some(u) = unit {
            url.append_pair("unit", &u.to_string());
        }
        url.append_pair("page", &p.to_string());
        format!("/admin/roster?{}", url.finish())
    };
    let employees = rows
        .into_iter()
        .map(|e| RosterLine {
            number: e.number,
            name: e.name,
            kind: e.kind.label(),
            unit: tree.label(e.unit_id),
            position: e.position.unwrap_or_default(),
            active: e.active,
        })
        .collect();
    let imports = state
        .store
        .audit_events(Some(instansi_id), i64::MAX, 200)
        .await?
        .into_iter()
        .filter(|e| e.action.starts_with("roster."))
        .take(5)
        .map(|e| (tz.at(e.at).format("%Y-%m-%d %H:%M").to_string(), e))
        .collect();
    Ok(RosterPage {
        csrf: caller.csrf.clone().unwrap_or_default(),
        can_manage: caller.role.can_manage(),
        q: q.to_string(),
        units: tree
            .lines()
            .into_iter()
            .map(|l| {
                let label = format!("{}{}", "· ".repeat(l.depth.min(4)), l.label);
                (l.id, label, Some(l.id) == unit)
            })
            .collect(),
        unit,
        employees,
        total,
        page,
        prev: (page > 1).then(|| link(page - 1)),
        next: (page * ROSTER_PAGE < total).then(|| link(page + 1)),
        imports,
        report,
        bad_rows,
    })
}

pub async fn roster(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiQuery(q): ApiQuery<RosterQuery>,
) -> Response {
    respond(
        roster_page(&state, &caller, &q, None, Vec::new())
            .await
            .map(|p| html(StatusCode::OK, p)),
    )
}

/// The roster upload form (multipart): checks, then imports all or nothing.
pub async fn upload_roster(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiMultipart(mut form): ApiMultipart,
) -> Response {
    respond(
        async {
            let mut csrf = String::new();
            let mut file = Vec::new();
            let (mut dry_run, mut deactivate) = (false, false);
            while let Some(field) = form.next_field().await.map_err(multipart_error)? {
                match field.name().unwrap_or_default() {
                    "csrf" => csrf = field.text().await.unwrap_or_default(),
                    "file" => file = field.bytes().await.map_err(multipart_error)?.to_vec(),
                    "dry_run" => dry_run = true,
                    "deactivate_missing" => deactivate = true,
                    _ => {}
                }
            }
            check_csrf(&caller, &csrf)?;
            caller.must_manage()?;
            let instansi_id = caller.instansi()?;
            let outcome = roster::import(
                state.store.as_ref(),
                instansi_id,
                roster::Source::Bytes(file),
                ImportOptions {
                    dry_run,
                    deactivate_missing: deactivate,
                },
                &caller.actor(),
            )
            .await;
            let (status, report, bad) = match outcome {
                Ok(outcome) => (
                    StatusCode::OK,
                    format!("{}.", outcome.message()),
                    Vec::new(),
                ),
                Err(ServiceError::Rows(bad)) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    bad.summary(),
                    bad.errors
                        .iter()
                        .map(|r| format!("baris {}, kolom {}: {}", r.line, r.column, r.message))
                        .collect(),
                ),
                Err(ServiceError::Invalid(e)) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, e.message, Vec::new())
                }
                Err(e) => return Err(e.into()),
            };
            Ok(html(
                status,
                roster_page(&state, &caller, &RosterQuery::default(), Some(report), bad).await?,
            ))
        }
        .await,
    )
}

/// One line of the audit trail page, as people read it.
pub struct AuditLine {
    pub at: String,
    pub actor: String,
    pub action: &'static str,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    events: Vec<AuditLine>,
    /// (value, name, selected) of the filter groups.
    groups: Vec<(&'static str, &'static str, bool)>,
    group: String,
    next: Option<i64>,
    first_page: bool,
    zone: String,
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    jenis: String,
}

pub async fn audit(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Response {
    use crate::domain::audit::{GROUPS, action_text, actor_text, group_prefix};
    respond(
        async {
            let instansi_id = caller.instansi()?;
            let tz = tz_of(&state, instansi_id).await?;
            let group = Some(q.jenis.as_str()).filter(|g| group_prefix(g).is_some());
            let (events, next) =
                audit::page_in_group(state.store.as_ref(), instansi_id, group, q.before).await?;
            let events = events
                .into_iter()
                .map(|e| AuditLine {
                    at: tz.at(e.at).format("%d-%m-%Y %H:%M:%S").to_string(),
                    actor: actor_text(&e.actor),
                    action: action_text(&e.action),
                    summary: e.summary,
                })
                .collect();
            Ok(html(
                StatusCode::OK,
                AuditPage {
                    events,
                    groups: GROUPS
                        .iter()
                        .map(|(v, name, _)| (*v, *name, group == Some(*v)))
                        .collect(),
                    group: group.unwrap_or_default().to_string(),
                    next,
                    first_page: q.before.is_none(),
                    zone: format!("{} ({})", tz.abbreviation(), tz.name()),
                },
            ))
        }
        .await,
    )
}
