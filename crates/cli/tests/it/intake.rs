use jiff::Timestamp;
use serde_json::{Value, json};
use vulndesk_core::clocks::{ClockKind, Facts, clocks};
use vulndesk_core::policy::Policy;

use crate::helpers::{
    TestApp, on_each_database, reference_policy, report, run_init, spawn_app, temp_policy,
};

#[tokio::test]
async fn a_report_is_created_and_readable_with_its_token() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let response = app
            .post_report(&report("freepbx", "SQL injection in the CDR filter"))
            .await;
        assert_eq!(response.status().as_u16(), 201, "on {}", db.label);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let created: Value = response.json().await.unwrap();
        let id = created["id"].as_i64().unwrap();
        let token = created["token"].as_str().unwrap();
        assert!(
            token.len() >= 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
            "{token}"
        );
        assert_eq!(location, format!("/api/v1/reports/{id}"));
        assert_eq!(created["reporter_url"], location.as_str());

        let response = app.get_report(&id.to_string(), Some(token)).await;
        assert_eq!(response.status().as_u16(), 200);
        let view: Value = response.json().await.unwrap();
        assert_eq!(view["id"], id);
        assert_eq!(view["organisation"], "freepbx");
        assert_eq!(view["product"], "freepbx");
        assert_eq!(view["title"], "SQL injection in the CDR filter");
        assert_eq!(view["state"], "new");
        assert_eq!(view["policy_version"], 1);
        // The reporter left an e-mail address and FreePBX's policy has a receipt text.
        assert_eq!(view["events"].as_array().unwrap().len(), 2, "{view}");
        assert_eq!(view["events"][0]["seq"], 1);
        assert_eq!(view["events"][0]["kind"], "reported");
        assert_eq!(view["events"][1]["kind"], "receipt_sent");

        let reported_at: Timestamp = view["reported_at"].as_str().unwrap().parse().unwrap();
        let age = Timestamp::now().duration_since(reported_at);
        assert!(
            age.as_secs() < 60,
            "reported_at {reported_at} is not today's report"
        );
        let policy = Policy::parse("freepbx.toml", &reference_policy("freepbx")).unwrap();
        let today = policy.calendar().local_date(reported_at);
        let expected = clocks(&policy, &Facts::reported_on(today));
        let acknowledge = expected.get(ClockKind::Acknowledge).unwrap().due;
        let shown = view["clocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == "acknowledge")
            .unwrap_or_else(|| panic!("no acknowledge clock in {view}"));
        assert_eq!(shown["due"], acknowledge.to_string());

        // The projection was written with the case: its next due date is the earliest one.
        let projection = app.store.projection(id).await.unwrap().unwrap();
        let next = expected.next_due().unwrap();
        assert_eq!(projection.state, "new");
        assert_eq!(projection.next_due, Some(next.due));
        assert_eq!(
            projection.next_due_kind.as_deref(),
            Some(next.kind.as_str())
        );
    })
    .await;
}

#[tokio::test]
async fn a_wrong_token_gets_the_same_404_as_an_unknown_case() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (id, token) = app
            .create_report(&report("kamailio", "Via parser overflow"))
            .await;
        let id = id.to_string();
        let wrong = "0".repeat(64);
        let attempts = [
            (id.as_str(), Some(wrong.as_str())),
            (id.as_str(), None),
            ("999999", Some(token.as_str())),
            ("not-a-number", Some(token.as_str())),
        ];
        let mut bodies = Vec::new();
        for (case, token) in attempts {
            let response = app.get_report(case, token).await;
            assert_eq!(
                response.status().as_u16(),
                404,
                "case {case} on {}",
                db.label
            );
            bodies.push(response.text().await.unwrap());
        }
        assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:?}");
        let right = app.get_report(&id, Some(&token)).await;
        assert_eq!(right.status().as_u16(), 200);
    })
    .await;
}

/// What a rejected request must answer: status, error code, and the field named (if any).
type Rejection = (u16, &'static str, Option<&'static str>);

/// Sends `body` with `content_type`, checks the error answer, and that no case was opened.
async fn assert_rejected(
    app: &TestApp,
    content_type: &str,
    body: impl Into<reqwest::Body>,
    (status, code, field): Rejection,
) -> Value {
    let before = app.count_cases().await;
    let response = app
        .client
        .post(app.url("/api/v1/reports"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), status, "on {}", app.db.label);
    let body: Value = response.json().await.expect("a JSON error body");
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(error.get("field").and_then(Value::as_str), field, "{body}");
    assert_eq!(
        app.count_cases().await,
        before,
        "a rejected report opened a case"
    );
    body
}

const JSON: &str = "application/json";

#[tokio::test]
async fn malformed_json_is_rejected_with_its_line_and_column() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let body =
            "{\n  \"product\": \"freepbx\",\n  \"title\": \"t\"\n  \"description\": \"d\"\n}";
        let answer = assert_rejected(&app, JSON, body, (400, "malformed_json", None)).await;
        assert_eq!(answer["error"]["line"], 4, "{answer}");
        assert_eq!(answer["error"]["column"], 3, "{answer}");
    })
    .await;
}

#[tokio::test]
async fn a_missing_field_is_rejected_naming_it() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let body = json!({ "product": "freepbx", "title": "t" }).to_string();
        assert_rejected(
            &app,
            JSON,
            body,
            (422, "missing_field", Some("description")),
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn an_unknown_field_is_rejected_naming_it() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let mut body = report("freepbx", "t");
        body["severity"] = json!("critical");
        assert_rejected(
            &app,
            JSON,
            body.to_string(),
            (422, "unknown_field", Some("severity")),
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn empty_or_overlong_fields_are_rejected_naming_the_field() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let cases = [
            ("title", json!("  ")),
            ("title", json!("x".repeat(301))),
            ("description", json!("")),
            ("description", json!("x".repeat(64 * 1024 + 1))),
            ("title", json!(42)),
        ];
        for (field, value) in cases {
            let mut body = report("freepbx", "t");
            body[field] = value;
            assert_rejected(
                &app,
                JSON,
                body.to_string(),
                (422, "invalid_field", Some(field)),
            )
            .await;
        }
        // The limits themselves are accepted.
        let mut body = report("freepbx", &"é".repeat(300));
        body["description"] = json!("x".repeat(64 * 1024));
        app.create_report(&body).await;
    })
    .await;
}

#[tokio::test]
async fn an_unknown_product_is_rejected_naming_product() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let cases = [
            (None, "no-such-product", "product"),
            (Some("freepbx"), "asterisk", "product"),
            (Some("no-such-org"), "asterisk", "organisation"),
        ];
        for (organisation, product, field) in cases {
            let mut body = report(product, "t");
            if let Some(org) = organisation {
                body["organisation"] = json!(org);
            }
            let rejection = (422, "unknown_product", Some(field));
            assert_rejected(&app, JSON, body.to_string(), rejection).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_product_in_two_organisations_needs_the_organisation() {
    // A second organisation that also ships a product called "kamailio".
    let fork =
        reference_policy("kamailio").replacen("slug = \"kamailio\"", "slug = \"kamailio-fork\"", 1);
    let file = temp_policy("kamailio-fork.toml", &fork);
    on_each_database(|db| {
        let file = file.clone();
        async move {
            let (code, _, stderr) = run_init(&db, &[&file]).await;
            assert_eq!(code, 0, "init on {}: {stderr}", db.label);
            let app = spawn_app(&db).await;
            let body = report("kamailio", "t").to_string();
            assert_rejected(
                &app,
                JSON,
                body,
                (422, "ambiguous_product", Some("organisation")),
            )
            .await;
            let mut body = report("kamailio", "t");
            body["organisation"] = json!("kamailio-fork");
            let (id, token) = app.create_report(&body).await;
            let view: Value = app
                .get_report(&id.to_string(), Some(&token))
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(view["organisation"], "kamailio-fork");
        }
    })
    .await;
}

#[tokio::test]
async fn an_oversized_body_is_rejected_stating_the_limit() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let mut body = report("freepbx", "t");
        body["description"] = json!("x".repeat(256 * 1024));
        let answer = assert_rejected(
            &app,
            JSON,
            body.to_string(),
            (413, "payload_too_large", None),
        )
        .await;
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("262144"), "{message}");
    })
    .await;
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_rejected_with_415() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let body = report("freepbx", "t").to_string();
        for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
            assert_rejected(
                &app,
                content_type,
                body.clone(),
                (415, "unsupported_media_type", None),
            )
            .await;
        }
        // Parameters do not matter.
        let response = app
            .client
            .post(app.url("/api/v1/reports"))
            .header("content-type", "application/json; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
    })
    .await;
}

#[tokio::test]
async fn logs_never_contain_tokens_or_report_contents() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let secret = "canary-7f3e9b1d-exploit-detail";
        let body = json!({
            "product": "salestim",
            "title": format!("title {secret}"),
            "description": format!("description {secret}"),
            "reporter_contact": format!("mailto:{secret}@example.org"),
        });
        let (id, token) = app.create_report(&body).await;
        assert_eq!(
            app.get_report(&id.to_string(), Some(&token)).await.status(),
            200
        );
        assert_eq!(
            app.get_report(&id.to_string(), Some("0badc0de"))
                .await
                .status(),
            404
        );
        let bad = json!({"product": "salestim", "title": secret, "description": 5});
        assert_eq!(app.post_report(&bad).await.status(), 422);
        // Let the request log lines reach the collector.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let log = app.log();
        assert!(
            log.contains("/api/v1/reports"),
            "requests are logged: {log}"
        );
        assert!(
            !log.contains(secret),
            "report contents in the log on {}:\n{log}",
            db.label
        );
        assert!(
            !log.contains(&token),
            "a token in the log on {}:\n{log}",
            db.label
        );
        assert!(
            !log.contains("0badc0de"),
            "a presented token in the log:\n{log}"
        );
    })
    .await;
}
