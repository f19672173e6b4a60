//! Proof bundles (SPEC 3.5, 3.6): the three endpoints serve one c2sp.org/tlog-proof into
//! the newest checkpoint, which an independent checker accepts; the receipt PDF attaches the
//! same bundle (read back by qpdf and pdfdetach); `ikrar verify` checks it with the server
//! stopped, refuses a tampered one and says so when a PDF has none.

use std::process::Command;

use axum::http::{Method, StatusCode};
use serde_json::Value;

use ikrar::service::offline::{self, KeySet};
use ikrar::tlog::note::Verifier;
use ikrar::tlog::proof::TlogProof;
use ikrar::tlog::record::Record;

use crate::support::*;

fn header<'a>(res: &'a TestResponse, name: &str) -> &'a str {
    res.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Checks a proof with `tests/vectors/check_proof.py` (Python's `cryptography` and hashlib,
/// no ikrar code). Returns its output line.
fn python_check(proof: &str, record_b32: &str, log_vkey: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("p.tlog-proof");
    std::fs::write(&path, proof).expect("write");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/check_proof.py");
    let out = Command::new("python3")
        .args([script, path.to_str().expect("utf8"), record_b32, log_vkey])
        .output()
        .expect("python3 runs (scripts/install-test-deps.sh installs cryptography)");
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), line)
}

#[tokio::test]
async fn the_three_endpoints_serve_one_proof_into_the_newest_checkpoint() {
    let app = TestApp::new().await;
    let seeded = seed(app.store()).await;
    let signed: Vec<Value> = {
        let mut out = Vec::new();
        for nth in 0..3 {
            let (_, token) = seeded.token_of_kind("PNS", nth);
            let res = app.sign(token, "Budi").await;
            assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
            out.push(res.json());
        }
        out
    };
    let (_, token) = seeded.token_of_kind("PNS", 1);
    let pledge = &signed[1];
    let record_b32 = pledge["record"].as_str().expect("record");
    let index = pledge["log_index"].as_u64().expect("index");
    let keys = app.get("/api/v1/keys").await.json();
    let checkpoint = app.get("/log/checkpoint").await.text();

    // Public, by record.
    let public = app.get(&format!("/api/v1/proof/{record_b32}")).await;
    assert_eq!(public.status, StatusCode::OK, "{}", public.text());
    assert_eq!(header(&public, "content-type"), "text/plain; charset=utf-8");
    assert_eq!(
        header(&public, "content-disposition"),
        format!("inline; filename=\"ikrar-{index}.tlog-proof\"")
    );
    let text = public.text();
    assert!(
        text.starts_with(&format!("c2sp.org/tlog-proof@v1\nindex {index}\n")),
        "{text}"
    );
    let proof = TlogProof::parse(&text).expect("parses");
    assert_eq!(proof.index, index);
    // Into the newest checkpoint, verbatim: tree of 3, leaf 1 needs two hashes.
    assert_eq!(proof.checkpoint, checkpoint);
    assert_eq!(proof.hashes.len(), 2);
    let record = Record::decode_base32(record_b32).expect("base32");
    let verifier = Verifier::from_vkey(&log_vkey(&keys)).expect("vkey");
    let cp = proof
        .verify(&record, &verifier.name, std::slice::from_ref(&verifier))
        .expect("verifies");
    assert_eq!(cp.size, 3);
    let key_set = KeySet::parse(&keys.to_string()).expect("keys");
    let parsed = Record::parse(&record).expect("record");
    assert_eq!(
        offline::check_proof(text.as_bytes(), &key_set, &parsed),
        Ok(3)
    );
    let (ok, line) = python_check(&text, record_b32, &log_vkey(&keys));
    assert!(ok, "{line}");
    assert_eq!(line, format!("ok {index} 3"));
    // The independent checker is not a rubber stamp: another entry's record fails.
    let other = signed[2]["record"].as_str().expect("record");
    let (ok, line) = python_check(&text, other, &log_vkey(&keys));
    assert!(!ok, "{line}");

    // The signer's and HR's are the same bundle.
    let signer = app.get(&format!("/s/{token}/proof")).await;
    assert_eq!(signer.status, StatusCode::OK);
    assert_eq!(signer.text(), text);
    assert_eq!(header(&signer, "cache-control"), "no-store");
    assert_eq!(header(&signer, "referrer-policy"), "no-referrer");
    let hr = hr_token(&app, seeded.instansi_id).await;
    let pledge_id = pledge["pledge_id"].as_i64().expect("id");
    let by_hr = app
        .call(
            Method::GET,
            &format!("/api/v1/pledges/{pledge_id}/proof"),
            &hr,
            None,
        )
        .await;
    assert_eq!(by_hr.status, StatusCode::OK, "{}", by_hr.text());
    assert_eq!(by_hr.text(), text);
    // HR's copy of the PDF carries the same bundle.
    let hr_pdf = app
        .call(
            Method::GET,
            &format!("/api/v1/pledges/{pledge_id}/pdf"),
            &hr,
            None,
        )
        .await;
    assert_eq!(hr_pdf.status, StatusCode::OK);
    let attached = ikrar::render::pdf::extract_attachment(
        &hr_pdf.body,
        &format!("ikrar-{index}.tlog-proof"),
        1 << 16,
    )
    .expect("readable");
    assert_eq!(attached.as_deref(), Some(text.as_bytes()));
    let anonymous = app.get(&format!("/api/v1/pledges/{pledge_id}/proof")).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // The log grows: the same entry's proof follows the newest checkpoint.
    let (_, fourth) = seeded.token_of_kind("PNS", 3);
    assert_eq!(app.sign(fourth, "Budi").await.status, StatusCode::CREATED);
    let grown = app.get(&format!("/api/v1/proof/{record_b32}")).await.text();
    let grown = TlogProof::parse(&grown).expect("parses");
    assert_eq!(grown.checkpoint, app.get("/log/checkpoint").await.text());
    assert_eq!(
        grown
            .verify(&record, &verifier.name, std::slice::from_ref(&verifier))
            .expect("verifies")
            .size,
        4
    );

    // Not in this log: 404. A record that is not base32: 400, naming the field.
    let mut altered = record.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    let altered = data_encoding::BASE32_NOPAD.encode(&altered);
    for path in [
        format!("/api/v1/proof/{altered}"),
        // Well-formed, but index 999 was never reached.
        format!("/api/v1/proof/{}", {
            let mut far = parsed.body.clone();
            far.log_index = 999;
            far.sign(&ikrar::tlog::keys::NamedKey::new(
                "ikrar.surakarta.test/pledge",
                pledge_key(),
            ))
            .to_base32()
        }),
    ] {
        let res = app.get(&path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}: {}", res.text());
        assert_eq!(res.error_code(), "not_in_log");
    }
    let res = app.get("/api/v1/proof/not-base32!").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert_eq!(res.json()["error"]["field"], "record");

    // A link that has not signed, and one that does not exist: 404.
    let (_, unsigned) = seeded.token_of_kind("PNS", 10);
    assert_eq!(
        app.get(&format!("/s/{unsigned}/proof")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/proof")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let missing = app
        .call(Method::GET, "/api/v1/pledges/999999/proof", &hr, None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pdf_carries_the_proof_and_ikrar_verify_checks_it_with_the_server_stopped() {
    // A server of our own over TCP, so that it can be stopped before `ikrar verify` runs.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let base = format!("http://{addr}");
    let mut s = settings();
    s.public_url = ikrar::domain::public_url::PublicUrl::parse(&base).expect("valid");
    let app = TestApp::with_settings(TestDb::new().await, s).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ikrar::http::serve(listener, app.state.clone(), async {
        let _ = stopped.await;
    }));
    let seeded = seed(app.store()).await;
    let http = reqwest::Client::new();
    let mut tokens = Vec::new();
    for nth in 0..3 {
        let (_, token) = seeded.token_of_kind("PNS", nth);
        tokens.push(token.to_owned());
        let res = http
            .post(format!("{base}/api/v1/sign"))
            .json(&serde_json::json!({"token": token, "consent_name": "Budi"}))
            .send()
            .await
            .expect("sign");
        assert_eq!(res.status(), 201);
    }
    let token = &tokens[0];
    let get = |path: String| {
        let http = http.clone();
        async move {
            let res = http.get(path).send().await.expect("get");
            assert!(res.status().is_success(), "{}", res.status());
            res.bytes().await.expect("body").to_vec()
        }
    };
    let pdf = get(format!("{base}/s/{token}/pdf")).await;
    let proof = get(format!("{base}/s/{token}/proof")).await;
    let keys = get(format!("{base}/api/v1/keys")).await;
    assert!(pdf.len() < 100 * 1024, "{} bytes", pdf.len());

    let _ = stop.send(());
    server.await.expect("joins").expect("serves");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the server is stopped"
    );

    let dir = tempfile::tempdir().expect("dir");
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path.to_str().expect("utf8").to_owned()
    };
    let pdf_path = write("ikrar.pdf", &pdf);
    let keys_path = write("keys.json", &keys);
    let (record_b32, _) = ikrar::render::pdf::extract(&pdf)
        .expect("readable")
        .expect("embedded");
    let index = Record::parse(&Record::decode_base32(&record_b32).expect("b32"))
        .expect("record")
        .body
        .log_index;
    let name = format!("ikrar-{index}.tlog-proof");

    // Independent PDF readers find the attachment, byte for byte the endpoint's bundle.
    let tool = |program: &str, args: &[&str]| {
        let out = Command::new(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{program} ({e}): run scripts/install-test-deps.sh"));
        assert!(
            out.status.success(),
            "{program}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let listed = tool("qpdf", &["--list-attachments", &pdf_path]);
    assert!(String::from_utf8_lossy(&listed).contains(&name));
    let shown = tool("qpdf", &[&format!("--show-attachment={name}"), &pdf_path]);
    assert_eq!(shown, proof);
    let detached = dir.path().join("detached.tlog-proof");
    tool(
        "pdfdetach",
        &[
            "-savefile",
            &name,
            "-o",
            detached.to_str().expect("utf8"),
            &pdf_path,
        ],
    );
    assert_eq!(std::fs::read(&detached).expect("read"), proof);
    let keys_json: Value = serde_json::from_slice(&keys).expect("json");
    let (ok, line) = python_check(
        std::str::from_utf8(&shown).expect("utf8"),
        &record_b32,
        &log_vkey(&keys_json),
    );
    assert!(ok, "{line}");
    assert_eq!(line, format!("ok {index} 3"));

    let verify = |pdf: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_ikrar"))
            .args(["verify", pdf, "--keys", &keys_path])
            .env("IKRAR_LOG", "error")
            .output()
            .expect("run ikrar verify");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(stdout.lines().count(), 1, "one line: {stdout:?}");
        (out.status.code().unwrap_or(-1), stdout)
    };
    let (code, line) = verify(&pdf_path);
    assert_eq!(code, 0, "{line}");
    assert!(
        line.contains("tercatat di log menurut bukti di PDF (checkpoint 3, diperiksa luring)"),
        "{line}"
    );

    // An older receipt without the attachment: the signature still verifies, and the line
    // says inclusion was not checked.
    let bare = dir.path().join("bare.pdf");
    tool(
        "qpdf",
        &[
            &pdf_path,
            &format!("--remove-attachment={name}"),
            bare.to_str().expect("utf8"),
        ],
    );
    let (code, line) = verify(bare.to_str().expect("utf8"));
    assert_eq!(code, 0, "{line}");
    assert!(line.contains("inklusi di log tidak diperiksa"), "{line}");

    // Tampered bundles inside an otherwise genuine PDF (same length, so the PDF still
    // parses): another sibling hash, another root, another index.
    let text = std::str::from_utf8(&proof).expect("utf8");
    let at = pdf
        .windows(proof.len())
        .position(|w| w == proof.as_slice())
        .expect("the bundle is stored uncompressed");
    let hash_line = text.lines().nth(2).expect("a hash line");
    let root_line = text
        .split("\n\n")
        .nth(1)
        .and_then(|cp| cp.lines().nth(2))
        .expect("root line");
    let swap_first = |s: &str| {
        let mut c: Vec<char> = s.chars().collect();
        c[0] = if c[0] == 'A' { 'B' } else { 'A' };
        c.into_iter().collect::<String>()
    };
    let cases = [
        (
            "sibling hash",
            text.replacen(hash_line, &swap_first(hash_line), 1),
            "bukti inklusi gagal",
        ),
        (
            "root",
            text.replacen(root_line, &swap_first(root_line), 1),
            "tidak ditandatangani kunci log yang dipercaya",
        ),
        (
            "index",
            text.replacen(
                &format!("index {index}\n"),
                &format!("index {}\n", index + 1),
                1,
            ),
            "bukti untuk indeks",
        ),
    ];
    for (what, tampered, reason) in cases {
        assert_eq!(tampered.len(), proof.len(), "{what}");
        assert_ne!(tampered.as_bytes(), proof.as_slice(), "{what}");
        let mut bytes = pdf.clone();
        bytes[at..at + proof.len()].copy_from_slice(tampered.as_bytes());
        let path = write("tampered.pdf", &bytes);
        let (code, line) = verify(&path);
        assert_eq!(code, 1, "{what}: {line}");
        assert!(
            line.starts_with("TIDAK SAH: bukti log tidak sah"),
            "{what}: {line}"
        );
        assert!(line.contains(reason), "{what}: {line}");
    }
}
