//! Witness policies (c2sp.org/tlog-policy): which logs and witnesses are known, and the
//! quorum of cosignatures a checkpoint needs to be accepted. Parsed strictly, evaluated on
//! the cosignature lines of a checkpoint note. Pure: no I/O.
//!
//! ```text
//! log example.org/log+2a7ae0b5+AQ…
//! witness bawaslu bawaslu.go.id/saksi+6b1d3a0c+BP… https://saksi.bawaslu.go.id
//! witness ombudsman ombudsman.go.id/saksi+0f9e2d1a+BK…
//! group both all bawaslu ombudsman
//! quorum both
//! ```

use std::collections::HashMap;

use crate::tlog::cosignature::CosignatureVerifier;
use crate::tlog::note::{self, NoteError, Verifier};

/// Limits well above the spec's recommended minimum (32 logs, 32 witnesses, 32 groups).
const MAX_LOGS: usize = 64;
const MAX_WITNESSES: usize = 64;
const MAX_GROUPS: usize = 64;
/// A policy file is a few kilobytes; refuse anything that is plainly not one.
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

/// A witness the policy names: its name in the policy (only meaningful inside it), its
/// cosignature/v1 key, and where it takes `add-checkpoint` requests, if given.
#[derive(Clone, Debug)]
pub struct PolicyWitness {
    pub name: String,
    pub verifier: CosignatureVerifier,
    pub vkey: String,
    pub url: Option<String>,
}

/// A log the policy accepts, with its URL if given.
#[derive(Clone, Debug)]
pub struct PolicyLog {
    pub verifier: Verifier,
    pub url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Member {
    Witness(usize),
    Group(usize),
}

#[derive(Clone, Debug)]
struct Group {
    threshold: usize,
    members: Vec<Member>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quorum {
    None,
    Of(Member),
}

#[derive(Clone, Debug)]
pub struct Policy {
    pub logs: Vec<PolicyLog>,
    pub witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    quorum: Quorum,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("line {line}: {why}")]
    Syntax { line: usize, why: String },
    #[error("the policy has no quorum line")]
    NoQuorum,
    #[error("the policy file is larger than {MAX_POLICY_BYTES} bytes")]
    TooLarge,
}

impl Policy {
    /// Parses a policy file as c2sp.org/tlog-policy specifies it: names are defined before
    /// use, keys are not duplicated, each name is a group member at most once, `1 ≤ k ≤ n`,
    /// exactly one quorum line; only tab, newline and printable octets.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge);
        }
        let mut logs: Vec<PolicyLog> = Vec::new();
        let mut witnesses: Vec<PolicyWitness> = Vec::new();
        let mut groups: Vec<Group> = Vec::new();
        let mut names: HashMap<String, Member> = HashMap::new();
        let mut quorum = None;
        for (at, raw) in text.split('\n').enumerate() {
            let line = at + 1;
            let err = |why: String| PolicyError::Syntax { line, why };
            if let Some(c) = raw.chars().find(|&c| c.is_ascii_control() && c != '\t') {
                return Err(err(format!(
                    "control character U+{:04X} is not allowed",
                    c as u32
                )));
            }
            let words: Vec<&str> = raw.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
            let Some((&keyword, args)) = words.split_first() else {
                continue;
            };
            if keyword.starts_with('#') {
                continue;
            }
            match keyword {
                "log" => {
                    let (vkey, url) = match args {
                        [vkey] => (*vkey, None),
                        [vkey, url] => (*vkey, Some((*url).to_owned())),
                        _ => return Err(err("expected: log <vkey> [<url>]".into())),
                    };
                    let verifier = Verifier::from_vkey(vkey).map_err(|e| err(e.to_string()))?;
                    if logs.iter().any(|l| l.verifier.key == verifier.key) {
                        return Err(err("duplicate log key".into()));
                    }
                    if logs.len() == MAX_LOGS {
                        return Err(err(format!("more than {MAX_LOGS} logs")));
                    }
                    logs.push(PolicyLog { verifier, url });
                }
                "witness" => {
                    let (name, vkey, url) = match args {
                        [name, vkey] => (*name, *vkey, None),
                        [name, vkey, url] => (*name, *vkey, Some((*url).to_owned())),
                        _ => return Err(err("expected: witness <name> <vkey> [<url>]".into())),
                    };
                    define(&names, name).map_err(err)?;
                    let verifier =
                        CosignatureVerifier::from_vkey(vkey).map_err(|e| err(e.to_string()))?;
                    if witnesses.iter().any(|w| w.verifier.key == verifier.key) {
                        return Err(err("duplicate witness key".into()));
                    }
                    if witnesses.len() == MAX_WITNESSES {
                        return Err(err(format!("more than {MAX_WITNESSES} witnesses")));
                    }
                    names.insert(name.to_owned(), Member::Witness(witnesses.len()));
                    witnesses.push(PolicyWitness {
                        name: name.to_owned(),
                        verifier,
                        vkey: vkey.to_owned(),
                        url,
                    });
                }
                "group" => {
                    let [name, threshold, members @ ..] = args else {
                        return Err(err("expected: group <name> all|any|<k> <member>...".into()));
                    };
                    define(&names, name).map_err(err)?;
                    if members.is_empty() {
                        return Err(err("a group needs at least one member".into()));
                    }
                    let mut resolved = Vec::with_capacity(members.len());
                    for member in members {
                        let Some(&m) = names.get(*member) else {
                            return Err(err(format!(
                                "{member:?} is not defined on a line before this one"
                            )));
                        };
                        if resolved.contains(&m) {
                            return Err(err(format!("{member:?} is listed twice")));
                        }
                        resolved.push(m);
                    }
                    let n = resolved.len();
                    let threshold = match *threshold {
                        "all" => n,
                        "any" => 1,
                        k => match parse_k(k) {
                            Some(k) if (1..=n).contains(&k) => k,
                            _ => {
                                return Err(err(format!(
                                    "threshold {k:?} must be all, any or a decimal 1..={n}"
                                )));
                            }
                        },
                    };
                    if groups.len() == MAX_GROUPS {
                        return Err(err(format!("more than {MAX_GROUPS} groups")));
                    }
                    names.insert((*name).to_owned(), Member::Group(groups.len()));
                    groups.push(Group {
                        threshold,
                        members: resolved,
                    });
                }
                "quorum" => {
                    let [name] = args else {
                        return Err(err("expected: quorum <name>|none".into()));
                    };
                    if quorum.is_some() {
                        return Err(err("a policy has exactly one quorum line".into()));
                    }
                    quorum = Some(if *name == "none" {
                        Quorum::None
                    } else {
                        Quorum::Of(*names.get(*name).ok_or_else(|| {
                            err(format!("{name:?} is not defined on a line before this one"))
                        })?)
                    });
                }
                other => return Err(err(format!("unknown keyword {other:?}"))),
            }
        }
        Ok(Self {
            logs,
            witnesses,
            groups,
            quorum: quorum.ok_or(PolicyError::NoQuorum)?,
        })
    }

    /// Whether any cosignature is needed (`quorum none` needs none).
    pub fn needs_cosignatures(&self) -> bool {
        self.quorum != Quorum::None
    }

    /// Whether the witnesses marked in `cosigned` (by position in [`Policy::witnesses`])
    /// meet the quorum.
    pub fn quorum_met(&self, cosigned: &[bool]) -> bool {
        match self.quorum {
            Quorum::None => true,
            Quorum::Of(m) => self.witnessed(m, cosigned),
        }
    }

    fn witnessed(&self, member: Member, cosigned: &[bool]) -> bool {
        match member {
            Member::Witness(i) => cosigned.get(i).copied().unwrap_or(false),
            Member::Group(g) => {
                let group = &self.groups[g];
                group
                    .members
                    .iter()
                    .filter(|&&m| self.witnessed(m, cosigned))
                    .count()
                    >= group.threshold
            }
        }
    }

    /// Which of the policy's witnesses validly cosigned `checkpoint_text` in `lines` (the
    /// note's signature lines). Lines of other keys are ignored, and so is a line that
    /// names a witness's key but does not verify.
    pub fn cosigners(&self, checkpoint_text: &str, lines: &[&str]) -> Vec<bool> {
        self.witnesses
            .iter()
            .map(|w| {
                lines
                    .iter()
                    .any(|line| w.verifier.verify(checkpoint_text, line).is_ok())
            })
            .collect()
    }

    /// Checks a whole checkpoint note against the quorum: its text and which witnesses
    /// cosigned it (their policy names). The log's own signature is the caller's to check.
    pub fn check_note(&self, note: &str) -> Result<Vec<String>, QuorumError> {
        let (text, lines) = note::split(note)?;
        let cosigned = self.cosigners(text, &lines);
        let names = self
            .witnesses
            .iter()
            .zip(&cosigned)
            .filter(|(_, c)| **c)
            .map(|(w, _)| w.name.clone())
            .collect();
        if self.quorum_met(&cosigned) {
            Ok(names)
        } else {
            Err(QuorumError::NotMet { cosigned: names })
        }
    }
}

/// A policy as data for a verifier that runs elsewhere (the in-browser verifier): the log
/// keys, the witnesses' cosignature keys, and the quorum as a tree over witness positions.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct PolicyDescription {
    pub logs: Vec<String>,
    pub witnesses: Vec<DescribedWitness>,
    /// `None` for `quorum none`.
    pub quorum: Option<QuorumNode>,
}

#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct DescribedWitness {
    pub name: String,
    pub vkey: String,
}

/// A witness (by its position in [`PolicyDescription::witnesses`]) or a group of which at
/// least `threshold` members must be met.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum QuorumNode {
    Witness {
        witness: usize,
    },
    Group {
        threshold: usize,
        members: Vec<QuorumNode>,
    },
}

impl Policy {
    pub fn describe(&self) -> PolicyDescription {
        PolicyDescription {
            logs: self.logs.iter().map(|l| l.verifier.vkey()).collect(),
            witnesses: self
                .witnesses
                .iter()
                .map(|w| DescribedWitness {
                    name: w.name.clone(),
                    vkey: w.vkey.clone(),
                })
                .collect(),
            quorum: match self.quorum {
                Quorum::None => None,
                Quorum::Of(m) => Some(self.node(m)),
            },
        }
    }

    fn node(&self, member: Member) -> QuorumNode {
        match member {
            Member::Witness(witness) => QuorumNode::Witness { witness },
            Member::Group(g) => QuorumNode::Group {
                threshold: self.groups[g].threshold,
                members: self.groups[g]
                    .members
                    .iter()
                    .map(|&m| self.node(m))
                    .collect(),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QuorumError {
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error("the witness quorum is not met (cosigned by: {})", list(cosigned))]
    NotMet { cosigned: Vec<String> },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

fn define(names: &HashMap<String, Member>, name: &str) -> Result<(), String> {
    if name == "none" {
        return Err("the name \"none\" is predefined".into());
    }
    if names.contains_key(name) {
        return Err(format!("{name:?} is already defined"));
    }
    Ok(())
}

fn parse_k(s: &str) -> Option<usize> {
    note::canonical_decimal(s).then(|| s.parse().ok()).flatten()
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first unexpected result"
)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::tlog::cosignature::Cosigner;
    use crate::tlog::keys::NamedKey;

    fn witness(name: &str, seed: u8) -> Cosigner {
        Cosigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
    }

    fn log() -> NamedKey {
        NamedKey::new("ikrar.example/log", SigningKey::from_bytes(&[1; 32]))
    }

    /// Six witnesses X1..X3 and Y1..Y3 as in the spec's example.
    fn example() -> (Policy, Vec<Cosigner>) {
        let ws: Vec<Cosigner> = (0..6)
            .map(|i| witness(&format!("w{i}.example"), 10 + i as u8))
            .collect();
        let text = format!(
            "# the spec's example\nlog {}\n\n\
             witness X1 {}\nwitness X2 {}\n  witness\tX3 {} https://x3.example/  \n\
             group X-witnesses 2 X1 X2 X3\n\
             witness Y1 {}\nwitness Y2 {}\nwitness Y3 {}\n\
             group Y-witnesses any Y1 Y2 Y3\n\
             group X-and-Y all X-witnesses Y-witnesses\nquorum X-and-Y\n",
            log().vkey(),
            ws[0].vkey(),
            ws[1].vkey(),
            ws[2].vkey(),
            ws[3].vkey(),
            ws[4].vkey(),
            ws[5].vkey(),
        );
        (Policy::parse(&text).unwrap(), ws)
    }

    #[test]
    fn a_description_carries_keys_and_the_quorum_tree_a_browser_evaluates() {
        let (p, ws) = example();
        let d = p.describe();
        assert_eq!(d.logs, vec![log().vkey()]);
        let names: Vec<&str> = d.witnesses.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["X1", "X2", "X3", "Y1", "Y2", "Y3"]);
        assert_eq!(d.witnesses[2].vkey, ws[2].vkey());
        let w = |witness| QuorumNode::Witness { witness };
        assert_eq!(
            d.quorum,
            Some(QuorumNode::Group {
                threshold: 2,
                members: vec![
                    QuorumNode::Group {
                        threshold: 2,
                        members: vec![w(0), w(1), w(2)]
                    },
                    QuorumNode::Group {
                        threshold: 1,
                        members: vec![w(3), w(4), w(5)]
                    },
                ],
            })
        );
        assert_eq!(
            serde_json::to_value(&d.quorum).unwrap()["members"][0]["members"][1],
            serde_json::json!({"witness": 1})
        );
        let none = Policy::parse(&format!("log {}\nquorum none\n", log().vkey())).unwrap();
        assert_eq!(none.describe().quorum, None);
    }

    #[test]
    fn the_specs_example_evaluates_two_levels_of_groups() {
        let (p, _) = example();
        assert_eq!(p.logs.len(), 1);
        assert_eq!(p.witnesses.len(), 6);
        assert_eq!(p.witnesses[2].url.as_deref(), Some("https://x3.example/"));
        let met = |set: &[usize]| {
            let mut c = vec![false; 6];
            for &i in set {
                c[i] = true;
            }
            p.quorum_met(&c)
        };
        assert!(met(&[0, 1, 3]));
        assert!(met(&[0, 2, 5]));
        assert!(!met(&[0, 3, 4, 5]), "one X is not two");
        assert!(!met(&[0, 1, 2]), "no Y");
        assert!(!met(&[]));
    }

    /// The cosigning witnesses, as `Ok` when they meet the quorum.
    fn outcome(r: Result<Vec<String>, QuorumError>) -> Result<Vec<String>, Vec<String>> {
        match r {
            Ok(names) => Ok(names),
            Err(QuorumError::NotMet { cosigned }) => Err(cosigned),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn cosignatures_are_checked_on_the_note() {
        let (p, ws) = example();
        let text = "ikrar.example/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let signed = note::sign(text, &log().name, log().signing_key()).unwrap();
        assert_eq!(outcome(p.check_note(&signed)), Err(vec![]));
        let mut note = signed.clone();
        for i in [0, 1, 4] {
            note.push_str(&ws[i].cosign(text, 1_700_000_000));
        }
        assert_eq!(
            outcome(p.check_note(&note)),
            Ok(vec!["X1".into(), "X2".into(), "Y2".into()])
        );
        // A cosignature over other text does not count.
        let other = text.replace("\n5\n", "\n6\n");
        let mut forged = signed;
        for i in [0, 1] {
            forged.push_str(&ws[i].cosign(text, 1_700_000_000));
        }
        forged.push_str(&ws[4].cosign(&other, 1_700_000_000));
        assert_eq!(
            outcome(p.check_note(&forged)),
            Err(vec!["X1".into(), "X2".into()])
        );
    }

    #[test]
    fn quorum_none_needs_no_witness() {
        let p = Policy::parse("quorum none\n").unwrap();
        assert!(!p.needs_cosignatures());
        assert!(p.quorum_met(&[]));
        let one = witness("w.example", 3);
        let p = Policy::parse(&format!("witness w {}\nquorum w\n", one.vkey())).unwrap();
        assert!(p.needs_cosignatures());
        assert!(p.quorum_met(&[true]));
        assert!(!p.quorum_met(&[false]));
    }

    #[test]
    fn malformed_policies_are_refused_with_the_line() {
        let a = witness("a.example", 3).vkey();
        let b = witness("b.example", 4).vkey();
        let cases: Vec<(String, usize)> = vec![
            (format!("group g any a\nwitness a {a}\nquorum g\n"), 1),
            (format!("witness a {a}\nquorum b\n"), 2),
            (format!("witness a {a}\nwitness a {b}\nquorum a\n"), 2),
            (format!("witness a {a}\nwitness b {a}\nquorum a\n"), 2),
            (format!("witness a {a}\ngroup g 0 a\nquorum g\n"), 2),
            (format!("witness a {a}\ngroup g 2 a\nquorum g\n"), 2),
            (format!("witness a {a}\ngroup g 01 a\nquorum g\n"), 2),
            (format!("witness a {a}\ngroup g any a a\nquorum g\n"), 2),
            (format!("witness a {a}\ngroup g any\nquorum g\n"), 2),
            (format!("witness a {a}\ngroup g any none\nquorum g\n"), 2),
            (format!("witness none {a}\nquorum none\n"), 1),
            (format!("witness a {a}\nquorum a\nquorum a\n"), 3),
            (format!("witness a {}\nquorum a\n", log().vkey()), 1),
            (format!("log {a}\nquorum none\n"), 1),
            ("quorum none\nfoo bar\n".to_string(), 2),
            (format!("witness a {a}\r\nquorum a\n"), 1),
        ];
        for (text, line) in cases {
            match Policy::parse(&text) {
                Err(PolicyError::Syntax { line: l, .. }) => assert_eq!(l, line, "{text}"),
                other => panic!("{text:?} gave {other:?}"),
            }
        }
        assert_eq!(
            Policy::parse(&format!("witness a {a}\n")).unwrap_err(),
            PolicyError::NoQuorum
        );
    }
}
