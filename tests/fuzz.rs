//! Bounded fuzzing of every parser that takes outside input (SPEC 6: hostile input costs
//! bounded time and never takes the server down). Each property feeds arbitrary bytes, and
//! mutations of a genuine input (flipped, inserted, deleted and truncated bytes), to one
//! parser, and checks that it answers without panicking and that whatever it accepts is
//! consistent: a record that verifies is byte for byte the one that was signed, a note
//! that opens carries exactly the signed text, accepted values re-encode to themselves.
//!
//! The case count is fixed so the run is bounded in CI; raise it for a longer run:
//! `PROPTEST_CASES=100000 cargo test --release --test fuzz`. The roster readers (CSV and
//! XLSX) are fuzzed beside their code in `formats::roster`.

use ed25519_dalek::SigningKey;
use proptest::prelude::*;

use ikrar::domain::mark::Mark;
use ikrar::domain::nip::{Nip, StaffNumber};
use ikrar::domain::public_url::PublicUrl;
use ikrar::domain::statement::Statement;
use ikrar::domain::template::builtin;
use ikrar::render::pdf::{self, Receipt};
use ikrar::service::offline::{self, KeySet};
use ikrar::tlog::keys::NamedKey;
use ikrar::tlog::merkle::root_from_inclusion_proof;
use ikrar::tlog::note::{self, Checkpoint, Verifier};
use ikrar::tlog::proof::TlogProof;
use ikrar::tlog::record::{Format, Record, RecordBody, short_hash};
use ikrar::tlog::tiles;

const STATEMENT: &str = "ikrar-statement/v1\ninstansi: Pemerintah Kota Surakarta\n\
campaign: 17 Ikrar Netralitas ASN \u{2014} HUT Korpri ke-53\n\
template: ikrar-netralitas-2024@1 sha256:2a9575efff73ceadb688caf684912d2c5607229f76d5ad36144b4f12f5a86379\n\
nip: 198503302010011001\nname: Dr. Budi Santoso, S.Kom., M.T.\nposition: Analis Kebijakan Ahli Muda\n\
unit: Dinas Komunikasi dan Informatika\nsigned-at: 2026-11-29T08:15:02+07:00\nconsent: Budi Santoso\nmark: none\n";

fn pledge_key() -> NamedKey {
    NamedKey::new(
        "ikrar.surakarta.go.id/pledge",
        SigningKey::from_bytes(&[7u8; 32]),
    )
}

fn log_key() -> NamedKey {
    NamedKey::new(
        "ikrar.surakarta.go.id/log",
        SigningKey::from_bytes(&[8u8; 32]),
    )
}

fn genuine_record() -> Record {
    RecordBody {
        format: Format::Pledge,
        key_id: pledge_key().key_id,
        log_index: 1_234_567,
        sequenced_at: 1_795_400_102,
        nip: 198_503_302_010_011_001,
        template_no: 1,
        statement_hash: short_hash(STATEMENT),
        name: RecordBody::new_name("Dr. Budi Santoso, S.Kom., M.T."),
    }
    .sign(&pledge_key())
}

fn genuine_note() -> (String, String) {
    let text = Checkpoint {
        origin: "ikrar.surakarta.go.id/log".into(),
        size: 1_234_568,
        root: [5u8; 32],
    }
    .to_text();
    let key = log_key();
    let signed = note::sign(&text, &key.name, key.signing_key()).expect("signs");
    (text, signed)
}

/// A genuine tlog-proof of the genuine record: arbitrary sibling hashes, and the root they
/// lead to signed by the log key as the checkpoint of a tree of 2,000,000 entries.
fn genuine_proof() -> (TlogProof, Checkpoint) {
    let record = genuine_record();
    let index = record.body.log_index;
    let size = 2_000_000;
    let leaf = record.leaf_hash();
    let (hashes, root) = (0u8..64)
        .find_map(|n| {
            let hashes: Vec<[u8; 32]> = (0..n).map(|i| [i.wrapping_mul(37); 32]).collect();
            root_from_inclusion_proof(&leaf, index, size, &hashes)
                .ok()
                .map(|root| (hashes, root))
        })
        .expect("some proof length fits");
    let checkpoint = Checkpoint {
        origin: log_key().name.clone(),
        size,
        root,
    };
    let key = log_key();
    let signed = note::sign(&checkpoint.to_text(), &key.name, key.signing_key()).expect("signs");
    let proof = TlogProof {
        extra: None,
        index,
        hashes,
        checkpoint: signed,
    };
    (proof, checkpoint)
}

fn key_set() -> KeySet {
    let b64 = |b: &[u8]| base64_encode(b);
    let json = serde_json::json!({"keys": [
        {"name": pledge_key().name, "key_id": hex::encode(pledge_key().key_id),
         "purpose": "pledge", "public_key": b64(&pledge_key().public_bytes()),
         "vkey": pledge_key().vkey(), "not_before": "2026-01-01T00:00:00Z"},
        {"name": log_key().name, "key_id": hex::encode(log_key().key_id),
         "purpose": "log", "public_key": b64(&log_key().public_bytes()),
         "vkey": log_key().vkey(), "not_before": "2026-01-01T00:00:00Z"},
    ]});
    KeySet::parse(&json.to_string()).expect("key set")
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// One edit of a byte string.
#[derive(Clone, Debug)]
enum Edit {
    Flip { at: usize, bits: u8 },
    Insert { at: usize, byte: u8 },
    Delete { at: usize },
    Truncate { at: usize },
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        prop_oneof![
            (any::<usize>(), 1u8..=255).prop_map(|(at, bits)| Edit::Flip { at, bits }),
            (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Edit::Insert { at, byte }),
            any::<usize>().prop_map(|at| Edit::Delete { at }),
            any::<usize>().prop_map(|at| Edit::Truncate { at }),
        ],
        1..6,
    )
}

fn mutate(input: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = input.to_vec();
    for e in edits {
        let len = out.len();
        match *e {
            Edit::Flip { at, bits } if len > 0 => out[at % len] ^= bits,
            Edit::Insert { at, byte } => out.insert(at % (len + 1), byte),
            Edit::Delete { at } if len > 0 => {
                out.remove(at % len);
            }
            Edit::Truncate { at } => out.truncate(at % (len + 1)),
            _ => {}
        }
    }
    out
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn config(cases: u32) -> ProptestConfig {
    // PROPTEST_CASES, when set, overrides the bounded default.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn record_parse_accepts_only_canonical_bytes(input in bytes(160)) {
        if let Ok(r) = Record::parse(&input) {
            prop_assert_eq!(r.to_bytes(), input);
        }
    }

    #[test]
    fn a_mutated_record_never_verifies(edits in edits()) {
        let genuine = genuine_record();
        let original = genuine.to_bytes();
        let mutated = mutate(&original, &edits);
        if let Ok(r) = Record::parse(&mutated)
            && r.verify_signature(&pledge_key().verifying_key()).is_ok()
        {
            prop_assert_eq!(&mutated, &original);
        }
        let keys = key_set();
        if offline::verify_record(&mutated, &keys, Some("ikrar.surakarta.go.id")).is_ok() {
            prop_assert_eq!(&mutated, &original);
        }
    }

    #[test]
    fn base32_decoding_is_bounded_and_exact(input in bytes(300)) {
        let text = String::from_utf8_lossy(&input);
        if let Ok(decoded) = Record::decode_base32(&text) {
            let again = Record::decode_base32(
                &data_encoding::BASE32_NOPAD.encode(&decoded),
            );
            prop_assert_eq!(again.ok(), Some(decoded));
        }
    }

    #[test]
    fn qr_text_parsing_never_panics(input in bytes(300), edits in edits()) {
        let _ = offline::parse_qr_text(&String::from_utf8_lossy(&input));
        let url = PublicUrl::parse("https://ikrar.surakarta.go.id").expect("url");
        let genuine = url.qr_text(&genuine_record().to_base32());
        let mutated = mutate(genuine.as_bytes(), &edits);
        let _ = offline::parse_qr_text(&String::from_utf8_lossy(&mutated));
    }

    #[test]
    fn checkpoint_parse_is_idempotent(input in bytes(200)) {
        let text = String::from_utf8_lossy(&input);
        if let Ok(cp) = Checkpoint::parse(&text) {
            prop_assert_eq!(Checkpoint::parse(&cp.to_text()).ok(), Some(cp));
        }
    }

    #[test]
    fn a_note_opens_only_with_its_signed_text(edits in edits(), noise in bytes(200)) {
        let (text, signed) = genuine_note();
        let verifier = Verifier::new(&log_key().name, log_key().verifying_key());
        let mutated = mutate(signed.as_bytes(), &edits);
        if let Ok(s) = std::str::from_utf8(&mutated)
            && let Ok(opened) = note::open(s, std::slice::from_ref(&verifier))
        {
            prop_assert_eq!(opened, text.as_str());
        }
        let noise = String::from_utf8_lossy(&noise);
        let _ = note::open(&noise, std::slice::from_ref(&verifier));
        let _ = Verifier::from_vkey(&noise);
    }

    #[test]
    fn mark_parse_accepts_only_what_it_keeps(input in bytes(400)) {
        let text = String::from_utf8_lossy(&input);
        if let Ok(m) = Mark::parse(&text) {
            prop_assert_eq!(m.as_str(), &*text);
            prop_assert!(!m.strokes().is_empty() || text.is_empty());
        }
    }

    #[test]
    fn nip_and_staff_number_accept_only_their_shapes(input in bytes(60)) {
        let text = String::from_utf8_lossy(&input);
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
        if let Ok(nip) = Nip::parse(&text, today) {
            prop_assert_eq!(nip.as_str().len(), 18);
            prop_assert!(nip.as_str().bytes().all(|b| b.is_ascii_digit()));
        }
        if let Ok(n) = StaffNumber::parse(&text) {
            prop_assert!(!n.as_str().is_empty() && n.as_str().len() <= 32);
        }
    }

    #[test]
    fn statement_parse_round_trips_what_it_accepts(edits in edits(), noise in bytes(400)) {
        for input in [mutate(STATEMENT.as_bytes(), &edits), noise] {
            let text = String::from_utf8_lossy(&input);
            if let Ok(s) = Statement::parse(&text) {
                prop_assert_eq!(s.to_text(), text.into_owned());
            }
        }
    }

    #[test]
    fn tlog_proof_parse_round_trips_what_it_accepts(input in bytes(600), edits in edits()) {
        let (genuine, _) = genuine_proof();
        for candidate in [input, mutate(genuine.to_text().as_bytes(), &edits)] {
            let text = String::from_utf8_lossy(&candidate);
            if let Ok(p) = TlogProof::parse(&text) {
                prop_assert_eq!(p.to_text(), text.as_ref());
                prop_assert_eq!(TlogProof::parse(&p.to_text()).ok(), Some(p));
            }
        }
    }

    #[test]
    fn tile_paths_accept_only_their_canonical_spelling(input in bytes(60), edits in edits()) {
        let genuine = "entries/x001/x234/067.p/5";
        let mutated = mutate(genuine.as_bytes(), &edits);
        for candidate in [input, mutated] {
            let text = String::from_utf8_lossy(&candidate);
            if let Ok(req) = tiles::parse_path(&text) {
                prop_assert_eq!(req.to_string(), format!("tile/{text}"));
            }
        }
    }

    #[test]
    fn a_mutated_tlog_proof_verifies_only_what_was_proved(edits in edits()) {
        let (genuine, checkpoint) = genuine_proof();
        let record = genuine_record();
        let origin = log_key().name.clone();
        let log = [log_key().verifier()];
        prop_assert_eq!(
            genuine.verify(&record.to_bytes(), &origin, &log).ok(),
            Some(checkpoint.clone())
        );
        let mutated = mutate(genuine.to_text().as_bytes(), &edits);
        if let Ok(p) = TlogProof::parse(&String::from_utf8_lossy(&mutated))
            && let Ok(cp) = p.verify(&record.to_bytes(), &origin, &log)
        {
            prop_assert_eq!(&cp, &checkpoint);
            prop_assert_eq!(p.index, genuine.index);
            prop_assert_eq!(p.hashes, genuine.hashes);
        }
        let keys = key_set();
        if let Ok(size) = offline::check_proof(&mutated, &keys, &record) {
            prop_assert_eq!(size, checkpoint.size);
        }
    }

    #[test]
    fn key_set_parsing_never_panics(input in bytes(400)) {
        if let Ok(keys) = KeySet::parse(&String::from_utf8_lossy(&input)) {
            let _ = keys.log_verifier();
            let _ = offline::verify_record(&genuine_record().to_bytes(), &keys, None);
        }
    }
}

fn genuine_pdf() -> Vec<u8> {
    let record = genuine_record();
    let url = PublicUrl::parse("https://ikrar.surakarta.go.id").expect("url");
    let b32 = record.to_base32();
    let template = builtin()[0].render("Pemerintah Kota Surakarta");
    let qr_text = url.qr_text(&b32);
    let verify_url = url.verify_link(&b32);
    let proof = genuine_proof().0.to_text();
    pdf::render(&Receipt {
        instansi_name: "Pemerintah Kota Surakarta",
        template: &template,
        name: "Dr. Budi Santoso, S.Kom., M.T.",
        nip_display: "19850330 201001 1 001",
        position: "Analis Kebijakan Ahli Muda",
        unit: "Dinas Komunikasi dan Informatika",
        place: "Surakarta",
        date_text: "29 November 2026",
        consent_name: "Budi Santoso",
        mark: None,
        qr_text: &qr_text,
        host: "ikrar.surakarta.go.id",
        log_index: 1_234_567,
        key_id_hex: &hex::encode(record.body.key_id),
        record_base32: &b32,
        statement: STATEMENT,
        verify_url: &verify_url,
        tlog_proof: Some(&proof),
    })
    .expect("renders")
}

proptest! {
    // A PDF parse costs far more than the parsers above: fewer cases.
    #![proptest_config(config(200))]

    #[test]
    fn a_mutated_receipt_pdf_never_panics_the_verifier(edits in edits()) {
        let genuine = genuine_pdf();
        let keys = key_set();
        let size = genuine_proof().1.size;
        prop_assert_eq!(offline::verify_pdf(&genuine, &keys).ok().and_then(|v| v.included_in), Some(size));
        let mutated = mutate(&genuine, &edits);
        if let Ok(v) = offline::verify_pdf(&mutated, &keys) {
            // Whatever still verifies says exactly what was signed, and at most that the
            // record is in the genuine checkpoint.
            prop_assert_eq!(v.record, genuine_record());
            prop_assert_eq!(v.statement.map(|s| s.to_text()), Some(STATEMENT.to_string()));
            prop_assert!(v.included_in.is_none() || v.included_in == Some(size));
        }
    }
}
