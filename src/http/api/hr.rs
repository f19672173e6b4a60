//! The HR API (bearer tokens or an admin session): roster import, campaigns, invitations and
//! pledges. Every object is scoped to the caller's instansi: another instansi's answers 404.
//! Handlers parse, call `service`, and shape JSON; the rules live there.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::campaign::Phase;
use crate::domain::compliance::rate;
use crate::domain::instansi::TimeZone;
use crate::http::auth::{Caller, owned_campaign, tz_of};
use crate::http::download::{IssueRequest, issue};
use crate::http::error::{AppError, AppResult, ErrorBody};
use crate::http::extract::{ApiBytes, ApiJson, ApiPath, ApiQuery};
use crate::http::state::AppState;
use crate::service::audit::now;
use crate::service::campaign::{self, CampaignChange, CampaignInput};
use crate::service::compliance::{self, ExportFormat};
use crate::service::roster::{self, ImportOptions};
use crate::service::{invitation, pledge};
use crate::store::CampaignRow;

/// Roster uploads may be large (SPEC 6).
pub const ROSTER_BODY_LIMIT: usize = 50 * 1024 * 1024;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Check the file and report, without changing anything.
    #[serde(default)]
    dry_run: bool,
    /// Deactivate staff of this instansi that the file no longer lists.
    #[serde(default)]
    deactivate_missing: bool,
}

/// The outcome of a roster import; a dry run has only `dry_run` and `rows`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResponse {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// Data rows read.
    pub rows: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deactivated: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units_created: Option<u64>,
}

/// `POST /api/v1/roster`: CSV or XLSX in the body. All-or-nothing; 422 lists every bad row.
#[utoipa::path(post, path = "/api/v1/roster", tag = "hr",
    params(ImportQuery),
    request_body(description = "Our simple CSV, a SIASN export (CSV) or an XLSX workbook \
        (first sheet); at most 50 MiB.", content(
        (Vec<u8> = "text/csv"),
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (Vec<u8> = "application/octet-stream"))),
    responses(
        (status = 200, description = "Imported (or checked, for a dry run).", body = ImportResponse),
        (status = 400, description = "Malformed query or body.", body = ErrorBody),
        (status = 401, description = "No or bad credentials.", body = ErrorBody),
        (status = 403, description = "The caller's role may not import.", body = ErrorBody),
        (status = 408, description = "The body came too slowly.", body = ErrorBody),
        (status = 413, description = "Over 50 MiB.", body = ErrorBody),
        (status = 422, description = "Bad rows, every one listed under `error.rows`.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn import_roster(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ImportQuery>,
    ApiBytes(body): ApiBytes,
) -> AppResult<Json<ImportResponse>> {
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
        None => ImportResponse {
            dry_run: true,
            rows: outcome.rows,
            created: None,
            updated: None,
            deactivated: None,
            units_created: None,
        },
        Some(s) => ImportResponse {
            dry_run: false,
            rows: outcome.rows,
            created: Some(s.created),
            updated: Some(s.updated),
            deactivated: Some(s.deactivated),
            units_created: Some(s.units_created),
        },
    }))
}

/// A campaign as HR sees it; times in the instansi's zone, RFC 3339.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    pub id: i64,
    pub title: String,
    pub place: String,
    pub template_no: i64,
    pub opens_at: String,
    pub closes_at: String,
    pub closed_at: Option<String>,
    pub open: bool,
    /// `scheduled`, `open` or `closed`.
    pub phase: &'static str,
    /// The phase in Indonesian.
    pub phase_label: &'static str,
    /// Whether signers draw a mark.
    pub mark: bool,
    /// Whether the ceremony screen is on.
    pub screen: bool,
    /// Whether the campaign is on the public transparency page.
    pub public: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignList {
    pub campaigns: Vec<CampaignView>,
}

pub fn campaign_view(c: &CampaignRow, tz: TimeZone) -> CampaignView {
    let t = |unix: i64| crate::domain::statement::format_time(tz.at(unix));
    let phase = c.phase(now());
    CampaignView {
        id: c.id,
        title: c.title.clone(),
        place: c.place.clone(),
        template_no: c.template_no,
        opens_at: t(c.opens_at),
        closes_at: t(c.closes_at),
        closed_at: c.closed_at.map(t),
        open: phase == Phase::Open,
        phase: phase.as_str(),
        phase_label: phase.label(),
        mark: c.mark_enabled,
        screen: c.screen_enabled,
        public: c.public_enabled,
    }
}

#[utoipa::path(post, path = "/api/v1/campaigns", tag = "hr",
    request_body = CampaignInput,
    responses(
        (status = 201, description = "Created.", body = CampaignView),
        (status = 400, description = "Malformed JSON.", body = ErrorBody),
        (status = 401, description = "No or bad credentials.", body = ErrorBody),
        (status = 403, description = "The caller's role may not create campaigns.", body = ErrorBody),
        (status = 404, description = "Unknown template or unit.", body = ErrorBody),
        (status = 409, description = "Raced with another change.", body = ErrorBody),
        (status = 413, description = "Body over its limit.", body = ErrorBody),
        (status = 415, description = "Not JSON.", body = ErrorBody),
        (status = 422, description = "A field breaks a rule.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create_campaign(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<CampaignInput>,
) -> AppResult<(StatusCode, Json<CampaignView>)> {
    caller.must_manage()?;
    let instansi_id = caller.instansi()?;
    let id = campaign::create(state.store.as_ref(), instansi_id, &input, &caller.actor()).await?;
    let c = owned_campaign(&state, &caller, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(campaign_view(&c, tz_of(&state, instansi_id).await?)),
    ))
}

#[utoipa::path(get, path = "/api/v1/campaigns", tag = "hr",
    responses(
        (status = 200, description = "The caller's instansi's campaigns.", body = CampaignList),
        (status = 401, description = "No or bad credentials.", body = ErrorBody),
        (status = 403, description = "The caller has no instansi.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_campaigns(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<CampaignList>> {
    let instansi_id = caller.instansi()?;
    let tz = tz_of(&state, instansi_id).await?;
    let campaigns = campaign::list(state.store.as_ref(), instansi_id)
        .await?
        .iter()
        .map(|c| campaign_view(c, tz))
        .collect();
    Ok(Json(CampaignList { campaigns }))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "hr",
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign.", body = CampaignView),
        (status = 400, description = "Malformed id.", body = ErrorBody),
        (status = 401, description = "No or bad credentials.", body = ErrorBody),
        (status = 403, description = "The caller has no instansi.", body = ErrorBody),
        (status = 404, description = "No such campaign in the caller's instansi.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_campaign(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<CampaignView>> {
    let c = owned_campaign(&state, &caller, id).await?;
    Ok(Json(campaign_view(&c, tz_of(&state, c.instansi_id).await?)))
}

/// `PATCH /api/v1/campaigns/{id}`: changes what HR may change until the campaign closes;
/// each changed field is an audit event.
#[utoipa::path(patch, path = "/api/v1/campaigns/{id}", tag = "hr",
    params(("id" = i64, Path, description = "Campaign id")),
    request_body = CampaignChange,
    responses(
        (status = 200, description = "The campaign as it is now.", body = CampaignView),
        (status = 400, description = "Malformed id or JSON.", body = ErrorBody),
        (status = 401, description = "No or bad credentials.", body = ErrorBody),
        (status = 403, description = "The caller's role may not change campaigns.", body = ErrorBody),
        (status = 404, description = "No such campaign in the caller's instansi.", body = ErrorBody),
        (status = 409, description = "The campaign is closed.", body = ErrorBody),
        (status = 413, description = "Body over its limit.", body = ErrorBody),
        (status = 415, description = "Not JSON.", body = ErrorBody),
        (status = 422, description = "A field breaks a rule.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn edit_campaign(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(change): ApiJson<CampaignChange>,
) -> AppResult<Json<CampaignView>> {
    caller.must_manage()?;
    let c = owned_campaign(&state, &caller, id).await?;
    campaign::edit(state.store.as_ref(), &c, &change, &caller.actor()).await?;
    let c = owned_campaign(&state, &caller, id).await?;
    Ok(Json(campaign_view(&c, tz_of(&state, c.instansi_id).await?)))
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/close", tag = "hr",
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "Closed; the campaign as it is now.", body = CampaignView),
        (status = 400, description = "Malformed id.", body = ErrorBody),
        (status = 401, description = "No or bad credentials.", body = ErrorBody),
        (status = 403, description = "The caller's role may not close campaigns.", body = ErrorBody),
        (status = 404, description = "No such campaign in the caller's instansi.", body = ErrorBody),
        (status = 409, description = "Already closed.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn close_campaign(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<CampaignView>> {
    caller.must_manage()?;
    let c = owned_campaign(&state, &caller, id).await?;
    campaign::close(state.store.as_ref(), &c, &caller.actor()).await?;
    let c = owned_campaign(&state, &caller, id).await?;
    Ok(Json(campaign_view(&c, tz_of(&state, c.instansi_id).await?)))
}

/// `POST /api/v1/campaigns/{id}/invitations`: issues links (shown once) as CSV or QR slips.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/invitations", tag = "hr",
    params(("id" = i64, Path, description = "Campaign id")),
    request_body = IssueRequest,
    responses(
        (status = 200, description = "The links, shown once: CSV (nip, name, unit, link) or \
            a PDF of printable QR slips.", content(
            (String = "text/csv"), (Vec<u8> = "application/pdf"))),
        (status = 400, description = "Malformed JSON or unknown format.", body = ErrorBody),
        (status = 401, description = "No or bad credentials.", body = ErrorBody),
        (status = 403, description = "The caller's role may not issue links.", body = ErrorBody),
        (status = 404, description = "No such campaign or staff member.", body = ErrorBody),
        (status = 409, description = "Slips asked for, but nobody needs a new link (reissue instead).", body = ErrorBody),
        (status = 410, description = "The campaign is closed.", body = ErrorBody),
        (status = 413, description = "Body over its limit.", body = ErrorBody),
        (status = 415, description = "Not JSON.", body = ErrorBody),
        (status = 422, description = "A field breaks a rule.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
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

#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokeRequest {
    /// The NIP (or staff number) whose open link is revoked.
    pub nip: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevokeResponse {
    /// Links revoked (0 when there was none open).
    pub revoked: u64,
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/invitations/revoke", tag = "hr",
    params(("id" = i64, Path, description = "Campaign id")),
    request_body = RevokeRequest,
    responses(
        (status = 200, description = "Revoked.", body = RevokeResponse),
        (status = 400, description = "Malformed JSON or id.", body = ErrorBody),
        (status = 401, description = "No or bad credentials.", body = ErrorBody),
        (status = 403, description = "The caller's role may not revoke links.", body = ErrorBody),
        (status = 404, description = "No such campaign in the caller's instansi.", body = ErrorBody),
        (status = 413, description = "Body over its limit.", body = ErrorBody),
        (status = 415, description = "Not JSON.", body = ErrorBody),
        (status = 422, description = "A field breaks a rule.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<RevokeRequest>,
) -> AppResult<Json<RevokeResponse>> {
    caller.must_manage()?;
    let c = owned_campaign(&state, &caller, id).await?;
    let revoked = invitation::revoke(state.store.as_ref(), &c, &req.nip, &caller.actor()).await?;
    Ok(Json(RevokeResponse { revoked }))
}

/// A pledge in full, for HR of its instansi; times in its zone, RFC 3339.
#[derive(Debug, Serialize, ToSchema)]
pub struct HrPledge {
    pub id: i64,
    pub log_index: i64,
    pub campaign_id: i64,
    pub campaign: String,
    /// `code@version`.
    pub template: String,
    /// `PNS`, `PPPK` or `NON_ASN`.
    pub kind: &'static str,
    /// The NIP, or a non-ASN staff number.
    pub nip: String,
    pub name: String,
    pub unit: String,
    pub signed_at: String,
    pub statement: String,
    pub annulled_at: Option<String>,
    pub annul_category: Option<String>,
}

/// `GET /api/v1/pledges/{id}`: the full pledge for HR of its instansi.
#[utoipa::path(get, path = "/api/v1/pledges/{id}", tag = "hr",
    params(("id" = i64, Path, description = "Pledge id")),
    responses(
        (status = 200, description = "The pledge.", body = HrPledge),
        (status = 400, description = "Malformed id.", body = ErrorBody),
        (status = 401, description = "No or bad credentials.", body = ErrorBody),
        (status = 403, description = "The caller has no instansi.", body = ErrorBody),
        (status = 404, description = "No such pledge in the caller's instansi.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_pledge(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<HrPledge>> {
    let p = pledge::view(state.store.as_ref(), caller.instansi()?, id).await?;
    let tz = p.tz;
    let t = |unix: i64| crate::domain::statement::format_time(tz.at(unix));
    Ok(Json(HrPledge {
        id: p.pledge_id,
        log_index: p.log_index,
        campaign_id: p.campaign_id,
        template: format!("{}@{}", p.template_code, p.template_version),
        kind: p.kind.as_str(),
        signed_at: t(p.signed_at),
        annulled_at: p.annulled_at.map(t),
        campaign: p.campaign_title,
        nip: p.number,
        name: p.name,
        unit: p.unit_name,
        statement: p.statement,
        annul_category: p.annul_category,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AnnulRequestBody {
    /// Why, as one of the fixed categories.
    pub category: String,
    /// Why, in words (published in the annulment text).
    pub reason: String,
}

/// The annulment record appended to the log (SPEC 4.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct AnnulResponse {
    /// Base32 of the format-0x02 record.
    pub record: String,
    /// The annulment text.
    pub text: String,
    pub log_index: u64,
    /// The signed checkpoint after the append.
    pub checkpoint: String,
}

/// `POST /api/v1/pledges/{id}/annul`: an instansi admin annuls a pledge once.
#[utoipa::path(post, path = "/api/v1/pledges/{id}/annul", tag = "hr",
    params(("id" = i64, Path, description = "Pledge id")),
    request_body = AnnulRequestBody,
    responses(
        (status = 200, description = "Annulled.", body = AnnulResponse),
        (status = 400, description = "Malformed JSON or id.", body = ErrorBody),
        (status = 401, description = "No or bad credentials.", body = ErrorBody),
        (status = 403, description = "Only an instansi admin annuls.", body = ErrorBody),
        (status = 404, description = "No such pledge in the caller's instansi.", body = ErrorBody),
        (status = 409, description = "Already annulled.", body = ErrorBody),
        (status = 413, description = "Body over its limit.", body = ErrorBody),
        (status = 415, description = "Not JSON.", body = ErrorBody),
        (status = 422, description = "Unknown category or empty reason.", body = ErrorBody),
        (status = 503, description = "Signing is stopped or the database is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn annul_pledge(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<AnnulRequestBody>,
) -> AppResult<Json<AnnulResponse>> {
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
    Ok(Json(AnnulResponse {
        record: data_encoding::BASE32_NOPAD.encode(&out.record),
        text: out.text,
        log_index: out.log_index,
        checkpoint: out.checkpoint,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComplianceQuery {
    /// `json` (default), `csv`, `csv-excel` (`;` and decimal commas, for Excel set to
    /// Indonesian) or `xlsx`.
    #[serde(default)]
    format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceCampaign {
    pub id: i64,
    pub title: String,
    /// `code@version`.
    pub template: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceTotals {
    pub target: u64,
    pub signed: u64,
    /// `signed / target`, 0 to 1.
    pub rate: f64,
}

/// One unit's line; a parent counts its whole subtree.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceUnit {
    pub id: i64,
    pub name: String,
    pub parent_id: Option<i64>,
    pub target: u64,
    pub signed: u64,
    pub rate: f64,
}

/// Per unit: target, signed, rate (SPEC 4.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceReport {
    pub campaign: ComplianceCampaign,
    pub totals: ComplianceTotals,
    pub units: Vec<ComplianceUnit>,
}

/// `GET /api/v1/campaigns/{id}/compliance?format=json|csv|csv-excel|xlsx`
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/compliance", tag = "hr",
    params(("id" = i64, Path, description = "Campaign id"), ComplianceQuery),
    responses(
        (status = 200, description = "The report as JSON, or as a CSV or XLSX file.", content(
            (ComplianceReport = "application/json"), (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "Malformed id or unknown format.", body = ErrorBody),
        (status = 401, description = "No or bad credentials.", body = ErrorBody),
        (status = 403, description = "The caller has no instansi.", body = ErrorBody),
        (status = 404, description = "No such campaign in the caller's instansi.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn compliance(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ComplianceQuery>,
) -> AppResult<Response> {
    let c = owned_campaign(&state, &caller, id).await?;
    let format = match q.format.as_deref().unwrap_or("json") {
        "json" => None,
        other => Some(ExportFormat::parse(other).ok_or_else(|| {
            AppError::bad_request(
                "format_unknown",
                format!("Format '{other}' tidak dikenal; gunakan json, csv, csv-excel atau xlsx."),
            )
            .field("format")
        })?),
    };
    let Some(format) = format else {
        let r = compliance::report(state.store.as_ref(), &c).await?;
        let units = r
            .units
            .iter()
            .map(|u| ComplianceUnit {
                id: u.id,
                name: u.name.clone(),
                parent_id: u.parent_id,
                target: u.target,
                signed: u.signed,
                rate: rate(u.signed, u.target),
            })
            .collect();
        return Ok(Json(ComplianceReport {
            campaign: ComplianceCampaign {
                id: c.id,
                title: c.title.clone(),
                template: r.template,
            },
            totals: ComplianceTotals {
                target: r.total_target,
                signed: r.total_signed,
                rate: rate(r.total_signed, r.total_target),
            },
            units,
        })
        .into_response());
    };
    let bytes = compliance::export(state.store.as_ref(), &c, format, &caller.actor()).await?;
    let content_type = match format {
        ExportFormat::Csv | ExportFormat::CsvExcel => "text/csv; charset=utf-8",
        ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", format.file_name(c.id)),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnsignedQuery {
    /// Only this unit and its subtree.
    #[serde(default)]
    unit: Option<i64>,
    /// From 1; 100 a page.
    #[serde(default)]
    page: Option<i64>,
}

const UNSIGNED_PAGE: i64 = 100;

#[derive(Debug, Serialize, ToSchema)]
pub struct UnsignedEntryView {
    pub nip: String,
    pub name: String,
    pub unit: String,
    pub position: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnsignedPage {
    pub page: i64,
    pub per_page: i64,
    pub unsigned: Vec<UnsignedEntryView>,
}

/// `GET /api/v1/campaigns/{id}/unsigned?unit=&page=`: who has not signed yet, 100 a page.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/unsigned", tag = "hr",
    params(("id" = i64, Path, description = "Campaign id"), UnsignedQuery),
    responses(
        (status = 200, description = "One page of staff who have not signed.", body = UnsignedPage),
        (status = 400, description = "Malformed id or query.", body = ErrorBody),
        (status = 401, description = "No or bad credentials.", body = ErrorBody),
        (status = 403, description = "The caller has no instansi.", body = ErrorBody),
        (status = 404, description = "No such campaign or unit in the caller's instansi.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn unsigned(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<UnsignedQuery>,
) -> AppResult<Json<UnsignedPage>> {
    let c = owned_campaign(&state, &caller, id).await?;
    let page = q.page.unwrap_or(1).max(1);
    let rows =
        compliance::unsigned_page(state.store.as_ref(), &c, q.unit, page, UNSIGNED_PAGE).await?;
    let unsigned = rows
        .into_iter()
        .map(|r| UnsignedEntryView {
            nip: r.number,
            name: r.name,
            unit: r.unit,
            position: r.position,
        })
        .collect();
    Ok(Json(UnsignedPage {
        page,
        per_page: UNSIGNED_PAGE,
        unsigned,
    }))
}

/// `GET /api/v1/pledges/{id}/pdf`: the receipt PDF, for HR of its instansi (audited).
#[utoipa::path(get, path = "/api/v1/pledges/{id}/pdf", tag = "hr",
    params(("id" = i64, Path, description = "Pledge id")),
    responses(
        (status = 200, description = "The receipt PDF.", content((Vec<u8> = "application/pdf"))),
        (status = 400, description = "Malformed id.", body = ErrorBody),
        (status = 401, description = "No or bad credentials.", body = ErrorBody),
        (status = 403, description = "The caller has no instansi.", body = ErrorBody),
        (status = 404, description = "No such pledge in the caller's instansi.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
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
