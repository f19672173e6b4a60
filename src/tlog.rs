//! The transparency log: the signed record, the Merkle tree and its proofs, signed notes and
//! checkpoints, and the sequencer that batches sign requests into one durable append.

pub mod merkle;
pub mod note;
pub mod record;
pub mod sequencer;
pub mod signal;
