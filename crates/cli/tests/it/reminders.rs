//! Reminders: a deadline past due is mailed to the case's officer once, whatever the
//! number of runs, and never with the report's contents.

use serde_json::json;
use tokio::process::Command;

use crate::helpers::{BIN, TestApp, on_each_database, report, spawn_app};
use crate::team_support::{add_member, session_for};

pub(crate) async fn remind(app: &TestApp) -> String {
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

/// A report to `org`'s `product` filed `days` ago that nobody answered, written as the server
/// writes cases.
pub(crate) async fn old_case(app: &TestApp, org: &str, product: &str, days: i64) -> i64 {
    let org = app.store.organisation_by_slug(org).await.unwrap().unwrap();
    let version = app.store.latest_policy(org.id).await.unwrap().unwrap();
    let policy = vulndesk_core::policy::Policy::parse(&org.slug, &version.source).unwrap();
    let product = app
        .store
        .product(&org.slug, product)
        .await
        .unwrap()
        .unwrap();
    let at = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * days);
    let (events, log) = vulndesk_desk::cases::prepare(
        vec![vulndesk_core::case::Event::Reported {
            product: product.slug.clone(),
            title: "Old report".into(),
            description: "Details".into(),
            reporter_contact: None,
            channel: vulndesk_core::case::Channel::Api,
            fields: Default::default(),
            language: None,
        }],
        &vulndesk_core::actor::Actor::Reporter,
        at,
    )
    .unwrap();
    let projection = vulndesk_desk::cases::project(&policy, &log).unwrap();
    app.store
        .open_case(
            vulndesk_store::NewCase {
                product_id: product.id,
                policy_version_id: version.id,
                reporter_token_hash: vec![7; 32],
                opened_at: at,
                reply_tag: None,
            },
            events,
            projection,
            vulndesk_store::Effects::default(),
        )
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn a_deadline_passed_with_nobody_acting_is_escalated_to_officers_and_admins_once() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        // FreePBX answers within 3 business days; this report is 20 days old, untouched.
        let case = old_case(&app, "freepbx", "freepbx", 20).await;
        let olivia = add_member(&app, "olivia@example.org", false, &[("freepbx", "officer")]).await;
        add_member(&app, "mo@example.org", false, &[("freepbx", "member")]).await;
        add_member(&app, "root@example.org", true, &[]).await;
        // Three runs at once (servers side by side, or cron beside a server): the escalation
        // is decided on the log head each write follows, so it is recorded and mailed once.
        tokio::join!(remind(&app), remind(&app), remind(&app));
        let sent = reminders(&app, case).await;
        let escalated: Vec<_> = sent
            .iter()
            .filter(|(_, raw)| raw.contains("escalated"))
            .collect();
        let mut to: Vec<&str> = escalated
            .iter()
            .map(|(t, _)| t[0].as_str().unwrap())
            .collect();
        to.sort();
        assert_eq!(
            to,
            ["olivia@example.org", "root@example.org"],
            "on {}: {sent:?}",
            db.label
        );
        let raw = &escalated[0].1;
        assert!(
            raw.contains("has passed unmet and nobody of the team has acted on the case"),
            "{raw}"
        );
        assert!(
            !raw.contains("Details"),
            "no report contents in plain mail: {raw}"
        );
        // Recorded in the log, by Vulndesk, and marked on the dashboard.
        let log = app.store.events(case).await.unwrap();
        let last = log.last().unwrap();
        assert_eq!(
            (last.kind.as_str(), last.actor.as_str()),
            ("escalated", "vulndesk")
        );
        let escalations = log.iter().filter(|e| e.kind == "escalated").count();
        assert_eq!(escalations, 1, "on {}: escalated once", db.label);
        let s = session_for(&app, olivia).await;
        let listed: serde_json::Value = s
            .on(app.client.get(app.url("/api/v1/cases?org=freepbx")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let row = listed["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == case)
            .unwrap();
        assert_eq!(row["escalated"], true, "{row}");
        let page = app
            .client
            .get(app.url("/dashboard"))
            .header("cookie", format!("vd_session={}", s.cookie))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("class=\"escalated-label\""), "{page}");
        // Once per deadline: a second run tells nobody again.
        remind(&app).await;
        assert_eq!(reminders(&app, case).await.len(), sent.len());
        assert_eq!(app.store.events(case).await.unwrap().len(), log.len());
    })
    .await;
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
        // Each officer's reminder carries their own reply address on the case: an answer
        // joins as their internal note.
        for (to, raw) in &sent {
            let user = app.store.user_by_email(to[0].as_str().unwrap()).await.unwrap().unwrap();
            let joined = app.store.participants(case).await.unwrap();
            let tag = &joined.iter().find(|p| p.user_id == Some(user.id)).expect("a participant").reply_tag;
            assert!(raw.contains("Reply-To:") && raw.contains(tag.as_str()), "on {}: {raw}", db.label);
        }
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

#[tokio::test]
async fn a_reporter_waiting_longer_than_the_policy_allows_is_a_reminder() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let sam = add_member(&app, "sam@example.org", false, &[("sangoma", "officer")]).await;
        // A Sangoma report from 20 days ago that nobody answered (Sangoma promises news
        // every 14 days), written as the server writes cases.
        let case = old_case(&app, "sangoma", "asterisk", 20).await;
        remind(&app).await;
        let sent = reminders(&app, case).await;
        let news: Vec<_> = sent
            .iter()
            .filter(|(_, raw)| raw.contains("heard nothing"))
            .collect();
        assert_eq!(news.len(), 1, "on {}: {sent:?}", db.label);
        assert_eq!(news[0].0, json!(["sam@example.org"]));
        assert!(news[0].1.contains("every 14 days"), "{}", news[0].1);
        remind(&app).await;
        assert_eq!(reminders(&app, case).await.len(), sent.len(), "once");
        // The case page says it too.
        let s = session_for(&app, sam).await;
        let html = app
            .client
            .get(app.url(&format!("/cases/{case}")))
            .header("cookie", format!("vd_session={}", s.cookie))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let line = html
            .split("<p id=\"reporter-update\">")
            .nth(1)
            .unwrap_or_else(|| panic!("{html}"))
            .split("</p>")
            .next()
            .unwrap();
        assert!(
            line.contains("every 14 days") && line.contains("Overdue"),
            "{line}"
        );
    })
    .await;
}
