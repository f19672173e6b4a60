//! Compliance of a campaign (SPEC 4.1): the per-unit report, the unsigned list, and the
//! CSV/XLSX exports HR downloads (each download audited).

use std::collections::HashMap;

use crate::domain::compliance::{Compliance, DirectCount, roll_up};
use crate::domain::unit::UnitTree;
use crate::formats::export::{self, CsvDialect, UnsignedRow};
use crate::service::audit;
use crate::service::campaign::unit_tree;
use crate::service::error::{ServiceError, ServiceResult, blocking};
use crate::store::{CampaignRow, Store, UnsignedEntry};

/// The compliance report of a campaign: per unit, rolled up over the unit tree.
pub async fn report(store: &dyn Store, campaign: &CampaignRow) -> ServiceResult<Compliance> {
    let units = store.units(campaign.instansi_id).await?;
    let tree = UnitTree::new(units.iter().map(|u| (u.id, u.name.clone(), u.parent_id)));
    // A campaign for some units reports on those units (and their sub-units) only.
    let covered = tree.covered(&store.campaign_unit_ids(campaign.id).await?);
    let counts: HashMap<i64, (u64, u64)> = store
        .compliance_counts(campaign.id)
        .await?
        .into_iter()
        .map(|c| (c.unit_id, (c.target as u64, c.signed as u64)))
        .collect();
    let direct: Vec<DirectCount> = units
        .iter()
        .filter(|u| covered.contains(&u.id))
        .map(|u| {
            let (target, signed) = counts.get(&u.id).copied().unwrap_or((0, 0));
            DirectCount {
                id: u.id,
                name: tree.label(u.id),
                parent_id: u.parent_id,
                target,
                signed,
            }
        })
        .collect();
    let template = store
        .templates()
        .await?
        .into_iter()
        .find(|t| t.number == campaign.template_no)
        .map(|t| format!("{}@{}", t.code, t.version))
        .unwrap_or_default();
    Ok(Compliance {
        campaign_id: campaign.id,
        campaign_title: campaign.title.clone(),
        template,
        total_target: counts.values().map(|c| c.0).sum(),
        total_signed: counts.values().map(|c| c.1).sum(),
        units: roll_up(&direct),
    })
}

/// One page of who has not signed, optionally in one unit of the campaign's instansi.
pub async fn unsigned_page(
    store: &dyn Store,
    campaign: &CampaignRow,
    unit: Option<i64>,
    page: i64,
    per_page: i64,
) -> ServiceResult<Vec<UnsignedEntry>> {
    if let Some(unit) = unit
        && !store
            .units(campaign.instansi_id)
            .await?
            .iter()
            .any(|u| u.id == unit)
    {
        return Err(ServiceError::unknown());
    }
    let page = page.max(1);
    let tree = unit_tree(store, campaign.instansi_id).await?;
    Ok(store
        // A page far past the end (or past i64) is simply empty.
        .unsigned(
            campaign.id,
            unit,
            per_page,
            (page - 1).saturating_mul(per_page),
        )
        .await?
        .into_iter()
        .map(|u| UnsignedEntry {
            unit: tree.label(u.unit_id),
            ..u
        })
        .collect())
}

/// Every unsigned target person, read in pages so no query holds the whole list.
pub async fn unsigned_all(
    store: &dyn Store,
    campaign: &CampaignRow,
) -> ServiceResult<Vec<UnsignedRow>> {
    const PAGE: i64 = 50_000;
    let mut out = Vec::new();
    let tree = unit_tree(store, campaign.instansi_id).await?;
    loop {
        let page = store
            .unsigned(campaign.id, None, PAGE, out.len() as i64)
            .await?;
        let n = page.len();
        out.extend(page.into_iter().map(|u| UnsignedRow {
            nip: u.number,
            name: u.name,
            unit: tree.label(u.unit_id),
            position: u.position.unwrap_or_default(),
        }));
        if (n as i64) < PAGE {
            return Ok(out);
        }
    }
}

/// The file formats HR exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    /// CSV for Excel set to Indonesian: `;` and decimal commas.
    CsvExcel,
    Xlsx,
}

impl ExportFormat {
    /// `csv`, `csv-excel` or `xlsx`, as the API and the CLI name them.
    pub fn parse(s: &str) -> Option<ExportFormat> {
        match s {
            "csv" => Some(ExportFormat::Csv),
            "csv-excel" => Some(ExportFormat::CsvExcel),
            "xlsx" => Some(ExportFormat::Xlsx),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv | ExportFormat::CsvExcel => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }

    /// What the file is called for `campaign`.
    pub fn file_name(self, campaign: i64) -> String {
        match self {
            ExportFormat::CsvExcel => format!("kepatuhan-kampanye-{campaign}-excel.csv"),
            f => format!("kepatuhan-kampanye-{campaign}.{}", f.extension()),
        }
    }
}

/// The compliance export as a file's bytes, audited as a download. XLSX is written off the
/// async threads through a temporary file (rust_xlsxwriter's constant-memory mode streams
/// rows to disk).
pub async fn export(
    store: &dyn Store,
    campaign: &CampaignRow,
    format: ExportFormat,
    actor: &str,
) -> ServiceResult<Vec<u8>> {
    let report = report(store, campaign).await?;
    let bytes = match format {
        ExportFormat::Csv => export::to_csv(&report, CsvDialect::Standard).into_bytes(),
        ExportFormat::CsvExcel => export::to_csv(&report, CsvDialect::ExcelIndonesia).into_bytes(),
        ExportFormat::Xlsx => {
            let unsigned = unsigned_all(store, campaign).await?;
            blocking("writing the XLSX export", move || {
                let dir = tempfile::tempdir()?;
                let path = dir.path().join("kepatuhan.xlsx");
                export::to_xlsx(&report, unsigned.into_iter(), &path)
                    .map_err(std::io::Error::other)?;
                std::fs::read(&path)
            })
            .await?
            .map_err(|e| ServiceError::internal("writing the XLSX export", e))?
        }
    };
    audit::record(
        store,
        Some(campaign.instansi_id),
        actor,
        "export.compliance",
        &format!(
            "ekspor kepatuhan kampanye {} ({})",
            campaign.id,
            format.extension()
        ),
    )
    .await?;
    Ok(bytes)
}
