//! The reporter portal, `/r/{id}/{token}`, and the API routes that follow a report.

use reqwest::multipart::Form;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vulndesk_mail::openpgp::OrgKey;
use vulndesk_store::{Effects, NewEvent};

use crate::form::{file, file_report};
use crate::helpers::{TestApp, on_each_database, report, spawn_app};
use crate::html::{attr, decode, summary_targets, tag, text};

const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                           script-src 'self'; form-action 'self'; \
                           frame-ancestors 'none'; base-uri 'none'";

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Appends an event as another part of Vulndesk would (the team workspace, mail intake).
async fn append(app: &TestApp, id: i64, kind: &str, actor: &str, payload: Value) {
    let event = NewEvent {
        kind: kind.to_owned(),
        actor: actor.to_owned(),
        at: jiff::Timestamp::now(),
        payload,
    };
    app.store
        .append_events(
            id,
            app.store.head(id).await.unwrap(),
            vec![event],
            None,
            Effects::default(),
        )
        .await
        .expect("append an event");
}

#[tokio::test]
async fn the_portal_shows_the_case_its_promised_dates_and_the_conversation() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (id, token) = file_report(&app).await;
        let response = app.get(&format!("/r/{id}/{token}")).await;
        assert_eq!(response.status().as_u16(), 200, "on {}", db.label);
        let headers = response.headers().clone();
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["content-security-policy"], PAGE_POLICY);
        let html = response.text().await.unwrap();
        assert_eq!(text(&html, "case-state").unwrap(), "New");
        assert!(html.contains("<h1>chan_pjsip crashes on a re-INVITE without media</h1>"));

        // Every promised date with its derivation, as the API computes them.
        let view: Value = app
            .get_report(&id.to_string(), Some(&token))
            .await
            .json()
            .await
            .unwrap();
        let clocks = view["clocks"].as_array().unwrap();
        assert!(!clocks.is_empty());
        let page = decode(&html);
        for clock in clocks {
            let due = clock["due"].as_str().unwrap();
            assert!(page.contains(due), "due date {due} not shown");
            for step in clock["derivation"].as_array().unwrap() {
                let step = step.as_str().unwrap();
                assert!(page.contains(step), "derivation not shown: {step}");
            }
        }

        // The report, its answers in the policy's words and its files.
        let report = text(&html, "e-1").unwrap();
        for shown in [
            "Asterisk 20.9 segfaults.\n  Indented: NULL dereference.",
            "Type of issue",
            "NULL pointer dereference",
            "Proof-of-concept or exploit code (if possible)",
            "poc.py",
            "capture.pcap",
        ] {
            assert!(report.contains(shown), "{shown} not in {report}");
        }
        let poc = format!("/r/{id}/{token}/files/{}", sha256(b"print('poc')\n"));
        assert!(
            html.contains(&format!("href=\"{poc}\"")),
            "a link to the proof of concept"
        );
    })
    .await;
}

#[tokio::test]
async fn only_messages_for_the_reporter_are_shown() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (id, token) = file_report(&app).await;
        append(
            &app,
            id,
            "reporter_message",
            "alice",
            json!({"type": "reporter_message", "by_team_member": true, "body": "We can reproduce it."}),
        )
        .await;
        append(
            &app,
            id,
            "mail_received",
            "mail",
            json!({"type": "mail_received", "raw_sha256": "00", "message_id": "m@x",
                   "from": "vendor@example.org", "subject": "internal: vendor thread"}),
        )
        .await;
        append(
            &app,
            id,
            "info_requested",
            "alice",
            json!({"type": "info_requested", "message": "Which version of the module do you run?"}),
        )
        .await;
        let html = app.get(&format!("/r/{id}/{token}")).await.text().await.unwrap();
        assert!(html.contains("We can reproduce it."));
        assert!(html.contains("Which version of the module do you run?"), "a request for information is the reporter's");
        assert!(html.contains("More information needed"));
        assert!(html.contains("Security team"));
        assert!(!html.contains("internal: vendor thread"), "mail is not the reporter's");
        assert!(!html.contains("vendor@example.org"));
    })
    .await;
}

#[tokio::test]
async fn a_wrong_token_gets_a_404_without_hint() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (id, token) = file_report(&app).await;
        let (other, _) = app.create_report(&report("freepbx", "Another case")).await;
        let unknown = app.get("/no/such/page").await;
        assert_eq!(unknown.status().as_u16(), 404);
        let unknown_headers = unknown.headers().clone();
        let unknown = unknown.text().await.unwrap();
        let poc = sha256(b"print('poc')\n");
        let wrong = "0".repeat(64);
        let gets = [
            format!("/r/{id}/{wrong}"),
            format!("/r/{id}/{}", &token[..63]),
            format!("/r/{other}/{token}"),
            format!("/r/999999/{token}"),
            format!("/r/not-a-number/{token}"),
            format!("/r/{id}/{wrong}/files/{poc}"),
            format!("/r/{id}/{token}/files/{}", "f".repeat(64)),
            format!("/r/{id}/{token}/files/not-a-hash"),
            format!("/r/{other}/{token}/files/{poc}"),
        ];
        for path in &gets {
            let response = app.get(path).await;
            assert_eq!(response.status().as_u16(), 404, "{path} on {}", db.label);
            for header in ["content-type", "cache-control", "content-security-policy"] {
                assert_eq!(
                    response.headers().get(header),
                    unknown_headers.get(header),
                    "{header} of {path}"
                );
            }
            assert_eq!(response.text().await.unwrap(), unknown, "{path}");
        }
        let before = app.store.events(id).await.unwrap().len();
        let form = Form::new().text("body", "let me in");
        let response = app
            .post_form(&format!("/r/{id}/{wrong}/replies"), form)
            .await;
        assert_eq!(response.status().as_u16(), 404);
        assert_eq!(response.text().await.unwrap(), unknown);
        assert_eq!(app.store.events(id).await.unwrap().len(), before);
        assert!(!unknown.contains(&id.to_string()), "the page names no case");
    })
    .await;
}

#[tokio::test]
async fn a_reply_with_a_file_joins_the_conversation() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (id, token) = file_report(&app).await;
        let form = Form::new()
            .text("body", "Also affects 21.x.\r\nSee the log.")
            .part("attachments", file("asterisk.log", b"SEGV at 0x0\n"));
        let response = app
            .post_form(&format!("/r/{id}/{token}/replies"), form)
            .await;
        assert_eq!(response.status().as_u16(), 303, "on {}", db.label);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(location, format!("/r/{id}/{token}#e-4"));

        let events = app.store.events(id).await.unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds[3..],
            ["reporter_reply", "attachment_added"],
            "the reply, then its file"
        );
        let reply: Value = serde_json::from_str(&events[3].payload).unwrap();
        assert_eq!(reply["body"], "Also affects 21.x.\nSee the log.");
        assert_eq!(reply["channel"], "web");
        app.store.verify_chain(id).await.unwrap();
        let stored = app.store.projection(id).await.unwrap().unwrap();
        assert_eq!(stored.state, "new");

        let html = app
            .get(&format!("/r/{id}/{token}"))
            .await
            .text()
            .await
            .unwrap();
        let entry = text(&html, "e-4").expect("the reply is in the conversation");
        assert!(
            entry.contains("Also affects 21.x.\nSee the log."),
            "{entry}"
        );
        assert!(entry.contains("asterisk.log"), "{entry}");
        let href = format!("/r/{id}/{token}/files/{}", sha256(b"SEGV at 0x0\n"));
        assert!(html.contains(&format!("href=\"{href}\"")));
        let download = app.get(&href).await;
        assert_eq!(download.status().as_u16(), 200);
        assert_eq!(download.bytes().await.unwrap().as_ref(), b"SEGV at 0x0\n");
    })
    .await;
}

#[tokio::test]
async fn an_empty_reply_is_refused_next_to_its_field() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (id, token) = file_report(&app).await;
        let before = app.store.events(id).await.unwrap().len();
        let form = Form::new().text("body", " \r\n ");
        let response = app
            .post_form(&format!("/r/{id}/{token}/replies"), form)
            .await;
        assert_eq!(response.status().as_u16(), 422, "on {}", db.label);
        let html = response.text().await.unwrap();
        assert_eq!(summary_targets(&html), ["f-body"]);
        let body = tag(&html, "f-body").unwrap();
        assert_eq!(attr(body, "aria-invalid").as_deref(), Some("true"));
        assert!(
            text(&html, "f-body-error")
                .unwrap()
                .contains("write a reply or attach a file")
        );
        assert_eq!(app.store.events(id).await.unwrap().len(), before);
    })
    .await;
}

#[tokio::test]
async fn attachments_are_served_only_as_downloads() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (id, token) = file_report(&app).await;
        let evil = b"<html><script>alert(document.cookie)</script></html>";
        let form = Form::new().part(
            "attachments",
            file("r\u{e9}sum\u{e9} \"x\";.html", evil)
                .mime_str("text/html")
                .unwrap(),
        );
        let response = app
            .post_form(&format!("/r/{id}/{token}/replies"), form)
            .await;
        assert_eq!(response.status().as_u16(), 303, "on {}", db.label);
        let sha = sha256(evil);
        let portal = app.get(&format!("/r/{id}/{token}/files/{sha}")).await;
        let api = app
            .client
            .get(app.url(&format!("/api/v1/reports/{id}/files/{sha}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        for response in [portal, api] {
            assert_eq!(response.status().as_u16(), 200);
            let h = response.headers().clone();
            assert_eq!(h["content-type"], "application/octet-stream");
            assert_eq!(
                h["content-disposition"],
                "attachment; filename=\"r_sum_ _x_;.html\"; \
                 filename*=UTF-8''r%C3%A9sum%C3%A9%20%22x%22%3B.html"
            );
            assert_eq!(h["x-content-type-options"], "nosniff");
            assert_eq!(h["content-security-policy"], "sandbox");
            assert_eq!(response.bytes().await.unwrap().as_ref(), evil);
        }
        // Without the token the API answers 404, like for an unknown file.
        let response = app
            .client
            .get(app.url(&format!("/api/v1/reports/{id}/files/{sha}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404);
    })
    .await;
}

#[tokio::test]
async fn replies_through_the_api_are_appended_with_the_token() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (id, token) = app.create_report(&report("salestim", "Token reuse")).await;
        let url = app.url(&format!("/api/v1/reports/{id}/replies"));
        let response = app
            .client
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({"body": "A second detail."}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201, "on {}", db.label);
        let created: Value = response.json().await.unwrap();
        assert_eq!(created["id"], id);
        // After the report and its automatic receipt.
        assert_eq!(created["seq"], 3);
        let view: Value = app
            .get_report(&id.to_string(), Some(&token))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(view["events"][2]["kind"], "reporter_reply");

        let wrong = app
            .client
            .post(&url)
            .bearer_auth("0".repeat(64))
            .json(&json!({"body": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status().as_u16(), 404);
        let empty = app
            .client
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({"body": "  "}))
            .send()
            .await
            .unwrap();
        assert_eq!(empty.status().as_u16(), 422);
        let error: Value = empty.json().await.unwrap();
        assert_eq!(error["error"]["field"], "body");
        assert_eq!(
            app.store.events(id).await.unwrap().len(),
            3,
            "report, receipt, one reply"
        );
    })
    .await;
}

#[tokio::test]
async fn the_reporter_sets_the_openpgp_key_mail_to_them_is_encrypted_to() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (id, token) = file_report(&app).await;
        let key = OrgKey::generate(
            "Reporter <finder@example.org>",
            &secrecy::SecretString::from("unused"),
            jiff::Timestamp::now(),
        )
        .expect("a key");
        let fingerprint = key.public_key().fingerprint();
        let path = format!("/r/{id}/{token}/key");

        let before = app.store.events(id).await.unwrap().len();
        let garbage = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nnot a key\n";
        let response = app
            .post_form(&path, Form::new().text("public_key", garbage))
            .await;
        assert_eq!(response.status().as_u16(), 422, "on {}", db.label);
        let html = response.text().await.unwrap();
        assert_eq!(summary_targets(&html), ["f-public-key"]);
        assert_eq!(
            text(&html, "f-public-key").unwrap(),
            garbage,
            "the key is kept"
        );
        assert!(app.store.reporter_key(id).await.unwrap().is_none());
        assert_eq!(app.store.events(id).await.unwrap().len(), before);

        let form = Form::new().text("public_key", key.public_armored());
        let response = app.post_form(&path, form).await;
        assert_eq!(response.status().as_u16(), 303);
        assert_eq!(
            response.headers()["location"],
            format!("/r/{id}/{token}#key").as_str()
        );
        let stored = app
            .store
            .reporter_key(id)
            .await
            .unwrap()
            .expect("a stored key");
        assert_eq!(stored.fingerprint, fingerprint);
        let events = app.store.events(id).await.unwrap();
        let last: Value = serde_json::from_str(&events.last().unwrap().payload).unwrap();
        assert_eq!(
            last,
            json!({"type": "reporter_key_set", "fingerprint": fingerprint})
        );
        let html = app
            .get(&format!("/r/{id}/{token}"))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(text(&html, "key-fingerprint").unwrap(), fingerprint);
    })
    .await;
}

#[tokio::test]
async fn replacing_the_secret_link_locks_out_the_old_one() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (id, token) = file_report(&app).await;
        let page = app
            .get(&format!("/r/{id}/{token}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("Replace my secret link"));
        let no_redirects = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = no_redirects
            .post(app.url(&format!("/r/{id}/{token}/token")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303, "on {}", db.label);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let fresh = location
            .strip_prefix(&format!("/r/{id}/"))
            .and_then(|rest| rest.strip_suffix("#link"))
            .expect("the new link")
            .to_owned();
        assert_ne!(fresh, token);
        assert_eq!(
            app.get(&format!("/r/{id}/{token}")).await.status().as_u16(),
            404
        );
        assert_eq!(
            app.get(&format!("/r/{id}/{fresh}")).await.status().as_u16(),
            200
        );
        let kinds: Vec<String> = app
            .store
            .events(id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds.last().map(String::as_str),
            Some("reporter_token_replaced")
        );
    })
    .await;
}
