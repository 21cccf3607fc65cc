//! The authorisation matrix: every route of the server × every kind of caller, against
//! the real binary. The routes come from the router itself (`vulndesk_web::route_table`),
//! so a route added without a row here fails this test.

use std::collections::BTreeMap;

use reqwest::header::{AUTHORIZATION, COOKIE};
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use vulndesk_core::access::CaseGrant;
use vulndesk_store::Effects;

use crate::helpers::{RATE_LIMIT_ENV, TestApp, on_each_database, report, spawn_app_with};
use crate::team_support::{
    PASSWORD, Session, add_member, api_token, hidden, location, session_for, set_cookie,
};

/// The callers, in the order of the table's columns. "read token" and "write token" are API
/// tokens of a kamailio member, sent as `Authorization: Bearer`: account management and
/// signing out must refuse them whatever their scope. "party" holds the portal token of a
/// party invited to the case, in the address of portal routes and as a bearer token
/// elsewhere: it opens its portal and nothing else. "party account" is a person whose
/// account answers for that party (and who holds the retired `external` grant on the case,
/// which gives nothing): signed in, it reaches the party's portal and nothing of the case.
const ROLES: [&str; 12] = [
    "anonymous",
    "reporter",
    "other reporter",
    "other org member",
    "member",
    "officer",
    "reviewer",
    "admin",
    "party account",
    "read token",
    "write token",
    "party",
];

/// For each route, what each caller gets: `.` allowed (the handler ran), `s` sign in
/// first (401 from the API, a redirect to the sign-in page from pages), `h` hidden (404,
/// the same answer as for something that does not exist), `f` forbidden (403).
#[rustfmt::skip]
const EXPECTED: &[(&str, &str)] = &[
    //                                              anon rep orep oorg mem off rev adm pac rtk wtk pty
    ("GET /",                                         ". . . . . . . . . . . ."),
    ("GET /healthz",                                  ". . . . . . . . . . . ."),
    ("GET /static/vulndesk.css",                      ". . . . . . . . . . . ."),
    ("GET /static/localtime.js",                      ". . . . . . . . . . . ."),
    ("GET /p/{id}/{token}",                           "h h h h h h h h h h h ."),
    ("POST /p/{id}/{token}/answer",                   "h h h h h h h h h h h ."),
    ("POST /p/{id}/{token}/status",                   "h h h h h h h h h h h ."),
    ("POST /p/{id}/{token}/messages",                 "h h h h h h h h h h h ."),
    ("POST /p/{id}/{token}/token",                    "h h h h h h h h h h h ."),
    ("GET /p/{id}/{token}/files/{sha256}",            "h h h h h h h h h h h ."),
    ("GET /party/cases/{id}",                         "s s s h h h h h . h h s"),
    ("POST /party/cases/{id}/answer",                 "s s s h h h h h . h h s"),
    ("POST /party/cases/{id}/status",                 "s s s h h h h h . h h s"),
    ("POST /party/cases/{id}/messages",               "s s s h h h h h . h h s"),
    ("GET /party/cases/{id}/files/{sha256}",          "s s s h h h h h . h h s"),
    ("GET /api/v1/openapi.json",                      ". . . . . . . . . . . ."),
    ("GET /api/v1/products",                          ". . . . . . . . . . . ."),
    ("POST /api/v1/reports",                          ". . . . . . . . . . . ."),
    ("GET /api/v1/reports/{id}",                      "h . h h h h h h h h h h"),
    ("POST /api/v1/reports/{id}/replies",             "h . h h h h h h h h h h"),
    ("POST /api/v1/reports/{id}/token",               "h . h h h h h h h h h h"),
    ("GET /api/v1/reports/{id}/files/{sha256}",      "h . h h h h h h h h h h"),
    ("GET /o/{org}/report",                           ". . . . . . . . . . . ."),
    ("POST /o/{org}/report",                          ". . . . . . . . . . . ."),
    ("GET /r/{id}/{token}",                           "h . h h h h h h h h h h"),
    ("POST /r/{id}/{token}/replies",                  "h . h h h h h h h h h h"),
    ("POST /r/{id}/{token}/key",                      "h . h h h h h h h h h h"),
    ("POST /r/{id}/{token}/token",                    "h . h h h h h h h h h h"),
    ("POST /r/{id}/{token}/consent",                  "h . h h h h h h h h h h"),
    ("GET /r/{id}/{token}/files/{sha256}",            "h . h h h h h h h h h h"),
    ("GET /signin",                                   ". . . . . . . . . . . ."),
    ("POST /signin",                                  ". . . . . . . . . . . ."),
    ("GET /signin/second-factor",                     ". . . . . . . . . . . ."),
    ("POST /signin/second-factor",                    ". . . . . . . . . . . ."),
    ("GET /signin/enrol",                             ". . . . . . . . . . . ."),
    ("POST /signin/enrol",                            ". . . . . . . . . . . ."),
    ("POST /signout",                                 "s s s . . . . . . f f s"),
    ("POST /signout/everywhere",                      "s s s . . . . . . f f s"),
    ("GET /account",                                  "s s s . . . . . . f f s"),
    ("POST /account/password",                        "s s s . . . . . . f f s"),
    ("POST /account/tokens",                          "s s s . . . . . . f f s"),
    ("POST /account/recovery-codes",                  "s s s . . . . . . f f s"),
    ("POST /account/tokens/{token_id}/revoke",        "s s s h h h h h h f f s"),
    ("GET /dashboard",                                "s s s . . . . . . . . s"),
    ("GET /outbound/new",                             "s s s . . . . . . . . s"),
    ("POST /outbound/new",                            "s s s . . . . . . f . s"),
    ("GET /orgs/{org}/parties",                       "s s s f . . f . f . . s"),
    ("POST /orgs/{org}/parties",                      "s s s f f . f . f f f s"),
    ("GET /orgs/{org}/parties/{party}",               "s s s f . . f . f . . s"),
    ("POST /orgs/{org}/parties/{party}",              "s s s f f . f . f f f s"),
    ("POST /orgs/{org}/parties/{party}/accounts",     "s s s f f . f . f f f s"),
    ("POST /orgs/{org}/parties/{party}/wkd",          "s s s f f . f . f f f s"),
    ("GET /cases/{id}",                               "s s s h . . . . h . . s"),
    ("GET /cases/{id}/files/{sha256}",                "s s s h . . . . h . . s"),
    ("POST /cases/{id}/triage",                       "s s s h . . f . h f . s"),
    ("POST /cases/{id}/notes",                        "s s s h . . f . h f . s"),
    ("POST /cases/{id}/messages",                     "s s s h . . f . h f . s"),
    ("POST /cases/{id}/severity",                     "s s s h . . f . h f . s"),
    ("POST /cases/{id}/ssvc",                         "s s s h . . f . h f . s"),
    ("POST /cases/{id}/lines",                        "s s s h . . f . h f . s"),
    ("POST /cases/{id}/bounty",                       "s s s h . . f . h f . s"),
    ("POST /cases/{id}/officer",                      "s s s h f . f . h f f s"),
    ("POST /cases/{id}/deadlines",                    "s s s h f . f . h f f s"),
    ("POST /cases/{id}/access",                       "s s s h f . f . h f f s"),
    ("POST /cases/{id}/approvals",                    "s s s h . . . . h f . s"),
    ("POST /cases/{id}/parties",                      "s s s h . . f . h f . s"),
    ("POST /cases/{id}/embargo",                      "s s s h f . f . h f f s"),
    ("GET /cases/{id}/parties/{party}",               "s s s h . . f . h f . s"),
    ("POST /cases/{id}/party-messages",               "s s s h . . f . h f . s"),
    ("POST /cases/{id}/statements",                   "s s s h . . f . h f . s"),
    ("POST /cases/{id}/reporter-sharing",             "s s s h f . f . h f f s"),
    ("POST /cases/{id}/advisories",                   "s s s h . . f . h f . s"),
    ("GET /advisories",                               "s s s . . . . . . . . s"),
    ("GET /advisories/{advisory}",                    "s s s h . . . . h . . s"),
    ("POST /advisories/{advisory}/edit",              "s s s h . . f . h f . s"),
    ("POST /advisories/{advisory}/private",           "s s s h . . f . h f . s"),
    ("POST /advisories/{advisory}/comments",          "s s s h . . . . h f . s"),
    ("POST /advisories/{advisory}/approvals",         "s s s h . . . . h f . s"),
    ("POST /advisories/{advisory}/credits",           "s s s h . . f . h f . s"),
    ("POST /advisories/{advisory}/cve",               "s s s h f . f . h f f s"),
    ("POST /advisories/{advisory}/publish",           "s s s h f . f . h f f s"),
    ("POST /advisories/{advisory}/revisions",         "s s s h f . f . h f f s"),
    ("POST /advisories/{advisory}/withdrawal",        "s s s h f . f . h f f s"),
    ("POST /advisories/{advisory}/cve-record",        "s s s h f . f . h f f s"),
    ("POST /api/v1/advisories/{advisory}/cve-record", "s s s h f . f . h f f s"),
    ("GET /api/v1/orgs/{org}/cve-ids",                "s s s f . . f . f . . s"),
    ("POST /api/v1/orgs/{org}/cve-ids",               "s s s f f . f . f f f s"),
    ("GET /api/v1/cases",                             "s s s . . . . . . . . s"),
    ("POST /api/v1/outbound",                         "s s s . . . . . . f . s"),
    ("GET /api/v1/orgs/{org}/parties",                "s s s f . . f . f . . s"),
    ("POST /api/v1/orgs/{org}/parties",               "s s s f f . f . f f f s"),
    ("GET /api/v1/orgs/{org}/parties/{party}",        "s s s f . . f . f . . s"),
    ("PUT /api/v1/orgs/{org}/parties/{party}",        "s s s f f . f . f f f s"),
    ("GET /api/v1/orgs/{org}/parties/{party}/accounts", "s s s f . . f . f . . s"),
    ("POST /api/v1/orgs/{org}/parties/{party}/accounts", "s s s f f . f . f f f s"),
    ("POST /api/v1/orgs/{org}/parties/{party}/wkd",   "s s s f f . f . f f f s"),
    ("GET /api/v1/cases/{id}",                        "s s s h . . . . h . . s"),
    ("POST /api/v1/cases/{id}/triage",                "s s s h . . f . h f . s"),
    ("POST /api/v1/cases/{id}/notes",                 "s s s h . . f . h f . s"),
    ("POST /api/v1/cases/{id}/messages",              "s s s h . . f . h f . s"),
    ("POST /api/v1/cases/{id}/severity",              "s s s h . . f . h f . s"),
    ("POST /api/v1/cases/{id}/ssvc",                  "s s s h . . f . h f . s"),
    ("POST /api/v1/cases/{id}/lines",                 "s s s h . . f . h f . s"),
    ("POST /api/v1/cases/{id}/bounty",                "s s s h . . f . h f . s"),
    ("POST /api/v1/cases/{id}/officer",               "s s s h f . f . h f f s"),
    ("POST /api/v1/cases/{id}/deadlines",             "s s s h f . f . h f f s"),
    ("POST /api/v1/cases/{id}/access",                "s s s h f . f . h f f s"),
    ("POST /api/v1/cases/{id}/approvals",             "s s s h . . . . h f . s"),
    ("POST /api/v1/cases/{id}/parties",               "s s s h . . f . h f . s"),
    ("POST /api/v1/cases/{id}/embargo",               "s s s h f . f . h f f s"),
    ("POST /api/v1/cases/{id}/party-messages",        "s s s h . . f . h f . s"),
    ("POST /api/v1/cases/{id}/statements",            "s s s h . . f . h f . s"),
    ("POST /api/v1/cases/{id}/reporter-sharing",      "s s s h f . f . h f f s"),
    ("GET /o/{org}/advisories",                       ". . . . . . . . . . . ."),
    ("GET /o/{org}/advisories/{number}",              ". . . . . . . . . . . ."),
    ("GET /o/{org}/advisories/{number}/{file}",       ". . . . . . . . . . . ."),
    ("POST /api/v1/reports/{id}/credits",             "h . h h h h h h h h h h"),
    ("POST /r/{id}/{token}/credits",                  "h . h h h h h h h h h h"),
    ("GET /api/v1/cases/{id}/advisories",             "s s s h . . . . h . . s"),
    ("POST /api/v1/cases/{id}/advisories",            "s s s h . . f . h f . s"),
    ("GET /api/v1/advisories/{advisory}",             "s s s h . . . . h . . s"),
    ("PUT /api/v1/advisories/{advisory}",             "s s s h . . f . h f . s"),
    ("PUT /api/v1/advisories/{advisory}/private",     "s s s h . . f . h f . s"),
    ("POST /api/v1/advisories/{advisory}/comments",   "s s s h . . . . h f . s"),
    ("POST /api/v1/advisories/{advisory}/approvals",  "s s s h . . . . h f . s"),
    ("POST /api/v1/advisories/{advisory}/credits",    "s s s h . . f . h f . s"),
    ("POST /api/v1/advisories/{advisory}/cve",        "s s s h f . f . h f f s"),
    ("POST /api/v1/advisories/{advisory}/publish",    "s s s h f . f . h f f s"),
    ("POST /api/v1/advisories/{advisory}/revisions",  "s s s h f . f . h f f s"),
    ("POST /api/v1/advisories/{advisory}/withdrawal", "s s s h f . f . h f f s"),
    ("GET /api/v1/advisories/{advisory}/export/{format}", "s s s h . . . . h . . s"),
];

/// What one request showed about the decision.
fn outcome(path: &str, status: u16, location: &str, body: &str) -> char {
    let sign_in = format!(
        "/signin?next={}",
        serde_urlencoded::to_string([("", path)])
            .unwrap()
            .trim_start_matches('=')
    );
    match status {
        401 if body.contains("sign_in_required") => 's',
        303 if location == sign_in => 's',
        404 => 'h',
        403 => 'f',
        _ => '.',
    }
}

/// Everything the requests need: the case under test, its reporter's token and a file.
struct Fixture {
    case_id: i64,
    token: String,
    other_token: String,
    /// The portal token of the party invited to the case.
    party_token: String,
    sha256: String,
    sessions: BTreeMap<&'static str, i64>,
    /// A draft advisory of the case, by its API number.
    advisory: i64,
    /// A published advisory of the case, by its ID.
    number: String,
    /// The API tokens of the token callers.
    api_tokens: BTreeMap<&'static str, String>,
}

async fn fixture(app: &TestApp) -> Fixture {
    let (case_id, token) = app.create_report(&report("kamailio", "Matrix case")).await;
    let (_, other_token) = app.create_report(&report("kamailio", "Another case")).await;
    // A file in the case, through the portal.
    let form = Form::new().text("body", "a file").part(
        "attachments",
        Part::bytes(b"proof".to_vec())
            .file_name("poc.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let answer = app
        .post_form(&format!("/r/{case_id}/{token}/replies"), form)
        .await;
    assert_eq!(
        answer.status().as_u16(),
        303,
        "{}",
        answer.text().await.unwrap()
    );
    let sha256 = app.store.attachments(case_id).await.unwrap()[0]
        .sha256
        .clone();
    let mut sessions = BTreeMap::new();
    sessions.insert(
        "other org member",
        add_member(app, "o@example.org", false, &[("salestim", "officer")]).await,
    );
    sessions.insert(
        "member",
        add_member(app, "m@example.org", false, &[("kamailio", "member")]).await,
    );
    sessions.insert(
        "officer",
        add_member(app, "c@example.org", false, &[("kamailio", "officer")]).await,
    );
    sessions.insert(
        "reviewer",
        add_member(app, "r@example.org", false, &[("kamailio", "reviewer")]).await,
    );
    sessions.insert("admin", add_member(app, "a@example.org", true, &[]).await);
    let external = add_member(app, "vendor@example.net", false, &[]).await;
    sessions.insert("party account", external);
    // The token holder has no session here: "sign out everywhere" as another caller must
    // not revoke these tokens halfway through the table.
    let holder = add_member(app, "t@example.org", false, &[("kamailio", "member")]).await;
    let mut api_tokens = BTreeMap::new();
    api_tokens.insert("read token", api_token(app, holder, &["cases:read"]).await);
    api_tokens.insert(
        "write token",
        api_token(app, holder, &["cases:write"]).await,
    );
    // A party in kamailio's registry, for its routes.
    let kamailio = app
        .store
        .organisation_by_slug("kamailio")
        .await
        .unwrap()
        .unwrap();
    let matrix =
        crate::coordination::registered(app, kamailio.id, "matrix", "Matrix", "vendor").await;
    // The person once got the retired external grant on the case (a log written before it
    // was retired): it gives nothing now.
    let now = jiff::Timestamp::now();
    let (events, _) = vulndesk_desk::cases::prepare(
        vec![vulndesk_core::case::Event::AccessChanged {
            user_id: external,
            grant: Some(CaseGrant::External),
        }],
        &vulndesk_core::actor::Actor::User(0),
        now,
    )
    .unwrap();
    app.store
        .append_events(
            case_id,
            app.store.head(case_id).await.unwrap(),
            events,
            None,
            Effects {
                grants: vec![(external, Some("external".into()))],
                ..Effects::default()
            },
        )
        .await
        .unwrap();
    // A party of kamailio's registry invited to the case, by its officer; its portal token
    // comes from the invitation mail.
    let officer = session_for(app, sessions["officer"]).await;
    let reply_by = jiff::Timestamp::now().to_string()[..10].to_owned();
    let invited = officer
        .on(app.client.post(app.url(&format!("/api/v1/cases/{case_id}/parties"))))
        .json(&serde_json::json!({"parties": ["matrix"], "reply_by": reply_by, "summary": "A crash."}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        invited.status().as_u16(),
        201,
        "{}",
        invited.text().await.unwrap()
    );
    let jobs = app.store.jobs_for_case(case_id).await.unwrap();
    let raw = jobs
        .iter()
        .find(|j| j.payload["to"] == serde_json::json!(["psirt@matrix.example"]))
        .expect("the invitation")
        .payload["raw"]
        .as_str()
        .unwrap()
        .replace("=\r\n", "");
    let link = regex::Regex::new(&format!(r"/p/{case_id}/([0-9a-f]{{64}})")).unwrap();
    let party_token = link.captures(&raw).expect("a portal link")[1].to_owned();
    // The person answers for the party by account.
    assert!(
        app.store
            .link_party_account(matrix.id, external, true, now)
            .await
            .unwrap()
    );
    // The team sends the party the case's file too, so the file routes of the party's
    // portal have one to serve.
    let sent = officer
        .on(app
            .client
            .post(app.url(&format!("/cases/{case_id}/party-messages"))))
        .multipart(
            Form::new()
                .text("csrf", officer.csrf.clone())
                .text("party", "matrix")
                .text("body", "The proof.")
                .part(
                    "attachments",
                    Part::bytes(b"proof".to_vec()).file_name("poc.txt"),
                ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.status().as_u16(),
        303,
        "{}",
        sent.text().await.unwrap()
    );
    // Two advisories of the case: a draft for the team's routes, and one published (its
    // gate passed behind the desk's back) for the public's.
    let mut advisories = Vec::new();
    for title in ["Matrix draft", "Matrix published"] {
        let drafted = officer
            .on(app.client.post(app.url(&format!("/api/v1/cases/{case_id}/advisories"))))
            .json(&serde_json::json!({"fields": {
                "title": title,
                "summary": "A crash.",
                "products": [{"vendor": "Kamailio", "name": "kamailio", "lines": [{"line": "5.7", "introduced": "5.7.0", "fixed": "5.7.4"}]}]
            }}))
            .send()
            .await
            .unwrap();
        assert_eq!(drafted.status().as_u16(), 201);
        advisories.push(drafted.json::<Value>().await.unwrap());
    }
    let published = advisories[1]["id"].as_i64().unwrap();
    let head = app.store.advisory(published).await.unwrap().unwrap().head;
    app.store
        .append_advisory_events(
            published,
            head,
            vec![vulndesk_store::NewEvent {
                kind: "published".into(),
                actor: "user:0".into(),
                at: now,
                payload: serde_json::json!({"kind": "published"}),
            }],
        )
        .await
        .unwrap();
    Fixture {
        case_id,
        token,
        other_token,
        party_token,
        sha256,
        sessions,
        advisory: advisories[0]["id"].as_i64().unwrap(),
        number: advisories[1]["number"].as_str().unwrap().to_owned(),
        api_tokens,
    }
}

#[tokio::test]
async fn every_route_answers_every_caller_as_specified() {
    on_each_database(|db| async move {
        // Key lookups go to a closed port: refused at once, never out to the network.
        let app = spawn_app_with(
            &db,
            &[
                (RATE_LIMIT_ENV, "off"),
                ("VULNDESK_WKD_ORIGIN", "http://127.0.0.1:9"),
            ],
        )
        .await;
        let mut f = fixture(&app).await;
        let table = vulndesk_web::route_table();
        let expected: BTreeMap<&str, &str> = EXPECTED.iter().copied().collect();
        let routes: Vec<String> = table
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        for route in &routes {
            assert!(
                expected.contains_key(route.as_str()),
                "route {route} has no row in the authorisation matrix"
            );
        }
        for key in expected.keys() {
            assert!(
                routes.iter().any(|r| r == key),
                "matrix row {key} names no route"
            );
        }
        let mut failures = Vec::new();
        for rule in &table {
            let key = format!("{} {}", rule.method, rule.path);
            let want: Vec<char> = expected[key.as_str()]
                .split_whitespace()
                .map(|c| c.chars().next().unwrap())
                .collect();
            for (role, want) in ROLES.iter().zip(want) {
                let got = request(&app, &mut f, &rule.method, rule.path, role).await;
                if got != want {
                    failures.push(format!("{key} as {role}: expected {want}, got {got}"));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "on {}:\n{}",
            db.label,
            failures.join("\n")
        );
    })
    .await;
}

/// Sends `method path` as `role` and returns the outcome symbol.
async fn request(
    app: &TestApp,
    f: &mut Fixture,
    method: &reqwest::Method,
    pattern: &str,
    role: &str,
) -> char {
    let token = match role {
        "reporter" => f.token.clone(),
        "other reporter" => f.other_token.clone(),
        "party" => f.party_token.clone(),
        _ => "0".repeat(64),
    };
    let path = pattern
        .replace("{id}", &f.case_id.to_string())
        .replace("{token}", &token)
        .replace("{org}", "kamailio")
        .replace("{party}", "matrix")
        .replace("{sha256}", &f.sha256)
        .replace("{advisory}", &f.advisory.to_string())
        .replace("{number}", &f.number)
        .replace("{file}", "osv.json")
        .replace("{format}", "osv")
        // Nobody holds token 999999: revoking it is refused like any other's token.
        .replace("{token_id}", "999999");
    let session: Option<Session> = match f.sessions.get(role) {
        Some(id) => Some(session_for(app, *id).await),
        None => None,
    };
    let mut builder = app.client.request(method.clone(), app.url(&path));
    if let Some(s) = &session {
        builder = s.on(builder);
    }
    if matches!(role, "reporter" | "other reporter" | "party")
        && !path.starts_with("/r/")
        && !path.starts_with("/p/")
    {
        builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(api_token) = f.api_tokens.get(role) {
        builder = builder.header(AUTHORIZATION, format!("Bearer {api_token}"));
    }
    if matches!(*method, reqwest::Method::POST | reqwest::Method::PUT) {
        builder = body(app, builder, &path, session.as_ref()).await;
    }
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    let location = location(&response);
    let text = response.text().await.unwrap_or_default();
    // A replaced token must be the one used from now on.
    if role == "reporter" && path.ends_with("/token") && status < 400 {
        f.token = new_token(&location, &text);
    }
    if role == "party" && path.ends_with("/token") && status < 400 {
        f.party_token = new_token(&location, &text);
    }
    outcome(&path, status, &location, &text)
}

/// The new token from a replacement's answer (JSON from the API, a redirect from the portal).
fn new_token(location: &str, body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body)
        && let Some(t) = v["token"].as_str()
    {
        return t.to_owned();
    }
    location
        .split('/')
        .nth(3)
        .unwrap()
        .split('#')
        .next()
        .unwrap()
        .to_owned()
}

/// A body the route's handler can read (it need not be valid: only the decision counts).
async fn body(
    app: &TestApp,
    builder: reqwest::RequestBuilder,
    path: &str,
    session: Option<&Session>,
) -> reqwest::RequestBuilder {
    if path == "/signin" {
        // A real sign-in form, with its double-submit cookie, and good credentials.
        let page = app.get("/signin").await;
        let cookie = set_cookie(&page, "vd_pre").unwrap();
        let pre = hidden(&page.text().await.unwrap(), "pre").unwrap();
        let cookies = match session {
            Some(s) => format!("vd_pre={cookie}; vd_session={}", s.cookie),
            None => format!("vd_pre={cookie}"),
        };
        return builder.header(COOKIE, cookies).form(&[
            ("email", "m@example.org"),
            ("password", PASSWORD),
            ("pre", &pre),
        ]);
    }
    if path.starts_with("/api/") {
        return builder.json(&serde_json::json!({}));
    }
    if path.starts_with("/p/") {
        return builder.form(&[("body", "")]);
    }
    if path.starts_with("/r/") || path.starts_with("/o/") {
        return builder.multipart(Form::new().text("body", ""));
    }
    let csrf = session.map(|s| s.csrf.clone()).unwrap_or_default();
    builder.form(&[("csrf", csrf.as_str())])
}
