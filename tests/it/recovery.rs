//! What a rolling key rotation and a faulty machine do to signing (SPEC 3.4, 4.6): two
//! instances on one database, a full disk under SQLite, a PostgreSQL restart mid-burst, an
//! unwritable checkpoint file. Every 201 ever issued must verify, and signing must resume
//! without restarting the server once the cause is gone.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use ed25519_dalek::SigningKey;
use serde_json::json;

use crate::support::*;

fn new_pledge_key() -> SigningKey {
    SigningKey::from_bytes(&[0x33; 32])
}

fn new_log_key() -> SigningKey {
    SigningKey::from_bytes(&[0x44; 32])
}

/// Asserts that every record verifies as valid on `app` (the public verification API).
async fn assert_all_verify(app: &TestApp, records: &[String]) {
    for record in records {
        let v = app.get(&format!("/api/v1/verify/{record}")).await;
        assert_eq!(v.status, StatusCode::OK, "{}", v.text());
        assert_eq!(v.json()["valid"], true, "{record}: {}", v.text());
    }
}

async fn signed(app: &TestApp, token: &str, records: &mut Vec<String>) {
    let res = app.sign(token, "Budi").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    records.push(res.json()["record"].as_str().expect("record").to_string());
}

async fn assert_refused(app: &TestApp, token: &str, code: &str) {
    let res = app.sign(token, "Budi").await;
    assert_eq!(
        res.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        res.text()
    );
    assert_eq!(res.error_code(), code);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.error_code(), code);
    assert!(!ready.text().contains('/'), "no paths: {}", ready.text());
}

/// Instance B keeps running with the old key while A restarts with a new one (`rotate`
/// picks which key): B refuses from then on, in signing and annulling, until it restarts.
async fn rolling_rotation(rotate: fn(&mut ikrar::startup::Settings)) {
    let owner = TestDb::new().await;
    let a = TestApp::with_settings(owner.shared(), settings()).await;
    let b = TestApp::with_settings(owner.shared(), settings()).await;
    let seeded = seed(a.store()).await;
    let token = |i| seeded.token_of_kind("PNS", i).1.to_string();
    let mut records = Vec::new();
    signed(&b, &token(0), &mut records).await;
    signed(&a, &token(1), &mut records).await;
    assert_eq!(b.get("/readyz").await.json()["status"], "ready");

    // A restarts with the new key; B still holds the old one.
    drop(a);
    let mut rotated = settings();
    rotate(&mut rotated);
    let a = TestApp::with_settings(owner.shared(), rotated).await;
    assert_refused(&b, &token(2), "key_retired").await;
    // It stays refused, and annulments obey the same check.
    assert_refused(&b, &token(3), "key_retired").await;
    let admin = user_with_token(
        b.store(),
        Some(seeded.instansi_id),
        "admin",
        "admin",
        "kata-sandi-admin-1",
    )
    .await;
    let first = b
        .store()
        .pledge_by_log_index(0)
        .await
        .expect("query")
        .expect("pledge 0");
    let annul = b
        .call(
            Method::POST,
            &format!("/api/v1/pledges/{}/annul", first.pledge_id),
            &admin,
            Some(&json!({"category": "ganda", "reason": "uji"})),
        )
        .await;
    assert_eq!(
        annul.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        annul.text()
    );
    assert_eq!(annul.error_code(), "key_retired");

    signed(&a, &token(2), &mut records).await;
    // B restarted with the current keys signs again.
    drop(b);
    let mut current = settings();
    rotate(&mut current);
    let b = TestApp::with_settings(owner.shared(), current).await;
    assert_eq!(b.get("/readyz").await.status, StatusCode::OK);
    signed(&b, &token(3), &mut records).await;
    assert_all_verify(&a, &records).await;
    assert_all_verify(&b, &records).await;
    assert_eq!(a.store().log_head().await.expect("head").size, 4);
}

#[tokio::test]
async fn an_instance_whose_pledge_key_was_replaced_stops_signing_until_restarted() {
    rolling_rotation(|s| s.pledge_key = new_pledge_key()).await;
}

#[tokio::test]
async fn an_instance_whose_log_key_was_replaced_stops_signing_until_restarted() {
    rolling_rotation(|s| s.log_key = new_log_key()).await;
}

#[tokio::test]
async fn restarting_with_a_retired_key_never_signs() {
    let owner = TestDb::new().await;
    let a = TestApp::with_settings(owner.shared(), settings()).await;
    let seeded = seed(a.store()).await;
    drop(a);
    let mut rotated = settings();
    rotated.pledge_key = new_pledge_key();
    let _b = TestApp::with_settings(owner.shared(), rotated).await;
    let old = TestApp::with_settings(owner.shared(), settings()).await;
    let ready = old.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.error_code(), "key_retired");
    let (_, token) = seeded.token_of_kind("PNS", 0);
    assert_refused(&old, token, "key_retired").await;
    assert_eq!(old.store().log_head().await.expect("head").size, 0);
}

/// Replaces a directory by a regular file and back: writes below it fail even for root.
struct Blocked {
    dir: PathBuf,
    aside: PathBuf,
}

impl Blocked {
    fn new(dir: &Path) -> Blocked {
        let aside = dir.with_extension("aside");
        std::fs::rename(dir, &aside).expect("move the directory aside");
        std::fs::write(dir, b"not a directory").expect("a file in its place");
        Blocked {
            dir: dir.to_path_buf(),
            aside,
        }
    }

    fn restore(self) {
        std::fs::remove_file(&self.dir).expect("remove the file");
        std::fs::rename(&self.aside, &self.dir).expect("move the directory back");
    }
}

#[tokio::test]
async fn an_unwritable_checkpoint_file_stops_signing_and_recovers() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("guard");
    std::fs::create_dir(&dir).expect("dir");
    let file = dir.join("checkpoint");
    let mut s = settings();
    s.checkpoint_file = Some(file.clone());
    let app = TestApp::with_settings(TestDb::new().await, s).await;
    let seeded = seed(app.store()).await;
    let token = |i| seeded.token_of_kind("PNS", i).1.to_string();
    let mut records = Vec::new();
    signed(&app, &token(0), &mut records).await;

    let blocked = Blocked::new(&dir);
    // This batch committed but its file write failed: no 201 for it.
    assert_refused(&app, &token(1), "checkpoint_file_unwritable").await;
    assert_eq!(app.store().log_head().await.expect("head").size, 2);
    // While the file stays unwritable nothing more is appended.
    assert_refused(&app, &token(2), "checkpoint_file_unwritable").await;
    assert_eq!(app.store().log_head().await.expect("head").size, 2);

    blocked.restore();
    signed(&app, &token(2), &mut records).await;
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    // The signer whose batch was refused gets the pledge already made, not a second one.
    let again = app.sign(&token(1), "Budi").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    records.push(again.json()["record"].as_str().expect("record").to_string());
    assert_eq!(app.store().log_head().await.expect("head").size, 3);
    let written = std::fs::read_to_string(&file).expect("file");
    assert!(written.contains("\n3\n"), "{written}");
    assert_all_verify(&app, &records).await;
}

#[tokio::test]
async fn the_checkpoint_file_is_checked_at_start() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("checkpoint");
    let owner = TestDb::new().await;
    let mut s = settings();
    s.checkpoint_file = Some(file.clone());
    let app = TestApp::with_settings(owner.shared(), s).await;
    let seeded = seed(app.store()).await;
    let mut records = Vec::new();
    signed(&app, seeded.token_of_kind("PNS", 0).1, &mut records).await;
    drop(app);

    // A file signed by some other key is refused at start.
    let forged = ikrar::tlog::note::sign(
        "ikrar.surakarta.test/log\n9\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "ikrar.surakarta.test/log",
        &SigningKey::from_bytes(&[0x55; 32]),
    )
    .expect("sign");
    std::fs::write(&file, forged).expect("write");
    let store = owner.store().await;
    let mut s = settings();
    s.checkpoint_file = Some(file.clone());
    assert!(ikrar::startup::build_state(store, s).await.is_err());

    // A missing file beside a non-empty log is reported, and written at the next append.
    std::fs::remove_file(&file).expect("remove");
    let mut s = settings();
    s.checkpoint_file = Some(file.clone());
    let app = TestApp::with_settings(owner.shared(), s).await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(
        ready.json()["warnings"][0]["code"],
        "checkpoint_file_missing"
    );
    assert!(!ready.text().contains(&*tmp.path().to_string_lossy()));
    signed(&app, seeded.token_of_kind("PNS", 1).1, &mut records).await;
    let ready = app.get("/readyz").await.json();
    assert_eq!(ready, json!({"status": "ready"}));
    assert!(file.exists());
}

/// A small tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("temp dir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs(dir))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: the pool's SQLite threads may still be closing their files.
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

/// Writes zeros into `path` until the file system is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let one = [0u8; 1];
    while f.write_all(&one).is_ok() {}
    let _ = f.sync_all();
}

#[tokio::test]
async fn sqlite_on_a_full_disk_fails_cleanly_and_resumes_when_space_is_freed() {
    if std::env::var("IKRAR_TEST_DATABASE").is_ok_and(|u| u.starts_with("postgres")) {
        return;
    }
    let Some(disk) = Tmpfs::mount("24m") else {
        eprintln!(
            "\n!!! SKIPPED sqlite_on_a_full_disk…: cannot mount a tmpfs (needs root or \
             CAP_SYS_ADMIN; CI runs the suite as root) !!!\n"
        );
        return;
    };
    let url = format!("sqlite://{}", disk.path().join("ikrar.db").display());
    let app = TestApp::with_settings(TestDb::at(&url), settings()).await;
    let seeded = seed(app.store()).await;
    let token = |i| seeded.token_of_kind("PNS", i).1.to_string();
    let mut records = Vec::new();
    signed(&app, &token(0), &mut records).await;

    let filler = disk.path().join("filler");
    fill(&filler);
    assert_refused(&app, &token(1), "appends_failing").await;
    assert_refused(&app, &token(1), "appends_failing").await;
    assert_eq!(app.store().log_head().await.expect("head").size, 1);

    std::fs::remove_file(&filler).expect("free the space");
    // No restart: the very next sign succeeds, and readiness follows.
    signed(&app, &token(1), &mut records).await;
    signed(&app, &token(2), &mut records).await;
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    assert_all_verify(&app, &records).await;
    drop(app);
}

#[tokio::test]
async fn readiness_recovers_by_itself_after_a_full_disk_without_any_signer() {
    if std::env::var("IKRAR_TEST_DATABASE").is_ok_and(|u| u.starts_with("postgres")) {
        return;
    }
    let Some(disk) = Tmpfs::mount("24m") else {
        eprintln!("\n!!! SKIPPED readiness_recovers…: cannot mount a tmpfs !!!\n");
        return;
    };
    let url = format!("sqlite://{}", disk.path().join("ikrar.db").display());
    let app = TestApp::with_settings(TestDb::at(&url), settings()).await;
    let seeded = seed(app.store()).await;
    let filler = disk.path().join("filler");
    fill(&filler);
    assert_refused(&app, seeded.token_of_kind("PNS", 0).1, "appends_failing").await;
    std::fs::remove_file(&filler).expect("free the space");
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.get("/readyz").await.status != StatusCode::OK {
        assert!(Instant::now() < deadline, "readiness never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A private PostgreSQL cluster in a temporary directory on a free port, stopped when
/// dropped. The shared server on 5432 is never touched.
struct PrivatePg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl PrivatePg {
    fn start() -> Option<PrivatePg> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|b| b.join("initdb").exists())?;
        let dir = tempfile::tempdir().ok()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        Command::new("chown")
            .args(["-R", "postgres"])
            .arg(dir.path())
            .status()
            .ok()?;
        let pg = PrivatePg { dir, bin, port };
        let data = pg.data();
        let ok = pg
            .as_postgres(&pg.bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .is_ok_and(|o| o.status.success());
        (ok && pg.ctl("start")).then_some(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn as_postgres(&self, program: &Path) -> Command {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    }

    fn ctl(&self, action: &str) -> bool {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let mut c = self.as_postgres(&self.bin.join("pg_ctl"));
        c.args([action, "-w", "-m", "fast", "-D"]).arg(self.data());
        if action != "stop" {
            c.args(["-o", &opts, "-l"]).arg(self.dir.path().join("log"));
        }
        c.output().is_ok_and(|o| o.status.success())
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let mut c = self.as_postgres(&self.bin.join("pg_ctl"));
        let _ = c
            .args(["stop", "-m", "immediate", "-D"])
            .arg(self.data())
            .output();
    }
}

#[tokio::test]
async fn postgres_restarting_mid_burst_loses_nothing_and_signing_resumes() {
    if !std::env::var("IKRAR_TEST_DATABASE").is_ok_and(|u| u.starts_with("postgres")) {
        return;
    }
    if let Ok(filter) = std::env::var("TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    }
    let Some(pg) = PrivatePg::start() else {
        eprintln!(
            "\n!!! SKIPPED postgres_restarting_mid_burst…: cannot start a private PostgreSQL \
             cluster (needs /usr/lib/postgresql/*/bin and root for runuser) !!!\n"
        );
        return;
    };
    let app = std::sync::Arc::new(TestApp::with_settings(TestDb::at(&pg.url()), settings()).await);
    let seeded = seed(app.store()).await;
    let tokens: Vec<String> = (0..120)
        .map(|i| seeded.token_of_kind("PNS", i).1.to_string())
        .collect();

    // Eight signers work through the tokens while the cluster restarts under them; a signer
    // that is refused tries the same token again, bounded in time.
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (app, next, tokens) = (app.clone(), next.clone(), tokens.clone());
        workers.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(token) = tokens.get(i) else {
                    return out;
                };
                let deadline = Instant::now() + Duration::from_secs(20);
                loop {
                    let res = app.sign(token, "Budi").await;
                    match res.status {
                        StatusCode::CREATED | StatusCode::OK => {
                            let v = res.json();
                            out.push((
                                i,
                                res.status,
                                v["pledge_id"].as_i64().expect("id"),
                                v["record"].as_str().expect("record").to_string(),
                            ));
                            break;
                        }
                        StatusCode::SERVICE_UNAVAILABLE => {
                            let code = res.error_code();
                            assert!(
                                code == "appends_failing" || code == "database_unreachable",
                                "{}",
                                res.text()
                            );
                            assert!(
                                Instant::now() < deadline,
                                "signing never resumed: {}",
                                res.text()
                            );
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        other => panic!("unexpected {other}: {}", res.text()),
                    }
                }
            }
        }));
    }
    while next.load(std::sync::atomic::Ordering::SeqCst) < 30 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pg = std::sync::Arc::new(pg);
    let ctl = |action: &'static str| {
        let pg = pg.clone();
        async move {
            // pg_ctl waits; the server's tasks keep running meanwhile.
            tokio::task::spawn_blocking(move || pg.ctl(action))
                .await
                .expect("pg_ctl")
        }
    };
    assert!(ctl("stop").await, "stop the private cluster");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(ctl("start").await, "start the private cluster");

    let mut answers = Vec::new();
    for w in workers {
        answers.extend(w.await.expect("worker"));
    }
    assert_eq!(answers.len(), tokens.len());
    let ids: std::collections::HashSet<i64> = answers.iter().map(|a| a.2).collect();
    assert_eq!(ids.len(), tokens.len(), "one pledge per person");
    assert_eq!(
        app.store().log_head().await.expect("head").size,
        tokens.len() as u64,
        "no duplicate or lost entries"
    );
    let created: Vec<String> = answers
        .iter()
        .filter(|a| a.1 == StatusCode::CREATED)
        .map(|a| a.3.clone())
        .collect();
    assert!(!created.is_empty());
    assert_all_verify(&app, &created).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.get("/readyz").await.status != StatusCode::OK {
        assert!(Instant::now() < deadline, "readiness never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
