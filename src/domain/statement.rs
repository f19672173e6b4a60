//! The statement (SPEC 3.1): the exact text a signer agreed to, built and parsed strictly.

use chrono::{DateTime, FixedOffset};

use super::ValidationError;
use super::text::statement_value;

pub const STATEMENT_HEADER: &str = "ikrar-statement/v1";

const KEYS: [&str; 10] = [
    "instansi",
    "campaign",
    "template",
    "nip",
    "name",
    "position",
    "unit",
    "signed-at",
    "consent",
    "mark",
];

/// The ten values of a statement, as written (already normalised; `-` for empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub instansi: String,
    /// `<campaign id> <title>`
    pub campaign: String,
    /// `<code>@<version> sha256:<hex>`
    pub template: String,
    /// NIP digits, or `staff:<number>`
    pub nip: String,
    pub name: String,
    pub position: String,
    pub unit: String,
    /// RFC 3339 in the instansi's offset, to the second
    pub signed_at: String,
    pub consent: String,
    /// `sha256:<hex>` or `none`
    pub mark: String,
}

/// Everything a statement needs except the signing time, which only the sequencer knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementDraft {
    pub instansi: String,
    pub campaign_id: i64,
    pub campaign_title: String,
    pub template_ref: String,
    pub template_sha256_hex: String,
    pub nip: String,
    pub name: String,
    pub position: Option<String>,
    pub unit: String,
    pub consent: String,
    pub mark: String,
}

impl StatementDraft {
    pub fn complete(&self, signed_at: DateTime<FixedOffset>) -> Statement {
        Statement {
            instansi: statement_value(&self.instansi),
            campaign: statement_value(&format!("{} {}", self.campaign_id, self.campaign_title)),
            template: format!("{} sha256:{}", self.template_ref, self.template_sha256_hex),
            nip: statement_value(&self.nip),
            name: statement_value(&self.name),
            position: statement_value(self.position.as_deref().unwrap_or("")),
            unit: statement_value(&self.unit),
            signed_at: format_time(signed_at),
            consent: statement_value(&self.consent),
            mark: self.mark.clone(),
        }
    }
}

/// RFC 3339 to the second with a numeric offset (`+07:00`, never `Z`).
pub fn format_time(t: DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

impl Statement {
    fn values(&self) -> [&str; 10] {
        [
            &self.instansi,
            &self.campaign,
            &self.template,
            &self.nip,
            &self.name,
            &self.position,
            &self.unit,
            &self.signed_at,
            &self.consent,
            &self.mark,
        ]
    }

    /// The exact bytes that are hashed into the record.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(512);
        out.push_str(STATEMENT_HEADER);
        out.push('\n');
        for (key, value) in KEYS.iter().zip(self.values()) {
            out.push_str(key);
            out.push_str(": ");
            out.push_str(value);
            out.push('\n');
        }
        out
    }

    pub fn sha256(&self) -> [u8; 32] {
        sha256(self.to_text().as_bytes())
    }

    /// Strict parser: exactly 11 LF-terminated lines, keys in order, nothing after.
    pub fn parse(text: &str) -> Result<Statement, ValidationError> {
        let bad = |why: &str| {
            ValidationError::new(
                "statement_invalid",
                "statement",
                format!("Teks pernyataan tidak sah: {why}."),
            )
        };
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("baris terakhir tidak diakhiri LF"))?;
        let mut lines = body.split('\n');
        if lines.next() != Some(STATEMENT_HEADER) {
            return Err(bad("baris pertama harus ikrar-statement/v1"));
        }
        let mut values: Vec<String> = Vec::with_capacity(10);
        for key in KEYS {
            let line = lines
                .next()
                .ok_or_else(|| bad(&format!("baris {key} tidak ada")))?;
            let (k, v) = line
                .split_once(": ")
                .ok_or_else(|| bad(&format!("baris {key} tidak berformat 'kunci: nilai'")))?;
            if k != key {
                return Err(bad(&format!("diharapkan {key}, tertulis {k}")));
            }
            if v.is_empty() || v.contains('\r') {
                return Err(bad(&format!("nilai {key} kosong atau berisi CR")));
            }
            values.push(v.to_string());
        }
        if lines.next().is_some() {
            return Err(bad("ada baris tambahan"));
        }
        let mut it = values.into_iter();
        let mut next = || it.next().expect("ten values were collected above");
        Ok(Statement {
            instansi: next(),
            campaign: next(),
            template: next(),
            nip: next(),
            name: next(),
            position: next(),
            unit: next(),
            signed_at: next(),
            consent: next(),
            mark: next(),
        })
    }
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn draft() -> StatementDraft {
        StatementDraft {
            instansi: "Pemerintah Kota Surakarta".into(),
            campaign_id: 17,
            campaign_title: "Ikrar Netralitas ASN — HUT Korpri ke-53".into(),
            template_ref: "ikrar-netralitas-2024@1".into(),
            template_sha256_hex: "2a9575efff73ceadb688caf684912d2c5607229f76d5ad36144b4f12f5a86379"
                .into(),
            nip: "198503302010011001".into(),
            name: "Dr. Budi  Santoso, S.Kom., M.T.".into(),
            position: None,
            unit: "Dinas Komunikasi dan Informatika".into(),
            consent: " Budi Santoso ".into(),
            mark: "none".into(),
        }
    }

    fn at() -> DateTime<FixedOffset> {
        FixedOffset::east_opt(7 * 3600)
            .expect("valid offset")
            .with_ymd_and_hms(2026, 11, 29, 8, 15, 2)
            .single()
            .expect("unambiguous")
    }

    #[test]
    fn writes_eleven_lines_in_spec_order() {
        let text = draft().complete(at()).to_text();
        assert_eq!(
            text,
            "ikrar-statement/v1\n\
             instansi: Pemerintah Kota Surakarta\n\
             campaign: 17 Ikrar Netralitas ASN — HUT Korpri ke-53\n\
             template: ikrar-netralitas-2024@1 sha256:2a9575efff73ceadb688caf684912d2c5607229f76d5ad36144b4f12f5a86379\n\
             nip: 198503302010011001\n\
             name: Dr. Budi Santoso, S.Kom., M.T.\n\
             position: -\n\
             unit: Dinas Komunikasi dan Informatika\n\
             signed-at: 2026-11-29T08:15:02+07:00\n\
             consent: Budi Santoso\n\
             mark: none\n"
        );
    }

    #[test]
    fn parses_what_it_writes() {
        let s = draft().complete(at());
        assert_eq!(Statement::parse(&s.to_text()).expect("parses"), s);
    }

    #[test]
    fn rejects_reordered_extra_or_unterminated_lines() {
        let text = draft().complete(at()).to_text();
        assert!(Statement::parse(text.trim_end()).is_err());
        assert!(Statement::parse(&format!("{text}extra: x\n")).is_err());
        let swapped = text.replace("nip: ", "nix: ");
        assert!(Statement::parse(&swapped).is_err());
        assert!(Statement::parse(&text.replace('\n', "\r\n")).is_err());
    }
}
