//! The report form, `/o/{org}/report`, as a browser without JavaScript uses it.

use reqwest::multipart::{Form, Part};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, on_each_database, run_init, spawn_app, temp_policy};
use crate::html::{attr, summary_targets, tag, tags, text};

/// The Sangoma form for Asterisk, as the tests fill it.
pub const ASTERISK_FORM: &str = "/o/sangoma/report?product=asterisk";

/// A file part as a browser sends it.
pub fn file(name: &str, bytes: &[u8]) -> Part {
    Part::bytes(bytes.to_vec())
        .file_name(name.to_owned())
        .mime_str("application/octet-stream")
        .unwrap()
}

/// A complete, valid Sangoma report, every field answered, two files attached.
pub fn complete_report() -> Form {
    Form::new()
        .text("title", "chan_pjsip crashes on a re-INVITE without media")
        .text(
            "description",
            "Asterisk 20.9 segfaults.\r\n  Indented: NULL dereference.",
        )
        .text("reporter_contact", "finder@example.org")
        .text("language", "en")
        .text("fields.issue_type", "NULL pointer dereference")
        .text("fields.special_configuration", "")
        .text("fields.steps", "1. Call.\r\n2. Re-INVITE with no m= lines.")
        .text("fields.impact", "Unauthenticated denial of service.")
        .part("fields.proof_of_concept", file("poc.py", b"print('poc')\n"))
        .part(
            "attachments",
            file("capture.pcap", &[0xd4, 0xc3, 0xb2, 0xa1]),
        )
        .text("website", "")
}

/// The `(id, token)` of the secret link on a success page.
pub fn secret_link(html: &str) -> (i64, String) {
    let link = tag(html, "portal-link").expect("a secret link on the page");
    let href = attr(link, "href").unwrap();
    let rest = href.strip_prefix("/r/").expect("a portal link");
    let (id, token) = rest.split_once('/').unwrap();
    (id.parse().unwrap(), token.to_owned())
}

/// Files a complete report through the form; returns `(id, token)`.
pub async fn file_report(app: &TestApp) -> (i64, String) {
    let response = app.post_form(ASTERISK_FORM, complete_report()).await;
    assert_eq!(response.status().as_u16(), 200, "on {}", app.db.label);
    secret_link(&response.text().await.unwrap())
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn the_form_asks_what_the_policy_asks_with_a_label_for_every_control() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let response = app.get(ASTERISK_FORM).await;
        assert_eq!(response.status().as_u16(), 200, "on {}", db.label);
        let html = response.text().await.unwrap();
        let form = tags(&html, "form")[0];
        assert_eq!(
            attr(form, "enctype").as_deref(),
            Some("multipart/form-data")
        );
        assert_eq!(attr(form, "method").as_deref(), Some("post"));
        // The product is fixed by the address: nothing to choose.
        assert!(tag(&html, "f-product").is_none());
        assert!(html.contains("<strong>Asterisk</strong>"));

        let labels: Vec<String> = tags(&html, "label")
            .iter()
            .filter_map(|l| attr(l, "for"))
            .collect();
        let controls: Vec<&str> = ["input", "textarea", "select"]
            .iter()
            .flat_map(|t| tags(&html, t))
            .collect();
        assert!(controls.len() >= 10, "{controls:?}");
        for control in &controls {
            let id = attr(control, "id").expect("every control has an id");
            assert!(labels.contains(&id), "no <label for={id}>");
            if let Some(described) = attr(control, "aria-describedby") {
                for part in described.split(' ') {
                    assert!(tag(&html, part).is_some(), "{id} describedby {part}");
                }
            }
        }
        for (id, label) in [
            ("f-title", "Title"),
            ("f-description", "Description"),
            ("f-reporter-contact", "Your e-mail address"),
            ("f-language", "Language"),
            ("f-fields-issue-type", "Type of issue"),
            ("f-fields-steps", "Step-by-step instructions to reproduce"),
            (
                "f-fields-proof-of-concept",
                "Proof-of-concept or exploit code",
            ),
            ("f-attachments", "Other files"),
        ] {
            let label_tag = tags(&html, "label")
                .into_iter()
                .find(|l| attr(l, "for").as_deref() == Some(id))
                .unwrap_or_else(|| panic!("no label for {id}"));
            let at = html.find(label_tag).unwrap() + label_tag.len();
            let shown = &html[at..at + html[at..].find('<').unwrap()];
            assert!(shown.trim().starts_with(label), "{id}: {shown:?}");
        }
        assert_eq!(
            attr(tag(&html, "f-fields-proof-of-concept").unwrap(), "type").as_deref(),
            Some("file")
        );
        assert!(attr(tag(&html, "f-attachments").unwrap(), "multiple").is_some());
        // Sangoma (seed 000) asks for these "as much as you can": optional, and the
        // encouragement is the field's hint.
        let issue_type = tag(&html, "f-fields-issue-type").unwrap();
        assert_eq!(attr(issue_type, "aria-required"), None);
        assert!(
            text(&html, "f-fields-issue-type-hint")
                .unwrap()
                .contains("Please include as much of this as you can"),
            "{html}"
        );
        let languages: Vec<String> = tags(&html, "option")
            .iter()
            .filter_map(|o| attr(o, "value"))
            .collect();
        assert_eq!(languages, ["", "en"]);
        // The honeypot: a real-looking field no person meets.
        let honeypot = tag(&html, "f-website").unwrap();
        assert_eq!(attr(honeypot, "tabindex").as_deref(), Some("-1"));
        assert_eq!(attr(honeypot, "autocomplete").as_deref(), Some("off"));
        assert!(html.contains(r#"<div class="hp" aria-hidden="true">"#));
        assert!(!html.contains("<script"), "pages work without JavaScript");
        assert!(!html.contains(" style="), "no inline styles under the CSP");

        // Without a product in the address, the organisation's products are offered.
        let html = app.get("/o/sangoma/report").await.text().await.unwrap();
        let select = tag(&html, "f-product").expect("a product select");
        assert_eq!(attr(select, "name").as_deref(), Some("product"));
        for product in ["asterisk", "switchvox"] {
            assert!(
                html.contains(&format!("<option value=\"{product}\">")),
                "{product}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn form_keeps_typed_values_on_error() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let before = app.count_cases().await;
        let form = Form::new()
            .text("title", "   ")
            .text("description", "Line one\r\n<b>not bold</b> & \"quoted\"")
            .text("reporter_contact", "not an address")
            .text("language", "en")
            .text("fields.issue_type", "Heap overflow")
            .text("fields.special_configuration", "chan_pjsip only")
            .text("fields.impact", "Remote code execution")
            .part("attachments", file("log.txt", b"log"));
        let response = app.post_form(ASTERISK_FORM, form).await;
        assert_eq!(response.status().as_u16(), 422, "on {}", db.label);
        let html = response.text().await.unwrap();
        assert!(html.contains("<title>Error: "), "the title says it failed");

        // Every value typed is there again, exactly.
        let value = |id: &str| attr(tag(&html, id).unwrap(), "value").unwrap();
        assert_eq!(value("f-reporter-contact"), "not an address");
        assert_eq!(value("f-fields-issue-type"), "Heap overflow");
        assert_eq!(
            text(&html, "f-description").unwrap(),
            "Line one\n<b>not bold</b> & \"quoted\""
        );
        assert_eq!(
            text(&html, "f-fields-special-configuration").unwrap(),
            "chan_pjsip only"
        );
        assert_eq!(
            text(&html, "f-fields-impact").unwrap(),
            "Remote code execution"
        );
        assert!(html.contains(r#"<option value="en" selected>"#));
        assert!(
            html.contains("please choose them again"),
            "files must be chosen again"
        );

        // Each error next to its field, tied to it, and in the summary linking to it.
        let invalid = ["f-title", "f-reporter-contact"];
        assert_eq!(summary_targets(&html), invalid);
        for id in invalid {
            let control = tag(&html, id).unwrap();
            assert_eq!(
                attr(control, "aria-invalid").as_deref(),
                Some("true"),
                "{id}"
            );
            let described = attr(control, "aria-describedby").unwrap();
            let error_id = format!("{id}-error");
            assert!(
                described.split(' ').any(|d| d == error_id),
                "{id}: {described}"
            );
            assert!(!text(&html, &error_id).unwrap().trim().is_empty());
        }
        for id in [
            "f-description",
            "f-fields-issue-type",
            "f-fields-steps",
            "f-fields-impact",
        ] {
            assert_eq!(attr(tag(&html, id).unwrap(), "aria-invalid"), None, "{id}");
        }
        assert_eq!(
            app.count_cases().await,
            before,
            "a refused form opened a case"
        );
    })
    .await;
}

#[tokio::test]
async fn a_submitted_form_opens_a_case_with_its_fields_language_and_files() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let response = app.post_form(ASTERISK_FORM, complete_report()).await;
        assert_eq!(response.status().as_u16(), 200, "on {}", db.label);
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
        let html = response.text().await.unwrap();
        let (id, token) = secret_link(&html);
        assert_eq!(text(&html, "token").unwrap(), token);
        assert!(html.contains("only time"), "the page says to keep the link");

        let events = app.store.events(id).await.unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["reported", "attachment_added", "attachment_added"]);
        assert!(events.iter().all(|e| e.actor == "reporter"));
        let reported: Value = serde_json::from_str(&events[0].payload).unwrap();
        let poc = b"print('poc')\n";
        assert_eq!(reported["channel"], "web");
        assert_eq!(reported["product"], "asterisk");
        assert_eq!(reported["language"], "en");
        assert_eq!(reported["reporter_contact"], "mailto:finder@example.org");
        assert_eq!(
            reported["description"],
            "Asterisk 20.9 segfaults.\n  Indented: NULL dereference."
        );
        assert_eq!(
            reported["fields"],
            serde_json::json!({
                "issue_type": "NULL pointer dereference",
                "steps": "1. Call.\n2. Re-INVITE with no m= lines.",
                "impact": "Unauthenticated denial of service.",
                "proof_of_concept": sha256(poc),
            })
        );
        let added: Value = serde_json::from_str(&events[1].payload).unwrap();
        assert_eq!(added["sha256"], sha256(poc));
        assert_eq!(added["filename"], "poc.py");
        assert_eq!(added["size"], poc.len());
        assert_eq!(added["added_by"], "reporter");

        let stored = app.store.attachments(id).await.unwrap();
        assert_eq!(stored.len(), 2);
        let (_, bytes) = app
            .store
            .attachment(id, &sha256(poc))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(bytes, poc);
        // The token from the page is the case's: the API opens it too.
        let view = app.get_report(&id.to_string(), Some(&token)).await;
        assert_eq!(view.status().as_u16(), 200);
    })
    .await;
}

#[tokio::test]
async fn the_honeypot_answers_like_a_success_but_stores_nothing() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let before = app.count_cases().await;
        let bot = complete_report().text("website", "https://spam.example");
        let response = app.post_form(ASTERISK_FORM, bot).await;
        assert_eq!(response.status().as_u16(), 200, "on {}", db.label);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let decoy = response.text().await.unwrap();
        let (id, token) = secret_link(&decoy);
        assert_eq!(
            app.count_cases().await,
            before,
            "the honeypot stored a case"
        );
        assert!(app.store.case(id).await.unwrap().is_none());

        // A person's success page has the same shape.
        let real = app.post_form(ASTERISK_FORM, complete_report()).await;
        let real = real.text().await.unwrap();
        let (real_id, real_token) = secret_link(&real);
        assert_eq!(real_id, id, "the decoy number looks like the next real one");
        assert_eq!(
            decoy.replace(&token, "TOKEN"),
            real.replace(&real_token, "TOKEN")
        );
        let portal = app.get(&format!("/r/{id}/{token}")).await;
        assert_eq!(
            portal.status().as_u16(),
            404,
            "the decoy link opens nothing"
        );
    })
    .await;
}

#[tokio::test]
async fn an_unknown_organisation_or_product_gets_the_plain_404_page() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let unknown = app.get("/nowhere").await.text().await.unwrap();
        for path in [
            "/o/nobody/report",
            "/o/sangoma/report?product=nothing",
            "/o/sangoma/report?product=freepbx",
        ] {
            let response = app.get(path).await;
            assert_eq!(response.status().as_u16(), 404, "{path} on {}", db.label);
            assert_eq!(response.text().await.unwrap(), unknown, "{path}");
        }
    })
    .await;
}

/// A policy with tiny attachment limits, loaded next to the demo's.
const TINY_FILES: &str = r#"
format = 1

[organisation]
slug = "tiny"
name = "Tiny Files Ltd"
contact = ["mailto:security@tiny.example"]

[calendar]
timezone = "UTC"

[[product]]
slug = "widget"
name = "Widget"

[intake]
max_attachment_bytes = 1024
max_attachments = 1
"#;

#[tokio::test]
async fn files_over_the_policy_limits_are_refused_stating_the_limit() {
    on_each_database(|db| async move {
        let policy = temp_policy("tiny.toml", TINY_FILES);
        let (code, _, stderr) = run_init(&db, &[&policy]).await;
        assert_eq!(code, 0, "{stderr}");
        let app = spawn_app(&db).await;
        let before = app.count_cases().await;
        let report = || {
            Form::new()
                .text("title", "Widget overflow")
                .text("description", "Send 2 KiB.")
        };

        let response = app
            .post_form(
                "/o/tiny/report",
                report()
                    .text("product", "widget")
                    .part("attachments", file("big.bin", &[7; 1025])),
            )
            .await;
        assert_eq!(response.status().as_u16(), 413, "on {}", db.label);
        let html = response.text().await.unwrap();
        let error = text(&html, "f-attachments-error").unwrap();
        assert!(
            error.contains("big.bin") && error.contains("1024 bytes"),
            "{error}"
        );
        assert_eq!(summary_targets(&html), ["f-attachments"]);
        assert_eq!(
            attr(tag(&html, "f-title").unwrap(), "value").as_deref(),
            Some("Widget overflow")
        );
        assert!(html.contains("<option value=\"widget\" selected>"));

        let two = report()
            .text("product", "widget")
            .part("attachments", file("a.txt", b"a"))
            .part("attachments", file("b.txt", b"b"));
        let response = app.post_form("/o/tiny/report", two).await;
        assert_eq!(response.status().as_u16(), 413);
        let html = response.text().await.unwrap();
        let error = text(&html, "f-attachments-error").unwrap();
        assert!(error.contains("At most 1 file may"), "{error}");

        // A body over the whole form's limit is refused before it is read.
        let huge = report().part(
            "attachments",
            file("huge.bin", &vec![0; 1024 + 1024 * 1024]),
        );
        let response = app.post_form("/o/tiny/report", huge).await;
        assert_eq!(response.status().as_u16(), 413);
        let html = response.text().await.unwrap();
        assert!(
            html.contains("1049600 bytes"),
            "the page states the limit: {html}"
        );
        assert_eq!(
            app.count_cases().await,
            before,
            "a refused form opened a case"
        );

        let ok = report()
            .text("product", "widget")
            .part("attachments", file("ok.bin", &[1; 1024]));
        let response = app.post_form("/o/tiny/report", ok).await;
        assert_eq!(
            response.status().as_u16(),
            200,
            "a file at the limit is fine"
        );
        assert_eq!(app.count_cases().await, before + 1);
    })
    .await;
}
