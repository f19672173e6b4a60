//! The transparency log's pure engines: Ed25519 key files and names, the signed record,
//! the Merkle tree and its proofs, signed notes and checkpoints, witness cosignatures and
//! the witness policy, tlog-proof bundles and tlog-tiles coordinates.
//! No I/O beyond key files; `service::sequencer` appends through the store.

pub mod cosignature;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod policy;
pub mod proof;
pub mod record;
pub mod tiles;
