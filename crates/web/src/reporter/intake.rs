//! Intake: a reporter files a report (`POST /api/v1/reports`, or the form at
//! `/o/{org}/report`) and follows it with the token they got back
//! (`GET /api/v1/reports/{id}`).
//!
//! The use case itself is the desk's ([`vulndesk_desk::Desk::submit`]); this module reads
//! the request and writes the answer.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;
use vulndesk_core::case::{self, Event};
use vulndesk_core::clocks::Clocks;

pub use crate::json_body::BODY_LIMIT_BYTES;

use crate::{ApiError, AppState, json_body};
use vulndesk_desk::cases;

pub use vulndesk_desk::intake::{
    ATTACHMENTS_FIELD, Answers, CONTACT_MAX_CHARS, Channel, DESCRIPTION_MAX_BYTES, Draft, REPORTER,
    Report, ReportRequest, Submitted, TITLE_MAX_CHARS, field_name, file_problems, policy_problems,
};

/// The fields of [`ReportRequest`], for messages.
const REPORT_FIELDS: &str =
    "organisation, product, title, description, reporter_contact, openpgp_key, fields, language";

/// Parses and checks a JSON body; every error names the field to blame.
pub fn report_from_json(body: &[u8]) -> Result<Report, ApiError> {
    Ok(Report::parse(json_body::parse(body, REPORT_FIELDS)?)?)
}

/// `POST /api/v1/reports`: 201 with the case id and the reporter's token.
pub async fn submit_report(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: ReportRequest = json_body::read(&headers, body, REPORT_FIELDS)?;
    let report = Report::parse(request)?;
    let submitted = state.desk.submit(report, Timestamp::now()).await?;
    let url = format!("/api/v1/reports/{}", submitted.case_id);
    let body = json!({
        "id": submitted.case_id,
        "token": submitted.token.as_str(),
        "reporter_url": url,
    });
    Ok((
        StatusCode::CREATED,
        [
            (header::LOCATION, url),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Json(body),
    )
        .into_response())
}

/// What a reporter sees of their case.
#[derive(Debug, Serialize)]
struct ReporterView<'a> {
    id: i64,
    organisation: &'a str,
    product: &'a str,
    title: &'a str,
    state: &'static str,
    reported_at: Timestamp,
    policy_version: i64,
    #[serde(flatten)]
    clocks: Clocks,
    events: Vec<EventSummary>,
    /// Credits offered to the reporter in advisories, each to accept or decline.
    credits: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize)]
struct EventSummary {
    seq: i64,
    kind: String,
    at: Timestamp,
}

/// `GET /api/v1/reports/{id}` with `Authorization: Bearer <token>`. Any mismatch is the same
/// 404, so the answer does not tell whether a case with that id exists.
pub async fn reporter_view(
    State(state): State<AppState>,
    caller: crate::authz::Caller,
) -> Result<Response, ApiError> {
    let case = caller.case_row(&state).await?;
    let pinned = state.desk.policy(case.policy_version_id).await?;
    let rows = state.store.events(case.id).await?;
    let log = cases::log(&rows)?;
    let Some(Event::Reported { product, title, .. }) = log.first().map(|r| &r.event) else {
        return Err(ApiError::Internal(format!(
            "case {} does not start with a reported event",
            case.id
        )));
    };
    let view = ReporterView {
        id: case.id,
        organisation: pinned.policy.organisation.slug.as_str(),
        product,
        title,
        state: case::state(&log).as_str(),
        reported_at: case.opened_at,
        policy_version: pinned.version,
        clocks: cases::reporter_clocks_of(&pinned.policy, &log)?,
        events: rows
            .iter()
            .zip(&log)
            .filter(|(_, r)| r.event.reporter_visible())
            .map(|(r, _)| EventSummary {
                seq: r.seq,
                kind: r.kind.clone(),
                at: r.at,
            })
            .collect(),
        credits: crate::followup::reporter_credits(&state, case.id).await?,
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(view)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: &ApiError) -> (&'static str, String) {
        match e {
            ApiError::MissingField(f) => ("missing", f.clone()),
            ApiError::UnknownField { field, .. } => ("unknown", field.clone()),
            ApiError::InvalidField { field, .. } => ("invalid", field.clone()),
            ApiError::MalformedJson { line, column, .. } => {
                ("malformed", format!("{line}:{column}"))
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field_or_the_position() {
        let cases: [(&str, (&str, &str)); 9] = [
            (r#"{"product":"p","title":"t"}"#, ("missing", "description")),
            (
                r#"{"product":"p","title":"t","description":"d","severity":9}"#,
                ("unknown", "severity"),
            ),
            (
                r#"{"product":"p","title":5,"description":"d"}"#,
                ("invalid", "title"),
            ),
            (
                r#"{"product":"p","title":"t","description":"d","fields":{"steps":1}}"#,
                ("invalid", "fields.steps"),
            ),
            ("{\n  \"product\": \"p\",\n  oops\n}", ("malformed", "3:3")),
            (
                r#"{"product":"p","title":"t","description":"d"} x"#,
                ("malformed", "1:47"),
            ),
            ("[1]", ("invalid", "body")),
            (r#"[null, "p", "t", "d", null]"#, ("invalid", "body")),
            ("[1", ("malformed", "1:2")),
        ];
        for (body, (kind, field)) in cases {
            let e = report_from_json(body.as_bytes()).unwrap_err();
            assert_eq!(field_of(&e), (kind, field.to_owned()), "body {body}");
        }
    }
}
