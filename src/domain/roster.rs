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
}

/// One broken rule in one row. `column` is the column's header as written in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub code: &'static str,
    pub message: String,
}
