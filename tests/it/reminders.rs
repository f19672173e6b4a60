//! Reminders (SPEC 4.2) against a real SMTP server: Python's aiosmtpd
//! (`tests/python/smtp_sink.py`), which writes every accepted message to a directory. The
//! CLI rounds run the real binary; the API and the admin page run in process on the same
//! database. The roster fixture has email and telepon columns, one address the server
//! refuses for good and one it refuses once.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::cli::{ikrar, ok};
use crate::screens::session;
use crate::support::*;
use ikrar::service::reminder::SmtpConfig;

const FROM: &str = "BKPSDM Surakarta <noreply@bkpsdm.surakarta.test>";

// The fixture's people (tests/fixtures/roster-contacts.csv).
const BAYU: &str = "199403142015021375"; // Dinas Kesehatan, email + telepon; signs first
const MUHAMMAD: &str = "198909202022011971"; // Dinas Kesehatan, email
const FAJAR: &str = "197811032003021382"; // Dinas Kesehatan, email + telepon
const ANI: &str = "198811072021062600"; // Dinas Kesehatan, telepon only
const DYAH: &str = "199010082019092897"; // Dinas Kesehatan, an address refused for good
const WIWIK: &str = "199812182025032432"; // Dinas Pendidikan, an address refused once
const HERU: &str = "198704132021021968"; // Dinas Pendidikan, email + telepon
const ENDANG: &str = "198308192014112981"; // Dinas Pendidikan, no contact data

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// The SMTP server, on a free loopback port it reports itself.
struct Sink {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Sink {
    fn start() -> Sink {
        let dir = tempfile::tempdir().expect("dir");
        let mut child = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/smtp_sink.py"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs (scripts/install-test-deps.sh installs aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the sink says when it is ready");
        let port = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("aiosmtpd did not start: {line:?}"));
        Sink { child, dir, port }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received since the last call, taken out of the directory.
    fn take(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("read sink dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let v = serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json");
                std::fs::remove_file(&p).expect("remove");
                v
            })
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The email address of each fixture NIP.
fn addresses() -> BTreeMap<String, String> {
    let mut r = csv::Reader::from_path(fixture("roster-contacts.csv")).expect("fixture");
    r.records()
        .map(|x| x.expect("row"))
        .filter(|x| !x[5].is_empty())
        .map(|x| (x[5].to_string(), x[0].to_string()))
        .collect()
}

/// The signing link in a text, whatever surrounds it.
fn link_in(text: &str) -> String {
    let start = text
        .find(&format!("{PUBLIC_URL}/s/"))
        .unwrap_or_else(|| panic!("no signing link in {text:?}"));
    text[start..start + PUBLIC_URL.len() + 3 + 26].to_string()
}

fn token_of(link: &str) -> String {
    link.rsplit('/').next().expect("token").to_string()
}

/// Per NIP, the fresh link of each message received; every message goes to one person,
/// in Indonesian, and each person gets at most one.
fn by_person(messages: &[Value]) -> BTreeMap<String, String> {
    let addresses = addresses();
    let mut out = BTreeMap::new();
    for m in messages {
        let rcpt = m["rcpt"].as_array().expect("rcpt");
        assert_eq!(rcpt.len(), 1, "one recipient per message: {m}");
        let nip = addresses[rcpt[0].as_str().expect("address")].clone();
        let subject = m["subject"].as_str().expect("subject");
        assert!(
            subject.starts_with("Pengingat: Ikrar Netralitas"),
            "{subject}"
        );
        let body = m["body"].as_str().expect("body");
        assert!(
            body.starts_with("Yth. ") && body.contains("belum menandatangani"),
            "{body}"
        );
        assert!(m["from"].as_str().expect("from").contains("noreply@bkpsdm"));
        let previous = out.insert(nip.clone(), link_in(body));
        assert!(previous.is_none(), "{nip} got two messages in one round");
    }
    out
}

fn set(nips: &[&str]) -> BTreeSet<String> {
    nips.iter().map(|s| s.to_string()).collect()
}

fn keys(m: &BTreeMap<String, String>) -> BTreeSet<String> {
    m.keys().cloned().collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `ikrar remind` with the SMTP server given by flags, or by the environment.
fn remind(db: &str, args: &[&str], smtp: Option<&Sink>, by_env: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ikrar"));
    cmd.arg("remind")
        .args(args)
        .env("DATABASE_URL", db)
        .env_remove("IKRAR_PUBLIC_URL")
        .env_remove("IKRAR_SMTP_URL")
        .env_remove("IKRAR_SMTP_FROM")
        .env("IKRAR_LOG", "warn");
    if let Some(sink) = smtp {
        if by_env {
            cmd.env("IKRAR_SMTP_URL", sink.url())
                .env("IKRAR_SMTP_FROM", FROM);
        } else {
            cmd.args(["--smtp-url", &sink.url(), "--smtp-from", FROM]);
        }
    }
    cmd.output().expect("run ikrar remind")
}

/// Instansi, the contact roster and an open campaign through the CLI, and every target's
/// first link; the app (whose start stored the public URL) signs and serves the API.
async fn setup(smtp: Option<&Sink>) -> (TestDb, TestApp, String, BTreeMap<String, String>) {
    let db = TestDb::new().await;
    let mut s = settings();
    s.smtp = smtp.map(|sink| SmtpConfig {
        url: sink.url(),
        from: FROM.to_string(),
    });
    let app = TestApp::with_settings(db.shared(), s).await;
    let url = db.url.clone();
    ok(&ikrar(
        &url,
        &[
            "instansi",
            "add",
            "--code",
            "surakarta",
            "--name",
            "Pemerintah Kota Surakarta",
            "--place",
            "Surakarta",
        ],
    ));
    ok(&ikrar(
        &url,
        &[
            "roster",
            "import",
            "--instansi",
            "surakarta",
            &fixture("roster-contacts.csv"),
        ],
    ));
    let now = chrono::Utc::now();
    let campaign = ok(&ikrar(
        &url,
        &[
            "campaign",
            "create",
            "--instansi",
            "surakarta",
            "--template",
            "ikrar-netralitas-2024@1",
            "--title",
            "Ikrar Netralitas ASN — HUT Korpri ke-53",
            "--place",
            "Surakarta",
            "--opens",
            &(now - chrono::Duration::hours(1)).to_rfc3339(),
            "--closes",
            &(now + chrono::Duration::days(1)).to_rfc3339(),
        ],
    ))
    .trim()
    .to_string();
    let dir = tempfile::tempdir().expect("dir");
    let csv_path = dir.path().join("links.csv");
    ok(&ikrar(
        &url,
        &[
            "invitations",
            "--campaign",
            &campaign,
            "--out",
            csv_path.to_str().expect("utf8"),
        ],
    ));
    let mut r = csv::Reader::from_path(&csv_path).expect("links.csv");
    let first: BTreeMap<String, String> = r
        .records()
        .map(|x| x.expect("row"))
        .map(|x| (x[0].to_string(), token_of(&x[3])))
        .collect();
    assert_eq!(first.len(), 8);
    (db, app, campaign, first)
}

async fn assert_replaced(app: &TestApp, token: &str) {
    let res = app.sign(token, "Nama Saya").await;
    assert_eq!(res.status, StatusCode::GONE, "{}", res.text());
    assert_eq!(res.error_code(), "token_replaced");
    assert!(
        res.json()["error"]["message"]
            .as_str()
            .expect("message")
            .contains("Tautan baru telah dikirim kepada Anda")
    );
    let page = app.get(&format!("/s/{token}")).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(
        page.text()
            .contains("Tautan baru telah dikirim kepada Anda")
    );
}

async fn assert_usable(app: &TestApp, token: &str) {
    let page = app.get(&format!("/s/{token}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
}

async fn signs(app: &TestApp, link: &str) {
    let res = app.sign(&token_of(link), "Nama Saya").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
}

async fn instansi_id(app: &TestApp) -> i64 {
    app.store()
        .instansi_by_code("surakarta")
        .await
        .expect("query")
        .expect("instansi")
        .id
}

#[tokio::test(flavor = "multi_thread")]
async fn email_rounds_reach_each_unsigned_target_with_an_address_once_with_a_fresh_link() {
    let sink = Sink::start();
    let (db, app, campaign, first) = setup(Some(&sink)).await;
    let url = db.url.clone();
    let signed = app.sign(&first[BAYU], "Bayu Purnomo").await;
    assert_eq!(signed.status, StatusCode::CREATED);

    // Round 1: everyone unsigned with an address, each once; the busy server's 451 is retried.
    let out = remind(
        &url,
        &["--campaign", &campaign, "--channel", "email"],
        Some(&sink),
        false,
    );
    let log = ok_stderr(&out);
    let round1 = by_person(&sink.take());
    assert_eq!(keys(&round1), set(&[MUHAMMAD, FAJAR, WIWIK, HERU]), "{log}");
    assert!(
        log.contains("Pengingat surel: 4 surel terkirim, 1 gagal, 2 tanpa alamat surel."),
        "{log}"
    );
    // The permanent failure is named by NIP with its code, never by address.
    assert!(log.contains(&format!("gagal: {DYAH} Dyah Utami")), "{log}");
    assert!(log.contains("ditolak server surel (kode 550)"), "{log}");
    assert!(!log.contains('@'), "no contact data in the summary: {log}");
    for (nip, link) in &round1 {
        assert_replaced(&app, &first[nip]).await;
        assert_ne!(token_of(link), first[nip]);
    }
    // Not delivered, no address, or signed: the old link is the one that works.
    for nip in [DYAH, ANI, ENDANG, BAYU] {
        assert_usable(&app, &first[nip]).await;
    }
    signs(&app, &round1[MUHAMMAD]).await;

    // Round 2 reaches only those still unsigned; round 1's links are replaced in turn.
    let log = ok_stderr(&remind(
        &url,
        &["--campaign", &campaign, "--channel", "email"],
        Some(&sink),
        false,
    ));
    let round2 = by_person(&sink.take());
    assert_eq!(keys(&round2), set(&[FAJAR, WIWIK, HERU]), "{log}");
    assert_replaced(&app, &token_of(&round1[FAJAR])).await;
    signs(&app, &round2[FAJAR]).await;

    // --unit limits a round to that unit (here with the SMTP server from the environment).
    let log = ok_stderr(&remind(
        &url,
        &[
            "--campaign",
            &campaign,
            "--channel",
            "email",
            "--unit",
            "Dinas Pendidikan",
        ],
        Some(&sink),
        true,
    ));
    let round3 = by_person(&sink.take());
    assert_eq!(keys(&round3), set(&[WIWIK, HERU]), "{log}");
    assert!(
        log.contains("2 surel terkirim, 0 gagal, 1 tanpa alamat surel"),
        "{log}"
    );

    // The API sends the same; the same round key again sends nothing.
    let token = hr_token(&app, instansi_id(&app).await).await;
    let path = format!("/api/v1/campaigns/{campaign}/reminders");
    let body = json!({"channel": "email", "nip": HERU, "round_key": "tombol-1"});
    let res = app.call(Method::POST, &path, &token, Some(&body)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let v = res.json();
    assert_eq!(
        (
            v["sent"].as_i64(),
            v["failed_count"].as_i64(),
            v["repeated"].as_bool()
        ),
        (Some(1), Some(0), Some(false)),
        "{v}"
    );
    let api_round = by_person(&sink.take());
    assert_eq!(keys(&api_round), set(&[HERU]));
    assert_replaced(&app, &token_of(&round3[HERU])).await;
    let again = app.call(Method::POST, &path, &token, Some(&body)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["repeated"], json!(true));
    assert_eq!(again.json()["sent"], json!(1));
    assert!(sink.take().is_empty(), "a repeated round sends nothing");
    signs(&app, &api_round[HERU]).await;

    // The API reports the permanent failure without the address.
    let res = app
        .call(
            Method::POST,
            &path,
            &token,
            Some(&json!({"channel": "email", "unit": "Dinas Kesehatan"})),
        )
        .await;
    let v = res.json();
    assert_eq!(v["sent"], json!(0), "{v}");
    assert_eq!(v["failed"][0]["nip"], json!(DYAH));
    assert!(!res.text().contains('@'));
    assert!(sink.take().is_empty());

    // The admin page: pressing the button twice runs the round once.
    let cookie = session(&app, Some(instansi_id(&app).await), "hr-halaman").await;
    let page = app
        .request(
            Method::GET,
            &format!("/admin/campaigns/{campaign}/pengingat"),
            None,
            &[("cookie", &cookie)],
            local(),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let key = round_key(&page.text(), "email-");
    let form = format!("csrf=csrf-uji&channel=email&unit=&nip=&round_key={key}");
    let mut answers = Vec::new();
    for _ in 0..2 {
        let res = app
            .request(
                Method::POST,
                &format!("/admin/campaigns/{campaign}/pengingat"),
                Some((
                    "application/x-www-form-urlencoded",
                    form.clone().into_bytes(),
                )),
                &[("cookie", &cookie)],
                local(),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        answers.push(res.text());
    }
    assert!(
        answers[0].contains("1 surel terkirim, 1 gagal"),
        "{}",
        answers[0]
    );
    assert!(
        answers[1].contains("sudah dijalankan sebelumnya"),
        "{}",
        answers[1]
    );
    assert_eq!(keys(&by_person(&sink.take())), set(&[WIWIK]));

    // Every round is in the audit trail, in Indonesian, without contact data.
    let events = app
        .store()
        .audit_events(Some(instansi_id(&app).await), i64::MAX, 200)
        .await
        .expect("audit");
    let rounds: Vec<_> = events
        .iter()
        .filter(|e| e.action == "reminder.email")
        .collect();
    assert_eq!(
        rounds.len(),
        6,
        "three CLI rounds, two API rounds, one page round"
    );
    assert!(rounds.iter().all(
        |e| e.summary.starts_with("putaran pengingat surel kampanye") && !e.summary.contains('@')
    ));
    assert!(
        rounds
            .iter()
            .any(|e| e.summary.contains("(unit Dinas Pendidikan)"))
    );
}

/// A CLI run that must have succeeded; its stderr (where people's output goes).
fn ok_stderr(out: &Output) -> String {
    ok(out);
    stderr(out)
}

/// The round key a form on the reminder page carries.
fn round_key(html: &str, prefix: &str) -> String {
    let marker = format!("name=\"round_key\" value=\"{prefix}");
    let start = html.find(&marker).expect("round key field") + marker.len() - prefix.len();
    let end = start + html[start..].find('"').expect("end");
    html[start..end].to_string()
}

/// The fresh link inside a `wa.me` link's `text=`.
fn link_in_wa(wa: &str, telepon: &str) -> String {
    let prefix = format!("https://wa.me/{telepon}?text=");
    assert!(wa.starts_with(&prefix), "{wa}");
    let text: String =
        url::form_urlencoded::parse(format!("text={}", &wa[prefix.len()..]).as_bytes())
            .find(|(k, _)| k == "text")
            .map(|(_, v)| v.into_owned())
            .expect("text");
    assert!(
        text.starts_with("Yth. ") && text.contains("belum menandatangani"),
        "{text}"
    );
    link_in(&text)
}

#[tokio::test(flavor = "multi_thread")]
async fn whatsapp_rounds_give_click_to_chat_links_whose_text_holds_a_working_link() {
    let (db, app, campaign, first) = setup(None).await;
    let url = db.url.clone();
    let dir = tempfile::tempdir().expect("dir");

    // Email needs an SMTP server; none is configured here.
    let refused = remind(
        &url,
        &["--campaign", &campaign, "--channel", "email"],
        None,
        false,
    );
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("--smtp-url"));

    // The admin page, for one unit: one link per person, and the same links as a CSV.
    let cookie = session(&app, Some(instansi_id(&app).await), "hr-wa").await;
    let page_path = format!("/admin/campaigns/{campaign}/pengingat");
    let page = app
        .request(
            Method::GET,
            &page_path,
            None,
            &[("cookie", &cookie)],
            local(),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let form = format!(
        "csrf=csrf-uji&channel=whatsapp&unit=Dinas+Pendidikan&nip=&round_key={}",
        round_key(&page.text(), "wa-")
    );
    let press = || async {
        app.request(
            Method::POST,
            &page_path,
            Some((
                "application/x-www-form-urlencoded",
                form.clone().into_bytes(),
            )),
            &[("cookie", &cookie)],
            local(),
        )
        .await
    };
    let res = press().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let html = res.text();
    assert!(
        html.contains("1 tautan WhatsApp dibuat, 0 gagal, 2 tanpa nomor telepon"),
        "{html}"
    );
    assert!(
        html.contains("href=\"https://wa.me/6281211110007?text="),
        "{html}"
    );
    let data = html
        .split("href=\"data:text/csv;charset=utf-8;base64,")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSV download on the page");
    let csv_bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .expect("base64");
    let mut r = csv::Reader::from_reader(csv_bytes.as_slice());
    assert_eq!(
        r.headers().expect("header").iter().collect::<Vec<_>>(),
        ["nip", "nama", "unit", "telepon", "wa_link"]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.expect("row")).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!((&rows[0][0], &rows[0][3]), (HERU, "6281211110007"));
    assert!(
        html.contains(&rows[0][4]),
        "the page and the CSV hold the same link"
    );
    signs(&app, &link_in_wa(&rows[0][4], "6281211110007")).await;
    assert_replaced(&app, &first[HERU]).await;
    // Pressed again: the round is not run twice.
    let again = press().await.text();
    assert!(
        again.contains("sudah dijalankan sebelumnya") && !again.contains("wa.me/"),
        "{again}"
    );

    // The CLI round for everyone else with a number.
    let wa = dir.path().join("wa.csv");
    let log = ok_stderr(&remind(
        &url,
        &[
            "--campaign",
            &campaign,
            "--channel",
            "whatsapp",
            "--out",
            wa.to_str().expect("utf8"),
        ],
        None,
        false,
    ));
    assert!(
        log.contains("3 tautan WhatsApp dibuat, 0 gagal, 4 tanpa nomor telepon"),
        "{log}"
    );
    let mut r = csv::Reader::from_path(&wa).expect("wa.csv");
    assert_eq!(
        r.headers().expect("header").iter().collect::<Vec<_>>(),
        ["nip", "nama", "unit", "telepon", "wa_link"]
    );
    let rows: BTreeMap<String, (String, String)> = r
        .records()
        .map(|x| x.expect("row"))
        .map(|x| (x[0].to_string(), (x[3].to_string(), x[4].to_string())))
        .collect();
    assert_eq!(
        rows.keys().cloned().collect::<BTreeSet<_>>(),
        set(&[BAYU, FAJAR, ANI])
    );
    // Numbers written 0812-…, +62 812 … and 0812… all become 62….
    assert_eq!(rows[BAYU].0, "6281211110001");
    assert_eq!(rows[FAJAR].0, "6281211110003");
    assert_eq!(rows[ANI].0, "6281211110004");
    for (nip, (telepon, wa_link)) in &rows {
        let link = link_in_wa(wa_link, telepon);
        assert_replaced(&app, &first[nip]).await;
        signs(&app, &link).await;
    }
    // Without a number: not reminded, the old link still works.
    for nip in [MUHAMMAD, DYAH, WIWIK, ENDANG] {
        assert_usable(&app, &first[nip]).await;
    }
    let events = app
        .store()
        .audit_events(Some(instansi_id(&app).await), i64::MAX, 200)
        .await
        .expect("audit");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "reminder.whatsapp")
            .count(),
        2
    );
}

#[tokio::test]
async fn a_roster_with_a_bad_contact_cell_imports_nothing_and_names_row_and_column() {
    let db = TestDb::new().await;
    let url = db.url.clone();
    ok(&ikrar(
        &url,
        &[
            "instansi",
            "add",
            "--code",
            "solo",
            "--name",
            "Pemerintah Kota Solo",
            "--place",
            "Solo",
        ],
    ));
    let dir = tempfile::tempdir().expect("dir");
    let bad = dir.path().join("bad.csv");
    let mut text = std::fs::read_to_string(fixture("roster-contacts.csv")).expect("fixture");
    text = text.replace(
        "fajar.prakoso@dinkes.surakarta.test",
        "fajar.prakoso(at)dinkes",
    );
    text = text.replace("6281211110007", "0271-123456");
    std::fs::write(&bad, text).expect("write");
    let out = ikrar(
        &url,
        &[
            "roster",
            "import",
            "--instansi",
            "solo",
            bad.to_str().expect("utf8"),
        ],
    );
    assert!(!out.status.success());
    let log = stderr(&out);
    assert!(log.contains("baris 4, kolom email"), "{log}");
    assert!(log.contains("baris 8, kolom telepon"), "{log}");
    assert!(
        !log.contains("(at)") && !log.contains("0271"),
        "cells are not echoed: {log}"
    );
    let store = db.store().await;
    let inst = store
        .instansi_by_code("solo")
        .await
        .expect("q")
        .expect("instansi");
    assert!(
        store
            .employees(inst.id, "%", 10, 0)
            .await
            .expect("q")
            .is_empty()
    );

    // A later file without the contact columns keeps the stored contact data; one with an
    // empty cell clears it.
    ok(&ikrar(
        &url,
        &[
            "roster",
            "import",
            "--instansi",
            "solo",
            &fixture("roster-contacts.csv"),
        ],
    ));
    let plain = dir.path().join("plain.csv");
    let cut = |keep: usize| -> String {
        std::fs::read_to_string(fixture("roster-contacts.csv"))
            .expect("fixture")
            .lines()
            .map(|l| {
                let mut r = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .from_reader(l.as_bytes());
                let rec = r.records().next().expect("one").expect("record");
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(rec.iter().take(keep)).expect("write");
                String::from_utf8(w.into_inner().expect("flush")).expect("utf8")
            })
            .collect()
    };
    std::fs::write(&plain, cut(5)).expect("write");
    ok(&ikrar(
        &url,
        &[
            "roster",
            "import",
            "--instansi",
            "solo",
            plain.to_str().expect("utf8"),
        ],
    ));
    let now = chrono::Utc::now();
    let campaign: i64 = ok(&ikrar(
        &url,
        &[
            "campaign",
            "create",
            "--instansi",
            "solo",
            "--template",
            "ikrar-netralitas-2024@1",
            "--title",
            "Uji",
            "--place",
            "Solo",
            "--opens",
            &(now - chrono::Duration::hours(1)).to_rfc3339(),
            "--closes",
            &(now + chrono::Duration::days(1)).to_rfc3339(),
        ],
    ))
    .trim()
    .parse()
    .expect("id");
    let contacts = |store: std::sync::Arc<dyn ikrar::store::Store>| async move {
        store
            .replace_links(
                campaign,
                None,
                None,
                0,
                &|_| false,
                &ikrar::domain::token::mint,
            )
            .await
            .expect("targets")
            .into_iter()
            .map(|(t, _)| (t.number, (t.email, t.telepon)))
            .collect::<BTreeMap<_, _>>()
    };
    let kept = contacts(db.store().await).await;
    assert_eq!(
        kept[HERU],
        (
            Some("heru.prakoso@disdik.surakarta.test".to_owned()),
            Some("6281211110007".to_owned())
        )
    );
    assert_eq!(kept[ENDANG], (None, None));
    // Email column present but emptied: cleared; telepon column absent: kept.
    let emptied: String = cut(6)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l}\n")
            } else {
                let (head, _) = l.rsplit_once(',').expect("email column");
                format!("{head},\n")
            }
        })
        .collect();
    std::fs::write(&plain, emptied).expect("write");
    ok(&ikrar(
        &url,
        &[
            "roster",
            "import",
            "--instansi",
            "solo",
            plain.to_str().expect("utf8"),
        ],
    ));
    let cleared = contacts(db.store().await).await;
    assert_eq!(cleared[HERU], (None, Some("6281211110007".to_owned())));
}
