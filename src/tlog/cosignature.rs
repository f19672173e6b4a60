//! Ed25519 cosignatures (c2sp.org/tlog-cosignature, `cosignature/v1`): the cosigner's key
//! id and verifier key (signature type 0x04), the signed message, making a cosignature line
//! and checking one. Pure: no I/O.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type byte of Ed25519 cosignatures in key ids and verifier keys.
pub const COSIGNATURE_TYPE: u8 = 0x04;

/// Starts every signature line: em dash (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Timestamps above 2^63 - 1 are forbidden by the spec.
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// `SHA-256(name || 0x0A || 0x04 || public_key)[..4]`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', COSIGNATURE_TYPE]);
    h.update(public_key);
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The cosigner's verifier key: `<name>+<8 hex key id>+<base64(0x04 || public_key)>`.
pub fn vkey(name: &str, public_key: &[u8; 32]) -> String {
    let mut typed = Vec::with_capacity(33);
    typed.push(COSIGNATURE_TYPE);
    typed.extend_from_slice(public_key);
    format!(
        "{name}+{}+{}",
        hex::encode(key_id(name, public_key)),
        STANDARD.encode(typed)
    )
}

/// `cosignature/v1\ntime <t>\n` followed by the checkpoint's note text (with its final
/// newline, without signature lines).
pub fn signed_message(checkpoint_text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}")
}

/// Whether `name` may be a key name: non-empty, no white space, no '+'.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.chars().any(char::is_whitespace)
}

/// A cosigning key with its name. Debug must not print the secret.
#[derive(Clone)]
pub struct Cosigner {
    pub name: String,
    pub key_id: [u8; 4],
    key: SigningKey,
}

impl Cosigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, CosignatureError> {
        if !valid_name(name) {
            return Err(CosignatureError::BadName(name.to_owned()));
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, key.verifying_key().as_bytes()),
            key,
        })
    }

    pub fn vkey(&self) -> String {
        vkey(&self.name, self.key.verifying_key().as_bytes())
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// The signature line `— <name> base64(key_id || timestamp (u64 BE) || signature)\n`
    /// over `checkpoint_text` at `timestamp` (POSIX seconds, 1..=2^63-1).
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> String {
        assert!(
            (1..=MAX_TIMESTAMP).contains(&timestamp),
            "a cosignature's timestamp must be positive and below 2^63"
        );
        let signature = self
            .key
            .sign(signed_message(checkpoint_text, timestamp).as_bytes());
        let mut blob = Vec::with_capacity(4 + 8 + 64);
        blob.extend_from_slice(&self.key_id);
        blob.extend_from_slice(&timestamp.to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        format!(
            "{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(blob)
        )
    }
}

impl std::fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cosigner")
            .field("name", &self.name)
            .field("key_id", &hex::encode(self.key_id))
            .finish_non_exhaustive()
    }
}

/// A trusted cosigner: lines are matched to it by name and key id together.
#[derive(Clone, Debug)]
pub struct CosignatureVerifier {
    pub name: String,
    pub key_id: [u8; 4],
    pub key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Parses a cosignature/v1 verifier key as [`vkey`] writes it, checking that the stated
    /// id is the one the name and key derive.
    pub fn from_vkey(text: &str) -> Result<Self, CosignatureError> {
        let bad = |why: &'static str| CosignatureError::BadVkey(why);
        // Names cannot hold '+', base64 can: split from the left.
        let mut parts = text.trim_end_matches('\n').splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected name+keyid+key"));
        };
        if !valid_name(name) {
            return Err(CosignatureError::BadName(name.to_owned()));
        }
        let typed = STANDARD
            .decode(key_b64)
            .map_err(|_| bad("key is not base64"))?;
        let (&kind, public) = typed.split_first().ok_or(bad("key is empty"))?;
        if kind != COSIGNATURE_TYPE {
            return Err(bad("key type is not cosignature/v1 Ed25519 (0x04)"));
        }
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| bad("Ed25519 key is not 32 bytes"))?;
        let key =
            VerifyingKey::from_bytes(&public).map_err(|_| bad("not a valid Ed25519 public key"))?;
        let id = key_id(name, &public);
        if !hex::encode(id).eq_ignore_ascii_case(id_hex) {
            return Err(bad("key id does not match the name and key"));
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: id,
            key,
        })
    }

    /// Checks one signature line over `checkpoint_text`; returns its timestamp. A line of
    /// another name or key id is [`CosignatureError::NotThisKey`].
    pub fn verify(&self, checkpoint_text: &str, line: &str) -> Result<u64, CosignatureError> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let rest = line
            .strip_prefix(SIGNATURE_PREFIX)
            .ok_or(CosignatureError::Malformed)?;
        let (name, b64) = rest.split_once(' ').ok_or(CosignatureError::Malformed)?;
        let blob = STANDARD
            .decode(b64)
            .map_err(|_| CosignatureError::Malformed)?;
        if name != self.name || blob.len() < 4 || blob[..4] != self.key_id {
            return Err(CosignatureError::NotThisKey);
        }
        if blob.len() != 4 + 8 + 64 {
            return Err(CosignatureError::BadSignature);
        }
        let timestamp = u64::from_be_bytes(blob[4..12].try_into().expect("8 bytes"));
        let signature =
            Signature::from_bytes(&blob[12..].try_into().expect("64 bytes after 12 of 76"));
        if timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::BadSignature);
        }
        self.key
            .verify_strict(
                signed_message(checkpoint_text, timestamp).as_bytes(),
                &signature,
            )
            .map_err(|_| CosignatureError::BadSignature)?;
        Ok(timestamp)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CosignatureError {
    #[error("invalid key name {0:?}: it must be non-empty, without spaces or '+'")]
    BadName(String),
    #[error("invalid cosignature verifier key: {0}")]
    BadVkey(&'static str),
    #[error("malformed signature line")]
    Malformed,
    #[error("the signature line is not by this cosigner")]
    NotThisKey,
    #[error("the cosignature does not verify")]
    BadSignature,
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKPOINT: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    fn cosigner() -> Cosigner {
        Cosigner::new("witness.example/w1", SigningKey::from_bytes(&[9; 32])).expect("name")
    }

    #[test]
    fn key_id_follows_the_spec_formula() {
        let c = cosigner();
        let public = c.verifier().key.to_bytes();
        let mut preimage = b"witness.example/w1\n\x04".to_vec();
        preimage.extend_from_slice(&public);
        let digest = Sha256::digest(&preimage);
        assert_eq!(c.key_id, digest[..4]);
        // Not the signed-note Ed25519 id (type 0x01) of the same key.
        assert_ne!(c.key_id, crate::tlog::note::key_id(&c.name, &public));
    }

    #[test]
    fn vkey_round_trips_and_checks_type_and_id() {
        let c = cosigner();
        let v = CosignatureVerifier::from_vkey(&c.vkey()).expect("own vkey");
        assert_eq!(v.key_id, c.key_id);
        assert_eq!(v.name, c.name);
        // A signed-note (0x01) key of the same name is not a cosignature key.
        let note_vkey = crate::tlog::note::vkey(&c.name, &v.key.to_bytes());
        assert!(CosignatureVerifier::from_vkey(&note_vkey).is_err());
        let wrong_id = c.vkey().replacen(&hex::encode(c.key_id), "00000000", 1);
        assert!(CosignatureVerifier::from_vkey(&wrong_id).is_err());
    }

    #[test]
    fn signed_message_is_the_spec_layout() {
        assert_eq!(
            signed_message(CHECKPOINT, 1679315147),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n\
             CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn cosignature_line_has_the_spec_byte_layout_and_verifies() {
        let c = cosigner();
        let line = c.cosign(CHECKPOINT, 1679315147);
        let b64 = line
            .strip_prefix("\u{2014} witness.example/w1 ")
            .and_then(|l| l.strip_suffix('\n'))
            .expect("signature line");
        let blob = STANDARD.decode(b64).expect("base64");
        assert_eq!(blob.len(), 76);
        assert_eq!(blob[..4], c.key_id);
        assert_eq!(blob[4..12], 1679315147u64.to_be_bytes());
        let signature = Signature::from_bytes(&blob[12..].try_into().expect("64"));
        c.verifier()
            .key
            .verify_strict(
                signed_message(CHECKPOINT, 1679315147).as_bytes(),
                &signature,
            )
            .expect("signature over the cosigned message");
        assert_eq!(c.verifier().verify(CHECKPOINT, &line), Ok(1679315147));
    }

    #[test]
    fn verify_refuses_other_text_keys_and_timestamps() {
        let c = cosigner();
        let line = c.cosign(CHECKPOINT, 1000);
        let other_text = CHECKPOINT.replace("20852163", "20852164");
        assert_eq!(
            c.verifier().verify(&other_text, &line),
            Err(CosignatureError::BadSignature)
        );
        let stranger =
            Cosigner::new("witness.example/w1", SigningKey::from_bytes(&[8; 32])).expect("name");
        assert_eq!(
            stranger.verifier().verify(CHECKPOINT, &line),
            Err(CosignatureError::NotThisKey)
        );
        // The same signature claimed at another time.
        let b64 = line.trim_end().rsplit(' ').next().expect("blob");
        let mut blob = STANDARD.decode(b64).expect("base64");
        blob[11] ^= 1;
        let moved = format!("\u{2014} witness.example/w1 {}\n", STANDARD.encode(blob));
        assert_eq!(
            c.verifier().verify(CHECKPOINT, &moved),
            Err(CosignatureError::BadSignature)
        );
        assert_eq!(
            c.verifier().verify(CHECKPOINT, "- witness.example/w1 AAAA"),
            Err(CosignatureError::Malformed)
        );
    }

    #[test]
    fn names_are_checked() {
        for bad in ["", "a b", "a+b"] {
            assert!(Cosigner::new(bad, SigningKey::from_bytes(&[1; 32])).is_err());
        }
    }
}
