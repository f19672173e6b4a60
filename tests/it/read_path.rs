//! The public read path keeps keys, checkpoints, node hashes and checked signatures in
//! memory per instance (issue 12), but never what can change under it: an annulment made on
//! one instance shows at once in verify and lookup on another whose caches are warm, and a
//! pledge made on another instance verifies at once.

use axum::http::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instances_annulment_and_pledges_show_at_once() {
    let db = TestDb::new().await;
    let a = TestApp::with_settings(db.shared(), settings()).await;
    let b = TestApp::with_settings(db.shared(), settings()).await;
    let seeded = seed(a.store()).await;
    let (nip, _, token) = seeded.invites[0].clone();
    let signed = a.sign(&token, "Peserta").await;
    assert_eq!(signed.status.as_u16(), 201, "{}", signed.text());
    let record = signed.json()["record"].as_str().expect("record").to_owned();
    let pledge_id = signed.json()["pledge_id"].as_i64().expect("id");

    // B warms its caches on the record, twice.
    for _ in 0..2 {
        let v = b.get(&format!("/api/v1/verify/{record}")).await.json();
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["annulled"], false);
    }
    let admin = user_with_token(
        a.store(),
        Some(seeded.instansi_id),
        "admin",
        "admin",
        "kata-sandi-adm-1",
    )
    .await;
    let res = a
        .call(
            Method::POST,
            &format!("/api/v1/pledges/{pledge_id}/annul"),
            &admin,
            Some(&json!({"category": "ganda", "reason": "tercatat dua kali"})),
        )
        .await;
    assert!(res.status.is_success(), "{}", res.text());
    let v = b.get(&format!("/api/v1/verify/{record}")).await.json();
    assert_eq!(v["valid"], true);
    assert_eq!(v["annulled"], true, "B answered from a cache: {v}");
    if nip.len() == 18 {
        let found = b.get(&format!("/api/v1/lookup?nip={nip}")).await.json();
        assert_eq!(found["pledges"][0]["annulled"], true, "{found}");
    }
    // The annulment record itself, appended on A, verifies on B although B's cached
    // checkpoint does not cover it.
    let annulment = res.json()["record"].as_str().expect("record").to_owned();
    let v = b.get(&format!("/api/v1/verify/{annulment}")).await.json();
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["inclusion"]["tree_size"], 2, "{v}");

    // A pledge signed on A verifies on B at once.
    let other = a.sign(&seeded.invites[1].2, "Peserta").await;
    let record = other.json()["record"].as_str().expect("record").to_owned();
    let v = b.get(&format!("/api/v1/verify/{record}")).await.json();
    assert_eq!(v["valid"], true, "{v}");
}
