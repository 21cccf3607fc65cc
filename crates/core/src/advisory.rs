//! An advisory as it is published: the one shape every export (CVE JSON 5, CSAF 2.0, OSV)
//! and page is rendered from.
//!
//! Only what may be public is here. The private parts of a draft (proof of concept, exploit
//! details) are kept beside it by the desk and never enter this type, so no renderer can
//! leak them (seed 001: "abstract" disclosure, never our own exploit details).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub mod lifecycle;

use crate::coordination::{Justification, VexStatus};
use crate::severity::Cvss;

/// Who publishes: the organisation, and its CVE Numbering Authority identity when it is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publisher {
    /// Its name, e.g. "Kamailio".
    pub name: String,
    /// A URL that is the organisation's own, naming its advisories' namespace (CSAF's
    /// `publisher.namespace`), e.g. `https://www.kamailio.org`.
    pub namespace: String,
    /// Where to write about its advisories (an address or a URL).
    pub contact: String,
    /// The CVE Numbering Authority that assigns its CVE IDs, by its organisation UUID and
    /// short name at the CVE Program: the organisation itself when it is a CNA, else the
    /// one it requests them from (see [`known_cna`]).
    pub cna: Option<Cna>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cna {
    pub org_id: String,
    pub short_name: String,
}

/// The CNAs organisations that are not CNAs commonly request CVE IDs from, by the name a
/// policy gives them (`cve_requested_at`): GitHub (for repository security advisories) and
/// MITRE (the CNA of last resort), with their identities at the CVE Program.
pub fn known_cna(name: &str) -> Option<Cna> {
    let (org_id, short_name) = match name.trim().to_ascii_lowercase().as_str() {
        "github" => ("a0819718-46f1-4df5-94e2-005712e83aaa", "GitHub_M"),
        "mitre" => ("8254265b-2729-46b6-b9e3-3dfca2d5bfca", "mitre"),
        _ => return None,
    };
    Some(Cna {
        org_id: org_id.to_owned(),
        short_name: short_name.to_owned(),
    })
}

/// A package in a package ecosystem (OSV's ecosystems: `crates.io`, `npm`, `PyPI`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    pub ecosystem: String,
    pub name: String,
    /// Its Package URL, when known.
    pub purl: Option<String>,
}

/// One release line of a product and the versions of it the vulnerability affects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineRange {
    /// The line's name in the policy, e.g. `2.x`.
    pub line: String,
    /// The first affected version.
    pub introduced: String,
    /// The first version with the fix; `None` while there is none.
    pub fixed: Option<String>,
}

/// A product the advisory is about, with its affected lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub vendor: String,
    pub name: String,
    pub package: Option<Package>,
    pub lines: Vec<LineRange>,
}

/// What a credited person did, in the words CVE JSON 5, CSAF and OSV share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CreditKind {
    Finder,
    Reporter,
    Analyst,
    Coordinator,
    RemediationDeveloper,
    RemediationReviewer,
    RemediationVerifier,
    Tool,
    Sponsor,
    Other,
}

impl CreditKind {
    pub const ALL: [CreditKind; 10] = [
        CreditKind::Finder,
        CreditKind::Reporter,
        CreditKind::Analyst,
        CreditKind::Coordinator,
        CreditKind::RemediationDeveloper,
        CreditKind::RemediationReviewer,
        CreditKind::RemediationVerifier,
        CreditKind::Tool,
        CreditKind::Sponsor,
        CreditKind::Other,
    ];

    /// The kebab-case name, e.g. `remediation-developer`.
    pub fn as_str(self) -> &'static str {
        match self {
            CreditKind::Finder => "finder",
            CreditKind::Reporter => "reporter",
            CreditKind::Analyst => "analyst",
            CreditKind::Coordinator => "coordinator",
            CreditKind::RemediationDeveloper => "remediation-developer",
            CreditKind::RemediationReviewer => "remediation-reviewer",
            CreditKind::RemediationVerifier => "remediation-verifier",
            CreditKind::Tool => "tool",
            CreditKind::Sponsor => "sponsor",
            CreditKind::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<CreditKind> {
        let wanted = text.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        CreditKind::ALL.into_iter().find(|k| k.as_str() == wanted)
    }
}

/// A credit, under the name the credited person chose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    pub name: String,
    pub kind: CreditKind,
}

/// What kind of page a reference is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReferenceKind {
    /// An advisory (ours, a distribution's, another vendor's).
    Advisory,
    /// The fix: a commit, a pull request, a release.
    Fix,
    /// The release notes of the fixed release.
    ReleaseNotes,
    /// A report or discussion of the issue.
    Report,
    /// Anything else.
    Web,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub url: String,
    pub kind: ReferenceKind,
}

/// A weakness, by its CWE number and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weakness {
    pub id: u32,
    pub name: String,
}

/// A coordinating party's approved statement about its own products (CSAF VEX).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyStatement {
    pub party: String,
    /// The products it speaks for (its registry entry's).
    pub products: Vec<String>,
    pub status: VexStatus,
    pub justification: Option<Justification>,
    pub statement: String,
}

/// One published version of the advisory: the first is its publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    pub number: u32,
    pub at: Timestamp,
    /// What changed, in a line ("Initial publication.", "Fixed version for 5.7 added.").
    pub summary: String,
}

/// The team withdrew the advisory: it was wrong, or a duplicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    pub at: Timestamp,
    pub reason: String,
}

/// An advisory as published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// The desk's identifier, e.g. `KAMAILIO-2026-0001`.
    pub id: String,
    pub cve: Option<String>,
    /// Its public page, the reference every rendering gives first.
    pub url: String,
    pub publisher: Publisher,
    pub title: String,
    /// The abstract, first in every rendering (seed 001).
    pub summary: String,
    /// The full description, Markdown.
    pub description: String,
    /// The affected component, e.g. "the SIP parser".
    pub component: Option<String>,
    pub products: Vec<Product>,
    /// CVSS vectors, at most one per CVSS version.
    #[serde(with = "vectors")]
    pub cvss: Vec<Cvss>,
    /// The SSVC decision points, when the team prioritised it.
    pub ssvc: Option<crate::ssvc::Ssvc>,
    pub weaknesses: Vec<Weakness>,
    pub references: Vec<Reference>,
    /// Workarounds and mitigations, Markdown; empty when there are none.
    pub workarounds: String,
    /// Credits the credited people accepted.
    pub credits: Vec<Credit>,
    /// The parties' approved statements.
    pub statements: Vec<PartyStatement>,
    /// Every published version, oldest first; never empty for a published advisory.
    pub revisions: Vec<Revision>,
    pub withdrawn: Option<Withdrawal>,
}

impl Advisory {
    /// When it was first published.
    pub fn published(&self) -> Option<Timestamp> {
        self.revisions.first().map(|r| r.at)
    }

    /// When it last changed: its latest revision, or its withdrawal.
    pub fn modified(&self) -> Option<Timestamp> {
        let revised = self.revisions.last().map(|r| r.at);
        match (&self.withdrawn, revised) {
            (Some(w), Some(r)) => Some(w.at.max(r)),
            (Some(w), None) => Some(w.at),
            (None, r) => r,
        }
    }

    /// The abstract, then the description, as one Markdown text.
    pub fn details(&self) -> String {
        let mut text = self.summary.trim().to_owned();
        if let Some(component) = self.component.as_deref().filter(|c| !c.trim().is_empty()) {
            text.push_str(&format!("\n\nAffected component: {}.", component.trim()));
        }
        if !self.description.trim().is_empty() {
            text.push_str("\n\n");
            text.push_str(self.description.trim());
        }
        text
    }
}

/// CVSS vectors are stored as their normalised text.
mod vectors {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::severity::Cvss;

    pub fn serialize<S: Serializer>(v: &[Cvss], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(ToString::to_string))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Cvss>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|t| Cvss::parse(t).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_kinds_read_the_way_each_format_writes_them() {
        for k in CreditKind::ALL {
            assert_eq!(CreditKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(
            CreditKind::parse("REMEDIATION_DEVELOPER"),
            Some(CreditKind::RemediationDeveloper)
        );
        assert_eq!(
            CreditKind::parse("remediation developer"),
            Some(CreditKind::RemediationDeveloper)
        );
        assert_eq!(CreditKind::parse("hero"), None);
    }
}
