//! The party portal: what one invited party sees of a case and does in it, at
//! `/p/{id}/{token}` by its secret link or at `/party/cases/{id}` signed in with an account
//! linked to the party in the registry. The token in the address (or the account) authorises
//! every route here; a wrong one gets the same 404 page as an address that does not exist.
//!
//! Like the reporter's portal, the page is built from an allow-list: the summary the team
//! wrote for the parties, the embargo, the party's own invitation and statement, and its
//! own thread (with the team's messages to every party). Never the report itself, the
//! reporter, the team's notes, or another party's thread.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use serde::Deserialize;
use vulndesk_core::case::{Event, Recorded};
use vulndesk_core::command::Command;
use vulndesk_core::coordination::{self, Justification};
use vulndesk_store::{CaseRow, ParticipantRow};

use crate::authz::Caller;
use crate::pages::{no_store, render};
use crate::team::api::{form_fields, statement};
use crate::{ApiError, AppState, PageError, markdown};
use vulndesk_desk::cases;

#[derive(Template)]
#[template(path = "party_portal.html")]
struct PartyPage {
    case_id: i64,
    base: String,
    org_name: String,
    party_name: String,
    summary: String,
    /// The embargo's end: UTC (RFC 3339, for the browser to show in its own zone) and as
    /// text in UTC, for a browser without scripts.
    embargo: Option<(String, String, String)>,
    agreed: Option<(String, String)>,
    reply_by: String,
    /// Who reported the case: only while the reporter consents and the officer shares it.
    reporter: Option<String>,
    answer: Option<(bool, String)>,
    statement: Option<StatementView>,
    messages: Vec<Message>,
    unread: usize,
    /// By account: the person's name and the session's CSRF token for the forms. `None`
    /// by the secret link.
    account: Option<(String, String)>,
    error: Option<String>,
    typed: Vec<(String, String)>,
    statuses: Vec<(&'static str, &'static str)>,
    justifications: Vec<(&'static str, &'static str)>,
}

impl PartyPage {
    fn typed(&self, name: &str) -> &str {
        self.typed
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

struct StatementView {
    status: &'static str,
    justification: Option<&'static str>,
    text: String,
    approved: bool,
    at: String,
}

struct Message {
    seq: i64,
    from_party: bool,
    to_all: bool,
    at: String,
    html: String,
    new: bool,
    /// Each file's address (under the portal's own), name and size.
    files: Vec<(String, String, u64)>,
}

fn utc(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

fn slug(participant: &ParticipantRow) -> Result<&str, ApiError> {
    participant
        .party
        .as_ref()
        .map(|(_, slug)| slug.as_str())
        .ok_or(ApiError::NotFound)
}

fn party(caller: &Caller) -> Result<&(ParticipantRow, Vec<u8>), ApiError> {
    caller
        .party
        .as_ref()
        .ok_or_else(|| ApiError::Internal("a party route ran without its party".into()))
}

async fn page(
    state: &AppState,
    caller: &Caller,
    case: &CaseRow,
    participant: &ParticipantRow,
    token_base: String,
    error: Option<String>,
    typed: Vec<(String, String)>,
) -> Result<PartyPage, ApiError> {
    let slug = slug(participant)?;
    let pinned = state.desk.policy(case.policy_version_id).await?;
    let rows = state
        .store
        .events_around_threads(case.id, Some(slug))
        .await?;
    let log: Vec<Recorded> = cases::log(&rows)?;
    let c = coordination::state(&log);
    let me = c.party(slug).ok_or(ApiError::NotFound)?;
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    let messages: Vec<Message> = log
        .iter()
        .zip(&seqs)
        .filter(|(r, _)| {
            matches!(&r.event, Event::PartyMessage { party, .. }
                if party.as_deref().is_none_or(|p| p == slug))
        })
        .filter_map(|(r, seq)| match &r.event {
            Event::PartyMessage {
                party,
                body,
                from_party,
                files,
            } => Some(Message {
                seq: *seq,
                from_party: *from_party,
                to_all: party.is_none(),
                at: utc(r.at),
                html: markdown::render(body),
                new: !from_party && *seq > participant.party_read_seq,
                files: files
                    .iter()
                    .map(|f| {
                        (
                            format!("{token_base}/files/{}", f.sha256),
                            f.filename.clone(),
                            f.size,
                        )
                    })
                    .collect(),
            }),
            _ => None,
        })
        .collect();
    let unread = messages.iter().filter(|m| m.new).count();
    Ok(PartyPage {
        case_id: case.id,
        base: token_base,
        org_name: pinned.policy.organisation.name.clone(),
        party_name: me.invitee.name.clone(),
        summary: c.summary.clone().unwrap_or_default(),
        embargo: c
            .embargo
            .as_ref()
            .map(|e| (e.end.to_string(), utc(e.end), e.terms.clone())),
        agreed: c.agreed.map(|(at, _)| (at.to_string(), utc(at))),
        reply_by: me.reply_by.to_string(),
        reporter: c
            .shows_reporter()
            .then(|| vulndesk_desk::workspace::reporter_address(&log))
            .flatten(),
        answer: me
            .answer
            .as_ref()
            .map(|a| (a.accepted, a.note.clone().unwrap_or_default())),
        statement: me.statement.as_ref().map(|(s, at)| StatementView {
            status: s.status.label(),
            justification: s.justification.map(Justification::label),
            text: s.statement.clone(),
            approved: me.approved,
            at: utc(*at),
        }),
        messages,
        unread,
        account: caller
            .signed_in
            .as_ref()
            .map(|s| (s.user.name.clone(), s.csrf.clone().unwrap_or_default())),
        error,
        typed,
        statuses: crate::team::coordination::status_choices(),
        justifications: crate::team::coordination::justification_choices(),
    })
}

/// `GET /p/{id}/{token}` and `GET /party/cases/{id}`: the portal. Reading it marks the
/// party's thread read.
pub async fn show(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    let case = caller.case_row(&state).await?;
    let (participant, _) = party(&caller)?;
    let base = base_of(&caller, &case)?;
    let page = page(&state, &caller, &case, participant, base, None, Vec::new()).await?;
    if let Some(last) = page.messages.last() {
        state
            .store
            .mark_read(participant.id, true, last.seq)
            .await
            .map_err(ApiError::from)?;
    }
    Ok(no_store(render(StatusCode::OK, &page)?))
}

/// The portal's address, from the request's own path (the token is never stored).
fn base_of(caller: &Caller, case: &CaseRow) -> Result<String, ApiError> {
    caller
        .party_path
        .clone()
        .filter(|p| {
            p.starts_with(&format!("/p/{}/", case.id)) || *p == format!("/party/cases/{}", case.id)
        })
        .ok_or(ApiError::NotFound)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerForm {
    answer: String,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusForm {
    status: String,
    #[serde(default)]
    justification: Option<String>,
    #[serde(default)]
    statement: Option<String>,
}

/// What a form asks, as a command of `slug`.
fn command(what: What, slug: &str, typed: &[(String, String)]) -> Result<Command, ApiError> {
    let party = slug.to_owned();
    Ok(match what {
        What::Answer => {
            let f: AnswerForm = form_fields(typed, "answer, note")?;
            let accepted = match f.answer.as_str() {
                "accept" => true,
                "decline" => false,
                other => {
                    return Err(ApiError::InvalidField {
                        field: "answer".into(),
                        message: format!("answer {other:?} is accept or decline"),
                    });
                }
            };
            Command::AnswerInvitation {
                party,
                accepted,
                note: f.note,
            }
        }
        What::Status => {
            let f: StatusForm = form_fields(typed, "status, justification, statement")?;
            Command::State {
                party,
                statement: statement(
                    &f.status,
                    f.justification.as_deref(),
                    f.statement.as_deref(),
                )?,
            }
        }
    })
}

#[derive(Debug, Clone, Copy)]
enum What {
    Answer,
    Status,
}

async fn submit(
    state: &AppState,
    caller: &Caller,
    what: What,
    fields: Vec<(String, String)>,
) -> Result<Response, PageError> {
    let case = caller.case_row(state).await?;
    let (participant, _) = party(caller)?;
    let written = match command(what, slug(participant)?, &fields) {
        Ok(command) => state
            .desk
            .as_party(&case, participant, command, Timestamp::now())
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    respond(state, caller, &case, written.map(drop), fields).await
}

/// Back to the portal, or the portal again with the refusal and what was typed.
async fn respond(
    state: &AppState,
    caller: &Caller,
    case: &CaseRow,
    written: Result<(), ApiError>,
    fields: Vec<(String, String)>,
) -> Result<Response, PageError> {
    let (participant, _) = party(caller)?;
    let base = base_of(caller, case)?;
    match written {
        Ok(()) => Ok(Redirect::to(&format!("{base}#done")).into_response()),
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
            let status = e.status();
            let page = page(
                state,
                caller,
                case,
                participant,
                base,
                Some(e.to_string()),
                fields,
            )
            .await?;
            Ok(no_store(render(status, &page)?))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /p/{id}/{token}/answer`: accept or decline the invitation.
pub async fn answer(
    State(state): State<AppState>,
    caller: Caller,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    submit(&state, &caller, What::Answer, fields).await
}

/// `POST /p/{id}/{token}/status`: the party's status for the vulnerability.
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    submit(&state, &caller, What::Status, fields).await
}

/// `POST /p/{id}/{token}/messages` (multipart/form-data): a message in the party's
/// thread, with files within the policy's attachment limits.
pub async fn message(
    State(state): State<AppState>,
    caller: Caller,
    request: axum::extract::Request,
) -> Result<Response, PageError> {
    let case = caller.case_row(&state).await?;
    let (participant, _) = party(&caller)?;
    let pinned = state.desk.policy(case.policy_version_id).await?;
    let (written, fields) =
        match crate::multipart::read(request, crate::Limits::of(&pinned.policy.intake)).await {
            Ok(mut form) => {
                let body = form.text("body").to_owned();
                let fields = vec![("body".to_owned(), body.clone())];
                let written = match form.refused.pop() {
                    Some(refused) => Err(refused),
                    None => state
                        .desk
                        .party_write(
                            &case,
                            participant,
                            body,
                            std::mem::take(&mut form.files),
                            Timestamp::now(),
                        )
                        .await
                        .map(drop)
                        .map_err(ApiError::from),
                };
                (written, fields)
            }
            Err(e) => (Err(e), Vec::new()),
        };
    respond(&state, &caller, &case, written, fields).await
}

/// `GET /p/{id}/{token}/files/{sha256}`: a file of the party's thread, as a download only.
pub async fn file(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Path(params): axum::extract::Path<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let case = caller.case_row(&state).await?;
    let (participant, _) = party(&caller)?;
    let sha256 = params
        .iter()
        .find(|(k, _)| k == "sha256")
        .map(|(_, v)| v.as_str())
        .ok_or(ApiError::NotFound)?;
    let viewer = crate::reporter::followup::FileViewer::Party(slug(participant)?);
    Ok(crate::reporter::followup::file(&state, &case, sha256, viewer).await?)
}

/// `POST /p/{id}/{token}/token`: a new secret link; the old one stops working at once.
pub async fn replace_token(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, PageError> {
    let case = caller.case_row(&state).await?;
    let (participant, hash) = party(&caller)?;
    let fresh = state
        .desk
        .replace_party_token(participant, hash)
        .await
        .map_err(ApiError::from)?;
    Ok(Redirect::to(&format!("/p/{}/{}#link", case.id, fresh.as_str())).into_response())
}
