//! Roster import (SPEC 4.1): read a CSV or XLSX file, refuse it whole if any row is bad,
//! otherwise create, update and optionally deactivate staff. The CLI, the HR API and the
//! admin page all import through [`import`], so a file means the same thing everywhere.

use std::path::PathBuf;

use crate::domain::instansi::today_in_indonesia;
use crate::domain::roster::RosterRow;
use crate::formats::roster::{self as file, RosterRefused};
use crate::service::audit;
use crate::service::error::{ServiceError, ServiceResult, blocking};
use crate::store::{ImportSummary, Store};

/// Where the roster comes from.
pub enum Source {
    /// A file on disk (the CLI); `progress` shows a bar on the terminal.
    Path { path: PathBuf, progress: bool },
    /// An uploaded body (the API and the admin page).
    Bytes(Vec<u8>),
}

#[derive(Clone, Copy, Debug, Default)]
pub struct ImportOptions {
    /// Check every row, import nothing.
    pub dry_run: bool,
    /// Staff of the instansi missing from the file become inactive.
    pub deactivate_missing: bool,
}

/// What an import did; `summary` is `None` for a dry run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOutcome {
    pub rows: usize,
    pub summary: Option<ImportSummary>,
}

impl ImportOutcome {
    /// One line for people, the same in every way in.
    pub fn message(&self) -> String {
        match &self.summary {
            None => format!(
                "Pemeriksaan selesai: {} baris sah; tidak ada yang diimpor (uji coba).",
                self.rows
            ),
            Some(s) => summary_line(self.rows, s),
        }
    }
}

fn summary_line(rows: usize, s: &ImportSummary) -> String {
    format!(
        "{rows} baris diimpor: {} baru, {} diperbarui, {} dinonaktifkan, {} unit baru",
        s.created, s.updated, s.deactivated, s.units_created
    )
}

impl From<RosterRefused> for ServiceError {
    fn from(r: RosterRefused) -> ServiceError {
        match r {
            RosterRefused::File(e) => ServiceError::Invalid(e),
            RosterRefused::Rows(rows) => ServiceError::Rows(rows),
        }
    }
}

/// Reads and checks a roster without touching the store.
pub async fn read(source: Source) -> ServiceResult<Vec<RosterRow>> {
    let today = today_in_indonesia();
    let parsed = blocking("reading a roster", move || match source {
        Source::Path { path, progress } => file::read_path(&path, progress, today),
        Source::Bytes(bytes) => file::read_bytes(&bytes, today),
    })
    .await?;
    Ok(parsed?)
}

/// Imports a roster all-or-nothing. A file with bad rows is refused with every bad row, and
/// the refusal is in the audit trail too.
pub async fn import(
    store: &dyn Store,
    instansi_id: i64,
    source: Source,
    options: ImportOptions,
    actor: &str,
) -> ServiceResult<ImportOutcome> {
    let rows = match read(source).await {
        Ok(rows) => rows,
        Err(ServiceError::Rows(bad)) => {
            audit::record(
                store,
                Some(instansi_id),
                actor,
                "roster.rejected",
                &format!(
                    "roster ditolak: {} baris bermasalah; tidak ada yang diimpor",
                    bad.len()
                ),
            )
            .await?;
            return Err(ServiceError::Rows(bad));
        }
        Err(e) => return Err(e),
    };
    if options.dry_run {
        return Ok(ImportOutcome {
            rows: rows.len(),
            summary: None,
        });
    }
    import_rows(store, instansi_id, &rows, options.deactivate_missing, actor).await
}

/// Imports rows already read and checked.
pub async fn import_rows(
    store: &dyn Store,
    instansi_id: i64,
    rows: &[RosterRow],
    deactivate_missing: bool,
    actor: &str,
) -> ServiceResult<ImportOutcome> {
    let summary = store
        .import_roster(instansi_id, rows, deactivate_missing, audit::now())
        .await?;
    audit::record(
        store,
        Some(instansi_id),
        actor,
        "roster.import",
        &summary_line(rows.len(), &summary),
    )
    .await?;
    Ok(ImportOutcome {
        rows: rows.len(),
        summary: Some(summary),
    })
}
