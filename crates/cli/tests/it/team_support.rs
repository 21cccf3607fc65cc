//! Team accounts and sessions for tests: accounts are written through the store (as
//! `vulndesk user add` does), sessions either through the real sign-in or, where a test
//! needs many, straight into the sessions table.

use jiff::{SignedDuration, Timestamp};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::Value;
use vulndesk_desk::accounts;
use vulndesk_store::{NewSession, NewUser};

use crate::helpers::TestApp;

/// A password every test account shares; long enough for the rules.
pub const PASSWORD: &str = "correct horse battery staple";

/// Creates an account with these `(org slug, role)` memberships; returns its id.
pub async fn add_member(app: &TestApp, email: &str, admin: bool, roles: &[(&str, &str)]) -> i64 {
    let id = app
        .store
        .add_user(
            &NewUser {
                email: email.to_owned(),
                name: email.split('@').next().unwrap().to_owned(),
                password_hash: accounts::hash_password(PASSWORD).unwrap(),
                admin,
                totp_required: false,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    for (slug, role) in roles {
        let org = app
            .store
            .organisation_by_slug(slug)
            .await
            .unwrap()
            .unwrap()
            .id;
        app.store.set_membership(id, org, Some(role)).await.unwrap();
    }
    id
}

/// A team API token of `user` with these scopes, working for the default 90 days.
pub async fn api_token(app: &TestApp, user: i64, scopes: &[&str]) -> String {
    let token = accounts::new_api_token().unwrap();
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    let now = Timestamp::now();
    app.store
        .add_api_token(
            user,
            "test",
            &accounts::secret_hash(&token),
            &scopes,
            now,
            accounts::api_token_expiry(now, None).unwrap(),
        )
        .await
        .unwrap();
    token
}

/// A signed-in browser: the session cookie and the CSRF token for its forms.
#[derive(Debug, Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl Session {
    /// `Cookie` and CSRF headers on `request`.
    pub fn on(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request
            .header(COOKIE, format!("vd_session={}", self.cookie))
            .header("x-csrf-token", &self.csrf)
    }
}

/// A complete session for `user_id`, written to the database directly.
pub async fn session_for(app: &TestApp, user_id: i64) -> Session {
    let cookie = accounts::random_token().unwrap();
    let csrf = accounts::random_token().unwrap();
    app.store
        .create_session(
            &NewSession {
                id_hash: accounts::secret_hash(&cookie),
                user_id,
                csrf_token: csrf.clone(),
                stage: "complete".to_owned(),
                expires_at: Timestamp::now() + SignedDuration::from_hours(1),
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    Session { cookie, csrf }
}

/// The value of cookie `name` set by `response`.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let pair = v.split(';').next()?;
            let (n, value) = pair.split_once('=')?;
            (n.trim() == name).then(|| value.to_owned())
        })
}

/// The value of the first hidden input `name` on a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('"').next()?.to_owned())
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The password step of the real sign-in form; returns the response (a redirect on
/// success) and the session cookie it set.
pub async fn sign_in_password(
    app: &TestApp,
    email: &str,
    password: &str,
) -> (reqwest::Response, Option<String>) {
    sign_in_password_to(app, email, password, "/dashboard").await
}

/// [`sign_in_password`] asking to go to `next` afterwards.
pub async fn sign_in_password_to(
    app: &TestApp,
    email: &str,
    password: &str,
    next: &str,
) -> (reqwest::Response, Option<String>) {
    let page = app.get("/signin").await;
    let pre_cookie = set_cookie(&page, "vd_pre").expect("sign-in page sets vd_pre");
    let html = page.text().await.unwrap();
    let pre = hidden(&html, "pre").expect("pre field");
    let response = app
        .client
        .post(app.url("/signin"))
        .header(COOKIE, format!("vd_pre={pre_cookie}"))
        .form(&[
            ("email", email),
            ("password", password),
            ("pre", &pre),
            ("next", next),
        ])
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&response, "vd_session");
    (response, cookie)
}

/// A page fetched with a session cookie.
pub async fn page(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header(COOKIE, format!("vd_session={cookie}"))
        .send()
        .await
        .unwrap()
}

/// A form posted with a session cookie.
pub async fn post_form(
    app: &TestApp,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header(COOKIE, format!("vd_session={cookie}"))
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// `POST /api/v1/cases/{case}/{what}` with a session; returns (status, body).
pub async fn act(app: &TestApp, s: &Session, case: i64, what: &str, body: Value) -> (u16, Value) {
    let response = s
        .on(app
            .client
            .post(app.url(&format!("/api/v1/cases/{case}/{what}"))))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `GET /api/v1/cases/{case}` as `s`.
pub async fn case_json(app: &TestApp, s: &Session, case: i64) -> Value {
    s.on(app.client.get(app.url(&format!("/api/v1/cases/{case}"))))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
