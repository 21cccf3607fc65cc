//! Who reads what, decided once: the duplicates list never widens anyone's access, the
//! reporter reads that a deadline moved (and the officer's note for them) but not the
//! team's reason or who moved it, and each role finds by search exactly what it reads.

use serde_json::{Value, json};

use crate::helpers::{TestApp, on_each_database, report, spawn_app};
use crate::mail_support;
use crate::team_support::{Session, act, add_member, case_json, page, session_for};

async fn case_page(app: &TestApp, s: &Session, case: i64) -> String {
    page(app, &s.cookie, &format!("/cases/{case}"))
        .await
        .text()
        .await
        .unwrap()
}

/// The ids of the cases a search finds for this person.
async fn search(app: &TestApp, s: &Session, words: &str) -> Vec<i64> {
    let v: Value = s
        .on(app
            .client
            .get(app.url("/api/v1/cases"))
            .query(&[("q", words), ("state", "all")]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["cases"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn duplicates_and_reporters_are_shown_only_to_those_who_may_read_them() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (original, _) = app
            .create_report(&report("salestim", "Token leak in the Teams app"))
            .await;
        let mut body = report("salestim", "Same token leak");
        body["reporter_contact"] = json!("mailto:second.finder@example.org");
        let (duplicate, _) = app.create_report(&body).await;
        let officer = add_member(
            &app,
            "olivia@example.org",
            false,
            &[("salestim", "officer")],
        )
        .await;
        let member = add_member(&app, "mo@example.org", false, &[("salestim", "member")]).await;
        let reviewer =
            add_member(&app, "rita@example.org", false, &[("salestim", "reviewer")]).await;
        let vendor = add_member(&app, "vendor@example.net", false, &[]).await;
        let (boss, s, r, v) = (
            session_for(&app, officer).await,
            session_for(&app, member).await,
            session_for(&app, reviewer).await,
            session_for(&app, vendor).await,
        );
        let (status, e) = act(
            &app,
            &boss,
            original,
            "access",
            json!({"email": "vendor@example.net", "grant": "reviewer"}),
        )
        .await;
        assert_eq!(status, 201, "{e}");
        let (status, e) = act(
            &app,
            &s,
            duplicate,
            "triage",
            json!({"action": "decline", "reason": "duplicate", "duplicate_of": original}),
        )
        .await;
        assert_eq!(status, 201, "{e}");

        // The team working the case credits both reporters.
        let worked = case_json(&app, &s, original).await;
        assert_eq!(
            worked["duplicates"],
            json!([{"case": duplicate, "reporter": "second.finder@example.org"}]),
            "on {}",
            db.label
        );
        assert!(
            case_page(&app, &s, original)
                .await
                .contains("second.finder@example.org")
        );

        // A reviewer may open the duplicate (the whole organisation's cases) but reads no
        // reporter's address, here or in the report itself.
        let reviewed = case_json(&app, &r, original).await;
        assert_eq!(
            reviewed["duplicates"],
            json!([{"case": duplicate, "reporter": null}]),
            "on {}",
            db.label
        );
        // A person added to review this one case cannot open the duplicate: it is not listed.
        let coordinated = case_json(&app, &v, original).await;
        assert_eq!(coordinated["duplicates"], json!([]), "on {}", db.label);
        for (who, seen) in [
            (
                "reviewer",
                reviewed.to_string() + &case_page(&app, &r, original).await,
            ),
            (
                "vendor",
                coordinated.to_string() + &case_page(&app, &v, original).await,
            ),
        ] {
            assert!(
                !seen.contains("finder@example.org"),
                "on {}: the {who} reads a reporter's address",
                db.label
            );
            assert!(
                !seen.contains(&format!("/cases/{duplicate}\"")) || who == "reviewer",
                "on {}: {who}",
                db.label
            );
        }
        let vendor_page = case_page(&app, &v, original).await;
        assert!(
            !vendor_page.contains(&format!("Case {duplicate}")),
            "on {}",
            db.label
        );
    })
    .await;
}

#[tokio::test]
async fn the_reporter_reads_a_moved_deadline_and_the_note_for_them_never_the_reason() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (case, token) = app
            .create_report(&report("salestim", "Tenant isolation bypass"))
            .await;
        let officer = add_member(
            &app,
            "olivia@example.org",
            false,
            &[("salestim", "officer")],
        )
        .await;
        let boss = session_for(&app, officer).await;
        let (status, e) = act(
            &app,
            &boss,
            case,
            "deadlines",
            json!({
                "clock": "disclosure",
                "due": "2027-03-01",
                "reason": "Distribution partner Zorblax ships late",
                "reporter_note": "The fix ships with the March release; we publish then.",
            }),
        )
        .await;
        assert_eq!(status, 201, "{e}");
        let (status, e) = act(
            &app,
            &boss,
            case,
            "deadlines",
            json!({
                "clock": "resolve",
                "due": "2027-02-01",
                "reason": "Zorblax QA backlog",
            }),
        )
        .await;
        assert_eq!(status, 201, "{e}");

        let api = app
            .get_report(&case.to_string(), Some(&token))
            .await
            .text()
            .await
            .unwrap();
        let portal = app
            .get(&format!("/r/{case}/{token}"))
            .await
            .text()
            .await
            .unwrap();
        for (where_, seen) in [("reporter API", &api), ("portal", &portal)] {
            assert!(
                seen.contains("2027-03-01"),
                "on {}: {where_} shows the new date",
                db.label
            );
            assert!(
                seen.contains("ships with the March release"),
                "on {}: {where_}: {seen}",
                db.label
            );
            assert!(
                seen.contains("moved by the security team"),
                "on {}: {where_}",
                db.label
            );
            assert!(
                !seen.contains("Zorblax"),
                "on {}: {where_} shows the team's reason",
                db.label
            );
            assert!(
                !seen.contains(&format!("user:{officer}")),
                "on {}: {where_} names who",
                db.label
            );
        }
        // The team reads both.
        let team = case_page(&app, &boss, case).await;
        assert!(
            team.contains("Zorblax ships late") && team.contains("ships with the March release")
        );
    })
    .await;
}

#[tokio::test]
async fn each_role_finds_by_search_exactly_what_it_reads() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let member = add_member(&app, "k@example.org", false, &[("kamailio", "member")]).await;
        let reviewer =
            add_member(&app, "rev@example.org", false, &[("kamailio", "reviewer")]).await;
        let officer =
            add_member(&app, "o@example.org", false, &[("kamailio", "officer")]).await;
        let (s, r, boss) = (
            session_for(&app, member).await,
            session_for(&app, reviewer).await,
            session_for(&app, officer).await,
        );
        // A report by mail, then a reply whose subject has a word of its own: that subject
        // is only on the mail_received event, which is the team's.
        let raw = mail_support::report(
            "visibility-1@example.org",
            "Overflow in the SIP parser",
            "A long Via header crashes the worker.",
        );
        let args = ["mail", "ingest", "--org", "kamailio", "--db", &db.url];
        let ingest = mail_support::run(&args, &raw, &[]).await;
        assert_eq!(ingest.code, 0, "on {}: {}", db.label, ingest.stderr);
        let reply = mail_support::message(
            "visibility-2@example.org",
            "security@kamailio.org",
            "In-Reply-To: <visibility-1@example.org>\r\nSubject: Pangolin follow-up\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n\r\nIt also Wombats on 5.7.",
        );
        let ingest = mail_support::run(&args, &reply, &[]).await;
        assert_eq!(ingest.code, 0, "on {}: {}", db.label, ingest.stderr);
        let found = search(&app, &s, "Overflow SIP parser").await;
        assert_eq!(found.len(), 1, "on {}: {found:?}", db.label);
        let case = found[0];
        act(&app, &s, case, "notes", json!({"body": "Xylophone bisected"})).await;
        act(&app, &boss, case, "deadlines", json!({"clock": "disclosure", "due": "2027-03-01", "reason": "Marmalade release train"})).await;

        let team_reads = case_json(&app, &s, case).await.to_string() + &case_page(&app, &s, case).await;
        let reviewer_reads = case_json(&app, &r, case).await.to_string() + &case_page(&app, &r, case).await;
        for word in ["Pangolin", "Xylophone", "Marmalade", "Wombats"] {
            assert!(team_reads.contains(word), "on {}: the member reads {word}", db.label);
            assert_eq!(search(&app, &s, word).await, vec![case], "on {}: the member finds {word}", db.label);
            let reads = reviewer_reads.contains(word);
            let finds = search(&app, &r, word).await == vec![case];
            assert_eq!(reads, finds, "on {}: the reviewer reads {word:?}: {reads}, finds it: {finds}", db.label);
        }
        // And the decision is the right one: notes and incoming mail are the team's, why a
        // date moved and what the reporter wrote are the case's.
        for (word, reviewer_may) in [("Pangolin", false), ("Xylophone", false), ("Marmalade", true), ("Wombats", true)] {
            assert_eq!(reviewer_reads.contains(word), reviewer_may, "on {}: {word}", db.label);
        }
    })
    .await;
}
