//! The body of `POST /add-checkpoint` (c2sp.org/tlog-witness): `old <size>`, at most 63
//! consistency proof lines (one base64 hash each), an empty line, the signed checkpoint.
//! Pure: no I/O. Refusals are Indonesian sentences: the log's operator reads them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::tlog::merkle::Hash;
use crate::tlog::note;

/// The spec forbids clients to send more.
pub const MAX_PROOF_LINES: usize = 63;

#[derive(Debug, PartialEq, Eq)]
pub struct AddCheckpoint<'a> {
    pub old: u64,
    pub proof: Vec<Hash>,
    /// The signed checkpoint, verbatim.
    pub note: &'a str,
}

impl<'a> AddCheckpoint<'a> {
    pub fn parse(body: &'a str) -> Result<Self, String> {
        let (first, mut rest) = body
            .split_once('\n')
            .ok_or("tidak ada baris ukuran lama (old)")?;
        let old = first
            .strip_prefix("old ")
            .ok_or("baris pertama harus \"old <ukuran>\"")?;
        let old = note::parse_size(old)
            .map_err(|_| "ukuran lama bukan bilangan desimal kanonik 64 bit".to_owned())?;
        let mut proof = Vec::new();
        loop {
            let (line, next) = rest
                .split_once('\n')
                .ok_or("tidak ada baris kosong sebelum checkpoint")?;
            rest = next;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(format!(
                    "lebih dari {MAX_PROOF_LINES} baris bukti konsistensi"
                ));
            }
            let hash = STANDARD
                .decode(line)
                .ok()
                .and_then(|b| Hash::try_from(b).ok())
                .ok_or("baris bukti konsistensi bukan base64 dari 32 bita")?;
            proof.push(hash);
        }
        if rest.is_empty() {
            return Err("checkpoint tidak ada".into());
        }
        Ok(Self {
            old,
            proof,
            note: rest,
        })
    }

    /// The checkpoint's first line, which names its log.
    pub fn origin(&self) -> Option<&'a str> {
        self.note
            .split_once('\n')
            .map(|(origin, _)| origin)
            .filter(|o| !o.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

    #[test]
    fn parses_the_spec_example() {
        let body = format!(
            "old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
             jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
             5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
             /6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\n{NOTE}"
        );
        let req = AddCheckpoint::parse(&body).expect("spec example");
        assert_eq!(req.old, 20852014);
        assert_eq!(req.proof.len(), 4);
        assert_eq!(req.note, NOTE);
        assert_eq!(req.origin(), Some("example.com/behind-the-sofa"));
    }

    #[test]
    fn parses_an_empty_proof_from_zero() {
        let body = format!("old 0\n\n{NOTE}");
        let req = AddCheckpoint::parse(&body).expect("first contact");
        assert_eq!((req.old, req.proof.len()), (0, 0));
    }

    #[test]
    fn refuses_malformed_bodies() {
        let hash = STANDARD.encode([7u8; 32]);
        let too_many = format!("old 1\n{}\n{NOTE}", format!("{hash}\n").repeat(64));
        for bad in [
            String::new(),
            "old 0".to_owned(),
            format!("old 00\n\n{NOTE}"),
            format!("old -1\n\n{NOTE}"),
            format!("old  1\n\n{NOTE}"),
            format!("Old 1\n\n{NOTE}"),
            format!("old 18446744073709551616\n\n{NOTE}"),
            format!("old 1\n{NOTE}"),
            format!("old 1\nAAAA\n\n{NOTE}"),
            format!("old 1\n{hash}\n"),
            format!("old 1\n{hash}\n\n"),
            too_many,
        ] {
            assert!(AddCheckpoint::parse(&bad).is_err(), "{bad:?}");
        }
        let sixty_three = format!("old 1\n{}\n{NOTE}", format!("{hash}\n").repeat(63));
        assert_eq!(
            AddCheckpoint::parse(&sixty_three)
                .expect("63 lines")
                .proof
                .len(),
            63
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(body in "(?s).{0,300}") {
            let _ = AddCheckpoint::parse(&body).map(|r| r.origin());
        }
    }
}
