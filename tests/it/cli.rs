//! The scripted path an operator takes, through the real binary: keys, instansi, roster,
//! campaign, links.csv, serve, signing over TCP — and a SIGKILL in the middle of a burst.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

/// Runs the real binary against `db`.
pub(crate) fn ikrar(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ikrar"))
        .args(args)
        .env("DATABASE_URL", db)
        .env_remove("IKRAR_PUBLIC_URL")
        .env("IKRAR_LOG", "warn")
        .output()
        .expect("run ikrar")
}

/// The stdout of a run that must have succeeded.
pub(crate) fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(db: &str, keys: &Path, port: u16, checkpoint: &Path) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_ikrar"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .arg("--checkpoint-file")
        .arg(checkpoint)
        .arg("--pledge-key")
        .arg(keys.join("pledge.pem"))
        .arg("--log-key")
        .arg(keys.join("log.pem"))
        .env("DATABASE_URL", db)
        .env_remove("IKRAR_PUBLIC_URL")
        .env("IKRAR_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await
            && r.status().is_success()
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not come up");
}

struct Setup {
    db: TestDb,
    dir: tempfile::TempDir,
    keys: PathBuf,
    port: u16,
    links: Vec<(String, String)>,
}

async fn setup() -> Setup {
    let db = TestDb::new().await;
    let url = db.url.clone();
    let dir = tempfile::tempdir().expect("dir");
    let keys = dir.path().join("keys");
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    ok(&ikrar(
        &url,
        &[
            "keygen",
            "--out",
            keys.to_str().expect("utf8"),
            "--public-url",
            &public,
        ],
    ));
    let again = ikrar(&url, &["keygen", "--out", keys.to_str().expect("utf8")]);
    assert!(
        !again.status.success(),
        "keygen never overwrites without --force"
    );

    let id = ok(&ikrar(
        &url,
        &[
            "instansi",
            "add",
            "--code",
            "surakarta",
            "--name",
            "Pemerintah Kota Surakarta",
            "--place",
            "Surakarta",
        ],
    ));
    assert!(id.trim().parse::<i64>().is_ok());

    // Ten bad rows among 500: nothing is imported and exactly those lines are named.
    let bad = ikrar(
        &url,
        &[
            "roster",
            "import",
            "--instansi",
            "surakarta",
            &fixture("roster-500-bad.csv"),
        ],
    );
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    let named: HashSet<u64> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("baris "))
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect();
    let expected: HashSet<u64> = std::fs::read_to_string(fixture("roster-500-bad.expected"))
        .expect("expected lines")
        .lines()
        .map(|l| l.trim().parse().expect("line number"))
        .collect();
    assert_eq!(named, expected, "{stderr}");
    assert!(stderr.contains("tidak ada data yang diimpor"));

    ok(&ikrar(
        &url,
        &[
            "roster",
            "import",
            "--instansi",
            "surakarta",
            &fixture("roster-500.csv"),
            "--dry-run",
        ],
    ));
    ok(&ikrar(
        &url,
        &[
            "roster",
            "import",
            "--instansi",
            "surakarta",
            &fixture("roster-500.csv"),
        ],
    ));

    let now = chrono::Utc::now();
    let opens = (now - chrono::Duration::hours(1)).to_rfc3339();
    let closes = (now + chrono::Duration::days(1)).to_rfc3339();
    let campaign = ok(&ikrar(
        &url,
        &[
            "campaign",
            "create",
            "--instansi",
            "surakarta",
            "--template",
            "ikrar-netralitas-2024@1",
            "--title",
            "Ikrar Netralitas ASN — HUT Korpri ke-53",
            "--place",
            "Surakarta",
            "--opens",
            &opens,
            "--closes",
            &closes,
        ],
    ));
    let campaign = campaign.trim().to_string();
    assert!(
        campaign.parse::<i64>().is_ok(),
        "prints the id alone: {campaign:?}"
    );

    let csv_path = dir.path().join("links.csv");
    let csv_str = csv_path.to_str().expect("utf8").to_string();
    ok(&ikrar(
        &url,
        &[
            "invitations",
            "--campaign",
            &campaign,
            "--out",
            &csv_str,
            "--public-url",
            &public,
        ],
    ));
    let mut reader = csv::Reader::from_path(&csv_path).expect("links.csv");
    assert_eq!(
        reader.headers().expect("header").iter().collect::<Vec<_>>(),
        ["nip", "nama", "unit", "link"]
    );
    let links: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            (r[0].to_string(), r[3].to_string())
        })
        .collect();
    assert_eq!(links.len(), 500);
    let prefix = format!("{public}/s/");
    assert!(
        links.iter().all(|(_, l)| l.starts_with(&prefix)
            && ikrar::domain::token::looks_valid(&l[prefix.len()..]))
    );
    let numbers: HashSet<&str> = links.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(numbers.len(), 500);
    assert!(
        numbers.iter().any(|n| n.starts_with("TKPK/")),
        "non-ASN staff get links"
    );

    // A second run issues nobody twice.
    let second = dir.path().join("links2.csv");
    ok(&ikrar(
        &url,
        &[
            "invitations",
            "--campaign",
            &campaign,
            "--out",
            second.to_str().expect("utf8"),
            "--public-url",
            &public,
        ],
    ));
    assert_eq!(
        csv::Reader::from_path(&second)
            .expect("csv")
            .records()
            .count(),
        0
    );

    Setup {
        db,
        dir,
        keys,
        port,
        links,
    }
}

fn token_of(link: &str) -> &str {
    link.rsplit('/').next().expect("token")
}

async fn sign(client: &reqwest::Client, base: &str, token: &str) -> (u16, Value) {
    let res = client
        .post(format!("{base}/api/v1/sign"))
        .json(&json!({"token": token, "consent_name": "Nama Saya"}))
        .send()
        .await
        .expect("send");
    let status = res.status().as_u16();
    (status, res.json().await.expect("json"))
}

#[tokio::test]
async fn operator_script_from_roster_to_verified_pledges() {
    let s = setup().await;
    let server = start(&s.db.url, &s.keys, s.port, &s.dir.path().join("cp")).await;
    let client = reqwest::Client::new();
    let keys: Value = client
        .get(format!("{}/api/v1/keys", server.base))
        .send()
        .await
        .expect("keys")
        .json()
        .await
        .expect("json");
    let host = format!("127.0.0.1:{}", s.port);
    let names: HashSet<&str> = keys["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        HashSet::from([
            format!("{host}/pledge").as_str(),
            format!("{host}/log").as_str()
        ])
    );

    let mut previous: Option<(u64, [u8; 32])> = None;
    for (_, link) in s.links.iter().take(50) {
        let (status, body) = sign(&client, &server.base, token_of(link)).await;
        assert_eq!(status, 201, "{body}");
        let record = body["record"].as_str().expect("record");
        let bytes = verify_record_with_keys(record, &keys).expect("verifies");
        let (size, root) = open_checkpoint(body["checkpoint"].as_str().expect("cp"), &keys);
        let index = body["log_index"].as_u64().expect("index");
        let proof: Value = client
            .get(format!(
                "{}/api/v1/log/inclusion?index={index}&size={size}",
                server.base
            ))
            .send()
            .await
            .expect("proof")
            .json()
            .await
            .expect("json");
        ikrar::tlog::merkle::verify_inclusion(
            &ikrar::tlog::merkle::leaf_hash(&bytes),
            index,
            size,
            &b64_hashes(&proof["hashes"]),
            &root,
        )
        .expect("inclusion");
        if let Some((old, old_root)) = previous {
            let proof: Value = client
                .get(format!(
                    "{}/api/v1/log/consistency?old={old}&new={size}",
                    server.base
                ))
                .send()
                .await
                .expect("proof")
                .json()
                .await
                .expect("json");
            ikrar::tlog::merkle::verify_consistency(
                old,
                size,
                &b64_hashes(&proof["hashes"]),
                &old_root,
                &root,
            )
            .expect("consistency");
        }
        previous = Some((size, root));
    }
}

#[cfg(unix)]
#[tokio::test]
async fn sigkill_during_a_burst_loses_no_answered_pledge() {
    let s = setup().await;
    let checkpoint = s.dir.path().join("cp");
    let mut server = start(&s.db.url, &s.keys, s.port, &checkpoint).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let keys: Value = client
        .get(format!("{}/api/v1/keys", server.base))
        .send()
        .await
        .expect("keys")
        .json()
        .await
        .expect("json");

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for (_, link) in s.links.iter().take(400) {
        let client = client.clone();
        let base = server.base.clone();
        let token = token_of(link).to_string();
        let tx = tx.clone();
        tokio::spawn(async move {
            if let Ok(res) = client
                .post(format!("{base}/api/v1/sign"))
                .json(&json!({"token": token, "consent_name": "Nama Saya"}))
                .send()
                .await
            {
                let status = res.status().as_u16();
                if let Ok(body) = res.json::<Value>().await {
                    let _ = tx.send((token, status, body));
                }
            }
        });
    }
    drop(tx);
    let mut answered = Vec::new();
    while let Some(a) = rx.recv().await {
        answered.push(a);
        if answered.len() == 60 {
            // SIGKILL: no chance to flush anything.
            server.child.kill().expect("kill");
        }
    }
    let _ = server.child.wait();
    let created: Vec<&(String, u16, Value)> =
        answered.iter().filter(|(_, s, _)| *s == 201).collect();
    assert!(created.len() >= 60, "a burst was under way");

    let server = start(&s.db.url, &s.keys, s.port, &checkpoint).await;
    let head_note = client
        .get(format!("{}/log/checkpoint", server.base))
        .send()
        .await
        .expect("checkpoint")
        .text()
        .await
        .expect("text");
    let (head_size, head_root) = open_checkpoint(&head_note, &keys);
    for (token, _, body) in &created {
        let record = body["record"].as_str().expect("record");
        let v: Value = client
            .get(format!("{}/api/v1/verify/{record}", server.base))
            .send()
            .await
            .expect("verify")
            .json()
            .await
            .expect("json");
        assert_eq!(v["valid"], true, "an answered pledge survived: {v}");
        // Asking again gives the same pledge, never a second one.
        let (status, again) = sign(&client, &server.base, token).await;
        assert_eq!(status, 200);
        assert_eq!(again["record"], body["record"]);
        // Every checkpoint handed out before the crash is consistent with the log after it.
        let (size, root) = open_checkpoint(body["checkpoint"].as_str().expect("cp"), &keys);
        let proof: Value = client
            .get(format!(
                "{}/api/v1/log/consistency?old={size}&new={head_size}",
                server.base
            ))
            .send()
            .await
            .expect("proof")
            .json()
            .await
            .expect("json");
        ikrar::tlog::merkle::verify_consistency(
            size,
            head_size,
            &b64_hashes(&proof["hashes"]),
            &root,
            &head_root,
        )
        .expect("consistent after restart");
    }
    // After the restart the log keeps growing from where it was.
    let unsigned: Vec<&(String, String)> = s
        .links
        .iter()
        .filter(|(_, l)| !answered.iter().any(|(t, _, _)| t == token_of(l)))
        .collect();
    let (status, body) = sign(
        &client,
        &server.base,
        token_of(&unsigned.last().expect("someone left").1),
    )
    .await;
    assert!(status == 201 || status == 200, "{body}");
}

fn ikrar_env(db: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ikrar"));
    cmd.args(args)
        .env("DATABASE_URL", db)
        .env_remove("IKRAR_PUBLIC_URL")
        .env_remove("IKRAR_PLEDGE_KEY")
        .env_remove("IKRAR_LOG_KEY")
        .env("IKRAR_LOG", "warn")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run ikrar")
}

#[tokio::test]
async fn hr_commands_accounts_tokens_exports_slips_and_backup() {
    let s = setup().await;
    let url = s.db.url.clone();
    // serve refuses to start without keys and names what is missing.
    let out = ikrar_env(&url, &["serve", "--bind", "127.0.0.1:1"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("IKRAR_PLEDGE_KEY") && err.contains("keys-example/README.md"),
        "{err}"
    );

    let weak = ikrar_env(
        &url,
        &[
            "user",
            "add",
            "--instansi",
            "surakarta",
            "--username",
            "hr1",
            "--role",
            "hr",
        ],
        &[("IKRAR_PASSWORD", "pendek")],
    );
    assert!(!weak.status.success());
    ok(&ikrar_env(
        &url,
        &[
            "user",
            "add",
            "--instansi",
            "surakarta",
            "--username",
            "hr1",
            "--role",
            "hr",
        ],
        &[("IKRAR_PASSWORD", "kata-sandi-panjang")],
    ));
    let no_instansi = ikrar_env(
        &url,
        &["user", "add", "--username", "hr2", "--role", "hr"],
        &[("IKRAR_PASSWORD", "kata-sandi-panjang")],
    );
    assert!(!no_instansi.status.success());
    let token = ok(&ikrar_env(
        &url,
        &[
            "token",
            "create",
            "--instansi",
            "surakarta",
            "--username",
            "hr1",
        ],
        &[],
    ));
    let token = token.trim().to_string();
    assert!(token.starts_with("ikr_") && !token.contains(char::is_whitespace));

    let list = ok(&ikrar(
        &url,
        &["campaign", "list", "--instansi", "surakarta"],
    ));
    let id = list.split('\t').next().expect("id").to_string();
    assert!(list.contains("terbuka"));

    // The token works against the server.
    let server = start(&url, &s.keys, s.port, &s.dir.path().join("cp")).await;
    let res = reqwest::Client::new()
        .get(format!("{}/api/v1/campaigns", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("api");
    assert_eq!(res.status(), 200);
    drop(server);

    let xlsx = s.dir.path().join("kepatuhan.xlsx");
    ok(&ikrar(
        &url,
        &[
            "export",
            "compliance",
            "--campaign",
            &id,
            "--format",
            "xlsx",
            "--out",
            xlsx.to_str().expect("utf8"),
        ],
    ));
    assert!(
        std::fs::read(&xlsx)
            .expect("xlsx")
            .starts_with(b"PK\x03\x04")
    );
    let csv = s.dir.path().join("kepatuhan.csv");
    ok(&ikrar(
        &url,
        &[
            "export",
            "compliance",
            "--campaign",
            &id,
            "--format",
            "csv",
            "--out",
            csv.to_str().expect("utf8"),
        ],
    ));
    assert!(
        std::fs::read_to_string(&csv)
            .expect("csv")
            .contains("TOTAL")
    );

    let (nip, _) = &s.links[0];
    let links = s.dir.path().join("again.csv");
    let slips = s.dir.path().join("slips.pdf");
    ok(&ikrar(
        &url,
        &[
            "invitations",
            "--campaign",
            &id,
            "--out",
            links.to_str().expect("utf8"),
            "--reissue",
            "--nip",
            nip,
            "--slips",
            slips.to_str().expect("utf8"),
        ],
    ));
    assert_eq!(
        csv::Reader::from_path(&links)
            .expect("csv")
            .records()
            .count(),
        1
    );
    assert!(std::fs::read(&slips).expect("pdf").starts_with(b"%PDF"));

    if !s.db.is_postgres() {
        let copy = s.dir.path().join("copy.db");
        ok(&ikrar(&url, &["backup", copy.to_str().expect("utf8")]));
        let again = ikrar(&url, &["backup", copy.to_str().expect("utf8")]);
        assert!(!again.status.success(), "never overwrites");
        let copy_url = format!("sqlite://{}", copy.display());
        let listed = ok(&ikrar(
            &copy_url,
            &["campaign", "list", "--instansi", "surakarta"],
        ));
        assert_eq!(listed, list, "the copy holds the same data");
    }
}
