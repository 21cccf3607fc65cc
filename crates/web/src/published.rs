//! Published advisories, for everyone: the organisation's list at `/o/{org}/advisories`,
//! each advisory's page at `/o/{org}/advisories/{number}`, and its exports beside it
//! (`cve.json`, `csaf.json`, `csaf-vex.json`, `osv.json`). A draft is not here at all: its
//! address answers 404 like any unknown one. What is shown is the desk's public rendering
//! ([`vulndesk_desk::Desk::public`]), which never holds the private fields.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vulndesk_core::advisory::lifecycle;
use vulndesk_core::advisory::{Advisory, ReferenceKind};
use vulndesk_desk::advisories::Format;

use crate::{ApiError, AppState, PageError, markdown, pages};

struct Listed {
    number: String,
    link: String,
    title: String,
    cve: String,
    published: String,
    withdrawn: bool,
}

#[derive(Template)]
#[template(path = "advisories.html")]
struct ListPage {
    org_name: String,
    org_slug: String,
    advisories: Vec<Listed>,
}

/// `GET /o/{org}/advisories`.
pub async fn list(
    State(state): State<AppState>,
    Path(org): Path<String>,
) -> Result<Response, PageError> {
    let organisation = state
        .store
        .organisation_by_slug(&org)
        .await?
        .ok_or(ApiError::NotFound)?;
    let advisories = state
        .desk
        .published_advisories(organisation.id)
        .await?
        .into_iter()
        .map(|(view, a)| Listed {
            link: view.public_path(),
            number: a.id.clone(),
            title: a.title.clone(),
            cve: a.cve.clone().unwrap_or_default(),
            published: a.published().map(day).unwrap_or_default(),
            withdrawn: a.withdrawn.is_some(),
        })
        .collect();
    let page = ListPage {
        org_name: organisation.name,
        org_slug: organisation.slug,
        advisories,
    };
    Ok(pages::render(StatusCode::OK, &page)?)
}

struct Line {
    product: String,
    line: String,
    introduced: String,
    fixed: String,
}

struct Shown {
    number: u32,
    at: String,
    note: String,
    changes: Vec<lifecycle::Change>,
}

#[derive(Template)]
#[template(path = "advisory.html")]
struct AdvisoryPage {
    a: Advisory,
    org_name: String,
    org_slug: String,
    published: String,
    modified: String,
    description: String,
    workarounds: String,
    lines: Vec<Line>,
    cvss: Vec<(String, String)>,
    references: Vec<(String, &'static str)>,
    revisions: Vec<Shown>,
    exports: Vec<(String, &'static str)>,
    withdrawn: Option<(String, String)>,
}

/// `GET /o/{org}/advisories/{number}`.
pub async fn show(
    State(state): State<AppState>,
    Path((org, number)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (view, a) = state.desk.public_advisory(&org, &number).await?;
    let lines = a
        .products
        .iter()
        .flat_map(|p| {
            p.lines.iter().map(move |l| Line {
                product: format!("{} {}", p.vendor, p.name),
                line: l.line.clone(),
                introduced: l.introduced.clone(),
                fixed: l.fixed.clone().unwrap_or_else(|| "no fix released".into()),
            })
        })
        .collect();
    let page = AdvisoryPage {
        org_name: view.policy.policy.organisation.name.clone(),
        org_slug: view.org_slug().to_owned(),
        published: a.published().map(day).unwrap_or_default(),
        modified: a.modified().map(day).unwrap_or_default(),
        description: markdown::render(&a.description),
        workarounds: markdown::render(&a.workarounds),
        lines,
        cvss: a
            .cvss
            .iter()
            .map(|c| {
                (
                    c.to_string(),
                    format!("{:.1} {}", c.base_score(), c.severity().as_str()),
                )
            })
            .collect(),
        references: a
            .references
            .iter()
            .map(|r| (r.url.clone(), reference_words(r.kind)))
            .collect(),
        revisions: view
            .state
            .revision_changes()
            .into_iter()
            .map(|(r, changes)| Shown {
                number: r.number,
                at: day(r.at),
                note: r.note.clone(),
                changes,
            })
            .collect(),
        exports: vulndesk_desk::advisories::formats_of(&a)
            .into_iter()
            .map(|f| {
                (
                    format!("{}/{}.json", view.public_path(), f.as_str()),
                    format_words(f),
                )
            })
            .collect(),
        withdrawn: a.withdrawn.as_ref().map(|w| (day(w.at), w.reason.clone())),
        a,
    };
    Ok(pages::render(StatusCode::OK, &page)?)
}

/// `GET /o/{org}/advisories/{number}/{file}`: `cve.json`, `csaf.json`, `csaf-vex.json` or
/// `osv.json`.
pub async fn file(
    State(state): State<AppState>,
    Path((org, number, file)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let format = file
        .strip_suffix(".json")
        .and_then(|f| Format::parse(f).ok())
        .ok_or(ApiError::NotFound)?;
    let (_, advisory) = state.desk.public_advisory(&org, &number).await?;
    let document = vulndesk_desk::advisories::render(&advisory, format)?;
    let mut response = Json(document).into_response();
    // Anyone may fetch it, from anywhere (feeds, scanners, aggregators).
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

fn day(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d").to_string()
}

fn reference_words(kind: ReferenceKind) -> &'static str {
    match kind {
        ReferenceKind::Advisory => "Advisory",
        ReferenceKind::Fix => "Fix",
        ReferenceKind::ReleaseNotes => "Release notes",
        ReferenceKind::Report => "Report",
        ReferenceKind::Web => "Web page",
    }
}

fn format_words(format: Format) -> &'static str {
    match format {
        Format::Cve => "CVE JSON 5 record",
        Format::Csaf => "CSAF 2.0 advisory",
        Format::CsafVex => "CSAF 2.0 VEX",
        Format::Osv => "OSV entry",
    }
}
