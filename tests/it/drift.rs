//! Rules of SPEC 2 that must hold on every surface, not just on some.
//!
//! One NIP, however it is written: spaces, dots and dashes are stripped on input, so
//! `19850330 201001 1 001`, `19850330.201001.1.001` and `19850330-201001-1-001` are the
//! person `198503302010011001` for roster import, issuing and revoking links (CLI and HR
//! API) and the public lookup. Each check runs once per spelling (`…::spaces`, `…::dots`,
//! `…::dashes`).
//!
//! One phase vocabulary for campaigns: `belum dibuka` before `opens_at`, `terbuka` while
//! open, `ditutup` once closed by HR or past `closes_at` — in `ikrar campaign list`, the HR
//! API (`phase`: `not_open` | `open` | `closed`, with `phase_label`), the admin pages and
//! the signing page.

use std::collections::HashMap;

use axum::http::{Method, StatusCode};
use ikrar::domain::token;
use ikrar::store::NewCampaign;
use serde_json::{Value, json};

use crate::cli::{ikrar, ok};
use crate::screens::{get_as, session};
use crate::support::*;

/// The 18 digits grouped as people write them (birth date, TMT, gender, serial), joined by
/// `sep`.
fn spelled(nip: &str, sep: char) -> String {
    assert_eq!(nip.len(), 18, "{nip}");
    [&nip[..8], &nip[8..14], &nip[14..15], &nip[15..]].join(&sep.to_string())
}

/// Runs a check once for each way of writing a NIP, as its own test.
macro_rules! each_spelling {
    ($($module:ident => $check:path;)+) => {$(
        mod $module {
            #[tokio::test]
            async fn spaces() {
                $check(' ').await
            }
            #[tokio::test]
            async fn dots() {
                $check('.').await
            }
            #[tokio::test]
            async fn dashes() {
                $check('-').await
            }
        }
    )+};
}

each_spelling! {
    nip_roster_import => super::roster_import_stores_the_digits;
    nip_cli_issue_and_reissue => super::cli_issues_and_revokes_for_the_person;
    nip_hr_api_issue_and_revoke => super::hr_api_issues_and_revokes_for_the_person;
    nip_public_lookup => super::lookup_finds_the_pledge;
}

/// A valid PNS NIP that the 500-person fixture does not hold.
const NEW_NIP: &str = "199007152015032417";
const NEW_NAME: &str = "Wulan Anggraini Kusumawardhani";

async fn roster_import_stores_the_digits(sep: char) {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let hr = hr_token(&app, a.instansi_id).await;
    let written = spelled(NEW_NIP, sep);
    let csv = |nip: &str, name: &str| {
        format!(
            "nip,nama,jenis,unit,jabatan\n\"{nip}\",\"{name}\",PNS,Dinas Sosial,Analis Kebijakan\n"
        )
        .into_bytes()
    };

    let res = app
        .upload("/api/v1/roster", &hr, "text/csv", csv(&written, NEW_NAME))
        .await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "a roster row with NIP {written:?} is accepted: {}",
        res.text()
    );
    assert_eq!(res.json()["created"], 1, "{}", res.text());
    let stored = app
        .store()
        .employees(
            a.instansi_id,
            &format!("%{}%", NEW_NAME.to_lowercase()),
            10,
            0,
        )
        .await
        .expect("query");
    assert_eq!(
        stored.iter().map(|e| e.number.as_str()).collect::<Vec<_>>(),
        [NEW_NIP],
        "{written:?} is stored as its 18 digits"
    );

    // The plain form is the same person: updated, not a second employee.
    let renamed = format!("{NEW_NAME}, S.E.");
    let res = app
        .upload("/api/v1/roster", &hr, "text/csv", csv(NEW_NIP, &renamed))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let v = res.json();
    assert_eq!(
        (v["created"].as_u64(), v["updated"].as_u64()),
        (Some(0), Some(1)),
        "re-importing {NEW_NIP} after {written:?} updates: {v}"
    );
    let stored = app
        .store()
        .employees(
            a.instansi_id,
            &format!("%{}%", NEW_NAME.to_lowercase()),
            10,
            0,
        )
        .await
        .expect("query");
    assert_eq!(
        stored
            .iter()
            .map(|e| (e.number.as_str(), e.name.as_str()))
            .collect::<Vec<_>>(),
        [(NEW_NIP, renamed.as_str())]
    );
}

/// A campaign open now, for the whole roster, with no links issued yet.
async fn campaign_without_links(app: &TestApp, instansi_id: i64, title: &str) -> i64 {
    let now = chrono::Utc::now().timestamp();
    app.store()
        .create_campaign(
            &NewCampaign {
                instansi_id,
                template_no: 2,
                title: title.into(),
                place: "Surakarta".into(),
                opens_at: now - 60,
                closes_at: now + 3600,
                mark_enabled: false,
                screen_enabled: false,
                public_enabled: false,
                unit_ids: Vec::new(),
            },
            now,
        )
        .await
        .expect("campaign")
}

/// `(nip, token)` of each row of an invitations CSV (`nip,nama,unit,link`).
fn links(csv: &[u8]) -> Vec<(String, String)> {
    let mut reader = csv::Reader::from_reader(csv);
    assert_eq!(
        reader.headers().expect("header").iter().collect::<Vec<_>>(),
        ["nip", "nama", "unit", "link"]
    );
    reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            let token = r[3].rsplit('/').next().expect("token").to_string();
            (r[0].to_string(), token)
        })
        .collect()
}

fn assert_revoked(res: &TestResponse, how: &str) {
    assert_eq!(
        (res.status, res.error_code()),
        (StatusCode::GONE, "token_revoked".to_string()),
        "{how}: the old link must answer 410 token_revoked, got {}{}",
        res.status,
        if res.status.is_success() {
            " (the old link still signs)".to_string()
        } else {
            format!(": {}", res.text())
        }
    );
}

async fn cli_issues_and_revokes_for_the_person(sep: char) {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let (nip, _) = a.token_of_kind("PNS", 7);
    let nip = nip.to_string();
    let written = spelled(&nip, sep);
    let campaign = campaign_without_links(&app, a.instansi_id, "Pakta Integritas 2026")
        .await
        .to_string();
    let dir = tempfile::tempdir().expect("dir");
    let run = |out: &str, reissue: bool| {
        let out = dir.path().join(out);
        let out_arg = out.to_str().expect("utf8");
        let mut args: Vec<&str> = vec![
            "invitations",
            "--campaign",
            &campaign,
            "--out",
            out_arg,
            "--public-url",
            PUBLIC_URL,
            "--nip",
            &written,
        ];
        if reissue {
            args.push("--reissue");
        }
        ok(&ikrar(&app.db.url, &args));
        links(&std::fs::read(&out).expect("links.csv"))
    };

    let first = run("first.csv", false);
    assert_eq!(
        first.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        [nip.as_str()],
        "`invitations --nip {written:?}` issues the link of {nip}"
    );
    let second = run("second.csv", true);
    assert_eq!(
        second.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        [nip.as_str()],
        "`invitations --reissue --nip {written:?}` reissues the link of {nip}"
    );
    let (old, new) = (&first[0].1, &second[0].1);
    assert_ne!(old, new);
    assert_revoked(
        &app.sign(old, "Nama Saya").await,
        &format!("after `invitations --reissue --nip {written:?}`"),
    );
    let res = app.sign(new, "Nama Saya").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
}

/// Issues links over the HR API for one person, as written by HR.
async fn issue_for(app: &TestApp, hr: &str, campaign: i64, nip: &str) -> Vec<(String, String)> {
    let res = app
        .call(
            Method::POST,
            &format!("/api/v1/campaigns/{campaign}/invitations"),
            hr,
            Some(&json!({ "nip": nip })),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    links(&res.body)
}

async fn hr_api_issues_and_revokes_for_the_person(sep: char) {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let hr = hr_token(&app, a.instansi_id).await;
    let (nip, _) = a.token_of_kind("PNS", 8);
    let nip = nip.to_string();
    let written = spelled(&nip, sep);
    let campaign = campaign_without_links(&app, a.instansi_id, "Pakta Integritas 2026").await;
    let first = issue_for(&app, &hr, campaign, &written).await;
    assert_eq!(
        first.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        [nip.as_str()],
        "issuing for {written:?} gives the link of {nip}"
    );
    let res = app
        .call(
            Method::POST,
            &format!("/api/v1/campaigns/{campaign}/invitations/revoke"),
            &hr,
            Some(&json!({ "nip": written })),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_revoked(
        &app.sign(&first[0].1, "Nama Saya").await,
        &format!("after POST …/invitations/revoke {{\"nip\": {written:?}}}"),
    );
    assert_eq!(res.json()["revoked"], 1, "{}", res.text());

    // The person may be invited again, and that link signs.
    let again = issue_for(&app, &hr, campaign, &written).await;
    assert_eq!(
        again.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        [nip.as_str()]
    );
    let res = app.sign(&again[0].1, "Nama Saya").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
}

async fn lookup_finds_the_pledge(sep: char) {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let (nip, token) = a.token_of_kind("PNS", 9);
    let signed = app.sign(token, "Nama Saya").await;
    assert_eq!(signed.status, StatusCode::CREATED, "{}", signed.text());
    let log_index = signed.json()["log_index"].clone();

    let plain = app.get(&format!("/api/v1/lookup?nip={nip}")).await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.text());
    let written = spelled(nip, sep);
    let query: String = url::form_urlencoded::byte_serialize(written.as_bytes()).collect();
    let res = app.get(&format!("/api/v1/lookup?nip={query}")).await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "lookup of {written:?}: {}",
        res.text()
    );
    let v = res.json();
    let pledges = v["pledges"].as_array().expect("pledges");
    assert_eq!(
        pledges.len(),
        1,
        "lookup of {written:?} finds the pledge: {v}"
    );
    assert_eq!(pledges[0]["log_index"], log_index);
    assert_eq!(v, plain.json(), "the same answer as for {nip}");
}

/// One campaign in each phase of one instansi, with a link for everyone to the one that
/// has not opened yet.
struct Phases {
    app: TestApp,
    instansi_id: i64,
    /// id, title, `phase`, `phase_label`
    campaigns: Vec<(i64, String, &'static str, &'static str)>,
    not_open: i64,
    open: i64,
    future_token: String,
    open_token: String,
}

async fn phases() -> Phases {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let now = chrono::Utc::now().timestamp();
    const DAY: i64 = 86_400;
    let campaign = |title: &str, opens_at: i64, closes_at: i64| NewCampaign {
        instansi_id: a.instansi_id,
        template_no: 1,
        title: title.into(),
        place: "Surakarta".into(),
        opens_at,
        closes_at,
        mark_enabled: true,
        screen_enabled: false,
        public_enabled: false,
        unit_ids: Vec::new(),
    };
    let store = app.store();
    let next_year = store
        .create_campaign(
            &campaign("Ikrar Tahun Depan", now + 365 * DAY, now + 366 * DAY),
            now,
        )
        .await
        .expect("campaign");
    let stopped = store
        .create_campaign(&campaign("Ikrar Dihentikan HR", now - DAY, now + DAY), now)
        .await
        .expect("campaign");
    assert!(store.close_campaign(stopped, now).await.expect("close"));
    let past = store
        .create_campaign(&campaign("Ikrar Tahun Lalu", now - 2 * DAY, now - DAY), now)
        .await
        .expect("campaign");
    let issued = store
        .issue_invitations(next_year, false, None, now, &token::mint)
        .await
        .expect("invitations");
    let future_token = issued.first().expect("a link").1.clone();
    let open_token = a.token_of_kind("PNS", 0).1.to_string();
    Phases {
        campaigns: vec![
            (
                next_year,
                "Ikrar Tahun Depan".into(),
                "not_open",
                "belum dibuka",
            ),
            (
                a.campaign_id,
                "Ikrar Netralitas ASN — HUT Korpri ke-53".into(),
                "open",
                "terbuka",
            ),
            (stopped, "Ikrar Dihentikan HR".into(), "closed", "ditutup"),
            (past, "Ikrar Tahun Lalu".into(), "closed", "ditutup"),
        ],
        instansi_id: a.instansi_id,
        not_open: next_year,
        open: a.campaign_id,
        future_token,
        open_token,
        app,
    }
}

const LABELS: [&str; 3] = ["belum dibuka", "terbuka", "ditutup"];

/// Says whether `text` shows `label` and none of the other phase labels.
fn shows_only(text: &str, label: &str) -> bool {
    LABELS.iter().all(|l| text.contains(l) == (*l == label))
}

/// Fails naming every campaign shown in the wrong phase, not just the first.
fn assert_none_wrong(surface: &str, wrong: &[String]) {
    assert!(
        wrong.is_empty(),
        "{surface} shows campaigns in the wrong phase:\n{}",
        wrong.join("\n")
    );
}

#[tokio::test]
async fn campaign_phase_in_cli_campaign_list() {
    let p = phases().await;
    let out = ok(&ikrar(
        &p.app.db.url,
        &["campaign", "list", "--instansi", "surakarta"],
    ));
    let lines: Vec<&str> = out.lines().collect();
    let wrong: Vec<String> = p
        .campaigns
        .iter()
        .filter_map(|(id, title, _, label)| {
            let expected = format!("{id}\t{label}\t{title}");
            (!lines.contains(&expected.as_str())).then(|| {
                let got = lines.iter().find(|l| l.starts_with(&format!("{id}\t")));
                format!("campaign {id}: expected {expected:?}, got {got:?}")
            })
        })
        .collect();
    assert_none_wrong("`ikrar campaign list`", &wrong);
}

#[tokio::test]
async fn campaign_phase_in_hr_api() {
    let p = phases().await;
    let hr = hr_token(&p.app, p.instansi_id).await;
    let list = p
        .app
        .call(Method::GET, "/api/v1/campaigns", &hr, None)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let list: HashMap<i64, Value> = list.json()["campaigns"]
        .as_array()
        .expect("campaigns")
        .iter()
        .map(|c| (c["id"].as_i64().expect("id"), c.clone()))
        .collect();
    let mut wrong = Vec::new();
    for (id, _, phase, label) in &p.campaigns {
        let one = p
            .app
            .call(Method::GET, &format!("/api/v1/campaigns/{id}"), &hr, None)
            .await;
        assert_eq!(one.status, StatusCode::OK, "{}", one.text());
        let expected = json!({"open": *phase == "open", "phase": phase, "phase_label": label});
        for (route, c) in [
            (format!("GET /api/v1/campaigns/{id}"), one.json()),
            (
                "GET /api/v1/campaigns".to_string(),
                list.get(id).cloned().expect("listed"),
            ),
        ] {
            let got = json!({
                "open": c["open"],
                "phase": c["phase"],
                "phase_label": c["phase_label"],
            });
            if got != expected {
                wrong.push(format!(
                    "{route}: campaign {id}: expected {expected}, got {got}"
                ));
            }
        }
    }
    assert_none_wrong("the HR API", &wrong);
}

/// The `<tr>` of the admin campaign list that links to campaign `id`.
fn list_row(html: &str, id: i64) -> &str {
    let href = format!("href=\"/admin/campaigns/{id}\"");
    html.split("<tr>")
        .find(|row| row.contains(&href))
        .unwrap_or_else(|| panic!("campaign {id} is listed on /admin:\n{html}"))
        .split("</tr>")
        .next()
        .expect("row")
}

/// The campaign's details table on its admin page.
fn details_of(html: &str) -> &str {
    html.split("<table class=\"details\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or(html)
        .trim()
}

#[tokio::test]
async fn campaign_phase_on_admin_campaign_list() {
    let p = phases().await;
    let cookie = session(&p.app, Some(p.instansi_id), "hr-daftar").await;
    let res = get_as(&p.app, "/admin", &cookie).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let html = res.text();
    let wrong: Vec<String> = p
        .campaigns
        .iter()
        .filter_map(|(id, _, _, label)| {
            let row = list_row(&html, *id);
            (!shows_only(row, label))
                .then(|| format!("campaign {id}: expected {label:?} only, got row {row:?}"))
        })
        .collect();
    assert_none_wrong("/admin", &wrong);
}

#[tokio::test]
async fn campaign_phase_on_admin_campaign_page() {
    let p = phases().await;
    let cookie = session(&p.app, Some(p.instansi_id), "hr-halaman").await;
    let mut wrong = Vec::new();
    for (id, _, _, label) in &p.campaigns {
        let path = format!("/admin/campaigns/{id}");
        let res = get_as(&p.app, &path, &cookie).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let html = res.text();
        if !shows_only(&html, label) {
            let shown: Vec<&str> = LABELS.into_iter().filter(|l| html.contains(l)).collect();
            wrong.push(format!(
                "{path}: expected {label:?} only, shows {shown:?}:\n{}",
                details_of(&html)
            ));
        }
    }
    assert_none_wrong("the admin campaign page", &wrong);
}

#[tokio::test]
async fn campaign_phase_on_signing_page_and_sign_api() {
    let p = phases().await;
    let app = &p.app;

    // Before opens_at: the page says so and offers no form; signing is refused as today.
    let page = app.get(&format!("/s/{}", p.future_token)).await;
    let html = page.text();
    assert!(
        html.contains("belum dibuka"),
        "/s/{{token}} of campaign {} says belum dibuka ({}):\n{html}",
        p.not_open,
        page.status
    );
    assert!(
        !html.contains("terbuka") && !html.contains("ditutup"),
        "{html}"
    );
    assert!(
        !html.contains("id=\"sign-form\"")
            && !html.contains(&format!("action=\"/s/{}\"", p.future_token)),
        "no sign form before the campaign opens:\n{html}"
    );
    let res = app.sign(&p.future_token, "Nama Saya").await;
    assert_eq!(
        (res.status, res.error_code()),
        (StatusCode::FORBIDDEN, "campaign_not_open".to_string()),
        "{}",
        res.text()
    );
    assert!(
        res.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("belum dibuka")),
        "{}",
        res.text()
    );
    let form = app
        .request(
            Method::POST,
            &format!("/s/{}", p.future_token),
            Some((
                "application/x-www-form-urlencoded",
                b"consent=ya&consent_name=Nama+Saya".to_vec(),
            )),
            &[],
            local(),
        )
        .await;
    assert_eq!(form.status, StatusCode::FORBIDDEN, "{}", form.text());
    assert!(form.text().contains("belum dibuka"), "{}", form.text());
    assert_eq!(
        app.store().log_head().await.expect("head").size,
        0,
        "nothing was signed"
    );

    // For contrast: a link of the open campaign shows the form.
    let page = app.get(&format!("/s/{}", p.open_token)).await;
    assert_eq!(page.status, StatusCode::OK, "campaign {}", p.open);
    let html = page.text();
    assert!(
        html.contains("id=\"sign-form\"") && !html.contains("belum dibuka"),
        "{html}"
    );
}
