//! The log as c2sp.org/tlog-tiles (SPEC 3.5): an independent reader
//! (`tests/python/read_tiles.py`, on the `tlog-scales` package) rebuilds the signed
//! checkpoint's root from the tiles and authenticates every tile; caching headers, 404s
//! past the tree, and entry bundles for `log-auditor` tokens only.

use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::support::*;

const PLEDGES: usize = 300;

/// Signs `n` pledges over TCP from a few concurrent signers; returns the records in log
/// order.
async fn sign_many(base: &str, seeded: &Seeded, keys: &Value, n: usize) -> Vec<Vec<u8>> {
    let tokens: Vec<String> = seeded
        .invites
        .iter()
        .take(n)
        .map(|(_, _, t)| t.clone())
        .collect();
    assert_eq!(tokens.len(), n, "enough people in the roster");
    let http = reqwest::Client::new();
    let mut set = tokio::task::JoinSet::new();
    for chunk in tokens.chunks(n.div_ceil(10)) {
        let (http, base, chunk) = (http.clone(), base.to_string(), chunk.to_vec());
        set.spawn(async move {
            let mut records = Vec::new();
            for token in chunk {
                let res = http
                    .post(format!("{base}/api/v1/sign"))
                    .json(&json!({"token": token, "consent_name": "Peserta"}))
                    .send()
                    .await
                    .expect("sign");
                assert_eq!(res.status(), 201);
                let body: Value = res.json().await.expect("json");
                records.push(body["record"].as_str().expect("record").to_string());
            }
            records
        });
    }
    let mut records: Vec<Vec<u8>> = set
        .join_all()
        .await
        .into_iter()
        .flatten()
        .map(|b32| verify_record_with_keys(&b32, keys).expect("a valid record"))
        .collect();
    records.sort_by_key(|r| log_index(r));
    records
}

/// The u40 log index of a record (SPEC 3.2: after the format byte and the key id).
fn log_index(record: &[u8]) -> u64 {
    record[5..10]
        .iter()
        .fold(0u64, |n, b| (n << 8) | u64::from(*b))
}

/// The independent reader, against `base`.
fn read_tiles(base: &str, vkey: &str, token: Option<&str>) -> Output {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/read_tiles.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).arg(base).arg(vkey);
    if let Some(t) = token {
        cmd.arg("--token").arg(t);
    }
    let out = cmd
        .output()
        .expect("python3 runs (scripts/install-test-deps.sh installs tlog-scales)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("ModuleNotFoundError"),
        "tlog-scales is missing: run scripts/install-test-deps.sh\n{err}"
    );
    out
}

fn reader_summary(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "the independent reader failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON summary")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_reader_rebuilds_the_root_and_authenticates_every_tile() {
    let (app, base) = spawn_server().await;
    let seeded = seed(app.store()).await;
    let http = reqwest::Client::new();
    let keys: Value = http
        .get(format!("{base}/api/v1/keys"))
        .send()
        .await
        .expect("keys")
        .json()
        .await
        .expect("json");
    let records = sign_many(&base, &seeded, &keys, PLEDGES).await;
    assert_eq!(
        records.iter().map(|r| log_index(r)).collect::<Vec<_>>(),
        (0..PLEDGES as u64).collect::<Vec<_>>()
    );

    let res = http
        .get(format!("{base}/log/checkpoint"))
        .send()
        .await
        .expect("checkpoint");
    assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(res.headers()["cache-control"], "max-age=2");
    let (size, root) = open_checkpoint(&res.text().await.expect("text"), &keys);
    assert_eq!(size, PLEDGES as u64);

    let vkey = log_vkey(&keys);
    let token = log_auditor_token(&app.db.url);
    let with_entries = reader_summary(&read_tiles(&base, &vkey, Some(&token)));
    assert_eq!(with_entries["size"], PLEDGES);
    assert_eq!(
        with_entries["root"],
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, root)
    );
    // 300 leaves: the full tile 0/000, the partial 0/001.p/44 and the partial 1/000.p/1.
    assert_eq!(with_entries["tiles"], 3);
    assert_eq!(with_entries["entries_checked"], PLEDGES);
    let tiles_only = reader_summary(&read_tiles(&base, &vkey, None));
    assert_eq!(tiles_only["entries_checked"], 0);

    // The reader is not blind: one altered stored hash, served by an instance started
    // after the edit (a running one keeps serving the tiles it already read, which never
    // change), and the tiles no longer authenticate against the signed checkpoint.
    exec(
        &app.db,
        "UPDATE log_nodes SET hash = (SELECT hash FROM log_nodes WHERE level = 0 AND idx = 8) \
         WHERE level = 0 AND idx = 7",
    )
    .await;
    let cached = read_tiles(&base, &vkey, None);
    assert!(
        cached.status.success(),
        "the running instance serves what it read"
    );
    let (_restarted, restarted_base, _task) = spawn_server_with(app.db.shared(), |_| {}).await;
    let forged = read_tiles(&restarted_base, &vkey, None);
    assert!(!forged.status.success(), "a forged tile went unnoticed");
    let err = String::from_utf8_lossy(&forged.stderr);
    assert!(err.contains("FAIL") && err.contains("root"), "{err}");
}

/// Appends `n` stand-in entries through the store's append transaction, as the sequencer
/// does, in batches, each sealed by a checkpoint signed with the log key.
async fn append_entries(app: &TestApp, n: u64) -> Vec<Vec<u8>> {
    use ikrar::store::{Append, LogHead};
    use ikrar::tlog::merkle::{Frontier, leaf_hash};
    let store = app.store();
    let mut all = Vec::new();
    let mut left = n;
    while left > 0 {
        let batch = left.min(10_000);
        left -= batch;
        let mut tx = store.begin_append().await.expect("begin");
        let head = tx.lock_head().await.expect("head");
        let mut frontier = Frontier::from_bytes(head.size, &head.frontier).expect("frontier");
        let mut append = Append {
            old_size: head.size,
            old_root: head.root,
            entries: Vec::new(),
            nodes: Vec::new(),
            head: head.clone(),
            pledges: Vec::new(),
            annulments: Vec::new(),
        };
        for _ in 0..batch {
            let index = frontier.size();
            // Entries of varied lengths, so that a bundle's length prefixes matter.
            let record =
                format!("entri {index} {}", "x".repeat((index % 97) as usize)).into_bytes();
            append.nodes.extend(frontier.push(leaf_hash(&record)));
            append.entries.push((index, record.clone()));
            all.push(record);
        }
        let checkpoint = ikrar::service::sequencer::sign_checkpoint(
            &app.state.keys,
            frontier.size(),
            frontier.root(),
        )
        .expect("sign");
        append.head = LogHead {
            size: frontier.size(),
            root: frontier.root(),
            frontier: frontier.to_bytes(),
            last_time: head.last_time,
            checkpoint,
        };
        tx.write(&append).await.expect("write");
        tx.commit().await.expect("commit");
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reader_rebuilds_a_three_level_tree_of_70000_entries() {
    let (app, base) = spawn_server().await;
    let records = append_entries(&app, 70_000).await;
    let keys: Value = reqwest::get(format!("{base}/api/v1/keys"))
        .await
        .expect("keys")
        .json()
        .await
        .expect("json");
    let token = user_with_token(app.store(), None, "pemantau", "log-auditor", "kata-sandi-1").await;
    let base2 = base.clone();
    let vkey = log_vkey(&keys);
    let summary = tokio::task::spawn_blocking(move || {
        reader_summary(&read_tiles(&base2, &vkey, Some(&token)))
    })
    .await
    .expect("reader");
    assert_eq!(summary["size"], 70_000);
    // tlog-tiles' own example: 273 full level-0 tiles and one of width 112, one full
    // level-1 tile and one of width 17, and a level-2 tile of width 1.
    assert_eq!(summary["tiles"], 273 + 1 + 1 + 1 + 1);
    assert_eq!(summary["entries_checked"], 70_000);

    let level2 = reqwest::get(format!("{base}/log/tile/2/000.p/1"))
        .await
        .expect("tile");
    assert_eq!(level2.status(), 200);
    assert_eq!(level2.headers()["cache-control"], "public, max-age=60");
    assert_eq!(level2.bytes().await.expect("body").len(), 32);
    let http = reqwest::Client::new();
    let bundle = http
        .get(format!("{base}/log/tile/entries/272"))
        .send()
        .await
        .expect("bundle");
    assert_eq!(bundle.status(), 401);
    let last = records[272 * 256..273 * 256].to_vec();
    let token = user_with_token(
        app.store(),
        None,
        "pemantau2",
        "log-auditor",
        "kata-sandi-2",
    )
    .await;
    let bundle = http
        .get(format!("{base}/log/tile/entries/272"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("bundle");
    assert_eq!(
        bundle.headers()["cache-control"],
        "private, max-age=31536000, immutable"
    );
    let body = bundle.bytes().await.expect("body");
    let mut rest = &body[..];
    for record in &last {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        assert_eq!(&rest[2..2 + len], &record[..]);
        rest = &rest[2 + len..];
    }
    assert!(rest.is_empty());
}

#[tokio::test]
async fn tiles_carry_their_caching_headers_and_stop_at_the_tree() {
    let app = TestApp::new().await;
    let seeded = seed(app.store()).await;
    for (_, _, token) in seeded.invites.iter().take(260) {
        assert_eq!(app.sign(token, "Peserta").await.status, 201);
    }
    let head = app.store().log_head().await.expect("head");
    assert_eq!(head.size, 260);

    let full = app.get("/log/tile/0/000").await;
    assert_eq!(full.status, 200);
    assert_eq!(full.body.len(), 8192);
    assert_eq!(full.headers["content-type"], "application/octet-stream");
    assert_eq!(
        full.headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let partial = app.get("/log/tile/0/001.p/4").await;
    assert_eq!(partial.status, 200);
    assert_eq!(partial.body.len(), 4 * 32);
    assert_eq!(partial.headers["cache-control"], "public, max-age=60");
    // Level 1's only hash is the root of the first 256 leaves, as stored.
    let level1 = app.get("/log/tile/1/000.p/1").await;
    assert_eq!(level1.status, 200);
    let stored = app
        .store()
        .log_nodes(&[ikrar::tlog::merkle::NodeId { level: 8, index: 0 }])
        .await
        .expect("node");
    assert_eq!(
        level1.body,
        stored
            .values()
            .next()
            .expect("the node of the first 256 leaves")
            .to_vec()
    );
    // A narrower partial tile is a prefix of a wider one (an older checkpoint's view).
    let narrow = app.get("/log/tile/0/001.p/2").await;
    assert_eq!(narrow.status, 200);
    assert_eq!(narrow.body[..], partial.body[..64]);

    for past in [
        "/log/tile/0/001",      // not full yet
        "/log/tile/0/001.p/5",  // wider than the tree
        "/log/tile/0/002.p/1",  // past the tree
        "/log/tile/1/000",      // level 1 has one hash
        "/log/tile/2/000.p/1",  // no level-2 hash in a tree of 260
        "/log/tile/63/000.p/1", // a level no tree reaches
        "/log/tile/0/x018/x446/x744/x073/x709/x551/615",
        "/log/tile/0/1", // non-canonical spellings name no tile
        "/log/tile/0/x000/001",
        "/log/tile/00/000",
        "/log/tile/0/000.p/256",
        "/log/tile/0/000.p/0",
        "/log/tile/0/001%2Ep/4", // one tile, one URL
        "/log/tile/0/%30%30%30",
    ] {
        let res = app.get(past).await;
        assert_eq!(res.status, 404, "{past}");
        assert_eq!(res.error_code(), "tile_not_found", "{past}");
    }
}

#[tokio::test]
async fn entry_bundles_answer_401_anonymous_404_other_roles_and_hold_the_records() {
    let app = TestApp::new().await;
    let seeded = seed(app.store()).await;
    for (_, _, token) in seeded.invites.iter().take(3) {
        assert_eq!(app.sign(token, "Peserta").await.status, 201);
    }
    let path = "/log/tile/entries/000.p/3";
    assert_eq!(app.get(path).await.status, 401);
    let bad = app
        .call(axum::http::Method::GET, path, "ikr_not-a-token", None)
        .await;
    assert_eq!(bad.status, 401);
    let hr = hr_token(&app, seeded.instansi_id).await;
    let as_hr = app.call(axum::http::Method::GET, path, &hr, None).await;
    assert_eq!(as_hr.status, 404);
    assert_eq!(as_hr.error_code(), "not_found");
    let superadmin = user_with_token(app.store(), None, "root", "superadmin", "kata-sandi-1").await;
    assert_eq!(
        app.call(axum::http::Method::GET, path, &superadmin, None)
            .await
            .status,
        404
    );

    let auditor = user_with_token(
        app.store(),
        None,
        "pemantau",
        "log-auditor",
        "kata-sandi-pemantau",
    )
    .await;
    let bundle = app
        .call(axum::http::Method::GET, path, &auditor, None)
        .await;
    assert_eq!(bundle.status, 200);
    assert_eq!(bundle.headers["content-type"], "application/octet-stream");
    assert_eq!(bundle.headers["cache-control"], "private, max-age=60");
    let mut expected = Vec::new();
    for i in 0..3 {
        let record = app
            .store()
            .log_entry(i)
            .await
            .expect("query")
            .expect("stored");
        expected.extend_from_slice(&(record.len() as u16).to_be_bytes());
        expected.extend_from_slice(&record);
    }
    assert_eq!(bundle.body, expected);
    // Each record hashes to its leaf in the level-0 tile.
    let tile = app.get("/log/tile/0/000.p/3").await;
    let mut rest = &bundle.body[..];
    for leaf in tile.body.chunks(32) {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        assert_eq!(
            ikrar::tlog::merkle::leaf_hash(&rest[2..2 + len]).as_slice(),
            leaf
        );
        rest = &rest[2 + len..];
    }
    assert!(rest.is_empty());

    for past in [
        "/log/tile/entries/000.p/4",
        "/log/tile/entries/000",
        "/log/tile/entries/001.p/1",
        "/log/tile/entries/0",
    ] {
        let res = app
            .call(axum::http::Method::GET, past, &auditor, None)
            .await;
        assert_eq!(res.status, 404, "{past}");
    }
}
