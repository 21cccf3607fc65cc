//! Coordination under embargo: the parties an organisation tells about a case before the
//! public does (vendors shipping the affected code, distributions packaging it, the service
//! providers running it: Signalen's "known service providers", seed 004).
//!
//! This module holds the registry's rules: what a party is and what makes an entry valid.
//! Every adapter (the pages, the API, `vulndesk party add|import`) checks an entry here, so
//! the same input gets the same answer, naming the same field, wherever it comes from.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::duration::Period;
use crate::email::EmailAddress;
use crate::text::normalise_untrusted;

#[cfg(test)]
mod tests;

/// What a party is to the organisation; cases invite parties by kind too ("all known
/// service providers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartyKind {
    /// Ships the affected code in a product of its own.
    Vendor,
    /// Packages the affected code for its users (a Linux distribution).
    Distribution,
    /// Runs the affected code for customers (managed instances).
    ServiceProvider,
}

impl PartyKind {
    pub const ALL: [PartyKind; 3] = [
        PartyKind::Vendor,
        PartyKind::Distribution,
        PartyKind::ServiceProvider,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PartyKind::Vendor => "vendor",
            PartyKind::Distribution => "distribution",
            PartyKind::ServiceProvider => "service-provider",
        }
    }

    /// How the kind reads in a sentence ("all service providers").
    pub fn plural(self) -> &'static str {
        match self {
            PartyKind::Vendor => "vendors",
            PartyKind::Distribution => "distributions",
            PartyKind::ServiceProvider => "service providers",
        }
    }

    /// The kind named by `text`: its name, with spaces or underscores for the hyphen, any
    /// case (`Service provider` from a spreadsheet).
    pub fn parse(text: &str) -> Option<PartyKind> {
        let text = text.trim().to_ascii_lowercase().replace([' ', '_'], "-");
        PartyKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl fmt::Display for PartyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registry entry as it was given: every field still text, from a form, a JSON body or a
/// CSV row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyInput {
    /// The party's short name in addresses (`/orgs/x/parties/{slug}`); made from the name
    /// when absent.
    #[serde(default)]
    pub slug: Option<String>,
    pub name: String,
    /// `vendor`, `distribution` or `service-provider`.
    pub kind: String,
    /// Where the party's security contact is written to: at least one address.
    pub contacts: Vec<String>,
    /// What the party ships or runs that may be affected.
    #[serde(default)]
    pub products: Vec<String>,
    /// The longest embargo the party accepts by default ("90 days").
    #[serde(default)]
    pub embargo: Option<String>,
    /// What the party may share under embargo, and with whom, unless a case says otherwise.
    #[serde(default)]
    pub terms: Option<String>,
}

/// A checked registry entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub slug: String,
    pub name: String,
    pub kind: PartyKind,
    pub contacts: Vec<EmailAddress>,
    pub products: Vec<String>,
    pub embargo: Option<Period>,
    pub terms: String,
}

/// An entry refused, naming the field at fault and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EntryError {
    pub field: &'static str,
    pub message: String,
}

/// The most contacts one party holds: a security team's list, not a customer base.
pub const MAX_CONTACTS: usize = 20;
/// The most products listed for one party.
pub const MAX_PRODUCTS: usize = 100;
const MAX_NAME_CHARS: usize = 200;
const MAX_SLUG_CHARS: usize = 64;
const MAX_PRODUCT_CHARS: usize = 200;
const MAX_TERMS_CHARS: usize = 8_000;

fn refuse<T>(field: &'static str, message: impl Into<String>) -> Result<T, EntryError> {
    Err(EntryError {
        field,
        message: message.into(),
    })
}

/// Checks a registry entry: a name, a known kind, one to [`MAX_CONTACTS`] distinct
/// internet addresses, products and terms within bounds, an embargo that is a period. Text
/// is normalised here, where it enters.
pub fn check(input: &PartyInput) -> Result<Party, EntryError> {
    let name = one_line(&input.name);
    if name.is_empty() {
        return refuse(
            "name",
            "name must not be empty: the party's name, as its team calls it",
        );
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return refuse(
            "name",
            format!("name is longer than {MAX_NAME_CHARS} characters"),
        );
    }
    let slug = match input
        .slug
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(given) => {
            if !is_slug(given) {
                return refuse(
                    "slug",
                    format!(
                        "slug {given:?} may hold only lowercase letters, digits and hyphens, \
                         1 to {MAX_SLUG_CHARS} of them, not starting or ending with a hyphen"
                    ),
                );
            }
            given.to_owned()
        }
        None => slug_of(&name).ok_or_else(|| EntryError {
            field: "slug",
            message: format!(
                "no slug can be made from the name {name:?}: give one (lowercase letters, \
                 digits and hyphens)"
            ),
        })?,
    };
    let kind = PartyKind::parse(&input.kind).ok_or_else(|| EntryError {
        field: "kind",
        message: format!(
            "kind {:?} is not one of: {}",
            one_line(&input.kind),
            PartyKind::ALL.map(PartyKind::as_str).join(", ")
        ),
    })?;
    let mut contacts: Vec<EmailAddress> = Vec::new();
    for text in input
        .contacts
        .iter()
        .map(|c| one_line(c))
        .filter(|c| !c.is_empty())
    {
        let address = EmailAddress::parse(&text).map_err(|e| EntryError {
            field: "contacts",
            message: format!("contacts: {e}"),
        })?;
        if !address.is_internet_address() {
            return refuse(
                "contacts",
                format!("contacts: {address} has no domain reachable on the internet"),
            );
        }
        if !contacts
            .iter()
            .any(|c| c.as_str().eq_ignore_ascii_case(address.as_str()))
        {
            contacts.push(address);
        }
    }
    if contacts.is_empty() {
        return refuse(
            "contacts",
            "contacts must hold at least one e-mail address: where the party's security team \
             is written to",
        );
    }
    if contacts.len() > MAX_CONTACTS {
        return refuse(
            "contacts",
            format!("at most {MAX_CONTACTS} contacts per party"),
        );
    }
    let mut products: Vec<String> = Vec::new();
    for product in input
        .products
        .iter()
        .map(|p| one_line(p))
        .filter(|p| !p.is_empty())
    {
        if product.chars().count() > MAX_PRODUCT_CHARS {
            return refuse(
                "products",
                format!("products: {product:?} is longer than {MAX_PRODUCT_CHARS} characters"),
            );
        }
        if !products.contains(&product) {
            products.push(product);
        }
    }
    if products.len() > MAX_PRODUCTS {
        return refuse(
            "products",
            format!("at most {MAX_PRODUCTS} products per party"),
        );
    }
    let embargo = match input
        .embargo
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        None => None,
        Some(text) => Some(Period::parse(text).map_err(|e| EntryError {
            field: "embargo",
            message: format!("embargo: {e}"),
        })?),
    };
    let terms = normalise_untrusted(input.terms.as_deref().unwrap_or_default())
        .trim()
        .to_owned();
    if terms.chars().count() > MAX_TERMS_CHARS {
        return refuse(
            "terms",
            format!("terms are longer than {MAX_TERMS_CHARS} characters"),
        );
    }
    Ok(Party {
        slug,
        name,
        kind,
        contacts,
        products,
        embargo,
        terms,
    })
}

/// `text` normalised, on one line, its runs of whitespace made one space.
fn one_line(text: &str) -> String {
    normalise_untrusted(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_slug(text: &str) -> bool {
    (1..=MAX_SLUG_CHARS).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

/// A slug made from a name: ASCII letters and digits lowercased, every other run a hyphen.
fn slug_of(name: &str) -> Option<String> {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug.chars().take(MAX_SLUG_CHARS).collect();
    let slug = slug.trim_end_matches('-').to_owned();
    is_slug(&slug).then_some(slug)
}

/// A party as a case names it: the registry entry's slug, name and kind when it was
/// invited (the registry may change later; the log keeps what the party was told as).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invitee {
    pub party: String,
    pub name: String,
    pub kind: PartyKind,
}

/// A party's status for the case's vulnerability, VEX-style (CSAF 2.0 product status,
/// OpenVEX). "No answer yet" is the absence of a status, never a status of its own, so it
/// cannot be mistaken for a party's word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    Affected,
    NotAffected,
    Fixed,
    UnderInvestigation,
}

impl VexStatus {
    pub const ALL: [VexStatus; 4] = [
        VexStatus::Affected,
        VexStatus::NotAffected,
        VexStatus::Fixed,
        VexStatus::UnderInvestigation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::Affected => "affected",
            VexStatus::NotAffected => "not_affected",
            VexStatus::Fixed => "fixed",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            VexStatus::Affected => "Affected",
            VexStatus::NotAffected => "Not affected",
            VexStatus::Fixed => "Fixed",
            VexStatus::UnderInvestigation => "Under investigation",
        }
    }

    pub fn parse(text: &str) -> Option<VexStatus> {
        let text = text.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        VexStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Why a party is not affected: the CSAF 2.0 flag labels (the VEX justifications).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Justification {
    ComponentNotPresent,
    VulnerableCodeNotPresent,
    VulnerableCodeCannotBeControlledByAdversary,
    VulnerableCodeNotInExecutePath,
    InlineMitigationsAlreadyExist,
}

impl Justification {
    pub const ALL: [Justification; 5] = [
        Justification::ComponentNotPresent,
        Justification::VulnerableCodeNotPresent,
        Justification::VulnerableCodeCannotBeControlledByAdversary,
        Justification::VulnerableCodeNotInExecutePath,
        Justification::InlineMitigationsAlreadyExist,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Justification::ComponentNotPresent => "component_not_present",
            Justification::VulnerableCodeNotPresent => "vulnerable_code_not_present",
            Justification::VulnerableCodeCannotBeControlledByAdversary => {
                "vulnerable_code_cannot_be_controlled_by_adversary"
            }
            Justification::VulnerableCodeNotInExecutePath => "vulnerable_code_not_in_execute_path",
            Justification::InlineMitigationsAlreadyExist => "inline_mitigations_already_exist",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Justification::ComponentNotPresent => "The component is not present",
            Justification::VulnerableCodeNotPresent => "The vulnerable code is not present",
            Justification::VulnerableCodeCannotBeControlledByAdversary => {
                "The vulnerable code cannot be controlled by an adversary"
            }
            Justification::VulnerableCodeNotInExecutePath => {
                "The vulnerable code is not in the execute path"
            }
            Justification::InlineMitigationsAlreadyExist => "Inline mitigations already exist",
        }
    }

    pub fn parse(text: &str) -> Option<Justification> {
        let text = text.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Justification::ALL.into_iter().find(|j| j.as_str() == text)
    }
}

/// A party's statement: its status, why it is not affected (required then, and only
/// then), and what it says, in its own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub status: VexStatus,
    pub justification: Option<Justification>,
    pub statement: String,
}

/// The longest statement a party writes.
pub const MAX_STATEMENT_CHARS: usize = 4_000;
/// The longest message in a party's thread.
pub const MAX_MESSAGE_CHARS: usize = 64_000;
/// The longest summary the parties are told, and the longest embargo terms.
pub const MAX_SUMMARY_CHARS: usize = 8_000;

/// Checks a statement as given (`status`, `justification` as text), naming the field at
/// fault.
pub fn statement(
    status: &str,
    justification: Option<&str>,
    text: &str,
) -> Result<Statement, EntryError> {
    let status = VexStatus::parse(status).ok_or_else(|| EntryError {
        field: "status",
        message: format!(
            "status {:?} is not one of: {}",
            one_line(status),
            VexStatus::ALL.map(VexStatus::as_str).join(", ")
        ),
    })?;
    let justification = match justification.map(str::trim).filter(|j| !j.is_empty()) {
        None => None,
        Some(j) => Some(Justification::parse(j).ok_or_else(|| EntryError {
            field: "justification",
            message: format!(
                "justification {:?} is not one of: {}",
                one_line(j),
                Justification::ALL.map(Justification::as_str).join(", ")
            ),
        })?),
    };
    match (status, justification) {
        (VexStatus::NotAffected, None) => {
            return refuse(
                "justification",
                "a party that is not affected says why: give a justification",
            );
        }
        (VexStatus::NotAffected, Some(_)) | (_, None) => {}
        (_, Some(_)) => {
            return refuse(
                "justification",
                "only a party that is not affected gives a justification",
            );
        }
    }
    let text = normalise_untrusted(text).trim().to_owned();
    if text.chars().count() > MAX_STATEMENT_CHARS {
        return refuse(
            "statement",
            format!("statement is longer than {MAX_STATEMENT_CHARS} characters"),
        );
    }
    Ok(Statement {
        status,
        justification,
        statement: text,
    })
}

/// A party's answer to its invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub accepted: bool,
    pub at: jiff::Timestamp,
    pub note: Option<String>,
}

/// Where one invited party stands on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyState {
    pub invitee: Invitee,
    pub invited_at: jiff::Timestamp,
    pub reply_by: jiff::civil::Date,
    pub answer: Option<Answer>,
    /// Its latest statement, when it made one, and when.
    pub statement: Option<(Statement, jiff::Timestamp)>,
    /// Whether an officer approved that statement for publication.
    pub approved: bool,
    /// Messages in its thread, the team's to every party included.
    pub messages: usize,
    /// The last time the party wrote (a message, an answer, a statement).
    pub last_heard: Option<jiff::Timestamp>,
    pub reminded: Vec<jiff::Timestamp>,
}

impl PartyState {
    /// Whether the party has given no status yet: shown as "no answer yet", never as a
    /// status.
    pub fn silent(&self) -> bool {
        self.statement.is_none()
    }
}

/// The embargo of a case as last set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embargo {
    /// The coordinated release: an instant, stored and compared in UTC.
    pub end: jiff::Timestamp,
    pub terms: String,
    pub set_at: jiff::Timestamp,
}

/// Everything about a case's coordination, read from its log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coordination {
    /// What the parties are told of the case (the latest invitation's words).
    pub summary: Option<String>,
    pub embargo: Option<Embargo>,
    /// The agreed coordinated release, and when it was agreed.
    pub agreed: Option<(jiff::Timestamp, jiff::Timestamp)>,
    /// In the order they were invited.
    pub parties: Vec<PartyState>,
    /// The parties were told the embargo broke.
    pub told_of_break: bool,
    /// The reporter's latest word: the parties may be told who they are.
    pub reporter_consents: bool,
    /// The officer's latest choice to tell the parties who reported the case.
    pub identity_shared: bool,
}

impl Coordination {
    /// Whether the parties are told who reported the case: only while the reporter
    /// consents and the officer chose to; withdrawing consent ends it at once.
    pub fn shows_reporter(&self) -> bool {
        self.reporter_consents && self.identity_shared
    }

    pub fn party(&self, slug: &str) -> Option<&PartyState> {
        self.parties.iter().find(|p| p.invitee.party == slug)
    }

    fn party_mut(&mut self, slug: &str) -> Option<&mut PartyState> {
        self.parties.iter_mut().find(|p| p.invitee.party == slug)
    }

    /// The parties that gave no status yet, by slug.
    pub fn silent(&self) -> Vec<&str> {
        self.parties
            .iter()
            .filter(|p| p.silent())
            .map(|p| p.invitee.party.as_str())
            .collect()
    }
}

/// A case's coordination, folded from its log.
pub fn state(log: &[crate::case::Recorded]) -> Coordination {
    use crate::case::Event;
    let mut c = Coordination::default();
    for r in log {
        match &r.event {
            Event::PartiesInvited {
                parties,
                reply_by,
                summary,
            } => {
                c.summary = Some(summary.clone());
                for invitee in parties {
                    match c.party_mut(&invitee.party) {
                        // Invited again (a new reply-by): the party keeps what it said.
                        Some(p) => p.reply_by = *reply_by,
                        None => c.parties.push(PartyState {
                            invitee: invitee.clone(),
                            invited_at: r.at,
                            reply_by: *reply_by,
                            answer: None,
                            statement: None,
                            approved: false,
                            messages: 0,
                            last_heard: None,
                            reminded: Vec::new(),
                        }),
                    }
                }
            }
            Event::EmbargoSet { end, terms } => {
                c.embargo = Some(Embargo {
                    end: *end,
                    terms: terms.clone(),
                    set_at: r.at,
                });
            }
            Event::ReleaseAgreed { at, .. } => c.agreed = Some((*at, r.at)),
            Event::InvitationAnswered {
                party,
                accepted,
                note,
            } => {
                if let Some(p) = c.party_mut(party) {
                    p.answer = Some(Answer {
                        accepted: *accepted,
                        at: r.at,
                        note: note.clone(),
                    });
                    p.last_heard = Some(r.at);
                }
            }
            Event::PartyStated {
                party,
                status,
                justification,
                statement,
            } => {
                let by_party = r.actor.starts_with("party:");
                if let Some(p) = c.party_mut(party) {
                    p.statement = Some((
                        Statement {
                            status: *status,
                            justification: *justification,
                            statement: statement.clone(),
                        },
                        r.at,
                    ));
                    p.approved = false;
                    if by_party {
                        p.last_heard = Some(r.at);
                    }
                }
            }
            Event::StatementApproved { party } => {
                if let Some(p) = c.party_mut(party) {
                    p.approved = p.statement.is_some();
                }
            }
            Event::PartyMessage {
                party: Some(party),
                from_party,
                ..
            } => {
                if let Some(p) = c.party_mut(party) {
                    p.messages += 1;
                    if *from_party {
                        p.last_heard = Some(r.at);
                    }
                }
            }
            Event::PartyMessage { party: None, .. } => {
                for p in &mut c.parties {
                    p.messages += 1;
                }
            }
            Event::PartiesReminded { parties } => {
                for slug in parties {
                    if let Some(p) = c.party_mut(slug) {
                        p.reminded.push(r.at);
                    }
                }
            }
            Event::PartiesToldOfBreak { .. } => c.told_of_break = true,
            Event::ReporterConsented { share_identity } => c.reporter_consents = *share_identity,
            Event::IdentityShared { share } => c.identity_shared = *share,
            _ => {}
        }
    }
    c
}

/// The team passing a party's message on to every party (a thread is the party's own until
/// the team shares it): the command that writes `note`, then the message quoted with who
/// wrote it, to every party, with the message's files and `files` besides. `None` when
/// `event` is not a message a party wrote.
pub fn share(
    state: &Coordination,
    event: &crate::case::Event,
    note: &str,
    files: Vec<crate::command::File>,
) -> Option<crate::command::Command> {
    let crate::case::Event::PartyMessage {
        party: Some(party),
        body,
        from_party: true,
        files: attached,
    } = event
    else {
        return None;
    };
    let name = state
        .party(party)
        .map_or(party.as_str(), |p| p.invitee.name.as_str());
    let quoted: Vec<String> = body
        .lines()
        .map(|l| {
            if l.is_empty() {
                ">".to_owned()
            } else {
                format!("> {l}")
            }
        })
        .collect();
    let mut text = String::new();
    if !note.trim().is_empty() {
        text.push_str(note.trim());
        text.push_str("\n\n");
    }
    text.push_str(&format!("{name} wrote:\n\n{}", quoted.join("\n")));
    Some(crate::command::Command::MessageParties {
        party: None,
        body: text,
        files: attached.iter().cloned().chain(files).collect(),
    })
}

/// The messages one party reads: its own thread and the team's messages to every party,
/// in order. Never another party's.
pub fn thread<'a>(
    log: &'a [crate::case::Recorded],
    party: &str,
) -> impl Iterator<Item = &'a crate::case::Recorded> {
    log.iter().filter(move |r| {
        matches!(&r.event, crate::case::Event::PartyMessage { party: p, .. }
            if p.as_deref().is_none_or(|p| p == party))
    })
}

/// How often silent parties are reminded when the policy does not say.
pub const DEFAULT_REMINDER: crate::duration::Period = crate::duration::Period {
    count: 7,
    unit: crate::duration::Unit::Days,
};

/// The parties of a case due a reminder on `today` (in the policy's calendar): invited,
/// no status given yet, not declined, and the policy's `coordination.remind_parties`
/// passed since they were invited or last reminded.
pub fn due_reminders(
    policy: &crate::policy::Policy,
    log: &[crate::case::Recorded],
    today: jiff::civil::Date,
) -> Vec<String> {
    use crate::duration::Unit;
    let every = policy
        .coordination
        .remind_parties
        .unwrap_or(DEFAULT_REMINDER);
    let calendar = policy.calendar();
    let after = |from: jiff::civil::Date| match every.unit {
        Unit::BusinessDays => calendar.add_business_days(from, every.count),
        Unit::Days => from.saturating_add(jiff::Span::new().days(i64::from(every.count))),
        Unit::Weeks => from.saturating_add(jiff::Span::new().weeks(i64::from(every.count))),
    };
    state(log)
        .parties
        .iter()
        .filter(|p| p.silent() && p.answer.as_ref().is_none_or(|a| a.accepted))
        .filter(|p| {
            let last = p.reminded.last().copied().unwrap_or(p.invited_at);
            after(calendar.local_date(last)) <= today
        })
        .map(|p| p.invitee.party.clone())
        .collect()
}
