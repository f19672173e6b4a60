//! A log of real entries built in bulk through the store's append transaction, outside
//! HTTP, for the benches (`tiles`, `scale`): records signed with the example pledge key
//! (`keys-example/`), which is published with a window covering every `sequenced_at`;
//! correct `log_index`, non-decreasing `sequenced_at`, stored tree nodes, and a log-signed
//! checkpoint as the head. `ikrar serve --pledge-key keys-example/pledge.pem --log-key
//! keys-example/log.pem` on the same database serves it, and `ikrar audit --token` finds it
//! healthy. The entries belong to no pledge row: the log is all the audit reads.

use std::time::Instant;

use ikrar::service::sequencer::{Keys, sign_checkpoint};
use ikrar::store::{Append, KeyRow, LogHead, Store};
use ikrar::tlog::keys::{KeyPurpose, NamedKey, load_signing_key};
use ikrar::tlog::merkle::{Frontier, leaf_hash};
use ikrar::tlog::record::{Format, RecordBody, short_hash};

/// Entries per append transaction.
const BATCH: u64 = 50_000;
/// The pace the `sequenced_at` times pretend: a ceremony's 5,000 pledges/s.
const PER_SECOND: u64 = 5_000;
/// The public URL the log's names and origin come from; `serve` keeps them once stored.
pub const PUBLIC_URL: &str = "http://127.0.0.1:18600";

/// The log's keys and names, from `keys-example/` and the database's settings (stored on
/// first use, as `serve` does).
pub async fn keys(store: &dyn Store) -> Keys {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("keys-example");
    let pledge = load_signing_key(&dir.join("pledge.pem")).expect("pledge key");
    let log = load_signing_key(&dir.join("log.pem")).expect("log key");
    let host = url::Url::parse(PUBLIC_URL)
        .expect("URL")
        .host_str()
        .expect("host")
        .to_string();
    store
        .init_setting("public_url", PUBLIC_URL)
        .await
        .expect("setting");
    let pledge_name = store
        .init_setting("pledge_key_name", &format!("{host}/pledge"))
        .await
        .expect("setting");
    let log_name = store
        .init_setting("log_key_name", &format!("{host}/log"))
        .await
        .expect("setting");
    let origin = store
        .init_setting("log_origin", &format!("{host}/log"))
        .await
        .expect("setting");
    Keys {
        pledge: NamedKey::new(&pledge_name, pledge),
        log: NamedKey::new(&log_name, log),
        origin,
    }
}

/// The record at `index` of a log whose first entry was sequenced at `t0`.
fn record(keys: &Keys, t0: u64, index: u64) -> Vec<u8> {
    RecordBody {
        format: Format::Pledge,
        key_id: keys.pledge.key_id,
        log_index: index,
        sequenced_at: t0 + index / PER_SECOND,
        nip: 198_001_012_005_011_001 + index,
        template_no: 1,
        statement_hash: short_hash(&format!("ikrar uji {index}")),
        name: format!("Pegawai Uji {index}"),
    }
    .sign(&keys.pledge)
    .to_bytes()
}

/// Signs the records `first..first + count` on every core.
fn sign_range(keys: &Keys, t0: u64, first: u64, count: u64) -> Vec<Vec<u8>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let per = count.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                let from = first + (t * per).min(count);
                let to = first + ((t + 1) * per).min(count);
                s.spawn(move || (from..to).map(|i| record(keys, t0, i)).collect::<Vec<_>>())
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("signing thread"))
            .collect()
    })
}

/// Makes the log `entries` long: builds it into an empty log, or returns at once when the
/// log already has that size (a database kept from an earlier run). Returns the keys.
pub async fn build(store: &dyn Store, entries: u64) -> Keys {
    let keys = keys(store).await;
    let size = store.log_head().await.expect("head").size;
    if size == entries {
        return keys;
    }
    assert_eq!(
        size, 0,
        "the database must be empty or hold exactly {entries} entries"
    );
    let started = Instant::now();
    let now = chrono::Utc::now().timestamp() as u64;
    let t0 = now - entries / PER_SECOND;
    for (purpose, key) in [
        (KeyPurpose::Pledge, &keys.pledge),
        (KeyPurpose::Log, &keys.log),
    ] {
        store
            .publish_key(&KeyRow {
                key_id: key.key_id.to_vec(),
                purpose,
                name: key.name.clone(),
                public_key: key.public_bytes().to_vec(),
                not_before: t0 as i64,
                not_after: None,
            })
            .await
            .expect("publish key");
    }
    let published = store.keys().await.expect("keys");
    assert!(
        published.iter().any(|k| k.key_id == keys.pledge.key_id
            && k.not_before <= t0 as i64
            && k.not_after.is_none()),
        "the example pledge key must be the current one, valid from the log's first entry"
    );

    // The next batch is signed while the current one is written.
    let sign = |first: u64| {
        let keys = keys.clone();
        let count = (entries - first).min(BATCH);
        tokio::task::spawn_blocking(move || sign_range(&keys, t0, first, count))
    };
    let mut pending = Some(sign(0));
    let mut first = 0;
    while let Some(signing) = pending.take() {
        let records = signing.await.expect("signing task");
        let count = records.len() as u64;
        if first + count < entries {
            pending = Some(sign(first + count));
        }
        let mut tx = store.begin_append().await.expect("begin");
        let head = tx.lock_head().await.expect("head");
        assert_eq!(head.size, first, "nothing else appends to this log");
        let mut frontier = Frontier::from_bytes(head.size, &head.frontier).expect("frontier");
        let mut nodes = Vec::with_capacity(2 * records.len());
        let mut appended = Vec::with_capacity(records.len());
        for (offset, record) in records.into_iter().enumerate() {
            nodes.extend(frontier.push(leaf_hash(&record)));
            appended.push((first + offset as u64, record));
        }
        let size = frontier.size();
        let root = frontier.root();
        let append = Append {
            old_size: head.size,
            old_root: head.root,
            entries: appended,
            nodes,
            head: LogHead {
                size,
                root,
                frontier: frontier.to_bytes(),
                last_time: (t0 + (size - 1) / PER_SECOND) as i64,
                checkpoint: sign_checkpoint(&keys, size, root).expect("checkpoint"),
            },
            pledges: Vec::new(),
            annulments: Vec::new(),
        };
        tx.write(&append).await.expect("write");
        tx.commit().await.expect("commit");
        first = size;
        if size.is_multiple_of(1_000_000) || size == entries {
            eprintln!(
                "  {size} entries after {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!(
        "built a log of {entries} entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    keys
}
