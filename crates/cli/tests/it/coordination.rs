//! Coordination under embargo (issue 13): the organisation's registry of parties, kept on
//! its pages, in the API and by `vulndesk party add|list|import`, each checking an entry
//! the same way.

use std::process::Command;

use serde_json::{Value, json};
use vulndesk_core::case::Event;
use vulndesk_mail::testing::Gpg;

use crate::helpers::{BIN, TestApp, on_each_database, spawn_app};
use crate::team_support::{Session, add_member, location, page, post_form, session_for};

async fn send(
    app: &TestApp,
    s: &Session,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = s.on(app.client.request(method, app.url(path)));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("VULNDESK_DB")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const PARTIES: &str = "/api/v1/orgs/signalen/parties";

#[tokio::test]
async fn officers_keep_the_registry_members_read_it_and_bad_entries_are_named() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let on = &db.label;
        let officer = add_member(
            &app,
            "olga@signalen.test",
            false,
            &[("signalen", "officer")],
        )
        .await;
        let member = add_member(&app, "mo@signalen.test", false, &[("signalen", "member")]).await;
        let reviewer = add_member(
            &app,
            "rita@signalen.test",
            false,
            &[("signalen", "reviewer")],
        )
        .await;
        let outsider =
            add_member(&app, "kim@kamailio.test", false, &[("kamailio", "officer")]).await;
        let (o, m) = (
            session_for(&app, officer).await,
            session_for(&app, member).await,
        );
        let gpg = Gpg::new();
        let fpr = gpg.reporter_key("Rotterdam PSIRT <psirt@rotterdam.example>");
        let key = gpg.export(&fpr);

        let entry = json!({
            "name": "Gemeente Rotterdam",
            "kind": "service-provider",
            "contacts": ["psirt@rotterdam.example"],
            "products": ["Signalen (managed)"],
            "embargo": "14 days",
            "terms": "Operations staff only.",
            "key": key,
        });
        let (status, added) = send(
            &app,
            &o,
            reqwest::Method::POST,
            PARTIES,
            Some(entry.clone()),
        )
        .await;
        assert_eq!(status, 201, "on {on}: {added}");
        assert_eq!(added["slug"], "gemeente-rotterdam", "on {on}");
        assert_eq!(
            added["key_fingerprint"]
                .as_str()
                .map(str::to_ascii_uppercase),
            Some(fpr.to_ascii_uppercase()),
            "on {on}"
        );

        // The same slug again is a conflict; a bad field is named.
        let (status, body) = send(
            &app,
            &o,
            reqwest::Method::POST,
            PARTIES,
            Some(entry.clone()),
        )
        .await;
        assert_eq!(status, 409, "on {on}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("\"gemeente-rotterdam\" exists"),
            "on {on}: {body}"
        );
        for (field, bad, words) in [
            ("contacts", json!(["psirt"]), "has no @"),
            ("kind", json!("reseller"), "is not one of"),
            ("embargo", json!("soon"), "expected a period"),
            ("key", json!("not a key"), ""),
        ] {
            let mut body = entry.clone();
            body["slug"] = json!("other");
            body[field] = bad;
            let (status, answer) = send(&app, &o, reqwest::Method::POST, PARTIES, Some(body)).await;
            assert_eq!(
                (status, answer["error"]["field"].as_str()),
                (422, Some(field)),
                "on {on}: {answer}"
            );
            assert!(
                answer["error"]["message"].as_str().unwrap().contains(words),
                "on {on}: {answer}"
            );
        }
        let (status, answer) = send(
            &app,
            &o,
            reqwest::Method::POST,
            PARTIES,
            Some(
                json!({"name": "x", "kind": "vendor", "contacts": ["a@b.example"], "contact": "c"}),
            ),
        )
        .await;
        assert_eq!(
            (status, answer["error"]["field"].as_str()),
            (422, Some("contact")),
            "on {on}: {answer}"
        );

        // An edit keeps the slug and, with no key given, the key.
        let mut edit = entry.clone();
        edit.as_object_mut().unwrap().remove("key");
        edit["name"] = json!("Gemeente Rotterdam ICT");
        let (status, edited) = send(
            &app,
            &o,
            reqwest::Method::PUT,
            &format!("{PARTIES}/gemeente-rotterdam"),
            Some(edit),
        )
        .await;
        assert_eq!(status, 200, "on {on}: {edited}");
        assert_eq!(
            (edited["name"].as_str(), edited["slug"].as_str()),
            (Some("Gemeente Rotterdam ICT"), Some("gemeente-rotterdam"))
        );
        assert_eq!(
            edited["key_fingerprint"], added["key_fingerprint"],
            "on {on}"
        );
        let (status, _) = send(
            &app,
            &o,
            reqwest::Method::PUT,
            &format!("{PARTIES}/nobody"),
            Some(entry.clone()),
        )
        .await;
        assert_eq!(status, 404, "on {on}: an edit adds nothing");

        // Members read the registry; only officers change it; reviewers and other
        // organisations' officers do neither.
        let (status, list) = send(&app, &m, reqwest::Method::GET, PARTIES, None).await;
        assert_eq!(status, 200, "on {on}: {list}");
        // The demo's two service providers, and this one.
        assert_eq!(list["parties"].as_array().unwrap().len(), 3, "on {on}");
        let (status, _) = send(
            &app,
            &m,
            reqwest::Method::POST,
            PARTIES,
            Some(entry.clone()),
        )
        .await;
        assert_eq!(status, 403, "on {on}");
        for outsider in [reviewer, outsider] {
            let s = session_for(&app, outsider).await;
            assert_eq!(
                send(&app, &s, reqwest::Method::GET, PARTIES, None).await.0,
                403,
                "on {on}"
            );
        }
        assert_eq!(
            send(
                &app,
                &o,
                reqwest::Method::GET,
                "/api/v1/orgs/nowhere/parties",
                None
            )
            .await
            .0,
            404,
            "on {on}"
        );

        // The pages: a bad form comes back with what was typed and what is wrong.
        let html = page(&app, &o.cookie, "/dashboard")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("href=\"/orgs/signalen/parties\""),
            "on {on}: the dashboard links the registry"
        );
        let form = [
            ("csrf", o.csrf.as_str()),
            ("name", "Debian"),
            ("kind", "distro"),
            (
                "contacts",
                "security@debian.example\nteam@security.debian.example",
            ),
            ("products", "signalen-backend"),
        ];
        let response = post_form(&app, &o.cookie, "/orgs/signalen/parties", &form).await;
        assert_eq!(response.status(), 422, "on {on}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("kind &#34;distro&#34; is not one of")
                || html.contains("kind &quot;distro&quot; is not one of"),
            "on {on}: {html}"
        );
        assert!(
            html.contains("team@security.debian.example"),
            "on {on}: what was typed is kept"
        );
        let mut form = form;
        form[2] = ("kind", "distribution");
        let response = post_form(&app, &o.cookie, "/orgs/signalen/parties", &form).await;
        assert_eq!(
            (response.status().as_u16(), location(&response)),
            (303, "/orgs/signalen/parties".to_owned()),
            "on {on}"
        );
        let html = page(&app, &m.cookie, "/orgs/signalen/parties")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("id=\"party-debian\"") && html.contains("Gemeente Rotterdam ICT"),
            "on {on}"
        );
        assert!(
            !html.contains("id=\"save-party\""),
            "on {on}: a member sees no form"
        );
        let html = page(&app, &o.cookie, "/orgs/signalen/parties/debian")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("Edit Debian")
                && html.contains("action=\"/orgs/signalen/parties/debian\""),
            "on {on}"
        );
        let response = post_form(
            &app,
            &m.cookie,
            "/orgs/signalen/parties/debian",
            &[("csrf", m.csrf.as_str()), ("name", "X")],
        )
        .await;
        assert_eq!(response.status(), 403, "on {on}");
        app.kill().await;
    })
    .await;
}

#[tokio::test]
async fn a_spreadsheet_imports_whole_or_not_at_all_and_names_each_bad_line() {
    on_each_database(|db| async move {
        let on = &db.label;
        let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/signalen.toml");
        let (code, _, err) = cli(&["init", "--db", &db.url, "--policy", policy]);
        assert_eq!(code, 0, "on {on}: {err}");
        let dir = std::env::temp_dir().join(format!("vd-parties-{}-{on}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("parties.csv");
        std::fs::write(
            &csv,
            "\u{feff}Name,Kind,Contacts,Products,Embargo\n\
             Gemeente Utrecht,service provider,security@utrecht.example; ict@utrecht.example,Signalen,30 days\n\
             \"Delta, Inc.\",vendor,psirt,\"Delta Cloud\nDelta Edge\",\n\
             Debian,distribution,security@debian.example,,soon\n",
        )
        .unwrap();
        let (code, out, err) = cli(&["party", "import", "--org", "signalen", csv.to_str().unwrap(), "--db", &db.url]);
        assert_eq!(code, 1, "on {on}: {out}{err}");
        assert!(err.contains("nothing was imported; 2 of 3 entries need fixing"), "on {on}: {err}");
        assert!(err.contains("line 3: contacts: \"psirt\" is not an e-mail address"), "on {on}: {err}");
        assert!(err.contains("line 5: embargo: expected a period"), "on {on}: {err}");
        let (_, out, _) = cli(&["party", "list", "--org", "signalen", "--db", &db.url]);
        assert!(out.contains("no parties yet"), "on {on}: {out}");

        let fixed = std::fs::read_to_string(&csv).unwrap().replace(",psirt,", ",psirt@delta.example,").replace(",soon", ",");
        std::fs::write(&csv, fixed).unwrap();
        let (code, out, err) = cli(&["party", "import", "--org", "signalen", csv.to_str().unwrap(), "--db", &db.url]);
        assert_eq!(code, 0, "on {on}: {err}");
        assert!(out.contains("3 added, 0 updated"), "on {on}: {out}");
        let (code, out, err) = cli(&["party", "import", "--org", "signalen", csv.to_str().unwrap(), "--db", &db.url]);
        assert!(code == 0 && out.contains("0 added, 3 updated"), "on {on}: {out}{err}");

        let (code, out, err) = cli(&["party", "add", "--org", "signalen", "--name", "Delta, Inc.", "--kind", "vendor", "--contact", "x@delta.example", "--db", &db.url]);
        assert_eq!(code, 4, "on {on}: a taken slug is refused: {out}{err}");
        assert!(err.contains("\"delta-inc\" exists"), "on {on}: {err}");
        let (code, out, err) = cli(&["party", "add", "--org", "signalen", "--name", "SUSE", "--kind", "distribution", "--contact", "security@suse.example", "--product", "Signalen RPMs", "--db", &db.url]);
        assert_eq!(code, 0, "on {on}: {out}{err}");

        let (code, out, _) = cli(&["party", "list", "--org", "signalen", "--format", "json", "--db", &db.url]);
        assert_eq!(code, 0);
        let list: Value = serde_json::from_str(&out).unwrap();
        let summary: Vec<(&str, &str)> = list.as_array().unwrap().iter().map(|p| (p["slug"].as_str().unwrap(), p["kind"].as_str().unwrap())).collect();
        assert_eq!(summary, [("debian", "distribution"), ("suse", "distribution"), ("gemeente-utrecht", "service-provider"), ("delta-inc", "vendor")], "on {on}");
        let delta = &list[3];
        assert_eq!(delta["products"], json!(["Delta Cloud", "Delta Edge"]), "on {on}: a quoted cell holds lines");
        assert_eq!(list[2]["contacts"], json!(["security@utrecht.example", "ict@utrecht.example"]), "on {on}");
        assert_eq!(list[2]["embargo"], "30 days", "on {on}");

        std::fs::write(&csv, "name,kind,contact\nX,vendor,a@b.example\n").unwrap();
        let (code, _, err) = cli(&["party", "import", "--org", "signalen", csv.to_str().unwrap(), "--db", &db.url]);
        assert_eq!(code, 1, "on {on}");
        assert!(err.contains("line 1: unknown column \"contact\""), "on {on}: {err}");
        let (code, _, err) = cli(&["party", "list", "--org", "nowhere", "--db", &db.url]);
        assert_eq!(code, 1, "on {on}");
        assert!(err.contains("no organisation \"nowhere\""), "on {on}: {err}");
        std::fs::remove_dir_all(&dir).ok();
    })
    .await;
}

/// The portal link in the invitation queued to `contact` on `case` (decrypted with `gpg`
/// when the party has a key), and the reply address it came from.
async fn invitation(
    app: &TestApp,
    case: i64,
    contact: &str,
    gpg: Option<&Gpg>,
) -> (String, String) {
    let jobs = app.store.jobs_for_case(case).await.unwrap();
    let job = jobs
        .iter()
        .find(|j| {
            j.payload["to"] == json!([contact])
                && j.payload["raw"]
                    .as_str()
                    .unwrap()
                    .contains("embargo] Coordination")
        })
        .unwrap_or_else(|| panic!("no invitation to {contact}"));
    let raw = job.payload["raw"].as_str().unwrap().replace("=\r\n", "");
    let from = regex::Regex::new(r"From: .*<(security\+[0-9a-f]{32}@[a-z.]+)>").unwrap();
    let from = from.captures(&raw).unwrap_or_else(|| panic!("{raw}"))[1].to_owned();
    let text = match gpg {
        None => raw,
        Some(gpg) => {
            let start = raw
                .find("-----BEGIN PGP MESSAGE-----")
                .expect("encrypted to the party's key");
            let end =
                raw.find("-----END PGP MESSAGE-----").unwrap() + "-----END PGP MESSAGE-----".len();
            let clear = gpg.ok(
                &["--decrypt"],
                raw[start..end].replace("\r\n", "\n").as_bytes(),
            );
            String::from_utf8_lossy(&clear)
                .replace("=\r\n", "")
                .replace("=\n", "")
        }
    };
    let link = regex::Regex::new(&format!(r"/p/{case}/[0-9a-f]{{64}}")).unwrap();
    let link = link
        .find(&text)
        .unwrap_or_else(|| panic!("no portal link in {text}"))
        .as_str()
        .to_owned();
    (link, from)
}

fn clock(view: &Value, kind: &str) -> Value {
    view["clocks"]["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind)
        .cloned()
        .unwrap_or_else(|| panic!("no {kind} clock in {view}"))
}

async fn party_form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// How many messages were queued to each of `contacts` on `case`.
async fn mail_to(app: &TestApp, case: i64, contacts: &[&str]) -> Vec<usize> {
    let jobs = app.store.jobs_for_case(case).await.unwrap();
    contacts
        .iter()
        .map(|c| {
            jobs.iter()
                .filter(|j| j.payload["to"] == json!([c]))
                .count()
        })
        .collect()
}

#[tokio::test]
async fn parties_coordinate_through_their_portals_and_mail_each_in_its_own_thread() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let on = &db.label;
        let officer = add_member(&app, "sally@salestim.test", false, &[("salestim", "officer")]).await;
        let o = session_for(&app, officer).await;
        let gpg = Gpg::new();
        let fpr = gpg.reporter_key("Debian Security <team@security.debian.example>");
        let parties = "/api/v1/orgs/salestim/parties";
        for entry in [
            json!({"name": "Debian", "kind": "distribution", "contacts": ["team@security.debian.example"], "key": gpg.export(&fpr)}),
            json!({"name": "Acme Hosting", "kind": "service-provider", "contacts": ["psirt@acme.example"]}),
        ] {
            let (status, body) = send(&app, &o, reqwest::Method::POST, parties, Some(entry)).await;
            assert_eq!(status, 201, "on {on}: {body}");
        }
        let (case, reporter_token) = app.create_report(&crate::helpers::report("salestim", "Heap overflow in CSV import")).await;
        let act = |what: &'static str, body: Value| {
            let (app, o) = (&app, &o);
            async move { send(app, o, reqwest::Method::POST, &format!("/api/v1/cases/{case}/{what}"), Some(body)).await }
        };
        let (status, body) = act("triage", json!({"action": "accept"})).await;
        assert_eq!(status, 201, "on {on}: {body}");
        let deadline: jiff::civil::Date = clock(&crate::team_support::case_json(&app, &o, case).await, "disclosure")["due"].as_str().unwrap().parse().unwrap();

        // An invitation by name and by kind; a party not in the registry is named.
        let today: jiff::civil::Date = jiff::Timestamp::now().to_string()[..10].parse().unwrap();
        let reply_by = today.checked_add(jiff::Span::new().days(7)).unwrap().to_string();
        let (status, body) = act("parties", json!({"parties": ["nobody"], "reply_by": reply_by, "summary": "x"})).await;
        assert_eq!((status, body["error"]["field"].as_str()), (422, Some("parties")), "on {on}: {body}");
        let summary = "A heap overflow in the SalesTim CSV import (versions 2.0 to 2.4.2); fixed in 2.4.3.";
        let (status, body) = act("parties", json!({"parties": ["debian"], "kinds": ["service-provider"], "reply_by": reply_by, "summary": summary})).await;
        assert_eq!(status, 201, "on {on}: {body}");
        let (debian, debian_from) = invitation(&app, case, "team@security.debian.example", Some(&gpg)).await;
        let (acme, _) = invitation(&app, case, "psirt@acme.example", None).await;
        assert_ne!(debian, acme, "on {on}: a link per party");

        // The embargo: its end is stored in UTC and shown with the zone named.
        let (status, body) = act("embargo", json!({"action": "set", "end": "2027-03-05T14:00", "zone": "Europe/Amsterdam", "terms": "Your security and operations teams only."})).await;
        assert_eq!(status, 201, "on {on}: {body}");
        let view = crate::team_support::case_json(&app, &o, case).await;
        assert_eq!(view["coordination"]["embargo"]["end"], "2027-03-05T13:00:00Z", "on {on}");

        // Debian reads its portal: the summary and the embargo, never the report or the
        // reporter; it accepts and states it is not affected.
        let html = app.get(&debian).await.text().await.unwrap();
        assert!(html.contains(summary) && html.contains("2027-03-05 13:00 UTC"), "on {on}: {html}");
        assert!(html.contains("datetime=\"2027-03-05T13:00:00Z\""), "on {on}");
        for secret in ["finder@example.org", "Steps: send the crafted request", "Heap overflow in CSV import"] {
            assert!(!html.contains(secret), "on {on}: the portal shows {secret:?}");
        }
        assert!(html.contains("No answer yet"), "on {on}");
        let r = party_form(&app, &format!("{debian}/answer"), &[("answer", "accept"), ("note", "Thanks.")]).await;
        assert_eq!(r.status(), 303, "on {on}");
        let r = party_form(&app, &format!("{debian}/status"), &[("status", "not_affected"), ("justification", "")]).await;
        assert_eq!(r.status(), 422, "on {on}: not affected needs its justification");
        assert!(r.text().await.unwrap().contains("says why"), "on {on}");
        let r = party_form(&app, &format!("{debian}/status"), &[("status", "not_affected"), ("justification", "vulnerable_code_not_present"), ("statement", "Debian ships 1.9, without the importer.")]).await;
        assert_eq!(r.status(), 303, "on {on}");
        let html = app.get(&debian).await.text().await.unwrap();
        assert!(html.contains("You accepted the invitation") && html.contains("Not affected"), "on {on}: {html}");

        // Threads: each party reads its own and the team's messages to all, never another's.
        let r = app.post_form(&format!("{acme}/messages"), reqwest::multipart::Form::new().text("body", "Acme is checking its fleet.")).await;
        assert_eq!(r.status(), 303, "on {on}");
        let (status, body) = act("party-messages", json!({"party": "acme-hosting", "body": "Acme: please patch by Friday."})).await;
        assert_eq!(status, 201, "on {on}: {body}");
        let (status, body) = act("party-messages", json!({"body": "The release moves to Thursday."})).await;
        assert_eq!(status, 201, "on {on}: {body}");
        let html = app.get(&debian).await.text().await.unwrap();
        assert!(html.contains("The release moves to Thursday."), "on {on}");
        for other in ["Acme is checking its fleet.", "please patch by Friday"] {
            assert!(!html.contains(other), "on {on}: Debian reads Acme's thread: {other:?}");
        }
        let html = app.get(&acme).await.text().await.unwrap();
        assert!(html.contains("please patch by Friday") && html.contains("1 new") || html.contains("2 new"), "on {on}: unread markers: {html}");
        assert!(!html.contains("Debian ships 1.9"), "on {on}");

        // Debian's mail to its own reply address joins its thread, as Debian's.
        let mail = format!(
            "From: Debian Security <team@security.debian.example>\r\nTo: {debian_from}\r\n\
             Message-ID: <debian-1@security.debian.example>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\n\
             Subject: Re: coordination\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             We will publish DSA-9999 at the embargo's end.\r\n"
        );
        let args = ["mail", "ingest", "--org", "salestim", "--db", &db.url];
        let run = crate::mail_support::run(&args, mail.as_bytes(), &[]).await;
        assert_eq!((run.code, run.stdout.trim()), (0, format!("joined case {case}").as_str()), "on {on}: {}", run.stderr);
        let html = app.get(&debian).await.text().await.unwrap();
        assert!(html.contains("We will publish DSA-9999"), "on {on}: the mail joins Debian's thread");
        // A file Debian mails is the team's: the reporter cannot fetch it, even by its hash.
        let mail = format!(
            "From: Debian Security <team@security.debian.example>\r\nTo: {debian_from}\r\n\
             Message-ID: <debian-2@security.debian.example>\r\nDate: Mon, 30 Nov 2026 11:00:00 +0000\r\n\
             Subject: Re: coordination\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nOur draft DSA.\r\n--b1\r\n\
             Content-Type: text/plain; name=dsa.txt\r\nContent-Disposition: attachment; filename=dsa.txt\r\n\r\n\
             DSA-9999 draft text\r\n--b1--\r\n"
        );
        let run = crate::mail_support::run(&args, mail.as_bytes(), &[]).await;
        assert_eq!(run.code, 0, "on {on}: {}", run.stderr);
        let file = app.store.attachments(case).await.unwrap().into_iter().find(|a| a.filename == "dsa.txt").expect("the file is stored");
        let r = app.client.get(app.url(&format!("/api/v1/reports/{case}/files/{}", file.sha256))).bearer_auth(&reporter_token).send().await.unwrap();
        assert_eq!(r.status(), 404, "on {on}: the reporter fetched a party's file");
        let r = app.get(&format!("/r/{case}/{reporter_token}/files/{}", file.sha256)).await;
        assert_eq!(r.status(), 404, "on {on}");
        let r = o.on(app.client.get(app.url(&format!("/cases/{case}/files/{}", file.sha256)))).send().await.unwrap();
        assert_eq!(r.status(), 200, "on {on}: the team reads it");
        // It is in Debian's thread, for Debian to fetch too, and for no other party.
        assert!(app.get(&debian).await.text().await.unwrap().contains("dsa.txt"), "on {on}");
        assert_eq!(app.get(&format!("{debian}/files/{}", file.sha256)).await.status(), 200, "on {on}");
        assert_eq!(app.get(&format!("{acme}/files/{}", file.sha256)).await.status(), 404, "on {on}");
        let acme_page = app.get(&acme).await.text().await.unwrap();
        assert!(!acme_page.contains("DSA-9999") && !acme_page.contains("dsa.txt"), "on {on}");
        let reporter_view = app.store.events(case).await.unwrap();
        let message = reporter_view.iter().find(|e| e.payload.to_string().contains("DSA-9999")).unwrap();
        assert_eq!((message.kind.as_str(), message.actor.as_str()), ("party_message", "party:debian"), "on {on}");
        // The team shares Debian's message, and its file, with every party.
        let with_file = reporter_view.iter().find(|e| e.kind == "party_message" && e.payload.to_string().contains("dsa.txt")).unwrap();
        let (status, body) = act("party-messages", json!({"share": with_file.seq, "body": "Debian's draft, for your advisories."})).await;
        assert_eq!(status, 201, "on {on}: {body}");
        let acme_page = app.get(&acme).await.text().await.unwrap();
        assert!(acme_page.contains("Debian wrote:") && acme_page.contains("Our draft DSA.") && acme_page.contains("dsa.txt"), "on {on}: {acme_page}");
        assert_eq!(app.get(&format!("{acme}/files/{}", file.sha256)).await.status(), 200, "on {on}: shared, its file too");
        let (status, body) = act("party-messages", json!({"share": message.seq + 1000, "body": "x"})).await;
        assert_eq!((status, body["error"]["field"].as_str()), (422, Some("share")), "on {on}: {body}");

        // The team sees who is silent: Acme gave no status ("no answer yet", never "unknown").
        let view = crate::team_support::case_json(&app, &o, case).await;
        let co = &view["coordination"];
        assert_eq!(co["silent"], json!(["acme-hosting"]), "on {on}: {co}");
        let statuses: Vec<(&str, &str)> = co["parties"].as_array().unwrap().iter().map(|p| (p["party"].as_str().unwrap(), p["status"].as_str().unwrap())).collect();
        assert_eq!(statuses, [("debian", "not_affected"), ("acme-hosting", "no_answer_yet")], "on {on}");
        let page = crate::team_support::page(&app, &o.cookie, &format!("/cases/{case}")).await.text().await.unwrap();
        assert!(page.contains("No status yet from: Acme Hosting") && page.contains("1 new"), "on {on}: {page}");
        // Statements become public only once the officer approves them.
        assert_eq!(co["parties"][0]["approved"], false);
        let (status, body) = act("statements", json!({"action": "approve", "party": "debian"})).await;
        assert_eq!(status, 201, "on {on}: {body}");

        // The parties are told who reported the case only with the reporter's consent, given
        // in their portal, and the officer's choice; withdrawing consent ends it at once.
        let (status, body) = act("reporter-sharing", json!({"share": true})).await;
        assert_eq!(status, 409, "on {on}: {body}");
        let consent = |share: &'static str| {
            let (app, token) = (&app, &reporter_token);
            async move { party_form(app, &format!("/r/{case}/{token}/consent"), &[("share", share)]).await }
        };
        let portal = app.get(&format!("/r/{case}/{reporter_token}")).await.text().await.unwrap();
        assert!(portal.contains("id=\"give-consent\""), "on {on}: the reporter is asked");
        assert_eq!(consent("yes").await.status(), 303, "on {on}");
        assert!(!app.get(&debian).await.text().await.unwrap().contains("finder@example.org"), "on {on}: consent alone names nobody");
        let (status, body) = act("reporter-sharing", json!({"share": true})).await;
        assert_eq!(status, 201, "on {on}: {body}");
        let html = app.get(&debian).await.text().await.unwrap();
        assert!(html.contains("Reported by finder@example.org"), "on {on}: {html}");
        assert_eq!(consent("no").await.status(), 303, "on {on}");
        assert!(!app.get(&debian).await.text().await.unwrap().contains("finder@example.org"), "on {on}: withdrawn");

        // A release agreed inside SalesTim's 14-day grace after the deadline moves disclosure.
        let release = deadline.checked_add(jiff::Span::new().days(10)).unwrap();
        let (status, body) = act("embargo", json!({"action": "agree-release", "at": format!("{release}T15:00:00Z"), "note": "Debian and Acme agreed."})).await;
        assert_eq!(status, 201, "on {on}: {body}");
        let disclosure = clock(&crate::team_support::case_json(&app, &o, case).await, "disclosure");
        assert_eq!(disclosure["due"], release.to_string(), "on {on}: {disclosure}");
        assert!(disclosure["derivation"].to_string().contains("coordinated release agreed with the parties"), "on {on}: {disclosure}");

        // The embargo breaks: every party is told, once (Acme's mail is plain, Debian's
        // encrypted to its key).
        let contacts = ["team@security.debian.example", "psirt@acme.example"];
        let before = mail_to(&app, case, &contacts).await;
        let today = today.checked_sub(jiff::Span::new().days(1)).unwrap().to_string();
        let (status, body) = act("triage", json!({"action": "leak-observed", "on": today})).await;
        assert_eq!(status, 201, "on {on}: {body}");
        let after: Vec<usize> = mail_to(&app, case, &contacts).await;
        assert_eq!(after, before.iter().map(|n| n + 1).collect::<Vec<_>>(), "on {on}: one mail per party");
        let jobs = app.store.jobs_for_case(case).await.unwrap();
        let last_to_acme = jobs.iter().rev().find(|j| j.payload["to"] == json!(["psirt@acme.example"])).unwrap();
        assert!(last_to_acme.payload["raw"].as_str().unwrap().replace("=\r\n", "").contains("is broken"), "on {on}");
        let (status, body) = act("triage", json!({"action": "exploitation-observed", "on": today})).await;
        assert_eq!(status, 201, "on {on}: {body}");
        assert_eq!(mail_to(&app, case, &contacts).await, after, "on {on}: told once");

        // A replaced link stops working at once.
        let r = party_form(&app, &format!("{acme}/token"), &[]).await;
        assert_eq!(r.status(), 303, "on {on}");
        let fresh = location(&r);
        assert_eq!(app.get(&acme).await.status(), 404, "on {on}");
        assert_eq!(app.get(fresh.split('#').next().unwrap()).await.status(), 200, "on {on}");
        app.kill().await;
    })
    .await;
}

#[tokio::test]
async fn a_silent_party_is_reminded_once_per_cadence_whatever_the_number_of_runs() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let on = &db.label;
        let org = app
            .store
            .organisation_by_slug("salestim")
            .await
            .unwrap()
            .unwrap();
        let party = registered(&app, org.id, "quiet", "Quiet Hosting", "service-provider").await;
        // Invited eight days ago (SalesTim reminds after the default week), never answered.
        let case = crate::reminders::old_case(&app, "salestim", "salestim", 10).await;
        let at = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 8);
        let (events, _) = vulndesk_desk::cases::prepare(
            vec![Event::PartiesInvited {
                parties: vec![vulndesk_core::coordination::Invitee {
                    party: "quiet".into(),
                    name: "Quiet Hosting".into(),
                    kind: vulndesk_core::coordination::PartyKind::ServiceProvider,
                }],
                reply_by: jiff::civil::date(2030, 1, 1),
                summary: "A flaw.".into(),
            }],
            &vulndesk_core::actor::Actor::User(1),
            at,
        )
        .unwrap();
        app.store
            .append_events(
                case,
                app.store.head(case).await.unwrap(),
                events,
                None,
                vulndesk_store::Effects {
                    parties: vec![vulndesk_store::NewPartyParticipant {
                        party_id: party.id,
                        reply_tag: vulndesk_store::new_reply_tag().unwrap(),
                        token_hash: vec![9; 32],
                    }],
                    ..vulndesk_store::Effects::default()
                },
            )
            .await
            .unwrap();
        let before = mail_to(&app, case, &["psirt@quiet.example"]).await;
        tokio::join!(
            crate::reminders::remind(&app),
            crate::reminders::remind(&app),
            crate::reminders::remind(&app)
        );
        let reminded = app
            .store
            .events(case)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.kind == "parties_reminded")
            .count();
        assert_eq!(reminded, 1, "on {on}: reminded once");
        assert_eq!(
            mail_to(&app, case, &["psirt@quiet.example"]).await,
            [before[0] + 1],
            "on {on}"
        );
        let jobs = app.store.jobs_for_case(case).await.unwrap();
        let raw = jobs.last().unwrap().payload["raw"]
            .as_str()
            .unwrap()
            .replace("=\r\n", "");
        assert!(raw.contains("is waiting for your status"), "on {on}: {raw}");
        // Not again before another week.
        crate::reminders::remind(&app).await;
        assert_eq!(
            mail_to(&app, case, &["psirt@quiet.example"]).await,
            [before[0] + 1],
            "on {on}"
        );
        app.kill().await;
    })
    .await;
}

#[tokio::test]
async fn a_party_answers_by_account_and_files_stay_in_their_own_threads() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let on = &db.label;
        let officer = add_member(&app, "olga@salestim.test", false, &[("salestim", "officer")]).await;
        let o = session_for(&app, officer).await;
        let parties = "/api/v1/orgs/salestim/parties";
        for entry in [
            json!({"name": "Vendo", "kind": "vendor", "contacts": ["psirt@vendo.example"]}),
            json!({"name": "Other Vendor", "kind": "vendor", "contacts": ["sec@other.example"]}),
        ] {
            let (status, body) = send(&app, &o, reqwest::Method::POST, parties, Some(entry)).await;
            assert_eq!(status, 201, "on {on}: {body}");
        }
        // The retired external grant is refused where it is asked for, naming parties.
        let (case, reporter_token) = app.create_report(&crate::helpers::report("salestim", "Path traversal in export")).await;
        let vera = add_member(&app, "vera@vendo.example", false, &[]).await;
        let (status, body) = crate::team_support::act(&app, &o, case, "access", json!({"email": "vera@vendo.example", "grant": "external"})).await;
        assert_eq!((status, body["error"]["field"].as_str()), (422, Some("grant")), "on {on}: {body}");
        assert!(body.to_string().contains("invited party"), "on {on}: {body}");

        // The officer links Vera's account to Vendo; an unknown address is named.
        let accounts = format!("{parties}/vendo/accounts");
        let (status, body) = send(&app, &o, reqwest::Method::POST, &accounts, Some(json!({"email": "nobody@vendo.example", "linked": true}))).await;
        assert_eq!((status, body["error"]["field"].as_str()), (422, Some("email")), "on {on}: {body}");
        let (status, body) = send(&app, &o, reqwest::Method::POST, &accounts, Some(json!({"email": "Vera@Vendo.example", "linked": true}))).await;
        assert_eq!(status, 200, "on {on}: {body}");
        assert_eq!(body["accounts"][0]["email"], "vera@vendo.example", "on {on}");
        // The party's page shows who answers for it; its form links and names a bad address.
        let registry = "/orgs/salestim/parties/vendo";
        let html = page(&app, &o.cookie, registry).await.text().await.unwrap();
        assert!(html.contains("vera &lt;vera@vendo.example&gt;") && html.contains("id=\"link-account\""), "on {on}: {html}");
        let r = post_form(&app, &o.cookie, &format!("{registry}/accounts"), &[("csrf", &o.csrf), ("email", "ghost@vendo.example"), ("action", "link")]).await;
        assert_eq!(r.status(), 422, "on {on}");
        assert!(r.text().await.unwrap().contains("vulndesk user add"), "on {on}");
        let log = app.store.account_events().await.unwrap();
        assert!(log.iter().any(|e| e.kind == "party_account_linked" && e.actor == format!("user:{officer}")), "on {on}");

        // Before an invitation Vera sees nothing of the case; after it, its portal.
        let v = session_for(&app, vera).await;
        let portal = format!("/party/cases/{case}");
        assert_eq!(page(&app, &v.cookie, &portal).await.status(), 404, "on {on}");
        let reply_by = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 7)).to_string()[..10].to_owned();
        let (status, body) = crate::team_support::act(&app, &o, case, "parties", json!({"parties": ["vendo", "other-vendor"], "reply_by": reply_by, "summary": "A path traversal in the export."})).await;
        assert_eq!(status, 201, "on {on}: {body}");
        let dashboard = page(&app, &v.cookie, "/dashboard").await.text().await.unwrap();
        assert!(dashboard.contains(&format!("href=\"/party/cases/{case}\"")) && dashboard.contains("for Vendo"), "on {on}: {dashboard}");
        let html = page(&app, &v.cookie, &portal).await.text().await.unwrap();
        assert!(html.contains("A path traversal in the export.") && html.contains("answering for Vendo"), "on {on}: {html}");
        assert!(!html.contains("Path traversal in export") && !html.contains("finder@example.org"), "on {on}: the report leaks");
        assert!(!html.contains("replace-link"), "on {on}: an account has no link to replace");
        // The account is the party's, nothing more: not the case, not another party's portal.
        assert_eq!(page(&app, &v.cookie, &format!("/cases/{case}")).await.status(), 404, "on {on}");
        assert_eq!(page(&app, &v.cookie, &format!("/api/v1/cases/{case}")).await.status(), 404, "on {on}");
        // Signed-in forms carry the session's CSRF token.
        let r = post_form(&app, &v.cookie, &format!("{portal}/answer"), &[("answer", "accept")]).await;
        assert_eq!(r.status(), 403, "on {on}: no CSRF token");
        let r = post_form(&app, &v.cookie, &format!("{portal}/status"), &[("csrf", &v.csrf), ("status", "affected"), ("statement", "Vendo Gateway 3.x embeds the export.")]).await;
        assert_eq!(r.status(), 303, "on {on}");
        let view = crate::team_support::case_json(&app, &o, case).await;
        let vendo = view["coordination"]["parties"].as_array().unwrap().iter().find(|p| p["party"] == "vendo").cloned().unwrap();
        assert_eq!(vendo["status"], "affected", "on {on}: {vendo}");
        let stated = app.store.events(case).await.unwrap().into_iter().find(|e| e.kind == "party_stated").unwrap();
        assert_eq!(stated.actor, "party:vendo", "on {on}");

        // Vendo sends a file in its thread; the team reads it, Other Vendor and the reporter
        // cannot fetch it even by its hash.
        let form = reqwest::multipart::Form::new()
            .text("csrf", v.csrf.clone())
            .text("body", "Our patch for 3.x.")
            .part("attachments", reqwest::multipart::Part::bytes(b"--- a/export.c\n+++ b/export.c\n".to_vec()).file_name("vendo.patch"));
        let r = v.on(app.client.post(app.url(&format!("{portal}/messages")))).multipart(form).send().await.unwrap();
        assert_eq!(r.status(), 303, "on {on}");
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"--- a/export.c\n+++ b/export.c\n"));
        let html = page(&app, &v.cookie, &portal).await.text().await.unwrap();
        assert!(html.contains(&format!("href=\"{portal}/files/{sha}\"")), "on {on}: {html}");
        assert_eq!(page(&app, &v.cookie, &format!("{portal}/files/{sha}")).await.status(), 200, "on {on}");
        let thread = page(&app, &o.cookie, &format!("/cases/{case}/parties/vendo")).await.text().await.unwrap();
        assert!(thread.contains("vendo.patch") && thread.contains(&format!("/cases/{case}/files/{sha}")), "on {on}: {thread}");
        let r = page(&app, &o.cookie, &format!("/cases/{case}/files/{sha}")).await;
        assert_eq!(r.status(), 200, "on {on}");
        assert_eq!(r.bytes().await.unwrap().as_ref(), b"--- a/export.c\n+++ b/export.c\n", "on {on}");
        let (other, _) = invitation(&app, case, "sec@other.example", None).await;
        assert_eq!(app.get(&format!("{other}/files/{sha}")).await.status(), 404, "on {on}");
        assert!(!app.get(&other).await.text().await.unwrap().contains("vendo.patch"), "on {on}");
        assert_eq!(app.get(&format!("/r/{case}/{reporter_token}/files/{sha}")).await.status(), 404, "on {on}");

        // The team sends a file to Other Vendor only: it fetches it, Vendo cannot.
        let form = reqwest::multipart::Form::new()
            .text("csrf", o.csrf.clone())
            .text("party", "other-vendor")
            .text("body", "The fix, for your review.")
            .part("attachments", reqwest::multipart::Part::bytes(b"fix for other".to_vec()).file_name("fix.diff"));
        let r = o.on(app.client.post(app.url(&format!("/cases/{case}/party-messages")))).multipart(form).send().await.unwrap();
        assert_eq!(r.status(), 303, "on {on}");
        let fix = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"fix for other"));
        assert!(app.get(&other).await.text().await.unwrap().contains("fix.diff"), "on {on}");
        assert_eq!(app.get(&format!("{other}/files/{fix}")).await.status(), 200, "on {on}");
        assert_eq!(page(&app, &v.cookie, &format!("{portal}/files/{fix}")).await.status(), 404, "on {on}");
        let jobs = app.store.jobs_for_case(case).await.unwrap();
        let told = jobs.iter().rev().find(|j| j.payload["to"] == json!(["sec@other.example"])).unwrap();
        let raw = told.payload["raw"].as_str().unwrap().replace("=\r\n", "");
        assert!(raw.contains("fix.diff") && raw.contains("Download it in your portal"), "on {on}: {raw}");
        assert!(!raw.contains("fix for other"), "on {on}: files stay on the desk");

        // Unlinked, Vera reaches nothing at once.
        let (status, body) = send(&app, &o, reqwest::Method::POST, &accounts, Some(json!({"email": "vera@vendo.example", "linked": false}))).await;
        assert_eq!((status, body["accounts"].as_array().map(Vec::len)), (200, Some(0)), "on {on}: {body}");
        assert_eq!(page(&app, &v.cookie, &portal).await.status(), 404, "on {on}");
        app.kill().await;
    })
    .await;
}

/// A party added to organisation `org_id`'s registry behind the API's back (its only
/// contact `psirt@<slug>.example`), for tests about what happens to parties.
pub(crate) async fn registered(
    app: &TestApp,
    org_id: i64,
    slug: &str,
    name: &str,
    kind: &str,
) -> vulndesk_store::PartyRow {
    registered_with(app, org_id, (slug, name, kind), &[]).await
}

/// [`registered`], with the products the party speaks for.
pub(crate) async fn registered_with(
    app: &TestApp,
    org_id: i64,
    (slug, name, kind): (&str, &str, &str),
    products: &[&str],
) -> vulndesk_store::PartyRow {
    app.store
        .put_party(
            org_id,
            &vulndesk_store::NewParty {
                slug: slug.into(),
                name: name.into(),
                kind: kind.into(),
                contacts: vec![format!("psirt@{slug}.example")],
                products: products.iter().map(|p| (*p).to_owned()).collect(),
                embargo: None,
                terms: String::new(),
                key: None,
            },
            vulndesk_store::IfExists::Refuse,
            jiff::Timestamp::now(),
        )
        .await
        .unwrap()
        .0
}

/// A stand-in for the parties' domains' Web Key Directories: a plain web server (Python's)
/// over a directory laid out as the draft says, asked for every domain
/// (`VULNDESK_WKD_ORIGIN`). Stopped when dropped.
pub(crate) struct WkdStandIn {
    pub origin: String,
    root: std::path::PathBuf,
    server: std::process::Child,
}

impl WkdStandIn {
    pub(crate) async fn start() -> WkdStandIn {
        let root = tempfile_dir("wkd");
        // The server picks its own port (0) and says which: a port chosen here and handed
        // over could be taken by another test in between.
        let mut server = std::process::Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(&root)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 serves the stand-in directory");
        let stdout = server.stdout.take().expect("its output");
        let port = tokio::task::spawn_blocking(move || {
            use std::io::BufRead;
            let mut line = String::new();
            std::io::BufReader::new(stdout)
                .read_line(&mut line)
                .expect("the server says where it listens");
            // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
            line.split_whitespace()
                .skip_while(|w| *w != "port")
                .nth(1)
                .and_then(|p| p.parse::<u16>().ok())
                .unwrap_or_else(|| panic!("no port in {line:?}"))
        })
        .await
        .unwrap();
        WkdStandIn {
            origin: format!("http://127.0.0.1:{port}"),
            root,
            server,
        }
    }

    /// Publishes `key` (binary) where the advanced method looks for `email`.
    pub(crate) fn publish(&self, email: &str, key: &[u8]) {
        let directory = vulndesk_desk::wkd::Directory {
            origin: Some(self.origin.clone()),
        };
        let [advanced, _] = directory.urls(email).unwrap();
        let path = self.root.join(advanced.path().trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, key).unwrap();
    }
}

impl Drop for WkdStandIn {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[tokio::test]
async fn a_partys_key_is_found_in_its_web_key_directory() {
    let gpg = Gpg::new();
    let fpr = gpg.reporter_key("Joe Doe <joe.doe@example.org>");
    let key = vulndesk_mail::openpgp::PublicKey::parse(&gpg.export(&fpr), jiff::Timestamp::now())
        .unwrap();
    let wkd = WkdStandIn::start().await;
    // Laid out by hand at the draft's own example hash for Joe.Doe@Example.ORG.
    let hu = wkd.root.join(".well-known/openpgpkey/example.org/hu");
    std::fs::create_dir_all(&hu).unwrap();
    std::fs::write(hu.join("iy9q119eutrkn8s1mk4r39qejnbu3n5q"), key.binary()).unwrap();
    let origin_ref = &wkd.origin;
    let fpr_ref = &fpr;
    on_each_database(|db| async move {
        let app = crate::helpers::spawn_app_with(&db, &[(crate::helpers::RATE_LIMIT_ENV, "off"), ("VULNDESK_WKD_ORIGIN", origin_ref)]).await;
        let on = &db.label;
        let officer = add_member(&app, "kim@salestim.test", false, &[("salestim", "officer")]).await;
        let o = session_for(&app, officer).await;
        let parties = "/api/v1/orgs/salestim/parties";
        let (status, body) = send(&app, &o, reqwest::Method::POST, parties, Some(json!({"name": "Example Org", "kind": "vendor", "contacts": ["nokey@example.org", "Joe.Doe@example.org"]}))).await;
        assert_eq!(status, 201, "on {on}: {body}");
        let (status, body) = send(&app, &o, reqwest::Method::POST, parties, Some(json!({"name": "Keyless", "kind": "vendor", "contacts": ["psirt@keyless.example"]}))).await;
        assert_eq!(status, 201, "on {on}: {body}");

        // The first contact publishes nothing; the second's key is found and kept.
        let (status, body) = send(&app, &o, reqwest::Method::POST, &format!("{parties}/example-org/wkd"), None).await;
        assert_eq!(status, 200, "on {on}: {body}");
        assert_eq!(body["party"]["key_fingerprint"].as_str(), Some(fpr_ref.as_str()), "on {on}: {body}");
        assert!(body["found_at"].as_str().unwrap().contains("/.well-known/openpgpkey/example.org/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe"), "on {on}: {body}");

        // Nothing published: 422 naming the key, with what each directory answered.
        let (status, body) = send(&app, &o, reqwest::Method::POST, &format!("{parties}/keyless/wkd"), None).await;
        assert_eq!((status, body["error"]["field"].as_str()), (422, Some("key")), "on {on}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("404") && message.contains("keyless.example/hu/") && message.contains("paste the key"), "on {on}: {message}");

        // The same from the command line, and an account linked there.
        let run = Command::new(BIN)
            .args(["party", "find-key", "--org", "salestim", "example-org", "--db", &db.url])
            .env("VULNDESK_WKD_ORIGIN", origin_ref)
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success() && out.contains(&format!("found Example Org's key {fpr_ref}")), "on {on}: {out} {}", String::from_utf8_lossy(&run.stderr));
        let run = Command::new(BIN)
            .args(["party", "find-key", "--org", "salestim", "keyless", "--db", &db.url])
            .env("VULNDESK_WKD_ORIGIN", origin_ref)
            .output()
            .unwrap();
        assert!(!run.status.success() && String::from_utf8_lossy(&run.stderr).contains("paste the key instead"), "on {on}");
        let (code, out, err) = cli(&["party", "link", "--org", "salestim", "example-org", "kim@salestim.test", "--db", &db.url]);
        assert_eq!(code, 0, "on {on}: {err}");
        assert!(out.contains("linked kim@salestim.test to Example Org") && out.contains("kim@salestim.test"), "on {on}: {out}");
        let (code, _, err) = cli(&["party", "link", "--org", "salestim", "example-org", "ghost@salestim.test", "--db", &db.url]);
        assert!(code != 0 && err.contains("vulndesk user add"), "on {on}: {err}");

        // Members may not change the registry's keys.
        let member = add_member(&app, "mo@salestim.test", false, &[("salestim", "member")]).await;
        let m = session_for(&app, member).await;
        let (status, _) = send(&app, &m, reqwest::Method::POST, &format!("{parties}/keyless/wkd"), None).await;
        assert_eq!(status, 403, "on {on}");
        app.kill().await;
    })
    .await;

    // A key published at an address's place that does not name the address is refused.
    wkd.publish("joe.doe@other.example", &key.binary());
    let directory = vulndesk_desk::wkd::Directory {
        origin: Some(wkd.origin.clone()),
    };
    let refused = directory
        .lookup("joe.doe@other.example", jiff::Timestamp::now())
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("does not name joe.doe@other.example"),
        "{refused}"
    );
    let found = directory
        .lookup("joe.doe@example.org", jiff::Timestamp::now())
        .await
        .unwrap();
    assert_eq!(found.key.fingerprint(), fpr);
}

/// A fresh directory under the system's temporary directory.
fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "vulndesk-{name}-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_break_recorded_while_a_party_is_invited_tells_that_party_or_is_refused() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let on = &db.label;
        let officer =
            add_member(&app, "rae@salestim.test", false, &[("salestim", "officer")]).await;
        let o = session_for(&app, officer).await;
        let (status, body) = send(
            &app,
            &o,
            reqwest::Method::POST,
            "/api/v1/orgs/salestim/parties",
            Some(json!({"name": "Racer", "kind": "vendor", "contacts": ["psirt@racer.example"]})),
        )
        .await;
        assert_eq!(status, 201, "on {on}: {body}");
        let reply_by = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 7))
            .to_string()[..10]
            .to_owned();
        let today = jiff::Timestamp::now().to_string()[..10].to_owned();
        let mut outcomes = std::collections::BTreeMap::new();
        for round in 0..6 {
            let (case, _) = app
                .create_report(&crate::helpers::report(
                    "salestim",
                    &format!("Race {round}"),
                ))
                .await;
            let (status, _) =
                crate::team_support::act(&app, &o, case, "triage", json!({"action": "accept"}))
                    .await;
            assert_eq!(status, 201);
            let invite = crate::team_support::act(
                &app,
                &o,
                case,
                "parties",
                json!({"parties": ["racer"], "reply_by": reply_by, "summary": "A flaw."}),
            );
            let leak = crate::team_support::act(
                &app,
                &o,
                case,
                "triage",
                json!({"action": "leak-observed", "on": today}),
            );
            let ((invited, _), (leaked, body)) = tokio::join!(invite, leak);
            assert_eq!(invited, 201, "on {on}");
            assert!(leaked == 201 || leaked == 409, "on {on}: {leaked} {body}");
            *outcomes.entry(leaked).or_insert(0) += 1;
            // Whoever the log says was told of the break got the mail saying so.
            let events = app.store.events(case).await.unwrap();
            let told: Vec<String> = events
                .iter()
                .filter(|e| e.kind == "parties_told_of_break")
                .flat_map(|e| {
                    serde_json::from_str::<Value>(&e.payload).unwrap()["parties"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| p.as_str().unwrap().to_owned())
                        .collect::<Vec<_>>()
                })
                .collect();
            let jobs = app.store.jobs_for_case(case).await.unwrap();
            let broke = jobs
                .iter()
                .filter(|j| {
                    j.payload["to"] == json!(["psirt@racer.example"])
                        && j.payload["raw"]
                            .as_str()
                            .unwrap()
                            .replace("=\r\n", "")
                            .contains("is broken")
                })
                .count();
            assert_eq!(
                broke,
                told.iter().filter(|p| *p == "racer").count(),
                "on {on}: round {round}: told {told:?}, {broke} mails"
            );
        }
        eprintln!("on {on}: leak outcomes {outcomes:?}");
        app.kill().await;
    })
    .await;
}
