//! The policies' processes made binding, walked through the team API and pages as the
//! seeds describe them, on both databases, against the real binary: Kamailio's clearance
//! gate (seed 002), FreePBX's "once verified and fixed" (seed 001) and Signalen's nine steps
//! (seed 004).

use serde_json::{Value, json};

use crate::helpers::{TestApp, on_each_database, report, spawn_app};
use crate::team_support::{Session, act, add_member, case_json, page, post_form, session_for};

/// `vulndesk ARGS --db URL`.
async fn cli(db: &str, args: &[&str]) -> crate::mail_support::Run {
    let args: Vec<&str> = args.iter().copied().chain(["--db", db]).collect();
    crate::mail_support::run(&args, b"", &[]).await
}

/// `POST /api/v1/cases/{case}/triage` as `s`.
async fn triage(app: &TestApp, s: &Session, case: i64, body: Value) -> (u16, Value) {
    act(app, s, case, "triage", body).await
}

fn message(e: &Value) -> &str {
    e["error"]["message"].as_str().unwrap_or_default()
}

async fn person(app: &TestApp, email: &str, org: &str, role: &str) -> (i64, Session) {
    let id = add_member(app, email, false, &[(org, role)]).await;
    (id, session_for(app, id).await)
}

#[tokio::test]
async fn kamailio_releases_no_patch_without_the_security_teams_clearance() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (case, _) = app
            .create_report(&report("kamailio", "Crash in the SIP parser"))
            .await;
        let (olivia, officer) = person(&app, "olivia@kamailio.test", "kamailio", "officer").await;
        let (oscar, second) = person(&app, "oscar@kamailio.test", "kamailio", "officer").await;
        let (_, dev) = person(&app, "dave@kamailio.test", "kamailio", "member").await;

        // One officer manages each case: a developer cannot accept it alone; the officer
        // who accepts it becomes its officer.
        let (status, e) = triage(&app, &dev, case, json!({"action": "accept"})).await;
        assert_eq!(status, 409, "on {}: {e}", db.label);
        assert!(message(&e).contains("an officer accepts it"), "{e}");
        let (status, e) = triage(&app, &officer, case, json!({"action": "accept"})).await;
        assert_eq!(status, 201, "{e}");
        let view = case_json(&app, &dev, case).await;
        assert_eq!(view["officer_id"], olivia);

        let (status, e) = triage(&app, &dev, case, json!({"action": "propose-fix", "reference": "https://github.com/kamailio/kamailio/pull/4242"})).await;
        assert_eq!(status, 201, "{e}");
        // The gate refuses the merge, naming what is missing, in the API and on the page.
        let (status, e) = triage(&app, &dev, case, json!({"action": "merge-fix"})).await;
        assert_eq!(status, 409, "{e}");
        assert_eq!(
            message(&e),
            "merge-fix is gated by this policy: it needs approval by 1 member of security-team (0 so far) first"
        );
        let refused = post_form(&app, &dev.cookie, &format!("/cases/{case}/triage"), &[("csrf", &dev.csrf), ("action", "merge-fix")]).await;
        assert_eq!(refused.status().as_u16(), 409);
        let html = refused.text().await.unwrap();
        assert!(html.contains("merge-fix is gated by this policy"), "{html}");
        assert!(html.contains("needs approval by 1 member of security-team (0 so far)"), "{html}");

        // The same refusal from the command line, exit code 4, and where the case stands.
        let id = case.to_string();
        let run = cli(&db.url, &["case", "step", &id, "merge-fix", "--as", "dave@kamailio.test"]).await;
        assert_eq!(run.code, 4, "{}", run.stderr);
        assert!(run.stderr.contains("merge-fix is gated by this policy: it needs approval by 1 member of security-team (0 so far) first"), "{}", run.stderr);
        let run = cli(&db.url, &["case", "show", &id]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains("gate before merge-fix (approval:security-team): needs approval by 1 member"), "{}", run.stdout);
        let run = cli(&db.url, &["case", "approve", &id, "merge-fix", "--as", "nobody@kamailio.test"]).await;
        assert_eq!(run.code, 2, "{}", run.stderr);

        // The security team is Kamailio's officers: a developer's approval is refused.
        let (status, e) = act(&app, &dev, case, "approvals", json!({"step": "merge-fix"})).await;
        assert_eq!(status, 403, "{e}");
        assert!(message(&e).contains("not in a group whose approval merge-fix needs"), "{e}");
        let (status, e) = act(&app, &dev, case, "approvals", json!({"step": "deploy"})).await;
        assert_eq!((status, e["error"]["field"].as_str()), (422, Some("step")), "{e}");
        // An officer clears it on the page; the gate holds and shows who cleared it.
        let form = page(&app, &second.cookie, &format!("/cases/{case}")).await.text().await.unwrap();
        assert!(form.contains("id=\"approve-merge-fix\""), "the officer is offered the approval");
        let cleared = post_form(&app, &second.cookie, &format!("/cases/{case}/approvals"), &[("csrf", &second.csrf), ("step", "merge-fix"), ("note", "Patch read; fine to commit.")]).await;
        assert_eq!(cleared.status().as_u16(), 303);
        let (status, e) = act(&app, &second, case, "approvals", json!({"step": "merge-fix"})).await;
        assert_eq!(status, 409, "{e}");
        let view = case_json(&app, &dev, case).await;
        let gate = &view["workflow"]["gates"][0];
        assert_eq!((gate["before"].as_str(), gate["holds"].as_bool()), (Some("merge-fix"), Some(true)), "{view}");
        assert_eq!(gate["approved_by"], json!([oscar]));
        assert_eq!(view["workflow"]["approvable"], json!([]), "a developer approves nothing here");

        let (status, e) = triage(&app, &dev, case, json!({"action": "merge-fix", "reference": "5f3e2a1"})).await;
        assert_eq!(status, 201, "{e}");
        let today = jiff::Timestamp::now().to_string()[..10].to_owned();
        // The security release is cleared too: refused, approved, then recorded.
        let release = json!({"action": "release-fix", "on": today});
        let (status, e) = triage(&app, &officer, case, release.clone()).await;
        assert_eq!(status, 409, "{e}");
        assert!(message(&e).starts_with("release is gated by this policy: it needs approval by 1 member of security-team"), "{e}");
        let (status, e) = act(&app, &second, case, "approvals", json!({"step": "release"})).await;
        assert_eq!(status, 201, "{e}");
        let (status, e) = triage(&app, &officer, case, release).await;
        assert_eq!(status, 201, "{e}");
        // The advisory text is reviewed by the security team before it is published.
        let (status, e) = triage(&app, &officer, case, json!({"action": "publish-advisory", "on": today})).await;
        assert_eq!(status, 409, "{e}");
        assert!(message(&e).contains("review by 1 member of security-team"), "{e}");
        let (status, e) = act(&app, &second, case, "approvals", json!({"step": "publish-advisory", "note": "Text reviewed."})).await;
        assert_eq!(status, 201, "{e}");
        let (status, e) = triage(&app, &officer, case, json!({"action": "publish-advisory", "on": today})).await;
        assert_eq!(status, 201, "{e}");

        let view = case_json(&app, &officer, case).await;
        assert_eq!(view["state"], "disclosed");
        let stages: Vec<(&str, bool)> = view["workflow"]["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["stage"].as_str().unwrap(), !s["done"].is_null()))
            .collect();
        assert_eq!(
            stages,
            [("triage", false), ("fix", false), ("review", false), ("release", true), ("announce", false)]
        );
        let kinds: Vec<&str> = view["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["event"]["type"].as_str())
            .collect();
        for kind in ["officer_assigned", "fix_proposed", "approved", "fix_merged"] {
            assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn freepbx_refuses_an_advisory_before_the_fix_released_on_every_supported_line() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (case, _) = app
            .create_report(&report("freepbx", "SQL injection in the CDR module"))
            .await;
        let (_, s) = person(&app, "fran@freepbx.test", "freepbx", "officer").await;
        let today = jiff::Timestamp::now().to_string()[..10].to_owned();
        let publish = json!({"action": "publish-advisory", "on": today});
        let (status, e) = triage(&app, &s, case, json!({"action": "accept"})).await;
        assert_eq!(status, 201, "on {}: {e}", db.label);
        let (status, e) = triage(&app, &s, case, publish.clone()).await;
        assert_eq!(status, 409, "{e}");
        assert!(
            message(&e).contains("only once the issue is verified and fixed"),
            "{e}"
        );
        // Current stable and one major back are affected; the next major is not.
        for (line, update) in [
            ("17", json!({"action": "affected"})),
            ("16", json!({"action": "affected"})),
            ("18", json!({"action": "not-affected"})),
            (
                "17",
                json!({"action": "released", "version": "17.0.4", "on": today}),
            ),
        ] {
            let mut body = update.clone();
            body["line"] = json!(line);
            let (status, e) = act(&app, &s, case, "lines", body).await;
            assert_eq!(status, 201, "{line} {update}: {e}");
        }
        // One supported line still waits for its release: still no advisory.
        let (status, e) = triage(&app, &s, case, publish.clone()).await;
        assert_eq!(status, 409, "{e}");
        let body = json!({"action": "released", "line": "16", "version": "16.0.41", "on": today});
        let (status, e) = act(&app, &s, case, "lines", body).await;
        assert_eq!((status, e["state"].as_str()), (201, Some("fixed")), "{e}");
        let view = case_json(&app, &s, case).await;
        let released: Vec<&Value> = view["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| &l["released"])
            .collect();
        assert_eq!(released[1], &Value::Null, "18 is not affected: {view}");
        assert_eq!(released[2]["version"], "16.0.41");
        let (status, e) = triage(&app, &s, case, publish).await;
        assert_eq!(status, 201, "{e}");
    })
    .await;
}

#[tokio::test]
async fn signalen_walks_its_nine_steps_from_report_to_announcement() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (case, token) = app.create_report(&report("signalen", "Stored XSS in the map view")).await;
        let (_, lead) = person(&app, "lea@signalen.test", "signalen", "officer").await;
        let (dev_id, dev) = person(&app, "dirk@signalen.test", "signalen", "member").await;
        let (reviewer_id, reviewer) = person(&app, "rita@signalen.test", "signalen", "reviewer").await;
        let today = jiff::Timestamp::now().to_string()[..10].to_owned();
        let stage = |stage: &str, evidence: &str| json!({"action": "complete-stage", "stage": stage, "evidence": evidence});

        // 1-2: validate, then confirm to the reporter.
        let (status, e) = triage(&app, &dev, case, stage("validate", "reproduced on 2.3.1")).await;
        assert_eq!(status, 201, "on {}: {e}", db.label);
        let (status, e) = triage(&app, &lead, case, json!({"action": "accept"})).await;
        assert_eq!(status, 201, "{e}");
        let (status, e) = act(&app, &lead, case, "messages", json!({"body": "Confirmed: this is a valid issue; we are on it."})).await;
        assert_eq!(status, 201, "{e}");
        for (name, evidence) in [
            ("confirm", "message to the reporter"),
            ("private-discussion", "https://github.com/signalen/security/issues/12"),
            ("draft-advisory", "GHSA draft, visible to the steering group"),
            ("request-cve", "requested from GitHub"),
        ] {
            let (status, e) = triage(&app, &lead, case, stage(name, evidence)).await;
            assert_eq!(status, 201, "{name}: {e}");
        }
        // 6: the patch in a private fork, reviewed by the steering group, not its author.
        let (status, e) = triage(&app, &dev, case, json!({"action": "propose-fix", "reference": "signalen/private-fork#7"})).await;
        assert_eq!(status, 201, "{e}");
        let (status, e) = act(&app, &dev, case, "approvals", json!({"step": "merge-fix"})).await;
        assert_eq!(status, 409, "{e}");
        assert!(message(&e).contains("you wrote what merge-fix is about"), "{e}");
        let (status, e) = act(&app, &reviewer, case, "approvals", json!({"step": "merge-fix", "note": "Reviewed and tested."})).await;
        assert_eq!(status, 201, "{e}");
        // 7-8: the fix is merged and released only once the service providers were told.
        let (status, e) = triage(&app, &lead, case, json!({"action": "merge-fix"})).await;
        assert_eq!(status, 409, "{e}");
        assert!(message(&e).contains("the stage notify-providers completed"), "{e}");
        let (status, e) = triage(&app, &lead, case, json!({"action": "release-fix", "on": today})).await;
        assert_eq!(status, 409, "{e}");
        let (status, e) = triage(&app, &lead, case, stage("patch-in-private", "signalen/private-fork#7")).await;
        assert_eq!(status, 201, "{e}");
        let (status, e) = triage(&app, &lead, case, stage("notify-providers", "release date agreed with the three known providers")).await;
        assert_eq!(status, 201, "{e}");
        // The stage alone is not enough: the known service providers (the demo registry's)
        // are told through the desk and the release date agreed with them.
        let (status, e) = triage(&app, &lead, case, json!({"action": "merge-fix"})).await;
        assert_eq!(status, 409, "{e}");
        assert!(message(&e).contains("service providers invited under embargo"), "{e}");
        let reply_by = jiff::Timestamp::now().to_string()[..10].to_owned();
        let (status, e) = act(&app, &lead, case, "parties", json!({"kinds": ["service-provider"], "reply_by": reply_by, "summary": "A stored XSS in the map view; fixed in the next release."})).await;
        assert_eq!(status, 201, "{e}");
        let (status, e) = triage(&app, &lead, case, json!({"action": "merge-fix"})).await;
        assert_eq!(status, 409, "{e}");
        assert!(message(&e).contains("a coordinated release agreed with the service providers"), "{e}");
        let (status, e) = act(&app, &lead, case, "embargo", json!({"action": "agree-release", "at": format!("{today}T23:00:00Z")})).await;
        assert_eq!(status, 201, "{e}");
        for action in [json!({"action": "merge-fix"}), json!({"action": "release-fix", "on": today})] {
            let (status, e) = triage(&app, &lead, case, action.clone()).await;
            assert_eq!(status, 201, "{action}: {e}");
        }
        // The advisory published elsewhere (GitHub's) is recorded once the steering group
        // reviewed it, as one drafted here would be.
        let publish = json!({"action": "publish-advisory", "on": today});
        let (status, e) = triage(&app, &lead, case, publish.clone()).await;
        assert_eq!(status, 409, "{e}");
        assert!(message(&e).contains("review by 1 member of technical-steering-group"), "{e}");
        let (status, e) = act(&app, &reviewer, case, "approvals", json!({"step": "publish-advisory"})).await;
        assert_eq!(status, 201, "{e}");
        let (status, e) = triage(&app, &lead, case, publish).await;
        assert_eq!(status, 201, "{e}");
        // 9: the announcement.
        let (status, e) = triage(&app, &lead, case, stage("announce", "mailing list and Common Ground Slack")).await;
        assert_eq!(status, 201, "{e}");

        let view = case_json(&app, &reviewer, case).await;
        assert_eq!(view["state"], "disclosed");
        let stages = view["workflow"]["stages"].as_array().unwrap();
        assert_eq!(stages.len(), 9);
        assert!(stages.iter().all(|s| !s["done"].is_null()), "every step done: {stages:?}");
        assert_eq!(stages[0]["done"]["by"], format!("user:{dev_id}"));
        assert_eq!(stages[0]["done"]["evidence"], "reproduced on 2.3.1");
        assert_eq!(view["workflow"]["gates"][0]["approved_by"], json!([reviewer_id]));
        // The reviewer reads the process on the page; the reporter is not shown it.
        let page = page(&app, &reviewer.cookie, &format!("/cases/{case}")).await.text().await.unwrap();
        assert!(page.contains("id=\"stage-notify-providers\" class=\"done\""), "{page}");
        let mine = app.get_report(&case.to_string(), Some(&token)).await.text().await.unwrap();
        assert!(mine.contains("advisory_published"), "{mine}");
        for private in ["stage_completed", "fix_proposed", "approved", "private-fork"] {
            assert!(!mine.contains(private), "{private} in the reporter's view: {mine}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_leak_breaks_the_embargo_and_moves_disclosure_for_the_team_and_the_reporter() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (case, token) = app
            .create_report(&report("salestim", "IDOR in the Teams export"))
            .await;
        let (_, s) = person(&app, "sally@salestim.test", "salestim", "officer").await;
        let disclosure = |view: &Value| {
            view["clocks"]["clocks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["kind"] == "disclosure")
                .cloned()
                .unwrap_or_else(|| panic!("no disclosure clock in {view}"))
        };
        let before = disclosure(&case_json(&app, &s, case).await);
        let today = jiff::Timestamp::now().to_string()[..10].to_owned();
        let (status, e) = triage(
            &app,
            &s,
            case,
            json!({"action": "leak-observed", "on": today}),
        )
        .await;
        assert_eq!(status, 201, "on {}: {e}", db.label);
        // SalesTim: 7 days once the embargo broke, on the next business day.
        let after = disclosure(&case_json(&app, &s, case).await);
        assert!(
            after["due"].as_str() < before["due"].as_str(),
            "{before} then {after}"
        );
        let steps = after["derivation"].to_string();
        assert!(
            steps.contains("the embargo broke: details leaked"),
            "{steps}"
        );
        assert!(steps.contains("it applies"), "{steps}");
        // The reporter's view shows the same date.
        let theirs: Value = app
            .get_report(&case.to_string(), Some(&token))
            .await
            .json()
            .await
            .unwrap();
        let shown = theirs.to_string();
        assert!(shown.contains(after["due"].as_str().unwrap()), "{shown}");
        assert!(shown.contains("leaked"), "{shown}");
    })
    .await;
}

#[tokio::test]
async fn a_freepbx_bounty_is_proposed_approved_by_another_officer_paid_and_told_to_the_reporter() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let mut body = report("freepbx", "Auth bypass in the UCP");
        body["fields"] = json!({"version": "17.0.2"});
        let (case, token) = app.create_report(&body).await;
        let (_, fran) = person(&app, "fran@freepbx.test", "freepbx", "officer").await;
        let (_, fred) = person(&app, "fred@freepbx.test", "freepbx", "officer").await;
        let (status, e) = triage(&app, &fran, case, json!({"action": "accept"})).await;
        assert_eq!(status, 201, "on {}: {e}", db.label);
        let view = case_json(&app, &fran, case).await;
        let checks = &view["bounty"]["checks"];
        assert_eq!(checks[3]["met"], true, "17.x is supported: {checks}");
        assert_eq!(checks[4]["met"], Value::Null, "compliance is the team's to attest");
        let propose = json!({"action": "propose", "amount": "0.01 BTC", "policy_followed": true});
        let (status, e) = act(&app, &fran, case, "bounty", propose).await;
        assert_eq!(status, 201, "{e}");
        let (status, e) = act(&app, &fran, case, "bounty", json!({"action": "approve"})).await;
        assert_eq!(status, 403, "{e}");
        assert!(message(&e).contains("you proposed this award"), "{e}");
        // The second officer approves on the page; the reporter is told in the portal and by mail.
        let page = page(&app, &fred.cookie, &format!("/cases/{case}")).await.text().await.unwrap();
        assert!(page.contains("id=\"bounty-approve\""), "the approval is offered");
        let approved = post_form(&app, &fred.cookie, &format!("/cases/{case}/bounty"), &[("csrf", &fred.csrf), ("action", "approve")]).await;
        assert_eq!(approved.status().as_u16(), 303);
        let portal = format!("/r/{case}/{token}");
        let theirs = app.get(&portal).await.text().await.unwrap();
        assert!(theirs.contains("FreePBX awards you a bounty of 0.01 BTC"), "{theirs}");
        assert!(theirs.contains("To stay anonymous"), "{theirs}");
        assert!(!theirs.contains("bounty_proposed"), "the team's deliberation stays internal: {theirs}");
        let jobs = app.store.jobs_for_case(case).await.unwrap();
        assert!(
            jobs.iter().any(|j| j.payload["to"] == json!(["finder@example.org"]) && j.kind == "mail" && j.payload["raw"].as_str().is_some_and(|r| r.contains("bounty"))),
            "the award is mailed to the reporter"
        );
        let pay = json!({"action": "pay", "method": "bitcoin", "address": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", "reference": "tx 4a5e", "on": jiff::Timestamp::now().to_string()[..10]});
        let (status, e) = act(&app, &fred, case, "bounty", pay).await;
        assert_eq!(status, 201, "{e}");
        let theirs = app.get(&portal).await.text().await.unwrap();
        assert!(theirs.contains("FreePBX paid your bounty of 0.01 BTC by bitcoin"), "{theirs}");
        assert!(!theirs.contains("bc1qxy2"), "the address stays with the team: {theirs}");
    })
    .await;
}
