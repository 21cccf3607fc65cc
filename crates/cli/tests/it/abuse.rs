//! Limits that keep one client from flooding the desk: submissions per address, media types,
//! body sizes. Every refusal leaves the database as it was.

use reqwest::multipart::Form;
use serde_json::{Value, json};

use crate::form::{ASTERISK_FORM, complete_report, file, file_report};
use crate::helpers::{
    BIN, RATE_LIMIT_ENV, TestApp, on_each_database, report, spawn_app, spawn_app_with,
};
use crate::html::text;

/// Cases and events of case `id`: what a refused request must not change.
async fn footprint(app: &TestApp, id: i64) -> (i64, usize) {
    (
        app.count_cases().await,
        app.store.events(id).await.unwrap().len(),
    )
}

#[tokio::test]
async fn submissions_over_the_rate_limit_get_429_with_retry_after() {
    on_each_database(|db| async move {
        // No setting: the default of 10 submissions per minute per address.
        let app = spawn_app_with(&db, &[]).await;
        let before = app.count_cases().await;
        let mut answers = Vec::new();
        for i in 0..11 {
            let response = app.post_report(&report("kamailio", &format!("r{i}"))).await;
            answers.push(response.status().as_u16());
            if i == 10 {
                assert_eq!(response.status().as_u16(), 429, "on {}", db.label);
                let wait: u64 = response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&wait), "Retry-After {wait}");
                let error: Value = response.json().await.unwrap();
                assert_eq!(error["error"]["code"], "too_many_requests");
                assert_eq!(error["error"]["retry_after"], wait);
                let message = error["error"]["message"].as_str().unwrap();
                assert!(message.contains("at most 10 per minute"), "{message}");
            }
        }
        assert_eq!(answers[..10], [201; 10]);
        assert_eq!(app.count_cases().await, before + 10);

        // The form and the portal share the address's budget, and answer with a page.
        let response = app.post_form(ASTERISK_FORM, complete_report()).await;
        assert_eq!(response.status().as_u16(), 429);
        assert!(response.headers().contains_key("retry-after"));
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let page = response.text().await.unwrap();
        assert!(page.contains("at most 10 per minute"), "{page}");
        // Reading is never limited.
        assert_eq!(app.get(ASTERISK_FORM).await.status().as_u16(), 200);
        assert_eq!(
            app.count_cases().await,
            before + 10,
            "a refused form opened a case"
        );
    })
    .await;
}

#[tokio::test]
async fn the_rate_limit_is_set_by_environment_and_checked_at_start() {
    on_each_database(|db| async move {
        let app = spawn_app_with(&db, &[(RATE_LIMIT_ENV, "2/min")]).await;
        let statuses = [
            app.post_report(&report("salestim", "a"))
                .await
                .status()
                .as_u16(),
            app.post_report(&report("salestim", "b"))
                .await
                .status()
                .as_u16(),
            app.post_report(&report("salestim", "c"))
                .await
                .status()
                .as_u16(),
        ];
        assert_eq!(statuses, [201, 201, 429], "on {}", db.label);

        let output = tokio::process::Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--db", &db.url])
            .env(RATE_LIMIT_ENV, "lots")
            .env_remove("VULNDESK_DB")
            .kill_on_drop(true)
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(3));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("VULNDESK_RATE_LIMIT=\"lots\""), "{stderr}");
    })
    .await;
}

#[tokio::test]
async fn wrong_media_types_get_415_and_change_nothing() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (id, token) = file_report(&app).await;
        let before = footprint(&app, id).await;
        let urlencoded = app
            .client
            .post(app.url(ASTERISK_FORM))
            .form(&[("title", "t"), ("description", "d")])
            .send()
            .await
            .unwrap();
        assert_eq!(urlencoded.status().as_u16(), 415, "on {}", db.label);
        let page = urlencoded.text().await.unwrap();
        assert!(page.contains("multipart/form-data"), "{page}");
        let json_reply = app
            .client
            .post(app.url(&format!("/r/{id}/{token}/replies")))
            .json(&json!({"body": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(json_reply.status().as_u16(), 415);
        let api_reply = app
            .client
            .post(app.url(&format!("/api/v1/reports/{id}/replies")))
            .bearer_auth(&token)
            .header("content-type", "text/plain")
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(api_reply.status().as_u16(), 415);
        let error: Value = api_reply.json().await.unwrap();
        assert_eq!(error["error"]["code"], "unsupported_media_type");
        assert_eq!(footprint(&app, id).await, before);
    })
    .await;
}

#[tokio::test]
async fn oversized_submissions_get_413_stating_the_limit_and_change_nothing() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (id, token) = file_report(&app).await;
        let before = footprint(&app, id).await;

        // The form's text is capped, whatever the files may add.
        let chatty =
            complete_report().text("fields.special_configuration", "x".repeat(1024 * 1024));
        let response = app.post_form(ASTERISK_FORM, chatty).await;
        assert_eq!(response.status().as_u16(), 413, "on {}", db.label);
        let page = response.text().await.unwrap();
        assert!(page.contains("1048576 bytes (1 MiB)"), "{page}");

        // A file over the policy's 10 MiB, sent with a reply: the reply form says so.
        let big = Form::new().text("body", "the full capture").part(
            "attachments",
            file("full.pcap", &vec![0; 10 * 1024 * 1024 + 1]),
        );
        let response = app
            .post_form(&format!("/r/{id}/{token}/replies"), big)
            .await;
        assert_eq!(response.status().as_u16(), 413);
        let html = response.text().await.unwrap();
        let error = text(&html, "f-attachments-error").unwrap();
        assert!(error.contains("10485760 bytes (10 MiB)"), "{error}");
        assert_eq!(
            text(&html, "f-body").unwrap(),
            "the full capture",
            "the reply is kept"
        );

        let response = app
            .client
            .post(app.url(&format!("/api/v1/reports/{id}/replies")))
            .bearer_auth(&token)
            .json(&json!({"body": "x".repeat(300 * 1024)}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 413);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["limit"], 262144);
        assert_eq!(footprint(&app, id).await, before);
    })
    .await;
}
