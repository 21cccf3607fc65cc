//! `GET /`: where a newcomer lands. It lists the organisations this desk takes reports
//! for, with the way to report to each, and leads the security team to sign in.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::pages;
use crate::{AppState, PageError};

/// One organisation on the desk.
struct Organisation {
    name: String,
    /// The report form, when the policy takes reports through it.
    form: Option<String>,
    /// The channels the policy names, in words, when the form is not one of them.
    elsewhere: Vec<String>,
    products: Vec<String>,
    /// Its published advisories' page.
    advisories: String,
}

#[derive(Template)]
#[template(path = "front.html")]
struct FrontPage {
    organisations: Vec<Organisation>,
}

/// `GET /`.
pub async fn show(State(state): State<AppState>) -> Result<Response, PageError> {
    let mut by_org: BTreeMap<i64, (String, String, Vec<String>)> = BTreeMap::new();
    for p in state.store.list_products().await? {
        by_org
            .entry(p.org_id)
            .or_insert_with(|| (p.org_slug.clone(), p.org_name.clone(), Vec::new()))
            .2
            .push(p.name);
    }
    let mut organisations = Vec::with_capacity(by_org.len());
    for (org_id, (slug, name, products)) in by_org {
        let Some(latest) = state.store.latest_policy(org_id).await? else {
            continue;
        };
        let pinned = state.desk.parse_policy(&latest)?;
        let intake = &pinned.policy.intake;
        let channels = &intake.channels;
        let takes_form = intake.offers("web");
        organisations.push(Organisation {
            name,
            form: takes_form.then(|| format!("/o/{slug}/report")),
            elsewhere: if takes_form {
                Vec::new()
            } else {
                channels.iter().map(|c| channel_words(c)).collect()
            },
            products,
            advisories: format!("/o/{slug}/advisories"),
        });
    }
    organisations.sort_by_key(|o| o.name.to_lowercase());
    let page = FrontPage { organisations };
    Ok(pages::render(StatusCode::OK, &page)?)
}

/// A policy's intake channel as a person reads it.
fn channel_words(channel: &str) -> String {
    match channel.split_once(':') {
        Some(("email", address)) => format!("e-mail to {address}"),
        _ => match channel {
            "api" => "the JSON API (/api/v1/reports)".to_owned(),
            "github-private" => "GitHub private vulnerability reporting".to_owned(),
            other => other.to_owned(),
        },
    }
}
