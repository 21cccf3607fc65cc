//! `/account`: a signed-in person's own account: who they are, and changing their
//! password (which ends their other sessions). Everything else about accounts is an
//! administrator's, from `vulndesk user`.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::accounts;
use crate::authz::Caller;
use crate::pages::{no_store, render};
use crate::{ApiError, AppState, PageError};

#[derive(Template)]
#[template(path = "team/account.html")]
struct AccountPage<'a> {
    me: &'a str,
    email: &'a str,
    csrf: &'a str,
    second_factor: &'a str,
    notice: Option<&'a str>,
    error: Option<&'a str>,
}

fn page(
    caller: &Caller,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let who = caller.person()?;
    let second_factor = match (&who.user.totp_secret, who.user.totp_required) {
        (Some(_), _) => "an authenticator app",
        (None, true) => "required: set up at your next sign-in",
        (None, false) => "none",
    };
    let page = AccountPage {
        me: &who.user.name,
        email: &who.user.email,
        csrf: who.csrf.as_deref().unwrap_or_default(),
        second_factor,
        notice,
        error,
    };
    Ok(no_store(render(status, &page)?))
}

/// `GET /account`.
pub async fn show(caller: Caller) -> Result<Response, PageError> {
    page(&caller, StatusCode::OK, None, None)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
}

/// `POST /account/password`: the current password proves it is the person, not someone
/// at their unlocked screen; the new one replaces it and every other session ends.
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let who = caller.person()?;
    if !accounts::verify_password(&form.current, &who.user.password_hash) {
        return page(
            &caller,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("current: that is not your current password"),
        );
    }
    if let Some(problem) = accounts::password_problem(&form.new) {
        return page(
            &caller,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(&format!("new: {problem}")),
        );
    }
    let hash = accounts::hash_password(&form.new)?;
    state
        .store
        .change_password(who.user.id, &hash, who.session.as_deref())
        .await
        .map_err(ApiError::from)?;
    tracing::info!(user = who.user.id, "password changed");
    page(
        &caller,
        StatusCode::OK,
        Some("Your password is changed; your other sessions have ended."),
        None,
    )
}
