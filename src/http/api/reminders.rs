//! `POST /api/v1/campaigns/{id}/reminders` (SPEC 4.2): one reminder round, by email or as
//! WhatsApp links, through `service::reminder` like the CLI and the admin page.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::auth::{Caller, owned_campaign};
use crate::http::error::{AppResult, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::state::AppState;
use crate::service::reminder::{self, Channel, RoundOutcome, RoundRequest};

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReminderRequest {
    /// `email` or `whatsapp`.
    pub channel: String,
    /// Only this unit (its key or name) and the units under it.
    #[serde(default)]
    pub unit: Option<String>,
    /// Only this person (NIP or staff number).
    #[serde(default)]
    pub nip: Option<String>,
    /// The round's key: a request repeated with the same key sends nothing again and
    /// answers with the first request's counts (`repeated: true`). Without one, every
    /// request is a new round.
    #[serde(default)]
    pub round_key: Option<String>,
}

/// Someone the round did not reach (never their address).
#[derive(Debug, Serialize, ToSchema)]
pub struct NotReachedView {
    pub nip: String,
    pub nama: String,
    pub unit: String,
    /// Why, in Indonesian.
    pub reason: String,
}

/// One WhatsApp click-to-chat link; its text holds the person's fresh signing link.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhatsappLinkView {
    pub nip: String,
    pub nama: String,
    pub unit: String,
    /// Normalised: `62…`.
    pub telepon: String,
    /// `https://wa.me/62…?text=…`
    pub wa_link: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReminderResponse {
    pub round_id: i64,
    pub channel: String,
    /// The round key was used before: nothing was sent by this request.
    pub repeated: bool,
    /// Emails accepted by the SMTP server, or WhatsApp links made.
    pub sent: i64,
    /// Unsigned targets without an address for the channel (they keep their link).
    pub no_address: i64,
    pub failed_count: i64,
    pub failed: Vec<NotReachedView>,
    /// WhatsApp only; the links are shown once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<WhatsappLinkView>,
    /// The summary in Indonesian.
    pub message: String,
}

impl From<RoundOutcome> for ReminderResponse {
    fn from(o: RoundOutcome) -> Self {
        ReminderResponse {
            message: o.message(),
            round_id: o.round_id,
            channel: o.channel.as_str().to_owned(),
            repeated: o.repeated,
            sent: o.sent,
            no_address: o.no_address,
            failed_count: o.failed_count,
            failed: o
                .failed
                .into_iter()
                .map(|f| NotReachedView {
                    nip: f.number,
                    nama: f.name,
                    unit: f.unit,
                    reason: f.reason,
                })
                .collect(),
            links: o
                .links
                .into_iter()
                .map(|l| WhatsappLinkView {
                    nip: l.number,
                    nama: l.name,
                    unit: l.unit,
                    telepon: l.telepon,
                    wa_link: l.wa_link,
                })
                .collect(),
        }
    }
}

/// `POST /api/v1/campaigns/{id}/reminders`: reminds the campaign's unsigned targets (all,
/// one unit, or one person) with fresh links; their old links answer 410 `token_replaced`.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/reminders", tag = "hr",
    params(("id" = i64, Path, description = "Campaign id")),
    request_body = ReminderRequest,
    responses(
        (status = 200, description = "The round's summary (and, for WhatsApp, the links, \
            shown once).", body = ReminderResponse),
        (status = 400, description = "Malformed JSON or id.", body = ErrorBody),
        (status = 401, description = "No or bad credentials.", body = ErrorBody),
        (status = 403, description = "The caller's role may not send reminders, the campaign \
            is not open yet, or no SMTP server is configured.", body = ErrorBody),
        (status = 404, description = "No such campaign in the caller's instansi.", body = ErrorBody),
        (status = 410, description = "The campaign is closed.", body = ErrorBody),
        (status = 413, description = "Body over its limit.", body = ErrorBody),
        (status = 415, description = "Not JSON.", body = ErrorBody),
        (status = 422, description = "Unknown channel or unit, or a bad round key.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn send_reminders(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ReminderRequest>,
) -> AppResult<Json<ReminderResponse>> {
    caller.must_manage()?;
    let c = owned_campaign(&state, &caller, id).await?;
    let channel = Channel::parse(&req.channel).map_err(crate::service::ServiceError::from)?;
    let outcome = reminder::remind(
        state.store.as_ref(),
        state.mailer.as_ref(),
        &c,
        &RoundRequest {
            channel,
            unit: req.unit.as_deref(),
            nip: req.nip.as_deref(),
            round_key: req.round_key.as_deref(),
        },
        &state.public_url,
        &caller.actor(),
        &|_, _| {},
    )
    .await?;
    Ok(Json(outcome.into()))
}
