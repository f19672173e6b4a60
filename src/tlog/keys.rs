//! Ed25519 key material: generating keys, reading and writing PKCS#8 / SPKI PEM files that
//! OpenSSL also reads and writes, the `keygen` key directory (private keys, public keys and
//! signed-note verifier keys), and [`NamedKey`], a signing key bound to its signed-note name.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::EncodePublicKey as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, KeypairBytes};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use crate::tlog::note::{self, Verifier};

/// A fresh key from the operating system's random number generator.
pub fn generate() -> SigningKey {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).expect("the operating system must provide random numbers");
    SigningKey::from_bytes(&secret)
}

/// Reads a PKCS#8 private key PEM: v1 (as `openssl genpkey -algorithm ed25519` writes) or
/// v2 (with the public key, which must then match).
pub fn signing_key_from_pem(pem: &str) -> Result<SigningKey, KeyError> {
    if pem.contains("ENCRYPTED PRIVATE KEY") {
        return Err(KeyError::InvalidPem(
            "the key is encrypted; store it unencrypted with restricted permissions".into(),
        ));
    }
    SigningKey::from_pkcs8_pem(pem.trim()).map_err(|e| KeyError::InvalidPem(e.to_string()))
}

/// Reads a private key file; errors name the file.
pub fn load_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    let pem = fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })?;
    signing_key_from_pem(&pem).map_err(|e| KeyError::InvalidKeyFile {
        path: path.to_owned(),
        why: match e {
            KeyError::InvalidPem(why) => why,
            other => other.to_string(),
        },
    })
}

/// PKCS#8 v1, without the public key: OpenSSL 3.0 (Debian 12) refuses v2 Ed25519 keys.
pub fn signing_key_to_pem(key: &SigningKey) -> String {
    let v1 = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    v1.to_pkcs8_pem(Default::default())
        .expect("encoding a 32-byte Ed25519 key cannot fail")
        .to_string()
}

/// SPKI `PUBLIC KEY` PEM, as `openssl pkey -pubout` writes it.
pub fn public_key_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(Default::default())
        .expect("encoding a 32-byte Ed25519 public key cannot fail")
}

/// The two keys of a deployment: one signs pledge records, the other log checkpoints.
const ROLES: [&str; 2] = ["pledge", "log"];

/// Creates `dir` if needed and writes pledge.pem, log.pem (mode 0600 on unix), pledge.pub, log.pub (SPKI PEM),
/// pledge.vkey, log.vkey (signed-note verifier keys named "<host>/pledge" and "<host>/log", one line each).
/// Refuses (KeyError::Exists naming the file) when any of them exists, unless `force`. Returns the paths written.
pub fn keygen(dir: &Path, host: &str, force: bool) -> Result<Vec<PathBuf>, KeyError> {
    if host.is_empty() || host.contains(['/', '+']) || host.chars().any(char::is_whitespace) {
        return Err(KeyError::BadHost(host.to_owned()));
    }
    let files: Vec<PathBuf> = ROLES
        .iter()
        .flat_map(|role| ["pem", "pub", "vkey"].map(|ext| dir.join(format!("{role}.{ext}"))))
        .collect();
    // Checked up front so a refusal leaves no half-written key set behind.
    if !force && let Some(existing) = files.iter().find(|p| p.exists()) {
        return Err(KeyError::Exists(existing.clone()));
    }
    fs::create_dir_all(dir).map_err(|source| KeyError::Io {
        path: dir.to_owned(),
        source,
    })?;

    let mut written = Vec::with_capacity(files.len());
    for role in ROLES {
        let key = NamedKey::new(&format!("{host}/{role}"), generate());
        let contents = [
            ("pem", signing_key_to_pem(key.signing_key()), true),
            ("pub", public_key_pem(&key.verifying_key()), false),
            ("vkey", format!("{}\n", key.vkey()), false),
        ];
        for (ext, text, secret) in contents {
            let path = dir.join(format!("{role}.{ext}"));
            write_file(&path, text.as_bytes(), secret, force)?;
            written.push(path);
        }
    }
    Ok(written)
}

pub(crate) fn write_file(
    path: &Path,
    contents: &[u8],
    secret: bool,
    force: bool,
) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        // Also catches a file that appeared since the check in `keygen`.
        options.create_new(true);
    }
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists(path.to_owned())
        } else {
            io(e)
        }
    })?;
    // The mode above applies only to new files; an overwritten key file may have been
    // readable by others, so tighten it before the secret goes in.
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io)?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)
}

/// What a key signs: pledge and annulment records, or the log's checkpoints (SPEC 3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPurpose {
    Pledge,
    Log,
}

impl KeyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Pledge => "pledge",
            KeyPurpose::Log => "log",
        }
    }
}

impl TryFrom<String> for KeyPurpose {
    type Error = KeyError;

    fn try_from(s: String) -> Result<Self, KeyError> {
        match s.as_str() {
            "pledge" => Ok(KeyPurpose::Pledge),
            "log" => Ok(KeyPurpose::Log),
            other => Err(KeyError::Purpose(other.to_string())),
        }
    }
}

/// The time a published key may sign: from `not_before` to `not_after` (inclusive), or
/// open-ended. A record counts as signed by a key only if its sequencing time lies inside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyWindow {
    pub not_before: i64,
    pub not_after: Option<i64>,
}

impl KeyWindow {
    pub fn covers(&self, at: i64) -> bool {
        self.not_before <= at && self.not_after.is_none_or(|end| at <= end)
    }
}

/// A signing key with its signed-note name and key id. Debug must not print the secret.
#[derive(Clone)]
pub struct NamedKey {
    pub name: String,
    pub key_id: [u8; 4],
    key: SigningKey,
}

impl NamedKey {
    pub fn new(name: &str, key: SigningKey) -> Self {
        Self {
            name: name.to_owned(),
            key_id: note::key_id(name, key.verifying_key().as_bytes()),
            key,
        }
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn public_bytes(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Ed25519 signature of `message` (RFC 8032, deterministic).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// The signed-note verifier key line (without newline).
    pub fn vkey(&self) -> String {
        note::vkey(&self.name, &self.public_bytes())
    }

    pub fn verifier(&self) -> Verifier {
        Verifier::new(&self.name, self.verifying_key())
    }
}

impl fmt::Debug for NamedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamedKey")
            .field("name", &self.name)
            .field("key_id", &hex::encode(self.key_id))
            .field("public_key", &hex::encode(self.public_bytes()))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("unknown key purpose '{0}'")]
    Purpose(String),
    #[error("{path}: {source}", path = .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not an Ed25519 PKCS#8 private key PEM: {why}", path = .path.display())]
    InvalidKeyFile { path: PathBuf, why: String },
    #[error("not an Ed25519 PKCS#8 private key PEM: {0}")]
    InvalidPem(String),
    #[error("{path} already exists; refusing to overwrite a key without force", path = .0.display())]
    Exists(PathBuf),
    #[error("invalid host {0:?} for key names: it must be non-empty, without spaces, '/' or '+'")]
    BadHost(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Made with `openssl genpkey -algorithm ed25519` (OpenSSL 3.0).
    const OPENSSL_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIDsd/2/Ojcxd7BZtEYUBpFlFmchWCno8uYqCE8dvAvRQ
-----END PRIVATE KEY-----
";
    /// What `openssl pkey -pubout` printed for OPENSSL_KEY.
    const OPENSSL_PUB: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAAV+mCnnl5I3v30ZiTiAds+5Agz5B10J0FEQaLWSn3YA=
-----END PUBLIC KEY-----
";

    fn from_hex<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s)
            .expect("test hex")
            .try_into()
            .expect("test hex length")
    }

    #[test]
    fn rfc_8032_known_answers() {
        // RFC 8032 §7.1 TEST 1, 2 and 3: secret key, public key, message, signature.
        let cases = [
            (
                "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                "",
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
                 5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            ),
            (
                "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                "72",
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
                 085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
            ),
            (
                "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
                "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
                "af82",
                "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac\
                 18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
            ),
        ];
        for (secret, public, message, signature) in cases {
            let key = NamedKey::new(
                "rfc8032.example/test",
                SigningKey::from_bytes(&from_hex(secret)),
            );
            let message = hex::decode(message).expect("test hex");
            assert_eq!(hex::encode(key.public_bytes()), public);
            assert_eq!(hex::encode(key.sign(&message)), signature);
            let sig = ed25519_dalek::Signature::from_bytes(&from_hex(signature));
            assert!(key.verifying_key().verify_strict(&message, &sig).is_ok());
        }
    }

    #[test]
    fn reads_openssl_genpkey_output() {
        let key = signing_key_from_pem(OPENSSL_KEY).expect("openssl key");
        assert_eq!(public_key_pem(&key.verifying_key()), OPENSSL_PUB);
        // Same key, same v1 encoding as OpenSSL.
        assert_eq!(signing_key_to_pem(&key), OPENSSL_KEY);
    }

    #[test]
    fn reads_pkcs8_v2_with_matching_public_key() {
        let key = generate();
        let v2 = key
            .to_pkcs8_pem(Default::default())
            .expect("encode v2")
            .to_string();
        let back = signing_key_from_pem(&v2).expect("v2 key");
        assert_eq!(back.to_bytes(), key.to_bytes());

        let mismatched = KeypairBytes {
            secret_key: key.to_bytes(),
            public_key: Some(ed25519_dalek::pkcs8::PublicKeyBytes(
                generate().verifying_key().to_bytes(),
            )),
        };
        let bad = mismatched
            .to_pkcs8_pem(Default::default())
            .expect("encode v2")
            .to_string();
        assert!(signing_key_from_pem(&bad).is_err());
    }

    #[test]
    fn refuses_non_keys() {
        assert!(signing_key_from_pem("").is_err());
        assert!(signing_key_from_pem(OPENSSL_PUB).is_err());
        assert!(signing_key_from_pem(&OPENSSL_KEY.replace("MC4C", "MC4D")).is_err());
        assert!(matches!(
            signing_key_from_pem("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"),
            Err(KeyError::InvalidPem(_))
        ));
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing.pem");
        let err = load_signing_key(&missing).expect_err("no such file");
        assert!(err.to_string().contains("missing.pem"), "{err}");

        let garbage = dir.path().join("garbage.pem");
        fs::write(&garbage, "not a key").expect("write");
        let err = load_signing_key(&garbage).expect_err("not a key");
        assert!(err.to_string().contains("garbage.pem"), "{err}");

        let good = dir.path().join("good.pem");
        fs::write(&good, OPENSSL_KEY).expect("write");
        assert!(load_signing_key(&good).is_ok());
    }

    fn openssl(args: &[&str]) -> std::process::Output {
        Command::new("openssl")
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("this test runs the `openssl` binary (apt-get install openssl): {e}")
            })
    }

    #[test]
    fn openssl_reads_our_private_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("key.pem");
        let key = generate();
        fs::write(&path, signing_key_to_pem(&key)).expect("write");
        let file = path.to_str().expect("utf-8 temp path");

        let check = openssl(&["pkey", "-in", file, "-noout"]);
        assert!(
            check.status.success(),
            "openssl pkey refused our key: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let public = openssl(&["pkey", "-in", file, "-pubout"]);
        assert!(public.status.success());
        assert_eq!(
            String::from_utf8_lossy(&public.stdout),
            public_key_pem(&key.verifying_key())
        );
    }

    #[test]
    fn keygen_writes_six_files_and_respects_force() {
        let parent = tempfile::tempdir().expect("temp dir");
        let dir = parent.path().join("keys");
        let written = keygen(&dir, "ikrar.example", false).expect("fresh dir");
        let names: Vec<String> = written
            .iter()
            .map(|p| {
                p.file_name()
                    .expect("file name")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "pledge.pem",
                "pledge.pub",
                "pledge.vkey",
                "log.pem",
                "log.pub",
                "log.vkey"
            ]
        );

        for role in ROLES {
            let key = load_signing_key(&dir.join(format!("{role}.pem"))).expect("written key");
            let public = fs::read_to_string(dir.join(format!("{role}.pub"))).expect("pub");
            assert_eq!(public, public_key_pem(&key.verifying_key()));
            let vkey = fs::read_to_string(dir.join(format!("{role}.vkey"))).expect("vkey");
            assert_eq!(vkey.lines().count(), 1);
            let verifier = Verifier::from_vkey(vkey.trim_end()).expect("vkey parses");
            assert_eq!(verifier.name, format!("ikrar.example/{role}"));
            assert_eq!(verifier.key, key.verifying_key());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = fs::metadata(dir.join(format!("{role}.pem")))
                    .expect("metadata")
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600);
            }
        }

        let before = fs::read(dir.join("log.pem")).expect("log key");
        let err = keygen(&dir, "ikrar.example", false).expect_err("files exist");
        assert!(
            matches!(&err, KeyError::Exists(p) if p.ends_with("pledge.pem")),
            "{err}"
        );
        assert_eq!(fs::read(dir.join("log.pem")).expect("log key"), before);

        // One existing file is enough to refuse, and nothing is written.
        fs::remove_file(dir.join("pledge.pem")).expect("remove");
        let err = keygen(&dir, "ikrar.example", false).expect_err("the other five exist");
        assert!(err.to_string().contains("pledge.pub"), "{err}");
        assert!(!dir.join("pledge.pem").exists());

        keygen(&dir, "ikrar.example", true).expect("force overwrites");
        assert_ne!(fs::read(dir.join("log.pem")).expect("log key"), before);
    }

    #[test]
    fn keygen_refuses_bad_hosts() {
        let dir = tempfile::tempdir().expect("temp dir");
        for host in ["", "a b", "a+b", "a/b"] {
            assert!(matches!(
                keygen(dir.path(), host, false),
                Err(KeyError::BadHost(_))
            ));
        }
    }

    #[test]
    fn named_key_binds_name_and_id() {
        let key = NamedKey::new("ikrar.example/pledge", SigningKey::from_bytes(&[9; 32]));
        assert_eq!(key.key_id, note::key_id(&key.name, &key.public_bytes()));
        let verifier = Verifier::from_vkey(&key.vkey()).expect("own vkey");
        assert_eq!(verifier.key_id, key.key_id);
        assert_eq!(key.verifier().vkey(), key.vkey());
        let signed = note::sign("text\n", &key.name, key.signing_key()).expect("valid note");
        assert_eq!(
            note::open(&signed, &[key.verifier()]).expect("verifies"),
            "text\n"
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let secret = [0x42; 32];
        let key = NamedKey::new("ikrar.example/log", SigningKey::from_bytes(&secret));
        let shown = format!("{key:?}");
        assert!(shown.contains("ikrar.example/log"));
        assert!(!shown.contains(&hex::encode(secret)));
        assert!(!shown.contains("SigningKey"));
    }

    #[test]
    fn key_window_covers_its_bounds_inclusively() {
        let w = KeyWindow {
            not_before: 10,
            not_after: Some(20),
        };
        assert!(!w.covers(9));
        assert!(w.covers(10) && w.covers(20));
        assert!(!w.covers(21));
        let open = KeyWindow {
            not_before: 10,
            not_after: None,
        };
        assert!(open.covers(i64::MAX));
    }
}
