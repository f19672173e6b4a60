//! The public URL (SPEC 3.3): the bare origin every link and QR code is built from.

use url::Url;

use super::ValidationError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicUrl {
    scheme: String,
    /// Lowercase (IDNA) host plus `:port` when the port is not the scheme's default.
    host: String,
}

impl PublicUrl {
    pub fn parse(input: &str) -> Result<PublicUrl, ValidationError> {
        let bad = |why: &str| {
            ValidationError::new(
                "public_url_invalid",
                "public_url",
                format!("URL publik '{input}' tidak sah: {why}."),
            )
        };
        let url = Url::parse(input.trim()).map_err(|_| bad("bukan URL"))?;
        let scheme = url.scheme().to_string();
        if scheme != "http" && scheme != "https" {
            return Err(bad("skema harus http atau https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("tidak boleh memuat nama pengguna atau sandi"));
        }
        if url.path() != "/" && !url.path().is_empty() {
            return Err(bad("harus origin saja, tanpa path"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("tidak boleh memuat query atau fragmen"));
        }
        let host = url.host_str().ok_or_else(|| bad("tidak ada host"))?;
        let host = match url.port() {
            Some(port) => format!("{}:{port}", host.to_ascii_lowercase()),
            None => host.to_ascii_lowercase(),
        };
        Ok(PublicUrl { scheme, host })
    }

    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// `HOST` of SPEC 3.3, used in key names and the log origin.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.host)
    }

    /// True for `localhost`, 127.0.0.0/8 and `[::1]`.
    pub fn is_loopback(&self) -> bool {
        let name = match self.host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => self.host.as_str(),
        };
        name == "localhost" || name.starts_with("127.") || name == "[::1]"
    }

    /// The signing link for a token.
    pub fn signing_link(&self, token: &str) -> String {
        format!("{}/s/{token}", self.origin())
    }

    /// The QR payload: all uppercase so the whole string is QR alphanumeric mode.
    pub fn qr_text(&self, record_base32: &str) -> String {
        format!(
            "{}://{}/V/{}",
            self.scheme.to_ascii_uppercase(),
            self.host.to_ascii_uppercase(),
            record_base32.to_ascii_uppercase()
        )
    }

    pub fn verify_link(&self, record_base32: &str) -> String {
        format!("{}/v/{record_base32}", self.origin())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_non_default_port_and_lowercases() {
        let u = PublicUrl::parse("https://IKRAR.Surakarta.go.id:443").expect("valid");
        assert_eq!(u.host(), "ikrar.surakarta.go.id");
        let u = PublicUrl::parse("http://127.0.0.1:8080/").expect("valid");
        assert_eq!(u.host(), "127.0.0.1:8080");
        assert!(u.is_loopback());
    }

    #[test]
    fn converts_international_names_to_punycode() {
        let u = PublicUrl::parse("https://ikrar.bücher.example").expect("valid");
        assert_eq!(u.host(), "ikrar.xn--bcher-kva.example");
    }

    #[test]
    fn refuses_paths_queries_and_credentials() {
        for bad in [
            "https://x.go.id/ikrar",
            "https://x.go.id/?a=1",
            "https://u:p@x.go.id",
            "ftp://x.go.id",
            "x.go.id",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn qr_text_is_uppercase() {
        let u = PublicUrl::parse("https://ikrar.example:8443").expect("valid");
        assert_eq!(u.qr_text("abc"), "HTTPS://IKRAR.EXAMPLE:8443/V/ABC");
    }
}
