//! The team's advisory page, `/advisories/{advisory}`: the draft with numbered lines and
//! the review comments on them, approvals, credits, the CVE ID, and the forms that take
//! each step (the same actions as the API, [`crate::team::advisories`], read from forms).
//! A draft is drafted from its case's page (`POST /cases/{id}/advisories`).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use vulndesk_core::access::{self, Standing};
use vulndesk_core::advisory::lifecycle::{self, Fields, Part, Private};
use vulndesk_core::advisory::{CreditKind, LineRange, Product, Reference, ReferenceKind};
use vulndesk_desk::DeskError;
use vulndesk_desk::advisories::{AdvisoryAction, AdvisoryView, Writer};

use crate::authz::Caller;
use crate::pages::{no_store, render};
use crate::team::advisories::credit_kind;
use crate::{ApiError, AppState, PageError};

/// The page's forms, each with its own address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Edit,
    Private,
    Comment,
    Approve,
    Credit,
    Cve,
    Publish,
    Revise,
    Withdraw,
}

/// One line of a part of the draft, with the comments made on it.
struct Line {
    number: u32,
    text: String,
    comments: Vec<Comment>,
}

struct Comment {
    by: String,
    at: String,
    body: String,
    outdated: bool,
}

struct Shown {
    part: &'static str,
    label: &'static str,
    lines: Vec<Line>,
}

struct Revision {
    number: u32,
    at: String,
    note: String,
    changes: Vec<lifecycle::Change>,
}

#[derive(Template)]
#[template(path = "team/advisory.html")]
struct AdvisoryPage {
    me: String,
    demo: bool,
    csrf: String,
    error: Option<String>,
    id: i64,
    number: String,
    status: &'static str,
    title: String,
    org: String,
    cases: Vec<i64>,
    cve: String,
    requested_at: String,
    version: u32,
    parts: Vec<Shown>,
    facts: Vec<(&'static str, String)>,
    approvals: Vec<(String, String, bool)>,
    /// What publishing still needs, in words; `None` when it may go out.
    blocked: Option<String>,
    credits: Vec<(u32, String, &'static str, &'static str)>,
    revisions: Vec<Revision>,
    withdrawn: Option<(String, String)>,
    unpublished_changes: bool,
    public: Option<String>,
    works: bool,
    manages: bool,
    /// The edit form's fields, as stored or as typed.
    edit: Vec<(&'static str, &'static str, String, bool)>,
    private: Vec<(&'static str, &'static str, String)>,
    kinds: Vec<&'static str>,
    /// The organisation is a CNA: IDs come from its pool, records go to the CVE Program.
    cna: bool,
    /// The CVE record's state at the CVE Program, and whether it lags behind.
    cve_record: (String, bool),
}

fn day(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// Who an actor is, in words.
fn who(state: &[(i64, String)], actor: &str) -> String {
    match vulndesk_core::actor::Actor::parse(actor) {
        vulndesk_core::actor::Actor::User(id) => state
            .iter()
            .find(|(u, _)| *u == id)
            .map_or_else(|| format!("user {id}"), |(_, n)| n.clone()),
        _ if actor.starts_with("reporter") => "the reporter".to_owned(),
        _ => actor.to_owned(),
    }
}

/// The edit form's textareas for `f`: one product line per release line, one vector,
/// weakness or reference per line.
fn edit_fields(f: &Fields) -> Vec<(&'static str, &'static str, String, bool)> {
    let products = f
        .products
        .iter()
        .flat_map(|p| {
            p.lines.iter().map(move |l| {
                format!(
                    "{} | {} | {} | {} | {}",
                    p.vendor,
                    p.name,
                    l.line,
                    l.introduced,
                    l.fixed.as_deref().unwrap_or("")
                )
            })
        })
        .collect::<Vec<_>>()
        .join("\n");
    vec![
        ("title", "Title", f.title.clone(), false),
        (
            "summary",
            "Abstract (first in every rendering)",
            f.summary.clone(),
            true,
        ),
        (
            "component",
            "Affected component",
            f.component.clone().unwrap_or_default(),
            false,
        ),
        (
            "products",
            "Affected products, one release line per line: vendor | product | line | first affected version | fixed version (blank while none)",
            products,
            true,
        ),
        (
            "cvss",
            "CVSS vectors, one per line",
            f.cvss.join("\n"),
            true,
        ),
        (
            "ssvc",
            "SSVC decision points (E:P/A:N/T:T/M:H)",
            f.ssvc.map(|s| s.vector()).unwrap_or_default(),
            false,
        ),
        (
            "cwes",
            "CWE numbers (79, 352)",
            f.cwes
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            false,
        ),
        (
            "references",
            "References, one per line: kind (advisory, fix, release-notes, report, web) and address",
            f.references
                .iter()
                .map(|r| format!("{} {}", reference_kind(r.kind), r.url))
                .collect::<Vec<_>>()
                .join("\n"),
            true,
        ),
        (
            "description",
            "Description (Markdown)",
            f.description.clone(),
            true,
        ),
        (
            "workarounds",
            "Workarounds and mitigations (Markdown)",
            f.workarounds.clone(),
            true,
        ),
    ]
}

fn reference_kind(kind: ReferenceKind) -> &'static str {
    match kind {
        ReferenceKind::Advisory => "advisory",
        ReferenceKind::Fix => "fix",
        ReferenceKind::ReleaseNotes => "release-notes",
        ReferenceKind::Report => "report",
        ReferenceKind::Web => "web",
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The public fields from the edit form; packages of products kept from `current`.
fn fields_from_form(form: &[(String, String)], current: &Fields) -> Result<Fields, DeskError> {
    let text = |name: &str| field(form, name).replace("\r\n", "\n").trim().to_owned();
    let mut products: Vec<Product> = Vec::new();
    for (i, line) in text("products").lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [vendor, name, release, introduced, fixed] = cells.as_slice() else {
            return Err(DeskError::invalid(
                "products",
                format!(
                    "line {}: write vendor | product | release line | first affected version | fixed version (blank while none)",
                    i + 1
                ),
            ));
        };
        let range = LineRange {
            line: (*release).to_owned(),
            introduced: (*introduced).to_owned(),
            fixed: (!fixed.is_empty()).then(|| (*fixed).to_owned()),
        };
        match products
            .iter_mut()
            .find(|p| p.vendor == *vendor && p.name == *name)
        {
            Some(p) => p.lines.push(range),
            None => products.push(Product {
                vendor: (*vendor).to_owned(),
                name: (*name).to_owned(),
                package: current
                    .products
                    .iter()
                    .find(|p| p.vendor == *vendor && p.name == *name)
                    .and_then(|p| p.package.clone()),
                lines: vec![range],
            }),
        }
    }
    let mut cwes = Vec::new();
    for item in text("cwes").split([',', ' ', '\n']) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let number = item
            .to_ascii_uppercase()
            .trim_start_matches("CWE-")
            .parse::<u32>()
            .map_err(|_| {
                DeskError::invalid(
                    "cwes",
                    format!("{item:?} is not a CWE number (79, CWE-352)"),
                )
            })?;
        cwes.push(number);
    }
    let mut references = Vec::new();
    for (i, line) in text("references").lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (kind, url) = match line.split_once(char::is_whitespace) {
            Some((kind, url)) => (kind, url.trim()),
            None => ("web", line),
        };
        let kind = match kind {
            "advisory" => ReferenceKind::Advisory,
            "fix" => ReferenceKind::Fix,
            "release-notes" => ReferenceKind::ReleaseNotes,
            "report" => ReferenceKind::Report,
            "web" => ReferenceKind::Web,
            other => {
                return Err(DeskError::invalid(
                    "references",
                    format!(
                        "line {}: {other:?} is not a kind of reference; kinds are advisory, fix, release-notes, report, web",
                        i + 1
                    ),
                ));
            }
        };
        references.push(Reference {
            url: url.to_owned(),
            kind,
        });
    }
    let component = text("component");
    let ssvc = match text("ssvc").as_str() {
        "" => None,
        vector => Some(
            vulndesk_core::ssvc::Ssvc::parse_vector(vector)
                .map_err(|e| DeskError::invalid("ssvc", e))?,
        ),
    };
    Ok(Fields {
        ssvc,
        title: text("title"),
        summary: text("summary"),
        description: text("description"),
        component: (!component.is_empty()).then_some(component),
        products,
        cvss: text("cvss")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        cwes,
        references,
        workarounds: text("workarounds"),
    })
}

/// What the form asks, as an action on the advisory as it is.
fn action(
    step: Step,
    fields: &[(String, String)],
    view: &AdvisoryView,
) -> Result<AdvisoryAction, ApiError> {
    let text = |name: &str| field(fields, name).trim().to_owned();
    Ok(match step {
        Step::Edit => AdvisoryAction::Edit(fields_from_form(fields, &view.state.fields)?),
        Step::Private => AdvisoryAction::SetPrivate(Private {
            proof_of_concept: text("proof_of_concept"),
            exploit_details: text("exploit_details"),
        }),
        Step::Comment => {
            let part = match text("part").as_str() {
                "title" => Part::Title,
                "summary" => Part::Summary,
                "description" => Part::Description,
                "workarounds" => Part::Workarounds,
                other => {
                    return Err(DeskError::invalid(
                        "part",
                        format!(
                            "{other:?} is not a part: title, summary, description or workarounds"
                        ),
                    )
                    .into());
                }
            };
            let line = text("line").parse::<u32>().map_err(|_| {
                DeskError::invalid("line", "the number of the line the comment is about")
            })?;
            AdvisoryAction::Comment {
                part,
                line,
                body: text("body"),
            }
        }
        Step::Approve => AdvisoryAction::Approve,
        Step::Credit => {
            let reporter_of = match text("reporter_of").as_str() {
                "" => None,
                case => Some(case.parse::<i64>().map_err(|_| {
                    DeskError::invalid("reporter_of", "a case the advisory covers")
                })?),
            };
            AdvisoryAction::OfferCredit {
                name: text("name"),
                kind: credit_kind(&text("kind"))?,
                reporter_of,
            }
        }
        Step::Cve => match (text("cve"), text("requested_at")) {
            _ if text("from_pool") == "yes" => AdvisoryAction::AssignFromPool,
            (cve, _) if !cve.is_empty() => AdvisoryAction::AssignCve { cve },
            (_, at) => AdvisoryAction::RequestCve {
                at: (!at.is_empty()).then_some(at),
            },
        },
        Step::Publish => AdvisoryAction::Publish,
        Step::Revise => AdvisoryAction::Revise { note: text("note") },
        Step::Withdraw => AdvisoryAction::Withdraw {
            reason: text("reason"),
        },
    })
}

async fn page(
    state: &AppState,
    caller: &Caller,
    view: &AdvisoryView,
    error: Option<String>,
    typed: Option<Vec<(String, String)>>,
) -> Result<AdvisoryPage, ApiError> {
    let me = caller.person()?;
    let standing = access::advisory_standing(&me.person, &view.access());
    let browser = me.person.scopes.is_none();
    let team: Vec<(i64, String)> = state
        .desk
        .team(view.row.org_id)
        .await?
        .into_iter()
        .map(|(u, _)| (u.id, u.name))
        .collect();
    let s = &view.state;
    let parts = [
        (Part::Title, "title", "Title", &s.fields.title),
        (Part::Summary, "summary", "Abstract", &s.fields.summary),
        (
            Part::Description,
            "description",
            "Description",
            &s.fields.description,
        ),
        (
            Part::Workarounds,
            "workarounds",
            "Workarounds",
            &s.fields.workarounds,
        ),
    ]
    .into_iter()
    .map(|(part, name, label, text)| Shown {
        part: name,
        label,
        lines: text
            .lines()
            .chain(text.is_empty().then_some(""))
            .zip(1..)
            .map(|(line, number)| Line {
                number,
                text: line.to_owned(),
                comments: s
                    .comments
                    .iter()
                    .filter(|c| c.part == part && c.line == number)
                    .map(|c| Comment {
                        by: who(&team, &c.actor),
                        at: day(c.at),
                        body: c.body.clone(),
                        outdated: c.version != s.version,
                    })
                    .collect(),
            })
            .collect(),
    })
    .collect();
    let products = s
        .fields
        .products
        .iter()
        .flat_map(|p| {
            p.lines.iter().map(move |l| {
                format!(
                    "{} {} {}: from {}, fixed in {}",
                    p.vendor,
                    p.name,
                    l.line,
                    l.introduced,
                    l.fixed.as_deref().unwrap_or("no release yet")
                )
            })
        })
        .collect::<Vec<_>>()
        .join("; ");
    let facts = vec![
        ("Component", s.fields.component.clone().unwrap_or_default()),
        ("Products", products),
        ("CVSS", s.fields.cvss.join(", ")),
        (
            "SSVC",
            s.fields
                .ssvc
                .map(|v| format!("{} ({})", v.decision(), v.vector()))
                .unwrap_or_default(),
        ),
        (
            "CWE",
            s.fields
                .cwes
                .iter()
                .map(|n| format!("CWE-{n}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "References",
            s.fields
                .references
                .iter()
                .map(|r| r.url.clone())
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ];
    let revisions = s
        .revision_changes()
        .into_iter()
        .map(|(r, changes)| Revision {
            number: r.number,
            at: day(r.at),
            note: r.note.clone(),
            changes,
        })
        .collect();
    let edit = match &typed {
        Some(form) => edit_fields(&s.fields)
            .into_iter()
            .map(|(name, label, value, area)| {
                let typed = form
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or(value, |(_, v)| v.clone());
                (name, label, typed, area)
            })
            .collect(),
        None => edit_fields(&s.fields),
    };
    Ok(AdvisoryPage {
        me: me.user.name.clone(),
        demo: me.user.demo,
        csrf: me.csrf.clone().unwrap_or_default(),
        error,
        id: view.row.id,
        number: view.row.number.clone(),
        status: s.status(),
        title: s.fields.title.clone(),
        org: view.policy.policy.organisation.name.clone(),
        cases: view.row.cases.clone(),
        cve: s.cve.clone().unwrap_or_default(),
        requested_at: s.requested_at.clone().unwrap_or_default(),
        version: s.version,
        parts,
        facts,
        approvals: s
            .approvals
            .iter()
            .map(|a| {
                (
                    who(&team, &a.actor),
                    a.groups.join(", "),
                    a.version == s.version,
                )
            })
            .collect(),
        blocked: if s.is_published() {
            None
        } else {
            state.desk.publication_blockers(view).await?
        },
        credits: s
            .credits
            .iter()
            .map(|c| {
                let name = match (c.reporter_of, c.name.is_empty()) {
                    (Some(case), true) => format!("the reporter of case {case}"),
                    (Some(case), false) => format!("{} (the reporter of case {case})", c.name),
                    (None, _) => c.name.clone(),
                };
                let answer = match c.answer {
                    Some(true) => "accepted",
                    Some(false) => "declined",
                    None => "awaiting their answer",
                };
                (c.id, name, c.kind.as_str(), answer)
            })
            .collect(),
        revisions,
        withdrawn: s
            .withdrawn
            .as_ref()
            .map(|(at, reason)| (day(*at), reason.clone())),
        unpublished_changes: s.unpublished_changes(),
        public: s.is_published().then(|| view.public_path()),
        works: browser && standing >= Some(Standing::Worker),
        manages: browser && standing >= Some(Standing::Manager),
        edit,
        private: if standing >= Some(Standing::Worker) {
            vec![
                (
                    "proof_of_concept",
                    "Proof of concept",
                    s.private.proof_of_concept.clone(),
                ),
                (
                    "exploit_details",
                    "Exploit details",
                    s.private.exploit_details.clone(),
                ),
            ]
        } else {
            Vec::new()
        },
        kinds: CreditKind::ALL.iter().map(|k| k.as_str()).collect(),
        cna: view.policy.policy.advisories.cna.is_some(),
        cve_record: (
            s.cve_record
                .as_ref()
                .map_or_else(|| "not sent".to_owned(), |(state, _)| state.clone()),
            s.cve_record_behind(),
        ),
    })
}

/// `GET /advisories/{advisory}`.
pub async fn show(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    let view = state.desk.advisory(caller.advisory()?).await?;
    let page = page(&state, &caller, &view, None, None).await?;
    Ok(no_store(render(StatusCode::OK, &page)?))
}

/// `POST /cases/{id}/advisories`: drafts an advisory from the case, then opens it.
pub async fn draft(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    let case = caller.case()?;
    let row = caller.case_row(&state).await?;
    let view = state
        .desk
        .draft_advisory(&row, case.org_id, &caller.person()?.person, &[], None)
        .await
        .map_err(|e| match e {
            // The cases' own words may not make a draft yet (no title): say what to do.
            DeskError::InvalidField { field, message } => ApiError::InvalidField {
                field,
                message: format!("{message}; draft it with the API and your own fields, or fill the case in first"),
            },
            other => other.into(),
        })?;
    Ok(Redirect::to(&format!("/advisories/{}", view.row.id)).into_response())
}

async fn act(
    state: AppState,
    caller: Caller,
    mut fields: Vec<(String, String)>,
    step: Step,
) -> Result<Response, PageError> {
    // Text from outside is normalised once, here where it enters (as the API's bodies are).
    for (_, value) in &mut fields {
        vulndesk_core::text::normalise_in_place(value);
    }
    let id = caller.advisory()?;
    let view = state.desk.advisory(id).await?;
    let writer = Writer {
        user_id: caller.person()?.user.id,
    };
    let result = match action(step, &fields, &view) {
        Ok(action) => state
            .desk
            .act_on_advisory(id, writer, action)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let typed = (step == Step::Edit).then_some(fields);
    answer(&state, &caller, anchor(step), typed, result).await
}

/// `POST /advisories/{advisory}/cve-record`: sends the CVE record to the CVE Program.
pub async fn send_record(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, PageError> {
    let writer = Writer {
        user_id: caller.person()?.user.id,
    };
    let result = state
        .desk
        .send_cve_record(caller.advisory()?, writer)
        .await
        .map(|(view, _)| view)
        .map_err(ApiError::from);
    answer(&state, &caller, "cve", None, result).await
}

/// Back to the advisory at the form's section (`anchor`), or its page again with the
/// refusal and, for the edit form, what was `typed`.
async fn answer(
    state: &AppState,
    caller: &Caller,
    anchor: &str,
    typed: Option<Vec<(String, String)>>,
    result: Result<AdvisoryView, ApiError>,
) -> Result<Response, PageError> {
    let id = caller.advisory()?;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/advisories/{id}#{anchor}")).into_response()),
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
            let status = e.status();
            let view = state.desk.advisory(id).await?;
            let page = page(state, caller, &view, Some(e.to_string()), typed).await?;
            Ok(no_store(render(status, &page)?))
        }
        Err(e) => Err(e.into()),
    }
}

fn anchor(step: Step) -> &'static str {
    match step {
        Step::Edit | Step::Private => "edit",
        Step::Comment => "draft",
        Step::Approve | Step::Publish => "review",
        Step::Credit => "credits",
        Step::Cve => "cve",
        Step::Revise | Step::Withdraw => "revisions",
    }
}

macro_rules! stephandlers {
    ($($name:ident => $form:expr),* $(,)?) => {$(
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            Form(fields): Form<Vec<(String, String)>>,
        ) -> Result<Response, PageError> {
            act(state, caller, fields, $form).await
        }
    )*};
}

stephandlers! {
    edit => Step::Edit,
    private => Step::Private,
    comment => Step::Comment,
    approve => Step::Approve,
    credit => Step::Credit,
    cve => Step::Cve,
    publish => Step::Publish,
    revise => Step::Revise,
    withdraw => Step::Withdraw,
}

/// One advisory in the team's list.
struct Listed {
    id: i64,
    number: String,
    org: String,
    title: String,
    status: &'static str,
    /// For a draft: the approvals of its current version, and what publishing still needs.
    review: String,
}

#[derive(Template)]
#[template(path = "team/advisories.html")]
struct ListPage {
    me: String,
    demo: bool,
    csrf: String,
    advisories: Vec<Listed>,
}

/// `GET /advisories`: every advisory the person may read, drafts first (what waits for a
/// review or a publication), newest first.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    let me = caller.person()?;
    let mut orgs: Vec<i64> = state
        .store
        .list_products()
        .await?
        .into_iter()
        .map(|p| p.org_id)
        .filter(|org| me.person.admin || me.person.orgs.contains_key(org))
        .collect();
    for case in me.person.cases.keys() {
        orgs.extend(state.store.case_org(*case).await?);
    }
    orgs.sort_unstable();
    orgs.dedup();
    let mut advisories = Vec::new();
    for org in orgs {
        for view in state.desk.advisories_of_org(org).await? {
            if access::advisory_standing(&me.person, &view.access()).is_none() {
                continue;
            }
            let s = &view.state;
            let review = if s.is_published() {
                s.revisions
                    .last()
                    .map(|r| format!("revision {}, {}", r.number, day(r.at)))
                    .unwrap_or_default()
            } else {
                let approvals = s.current_approvals().count();
                match state.desk.publication_blockers(&view).await? {
                    Some(missing) => format!("{approvals} approval(s); needs {missing}"),
                    None => format!("{approvals} approval(s); ready to publish"),
                }
            };
            advisories.push(Listed {
                id: view.row.id,
                number: view.row.number.clone(),
                org: view.policy.policy.organisation.name.clone(),
                title: s.fields.title.clone(),
                status: s.status(),
                review,
            });
        }
    }
    advisories.sort_by_key(|a| (a.status != "draft", std::cmp::Reverse(a.id)));
    let page = ListPage {
        me: me.user.name.clone(),
        demo: me.user.demo,
        csrf: me.csrf.clone().unwrap_or_default(),
        advisories,
    };
    Ok(no_store(render(StatusCode::OK, &page)?))
}
