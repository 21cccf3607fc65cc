//! The reporter API's follow-ups (`POST /api/v1/reports/{id}/replies`, `.../token`, `GET
//! .../files/{sha256}`), over the desk's (`vulndesk_desk::followup`), which the portal's
//! pages call too; and a case's files as downloads, for the portal and the team's pages.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;
use vulndesk_core::case::{Audience, Channel, Event, Recorded};
use vulndesk_store::CaseRow;

use crate::attachments;
use crate::authz::Caller;
use crate::{ApiError, AppState, json_body};

/// The body of `POST /api/v1/reports/{id}/replies`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyRequest {
    body: String,
}

/// `POST /api/v1/reports/{id}/token` with `Authorization: Bearer <token>`: 201 with a new
/// token; the presented one no longer works.
pub async fn api_replace_token(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let case = caller.case_row(&state).await?;
    let token = state
        .desk
        .replace_token(&case, caller.reporter_token.clone(), Timestamp::now())
        .await?;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "id": case.id, "token": token.as_str() })),
    )
        .into_response())
}

/// `POST /api/v1/reports/{id}/credits`: the reporter accepts (under `name`) or declines
/// a credit offered to them; 201 with their credits as they now stand.
pub async fn api_credit(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let answer: crate::team::advisories::CreditAnswer = crate::json_body::read(
        &headers,
        body,
        crate::team::advisories::CREDIT_ANSWER_FIELDS,
    )?;
    let case = caller.case_row(&state).await?;
    state
        .desk
        .answer_credit(
            case.id,
            answer.advisory,
            answer.credit,
            answer.accepted,
            answer.name,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "credits": reporter_credits(&state, case.id).await? })),
    )
        .into_response())
}

/// The credits offered to the reporter of `case_id`, as the reporter's API shows them.
pub(crate) async fn reporter_credits(
    state: &AppState,
    case_id: i64,
) -> Result<Vec<serde_json::Value>, ApiError> {
    Ok(state
        .desk
        .credits_for_reporter(case_id)
        .await?
        .into_iter()
        .flat_map(|(view, offered)| {
            offered.into_iter().map(move |c| {
                json!({
                    "advisory": view.row.id,
                    "number": view.row.number,
                    "title": view.state.fields.title,
                    "credit": c.id,
                    "kind": c.kind.as_str(),
                    "name": c.name,
                    "answer": match c.answer {
                        Some(true) => "accepted",
                        Some(false) => "declined",
                        None => "awaited",
                    },
                })
            })
        })
        .collect())
}

/// Who asks for a file of a case.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FileViewer<'a> {
    /// Someone who reads this circle of the case (the reporter, a reviewer, the team).
    Circle(Audience),
    /// An invited party, by slug: the files of its own thread.
    Party(&'a str),
}

/// A file of the case as a download, for `viewer`: a file that joined the case only for a
/// narrower circle (the team's, another party's thread) is a 404, as is anything but a
/// stored file's SHA-256.
pub(crate) async fn file(
    state: &AppState,
    case: &CaseRow,
    sha256: &str,
    viewer: FileViewer<'_>,
) -> Result<Response, ApiError> {
    let is_hash = sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !is_hash {
        return Err(ApiError::NotFound);
    }
    // The event that brought the file decides: its own `attachment_added`, or the party
    // message it came with.
    let rows = match viewer {
        // Workers read every party's thread.
        FileViewer::Circle(Audience::Workers) => state.store.events(case.id).await?,
        FileViewer::Circle(_) => state.store.events_around_threads(case.id, None).await?,
        FileViewer::Party(slug) => {
            state
                .store
                .events_around_threads(case.id, Some(slug))
                .await?
        }
    };
    let log = vulndesk_desk::cases::log(&rows)?;
    let brought = |r: &&Recorded| match &r.event {
        Event::AttachmentAdded { sha256: s, .. } => s == sha256,
        Event::PartyMessage { files, .. } => files.iter().any(|f| f.sha256 == sha256),
        _ => false,
    };
    let visible = match viewer {
        FileViewer::Circle(reads) => log
            .iter()
            .filter(brought)
            .any(|r| reads.reads(r.event.audience())),
        FileViewer::Party(slug) => vulndesk_core::coordination::thread(&log, slug)
            .filter(|r| matches!(r.event, Event::PartyMessage { .. }))
            .any(|r| brought(&r)),
    };
    if !visible {
        return Err(ApiError::NotFound);
    }
    let (row, data) = state
        .store
        .attachment(case.id, sha256)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(attachments::download(&row, data))
}

/// `POST /api/v1/reports/{id}/replies` with `Authorization: Bearer <token>` and
/// `{"body": "..."}`: 201 with the case id and the reply's position in the log.
pub async fn api_reply(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let case = caller.case_row(&state).await?;
    let request: ReplyRequest = json_body::read(&headers, body, "body")?;
    let written = state
        .desk
        .reply(
            &case,
            caller.reporter_token.clone(),
            request.body,
            Vec::new(),
            Channel::Api,
            Timestamp::now(),
        )
        .await?;
    let first = written
        .first()
        .ok_or_else(|| ApiError::Internal("a reply wrote no event".to_owned()))?;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "id": case.id, "seq": first.seq, "at": first.at })),
    )
        .into_response())
}

/// `GET /api/v1/reports/{id}/files/{sha256}` with `Authorization: Bearer <token>`.
pub async fn api_file(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, sha256)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let case = caller.case_row(&state).await?;
    file(
        &state,
        &case,
        &sha256,
        FileViewer::Circle(Audience::Reporter),
    )
    .await
}
