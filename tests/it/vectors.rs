//! Known-answer vectors (tests/vectors/known-answers.json): fixed keys and inputs → the exact
//! statement bytes, record bytes, base32, leaf hashes, tree root and checkpoint note. Another
//! implementation can check itself against them (tests/vectors/check.py does, independently).
//! Regenerate deliberately with `IKRAR_WRITE_VECTORS=1 cargo test --test it vectors`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{FixedOffset, TimeZone};
use ed25519_dalek::SigningKey;
use ikrar::domain::mark::{Mark, mark_line_value};
use ikrar::domain::statement::{StatementDraft, sha256};
use ikrar::domain::template;
use ikrar::tlog::keys::NamedKey;
use ikrar::tlog::merkle::{Frontier, leaf_hash};
use ikrar::tlog::note::Checkpoint;
use ikrar::tlog::record::{Format, RecordBody, annulment_text, short_hash};
use serde_json::{Value, json};

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/known-answers.json"
);

struct Input {
    nip: &'static str,
    record_nip: u64,
    name: &'static str,
    position: &'static str,
    unit: &'static str,
    consent: &'static str,
    mark: Option<&'static str>,
    template_no: u16,
}

fn build() -> Value {
    let pledge = NamedKey::new(
        "ikrar.surakarta.go.id/pledge",
        SigningKey::from_bytes(&[0x42; 32]),
    );
    let log = NamedKey::new(
        "ikrar.surakarta.go.id/log",
        SigningKey::from_bytes(&[0x43; 32]),
    );
    let templates = template::builtin();
    let inputs = [
        Input {
            nip: "198503302010011001",
            record_nip: 198503302010011001,
            name: "Dr. Budi Santoso, S.Kom., M.T.",
            position: "Analis Kebijakan Ahli Muda",
            unit: "Dinas Komunikasi dan Informatika",
            consent: "Budi Santoso",
            mark: Some("M100 200L300 400L520 380M700 100L710 900"),
            template_no: 1,
        },
        Input {
            nip: "199001012022212001",
            record_nip: 199001012022212001,
            name: "Ni Luh Ayu Kartika, S.Pd.",
            position: "",
            unit: "Dinas Pendidikan",
            consent: "Ni Luh Ayu Kartika",
            mark: None,
            template_no: 2,
        },
        Input {
            nip: "staff:TKPK/2024/00017",
            record_nip: 0,
            name: "Ahmad Yusuf",
            position: "Tenaga Kontrak",
            unit: "Satuan Polisi Pamong Praja",
            consent: "Ahmad Yusuf",
            mark: None,
            template_no: 1,
        },
    ];
    let offset = FixedOffset::east_opt(7 * 3600).expect("offset");
    let base_time = 1_795_915_502u64; // 2026-11-29T08:25:02+07:00
    let mut frontier = Frontier::empty();
    let mut records = Vec::new();
    let mut leaves = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let t = &templates[usize::from(input.template_no) - 1];
        let mark = input.mark.map(|m| Mark::parse(m).expect("canonical mark"));
        let sequenced_at = base_time + i as u64;
        let statement = StatementDraft {
            instansi: "Pemerintah Kota Surakarta".into(),
            campaign_id: 17,
            campaign_title: "Ikrar Netralitas ASN — HUT Korpri ke-53".into(),
            template_ref: t.reference(),
            template_sha256_hex: t.sha256_hex(),
            nip: input.nip.into(),
            name: input.name.into(),
            position: Some(input.position.into()).filter(|p: &String| !p.is_empty()),
            unit: input.unit.into(),
            consent: input.consent.into(),
            mark: mark_line_value(mark.as_ref()),
        }
        .complete(
            offset
                .timestamp_opt(sequenced_at as i64, 0)
                .single()
                .expect("time"),
        )
        .to_text();
        let record = RecordBody {
            format: Format::Pledge,
            key_id: pledge.key_id,
            log_index: i as u64,
            sequenced_at,
            nip: input.record_nip,
            template_no: input.template_no,
            statement_hash: short_hash(&statement),
            name: RecordBody::new_name(input.name),
        }
        .sign(&pledge);
        let bytes = record.to_bytes();
        let leaf = leaf_hash(&bytes);
        frontier.push(leaf);
        leaves.push(leaf);
        records.push(json!({
            "log_index": i,
            "sequenced_at": sequenced_at,
            "template_no": input.template_no,
            "mark": input.mark,
            "mark_sha256": mark.as_ref().map(|m| m.sha256_hex()),
            "statement": statement,
            "statement_sha256": hex::encode(sha256(statement.as_bytes())),
            "record_hex": hex::encode(&bytes),
            "record_base32": record.to_base32(),
            "signed_message_hex": hex::encode([b"ikrar/record/v1\n".as_slice(), &bytes[..bytes.len() - 64]].concat()),
            "signature_hex": hex::encode(record.signature),
            "leaf_hash_hex": hex::encode(leaf),
        }));
    }
    // An annulment of the first pledge, appended as entry 3.
    let reason = "Ditandatangani oleh orang lain atas nama pegawai.";
    let annul_text = annulment_text(
        0,
        &leaves[0],
        "salah-orang",
        reason,
        "2026-11-30T09:00:00+07:00",
    );
    let annul = RecordBody {
        format: Format::Annulment,
        key_id: pledge.key_id,
        log_index: 3,
        sequenced_at: base_time + 90_000,
        nip: inputs[0].record_nip,
        template_no: 1,
        statement_hash: short_hash(&annul_text),
        name: RecordBody::new_name(inputs[0].name),
    }
    .sign(&pledge);
    let annul_bytes = annul.to_bytes();
    frontier.push(leaf_hash(&annul_bytes));
    let root = frontier.root();
    let body = Checkpoint {
        origin: "ikrar.surakarta.go.id/log".into(),
        size: frontier.size(),
        root,
    }
    .to_text();
    let note = ikrar::tlog::note::sign(&body, &log.name, log.signing_key()).expect("sign note");
    json!({
        "description": "ikrar known answers: SPEC 3.1 statements, 3.2 records (Ed25519 over \"ikrar/record/v1\\n\" || record body), RFC 9162 leaf hashes and root, and a c2sp.org/tlog-checkpoint signed note. Keys are Ed25519 seeds, hex.",
        "pledge_key": {
            "name": pledge.name,
            "seed_hex": hex::encode([0x42u8; 32]),
            "public_key_base64": B64.encode(pledge.public_bytes()),
            "key_id_hex": hex::encode(pledge.key_id),
            "vkey": pledge.vkey(),
        },
        "log_key": {
            "name": log.name,
            "seed_hex": hex::encode([0x43u8; 32]),
            "public_key_base64": B64.encode(log.public_bytes()),
            "key_id_hex": hex::encode(log.key_id),
            "vkey": log.vkey(),
        },
        "templates": templates.iter().map(|t| json!({
            "reference": t.reference(),
            "canonical_text": t.canonical_text(),
            "sha256": t.sha256_hex(),
        })).collect::<Vec<_>>(),
        "pledges": records,
        "annulment": {
            "log_index": 3,
            "text": annul_text,
            "reason": reason,
            "record_hex": hex::encode(&annul_bytes),
            "record_base32": annul.to_base32(),
            "leaf_hash_hex": hex::encode(leaf_hash(&annul_bytes)),
        },
        "tree": {
            "size": frontier.size(),
            "root_hex": hex::encode(root),
            "checkpoint_note": note,
        },
    })
}

#[test]
fn known_answer_vectors_are_stable() {
    let built = build();
    if std::env::var_os("IKRAR_WRITE_VECTORS").is_some() {
        let text = serde_json::to_string_pretty(&built).expect("json") + "\n";
        std::fs::write(PATH, text).expect("write vectors");
    }
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(PATH).expect("tests/vectors/known-answers.json exists"),
    )
    .expect("vectors parse");
    assert_eq!(
        built, committed,
        "the formats changed: old receipts would no longer verify"
    );
}

#[test]
fn shipped_templates_hash_to_spec_known_answers() {
    let t = template::builtin();
    assert_eq!(
        t[0].sha256_hex(),
        "2a9575efff73ceadb688caf684912d2c5607229f76d5ad36144b4f12f5a86379"
    );
    assert_eq!(
        t[1].sha256_hex(),
        "d59e615bc1e26fc9953685688c8ee6629c9b2446fdc680ad6ea692779a654cf1"
    );
}
