//! Roster files as HR has them: CSV (simple or SIASN, `,` or `;`, with or without BOM) or XLSX
//! (first sheet), recognised by their first bytes. Reading streams the file; the terminal
//! shows a progress bar when there is one.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use crate::domain::ValidationError;
use crate::domain::roster::{RosterError, RosterFileKind, RosterRow, XlsxRoster, sniff};
use crate::service::ops::{OpsError, collect_rows, read_roster, today};

fn unreadable(path: &Path, e: impl std::fmt::Display) -> OpsError {
    OpsError::Invalid(ValidationError::new(
        "file_unreadable",
        "file",
        format!("Berkas {} tidak dapat dibaca: {e}", path.display()),
    ))
}

fn header(e: RosterError) -> OpsError {
    OpsError::Invalid(ValidationError::new("roster_header", "file", e.to_string()))
}

/// Reads and checks a roster file. All-or-nothing: any bad row makes it an error listing
/// every bad row.
pub fn read_path(path: &Path, progress: bool) -> Result<Vec<RosterRow>, OpsError> {
    let mut file = File::open(path).map_err(|e| unreadable(path, e))?;
    let mut head = [0u8; 4];
    let n = file.read(&mut head).map_err(|e| unreadable(path, e))?;
    if sniff(&head[..n]) == RosterFileKind::Xlsx {
        let mut book = XlsxRoster::open(path).map_err(header)?;
        return collect_rows(book.rows(today()).map_err(header)?);
    }
    let file = File::open(path).map_err(|e| unreadable(path, e))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = if progress {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} memeriksa {bytes}/{total_bytes} [{bar:30}] {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let result = read_roster(bar.wrap_read(BufReader::new(file)));
    bar.finish_and_clear();
    result
}

/// Reads and checks a roster sent over HTTP.
pub fn read_bytes(bytes: &[u8]) -> Result<Vec<RosterRow>, OpsError> {
    if sniff(bytes) == RosterFileKind::Xlsx {
        let mut book = XlsxRoster::new(std::io::Cursor::new(bytes)).map_err(header)?;
        return collect_rows(book.rows(today()).map_err(header)?);
    }
    read_roster(bytes)
}
