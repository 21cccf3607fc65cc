//! The team's pages: the dashboard (`/dashboard`) and a case (`/cases/{id}`) with its
//! timeline, deadlines and the forms for every action. The forms post the same fields the
//! API takes as JSON (`team_api.rs`), so one parser and one set of rules serve both.

use std::collections::BTreeMap;
use vulndesk_core::actor::Actor;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use vulndesk_core::access::{OrgRole, Standing};
use vulndesk_core::bounty::{self, Stage};
use vulndesk_core::case::{self, Event, State as CaseState};
use vulndesk_core::clocks::ClockKind;
use vulndesk_core::coordination::PartyKind;
use vulndesk_core::fixes;
use vulndesk_core::severity::Cvss;
use vulndesk_core::ssvc::{Decision, Ssvc};
use vulndesk_core::triage::{self, DeclineReason};
use vulndesk_core::versions::Support;
use vulndesk_core::workflow;

use crate::authz::Caller;
use crate::pages::{no_store, render};
use crate::team::api::{Input, Kind, parse_action};
use crate::workspace::{self, CaseView, Filters, Urgency, urgency};
use crate::{ApiError, AppState, PageError, followup, markdown};
use vulndesk_desk::cases;

struct Row {
    id: i64,
    title: String,
    org: String,
    product: String,
    state: String,
    severity: String,
    ssvc: String,
    officer: String,
    due: String,
    urgency_class: &'static str,
    urgency_label: &'static str,
    /// The next deadline passed with nobody acting and was escalated.
    escalated: bool,
}

#[derive(Template)]
#[template(path = "team/dashboard.html")]
struct DashboardPage {
    me: String,
    /// A demo account: the page header says so.
    demo: bool,
    csrf: String,
    error: Option<String>,
    filters: Filters,
    orgs: Vec<(String, String)>,
    /// `(slug, name)` of the organisations whose registry of parties the person reads.
    registries: Vec<(String, String)>,
    /// The invitations of the parties the person answers for: `(case id, party, inviting
    /// organisation, invited on)`, each leading to the party's portal.
    invitations: Vec<(i64, String, String, String)>,
    states: Vec<(String, String)>,
    severities: &'static [&'static str],
    decisions: Vec<(&'static str, &'static str)>,
    officers: Vec<(i64, String)>,
    rows: Vec<Row>,
    next_page: Option<String>,
}

fn urgency_words(u: Option<Urgency>) -> (&'static str, &'static str) {
    match u {
        Some(Urgency::Overdue) => ("overdue", "Overdue"),
        Some(Urgency::DueSoon) => ("due-soon", "Due within 48 hours"),
        _ => ("", ""),
    }
}

/// `GET /dashboard`.
pub async fn dashboard(
    State(state): State<AppState>,
    caller: Caller,
    filters: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let who = caller.person()?;
    let filters = filters.map(|Query(f)| f).unwrap_or_default();
    let (listed, next, error) = match workspace::list(&state, who, &filters).await {
        Ok(page) => (page.cases, page.next, None),
        Err(e) if e.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            (Vec::new(), None, Some(e.to_string()))
        }
        Err(e) => return Err(e.into()),
    };
    let next_page = next.map(|n| {
        let mut query = filters.clone();
        query.page = Some(n);
        format!(
            "/dashboard?{}",
            serde_urlencoded::to_string(&query).unwrap_or_default()
        )
    });
    let products = state.store.list_products().await?;
    let mut orgs: Vec<(String, String)> = products
        .iter()
        .filter(|p| who.person.admin || who.person.orgs.contains_key(&p.org_id))
        .map(|p| (p.org_slug.clone(), p.org_name.clone()))
        .collect();
    orgs.dedup();
    let mut registries: Vec<(String, String)> = products
        .iter()
        .filter(|p| {
            who.person.admin
                || matches!(
                    who.person.orgs.get(&p.org_id),
                    Some(OrgRole::Officer | OrgRole::Member)
                )
        })
        .map(|p| (p.org_slug.clone(), p.org_name.clone()))
        .collect();
    registries.dedup();
    let mut officers = BTreeMap::new();
    for org in products
        .iter()
        .map(|p| p.org_id)
        .collect::<std::collections::BTreeSet<_>>()
    {
        if who.person.admin || who.person.orgs.contains_key(&org) {
            for (user, role) in state.desk.team(org).await? {
                if role == OrgRole::Officer {
                    officers.insert(user.id, user.name);
                }
            }
        }
    }
    let now = jiff::Timestamp::now();
    let mut names = officers.clone();
    let mut rows = Vec::with_capacity(listed.len());
    for c in listed {
        let officer = match c.projection.officer_id {
            None => String::new(),
            Some(id) => match names.get(&id) {
                Some(name) => name.clone(),
                None => {
                    let name = state
                        .store
                        .user(id)
                        .await?
                        .map_or_else(|| format!("user {id}"), |u| u.name);
                    names.insert(id, name.clone());
                    name
                }
            },
        };
        // "Today" in the case's own policy time zone, as the case page counts it.
        let pinned = state.desk.policy(c.policy_version_id).await?;
        let today = pinned.policy.calendar().local_date(now);
        let (urgency_class, urgency_label) =
            urgency_words(c.projection.next_due.map(|d| urgency(d, today)));
        rows.push(Row {
            id: c.id,
            title: c.projection.title,
            org: c.org_slug,
            product: c.product_slug,
            state: c.projection.state,
            severity: c.projection.severity.map(capitalised).unwrap_or_default(),
            ssvc: c
                .projection
                .ssvc
                .as_deref()
                .and_then(Decision::parse)
                .map(|d| d.label().to_owned())
                .unwrap_or_default(),
            officer,
            due: match (c.projection.next_due, c.projection.next_due_kind) {
                (Some(d), Some(k)) => format!("{} ({k})", d.strftime("%a %Y-%m-%d")),
                _ => String::new(),
            },
            urgency_class,
            urgency_label,
            escalated: c.projection.escalated,
        });
    }
    let mut states = vec![
        (String::new(), "Open".to_owned()),
        ("all".to_owned(), "All".to_owned()),
    ];
    states.extend(
        [
            CaseState::New,
            CaseState::NeedsInfo,
            CaseState::Accepted,
            CaseState::Declined,
            CaseState::Fixing,
            CaseState::Fixed,
            CaseState::Disclosed,
            CaseState::Closed,
        ]
        .map(|s| (s.as_str().to_owned(), s.as_str().to_owned())),
    );
    let invitations = state
        .store
        .party_invitations(who.user.id)
        .await?
        .into_iter()
        .map(|(case, party, org, at)| (case, party, org, when(at)))
        .collect();
    let page = DashboardPage {
        invitations,
        me: who.user.name.clone(),
        demo: who.user.demo,
        csrf: who.csrf.clone().unwrap_or_default(),
        error,
        filters,
        orgs,
        registries,
        states,
        severities: &["critical", "high", "medium", "low", "none"],
        decisions: Decision::ALL
            .iter()
            .rev()
            .map(|d| (d.as_str(), d.label()))
            .collect(),
        officers: officers.into_iter().collect(),
        rows,
        next_page,
    };
    Ok(no_store(render(StatusCode::OK, &page)?))
}

fn capitalised(word: String) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

struct ClockRow {
    label: &'static str,
    due: String,
    met: Option<String>,
    urgency: &'static str,
    urgency_class: &'static str,
    derivation: Vec<String>,
}

struct EntryRow {
    seq: i64,
    class: &'static str,
    visibility: &'static str,
    what: String,
    who: String,
    at: String,
    html: String,
    text: String,
    /// A file to download.
    file: Option<String>,
}

struct MailRow {
    what: String,
    status: String,
    attempts: i64,
    error: Option<String>,
    dead: bool,
}

struct Field {
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    value: String,
    options: Vec<(String, String)>,
}

/// A stage of the policy's process, as the case page shows it.
struct StageRow {
    stage: String,
    /// Who completed it and when, with the evidence, in words.
    done: Option<String>,
    /// The action that completes it, for built-in steps.
    action: Option<&'static str>,
}

/// A release line's fix, in words.
struct LineRow {
    line: String,
    versions: String,
    support: String,
    affected: &'static str,
    references: String,
    checks: String,
    planned: String,
    released: String,
}

/// The case's bounty, as the page shows it.
struct BountyView {
    /// `(condition, met in words, why)`.
    checks: Vec<(&'static str, &'static str, String)>,
    discretionary: bool,
    /// How far the award went, in words.
    stage: String,
    /// Which form the page offers: `propose`, `decide` or `pay`.
    next: &'static str,
    methods: Vec<String>,
}

/// A gate, with whether it holds.
struct GateRow {
    before: String,
    require: String,
    /// What is missing, or who approved it.
    status: String,
    holds: bool,
}

struct TriageForm {
    action: &'static str,
    label: &'static str,
    fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "team/case.html")]
struct CasePage {
    /// The advisories covering the case that the reader may read: (id, number, title,
    /// status).
    advisories: Vec<(i64, String, String, &'static str)>,
    me: String,
    /// A demo account: the page header says so.
    demo: bool,
    csrf: String,
    error: Option<String>,
    id: i64,
    title: String,
    org: String,
    product: String,
    state: String,
    severity: String,
    officer: String,
    reporter: String,
    /// The team had to ask for more information (FreePBX, seed 001).
    incomplete: bool,
    policy_version: i64,
    /// Declined or closed: the deadlines are shown but owed no more.
    settled: bool,
    /// When the reporter is next owed news, under policies that promise it.
    update: Option<(String, &'static str)>,
    suggestion: Option<String>,
    officer_notice: Option<String>,
    duplicates: Vec<(i64, String)>,
    /// Who takes part by mail (shown to those who work the case).
    participants: Vec<String>,
    clocks: Vec<ClockRow>,
    pending: Vec<(&'static str, &'static str)>,
    entries: Vec<EntryRow>,
    mail: Vec<MailRow>,
    works: bool,
    manages: bool,
    cvss: String,
    typed_note: String,
    /// The SSVC decision with its points, in words.
    ssvc: String,
    /// The SSVC form's four selects, set to the points recorded (or typed).
    ssvc_fields: Vec<Field>,
    typed_message: String,
    triage: Vec<TriageForm>,
    officers: Vec<(i64, String)>,
    clock_kinds: Vec<&'static str>,
    stages: Vec<StageRow>,
    gates: Vec<GateRow>,
    /// The gated steps this viewer may approve now (from a browser session).
    approvable: Vec<String>,
    typed_approval: String,
    /// Fix tracking per release line of the product.
    lines: Vec<LineRow>,
    bounty: Option<BountyView>,
    /// For an outbound case: "Our report to <vendor> about <product>".
    outbound: Option<String>,
    /// Coordination with parties, for those who work the case.
    coordination: Option<CoordinationView>,
    /// The policy's time zone: where an instant typed without one is read.
    policy_zone: String,
}

/// The case's coordination as the team reads it.
struct CoordinationView {
    /// The embargo's end (RFC 3339 UTC, and as text in UTC) and terms.
    embargo: Option<(String, String, String)>,
    agreed: Option<(String, String)>,
    parties: Vec<PartyLine>,
    /// Names of the invited parties that gave no status yet.
    silent: Vec<String>,
    /// The registry's parties not yet invited: `(slug, name, kind)`.
    invitable: Vec<(String, String, &'static str)>,
    kinds: Vec<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    justifications: Vec<(&'static str, &'static str)>,
    reply_by: String,
    registry_link: String,
    /// The reporter's consent to be named to the parties, and whether they are.
    reporter_consents: bool,
    reporter_shown: bool,
}

struct PartyLine {
    slug: String,
    name: String,
    kind: &'static str,
    answer: String,
    status: String,
    statement: String,
    approvable: bool,
    approved: bool,
    unread: usize,
    messages: usize,
    reminded: usize,
}

fn kind_label(kind: PartyKind) -> &'static str {
    match kind {
        PartyKind::Vendor => "Vendor",
        PartyKind::Distribution => "Distribution",
        PartyKind::ServiceProvider => "Service provider",
    }
}

/// The coordination section: parties with their answers and statuses (or "no answer
/// yet"), unread messages by party, the embargo, and what may still be invited.
async fn coordination_view(
    state: &AppState,
    view: &workspace::CaseView,
    today: jiff::civil::Date,
) -> Result<CoordinationView, ApiError> {
    let c = &view.coordination;
    // The page's log leaves the threads out: what each party wrote, and what of it the team
    // has not read, is counted by the store.
    let read_upto = |slug: &str| view.party_participant(slug).map_or(0, |p| p.team_read_seq);
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (slug, seq) in state.store.party_message_seqs(view.case.id).await? {
        let unread = seq > read_upto(&slug);
        let entry = counts.entry(slug).or_default();
        entry.0 += 1;
        entry.1 += usize::from(unread);
    }
    let count = |slug: &str| counts.get(slug).copied().unwrap_or_default();
    let parties = c
        .parties
        .iter()
        .map(|p| PartyLine {
            slug: p.invitee.party.clone(),
            name: p.invitee.name.clone(),
            kind: kind_label(p.invitee.kind),
            answer: match &p.answer {
                None => format!("no answer yet (by {})", p.reply_by),
                Some(a) if a.accepted => "accepted".to_owned(),
                Some(_) => "declined".to_owned(),
            },
            status: match &p.statement {
                None => "No answer yet".to_owned(),
                Some((s, _)) => match s.justification {
                    Some(j) => format!("{} ({})", s.status.label(), j.label()),
                    None => s.status.label().to_owned(),
                },
            },
            statement: p
                .statement
                .as_ref()
                .map(|(s, _)| s.statement.clone())
                .unwrap_or_default(),
            approvable: p.statement.is_some() && !p.approved,
            approved: p.approved,
            unread: count(&p.invitee.party).1,
            messages: count(&p.invitee.party).0,
            reminded: p.reminded.len(),
        })
        .collect();
    let invitable = state
        .store
        .parties(view.org_id)
        .await?
        .into_iter()
        .filter(|row| c.party(&row.party.slug).is_none())
        .map(|row| {
            let kind = PartyKind::parse(&row.party.kind).map_or("", kind_label);
            (row.party.slug, row.party.name, kind)
        })
        .collect();
    Ok(CoordinationView {
        embargo: c
            .embargo
            .as_ref()
            .map(|e| (e.end.to_string(), when(e.end), e.terms.clone())),
        agreed: c.agreed.map(|(at, _)| (at.to_string(), when(at))),
        silent: c
            .parties
            .iter()
            .filter(|p| p.silent())
            .map(|p| p.invitee.name.clone())
            .collect(),
        parties,
        invitable,
        kinds: PartyKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.plural()))
            .collect(),
        statuses: crate::team::coordination::status_choices(),
        justifications: crate::team::coordination::justification_choices(),
        reply_by: (today + jiff::ToSpan::days(7)).to_string(),
        registry_link: format!("/orgs/{}/parties", view.policy().organisation.slug.as_str()),
        reporter_consents: c.reporter_consents,
        reporter_shown: c.shows_reporter(),
    })
}

fn clock_label(kind: ClockKind) -> &'static str {
    match kind {
        ClockKind::Acknowledge => "Acknowledge the report",
        ClockKind::Resolve => "Release a fix",
        ClockKind::Disclosure => "Disclose",
        ClockKind::DisclosureTarget => "Goal for the whole process: report to public disclosure",
        ClockKind::ReporterDisclosure => "Reporter may publish",
    }
}

fn when(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

fn field(name: &'static str, label: &'static str, kind: &'static str) -> Field {
    Field {
        name,
        label,
        kind,
        value: String::new(),
        options: Vec::new(),
    }
}

/// A select's `(value, label)` pairs.
type Choices = &'static [(&'static str, &'static str)];

/// The SSVC form: each decision point with its values, set to what was typed after a
/// refusal, else to the points recorded.
fn ssvc_fields(recorded: Option<&Ssvc>, typed: &Typed) -> Vec<Field> {
    let recorded = recorded.map(|s| serde_json::to_value(s).unwrap_or_default());
    let points: [(&'static str, &'static str, Choices); 4] = [
        (
            "exploitation",
            "Exploitation",
            &[
                ("none", "none"),
                ("public-poc", "public proof of concept"),
                ("active", "active"),
            ],
        ),
        (
            "automatable",
            "Automatable",
            &[("no", "no"), ("yes", "yes")],
        ),
        (
            "technical_impact",
            "Technical impact",
            &[("partial", "partial"), ("total", "total")],
        ),
        (
            "mission_impact",
            "Mission and well-being impact",
            &[("low", "low"), ("medium", "medium"), ("high", "high")],
        ),
    ];
    points
        .into_iter()
        .map(|(name, label, values)| Field {
            value: typed
                .get(Kind::Ssvc, name)
                .or_else(|| {
                    recorded
                        .as_ref()
                        .and_then(|r| r[name].as_str().map(str::to_owned))
                })
                .unwrap_or_default(),
            options: values
                .iter()
                .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
                .collect(),
            ..field(name, label, "select")
        })
        .collect()
}

/// The triage forms for the moves the state machine allows now.
fn triage_forms(view: &CaseView, today: jiff::civil::Date) -> Vec<TriageForm> {
    let now = case::state(&view.log);
    let allowed = |e: &Event| triage::decide(view.policy(), &view.log, e).is_ok();
    let mut forms = Vec::new();
    let mut add = |ok: bool, action, label, fields| {
        if ok {
            forms.push(TriageForm {
                action,
                label,
                fields,
            });
        }
    };
    let dated = |label| Field {
        value: today.to_string(),
        ..field("on", label, "date")
    };
    add(
        allowed(&Event::InfoRequested {
            message: "x".into(),
        }),
        "request-info",
        "Ask the reporter for more information",
        vec![field(
            "message",
            "What is missing (sent to the reporter)",
            "text",
        )],
    );
    add(
        allowed(&Event::Accepted),
        "accept",
        "Accept as a vulnerability",
        vec![],
    );
    let decline = Event::Declined {
        reason: DeclineReason::NotAVulnerability,
        duplicate_of: None,
        note: None,
    };
    let suggested = view
        .support()
        .filter(|(_, s)| s.suggests_decline())
        .map(|_| DeclineReason::UnsupportedVersion.as_str().to_owned());
    add(
        allowed(&decline),
        "decline",
        "Decline",
        vec![
            Field {
                options: triage::allowed_reasons(view.policy())
                    .into_iter()
                    .map(|r| (r.as_str().to_owned(), r.as_str().replace('-', " ")))
                    .collect(),
                value: suggested.unwrap_or_default(),
                ..field("reason", "Reason", "select")
            },
            field(
                "duplicate_of",
                "Duplicate of case (for duplicates)",
                "number",
            ),
            field("note", "Note for the team", "text"),
        ],
    );
    add(
        allowed(&Event::FixStarted),
        "start-fix",
        "Start work on a fix",
        vec![],
    );
    let open = !matches!(now, CaseState::Closed | CaseState::Declined);
    let to_complete: Vec<(String, String)> = workflow::checklist(view.policy(), &view.log)
        .into_iter()
        .filter(|s| s.done.is_none() && s.action.is_none())
        .map(|s| (s.stage.to_string(), s.stage.to_string()))
        .collect();
    add(
        open && !to_complete.is_empty(),
        "complete-stage",
        "Complete a stage of the process",
        vec![
            Field {
                options: to_complete,
                ..field("stage", "Stage", "select")
            },
            field("evidence", "Evidence (a link or a note, optional)", "text"),
        ],
    );
    let fixing = matches!(
        now,
        CaseState::Accepted | CaseState::Fixing | CaseState::Fixed
    );
    add(
        fixing,
        "propose-fix",
        "Propose a fix for review",
        vec![field(
            "reference",
            "Commit, pull request or private fork branch",
            "text",
        )],
    );
    add(
        fixing,
        "merge-fix",
        "Record the fix\u{2019}s merge",
        vec![field("reference", "Merged commit (optional)", "text")],
    );
    add(
        open,
        "schedule-fix",
        "Schedule the fix release",
        vec![Field {
            value: today.to_string(),
            ..field("release", "Release date", "date")
        }],
    );
    add(
        allowed(&Event::FixReleased { on: today }),
        "release-fix",
        "Record the fix release",
        vec![dated("Released on")],
    );
    add(
        allowed(&Event::AdvisoryPublished { on: today }),
        "publish-advisory",
        "Record the advisory's publication",
        vec![dated("Published on")],
    );
    add(
        open,
        "exploitation-observed",
        "Record exploitation in the wild",
        vec![dated("Seen on")],
    );
    add(
        open,
        "leak-observed",
        "Record a leak: the details are public",
        vec![dated("Public since")],
    );
    add(allowed(&Event::Closed), "close", "Close the case", vec![]);
    add(
        allowed(&Event::Reopened { reason: "x".into() }),
        "reopen",
        "Reopen",
        vec![field("reason", "Why (required)", "text")],
    );
    forms
}

/// One timeline entry: what happened, in words, and whether the reporter sees it.
fn entry(view: &CaseView, seq: i64, r: &vulndesk_core::case::Recorded) -> EntryRow {
    let (class, visibility) = if workspace::is_internal(&r.event) {
        ("internal", "Internal: not visible to the reporter")
    } else {
        match &r.event {
            Event::ReporterMessage { .. } | Event::InfoRequested { .. } => {
                ("to-reporter", "Sent to the reporter")
            }
            Event::Reported { .. }
            | Event::ReporterReply { .. }
            | Event::AttachmentAdded { .. } => ("from-reporter", "From the reporter"),
            _ => ("", "Case history"),
        }
    };
    let mut e = EntryRow {
        seq,
        class,
        visibility,
        what: String::new(),
        who: view.actor_name(&Actor::parse(&r.actor)),
        at: when(r.at),
        html: String::new(),
        text: String::new(),
        file: None,
    };
    e.what = match &r.event {
        Event::Reported {
            title,
            description,
            fields,
            channel,
            ..
        } => {
            let mut text = description.clone();
            for (k, v) in fields {
                text.push_str(&format!("\n\n{k}: {v}"));
            }
            e.text = text;
            format!("Report \u{201c}{title}\u{201d} (by {})", channel.as_str())
        }
        Event::ReporterReply { body, .. } => {
            e.text = body.clone();
            "Reply".to_owned()
        }
        Event::ReporterMessage {
            by_team_member,
            body,
        } => {
            e.html = markdown::render(body);
            if *by_team_member {
                "Message".to_owned()
            } else {
                "Automatic message".to_owned()
            }
        }
        Event::InfoRequested { message } => {
            e.html = markdown::render(message);
            "Asked for more information".to_owned()
        }
        Event::NoteAdded { body, .. } => {
            e.html = markdown::render(body);
            "Note".to_owned()
        }
        Event::ReceiptSent => {
            e.who = "Vulndesk".to_owned();
            "Automatic receipt queued".to_owned()
        }
        Event::AttachmentAdded {
            filename,
            size,
            sha256,
            ..
        } => {
            e.file = Some(format!("/cases/{}/files/{sha256}", view.case.id));
            format!("File {filename} ({size} bytes)")
        }
        Event::MailReceived {
            from,
            subject,
            encrypted,
            signed_by,
            warning,
            ..
        } => {
            let mut text = format!("From {from}: {subject}");
            if *encrypted {
                text.push_str("\nEncrypted.");
            }
            if let Some(fp) = signed_by {
                text.push_str(&format!("\nSigned by {fp}."));
            }
            if let Some(w) = warning {
                text.push_str(&format!("\nWarning: {w}"));
            }
            e.text = text;
            "Mail received".to_owned()
        }
        Event::ReporterKeySet { fingerprint } => {
            format!("Reporter's OpenPGP key set: {fingerprint}")
        }
        Event::ReporterTokenReplaced => "Reporter replaced their secret link".to_owned(),
        Event::ExploitationObserved { on } => format!("Exploitation observed on {on}"),
        Event::Leaked { on } => format!("Embargo broken: the details leaked on {on}"),
        Event::FixScheduled { release } => format!("Fix release scheduled for {release}"),
        Event::FixReleased { on } => format!("Fix released on {on}"),
        Event::AdvisoryPublished { on } => format!("Advisory published on {on}"),
        Event::DeadlineOverridden {
            clock,
            due,
            reason,
            reporter_note,
        } => {
            e.text = match reporter_note {
                Some(note) => format!("{reason}\n\nThe reporter was told: {note}"),
                None => reason.clone(),
            };
            format!("Deadline {} moved to {due}", clock.as_str())
        }
        Event::Accepted => "Accepted".to_owned(),
        Event::Declined {
            reason,
            duplicate_of,
            note,
        } => {
            e.text = note.clone().unwrap_or_default();
            match duplicate_of {
                Some(other) => format!("Declined as a duplicate of case {other}"),
                None => format!("Declined: {}", reason.as_str().replace('-', " ")),
            }
        }
        Event::FixStarted => "Work on a fix started".to_owned(),
        Event::Closed => "Closed".to_owned(),
        Event::Reopened { reason } => {
            e.text = reason.clone();
            "Reopened".to_owned()
        }
        Event::SeverityAssessed { vector } => match Cvss::parse(vector) {
            Ok(c) => format!("Severity {} {} ({vector})", c.base_score(), c.severity()),
            Err(_) => format!("Severity vector {vector}"),
        },
        Event::OfficerAssigned { user_id } => {
            format!("Officer: {}", view.actor_name(&Actor::User(*user_id)))
        }
        Event::Escalated { clock, due, told } => {
            e.text = format!(
                "Told: {}.",
                told.iter()
                    .map(|id| view.actor_name(&Actor::User(*id)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            format!(
                "Escalated: the {} deadline of {due} passed with nobody acting",
                clock.as_str()
            )
        }
        Event::SsvcAssessed { points } => {
            format!("SSVC {} ({})", points.decision(), points.vector())
        }
        Event::LineUpdated { line, update } => {
            use vulndesk_core::fixes::LineUpdate as U;
            match update {
                U::Affected { affected: true } => format!("Line {line}: affected"),
                U::Affected { affected: false } => format!("Line {line}: not affected"),
                U::Reference { reference } => {
                    e.text = reference.clone();
                    format!("Line {line}: fix reference")
                }
                U::Reviewed { note } | U::Tested { note } => {
                    e.text = note.clone().unwrap_or_default();
                    let what = if matches!(update, U::Reviewed { .. }) {
                        "reviewed"
                    } else {
                        "tested"
                    };
                    format!("Line {line}: fix {what}")
                }
                U::Planned { version, on } => match version {
                    Some(v) => format!("Line {line}: fix planned in {v} on {on}"),
                    None => format!("Line {line}: fix planned on {on}"),
                },
                U::Released { version, on } => {
                    format!("Line {line}: fix released in {version} on {on}")
                }
            }
        }
        Event::BountyProposed { amount, note } => {
            e.text = note.clone().unwrap_or_default();
            format!("Bounty of {amount} proposed (the reporter followed the policy)")
        }
        Event::BountyApproved { note } => {
            e.text = note.clone().unwrap_or_default();
            "Bounty approved".to_owned()
        }
        Event::BountyDeclined { reason } => {
            e.text = reason.clone();
            "No bounty awarded".to_owned()
        }
        Event::BountyPaid {
            method,
            address,
            reference,
            on,
        } => {
            e.text = [address.as_deref(), reference.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("\n");
            format!("Bounty paid by {method} on {on}")
        }
        Event::StageCompleted { stage, evidence } => {
            e.text = evidence.clone().unwrap_or_default();
            format!("Stage {stage} completed")
        }
        Event::FixProposed { reference } => {
            e.text = reference.clone();
            "Fix proposed for review".to_owned()
        }
        Event::FixMerged { reference } => {
            e.text = reference.clone().unwrap_or_default();
            "Fix merged".to_owned()
        }
        Event::Approved { step, groups, note } => {
            e.text = note.clone().unwrap_or_default();
            format!("Approved {step} (as {})", groups.join(", "))
        }
        Event::PartiesInvited {
            parties,
            reply_by,
            summary,
        } => {
            e.text = summary.clone();
            let names: Vec<&str> = parties.iter().map(|p| p.name.as_str()).collect();
            format!(
                "Invited under embargo: {} (answer by {reply_by})",
                names.join(", ")
            )
        }
        Event::EmbargoSet { end, terms } => {
            e.text = terms.clone();
            format!("Embargo set until {} UTC", end.strftime("%Y-%m-%d %H:%M"))
        }
        Event::InvitationAnswered {
            party,
            accepted,
            note,
        } => {
            e.text = note.clone().unwrap_or_default();
            let what = if *accepted { "accepted" } else { "declined" };
            format!("{} {what} the invitation", view.party_name(party))
        }
        Event::ReleaseAgreed { at, note } => {
            e.text = note.clone().unwrap_or_default();
            format!(
                "Coordinated release agreed for {} UTC",
                at.strftime("%Y-%m-%d %H:%M")
            )
        }
        Event::PartyStated {
            party,
            status,
            justification,
            statement,
        } => {
            e.text = statement.clone();
            match justification {
                Some(j) => format!(
                    "{}: {} ({})",
                    view.party_name(party),
                    status.label(),
                    j.label()
                ),
                None => format!("{}: {}", view.party_name(party), status.label()),
            }
        }
        Event::StatementApproved { party } => {
            format!(
                "{}'s statement approved for publication",
                view.party_name(party)
            )
        }
        Event::PartyMessage {
            party,
            body,
            from_party,
            ..
        } => {
            e.html = markdown::render(body);
            match (party, from_party) {
                (Some(p), true) => format!("Message from {}", view.party_name(p)),
                (Some(p), false) => format!("Message to {}", view.party_name(p)),
                (None, _) => "Message to every party".to_owned(),
            }
        }
        Event::PartiesReminded { parties } => {
            let names: Vec<String> = parties.iter().map(|p| view.party_name(p)).collect();
            format!("Reminded to answer: {}", names.join(", "))
        }
        Event::PartiesToldOfBreak { parties } => {
            format!("The {} parties were told the embargo broke", parties.len())
        }
        Event::ReporterConsented {
            share_identity: true,
        } => "The reporter allows the parties to be told who they are".to_owned(),
        Event::ReporterConsented {
            share_identity: false,
        } => "The reporter keeps their identity from the parties".to_owned(),
        Event::IdentityShared { share: true } => {
            "The parties are told who reported the case".to_owned()
        }
        Event::IdentityShared { share: false } => {
            "The parties are no longer told who reported the case".to_owned()
        }
        Event::AccessChanged { user_id, grant } => {
            let name = view.actor_name(&Actor::User(*user_id));
            match grant {
                Some(vulndesk_core::access::CaseGrant::External) => {
                    format!("{name} added as external (retired: it gives no access now)")
                }
                Some(g) => format!("{name} added as {}", g.as_str()),
                None => format!("{name} no longer has access"),
            }
        }
    };
    e
}

/// What a person typed into a form that was refused, to show it again.
#[derive(Default)]
struct Typed {
    kind: Option<Kind>,
    fields: Vec<(String, String)>,
}

impl Typed {
    fn get(&self, kind: Kind, name: &str) -> Option<String> {
        (self.kind == Some(kind))
            .then(|| {
                self.fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
            .flatten()
    }
}

async fn case_page(
    state: &AppState,
    caller: &Caller,
    error: Option<String>,
    typed: Typed,
) -> Result<CasePage, ApiError> {
    let who = caller.person()?;
    let view = workspace::view_of(state, caller, workspace::Threads::Around).await?;
    let policy = view.policy();
    let clocks = cases::clocks_of(policy, &view.log)?;
    let summary = case::summary(&view.log);
    let today = policy.calendar().local_date(jiff::Timestamp::now());
    let score = summary.cvss.as_deref().and_then(|v| Cvss::parse(v).ok());
    let suggestion = view.support().map(|(version, support)| match support {
        Support::Unsupported { range } => format!(
            "The reported version {version} is out of support{}: consider declining it as an unsupported version.",
            range.map(|r| format!(" ({r})")).unwrap_or_default()
        ),
        Support::Supported { range } => format!("The reported version {version} is supported ({range})."),
        Support::Unknown { why } => format!("Support for the reported version is unknown: {why}."),
    });
    let officer_notice = (policy.roles.officer_per_case && summary.officer.is_none()).then(|| {
        format!(
            "{}'s policy has one security officer manage each case: assign one below.",
            policy.organisation.name
        )
    });
    let case_state = case::state(&view.log);
    let settled = matches!(case_state, CaseState::Declined | CaseState::Closed);
    let mut advisories = Vec::new();
    for a in state.desk.advisories_of_case(view.case.id).await? {
        if vulndesk_core::access::advisory_standing(&who.person, &a.access()).is_none() {
            continue;
        }
        advisories.push((
            a.row.id,
            a.row.number.clone(),
            a.state.fields.title.clone(),
            a.state.status(),
        ));
    }
    // Each party's messages are read in its own thread, not in one shared forum that grows
    // with every party (VINCE's complaint); the timeline keeps everything else.
    let entries = view
        .timeline()
        .filter(|(_, r)| !matches!(r.event, Event::PartyMessage { .. }))
        .map(|(seq, r)| entry(&view, seq, r))
        .collect();
    let mail = view
        .jobs
        .iter()
        .map(|j| MailRow {
            what: match j.payload["to"].as_array() {
                Some(to) => format!(
                    "Mail #{} to {}",
                    j.id,
                    to.iter()
                        .filter_map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => format!("{} #{}", j.kind, j.id),
            },
            status: j.status.as_str().to_owned(),
            attempts: j.attempts,
            error: j.last_error.clone(),
            dead: j.status.as_str() == "dead",
        })
        .collect();
    let coordination = if view.standing >= Standing::Worker {
        Some(coordination_view(state, &view, today).await?)
    } else {
        None
    };
    Ok(CasePage {
        advisories,
        coordination,
        policy_zone: policy.calendar.timezone.name.clone(),
        me: who.user.name.clone(),
        demo: who.user.demo,
        csrf: who.csrf.clone().unwrap_or_default(),
        error,
        id: view.case.id,
        title: summary.title.clone(),
        org: policy.organisation.name.clone(),
        product: policy
            .product(view.product_slug())
            .map_or_else(|| view.product_slug().to_owned(), |p| p.name.clone()),
        state: case_state.as_str().to_owned(),
        severity: score
            .as_ref()
            .map(|c| {
                format!(
                    "{} {} (CVSS {})",
                    c.base_score(),
                    c.severity(),
                    c.version().as_str()
                )
            })
            .unwrap_or_else(|| "not scored".to_owned()),
        officer: summary
            .officer
            .map(|id| view.actor_name(&Actor::User(id)))
            .unwrap_or_else(|| "none".to_owned()),
        reporter: if view.sees_reporter() {
            view.reporter_address()
                .unwrap_or_else(|| "portal only".to_owned())
        } else {
            "known to the people working the case".to_owned()
        },
        incomplete: triage::was_incomplete(&view.log),
        update: vulndesk_core::reminders::reporter_update(policy, &view.log)
            .filter(|_| !settled && case_state != CaseState::Disclosed)
            .map(|u| {
                let late = u.due < today;
                (
                    format!(
                        "The reporter last heard from the team on {}; the policy promises news every {}: next by {}.",
                        u.last,
                        u.every,
                        u.due.strftime("%a %Y-%m-%d")
                    ),
                    if late { "overdue" } else { "" },
                )
            }),
        settled,
        policy_version: view.policy.version,
        suggestion,
        officer_notice,
        participants: view.participant_names(),
        duplicates: view
            .duplicates
            .iter()
            .map(|(id, r)| {
                let reporter = match (r, view.sees_reporter()) {
                    (Some(address), _) => address.clone(),
                    (None, true) => "portal only".to_owned(),
                    (None, false) => "reporter known to the people working the case".to_owned(),
                };
                (*id, reporter)
            })
            .collect(),
        clocks: clocks
            .deadlines
            .iter()
            .map(|d| {
                let (class, label) = if settled || d.kind.is_permission() {
                    urgency_words(None)
                } else {
                    urgency_words(Some(urgency(d.due, today)))
                };
                ClockRow {
                    label: clock_label(d.kind),
                    due: d.due.strftime("%a %Y-%m-%d").to_string(),
                    met: d.met.map(|m| m.to_string()),
                    urgency: label,
                    urgency_class: class,
                    derivation: d.derivation.clone(),
                }
            })
            .collect(),
        pending: clocks
            .pending
            .iter()
            .map(|p| (clock_label(p.kind), p.starts_when))
            .collect(),
        entries,
        mail,
        works: view.standing >= Standing::Worker && who.person.scopes.is_none(),
        manages: view.standing >= Standing::Manager && who.person.scopes.is_none(),
        cvss: typed
            .get(Kind::Severity, "vector")
            .or(summary.cvss)
            .unwrap_or_default(),
        typed_note: typed.get(Kind::Note, "body").unwrap_or_default(),
        ssvc: summary
            .ssvc
            .map(|s| format!("{} ({})", s.decision(), s.vector()))
            .unwrap_or_else(|| "not prioritised".to_owned()),
        ssvc_fields: ssvc_fields(summary.ssvc.as_ref(), &typed),
        typed_message: typed.get(Kind::Message, "body").unwrap_or_default(),
        triage: triage_forms(&view, today),
        officers: view
            .team
            .iter()
            .filter(|(_, role)| *role == OrgRole::Officer)
            .map(|(u, _)| (u.id, u.name.clone()))
            .collect(),
        clock_kinds: ClockKind::ALL.iter().map(|k| k.as_str()).collect(),
        stages: workflow::checklist(policy, &view.log)
            .into_iter()
            .map(|s| StageRow {
                stage: s.stage.to_string(),
                done: s.done.map(|d| {
                    let mut words = format!("done by {} {}", view.actor_name(&d.actor), when(d.at));
                    if let Some(evidence) = d.evidence {
                        words.push_str(&format!(": {evidence}"));
                    }
                    words
                }),
                action: s.action,
            })
            .collect(),
        gates: workflow::gates(policy, &view.log)
            .into_iter()
            .map(|g| GateRow {
                before: g.gate.before.to_string(),
                require: g.gate.require.to_string(),
                status: match &g.missing {
                    Some(missing) => format!("needs {missing}"),
                    None if g.approved_by.is_empty() => "holds".to_owned(),
                    None => format!(
                        "holds: approved by {}",
                        g.approved_by
                            .iter()
                            .map(|id| view.actor_name(&Actor::User(*id)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
                holds: g.holds(),
            })
            .collect(),
        approvable: if who.person.scopes.is_none() && !settled {
            view.approvable(who.user.id)
        } else {
            Vec::new()
        },
        typed_approval: typed.get(Kind::Approval, "note").unwrap_or_default(),
        outbound: view.outbound().map(|(vendor, product)| {
            format!(
                "Our report to {vendor} about {product}: the reporter here is the vendor, messages go to them, and {}'s disclosure rules run the date.",
                policy.organisation.name
            )
        }),
        bounty: bounty::eligibility(policy, &view.log).map(|e| BountyView {
            checks: e
                .checks
                .iter()
                .map(|c| {
                    let met = match c.met {
                        Some(true) => "yes",
                        Some(false) => "no",
                        None => "for the team to judge",
                    };
                    (c.condition, met, c.why.clone())
                })
                .collect(),
            discretionary: e.discretionary,
            next: match &e.stage {
                Stage::None | Stage::Declined { .. } if e.possible() => "propose",
                Stage::Proposed { .. } => "decide",
                Stage::Approved { .. } => "pay",
                _ => "",
            },
            stage: match &e.stage {
                Stage::None => "no award proposed".to_owned(),
                Stage::Proposed { amount, by } => {
                    format!("{amount} proposed by {}, awaiting approval", view.actor_name(&Actor::parse(by)))
                }
                Stage::Approved { amount } => format!("{amount} approved; the reporter was told"),
                Stage::Declined { reason } => format!("no bounty: {reason}"),
                Stage::Paid { amount, method, on } => format!("{amount} paid by {method} on {on}"),
            },
            methods: policy
                .bounty
                .as_ref()
                .map(|b| b.payout_methods.clone())
                .unwrap_or_default(),
        }),
        lines: fixes::lines(policy, &view.log)
            .into_iter()
            .map(|l| LineRow {
                support: match (&l.note, l.supported) {
                    (Some(note), true) => format!("supported ({note})"),
                    (None, true) => "supported".to_owned(),
                    (Some(note), false) => format!("not supported ({note})"),
                    (None, false) => "not supported".to_owned(),
                },
                affected: match l.affected {
                    Some(true) => "affected",
                    Some(false) => "not affected",
                    None => "not yet known",
                },
                references: l.references.join(", "),
                checks: match (l.reviewed, l.tested) {
                    (true, true) => "reviewed, tested",
                    (true, false) => "reviewed",
                    (false, true) => "tested",
                    (false, false) => "",
                }
                .to_owned(),
                planned: l
                    .planned
                    .map(|(v, on)| match v {
                        Some(v) => format!("{v} on {on}"),
                        None => format!("on {on}"),
                    })
                    .unwrap_or_default(),
                released: l.released.map(|(v, on)| format!("{v} on {on}")).unwrap_or_default(),
                line: l.line,
                versions: l.versions,
            })
            .collect(),
    })
}

/// `GET /cases/{id}`.
pub async fn show(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    let page = case_page(&state, &caller, None, Typed::default()).await?;
    Ok(no_store(render(StatusCode::OK, &page)?))
}

/// `GET /cases/{id}/files/{sha256}`: a file of the case, as a download only.
pub async fn file(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, sha256)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let case = state
        .store
        .case(caller.case()?.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let reads = caller
        .standing()
        .map(vulndesk_core::case::Audience::of)
        .ok_or(ApiError::NotFound)?;
    Ok(followup::file(&state, &case, &sha256, followup::FileViewer::Circle(reads)).await?)
}

/// `POST /cases/{id}/messages` (multipart/form-data): a message to the reporter with
/// files, within the policy's attachment limits.
pub async fn message(
    State(state): State<AppState>,
    caller: Caller,
    request: axum::extract::Request,
) -> Result<Response, PageError> {
    act_with_files(
        state,
        caller,
        request,
        Kind::Message,
        &["body"],
        |mut f, files| vulndesk_desk::Action::Message {
            body: std::mem::take(&mut f[0].1),
            files,
        },
    )
    .await
}

/// `POST /cases/{id}/party-messages` (multipart/form-data): a message to one party (`party`)
/// or every party, with files, within the policy's attachment limits.
pub async fn party_messages(
    State(state): State<AppState>,
    caller: Caller,
    request: axum::extract::Request,
) -> Result<Response, PageError> {
    let names = &["party", "body"];
    act_with_files(
        state,
        caller,
        request,
        Kind::PartyMessage,
        names,
        |mut f, files| vulndesk_desk::Action::PartyMessage {
            party: Some(f[0].1.trim().to_owned()).filter(|p| !p.is_empty()),
            body: std::mem::take(&mut f[1].1),
            files,
        },
    )
    .await
}

/// A form with files (multipart, within the policy's attachment limits): its text fields
/// `names` and its files made into an action by `action`, and answered like any form.
async fn act_with_files(
    state: AppState,
    caller: Caller,
    request: axum::extract::Request,
    kind: Kind,
    names: &[&str],
    action: impl FnOnce(Vec<(String, String)>, Vec<crate::Upload>) -> vulndesk_desk::Action,
) -> Result<Response, PageError> {
    let case = caller.case_row(&state).await?;
    let pinned = state.desk.policy(case.policy_version_id).await?;
    let mut form =
        crate::multipart::read(request, crate::Limits::of(&pinned.policy.intake)).await?;
    let fields: Vec<(String, String)> = names
        .iter()
        .map(|n| ((*n).to_owned(), form.text(n).to_owned()))
        .collect();
    let result = match form.refused.pop() {
        Some(refused) => Err(refused),
        None => {
            let action = action(fields.clone(), std::mem::take(&mut form.files));
            workspace::act(&state, &caller, action).await.map(|a| a.seq)
        }
    };
    answer(state, caller, fields, kind, result).await
}

async fn act(
    state: AppState,
    caller: Caller,
    fields: Vec<(String, String)>,
    kind: Kind,
) -> Result<Response, PageError> {
    let input = Input::Form(
        fields
            .iter()
            .filter(|(n, _)| n != "csrf")
            .cloned()
            .collect(),
    );
    let result = match parse_action(kind, input) {
        Ok(action) => workspace::act(&state, &caller, action).await.map(|a| a.seq),
        Err(e) => Err(e),
    };
    answer(state, caller, fields, kind, result).await
}

/// Back to the case at the new entry, or the case again with the refusal and what was typed.
async fn answer(
    state: AppState,
    caller: Caller,
    fields: Vec<(String, String)>,
    kind: Kind,
    result: Result<i64, ApiError>,
) -> Result<Response, PageError> {
    let id = caller.case()?.id;
    // A message to one party is read in that party's thread.
    let thread = fields
        .iter()
        .find(|(name, value)| name == "party" && !value.trim().is_empty())
        .filter(|_| kind == Kind::PartyMessage)
        .map(|(_, party)| format!("/parties/{}", party.trim()));
    match result {
        Ok(seq) => Ok(Redirect::to(&format!(
            "/cases/{id}{}#e-{seq}",
            thread.unwrap_or_default()
        ))
        .into_response()),
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
            let status = e.status();
            let typed = Typed {
                kind: Some(kind),
                fields,
            };
            let page = case_page(&state, &caller, Some(e.to_string()), typed).await?;
            Ok(no_store(render(status, &page)?))
        }
        Err(e) => Err(e.into()),
    }
}

macro_rules! form_handlers {
    ($($name:ident => $kind:expr),* $(,)?) => {$(
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            Form(fields): Form<Vec<(String, String)>>,
        ) -> Result<Response, PageError> {
            act(state, caller, fields, $kind).await
        }
    )*};
}

form_handlers! {
    triage => Kind::Triage,
    note => Kind::Note,
    severity => Kind::Severity,
    officer => Kind::Officer,
    deadline => Kind::Deadline,
    access => Kind::Access,
    approval => Kind::Approval,
    ssvc => Kind::Ssvc,
    lines => Kind::Line,
    bounty => Kind::Bounty,
    parties => Kind::Parties,
    embargo => Kind::Embargo,
    statements => Kind::Statement,
    reporter_sharing => Kind::Sharing,
}

#[derive(Template)]
#[template(path = "team/party_thread.html")]
struct ThreadPage {
    me: String,
    demo: bool,
    csrf: String,
    id: i64,
    title: String,
    slug: String,
    name: String,
    status: String,
    messages: Vec<ThreadMessage>,
}

struct ThreadMessage {
    seq: i64,
    who: String,
    at: String,
    html: String,
    new: bool,
    /// Each file's SHA-256, name and size.
    files: Vec<(String, String, u64)>,
    /// The party wrote it: the team may pass it on to every party.
    shareable: bool,
}

/// `GET /cases/{id}/parties/{party}`: one party's thread as the team reads it (its
/// messages, the team's to it and to every party), with what is new since the team last
/// looked; reading it marks it read.
pub async fn party_thread(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, slug)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let who = caller.person()?;
    let view = workspace::view_of(&state, &caller, workspace::Threads::Of(&slug)).await?;
    let party = view.coordination.party(&slug).ok_or(ApiError::NotFound)?;
    let participant = view.party_participant(&slug);
    let read_upto = participant.map_or(0, |p| p.team_read_seq);
    let mut messages = Vec::new();
    for (seq, r) in view.timeline() {
        if let Event::PartyMessage {
            party: to,
            body,
            from_party,
            files,
        } = &r.event
            && to.as_deref().is_none_or(|p| p == slug)
        {
            messages.push(ThreadMessage {
                seq,
                who: match (from_party, to) {
                    (true, _) => party.invitee.name.clone(),
                    (false, Some(_)) => view.actor_name(&Actor::parse(&r.actor)),
                    (false, None) => format!(
                        "{} (to every party)",
                        view.actor_name(&Actor::parse(&r.actor))
                    ),
                },
                at: when(r.at),
                html: markdown::render(body),
                new: *from_party && seq > read_upto,
                files: files
                    .iter()
                    .map(|f| (f.sha256.clone(), f.filename.clone(), f.size))
                    .collect(),
                shareable: *from_party,
            });
        }
    }
    let page = ThreadPage {
        me: who.user.name.clone(),
        demo: who.user.demo,
        csrf: who.csrf.clone().unwrap_or_default(),
        id: view.case.id,
        title: case::summary(&view.log).title,
        slug: slug.clone(),
        name: party.invitee.name.clone(),
        status: match &party.statement {
            None => "No answer yet".to_owned(),
            Some((s, _)) => s.status.label().to_owned(),
        },
        messages,
    };
    let rendered = no_store(render(StatusCode::OK, &page)?);
    if let (Some(p), Some(last)) = (participant, page.messages.last()) {
        state
            .store
            .mark_read(p.id, false, last.seq)
            .await
            .map_err(ApiError::from)?;
    }
    Ok(rendered)
}
