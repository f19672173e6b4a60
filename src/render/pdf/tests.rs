//! Receipt tests. The checks that matter to a reader of the paper run the real Debian
//! tools: `pdftotext`/`pdftoppm` (poppler-utils), `qpdf --check` (qpdf) and `zbarimg`
//! (zbar-tools). A missing tool fails the test with the package to install.

use std::path::Path;
use std::process::{Command, Output};

use ed25519_dalek::SigningKey;

use super::*;
use crate::domain::public_url::PublicUrl;
use crate::domain::template::builtin;
use crate::tlog::keys::NamedKey;
use crate::tlog::record::{Format, RecordBody, short_hash};

const INSTANSI: &str = "Pemerintah Kota Surakarta";

/// Everything a receipt borrows, owned.
pub(crate) struct Fixture {
    pub template: Template,
    pub statement: String,
    pub record_base32: String,
    pub qr_text: String,
    pub verify_url: String,
    pub mark: Option<Mark>,
    pub tlog_proof: Option<String>,
}

/// A proof bundle of the size a large log gives: 24 hashes and a checkpoint with the log's
/// signature and three cosignatures (the contents do not matter to the PDF).
pub(crate) fn sample_proof(log_index: u64) -> String {
    let hash = "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n".repeat(24);
    let signature = "hI2DJwYW1lLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6a2V5IGlzIHRoaXMgb25lIHdpdGggNjQgYnl0ZXMgb2Y=";
    format!(
        "c2sp.org/tlog-proof@v1\nindex {log_index}\n{hash}\nikrar.surakarta.go.id/log\n16777216\n\
         sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n\
         \u{2014} ikrar.surakarta.go.id/log {signature}\n\
         \u{2014} bawaslu.go.id/saksi AAAAAAAAAAAA{signature}\n\
         \u{2014} ombudsman.go.id/saksi AAAAAAAAAAAA{signature}\n\
         \u{2014} pers.example/saksi AAAAAAAAAAAA{signature}\n"
    )
}

impl Fixture {
    pub fn new(template_no: usize, log_index: u64) -> Fixture {
        let statement = format!(
            "ikrar-statement/v1\ninstansi: {INSTANSI}\ncampaign: 17 Ikrar Netralitas ASN \u{2014} HUT Korpri ke-53\n\
             template: ikrar-netralitas-2024@1 sha256:2a9575efff73ceadb688caf684912d2c5607229f76d5ad36144b4f12f5a86379\n\
             nip: 198503302010011001\nname: Dr. Budi Santoso, S.Kom., M.T.\nposition: Analis Kebijakan Ahli Muda\n\
             unit: Dinas Komunikasi dan Informatika\nsigned-at: 2026-11-29T08:15:02+07:00\nconsent: Budi Santoso\nmark: none\n"
        );
        let key = NamedKey::new(
            "ikrar.surakarta.go.id/pledge",
            SigningKey::from_bytes(&[7u8; 32]),
        );
        let record = RecordBody {
            format: Format::Pledge,
            key_id: key.key_id,
            log_index,
            sequenced_at: 1_795_400_102,
            nip: 198503302010011001,
            template_no: 1,
            statement_hash: short_hash(&statement),
            name: RecordBody::new_name("Dr. Budi Santoso, S.Kom., M.T."),
        }
        .sign(&key);
        let url = PublicUrl::parse("https://ikrar.surakarta.go.id").unwrap();
        let b32 = record.to_base32();
        Fixture {
            template: builtin()[template_no].render(INSTANSI),
            statement,
            qr_text: url.qr_text(&b32),
            verify_url: url.verify_link(&b32),
            record_base32: b32,
            mark: None,
            tlog_proof: Some(sample_proof(42)),
        }
    }

    pub fn receipt(&self) -> Receipt<'_> {
        Receipt {
            instansi_name: INSTANSI,
            template: &self.template,
            name: "Dr. Budi Santoso, S.Kom., M.T.",
            nip_display: "19850330 201001 1 001",
            position: "Analis Kebijakan Ahli Muda",
            unit: "Dinas Komunikasi dan Informatika",
            place: "Surakarta",
            date_text: "29 November 2026",
            consent_name: "Budi Santoso",
            mark: self.mark.as_ref(),
            qr_text: &self.qr_text,
            host: "ikrar.surakarta.go.id",
            log_index: 42,
            key_id_hex: "1a2b3c4d",
            record_base32: &self.record_base32,
            statement: &self.statement,
            verify_url: &self.verify_url,
            tlog_proof: self.tlog_proof.as_deref(),
        }
    }
}

/// A signature-like mark of exactly `bytes` bytes or a little less.
fn mark_of_size(bytes: usize) -> Mark {
    let mut s = String::from("M200 2000");
    let mut i = 0u32;
    loop {
        let x = 200 + (i * 7) % 3600;
        let y = 2000 + ((i as f32 * 0.21).sin() * 900.0) as i32;
        let cmd = if i.is_multiple_of(60) { 'M' } else { 'L' };
        let next = format!("{cmd}{x} {y}");
        if s.len() + next.len() > bytes {
            break;
        }
        s.push_str(&next);
        i += 1;
    }
    Mark::parse(&s).unwrap()
}

/// Runs a Debian tool the PDF tests rely on; a missing tool fails naming its package.
pub(in crate::render::pdf) fn run(program: &str, package: &str, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {program} ({e}): install Debian's {package} \
             (apt-get install -y poppler-utils qpdf zbar-tools)"
            )
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn write_pdf(dir: &Path, name: &str, pdf: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, pdf).unwrap();
    path.to_str().unwrap().to_owned()
}

/// All white space folded to single spaces, so wrapped lines compare as running text.
fn folded(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn pdftotext_finds_every_printed_field() {
    for template_no in [0, 1] {
        let f = Fixture::new(template_no, 42);
        let pdf = render(&f.receipt()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = write_pdf(dir.path(), "r.pdf", &pdf);
        let out = run("pdftotext", "poppler-utils", &[&path, "-"]);
        let text = folded(&String::from_utf8(out.stdout).unwrap());
        let t = &f.template;
        let mut expected = vec![
            folded(&t.title),
            t.preamble.clone(),
            t.closing.clone(),
            "Dr. Budi Santoso, S.Kom., M.T.".to_owned(),
            "19850330 201001 1 001".to_owned(),
            "Analis Kebijakan Ahli Muda".to_owned(),
            "Dinas Komunikasi dan Informatika".to_owned(),
            "Surakarta, 29 November 2026".to_owned(),
            "PEMERINTAH KOTA SURAKARTA".to_owned(),
            "ikrar.surakarta.go.id".to_owned(),
            "entri nomor 42".to_owned(),
            "ID kunci 1a2b3c4d".to_owned(),
            "hanya dapat diperiksa secara daring".to_owned(),
            "ditandatangani secara elektronik".to_owned(),
        ];
        expected.extend(t.points.iter().cloned());
        expected.push(t.sign_off());
        for want in expected {
            assert!(text.contains(&want), "missing {want:?} in:\n{text}");
        }
        // The sign-off follows the template: a pakta integritas is not "berikrar".
        assert_eq!(
            text.contains("Yang berikrar,"),
            t.code == "ikrar-netralitas-2024",
            "{text}"
        );
    }
}

#[test]
fn qpdf_check_passes_with_and_without_mark() {
    let mut f = Fixture::new(1, 7);
    let dir = tempfile::tempdir().unwrap();
    for (name, mark) in [
        ("plain.pdf", None),
        ("mark.pdf", Some(mark_of_size(Mark::MAX_BYTES))),
    ] {
        f.mark = mark;
        let path = write_pdf(dir.path(), name, &render(&f.receipt()).unwrap());
        let out = run("qpdf", "qpdf", &["--check", &path]);
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            report.contains("No syntax or stream encoding errors found"),
            "{report}"
        );
    }
}

#[test]
fn qr_on_the_page_scans_at_150_dpi() {
    let f = Fixture::new(0, 1_234_567);
    let qr = qr::encode(&f.qr_text).unwrap();
    assert!(qr.version() <= qr::MAX_VERSION, "version {}", qr.version());
    let pdf = render(&f.receipt()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_pdf(dir.path(), "r.pdf", &pdf);
    let prefix = dir.path().join("page");
    let prefix = prefix.to_str().unwrap();
    run(
        "pdftoppm",
        "poppler-utils",
        &["-r", "150", "-png", "-singlefile", &path, prefix],
    );
    let decoded = crate::render::qr::tests::zbar_decode(Path::new(&format!("{prefix}.png")));
    assert_eq!(decoded, vec![f.qr_text.clone()]);
}

#[test]
fn extract_round_trips_record_and_statement_exactly() {
    let mut f = Fixture::new(0, 42);
    // Characters whose UTF-16 bytes include 0x0D, 0x0A, 0x28 and 0x5C, besides "—" and LF.
    f.statement = f
        .statement
        .replace("Budi Santoso\n", "Budi Šantoso č ਊ ⌨ \\ (x)\n");
    f.mark = Some(mark_of_size(400));
    let pdf = render(&f.receipt()).unwrap();
    let (record, statement) = extract(&pdf).unwrap().unwrap();
    assert_eq!(record, f.record_base32);
    assert_eq!(statement, f.statement);
    let bytes = crate::tlog::record::Record::decode_base32(&record).unwrap();
    let parsed = crate::tlog::record::Record::parse(&bytes).unwrap();
    assert!(
        !parsed.commits_to(&statement),
        "the statement was changed above"
    );
    let plain = Fixture::new(0, 42);
    let (_, statement) = extract(&render(&plain.receipt()).unwrap())
        .unwrap()
        .unwrap();
    assert!(parsed.commits_to(&statement));
}

#[test]
fn extract_reports_absence_and_garbage() {
    let mut doc = PdfDocument::new("x");
    doc.pages.push(PdfPage::new(Mm(210.0), Mm(297.0), vec![]));
    let other = doc.save(&PdfSaveOptions::default(), &mut Vec::new());
    assert_eq!(extract(&other).unwrap(), None);
    assert_eq!(extract_printed(&other).unwrap(), None);
    assert!(matches!(extract(b"not a pdf"), Err(PdfError::Parse(_))));
}

#[test]
fn the_proof_is_an_attachment_that_qpdf_and_pdfdetach_read_exactly() {
    let f = Fixture::new(0, 42);
    let pdf = render(&f.receipt()).unwrap();
    let proof = f.tlog_proof.as_deref().unwrap();
    let name = proof_file_name(42);
    assert_eq!(name, "ikrar-42.tlog-proof");
    assert_eq!(
        extract_attachment(&pdf, &name, 1 << 16).unwrap().as_deref(),
        Some(proof.as_bytes())
    );
    assert_eq!(
        extract_attachment(&pdf, "ikrar-43.tlog-proof", 1 << 16).unwrap(),
        None
    );
    // Bigger than the caller's limit: refused, not read.
    assert!(extract_attachment(&pdf, &name, 100).is_err());

    let dir = tempfile::tempdir().unwrap();
    let path = write_pdf(dir.path(), "r.pdf", &pdf);
    let listed = run("qpdf", "qpdf", &["--list-attachments", &path]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&name));
    let shown = run(
        "qpdf",
        "qpdf",
        &[&format!("--show-attachment={name}"), &path],
    );
    assert_eq!(shown.stdout, proof.as_bytes());
    let check = run("qpdf", "qpdf", &["--check", &path]);
    assert!(
        String::from_utf8_lossy(&check.stdout)
            .contains("No syntax or stream encoding errors found")
    );
    let out = dir.path().join("detached");
    run(
        "pdfdetach",
        "poppler-utils",
        &["-savefile", &name, "-o", out.to_str().unwrap(), &path],
    );
    assert_eq!(std::fs::read(&out).unwrap(), proof.as_bytes());
    let list = run("pdfdetach", "poppler-utils", &["-list", &path]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("1 embedded files"));

    // Without a proof there is no attachment at all.
    let mut plain = Fixture::new(0, 42);
    plain.tlog_proof = None;
    let pdf = render(&plain.receipt()).unwrap();
    assert_eq!(extract_attachment(&pdf, &name, 1 << 16).unwrap(), None);
    let path = write_pdf(dir.path(), "plain.pdf", &pdf);
    let list = run("pdfdetach", "poppler-utils", &["-list", &path]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("0 embedded files"));
}

#[test]
fn extract_printed_reads_name_and_nip_as_drawn() {
    let f = Fixture::new(1, 42);
    let pdf = render(&f.receipt()).unwrap();
    assert_eq!(
        extract_printed(&pdf).unwrap(),
        Some(PrintedFields {
            name: "Dr. Budi Santoso, S.Kom., M.T.".to_owned(),
            nip: "19850330 201001 1 001".to_owned(),
        })
    );
}

#[test]
fn page_without_mark_stays_under_100_kb() {
    let f = Fixture::new(1, 42);
    let pdf = render(&f.receipt()).unwrap();
    assert!(pdf.len() <= 100 * 1024, "{} bytes", pdf.len());
    let mut f = f;
    f.mark = Some(mark_of_size(Mark::MAX_BYTES));
    let with_mark = render(&f.receipt()).unwrap();
    assert!(with_mark.len() > pdf.len());
}

#[test]
fn long_templates_shrink_to_one_page_or_refuse() {
    let mut f = Fixture::new(1, 42);
    // The most points a template may have, each a little over one line long.
    let long = "Melaksanakan tugas kedinasan dengan penuh pengabdian, kejujuran, kesadaran, \
                dan tanggung jawab.";
    f.template.points = vec![long.to_owned(); 20];
    let pdf = render(&f.receipt()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_pdf(dir.path(), "long.pdf", &pdf);
    let out = run("pdfinfo", "poppler-utils", &[&path]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Pages:           1"));
    f.template.points = vec![long.repeat(3); 20];
    assert!(matches!(render(&f.receipt()), Err(PdfError::DoesNotFit)));
}

#[test]
fn prints_typed_name_without_mark_and_staff_number_label() {
    let f = Fixture::new(0, 42);
    let mut r = f.receipt();
    r.nip_display = "PTT-2024-0117";
    let pdf = render(&r).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_pdf(dir.path(), "r.pdf", &pdf);
    let text = folded(
        &String::from_utf8(run("pdftotext", "poppler-utils", &[&path, "-"]).stdout).unwrap(),
    );
    assert!(text.contains("Nomor pegawai"), "{text}");
    assert!(text.contains("Budi Santoso"), "{text}");
    assert_eq!(extract_printed(&pdf).unwrap().unwrap().nip, "PTT-2024-0117");
}

#[test]
fn wraps_with_helvetica_widths_including_the_space() {
    // "a b" = 556 + 278 + 556 units.
    assert!((Face::Regular.measure("a b", 10.0) - 13.9).abs() < 1e-4);
    let lines = wrap("aaa bbb ccc", Face::Regular, 10.0, 3.0 * 5.56 * 2.0 + 2.78);
    assert_eq!(lines, vec!["aaa bbb", "ccc"]);
    let long = wrap(&"X".repeat(50), Face::Regular, 10.0, 66.7 * 2.0);
    assert_eq!(
        long.iter().map(String::len).collect::<Vec<_>>(),
        vec![20, 20, 10]
    );
}

#[test]
fn printable_keeps_winansi_and_folds_the_rest() {
    assert_eq!(printable("Ñoño — “ok”"), "Ñoño — “ok”");
    assert_eq!(printable("Nguyễn Đức\tAn"), "Nguyen ?uc An");
}
