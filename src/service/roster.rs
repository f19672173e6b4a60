//! Roster import (SPEC 4.1): read a CSV or XLSX file, refuse it whole if any row is bad,
//! otherwise create, update and optionally deactivate staff. The CLI, the HR API and the
//! admin page all import through [`import`], so a file means the same thing everywhere.

use std::path::PathBuf;
use std::sync::Arc;

use crate::domain::ValidationError;
use crate::domain::instansi::today_in_indonesia;
use crate::domain::roster::RosterRow;
use crate::formats::roster::{self as file, RosterInput, RosterRefused};
use crate::service::audit;
use crate::service::error::{ServiceError, ServiceResult, blocking};
use crate::store::{ImportSummary, ROSTER_CHUNK, Store};

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

impl Source {
    fn input(&self) -> RosterInput<'_> {
        match self {
            Source::Path { path, progress } => RosterInput::Path {
                path,
                progress: *progress,
            },
            Source::Bytes(bytes) => RosterInput::Bytes(bytes),
        }
    }
}

/// Chunks in flight between the reading thread and the store.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Imports a roster all-or-nothing, in two passes over the file so that its rows are never
/// all in memory: the first checks every row (without touching the store, so signing goes
/// on meanwhile), the second reads the file again and streams its rows in chunks into one
/// write transaction. A file with bad rows is refused with its first errors (SPEC 4.1
/// bounds them), and the refusal is in the audit trail too.
pub async fn import(
    store: &dyn Store,
    instansi_id: i64,
    source: Source,
    options: ImportOptions,
    actor: &str,
) -> ServiceResult<ImportOutcome> {
    let today = today_in_indonesia();
    let source = Arc::new(source);
    let checked = {
        let source = Arc::clone(&source);
        blocking("checking a roster", move || {
            file::check(&source.input(), today)
        })
        .await?
    };
    let rows = match checked {
        Ok(rows) => rows,
        Err(RosterRefused::Rows(bad)) => {
            audit::record(
                store,
                Some(instansi_id),
                actor,
                "roster.rejected",
                &format!(
                    "roster ditolak: {} kesalahan, {} baris tidak diperiksa; tidak ada yang diimpor",
                    bad.errors.len(),
                    bad.unchecked_lines
                ),
            )
            .await?;
            return Err(ServiceError::Rows(bad));
        }
        Err(e) => return Err(e.into()),
    };
    if options.dry_run {
        return Ok(ImportOutcome {
            rows: rows as usize,
            summary: None,
        });
    }

    let mut import = store.begin_roster_import(instansi_id, audit::now()).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<RosterRow>>(CHUNKS_IN_FLIGHT);
    let reader = tokio::task::spawn_blocking(move || {
        file::read_chunks(&source.input(), today, ROSTER_CHUNK, |chunk| {
            tx.blocking_send(chunk).is_ok()
        })
    });
    let mut failed = None;
    while let Some(chunk) = rx.recv().await {
        if let Err(e) = import.add(&chunk).await {
            failed = Some(e);
            break;
        }
    }
    // Closing the channel stops the reader if the store failed first.
    drop(rx);
    let read = reader
        .await
        .map_err(|e| ServiceError::internal("reading a roster", e))?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    match read {
        Ok(n) if n == rows => {}
        // The file changed between the passes (a file on disk being rewritten): the
        // transaction is dropped, so nothing is imported.
        Ok(_) | Err(RosterRefused::Rows(_)) => {
            return Err(ValidationError::new(
                "roster_changed",
                "file",
                "Berkas roster berubah selama impor; tidak ada data yang diimpor. Impor ulang \
                 berkasnya.",
            )
            .into());
        }
        Err(e) => return Err(e.into()),
    }
    let summary = import.finish(options.deactivate_missing).await?;
    let rows = rows as usize;
    audit::record(
        store,
        Some(instansi_id),
        actor,
        "roster.import",
        &summary_line(rows, &summary),
    )
    .await?;
    Ok(ImportOutcome {
        rows,
        summary: Some(summary),
    })
}
