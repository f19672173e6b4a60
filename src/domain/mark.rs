//! The drawn signature (SPEC 3.7): path data in its one canonical form, checked strictly
//! and never repaired, so that the `mark:` hash in a statement names exactly one drawing.

use sha2::{Digest, Sha256};

use super::ValidationError;

const FIELD: &str = "mark_svg";

/// A drawn signature in canonical form: `M12 34L56 78…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark(String);

impl Mark {
    /// Largest accepted mark, in bytes.
    pub const MAX_BYTES: usize = 32 * 1024;
    /// Largest coordinate on either axis.
    pub const MAX_COORD: u16 = 4096;

    /// Strict: only the canonical form `M12 34L56 78…` (M then L commands, integers
    /// 0..=4096 without leading zeros or signs, exactly one space between the two numbers
    /// of a point, no other characters, first command M), at most 32 KiB. Anything else is
    /// refused (`mark_invalid` saying where and what, or `mark_too_large`); nothing is
    /// ever cleaned, because a cleaned mark would no longer be what the client hashed.
    pub fn parse(s: &str) -> Result<Mark, ValidationError> {
        if s.len() > Self::MAX_BYTES {
            return Err(ValidationError::new(
                "mark_too_large",
                FIELD,
                format!(
                    "Tanda tangan terlalu besar ({} byte; paling besar {} byte). \
                     Hapus tanda tangan lalu gambar ulang dengan goresan yang lebih sederhana.",
                    s.len(),
                    Self::MAX_BYTES
                ),
            ));
        }
        walk(s, |_, _, _| {})?;
        Ok(Mark(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the canonical form, lowercase hex.
    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The points of the drawing; each `M` starts a new stroke.
    pub fn strokes(&self) -> Vec<Vec<(u16, u16)>> {
        let mut strokes: Vec<Vec<(u16, u16)>> = Vec::new();
        // The string was checked when the Mark was built, so the walk cannot fail.
        let _ = walk(&self.0, |is_move, x, y| {
            if is_move || strokes.is_empty() {
                strokes.push(Vec::new());
            }
            if let Some(stroke) = strokes.last_mut() {
                stroke.push((x, y));
            }
        });
        strokes
    }
}

/// The statement's `mark:` value: `sha256:<hex>`, or `none` without a drawing.
pub fn mark_line_value(mark: Option<&Mark>) -> String {
    match mark {
        Some(m) => format!("sha256:{}", m.sha256_hex()),
        None => "none".to_owned(),
    }
}

fn invalid(pos: usize, what: impl std::fmt::Display) -> ValidationError {
    ValidationError::new(
        "mark_invalid",
        FIELD,
        format!(
            "Data tanda tangan tidak sah pada karakter ke-{}: {what}. \
             Hapus tanda tangan lalu gambar ulang; jika masalah berlanjut, muat ulang halaman.",
            pos + 1
        ),
    )
}

/// Checks the grammar and reports every point as `(is_move, x, y)`.
fn walk(s: &str, mut point: impl FnMut(bool, u16, u16)) -> Result<(), ValidationError> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(ValidationError::new(
            "mark_invalid",
            FIELD,
            "Data tanda tangan kosong. Gambar tanda tangan terlebih dahulu, atau kosongkan isian ini \
             jika tanda tangan tidak diminta.",
        ));
    }
    let mut i = 0;
    while i < b.len() {
        let is_move = match b[i] {
            b'M' => true,
            b'L' if i > 0 => false,
            b'L' => return Err(invalid(i, "perintah pertama harus \"M\"")),
            _ => return Err(invalid(i, describe(s, i, "perintah \"M\" atau \"L\""))),
        };
        i += 1;
        let x = number(s, &mut i)?;
        if b.get(i) != Some(&b' ') {
            return Err(invalid(
                i,
                describe(s, i, "tepat satu spasi di antara dua angka"),
            ));
        }
        i += 1;
        let y = number(s, &mut i)?;
        point(is_move, x, y);
    }
    Ok(())
}

/// Reads one coordinate at `*i`, advancing past it.
fn number(s: &str, i: &mut usize) -> Result<u16, ValidationError> {
    let b = s.as_bytes();
    let start = *i;
    while *i < b.len() && b[*i].is_ascii_digit() {
        *i += 1;
        if *i - start > 4 {
            return Err(invalid(start, "angka koordinat melebihi 4096"));
        }
    }
    if *i == start {
        return Err(invalid(start, describe(s, start, "angka koordinat")));
    }
    if b[start] == b'0' && *i - start > 1 {
        return Err(invalid(start, "angka koordinat tidak boleh diawali nol"));
    }
    let value = b[start..*i]
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    if value > Mark::MAX_COORD {
        return Err(invalid(start, "angka koordinat melebihi 4096"));
    }
    Ok(value)
}

/// "expected …, found …" in Indonesian, naming the offending character.
fn describe(s: &str, i: usize, expected: &str) -> String {
    match s.get(i..).and_then(|rest| rest.chars().next()) {
        None => format!("diharapkan {expected}, tetapi data berakhir"),
        Some(c) if c.is_ascii_graphic() => {
            format!("diharapkan {expected}, tetapi ditemukan \"{c}\"")
        }
        Some(c) => format!(
            "diharapkan {expected}, tetapi ditemukan karakter U+{:04X}",
            c as u32
        ),
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

    fn code(s: &str) -> &'static str {
        Mark::parse(s).unwrap_err().code
    }

    #[test]
    fn accepts_canonical_mark_and_splits_strokes() {
        let m = Mark::parse("M12 34L56 78L0 4096M1 2L3 4").unwrap();
        assert_eq!(
            m.strokes(),
            vec![vec![(12, 34), (56, 78), (0, 4096)], vec![(1, 2), (3, 4)]]
        );
    }

    #[test]
    fn accepts_single_point() {
        assert_eq!(Mark::parse("M0 0").unwrap().strokes(), vec![vec![(0, 0)]]);
    }

    #[test]
    fn rejects_mark_not_starting_with_move() {
        assert_eq!(code("L1 2"), "mark_invalid");
        assert_eq!(code(" M1 2"), "mark_invalid");
        assert_eq!(code(""), "mark_invalid");
    }

    #[test]
    fn rejects_non_canonical_spacing() {
        for s in [
            "M 1 2",
            "M1  2",
            "M1 2 L3 4",
            "M1,2",
            "M1 2 ",
            "M1 2\n",
            "M1\t2",
        ] {
            assert_eq!(code(s), "mark_invalid", "{s:?}");
        }
    }

    #[test]
    fn rejects_leading_zeros_signs_and_big_numbers() {
        for s in [
            "M01 2", "M1 -2", "M+1 2", "M4097 0", "M10000 0", "M1.5 2", "M1 00",
        ] {
            assert_eq!(code(s), "mark_invalid", "{s:?}");
        }
    }

    #[test]
    fn rejects_other_svg_commands_and_markup() {
        for s in ["M1 2C3 4", "m1 2", "M1 2Z", "<path d=\"M1 2\"/>", "M1 2L"] {
            assert_eq!(code(s), "mark_invalid", "{s:?}");
        }
    }

    #[test]
    fn says_where_the_mark_is_wrong() {
        let e = Mark::parse("M1 2X3 4").unwrap_err();
        assert_eq!(e.field, "mark_svg");
        assert!(e.message.contains("karakter ke-5"), "{}", e.message);
        assert!(e.message.contains("\"X\""), "{}", e.message);
    }

    #[test]
    fn rejects_mark_over_32_kib() {
        let mut s = String::from("M0 0");
        while s.len() <= Mark::MAX_BYTES {
            s.push_str("L4096 4096");
        }
        assert_eq!(code(&s), "mark_too_large");
        let fits: String = s[..Mark::MAX_BYTES - (Mark::MAX_BYTES - 4) % 10].to_owned();
        assert!(Mark::parse(&fits).is_ok());
    }

    #[test]
    fn mark_line_value_hashes_canonical_text() {
        let m = Mark::parse("M0 0").unwrap();
        // printf 'M0 0' | sha256sum
        assert_eq!(
            mark_line_value(Some(&m)),
            "sha256:22b2a2e90334ff6d368080abc16b4cf7117d79260a5269a00ad9e60fbd792933"
        );
        assert_eq!(mark_line_value(None), "none");
    }

    fn canonical(strokes: &[Vec<(u16, u16)>]) -> String {
        let mut s = String::new();
        for stroke in strokes {
            for (j, (x, y)) in stroke.iter().enumerate() {
                s.push(if j == 0 { 'M' } else { 'L' });
                s.push_str(&format!("{x} {y}"));
            }
        }
        s
    }

    proptest! {
        #[test]
        fn round_trips_canonical_strokes(
            strokes in prop::collection::vec(prop::collection::vec((0u16..=4096, 0u16..=4096), 1..8), 1..6)
        ) {
            let s = canonical(&strokes);
            let m = Mark::parse(&s).unwrap();
            prop_assert_eq!(m.as_str(), s.as_str());
            prop_assert_eq!(m.strokes(), strokes);
        }

        #[test]
        fn accepted_marks_are_their_own_canonical_form(s in "[ML0-9 ]{0,40}") {
            if let Ok(m) = Mark::parse(&s) {
                prop_assert_eq!(canonical(&m.strokes()), s);
            }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,60}") {
            let _ = Mark::parse(&s);
        }
    }
}
