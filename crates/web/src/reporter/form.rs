//! The report form of an organisation: `GET` and `POST /o/{org}/report`, public.
//!
//! The form asks what the organisation's latest policy asks (`[[intake.field]]`), in the
//! languages it reads, and goes through the desk's `submit` like the API. A failed submission
//! is shown again with every typed value kept and each error next to its field (422, or 413
//! when a file was over the policy's limits).
//!
//! The `website` field is a honeypot: hidden from people (visually, from assistive
//! technology and from the tab order) but filled in by form-spamming bots. A submission
//! that fills it gets a success page exactly like a real one, with a token that opens
//! nothing, and nothing is stored; the server logs one line saying so.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use serde::Deserialize;
use vulndesk_core::policy::FieldKind;
use vulndesk_store::{Organisation, ProductRow};

use crate::attachments::Limits;
use crate::error::human_size;
use crate::intake::{self, ATTACHMENTS_FIELD, Answers, Channel, Draft, Report, field_name};
use crate::multipart::{self, FormData};
use crate::pages::{self, Choice, Control, ErrorLink, Widget};
use crate::reporter::ReporterToken;
use crate::{ApiError, AppState, PageError};
use vulndesk_core::email::EmailAddress;
use vulndesk_desk::PinnedPolicy;

/// The honeypot's field name.
const HONEYPOT: &str = "website";

/// `?product=slug` fixes the product the form is about.
#[derive(Debug, Deserialize)]
pub struct ProductQuery {
    product: Option<String>,
}

/// An organisation taking reports: its products and its latest policy.
struct Desk {
    org: Organisation,
    products: Vec<ProductRow>,
    pinned: Arc<PinnedPolicy>,
    /// The product the address fixed, if any.
    fixed: Option<ProductRow>,
}

/// The desk of `org`; an unknown organisation, one without a policy, or a fixed product it
/// does not have are all the plain 404.
async fn desk(
    state: &AppState,
    org: &str,
    query: Result<Query<ProductQuery>, QueryRejection>,
) -> Result<Desk, ApiError> {
    let org = state
        .store
        .organisation_by_slug(org)
        .await?
        .ok_or(ApiError::NotFound)?;
    let latest = state
        .store
        .latest_policy(org.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let pinned = state.desk.parse_policy(&latest)?;
    let products: Vec<ProductRow> = state
        .store
        .list_products()
        .await?
        .into_iter()
        .filter(|p| p.org_id == org.id)
        .collect();
    let fixed = match query.map_err(|_| ApiError::NotFound)?.0.product {
        Some(slug) => Some(
            products
                .iter()
                .find(|p| p.slug == slug)
                .cloned()
                .ok_or(ApiError::NotFound)?,
        ),
        None => None,
    };
    Ok(Desk {
        org,
        products,
        pinned,
        fixed,
    })
}

impl Desk {
    fn action(&self) -> String {
        match &self.fixed {
            Some(p) => format!("/o/{}/report?product={}", self.org.slug, p.slug),
            None => format!("/o/{}/report", self.org.slug),
        }
    }

    fn limits(&self) -> Limits {
        Limits::of(&self.pinned.policy.intake)
    }

    /// Every control of the form, in order, holding the values in `typed`.
    fn controls(&self, typed: &dyn Fn(&str) -> String) -> Vec<Control> {
        let policy = &self.pinned.policy;
        let limits = self.limits();
        let per_file = human_size(limits.file_bytes);
        let mut controls = Vec::new();
        if self.fixed.is_none() {
            let mut options = vec![Choice {
                value: String::new(),
                label: "Choose a product".to_owned(),
            }];
            options.extend(self.products.iter().map(|p| Choice {
                value: p.slug.clone(),
                label: p.name.clone(),
            }));
            controls.push(
                Control::new("product", "Product", Widget::Select)
                    .required()
                    .options(options),
            );
        }
        controls.push(
            Control::new("title", "Title", Widget::Line)
                .required()
                .hint(format!(
                    "One line saying what is wrong, at most {} characters.",
                    intake::TITLE_MAX_CHARS
                )),
        );
        controls.push(
            Control::new("description", "Description", Widget::Text)
                .required()
                .hint("What is affected (versions, configuration), how to reproduce it, and what an attacker gains."),
        );
        controls.push(
            Control::new("reporter_contact", "Your e-mail address", Widget::Email).hint(
                "If you want us to write to you. Without it, follow your report with the secret link you get next.",
            ),
        );
        controls.push(
            Control::new("openpgp_key", "Your OpenPGP public key", Widget::Text).hint(
                "If you want mail about this report encrypted to you: ASCII-armoured, starting with -----BEGIN PGP PUBLIC KEY BLOCK-----.",
            ),
        );
        let languages = &policy.organisation.preferred_languages;
        if !languages.is_empty() {
            let mut options = vec![Choice {
                value: String::new(),
                label: "No preference".to_owned(),
            }];
            options.extend(languages.iter().map(|tag| Choice {
                value: tag.clone(),
                label: language_name(tag),
            }));
            controls.push(
                Control::new("language", "Language", Widget::Select)
                    .hint("The language you would like us to write to you in.")
                    .options(options),
            );
        }
        for f in &policy.intake.fields {
            let name = field_name(f.id.as_str());
            let (widget, size_hint) = match f.kind {
                FieldKind::Text => (Widget::Text, None),
                FieldKind::Line => (Widget::Line, None),
                FieldKind::Attachment => {
                    (Widget::File, Some(format!("One file, at most {per_file}.")))
                }
            };
            let hint = [f.help.clone(), size_hint]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let mut control = Control::new(&name, &f.label, widget);
            if f.required {
                control = control.required();
            }
            if !hint.is_empty() {
                control = control.hint(hint);
            }
            controls.push(control);
        }
        if limits.files > 0 {
            controls.push(
                Control::new(ATTACHMENTS_FIELD, "Other files", Widget::Files).hint(format!(
                    "Up to {} files in all, at most {per_file} each: logs, captures, proof-of-concept code.",
                    limits.files
                )),
            );
        }
        controls
            .into_iter()
            .map(|c| {
                let value = typed(&c.name);
                c.value(&value)
            })
            .collect()
    }

    fn page(&self, controls: Vec<Control>, errors: Vec<ErrorLink>, refill_files: bool) -> FormPage {
        FormPage {
            org_name: self.org.name.clone(),
            action: self.action(),
            product_fixed: self.fixed.as_ref().map(|p| p.name.clone()),
            not_via: either(&self.pinned.policy.intake.not_via),
            errors,
            controls,
            refill_files,
        }
    }
}

/// `a`, `a or b`, `a, b or c`.
fn either(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The names people know languages by, for the few tags the reference policies use; other
/// tags are shown as they are.
fn language_name(tag: &str) -> String {
    let name = match tag.to_ascii_lowercase().as_str() {
        "en" => "English",
        "nl" => "Nederlands",
        "de" => "Deutsch",
        "fr" => "Français",
        "es" => "Español",
        "it" => "Italiano",
        "pt" => "Português",
        _ => return tag.to_owned(),
    };
    format!("{name} ({tag})")
}

#[derive(Template)]
#[template(path = "report_form.html")]
struct FormPage {
    org_name: String,
    action: String,
    product_fixed: Option<String>,
    not_via: String,
    errors: Vec<ErrorLink>,
    controls: Vec<Control>,
    refill_files: bool,
}

#[derive(Template)]
#[template(path = "report_received.html")]
struct ReceivedPage<'a> {
    org_name: &'a str,
    case_id: i64,
    link: String,
    token: &'a str,
}

/// `GET /o/{org}/report[?product=slug]`: the empty form.
pub async fn show(
    State(state): State<AppState>,
    Path(org): Path<String>,
    query: Result<Query<ProductQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let desk = desk(&state, &org, query).await?;
    // The same refusal the submission would meet, before anyone types a report into it.
    let intake = &desk.pinned.policy.intake;
    if !intake.offers(Channel::Web.as_str()) {
        return Err(ApiError::ChannelNotOffered {
            organisation: desk.pinned.policy.organisation.name.clone(),
            channel: "report form",
            offered: intake.offered_channels(),
        }
        .into());
    }
    let controls = desk.controls(&|_| String::new());
    Ok(pages::render(
        StatusCode::OK,
        &desk.page(controls, Vec::new(), false),
    )?)
}

/// `POST /o/{org}/report[?product=slug]` (multipart/form-data): the success page with the
/// secret link, or the form again with its errors.
pub async fn submit(
    State(state): State<AppState>,
    Path(org): Path<String>,
    query: Result<Query<ProductQuery>, QueryRejection>,
    request: Request,
) -> Result<Response, PageError> {
    let desk = desk(&state, &org, query).await?;
    let mut form = multipart::read(request, desk.limits()).await?;
    let product = desk.fixed.as_ref().map_or_else(
        || form.text("product").trim().to_owned(),
        |p| p.slug.clone(),
    );
    let mut problems = form_problems(&desk, &mut form, &product);
    let draft = draft(&desk, &mut form, product);
    problems.extend(
        intake::policy_problems(&desk.pinned.policy, &draft.answers, Channel::Web)
            .into_iter()
            .map(ApiError::from),
    );
    let report = match Report::check(draft) {
        Ok(report) if problems.is_empty() => report,
        Ok(_) => return again(&desk, &form, problems),
        Err(own) => {
            let mut own: Vec<ApiError> = own.into_iter().map(ApiError::from).collect();
            own.extend(problems);
            return again(&desk, &form, own);
        }
    };
    if !form.text(HONEYPOT).trim().is_empty() {
        tracing::info!("report form honeypot filled; submission dropped");
        return Ok(received(
            &desk,
            decoy_case_id(&state).await?,
            &ReporterToken::generate()?,
        )?);
    }
    let submitted = state.desk.submit(report, Timestamp::now()).await?;
    Ok(received(&desk, submitted.case_id, &submitted.token)?)
}

/// What only the form checks: a product chosen among the organisation's, an e-mail address
/// that looks like one, files within the limits.
fn form_problems(desk: &Desk, form: &mut FormData, product: &str) -> Vec<ApiError> {
    let mut problems = Vec::new();
    if !desk.products.iter().any(|p| p.slug == product) {
        problems.push(ApiError::InvalidField {
            field: "product".to_owned(),
            message: "choose the product the vulnerability is in".to_owned(),
        });
    }
    let contact = form.text("reporter_contact").trim();
    if !contact.is_empty() && !looks_like_email(contact) {
        problems.push(ApiError::InvalidField {
            field: "reporter_contact".to_owned(),
            message: "enter an e-mail address such as name@example.org, or leave this empty"
                .to_owned(),
        });
    }
    problems.append(&mut form.refused);
    problems
}

/// An address a reporter can be reached at on the internet: [`EmailAddress`]'s rules,
/// and a domain with a dot (`a@example` is a typo here).
fn looks_like_email(text: &str) -> bool {
    EmailAddress::parse(text).is_ok_and(|a| a.is_internet_address())
}

/// The report as typed. The contact is stored as a `mailto:` URI, like the policy's own
/// contacts; the files move out of `form`.
fn draft(desk: &Desk, form: &mut FormData, product: String) -> Draft {
    let contact = form.text("reporter_contact").trim();
    let contact = contact.strip_prefix("mailto:").unwrap_or(contact);
    let fields: BTreeMap<String, String> = desk
        .pinned
        .policy
        .intake
        .fields
        .iter()
        .filter(|f| f.kind != FieldKind::Attachment)
        .map(|f| (f.id.to_string(), form.text(&field_name(f.id.as_str()))))
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(id, value)| (id, value.to_owned()))
        .collect();
    let language = form.text("language").trim();
    Draft {
        organisation: Some(desk.org.slug.clone()),
        product,
        title: form.text("title").to_owned(),
        description: form.text("description").to_owned(),
        reporter_contact: (!contact.is_empty()).then(|| format!("mailto:{contact}")),
        answers: Answers {
            fields,
            language: (!language.is_empty()).then(|| language.to_owned()),
            attachments: std::mem::take(&mut form.files),
            openpgp_key: Some(form.text("openpgp_key").to_owned()),
        },
        channel: Channel::Web,
    }
}

/// The form again, with what was typed and every problem.
fn again(desk: &Desk, form: &FormData, problems: Vec<ApiError>) -> Result<Response, PageError> {
    let mut controls = desk.controls(&|name| form.text(name).to_owned());
    let errors = pages::attach_errors(&mut controls, &problems);
    let page = desk.page(controls, errors, form.had_files());
    Ok(pages::render(pages::status_of(&problems), &page)?)
}

fn received(desk: &Desk, case_id: i64, token: &ReporterToken) -> Result<Response, ApiError> {
    let page = ReceivedPage {
        org_name: &desk.org.name,
        case_id,
        link: format!("/r/{case_id}/{}", token.as_str()),
        token: token.as_str(),
    };
    Ok(pages::no_store(pages::render(StatusCode::OK, &page)?))
}

/// A case number for the honeypot's answer that looks like the next real one.
async fn decoy_case_id(state: &AppState) -> Result<i64, ApiError> {
    Ok(state.store.count_cases().await? + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_checked_for_typos_only() {
        for ok in [
            "a@example.org",
            "mailto:a.b+c@sub.example.org",
            "ü@bücher.de",
        ] {
            assert!(looks_like_email(ok), "{ok}");
        }
        for bad in [
            "a",
            "a@",
            "@example.org",
            "a@example",
            "a b@example.org",
            "a@b@c.org",
            "a@.org",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }

    #[test]
    fn channels_to_avoid_read_as_a_sentence() {
        let items = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(either(&items(&[])), "");
        assert_eq!(either(&items(&["forums"])), "forums");
        assert_eq!(either(&items(&["a", "b", "c"])), "a, b or c");
    }

    #[test]
    fn languages_are_named_for_people() {
        assert_eq!(language_name("nl"), "Nederlands (nl)");
        assert_eq!(language_name("tlh"), "tlh");
    }
}
