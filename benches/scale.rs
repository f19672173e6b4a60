//! The log at 10 million entries (SPEC 8: an inclusion proof ≤ 2 ms, a tile read ≤ 1 ms,
//! storage ≤ 1 KiB per pledge beyond its pledge row): builds the log in bulk outside HTTP
//! (`support/bulk_log.rs`, real signed records), prints its storage per entry, then
//! measures an inclusion proof into the whole tree (the use case behind
//! `/api/v1/log/inclusion`) and full tile reads.
//!
//! `IKRAR_BENCH_DATABASE` names the database (default: a temporary SQLite file); a database
//! kept from an earlier run with exactly `IKRAR_BENCH_ENTRIES` entries (default 10,000,000)
//! is measured without building again, and `ikrar serve` can serve it for `ikrar audit`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

use ikrar::domain::account::Role;
use ikrar::service::{tiles, verification};
use ikrar::tlog::tiles::Tile;

#[path = "support/bulk_log.rs"]
mod bulk_log;

/// The log's tables: what a pledge costs beyond its row in `pledges`.
const LOG_TABLES: [&str; 4] = ["log_entries", "log_nodes", "checkpoints", "log_state"];

/// Prints the bytes the log's tables take, in total and per entry.
async fn report_storage(url: &str, entries: u64) {
    let per_entry = |bytes: i64| bytes as f64 / entries as f64;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let pool = sqlx::SqlitePool::connect(url).await.expect("sqlite");
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&pool)
            .await
            .expect("checkpoint");
        let file = std::fs::metadata(path).expect("database file").len();
        eprintln!(
            "storage: SQLite file {file} bytes, {:.1} bytes per entry",
            per_entry(file as i64)
        );
        // dbstat is compiled into the bundled SQLite; each index is its own b-tree.
        let rows: Result<Vec<(String, String, i64)>, _> = sqlx::query_as(
            "SELECT d.name, COALESCE(m.tbl_name, d.name), SUM(d.pgsize) FROM dbstat d
             LEFT JOIN sqlite_schema m ON m.name = d.name GROUP BY d.name ORDER BY 3 DESC",
        )
        .fetch_all(&pool)
        .await;
        match rows {
            Ok(rows) => {
                let mut log = 0;
                for (name, table, bytes) in rows {
                    if LOG_TABLES.contains(&table.as_str()) {
                        log += bytes;
                        eprintln!(
                            "  {name} ({table}): {bytes} bytes, {:.1} per entry",
                            per_entry(bytes)
                        );
                    }
                }
                eprintln!(
                    "  log tables: {log} bytes, {:.1} bytes per entry",
                    per_entry(log)
                );
            }
            Err(e) => eprintln!("  (no dbstat: {e})"),
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.expect("postgres");
        let mut log = 0;
        for table in LOG_TABLES {
            let (total, heap): (i64, i64) = sqlx::query_as(
                "SELECT pg_total_relation_size($1::regclass), pg_relation_size($1::regclass)",
            )
            .bind(table)
            .fetch_one(&pool)
            .await
            .expect("size");
            log += total;
            eprintln!(
                "  {table}: {total} bytes with indexes and TOAST ({heap} heap), {:.1} per entry",
                per_entry(total)
            );
        }
        eprintln!(
            "storage: PostgreSQL log tables {log} bytes, {:.1} bytes per entry",
            per_entry(log)
        );
        pool.close().await;
    }
}

fn bench(c: &mut Criterion) {
    let entries: u64 = std::env::var("IKRAR_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = std::env::var("IKRAR_BENCH_DATABASE")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("scale.db").display()));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = rt.block_on(async {
        let s = ikrar::store::connect(&url).await.expect("connect");
        s.migrate().await.expect("migrate");
        bulk_log::build(s.as_ref(), entries).await;
        report_storage(&url, entries).await;
        s
    });
    let full0 = entries / 256;
    assert!(full0 > 0, "the log needs a full level-0 tile");
    // Deterministic spread over the log, so reads do not all hit one cached page.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 11) % n
    };

    let mut g = c.benchmark_group(format!("scale_{}_{entries}", store.engine()));
    g.bench_function("inclusion_proof", |b| {
        b.iter(|| {
            let index = next(entries);
            black_box(
                rt.block_on(verification::inclusion(store.as_ref(), index, entries))
                    .expect("proof"),
            )
        })
    });
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
    let full1 = entries / 65_536;
    if full1 > 0 {
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
