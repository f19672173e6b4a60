//! Transparency log proofs (c2sp.org/tlog-proof): an offline-verifiable bundle of an entry's
//! index, its RFC 9162 inclusion proof and the checkpoint (a signed note, cosignatures
//! included) the proof leads to. [`TlogProof::to_text`] writes the `c2sp.org/tlog-proof@v1`
//! text, [`TlogProof::parse`] reads it back strictly, and [`TlogProof::verify`] checks the
//! checkpoint's signature under a trusted log key and the entry's inclusion. Pure: no I/O.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::tlog::merkle::{Hash, LogError, leaf_hash, verify_inclusion};
use crate::tlog::note::{self, Checkpoint, NoteError, Verifier};

/// The first line of every proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// An inclusion proof into a tree of at most 2^64 leaves has at most 64 hashes.
const MAX_HASHES: usize = 64;

/// A checkpoint with a hundred cosignatures stays well below this; anything larger is not a
/// proof but an attempt to make a verifier read a huge input.
pub const MAX_PROOF_BYTES: usize = 64 * 1024;

/// One proof bundle. `checkpoint` is the signed note verbatim, ending in a newline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Optional opaque data; unauthenticated, never trusted. ikrar writes none.
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub hashes: Vec<Hash>,
    pub checkpoint: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("malformed tlog-proof: {0}")]
    Malformed(&'static str),
    #[error("checkpoint: {0}")]
    Note(#[from] NoteError),
    #[error("checkpoint origin {found:?} is not the log's origin {expected:?}")]
    Origin { found: String, expected: String },
    #[error("entry {index} is not in the checkpoint's tree of {size} entries")]
    OutOfRange { index: u64, size: u64 },
    #[error("inclusion proof does not lead to the checkpoint's root: {0}")]
    Inclusion(#[from] LogError),
}

impl TlogProof {
    /// The `c2sp.org/tlog-proof@v1` text: header, `extra` if any, `index`, one base64 hash
    /// per line, an empty line, then the checkpoint verbatim.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(64 + 45 * self.hashes.len() + self.checkpoint.len());
        out.push_str(HEADER);
        out.push('\n');
        if let Some(extra) = &self.extra {
            out.push_str("extra ");
            out.push_str(&STANDARD.encode(extra));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.hashes {
            out.push_str(&STANDARD.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a proof strictly: the exact header, canonical base64 and decimal, 32-byte
    /// hashes, and a non-empty checkpoint ending in a newline. The checkpoint's signatures
    /// are checked by [`TlogProof::verify`], not here.
    pub fn parse(text: &str) -> Result<Self, ProofError> {
        let bad = ProofError::Malformed;
        if text.len() > MAX_PROOF_BYTES {
            return Err(bad("larger than 64 KiB"));
        }
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or(bad("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(bad("first line is not c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or(bad("no index line"))?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(
                STANDARD
                    .decode(b64)
                    .map_err(|_| bad("extra data is not base64"))?,
            );
            line = lines.next().ok_or(bad("no index line"))?;
        }
        let index = line
            .strip_prefix("index ")
            .ok_or(bad("no index line"))
            .and_then(|n| parse_decimal(n).ok_or(bad("index is not a canonical decimal")))?;
        let mut hashes = Vec::new();
        for line in lines {
            if hashes.len() == MAX_HASHES {
                return Err(bad("more than 64 inclusion hashes"));
            }
            let hash = STANDARD
                .decode(line)
                .ok()
                .and_then(|b| Hash::try_from(b).ok())
                .ok_or(bad("an inclusion hash is not base64 of 32 bytes"))?;
            hashes.push(hash);
        }
        if checkpoint.is_empty() || !checkpoint.ends_with('\n') {
            return Err(bad("the checkpoint must be non-empty and end in a newline"));
        }
        Ok(Self {
            extra,
            index,
            hashes,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// Checks that the checkpoint is the log's (`origin`) and carries a valid signature by
    /// one of `log_keys`, and that `entry` (the leaf's data, not its hash) is at
    /// [`TlogProof::index`] in the tree it commits to. Returns the checkpoint.
    /// Cosignatures are left to the caller's witness policy.
    pub fn verify(
        &self,
        entry: &[u8],
        origin: &str,
        log_keys: &[Verifier],
    ) -> Result<Checkpoint, ProofError> {
        let text = note::open(&self.checkpoint, log_keys)?;
        let checkpoint = Checkpoint::parse(text)?;
        if checkpoint.origin != origin {
            return Err(ProofError::Origin {
                found: checkpoint.origin,
                expected: origin.to_owned(),
            });
        }
        if self.index >= checkpoint.size {
            return Err(ProofError::OutOfRange {
                index: self.index,
                size: checkpoint.size,
            });
        }
        verify_inclusion(
            &leaf_hash(entry),
            self.index,
            checkpoint.size,
            &self.hashes,
            &checkpoint.root,
        )?;
        Ok(checkpoint)
    }
}

/// Strict decimal: digits only, no leading zero except "0" itself, fits in 64 bits.
fn parse_decimal(s: &str) -> Option<u64> {
    note::canonical_decimal(s).then(|| s.parse().ok()).flatten()
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first unexpected result"
)]
mod tests {
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;

    use super::*;
    use crate::tlog::merkle::{Frontier, ProofPlan};

    const ORIGIN: &str = "ikrar.example/log";

    fn log_key() -> SigningKey {
        SigningKey::from_bytes(&[3u8; 32])
    }

    fn verifier() -> Verifier {
        Verifier::new(ORIGIN, log_key().verifying_key())
    }

    fn entries(n: u64) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("entry {i}").into_bytes()).collect()
    }

    /// An in-memory tree of `entries`, its signed checkpoint and the proof for `index`.
    fn proof_for(entries: &[Vec<u8>], index: u64) -> TlogProof {
        let mut frontier = Frontier::empty();
        let mut nodes = std::collections::HashMap::new();
        for e in entries {
            for (id, h) in frontier.push(leaf_hash(e)) {
                nodes.insert(id, h);
            }
        }
        let size = frontier.size();
        let plan = ProofPlan::inclusion(index, size).unwrap();
        let hashes = plan.assemble(|id| nodes.get(&id).copied()).unwrap();
        let body = Checkpoint {
            origin: ORIGIN.to_owned(),
            size,
            root: frontier.root(),
        }
        .to_text();
        TlogProof {
            extra: None,
            index,
            hashes,
            checkpoint: note::sign(&body, ORIGIN, &log_key()).unwrap(),
        }
    }

    #[test]
    fn text_has_the_spec_layout() {
        let e = entries(5);
        let p = proof_for(&e, 2);
        let text = p.to_text();
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines[0], "c2sp.org/tlog-proof@v1");
        assert_eq!(lines[1], "index 2");
        // Leaf 2 of 5: its sibling 3, the subtree [0, 2), the subtree [4, 5).
        assert_eq!(p.hashes.len(), 3);
        for h in &lines[2..5] {
            assert_eq!(STANDARD.decode(h).unwrap().len(), 32);
        }
        assert_eq!(lines[5], "");
        assert_eq!(&text[text.find("\n\n").unwrap() + 2..], p.checkpoint);
        assert!(p.checkpoint.starts_with("ikrar.example/log\n5\n"));
        assert_eq!(TlogProof::parse(&text).unwrap(), p);
        assert_eq!(p.verify(&e[2], ORIGIN, &[verifier()]).unwrap().size, 5);
    }

    #[test]
    fn the_spec_example_parses() {
        // The example of c2sp.org/tlog-proof, with its elided signatures made whole.
        let text = "c2sp.org/tlog-proof@v1\n\
            extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6\n\
            index 73894\n\
            gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n\
            B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n\
            \n\
            example.com/fancylog\n109482\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\
            \n\
            \u{2014} example.com/fancylog hI2DJwAAAA==\n";
        let p = TlogProof::parse(text).unwrap();
        assert_eq!(
            p.extra.as_deref(),
            Some(&b"age-v1.2.1-darwin-arm64.tar.gz"[..])
        );
        assert_eq!(p.index, 73894);
        assert_eq!(p.hashes.len(), 2);
        assert!(p.checkpoint.starts_with("example.com/fancylog\n109482\n"));
        assert_eq!(p.to_text(), text);
    }

    #[test]
    fn a_single_entry_tree_has_no_hashes() {
        let e = entries(1);
        let p = proof_for(&e, 0);
        assert!(p.hashes.is_empty());
        let text = p.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 0\n\n"));
        let back = TlogProof::parse(&text).unwrap();
        assert_eq!(back.verify(&e[0], ORIGIN, &[verifier()]).unwrap().size, 1);
    }

    #[test]
    fn verify_refuses_what_does_not_hold() {
        let e = entries(9);
        let p = proof_for(&e, 4);
        let v = [verifier()];
        assert!(matches!(
            p.verify(&e[5], ORIGIN, &v),
            Err(ProofError::Inclusion(_))
        ));
        assert!(matches!(
            p.verify(&e[4], "other.example/log", &v),
            Err(ProofError::Origin { .. })
        ));
        let stranger = Verifier::new(ORIGIN, SigningKey::from_bytes(&[4u8; 32]).verifying_key());
        assert!(matches!(
            p.verify(&e[4], ORIGIN, &[stranger]),
            Err(ProofError::Note(_))
        ));
        let mut moved = p.clone();
        moved.index = 3;
        assert!(moved.verify(&e[4], ORIGIN, &v).is_err());
        let mut beyond = p.clone();
        beyond.index = 9;
        assert!(matches!(
            beyond.verify(&e[4], ORIGIN, &v),
            Err(ProofError::OutOfRange { .. })
        ));
        let mut short = p.clone();
        short.hashes.pop();
        assert!(short.verify(&e[4], ORIGIN, &v).is_err());
        // Another size in the checkpoint text breaks the log's signature.
        let mut resized = p.clone();
        resized.checkpoint = p.checkpoint.replacen("\n9\n", "\n10\n", 1);
        assert!(matches!(
            resized.verify(&e[4], ORIGIN, &v),
            Err(ProofError::Note(_))
        ));
    }

    #[test]
    fn parse_refuses_non_canonical_text() {
        let text = proof_for(&entries(3), 1).to_text();
        let cases = [
            text.replacen("@v1", "@v2", 1),
            text.replacen("index 1", "index 01", 1),
            text.replacen("index 1", "index +1", 1),
            text.replacen("index 1", "index  1", 1),
            text.replacen("index 1", "Index 1", 1),
            text.replacen("index 1\n", "", 1),
            text.replacen("\n\n", "\n", 1),
            text.trim_end_matches('\n').to_owned(),
            format!("{}\n\n", text.split("\n\n").next().unwrap()),
            text.replacen("=\n", "\n", 1),
            text.replacen("index 1\n", "index 1\nAAAA\n", 1),
            text.replacen("index 1\n", "index 18446744073709551616\n", 1),
            text.replacen("c2sp", "\u{feff}c2sp", 1),
            "c2sp.org/tlog-proof@v1\r\nindex 1\r\n\r\nx\n".to_owned(),
            String::new(),
        ];
        for case in cases {
            assert!(TlogProof::parse(&case).is_err(), "accepted {case:?}");
        }
        let huge = format!("{text}{}", "x".repeat(MAX_PROOF_BYTES));
        assert!(TlogProof::parse(&huge).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Every entry of every small tree has a proof that round-trips and verifies, and
        /// only for its own entry.
        #[test]
        fn every_proof_round_trips_and_verifies(size in 1u64..70, pick in any::<u64>()) {
            let e = entries(size);
            let index = pick % size;
            let p = proof_for(&e, index);
            let back = TlogProof::parse(&p.to_text()).unwrap();
            prop_assert_eq!(&back, &p);
            prop_assert_eq!(back.verify(&e[index as usize], ORIGIN, &[verifier()]).unwrap().size, size);
            let other = (index + 1) % size;
            if other != index {
                prop_assert!(back.verify(&e[other as usize], ORIGIN, &[verifier()]).is_err());
            }
        }

        /// Any extra data round-trips.
        #[test]
        fn extra_data_round_trips(extra in proptest::collection::vec(any::<u8>(), 0..100)) {
            let mut p = proof_for(&entries(4), 3);
            p.extra = Some(extra);
            prop_assert_eq!(TlogProof::parse(&p.to_text()).unwrap(), p);
        }
    }
}
