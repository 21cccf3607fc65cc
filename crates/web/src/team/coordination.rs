//! An organisation's registry of parties (vendors, distributions, service providers): the
//! pages at `/orgs/{org}/parties` and the API at `/api/v1/orgs/{org}/parties`, over the
//! desk's [`vulndesk_desk::coordination`]. Its officers change it; its members read it.

use askama::Template;
use axum::Form;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use vulndesk_core::access::OrgRole;
use vulndesk_core::coordination::{PartyInput, PartyKind};
use vulndesk_desk::coordination::{PartyEntry, PartyView};
use vulndesk_store::{IfExists, Organisation, PartyRow};

use crate::authz::{Caller, SignedIn};
use crate::pages::{no_store, render};
use crate::team::api::form_fields;
use crate::{ApiError, AppState, PageError, json_body};

/// The body of `POST /api/v1/orgs/{org}/parties` and `PUT …/{party}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(default)]
    slug: Option<String>,
    name: String,
    kind: String,
    contacts: Vec<String>,
    #[serde(default)]
    products: Vec<String>,
    #[serde(default)]
    embargo: Option<String>,
    #[serde(default)]
    terms: Option<String>,
    /// An ASCII-armoured OpenPGP public key.
    #[serde(default)]
    key: Option<String>,
}

const FIELDS: &str = "slug, name, kind, contacts, products, embargo, terms, key";

impl From<Request> for PartyEntry {
    fn from(r: Request) -> PartyEntry {
        PartyEntry {
            input: PartyInput {
                slug: r.slug,
                name: r.name,
                kind: r.kind,
                contacts: r.contacts,
                products: r.products,
                embargo: r.embargo,
                terms: r.terms,
            },
            key: r.key,
        }
    }
}

/// The page's form: lists are typed one item per line (or separated by commas for
/// addresses).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageForm {
    #[serde(default)]
    slug: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    contacts: String,
    #[serde(default)]
    products: String,
    #[serde(default)]
    embargo: Option<String>,
    #[serde(default)]
    terms: Option<String>,
    #[serde(default)]
    key: Option<String>,
}

impl From<PageForm> for PartyEntry {
    fn from(f: PageForm) -> PartyEntry {
        let items = |text: &str, separators: &[char]| -> Vec<String> {
            text.split(separators)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        PartyEntry {
            input: PartyInput {
                slug: f.slug,
                name: f.name,
                kind: f.kind,
                contacts: items(&f.contacts, &['\n', ',', ';']),
                products: items(&f.products, &['\n']),
                embargo: f.embargo,
                terms: f.terms,
            },
            key: f.key,
        }
    }
}

async fn read_request(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<PartyEntry, ApiError> {
    let value: serde_json::Value = json_body::read(headers, body, FIELDS)?;
    let bytes = serde_json::to_vec(&value).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(json_body::parse::<Request>(&bytes, FIELDS)?.into())
}

/// `GET /api/v1/orgs/{org}/parties`: the registry.
pub async fn api_list(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let parties = state.desk.parties(caller.org()?).await?;
    let list: Vec<PartyView> = parties.iter().map(PartyView::of).collect();
    Ok(Json(json!({ "parties": list })).into_response())
}

/// `POST /api/v1/orgs/{org}/parties`: adds a party; 201 with the entry, 409 if its slug is
/// taken.
pub async fn api_add(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let entry = read_request(&headers, body).await?;
    let (row, _) = state
        .desk
        .put_party(
            caller.org()?,
            &entry,
            IfExists::Refuse,
            jiff::Timestamp::now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(PartyView::of(&row))).into_response())
}

/// `GET /api/v1/orgs/{org}/parties/{party}`: one entry.
pub async fn api_show(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, slug)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let row = state.desk.party(caller.org()?, &slug).await?;
    Ok(Json(PartyView::of(&row)).into_response())
}

/// `PUT /api/v1/orgs/{org}/parties/{party}`: replaces an entry (its slug stays); a key left
/// out keeps the party's key.
pub async fn api_edit(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, slug)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let entry = read_request(&headers, body).await?;
    let row = state
        .desk
        .edit_party(caller.org()?, &slug, &entry, jiff::Timestamp::now())
        .await?;
    Ok(Json(PartyView::of(&row)).into_response())
}

/// The statuses a status form offers, as `(value, label)`.
pub(crate) fn status_choices() -> Vec<(&'static str, &'static str)> {
    use vulndesk_core::coordination::VexStatus;
    VexStatus::ALL
        .iter()
        .map(|s| (s.as_str(), s.label()))
        .collect()
}

/// The justifications a status form offers for "not affected", as `(value, label)`.
pub(crate) fn justification_choices() -> Vec<(&'static str, &'static str)> {
    use vulndesk_core::coordination::Justification;
    Justification::ALL
        .iter()
        .map(|j| (j.as_str(), j.label()))
        .collect()
}

/// One row of the registry's table.
struct Listed {
    slug: String,
    name: String,
    kind: &'static str,
    contacts: String,
    products: String,
    embargo: String,
    key: String,
}

#[derive(Template)]
#[template(path = "team/parties.html")]
struct PartiesPage {
    me: String,
    demo: bool,
    csrf: String,
    org_slug: String,
    org_name: String,
    /// Officers change the registry; members only read it.
    manages: bool,
    parties: Vec<Listed>,
    /// The party being edited, when the page is one party's.
    editing: Option<String>,
    /// The accounts that answer for the party being edited: (address, name).
    accounts: Vec<(String, String)>,
    error: Option<String>,
    typed: Vec<(String, String)>,
    kinds: Vec<(&'static str, &'static str)>,
}

impl PartiesPage {
    fn typed(&self, name: &str) -> &str {
        self.typed
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

fn label(kind: &str) -> &'static str {
    match PartyKind::parse(kind) {
        Some(PartyKind::Vendor) => "Vendor",
        Some(PartyKind::Distribution) => "Distribution",
        Some(PartyKind::ServiceProvider) => "Service provider",
        None => "",
    }
}

/// What the form shows for a stored entry.
fn typed_from(row: &PartyRow) -> Vec<(String, String)> {
    let p = &row.party;
    vec![
        ("slug".into(), p.slug.clone()),
        ("name".into(), p.name.clone()),
        ("kind".into(), p.kind.clone()),
        ("contacts".into(), p.contacts.join("\n")),
        ("products".into(), p.products.join("\n")),
        ("embargo".into(), p.embargo.clone().unwrap_or_default()),
        ("terms".into(), p.terms.clone()),
    ]
}

async fn page(
    state: &AppState,
    who: &SignedIn,
    org: &Organisation,
    editing: Option<String>,
    error: Option<String>,
    typed: Vec<(String, String)>,
) -> Result<PartiesPage, ApiError> {
    let parties = state
        .desk
        .parties(org)
        .await?
        .iter()
        .map(|row| {
            let p = &row.party;
            Listed {
                slug: p.slug.clone(),
                name: p.name.clone(),
                kind: label(&p.kind),
                contacts: p.contacts.join(", "),
                products: p.products.join(", "),
                embargo: p.embargo.clone().unwrap_or_default(),
                key: p.key.as_ref().map(|(f, _)| f.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let accounts = match &editing {
        Some(slug) => {
            let row = state.desk.party(org, slug).await?;
            state
                .desk
                .party_accounts(&row)
                .await?
                .into_iter()
                .map(|(_, email, name)| (email, name))
                .collect()
        }
        None => Vec::new(),
    };
    Ok(PartiesPage {
        me: who.user.name.clone(),
        demo: who.user.demo,
        csrf: who.csrf.clone().unwrap_or_default(),
        org_slug: org.slug.clone(),
        org_name: org.name.clone(),
        manages: who.person.admin || who.person.orgs.get(&org.id) == Some(&OrgRole::Officer),
        parties,
        editing,
        accounts,
        error,
        typed,
        kinds: PartyKind::ALL
            .iter()
            .map(|k| (k.as_str(), label(k.as_str())))
            .collect(),
    })
}

/// `GET /orgs/{org}/parties`: the registry, and (for officers) the form to add a party.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    let who = caller.person()?;
    let page = page(&state, who, caller.org()?, None, None, Vec::new()).await?;
    Ok(no_store(render(StatusCode::OK, &page)?))
}

/// `GET /orgs/{org}/parties/{party}`: one party, in the form to edit it.
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, slug)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let who = caller.person()?;
    let org = caller.org()?;
    let row = state.desk.party(org, &slug).await.map_err(ApiError::from)?;
    let page = page(&state, who, org, Some(slug), None, typed_from(&row)).await?;
    Ok(no_store(render(StatusCode::OK, &page)?))
}

/// `POST /orgs/{org}/parties`: adds a party and shows the registry, or the form again with
/// what was typed and what is wrong.
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    submit(&state, &caller, None, fields).await
}

/// `POST /orgs/{org}/parties/{party}`: saves an edit.
pub async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, slug)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    submit(&state, &caller, Some(slug), fields).await
}

async fn submit(
    state: &AppState,
    caller: &Caller,
    editing: Option<String>,
    fields: Vec<(String, String)>,
) -> Result<Response, PageError> {
    let who = caller.person()?;
    let org = caller.org()?;
    let typed: Vec<(String, String)> = fields.into_iter().filter(|(k, _)| k != "csrf").collect();
    let now = jiff::Timestamp::now();
    let saved = match form_fields::<PageForm>(&typed, FIELDS) {
        Ok(form) => {
            let entry = PartyEntry::from(form);
            match &editing {
                Some(slug) => state.desk.edit_party(org, slug, &entry, now).await,
                None => state
                    .desk
                    .put_party(org, &entry, IfExists::Refuse, now)
                    .await
                    .map(|(row, _)| row),
            }
            .map_err(ApiError::from)
        }
        Err(e) => Err(e),
    };
    // The key is not shown again: a pasted key is long, and one that failed is pasted anew.
    let typed = typed.into_iter().filter(|(k, _)| k != "key").collect();
    let to = format!("/orgs/{}/parties", org.slug);
    back(state, who, org, editing, saved.map(drop), to, typed).await
}

/// Where a registry form leads: to `to` when it worked, else its page again (`editing`
/// one party, or the registry) with what went wrong and what was typed.
async fn back(
    state: &AppState,
    who: &SignedIn,
    org: &Organisation,
    editing: Option<String>,
    done: Result<(), ApiError>,
    to: String,
    typed: Vec<(String, String)>,
) -> Result<Response, PageError> {
    match done {
        Ok(()) => Ok(Redirect::to(&to).into_response()),
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
            let status = e.status();
            let page = page(state, who, org, editing, Some(e.to_string()), typed).await?;
            Ok(no_store(render(status, &page)?))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountForm {
    email: String,
    /// `link` or `unlink`.
    action: String,
}

/// `POST /orgs/{org}/parties/{party}/accounts`: links an account to the party, or unlinks
/// it; the party's page again, with what went wrong if anything did.
pub async fn accounts(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, slug)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let who = caller.person()?;
    let org = caller.org()?;
    let row = state.desk.party(org, &slug).await.map_err(ApiError::from)?;
    let typed: Vec<(String, String)> = fields.into_iter().filter(|(k, _)| k != "csrf").collect();
    let done = match form_fields::<AccountForm>(&typed, "email, action") {
        Ok(form) => match form.action.as_str() {
            "link" | "unlink" => state
                .desk
                .link_party_account(
                    &row,
                    &form.email,
                    form.action == "link",
                    &caller.actor().to_string(),
                )
                .await
                .map_err(ApiError::from),
            other => Err(ApiError::InvalidField {
                field: "action".into(),
                message: format!("action {other:?} is link or unlink"),
            }),
        },
        Err(e) => Err(e),
    };
    let to = format!("/orgs/{}/parties/{slug}#accounts", org.slug);
    back(
        &state,
        who,
        org,
        Some(slug),
        done.map(drop),
        to,
        typed_from(&row),
    )
    .await
}

fn accounts_json(accounts: Vec<(i64, String, String)>) -> Response {
    let list: Vec<_> = accounts
        .into_iter()
        .map(|(_, email, name)| json!({ "email": email, "name": name }))
        .collect();
    Json(json!({ "accounts": list })).into_response()
}

/// `GET /api/v1/orgs/{org}/parties/{party}/accounts`: who answers for the party.
pub async fn api_accounts(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, slug)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let row = state.desk.party(caller.org()?, &slug).await?;
    Ok(accounts_json(state.desk.party_accounts(&row).await?))
}

/// The body of `POST /api/v1/orgs/{org}/parties/{party}/accounts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkRequest {
    email: String,
    linked: bool,
}

/// `POST /api/v1/orgs/{org}/parties/{party}/accounts`: links (`"linked": true`) or unlinks
/// an account; who answers for the party after.
pub async fn api_link_account(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, slug)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: LinkRequest = json_body::read(&headers, body, "email, linked")?;
    let row = state.desk.party(caller.org()?, &slug).await?;
    let accounts = state
        .desk
        .link_party_account(
            &row,
            &request.email,
            request.linked,
            &caller.actor().to_string(),
        )
        .await?;
    Ok(accounts_json(accounts))
}

/// `POST /orgs/{org}/parties/{party}/wkd`: looks the party's key up in its contacts' Web
/// Key Directories and keeps the first usable one; the party's page, saying what was found
/// or what each directory answered.
pub async fn find_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, slug)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let who = caller.person()?;
    let org = caller.org()?;
    let found = state
        .desk
        .find_party_key(org, &slug, jiff::Timestamp::now())
        .await
        .map_err(ApiError::from);
    let row = state.desk.party(org, &slug).await.map_err(ApiError::from)?;
    let to = format!("/orgs/{}/parties/{slug}#key-found", org.slug);
    back(
        &state,
        who,
        org,
        Some(slug),
        found.map(drop),
        to,
        typed_from(&row),
    )
    .await
}

/// `POST /api/v1/orgs/{org}/parties/{party}/wkd`: as [`find_key`]; the entry with its new
/// key and where it was found, or 422 naming `key` with what each directory answered.
pub async fn api_find_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, slug)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (row, url) = state
        .desk
        .find_party_key(caller.org()?, &slug, jiff::Timestamp::now())
        .await?;
    Ok(Json(json!({ "party": PartyView::of(&row), "found_at": url })).into_response())
}
