//! Text rules shared by every value that people type or import: Unicode normalisation,
//! refusal of control characters, the statement's empty-value convention, byte-bounded
//! cutting, name masking for public pages and spreadsheet formula neutralisation.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

use super::ValidationError;

/// Unicode NFC, every run of white space folded to one space, trimmed.
///
/// NFC comes first so that a decomposed accent next to a space cannot survive as a
/// different byte sequence for the same visible text (the statement is hashed).
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfc() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Why a character is refused in text entering the system (SPEC 6): what is printed on
/// the PDF must read back as what was signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refused {
    /// C0/C1 controls other than tab and line breaks.
    Control,
    /// Unicode format characters (category Cf): zero-width spaces and joiners, bidi marks,
    /// overrides and isolates, the BOM, soft hyphens, tag characters. They are invisible
    /// or reorder text, so a name could read differently on screen than in the statement.
    Format,
    /// Private-use code points: their glyph depends on the font.
    PrivateUse,
    /// Code points unassigned in the Unicode version we know: no font draws them.
    Unassigned,
}

/// Tabs and line breaks are white space and are folded by [`normalize`]: a line break
/// typed with Alt+Enter inside an Excel cell is harmless.
fn refused(c: char) -> Option<Refused> {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    if c.is_ascii() {
        // The common case, decided without a table look-up.
        return (c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r'))
            .then_some(Refused::Control);
    }
    match c.general_category() {
        GeneralCategory::Control => Some(Refused::Control),
        GeneralCategory::Format => Some(Refused::Format),
        GeneralCategory::PrivateUse => Some(Refused::PrivateUse),
        GeneralCategory::Unassigned => Some(Refused::Unassigned),
        _ => None,
    }
}

/// For text entering the system (roster fields, consent name, reasons): refuses control
/// and format characters, private-use and unassigned code points; returns [`normalize`]d
/// text. An empty result is the caller's to judge.
pub fn clean(s: &str, field: &str) -> Result<String, ValidationError> {
    if let Some((i, c, why)) = s
        .chars()
        .enumerate()
        .find_map(|(i, c)| refused(c).map(|why| (i, c, why)))
    {
        let (code, what) = match why {
            Refused::Control => ("control_character", "karakter kendali tak terlihat"),
            Refused::Format => ("format_character", "karakter format tak terlihat"),
            Refused::PrivateUse => ("private_use_character", "karakter khusus yang tidak baku"),
            Refused::Unassigned => ("unassigned_character", "kode karakter yang tidak dikenal"),
        };
        return Err(ValidationError::new(
            code,
            field,
            format!(
                "Teks mengandung {what} (U+{:04X}) pada karakter ke-{}. \
                 Hapus karakter tersebut, misalnya dengan mengetik ulang teksnya, lalu coba lagi.",
                c as u32,
                i + 1
            ),
        ));
    }
    Ok(normalize(s))
}

/// A value as written into the statement (SPEC 3.1): normalised, and `-` when empty.
pub fn statement_value(s: &str) -> String {
    let v = normalize(s);
    if v.is_empty() { "-".to_owned() } else { v }
}

/// The longest prefix of `s` that fits in `max_bytes` without splitting a character.
pub fn cut_utf8(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A name as shown on public pages: each word reduced to its first letter followed by one
/// `*` per remaining character (`Budi Santoso` → `B*** S******`).
///
/// Academic and religious titles are dropped before masking, because a title such as
/// `Dr.` or `S.Kom.` says more about a person than an initial: everything from the first
/// comma on (post-nominal degrees, `Budi Santoso, S.Kom., M.T.`) and every leading word
/// ending in a dot (`Dr.`, `dr.`, `Ir.`, `H.`, `Prof.`). So `Dr. Budi Santoso, S.Kom.`
/// masks exactly like `Budi Santoso`. If nothing is left after dropping titles, every
/// word of the original is masked instead, so the result is never empty for a non-empty
/// name. Word lengths remain visible, as in the SPEC's example.
pub fn mask_name(name: &str) -> String {
    let normalized = normalize(name);
    let before_comma = normalized.split(',').next().unwrap_or_default();
    let words: Vec<&str> = before_comma
        .split(' ')
        .skip_while(|w| w.ends_with('.'))
        .filter(|w| !w.is_empty())
        .collect();
    let words = if words.is_empty() {
        normalized.split(' ').filter(|w| !w.is_empty()).collect()
    } else {
        words
    };
    words
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            let mut masked = String::with_capacity(w.len());
            if let Some(first) = chars.next() {
                masked.push(first);
            }
            masked.extend(chars.map(|_| '*'));
            masked
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Neutralises spreadsheet formula injection in a CSV or XLSX cell: a value starting with
/// `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe, which
/// spreadsheet programs read as "this is text".
pub fn spreadsheet_safe(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
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

    #[test]
    fn folds_white_space_runs_and_trims() {
        assert_eq!(normalize("  Budi \t\n Santoso\u{00A0} "), "Budi Santoso");
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" \t "), "");
    }

    #[test]
    fn composes_decomposed_accents() {
        assert_eq!(normalize("Jose\u{0301}"), "Jos\u{00E9}");
    }

    #[test]
    fn clean_refuses_control_characters_naming_the_field() {
        let err = clean("Budi\u{0007}", "nama").unwrap_err();
        assert_eq!(err.code, "control_character");
        assert_eq!(err.field, "nama");
        assert!(err.message.contains("U+0007"));
    }

    #[test]
    fn clean_refuses_bidi_and_zero_width_format_characters() {
        for (text, cp) in [
            ("Budi\u{202E}otnaS", "U+202E"),
            ("Bu\u{200B}di", "U+200B"),
            ("Budi\u{200D}", "U+200D"),
            ("\u{FEFF}Budi", "U+FEFF"),
            ("Bu\u{00AD}di", "U+00AD"),
            ("Budi\u{2066}x\u{2069}", "U+2066"),
            ("Budi\u{200F}", "U+200F"),
            ("Budi\u{E0041}", "U+E0041"),
        ] {
            let err = clean(text, "nama").unwrap_err();
            assert_eq!(err.code, "format_character", "{text:?}");
            assert!(err.message.contains(cp), "{}", err.message);
        }
    }

    #[test]
    fn clean_refuses_private_use_and_unassigned_code_points() {
        assert_eq!(
            clean("Budi\u{E000}", "nama").unwrap_err().code,
            "private_use_character"
        );
        assert_eq!(
            clean("Budi\u{0378}", "nama").unwrap_err().code,
            "unassigned_character"
        );
        assert_eq!(
            clean("Budi\u{0085}", "nama").unwrap_err().code,
            "control_character"
        );
    }

    #[test]
    fn clean_keeps_letters_of_every_script_and_emoji_free_names() {
        for name in [
            "Jos\u{00E9}",
            "\u{0639}\u{0644}\u{064A}",
            "I Gusti Ngurah Ra\u{00ED}",
            "\u{1B33}\u{1B2D}",
        ] {
            assert!(clean(name, "nama").is_ok(), "{name:?}");
        }
    }

    #[test]
    fn clean_folds_line_breaks_from_excel_cells() {
        assert_eq!(
            clean("Dinas\r\nKesehatan", "unit").unwrap(),
            "Dinas Kesehatan"
        );
    }

    #[test]
    fn statement_value_writes_dash_for_empty() {
        assert_eq!(statement_value("   "), "-");
        assert_eq!(statement_value(" Analis  Kebijakan "), "Analis Kebijakan");
    }

    #[test]
    fn cut_utf8_never_splits_a_character() {
        assert_eq!(cut_utf8("abc", 10), "abc");
        assert_eq!(cut_utf8("Jos\u{00E9}", 4), "Jos");
        assert_eq!(cut_utf8("Jos\u{00E9}", 5), "Jos\u{00E9}");
        assert_eq!(cut_utf8("\u{00E9}", 0), "");
    }

    #[test]
    fn masks_plain_name() {
        assert_eq!(mask_name("Budi Santoso"), "B*** S******");
    }

    #[test]
    fn masks_name_without_titles() {
        assert_eq!(mask_name("Dr. Budi Santoso, S.Kom."), "B*** S******");
        assert_eq!(mask_name("dr. Sri Rahayu, S.Kep., Ns."), "S** R*****");
        assert_eq!(mask_name("Prof. Dr. Ir. H. Ahmad"), "A****");
    }

    #[test]
    fn masks_something_when_the_name_is_only_titles() {
        assert_eq!(mask_name("Dr."), "D**");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn masks_by_characters_not_bytes() {
        assert_eq!(mask_name("\u{00C9}mile"), "\u{00C9}****");
    }

    #[test]
    fn spreadsheet_safe_escapes_formula_starts() {
        for s in ["=SUM(A1)", "+1", "-1", "@x", "\tx", "\rx"] {
            assert_eq!(spreadsheet_safe(s), format!("'{s}"));
        }
        assert!(matches!(spreadsheet_safe("Budi"), Cow::Borrowed("Budi")));
        assert!(matches!(spreadsheet_safe(""), Cow::Borrowed("")));
    }

    proptest! {
        #[test]
        fn clean_output_never_holds_a_refused_character(s in any::<String>()) {
            if let Ok(out) = clean(&s, "nama") {
                prop_assert!(out.chars().all(|c| refused(c).is_none()), "{:?}", out);
            }
        }

        #[test]
        fn normalize_is_idempotent(s in "\\PC*") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once.clone());
            prop_assert!(!once.starts_with(' ') && !once.ends_with(' '));
            prop_assert!(!once.contains("  "));
        }

        #[test]
        fn cut_utf8_is_a_prefix_within_bound(s in "\\PC*", n in 0usize..64) {
            let cut = cut_utf8(&s, n);
            prop_assert!(cut.len() <= n);
            prop_assert!(s.starts_with(cut));
            if s.len() > n {
                // The next character would not have fitted.
                let next = s[cut.len()..].chars().next().map_or(0, char::len_utf8);
                prop_assert!(cut.len() + next > n);
            }
        }

        #[test]
        fn mask_name_reveals_only_initials(s in "[A-Za-z .,]{0,40}") {
            let masked = mask_name(&s);
            for w in masked.split(' ') {
                prop_assert!(w.chars().skip(1).all(|c| c == '*'));
            }
        }

        #[test]
        fn spreadsheet_safe_never_starts_with_a_formula_char(s in "\\PC*") {
            let safe = spreadsheet_safe(&s);
            let first = safe.chars().next();
            prop_assert!(!matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r')));
        }
    }
}
