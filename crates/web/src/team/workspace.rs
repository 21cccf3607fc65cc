//! The security team's work on cases, shared by the pages and the API: the dashboard
//! listing, the case as the team sees it, and every action the team takes (triage,
//! notes, messages to the reporter, severity, officer, deadline overrides, access).
//!
//! Access has been decided before anything here runs (`authz.rs`); what this module adds
//! is what the *case* allows: the triage state machine, the policy's decline reasons, a
//! valid CVSS vector, an officer who is on the team.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use vulndesk_core::access::{self, CaseGrant, CaseRef, OrgRole, Standing};
use vulndesk_core::actor::Actor;
use vulndesk_core::case::{self, Audience, Event, Recorded};
use vulndesk_core::email::EmailAddress;
use vulndesk_core::policy::Policy;
use vulndesk_core::severity::Cvss;
use vulndesk_core::triage::{self, DeclineReason};
use vulndesk_core::versions::{self, Support};
use vulndesk_mail::parse::Mailbox;
use vulndesk_mail::receipt;
use vulndesk_store::{CaseListing, CaseQuery, CaseRow, Effects, JobRow, UserRow, Visible};

use crate::authz::{Caller, SignedIn};
use crate::reporter::ReporterToken;
use crate::{ApiError, AppState};
use vulndesk_desk::cases;

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
    /// The officer's user id.
    pub officer: Option<i64>,
    /// Words to find in titles, descriptions and messages.
    pub q: Option<String>,
    /// Which page of [`PAGE_SIZE`] cases, from 1.
    pub page: Option<u32>,
}

pub use vulndesk_desk::cases::OPEN_STATES;
const ALL_STATES: [&str; 8] = [
    "new",
    "needs-info",
    "accepted",
    "declined",
    "fixing",
    "fixed",
    "disclosed",
    "closed",
];
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
        None => OPEN_STATES.iter().map(|s| (*s).to_owned()).collect(),
        Some("all") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|s| {
                let s = s.trim();
                ALL_STATES
                    .contains(&s)
                    .then(|| s.to_owned())
                    .ok_or_else(|| {
                        invalid(
                            "state",
                            format!("unknown state {s:?}; states are {}", ALL_STATES.join(", ")),
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
}

impl CaseView {
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
        let Some(Event::Reported { fields, .. }) = self.log.first().map(|r| &r.event) else {
            return None;
        };
        let version = fields.get("version")?;
        let product = self.policy().product(self.product_slug())?;
        Some((version.clone(), versions::support(product, version)))
    }

    /// A display name for who acted.
    pub fn actor_name(&self, actor: &Actor) -> String {
        match actor {
            Actor::User(id) => self
                .users
                .get(id)
                .cloned()
                .unwrap_or_else(|| format!("user {id}")),
            Actor::Reporter => "Reporter".to_owned(),
            Actor::Anonymous => "Someone not signed in".to_owned(),
            Actor::Other(name) => name.clone(),
        }
    }

    /// The entries of the timeline this viewer may read, with their log position.
    pub fn timeline(&self) -> impl Iterator<Item = (i64, &Recorded)> {
        let notes = self.sees_notes();
        (1..)
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

/// Loads the case the caller was authorised for.
pub async fn view(state: &AppState, caller: &Caller) -> Result<CaseView, ApiError> {
    let mut view = essentials(state, caller).await?;
    let case_id = view.case.id;
    if view.standing >= Standing::Worker {
        view.jobs = state.store.jobs_for_case(case_id).await?;
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
async fn essentials(state: &AppState, caller: &Caller) -> Result<CaseView, ApiError> {
    let at = caller.case()?;
    let standing = caller.standing().ok_or(ApiError::NotFound)?;
    let case = state.store.case(at.id).await?.ok_or(ApiError::NotFound)?;
    let policy = state.desk.policy(case.policy_version_id).await?;
    let log = cases::log(&state.store.events(case.id).await?)?;
    let team = state.desk.team(at.org_id).await?;
    Ok(CaseView {
        case,
        org_id: at.org_id,
        policy,
        log,
        standing,
        team,
        jobs: Vec::new(),
        users: BTreeMap::new(),
        duplicates: Vec::new(),
    })
}

/// A triage or lifecycle move (read from requests by `team::api::parse_triage`).
#[derive(Debug, Clone)]
pub enum Triage {
    /// Ask the reporter for what the report lacks (sent to them).
    RequestInfo {
        message: String,
    },
    Accept,
    Decline {
        reason: String,
        duplicate_of: Option<i64>,
        note: Option<String>,
    },
    StartFix,
    ScheduleFix {
        release: Date,
    },
    ReleaseFix {
        on: Date,
    },
    PublishAdvisory {
        on: Date,
    },
    ExploitationObserved {
        on: Date,
    },
    Close,
    Reopen {
        reason: String,
    },
}

/// Everything the team does to a case.
#[derive(Debug, Clone)]
pub enum Action {
    Triage(Triage),
    Note {
        body: String,
    },
    /// A message to the reporter, with files for them (a patch to test, say).
    Message {
        body: String,
        files: Vec<crate::Upload>,
    },
    Severity {
        vector: String,
    },
    Officer {
        user_id: i64,
    },
    Deadline {
        clock: String,
        due: Date,
        reason: String,
        /// What the reporter is told of the move; the reason stays with the team.
        reporter_note: Option<String>,
    },
    Access {
        email: String,
        grant: Option<CaseGrant>,
    },
}

/// What an action did: the first new event's position and the case's state after it.
pub struct Acted {
    pub seq: i64,
    pub state: case::State,
}

/// Records `action` on the case the caller was authorised for.
pub async fn act(state: &AppState, caller: &Caller, action: Action) -> Result<Acted, ApiError> {
    let view = essentials(state, caller).await?;
    let at = Timestamp::now();
    let today = view.policy().calendar().local_date(at);
    let mut effects = Effects::default();
    let events = match action {
        Action::Triage(t) => {
            let event = triage_event(state, &view, t).await?;
            plausible(&event, today)?;
            if let Event::InfoRequested { message } = &event {
                queue_to_reporter(state, &view, message, &mut effects, at).await?;
            }
            vec![event]
        }
        Action::Note { body } => {
            let mentions = mentions(&body, &view.team);
            let event = Event::NoteAdded {
                body,
                mentions: mentions.clone(),
            };
            notify_mentioned(state, &view, caller, &mentions, &mut effects, at)?;
            vec![event]
        }
        Action::Message { body, files } => {
            let event = Event::ReporterMessage {
                by_team_member: true,
                body: body.clone(),
            };
            let (added, stored) = crate::attachments::record(files, "team");
            let mut text = body;
            if !added.is_empty() {
                // Files go to the portal, not into mail: the reporter downloads them there.
                text.push_str(&format!(
                    "\n\n({} {} attached to this message in your case's secret link.)",
                    added.len(),
                    if added.len() == 1 {
                        "file is"
                    } else {
                        "files are"
                    }
                ));
            }
            queue_to_reporter(state, &view, &text, &mut effects, at).await?;
            effects.attachments = stored;
            std::iter::once(event).chain(added).collect()
        }
        Action::Severity { vector } => {
            let cvss = Cvss::parse(vector.trim()).map_err(|e| invalid("vector", e.to_string()))?;
            vec![Event::SeverityAssessed {
                vector: cvss.to_string(),
            }]
        }
        Action::Officer { user_id } => {
            let officer = view
                .team
                .iter()
                .any(|(u, role)| u.id == user_id && *role == OrgRole::Officer);
            if !officer {
                return Err(invalid(
                    "user_id",
                    format!("user {user_id} is not a security officer of this organisation"),
                ));
            }
            vec![Event::OfficerAssigned { user_id }]
        }
        Action::Deadline {
            clock,
            due,
            reason,
            reporter_note,
        } => {
            let Some(clock) = vulndesk_core::clocks::ClockKind::parse(&clock) else {
                let kinds = vulndesk_core::clocks::ClockKind::ALL.map(|k| k.as_str());
                return Err(invalid(
                    "clock",
                    format!("unknown clock {clock:?}; clocks are {}", kinds.join(", ")),
                ));
            };
            let event = Event::DeadlineOverridden {
                clock,
                due,
                reason,
                reporter_note,
            };
            plausible(&event, today)?;
            vec![event]
        }
        Action::Access { email, grant } => {
            let user = state
                .store
                .user_by_email(&email)
                .await?
                .filter(|u| u.disabled_at.is_none())
                .ok_or_else(|| invalid("email", format!("no enabled account for {email:?}")))?;
            effects
                .grants
                .push((user.id, grant.map(|g| g.as_str().to_owned())));
            vec![Event::AccessChanged {
                user_id: user.id,
                grant,
            }]
        }
    };
    for event in &events {
        event.validate().map_err(|e| ApiError::InvalidField {
            field: field_of(event).to_owned(),
            message: e,
        })?;
    }
    // Decided on the log the write appends after: an officer racing another (or a
    // reporter's reply) is checked against what landed first, not what this page read.
    let written = state
        .desk
        .record(&view.case, &caller.actor(), at, events, effects)
        .await?;
    Ok(Acted {
        seq: written.rows.first().map_or(0, |e| e.seq),
        state: written.state,
    })
}

/// The input field an event's validation error is about.
fn field_of(event: &Event) -> &'static str {
    match event {
        Event::NoteAdded { .. } | Event::ReporterMessage { .. } => "body",
        Event::InfoRequested { .. } => "message",
        Event::Reopened { .. } | Event::DeadlineOverridden { .. } => "reason",
        Event::Declined { .. } => "duplicate_of",
        Event::SeverityAssessed { .. } => "vector",
        _ => "action",
    }
}

/// A 422 naming the field of a day outside the plausible window.
fn plausible(event: &Event, today: Date) -> Result<(), ApiError> {
    event
        .check_dates(today)
        .map_err(|e| ApiError::InvalidField {
            field: e.field.clone(),
            message: e.to_string(),
        })
}

async fn triage_event(state: &AppState, view: &CaseView, t: Triage) -> Result<Event, ApiError> {
    Ok(match t {
        Triage::RequestInfo { message } => Event::InfoRequested { message },
        Triage::Accept => Event::Accepted,
        Triage::Decline {
            reason,
            duplicate_of,
            note,
        } => {
            let reason = DeclineReason::parse(&reason).ok_or_else(|| {
                invalid(
                    "reason",
                    format!(
                        "unknown decline reason {reason:?}; reasons are {}",
                        DeclineReason::ALL.map(|r| r.as_str()).join(", ")
                    ),
                )
            })?;
            triage::check_reason(view.policy(), reason)
                .map_err(|e| invalid("reason", e.to_string()))?;
            if let Some(other) = duplicate_of {
                // The duplicated case must be one of the same organisation's.
                let same_org = other != view.case.id
                    && state.store.case_org(other).await? == Some(view.org_id);
                if !same_org {
                    return Err(invalid(
                        "duplicate_of",
                        format!("case {other} is not another case of this organisation"),
                    ));
                }
            }
            Event::Declined {
                reason,
                duplicate_of,
                note: note.filter(|n| !n.trim().is_empty()),
            }
        }
        Triage::StartFix => Event::FixStarted,
        Triage::ScheduleFix { release } => Event::FixScheduled { release },
        Triage::ReleaseFix { on } => Event::FixReleased { on },
        Triage::PublishAdvisory { on } => Event::AdvisoryPublished { on },
        Triage::ExploitationObserved { on } => Event::ExploitationObserved { on },
        Triage::Close => Event::Closed,
        Triage::Reopen { reason } => Event::Reopened { reason },
    })
}

/// Teammates named as `@name` (their address's local part) or `@address`.
pub fn mentions(body: &str, team: &[(UserRow, OrgRole)]) -> Vec<i64> {
    let mut found = Vec::new();
    for word in body.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')')) {
        let Some(handle) = word.strip_prefix('@') else {
            continue;
        };
        let handle = handle
            .trim_end_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if handle.is_empty() {
            continue;
        }
        for (user, _) in team {
            let local = user.email.split('@').next().unwrap_or_default();
            if (local == handle || user.email == handle) && !found.contains(&user.id) {
                found.push(user.id);
            }
        }
    }
    found
}

/// Mail telling each mentioned teammate where to look; it names the case, not its contents.
fn notify_mentioned(
    state: &AppState,
    view: &CaseView,
    caller: &Caller,
    mentioned: &[i64],
    effects: &mut Effects,
    at: Timestamp,
) -> Result<(), ApiError> {
    let by = caller.person()?.user.name.clone();
    for id in mentioned {
        let Some((user, _)) = view.team.iter().find(|(u, _)| u.id == *id) else {
            continue;
        };
        let random = ReporterToken::generate()?;
        let text = format!(
            "{by} mentioned you in a note on case {} ({}).\n\nRead it in Vulndesk: {}\n",
            view.case.id,
            view.policy().organisation.name,
            state.link(&format!("/cases/{}", view.case.id))
        );
        let subject = format!("[Vulndesk] You were mentioned on case {}", view.case.id);
        let queued = receipt::team_notice(
            view.policy(),
            &state.notice_sender(view.policy()),
            &user.email,
            &subject,
            &text,
            at,
            &random.as_str()[..32],
        )
        .map_err(|e| ApiError::Internal(format!("notice: {e}")))?;
        effects.jobs.push(queued.job);
    }
    Ok(())
}

/// The reporter's e-mail address, from the report or their first mail.
pub fn reporter_address(log: &[Recorded]) -> Option<String> {
    log.iter().find_map(|r| match &r.event {
        Event::Reported {
            reporter_contact: Some(c),
            ..
        } => EmailAddress::parse(c).ok().map(|a| a.as_str().to_owned()),
        Event::MailReceived { from, .. } => EmailAddress::parse(from)
            .ok()
            .map(|a| a.as_str().to_owned()),
        _ => None,
    })
}

/// Queues `text` to the reporter by mail, encrypted to their key if they set one, from
/// the case's reply address so their answer joins the case.
async fn queue_to_reporter(
    state: &AppState,
    view: &CaseView,
    text: &str,
    effects: &mut Effects,
    at: Timestamp,
) -> Result<(), ApiError> {
    let Some(address) = reporter_address(&view.log) else {
        return Ok(());
    };
    let key = match state.store.reporter_key(view.case.id).await? {
        None => None,
        Some(row) => match vulndesk_mail::openpgp::PublicKey::parse(&row.armored, at) {
            Ok(key) => Some(key),
            Err(e) => {
                // An expired key: never fall back to plain text for a case that asked
                // for encryption; the message stays in the portal.
                tracing::warn!(case = view.case.id, error = %e, "reporter key unusable; mail not sent");
                return Ok(());
            }
        },
    };
    let title = match view.log.first().map(|r| &r.event) {
        Some(Event::Reported { title, .. }) => title.clone(),
        _ => format!("Case {}", view.case.id),
    };
    let random = ReporterToken::generate()?;
    let answering = receipt::Answering {
        reply_tag: &view.case.reply_tag,
        to: Mailbox {
            name: None,
            email: address,
        },
        languages: &[],
        subject: &title,
        in_reply_to: None,
        references: Vec::new(),
        at,
        random_hex: &random.as_str()[..32],
    };
    if let Some(queued) = receipt::message(view.policy(), answering, text, key.as_ref()) {
        let queued = queued.map_err(|e| ApiError::Internal(format!("message to reporter: {e}")))?;
        effects.jobs.push(queued.job);
        effects.thread_ids.push(queued.message_id);
    }
    Ok(())
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
