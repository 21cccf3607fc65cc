//! Advisories through the API: drafted from a case (`/api/v1/cases/{id}/advisories`), then
//! read, edited, reviewed, credited, given a CVE ID, published, revised, withdrawn and
//! exported at `/api/v1/advisories/{advisory}`, over the desk's
//! [`vulndesk_desk::advisories`]. Who may do which is the route's [`Need`] (read, review,
//! work, manage), decided before a handler runs; the private fields are shown only to
//! those who work the advisory.
//!
//! [`Need`]: vulndesk_core::access::Need

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use vulndesk_core::access::{self, Standing};
use vulndesk_core::advisory::CreditKind;
use vulndesk_core::advisory::lifecycle::{self, Fields, Part, Private};
use vulndesk_desk::advisories::{AdvisoryAction, AdvisoryView, Format, Writer};

use crate::authz::Caller;
use crate::{ApiError, AppState, json_body};

/// The body of `POST /api/v1/cases/{id}/advisories`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DraftRequest {
    /// Further cases of the organisation the advisory covers.
    #[serde(default)]
    cases: Vec<i64>,
    /// The draft's fields; taken from the cases when left out.
    #[serde(default)]
    fields: Option<Fields>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentRequest {
    part: Part,
    line: u32,
    body: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditRequest {
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    reporter_of: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CveRequest {
    #[serde(default)]
    cve: Option<String>,
    #[serde(default)]
    requested_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteRequest {
    note: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonRequest {
    reason: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// The body of `POST /api/v1/reports/{id}/credits`: the reporter's answer to a credit.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreditAnswer {
    pub advisory: i64,
    pub credit: u32,
    pub accepted: bool,
    #[serde(default)]
    pub name: Option<String>,
}

pub(crate) const CREDIT_ANSWER_FIELDS: &str = "advisory, credit, accepted, name";

const FIELDS_FIELDS: &str =
    "title, summary, description, component, products, cvss, cwes, references, workarounds";

/// The advisory as the team reads it; its private fields only for who works it.
pub(crate) fn advisory_json(state: &AppState, view: &AdvisoryView, works: bool) -> Value {
    let s = &view.state;
    let status = if s.withdrawn.is_some() {
        "withdrawn"
    } else if s.is_published() {
        "published"
    } else {
        "draft"
    };
    let comments: Vec<Value> = s
        .comments
        .iter()
        .map(|c| {
            json!({
                "at": c.at.to_string(),
                "by": c.actor,
                "part": c.part,
                "line": c.line,
                "body": c.body,
                "version": c.version,
                "outdated": c.version != s.version,
            })
        })
        .collect();
    let approvals: Vec<Value> = s
        .approvals
        .iter()
        .map(|a| {
            json!({
                "by": a.actor,
                "groups": a.groups,
                "version": a.version,
                "current": a.version == s.version,
            })
        })
        .collect();
    let credits: Vec<Value> = s
        .credits
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.name,
                "kind": c.kind.as_str(),
                "reporter_of": c.reporter_of,
                "answer": match c.answer {
                    Some(true) => "accepted",
                    Some(false) => "declined",
                    None => "awaited",
                },
            })
        })
        .collect();
    let mut before = Fields::default();
    let revisions: Vec<Value> = s
        .revisions
        .iter()
        .map(|r| {
            let changes = lifecycle::changes(&before, &r.fields);
            before = r.fields.clone();
            json!({
                "number": r.number,
                "at": r.at.to_string(),
                "note": r.note,
                "changes": changes,
            })
        })
        .collect();
    let public = state.link(&view.public_path());
    let exports: Value = if s.is_published() {
        Format::ALL
            .iter()
            .map(|f| {
                (
                    f.as_str().to_owned(),
                    Value::String(format!("{public}/{}.json", f.as_str())),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    } else {
        Value::Null
    };
    let mut body = json!({
        "id": view.row.id,
        "number": view.row.number,
        "organisation": view.org_slug(),
        "cases": view.row.cases,
        "status": status,
        "version": s.version,
        "fields": s.fields,
        "unpublished_changes": s.unpublished_changes(),
        "cve": s.cve,
        "cve_requested_at": s.requested_at,
        "comments": comments,
        "approvals": approvals,
        "credits": credits,
        "revisions": revisions,
        "withdrawn": s.withdrawn.as_ref().map(|(at, reason)| json!({"at": at.to_string(), "reason": reason})),
        "public_url": s.is_published().then_some(public),
        "exports": exports,
    });
    if works {
        body["private"] = json!(s.private);
    }
    body
}

fn read<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    fields: &str,
) -> Result<T, ApiError> {
    json_body::read(headers, body, fields)
}

fn advisory_id(caller: &Caller) -> Result<i64, ApiError> {
    caller
        .advisory
        .ok_or_else(|| ApiError::Internal("an advisory route ran without its advisory".into()))
}

/// Whether the caller works the advisory (sees its private fields).
async fn works(state: &AppState, caller: &Caller, id: i64) -> Result<bool, ApiError> {
    let Some(signed_in) = &caller.signed_in else {
        return Ok(false);
    };
    let Some(target) = state.desk.advisory_ref(id).await? else {
        return Ok(false);
    };
    Ok(access::advisory_standing(&signed_in.person, &target) >= Some(Standing::Worker))
}

async fn answer(
    state: &AppState,
    caller: &Caller,
    view: &AdvisoryView,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let works = works(state, caller, view.row.id).await?;
    Ok((status, Json(advisory_json(state, view, works))).into_response())
}

/// `GET /api/v1/cases/{id}/advisories`: the advisories covering the case that the caller
/// may read (a draft the policy keeps from them is left out).
pub async fn list_of_case(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let person = &caller.person()?.person;
    let mut listed = Vec::new();
    for view in state.desk.advisories_of_case(caller.case()?.id).await? {
        let Some(target) = state.desk.advisory_ref(view.row.id).await? else {
            continue;
        };
        let Some(standing) = access::advisory_standing(person, &target) else {
            continue;
        };
        listed.push(advisory_json(&state, &view, standing >= Standing::Worker));
    }
    Ok(Json(json!({ "advisories": listed })).into_response())
}

/// `POST /api/v1/cases/{id}/advisories`: drafts an advisory for the case (and further
/// cases); 201 with it.
pub async fn draft(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: DraftRequest = read(&headers, body, "cases, fields")?;
    let case = caller.case()?;
    let row = caller.case_row(&state).await?;
    let view = state
        .desk
        .draft_advisory(
            &row,
            case.org_id,
            &caller.person()?.person,
            &request.cases,
            request.fields,
        )
        .await?;
    answer(&state, &caller, &view, StatusCode::CREATED).await
}

/// `GET /api/v1/advisories/{advisory}`.
pub async fn show(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let view = state.desk.advisory(advisory_id(&caller)?).await?;
    answer(&state, &caller, &view, StatusCode::OK).await
}

async fn act(
    state: &AppState,
    caller: &Caller,
    action: AdvisoryAction,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let writer = Writer {
        user_id: caller.person()?.user.id,
    };
    let view = state
        .desk
        .act_on_advisory(advisory_id(caller)?, writer, action)
        .await?;
    answer(state, caller, &view, status).await
}

/// `PUT /api/v1/advisories/{advisory}`: replaces the public fields.
pub async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let fields: Fields = read(&headers, body, FIELDS_FIELDS)?;
    act(
        &state,
        &caller,
        AdvisoryAction::Edit(fields),
        StatusCode::OK,
    )
    .await
}

/// `PUT /api/v1/advisories/{advisory}/private`: replaces the private fields.
pub async fn private(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let private: Private = read(&headers, body, "proof_of_concept, exploit_details")?;
    act(
        &state,
        &caller,
        AdvisoryAction::SetPrivate(private),
        StatusCode::OK,
    )
    .await
}

/// `POST /api/v1/advisories/{advisory}/comments`.
pub async fn comment(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let c: CommentRequest = read(&headers, body, "part, line, body")?;
    act(
        &state,
        &caller,
        AdvisoryAction::Comment {
            part: c.part,
            line: c.line,
            body: c.body,
        },
        StatusCode::CREATED,
    )
    .await
}

/// `POST /api/v1/advisories/{advisory}/approvals`: approves the draft as it is.
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Empty {} = read(&headers, body, "no fields")?;
    act(
        &state,
        &caller,
        AdvisoryAction::Approve,
        StatusCode::CREATED,
    )
    .await
}

/// `POST /api/v1/advisories/{advisory}/credits`: offers a credit.
pub async fn credit(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let c: CreditRequest = read(&headers, body, "kind, name, reporter_of")?;
    let kind = credit_kind(&c.kind)?;
    act(
        &state,
        &caller,
        AdvisoryAction::OfferCredit {
            name: c.name,
            kind,
            reporter_of: c.reporter_of,
        },
        StatusCode::CREATED,
    )
    .await
}

pub(crate) fn credit_kind(text: &str) -> Result<CreditKind, ApiError> {
    CreditKind::parse(text).ok_or_else(|| {
        ApiError::from(vulndesk_desk::DeskError::invalid(
            "kind",
            format!(
                "{:?} is not a kind of credit; kinds are {}",
                text.trim(),
                CreditKind::ALL.map(CreditKind::as_str).join(", ")
            ),
        ))
    })
}

/// `POST /api/v1/advisories/{advisory}/cve`: records the CVE ID, or where it was requested.
pub async fn cve(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let c: CveRequest = read(&headers, body, "cve, requested_at")?;
    let action = match (c.cve, c.requested_at) {
        (Some(cve), None) => AdvisoryAction::AssignCve { cve },
        (None, at) => AdvisoryAction::RequestCve { at },
        (Some(_), Some(_)) => {
            return Err(vulndesk_desk::DeskError::invalid(
                "cve",
                "give the CVE ID or where it was requested, not both",
            )
            .into());
        }
    };
    act(&state, &caller, action, StatusCode::CREATED).await
}

/// `POST /api/v1/advisories/{advisory}/publish`.
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Empty {} = read(&headers, body, "no fields")?;
    act(
        &state,
        &caller,
        AdvisoryAction::Publish,
        StatusCode::CREATED,
    )
    .await
}

/// `POST /api/v1/advisories/{advisory}/revisions`: publishes the changes since the last
/// revision, with a note.
pub async fn revise(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let n: NoteRequest = read(&headers, body, "note")?;
    act(
        &state,
        &caller,
        AdvisoryAction::Revise { note: n.note },
        StatusCode::CREATED,
    )
    .await
}

/// `POST /api/v1/advisories/{advisory}/withdrawal`.
pub async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let r: ReasonRequest = read(&headers, body, "reason")?;
    act(
        &state,
        &caller,
        AdvisoryAction::Withdraw { reason: r.reason },
        StatusCode::CREATED,
    )
    .await
}

/// `GET /api/v1/advisories/{advisory}/export/{format}`: the published advisory in
/// `format` (cve, csaf, csaf-vex, osv).
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, format)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let format = Format::parse(&format)?;
    let view = state.desk.advisory(advisory_id(&caller)?).await?;
    let document = state.desk.export(&view, format).await?;
    Ok(Json(document).into_response())
}
