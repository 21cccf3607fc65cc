//! Case writes racing each other: officers acting at once and reporters replying while
//! they do. Every write is decided on the log head it read, so afterwards the stored
//! projection equals a rebuild from the log, the hash chain verifies, and the state machine
//! accepts every recorded event in order (two officers accepting at once record one
//! acceptance; the other is told the case changed).

use serde_json::{Value, json};
use vulndesk_core::case::{Event, Recorded, State};
use vulndesk_core::triage;
use vulndesk_desk::{Desk, cases};

use crate::helpers::{on_each_database, report, spawn_app, test_store};
use crate::team_support::{Session, act, add_member, session_for};

/// Cases raced at once, and how many of each write every case gets.
const CASES: usize = 3;
const EACH: usize = 4;

#[tokio::test]
async fn racing_team_actions_and_replies_leave_the_log_and_projection_consistent() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let alice = add_member(&app, "alice@example.org", false, &[("salestim", "officer")]).await;
        let bob = add_member(&app, "bob@example.org", false, &[("salestim", "officer")]).await;
        let (alice, bob) = (session_for(&app, alice).await, session_for(&app, bob).await);
        let mut reports = Vec::new();
        for i in 0..CASES {
            reports.push(
                app.create_report(&report("salestim", &format!("Race {i}")))
                    .await,
            );
        }

        let mut writes = Vec::new();
        for (case, token) in &reports {
            for i in 0..EACH {
                let s: &Session = if i % 2 == 0 { &alice } else { &bob };
                let team: [(&str, Value); 4] = [
                    ("triage", json!({"action": "accept"})),
                    (
                        "severity",
                        json!({"vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}),
                    ),
                    (
                        "triage",
                        json!({"action": "request-info", "message": "Which version?"}),
                    ),
                    ("notes", json!({"body": format!("note {i}")})),
                ];
                for (what, body) in team {
                    let (app, s, case) = (&app, s.clone(), *case);
                    writes.push(
                        Box::pin(async move { act(app, &s, case, what, body).await.0 })
                            as std::pin::Pin<Box<dyn Future<Output = u16> + Send + '_>>,
                    );
                }
                let (app, case, token) = (&app, *case, token.clone());
                writes.push(Box::pin(async move {
                    app.client
                        .post(app.url(&format!("/api/v1/reports/{case}/replies")))
                        .bearer_auth(&token)
                        .json(&json!({"body": format!("reply {i}")}))
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                }));
            }
        }
        let statuses = futures_util::future::join_all(writes).await;
        for status in &statuses {
            // 409: the move no longer fits the case as it now is (accepted twice, asked for
            // information on an accepted case); never a failure or a silent double write.
            assert!(matches!(status, 201 | 409), "on {}: {statuses:?}", db.label);
        }
        assert!(
            statuses.contains(&409),
            "on {}: some moves must lose",
            db.label
        );

        let store = test_store(&db).await;
        for (case, _) in &reports {
            store.verify_chain(*case).await.unwrap();
            let log = cases::log(&store.events(*case).await.unwrap()).unwrap();
            let mut state = State::New;
            for Recorded { event, .. } in &log {
                state = triage::transition(state, event).unwrap_or_else(|e| {
                    panic!(
                        "on {}: case {case} recorded an impossible move: {e}",
                        db.label
                    )
                });
            }
            let accepted = log.iter().filter(|r| r.event == Event::Accepted).count();
            assert!(
                accepted <= 1,
                "on {}: case {case} accepted {accepted} times",
                db.label
            );
        }
        let rebuilt = Desk::new(store).rebuild_projections().await.unwrap();
        // The demo's cases too: every projection must match its log.
        assert!(rebuilt.cases >= CASES, "on {}", db.label);
        assert_eq!(
            rebuilt.corrected, 0,
            "on {}: a stored projection differed from its log's",
            db.label
        );
    })
    .await;
}

/// A gated step racing the approvals it waits for, and a new fix that makes them stale:
/// whatever order the writes land in, every recorded merge passed its gate on the log
/// before it (Kamailio, seed 002: no patch committed without the security team's clearance).
#[tokio::test]
async fn racing_merges_approvals_and_new_fixes_never_pass_a_gate_that_did_not_hold() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let olivia = add_member(
            &app,
            "olivia@example.org",
            false,
            &[("kamailio", "officer")],
        )
        .await;
        let oscar = add_member(&app, "oscar@example.org", false, &[("kamailio", "officer")]).await;
        let dave = add_member(&app, "dave@example.org", false, &[("kamailio", "member")]).await;
        let (olivia, oscar, dave) = (
            session_for(&app, olivia).await,
            session_for(&app, oscar).await,
            session_for(&app, dave).await,
        );
        let mut cases = Vec::new();
        for i in 0..CASES {
            let (case, _) = app
                .create_report(&report("kamailio", &format!("Gate race {i}")))
                .await;
            assert_eq!(
                act(&app, &olivia, case, "triage", json!({"action": "accept"}))
                    .await
                    .0,
                201
            );
            let fix = json!({"action": "propose-fix", "reference": "pull/1"});
            assert_eq!(act(&app, &dave, case, "triage", fix).await.0, 201);
            cases.push(case);
        }
        let mut writes = Vec::new();
        for &case in &cases {
            for i in 0..EACH {
                let steps: [(&Session, &str, Value); 4] = [
                    (&dave, "triage", json!({"action": "merge-fix"})),
                    (&olivia, "approvals", json!({"step": "merge-fix"})),
                    (&oscar, "approvals", json!({"step": "merge-fix"})),
                    (
                        &dave,
                        "triage",
                        json!({"action": "propose-fix", "reference": format!("pull/{}", i + 2)}),
                    ),
                ];
                for (s, what, body) in steps {
                    let (app, s) = (&app, s.clone());
                    writes.push(
                        Box::pin(async move { act(app, &s, case, what, body).await.0 })
                            as std::pin::Pin<Box<dyn Future<Output = u16> + Send + '_>>,
                    );
                }
            }
        }
        let statuses = futures_util::future::join_all(writes).await;
        for status in &statuses {
            assert!(matches!(status, 201 | 409), "on {}: {statuses:?}", db.label);
        }
        // Then, in order, a fix cleared and merged on every case: each log holds a merge.
        for &case in &cases {
            let fix = json!({"action": "propose-fix", "reference": "pull/final"});
            assert_eq!(act(&app, &dave, case, "triage", fix).await.0, 201);
            assert_eq!(
                act(
                    &app,
                    &olivia,
                    case,
                    "approvals",
                    json!({"step": "merge-fix"})
                )
                .await
                .0,
                201
            );
            let merged = act(&app, &dave, case, "triage", json!({"action": "merge-fix"})).await;
            assert_eq!(merged.0, 201, "on {}: {}", db.label, merged.1);
        }
        let policy = vulndesk_core::policy::Policy::parse(
            "kamailio.toml",
            &crate::helpers::reference_policy("kamailio"),
        )
        .unwrap();
        let store = test_store(&db).await;
        for &case in &cases {
            store.verify_chain(case).await.unwrap();
            let log = cases::log(&store.events(case).await.unwrap()).unwrap();
            let merges = log
                .iter()
                .filter(|r| matches!(r.event, Event::FixMerged { .. }))
                .count();
            assert!(merges >= 1, "on {}: case {case} was never merged", db.label);
            for (k, r) in log.iter().enumerate() {
                if matches!(r.event, Event::FixMerged { .. }) {
                    vulndesk_core::workflow::check(
                        &policy,
                        &log[..k],
                        std::slice::from_ref(&r.event),
                    )
                    .unwrap_or_else(|why| {
                        panic!("on {}: case {case} merged past its gate: {why}", db.label)
                    });
                }
            }
        }
        let rebuilt = Desk::new(store).rebuild_projections().await.unwrap();
        assert_eq!(rebuilt.corrected, 0, "on {}", db.label);
    })
    .await;
}
