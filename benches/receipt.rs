//! Receipt rendering cost (SPEC 8: ≥ 1,000 PDFs/s per core, so ≤ 1 ms per receipt):
//! the QR code alone, the page alone with the QR already encoded, and the whole receipt
//! (with its attached tlog-proof of a 16-million-entry log cosigned by three witnesses).

use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use std::hint::black_box;

use ikrar::domain::public_url::PublicUrl;
use ikrar::domain::template::{Template, builtin};
use ikrar::render::pdf::{self, Receipt};
use ikrar::render::qr;
use ikrar::tlog::keys::NamedKey;
use ikrar::tlog::record::{Format, RecordBody, short_hash};

const STATEMENT: &str = "ikrar-statement/v1\ninstansi: Pemerintah Kota Surakarta\n\
campaign: 17 Ikrar Netralitas ASN \u{2014} HUT Korpri ke-53\n\
template: ikrar-netralitas-2024@1 sha256:2a9575efff73ceadb688caf684912d2c5607229f76d5ad36144b4f12f5a86379\n\
nip: 198503302010011001\nname: Dr. Budi Santoso, S.Kom., M.T.\nposition: Analis Kebijakan Ahli Muda\n\
unit: Dinas Komunikasi dan Informatika\nsigned-at: 2026-11-29T08:15:02+07:00\nconsent: Budi Santoso\nmark: none\n";

struct Inputs {
    template: Template,
    b32: String,
    qr_text: String,
    verify_url: String,
    proof: String,
}

fn inputs() -> Inputs {
    let key = NamedKey::new(
        "ikrar.surakarta.go.id/pledge",
        SigningKey::from_bytes(&[7u8; 32]),
    );
    // The longest record there is: a 24-byte name, so the QR is as large as it gets.
    let record = RecordBody {
        format: Format::Pledge,
        key_id: key.key_id,
        log_index: 1_234_567,
        sequenced_at: 1_795_400_102,
        nip: 198_503_302_010_011_001,
        template_no: 1,
        statement_hash: short_hash(STATEMENT),
        name: RecordBody::new_name("Dr. Budi Santoso, S.Kom., M.T."),
    }
    .sign(&key);
    let url = PublicUrl::parse("https://ikrar.surakarta.go.id").expect("valid URL");
    let b32 = record.to_base32();
    Inputs {
        template: builtin()[0].render("Pemerintah Kota Surakarta"),
        qr_text: url.qr_text(&b32),
        verify_url: url.verify_link(&b32),
        b32,
        proof: proof_text(),
    }
}

/// A proof bundle as large as a 16-million-entry log gives: 24 hashes, the log's signature
/// and three cosignatures. Rendering does not look inside it.
fn proof_text() -> String {
    let hash = "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n".repeat(24);
    let sig = "A".repeat(92);
    let mut text = format!(
        "c2sp.org/tlog-proof@v1\nindex 1234567\n{hash}\nikrar.surakarta.go.id/log\n16777216\n\
         sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n\u{2014} ikrar.surakarta.go.id/log {sig}\n"
    );
    for w in ["bawaslu.go.id", "ombudsman.go.id", "pers.example"] {
        text.push_str(&format!("\u{2014} {w}/saksi {sig}AAAAAAAAAAAA\n"));
    }
    text
}

fn receipt(i: &Inputs) -> Receipt<'_> {
    Receipt {
        instansi_name: "Pemerintah Kota Surakarta",
        template: &i.template,
        name: "Dr. Budi Santoso, S.Kom., M.T.",
        nip_display: "19850330 201001 1 001",
        position: "Analis Kebijakan Ahli Muda",
        unit: "Dinas Komunikasi dan Informatika",
        place: "Surakarta",
        date_text: "29 November 2026",
        consent_name: "Budi Santoso",
        mark: None,
        qr_text: &i.qr_text,
        host: "ikrar.surakarta.go.id",
        log_index: 1_234_567,
        key_id_hex: "1a2b3c4d",
        record_base32: &i.b32,
        statement: STATEMENT,
        verify_url: &i.verify_url,
        tlog_proof: Some(&i.proof),
    }
}

fn bench(c: &mut Criterion) {
    let i = inputs();
    let r = receipt(&i);
    let code = qr::encode(&i.qr_text).expect("encodes");

    c.bench_function("qr_encode", |b| {
        b.iter(|| qr::encode(black_box(&i.qr_text)))
    });
    c.bench_function("qrcode_crate_reference", |b| {
        b.iter(|| {
            qrcode::QrCode::with_error_correction_level(black_box(&i.qr_text), qrcode::EcLevel::M)
        })
    });
    c.bench_function("pdf_render_fixed_qr", |b| {
        b.iter(|| pdf::render_with_qr(black_box(&r), &code))
    });
    c.bench_function("receipt_whole", |b| b.iter(|| pdf::render(black_box(&r))));
    let bare = Receipt {
        tlog_proof: None,
        ..receipt(&i)
    };
    c.bench_function("receipt_whole_without_proof", |b| {
        b.iter(|| pdf::render(black_box(&bare)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
