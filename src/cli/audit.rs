//! `ikrar audit` (SPEC 3.9): checks a log from the outside, from its public checkpoint and
//! hash tiles — and, with a `log-auditor` token, every entry — and remembers what it saw in
//! a state file so that the next run checks only the new part and catches a rewritten
//! history.
//!
//! The tree is rebuilt from the level-0 tiles: every leaf hash is pushed onto a Merkle
//! frontier whose root must equal the signed checkpoint's, which authenticates every tile
//! fetched. The state keeps the frontier at the size last seen, so a later run pushes only
//! the new leaves onto it; a root that still matches proves the new tree extends the old
//! one. When it does not match, the run starts again from leaf 0 to tell a rewritten
//! history (the first `old` leaves no longer give the stored root) from altered tiles.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::cli::args::AuditArgs;
use crate::service::offline::{self, KeySet};
use crate::tlog::merkle::{Frontier, Hash, leaf_hash};
use crate::tlog::note::{self, Checkpoint, Verifier};
use crate::tlog::record::{Format, Record};
use crate::tlog::tiles::{TILE_WIDTH, Tile};

/// Why an audit did not pass: the log is wrong (exit 1) or it could not be checked (exit 2).
#[derive(Debug)]
enum Stop {
    Failed(String),
    Unable(String),
}

fn failed(msg: impl Into<String>) -> Stop {
    Stop::Failed(msg.into())
}

fn unable(msg: impl Into<String>) -> Stop {
    Stop::Unable(msg.into())
}

/// What the state file keeps between runs. No entry content: the NIPs and names stay on the
/// server.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AuditState {
    origin: String,
    /// The pinned log key (signed-note verifier key).
    log_vkey: String,
    size: u64,
    /// Base64 root of the tree of `size` leaves.
    root: String,
    /// Base64 of the frontier hashes of that tree (see [`Frontier::to_bytes`]).
    frontier: String,
    /// How many leading entries have been checked with a token (0 without one).
    entries_checked: u64,
    /// `sequenced_at` of the last entry checked.
    last_sequenced_at: u64,
}

/// `ikrar audit`: prints a summary and exits 0, 1 or 2.
pub(super) async fn audit(args: &AuditArgs) -> anyhow::Result<()> {
    crate::install_tls();
    match run(args).await {
        Ok(summary) => {
            println!("{summary}");
            Ok(())
        }
        Err(Stop::Failed(reason)) => {
            println!("GAGAL: {reason}");
            std::process::exit(1);
        }
        Err(Stop::Unable(reason)) => {
            println!("TIDAK DAPAT DIPERIKSA: {reason}");
            std::process::exit(2);
        }
    }
}

async fn run(args: &AuditArgs) -> Result<String, Stop> {
    let base = args.url.trim_end_matches('/').to_string();
    let url = url::Url::parse(&base).map_err(|e| unable(format!("URL {base} tidak sah: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(unable(format!("URL {base} bukan http(s)://HOST")));
    }
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| default_state_path(&url));
    let old = read_state(&state_path)?;
    let policy = match &args.policy {
        Some(path) => Some(super::read_policy(path).map_err(|e| unable(format!("{e:#}")))?),
        None => None,
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| unable(e.to_string()))?;
    let log = Log {
        client,
        base: base.clone(),
        token: args.token.clone(),
        hash_tiles: Arc::default(),
        entry_bundles: Arc::default(),
    };

    // 1. The checkpoint, under the trusted log key.
    let trusted_keys = match &args.keys {
        Some(k) if k.starts_with("http://") || k.starts_with("https://") => Some(
            offline::fetch_keys(&log.client, k)
                .await
                .map_err(|e| unable(e.0))?,
        ),
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| unable(format!("berkas kunci {file} tidak terbaca: {e}")))?;
            Some(KeySet::parse(&text).map_err(|e| unable(e.0))?)
        }
        None => None,
    };
    let (verifiers, pinned) = match (&trusted_keys, &old) {
        (Some(keys), _) => {
            let vs = keys.log_verifiers().map_err(|e| unable(e.0))?;
            let current = keys.log_verifier().map_err(|e| unable(e.0))?.vkey();
            (vs, current)
        }
        (None, Some(state)) => {
            let v = Verifier::from_vkey(&state.log_vkey)
                .map_err(|e| unable(format!("kunci log di berkas status tidak sah: {e}")))?;
            (vec![v], state.log_vkey.clone())
        }
        (None, None) => {
            let keys = offline::fetch_keys(&log.client, &base)
                .await
                .map_err(|e| unable(e.0))?;
            let v = keys.log_verifier().map_err(|e| unable(e.0))?;
            let vkey = v.vkey();
            (vec![v], vkey)
        }
    };
    let note_text = log.get_text("/log/checkpoint").await?;
    let body = note::open(&note_text, &verifiers).map_err(|e| {
        failed(format!(
            "checkpoint tidak ditandatangani kunci log yang dipercaya: {e}"
        ))
    })?;
    let checkpoint =
        Checkpoint::parse(body).map_err(|e| failed(format!("checkpoint rusak: {e}")))?;
    let witnesses = match &policy {
        Some(policy) => Some(offline::check_quorum(&note_text, policy).map_err(|e| failed(e.0))?),
        None => None,
    };
    let old = match old {
        Some(state) => Some(Seen::from_state(state, &checkpoint)?),
        None => None,
    };

    // Pledge keys are needed only to check entries; they come from the trusted keys, else
    // from the log's own /api/v1/keys (the log key above is what pins the history).
    let pledge_keys = match (&args.token, trusted_keys) {
        (None, _) => None,
        (Some(_), Some(keys)) => Some(keys),
        (Some(_), None) => Some(
            offline::fetch_keys(&log.client, &base)
                .await
                .map_err(|e| unable(e.0))?,
        ),
    };

    // 2–4. Incremental when the state allows it, from leaf 0 otherwise or to tell why an
    // incremental pass failed.
    let mut outcome = None;
    if let Some(seen) = &old {
        let incremental = pledge_keys.is_none() || seen.state.entries_checked == seen.state.size;
        if incremental {
            match pass(&log, &checkpoint, Some(seen), pledge_keys.as_ref(), true).await {
                Ok(done) => outcome = Some(done),
                Err(Stop::Unable(e)) => return Err(Stop::Unable(e)),
                Err(Stop::Failed(_)) => {}
            }
        }
    }
    let done = match outcome {
        Some(done) => done,
        None => pass(&log, &checkpoint, old.as_ref(), pledge_keys.as_ref(), false).await?,
    };

    // 5. The new state, atomically.
    let new_state = AuditState {
        origin: checkpoint.origin.clone(),
        log_vkey: pinned,
        size: checkpoint.size,
        root: B64.encode(checkpoint.root),
        frontier: B64.encode(done.frontier.to_bytes()),
        entries_checked: if pledge_keys.is_some() {
            checkpoint.size
        } else {
            old.as_ref()
                .map_or(0, |s| s.state.entries_checked.min(s.state.size))
        },
        last_sequenced_at: match (&pledge_keys, &old) {
            (None, Some(seen)) => seen.state.last_sequenced_at,
            _ => done.last_sequenced_at,
        },
    };
    write_state(&state_path, &new_state)?;

    let from = old.as_ref().map_or(0, |s| s.state.size);
    let mut summary = format!(
        "LOG SEHAT: {} · ukuran {} · root {} cocok dengan checkpoint",
        checkpoint.origin,
        checkpoint.size,
        B64.encode(checkpoint.root)
    );
    if old.is_some() {
        summary.push_str(&format!(
            " · konsisten dengan checkpoint sebelumnya (ukuran {from})"
        ));
    }
    match witnesses.as_deref() {
        Some([]) => summary.push_str(" · kebijakan saksi tidak meminta tanda tangan saksi"),
        Some(names) => summary.push_str(&format!(" · disaksikan oleh {}", names.join(", "))),
        None => {}
    }
    summary.push_str(&format!(
        " · tile hash diambil: {} · bundel entri diambil: {}",
        log.hash_tiles.load(Ordering::Relaxed),
        log.entry_bundles.load(Ordering::Relaxed)
    ));
    summary.push_str(&match pledge_keys {
        Some(_) => format!(" · entri diperiksa: {}", done.entries),
        None => " · entri tidak diperiksa (tanpa token log-auditor)".to_string(),
    });
    summary.push_str(&format!(" · status: {}", state_path.display()));
    Ok(summary)
}

/// The state of an earlier run, checked against the new checkpoint.
struct Seen {
    state: AuditState,
    root: Hash,
    frontier: Frontier,
}

impl Seen {
    fn from_state(state: AuditState, checkpoint: &Checkpoint) -> Result<Seen, Stop> {
        let bad = || unable("berkas status rusak");
        let root: Hash = B64
            .decode(&state.root)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(bad)?;
        let frontier_bytes = B64.decode(&state.frontier).map_err(|_| bad())?;
        let frontier = Frontier::from_bytes(state.size, &frontier_bytes).map_err(|_| bad())?;
        if frontier.root() != root {
            return Err(bad());
        }
        if state.origin != checkpoint.origin {
            return Err(unable(format!(
                "berkas status milik log {}, bukan {}",
                state.origin, checkpoint.origin
            )));
        }
        if checkpoint.size < state.size {
            return Err(failed(format!(
                "riwayat log ditulis ulang: checkpoint kini berukuran {}, lebih kecil dari {} \
                 yang pernah terlihat (entri dihapus)",
                checkpoint.size, state.size
            )));
        }
        if checkpoint.size == state.size && checkpoint.root != root {
            return Err(failed(format!(
                "riwayat log ditulis ulang: checkpoint berukuran {} dengan root lain dari yang \
                 pernah terlihat",
                state.size
            )));
        }
        Ok(Seen {
            state,
            root,
            frontier,
        })
    }
}

/// What a successful pass leaves behind.
struct Done {
    frontier: Frontier,
    entries: u64,
    last_sequenced_at: u64,
}

/// One pass over the leaves: from the stored frontier (`incremental`) or from leaf 0.
/// Fails with the first thing wrong, in index order.
async fn pass(
    log: &Log,
    checkpoint: &Checkpoint,
    old: Option<&Seen>,
    pledge_keys: Option<&KeySet>,
    incremental: bool,
) -> Result<Done, Stop> {
    let size = checkpoint.size;
    let (mut frontier, mut last_sequenced_at) = match old {
        Some(seen) if incremental => (seen.frontier.clone(), seen.state.last_sequenced_at),
        _ => (Frontier::empty(), 0),
    };
    let start = frontier.size();
    let progress = Progress(indicatif::ProgressBar::with_draw_target(
        Some(size - start),
        indicatif::ProgressDrawTarget::stderr(),
    ));
    let progress = &progress.0;
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} entri ({eta})")
    {
        progress.set_style(style.progress_chars("=> "));
    }
    progress.set_message("Memeriksa log");
    // Pledges seen in this pass, by (NIP, template, name): an annulment names one of them.
    let mut pledges: HashSet<u64> = HashSet::new();
    let mut entries = 0u64;
    let width = u64::from(TILE_WIDTH);
    let mut next = start / width;
    let end = if start < size {
        size.div_ceil(width)
    } else {
        next
    };
    let keys = pledge_keys.cloned().map(Arc::new);
    // Up to FETCHES_IN_FLIGHT tiles are fetched ahead, their entries checked each on its
    // own in parallel (check_bundle), and the results taken in index order here.
    let mut in_flight = InFlight(std::collections::VecDeque::new());
    loop {
        while next < end && in_flight.0.len() < FETCHES_IN_FLIGHT {
            let tile = Tile {
                level: 0,
                index: next,
                width: (size - next * width).min(width) as u16,
            };
            let log = log.clone();
            let keys = keys.clone();
            in_flight.0.push_back(tokio::spawn(async move {
                let hashes = log.hash_tile(&tile).await?;
                let checked = match keys {
                    Some(keys) => {
                        let records = log.entry_bundle(&tile).await?;
                        let leaves = hashes.clone();
                        let first = tile.index * width;
                        let checked = tokio::task::spawn_blocking(move || {
                            check_bundle(first, &records, &leaves, &keys)
                        })
                        .await
                        .map_err(|e| unable(format!("pemeriksaan entri terhenti: {e}")))?;
                        Some(checked)
                    }
                    None => None,
                };
                Ok((tile, hashes, checked))
            }));
            next += 1;
        }
        let Some(task) = in_flight.0.pop_front() else {
            break;
        };
        let (tile, hashes, checked) = task
            .await
            .map_err(|e| unable(format!("pengambilan tile terhenti: {e}")))??;
        let first = tile.index * width;
        let mut checked = checked.map(Vec::into_iter);
        for (offset, leaf) in hashes.iter().enumerate() {
            let index = first + offset as u64;
            let entry = checked.as_mut().and_then(Iterator::next);
            if index < start {
                continue;
            }
            if let Some(entry) = entry {
                let record = check_in_order(index, entry, last_sequenced_at)?;
                last_sequenced_at = record.body.sequenced_at;
                if !names_earlier_pledge(&mut pledges, &record) {
                    // The pledge may be before this pass: the caller looks again from leaf 0.
                    return Err(failed(format!(
                        "entri {index}: pembatalan tidak menunjuk ikrar sebelumnya (tidak ada \
                         ikrar lebih awal dengan NIP, templat dan nama yang sama)"
                    )));
                }
                entries += 1;
            }
            frontier.push(*leaf);
            if let Some(seen) = old
                && !incremental
                && frontier.size() == seen.state.size
                && frontier.root() != seen.root
            {
                return Err(failed(format!(
                    "riwayat log ditulis ulang: {} entri pertama tidak lagi sama dengan \
                     checkpoint yang pernah terlihat (ukuran {}, root {})",
                    seen.state.size, seen.state.size, seen.state.root
                )));
            }
        }
        progress.set_position(frontier.size() - start);
    }
    if frontier.root() != checkpoint.root {
        return Err(failed(format!(
            "root yang dihitung dari tile tidak sama dengan checkpoint (ukuran {size}): tile \
             hash telah diubah"
        )));
    }
    Ok(Done {
        frontier,
        entries,
        last_sequenced_at,
    })
}

type Fetched = (Tile, Vec<Hash>, Option<Vec<Result<Checked, Stop>>>);

/// The fetches ahead, in index order; those not awaited are stopped when a pass ends early.
struct InFlight(std::collections::VecDeque<tokio::task::JoinHandle<Result<Fetched, Stop>>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// A progress bar on stderr (drawn only on a terminal), cleared however the pass ends.
struct Progress(indicatif::ProgressBar);

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Checks one entry of a bundle against its leaf and the published pledge keys.
#[cfg(test)]
fn check_entry(
    index: u64,
    bytes: &[u8],
    leaf: &Hash,
    keys: &KeySet,
    last_sequenced_at: u64,
) -> Result<Record, Stop> {
    let mut checked = check_bundle(index, &[bytes.to_vec()], &[*leaf], keys);
    check_in_order(index, checked.remove(0), last_sequenced_at)
}

/// An entry that hashes to its leaf and parses, with what its key and signature gave.
struct Checked {
    record: Record,
    /// The published pledge key of its key id whose window contains its time.
    key: Result<(), Stop>,
    signature_ok: bool,
}

/// The checks of a bundle's entries (the first at index `first`) that need no other entry:
/// each hashes to its leaf and parses, names a published key whose window contains its
/// time, and is signed by it (in batches, see [`Record::verify_signatures`]). Run off the
/// async threads, several tiles at once; [`check_in_order`] takes the results in index
/// order, so the failure named is the lowest index's first broken rule.
fn check_bundle(
    first: u64,
    records: &[Vec<u8>],
    leaves: &[Hash],
    keys: &KeySet,
) -> Vec<Result<Checked, Stop>> {
    let mut checked: Vec<Result<Checked, Stop>> = Vec::with_capacity(records.len());
    let mut signed = Vec::with_capacity(records.len());
    // Decoding a key costs as much as a signature check: once per key and bundle.
    let mut decoded: Vec<(&str, ed25519_dalek::VerifyingKey)> = Vec::new();
    for (offset, (bytes, leaf)) in records.iter().zip(leaves).enumerate() {
        let index = first + offset as u64;
        if leaf_hash(bytes) != *leaf {
            checked.push(Err(failed(format!(
                "entri {index} telah diubah: isinya tidak sesuai dengan hash daun di log"
            ))));
            continue;
        }
        let record = match Record::parse(bytes) {
            Ok(record) => record,
            Err(e) => {
                checked.push(Err(failed(format!(
                    "entri {index} tidak dapat dibaca: {e}"
                ))));
                continue;
            }
        };
        let key = keys
            .pledge_key_at(&record.body.key_id, record.body.sequenced_at)
            .and_then(|published| {
                if let Some((_, key)) = decoded.iter().find(|(id, _)| *id == published.key_id) {
                    return Ok(*key);
                }
                let key = published.verifying_key()?;
                decoded.push((&published.key_id, key));
                Ok(key)
            });
        let key = match key {
            Ok(key) => {
                signed.push((checked.len(), key));
                Ok(())
            }
            Err(e) => Err(failed(format!("entri {index}: {e}"))),
        };
        checked.push(Ok(Checked {
            record,
            key,
            signature_ok: false,
        }));
    }
    let items: Vec<(&Record, ed25519_dalek::VerifyingKey)> = signed
        .iter()
        .filter_map(|&(at, key)| match &checked[at] {
            Ok(c) => Some((&c.record, key)),
            Err(_) => None,
        })
        .collect();
    let verdicts = Record::verify_signatures(&items);
    for (&(at, _), ok) in signed.iter().zip(verdicts) {
        if let Ok(c) = &mut checked[at] {
            c.signature_ok = ok;
        }
    }
    checked
}

/// The rest of an entry's checks, in the order they are named: its position, its time
/// after the previous entry's, then its key and signature.
fn check_in_order(
    index: u64,
    checked: Result<Checked, Stop>,
    last_sequenced_at: u64,
) -> Result<Record, Stop> {
    let checked = checked?;
    let record = checked.record;
    if record.body.log_index != index {
        return Err(failed(format!(
            "entri dihapus atau diurutkan ulang: entri di posisi {index} berindeks {}",
            record.body.log_index
        )));
    }
    if record.body.sequenced_at < last_sequenced_at {
        return Err(failed(format!(
            "entri {index}: waktu mundur (sequenced_at {} sebelum {last_sequenced_at})",
            record.body.sequenced_at
        )));
    }
    checked.key?;
    if !checked.signature_ok {
        return Err(failed(format!(
            "entri {index}: tanda tangan digital tidak sah"
        )));
    }
    Ok(record)
}

/// Notes a pledge, or tells whether an annulment names a pledge among those noted before
/// it. Pledges are remembered by a 64-bit digest of who they are about.
fn names_earlier_pledge(pledges: &mut HashSet<u64>, record: &Record) -> bool {
    let who = identity(record);
    match record.body.format {
        Format::Pledge => {
            pledges.insert(who);
            true
        }
        Format::Annulment => pledges.contains(&who),
    }
}

/// Who a record is about: an annulment carries the annulled pledge's NIP, template_no and
/// name (SPEC 3.2); the pledge's index and leaf hash are only in the annulment text, which
/// the log does not hold.
fn identity(record: &Record) -> u64 {
    let b = &record.body;
    let mut bytes = Vec::with_capacity(12 + b.name.len());
    bytes.extend_from_slice(&b.nip.to_be_bytes());
    bytes.extend_from_slice(&b.template_no.to_be_bytes());
    bytes.extend_from_slice(b.name.as_bytes());
    let digest = crate::domain::statement::sha256(&bytes);
    u64::from_be_bytes(digest[..8].try_into().expect("8 of 32 bytes"))
}

/// Tiles (with their entry bundles) fetched ahead of the one being checked.
const FETCHES_IN_FLIGHT: usize = 8;

/// The log over HTTP, counting what it fetches; clones share the counters.
#[derive(Clone)]
struct Log {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
    hash_tiles: Arc<AtomicU64>,
    entry_bundles: Arc<AtomicU64>,
}

impl Log {
    async fn get(&self, path: &str, auth: bool) -> Result<Vec<u8>, Stop> {
        let url = format!("{}{path}", self.base);
        let mut req = self.client.get(&url);
        if auth && let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let res = req
            .send()
            .await
            .map_err(|e| unable(format!("tidak dapat menghubungi {url}: {e}")))?;
        match res.status().as_u16() {
            200 => {}
            401 | 403 if auth => return Err(unable(format!("token ditolak oleh {url}"))),
            404 if auth => {
                return Err(unable(format!(
                    "{url} menjawab 404: token bukan milik pemantau log (log-auditor), atau \
                     bundel entri hilang"
                )));
            }
            404 => {
                return Err(failed(format!(
                    "{url} tidak ada, padahal checkpoint mencakupnya"
                )));
            }
            status => return Err(unable(format!("{url} menjawab {status}"))),
        }
        res.bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| unable(format!("jawaban {url} tidak terbaca: {e}")))
    }

    async fn get_text(&self, path: &str) -> Result<String, Stop> {
        String::from_utf8(self.get(path, false).await?)
            .map_err(|_| failed(format!("{path} bukan teks UTF-8")))
    }

    async fn hash_tile(&self, tile: &Tile) -> Result<Vec<Hash>, Stop> {
        let path = format!("/log/tile/{}", tile.hash_path());
        let body = self.get(&path, false).await?;
        self.hash_tiles.fetch_add(1, Ordering::Relaxed);
        if body.len() != usize::from(tile.width) * 32 {
            return Err(failed(format!(
                "{path} berisi {} byte, bukan {} hash",
                body.len(),
                tile.width
            )));
        }
        Ok(body
            .chunks_exact(32)
            .map(|c| c.try_into().expect("32-byte chunks"))
            .collect())
    }

    async fn entry_bundle(&self, tile: &Tile) -> Result<Vec<Vec<u8>>, Stop> {
        let path = format!("/log/tile/{}", tile.entries_path());
        let body = self.get(&path, true).await?;
        self.entry_bundles.fetch_add(1, Ordering::Relaxed);
        let first = tile.index * u64::from(TILE_WIDTH);
        let mut records = Vec::with_capacity(usize::from(tile.width));
        let mut rest = body.as_slice();
        while let Some((len, tail)) = rest.split_first_chunk::<2>() {
            let len = usize::from(u16::from_be_bytes(*len));
            if tail.len() < len {
                break;
            }
            records.push(tail[..len].to_vec());
            rest = &tail[len..];
        }
        if !rest.is_empty() || records.len() != usize::from(tile.width) {
            return Err(failed(format!(
                "entri dihapus atau diurutkan ulang: bundel {path} tidak memuat tepat {} entri \
                 mulai dari indeks {first}",
                tile.width
            )));
        }
        Ok(records)
    }
}

/// `<host>.audit-state` in the working directory (`<host>_<port>` when a port is named).
fn default_state_path(url: &url::Url) -> PathBuf {
    let host = url.host_str().unwrap_or("log");
    PathBuf::from(match url.port() {
        Some(port) => format!("{host}_{port}.audit-state"),
        None => format!("{host}.audit-state"),
    })
}

fn read_state(path: &Path) -> Result<Option<AuditState>, Stop> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| unable(format!("berkas status {} rusak: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(unable(format!(
            "berkas status {} tidak terbaca: {e}",
            path.display()
        ))),
    }
}

/// Writes the state to a temporary file beside it, syncs it and renames it into place.
fn write_state(path: &Path, state: &AuditState) -> Result<(), Stop> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let cannot = |e: &dyn std::fmt::Display| {
        unable(format!(
            "berkas status {} tidak dapat ditulis: {e}",
            path.display()
        ))
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| cannot(&e))?;
    let json = serde_json::to_vec_pretty(state).map_err(|e| cannot(&e))?;
    tmp.write_all(&json).map_err(|e| cannot(&e))?;
    tmp.as_file().sync_all().map_err(|e| cannot(&e))?;
    tmp.persist(path).map_err(|e| cannot(&e.error))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tlog::keys::NamedKey;
    use crate::tlog::record::RecordBody;
    use ed25519_dalek::SigningKey;

    fn pledge_key() -> NamedKey {
        NamedKey::new("ikrar.example/pledge", SigningKey::from_bytes(&[3u8; 32]))
    }

    /// The keys JSON of a deployment whose pledge key is valid from t=1000 to t=2000.
    fn keys() -> KeySet {
        let k = pledge_key();
        KeySet::parse(
            &serde_json::json!({"keys": [{
                "name": k.name,
                "key_id": hex::encode(k.key_id),
                "purpose": "pledge",
                "public_key": B64.encode(k.public_bytes()),
                "vkey": k.vkey(),
                "not_before": "1970-01-01T00:16:40Z",
                "not_after": "1970-01-01T00:33:20Z",
            }]})
            .to_string(),
        )
        .unwrap()
    }

    fn record(format: Format, index: u64, at: u64, nip: u64) -> Record {
        RecordBody {
            format,
            key_id: pledge_key().key_id,
            log_index: index,
            sequenced_at: at,
            nip,
            template_no: 1,
            statement_hash: [9; 16],
            name: "Budi Santoso".into(),
        }
        .sign(&pledge_key())
    }

    fn check(index: u64, record: &Record, last: u64) -> Result<Record, String> {
        let bytes = record.to_bytes();
        check_entry(index, &bytes, &leaf_hash(&bytes), &keys(), last).map_err(|e| match e {
            Stop::Failed(m) => m,
            Stop::Unable(m) => panic!("unexpected: {m}"),
        })
    }

    #[test]
    fn a_valid_entry_passes() {
        let r = record(Format::Pledge, 4, 1500, 1);
        assert_eq!(check(4, &r, 1400).unwrap(), r);
    }

    #[test]
    fn each_broken_rule_is_named() {
        let r = record(Format::Pledge, 4, 1500, 1);
        let bytes = r.to_bytes();
        let other = leaf_hash(b"another entry");
        let Err(Stop::Failed(m)) = check_entry(4, &bytes, &other, &keys(), 0) else {
            panic!("an entry unlike its leaf passed");
        };
        assert!(m.contains("entri 4 telah diubah"), "{m}");
        let e = check(5, &r, 0).unwrap_err();
        assert!(e.contains("dihapus atau diurutkan ulang"), "{e}");
        let e = check(4, &r, 1501).unwrap_err();
        assert!(e.contains("waktu mundur"), "{e}");
        let e = check(4, &record(Format::Pledge, 4, 2500, 1), 0).unwrap_err();
        assert!(e.contains("di luar masa berlaku"), "{e}");
        let mut forged = r.clone();
        forged.body.nip = 2;
        let e = check(4, &forged, 0).unwrap_err();
        assert!(e.contains("tanda tangan digital tidak sah"), "{e}");
    }

    /// The first failure of a bundle checked as `pass` does: its entries each on their own
    /// (signatures in a batch), then in index order.
    fn first_failure(records: &[Record], leaves: Option<&[Hash]>) -> Option<String> {
        let bytes: Vec<Vec<u8>> = records.iter().map(Record::to_bytes).collect();
        let own: Vec<Hash> = bytes.iter().map(|b| leaf_hash(b)).collect();
        let mut last = 0;
        for (index, entry) in check_bundle(0, &bytes, leaves.unwrap_or(&own), &keys())
            .into_iter()
            .enumerate()
        {
            match check_in_order(index as u64, entry, last) {
                Ok(record) => last = record.body.sequenced_at,
                Err(Stop::Failed(m)) => return Some(m),
                Err(Stop::Unable(m)) => panic!("unexpected: {m}"),
            }
        }
        None
    }

    #[test]
    fn a_bundle_names_its_lowest_failing_entry_and_its_first_broken_rule() {
        let good: Vec<Record> = (0..300)
            .map(|i| record(Format::Pledge, i, 1500, i + 1))
            .collect();
        assert_eq!(first_failure(&good, None), None);

        let mut bad = good.clone();
        bad[200].body.nip = 9; // signature no longer valid
        bad[250] = record(Format::Pledge, 251, 1500, 1); // out of place
        let m = first_failure(&bad, None).unwrap();
        assert!(
            m.contains("entri 200: tanda tangan digital tidak sah"),
            "{m}"
        );

        // A worse entry earlier is named first, whatever the batch found later.
        bad[120] = record(Format::Pledge, 121, 1500, 1);
        let m = first_failure(&bad, None).unwrap();
        assert!(m.contains("posisi 120 berindeks 121"), "{m}");

        // An altered leaf before everything else.
        let mut leaves: Vec<Hash> = bad.iter().map(Record::leaf_hash).collect();
        leaves[7] = leaf_hash(b"something else");
        let m = first_failure(&bad, Some(&leaves)).unwrap();
        assert!(m.contains("entri 7 telah diubah"), "{m}");

        // One entry, several rules broken: time before key window before signature.
        let mut late = good.clone();
        late[5] = record(Format::Pledge, 5, 2500, 1);
        late[5].body.nip = 9;
        late[6] = record(Format::Pledge, 6, 1499, 1);
        let m = first_failure(&late, None).unwrap();
        assert!(
            m.contains("entri 5") && m.contains("di luar masa berlaku"),
            "{m}"
        );
        late[5] = good[5].clone();
        late[6].body.nip = 9;
        let m = first_failure(&late, None).unwrap();
        assert!(m.contains("entri 6: waktu mundur"), "{m}");
    }

    #[test]
    fn an_annulment_must_follow_its_pledge() {
        let mut pledges = HashSet::new();
        let annul = record(Format::Annulment, 1, 1500, 7);
        assert!(!names_earlier_pledge(&mut pledges, &annul));
        assert!(names_earlier_pledge(
            &mut pledges,
            &record(Format::Pledge, 2, 1500, 7)
        ));
        assert!(names_earlier_pledge(&mut pledges, &annul));
        let stranger = record(Format::Annulment, 3, 1500, 8);
        assert!(!names_earlier_pledge(&mut pledges, &stranger));
    }

    #[test]
    fn the_state_must_agree_with_itself_and_the_new_checkpoint() {
        let mut frontier = Frontier::empty();
        for i in 0..5u8 {
            frontier.push(leaf_hash(&[i]));
        }
        let state = AuditState {
            origin: "ikrar.example/log".into(),
            log_vkey: String::new(),
            size: 5,
            root: B64.encode(frontier.root()),
            frontier: B64.encode(frontier.to_bytes()),
            entries_checked: 0,
            last_sequenced_at: 0,
        };
        let cp = |size, root| Checkpoint {
            origin: "ikrar.example/log".into(),
            size,
            root,
        };
        assert!(Seen::from_state(state.clone(), &cp(6, [0; 32])).is_ok());
        let Err(Stop::Failed(m)) = Seen::from_state(state.clone(), &cp(4, [0; 32])) else {
            panic!("a smaller tree passed");
        };
        assert!(m.contains("ditulis ulang"), "{m}");
        let Err(Stop::Failed(m)) = Seen::from_state(state.clone(), &cp(5, [0; 32])) else {
            panic!("another root at the same size passed");
        };
        assert!(m.contains("ditulis ulang"), "{m}");
        assert!(Seen::from_state(state.clone(), &cp(5, frontier.root())).is_ok());
        let mut torn = state;
        torn.root = B64.encode([1u8; 32]);
        assert!(matches!(
            Seen::from_state(torn, &cp(6, [0; 32])),
            Err(Stop::Unable(_))
        ));
    }
}
