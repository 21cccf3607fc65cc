//! An advisory's life, as its own log of events (an advisory may cover several cases):
//! drafted, edited, reviewed (comments on lines of the draft, approvals), credited, given a
//! CVE ID, published, revised, withdrawn. Pure: [`state`] folds a log, [`decide`] answers
//! what a command adds to it or why not; the store appends only on the head it read, as for
//! a case's log.
//!
//! Edits keep whole snapshots of the public fields, so a revision's visible diff is the
//! difference of two snapshots. Approvals count for the version of the draft they were
//! given on: an edit makes them stale, as a pushed commit dismisses a pull request's review.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{
    Advisory, Credit, CreditKind, PartyStatement, Product, Publisher, Reference, Revision,
    Withdrawal,
};
use crate::severity::Cvss;

/// Longest title, as the CVE record format allows.
pub const MAX_TITLE_CHARS: usize = 256;
/// Longest abstract.
pub const MAX_SUMMARY_CHARS: usize = 4000;
/// Longest description, workarounds, comment or private text.
pub const MAX_TEXT_CHARS: usize = 64_000;

/// The public fields of a draft; a published revision is a snapshot of them. Read
/// strictly (an unknown field is named, not dropped); a field left out is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fields {
    pub title: String,
    pub summary: String,
    pub description: String,
    pub component: Option<String>,
    pub products: Vec<Product>,
    /// CVSS vectors as written (checked to parse, at most one per version).
    pub cvss: Vec<String>,
    /// The SSVC decision points (CISA's coordinator tree), beside CVSS.
    pub ssvc: Option<crate::ssvc::Ssvc>,
    /// CWE numbers (checked against the CWE list).
    pub cwes: Vec<u32>,
    pub references: Vec<Reference>,
    pub workarounds: String,
}

/// What never leaves the desk: kept beside the draft, never in a rendering.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Private {
    pub proof_of_concept: String,
    pub exploit_details: String,
}

/// The parts of a draft a reviewer comments on, line by line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Title,
    Summary,
    Description,
    Workarounds,
}

impl Part {
    fn text(self, f: &Fields) -> &str {
        match self {
            Part::Title => &f.title,
            Part::Summary => &f.summary,
            Part::Description => &f.description,
            Part::Workarounds => &f.workarounds,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    Drafted {
        cases: Vec<i64>,
        fields: Fields,
    },
    Edited {
        fields: Fields,
    },
    PrivateEdited {
        private: Private,
    },
    Commented {
        part: Part,
        line: u32,
        body: String,
    },
    Approved {
        groups: Vec<String>,
    },
    CreditOffered {
        id: u32,
        name: String,
        credit: CreditKind,
        /// The case whose reporter answers it in their portal; `None` for someone the
        /// team speaks for (a teammate, a tool).
        reporter_of: Option<i64>,
    },
    CreditAnswered {
        id: u32,
        accepted: bool,
        /// The name the person chose to be credited under.
        name: Option<String>,
    },
    CveAssigned {
        cve: String,
    },
    /// Where the CVE ID was requested, for an organisation that is not a CNA.
    CveRequested {
        at: String,
    },
    Published,
    Revised {
        note: String,
    },
    Withdrawn {
        reason: String,
    },
    /// The CVE record was sent to the CVE Program (a CNA's own ID), leaving it in `state`
    /// (`PUBLISHED`, `REJECTED`) as of the advisory's last revision or withdrawal.
    CveRecordSent {
        state: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    pub at: Timestamp,
    /// `user:<id>`, `reporter:<case>`, …
    pub actor: String,
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub at: Timestamp,
    pub actor: String,
    pub part: Part,
    pub line: u32,
    pub body: String,
    /// The draft's version it was made on.
    pub version: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub actor: String,
    pub groups: Vec<String>,
    pub version: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedCredit {
    pub id: u32,
    pub name: String,
    pub kind: CreditKind,
    pub reporter_of: Option<i64>,
    /// `Some(true)` accepted (under the name chosen), `Some(false)` declined.
    pub answer: Option<bool>,
}

/// A published revision: its number, when, its change note and the fields it published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub number: u32,
    pub at: Timestamp,
    pub note: String,
    pub fields: Fields,
}

/// One field that differs between two versions, each side as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub field: &'static str,
    pub before: String,
    pub after: String,
}

/// What differs from `before` to `after`, field by field: a revision's visible diff.
pub fn changes(before: &Fields, after: &Fields) -> Vec<Change> {
    let products = |f: &Fields| {
        f.products
            .iter()
            .map(|p| {
                let lines: Vec<String> = p
                    .lines
                    .iter()
                    .map(|l| {
                        format!(
                            "{}: from {}, fixed in {}",
                            l.line,
                            l.introduced,
                            l.fixed.as_deref().unwrap_or("no release yet")
                        )
                    })
                    .collect();
                format!("{} {} ({})", p.vendor, p.name, lines.join("; "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let references = |f: &Fields| {
        f.references
            .iter()
            .map(|r| r.url.clone())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let cwes = |f: &Fields| {
        f.cwes
            .iter()
            .map(|n| format!("CWE-{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ssvc = |f: &Fields| {
        f.ssvc
            .map(|s| format!("{} ({})", s.decision(), s.vector()))
            .unwrap_or_default()
    };
    let sides: [(&'static str, String, String); 10] = [
        ("title", before.title.clone(), after.title.clone()),
        ("summary", before.summary.clone(), after.summary.clone()),
        (
            "description",
            before.description.clone(),
            after.description.clone(),
        ),
        (
            "component",
            before.component.clone().unwrap_or_default(),
            after.component.clone().unwrap_or_default(),
        ),
        ("products", products(before), products(after)),
        ("cvss", before.cvss.join("\n"), after.cvss.join("\n")),
        ("ssvc", ssvc(before), ssvc(after)),
        ("cwes", cwes(before), cwes(after)),
        ("references", references(before), references(after)),
        (
            "workarounds",
            before.workarounds.clone(),
            after.workarounds.clone(),
        ),
    ];
    sides
        .into_iter()
        .filter(|(_, b, a)| b != a)
        .map(|(field, before, after)| Change {
            field,
            before,
            after,
        })
        .collect()
}

/// What the log says of the advisory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub cases: Vec<i64>,
    pub fields: Fields,
    pub private: Private,
    /// The draft's version: 1 when drafted, one more for each edit.
    pub version: u32,
    pub comments: Vec<Comment>,
    pub approvals: Vec<Approval>,
    pub credits: Vec<OfferedCredit>,
    pub cve: Option<String>,
    pub requested_at: Option<String>,
    pub revisions: Vec<Published>,
    pub withdrawn: Option<(Timestamp, String)>,
    /// The CVE record's state at the CVE Program, when it was last sent, and for which
    /// published version (the number of revisions then, with its withdrawal).
    pub cve_record: Option<(String, (usize, bool))>,
    /// Who drafted or edited it, as recorded.
    pub writers: Vec<String>,
}

impl State {
    pub fn is_published(&self) -> bool {
        !self.revisions.is_empty()
    }

    /// The approvals given on the draft as it is now.
    pub fn current_approvals(&self) -> impl Iterator<Item = &Approval> {
        self.approvals.iter().filter(|a| a.version == self.version)
    }

    /// `draft`, `published` or `withdrawn`.
    pub fn status(&self) -> &'static str {
        if self.withdrawn.is_some() {
            "withdrawn"
        } else if self.is_published() {
            "published"
        } else {
            "draft"
        }
    }

    /// Each published revision with what it changed from the one before (nothing for the
    /// first): the visible diffs.
    pub fn revision_changes(&self) -> Vec<(&Published, Vec<Change>)> {
        let mut before: Option<&Fields> = None;
        self.revisions
            .iter()
            .map(|r| {
                let changes = before.map(|b| changes(b, &r.fields)).unwrap_or_default();
                before = Some(&r.fields);
                (r, changes)
            })
            .collect()
    }

    /// The people who wrote the draft (drafted or edited it): they do not review it.
    pub fn authors(&self) -> std::collections::BTreeSet<i64> {
        self.writers
            .iter()
            .filter_map(|a| crate::actor::Actor::parse(a).user_id())
            .collect()
    }

    /// The approvals of the draft as it is now, by person, with the groups they approved
    /// as: what the gates before publication are judged on.
    pub fn standing_approvals(&self) -> Vec<(i64, Vec<String>)> {
        self.current_approvals()
            .filter_map(|a| {
                Some((
                    crate::actor::Actor::parse(&a.actor).user_id()?,
                    a.groups.clone(),
                ))
            })
            .collect()
    }

    /// Whether the CVE Program's record lags behind what was published here (a revision or
    /// the withdrawal since it was last sent, or never sent).
    pub fn cve_record_behind(&self) -> bool {
        self.is_published()
            && self.cve.is_some()
            && self.cve_record.as_ref().map(|(_, at)| *at)
                != Some((self.revisions.len(), self.withdrawn.is_some()))
    }

    /// Whether the draft differs from what was last published.
    pub fn unpublished_changes(&self) -> bool {
        self.revisions
            .last()
            .is_some_and(|r| r.fields != self.fields)
    }

    /// The advisory as published (its last revision), for the renderers and the public
    /// pages; `None` before publication. Only accepted credits appear, under the name their
    /// holders chose.
    pub fn public(
        &self,
        id: &str,
        url: &str,
        publisher: &Publisher,
        statements: Vec<PartyStatement>,
    ) -> Option<Advisory> {
        let last = self.revisions.last()?;
        let f = &last.fields;
        Some(Advisory {
            id: id.to_owned(),
            cve: self.cve.clone(),
            url: url.to_owned(),
            publisher: publisher.clone(),
            title: f.title.clone(),
            summary: f.summary.clone(),
            description: f.description.clone(),
            component: f.component.clone(),
            products: f.products.clone(),
            cvss: f.cvss.iter().filter_map(|v| Cvss::parse(v).ok()).collect(),
            ssvc: f.ssvc,
            weaknesses: f
                .cwes
                .iter()
                .filter_map(|n| crate::cwe::weakness(&n.to_string()).ok())
                .collect(),
            references: f.references.clone(),
            workarounds: f.workarounds.clone(),
            credits: self
                .credits
                .iter()
                .filter(|c| c.answer == Some(true))
                .map(|c| Credit {
                    name: c.name.clone(),
                    kind: c.kind,
                })
                .collect(),
            statements,
            revisions: self
                .revisions
                .iter()
                .map(|r| Revision {
                    number: r.number,
                    at: r.at,
                    summary: r.note.clone(),
                })
                .collect(),
            withdrawn: self.withdrawn.as_ref().map(|(at, reason)| Withdrawal {
                at: *at,
                reason: reason.clone(),
            }),
        })
    }
}

/// The advisory's state after `log`.
pub fn state(log: &[Recorded]) -> State {
    let mut s = State::default();
    for r in log {
        match &r.event {
            Event::Drafted { cases, fields } => {
                s.cases = cases.clone();
                s.fields = fields.clone();
                s.version = 1;
                s.writers.push(r.actor.clone());
            }
            Event::Edited { fields } => {
                s.fields = fields.clone();
                s.version += 1;
                if !s.writers.contains(&r.actor) {
                    s.writers.push(r.actor.clone());
                }
            }
            Event::PrivateEdited { private } => s.private = private.clone(),
            Event::Commented { part, line, body } => s.comments.push(Comment {
                at: r.at,
                actor: r.actor.clone(),
                part: *part,
                line: *line,
                body: body.clone(),
                version: s.version,
            }),
            Event::Approved { groups } => s.approvals.push(Approval {
                actor: r.actor.clone(),
                groups: groups.clone(),
                version: s.version,
            }),
            Event::CreditOffered {
                id,
                name,
                credit,
                reporter_of,
            } => s.credits.push(OfferedCredit {
                id: *id,
                name: name.clone(),
                kind: *credit,
                reporter_of: *reporter_of,
                answer: None,
            }),
            Event::CreditAnswered { id, accepted, name } => {
                if let Some(c) = s.credits.iter_mut().find(|c| c.id == *id) {
                    c.answer = Some(*accepted);
                    if let Some(name) = name {
                        c.name = name.clone();
                    }
                }
            }
            Event::CveAssigned { cve } => s.cve = Some(cve.clone()),
            Event::CveRequested { at } => s.requested_at = Some(at.clone()),
            Event::Published => s.revisions.push(Published {
                number: 1,
                at: r.at,
                note: "Initial publication.".into(),
                fields: s.fields.clone(),
            }),
            Event::Revised { note } => {
                let number = s.revisions.len() as u32 + 1;
                s.revisions.push(Published {
                    number,
                    at: r.at,
                    note: note.clone(),
                    fields: s.fields.clone(),
                });
            }
            Event::Withdrawn { reason } => s.withdrawn = Some((r.at, reason.clone())),
            Event::CveRecordSent { state } => {
                s.cve_record = Some((state.clone(), (s.revisions.len(), s.withdrawn.is_some())));
            }
        }
    }
    s
}

/// What someone asks of an advisory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Draft {
        cases: Vec<i64>,
        fields: Fields,
    },
    Edit {
        fields: Fields,
    },
    SetPrivate {
        private: Private,
    },
    Comment {
        part: Part,
        line: u32,
        body: String,
    },
    /// Approve the draft as it is, as a member of `groups` (the workflow decides which
    /// groups a person's approval counts for).
    Approve {
        groups: Vec<String>,
    },
    OfferCredit {
        name: String,
        kind: CreditKind,
        reporter_of: Option<i64>,
    },
    AnswerCredit {
        id: u32,
        accepted: bool,
        name: Option<String>,
    },
    AssignCve {
        cve: String,
    },
    RequestCve {
        at: String,
    },
    /// Publish; `cleared` is the workflow's answer to whether the approvals its gates ask
    /// for are there.
    Publish {
        cleared: Result<(), String>,
    },
    Revise {
        note: String,
    },
    Withdraw {
        reason: String,
    },
    /// Record that the CVE record was sent to the CVE Program and is now in `state`.
    RecordCveSent {
        state: String,
    },
}

/// Why a command is refused: the same refusals as a case's commands, mapped to answers in
/// the same place.
pub use crate::command::Refusal;

use crate::command::invalid;

/// Checks the public fields: what every rendering needs, in the bounds the formats set.
pub fn check(f: &Fields) -> Result<(), Refusal> {
    let title = f.title.trim();
    if title.is_empty() {
        return Err(invalid("title", "write a title"));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(invalid(
            "title",
            format!("a title is at most {MAX_TITLE_CHARS} characters"),
        ));
    }
    if f.summary.trim().is_empty() {
        return Err(invalid(
            "summary",
            "write the abstract: it comes first in every rendering",
        ));
    }
    if f.summary.chars().count() > MAX_SUMMARY_CHARS {
        return Err(invalid(
            "summary",
            format!(
                "the abstract is at most {MAX_SUMMARY_CHARS} characters; put the rest in the description"
            ),
        ));
    }
    for (field, text) in [
        ("description", &f.description),
        ("workarounds", &f.workarounds),
    ] {
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(invalid(
                field,
                format!("{field} is at most {MAX_TEXT_CHARS} characters"),
            ));
        }
    }
    for p in &f.products {
        if p.vendor.trim().is_empty() || p.name.trim().is_empty() {
            return Err(invalid(
                "products",
                "each product names its vendor and itself",
            ));
        }
        if p.lines.is_empty() {
            return Err(invalid(
                "products",
                format!("{}: name the affected release lines", p.name),
            ));
        }
        for l in &p.lines {
            if l.introduced.trim().is_empty() {
                return Err(invalid(
                    "products",
                    format!(
                        "{} {}: the first affected version is missing",
                        p.name, l.line
                    ),
                ));
            }
            if l.fixed
                .as_deref()
                .is_some_and(|v| v.trim().is_empty() || v == l.introduced)
            {
                return Err(invalid(
                    "products",
                    format!(
                        "{} {}: the fixed version is blank or the first affected one",
                        p.name, l.line
                    ),
                ));
            }
        }
    }
    let mut versions = Vec::new();
    for v in &f.cvss {
        let parsed = Cvss::parse(v).map_err(|e| invalid("cvss", e.to_string()))?;
        if versions.contains(&parsed.version()) {
            return Err(invalid(
                "cvss",
                format!(
                    "one vector per CVSS version: {} is given twice",
                    parsed.version().as_str()
                ),
            ));
        }
        versions.push(parsed.version());
    }
    for n in &f.cwes {
        crate::cwe::weakness(&n.to_string()).map_err(|e| invalid("cwes", e.to_string()))?;
    }
    for r in &f.references {
        let url = r.url.trim();
        let web = url.starts_with("https://") || url.starts_with("http://");
        if !web || url.chars().any(char::is_whitespace) || url.len() > 2048 {
            return Err(invalid(
                "references",
                format!("{url:?} is not a web address (https://…)"),
            ));
        }
    }
    Ok(())
}

/// What the policy says a published advisory holds that this one lacks, in words: the
/// items of `disclosure.advisory_fields` (FreePBX's abstract disclosure: the component,
/// the affected and fixed versions, a CVE if available), and the CVE ID where the policy
/// publishes with one (`disclosure.cve = "request"`: Kamailio publishes "including an CVE
/// ID").
pub fn missing_for_policy(policy: &crate::policy::Policy, s: &State) -> Vec<String> {
    let d = &policy.disclosure;
    let cve_required = d.cve.as_deref() == Some("request")
        || (d.advisory_fields.iter().any(|f| f == "cve")
            && !matches!(d.cve.as_deref(), Some("if-available" | "none")));
    let mut missing = Vec::new();
    for field in &d.advisory_fields {
        let absent = match field.as_str() {
            "component" => s
                .fields
                .component
                .as_deref()
                .is_none_or(|c| c.trim().is_empty()),
            "affected-versions" => s.fields.products.is_empty(),
            "fixed-versions" => !s
                .fields
                .products
                .iter()
                .flat_map(|p| &p.lines)
                .any(|l| l.fixed.is_some()),
            _ => false,
        };
        if absent {
            missing.push(format!(
                "the {} its policy's advisories hold",
                field.replace('-', " ")
            ));
        }
    }
    if cve_required && s.cve.is_none() {
        missing.push(
            "its CVE ID (the policy publishes advisories with one: record it when it arrives)"
                .to_owned(),
        );
    }
    missing
}

/// Whether `text` is a CVE ID (`CVE-2026-12345`).
fn is_cve(text: &str) -> bool {
    let mut parts = text.splitn(3, '-');
    let (Some("CVE"), Some(year), Some(number)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && (4..=19).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// What `command` by `actor` adds to the advisory with `log`, or why not.
pub fn decide(command: Command, log: &[Recorded], actor: &str) -> Result<Vec<Event>, Refusal> {
    let s = state(log);
    let drafted = s.version > 0;
    if !drafted && !matches!(command, Command::Draft { .. }) {
        return Err(Refusal::Conflict("draft the advisory first".into()));
    }
    if s.withdrawn.is_some()
        && !matches!(
            command,
            Command::Comment { .. } | Command::RecordCveSent { .. }
        )
    {
        return Err(Refusal::Conflict(
            "the advisory is withdrawn: it changes no more".into(),
        ));
    }
    Ok(vec![match command {
        Command::Draft { cases, fields } => {
            if drafted {
                return Err(Refusal::Conflict("the advisory is drafted already".into()));
            }
            if cases.is_empty() {
                return Err(invalid("cases", "an advisory covers at least one case"));
            }
            check(&fields)?;
            Event::Drafted { cases, fields }
        }
        Command::Edit { fields } => {
            check(&fields)?;
            if fields == s.fields {
                return Err(Refusal::Conflict("nothing changed".into()));
            }
            Event::Edited { fields }
        }
        Command::SetPrivate { private } => {
            for (field, text) in [
                ("proof_of_concept", &private.proof_of_concept),
                ("exploit_details", &private.exploit_details),
            ] {
                if text.chars().count() > MAX_TEXT_CHARS {
                    return Err(invalid(
                        field,
                        format!("at most {MAX_TEXT_CHARS} characters"),
                    ));
                }
            }
            Event::PrivateEdited { private }
        }
        Command::Comment { part, line, body } => {
            if body.trim().is_empty() {
                return Err(invalid("body", "write the comment"));
            }
            if body.chars().count() > MAX_TEXT_CHARS {
                return Err(invalid(
                    "body",
                    format!("a comment is at most {MAX_TEXT_CHARS} characters"),
                ));
            }
            let lines = part.text(&s.fields).lines().count().max(1) as u32;
            if line == 0 || line > lines {
                return Err(invalid(
                    "line",
                    format!("line {line} is not in the {part:?} (lines 1 to {lines})")
                        .to_lowercase(),
                ));
            }
            Event::Commented { part, line, body }
        }
        Command::Approve { groups } => {
            if groups.is_empty() {
                return Err(Refusal::Conflict(
                    "approve as a member of a group the policy's gates name".into(),
                ));
            }
            if s.current_approvals().any(|a| a.actor == actor) {
                return Err(Refusal::Conflict(
                    "you approved this version of the draft already".into(),
                ));
            }
            Event::Approved { groups }
        }
        Command::OfferCredit {
            name,
            kind,
            reporter_of,
        } => {
            let name = name.trim().to_owned();
            if name.is_empty() && reporter_of.is_none() {
                return Err(invalid("name", "name who is credited"));
            }
            if reporter_of.is_some_and(|case| !s.cases.contains(&case)) {
                return Err(invalid(
                    "reporter_of",
                    "the reporter of a case the advisory covers",
                ));
            }
            let id = s.credits.iter().map(|c| c.id).max().unwrap_or(0) + 1;
            Event::CreditOffered {
                id,
                name,
                credit: kind,
                reporter_of,
            }
        }
        Command::AnswerCredit { id, accepted, name } => {
            let Some(c) = s.credits.iter().find(|c| c.id == id) else {
                return Err(invalid("credit", format!("no credit {id} is offered")));
            };
            if c.answer.is_some() {
                return Err(Refusal::Conflict("this credit is answered already".into()));
            }
            let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
            if accepted && name.is_none() && c.name.is_empty() {
                return Err(invalid("name", "the name to be credited under"));
            }
            Event::CreditAnswered { id, accepted, name }
        }
        Command::AssignCve { cve } => {
            let cve = cve.trim().to_ascii_uppercase();
            if !is_cve(&cve) {
                return Err(invalid(
                    "cve",
                    format!("{cve:?} is not a CVE ID (CVE-2026-12345)"),
                ));
            }
            if s.cve.as_deref() == Some(cve.as_str()) {
                return Err(Refusal::Conflict(format!("{cve} is assigned already")));
            }
            if s.is_published() && s.cve.is_some() {
                return Err(Refusal::Conflict(
                    "a published advisory keeps its CVE ID: withdraw it and publish anew".into(),
                ));
            }
            Event::CveAssigned { cve }
        }
        Command::RequestCve { at } => {
            if at.trim().is_empty() {
                return Err(invalid(
                    "at",
                    "where the CVE ID was requested (GitHub, MITRE)",
                ));
            }
            Event::CveRequested {
                at: at.trim().to_owned(),
            }
        }
        Command::Publish { cleared } => {
            if s.is_published() {
                return Err(Refusal::Conflict(
                    "published already: publish changes as a revision".into(),
                ));
            }
            if s.fields.products.is_empty() {
                return Err(invalid(
                    "products",
                    "name the affected products before publishing",
                ));
            }
            cleared.map_err(Refusal::Conflict)?;
            Event::Published
        }
        Command::Revise { note } => {
            if !s.is_published() {
                return Err(Refusal::Conflict("publish the advisory first".into()));
            }
            if note.trim().is_empty() {
                return Err(invalid(
                    "note",
                    "say what changed: readers see it with the revision",
                ));
            }
            if !s.unpublished_changes() {
                return Err(Refusal::Conflict(
                    "nothing changed since the last revision".into(),
                ));
            }
            Event::Revised {
                note: note.trim().to_owned(),
            }
        }
        Command::Withdraw { reason } => {
            if !s.is_published() {
                return Err(Refusal::Conflict(
                    "only a published advisory is withdrawn; a draft is simply not published"
                        .into(),
                ));
            }
            if reason.trim().is_empty() {
                return Err(invalid("reason", "say why: readers see it"));
            }
            Event::Withdrawn {
                reason: reason.trim().to_owned(),
            }
        }
        Command::RecordCveSent { state } => {
            if !s.cve_record_behind() {
                return Err(Refusal::Conflict(
                    "the CVE record is as published here already".into(),
                ));
            }
            Event::CveRecordSent { state }
        }
    }])
}

#[cfg(test)]
mod tests;
