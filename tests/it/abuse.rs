//! What a careless or hostile user can send through the front door, and what it may cost:
//! invisible format characters in names (SPEC 6), a flood of "data saya salah" reports
//! (at most 3 per token), and public counts that would single out a unit of one person.

use axum::http::{Method, StatusCode};
use ikrar::service::live::OTHERS_ID;
use ikrar::service::roster::{self, ImportOptions, Source};
use ikrar::store::{NewCampaign, NewInstansi};

use crate::support::*;

/// Characters that look like nothing, or reorder what is around them.
const INVISIBLE: [(&str, &str); 5] = [
    ("\u{200B}", "zero-width space"),
    ("\u{200D}", "zero-width joiner"),
    ("\u{202E}", "right-to-left override"),
    ("\u{2066}", "left-to-right isolate"),
    ("\u{FEFF}", "byte order mark inside a name"),
];

#[tokio::test]
async fn a_consent_name_with_a_format_character_is_refused_and_nothing_is_signed() {
    let app = TestApp::new().await;
    let s = seed(app.store()).await;
    let (_, token) = s.token_of_kind("PNS", 0);
    let name = "Budi Santoso";
    for (ch, what) in INVISIBLE {
        let consent = format!("Bu{ch}di Santoso");
        let res = app.sign(token, &consent).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        let err = &res.json()["error"];
        assert!(
            ["format_character", "control_character"].contains(&err["code"].as_str().unwrap_or("")),
            "{what}: {err}"
        );
        assert_eq!(err["field"], "consent_name", "{what}");
        assert!(
            err["message"]
                .as_str()
                .unwrap_or("")
                .contains("Teks mengandung"),
            "an Indonesian sentence: {err}"
        );
    }
    assert_eq!(app.store().log_head().await.expect("head").size, 0);
    // The same name typed plainly signs.
    assert_eq!(app.sign(token, name).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_roster_with_a_format_character_in_a_name_imports_nothing() {
    let app = TestApp::new().await;
    let s = seed(app.store()).await;
    let bearer = hr_token(&app, s.instansi_id).await;
    let before = app
        .store()
        .employees(s.instansi_id, "", 1000, 0)
        .await
        .expect("staff")
        .len();
    let csv = "nip,nama,jenis,unit,jabatan\n\
               198503302010011901,Budi Santoso,PNS,Dinas Uji,Analis\n\
               198503302010011902,Sri\u{200B} Rahayu,PNS,Dinas Uji,Analis\n\
               198503302010011903,Ahmad,PNS,Dinas\u{202E}ijU,Analis\n";
    let res = app
        .upload(
            "/api/v1/roster",
            &bearer,
            "text/csv",
            csv.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    let body = res.json();
    let text = body.to_string();
    assert!(text.contains("format_character"), "{text}");
    assert!(text.contains("U+200B") && text.contains("U+202E"), "{text}");
    let after = app
        .store()
        .employees(s.instansi_id, "", 1000, 0)
        .await
        .expect("staff")
        .len();
    assert_eq!(before, after, "a refused file imports nothing");
}

#[tokio::test]
async fn the_fourth_wrong_data_report_of_a_token_answers_429_and_is_not_recorded() {
    let app = TestApp::new().await;
    let s = seed(app.store()).await;
    let (_, token) = s.token_of_kind("PNS", 1);
    let report = |n: usize| {
        let path = format!("/s/{token}/lapor");
        let body = format!("note=laporan+ke-{n}").into_bytes();
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
    for n in 1..=3 {
        let res = report(n).await;
        assert_eq!(res.status, StatusCode::OK, "report {n}: {}", res.text());
    }
    for n in 4..=6 {
        let res = report(n).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "report {n}");
        assert!(res.headers.contains_key("retry-after"));
        assert!(
            res.text().contains("sudah dikirim 3 kali"),
            "{}",
            res.text()
        );
    }
    let events = app
        .store()
        .audit_events(Some(s.instansi_id), i64::MAX, 1000)
        .await
        .expect("audit");
    let reports: Vec<_> = events
        .iter()
        .filter(|e| e.action == "roster.report")
        .collect();
    assert_eq!(reports.len(), 3, "only the first three reach HR");
    assert!(reports.iter().all(|e| !e.summary.contains("laporan ke-4")));

    // Another token is counted on its own.
    let (_, other) = s.token_of_kind("PNS", 2);
    let res = app
        .request(
            Method::POST,
            &format!("/s/{other}/lapor"),
            Some(("application/x-www-form-urlencoded", b"note=x".to_vec())),
            &[],
            local(),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn the_ceremony_screen_pools_units_of_fewer_than_five_staff() {
    let app = TestApp::new().await;
    let now = chrono::Utc::now().timestamp();
    let store = app.store();
    let instansi_id = store
        .add_instansi(
            &NewInstansi {
                code: "kecil".into(),
                name: "Pemerintah Kabupaten Kecil".into(),
                place: "Kecil".into(),
                tz: ikrar::domain::instansi::TimeZone::Jakarta,
            },
            now,
        )
        .await
        .expect("instansi");
    let mut csv = String::from("nip,nama,jenis,unit,jabatan\n");
    let mut serial = 100;
    for (unit, staff) in [
        ("Dinas Besar", 8),
        ("Dinas Sedang", 6),
        ("Kantor Satu Orang", 1),
        ("Kantor Dua Orang", 2),
    ] {
        for _ in 0..staff {
            serial += 1;
            csv.push_str(&format!(
                "19850330201001{}{serial:03},Pegawai {serial},PNS,{unit},Analis\n",
                1 + serial % 2
            ));
        }
    }
    roster::import(
        store,
        instansi_id,
        Source::Bytes(csv.into_bytes()),
        ImportOptions::default(),
        "test",
    )
    .await
    .expect("import");
    let campaign = store
        .create_campaign(
            &NewCampaign {
                instansi_id,
                template_no: 2,
                title: "Pakta Integritas".into(),
                place: "Kecil".into(),
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
    store
        .issue_invitations(campaign, false, None, now, &ikrar::domain::token::mint)
        .await
        .expect("invitations");

    let html = app.get(&format!("/acara/{campaign}")).await.text();
    assert!(html.contains("Dinas Besar"), "{html}");
    // 1 + 2 staff pool to 3, still too few: the smallest shown unit (6) joins them.
    for hidden in ["Kantor Satu Orang", "Kantor Dua Orang", "Dinas Sedang"] {
        assert!(!html.contains(hidden), "{hidden} is not shown alone");
    }
    assert!(html.contains("Unit lainnya (3 unit)"), "{html}");
    assert!(
        html.contains(&format!("data-unit=\"{OTHERS_ID}\"")),
        "{html}"
    );
    assert!(html.contains("id=\"target\">17<"), "{html}");
}
