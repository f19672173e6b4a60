//! Tile read cost (SPEC 8: a tile read ≤ 1 ms at 10 million entries; tiles ≥ 20,000
//! requests/s): a full level-0 and level-1 hash tile, the right-edge partial tile and a
//! full entry bundle, read through the use case (one range query on the store) from a log
//! of real, signed entries built in bulk outside HTTP (`support/bulk_log.rs`).
//!
//! `IKRAR_BENCH_ENTRIES` sets the log's size (default 1,000,000); `IKRAR_BENCH_DATABASE`
//! a PostgreSQL database to build it in (default: a temporary SQLite file).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

use ikrar::domain::account::Role;
use ikrar::service::tiles;
use ikrar::store;
use ikrar::tlog::tiles::Tile;

#[path = "support/bulk_log.rs"]
mod bulk_log;

fn bench(c: &mut Criterion) {
    let entries: u64 = std::env::var("IKRAR_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = std::env::var("IKRAR_BENCH_DATABASE")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("tiles.db").display()));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = rt.block_on(async {
        let s = store::connect(&url).await.expect("connect");
        s.migrate().await.expect("migrate");
        bulk_log::build(s.as_ref(), entries).await;
        s
    });
    let full0 = entries / 256;
    let full1 = entries / 65_536;
    assert!(full1 > 0, "the log needs a full level-1 tile");
    // Deterministic spread over the log, so reads do not all hit one cached page.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 11) % n
    };

    let mut g = c.benchmark_group(format!("tiles_{}_{entries}", store.engine()));
    g.bench_function("hash_tile_level0_full", |b| {
        b.iter(|| {
            let tile = Tile {
                level: 0,
                index: next(full0),
                width: 256,
            };
            black_box(
                rt.block_on(tiles::hash_tile(store.as_ref(), tile))
                    .expect("tile"),
            )
        })
    });
    g.bench_function("hash_tile_level1_full", |b| {
        b.iter(|| {
            let tile = Tile {
                level: 1,
                index: next(full1),
                width: 256,
            };
            black_box(
                rt.block_on(tiles::hash_tile(store.as_ref(), tile))
                    .expect("tile"),
            )
        })
    });
    let edge = (entries % 256) as u16;
    if edge > 0 {
        g.bench_function("hash_tile_level0_partial", |b| {
            b.iter(|| {
                let tile = Tile {
                    level: 0,
                    index: full0,
                    width: edge,
                };
                black_box(
                    rt.block_on(tiles::hash_tile(store.as_ref(), tile))
                        .expect("tile"),
                )
            })
        });
    }
    g.bench_function("entry_bundle_full", |b| {
        b.iter(|| {
            let tile = Tile {
                level: 0,
                index: next(full0),
                width: 256,
            };
            black_box(
                rt.block_on(tiles::entry_bundle_for(
                    store.as_ref(),
                    Role::LogAuditor,
                    tile,
                ))
                .expect("bundle"),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
