//! Who may do what: the one authorisation decision every request goes through.
//!
//! The web adapter works out *who* is asking (a [`Principal`]), *what* the route needs
//! (a [`Need`], declared beside the route) and *which* case it is about (a [`CaseRef`]),
//! and asks [`decide`]. Nothing else grants access, so the rules below are the whole
//! access model and are tested here exhaustively.
//!
//! The model, from the seeds:
//! - A case is visible only to its organisation's team and to people explicitly added to
//!   it (FreePBX, seed 001: "a private issue ... visible only to staff and the reporter").
//! - One security officer manages each incident (Kamailio, seed 002), so assigning the
//!   officer and overriding a deadline ("extreme circumstances", SalesTim, seed 003) are
//!   the officer's (or an admin's) to do; team members triage and talk.
//! - The reviewer group (Signalen, seed 004's steering group) reads cases to review drafts
//!   and advisories but changes nothing, and never sees the team's internal notes.
//! - Vendors, distributions and service providers take part as invited parties: their
//!   portal (by its secret link, or by an account linked to the party) shows what the team
//!   chose to share with them, never the case itself.
//! - A reporter holds no account: their token opens their own case and nothing else.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;

/// A person's standing in one organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrgRole {
    /// Manages incidents: triage, deadlines, the officer of a case.
    Officer,
    /// Works cases: triage, notes, messages to the reporter, severity.
    Member,
    /// Reads cases to review drafts and advisories; changes nothing.
    Reviewer,
}

impl OrgRole {
    pub const ALL: [OrgRole; 3] = [OrgRole::Officer, OrgRole::Member, OrgRole::Reviewer];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Officer => "officer",
            OrgRole::Member => "member",
            OrgRole::Reviewer => "reviewer",
        }
    }

    pub fn parse(text: &str) -> Option<OrgRole> {
        OrgRole::ALL.into_iter().find(|r| r.as_str() == text.trim())
    }

    /// Whether this role must sign in with a second factor by default: the people who
    /// can change cases' deadlines and officers.
    pub fn requires_second_factor(self) -> bool {
        matches!(self, OrgRole::Officer)
    }
}

/// Access to one case given to a person outside its organisation's team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaseGrant {
    /// Works the case like a team member (a developer brought in to fix it).
    Member,
    /// Reads it (a reviewer of this one advisory).
    Reviewer,
    /// Retired: it let a vendor read the whole case, the reporter included. Kept so that
    /// logs recording it still read; it gives no standing, and a vendor, distribution or
    /// service provider now takes part as an invited party (its portal, by link or by an
    /// account linked to the party in the registry).
    External,
}

impl CaseGrant {
    /// The grants that can be given.
    pub const ALL: [CaseGrant; 2] = [CaseGrant::Member, CaseGrant::Reviewer];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseGrant::Member => "member",
            CaseGrant::Reviewer => "reviewer",
            CaseGrant::External => "external",
        }
    }

    pub fn parse(text: &str) -> Option<CaseGrant> {
        CaseGrant::ALL
            .into_iter()
            .find(|r| r.as_str() == text.trim())
    }
}

/// What an API token may be used for. A token acts as its owner, narrowed to its scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Read cases, their timelines and clocks.
    #[serde(rename = "cases:read")]
    CasesRead,
    /// Record triage, notes, messages, severity.
    #[serde(rename = "cases:write")]
    CasesWrite,
}

impl Scope {
    pub const ALL: [Scope; 2] = [Scope::CasesRead, Scope::CasesWrite];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::CasesRead => "cases:read",
            Scope::CasesWrite => "cases:write",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text.trim())
    }
}

/// A signed-in person (by session or API token) and everything they hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Person {
    pub user_id: i64,
    /// Runs the installation: accounts, and every case.
    pub admin: bool,
    /// Organisation id → role.
    pub orgs: BTreeMap<i64, OrgRole>,
    /// Case id → what the person was added to that case as.
    pub cases: BTreeMap<i64, CaseGrant>,
    /// The cases a party the person answers for (by an account linked to it in the
    /// registry) is invited to: they reach its portal there, nothing more.
    pub party_cases: BTreeSet<i64>,
    /// `Some` when the request carries an API token: only these scopes apply. `None` for a
    /// browser session, which has everything the person has.
    pub scopes: Option<Vec<Scope>>,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No credentials (or ones that did not check out).
    Anonymous,
    /// The holder of a case's reporter token.
    Reporter { case_id: i64 },
    /// The holder of an invited party's portal token on a case.
    Party { case_id: i64 },
    /// A team account.
    Person(Person),
}

/// What a route needs. Declared once per route, beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Need {
    /// Anyone: the report form, the public API, health, sign-in.
    Public,
    /// The reporter of the case the route names.
    Reporter,
    /// A party invited to the case the route names (its portal, by its secret link).
    Party,
    /// A signed-in person answering for a party invited to the case the route names (the
    /// party's portal, by account). Browser sessions only, like the link.
    PartyAccount,
    /// Any signed-in person; what they then see is narrowed by [`can_see`].
    SignedIn,
    /// Any signed-in person who may write (a token with `cases:write`): opening a case in an
    /// organisation, which the use case checks they belong to (an outbound report).
    SignedInWrite,
    /// A person at a browser session, never an API token: their own account (password,
    /// second factor, tokens) and signing out. A token that could reach these could mint
    /// a stronger token or outlive a password change, so scopes do not apply here at all.
    BrowserSession,
    /// Read the case the route names.
    ReadCase,
    /// Change the case: triage, notes, messages, severity.
    WorkCase,
    /// Manage the case: its officer, its deadlines, who else may see it.
    ManageCase,
    /// Read the advisory the route names: a reader of every case it covers and, while it is
    /// a draft, one of those the policy lets read drafts.
    ReadAdvisory,
    /// Comment on the advisory's draft and approve it: its readers, with a token that may
    /// write; whose approval counts for which gate is the workflow's decision.
    ReviewAdvisory,
    /// Edit the advisory, its private fields and its credits: who works every case it covers.
    WorkAdvisory,
    /// Publish, revise and withdraw it, and give it its CVE ID: who manages every case it
    /// covers.
    ManageAdvisory,
    /// Approve a gated step of the case: anyone who reads it as the organisation's team or
    /// as its member or reviewer (never an external party); which gates a person's approval
    /// counts for is the workflow's decision.
    ReviewCase,
    /// Read what the organisation the route names keeps (its registry of parties): its
    /// officers and members, not its reviewers.
    OrgTeam,
    /// Change what the organisation keeps: its officers.
    OrgOfficer,
    /// Administer the installation.
    Admin,
}

impl Need {
    /// The scope an API token needs for a route, where tokens may be used at all.
    fn scope(self) -> Option<Scope> {
        match self {
            Need::SignedIn | Need::ReadCase | Need::OrgTeam | Need::ReadAdvisory => {
                Some(Scope::CasesRead)
            }
            Need::SignedInWrite => Some(Scope::CasesWrite),
            Need::WorkCase
            | Need::ManageCase
            | Need::ReviewCase
            | Need::OrgOfficer
            | Need::ReviewAdvisory
            | Need::WorkAdvisory
            | Need::ManageAdvisory => Some(Scope::CasesWrite),
            Need::Public
            | Need::Reporter
            | Need::Party
            | Need::PartyAccount
            | Need::BrowserSession
            | Need::Admin => None,
        }
    }
}

/// The case a request is about, as far as access is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseRef {
    pub id: i64,
    pub org_id: i64,
}

/// An advisory, as far as access is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisoryRef {
    pub org_id: i64,
    /// The cases it covers.
    pub cases: Vec<i64>,
    /// While it is a draft, the roles whose holders read it as the policy says (its
    /// `[advisories] drafts` groups); `None` once published, or when the policy lets every
    /// reader of its cases read its drafts.
    pub draft_readers: Option<Vec<OrgRole>>,
}

/// What the address of a request names, as far as access is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Case(CaseRef),
    /// An organisation, by id.
    Org(i64),
    Advisory(AdvisoryRef),
}

/// Why a request is refused; the adapter turns each into its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// Sign in first (401, or a redirect to the sign-in page).
    SignIn,
    /// The thing does not exist for this principal (404): a case one cannot see is not
    /// confirmed to exist.
    Hidden,
    /// Seen, but not theirs to do (403).
    Forbidden,
}

/// How far a person's access to one case goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Standing {
    /// Reads the case without the team's internal notes.
    Reader,
    /// Reads everything, works the case.
    Worker,
    /// Works and manages the case.
    Manager,
}

/// A person's standing on a case, if they have any.
pub fn standing(person: &Person, case: CaseRef) -> Option<Standing> {
    if person.admin {
        return Some(Standing::Manager);
    }
    let by_org = person.orgs.get(&case.org_id).map(|role| match role {
        OrgRole::Officer => Standing::Manager,
        OrgRole::Member => Standing::Worker,
        OrgRole::Reviewer => Standing::Reader,
    });
    let by_grant = person.cases.get(&case.id).and_then(|grant| match grant {
        CaseGrant::Member => Some(Standing::Worker),
        CaseGrant::Reviewer => Some(Standing::Reader),
        CaseGrant::External => None,
    });
    by_org.max(by_grant)
}

/// A person's standing on an advisory: the least of their standings on the cases it covers
/// (an advisory tells what each of them holds), and none on a draft the policy keeps from
/// them.
pub fn advisory_standing(person: &Person, advisory: &AdvisoryRef) -> Option<Standing> {
    if person.admin {
        return Some(Standing::Manager);
    }
    let least = advisory
        .cases
        .iter()
        .map(|&id| {
            standing(
                person,
                CaseRef {
                    id,
                    org_id: advisory.org_id,
                },
            )
        })
        .min()
        .flatten()?;
    if let Some(roles) = &advisory.draft_readers {
        let by_org = person
            .orgs
            .get(&advisory.org_id)
            .is_some_and(|r| roles.contains(r));
        let by_grants = advisory.cases.iter().all(|id| {
            let role = match person.cases.get(id) {
                Some(CaseGrant::Member) => Some(OrgRole::Member),
                Some(CaseGrant::Reviewer) => Some(OrgRole::Reviewer),
                Some(CaseGrant::External) | None => None,
            };
            role.is_some_and(|r| roles.contains(&r))
        });
        if !by_org && !by_grants {
            return None;
        }
    }
    Some(least)
}

/// Whether a person may see a case at all (the dashboard's filter).
pub fn can_see(person: &Person, case: CaseRef) -> bool {
    standing(person, case).is_some()
}

/// The decision for `principal` on a route that needs `need`, about the case or
/// organisation the route names. A route that names one which does not exist passes `None`
/// and is refused as [`Denial::Hidden`] for every need scoped to one.
pub fn decide(principal: &Principal, need: Need, target: Option<Target>) -> Result<(), Denial> {
    let case = match target {
        Some(Target::Case(case)) => Some(case),
        _ => None,
    };
    let advisory = match &target {
        Some(Target::Advisory(a)) => Some(a),
        _ => None,
    };
    match need {
        Need::Public => return Ok(()),
        Need::Reporter => {
            return match (principal, case) {
                (Principal::Reporter { case_id }, Some(case)) if *case_id == case.id => Ok(()),
                // A wrong token looks exactly like a missing case.
                _ => Err(Denial::Hidden),
            };
        }
        Need::Party => {
            return match (principal, case) {
                (Principal::Party { case_id }, Some(case)) if *case_id == case.id => Ok(()),
                _ => Err(Denial::Hidden),
            };
        }
        _ => {}
    }
    let Principal::Person(person) = principal else {
        return Err(Denial::SignIn);
    };
    if let (Some(scopes), Some(required)) = (&person.scopes, need.scope()) {
        // Writing implies reading, as it does for GitHub's token scopes.
        let held = scopes.contains(&required)
            || (required == Scope::CasesRead && scopes.contains(&Scope::CasesWrite));
        if !held {
            return Err(Denial::Forbidden);
        }
    }
    let required = match need {
        Need::Public | Need::Reporter | Need::Party => unreachable!("answered above"),
        Need::PartyAccount => {
            let case = case.ok_or(Denial::Hidden)?;
            // An API token is refused like a stranger: the portal is a browser's.
            return if person.scopes.is_none() && person.party_cases.contains(&case.id) {
                Ok(())
            } else {
                Err(Denial::Hidden)
            };
        }
        Need::SignedIn | Need::SignedInWrite => return Ok(()),
        Need::BrowserSession if person.scopes.is_none() => return Ok(()),
        Need::BrowserSession => return Err(Denial::Forbidden),
        // Administration is never done with an API token.
        Need::Admin if person.admin && person.scopes.is_none() => return Ok(()),
        Need::Admin => return Err(Denial::Forbidden),
        Need::OrgTeam | Need::OrgOfficer => {
            let Some(Target::Org(org)) = target else {
                return Err(Denial::Hidden);
            };
            let role = person.orgs.get(&org);
            let allowed = person.admin
                || match need {
                    Need::OrgTeam => matches!(role, Some(OrgRole::Officer | OrgRole::Member)),
                    _ => role == Some(&OrgRole::Officer),
                };
            return if allowed {
                Ok(())
            } else {
                Err(Denial::Forbidden)
            };
        }
        Need::ReadAdvisory | Need::ReviewAdvisory | Need::WorkAdvisory | Need::ManageAdvisory => {
            let advisory = advisory.ok_or(Denial::Hidden)?;
            let required = match need {
                Need::ReadAdvisory | Need::ReviewAdvisory => Standing::Reader,
                Need::WorkAdvisory => Standing::Worker,
                _ => Standing::Manager,
            };
            return match advisory_standing(person, advisory) {
                None => Err(Denial::Hidden),
                Some(s) if s >= required => Ok(()),
                Some(_) => Err(Denial::Forbidden),
            };
        }
        Need::ReadCase => Standing::Reader,
        Need::WorkCase => Standing::Worker,
        Need::ManageCase => Standing::Manager,
        Need::ReviewCase => {
            let case = case.ok_or(Denial::Hidden)?;
            standing(person, case).ok_or(Denial::Hidden)?;
            let reviews = person.admin
                || person.orgs.contains_key(&case.org_id)
                || matches!(
                    person.cases.get(&case.id),
                    Some(CaseGrant::Member | CaseGrant::Reviewer)
                );
            return if reviews {
                Ok(())
            } else {
                Err(Denial::Forbidden)
            };
        }
    };
    let case = case.ok_or(Denial::Hidden)?;
    match standing(person, case) {
        None => Err(Denial::Hidden),
        Some(s) if s >= required => Ok(()),
        Some(_) => Err(Denial::Forbidden),
    }
}
