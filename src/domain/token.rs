//! Invitation tokens: 128 random bits shown once as base32, stored only as SHA-256.

use data_encoding::BASE32_NOPAD;

use super::statement::sha256;

/// A freshly minted token and the hash that is stored.
pub struct NewToken {
    pub token: String,
    pub hash: [u8; 32],
}

/// `bytes` random bytes as base32: session ids, CSRF tokens, API tokens.
pub fn random(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).expect("the operating system's random source is available");
    BASE32_NOPAD.encode(&b)
}

pub fn mint() -> NewToken {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    let token = BASE32_NOPAD.encode(&bytes);
    NewToken {
        hash: hash(&token),
        token,
    }
}

/// Tokens are accepted in either case (they are typed from paper, too).
pub fn hash(token: &str) -> [u8; 32] {
    sha256(token.trim().to_ascii_uppercase().as_bytes())
}

/// A token has the shape of ours: 26 base32 characters.
pub fn looks_valid(token: &str) -> bool {
    token.len() == 26
        && token
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || (b'2'..=b'7').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mints_distinct_26_character_tokens_hashed_case_insensitively() {
        let a = mint();
        let b = mint();
        assert_ne!(a.token, b.token);
        assert!(looks_valid(&a.token));
        assert_eq!(hash(&a.token.to_ascii_lowercase()), a.hash);
    }
}
