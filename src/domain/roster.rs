//! Reading a staff roster from CSV, one row at a time: format and separator detection,
//! header matching, and every per-row rule of a roster import (SPEC 4 and 6). The reader
//! never holds the file; it remembers only the identifiers seen, to report duplicates.
//!
//! Two layouts are understood: our simple `nip,nama,jenis,unit,jabatan`, and SIASN-style
//! exports (`nipBaru`, `nama`, `jenisPegawaiNama`, `unorId`, `unorNama`, `unorIndukId`,
//! `unorIndukNama`, `jabatanNama`, …). Whether to write anything is the caller's decision:
//! an import is all-or-nothing, so any error item means nothing is imported.
//!
//! SIASN's `nipLama` and `kedudukanPnsNama` are not read: the old NIP identifies nobody
//! any more, and which statuses count as active is HR's choice when exporting.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::{self, BufRead, BufReader, Cursor, Read};

use chrono::NaiveDate;

use super::nip::{EmployeeKind, StaffId};
use super::text;

/// Longest header line accepted; a header is a few hundred bytes at most.
const MAX_HEADER_BYTES: u64 = 64 * 1024;
/// Longest name, unit or position accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 255;

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
}

const COLS: usize = 8;

/// (header key, canonical spelling for messages, column, required)
type Layout = &'static [(&'static str, &'static str, Col, bool)];

const SIMPLE: Layout = &[
    ("nip", "nip", Col::Nip, true),
    ("nama", "nama", Col::Name, true),
    ("jenis", "jenis", Col::Kind, true),
    ("unit", "unit", Col::Unit, true),
    ("jabatan", "jabatan", Col::Position, false),
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
                    columns.name[col as usize] = headers[*i].trim().to_owned();
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
    format: RosterFormat,
    columns: Columns,
    today: NaiveDate,
    record: csv::ByteRecord,
    /// First line of each NIP seen; NIPs are kept as integers to keep a national roster's
    /// set small.
    seen_nips: HashMap<u64, u64>,
    seen_staff: HashMap<String, u64>,
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
            format,
            columns,
            today,
            record: csv::ByteRecord::new(),
            seen_nips: HashMap::new(),
            seen_staff: HashMap::new(),
            done: false,
        })
    }

    pub fn format(&self) -> RosterFormat {
        self.format
    }

    /// Checks the current record; every column is checked so that HR can fix a row at once.
    fn row(&mut self, line: u64) -> Result<RosterRow, Vec<RowError>> {
        let mut errors = Vec::new();
        let mut values: [Option<&str>; COLS] = [None; COLS];
        for (slot, (index, column)) in values
            .iter_mut()
            .zip(self.columns.index.iter().zip(self.columns.name.iter()))
        {
            let Some(i) = *index else { continue };
            let bytes = self.record.get(i).unwrap_or_default();
            match std::str::from_utf8(bytes) {
                Ok(s) => *slot = Some(s),
                Err(_) => errors.push(RowError {
                    line,
                    column: column.clone(),
                    code: "not_utf8",
                    message: NOT_UTF8.to_owned(),
                }),
            }
        }
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
                })
            }
            _ => Err(errors),
        }
    }
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
                    return Some(self.row(line));
                }
            }
        }
        None
    }
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
}
