//! Account and session security, as an outside review probed it: what an API token may
//! not do, where sign-in may send a browser, how guesses at passwords and codes are held
//! back, how API tokens end, what a wrong method gets, and HTTPS-only browsing.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use reqwest::header::{ALLOW, RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::Value;
use tokio::process::Command;
use vulndesk_desk::accounts;

use crate::helpers::{
    BIN, RATE_LIMIT_ENV, TestApp, TestDb, on_each_database, spawn_app, spawn_app_with,
};
use crate::team_support::{
    PASSWORD, add_member, api_token, hidden, location, page, post_form, session_for,
    sign_in_password, sign_in_password_to,
};

fn unix_now() -> u64 {
    jiff::Timestamp::now().as_second() as u64
}

/// `GET /api/v1/cases` with an API token: its status and JSON body.
async fn list_with(app: &TestApp, token: &str) -> (u16, Value, Option<String>) {
    let answer = app
        .client
        .get(app.url("/api/v1/cases"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let challenge = answer
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        answer.json().await.unwrap_or(Value::Null),
        challenge,
    )
}

/// A form posted with an API token and nothing else, as a script would.
async fn post_with_token(
    app: &TestApp,
    token: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .form(fields)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_api_token_cannot_manage_the_account_or_sign_out() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let id = add_member(&app, "m@example.org", false, &[("kamailio", "member")]).await;
        let browser = session_for(&app, id).await;
        for scopes in [
            &["cases:read"][..],
            &["cases:write"],
            &["cases:read", "cases:write"],
        ] {
            let token = api_token(&app, id, scopes).await;
            let before = app.store.api_tokens(id).await.unwrap().len();
            let minted = post_with_token(
                &app,
                &token,
                "/account/tokens",
                &[("name", "x"), ("scope", "cases:write")],
            )
            .await;
            assert_eq!(minted.status().as_u16(), 403, "on {}: {scopes:?}", db.label);
            assert_eq!(app.store.api_tokens(id).await.unwrap().len(), before);
            for (path, fields) in [
                (
                    "/account/password",
                    &[("current", PASSWORD), ("new", "a whole new passphrase")][..],
                ),
                ("/account/recovery-codes", &[("code", "123456")]),
                ("/signout/everywhere", &[]),
                ("/signout", &[]),
                ("/account/tokens/1/revoke", &[]),
            ] {
                let answer = post_with_token(&app, &token, path, fields).await;
                assert_eq!(answer.status().as_u16(), 403, "{path} with {scopes:?}");
            }
            let shown = app
                .client
                .get(app.url("/account"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(shown.status().as_u16(), 403, "GET /account with {scopes:?}");
            // Nothing happened: the password, the session and the token are as they were.
            let user = app.store.user(id).await.unwrap().unwrap();
            assert!(accounts::verify_password(PASSWORD, &user.password_hash));
            assert_eq!(
                page(&app, &browser.cookie, "/dashboard")
                    .await
                    .status()
                    .as_u16(),
                200
            );
            assert_eq!(list_with(&app, &token).await.0, 200);
        }
        // A token sent beside a session cookie is still a token here.
        let token = api_token(&app, id, &["cases:write"]).await;
        let both = browser
            .on(app.client.post(app.url("/account/tokens")))
            .bearer_auth(&token)
            .form(&[
                ("csrf", browser.csrf.as_str()),
                ("name", "x"),
                ("scope", "cases:write"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(both.status().as_u16(), 403);
        // The browser session itself still manages the account.
        let made = post_form(
            &app,
            &browser.cookie,
            "/account/tokens",
            &[
                ("csrf", &browser.csrf),
                ("name", "CI"),
                ("scope", "cases:read"),
            ],
        )
        .await;
        assert_eq!(made.status().as_u16(), 200);
    })
    .await;
}

/// `next` values that must never leave the site (or break the sign-in).
const FOREIGN_NEXT: &[&str] = &[
    "//evil.example/",
    "///evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/\x0b/evil.example",
    "/\x0c/evil.example",
    "/\x7f/evil.example",
    "/ /evil.example",
    "/\u{a0}/evil.example",
    "/%2F/evil.example",
    "/%5c/evil.example",
    "/%252F%252Fevil.example",
    "/%09/evil.example",
    "/cases/1%0d%0aSet-Cookie:%20x=y",
    "/cases/%zz",
    "https://evil.example/",
    "javascript:alert(1)",
    "evil.example",
    "",
];

#[tokio::test]
async fn sign_in_sends_the_browser_only_to_a_path_on_this_site() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        add_member(&app, "m@example.org", false, &[("kamailio", "member")]).await;
        for next in ["/cases/1", "/dashboard?q=a%20b&state=new", "/account"] {
            let (answer, _) = sign_in_password_to(&app, "m@example.org", PASSWORD, next).await;
            assert_eq!(location(&answer), next, "on {}", db.label);
        }
        for next in FOREIGN_NEXT {
            let (answer, cookie) = sign_in_password_to(&app, "m@example.org", PASSWORD, next).await;
            assert_eq!(
                answer.status().as_u16(),
                303,
                "on {}: next={next:?}",
                db.label
            );
            assert_eq!(location(&answer), "/dashboard", "next={next:?}");
            assert!(cookie.is_some(), "next={next:?}: signed in all the same");
            // The form never carries it forward either.
            let query = serde_urlencoded::to_string([("next", next)]).unwrap();
            let form = app.get(&format!("/signin?{query}")).await;
            assert_eq!(form.status().as_u16(), 200, "next={next:?}");
            let html = form.text().await.unwrap();
            assert_eq!(
                hidden(&html, "next").as_deref(),
                Some("/dashboard"),
                "next={next:?}"
            );
        }
        assert!(!app.log().contains("ERROR"), "{}", app.log());
    })
    .await;
}

/// An account with an authenticator enrolled; returns its id and secret.
async fn with_authenticator(app: &TestApp, email: &str) -> (i64, String) {
    let id = add_member(app, email, false, &[("kamailio", "officer")]).await;
    let secret = accounts::new_totp_secret().unwrap();
    let (_, hashes) = accounts::new_recovery_codes().unwrap();
    app.store.enrol_totp(id, &secret, 0, &hashes).await.unwrap();
    (id, secret)
}

/// The password step, then one code at the second-factor step; the code step's answer.
async fn password_then_code(app: &TestApp, email: &str, code: &str) -> reqwest::Response {
    let (answer, cookie) = sign_in_password(app, email, PASSWORD).await;
    assert_eq!(
        location(&answer),
        "/signin/second-factor?next=%2Fdashboard",
        "the password step passes"
    );
    let pending = cookie.unwrap();
    let form = page(app, &pending, "/signin/second-factor").await;
    let csrf = hidden(&form.text().await.unwrap(), "csrf").unwrap();
    post_form(
        app,
        &pending,
        "/signin/second-factor",
        &[("csrf", &csrf), ("code", code), ("next", "/dashboard")],
    )
    .await
}

fn retry_after(answer: &reqwest::Response) -> u64 {
    answer.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_right_password_does_not_reset_the_count_of_wrong_codes() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (_, secret) = with_authenticator(&app, "o@example.org").await;
        let mut statuses = Vec::new();
        for _ in 0..6 {
            // The password is right every time; each round guesses one code.
            let answer = password_then_code(&app, "o@example.org", "000000").await;
            statuses.push(answer.status().as_u16());
            if answer.status().as_u16() == 429 {
                let wait = retry_after(&answer);
                assert!((1..=15 * 60).contains(&wait), "Retry-After {wait}");
            }
        }
        assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "on {}", db.label);
        // Locked out means the right code too, until the window has passed.
        let code = accounts::totp_code(&secret, unix_now()).unwrap();
        let right = password_then_code(&app, "o@example.org", &code).await;
        assert_eq!(right.status().as_u16(), 429);

        // A complete sign-in clears the count: four wrong codes, a right one, four more.
        let (_, secret) = with_authenticator(&app, "p@example.org").await;
        for _ in 0..4 {
            let wrong = password_then_code(&app, "p@example.org", "000000").await;
            assert_eq!(wrong.status().as_u16(), 401);
        }
        let code = accounts::totp_code(&secret, unix_now()).unwrap();
        let done = password_then_code(&app, "p@example.org", &code).await;
        assert_eq!(location(&done), "/dashboard");
        for _ in 0..4 {
            let wrong = password_then_code(&app, "p@example.org", "000000").await;
            assert_eq!(wrong.status().as_u16(), 401, "on {}", db.label);
        }
    })
    .await;
}

#[tokio::test]
async fn the_account_forms_hold_back_guesses_like_sign_in() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        // Current-password guesses on /account/password.
        let id = add_member(&app, "m@example.org", false, &[("kamailio", "member")]).await;
        let s = session_for(&app, id).await;
        let change = |current: &'static str| {
            let s = s.clone();
            let app = &app;
            async move {
                post_form(
                    app,
                    &s.cookie,
                    "/account/password",
                    &[
                        ("csrf", s.csrf.as_str()),
                        ("current", current),
                        ("new", "a whole new passphrase"),
                    ],
                )
                .await
            }
        };
        for _ in 0..5 {
            assert_eq!(
                change("wrong guess").await.status().as_u16(),
                422,
                "on {}",
                db.label
            );
        }
        let refused = change(PASSWORD).await;
        assert_eq!(
            refused.status().as_u16(),
            429,
            "even the right one, for now"
        );
        assert!(retry_after(&refused) >= 1);
        let user = app.store.user(id).await.unwrap().unwrap();
        assert!(
            accounts::verify_password(PASSWORD, &user.password_hash),
            "unchanged"
        );
        // They are the sign-in's failures: the password step is held back too.
        let (signin, _) = sign_in_password(&app, "m@example.org", PASSWORD).await;
        assert_eq!(signin.status().as_u16(), 429);

        // Authenticator-code guesses on /account/recovery-codes.
        let (officer, secret) = with_authenticator(&app, "o@example.org").await;
        let s = session_for(&app, officer).await;
        let codes = |code: String| {
            let s = s.clone();
            let app = &app;
            async move {
                post_form(
                    app,
                    &s.cookie,
                    "/account/recovery-codes",
                    &[("csrf", s.csrf.as_str()), ("code", code.as_str())],
                )
                .await
            }
        };
        for _ in 0..5 {
            assert_eq!(codes("000000".into()).await.status().as_u16(), 422);
        }
        let refused = codes(accounts::totp_code(&secret, unix_now()).unwrap()).await;
        assert_eq!(refused.status().as_u16(), 429, "on {}", db.label);
        assert!(retry_after(&refused) >= 1);
        // And they count against the sign-in's second factor.
        let at_signin = password_then_code(
            &app,
            "o@example.org",
            &accounts::totp_code(&secret, unix_now()).unwrap(),
        )
        .await;
        assert_eq!(at_signin.status().as_u16(), 429);
    })
    .await;
}

/// Runs `vulndesk user ARGS --db URL`; returns (exit code, stdout, stderr).
async fn vulndesk_user(db: &TestDb, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("user")
        .args(args)
        .args(["--db", &db.url])
        .env_remove("VULNDESK_DB")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether the token still works.
async fn works(app: &TestApp, token: &str) -> bool {
    list_with(app, token).await.0 == 200
}

#[tokio::test]
async fn api_tokens_expire_and_end_with_a_password_change_a_reset_and_signing_out_everywhere() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let id = add_member(&app, "m@example.org", false, &[("kamailio", "member")]).await;

        // Made on the account page: 90 days unless chosen otherwise, shown there.
        let s = session_for(&app, id).await;
        let made = post_form(
            &app,
            &s.cookie,
            "/account/tokens",
            &[("csrf", &s.csrf), ("name", "CI"), ("scope", "cases:read")],
        )
        .await;
        assert_eq!(made.status().as_u16(), 200, "on {}", db.label);
        let html = made.text().await.unwrap();
        let row = &app.store.api_tokens(id).await.unwrap()[0];
        let days = (row.expires_at - row.created_at).as_hours() / 24;
        assert_eq!(days, 90);
        let shown = row.expires_at.strftime("%Y-%m-%d %H:%M UTC").to_string();
        assert!(
            html.contains("<th scope=\"col\">Expires</th>") && html.contains(&shown),
            "{html}"
        );
        for (days, status) in [("7", 200), ("0", 422), ("366", 422), ("soon", 422)] {
            let answer = post_form(
                &app,
                &s.cookie,
                "/account/tokens",
                &[
                    ("csrf", &s.csrf),
                    ("name", "CI"),
                    ("scope", "cases:read"),
                    ("days", days),
                ],
            )
            .await;
            assert_eq!(answer.status().as_u16(), status, "days={days}");
        }
        assert_eq!(
            (app.store.api_tokens(id).await.unwrap()[0].expires_at - jiff::Timestamp::now())
                .as_hours()
                / 24,
            6,
            "a 7-day token"
        );
        // The page says what ends tokens, next to the buttons that do it.
        let account = page(&app, &s.cookie, "/account")
            .await
            .text()
            .await
            .unwrap();
        assert!(account.contains("your other sessions end and all your API tokens are revoked"));
        assert!(account.contains("on every device, and revokes all your API tokens"));

        // Expired: refused with 401 saying so.
        let expired = accounts::new_api_token().unwrap();
        let long_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 100);
        app.store
            .add_api_token(
                id,
                "old",
                &accounts::secret_hash(&expired),
                &["cases:read".into()],
                long_ago,
                accounts::api_token_expiry(long_ago, None).unwrap(),
            )
            .await
            .unwrap();
        let (status, body, challenge) = list_with(&app, &expired).await;
        assert_eq!(status, 401, "on {}", db.label);
        assert_eq!(body["error"]["code"], "token_expired");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("expired"),
            "{body}"
        );
        assert!(challenge.unwrap().contains("invalid_token"));
        let unknown = list_with(&app, &accounts::new_api_token().unwrap()).await;
        assert_eq!(
            unknown.1["error"]["code"], "sign_in_required",
            "unknown is not 'expired'"
        );

        // A password change revokes every token.
        let token = api_token(&app, id, &["cases:read"]).await;
        assert!(works(&app, &token).await);
        let changed = post_form(
            &app,
            &s.cookie,
            "/account/password",
            &[
                ("csrf", &s.csrf),
                ("current", PASSWORD),
                ("new", "a whole new passphrase"),
            ],
        )
        .await;
        assert_eq!(changed.status().as_u16(), 200);
        assert!(
            !works(&app, &token).await,
            "on {}: password change",
            db.label
        );

        // Signing out everywhere revokes every token.
        let token = api_token(&app, id, &["cases:write"]).await;
        assert!(works(&app, &token).await);
        let out = post_form(&app, &s.cookie, "/signout/everywhere", &[("csrf", &s.csrf)]).await;
        assert_eq!(location(&out), "/signin");
        assert!(
            !works(&app, &token).await,
            "on {}: sign out everywhere",
            db.label
        );

        // `vulndesk user token` tells when its token expires; `user reset` revokes it.
        let (code, out, err) = vulndesk_user(
            &db,
            &[
                "token",
                "m@example.org",
                "--name",
                "ci",
                "--scope",
                "cases:read",
                "--days",
                "30",
            ],
        )
        .await;
        assert_eq!(code, 0, "{err}");
        let token = out.trim().to_owned();
        assert!(token.starts_with("vdt_") && !token.contains('\n'), "{out}");
        let expiry = app.store.api_tokens(id).await.unwrap()[0].expires_at;
        assert!(
            err.contains(&format!("expires {expiry} (in 30 days)")),
            "{err}"
        );
        assert!(works(&app, &token).await);
        let (code, _, err) = vulndesk_user(
            &db,
            &[
                "token",
                "m@example.org",
                "--name",
                "ci",
                "--scope",
                "cases:read",
                "--days",
                "0",
            ],
        )
        .await;
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("from 1 to 365"), "{err}");
        let (code, out, err) = vulndesk_user(&db, &["reset", "m@example.org"]).await;
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("API tokens revoked"), "{out}");
        assert!(!works(&app, &token).await, "on {}: reset", db.label);

        // A reset never enables a disabled account.
        let (code, _, err) = vulndesk_user(&db, &["disable", "m@example.org"]).await;
        assert_eq!(code, 0, "{err}");
        let (code, out, _) = vulndesk_user(&db, &["reset", "m@example.org"]).await;
        assert_eq!(code, 0);
        assert!(out.contains("the account stays disabled"), "{out}");
        let user = app.store.user(id).await.unwrap().unwrap();
        assert!(
            user.disabled_at.is_some(),
            "on {}: still disabled",
            db.label
        );
        let fresh = out
            .lines()
            .find_map(|l| l.strip_prefix("password: "))
            .unwrap();
        let (signin, _) = sign_in_password(&app, "m@example.org", fresh).await;
        assert_eq!(signin.status().as_u16(), 401);
    })
    .await;
}

/// The methods a test tries on every route.
const METHODS: [Method; 6] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::OPTIONS,
];

#[tokio::test]
async fn a_wrong_method_on_any_route_answers_405_with_allow() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let mut served: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for rule in vulndesk_web::route_table() {
            served
                .entry(rule.path)
                .or_default()
                .insert(rule.method.to_string());
        }
        let mut failures = Vec::new();
        for (pattern, methods) in &served {
            let path = pattern
                .replace("{id}", "1")
                .replace("{token}", &"0".repeat(64))
                .replace("{org}", "kamailio")
                .replace("{sha256}", &"0".repeat(64))
                .replace("{token_id}", "1");
            for method in METHODS.iter().filter(|m| !methods.contains(m.as_str())) {
                let answer = app
                    .client
                    .request(method.clone(), app.url(&path))
                    .send()
                    .await
                    .unwrap();
                let allow: BTreeSet<String> = answer
                    .headers()
                    .get(ALLOW)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .split(',')
                    .map(|m| m.trim().to_owned())
                    .filter(|m| !m.is_empty())
                    .collect();
                let status = answer.status().as_u16();
                if status != 405 || !methods.is_subset(&allow) {
                    failures.push(format!("{method} {pattern}: {status}, Allow {allow:?}"));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "on {}:\n{}",
            db.label,
            failures.join("\n")
        );
        let log = app.log();
        assert!(
            !log.contains("ERROR"),
            "a wrong method is no server error:\n{log}"
        );
        // The API answers in its own form.
        let answer = app
            .client
            .delete(app.url("/api/v1/cases/1"))
            .send()
            .await
            .unwrap();
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed");
    })
    .await;
}

#[tokio::test]
async fn over_https_browsers_are_told_to_use_only_https() {
    on_each_database(|db| async move {
        let https = spawn_app_with(
            &db,
            &[
                (RATE_LIMIT_ENV, "off"),
                ("VULNDESK_PUBLIC_URL", "https://security.example.org"),
            ],
        )
        .await;
        for path in ["/healthz", "/signin", "/api/v1/products", "/no-such-page"] {
            let answer = https.get(path).await;
            let hsts = answer
                .headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(
                hsts.as_deref(),
                Some("max-age=31536000"),
                "on {}: {path}",
                db.label
            );
        }
    })
    .await;
    // Over plain HTTP the header would mislead (and browsers ignore it there).
    on_each_database(|db| async move {
        let plain = spawn_app_with(
            &db,
            &[
                (RATE_LIMIT_ENV, "off"),
                ("VULNDESK_PUBLIC_URL", "http://desk.internal"),
            ],
        )
        .await;
        for path in ["/healthz", "/signin"] {
            let answer = plain.get(path).await;
            assert!(
                !answer.headers().contains_key("strict-transport-security"),
                "on {}: {path} over plain HTTP",
                db.label
            );
        }
    })
    .await;
}
