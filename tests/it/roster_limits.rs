//! Bounded roster imports (SPEC 4.1): hostile files are refused promptly with a bounded
//! answer, and valid files still import exactly, all or nothing, in chunks.

use std::io::{Cursor, Write};

use axum::http::StatusCode;
use rust_xlsxwriter::Workbook;

use crate::support::*;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Simple-format NON_ASN staff `TK-{first}`…, in two units.
fn staff_csv(first: usize, count: usize) -> Vec<u8> {
    let mut s = String::from("nip,nama,jenis,unit\n");
    for i in first..first + count {
        let unit = if i % 2 == 0 {
            "Bagian Umum"
        } else {
            "Bagian Hukum"
        };
        s.push_str(&format!("TK-{i},Pegawai {i},NON_ASN,{unit}\n"));
    }
    s.into_bytes()
}

async fn staff(app: &TestApp, instansi_id: i64) -> Vec<(String, bool)> {
    let mut all: Vec<(String, bool)> = app
        .store()
        .employees(instansi_id, "tk-%", 1_000_000, 0)
        .await
        .expect("employees")
        .into_iter()
        .map(|e| (e.number, e.active))
        .collect();
    all.sort();
    all
}

#[tokio::test]
async fn a_4_mib_csv_of_bad_rows_gets_1000_errors_and_a_count_of_the_rest() {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let hr = hr_token(&app, a.instansi_id).await;
    // The probe's file: 4 MiB of rows that each break one rule.
    let mut body = b"nip,nama,jenis,unit\n".to_vec();
    let line = b"TK-1,Budi,HONORER,A\n";
    let mut lines = 0u64;
    while body.len() + line.len() <= 4 << 20 {
        body.extend_from_slice(line);
        lines += 1;
    }
    let res = app.upload("/api/v1/roster", &hr, "text/csv", body).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.len() < 512 * 1024, "{} bytes", res.body.len());
    let v = res.json();
    assert_eq!(v["error"]["code"], "roster_invalid");
    let rows = v["error"]["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1000);
    assert_eq!(rows[999]["line"], 1001);
    assert_eq!(v["error"]["unchecked_lines"], lines - 1000);
    let message = v["error"]["message"].as_str().expect("message");
    assert!(
        message.contains(&format!(
            "{} baris berikutnya belum diperiksa",
            lines - 1000
        )),
        "{message}"
    );
    // A short file of bad rows reports them all, with nothing unchecked.
    let res = app
        .upload(
            "/api/v1/roster",
            &hr,
            "text/csv",
            b"nip,nama,jenis,unit\nTK-1,Budi,X,A\n".to_vec(),
        )
        .await;
    assert_eq!(res.json()["error"]["unchecked_lines"], 0);
}

/// A workbook whose first sheet inflates to `sheet_bytes` of rows, written with the ZIP
/// crate at a fast compression level so that the test stays quick.
fn bomb(sheet_bytes: usize) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    let parts: [(&str, &str); 4] = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
    ];
    for (name, xml) in parts {
        zip.start_file(name, opts).expect("part");
        zip.write_all(xml.as_bytes()).expect("write");
    }
    zip.start_file("xl/worksheets/sheet1.xml", opts)
        .expect("sheet");
    zip.write_all(br#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#)
        .expect("write");
    let row = br#"<row><c t="inlineStr"><is><t>x</t></is></c></row>"#.repeat(1 << 14);
    let mut written = 0;
    while written < sheet_bytes {
        zip.write_all(&row).expect("write");
        written += row.len();
    }
    zip.write_all(b"</sheetData></worksheet>").expect("write");
    zip.finish().expect("finish").into_inner()
}

#[tokio::test]
async fn a_decompression_bomb_is_refused_without_being_inflated() {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let hr = hr_token(&app, a.instansi_id).await;
    let bytes = bomb(201 << 20);
    assert!(bytes.len() < 8 << 20, "{} bytes", bytes.len());
    let res = app.upload("/api/v1/roster", &hr, XLSX, bytes).await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    let v = res.json();
    assert_eq!(v["error"]["code"], "xlsx_too_large");
    assert_eq!(v["error"]["field"], "file");
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("200 MiB")
    );
    // The server keeps answering.
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_huge_shared_string_is_refused() {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let hr = hr_token(&app, a.instansi_id).await;
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet
        .write_row(0, 0, ["nip", "nama", "jenis", "unit"])
        .expect("row");
    sheet
        .write_row(1, 0, ["TK-1", &"Ω".repeat(20_000), "NON_ASN", "A"])
        .expect("row");
    let bytes = book.save_to_buffer().expect("xlsx");
    let res = app.upload("/api/v1/roster", &hr, XLSX, bytes).await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    assert_eq!(res.json()["error"]["code"], "xlsx_cell_too_large");
}

#[tokio::test]
async fn valid_files_import_exactly_all_or_nothing_and_deactivate_the_missing() {
    let app = TestApp::new().await;
    let a = seed(app.store()).await;
    let hr = hr_token(&app, a.instansi_id).await;

    // More rows than one chunk, so the import spans several statements.
    let res = app
        .upload("/api/v1/roster", &hr, "text/csv", staff_csv(0, 1300))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let v = res.json();
    assert_eq!(
        (
            &v["rows"],
            &v["created"],
            &v["updated"],
            &v["units_created"]
        ),
        (&1300.into(), &1300.into(), &0.into(), &2.into())
    );
    let before = staff(&app, a.instansi_id).await;
    assert_eq!(before.len(), 1300);
    assert!(before.iter().all(|(_, active)| *active));

    // A bad last row: nothing of the file is imported, not even its first chunks.
    let mut bad = staff_csv(1000, 1200);
    bad.extend_from_slice(b"TK-Z,Budi,HONORER,Bagian Baru\n");
    let res = app
        .upload(
            "/api/v1/roster?deactivate_missing=true",
            &hr,
            "text/csv",
            bad,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.json()["error"]["rows"][0]["line"], 1202);
    assert_eq!(staff(&app, a.instansi_id).await, before);

    // The same file fixed: 300 updated, 900 new, the 1,000 not named deactivated.
    let res = app
        .upload(
            "/api/v1/roster?deactivate_missing=true",
            &hr,
            "text/csv",
            staff_csv(1000, 1200),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let v = res.json();
    assert_eq!((&v["created"], &v["updated"]), (&900.into(), &300.into()));
    // The seeded staff are not in the file either.
    assert_eq!(v["deactivated"], 1000 + 500);
    let after = staff(&app, a.instansi_id).await;
    assert_eq!(after.len(), 2200);
    for (number, active) in &after {
        let i: usize = number.trim_start_matches("TK-").parse().expect("n");
        assert_eq!(*active, i >= 1000, "{number}");
    }

    // An XLSX imports the same way.
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet
        .write_row(0, 0, ["nip", "nama", "jenis", "unit"])
        .expect("row");
    for i in 0..700u32 {
        sheet
            .write_row(
                i + 1,
                0,
                [
                    format!("TK-{i}"),
                    format!("Pegawai {i}"),
                    "NON_ASN".into(),
                    "Bagian Umum".into(),
                ],
            )
            .expect("row");
    }
    let res = app
        .upload(
            "/api/v1/roster",
            &hr,
            XLSX,
            book.save_to_buffer().expect("xlsx"),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        (&res.json()["created"], &res.json()["updated"]),
        (&0.into(), &700.into())
    );
    let reactivated = staff(&app, a.instansi_id).await;
    assert_eq!(
        reactivated.iter().filter(|(_, active)| *active).count(),
        1200 + 700
    );
}
