//! Snapshots of what people and programs receive: the main pages, the reporter's and the
//! team's JSON answers, and the receipt mail. A change that alters any of them shows its
//! effect in review (`cargo insta review`). Values that differ from run to run (ids,
//! secrets, times, dates computed from today, ports) are replaced by placeholders; both
//! databases must produce the same snapshot.

use regex::Regex;
use serde_json::{Value, json};

use vulndesk_desk::Desk;
use vulndesk_desk::intake::{Answers, Channel, Draft, Report};

use crate::helpers::{TestApp, on_each_database, spawn_app, test_store};
use crate::team_support::{add_member, case_json, session_for};

/// `text` with what changes between runs replaced by stable placeholders.
fn redact(text: &str) -> String {
    let rules: [(&str, &str); 10] = [
        // Secrets first: reporter tokens (64 hex) and reply tags (32 hex), API tokens.
        (r"\b[0-9a-f]{64}\b", "[token]"),
        (r"\b[0-9a-f]{32}\b", "[tag]"),
        (r"vdt_[A-Za-z0-9_-]+", "vdt_[token]"),
        (
            r#"name="csrf" value="[^"]*""#,
            r#"name="csrf" value="[csrf]""#,
        ),
        (r"http://127\.0\.0\.1:\d+", "http://[desk]"),
        // Instants of the present (the fixed case's are kept): written with nanoseconds.
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z", "[instant]"),
        (
            r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}",
            "[mail date]",
        ),
        // Forms offer today as the default day.
        (
            r#"(type="date"[^>]*value=")\d{4}-\d{2}-\d{2}"#,
            "${1}[today]",
        ),
        (r"boundary=\S+", "boundary=[boundary]"),
        (
            r"\b(in|within|overdue by|due in) \d+ (day|days|hour|hours)\b",
            "$1 [n] $2",
        ),
    ];
    let mut out = text.to_owned();
    for (pattern, replacement) in rules {
        out = Regex::new(pattern)
            .unwrap()
            .replace_all(&out, replacement)
            .into_owned();
    }
    out
}

/// Ids depend on what else the database holds: named by role instead, wherever a key
/// holds an id.
fn name_ids(mut value: Value, ids: &[(i64, &str)]) -> Value {
    const ID_KEYS: [&str; 5] = ["id", "case_id", "user_id", "officer_id", "duplicate_of"];
    fn walk(v: &mut Value, ids: &[(i64, &str)]) {
        match v {
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, ids)),
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    let named = ID_KEYS
                        .contains(&key.as_str())
                        .then(|| item.as_i64())
                        .flatten()
                        .and_then(|n| ids.iter().find(|(i, _)| *i == n));
                    match named {
                        Some((_, name)) => *item = Value::String(format!("[{name}]")),
                        None => walk(item, ids),
                    }
                }
            }
            _ => {}
        }
    }
    walk(&mut value, ids);
    value
}

/// A page with the case's number named, as [`name_ids`] does for JSON.
fn name_case(html: &str, case: i64) -> String {
    [
        (format!("Case {case}:"), "Case [case]:"),
        (format!("<dd>{case}</dd>"), "<dd>[case]</dd>"),
        (format!("/cases/{case}"), "/cases/[case]"),
        (format!("/r/{case}/"), "/r/[case]/"),
    ]
    .iter()
    .fold(html.to_owned(), |page, (from, to)| {
        page.replace(from.as_str(), to)
    })
}

async fn page(app: &TestApp, path: &str, cookie: Option<&str>) -> String {
    let mut request = app.client.get(app.url(path));
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("vd_session={cookie}"));
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    redact(&response.text().await.unwrap())
}

#[tokio::test]
async fn pages_answers_and_mail_stay_as_reviewed() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        insta::assert_snapshot!("front_page", page(&app, "/", None).await);
        insta::assert_snapshot!("report_form", page(&app, "/o/salestim/report", None).await);

        let created = app
            .post_report(&json!({
                "product": "salestim",
                "title": "Token leak in the Teams app",
                "description": "Steps: open the app. Impact: tokens in the log.",
            }))
            .await;
        assert_eq!(created.status().as_u16(), 201);
        let created: Value = created.json().await.unwrap();
        let live = created["id"].as_i64().unwrap();
        insta::assert_snapshot!(
            "api_report_created",
            redact(&serde_json::to_string_pretty(&name_ids(created, &[(live, "case")])).unwrap())
        );

        // The rest shows a case reported on a fixed day, through the same desk function the
        // API calls: its clocks and their derivations do not depend on today.
        let report = Report::check(Draft {
            organisation: Some("salestim".into()),
            product: "salestim".into(),
            title: "Token leak in the Teams app".into(),
            description: "Steps: open the app. Impact: tokens in the log.".into(),
            reporter_contact: Some("mailto:finder@example.org".into()),
            answers: Answers {
                fields: [("version".to_owned(), "2.4.1".to_owned())].into(),
                ..Answers::default()
            },
            channel: Channel::Api,
        })
        .unwrap();
        let reported: jiff::Timestamp = "2026-01-05T10:00:00Z".parse().unwrap();
        let submitted = Desk::new(test_store(&db).await)
            .submit(report, reported)
            .await
            .unwrap();
        let case = submitted.case_id;
        let token = submitted.token.as_str().to_owned();
        let ids = [(case, "case")];
        let view: Value = app
            .client
            .get(app.url(&format!("/api/v1/reports/{case}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        insta::assert_snapshot!(
            "api_reporter_view",
            redact(&serde_json::to_string_pretty(&name_ids(view, &ids)).unwrap())
        );
        let portal = page(&app, &format!("/r/{case}/{token}"), None).await;
        insta::assert_snapshot!("portal", name_case(&portal, case));

        let receipt = app.store.jobs_for_case(case).await.unwrap();
        assert_eq!(receipt.len(), 1, "on {}", db.label);
        insta::assert_snapshot!(
            "receipt_mail",
            redact(&serde_json::to_string_pretty(&receipt[0].payload).unwrap())
        );

        let officer = add_member(
            &app,
            "olivia@example.org",
            false,
            &[("salestim", "officer")],
        )
        .await;
        let s = session_for(&app, officer).await;
        let ids = [(case, "case"), (officer, "officer")];
        let team_view = name_ids(case_json(&app, &s, case).await, &ids);
        insta::assert_snapshot!(
            "api_team_case",
            redact(&serde_json::to_string_pretty(&team_view).unwrap())
        );
        let case_page = page(&app, &format!("/cases/{case}"), Some(&s.cookie)).await;
        insta::assert_snapshot!("team_case_page", name_case(&case_page, case));
    })
    .await;
}
