//! The OpenAPI document the server publishes is checked against the server's real answers:
//! every route described, every status seen declared, every JSON body valid against the
//! declared schema (which forbids unknown fields where the shape is fixed).

use std::collections::BTreeSet;

use jsonschema::Draft;
use reqwest::Method;
use reqwest::header::{COOKIE, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use crate::form::file_report;
use crate::helpers::{RATE_LIMIT_ENV, TestApp, on_each_database, report, spawn_app_with};
use crate::team_support::{Session, add_member, api_token, session_for};

/// The published contract and what the tests have checked against it.
struct Contract {
    doc: Value,
    seen: BTreeSet<(String, String, u16)>,
}

impl Contract {
    async fn fetch(app: &TestApp) -> Contract {
        let response = app.get("/api/v1/openapi.json").await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let doc: Value = response.json().await.expect("the document is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        Contract {
            doc,
            seen: BTreeSet::new(),
        }
    }

    /// Follows a local `$ref` (`#/components/...`).
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(pointer) => self
                .doc
                .pointer(pointer.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling $ref {pointer}")),
            None => value,
        }
    }

    /// The schema `instance` must match; errors as readable lines.
    fn violations(&self, schema: &Value, instance: &Value) -> Vec<String> {
        // The whole document is the root resource, so `#/components/...` references resolve;
        // its other members are not schema keywords and are ignored.
        let mut root = self.doc.clone();
        root["x-under-test"] = schema.clone();
        root["$ref"] = json!("#/x-under-test");
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("the declared schema does not compile: {e}"));
        validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    /// The JSON schema declared for `status` of `method path`.
    fn declared(&self, path: &str, method: &str, status: u16, media: &str) -> &Value {
        let operation = &self.doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not described");
        let response = operation["responses"]
            .get(status.to_string())
            .map(|r| self.resolve(r))
            .unwrap_or_else(|| panic!("{method} {path} does not declare {status}"));
        response["content"]
            .get(media)
            .unwrap_or_else(|| panic!("{method} {path} {status} does not declare {media}"))
            .get("schema")
            .expect("a schema")
    }

    /// Checks a real answer of `method path` against the document.
    async fn check(&mut self, path: &str, method: &str, response: reqwest::Response) -> Value {
        let status = response.status().as_u16();
        let media = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let schema = self.declared(path, method, status, &media).clone();
        self.seen
            .insert((path.to_owned(), method.to_owned(), status));
        if media != "application/json" {
            return Value::Null;
        }
        let body: Value = response.json().await.expect("a JSON body");
        let violations = self.violations(&schema, &body);
        assert!(
            violations.is_empty(),
            "{method} {path} {status} does not match the document:\n{}\n{body:#}",
            violations.join("\n")
        );
        body
    }

    /// [`Contract::check`] of an answer that must have `status`; shows the body if not.
    async fn expect(
        &mut self,
        path: &str,
        method: &str,
        response: reqwest::Response,
        status: u16,
    ) -> Value {
        let got = response.status().as_u16();
        if got != status {
            let body = response.text().await.unwrap_or_default();
            panic!("{method} {path}: expected {status}, got {got}: {body}");
        }
        self.check(path, method, response).await
    }
}

const REPORTS: &str = "/api/v1/reports";
const REPORT: &str = "/api/v1/reports/{id}";
const REPLIES: &str = "/api/v1/reports/{id}/replies";
const FILES: &str = "/api/v1/reports/{id}/files/{sha256}";
const TOKEN: &str = "/api/v1/reports/{id}/token";

async fn post(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: String,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn every_api_answer_matches_the_openapi_document() {
    on_each_database(|db| async move {
        // Parties' keys are looked up in a stand-in directory, never out on the network.
        let wkd = crate::coordination::WkdStandIn::start().await;
        let gpg = vulndesk_mail::testing::Gpg::new();
        let fpr = gpg.reporter_key("Fedora Security <security@fedora.example>");
        let key =
            vulndesk_mail::openpgp::PublicKey::parse(&gpg.export(&fpr), jiff::Timestamp::now())
                .unwrap();
        wkd.publish("security@fedora.example", &key.binary());
        // CVE Services, for the CNA's routes, is the stand-in that checks every request.
        let (cve_services, _) = crate::cve_services::stand_in().await;
        let app = spawn_app_with(
            &db,
            &[
                (RATE_LIMIT_ENV, "off"),
                ("VULNDESK_WKD_ORIGIN", &wkd.origin),
                ("VULNDESK_CVE_SERVICES_URL", &cve_services),
                ("VULNDESK_CVE_SERVICES_USER", crate::cve_services::USER),
                ("VULNDESK_CVE_SERVICES_KEY", crate::cve_services::KEY),
            ],
        )
        .await;
        let mut c = Contract::fetch(&app).await;
        let described: BTreeSet<(String, String)> = c.doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| *k != "parameters")
                    .map(move |m| (path.clone(), m.clone()))
            })
            .collect();
        // Every API route of the router (and the health check), so a route added without
        // its description fails here.
        let routes: BTreeSet<(String, String)> = vulndesk_web::route_table()
            .iter()
            .filter(|r| r.path.starts_with("/api/") || r.path == "/healthz")
            .map(|r| (r.path.to_owned(), r.method.as_str().to_lowercase()))
            .collect();
        assert_eq!(
            described, routes,
            "the document describes exactly the routes"
        );

        let r = app.get("/healthz").await;
        c.check("/healthz", "get", r).await;
        let r = app.get("/api/v1/openapi.json").await;
        c.check("/api/v1/openapi.json", "get", r).await;
        let r = app.get("/api/v1/products").await;
        let products = c.check("/api/v1/products", "get", r).await;
        assert!(!products.as_array().unwrap().is_empty());

        let body = json!({
            "product": "asterisk",
            "organisation": "sangoma",
            "title": "Crash",
            "description": "Steps",
            "fields": {"issue_type": "DoS"},
            "language": "en",
        });
        let r = post(&app, REPORTS, None, JSON, body.to_string()).await;
        assert_eq!(r.status().as_u16(), 201, "on {}", db.label);
        let created = c.check(REPORTS, "post", r).await;
        let (id, token) = (
            created["id"].as_i64().unwrap(),
            created["token"].as_str().unwrap().to_owned(),
        );
        for (content_type, body, status) in [
            (JSON, "{\"product\": ".to_owned(), 400),
            (JSON, "x".repeat(300 * 1024), 413),
            ("text/plain", body.to_string(), 415),
            (
                JSON,
                json!({"product": "asterisk", "title": "t"}).to_string(),
                422,
            ),
        ] {
            let r = post(&app, REPORTS, None, content_type, body).await;
            assert_eq!(r.status().as_u16(), status);
            c.check(REPORTS, "post", r).await;
        }

        let reported = id;
        let case = format!("/api/v1/reports/{id}");
        let r = get(&app, &case, Some(&token)).await;
        assert_eq!(r.status().as_u16(), 200);
        c.check(REPORT, "get", r).await;
        let r = get(&app, &case, Some(&"0".repeat(64))).await;
        assert_eq!(r.status().as_u16(), 404);
        c.check(REPORT, "get", r).await;

        let replies = format!("{case}/replies");
        let reply = json!({"body": "More detail."}).to_string();
        for (token, content_type, body, status) in [
            (Some(token.as_str()), JSON, reply.clone(), 201),
            (Some(token.as_str()), JSON, "{".to_owned(), 400),
            (None, JSON, reply.clone(), 404),
            (Some(token.as_str()), JSON, "x".repeat(300 * 1024), 413),
            (Some(token.as_str()), "text/plain", reply.clone(), 415),
            (
                Some(token.as_str()),
                JSON,
                json!({"body": ""}).to_string(),
                422,
            ),
            (
                Some(token.as_str()),
                JSON,
                json!({"text": "x"}).to_string(),
                422,
            ),
        ] {
            let r = post(&app, &replies, token, content_type, body).await;
            assert_eq!(r.status().as_u16(), status, "reply {status}");
            c.check(REPLIES, "post", r).await;
        }

        // A new token: the old one stops working at once.
        let r = post(
            &app,
            &format!("{case}/token"),
            Some(&token),
            JSON,
            String::new(),
        )
        .await;
        assert_eq!(r.status().as_u16(), 201);
        let fresh = c.check(TOKEN, "post", r).await["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = post(
            &app,
            &format!("{case}/token"),
            Some(&token),
            JSON,
            String::new(),
        )
        .await;
        assert_eq!(r.status().as_u16(), 404, "the old token is dead");
        c.check(TOKEN, "post", r).await;
        assert_eq!(get(&app, &case, Some(&token)).await.status().as_u16(), 404);
        assert_eq!(get(&app, &case, Some(&fresh)).await.status().as_u16(), 200);

        let (id, token) = file_report(&app).await;
        let poc = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"print('poc')\n"));
        let r = get(
            &app,
            &format!("/api/v1/reports/{id}/files/{poc}"),
            Some(&token),
        )
        .await;
        assert_eq!(r.status().as_u16(), 200);
        c.check(FILES, "get", r).await;
        let r = get(
            &app,
            &format!("/api/v1/reports/{id}/files/{}", "0".repeat(64)),
            Some(&token),
        )
        .await;
        assert_eq!(r.status().as_u16(), 404);
        c.check(FILES, "get", r).await;

        check_team_api(&app, &mut c, reported, id).await;

        // Over the rate limit, on a server that has one.
        let limited = spawn_app_with(&db, &[(RATE_LIMIT_ENV, "1/min")]).await;
        let first = post(
            &limited,
            REPORTS,
            None,
            JSON,
            report("salestim", "a").to_string(),
        )
        .await;
        assert_eq!(first.status().as_u16(), 201);
        let r = post(
            &limited,
            REPORTS,
            None,
            JSON,
            report("salestim", "b").to_string(),
        )
        .await;
        assert_eq!(r.status().as_u16(), 429);
        c.check(REPORTS, "post", r).await;
        let r = post(&limited, &replies, Some(&token), JSON, reply.clone()).await;
        assert_eq!(r.status().as_u16(), 429);
        c.check(REPLIES, "post", r).await;

        for (path, method) in &routes {
            assert!(
                c.seen
                    .iter()
                    .any(|(p, m, s)| p == path && m == method && *s < 300),
                "no successful {method} {path} was checked"
            );
        }
        for status in [200, 201, 400, 401, 403, 404, 409, 413, 415, 422, 429] {
            assert!(
                c.seen.iter().any(|(_, _, s)| *s == status),
                "{status} unchecked"
            );
        }

        // The check itself can fail: a missing field and an unexpected one are caught.
        let schema = c.declared(REPORTS, "post", 201, "application/json").clone();
        let mut missing = created.clone();
        missing.as_object_mut().unwrap().remove("token");
        assert!(
            !c.violations(&schema, &missing).is_empty(),
            "a missing field passed"
        );
        let mut extra = created.clone();
        extra["debug"] = json!(true);
        assert!(
            !c.violations(&schema, &extra).is_empty(),
            "an unexpected field passed"
        );
        let error = c.declared(REPORTS, "post", 422, "application/json").clone();
        let unexpected = json!({"error": {"code": "invalid_field", "message": "m", "hint": "h"}});
        assert!(!c.violations(&error, &unexpected).is_empty());
    })
    .await;
}

const JSON: &str = "application/json";
const CASES: &str = "/api/v1/cases";
const CASE: &str = "/api/v1/cases/{id}";
/// The team's actions, each `POST /api/v1/cases/{id}/<action>`.
const ACTIONS: [&str; 16] = [
    "triage",
    "notes",
    "messages",
    "severity",
    "officer",
    "deadlines",
    "access",
    "approvals",
    "ssvc",
    "lines",
    "bounty",
    "parties",
    "embargo",
    "party-messages",
    "statements",
    "reporter-sharing",
];
const CRITICAL: &str = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";

/// How a team request authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    Nobody,
    /// `Authorization: Bearer vdt_...`.
    Token(&'a str),
    /// The session cookie and its CSRF header.
    Session(&'a Session),
    /// The session cookie without the CSRF header.
    CookieOnly(&'a Session),
}

async fn team(
    app: &TestApp,
    method: Method,
    path: &str,
    auth: Auth<'_>,
    body: Option<(&str, String)>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path));
    request = match auth {
        Auth::Nobody => request,
        Auth::Token(token) => request.bearer_auth(token),
        Auth::Session(s) => s.on(request),
        Auth::CookieOnly(s) => request.header(COOKIE, format!("vd_session={}", s.cookie)),
    };
    if let Some((content_type, body)) = body {
        request = request.header("content-type", content_type).body(body);
    }
    request.send().await.unwrap()
}

const PARTIES: &str = "/api/v1/orgs/{org}/parties";

/// A registry request: who, how, where, with what body, the described route and method,
/// and the status it must answer.
type RegistryStep<'a> = (
    Auth<'a>,
    Method,
    &'a str,
    Option<&'a Value>,
    &'a str,
    &'a str,
    u16,
);
const PARTY: &str = "/api/v1/orgs/{org}/parties/{party}";
const ACCOUNTS: &str = "/api/v1/orgs/{org}/parties/{party}/accounts";
const WKD: &str = "/api/v1/orgs/{org}/parties/{party}/wkd";

/// Kamailio's registry of parties: added by its officer, a taken slug and a bad field
/// refused, read by a member and a read token, edited; refused to a member (403) and to a
/// person of no team of Kamailio.
async fn check_registry(
    c: &mut Contract,
    app: &TestApp,
    officer: &Session,
    member: &Session,
    outsider: &Session,
    read: &str,
) {
    let list = "/api/v1/orgs/kamailio/parties";
    let one = "/api/v1/orgs/kamailio/parties/fedora";
    let entry = json!({"name": "Fedora", "kind": "distribution", "contacts": ["security@fedora.example"], "products": ["kamailio"], "embargo": "14 days", "terms": "Maintainers only."});
    let bad = json!({"name": "Fedora", "kind": "distro", "contacts": ["security@fedora.example"]});
    let accounts = "/api/v1/orgs/kamailio/parties/fedora/accounts";
    let wkd = "/api/v1/orgs/kamailio/parties/fedora/wkd";
    let link = json!({"email": "vendor@example.net", "linked": true});
    let unknown = json!({"email": "nobody@example.net", "linked": true});
    #[rustfmt::skip]
    let steps: Vec<RegistryStep> = vec![
        (Auth::Session(officer), Method::POST, list, Some(&entry), PARTIES, "post", 201),
        (Auth::Session(officer), Method::POST, list, Some(&entry), PARTIES, "post", 409),
        (Auth::Session(officer), Method::POST, list, Some(&bad), PARTIES, "post", 422),
        (Auth::Session(member), Method::POST, list, Some(&entry), PARTIES, "post", 403),
        (Auth::Session(outsider), Method::GET, list, None, PARTIES, "get", 403),
        (Auth::Nobody, Method::GET, list, None, PARTIES, "get", 401),
        (Auth::Token(read), Method::GET, list, None, PARTIES, "get", 200),
        (Auth::Session(member), Method::GET, one, None, PARTY, "get", 200),
        (Auth::Session(member), Method::GET, "/api/v1/orgs/kamailio/parties/nobody", None, PARTY, "get", 404),
        (Auth::Session(officer), Method::PUT, one, Some(&entry), PARTY, "put", 200),
        (Auth::Session(officer), Method::PUT, one, Some(&bad), PARTY, "put", 422),
        (Auth::Token(read), Method::PUT, one, Some(&entry), PARTY, "put", 403),
        (Auth::Session(officer), Method::POST, accounts, Some(&link), ACCOUNTS, "post", 200),
        (Auth::Session(officer), Method::POST, accounts, Some(&unknown), ACCOUNTS, "post", 422),
        (Auth::Session(member), Method::POST, accounts, Some(&link), ACCOUNTS, "post", 403),
        (Auth::Token(read), Method::GET, accounts, None, ACCOUNTS, "get", 200),
        (Auth::Session(outsider), Method::GET, accounts, None, ACCOUNTS, "get", 403),
        (Auth::Session(officer), Method::POST, wkd, None, WKD, "post", 200),
        (Auth::Session(member), Method::POST, wkd, None, WKD, "post", 403),
        (Auth::Session(officer), Method::POST, "/api/v1/orgs/kamailio/parties/debian/wkd", None, WKD, "post", 422),
    ];
    for (auth, method, path, body, template, verb, status) in steps {
        let body = body.map(|b| (JSON, b.to_string()));
        let r = team(app, method, path, auth, body).await;
        let answer = c.expect(template, verb, r, status).await;
        if status == 201 {
            assert_eq!(answer["slug"], "fedora", "{answer}");
        }
        if template == WKD && status == 200 {
            assert!(answer["party"]["key_fingerprint"].is_string(), "{answer}");
        }
        if template == ACCOUNTS && status == 200 {
            assert_eq!(
                answer["accounts"][0]["email"], "vendor@example.net",
                "{answer}"
            );
        }
    }
}

const CASE_ADVISORIES: &str = "/api/v1/cases/{id}/advisories";
const ADVISORY: &str = "/api/v1/advisories/{advisory}";
const CREDITS: &str = "/api/v1/reports/{id}/credits";
const PRIVATE: &str = "/api/v1/advisories/{advisory}/private";
const COMMENTS: &str = "/api/v1/advisories/{advisory}/comments";
const APPROVALS: &str = "/api/v1/advisories/{advisory}/approvals";
const CREDIT_OFFERS: &str = "/api/v1/advisories/{advisory}/credits";
const CVE: &str = "/api/v1/advisories/{advisory}/cve";
const PUBLISH: &str = "/api/v1/advisories/{advisory}/publish";
const REVISIONS: &str = "/api/v1/advisories/{advisory}/revisions";
const WITHDRAWAL: &str = "/api/v1/advisories/{advisory}/withdrawal";
const EXPORT: &str = "/api/v1/advisories/{advisory}/export/{format}";

/// An advisory request: who, how, where, with what body, the described route and method,
/// and the status it must answer.
type AdvisoryStep<'a> = (
    Auth<'a>,
    Method,
    String,
    Option<String>,
    &'static str,
    &'static str,
    u16,
);

async fn advisory_steps(c: &mut Contract, app: &TestApp, steps: Vec<AdvisoryStep<'_>>) {
    for (auth, method, path, body, template, verb, status) in steps {
        let body = body.map(|b| (JSON, b));
        let r = team(app, method, &path, auth, body).await;
        let answer = c.expect(template, verb, r, status).await;
        if template == ADVISORY && verb == "get" && status == 200 {
            assert!(
                answer.get("private").is_some(),
                "a member works the case: {answer}"
            );
        }
    }
}

/// An advisory of a Kamailio case through its whole life: drafted, read, edited, reviewed
/// by a second officer, credited to the reporter (who accepts), given its CVE ID,
/// published, exported, revised and withdrawn; with the refusals on the way.
async fn check_advisories(
    c: &mut Contract,
    app: &TestApp,
    boss: &Session,
    mo: &Session,
    outsider: &Session,
    read: &str,
) {
    let second = add_member(app, "second@example.org", false, &[("kamailio", "officer")]).await;
    let second = session_for(app, second).await;
    let (case, reporter_token) = app
        .create_report(&report("kamailio", "Advisory case"))
        .await;
    let accepted = team(
        app,
        Method::POST,
        &format!("/api/v1/cases/{case}/triage"),
        Auth::Session(boss),
        Some((JSON, json!({"action": "accept"}).to_string())),
    )
    .await;
    assert_eq!(accepted.status().as_u16(), 201);
    let fields = json!({
        "title": "Crash in the SIP parser",
        "summary": "A crafted SIP message crashes the server.",
        "products": [{"vendor": "Kamailio", "name": "kamailio", "lines": [{"line": "5.7", "introduced": "5.7.0", "fixed": "5.7.4"}]}],
        "cvss": ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"],
        "cwes": [787],
        "references": [{"url": "https://github.com/kamailio/kamailio/commit/abc", "kind": "fix"}]
    });
    let drafts = format!("/api/v1/cases/{case}/advisories");
    let draft = json!({"fields": fields}).to_string();
    let r = team(
        app,
        Method::POST,
        &drafts,
        Auth::Session(boss),
        Some((JSON, draft.clone())),
    )
    .await;
    let created = c.expect(CASE_ADVISORIES, "post", r, 201).await;
    let one = format!("/api/v1/advisories/{}", created["id"]);
    let edited = {
        let mut f = fields.clone();
        f["workarounds"] = json!("Drop SIP messages over 64 KiB at the edge.");
        f.to_string()
    };
    let empty = || Some("{}".to_owned());
    let body = |v: Value| Some(v.to_string());
    #[rustfmt::skip]
    let before_the_reporter: Vec<AdvisoryStep> = vec![
        (Auth::Session(boss), Method::POST, drafts.clone(), body(json!({"fields": {"title": ""}})), CASE_ADVISORIES, "post", 422),
        (Auth::Session(boss), Method::POST, drafts.clone(), Some("{\"fields\": ".into()), CASE_ADVISORIES, "post", 400),
        (Auth::Session(outsider), Method::POST, drafts.clone(), Some(draft.clone()), CASE_ADVISORIES, "post", 404),
        (Auth::Token(read), Method::POST, drafts.clone(), Some(draft.clone()), CASE_ADVISORIES, "post", 403),
        (Auth::Token(read), Method::GET, drafts.clone(), None, CASE_ADVISORIES, "get", 200),
        (Auth::Nobody, Method::GET, one.clone(), None, ADVISORY, "get", 401),
        (Auth::Session(outsider), Method::GET, one.clone(), None, ADVISORY, "get", 404),
        (Auth::Session(mo), Method::GET, one.clone(), None, ADVISORY, "get", 200),
        (Auth::Session(boss), Method::PUT, one.clone(), Some(edited.clone()), ADVISORY, "put", 200),
        (Auth::Session(boss), Method::PUT, one.clone(), Some(edited.clone()), ADVISORY, "put", 409),
        (Auth::Token(read), Method::PUT, one.clone(), Some(edited.clone()), ADVISORY, "put", 403),
        (Auth::Session(boss), Method::PUT, one.clone(), body(json!({"title": "t", "summary": "s", "cwes": [99999]})), ADVISORY, "put", 422),
        (Auth::Session(boss), Method::PUT, format!("{one}/private"), body(json!({"proof_of_concept": "sipp -sf crash.xml"})), PRIVATE, "put", 200),
        (Auth::Session(mo), Method::POST, format!("{one}/comments"), body(json!({"part": "summary", "line": 1, "body": "Say which versions."})), COMMENTS, "post", 201),
        (Auth::Session(mo), Method::POST, format!("{one}/comments"), body(json!({"part": "summary", "line": 7, "body": "?"})), COMMENTS, "post", 422),
        (Auth::Session(boss), Method::POST, format!("{one}/publish"), empty(), PUBLISH, "post", 409),
        (Auth::Session(boss), Method::POST, format!("{one}/approvals"), empty(), APPROVALS, "post", 409),
        (Auth::Session(&second), Method::POST, format!("{one}/approvals"), empty(), APPROVALS, "post", 201),
        (Auth::Session(boss), Method::POST, format!("{one}/credits"), body(json!({"kind": "hero"})), CREDIT_OFFERS, "post", 422),
        (Auth::Session(boss), Method::POST, format!("{one}/credits"), body(json!({"kind": "finder", "reporter_of": case})), CREDIT_OFFERS, "post", 201),
    ];
    advisory_steps(c, app, before_the_reporter).await;
    // The reporter answers the credit offered to them.
    let reporter_credits = format!("/api/v1/reports/{case}/credits");
    let answer =
        json!({"advisory": created["id"], "credit": 1, "accepted": true, "name": "R. Eporter"})
            .to_string();
    for (body, status) in [
        (answer.clone(), 201),
        (answer, 409),
        ("{\"credit\": 1}".to_owned(), 422),
    ] {
        let r = post(app, &reporter_credits, Some(&reporter_token), JSON, body).await;
        assert_eq!(r.status().as_u16(), status);
        let said = c.check(CREDITS, "post", r).await;
        if status == 201 {
            assert_eq!(said["credits"][0]["answer"], "accepted", "{said}");
        }
    }
    let r = get(
        app,
        &format!("/api/v1/reports/{case}"),
        Some(&reporter_token),
    )
    .await;
    let view = c.expect(REPORT, "get", r, 200).await;
    assert_eq!(view["credits"][0]["name"], "R. Eporter");
    #[rustfmt::skip]
    let after: Vec<AdvisoryStep> = vec![
        (Auth::Session(mo), Method::POST, format!("{one}/cve"), body(json!({"cve": "CVE-2026-31337"})), CVE, "post", 403),
        (Auth::Session(boss), Method::POST, format!("{one}/cve"), body(json!({"cve": "CVE-2026-31337", "requested_at": "MITRE"})), CVE, "post", 422),
        (Auth::Session(boss), Method::POST, format!("{one}/cve"), body(json!({"cve": "CVE-2026-31337"})), CVE, "post", 201),
        (Auth::Session(boss), Method::GET, format!("{one}/export/osv"), None, EXPORT, "get", 409),
        (Auth::Session(boss), Method::POST, format!("{one}/publish"), empty(), PUBLISH, "post", 201),
        (Auth::Session(boss), Method::POST, format!("{one}/publish"), empty(), PUBLISH, "post", 409),
        (Auth::Token(read), Method::GET, format!("{one}/export/osv"), None, EXPORT, "get", 200),
        (Auth::Token(read), Method::GET, format!("{one}/export/pdf"), None, EXPORT, "get", 422),
        (Auth::Session(boss), Method::POST, format!("{one}/revisions"), body(json!({"note": "Nothing"})), REVISIONS, "post", 409),
        (Auth::Session(boss), Method::PUT, one.clone(), Some(fields.to_string()), ADVISORY, "put", 200),
        (Auth::Session(boss), Method::POST, format!("{one}/revisions"), body(json!({"note": "Workaround removed."})), REVISIONS, "post", 201),
        (Auth::Session(boss), Method::POST, format!("{one}/withdrawal"), body(json!({"reason": ""})), WITHDRAWAL, "post", 422),
        (Auth::Session(boss), Method::POST, format!("{one}/withdrawal"), body(json!({"reason": "A duplicate."})), WITHDRAWAL, "post", 201),
        (Auth::Session(boss), Method::POST, format!("{one}/withdrawal"), body(json!({"reason": "Again."})), WITHDRAWAL, "post", 409),
    ];
    advisory_steps(c, app, after).await;
    check_cve_pool(c, app, read).await;
}

const CVE_POOL: &str = "/api/v1/orgs/{org}/cve-ids";
const CVE_RECORD: &str = "/api/v1/advisories/{advisory}/cve-record";

/// Sangoma as a CNA: IDs reserved into its pool at the CVE Services stand-in, one given to
/// an advisory, its record sent once published.
async fn check_cve_pool(c: &mut Contract, app: &TestApp, read: &str) {
    let cna = crate::helpers::reference_policy("sangoma").replace(
        "cve_requested_at = \"GitHub\"",
        "cna = { org_id = \"b3476cb9-2e3d-41a6-98d0-0f47421a65b6\", short_name = \"vulndesk-test\" }",
    );
    let file = crate::helpers::temp_policy("sangoma-cna", &cna);
    let (code, out, err) = crate::helpers::run_init(&app.db, &[file.as_path()]).await;
    assert_eq!(code, 0, "{out}{err}");
    let officer = add_member(app, "s@sangoma.example", false, &[("sangoma", "officer")]).await;
    let officer = session_for(app, officer).await;
    let (case, _) = app.create_report(&report("asterisk", "A crash")).await;
    let accepted = team(
        app,
        Method::POST,
        &format!("/api/v1/cases/{case}/triage"),
        Auth::Session(&officer),
        Some((JSON, json!({"action": "accept"}).to_string())),
    )
    .await;
    assert_eq!(accepted.status().as_u16(), 201);
    let draft = json!({"fields": {
        "title": "A crash", "summary": "A crash.",
        "products": [{"vendor": "Sangoma", "name": "Asterisk", "lines": [{"line": "20", "introduced": "20.0.0", "fixed": "20.9.3"}]}]
    }});
    let r = team(
        app,
        Method::POST,
        &format!("/api/v1/cases/{case}/advisories"),
        Auth::Session(&officer),
        Some((JSON, draft.to_string())),
    )
    .await;
    let one = format!(
        "/api/v1/advisories/{}",
        c.expect(CASE_ADVISORIES, "post", r, 201).await["id"]
    );
    let pool = "/api/v1/orgs/sangoma/cve-ids".to_owned();
    let body = |v: Value| Some(v.to_string());
    #[rustfmt::skip]
    let steps: Vec<AdvisoryStep> = vec![
        (Auth::Session(&officer), Method::POST, pool.clone(), body(json!({"amount": 0})), CVE_POOL, "post", 422),
        (Auth::Token(read), Method::POST, pool.clone(), body(json!({"amount": 1})), CVE_POOL, "post", 403),
        (Auth::Session(&officer), Method::POST, pool.clone(), body(json!({"amount": 2})), CVE_POOL, "post", 201),
        (Auth::Session(&officer), Method::GET, pool.clone(), None, CVE_POOL, "get", 200),
        (Auth::Session(&officer), Method::POST, format!("{one}/cve"), body(json!({"from_pool": true})), CVE, "post", 201),
        (Auth::Session(&officer), Method::POST, format!("{one}/cve-record"), body(json!({})), CVE_RECORD, "post", 409),
        (Auth::Session(&officer), Method::POST, format!("{one}/publish"), body(json!({})), PUBLISH, "post", 201),
        (Auth::Session(&officer), Method::POST, format!("{one}/cve-record"), body(json!({})), CVE_RECORD, "post", 201),
        (Auth::Token(read), Method::POST, format!("{one}/cve-record"), body(json!({})), CVE_RECORD, "post", 403),
    ];
    advisory_steps(c, app, steps).await;
}

/// A valid body for each action (for the refusals that come before the body is read).
fn valid_body(action: &str, officer: i64) -> Value {
    match action {
        "triage" => json!({"action": "accept"}),
        "notes" | "messages" => json!({"body": "Text."}),
        "severity" => json!({"vector": CRITICAL}),
        "officer" => json!({"user_id": officer}),
        "deadlines" => json!({"clock": "disclosure", "due": "2027-01-15", "reason": "Vendor."}),
        "access" => json!({"email": "vendor@example.net", "grant": "reviewer"}),
        "approvals" => json!({"step": "merge-fix"}),
        "ssvc" => {
            json!({"exploitation": "active", "automatable": "yes", "technical_impact": "total", "mission_impact": "high"})
        }
        "lines" => json!({"action": "affected", "line": "2.x"}),
        "bounty" => json!({"action": "approve"}),
        "parties" => {
            json!({"parties": ["debian"], "reply_by": "2027-06-30", "summary": "A crash."})
        }
        "embargo" => json!({"action": "set", "end": "2027-06-30T12:00:00Z"}),
        "party-messages" => json!({"body": "Hello."}),
        "statements" => json!({"action": "approve", "party": "debian"}),
        "reporter-sharing" => json!({"share": true}),
        other => unreachable!("{other}"),
    }
}

/// `POST /api/v1/cases/{case}/{action}` with a JSON body, which must answer `status`.
async fn act(
    c: &mut Contract,
    app: &TestApp,
    auth: Auth<'_>,
    case: i64,
    action: &str,
    body: Value,
    status: u16,
) -> Value {
    let path = format!("/api/v1/cases/{case}/{action}");
    let r = team(
        app,
        Method::POST,
        &path,
        auth,
        Some((JSON, body.to_string())),
    )
    .await;
    c.expect(&format!("{CASE}/{action}"), "post", r, status)
        .await
}

/// One action on a case and what its answer must say: its status, and a value at a JSON
/// pointer (`/state`, `/error/field`).
type Step<'a> = (Auth<'a>, i64, &'a str, Value, u16, &'a str, Value);

async fn run(c: &mut Contract, app: &TestApp, steps: Vec<Step<'_>>) {
    for (auth, case, action, body, status, pointer, expected) in steps {
        let answer = act(c, app, auth, case, action, body.clone(), status).await;
        assert_eq!(
            answer.pointer(pointer),
            Some(&expected),
            "POST {action} {body}: {answer}"
        );
    }
}

async fn get_case(
    c: &mut Contract,
    app: &TestApp,
    auth: Auth<'_>,
    case: &str,
    status: u16,
) -> Value {
    let r = team(
        app,
        Method::GET,
        &format!("/api/v1/cases/{case}"),
        auth,
        None,
    )
    .await;
    c.expect(CASE, "get", r, status).await
}

async fn list(c: &mut Contract, app: &TestApp, auth: Auth<'_>, query: &str, status: u16) -> Value {
    let r = team(app, Method::GET, &format!("{CASES}{query}"), auth, None).await;
    c.expect(CASES, "get", r, status).await
}

fn ids(listing: &Value) -> Vec<i64> {
    listing["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

/// The team API under `/api/v1/cases`: every route's success and its refusals, with the
/// case's timeline holding as many kinds of event as the API can record. `reported` is
/// a Sangoma case filed, replied to and re-tokened by its reporter; `filed` one filed with
/// the form, with files.
async fn check_team_api(app: &TestApp, c: &mut Contract, reported: i64, filed: i64) {
    let officer = add_member(
        app,
        "olivia@example.org",
        false,
        &[("kamailio", "officer"), ("salestim", "officer")],
    )
    .await;
    let member = add_member(
        app,
        "mo@example.org",
        false,
        &[("kamailio", "member"), ("salestim", "member")],
    )
    .await;
    let vendor = add_member(app, "vendor@example.net", false, &[]).await;
    let admin = add_member(app, "root@example.org", true, &[]).await;
    let boss = session_for(app, officer).await;
    let mo = session_for(app, member).await;
    let outsider = session_for(app, vendor).await;
    let root = session_for(app, admin).await;
    let read = api_token(app, member, &["cases:read"]).await;
    let write = api_token(app, officer, &["cases:write"]).await;
    let scopeless = api_token(app, member, &[]).await;

    let mut body = report("salestim", "Token leak in the Teams app");
    body["fields"] = json!({"version": "1.4.2"});
    let (case, reporter_token) = app.create_report(&body).await;
    let (dup, _) = app.create_report(&report("salestim", "Same leak")).await;
    let (kam, _) = app.create_report(&report("kamailio", "SIP crash")).await;
    let (fresh, _) = app.create_report(&report("kamailio", "Untouched")).await;

    // Refusals every action shares, before and while its body is read.
    let malformed = "{\"body\": ".to_owned();
    let not_an_object = "[1]".to_owned();
    let big = "x".repeat(300 * 1024);
    for action in ACTIONS {
        let template = format!("{CASE}/{action}");
        let path = format!("/api/v1/cases/{fresh}/{action}");
        let elsewhere = format!("/api/v1/cases/{reported}/{action}");
        let missing = format!("/api/v1/cases/999999/{action}");
        let valid = valid_body(action, officer).to_string();
        #[rustfmt::skip]
        let refusals = [
            (&path,      Auth::Nobody,            JSON,         &valid,         401, "sign_in_required"),
            (&path,      Auth::Token("vdt_0"),    JSON,         &valid,         401, "sign_in_required"),
            (&path,      Auth::Token(&read),      JSON,         &valid,         403, "forbidden"),
            (&path,      Auth::CookieOnly(&boss), JSON,         &valid,         403, "csrf_rejected"),
            (&elsewhere, Auth::Session(&boss),    JSON,         &valid,         404, "not_found"),
            (&missing,   Auth::Token(&write),     JSON,         &valid,         404, "not_found"),
            (&path,      Auth::Token(&write),     JSON,         &malformed,     400, "malformed_json"),
            (&path,      Auth::Token(&write),     JSON,         &big,           413, "payload_too_large"),
            (&path,      Auth::Token(&write),     "text/plain", &valid,         415, "unsupported_media_type"),
            (&path,      Auth::Token(&write),     JSON,         &not_an_object, 422, "invalid_field"),
        ];
        for (path, auth, content_type, body, status, code) in refusals {
            let r = team(
                app,
                Method::POST,
                path,
                auth,
                Some((content_type, body.clone())),
            )
            .await;
            if status == 401 {
                assert_eq!(r.headers().get(WWW_AUTHENTICATE).unwrap(), "Bearer");
            }
            let e = c.expect(&template, "post", r, status).await;
            assert_eq!(e["error"]["code"], code, "{action} {status}");
        }
        // Actions picked by an `action` field miss it first.
        let code = if matches!(
            action,
            "triage" | "lines" | "bounty" | "embargo" | "statements"
        ) {
            "missing_field"
        } else {
            "unknown_field"
        };
        let unexpected = json!({"unexpected": 1});
        let step = (
            Auth::Token(&write),
            fresh,
            action,
            unexpected,
            422,
            "/error/code",
            json!(code),
        );
        run(c, app, vec![step]).await;
    }
    // Managing a case is the officer's: a member who works it is refused. Triage follows
    // the state machine (409) and the policy (422).
    let (by_mo, by_boss, by_token) = (
        Auth::Session(&mo),
        Auth::Session(&boss),
        Auth::Token(&write),
    );
    #[rustfmt::skip]
    let refusals: Vec<Step> = vec![
        (by_mo, fresh, "officer", valid_body("officer", officer), 403, "/error/code", json!("forbidden")),
        (by_mo, fresh, "deadlines", valid_body("deadlines", officer), 403, "/error/code", json!("forbidden")),
        (by_mo, fresh, "access", valid_body("access", officer), 403, "/error/code", json!("forbidden")),
        (by_mo, fresh, "triage", json!({"action": "start-fix"}), 409, "/error/code", json!("conflict")),
        (by_mo, fresh, "triage", json!({"action": "close"}), 409, "/error/code", json!("conflict")),
        (by_mo, fresh, "triage", json!({"action": "reopen", "reason": "x"}), 409, "/error/code", json!("conflict")),
        (by_mo, fresh, "triage", json!({"action": "dance"}), 422, "/error/field", json!("action")),
        (by_mo, fresh, "triage", json!({"action": "decline", "reason": "unsupported-version"}), 422, "/error/field", json!("reason")),
        (by_mo, fresh, "triage", json!({"action": "decline", "reason": "duplicate"}), 422, "/error/field", json!("duplicate_of")),
        (by_mo, fresh, "triage", json!({"action": "decline", "reason": "duplicate", "duplicate_of": case}), 422, "/error/field", json!("duplicate_of")),
        (by_mo, fresh, "triage", json!({"action": "request-info", "message": " "}), 422, "/error/field", json!("message")),
        (by_mo, fresh, "triage", json!({"action": "schedule-fix", "release": "soon"}), 422, "/error/field", json!("release")),
        (by_mo, fresh, "triage", json!({"action": "accept", "extra": 1}), 422, "/error/field", json!("extra")),
    ];
    run(c, app, refusals).await;

    // The Teams app case, worked from report to reopening: every action succeeds once,
    // after its own refusals.
    #[rustfmt::skip]
    let asking: Vec<Step> = vec![
        (by_mo, case, "triage", json!({"action": "request-info", "message": "Which build?"}), 201, "/state", json!("needs-info")),
    ];
    run(c, app, asking).await;
    let reply = app
        .client
        .post(app.url(&format!("/api/v1/reports/{case}/replies")))
        .bearer_auth(&reporter_token)
        .json(&json!({"body": "Build 1.4.2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 201);
    #[rustfmt::skip]
    let working: Vec<Step> = vec![
        (by_token, case, "triage", json!({"action": "accept"}), 201, "/state", json!("accepted")),
        (by_mo, case, "severity", json!({"vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H"}), 422, "/error/field", json!("vector")),
        (by_mo, case, "severity", json!({"vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}), 201, "/state", json!("accepted")),
        (by_mo, case, "severity", json!({"vector": CRITICAL}), 201, "/state", json!("accepted")),
        (by_mo, case, "ssvc", json!({"exploitation": "sometimes", "automatable": "yes", "technical_impact": "total", "mission_impact": "high"}), 422, "/error/field", json!("exploitation")),
        (by_mo, case, "ssvc", json!({"exploitation": "public-poc", "automatable": "yes", "technical_impact": "total", "mission_impact": "high"}), 201, "/state", json!("accepted")),
        (by_boss, case, "officer", json!({"user_id": member}), 422, "/error/field", json!("user_id")),
        (by_boss, case, "officer", json!({"user_id": officer}), 201, "/state", json!("accepted")),
        (by_mo, case, "notes", json!({"body": "  "}), 422, "/error/field", json!("body")),
        (by_mo, case, "notes", json!({"body": "1.x only? @olivia"}), 201, "/state", json!("accepted")),
        (by_mo, case, "notes", json!({"body": "No mention."}), 201, "/state", json!("accepted")),
        (by_token, case, "messages", json!({"text": "x"}), 422, "/error/code", json!("unknown_field")),
        (by_token, case, "messages", json!({"body": "We are on it."}), 201, "/state", json!("accepted")),
        (by_mo, case, "lines", json!({"action": "affected", "line": "2.x"}), 201, "/state", json!("accepted")),
        (by_mo, case, "lines", json!({"action": "reference", "line": "2.x", "reference": "private-fork#3"}), 201, "/state", json!("accepted")),
        (by_mo, case, "lines", json!({"action": "planned", "line": "2.x", "version": "2.4.3", "on": "2026-02-01"}), 201, "/state", json!("accepted")),
        (by_mo, case, "lines", json!({"action": "released", "line": "1.x", "version": "2.4.3", "on": "2026-02-01"}), 422, "/error/field", json!("version")),
        (by_mo, case, "lines", json!({"action": "tested", "line": "9.x"}), 422, "/error/field", json!("line")),
        (by_mo, case, "lines", json!({"action": "teleported", "line": "2.x"}), 422, "/error/field", json!("action")),
        (by_boss, case, "deadlines", json!({"clock": "someday", "due": "2027-01-15", "reason": "x"}), 422, "/error/field", json!("clock")),
        (by_boss, case, "deadlines", json!({"clock": "disclosure", "due": "2027-01-15", "reason": "The vendor needs time."}), 201, "/state", json!("accepted")),
        (by_boss, case, "access", json!({"email": "nobody@example.org", "grant": "external"}), 422, "/error/field", json!("email")),
        (by_boss, case, "access", json!({"email": "vendor@example.net", "grant": "external"}), 422, "/error/field", json!("grant")),
        (by_boss, case, "access", json!({"email": "vendor@example.net", "grant": "reviewer"}), 201, "/state", json!("accepted")),
    ];
    run(c, app, working).await;
    // A reviewer added to the case reads it without the internal entries and the mail.
    let seen = get_case(c, app, Auth::Session(&outsider), &case.to_string(), 200).await;
    assert!(seen["mail"].as_array().unwrap().is_empty());
    let timeline = seen["timeline"].as_array().unwrap();
    assert!(
        timeline.iter().all(|e| e["visibility"] != "internal"),
        "{seen}"
    );
    #[rustfmt::skip]
    let closing: Vec<Step> = vec![
        (by_token, case, "access", json!({"email": "vendor@example.net", "grant": null}), 201, "/state", json!("accepted")),
        (by_token, case, "triage", json!({"action": "exploitation-observed", "on": "2026-01-02"}), 201, "/state", json!("accepted")),
        (by_token, case, "triage", json!({"action": "leak-observed", "on": "2026-01-03"}), 201, "/state", json!("accepted")),
        (by_token, case, "triage", json!({"action": "schedule-fix", "release": "2026-02-01"}), 201, "/state", json!("accepted")),
        (by_mo, case, "triage", json!({"action": "start-fix"}), 201, "/state", json!("fixing")),
        (by_mo, case, "triage", json!({"action": "release-fix", "on": "2026-02-01"}), 201, "/state", json!("fixed")),
        (by_mo, case, "triage", json!({"action": "publish-advisory", "on": "2026-02-02"}), 201, "/state", json!("disclosed")),
        (by_mo, case, "triage", json!({"action": "close"}), 201, "/state", json!("closed")),
        (by_mo, case, "triage", json!({"action": "reopen", "reason": "A bypass of the fix."}), 201, "/state", json!("new")),
        (by_mo, case, "triage", json!({"action": "decline", "reason": "unsupported-version", "note": "1.x"}), 201, "/state", json!("declined")),
        (by_mo, dup, "triage", json!({"action": "decline", "reason": "duplicate", "duplicate_of": case}), 201, "/state", json!("declined")),
    ];
    run(c, app, closing).await;

    // Kamailio's gates (seed 002): one officer per case, and the merge waits for the
    // security team's clearance (409 naming it); approvals are refused to who is not in the
    // group (403), named by their step (422), and counted once (409).
    let (gated, _) = app.create_report(&report("kamailio", "Gated fix")).await;
    #[rustfmt::skip]
    let gates: Vec<Step> = vec![
        (by_mo, gated, "triage", json!({"action": "accept"}), 409, "/error/code", json!("conflict")),
        (by_boss, gated, "triage", json!({"action": "accept"}), 201, "/state", json!("accepted")),
        (by_mo, gated, "triage", json!({"action": "complete-stage", "stage": "triage", "evidence": "Reproduced."}), 201, "/state", json!("accepted")),
        (by_mo, gated, "triage", json!({"action": "complete-stage", "stage": "release"}), 422, "/error/field", json!("stage")),
        (by_mo, gated, "triage", json!({"action": "propose-fix", "reference": "https://github.com/kamailio/kamailio/pull/1"}), 201, "/state", json!("accepted")),
        (by_mo, gated, "triage", json!({"action": "merge-fix"}), 409, "/error/code", json!("conflict")),
        (by_mo, gated, "approvals", json!({"step": "merge-fix"}), 403, "/error/code", json!("forbidden")),
        (by_boss, gated, "approvals", json!({"step": "deploy"}), 422, "/error/field", json!("step")),
        (by_boss, gated, "approvals", json!({"step": "merge-fix", "note": "Cleared."}), 201, "/state", json!("accepted")),
        (by_token, gated, "approvals", json!({"step": "merge-fix"}), 409, "/error/code", json!("conflict")),
        (by_mo, gated, "triage", json!({"action": "merge-fix", "reference": "abc123"}), 201, "/state", json!("accepted")),
    ];
    run(c, app, gates).await;
    // FreePBX's bounty: not offered by SalesTim (409); proposed, refused to its own proposer
    // (403), approved by a second officer, paid in bitcoin to an address (422 without one).
    let (bounty_case, _) = app.create_report(&report("freepbx", "Bounty case")).await;
    let fran = session_for(
        app,
        add_member(app, "fran@example.org", false, &[("freepbx", "officer")]).await,
    )
    .await;
    let fred = session_for(
        app,
        add_member(app, "fred@example.org", false, &[("freepbx", "officer")]).await,
    )
    .await;
    let (by_fran, by_fred) = (Auth::Session(&fran), Auth::Session(&fred));
    let propose = json!({"action": "propose", "amount": "0.01 BTC", "policy_followed": true});
    #[rustfmt::skip]
    let bounty: Vec<Step> = vec![
        (by_mo, fresh, "bounty", propose.clone(), 409, "/error/code", json!("conflict")),
        (by_fran, bounty_case, "triage", json!({"action": "accept"}), 201, "/state", json!("accepted")),
        (by_fran, bounty_case, "bounty", json!({"action": "propose", "amount": "0.01 BTC"}), 422, "/error/field", json!("policy_followed")),
        (by_fran, bounty_case, "bounty", propose, 201, "/state", json!("accepted")),
        (by_fran, bounty_case, "bounty", json!({"action": "approve"}), 403, "/error/code", json!("forbidden")),
        (by_fred, bounty_case, "bounty", json!({"action": "approve", "note": "Well reported."}), 201, "/state", json!("accepted")),
        (by_fred, bounty_case, "bounty", json!({"action": "pay", "method": "bitcoin", "on": "2026-11-29"}), 422, "/error/field", json!("address")),
        (by_fred, bounty_case, "bounty", json!({"action": "pay", "method": "bitcoin", "address": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", "on": "2026-11-29"}), 201, "/state", json!("accepted")),
    ];
    run(c, app, bounty).await;
    let paid = get_case(c, app, Auth::Session(&fran), &bounty_case.to_string(), 200).await;
    // An outbound report by SalesTim's officer; refused to a member of no team of SalesTim.
    let outbound = json!({"organisation": "salestim", "vendor": "Acme", "vendor_product": "libcsv 2.1", "contact": "security@vendor.example", "title": "Overflow", "description": "Details."});
    for (auth, status) in [
        (Auth::Session(&fran), 403),
        (Auth::Token(&read), 403),
        (Auth::Session(&boss), 201),
    ] {
        let r = team(
            app,
            Method::POST,
            "/api/v1/outbound",
            auth,
            Some((JSON, outbound.to_string())),
        )
        .await;
        let answer = c.expect("/api/v1/outbound", "post", r, status).await;
        if status == 201 {
            let view = get_case(c, app, Auth::Session(&boss), &answer["id"].to_string(), 200).await;
            assert_eq!(
                view["clocks"]["clocks"].as_array().unwrap().len(),
                1,
                "{view}"
            );
        }
    }
    check_registry(c, app, &boss, &mo, &outsider, &read).await;
    check_advisories(c, app, &boss, &mo, &outsider, &read).await;
    // Coordination on a Kamailio case: Debian (of the demo registry) and every vendor
    // invited, the embargo set and a release agreed by the officer, a message, a status
    // recorded by a member and approved by the officer.
    let (coordinated, coordinated_token) = app
        .create_report(&report("kamailio", "Coordinated case"))
        .await;
    let invite = json!({"parties": ["debian"], "kinds": ["vendor"], "reply_by": "2027-06-30", "summary": "A crash in the SIP parser."});
    #[rustfmt::skip]
    let coordination: Vec<Step> = vec![
        (by_boss, coordinated, "parties", json!({"parties": ["nobody"], "reply_by": "2027-06-30", "summary": "x"}), 422, "/error/field", json!("parties")),
        (by_boss, coordinated, "parties", invite.clone(), 201, "/state", json!("new")),
        (by_boss, coordinated, "parties", invite, 409, "/error/code", json!("conflict")),
        (by_mo, coordinated, "embargo", json!({"action": "set", "end": "2027-06-30T12:00:00Z"}), 403, "/error/code", json!("forbidden")),
        (by_boss, coordinated, "embargo", json!({"action": "set", "end": "tomorrow"}), 422, "/error/field", json!("end")),
        (by_boss, coordinated, "embargo", json!({"action": "set", "end": "2027-06-30T12:00", "zone": "Europe/Berlin", "terms": "Maintainers only."}), 201, "/state", json!("new")),
        (by_boss, coordinated, "embargo", json!({"action": "agree-release", "at": "2027-06-30T12:00:00Z"}), 201, "/state", json!("new")),
        (by_mo, coordinated, "party-messages", json!({"party": "debian", "body": "Hello."}), 201, "/state", json!("new")),
        (by_mo, coordinated, "party-messages", json!({"body": "FYI.", "share": 1}), 422, "/error/field", json!("share")),
        (by_mo, coordinated, "party-messages", json!({"party": "debian", "body": "FYI.", "share": 1}), 422, "/error/field", json!("party")),
        (by_mo, coordinated, "statements", json!({"action": "record", "party": "debian", "status": "not_affected"}), 422, "/error/field", json!("justification")),
        (by_mo, coordinated, "statements", json!({"action": "record", "party": "debian", "status": "not_affected", "justification": "component_not_present", "statement": "No."}), 201, "/state", json!("new")),
        (by_mo, coordinated, "statements", json!({"action": "approve", "party": "debian"}), 403, "/error/code", json!("forbidden")),
        (by_boss, coordinated, "statements", json!({"action": "approve", "party": "debian"}), 201, "/state", json!("new")),
        (by_boss, coordinated, "statements", json!({"action": "approve", "party": "debian"}), 409, "/error/code", json!("conflict")),
        (by_boss, coordinated, "reporter-sharing", json!({"share": true}), 409, "/error/code", json!("conflict")),
    ];
    run(c, app, coordination).await;
    // The reporter consents in their portal; then a manager may name them to the parties.
    let consented = app
        .client
        .post(app.url(&format!("/r/{coordinated}/{coordinated_token}/consent")))
        .form(&[("share", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(consented.status().as_u16(), 303);
    #[rustfmt::skip]
    let sharing: Vec<Step> = vec![
        (by_mo, coordinated, "reporter-sharing", json!({"share": true}), 403, "/error/code", json!("forbidden")),
        (by_boss, coordinated, "reporter-sharing", json!({"share": "yes"}), 422, "/error/field", json!("share")),
        (by_boss, coordinated, "reporter-sharing", json!({"share": true}), 201, "/state", json!("new")),
    ];
    run(c, app, sharing).await;
    let view = get_case(c, app, by_mo, &coordinated.to_string(), 200).await;
    assert_eq!(
        view["coordination"]["parties"][0]["status"], "not_affected",
        "{view}"
    );
    assert_eq!(
        view["coordination"]["parties"][1]["status"], "no_answer_yet",
        "{view}"
    );
    assert_eq!(
        view["coordination"]["embargo"]["end"], "2027-06-30T10:00:00Z",
        "{view}"
    );
    assert_eq!(paid["bounty"]["stage"]["stage"], "paid", "{paid}");
    let view = get_case(c, app, Auth::Session(&mo), &gated.to_string(), 200).await;
    assert_eq!(view["officer_id"], officer);
    assert_eq!(view["workflow"]["gates"][0]["holds"], true, "{view}");
    assert_eq!(
        view["workflow"]["stages"][0]["done"]["evidence"],
        "Reproduced."
    );
    get_case(c, app, Auth::Session(&outsider), &case.to_string(), 404).await;

    // The case as the team sees it, every event of its timeline checked.
    let view = get_case(c, app, Auth::Session(&boss), &case.to_string(), 200).await;
    assert_eq!(view["severity"]["rating"], "critical");
    assert_eq!(view["ssvc"]["decision"], "attend");
    assert_eq!(view["lines"][0]["planned"]["version"], "2.4.3", "{view}");
    assert_eq!(view["ssvc"]["vector"], "E:P/A:Y/T:T/M:H");
    assert_eq!(view["officer_id"], officer);
    assert_eq!(view["support"]["suggest_decline"], true);
    assert_eq!(view["duplicates"][0]["case"], dup);
    assert!(!view["mail"].as_array().unwrap().is_empty(), "{view}");
    let kinds: BTreeSet<&str> = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["type"].as_str().unwrap())
        .collect();
    for kind in [
        "reported",
        "info_requested",
        "reporter_reply",
        "accepted",
        "severity_assessed",
        "ssvc_assessed",
        "officer_assigned",
        "note_added",
        "reporter_message",
        "deadline_overridden",
        "access_changed",
        "exploitation_observed",
        "leaked",
        "line_updated",
        "fix_scheduled",
        "fix_started",
        "fix_released",
        "advisory_published",
        "closed",
        "reopened",
        "declined",
    ] {
        assert!(kinds.contains(kind), "{kind} missing from {kinds:?}");
    }
    // Sangoma's cases, for an admin: files, replies and a replaced reporter token.
    for other in [reported, filed] {
        get_case(c, app, Auth::Session(&root), &other.to_string(), 200).await;
    }
    let read_view = get_case(c, app, Auth::Token(&read), &dup.to_string(), 200).await;
    assert_eq!(read_view["state"], "declined");
    let r = team(
        app,
        Method::GET,
        &format!("/api/v1/cases/{case}"),
        Auth::Nobody,
        None,
    )
    .await;
    assert_eq!(r.headers().get(WWW_AUTHENTICATE).unwrap(), "Bearer");
    c.expect(CASE, "get", r, 401).await;
    get_case(c, app, Auth::Token(&scopeless), &case.to_string(), 403).await;
    get_case(c, app, Auth::Session(&mo), &reported.to_string(), 404).await;
    get_case(c, app, Auth::Token(&read), "999999", 404).await;
    get_case(c, app, Auth::Token(&read), "abc", 404).await;

    // The dashboard, filtered and not.
    #[rustfmt::skip]
    let scoring: Vec<Step> = vec![
        (by_mo, kam, "severity", json!({"vector": CRITICAL}), 201, "/state", json!("new")),
        (by_token, kam, "officer", json!({"user_id": officer}), 201, "/state", json!("new")),
    ];
    run(c, app, scoring).await;
    let all = list(c, app, Auth::Session(&boss), "", 200).await;
    assert!(
        ids(&all).contains(&kam) && ids(&all).contains(&fresh),
        "{all}"
    );
    assert!(!ids(&all).contains(&case), "declined cases are not open");
    let scored = all["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == kam)
        .unwrap();
    assert_eq!(scored["severity"], "critical");
    assert_eq!(scored["officer_id"], officer);
    let query = format!(
        "?org=kamailio&product=kamailio&state=new,accepted&severity=critical&officer={officer}&q=crash"
    );
    let found = list(c, app, Auth::Token(&read), &query, 200).await;
    assert_eq!(ids(&found), vec![kam], "{found}");
    let everything = list(c, app, Auth::Session(&root), "?state=all", 200).await;
    for id in [case, dup, reported, filed] {
        assert!(ids(&everything).contains(&id), "{id} not in {everything}");
    }
    let r = team(app, Method::GET, CASES, Auth::Nobody, None).await;
    assert_eq!(r.headers().get(WWW_AUTHENTICATE).unwrap(), "Bearer");
    c.expect(CASES, "get", r, 401).await;
    list(c, app, Auth::Token("vdt_0000"), "", 401).await;
    list(c, app, Auth::Token(&scopeless), "", 403).await;
    for (query, field) in [
        ("?state=open-ish", "state"),
        ("?severity=dire", "severity"),
        ("?org=nowhere", "org"),
        ("?product=nothing", "product"),
        ("?officer=olivia", "query"),
        ("?colour=red", "query"),
    ] {
        let e = list(c, app, Auth::Session(&mo), query, 422).await;
        assert_eq!(e["error"]["field"], field, "{query}");
    }

    // The team's schemas catch drift too: an unexpected or a missing field fails.
    let listing = c.declared(CASES, "get", 200, JSON).clone();
    let mut extra = all.clone();
    extra["cases"][0]["debug"] = json!(true);
    assert!(
        !c.violations(&listing, &extra).is_empty(),
        "an unexpected field passed"
    );
    let mut missing = all.clone();
    missing["cases"][0]
        .as_object_mut()
        .unwrap()
        .remove("urgency");
    assert!(
        !c.violations(&listing, &missing).is_empty(),
        "a missing field passed"
    );
    let shown = c.declared(CASE, "get", 200, JSON).clone();
    let mut missing = view.clone();
    missing.as_object_mut().unwrap().remove("support");
    assert!(
        !c.violations(&shown, &missing).is_empty(),
        "a missing field passed"
    );
    let mut untyped = view.clone();
    untyped["timeline"][0]["event"]
        .as_object_mut()
        .unwrap()
        .remove("type");
    assert!(
        !c.violations(&shown, &untyped).is_empty(),
        "an event without type passed"
    );
    let mut odd = view.clone();
    odd["timeline"][0]["event"]["debug"] = json!(1);
    assert!(
        !c.violations(&shown, &odd).is_empty(),
        "an unexpected event field passed"
    );
}
