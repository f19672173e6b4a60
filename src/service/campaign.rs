//! Campaigns: create, close, list, and the one answer to "is it open now?"
//! ([`CampaignRow::phase`], from `domain::campaign`).

use chrono::DateTime;

use crate::domain::ValidationError;
use crate::domain::campaign::{CampaignWindow, Phase};
use crate::domain::template::parse_reference;
use crate::domain::text;
use crate::service::audit::{self, now};
use crate::service::error::{ServiceError, ServiceResult};
use crate::store::{CampaignRow, NewCampaign, SignContext, Store};

impl CampaignRow {
    pub fn window(&self) -> CampaignWindow {
        CampaignWindow {
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            closed_at: self.closed_at,
        }
    }

    pub fn phase(&self, now: i64) -> Phase {
        self.window().phase(now)
    }
}

impl SignContext {
    /// The window of the invitation's campaign.
    pub fn window(&self) -> CampaignWindow {
        CampaignWindow {
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            closed_at: self.closed_at,
        }
    }
}

/// What HR types to create a campaign.
#[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct CampaignInput {
    /// The template as `code@version` or its number.
    pub template: String,
    pub title: String,
    pub place: String,
    /// RFC 3339, e.g. `2026-11-29T07:00:00+07:00`.
    pub opens: String,
    /// RFC 3339.
    pub closes: String,
    /// Unit keys or names whose staff are the targets (default: the whole instansi).
    #[serde(default)]
    pub units: Vec<String>,
    #[serde(default = "yes")]
    pub mark: bool,
    #[serde(default)]
    pub screen: bool,
    /// Shown on the public transparency page (/transparansi).
    #[serde(default)]
    pub public: bool,
}

fn yes() -> bool {
    true
}

fn time(field: &'static str, s: &str) -> Result<i64, ValidationError> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.timestamp())
        .map_err(|_| {
            ValidationError::new(
                "time_invalid",
                field,
                format!("'{s}' bukan waktu RFC 3339 (contoh: 2026-11-29T07:00:00+07:00)."),
            )
        })
}

pub async fn create(
    store: &dyn Store,
    instansi_id: i64,
    input: &CampaignInput,
    actor: &str,
) -> ServiceResult<i64> {
    let (code, version) = parse_reference(input.template.trim()).ok_or_else(|| {
        ValidationError::new(
            "template_reference",
            "template",
            "Tulis naskah sebagai kode@versi, misalnya ikrar-netralitas-2024@1.",
        )
    })?;
    let template_no = store
        .templates()
        .await?
        .into_iter()
        .find(|t| t.code == code && t.version == i64::from(version))
        .map(|t| t.number)
        .ok_or_else(|| {
            ValidationError::new(
                "template_unknown",
                "template",
                format!("Naskah '{}' tidak ada.", input.template),
            )
        })?;
    let title = text::clean(&input.title, "title")?;
    let place = text::clean(&input.place, "place")?;
    for (field, value) in [("title", &title), ("place", &place)] {
        if value.is_empty() || value.chars().count() > 200 {
            return Err(
                ValidationError::new("text_length", field, "Isi 1 sampai 200 karakter.").into(),
            );
        }
    }
    let opens_at = time("opens", &input.opens)?;
    let closes_at = time("closes", &input.closes)?;
    if closes_at <= opens_at {
        return Err(ValidationError::new(
            "closes_before_opens",
            "closes",
            "Waktu tutup harus sesudah waktu buka.",
        )
        .into());
    }
    let all_units = store.units(instansi_id).await?;
    let mut unit_ids = Vec::new();
    for wanted in &input.units {
        let wanted = text::normalize(wanted);
        let unit = all_units
            .iter()
            .find(|u| u.key == wanted || u.name.eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| {
                ValidationError::new(
                    "unit_unknown",
                    "units",
                    format!("Unit '{wanted}' tidak ada di roster instansi ini."),
                )
            })?;
        unit_ids.push(unit.id);
    }
    let id = store
        .create_campaign(
            &NewCampaign {
                instansi_id,
                template_no,
                title: title.clone(),
                place,
                opens_at,
                closes_at,
                mark_enabled: input.mark,
                screen_enabled: input.screen,
                public_enabled: input.public,
                unit_ids,
            },
            now(),
        )
        .await?;
    audit::record(
        store,
        Some(instansi_id),
        actor,
        "campaign.create",
        &format!("kampanye {id}: {title}"),
    )
    .await?;
    Ok(id)
}

/// A campaign of `instansi_id`; another instansi's answers exactly like a missing one.
pub async fn owned(store: &dyn Store, instansi_id: i64, id: i64) -> ServiceResult<CampaignRow> {
    match store.campaign(id).await? {
        Some(c) if c.instansi_id == instansi_id => Ok(c),
        _ => Err(ServiceError::unknown()),
    }
}

/// Any campaign by id, for the operator's CLI (which acts across instansi).
pub async fn by_id(store: &dyn Store, id: i64) -> ServiceResult<CampaignRow> {
    store.campaign(id).await?.ok_or_else(|| {
        ServiceError::not_found("campaign_unknown", format!("Kampanye {id} tidak ada."))
    })
}

pub async fn list(store: &dyn Store, instansi_id: i64) -> ServiceResult<Vec<CampaignRow>> {
    Ok(store.campaigns(instansi_id).await?)
}

/// Closes a campaign now; `false` if it was already closed.
pub async fn close(store: &dyn Store, c: &CampaignRow, actor: &str) -> ServiceResult<bool> {
    let closed = store.close_campaign(c.id, now()).await?;
    if closed {
        audit::record(
            store,
            Some(c.instansi_id),
            actor,
            "campaign.close",
            &format!("kampanye {} ditutup", c.id),
        )
        .await?;
    }
    Ok(closed)
}
