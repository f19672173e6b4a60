//! Sign-in with SSO (SPEC 4.5) against a real OpenID Connect provider: PyPI's
//! `oidc-provider-mock` (authlib), started on a free loopback port, whose authorization form
//! Debian's Chromium fills in (`scripts/install-test-deps.sh` installs both). An ASN signs
//! through `/masuk` without a link; a callback with a tampered `state` gives no session; an HR
//! account linked with `ikrar user link-oidc` reaches `/admin`, an unlinked subject is refused.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, Locator};
use ikrar::service::oidc::OidcSettings;
use serde_json::{Value, json};

use crate::browser::{session, start_driver};
use crate::support::*;

/// The provider, stopped when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn provider_bin() -> PathBuf {
    std::env::var("IKRAR_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-tools"))
        .join("oidc-provider-mock/bin/oidc-provider-mock")
}

async fn start_provider() -> Provider {
    start_provider_on(free_port()).await
}

/// A provider on `port`; each start makes a new signing key (a new `kid`).
async fn start_provider_on(port: u16) -> Provider {
    ikrar::install_tls();
    let bin = provider_bin();
    assert!(
        bin.exists(),
        "{} is missing: run scripts/install-test-deps.sh",
        bin.display()
    );
    let child = Command::new(&bin)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--require-nonce", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start oidc-provider-mock");
    let provider = Provider {
        child,
        issuer: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if http
            .get(format!(
                "{}/.well-known/openid-configuration",
                provider.issuer
            ))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return provider;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("oidc-provider-mock did not start");
}

impl Provider {
    /// Sets the claims the provider puts in this subject's ID token.
    async fn set_claims(&self, sub: &str, claims: Value) {
        let res = reqwest::Client::new()
            .put(format!("{}/users/{sub}", self.issuer))
            .json(&claims)
            .send()
            .await
            .expect("set claims");
        assert!(res.status().is_success(), "set claims: {}", res.status());
    }

    fn settings(&self) -> OidcSettings {
        OidcSettings {
            issuer: self.issuer.clone(),
            client_id: "ikrar-test".into(),
            client_secret: "rahasia-klien-uji".into(),
            nip_claim: "nip".into(),
        }
    }
}

/// An app over TCP whose SSO is the provider.
async fn app_with(provider: &Provider) -> (TestApp, String) {
    let settings = provider.settings();
    let (app, base, _task) =
        spawn_server_with(TestDb::new().await, move |s| s.oidc = Some(settings)).await;
    (app, base)
}

async fn body_text(c: &Client) -> String {
    c.find(Locator::Css("body"))
        .await
        .expect("body")
        .text()
        .await
        .expect("text")
}

/// Waits until the browser's URL starts with `prefix` (a redirect or a refresh to follow).
async fn wait_for_url(c: &Client, prefix: &str) -> String {
    for _ in 0..200 {
        let url = c.current_url().await.expect("url").to_string();
        if url.starts_with(prefix) {
            return url;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "never reached {prefix}; at {}",
        c.current_url().await.expect("url")
    );
}

/// At the provider's authorization form: signs in as `subject`.
async fn authorize_as(c: &Client, provider: &Provider, subject: &str) {
    wait_for_url(c, &format!("{}/oauth2/authorize", provider.issuer)).await;
    let input = c
        .find(Locator::Css("#subject-input"))
        .await
        .expect("the provider's subject field");
    input.send_keys(subject).await.expect("type subject");
    c.find(Locator::Css("fieldset button[type=submit]"))
        .await
        .expect("Authorize")
        .click()
        .await
        .expect("authorize");
}

/// (signed_via, sso_subject) stored with a pledge.
pub(crate) async fn evidence_of(db: &TestDb, log_index: i64) -> (String, Option<String>) {
    use sqlx::Connection;
    let q = "SELECT signed_via, sso_subject FROM pledges WHERE log_index = $1";
    if db.is_postgres() {
        let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        sqlx::query_as(q)
            .bind(log_index)
            .fetch_one(&mut c)
            .await
            .expect("pledge")
    } else {
        let mut c = sqlx::SqliteConnection::connect(&db.url)
            .await
            .expect("connect");
        sqlx::query_as(q)
            .bind(log_index)
            .fetch_one(&mut c)
            .await
            .expect("pledge")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asn_signs_in_at_masuk_and_signs_their_open_invitation_without_a_link() {
    let provider = start_provider().await;
    let (app, base) = app_with(&provider).await;
    let seeded = seed(app.store()).await;
    let (nip, token) = seeded.token_of_kind("PNS", 3);
    let (nip, token) = (nip.to_string(), token.to_string());
    provider
        .set_claims("asn-budi", json!({ "nip": nip, "name": "Budi" }))
        .await;
    // Someone whose NIP has no invitation here.
    provider
        .set_claims("asn-lain", json!({ "nip": "199001012015031001" }))
        .await;

    let driver = start_driver().await;
    let c = session(&driver).await;
    c.goto(&format!("{base}/masuk")).await.expect("open /masuk");
    c.find(Locator::Css("#sso-login"))
        .await
        .expect("Masuk dengan SSO")
        .click()
        .await
        .expect("click");
    authorize_as(&c, &provider, "asn-budi").await;
    // Back through the callback and its same-site step to the list.
    wait_for_url(&c, &format!("{base}/masuk")).await;
    c.find(Locator::Css("#signer-nip"))
        .await
        .expect("signed in: the NIP is shown");
    let text = body_text(&c).await;
    assert!(
        text.contains("Ikrar Netralitas ASN — HUT Korpri ke-53"),
        "{text}"
    );
    assert!(text.contains("belum ditandatangani"), "{text}");
    let url = c.current_url().await.expect("url").to_string();
    assert!(!url.contains(&token), "no link token in the URL");

    c.find(Locator::Css("a.invitation"))
        .await
        .expect("the open invitation")
        .click()
        .await
        .expect("open it");
    let sign_url = wait_for_url(&c, &format!("{base}/masuk/undangan/")).await;
    assert!(!sign_url.contains(&token), "no link token in the URL");
    let page = body_text(&c).await;
    assert!(page.contains("Data Anda"), "the usual signing page: {page}");
    c.find(Locator::Css("input[name=consent]"))
        .await
        .expect("consent")
        .click()
        .await
        .expect("tick");
    c.find(Locator::Css("#consent_name"))
        .await
        .expect("name field")
        .send_keys("Budi")
        .await
        .expect("type name");
    c.find(Locator::Css("#submit"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("sign");
    // A typed name far from the roster name is asked about once, here as on a link.
    for _ in 0..200 {
        let url = c.current_url().await.expect("url").to_string();
        if url.ends_with("?ok=1") {
            break;
        }
        if c.find(Locator::Css("#name-question")).await.is_ok() {
            c.find(Locator::Css("#submit"))
                .await
                .expect("submit")
                .click()
                .await
                .expect("sign after the question");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_for_url(&c, &format!("{sign_url}?ok=1")).await;
    let receipt = body_text(&c).await;
    assert!(
        receipt.contains("Ikrar telah ditandatangani"),
        "the receipt: {receipt}"
    );
    let verify = c
        .find(Locator::Css("#verify-link"))
        .await
        .expect("verify link")
        .attr("href")
        .await
        .expect("href")
        .expect("has href");
    let pdf = c
        .find(Locator::Css("#pdf-link"))
        .await
        .expect("pdf link")
        .attr("href")
        .await
        .expect("href")
        .expect("has href");
    assert!(pdf.starts_with("/masuk/undangan/"), "{pdf}");

    // The statement carries their NIP; the evidence says SSO, the public answers do not.
    let record = verify.rsplit('/').next().expect("record").to_string();
    let v = app.get(&format!("/api/v1/verify/{record}")).await;
    assert_eq!(v.status, 200, "{}", v.text());
    let public = v.text();
    let statement = v.json()["pledge"]["statement"]
        .as_str()
        .unwrap_or_else(|| panic!("statement in {public}"))
        .to_string();
    assert!(statement.contains(&nip), "{statement}");
    assert!(
        !public.contains("asn-budi")
            && !public.contains("signed_via")
            && !public.contains("sso_subject"),
        "no SSO evidence in public fields: {public}"
    );
    let log_index = v.json()["record"]["log_index"]
        .as_i64()
        .unwrap_or_else(|| panic!("log index in {public}"));
    assert_eq!(
        evidence_of(&app.db, log_index).await,
        ("sso".to_string(), Some("asn-budi".to_string()))
    );
    // The link HR handed out still works: it shows the same pledge.
    let by_link = app.get(&format!("/s/{token}")).await;
    assert_eq!(by_link.status, 200);
    assert!(
        by_link
            .text()
            .contains(&format!("nomor urut di log transparansi {log_index}"))
    );

    // Another person's invitation is not reachable through this session.
    let (other_nip, _) = seeded.token_of_kind("PNS", 5);
    let other = app
        .store()
        .invitations_by_nip(other_nip)
        .await
        .expect("query")
        .first()
        .expect("an invitation")
        .invitation_id;
    c.goto(&format!("{base}/masuk/undangan/{other}"))
        .await
        .expect("another's invitation");
    let text = body_text(&c).await;
    assert!(text.contains("bukan untuk NIP Anda"), "{text}");
    assert!(!text.contains(other_nip), "{text}");

    // The list now says signed; after "Keluar" the session is gone.
    c.goto(&format!("{base}/masuk")).await.expect("list");
    assert!(body_text(&c).await.contains("sudah ditandatangani"));
    c.find(Locator::Css("form[action='/masuk/keluar'] button"))
        .await
        .expect("Keluar")
        .click()
        .await
        .expect("log out");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#sso-login"))
        .await
        .expect("signed out");

    // A NIP without invitations gets a clear page, not an error.
    c.find(Locator::Css("#sso-login"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    authorize_as(&c, &provider, "asn-lain").await;
    wait_for_url(&c, &format!("{base}/masuk")).await;
    c.find(Locator::Css("#no-invitations"))
        .await
        .expect("the no-invitation notice");
    assert!(
        body_text(&c)
            .await
            .contains("Tidak ada undangan yang terbuka")
    );
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_with_a_tampered_state_is_refused_and_gives_no_session() {
    let provider = start_provider().await;
    let (app, base) = app_with(&provider).await;
    let seeded = seed(app.store()).await;
    let (nip, _) = seeded.token_of_kind("PNS", 4);
    provider.set_claims("asn-sari", json!({ "nip": nip })).await;

    let driver = start_driver().await;
    let c = session(&driver).await;
    c.goto(&format!("{base}/masuk/sso"))
        .await
        .expect("start SSO");
    // At the provider: ask it to send back another state than the one ikrar issued.
    let authorize = wait_for_url(&c, &format!("{}/oauth2/authorize", provider.issuer)).await;
    let mut url = url::Url::parse(&authorize).expect("authorize URL");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                format!("{v}x")
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    assert!(pairs.iter().any(|(k, _)| k == "state"), "{authorize}");
    assert!(
        pairs
            .iter()
            .any(|(k, v)| k == "code_challenge_method" && v == "S256"),
        "PKCE S256: {authorize}"
    );
    assert!(pairs.iter().any(|(k, _)| k == "nonce"), "{authorize}");
    // The browser holds the login state ikrar set (cookies are per host, not per port).
    let cookies = c.get_all_cookies().await.expect("cookies");
    assert!(
        cookies.iter().any(|k| k.name() == "__Host-ikrar_oidc"),
        "the login-state cookie is set: {cookies:?}"
    );
    url.query_pairs_mut().clear().extend_pairs(pairs);
    c.goto(url.as_str()).await.expect("tampered authorize");
    authorize_as(&c, &provider, "asn-sari").await;
    wait_for_url(&c, &format!("{base}/auth/oidc/callback")).await;
    let text = body_text(&c).await;
    assert!(text.contains("Permintaan masuk tidak sah"), "{text}");
    let cookies = c.get_all_cookies().await.expect("cookies");
    assert!(
        cookies.iter().all(|k| k.name() != "ikrar_masuk"),
        "no signer session cookie: {cookies:?}"
    );
    c.goto(&format!("{base}/masuk")).await.expect("/masuk");
    c.find(Locator::Css("#sso-login"))
        .await
        .expect("still signed out");
    assert!(c.find(Locator::Css("#signer-nip")).await.is_err());
    c.close().await.expect("close");

    // Without the login-state cookie at all (a forged return), also refused.
    let res = app
        .get("/auth/oidc/callback?code=forged&state=forged")
        .await;
    assert_eq!(res.status, 400);
    assert!(
        res.headers
            .get_all("set-cookie")
            .iter()
            .all(|v| !v.to_str().unwrap_or_default().starts_with("ikrar_masuk=")),
        "no session from a forged callback"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hr_linked_with_link_oidc_reaches_admin_and_an_unlinked_subject_is_refused() {
    let provider = start_provider().await;
    let (app, base) = app_with(&provider).await;
    let seeded = seed(app.store()).await;
    user_with_token(
        app.store(),
        Some(seeded.instansi_id),
        "hr-sso",
        "hr",
        "kata-sandi-panjang-sekali",
    )
    .await;
    crate::cli::ok(&crate::cli::ikrar(
        &app.db.url,
        &[
            "user",
            "link-oidc",
            "--username",
            "hr-sso",
            "--subject",
            "bkn-hr-7781",
        ],
    ));

    let driver = start_driver().await;
    let c = session(&driver).await;

    // A subject no account is linked to: refused, saying why; no session.
    c.goto(&format!("{base}/admin/login")).await.expect("login");
    c.find(Locator::Css("#sso-login"))
        .await
        .expect("Masuk dengan SSO")
        .click()
        .await
        .expect("click");
    authorize_as(&c, &provider, "orang-asing").await;
    wait_for_url(&c, &format!("{base}/auth/oidc/callback")).await;
    let text = body_text(&c).await;
    assert!(text.contains("belum ditautkan"), "{text}");
    c.goto(&format!("{base}/admin")).await.expect("admin");
    wait_for_url(&c, &format!("{base}/admin/login")).await;

    // The linked account signs in and reaches /admin.
    c.find(Locator::Css("#sso-login"))
        .await
        .expect("Masuk dengan SSO")
        .click()
        .await
        .expect("click");
    authorize_as(&c, &provider, "bkn-hr-7781").await;
    let url = wait_for_url(&c, &format!("{base}/admin")).await;
    assert!(!url.starts_with(&format!("{base}/admin/login")), "{url}");
    for _ in 0..100 {
        if c.current_url().await.expect("url").path() == "/admin" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(c.current_url().await.expect("url").path(), "/admin");
    c.find(Locator::Css("form[action='/admin/logout']"))
        .await
        .expect("the admin dashboard, signed in");
    c.close().await.expect("close");

    // Both are in the audit trail.
    let mine = app
        .store()
        .audit_events(Some(seeded.instansi_id), i64::MAX, 100)
        .await
        .expect("audit");
    assert!(
        mine.iter()
            .any(|e| e.action == "login" && e.actor == "user:hr-sso" && e.summary.contains("SSO")),
        "{mine:?}"
    );
    assert!(
        mine.iter().any(|e| e.action == "user.link-oidc"),
        "{mine:?}"
    );
    let deployment = app
        .store()
        .audit_events(None, i64::MAX, 100)
        .await
        .expect("audit");
    assert!(
        deployment
            .iter()
            .any(|e| e.action == "login.refused" && e.actor == "oidc:orang-asing"),
        "{deployment:?}"
    );

    // A subject links to one account only.
    user_with_token(
        app.store(),
        Some(seeded.instansi_id),
        "hr-lain",
        "hr",
        "kata-sandi-panjang-sekali",
    )
    .await;
    let again = crate::cli::ikrar(
        &app.db.url,
        &[
            "user",
            "link-oidc",
            "--username",
            "hr-lain",
            "--subject",
            "bkn-hr-7781",
        ],
    );
    assert!(!again.status.success());
}

/// `name=value` of a `Set-Cookie` named `name`, if the answer sets it.
fn set_cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|kv| kv.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// The HR sign-in over plain HTTP (no browser): ikrar's redirect, the provider's form
/// posted as `subject`, and the callback. Returns the callback's status and session cookie.
async fn hr_sign_in_over_http(base: &str, subject: &str) -> (u16, Option<String>) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let start = http
        .get(format!("{base}/admin/login/sso"))
        .send()
        .await
        .expect("start");
    assert_eq!(start.status(), 303);
    let login = set_cookie(start.headers(), "__Host-ikrar_oidc").expect("login-state cookie");
    let authorize = start.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let answer = http
        .post(&authorize)
        .form(&[("sub", subject)])
        .send()
        .await
        .expect("authorize");
    assert_eq!(answer.status(), 302, "the provider redirects back");
    let back = answer.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(
        back.starts_with(&format!("{base}/auth/oidc/callback?")),
        "{back}"
    );
    let callback = http
        .get(&back)
        .header(reqwest::header::COOKIE, login)
        .send()
        .await
        .expect("callback");
    let session = set_cookie(callback.headers(), "ikrar_session");
    (callback.status().as_u16(), session)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_provider_key_is_fetched_again_and_sign_in_goes_on() {
    let port = free_port();
    let provider = start_provider_on(port).await;
    let (app, base) = app_with(&provider).await;
    let seeded = seed(app.store()).await;
    user_with_token(
        app.store(),
        Some(seeded.instansi_id),
        "hr-rotasi",
        "hr",
        "kata-sandi-panjang-sekali",
    )
    .await;
    ikrar::service::account::link_oidc(app.store(), "hr-rotasi", "bkn-hr-9", "test")
        .await
        .expect("link");
    let (status, session) = hr_sign_in_over_http(&base, "bkn-hr-9").await;
    assert_eq!(status, 200);
    assert!(session.is_some(), "signed in");

    // The provider restarts with a new signing key; ikrar still holds the old JWKS.
    drop(provider);
    let _provider = start_provider_on(port).await;
    let (status, session) = hr_sign_in_over_http(&base, "bkn-hr-9").await;
    assert_eq!(status, 200, "the new key was fetched");
    let session = session.expect("signed in again");
    let admin = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{base}/admin"))
        .header(reqwest::header::COOKIE, session)
        .send()
        .await
        .expect("admin");
    assert_eq!(admin.status(), 200, "the session reaches /admin");
}
