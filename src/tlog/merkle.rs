//! The Merkle tree of the transparency log (RFC 9162 §2.1): leaf and node hashing, the
//! right-edge [`Frontier`] that grows the tree one leaf at a time, the [`ProofPlan`] that
//! turns stored perfect subtrees into inclusion proofs, consistency proofs and roots, and
//! the proof verifiers. Pure: no I/O, storage is reached through a lookup closure.
//!
//! Every node the log stores is a perfect subtree ([`NodeId`]). Any subtree hash an RFC 9162
//! proof needs covers a range `[a, b)` that is either perfect or the right edge of a larger
//! perfect subtree; in the second case it is composed from the perfect nodes of its binary
//! decomposition. So serving a proof is one batched lookup plus some hashing, never a
//! rebuild of the tree.

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, a node hash or a tree root.
pub type Hash = [u8; 32];

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(entry);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Copies a 32-byte hash out of a slice, refusing any other length.
pub fn hash_from_slice(b: &[u8]) -> Result<Hash, LogError> {
    b.try_into()
        .map_err(|_| LogError::HashLength { got: b.len() })
}

/// A stored node: hash of the perfect subtree covering leaves [index << level, (index + 1) << level).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    /// First leaf covered.
    pub fn start(&self) -> u64 {
        self.index << self.level
    }

    /// Number of leaves covered.
    pub fn width(&self) -> u64 {
        1 << self.level
    }
}

/// Right edge of a tree: hashes of the perfect subtrees that compose a tree of `size` leaves, leftmost (largest) first.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    /// One hash per set bit of `size`, from the highest bit down.
    hashes: Vec<Hash>,
}

impl Frontier {
    pub fn empty() -> Self {
        Self::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// RFC 9162 MTH of the whole tree; [`empty_root`] when it has no leaves.
    pub fn root(&self) -> Hash {
        fold_right(&self.hashes)
    }

    /// Appends a leaf hash; returns every perfect node it completes: (level 0, the leaf) first, then each completed parent.
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let index = self.size;
        let mut completed = vec![(NodeId { level: 0, index }, leaf)];
        let mut current = leaf;
        let mut level: u8 = 0;
        // Each trailing one bit of the old size is a perfect subtree of the same width as
        // `current`, immediately to its left: merging them carries like binary addition.
        while (index >> level) & 1 == 1 {
            let left = self
                .hashes
                .pop()
                .expect("a set bit of size always has its subtree hash in the frontier");
            current = node_hash(&left, &current);
            level += 1;
            completed.push((
                NodeId {
                    level,
                    index: index >> level,
                },
                current,
            ));
        }
        self.hashes.push(current);
        self.size = index
            .checked_add(1)
            .expect("a log cannot hold 2^64 entries");
        completed
    }

    /// The frontier hashes, concatenated, leftmost first. The size is stored beside them.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.hashes.concat()
    }

    /// Rebuilds a frontier from its size and [`Frontier::to_bytes`].
    pub fn from_bytes(size: u64, bytes: &[u8]) -> Result<Self, LogError> {
        let want = size.count_ones() as usize;
        if bytes.len() != want * 32 {
            return Err(LogError::FrontierLength {
                size,
                got: bytes.len(),
                want: want * 32,
            });
        }
        let hashes = bytes
            .chunks_exact(32)
            .map(|c| c.try_into().expect("chunks_exact yields 32-byte chunks"))
            .collect();
        Ok(Self { size, hashes })
    }
}

/// MTH of a tree whose perfect subtrees, leftmost (largest) first, have these hashes: RFC 9162
/// splits at the largest power of two below the size, which is exactly the leftmost subtree.
fn fold_right(hashes: &[Hash]) -> Hash {
    let Some((last, rest)) = hashes.split_last() else {
        return empty_root();
    };
    rest.iter()
        .rev()
        .fold(*last, |acc, left| node_hash(left, &acc))
}

/// The perfect nodes composing leaves `[start, end)`, leftmost (largest) first.
///
/// Only called for ranges that RFC 9162 treats as one subtree (whose start is aligned to a
/// power of two at least their width), where this is the binary decomposition of the width.
fn decompose(start: u64, end: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut at = start;
    while at < end {
        let room = end - at;
        let mut level = 63 - room.leading_zeros();
        if at != 0 {
            level = level.min(at.trailing_zeros());
        }
        nodes.push(NodeId {
            level: level as u8,
            index: at >> level,
        });
        at += 1 << level;
    }
    nodes
}

/// Largest power of two strictly below `n` (n >= 2).
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// What a proof or root needs from storage: a set of perfect nodes, fetched in one query, then assembled.
/// Any subtree hash the RFC 9162 proof algorithm needs is a range [a, b); when it is not perfect, it is
/// composed from the perfect nodes of its decomposition. So proofs never need a rebuild of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofPlan {
    /// One entry per output hash, in proof order; each lists the perfect nodes it folds.
    parts: Vec<Vec<NodeId>>,
}

impl ProofPlan {
    /// The audit path of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1).
    pub fn inclusion(index: u64, size: u64) -> Result<Self, LogError> {
        if index >= size {
            return Err(LogError::IndexOutOfRange { index, size });
        }
        let mut parts = Vec::new();
        // PATH(m, D[lo:hi]) appends its sibling after the deeper part of the path, so
        // walking top-down collects siblings top-first; reversed at the end.
        let (mut lo, mut hi) = (0, size);
        while hi - lo > 1 {
            let k = split_point(hi - lo);
            if index < lo + k {
                parts.push(decompose(lo + k, hi));
                hi = lo + k;
            } else {
                parts.push(decompose(lo, lo + k));
                lo += k;
            }
        }
        parts.reverse();
        Ok(Self { parts })
    }

    /// The consistency proof from the tree of `old` leaves to the tree of `new` leaves
    /// (RFC 9162 §2.1.4.1); empty when they are equal.
    pub fn consistency(old: u64, new: u64) -> Result<Self, LogError> {
        check_consistency_sizes(old, new)?;
        let mut parts = Vec::new();
        // SUBPROOF(m, D[lo:hi], b), walked top-down like `inclusion`.
        let (mut lo, mut hi, mut whole) = (0, new, true);
        let m = old;
        loop {
            if m == hi {
                if !whole {
                    parts.push(decompose(lo, hi));
                }
                break;
            }
            let k = split_point(hi - lo);
            if m <= lo + k {
                parts.push(decompose(lo + k, hi));
                hi = lo + k;
            } else {
                parts.push(decompose(lo, lo + k));
                lo += k;
                whole = false;
            }
        }
        parts.reverse();
        Ok(Self { parts })
    }

    /// Assembles to exactly one hash: the MTH of the first `size` leaves.
    pub fn root(size: u64) -> Self {
        Self {
            parts: vec![decompose(0, size)],
        }
    }

    /// The perfect nodes to fetch, deduplicated and sorted.
    pub fn nodes(&self) -> Vec<NodeId> {
        let mut nodes: Vec<NodeId> = self.parts.iter().flatten().copied().collect();
        nodes.sort_unstable();
        nodes.dedup();
        nodes
    }

    /// Builds the proof (or root) from fetched nodes; a node `lookup` lacks is an error.
    pub fn assemble(&self, lookup: impl Fn(NodeId) -> Option<Hash>) -> Result<Vec<Hash>, LogError> {
        self.parts
            .iter()
            .map(|part| {
                let hashes = part
                    .iter()
                    .map(|&id| lookup(id).ok_or(LogError::MissingNode(id)))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(fold_right(&hashes))
            })
            .collect()
    }
}

/// Checks that `leaf` is at `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), LogError> {
    let computed = root_from_inclusion_proof(leaf, index, size, proof)?;
    expect_root(&computed, root)
}

/// Checks that the tree of `new` leaves with `new_root` extends the tree of `old` leaves with
/// `old_root`. Equal sizes need an empty proof and equal roots; `old == 0` is refused, since
/// the empty tree is a prefix of every tree and a proof from it means nothing.
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), LogError> {
    let computed = root_from_consistency_proof(old, new, proof, old_root)?;
    expect_root(&computed, new_root)
}

/// Root computed from an inclusion proof (useful for tiles/audit).
pub fn root_from_inclusion_proof(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, LogError> {
    if index >= size {
        return Err(LogError::IndexOutOfRange { index, size });
    }
    let (inner, border) = decompose_inclusion(index, size);
    if proof.len() != inner + border {
        return Err(LogError::ProofLength {
            got: proof.len(),
            want: inner + border,
        });
    }
    let (inner_proof, border_proof) = proof.split_at(inner);
    let hash = chain_inner(*leaf, inner_proof, index);
    Ok(chain_border_right(hash, border_proof))
}

/// Root of the tree of `new` leaves computed from a consistency proof, after checking that
/// the proof also reproduces `old_root`.
pub fn root_from_consistency_proof(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
) -> Result<Hash, LogError> {
    check_consistency_sizes(old, new)?;
    if old == new {
        check_empty_proof(proof.len())?;
        return Ok(*old_root);
    }
    if proof.is_empty() {
        return Err(LogError::ProofLength { got: 0, want: 1 });
    }

    let (inner, border) = decompose_inclusion(old - 1, new);
    let shift = old.trailing_zeros() as usize;
    // old < new, so the paths of leaves old-1 and new-1 diverge above the perfect subtree of
    // width 2^shift that ends the old tree.
    let inner = inner - shift;

    // The proof starts with the hash of that subtree, unless it is the whole old tree, whose
    // hash the verifier already has.
    let (seed, rest) = if old == 1 << shift {
        (*old_root, proof)
    } else {
        (proof[0], &proof[1..])
    };
    let want = inner + border + usize::from(old != 1 << shift);
    if proof.len() != want {
        return Err(LogError::ProofLength {
            got: proof.len(),
            want,
        });
    }
    let (inner_proof, border_proof) = rest.split_at(inner);
    let mask = (old - 1) >> shift;

    let old_computed = chain_border_right(chain_inner_right(seed, inner_proof, mask), border_proof);
    expect_root(&old_computed, old_root)?;
    Ok(chain_border_right(
        chain_inner(seed, inner_proof, mask),
        border_proof,
    ))
}

/// [`verify_inclusion`] for hashes straight off the wire: any of them not 32 bytes long fails.
pub fn verify_inclusion_bytes(
    leaf: &[u8],
    index: u64,
    size: u64,
    proof: &[impl AsRef<[u8]>],
    root: &[u8],
) -> Result<(), LogError> {
    let proof = hashes_from_slices(proof)?;
    verify_inclusion(
        &hash_from_slice(leaf)?,
        index,
        size,
        &proof,
        &hash_from_slice(root)?,
    )
}

/// [`verify_consistency`] for hashes straight off the wire. Equal sizes need an empty proof
/// and byte-identical roots whatever their length, as in transparency-dev/merkle; otherwise
/// any hash not 32 bytes long fails.
pub fn verify_consistency_bytes(
    old: u64,
    new: u64,
    proof: &[impl AsRef<[u8]>],
    old_root: &[u8],
    new_root: &[u8],
) -> Result<(), LogError> {
    check_consistency_sizes(old, new)?;
    if old == new {
        check_empty_proof(proof.len())?;
        return if old_root == new_root {
            Ok(())
        } else {
            Err(LogError::RootMismatch {
                computed: hex::encode(old_root),
                expected: hex::encode(new_root),
            })
        };
    }
    let proof = hashes_from_slices(proof)?;
    verify_consistency(
        old,
        new,
        &proof,
        &hash_from_slice(old_root)?,
        &hash_from_slice(new_root)?,
    )
}

fn hashes_from_slices(slices: &[impl AsRef<[u8]>]) -> Result<Vec<Hash>, LogError> {
    slices.iter().map(|s| hash_from_slice(s.as_ref())).collect()
}

/// A consistency proof needs `0 < old <= new`: the empty tree is a prefix of every tree, so
/// a proof from it would mean nothing.
fn check_consistency_sizes(old: u64, new: u64) -> Result<(), LogError> {
    if old == 0 || old > new {
        Err(LogError::ConsistencySizes { old, new })
    } else {
        Ok(())
    }
}

fn check_empty_proof(len: usize) -> Result<(), LogError> {
    if len == 0 {
        Ok(())
    } else {
        Err(LogError::ProofLength { got: len, want: 0 })
    }
}

fn expect_root(computed: &Hash, expected: &Hash) -> Result<(), LogError> {
    if computed == expected {
        Ok(())
    } else {
        Err(LogError::RootMismatch {
            computed: hex::encode(computed),
            expected: hex::encode(expected),
        })
    }
}

/// Splits the audit path of `index` in a tree of `size` into the part below the point where
/// it meets the path of the last leaf (`inner`) and the part along the right border above it.
fn decompose_inclusion(index: u64, size: u64) -> (usize, usize) {
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = index.checked_shr(inner as u32).unwrap_or(0).count_ones() as usize;
    (inner, border)
}

fn chain_inner(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, h) in proof.iter().enumerate() {
        seed = if (index >> i) & 1 == 0 {
            node_hash(&seed, h)
        } else {
            node_hash(h, &seed)
        };
    }
    seed
}

/// Like [`chain_inner`], but only with the siblings left of the path: what the subtree was
/// before anything right of the path was appended.
fn chain_inner_right(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, h) in proof.iter().enumerate() {
        if (index >> i) & 1 == 1 {
            seed = node_hash(h, &seed);
        }
    }
    seed
}

/// Along the right border every sibling is a left one.
fn chain_border_right(seed: Hash, proof: &[Hash]) -> Hash {
    proof.iter().fold(seed, |acc, h| node_hash(h, &acc))
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("hash has {got} bytes, expected 32")]
    HashLength { got: usize },
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("no consistency proof from tree size {old} to tree size {new}")]
    ConsistencySizes { old: u64, new: u64 },
    #[error("proof has {got} hashes, expected {want}")]
    ProofLength { got: usize, want: usize },
    #[error("computed root {computed} does not match expected root {expected}")]
    RootMismatch { computed: String, expected: String },
    #[error("tree node at level {} index {} is missing from storage", .0.level, .0.index)]
    MissingNode(NodeId),
    #[error("frontier of tree size {size} needs {want} bytes, got {got}")]
    FrontierLength { size: u64, got: usize, want: usize },
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// RFC 9162 §2.1.1 MTH, written as the RFC states it.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    /// RFC 9162 §2.1.3.1 PATH(m, D[n]).
    fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = split_point(n as u64) as usize;
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    /// RFC 9162 §2.1.4.1 PROOF(m, D[n]).
    fn proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        subproof(m, leaves, true)
    }

    fn subproof(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if whole { Vec::new() } else { vec![mth(leaves)] };
        }
        let k = split_point(n as u64) as usize;
        if m <= k {
            let mut p = subproof(m, &leaves[..k], whole);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = subproof(m - k, &leaves[k..], false);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&(i as u64).to_be_bytes()))
            .collect()
    }

    /// Grows a log through `Frontier::push`, keeping only what push hands to storage.
    fn grow(leaves: &[Hash]) -> (Frontier, HashMap<NodeId, Hash>) {
        let mut frontier = Frontier::empty();
        let mut store = HashMap::new();
        for leaf in leaves {
            for (id, hash) in frontier.push(*leaf) {
                assert!(
                    store.insert(id, hash).is_none(),
                    "node {id:?} emitted twice"
                );
            }
        }
        (frontier, store)
    }

    fn assemble(plan: &ProofPlan, store: &HashMap<NodeId, Hash>) -> Vec<Hash> {
        plan.assemble(|id| store.get(&id).copied())
            .expect("push stores every perfect node")
    }

    #[test]
    fn empty_tree_root_is_hash_of_nothing() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Frontier::empty().root(), empty_root());
        let plan = ProofPlan::root(0);
        assert!(plan.nodes().is_empty());
        assert_eq!(
            plan.assemble(|_| None).expect("no nodes needed"),
            vec![empty_root()]
        );
    }

    #[test]
    fn hashes_follow_rfc_9162_known_answers() {
        // Leaf and two-leaf root from the RFC 6962 test tree used by transparency-dev/merkle.
        assert_eq!(
            hex::encode(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let l0 = leaf_hash(b"");
        let l1 = leaf_hash(&[0x00]);
        assert_eq!(
            hex::encode(node_hash(&l0, &l1)),
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"
        );
    }

    #[test]
    fn hash_from_slice_rejects_wrong_length() {
        assert!(hash_from_slice(&[0; 31]).is_err());
        assert!(hash_from_slice(&[0; 33]).is_err());
        assert_eq!(hash_from_slice(&[7; 32]).expect("32 bytes"), [7; 32]);
    }

    #[test]
    fn push_reports_completed_parents() {
        let l = leaves(4);
        let mut f = Frontier::empty();
        f.push(l[0]);
        f.push(l[1]);
        f.push(l[2]);
        let done = f.push(l[3]);
        let ids: Vec<NodeId> = done.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            ids,
            vec![
                NodeId { level: 0, index: 3 },
                NodeId { level: 1, index: 1 },
                NodeId { level: 2, index: 0 },
            ]
        );
        assert_eq!(done[2].1, mth(&l));
        assert_eq!(f.root(), mth(&l));
    }

    #[test]
    fn frontier_from_bytes_checks_hash_count() {
        assert!(Frontier::from_bytes(3, &[0; 32]).is_err());
        assert!(Frontier::from_bytes(3, &[0; 96]).is_err());
        assert!(Frontier::from_bytes(0, &[]).is_ok());
        assert!(Frontier::from_bytes(4, &[0; 32]).is_ok());
    }

    #[test]
    fn plans_refuse_impossible_sizes() {
        assert!(ProofPlan::inclusion(0, 0).is_err());
        assert!(ProofPlan::inclusion(5, 5).is_err());
        assert!(ProofPlan::consistency(0, 5).is_err());
        assert!(ProofPlan::consistency(6, 5).is_err());
        let same = ProofPlan::consistency(5, 5).expect("equal sizes are allowed");
        assert!(
            same.assemble(|_| None)
                .expect("nothing to fetch")
                .is_empty()
        );
    }

    #[test]
    fn missing_node_is_an_error() {
        let plan = ProofPlan::inclusion(2, 7).expect("valid sizes");
        assert!(matches!(
            plan.assemble(|_| None),
            Err(LogError::MissingNode(_))
        ));
    }

    #[test]
    fn consistency_edge_cases_follow_transparency_dev() {
        let l = leaves(5);
        let (r4, r5) = (mth(&l[..4]), mth(&l));
        assert!(verify_consistency(5, 5, &[], &r5, &r5).is_ok());
        assert!(verify_consistency(5, 5, &[r4], &r5, &r5).is_err());
        assert!(verify_consistency(5, 5, &[], &r4, &r5).is_err());
        assert!(verify_consistency(0, 5, &[], &empty_root(), &r5).is_err());
        assert!(verify_consistency(0, 0, &[], &empty_root(), &empty_root()).is_err());
        // Equal sizes compare roots byte for byte, whatever they hold.
        assert!(verify_consistency_bytes(1, 1, &[] as &[&[u8]], b"abc", b"abc").is_ok());
        assert!(verify_consistency_bytes(1, 1, &[] as &[&[u8]], b"abc", b"abd").is_err());
        assert!(verify_consistency_bytes(1, 2, &[&r4[..]], b"abc", &r5).is_err());
        assert!(verify_inclusion_bytes(&l[0][..31], 0, 1, &[] as &[&[u8]], &l[0]).is_err());
        assert!(verify_consistency(4, 5, &[], &r4, &r5).is_err());
        assert!(verify_consistency(5, 4, &[], &r5, &r4).is_err());
    }

    #[test]
    fn inclusion_at_u64_max_size_is_refused_cleanly() {
        let leaf = [0; 32];
        assert!(verify_inclusion(&leaf, u64::MAX, u64::MAX, &[], &leaf).is_err());
        assert!(verify_inclusion(&leaf, 0, u64::MAX, &[], &leaf).is_err());
    }

    #[test]
    fn every_small_proof_matches_the_reference() {
        let l = leaves(40);
        let (_, store) = grow(&l);
        for size in 1..=l.len() {
            let root = mth(&l[..size]);
            for index in 0..size {
                let plan = ProofPlan::inclusion(index as u64, size as u64).expect("index < size");
                let p = assemble(&plan, &store);
                assert_eq!(p, path(index, &l[..size]), "inclusion {index} in {size}");
                assert!(verify_inclusion(&l[index], index as u64, size as u64, &p, &root).is_ok());
            }
            for old in 1..=size {
                let plan = ProofPlan::consistency(old as u64, size as u64).expect("0 < old <= new");
                let p = assemble(&plan, &store);
                assert_eq!(p, proof(old, &l[..size]), "consistency {old} to {size}");
                let old_root = mth(&l[..old]);
                assert!(verify_consistency(old as u64, size as u64, &p, &old_root, &root).is_ok());
            }
        }
    }

    fn tamper(proof: &[Hash], which: usize, bit: u8) -> Vec<Hash> {
        let mut p = proof.to_vec();
        let i = which % p.len();
        p[i][usize::from(bit) % 32] ^= 1 << (bit % 8);
        p
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn stored_nodes_serve_inclusion_proofs(
            size in 1usize..300, index_seed in any::<u64>(), which in any::<usize>(), bit in any::<u8>(),
        ) {
            let l = leaves(size);
            let (frontier, store) = grow(&l);
            let root = mth(&l);
            prop_assert_eq!(frontier.root(), root);
            let index = (index_seed % size as u64) as usize;

            let plan = ProofPlan::inclusion(index as u64, size as u64).expect("index < size");
            let p = assemble(&plan, &store);
            prop_assert_eq!(&p, &path(index, &l));
            prop_assert!(verify_inclusion(&l[index], index as u64, size as u64, &p, &root).is_ok());
            prop_assert_eq!(
                root_from_inclusion_proof(&l[index], index as u64, size as u64, &p).expect("valid"),
                root
            );

            if !p.is_empty() {
                let bad = tamper(&p, which, bit);
                prop_assert!(verify_inclusion(&l[index], index as u64, size as u64, &bad, &root).is_err());
                prop_assert!(verify_inclusion(&l[index], index as u64, size as u64, &p[1..], &root).is_err());
            }
            let mut longer = p.clone();
            longer.push(root);
            prop_assert!(verify_inclusion(&l[index], index as u64, size as u64, &longer, &root).is_err());
            let other = (index + 1) % size;
            if other != index && l[other] != l[index] {
                prop_assert!(verify_inclusion(&l[other], index as u64, size as u64, &p, &root).is_err());
            }
        }

        #[test]
        fn stored_nodes_serve_consistency_proofs_and_roots(
            new in 1usize..300, old_seed in any::<u64>(), which in any::<usize>(), bit in any::<u8>(),
        ) {
            let l = leaves(new);
            let (_, store) = grow(&l);
            let old = 1 + (old_seed % new as u64) as usize;
            let (old_root, new_root) = (mth(&l[..old]), mth(&l));

            for size in [old, new] {
                let root = assemble(&ProofPlan::root(size as u64), &store);
                prop_assert_eq!(root, vec![mth(&l[..size])]);
            }

            let plan = ProofPlan::consistency(old as u64, new as u64).expect("0 < old <= new");
            let p = assemble(&plan, &store);
            prop_assert_eq!(&p, &proof(old, &l));
            prop_assert!(verify_consistency(old as u64, new as u64, &p, &old_root, &new_root).is_ok());

            if !p.is_empty() {
                let bad = tamper(&p, which, bit);
                prop_assert!(verify_consistency(old as u64, new as u64, &bad, &old_root, &new_root).is_err());
                prop_assert!(verify_consistency(old as u64, new as u64, &p[1..], &old_root, &new_root).is_err());
                prop_assert!(verify_consistency(old as u64, new as u64, &p, &new_root, &old_root).is_err());
            }
        }

        #[test]
        fn frontier_round_trips_through_bytes(size in 0usize..300) {
            let (frontier, _) = grow(&leaves(size));
            let back = Frontier::from_bytes(frontier.size(), &frontier.to_bytes()).expect("own bytes");
            prop_assert_eq!(&back, &frontier);
            prop_assert_eq!(back.root(), mth(&leaves(size)));

            // Growing the restored frontier gives the same tree as growing the original.
            let (mut a, mut b) = (frontier, back);
            let extra = leaf_hash(b"next");
            prop_assert_eq!(a.push(extra), b.push(extra));
            prop_assert_eq!(a.root(), b.root());
        }
    }
}
