//! Compliance export cost (SPEC 8: 1,000,000 staff as XLSX in ≤ 15 s and ≤ 1 GiB
//! resident): the whole workbook with a million-row unsigned list, written to a temporary
//! file. Peak memory is measured outside criterion, with `/usr/bin/time -v` around this
//! benchmark's binary (see BENCHMARKS.md).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

use ikrar::domain::compliance::{Compliance, DirectCount, roll_up};
use ikrar::formats::export::{self, UnsignedRow};

const ROWS: usize = 1_000_000;

fn report() -> Compliance {
    // A pemkot's shape: 40 OPDs of 5 sub-units each.
    let mut direct = Vec::new();
    for opd in 0..40i64 {
        let id = 1000 + opd;
        direct.push(DirectCount {
            id,
            name: format!("Dinas Nomor {opd}"),
            parent_id: None,
            target: 100,
            signed: 60,
        });
        for sub in 0..5i64 {
            direct.push(DirectCount {
                id: id * 10 + sub,
                name: format!("Bidang {sub} Dinas Nomor {opd}"),
                parent_id: Some(id),
                target: 5_000,
                signed: 2_000,
            });
        }
    }
    let units = roll_up(&direct);
    Compliance {
        campaign_id: 17,
        campaign_title: "Ikrar Netralitas ASN \u{2014} HUT Korpri ke-53".to_owned(),
        template: "ikrar-netralitas-2024@1".to_owned(),
        total_target: 1_004_000,
        total_signed: 402_400,
        units,
    }
}

/// Realistic widths: an 18-digit NIP, a name with titles, a long unit and a position.
fn unsigned() -> impl Iterator<Item = UnsignedRow> {
    (0..ROWS).map(|i| UnsignedRow {
        nip: format!("19850330201001{:04}", i % 10_000),
        name: format!("Dr. Pegawai Nomor {i}, S.Kom., M.T."),
        unit: format!("Bidang {} Dinas Nomor {}", i % 5, i % 40),
        position: "Analis Kebijakan Ahli Muda".to_owned(),
    })
}

fn bench(c: &mut Criterion) {
    let report = report();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("kepatuhan.xlsx");
    let mut group = c.benchmark_group("export");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.bench_function("xlsx_1m_unsigned", |b| {
        b.iter(|| export::to_xlsx(black_box(&report), unsigned(), &out).expect("writes"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
