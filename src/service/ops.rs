//! Operations that the CLI and the HR API share: import a roster, create a campaign, issue
//! invitations. Each validates with `domain`, writes through the `store`, and leaves an entry
//! in the audit trail.

use std::io::Read;

use chrono::DateTime;

use crate::domain::ValidationError;
use crate::domain::instansi::TimeZone;
use crate::domain::public_url::PublicUrl;
use crate::domain::roster::{RosterReader, RosterRow, RowError};
use crate::domain::template::parse_reference;
use crate::domain::text::{self, spreadsheet_safe};
use crate::domain::token;
use crate::store::{CampaignRow, ImportSummary, NewCampaign, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("{0}")]
    Invalid(ValidationError),
    /// A roster with bad rows: nothing was imported.
    #[error("{} baris bermasalah; tidak ada data yang diimpor", .0.len())]
    Rows(Vec<RowError>),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<ValidationError> for OpsError {
    fn from(e: ValidationError) -> OpsError {
        OpsError::Invalid(e)
    }
}

/// Today in Indonesia's latest zone: a NIP appointed "today" anywhere in Indonesia is valid.
pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&TimeZone::Jayapura.offset())
        .date_naive()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Reads and checks a whole roster; every bad row of the file is reported, not just the first.
pub fn read_roster(input: impl Read) -> Result<Vec<RosterRow>, OpsError> {
    let reader = RosterReader::new(input, today()).map_err(|e| {
        OpsError::Invalid(ValidationError::new("roster_header", "file", e.to_string()))
    })?;
    collect_rows(reader)
}

pub fn collect_rows(
    rows: impl Iterator<Item = Result<RosterRow, Vec<RowError>>>,
) -> Result<Vec<RosterRow>, OpsError> {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for item in rows {
        match item {
            Ok(row) => good.push(row),
            Err(errors) => bad.extend(errors),
        }
    }
    if bad.is_empty() {
        Ok(good)
    } else {
        Err(OpsError::Rows(bad))
    }
}

pub async fn import_roster(
    store: &dyn Store,
    instansi_id: i64,
    rows: &[RosterRow],
    deactivate_missing: bool,
    actor: &str,
) -> Result<ImportSummary, OpsError> {
    let summary = store
        .import_roster(instansi_id, rows, deactivate_missing, now())
        .await?;
    store
        .audit(
            Some(instansi_id),
            actor,
            "roster.import",
            &import_summary(rows.len(), &summary),
            now(),
        )
        .await?;
    Ok(summary)
}

/// One line for people: what an import did.
pub fn import_summary(rows: usize, s: &ImportSummary) -> String {
    format!(
        "{rows} baris diimpor: {} baru, {} diperbarui, {} dinonaktifkan, {} unit baru",
        s.created, s.updated, s.deactivated, s.units_created
    )
}

/// A refused roster leaves a trace in the audit trail too.
pub async fn record_rejection(
    store: &dyn Store,
    instansi_id: i64,
    actor: &str,
    bad_rows: usize,
) -> Result<(), OpsError> {
    store
        .audit(
            Some(instansi_id),
            actor,
            "roster.rejected",
            &format!("roster ditolak: {bad_rows} baris bermasalah; tidak ada yang diimpor"),
            now(),
        )
        .await?;
    Ok(())
}

/// What HR types to create a campaign.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct CampaignInput {
    pub template: String,
    pub title: String,
    pub place: String,
    pub opens: String,
    pub closes: String,
    #[serde(default)]
    pub units: Vec<String>,
    #[serde(default = "yes")]
    pub mark: bool,
    #[serde(default)]
    pub screen: bool,
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

pub async fn create_campaign(
    store: &dyn Store,
    instansi_id: i64,
    input: &CampaignInput,
    actor: &str,
) -> Result<i64, OpsError> {
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
                unit_ids,
            },
            now(),
        )
        .await?;
    store
        .audit(
            Some(instansi_id),
            actor,
            "campaign.create",
            &format!("kampanye {id}: {title}"),
            now(),
        )
        .await?;
    Ok(id)
}

pub async fn close_campaign(
    store: &dyn Store,
    c: &CampaignRow,
    actor: &str,
) -> Result<bool, OpsError> {
    let closed = store.close_campaign(c.id, now()).await?;
    if closed {
        store
            .audit(
                Some(c.instansi_id),
                actor,
                "campaign.close",
                &format!("kampanye {} ditutup", c.id),
                now(),
            )
            .await?;
    }
    Ok(closed)
}

/// One issued link, shown exactly once.
#[derive(Clone, Debug)]
pub struct Issued {
    pub number: String,
    pub name: String,
    pub unit: String,
    pub link: String,
}

pub async fn issue_invitations(
    store: &dyn Store,
    campaign: &CampaignRow,
    reissue: bool,
    nip: Option<&str>,
    url: &PublicUrl,
    actor: &str,
) -> Result<Vec<Issued>, OpsError> {
    let number = nip.map(|n| {
        n.chars()
            .filter(|c| !matches!(c, ' ' | '.'))
            .collect::<String>()
    });
    let issued = store
        .issue_invitations(campaign.id, reissue, number.as_deref(), now(), &token::mint)
        .await?;
    store
        .audit(
            Some(campaign.instansi_id),
            actor,
            "invitations.issue",
            &format!(
                "{} tautan {} untuk kampanye {}{}",
                issued.len(),
                if reissue {
                    "diterbitkan ulang"
                } else {
                    "diterbitkan"
                },
                campaign.id,
                nip.map(|n| format!(" (NIP {n})")).unwrap_or_default()
            ),
            now(),
        )
        .await?;
    Ok(issued
        .into_iter()
        .map(|(t, tok)| Issued {
            number: t.number,
            name: t.name,
            unit: t.unit,
            link: url.signing_link(&tok),
        })
        .collect())
}

/// `nip,nama,unit,link`, formula-safe.
pub fn invitations_csv(issued: &[Issued]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["nip", "nama", "unit", "link"])?;
    for i in issued {
        out.write_record([
            spreadsheet_safe(&i.number).as_ref(),
            spreadsheet_safe(&i.name).as_ref(),
            spreadsheet_safe(&i.unit).as_ref(),
            &i.link,
        ])?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// Printable QR slips (8 per A4 page) for links just issued, for staff who sign on a shared
/// device. Rendered off the async threads.
pub async fn slips_pdf(
    store: &dyn Store,
    campaign: &CampaignRow,
    issued: &[Issued],
) -> Result<Vec<u8>, OpsError> {
    let instansi = store
        .instansi_by_id(campaign.instansi_id)
        .await?
        .map(|i| i.name)
        .unwrap_or_default();
    let title = campaign.title.clone();
    let issued = issued.to_vec();
    tokio::task::spawn_blocking(move || {
        let slips: Vec<crate::render::pdf::slips::Slip> = issued
            .iter()
            .map(|i| crate::render::pdf::slips::Slip {
                name: &i.name,
                nip_display: &i.number,
                unit: &i.unit,
                link: &i.link,
            })
            .collect();
        crate::render::pdf::slips::render(&instansi, &title, &slips)
    })
    .await
    .map_err(|e| OpsError::Internal(format!("slip rendering failed: {e}")))?
    .map_err(|e| OpsError::Internal(format!("slip rendering failed: {e}")))
}

/// The compliance report of a campaign (SPEC 4.1): per unit, rolled up over the unit tree.
pub async fn compliance(
    store: &dyn Store,
    campaign: &CampaignRow,
) -> Result<crate::formats::export::Compliance, OpsError> {
    let units = store.units(campaign.instansi_id).await?;
    let counts: std::collections::HashMap<i64, (u64, u64)> = store
        .compliance_counts(campaign.id)
        .await?
        .into_iter()
        .map(|c| (c.unit_id, (c.target as u64, c.signed as u64)))
        .collect();
    let direct: Vec<(i64, String, Option<i64>, u64, u64)> = units
        .iter()
        .map(|u| {
            let (t, s) = counts.get(&u.id).copied().unwrap_or((0, 0));
            (u.id, u.name.clone(), u.parent_id, t, s)
        })
        .collect();
    let template = store
        .templates()
        .await?
        .into_iter()
        .find(|t| t.number == campaign.template_no)
        .map(|t| format!("{}@{}", t.code, t.version))
        .unwrap_or_default();
    Ok(crate::formats::export::Compliance {
        campaign_id: campaign.id,
        campaign_title: campaign.title.clone(),
        template,
        total_target: counts.values().map(|c| c.0).sum(),
        total_signed: counts.values().map(|c| c.1).sum(),
        units: crate::formats::export::roll_up(&direct),
    })
}

/// Every unsigned target person, read in pages so no query holds the whole list.
pub async fn unsigned_all(
    store: &dyn Store,
    campaign_id: i64,
) -> Result<Vec<crate::formats::export::UnsignedRow>, OpsError> {
    const PAGE: i64 = 50_000;
    let mut out = Vec::new();
    loop {
        let page = store
            .unsigned(campaign_id, None, PAGE, out.len() as i64)
            .await?;
        let n = page.len();
        out.extend(
            page.into_iter()
                .map(|u| crate::formats::export::UnsignedRow {
                    nip: u.number,
                    name: u.name,
                    unit: u.unit,
                    position: u.position.unwrap_or_default(),
                }),
        );
        if (n as i64) < PAGE {
            return Ok(out);
        }
    }
}

/// The XLSX export as bytes, written off the async threads through a temporary file
/// (rust_xlsxwriter's constant-memory mode streams rows to disk).
pub async fn compliance_xlsx(
    store: &dyn Store,
    campaign: &CampaignRow,
) -> Result<Vec<u8>, OpsError> {
    let report = compliance(store, campaign).await?;
    let unsigned = unsigned_all(store, campaign.id).await?;
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().map_err(|e| OpsError::Internal(e.to_string()))?;
        let path = dir.path().join("kepatuhan.xlsx");
        crate::formats::export::to_xlsx(&report, unsigned.into_iter(), &path)
            .map_err(|e| OpsError::Internal(e.to_string()))?;
        std::fs::read(&path).map_err(|e| OpsError::Internal(e.to_string()))
    })
    .await
    .map_err(|e| OpsError::Internal(e.to_string()))?
}
