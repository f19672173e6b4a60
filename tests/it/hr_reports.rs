//! HR reports and corrections: compliance as JSON, CSV and XLSX agree; annulment is logged,
//! shown and lets the employee sign again; QR slips decode to working links; XLSX rosters
//! with NIPs stored as numbers are refused.

use std::process::Command;

use axum::http::{Method, StatusCode};
use calamine::{Data, Reader};
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn compliance_json_csv_and_xlsx_agree_per_unit_and_in_total() {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let hr = hr_token(&app, a.instansi_id).await;
    for i in 0..25 {
        let (_, token) = a.token_of_kind("PNS", i);
        assert_eq!(app.sign(token, "Budi").await.status, StatusCode::CREATED);
    }
    let path = format!("/api/v1/campaigns/{}/compliance", a.campaign_id);
    let j = app.call(Method::GET, &path, &hr, None).await.json();
    assert_eq!(j["totals"]["target"], 500);
    assert_eq!(j["totals"]["signed"], 25);
    assert!((j["totals"]["rate"].as_f64().expect("rate") - 0.05).abs() < 1e-9);
    let units = j["units"].as_array().expect("units");
    let sum_target: u64 = units
        .iter()
        .filter(|u| u["parent_id"].is_null())
        .map(|u| u["target"].as_u64().expect("n"))
        .sum();
    assert_eq!(sum_target, 500, "roots add up to the total");

    let res = app
        .call(Method::GET, &format!("{path}?format=xlsx"), &hr, None)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(res.body)).expect("xlsx opens");
    let sheet = book.worksheet_range("Per unit").expect("per-unit sheet");
    let mut seen = 0;
    let mut total = None;
    for row in sheet.rows().skip(1) {
        let num = |c: usize| match &row[c] {
            Data::Float(f) => *f,
            Data::Int(i) => *i as f64,
            other => panic!("column {c} is a number, not {other:?}"),
        };
        if row[1] == "TOTAL" {
            total = Some((num(3), num(4)));
            continue;
        }
        let id = num(0) as i64;
        let unit = units.iter().find(|u| u["id"] == id).expect("unit in JSON");
        assert_eq!(
            num(3) as u64,
            unit["target"].as_u64().expect("n"),
            "target of {id}"
        );
        assert_eq!(
            num(4) as u64,
            unit["signed"].as_u64().expect("n"),
            "signed of {id}"
        );
        assert!((num(6) - unit["rate"].as_f64().expect("rate")).abs() < 1e-9);
        seen += 1;
    }
    assert_eq!(seen, units.len());
    assert_eq!(total, Some((500.0, 25.0)));
    let unsigned = book
        .worksheet_range("Belum menandatangani")
        .expect("unsigned sheet");
    assert_eq!(unsigned.rows().count() - 1, 475);

    let csv = app
        .call(Method::GET, &format!("{path}?format=csv"), &hr, None)
        .await
        .text();
    assert!(csv.lines().count() > units.len());

    let page = app
        .call(
            Method::GET,
            &format!("/api/v1/campaigns/{}/unsigned?page=1", a.campaign_id),
            &hr,
            None,
        )
        .await
        .json();
    assert_eq!(page["unsigned"].as_array().expect("list").len(), 100);

    // A page far past the end, even past what an offset can hold, is an empty page.
    for far in ["6", "92233720368547760", &i64::MAX.to_string()] {
        let res = app
            .call(
                Method::GET,
                &format!("/api/v1/campaigns/{}/unsigned?page={far}", a.campaign_id),
                &hr,
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "page {far}: {}", res.text());
        assert_eq!(res.json()["unsigned"], json!([]), "page {far}");
    }
}

#[tokio::test]
async fn an_annulled_pledge_still_verifies_is_reported_annulled_and_can_be_signed_again() {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let admin = user_with_token(
        app.store(),
        Some(a.instansi_id),
        "admin",
        "admin",
        "kata-sandi-adm-1",
    )
    .await;
    let hr = hr_token(&app, a.instansi_id).await;
    let (nip, token) = a.token_of_kind("PNS", 0);
    let signed = app.sign(token, "Budi").await.json();
    let pledge_id = signed["pledge_id"].as_i64().expect("id");
    let record = signed["record"].as_str().expect("record").to_string();
    let path = format!("/api/v1/pledges/{pledge_id}/annul");
    let body = json!({"category": "salah-orang", "reason": "Ditandatangani orang lain."});

    // HR may not annul; a bad category is refused.
    assert_eq!(
        app.call(Method::POST, &path, &hr, Some(&body)).await.status,
        StatusCode::FORBIDDEN
    );
    let bad = app
        .call(
            Method::POST,
            &path,
            &admin,
            Some(&json!({"category": "iseng", "reason": "x"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    let res = app.call(Method::POST, &path, &admin, Some(&body)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let annul = res.json();
    let text = annul["text"].as_str().expect("text");
    let leaf = ikrar::tlog::merkle::leaf_hash(
        &data_encoding::BASE32_NOPAD
            .decode(record.as_bytes())
            .expect("b32"),
    );
    assert!(
        text.contains(&format!(
            "pledge: {} sha256:{}",
            signed["log_index"],
            hex::encode(leaf)
        )),
        "{text}"
    );
    assert!(text.contains("category: salah-orang\n"));
    assert!(
        !text.contains("Ditandatangani orang lain"),
        "the reason is only hashed"
    );
    let again = app.call(Method::POST, &path, &admin, Some(&body)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // The pledge's record still verifies as signed, and is reported annulled.
    let keys = app.get("/api/v1/keys").await.json();
    verify_record_with_keys(&record, &keys).expect("still signed");
    let v = app.get(&format!("/api/v1/verify/{record}")).await.json();
    assert_eq!(v["valid"], true);
    assert_eq!(v["annulled"], true);
    assert_eq!(v["pledge"]["annul_category"], "salah-orang");
    assert!(
        v["pledge"].get("annul_reason").is_none(),
        "the reason is for HR only"
    );
    let page = app.get(&format!("/v/{record}")).await.text();
    assert!(page.contains("DIBATALKAN"));
    // The annulment record verifies too, and is in the log.
    let annul_record = annul["record"].as_str().expect("record");
    verify_record_with_keys(annul_record, &keys).expect("annulment signed");
    let va = app
        .get(&format!("/api/v1/verify/{annul_record}"))
        .await
        .json();
    assert_eq!(va["valid"], true, "{va}");
    assert_eq!(va["record"]["format"], 2);
    assert_eq!(va["annulment"]["text"], text);
    // The lookup says so as well.
    let l = app.get(&format!("/api/v1/lookup?nip={nip}")).await.json();
    assert_eq!(l["pledges"][0]["annulled"], true);

    // The old link is revoked; a new invitation lets the employee sign again.
    assert_eq!(app.sign(token, "Budi").await.status, StatusCode::GONE);
    let csv = app
        .call(
            Method::POST,
            &format!("/api/v1/campaigns/{}/invitations", a.campaign_id),
            &hr,
            Some(&json!({"nip": nip})),
        )
        .await
        .text();
    let link = csv
        .lines()
        .nth(1)
        .expect("a new link")
        .rsplit(',')
        .next()
        .expect("link")
        .to_string();
    let new_token = link.rsplit('/').next().expect("token");
    let second = app.sign(new_token, "Budi Santoso").await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text());
    assert_ne!(second.json()["record"], signed["record"]);
}

fn zbar(png: &std::path::Path) -> Vec<String> {
    let out = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(png)
        .output()
        .expect("zbarimg (Debian zbar-tools) is installed: scripts/install-test-deps.sh");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_slips_decode_to_working_signing_links() {
    let (app, base) = spawn_server().await;
    let a = seed(app.store()).await;
    let hr = hr_token(&app, a.instansi_id).await;
    let http = reqwest::Client::new();
    // Reissue for ten people, as slips.
    let mut expected = Vec::new();
    let mut pdf_pages = Vec::new();
    for (nip, _, _) in a.invites.iter().take(10) {
        let res = http
            .post(format!(
                "{base}/api/v1/campaigns/{}/invitations",
                a.campaign_id
            ))
            .bearer_auth(&hr)
            .json(&json!({"reissue": true, "nip": nip, "format": "slips"}))
            .send()
            .await
            .expect("slips");
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/pdf");
        pdf_pages.push(res.bytes().await.expect("pdf"));
        expected.push(nip.clone());
    }
    let dir = tempfile::tempdir().expect("dir");
    let mut decoded = Vec::new();
    for (i, pdf) in pdf_pages.iter().enumerate() {
        let file = dir.path().join(format!("s{i}.pdf"));
        std::fs::write(&file, pdf).expect("write");
        let status = Command::new("pdftoppm")
            .args(["-r", "150", "-png"])
            .arg(&file)
            .arg(dir.path().join(format!("s{i}")))
            .status()
            .expect("pdftoppm (Debian poppler-utils) is installed");
        assert!(status.success());
        decoded.extend(zbar(&dir.path().join(format!("s{i}-1.png"))));
    }
    assert_eq!(decoded.len(), 10);
    for text in &decoded {
        assert!(text.starts_with(&base.to_ascii_uppercase()), "{text}");
        let page = http.get(text).send().await.expect("link opens");
        assert_eq!(page.status(), 200, "{text}");
        assert!(page.text().await.expect("html").contains("Tandatangani"));
    }
}

#[tokio::test]
async fn an_xlsx_roster_with_nips_stored_as_numbers_is_refused_saying_so() {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let hr = hr_token(&app, a.instansi_id).await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["nip", "nama", "jenis", "unit", "jabatan"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).expect("write");
    }
    sheet
        .write_number(1, 0, 198503302010011001f64)
        .expect("write");
    sheet
        .write_string(2, 0, "198503302010011002")
        .expect("write");
    for r in 1..=2u32 {
        sheet.write_string(r, 1, "Budi").expect("write");
        sheet.write_string(r, 2, "PNS").expect("write");
        sheet.write_string(r, 3, "Inspektorat").expect("write");
    }
    let bytes = book.save_to_buffer().expect("xlsx");
    let res = app
        .upload(
            "/api/v1/roster",
            &hr,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            bytes,
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    let v: Value = res.json();
    let rows = v["error"]["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["line"], 2);
    assert_eq!(rows[0]["code"], "nip_excel_number");
    assert!(
        rows[0]["message"]
            .as_str()
            .expect("msg")
            .to_lowercase()
            .contains("teks")
    );
}
