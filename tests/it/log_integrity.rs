//! The log never forks: two app states on one database sign concurrently; a database behind
//! its checkpoint file refuses to sign.

use std::collections::HashSet;

use axum::http::StatusCode;
use ikrar::tlog::merkle::{ProofPlan, leaf_hash, verify_consistency, verify_inclusion};
use ikrar::tlog::note::{Checkpoint, Verifier, open};

use crate::support::*;

#[tokio::test]
async fn two_instances_on_one_database_never_fork_the_log() {
    let db = TestDb::new().await;
    let url = db.url.clone();
    let a = TestApp::with_settings(db, settings()).await;
    let b_store = ikrar::store::connect(&url).await.expect("second pool");
    let b = ikrar::startup::build_state(b_store, settings())
        .await
        .expect("second instance");
    let b_router = ikrar::http::router(b.clone());
    let seeded = seed(a.store()).await;

    let n = 120;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let (_, token) = seeded.token_of_kind("PNS", i % 60);
        let token = token.to_string();
        let router = if i % 2 == 0 {
            a.router.clone()
        } else {
            b_router.clone()
        };
        set.spawn(async move {
            use http_body_util::BodyExt;
            use tower::ServiceExt;
            let mut req = axum::http::Request::post("/api/v1/sign")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(
                    serde_json::json!({"token": token, "consent_name": "Sri"}).to_string(),
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
                token,
                status,
                serde_json::from_slice::<serde_json::Value>(&body).expect("json"),
            )
        });
    }
    let answers = set.join_all().await;
    let mut by_token: std::collections::HashMap<String, HashSet<String>> = Default::default();
    let mut checkpoints = Vec::new();
    for (token, status, body) in &answers {
        assert!(
            *status == StatusCode::CREATED || *status == StatusCode::OK,
            "{status}: {body}"
        );
        by_token
            .entry(token.clone())
            .or_default()
            .insert(body["record"].as_str().expect("record").to_string());
        checkpoints.push(body["checkpoint"].as_str().expect("cp").to_string());
    }
    assert!(by_token.values().all(|records| records.len() == 1));
    let created = answers
        .iter()
        .filter(|(_, s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(
        created, 60,
        "one pledge per person, however many taps and instances"
    );

    let store = a.store();
    let head = store.log_head().await.expect("head");
    assert_eq!(head.size, 60);
    let verifier = Verifier::new(&a.state.keys.log.name, a.state.keys.log.verifying_key());
    // Every checkpoint handed out is consistent with the final tree.
    for note in checkpoints.iter().chain(std::iter::once(&head.checkpoint)) {
        let cp = Checkpoint::parse(open(note, std::slice::from_ref(&verifier)).expect("signed"))
            .expect("parses");
        let plan = ProofPlan::consistency(cp.size, head.size).expect("plan");
        let nodes = store.log_nodes(&plan.nodes()).await.expect("nodes");
        let proof = plan.assemble(|id| nodes.get(&id).copied()).expect("proof");
        verify_consistency(cp.size, head.size, &proof, &cp.root, &head.root)
            .expect("checkpoint is consistent with the final tree");
    }
    // Every stored entry is included, at its own index, exactly once.
    for i in 0..head.size {
        let record = store.log_entry(i).await.expect("query").expect("entry");
        let parsed = ikrar::tlog::record::Record::parse(&record).expect("record");
        assert_eq!(parsed.body.log_index, i);
        let plan = ProofPlan::inclusion(i, head.size).expect("plan");
        let nodes = store.log_nodes(&plan.nodes()).await.expect("nodes");
        let proof = plan.assemble(|id| nodes.get(&id).copied()).expect("proof");
        verify_inclusion(&leaf_hash(&record), i, head.size, &proof, &head.root)
            .expect("entry is included");
    }
    // Time never runs backwards in the log.
    let mut last = 0;
    for i in 0..head.size {
        let record = store.log_entry(i).await.expect("query").expect("entry");
        let t = ikrar::tlog::record::Record::parse(&record)
            .expect("record")
            .body
            .sequenced_at;
        assert!(t >= last);
        last = t;
    }
}

#[tokio::test]
async fn a_database_behind_its_checkpoint_file_refuses_to_sign() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("ikrar.checkpoint");
    let db = TestDb::new().await;
    let url = db.url.clone();
    let mut s = settings();
    s.checkpoint_file = Some(file.clone());
    let app = TestApp::with_settings(db, s).await;
    let seeded = seed(app.store()).await;
    for i in 0..3 {
        let (_, token) = seeded.token_of_kind("PNS", i);
        assert_eq!(app.sign(token, "Budi").await.status, StatusCode::CREATED);
    }
    let written = std::fs::read_to_string(&file).expect("checkpoint file written");
    assert!(written.contains("\n3\n"), "{written}");

    // Pretend an old backup was restored: a fresh database of size 0 with the same file.
    drop(app);
    let _ = url;
    let restored = TestDb::new().await;
    let mut s = settings();
    s.checkpoint_file = Some(file.clone());
    let app = TestApp::with_settings(restored, s).await;
    let seeded = seed(app.store()).await;
    let (_, token) = seeded.token_of_kind("PNS", 0);
    let res = app.sign(token, "Budi").await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.error_code(), "log_rolled_back");
    assert!(
        res.json()["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("cadangan")
    );
    assert_eq!(
        app.get("/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(app.store().log_head().await.expect("head").size, 0);
}

#[test]
fn migration_folders_match() {
    let names = |engine: &str| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(engine);
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .expect("migrations folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
}
