//! Instansi (tenant) rules: codes and the three Indonesian time zones.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike, Utc};

use super::ValidationError;

/// Indonesia's zones have no daylight saving time, so a fixed offset per zone is exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeZone {
    /// WIB, UTC+7
    Jakarta,
    /// WITA, UTC+8
    Makassar,
    /// WIT, UTC+9
    Jayapura,
}

impl TimeZone {
    pub fn parse(s: &str) -> Result<TimeZone, ValidationError> {
        match s.trim() {
            "Asia/Jakarta" | "Asia/Pontianak" | "WIB" => Ok(TimeZone::Jakarta),
            "Asia/Makassar" | "WITA" => Ok(TimeZone::Makassar),
            "Asia/Jayapura" | "WIT" => Ok(TimeZone::Jayapura),
            other => Err(ValidationError::new(
                "tz_unknown",
                "tz",
                format!(
                    "Zona waktu '{other}' tidak dikenal; gunakan Asia/Jakarta, Asia/Makassar atau Asia/Jayapura."
                ),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TimeZone::Jakarta => "Asia/Jakarta",
            TimeZone::Makassar => "Asia/Makassar",
            TimeZone::Jayapura => "Asia/Jayapura",
        }
    }

    /// The zone as Indonesians write it after a time: WIB, WITA or WIT.
    pub fn abbreviation(self) -> &'static str {
        match self {
            TimeZone::Jakarta => "WIB",
            TimeZone::Makassar => "WITA",
            TimeZone::Jayapura => "WIT",
        }
    }

    /// The zone whose offset this is, if it is one of Indonesia's.
    pub fn from_offset(offset: FixedOffset) -> Option<TimeZone> {
        match offset.local_minus_utc() {
            25_200 => Some(TimeZone::Jakarta),
            28_800 => Some(TimeZone::Makassar),
            32_400 => Some(TimeZone::Jayapura),
            _ => None,
        }
    }

    pub fn offset(self) -> FixedOffset {
        let hours = match self {
            TimeZone::Jakarta => 7,
            TimeZone::Makassar => 8,
            TimeZone::Jayapura => 9,
        };
        FixedOffset::east_opt(hours * 3600).expect("offsets of +7..+9 hours are in range")
    }

    /// Unix seconds in this zone.
    pub fn at(self, unix: i64) -> DateTime<FixedOffset> {
        DateTime::<Utc>::from_timestamp(unix, 0)
            .unwrap_or_default()
            .with_timezone(&self.offset())
    }
}

/// A stored zone name, read back from a row.
impl TryFrom<String> for TimeZone {
    type Error = ValidationError;

    fn try_from(s: String) -> Result<Self, ValidationError> {
        TimeZone::parse(&s)
    }
}

/// Today in Indonesia's latest zone (WIT): a NIP appointed "today" anywhere in Indonesia is
/// valid.
pub fn today_in_indonesia() -> chrono::NaiveDate {
    Utc::now()
        .with_timezone(&TimeZone::Jayapura.offset())
        .date_naive()
}

/// An instansi code: lowercase letters, digits and `-`, 2 to 40 characters (`surakarta`).
pub fn parse_code(s: &str) -> Result<String, ValidationError> {
    let ok = (2..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(ValidationError::new(
            "instansi_code_invalid",
            "code",
            "Kode instansi hanya boleh berisi huruf kecil, angka dan tanda '-', 2 sampai 40 karakter.",
        ))
    }
}

/// A date as printed on Indonesian documents: `29 November 2026`.
pub fn tanggal(date: NaiveDate) -> String {
    const BULAN: [&str; 12] = [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ];
    format!(
        "{} {} {}",
        date.day(),
        BULAN[date.month0() as usize],
        date.year()
    )
}

/// A moment as public pages show it: `29 November 2026 pukul 08.15 WIB`, in the zone of
/// its offset (an offset outside Indonesia's three is shown as `UTC+hh:mm`).
pub fn waktu(t: DateTime<FixedOffset>) -> String {
    let zone = TimeZone::from_offset(*t.offset())
        .map(|z| z.abbreviation().to_string())
        .unwrap_or_else(|| format!("UTC{}", t.offset()));
    format!(
        "{} pukul {:02}.{:02} {zone}",
        tanggal(t.date_naive()),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates_with_indonesian_month_names() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a date");
        assert_eq!(tanggal(d(2026, 11, 29)), "29 November 2026");
        assert_eq!(tanggal(d(2025, 8, 1)), "1 Agustus 2025");
        assert_eq!(tanggal(d(2024, 2, 29)), "29 Februari 2024");
    }

    #[test]
    fn public_pages_write_the_time_in_indonesian_with_the_zone() {
        // 2026-11-29 01:15 UTC.
        let at = 1_795_914_900;
        assert_eq!(
            waktu(TimeZone::Jakarta.at(at)),
            "29 November 2026 pukul 08.15 WIB"
        );
        assert_eq!(
            waktu(TimeZone::Makassar.at(at)),
            "29 November 2026 pukul 09.15 WITA"
        );
        assert_eq!(
            waktu(TimeZone::Jayapura.at(at)),
            "29 November 2026 pukul 10.15 WIT"
        );
        let utc = DateTime::parse_from_rfc3339("2026-01-05T23:59:00+00:00").expect("time");
        assert_eq!(waktu(utc), "5 Januari 2026 pukul 23.59 UTC+00:00");
    }

    #[test]
    fn formats_local_time_with_zone_offset() {
        let t = TimeZone::Jayapura.at(0);
        assert_eq!(t.to_rfc3339(), "1970-01-01T09:00:00+09:00");
    }

    #[test]
    fn rejects_unknown_zone_and_bad_code() {
        assert_eq!(
            TimeZone::parse("Europe/Berlin").expect_err("unknown").code,
            "tz_unknown"
        );
        assert!(parse_code("Surakarta").is_err());
        assert!(parse_code("kota-surakarta").is_ok());
    }
}
