//! `ikrar audit` (SPEC 3.9), the real binary against a real server over TCP: a healthy log
//! passes with and without a log-auditor token, a second run fetches only what is new, and
//! the operator is caught when an entry or a stored hash is edited in the database and when
//! an old backup is restored and other pledges are signed on it (history rewritten).

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::support::*;

/// Signs the invitations `range` of `seeded` over TCP, one after another; returns the
/// pledge ids.
async fn sign(base: &str, seeded: &Seeded, range: std::ops::Range<usize>) -> Vec<i64> {
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for (_, _, token) in &seeded.invites[range] {
        let res = http
            .post(format!("{base}/api/v1/sign"))
            .json(&json!({"token": token, "consent_name": "Peserta"}))
            .send()
            .await
            .expect("sign");
        assert_eq!(res.status(), 201);
        let body: serde_json::Value = res.json().await.expect("json");
        ids.push(body["pledge_id"].as_i64().expect("pledge_id"));
    }
    ids
}

/// Runs `ikrar audit`; returns the exit code and stdout.
fn audit(base: &str, state: &Path, token: Option<&str>) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ikrar"));
    cmd.args(["audit", "--url", base, "--state"])
        .arg(state)
        .env_remove("IKRAR_AUDIT_TOKEN")
        .env("IKRAR_LOG", "warn");
    if let Some(t) = token {
        cmd.args(["--token", t]);
    }
    let out = cmd.output().expect("run ikrar audit");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().expect("an exit code"), stdout)
}

fn ok(result: (i32, String)) -> String {
    assert_eq!(result.0, 0, "audit should pass: {}", result.1);
    assert!(result.1.starts_with("LOG SEHAT"), "{}", result.1);
    result.1
}

fn fails(result: (i32, String), reason: &str) {
    assert_eq!(result.0, 1, "audit should fail: {}", result.1);
    assert!(
        result.1.starts_with("GAGAL") && result.1.contains(reason),
        "expected {reason:?} in: {}",
        result.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_log_passes_incrementally_and_edits_are_caught() {
    let (app, base) = spawn_server().await;
    let seeded = seed(app.store()).await;
    let ids = sign(&base, &seeded, 0..20).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let public = dir.path().join("public.audit-state");
    let full = dir.path().join("full.audit-state");
    let token = log_auditor_token(&app.db.url);

    // Tiles only: one partial tile for 20 leaves; then nothing new to fetch.
    let first = ok(audit(&base, &public, None));
    assert!(first.contains("ukuran 20"), "{first}");
    assert!(first.contains("tile hash diambil: 1 "), "{first}");
    assert!(first.contains("entri tidak diperiksa"), "{first}");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&public).expect("state written")).expect("json");
    assert_eq!(state["size"], 20);
    assert!(
        state["log_vkey"]
            .as_str()
            .expect("pinned")
            .contains("/log+")
    );
    let again = ok(audit(&base, &public, None));
    assert!(again.contains("tile hash diambil: 0 "), "{again}");
    assert!(again.contains("konsisten dengan checkpoint sebelumnya (ukuran 20)"));

    // With the token every entry is checked, and later only the new ones.
    let checked = ok(audit(&base, &full, Some(&token)));
    assert!(checked.contains("entri diperiksa: 20"), "{checked}");
    sign(&base, &seeded, 20..23).await;
    let more = ok(audit(&base, &full, Some(&token)));
    assert!(more.contains("ukuran 23"), "{more}");
    assert!(more.contains("entri diperiksa: 3 "), "{more}");
    assert!(more.contains("bundel entri diambil: 1 "), "{more}");

    // The instansi's admin annuls pledge 2: the annulment names a pledge before what this run reads, so the
    // audit looks again from entry 0 and finds it.
    let admin = user_with_token(
        app.store(),
        Some(seeded.instansi_id),
        "admin",
        "admin",
        "kata-sandi-adm-1",
    )
    .await;
    let res = app
        .call(
            axum::http::Method::POST,
            &format!("/api/v1/pledges/{}/annul", ids[2]),
            &admin,
            Some(&json!({"category": "ganda", "reason": "tercatat dua kali"})),
        )
        .await;
    assert!(res.status.is_success(), "{}", res.text());
    let annulled = ok(audit(&base, &full, Some(&token)));
    assert!(annulled.contains("ukuran 24"), "{annulled}");
    assert!(annulled.contains("entri diperiksa: 24 "), "{annulled}");
    let more = ok(audit(&base, &public, None));
    assert!(more.contains("konsisten dengan checkpoint sebelumnya (ukuran 20)"));

    // An anonymous or wrong token cannot read entries: that is "could not check".
    let (code, out) = audit(&base, &dir.path().join("x"), Some("bukan-token"));
    assert_eq!(code, 2, "{out}");

    // The operator edits a stored entry: its leaf no longer matches.
    exec(
        &app.db,
        "UPDATE log_entries SET record = (SELECT record FROM log_entries WHERE idx = 6) \
         WHERE idx = 5",
    )
    .await;
    fails(
        audit(&base, &dir.path().join("fresh"), Some(&token)),
        "entri 5 telah diubah",
    );

    // The operator edits a stored leaf hash and restarts (a running instance serves the
    // tiles it already read): the tiles no longer give the signed root.
    exec(
        &app.db,
        "UPDATE log_nodes SET hash = (SELECT hash FROM log_nodes WHERE level = 0 AND idx = 8) \
         WHERE level = 0 AND idx = 7",
    )
    .await;
    let (_restarted, restarted, _task) = spawn_server_with(app.db.shared(), |_| {}).await;
    fails(
        audit(&restarted, &dir.path().join("fresh2"), None),
        "tidak sama dengan checkpoint",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_tiles_are_read_once_and_partial_ones_again_as_they_grow() {
    let (app, base) = spawn_server().await;
    let seeded = seed(app.store()).await;
    sign(&base, &seeded, 0..260).await;
    let token = log_auditor_token(&app.db.url);
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("log.audit-state");
    // 260 leaves: the full tile 0/000 and the partial 0/001.p/4, each with its bundle.
    let first = ok(audit(&base, &state, Some(&token)));
    assert!(first.contains("tile hash diambil: 2 "), "{first}");
    assert!(first.contains("bundel entri diambil: 2 "), "{first}");
    assert!(first.contains("entri diperiksa: 260 "), "{first}");
    // 300 leaves: only 0/001.p/44 (and its bundle) again; the full tile is not re-read.
    sign(&base, &seeded, 260..300).await;
    let second = ok(audit(&base, &state, Some(&token)));
    assert!(second.contains("ukuran 300"), "{second}");
    assert!(second.contains("tile hash diambil: 1 "), "{second}");
    assert!(second.contains("bundel entri diambil: 1 "), "{second}");
    assert!(second.contains("entri diperiksa: 40 "), "{second}");
    // A tampered entry in the full tile is caught by a fresh audit, at its index.
    exec(
        &app.db,
        "UPDATE log_entries SET record = (SELECT record FROM log_entries WHERE idx = 100) \
         WHERE idx = 99",
    )
    .await;
    fails(
        audit(&base, &dir.path().join("fresh"), Some(&token)),
        "entri 99 telah diubah",
    );
}

/// A consistent copy of the database at this moment; returns its URL.
/// A copy of `db` as it is now (an old backup, to restore later); its URL.
pub fn snapshot(db: &TestDb, dir: &Path) -> String {
    if db.is_postgres() {
        let admin = std::env::var("IKRAR_TEST_DATABASE").expect("postgres admin URL");
        static COPIES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "ikrar_copy_{}_{}",
            std::process::id(),
            COPIES.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let (server, _) = admin.rsplit_once('/').expect("URL with a database");
        let copy = format!("{server}/{name}");
        let dump = dir.join("old.dump");
        let run = |cmd: &mut Command| {
            let out = cmd.output().expect("run a PostgreSQL client");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(Command::new("psql").args([
            &admin,
            "-c",
            &format!("DROP DATABASE IF EXISTS {name}"),
            "-c",
            &format!("CREATE DATABASE {name}"),
        ]));
        run(Command::new("pg_dump")
            .args(["-Fc", "-f"])
            .arg(&dump)
            .arg(&db.url));
        run(Command::new("pg_restore")
            .args(["--no-owner", "-d", &copy])
            .arg(&dump));
        copy
    } else {
        let file = dir.join("old.db");
        let out = Command::new(env!("CARGO_BIN_EXE_ikrar"))
            .arg("backup")
            .arg(&file)
            .env("DATABASE_URL", &db.url)
            .env("IKRAR_LOG", "warn")
            .output()
            .expect("run ikrar backup");
        assert!(out.status.success(), "ikrar backup");
        format!("sqlite://{}", file.display())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_backup_with_other_pledges_is_a_rewritten_history() {
    let (app, base) = spawn_server().await;
    let seeded = seed(app.store()).await;
    sign(&base, &seeded, 0..3).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let old_url = snapshot(&app.db, dir.path());
    sign(&base, &seeded, 3..5).await;
    let state = dir.path().join("log.audit-state");
    ok(audit(&base, &state, None));

    // The operator restores the backup (of 3 entries) without its rollback guard, serves
    // it with the same keys and origin, and signs other pledges: 6 entries, the last 3
    // unlike those the auditor saw.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let restored_base = format!("http://{}", listener.local_addr().expect("addr"));
    let mut s = settings();
    s.public_url = ikrar::domain::public_url::PublicUrl::parse(&base).expect("valid");
    let restored = TestApp::with_settings(TestDb::at(&old_url), s).await;
    let state_handle = restored.state.clone();
    tokio::spawn(async move {
        let _ = ikrar::http::serve(listener, state_handle, std::future::pending()).await;
    });
    sign(&restored_base, &seeded, 10..13).await;

    fails(
        audit(&restored_base, &state, None),
        "riwayat log ditulis ulang",
    );
    // Without the state the restored log is self-consistent: only memory catches it.
    ok(audit(
        &restored_base,
        &dir.path().join("new.audit-state"),
        None,
    ));
    drop(restored);
    drop_snapshot(&app.db, &old_url).await;
}

/// Drops a PostgreSQL copy made by [`snapshot`] (a SQLite copy goes with its directory).
pub async fn drop_snapshot(db: &TestDb, url: &str) {
    if db.is_postgres() {
        let admin = std::env::var("IKRAR_TEST_DATABASE").expect("admin");
        let name = url.rsplit_once('/').expect("name").1.to_string();
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&admin).await.expect("connect");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut c)
        .await
        .expect("drop the copy");
    }
}

#[test]
fn an_unreachable_log_cannot_be_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out) = audit("http://127.0.0.1:9", &dir.path().join("s"), None);
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("TIDAK DAPAT DIPERIKSA"), "{out}");
    let (code, _) = audit("bukan url", &dir.path().join("s"), None);
    assert_eq!(code, 2);
    assert!(!dir.path().join("s").exists(), "no state written");
}
