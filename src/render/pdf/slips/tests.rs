//! Slip tests, with the Debian tools a print shop's proof would use: `pdftoppm` and
//! `pdftotext` (poppler-utils), `qpdf` (qpdf) and `zbarimg` (zbar-tools). A missing tool
//! fails the test with the package to install.

use std::path::{Path, PathBuf};

use super::*;
use crate::render::pdf::tests::run;
use crate::render::qr::tests::zbar_decode;

const INSTANSI: &str = "Pemerintah Kota Surakarta";
const CAMPAIGN: &str = "Ikrar Netralitas ASN \u{2014} HUT Korpri ke-53";

struct Person {
    name: String,
    nip: String,
    unit: String,
    link: String,
}

/// `count` staff with realistic names, NIPs and units, and 26-character base32 tokens.
fn people(count: usize) -> Vec<Person> {
    const NAMES: [&str; 6] = [
        "Dr. Anisa Santoso, S.E.",
        "Ratna Simanjuntak, A.Md.",
        "drg. Rina Siregar, S.Kep., Ns.",
        "Ir. Heru Wijaya, S.Pd.",
        "Ni'matul Sembiring, S.T.",
        "I Made Utami, M.M.",
    ];
    const UNITS: [&str; 4] = [
        "Badan Keuangan Daerah",
        "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu",
        "Kecamatan Pasar Kliwon",
        "Badan Kepegawaian dan Pengembangan Sumber Daya Manusia",
    ];
    (0..count)
        .map(|i| {
            let digest = crate::domain::statement::sha256(&i.to_be_bytes());
            let token = data_encoding::BASE32_NOPAD.encode(&digest[..16]);
            Person {
                name: format!("{} {}", NAMES[i % NAMES.len()], i + 1),
                nip: format!("19850330 201001 1 {:03}", i + 1),
                unit: UNITS[i % UNITS.len()].to_owned(),
                link: format!("https://ikrar.surakarta.go.id/s/{token}"),
            }
        })
        .collect()
}

fn slips(people: &[Person]) -> Vec<Slip<'_>> {
    people
        .iter()
        .map(|p| Slip {
            name: &p.name,
            nip_display: &p.nip,
            unit: &p.unit,
            link: &p.link,
        })
        .collect()
}

/// Writes the PDF and renders each page at 150 dpi; returns the PDF's path and the pages'
/// images in page order.
fn rasterise(dir: &Path, pdf: &[u8]) -> (String, Vec<PathBuf>) {
    let path = dir.join("slips.pdf");
    std::fs::write(&path, pdf).unwrap();
    let path = path.to_str().unwrap().to_owned();
    let prefix = dir.join("page");
    run(
        "pdftoppm",
        "poppler-utils",
        &["-r", "150", "-png", &path, prefix.to_str().unwrap()],
    );
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    // pdftoppm pads page numbers to the same width, so names sort in page order.
    pages.sort();
    (path, pages)
}

/// The QR texts of one page image, in reading order (left to right, top to bottom).
///
/// zbarimg reports symbols in no promised order, so each slip's cell is cropped out and
/// decoded alone: that also proves each code sits on the slip that names its owner.
fn decode_in_order(page: &Path, dir: &Path) -> Vec<String> {
    let whole = zbar_decode(page);
    let mut ordered = Vec::new();
    let (w, h) = png_size(page);
    let (cw, ch) = (w / COLUMNS as u32, h / ROWS as u32);
    for cell in 0..PER_PAGE {
        let (cx, cy) = ((cell % COLUMNS) as u32 * cw, (cell / COLUMNS) as u32 * ch);
        let crop = dir.join(format!("cell-{cell}.pgm"));
        crop_pgm(page, &crop, cx, cy, cw, ch);
        let mut found = zbar_decode(&crop);
        assert!(found.len() <= 1, "cell {cell} holds {found:?}");
        ordered.append(&mut found);
    }
    let mut sorted_whole = whole.clone();
    sorted_whole.sort();
    let mut sorted_cells = ordered.clone();
    sorted_cells.sort();
    assert_eq!(
        sorted_whole, sorted_cells,
        "the page and its cells decode alike"
    );
    ordered
}

/// Width and height of a PNG, from its IHDR chunk.
fn png_size(png: &Path) -> (u32, u32) {
    let bytes = std::fs::read(png).unwrap();
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Crops a rectangle out of a page image into a PGM, by rendering it again with
/// pdftoppm's own cropping (no image library needed).
fn crop_pgm(page: &Path, out: &Path, x: u32, y: u32, w: u32, h: u32) {
    let pdf = page.parent().unwrap().join("slips.pdf");
    // Page images are named `page-N.png`.
    let stem = page.file_stem().unwrap().to_str().unwrap();
    let number = stem.rsplit('-').next().unwrap().trim_start_matches('0');
    let prefix = out.with_extension("");
    run(
        "pdftoppm",
        "poppler-utils",
        &[
            "-r",
            "150",
            "-gray",
            "-singlefile",
            "-f",
            number,
            "-l",
            number,
            "-x",
            &x.to_string(),
            "-y",
            &y.to_string(),
            "-W",
            &w.to_string(),
            "-H",
            &h.to_string(),
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    assert!(out.exists(), "pdftoppm wrote no {}", out.display());
}

#[test]
fn qr_link_is_the_link_in_uppercase_and_alphanumeric() {
    let link = "https://ikrar.surakarta.go.id/s/mfrggzdfmztwq2lknnwg23tpob";
    assert_eq!(
        qr_link(link),
        "HTTPS://IKRAR.SURAKARTA.GO.ID/S/MFRGGZDFMZTWQ2LKNNWG23TPOB"
    );
    assert!(qr::encode(&qr_link(link)).is_ok());
    assert_eq!(
        qr_link("http://127.0.0.1:8080/s/ABC"),
        "HTTP://127.0.0.1:8080/S/ABC"
    );
}

#[test]
fn every_page_scans_to_its_links_in_order() {
    let people = people(19);
    let pdf = render(INSTANSI, CAMPAIGN, &slips(&people)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (path, pages) = rasterise(dir.path(), &pdf);
    assert_eq!(pages.len(), 3);

    let report = run("qpdf", "qpdf", &["--check", &path]);
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("No syntax or stream encoding errors found"),
        "{report}"
    );

    for (page, expected) in pages.iter().zip(people.chunks(PER_PAGE)) {
        let expected: Vec<String> = expected.iter().map(|p| qr_link(&p.link)).collect();
        assert_eq!(
            decode_in_order(page, dir.path()),
            expected,
            "{}",
            page.display()
        );
    }
}

#[test]
fn pdftotext_shows_names_nips_and_the_instruction() {
    let people = people(10);
    let pdf = render(INSTANSI, CAMPAIGN, &slips(&people)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slips.pdf");
    std::fs::write(&path, &pdf).unwrap();
    // Content order, so that a name wrapped onto two lines reads as one, whatever the
    // slip beside it holds.
    let out = run(
        "pdftotext",
        "poppler-utils",
        &["-raw", path.to_str().unwrap(), "-"],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for p in &people {
        assert!(folded.contains(&p.name), "{} missing", p.name);
        assert!(
            folded.contains(&format!("NIP {}", p.nip)),
            "{} missing",
            p.nip
        );
        assert!(folded.contains(&p.link), "{} missing", p.link);
    }
    assert_eq!(text.matches("PEMERINTAH KOTA SURAKARTA").count(), 10);
    assert_eq!(text.matches("Pindai kode QR").count(), 10);
    assert_eq!(text.matches('\u{c}').count(), 2, "two pages");
}

#[test]
fn long_texts_are_shortened_to_fit() {
    let lines = fit(
        "Prof. Dr. Ir. Raden Mas Bambang Hadikusumo Wiryodiningrat Sastrowardoyo, S.H., M.Hum., M.Kn., M.Si.",
        Face::Bold,
        10.5,
        150.0,
        2,
    );
    assert_eq!(lines.len(), 2);
    assert!(lines[1].ends_with('\u{2026}'), "{lines:?}");
    assert!(lines.iter().all(|l| Face::Bold.measure(l, 10.5) <= 150.0));
    assert_eq!(
        fit("Dinas Sosial", Face::Regular, 8.5, 150.0, 2),
        ["Dinas Sosial"]
    );
}

#[test]
fn a_long_unit_and_a_staff_number_still_render_and_scan() {
    let link = "https://ikrar.kabupaten-contoh-yang-panjang.go.id/s/MFRGGZDFMZTWQ2LKNNWG23TPOB";
    let unit = "Bidang Pengadaan, Pemberhentian dan Informasi Kepegawaian pada Badan \
                Kepegawaian dan Pengembangan Sumber Daya Manusia Daerah";
    let slip = Slip {
        name: "Sri Wahyuni",
        nip_display: "TKPK/2024/00017",
        unit,
        link,
    };
    let pdf = render(INSTANSI, CAMPAIGN, &[slip]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (path, pages) = rasterise(dir.path(), &pdf);
    assert_eq!(decode_in_order(&pages[0], dir.path()), [qr_link(link)]);
    let out = run("pdftotext", "poppler-utils", &[&path, "-"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Nomor pegawai TKPK/2024/00017"), "{text}");
    assert!(text.contains('\u{2026}'), "the unit is shortened: {text}");
}

#[test]
fn no_slips_is_an_error() {
    assert!(matches!(
        render(INSTANSI, CAMPAIGN, &[]),
        Err(PdfError::NoSlips)
    ));
}
