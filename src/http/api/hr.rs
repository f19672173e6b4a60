//! The HR API (bearer tokens or an admin session): roster import, campaigns, invitations and
//! pledges. Every object is scoped to the caller's instansi: another instansi's answers 404.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::instansi::TimeZone;
use crate::http::auth::{Caller, not_found};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::state::AppState;
use crate::service::ops::{self, CampaignInput};
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
    body: Bytes,
) -> AppResult<Json<Value>> {
    caller.must_manage()?;
    let instansi_id = caller.instansi()?;
    let parsed =
        tokio::task::spawn_blocking(move || crate::formats::roster_file::read_bytes(&body))
            .await
            .map_err(AppError::internal)?;
    let rows = match parsed {
        Ok(rows) => rows,
        Err(e) => {
            if let ops::OpsError::Rows(rows) = &e {
                ops::record_rejection(
                    state.store.as_ref(),
                    instansi_id,
                    &caller.actor(),
                    rows.len(),
                )
                .await?;
            }
            return Err(e.into());
        }
    };
    if q.dry_run {
        return Ok(Json(json!({"dry_run": true, "rows": rows.len()})));
    }
    let s = ops::import_roster(
        state.store.as_ref(),
        instansi_id,
        &rows,
        q.deactivate_missing,
        &caller.actor(),
    )
    .await?;
    Ok(Json(json!({
        "rows": rows.len(),
        "created": s.created,
        "updated": s.updated,
        "deactivated": s.deactivated,
        "units_created": s.units_created,
    })))
}

pub fn campaign_json(c: &CampaignRow, tz: TimeZone) -> Value {
    let t = |unix: i64| crate::domain::statement::format_time(tz.at(unix));
    let now = chrono::Utc::now().timestamp();
    json!({
        "id": c.id,
        "title": c.title,
        "place": c.place,
        "template_no": c.template_no,
        "opens_at": t(c.opens_at),
        "closes_at": t(c.closes_at),
        "closed_at": c.closed_at.map(t),
        "open": c.closed_at.is_none() && c.opens_at <= now && now < c.closes_at,
        "mark": c.mark_enabled,
        "screen": c.screen_enabled,
    })
}

/// The instansi's time zone, for showing its times.
pub async fn tz_of(state: &AppState, instansi_id: i64) -> AppResult<TimeZone> {
    let inst = state
        .store
        .instansi_by_id(instansi_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(TimeZone::parse(&inst.tz).unwrap_or(TimeZone::Jakarta))
}

/// A campaign of the caller's instansi, or 404.
pub async fn owned_campaign(state: &AppState, caller: &Caller, id: i64) -> AppResult<CampaignRow> {
    let c = state.store.campaign(id).await?.ok_or_else(not_found)?;
    caller.owns(c.instansi_id)?;
    Ok(c)
}

pub async fn create_campaign(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<CampaignInput>,
) -> AppResult<(StatusCode, Json<Value>)> {
    caller.must_manage()?;
    let instansi_id = caller.instansi()?;
    let id =
        ops::create_campaign(state.store.as_ref(), instansi_id, &input, &caller.actor()).await?;
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
    let list: Vec<Value> = state
        .store
        .campaigns(instansi_id)
        .await?
        .iter()
        .map(|c| campaign_json(c, tz))
        .collect();
    Ok(Json(json!({ "campaigns": list })))
}

pub async fn get_campaign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Json<Value>> {
    let c = owned_campaign(&state, &caller, id).await?;
    Ok(Json(campaign_json(&c, tz_of(&state, c.instansi_id).await?)))
}

pub async fn close_campaign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Json<Value>> {
    caller.must_manage()?;
    let c = owned_campaign(&state, &caller, id).await?;
    ops::close_campaign(state.store.as_ref(), &c, &caller.actor()).await?;
    let c = owned_campaign(&state, &caller, id).await?;
    Ok(Json(campaign_json(&c, tz_of(&state, c.instansi_id).await?)))
}

#[derive(Debug, Default, Deserialize)]
pub struct IssueRequest {
    #[serde(default)]
    pub reissue: bool,
    #[serde(default)]
    pub nip: Option<String>,
    /// `csv` (default) or `slips` (a PDF of printable QR slips)
    #[serde(default)]
    pub format: Option<String>,
}

/// `POST /api/v1/campaigns/{id}/invitations`: issues links (shown once) as CSV or QR slips.
pub async fn issue_invitations(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<IssueRequest>,
) -> AppResult<Response> {
    caller.must_manage()?;
    let c = owned_campaign(&state, &caller, id).await?;
    issue(&state, &caller, &c, &req).await
}

pub async fn issue(
    state: &AppState,
    caller: &Caller,
    c: &CampaignRow,
    req: &IssueRequest,
) -> AppResult<Response> {
    let issued = ops::issue_invitations(
        state.store.as_ref(),
        c,
        req.reissue,
        req.nip.as_deref().filter(|n| !n.trim().is_empty()),
        &state.public_url,
        &caller.actor(),
    )
    .await?;
    let no_store = (header::CACHE_CONTROL, "no-store".to_string());
    match req.format.as_deref().unwrap_or("csv") {
        "slips" | "pdf" => {
            let pdf = ops::slips_pdf(state.store.as_ref(), c, &issued).await?;
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
            let csv = ops::invitations_csv(&issued).map_err(AppError::internal)?;
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

#[derive(Debug, Deserialize)]
pub struct RevokeRequest {
    pub nip: String,
}

pub async fn revoke_invitation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<RevokeRequest>,
) -> AppResult<Json<Value>> {
    caller.must_manage()?;
    let c = owned_campaign(&state, &caller, id).await?;
    let now = chrono::Utc::now().timestamp();
    let n = state
        .store
        .revoke_invitation(c.id, req.nip.trim(), now)
        .await?;
    state
        .store
        .audit(
            Some(c.instansi_id),
            &caller.actor(),
            "invitations.revoke",
            &format!("tautan {} dicabut pada kampanye {}", req.nip.trim(), c.id),
            now,
        )
        .await?;
    Ok(Json(json!({ "revoked": n })))
}

/// `GET /api/v1/pledges/{id}`: the full pledge for HR of its instansi.
pub async fn get_pledge(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Json<Value>> {
    let p = state.store.pledge_by_id(id).await?.ok_or_else(not_found)?;
    caller.owns(p.instansi_id)?;
    let tz = TimeZone::parse(&p.tz).unwrap_or(TimeZone::Jakarta);
    let t = |unix: i64| crate::domain::statement::format_time(tz.at(unix));
    Ok(Json(json!({
        "id": p.pledge_id,
        "log_index": p.log_index,
        "campaign_id": p.campaign_id,
        "campaign": p.campaign_title,
        "template": format!("{}@{}", p.template_code, p.template_version),
        "kind": p.kind,
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
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<AnnulRequestBody>,
) -> AppResult<Json<Value>> {
    let p = state.store.pledge_by_id(id).await?.ok_or_else(not_found)?;
    caller.owns(p.instansi_id)?;
    if !caller.role.can_annul() {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Hanya admin instansi yang dapat membatalkan ikrar.",
        ));
    }
    if !crate::tlog::record::ANNUL_CATEGORIES.contains(&req.category.as_str()) {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "category_unknown",
            "Kategori harus salah-orang, paksaan, ganda atau lainnya.",
        )
        .field("category"));
    }
    let reason = crate::domain::text::clean(&req.reason, "reason")?;
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason_length",
            "Tulis alasan pembatalan (1 sampai 1000 karakter).",
        )
        .field("reason"));
    }
    let already = || {
        AppError::new(
            StatusCode::CONFLICT,
            "already_annulled",
            "Ikrar ini sudah dibatalkan sebelumnya.",
        )
    };
    if p.annulled_at.is_some() {
        return Err(already());
    }
    let (invitation_id, record) = state.store.pledge_record(id).await?.ok_or_else(not_found)?;
    let out = crate::tlog::sequencer::annul(
        state.store.as_ref(),
        &state.keys,
        &state.guard,
        &crate::tlog::sequencer::AnnulRequest {
            pledge_id: id,
            invitation_id,
            pledge_record: record,
            category: req.category.clone(),
            reason: reason.clone(),
            tz: TimeZone::parse(&p.tz).unwrap_or(TimeZone::Jakarta),
        },
    )
    .await
    .map_err(|e| match e {
        crate::tlog::sequencer::SequencerError::Store(crate::store::StoreError::Conflict(_)) => {
            already()
        }
        other => AppError::from(std::sync::Arc::new(other)),
    })?;
    state
        .store
        .audit(
            Some(p.instansi_id),
            &caller.actor(),
            "pledge.annul",
            &format!(
                "ikrar {} (log {}) dibatalkan: {} — {}",
                id, p.log_index, req.category, reason
            ),
            chrono::Utc::now().timestamp(),
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
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ComplianceQuery>,
) -> AppResult<Response> {
    let c = owned_campaign(&state, &caller, id).await?;
    let format = q.format.as_deref().unwrap_or("json");
    let actor = caller.actor();
    let audit = |what: &str| {
        let store = state.store.clone();
        let summary = format!("ekspor kepatuhan kampanye {} ({what})", c.id);
        let actor = actor.clone();
        let instansi = c.instansi_id;
        async move {
            store
                .audit(
                    Some(instansi),
                    &actor,
                    "export.compliance",
                    &summary,
                    chrono::Utc::now().timestamp(),
                )
                .await
        }
    };
    let attachment =
        |ext: &str| format!("attachment; filename=\"kepatuhan-kampanye-{}.{ext}\"", c.id);
    match format {
        "json" => {
            let r = ops::compliance(state.store.as_ref(), &c).await?;
            let units: Vec<Value> = r
                .units
                .iter()
                .map(|u| {
                    json!({
                        "id": u.id, "name": u.name, "parent_id": u.parent_id,
                        "target": u.target, "signed": u.signed,
                        "rate": crate::formats::export::rate(u.signed, u.target),
                    })
                })
                .collect();
            Ok(Json(json!({
                "campaign": {"id": c.id, "title": c.title, "template": r.template},
                "totals": {
                    "target": r.total_target,
                    "signed": r.total_signed,
                    "rate": crate::formats::export::rate(r.total_signed, r.total_target),
                },
                "units": units,
            }))
            .into_response())
        }
        "csv" => {
            let r = ops::compliance(state.store.as_ref(), &c).await?;
            audit("csv").await?;
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (header::CONTENT_DISPOSITION, attachment("csv")),
                ],
                crate::formats::export::to_csv(&r),
            )
                .into_response())
        }
        "xlsx" => {
            let bytes = ops::compliance_xlsx(state.store.as_ref(), &c).await?;
            audit("xlsx").await?;
            Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                            .to_string(),
                    ),
                    (header::CONTENT_DISPOSITION, attachment("xlsx")),
                ],
                bytes,
            )
                .into_response())
        }
        other => Err(AppError::bad_request(
            "format_unknown",
            format!("Format '{other}' tidak dikenal; gunakan json, csv atau xlsx."),
        )
        .field("format")),
    }
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
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<UnsignedQuery>,
) -> AppResult<Json<Value>> {
    let c = owned_campaign(&state, &caller, id).await?;
    if let Some(unit) = q.unit
        && !state
            .store
            .units(c.instansi_id)
            .await?
            .iter()
            .any(|u| u.id == unit)
    {
        return Err(not_found());
    }
    let page = q.page.unwrap_or(1).max(1);
    let rows = state
        .store
        .unsigned(c.id, q.unit, UNSIGNED_PAGE, (page - 1) * UNSIGNED_PAGE)
        .await?;
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
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let p = state.store.pledge_by_id(id).await?.ok_or_else(not_found)?;
    caller.owns(p.instansi_id)?;
    let (invitation_id, _) = state.store.pledge_record(id).await?.ok_or_else(not_found)?;
    let ctx = state
        .store
        .sign_context_by_invitation(invitation_id)
        .await?
        .ok_or_else(not_found)?;
    let receipt = state
        .store
        .receipt_for_invitation(invitation_id)
        .await?
        .ok_or_else(not_found)?;
    let bytes = crate::http::pages::signing::render_pdf(&state, &ctx, &receipt).await?;
    state
        .store
        .audit(
            Some(p.instansi_id),
            &caller.actor(),
            "pledge.pdf",
            &format!("PDF ikrar {id} (log {}) diunduh", p.log_index),
            chrono::Utc::now().timestamp(),
        )
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"ikrar-{}.pdf\"", p.log_index),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::REFERRER_POLICY, "no-referrer".to_string()),
        ],
        bytes,
    )
        .into_response())
}
