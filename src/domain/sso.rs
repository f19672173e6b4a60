//! Rules of sign-in with the government's SSO (SPEC 4.5) that need no network: how a pledge
//! was authenticated (evidence, never public), how long a session may last after the ID
//! token, and which issuer URLs are acceptable.

use crate::domain::ValidationError;

/// How the signer reached the signing form: with the link token, with a slip at a kiosk
/// (SPEC 4.4), or signed in with SSO.
/// Stored with the pledge as evidence; never in the record, the statement or public answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedVia {
    Link,
    Kiosk,
    Sso,
}

impl SignedVia {
    pub fn as_str(&self) -> &'static str {
        match self {
            SignedVia::Link => "link",
            SignedVia::Kiosk => "kiosk",
            SignedVia::Sso => "sso",
        }
    }

    pub fn parse(s: &str) -> Option<SignedVia> {
        match s {
            "link" => Some(SignedVia::Link),
            "kiosk" => Some(SignedVia::Kiosk),
            "sso" => Some(SignedVia::Sso),
            _ => None,
        }
    }
}

impl TryFrom<String> for SignedVia {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        SignedVia::parse(&s).ok_or_else(|| format!("unknown signed_via '{s}'"))
    }
}

/// A session opened by SSO never outlives the ID token's expiry by more than this (SPEC 4.5).
pub const AFTER_ID_TOKEN_SECS: i64 = 8 * 3600;

/// How far the provider's clock may be from ours when its ID token is checked.
pub const CLOCK_SKEW_SECS: i64 = 60;

/// When a session opened at `now` after an ID token expiring at `id_token_exp` ends: its usual
/// length, cut to 8 hours after the token's expiry.
pub fn session_expiry(now: i64, usual_secs: i64, id_token_exp: i64) -> i64 {
    (now + usual_secs).min(id_token_exp + AFTER_ID_TOKEN_SECS)
}

/// An issuer must be `https://`; `http://` only on a loopback host (a provider under test).
/// No query or fragment (OIDC Discovery 1.0, section 2).
pub fn check_issuer(issuer: &str) -> Result<url::Url, ValidationError> {
    let bad = |m: &str| ValidationError::new("oidc_issuer", "oidc_issuer", m.to_string());
    let url = check_transport(issuer).map_err(|e| bad(&e))?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad(
            "--oidc-issuer tidak boleh memuat query, fragmen atau nama pengguna.",
        ));
    }
    Ok(url)
}

/// Any URL ikrar calls at the provider: `https://`, or `http://` on a loopback host only.
pub fn check_transport(s: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(s).map_err(|_| format!("'{s}' bukan URL yang sah."))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(format!(
            "{s} memakai http:// untuk host bukan loopback; pakai https://."
        )),
        _ => Err(format!("{s} harus https://.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ends_eight_hours_after_the_id_token_at_the_latest() {
        let now = 1_000_000;
        assert_eq!(
            session_expiry(now, 12 * 3600, now + 300),
            now + 300 + 8 * 3600
        );
        assert_eq!(session_expiry(now, 3600, now + 300), now + 3600);
    }

    #[test]
    fn http_issuer_only_on_loopback() {
        assert!(check_issuer("https://sso-siasn.bkn.go.id/realms/asn").is_ok());
        assert!(check_issuer("http://127.0.0.1:9400").is_ok());
        assert!(check_issuer("http://[::1]:9400").is_ok());
        assert!(check_issuer("http://localhost:9400").is_ok());
        assert!(check_issuer("http://sso.example.go.id").is_err());
        assert!(check_issuer("http://127.0.0.1.example.com").is_err());
        assert!(check_issuer("ftp://127.0.0.1").is_err());
        assert!(check_issuer("https://sso.example.go.id/?a=b").is_err());
        assert!(check_transport("https://sso.example.go.id/auth?x=1").is_ok());
        assert!(check_transport("http://10.0.0.5/token").is_err());
    }

    #[test]
    fn signed_via_round_trips() {
        for v in [SignedVia::Link, SignedVia::Kiosk, SignedVia::Sso] {
            assert_eq!(SignedVia::parse(v.as_str()), Some(v));
        }
        assert_eq!(SignedVia::parse("email"), None);
    }
}
