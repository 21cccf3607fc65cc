//! What a reporter does after filing, authorised by their token: reply (with files), set
//! the OpenPGP key mail to them is encrypted to, and fetch the case's files. Shared by the portal pages ([`crate::portal`]) and the JSON API
//! (`POST /api/v1/reports/{id}/replies`, `GET /api/v1/reports/{id}/files/{sha256}`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;
use vulndesk_core::actor::Actor;
use vulndesk_core::case::{Channel, Event};
use vulndesk_core::policy::Policy;
use vulndesk_mail::openpgp::PublicKey;
use vulndesk_store::{CaseRow, Effects, EventRow, NewReporterKey};

use crate::attachments::{self, Upload};
use crate::authz::Caller;
use crate::intake::{self, DESCRIPTION_MAX_BYTES, REPORTER};
use crate::reporter::ReporterToken;
use crate::{ApiError, AppState, json_body};

/// The body of `POST /api/v1/reports/{id}/replies`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyRequest {
    body: String,
}

/// What is wrong with a reply: nothing said and nothing attached, a body over the
/// description's limit, files beyond the policy's limits.
pub(crate) fn reply_problems(policy: &Policy, body: &str, uploads: &[Upload]) -> Vec<ApiError> {
    let mut problems = Vec::new();
    if body.trim().is_empty() && uploads.is_empty() {
        problems.push(ApiError::InvalidField {
            field: "body".to_owned(),
            message: "body must not be empty: write a reply or attach a file".to_owned(),
        });
    }
    if body.len() > DESCRIPTION_MAX_BYTES {
        problems.push(ApiError::InvalidField {
            field: "body".to_owned(),
            message: format!(
                "body is {} bytes long; at most {DESCRIPTION_MAX_BYTES} are allowed",
                body.len()
            ),
        });
    }
    problems.extend(
        intake::file_problems(policy, uploads)
            .into_iter()
            .map(ApiError::from),
    );
    problems
}

/// Appends the reply (`reporter_reply`, unless only files were sent) and one
/// `attachment_added` per file to the case, with the files, in one transaction. Returns the
/// events written.
pub(crate) async fn reply(
    state: &AppState,
    case: &CaseRow,
    presented: Option<Vec<u8>>,
    body: String,
    uploads: Vec<Upload>,
    channel: Channel,
    at: Timestamp,
) -> Result<Vec<EventRow>, ApiError> {
    let (files_added, files) = attachments::record(uploads, REPORTER);
    let mut events = Vec::new();
    if !body.trim().is_empty() {
        events.push(Event::ReporterReply { body, channel });
    }
    events.extend(files_added);
    let effects = Effects {
        attachments: files,
        reporter_token: presented,
        ..Effects::default()
    };
    Ok(state
        .desk
        .record(case, &Actor::Reporter, at, events, effects)
        .await?
        .rows)
}

/// Longest armoured public key accepted, in bytes: a key with many certifications is a few
/// dozen KiB; anything larger is not worth parsing.
pub(crate) const KEY_MAX_BYTES: usize = 64 * 1024;

/// Checks an armoured public key (valid self-signatures, not revoked, not expired at `at`,
/// able to encrypt) and records it: a `reporter_key_set` event naming its fingerprint, with
/// the key stored in the same transaction. `field` names the input for errors.
pub(crate) async fn set_key(
    state: &AppState,
    case: &CaseRow,
    presented: Option<Vec<u8>>,
    armored: &str,
    field: &str,
    at: Timestamp,
) -> Result<String, ApiError> {
    let invalid = |message: String| ApiError::InvalidField {
        field: field.to_owned(),
        message,
    };
    if armored.trim().is_empty() {
        return Err(invalid(format!(
            "{field} must not be empty: paste your ASCII-armoured OpenPGP public key"
        )));
    }
    if armored.len() > KEY_MAX_BYTES {
        return Err(invalid(format!(
            "{field} is {} bytes long; at most {KEY_MAX_BYTES} are allowed",
            armored.len()
        )));
    }
    let key = PublicKey::parse(armored.trim(), at).map_err(|e| invalid(e.to_string()))?;
    let fingerprint = key.fingerprint();
    let effects = Effects {
        reporter_key: Some(NewReporterKey {
            fingerprint: fingerprint.clone(),
            armored: key.armored(),
        }),
        reporter_token: presented,
        ..Effects::default()
    };
    let event = Event::ReporterKeySet {
        fingerprint: fingerprint.clone(),
    };
    state
        .desk
        .record(case, &Actor::Reporter, at, vec![event], effects)
        .await?;
    Ok(fingerprint)
}

/// Replaces the reporter's token: a `reporter_token_replaced` event and the new token's hash
/// in one transaction, so the old token stops working with the commit. For a reporter who
/// thinks their link leaked (forwarded mail, a shared screen, browser history).
pub(crate) async fn replace_token(
    state: &AppState,
    case: &CaseRow,
    presented: Option<Vec<u8>>,
    at: Timestamp,
) -> Result<ReporterToken, ApiError> {
    let token = ReporterToken::generate()?;
    let effects = Effects {
        reporter_token_hash: Some(token.hash()),
        reporter_token: presented,
        ..Effects::default()
    };
    state
        .desk
        .record(
            case,
            &Actor::Reporter,
            at,
            vec![Event::ReporterTokenReplaced],
            effects,
        )
        .await?;
    Ok(token)
}

/// `POST /api/v1/reports/{id}/token` with `Authorization: Bearer <token>`: 201 with a new
/// token; the presented one no longer works.
pub async fn api_replace_token(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let case = caller.case_row(&state).await?;
    let token = replace_token(
        &state,
        &case,
        caller.reporter_token.clone(),
        Timestamp::now(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "id": case.id, "token": token.as_str() })),
    )
        .into_response())
}

/// A file of the case as a download; anything but a stored file's SHA-256 is a 404.
pub(crate) async fn file(
    state: &AppState,
    case: &CaseRow,
    sha256: &str,
) -> Result<Response, ApiError> {
    let is_hash = sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !is_hash {
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
    let pinned = state.desk.policy(case.policy_version_id).await?;
    if let Some(problem) = reply_problems(&pinned.policy, &request.body, &[])
        .into_iter()
        .next()
    {
        return Err(problem);
    }
    let written = reply(
        &state,
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
    file(&state, &case, &sha256).await
}
