//! How the audit trail reads to people: each event code (`pledge.annul`) as Indonesian text,
//! the groups HR filters by, and who acted. The one mapping every page uses; the codes
//! themselves stay stable for scripts and the API.

/// An event code in Indonesian. A code this table does not know yet reads as a generic
/// "other action", never as the code.
pub fn action_text(code: &str) -> &'static str {
    match code {
        "login" => "Masuk ke halaman admin",
        "login.failed" => "Gagal masuk",
        "logout" => "Keluar",
        "campaign.create" => "Kampanye dibuat",
        "campaign.edit" => "Kampanye diubah",
        "campaign.close" => "Kampanye ditutup",
        "invitations.issue" => "Tautan diterbitkan",
        "invitations.revoke" => "Tautan dicabut",
        "pledge.annul" => "Ikrar dibatalkan",
        "pledge.pdf" => "PDF ikrar diunduh",
        "export.compliance" => "Laporan kepatuhan diunduh",
        "roster.import" => "Roster diimpor",
        "roster.rejected" => "Impor roster ditolak",
        "instansi.add" => "Instansi ditambahkan",
        "template.add" => "Naskah ditambahkan",
        "token.create" => "Token API dibuat",
        "user.add" => "Akun ditambahkan",
        "user.link-oidc" => "Akun ditautkan ke SSO",
        "login.refused" => "Masuk dengan SSO ditolak",
        "signer.login.refused" => "Masuk penanda tangan dengan SSO ditolak",
        "kiosk.start" => "Kiosk dimulai",
        "kiosk.end" => "Kiosk diakhiri",
        "reminder.email" => "Pengingat surel dikirim",
        "reminder.whatsapp" => "Tautan pengingat WhatsApp dibuat",
        _ => "Tindakan lain",
    }
}

/// The groups of the audit trail's filter: (value in the address, Indonesian name, the code
/// prefix its events share).
pub const GROUPS: [(&str, &str, &str); 8] = [
    ("masuk", "Masuk dan keluar", "log"),
    ("kampanye", "Kampanye", "campaign."),
    ("tautan", "Tautan", "invitations."),
    ("ikrar", "Ikrar", "pledge."),
    ("roster", "Roster", "roster."),
    ("ekspor", "Ekspor", "export."),
    ("kiosk", "Kiosk", "kiosk."),
    ("pengingat", "Pengingat", "reminder."),
];

/// The code prefix of a filter group, if `group` is one.
pub fn group_prefix(group: &str) -> Option<&'static str> {
    GROUPS
        .iter()
        .find(|(value, _, _)| *value == group)
        .map(|(_, _, prefix)| *prefix)
}

/// Who acted, as people read it: the account name for `user:NAME`, the operator for the
/// command line.
pub fn actor_text(actor: &str) -> String {
    match actor {
        "cli" => "operator (baris perintah)".to_string(),
        "anonim" => "tidak dikenal".to_string(),
        a => a.strip_prefix("user:").unwrap_or(a).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_reads_in_indonesian_and_unknown_ones_hide_the_code() {
        for code in [
            "login",
            "login.failed",
            "campaign.create",
            "campaign.edit",
            "campaign.close",
            "invitations.issue",
            "pledge.annul",
            "export.compliance",
            "roster.import",
            "kiosk.start",
            "kiosk.end",
            "reminder.email",
            "reminder.whatsapp",
            "user.link-oidc",
            "login.refused",
            "signer.login.refused",
        ] {
            assert_ne!(action_text(code), "Tindakan lain", "{code}");
            assert!(!action_text(code).contains('.'), "{code}");
        }
        assert_eq!(action_text("something.new"), "Tindakan lain");
    }

    #[test]
    fn filter_groups_and_actors() {
        assert_eq!(group_prefix("kampanye"), Some("campaign."));
        assert_eq!(group_prefix("x"), None);
        assert_eq!(actor_text("user:hr1"), "hr1");
        assert_eq!(actor_text("cli"), "operator (baris perintah)");
    }
}
