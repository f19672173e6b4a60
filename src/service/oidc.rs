//! The OpenID Connect client of sign-in with the government's SSO (SPEC 4.5), on the
//! `openidconnect` crate: discovery (lazily, retried), the authorization-code flow with PKCE
//! (S256), `state` and `nonce`, and the ID token checked against the provider's JWKS
//! (signature, issuer, audience, expiry with a bounded clock skew). The JWKS is cached and
//! fetched again when a token names a key it does not hold (key rotation), at most once a
//! minute. Requests go through the project's reqwest client, which follows no redirects.
//! Nothing here logs a code, a token or a claim.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClientAuthMethod,
    CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey, CoreJsonWebKeySet,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AsyncHttpClient, AuthType, AuthorizationCode, ClaimsVerificationError,
    Client, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointNotSet, EndpointSet,
    HttpRequest, HttpResponse, IdToken, IdTokenFields, IdTokenVerifier, IssuerUrl,
    JsonWebKeySetUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError,
    SignatureVerificationError, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::domain::sso::{CLOCK_SKEW_SECS, check_issuer, check_transport};

/// How long a request to the provider may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from the provider (discovery, JWKS, token).
const MAX_BODY: usize = 1024 * 1024;
/// A failed discovery is tried again on a request after this long, not sooner.
const DISCOVERY_RETRY: Duration = Duration::from_secs(10);
/// The JWKS is fetched again for an unknown key at most this often.
const JWKS_REFETCH: Duration = Duration::from_secs(60);
/// How long a sign-in may take at the provider (the login-state cookie's life).
pub const LOGIN_STATE_SECS: i64 = 600;
/// An ID token issued longer ago than this is refused (it was just made at the token endpoint).
const MAX_ID_TOKEN_AGE_SECS: i64 = 600;

/// The operator's settings (`--oidc-*`). The secret never prints in `Debug`.
#[derive(Clone)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The ID-token claim that holds a signer's NIP (`--oidc-nip-claim`, default `nip`).
    pub nip_claim: String,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("nip_claim", &self.nip_claim)
            .finish()
    }
}

/// Why a sign-in did not complete. The pages turn each into an Indonesian message.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the OIDC settings are invalid: {0}")]
    Settings(String),
    #[error("the provider is unreachable or its discovery failed: {0}")]
    Unavailable(String),
    #[error("the login state is missing, expired or does not match the callback")]
    State,
    #[error("the token exchange failed: {0}")]
    Exchange(String),
    #[error("the ID token is invalid: {0}")]
    IdToken(String),
}

/// The claims beyond the standard ones, to find the NIP claim by its configured name.
#[derive(Debug, Deserialize, Serialize)]
struct ExtraClaims {
    #[serde(flatten)]
    other: HashMap<String, serde_json::Value>,
}

impl AdditionalClaims for ExtraClaims {}

type ExtraIdToken = IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

type OidcTokenResponse = StandardTokenResponse<
    IdTokenFields<
        ExtraClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// A client with its authorization and token endpoints set from discovery.
type OidcClient = Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    OidcTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointNotSet,
>;

/// Only asymmetric signatures: an HMAC-signed ID token would be keyed by the client secret,
/// and `none` is never accepted.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 10] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EcdsaP521Sha512,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// `openidconnect`'s HTTP client trait over the project's reqwest client: no redirects
/// followed, a timeout, and a bound on the answer's size.
#[derive(Clone)]
pub struct ProviderHttp(reqwest::Client);

#[derive(Debug, thiserror::Error)]
pub enum ProviderHttpError {
    #[error("request to the provider failed: {0}")]
    Network(#[from] reqwest::Error),
    #[error("the provider's answer is larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("the provider's answer could not be read: {0}")]
    Http(#[from] openidconnect::http::Error),
}

impl ProviderHttp {
    pub fn new() -> Result<Self, OidcError> {
        reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map(ProviderHttp)
            .map_err(|e| OidcError::Settings(format!("no HTTP client: {e}")))
    }
}

impl<'c> AsyncHttpClient<'c> for ProviderHttp {
    type Error = ProviderHttpError;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse, ProviderHttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)?;
            let mut response = self.0.execute(request).await?;
            let mut builder = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(ProviderHttpError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(builder.body(body)?)
        })
    }
}

/// Who signs in: an HR account (then `/admin`) or a signer (then `/masuk`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Hr,
    Signer,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Hr => "hr",
            Purpose::Signer => "signer",
        }
    }
}

/// What the login-state cookie carries between the redirect to the provider and its callback.
#[derive(Clone)]
pub struct LoginState {
    pub purpose: Purpose,
    state: String,
    nonce: String,
    verifier: String,
    expires_at: i64,
}

impl LoginState {
    /// The cookie value: fields joined by `.` (each is base64url, which has no `.`).
    pub fn to_cookie(&self) -> String {
        format!(
            "v1.{}.{}.{}.{}.{}",
            self.purpose.as_str(),
            self.state,
            self.nonce,
            self.verifier,
            self.expires_at
        )
    }

    pub fn from_cookie(value: &str) -> Option<LoginState> {
        let mut parts = value.split('.');
        if parts.next()? != "v1" {
            return None;
        }
        let purpose = match parts.next()? {
            "hr" => Purpose::Hr,
            "signer" => Purpose::Signer,
            _ => return None,
        };
        let state = parts.next()?.to_string();
        let nonce = parts.next()?.to_string();
        let verifier = parts.next()?.to_string();
        let expires_at = parts.next()?.parse().ok()?;
        if parts.next().is_some() || state.is_empty() || nonce.is_empty() || verifier.is_empty() {
            return None;
        }
        Some(LoginState {
            purpose,
            state,
            nonce,
            verifier,
            expires_at,
        })
    }
}

/// Who the provider says signed in, from a verified ID token.
#[derive(Clone)]
pub struct Identity {
    pub subject: String,
    /// The configured NIP claim, as text, when the token has it.
    pub nip: Option<String>,
    /// The ID token's expiry (Unix seconds).
    pub expires_at: i64,
}

/// What discovery found, with the JWKS that may be refreshed.
struct Provider {
    client: OidcClient,
    issuer: IssuerUrl,
    jwks_uri: JsonWebKeySetUrl,
    /// The keys, and when they were last fetched again for an unknown key.
    jwks: RwLock<(CoreJsonWebKeySet, Option<Instant>)>,
}

#[derive(Default)]
struct Discovery {
    provider: Option<Arc<Provider>>,
    last_try: Option<Instant>,
}

/// The deployment's OIDC client.
pub struct Oidc {
    settings: OidcSettings,
    redirect: RedirectUrl,
    http: ProviderHttp,
    discovery: tokio::sync::Mutex<Discovery>,
}

impl Oidc {
    /// Checks the settings; discovery happens on first use (and is retried after a failure).
    pub fn new(settings: OidcSettings, redirect_url: String) -> Result<Oidc, OidcError> {
        check_issuer(&settings.issuer).map_err(|e| OidcError::Settings(e.message))?;
        if settings.client_id.trim().is_empty() {
            return Err(OidcError::Settings("--oidc-client-id is empty".into()));
        }
        if settings.nip_claim.trim().is_empty() {
            return Err(OidcError::Settings("--oidc-nip-claim is empty".into()));
        }
        let redirect = RedirectUrl::new(redirect_url)
            .map_err(|e| OidcError::Settings(format!("redirect URL: {e}")))?;
        Ok(Oidc {
            settings,
            redirect,
            http: ProviderHttp::new()?,
            discovery: Default::default(),
        })
    }

    pub fn nip_claim(&self) -> &str {
        &self.settings.nip_claim
    }

    /// Runs discovery now (at start), so a misconfigured provider shows in the log early.
    pub async fn warm_up(&self) {
        match self.provider().await {
            Ok(_) => tracing::info!(issuer = %self.settings.issuer, "OIDC provider discovered"),
            Err(e) => {
                tracing::warn!(error = %e, "OIDC discovery failed; retried on the next sign-in")
            }
        }
    }

    async fn provider(&self) -> Result<Arc<Provider>, OidcError> {
        let mut d = self.discovery.lock().await;
        if let Some(p) = &d.provider {
            return Ok(p.clone());
        }
        if d.last_try.is_some_and(|t| t.elapsed() < DISCOVERY_RETRY) {
            return Err(OidcError::Unavailable(
                "discovery failed a moment ago".into(),
            ));
        }
        d.last_try = Some(Instant::now());
        let p = Arc::new(self.discover().await?);
        d.provider = Some(p.clone());
        Ok(p)
    }

    async fn discover(&self) -> Result<Provider, OidcError> {
        let issuer = IssuerUrl::new(self.settings.issuer.clone())
            .map_err(|e| OidcError::Settings(format!("issuer: {e}")))?;
        // Checks that the document names this issuer, and fetches the JWKS.
        let meta = CoreProviderMetadata::discover_async(issuer.clone(), &self.http)
            .await
            .map_err(|e| OidcError::Unavailable(e.to_string()))?;
        let token_url = meta
            .token_endpoint()
            .cloned()
            .ok_or_else(|| OidcError::Unavailable("discovery lists no token endpoint".into()))?;
        // The endpoints obey the issuer's rule too: https, or http on loopback only.
        for (what, url) in [
            (
                "authorization_endpoint",
                meta.authorization_endpoint().url(),
            ),
            ("token_endpoint", token_url.url()),
            ("jwks_uri", meta.jwks_uri().url()),
        ] {
            check_transport(url.as_str()).map_err(|_| {
                OidcError::Unavailable(format!("discovery's {what} is neither https nor loopback"))
            })?;
        }
        let auth_type = match meta.token_endpoint_auth_methods_supported() {
            None => AuthType::BasicAuth,
            Some(m) if m.contains(&CoreClientAuthMethod::ClientSecretBasic) => AuthType::BasicAuth,
            Some(m) if m.contains(&CoreClientAuthMethod::ClientSecretPost) => AuthType::RequestBody,
            Some(_) => {
                return Err(OidcError::Unavailable(
                    "the provider offers neither client_secret_basic nor client_secret_post".into(),
                ));
            }
        };
        let client = Client::new(
            ClientId::new(self.settings.client_id.clone()),
            issuer.clone(),
            CoreJsonWebKeySet::new(Vec::new()),
        )
        .set_client_secret(ClientSecret::new(self.settings.client_secret.clone()))
        .set_auth_uri(meta.authorization_endpoint().clone())
        .set_token_uri(token_url)
        .set_redirect_uri(self.redirect.clone())
        .set_auth_type(auth_type);
        Ok(Provider {
            client,
            issuer,
            jwks_uri: meta.jwks_uri().clone(),
            jwks: RwLock::new((meta.jwks().clone(), None)),
        })
    }

    /// Starts a sign-in: the provider's authorization URL and the state to keep in the
    /// login-state cookie until the callback.
    pub async fn begin(
        &self,
        purpose: Purpose,
        now: i64,
    ) -> Result<(String, LoginState), OidcError> {
        let p = self.provider().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = p
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge)
            .url();
        Ok((
            url.to_string(),
            LoginState {
                purpose,
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                verifier: verifier.secret().clone(),
                expires_at: now + LOGIN_STATE_SECS,
            },
        ))
    }

    /// Finishes a sign-in at the callback: checks `state`, exchanges the code with the PKCE
    /// verifier, and verifies the ID token (signature by the JWKS, issuer, audience, expiry,
    /// issue time, nonce).
    pub async fn finish(
        &self,
        login: &LoginState,
        returned_state: &str,
        code: &str,
        now: i64,
    ) -> Result<Identity, OidcError> {
        if now > login.expires_at || !same(login.state.as_bytes(), returned_state.as_bytes()) {
            return Err(OidcError::State);
        }
        let p = self.provider().await?;
        let token = p
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(login.verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Exchange(describe_token_error(&e)))?;
        let id_token = token
            .id_token()
            .ok_or_else(|| OidcError::IdToken("the token answer has no id_token".into()))?;
        let nonce = Nonce::new(login.nonce.clone());
        let identity = match self.verify(&p, id_token, &nonce, now) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) if self.refresh_jwks(&p).await? => self.verify(&p, id_token, &nonce, now),
            other => other,
        };
        identity.map_err(|e| OidcError::IdToken(e.to_string()))
    }

    fn verify(
        &self,
        p: &Provider,
        id_token: &ExtraIdToken,
        nonce: &Nonce,
        now: i64,
    ) -> Result<Identity, ClaimsVerificationError> {
        let jwks = p
            .jwks
            .read()
            .map(|g| g.0.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().0.clone());
        let skewed = chrono::DateTime::from_timestamp(now - CLOCK_SKEW_SECS, 0).unwrap_or_default();
        // A "public client" verifier here only means that no HMAC key is derived from the
        // client secret: only the asymmetric algorithms above are allowed.
        let verifier: IdTokenVerifier<'_, CoreJsonWebKey> = IdTokenVerifier::new_public_client(
            ClientId::new(self.settings.client_id.clone()),
            p.issuer.clone(),
            jwks,
        )
        .set_allowed_algs(ALLOWED_ALGS)
        // Expired means expired more than the skew ago.
        .set_time_fn(move || skewed)
        .set_issue_time_verifier_fn(move |iat| {
            let iat = iat.timestamp();
            if iat > now + CLOCK_SKEW_SECS {
                Err("issued in the future".to_string())
            } else if iat < now - MAX_ID_TOKEN_AGE_SECS {
                Err("issued too long ago".to_string())
            } else {
                Ok(())
            }
        });
        let claims = id_token.claims(&verifier, nonce)?;
        let nip = claims
            .additional_claims()
            .other
            .get(&self.settings.nip_claim)
            .and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        Ok(Identity {
            subject: claims.subject().as_str().to_string(),
            nip,
            expires_at: claims.expiration().timestamp(),
        })
    }

    /// Fetches the JWKS again, unless it was fetched again for an unknown key within the last
    /// minute (so forged tokens cannot make us hammer the provider); whether it did.
    async fn refresh_jwks(&self, p: &Provider) -> Result<bool, OidcError> {
        let recent = p
            .jwks
            .read()
            .map(|g| g.1.is_some_and(|t| t.elapsed() < JWKS_REFETCH))
            .unwrap_or(true);
        if recent {
            return Ok(false);
        }
        let keys = CoreJsonWebKeySet::fetch_async(&p.jwks_uri, &self.http)
            .await
            .map_err(|e| OidcError::Unavailable(format!("JWKS: {e}")))?;
        if let Ok(mut g) = p.jwks.write() {
            *g = (keys, Some(Instant::now()));
        }
        tracing::info!("OIDC signing keys fetched again (a token named an unknown key)");
        Ok(true)
    }
}

/// A token-endpoint failure described without its body (which could hold tokens).
fn describe_token_error<RE: std::error::Error + 'static>(
    e: &RequestTokenError<RE, StandardErrorResponse<CoreErrorResponseType>>,
) -> String {
    match e {
        RequestTokenError::ServerResponse(r) => format!("the provider answered {}", r.error()),
        RequestTokenError::Request(inner) => format!("request failed: {inner}"),
        RequestTokenError::Parse(_, _) => "the provider's answer was not a token response".into(),
        RequestTokenError::Other(m) => m.clone(),
    }
}

/// Compares in constant time.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_state_round_trips_through_its_cookie() {
        let s = LoginState {
            purpose: Purpose::Signer,
            state: "c3RhdGU".into(),
            nonce: "bm9uY2U".into(),
            verifier: "dmVyaWZpZXI-_".into(),
            expires_at: 1_700_000_600,
        };
        let back = LoginState::from_cookie(&s.to_cookie()).expect("parses");
        assert_eq!(back.purpose, Purpose::Signer);
        assert_eq!(back.state, s.state);
        assert_eq!(back.nonce, s.nonce);
        assert_eq!(back.verifier, s.verifier);
        assert_eq!(back.expires_at, s.expires_at);
        assert!(LoginState::from_cookie("v1.admin.a.b.c.1").is_none());
        assert!(LoginState::from_cookie("v1.hr.a.b.c.1.extra").is_none());
        assert!(LoginState::from_cookie("v1.hr..b.c.1").is_none());
    }

    #[test]
    fn settings_debug_hides_the_secret() {
        let s = OidcSettings {
            issuer: "https://sso.example.go.id".into(),
            client_id: "ikrar".into(),
            client_secret: "very-secret".into(),
            nip_claim: "nip".into(),
        };
        assert!(!format!("{s:?}").contains("very-secret"));
    }

    #[test]
    fn refuses_a_plain_http_issuer_off_loopback() {
        let s = OidcSettings {
            issuer: "http://sso.example.go.id".into(),
            client_id: "ikrar".into(),
            client_secret: "s".into(),
            nip_claim: "nip".into(),
        };
        assert!(Oidc::new(s, "https://ikrar.example.go.id/auth/oidc/callback".into()).is_err());
    }
}
