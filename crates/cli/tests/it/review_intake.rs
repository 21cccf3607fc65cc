//! Intake robustness (outside review): text from outside is normalised where it enters, one
//! bad message never blocks the next, mail is de-duplicated per organisation, threading
//! headers are bounded, and a report through a channel the policy does not offer is kept
//! and marked, or refused by the form and API with the channels that are offered.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::form::{ASTERISK_FORM, complete_report, secret_link};
use crate::helpers::{on_each_database, report as api_report, run_init, spawn_app, temp_policy};
use crate::mail_support::{Desk, ORG, Via, message, report};
use crate::team_support::{add_member, session_for};

/// The payload of the first event of `kind` of a case.
async fn first(app: &crate::helpers::TestApp, case: i64, kind: &str) -> Value {
    let row = app
        .store
        .events(case)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.kind == kind)
        .unwrap_or_else(|| panic!("case {case} has no {kind} event"));
    serde_json::from_str(&row.payload).unwrap()
}

#[tokio::test]
async fn nul_and_controls_from_api_form_reply_note_and_search_are_removed_not_an_outage() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        // JSON API.
        let mut body = api_report("kamailio", "a\u{0}b\u{1b}c\u{fffe}");
        body["description"] = json!("line\u{0}one\r\n\tindented");
        let response = app.post_report(&body).await;
        assert_eq!(response.status().as_u16(), 201, "API on {}", db.label);
        let created: Value = response.json().await.unwrap();
        let api_case = created["id"].as_i64().unwrap();
        let reported = first(&app, api_case, "reported").await;
        assert_eq!(reported["title"], "abc");
        assert_eq!(reported["description"], "lineone\r\n\tindented");

        // The report form, and a file name with a bidirectional override.
        let form = complete_report().text("title", "form\u{0}title").part(
            "attachments",
            Part::bytes(b"x".to_vec())
                .file_name("\u{e4}\u{202e}txt.exe")
                .mime_str("application/octet-stream")
                .unwrap(),
        );
        let response = app.post_form(ASTERISK_FORM, form).await;
        assert_eq!(response.status().as_u16(), 200, "form on {}", db.label);
        let (form_case, token) = secret_link(&response.text().await.unwrap());
        assert_eq!(
            first(&app, form_case, "reported").await["title"],
            "formtitle"
        );
        let names: Vec<String> = app
            .store
            .attachments(form_case)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.filename)
            .collect();
        assert!(names.contains(&"\u{e4}txt.exe".to_owned()), "{names:?}");

        // A reporter's reply through the portal.
        let reply = Form::new().text("body", "re\u{0}ply");
        let response = app
            .post_form(&format!("/r/{form_case}/{token}/replies"), reply)
            .await;
        assert!(response.status().as_u16() < 400, "reply on {}", db.label);
        assert_eq!(
            first(&app, form_case, "reporter_reply").await["body"],
            "reply"
        );

        // A team note, and a search with a NUL in it.
        let user = add_member(&app, "olivia@example.org", false, &[("kamailio", "member")]).await;
        let session = session_for(&app, user).await;
        let note = session
            .on(app
                .client
                .post(app.url(&format!("/api/v1/cases/{api_case}/notes"))))
            .json(&json!({"body": "no\u{0}te"}))
            .send()
            .await
            .unwrap();
        assert_eq!(note.status().as_u16(), 201, "note on {}", db.label);
        let search = session
            .on(app.client.get(app.url("/api/v1/cases?q=a%00bc")))
            .send()
            .await
            .unwrap();
        assert_eq!(search.status().as_u16(), 200, "search on {}", db.label);
        let page = session
            .on(app.client.get(app.url("/dashboard?q=x%00y")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            page.status().as_u16(),
            200,
            "dashboard search on {}",
            db.label
        );
    })
    .await;
}

#[tokio::test]
async fn a_nul_in_a_mail_body_and_headers_is_stored_without_it_and_the_pipe_exits_0() {
    on_each_database(|db| async move {
        let desk = Desk::new(&db, Via::Pipe).await;
        let raw = message(
            "nul-1@example.org",
            "security@sangoma.com",
            "Subject: crash\u{0} here\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n\r\nbody\u{0} with NUL\r\n",
        );
        let run = desk.deliver(&raw).await;
        assert_eq!(run.code, 0, "{run:?}");
        let case = desk.case_of("nul-1@example.org").await;
        let reported = desk.last(case, "reported").await;
        assert_eq!(reported["title"], "crash here");
        assert_eq!(reported["description"], "body with NUL\r\n");
        assert_eq!(desk.raw(&raw).await, raw, "the exact bytes are kept");
        desk.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_bad_message_in_the_middle_of_an_imap_pass_does_not_hold_up_the_rest() {
    on_each_database(|db| async move {
        let desk = Desk::new(&db, Via::Imap).await;
        let dovecot = desk.dovecot.as_ref().unwrap();
        dovecot.deliver(&report("imap-1@example.org", "First", "One.\r\n"));
        dovecot.deliver(&message(
            "imap-2@example.org",
            "security@sangoma.com",
            "Subject: \u{0}\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n\r\n\u{0}\u{0}\r\n",
        ));
        dovecot.deliver(&report("imap-3@example.org", "Third", "Three.\r\n"));
        let run = desk.poll_once(&dovecot.poll_config(None)).await;
        assert_eq!(run.code, 0, "{run:?}");
        for id in [
            "imap-1@example.org",
            "imap-2@example.org",
            "imap-3@example.org",
        ] {
            desk.case_of(id).await;
        }
        desk.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_same_message_to_two_organisations_is_a_report_to_each() {
    on_each_database(|db| async move {
        let desk = Desk::new(&db, Via::Pipe).await;
        let raw = report("both-1@example.org", "Cross-posted", "Affects both.\r\n");
        let ingest = |org: &'static str| {
            let url = desk.db.url.clone();
            let raw = raw.clone();
            let desk = &desk;
            async move {
                desk.run(&["mail", "ingest", "--db", &url, "--org", org], &raw)
                    .await
            }
        };
        let first = ingest(ORG).await;
        assert_eq!(first.code, 0, "{first:?}");
        let freepbx_case = desk
            .store
            .case_for_message_ids(desk.org_id(ORG).await, &["both-1@example.org".to_owned()])
            .await
            .unwrap()
            .unwrap();
        let second = ingest("sangoma").await;
        assert_eq!(second.code, 0, "{second:?}");
        let sangoma_case = desk
            .store
            .case_for_message_ids(
                desk.org_id("sangoma").await,
                &["both-1@example.org".to_owned()],
            )
            .await
            .unwrap()
            .expect("sangoma's own case");
        assert_ne!(sangoma_case, freepbx_case);
        assert_eq!(second.stdout.trim(), format!("case {sangoma_case} opened"));
        // Redelivery to each organisation names only that organisation's case.
        let again = ingest("sangoma").await;
        assert_eq!(
            again.stdout.trim(),
            format!("already ingested (case {sangoma_case})")
        );
        desk.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_references_header_of_100000_ids_costs_a_bounded_look_up() {
    on_each_database(|db| async move {
        let desk = Desk::new(&db, Via::Pipe).await;
        desk.deliver_ok(&report("parent-1@example.org", "Parent", "Report.\r\n"))
            .await;
        let parent = desk.case_of("parent-1@example.org").await;
        let mut references: Vec<String> = (0..100_000)
            .map(|n| format!("<old-{n}@example.org>"))
            .collect();
        references.push("<parent-1@example.org>".to_owned());
        let raw = message(
            "child-1@example.org",
            "security@sangoma.com",
            &format!(
                "Subject: Re: Parent\r\nReferences: {}\r\n",
                references.join("\r\n ")
            ),
            "Content-Type: text/plain; charset=utf-8\r\n\r\nMore.\r\n",
        );
        // The work is bounded by what is kept and looked up (the nearest ids), counted
        // below; no clock is read, as timings on a shared machine prove nothing.
        let run = desk.deliver_ok(&raw).await;
        assert_eq!(run.stdout.trim(), format!("joined case {parent}"));
        let threads: i64 = match &desk.store {
            vulndesk_store::Store::Sqlite(vulndesk_store::SqliteStore { pool: p, .. }) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM mail_threads")
                    .fetch_one(p)
                    .await
                    .unwrap()
            }
            vulndesk_store::Store::Postgres(p) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM mail_threads")
                    .fetch_one(p)
                    .await
                    .unwrap()
            }
        };
        assert!(threads < 40, "{threads} thread rows on {}", db.label);
        desk.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_long_subject_is_capped_in_the_case_and_kept_whole_in_the_raw_message() {
    on_each_database(|db| async move {
        let desk = Desk::new(&db, Via::Pipe).await;
        let subject = "x".repeat(5_000);
        let raw = report("long-1@example.org", &subject, "Body.\r\n");
        desk.deliver_ok(&raw).await;
        let case = desk.case_of("long-1@example.org").await;
        let title = desk.last(case, "reported").await["title"]
            .as_str()
            .unwrap()
            .to_owned();
        let stored = desk.last(case, "mail_received").await["subject"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(title.chars().count(), 300);
        assert_eq!(stored.chars().count(), 300);
        assert_eq!(desk.raw(&raw).await, raw);
        desk.close().await;
    })
    .await;
}

#[tokio::test]
async fn mail_to_an_organisation_without_mail_intake_is_kept_and_marked() {
    on_each_database(|db| async move {
        let desk = Desk::new(&db, Via::Pipe).await;
        let url = desk.db.url.clone();
        let run = desk
            .run(
                &[
                    "mail",
                    "ingest",
                    "--db",
                    &url,
                    "--org",
                    "sangoma",
                    "--product",
                    "asterisk",
                ],
                &report("wrong-way-1@example.org", "Crash", "Details.\r\n"),
            )
            .await;
        assert_eq!(run.code, 0, "{run:?}");
        let case = desk.case_of("wrong-way-1@example.org").await;
        let warning = desk.last(case, "mail_received").await["warning"].clone();
        assert_eq!(
            warning,
            "arrived through a channel the policy does not list (email); the policy lists: \
             web, api, github-private"
        );
        desk.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_form_and_api_refuse_channels_the_policy_does_not_offer() {
    on_each_database(|db| async move {
        let path = temp_policy("mail-only.toml", MAIL_ONLY);
        let (code, _, stderr) = run_init(&db, &[path.as_path()]).await;
        assert_eq!(code, 0, "{stderr}");
        let app = spawn_app(&db).await;
        let before = app.count_cases().await;
        let response = app.post_report(&api_report("gadget", "Crash")).await;
        assert_eq!(response.status().as_u16(), 403, "on {}", db.label);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "channel_not_offered");
        assert_eq!(
            body["error"]["message"],
            "Mail Only Ltd does not take reports through the API; its policy lists: \
             email:security@mail-only.example"
        );
        let form = Form::new()
            .text("title", "Crash")
            .text("description", "Details.");
        let response = app
            .post_form("/o/mail-only/report?product=gadget", form)
            .await;
        assert!(
            [403, 422].contains(&response.status().as_u16()),
            "form on {}",
            db.label
        );
        let html = response.text().await.unwrap();
        assert!(
            html.contains("does not take reports through the report form"),
            "{html}"
        );
        assert_eq!(app.count_cases().await, before);
        // Nobody is shown a form that would refuse what they type into it, and the front
        // page says where this organisation takes reports instead.
        let response = app.get("/o/mail-only/report").await;
        assert_eq!(response.status().as_u16(), 403, "GET form on {}", db.label);
        let html = response.text().await.unwrap();
        assert!(
            html.contains("its policy lists: email:security@mail-only.example"),
            "{html}"
        );
        let front = app.get("/").await.text().await.unwrap();
        assert!(
            front.contains(
                "Mail Only Ltd takes reports through e-mail to security@mail-only.example"
            ),
            "{front}"
        );
        assert!(!front.contains("/o/mail-only/report"), "{front}");
    })
    .await;
}

const MAIL_ONLY: &str = r#"
format = 1

[organisation]
slug = "mail-only"
name = "Mail Only Ltd"
contact = ["mailto:security@mail-only.example"]

[calendar]
timezone = "UTC"

[[product]]
slug = "gadget"
name = "Gadget"

[intake]
channels = ["email:security@mail-only.example"]
"#;
