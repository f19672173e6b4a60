//! The signing spine over HTTP, in process, on the engine under test.

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

async fn keys(app: &TestApp) -> Value {
    let res = app.get("/api/v1/keys").await;
    assert_eq!(res.status, StatusCode::OK);
    res.json()
}

#[tokio::test]
async fn sign_answers_a_record_that_verifies_independently_and_is_in_the_log() {
    let app = TestApp::new().await;
    let seeded = seed(app.store()).await;
    let keys = keys(&app).await;
    let names: HashSet<&str> = keys["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        HashSet::from(["ikrar.surakarta.test/pledge", "ikrar.surakarta.test/log"])
    );

    let mut previous: Option<(u64, [u8; 32])> = None;
    for (i, kind) in ["PNS", "PPPK", "NON_ASN"].iter().enumerate() {
        let (number, token) = seeded.token_of_kind(kind, 0);
        let res = app.sign(token, "Budi Santoso").await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        let body = res.json();
        let record = body["record"].as_str().expect("record");
        let bytes = verify_record_with_keys(record, &keys).expect("record verifies");
        assert_eq!(body["log_index"], i as u64);
        assert_eq!(
            body["qr_text"],
            format!("HTTPS://IKRAR.SURAKARTA.TEST/V/{record}")
        );
        assert_eq!(
            body["verify_url"],
            format!("https://ikrar.surakarta.test/v/{record}")
        );
        assert!(
            body["receipt_url"]
                .as_str()
                .expect("receipt url")
                .starts_with("https://ikrar.surakarta.test/s/")
        );
        let statement = body["statement"].as_str().expect("statement");
        let expected_nip = if *kind == "NON_ASN" {
            format!("nip: staff:{number}\n")
        } else {
            format!("nip: {number}\n")
        };
        assert!(statement.contains(&expected_nip), "{statement}");
        assert!(statement.contains("consent: Budi Santoso\n"));
        let statement_hash = ikrar::domain::statement::sha256(statement.as_bytes());
        assert_eq!(&bytes[25..41], &statement_hash[..16]);

        // The record's leaf is included in the checkpoint that came with the answer.
        let (size, root) = open_checkpoint(body["checkpoint"].as_str().expect("cp"), &keys);
        assert_eq!(size, i as u64 + 1);
        let proof = app
            .get(&format!("/api/v1/log/inclusion?index={i}&size={size}"))
            .await
            .json();
        let leaf = ikrar::tlog::merkle::leaf_hash(&bytes);
        ikrar::tlog::merkle::verify_inclusion(
            &leaf,
            i as u64,
            size,
            &b64_hashes(&proof["hashes"]),
            &root,
        )
        .expect("inclusion proof verifies");

        // Consecutive checkpoints are consistent.
        if let Some((old, old_root)) = previous {
            let proof = app
                .get(&format!("/api/v1/log/consistency?old={old}&new={size}"))
                .await
                .json();
            ikrar::tlog::merkle::verify_consistency(
                old,
                size,
                &b64_hashes(&proof["hashes"]),
                &old_root,
                &root,
            )
            .expect("consistency proof verifies");
        }
        previous = Some((size, root));

        let v = app.get(&format!("/api/v1/verify/{record}")).await;
        assert_eq!(v.status, StatusCode::OK);
        let v = v.json();
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["annulled"], false);
        assert_eq!(v["record"]["log_index"], i as u64);
        let (_, vroot) = open_checkpoint(v["checkpoint"].as_str().expect("cp"), &keys);
        ikrar::tlog::merkle::verify_inclusion(
            &leaf,
            i as u64,
            v["inclusion"]["tree_size"].as_u64().expect("size"),
            &b64_hashes(&v["inclusion"]["hashes"]),
            &vroot,
        )
        .expect("verify's inclusion proof verifies");
        assert!(v["pledge"].get("mark").is_none());
        assert!(v["pledge"].get("client_ip").is_none());
        if *kind == "NON_ASN" {
            assert!(v["pledge"].get("statement").is_none());
            assert_ne!(v["pledge"]["nip"], number, "staff numbers are masked");
        } else {
            assert_eq!(v["pledge"]["statement"], statement);
        }
    }
}

#[tokio::test]
async fn repeated_and_racing_signs_make_one_pledge() {
    let app = TestApp::new().await;
    let seeded = seed(app.store()).await;
    let (_, token) = seeded.token_of_kind("PNS", 3);

    let first = app.sign(token, "Budi").await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = app.sign(token, "Budi").await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(first.json()["record"], again.json()["record"]);

    // Twenty concurrent taps of another person's submit button.
    let (_, token2) = seeded.token_of_kind("PNS", 4);
    let answers = futures_join(&app, token2, 20).await;
    let records: HashSet<String> = answers
        .iter()
        .map(|(_, v)| v["record"].as_str().expect("record").to_string())
        .collect();
    assert_eq!(records.len(), 1, "every answer carries the same record");
    let created = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1);
    assert!(
        answers
            .iter()
            .all(|(s, _)| *s == StatusCode::CREATED || *s == StatusCode::OK)
    );
    assert_eq!(app.store().log_head().await.expect("head").size, 2);
}

async fn futures_join(app: &TestApp, token: &str, n: usize) -> Vec<(StatusCode, Value)> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let router = app.router.clone();
        let token = token.to_string();
        set.spawn(async move {
            use http_body_util::BodyExt;
            use tower::ServiceExt;
            let mut req = axum::http::Request::post("/api/v1/sign")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(
                    json!({"token": token, "consent_name": "Sri"}).to_string(),
                ))
                .expect("request");
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                    [10, 0, 0, 1],
                    1234,
                ))));
            let res = router.oneshot(req).await.expect("infallible");
            let status = res.status();
            let body = res.into_body().collect().await.expect("body").to_bytes();
            (
                status,
                serde_json::from_slice::<Value>(&body).expect("json"),
            )
        });
    }
    set.join_all().await
}

#[tokio::test]
async fn bad_requests_get_the_error_shape_and_status() {
    let app = TestApp::new().await;
    let seeded = seed(app.store()).await;

    let unknown = app.sign("AAAAAAAAAAAAAAAAAAAAAAAAAA", "Budi").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_code(), "token_unknown");
    assert!(
        !unknown.json()["error"]["message"]
            .as_str()
            .expect("msg")
            .is_empty()
    );

    let (number, token) = seeded.token_of_kind("PNS", 5);
    let empty = app.sign(token, "   ").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.json()["error"]["field"], "consent_name");

    let bad_mark = app
        .post_json(
            "/api/v1/sign",
            &json!({"token": token, "consent_name": "Budi", "mark_svg": "<svg onload=x>"}),
        )
        .await;
    assert_eq!(bad_mark.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_mark.json()["error"]["field"], "mark_svg");

    let malformed = app
        .request(
            Method::POST,
            "/api/v1/sign",
            Some(("application/json", b"{\"token\": ".to_vec())),
            &[],
            local(),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.error_code(), "json_invalid");

    let huge = json!({"token": token, "consent_name": "x".repeat(70 * 1024)});
    let too_big = app.post_json("/api/v1/sign", &huge).await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_big.error_code(), "body_too_large");

    // Reissuing revokes the old link: it answers 410.
    app.store()
        .issue_invitations(
            seeded.campaign_id,
            true,
            Some(number),
            chrono::Utc::now().timestamp(),
            &ikrar::domain::token::mint,
        )
        .await
        .expect("reissue");
    let revoked = app.sign(token, "Budi").await;
    assert_eq!(revoked.status, StatusCode::GONE);
    assert_eq!(revoked.error_code(), "token_revoked");

    // A closed campaign answers 410 to new signatures, but still shows a made pledge.
    let (_, signed_token) = seeded.token_of_kind("PNS", 6);
    assert_eq!(
        app.sign(signed_token, "Budi").await.status,
        StatusCode::CREATED
    );
    let (_, unsigned_token) = seeded.token_of_kind("PNS", 7);
    app.store()
        .close_campaign(seeded.campaign_id, chrono::Utc::now().timestamp())
        .await
        .expect("close");
    let closed = app.sign(unsigned_token, "Budi").await;
    assert_eq!(closed.status, StatusCode::GONE);
    assert_eq!(closed.error_code(), "campaign_closed");
    assert_eq!(app.sign(signed_token, "Budi").await.status, StatusCode::OK);

    for bad in ["not-a-record!", "AAAA"] {
        let res = app.get(&format!("/api/v1/verify/{bad}")).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(res.error_code(), "record_malformed");
    }
    let res = app.get("/api/v1/log/inclusion?index=5&size=2").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let res = app.get("/api/v1/log/inclusion?index=x").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let res = app.get("/no/such/page").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.error_code(), "not_found");
}

#[tokio::test]
async fn a_flipped_byte_makes_a_record_invalid() {
    let app = TestApp::new().await;
    let seeded = seed(app.store()).await;
    let (_, token) = seeded.token_of_kind("PNS", 0);
    let record = app.sign(token, "Budi").await.json()["record"]
        .as_str()
        .expect("record")
        .to_string();
    let mut bytes = data_encoding::BASE32_NOPAD
        .decode(record.as_bytes())
        .expect("base32");
    for at in [0usize, 7, 30, 45, bytes.len() - 1] {
        bytes[at] ^= 0x04;
        let flipped = data_encoding::BASE32_NOPAD.encode(&bytes);
        bytes[at] ^= 0x04;
        let v = app.get(&format!("/api/v1/verify/{flipped}")).await;
        assert_eq!(v.status, StatusCode::OK);
        let v = v.json();
        assert_eq!(v["valid"], false, "byte {at}: {v}");
        assert!(v["reason"].as_str().is_some_and(|r| !r.is_empty()));
        assert!(v.get("pledge").is_none() && v.get("inclusion").is_none());
    }
    // The page says the same, for a person.
    let page = app
        .get(&format!("/V/{}", record.to_ascii_lowercase()))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Ikrar SAH"));
    // The signing time in Indonesian with the instansi's zone (Surakarta: WIB), as
    // `29 November 2026 pukul 08.15 WIB`, never a machine timestamp.
    let text = page.text();
    let signed = text
        .split("<th>Ditandatangani</th><td>")
        .nth(1)
        .and_then(|rest| rest.split("</td>").next())
        .expect("the signing time row");
    let bulan = [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ];
    let words: Vec<&str> = signed.split(' ').collect();
    assert_eq!(words.len(), 6, "{signed}");
    assert!(
        words[0].parse::<u8>().is_ok_and(|d| (1..=31).contains(&d)),
        "{signed}"
    );
    assert!(bulan.contains(&words[1]), "{signed}");
    assert!(
        words[2].len() == 4 && words[2].parse::<u16>().is_ok(),
        "{signed}"
    );
    assert_eq!(words[3], "pukul", "{signed}");
    let hm: Vec<&str> = words[4].split('.').collect();
    assert!(hm.len() == 2 && hm.iter().all(|p| p.len() == 2), "{signed}");
    assert_eq!(words[5], "WIB", "{signed}");
    bytes[50] ^= 1;
    let page = app
        .get(&format!(
            "/v/{}",
            data_encoding::BASE32_NOPAD.encode(&bytes)
        ))
        .await;
    assert!(page.text().contains("TIDAK SAH"));
    let csp = page.headers["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(!csp.contains("unsafe-inline"));
}

#[tokio::test]
async fn lookup_discloses_only_what_spec_6_allows() {
    let app = TestApp::new().await;
    let seeded = seed(app.store()).await;
    let (nip, token) = seeded.token_of_kind("PNS", 1);
    let (unsigned_nip, _) = seeded.token_of_kind("PNS", 2);
    let (staff, staff_token) = seeded.token_of_kind("NON_ASN", 0);
    assert_eq!(app.sign(token, "Budi").await.status, StatusCode::CREATED);
    assert_eq!(
        app.sign(staff_token, "Budi").await.status,
        StatusCode::CREATED
    );

    let res = app.get(&format!("/api/v1/lookup?nip={nip}")).await;
    assert_eq!(res.status, StatusCode::OK);
    let v = res.json();
    let pledges = v["pledges"].as_array().expect("list");
    assert_eq!(pledges.len(), 1);
    let keys: HashSet<&str> = pledges[0]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from([
            "template",
            "template_title",
            "campaign",
            "instansi",
            "signed_on",
            "name_masked",
            "log_index",
            "annulled"
        ])
    );
    assert_eq!(pledges[0]["template"], "ikrar-netralitas-2024@1");
    assert!(
        pledges[0]["name_masked"]
            .as_str()
            .expect("masked")
            .contains('*')
    );
    assert_eq!(pledges[0]["signed_on"].as_str().expect("date").len(), 10);
    assert_eq!(v.as_object().expect("object").len(), 1);

    // Unknown NIP and NIP without a pledge: the same answer.
    let unknown = app.get("/api/v1/lookup?nip=198001012005011001").await;
    let unsigned = app.get(&format!("/api/v1/lookup?nip={unsigned_nip}")).await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(unknown.body, unsigned.body);
    assert_eq!(unknown.json(), json!({"pledges": []}));

    // Non-ASN staff never appear, even by their staff number.
    let res = app
        .get(&format!("/api/v1/lookup?nip={}", urlencode(staff)))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
}

fn urlencode(s: &str) -> String {
    s.replace('/', "%2F")
}

#[tokio::test]
async fn each_malformed_nip_has_its_own_code() {
    let app = TestApp::new().await;
    let cases = [
        ("1985033020100110", "nip_length"),
        ("198503302010011X01", "nip_not_digits"),
        ("198502302010011001", "nip_birth_date"),
        ("198503302010131001", "nip_tmt_month"),
        ("198503301995011001", "nip_appointment_too_early"),
        ("198503302010013001", "nip_gender"),
        ("198503302010011000", "nip_serial"),
        ("198503302010311001", "nip_kind_digit"),
        ("198503302099011001", "nip_appointment_future"),
    ];
    let mut seen = HashSet::new();
    for (i, (nip, code)) in cases.iter().enumerate() {
        let client = std::net::IpAddr::from([192, 0, 2, i as u8]);
        let res = app
            .get_from(&format!("/api/v1/lookup?nip={nip}"), client)
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{nip}");
        let v = res.json();
        assert_eq!(v["error"]["code"], *code, "{nip}: {v}");
        assert_eq!(v["error"]["field"], "nip");
        seen.insert(v["error"]["message"].as_str().expect("message").to_string());
    }
    assert_eq!(seen.len(), cases.len(), "each failure has its own message");
}

#[tokio::test]
async fn the_21st_lookup_in_a_minute_is_refused_per_address() {
    let app = TestApp::new().await;
    let a = std::net::IpAddr::from([198, 51, 100, 1]);
    for _ in 0..20 {
        let res = app
            .get_from("/api/v1/lookup?nip=198001012005011001", a)
            .await;
        assert_eq!(res.status, StatusCode::OK);
    }
    let res = app
        .get_from("/api/v1/lookup?nip=198001012005011001", a)
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers.get("retry-after").is_some());
    assert_eq!(res.error_code(), "rate_limited");
    // Another address, and another IPv6 /64, are counted apart; the same /64 is not.
    let b = std::net::IpAddr::from([198, 51, 100, 2]);
    assert_eq!(
        app.get_from("/api/v1/lookup?nip=198001012005011001", b)
            .await
            .status,
        StatusCode::OK
    );
    let v6a: std::net::IpAddr = "2001:db8:0:1::1".parse().expect("ip");
    let v6b: std::net::IpAddr = "2001:db8:0:1::2".parse().expect("ip");
    for _ in 0..20 {
        app.get_from("/api/v1/lookup?nip=198001012005011001", v6a)
            .await;
    }
    assert_eq!(
        app.get_from("/api/v1/lookup?nip=198001012005011001", v6b)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn signing_is_never_limited_per_address() {
    let app = TestApp::new().await;
    let seeded = seed(app.store()).await;
    for i in 0..30 {
        let (_, token) = seeded.token_of_kind("PNS", i);
        assert_eq!(app.sign(token, "Budi").await.status, StatusCode::CREATED);
    }
}

#[tokio::test]
async fn templates_and_checkpoint_are_public() {
    let app = TestApp::new().await;
    let t = app.get("/api/v1/templates").await.json();
    let list = t["templates"].as_array().expect("list");
    assert_eq!(list[0]["number"], 1);
    assert_eq!(
        list[0]["sha256"],
        "2a9575efff73ceadb688caf684912d2c5607229f76d5ad36144b4f12f5a86379"
    );
    assert_eq!(list[1]["code"], "pakta-integritas");
    let keys = app.get("/api/v1/keys").await.json();
    let cp = app.get("/log/checkpoint").await;
    assert_eq!(cp.status, StatusCode::OK);
    let (size, root) = open_checkpoint(&cp.text(), &keys);
    assert_eq!(size, 0);
    assert_eq!(root, ikrar::tlog::merkle::empty_root());
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
}
