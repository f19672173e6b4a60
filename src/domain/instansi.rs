//! Instansi (tenant) rules: codes and the three Indonesian time zones.

use chrono::{DateTime, FixedOffset, Utc};

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

#[cfg(test)]
mod tests {
    use super::*;

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
