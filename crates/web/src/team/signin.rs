//! Signing in and out: password, then a second factor (an RFC 6238 code or a recovery
//! code), enrolment of the authenticator at the first sign-in where one is required, and
//! server-side sessions.
//!
//! A session is a random id in an HttpOnly, SameSite=Lax cookie (Secure when the desk is
//! served over HTTPS); the database keeps only its hash. After the password a short-lived
//! session of stage `password` can do nothing but finish signing in; passing the second
//! factor replaces it with a new session id, so an id planted before sign-in is worthless.
//! The sign-in form is protected against login CSRF by a double-submit cookie, since there
//! is no session yet to hold a token.
//!
//! Failed attempts are counted by `throttle.rs`: passwords and second-factor codes each
//! per account, and per client address; only a complete sign-in clears an account's count.

use std::net::SocketAddr;
use vulndesk_core::actor::Actor;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use vulndesk_store::{NewSession, SessionRow, UserRow};

use crate::authz::{Caller, SESSION_COOKIE, cookie_value, next_param, session_cookie};
use crate::pages::{no_store, render};
use crate::throttle::{self, Counters};
use crate::{ApiError, AppState, PageError};
use vulndesk_desk::accounts::{self, random_token, secret_hash};

/// The double-submit cookie of the sign-in form.
const PRE_COOKIE: &str = "vd_pre";
/// How long a signed-in session lasts: a working day, then sign in again.
const SESSION_HOURS: i64 = 12;
/// How long the step between password and second factor may take.
const PENDING_MINUTES: i64 = 10;
/// Verified against when the account does not exist, so that an unknown address takes
/// as long to refuse as a wrong password.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$dnVsbmRlc2tkdW1teQ$1ZxZf3fhOrU0dyBxFb4ZpAQo3pvHHQ9m0Ff6Xn0mN3Y";

#[derive(Template)]
#[template(path = "team/signin.html")]
struct SigninPage<'a> {
    pre: &'a str,
    next: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "team/second_factor.html")]
struct SecondFactorPage<'a> {
    csrf: &'a str,
    next: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "team/enrol.html")]
struct EnrolPage<'a> {
    csrf: &'a str,
    next: &'a str,
    secret: &'a str,
    url: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "team/recovery_codes.html")]
struct RecoveryCodesPage<'a> {
    codes: &'a [String],
    next: &'a str,
}

/// Where to go after signing in: a path on this site, or the dashboard.
fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| is_local_path(n))
        .unwrap_or("/dashboard")
        .to_owned()
}

/// Whether `text` is a path-absolute reference (RFC 3986 section 4.2) that every browser
/// resolves on this origin. Browsers strip tabs and newlines from a URL and read `\` as
/// `/`, so `/\t/evil.example` would become the network-path `//evil.example`: only the
/// characters RFC 3986 allows in a path and query pass, and neither the text nor its
/// percent-decoded form may begin with `//` or `/\`.
fn is_local_path(text: &str) -> bool {
    let bytes = text.as_bytes();
    let uri_chars = bytes.iter().all(|&b| {
        b.is_ascii_alphanumeric()
            // unreserved, sub-delims, and ':' '@' '/' '?' '%' (checked below)
            || b"-._~!$&'()*+,;=:@/?%".contains(&b)
    });
    uri_chars && pct_encoded_ok(bytes) && local_start(bytes) && decoded_is_local(text)
}

fn local_start(bytes: &[u8]) -> bool {
    bytes.first() == Some(&b'/') && !matches!(bytes.get(1), Some(b'/' | b'\\'))
}

/// Every `%` starts a pct-encoded octet: `%` and two hex digits.
fn pct_encoded_ok(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// The decoded form, however many times a proxy or framework decodes it, still starts on
/// this site and carries no control character.
fn decoded_is_local(text: &str) -> bool {
    let mut current = text.as_bytes().to_vec();
    // Each round shortens an encoded text; a handful covers any real double encoding.
    for _ in 0..4 {
        let decoded: Vec<u8> = percent_encoding::percent_decode(&current).collect();
        if !local_start(&decoded) || decoded.iter().any(|b| b.is_ascii_control()) {
            return false;
        }
        if decoded == current {
            return true;
        }
        current = decoded;
    }
    false
}

fn cookie_header(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut c = cookie::Cookie::build((name.to_owned(), value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .secure(state.secure_cookies);
    if let Some(seconds) = max_age {
        c = c.max_age(cookie::time::Duration::seconds(seconds));
    }
    HeaderValue::from_str(&c.build().to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn with_cookie(mut response: Response, cookie: HeaderValue) -> Response {
    response.headers_mut().append(header::SET_COOKIE, cookie);
    no_store(response)
}

/// The client's address, when the server was started with it (tests may not be).
pub struct Peer(pub(crate) Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Peer, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(p)| *p),
        ))
    }
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /signin`.
pub async fn show(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Result<Response, PageError> {
    signin_page(
        &state,
        StatusCode::OK,
        &safe_next(q.next.as_deref()),
        "",
        None,
    )
}

fn signin_page(
    state: &AppState,
    status: StatusCode,
    next: &str,
    email: &str,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let pre = random_token()?;
    let page = SigninPage {
        pre: &pre,
        next,
        email,
        error,
    };
    Ok(with_cookie(
        render(status, &page)?,
        cookie_header(state, PRE_COOKIE, &pre, Some(3600)),
    ))
}

#[derive(Deserialize)]
pub struct SigninForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    pre: String,
    next: Option<String>,
}

/// `POST /signin`: the password step.
pub async fn submit(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<SigninForm>,
) -> Result<Response, PageError> {
    let now = Timestamp::now();
    let next = safe_next(form.next.as_deref());
    let pre_ok = cookie_value(&headers, PRE_COOKIE).is_some_and(|c| {
        !form.pre.is_empty()
            && constant_time_eq::constant_time_eq(c.as_bytes(), form.pre.as_bytes())
    });
    if !pre_ok {
        return Err(ApiError::CsrfRejected.into());
    }
    let counters = Counters::password(&form.email, peer);
    counters.check(&state, now).await?;
    // Housekeeping where sessions are made: old ones and old failures go.
    let day = SignedDuration::from_hours(24);
    state.store.prune_sign_ins(now, now - day).await?;
    let user = state.store.user_by_email(&form.email).await?;
    let hash = user
        .as_ref()
        .map_or(DUMMY_HASH, |u| u.password_hash.as_str());
    let password_ok = accounts::verify_password(&form.password, hash);
    let user = match user {
        Some(u) if password_ok && u.disabled_at.is_none() => u,
        other => {
            counters.fail(&state, now).await?;
            // What was typed is never recorded (a password in the address field would be).
            let account = other.map_or(serde_json::Value::Null, |u| serde_json::json!(u.id));
            accounts::audit(
                &state.desk,
                "sign_in_failed",
                &Actor::Anonymous.to_string(),
                serde_json::json!({"user": account}),
            )
            .await?;
            tracing::info!("failed sign-in");
            // One message for every cause: no hint whether the account exists.
            return signin_page(
                &state,
                StatusCode::UNAUTHORIZED,
                &next,
                &form.email,
                Some("The e-mail address or password is not right."),
            );
        }
    };
    let needs_factor = user.totp_secret.is_some() || user.totp_required;
    let (stage, lifetime, to) = if !needs_factor {
        (
            Stage::Complete,
            SignedDuration::from_hours(SESSION_HOURS),
            next.clone(),
        )
    } else if user.totp_secret.is_some() {
        (
            Stage::Password,
            SignedDuration::from_mins(PENDING_MINUTES),
            format!("/signin/second-factor?next={}", next_param(&next)),
        )
    } else {
        (
            Stage::Password,
            SignedDuration::from_mins(PENDING_MINUTES),
            format!("/signin/enrol?next={}", next_param(&next)),
        )
    };
    if stage == Stage::Complete {
        throttle::signed_in(&state, &user).await?;
        let payload = serde_json::json!({"user": user.id, "with": "password"});
        accounts::audit(
            &state.desk,
            "signed_in",
            &Actor::User(user.id).to_string(),
            payload,
        )
        .await?;
    }
    let cookie = start_session(&state, &user, stage, lifetime, now).await?;
    tracing::info!(user = user.id, stage = stage.as_str(), "password accepted");
    Ok(with_cookie(Redirect::to(&to).into_response(), cookie))
}

/// How far a session got: past the password only (waiting for the second factor or its
/// enrolment), or all the way. Stored as `password` and `complete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Password,
    Complete,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Password => "password",
            Stage::Complete => "complete",
        }
    }

    /// The stage of a stored session; `None` for a value this version does not write.
    pub(crate) fn of(session: &vulndesk_store::SessionRow) -> Option<Stage> {
        [Stage::Password, Stage::Complete]
            .into_iter()
            .find(|s| s.as_str() == session.stage)
    }
}

async fn start_session(
    state: &AppState,
    user: &UserRow,
    stage: Stage,
    lifetime: SignedDuration,
    now: Timestamp,
) -> Result<HeaderValue, ApiError> {
    let id = random_token()?;
    state
        .store
        .create_session(
            &NewSession {
                id_hash: secret_hash(&id),
                user_id: user.id,
                csrf_token: random_token()?,
                stage: stage.as_str().to_owned(),
                expires_at: now + lifetime,
            },
            now,
        )
        .await?;
    Ok(cookie_header(
        state,
        SESSION_COOKIE,
        &id,
        Some(lifetime.as_secs()),
    ))
}

/// The half-finished sign-in of this request, with its account.
async fn pending(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, SessionRow, UserRow)>, ApiError> {
    let Some(cookie) = session_cookie(headers) else {
        return Ok(None);
    };
    let id_hash = secret_hash(&cookie);
    let Some(session) = state.store.session(&id_hash, Timestamp::now()).await? else {
        return Ok(None);
    };
    if Stage::of(&session) != Some(Stage::Password) {
        return Ok(None);
    }
    let Some(user) = state.store.user(session.user_id).await? else {
        return Ok(None);
    };
    Ok(Some((id_hash, session, user)))
}

/// The pending sign-in of a second-step form, with the form's CSRF token checked.
async fn pending_form(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<Option<(String, SessionRow, UserRow)>, ApiError> {
    let Some(found) = pending(state, headers).await? else {
        return Ok(None);
    };
    if !csrf_matches(&found.1, csrf) {
        return Err(ApiError::CsrfRejected);
    }
    Ok(Some(found))
}

/// Ends the pending session and starts a complete one under a new id, so an id planted
/// before sign-in is worth nothing after it.
async fn complete(
    state: &AppState,
    user: &UserRow,
    pending_hash: &str,
    now: Timestamp,
) -> Result<HeaderValue, ApiError> {
    state.store.delete_session(pending_hash).await?;
    start_session(
        state,
        user,
        Stage::Complete,
        SignedDuration::from_hours(SESSION_HOURS),
        now,
    )
    .await
}

fn back_to_signin(next: &str) -> Response {
    Redirect::to(&format!("/signin?next={}", next_param(next))).into_response()
}

/// `GET /signin/second-factor`.
pub async fn second_factor(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Result<Response, PageError> {
    let next = safe_next(q.next.as_deref());
    let Some((_, session, _)) = pending(&state, &headers).await? else {
        return Ok(back_to_signin(&next));
    };
    let page = SecondFactorPage {
        csrf: &session.csrf_token,
        next: &next,
        error: None,
    };
    Ok(no_store(render(StatusCode::OK, &page)?))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    secret: String,
    next: Option<String>,
}

fn csrf_matches(session: &SessionRow, given: &str) -> bool {
    constant_time_eq::constant_time_eq(session.csrf_token.as_bytes(), given.as_bytes())
}

fn unix_now(now: Timestamp) -> u64 {
    now.as_second().max(0) as u64
}

/// `POST /signin/second-factor`: a code from the authenticator, or a recovery code.
pub async fn verify(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let now = Timestamp::now();
    let next = safe_next(form.next.as_deref());
    let Some((id_hash, session, user)) = pending_form(&state, &headers, &form.csrf).await? else {
        return Ok(back_to_signin(&next));
    };
    let counters = Counters::second_factor(user.id, peer);
    counters.check(&state, now).await?;
    let code = form.code.trim();
    let accepted = match &user.totp_secret {
        None => None,
        Some(secret) => match accounts::totp_step(secret, code, unix_now(now))? {
            Some(step) => state
                .store
                .accept_totp_step(user.id, step)
                .await?
                .then_some("authenticator"),
            None => {
                let hash = accounts::recovery_code_hash(code);
                state
                    .store
                    .use_recovery_code(user.id, &hash, now)
                    .await?
                    .then_some("recovery code")
            }
        },
    };
    let actor = Actor::User(user.id).to_string();
    let Some(with) = accepted else {
        counters.fail(&state, now).await?;
        let payload = serde_json::json!({"user": user.id});
        accounts::audit(&state.desk, "second_factor_failed", &actor, payload).await?;
        let page = SecondFactorPage {
            csrf: &session.csrf_token,
            next: &next,
            error: Some("That code is not right, or was already used. Enter the current code."),
        };
        return Ok(no_store(render(StatusCode::UNAUTHORIZED, &page)?));
    };
    throttle::signed_in(&state, &user).await?;
    let payload = serde_json::json!({"user": user.id, "with": with});
    accounts::audit(&state.desk, "signed_in", &actor, payload).await?;
    let cookie = complete(&state, &user, &id_hash, now).await?;
    tracing::info!(user = user.id, "signed in");
    Ok(with_cookie(Redirect::to(&next).into_response(), cookie))
}

/// `GET /signin/enrol`: a new authenticator secret to add to an app.
pub async fn enrol(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Result<Response, PageError> {
    let next = safe_next(q.next.as_deref());
    let Some((_, session, user)) = pending(&state, &headers).await? else {
        return Ok(back_to_signin(&next));
    };
    if user.totp_secret.is_some() {
        return Ok(
            Redirect::to(&format!("/signin/second-factor?next={}", next_param(&next)))
                .into_response(),
        );
    }
    let secret = accounts::new_totp_secret()?;
    enrol_page(&session, &user, &next, &secret, None, StatusCode::OK)
}

fn enrol_page(
    session: &SessionRow,
    user: &UserRow,
    next: &str,
    secret: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let url = accounts::totp_url(secret, &user.email)?;
    let page = EnrolPage {
        csrf: &session.csrf_token,
        next,
        secret,
        url: &url,
        error,
    };
    Ok(no_store(render(status, &page)?))
}

/// `POST /signin/enrol`: the first code proves the app holds the secret; the account then
/// gets it, fresh recovery codes, and a full session.
pub async fn confirm_enrol(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let now = Timestamp::now();
    let next = safe_next(form.next.as_deref());
    let Some((id_hash, session, user)) = pending_form(&state, &headers, &form.csrf).await? else {
        return Ok(back_to_signin(&next));
    };
    if user.totp_secret.is_some() {
        return Ok(back_to_signin(&next));
    }
    let secret = form.secret.trim();
    let step = totp_secret_ok(secret)
        .then(|| accounts::totp_step(secret, &form.code, unix_now(now)))
        .transpose()?
        .flatten();
    let Some(step) = step else {
        let secret = if totp_secret_ok(secret) {
            secret.to_owned()
        } else {
            accounts::new_totp_secret()?
        };
        return enrol_page(
            &session,
            &user,
            &next,
            &secret,
            Some("That code does not match. Check the app's clock and enter the current code."),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let (codes, hashes) = accounts::new_recovery_codes()?;
    state
        .store
        .enrol_totp(user.id, secret, step, &hashes)
        .await?;
    let cookie = complete(&state, &user, &id_hash, now).await?;
    throttle::signed_in(&state, &user).await?;
    let payload = serde_json::json!({"user": user.id});
    accounts::audit(
        &state.desk,
        "second_factor_enrolled",
        &Actor::User(user.id).to_string(),
        payload,
    )
    .await?;
    tracing::info!(user = user.id, "second factor enrolled");
    let page = RecoveryCodesPage {
        codes: &codes,
        next: &next,
    };
    Ok(with_cookie(render(StatusCode::OK, &page)?, cookie))
}

/// A base32 secret of at least 128 bits, as [`accounts::new_totp_secret`] makes.
fn totp_secret_ok(secret: &str) -> bool {
    secret.len() >= 26
        && secret
            .bytes()
            .all(|b| matches!(b, b'A'..=b'Z' | b'2'..=b'7' | b'='))
}

/// `POST /signout`: ends this session.
pub async fn signout(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    if let Some(session) = caller.person()?.session.as_deref() {
        state.store.delete_session(session).await?;
    }
    Ok(with_cookie(
        Redirect::to("/signin").into_response(),
        cookie_header(&state, SESSION_COOKIE, "", Some(0)),
    ))
}

/// `POST /signout/everywhere`: ends every session of the account, on every device, and
/// revokes its API tokens (a stolen token must not outlive the owner's alarm).
pub async fn signout_everywhere(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, PageError> {
    let user = caller.person()?.user.id;
    let (sessions, tokens) = state
        .store
        .sign_out_everywhere(user, Timestamp::now())
        .await?;
    let payload = serde_json::json!({"user": user, "sessions": sessions, "tokens": tokens});
    accounts::audit(
        &state.desk,
        "signed_out_everywhere",
        &caller.actor().to_string(),
        payload,
    )
    .await?;
    tracing::info!(user, sessions, tokens, "signed out everywhere");
    Ok(with_cookie(
        Redirect::to("/signin").into_response(),
        cookie_header(&state, SESSION_COOKIE, "", Some(0)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        for good in [
            "/cases/4",
            "/dashboard?state=open&q=a%20b",
            "/cases/4?x=1/2",
            "/a:b@c/~x_y-z.!$&'()*+,;=",
            "/",
            "/%41",
        ] {
            assert_eq!(safe_next(Some(good)), good, "{good:?}");
        }
        for evil in [
            "//evil.example/",
            "///evil.example",
            "https://evil.example/",
            "/\\evil.example",
            "/\\/evil.example",
            "\\/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/\x0b/evil.example",
            "/\x0c/evil.example",
            "/\x7f/evil.example",
            "/\0/evil.example",
            "/ /evil.example",
            "/\u{a0}/evil.example",
            "/\u{3000}/evil.example",
            "/cases/4\nSet-Cookie: x=y",
            "/cases/4#frag",
            "/cases/\"x\"",
            "/cases/<x>",
            "/%2F/evil.example",
            "/%2f/evil.example",
            "/%5C/evil.example",
            "/%5c/evil.example",
            "/%252F/evil.example",
            "/%25252F%25252F",
            "/%09/evil.example",
            "/cases/%0d%0aSet-Cookie:x",
            "/cases/%zz",
            "/cases/%4",
            "/cases/%",
            "cases",
            "",
            " /cases",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(Some(evil)), "/dashboard", "{evil:?}");
        }
        assert_eq!(safe_next(None), "/dashboard");
    }

    #[test]
    fn the_dummy_hash_is_a_valid_argon2id_hash() {
        // Otherwise an unknown address would be refused faster than a wrong password.
        assert!(!accounts::verify_password("x", DUMMY_HASH));
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
