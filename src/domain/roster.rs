//! A staff roster row as HR's file gives it, once every per-row rule has passed, and the
//! shape of a broken rule. Reading files (CSV, XLSX) is `formats::roster`'s job.

use super::nip::{EmployeeKind, StaffId};

/// Longest name, unit or position accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 255;

/// A unit as named by the roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitRef {
    /// `unorId` when the file has one, otherwise the normalized unit name.
    pub key: String,
    pub name: String,
}

/// One valid data row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterRow {
    /// Physical line where the record starts; the header is line 1.
    pub line: u64,
    pub kind: EmployeeKind,
    pub id: StaffId,
    pub name: String,
    pub unit: UnitRef,
    /// The parent unit, when the file names one that differs from the unit.
    pub parent_unit: Option<UnitRef>,
    pub position: Option<String>,
    /// HR-only contact data for reminders.
    pub contact: Contact,
}

/// A row's contact columns (SPEC 4.1). The outer `None` means the file has no such
/// column, so a re-import without it keeps what is stored; `Some(None)` is an empty cell,
/// which clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contact {
    pub email: Option<Option<String>>,
    /// Normalised (`62…`), see [`super::contact::parse_mobile`].
    pub telepon: Option<Option<String>>,
}

/// One broken rule in one row. `column` is the column's header as written in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub code: &'static str,
    pub message: String,
}

/// At most this many row errors are collected from one file; the rest of the file is then
/// only counted, so that a file of bad rows costs bounded memory and a bounded answer.
pub const MAX_ROW_ERRORS: usize = 1_000;

/// Why a roster's rows were refused: the first [`MAX_ROW_ERRORS`] broken rules, and how
/// many data lines after the last reported one were not checked at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowErrors {
    pub errors: Vec<RowError>,
    pub unchecked_lines: u64,
}

impl RowErrors {
    /// One sentence for people, the same in every way in.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} kesalahan ditemukan; tidak ada data yang diimpor.",
            self.errors.len()
        );
        if self.unchecked_lines > 0 {
            s.push_str(&format!(
                " Pemeriksaan dihentikan setelah {MAX_ROW_ERRORS} kesalahan pertama; {} baris \
                 berikutnya belum diperiksa.",
                self.unchecked_lines
            ));
        }
        s
    }
}
