//! HR over the bearer API and the admin pages: scoping per instansi, roles, roster import,
//! campaigns, invitations and slips, CSRF and login rate limits.

use axum::http::{Method, StatusCode};
use ikrar::store::NewInstansi;
use serde_json::{Value, json};

use crate::support::*;

async fn second_instansi(app: &TestApp) -> (i64, i64) {
    let now = chrono::Utc::now().timestamp();
    let id = app
        .store()
        .add_instansi(
            &NewInstansi {
                code: "boyolali".into(),
                name: "Pemerintah Kabupaten Boyolali".into(),
                place: "Boyolali".into(),
                tz: ikrar::domain::instansi::TimeZone::Jakarta,
            },
            now,
        )
        .await
        .expect("instansi");
    let rows = ikrar::formats::roster::read_csv(
        include_str!("../fixtures/siasn-40.csv").as_bytes(),
        ikrar::domain::instansi::today_in_indonesia(),
    )
    .expect("valid");
    app.store()
        .import_roster(id, &rows, false, now)
        .await
        .expect("import");
    let campaign = ikrar::service::campaign::create(
        app.store(),
        id,
        &ikrar::service::campaign::CampaignInput {
            template: "pakta-integritas@1".into(),
            title: "Pakta Integritas 2026".into(),
            place: "Boyolali".into(),
            opens: (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
            closes: (chrono::Utc::now() + chrono::Duration::hours(5)).to_rfc3339(),
            units: vec![],
            mark: false,
            screen: false,
            public: false,
        },
        "test",
    )
    .await
    .expect("campaign");
    (id, campaign)
}

#[tokio::test]
async fn hr_of_one_instansi_gets_404_for_everything_of_another() {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let (b_id, b_campaign) = second_instansi(&app).await;
    let hr_a = user_with_token(
        app.store(),
        Some(a.instansi_id),
        "hr-a",
        "hr",
        "kata-sandi-a-123",
    )
    .await;
    let hr_b = user_with_token(app.store(), Some(b_id), "hr-b", "hr", "kata-sandi-b-123").await;

    // A pledge in A.
    let (_, token) = a.token_of_kind("PNS", 0);
    let pledge_id = app.sign(token, "Budi").await.json()["pledge_id"]
        .as_i64()
        .expect("id");

    // A's own things work for A.
    let own = app
        .call(
            Method::GET,
            &format!("/api/v1/campaigns/{}", a.campaign_id),
            &hr_a,
            None,
        )
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text());
    let own = app
        .call(
            Method::GET,
            &format!("/api/v1/pledges/{pledge_id}"),
            &hr_a,
            None,
        )
        .await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(
        own.json()["statement"]
            .as_str()
            .map(|s| s.starts_with("ikrar-statement/v1")),
        Some(true)
    );

    // Everything of A answers 404 to B, exactly like something that does not exist.
    let probes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::GET,
            format!("/api/v1/campaigns/{}", a.campaign_id),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/campaigns/{}/close", a.campaign_id),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/campaigns/{}/invitations", a.campaign_id),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/v1/campaigns/{}/invitations/revoke", a.campaign_id),
            Some(json!({"nip": "x"})),
        ),
        (Method::GET, format!("/api/v1/pledges/{pledge_id}"), None),
        (
            Method::GET,
            format!("/api/v1/pledges/{pledge_id}/pdf"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/pledges/{pledge_id}/proof"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/pledges/{pledge_id}/annul"),
            Some(json!({"category": "ganda", "reason": "x"})),
        ),
        (
            Method::GET,
            format!("/api/v1/campaigns/{}/compliance", a.campaign_id),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/campaigns/{}/compliance?format=xlsx", a.campaign_id),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/campaigns/{}/unsigned", a.campaign_id),
            None,
        ),
    ];
    for (method, path, body) in &probes {
        let res = app.call(method.clone(), path, &hr_b, body.as_ref()).await;
        assert_eq!(
            res.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            res.text()
        );
        let missing = app
            .call(
                method.clone(),
                &path
                    .replace(&format!("campaigns/{}", a.campaign_id), "campaigns/999999")
                    .replace(&format!("pledges/{pledge_id}"), "pledges/999999"),
                &hr_b,
                body.as_ref(),
            )
            .await;
        assert_eq!(
            res.body, missing.body,
            "{path}: another instansi's object looks missing"
        );
    }
    // B's list holds only B's campaign.
    let list = app
        .call(Method::GET, "/api/v1/campaigns", &hr_b, None)
        .await
        .json();
    let ids: Vec<i64> = list["campaigns"]
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, vec![b_campaign]);
    // A is still open: B's close did nothing.
    let c = app
        .call(
            Method::GET,
            &format!("/api/v1/campaigns/{}", a.campaign_id),
            &hr_a,
            None,
        )
        .await
        .json();
    assert_eq!(c["open"], true);
}

#[tokio::test]
async fn credentials_and_roles_are_enforced() {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let auditor = user_with_token(
        app.store(),
        Some(a.instansi_id),
        "aud",
        "auditor",
        "kata-sandi-aud-1",
    )
    .await;
    let none = app.get("/api/v1/campaigns").await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.error_code(), "unauthorized");
    let bad = app
        .call(Method::GET, "/api/v1/campaigns", "ikr_nonsense", None)
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.call(Method::GET, "/api/v1/campaigns", &auditor, None)
            .await
            .status,
        StatusCode::OK
    );
    let res = app
        .call(
            Method::POST,
            &format!("/api/v1/campaigns/{}/close", a.campaign_id),
            &auditor,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn roster_upload_is_all_or_nothing_and_names_every_bad_line() {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let hr = hr_token(&app, a.instansi_id).await;
    let bad = include_bytes!("../fixtures/roster-500-bad.csv").to_vec();
    let res = app.upload("/api/v1/roster", &hr, "text/csv", bad).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let v = res.json();
    assert_eq!(v["error"]["code"], "roster_invalid");
    let mut lines: Vec<u64> = v["error"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["line"].as_u64().expect("line"))
        .collect();
    lines.dedup();
    let expected: Vec<u64> = include_str!("../fixtures/roster-500-bad.expected")
        .lines()
        .map(|l| l.parse().expect("n"))
        .collect();
    assert_eq!(lines, expected);
    assert!(
        v["error"]["rows"][0]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );

    // SIASN, `;` and a BOM: imports; a dry run first changes nothing.
    let mut siasn = b"\xEF\xBB\xBF".to_vec();
    siasn.extend_from_slice(include_bytes!("../fixtures/siasn-40.csv"));
    let dry = app
        .upload(
            "/api/v1/roster?dry_run=true",
            &hr,
            "text/csv",
            siasn.clone(),
        )
        .await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.text());
    assert_eq!(dry.json()["rows"], 40);
    let res = app.upload("/api/v1/roster", &hr, "text/csv", siasn).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["created"], 40);
}

#[tokio::test]
async fn campaigns_and_invitations_over_the_api() {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let hr = hr_token(&app, a.instansi_id).await;
    let now = chrono::Utc::now();
    let res = app
        .call(
            Method::POST,
            "/api/v1/campaigns",
            &hr,
            Some(&json!({
                "template": "pakta-integritas@1",
                "title": "Pakta Integritas 2026",
                "place": "Surakarta",
                "opens": (now - chrono::Duration::minutes(5)).to_rfc3339(),
                "closes": (now + chrono::Duration::hours(2)).to_rfc3339(),
                "units": ["Inspektorat"],
                "mark": false
            })),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let id = res.json()["id"].as_i64().expect("id");
    let bad = app
        .call(Method::POST, "/api/v1/campaigns", &hr, Some(&json!({"template": "x@1", "title": "t", "place": "p", "opens": "kemarin", "closes": "besok"})))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    let csv = app
        .call(
            Method::POST,
            &format!("/api/v1/campaigns/{id}/invitations"),
            &hr,
            Some(&json!({})),
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let text = csv.text();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("nip,nama,unit,link"));
    let rows: Vec<&str> = lines.collect();
    assert!(
        !rows.is_empty() && rows.iter().all(|l| l.contains(",Inspektorat,")),
        "only the target unit"
    );
    // Issued once: a second run issues nobody.
    let again = app
        .call(
            Method::POST,
            &format!("/api/v1/campaigns/{id}/invitations"),
            &hr,
            Some(&json!({})),
        )
        .await;
    assert_eq!(again.text().lines().count(), 1);
    // Revoke one; its link answers 410.
    let first = rows[0];
    let nip = first.split(',').next().expect("nip");
    let link = first.rsplit(',').next().expect("link");
    let token = link.rsplit('/').next().expect("token");
    let res = app
        .call(
            Method::POST,
            &format!("/api/v1/campaigns/{id}/invitations/revoke"),
            &hr,
            Some(&json!({"nip": nip})),
        )
        .await;
    assert_eq!(res.json()["revoked"], 1);
    assert_eq!(app.sign(token, "Budi").await.status, StatusCode::GONE);
    // Close: new signatures answer 410.
    let closed = app
        .call(
            Method::POST,
            &format!("/api/v1/campaigns/{id}/close"),
            &hr,
            None,
        )
        .await;
    assert_eq!(closed.json()["open"], false);
}

#[tokio::test]
async fn admin_forms_need_csrf_and_logins_are_rate_limited() {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    user_with_token(
        app.store(),
        Some(a.instansi_id),
        "hr1",
        "hr",
        "kata-sandi-benar-1",
    )
    .await;

    let page = app.get("/admin/login").await;
    let set_cookie = page.headers["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("Secure")
            && set_cookie.contains("SameSite=Strict")
    );
    let csrf_cookie = set_cookie.split(';').next().expect("pair").to_string();
    let csrf = csrf_cookie.split_once('=').expect("value").1.to_string();

    let form = |user: &str, pass: &str, csrf: &str| {
        format!("username={user}&password={pass}&csrf={csrf}").into_bytes()
    };
    // Without the CSRF token: refused, even with the right password.
    let res = app
        .request(
            Method::POST,
            "/admin/login",
            Some((
                "application/x-www-form-urlencoded",
                form("hr1", "kata-sandi-benar-1", ""),
            )),
            &[("cookie", &csrf_cookie)],
            local(),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    let ok = app
        .request(
            Method::POST,
            "/admin/login",
            Some((
                "application/x-www-form-urlencoded",
                form("hr1", "kata-sandi-benar-1", &csrf),
            )),
            &[("cookie", &csrf_cookie)],
            local(),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    let session = ok
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("cookie").to_string())
        .find(|c| c.starts_with("ikrar_session="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly")
            && session.contains("Secure")
            && session.contains("SameSite=Strict")
    );
    let session_pair = session.split(';').next().expect("pair").to_string();

    let dash = app
        .request(
            Method::GET,
            "/admin",
            None,
            &[("cookie", &session_pair)],
            local(),
        )
        .await;
    assert_eq!(dash.status, StatusCode::OK);
    let html = dash.text();
    let session_csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .expect("csrf field")
        .split('"')
        .next()
        .expect("value")
        .to_string();

    // A form post without the session's CSRF token is refused; with it, it works.
    let now = chrono::Utc::now();
    let body = |csrf: &str| {
        format!(
        "csrf={csrf}&template=ikrar-netralitas-2024%401&title=Uji&place=Surakarta&opens={}&closes={}&mark=ya",
        (now).format("%Y-%m-%dT%H:%M"),
        (now + chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M")
    ).into_bytes()
    };
    let res = app
        .request(
            Method::POST,
            "/admin/campaigns",
            Some(("application/x-www-form-urlencoded", body("salah"))),
            &[("cookie", &session_pair)],
            local(),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = app
        .request(
            Method::POST,
            "/admin/campaigns",
            Some(("application/x-www-form-urlencoded", body(&session_csrf))),
            &[("cookie", &session_pair)],
            local(),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert!(
        app.request(
            Method::GET,
            "/admin/audit",
            None,
            &[("cookie", &session_pair)],
            local()
        )
        .await
        .text()
        .contains("Kampanye dibuat")
    );

    // Repeated wrong passwords for one username: refused with 429 before any more checking.
    let mut statuses = Vec::new();
    for i in 0..7u8 {
        let client = std::net::IpAddr::from([203, 0, 113, i]);
        let res = app
            .request(
                Method::POST,
                "/admin/login",
                Some((
                    "application/x-www-form-urlencoded",
                    form("hr1", "salah-sekali", &csrf),
                )),
                &[("cookie", &csrf_cookie)],
                client,
            )
            .await;
        statuses.push(res.status);
    }
    assert_eq!(statuses[..4], [StatusCode::UNAUTHORIZED; 4]);
    assert_eq!(
        *statuses.last().expect("last"),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn reimport_updates_and_deactivates_missing_staff_only_when_asked() {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let hr = hr_token(&app, a.instansi_id).await;
    // The same roster minus its last 100 rows, with one person's name changed.
    let mut reader =
        csv::Reader::from_reader(include_str!("../fixtures/roster-500.csv").as_bytes());
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(reader.headers().expect("header"))
        .expect("write");
    let mut first_nip = String::new();
    for (i, record) in reader.records().take(400).enumerate() {
        let mut fields: Vec<String> = record.expect("row").iter().map(str::to_string).collect();
        if i == 0 {
            first_nip = fields[0].clone();
            fields[1] = "Nama Baru, S.H.".to_string();
        }
        out.write_record(&fields).expect("write");
    }
    let body = out.into_inner().expect("csv");

    let res = app
        .upload("/api/v1/roster", &hr, "text/csv", body.clone())
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let v = res.json();
    assert_eq!(
        (
            v["created"].as_u64(),
            v["updated"].as_u64(),
            v["deactivated"].as_u64()
        ),
        (Some(0), Some(400), Some(0))
    );
    let found = app
        .store()
        .employees(a.instansi_id, &format!("%{first_nip}%"), 5, 0)
        .await
        .expect("query");
    assert_eq!(found[0].name, "Nama Baru, S.H.");

    let res = app
        .upload(
            "/api/v1/roster?deactivate_missing=true",
            &hr,
            "text/csv",
            body,
        )
        .await;
    assert_eq!(res.json()["deactivated"], 100);
    let j = app
        .call(
            Method::GET,
            &format!("/api/v1/campaigns/{}/compliance", a.campaign_id),
            &hr,
            None,
        )
        .await
        .json();
    assert_eq!(
        j["totals"]["target"], 400,
        "deactivated staff are no longer targets"
    );
}
