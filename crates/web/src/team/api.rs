//! The team API under `/api/v1/cases`: the dashboard listing, one case with its timeline
//! and clocks, and the team's actions, each a POST whose body is the same as the
//! corresponding form on the case page.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vulndesk_core::access::CaseGrant;
use vulndesk_core::actor::Actor;
use vulndesk_core::bounty::{self, BountyCommand, Stage};
use vulndesk_core::case;
use vulndesk_core::clocks::ClockKind;
use vulndesk_core::command::Command;
use vulndesk_core::coordination::PartyKind;
use vulndesk_core::fixes::{self, LineUpdate};
use vulndesk_core::severity::Cvss;
use vulndesk_core::ssvc::Ssvc;
use vulndesk_core::triage::DeclineReason;
use vulndesk_core::workflow;
use vulndesk_desk::Action;
use vulndesk_desk::coordination::Selection;

use crate::authz::Caller;
use crate::workspace::{self, Filters, urgency};
use crate::{ApiError, AppState, json_body};
use vulndesk_desk::cases;

/// The team's actions, each with its own address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Triage,
    Note,
    Message,
    Severity,
    Officer,
    Deadline,
    Access,
    Approval,
    Ssvc,
    Line,
    Bounty,
    /// Bring parties into the case.
    Parties,
    /// The embargo's terms and end, or the release agreed.
    Embargo,
    /// A message to one party, or to every party.
    PartyMessage,
    /// A party's status recorded by the team, or approved for publication.
    Statement,
    /// Whether the parties are told who reported the case.
    Sharing,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    body: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Severity {
    vector: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Officer {
    user_id: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Deadline {
    clock: String,
    due: Date,
    reason: String,
    #[serde(default)]
    reporter_note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Access {
    email: String,
    grant: Option<CaseGrant>,
}

const ACTIONS: &str = "request-info, accept, decline, start-fix, complete-stage, propose-fix, \
                       merge-fix, schedule-fix, release-fix, publish-advisory, \
                       exploitation-observed, leak-observed, close, reopen";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StageFields {
    stage: String,
    #[serde(default)]
    evidence: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferenceFields {
    reference: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeFields {
    #[serde(default)]
    reference: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineOnly {
    line: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineReference {
    line: String,
    reference: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineNote {
    line: String,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinePlan {
    line: String,
    #[serde(default)]
    version: Option<String>,
    on: Date,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineRelease {
    line: String,
    version: String,
    on: Date,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Proposal {
    amount: String,
    #[serde(default)]
    policy_followed: bool,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteOnly {
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Payment {
    method: String,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    reference: Option<String>,
    on: Date,
}

const BOUNTY_ACTIONS: &str = "propose, approve, decline, pay";

/// An invitation: parties by slug, kinds standing for every party of that kind; either
/// a JSON list or (from a form's checkboxes) one comma-separated text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Invite {
    #[serde(default, deserialize_with = "comma_list")]
    parties: Vec<String>,
    #[serde(default, deserialize_with = "comma_list")]
    kinds: Vec<String>,
    reply_by: Date,
    summary: String,
}

fn comma_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        One(String),
        Many(Vec<String>),
    }
    let items = match Given::deserialize(d)? {
        Given::One(text) => text.split(',').map(str::to_owned).collect(),
        Given::Many(items) => items,
    };
    Ok(items
        .into_iter()
        .map(|i| i.trim().to_owned())
        .filter(|i| !i.is_empty())
        .collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmbargoFields {
    /// An instant: RFC 3339 with its offset, or a civil date and time read in `zone`.
    end: String,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    terms: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgreeFields {
    at: String,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartyMessageFields {
    #[serde(default)]
    party: Option<String>,
    body: String,
    /// A party's message (its entry) to pass on to every party, after `body`.
    #[serde(default)]
    share: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SharingFields {
    share: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartyOnly {
    party: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatementFields {
    party: String,
    status: String,
    #[serde(default)]
    justification: Option<String>,
    #[serde(default)]
    statement: Option<String>,
}

/// An instant as a person gave it: RFC 3339 with an offset (`2027-01-15T14:00:00Z`), or
/// a civil date and time (`2027-01-15T14:00`, as a browser's `datetime-local` sends it) in
/// the IANA time zone `zone` (UTC when absent).
pub(crate) fn instant(
    field: &str,
    text: &str,
    zone: Option<&str>,
) -> Result<jiff::Timestamp, ApiError> {
    let text = text.trim();
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return Ok(at);
    }
    let invalid = |message: String| ApiError::InvalidField {
        field: field.to_owned(),
        message,
    };
    let civil: jiff::civil::DateTime = text.parse().map_err(|_| {
        invalid(format!(
            "{field} {text:?} is not a date and time: write 2027-01-15T14:00:00Z, or \
             2027-01-15T14:00 with a zone"
        ))
    })?;
    let zone = zone
        .map(str::trim)
        .filter(|z| !z.is_empty())
        .unwrap_or("UTC");
    let tz = jiff::tz::TimeZone::get(zone).map_err(|_| ApiError::InvalidField {
        field: "zone".into(),
        message: format!("zone {zone:?} is not an IANA time zone such as Europe/Amsterdam"),
    })?;
    tz.to_timestamp(civil)
        .map_err(|e| invalid(format!("{field}: {e}")))
}

fn parse_embargo(mut input: Input) -> Result<Command, ApiError> {
    let action = input.take_action()?;
    Ok(match action.as_str() {
        "set" => {
            let f = input.fields::<EmbargoFields>("action, end, zone, terms")?;
            Command::SetEmbargo {
                end: instant("end", &f.end, f.zone.as_deref())?,
                terms: f.terms.unwrap_or_default(),
            }
        }
        "agree-release" => {
            let f = input.fields::<AgreeFields>("action, at, zone, note")?;
            Command::AgreeRelease {
                at: instant("at", &f.at, f.zone.as_deref())?,
                note: f.note,
            }
        }
        other => {
            return Err(ApiError::InvalidField {
                field: "action".into(),
                message: format!("unknown action {other:?}; actions are set, agree-release"),
            });
        }
    })
}

fn parse_statement(mut input: Input) -> Result<Command, ApiError> {
    let action = input.take_action()?;
    Ok(match action.as_str() {
        "approve" => Command::ApproveStatement {
            party: input.fields::<PartyOnly>("action, party")?.party,
        },
        "record" => {
            let f = input
                .fields::<StatementFields>("action, party, status, justification, statement")?;
            Command::State {
                party: f.party,
                statement: statement(
                    &f.status,
                    f.justification.as_deref(),
                    f.statement.as_deref(),
                )?,
            }
        }
        other => {
            return Err(ApiError::InvalidField {
                field: "action".into(),
                message: format!("unknown action {other:?}; actions are record, approve"),
            });
        }
    })
}

/// A party's statement from its fields, the field at fault named.
pub(crate) fn statement(
    status: &str,
    justification: Option<&str>,
    text: Option<&str>,
) -> Result<vulndesk_core::coordination::Statement, ApiError> {
    vulndesk_core::coordination::statement(status, justification, text.unwrap_or_default()).map_err(
        |e| ApiError::InvalidField {
            field: e.field.into(),
            message: e.message,
        },
    )
}

/// A form's checkboxes named `name` (repeated), as one comma-separated field.
fn joined(input: Input, names: &[&str]) -> Input {
    match input {
        Input::Form(pairs) => {
            let mut out: Vec<(String, String)> = Vec::new();
            for (name, value) in pairs {
                match out.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, v)) if names.contains(&name.as_str()) => {
                        v.push(',');
                        v.push_str(&value);
                    }
                    _ => out.push((name, value)),
                }
            }
            Input::Form(out)
        }
        json => json,
    }
}

/// A bounty decision: `action` picks it, with its own fields.
fn parse_bounty(mut input: Input) -> Result<Command, ApiError> {
    let action = input.take_action()?;
    let blank = |t: Option<String>| t.filter(|t| !t.trim().is_empty());
    let command = match action.as_str() {
        "propose" => {
            let p = input.fields::<Proposal>("action, amount, policy_followed, note")?;
            BountyCommand::Propose {
                amount: p.amount,
                policy_followed: p.policy_followed,
                note: blank(p.note),
            }
        }
        "approve" => BountyCommand::Approve {
            note: blank(input.fields::<NoteOnly>("action, note")?.note),
        },
        "decline" => BountyCommand::Decline {
            reason: input.fields::<ReasonFields>("action, reason")?.reason,
        },
        "pay" => {
            let p = input.fields::<Payment>("action, method, address, reference, on")?;
            BountyCommand::Pay {
                method: p.method,
                address: blank(p.address),
                reference: blank(p.reference),
                on: p.on,
            }
        }
        other => {
            return Err(ApiError::InvalidField {
                field: "action".into(),
                message: format!("unknown bounty action {other:?}; actions are {BOUNTY_ACTIONS}"),
            });
        }
    };
    Ok(Command::Bounty(command))
}

const LINE_ACTIONS: &str = "affected, not-affected, reference, reviewed, tested, planned, released";

/// An update of one release line's fix: `action` picks it, with `line` and its own fields.
fn parse_line(mut input: Input) -> Result<Command, ApiError> {
    let action = input.take_action()?;
    let (line, update) = match action.as_str() {
        "affected" | "not-affected" => (
            input.fields::<LineOnly>("action, line")?.line,
            LineUpdate::Affected {
                affected: action == "affected",
            },
        ),
        "reference" => {
            let f = input.fields::<LineReference>("action, line, reference")?;
            (
                f.line,
                LineUpdate::Reference {
                    reference: f.reference,
                },
            )
        }
        "reviewed" | "tested" => {
            let f = input.fields::<LineNote>("action, line, note")?;
            let note = f.note.filter(|n| !n.trim().is_empty());
            let update = if action == "reviewed" {
                LineUpdate::Reviewed { note }
            } else {
                LineUpdate::Tested { note }
            };
            (f.line, update)
        }
        "planned" => {
            let f = input.fields::<LinePlan>("action, line, version, on")?;
            (
                f.line,
                LineUpdate::Planned {
                    version: f.version,
                    on: f.on,
                },
            )
        }
        "released" => {
            let f = input.fields::<LineRelease>("action, line, version, on")?;
            (
                f.line,
                LineUpdate::Released {
                    version: f.version,
                    on: f.on,
                },
            )
        }
        other => {
            return Err(ApiError::InvalidField {
                field: "action".into(),
                message: format!("unknown line action {other:?}; actions are {LINE_ACTIONS}"),
            });
        }
    };
    Ok(Command::UpdateLine { line, update })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Approval {
    step: String,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageFields {
    message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclineFields {
    reason: String,
    #[serde(default)]
    duplicate_of: Option<i64>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseFields {
    release: Date,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OnFields {
    on: Date,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonFields {
    reason: String,
}

/// An action's fields as they arrived: a JSON object from the API or the pairs of a page's
/// form. Both are decoded straight into the same field structs, so the pages and the API
/// take the same actions with the same errors; neither is turned into the other.
pub(crate) enum Input {
    /// A JSON body, checked to be well-formed.
    Json(Vec<u8>),
    /// A form's pairs, without the CSRF token.
    Form(Vec<(String, String)>),
}

impl Input {
    /// The fields, as `T`; `expected` lists them for the error about a body of another shape.
    fn fields<T: DeserializeOwned>(&self, expected: &str) -> Result<T, ApiError> {
        match self {
            Input::Json(bytes) => json_body::parse(bytes, expected),
            Input::Form(pairs) => form_fields(pairs, expected),
        }
    }

    /// Removes and returns the `action` field, which picks the triage move.
    fn take_action(&mut self) -> Result<String, ApiError> {
        let missing = || ApiError::MissingField("action".into());
        match self {
            Input::Json(bytes) => {
                let mut fields: serde_json::Map<String, Value> =
                    json_body::parse(bytes, "action and the action's fields")?;
                let action = match fields.remove("action") {
                    None => return Err(missing()),
                    Some(Value::String(action)) => action,
                    Some(_) => {
                        return Err(ApiError::InvalidField {
                            field: "action".into(),
                            message: format!("action is a string, one of {ACTIONS}"),
                        });
                    }
                };
                *bytes = Value::Object(fields).to_string().into_bytes();
                Ok(action)
            }
            Input::Form(pairs) => {
                let at = pairs.iter().position(|(name, _)| name == "action");
                Ok(pairs.remove(at.ok_or_else(missing)?).1)
            }
        }
    }
}

/// A form's pairs decoded as `T` by the rules of forms: every value is text, trimmed and
/// normalised as the JSON bodies' strings are; a blank field counts as absent (a blank
/// `grant` means "no access", a blank note no note).
pub(crate) fn form_fields<T: DeserializeOwned>(
    pairs: &[(String, String)],
    expected: &str,
) -> Result<T, ApiError> {
    let mut encoded = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        let mut value = value.trim().to_owned();
        vulndesk_core::text::normalise_in_place(&mut value);
        if name != "csrf" && !value.is_empty() {
            encoded.append_pair(name, &value);
        }
    }
    let encoded = encoded.finish();
    let decoder = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    serde_path_to_error::deserialize(decoder).map_err(|e| {
        let path = e.path().to_string();
        json_body::field_error(&path, &e.into_inner().to_string(), expected)
    })
}

/// A triage move: `action` picks the move, the other fields are the move's own, read
/// strictly so that a wrong or unknown field is named (serde's internally tagged enums
/// would lose the field's name, and let unknown fields through on moves without fields).
pub(crate) fn parse_triage(mut input: Input) -> Result<Command, ApiError> {
    let action = input.take_action()?;
    Ok(match action.as_str() {
        "request-info" => Command::RequestInfo {
            message: input.fields::<MessageFields>("action, message")?.message,
        },
        "accept" | "start-fix" | "close" => {
            input.fields::<NoFields>("action")?;
            match action.as_str() {
                "accept" => Command::Accept,
                "start-fix" => Command::StartFix,
                _ => Command::Close,
            }
        }
        "decline" => {
            let f = input.fields::<DeclineFields>("action, reason, duplicate_of, note")?;
            let reason = DeclineReason::parse(&f.reason).ok_or_else(|| ApiError::InvalidField {
                field: "reason".into(),
                message: format!(
                    "unknown decline reason {:?}; reasons are {}",
                    f.reason,
                    DeclineReason::ALL.map(|r| r.as_str()).join(", ")
                ),
            })?;
            Command::Decline {
                reason,
                duplicate_of: f.duplicate_of,
                note: f.note,
            }
        }
        "complete-stage" => {
            let f = input.fields::<StageFields>("action, stage, evidence")?;
            Command::CompleteStage {
                stage: f.stage,
                evidence: f.evidence,
            }
        }
        "propose-fix" => Command::ProposeFix {
            reference: input
                .fields::<ReferenceFields>("action, reference")?
                .reference,
        },
        "merge-fix" => Command::MergeFix {
            reference: input.fields::<MergeFields>("action, reference")?.reference,
        },
        "schedule-fix" => Command::ScheduleFix {
            release: input.fields::<ReleaseFields>("action, release")?.release,
        },
        "release-fix" | "publish-advisory" | "exploitation-observed" | "leak-observed" => {
            let on = input.fields::<OnFields>("action, on")?.on;
            match action.as_str() {
                "release-fix" => Command::ReleaseFix { on },
                "publish-advisory" => Command::PublishAdvisory { on },
                "leak-observed" => Command::Leaked { on },
                _ => Command::ExploitationObserved { on },
            }
        }
        "reopen" => Command::Reopen {
            reason: input.fields::<ReasonFields>("action, reason")?.reason,
        },
        other => {
            return Err(ApiError::InvalidField {
                field: "action".into(),
                message: format!("unknown action {other:?}; actions are {ACTIONS}"),
            });
        }
    })
}

/// Reads an action of `kind`.
pub(crate) fn parse_action(kind: Kind, input: Input) -> Result<Action, ApiError> {
    Ok(match kind {
        Kind::Triage => Action::Command(parse_triage(input)?),
        Kind::Note => Action::Note {
            body: input.fields::<Body>("body")?.body,
        },
        Kind::Message => Action::Message {
            body: input.fields::<Body>("body")?.body,
            files: Vec::new(),
        },
        Kind::Severity => Action::Command(Command::Severity {
            vector: input.fields::<Severity>("vector")?.vector,
        }),
        Kind::Officer => Action::Command(Command::AssignOfficer {
            user_id: input.fields::<Officer>("user_id")?.user_id,
        }),
        Kind::Deadline => {
            let d = input.fields::<Deadline>("clock, due, reason, reporter_note")?;
            let Some(clock) = ClockKind::parse(&d.clock) else {
                let kinds = ClockKind::ALL.map(|k| k.as_str());
                return Err(ApiError::InvalidField {
                    field: "clock".into(),
                    message: format!(
                        "unknown clock {:?}; clocks are {}",
                        d.clock,
                        kinds.join(", ")
                    ),
                });
            };
            Action::Command(Command::MoveDeadline {
                clock,
                due: d.due,
                reason: d.reason,
                reporter_note: d.reporter_note,
            })
        }
        Kind::Line => Action::Command(parse_line(input)?),
        Kind::Bounty => Action::Command(parse_bounty(input)?),
        Kind::Ssvc => Action::Command(Command::Prioritise {
            points: input
                .fields::<Ssvc>("exploitation, automatable, technical_impact, mission_impact")?,
        }),
        Kind::Approval => {
            let a = input.fields::<Approval>("step, note")?;
            Action::Command(Command::Approve {
                step: a.step,
                note: a.note,
            })
        }
        Kind::Access => {
            let a = input.fields::<Access>("email, grant")?;
            Action::Access {
                email: a.email,
                grant: a.grant,
            }
        }
        Kind::Parties => {
            let input = joined(input, &["parties", "kinds"]);
            let f = input.fields::<Invite>("parties, kinds, reply_by, summary")?;
            let mut kinds = Vec::new();
            for k in &f.kinds {
                kinds.push(PartyKind::parse(k).ok_or_else(|| ApiError::InvalidField {
                    field: "kinds".into(),
                    message: format!(
                        "kind {k:?} is not one of: {}",
                        PartyKind::ALL.map(PartyKind::as_str).join(", ")
                    ),
                })?);
            }
            Action::Invite {
                selection: Selection {
                    parties: f.parties,
                    kinds,
                },
                reply_by: f.reply_by,
                summary: f.summary,
            }
        }
        Kind::Embargo => Action::Command(parse_embargo(input)?),
        Kind::PartyMessage => {
            let f = input.fields::<PartyMessageFields>("party, body, share")?;
            match f.share {
                None => Action::PartyMessage {
                    party: f.party,
                    body: f.body,
                    files: Vec::new(),
                },
                Some(_) if f.party.is_some() => {
                    return Err(ApiError::InvalidField {
                        field: "party".into(),
                        message: "a shared message goes to every party: leave out party".into(),
                    });
                }
                Some(seq) => Action::Share {
                    seq,
                    note: f.body,
                    files: Vec::new(),
                },
            }
        }
        Kind::Statement => Action::Command(parse_statement(input)?),
        Kind::Sharing => Action::Command(Command::ShareReporter {
            share: input.fields::<SharingFields>("share")?.share,
        }),
    })
}

#[derive(Serialize)]
struct Listed {
    id: i64,
    organisation: String,
    product: String,
    title: String,
    state: String,
    severity: Option<String>,
    ssvc: Option<String>,
    cvss: Option<String>,
    officer_id: Option<i64>,
    next_due: Option<Date>,
    next_due_kind: Option<String>,
    urgency: Option<workspace::Urgency>,
    escalated: bool,
    opened_at: jiff::Timestamp,
}

/// `GET /api/v1/cases`: the cases the caller may see, filtered.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    filters: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(filters) = filters.map_err(|e| ApiError::InvalidField {
        field: "query".into(),
        message: e.body_text(),
    })?;
    let page = workspace::list(&state, caller.person()?, &filters).await?;
    let rows = page.cases;
    let now = jiff::Timestamp::now();
    let mut todays = Vec::with_capacity(rows.len());
    for c in &rows {
        // "Today" in the case's own policy time zone, as the case page counts it.
        let pinned = state.desk.policy(c.policy_version_id).await?;
        todays.push(pinned.policy.calendar().local_date(now));
    }

    let cases: Vec<Listed> = rows
        .into_iter()
        .zip(todays)
        .map(|(c, today)| Listed {
            id: c.id,
            organisation: c.org_slug,
            product: c.product_slug,
            urgency: c.projection.next_due.map(|d| urgency(d, today)),
            escalated: c.projection.escalated,
            title: c.projection.title,
            state: c.projection.state,
            severity: c.projection.severity,
            ssvc: c.projection.ssvc,
            cvss: c.projection.cvss,
            officer_id: c.projection.officer_id,
            next_due: c.projection.next_due,
            next_due_kind: c.projection.next_due_kind,
            opened_at: c.opened_at,
        })
        .collect();
    Ok(Json(json!({ "cases": cases, "next_page": page.next })).into_response())
}

/// `GET /api/v1/cases/{id}`: the case, its clocks with their derivations, and the
/// timeline the caller may read (internal notes only for those working the case).
pub async fn show(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let view = workspace::view(&state, &caller).await?;
    let clocks = cases::clocks_of(view.policy(), &view.log)?;
    let summary = case::summary(&view.log);
    let severity = summary
        .cvss
        .as_deref()
        .and_then(|v| Cvss::parse(v).ok())
        .map(|c| {
            json!({
                "vector": c.to_string(),
                "version": c.version().as_str(),
                "score": c.base_score(),
                "rating": c.severity().as_str().to_lowercase(),
            })
        });
    let timeline: Vec<Value> = view
        .timeline()
        .map(|(seq, r)| {
            json!({
                "seq": seq,
                "at": r.at,
                "actor": r.actor,
                "actor_name": view.actor_name(&Actor::parse(&r.actor)),
                "visibility": workspace::visibility(&r.event),
                "event": view.shown(&r.event),
            })
        })
        .collect();
    let jobs: Vec<Value> = view
        .jobs
        .iter()
        .map(|j| {
            json!({
                "id": j.id,
                "kind": j.kind,
                "status": j.status.as_str(),
                "attempts": j.attempts,
                "last_error": j.last_error,
            })
        })
        .collect();
    let support = view.support().map(|(version, support)| {
        json!({ "version": version, "support": support, "suggest_decline": support.suggests_decline() })
    });
    let process = process(&view, &caller)?;
    let coordination = (view.standing >= vulndesk_core::access::Standing::Worker)
        .then(|| coordination_json(&view.coordination));
    Ok(Json(json!({
        "coordination": coordination,
        "id": view.case.id,
        "organisation": view.policy().organisation.slug.as_str(),
        "product": view.product_slug(),
        "title": summary.title,
        "state": case::state(&view.log).as_str(),
        "policy_version": view.policy.version,
        "severity": severity,
        "ssvc": summary.ssvc.map(|s| json!({
            "points": s,
            "vector": s.vector(),
            "decision": s.decision().as_str(),
        })),
        "officer_id": summary.officer,
        "incomplete": vulndesk_core::triage::was_incomplete(&view.log),
        "clocks": clocks,
        "timeline": timeline,
        "mail": jobs,
        "support": support,
        "duplicates": view.duplicates.iter().map(|(id, reporter)| json!({"case": id, "reporter": reporter})).collect::<Vec<_>>(),
        "participants": view.participants.iter().map(|p| json!({"role": p.role, "user_id": p.user_id, "party": p.party.as_ref().map(|(_, slug)| slug), "joined_at": p.joined_at})).collect::<Vec<_>>(),
        "workflow": process,
        "bounty": bounty::eligibility(view.policy(), &view.log).map(|e| json!({
            "discretionary": e.discretionary,
            "possible": e.possible(),
            "checks": e.checks.iter().map(|c| json!({"condition": c.condition, "met": c.met, "why": c.why})).collect::<Vec<_>>(),
            "stage": match &e.stage {
                Stage::None => json!({"stage": "none"}),
                Stage::Proposed { amount, .. } => json!({"stage": "proposed", "amount": amount}),
                Stage::Approved { amount } => json!({"stage": "approved", "amount": amount}),
                Stage::Declined { reason } => json!({"stage": "declined", "reason": reason}),
                Stage::Paid { amount, method, on } => json!({"stage": "paid", "amount": amount, "method": method, "on": on}),
            },
        })),
        "lines": fixes::lines(view.policy(), &view.log).into_iter().map(|l| json!({
            "line": l.line,
            "versions": l.versions,
            "supported": l.supported,
            "note": l.note,
            "affected": l.affected,
            "references": l.references,
            "reviewed": l.reviewed,
            "tested": l.tested,
            "planned": l.planned.map(|(version, on)| json!({"version": version, "on": on})),
            "released": l.released.map(|(version, on)| json!({"version": version, "on": on})),
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// A case's coordination for those who work it: a party that gave no status is
/// `no_answer_yet`, never a status of its own.
fn coordination_json(c: &vulndesk_core::coordination::Coordination) -> Value {
    json!({
        "summary": c.summary,
        "embargo": c.embargo.as_ref().map(|e| json!({"end": e.end, "terms": e.terms, "set_at": e.set_at})),
        "agreed_release": c.agreed.map(|(at, _)| at),
        "told_of_break": c.told_of_break,
        "reporter_consents": c.reporter_consents,
        "reporter_shown": c.shows_reporter(),
        "silent": c.silent(),
        "parties": c.parties.iter().map(|p| json!({
            "party": p.invitee.party,
            "name": p.invitee.name,
            "kind": p.invitee.kind,
            "invited_at": p.invited_at,
            "reply_by": p.reply_by,
            "answer": p.answer.as_ref().map(|a| json!({"accepted": a.accepted, "at": a.at, "note": a.note})),
            "status": p.statement.as_ref().map_or("no_answer_yet", |(s, _)| s.status.as_str()),
            "justification": p.statement.as_ref().and_then(|(s, _)| s.justification),
            "statement": p.statement.as_ref().map(|(s, _)| s.statement.clone()),
            "approved": p.approved,
            "messages": p.messages,
            "last_heard": p.last_heard,
            "reminded": p.reminded.len(),
        })).collect::<Vec<_>>(),
    })
}

/// The policy's process on this case: its stages with who completed each, its gates with
/// whether they hold, and the steps the caller may approve now.
fn process(view: &workspace::CaseView, caller: &Caller) -> Result<Value, ApiError> {
    let policy = view.policy();
    let stages: Vec<Value> = workflow::checklist(policy, &view.log)
        .into_iter()
        .map(|s| {
            json!({
                "stage": s.stage.as_str(),
                "done": s.done.map(|d| json!({
                    "at": d.at,
                    "by": d.actor.to_string(),
                    "evidence": d.evidence,
                })),
                "action": s.action,
            })
        })
        .collect();
    let gates: Vec<Value> = workflow::gates(policy, &view.log)
        .into_iter()
        .map(|g| {
            json!({
                "before": g.gate.before.as_str(),
                "require": g.gate.require.to_string(),
                "approvals": g.gate.approvals,
                "approved_by": g.approved_by,
                "holds": g.holds(),
                "missing": g.missing,
            })
        })
        .collect();
    Ok(json!({
        "stages": stages,
        "gates": gates,
        "approvable": view.approvable(caller.person()?.user.id),
    }))
}

/// `POST /api/v1/cases/{id}/<action>`: records one action; answers 201 with the case's
/// new state and the first new event's position.
async fn act(
    state: AppState,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    kind: Kind,
) -> Result<Response, ApiError> {
    // Read as JSON with the usual checks; the body's shape is the action's.
    let value: Value = json_body::read(&headers, body, "see the API description")?;
    let bytes = serde_json::to_vec(&value).map_err(|e| ApiError::Internal(e.to_string()))?;
    let action = parse_action(kind, Input::Json(bytes))?;
    let acted = workspace::act(&state, &caller, action).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "seq": acted.seq, "state": acted.state.as_str() })),
    )
        .into_response())
}

macro_rules! action_handlers {
    ($($name:ident => $kind:expr),* $(,)?) => {$(
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            headers: HeaderMap,
            body: Result<Bytes, BytesRejection>,
        ) -> Result<Response, ApiError> {
            act(state, caller, headers, body, $kind).await
        }
    )*};
}

action_handlers! {
    triage => Kind::Triage,
    note => Kind::Note,
    message => Kind::Message,
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
    party_messages => Kind::PartyMessage,
    statements => Kind::Statement,
    reporter_sharing => Kind::Sharing,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn triage(body: serde_json::Value) -> Result<Command, ApiError> {
        parse_triage(Input::Json(body.to_string().into_bytes()))
    }

    fn form(kind: Kind, pairs: &[(&str, &str)]) -> Result<Action, ApiError> {
        let pairs = pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        parse_action(kind, Input::Form(pairs))
    }

    #[test]
    fn forms_are_read_with_the_apis_fields_and_errors() {
        let declined = form(
            Kind::Triage,
            &[
                ("csrf", "t"),
                ("action", "decline"),
                ("reason", "duplicate"),
                ("duplicate_of", " 12 "),
                ("note", ""),
            ],
        );
        assert!(
            matches!(
                &declined,
                Ok(Action::Command(Command::Decline {
                    reason: DeclineReason::Duplicate,
                    duplicate_of: Some(12),
                    note: None,
                }))
            ),
            "{declined:?}"
        );
        // A blank grant is no grant: access taken away.
        assert!(matches!(
            form(Kind::Access, &[("email", "a@example.org"), ("grant", " ")]),
            Ok(Action::Access { grant: None, .. })
        ));
        let e = form(Kind::Triage, &[("action", "decline"), ("reason", "boring")]).unwrap_err();
        assert_eq!(e.field(), Some("reason"), "{e}");
        let e = form(
            Kind::Triage,
            &[("action", "schedule-fix"), ("release", "soon")],
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("release"), "{e}");
        let e = form(Kind::Officer, &[("user_id", "three")]).unwrap_err();
        assert_eq!(e.field(), Some("user_id"), "{e}");
        let e = form(Kind::Note, &[("body", "x"), ("extra", "y")]).unwrap_err();
        assert_eq!(e.field(), Some("extra"), "{e}");
        let e = form(
            Kind::Deadline,
            &[("clock", "tea"), ("due", "2027-01-04"), ("reason", "r")],
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("clock"), "{e}");
        let e = form(Kind::Triage, &[("reason", "x")]).unwrap_err();
        assert_eq!(e.field(), Some("action"), "{e}");
    }

    #[test]
    fn triage_moves_are_read_strictly_and_errors_name_the_field() {
        assert!(matches!(
            triage(json!({"action": "accept"})),
            Ok(Command::Accept)
        ));
        let e = triage(json!({"action": "accept", "extra": 1})).unwrap_err();
        assert_eq!(e.field(), Some("extra"));
        let e = triage(json!({"action": "schedule-fix", "release": "soon"})).unwrap_err();
        assert_eq!(e.field(), Some("release"), "{e}");
        let e = triage(json!({"action": "decline"})).unwrap_err();
        assert_eq!(e.field(), Some("reason"), "{e}");
        let e = triage(json!({"action": "merge"})).unwrap_err();
        assert_eq!(e.field(), Some("action"));
        assert!(e.to_string().contains("request-info"), "{e}");
        let e = triage(json!({"message": "x"})).unwrap_err();
        assert_eq!(e.field(), Some("action"));
        assert!(matches!(
            triage(json!({"action": "decline", "reason": "duplicate", "duplicate_of": 3})),
            Ok(Command::Decline {
                duplicate_of: Some(3),
                ..
            })
        ));
    }
}
