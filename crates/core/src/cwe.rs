//! The CWE list, shipped as data (`data/cwe-4.17.tsv`, MITRE's list of weaknesses): an
//! advisory names its weaknesses by number, and the name every export writes comes from the
//! list, never from what was typed, so a CSAF document's CWE always matches the list (its
//! mandatory test 6.1.11).

use std::sync::OnceLock;

use crate::advisory::Weakness;

const LIST: &str = include_str!("../data/cwe-4.17.tsv");

/// The list's version.
pub const VERSION: &str = "4.17";

/// How MITRE says a weakness may be used to map a vulnerability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Allowed,
    /// Allowed, but it is abstract: a more specific child is usually better.
    AllowedWithReview,
    /// Too abstract, or a category in disguise: choose a more specific weakness.
    Discouraged,
    /// Never for mapping.
    Prohibited,
}

struct Entry {
    id: u32,
    name: &'static str,
    usage: Usage,
}

fn entries() -> &'static [Entry] {
    static ENTRIES: OnceLock<Vec<Entry>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        LIST.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let mut cols = l.split('\t');
                let id = cols.next().and_then(|c| c.parse().ok());
                let name = cols.next();
                let usage = match cols.next() {
                    Some("Allowed") => Some(Usage::Allowed),
                    Some("Allowed-with-Review") => Some(Usage::AllowedWithReview),
                    Some("Discouraged") => Some(Usage::Discouraged),
                    Some("Prohibited") => Some(Usage::Prohibited),
                    _ => None,
                };
                match (id, name, usage) {
                    (Some(id), Some(name), Some(usage)) => Entry { id, name, usage },
                    _ => panic!("data/cwe-4.17.tsv: bad line {l:?}"),
                }
            })
            .collect()
    })
}

/// Why a weakness cannot be named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CweError {
    #[error("{0:?} is not a CWE ID: write it as CWE-79 (or 79)")]
    NotAnId(String),
    #[error("CWE-{0} is not a weakness in the CWE list {VERSION}")]
    Unknown(u32),
    #[error(
        "CWE-{id} ({name}) is {why} for mapping vulnerabilities: choose a more specific weakness"
    )]
    NotForMapping {
        id: u32,
        name: &'static str,
        why: &'static str,
    },
}

/// The weakness `text` names (`CWE-79`, `cwe-79`, `79`), with its name from the list.
/// Weaknesses MITRE discourages or prohibits for mapping are refused.
pub fn weakness(text: &str) -> Result<Weakness, CweError> {
    let t = text.trim();
    let digits = t
        .strip_prefix("CWE-")
        .or_else(|| t.strip_prefix("cwe-"))
        .unwrap_or(t);
    let id: u32 = digits
        .parse()
        .map_err(|_| CweError::NotAnId(text.to_owned()))?;
    let entry = entries()
        .iter()
        .find(|e| e.id == id)
        .ok_or(CweError::Unknown(id))?;
    let why = match entry.usage {
        Usage::Discouraged => Some("discouraged"),
        Usage::Prohibited => Some("prohibited"),
        Usage::Allowed | Usage::AllowedWithReview => None,
    };
    if let Some(why) = why {
        return Err(CweError::NotForMapping {
            id,
            name: entry.name,
            why,
        });
    }
    Ok(Weakness {
        id,
        name: entry.name.to_owned(),
    })
}

/// How MITRE says weakness `id` may be used, if it is in the list.
pub fn usage(id: u32) -> Option<Usage> {
    entries().iter().find(|e| e.id == id).map(|e| e.usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weaknesses_are_named_from_the_list_however_they_are_written() {
        for text in ["CWE-787", "cwe-787", " 787 "] {
            assert_eq!(
                weakness(text),
                Ok(Weakness {
                    id: 787,
                    name: "Out-of-bounds Write".into()
                })
            );
        }
        assert_eq!(
            weakness("CWE-79").unwrap().name,
            "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')"
        );
    }

    #[test]
    fn what_is_not_a_usable_weakness_is_refused_saying_why() {
        assert_eq!(weakness("XSS"), Err(CweError::NotAnId("XSS".into())));
        assert_eq!(weakness("CWE-99999"), Err(CweError::Unknown(99999)));
        // CWE-20 (Improper Input Validation) is discouraged for mapping in 4.17.
        assert!(matches!(
            weakness("CWE-20"),
            Err(CweError::NotForMapping {
                id: 20,
                why: "discouraged",
                ..
            })
        ));
        let prohibited = entries()
            .iter()
            .find(|e| e.usage == Usage::Prohibited)
            .unwrap();
        assert!(
            weakness(&prohibited.id.to_string())
                .unwrap_err()
                .to_string()
                .contains("choose a more specific weakness")
        );
    }

    #[test]
    fn the_list_is_whole() {
        assert_eq!(entries().len(), 968);
        assert_eq!(usage(787), Some(Usage::Allowed));
        assert_eq!(usage(3), None);
    }
}
