//! `ikrar verify`: offline with a key file, online with a URL; flipped bytes, a foreign host
//! and edited PDFs are invalid (exit 1 with a one-line reason).

use std::process::Command;

use serde_json::{Value, json};

use crate::support::*;

fn verify(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ikrar"))
        .arg("verify")
        .args(args)
        .env("IKRAR_LOG", "error")
        .output()
        .expect("run ikrar verify");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout:?}");
    (out.status.code().unwrap_or(-1), stdout)
}

fn flip_record_char(qr: &str) -> String {
    let (head, b32) = qr.rsplit_once('/').expect("qr path");
    let mut chars: Vec<char> = b32.chars().collect();
    let at = 30;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    format!("{head}/{}", chars.into_iter().collect::<String>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_checks_qr_texts_and_pdfs_against_trusted_keys_only() {
    let (app, base) = spawn_server().await;
    let seeded = seed(app.store()).await;
    let (_, token) = seeded.token_of_kind("PNS", 0);
    let http = reqwest::Client::new();
    let signed: Value = http
        .post(format!("{base}/api/v1/sign"))
        .json(&json!({"token": token, "consent_name": "Budi", "mark_svg": "M100 100L900 300L1500 200"}))
        .send()
        .await
        .expect("sign")
        .json()
        .await
        .expect("json");
    let qr = signed["qr_text"].as_str().expect("qr").to_string();
    let dir = tempfile::tempdir().expect("dir");
    let keys_file = dir.path().join("keys.json");
    let keys = http
        .get(format!("{base}/api/v1/keys"))
        .send()
        .await
        .expect("keys")
        .text()
        .await
        .expect("text");
    std::fs::write(&keys_file, &keys).expect("write keys");
    let keys_path = keys_file.to_str().expect("utf8");

    let (code, line) = verify(&[&qr, "--keys", keys_path]);
    assert_eq!(code, 0, "{line}");
    assert!(line.starts_with("SAH"));
    let (code, line) = verify(&[&qr, "--keys", &base]);
    assert_eq!(code, 0, "{line}");
    assert!(line.contains("tercatat di log"), "{line}");

    let (code, line) = verify(&[&flip_record_char(&qr), "--keys", keys_path]);
    assert_eq!(code, 1, "{line}");
    assert!(line.starts_with("TIDAK SAH"));

    // A QR claiming another host is refused even though the signature is fine.
    let (_, rest) = qr.split_once("://").expect("scheme");
    let (_, path) = rest.split_once('/').expect("path");
    let (code, line) = verify(&[
        &format!("HTTPS://IKRAR.EVIL.EXAMPLE/{path}"),
        "--keys",
        keys_path,
    ]);
    assert_eq!(code, 1);
    assert!(line.contains("host"), "{line}");

    // Keys that did not sign it: invalid.
    let mut other: Value = serde_json::from_str(&keys).expect("json");
    for k in other["keys"].as_array_mut().expect("keys") {
        k["key_id"] = json!("00000000");
    }
    let other_file = dir.path().join("other.json");
    std::fs::write(&other_file, other.to_string()).expect("write");
    let (code, _) = verify(&[&qr, "--keys", other_file.to_str().expect("utf8")]);
    assert_eq!(code, 1);

    // The receipt PDF verifies; one whose statement or printed name was edited does not.
    let pdf = http
        .get(format!("{base}/s/{token}/pdf"))
        .send()
        .await
        .expect("pdf")
        .bytes()
        .await
        .expect("bytes");
    let pdf_path = dir.path().join("ikrar.pdf");
    std::fs::write(&pdf_path, &pdf).expect("write pdf");
    let (code, line) = verify(&[pdf_path.to_str().expect("utf8"), "--keys", keys_path]);
    assert_eq!(code, 0, "{line}");

    let (record, statement) = ikrar::render::pdf::extract(&pdf)
        .expect("readable")
        .expect("embedded");
    assert_eq!(record, signed["record"].as_str().expect("record"));
    assert_eq!(statement, signed["statement"].as_str().expect("statement"));
    let edited_statement = statement.replace("consent: Budi", "consent: Orang Lain");
    let template = ikrar::domain::template::builtin()[0].render("Pemerintah Kota Surakarta");
    let statement_fields = ikrar::domain::statement::Statement::parse(&statement).expect("parses");
    let render = |name: &str, statement: &str| {
        ikrar::render::pdf::render(&ikrar::render::pdf::Receipt {
            instansi_name: "Pemerintah Kota Surakarta",
            template: &template,
            name,
            nip_display: &statement_fields.nip,
            position: "",
            unit: &statement_fields.unit,
            place: "Surakarta",
            date_text: "29 November 2026",
            consent_name: "Budi",
            mark: None,
            qr_text: &qr,
            host: "ikrar",
            log_index: 0,
            key_id_hex: "00000000",
            record_base32: &record,
            statement,
            verify_url: "https://x",
            tlog_proof: None,
        })
        .expect("render")
    };
    for (what, bytes) in [
        (
            "edited statement",
            render(&statement_fields.name, &edited_statement),
        ),
        ("edited printed name", render("Nama Palsu", &statement)),
    ] {
        let path = dir.path().join("edited.pdf");
        std::fs::write(&path, bytes).expect("write");
        let (code, line) = verify(&[path.to_str().expect("utf8"), "--keys", keys_path]);
        assert_eq!(code, 1, "{what}: {line}");
        assert!(line.starts_with("TIDAK SAH"), "{what}: {line}");
    }
}
