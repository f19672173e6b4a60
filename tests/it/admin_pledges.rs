//! HR's pledge pages through the admin form routes: find a pledge by NIP and by name, open
//! it, and annul it with a confirmation step; the public verification then reports it
//! annulled. Only an instansi admin annuls; another instansi finds nothing.

use axum::http::{Method, StatusCode};
use ikrar::domain::account::Role;
use serde_json::json;

use crate::support::*;

const CSRF: &str = "csrf-pledges";

/// A session cookie (`name=value`) for a new account of `role`, as the login form sets it.
pub(crate) async fn session_as(
    app: &TestApp,
    instansi_id: Option<i64>,
    username: &str,
    role: Role,
) -> String {
    let now = chrono::Utc::now().timestamp();
    let user = app
        .store()
        .add_user(
            instansi_id,
            username,
            role,
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
            CSRF,
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

pub(crate) async fn post_form(
    app: &TestApp,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> TestResponse {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    app.request(
        Method::POST,
        path,
        Some(("application/x-www-form-urlencoded", body.into_bytes())),
        &[("cookie", cookie)],
        local(),
    )
    .await
}

#[tokio::test]
async fn a_pledge_found_by_nip_and_name_and_annulled_through_the_admin_form_is_annulled_in_verify()
{
    let app = TestApp::new().await;
    let s = seed(app.store()).await;
    let (nip, token) = s.token_of_kind("PNS", 3);
    let ctx = app
        .store()
        .sign_context(&ikrar::domain::token::hash(token))
        .await
        .expect("query")
        .expect("invitation");
    let signed = app.sign(token, &ctx.name).await;
    assert_eq!(signed.status, StatusCode::CREATED, "{}", signed.text());
    let signed = signed.json();
    let pledge_id = signed["pledge_id"].as_i64().expect("id");
    let record = signed["record"].as_str().expect("record").to_string();
    let view = format!("/admin/pledges/{pledge_id}");

    let admin = session_as(&app, Some(s.instansi_id), "admin-ikrar", Role::Admin).await;

    // By NIP, as people write it (grouped with spaces), and by part of the name in
    // another case: both lead to the pledge view.
    let grouped = format!(
        "{} {} {} {}",
        &nip[..8],
        &nip[8..14],
        &nip[14..15],
        &nip[15..]
    );
    let by_nip = get_as(
        &app,
        &format!("/admin/pledges?q={}", urlencoding(&grouped)),
        &admin,
    )
    .await;
    assert_eq!(by_nip.status, StatusCode::OK, "{}", by_nip.text());
    assert!(
        by_nip.text().contains(&format!("href=\"{view}\"")),
        "{}",
        by_nip.text()
    );
    let part: String = ctx
        .name
        .chars()
        .skip(1)
        .take(6)
        .collect::<String>()
        .to_uppercase();
    let by_name = get_as(
        &app,
        &format!("/admin/pledges?q={}", urlencoding(&part)),
        &admin,
    )
    .await;
    assert_eq!(by_name.status, StatusCode::OK);
    assert!(
        by_name.text().contains(&format!("href=\"{view}\"")),
        "{part}: {}",
        by_name.text()
    );
    // Someone who signed nothing is not found; too short a query is refused with a message.
    let (other_nip, _) = s.token_of_kind("PNS", 4);
    let none = get_as(&app, &format!("/admin/pledges?q={other_nip}"), &admin).await;
    assert!(none.text().contains("id=\"no-results\""), "{}", none.text());
    let short = get_as(&app, "/admin/pledges?q=ab", &admin).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);

    // HR of another instansi neither finds nor opens it.
    let other = app
        .store()
        .add_instansi(
            &ikrar::store::NewInstansi {
                code: "klaten".into(),
                name: "Pemerintah Kabupaten Klaten".into(),
                place: "Klaten".into(),
                tz: ikrar::domain::instansi::TimeZone::Jakarta,
            },
            chrono::Utc::now().timestamp(),
        )
        .await
        .expect("instansi");
    let stranger = session_as(&app, Some(other), "admin-klaten", Role::Admin).await;
    let theirs = get_as(&app, &format!("/admin/pledges?q={nip}"), &stranger).await;
    assert!(!theirs.text().contains(&view));
    assert_eq!(
        get_as(&app, &view, &stranger).await.status,
        StatusCode::NOT_FOUND
    );

    // The pledge view offers the annulment form to an admin, not to HR.
    let page = get_as(&app, &view, &admin).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("id=\"annul-form\"") && page.text().contains(&ctx.name));
    let hr = session_as(&app, Some(s.instansi_id), "hr-ikrar", Role::Hr).await;
    assert!(
        !get_as(&app, &view, &hr)
            .await
            .text()
            .contains("id=\"annul-form\"")
    );
    let refused = post_form(
        &app,
        &format!("{view}/annul"),
        &hr,
        &[
            ("csrf", CSRF),
            ("category", "ganda"),
            ("reason", "Tertandatangani dua kali"),
            ("confirm", "ya"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // The first submit only asks for confirmation, showing what will be recorded.
    let form = [
        ("csrf", CSRF),
        ("category", "salah-orang"),
        ("reason", "Ditandatangani oleh rekan satu ruangan"),
    ];
    let ask = post_form(&app, &format!("{view}/annul"), &admin, &form).await;
    assert_eq!(ask.status, StatusCode::OK, "{}", ask.text());
    assert!(ask.text().contains("id=\"confirm-annul-button\""));
    assert!(
        ask.text()
            .contains("Ditandatangani oleh rekan satu ruangan")
    );
    let before = app.get(&format!("/api/v1/verify/{record}")).await.json();
    assert_eq!(
        before["annulled"], false,
        "not annulled before the confirmation"
    );

    // Without the session's CSRF token, nothing happens.
    let forged = post_form(
        &app,
        &format!("{view}/annul"),
        &admin,
        &[
            ("csrf", "salah"),
            ("category", "salah-orang"),
            ("reason", "x"),
            ("confirm", "ya"),
        ],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let mut confirmed = form.to_vec();
    confirmed.push(("confirm", "ya"));
    let done = post_form(&app, &format!("{view}/annul"), &admin, &confirmed).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    let location = done.headers["location"].to_str().expect("location");
    let after = get_as(&app, location, &admin).await;
    assert!(after.text().contains("id=\"message\""), "a success message");
    assert!(after.text().contains("dibatalkan") && !after.text().contains("id=\"annul-form\""));

    let v = app.get(&format!("/api/v1/verify/{record}")).await;
    assert_eq!(v.status, StatusCode::OK);
    let v = v.json();
    assert_eq!(v["annulled"], true, "{v}");
    assert_eq!(v["pledge"]["annul_category"], json!("salah-orang"), "{v}");

    // Annulling twice is refused with a message on the page; the audit trail has it once.
    let twice = post_form(&app, &format!("{view}/annul"), &admin, &confirmed).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let events = app
        .store()
        .audit_events(Some(s.instansi_id), i64::MAX, 100)
        .await
        .expect("audit");
    assert_eq!(
        events.iter().filter(|e| e.action == "pledge.annul").count(),
        1
    );
    // The search shows it as annulled.
    let listed = get_as(&app, &format!("/admin/pledges?q={nip}"), &admin).await;
    assert!(listed.text().contains("dibatalkan"));
}

/// Percent-encodes a query value.
fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
