//! `/transparansi` (SPEC 4.3): campaigns HR marked public, with per-unit counts rolled up
//! the tree that move after a sign; units under 5 targets pooled; never a name or a NIP;
//! campaigns not marked public are not there.

use axum::http::StatusCode;
use ikrar::store::NewCampaign;

use crate::support::*;

/// The table rows of the page: (unit, signed, target).
fn rows(page: &str) -> Vec<(String, u64, u64)> {
    let body = page
        .split("<tbody>")
        .nth(1)
        .and_then(|b| b.split("</tbody>").next())
        .unwrap_or_default();
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            let cells: Vec<String> = row
                .split("<td")
                .skip(1)
                .map(|c| {
                    let c = &c[c.find('>').expect("td") + 1..];
                    c[..c.find("</td>").expect("/td")].to_string()
                })
                .collect();
            let n = |s: &str| s.replace('.', "").parse::<u64>().expect("count");
            (cells[0].clone(), n(&cells[1]), n(&cells[2]))
        })
        .collect()
}

fn total(page: &str) -> (u64, u64) {
    let t = page
        .split("<p class=\"transparansi-total\"><strong>")
        .nth(1)
        .expect("total");
    let signed = t[..t.find("</strong>").expect("strong")].replace('.', "");
    let target = t
        .split(" dari ")
        .nth(1)
        .expect("dari")
        .split(' ')
        .next()
        .expect("n");
    (
        signed.parse().expect("signed"),
        target.replace('.', "").parse().expect("target"),
    )
}

#[tokio::test]
async fn public_campaigns_show_pooled_unit_counts_that_move_and_nothing_personal() {
    let app = TestApp::new().await;
    let seeded = seed(app.store()).await;
    // The seeded campaign is not public: not listed, 404.
    let list = app.get("/transparansi").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        !list
            .text()
            .contains(&format!("/transparansi/{}", seeded.campaign_id))
    );
    assert_eq!(
        app.get(&format!("/transparansi/{}", seeded.campaign_id))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // A unit of three people, which must never be shown on its own.
    let now = chrono::Utc::now().timestamp();
    let small = "nip,nama,jenis,unit,jabatan\n\
        199001012015011001,Sari Wulandari,PNS,Unit Kecil Sekali,Analis\n\
        199001022015012002,Rina Kartika,PNS,Unit Kecil Sekali,Analis\n\
        199001032015011003,Joko Susilo,PNS,Unit Kecil Sekali,Analis\n";
    let staff: Vec<_> = ikrar::formats::roster::RosterReader::new(
        small.as_bytes(),
        chrono::Utc::now().date_naive(),
    )
    .expect("header")
    .map(|r| r.expect("valid rows"))
    .collect();
    app.store()
        .import_roster(seeded.instansi_id, &staff, false, now)
        .await
        .expect("import");
    let id = app
        .store()
        .create_campaign(
            &NewCampaign {
                instansi_id: seeded.instansi_id,
                template_no: 1,
                title: "Ikrar Netralitas — terbuka untuk publik".into(),
                place: "Surakarta".into(),
                opens_at: now - 60,
                closes_at: now + 3600,
                mark_enabled: false,
                screen_enabled: false,
                public_enabled: true,
                unit_ids: Vec::new(),
            },
            now,
        )
        .await
        .expect("campaign");
    let issued = app
        .store()
        .issue_invitations(id, false, None, now, &ikrar::domain::token::mint)
        .await
        .expect("invitations");
    let list = app.get("/transparansi").await.text();
    assert!(list.contains(&format!("/transparansi/{id}")), "{list}");

    let page = app.get(&format!("/transparansi/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let before = page.text();
    let (signed, target) = total(&before);
    assert_eq!((signed, target), (0, issued.len() as u64));
    let lines = rows(&before);
    assert!(!lines.is_empty());
    // The roster has units under 5 targets; none is shown alone, no line is that small.
    let counts = app.store().compliance_counts(id).await.expect("counts");
    assert!(
        counts.iter().any(|c| c.target > 0 && c.target < 5),
        "the fixture has small units"
    );
    for (name, _, target) in &lines {
        assert!(*target >= 5, "a line of {target}: {name}");
    }

    // Sign one: the total and that person's lines move.
    let (_, token) = &issued[0];
    assert_eq!(app.sign(token, "Peserta").await.status, StatusCode::CREATED);
    let after = app.get(&format!("/transparansi/{id}")).await.text();
    assert_eq!(total(&after), (1, target));
    assert_eq!(rows(&after).iter().map(|r| r.1).max(), Some(1));

    // Counts only: no NIP, no staff number, no name of the roster.
    for (number, _, _) in seeded.invites.iter() {
        assert!(!after.contains(number.as_str()), "{number} on the page");
    }
    assert!(
        !after.contains("Unit Kecil Sekali"),
        "a unit of 3 shown by name"
    );
    for name in ["Sari Wulandari", "Rina Kartika", "Joko Susilo"] {
        assert!(!after.contains(name));
    }
    let names: Vec<String> = ROSTER
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1).map(|n| n.trim_matches('"').to_string()))
        .filter(|n| n.len() > 6)
        .collect();
    assert!(!names.is_empty());
    for name in names {
        assert!(!after.contains(&name), "{name} on the page");
    }
    let digits18 = after
        .as_bytes()
        .windows(18)
        .any(|w| w.iter().all(u8::is_ascii_digit));
    assert!(!digits18, "an 18-digit number on the page");
}
