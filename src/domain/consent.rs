//! The typed consent name against the roster name: when they share no name at all, the
//! signing page asks "Apakah nama Anda benar?" once before signing (a slip handed to the
//! wrong person, or a name typed into the wrong field). Titles and initials are ignored,
//! and a one-letter typo in a longer name still counts as the same name.

/// The words of a name that identify a person: lowercase, without academic titles and
/// initials (any word with a dot: `Dr.`, `S.Kom.`, `M.`), commas or other punctuation.
fn words(name: &str) -> Vec<String> {
    name.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.contains('.'))
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphabetic())
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| w.chars().count() >= 2)
        .collect()
}

fn same_word(typed: &str, roster: &str) -> bool {
    typed == roster
        || (typed.chars().count() >= 3 && roster.starts_with(typed))
        || (typed.chars().count() >= 5 && strsim::levenshtein(typed, roster) <= 1)
}

/// Whether `consent` is far from `roster`: not one of its words is one of the roster
/// name's (allowing a shortened name and a one-letter typo).
pub fn name_is_far(consent: &str, roster: &str) -> bool {
    let roster = words(roster);
    if roster.is_empty() {
        return false;
    }
    !words(consent)
        .iter()
        .any(|t| roster.iter().any(|r| same_word(t, r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roster_name_in_other_forms_is_near() {
        let roster = "Dr. Budi Santoso, S.Kom., M.T.";
        for typed in [
            "Budi Santoso",
            "budi",
            "Santoso",
            "B. Santoso",
            "Budi Santosa",
            "Dr. Budi Santoso, S.Kom., M.T.",
        ] {
            assert!(!name_is_far(typed, roster), "{typed}");
        }
        assert!(!name_is_far("Muhammad", "drg. Muhammad Simanjuntak"));
        assert!(!name_is_far("Simanjutak", "drg. Muhammad Simanjuntak"));
    }

    #[test]
    fn another_persons_name_is_far() {
        let roster = "Dr. Budi Santoso, S.Kom., M.T.";
        for typed in ["Joko Widodo", "Siti", "Dr.", "x", "Bu"] {
            assert!(name_is_far(typed, roster), "{typed}");
        }
    }
}
