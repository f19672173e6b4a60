//! The public's verifier (SPEC 4.3) in Debian's Chromium: `/periksa` keeps verifying after
//! the server is stopped (its service worker), and the single file `ikrar verifier` writes
//! gives the same verdicts opened from disk. Signatures are checked by the browser's
//! WebCrypto against the pinned keys; no server takes part in the verdicts checked offline.

use std::process::Command;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use fantoccini::{Client, Locator};
use ikrar::domain::public_url::PublicUrl;
use serde_json::Value;

use crate::browser::{session, start_driver};
use crate::support::*;

/// A genuine QR text with one character of its signature changed.
fn tampered(qr: &str) -> String {
    let mut chars: Vec<char> = qr.chars().collect();
    let at = chars.len() - 20;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// Signs one pledge on `app` and returns (qr_text, name, log_index).
async fn sign_one(app: &TestApp) -> (String, String, u64) {
    let seeded = seed(app.store()).await;
    let (_, token) = seeded.token_of_kind("PNS", 0);
    let res = app.sign(token, "Penanda Tangan").await;
    assert_eq!(res.status, 201, "{}", res.text());
    let body = res.json();
    let verified = app
        .get(&format!(
            "/api/v1/verify/{}",
            body["record"].as_str().expect("record")
        ))
        .await
        .json();
    (
        body["qr_text"].as_str().expect("qr_text").to_string(),
        // The record's name, cut to 24 bytes, may end in a space a page does not show.
        verified["record"]["name"]
            .as_str()
            .expect("name")
            .trim()
            .to_string(),
        body["log_index"].as_u64().expect("log_index"),
    )
}

/// A pledge signed by another deployment (its own pledge key) under the same host name.
async fn foreign_qr(public_url: &str) -> String {
    let mut s = settings();
    s.public_url = PublicUrl::parse(public_url).expect("url");
    s.pledge_key = SigningKey::from_bytes(&[0x5a; 32]);
    s.log_key = SigningKey::from_bytes(&[0x5b; 32]);
    let other = TestApp::with_settings(TestDb::new().await, s).await;
    sign_one(&other).await.0
}

/// Pastes `qr` into the page, presses "Periksa", and returns the verdict heading and the
/// whole result text once the network checks have settled.
pub(crate) async fn check(c: &Client, qr: &str) -> (String, String) {
    let field = c.find(Locator::Id("teks")).await.expect("text field");
    field.clear().await.expect("clear");
    field.send_keys(qr).await.expect("type");
    c.find(Locator::Id("periksa"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    for _ in 0..200 {
        let text = c
            .find(Locator::Id("hasil"))
            .await
            .expect("result")
            .text()
            .await
            .unwrap_or_default();
        let settled =
            !text.is_empty() && !text.contains("menunggu") && !text.contains("sedang diperiksa");
        if settled {
            let heading = c
                .find(Locator::Css("#hasil .status h2"))
                .await
                .expect("verdict")
                .text()
                .await
                .expect("text");
            return (heading, text);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no verdict for {qr}");
}

async fn verdicts_hold(c: &Client, genuine: &str, name: &str, index: u64, foreign: &str) {
    let (heading, text) = check(c, genuine).await;
    assert!(
        heading.contains("SAH") && !heading.contains("TIDAK"),
        "{heading}\n{text}"
    );
    assert!(text.contains(name), "the signer's name is shown: {text}");
    assert!(
        text.contains(&format!("Nomor urut di log transparansi {index}"))
            || text.contains(&format!("Nomor urut di log transparansi\n{index}")),
        "the log index is shown: {text}"
    );
    assert!(text.contains(" WIB"), "the date carries its zone: {text}");

    let (heading, text) = check(c, &tampered(genuine)).await;
    assert!(
        heading.contains("TIDAK SAH"),
        "a changed signature: {heading}\n{text}"
    );
    assert!(
        !text.contains(name),
        "nothing of a bad record is vouched for: {text}"
    );

    let (heading, text) = check(c, foreign).await;
    assert!(
        heading.contains("TIDAK SAH") && text.to_lowercase().contains("kunci tidak dikenal"),
        "another deployment's key: {heading}\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periksa_verifies_in_the_browser_and_keeps_working_with_the_server_stopped() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let mut s = settings();
    s.public_url = PublicUrl::parse(&base).expect("url");
    let app = TestApp::with_settings(TestDb::new().await, s).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = app.state.clone();
    let server = tokio::spawn(async move {
        let _ = ikrar::http::serve(listener, state, async {
            let _ = stopped.await;
        })
        .await;
    });
    let (genuine, name, index) = sign_one(&app).await;
    let foreign = foreign_qr(&base).await;

    // Public reads may be fetched by a verifier hosted elsewhere; HR's API may not.
    let http = reqwest::Client::new();
    let record = genuine.rsplit('/').next().expect("record");
    let proof = http
        .get(format!("{base}/api/v1/proof/{record}"))
        .send()
        .await
        .expect("proof");
    assert_eq!(proof.status(), 200);
    assert_eq!(proof.headers()["access-control-allow-origin"], "*");
    let hr = http
        .get(format!("{base}/api/v1/campaigns"))
        .send()
        .await
        .expect("campaigns");
    assert!(hr.headers().get("access-control-allow-origin").is_none());

    let driver = start_driver().await;
    let c = session(&driver).await;
    c.goto(&format!("{base}/periksa"))
        .await
        .expect("open /periksa");
    // Online, the page proves inclusion itself, against the log key it pins.
    let (heading, text) = check(&c, &genuine).await;
    assert!(
        heading.contains("SAH") && !heading.contains("TIDAK"),
        "{text}"
    );
    assert!(text.contains("✔ Tercatat di log transparansi"), "{text}");
    assert!(text.contains("tidak dibatalkan"), "{text}");
    // Wait until the service worker has cached the page and its scripts.
    let ready: Value = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             navigator.serviceWorker.ready.then(() => caches.keys())
               .then(names => Promise.all(names.map(n => caches.open(n).then(c => c.keys()))))
               .then(lists => done(lists.flat().map(r => new URL(r.url).pathname)));",
            vec![],
        )
        .await
        .expect("service worker");
    let cached: Vec<&str> = ready
        .as_array()
        .expect("list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        cached.contains(&"/periksa") && cached.contains(&"/static/periksa.js"),
        "{cached:?}"
    );

    // Stop the server: nothing answers on its port any more.
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("the server stops")
        .expect("server task");
    let addr = base.trim_start_matches("http://");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the server is down"
    );

    c.refresh().await.expect("reload with the server stopped");
    let title = c.title().await.expect("title");
    assert!(
        title.contains("Periksa"),
        "the page came from the cache: {title}"
    );
    verdicts_hold(&c, &genuine, &name, index, &foreign).await;
    let (_, text) = check(&c, &genuine).await;
    assert!(
        text.contains("belum diperiksa: tidak ada jaringan"),
        "it says what needs the network: {text}"
    );
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_single_file_verifier_gives_the_same_verdicts_opened_from_disk() {
    let app = TestApp::new().await;
    let (genuine, name, index) = sign_one(&app).await;
    let foreign = foreign_qr(PUBLIC_URL).await;

    let dir = tempfile::tempdir().expect("dir");
    let keys = dir.path().join("keys.json");
    std::fs::write(&keys, app.get("/api/v1/keys").await.body).expect("write keys");
    let out = dir.path().join("periksa.html");
    let run = Command::new(env!("CARGO_BIN_EXE_ikrar"))
        .arg("verifier")
        .arg("--keys")
        .arg(&keys)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run ikrar verifier");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let html = std::fs::read_to_string(&out).expect("page");
    assert!(
        !html.contains("src=") && !html.contains("<link"),
        "one self-contained file"
    );

    // Keys that cannot be pinned are refused, saying why, and write nothing.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"keys": []}"#).expect("write");
    let refused = Command::new(env!("CARGO_BIN_EXE_ikrar"))
        .args(["verifier", "--keys"])
        .arg(&bad)
        .arg("--out")
        .arg(dir.path().join("none.html"))
        .output()
        .expect("run");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("kunci ikrar"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!dir.path().join("none.html").exists());

    let driver = start_driver().await;
    let c = session(&driver).await;
    c.goto(&format!("file://{}", out.display()))
        .await
        .expect("open from disk");
    verdicts_hold(&c, &genuine, &name, index, &foreign).await;
    c.close().await.expect("close");
}
