//! The HR journey through the admin pages only, as a new HR officer takes it: log in, import
//! a SIASN roster with two units of the same name, create a campaign for two units (seeing
//! the target count first), issue links once as CSV and slips, issue again with nobody new,
//! change the closing time, read the dashboard, the XLSX and the audit trail, and close.

use std::process::Command;

use axum::http::{Method, StatusCode};
use calamine::{Data, Reader};

use crate::support::*;

/// A SIASN export: Dinas Kesehatan and Dinas Pendidikan each have a "Sekretariat"; Dinas
/// Perhubungan is not a target of the campaign.
const SIASN: &str =
    "nipBaru,nama,jenisPegawaiNama,unorId,unorNama,unorIndukId,unorIndukNama,jabatanNama
199403142015021375,Bayu Purnomo,PNS,S1,Sekretariat,D1,Dinas Kesehatan,Analis
198909202022011971,Muhammad Simanjuntak,PNS,S1,Sekretariat,D1,Dinas Kesehatan,Bendahara
198704132021021968,Sri Wahyuni,PNS,S1,Sekretariat,D1,Dinas Kesehatan,Pengadministrasi
198308192014112981,Agus Salim,PNS,S2,Sekretariat,D2,Dinas Pendidikan,Analis
198604092009022478,Dewi Lestari,PNS,S2,Sekretariat,D2,Dinas Pendidikan,Bendahara
200005262025022475,Rina Marlina,PNS,D1,Dinas Kesehatan,D1,Dinas Kesehatan,Kepala Dinas
198403192006042803,Hendra Gunawan,PNS,D3,Dinas Perhubungan,D3,Dinas Perhubungan,Kepala Dinas
197804032000021996,Yusuf Maulana,PNS,D3,Dinas Perhubungan,D3,Dinas Perhubungan,Analis
";

const KES: &str = "Dinas Kesehatan › Sekretariat";
const DIK: &str = "Dinas Pendidikan › Sekretariat";

/// An HR officer's browser: the session cookie and the form token of the pages.
struct Officer<'a> {
    app: &'a TestApp,
    cookie: String,
    csrf: String,
}

fn cookie_pair(res: &TestResponse, name: &str) -> Option<String> {
    res.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("cookie").to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().expect("pair").to_string())
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish().into_bytes()
}

fn location(res: &TestResponse) -> String {
    res.headers
        .get("location")
        .unwrap_or_else(|| panic!("a redirect, got {}: {}", res.status, res.text()))
        .to_str()
        .expect("location")
        .to_string()
}

impl<'a> Officer<'a> {
    async fn log_in(app: &'a TestApp, username: &str, password: &str) -> Officer<'a> {
        let page = app.get("/admin/login").await;
        let login_cookie = cookie_pair(&page, "ikrar_login_csrf").expect("login csrf cookie");
        let csrf = login_cookie.split_once('=').expect("value").1.to_string();
        let res = app
            .request(
                Method::POST,
                "/admin/login",
                Some((
                    "application/x-www-form-urlencoded",
                    form(&[
                        ("username", username),
                        ("password", password),
                        ("csrf", &csrf),
                    ]),
                )),
                &[("cookie", &login_cookie)],
                local(),
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        let cookie = cookie_pair(&res, "ikrar_session").expect("session cookie");
        let mut officer = Officer {
            app,
            cookie,
            csrf: String::new(),
        };
        let home = officer.get("/admin").await;
        officer.csrf = home
            .text()
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .expect("a form token on the admin page")
            .split('"')
            .next()
            .expect("token")
            .to_string();
        officer
    }

    async fn get(&self, path: &str) -> TestResponse {
        self.app
            .request(
                Method::GET,
                path,
                None,
                &[("cookie", &self.cookie)],
                local(),
            )
            .await
    }

    async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> TestResponse {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(pairs);
        self.app
            .request(
                Method::POST,
                path,
                Some(("application/x-www-form-urlencoded", form(&all))),
                &[("cookie", &self.cookie)],
                local(),
            )
            .await
    }

    async fn upload_roster(&self, csv: &str) -> TestResponse {
        let boundary = "----ikrar-test-boundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"siasn.csv\"\r\n\
             Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n",
            self.csrf
        );
        let content_type = format!("multipart/form-data; boundary={boundary}");
        self.app
            .request(
                Method::POST,
                "/admin/roster",
                Some((&content_type, body.into_bytes())),
                &[("cookie", &self.cookie)],
                local(),
            )
            .await
    }
}

/// An instansi with an HR account and nothing else: the rest goes through the pages.
async fn fresh_instansi(app: &TestApp) -> i64 {
    let now = chrono::Utc::now().timestamp();
    let id = app
        .store()
        .add_instansi(
            &ikrar::store::NewInstansi {
                code: "klaten".into(),
                name: "Pemerintah Kabupaten Klaten".into(),
                place: "Klaten".into(),
                tz: ikrar::domain::instansi::TimeZone::Jakarta,
            },
            now,
        )
        .await
        .expect("instansi");
    user_with_token(app.store(), Some(id), "hr1", "hr", "kata-sandi-hr-1").await;
    id
}

/// `datetime-local` in Jakarta time, `days` from now at 10:00.
fn local_day(days: i64) -> (String, i64) {
    let tz = ikrar::domain::instansi::TimeZone::Jakarta;
    let day = tz.at(chrono::Utc::now().timestamp()).date_naive() + chrono::TimeDelta::days(days);
    let value = format!("{}T10:00", day.format("%Y-%m-%d"));
    let unix = chrono::DateTime::parse_from_rfc3339(&format!("{value}:00+07:00"))
        .expect("time")
        .timestamp();
    (value, unix)
}

fn decode_slips(pdf: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("slips.pdf");
    std::fs::write(&file, pdf).expect("write");
    let status = Command::new("pdftoppm")
        .args(["-r", "150", "-png"])
        .arg(&file)
        .arg(dir.path().join("page"))
        .status()
        .expect("pdftoppm (Debian poppler-utils) is installed: scripts/install-test-deps.sh");
    assert!(status.success());
    let mut pages: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    pages.sort();
    let mut out = Vec::new();
    for page in pages {
        let res = Command::new("zbarimg")
            .args(["--raw", "-q"])
            .arg(&page)
            .output()
            .expect("zbarimg (Debian zbar-tools) is installed: scripts/install-test-deps.sh");
        out.extend(
            String::from_utf8_lossy(&res.stdout)
                .lines()
                .map(str::to_string),
        );
    }
    out
}

/// Logs in, imports the SIASN file and creates the campaign for both Sekretariat units
/// through the form; returns the campaign id.
async fn campaign_for_two_units(hr: &Officer<'_>) -> i64 {
    let imported = hr.upload_roster(SIASN).await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.text());

    let (opens, _) = local_day(-1);
    let (closes, _) = local_day(7);
    let fields = [
        ("template", "ikrar-netralitas-2024@1"),
        ("title", "Ikrar Netralitas ASN — HUT Korpri ke-53"),
        ("place", "Klaten"),
        ("opens", opens.as_str()),
        ("closes", closes.as_str()),
        ("units", "S1"),
        ("units", "S2"),
    ];
    // The form picks units from the tree, each shown with its parent.
    let blank = hr.get("/admin/campaigns/baru").await;
    assert_eq!(blank.status, StatusCode::OK);
    let blank = blank.text();
    assert!(blank.contains(KES) && blank.contains(DIK), "{blank}");
    assert!(
        blank.contains("WIB (Asia/Jakarta)"),
        "the form names the time zone"
    );

    // The count before creating.
    let mut preview = fields.to_vec();
    preview.push(("action", "hitung"));
    let counted = hr.post("/admin/campaigns", &preview).await;
    assert_eq!(counted.status, StatusCode::OK);
    let counted = counted.text();
    assert!(
        counted.contains("Sasaran: <strong>5</strong> pegawai"),
        "{counted}"
    );
    assert!(
        counted.contains("value=\"S1\" checked") && counted.contains("value=\"S2\" checked"),
        "the ticked units stay ticked"
    );

    // A refusal keeps what was typed.
    let mut wrong = fields.to_vec();
    wrong[4] = ("closes", opens.as_str());
    wrong.push(("action", "simpan"));
    let refused = hr.post("/admin/campaigns", &wrong).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let refused = refused.text();
    assert!(refused.contains("Waktu tutup harus sesudah waktu buka"));
    assert!(refused.contains("value=\"Ikrar Netralitas ASN — HUT Korpri ke-53\""));
    assert!(refused.contains("value=\"S2\" checked"));

    let mut create = fields.to_vec();
    create.push(("action", "simpan"));
    let created = hr.post("/admin/campaigns", &create).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text());
    let to = location(&created);
    assert!(to.ends_with("?pesan=dibuat"), "{to}");
    to.trim_start_matches("/admin/campaigns/")
        .split('?')
        .next()
        .and_then(|id| id.parse().ok())
        .expect("campaign id")
}

#[tokio::test]
async fn a_campaign_for_two_units_shows_them_its_count_and_a_dashboard_of_only_them() {
    let app = TestApp::new().await;
    fresh_instansi(&app).await;
    let hr = Officer::log_in(&app, "hr1", "kata-sandi-hr-1").await;
    let id = campaign_for_two_units(&hr).await;

    let page = hr.get(&format!("/admin/campaigns/{id}?pesan=dibuat")).await;
    assert_eq!(page.status, StatusCode::OK);
    let page = page.text();
    assert!(
        page.contains("Kampanye berhasil dibuat."),
        "a message after the action"
    );
    assert!(page.contains(KES) && page.contains(DIK), "{page}");
    assert!(page.contains("5 pegawai aktif"), "{page}");
    assert!(page.contains("Keluar"), "the navigation bar");
    // The campaign page links every export and the kiosk and reminder pages, and each
    // link answers for HR's session.
    for link in [
        format!("/api/v1/campaigns/{id}/compliance?format=xlsx"),
        format!("/api/v1/campaigns/{id}/compliance?format=csv"),
        format!("/api/v1/campaigns/{id}/compliance?format=csv-excel"),
        format!("/api/v1/campaigns/{id}/compliance?format=json"),
        format!("/admin/campaigns/{id}/kios"),
        format!("/admin/campaigns/{id}/pengingat"),
    ] {
        assert!(
            page.contains(&format!("href=\"{link}\"")),
            "{link} in {page}"
        );
        assert_eq!(hr.get(&link).await.status, StatusCode::OK, "{link}");
    }

    let dash = hr.get(&format!("/admin/campaigns/{id}/dasbor")).await;
    assert_eq!(dash.status, StatusCode::OK);
    let dash = dash.text();
    assert!(dash.contains(KES) && dash.contains(DIK), "{dash}");
    assert!(
        !dash.contains("Dinas Perhubungan"),
        "only the target units are listed: {dash}"
    );
    assert!(dash.contains("id=\"total-target\">5<"), "{dash}");

    // The XLSX tells the two Sekretariat apart, on both sheets.
    let xlsx = hr
        .get(&format!("/api/v1/campaigns/{id}/compliance?format=xlsx"))
        .await;
    assert_eq!(xlsx.status, StatusCode::OK);
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx.body)).expect("xlsx opens");
    let units: Vec<String> = book
        .worksheet_range("Per unit")
        .expect("per-unit sheet")
        .rows()
        .skip(1)
        .map(|r| r[1].to_string())
        .collect();
    assert!(
        units.contains(&KES.to_string()) && units.contains(&DIK.to_string()),
        "{units:?}"
    );
    assert!(
        !units.iter().any(|u| u.contains("Perhubungan")),
        "{units:?}"
    );
    let unsigned: Vec<String> = book
        .worksheet_range("Belum menandatangani")
        .expect("unsigned sheet")
        .rows()
        .skip(1)
        .filter_map(|r| match &r[2] {
            Data::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(unsigned.len(), 5, "{unsigned:?}");
    assert_eq!(unsigned.iter().filter(|u| *u == KES).count(), 3);
    assert_eq!(unsigned.iter().filter(|u| *u == DIK).count(), 2);
}

#[tokio::test]
async fn one_issue_gives_a_csv_and_slips_of_the_same_links_and_a_second_says_nobody_is_new() {
    let app = TestApp::new().await;
    fresh_instansi(&app).await;
    let hr = Officer::log_in(&app, "hr1", "kata-sandi-hr-1").await;
    let id = campaign_for_two_units(&hr).await;
    let issue = format!("/admin/campaigns/{id}/invitations");

    let issued = hr.post(&issue, &[]).await;
    assert_eq!(issued.status, StatusCode::SEE_OTHER, "{}", issued.text());
    let batch = location(&issued);
    let page = hr.get(&batch).await;
    assert_eq!(page.status, StatusCode::OK);
    let page = page.text();
    assert!(page.contains("5 tautan baru diterbitkan"), "{page}");
    assert!(page.contains(&format!("{batch}/csv")) && page.contains(&format!("{batch}/slip")));

    let csv = hr.get(&format!("{batch}/csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .expect("header")
            .contains("attachment")
    );
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.body.as_slice())
        .records()
        .map(|r| r.expect("row"))
        .collect();
    assert_eq!(
        rows.iter().filter(|r| &r[2] == KES).count(),
        3,
        "units with parents"
    );
    assert_eq!(rows.iter().filter(|r| &r[2] == DIK).count(), 2);
    let mut links: Vec<String> = rows.iter().map(|r| r[3].to_ascii_uppercase()).collect();
    links.sort();
    assert_eq!(links.len(), 5);

    let slips = hr.get(&format!("{batch}/slip")).await;
    assert_eq!(slips.status, StatusCode::OK);
    assert_eq!(slips.headers["content-type"], "application/pdf");
    let mut decoded: Vec<String> = decode_slips(&slips.body)
        .into_iter()
        .map(|t| t.to_ascii_uppercase())
        .collect();
    decoded.sort();
    assert_eq!(decoded, links, "the slips hold the CSV's links");

    // The CSV's links sign.
    let token = links[0]
        .rsplit('/')
        .next()
        .expect("token")
        .to_ascii_lowercase();
    assert_eq!(app.sign(&token, "Bayu").await.status, StatusCode::CREATED);

    // Nobody new: said on the campaign page, and no file.
    let again = hr.post(&issue, &[]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let to = location(&again);
    assert!(!to.contains("/tautan/"), "no batch to download: {to}");
    let page = hr.get(&to).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/html")
    );
    let page = page.text();
    assert!(page.contains("Tidak ada tautan yang diterbitkan"), "{page}");
    assert!(page.contains("Terbitkan ulang"), "points to reissue");

    // A reissue asks first, then gives fresh links for the four still unsigned.
    let ask = hr.post(&issue, &[("reissue", "ya")]).await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.text().contains("Ya, terbitkan ulang"));
    let reissued = hr
        .post(&issue, &[("reissue", "ya"), ("confirm", "ya")])
        .await;
    assert_eq!(reissued.status, StatusCode::SEE_OTHER);
    let page = hr.get(&location(&reissued)).await.text();
    assert!(page.contains("4 tautan diterbitkan ulang"), "{page}");

    // The batch is its issuer's: another HR account of the instansi cannot fetch it.
    let instansi_id = app
        .store()
        .instansi_by_code("klaten")
        .await
        .expect("query")
        .expect("instansi")
        .id;
    user_with_token(
        app.store(),
        Some(instansi_id),
        "hr2",
        "hr",
        "kata-sandi-hr-2",
    )
    .await;
    let colleague = Officer::log_in(&app, "hr2", "kata-sandi-hr-2").await;
    assert_eq!(
        colleague.get(&format!("{batch}/csv")).await.status,
        StatusCode::GONE
    );
}

#[tokio::test]
async fn closing_time_edited_in_the_form_shows_in_the_api_and_the_audit_trail_then_closing_asks_first()
 {
    let app = TestApp::new().await;
    fresh_instansi(&app).await;
    // A wrong password first: the audit trail records failed logins too.
    let page = app.get("/admin/login").await;
    let login_cookie = cookie_pair(&page, "ikrar_login_csrf").expect("cookie");
    let csrf = login_cookie.split_once('=').expect("value").1.to_string();
    let wrong = app
        .request(
            Method::POST,
            "/admin/login",
            Some((
                "application/x-www-form-urlencoded",
                form(&[("username", "hr1"), ("password", "salah"), ("csrf", &csrf)]),
            )),
            &[("cookie", &login_cookie)],
            local(),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    let hr = Officer::log_in(&app, "hr1", "kata-sandi-hr-1").await;
    let id = campaign_for_two_units(&hr).await;

    let edit = format!("/admin/campaigns/{id}/ubah");
    let filled = hr.get(&edit).await;
    assert_eq!(filled.status, StatusCode::OK);
    assert!(filled.text().contains("value=\"S1\" checked"));
    let (closes, closes_unix) = local_day(10);
    let saved = hr
        .post(
            &edit,
            &[
                ("title", "Ikrar Netralitas ASN — HUT Korpri ke-53"),
                ("place", "Klaten"),
                ("closes", closes.as_str()),
                ("units", "S1"),
                ("units", "S2"),
                ("screen", "ya"),
                ("action", "simpan"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert!(location(&saved).ends_with("?pesan=diubah"));

    let api = hr.get(&format!("/api/v1/campaigns/{id}")).await;
    assert_eq!(api.status, StatusCode::OK);
    let v = api.json();
    let at = chrono::DateTime::parse_from_rfc3339(v["closes_at"].as_str().expect("closes_at"))
        .expect("rfc3339");
    assert_eq!(at.timestamp(), closes_unix);
    assert_eq!(v["screen"], true);

    let new_time =
        ikrar::domain::instansi::waktu(ikrar::domain::instansi::TimeZone::Jakarta.at(closes_unix));
    let audit = hr.get("/admin/audit").await;
    assert_eq!(audit.status, StatusCode::OK);
    let audit = audit.text();
    assert!(audit.contains("Kampanye diubah"), "{audit}");
    assert!(audit.contains(&new_time), "{new_time} in {audit}");
    assert!(audit.contains("Gagal masuk"), "{audit}");
    assert!(audit.contains("hr1"), "the actor's name");
    for code in [
        "campaign.create",
        "campaign.edit",
        "roster.import",
        "login.failed",
        "user:hr1",
    ] {
        assert!(
            !audit.contains(code),
            "no English code {code:?} on the page"
        );
    }
    let only_campaigns = hr.get("/admin/audit?jenis=kampanye").await.text();
    assert!(only_campaigns.contains("Kampanye dibuat"));
    assert!(!only_campaigns.contains("Roster diimpor"));

    // Closing asks first and changes nothing until confirmed.
    let close = format!("/admin/campaigns/{id}/close");
    let ask = hr.post(&close, &[]).await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.text().contains("Ya, tutup kampanye"));
    let api = hr.get(&format!("/api/v1/campaigns/{id}")).await.json();
    assert_eq!(api["phase"], "open");

    let closed = hr.post(&close, &[("confirm", "ya")]).await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    let page = hr.get(&location(&closed)).await.text();
    assert!(page.contains("Kampanye berhasil ditutup"), "{page}");
    let api = hr.get(&format!("/api/v1/campaigns/{id}")).await.json();
    let closed_at =
        chrono::DateTime::parse_from_rfc3339(api["closed_at"].as_str().expect("closed_at"))
            .expect("rfc3339");
    let shown = ikrar::domain::instansi::waktu(closed_at);
    assert!(
        page.contains(&format!("Ditutup pada {shown}")),
        "{shown} in {page}"
    );
    // A closed campaign is no longer edited.
    assert_eq!(hr.get(&edit).await.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_api_changes_a_campaign_field_by_field_until_it_closes() {
    let app = TestApp::new().await;
    let instansi_id = fresh_instansi(&app).await;
    let hr = Officer::log_in(&app, "hr1", "kata-sandi-hr-1").await;
    let id = campaign_for_two_units(&hr).await;
    let token = user_with_token(
        app.store(),
        Some(instansi_id),
        "skrip",
        "hr",
        "kata-sandi-skrip",
    )
    .await;
    let path = format!("/api/v1/campaigns/{id}");

    // Only the units change; the rest keeps its value.
    let res = app
        .call(
            Method::PATCH,
            &path,
            &token,
            Some(&serde_json::json!({"units": ["D3"], "public": true})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let v = res.json();
    assert_eq!(v["public"], true);
    assert_eq!(v["title"], "Ikrar Netralitas ASN — HUT Korpri ke-53");
    let page = hr.get(&format!("/admin/campaigns/{id}")).await.text();
    assert!(
        page.contains("Dinas Perhubungan") && !page.contains(KES),
        "{page}"
    );
    assert!(page.contains("2 pegawai aktif"), "{page}");

    let res = app
        .call(
            Method::PATCH,
            &path,
            &token,
            Some(&serde_json::json!({"closes": "2000-01-01T00:00:00+07:00"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.error_code(), "closes_before_opens");

    app.call(Method::POST, &format!("{path}/close"), &token, None)
        .await;
    let res = app
        .call(
            Method::PATCH,
            &path,
            &token,
            Some(&serde_json::json!({"title": "Judul lain"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.error_code(), "campaign_closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_edits_a_campaign_and_the_admin_page_shows_it() {
    let app = TestApp::new().await;
    fresh_instansi(&app).await;
    let hr = Officer::log_in(&app, "hr1", "kata-sandi-hr-1").await;
    let id = campaign_for_two_units(&hr).await;
    let (_, closes_unix) = local_day(12);
    let closes = ikrar::domain::instansi::TimeZone::Jakarta
        .at(closes_unix)
        .to_rfc3339();
    let out = crate::cli::ikrar(
        &app.db.url,
        &[
            "campaign",
            "edit",
            "--campaign",
            &id.to_string(),
            "--closes",
            &closes,
            "--units",
            "S1",
        ],
    );
    crate::cli::ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("waktu tutup"));
    let page = hr.get(&format!("/admin/campaigns/{id}")).await.text();
    let shown =
        ikrar::domain::instansi::waktu(ikrar::domain::instansi::TimeZone::Jakarta.at(closes_unix));
    assert!(page.contains(&shown), "{shown} in {page}");
    assert!(page.contains(KES) && !page.contains(DIK), "{page}");
    assert!(page.contains("3 pegawai aktif"));
    let audit = hr.get("/admin/audit?jenis=kampanye").await.text();
    assert!(audit.contains("operator (baris perintah)"), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_numbers_update_live_in_a_browser() {
    use fantoccini::Locator;
    let (app, base) = spawn_server().await;
    fresh_instansi(&app).await;
    let hr = Officer::log_in(&app, "hr1", "kata-sandi-hr-1").await;
    let id = campaign_for_two_units(&hr).await;
    let issued = hr
        .post(&format!("/admin/campaigns/{id}/invitations"), &[])
        .await;
    let csv = hr.get(&format!("{}/csv", location(&issued))).await;
    let link = csv::Reader::from_reader(csv.body.as_slice())
        .records()
        .next()
        .expect("a link")
        .expect("row")[3]
        .to_string();

    let driver = crate::browser::start_driver().await;
    let c = crate::browser::session(&driver).await;
    c.goto(&format!("{base}/admin/login")).await.expect("login");
    c.find(Locator::Css("input[name=username]"))
        .await
        .expect("username")
        .send_keys("hr1")
        .await
        .expect("type");
    c.find(Locator::Css("input[name=password]"))
        .await
        .expect("password")
        .send_keys("kata-sandi-hr-1")
        .await
        .expect("type");
    c.find(Locator::Css("button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("submit");
    c.wait()
        .for_element(Locator::Css("nav.admin-nav"))
        .await
        .expect("logged in");
    c.goto(&format!("{base}/admin/campaigns/{id}/dasbor"))
        .await
        .expect("dashboard");
    let text = |sel: &'static str| {
        let c = c.clone();
        async move {
            c.find(Locator::Css(sel))
                .await
                .expect("element")
                .text()
                .await
                .expect("text")
        }
    };
    assert_eq!(text("#total-signed").await, "0");
    // The stream is followed before anyone signs.
    let mut live = false;
    for _ in 0..200 {
        if text("#live").await.starts_with("Langsung") {
            live = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(live, "the dashboard follows its event stream");

    let token = link.rsplit('/').next().expect("token").to_string();
    assert_eq!(app.sign(&token, "Bayu").await.status, StatusCode::CREATED);
    let mut seen = String::new();
    for _ in 0..200 {
        seen = text("#total-signed").await;
        if seen == "1" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen, "1", "the signed count updated without a reload");
    assert_eq!(text("#total-unsigned").await, "4");
    assert_eq!(text("#total-rate").await, "20,0%");
    c.close().await.expect("close");
}

#[tokio::test]
async fn a_consent_name_far_from_the_roster_name_is_asked_about_once() {
    let app = TestApp::new().await;
    let s = seed(app.store()).await;
    let (_, token) = s.token_of_kind("PNS", 3);
    let (_, other) = s.token_of_kind("PNS", 4);
    let post = |token: &str, pairs: &[(&str, &str)]| {
        let path = format!("/s/{token}");
        let body = form(pairs);
        let app = &app;
        async move {
            app.request(
                Method::POST,
                &path,
                Some(("application/x-www-form-urlencoded", body)),
                &[],
                local(),
            )
            .await
        }
    };
    let asked = post(
        token,
        &[("consent", "ya"), ("consent_name", "Nama Orang Lain")],
    )
    .await;
    assert_eq!(asked.status, StatusCode::OK);
    let html = asked.text();
    assert!(html.contains("Apakah nama Anda benar?"), "{html}");
    assert!(html.contains("name=\"name_confirmed\" value=\"ya\""));
    assert_eq!(
        app.store().log_head().await.expect("head").size,
        0,
        "nothing signed yet"
    );
    let confirmed = post(
        token,
        &[
            ("consent", "ya"),
            ("consent_name", "Nama Orang Lain"),
            ("name_confirmed", "ya"),
        ],
    )
    .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.text()
    );

    // The roster's own name (here without its titles) signs at once.
    let page = app.get(&format!("/s/{other}")).await.text();
    let name = page
        .split("<tr><th>Nama</th><td>")
        .nth(1)
        .and_then(|rest| rest.split("</td>").next())
        .expect("the roster name")
        .to_string();
    let plain: Vec<&str> = name.split(' ').filter(|w| !w.contains('.')).collect();
    let direct = post(
        other,
        &[("consent", "ya"), ("consent_name", &plain.join(" "))],
    )
    .await;
    assert_eq!(
        direct.status,
        StatusCode::SEE_OTHER,
        "{name}: {}",
        direct.text()
    );
    assert_eq!(app.store().log_head().await.expect("head").size, 2);
}

#[tokio::test]
async fn the_roster_list_is_paged_with_a_total_headings_and_a_unit_search() {
    let app = TestApp::new().await;
    let instansi_id = fresh_instansi(&app).await;
    let hr = Officer::log_in(&app, "hr1", "kata-sandi-hr-1").await;
    let imported = hr.upload_roster(SIASN).await;
    assert_eq!(imported.status, StatusCode::OK);
    assert!(
        imported.text().contains("class=\"notice\""),
        "a message after the import"
    );

    let all = hr.get("/admin/roster").await;
    assert_eq!(all.status, StatusCode::OK);
    let all = all.text();
    assert!(all.contains("8 pegawai"), "{all}");
    assert!(all.contains("<th>NIP / nomor</th><th>Nama</th><th>Jenis</th><th>Unit kerja</th>"));
    assert!(all.contains(KES) && all.contains(DIK));

    let units = app.store().units(instansi_id).await.expect("units");
    let unit = |key: &str| units.iter().find(|u| u.key == key).expect("unit").id;
    let dik = hr
        .get(&format!("/admin/roster?unit={}", unit("D2")))
        .await
        .text();
    assert!(
        dik.contains("2 pegawai cocok"),
        "the unit and its sub-units: {dik}"
    );
    assert!(dik.contains("Agus Salim") && !dik.contains("Bayu Purnomo"));
    let searched = hr
        .get(&format!("/admin/roster?q=bayu&unit={}", unit("D1")))
        .await
        .text();
    assert!(searched.contains("1 pegawai cocok"), "{searched}");
    // "Semua unit" sends an empty unit.
    assert_eq!(
        hr.get("/admin/roster?q=&unit=").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn login_keeps_the_username_after_a_wrong_password_and_returns_to_the_page_that_asked() {
    let app = TestApp::new().await;
    fresh_instansi(&app).await;
    let asked = app.get("/admin/audit?jenis=kampanye").await;
    assert!(asked.status.is_redirection());
    let to = location(&asked);
    assert_eq!(to, "/admin/login?next=%2Fadmin%2Faudit%3Fjenis%3Dkampanye");

    let page = app.get(&to).await;
    let login_cookie = cookie_pair(&page, "ikrar_login_csrf").expect("cookie");
    let csrf = login_cookie.split_once('=').expect("value").1.to_string();
    assert!(
        page.text()
            .contains("name=\"next\" value=\"/admin/audit?jenis=kampanye\"")
    );
    let post = |password: &'static str, csrf: String, cookie: String| {
        let app = &app;
        async move {
            app.request(
                Method::POST,
                "/admin/login",
                Some((
                    "application/x-www-form-urlencoded",
                    form(&[
                        ("username", "hr1"),
                        ("password", password),
                        ("csrf", &csrf),
                        ("next", "/admin/audit?jenis=kampanye"),
                    ]),
                )),
                &[("cookie", &cookie)],
                local(),
            )
            .await
        }
    };
    let wrong = post("salah", csrf, login_cookie).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let html = wrong.text();
    assert!(
        html.contains("value=\"hr1\""),
        "the username is kept: {html}"
    );
    assert!(html.contains("name=\"next\" value=\"/admin/audit?jenis=kampanye\""));
    let cookie = cookie_pair(&wrong, "ikrar_login_csrf").expect("a fresh form cookie");
    let csrf = cookie.split_once('=').expect("value").1.to_string();
    let ok = post("kata-sandi-hr-1", csrf, cookie).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&ok), "/admin/audit?jenis=kampanye");

    // Another site is never a place to return to.
    let page = app
        .get("/admin/login?next=//evil.example/admin")
        .await
        .text();
    assert!(page.contains("name=\"next\" value=\"/admin\""), "{page}");
}

#[tokio::test]
async fn csv_exports_have_indonesian_headers_and_an_excel_variant() {
    let app = TestApp::new().await;
    fresh_instansi(&app).await;
    let hr = Officer::log_in(&app, "hr1", "kata-sandi-hr-1").await;
    let id = campaign_for_two_units(&hr).await;
    let dash = hr
        .get(&format!("/admin/campaigns/{id}/dasbor"))
        .await
        .text();
    assert!(
        dash.contains("format=csv-excel"),
        "the dashboard offers both"
    );

    let csv = hr
        .get(&format!("/api/v1/campaigns/{id}/compliance?format=csv"))
        .await;
    let text = csv.text();
    assert!(
        text.starts_with("id_unit,unit_kerja,id_induk,target,sudah_menandatangani,persentase\n"),
        "{text}"
    );
    assert!(text.contains(&format!(",\"{KES}\",")) || text.contains(&format!(",{KES},")));
    let excel = hr
        .get(&format!(
            "/api/v1/campaigns/{id}/compliance?format=csv-excel"
        ))
        .await;
    assert_eq!(excel.status, StatusCode::OK);
    assert!(
        excel.headers["content-disposition"]
            .to_str()
            .expect("header")
            .contains("-excel.csv")
    );
    let text = excel.text();
    let text = text.trim_start_matches('\u{feff}');
    assert!(
        text.starts_with("id_unit;unit_kerja;id_induk;target;sudah_menandatangani;persentase\n")
    );
    assert!(text.contains(";TOTAL;;5;0;0,0000"), "{text}");
}

#[tokio::test]
async fn api_slips_for_nobody_new_say_so_instead_of_failing() {
    let app = TestApp::new().await;
    let s = seed(app.store()).await;
    let hr = hr_token(&app, s.instansi_id).await;
    let res = app
        .call(
            Method::POST,
            &format!("/api/v1/campaigns/{}/invitations", s.campaign_id),
            &hr,
            Some(&serde_json::json!({"format": "slips"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    assert_eq!(res.error_code(), "no_new_links");
}

#[tokio::test]
async fn the_roster_list_pages_through_five_hundred_staff() {
    let app = TestApp::new().await;
    let s = seed(app.store()).await;
    user_with_token(
        app.store(),
        Some(s.instansi_id),
        "hr1",
        "hr",
        "kata-sandi-hr-1",
    )
    .await;
    let hr = Officer::log_in(&app, "hr1", "kata-sandi-hr-1").await;
    let first = hr.get("/admin/roster").await.text();
    assert!(first.contains("500 pegawai"), "{first}");
    assert_eq!(
        first.matches("<td class=\"nowrap\">").count(),
        50,
        "50 a page"
    );
    assert!(first.contains("href=\"/admin/roster?page=2#pegawai\""));
    let last = hr.get("/admin/roster?page=10").await.text();
    assert_eq!(last.matches("<td class=\"nowrap\">").count(), 50);
    assert!(!last.contains("Berikutnya"), "the last page");
    assert!(last.contains("href=\"/admin/roster?page=9#pegawai\""));
    assert!(last.contains("non-ASN"), "kinds in Indonesian");
}
