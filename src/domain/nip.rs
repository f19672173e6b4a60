//! Who a person is to the system: the employee kind, the 18-digit NIP of ASN (with every
//! structural check of SPEC 2), the instansi-issued staff number of non-ASN staff, and
//! [`StaffId`], the identifier that goes into the database and the statement.

use std::fmt;

use chrono::{Datelike, NaiveDate};

use super::ValidationError;

const FIELD: &str = "nip";

/// The employment kind of a person on the roster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmployeeKind {
    Pns,
    Pppk,
    NonAsn,
}

impl EmployeeKind {
    /// The stored and exported spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            EmployeeKind::Pns => "PNS",
            EmployeeKind::Pppk => "PPPK",
            EmployeeKind::NonAsn => "NON_ASN",
        }
    }

    /// Our own spellings and the `jenisPegawaiNama` values of SIASN exports ("PNS Daerah",
    /// "CPNS Pusat", "PPPK Paruh Waktu", "Non ASN", …), ignoring case, spaces, `_` and `-`.
    ///
    /// A CPNS is a candidate civil servant but already holds a PNS-style NIP, so it counts
    /// as PNS here.
    pub fn parse(s: &str) -> Option<Self> {
        let key: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '.'))
            .flat_map(char::to_lowercase)
            .collect();
        if key.starts_with("pns") || key.starts_with("cpns") {
            Some(EmployeeKind::Pns)
        } else if key.starts_with("pppk") || key.starts_with("p3k") {
            Some(EmployeeKind::Pppk)
        } else if matches!(key.as_str(), "nonasn" | "nonpns") {
            Some(EmployeeKind::NonAsn)
        } else {
            None
        }
    }

    /// The name people read in messages and on the admin pages.
    pub fn label(&self) -> &'static str {
        match self {
            EmployeeKind::Pns => "PNS",
            EmployeeKind::Pppk => "PPPK",
            EmployeeKind::NonAsn => "non-ASN",
        }
    }
}

/// The stored spelling, read back from a row.
impl TryFrom<String> for EmployeeKind {
    type Error = ValidationError;

    fn try_from(s: String) -> Result<Self, ValidationError> {
        match s.as_str() {
            "PNS" => Ok(EmployeeKind::Pns),
            "PPPK" => Ok(EmployeeKind::Pppk),
            "NON_ASN" => Ok(EmployeeKind::NonAsn),
            other => Err(err(
                "kind_unknown",
                format!("Jenis pegawai '{other}' tidak dikenal."),
            )),
        }
    }
}

impl fmt::Display for EmployeeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A structurally valid NIP: 18 ASCII digits that passed every check of SPEC 2.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Nip(String);

fn err(code: &'static str, message: impl Into<String>) -> ValidationError {
    ValidationError::new(code, FIELD, message)
}

/// Reads `n` ASCII digits as a number; the caller has checked they are digits.
fn number(digits: &[u8]) -> u32 {
    digits
        .iter()
        .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
}

/// Whether the value looks like a NIP that Excel turned into a number: scientific notation
/// (`1.98503E+17`, `1,98503E+17`) or a long integer with a decimal part
/// (`198503302010011000.00`, `198503302010011000,0`).
///
/// Excel keeps only 15 significant digits of a number, so the last digits of such a NIP
/// are already lost and no stripping can bring them back. Plain 18-digit values ending in
/// `000` are not flagged: that is a valid-looking NIP with serial `000`, reported as such.
pub fn looks_like_excel_number(input: &str) -> bool {
    let s = input.trim();
    let is_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if let Some((mantissa, exponent)) = s.split_once(['e', 'E']) {
        let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
        let mantissa_ok = match mantissa.split_once(['.', ',']) {
            Some((int, frac)) => is_digits(int) && is_digits(frac),
            None => is_digits(mantissa),
        };
        return mantissa_ok && is_digits(exponent);
    }
    // A genuine NIP may be grouped with dots (`19850330.201001.1.001`), so only a single
    // separator after at least 16 digits counts: no grouping of a NIP looks like that.
    match s.rsplit_once(['.', ',']) {
        Some((int, frac)) => int.len() >= 16 && is_digits(int) && is_digits(frac),
        None => false,
    }
}

fn excel_error() -> ValidationError {
    err(
        "nip_excel_number",
        "NIP tersimpan sebagai angka di Excel, sehingga beberapa digit terakhirnya sudah hilang. \
         Ubah format kolom NIP menjadi Teks (Format Cells → Text), ketik ulang atau tempel ulang \
         NIP dari sumber aslinya, lalu simpan dan unggah kembali.",
    )
}

/// Spaces, dots and dashes are how people group a NIP (`19850330 201001 1 001`); SPEC 2
/// strips them on input.
fn strip_separators(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-'))
        .collect()
}

/// The one normalisation of an identifier that a person typed or a file holds, for every
/// way in (import, `invitations --nip`, revoke, lookup): a NIP written with separators
/// becomes its 18 digits; anything else, such as a non-ASN staff number (which may hold
/// `-`), is kept as written, trimmed. Validation is [`StaffId::parse`]'s job.
pub fn normalize_identifier(input: &str) -> String {
    let digits = strip_separators(input);
    if digits.len() == 18 && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits
    } else {
        input.trim().to_string()
    }
}

impl Nip {
    /// Strips spaces, dots and dashes, then checks SPEC 2 in this order, each failure its
    /// own code (field `nip`): `nip_excel_number`, `nip_not_digits`, `nip_length`,
    /// `nip_birth_date`, `nip_kind_digit`, `nip_tmt_month` (PNS), `nip_appointment_too_early`
    /// (before the 15th birthday; PNS by month, PPPK by year), `nip_appointment_future`
    /// (after `today`), `nip_gender`, `nip_serial`.
    pub fn parse(input: &str, today: NaiveDate) -> Result<Nip, ValidationError> {
        if looks_like_excel_number(input) {
            return Err(excel_error());
        }
        let digits = strip_separators(input);
        if digits.is_empty() {
            return Err(err(
                "nip_length",
                "NIP wajib diisi. Tuliskan 18 digit NIP sesuai SK pengangkatan.",
            ));
        }
        if let Some(c) = digits.chars().find(|c| !c.is_ascii_digit()) {
            return Err(err(
                "nip_not_digits",
                format!(
                    "NIP hanya boleh berisi angka, tetapi memuat karakter \"{c}\". \
                     Periksa kembali NIP sesuai SK pengangkatan."
                ),
            ));
        }
        if digits.len() != 18 {
            return Err(err(
                "nip_length",
                format!(
                    "NIP harus terdiri dari 18 digit, tetapi yang tertulis {} digit. \
                     Periksa kembali NIP sesuai SK pengangkatan.",
                    digits.len()
                ),
            ));
        }
        let d = digits.as_bytes();

        let birth =
            NaiveDate::from_ymd_opt(number(&d[0..4]) as i32, number(&d[4..6]), number(&d[6..8]))
                .filter(|b| b.year() >= 1900 && *b <= today)
                .ok_or_else(|| {
                    err(
                        "nip_birth_date",
                        format!(
                            "Delapan digit pertama NIP ({}) bukan tanggal lahir yang valid \
                         (format TahunBulanTanggal). Periksa kembali NIP sesuai SK pengangkatan.",
                            &digits[0..8]
                        ),
                    )
                })?;

        let kind = match d[12] {
            b'0' | b'1' => EmployeeKind::Pns,
            b'2' => EmployeeKind::Pppk,
            other => {
                return Err(err(
                    "nip_kind_digit",
                    format!(
                        "Digit ke-13 NIP harus 0 atau 1 (PNS) atau 2 (PPPK), tetapi tertulis {}. \
                         Periksa kembali NIP sesuai SK pengangkatan.",
                        char::from(other)
                    ),
                ));
            }
        };

        let year = number(&d[8..12]) as i32;
        let fifteen = birth.year() + 15;
        match kind {
            EmployeeKind::Pns => {
                let month = number(&d[12..14]);
                if !(1..=12).contains(&month) {
                    return Err(err(
                        "nip_tmt_month",
                        format!(
                            "Digit ke-9 sampai ke-14 NIP PNS adalah TMT CPNS (TahunBulan), \
                             tetapi bulannya {month:02} tidak ada. Periksa kembali NIP sesuai SK pengangkatan."
                        ),
                    ));
                }
                // TMT is known only to the month, so the 15th birthday is too.
                if (year, month) < (fifteen, birth.month()) {
                    return Err(err(
                        "nip_appointment_too_early",
                        format!(
                            "TMT CPNS pada NIP ({}-{month:02}) lebih awal dari ulang tahun ke-15 \
                             pemiliknya. Periksa kembali NIP sesuai SK pengangkatan.",
                            &digits[8..12]
                        ),
                    ));
                }
                if (year, month) > (today.year(), today.month()) {
                    return Err(err(
                        "nip_appointment_future",
                        format!(
                            "TMT CPNS pada NIP ({}-{month:02}) berada di masa depan. \
                             Periksa kembali NIP sesuai SK pengangkatan.",
                            &digits[8..12]
                        ),
                    ));
                }
            }
            _ => {
                if year < fifteen {
                    return Err(err(
                        "nip_appointment_too_early",
                        format!(
                            "Tahun pengangkatan PPPK pada NIP ({year}) lebih awal dari tahun \
                             pemiliknya berusia 15 tahun. Periksa kembali NIP sesuai SK pengangkatan."
                        ),
                    ));
                }
                if year > today.year() {
                    return Err(err(
                        "nip_appointment_future",
                        format!(
                            "Tahun pengangkatan PPPK pada NIP ({year}) berada di masa depan. \
                             Periksa kembali NIP sesuai SK pengangkatan."
                        ),
                    ));
                }
            }
        }

        if !matches!(d[14], b'1' | b'2') {
            return Err(err(
                "nip_gender",
                format!(
                    "Digit ke-15 NIP (jenis kelamin) harus 1 atau 2, tetapi tertulis {}. \
                     Periksa kembali NIP sesuai SK pengangkatan.",
                    char::from(d[14])
                ),
            ));
        }
        if &d[15..18] == b"000" {
            return Err(err(
                "nip_serial",
                "Tiga digit terakhir NIP (nomor urut) tidak boleh 000. \
                 Periksa kembali NIP sesuai SK pengangkatan.",
            ));
        }
        Ok(Nip(digits))
    }

    /// The 18 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// PNS or PPPK, from digit 13.
    pub fn kind(&self) -> EmployeeKind {
        if self.0.as_bytes()[12] == b'2' {
            EmployeeKind::Pppk
        } else {
            EmployeeKind::Pns
        }
    }

    pub fn to_u64(&self) -> u64 {
        self.0
            .bytes()
            .fold(0, |acc, d| acc * 10 + u64::from(d - b'0'))
    }

    /// The NIP as printed on official documents: PNS `19850330 201001 1 001`,
    /// PPPK `19900101 2022 21 1 001`.
    pub fn grouped(&self) -> String {
        let s = &self.0;
        match self.kind() {
            EmployeeKind::Pppk => format!(
                "{} {} {} {} {}",
                &s[0..8],
                &s[8..12],
                &s[12..14],
                &s[14..15],
                &s[15..18]
            ),
            _ => format!("{} {} {} {}", &s[0..8], &s[8..14], &s[14..15], &s[15..18]),
        }
    }
}

impl fmt::Display for Nip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An instansi-issued staff number of a non-ASN employee: ASCII letters, digits, `-` and
/// `/`, 1 to 32 characters, stored as written (case kept).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StaffNumber(String);

impl StaffNumber {
    pub const MAX_LEN: usize = 32;

    /// Checks the rules of SPEC 2. A value that is 16 digits once `-` and `/` are removed
    /// is refused as a likely NIK (`staff_number_nik`): a NIK must never be stored.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(err(
                "staff_number_required",
                "Nomor pegawai non-ASN wajib diisi. Tuliskan nomor pegawai yang diterbitkan instansi.",
            ));
        }
        if looks_like_excel_number(s) {
            return Err(err(
                "nip_excel_number",
                "Nomor pegawai tersimpan sebagai angka di Excel, sehingga sebagian digitnya hilang. \
                 Ubah format kolomnya menjadi Teks (Format Cells → Text), ketik ulang nomornya, \
                 lalu simpan dan unggah kembali.",
            ));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && !matches!(c, '-' | '/'))
        {
            return Err(err(
                "staff_number_invalid",
                format!(
                    "Nomor pegawai non-ASN hanya boleh berisi huruf, angka, tanda \"-\" dan \"/\", \
                     tetapi memuat \"{c}\". Perbaiki nomornya lalu coba lagi."
                ),
            ));
        }
        let len = s.chars().count();
        if len > Self::MAX_LEN {
            return Err(err(
                "staff_number_too_long",
                format!(
                    "Nomor pegawai non-ASN paling panjang {} karakter, tetapi yang tertulis {len} karakter. \
                     Gunakan nomor pegawai yang lebih pendek.",
                    Self::MAX_LEN
                ),
            ));
        }
        let digits: Vec<char> = s.chars().filter(|c| !matches!(c, '-' | '/')).collect();
        if digits.len() == 16 && digits.iter().all(char::is_ascii_digit) {
            return Err(err(
                "staff_number_nik",
                "Nomor pegawai non-ASN ini terdiri dari 16 digit dan tampaknya adalah NIK. \
                 NIK tidak boleh disimpan di sistem ini; gunakan nomor pegawai yang diterbitkan instansi.",
            ));
        }
        Ok(StaffNumber(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The identifier of one employee: a NIP for ASN, a staff number for non-ASN staff.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StaffId {
    Nip(Nip),
    Staff(StaffNumber),
}

impl StaffId {
    /// An identifier as stored in the roster (validated when it was imported), read back
    /// for display. `None` if the stored kind or number no longer parses.
    pub fn from_stored(kind: EmployeeKind, number: &str) -> Option<StaffId> {
        // The appointment date was checked against the import day; any later day is fine.
        StaffId::parse(kind, number, chrono::NaiveDate::MAX).ok()
    }

    /// Parses an identifier for a declared kind: PNS and PPPK need a NIP whose digit 13
    /// agrees with the kind (`kind_mismatch`), non-ASN staff need a staff number.
    pub fn parse(
        kind: EmployeeKind,
        input: &str,
        today: NaiveDate,
    ) -> Result<Self, ValidationError> {
        match kind {
            EmployeeKind::NonAsn => StaffNumber::parse(input).map(StaffId::Staff),
            declared => {
                let nip = Nip::parse(input, today)?;
                let actual = nip.kind();
                if actual != declared {
                    let digit = char::from(nip.as_str().as_bytes()[12]);
                    return Err(err(
                        "kind_mismatch",
                        format!(
                            "NIP ini adalah NIP {} (digit ke-13 bernilai {digit}), tetapi jenis pegawainya \
                             tertulis {}. Perbaiki jenis pegawai atau NIP-nya agar sesuai.",
                            actual.label(),
                            declared.label()
                        ),
                    ));
                }
                Ok(StaffId::Nip(nip))
            }
        }
    }

    /// The value stored in the database: NIP digits or the staff number.
    pub fn as_str(&self) -> &str {
        match self {
            StaffId::Nip(n) => n.as_str(),
            StaffId::Staff(s) => s.as_str(),
        }
    }

    /// The statement's `nip:` value (SPEC 3.1).
    pub fn statement_value(&self) -> String {
        match self {
            StaffId::Nip(n) => n.as_str().to_owned(),
            StaffId::Staff(s) => format!("staff:{}", s.as_str()),
        }
    }

    /// The record's NIP field (SPEC 3.2): 0 for non-ASN staff.
    pub fn record_nip(&self) -> u64 {
        match self {
            StaffId::Nip(n) => n.to_u64(),
            StaffId::Staff(_) => 0,
        }
    }

    /// For people who may see the whole identifier (the signer, HR).
    pub fn display(&self) -> String {
        match self {
            StaffId::Nip(n) => n.grouped(),
            StaffId::Staff(s) => s.as_str().to_owned(),
        }
    }

    /// For public pages. A NIP is shown in full because it is printed on the paper that
    /// carries the QR code; a staff number shows only its last 3 characters behind a
    /// fixed `***`, so that neither the number nor its length leaks.
    pub fn masked(&self) -> String {
        match self {
            StaffId::Nip(n) => n.grouped(),
            StaffId::Staff(s) => {
                let chars: Vec<char> = s.as_str().chars().collect();
                if chars.len() <= 3 {
                    "***".to_owned()
                } else {
                    let tail: String = chars[chars.len() - 3..].iter().collect();
                    format!("***{tail}")
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first unexpected result"
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    fn code(input: &str) -> &'static str {
        Nip::parse(input, today()).unwrap_err().code
    }

    #[test]
    fn accepts_pns_nip_and_groups_it() {
        let nip = Nip::parse("198503302010011001", today()).unwrap();
        assert_eq!(nip.kind(), EmployeeKind::Pns);
        assert_eq!(nip.grouped(), "19850330 201001 1 001");
        assert_eq!(nip.to_u64(), 198_503_302_010_011_001);
    }

    #[test]
    fn accepts_pppk_nip_and_groups_it() {
        let nip = Nip::parse("199001012022211001", today()).unwrap();
        assert_eq!(nip.kind(), EmployeeKind::Pppk);
        assert_eq!(nip.grouped(), "19900101 2022 21 1 001");
    }

    #[test]
    fn strips_spaces_dots_and_dashes() {
        for input in [
            "19850330 201001 1 001",
            "19850330.201001.1.001",
            "19850330-201001-1-001",
            " 198503302010011001 ",
        ] {
            assert_eq!(
                Nip::parse(input, today()).unwrap().as_str(),
                "198503302010011001"
            );
        }
    }

    #[test]
    fn rejects_nip_with_wrong_length() {
        assert_eq!(code("1985033020100110"), "nip_length");
        assert_eq!(code(""), "nip_length");
        assert_eq!(code("1985033020100110011"), "nip_length");
    }

    #[test]
    fn rejects_nip_with_letters() {
        let e = Nip::parse("198503302010011X01", today()).unwrap_err();
        assert_eq!(e.code, "nip_not_digits");
        assert_eq!(e.field, "nip");
        assert!(e.message.contains('X'));
    }

    #[test]
    fn rejects_nip_with_30_february() {
        assert_eq!(code("19850230201001 1 001"), "nip_birth_date");
    }

    #[test]
    fn rejects_nip_born_in_the_future_or_before_1900() {
        assert_eq!(code("202712012010011001"), "nip_birth_date");
        assert_eq!(code("189912012010011001"), "nip_birth_date");
    }

    #[test]
    fn rejects_nip_with_kind_digit_3() {
        assert_eq!(code("198503302010301001"), "nip_kind_digit");
    }

    #[test]
    fn rejects_nip_with_month_13() {
        assert_eq!(code("198503302010131001"), "nip_tmt_month");
        assert_eq!(code("198503302010001001"), "nip_tmt_month");
    }

    #[test]
    fn rejects_appointment_before_15th_birthday() {
        assert_eq!(code("198503301995011001"), "nip_appointment_too_early");
        // PNS: the month of the 15th birthday is accepted, the month before is not.
        assert!(Nip::parse("198503302000031001", today()).is_ok());
        assert_eq!(code("198503302000021001"), "nip_appointment_too_early");
    }

    #[test]
    fn compares_pppk_appointment_by_year() {
        assert!(Nip::parse("200712312022211001", today()).is_ok());
        assert_eq!(code("200801012022211001"), "nip_appointment_too_early");
    }

    #[test]
    fn rejects_appointment_after_today() {
        assert!(Nip::parse("198503302026111001", today()).is_ok());
        assert_eq!(code("198503302026121001"), "nip_appointment_future");
        assert_eq!(code("199001012027211001"), "nip_appointment_future");
    }

    #[test]
    fn rejects_nip_with_gender_digit_3() {
        assert_eq!(code("198503302010013001"), "nip_gender");
    }

    #[test]
    fn rejects_nip_with_serial_000() {
        assert_eq!(code("198503302010011000"), "nip_serial");
    }

    #[test]
    fn rejects_nip_that_went_through_excel_as_a_number() {
        for input in [
            "1.98503E+17",
            "1,98503E+17",
            "1.98503302010011E+17",
            "1.98503e17",
            "198503302010011000.00",
            "198503302010011000,0",
        ] {
            let e = Nip::parse(input, today()).unwrap_err();
            assert_eq!(e.code, "nip_excel_number", "{input}");
            assert!(e.message.contains("Teks"));
        }
    }

    #[test]
    fn grouped_with_dots_is_not_mistaken_for_excel() {
        assert!(!looks_like_excel_number("19850330.201001.1.001"));
        assert!(!looks_like_excel_number("198503302010011001"));
    }

    #[test]
    fn parses_siasn_kind_names() {
        for (s, k) in [
            ("PNS", EmployeeKind::Pns),
            ("PNS Daerah", EmployeeKind::Pns),
            ("pns pusat", EmployeeKind::Pns),
            ("CPNS", EmployeeKind::Pns),
            ("PPPK", EmployeeKind::Pppk),
            ("PPPK Paruh Waktu", EmployeeKind::Pppk),
            ("Non ASN", EmployeeKind::NonAsn),
            ("NON_ASN", EmployeeKind::NonAsn),
            ("non-asn", EmployeeKind::NonAsn),
        ] {
            assert_eq!(EmployeeKind::parse(s), Some(k), "{s}");
        }
        assert_eq!(EmployeeKind::parse(""), None);
        assert_eq!(EmployeeKind::parse("Honorer"), None);
        assert_eq!(EmployeeKind::NonAsn.as_str(), "NON_ASN");
    }

    #[test]
    fn accepts_staff_number() {
        let s = StaffNumber::parse(" TKPK/2024/00017 ").unwrap();
        assert_eq!(s.as_str(), "TKPK/2024/00017");
    }

    #[test]
    fn refuses_nik_like_staff_number() {
        assert_eq!(
            StaffNumber::parse("3372010101900001").unwrap_err().code,
            "staff_number_nik"
        );
        assert_eq!(
            StaffNumber::parse("3372-0101-0190-0001").unwrap_err().code,
            "staff_number_nik"
        );
        assert!(StaffNumber::parse("337201010190001").is_ok());
    }

    #[test]
    fn refuses_bad_staff_numbers() {
        assert_eq!(
            StaffNumber::parse("").unwrap_err().code,
            "staff_number_required"
        );
        assert_eq!(
            StaffNumber::parse("TK 01").unwrap_err().code,
            "staff_number_invalid"
        );
        assert_eq!(
            StaffNumber::parse(&"A".repeat(33)).unwrap_err().code,
            "staff_number_too_long"
        );
        assert!(StaffNumber::parse(&"A".repeat(32)).is_ok());
    }

    #[test]
    fn staff_id_rejects_declared_kind_that_contradicts_digit_13() {
        let e = StaffId::parse(EmployeeKind::Pns, "199001012022211001", today()).unwrap_err();
        assert_eq!(e.code, "kind_mismatch");
        assert!(e.message.contains("PPPK"));
        let e = StaffId::parse(EmployeeKind::Pppk, "198503302010011001", today()).unwrap_err();
        assert_eq!(e.code, "kind_mismatch");
    }

    #[test]
    fn staff_id_values_for_nip() {
        let id = StaffId::parse(EmployeeKind::Pns, "19850330 201001 1 001", today()).unwrap();
        assert_eq!(id.as_str(), "198503302010011001");
        assert_eq!(id.statement_value(), "198503302010011001");
        assert_eq!(id.record_nip(), 198_503_302_010_011_001);
        assert_eq!(id.display(), "19850330 201001 1 001");
        assert_eq!(id.masked(), "19850330 201001 1 001");
    }

    #[test]
    fn staff_id_values_for_staff_number() {
        let id = StaffId::parse(EmployeeKind::NonAsn, "TKPK/2024/00017", today()).unwrap();
        assert_eq!(id.as_str(), "TKPK/2024/00017");
        assert_eq!(id.statement_value(), "staff:TKPK/2024/00017");
        assert_eq!(id.record_nip(), 0);
        assert_eq!(id.display(), "TKPK/2024/00017");
        assert_eq!(id.masked(), "***017");
        let short = StaffId::parse(EmployeeKind::NonAsn, "A1", today()).unwrap();
        assert_eq!(short.masked(), "***");
    }

    proptest! {
        #[test]
        fn nip_parse_never_panics(s in "\\PC{0,40}") {
            let _ = Nip::parse(&s, today());
        }

        #[test]
        fn nip_parse_accepts_generated_valid_nips(
            y in 1950i32..2000, m in 1u32..=12, day in 1u32..=28,
            tmt_off in 20i32..26, tm in 1u32..=12, g in 1u32..=2, serial in 1u32..=999,
            pppk in any::<bool>(),
        ) {
            let s = if pppk {
                format!("{y:04}{m:02}{day:02}{:04}21{g}{serial:03}", 2021 + tmt_off % 5)
            } else {
                format!("{y:04}{m:02}{day:02}{:04}{tm:02}{g}{serial:03}", y + tmt_off)
            };
            let nip = Nip::parse(&s, today()).unwrap();
            prop_assert_eq!(nip.as_str(), s.as_str());
            prop_assert_eq!(nip.to_u64().to_string(), s.clone());
            prop_assert_eq!(nip.grouped().replace(' ', ""), s);
            prop_assert_eq!(nip.kind() == EmployeeKind::Pppk, pppk);
        }

        #[test]
        fn staff_number_parse_never_panics_and_keeps_rules(s in "\\PC{0,40}") {
            if let Ok(n) = StaffNumber::parse(&s) {
                prop_assert!(n.as_str().len() <= 32 && !n.as_str().is_empty());
                prop_assert!(n.as_str().chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/'));
            }
        }
    }
    #[test]
    fn normalize_identifier_strips_nip_separators_only() {
        for written in [
            "198503302010011001",
            " 19850330 201001 1 001 ",
            "19850330.201001.1.001",
            "19850330-201001-1-001",
        ] {
            assert_eq!(
                normalize_identifier(written),
                "198503302010011001",
                "{written}"
            );
        }
        assert_eq!(normalize_identifier(" HON-2024/017 "), "HON-2024/017");
        assert_eq!(normalize_identifier("12-34"), "12-34");
    }
}
