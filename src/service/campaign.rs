//! Campaigns: create, close, list, and the one answer to "is it open now?"
//! ([`CampaignRow::phase`], from `domain::campaign`).

use std::collections::HashMap;

use chrono::DateTime;

use crate::domain::ValidationError;
use crate::domain::campaign::{CampaignWindow, Phase};
use crate::domain::instansi::waktu;
use crate::domain::template::parse_reference;
use crate::domain::text;
use crate::domain::unit::{UnitLine, UnitTree};
use crate::service::audit::{self, now};
use crate::service::error::{RefusalKind, ServiceError, ServiceResult};
use crate::store::{CampaignEdit, CampaignRow, NewCampaign, SignContext, Store, UnitRow};

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
    let (title, place) = title_and_place(&input.title, &input.place)?;
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
    let unit_ids = resolve_units(&store.units(instansi_id).await?, &input.units)?;
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

/// Target units named by key (`unorId`, or the normalized name) or by name; a key wins over
/// another unit's equal name, so same-name units are picked by key. Each unit once.
fn resolve_units(all_units: &[UnitRow], wanted: &[String]) -> Result<Vec<i64>, ValidationError> {
    let mut unit_ids = Vec::new();
    for wanted in wanted {
        let wanted = text::normalize(wanted);
        let unit = all_units
            .iter()
            .find(|u| u.key == wanted)
            .or_else(|| {
                all_units
                    .iter()
                    .find(|u| u.name.eq_ignore_ascii_case(&wanted))
            })
            .ok_or_else(|| {
                ValidationError::new(
                    "unit_unknown",
                    "units",
                    format!("Unit '{wanted}' tidak ada di roster instansi ini."),
                )
            })?;
        if !unit_ids.contains(&unit.id) {
            unit_ids.push(unit.id);
        }
    }
    Ok(unit_ids)
}

/// A campaign's title and place, cleaned: 1 to 200 characters each.
fn title_and_place(title: &str, place: &str) -> Result<(String, String), ValidationError> {
    let title = text::clean(title, "title")?;
    let place = text::clean(place, "place")?;
    for (field, value) in [("title", &title), ("place", &place)] {
        if value.is_empty() || value.chars().count() > 200 {
            return Err(ValidationError::new(
                "text_length",
                field,
                "Isi 1 sampai 200 karakter.",
            ));
        }
    }
    Ok((title, place))
}

/// An instansi's unit tree, for labels and target counts.
pub async fn unit_tree(store: &dyn Store, instansi_id: i64) -> ServiceResult<UnitTree> {
    Ok(UnitTree::new(
        store
            .units(instansi_id)
            .await?
            .into_iter()
            .map(|u| (u.id, u.name, u.parent_id)),
    ))
}

/// A unit HR may pick as a target: its key (the form's value), its place in the tree and
/// how many active staff it reaches with its sub-units.
#[derive(Clone, Debug)]
pub struct UnitChoice {
    pub key: String,
    pub line: UnitLine,
    pub staff: u64,
}

/// The units of an instansi as a target picker shows them, and the active staff per unit.
pub async fn unit_choices(store: &dyn Store, instansi_id: i64) -> ServiceResult<Vec<UnitChoice>> {
    let units = store.units(instansi_id).await?;
    let tree = UnitTree::new(units.iter().map(|u| (u.id, u.name.clone(), u.parent_id)));
    let staff = staff_per_unit(store, instansi_id).await?;
    let reach = tree.rolled_up(&staff);
    let keys: HashMap<i64, String> = units.into_iter().map(|u| (u.id, u.key)).collect();
    Ok(tree
        .lines()
        .into_iter()
        .map(|line| UnitChoice {
            key: keys.get(&line.id).cloned().unwrap_or_default(),
            staff: reach.get(&line.id).copied().unwrap_or(0),
            line,
        })
        .collect())
}

async fn staff_per_unit(store: &dyn Store, instansi_id: i64) -> ServiceResult<HashMap<i64, u64>> {
    Ok(store
        .staff_per_unit(instansi_id)
        .await?
        .into_iter()
        .map(|(u, n)| (u, n.max(0) as u64))
        .collect())
}

/// How many active staff a choice of target units (keys or names; none: the whole
/// instansi) reaches: the count HR sees before creating or changing a campaign.
pub async fn count_targets(
    store: &dyn Store,
    instansi_id: i64,
    units: &[String],
) -> ServiceResult<u64> {
    let all = store.units(instansi_id).await?;
    let ids = resolve_units(&all, units)?;
    let tree = UnitTree::new(all.into_iter().map(|u| (u.id, u.name, u.parent_id)));
    Ok(tree.target_count(&ids, &staff_per_unit(store, instansi_id).await?))
}

/// A campaign's target units (labelled, in tree order; empty when it is for the whole
/// instansi) and how many active staff they reach.
#[derive(Clone, Debug)]
pub struct Targets {
    pub units: Vec<UnitLine>,
    pub count: u64,
}

pub async fn targets(store: &dyn Store, c: &CampaignRow) -> ServiceResult<Targets> {
    let ids = store.campaign_unit_ids(c.id).await?;
    let tree = unit_tree(store, c.instansi_id).await?;
    let count = tree.target_count(&ids, &staff_per_unit(store, c.instansi_id).await?);
    let units = tree
        .lines()
        .into_iter()
        .filter(|l| ids.contains(&l.id))
        .collect();
    Ok(Targets { units, count })
}

/// What HR may change of a campaign until it closes (SPEC 2); a field left out keeps its
/// value.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct CampaignChange {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub place: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub closes: Option<String>,
    /// Unit keys or names (an empty list: the whole instansi).
    #[serde(default)]
    pub units: Option<Vec<String>>,
    #[serde(default)]
    pub screen: Option<bool>,
    #[serde(default)]
    pub public: Option<bool>,
}

/// Changes a campaign that has not closed; each changed field is one audit event
/// (`campaign.edit`). Returns what changed, in Indonesian (empty: nothing did).
pub async fn edit(
    store: &dyn Store,
    c: &CampaignRow,
    change: &CampaignChange,
    actor: &str,
) -> ServiceResult<Vec<String>> {
    let at = now();
    let closed = || {
        ServiceError::refused(
            RefusalKind::Conflict,
            "campaign_closed",
            "Kampanye sudah ditutup; isinya tidak dapat diubah lagi.",
        )
    };
    if c.phase(at) == Phase::Closed {
        return Err(closed());
    }
    let (title, place) = title_and_place(
        change.title.as_deref().unwrap_or(&c.title),
        change.place.as_deref().unwrap_or(&c.place),
    )?;
    let closes_at = match &change.closes {
        Some(closes) => time("closes", closes)?,
        None => c.closes_at,
    };
    let screen = change.screen.unwrap_or(c.screen_enabled);
    let public = change.public.unwrap_or(c.public_enabled);
    if closes_at <= c.opens_at {
        return Err(ValidationError::new(
            "closes_before_opens",
            "closes",
            "Waktu tutup harus sesudah waktu buka.",
        )
        .into());
    }
    if closes_at != c.closes_at && closes_at <= at {
        return Err(ValidationError::new(
            "closes_in_past",
            "closes",
            "Waktu tutup harus di masa depan. Untuk menutup sekarang, pakai tombol \"Tutup kampanye\".",
        )
        .into());
    }
    let all = store.units(c.instansi_id).await?;
    let before_units = store.campaign_unit_ids(c.id).await?;
    let mut unit_ids = match &change.units {
        Some(units) => resolve_units(&all, units)?,
        None => before_units.clone(),
    };
    unit_ids.sort_unstable();
    let tz = crate::service::instansi::time_zone(store, c.instansi_id).await?;
    let tree = UnitTree::new(all.into_iter().map(|u| (u.id, u.name, u.parent_id)));
    let yes_no = |b: bool| if b { "ya" } else { "tidak" };
    let units_text = |ids: &[i64]| {
        if ids.is_empty() {
            "seluruh instansi".to_string()
        } else {
            ids.iter()
                .map(|id| tree.label(*id))
                .collect::<Vec<_>>()
                .join("; ")
        }
    };
    let mut changes = Vec::new();
    if title != c.title {
        changes.push(format!("judul \"{}\" → \"{title}\"", c.title));
    }
    if place != c.place {
        changes.push(format!("tempat \"{}\" → \"{place}\"", c.place));
    }
    if closes_at != c.closes_at {
        changes.push(format!(
            "waktu tutup {} → {}",
            waktu(tz.at(c.closes_at)),
            waktu(tz.at(closes_at))
        ));
    }
    if screen != c.screen_enabled {
        changes.push(format!("layar acara: {}", yes_no(screen)));
    }
    if public != c.public_enabled {
        changes.push(format!("halaman transparansi: {}", yes_no(public)));
    }
    if unit_ids != before_units {
        changes.push(format!(
            "unit sasaran {} → {}",
            units_text(&before_units),
            units_text(&unit_ids)
        ));
    }
    if changes.is_empty() {
        return Ok(changes);
    }
    let written = store
        .update_campaign(
            c.id,
            &CampaignEdit {
                title,
                place,
                closes_at,
                screen_enabled: screen,
                public_enabled: public,
                unit_ids,
            },
        )
        .await?;
    if !written {
        return Err(closed());
    }
    for what in &changes {
        audit::record(
            store,
            Some(c.instansi_id),
            actor,
            "campaign.edit",
            &format!("kampanye {}: {what}", c.id),
        )
        .await?;
    }
    Ok(changes)
}
