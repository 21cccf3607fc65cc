//! `/account`: a signed-in person's own account: who they are, changing their password
//! (which ends their other sessions and revokes their API tokens), recovery codes and API
//! tokens. Everything else about accounts is an administrator's, from `vulndesk user`.
//!
//! These routes are for a browser session only (`Need::BrowserSession`): an API token can
//! neither make tokens nor change the secrets it would otherwise outlive. The forms that
//! check a password or an authenticator code count failures with sign-in's counters.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use vulndesk_core::access::Scope;

use crate::authz::Caller;
use crate::pages::{no_store, render};
use crate::signin::Peer;
use crate::throttle::Counters;
use crate::{ApiError, AppState, PageError};
use vulndesk_desk::accounts;

#[derive(Template)]
#[template(path = "team/account.html")]
struct AccountPage<'a> {
    me: &'a str,
    /// A demo account: the page header says so.
    demo: bool,
    email: &'a str,
    csrf: &'a str,
    second_factor: &'a str,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    tokens: Vec<TokenRow>,
    /// A token just made: shown this once.
    new_token: Option<&'a str>,
    /// Unused recovery codes, when an authenticator is set up.
    codes_left: Option<i64>,
    /// Recovery codes just made: shown this once.
    new_codes: &'a [String],
}

struct TokenRow {
    id: i64,
    name: String,
    scopes: String,
    created: String,
    used: String,
    expires: String,
    /// `revoked`, `expired`, or empty while it works.
    status: &'static str,
}

/// What the page shows besides its messages.
#[derive(Default)]
struct Extra<'a> {
    notice: Option<&'a str>,
    error: Option<&'a str>,
    new_token: Option<&'a str>,
    new_codes: &'a [String],
}

async fn page(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    extra: Extra<'_>,
) -> Result<Response, PageError> {
    let who = caller.person()?;
    let second_factor = match (&who.user.totp_secret, who.user.totp_required) {
        (Some(_), _) => "an authenticator app",
        (None, true) => "required: set up at your next sign-in",
        (None, false) => "none",
    };
    let now = jiff::Timestamp::now();
    let day = |t: jiff::Timestamp| t.strftime("%Y-%m-%d").to_string();
    let tokens = state
        .store
        .api_tokens(who.user.id)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            scopes: t.scopes.join(" "),
            created: day(t.created_at),
            used: t.last_used_at.map_or_else(|| "never".to_owned(), day),
            expires: t.expires_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
            status: if t.revoked_at.is_some() {
                "revoked"
            } else if t.expires_at <= now {
                "expired"
            } else {
                ""
            },
        })
        .collect();
    let page = AccountPage {
        me: &who.user.name,
        demo: who.user.demo,
        email: &who.user.email,
        csrf: who.csrf.as_deref().unwrap_or_default(),
        second_factor,
        notice: extra.notice,
        error: extra.error,
        tokens,
        new_token: extra.new_token,
        codes_left: match who.user.totp_secret {
            Some(_) => Some(state.store.recovery_codes_left(who.user.id).await?),
            None => None,
        },
        new_codes: extra.new_codes,
    };
    Ok(no_store(render(status, &page)?))
}

/// `GET /account`.
pub async fn show(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    page(&state, &caller, StatusCode::OK, Extra::default()).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
}

/// `POST /account/password`: the current password proves it is the person, not someone
/// at their unlocked screen; the new one replaces it, every other session ends and every
/// API token is revoked. Wrong current passwords count as failed sign-ins.
pub async fn change_password(
    State(state): State<AppState>,
    Peer(peer): Peer,
    caller: Caller,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let who = caller.person()?;
    let now = jiff::Timestamp::now();
    let counters = Counters::password(&who.user.email, peer);
    counters.check(&state, now).await?;
    if !accounts::verify_password(&form.current, &who.user.password_hash) {
        counters.fail(&state, now).await?;
        tracing::info!(user = who.user.id, "wrong current password");
        let error = Some("current: that is not your current password");
        let extra = Extra {
            error,
            ..Extra::default()
        };
        return page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, extra).await;
    }
    if let Some(problem) = accounts::password_problem(&form.new) {
        let error = format!("new: {problem}");
        let extra = Extra {
            error: Some(&error),
            ..Extra::default()
        };
        return page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, extra).await;
    }
    let hash = accounts::hash_password(&form.new)?;
    state
        .store
        .change_password(who.user.id, &hash, who.session.as_deref(), now)
        .await
        .map_err(ApiError::from)?;
    let payload = serde_json::json!({"user": who.user.id});
    accounts::audit(
        &state.desk,
        "password_changed",
        &caller.actor().to_string(),
        payload,
    )
    .await?;
    tracing::info!(user = who.user.id, "password changed");
    let notice = Some(
        "Your password is changed; your other sessions have ended and your API tokens are revoked.",
    );
    let extra = Extra {
        notice,
        ..Extra::default()
    };
    page(&state, &caller, StatusCode::OK, extra).await
}

/// `POST /account/tokens`: a new API token for automation, acting as this person within
/// the scopes ticked. Shown once; only its hash is kept.
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let who = caller.person()?;
    let name = fields
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let scopes: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "scope")
        .filter_map(|(_, v)| Scope::parse(v))
        .map(|s| s.as_str().to_owned())
        .collect();
    let now = jiff::Timestamp::now();
    let days = fields
        .iter()
        .find(|(k, _)| k == "days")
        .map(|(_, v)| v.as_str());
    let expires_at = accounts::api_token_expiry(now, days);
    let problem = if name.is_empty() {
        Some("name: say what the token is for, e.g. \"CI\"".to_owned())
    } else if scopes.is_empty() {
        Some("scope: tick at least one scope".to_owned())
    } else {
        expires_at.as_ref().err().map(|e| format!("days: {e}"))
    };
    let (None, Ok(expires_at)) = (problem.as_deref(), expires_at) else {
        let extra = Extra {
            error: problem.as_deref(),
            ..Extra::default()
        };
        return page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, extra).await;
    };
    let token = accounts::new_api_token()?;
    let token_id = state
        .store
        .add_api_token(
            who.user.id,
            &name,
            &accounts::secret_hash(&token),
            &scopes,
            now,
            expires_at,
        )
        .await
        .map_err(ApiError::from)?;
    let payload = serde_json::json!({
        "user": who.user.id,
        "token": token_id,
        "scopes": scopes,
        "expires_at": expires_at.to_string(),
    });
    accounts::audit(
        &state.desk,
        "api_token_created",
        &caller.actor().to_string(),
        payload,
    )
    .await?;
    tracing::info!(user = who.user.id, "API token created");
    let extra = Extra {
        new_token: Some(&token),
        ..Extra::default()
    };
    page(&state, &caller, StatusCode::OK, extra).await
}

/// `POST /account/tokens/{token_id}/revoke`: the token stops working at once.
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(token_id): Path<i64>,
) -> Result<Response, PageError> {
    let who = caller.person()?;
    if !state
        .store
        .revoke_api_token(who.user.id, token_id, jiff::Timestamp::now())
        .await
        .map_err(ApiError::from)?
    {
        // Someone else's token, or one already revoked: nothing to say about which.
        return Err(ApiError::NotFound.into());
    }
    let payload = serde_json::json!({"user": who.user.id, "token": token_id});
    accounts::audit(
        &state.desk,
        "api_token_revoked",
        &caller.actor().to_string(),
        payload,
    )
    .await?;
    let notice = Some("The token is revoked.");
    let extra = Extra {
        notice,
        ..Extra::default()
    };
    page(&state, &caller, StatusCode::OK, extra).await
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `POST /account/recovery-codes`: a current authenticator code buys ten fresh recovery
/// codes (shown once); the old ones stop working. Wrong codes count with the sign-in's
/// second-factor failures, so the form is no faster a way to guess one.
pub async fn new_recovery_codes(
    State(state): State<AppState>,
    Peer(peer): Peer,
    caller: Caller,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let who = caller.person()?;
    let now = jiff::Timestamp::now();
    let counters = Counters::second_factor(who.user.id, peer);
    counters.check(&state, now).await?;
    let step = match &who.user.totp_secret {
        Some(secret) => accounts::totp_step(secret, &form.code, now.as_second().max(0) as u64)?,
        None => None,
    };
    let accepted = match step {
        Some(step) => state
            .store
            .accept_totp_step(who.user.id, step)
            .await
            .map_err(ApiError::from)?,
        None => false,
    };
    if !accepted {
        counters.fail(&state, now).await?;
        tracing::info!(user = who.user.id, "wrong code for new recovery codes");
        let extra = Extra {
            error: Some("code: that is not the current code from your authenticator app"),
            ..Extra::default()
        };
        return page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, extra).await;
    }
    let (codes, hashes) = accounts::new_recovery_codes()?;
    state
        .store
        .replace_recovery_codes(who.user.id, &hashes)
        .await
        .map_err(ApiError::from)?;
    let payload = serde_json::json!({"user": who.user.id});
    accounts::audit(
        &state.desk,
        "recovery_codes_replaced",
        &caller.actor().to_string(),
        payload,
    )
    .await?;
    tracing::info!(user = who.user.id, "recovery codes replaced");
    let extra = Extra {
        new_codes: &codes,
        ..Extra::default()
    };
    page(&state, &caller, StatusCode::OK, extra).await
}
