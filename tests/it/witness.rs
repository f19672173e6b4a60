//! `ikrar witness`, fed a foreign log: a tree built here with `tlog::merkle`, checkpoints
//! signed with a test key, sent to the real binary over TCP. Every status code of
//! c2sp.org/tlog-witness, the cosignature checked by an independent implementation
//! (Python's `cryptography`), durability across a SIGKILL, and the compare-and-swap under
//! concurrent requests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::free_port;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::SigningKey;
use ikrar::tlog::merkle::{self, Frontier, Hash, NodeId, ProofPlan};
use ikrar::tlog::note::{self, Checkpoint};

const ORIGIN: &str = "pemkot.example/log";
const WITNESS: &str = "bawaslu.example/saksi";

/// A log we did not build with ikrar's server: leaves `tag-i`, every perfect node kept.
#[derive(Clone)]
struct ForeignLog {
    key: SigningKey,
    frontier: Frontier,
    nodes: HashMap<NodeId, Hash>,
}

impl ForeignLog {
    fn new(tag: &str, size: u64) -> Self {
        let mut log = ForeignLog {
            key: SigningKey::from_bytes(&[0x61; 32]),
            frontier: Frontier::empty(),
            nodes: HashMap::new(),
        };
        log.grow(tag, size);
        log
    }

    fn grow(&mut self, tag: &str, to: u64) {
        while self.frontier.size() < to {
            let leaf = merkle::leaf_hash(format!("{tag}-{}", self.frontier.size()).as_bytes());
            self.nodes.extend(self.frontier.push(leaf));
        }
    }

    fn vkey(&self) -> String {
        note::vkey(ORIGIN, self.key.verifying_key().as_bytes())
    }

    fn text(&self, size: u64) -> String {
        let root = ProofPlan::root(size)
            .assemble(|id| self.nodes.get(&id).copied())
            .expect("nodes")[0];
        Checkpoint {
            origin: ORIGIN.into(),
            size,
            root,
        }
        .to_text()
    }

    fn body(&self, old: u64, size: u64) -> String {
        let proof = if old == 0 || old == size {
            Vec::new()
        } else {
            ProofPlan::consistency(old, size)
                .expect("sizes")
                .assemble(|id| self.nodes.get(&id).copied())
                .expect("nodes")
        };
        let lines: String = proof
            .iter()
            .map(|h| format!("{}\n", B64.encode(h)))
            .collect();
        let note = note::sign(&self.text(size), ORIGIN, &self.key).expect("note");
        format!("old {old}\n{lines}\n{note}")
    }
}

fn witness_keygen(dir: &Path) -> String {
    witness_keygen_as(dir, WITNESS)
}

/// `ikrar witness keygen --name NAME --out DIR`; the witness's vkey.
pub fn witness_keygen_as(dir: &Path, name: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ikrar"))
        .args(["witness", "keygen", "--name", name, "--out"])
        .arg(dir)
        .output()
        .expect("run keygen");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.join("witness.vkey"))
        .expect("witness.vkey")
        .trim()
        .to_owned()
}

/// An `ikrar witness serve` process, killed when dropped.
pub struct WitnessServer {
    child: Child,
    pub base: String,
}

impl Drop for WitnessServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl WitnessServer {
    async fn start(dir: &Path, log_vkey: &Path, port: u16) -> Self {
        Self::start_as(dir, WITNESS, log_vkey, port).await
    }

    /// Serves the witness keyed in `dir` (by [`witness_keygen_as`]) as `name`, watching the
    /// logs whose vkeys are in the file `log_vkey`.
    pub async fn start_as(dir: &Path, name: &str, log_vkey: &Path, port: u16) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_ikrar"))
            .args(["witness", "serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--name", name, "--key"])
            .arg(dir.join("witness.pem"))
            .arg("--log")
            .arg(log_vkey)
            .arg("--database-url")
            .arg(format!("sqlite://{}", dir.join("witness.db").display()))
            .env_remove("DATABASE_URL")
            .env("IKRAR_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn witness serve");
        let server = WitnessServer {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(r) = client.get(&server.base).send().await
                && r.status().is_success()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("witness did not come up");
    }

    /// Status, content type and body of an add-checkpoint.
    async fn add(&self, body: impl Into<reqwest::Body>) -> (u16, String, String) {
        let r = reqwest::Client::new()
            .post(format!("{}/add-checkpoint", self.base))
            .body(body)
            .send()
            .await
            .expect("add-checkpoint");
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().expect("ascii").to_owned())
            .unwrap_or_default();
        (status, ct, r.text().await.expect("body"))
    }
}

struct Setup {
    dir: tempfile::TempDir,
    vkey: String,
    log_vkey_file: PathBuf,
    log: ForeignLog,
}

fn setup() -> Setup {
    ikrar::install_tls();
    let dir = tempfile::tempdir().expect("dir");
    let vkey = witness_keygen(dir.path());
    let log = ForeignLog::new("a", 40);
    let log_vkey_file = dir.path().join("log.vkey");
    std::fs::write(&log_vkey_file, format!("{}\n", log.vkey())).expect("log.vkey");
    Setup {
        dir,
        vkey,
        log_vkey_file,
        log,
    }
}

/// Checks `line` over `text` with tests/witness/check_cosignature.py; returns the timestamp.
fn python_verifies(vkey: &str, text: &str, line: &str) -> u64 {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("checkpoint");
    std::fs::write(&file, text).expect("write");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/witness/check_cosignature.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(vkey)
        .arg(&file)
        .arg(line)
        .output()
        .expect("python3 (scripts/install-test-deps.sh installs it with `cryptography`)");
    assert!(
        out.status.success(),
        "independent check failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("timestamp")
}

#[test]
fn witness_keygen_writes_an_openssl_key_and_its_cosignature_vkey() {
    let dir = tempfile::tempdir().expect("dir");
    let vkey = witness_keygen(dir.path());
    let pem = dir.path().join("witness.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&pem).expect("pem").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // OpenSSL reads the key; its public key is the one in the vkey.
    let out = Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(&pem)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = &out.stdout[out.stdout.len() - 32..];
    let (name, rest) = vkey.split_once('+').expect("name+");
    let (_, typed) = rest.split_once('+').expect("id+key");
    let typed = B64.decode(typed).expect("base64");
    assert_eq!(name, WITNESS);
    assert_eq!(typed[0], 0x04);
    assert_eq!(&typed[1..], public);

    // A second keygen refuses to overwrite the key.
    let again = Command::new(env!("CARGO_BIN_EXE_ikrar"))
        .args(["witness", "keygen", "--name", WITNESS, "--out"])
        .arg(dir.path())
        .output()
        .expect("run keygen");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("sudah ada"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("witness.vkey"))
            .expect("vkey")
            .trim(),
        vkey
    );
}

#[tokio::test]
async fn witness_answers_every_status_of_the_spec_and_cosigns_valid_growth() {
    let s = setup();
    let w = WitnessServer::start(s.dir.path(), &s.log_vkey_file, free_port()).await;
    let log = &s.log;

    // 422: a proof from size 0 must be empty.
    let with_proof =
        log.body(0, 10)
            .replacen("old 0\n", &format!("old 0\n{}\n", B64.encode([1u8; 32])), 1);
    assert_eq!(w.add(with_proof).await.0, 422);

    // 200: first contact, then growth; both cosignatures verified independently.
    let (status, ct, line) = w.add(log.body(0, 10)).await;
    assert_eq!(status, 200, "{line}");
    assert!(ct.starts_with("text/plain"), "{ct}");
    assert!(line.starts_with(&format!("\u{2014} {WITNESS} ")) && line.ends_with('\n'));
    let t1 = python_verifies(&s.vkey, &log.text(10), &line);
    let now = ikrar::witness::now_unix();
    assert!(t1 > 0 && t1.abs_diff(now) < 300, "{t1} vs {now}");
    let (status, _, line) = w.add(log.body(10, 25)).await;
    assert_eq!(status, 200, "{line}");
    assert!(python_verifies(&s.vkey, &log.text(25), &line) >= t1);
    // The cosignature is for that checkpoint only.
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("c"), log.text(24)).expect("write");
    let wrong = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/witness/check_cosignature.py"))
        .arg(&s.vkey)
        .arg(dir.path().join("c"))
        .arg(&line)
        .output()
        .expect("python3");
    assert!(!wrong.status.success());

    // 409 with the size as text/x.tlog.size.
    for old in [0, 10, 24] {
        let (status, ct, body) = w.add(log.body(old, 30)).await;
        assert_eq!(
            (status, ct.as_str(), body.as_str()),
            (409, "text/x.tlog.size", "25\n")
        );
    }

    // 400: old larger than the checkpoint, and malformed bodies.
    let mut bigger = log.body(25, 30);
    bigger = bigger.replacen("old 25\n", "old 31\n", 1);
    let (status, ct, body) = w.add(bigger).await;
    assert_eq!(status, 400, "{body}");
    assert!(ct.starts_with("application/json"), "{ct}");
    let error: serde_json::Value = serde_json::from_str(&body).expect("JSON error");
    assert_eq!(error["error"]["code"], "old_too_large");
    for bad in [
        "".to_owned(),
        "old 25\n".to_owned(),
        format!(
            "old 025\n\n{}",
            log.body(0, 30).split_once("\n\n").expect("note").1
        ),
        format!(
            "old 25\nnot-base64\n\n{}",
            log.body(0, 30).split_once("\n\n").expect("note").1
        ),
    ] {
        assert_eq!(w.add(bad.clone()).await.0, 400, "{bad:?}");
    }

    // 403: a foreign signature under the log's name; 404: a log this witness does not watch.
    let mut forger = log.clone();
    forger.key = SigningKey::from_bytes(&[0x62; 32]);
    assert_eq!(w.add(forger.body(25, 30)).await.0, 403);
    let unknown = log.body(25, 30).replace(ORIGIN, "lain.example/log");
    assert_eq!(w.add(unknown).await.0, 404);

    // 422: a bad proof, a different root at the same size, and a fork.
    let good = log.body(25, 30);
    let first = good.lines().nth(1).expect("proof line").to_owned();
    let bad_proof = good.replacen(&first, &B64.encode([2u8; 32]), 1);
    assert_eq!(w.add(bad_proof).await.0, 422);
    let mut fork = ForeignLog::new("b", 40);
    fork.key = log.key.clone();
    let (status, _, body) = w.add(fork.body(25, 25)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(w.add(fork.body(25, 40)).await.0, 422);

    // 413: a body over the limit.
    assert_eq!(w.add(vec![b'a'; 2 * 1024 * 1024]).await.0, 413);

    // None of the refusals moved the witness.
    let (status, _, line) = w.add(log.body(25, 30)).await;
    assert_eq!(status, 200, "{line}");
    python_verifies(&s.vkey, &log.text(30), &line);

    // The status page, in Indonesian, without inline scripts.
    let r = reqwest::get(&w.base).await.expect("status page");
    assert_eq!(r.status(), 200);
    let csp = r
        .headers()
        .get("content-security-policy")
        .expect("CSP")
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let page = r.text().await.expect("html");
    assert!(page.contains("Log yang diawasi"), "{page}");
    assert!(page.contains(ORIGIN) && page.contains(&log.vkey()));
    assert!(page.contains(&s.vkey));
    assert!(page.contains("<td>30</td>"), "{page}");
    // Four refusals were signed by the log: a proof from 0, a bad proof, two forks.
    assert!(page.contains("<td>4</td>"), "{page}");
    assert!(!page.contains("<script"));
}

#[tokio::test]
async fn witness_state_survives_a_sigkill() {
    let s = setup();
    let port = free_port();
    let mut w = WitnessServer::start(s.dir.path(), &s.log_vkey_file, port).await;
    assert_eq!(w.add(s.log.body(0, 7)).await.0, 200);
    assert_eq!(w.add(s.log.body(7, 19)).await.0, 200);
    // Child::kill is SIGKILL: no shutdown code runs.
    w.child.kill().expect("kill");
    w.child.wait().expect("wait");
    drop(w);

    let w = WitnessServer::start(s.dir.path(), &s.log_vkey_file, port).await;
    let (status, ct, body) = w.add(s.log.body(0, 19)).await;
    assert_eq!(
        (status, ct.as_str(), body.as_str()),
        (409, "text/x.tlog.size", "19\n")
    );
    // The root survived too: another tree at that size is still refused.
    let mut fork = ForeignLog::new("b", 19);
    fork.key = s.log.key.clone();
    assert_eq!(w.add(fork.body(19, 19)).await.0, 422);
    let (status, _, line) = w.add(s.log.body(19, 40)).await;
    assert_eq!(status, 200);
    python_verifies(&s.vkey, &s.log.text(40), &line);
}

#[tokio::test]
async fn of_two_concurrent_add_checkpoints_from_one_size_exactly_one_wins() {
    let s = setup();
    let w = WitnessServer::start(s.dir.path(), &s.log_vkey_file, free_port()).await;
    let mut current = ForeignLog::new("a", 4);
    assert_eq!(w.add(current.body(0, 4)).await.0, 200);
    for round in 0..8 {
        let size = current.frontier.size();
        let mut a = current.clone();
        a.grow(&format!("a{round}"), size + 5);
        let mut b = current.clone();
        b.grow(&format!("b{round}"), size + 5);
        let (ra, rb) = tokio::join!(w.add(a.body(size, size + 5)), w.add(b.body(size, size + 5)));
        let statuses = [ra.0, rb.0];
        assert!(
            statuses == [200, 409] || statuses == [409, 200],
            "round {round}: {ra:?} {rb:?}"
        );
        let loser = if ra.0 == 409 { &ra } else { &rb };
        assert_eq!(loser.2, format!("{}\n", size + 5));
        current = if ra.0 == 200 { a } else { b };
    }
    // The winner of each round is the history the witness follows.
    let size = current.frontier.size();
    let mut next = current.clone();
    next.grow("z", size + 1);
    assert_eq!(w.add(next.body(size, size + 1)).await.0, 200);
}

/// Our own log server (on the engine under test) watched by our witness: the checkpoints
/// it publishes and the consistency proofs of its API make valid add-checkpoint requests,
/// and the witness follows it as it grows.
#[tokio::test]
async fn witness_cosigns_the_checkpoints_of_an_ikrar_log() {
    use crate::support::{TestApp, log_vkey, seed};

    let app = TestApp::new().await;
    let seeded = seed(app.store()).await;
    let log_vkey = log_vkey(&app.get("/api/v1/keys").await.json());

    let dir = tempfile::tempdir().expect("dir");
    let vkey = witness_keygen(dir.path());
    let vkey_file = dir.path().join("log.vkey");
    std::fs::write(&vkey_file, format!("{log_vkey}\n")).expect("write");
    let w = WitnessServer::start(dir.path(), &vkey_file, free_port()).await;

    let mut cosigned = 0u64;
    for (round, count) in [2usize, 3, 1].into_iter().enumerate() {
        for nth in 0..count {
            let (_, token) = seeded.token_of_kind("PNS", round * 3 + nth);
            let res = app.sign(token, "Budi Santoso").await;
            assert_eq!(res.status.as_u16(), 201, "{}", res.text());
        }
        let checkpoint = app.get("/log/checkpoint").await.text();
        let text = checkpoint.split_once("\n\n").expect("note").0.to_owned() + "\n";
        let size: u64 = text.lines().nth(1).expect("size").parse().expect("size");
        let proof = if cosigned == 0 {
            String::new()
        } else {
            let p = app
                .get(&format!(
                    "/api/v1/log/consistency?old={cosigned}&new={size}"
                ))
                .await
                .json();
            p["hashes"]
                .as_array()
                .expect("hashes")
                .iter()
                .map(|h| format!("{}\n", h.as_str().expect("base64")))
                .collect()
        };
        let (status, _, line) = w
            .add(format!("old {cosigned}\n{proof}\n{checkpoint}"))
            .await;
        assert_eq!(status, 200, "round {round}: {line}");
        python_verifies(&vkey, &text, &line);
        cosigned = size;
    }
    assert_eq!(cosigned, 6);
}

#[test]
fn witness_serve_refuses_a_cosignature_key_as_a_log_key_and_a_non_sqlite_database() {
    let dir = tempfile::tempdir().expect("dir");
    let vkey = witness_keygen(dir.path());
    let run = |log: &str, db: &str| {
        Command::new(env!("CARGO_BIN_EXE_ikrar"))
            .args([
                "witness",
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--name",
                WITNESS,
            ])
            .arg("--key")
            .arg(dir.path().join("witness.pem"))
            .args(["--log", log, "--database-url", db])
            .output()
            .expect("run serve")
    };
    let sqlite = format!("sqlite://{}", dir.path().join("w.db").display());
    let out = run(&vkey, &sqlite);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("0x01"));

    let log = ForeignLog::new("a", 1).vkey();
    let out = run(&log, "postgres://postgres@127.0.0.1:5432/test");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("hanya memakai SQLite"));
}
