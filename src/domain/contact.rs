//! Contact data for reminders (SPEC 4.1, 4.2): an email address and an Indonesian mobile
//! number. HR-only: never on public pages, in the log, the record or the statement, and
//! never in error messages or log lines (a message names the row and the column instead).

use std::str::FromStr;

use super::ValidationError;

/// Longest email address accepted (RFC 5321's path limit).
const MAX_EMAIL_BYTES: usize = 254;

/// An email address as HR's file gives it, checked with the mail library's own parser so
/// that every stored address is one the reminder can be sent to.
pub fn parse_email(raw: &str) -> Result<String, ValidationError> {
    let s = raw.trim();
    let refused = |why: &str| {
        ValidationError::new(
            "email_invalid",
            "email",
            format!(
                "Alamat surel tidak sah ({why}). Tulis satu alamat saja, misalnya \
                 nama@contoh.go.id, atau kosongkan kolom ini."
            ),
        )
    };
    if s.len() > MAX_EMAIL_BYTES {
        return Err(refused("terlalu panjang"));
    }
    if s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';') {
        return Err(refused("berisi spasi atau lebih dari satu alamat"));
    }
    let address = lettre::Address::from_str(s).map_err(|_| refused("bentuknya salah"))?;
    // A bare host ("nama@localhost") is a typo in a roster far more often than a real box.
    if !address.domain().contains('.') {
        return Err(refused("domainnya tidak lengkap"));
    }
    Ok(s.to_owned())
}

/// An Indonesian mobile number, normalised to its international digits without `+`
/// (`6281234567890`), as `wa.me` wants it. Accepted as written in rosters: `0812…`,
/// `+62 812…`, `62812…`, with spaces, dots, dashes or parentheses, and `812…` (a number
/// whose leading zero a spreadsheet dropped).
pub fn parse_mobile(raw: &str) -> Result<String, ValidationError> {
    let refused = |why: &str| {
        ValidationError::new(
            "telepon_invalid",
            "telepon",
            format!(
                "Nomor telepon tidak sah ({why}). Tulis nomor ponsel Indonesia, misalnya \
                 0812-3456-7890 atau +62 812 3456 7890, atau kosongkan kolom ini."
            ),
        )
    };
    let s = raw.trim();
    let mut digits = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '.' | '-' | '(' | ')' => {}
            _ => return Err(refused("berisi karakter selain angka")),
        }
    }
    let national = if let Some(rest) = digits.strip_prefix("62") {
        rest
    } else if let Some(rest) = digits.strip_prefix('0') {
        rest
    } else if s.starts_with('+') {
        return Err(refused("bukan nomor Indonesia (+62)"));
    } else {
        digits.as_str()
    };
    if !national.starts_with('8') {
        return Err(refused("bukan nomor ponsel; nomor ponsel diawali 08"));
    }
    // 08xx-xxxx-xxx(x)(x): 9 to 12 digits after the leading zero.
    if !(9..=12).contains(&national.len()) {
        return Err(refused("jumlah digitnya tidak sesuai"));
    }
    Ok(format!("62{national}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_indonesian_mobile_numbers_from_every_usual_spelling() {
        for raw in [
            "081234567890",
            "0812-3456-7890",
            "+62 812 3456 7890",
            "62812.3456.7890",
            "(0812) 3456 7890",
            "81234567890",
        ] {
            assert_eq!(parse_mobile(raw).expect(raw), "6281234567890", "{raw}");
        }
    }

    #[test]
    fn refuses_numbers_that_are_not_indonesian_mobiles() {
        for raw in [
            "0271 123456",
            "+1 415 555 0100",
            "08991",
            "08993456789012345",
            "0899-34x6",
        ] {
            let e = parse_mobile(raw).expect_err(raw);
            assert_eq!(e.code, "telepon_invalid");
            assert!(
                !e.message.contains(raw),
                "the number itself is never echoed"
            );
        }
    }

    #[test]
    fn accepts_one_plain_address_and_refuses_lists_and_typos() {
        assert_eq!(
            parse_email(" budi@bkpsdm.surakarta.go.id ").expect("valid"),
            "budi@bkpsdm.surakarta.go.id"
        );
        for raw in [
            "budi",
            "budi@",
            "a@b@c.id",
            "a@x.id, b@x.id",
            "budi@localhost",
            "a b@x.id",
        ] {
            assert_eq!(
                parse_email(raw).expect_err(raw).code,
                "email_invalid",
                "{raw}"
            );
        }
    }
}
