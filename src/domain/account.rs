//! Accounts: roles and what each may do, usernames, and password hashing (argon2id).

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use super::ValidationError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Deployment-wide: instansi, templates, the first admin of each instansi.
    Superadmin,
    /// Everything in its instansi, including annulment.
    Admin,
    /// Roster, campaigns, invitations and exports of its instansi.
    Hr,
    /// Read-only in its instansi.
    Auditor,
    /// Deployment-wide: the only role that reads log entry bundles.
    LogAuditor,
}

/// A stored role, read back from a row.
impl TryFrom<String> for Role {
    type Error = ValidationError;

    fn try_from(s: String) -> Result<Self, ValidationError> {
        Role::parse(&s)
    }
}

impl Role {
    pub fn parse(s: &str) -> Result<Role, ValidationError> {
        match s {
            "superadmin" => Ok(Role::Superadmin),
            "admin" => Ok(Role::Admin),
            "hr" => Ok(Role::Hr),
            "auditor" => Ok(Role::Auditor),
            "log-auditor" => Ok(Role::LogAuditor),
            other => Err(ValidationError::new(
                "role_unknown",
                "role",
                format!(
                    "Peran '{other}' tidak dikenal; pilih superadmin, admin, hr, auditor atau log-auditor."
                ),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Superadmin => "superadmin",
            Role::Admin => "admin",
            Role::Hr => "hr",
            Role::Auditor => "auditor",
            Role::LogAuditor => "log-auditor",
        }
    }

    /// Per-instansi roles belong to exactly one instansi; the others to none.
    pub fn per_instansi(self) -> bool {
        matches!(self, Role::Admin | Role::Hr | Role::Auditor)
    }

    /// May read the HR data of its instansi.
    pub fn can_read(self) -> bool {
        self.per_instansi()
    }

    /// May change roster, campaigns and invitations of its instansi.
    pub fn can_manage(self) -> bool {
        matches!(self, Role::Admin | Role::Hr)
    }

    pub fn can_annul(self) -> bool {
        self == Role::Admin
    }
}

pub fn parse_username(s: &str) -> Result<String, ValidationError> {
    let ok = (2..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(s.to_string())
    } else {
        Err(ValidationError::new(
            "username_invalid",
            "username",
            "Nama pengguna hanya boleh huruf kecil, angka, '.', '_' dan '-', 2 sampai 64 karakter.",
        ))
    }
}

pub fn check_password_strength(password: &str) -> Result<(), ValidationError> {
    if password.chars().count() < 10 {
        return Err(ValidationError::new(
            "password_weak",
            "password",
            "Kata sandi minimal 10 karakter.",
        ));
    }
    Ok(())
}

/// An argon2id PHC string with a random salt.
pub fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2 with default parameters and a random salt cannot fail")
        .to_string()
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A hash to compare against when the username does not exist, so that a wrong username and
/// a wrong password take the same time.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that matches nothing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_with_argon2id_and_verifies() {
        let h = hash_password("rahasia-sekali-123");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("rahasia-sekali-123", &h));
        assert!(!verify_password("rahasia-sekali-124", &h));
    }

    #[test]
    fn roles_know_their_powers() {
        assert!(Role::parse("hr").expect("role").can_manage());
        assert!(!Role::Auditor.can_manage() && Role::Auditor.can_read());
        assert!(Role::Admin.can_annul() && !Role::Hr.can_annul());
        assert!(!Role::Superadmin.per_instansi());
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn refuses_odd_usernames_and_short_passwords() {
        assert!(parse_username("hr1").is_ok());
        assert!(parse_username("HR 1").is_err());
        assert!(check_password_strength("pendek").is_err());
    }
}
