//! The compliance report's files (SPEC 4.1): CSV and XLSX of `domain::compliance`'s report,
//! and the unsigned list. Pure: the caller brings the report and the unsigned list, the
//! latter as an iterator so that a list of a million staff streams from the database into
//! the file without being held.
//!
//! Every text cell passes through [`text::spreadsheet_safe`] (SPEC 6). XLSX strings are
//! never read as formulas, but HR may save the sheet again as CSV, where they would be.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet};

use crate::domain::compliance::{Compliance, rate};
use crate::domain::text;

/// One target employee who has not signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsignedRow {
    /// The NIP digits, or the staff number of non-ASN staff.
    pub nip: String,
    pub name: String,
    pub unit: String,
    pub position: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("Berkas XLSX tidak dapat ditulis: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// Names of the XLSX sheets.
const SHEET_SUMMARY: &str = "Ringkasan";
const SHEET_UNITS: &str = "Per unit";
const SHEET_UNSIGNED: &str = "Belum menandatangani";
/// Data rows per sheet of the unsigned list: Excel's 1,048,576 rows less the header. A
/// longer list continues on "Belum menandatangani (2)", and so on.
const MAX_DATA_ROWS: u32 = 1_048_575;
/// Deeper units are indented no further; a sheet this deep is unreadable anyway.
const MAX_INDENT: u8 = 8;

/// How a CSV file is written: for programs and most spreadsheets, or for Excel set to
/// Indonesian, which reads `;` as the separator and `,` as the decimal mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsvDialect {
    /// `,` between cells, `0.6866`.
    Standard,
    /// `;` between cells, `0,6866`, and a UTF-8 byte order mark so that Excel reads the
    /// names' letters right.
    ExcelIndonesia,
}

/// The CSV header, in Indonesian like every file HR reads.
pub const CSV_HEADER: [&str; 6] = [
    "id_unit",
    "unit_kerja",
    "id_induk",
    "target",
    "sudah_menandatangani",
    "persentase",
];

/// The per-unit table as CSV: header [`CSV_HEADER`], one line per unit in the report's
/// order, then a `TOTAL` line. `persentase` is a fraction with four decimals, as `rate` in
/// the JSON report. Lines end in LF.
pub fn to_csv(c: &Compliance, dialect: CsvDialect) -> String {
    let sep = match dialect {
        CsvDialect::Standard => ',',
        CsvDialect::ExcelIndonesia => ';',
    };
    let mut out = String::with_capacity(64 + c.units.len() * 64);
    if dialect == CsvDialect::ExcelIndonesia {
        out.push('\u{feff}');
    }
    out.push_str(&CSV_HEADER.join(&sep.to_string()));
    out.push('\n');
    for u in &c.units {
        let parent = u.parent_id.map(|p| p.to_string()).unwrap_or_default();
        csv_line(
            &mut out,
            dialect,
            &u.id.to_string(),
            &u.name,
            &parent,
            u.target,
            u.signed,
        );
    }
    csv_line(
        &mut out,
        dialect,
        "",
        "TOTAL",
        "",
        c.total_target,
        c.total_signed,
    );
    out
}

fn csv_line(
    out: &mut String,
    dialect: CsvDialect,
    id: &str,
    name: &str,
    parent: &str,
    target: u64,
    signed: u64,
) {
    let sep = match dialect {
        CsvDialect::Standard => ',',
        CsvDialect::ExcelIndonesia => ';',
    };
    for cell in [id, name, parent] {
        csv_field(out, cell, sep);
        out.push(sep);
    }
    let share = format!("{:.4}", rate(signed, target));
    let share = match dialect {
        CsvDialect::Standard => share,
        CsvDialect::ExcelIndonesia => share.replace('.', ","),
    };
    // Writing to a String cannot fail.
    let _ = writeln!(out, "{target}{sep}{signed}{sep}{share}");
}

/// Appends a text cell, neutralised against formulas and quoted when it needs to be.
fn csv_field(out: &mut String, cell: &str, sep: char) {
    let cell = text::spreadsheet_safe(cell);
    if cell.contains([sep, '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&cell.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&cell);
    }
}

/// The whole report as an XLSX workbook at `out`: sheet "Ringkasan" (campaign, template,
/// totals, rate), sheet "Per unit" (one row per unit, numbers as numbers, rates as
/// percentages) and sheet "Belum menandatangani" (the unsigned list, in the iterator's
/// order).
///
/// The unsigned list is written in rust_xlsxwriter's constant-memory mode: each row goes
/// to a temporary file as soon as the next starts, and its strings are stored inline
/// rather than in a shared-strings table, so memory stays flat however long the list is.
pub fn to_xlsx(
    c: &Compliance,
    unsigned: impl Iterator<Item = UnsignedRow>,
    out: &Path,
) -> Result<(), ExportError> {
    let mut book = build_xlsx(c, unsigned, MAX_DATA_ROWS)?;
    book.save(out)?;
    Ok(())
}

/// The formats the workbook uses, made once.
struct Styles {
    title: Format,
    label: Format,
    header: Format,
    count: Format,
    percent: Format,
    total_label: Format,
    total_count: Format,
    total_percent: Format,
    /// The NIP column: text, so that Excel never turns an edited NIP into a number.
    nip: Format,
    /// Unit names indented by their depth in the tree.
    indents: Vec<Format>,
}

impl Styles {
    fn new() -> Styles {
        let header = Format::new()
            .set_bold()
            .set_background_color(Color::RGB(0xDCE6F1))
            .set_border_bottom(FormatBorder::Thin);
        let count = Format::new().set_num_format("#,##0");
        let percent = Format::new().set_num_format("0.0%");
        let total = |f: &Format| f.clone().set_bold().set_border_top(FormatBorder::Thin);
        Styles {
            title: Format::new().set_bold().set_font_size(14),
            label: Format::new().set_bold(),
            total_label: total(&Format::new()),
            total_count: total(&count),
            total_percent: total(&percent),
            header,
            count,
            percent,
            nip: Format::new().set_num_format("@"),
            indents: (0..=MAX_INDENT)
                .map(|d| Format::new().set_indent(d))
                .collect(),
        }
    }
}

fn build_xlsx(
    c: &Compliance,
    unsigned: impl Iterator<Item = UnsignedRow>,
    rows_per_sheet: u32,
) -> Result<Workbook, ExportError> {
    let styles = Styles::new();
    let mut book = Workbook::new();
    summary_sheet(book.add_worksheet(), c, &styles)?;
    units_sheet(book.add_worksheet(), c, &styles)?;

    let mut unsigned = unsigned.peekable();
    let mut part = 1u32;
    loop {
        let sheet = book.add_worksheet_with_constant_memory()?;
        if part == 1 {
            sheet.set_name(SHEET_UNSIGNED)?;
        } else {
            sheet.set_name(format!("{SHEET_UNSIGNED} ({part})"))?;
        }
        header_row(
            sheet,
            &["NIP / nomor pegawai", "Nama", "Unit kerja", "Jabatan"],
            &[22.0, 40.0, 45.0, 40.0],
            &styles,
        )?;
        let mut row = 1;
        while row <= rows_per_sheet {
            let Some(u) = unsigned.next() else { break };
            sheet.write_string_with_format(row, 0, text::spreadsheet_safe(&u.nip), &styles.nip)?;
            sheet.write_string(row, 1, text::spreadsheet_safe(&u.name))?;
            sheet.write_string(row, 2, text::spreadsheet_safe(&u.unit))?;
            sheet.write_string(row, 3, text::spreadsheet_safe(&u.position))?;
            row += 1;
        }
        if part == 1 && row == 1 {
            sheet.write_string(1, 0, "Semua pegawai target sudah menandatangani.")?;
        }
        if unsigned.peek().is_none() {
            break;
        }
        part += 1;
    }
    Ok(book)
}

fn summary_sheet(sheet: &mut Worksheet, c: &Compliance, s: &Styles) -> Result<(), ExportError> {
    sheet.set_name(SHEET_SUMMARY)?;
    sheet.set_column_width(0, 26)?;
    sheet.set_column_width(1, 60)?;
    sheet.write_string_with_format(0, 0, "Laporan kepatuhan ikrar", &s.title)?;
    let texts = [
        ("Kampanye", text::spreadsheet_safe(&c.campaign_title)),
        ("Templat", text::spreadsheet_safe(&c.template)),
    ];
    sheet.write_string_with_format(2, 0, "Nomor kampanye", &s.label)?;
    sheet.write_number_with_format(
        2,
        1,
        c.campaign_id as f64,
        &Format::new().set_align(FormatAlign::Left),
    )?;
    for (row, (label, value)) in (3..).zip(texts) {
        sheet.write_string_with_format(row, 0, label, &s.label)?;
        sheet.write_string(row, 1, value)?;
    }
    let counts = [
        ("Target", c.total_target),
        ("Sudah menandatangani", c.total_signed),
        (
            "Belum menandatangani",
            c.total_target.saturating_sub(c.total_signed),
        ),
    ];
    // Left-aligned like the texts above them: right-aligned in a wide column, the
    // numbers would sit far from their labels.
    let count = s.count.clone().set_align(FormatAlign::Left);
    for (row, (label, n)) in (6..).zip(counts) {
        sheet.write_string_with_format(row, 0, label, &s.label)?;
        sheet.write_number_with_format(row, 1, n as f64, &count)?;
    }
    sheet.write_string_with_format(9, 0, "Persentase", &s.label)?;
    sheet.write_number_with_format(
        9,
        1,
        rate(c.total_signed, c.total_target),
        &s.percent.clone().set_align(FormatAlign::Left),
    )?;
    Ok(())
}

fn units_sheet(sheet: &mut Worksheet, c: &Compliance, s: &Styles) -> Result<(), ExportError> {
    sheet.set_name(SHEET_UNITS)?;
    header_row(
        sheet,
        &[
            "ID unit",
            "Unit kerja",
            "ID induk",
            "Target",
            "Sudah menandatangani",
            "Belum menandatangani",
            "Persentase",
        ],
        &[9.0, 50.0, 9.0, 11.0, 13.0, 13.0, 12.0],
        s,
    )?;
    let mut depth: HashMap<i64, u8> = HashMap::with_capacity(c.units.len());
    let mut row = 1;
    for u in &c.units {
        let d = u
            .parent_id
            .and_then(|p| depth.get(&p))
            .map_or(0, |d| d.saturating_add(1).min(MAX_INDENT));
        depth.insert(u.id, d);
        sheet.write_number(row, 0, u.id as f64)?;
        sheet.write_string_with_format(
            row,
            1,
            text::spreadsheet_safe(&u.name),
            &s.indents[usize::from(d)],
        )?;
        if let Some(p) = u.parent_id {
            sheet.write_number(row, 2, p as f64)?;
        }
        count_cells(sheet, row, u.target, u.signed, &s.count, &s.percent)?;
        row += 1;
    }
    if row > 1 {
        sheet.autofilter(0, 0, row - 1, 6)?;
    }
    sheet.write_blank(row, 0, &s.total_label)?;
    sheet.write_string_with_format(row, 1, "TOTAL", &s.total_label)?;
    sheet.write_blank(row, 2, &s.total_label)?;
    count_cells(
        sheet,
        row,
        c.total_target,
        c.total_signed,
        &s.total_count,
        &s.total_percent,
    )?;
    Ok(())
}

/// Target, signed, not yet signed and rate, from column 3 on.
fn count_cells(
    sheet: &mut Worksheet,
    row: u32,
    target: u64,
    signed: u64,
    count: &Format,
    percent: &Format,
) -> Result<(), ExportError> {
    sheet.write_number_with_format(row, 3, target as f64, count)?;
    sheet.write_number_with_format(row, 4, signed as f64, count)?;
    sheet.write_number_with_format(row, 5, target.saturating_sub(signed) as f64, count)?;
    sheet.write_number_with_format(row, 6, rate(signed, target), percent)?;
    Ok(())
}

/// A bold header row that stays in view while scrolling.
fn header_row(
    sheet: &mut Worksheet,
    titles: &[&str],
    widths: &[f64],
    s: &Styles,
) -> Result<(), ExportError> {
    for (col, (title, width)) in (0..).zip(titles.iter().zip(widths)) {
        sheet.set_column_width(col, *width)?;
        sheet.write_string_with_format(0, col, *title, &s.header)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first unexpected result"
)]
mod tests;
