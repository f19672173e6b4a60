//! Signed notes (c2sp.org/signed-note) with Ed25519 keys, and the checkpoint text they carry
//! for the transparency log (c2sp.org/tlog-checkpoint): key ids, verifier keys (`.vkey`),
//! signing, opening with a set of trusted keys, and the checkpoint body. Pure: no I/O.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::tlog::merkle::Hash;

/// Signature type byte of Ed25519 in signed-note key ids and verifier keys.
const ED25519_TYPE: u8 = 0x01;

/// Starts every signature line: em dash (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// The spec asks verifiers to accept at least 16; more would only let a stranger make us
/// parse a huge note.
const MAX_SIGNATURES: usize = 100;

/// `SHA-256(name || 0x0A || 0x01 || public_key)[..4]`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519_TYPE]);
    h.update(public_key);
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The verifier key: `<name>+<8 hex key id>+<base64(0x01 || public_key)>`.
pub fn vkey(name: &str, public_key: &[u8; 32]) -> String {
    let mut typed = Vec::with_capacity(33);
    typed.push(ED25519_TYPE);
    typed.extend_from_slice(public_key);
    format!(
        "{name}+{}+{}",
        hex::encode(key_id(name, public_key)),
        STANDARD.encode(typed)
    )
}

/// A trusted key: signatures are matched to it by name and key id together.
#[derive(Clone, Debug)]
pub struct Verifier {
    pub name: String,
    pub key_id: [u8; 4],
    pub key: VerifyingKey,
}

impl Verifier {
    pub fn new(name: &str, key: VerifyingKey) -> Self {
        Self {
            name: name.to_owned(),
            key_id: key_id(name, key.as_bytes()),
            key,
        }
    }

    /// Parses a verifier key as [`vkey`] writes it, checking that the stated id is the one
    /// the name and key derive.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let bad = |why: &str| NoteError::BadVkey {
            vkey: vkey.to_owned(),
            why: why.to_owned(),
        };
        // Names cannot hold '+', base64 can: split from the left.
        let mut parts = vkey.trim_end_matches('\n').splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected name+keyid+key"));
        };
        check_key_name(name)?;
        if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("key id is not 8 hex digits"));
        }
        let typed = STANDARD
            .decode(key_b64)
            .map_err(|_| bad("key is not base64"))?;
        let (&kind, public) = typed.split_first().ok_or_else(|| bad("key is empty"))?;
        if kind != ED25519_TYPE {
            return Err(bad("key type is not Ed25519 (0x01)"));
        }
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| bad("Ed25519 key is not 32 bytes"))?;
        let key =
            VerifyingKey::from_bytes(&public).map_err(|_| bad("not a valid Ed25519 public key"))?;
        let verifier = Self::new(name, key);
        if !hex::encode(verifier.key_id).eq_ignore_ascii_case(id_hex) {
            return Err(bad("key id does not match the name and key"));
        }
        Ok(verifier)
    }

    /// This key as a verifier key line.
    pub fn vkey(&self) -> String {
        vkey(&self.name, self.key.as_bytes())
    }
}

/// Signs note text (must be non-empty, end in "\n", valid UTF-8 without control chars other than \n) and returns the
/// whole signed note: text, an empty line, then "— <name> <base64(key_id || signature)>\n".
pub fn sign(text: &str, name: &str, key: &SigningKey) -> Result<String, NoteError> {
    check_text(text)?;
    check_key_name(name)?;
    let id = key_id(name, key.verifying_key().as_bytes());
    let signature = key.sign(text.as_bytes());
    let mut blob = Vec::with_capacity(4 + 64);
    blob.extend_from_slice(&id);
    blob.extend_from_slice(&signature.to_bytes());
    Ok(format!(
        "{text}\n{SIGNATURE_PREFIX}{name} {}\n",
        STANDARD.encode(blob)
    ))
}

/// Parses a signed note and returns its text when at least one signature by one of `verifiers` verifies (verify_strict);
/// signatures by unknown keys are ignored; a known key's bad signature is an error.
pub fn open<'a>(note: &'a str, verifiers: &[Verifier]) -> Result<&'a str, NoteError> {
    let (text, lines) = split(note)?;
    let mut verified = false;
    for line in lines {
        let (name, id, signature) = parse_signature_line(line)?;
        let Some(verifier) = verifiers.iter().find(|v| v.name == name && v.key_id == id) else {
            continue;
        };
        let signature = <[u8; 64]>::try_from(signature)
            .map_err(|_| NoteError::BadSignature(name.to_owned()))?;
        verifier
            .key
            .verify_strict(text.as_bytes(), &Signature::from_bytes(&signature))
            .map_err(|_| NoteError::BadSignature(name.to_owned()))?;
        verified = true;
    }
    if verified {
        Ok(text)
    } else {
        Err(NoteError::NoTrustedSignature)
    }
}

/// Splits a signed note into its text (ending in its newline) and its signature lines
/// (without newlines), checking the layout but no signature.
pub fn split(note: &str) -> Result<(&str, Vec<&str>), NoteError> {
    check_chars(note)?;
    // The text ends at the last empty line: the text itself may contain empty lines.
    let split = note
        .rfind("\n\n")
        .ok_or(NoteError::Malformed("no empty line before the signatures"))?;
    let (text, signatures) = (&note[..split + 1], &note[split + 2..]);
    let Some(signatures) = signatures.strip_suffix('\n') else {
        return Err(NoteError::Malformed(
            "signature block must end in a newline",
        ));
    };
    if signatures.is_empty() {
        return Err(NoteError::Malformed("no signature lines"));
    }
    let lines: Vec<&str> = signatures.split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(NoteError::Malformed("too many signatures"));
    }
    Ok((text, lines))
}

/// Splits `— <name> <base64>` into the name, key id and signature bytes.
fn parse_signature_line(line: &str) -> Result<(&str, [u8; 4], Vec<u8>), NoteError> {
    let rest = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(NoteError::Malformed(
            "signature line does not start with \"— \"",
        ))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or(NoteError::Malformed("signature line has no signature"))?;
    check_key_name(name)?;
    let blob = STANDARD
        .decode(b64)
        .map_err(|_| NoteError::Malformed("signature is not base64"))?;
    // Four bytes of key id and at least one of signature, as the Go implementation requires.
    if blob.len() < 5 {
        return Err(NoteError::Malformed("signature is too short"));
    }
    let (id, signature) = blob.split_at(4);
    let id = [id[0], id[1], id[2], id[3]];
    Ok((name, id, signature.to_vec()))
}

fn check_chars(s: &str) -> Result<(), NoteError> {
    if s.chars().any(|c| c.is_ascii_control() && c != '\n') {
        return Err(NoteError::Malformed(
            "control characters other than newline are not allowed",
        ));
    }
    Ok(())
}

fn check_text(text: &str) -> Result<(), NoteError> {
    check_chars(text)?;
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("note text must end in a newline"));
    }
    Ok(())
}

fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(NoteError::BadKeyName(name.to_owned()));
    }
    Ok(())
}

/// The body of a log checkpoint (c2sp.org/tlog-checkpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// `origin\nsize\nbase64(root)\n`, ready for [`sign`].
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    /// Parses checkpoint text (as [`open`] returns it). Extension lines after the third are
    /// allowed, must be non-empty, and are ignored.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let bad = NoteError::BadCheckpoint;
        let body = text
            .strip_suffix('\n')
            .ok_or(bad("text must end in a newline"))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(bad("expected origin, size and root lines"));
        };
        if origin.is_empty() {
            return Err(bad("origin is empty"));
        }
        if lines.any(str::is_empty) {
            return Err(bad("extension lines must be non-empty"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size: parse_size(size)?,
            root: STANDARD
                .decode(root)
                .ok()
                .and_then(|b| Hash::try_from(b).ok())
                .ok_or(bad("root is not base64 of 32 bytes"))?,
        })
    }
}

/// Strict decimal: only digits, no sign, no leading zero except "0" itself (also the `old`
/// line of c2sp.org/tlog-witness).
pub fn parse_size(s: &str) -> Result<u64, NoteError> {
    if !canonical_decimal(s) {
        return Err(NoteError::BadCheckpoint(
            "tree size is not a canonical decimal number",
        ));
    }
    s.parse()
        .map_err(|_| NoteError::BadCheckpoint("tree size does not fit in 64 bits"))
}

/// Digits only, no sign, no leading zero except "0" itself: the one spelling of a number
/// that C2SP formats (sizes, indexes, thresholds) accept.
pub fn canonical_decimal(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    #[error("malformed signed note: {0}")]
    Malformed(&'static str),
    #[error("invalid key name {0:?}: it must be non-empty, without spaces or '+'")]
    BadKeyName(String),
    #[error("invalid verifier key {vkey:?}: {why}")]
    BadVkey { vkey: String, why: String },
    #[error("signature by trusted key {0:?} does not verify")]
    BadSignature(String),
    #[error("note has no valid signature by a trusted key")]
    NoTrustedSignature,
    #[error("malformed checkpoint: {0}")]
    BadCheckpoint(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of c2sp.org/signed-note: its verifier key and a note it signed.
    const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    fn test_key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn spec_example_vkey_parses_with_its_key_id() {
        let v = Verifier::from_vkey(SPEC_VKEY).expect("spec vkey");
        assert_eq!(v.name, "example.com/foo");
        assert_eq!(hex::encode(v.key_id), "530d903a");
        assert_eq!(key_id(&v.name, v.key.as_bytes()), v.key_id);
        assert_eq!(v.vkey(), SPEC_VKEY);
    }

    #[test]
    fn spec_example_note_opens() {
        let v = Verifier::from_vkey(SPEC_VKEY).expect("spec vkey");
        assert_eq!(
            open(SPEC_NOTE, &[v]).expect("spec note verifies"),
            "This is an example message.\n"
        );
    }

    #[test]
    fn spec_example_with_tampered_text_is_refused() {
        let v = Verifier::from_vkey(SPEC_VKEY).expect("spec vkey");
        let tampered = SPEC_NOTE.replace("example message", "exemplary message");
        assert!(matches!(
            open(&tampered, &[v]),
            Err(NoteError::BadSignature(_))
        ));
    }

    #[test]
    fn vkey_with_wrong_id_is_refused() {
        let wrong = SPEC_VKEY.replace("530d903a", "530d903b");
        assert!(Verifier::from_vkey(&wrong).is_err());
        assert!(Verifier::from_vkey("example.com/foo+530d903a").is_err());
        assert!(Verifier::from_vkey("example.com/foo+530d903a+!!").is_err());
    }

    #[test]
    fn sign_then_open_round_trips() {
        let key = test_key(1);
        let text = "ikrar.example/log\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let note = sign(text, "ikrar.example/log", &key).expect("valid text");
        assert!(note.starts_with(text));
        assert!(note.contains("\n\n\u{2014} ikrar.example/log "));
        let v = Verifier::new("ikrar.example/log", key.verifying_key());
        assert_eq!(open(&note, &[v]).expect("own signature"), text);
    }

    #[test]
    fn text_with_empty_lines_round_trips() {
        let key = test_key(2);
        let text = "first\n\nthird\n";
        let note = sign(text, "a.example/k", &key).expect("valid text");
        let v = Verifier::new("a.example/k", key.verifying_key());
        assert_eq!(open(&note, &[v]).expect("own signature"), text);
    }

    #[test]
    fn sign_refuses_bad_text_and_names() {
        let key = test_key(3);
        assert!(sign("", "a.example/k", &key).is_err());
        assert!(sign("no newline", "a.example/k", &key).is_err());
        assert!(sign("tab\there\n", "a.example/k", &key).is_err());
        assert!(sign("cr\r\n", "a.example/k", &key).is_err());
        assert!(sign("ok\n", "", &key).is_err());
        assert!(sign("ok\n", "a b", &key).is_err());
        assert!(sign("ok\n", "a+b", &key).is_err());
    }

    #[test]
    fn unknown_keys_are_ignored_but_never_enough() {
        let (signer, other) = (test_key(4), test_key(5));
        let note = sign("hello\n", "a.example/k", &signer).expect("valid text");

        // Same name, different key: a different id, so the signature is not ours to check.
        let stranger = Verifier::new("a.example/k", other.verifying_key());
        assert!(matches!(
            open(&note, std::slice::from_ref(&stranger)),
            Err(NoteError::NoTrustedSignature)
        ));

        // An unknown signature beside a trusted one is skipped.
        let other_note = sign("hello\n", "b.example/k", &other).expect("valid text");
        let other_line = other_note
            .strip_prefix("hello\n\n")
            .expect("one text, one signature");
        let both = format!("{note}{other_line}");
        let trusted = Verifier::new("a.example/k", signer.verifying_key());
        assert_eq!(
            open(&both, &[trusted]).expect("trusted one verifies"),
            "hello\n"
        );
        assert!(open(&both, &[stranger]).is_err());
    }

    #[test]
    fn bad_signature_by_known_key_is_an_error() {
        let key = test_key(6);
        let v = Verifier::new("a.example/k", key.verifying_key());
        let note = sign("hello\n", "a.example/k", &key).expect("valid text");
        let forged = note.replace("hello", "HELLO");
        assert!(matches!(
            open(&forged, std::slice::from_ref(&v)),
            Err(NoteError::BadSignature(_))
        ));

        // A corrupted signature keeps its id, so it is still the known key's and must fail.
        let sig_start = note.rfind(' ').expect("signature line") + 1;
        let mut blob = STANDARD
            .decode(note[sig_start..].trim_end())
            .expect("own base64");
        blob[10] ^= 1;
        let corrupted = format!("{}{}\n", &note[..sig_start], STANDARD.encode(&blob));
        assert!(matches!(
            open(&corrupted, &[v]),
            Err(NoteError::BadSignature(_))
        ));
    }

    #[test]
    fn malformed_notes_are_refused() {
        let key = test_key(7);
        let v = Verifier::new("a.example/k", key.verifying_key());
        let note = sign("hello\n", "a.example/k", &key).expect("valid text");
        for bad in [
            "hello\n".to_owned(),
            note.trim_end().to_owned(),
            note.replace('\u{2014}', "-"),
            format!("{note}garbage\n"),
            note.replace("hello", "hel\u{7}lo"),
        ] {
            assert!(open(&bad, std::slice::from_ref(&v)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn checkpoint_round_trips() {
        let cp = Checkpoint {
            origin: "ikrar.example/log".into(),
            size: 20852163,
            root: [0x5a; 32],
        };
        let text = cp.to_text();
        assert_eq!(Checkpoint::parse(&text).expect("own text"), cp);
        let key = test_key(8);
        let note = sign(&text, "ikrar.example/log", &key).expect("checkpoint text is a valid note");
        let v = Verifier::new("ikrar.example/log", key.verifying_key());
        let opened = open(&note, &[v]).expect("own signature");
        assert_eq!(Checkpoint::parse(opened).expect("signed text"), cp);
    }

    #[test]
    fn checkpoint_parses_the_spec_example_with_extensions() {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::parse(text).expect("spec example");
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20852163);
        assert_eq!(cp.to_text(), text);
        let extended = format!("{text}extension one\nextension two\n");
        assert_eq!(
            Checkpoint::parse(&extended).expect("extensions are ignored"),
            cp
        );
    }

    #[test]
    fn checkpoint_refuses_sloppy_text() {
        let root = STANDARD.encode([1u8; 32]);
        for bad in [
            format!("o\n007\n{root}\n"),
            format!("o\n+7\n{root}\n"),
            format!("o\n-7\n{root}\n"),
            format!("o\n 7\n{root}\n"),
            format!("o\n\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            format!("\n7\n{root}\n"),
            format!("o\n7\n{root}"),
            format!("o\n7\n{root}\n\n"),
            format!("o\n7\n{root}\next\n\n"),
            "o\n7\nAAAA\n".to_owned(),
            "o\n7\n".to_owned(),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Checkpoint::parse(&format!("o\n0\n{root}\n"))
                .expect("zero is canonical")
                .size,
            0
        );
    }

    proptest::proptest! {
        #[test]
        fn checkpoint_text_round_trips(
            origin in "[a-z0-9./-]{1,40}", size in proptest::prelude::any::<u64>(),
            root in proptest::prelude::any::<[u8; 32]>(),
        ) {
            let cp = Checkpoint { origin, size, root };
            proptest::prop_assert_eq!(Checkpoint::parse(&cp.to_text()).expect("own text"), cp);
        }

        #[test]
        fn parsers_never_panic(text in "(?s).{0,200}") {
            let _ = Checkpoint::parse(&text);
            let _ = Verifier::from_vkey(&text);
            let v = Verifier::from_vkey(SPEC_VKEY).expect("spec vkey");
            let _ = open(&text, &[v]);
        }
    }
}
