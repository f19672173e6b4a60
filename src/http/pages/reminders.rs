//! The admin reminder page of a campaign (SPEC 4.2): an email round with its summary, and a
//! WhatsApp round that lists one click-to-chat link per person with the same links as a
//! CSV download. Each form carries a round key minted when the page was shown, so pressing
//! the button twice (or resending the form) runs the round once.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use serde::Deserialize;

use crate::domain::campaign::Phase;
use crate::domain::token;
use crate::http::auth::{PageCaller, check_csrf, owned_campaign};
use crate::http::error::AppResult;
use crate::http::extract::{ApiForm, ApiPath};
use crate::http::pages::{html, page_error};
use crate::http::state::AppState;
use crate::service::ServiceError;
use crate::service::audit::now;
use crate::service::reminder::{self, Channel, NotReached, RoundRequest, WhatsappLink};

#[derive(Template)]
#[template(path = "admin/reminders.html")]
struct ReminderPage {
    csrf: String,
    id: i64,
    title: String,
    open: bool,
    email_ready: bool,
    units: Vec<(String, String)>,
    round_key: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/reminder_result.html")]
struct ResultPage {
    id: i64,
    title: String,
    whatsapp: bool,
    message: String,
    failed: Vec<NotReached>,
    links: Vec<WhatsappLink>,
    /// The links' CSV as a `data:` URL, so the download holds the links this page shows.
    csv_href: Option<String>,
}

async fn form_page(
    state: &AppState,
    caller: &crate::http::auth::Caller,
    id: i64,
    error: Option<String>,
) -> AppResult<ReminderPage> {
    caller.must_manage()?;
    let c = owned_campaign(state, caller, id).await?;
    let mut units: Vec<(String, String)> = state
        .store
        .units(c.instansi_id)
        .await?
        .into_iter()
        .map(|u| (u.key, u.name))
        .collect();
    units.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(ReminderPage {
        csrf: caller.csrf.clone().unwrap_or_default(),
        id: c.id,
        open: c.phase(now()) == Phase::Open,
        title: c.title,
        email_ready: state.mailer.is_some(),
        units,
        round_key: token::random(16),
        error,
    })
}

/// `GET /admin/campaigns/{id}/pengingat`
pub async fn show(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    form_page(&state, &caller, id, None)
        .await
        .map(|p| html(StatusCode::OK, p))
        .unwrap_or_else(page_error)
}

#[derive(Deserialize)]
pub struct RoundForm {
    csrf: String,
    channel: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    nip: String,
    #[serde(default)]
    round_key: String,
}

/// `POST /admin/campaigns/{id}/pengingat`
pub async fn run(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath(id): ApiPath<i64>,
    ApiForm(form): ApiForm<RoundForm>,
) -> Response {
    let result: AppResult<Response> = async {
        check_csrf(&caller, &form.csrf)?;
        caller.must_manage()?;
        let c = owned_campaign(&state, &caller, id).await?;
        let channel = Channel::parse(&form.channel).map_err(ServiceError::from)?;
        let outcome = reminder::remind(
            state.store.as_ref(),
            state.mailer.as_ref(),
            &c,
            &RoundRequest {
                channel,
                unit: Some(form.unit.as_str()),
                nip: Some(form.nip.as_str()),
                round_key: Some(form.round_key.as_str()),
            },
            &state.public_url,
            &caller.actor(),
            &|_, _| {},
        )
        .await;
        let outcome = match outcome {
            Ok(o) => o,
            // A rule broken by the form: the form again, with the reason.
            Err(ServiceError::Invalid(e)) => {
                return Ok(html(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    form_page(&state, &caller, id, Some(e.message)).await?,
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let csv_href = if channel == Channel::Whatsapp && !outcome.links.is_empty() {
            let csv = reminder::whatsapp_csv(&outcome.links)?;
            Some(format!(
                "data:text/csv;charset=utf-8;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(csv)
            ))
        } else {
            None
        };
        Ok(html(
            StatusCode::OK,
            ResultPage {
                id: c.id,
                title: c.title,
                whatsapp: channel == Channel::Whatsapp,
                message: outcome.message(),
                failed: outcome.failed,
                links: outcome.links,
                csv_href,
            },
        ))
    }
    .await;
    result.unwrap_or_else(page_error)
}
