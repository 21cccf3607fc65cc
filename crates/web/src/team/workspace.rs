//! The security team's work on cases, shared by the pages and the API: the dashboard
//! listing, the case as the team sees it, and every action the team takes (triage,
//! notes, messages to the reporter, severity, officer, deadline overrides, access).
//!
//! Access has been decided before anything here runs (`authz.rs`); what the *case* allows
//! is the desk's decision (`vulndesk_desk::workspace`).

use std::collections::BTreeMap;

use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use vulndesk_core::access::{self, CaseRef, OrgRole, Standing};
use vulndesk_core::actor::Actor;
use vulndesk_core::case::{self, Audience, Event, Recorded, State};
use vulndesk_core::policy::Policy;
use vulndesk_core::ssvc::Decision;
use vulndesk_core::triage;
use vulndesk_core::versions::{self, Support};
use vulndesk_core::workflow::{self, Member};
use vulndesk_store::{CaseListing, CaseQuery, CaseRow, JobRow, ParticipantRow, UserRow, Visible};

use crate::authz::{Caller, SignedIn};
use crate::{ApiError, AppState};
use vulndesk_desk::workspace::reporter_address;
use vulndesk_desk::{Acted, Acting, Action, cases};

pub use vulndesk_desk::cases::DASHBOARD_PAGE as PAGE_SIZE;

/// The dashboard's filters, from the query string.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Filters {
    /// Organisation slug.
    pub org: Option<String>,
    /// Product slug (within `org` when given).
    pub product: Option<String>,
    /// State names, comma-separated; default: every open state.
    pub state: Option<String>,
    /// `critical`, `high`, `medium`, `low` or `none`.
    pub severity: Option<String>,
    /// SSVC decisions, comma-separated: `act`, `attend`, `track*`, `track`.
    pub ssvc: Option<String>,
    /// The officer's user id.
    pub officer: Option<i64>,
    /// Words to find in titles, descriptions and messages.
    pub q: Option<String>,
    /// Which page of [`PAGE_SIZE`] cases, from 1.
    pub page: Option<u32>,
}

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "none"];

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::InvalidField {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// One page of the dashboard.
pub struct Page {
    pub cases: Vec<CaseListing>,
    /// The next page's number, when there are more cases.
    pub next: Option<u32>,
}

/// The cases `who` may see that match `filters`, one page of them.
pub async fn list(state: &AppState, who: &SignedIn, filters: &Filters) -> Result<Page, ApiError> {
    let person = &who.person;
    let visible = (!person.admin).then(|| Visible {
        org_ids: person.orgs.keys().copied().collect(),
        case_ids: person.cases.keys().copied().collect(),
        note_org_ids: person
            .orgs
            .iter()
            .filter(|(_, role)| **role != OrgRole::Reviewer)
            .map(|(org, _)| *org)
            .collect(),
    });
    let org_id = match filters.org.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(slug) => Some(
            state
                .store
                .organisation_by_slug(slug)
                .await?
                .ok_or_else(|| invalid("org", format!("no organisation {slug:?}")))?
                .id,
        ),
    };
    let product_id = match filters.product.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(slug) => {
            let products = state.store.list_products().await?;
            let found = products
                .iter()
                .find(|p| p.slug == slug && org_id.is_none_or(|o| o == p.org_id))
                .ok_or_else(|| invalid("product", format!("no product {slug:?}")))?;
            Some(found.id)
        }
    };
    let states: Vec<String> = match filters.state.as_deref().filter(|s| !s.is_empty()) {
        None => cases::open_states(),
        Some("all") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|s| {
                let s = s.trim();
                State::parse(s)
                    .map(|s| s.as_str().to_owned())
                    .ok_or_else(|| {
                        let states = State::ALL.map(State::as_str);
                        invalid(
                            "state",
                            format!("unknown state {s:?}; states are {}", states.join(", ")),
                        )
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    let severity = match filters.severity.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) if SEVERITIES.contains(&s) => Some(s.to_owned()),
        Some(s) => {
            return Err(invalid(
                "severity",
                format!(
                    "unknown severity {s:?}; use one of {}",
                    SEVERITIES.join(", ")
                ),
            ));
        }
    };
    let ssvc: Vec<String> = match filters.ssvc.as_deref().filter(|s| !s.is_empty()) {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|d| {
                Decision::parse(d)
                    .map(|d| d.as_str().to_owned())
                    .ok_or_else(|| {
                        let all = Decision::ALL.map(Decision::as_str);
                        invalid(
                            "ssvc",
                            format!(
                                "unknown SSVC decision {:?}; decisions are {}",
                                d.trim(),
                                all.join(", ")
                            ),
                        )
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    let page = filters.page.unwrap_or(1);
    if page == 0 {
        return Err(invalid("page", "pages are numbered from 1"));
    }
    // One row more than a page tells whether there is a next one.
    let mut cases = state
        .store
        .list_cases(&CaseQuery {
            visible,
            org_id,
            product_id,
            states,
            severity,
            ssvc,
            officer_id: filters.officer,
            // The index holds normalised text, so the query is normalised the same way (a
            // NUL would also end SQLite's FTS5 query string early).
            text: filters
                .q
                .as_deref()
                .map(vulndesk_core::text::normalise_untrusted)
                .filter(|q| !q.trim().is_empty()),
            search_internal: true,
            due_by: None,
            limit: PAGE_SIZE + 1,
            offset: (i64::from(page) - 1) * PAGE_SIZE,
        })
        .await?;
    let more = cases.len() as i64 > PAGE_SIZE;
    cases.truncate(PAGE_SIZE as usize);
    Ok(Page {
        cases,
        next: more.then_some(page + 1),
    })
}

/// How urgent a deadline is today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Urgency {
    Overdue,
    /// Due within 48 hours.
    DueSoon,
    Later,
}

/// The urgency of a deadline on `due` (met by the end of that day) on `today`.
pub fn urgency(due: Date, today: Date) -> Urgency {
    if due < today {
        Urgency::Overdue
    } else if today.checked_add(2.days()).is_ok_and(|limit| due <= limit) {
        Urgency::DueSoon
    } else {
        Urgency::Later
    }
}

/// The case as the team sees it.
pub struct CaseView {
    pub case: CaseRow,
    pub org_id: i64,
    pub policy: std::sync::Arc<vulndesk_desk::PinnedPolicy>,
    pub log: Vec<Recorded>,
    pub standing: Standing,
    pub team: Vec<(UserRow, OrgRole)>,
    pub jobs: Vec<JobRow>,
    pub users: BTreeMap<i64, String>,
    /// Other reports of the same vulnerability, declined as duplicates of this case, that
    /// this viewer may open: their reporters are credited too. `(case id, reporter's
    /// address if known and this viewer may read reporters' addresses)`.
    pub duplicates: Vec<(i64, Option<String>)>,
    /// Who takes part by mail, each with a reply address of their own (never shown): for
    /// those who work the case.
    pub participants: Vec<ParticipantRow>,
    /// The case's coordination with parties, folded from its log.
    pub coordination: vulndesk_core::coordination::Coordination,
    /// The position in the case's log of each event of `log` (the page's log leaves the
    /// parties' threads out).
    pub seqs: Vec<i64>,
}

impl CaseView {
    /// The participants by mail as people read them: "the reporter", a team member's name.
    pub fn participant_names(&self) -> Vec<String> {
        self.participants
            .iter()
            .map(|p| match (p.role.as_str(), p.user_id) {
                ("reporter", _) => "the reporter".to_owned(),
                ("party", _) => match &p.party {
                    Some((_, slug)) => format!("{} (party)", self.party_name(slug)),
                    None => "a party".to_owned(),
                },
                (_, Some(id)) => format!("{} (team)", self.actor_name(&Actor::User(id))),
                (role, None) => role.to_owned(),
            })
            .collect()
    }

    pub fn policy(&self) -> &Policy {
        &self.policy.policy
    }

    /// Whether this viewer reads the team's internal notes.
    pub fn sees_notes(&self) -> bool {
        Audience::of(self.standing).reads(Audience::Workers)
    }

    /// Whether this viewer reads who reported the case (their address): the people working
    /// it, who write to them. Reviewers and external parties (vendors) read the report
    /// without its reporter's identity, as coordinators keep reporters' identities.
    pub fn sees_reporter(&self) -> bool {
        self.sees_notes()
    }

    /// The reporter's address, to those who may read it.
    pub fn reporter_address(&self) -> Option<String> {
        self.sees_reporter()
            .then(|| reporter_address(&self.log))
            .flatten()
    }

    /// `event` as this viewer may read it: the reporter's contact is left out for those
    /// who may not read it.
    pub fn shown<'e>(&self, event: &'e Event) -> std::borrow::Cow<'e, Event> {
        match event {
            Event::Reported {
                reporter_contact: Some(_),
                ..
            } if !self.sees_reporter() => {
                let mut event = event.clone();
                if let Event::Reported {
                    reporter_contact, ..
                } = &mut event
                {
                    *reporter_contact = None;
                }
                std::borrow::Cow::Owned(event)
            }
            _ => std::borrow::Cow::Borrowed(event),
        }
    }

    /// The product slug the case was reported against.
    pub fn product_slug(&self) -> &str {
        match self.log.first().map(|r| &r.event) {
            Some(Event::Reported { product, .. }) => product,
            _ => "",
        }
    }

    /// Whether the reported version is supported, when the report names one.
    pub fn support(&self) -> Option<(String, Support)> {
        versions::reported_support(self.policy(), &self.log)
    }

    /// A display name for who acted.
    pub fn actor_name(&self, actor: &Actor) -> String {
        match actor {
            Actor::User(id) => self
                .users
                .get(id)
                .cloned()
                .unwrap_or_else(|| format!("user {id}")),
            Actor::Reporter if case::is_outbound(&self.log) => "Vendor".to_owned(),
            Actor::Reporter => "Reporter".to_owned(),
            Actor::Anonymous => "Someone not signed in".to_owned(),
            Actor::Desk => "Vulndesk".to_owned(),
            Actor::Party(slug) => self.party_name(slug),
            Actor::Other(name) => name.clone(),
        }
    }

    /// The participant row of party `slug` (loaded for those who work the case).
    pub fn party_participant(&self, slug: &str) -> Option<&ParticipantRow> {
        self.participants
            .iter()
            .find(|p| p.party.as_ref().is_some_and(|(_, s)| s == slug))
    }

    /// A party's name as it was invited, else its slug.
    pub fn party_name(&self, slug: &str) -> String {
        self.coordination
            .party(slug)
            .map_or_else(|| slug.to_owned(), |p| p.invitee.name.clone())
    }

    /// For an outbound case, the vendor and their product.
    pub fn outbound(&self) -> Option<(String, String)> {
        if !case::is_outbound(&self.log) {
            return None;
        }
        let Some(Event::Reported { fields, .. }) = self.log.first().map(|r| &r.event) else {
            return None;
        };
        let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
        Some((
            get(vulndesk_desk::outbound::VENDOR_FIELD),
            get(vulndesk_desk::outbound::VENDOR_PRODUCT_FIELD),
        ))
    }

    /// `user_id` as the policy's groups see them on this case: their role in the
    /// organisation and what they were added to the case as.
    pub fn member(&self, user_id: i64) -> Member {
        Member {
            user_id,
            role: self
                .team
                .iter()
                .find(|(u, _)| u.id == user_id)
                .map(|(_, role)| *role),
            grant: case::summary(&self.log).grants.get(&user_id).copied(),
        }
    }

    /// The gated steps `user_id` may approve now.
    pub fn approvable(&self, user_id: i64) -> Vec<String> {
        let policy = self.policy();
        let member = self.member(user_id);
        let mut steps: Vec<String> = Vec::new();
        for gate in &policy.workflow.gates {
            let step = gate.before.as_str();
            if !steps.iter().any(|s| s == step)
                && workflow::approval_groups(policy, &self.log, &member, step).is_ok()
            {
                steps.push(step.to_owned());
            }
        }
        steps
    }

    /// The entries of the timeline this viewer may read, with their log position.
    pub fn timeline(&self) -> impl Iterator<Item = (i64, &Recorded)> {
        let notes = self.sees_notes();
        self.seqs
            .iter()
            .copied()
            .zip(&self.log)
            .filter(move |(_, r)| notes || !is_internal(&r.event))
    }
}

/// Who reads an event, from [`Event::audience`]: `internal` (the people working the case),
/// `case` (everyone with access to the case) or `reporter` (also the reporter).
pub fn visibility(event: &Event) -> &'static str {
    match event.audience() {
        Audience::Workers => "internal",
        Audience::Readers => "case",
        Audience::Reporter => "reporter",
    }
}

/// Events only the people working a case read.
pub fn is_internal(event: &Event) -> bool {
    event.audience() == Audience::Workers
}

/// What of a case's log a view reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads<'a> {
    /// Every event, every party's thread included (the API's case).
    All,
    /// Everything but the parties' threads (the case page: threads have pages of their own).
    Around,
    /// Everything but the threads of parties other than this one.
    Of(&'a str),
}

/// Loads the case the caller was authorised for.
pub async fn view(state: &AppState, caller: &Caller) -> Result<CaseView, ApiError> {
    view_of(state, caller, Threads::All).await
}

/// Loads the case the caller was authorised for, with `threads` of its log.
pub async fn view_of(
    state: &AppState,
    caller: &Caller,
    threads: Threads<'_>,
) -> Result<CaseView, ApiError> {
    let mut view = essentials(state, caller, threads).await?;
    let case_id = view.case.id;
    if view.standing >= Standing::Worker {
        view.jobs = state.store.jobs_for_case(case_id).await?;
        view.participants = state.store.participants(case_id).await?;
    }
    let mut users: BTreeMap<i64, String> = view
        .team
        .iter()
        .map(|(u, _)| (u.id, u.name.clone()))
        .collect();
    for r in &view.log {
        if let Some(id) = Actor::parse(&r.actor).user_id()
            && let std::collections::btree_map::Entry::Vacant(slot) = users.entry(id)
            && let Some(u) = state.store.user(id).await?
        {
            slot.insert(u.name);
        }
    }
    view.users = users;
    // Only the duplicates this viewer may open themselves, and their reporters only to
    // those who read reporters: the list must not widen anyone's access.
    let person = &caller.person()?.person;
    for other in state.store.declared_duplicates(case_id).await? {
        let Some(org_id) = state.store.case_org(other).await? else {
            continue;
        };
        if !access::can_see(person, CaseRef { id: other, org_id }) {
            continue;
        }
        let other_log = cases::log(&state.store.events(other).await?)?;
        if triage::duplicate_of(&other_log) == Some(case_id) {
            let reporter = view
                .sees_reporter()
                .then(|| reporter_address(&other_log))
                .flatten();
            view.duplicates.push((other, reporter));
        }
    }
    Ok(view)
}

/// The case with what acting on it needs (its log, policy and team), without what only
/// the page shows (mail, names, duplicates).
async fn essentials(
    state: &AppState,
    caller: &Caller,
    threads: Threads<'_>,
) -> Result<CaseView, ApiError> {
    let at = caller.case()?;
    let standing = caller.standing().ok_or(ApiError::NotFound)?;
    let case = state.store.case(at.id).await?.ok_or(ApiError::NotFound)?;
    let policy = state.desk.policy(case.policy_version_id).await?;
    let rows = match threads {
        Threads::All => state.store.events(case.id).await?,
        Threads::Around => state.store.events_around_threads(case.id, None).await?,
        Threads::Of(party) => {
            state
                .store
                .events_around_threads(case.id, Some(party))
                .await?
        }
    };
    let seqs = rows.iter().map(|r| r.seq).collect();
    let log = cases::log(&rows)?;
    let team = state.desk.team(at.org_id).await?;
    Ok(CaseView {
        case,
        org_id: at.org_id,
        policy,
        coordination: vulndesk_core::coordination::state(&log),
        log,
        seqs,
        standing,
        team,
        jobs: Vec::new(),
        users: BTreeMap::new(),
        duplicates: Vec::new(),
        participants: Vec::new(),
    })
}

/// Records `action` on the case the caller was authorised for, as the caller.
pub async fn act(state: &AppState, caller: &Caller, action: Action) -> Result<Acted, ApiError> {
    let at = caller.case()?;
    let standing = caller.standing().ok_or(ApiError::NotFound)?;
    let case = state.store.case(at.id).await?.ok_or(ApiError::NotFound)?;
    let user = &caller.person()?.user;
    Ok(state
        .desk
        .act(&case, at.org_id, Acting { user, standing }, action)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn deadlines_are_overdue_after_their_day_and_due_soon_within_48_hours() {
        let today = date(2026, 11, 25);
        assert_eq!(urgency(date(2026, 11, 24), today), Urgency::Overdue);
        assert_eq!(urgency(today, today), Urgency::DueSoon);
        assert_eq!(urgency(date(2026, 11, 27), today), Urgency::DueSoon);
        assert_eq!(urgency(date(2026, 11, 28), today), Urgency::Later);
    }
}
