//! Intake: a reporter files a report (`POST /api/v1/reports`) and follows it with the token
//! they got back (`GET /api/v1/reports/{id}`).
//!
//! A case is opened in one store transaction together with its first event and its
//! projection, so a crash leaves either the whole case or nothing, and the 201 is only sent
//! after the commit.

use std::fmt;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use rand::TryRng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use vulndesk_core::case::{self, Event, Recorded};
use vulndesk_core::clocks::Clocks;
use vulndesk_store::{NewCase, NewEvent, ProductRow, Store};

use crate::{ApiError, AppState, cases};

/// Largest request body accepted, in bytes.
pub const BODY_LIMIT_BYTES: usize = 256 * 1024;
/// Longest title, in characters.
pub const TITLE_MAX_CHARS: usize = 300;
/// Longest description, in bytes of UTF-8.
pub const DESCRIPTION_MAX_BYTES: usize = 64 * 1024;
/// Longest reporter contact, in characters (the longest e-mail address RFC 5321 allows is
/// shorter than this).
pub const CONTACT_MAX_CHARS: usize = 320;

/// Who a reporter's events are recorded as.
const REPORTER: &str = "reporter";

/// The body of `POST /api/v1/reports`, as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// Organisation slug; needed only when the product slug exists in several organisations.
    pub organisation: Option<String>,
    /// Product slug.
    pub product: String,
    /// One line saying what is wrong.
    pub title: String,
    /// The details: affected versions, configuration, steps, proof of concept, impact.
    pub description: String,
    /// How to reach the reporter, if they want to be reached.
    pub reporter_contact: Option<String>,
}

/// A report that passed every check on its fields; only [`Report::parse`] makes one.
#[derive(Debug, Clone)]
pub struct Report {
    organisation: Option<String>,
    product: String,
    title: String,
    description: String,
    reporter_contact: Option<String>,
}

impl Report {
    /// Checks a request: title and description not blank and within their limits, blank
    /// optional fields treated as absent.
    pub fn parse(request: ReportRequest) -> Result<Report, ApiError> {
        let title = request.title.trim();
        non_blank("title", title)?;
        let chars = title.chars().count();
        if chars > TITLE_MAX_CHARS {
            return Err(invalid(
                "title",
                format!("title is {chars} characters long; at most {TITLE_MAX_CHARS} are allowed"),
            ));
        }
        non_blank("description", &request.description)?;
        let bytes = request.description.len();
        if bytes > DESCRIPTION_MAX_BYTES {
            return Err(invalid(
                "description",
                format!(
                    "description is {bytes} bytes long; at most {DESCRIPTION_MAX_BYTES} are allowed"
                ),
            ));
        }
        let reporter_contact = present(request.reporter_contact);
        if let Some(contact) = &reporter_contact {
            let chars = contact.chars().count();
            if chars > CONTACT_MAX_CHARS {
                return Err(invalid(
                    "reporter_contact",
                    format!(
                        "reporter_contact is {chars} characters long; at most {CONTACT_MAX_CHARS} are allowed"
                    ),
                ));
            }
        }
        Ok(Report {
            organisation: present(request.organisation),
            product: request.product.trim().to_owned(),
            title: title.to_owned(),
            description: request.description,
            reporter_contact,
        })
    }

    /// Parses and checks a JSON body; every error names the field to blame.
    pub fn from_json(body: &[u8]) -> Result<Report, ApiError> {
        Report::parse(parse_json(body)?)
    }

    /// A report built in code (the demo data); checked like any other.
    pub fn new(
        organisation: Option<&str>,
        product: &str,
        title: &str,
        description: &str,
    ) -> Result<Report, ApiError> {
        Report::parse(ReportRequest {
            organisation: organisation.map(str::to_owned),
            product: product.to_owned(),
            title: title.to_owned(),
            description: description.to_owned(),
            reporter_contact: None,
        })
    }
}

fn non_blank(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(invalid(field, format!("{field} must not be empty")));
    }
    Ok(())
}

fn present(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn invalid(field: &str, message: String) -> ApiError {
    ApiError::InvalidField {
        field: field.to_owned(),
        message,
    }
}

/// Deserializes with the path of the failing field, and classifies the failure: syntax
/// errors are 400 with a position, everything else is about a field and 422.
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // serde also accepts a struct written as an array of its fields in order; a report is an
    // object or nothing.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(|e| json_error(".", e))?;
        return Err(not_an_object());
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        json_error(&path, e.into_inner())
    })?;
    de.end().map_err(|e| json_error(".", e))?;
    Ok(value)
}

fn json_error(path: &str, e: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let full = e.to_string();
    if !matches!(e.classify(), Category::Data) {
        return ApiError::MalformedJson {
            message: full,
            line: e.line(),
            column: e.column(),
        };
    }
    // serde_json appends the position to every message; for a field error the field name
    // is the useful locator.
    let message = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(m, _)| m);
    let within = |name: &str| {
        if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(name) = backticked(message, "missing field ") {
        return ApiError::MissingField(within(name));
    }
    if let Some(name) = backticked(message, "unknown field ") {
        let expected = message
            .split_once(", expected ")
            .map_or("no other fields", |(_, rest)| rest);
        // Unlike a missing field, an unknown one is already the last segment of the path.
        return ApiError::UnknownField {
            field: if path == "." {
                name.to_owned()
            } else {
                path.to_owned()
            },
            expected: expected.to_owned(),
        };
    }
    if path == "." {
        return not_an_object();
    }
    invalid(path, format!("{path}: {message}"))
}

fn not_an_object() -> ApiError {
    invalid(
        "body",
        "expected a JSON object with the fields organisation, product, title, description, reporter_contact"
            .to_owned(),
    )
}

/// `name` from a message of the form ``{prefix}`name`...``.
fn backticked<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.split_once('`').map(|(name, _)| name)
}

/// The secret a reporter holds for their case: 32 bytes from the operating system's random
/// generator, in lowercase hex. Only its SHA-256 is stored, so a database leak does not give
/// access to cases.
pub struct ReporterToken(String);

impl ReporterToken {
    fn generate() -> Result<ReporterToken, ApiError> {
        let mut bytes = [0u8; 32];
        rand::rngs::SysRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| ApiError::Internal(format!("operating system random generator: {e}")))?;
        Ok(ReporterToken(hex::encode(bytes)))
    }

    /// The token text to hand to the reporter.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Redacted, so a token never reaches a log through `{:?}`.
impl fmt::Debug for ReporterToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReporterToken(..)")
    }
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A case just opened.
#[derive(Debug)]
pub struct Submitted {
    /// The new case's id.
    pub case_id: i64,
    /// The reporter's secret for it; it exists nowhere else.
    pub token: ReporterToken,
}

/// Opens a case for `report`, received at `at`: pinned to the organisation's latest policy
/// version, with its `reported` event and its projection written in one transaction.
pub async fn submit(
    state: &AppState,
    report: Report,
    at: Timestamp,
) -> Result<Submitted, ApiError> {
    let product = resolve_product(
        &state.store,
        report.organisation.as_deref(),
        &report.product,
    )
    .await?;
    let latest = state
        .store
        .latest_policy(product.org_id)
        .await?
        .ok_or_else(|| {
            ApiError::Internal(format!("organisation {} has no policy", product.org_slug))
        })?;
    let pinned = state.policies.parse(&latest)?;
    let event = Event::Reported {
        product: product.slug.clone(),
        title: report.title,
        description: report.description,
        reporter_contact: report.reporter_contact,
        channel: "api".to_owned(),
        fields: Default::default(),
        language: None,
    };
    let payload = serde_json::to_value(&event)
        .map_err(|e| ApiError::Internal(format!("cannot encode a reported event: {e}")))?;
    let first = NewEvent {
        kind: event.kind().to_owned(),
        actor: REPORTER.to_owned(),
        at,
        payload,
    };
    let log = [Recorded {
        at,
        actor: REPORTER.to_owned(),
        event,
    }];
    let projection = cases::project(&pinned.policy, &log)?;
    let token = ReporterToken::generate()?;
    let case = state
        .store
        .open_case(
            NewCase {
                product_id: product.id,
                policy_version_id: pinned.id,
                reporter_token_hash: token_hash(token.as_str()),
                opened_at: at,
            },
            first,
            projection,
        )
        .await?;
    Ok(Submitted {
        case_id: case.id,
        token,
    })
}

/// At most this much of a client-supplied name is quoted back in an error.
const QUOTE_MAX_CHARS: usize = 64;

fn quoted(text: &str) -> String {
    if text.chars().count() <= QUOTE_MAX_CHARS {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(QUOTE_MAX_CHARS).collect();
        format!("{head:?}...")
    }
}

async fn resolve_product(
    store: &Store,
    organisation: Option<&str>,
    product: &str,
) -> Result<ProductRow, ApiError> {
    let unknown = |field, message| ApiError::UnknownProduct { field, message };
    if let Some(org) = organisation {
        if let Some(row) = store.product(org, product).await? {
            return Ok(row);
        }
        return Err(if store.organisation_by_slug(org).await?.is_none() {
            unknown(
                "organisation",
                format!("no organisation {} takes reports here", quoted(org)),
            )
        } else {
            unknown(
                "product",
                format!(
                    "organisation {} has no product {}",
                    quoted(org),
                    quoted(product)
                ),
            )
        });
    }
    let mut matches: Vec<ProductRow> = store
        .list_products()
        .await?
        .into_iter()
        .filter(|p| p.slug == product)
        .collect();
    match matches.len() {
        0 => Err(unknown(
            "product",
            format!(
                "no product {} takes reports here; GET /api/v1/products lists them",
                quoted(product)
            ),
        )),
        1 => Ok(matches.remove(0)),
        _ => Err(ApiError::AmbiguousProduct {
            product: product.to_owned(),
            organisations: matches
                .iter()
                .map(|p| p.org_slug.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    match essence {
        Some(e) if e.eq_ignore_ascii_case("application/json") => Ok(()),
        _ => Err(ApiError::UnsupportedMediaType),
    }
}

/// `POST /api/v1/reports`: 201 with the case id and the reporter's token.
pub async fn submit_report(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge {
                limit: BODY_LIMIT_BYTES,
            }
        } else {
            ApiError::UnreadableBody
        }
    })?;
    let report = Report::from_json(&body)?;
    let submitted = submit(&state, report, Timestamp::now()).await?;
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
}

#[derive(Debug, Serialize)]
struct EventSummary {
    seq: i64,
    kind: String,
    at: Timestamp,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// `GET /api/v1/reports/{id}` with `Authorization: Bearer <token>`. Any mismatch is the same
/// 404, so the answer does not tell whether a case with that id exists.
pub async fn reporter_view(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    let token = bearer(&headers).ok_or(ApiError::NotFound)?;
    let case = state
        .store
        .case_for_reporter(id, &token_hash(token))
        .await?
        .ok_or(ApiError::NotFound)?;
    let pinned = state
        .policies
        .get(&state.store, case.policy_version_id)
        .await?;
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
        clocks: cases::clocks_of(&pinned.policy, &log)?,
        events: rows
            .iter()
            .map(|r| EventSummary {
                seq: r.seq,
                kind: r.kind.clone(),
                at: r.at,
            })
            .collect(),
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
        let cases: [(&str, (&str, &str)); 8] = [
            (r#"{"product":"p","title":"t"}"#, ("missing", "description")),
            (
                r#"{"product":"p","title":"t","description":"d","severity":9}"#,
                ("unknown", "severity"),
            ),
            (
                r#"{"product":"p","title":5,"description":"d"}"#,
                ("invalid", "title"),
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
            let e = Report::from_json(body.as_bytes()).unwrap_err();
            assert_eq!(field_of(&e), (kind, field.to_owned()), "body {body}");
        }
    }

    #[test]
    fn titles_are_trimmed_and_limited_in_characters_not_bytes() {
        let ok = Report::new(
            None,
            "p",
            &format!("  {}  ", "é".repeat(TITLE_MAX_CHARS)),
            "d",
        )
        .unwrap();
        assert_eq!(ok.title.chars().count(), TITLE_MAX_CHARS);
        let long = Report::new(None, "p", &"a".repeat(TITLE_MAX_CHARS + 1), "d").unwrap_err();
        assert_eq!(field_of(&long), ("invalid", "title".to_owned()));
        let blank = Report::new(None, "p", "t", " \n ").unwrap_err();
        assert_eq!(field_of(&blank), ("invalid", "description".to_owned()));
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively_and_never_empty() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            h
        };
        assert_eq!(bearer(&with("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&with("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(&with("Basic abc")), None);
        assert_eq!(bearer(&with("Bearer ")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }

    #[test]
    fn tokens_are_64_hex_digits_and_unique() {
        let a = ReporterToken::generate().unwrap();
        let b = ReporterToken::generate().unwrap();
        assert_eq!(a.as_str().len(), 64);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(format!("{a:?}"), "ReporterToken(..)");
    }
}
