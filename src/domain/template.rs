//! Pledge texts: the TOML form a superadmin adds, its validation, the canonical text whose
//! SHA-256 identifies a template version (SPEC 2), `{instansi}` substitution, and the two
//! texts shipped with the product.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::ValidationError;
use super::text;

/// The only placeholder a template may use.
pub const INSTANSI_PLACEHOLDER: &str = "{instansi}";
/// Most points a template may have.
pub const MAX_POINTS: usize = 20;

/// One version of a pledge text.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub code: String,
    pub version: u32,
    pub title: String,
    pub preamble: String,
    pub points: Vec<String>,
    pub closing: String,
    /// The words above the signature on the PDF (`Yang berikrar,` for an ikrar). Not part
    /// of the canonical text; see [`Template::sign_off`] when a template has none.
    #[serde(default)]
    pub sign_off: Option<String>,
}

/// The sign-off of a template that names none: right for any statement.
pub const DEFAULT_SIGN_OFF: &str = "Yang menyatakan,";

impl Template {
    /// The words above the signature: the template's own; for a shipped template stored
    /// before sign-offs were template data, the shipped text's; otherwise
    /// [`DEFAULT_SIGN_OFF`].
    pub fn sign_off(&self) -> String {
        if let Some(s) = &self.sign_off {
            return s.clone();
        }
        builtin()
            .into_iter()
            .find(|b| b.code == self.code && b.version == self.version)
            .and_then(|b| b.sign_off)
            .unwrap_or_else(|| DEFAULT_SIGN_OFF.to_string())
    }

    /// Reads and validates a template file: code `[a-z0-9-]+`, version ≥ 1, non-empty texts
    /// on one line each, 1 to 20 points, and no placeholder other than `{instansi}`.
    pub fn from_toml(s: &str) -> Result<Template, ValidationError> {
        let t: Template = toml::from_str(s).map_err(|e| {
            ValidationError::new(
                "template_toml",
                "template",
                format!(
                    "Berkas templat bukan TOML yang sah atau kolomnya tidak sesuai \
                     (code, version, title, preamble, points, closing): {}",
                    e.message()
                ),
            )
        })?;
        t.validate()?;
        Ok(t)
    }

    fn validate(&self) -> Result<(), ValidationError> {
        if !is_code(&self.code) {
            return Err(ValidationError::new(
                "template_code",
                "code",
                "Kode templat hanya boleh berisi huruf kecil, angka, dan tanda \"-\", \
                 misalnya \"pakta-integritas\".",
            ));
        }
        if self.version == 0 {
            return Err(ValidationError::new(
                "template_version",
                "version",
                "Versi templat harus bilangan bulat mulai dari 1.",
            ));
        }
        if self.points.is_empty() || self.points.len() > MAX_POINTS {
            return Err(ValidationError::new(
                "template_points",
                "points",
                format!(
                    "Templat harus memiliki 1 sampai {MAX_POINTS} butir, tetapi berisi {} butir.",
                    self.points.len()
                ),
            ));
        }
        check_text("title", &self.title)?;
        check_text("preamble", &self.preamble)?;
        for (i, p) in self.points.iter().enumerate() {
            check_text(&format!("points[{}]", i + 1), p)?;
        }
        check_text("closing", &self.closing)?;
        if let Some(sign_off) = &self.sign_off {
            check_text("sign_off", sign_off)?;
            if sign_off.chars().count() > 60 {
                return Err(ValidationError::new(
                    "template_sign_off",
                    "sign_off",
                    "Kalimat di atas tanda tangan (sign_off) paling banyak 60 karakter.",
                ));
            }
        }
        Ok(())
    }

    /// SPEC 2: the title, an empty line, the preamble, each point as `N. text`, an empty
    /// line, the closing; every line LF-terminated; placeholders left unsubstituted.
    pub fn canonical_text(&self) -> String {
        let mut s = String::new();
        s.push_str(&self.title);
        s.push_str("\n\n");
        s.push_str(&self.preamble);
        s.push('\n');
        for (i, p) in self.points.iter().enumerate() {
            s.push_str(&format!("{}. {p}\n", i + 1));
        }
        s.push('\n');
        s.push_str(&self.closing);
        s.push('\n');
        s
    }

    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(self.canonical_text().as_bytes()).into()
    }

    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256())
    }

    /// `code@version`, as in a statement's `template:` line.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.code, self.version)
    }

    /// The text as a signer reads it: `{instansi}` replaced everywhere. The result's hash
    /// is not the template's identity; only the unsubstituted text is.
    pub fn render(&self, instansi_name: &str) -> Template {
        let sub = |s: &String| s.replace(INSTANSI_PLACEHOLDER, instansi_name);
        Template {
            code: self.code.clone(),
            version: self.version,
            title: sub(&self.title),
            preamble: sub(&self.preamble),
            points: self.points.iter().map(sub).collect(),
            closing: sub(&self.closing),
            sign_off: Some(sub(&self.sign_off())),
        }
    }
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A text must be non-empty, already normalised (one line, no doubled or edge spaces:
/// the canonical text is hashed as written, so an invisible difference would make a new
/// identity), and use no placeholder except `{instansi}`.
fn check_text(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(
            "template_text_empty",
            field,
            format!("Teks \"{field}\" pada templat tidak boleh kosong."),
        ));
    }
    let cleaned = text::clean(value, field)?;
    if cleaned != value {
        return Err(ValidationError::new(
            "template_text_whitespace",
            field,
            format!(
                "Teks \"{field}\" pada templat harus satu baris tanpa spasi ganda atau spasi di \
                 awal/akhir, dalam bentuk Unicode NFC. Rapikan teksnya lalu coba lagi."
            ),
        ));
    }
    let without = value.replace(INSTANSI_PLACEHOLDER, "");
    if without.contains(['{', '}']) {
        return Err(ValidationError::new(
            "template_placeholder",
            field,
            format!(
                "Teks \"{field}\" pada templat memuat tanda kurung kurawal selain {INSTANSI_PLACEHOLDER}. \
                 Satu-satunya penanda yang diizinkan adalah {INSTANSI_PLACEHOLDER}."
            ),
        ));
    }
    Ok(())
}

/// The shipped texts, in template_no order: 1 = `ikrar-netralitas-2024@1`,
/// 2 = `pakta-integritas@1`.
pub fn builtin() -> Vec<Template> {
    [
        include_str!("../../templates/pledge/ikrar-netralitas-2024.v1.toml"),
        include_str!("../../templates/pledge/pakta-integritas.v1.toml"),
    ]
    .into_iter()
    .map(|s| Template::from_toml(s).expect("shipped templates are valid (tested)"))
    .collect()
}

/// Parses `code@version` (version without sign or leading zeros, at least 1).
pub fn parse_reference(s: &str) -> Option<(String, u32)> {
    let (code, version) = s.rsplit_once('@')?;
    if !is_code(code)
        || version.is_empty()
        || version.starts_with('0')
        || !version.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let version: u32 = version.parse().ok()?;
    Some((code.to_owned(), version))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first unexpected result"
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_sign_off_follows_the_template() {
        let b = builtin();
        assert_eq!(b[0].sign_off(), "Yang berikrar,");
        assert_eq!(
            b[1].sign_off(),
            "Yang menyatakan,",
            "a pakta integritas is no ikrar"
        );
        // A shipped template stored before sign-offs were data still gets its own.
        let stored = Template {
            sign_off: None,
            ..b[0].clone()
        };
        assert_eq!(stored.sign_off(), "Yang berikrar,");
        assert_eq!(stored.sha256(), b[0].sha256(), "not part of the identity");
        let other = Template {
            code: "lain".into(),
            sign_off: None,
            ..b[0].clone()
        };
        assert_eq!(other.sign_off(), DEFAULT_SIGN_OFF);
        assert_eq!(b[0].render("Kota X").sign_off(), "Yang berikrar,");
    }

    const MINIMAL: &str = r#"
code = "uji"
version = 2
title = "JUDUL"
preamble = "Pembuka."
points = ["Satu di {instansi}.", "Dua."]
closing = "Penutup."
"#;

    #[test]
    fn builtin_netralitas_matches_known_answer() {
        let t = &builtin()[0];
        assert_eq!(t.reference(), "ikrar-netralitas-2024@1");
        assert_eq!(t.points.len(), 4);
        assert_eq!(
            t.sha256_hex(),
            "2a9575efff73ceadb688caf684912d2c5607229f76d5ad36144b4f12f5a86379"
        );
    }

    #[test]
    fn builtin_pakta_integritas_matches_known_answer() {
        let t = &builtin()[1];
        assert_eq!(t.reference(), "pakta-integritas@1");
        assert_eq!(t.points.len(), 7);
        assert_eq!(
            t.sha256_hex(),
            "d59e615bc1e26fc9953685688c8ee6629c9b2446fdc680ad6ea692779a654cf1"
        );
    }

    #[test]
    fn canonical_text_has_numbered_points_and_blank_lines() {
        let t = Template::from_toml(MINIMAL).unwrap();
        assert_eq!(
            t.canonical_text(),
            "JUDUL\n\nPembuka.\n1. Satu di {instansi}.\n2. Dua.\n\nPenutup.\n"
        );
    }

    #[test]
    fn render_substitutes_instansi_but_keeps_identity() {
        let t = &builtin()[1];
        let r = t.render("Pemerintah Kota Surakarta");
        assert!(r.points[5].contains("di Pemerintah Kota Surakarta serta"));
        assert!(!r.canonical_text().contains("{instansi}"));
        assert_eq!(r.reference(), t.reference());
    }

    #[test]
    fn rejects_template_with_unknown_placeholder() {
        let s = MINIMAL.replace("Dua.", "Dua {nama}.");
        let e = Template::from_toml(&s).unwrap_err();
        assert_eq!(e.code, "template_placeholder");
        assert_eq!(e.field, "points[2]");
    }

    #[test]
    fn rejects_template_with_bad_code_or_version() {
        let e = Template::from_toml(&MINIMAL.replace("\"uji\"", "\"Uji Coba\"")).unwrap_err();
        assert_eq!(e.code, "template_code");
        let e = Template::from_toml(&MINIMAL.replace("version = 2", "version = 0")).unwrap_err();
        assert_eq!(e.code, "template_version");
    }

    #[test]
    fn rejects_template_without_points_or_with_too_many() {
        let none = MINIMAL.replace("[\"Satu di {instansi}.\", \"Dua.\"]", "[]");
        assert_eq!(
            Template::from_toml(&none).unwrap_err().code,
            "template_points"
        );
        let many = format!("[{}]", vec!["\"x\""; 21].join(","));
        let many = MINIMAL.replace("[\"Satu di {instansi}.\", \"Dua.\"]", &many);
        assert_eq!(
            Template::from_toml(&many).unwrap_err().code,
            "template_points"
        );
    }

    #[test]
    fn rejects_empty_or_multiline_texts() {
        let e = Template::from_toml(&MINIMAL.replace("\"Penutup.\"", "\" \"")).unwrap_err();
        assert_eq!(
            (e.code, e.field.as_str()),
            ("template_text_empty", "closing")
        );
        let e = Template::from_toml(&MINIMAL.replace("\"JUDUL\"", "\"JU\\nDUL\"")).unwrap_err();
        assert_eq!(
            (e.code, e.field.as_str()),
            ("template_text_whitespace", "title")
        );
    }

    #[test]
    fn rejects_malformed_or_unknown_keys() {
        assert_eq!(
            Template::from_toml("code = ").unwrap_err().code,
            "template_toml"
        );
        let extra = format!("{MINIMAL}nomor = 3\n");
        assert_eq!(
            Template::from_toml(&extra).unwrap_err().code,
            "template_toml"
        );
    }

    #[test]
    fn parses_references() {
        assert_eq!(
            parse_reference("ikrar-netralitas-2024@1"),
            Some(("ikrar-netralitas-2024".to_owned(), 1))
        );
        for bad in [
            "",
            "x",
            "x@",
            "@1",
            "x@0",
            "x@01",
            "x@+1",
            "X@1",
            "x@1.0",
            "x@99999999999",
        ] {
            assert_eq!(parse_reference(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn reference_round_trips(code in "[a-z0-9-]{1,30}", version in 1u32..) {
            let s = format!("{code}@{version}");
            prop_assert_eq!(parse_reference(&s), Some((code, version)));
        }

        #[test]
        fn parse_reference_never_panics(s in "\\PC{0,40}") {
            let _ = parse_reference(&s);
        }
    }
}
