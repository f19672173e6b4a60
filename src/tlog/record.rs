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

    /// Whether `statement_hash` commits to this text (first 16 bytes of SHA-256).
    pub fn commits_to(&self, text: &str) -> bool {
        crate::domain::statement::sha256(text.as_bytes())[..16] == self.body.statement_hash
    }
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
