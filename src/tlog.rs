//! The transparency log's pure engines: Ed25519 key files and names, the signed record,
//! the Merkle tree and its proofs, signed notes and checkpoints, tlog-proof bundles and
//! tlog-tiles coordinates.
//! No I/O beyond key files; `service::sequencer` appends through the store.

pub mod keys;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod record;
pub mod tiles;
