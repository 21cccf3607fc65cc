//! Reminders: a deadline past due is mailed to the case's officer once, whatever the
//! number of runs, and never with the report's contents.

use serde_json::json;
use tokio::process::Command;

use crate::helpers::{BIN, TestApp, on_each_database, report, spawn_app};
use crate::team_support::{add_member, session_for};

async fn remind(app: &TestApp) -> String {
    let out = Command::new(BIN)
        .args(["admin", "remind", "--db", &app.db.url])
        .env_remove("VULNDESK_DB")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The reminder mails queued for `case`, as (recipients, raw message).
async fn reminders(app: &TestApp, case: i64) -> Vec<(serde_json::Value, String)> {
    app.store
        .jobs_for_case(case)
        .await
        .unwrap()
        .into_iter()
        .map(|j| {
            // Quoted-printable soft line breaks undone, so sentences can be searched.
            let raw = j.payload["raw"].as_str().unwrap_or_default();
            (
                j.payload["to"].clone(),
                raw.replace("=\r\n", "").replace("=\n", ""),
            )
        })
        .filter(|(_, raw)| raw.contains("[Vulndesk] Case"))
        .collect()
}

#[tokio::test]
async fn an_overdue_deadline_is_mailed_to_the_cases_officer_once() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (case, _) = app.create_report(&report("freepbx", "Reminder secret title")).await;
        let olivia = add_member(&app, "olivia@example.org", false, &[("freepbx", "officer")]).await;
        add_member(&app, "oscar@example.org", false, &[("freepbx", "officer")]).await;
        add_member(&app, "rita@example.org", false, &[("freepbx", "reviewer")]).await;
        let s = session_for(&app, olivia).await;
        let post = |what: &str, body: serde_json::Value| {
            s.on(app.client.post(app.url(&format!("/api/v1/cases/{case}/{what}")))).json(&body).send()
        };
        // Nothing is due yet: FreePBX's answer is due in 3 business days.
        remind(&app).await;
        assert!(reminders(&app, case).await.is_empty(), "on {}", db.label);
        // The officer moves the acknowledgement into the past ("extreme circumstances");
        // three days back is past in every time zone.
        let today: jiff::civil::Date = jiff::Timestamp::now().to_string()[..10].parse().unwrap();
        let yesterday = today.checked_sub(jiff::Span::new().days(3)).unwrap();
        let r = post("deadlines", json!({"clock": "acknowledge", "due": yesterday.to_string(), "reason": "Testing reminders"})).await.unwrap();
        assert_eq!(r.status().as_u16(), 201);
        // No officer on the case yet: every officer of the organisation, no reviewer.
        remind(&app).await;
        let sent = reminders(&app, case).await;
        let mut to: Vec<String> = sent.iter().flat_map(|(t, _)| t.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned())).collect();
        to.sort();
        assert_eq!(to, ["olivia@example.org", "oscar@example.org"], "on {}", db.label);
        let raw = &sent[0].1;
        assert!(raw.contains(&format!("Case {case}")) && raw.contains("has passed unmet"), "{raw}");
        assert!(!raw.contains("Reminder secret title"), "no report contents in plain mail: {raw}");
        // Once only: still the two mails of the first run.
        remind(&app).await;
        assert_eq!(reminders(&app, case).await.len(), 2);
        // A new date is a new reminder, to the case's officer alone once there is one.
        let r = post("officer", json!({"user_id": olivia})).await.unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let before = yesterday.yesterday().unwrap();
        let r = post("deadlines", json!({"clock": "acknowledge", "due": before.to_string(), "reason": "Again"})).await.unwrap();
        assert_eq!(r.status().as_u16(), 201);
        remind(&app).await;
        let sent = reminders(&app, case).await;
        assert_eq!(sent.len(), 3);
        assert_eq!(sent[2].0, json!(["olivia@example.org"]));
        // The team answering the reporter meets the deadline: nothing more is sent.
        let r = post("messages", json!({"body": "We are looking into it."})).await.unwrap();
        assert_eq!(r.status().as_u16(), 201);
        remind(&app).await;
        assert_eq!(reminders(&app, case).await.len(), 3);
    })
    .await;
}
