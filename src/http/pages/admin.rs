//! Admin pages for HR (session cookie + CSRF on every form): campaigns, roster, invitations
//! and the audit trail. Each page reads and writes through the same operations as the API.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::campaign::Phase;
use crate::domain::instansi::TimeZone;
use crate::http::auth::{PageCaller, check_csrf, owned_campaign, tz_of};
use crate::http::download::{IssueRequest, issue};
use crate::http::error::AppResult;
use crate::http::extract::{ApiForm, ApiMultipart, ApiPath, ApiQuery, multipart_error};
use crate::http::pages::{html, page_error};
use crate::http::state::AppState;
use crate::service::ServiceError;
use crate::service::audit::{self, now};
use crate::service::campaign::{self, CampaignInput};
use crate::service::roster::{self, ImportOptions};
use crate::store::{AuditRow, EmployeeRow};

fn respond(r: AppResult<Response>) -> Response {
    r.unwrap_or_else(page_error)
}

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
    templates: Vec<(String, String)>,
    error: Option<String>,
}

async fn dashboard_page(
    state: &AppState,
    caller: &crate::http::auth::Caller,
    error: Option<String>,
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
            title: c.title,
            closes: tz.at(c.closes_at).format("%Y-%m-%d %H:%M").to_string(),
        })
        .collect();
    let templates = state
        .store
        .templates()
        .await?
        .into_iter()
        .map(|t| (format!("{}@{}", t.code, t.version), t.title))
        .collect();
    Ok(Dashboard {
        user: caller.username.clone(),
        csrf: caller.csrf.clone().unwrap_or_default(),
        can_manage: caller.role.can_manage(),
        campaigns,
        templates,
        error,
    })
}

pub async fn dashboard(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    respond(
        dashboard_page(&state, &caller, None)
            .await
            .map(|p| html(StatusCode::OK, p)),
    )
}

#[derive(Deserialize)]
pub struct CampaignForm {
    csrf: String,
    template: String,
    title: String,
    place: String,
    opens: String,
    closes: String,
    #[serde(default)]
    mark: Option<String>,
    #[serde(default)]
    screen: Option<String>,
    #[serde(default)]
    public: Option<String>,
}

/// `datetime-local` values carry no zone: they are the instansi's local time.
fn local_to_rfc3339(value: &str, tz: TimeZone) -> String {
    let v = value.trim();
    let with_seconds = if v.len() == 16 {
        format!("{v}:00")
    } else {
        v.to_string()
    };
    let offset = tz.offset().to_string();
    format!("{with_seconds}{offset}")
}

pub async fn create_campaign(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiForm(form): ApiForm<CampaignForm>,
) -> Response {
    respond(
        async {
            check_csrf(&caller, &form.csrf)?;
            caller.must_manage()?;
            let instansi_id = caller.instansi()?;
            let tz = tz_of(&state, instansi_id).await?;
            let input = CampaignInput {
                template: form.template,
                title: form.title,
                place: form.place,
                opens: local_to_rfc3339(&form.opens, tz),
                closes: local_to_rfc3339(&form.closes, tz),
                units: Vec::new(),
                mark: form.mark.is_some(),
                screen: form.screen.is_some(),
                public: form.public.is_some(),
            };
            match campaign::create(state.store.as_ref(), instansi_id, &input, &caller.actor()).await
            {
                Ok(id) => Ok(Redirect::to(&format!("/admin/campaigns/{id}")).into_response()),
                Err(ServiceError::Invalid(e)) => Ok(html(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    dashboard_page(&state, &caller, Some(e.message)).await?,
                )),
                Err(e) => Err(e.into()),
            }
        }
        .await,
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
    /// Not closed yet: HR may still close it (even before it opens).
    closable: bool,
    mark: bool,
}

pub async fn campaign(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    respond(
        async {
            let c = owned_campaign(&state, &caller, id).await?;
            let tz = tz_of(&state, c.instansi_id).await?;
            let phase = c.phase(now());
            let f = |t: i64| tz.at(t).format("%Y-%m-%d %H:%M").to_string();
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
                },
            ))
        }
        .await,
    )
}

/// A form that changes a campaign: the session's CSRF token, a managing role, and a
/// campaign of the caller's instansi.
async fn managed_campaign(
    state: &AppState,
    caller: &crate::http::auth::Caller,
    csrf: &str,
    id: i64,
) -> AppResult<crate::store::CampaignRow> {
    check_csrf(caller, csrf)?;
    caller.must_manage()?;
    owned_campaign(state, caller, id).await
}

#[derive(Deserialize)]
pub struct IssueForm {
    csrf: String,
    #[serde(default)]
    reissue: Option<String>,
    #[serde(default)]
    nip: String,
    #[serde(default)]
    format: String,
}

pub async fn issue_invitations(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath(id): ApiPath<i64>,
    ApiForm(form): ApiForm<IssueForm>,
) -> Response {
    respond(
        async {
            let c = managed_campaign(&state, &caller, &form.csrf, id).await?;
            let req = IssueRequest {
                reissue: form.reissue.is_some(),
                nip: Some(form.nip).filter(|n| !n.trim().is_empty()),
                format: Some(form.format).filter(|f| !f.is_empty()),
            };
            issue(&state, &caller, &c, &req).await
        }
        .await,
    )
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

pub async fn close_campaign(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath(id): ApiPath<i64>,
    ApiForm(form): ApiForm<CsrfOnly>,
) -> Response {
    respond(
        async {
            let c = managed_campaign(&state, &caller, &form.csrf, id).await?;
            campaign::close(state.store.as_ref(), &c, &caller.actor()).await?;
            Ok(Redirect::to(&format!("/admin/campaigns/{id}")).into_response())
        }
        .await,
    )
}

#[derive(Template)]
#[template(path = "admin/roster.html")]
struct RosterPage {
    csrf: String,
    can_manage: bool,
    q: String,
    employees: Vec<EmployeeRow>,
    imports: Vec<(String, AuditRow)>,
    report: Option<String>,
    bad_rows: Vec<String>,
}

#[derive(Deserialize, Default)]
pub struct RosterQuery {
    #[serde(default)]
    q: String,
}

async fn roster_page(
    state: &AppState,
    caller: &crate::http::auth::Caller,
    q: &str,
    report: Option<String>,
    bad_rows: Vec<String>,
) -> AppResult<RosterPage> {
    let instansi_id = caller.instansi()?;
    let tz = tz_of(state, instansi_id).await?;
    let pattern = format!("%{}%", q.trim().to_lowercase().replace(['%', '_'], ""));
    let employees = state.store.employees(instansi_id, &pattern, 50, 0).await?;
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
        employees,
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
        roster_page(&state, &caller, &q.q, None, Vec::new())
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
                roster_page(&state, &caller, "", Some(report), bad).await?,
            ))
        }
        .await,
    )
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    events: Vec<(String, AuditRow)>,
    next: Option<i64>,
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    before: Option<i64>,
}

pub async fn audit(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Response {
    respond(
        async {
            let instansi_id = caller.instansi()?;
            let tz = tz_of(&state, instansi_id).await?;
            let (events, next) = audit::page(state.store.as_ref(), instansi_id, q.before).await?;
            let events: Vec<(String, AuditRow)> = events
                .into_iter()
                .map(|e| (tz.at(e.at).format("%Y-%m-%d %H:%M:%S").to_string(), e))
                .collect();
            Ok(html(StatusCode::OK, AuditPage { events, next }))
        }
        .await,
    )
}
