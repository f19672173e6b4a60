//! Reading a staff roster from CSV or from the first sheet of an XLSX workbook, one row at
//! a time: file-kind sniffing, format and separator detection, header matching, and every
//! per-row rule of a roster import (SPEC 4 and 6). Both file kinds feed the same row
//! checker, so a row means the same thing whichever program saved it. The readers never
//! hold the file; they remember only the identifiers seen, to report duplicates.
//!
//! Two layouts are understood: our simple `nip,nama,jenis,unit,jabatan`, and SIASN-style
//! exports (`nipBaru`, `nama`, `jenisPegawaiNama`, `unorId`, `unorNama`, `unorIndukId`,
//! `unorIndukNama`, `jabatanNama`, …). Both may carry the optional contact columns `email`
//! and `telepon` (SIASN: `email`, `noHp`). Whether to write anything is the caller's decision:
//! an import is all-or-nothing, so any error item means nothing is imported.
//!
//! SIASN's `nipLama` and `kedudukanPnsNama` are not read: the old NIP identifies nobody
//! any more, and which statuses count as active is HR's choice when exporting.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek};
use std::path::Path;

use calamine::{DataRef, Reader, Xlsx, XlsxCellReader, XlsxError};
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};

use crate::domain::ValidationError;
use crate::domain::contact;
use crate::domain::nip::{EmployeeKind, StaffId};
use crate::domain::roster::{
    Contact, MAX_ROW_ERRORS, MAX_TEXT_CHARS, RosterRow, RowError, RowErrors, UnitRef,
};
use crate::domain::text;
use crate::formats::xlsx_limits::{self, Limits};

/// Longest header line accepted; a header is a few hundred bytes at most.
const MAX_HEADER_BYTES: u64 = 64 * 1024;

/// A column's header as repeated in its row errors.
const MAX_COLUMN_NAME_BYTES: usize = 64;

/// Longest message of one row error: the messages are fixed sentences with short values,
/// and this keeps it so whatever a cell holds.
const MAX_ERROR_MESSAGE_BYTES: usize = 512;

/// Columns a sheet may have (Excel's own limit, XFD); a cell beyond is refused rather than
/// sizing a header row by an attacker's column number.
const MAX_SHEET_COLUMNS: u32 = 16_384;

const NOT_UTF8: &str = "Isi kolom ini bukan teks UTF-8 (biasanya karena berkas disimpan sebagai \
                        \"CSV\" biasa). Di Excel, simpan dengan pilihan \"CSV UTF-8 (Comma \
                        delimited)\", lalu unggah kembali.";

/// Which layout a roster file uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RosterFormat {
    /// `nip,nama,jenis,unit,jabatan`
    Simple,
    /// SIASN export columns.
    Siasn,
}

/// A problem with the file as a whole. The messages are Indonesian sentences for HR.
#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    /// The header line is missing, unreadable or lacks required columns.
    #[error("{0}")]
    Header(String),
    #[error("Berkas tidak dapat dibaca: {0}")]
    Io(#[from] io::Error),
    #[error("Berkas CSV tidak dapat dibaca di sekitar baris {line}: {source}")]
    Csv {
        line: u64,
        #[source]
        source: csv::Error,
    },
    #[error(
        "Berkas XLSX tidak dapat dibaca ({0}). Buka berkas di Excel, simpan ulang sebagai Buku \
         Kerja Excel (.xlsx) tanpa kata sandi, lalu unggah kembali."
    )]
    Xlsx(#[from] XlsxError),
    /// A limit of SPEC 4.1 (decompressed size, cell size), with its own code.
    #[error("{}", .0.message)]
    Refused(ValidationError),
}

/// A column the reader uses, whichever layout names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    Nip,
    Name,
    Kind,
    Unit,
    UnitId,
    ParentId,
    ParentName,
    Position,
    Email,
    Phone,
}

const COLS: usize = 10;

/// (header key, canonical spelling for messages, column, required)
type Layout = &'static [(&'static str, &'static str, Col, bool)];

const SIMPLE: Layout = &[
    ("nip", "nip", Col::Nip, true),
    ("nama", "nama", Col::Name, true),
    ("jenis", "jenis", Col::Kind, true),
    ("unit", "unit", Col::Unit, true),
    ("jabatan", "jabatan", Col::Position, false),
    ("email", "email", Col::Email, false),
    ("telepon", "telepon", Col::Phone, false),
];

const SIASN: Layout = &[
    ("nipbaru", "nipBaru", Col::Nip, true),
    ("nama", "nama", Col::Name, true),
    ("jenispegawainama", "jenisPegawaiNama", Col::Kind, true),
    ("unornama", "unorNama", Col::Unit, true),
    ("unorid", "unorId", Col::UnitId, false),
    ("unorindukid", "unorIndukId", Col::ParentId, false),
    ("unorinduknama", "unorIndukNama", Col::ParentName, false),
    ("jabatannama", "jabatanNama", Col::Position, false),
    ("email", "email", Col::Email, false),
    ("nohp", "noHp", Col::Phone, false),
];

/// Headers match regardless of case, spaces and underscores.
fn header_key(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '\u{FEFF}')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where each used column sits, and its header as written.
struct Columns {
    index: [Option<usize>; COLS],
    name: [String; COLS],
}

impl Columns {
    fn from_header(headers: &[String]) -> Result<(RosterFormat, Columns), RosterError> {
        let keys: Vec<String> = headers.iter().map(|h| header_key(h)).collect();
        let has = |k: &str| keys.iter().any(|x| x == k);
        let format =
            if has("nipbaru") || (!has("nip") && (has("jenispegawainama") || has("unornama"))) {
                RosterFormat::Siasn
            } else {
                RosterFormat::Simple
            };
        let layout = match format {
            RosterFormat::Simple => SIMPLE,
            RosterFormat::Siasn => SIASN,
        };
        let mut columns = Columns {
            index: [None; COLS],
            name: Default::default(),
        };
        let mut missing = Vec::new();
        for &(key, spelling, col, required) in layout {
            let found: Vec<usize> = keys
                .iter()
                .enumerate()
                .filter(|(_, k)| k.as_str() == key)
                .map(|(i, _)| i)
                .collect();
            match found.as_slice() {
                [] if required => missing.push(spelling),
                [] => {}
                [i] => {
                    columns.index[col as usize] = Some(*i);
                    // A header is echoed in every error of its column: keep it short.
                    columns.name[col as usize] =
                        text::cut_utf8(headers[*i].trim(), MAX_COLUMN_NAME_BYTES).to_owned();
                }
                [a, b, ..] => {
                    return Err(RosterError::Header(format!(
                        "Kolom \"{spelling}\" muncul lebih dari sekali (kolom ke-{} dan ke-{}). \
                         Hapus salah satunya, lalu unggah kembali.",
                        a + 1,
                        b + 1
                    )));
                }
            }
        }
        if !missing.is_empty() {
            return Err(RosterError::Header(format!(
                "Kolom wajib tidak ditemukan: {}. Pastikan baris pertama berkas berisi judul kolom: \
                 format sederhana \"nip, nama, jenis, unit, jabatan\", atau ekspor SIASN \
                 \"nipBaru, nama, jenisPegawaiNama, unorId, unorNama, unorIndukNama, jabatanNama\".",
                missing.join(", ")
            )));
        }
        Ok((format, columns))
    }
}

/// Picks `;` when the header line has more of them than commas outside quotes.
fn sniff_delimiter(line: &[u8]) -> u8 {
    let (mut commas, mut semicolons, mut quoted) = (0usize, 0usize, false);
    for &b in line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { b';' } else { b',' }
}

/// The header line already read, the rest of the input, and a final line feed (see
/// [`RosterReader::new`]).
type Source<R> = io::Chain<io::Chain<Cursor<Vec<u8>>, BufReader<R>>, &'static [u8]>;

/// Streams [`RosterRow`]s out of a CSV roster. See the module documentation.
pub struct RosterReader<R: Read> {
    csv: csv::Reader<Source<R>>,
    checker: RowChecker,
    record: csv::ByteRecord,
    done: bool,
}

impl<R: Read> RosterReader<R> {
    /// Reads and checks the header. `today` is the server's date, for the NIP rules.
    pub fn new(input: R, today: NaiveDate) -> Result<Self, RosterError> {
        let mut input = BufReader::new(input);
        let mut first = Vec::new();
        (&mut input)
            .take(MAX_HEADER_BYTES)
            .read_until(b'\n', &mut first)?;
        if first.len() as u64 >= MAX_HEADER_BYTES && !first.ends_with(b"\n") {
            return Err(RosterError::Header(
                "Baris pertama berkas terlalu panjang untuk sebuah baris judul kolom. \
                 Pastikan berkas yang diunggah adalah roster dalam format CSV."
                    .to_owned(),
            ));
        }
        if let Some(rest) = first.strip_prefix(b"\xEF\xBB\xBF") {
            first = rest.to_vec();
        }
        let delimiter = sniff_delimiter(&first);
        // The csv crate reports where it started reading, which is before any skipped blank
        // line and, with CRLF, before the previous record's LF. Line numbers are therefore
        // computed from where a record ends, which is exact only if every record ends in a
        // consumed LF: LF alone terminates records (a CR stays in the last cell, where
        // normalisation removes it) and an LF is appended after the input (a blank line
        // at worst, and blank lines are skipped).
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(Cursor::new(first).chain(input).chain(&b"\n"[..]));

        let mut header = csv::ByteRecord::new();
        let found = csv
            .read_byte_record(&mut header)
            .map_err(|e| csv_error(e, 1))?;
        if !found || header.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            return Err(RosterError::Header(
                "Berkas kosong atau baris pertamanya kosong. Baris pertama harus berisi judul kolom, \
                 misalnya \"nip,nama,jenis,unit,jabatan\"."
                    .to_owned(),
            ));
        }
        let headers = header
            .iter()
            .map(|f| std::str::from_utf8(f).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                RosterError::Header(
                    "Baris judul kolom bukan teks UTF-8. Di Excel, simpan berkas dengan pilihan \
                     \"CSV UTF-8 (Comma delimited)\", lalu unggah kembali."
                        .to_owned(),
                )
            })?;
        let (format, columns) = Columns::from_header(&headers)?;
        Ok(RosterReader {
            csv,
            checker: RowChecker::new(format, columns, today),
            record: csv::ByteRecord::new(),
            done: false,
        })
    }

    pub fn format(&self) -> RosterFormat {
        self.checker.format
    }
}

/// One used column's cell, as a file gave it.
enum Cell<'a> {
    Text(Cow<'a, str>),
    /// A spreadsheet number: plain text in most columns, but a NIP that has lost digits.
    Number(f64),
    /// CSV bytes that are not UTF-8.
    NotUtf8,
    /// A value no column can use (a spreadsheet date or error value), already explained.
    Unusable {
        code: &'static str,
        message: String,
    },
}

/// The rules every data row passes, whatever the file kind: one instance per file, because
/// duplicates are judged against the rows before.
struct RowChecker {
    format: RosterFormat,
    columns: Columns,
    today: NaiveDate,
    /// First line of each NIP seen; NIPs are kept as integers to keep a national roster's
    /// set small.
    seen_nips: HashMap<u64, u64>,
    seen_staff: HashMap<String, u64>,
}

impl RowChecker {
    fn new(format: RosterFormat, columns: Columns, today: NaiveDate) -> Self {
        RowChecker {
            format,
            columns,
            today,
            seen_nips: HashMap::new(),
            seen_staff: HashMap::new(),
        }
    }

    /// Checks one row, given the cells of the used columns (`None` for a column the file
    /// lacks); every column is checked so that HR can fix a row at once.
    fn check(
        &mut self,
        line: u64,
        cells: [Option<Cell<'_>>; COLS],
    ) -> Result<RosterRow, Vec<RowError>> {
        let mut errors = Vec::new();
        let mut texts: [Option<Cow<'_, str>>; COLS] = Default::default();
        for (i, cell) in cells.into_iter().enumerate() {
            let (code, message) = match cell {
                None => continue,
                Some(Cell::Text(s)) => {
                    texts[i] = Some(s);
                    continue;
                }
                Some(Cell::Number(n)) if i == Col::Nip as usize => {
                    ("nip_excel_number", excel_number_message(n))
                }
                Some(Cell::Number(n)) => {
                    texts[i] = Some(Cow::Owned(n.to_string()));
                    continue;
                }
                Some(Cell::NotUtf8) => ("not_utf8", NOT_UTF8.to_owned()),
                Some(Cell::Unusable { code, message }) => (code, message),
            };
            errors.push(RowError {
                line,
                column: self.columns.name[i].clone(),
                code,
                message,
            });
        }
        let values: [Option<&str>; COLS] = std::array::from_fn(|i| texts[i].as_deref());
        let column = |c: Col| self.columns.name[c as usize].clone();
        let mut fail = |c: Col, code: &'static str, message: String| {
            errors.push(RowError {
                line,
                column: column(c),
                code,
                message,
            })
        };
        // Text columns: cleaned, with None for an absent or undecodable column.
        let text = |c: Col, fail: &mut dyn FnMut(Col, &'static str, String)| -> Option<String> {
            let raw = values[c as usize]?;
            match text::clean(raw, "") {
                Err(e) => {
                    fail(c, e.code, e.message);
                    None
                }
                Ok(s) if s.chars().count() > MAX_TEXT_CHARS => {
                    fail(
                        c,
                        "text_too_long",
                        format!(
                            "Isi kolom ini terlalu panjang ({} karakter; paling banyak {MAX_TEXT_CHARS}). \
                             Periksa apakah isi beberapa kolom tergabung, lalu perbaiki.",
                            s.chars().count()
                        ),
                    );
                    None
                }
                Ok(s) => Some(s),
            }
        };

        let kind_raw = values[Col::Kind as usize];
        let kind = kind_raw.and_then(EmployeeKind::parse);
        if let (None, Some(raw)) = (kind, kind_raw) {
            let shown = text::normalize(text::cut_utf8(raw, 40));
            let message = if shown.is_empty() {
                "Jenis pegawai wajib diisi: PNS, PPPK, atau NON_ASN.".to_owned()
            } else {
                format!(
                    "Jenis pegawai \"{shown}\" tidak dikenal. Isi dengan PNS, PPPK, atau NON_ASN \
                     (nama dari SIASN seperti \"PNS Daerah\" juga diterima)."
                )
            };
            fail(Col::Kind, "kind_unknown", message);
        }

        let name = text(Col::Name, &mut fail);
        if name.as_deref() == Some("") {
            fail(
                Col::Name,
                "name_required",
                "Nama pegawai wajib diisi, lengkap dengan gelar seperti tertulis di SK.".to_owned(),
            );
        }
        let unit_name = text(Col::Unit, &mut fail);
        if unit_name.as_deref() == Some("") {
            fail(
                Col::Unit,
                "unit_required",
                "Unit kerja wajib diisi dengan nama unit kerja (OPD) pegawai.".to_owned(),
            );
        }
        let unit_id = text(Col::UnitId, &mut fail).filter(|s| !s.is_empty());
        let parent_id = text(Col::ParentId, &mut fail).filter(|s| !s.is_empty());
        let parent_name = text(Col::ParentName, &mut fail).filter(|s| !s.is_empty());
        let position = text(Col::Position, &mut fail).filter(|s| !s.is_empty());
        // Contact cells: a bad one is named by row and column, never echoed (SPEC 6).
        let mut contact_cell = |c: Col, parse: fn(&str) -> Result<String, ValidationError>| {
            match text(c, &mut fail)? {
                s if s.is_empty() => Some(None),
                s => match parse(&s) {
                    Ok(v) => Some(Some(v)),
                    Err(e) => {
                        fail(c, e.code, e.message);
                        None
                    }
                },
            }
        };
        let contact = Contact {
            email: contact_cell(Col::Email, contact::parse_email),
            telepon: contact_cell(Col::Phone, contact::parse_mobile),
        };

        let mut id = None;
        if let (Some(kind), Some(raw)) = (kind, values[Col::Nip as usize]) {
            match StaffId::parse(kind, raw, self.today) {
                Err(e) => fail(Col::Nip, e.code, e.message),
                Ok(staff_id) => {
                    let earlier = match &staff_id {
                        StaffId::Nip(n) => first_line(self.seen_nips.entry(n.to_u64()), line),
                        StaffId::Staff(s) => {
                            first_line(self.seen_staff.entry(s.as_str().to_owned()), line)
                        }
                    };
                    match earlier {
                        Some(earlier) => {
                            let what = match staff_id {
                                StaffId::Nip(_) => "NIP",
                                StaffId::Staff(_) => "Nomor pegawai",
                            };
                            fail(
                                Col::Nip,
                                "nip_duplicate",
                                format!(
                                    "{what} ini sudah tercantum di baris {earlier}. Setiap pegawai hanya \
                                     boleh tercantum sekali; hapus atau perbaiki salah satu baris."
                                ),
                            );
                        }
                        None => id = Some(staff_id),
                    }
                }
            }
        }

        match (kind, id, name, unit_name) {
            (Some(kind), Some(id), Some(name), Some(unit_name))
                if errors.is_empty() && !name.is_empty() && !unit_name.is_empty() =>
            {
                let unit = UnitRef {
                    key: unit_id.clone().unwrap_or_else(|| unit_name.clone()),
                    name: unit_name,
                };
                // A parent named only by its id cannot be created as a unit, so it is left out.
                let parent_unit = parent_name.and_then(|pname| {
                    let same = match (&parent_id, &unit_id) {
                        (Some(p), Some(u)) => p == u,
                        _ => pname == unit.name,
                    };
                    (!same).then(|| UnitRef {
                        key: parent_id.unwrap_or_else(|| pname.clone()),
                        name: pname,
                    })
                });
                Ok(RosterRow {
                    line,
                    kind,
                    id,
                    name,
                    unit,
                    parent_unit,
                    position,
                    contact,
                })
            }
            _ => Err(errors),
        }
    }
}

/// The used columns' cells of a CSV record; a short record's missing cells are empty.
fn csv_cells<'r>(columns: &Columns, record: &'r csv::ByteRecord) -> [Option<Cell<'r>>; COLS] {
    std::array::from_fn(|c| {
        let i = columns.index[c]?;
        let bytes = record.get(i).unwrap_or_default();
        Some(match std::str::from_utf8(bytes) {
            Ok(s) => Cell::Text(Cow::Borrowed(s)),
            Err(_) => Cell::NotUtf8,
        })
    })
}

/// Why a NIP cell holding a spreadsheet number is refused, showing the number as Excel
/// kept it so that HR recognises the row.
fn excel_number_message(n: f64) -> String {
    format!(
        "NIP tersimpan sebagai angka ({n}), bukan teks. Excel hanya menyimpan 15 digit pertama \
         sebuah angka, sehingga digit terakhir NIP sudah hilang (begitu pula angka 0 di depan \
         nomor pegawai). Ubah format kolom NIP menjadi Teks (Format Cells \u{2192} Text), ketik \
         ulang atau tempel ulang NIP dari sumber aslinya, lalu simpan dan unggah kembali."
    )
}

/// Records `line` as the first occurrence, or returns the earlier line.
fn first_line<K>(entry: Entry<'_, K, u64>, line: u64) -> Option<u64> {
    match entry {
        Entry::Occupied(e) => Some(*e.get()),
        Entry::Vacant(e) => {
            e.insert(line);
            None
        }
    }
}

fn csv_error(e: csv::Error, fallback_line: u64) -> RosterError {
    RosterError::Csv {
        line: e.position().map_or(fallback_line, |p| p.line()),
        source: e,
    }
}

/// One item per data row: the row, or every error found in that row. Rows whose cells are
/// all empty (Excel often leaves some at the end) are skipped. A read failure in the
/// middle of the file is reported as a row error with code `file_unreadable` on the line
/// where it happened, and ends the iteration.
impl<R: Read> Iterator for RosterReader<R> {
    type Item = Result<RosterRow, Vec<RowError>>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.csv.read_byte_record(&mut self.record) {
                Ok(false) => self.done = true,
                Err(e) => {
                    self.done = true;
                    let line = e
                        .position()
                        .map_or_else(|| self.csv.position().line(), |p| p.line());
                    return Some(Err(vec![RowError {
                        line,
                        column: String::new(),
                        code: "file_unreadable",
                        message: format!(
                            "Berkas tidak dapat dibaca sampai selesai ({}). Simpan ulang berkas \
                             sebagai CSV UTF-8, lalu unggah kembali.",
                            csv_error(e, line)
                        ),
                    }]));
                }
                Ok(true) => {
                    if self
                        .record
                        .iter()
                        .all(|f| f.iter().all(u8::is_ascii_whitespace))
                    {
                        continue;
                    }
                    let embedded = self
                        .record
                        .as_slice()
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count();
                    let line = self
                        .csv
                        .position()
                        .line()
                        .saturating_sub(1 + embedded as u64)
                        // Only a quote left open at the end of the file ends a record
                        // without an LF; where the read started then bounds the line.
                        .max(self.record.position().map_or(0, |p| p.line()));
                    let cells = csv_cells(&self.checker.columns, &self.record);
                    return Some(self.checker.check(line, cells));
                }
            }
        }
        None
    }
}

// ---------------------------------------------------------------------------------------
// XLSX

/// Which reader a roster file needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RosterFileKind {
    Csv,
    Xlsx,
}

/// Tells the kind of a roster file from its first bytes (four are enough). An XLSX file is
/// a ZIP archive, which starts with a local file header `PK\x03\x04`; no CSV roster starts
/// with those control bytes, so everything else is read as CSV and judged by its header.
pub fn sniff(prefix: &[u8]) -> RosterFileKind {
    if prefix.starts_with(b"PK\x03\x04") {
        RosterFileKind::Xlsx
    } else {
        RosterFileKind::Csv
    }
}

/// An XLSX workbook whose first sheet is a roster. [`XlsxRoster::rows`] reads that sheet.
///
/// The sheet is streamed cell by cell from the archive (calamine's cell reader), never
/// loaded as a whole range; what stays in memory is the workbook's shared-strings table,
/// which calamine reads on opening to resolve text cells. A roster's memory therefore
/// grows with its distinct texts, not with its cells.
pub struct XlsxRoster<RS: Read + Seek> {
    book: Xlsx<RS>,
}

impl XlsxRoster<BufReader<File>> {
    pub fn open(path: &Path) -> Result<Self, RosterError> {
        Self::new(BufReader::new(File::open(path)?))
    }
}

impl<RS: Read + Seek> XlsxRoster<RS> {
    /// Checks the archive against SPEC 4.1's limits, then reads the workbook's directory,
    /// shared strings and styles.
    pub fn new(input: RS) -> Result<Self, RosterError> {
        Self::with_limits(input, &Limits::SPEC)
    }

    /// [`XlsxRoster::new`] with other limits (tests use small ones).
    pub fn with_limits(mut input: RS, limits: &Limits) -> Result<Self, RosterError> {
        xlsx_limits::check(&mut input, limits).map_err(RosterError::Refused)?;
        input.seek(io::SeekFrom::Start(0))?;
        Ok(XlsxRoster {
            book: Xlsx::new(input)?,
        })
    }

    /// Reads and checks the first sheet's header row (row 1). The rows that follow are
    /// checked exactly as [`RosterReader`] checks CSV records; a row's line is its
    /// spreadsheet row number.
    pub fn rows(&mut self, today: NaiveDate) -> Result<XlsxRows<'_, RS>, RosterError> {
        let Some(first) = self.book.sheet_names().into_iter().next() else {
            return Err(RosterError::Header(
                "Berkas XLSX tidak berisi lembar kerja (sheet). Simpan roster di lembar \
                 pertama, lalu unggah kembali."
                    .to_owned(),
            ));
        };
        let mut sheet = SheetRows {
            cells: self.book.worksheet_cells_reader(&first)?,
            pending: None,
            row: Vec::new(),
            last_row: 0,
            ended: false,
        };
        let header_row = sheet.next_row()?;
        if header_row != Some(0) || sheet.is_blank() {
            return Err(RosterError::Header(
                "Lembar pertama berkas kosong atau baris pertamanya kosong. Baris pertama harus \
                 berisi judul kolom, misalnya \"nip, nama, jenis, unit, jabatan\"."
                    .to_owned(),
            ));
        }
        let width = sheet.row.iter().map(|&(c, _)| c as usize + 1).max();
        let mut headers = vec![String::new(); width.unwrap_or(0)];
        for (c, value) in &sheet.row {
            headers[*c as usize] = match value {
                DataRef::String(s) => s.clone(),
                DataRef::SharedString(s) => (*s).to_owned(),
                DataRef::Float(n) => n.to_string(),
                DataRef::Int(n) => n.to_string(),
                _ => String::new(),
            };
        }
        let (format, columns) = Columns::from_header(&headers)?;
        let mut slots = vec![None; headers.len()];
        for (col, index) in columns.index.iter().enumerate() {
            if let Some(i) = *index {
                slots[i] = Some(col);
            }
        }
        Ok(XlsxRows {
            sheet,
            checker: RowChecker::new(format, columns, today),
            slots,
            done: false,
        })
    }
}

/// A sheet's cells, grouped into rows as they stream out of the archive.
struct SheetRows<'a, RS: Read + Seek> {
    cells: XlsxCellReader<'a, RS>,
    /// The first cell of the next row, read while looking for the end of the current one.
    pending: Option<calamine::Cell<DataRef<'a>>>,
    /// The current row: (0-based column, value).
    row: Vec<(u32, DataRef<'a>)>,
    /// 0-based row of the last cell read, to place a read failure.
    last_row: u32,
    ended: bool,
}

impl<'a, RS: Read + Seek> SheetRows<'a, RS> {
    /// Reads the next row that has any cell into `self.row`; returns its 0-based index.
    fn next_row(&mut self) -> Result<Option<u32>, XlsxError> {
        self.row.clear();
        let Some(first) = self
            .pending
            .take()
            .map_or_else(|| self.next_cell(), |c| Ok(Some(c)))?
        else {
            return Ok(None);
        };
        let (row, col) = first.get_position();
        self.row.push((col, first.get_value().clone()));
        while let Some(cell) = self.next_cell()? {
            let (r, c) = cell.get_position();
            if r != row {
                self.pending = Some(cell);
                break;
            }
            self.row.push((c, cell.get_value().clone()));
        }
        Ok(Some(row))
    }

    /// The next cell, or `None` once the sheet's data has ended. Asking calamine again
    /// after that would read on past the sheet data and fail.
    fn next_cell(&mut self) -> Result<Option<calamine::Cell<DataRef<'a>>>, XlsxError> {
        if self.ended {
            return Ok(None);
        }
        let cell = self.cells.next_cell()?;
        match &cell {
            Some(c) if c.get_position().1 >= MAX_SHEET_COLUMNS => {
                self.ended = true;
                return Err(XlsxError::Unexpected(
                    "sel berada di luar kolom terakhir Excel (XFD)",
                ));
            }
            Some(c) => self.last_row = c.get_position().0,
            None => self.ended = true,
        }
        Ok(cell)
    }

    /// Whether every cell of the current row is empty or white space; Excel often keeps
    /// formatted but empty rows at the end of a sheet.
    fn is_blank(&self) -> bool {
        self.row.iter().all(|(_, value)| match value {
            DataRef::Empty => true,
            DataRef::String(s) => s.trim().is_empty(),
            DataRef::SharedString(s) => s.trim().is_empty(),
            _ => false,
        })
    }
}

/// The used columns' cells of a sheet row; a column the header has but the row leaves
/// out is empty.
fn xlsx_cells<'r>(
    columns: &Columns,
    slots: &[Option<usize>],
    row: &'r [(u32, DataRef<'_>)],
) -> [Option<Cell<'r>>; COLS] {
    let mut cells: [Option<Cell<'r>>; COLS] =
        std::array::from_fn(|c| columns.index[c].map(|_| Cell::Text(Cow::Borrowed(""))));
    for (c, value) in row {
        if let Some(Some(slot)) = slots.get(*c as usize) {
            cells[*slot] = Some(xlsx_cell(value));
        }
    }
    cells
}

fn xlsx_cell<'r>(value: &'r DataRef<'_>) -> Cell<'r> {
    match value {
        DataRef::Empty => Cell::Text(Cow::Borrowed("")),
        DataRef::String(s) => Cell::Text(Cow::Borrowed(s)),
        DataRef::SharedString(s) => Cell::Text(Cow::Borrowed(s)),
        DataRef::Float(n) => Cell::Number(*n),
        // Only integers that fit a double exactly reach a sheet; a NIP never gets here
        // without having lost digits already.
        DataRef::Int(n) => Cell::Number(*n as f64),
        DataRef::Bool(b) => Cell::Text(Cow::Borrowed(if *b { "TRUE" } else { "FALSE" })),
        DataRef::DateTime(_) | DataRef::DateTimeIso(_) | DataRef::DurationIso(_) => {
            Cell::Unusable {
                code: "cell_date",
                message: "Excel membaca isi sel ini sebagai tanggal atau waktu, bukan teks. Ubah \
                          format kolom ini menjadi Teks (Format Cells \u{2192} Text), ketik ulang \
                          isinya, lalu simpan dan unggah kembali."
                    .to_owned(),
            }
        }
        DataRef::Error(e) => Cell::Unusable {
            code: "cell_error",
            message: format!(
                "Sel ini berisi galat Excel ({e}), biasanya dari rumus yang rusak. Ganti isinya \
                 dengan teks biasa, lalu simpan dan unggah kembali."
            ),
        },
    }
}

/// Streams the rows of an XLSX roster's first sheet; see [`XlsxRoster::rows`]. Items as
/// [`RosterReader`]'s: rows whose cells are all empty are skipped, and a read failure in
/// the middle of the sheet is a `file_unreadable` row error that ends the iteration.
pub struct XlsxRows<'a, RS: Read + Seek> {
    sheet: SheetRows<'a, RS>,
    checker: RowChecker,
    /// For each sheet column under the header, the used column it holds.
    slots: Vec<Option<usize>>,
    done: bool,
}

impl<RS: Read + Seek> XlsxRows<'_, RS> {
    pub fn format(&self) -> RosterFormat {
        self.checker.format
    }
}

impl<RS: Read + Seek> Iterator for XlsxRows<'_, RS> {
    type Item = Result<RosterRow, Vec<RowError>>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.sheet.next_row() {
                Ok(None) => self.done = true,
                Err(e) => {
                    self.done = true;
                    return Some(Err(vec![RowError {
                        line: u64::from(self.sheet.last_row) + 1,
                        column: String::new(),
                        code: "file_unreadable",
                        message: format!(
                            "Berkas tidak dapat dibaca sampai selesai ({e}). Buka berkas di Excel, \
                             simpan ulang sebagai Buku Kerja Excel (.xlsx), lalu unggah kembali."
                        ),
                    }]));
                }
                Ok(Some(row)) => {
                    if self.sheet.is_blank() {
                        continue;
                    }
                    let cells = xlsx_cells(&self.checker.columns, &self.slots, &self.sheet.row);
                    return Some(self.checker.check(u64::from(row) + 1, cells));
                }
            }
        }
        None
    }
}

// ---- Whole files: sniffing, progress, bounded error collection, chunks ----

/// Why a roster file was refused; nothing of it is imported either way.
#[derive(Debug)]
pub enum RosterRefused {
    /// The file as a whole: unreadable, over a limit, or its header lacks required columns.
    File(ValidationError),
    /// The first [`MAX_ROW_ERRORS`] bad rows' errors, and how many lines went unchecked.
    Rows(RowErrors),
}

/// A roster reader of either kind, as the whole-file passes use it.
trait RowSource: Iterator<Item = Result<RosterRow, Vec<RowError>>> {
    /// Reads the rest without checking, and counts its data rows (rows with any content).
    fn count_rest(&mut self) -> u64;
}

impl<R: Read> RowSource for RosterReader<R> {
    fn count_rest(&mut self) -> u64 {
        let mut n = 0;
        while !self.done {
            match self.csv.read_byte_record(&mut self.record) {
                Ok(true) => {
                    if !self
                        .record
                        .iter()
                        .all(|f| f.iter().all(u8::is_ascii_whitespace))
                    {
                        n += 1;
                    }
                }
                Ok(false) | Err(_) => self.done = true,
            }
        }
        n
    }
}

impl<RS: Read + Seek> RowSource for XlsxRows<'_, RS> {
    fn count_rest(&mut self) -> u64 {
        let mut n = 0;
        while !self.done {
            match self.sheet.next_row() {
                Ok(Some(_)) => {
                    if !self.sheet.is_blank() {
                        n += 1;
                    }
                }
                Ok(None) | Err(_) => self.done = true,
            }
        }
        n
    }
}

/// A roster file: on disk (the CLI), or an uploaded body.
pub enum RosterInput<'a> {
    Path { path: &'a Path, progress: bool },
    Bytes(&'a [u8]),
}

fn unreadable(path: &Path, e: impl std::fmt::Display) -> RosterRefused {
    RosterRefused::File(ValidationError::new(
        "file_unreadable",
        "file",
        format!("Berkas {} tidak dapat dibaca: {e}", path.display()),
    ))
}

fn header(e: RosterError) -> RosterRefused {
    match e {
        RosterError::Refused(v) => RosterRefused::File(v),
        e => RosterRefused::File(ValidationError::new("roster_header", "file", e.to_string())),
    }
}

/// Opens `input` (sniffing CSV or XLSX, checking an XLSX's limits and the header) and hands
/// its rows to `work`. `stage` names the pass on the CLI's progress bar.
fn with_rows<T>(
    input: &RosterInput<'_>,
    today: NaiveDate,
    stage: &str,
    work: impl FnOnce(&mut dyn RowSource) -> T,
) -> Result<T, RosterRefused> {
    match *input {
        RosterInput::Bytes(bytes) => {
            if sniff(bytes) == RosterFileKind::Xlsx {
                let mut book = XlsxRoster::new(Cursor::new(bytes)).map_err(header)?;
                let mut rows = book.rows(today).map_err(header)?;
                return Ok(work(&mut rows));
            }
            let mut rows = RosterReader::new(bytes, today).map_err(header)?;
            Ok(work(&mut rows))
        }
        RosterInput::Path { path, progress } => {
            let mut file = File::open(path).map_err(|e| unreadable(path, e))?;
            let mut head = [0u8; 4];
            let n = file.read(&mut head).map_err(|e| unreadable(path, e))?;
            if sniff(&head[..n]) == RosterFileKind::Xlsx {
                let mut book = XlsxRoster::open(path).map_err(header)?;
                let mut rows = book.rows(today).map_err(header)?;
                return Ok(work(&mut rows));
            }
            let file = File::open(path).map_err(|e| unreadable(path, e))?;
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            let bar = if progress {
                ProgressBar::new(len)
            } else {
                ProgressBar::hidden()
            };
            bar.set_style(
                ProgressStyle::with_template(&format!(
                    "{{spinner}} {stage} {{bytes}}/{{total_bytes}} [{{bar:30}}] {{eta}}"
                ))
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let result = RosterReader::new(bar.wrap_read(BufReader::new(file)), today)
                .map_err(header)
                .map(|mut rows| work(&mut rows));
            bar.finish_and_clear();
            result
        }
    }
}

/// A row error as reported: its message bounded, whatever the cell held.
fn bounded(mut e: RowError) -> RowError {
    if e.message.len() > MAX_ERROR_MESSAGE_BYTES {
        let cut = text::cut_utf8(&e.message, MAX_ERROR_MESSAGE_BYTES - 3).len();
        e.message.truncate(cut);
        e.message.push_str("...");
    }
    e
}

/// Checks every row, keeping at most [`MAX_ROW_ERRORS`] errors; past that, the rest of the
/// file is only counted. Valid rows go to `good` as they come. Memory: the duplicate
/// check's identifiers and the errors, never the rows.
fn check_rows(
    rows: &mut dyn RowSource,
    mut good: impl FnMut(RosterRow) -> bool,
) -> Result<u64, RowErrors> {
    let mut bad = RowErrors::default();
    let mut count = 0u64;
    while let Some(item) = rows.next() {
        match item {
            Ok(row) => {
                count += 1;
                if bad.errors.is_empty() && !good(row) {
                    break;
                }
            }
            Err(errors) => {
                let room = MAX_ROW_ERRORS - bad.errors.len();
                bad.errors
                    .extend(errors.into_iter().take(room).map(bounded));
                if bad.errors.len() >= MAX_ROW_ERRORS {
                    bad.unchecked_lines = rows.count_rest();
                    break;
                }
            }
        }
    }
    if bad.errors.is_empty() {
        Ok(count)
    } else {
        Err(bad)
    }
}

/// The validation pass: checks a whole roster and returns how many valid rows it has, or
/// why it is refused. Holds no rows.
pub fn check(input: &RosterInput<'_>, today: NaiveDate) -> Result<u64, RosterRefused> {
    with_rows(input, today, "memeriksa", |rows| check_rows(rows, |_| true))?
        .map_err(RosterRefused::Rows)
}

/// The import pass: reads the roster again and hands its rows to `send` in chunks of
/// `chunk` rows; `send` returns false to stop. Returns the number of rows sent. Any bad
/// row (a file that changed since [`check`]) refuses the file; the caller must then drop
/// what it received.
pub fn read_chunks(
    input: &RosterInput<'_>,
    today: NaiveDate,
    chunk: usize,
    mut send: impl FnMut(Vec<RosterRow>) -> bool,
) -> Result<u64, RosterRefused> {
    with_rows(input, today, "mengimpor", |rows| {
        let mut buf = Vec::with_capacity(chunk);
        let mut open = true;
        let result = check_rows(rows, |row| {
            buf.push(row);
            if buf.len() >= chunk {
                open = send(std::mem::replace(&mut buf, Vec::with_capacity(chunk)));
            }
            open
        });
        if result.is_ok() && open && !buf.is_empty() {
            send(buf);
        }
        result
    })?
    .map_err(RosterRefused::Rows)
}

/// Reads and checks a whole roster into memory: for small rosters (tests, fixtures).
pub fn read_all(
    input: &RosterInput<'_>,
    today: NaiveDate,
) -> Result<Vec<RosterRow>, RosterRefused> {
    let mut all = Vec::new();
    read_chunks(input, today, 1024, |chunk| {
        all.extend(chunk);
        true
    })?;
    Ok(all)
}

/// Reads and checks a whole CSV roster into memory (see [`read_all`]).
pub fn read_csv(mut input: impl Read, today: NaiveDate) -> Result<Vec<RosterRow>, RosterRefused> {
    let mut rows = RosterReader::new(&mut input, today).map_err(header)?;
    let mut all = Vec::new();
    check_rows(&mut rows, |row| {
        all.push(row);
        true
    })
    .map_err(RosterRefused::Rows)?;
    Ok(all)
}

/// Reads and checks a roster sent over HTTP into memory (see [`read_all`]).
pub fn read_bytes(bytes: &[u8], today: NaiveDate) -> Result<Vec<RosterRow>, RosterRefused> {
    read_all(&RosterInput::Bytes(bytes), today)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first unexpected result"
)]
mod tests {
    use super::*;
    use crate::domain::nip::Nip;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()
    }

    fn read(input: &[u8]) -> (RosterFormat, Vec<Result<RosterRow, Vec<RowError>>>) {
        let reader = RosterReader::new(input, today()).unwrap();
        let format = reader.format();
        (format, reader.collect())
    }

    fn header_error(input: &[u8]) -> String {
        match RosterReader::new(input, today()) {
            Err(RosterError::Header(m)) => m,
            Err(e) => panic!("expected a header error, got {e:?}"),
            Ok(_) => panic!("expected a header error"),
        }
    }

    const SIMPLE_500_BAD_10: &[u8] =
        include_bytes!("../../tests/vectors/roster/simple-500-bad10.csv");
    /// `gen_roster.py --rows 500 --bad 10 --seed 7`, its stderr.
    const SIMPLE_500_BAD_10_EXPECTED: &str =
        include_str!("../../tests/vectors/roster/simple-500-bad10.expected");
    /// `gen_roster.py --rows 40 --format siasn --delimiter ';' --seed 3`
    const SIASN_40: &[u8] = include_bytes!("../../tests/vectors/roster/siasn-40-semicolon.csv");
    /// `gen_roster.py --rows 40 --non-asn 0.3 --seed 5`
    const SIMPLE_40_NON_ASN: &[u8] =
        include_bytes!("../../tests/vectors/roster/simple-40-nonasn.csv");

    #[test]
    fn reports_exactly_the_generated_bad_lines() {
        let expected: Vec<u64> = SIMPLE_500_BAD_10_EXPECTED
            .lines()
            .filter_map(|l| l.strip_prefix("bad row ")?.split(':').next()?.parse().ok())
            .collect();
        assert_eq!(expected.len(), 10);
        let (format, items) = read(SIMPLE_500_BAD_10);
        assert_eq!(format, RosterFormat::Simple);
        assert_eq!(items.len(), 500);
        let bad: Vec<u64> = items
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|errors| {
                assert!(
                    errors
                        .iter()
                        .all(|e| e.column == "nip" && e.line == errors[0].line)
                );
                errors[0].line
            })
            .collect();
        assert_eq!(bad, expected);
        for (i, item) in items.iter().enumerate() {
            if let Ok(row) = item {
                assert_eq!(row.line, i as u64 + 2);
            }
        }
    }

    #[test]
    fn parses_siasn_with_semicolons_and_bom() {
        let mut input = b"\xEF\xBB\xBF".to_vec();
        input.extend_from_slice(SIASN_40);
        let (format, items) = read(&input);
        assert_eq!(format, RosterFormat::Siasn);
        assert_eq!(items.len(), 40);
        let rows: Vec<RosterRow> = items.into_iter().map(Result::unwrap).collect();
        let first = &rows[0];
        assert_eq!(first.line, 2);
        assert_eq!(first.kind, EmployeeKind::Pns);
        assert_eq!(first.id.as_str(), "198905312013062641");
        assert_eq!(first.name, "Dr. Anisa Santoso, S.E.");
        assert_eq!(
            first.unit,
            UnitRef {
                key: "A5EB03E20004".to_owned(),
                name: "Badan Keuangan Daerah".to_owned()
            }
        );
        // The generator's parent is the unit itself.
        assert_eq!(first.parent_unit, None);
        assert_eq!(first.position.as_deref(), Some("Perencana Ahli Muda"));
        assert!(rows.iter().any(|r| r.kind == EmployeeKind::Pppk));
    }

    #[test]
    fn siasn_parent_unit_differing_from_unit_is_kept() {
        let input = "nipBaru,nama,jenisPegawaiNama,unorId,unorNama,unorIndukId,unorIndukNama,jabatanNama\n\
                     198503302010011001,Budi,PNS Daerah,U2,Bidang TIK,U1,Dinas Kominfo,\n";
        let (_, items) = read(input.as_bytes());
        let row = items[0].clone().unwrap();
        assert_eq!(row.unit.key, "U2");
        assert_eq!(
            row.parent_unit,
            Some(UnitRef {
                key: "U1".to_owned(),
                name: "Dinas Kominfo".to_owned()
            })
        );
        assert_eq!(row.position, None);
    }

    #[test]
    fn matches_header_variants() {
        for header in [
            "NIP Baru;Nama;Jenis Pegawai Nama;Unor Nama",
            "nip_baru;NAMA;jenis_pegawai_nama;unor_nama",
            " nipBaru ; nama ; jenisPegawaiNama ; unorNama ",
        ] {
            let input = format!("{header}\n198503302010011001;Budi;PNS;Dinas Kesehatan\n");
            let (format, items) = read(input.as_bytes());
            assert_eq!(format, RosterFormat::Siasn, "{header}");
            let row = items[0].clone().unwrap();
            assert_eq!(row.unit.key, "Dinas Kesehatan");
        }
    }

    #[test]
    fn reads_non_asn_rows() {
        let (_, items) = read(SIMPLE_40_NON_ASN);
        let rows: Vec<RosterRow> = items.into_iter().map(Result::unwrap).collect();
        let non_asn: Vec<&RosterRow> = rows
            .iter()
            .filter(|r| r.kind == EmployeeKind::NonAsn)
            .collect();
        assert!(!non_asn.is_empty());
        for r in non_asn {
            assert!(r.id.as_str().starts_with("TKPK/"));
            assert_eq!(r.id.record_nip(), 0);
        }
    }

    #[test]
    fn refuses_nik_like_staff_number() {
        let input = "nip,nama,jenis,unit,jabatan\n3372010101900001,Sri,NON_ASN,Dinas Sosial,\n";
        let (_, items) = read(input.as_bytes());
        let errors = items[0].clone().unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code, "staff_number_nik");
        assert_eq!(errors[0].column, "nip");
        assert_eq!(errors[0].line, 2);
    }

    #[test]
    fn refuses_nip_in_excel_scientific_notation() {
        let input = "nip;nama;jenis;unit\n1,98503E+17;Budi;PNS;Dinas Sosial\n\"1.98503E+17\";Sri;PNS;Dinas Sosial\n";
        let (_, items) = read(input.as_bytes());
        for item in &items {
            let errors = item.clone().unwrap_err();
            assert_eq!(errors[0].code, "nip_excel_number");
        }
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn reads_contact_columns_and_names_bad_cells_by_row_and_column_without_echoing_them() {
        let (_, items) = read(
            b"nip,nama,jenis,unit,email,telepon\n\
              199403142015021375,Bayu,PNS,Dinkes,bayu@dinkes.go.id,0812-1111-0001\n\
              198909202022011971,Ani,PNS,Dinkes,ani(at)dinkes,0271 123456\n",
        );
        let first = items[0].as_ref().unwrap();
        assert_eq!(
            first.contact.email.as_ref().unwrap().as_deref(),
            Some("bayu@dinkes.go.id")
        );
        assert_eq!(
            first.contact.telepon.as_ref().unwrap().as_deref(),
            Some("6281211110001")
        );
        let errors = items[1].as_ref().unwrap_err();
        let named: Vec<(u64, &str, &str)> = errors
            .iter()
            .map(|e| (e.line, e.column.as_str(), e.code))
            .collect();
        assert_eq!(
            named,
            [
                (3, "email", "email_invalid"),
                (3, "telepon", "telepon_invalid")
            ]
        );
        assert!(
            errors
                .iter()
                .all(|e| !e.message.contains("ani(at)") && !e.message.contains("0271"))
        );
        // A file without the columns says nothing about contact data (a re-import keeps it).
        let (_, items) = read(b"nip,nama,jenis,unit\n199403142015021375,Bayu,PNS,Dinkes\n");
        assert_eq!(items[0].as_ref().unwrap().contact, Contact::default());
    }

    #[test]
    fn reports_every_error_in_a_row() {
        let input = "NIP,Nama,Jenis,Unit,Jabatan\n198503302010131001,,Honorer,,\n";
        let (_, items) = read(input.as_bytes());
        let errors = items[0].clone().unwrap_err();
        let codes: Vec<(&str, &str)> = errors.iter().map(|e| (e.column.as_str(), e.code)).collect();
        assert!(codes.contains(&("Jenis", "kind_unknown")));
        assert!(codes.contains(&("Nama", "name_required")));
        assert!(codes.contains(&("Unit", "unit_required")));
        // Without a known kind the identifier cannot be judged.
        assert_eq!(errors.len(), 3);

        let input = "nip,nama,jenis,unit\n198503302010131001,,PNS,\n";
        let (_, items) = read(input.as_bytes());
        let codes: Vec<&str> = items[0]
            .clone()
            .unwrap_err()
            .iter()
            .map(|e| e.code)
            .collect();
        assert_eq!(codes.len(), 3);
        assert!(codes.contains(&"nip_tmt_month"));
    }

    #[test]
    fn reports_kind_contradicting_digit_13() {
        let input = "nip,nama,jenis,unit\n198503302010011001,Budi,PPPK,Dinas Sosial\n";
        let (_, items) = read(input.as_bytes());
        assert_eq!(items[0].clone().unwrap_err()[0].code, "kind_mismatch");
    }

    #[test]
    fn reports_duplicate_on_the_later_line_naming_the_earlier() {
        let input = "nip,nama,jenis,unit\n\
                     198503302010011001,Budi,PNS,A\n\
                     TK-1,Sri,NON_ASN,A\n\
                     19850330 201001 1 001,Budi S,PNS,B\n\
                     TK-1,Sri,NON_ASN,A\n";
        let (_, items) = read(input.as_bytes());
        assert!(items[0].is_ok() && items[1].is_ok());
        let dup = items[2].clone().unwrap_err();
        assert_eq!((dup[0].line, dup[0].code), (4, "nip_duplicate"));
        assert!(dup[0].message.contains("baris 2"));
        let dup = items[3].clone().unwrap_err();
        assert!(dup[0].message.contains("baris 3"));
    }

    #[test]
    fn reports_control_characters_and_cleans_text() {
        let input = "nip,nama,jenis,unit,jabatan\n198503302010011001,\"Budi\u{1}\",PNS,\"  Dinas\n Sosial \",\n";
        let (_, items) = read(input.as_bytes());
        let errors = items[0].clone().unwrap_err();
        assert_eq!(
            (errors[0].column.as_str(), errors[0].code),
            ("nama", "control_character")
        );

        let input = "nip,nama,jenis,unit,jabatan\n198503302010011001,Budi,PNS,\"  Dinas\n Sosial \",\n199001012022211001,Sri,PPPK,X,Y\n";
        let (_, items) = read(input.as_bytes());
        let row = items[0].clone().unwrap();
        assert_eq!(row.unit.name, "Dinas Sosial");
        assert_eq!(row.unit.key, "Dinas Sosial");
        // The quoted line break makes the next record start on line 4.
        assert_eq!(items[1].clone().unwrap().line, 4);
    }

    #[test]
    fn line_numbers_count_skipped_blank_rows() {
        let input = "nip,nama,jenis,unit\r\n\r\n,,,\r\n198503302010011001,Budi,PNS,A\r\n;;;\r\n";
        let (_, items) = read(input.as_bytes());
        assert_eq!(items[0].clone().unwrap().line, 4);
        // ";;;" is one non-empty cell with a comma separator: reported, not skipped.
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn reports_invalid_utf8_per_cell() {
        let mut input = b"nip,nama,jenis,unit\n198503302010011001,Ni\x92matul,PNS,A\n".to_vec();
        input.extend_from_slice(b"199001012022211001,Sri,PPPK,A\n");
        let (_, items) = read(&input);
        let errors = items[0].clone().unwrap_err();
        assert_eq!(
            (errors[0].column.as_str(), errors[0].code),
            ("nama", "not_utf8")
        );
        assert!(items[1].is_ok());
    }

    #[test]
    fn ignores_extra_columns_and_accepts_short_rows_as_errors() {
        let input = "catatan,nip,nama,jenis,unit,jabatan,lain\nx,198503302010011001,Budi,PNS,A,Staf,y\nx,199001012022211001,Sri\n";
        let (_, items) = read(input.as_bytes());
        let row = items[0].clone().unwrap();
        assert_eq!(row.position.as_deref(), Some("Staf"));
        let codes: Vec<&str> = items[1]
            .clone()
            .unwrap_err()
            .iter()
            .map(|e| e.code)
            .collect();
        assert!(codes.contains(&"kind_unknown") && codes.contains(&"unit_required"));
    }

    #[test]
    fn names_missing_required_columns() {
        let m = header_error(b"nip,nama\n1,2\n");
        assert!(m.contains("jenis, unit"), "{m}");
        let m = header_error(b"nipBaru;nama;unorNama\n");
        assert!(m.contains("jenisPegawaiNama"), "{m}");
        assert!(header_error(b"").contains("kosong"));
        assert!(header_error(b"nip,nama,jenis,unit,Nama\n").contains("lebih dari sekali"));
    }

    #[test]
    fn first_column_nip_is_found_after_a_bom() {
        let (_, items) = read(b"\xEF\xBB\xBFnip,nama,jenis,unit\n198503302010011001,Budi,PNS,A\n");
        assert!(items[0].is_ok());
    }

    #[test]
    fn ids_are_canonical_digits() {
        let (_, items) = read(b"nip,nama,jenis,unit\n19850330.201001.1.001,Budi,pns,A\n");
        let row = items[0].clone().unwrap();
        assert_eq!(
            row.id,
            StaffId::Nip(Nip::parse("198503302010011001", today()).unwrap())
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_input(body in prop::collection::vec(any::<u8>(), 0..400)) {
            let mut input = b"nip,nama,jenis,unit,jabatan\n".to_vec();
            input.extend_from_slice(&body);
            let reader = RosterReader::new(input.as_slice(), today()).unwrap();
            for item in reader {
                if let Err(errors) = item {
                    prop_assert!(!errors.is_empty());
                    prop_assert!(errors.iter().all(|e| e.line >= 2 && !e.message.is_empty()));
                }
            }
        }

        #[test]
        fn header_parsing_never_panics(input in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = RosterReader::new(input.as_slice(), today());
        }
    }

    mod xlsx {
        use super::*;
        use rust_xlsxwriter::{Format, Workbook};

        /// A workbook whose first sheet holds `csv`'s cells as text, except the cells of the
        /// columns named in `as_numbers`, which are written as numbers where they are ones
        /// (as Excel does when a NIP column is left in the General format).
        fn workbook_from_csv(csv: &[u8], delimiter: u8, as_numbers: &[&str]) -> Vec<u8> {
            let mut book = Workbook::new();
            let sheet = book.add_worksheet();
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(delimiter)
                .from_reader(csv);
            let mut numeric = Vec::new();
            for (r, record) in reader.records().enumerate() {
                let record = record.unwrap();
                let r = u32::try_from(r).unwrap();
                if r == 0 {
                    numeric = record.iter().map(|h| as_numbers.contains(&h)).collect();
                }
                for (c, field) in record.iter().enumerate() {
                    let c = u16::try_from(c).unwrap();
                    match field.parse::<f64>() {
                        Ok(n) if r > 0 && numeric[usize::from(c)] => {
                            sheet.write_number(r, c, n).unwrap();
                        }
                        _ => {
                            sheet.write_string(r, c, field).unwrap();
                        }
                    }
                }
            }
            book.save_to_buffer().unwrap()
        }

        fn read_xlsx(bytes: Vec<u8>) -> (RosterFormat, Vec<Result<RosterRow, Vec<RowError>>>) {
            let mut book = XlsxRoster::new(Cursor::new(bytes)).unwrap();
            let rows = book.rows(today()).unwrap();
            let format = rows.format();
            (format, rows.collect())
        }

        fn header_error(bytes: Vec<u8>) -> String {
            let mut book = XlsxRoster::new(Cursor::new(bytes)).unwrap();
            match book.rows(today()) {
                Err(RosterError::Header(m)) => m,
                Err(e) => panic!("expected a header error, got {e:?}"),
                Ok(_) => panic!("expected a header error"),
            }
        }

        #[test]
        fn simple_sheet_reads_exactly_as_its_csv() {
            for csv in [SIMPLE_500_BAD_10, SIMPLE_40_NON_ASN] {
                let (format, items) = read_xlsx(workbook_from_csv(csv, b',', &[]));
                assert_eq!(format, RosterFormat::Simple);
                assert_eq!(items, read(csv).1);
            }
            let (_, items) = read_xlsx(workbook_from_csv(SIMPLE_500_BAD_10, b',', &[]));
            assert_eq!(items.iter().filter(|i| i.is_err()).count(), 10);
        }

        #[test]
        fn siasn_sheet_with_text_nips_imports() {
            let (format, items) = read_xlsx(workbook_from_csv(SIASN_40, b';', &[]));
            assert_eq!(format, RosterFormat::Siasn);
            assert_eq!(items, read(SIASN_40).1);
            let rows: Vec<RosterRow> = items.into_iter().map(Result::unwrap).collect();
            assert_eq!(rows.len(), 40);
            assert_eq!(rows[0].id.as_str(), "198905312013062641");
            assert_eq!(rows[0].unit.key, "A5EB03E20004");
            assert_eq!(rows[39].line, 41);
        }

        #[test]
        fn siasn_sheet_reads_contact_columns_even_a_phone_stored_as_a_number() {
            let csv = b"nipBaru;nama;jenisPegawaiNama;unorNama;email;noHp\n\
                199403142015021375;Bayu Purnomo;PNS;Dinas Kesehatan;bayu@dinkes.go.id;81211110001\n\
                198909202022011971;Ani;PNS;Dinas Kesehatan;;\n";
            let (_, items) = read_xlsx(workbook_from_csv(csv, b';', &["noHp"]));
            let rows: Vec<RosterRow> = items.into_iter().map(Result::unwrap).collect();
            assert_eq!(
                rows[0].contact.email,
                Some(Some("bayu@dinkes.go.id".to_owned()))
            );
            assert_eq!(
                rows[0].contact.telepon,
                Some(Some("6281211110001".to_owned()))
            );
            assert_eq!(rows[1].contact.email, Some(None));
            assert_eq!(rows[1].contact.telepon, Some(None));
        }

        #[test]
        fn refuses_every_row_whose_nip_is_a_number() {
            let bytes = workbook_from_csv(SIASN_40, b';', &["nipBaru"]);
            let (_, items) = read_xlsx(bytes);
            assert_eq!(items.len(), 40);
            for (i, item) in items.iter().enumerate() {
                let errors = item.clone().unwrap_err();
                assert_eq!(errors.len(), 1, "{errors:?}");
                let e = &errors[0];
                assert_eq!(
                    (e.line, e.column.as_str(), e.code),
                    (i as u64 + 2, "nipBaru", "nip_excel_number")
                );
                assert!(e.message.contains("Teks"), "{}", e.message);
            }
        }

        #[test]
        fn names_only_the_rows_whose_nip_is_a_number() {
            let mut book = Workbook::new();
            let sheet = book.add_worksheet();
            let text = Format::new().set_num_format("@");
            sheet
                .write_row(0, 0, ["NIP", "Nama", "Jenis", "Unit", "Jabatan"])
                .unwrap();
            sheet
                .write_row(1, 0, ["198503302010011001", "Budi", "PNS", "Dinas Sosial"])
                .unwrap();
            sheet.write_number(2, 0, 199001012022211001.0).unwrap();
            sheet
                .write_row(2, 1, ["Sri", "PPPK", "Dinas Sosial"])
                .unwrap();
            sheet
                .write_string_with_format(3, 0, "199001012022211002", &text)
                .unwrap();
            sheet
                .write_row(3, 1, ["Sri", "PPPK", "Dinas Sosial"])
                .unwrap();
            let (_, items) = read_xlsx(book.save_to_buffer().unwrap());
            assert_eq!(items.len(), 3);
            assert!(items[0].is_ok() && items[2].is_ok());
            let errors = items[1].clone().unwrap_err();
            assert_eq!(
                (errors[0].line, errors[0].column.as_str(), errors[0].code),
                (3, "NIP", "nip_excel_number")
            );
            // The number as Excel kept it: its last digits are gone.
            assert!(errors[0].message.contains("199001012022211000"));
        }

        #[test]
        fn lines_are_sheet_rows_and_cells_are_judged_by_type() {
            let mut book = Workbook::new();
            let sheet = book.add_worksheet();
            let date = Format::new().set_num_format("dd/mm/yyyy");
            sheet
                .write_row(
                    0,
                    0,
                    [
                        "nipBaru",
                        "nama",
                        "jenisPegawaiNama",
                        "unorId",
                        "unorNama",
                        "jabatanNama",
                    ],
                )
                .unwrap();
            sheet
                .write_row(2, 0, ["198503302010011001", "Budi", "PNS Daerah"])
                .unwrap();
            // SIASN unit ids sometimes are plain numbers.
            sheet.write_number(2, 3, 12345.0).unwrap();
            sheet.write_string(2, 4, "Dinas Sosial").unwrap();
            // A formatted but empty row, as Excel leaves them.
            sheet.write_blank(4, 1, &date).unwrap();
            sheet
                .write_row(
                    5,
                    0,
                    ["198503302010011002", "Sri", "PPPK", "U1", "Dinas Sosial"],
                )
                .unwrap();
            sheet
                .write_row(
                    6,
                    0,
                    ["199001012022211001", "Ani", "PPPK", "U1", "Dinas Sosial"],
                )
                .unwrap();
            sheet
                .write_number_with_format(6, 5, 45000.0, &date)
                .unwrap();
            sheet
                .write_row(
                    7,
                    0,
                    ["198503302010011001", "Budi", "PNS", "U1", "Dinas Sosial"],
                )
                .unwrap();
            let (_, items) = read_xlsx(book.save_to_buffer().unwrap());
            assert_eq!(items.len(), 4);
            let row = items[0].clone().unwrap();
            assert_eq!((row.line, row.unit.key.as_str()), (3, "12345"));
            let errors = items[1].clone().unwrap_err();
            assert_eq!((errors[0].line, errors[0].code), (6, "kind_mismatch"));
            let errors = items[2].clone().unwrap_err();
            assert_eq!(
                (errors[0].line, errors[0].column.as_str(), errors[0].code),
                (7, "jabatanNama", "cell_date")
            );
            let errors = items[3].clone().unwrap_err();
            assert_eq!((errors[0].line, errors[0].code), (8, "nip_duplicate"));
            assert!(errors[0].message.contains("baris 3"));
        }

        #[test]
        fn header_must_be_row_1_and_complete() {
            let mut book = Workbook::new();
            book.add_worksheet()
                .write_row(1, 0, ["nip", "nama", "jenis", "unit"])
                .unwrap();
            assert!(header_error(book.save_to_buffer().unwrap()).contains("kosong"));

            let mut book = Workbook::new();
            book.add_worksheet()
                .write_row(0, 0, ["nip", "nama"])
                .unwrap();
            assert!(header_error(book.save_to_buffer().unwrap()).contains("jenis, unit"));
        }

        #[test]
        fn reads_only_the_first_sheet_from_a_path() {
            let mut book = Workbook::new();
            book.add_worksheet()
                .write_row(0, 0, ["nip", "nama", "jenis", "unit"])
                .unwrap()
                .write_row(1, 0, ["198503302010011001", "Budi", "PNS", "A"])
                .unwrap();
            book.add_worksheet().write_row(0, 0, ["catatan"]).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("roster.xlsx");
            book.save(&path).unwrap();
            let mut roster = XlsxRoster::open(&path).unwrap();
            let items: Vec<_> = roster.rows(today()).unwrap().collect();
            assert_eq!(items.len(), 1);
            assert_eq!(items[0].clone().unwrap().name, "Budi");
        }

        #[test]
        fn sniffs_xlsx_by_its_zip_signature() {
            let bytes = workbook_from_csv(SIASN_40, b';', &[]);
            assert_eq!(sniff(&bytes[..4]), RosterFileKind::Xlsx);
            assert_eq!(sniff(SIASN_40), RosterFileKind::Csv);
            assert_eq!(sniff(b"\xEF\xBB\xBFnip"), RosterFileKind::Csv);
            assert_eq!(sniff(b"PK"), RosterFileKind::Csv);
            assert_eq!(sniff(b""), RosterFileKind::Csv);
        }

        #[test]
        fn refuses_a_zip_that_is_not_a_workbook() {
            let err = XlsxRoster::new(Cursor::new(b"PK\x03\x04not really a zip".to_vec()));
            assert!(matches!(err, Err(RosterError::Xlsx(_))));
            let Err(err) = err else { unreachable!() };
            assert!(
                err.to_string()
                    .starts_with("Berkas XLSX tidak dapat dibaca")
            );
        }
    }

    mod bounds {
        use super::*;
        use crate::formats::xlsx_limits::Limits;
        use rust_xlsxwriter::Workbook;

        fn staff_csv(good: usize, bad: usize) -> Vec<u8> {
            let mut s = String::from("nip,nama,jenis,unit\n");
            for i in 0..good {
                s.push_str(&format!("TK-{i},Pegawai {i},NON_ASN,Unit A\n"));
            }
            for i in 0..bad {
                // One error per row: an unknown kind.
                s.push_str(&format!("TK-B{i},Pegawai {i},HONORER,Unit A\n"));
            }
            s.into_bytes()
        }

        fn refused_rows(input: &[u8]) -> RowErrors {
            match check(&RosterInput::Bytes(input), today()) {
                Err(RosterRefused::Rows(bad)) => bad,
                other => panic!("expected row errors, got {other:?}"),
            }
        }

        #[test]
        fn collects_at_most_1000_errors_and_counts_the_unchecked_lines() {
            let mut input = staff_csv(3, 1500);
            input.extend_from_slice(b"\n,,,\n");
            let bad = refused_rows(&input);
            assert_eq!(bad.errors.len(), MAX_ROW_ERRORS);
            assert_eq!(bad.unchecked_lines, 500);
            assert_eq!(bad.errors[0].line, 5);
            assert_eq!(bad.errors[999].line, 1004);
            assert!(
                bad.summary()
                    .contains("500 baris berikutnya belum diperiksa")
            );

            // Exactly at the cap nothing is left unchecked.
            let bad = refused_rows(&staff_csv(0, 1000));
            assert_eq!((bad.errors.len(), bad.unchecked_lines), (1000, 0));
            assert!(!bad.summary().contains("belum diperiksa"));
        }

        #[test]
        fn a_row_with_many_errors_is_cut_at_the_cap() {
            // Three errors a row (kind, name, unit): the 334th row crosses 1,000.
            let mut s = String::from("nip,nama,jenis,unit\n");
            for _ in 0..400 {
                s.push_str("1,,X,\n");
            }
            let bad = refused_rows(s.as_bytes());
            assert_eq!(bad.errors.len(), 1000);
            assert_eq!(bad.errors[999].line, 335);
            assert_eq!(bad.unchecked_lines, 400 - 334);
        }

        #[test]
        fn error_messages_and_columns_stay_short() {
            // Underscores are ignored when matching, so this is the "jabatan" column.
            let long_header = format!("nip,nama,jenis,unit,j{}abatan\n", "_".repeat(5000));
            let mut input = long_header.into_bytes();
            input.extend_from_slice(
                format!("TK-1,Budi,NON_ASN,A,\"{}\u{1}\"\n", "y".repeat(1 << 20)).as_bytes(),
            );
            let bad = refused_rows(&input);
            assert_eq!(bad.errors.len(), 1);
            assert!(bad.errors[0].column.len() <= MAX_COLUMN_NAME_BYTES);
            assert!(bad.errors[0].message.len() <= MAX_ERROR_MESSAGE_BYTES);
            let e = bounded(RowError {
                line: 2,
                column: String::new(),
                code: "x",
                message: "é".repeat(10_000),
            });
            assert!(e.message.len() <= MAX_ERROR_MESSAGE_BYTES && e.message.ends_with("..."));
        }

        #[test]
        fn chunks_carry_every_valid_row_once() {
            let input = staff_csv(1234, 0);
            let mut sizes = Vec::new();
            let mut lines = Vec::new();
            let n = read_chunks(&RosterInput::Bytes(&input), today(), 500, |chunk| {
                sizes.push(chunk.len());
                lines.extend(chunk.iter().map(|r| r.line));
                true
            })
            .unwrap();
            assert_eq!(n, 1234);
            assert_eq!(sizes, [500, 500, 234]);
            assert_eq!(lines, (2..1236).collect::<Vec<u64>>());
            assert_eq!(check(&RosterInput::Bytes(&input), today()).unwrap(), 1234);
            // A bad last row: no chunk is the whole story, the call fails.
            let mut input = staff_csv(600, 0);
            input.extend_from_slice(b"TK-X,Budi,HONORER,A\n");
            assert!(matches!(
                read_chunks(&RosterInput::Bytes(&input), today(), 500, |_| true),
                Err(RosterRefused::Rows(_))
            ));
        }

        fn small_limits() -> Limits {
            Limits {
                sheet_bytes: 256 * 1024,
                part_bytes: 64 * 1024,
                total_bytes: 1024 * 1024,
                text_bytes: 32 * 1024,
                shared_strings_memory: 1024 * 1024,
                entries: 100,
            }
        }

        fn refusal(bytes: Vec<u8>, limits: &Limits) -> &'static str {
            match XlsxRoster::with_limits(Cursor::new(bytes), limits) {
                Err(RosterError::Refused(e)) => e.code,
                Err(e) => panic!("expected a limit, got {e:?}"),
                Ok(_) => panic!("expected a limit"),
            }
        }

        #[test]
        fn refuses_a_sheet_that_inflates_past_its_cap() {
            let mut book = Workbook::new();
            let sheet = book.add_worksheet();
            sheet
                .write_row(0, 0, ["nip", "nama", "jenis", "unit"])
                .unwrap();
            for r in 1..6000u32 {
                sheet.write_number(r, 0, f64::from(r)).unwrap();
                sheet.write_number(r, 1, f64::from(r)).unwrap();
            }
            let bytes = book.save_to_buffer().unwrap();
            assert!(bytes.len() < 64 * 1024);
            assert_eq!(refusal(bytes.clone(), &small_limits()), "xlsx_too_large");
            // The same workbook passes the real limits.
            assert!(XlsxRoster::new(Cursor::new(bytes)).is_ok());
        }

        /// Rewrites the declared uncompressed size of `name` in the local and central
        /// headers, as a hostile archive would.
        fn lie_about_size(zip: &mut [u8], name: &str, size: u32) {
            let name = name.as_bytes();
            for (sig, size_at, name_len_at, name_at) in
                [(b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)]
            {
                let mut i = 0;
                while i + name_at < zip.len() {
                    if &zip[i..i + 4] == sig {
                        let len = usize::from(u16::from_le_bytes([
                            zip[i + name_len_at],
                            zip[i + name_len_at + 1],
                        ]));
                        if zip.get(i + name_at..i + name_at + len) == Some(name) {
                            zip[i + size_at..i + size_at + 4].copy_from_slice(&size.to_le_bytes());
                        }
                    }
                    i += 1;
                }
            }
        }

        #[test]
        fn counts_inflated_bytes_when_the_declared_size_lies() {
            let mut book = Workbook::new();
            let sheet = book.add_worksheet();
            sheet
                .write_row(0, 0, ["nip", "nama", "jenis", "unit"])
                .unwrap();
            for r in 1..6000u32 {
                sheet.write_number(r, 0, f64::from(r)).unwrap();
            }
            let mut bytes = book.save_to_buffer().unwrap();
            lie_about_size(&mut bytes, "xl/worksheets/sheet1.xml", 100);
            // Either the archive reader stops at the declared size (and so would calamine),
            // or the inflated bytes are counted: never a sheet past its cap.
            match XlsxRoster::with_limits(Cursor::new(bytes), &small_limits()) {
                Err(RosterError::Refused(e)) => assert_eq!(e.code, "xlsx_too_large"),
                Err(_) => {}
                Ok(mut book) => {
                    let rows = book.rows(today()).map(|r| r.count()).unwrap_or(0);
                    assert!(rows < 10, "{rows} rows read past a lying size");
                }
            }
        }

        #[test]
        fn refuses_a_shared_string_over_32_kib() {
            let mut book = Workbook::new();
            let sheet = book.add_worksheet();
            sheet
                .write_row(0, 0, ["nip", "nama", "jenis", "unit"])
                .unwrap();
            // 20,000 characters is within Excel's cell limit, 40,000 bytes is not within ours.
            sheet
                .write_row(1, 0, ["TK-1", &"é".repeat(20_000), "NON_ASN", "A"])
                .unwrap();
            let bytes = book.save_to_buffer().unwrap();
            assert_eq!(refusal(bytes, &Limits::SPEC), "xlsx_cell_too_large");
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            #[test]
            fn csv_check_is_bounded_on_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..2000)) {
                let mut input = b"nip,nama,jenis,unit,jabatan\n".to_vec();
                input.extend_from_slice(&body);
                match check(&RosterInput::Bytes(&input), today()) {
                    Ok(_) | Err(RosterRefused::File(_)) => {}
                    Err(RosterRefused::Rows(bad)) => {
                        prop_assert!(!bad.errors.is_empty() && bad.errors.len() <= MAX_ROW_ERRORS);
                        prop_assert!(bad.errors.iter().all(|e| e.message.len() <= MAX_ERROR_MESSAGE_BYTES));
                    }
                }
            }

            #[test]
            fn xlsx_reading_never_panics_on_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..600)) {
                let mut input = b"PK\x03\x04".to_vec();
                input.extend_from_slice(&body);
                let _ = check(&RosterInput::Bytes(&input), today());
            }

            #[test]
            fn xlsx_reading_never_panics_on_a_damaged_workbook(
                flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
            ) {
                let mut bytes = small_workbook();
                for (at, value) in flips {
                    let i = at.index(bytes.len());
                    bytes[i] = value;
                }
                match check(&RosterInput::Bytes(&bytes), today()) {
                    Ok(_) | Err(RosterRefused::File(_)) => {}
                    Err(RosterRefused::Rows(bad)) => {
                        prop_assert!(bad.errors.len() <= MAX_ROW_ERRORS);
                    }
                }
            }
        }

        fn small_workbook() -> Vec<u8> {
            use std::sync::OnceLock;
            static BOOK: OnceLock<Vec<u8>> = OnceLock::new();
            BOOK.get_or_init(|| {
                let mut book = Workbook::new();
                let sheet = book.add_worksheet();
                sheet
                    .write_row(0, 0, ["nip", "nama", "jenis", "unit"])
                    .unwrap();
                for r in 1..4u32 {
                    sheet
                        .write_row(
                            r,
                            0,
                            [
                                format!("TK-{r}"),
                                format!("Pegawai {r}"),
                                "NON_ASN".into(),
                                "A".into(),
                            ],
                        )
                        .unwrap();
                }
                book.save_to_buffer().unwrap()
            })
            .clone()
        }
    }
}
