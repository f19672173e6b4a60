//! Export tests. XLSX files are read back with calamine, as an importer of the report would.

use std::time::Instant;

use calamine::{Data, Reader, Xlsx, open_workbook};

use super::*;
use crate::domain::compliance::{DirectCount, UnitCompliance, roll_up};

fn unit(id: i64, name: &str, parent: Option<i64>, target: u64, signed: u64) -> UnitCompliance {
    UnitCompliance {
        id,
        name: name.to_owned(),
        parent_id: parent,
        target,
        signed,
    }
}

/// A pemkot with two levels under it, listed out of order, and a unit whose parent is
/// not in the list.
fn direct_counts() -> Vec<DirectCount> {
    [
        (3, "Puskesmas Sangkrah", Some(2), 20, 10),
        (1, "Pemerintah Kota Surakarta", None, 2, 1),
        (4, "Puskesmas Gambirsari", Some(2), 30, 30),
        (2, "Dinas Kesehatan", Some(1), 10, 5),
        (5, "Badan Keuangan Daerah", Some(1), 5, 0),
        (6, "Bagian Lama", Some(99), 1, 1),
    ]
    .into_iter()
    .map(|(id, name, parent, t, s)| DirectCount {
        id,
        name: name.to_owned(),
        parent_id: parent,
        target: t,
        signed: s,
    })
    .collect()
}

fn report() -> Compliance {
    let units = roll_up(&direct_counts());
    Compliance {
        campaign_id: 17,
        campaign_title: "Ikrar Netralitas ASN \u{2014} HUT Korpri ke-53".to_owned(),
        template: "ikrar-netralitas-2024@1".to_owned(),
        total_target: 68,
        total_signed: 47,
        units,
    }
}

fn unsigned_rows(n: usize) -> impl Iterator<Item = UnsignedRow> {
    (0..n).map(|i| UnsignedRow {
        nip: format!("19850330201001{:04}", i % 10_000),
        name: format!("Pegawai Nomor {i}"),
        unit: "Dinas Kesehatan".to_owned(),
        position: "Analis Kebijakan Ahli Muda".to_owned(),
    })
}

#[test]
fn rate_is_a_fraction_and_zero_without_target() {
    assert_eq!(rate(0, 0), 0.0);
    assert_eq!(rate(5, 0), 0.0);
    assert_eq!(rate(1, 4), 0.25);
    assert_eq!(rate(7, 7), 1.0);
}

#[test]
fn parents_count_their_subtree_in_tree_order() {
    let units = roll_up(&direct_counts());
    assert_eq!(
        units,
        vec![
            unit(6, "Bagian Lama", None, 1, 1),
            unit(1, "Pemerintah Kota Surakarta", None, 67, 46),
            unit(5, "Badan Keuangan Daerah", Some(1), 5, 0),
            unit(2, "Dinas Kesehatan", Some(1), 60, 45),
            unit(4, "Puskesmas Gambirsari", Some(2), 30, 30),
            unit(3, "Puskesmas Sangkrah", Some(2), 20, 10),
        ]
    );
}

#[test]
fn roll_up_counts_each_unit_once_even_on_a_cycle() {
    let input: Vec<_> = [
        (1, "A", Some(2), 1, 1),
        (2, "B", Some(1), 10, 0),
        (3, "C", Some(3), 100, 100),
    ]
    .into_iter()
    .map(|(id, name, parent, t, s)| DirectCount {
        id,
        name: name.to_owned(),
        parent_id: parent,
        target: t,
        signed: s,
    })
    .collect();
    let units = roll_up(&input);
    assert_eq!(units.len(), 3);
    assert_eq!(units.iter().map(|u| u.target).max(), Some(100));
    let a = units.iter().find(|u| u.id == 1).unwrap();
    assert_eq!((a.target, a.parent_id), (11, None));
    assert_eq!(roll_up(&[]), vec![]);
}

#[test]
fn csv_has_the_fixed_header_units_and_total() {
    let csv = to_csv(&report(), CsvDialect::Standard);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "id_unit,unit_kerja,id_induk,target,sudah_menandatangani,persentase"
    );
    assert_eq!(lines[1], "6,Bagian Lama,,1,1,1.0000");
    assert_eq!(lines[2], "1,Pemerintah Kota Surakarta,,67,46,0.6866");
    assert_eq!(lines[4], "2,Dinas Kesehatan,1,60,45,0.7500");
    assert_eq!(lines[7], ",TOTAL,,68,47,0.6912");
    assert_eq!(lines.len(), 8);
    assert!(csv.ends_with('\n'));
}

#[test]
fn the_excel_indonesia_csv_uses_semicolons_and_decimal_commas() {
    let csv = to_csv(&report(), CsvDialect::ExcelIndonesia);
    assert!(csv.starts_with('\u{feff}'), "a byte order mark for Excel");
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines[0],
        "id_unit;unit_kerja;id_induk;target;sudah_menandatangani;persentase"
    );
    assert_eq!(lines[2], "1;Pemerintah Kota Surakarta;;67;46;0,6866");
    assert_eq!(lines[7], ";TOTAL;;68;47;0,6912");
}

#[test]
fn csv_neutralises_formulas_in_every_text_cell() {
    let mut c = report();
    c.units[0].name = "=HYPERLINK(\"http://evil.example\",\"Klik\")".to_owned();
    c.units[1].name = "+62 Bagian, Umum".to_owned();
    c.units[2].name = "-1".to_owned();
    c.units[3].name = "@SUM(A1)".to_owned();
    let csv = to_csv(&c, CsvDialect::Standard);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv.as_bytes());
    let names: Vec<String> = reader.records().map(|r| r.unwrap()[1].to_owned()).collect();
    assert_eq!(names[0], "'=HYPERLINK(\"http://evil.example\",\"Klik\")");
    assert_eq!(names[1], "'+62 Bagian, Umum");
    assert_eq!(names[2], "'-1");
    assert_eq!(names[3], "'@SUM(A1)");
    for line in csv.lines() {
        for field in line.split(',') {
            let field = field.trim_start_matches('"');
            assert!(
                !field.starts_with(['=', '+', '-', '@']),
                "{field} in {line}"
            );
        }
    }
}

fn write(
    c: &Compliance,
    unsigned: impl Iterator<Item = UnsignedRow>,
) -> (tempfile::TempDir, Xlsx<std::io::BufReader<std::fs::File>>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kepatuhan.xlsx");
    to_xlsx(c, unsigned, &path).unwrap();
    let book: Xlsx<_> = open_workbook(&path).unwrap();
    (dir, book)
}

fn number(range: &calamine::Range<Data>, pos: (u32, u32)) -> f64 {
    match range.get_value(pos) {
        Some(Data::Float(n)) => *n,
        Some(Data::Int(n)) => *n as f64,
        other => panic!("expected a number at {pos:?}, got {other:?}"),
    }
}

fn string(range: &calamine::Range<Data>, pos: (u32, u32)) -> String {
    match range.get_value(pos) {
        Some(Data::String(s)) => s.clone(),
        other => panic!("expected text at {pos:?}, got {other:?}"),
    }
}

#[test]
fn xlsx_numbers_read_back_as_written() {
    let c = report();
    let (_dir, mut book) = write(&c, unsigned_rows(3));
    assert_eq!(
        book.sheet_names(),
        ["Ringkasan", "Per unit", "Belum menandatangani"]
    );

    let units = book.worksheet_range("Per unit").unwrap();
    let styles = book.worksheet_style("Per unit").unwrap();
    for (row, u) in (1..).zip(&c.units) {
        assert_eq!(number(&units, (row, 0)), u.id as f64);
        assert_eq!(string(&units, (row, 1)), u.name);
        match u.parent_id {
            Some(p) => assert_eq!(number(&units, (row, 2)), p as f64),
            None => assert!(matches!(
                units.get_value((row, 2)),
                None | Some(Data::Empty)
            )),
        }
        assert_eq!(number(&units, (row, 3)), u.target as f64);
        assert_eq!(number(&units, (row, 4)), u.signed as f64);
        assert_eq!(number(&units, (row, 5)), (u.target - u.signed) as f64);
        assert_eq!(number(&units, (row, 6)), rate(u.signed, u.target));
        let format = styles.get((row, 6)).and_then(|s| s.number_format.as_ref());
        assert_eq!(format.map(|f| f.format_code.as_str()), Some("0.0%"));
    }
    let total = c.units.len() as u32 + 1;
    assert_eq!(string(&units, (total, 1)), "TOTAL");
    assert_eq!(number(&units, (total, 3)), 68.0);
    assert_eq!(number(&units, (total, 4)), 47.0);
    assert_eq!(number(&units, (total, 6)), rate(47, 68));
    let format = styles
        .get((total, 6))
        .and_then(|s| s.number_format.as_ref());
    assert_eq!(format.map(|f| f.format_code.as_str()), Some("0.0%"));

    let summary = book.worksheet_range("Ringkasan").unwrap();
    assert_eq!(number(&summary, (2, 1)), 17.0);
    assert_eq!(string(&summary, (3, 1)), c.campaign_title);
    assert_eq!(string(&summary, (4, 1)), "ikrar-netralitas-2024@1");
    assert_eq!(number(&summary, (6, 1)), 68.0);
    assert_eq!(number(&summary, (7, 1)), 47.0);
    assert_eq!(number(&summary, (8, 1)), 21.0);
    assert_eq!(number(&summary, (9, 1)), rate(47, 68));
    let styles = book.worksheet_style("Ringkasan").unwrap();
    let format = styles.get((9, 1)).and_then(|s| s.number_format.as_ref());
    assert_eq!(format.map(|f| f.format_code.as_str()), Some("0.0%"));

    let unsigned = book.worksheet_range("Belum menandatangani").unwrap();
    assert_eq!(unsigned.height(), 4);
    assert_eq!(string(&unsigned, (1, 0)), "198503302010010000");
    assert_eq!(string(&unsigned, (3, 1)), "Pegawai Nomor 2");
}

#[test]
fn xlsx_text_cells_are_neutralised() {
    let mut c = report();
    c.campaign_title = "=1+1".to_owned();
    c.units[1].name = "=HYPERLINK(\"http://evil.example\",\"Klik\")".to_owned();
    let unsigned = [UnsignedRow {
        nip: "198503302010011001".to_owned(),
        name: "@Budi".to_owned(),
        unit: "-Bagian Umum".to_owned(),
        position: "+Staf".to_owned(),
    }];
    let (_dir, mut book) = write(&c, unsigned.into_iter());
    let summary = book.worksheet_range("Ringkasan").unwrap();
    assert_eq!(string(&summary, (3, 1)), "'=1+1");
    let units = book.worksheet_range("Per unit").unwrap();
    assert_eq!(
        string(&units, (2, 1)),
        "'=HYPERLINK(\"http://evil.example\",\"Klik\")"
    );
    let rows = book.worksheet_range("Belum menandatangani").unwrap();
    assert_eq!(
        (1..4).map(|c| string(&rows, (1, c))).collect::<Vec<_>>(),
        ["'@Budi", "'-Bagian Umum", "'+Staf"]
    );
    for cell in rows
        .used_cells()
        .chain(units.used_cells())
        .chain(summary.used_cells())
    {
        if let (_, _, Data::String(s)) = cell {
            assert!(!s.starts_with(['=', '+', '-', '@']), "{s}");
        }
    }
}

#[test]
fn long_unsigned_lists_continue_on_numbered_sheets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.xlsx");
    build_xlsx(&report(), unsigned_rows(7), 3)
        .unwrap()
        .save(&path)
        .unwrap();
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    let names = book.sheet_names();
    assert_eq!(
        &names[2..],
        [
            "Belum menandatangani",
            "Belum menandatangani (2)",
            "Belum menandatangani (3)"
        ]
    );
    let heights: Vec<usize> = names[2..]
        .iter()
        .map(|n| book.worksheet_range(n).unwrap().height())
        .collect();
    assert_eq!(heights, [4, 4, 2]);
    let last = book.worksheet_range("Belum menandatangani (3)").unwrap();
    assert_eq!(string(&last, (1, 1)), "Pegawai Nomor 6");
}

#[test]
fn empty_unsigned_list_says_everyone_signed() {
    let (_dir, mut book) = write(&report(), std::iter::empty());
    let rows = book.worksheet_range("Belum menandatangani").unwrap();
    assert!(string(&rows, (1, 0)).contains("sudah menandatangani"));
    assert_eq!(book.sheet_names().len(), 3);
}

#[test]
#[ignore = "writes a 1,000,000-row sheet (tens of seconds in a debug build); `cargo bench --bench export` times it"]
fn writes_a_million_unsigned_rows() {
    let started = Instant::now();
    let (dir, mut book) = write(&report(), unsigned_rows(1_000_000));
    eprintln!("1,000,000 rows written in {:?}", started.elapsed());
    let size = std::fs::metadata(dir.path().join("kepatuhan.xlsx"))
        .unwrap()
        .len();
    eprintln!("file size {size} bytes");
    let rows = book.worksheet_range("Belum menandatangani").unwrap();
    assert_eq!(rows.height(), 1_000_001);
}
