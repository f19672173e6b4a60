//! The signing page in a real browser: Debian's headless Chromium at 360×740 (a cheap phone),
//! driven through chromedriver, signs with a drawn signature and downloads the PDF.
//! `scripts/install-test-deps.sh` installs chromium and chromium-driver.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::*;

pub(crate) struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(bin: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {bin}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub(crate) async fn start_driver() -> Driver {
    assert!(
        which("chromium") && which("chromedriver"),
        "browser tests need Debian's chromium and chromium-driver: run scripts/install-test-deps.sh"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        port,
        _profile: tempfile::tempdir().expect("profile dir"),
    };
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(format!("http://127.0.0.1:{port}/status"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not start");
}

pub(crate) async fn session(driver: &Driver) -> Client {
    let caps = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            // Headless windows have a minimum width; emulate the phone's viewport instead.
            "mobileEmulation": {"deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 2.0}},
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=360,740", "--no-first-run", "--disable-quic",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ]
        }
    });
    let caps = caps
        .as_object()
        .expect("object")
        .clone()
        .into_iter()
        .collect();
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("webdriver session")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signs_with_a_drawn_signature_on_a_360px_phone_and_downloads_the_pdf() {
    let (app, base) = spawn_server().await;
    let seeded = seed(app.store()).await;
    let (_, token) = seeded.token_of_kind("PNS", 0);
    let driver = start_driver().await;
    let c = session(&driver).await;

    c.goto(&format!("{base}/s/{token}"))
        .await
        .expect("open link");
    let width = c
        .execute("return document.documentElement.clientWidth", vec![])
        .await
        .expect("width");
    assert_eq!(width, json!(360), "a phone-sized viewport");
    let overflow = c
        .execute(
            "return document.documentElement.scrollWidth > document.documentElement.clientWidth",
            vec![],
        )
        .await
        .expect("overflow");
    assert_eq!(overflow, json!(false), "nothing scrolls sideways at 360 px");

    // The script revealed the pad: draw two strokes on it.
    let pad = c.find(Locator::Css("#pad")).await.expect("signature pad");
    assert!(pad.is_displayed().await.expect("displayed"));
    let mut draw = MouseActions::new("finger".to_string()).then(PointerAction::MoveToElement {
        element: pad.clone(),
        duration: None,
        x: -100.0,
        y: 10.0,
    });
    draw = draw.then(PointerAction::Down {
        button: MOUSE_BUTTON_LEFT,
    });
    for (dx, dy) in [(30.0, -20.0), (30.0, 25.0), (40.0, -10.0), (30.0, 15.0)] {
        draw = draw.then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(60)),
            x: dx,
            y: dy,
        });
    }
    draw = draw
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveBy {
            duration: None,
            x: -60.0,
            y: 20.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(60)),
            x: 80.0,
            y: 0.0,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    c.perform_actions(draw).await.expect("draw");

    c.find(Locator::Css("input[name=consent]"))
        .await
        .expect("consent box")
        .click()
        .await
        .expect("tick");
    c.find(Locator::Css("#consent_name"))
        .await
        .expect("name field")
        .send_keys("Budi Santoso")
        .await
        .expect("type");
    c.find(Locator::Css("#submit"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("submit");
    // "Budi Santoso" is not the roster's name: the page asks once, keeping the drawing and
    // the tick; signing again confirms.
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#name-question"))
        .await
        .expect("the page asks whether the name is right");
    let kept = c
        .execute(
            "return document.getElementById('mark_svg').value.length > 0 \
             && document.querySelector('input[name=consent]').checked",
            vec![],
        )
        .await
        .expect("kept");
    assert_eq!(kept, json!(true), "the drawing and the tick are kept");
    c.find(Locator::Css("#submit"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("submit again");

    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#pdf-link"))
        .await
        .expect("the receipt appears");
    let html = c.source().await.expect("source");
    assert!(html.contains("Ikrar telah ditandatangani"), "{html}");
    let href = c
        .find(Locator::Css("#pdf-link"))
        .await
        .expect("pdf link")
        .attr("href")
        .await
        .expect("href")
        .expect("has href");
    let verify_url = c
        .find(Locator::Css("#verify-link"))
        .await
        .expect("verify link")
        .attr("href")
        .await
        .expect("href")
        .expect("has href");

    // Download the PDF from the link the page offers.
    let pdf = reqwest::get(format!("{base}{href}")).await.expect("pdf");
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert_eq!(pdf.headers()["cache-control"], "no-store");
    assert_eq!(pdf.headers()["referrer-policy"], "no-referrer");
    let bytes = pdf.bytes().await.expect("bytes");
    assert!(bytes.starts_with(b"%PDF"));

    // The pledge carries the drawing: its statement names a mark hash, and the record verifies.
    let record = verify_url.rsplit('/').next().expect("record");
    let v: serde_json::Value = reqwest::get(format!("{base}/api/v1/verify/{record}"))
        .await
        .expect("verify")
        .json()
        .await
        .expect("json");
    assert_eq!(v["valid"], true);
    let statement = v["pledge"]["statement"].as_str().expect("statement");
    assert!(statement.contains("\nmark: sha256:"), "{statement}");

    // The page's policy forbids inline code; the script that drew came from our origin.
    let page = reqwest::get(format!("{base}/s/{token}"))
        .await
        .expect("page");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    assert!(!csp.contains("unsafe-inline") && csp.contains("script-src 'self'"));
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_works_without_javascript_and_a_double_submit_makes_one_pledge() {
    let (app, base) = spawn_server().await;
    let seeded = seed(app.store()).await;
    let (_, token) = seeded.token_of_kind("PPPK", 0);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = http
        .get(format!("{base}/s/{token}"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.expect("html");
    assert!(html.contains("Data saya salah") && html.contains("Tandatangani"));
    assert!(!html.contains("<script>"), "no inline scripts");

    // The signer types the name the page shows (a name far from it is asked about first).
    let name = html
        .split("<tr><th>Nama</th><td>")
        .nth(1)
        .and_then(|rest| rest.split("</td>").next())
        .expect("the roster name on the page")
        .to_string();
    let form = [("consent", "ya"), ("consent_name", name.as_str())];
    let first = http
        .post(format!("{base}/s/{token}"))
        .form(&form)
        .send()
        .await
        .expect("post");
    let second = http
        .post(format!("{base}/s/{token}"))
        .form(&form)
        .send()
        .await
        .expect("post again");
    for res in [&first, &second] {
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], format!("/s/{token}?ok=1"));
    }
    assert_eq!(app.store().log_head().await.expect("head").size, 1);
    let receipt = http
        .get(format!("{base}/s/{token}?ok=1"))
        .send()
        .await
        .expect("receipt")
        .text()
        .await
        .expect("html");
    assert!(receipt.contains("Unduh PDF") && receipt.contains("<svg"));

    // Without the consent tick, nothing is signed and the page says why.
    let (_, other) = seeded.token_of_kind("PPPK", 1);
    let res = http
        .post(format!("{base}/s/{other}"))
        .form(&[("consent_name", "Sri")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .expect("html")
            .contains("Centang kotak persetujuan")
    );
    assert_eq!(app.store().log_head().await.expect("head").size, 1);
}
