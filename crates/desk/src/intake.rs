//! Opening a case, whichever way the report came (the form, the API, mail; later GitHub
//! and parties): the case row, its first events, what they cause and its projection in
//! one transaction, so a report its sender was told about is never half-stored.
//!
//! Reports from the form and the API are checked here ([`Report::check`],
//! [`policy_problems`]) and opened by [`Desk::submit`]: the report, then one event per
//! attached file, the files and the receipt, and the answer is only sent after the commit.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Deserialize;
use vulndesk_core::actor::Actor;
pub use vulndesk_core::case::Channel;
use vulndesk_core::case::Event;
use vulndesk_core::email::EmailAddress;
use vulndesk_core::policy::{FieldKind, Policy};
use vulndesk_mail::openpgp::PublicKey;
use vulndesk_mail::{Mailbox, receipt};
use vulndesk_store::{CaseRow, Effects, NewCase, NewReporterKey, ProductRow, Store, new_reply_tag};

use crate::attachments::{Limits, Upload};
use crate::cases::{prepare, project, search_texts};
use crate::reporter_token::ReporterToken;
use crate::{Desk, DeskError, PinnedPolicy};

/// Who a reporter's events are recorded as, whatever the channel.
pub const REPORTER: &str = "reporter";
/// Longest title, in characters.
pub const TITLE_MAX_CHARS: usize = 300;
/// Longest description, in bytes of UTF-8; also the longest answer to a `text` field and
/// the longest reply.
pub const DESCRIPTION_MAX_BYTES: usize = 64 * 1024;
/// Longest reporter contact, in characters (the longest e-mail address RFC 5321 allows is
/// shorter than this).
pub const CONTACT_MAX_CHARS: usize = 320;
/// Longest answer to a `line` field, in characters.
pub const LINE_MAX_CHARS: usize = 300;
/// Longest language tag (RFC 5646 section 4.4.1 advises supporting 35 characters).
const LANGUAGE_MAX_CHARS: usize = 35;

/// A new case, as the channel that received it decided it.
pub struct Opening {
    /// The product the report is about.
    pub product_id: i64,
    /// The policy version the case is governed by for its whole life.
    pub policy: Arc<PinnedPolicy>,
    /// Hash of the reporter's access token; the token itself is never stored.
    pub reporter_token_hash: Vec<u8>,
    /// The case's reply tag, drawn before the case exists so mail queued with it (the
    /// receipt) can be sent from the case's own reply address.
    pub reply_tag: String,
    /// When the report arrived.
    pub at: Timestamp,
    /// Who the first events are recorded as: the reporter, or the team member who opened
    /// an outbound case.
    pub actor: Actor,
    /// The first events, `reported` first.
    pub events: Vec<Event>,
    /// What they cause: files, the raw mail, the receipt, ...
    pub effects: Effects,
}

impl Desk {
    /// Opens the case: row, events, effects (with their search texts) and projection in one
    /// transaction.
    pub async fn open(&self, opening: Opening) -> Result<CaseRow, DeskError> {
        let Opening {
            product_id,
            policy,
            reporter_token_hash,
            reply_tag,
            at,
            actor,
            events,
            mut effects,
        } = opening;
        if !matches!(events.first(), Some(Event::Reported { .. })) {
            return Err(DeskError::Internal(
                "a case opens with its reported event".to_owned(),
            ));
        }
        let (stored, log) = prepare(events, &actor, at)?;
        effects.search = search_texts(&log);
        let projection = project(&policy.policy, &log)?;
        Ok(self
            .store
            .open_case(
                NewCase {
                    product_id,
                    policy_version_id: policy.id,
                    reporter_token_hash,
                    opened_at: at,
                    reply_tag: Some(reply_tag),
                },
                stored,
                projection,
                effects,
            )
            .await?)
    }
}

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
    /// The reporter's ASCII-armoured OpenPGP public key: mail to them is encrypted to it.
    pub openpgp_key: Option<String>,
    /// Answers to the policy's `[[intake.field]]`s of kind `text` or `line`, by field id.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The reporter's preferred language, one of the organisation's preferred languages.
    pub language: Option<String>,
}

/// What a report says besides its title and description: answers to the policy's fields,
/// a language, files. Checked against the policy by [`policy_problems`].
#[derive(Debug, Clone, Default)]
pub struct Answers {
    /// Answers to `text` and `line` fields, by field id.
    pub fields: BTreeMap<String, String>,
    /// The reporter's preferred language.
    pub language: Option<String>,
    /// Files, each with the form field that carried it.
    pub attachments: Vec<Upload>,
    /// The reporter's ASCII-armoured OpenPGP public key.
    pub openpgp_key: Option<String>,
}

/// A report as typed, before any check.
#[derive(Debug, Clone)]
pub struct Draft {
    /// Organisation slug, if named.
    pub organisation: Option<String>,
    /// Product slug.
    pub product: String,
    /// Title as typed.
    pub title: String,
    /// Description as typed.
    pub description: String,
    /// Contact as typed.
    pub reporter_contact: Option<String>,
    /// Everything else.
    pub answers: Answers,
    /// How it came in.
    pub channel: Channel,
}

/// A report whose own fields passed every check; only [`Report::check`] makes one. The
/// checks that need the policy are [`policy_problems`], run by [`submit`].
#[derive(Debug, Clone)]
pub struct Report {
    organisation: Option<String>,
    product: String,
    title: String,
    description: String,
    reporter_contact: Option<String>,
    answers: Answers,
    channel: Channel,
}

impl Report {
    /// Checks a draft: title and description not blank and within their limits, blank
    /// optional values treated as absent. Returns every problem found, in field order.
    pub fn check(draft: Draft) -> Result<Report, Vec<DeskError>> {
        let mut problems = Vec::new();
        let title = draft.title.trim();
        if let Err(e) = check_title(title) {
            problems.push(e);
        }
        if let Err(e) = check_description(&draft.description) {
            problems.push(e);
        }
        let reporter_contact = present(draft.reporter_contact);
        if let Some(Err(e)) = reporter_contact.as_deref().map(check_contact) {
            problems.push(e);
        }
        let mut answers = draft.answers;
        answers.openpgp_key = present(answers.openpgp_key);
        if let Some(Err(e)) = answers.openpgp_key.as_deref().map(reporter_key) {
            problems.push(e);
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        // Answers are kept as typed (indentation matters in code); blank ones are absent.
        answers.fields.retain(|_, value| !value.trim().is_empty());
        answers.language = present(answers.language);
        Ok(Report {
            organisation: present(draft.organisation),
            product: draft.product.trim().to_owned(),
            title: title.to_owned(),
            description: draft.description,
            reporter_contact,
            answers,
            channel: draft.channel,
        })
    }

    /// Checks an API request; the error names the first field to blame.
    pub fn parse(request: ReportRequest) -> Result<Report, DeskError> {
        Report::check(Draft {
            organisation: request.organisation,
            product: request.product,
            title: request.title,
            description: request.description,
            reporter_contact: request.reporter_contact,
            answers: Answers {
                fields: request.fields,
                language: request.language,
                attachments: Vec::new(),
                openpgp_key: request.openpgp_key,
            },
            channel: Channel::Api,
        })
        .map_err(first)
    }

    /// A report built in code (the demo data); checked like any other.
    pub fn new(
        organisation: Option<&str>,
        product: &str,
        title: &str,
        description: &str,
    ) -> Result<Report, DeskError> {
        Report::parse(ReportRequest {
            organisation: organisation.map(str::to_owned),
            product: product.to_owned(),
            title: title.to_owned(),
            description: description.to_owned(),
            reporter_contact: None,
            openpgp_key: None,
            fields: BTreeMap::new(),
            language: None,
        })
    }
}

fn first(mut problems: Vec<DeskError>) -> DeskError {
    if problems.is_empty() {
        DeskError::Internal("a check failed without naming a problem".to_owned())
    } else {
        problems.swap_remove(0)
    }
}

fn check_title(title: &str) -> Result<(), DeskError> {
    non_blank("title", title)?;
    let chars = title.chars().count();
    if chars > TITLE_MAX_CHARS {
        return Err(invalid(
            "title",
            format!("title is {chars} characters long; at most {TITLE_MAX_CHARS} are allowed"),
        ));
    }
    Ok(())
}

fn check_description(description: &str) -> Result<(), DeskError> {
    non_blank("description", description)?;
    let bytes = description.len();
    if bytes > DESCRIPTION_MAX_BYTES {
        return Err(invalid(
            "description",
            format!(
                "description is {bytes} bytes long; at most {DESCRIPTION_MAX_BYTES} are allowed"
            ),
        ));
    }
    Ok(())
}

fn check_contact(contact: &str) -> Result<(), DeskError> {
    let chars = contact.chars().count();
    if chars > CONTACT_MAX_CHARS {
        return Err(invalid(
            "reporter_contact",
            format!(
                "reporter_contact is {chars} characters long; at most {CONTACT_MAX_CHARS} are allowed"
            ),
        ));
    }
    Ok(())
}

fn non_blank(field: &str, value: &str) -> Result<(), DeskError> {
    if value.trim().is_empty() {
        return Err(invalid(field, format!("{field} must not be empty")));
    }
    Ok(())
}

fn present(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn invalid(field: &str, message: String) -> DeskError {
    DeskError::InvalidField {
        field: field.to_owned(),
        message,
    }
}

/// The form field that carries the answer to the policy field `id`.
pub fn field_name(id: &str) -> String {
    format!("fields.{id}")
}

/// The form field for files that answer no particular policy field.
pub const ATTACHMENTS_FIELD: &str = "attachments";

/// What `answers` get wrong under `policy`: answers to fields it does not ask, answers too
/// long for their kind, files beyond its limits, a language it does not offer and, for
/// reports from the form, required fields left empty (API clients predate the policy's
/// fields and send everything in the description, so for them the fields are optional).
pub fn policy_problems(policy: &Policy, answers: &Answers, channel: Channel) -> Vec<DeskError> {
    let intake = &policy.intake;
    let mut problems = Vec::new();
    if !intake.offers(channel.as_str()) {
        problems.push(DeskError::ChannelNotOffered {
            organisation: policy.organisation.name.clone(),
            channel: channel.words(),
            offered: intake.offered_channels(),
        });
    }
    let known = || {
        let ids: Vec<String> = intake
            .fields
            .iter()
            .filter(|f| f.kind != FieldKind::Attachment)
            .map(|f| format!("`{}`", f.id))
            .collect();
        if ids.is_empty() {
            "no fields".to_owned()
        } else {
            format!("one of {}", ids.join(", "))
        }
    };
    for (id, value) in &answers.fields {
        let name = field_name(id);
        let kind = intake
            .fields
            .iter()
            .find(|f| f.id.as_str() == id)
            .map(|f| f.kind);
        match kind {
            None => problems.push(DeskError::UnknownField {
                field: name,
                expected: known(),
            }),
            Some(FieldKind::Attachment) => problems.push(invalid(
                &name,
                format!("{name} asks for a file; attach it with the report form"),
            )),
            Some(FieldKind::Line) if value.contains('\n') => {
                problems.push(invalid(&name, format!("{name} must be a single line")));
            }
            Some(FieldKind::Line) if value.chars().count() > LINE_MAX_CHARS => {
                problems.push(invalid(
                    &name,
                    format!("{name} is longer than {LINE_MAX_CHARS} characters"),
                ));
            }
            Some(FieldKind::Text) if value.len() > DESCRIPTION_MAX_BYTES => {
                problems.push(invalid(
                    &name,
                    format!("{name} is longer than {DESCRIPTION_MAX_BYTES} bytes"),
                ));
            }
            Some(_) => {}
        }
    }
    problems.extend(file_problems(policy, &answers.attachments));
    if channel == Channel::Web {
        for f in intake.fields.iter().filter(|f| f.required) {
            let name = field_name(f.id.as_str());
            let answered = match f.kind {
                FieldKind::Attachment => answers.attachments.iter().any(|u| u.field == name),
                _ => answers.fields.contains_key(f.id.as_str()),
            };
            if !answered {
                problems.push(DeskError::MissingField(name));
            }
        }
    }
    if let Some(language) = &answers.language {
        problems.extend(language_problem(policy, language));
    }
    problems
}

/// Files only where the policy asks for them (one per attachment field), within its limits.
pub fn file_problems(policy: &Policy, uploads: &[Upload]) -> Vec<DeskError> {
    let limits = Limits::of(&policy.intake);
    let mut problems = Vec::new();
    for (i, u) in uploads.iter().enumerate() {
        let for_field = policy
            .intake
            .fields
            .iter()
            .any(|f| f.kind == FieldKind::Attachment && field_name(f.id.as_str()) == u.field);
        if u.field != ATTACHMENTS_FIELD && !for_field {
            problems.push(invalid(&u.field, format!("{} takes no file", u.field)));
        } else if for_field && uploads[..i].iter().any(|v| v.field == u.field) {
            problems.push(invalid(&u.field, format!("{} takes one file", u.field)));
        } else if i >= limits.files as usize {
            problems.push(DeskError::TooManyAttachments {
                field: u.field.clone(),
                limit: limits.files,
            });
        } else if u.file.data.len() as u64 > limits.file_bytes {
            problems.push(DeskError::AttachmentTooLarge {
                field: u.field.clone(),
                filename: u.file.filename.clone(),
                limit: limits.file_bytes,
            });
        }
    }
    problems
}

fn language_problem(policy: &Policy, language: &str) -> Option<DeskError> {
    let offered = &policy.organisation.preferred_languages;
    if offered.is_empty() {
        let tag = language.len() <= LANGUAGE_MAX_CHARS
            && language
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        return (!tag).then(|| {
            invalid(
                "language",
                format!(
                    "language {} is not a language tag such as \"en\"",
                    quoted(language)
                ),
            )
        });
    }
    (!offered.iter().any(|l| l.eq_ignore_ascii_case(language))).then(|| {
        invalid(
            "language",
            format!(
                "language {} is not one this organisation reads; expected one of {}",
                quoted(language),
                offered.join(", ")
            ),
        )
    })
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
/// version, checked against it, with its `reported` event, one `attachment_added` event and
/// stored file per attachment, and its projection written in one transaction.
impl Desk {
    /// Opens a case for `report`, see the module's documentation.
    pub async fn submit(&self, report: Report, at: Timestamp) -> Result<Submitted, DeskError> {
        let state = self;
        let product = resolve_product(
            &state.store,
            report.organisation.as_deref(),
            &report.product,
        )
        .await?;
        let latest = product.policy_version_id.ok_or_else(|| {
            DeskError::Internal(format!("organisation {} has no policy", product.org_slug))
        })?;
        let pinned = state.policy(latest).await?;
        if let Some(problem) = policy_problems(&pinned.policy, &report.answers, report.channel)
            .into_iter()
            .next()
        {
            return Err(problem);
        }
        let Answers {
            mut fields,
            language,
            attachments: uploads,
            openpgp_key,
        } = report.answers;
        let key = openpgp_key
            .map(|armored| reporter_key(&armored).map(|key| (key, armored)))
            .transpose()?;
        // An attachment field's answer is the file's hash: the file itself is in the case.
        for u in &uploads {
            if let Some(id) = u.field.strip_prefix("fields.") {
                fields.insert(id.to_owned(), u.file.sha256());
            }
        }
        let (files_added, files) = crate::attachments::record(uploads, REPORTER);
        // The tag is drawn before the case exists so the receipt, addressed from the case's
        // own reply address, is queued in the case's transaction.
        let reply_tag = new_reply_tag()?;
        let receipt = queue_receipt(
            &pinned.policy,
            &reply_tag,
            report.reporter_contact.as_deref(),
            language.as_deref(),
            &report.title,
            key.as_ref().map(|(key, _)| key),
            at,
        )?;
        let mut events = vec![Event::Reported {
            product: product.slug.clone(),
            title: report.title,
            description: report.description,
            reporter_contact: report.reporter_contact,
            channel: report.channel,
            fields,
            language,
        }];
        events.extend(files_added);
        let mut effects = Effects {
            attachments: files,
            ..Effects::default()
        };
        if let Some((key, armored)) = key {
            events.push(Event::ReporterKeySet {
                fingerprint: key.fingerprint(),
            });
            effects.reporter_key = Some(NewReporterKey {
                fingerprint: key.fingerprint(),
                armored,
            });
        }
        if let Some(queued) = receipt {
            events.push(Event::ReceiptSent);
            effects.jobs.push(queued.job);
            effects.thread_ids.push(queued.message_id);
        }
        let token = ReporterToken::generate()?;
        let case = state
            .open(Opening {
                product_id: product.id,
                policy: pinned,
                reporter_token_hash: token.hash(),
                reply_tag,
                at,
                actor: Actor::Reporter,
                events,
                effects,
            })
            .await?;
        Ok(Submitted {
            case_id: case.id,
            token,
        })
    }
}

/// The automatic receipt for a reporter who left an e-mail address, when the policy has a
/// receipt text. A contact that is not an e-mail address (a handle, a URL) gets none: the
/// reporter follows the case in the portal.
fn queue_receipt(
    policy: &Policy,
    reply_tag: &str,
    contact: Option<&str>,
    language: Option<&str>,
    title: &str,
    encrypt_to: Option<&PublicKey>,
    at: Timestamp,
) -> Result<Option<receipt::Queued>, DeskError> {
    let Some(email) = contact.and_then(|c| EmailAddress::parse(c).ok()) else {
        return Ok(None);
    };
    let languages: Vec<String> = language.map(str::to_owned).into_iter().collect();
    // Fresh OS randomness, as for tokens: Message-IDs must not be guessable either.
    let random = ReporterToken::generate()?;
    let answering = receipt::Answering {
        reply_tag,
        to: Mailbox {
            name: None,
            email: email.as_str().to_owned(),
        },
        languages: &languages,
        subject: title,
        in_reply_to: None,
        references: Vec::new(),
        at,
        random_hex: &random.as_str()[..32],
    };
    Ok(
        receipt::receipt(policy, answering, encrypt_to).and_then(|queued| {
            queued
                .inspect_err(
                    |e| tracing::info!(error = %e, "no automatic receipt for this contact"),
                )
                .ok()
        }),
    )
}

/// A reporter's public key, checked now (not expired, not revoked, able to encrypt).
fn reporter_key(armored: &str) -> Result<PublicKey, DeskError> {
    PublicKey::parse(armored, Timestamp::now()).map_err(|e| {
        invalid(
            "openpgp_key",
            format!("openpgp_key is not a usable OpenPGP public key: {e}"),
        )
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
) -> Result<ProductRow, DeskError> {
    let unknown = |field, message| DeskError::UnknownProduct { field, message };
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
        _ => Err(DeskError::AmbiguousProduct {
            product: product.to_owned(),
            organisations: matches
                .iter()
                .map(|p| p.org_slug.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: &DeskError) -> (&'static str, String) {
        match e {
            DeskError::MissingField(f) => ("missing", f.clone()),
            DeskError::UnknownField { field, .. } => ("unknown", field.clone()),
            DeskError::InvalidField { field, .. } => ("invalid", field.clone()),
            other => panic!("unexpected {other:?}"),
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
    fn a_draft_reports_every_problem_at_once() {
        let problems = Report::check(Draft {
            organisation: None,
            product: "p".into(),
            title: " ".into(),
            description: String::new(),
            reporter_contact: Some("x".repeat(CONTACT_MAX_CHARS + 1)),
            answers: Answers::default(),
            channel: Channel::Web,
        })
        .unwrap_err();
        let fields: Vec<_> = problems.iter().map(|e| e.field().unwrap()).collect();
        assert_eq!(fields, ["title", "description", "reporter_contact"]);
    }

    fn sangoma() -> Policy {
        let source = include_str!("../../../policies/sangoma.toml");
        Policy::parse("sangoma.toml", source).unwrap()
    }

    fn problem_fields(problems: &[DeskError]) -> Vec<(&str, &str)> {
        problems
            .iter()
            .map(|e| {
                let code = match e {
                    DeskError::MissingField(_) => "missing",
                    DeskError::UnknownField { .. } => "unknown",
                    DeskError::InvalidField { .. } => "invalid",
                    DeskError::TooManyAttachments { .. } => "too_many",
                    DeskError::AttachmentTooLarge { .. } => "too_large",
                    other => panic!("{other:?}"),
                };
                (code, e.field().unwrap())
            })
            .collect()
    }

    #[test]
    fn required_fields_are_enforced_for_the_form_only() {
        // Kamailio (seed 002) demands a summary and an explanation; Sangoma (000) asks for
        // "as much ... as you can", which requires nothing.
        let empty = Answers::default();
        assert!(policy_problems(&sangoma(), &empty, Channel::Web).is_empty());
        let kamailio = Policy::parse(
            "kamailio.toml",
            include_str!("../../../policies/kamailio.toml"),
        )
        .unwrap();
        assert!(policy_problems(&kamailio, &empty, Channel::Api).is_empty());
        let missing = policy_problems(&kamailio, &empty, Channel::Web);
        assert_eq!(
            problem_fields(&missing),
            [
                ("missing", "fields.summary"),
                ("missing", "fields.explanation"),
            ]
        );
    }

    #[test]
    fn answers_must_fit_the_policy_fields_and_limits() {
        let policy = sangoma();
        let file = |field: &str, size: usize| Upload::new(field, "f", None, vec![b'x'; size]);
        let answers = Answers {
            fields: BTreeMap::from([
                ("issue_type".to_owned(), "two\nlines".to_owned()),
                ("proof_of_concept".to_owned(), "text".to_owned()),
                ("colour".to_owned(), "blue".to_owned()),
            ]),
            language: Some("tlh".to_owned()),
            openpgp_key: None,
            attachments: vec![
                file("fields.steps", 1),
                file("fields.proof_of_concept", 1),
                file("fields.proof_of_concept", 1),
                file("attachments", 10 * 1024 * 1024 + 1),
                file("attachments", 1),
                file("attachments", 1),
            ],
        };
        let problems = policy_problems(&policy, &answers, Channel::Api);
        assert_eq!(
            problem_fields(&problems),
            [
                ("unknown", "fields.colour"),
                ("invalid", "fields.issue_type"),
                ("invalid", "fields.proof_of_concept"),
                ("invalid", "fields.steps"),
                ("invalid", "fields.proof_of_concept"),
                ("too_large", "attachments"),
                ("too_many", "attachments"),
                ("invalid", "language"),
            ]
        );
    }
}
