//! The reporter portal, `/r/{id}/{token}`: the case as its reporter may see it, and forms to
//! reply. The token in the address authorises every route here; a wrong one gets the same
//! 404 page as an address that does not exist.
//!
//! The conversation is built from an allow-list of events: the report, the reporter's
//! replies, messages written for the reporter, and files. Anything else in the log (and
//! any kind added later, such as internal notes) is not shown unless added here.

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use vulndesk_core::case::{self, Event, Recorded};
use vulndesk_core::clocks::ClockKind;
use vulndesk_core::policy::{FieldKind, Policy};
use vulndesk_store::CaseRow;

use crate::attachments::Limits;
use crate::authz::Caller;
use crate::error::human_size;
use crate::intake::ATTACHMENTS_FIELD;
use crate::pages::{self, Control, ErrorLink, Widget};
use crate::{ApiError, AppState, PageError, followup, markdown, multipart};
use vulndesk_desk::cases;

/// The reply form's text field.
const BODY_FIELD: &str = "body";
/// The key form's field.
const KEY_FIELD: &str = "public_key";

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    case_id: i64,
    title: String,
    org_name: String,
    product: String,
    state: String,
    policy_version: i64,
    base: String,
    clocks: Vec<ClockView>,
    pending: Vec<PendingView>,
    entries: Vec<Entry>,
    controls: Vec<Control>,
    key_controls: Vec<Control>,
    key: Option<KeyView>,
    errors: Vec<ErrorLink>,
    refill_files: bool,
    /// Parties coordinate on the case: the reporter chooses whether they may be told who
    /// the reporter is. `Some(consents)` then.
    coordination: Option<bool>,
    /// Credits the team offers the reporter in its advisories.
    credits: Vec<CreditView>,
}

/// A credit offered to the reporter: they accept it under a name of their choosing, or
/// decline it, before the advisory is published with it.
struct CreditView {
    advisory_id: i64,
    advisory: String,
    title: String,
    id: u32,
    kind: &'static str,
    /// The name the team suggested, or the one the reporter chose.
    name: String,
    answer: Option<bool>,
}

/// The reporter's current OpenPGP key.
struct KeyView {
    fingerprint: String,
    since: String,
}

/// What the reporter typed into the page's forms.
#[derive(Default)]
struct Typed<'a> {
    body: &'a str,
    public_key: &'a str,
}

struct ClockView {
    label: &'static str,
    due: String,
    met: Option<String>,
    derivation: Vec<String>,
}

struct PendingView {
    label: &'static str,
    starts_when: &'static str,
}

/// One message of the conversation.
struct Entry {
    anchor: String,
    who: &'static str,
    at: String,
    heading: Option<String>,
    body: String,
    /// Sanitised HTML of a message the team wrote in Markdown.
    html: String,
    facts: Vec<Fact>,
    files: Vec<FileLink>,
}

/// A labelled answer of the report; a file answer links to the file.
struct Fact {
    label: String,
    value: String,
    file: Option<FileLink>,
}

struct FileLink {
    name: String,
    size: String,
    href: String,
}

/// What the reporter is told each clock means.
fn clock_label(kind: ClockKind) -> &'static str {
    match kind {
        ClockKind::Acknowledge => "A person on the team answers you",
        ClockKind::Resolve => "A fix is released",
        ClockKind::Disclosure => "Public disclosure",
        ClockKind::DisclosureTarget => {
            "Public disclosure (goal for the whole process, from your report)"
        }
        ClockKind::ReporterDisclosure => "You may publish your findings",
    }
}

fn state_label(state: case::State) -> String {
    let text = state.as_str().replace('-', " ");
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

fn when(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

fn day(date: jiff::civil::Date) -> String {
    date.strftime("%a %Y-%m-%d").to_string()
}

/// Approximate, for people; the exact size is in the log.
fn size(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    for unit in ["KiB", "MiB"] {
        if value < 1024.0 {
            return format!("{value:.1} {unit}");
        }
        value /= 1024.0;
    }
    format!("{value:.1} GiB")
}

/// The conversation the reporter may read, built from an allow-list of events.
fn conversation(policy: &Policy, log: &[Recorded], base: &str) -> Vec<Entry> {
    let file_link = |sha256: &str, name: &str, bytes: u64| FileLink {
        name: name.to_owned(),
        size: size(bytes),
        href: format!("{base}/files/{sha256}"),
    };
    // Files that answer a report field are shown with that field, not again in the list.
    let mut answered: BTreeSet<String> = BTreeSet::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut last_at = None;
    for (seq, r) in (1..).zip(log) {
        let entry = |who, heading, body: &str| Entry {
            anchor: format!("e-{seq}"),
            who,
            at: when(r.at),
            heading,
            body: body.to_owned(),
            html: String::new(),
            facts: Vec::new(),
            files: Vec::new(),
        };
        match &r.event {
            Event::Reported {
                title,
                description,
                reporter_contact,
                fields,
                language,
                ..
            } => {
                let mut e = entry("You", Some(title.clone()), description);
                if let Some(contact) = reporter_contact {
                    e.facts.push(Fact {
                        label: "Your contact".to_owned(),
                        value: contact.trim_start_matches("mailto:").to_owned(),
                        file: None,
                    });
                }
                if let Some(language) = language {
                    e.facts.push(Fact {
                        label: "Language".to_owned(),
                        value: language.clone(),
                        file: None,
                    });
                }
                // In the policy's order, then answers to fields a later policy dropped.
                let defs = &policy.intake.fields;
                let ordered = defs
                    .iter()
                    .filter_map(|f| fields.get_key_value(f.id.as_str()))
                    .chain(
                        fields
                            .iter()
                            .filter(|(id, _)| !defs.iter().any(|f| f.id.as_str() == *id)),
                    );
                for (id, value) in ordered {
                    let def = defs.iter().find(|f| f.id.as_str() == id);
                    let label = def.map_or_else(|| id.clone(), |f| f.label.clone());
                    let file = def
                        .filter(|f| f.kind == FieldKind::Attachment)
                        .and_then(|_| attached(log, value))
                        .map(|(name, bytes)| {
                            answered.insert(value.clone());
                            file_link(value, name, bytes)
                        });
                    e.facts.push(Fact {
                        label,
                        value: value.clone(),
                        file,
                    });
                }
                entries.push(e);
            }
            Event::ReporterReply { body, .. } => entries.push(entry("You", None, body)),
            // 001: the team's request for more detail is written to the reporter.
            Event::InfoRequested { message } => {
                let mut e = entry(
                    "Security team",
                    Some("More information needed".to_owned()),
                    "",
                );
                e.html = markdown::render(message);
                entries.push(e);
            }
            Event::ReporterMessage {
                by_team_member,
                body,
            } => {
                if *by_team_member {
                    let mut e = entry("Security team", None, "");
                    e.html = markdown::render(body);
                    entries.push(e);
                } else {
                    entries.push(entry("Automatic message", None, body));
                }
            }
            Event::AttachmentAdded {
                sha256,
                filename,
                size,
                added_by,
                ..
            } => {
                if answered.contains(sha256) {
                    continue;
                }
                let link = file_link(sha256, filename, *size);
                // Files sent with a message (same write, same time) belong to it.
                match entries.last_mut() {
                    Some(last) if last_at == Some(r.at) => last.files.push(link),
                    _ => {
                        let who = if added_by == "reporter" {
                            "You"
                        } else {
                            "Security team"
                        };
                        let mut e = entry(who, None, "");
                        e.files.push(link);
                        entries.push(e);
                    }
                }
            }
            _ => continue,
        }
        last_at = Some(r.at);
    }
    entries
}

/// Name and size of the file with this hash, from its `attachment_added` event.
fn attached<'a>(log: &'a [Recorded], sha: &str) -> Option<(&'a str, u64)> {
    log.iter().find_map(|r| match &r.event {
        Event::AttachmentAdded {
            sha256,
            filename,
            size,
            ..
        } if sha256 == sha => Some((filename.as_str(), *size)),
        _ => None,
    })
}

/// The reply form's controls, holding `body`.
fn reply_controls(limits: Limits, body: &str) -> Vec<Control> {
    let mut controls = vec![Control::new(BODY_FIELD, "Your reply", Widget::Text).value(body)];
    if limits.files > 0 {
        controls.push(
            Control::new(ATTACHMENTS_FIELD, "Files", Widget::Files).hint(format!(
                "Up to {} files, at most {} each.",
                limits.files,
                human_size(limits.file_bytes)
            )),
        );
    }
    controls
}

/// The latest key the reporter set, from the log.
fn current_key(log: &[Recorded]) -> Option<KeyView> {
    log.iter().rev().find_map(|r| match &r.event {
        Event::ReporterKeySet { fingerprint } => Some(KeyView {
            fingerprint: fingerprint.clone(),
            since: when(r.at),
        }),
        _ => None,
    })
}

/// The page of `case`, its forms holding what was `typed` and showing `problems`.
async fn page(
    state: &AppState,
    case: &CaseRow,
    token: &str,
    typed: Typed<'_>,
    problems: &[ApiError],
    refill_files: bool,
) -> Result<PortalPage, ApiError> {
    let pinned = state.desk.policy(case.policy_version_id).await?;
    let policy = &pinned.policy;
    let log = cases::log(&state.store.events(case.id).await?)?;
    let Some(Event::Reported { product, title, .. }) = log.first().map(|r| &r.event) else {
        return Err(ApiError::Internal(format!(
            "case {} does not start with a reported event",
            case.id
        )));
    };
    let clocks = cases::reporter_clocks_of(policy, &log)?;
    let base = format!("/r/{}/{token}", case.id);
    let mut controls = reply_controls(Limits::of(&policy.intake), typed.body);
    let mut key_controls = vec![
        Control::new(KEY_FIELD, "Your OpenPGP public key", Widget::Text)
            .hint("ASCII-armoured, starting with -----BEGIN PGP PUBLIC KEY BLOCK-----.")
            .value(typed.public_key),
    ];
    // Each form's errors go to its own controls; the summary lists them all.
    let (for_key, for_reply): (Vec<&ApiError>, Vec<&ApiError>) =
        problems.iter().partition(|p| p.field() == Some(KEY_FIELD));
    let mut errors = pages::attach_errors(&mut controls, &for_reply);
    errors.extend(pages::attach_errors(&mut key_controls, &for_key));
    let coordinated = vulndesk_core::coordination::state(&log);
    let credits = state
        .desk
        .credits_for_reporter(case.id)
        .await?
        .into_iter()
        .flat_map(|(view, offered)| {
            offered.into_iter().map(move |c| CreditView {
                advisory_id: view.row.id,
                advisory: view.row.number.clone(),
                title: view.state.fields.title.clone(),
                id: c.id,
                kind: c.kind.as_str(),
                name: c.name,
                answer: c.answer,
            })
        })
        .collect();
    Ok(PortalPage {
        credits,
        coordination: (!coordinated.parties.is_empty()).then_some(coordinated.reporter_consents),
        case_id: case.id,
        title: title.clone(),
        org_name: policy.organisation.name.clone(),
        product: policy
            .product(product)
            .map_or_else(|| product.clone(), |p| p.name.clone()),
        state: state_label(case::state(&log)),
        policy_version: pinned.version,
        clocks: clocks
            .deadlines
            .iter()
            .map(|d| ClockView {
                label: clock_label(d.kind),
                due: day(d.due),
                met: d.met.map(day),
                derivation: d.derivation.clone(),
            })
            .collect(),
        pending: clocks
            .pending
            .iter()
            .map(|p| PendingView {
                label: clock_label(p.kind),
                starts_when: p.starts_when,
            })
            .collect(),
        entries: conversation(policy, &log, &base),
        key: current_key(&log),
        base,
        controls,
        key_controls,
        errors,
        refill_files,
    })
}

fn render(status: StatusCode, page: &PortalPage) -> Result<Response, PageError> {
    Ok(pages::no_store(pages::render(status, page)?))
}

/// `GET /r/{id}/{token}`: the case.
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, token)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let case = caller.case_row(&state).await?;
    let page = page(&state, &case, &token, Typed::default(), &[], false).await?;
    render(StatusCode::OK, &page)
}

/// `POST /r/{id}/{token}/replies` (multipart/form-data): appends the reply and its files,
/// then sends the browser back to the case (POST-redirect-GET), or shows the case again
/// with the reply form's errors (422, or 413 for files over the limits).
pub async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, token)): Path<(String, String)>,
    request: Request,
) -> Result<Response, PageError> {
    let case = caller.case_row(&state).await?;
    let pinned = state.desk.policy(case.policy_version_id).await?;
    let mut form = multipart::read(request, Limits::of(&pinned.policy.intake)).await?;
    let body = form.text(BODY_FIELD).to_owned();
    let mut problems = std::mem::take(&mut form.refused);
    problems.extend(
        vulndesk_desk::followup::reply_problems(&pinned.policy, &body, &form.files)
            .into_iter()
            .map(ApiError::from),
    );
    if !problems.is_empty() {
        let typed = Typed {
            body: &body,
            ..Typed::default()
        };
        let page = page(&state, &case, &token, typed, &problems, form.had_files()).await?;
        return render(pages::status_of(&problems), &page);
    }
    let files = std::mem::take(&mut form.files);
    let written = state
        .desk
        .reply(
            &case,
            caller.reporter_token.clone(),
            body,
            files,
            vulndesk_core::case::Channel::Web,
            Timestamp::now(),
        )
        .await?;
    let anchor = written.first().map_or(0, |e| e.seq);
    Ok(Redirect::to(&format!("/r/{}/{token}#e-{anchor}", case.id)).into_response())
}

/// `POST /r/{id}/{token}/key` (multipart/form-data): sets the OpenPGP public key mail to the
/// reporter is encrypted to, then back to the case; or the case again with the key's
/// problem next to the field (422).
pub async fn set_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, token)): Path<(String, String)>,
    request: Request,
) -> Result<Response, PageError> {
    let case = caller.case_row(&state).await?;
    let no_files = Limits {
        file_bytes: 0,
        files: 0,
    };
    let form = multipart::read(request, no_files).await?;
    let armored = form.text(KEY_FIELD);
    match state
        .desk
        .set_key(
            &case,
            caller.reporter_token.clone(),
            armored,
            KEY_FIELD,
            Timestamp::now(),
        )
        .await
        .map_err(ApiError::from)
    {
        Ok(_) => Ok(Redirect::to(&format!("/r/{}/{token}#key", case.id)).into_response()),
        Err(e) if e.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let typed = Typed {
                public_key: armored,
                ..Typed::default()
            };
            let page = page(&state, &case, &token, typed, &[e], false).await?;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /r/{id}/{token}/token`: a new secret link; the old one stops working. Goes straight
/// to the new link, which the reporter then keeps instead.
pub async fn replace_token(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, PageError> {
    let case = caller.case_row(&state).await?;
    let fresh = state
        .desk
        .replace_token(&case, caller.reporter_token.clone(), Timestamp::now())
        .await?;
    Ok(Redirect::to(&format!("/r/{}/{}#link", case.id, fresh.as_str())).into_response())
}

/// `POST /r/{id}/{token}/consent` (`share=yes|no`): whether the parties coordinating on the
/// case may be told who the reporter is.
pub async fn consent(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, token)): Path<(String, String)>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let case = caller.case_row(&state).await?;
    let share = match fields
        .iter()
        .find(|(k, _)| k == "share")
        .map(|(_, v)| v.as_str())
    {
        Some("yes") => true,
        Some("no") => false,
        _ => {
            return Err(ApiError::InvalidField {
                field: "share".into(),
                message: "share is yes or no".into(),
            }
            .into());
        }
    };
    state
        .desk
        .consent(
            &case,
            caller.reporter_token.clone(),
            share,
            Timestamp::now(),
        )
        .await
        .map_err(ApiError::from)?;
    Ok(Redirect::to(&format!("/r/{}/{token}#coordination", case.id)).into_response())
}

/// `POST /r/{id}/{token}/credits`: the reporter accepts a credit under the name they
/// type, or declines it.
pub async fn credit(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, token)): Path<(String, String)>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let case = caller.case_row(&state).await?;
    let answer: crate::team::advisories::CreditAnswer =
        crate::team::api::form_fields(&fields, crate::team::advisories::CREDIT_ANSWER_FIELDS)?;
    state
        .desk
        .answer_credit(
            case.id,
            answer.advisory,
            answer.credit,
            answer.accepted,
            answer.name,
        )
        .await
        .map_err(ApiError::from)?;
    Ok(Redirect::to(&format!("/r/{}/{token}#credits", case.id)).into_response())
}

/// `GET /r/{id}/{token}/files/{sha256}`: a file of the case, as a download only.
pub async fn file(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, _, sha256)): Path<(String, String, String)>,
) -> Result<Response, PageError> {
    let case = caller.case_row(&state).await?;
    Ok(followup::file(
        &state,
        &case,
        &sha256,
        followup::FileViewer::Circle(vulndesk_core::case::Audience::Reporter),
    )
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ts: &str, event: Event) -> Recorded {
        Recorded {
            at: ts.parse().unwrap(),
            actor: "reporter".into(),
            event,
        }
    }

    fn file(sha: &str, name: &str) -> Event {
        Event::AttachmentAdded {
            sha256: sha.into(),
            filename: name.into(),
            content_type: "text/plain".into(),
            size: 2048,
            added_by: "reporter".into(),
        }
    }

    #[test]
    fn the_conversation_shows_only_what_the_reporter_may_read() {
        let policy = Policy::parse(
            "sangoma.toml",
            include_str!("../../../../policies/sangoma.toml"),
        )
        .unwrap();
        let reported = Event::Reported {
            product: "asterisk".into(),
            title: "t".into(),
            description: "d".into(),
            reporter_contact: Some("mailto:a@example.org".into()),
            channel: vulndesk_core::case::Channel::Web,
            fields: [
                ("steps".to_owned(), "1. 2.".to_owned()),
                ("proof_of_concept".to_owned(), "aa".repeat(32)),
            ]
            .into(),
            language: Some("en".into()),
        };
        let t0 = "2026-04-06T10:00:00Z";
        let log = [
            at(t0, reported),
            at(t0, file(&"aa".repeat(32), "poc.py")),
            at(t0, file(&"bb".repeat(32), "log.txt")),
            at("2026-04-06T10:00:01Z", Event::ReceiptSent),
            at(
                "2026-04-07T09:00:00Z",
                Event::ReporterMessage {
                    by_team_member: true,
                    body: "Thanks".into(),
                },
            ),
            at(
                "2026-04-07T09:00:00Z",
                Event::FixReleased {
                    on: jiff::civil::date(2026, 5, 1),
                },
            ),
            at(
                "2026-04-08T09:00:00Z",
                Event::ReporterReply {
                    body: "More".into(),
                    channel: vulndesk_core::case::Channel::Web,
                },
            ),
            at("2026-04-09T09:00:00Z", file(&"cc".repeat(32), "late.bin")),
        ];
        let entries = conversation(&policy, &log, "/r/1/t");
        let who: Vec<_> = entries.iter().map(|e| e.who).collect();
        assert_eq!(who, ["You", "Security team", "You", "You"]);
        let report = &entries[0];
        let facts: Vec<_> = report.facts.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(
            facts,
            [
                "Your contact",
                "Language",
                "Step-by-step instructions to reproduce",
                "Proof-of-concept or exploit code (if possible)"
            ]
        );
        let poc = report.facts[3].file.as_ref().unwrap();
        assert_eq!(poc.name, "poc.py");
        assert_eq!(poc.href, format!("/r/1/t/files/{}", "aa".repeat(32)));
        let files: Vec<_> = report.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(files, ["log.txt"], "the field's file is not listed twice");
        assert_eq!(report.files[0].size, "2.0 KiB");
        assert_eq!(entries[3].files[0].name, "late.bin");
        assert_eq!(entries[3].anchor, "e-8");
    }
}
