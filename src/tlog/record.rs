//! The signed record (SPEC 3.2): the QR payload and the log leaf, and the annulment text.
//! Pure: bytes in, bytes out.

use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signature, VerifyingKey};

use crate::domain::text::cut_utf8;
use crate::tlog::keys::NamedKey;
use crate::tlog::merkle::{Hash, leaf_hash};

/// Domain separation for record signatures.
pub const SIGNING_CONTEXT: &[u8] = b"ikrar/record/v1\n";
pub const MAX_NAME_LEN: usize = 24;
const FIXED_LEN: usize = 1 + 4 + 5 + 5 + 8 + 2 + 16 + 1 + 64;
pub const MIN_LEN: usize = FIXED_LEN;
pub const MAX_LEN: usize = FIXED_LEN + MAX_NAME_LEN;
const MAX_U40: u64 = (1 << 40) - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pledge = 1,
    Annulment = 2,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("not base32")]
    NotBase32,
    #[error("length {0} is not a record length ({MIN_LEN}..={MAX_LEN} bytes)")]
    Length(usize),
    #[error("unknown format byte {0:#04x}")]
    Format(u8),
    #[error("name length {0} does not match the record")]
    NameLength(usize),
    #[error("name is not UTF-8")]
    NameEncoding,
    #[error("signature does not verify")]
    Signature,
}

/// The fields a record commits to, before signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordBody {
    pub format: Format,
    pub key_id: [u8; 4],
    pub log_index: u64,
    pub sequenced_at: u64,
    pub nip: u64,
    pub template_no: u16,
    pub statement_hash: [u8; 16],
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub body: RecordBody,
    pub signature: [u8; 64],
}

impl RecordBody {
    /// The name as it will be written: cut to 24 bytes at a character boundary.
    pub fn new_name(name: &str) -> String {
        cut_utf8(name, MAX_NAME_LEN).to_string()
    }

    fn to_bytes(&self) -> Vec<u8> {
        assert!(
            self.log_index <= MAX_U40 && self.sequenced_at <= MAX_U40,
            "log index and time fit in 40 bits"
        );
        let name = cut_utf8(&self.name, MAX_NAME_LEN).as_bytes();
        let mut out = Vec::with_capacity(FIXED_LEN + name.len());
        out.push(self.format as u8);
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&self.log_index.to_be_bytes()[3..]);
        out.extend_from_slice(&self.sequenced_at.to_be_bytes()[3..]);
        out.extend_from_slice(&self.nip.to_be_bytes());
        out.extend_from_slice(&self.template_no.to_be_bytes());
        out.extend_from_slice(&self.statement_hash);
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        out
    }

    fn signed_message(&self) -> Vec<u8> {
        let body = self.to_bytes();
        let mut msg = Vec::with_capacity(SIGNING_CONTEXT.len() + body.len());
        msg.extend_from_slice(SIGNING_CONTEXT);
        msg.extend_from_slice(&body);
        msg
    }

    pub fn sign(self, key: &NamedKey) -> Record {
        let signature = key.sign(&self.signed_message());
        Record {
            body: self,
            signature,
        }
    }
}

impl Record {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body.to_bytes();
        out.extend_from_slice(&self.signature);
        out
    }

    pub fn to_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.to_bytes())
    }

    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.to_bytes())
    }

    /// Decodes base32 in either case. Only a string that is not base32, or that decodes to a
    /// length no record can have, fails here; everything else is left to [`Record::parse`].
    pub fn decode_base32(s: &str) -> Result<Vec<u8>, RecordError> {
        let upper = s.trim().to_ascii_uppercase();
        let bytes = BASE32_NOPAD
            .decode(upper.as_bytes())
            .map_err(|_| RecordError::NotBase32)?;
        if !(MIN_LEN..=MAX_LEN).contains(&bytes.len()) {
            return Err(RecordError::Length(bytes.len()));
        }
        Ok(bytes)
    }

    pub fn parse(bytes: &[u8]) -> Result<Record, RecordError> {
        if !(MIN_LEN..=MAX_LEN).contains(&bytes.len()) {
            return Err(RecordError::Length(bytes.len()));
        }
        let format = match bytes[0] {
            1 => Format::Pledge,
            2 => Format::Annulment,
            other => return Err(RecordError::Format(other)),
        };
        let u40 = |at: usize| {
            let mut b = [0u8; 8];
            b[3..].copy_from_slice(&bytes[at..at + 5]);
            u64::from_be_bytes(b)
        };
        let name_len = bytes[41] as usize;
        if name_len > MAX_NAME_LEN || bytes.len() != FIXED_LEN + name_len {
            return Err(RecordError::NameLength(name_len));
        }
        let name = std::str::from_utf8(&bytes[42..42 + name_len])
            .map_err(|_| RecordError::NameEncoding)?
            .to_string();
        let sig_at = 42 + name_len;
        Ok(Record {
            body: RecordBody {
                format,
                key_id: bytes[1..5].try_into().expect("4 bytes"),
                log_index: u40(5),
                sequenced_at: u40(10),
                nip: u64::from_be_bytes(bytes[15..23].try_into().expect("8 bytes")),
                template_no: u16::from_be_bytes(bytes[23..25].try_into().expect("2 bytes")),
                statement_hash: bytes[25..41].try_into().expect("16 bytes"),
                name,
            },
            signature: bytes[sig_at..].try_into().expect("64 bytes"),
        })
    }

    pub fn verify_signature(&self, key: &VerifyingKey) -> Result<(), RecordError> {
        let signature = Signature::from_bytes(&self.signature);
        key.verify_strict(&self.body.signed_message(), &signature)
            .map_err(|_| RecordError::Signature)
    }

    /// Checks many signatures, each record under its key; `true` where
    /// [`Record::verify_signature`] passes. Records go in batches of [`SIGNATURE_BATCH`]
    /// through one equation (see [`batch_holds`]), about a sixth of the cost per signature
    /// of one by one; a batch that fails is checked one by one, so each record's answer is
    /// its own. A weak (small-order) key and a non-canonical `R` go straight to
    /// `verify_strict`, which rejects them. What a batch cannot see cheaply is a small-order
    /// component added to `R`, which only the key's holder can make and which changes no
    /// signed byte's meaning; such a batch passes with probability at most 1/2.
    pub fn verify_signatures(items: &[(&Record, VerifyingKey)]) -> Vec<bool> {
        let mut ok = vec![false; items.len()];
        for (chunk, ok) in items
            .chunks(SIGNATURE_BATCH)
            .zip(ok.chunks_mut(SIGNATURE_BATCH))
        {
            let messages: Vec<Vec<u8>> =
                chunk.iter().map(|(r, _)| r.body.signed_message()).collect();
            let mut batch = Vec::with_capacity(chunk.len());
            for (at, (record, key)) in chunk.iter().enumerate() {
                if key.is_weak() || !canonical_r(&record.signature) {
                    let signature = Signature::from_bytes(&record.signature);
                    ok[at] = key.verify_strict(&messages[at], &signature).is_ok();
                } else {
                    batch.push((at, &messages[at], &record.signature, key));
                }
            }
            if batch_holds(&batch) {
                for &(at, ..) in &batch {
                    ok[at] = true;
                }
            } else {
                for &(at, message, signature, key) in &batch {
                    let signature = Signature::from_bytes(signature);
                    ok[at] = key.verify_strict(message, &signature).is_ok();
                }
            }
        }
        ok
    }

    /// Whether `statement_hash` commits to this text (first 16 bytes of SHA-256).
    pub fn commits_to(&self, text: &str) -> bool {
        crate::domain::statement::sha256(text.as_bytes())[..16] == self.body.statement_hash
    }
}

/// Signatures per batch in [`Record::verify_signatures`]: one tile's entries.
pub const SIGNATURE_BATCH: usize = 256;

/// Whether a signature's `R` is a canonical point encoding (its y coordinate below
/// 2^255 − 19), as `verify_strict` requires by comparing encodings.
fn canonical_r(signature: &[u8; 64]) -> bool {
    let y = &signature[..32];
    let top = y[31] & 0x7f;
    !(top == 0x7f && y[1..31].iter().all(|&b| b == 0xff) && y[0] >= 0xed)
}

/// Ed25519 batch verification: with random 128-bit weights `z`, whether
/// `Σ z·R − (Σ z·s)·B + Σ_A (Σ z·k)·A` is the identity, where each signature satisfies
/// `s·B = R + k·A` with `k = SHA-512(R ‖ A ‖ message)`. The terms of one key are summed
/// into one scalar first (a tile's records share one pledge key), so the multiscalar
/// multiplication has about one point per signature rather than two. A signature with a
/// non-canonical `s` or an undecodable `R` fails the batch.
fn batch_holds(batch: &[(usize, &Vec<u8>, &[u8; 64], &VerifyingKey)]) -> bool {
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
    use curve25519_dalek::scalar::Scalar;
    use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
    use sha2::{Digest, Sha512};

    if batch.is_empty() {
        return true;
    }
    let mut weights = vec![0u8; 16 * batch.len()];
    if getrandom::fill(&mut weights).is_err() {
        return false;
    }
    let mut scalars = Vec::with_capacity(batch.len() + 2);
    let mut points = Vec::with_capacity(batch.len() + 2);
    let mut base = Scalar::ZERO;
    let mut keys: Vec<(&VerifyingKey, Scalar)> = Vec::new();
    for (n, &(_, message, signature, key)) in batch.iter().enumerate() {
        let (r_bytes, s_bytes) = signature.split_at(32);
        let r_bytes: [u8; 32] = r_bytes.try_into().expect("32 bytes");
        let s_bytes: [u8; 32] = s_bytes.try_into().expect("32 bytes");
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
            return false;
        };
        let Some(r) = CompressedEdwardsY(r_bytes).decompress() else {
            return false;
        };
        let mut h = Sha512::new();
        h.update(r_bytes);
        h.update(key.as_bytes());
        h.update(message);
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let mut z = [0u8; 32];
        z[..16].copy_from_slice(&weights[16 * n..16 * (n + 1)]);
        let z = Scalar::from_bytes_mod_order(z);
        base += z * s;
        match keys.iter_mut().find(|(a, _)| *a == key) {
            Some((_, sum)) => *sum += z * k,
            None => keys.push((key, z * k)),
        }
        scalars.push(z);
        points.push(r);
    }
    scalars.push(-base);
    points.push(ED25519_BASEPOINT_POINT);
    for (key, sum) in keys {
        let Some(a) = CompressedEdwardsY(key.to_bytes()).decompress() else {
            return false;
        };
        scalars.push(sum);
        points.push(a);
    }
    EdwardsPoint::vartime_multiscalar_mul(&scalars, &points).is_identity()
}

/// First 16 bytes of SHA-256, as the record stores it.
pub fn short_hash(text: &str) -> [u8; 16] {
    crate::domain::statement::sha256(text.as_bytes())[..16]
        .try_into()
        .expect("16 of 32 bytes")
}

/// Annulment categories of SPEC 2.
pub const ANNUL_CATEGORIES: [&str; 4] = ["salah-orang", "paksaan", "ganda", "lainnya"];

/// The annulment text (SPEC 3.2) that a format-0x02 record commits to.
pub fn annulment_text(
    pledge_index: u64,
    pledge_leaf: &Hash,
    category: &str,
    reason: &str,
    annulled_at: &str,
) -> String {
    format!(
        "ikrar-annulment/v1\npledge: {pledge_index} sha256:{}\ncategory: {category}\nreason: sha256:{}\nannulled-at: {annulled_at}\n",
        hex::encode(pledge_leaf),
        hex::encode(crate::domain::statement::sha256(reason.as_bytes())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn key() -> NamedKey {
        NamedKey::new("ikrar.example/pledge", SigningKey::from_bytes(&[7u8; 32]))
    }

    fn body(name: &str) -> RecordBody {
        RecordBody {
            format: Format::Pledge,
            key_id: key().key_id,
            log_index: 42,
            sequenced_at: 1_795_400_102,
            nip: 198503302010011001,
            template_no: 1,
            statement_hash: [9u8; 16],
            name: RecordBody::new_name(name),
        }
    }

    #[test]
    fn round_trips_through_bytes_and_base32() {
        let r = body("Dr. Budi Santoso, S.Kom., M.T.").sign(&key());
        assert_eq!(r.body.name.len(), 24);
        let b32 = r.to_base32();
        let bytes = Record::decode_base32(&b32.to_ascii_lowercase()).expect("decodes");
        let back = Record::parse(&bytes).expect("parses");
        assert_eq!(back, r);
        back.verify_signature(&key().verifying_key())
            .expect("signature verifies");
    }

    #[test]
    fn any_flipped_byte_breaks_it() {
        let r = body("Budi").sign(&key());
        let bytes = r.to_bytes();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            let ok = Record::parse(&b)
                .map(|r| r.verify_signature(&key().verifying_key()).is_ok())
                .unwrap_or(false);
            assert!(!ok, "flipping byte {i} went unnoticed");
        }
    }

    #[test]
    fn batched_signature_checks_name_exactly_the_bad_ones() {
        let k = key();
        let other = NamedKey::new("ikrar.example/pledge", SigningKey::from_bytes(&[8u8; 32]));
        let mut records: Vec<Record> = (0..600u64)
            .map(|i| {
                let mut b = body("Budi");
                b.log_index = i;
                b.sign(&k)
            })
            .collect();
        // A changed field, another key's signature, and an R that is no canonical point,
        // in the first, second and last batch.
        records[3].body.nip += 1;
        records[300] = records[300].body.clone().sign(&other);
        records[599].signature[..32].copy_from_slice(&[0xff; 32]);
        records[599].signature[31] = 0x7f;
        let items: Vec<(&Record, VerifyingKey)> =
            records.iter().map(|r| (r, k.verifying_key())).collect();
        let ok = Record::verify_signatures(&items);
        let bad: Vec<usize> = (0..ok.len()).filter(|&i| !ok[i]).collect();
        assert_eq!(bad, vec![3, 300, 599]);
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r.verify_signature(&k.verifying_key()).is_ok(), ok[i], "{i}");
        }
        assert!(Record::verify_signatures(&items[4..300]).iter().all(|&b| b));
        assert!(Record::verify_signatures(&[]).is_empty());
    }

    #[test]
    fn a_batch_holds_only_when_every_signature_does() {
        let keys = [
            key(),
            NamedKey::new("b/pledge", SigningKey::from_bytes(&[8u8; 32])),
        ];
        let records: Vec<Record> = (0..300u64)
            .map(|i| {
                let mut b = body("Budi");
                b.log_index = i;
                b.sign(&keys[(i % 7 == 0) as usize])
            })
            .collect();
        let check = |records: &[Record]| {
            let messages: Vec<Vec<u8>> = records.iter().map(|r| r.body.signed_message()).collect();
            let vks: Vec<VerifyingKey> = (0..records.len())
                .map(|i| keys[(i % 7 == 0) as usize].verifying_key())
                .collect();
            let batch: Vec<_> = (0..records.len())
                .map(|i| (i, &messages[i], &records[i].signature, &vks[i]))
                .collect();
            batch_holds(&batch)
        };
        assert!(check(&records));
        let mut changed = records.clone();
        changed[123].body.name = "Budi S".into();
        assert!(!check(&changed));
        let mut swapped = records.clone();
        swapped[14].signature = records[15].signature;
        assert!(!check(&swapped));
        // s + l: the same point equation, but not a canonical scalar.
        let mut big_s = records.clone();
        let l = hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
            .expect("hex");
        let mut carry = 0u16;
        for (s, l) in big_s[0].signature[32..].iter_mut().zip(&l) {
            let sum = u16::from(*s) + u16::from(*l) + carry;
            *s = sum as u8;
            carry = sum >> 8;
        }
        assert!(!check(&big_s));
        assert!(big_s[0].verify_signature(&keys[1].verifying_key()).is_err());
    }

    #[test]
    fn cuts_names_at_a_character_boundary() {
        let name = RecordBody::new_name("Ni Luh Ayu Kadek Ñññññññññ");
        assert!(name.len() <= 24);
        assert!(name.is_char_boundary(name.len()));
    }

    #[test]
    fn refuses_lengths_no_record_can_have() {
        assert_eq!(Record::decode_base32("AAAA"), Err(RecordError::Length(2)));
        assert_eq!(
            Record::decode_base32("not base32!"),
            Err(RecordError::NotBase32)
        );
    }
}
