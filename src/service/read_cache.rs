//! What the public read path holds in memory, per instance (SPEC 8: verify and lookup
//! ≥ 20,000/s): what changes rarely, and what never changes once written.
//!
//! - The published keys, read again after [`KEYS_FOR`]: a rotation on another instance
//!   shows within that bound (a key's window only ever closes, never opens).
//! - The newest log-signed checkpoint, read again as soon as this instance's sequencer (or
//!   the shared poller) reports a larger log, and whenever a record names an index the
//!   cached checkpoint does not cover, so a pledge made on another instance verifies at once.
//! - The published checkpoint (`/log/checkpoint`, with the witness policy's choice), for at
//!   most [`PUBLISHED_FOR`] or until the log grows here.
//! - Hash tiles, which never change once their hashes are stored (a partial tile of width W
//!   is a fixed prefix); bounded in count.
//! - Stored node hashes of perfect subtrees, which never change either: inclusion proofs
//!   of records verified before need no query.
//! - Record signatures already verified: the same bytes under the same key stay valid.
//!
//! Never cached: the pledge row (so an annulment shows at once on every instance), the NIP
//! lookup, entry bundles. A database restored under a running server is not a supported
//! operation (the rollback guard exists for it): restart after a restore.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::service::ServiceError;
use crate::service::ServiceResult;
use crate::service::log_proofs::{inclusion_proof, proof_range};
use crate::service::sequencer::{Keys, LogSignal, sign_checkpoint};
use crate::service::tiles::{self, TileBody};
use crate::service::witnessing::accepted_checkpoint;
use crate::store::{KeyRow, Store};
use crate::tlog::merkle::{Hash, NodeId, ProofPlan};
use crate::tlog::policy::Policy;
use crate::tlog::tiles::Tile;

/// How long the published keys are used before they are read again.
pub const KEYS_FOR: Duration = Duration::from_secs(2);
/// How long `/log/checkpoint` is answered from memory (its `Cache-Control` is `max-age=2`).
pub const PUBLISHED_FOR: Duration = Duration::from_millis(500);
/// Hash tiles held (8 KiB each when full): 16 MiB at most.
const MAX_TILES: usize = 2048;
/// Verified record digests held (32 bytes each).
const MAX_VERIFIED: usize = 100_000;
/// Node hashes held (about 50 bytes each with the map): 25 MB at most.
const MAX_NODES: usize = 500_000;

struct Timed<T> {
    at: Instant,
    value: T,
}

/// The newest log-signed checkpoint: its size and note.
#[derive(Clone)]
pub struct Head {
    pub size: u64,
    pub note: Arc<str>,
}

pub struct ReadCache {
    signal: LogSignal,
    keys: RwLock<Option<Timed<Arc<Vec<KeyRow>>>>>,
    head: RwLock<Option<Head>>,
    published: RwLock<Option<Timed<(u64, bytes::Bytes)>>>,
    tiles: RwLock<HashMap<Tile, Arc<TileBody>>>,
    verified: RwLock<HashSet<[u8; 32]>>,
    nodes: RwLock<HashMap<NodeId, Hash>>,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl ReadCache {
    /// `signal` is the log size this process has seen; it only grows.
    pub fn new(signal: LogSignal) -> ReadCache {
        ReadCache {
            signal,
            keys: RwLock::new(None),
            head: RwLock::new(None),
            published: RwLock::new(None),
            tiles: RwLock::new(HashMap::new()),
            verified: RwLock::new(HashSet::new()),
            nodes: RwLock::new(HashMap::new()),
        }
    }

    /// The published keys, at most [`KEYS_FOR`] old.
    pub async fn keys(&self, store: &dyn Store) -> ServiceResult<Arc<Vec<KeyRow>>> {
        if let Some(t) = &*read(&self.keys)
            && t.at.elapsed() < KEYS_FOR
        {
            return Ok(t.value.clone());
        }
        let keys = Arc::new(store.keys().await?);
        *write(&self.keys) = Some(Timed {
            at: Instant::now(),
            value: keys.clone(),
        });
        Ok(keys)
    }

    /// The newest log-signed checkpoint covering at least `min_size` entries when the log
    /// has them: from memory while it is as large as the log this process knows of and
    /// covers `min_size`, else read again.
    pub async fn head(&self, store: &dyn Store, keys: &Keys, min_size: u64) -> ServiceResult<Head> {
        let known = self.signal.size().max(min_size);
        if let Some(h) = &*read(&self.head)
            && h.size >= known
        {
            return Ok(h.clone());
        }
        let (size, note) = current_checkpoint(store, keys).await?;
        let head = Head {
            size,
            note: note.into(),
        };
        let mut cached = write(&self.head);
        if cached.as_ref().is_none_or(|h| h.size < size) {
            *cached = Some(head.clone());
        }
        Ok(head)
    }

    /// What `/log/checkpoint` serves: the newest checkpoint the policy accepts, else the
    /// newest log-signed one; from memory for at most [`PUBLISHED_FOR`], and not once the
    /// log grew here.
    pub async fn published(
        &self,
        store: &dyn Store,
        keys: &Keys,
        policy: Option<&Policy>,
    ) -> ServiceResult<bytes::Bytes> {
        let known = self.signal.size();
        if let Some(t) = &*read(&self.published)
            && t.at.elapsed() < PUBLISHED_FOR
            && t.value.0 >= known
        {
            return Ok(t.value.1.clone());
        }
        let accepted = match policy {
            Some(p) => accepted_checkpoint(store, p, 1).await?,
            None => None,
        };
        let note = match accepted {
            Some((_, note)) => bytes::Bytes::from(note),
            None => bytes::Bytes::copy_from_slice(self.head(store, keys, 0).await?.note.as_bytes()),
        };
        *write(&self.published) = Some(Timed {
            at: Instant::now(),
            value: (known, note.clone()),
        });
        Ok(note)
    }

    /// A hash tile, from memory once read: its bytes never change.
    pub async fn hash_tile(&self, store: &dyn Store, tile: Tile) -> ServiceResult<Arc<TileBody>> {
        if let Some(body) = read(&self.tiles).get(&tile) {
            return Ok(body.clone());
        }
        let body = Arc::new(tiles::hash_tile(store, tile).await?);
        let mut cached = write(&self.tiles);
        if cached.len() >= MAX_TILES {
            cached.clear();
        }
        cached.insert(tile, body.clone());
        Ok(body)
    }

    /// The inclusion proof of `index` in the tree of `size` (which the caller checked the
    /// log has reached): nodes from memory, the missing ones in one query.
    pub async fn inclusion_proof(
        &self,
        store: &dyn Store,
        index: u64,
        size: u64,
    ) -> ServiceResult<Vec<Hash>> {
        let plan = ProofPlan::inclusion(index, size)
            .map_err(|e| proof_range(format!("Rentang tidak sah: {e}")))?;
        let wanted = plan.nodes();
        let missing: Vec<NodeId> = {
            let nodes = read(&self.nodes);
            wanted
                .iter()
                .filter(|id| !nodes.contains_key(id))
                .copied()
                .collect()
        };
        if !missing.is_empty() {
            let fetched = store.log_nodes(&missing).await?;
            let mut nodes = write(&self.nodes);
            if nodes.len() + fetched.len() > MAX_NODES {
                nodes.clear();
            }
            nodes.extend(fetched);
        }
        let proof = {
            let nodes = read(&self.nodes);
            plan.assemble(|id| nodes.get(&id).copied())
        };
        match proof {
            Ok(hashes) => Ok(hashes),
            // Cleared between the fill and the read: read from the store alone.
            Err(_) => inclusion_proof(store, index, size).await,
        }
    }

    /// Whether these record bytes (by digest) passed their signature check before.
    pub fn signature_checked(&self, digest: &[u8; 32]) -> bool {
        read(&self.verified).contains(digest)
    }

    pub fn remember_signature(&self, digest: [u8; 32]) {
        let mut set = write(&self.verified);
        if set.len() >= MAX_VERIFIED {
            set.clear();
        }
        set.insert(digest);
    }
}

/// (tree size, signed checkpoint) of the latest stored head; before the first append, a
/// signed empty tree.
pub async fn current_checkpoint(store: &dyn Store, keys: &Keys) -> ServiceResult<(u64, String)> {
    let head = store.log_head().await?;
    if head.checkpoint.is_empty() {
        let note = sign_checkpoint(keys, 0, head.root)
            .map_err(|e| ServiceError::internal("signing the empty checkpoint", e))?;
        return Ok((0, note));
    }
    Ok((head.size, head.checkpoint))
}
