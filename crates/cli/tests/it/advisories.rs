//! Advisories end to end, on both databases: a Signalen case from the report through its
//! draft advisory, the steering group's review, the reporter's credit and the CVE ID to
//! publication, a revision and a withdrawal; each export judged by the official validators
//! (the CVE JSON 5 and OSV schemas, the BSI's CSAF validator), and the private fields
//! looked for everywhere someone without team standing can look.

use serde_json::{Value, json};
use vulndesk_formats::judges;

use crate::helpers::{RATE_LIMIT_ENV, TestApp, on_each_database, report, spawn_app, spawn_serve};
use crate::team_support::{Session, act, add_member, case_json, session_for};

/// What the private fields hold: it must show up nowhere outside the desk.
const CANARY_POC: &str = "CANARY-POC-7f3a9c";
const CANARY_EXPLOIT: &str = "CANARY-EXPLOIT-2b8e41";

/// `method path` with `body` as `s` (or nobody); (status, JSON body or the text as a
/// JSON string).
async fn call(
    app: &TestApp,
    s: Option<&Session>,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(s) = s {
        request = s.on(request);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `vulndesk audit verify` finds every log intact, the advisories' included.
fn audit_verifies(db: &str) {
    let out = std::process::Command::new(crate::helpers::BIN)
        .args(["audit", "verify", "--db", db])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The team page at `path` as `s` reads it.
async fn page_text(app: &TestApp, s: &Session, path: &str) -> String {
    crate::team_support::page(app, &s.cookie, path)
        .await
        .text()
        .await
        .unwrap()
}

fn fields(fixed: Option<&str>) -> Value {
    json!({
        "title": "Stored XSS in the incident map",
        "summary": "A crafted incident description runs script in the browsers of staff who open the map.",
        "description": "The map view renders incident descriptions without escaping.\n\nUpgrade to the fixed release.",
        "component": "the incident map",
        "products": [{
            "vendor": "Signalen",
            "name": "signalen-frontend",
            "package": {"ecosystem": "npm", "name": "signalen-frontend", "purl": "pkg:npm/signalen-frontend"},
            "lines": [{"line": "2.x", "introduced": "2.0.0", "fixed": fixed}]
        }],
        "cvss": ["CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"],
        "ssvc": {"exploitation": "public-poc", "automatable": "no", "technical_impact": "partial", "mission_impact": "medium"},
        "cwes": [79],
        "references": [{"url": "https://github.com/Signalen/frontend/pull/1234", "kind": "fix"}],
        "workarounds": "Restrict the map to trusted staff until you upgrade."
    })
}

/// Every export of the published advisory, from the API and from its public address (the
/// same documents), each judged by its official validator.
async fn exports_pass_their_judges(
    app: &TestApp,
    s: &Session,
    id: i64,
    public: &str,
    label: &str,
) -> Vec<(String, Value)> {
    let mut documents = Vec::new();
    for format in ["cve", "csaf", "csaf-vex", "osv"] {
        let (status, from_api) = call(
            app,
            Some(s),
            reqwest::Method::GET,
            &format!("/api/v1/advisories/{id}/export/{format}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{label} {format}: {from_api}");
        let (status, from_public) = call(
            app,
            None,
            reqwest::Method::GET,
            &format!("{public}/{format}.json"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{label} public {format}");
        assert_eq!(from_api, from_public, "{label} {format}");
        documents.push((format!("{label}-{format}"), from_api));
    }
    judges::valid(judges::CVE_SCHEMA, &documents[0].1);
    judges::valid(judges::OSV_SCHEMA, &documents[3].1);
    let csaf: Vec<(&str, Value)> = documents[1..3]
        .iter()
        .map(|(name, doc)| (name.as_str(), doc.clone()))
        .collect();
    judges::bsi_valid(&csaf);
    documents
}

#[tokio::test]
async fn a_signalen_case_goes_from_report_through_review_to_a_published_revised_and_withdrawn_advisory()
 {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let writer = add_member(&app, "writer@signalen.example", false, &[("signalen", "officer")]).await;
        let reviewer = add_member(&app, "tsg@signalen.example", false, &[("signalen", "reviewer")]).await;
        let stranger = add_member(&app, "kam@kamailio.example", false, &[("kamailio", "officer")]).await;
        let writer = session_for(&app, writer).await;
        let reviewer = session_for(&app, reviewer).await;
        let stranger = session_for(&app, stranger).await;
        let (case, token) = app.create_report(&report("signalen", "XSS in the map")).await;
        let (status, body) = act(&app, &writer, case, "triage", json!({"action": "accept"})).await;
        assert_eq!(status, 201, "{body}");

        // The draft, for the case, with a field the API does not know refused by name.
        let mut unknown = fields(None);
        unknown["severity"] = json!("high");
        let (status, body) = call(&app, Some(&writer), reqwest::Method::POST, &format!("/api/v1/cases/{case}/advisories"), Some(json!({"fields": unknown}))).await;
        assert_eq!(status, 422, "{body}");
        assert!(body.to_string().contains("severity"), "{body}");
        let (status, draft) = call(&app, Some(&writer), reqwest::Method::POST, &format!("/api/v1/cases/{case}/advisories"), Some(json!({"fields": fields(None)}))).await;
        assert_eq!(status, 201, "{draft}");
        let id = draft["id"].as_i64().unwrap();
        let number = draft["number"].as_str().unwrap().to_owned();
        assert!(number.starts_with("SIGNALEN-2026-"), "{number}");
        assert_eq!(draft["status"], "draft");
        let public = format!("/o/signalen/advisories/{number}");
        let path = format!("/api/v1/advisories/{id}");

        // A draft is nobody's outside the team: not the public's, not another
        // organisation's, and a reviewer reads it.
        assert_eq!(call(&app, None, reqwest::Method::GET, &public, None).await.0, 404);
        assert_eq!(call(&app, None, reqwest::Method::GET, &format!("{public}/osv.json"), None).await.0, 404);
        assert_eq!(call(&app, Some(&stranger), reqwest::Method::GET, &path, None).await.0, 404);
        let (status, read) = call(&app, Some(&reviewer), reqwest::Method::GET, &path, None).await;
        assert_eq!(status, 200, "{read}");
        assert!(read.get("private").is_none(), "a reviewer does not read the private fields");

        // The private fields, which never leave the desk.
        let (status, body) = call(&app, Some(&writer), reqwest::Method::PUT, &format!("{path}/private"), Some(json!({"proof_of_concept": CANARY_POC, "exploit_details": CANARY_EXPLOIT}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["private"]["proof_of_concept"], CANARY_POC);
        // A reviewer cannot write.
        assert_eq!(call(&app, Some(&reviewer), reqwest::Method::PUT, &path, Some(fields(None))).await.0, 403);

        // The steering group reviews: a comment on a line, then an approval.
        let (status, body) = call(&app, Some(&reviewer), reqwest::Method::POST, &format!("{path}/comments"), Some(json!({"part": "description", "line": 9, "body": "?"}))).await;
        assert_eq!(status, 422, "{body}");
        assert!(body.to_string().contains("line"), "{body}");
        let (status, body) = call(&app, Some(&reviewer), reqwest::Method::POST, &format!("{path}/comments"), Some(json!({"part": "description", "line": 3, "body": "Name the fixed release."}))).await;
        assert_eq!(status, 201, "{body}");
        // Publishing needs the review first; the writer's own approval does not count.
        let (status, body) = call(&app, Some(&writer), reqwest::Method::POST, &format!("{path}/publish"), Some(json!({}))).await;
        assert_eq!(status, 409, "{body}");
        assert!(body.to_string().contains("review by 1 member of technical-steering-group other than who wrote it"), "{body}");
        let (status, body) = call(&app, Some(&writer), reqwest::Method::POST, &format!("{path}/approvals"), Some(json!({}))).await;
        assert_eq!(status, 409, "{body}");
        assert!(body.to_string().contains("you wrote"), "{body}");
        let (status, body) = call(&app, Some(&reviewer), reqwest::Method::POST, &format!("{path}/approvals"), Some(json!({}))).await;
        assert_eq!(status, 201, "{body}");
        // An edit makes the approval stale: the reviewer approves the new text again.
        let mut edited = fields(Some("2.4.1"));
        edited["description"] = json!("The map view renders incident descriptions without escaping.\n\nUpgrade to 2.4.1.");
        let (status, body) = call(&app, Some(&writer), reqwest::Method::PUT, &path, Some(edited.clone())).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["approvals"][0]["current"], false);
        assert_eq!(body["comments"][0]["outdated"], true);
        assert_eq!(call(&app, Some(&writer), reqwest::Method::POST, &format!("{path}/publish"), Some(json!({}))).await.0, 409);
        assert_eq!(call(&app, Some(&reviewer), reqwest::Method::POST, &format!("{path}/approvals"), Some(json!({}))).await.0, 201);

        // The reporter is offered a credit and accepts it under a name of their choosing.
        let (status, body) = call(&app, Some(&writer), reqwest::Method::POST, &format!("{path}/credits"), Some(json!({"kind": "finder", "reporter_of": case}))).await;
        assert_eq!(status, 201, "{body}");
        let credit = body["credits"][0]["id"].as_i64().unwrap();
        let offered = app.get_report(&case.to_string(), Some(&token)).await.json::<Value>().await.unwrap();
        assert_eq!(offered["credits"][0]["answer"], "awaited", "{offered}");
        let answered = app.client.post(app.url(&format!("/api/v1/reports/{case}/credits")))
            .bearer_auth(&token)
            .json(&json!({"advisory": id, "credit": credit, "accepted": true, "name": "A. Finder"}))
            .send().await.unwrap();
        assert_eq!(answered.status().as_u16(), 201);
        // A credit offered under a name nobody accepted stays unpublished.
        let (status, _) = call(&app, Some(&writer), reqwest::Method::POST, &format!("{path}/credits"), Some(json!({"kind": "tool", "name": "Unconfirmed Scanner"}))).await;
        assert_eq!(status, 201);

        // Signalen requests its CVE IDs at GitHub (its policy), then records the ID.
        let (status, body) = call(&app, Some(&writer), reqwest::Method::POST, &format!("{path}/cve"), Some(json!({}))).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["cve_requested_at"], "GitHub");
        let (status, body) = call(&app, Some(&writer), reqwest::Method::POST, &format!("{path}/cve"), Some(json!({"cve": "CVE-2026-4242x"}))).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(call(&app, Some(&writer), reqwest::Method::POST, &format!("{path}/cve"), Some(json!({"cve": "cve-2026-42424"}))).await.0, 201);

        // A service provider told under embargo says its instances are fixed; once the
        // officer approves its statement, it is published in the VEX document.
        let signalen = app.store.organisation_by_slug("signalen").await.unwrap().unwrap();
        crate::coordination::registered_with(
            &app,
            signalen.id,
            ("city-hosting", "City Hosting", "service-provider"),
            &["Managed Signalen"],
        )
        .await;
        let reply_by = jiff::Timestamp::now().to_string()[..10].to_owned();
        let (status, body) = act(&app, &writer, case, "parties", json!({"parties": ["city-hosting"], "reply_by": reply_by, "summary": "An XSS in the map."})).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = act(&app, &writer, case, "statements", json!({"action": "record", "party": "city-hosting", "status": "fixed", "statement": "Our managed instances run 2.4.1."})).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = act(&app, &writer, case, "statements", json!({"action": "approve", "party": "city-hosting"})).await;
        assert_eq!(status, 201, "{body}");

        // Publication: the case is disclosed with it.
        let (status, published) = call(&app, Some(&writer), reqwest::Method::POST, &format!("{path}/publish"), Some(json!({}))).await;
        assert_eq!(status, 201, "{published}");
        assert_eq!(published["status"], "published");
        assert_eq!(published["cve"], "CVE-2026-42424");
        let exports = published["exports"].as_object().unwrap();
        assert_eq!(exports.len(), 4, "a CVE ID and a party's statement: every document");
        assert_eq!(case_json(&app, &writer, case).await["state"], "disclosed");
        let documents = exports_pass_their_judges(&app, &writer, id, &public, "published").await;
        let cve = &documents[0].1;
        assert_eq!(cve["cveMetadata"]["cveId"], "CVE-2026-42424");
        assert_eq!(cve["containers"]["cna"]["metrics"][1]["other"]["type"], "ssvc");
        assert_eq!(cve["containers"]["cna"]["credits"][0]["value"], "A. Finder");
        assert_eq!(cve["containers"]["cna"]["credits"].as_array().unwrap().len(), 1, "only accepted credits");
        assert!(documents[2].1.to_string().contains("Our managed instances run 2.4.1."), "{}", documents[2].1);
        let page = app.get(&public).await;
        assert_eq!(page.status().as_u16(), 200);
        let page = page.text().await.unwrap();
        assert!(page.contains("Stored XSS in the incident map") && page.contains("A. Finder"));
        assert!(!page.contains("Unconfirmed Scanner"));
        let listed = app.get("/o/signalen/advisories").await.text().await.unwrap();
        assert!(listed.contains(&number), "{listed}");

        // A revision: edited, then published with a note; every export follows.
        let mut revised = edited.clone();
        revised["workarounds"] = json!("Upgrade to 2.4.1; until then, restrict the map to trusted staff.");
        assert_eq!(call(&app, Some(&writer), reqwest::Method::PUT, &path, Some(revised)).await.0, 200);
        let (status, body) = call(&app, Some(&writer), reqwest::Method::POST, &format!("{path}/revisions"), Some(json!({"note": ""}))).await;
        assert_eq!(status, 422, "{body}");
        let (status, body) = call(&app, Some(&writer), reqwest::Method::POST, &format!("{path}/revisions"), Some(json!({"note": "Workaround reworded."}))).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["revisions"][1]["changes"][0]["field"], "workarounds", "{body}");
        let documents = exports_pass_their_judges(&app, &writer, id, &public, "revised").await;
        let csaf = &documents[1].1;
        assert_eq!(csaf["document"]["tracking"]["revision_history"].as_array().unwrap().len(), 2);
        assert_eq!(csaf["document"]["tracking"]["revision_history"][1]["summary"], "Workaround reworded.");
        let page = app.get(&public).await.text().await.unwrap();
        assert!(page.contains("Workaround reworded.") && page.contains("until then"), "the revision and its diff are shown");

        // The team withdraws it, saying why.
        let (status, body) = call(&app, Some(&writer), reqwest::Method::POST, &format!("{path}/withdrawal"), Some(json!({"reason": "A duplicate of SIGNALEN-2025-0007."}))).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["status"], "withdrawn");
        let documents = exports_pass_their_judges(&app, &writer, id, &public, "withdrawn").await;
        assert_eq!(documents[0].1["cveMetadata"]["state"], "REJECTED");
        assert!(documents[3].1["withdrawn"].is_string());
        assert_eq!(call(&app, Some(&writer), reqwest::Method::PUT, &path, Some(edited)).await.0, 409);

        // The private fields are nowhere outside the desk: exports, pages, the list, the
        // reporter's API and portal.
        let mut seen = vec![
            app.get(&public).await.text().await.unwrap(),
            app.get("/o/signalen/advisories").await.text().await.unwrap(),
            app.get_report(&case.to_string(), Some(&token)).await.text().await.unwrap(),
            app.get(&format!("/r/{case}/{token}")).await.text().await.unwrap(),
        ];
        seen.extend(documents.iter().map(|(_, d)| d.to_string()));
        // Every mail the case caused (to the reporter, to the party), and the party's portal.
        let portal = regex::Regex::new(&format!(r"/p/{case}/[0-9a-f]{{64}}")).unwrap();
        for job in app.store.jobs_for_case(case).await.unwrap() {
            let raw = job.payload["raw"].as_str().unwrap_or_default().replace("=\r\n", "");
            if let Some(link) = portal.find(&raw) {
                let page = app.get(link.as_str()).await;
                assert_eq!(page.status().as_u16(), 200);
                seen.push(page.text().await.unwrap());
            }
            seen.push(job.payload.to_string());
        }
        assert!(seen.iter().any(|t| t.contains("City Hosting")), "the party's portal was looked at");
        for text in &seen {
            assert!(!text.contains(CANARY_POC) && !text.contains(CANARY_EXPLOIT), "{text}");
        }

        // The CLI exports the same document.
        let out = std::process::Command::new(crate::helpers::BIN)
            .args(["advisory", "export", &number, "--format", "osv", "--db", &db.url])
            .env_remove("VULNDESK_PUBLIC_URL")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let from_cli: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(from_cli, documents[3].1);
        // audit verify checks the advisory's log.
        audit_verifies(&db.url);
    })
    .await;
}

/// The demo's published advisories (SalesTim's, Kamailio's revised one with Debian's
/// status, SalesTim's withdrawn one): listed on their organisations' pages, and every
/// export of each passes its official validator.
#[tokio::test]
async fn the_demos_advisories_are_published_and_pass_the_official_validators() {
    on_each_database(|db| async move {
        let app = spawn_serve(&db, &["--demo"], &[(RATE_LIMIT_ENV, "off")]).await;
        let link =
            regex::Regex::new(r#"href="(/o/[a-z]+/advisories/[A-Z]+-\d{4}-\d{4})""#).unwrap();
        let mut pages = Vec::new();
        for org in ["salestim", "kamailio"] {
            let list = app
                .get(&format!("/o/{org}/advisories"))
                .await
                .text()
                .await
                .unwrap();
            pages.extend(link.captures_iter(&list).map(|c| c[1].to_owned()));
        }
        assert_eq!(pages.len(), 3, "{pages:?}");
        let mut csaf = Vec::new();
        let mut statuses = Vec::new();
        for page in &pages {
            let html = app.get(page).await.text().await.unwrap();
            statuses.push((
                html.contains("id=\"withdrawn\""),
                html.contains("Revision 2"),
                html.contains("id=\"statements\""),
            ));
            let cve: Value = app
                .get(&format!("{page}/cve.json"))
                .await
                .json()
                .await
                .unwrap();
            judges::valid(judges::CVE_SCHEMA, &cve);
            let osv: Value = app
                .get(&format!("{page}/osv.json"))
                .await
                .json()
                .await
                .unwrap();
            judges::valid(judges::OSV_SCHEMA, &osv);
            csaf.push((
                format!("demo-{}", csaf.len()),
                app.get(&format!("{page}/csaf.json"))
                    .await
                    .json::<Value>()
                    .await
                    .unwrap(),
            ));
            let vex = app.get(&format!("{page}/csaf-vex.json")).await;
            if vex.status().as_u16() == 200 {
                csaf.push((
                    format!("demo-{}-vex", csaf.len()),
                    vex.json::<Value>().await.unwrap(),
                ));
            } else {
                assert_eq!(
                    vex.status().as_u16(),
                    409,
                    "only an advisory without statements has no VEX"
                );
            }
        }
        // One withdrawn, one revised, one with a party's status.
        assert!(statuses.iter().any(|s| s.0), "{statuses:?}");
        assert!(statuses.iter().any(|s| s.1), "{statuses:?}");
        assert!(statuses.iter().any(|s| s.2), "{statuses:?}");
        assert_eq!(csaf.len(), 4, "three advisories and one VEX document");
        let named: Vec<(&str, Value)> = csaf.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
        judges::bsi_valid(&named);
    })
    .await;
}

/// The same life through the pages: drafted from the case page, edited by form (a bad
/// product line refused naming its line, with what was typed kept), commented on and
/// approved by a reviewer, credited, published by the officer; the reporter accepts the
/// credit in their portal.
#[tokio::test]
async fn the_pages_draft_review_credit_and_publish_an_advisory() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let officer = add_member(
            &app,
            "o@kamailio.example",
            false,
            &[("kamailio", "officer")],
        )
        .await;
        let other = add_member(
            &app,
            "o2@kamailio.example",
            false,
            &[("kamailio", "officer")],
        )
        .await;
        let officer = session_for(&app, officer).await;
        let other = session_for(&app, other).await;
        let (case, token) = app
            .create_report(&report("kamailio", "Crash on a long Via header"))
            .await;
        let (status, body) = act(&app, &officer, case, "triage", json!({"action": "accept"})).await;
        assert_eq!(status, 201, "{body}");
        let form = |s: &Session, path: String, fields: Vec<(&'static str, String)>| {
            let (app, s) = (&app, s.clone());
            async move {
                let mut fields = fields;
                fields.push(("csrf", s.csrf.clone()));
                let r = app
                    .client
                    .post(app.url(&path))
                    .header(reqwest::header::COOKIE, format!("vd_session={}", s.cookie))
                    .form(&fields)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let location = crate::team_support::location(&r);
                (status, location, r.text().await.unwrap())
            }
        };
        let (status, location, _) =
            form(&officer, format!("/cases/{case}/advisories"), vec![]).await;
        assert_eq!(status, 303);
        let page_of = location.clone();
        let id: i64 = location.trim_start_matches("/advisories/").parse().unwrap();
        let html = page_text(&app, &officer, &page_of).await;
        assert!(
            html.contains("Crash on a long Via header") && html.contains("id=\"edit-form\""),
            "{html}"
        );
        let case_page = page_text(&app, &officer, &format!("/cases/{case}")).await;
        assert!(
            case_page.contains(&format!("href=\"/advisories/{id}\"")),
            "the case links its advisory"
        );

        let edit = |products: &str| {
            vec![
                ("title", "Crash on a long Via header".to_owned()),
                (
                    "summary",
                    "A Via header with many parameters crashes workers.".to_owned(),
                ),
                ("component", "the SIP parser".to_owned()),
                ("products", products.to_owned()),
                (
                    "cvss",
                    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H".to_owned(),
                ),
                ("cwes", "CWE-125".to_owned()),
                (
                    "references",
                    "fix https://github.com/kamailio/kamailio/commit/abc".to_owned(),
                ),
                ("description", "Line one.\nLine two.".to_owned()),
                ("workarounds", String::new()),
            ]
        };
        let (status, _, html) = form(
            &officer,
            format!("/advisories/{id}/edit"),
            edit("Kamailio | kamailio | 5.8"),
        )
        .await;
        assert_eq!(status, 422, "{html}");
        assert!(
            html.contains("line 1: write vendor | product | release line"),
            "{html}"
        );
        assert!(
            html.contains("Kamailio | kamailio | 5.8</textarea>"),
            "what was typed stays: {html}"
        );
        let (status, _, html) = form(
            &officer,
            format!("/advisories/{id}/edit"),
            edit("Kamailio | kamailio | 5.8 | 5.8.0 | 5.8.5"),
        )
        .await;
        assert_eq!(status, 303, "{html}");

        // A second officer finds it among the advisories waiting for review.
        let waiting = page_text(&app, &other, "/advisories").await;
        assert!(
            waiting.contains(&format!("href=\"/advisories/{id}\""))
                && waiting.contains("needs review by 1 member of security-team"),
            "{waiting}"
        );
        // A second officer reviews: a comment on line 2 of the description, then approval.
        let (status, _, _) = form(
            &other,
            format!("/advisories/{id}/comments"),
            vec![
                ("part", "description".into()),
                ("line", "2".into()),
                ("body", "Which versions?".into()),
            ],
        )
        .await;
        assert_eq!(status, 303);
        let (status, _, html) = form(&officer, format!("/advisories/{id}/publish"), vec![]).await;
        assert_eq!(status, 409, "the writer cannot publish unreviewed: {html}");
        assert!(
            html.contains("review by 1 member of security-team"),
            "{html}"
        );
        let (status, _, _) = form(&other, format!("/advisories/{id}/approvals"), vec![]).await;
        assert_eq!(status, 303);
        let (status, _, _) = form(
            &officer,
            format!("/advisories/{id}/credits"),
            vec![
                ("kind", "finder".into()),
                ("reporter_of", case.to_string()),
                ("name", String::new()),
            ],
        )
        .await;
        assert_eq!(status, 303);
        let (status, _, _) = form(
            &officer,
            format!("/advisories/{id}/cve"),
            vec![
                ("cve", "CVE-2026-55555".into()),
                ("requested_at", String::new()),
            ],
        )
        .await;
        assert_eq!(status, 303);
        let html = page_text(&app, &officer, &page_of).await;
        assert!(
            html.contains("Which versions?") && html.contains("id=\"publication-ready\""),
            "{html}"
        );

        // The reporter accepts the credit in their portal, under a name of their own.
        let portal = format!("/r/{case}/{token}");
        let html = app.get(&portal).await.text().await.unwrap();
        assert!(html.contains("Accept the credit"), "{html}");
        let r = app
            .client
            .post(app.url(&format!("{portal}/credits")))
            .form(&[
                ("advisory", id.to_string()),
                ("credit", "1".to_owned()),
                ("name", "Via Finder".to_owned()),
                ("accepted", "true".to_owned()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 303);
        assert!(
            app.get(&portal)
                .await
                .text()
                .await
                .unwrap()
                .contains("You accepted to be credited as <strong>Via Finder</strong>")
        );

        let (status, _, html) = form(&officer, format!("/advisories/{id}/publish"), vec![]).await;
        assert_eq!(status, 303, "{html}");
        let html = page_text(&app, &officer, &page_of).await;
        assert!(
            html.contains("id=\"advisory-status\">published")
                && html.contains("id=\"public-link\""),
            "{html}"
        );
        let public = app
            .get(&format!(
                "/o/kamailio/advisories/{}",
                html.split("/o/kamailio/advisories/")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
            ))
            .await;
        assert_eq!(public.status().as_u16(), 200);
        assert!(public.text().await.unwrap().contains("Via Finder"));
    })
    .await;
}

/// Kamailio as a CNA (its policy names its CVE Program identity): an officer reserves IDs
/// into its pool at CVE Services (the stand-in that checks every request against the
/// published API description), advisories take them in turn, and the record follows the
/// advisory at the CVE Program: published, updated after a revision, rejected once
/// withdrawn.
#[tokio::test]
async fn a_cna_reserves_ids_into_its_pool_and_sends_each_advisorys_record() {
    on_each_database(|db| async move {
        let (url, service) = crate::cve_services::stand_in().await;
        let app = spawn_serve(
            &db,
            &["--demo", "--no-demo-accounts"],
            &[
                (RATE_LIMIT_ENV, "off"),
                ("VULNDESK_CVE_SERVICES_URL", &url),
                ("VULNDESK_CVE_SERVICES_USER", crate::cve_services::USER),
                ("VULNDESK_CVE_SERVICES_KEY", crate::cve_services::KEY),
            ],
        )
        .await;
        let cna = crate::helpers::reference_policy("kamailio").replace(
            "cve_requested_at = \"MITRE\"",
            "cna = { org_id = \"b3476cb9-2e3d-41a6-98d0-0f47421a65b6\", short_name = \"vulndesk-test\" }",
        );
        let file = crate::helpers::temp_policy("kamailio-cna", &cna);
        let (code, out, err) = crate::helpers::run_init(&db, &[file.as_path()]).await;
        assert_eq!(code, 0, "{out}{err}");
        let officer = add_member(&app, "o@kamailio.example", false, &[("kamailio", "officer")]).await;
        let reviewer = add_member(&app, "o2@kamailio.example", false, &[("kamailio", "officer")]).await;
        let (officer, reviewer) = (session_for(&app, officer).await, session_for(&app, reviewer).await);
        use reqwest::Method as M;

        let (status, body) = call(&app, Some(&officer), M::POST, "/api/v1/orgs/kamailio/cve-ids", Some(json!({"amount": 2}))).await;
        assert_eq!(status, 201, "{body}");
        let reserved: Vec<String> = serde_json::from_value(body["reserved"].clone()).unwrap();
        assert_eq!(reserved.len(), 2);
        let (_, pool) = call(&app, Some(&officer), M::GET, "/api/v1/orgs/kamailio/cve-ids", None).await;
        assert!(pool["cve_ids"].as_array().unwrap().iter().all(|p| p["advisory"].is_null()), "{pool}");

        let mut advisories = Vec::new();
        for title in ["Crash in the SIP parser", "Crash in the tm module", "Crash in the dialog module"] {
            let (case, _) = app.create_report(&report("kamailio", title)).await;
            assert_eq!(act(&app, &officer, case, "triage", json!({"action": "accept"})).await.0, 201);
            let mut f = fields(Some("5.8.4"));
            f["title"] = json!(title);
            f["products"][0]["lines"][0]["line"] = json!("5.8");
            f["products"][0]["lines"][0]["introduced"] = json!("5.8.0");
            let (status, draft) = call(&app, Some(&officer), M::POST, &format!("/api/v1/cases/{case}/advisories"), Some(json!({"fields": f}))).await;
            assert_eq!(status, 201, "{draft}");
            advisories.push(format!("/api/v1/advisories/{}", draft["id"]));
        }
        // Each advisory takes the next free ID; asking again keeps the one it has; none is
        // left for the third.
        let (status, first) = call(&app, Some(&officer), M::POST, &format!("{}/cve", advisories[0]), Some(json!({"from_pool": true}))).await;
        assert_eq!((status, first["cve"].as_str()), (201, Some(reserved[0].as_str())), "{first}");
        let (_, second) = call(&app, Some(&officer), M::POST, &format!("{}/cve", advisories[1]), Some(json!({"from_pool": true}))).await;
        assert_eq!(second["cve"].as_str(), Some(reserved[1].as_str()), "{second}");
        let (status, body) = call(&app, Some(&officer), M::POST, &format!("{}/cve", advisories[2]), Some(json!({"from_pool": true}))).await;
        assert_eq!(status, 409, "{body}");
        assert!(body.to_string().contains("pool of reserved CVE IDs is empty"), "{body}");

        // Published here, then at the CVE Program.
        let path = &advisories[0];
        assert_eq!(call(&app, Some(&reviewer), M::POST, &format!("{path}/approvals"), Some(json!({}))).await.0, 201);
        let (status, body) = call(&app, Some(&officer), M::POST, &format!("{path}/cve-record"), Some(json!({}))).await;
        assert_eq!(status, 409, "a draft has no record to send: {body}");
        let (status, body) = call(&app, Some(&officer), M::POST, &format!("{path}/publish"), Some(json!({}))).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["cve_record"], json!({"state": null, "behind": true}));
        let state = |cve: &str| service.ids.lock().unwrap().get(cve).cloned();
        let (status, body) = call(&app, Some(&officer), M::POST, &format!("{path}/cve-record"), Some(json!({}))).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["cve_record"], json!({"state": "PUBLISHED", "behind": false}));
        assert_eq!(state(&reserved[0]).as_deref(), Some("PUBLISHED"));
        assert_eq!(call(&app, Some(&officer), M::POST, &format!("{path}/cve-record"), Some(json!({}))).await.0, 409);
        // A revision updates it; the withdrawal rejects it.
        let mut revised = fields(Some("5.8.4"));
        revised["title"] = json!("Crash in the SIP parser");
        revised["products"][0]["lines"][0]["line"] = json!("5.8");
        revised["products"][0]["lines"][0]["introduced"] = json!("5.8.0");
        revised["workarounds"] = json!("Limit the size of SIP messages at the edge.");
        assert_eq!(call(&app, Some(&officer), M::PUT, path, Some(revised)).await.0, 200);
        assert_eq!(call(&app, Some(&officer), M::POST, &format!("{path}/revisions"), Some(json!({"note": "Workaround added."}))).await.0, 201);
        let (status, body) = call(&app, Some(&officer), M::POST, &format!("{path}/cve-record"), Some(json!({}))).await;
        assert_eq!((status, body["cve_record"]["state"].as_str()), (201, Some("PUBLISHED")), "{body}");
        assert_eq!(call(&app, Some(&officer), M::POST, &format!("{path}/withdrawal"), Some(json!({"reason": "Not a vulnerability after all."}))).await.0, 201);
        let (status, body) = call(&app, Some(&officer), M::POST, &format!("{path}/cve-record"), Some(json!({}))).await;
        assert_eq!((status, body["cve_record"]["state"].as_str()), (201, Some("REJECTED")), "{body}");
        assert_eq!(state(&reserved[0]).as_deref(), Some("REJECTED"));
        let problems = service.problems.lock().unwrap().clone();
        assert!(problems.is_empty(), "every request matched the description: {problems:?}");

        // The pool from the command line.
        let out = std::process::Command::new(crate::helpers::BIN)
            .args(["advisory", "pool", "--org", "kamailio", "--db", &db.url])
            .output()
            .unwrap();
        let listed = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && listed.contains(&reserved[1]) && listed.contains("advisory"), "{listed}");
    })
    .await;
}

/// Writers racing on one advisory: every comment lands (each write decided again on the
/// log another write moved), and of six officers publishing at once one does, the others are
/// told it is published already, and its case records the publication once.
#[tokio::test]
async fn racing_writers_each_land_once_and_a_publication_happens_once() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let writer = add_member(&app, "w@salestim.example", false, &[("salestim", "officer")]).await;
        let writer = session_for(&app, writer).await;
        let (case, _) = app.create_report(&report("salestim", "Token leak")).await;
        assert_eq!(act(&app, &writer, case, "triage", json!({"action": "accept"})).await.0, 201);
        let mut f = fields(Some("2.4.2"));
        f["products"] = json!([{"vendor": "SalesTim", "name": "SalesTim", "lines": [{"line": "2.x", "introduced": "2.0.0", "fixed": "2.4.2"}]}]);
        let (_, draft) = call(&app, Some(&writer), reqwest::Method::POST, &format!("/api/v1/cases/{case}/advisories"), Some(json!({"fields": f}))).await;
        let path = format!("/api/v1/advisories/{}", draft["id"]);
        let mut sessions = Vec::new();
        for n in 0..6 {
            let id = add_member(&app, &format!("o{n}@salestim.example"), false, &[("salestim", "officer")]).await;
            sessions.push(session_for(&app, id).await);
        }
        let comments = sessions.iter().enumerate().map(|(n, s)| {
            let (app, path) = (&app, &path);
            async move {
                call(app, Some(s), reqwest::Method::POST, &format!("{path}/comments"), Some(json!({"part": "summary", "line": 1, "body": format!("Comment {n}")}))).await.0
            }
        });
        let statuses = futures_util::future::join_all(comments).await;
        assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
        let (_, read) = call(&app, Some(&writer), reqwest::Method::GET, &path, None).await;
        assert_eq!(read["comments"].as_array().unwrap().len(), 6, "{read}");

        let publishers = sessions.iter().map(|s| {
            let (app, path) = (&app, &path);
            async move { call(app, Some(s), reqwest::Method::POST, &format!("{path}/publish"), Some(json!({}))).await }
        });
        let answers = futures_util::future::join_all(publishers).await;
        let published = answers.iter().filter(|(s, _)| *s == 201).count();
        let (_, first) = answers.iter().find(|(s, _)| *s == 201).unwrap();
        let exports: Vec<&String> = first["exports"].as_object().unwrap().keys().collect();
        assert_eq!(exports, ["csaf", "osv"], "no CVE ID, no statement: no CVE record, no VEX");
        assert_eq!(published, 1, "{answers:?}");
        assert!(answers.iter().all(|(s, b)| *s == 201 || (*s == 409 && b.to_string().contains("published already"))), "{answers:?}");
        let timeline = case_json(&app, &writer, case).await;
        let marks = timeline["timeline"].as_array().unwrap().iter().filter(|e| e["event"]["type"] == "advisory_published").count();
        assert_eq!(marks, 1, "{timeline}");
        audit_verifies(&db.url);
    })
    .await;
}
