//! Reporting to a third-party vendor (an outbound case): the form at `/outbound/new` and
//! `POST /api/v1/outbound`, over the desk's [`vulndesk_desk::outbound`].

use askama::Template;
use axum::Form;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use vulndesk_desk::outbound::OutboundReport;

use crate::authz::{Caller, SignedIn};
use crate::pages::{no_store, render};
use crate::team::api::form_fields;
use crate::{ApiError, AppState, PageError, json_body};

/// The body of `POST /api/v1/outbound`, and the form's fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    organisation: String,
    #[serde(default)]
    product: Option<String>,
    vendor: String,
    vendor_product: String,
    contact: String,
    #[serde(default)]
    openpgp_key: Option<String>,
    title: String,
    description: String,
}

impl From<Request> for OutboundReport {
    fn from(r: Request) -> OutboundReport {
        let blank = |t: Option<String>| t.filter(|t| !t.trim().is_empty());
        OutboundReport {
            organisation: r.organisation,
            product: blank(r.product),
            vendor: r.vendor,
            vendor_product: r.vendor_product,
            contact: r.contact,
            openpgp_key: blank(r.openpgp_key),
            title: r.title,
            description: r.description,
        }
    }
}

const FIELDS: &str =
    "organisation, product, vendor, vendor_product, contact, openpgp_key, title, description";

/// `POST /api/v1/outbound`: opens an outbound case and sends the vendor the report; 201 with
/// the case's id.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let value: serde_json::Value = json_body::read(&headers, body, FIELDS)?;
    let bytes = serde_json::to_vec(&value).map_err(|e| ApiError::Internal(e.to_string()))?;
    let request: Request = json_body::parse(&bytes, FIELDS)?;
    let who = caller.person()?;
    let opened = state
        .desk
        .report_outbound(request.into(), &who.user, jiff::Timestamp::now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": opened.case_id,
            "state": opened.sent.state.as_str(),
            "seq": opened.sent.seq,
        })),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "team/outbound.html")]
struct OutboundPage {
    me: String,
    demo: bool,
    csrf: String,
    error: Option<String>,
    /// `(slug, name)` of the organisations the person reports for.
    orgs: Vec<(String, String)>,
    typed: Vec<(String, String)>,
}

impl OutboundPage {
    fn typed(&self, name: &str) -> &str {
        self.typed
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

async fn page(
    state: &AppState,
    who: &SignedIn,
    error: Option<String>,
    typed: Vec<(String, String)>,
) -> Result<OutboundPage, ApiError> {
    let mut orgs: Vec<(String, String)> = Vec::new();
    for p in state.store.list_products().await? {
        let member = who.person.admin || who.person.orgs.contains_key(&p.org_id);
        if member && !orgs.iter().any(|(slug, _)| *slug == p.org_slug) {
            orgs.push((p.org_slug, p.org_name));
        }
    }
    Ok(OutboundPage {
        me: who.user.name.clone(),
        demo: who.user.demo,
        csrf: who.csrf.clone().unwrap_or_default(),
        error,
        orgs,
        typed,
    })
}

/// `GET /outbound/new`: the form for reporting to a vendor.
pub async fn show(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    let who = caller.person()?;
    Ok(no_store(render(
        StatusCode::OK,
        &page(&state, who, None, Vec::new()).await?,
    )?))
}

/// `POST /outbound/new`: opens the case and goes to it, or shows the form again with what
/// was typed and what is wrong.
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let who = caller.person()?;
    let typed: Vec<(String, String)> = fields.into_iter().filter(|(k, _)| k != "csrf").collect();
    // The form's pairs are read with the API's field struct and the same normalisation.
    let opened = match form_fields::<Request>(&typed, FIELDS) {
        Ok(request) => state
            .desk
            .report_outbound(request.into(), &who.user, jiff::Timestamp::now())
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match opened {
        Ok(opened) => Ok(Redirect::to(&format!("/cases/{}", opened.case_id)).into_response()),
        Err(e) => {
            if !e.status().is_client_error() {
                return Err(e.into());
            }
            let status = e.status();
            let page = page(&state, who, Some(e.to_string()), typed).await?;
            Ok(no_store(render(status, &page)?))
        }
    }
}
