//! The kiosk (SPEC 4.4). In Debian's Chromium: HR logs in, starts a kiosk for a campaign
//! (with its confirmation step), a slip token typed into `/kios` opens that person's
//! signing page, signing shows the receipt, and after "Selesai" going back in history shows
//! nothing of that signer. Over HTTP: the kiosk cookie opens no admin page, a kiosk cannot
//! sign without a slip nor take another campaign's slip, HR lists and ends kiosks (audited),
//! and expired sessions and finished kiosks are purged from the store.

use std::time::Duration;

use axum::http::StatusCode;
use fantoccini::{Client, Locator};
use ikrar::domain::account::Role;
use ikrar::store::admin::NewKiosk;
use ikrar::store::{NewCampaign, SignContext};

use crate::admin_pledges::{get_as, post_form, session_as};
use crate::browser::{session, start_driver};
use crate::support::*;

const WAIT: Duration = Duration::from_secs(20);

/// The signer of a seeded slip whose name HTML shows as written.
async fn plain_signer(app: &TestApp, s: &Seeded) -> (String, SignContext) {
    for (_, kind, token) in &s.invites {
        if kind != "PNS" {
            continue;
        }
        let ctx = app
            .store()
            .sign_context(&ikrar::domain::token::hash(token))
            .await
            .expect("query")
            .expect("invitation");
        if !ctx.name.contains(['&', '<', '>', '"', '\'']) {
            return (token.clone(), ctx);
        }
    }
    panic!("the roster has a plainly named PNS");
}

async fn fill(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .expect("type");
}

async fn click(c: &Client, css: &str) {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .expect("click");
}

async fn wait_for(c: &Client, css: &str) {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for {css}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_signs_a_typed_slip_and_then_keeps_nothing_of_the_signer() {
    let (app, base) = spawn_server().await;
    let s = seed(app.store()).await;
    user_with_token(
        app.store(),
        Some(s.instansi_id),
        "hr-kios",
        "hr",
        "kata-sandi-kios-1",
    )
    .await;
    let (token, ctx) = plain_signer(&app, &s).await;
    let nip = ikrar::service::pledge::display_number(ctx.kind, &ctx.number);

    let driver = start_driver().await;
    let c = session(&driver).await;

    // HR logs in and starts a kiosk for the campaign; the first press asks to confirm.
    c.goto(&format!("{base}/admin/login"))
        .await
        .expect("login page");
    fill(&c, "#username", "hr-kios").await;
    fill(&c, "#password", "kata-sandi-kios-1").await;
    click(&c, "form button[type=submit]").await;
    wait_for(&c, "nav.admin-nav").await;
    c.goto(&format!("{base}/admin/campaigns/{}/kios", s.campaign_id))
        .await
        .expect("kiosk page");
    fill(&c, "#label", "Tablet meja 1").await;
    click(&c, "#start-button").await;
    click(&c, "#confirm-start-button").await;
    wait_for(&c, "#slip").await;
    assert_eq!(c.current_url().await.expect("url").path(), "/kios");
    let kiosk_secret = c
        .get_named_cookie("ikrar_kios")
        .await
        .expect("the kiosk cookie")
        .value()
        .to_string();

    // The slip's token, typed as on paper (lower case), opens that person's signing page.
    fill(&c, "#slip", &token.to_lowercase()).await;
    click(&c, "#kios-open").await;
    wait_for(&c, "#sign-form").await;
    let page = c.source().await.expect("source");
    assert!(page.contains(&ctx.name) && page.contains(&nip), "{page}");
    assert!(
        !c.current_url()
            .await
            .expect("url")
            .as_str()
            .to_uppercase()
            .contains(&token)
    );

    click(&c, "input[name=consent]").await;
    fill(&c, "#consent_name", &ctx.name).await;
    click(&c, "#submit").await;
    wait_for(&c, "#kios-receipt").await;
    let receipt = c.source().await.expect("source");
    assert!(receipt.contains("Ikrar telah ditandatangani"), "{receipt}");
    assert!(!receipt.contains("/pdf"), "the kiosk offers no PDF");
    let signed = app
        .store()
        .sign_context(&ikrar::domain::token::hash(&token))
        .await
        .expect("query")
        .expect("invitation");
    assert!(signed.pledge_id.is_some(), "the pledge was made");

    // "Selesai" returns to the scan screen; going back in history shows nothing of the signer.
    click(&c, "#kios-selesai").await;
    wait_for(&c, "#slip").await;
    for step in 0..2 {
        c.back().await.expect("back");
        wait_for(&c, "#slip").await;
        let html = c.source().await.expect("source");
        assert!(
            !html.contains(&ctx.name) && !html.contains(&nip) && !html.contains(&ctx.number),
            "back {step}: {html}"
        );
        assert_eq!(c.current_url().await.expect("url").path(), "/kios");
    }

    // HR's session in this browser ended when the kiosk started.
    c.goto(&format!("{base}/admin")).await.expect("admin");
    assert_eq!(c.current_url().await.expect("url").path(), "/admin/login");
    c.close().await.expect("close");

    // The kiosk cookie opens no admin page, whatever name it is sent under.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for cookie in [
        format!("ikrar_kios={kiosk_secret}"),
        format!("ikrar_session={kiosk_secret}"),
    ] {
        for path in [
            "/admin".to_string(),
            format!("/admin/campaigns/{}", s.campaign_id),
            format!("/admin/campaigns/{}/kios", s.campaign_id),
            "/admin/roster".to_string(),
            "/admin/pledges".to_string(),
        ] {
            let res = http
                .get(format!("{base}{path}"))
                .header("cookie", &cookie)
                .send()
                .await
                .expect("get");
            assert_eq!(res.status(), 303, "{path} with {cookie}");
            let to = res.headers()["location"].to_str().expect("location");
            assert!(to.starts_with("/admin/login"), "{path}: {to}");
        }
        let api = http
            .get(format!("{base}/api/v1/campaigns"))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("api");
        assert_eq!(api.status(), 401);
    }
    // …while it still opens the scan screen, never cached.
    let scan = http
        .get(format!("{base}/kios"))
        .header("cookie", format!("ikrar_kios={kiosk_secret}"))
        .send()
        .await
        .expect("scan");
    assert_eq!(scan.status(), 200);
    assert_eq!(scan.headers()["cache-control"], "no-store");
}

/// A form post to a kiosk route with the device's cookies.
async fn kiosk_post(
    app: &TestApp,
    path: &str,
    cookies: &str,
    form: &[(&str, &str)],
) -> TestResponse {
    post_form(app, path, cookies, form).await
}

/// The `name=value` of a Set-Cookie for `name` in a response.
fn set_cookie(res: &TestResponse, name: &str) -> Option<String> {
    res.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("cookie").to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
}

#[tokio::test]
async fn hr_starts_lists_and_ends_kiosks_and_a_kiosk_signs_only_with_its_own_slips() {
    let app = TestApp::new().await;
    let s = seed(app.store()).await;
    let hr = session_as(&app, Some(s.instansi_id), "hr-kios", Role::Hr).await;
    let kios_page = format!("/admin/campaigns/{}/kios", s.campaign_id);

    // The campaign page links the kiosk page.
    let campaign = get_as(&app, &format!("/admin/campaigns/{}", s.campaign_id), &hr).await;
    assert!(campaign.text().contains(&format!("href=\"{kios_page}\"")));

    // The first press asks to confirm and starts nothing.
    let ask = post_form(
        &app,
        &kios_page,
        &hr,
        &[("csrf", "csrf-pledges"), ("label", "Meja 1")],
    )
    .await;
    assert_eq!(ask.status, StatusCode::OK, "{}", ask.text());
    assert!(ask.text().contains("id=\"confirm-start-button\""));
    assert!(
        app.store()
            .kiosks(s.campaign_id)
            .await
            .expect("kiosks")
            .is_empty()
    );
    let forged = post_form(
        &app,
        &kios_page,
        &hr,
        &[("csrf", "salah"), ("label", "Meja 1"), ("confirm", "ya")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let started = post_form(
        &app,
        &kios_page,
        &hr,
        &[
            ("csrf", "csrf-pledges"),
            ("label", "Meja 1"),
            ("confirm", "ya"),
        ],
    )
    .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text());
    assert_eq!(started.headers["location"], "/kios");
    let kiosk = set_cookie(&started, "ikrar_kios").expect("kiosk cookie");
    assert!(
        kiosk.contains("HttpOnly")
            && kiosk.contains("Secure")
            && kiosk.contains("SameSite=Strict")
            && kiosk.contains("Path=/kios")
            && kiosk.contains("Max-Age="),
        "{kiosk}"
    );
    let kiosk = kiosk.split(';').next().expect("pair").to_string();
    // HR's session ended, on the server too.
    let gone = set_cookie(&started, "ikrar_session").expect("session cookie removed");
    assert!(gone.starts_with("ikrar_session=;"), "{gone}");
    assert_eq!(
        get_as(&app, "/admin", &hr).await.status,
        StatusCode::SEE_OTHER
    );

    // The scan screen, never cached; no step, so no signing page and no signing.
    let scan = get_as(&app, "/kios", &kiosk).await;
    assert_eq!(scan.status, StatusCode::OK);
    assert_eq!(scan.headers["cache-control"], "no-store");
    let tanda = get_as(&app, "/kios/tanda", &kiosk).await;
    assert_eq!(tanda.status, StatusCode::SEE_OTHER);
    assert_eq!(tanda.headers["location"], "/kios");
    let (nip, token) = s.token_of_kind("PNS", 1);
    let blind = kiosk_post(
        &app,
        "/kios/tanda",
        &kiosk,
        &[("consent", "ya"), ("consent_name", "Siapa Saja")],
    )
    .await;
    assert_eq!(blind.status, StatusCode::SEE_OTHER);
    // Without a kiosk cookie, /kios is refused.
    assert_eq!(app.get("/kios").await.status, StatusCode::FORBIDDEN);

    // A slip of another campaign is refused; nothing of that person is shown.
    let now = chrono::Utc::now().timestamp();
    let other = app
        .store()
        .create_campaign(
            &NewCampaign {
                instansi_id: s.instansi_id,
                template_no: 2,
                title: "Pakta Integritas 2026".into(),
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
        .expect("campaign");
    let issued = app
        .store()
        .issue_invitations(other, false, Some(nip), now, &ikrar::domain::token::mint)
        .await
        .expect("issue");
    let foreign = &issued[0].1;
    let refused = kiosk_post(&app, "/kios", &kiosk, &[("slip", foreign)]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text());
    assert!(refused.text().contains("kampanye lain"));
    assert!(set_cookie(&refused, "ikrar_kios_langkah").is_none());

    // The slip's full link, as a scanner types it, starts a step.
    let link = format!("http://127.0.0.1:8080/s/{token}");
    let taken = kiosk_post(&app, "/kios", &kiosk, &[("slip", &link)]).await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER, "{}", taken.text());
    assert_eq!(taken.headers["location"], "/kios/tanda");
    let step = set_cookie(&taken, "ikrar_kios_langkah").expect("step cookie");
    let step = step.split(';').next().expect("pair").to_string();
    let both = format!("{kiosk}; {step}");
    let form = get_as(&app, "/kios/tanda", &both).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(form.headers["cache-control"], "no-store");
    assert!(form.text().contains("action=\"/kios/tanda\""));

    // Signing without JavaScript: the receipt, never cached, goes back by itself after 60 s.
    let name = app
        .store()
        .sign_context(&ikrar::domain::token::hash(token))
        .await
        .expect("query")
        .expect("invitation")
        .name;
    let signed = kiosk_post(
        &app,
        "/kios/tanda",
        &both,
        &[("consent", "ya"), ("consent_name", &name)],
    )
    .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.text());
    // The pledge's evidence says it was signed at a kiosk (never public).
    let size: i64 = app
        .get("/log/checkpoint")
        .await
        .text()
        .lines()
        .nth(1)
        .expect("size")
        .parse()
        .expect("number");
    let (via, subject) = crate::oidc::evidence_of(&app.db, size - 1).await;
    assert_eq!((via.as_str(), subject), ("kiosk", None));
    let receipt = get_as(&app, "/kios/tanda?ok=1", &both).await;
    assert_eq!(receipt.status, StatusCode::OK);
    assert_eq!(receipt.headers["cache-control"], "no-store");
    assert_eq!(receipt.headers["refresh"], "60; url=/kios");
    assert!(receipt.text().contains("id=\"kios-receipt\"") && !receipt.text().contains("/pdf"));

    // "Selesai" ends the step on the server: the old step cookie opens nothing any more.
    let done = kiosk_post(&app, "/kios/selesai", &both, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(
        set_cookie(&done, "ikrar_kios_langkah")
            .is_some_and(|c| c.starts_with("ikrar_kios_langkah=;"))
    );
    let replay = get_as(&app, "/kios/tanda", &both).await;
    assert_eq!(replay.status, StatusCode::SEE_OTHER);
    assert_eq!(replay.headers["location"], "/kios");

    // HR (logged in elsewhere) sees the kiosk and ends it, confirming first.
    let hr2 = session_as(&app, Some(s.instansi_id), "hr-kios-2", Role::Hr).await;
    let list = get_as(&app, &kios_page, &hr2).await;
    let kiosks = app.store().kiosks(s.campaign_id).await.expect("kiosks");
    assert_eq!(kiosks.len(), 1);
    let id = kiosks[0].id;
    assert!(list.text().contains("Meja 1") && list.text().contains("aktif"));
    let end = format!("{kios_page}/{id}/akhiri");
    let ask = post_form(&app, &end, &hr2, &[("csrf", "csrf-pledges")]).await;
    assert!(ask.text().contains("Ya, akhiri kiosk"));
    assert_eq!(get_as(&app, "/kios", &kiosk).await.status, StatusCode::OK);
    let ended = post_form(
        &app,
        &end,
        &hr2,
        &[("csrf", "csrf-pledges"), ("confirm", "ya")],
    )
    .await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    let location = ended.headers["location"]
        .to_str()
        .expect("location")
        .to_string();
    let after = get_as(&app, &location, &hr2).await;
    assert!(after.text().contains("id=\"message\"") && after.text().contains("diakhiri"));
    assert_eq!(
        get_as(&app, "/kios", &kiosk).await.status,
        StatusCode::FORBIDDEN
    );
    let again = post_form(
        &app,
        &end,
        &hr2,
        &[("csrf", "csrf-pledges"), ("confirm", "ya")],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    let events = app
        .store()
        .audit_events(Some(s.instansi_id), i64::MAX, 100)
        .await
        .expect("audit");
    let actions: Vec<_> = events
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert!(
        actions.contains(&("kiosk.start", "user:hr-kios")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("kiosk.end", "user:hr-kios-2")),
        "{actions:?}"
    );

    // An auditor reads the list but has no start form.
    let auditor = session_as(&app, Some(s.instansi_id), "auditor-kios", Role::Auditor).await;
    let read = get_as(&app, &kios_page, &auditor).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(!read.text().contains("id=\"start-form\""));
}

#[tokio::test]
async fn expired_sessions_and_finished_kiosks_are_purged_and_live_ones_kept() {
    let app = TestApp::new().await;
    let s = seed(app.store()).await;
    let store = app.store();
    let now = chrono::Utc::now().timestamp();
    let user = store
        .add_user(
            Some(s.instansi_id),
            "hr-purge",
            Role::Hr,
            &ikrar::domain::account::hash_password("kata-sandi-uji-1"),
            now,
        )
        .await
        .expect("user");
    let sha = |v: &str| ikrar::domain::statement::sha256(v.as_bytes());
    store
        .create_session(&sha("expired"), user, "c1", now - 7200, now - 1)
        .await
        .expect("session");
    store
        .create_session(&sha("live"), user, "c2", now, now + 3600)
        .await
        .expect("session");

    let closed = store
        .create_campaign(
            &NewCampaign {
                instansi_id: s.instansi_id,
                template_no: 1,
                title: "Sudah lewat".into(),
                place: "Surakarta".into(),
                opens_at: now - 7200,
                closes_at: now - 60,
                mark_enabled: false,
                screen_enabled: false,
                public_enabled: false,
                unit_ids: Vec::new(),
            },
            now - 7200,
        )
        .await
        .expect("campaign");
    let kiosk = |campaign_id: i64, secret: &'static str| NewKiosk {
        campaign_id,
        label: secret,
        secret_hash: sha(secret),
        started_by: "user:hr-purge",
        started_at: now - 3 * 86_400,
        expires_at: now + 3600,
    };
    store
        .create_kiosk(&kiosk(closed, "of-a-closed-campaign"))
        .await
        .expect("kiosk");
    let ended_long_ago = store
        .create_kiosk(&kiosk(s.campaign_id, "ended-long-ago"))
        .await
        .expect("kiosk");
    assert!(
        store
            .end_kiosk(
                s.campaign_id,
                ended_long_ago,
                "user:hr-purge",
                now - 2 * 86_400
            )
            .await
            .expect("end")
    );
    let ended_now = store
        .create_kiosk(&kiosk(s.campaign_id, "ended-just-now"))
        .await
        .expect("kiosk");
    assert!(
        store
            .end_kiosk(s.campaign_id, ended_now, "user:hr-purge", now)
            .await
            .expect("end")
    );
    store
        .create_kiosk(&kiosk(s.campaign_id, "live"))
        .await
        .expect("kiosk");

    // Signers signed in with SSO: one session expired, one live.
    for (id, expires_at) in [("signer-old", now - 1), ("signer-live", now + 3600)] {
        store
            .create_signer_session(&ikrar::store::NewSignerSession {
                id_hash: &sha(id),
                nip: "198503302010011001",
                subject: "sub-1",
                csrf: "csrf",
                now: now - 7200,
                expires_at,
            })
            .await
            .expect("signer session");
    }

    let purged = store.purge_expired(now).await.expect("purge");
    assert_eq!(purged.sessions, 1);
    assert_eq!(purged.kiosks, 2);
    assert_eq!(purged.signer_sessions, 1);
    assert!(
        store
            .signer_session(&sha("signer-live"), now)
            .await
            .expect("signer session")
            .is_some()
    );
    // What is left is what can still be used (or HR still reads in the list).
    assert!(
        store
            .session(&sha("live"), now)
            .await
            .expect("session")
            .is_some()
    );
    let left: Vec<String> = store
        .kiosks(s.campaign_id)
        .await
        .expect("kiosks")
        .into_iter()
        .map(|k| k.label)
        .collect();
    assert_eq!(left, ["live", "ended-just-now"]);
    assert!(
        store
            .live_kiosk(&sha("live"), now)
            .await
            .expect("kiosk")
            .is_some()
    );
    assert!(store.kiosks(closed).await.expect("kiosks").is_empty());
    // Nothing is left to purge: the rows are gone, not merely hidden.
    assert_eq!(
        store.purge_expired(now).await.expect("purge"),
        Default::default()
    );
}
