//! The HR API (bearer tokens or an admin session): roster import, campaigns, invitations and
//! pledges. Every object is scoped to the caller's instansi: another instansi's answers 404.
//! Handlers parse, call `service`, and shape JSON; the rules live there.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::campaign::Phase;
use crate::domain::compliance::rate;
use crate::domain::instansi::TimeZone;
use crate::http::auth::{Caller, owned_campaign, tz_of};
use crate::http::download::{IssueRequest, issue};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{ApiBytes, ApiJson, ApiPath, ApiQuery};
use crate::http::state::AppState;
use crate::service::audit::now;
use crate::service::campaign::{self, CampaignInput};
use crate::service::compliance::{self, ExportFormat};
use crate::service::roster::{self, ImportOptions};
use crate::service::{invitation, pledge};
use crate::store::CampaignRow;

/// Roster uploads may be large (SPEC 6).
pub const ROSTER_BODY_LIMIT: usize = 50 * 1024 * 1024;

#[derive(Debug, Deserialize)]
pub struct ImportQuery {
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    deactivate_missing: bool,
}

/// `POST /api/v1/roster`: CSV or XLSX in the body. All-or-nothing; 422 lists every bad row.
pub async fn import_roster(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ImportQuery>,
    ApiBytes(body): ApiBytes,
) -> AppResult<Json<Value>> {
    caller.must_manage()?;
    let instansi_id = caller.instansi()?;
    let outcome = roster::import(
        state.store.as_ref(),
        instansi_id,
        roster::Source::Bytes(body.into()),
        ImportOptions {
            dry_run: q.dry_run,
            deactivate_missing: q.deactivate_missing,
        },
        &caller.actor(),
    )
    .await?;
    Ok(Json(match outcome.summary {
        None => json!({"dry_run": true, "rows": outcome.rows}),
        Some(s) => json!({
            "rows": outcome.rows,
            "created": s.created,
            "updated": s.updated,
            "deactivated": s.deactivated,
            "units_created": s.units_created,
        }),
    }))
}

pub fn campaign_json(c: &CampaignRow, tz: TimeZone) -> Value {
    let t = |unix: i64| crate::domain::statement::format_time(tz.at(unix));
    let phase = c.phase(now());
    json!({
        "id": c.id,
        "title": c.title,
        "place": c.place,
        "template_no": c.template_no,
        "opens_at": t(c.opens_at),
        "closes_at": t(c.closes_at),
        "closed_at": c.closed_at.map(t),
        "open": phase == Phase::Open,
        "phase": phase.as_str(),
        "phase_label": phase.label(),
        "mark": c.mark_enabled,
        "screen": c.screen_enabled,
        "public": c.public_enabled,
    })
}

pub async fn create_campaign(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<CampaignInput>,
) -> AppResult<(StatusCode, Json<Value>)> {
    caller.must_manage()?;
    let instansi_id = caller.instansi()?;
    let id = campaign::create(state.store.as_ref(), instansi_id, &input, &caller.actor()).await?;
    let c = owned_campaign(&state, &caller, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(campaign_json(&c, tz_of(&state, instansi_id).await?)),
    ))
}

pub async fn list_campaigns(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<Value>> {
    let instansi_id = caller.instansi()?;
    let tz = tz_of(&state, instansi_id).await?;
    let list: Vec<Value> = campaign::list(state.store.as_ref(), instansi_id)
        .await?
        .iter()
        .map(|c| campaign_json(c, tz))
        .collect();
    Ok(Json(json!({ "campaigns": list })))
}

pub async fn get_campaign(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let c = owned_campaign(&state, &caller, id).await?;
    Ok(Json(campaign_json(&c, tz_of(&state, c.instansi_id).await?)))
}

pub async fn close_campaign(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    caller.must_manage()?;
    let c = owned_campaign(&state, &caller, id).await?;
    campaign::close(state.store.as_ref(), &c, &caller.actor()).await?;
    let c = owned_campaign(&state, &caller, id).await?;
    Ok(Json(campaign_json(&c, tz_of(&state, c.instansi_id).await?)))
}

/// `POST /api/v1/campaigns/{id}/invitations`: issues links (shown once) as CSV or QR slips.
pub async fn issue_invitations(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<IssueRequest>,
) -> AppResult<Response> {
    caller.must_manage()?;
    let c = owned_campaign(&state, &caller, id).await?;
    issue(&state, &caller, &c, &req).await
}

#[derive(Debug, Deserialize)]
pub struct RevokeRequest {
    pub nip: String,
}

pub async fn revoke_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<RevokeRequest>,
) -> AppResult<Json<Value>> {
    caller.must_manage()?;
    let c = owned_campaign(&state, &caller, id).await?;
    let n = invitation::revoke(state.store.as_ref(), &c, &req.nip, &caller.actor()).await?;
    Ok(Json(json!({ "revoked": n })))
}

/// `GET /api/v1/pledges/{id}`: the full pledge for HR of its instansi.
pub async fn get_pledge(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let p = pledge::view(state.store.as_ref(), caller.instansi()?, id).await?;
    let tz = p.tz;
    let t = |unix: i64| crate::domain::statement::format_time(tz.at(unix));
    Ok(Json(json!({
        "id": p.pledge_id,
        "log_index": p.log_index,
        "campaign_id": p.campaign_id,
        "campaign": p.campaign_title,
        "template": format!("{}@{}", p.template_code, p.template_version),
        "kind": p.kind.as_str(),
        "nip": p.number,
        "name": p.name,
        "unit": p.unit_name,
        "signed_at": t(p.signed_at),
        "statement": p.statement,
        "annulled_at": p.annulled_at.map(t),
        "annul_category": p.annul_category,
    })))
}

#[derive(Debug, Deserialize)]
pub struct AnnulRequestBody {
    pub category: String,
    pub reason: String,
}

/// `POST /api/v1/pledges/{id}/annul`: an instansi admin annuls a pledge once.
pub async fn annul_pledge(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<AnnulRequestBody>,
) -> AppResult<Json<Value>> {
    let out = pledge::annul(
        state.store.as_ref(),
        &state.keys,
        &state.guard,
        &state.health,
        &state.live.log,
        caller.instansi()?,
        caller.role,
        id,
        &req.category,
        &req.reason,
        &caller.actor(),
    )
    .await?;
    Ok(Json(json!({
        "record": data_encoding::BASE32_NOPAD.encode(&out.record),
        "text": out.text,
        "log_index": out.log_index,
        "checkpoint": out.checkpoint,
    })))
}

#[derive(Debug, Deserialize)]
pub struct ComplianceQuery {
    #[serde(default)]
    format: Option<String>,
}

/// `GET /api/v1/campaigns/{id}/compliance?format=json|csv|xlsx`
pub async fn compliance(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ComplianceQuery>,
) -> AppResult<Response> {
    let c = owned_campaign(&state, &caller, id).await?;
    let format = match q.format.as_deref().unwrap_or("json") {
        "json" => None,
        "csv" => Some(ExportFormat::Csv),
        "xlsx" => Some(ExportFormat::Xlsx),
        other => {
            return Err(AppError::bad_request(
                "format_unknown",
                format!("Format '{other}' tidak dikenal; gunakan json, csv atau xlsx."),
            )
            .field("format"));
        }
    };
    let Some(format) = format else {
        let r = compliance::report(state.store.as_ref(), &c).await?;
        let units: Vec<Value> = r
            .units
            .iter()
            .map(|u| {
                json!({
                    "id": u.id, "name": u.name, "parent_id": u.parent_id,
                    "target": u.target, "signed": u.signed,
                    "rate": rate(u.signed, u.target),
                })
            })
            .collect();
        return Ok(Json(json!({
            "campaign": {"id": c.id, "title": c.title, "template": r.template},
            "totals": {
                "target": r.total_target,
                "signed": r.total_signed,
                "rate": rate(r.total_signed, r.total_target),
            },
            "units": units,
        }))
        .into_response());
    };
    let bytes = compliance::export(state.store.as_ref(), &c, format, &caller.actor()).await?;
    let content_type = match format {
        ExportFormat::Csv => "text/csv; charset=utf-8",
        ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"kepatuhan-kampanye-{}.{}\"",
                    c.id,
                    format.extension()
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct UnsignedQuery {
    #[serde(default)]
    unit: Option<i64>,
    #[serde(default)]
    page: Option<i64>,
}

const UNSIGNED_PAGE: i64 = 100;

/// `GET /api/v1/campaigns/{id}/unsigned?unit=&page=`: who has not signed yet, 100 a page.
pub async fn unsigned(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<UnsignedQuery>,
) -> AppResult<Json<Value>> {
    let c = owned_campaign(&state, &caller, id).await?;
    let page = q.page.unwrap_or(1).max(1);
    let rows =
        compliance::unsigned_page(state.store.as_ref(), &c, q.unit, page, UNSIGNED_PAGE).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| json!({"nip": r.number, "name": r.name, "unit": r.unit, "position": r.position}))
        .collect();
    Ok(Json(json!({
        "page": page,
        "per_page": UNSIGNED_PAGE,
        "unsigned": items,
    })))
}

/// `GET /api/v1/pledges/{id}/pdf`: the receipt PDF, for HR of its instansi (audited).
pub async fn pledge_pdf(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Response> {
    let (log_index, bytes) = pledge::pdf_for_hr(
        state.store.as_ref(),
        state.policy.as_deref(),
        &state.public_url,
        caller.instansi()?,
        id,
        &caller.actor(),
    )
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"ikrar-{}.pdf\"", log_index),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::REFERRER_POLICY, "no-referrer".to_string()),
        ],
        bytes,
    )
        .into_response())
}
