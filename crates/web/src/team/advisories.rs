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
use vulndesk_core::advisory::lifecycle::{Fields, Part, Private};
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
    /// The next free ID of the organisation's pool (a CNA's).
    #[serde(default)]
    from_pool: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReserveRequest {
    amount: u32,
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
pub(crate) fn advisory_json(
    state: &AppState,
    view: &AdvisoryView,
    formats: &[Format],
    works: bool,
) -> Value {
    let s = &view.state;
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
    let revisions: Vec<Value> = s
        .revision_changes()
        .into_iter()
        .map(|(r, changes)| {
            json!({
                "number": r.number,
                "at": r.at.to_string(),
                "note": r.note,
                "changes": changes,
            })
        })
        .collect();
    let public = state.link(&view.public_path());
    // The documents it has, at its public address; `null` for a draft.
    let exports: Value = if s.is_published() {
        formats
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
        "status": s.status(),
        "version": s.version,
        "fields": s.fields,
        "unpublished_changes": s.unpublished_changes(),
        "cve": s.cve,
        "cve_requested_at": s.requested_at,
        "cve_record": {
            "state": s.cve_record.as_ref().map(|(state, _)| state),
            "behind": s.cve_record_behind(),
        },
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

/// Whether the caller works the advisory (sees its private fields).
fn works(caller: &Caller, view: &AdvisoryView) -> bool {
    caller.signed_in.as_ref().is_some_and(|s| {
        access::advisory_standing(&s.person, &view.access()) >= Some(Standing::Worker)
    })
}

async fn answer(
    state: &AppState,
    caller: &Caller,
    view: &AdvisoryView,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let works = works(caller, view);
    let formats = state.desk.formats(view).await?;
    Ok((status, Json(advisory_json(state, view, &formats, works))).into_response())
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
        let Some(standing) = access::advisory_standing(person, &view.access()) else {
            continue;
        };
        let formats = state.desk.formats(&view).await?;
        listed.push(advisory_json(
            &state,
            &view,
            &formats,
            standing >= Standing::Worker,
        ));
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
    let view = state.desk.advisory(caller.advisory()?).await?;
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
        .act_on_advisory(caller.advisory()?, writer, action)
        .await?;
    answer(state, caller, &view, status).await
}

/// Reads a body of `T` (whose fields `fields` lists), makes it an action and records it;
/// answers `status` with the advisory.
async fn act_on<T: serde::de::DeserializeOwned>(
    state: AppState,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    (fields, status): (&str, StatusCode),
    action: impl FnOnce(T) -> Result<AdvisoryAction, ApiError>,
) -> Result<Response, ApiError> {
    let request: T = read(&headers, body, fields)?;
    act(&state, &caller, action(request)?, status).await
}

/// Declares `POST`/`PUT` handlers that read a body of the given type, with its fields
/// named for error messages, and record the action it makes.
macro_rules! advisory_handlers {
    ($($(#[$doc:meta])* $name:ident: $body:ty, $fields:expr, $status:expr, $action:expr;)*) => {$(
        $(#[$doc])*
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            headers: HeaderMap,
            body: Result<Bytes, BytesRejection>,
        ) -> Result<Response, ApiError> {
            act_on::<$body>(state, caller, headers, body, ($fields, $status), $action).await
        }
    )*};
}

advisory_handlers! {
    /// `PUT /api/v1/advisories/{advisory}`: replaces the public fields.
    edit: Fields, FIELDS_FIELDS, StatusCode::OK, |f| Ok(AdvisoryAction::Edit(f));
    /// `PUT /api/v1/advisories/{advisory}/private`: replaces the private fields.
    private: Private, "proof_of_concept, exploit_details", StatusCode::OK,
        |p| Ok(AdvisoryAction::SetPrivate(p));
    /// `POST /api/v1/advisories/{advisory}/comments`.
    comment: CommentRequest, "part, line, body", StatusCode::CREATED,
        |c| Ok(AdvisoryAction::Comment { part: c.part, line: c.line, body: c.body });
    /// `POST /api/v1/advisories/{advisory}/approvals`: approves the draft as it is.
    approve: Empty, "no fields", StatusCode::CREATED, |_| Ok(AdvisoryAction::Approve);
    /// `POST /api/v1/advisories/{advisory}/credits`: offers a credit.
    credit: CreditRequest, "kind, name, reporter_of", StatusCode::CREATED, |c| {
        Ok(AdvisoryAction::OfferCredit {
            name: c.name,
            kind: credit_kind(&c.kind)?,
            reporter_of: c.reporter_of,
        })
    };
    /// `POST /api/v1/advisories/{advisory}/cve`: records the CVE ID, where it was
    /// requested, or takes the next of the pool.
    cve: CveRequest, "cve, requested_at, from_pool", StatusCode::CREATED, cve_action;
    /// `POST /api/v1/advisories/{advisory}/publish`.
    publish: Empty, "no fields", StatusCode::CREATED, |_| Ok(AdvisoryAction::Publish);
    /// `POST /api/v1/advisories/{advisory}/revisions`: publishes the changes since the
    /// last revision, with a note.
    revise: NoteRequest, "note", StatusCode::CREATED,
        |n| Ok(AdvisoryAction::Revise { note: n.note });
    /// `POST /api/v1/advisories/{advisory}/withdrawal`.
    withdraw: ReasonRequest, "reason", StatusCode::CREATED,
        |r| Ok(AdvisoryAction::Withdraw { reason: r.reason });
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

fn cve_action(c: CveRequest) -> Result<AdvisoryAction, ApiError> {
    match (c.cve, c.requested_at, c.from_pool) {
        (None, None, true) => Ok(AdvisoryAction::AssignFromPool),
        (Some(cve), None, false) => Ok(AdvisoryAction::AssignCve { cve }),
        (None, at, false) => Ok(AdvisoryAction::RequestCve { at }),
        _ => Err(vulndesk_desk::DeskError::invalid(
            "cve",
            "give one of: the CVE ID, where it was requested, or from_pool",
        )
        .into()),
    }
}

/// `GET /api/v1/advisories/{advisory}/export/{format}`: the published advisory in
/// `format` (cve, csaf, csaf-vex, osv).
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, format)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let format = Format::parse(&format)?;
    let view = state.desk.advisory(caller.advisory()?).await?;
    let document = state.desk.export(&view, format).await?;
    Ok(Json(document).into_response())
}

/// `POST /api/v1/advisories/{advisory}/cve-record`: sends the CVE record to the CVE
/// Program (the organisation is the CNA of its ID).
pub async fn send_record(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Empty {} = read(&headers, body, "no fields")?;
    let writer = Writer {
        user_id: caller.person()?.user.id,
    };
    let (view, _) = state
        .desk
        .send_cve_record(caller.advisory()?, writer)
        .await?;
    answer(&state, &caller, &view, StatusCode::CREATED).await
}

/// `GET /api/v1/orgs/{org}/cve-ids`: the organisation's pool of reserved CVE IDs.
pub async fn pool(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let ids: Vec<Value> = state
        .desk
        .cve_pool(caller.org()?.id)
        .await?
        .into_iter()
        .map(|p| {
            json!({
                "cve": p.cve,
                "reserved_at": p.reserved_at.to_string(),
                "advisory": p.advisory_id,
            })
        })
        .collect();
    Ok(Json(json!({ "cve_ids": ids })).into_response())
}

/// `POST /api/v1/orgs/{org}/cve-ids`: reserves CVE IDs at the CVE Program into the pool.
pub async fn reserve(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let r: ReserveRequest = read(&headers, body, "amount")?;
    let reserved = state.desk.reserve_cves(caller.org()?.id, r.amount).await?;
    Ok((StatusCode::CREATED, Json(json!({ "reserved": reserved }))).into_response())
}
