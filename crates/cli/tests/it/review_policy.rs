//! Policy fidelity: the seeds' rules as a reviewer reads them, run through the real
//! server and CLI (FreePBX 001's mitigation, publication and 60-day goal, SalesTim 003's
//! patch grace, the report fields 000 and 004 only ask for, permissions that are never
//! overdue, and dates nobody could mean).

use std::process::{Command, Output};

use reqwest::multipart::Form;
use serde_json::{Value, json};

use crate::helpers::{BIN, TestApp, on_each_database, report, spawn_app};
use crate::html::{attr, tag, text};
use crate::team_support::{Session, act, add_member, page, post_form, session_for};

fn explain(args: &[&str]) -> Output {
    Command::new(BIN)
        .args([&["policy", "explain"][..], args].concat())
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("run vulndesk")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A case of `org` with an officer's session, accepted.
async fn accepted_case(app: &TestApp, org: &str, product: &str) -> (i64, Session) {
    let (case, _) = app.create_report(&report(product, "Fidelity case")).await;
    let officer = add_member(
        app,
        &format!("officer@{org}.example"),
        false,
        &[(org, "officer")],
    )
    .await;
    let s = session_for(app, officer).await;
    let (status, body) = act(app, &s, case, "triage", json!({"action": "accept"})).await;
    assert_eq!(status, 201, "{body}");
    (case, s)
}

fn today() -> jiff::civil::Date {
    jiff::Timestamp::now().to_string()[..10].parse().unwrap()
}

#[test]
fn freepbx_mitigation_runs_from_the_public_disclosure_and_is_pending_before_it() {
    let base = [
        "policies/freepbx.toml",
        "--reported",
        "2026-04-05",
        "--fix-released",
        "2026-05-04",
    ];
    let out = explain(&[&base[..], &["--advisory-published", "2026-06-15"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("reporter_disclosure due 2026-06-29 (Mon)\n  advisory published 2026-06-15 (Mon), +14 days"),
        "{}",
        stdout(&out)
    );
    let out = explain(&base);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("reporter_disclosure pending: starts when the advisory is published"),
        "{}",
        stdout(&out)
    );
    assert!(
        !stdout(&out).contains("reporter_disclosure due"),
        "{}",
        stdout(&out)
    );
    let out = explain(&[&base[..], &["--format", "json"]].concat());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["pending"],
        json!([{"kind": "reporter_disclosure", "waiting_for": "our published advisory", "starts_when": "the advisory is published"}])
    );
}

#[test]
fn salestim_patch_grace_lasts_until_the_patch_is_available() {
    let at = |released: &str| {
        let out = explain(&[
            "policies/salestim.toml",
            "--reported",
            "2026-04-05",
            "--fix-scheduled",
            "2026-07-10",
            "--fix-announced",
            "2026-06-01",
            "--fix-released",
            released,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    assert!(
        at("2026-07-17").starts_with("disclosure due 2026-07-17 (Fri)\n"),
        "{}",
        at("2026-07-17")
    );
    assert!(
        at("2026-07-30").starts_with("disclosure due 2026-07-20 (Mon)\n"),
        "{}",
        at("2026-07-30")
    );
}

#[test]
fn explain_refuses_implausible_dates_naming_the_flag() {
    for (flag, value) in [
        ("--reported", "9999-01-01"),
        ("--fix-released", "9999-12-31"),
        ("--fix-scheduled", "1989-12-31"),
        ("--advisory-published", "2040-01-01"),
        ("--acknowledged", "9999-01-01"),
        ("--exploited", "9999-01-01"),
    ] {
        let mut args = vec!["policies/salestim.toml", "--reported", "2026-04-05"];
        if flag == "--reported" {
            args[2] = value;
        } else {
            args.extend([flag, value]);
        }
        let out = explain(&args);
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "{flag}: {value} is not a plausible date; expected a day from 1990-01-01"
            )),
            "{flag}: {err}"
        );
    }
}

#[tokio::test]
async fn freepbx_refuses_an_advisory_before_the_fix_with_409_naming_what_is_missing() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (case, s) = accepted_case(&app, "freepbx", "freepbx").await;
        let on = today().to_string();
        // Days ago, so it precedes "today" in the policy's time zone as well as in UTC.
        let released = today()
            .checked_sub(jiff::Span::new().days(3))
            .unwrap()
            .to_string();
        let (status, body) = act(
            &app,
            &s,
            case,
            "triage",
            json!({"action": "publish-advisory", "on": on}),
        )
        .await;
        assert_eq!(status, 409, "on {}: {body}", db.label);
        let message = body.to_string();
        assert!(
            message.contains("no fix release is recorded; record the fix release first"),
            "{message}"
        );
        // The case page offers no publication form while it would be refused.
        let html = page(&app, &s.cookie, &format!("/cases/{case}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(!html.contains("value=\"publish-advisory\""), "{html}");
        let (status, _) = act(
            &app,
            &s,
            case,
            "triage",
            json!({"action": "release-fix", "on": released}),
        )
        .await;
        assert_eq!(status, 201);
        let html = page(&app, &s.cookie, &format!("/cases/{case}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("value=\"publish-advisory\""), "{html}");
        let (status, body) = act(
            &app,
            &s,
            case,
            "triage",
            json!({"action": "publish-advisory", "on": on}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["state"], "disclosed");
        // SalesTim (003) may still publish a 0day advisory before any fix.
        let (other, s) = accepted_case(&app, "salestim", "salestim").await;
        let (status, body) = act(
            &app,
            &s,
            other,
            "triage",
            json!({"action": "publish-advisory", "on": on}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    })
    .await;
}

#[tokio::test]
async fn freepbx_case_page_shows_sixty_days_as_the_goal_for_the_whole_process() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (case, s) = accepted_case(&app, "freepbx", "freepbx").await;
        let html = page(&app, &s.cookie, &format!("/cases/{case}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("Goal for the whole process: report to public disclosure"),
            "on {}: {html}",
            db.label
        );
        assert!(html.contains("not a deadline for the fix"), "{html}");
        assert!(
            !html.contains("Release a fix"),
            "FreePBX promises no fix time: {html}"
        );
        assert!(
            html.contains("not yet dated: starts when the advisory is published"),
            "{html}"
        );
    })
    .await;
}

#[tokio::test]
async fn implausible_dates_are_refused_with_422_naming_the_field() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (case, s) = accepted_case(&app, "salestim", "salestim").await;
        let before = app.store.events(case).await.unwrap().len();
        for (what, body, field) in [
            (
                "deadlines",
                json!({"clock": "disclosure", "due": "9999-01-01", "reason": "typo"}),
                "due",
            ),
            (
                "triage",
                json!({"action": "schedule-fix", "release": "9999-12-31"}),
                "release",
            ),
            (
                "triage",
                json!({"action": "release-fix", "on": "1989-12-31"}),
                "on",
            ),
            (
                "triage",
                json!({"action": "publish-advisory", "on": "9999-01-01"}),
                "on",
            ),
            (
                "triage",
                json!({"action": "exploitation-observed", "on": "0202-01-01"}),
                "on",
            ),
        ] {
            let (status, answer) = act(&app, &s, case, what, body.clone()).await;
            assert_eq!(status, 422, "on {}: {body} -> {answer}", db.label);
            assert_eq!(answer["error"]["field"], field, "{answer}");
            let message = answer["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("is not a plausible date; expected a day from 1990-01-01 to"),
                "{message}"
            );
        }
        // The team's form takes the same road.
        let r = post_form(
            &app,
            &s.cookie,
            &format!("/cases/{case}/triage"),
            &[
                ("csrf", &s.csrf),
                ("action", "schedule-fix"),
                ("release", "9999-01-01"),
            ],
        )
        .await;
        assert_eq!(r.status().as_u16(), 422);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("release: 9999-01-01 is not a plausible date"),
            "{html}"
        );
        assert_eq!(
            app.store.events(case).await.unwrap().len(),
            before,
            "nothing was recorded"
        );
        // A plausible date still goes through.
        let (status, _) = act(
            &app,
            &s,
            case,
            "triage",
            json!({"action": "schedule-fix", "release": today().to_string()}),
        )
        .await;
        assert_eq!(status, 201);
    })
    .await;
}

#[tokio::test]
async fn when_the_reporter_may_publish_is_never_overdue_nor_a_reminder() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        // SalesTim: the reporter may publish with our disclosure. Both dates moved into the
        // past: our disclosure is overdue, the reporter's permission is not.
        let (case, s) = accepted_case(&app, "salestim", "salestim").await;
        let past = today()
            .checked_sub(jiff::Span::new().days(3))
            .unwrap()
            .to_string();
        let (status, _) = act(
            &app,
            &s,
            case,
            "deadlines",
            json!({"clock": "disclosure", "due": past, "reason": "Testing"}),
        )
        .await;
        assert_eq!(status, 201);
        let out = tokio::process::Command::new(BIN)
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
        let raws: Vec<String> = app
            .store
            .jobs_for_case(case)
            .await
            .unwrap()
            .into_iter()
            .map(|j| {
                j.payload["raw"]
                    .as_str()
                    .unwrap_or_default()
                    .replace("=\r\n", "")
                    .replace("=\n", "")
            })
            .filter(|raw| raw.contains("[Vulndesk] Case"))
            .collect();
        assert_eq!(
            raws.len(),
            1,
            "on {}: one reminder, for our disclosure: {raws:?}",
            db.label
        );
        assert!(raws[0].contains("the disclosure deadline"), "{}", raws[0]);
        assert!(
            !raws.iter().any(|r| r.contains("reporter disclosure")),
            "{raws:?}"
        );
        // The case page marks our disclosure overdue, not the reporter's permission.
        let html = page(&app, &s.cookie, &format!("/cases/{case}"))
            .await
            .text()
            .await
            .unwrap();
        let item = |label: &str| {
            let at = html
                .find(&format!("<strong>{label}</strong>"))
                .unwrap_or_else(|| panic!("{label}: {html}"));
            html[at..at + html[at..].find("<ul").unwrap()].to_owned()
        };
        assert!(item("Disclose").contains("Overdue"), "{}", item("Disclose"));
        assert!(
            !item("Reporter may publish").contains("Overdue"),
            "{}",
            item("Reporter may publish")
        );
        // The dashboard's next date is ours, overdue; never the permission.
        let listed: Value = s
            .on(app.client.get(app.url("/api/v1/cases")))
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
            .unwrap()
            .clone();
        assert_eq!(row["next_due_kind"], "disclosure", "{row}");
        assert_eq!(row["urgency"], "overdue", "{row}");
    })
    .await;
}

#[tokio::test]
async fn fields_a_seed_only_asks_for_are_optional_on_the_form_and_the_api() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let bare = || {
            Form::new().text("title", "A crash").text(
                "description",
                "Sending a crafted message crashes the server.",
            )
        };
        // Sangoma (000) "as much ... as you can", Signalen (004) "extremely useful", FreePBX
        // (001) "as many details as possible": a report without them is taken.
        for (form, hinted, words) in [
            (
                "/o/sangoma/report?product=asterisk",
                "f-fields-steps",
                "Please include as much of this as you can",
            ),
            (
                "/o/signalen/report?product=signalen",
                "f-fields-test-case",
                "It is extremely useful",
            ),
            (
                "/o/freepbx/report?product=freepbx",
                "f-fields-details",
                "Please include as many details as possible",
            ),
        ] {
            let html = app.get(form).await.text().await.unwrap();
            assert_eq!(
                attr(tag(&html, hinted).unwrap(), "aria-required"),
                None,
                "{form}"
            );
            let hint = text(&html, &format!("{hinted}-hint")).unwrap_or_default();
            assert!(hint.contains(words), "{form}: {hint}");
            let r = app.post_form(form, bare()).await;
            assert_eq!(
                r.status().as_u16(),
                200,
                "on {}: {form}: {}",
                db.label,
                r.text().await.unwrap()
            );
        }
        // Kamailio (002) demands a summary and an explanation: still required.
        let r = app
            .post_form("/o/kamailio/report?product=kamailio", bare())
            .await;
        assert_eq!(r.status().as_u16(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("f-fields-summary-error"), "{html}");
        // The JSON API takes the same reports without the optional fields.
        for product in ["asterisk", "signalen", "freepbx"] {
            let r = app.post_report(&report(product, "API report")).await;
            assert_eq!(r.status().as_u16(), 201, "{product}");
        }
    })
    .await;
}
