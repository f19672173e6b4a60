//! Witnessing from `serve` (SPEC 3.8), against real witnesses over TCP: `aics-witness` (an
//! independent C2SP tlog-witness from PyPI, not written here) and `ikrar witness serve`.
//! A 2-of-2 policy's checkpoint covers fresh pledges within seconds; the proof bundle and
//! the PDF carry it, and `ikrar verify --policy` passes offline with the server stopped; a
//! witness that was down or forgot nothing of ours is caught up (409); an operator who
//! restores an old backup and signs other pledges gets no cosignature for the new history.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;
use crate::witness::{WitnessServer, witness_keygen_as};
use ikrar::tlog::policy::Policy;

/// Where `scripts/install-test-deps.sh` puts the independent witness.
fn aics_witness_bin() -> PathBuf {
    let tools = std::env::var("IKRAR_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-tools"));
    let bin = tools.join("aics-witness/bin/aics-witness");
    assert!(
        bin.is_file(),
        "{} is missing: run scripts/install-test-deps.sh",
        bin.display()
    );
    bin
}

/// An `aics-witness` process (PyPI `aics-witness`), watching one log.
struct AicsWitness {
    child: Child,
    config: PathBuf,
    base: String,
    vkey: String,
}

impl Drop for AicsWitness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl AicsWitness {
    async fn start(dir: &Path, origin: &str, log_vkey: &str) -> AicsWitness {
        let bin = aics_witness_bin();
        let config = dir.join("witness.json");
        let port = free_port();
        let run = |args: &[&str]| {
            let out = Command::new(&bin)
                .args(args)
                .arg("--config")
                .arg(&config)
                .output()
                .expect("run aics-witness");
            assert!(
                out.status.success(),
                "aics-witness {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        let listen = format!("127.0.0.1:{port}");
        let vkey = run(&[
            "init",
            "--name",
            "ombudsman.example/saksi",
            "--listen",
            &listen,
        ]);
        run(&["add-log", "--origin", origin, "--vkey", log_vkey]);
        let child = Command::new(&bin)
            .args(["serve", "--log-level", "WARNING", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn aics-witness serve");
        let w = AicsWitness {
            child,
            config,
            base: format!("http://{listen}"),
            vkey,
        };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(r) = client.get(format!("{}/healthz", w.base)).send().await
                && r.status().is_success()
            {
                return w;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aics-witness did not come up");
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = Command::new(aics_witness_bin())
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .output()
            .expect("run aics-witness");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON")
    }

    /// The size it last cosigned for our log, and how many refused requests it kept as
    /// evidence (a bad consistency proof, a second root at one size).
    fn status(&self) -> (Option<u64>, u64) {
        let s = self.json(&["status", "--json"]);
        let log = &s["logs"][0];
        (
            log["size"].as_u64(),
            log["evidence"].as_u64().expect("evidence"),
        )
    }
}

/// The log's origin and vkey as `/api/v1/keys` publishes them.
async fn log_identity(app: &TestApp) -> (String, String) {
    let vkey = log_vkey(&app.get("/api/v1/keys").await.json());
    (vkey.split('+').next().expect("name").to_owned(), vkey)
}

/// Two witnesses for one log, and the 2-of-2 policy naming them.
struct Witnesses {
    dir: tempfile::TempDir,
    aics: AicsWitness,
    ikrar: WitnessServer,
    policy: String,
}

async fn witnesses(origin: &str, log_vkey: &str) -> Witnesses {
    let dir = tempfile::tempdir().expect("dir");
    let aics_dir = dir.path().join("aics");
    let ikrar_dir = dir.path().join("ikrar");
    std::fs::create_dir_all(&aics_dir).expect("dir");
    std::fs::create_dir_all(&ikrar_dir).expect("dir");
    let aics = AicsWitness::start(&aics_dir, origin, log_vkey).await;
    let ikrar_vkey = witness_keygen_as(&ikrar_dir, "bawaslu.example/saksi");
    let log_file = dir.path().join("log.vkey");
    std::fs::write(&log_file, format!("{log_vkey}\n")).expect("write");
    let ikrar =
        WitnessServer::start_as(&ikrar_dir, "bawaslu.example/saksi", &log_file, free_port()).await;
    let policy = format!(
        "# 2-of-2: the Ombudsman's witness and Bawaslu's\n\
         log {log_vkey}\n\
         witness ombudsman {} {}\n\
         witness bawaslu {ikrar_vkey} {}\n\
         group both all ombudsman bawaslu\n\
         quorum both\n",
        aics.vkey, aics.base, ikrar.base
    );
    std::fs::write(dir.path().join("policy.txt"), &policy).expect("write");
    Witnesses {
        dir,
        aics,
        ikrar,
        policy,
    }
}

/// A server whose public URL (and so its log origin) is known before it starts, with the
/// witness policy `policy`.
async fn server_with_policy(
    db: TestDb,
    policy: &str,
) -> (TestApp, String, tokio::task::JoinHandle<()>) {
    let policy = Policy::parse(policy).expect("policy");
    spawn_server_with(db, |s| s.witness_policy = Some(policy)).await
}

/// Signs `range` of the seeded invitations over TCP, `parallel` at a time; the answers.
async fn sign_all(
    base: &str,
    seeded: &Seeded,
    range: std::ops::Range<usize>,
    parallel: usize,
) -> Vec<Value> {
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for chunk in seeded.invites[range].chunks(parallel) {
        let requests = chunk.iter().map(|(_, _, token)| {
            let http = http.clone();
            let token = token.clone();
            let base = base.to_string();
            async move {
                let res = http
                    .post(format!("{base}/api/v1/sign"))
                    .json(&json!({"token": token, "consent_name": "Peserta"}))
                    .send()
                    .await
                    .expect("sign");
                assert_eq!(res.status(), 201);
                res.json::<Value>().await.expect("json")
            }
        });
        out.extend(futures_util::future::join_all(requests).await);
    }
    out
}

/// Polls `/log/checkpoint` until it is of `size` and meets `policy`'s quorum; its note.
async fn quorum_checkpoint(base: &str, policy: &Policy, size: u64, within: Duration) -> String {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < within {
        last = http
            .get(format!("{base}/log/checkpoint"))
            .send()
            .await
            .expect("checkpoint")
            .text()
            .await
            .expect("text");
        let served: u64 = last
            .lines()
            .nth(1)
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        if served == size && policy.check_note(&last).is_ok() {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no checkpoint of size {size} met the quorum within {within:?}; last served:\n{last}");
}

fn ikrar(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ikrar"))
        .args(args)
        .env("IKRAR_LOG", "warn")
        .env_remove("IKRAR_AUDIT_TOKEN")
        .output()
        .expect("run ikrar");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A seeded database whose log origin (fixed by its first start, from the public URL) is
/// known, so that witnesses can be set up before the server that pushes to them starts.
async fn seeded_log() -> (TestDb, Seeded, String, String) {
    let db = TestDb::new().await;
    let (probe, _, probe_task) = spawn_server_with(db.shared(), |_| {}).await;
    let seeded = seed(probe.store()).await;
    let (origin, log_vkey) = log_identity(&probe).await;
    probe_task.abort();
    drop(probe);
    (db, seeded, origin, log_vkey)
}

/// One `ikrar witness serve` for `log_vkey` and a policy of it alone (`quorum bawaslu`);
/// the witness is not started: the caller starts it on `port` when it wants.
fn single_witness(dir: &Path, log_vkey: &str, port: u16) -> (PathBuf, String) {
    let vkey = witness_keygen_as(dir, "bawaslu.example/saksi");
    let log_file = dir.join("log.vkey");
    std::fs::write(&log_file, format!("{log_vkey}\n")).expect("write");
    let policy = format!("witness bawaslu {vkey} http://127.0.0.1:{port}/\nquorum bawaslu\n");
    (log_file, policy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_that_was_down_or_lost_our_progress_is_caught_up() {
    let (db, seeded, _, log_vkey) = seeded_log().await;
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let (log_file, policy_text) = single_witness(dir.path(), &log_vkey, port);
    let policy = Policy::parse(&policy_text).expect("policy");
    let (app, base, _task) = server_with_policy(db.shared(), &policy_text).await;

    // The witness is down: signing goes on, the published checkpoint is log-signed only.
    sign_all(&base, &seeded, 0..3, 3).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let served = reqwest::get(format!("{base}/log/checkpoint"))
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(policy.check_note(&served).is_err(), "{served}");
    assert_eq!(
        app.store()
            .witness_size(&policy.witnesses[0].vkey)
            .await
            .expect("query"),
        None
    );

    // It comes up: the retry reaches it, `old 0` on first contact.
    let _w = WitnessServer::start_as(dir.path(), "bawaslu.example/saksi", &log_file, port).await;
    quorum_checkpoint(&base, &policy, 3, Duration::from_secs(30)).await;
    assert_eq!(
        app.store()
            .witness_size(&policy.witnesses[0].vkey)
            .await
            .expect("query"),
        Some(3)
    );

    // Our record of its size is lost (say, a restore of that table): the witness answers
    // 409 with its size, and the next request carries the right `old` and proof.
    exec(&db, "UPDATE witness_progress SET size = 0").await;
    sign_all(&base, &seeded, 3..4, 1).await;
    quorum_checkpoint(&base, &policy, 4, Duration::from_secs(30)).await;
    assert_eq!(
        app.store()
            .witness_size(&policy.witnesses[0].vkey)
            .await
            .expect("query"),
        Some(4)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_push_once_and_publish_the_same_cosigned_checkpoint() {
    let (db, seeded, _, log_vkey) = seeded_log().await;
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let (log_file, policy_text) = single_witness(dir.path(), &log_vkey, port);
    let policy = Policy::parse(&policy_text).expect("policy");
    let _w = WitnessServer::start_as(dir.path(), "bawaslu.example/saksi", &log_file, port).await;
    let (a, base_a, _ta) = server_with_policy(db.shared(), &policy_text).await;
    let (_b, base_b, _tb) = server_with_policy(db.shared(), &policy_text).await;

    sign_all(&base_a, &seeded, 0..4, 4).await;
    sign_all(&base_b, &seeded, 4..8, 4).await;
    let from_a = quorum_checkpoint(&base_a, &policy, 8, Duration::from_secs(30)).await;
    let from_b = quorum_checkpoint(&base_b, &policy, 8, Duration::from_secs(30)).await;
    assert_eq!(from_a, from_b);
    // One lease, one holder: the deployment pushed once per checkpoint, not once per instance.
    let now = chrono::Utc::now().timestamp_millis();
    assert!(
        !a.store()
            .take_lease("witnessing", "another-instance", now, now + 1000)
            .await
            .expect("lease"),
        "the lease is held"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witnesses_refuse_a_history_rewritten_from_an_old_backup() {
    let (db, seeded, origin, log_vkey) = seeded_log().await;
    let w = witnesses(&origin, &log_vkey).await;
    let policy = Policy::parse(&w.policy).expect("policy");
    let policy_file = w.dir.path().join("policy.txt");
    let (app, base, task) = server_with_policy(db.shared(), &w.policy).await;
    sign_all(&base, &seeded, 0..3, 3).await;
    quorum_checkpoint(&base, &policy, 3, Duration::from_secs(30)).await;
    let old_url = crate::audit::snapshot(&db, w.dir.path());
    sign_all(&base, &seeded, 3..5, 2).await;
    let seen = quorum_checkpoint(&base, &policy, 5, Duration::from_secs(30)).await;
    let state = w.dir.path().join("log.audit-state");
    let audit = |base: &str| {
        ikrar(&[
            "audit",
            "--url",
            base,
            "--state",
            state.to_str().expect("utf-8"),
            "--policy",
            policy_file.to_str().expect("utf-8"),
        ])
    };
    let (code, out) = audit(&base);
    assert_eq!(code, 0, "{out}");
    task.abort();
    drop(app);

    // The operator restores the 3-entry backup without its rollback guard, with the same
    // keys and witnesses, and signs other pledges: a second history of size 6.
    let (restored, restored_base, restored_task) =
        server_with_policy(TestDb::at(&old_url), &w.policy).await;
    sign_all(&restored_base, &seeded, 10..13, 3).await;
    let http = reqwest::Client::new();
    let started = Instant::now();
    let evidence = loop {
        let (size, evidence) = w.aics.status();
        assert_eq!(
            size,
            Some(5),
            "the independent witness moved off the history it saw"
        );
        if evidence > 0 || started.elapsed() > Duration::from_secs(30) {
            break evidence;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        evidence > 0,
        "aics-witness kept no evidence of the bad consistency proof"
    );
    let page = http
        .get(&w.ikrar.base)
        .send()
        .await
        .expect("status")
        .text()
        .await
        .expect("text");
    assert!(page.contains(&origin), "{page}");
    // Neither witness cosigned any checkpoint of the new history: what the restored server
    // publishes is at most the old cosigned size 3, or log-signed only.
    let served = http
        .get(format!("{restored_base}/log/checkpoint"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    let size: u64 = served.lines().nth(1).expect("size").parse().expect("size");
    assert!(size <= 3 || policy.check_note(&served).is_err(), "{served}");
    assert_ne!(served, seen);
    // The auditor who saw size 5 is told.
    let (code, out) = audit(&restored_base);
    assert_eq!(code, 1, "{out}");
    restored_task.abort();
    drop(restored);
    crate::audit::drop_snapshot(&db, &old_url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_witnesses_cosign_300_fresh_pledges_and_the_receipt_verifies_offline() {
    let (db, seeded, origin, log_vkey) = seeded_log().await;
    let w = witnesses(&origin, &log_vkey).await;
    let policy = Policy::parse(&w.policy).expect("policy");
    // The origin stays the one stored at first start, whatever port serves it now.
    let (app, listen, task) = server_with_policy(db, &w.policy).await;

    let signed = sign_all(&listen, &seeded, 0..300, 20).await;
    let last_201 = Instant::now();
    let note = quorum_checkpoint(&listen, &policy, 300, Duration::from_secs(60)).await;
    let lag = last_201.elapsed();
    eprintln!("a 2-of-2 cosigned checkpoint of size 300, {lag:?} after the last 201");
    assert_eq!(
        policy.check_note(&note).expect("quorum"),
        vec!["ombudsman", "bawaslu"]
    );

    // The independent witness holds our size and never refused a request of ours.
    let (size, evidence) = w.aics.status();
    assert_eq!(size, Some(300));
    assert_eq!(
        evidence,
        0,
        "aics-witness kept refused requests: {}",
        w.aics.json(&["evidence"])
    );

    // The operator sees each witness's cosigned size in /metrics (loopback may read it).
    let metrics = reqwest::get(format!("{listen}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for name in ["ombudsman.example/saksi", "bawaslu.example/saksi"] {
        let line = format!("ikrar_witness_cosigned_size{{witness=\"{name}\"}} ");
        let value = metrics
            .lines()
            .find_map(|l| l.strip_prefix(line.as_str()))
            .unwrap_or_else(|| panic!("no {line} in:\n{metrics}"));
        assert_eq!(value.trim(), "300", "{line}");
    }

    // So does ours, on its status page.
    let page = reqwest::get(&w.ikrar.base)
        .await
        .expect("status")
        .text()
        .await
        .expect("text");
    assert!(page.contains(&origin) && page.contains("300"), "{page}");

    // The public proof bundle leads to that cosigned checkpoint.
    let record = signed[150]["record"].as_str().expect("record");
    let bundle = reqwest::get(format!("{listen}/api/v1/proof/{record}"))
        .await
        .expect("proof")
        .text()
        .await
        .expect("text");
    assert!(bundle.ends_with(&note), "{bundle}");

    // The receipt PDF carries it too; with the server stopped, `ikrar verify --policy`
    // checks signature, inclusion and the quorum offline.
    let token = &seeded.invites[150].2;
    let pdf = reqwest::get(format!("{listen}/s/{token}/pdf"))
        .await
        .expect("pdf")
        .bytes()
        .await
        .expect("bytes");
    let keys = reqwest::get(format!("{listen}/api/v1/keys"))
        .await
        .expect("keys")
        .text()
        .await
        .expect("text");
    // `ikrar audit --policy` passes while it runs.
    let dir = w.dir.path();
    let policy_file = dir.join("policy.txt");
    let (code, out) = ikrar(&[
        "audit",
        "--url",
        &listen,
        "--state",
        dir.join("a.audit-state").to_str().expect("utf-8"),
        "--policy",
        policy_file.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("disaksikan oleh ombudsman, bawaslu"), "{out}");
    task.abort();
    drop(app);
    let _ = task.await;

    let pdf_file = dir.join("receipt.pdf");
    let keys_file = dir.join("keys.json");
    std::fs::write(&pdf_file, &pdf).expect("write");
    std::fs::write(&keys_file, &keys).expect("write");
    let (code, out) = ikrar(&[
        "verify",
        pdf_file.to_str().expect("utf-8"),
        "--keys",
        keys_file.to_str().expect("utf-8"),
        "--policy",
        policy_file.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("disaksikan oleh ombudsman, bawaslu"), "{out}");
    assert!(out.contains("diperiksa luring"), "{out}");

    // A policy that also wants a third witness, which never cosigned, is not met.
    let third = ikrar::tlog::cosignature::Cosigner::new(
        "pers.example/saksi",
        ed25519_dalek::SigningKey::from_bytes(&[0x33; 32]),
    )
    .expect("name");
    let stricter = w.policy.replace(
        "group both all ombudsman bawaslu\n",
        &format!(
            "witness pers {}\ngroup both all ombudsman bawaslu pers\n",
            third.vkey()
        ),
    );
    let stricter_file = dir.join("stricter.txt");
    std::fs::write(&stricter_file, stricter).expect("write");
    let (code, out) = ikrar(&[
        "verify",
        pdf_file.to_str().expect("utf-8"),
        "--keys",
        keys_file.to_str().expect("utf-8"),
        "--policy",
        stricter_file.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("kuorum saksi tidak terpenuhi"), "{out}");
}

/// `/periksa` checks the witnesses itself: the proof's checkpoint, cosigned by an
/// independent C2SP witness and by `ikrar witness`, meets the 2-of-2 quorum the page pins;
/// under a policy that also wants a witness that never cosigns, the same page says the
/// quorum is not met.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periksa_checks_the_witness_quorum_in_the_page() {
    // The QR's host and the key's name must agree, so the log's identity is fixed at the
    // address the server will have.
    let db = TestDb::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let at_base = || {
        let mut s = settings();
        s.public_url = ikrar::domain::public_url::PublicUrl::parse(&base).expect("url");
        s
    };
    let probe = TestApp::with_settings(db.shared(), at_base()).await;
    let seeded = seed(probe.store()).await;
    let (origin, log_vkey) = log_identity(&probe).await;
    drop(probe);
    let w = witnesses(&origin, &log_vkey).await;
    let policy = Policy::parse(&w.policy).expect("policy");
    let mut s = at_base();
    s.witness_policy = Some(policy.clone());
    let app = TestApp::with_settings(db.shared(), s).await;
    let state = app.state.clone();
    let _task = tokio::spawn(async move {
        let _ = ikrar::http::serve(listener, state, std::future::pending()).await;
    });
    let signed = sign_all(&base, &seeded, 0..1, 1).await;
    let qr = signed[0]["qr_text"].as_str().expect("qr_text").to_string();
    quorum_checkpoint(&base, &policy, 1, Duration::from_secs(30)).await;

    let absent = {
        let dir = w.dir.path().join("absen");
        std::fs::create_dir_all(&dir).expect("dir");
        witness_keygen_as(&dir, "ombudsman.example/absen")
    };
    let stricter = format!(
        "{}witness absen {absent}\ngroup three all ombudsman bawaslu absen\nquorum three\n",
        w.policy.replace("quorum both\n", "")
    );
    let (_strict, strict_base, _strict_task) = server_with_policy(db.shared(), &stricter).await;

    let driver = crate::browser::start_driver().await;
    let c = crate::browser::session(&driver).await;
    c.goto(&format!("{base}/periksa")).await.expect("open");
    let (heading, text) = crate::periksa::check(&c, &qr).await;
    assert!(
        heading.contains("SAH") && !heading.contains("TIDAK"),
        "{text}"
    );
    assert!(
        text.contains("✔ Kuorum saksi terpenuhi")
            && text.contains("ombudsman")
            && text.contains("bawaslu"),
        "{text}"
    );
    c.goto(&format!("{strict_base}/periksa"))
        .await
        .expect("open");
    let (_, text) = crate::periksa::check(&c, &qr).await;
    assert!(text.contains("✘ Kuorum saksi belum terpenuhi"), "{text}");
    c.close().await.expect("close");
    drop(w);
}
