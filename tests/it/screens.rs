//! The HR campaign dashboard (server-drawn charts, unit filter, downloads, scoping) and the
//! public ceremony screen (on only when enabled, counts only, live over server-sent events).

use std::time::Duration;

use axum::http::{Method, StatusCode};
use ikrar::formats::roster::RosterReader;
use ikrar::store::{NewCampaign, NewInstansi};
use serde_json::{Value, json};

use crate::support::*;

/// A unit whose name HTML must escape, with one non-ASN member.
const ODD_UNIT_ROSTER: &str =
    "nip,nama,jenis,unit,jabatan\nUJI/0001,Tester Aman,NON_ASN,Bidang <Uji> & Co,Staf\n";

/// A session cookie (`name=value`) for a new account, as the login form would set it.
pub(crate) async fn session(app: &TestApp, instansi_id: Option<i64>, username: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let user = app
        .store()
        .add_user(
            instansi_id,
            username,
            ikrar::domain::account::Role::Hr,
            &ikrar::domain::account::hash_password("kata-sandi-uji-1"),
            now,
        )
        .await
        .expect("user");
    let value = ikrar::domain::token::random(32);
    app.store()
        .create_session(
            &ikrar::domain::statement::sha256(value.as_bytes()),
            user,
            "csrf-uji",
            now,
            now + 3600,
        )
        .await
        .expect("session");
    format!("{}={value}", ikrar::http::auth::SESSION_COOKIE)
}

pub(crate) async fn get_as(app: &TestApp, path: &str, cookie: &str) -> TestResponse {
    app.request(Method::GET, path, None, &[("cookie", cookie)], local())
        .await
}

/// What askama makes of text in HTML.
fn escaped(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

async fn add_odd_unit(app: &TestApp, instansi_id: i64) -> i64 {
    let rows: Vec<_> =
        RosterReader::new(ODD_UNIT_ROSTER.as_bytes(), chrono::Utc::now().date_naive())
            .expect("header")
            .map(|r| r.expect("valid row"))
            .collect();
    app.store()
        .import_roster(instansi_id, &rows, false, chrono::Utc::now().timestamp())
        .await
        .expect("import");
    app.store()
        .units(instansi_id)
        .await
        .expect("units")
        .into_iter()
        .find(|u| u.name == "Bidang <Uji> & Co")
        .expect("the odd unit")
        .id
}

/// An open campaign with the ceremony screen on, and a link for every staff member.
async fn screen_campaign(app: &TestApp, instansi_id: i64) -> (i64, Vec<String>) {
    let now = chrono::Utc::now().timestamp();
    let id = app
        .store()
        .create_campaign(
            &NewCampaign {
                instansi_id,
                template_no: 2,
                title: "Pakta Integritas — Upacara Korpri".into(),
                place: "Surakarta".into(),
                opens_at: now - 60,
                closes_at: now + 3600,
                mark_enabled: false,
                screen_enabled: true,
                public_enabled: false,
                unit_ids: Vec::new(),
            },
            now,
        )
        .await
        .expect("campaign");
    let tokens = app
        .store()
        .issue_invitations(id, false, None, now, &ikrar::domain::token::mint)
        .await
        .expect("invitations")
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    (id, tokens)
}

/// (NIP or staff number, name) of everyone in the seeded roster.
fn roster_people() -> Vec<(String, String)> {
    csv::Reader::from_reader(ROSTER.as_bytes())
        .records()
        .map(|r| {
            let r = r.expect("fixture row");
            (r[0].to_string(), r[1].to_string())
        })
        .collect()
}

fn assert_no_personal_data(text: &str, what: &str) {
    for (number, name) in roster_people() {
        assert!(!text.contains(&number), "{what} shows the number {number}");
        assert!(
            !text.contains(&name) && !text.contains(&escaped(&name)),
            "{what} shows the name {name}"
        );
    }
}

#[tokio::test]
async fn dashboard_draws_its_charts_on_the_server() {
    let app = TestApp::new().await;
    let s = seed(app.store()).await;
    let odd_unit = add_odd_unit(&app, s.instansi_id).await;
    for i in 0..3 {
        let (_, token) = s.token_of_kind("PNS", i);
        assert_eq!(app.sign(token, "Uji").await.status, StatusCode::CREATED);
    }
    let cookie = session(&app, Some(s.instansi_id), "hr-dasbor").await;
    let path = format!("/admin/campaigns/{}/dasbor", s.campaign_id);

    let res = get_as(&app, &path, &cookie).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.headers["cache-control"], "no-store");
    let html = res.text();
    assert!(html.contains("<svg"), "an inline SVG chart");
    assert!(html.contains("class=\"chart units\"") && html.contains("class=\"chart hours\""));
    // The charts need no script; the one script (live totals) is a static file.
    assert!(
        html.matches("<script").count() == html.matches("<script src=\"/static/").count(),
        "no inline script"
    );
    for unit in app.store().units(s.instansi_id).await.expect("units") {
        assert!(
            html.contains(&escaped(&unit.name)),
            "unit {} is on the dashboard",
            unit.name
        );
    }
    assert!(html.contains("Bidang &#60;Uji&#62; &#38; Co"));
    assert!(!html.contains("<Uji>"), "unit names are escaped");

    // The totals are the compliance report's, which the same session cookie can read.
    let report = get_as(
        &app,
        &format!("/api/v1/campaigns/{}/compliance?format=json", s.campaign_id),
        &cookie,
    )
    .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text());
    let totals = &report.json()["totals"];
    let target = totals["target"].as_u64().expect("target");
    assert_eq!(totals["signed"], 3);
    assert_eq!(
        target, 501,
        "the 500-person roster and the odd unit's member"
    );
    assert!(html.contains(&format!("id=\"total-target\">{target}<")));
    assert!(html.contains("id=\"total-signed\">3<"));
    let rate = format!("{:.1}%", 300.0 / target as f64).replace('.', ",");
    assert!(
        html.contains(&format!("id=\"total-rate\">{rate}<")),
        "{rate}"
    );

    // The hourly series adds up to the pledges, in whole hours.
    let hours = app
        .store()
        .signatures_per_hour(s.campaign_id)
        .await
        .expect("per hour");
    assert_eq!(hours.iter().map(|h| h.1).sum::<i64>(), 3);
    assert!(hours.iter().all(|h| h.0 % 3600 == 0));

    // Downloads work with the page's session.
    for (format, kind) in [
        ("csv", "text/csv"),
        ("xlsx", "application/vnd.openxmlformats"),
    ] {
        let link = format!(
            "/api/v1/campaigns/{}/compliance?format={format}",
            s.campaign_id
        );
        assert!(html.contains(&link), "a {format} link");
        let file = get_as(&app, &link, &cookie).await;
        assert_eq!(file.status, StatusCode::OK);
        assert!(
            file.headers["content-type"]
                .to_str()
                .expect("type")
                .starts_with(kind)
        );
    }

    // The unsigned list: paged, and filtered by unit.
    assert!(html.contains("Halaman 1") && html.contains("?page=2"));
    let second = get_as(&app, &format!("{path}?page=2"), &cookie).await;
    assert_eq!(second.status, StatusCode::OK);
    assert!(second.text().contains("Halaman 2"));
    let filtered = get_as(&app, &format!("{path}?unit={odd_unit}"), &cookie).await;
    assert_eq!(filtered.status, StatusCode::OK);
    let filtered = filtered.text();
    assert!(filtered.contains("UJI/0001") && filtered.contains("Tester Aman"));
    assert!(filtered.contains(&format!("<option value=\"{odd_unit}\" selected>")));
    let someone_else = roster_people()
        .into_iter()
        .find(|(n, _)| n.len() == 18)
        .expect("a NIP")
        .0;
    assert!(!filtered.contains(&someone_else), "only the chosen unit");
    assert_eq!(
        get_as(&app, &format!("{path}?unit=999999"), &cookie)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get_as(&app, &format!("{path}?unit=abc"), &cookie)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    // The campaign page links to it.
    let campaign = get_as(
        &app,
        &format!("/admin/campaigns/{}", s.campaign_id),
        &cookie,
    )
    .await;
    assert!(campaign.text().contains(&format!("href=\"{path}\"")));
}

#[tokio::test]
async fn another_instansis_dashboard_is_404() {
    let app = TestApp::new().await;
    let s = seed(app.store()).await;
    let other = app
        .store()
        .add_instansi(
            &NewInstansi {
                code: "boyolali".into(),
                name: "Pemerintah Kabupaten Boyolali".into(),
                place: "Boyolali".into(),
                tz: ikrar::domain::instansi::TimeZone::Jakarta,
            },
            chrono::Utc::now().timestamp(),
        )
        .await
        .expect("instansi");
    let cookie = session(&app, Some(other), "hr-boyolali").await;
    let res = get_as(
        &app,
        &format!("/admin/campaigns/{}/dasbor", s.campaign_id),
        &cookie,
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let missing = get_as(&app, "/admin/campaigns/999999/dasbor", &cookie).await;
    assert_eq!(
        res.body, missing.body,
        "looks exactly like a missing campaign"
    );
    assert!(!res.text().contains(&escaped("Ikrar Netralitas ASN")));

    // Without a session the browser goes to the login page, and comes back afterwards.
    let anonymous = app
        .get(&format!("/admin/campaigns/{}/dasbor", s.campaign_id))
        .await;
    assert!(anonymous.status.is_redirection());
    assert_eq!(
        anonymous.headers["location"],
        format!(
            "/admin/login?next=%2Fadmin%2Fcampaigns%2F{}%2Fdasbor",
            s.campaign_id
        )
    );
}

#[tokio::test]
async fn ceremony_screen_is_public_only_when_enabled_and_shows_counts_only() {
    let app = TestApp::new().await;
    let s = seed(app.store()).await;
    for path in [
        format!("/acara/{}", s.campaign_id),
        format!("/acara/{}/events", s.campaign_id),
        "/acara/999999".to_string(),
        "/acara/999999/events".to_string(),
    ] {
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }

    let (id, tokens) = screen_campaign(&app, s.instansi_id).await;
    for token in &tokens[..2] {
        assert_eq!(app.sign(token, "Uji").await.status, StatusCode::CREATED);
    }
    let res = app.get(&format!("/acara/{id}")).await;
    assert_eq!(res.status, StatusCode::OK);
    let csp = res.headers["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(!csp.contains("unsafe-inline"));
    let html = res.text();
    assert!(html.contains("id=\"signed\">2<"), "{html}");
    assert!(html.contains("id=\"target\">500<"));
    assert!(html.contains("id=\"percent\">0,4%<"));
    assert!(html.contains("<script src=\"/static/acara.js\" defer></script>"));
    assert_eq!(html.matches("<script").count(), 1, "no inline script");
    assert!(
        html.contains("http-equiv=\"refresh\""),
        "reloads without JS"
    );
    assert!(html.contains(&format!("data-events=\"/acara/{id}/events\"")));
    for unit in app.store().units(s.instansi_id).await.expect("units") {
        assert!(html.contains(&escaped(&unit.name)), "{}", unit.name);
    }
    assert_no_personal_data(&html, "the ceremony screen");

    let js = app.get("/static/acara.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(
        js.headers["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/javascript")
    );
    assert!(js.text().contains("EventSource"));
}

/// Reads server-sent events from a streaming response body.
struct Events {
    res: reqwest::Response,
    buf: String,
}

impl Events {
    /// The data of the next `counts` event, as JSON; also returns the raw event text.
    async fn next_counts(&mut self) -> (Value, String) {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut name = "message";
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = if v.trim() == "counts" {
                            "counts"
                        } else {
                            "other"
                        };
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if name == "counts" {
                    let value = serde_json::from_str(&data).expect("JSON counts");
                    return (value, block);
                }
                continue;
            }
            let chunk = self
                .res
                .chunk()
                .await
                .expect("stream readable")
                .expect("stream still open");
            self.buf
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }
}

#[tokio::test]
async fn ceremony_events_carry_a_higher_count_after_someone_signs() {
    let (app, base) = spawn_server().await;
    let s = seed(app.store()).await;
    let (id, tokens) = screen_campaign(&app, s.instansi_id).await;
    let http = reqwest::Client::new();

    let res = http
        .get(format!("{base}/acara/{id}/events"))
        .send()
        .await
        .expect("connect");
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/event-stream")
    );
    let mut events = Events {
        res,
        buf: String::new(),
    };
    let (first, raw) = tokio::time::timeout(Duration::from_secs(10), events.next_counts())
        .await
        .expect("the first event comes at once");
    assert_eq!(first["signed"], 0);
    assert_eq!(first["target"], 500);
    assert!(!first["units"].as_array().expect("units").is_empty());
    assert_no_personal_data(&raw, "the first event");

    // A pledge to another campaign changes nothing here; one to this campaign does.
    let (_, other) = s.token_of_kind("PNS", 0);
    let signed = http
        .post(format!("{base}/api/v1/sign"))
        .json(&json!({"token": other, "consent_name": "Uji"}))
        .send()
        .await
        .expect("sign");
    assert_eq!(signed.status(), 201);
    let signed = http
        .post(format!("{base}/api/v1/sign"))
        .json(&json!({"token": tokens[0], "consent_name": "Uji"}))
        .send()
        .await
        .expect("sign");
    assert_eq!(signed.status(), 201);

    let (later, raw) = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let (counts, raw) = events.next_counts().await;
            if counts["signed"].as_u64() > first["signed"].as_u64() {
                return (counts, raw);
            }
        }
    })
    .await
    .expect("a later event carries the new count");
    assert_eq!(later["signed"], 1);
    assert_eq!(later["target"], 500);
    let units_signed: u64 = later["units"]
        .as_array()
        .expect("units")
        .iter()
        .map(|u| u["signed"].as_u64().expect("count"))
        .sum();
    assert_eq!(units_signed, 1);
    assert_no_personal_data(&raw, "a later event");
}

#[tokio::test]
async fn ceremony_streams_end_when_the_server_shuts_down() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = TestApp::new().await;
    let s = seed(app.store()).await;
    let (id, _) = screen_campaign(&app, s.instansi_id).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ikrar::http::serve(listener, app.state.clone(), async {
        let _ = stopped.await;
    }));

    let res = reqwest::get(format!("{base}/acara/{id}/events"))
        .await
        .expect("connect");
    let mut events = Events {
        res,
        buf: String::new(),
    };
    tokio::time::timeout(Duration::from_secs(10), events.next_counts())
        .await
        .expect("first event");
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("a graceful shutdown does not wait for viewers")
        .expect("no panic")
        .expect("served");
}

#[tokio::test]
async fn ceremony_events_follow_pledges_that_another_instance_signs() {
    let (app, base) = spawn_server().await;
    let s = seed(app.store()).await;
    let (id, tokens) = screen_campaign(&app, s.instansi_id).await;
    // A second instance on the same database, whose sequencer this server never hears.
    let other = ikrar::startup::build_state(
        ikrar::store::connect(&app.db.url)
            .await
            .expect("second pool"),
        settings(),
    )
    .await
    .expect("second instance");
    let other = ikrar::http::router(other);

    let res = reqwest::get(format!("{base}/acara/{id}/events"))
        .await
        .expect("connect");
    let mut events = Events {
        res,
        buf: String::new(),
    };
    let (first, _) = tokio::time::timeout(Duration::from_secs(10), events.next_counts())
        .await
        .expect("first event");
    assert_eq!(first["signed"], 0);

    let mut req = axum::http::Request::post("/api/v1/sign")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({"token": tokens[0], "consent_name": "Uji"}).to_string(),
        ))
        .expect("request");
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [10, 0, 0, 1],
            1234,
        ))));
    let signed = tower::ServiceExt::oneshot(other, req)
        .await
        .expect("infallible");
    assert_eq!(signed.status(), StatusCode::CREATED);

    let (later, _) = tokio::time::timeout(Duration::from_secs(15), events.next_counts())
        .await
        .expect("the shared poller notices the other instance's pledge");
    assert_eq!(later["signed"], 1);
}
