//! Limits an XLSX roster must keep before calamine opens it (SPEC 4.1): an XLSX file is a
//! ZIP archive of XML parts, and a small archive can inflate to gigabytes (a decompression
//! bomb), hold one gigantic text, or declare a shared-strings table that calamine would
//! reserve whole. calamine loads the shared strings on opening and buffers every XML text
//! and tag it meets, so the archive is checked first, streaming, in constant memory:
//!
//! - the declared (uncompressed) size of every XML part, which refuses an honest bomb at
//!   once without inflating anything;
//! - the bytes each part really inflates to, counted while streaming, since a declared size
//!   can lie;
//! - the length of every text run and tag, and of every shared string, so no single cell
//!   or string can be large;
//! - an estimate of the memory the shared-strings table will take once calamine reads it.
//!
//! Only parts whose name ends in `.xml` or `.rels` are looked at: those are what calamine
//! reads. Worksheets get the sheet cap; the other parts are small in any real workbook.

use std::io::{Read, Seek, SeekFrom};

use crate::domain::ValidationError;

/// What an XLSX roster may hold. [`Limits::SPEC`] is the contract; tests use smaller ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Inflated bytes of one worksheet (and of the shared-strings part).
    pub sheet_bytes: u64,
    /// Inflated bytes of any other XML part (workbook, relationships, styles, theme).
    pub part_bytes: u64,
    /// Inflated bytes of all XML parts together, which bounds the time the check takes.
    pub total_bytes: u64,
    /// One text run, one tag, one shared string.
    pub text_bytes: usize,
    /// Estimated heap of the shared-strings table once calamine has read it.
    pub shared_strings_memory: u64,
    /// Entries in the archive.
    pub entries: usize,
}

impl Limits {
    pub const SPEC: Limits = Limits {
        sheet_bytes: 200 * MIB,
        part_bytes: 16 * MIB,
        total_bytes: 400 * MIB,
        text_bytes: 32 * 1024,
        shared_strings_memory: 112 * MIB,
        entries: 10_000,
    };
}

const MIB: u64 = 1024 * 1024;

/// What calamine's table costs per string beyond its text: the `String` itself and the
/// allocator's rounding.
const PER_STRING: u64 = 40;

fn refuse(code: &'static str, message: String) -> ValidationError {
    ValidationError::new(code, "file", message)
}

fn too_large(limits: &Limits) -> ValidationError {
    refuse(
        "xlsx_too_large",
        format!(
            "Berkas XLSX ini terlalu besar setelah dibuka: isi lembar kerjanya melebihi {} MiB \
             data. Simpan roster sebagai CSV UTF-8 atau bagi menjadi beberapa berkas, lalu \
             unggah kembali.",
            limits.sheet_bytes / MIB
        ),
    )
}

fn part_too_large() -> ValidationError {
    refuse(
        "xlsx_too_large",
        "Berkas XLSX ini berisi bagian yang terlalu besar untuk sebuah roster. Buka berkas di \
         Excel, salin roster ke buku kerja baru, simpan sebagai .xlsx atau CSV UTF-8, lalu \
         unggah kembali."
            .to_owned(),
    )
}

fn cell_too_large(limits: &Limits) -> ValidationError {
    refuse(
        "xlsx_cell_too_large",
        format!(
            "Berkas XLSX ini berisi sel atau teks yang lebih panjang dari {} KiB. Isi kolom roster \
             paling panjang 255 karakter; cari sel yang berisi teks sangat panjang, hapus atau \
             perbaiki, lalu unggah kembali.",
            limits.text_bytes / 1024
        ),
    )
}

fn too_many_strings() -> ValidationError {
    refuse(
        "xlsx_too_many_strings",
        "Berkas XLSX ini berisi terlalu banyak teks berbeda untuk dibaca sekaligus. Simpan \
         roster sebagai CSV UTF-8 atau bagi menjadi beberapa berkas, lalu unggah kembali."
            .to_owned(),
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Sheet,
    SharedStrings,
    Other,
}

fn classify(name: &str) -> Option<Part> {
    let name = name.replace('\\', "/").to_ascii_lowercase();
    if !(name.ends_with(".xml") || name.ends_with(".rels")) {
        return None;
    }
    Some(if name.ends_with("sharedstrings.xml") {
        Part::SharedStrings
    } else if name.contains("worksheets/") {
        Part::Sheet
    } else {
        Part::Other
    })
}

/// Checks an XLSX archive against `limits`, leaving `input` wherever it ends (the caller
/// seeks back). An archive the ZIP reader cannot open passes: calamine then reports it as
/// unreadable, in its own words.
pub fn check<R: Read + Seek>(mut input: R, limits: &Limits) -> Result<(), ValidationError> {
    // The ZIP reader holds the whole central directory in memory, and calamine reads it
    // again: bound it from the end-of-directory record before either opens the archive.
    if let Some(dir) = declared_directory(&mut input)
        && (dir.entries > limits.entries as u64 || dir.bytes > directory_cap(limits))
    {
        return Err(part_too_large());
    }
    input
        .seek(SeekFrom::Start(0))
        .map_err(|_| part_too_large())?;
    let Ok(mut zip) = zip::ZipArchive::new(input) else {
        return Ok(());
    };
    if zip.len() > limits.entries {
        return Err(part_too_large());
    }
    // Declared sizes first: an honest bomb is refused before anything is inflated.
    let mut parts = Vec::new();
    for i in 0..zip.len() {
        let Ok(entry) = zip.by_index_raw(i) else {
            continue;
        };
        let Some(part) = entry.name().ok().and_then(|name| classify(&name)) else {
            continue;
        };
        let cap = cap(part, limits);
        if entry.size() > cap {
            return Err(refusal(part, limits));
        }
        parts.push((i, part));
    }
    let mut total = 0u64;
    for (i, part) in parts {
        // A part that cannot be inflated is calamine's to report, if it ever reads it.
        let Ok(mut entry) = zip.by_index(i) else {
            continue;
        };
        let mut scanner = Scanner::new(part, limits);
        let mut buf = vec![0u8; 64 * 1024];
        let mut inflated = 0u64;
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            inflated += n as u64;
            total += n as u64;
            if inflated > cap(part, limits) {
                return Err(refusal(part, limits));
            }
            if total > limits.total_bytes {
                return Err(part_too_large());
            }
            scanner.feed(&buf[..n])?;
        }
    }
    Ok(())
}

/// What an archive's end-of-central-directory record (or its ZIP64 form) declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Directory {
    entries: u64,
    bytes: u64,
}

/// Bytes of central directory an archive of `limits.entries` entries may need: a 46-byte
/// header per entry plus a name, extra field and comment of up to 300 bytes.
fn directory_cap(limits: &Limits) -> u64 {
    limits.entries as u64 * (46 + 300)
}

/// Reads the declared entry count and central-directory size from the archive's tail.
/// `None` when there is no readable record (then the ZIP reader decides, as before).
fn declared_directory<R: Read + Seek>(input: &mut R) -> Option<Directory> {
    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const LOCATOR: [u8; 4] = [0x50, 0x4b, 0x06, 0x07];
    const EOCD64: [u8; 4] = [0x50, 0x4b, 0x06, 0x06];
    let len = input.seek(SeekFrom::End(0)).ok()?;
    // The record is 22 bytes plus a comment of at most 65,535.
    let tail_len = len.min(22 + 65_535);
    input.seek(SeekFrom::Start(len - tail_len)).ok()?;
    let mut tail = vec![0u8; tail_len as usize];
    input.read_exact(&mut tail).ok()?;
    let at = tail.len().checked_sub(22)?;
    let at = (0..=at).rev().find(|&i| tail[i..i + 4] == EOCD)?;
    let u16_at = |b: &[u8], i: usize| u64::from(u16::from_le_bytes([b[i], b[i + 1]]));
    let u32_at = |b: &[u8], i: usize| {
        u64::from(u32::from_le_bytes(
            b[i..i + 4].try_into().unwrap_or_default(),
        ))
    };
    let entries = u16_at(&tail, at + 10);
    let bytes = u32_at(&tail, at + 12);
    if entries != 0xFFFF && bytes != 0xFFFF_FFFF {
        return Some(Directory { entries, bytes });
    }
    // ZIP64: a 20-byte locator right before the record points at the 56-byte ZIP64 record.
    let locator = at.checked_sub(20)?;
    if tail[locator..locator + 4] != LOCATOR {
        return None;
    }
    let offset = u64::from_le_bytes(tail[locator + 8..locator + 16].try_into().ok()?);
    input.seek(SeekFrom::Start(offset)).ok()?;
    let mut record = [0u8; 56];
    input.read_exact(&mut record).ok()?;
    if record[..4] != EOCD64 {
        return None;
    }
    Some(Directory {
        entries: u64::from_le_bytes(record[32..40].try_into().ok()?),
        bytes: u64::from_le_bytes(record[40..48].try_into().ok()?),
    })
}

/// The refusal of a part over its cap.
fn refusal(part: Part, limits: &Limits) -> ValidationError {
    match part {
        Part::Sheet => too_large(limits),
        Part::SharedStrings => too_many_strings(),
        Part::Other => part_too_large(),
    }
}

fn cap(part: Part, limits: &Limits) -> u64 {
    match part {
        Part::Sheet | Part::SharedStrings => limits.sheet_bytes,
        Part::Other => limits.part_bytes,
    }
}

/// A byte-level pass over XML that measures without parsing: text runs between tags, tags
/// themselves, and, in the shared-strings part, each `<si>` string and the table's size.
/// Comments and CDATA are not understood, which only makes it stricter: their content is
/// measured as a tag or a text run, and both are bounded.
struct Scanner<'l> {
    limits: &'l Limits,
    shared: bool,
    in_tag: bool,
    tag: Vec<u8>,
    run: usize,
    in_si: bool,
    si_bytes: usize,
    memory: u64,
}

impl<'l> Scanner<'l> {
    fn new(part: Part, limits: &'l Limits) -> Self {
        Scanner {
            limits,
            shared: part == Part::SharedStrings,
            in_tag: false,
            tag: Vec::new(),
            run: 0,
            in_si: false,
            si_bytes: 0,
            memory: 0,
        }
    }

    fn feed(&mut self, bytes: &[u8]) -> Result<(), ValidationError> {
        for &b in bytes {
            if self.in_tag {
                if b == b'>' {
                    self.in_tag = false;
                    self.end_tag()?;
                } else if self.tag.len() >= self.limits.text_bytes {
                    return Err(cell_too_large(self.limits));
                } else {
                    self.tag.push(b);
                }
            } else if b == b'<' {
                self.in_tag = true;
                self.tag.clear();
                if self.in_si {
                    self.si_bytes += self.run;
                }
                self.run = 0;
            } else {
                self.run += 1;
                let string = if self.in_si { self.si_bytes } else { 0 };
                if self.run + string > self.limits.text_bytes {
                    return Err(cell_too_large(self.limits));
                }
            }
        }
        Ok(())
    }

    fn end_tag(&mut self) -> Result<(), ValidationError> {
        if !self.shared {
            return Ok(());
        }
        let (closing, rest) = match self.tag.strip_prefix(b"/") {
            Some(rest) => (true, rest),
            None => (false, &self.tag[..]),
        };
        let name_end = rest
            .iter()
            .position(|b| b.is_ascii_whitespace() || *b == b'/')
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        let local = name.rsplit(|&b| b == b':').next().unwrap_or(name);
        let self_closing = rest.ends_with(b"/");
        match (local, closing) {
            // calamine reserves the declared count up front.
            (b"sst", false)
                if attribute_number(rest, b"uniqueCount").is_some_and(|n| {
                    n.saturating_mul(PER_STRING) > self.limits.shared_strings_memory
                }) =>
            {
                return Err(too_many_strings());
            }
            (b"si", false) if self_closing => self.add_string(0)?,
            (b"si", false) => {
                self.in_si = true;
                self.si_bytes = 0;
            }
            (b"si", true) => {
                self.in_si = false;
                self.add_string(self.si_bytes)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn add_string(&mut self, bytes: usize) -> Result<(), ValidationError> {
        self.memory += bytes as u64 + PER_STRING;
        if self.memory > self.limits.shared_strings_memory {
            return Err(too_many_strings());
        }
        Ok(())
    }
}

/// The digits of `name="…"` in a tag's bytes, if it has them.
fn attribute_number(tag: &[u8], name: &[u8]) -> Option<u64> {
    let at = tag.windows(name.len()).position(|w| w == name)?;
    let rest = &tag[at + name.len()..];
    let rest = rest.strip_prefix(b"=")?;
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    // Too many digits for a u64 is too many strings.
    std::str::from_utf8(&rest[..digits])
        .ok()?
        .parse()
        .ok()
        .or(Some(u64::MAX))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first unexpected result"
)]
mod tests {
    use super::*;

    fn zip_of(entries: usize, comment: &str) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        for i in 0..entries {
            zip.start_file(
                format!("x/{i}.bin"),
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
        }
        zip.set_comment(comment).unwrap();
        zip.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn reads_the_declared_directory_from_the_tail() {
        for comment in ["", "dibuat oleh uji"] {
            let bytes = zip_of(60, comment);
            let dir = declared_directory(&mut std::io::Cursor::new(&bytes)).unwrap();
            assert_eq!(dir.entries, 60, "{comment:?}");
            assert!(dir.bytes > 60 * 46, "{dir:?}");
        }
        assert_eq!(
            declared_directory(&mut std::io::Cursor::new(b"PK\x05")),
            None
        );
    }

    #[test]
    fn refuses_an_archive_of_too_many_entries_before_opening_it() {
        assert_eq!(
            check(std::io::Cursor::new(zip_of(60, "")), &small())
                .unwrap_err()
                .code,
            "xlsx_too_large"
        );
        assert!(check(std::io::Cursor::new(zip_of(10, "")), &small()).is_ok());
        // A bare end-of-directory record declaring 65,534 entries: refused on the record
        // alone, with no directory for the ZIP reader to load.
        let mut eocd = vec![0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0];
        eocd.extend_from_slice(&0xFFFEu16.to_le_bytes());
        eocd.extend_from_slice(&0xFFFEu16.to_le_bytes());
        eocd.extend_from_slice(&[0; 10]);
        let err = check(std::io::Cursor::new(eocd), &small()).unwrap_err();
        assert_eq!(err.code, "xlsx_too_large");
    }

    proptest::proptest! {
        #[test]
        fn the_directory_reader_never_panics(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let mut bytes = tail.clone();
            // Often a record signature somewhere, so the field parsing is reached.
            bytes.splice(tail.len() / 2..tail.len() / 2, [0x50, 0x4b, 0x05, 0x06]);
            let _ = declared_directory(&mut std::io::Cursor::new(&bytes));
            let _ = declared_directory(&mut std::io::Cursor::new(&tail));
        }
    }

    fn small() -> Limits {
        Limits {
            sheet_bytes: 64 * 1024,
            part_bytes: 16 * 1024,
            total_bytes: 256 * 1024,
            text_bytes: 1024,
            shared_strings_memory: 8 * 1024,
            entries: 50,
        }
    }

    fn scan(part: Part, xml: &[u8], limits: &Limits) -> Result<(), &'static str> {
        let mut s = Scanner::new(part, limits);
        // Fed in small pieces, as the archive gives them.
        for piece in xml.chunks(7) {
            s.feed(piece).map_err(|e| e.code)?;
        }
        Ok(())
    }

    #[test]
    fn measures_text_runs_tags_and_shared_strings() {
        let l = small();
        let ok = b"<sst uniqueCount=\"2\"><si><t>Budi</t></si><si/><si><r><t>a</t></r><r><t>b</t></r></si></sst>";
        assert_eq!(scan(Part::SharedStrings, ok, &l), Ok(()));

        let long = format!("<c><is><t>{}</t></is></c>", "x".repeat(1025));
        assert_eq!(
            scan(Part::Sheet, long.as_bytes(), &l),
            Err("xlsx_cell_too_large")
        );
        let tag = format!("<c r=\"{}\">", "A".repeat(1100));
        assert_eq!(
            scan(Part::Sheet, tag.as_bytes(), &l),
            Err("xlsx_cell_too_large")
        );
        // A string split into rich-text runs is measured whole.
        let runs = format!(
            "<sst><si><r><t>{0}</t></r><r><t>{0}</t></r></si></sst>",
            "y".repeat(600)
        );
        assert_eq!(
            scan(Part::SharedStrings, runs.as_bytes(), &l),
            Err("xlsx_cell_too_large")
        );
        // The same runs in a worksheet are separate cells' texts.
        assert_eq!(scan(Part::Sheet, runs.as_bytes(), &l), Ok(()));
    }

    #[test]
    fn refuses_a_table_too_big_to_hold() {
        let l = small();
        assert_eq!(
            scan(
                Part::SharedStrings,
                b"<x:sst xmlns:x=\"s\" count=\"1\" uniqueCount=\"1000000000\">",
                &l
            ),
            Err("xlsx_too_many_strings")
        );
        assert_eq!(
            scan(
                Part::SharedStrings,
                b"<sst uniqueCount=\"99999999999999999999999\">",
                &l
            ),
            Err("xlsx_too_many_strings")
        );
        let many = "<si><t>abcdefgh</t></si>".repeat(200);
        assert_eq!(
            scan(
                Part::SharedStrings,
                format!("<sst>{many}</sst>").as_bytes(),
                &l
            ),
            Err("xlsx_too_many_strings")
        );
    }

    #[test]
    fn classifies_the_parts_calamine_reads() {
        assert_eq!(classify("xl/worksheets/sheet1.xml"), Some(Part::Sheet));
        assert_eq!(classify("XL\\Worksheets\\Sheet1.XML"), Some(Part::Sheet));
        assert_eq!(classify("xl/sharedStrings.xml"), Some(Part::SharedStrings));
        assert_eq!(classify("xl/_rels/workbook.xml.rels"), Some(Part::Other));
        assert_eq!(classify("xl/media/image1.png"), None);
    }
}
