//! The security team's workspace end to end: signing in (password, authenticator,
//! recovery codes, throttling), CSRF, triage through the API with the state machine's
//! refusals, what the reporter does and does not see, the dashboard's filters and search,
//! mail to the reporter and to mentioned teammates, and `vulndesk user`.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, COOKIE};
use serde_json::{Value, json};
use tokio::process::Command;
use vulndesk_desk::accounts;
use vulndesk_mail::testing::SmtpSink;

use crate::helpers::{
    BIN, RATE_LIMIT_ENV, TestApp, on_each_database, report, spawn_app, spawn_app_with,
};
use crate::mail_support::Gpg;
use crate::team_support::{
    PASSWORD, Session, act, add_member, api_token, case_json, hidden, location, page, post_form,
    session_for, sign_in_password,
};

fn unix_now() -> u64 {
    jiff::Timestamp::now().as_second() as u64
}

#[tokio::test]
async fn an_officer_signs_in_with_password_then_authenticator_and_recovery_codes_work_once() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let id = add_member(
            &app,
            "olivia@example.org",
            false,
            &[("kamailio", "officer")],
        )
        .await;
        // Officers need a second factor (what `vulndesk user add` sets for them).
        app.store
            .reset_user(
                id,
                &accounts::hash_password(PASSWORD).unwrap(),
                jiff::Timestamp::now(),
            )
            .await
            .unwrap();
        set_totp_required(&app, id).await;

        // Password: right, then the authenticator is set up.
        let (answer, cookie) = sign_in_password(&app, "olivia@example.org", PASSWORD).await;
        assert_eq!(answer.status().as_u16(), 303, "on {}", db.label);
        assert_eq!(location(&answer), "/signin/enrol?next=%2Fdashboard");
        let pending = cookie.expect("a pending session");
        // Half signed in is not signed in.
        let blocked = page(&app, &pending, "/dashboard").await;
        assert_eq!(location(&blocked), "/signin?next=%2Fdashboard");
        let enrol = page(&app, &pending, "/signin/enrol?next=/dashboard")
            .await
            .text()
            .await
            .unwrap();
        let secret = between(&enrol, "<code id=\"totp-secret\">", "</code>");
        let csrf = hidden(&enrol, "csrf").unwrap();
        let wrong = post_form(
            &app,
            &pending,
            "/signin/enrol",
            &[
                ("csrf", &csrf),
                ("secret", &secret),
                ("code", "000000"),
                ("next", "/dashboard"),
            ],
        )
        .await;
        assert_eq!(wrong.status().as_u16(), 422);
        let code = accounts::totp_code(&secret, unix_now()).unwrap();
        let done = post_form(
            &app,
            &pending,
            "/signin/enrol",
            &[
                ("csrf", &csrf),
                ("secret", &secret),
                ("code", &code),
                ("next", "/dashboard"),
            ],
        )
        .await;
        assert_eq!(done.status().as_u16(), 200);
        let full = crate::team_support::set_cookie(&done, "vd_session").expect("a new session id");
        assert_ne!(
            full, pending,
            "the session id changes when sign-in completes"
        );
        let codes_page = done.text().await.unwrap();
        let codes: Vec<String> = codes_page
            .split("<li><code>")
            .skip(1)
            .map(|c| c.split("</code>").next().unwrap().to_owned())
            .collect();
        assert_eq!(codes.len(), 10, "{codes_page}");
        assert_eq!(page(&app, &full, "/dashboard").await.status().as_u16(), 200);
        assert_eq!(
            page(&app, &pending, "/dashboard").await.status().as_u16(),
            303,
            "the pending id is dead"
        );

        // Next time: password, then a code; the code just used is refused, a recovery
        // code works once.
        let (answer, cookie) = sign_in_password(&app, "olivia@example.org", PASSWORD).await;
        assert_eq!(location(&answer), "/signin/second-factor?next=%2Fdashboard");
        let pending = cookie.unwrap();
        let form = page(&app, &pending, "/signin/second-factor?next=/dashboard")
            .await
            .text()
            .await
            .unwrap();
        let csrf = hidden(&form, "csrf").unwrap();
        let again = post_form(
            &app,
            &pending,
            "/signin/second-factor",
            &[("csrf", &csrf), ("code", &code)],
        )
        .await;
        assert_eq!(again.status().as_u16(), 401, "a code works once");
        let recovered = post_form(
            &app,
            &pending,
            "/signin/second-factor",
            &[("csrf", &csrf), ("code", &codes[0].to_uppercase())],
        )
        .await;
        assert_eq!(recovered.status().as_u16(), 303, "on {}", db.label);
        assert_eq!(app.store.recovery_codes_left(id).await.unwrap(), 9);
        let (_, cookie) = sign_in_password(&app, "olivia@example.org", PASSWORD).await;
        let pending = cookie.unwrap();
        let form = page(&app, &pending, "/signin/second-factor")
            .await
            .text()
            .await
            .unwrap();
        let csrf = hidden(&form, "csrf").unwrap();
        let reused = post_form(
            &app,
            &pending,
            "/signin/second-factor",
            &[("csrf", &csrf), ("code", &codes[0])],
        )
        .await;
        assert_eq!(reused.status().as_u16(), 401, "a recovery code works once");
        // None of the secrets reached the server's log.
        let log = app.log();
        assert!(log.contains("signed in"), "the log is read: {log}");
        for secret in [
            PASSWORD,
            secret.as_str(),
            full.as_str(),
            pending.as_str(),
            codes[1].as_str(),
        ] {
            assert!(!log.contains(secret), "a secret in the log");
        }
    })
    .await;
}

async fn set_totp_required(app: &TestApp, id: i64) {
    let sql = format!("UPDATE users SET totp_required = TRUE WHERE id = {id}");
    match &app.store {
        vulndesk_store::Store::Sqlite(vulndesk_store::SqliteStore { pool: p, .. }) => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(p)
                .await
                .map(drop)
        }
        vulndesk_store::Store::Postgres(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(p)
            .await
            .map(drop),
    }
    .unwrap();
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {text}"))
        + start.len();
    text[from..].split(end).next().unwrap().to_owned()
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_and_disabled_accounts_are_shut_out() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let id = add_member(&app, "m@example.org", false, &[("kamailio", "member")]).await;
        let (ok, cookie) = sign_in_password(&app, "m@example.org", PASSWORD).await;
        assert_eq!(
            location(&ok),
            "/dashboard",
            "no second factor required for members"
        );
        let session = cookie.unwrap();
        // The same answer for a wrong password and an unknown account.
        let (wrong, _) = sign_in_password(&app, "m@example.org", "not the password").await;
        let (unknown, _) = sign_in_password(&app, "nobody@example.org", "not the password").await;
        assert_eq!(
            (wrong.status().as_u16(), unknown.status().as_u16()),
            (401, 401)
        );
        let (w, u) = (wrong.text().await.unwrap(), unknown.text().await.unwrap());
        assert!(w.contains("The e-mail address or password is not right."));
        assert_eq!(
            between(&w, "<p id=\"signin-error\">", "</p>"),
            between(&u, "<p id=\"signin-error\">", "</p>")
        );
        for _ in 0..4 {
            sign_in_password(&app, "m@example.org", "still wrong").await;
        }
        // Five failures: even the right password waits now.
        let (throttled, _) = sign_in_password(&app, "m@example.org", PASSWORD).await;
        assert_eq!(throttled.status().as_u16(), 429, "on {}", db.label);
        let retry: u64 = throttled.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry > 0 && retry <= 15 * 60, "{retry}");
        // Disabling ends the session at once.
        assert_eq!(
            page(&app, &session, "/dashboard").await.status().as_u16(),
            200
        );
        app.store
            .disable_user(id, jiff::Timestamp::now())
            .await
            .unwrap();
        assert_eq!(
            page(&app, &session, "/dashboard").await.status().as_u16(),
            303
        );
    })
    .await;
}

#[tokio::test]
async fn state_changes_need_the_csrf_token_and_api_tokens_their_scope() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (case, _) = app.create_report(&report("kamailio", "CSRF case")).await;
        let id = add_member(&app, "m@example.org", false, &[("kamailio", "member")]).await;
        let s = session_for(&app, id).await;
        let cookie = format!("vd_session={}", s.cookie);
        let path = format!("/cases/{case}/notes");
        let forged = app
            .client
            .post(app.url(&path))
            .header(COOKIE, &cookie)
            .form(&[("body", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status().as_u16(), 403, "on {}", db.label);
        let wrong = app
            .client
            .post(app.url(&path))
            .header(COOKIE, &cookie)
            .form(&[("body", "x"), ("csrf", "0")])
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status().as_u16(), 403);
        let json = app
            .client
            .post(app.url(&format!("/api/v1/cases/{case}/notes")))
            .header(COOKIE, &cookie)
            .json(&json!({"body": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            json.status().as_u16(),
            403,
            "cookie-authenticated JSON needs the header too"
        );
        let good = post_form(
            &app,
            &s.cookie,
            &path,
            &[("body", "real"), ("csrf", &s.csrf)],
        )
        .await;
        assert_eq!(good.status().as_u16(), 303);
        assert_eq!(kinds(&app, case).await.last().unwrap(), "note_added");

        // API tokens: no CSRF (no cookie), but only their scopes.
        let read = api_token(&app, id, &["cases:read"]).await;
        let write = api_token(&app, id, &["cases:write"]).await;
        let api = |t: &str, method: reqwest::Method, path: &str| {
            app.client
                .request(method, app.url(path))
                .header(AUTHORIZATION, format!("Bearer {t}"))
        };
        let listed = api(&read, reqwest::Method::GET, "/api/v1/cases")
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status().as_u16(), 200);
        let refused = api(
            &read,
            reqwest::Method::POST,
            &format!("/api/v1/cases/{case}/notes"),
        )
        .json(&json!({"body": "x"}))
        .send()
        .await
        .unwrap();
        assert_eq!(refused.status().as_u16(), 403);
        let noted = api(
            &write,
            reqwest::Method::POST,
            &format!("/api/v1/cases/{case}/notes"),
        )
        .json(&json!({"body": "by token"}))
        .send()
        .await
        .unwrap();
        assert_eq!(noted.status().as_u16(), 201);
        let bogus = api("vdt_0000", reqwest::Method::GET, "/api/v1/cases")
            .send()
            .await
            .unwrap();
        assert_eq!(bogus.status().as_u16(), 401);
        app.store
            .disable_user(id, jiff::Timestamp::now())
            .await
            .unwrap();
        let after = api(&write, reqwest::Method::GET, "/api/v1/cases")
            .send()
            .await
            .unwrap();
        assert_eq!(
            after.status().as_u16(),
            401,
            "a disabled account's tokens stop working"
        );
    })
    .await;
}

async fn kinds(app: &TestApp, case: i64) -> Vec<String> {
    app.store
        .events(case)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

#[tokio::test]
async fn triage_through_the_api_follows_the_state_machine_and_the_policy() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let mut body = report("salestim", "Token leak in the Teams app");
        body["fields"] = json!({"version": "1.4.2"});
        let (case, token) = app.create_report(&body).await;
        let (other, _) = app.create_report(&report("salestim", "Same leak")).await;
        let (elsewhere, _) = app.create_report(&report("kamailio", "Unrelated")).await;
        let officer = add_member(&app, "olivia@example.org", false, &[("salestim", "officer")]).await;
        let member = add_member(&app, "mo@example.org", false, &[("salestim", "member")]).await;
        let s = session_for(&app, member).await;
        let boss = session_for(&app, officer).await;

        // The case shows the version is out of support, and suggests the decline.
        let view = case_json(&app, &s, case).await;
        assert_eq!(view["support"]["suggest_decline"], true, "on {}: {view}", db.label);
        assert_eq!(view["support"]["support"]["support"], "unsupported");

        // Refusals name the field and say why.
        let (status, e) = act(&app, &s, case, "triage", json!({"action": "decline", "reason": "insecure-configuration"})).await;
        assert_eq!(status, 422, "{e}");
        assert_eq!(e["error"]["field"], "reason");
        assert!(e["error"]["message"].as_str().unwrap().contains("this policy does not decline reports as insecure-configuration"));
        let (status, e) = act(&app, &s, case, "triage", json!({"action": "decline", "reason": "duplicate", "duplicate_of": elsewhere})).await;
        assert_eq!((status, e["error"]["field"].as_str()), (422, Some("duplicate_of")), "{e}");
        let (status, e) = act(&app, &s, case, "triage", json!({"action": "start-fix"})).await;
        assert_eq!(status, 409, "{e}");
        assert_eq!(e["error"]["message"], "only an accepted case can be fixed; accept it first");
        let (status, e) = act(&app, &s, case, "severity", json!({"vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H"})).await;
        assert_eq!((status, e["error"]["field"].as_str()), (422, Some("vector")), "{e}");
        let (status, _) = act(&app, &s, case, "officer", json!({"user_id": officer})).await;
        assert_eq!(status, 403, "only an officer assigns the officer");
        let (status, e) = act(&app, &boss, case, "officer", json!({"user_id": member})).await;
        assert_eq!((status, e["error"]["field"].as_str()), (422, Some("user_id")), "{e}");
        let (status, e) = act(&app, &boss, case, "deadlines", json!({"clock": "disclosure", "due": "2027-01-01", "reason": " "})).await;
        assert_eq!(status, 422, "an override needs a reason: {e}");
        assert_eq!(kinds(&app, case).await.len(), 2, "no refusal wrote anything");

        // Ask for more, hear back, score, assign, decline as unsupported.
        assert_eq!(act(&app, &s, case, "triage", json!({"action": "request-info", "message": "Which build of the app?"})).await.0, 201);
        assert_eq!(state(&app, &s, case).await, "needs-info");
        let reply = app.client.post(app.url(&format!("/api/v1/reports/{case}/replies"))).bearer_auth(&token).json(&json!({"body": "Build 1.4.2"})).send().await.unwrap();
        assert_eq!(reply.status().as_u16(), 201);
        assert_eq!(state(&app, &s, case).await, "new");
        let (status, _) = act(&app, &s, case, "severity", json!({"vector": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"})).await;
        assert_eq!(status, 201);
        assert_eq!(act(&app, &boss, case, "officer", json!({"user_id": officer})).await.0, 201);
        assert_eq!(act(&app, &s, case, "notes", json!({"body": "Looks like **1.x** only; @olivia agree?"})).await.0, 201);
        let (status, _) = act(&app, &s, case, "triage", json!({"action": "decline", "reason": "unsupported-version", "note": "1.x is out of support"})).await;
        assert_eq!(status, 201);
        let view = case_json(&app, &s, case).await;
        assert_eq!(view["state"], "declined");
        assert_eq!(view["incomplete"], true, "more information was requested");
        let html = page(&app, &s.cookie, &format!("/cases/{case}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("id=\"deadlines-settled\""), "declined: nothing more is owed");
        assert!(html.contains("id=\"case-incomplete\""));
        assert_eq!(view["severity"]["score"], 9.3);
        assert_eq!(view["severity"]["rating"], "critical");
        assert_eq!(view["officer_id"], officer);
        let note = view["timeline"].as_array().unwrap().iter().find(|e| e["event"]["type"] == "note_added").unwrap();
        assert_eq!(note["visibility"], "internal");
        assert_eq!(note["event"]["mentions"], json!([officer]));
        assert_eq!(note["actor_name"], "mo");

        // The reporter sees the request and the state, never the note.
        let mine: Value = app.get_report(&case.to_string(), Some(&token)).await.json().await.unwrap();
        let seen = mine.to_string();
        assert!(!seen.contains("@olivia") && !seen.contains("out of support"), "{seen}");
        for internal in ["note_added", "severity_assessed", "officer_assigned"] {
            assert!(!seen.contains(internal), "{internal} is the team's business: {seen}");
        }
        assert!(seen.contains("info_requested") && seen.contains("declined"), "{seen}");
        let portal = app.get(&format!("/r/{case}/{token}")).await.text().await.unwrap();
        assert!(portal.contains("Which build of the app?"));
        assert!(!portal.contains("@olivia"), "notes never reach the portal");

        // The duplicate of another case of the same organisation is accepted.
        let (status, e) = act(&app, &s, other, "triage", json!({"action": "decline", "reason": "duplicate", "duplicate_of": case})).await;
        assert_eq!(status, 201, "{e}");
        // Both reporters stay on record: the original case lists the duplicate's reporter.
        let view: Value = case_json(&app, &s, case).await;
        assert_eq!(
            view["duplicates"],
            json!([{"case": other, "reporter": "finder@example.org"}]),
            "on {}",
            db.label
        );
        // The mention queued a notice to the officer, naming the case but not the note.
        let jobs = app.store.jobs_for_case(case).await.unwrap();
        let notice = jobs.iter().find(|j| j.payload["to"] == json!(["olivia@example.org"])).expect("a notice to the officer");
        let raw = notice.payload["raw"].as_str().unwrap();
        assert!(raw.contains(&format!("case {case}")) && !raw.contains("1.x only"), "{raw}");

        // Its reply address is Olivia's own on this case: her answer by mail joins as her
        // internal note, never as the reporter's words.
        let reply_to = &raw[raw.find("Reply-To:").unwrap_or_else(|| panic!("a Reply-To: {raw}"))..];
        let start = reply_to.find("security+").unwrap_or_else(|| panic!("tagged: {raw}")) + 9;
        let tag = &reply_to[start..start + 32];
        assert_ne!(tag, app.store.case(case).await.unwrap().unwrap().reply_tag, "not the reporter's address");
        let mail = format!(
            "From: Olivia <olivia@example.org>\r\nTo: security+{tag}@salestim.com\r\n\
             Message-ID: <olivia-1@example.org>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\n\
             Subject: Re: case {case}\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nAgreed, Pineapple builds only.\r\n"
        );
        let args = ["mail", "ingest", "--org", "salestim", "--db", &db.url];
        let run = crate::mail_support::run(&args, mail.as_bytes(), &[]).await;
        assert_eq!((run.code, run.stdout.trim()), (0, format!("joined case {case}").as_str()), "{}", run.stderr);
        let view = case_json(&app, &s, case).await;
        let joined = view["timeline"].as_array().unwrap().iter().find(|e| {
            e["event"]["type"] == "note_added" && e["event"]["body"].as_str().unwrap().contains("Pineapple")
        });
        let joined = joined.unwrap_or_else(|| panic!("on {}: her mail is a note: {view}", db.label));
        assert_eq!(joined["visibility"], "internal");
        assert_eq!(joined["actor_name"], "olivia");
        let mine: Value = app.get_report(&case.to_string(), Some(&token)).await.json().await.unwrap();
        assert!(!mine.to_string().contains("Pineapple"), "the reporter never reads it: {mine}");
        let participants = app.store.participants(case).await.unwrap();
        let roles: Vec<_> = participants.iter().map(|p| (p.role.as_str(), p.user_id)).collect();
        assert_eq!(roles, [("reporter", None), ("team", Some(officer))]);
        // The team sees who takes part by mail, never their reply addresses.
        let listed = &view["participants"];
        assert_eq!((listed[0]["role"].as_str(), listed[1]["user_id"].as_i64()), (Some("reporter"), Some(officer)), "{listed}");
        let html = page(&app, &s.cookie, &format!("/cases/{case}")).await.text().await.unwrap();
        assert!(html.contains("the reporter, olivia (team)"), "{html}");
        for p in &participants {
            assert!(!view.to_string().contains(&p.reply_tag) && !html.contains(&p.reply_tag));
        }
    })
    .await;
}

async fn state(app: &TestApp, s: &Session, case: i64) -> String {
    case_json(app, s, case).await["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_dashboard_lists_what_each_person_may_see_and_finds_words() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (a, _) = app
            .create_report(&report(
                "kamailio",
                "Heap overflow in the zanzibar SDP parser",
            ))
            .await;
        let (b, _) = app
            .create_report(&report(
                "salestim",
                "Open redirect after sign-in to zanzibar",
            ))
            .await;
        let member = add_member(&app, "k@example.org", false, &[("kamailio", "member")]).await;
        let reviewer =
            add_member(&app, "rev@example.org", false, &[("kamailio", "reviewer")]).await;
        let s = session_for(&app, member).await;
        let r = session_for(&app, reviewer).await;
        act(
            &app,
            &s,
            a,
            "notes",
            json!({"body": "bisected to commit deadbeef"}),
        )
        .await;
        let list = |s: Session, q: &'static str| {
            let app = &app;
            async move {
                let v: Value = s
                    .on(app.client.get(app.url(&format!("/api/v1/cases?{q}"))))
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
                    .collect::<Vec<_>>()
            }
        };
        let mine = list(s.clone(), "state=all").await;
        assert!(
            mine.contains(&a) && !mine.contains(&b),
            "on {}: {mine:?}",
            db.label
        );
        assert_eq!(list(s.clone(), "q=ZANZIBAR%20sdp").await, vec![a]);
        assert_eq!(
            list(s.clone(), "q=deadbeef").await,
            vec![a],
            "notes are searched for the team"
        );
        assert_eq!(
            list(r.clone(), "q=deadbeef").await,
            Vec::<i64>::new(),
            "but not for reviewers"
        );
        assert_eq!(list(r.clone(), "q=zanzibar").await, vec![a]);
        assert_eq!(
            list(s.clone(), "q=redirect").await,
            Vec::<i64>::new(),
            "other organisations' cases stay hidden"
        );
        assert_eq!(
            list(s.clone(), "org=kamailio&state=new").await.first(),
            Some(&a)
        );
        assert!(list(s.clone(), "state=closed").await.is_empty());
        let bad = s
            .on(app.client.get(app.url("/api/v1/cases?state=open-ish")))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status().as_u16(), 422);
        let e: Value = bad.json().await.unwrap();
        assert_eq!(e["error"]["field"], "state");
        let html = page(&app, &s.cookie, "/dashboard?q=zanzibar")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains(&format!("id=\"case-{a}\""))
                && !html.contains(&format!("id=\"case-{b}\""))
        );
    })
    .await;
}

#[tokio::test]
async fn a_team_message_reaches_the_reporter_encrypted_to_the_key_they_set_later() {
    on_each_database(|db| async move {
        let sink = SmtpSink::start();
        let app = spawn_app_with(
            &db,
            &[(RATE_LIMIT_ENV, "off"), ("VULNDESK_SMTP_URL", &sink.url())],
        )
        .await;
        let (case, token) = app.create_report(&report("freepbx", "Heap overflow")).await;
        let receipt = sink.wait_for(1, Duration::from_secs(30));
        assert_eq!(receipt.len(), 1, "the plain receipt first");
        // The reporter sets a key in the portal after filing.
        let gpg = Gpg::new();
        let fpr = gpg.reporter_key("finder@example.org");
        let form = reqwest::multipart::Form::new().text("public_key", gpg.export(&fpr));
        let set = app.post_form(&format!("/r/{case}/{token}/key"), form).await;
        assert_eq!(set.status().as_u16(), 303);
        let id = add_member(&app, "t@example.org", false, &[("freepbx", "member")]).await;
        let s = session_for(&app, id).await;
        let (status, _) = act(
            &app,
            &s,
            case,
            "messages",
            json!({"body": "We reproduced it; a fix is planned for 17.0.3."}),
        )
        .await;
        assert_eq!(status, 201);
        let got = sink.wait_for(2, Duration::from_secs(30));
        assert_eq!(got.len(), 2, "on {}: {}", db.label, app.log());
        // The sink does not keep arrival order: the message is the one that is not the receipt.
        let mail = got
            .iter()
            .find(|m| !m.contains("automatic receipt"))
            .unwrap_or_else(|| panic!("{got:?}"));
        assert!(
            mail.contains("multipart/encrypted") && !mail.contains("17.0.3"),
            "{mail}"
        );
        let start = mail.find("-----BEGIN PGP MESSAGE-----").unwrap();
        let end =
            mail.find("-----END PGP MESSAGE-----").unwrap() + "-----END PGP MESSAGE-----".len();
        let plain =
            String::from_utf8(gpg.ok(&["--decrypt"], &mail.as_bytes()[start..end])).unwrap();
        assert!(plain.contains("a fix is planned for 17.0.3"), "{plain}");
        // FreePBX's human acknowledgement is met by the team's message.
        let clocks: Value = app
            .get_report(&case.to_string(), Some(&token))
            .await
            .json()
            .await
            .unwrap();
        let ack = clocks["clocks"]
            .as_array()
            .unwrap_or_else(|| panic!("{clocks}"))
            .iter()
            .find(|c| c["kind"] == "acknowledge")
            .unwrap_or_else(|| panic!("{clocks}"))
            .clone();
        assert!(!ack["met"].is_null(), "{ack}");
    })
    .await;
}

#[tokio::test]
async fn vulndesk_user_manages_accounts_from_the_command_line() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let run = |args: Vec<String>, stdin: Option<&'static str>| {
            let url = db.url.clone();
            async move {
                let mut c = Command::new(BIN);
                c.arg("user")
                    .args(&args)
                    .args(["--db", &url])
                    .env_remove("VULNDESK_DB");
                c.stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                let mut child = c.spawn().unwrap();
                if let Some(text) = stdin {
                    use tokio::io::AsyncWriteExt;
                    child
                        .stdin
                        .take()
                        .unwrap()
                        .write_all(text.as_bytes())
                        .await
                        .unwrap();
                } else {
                    drop(child.stdin.take());
                }
                let out = child.wait_with_output().await.unwrap();
                (
                    out.status.code().unwrap_or(-1),
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                )
            }
        };
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        let (code, out, err) = run(
            s(&[
                "add",
                "Ada@Example.org",
                "--name",
                "Ada",
                "--member",
                "kamailio=officer",
            ]),
            None,
        )
        .await;
        assert_eq!(code, 0, "{err}");
        let password = out
            .lines()
            .find_map(|l| l.strip_prefix("password: "))
            .unwrap()
            .to_owned();
        assert!(
            out.contains("an authenticator is set up at the first sign-in"),
            "{out}"
        );
        let user = app
            .store
            .user_by_email("ada@example.org")
            .await
            .unwrap()
            .unwrap();
        assert!(user.totp_required && accounts::verify_password(&password, &user.password_hash));
        let (code, _, err) = run(s(&["add", "ada@example.org", "--name", "Ada"]), None).await;
        assert_eq!(code, 2, "a second account with the address: {err}");
        assert!(err.contains("already exists"), "{err}");
        let (code, _, err) = run(
            s(&[
                "add",
                "b@example.org",
                "--name",
                "B",
                "--member",
                "kamailio=boss",
            ]),
            None,
        )
        .await;
        assert_eq!(code, 2);
        assert!(err.contains("unknown role \"boss\""), "{err}");
        let (code, _, err) = run(
            s(&["add", "c@example.org", "--name", "C", "--password-stdin"]),
            Some("short\n"),
        )
        .await;
        assert_eq!(code, 1);
        assert!(err.contains("at least 12 characters"), "{err}");
        let (code, out, _) = run(
            s(&[
                "token",
                "ada@example.org",
                "--name",
                "ci",
                "--scope",
                "cases:read",
            ]),
            None,
        )
        .await;
        assert_eq!(code, 0);
        let t = out.trim().to_owned();
        let listed = app
            .client
            .get(app.url("/api/v1/cases"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status().as_u16(), 200);
        let (code, _, _) = run(s(&["disable", "ada@example.org"]), None).await;
        assert_eq!(code, 0);
        let listed = app
            .client
            .get(app.url("/api/v1/cases"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status().as_u16(), 401);
        let (code, out, _) = run(s(&["reset", "ada@example.org"]), None).await;
        assert_eq!(code, 0);
        assert!(out.contains("the account stays disabled"), "{out}");
        let fresh = out
            .lines()
            .find_map(|l| l.strip_prefix("password: "))
            .unwrap();
        let (answer, _) = sign_in_password(&app, "ada@example.org", fresh).await;
        assert_eq!(answer.status().as_u16(), 401, "a reset does not enable");
        let (code, _, err) = run(s(&["enable", "ada@example.org"]), None).await;
        assert_eq!(code, 0, "{err}");
        let (answer, _) = sign_in_password(&app, "ada@example.org", fresh).await;
        assert_eq!(
            location(&answer),
            "/signin/enrol?next=%2Fdashboard",
            "enabled, enrolling again"
        );
        let (code, _, err) = run(
            s(&[
                "add",
                "dev@example.org",
                "--name",
                "Dev",
                "--member",
                "kamailio=member",
            ]),
            None,
        )
        .await;
        assert_eq!(code, 0, "{err}");
        assert!(
            !app.store
                .user_by_email("dev@example.org")
                .await
                .unwrap()
                .unwrap()
                .totp_required
        );
        let (code, out, _) = run(s(&["role", "dev@example.org", "kamailio=officer"]), None).await;
        assert_eq!(code, 0);
        assert!(
            out.contains("dev@example.org is now officer of kamailio"),
            "{out}"
        );
        assert!(
            app.store
                .user_by_email("dev@example.org")
                .await
                .unwrap()
                .unwrap()
                .totp_required,
            "officers need a second factor"
        );
        // Each administrator action is in the account log, done by the command line.
        let kinds: Vec<String> = app
            .store
            .account_events()
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.actor == "cli")
            .map(|e| e.kind)
            .collect();
        for kind in [
            "user_added",
            "api_token_created",
            "user_disabled",
            "user_reset",
            "user_enabled",
            "role_changed",
        ] {
            assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
        }
        let (code, out, _) = run(s(&["list"]), None).await;
        assert_eq!(code, 0);
        assert!(
            out.contains("ada@example.org") && out.contains("kamailio=officer"),
            "{out}"
        );
    })
    .await;
}

#[tokio::test]
async fn team_messages_render_as_safe_markdown_and_mail_that_failed_shows_on_the_case() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (case, token) = app.create_report(&report("freepbx", "Markdown case")).await;
        let id = add_member(&app, "t@example.org", false, &[("freepbx", "member")]).await;
        let s = session_for(&app, id).await;
        let body = "Fixed in **17.0.3**. <script>alert(1)</script> [more](javascript:alert(1))";
        assert_eq!(
            act(&app, &s, case, "messages", json!({"body": body}))
                .await
                .0,
            201
        );
        let portal = app
            .get(&format!("/r/{case}/{token}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            portal.contains("<strong>17.0.3</strong>"),
            "on {}: {portal}",
            db.label
        );
        assert!(!portal.contains("<script>alert") && !portal.contains("href=\"javascript"));
        assert!(portal.contains("&lt;script&gt;"), "shown as text");
        // The receipt could not be delivered for good: the team sees it on the case.
        let jobs = app.store.jobs_for_case(case).await.unwrap();
        app.store
            .kill_job(
                jobs[0].id,
                jiff::Timestamp::now(),
                "550 5.1.1 mailbox unavailable",
            )
            .await
            .unwrap();
        let view: Value = case_json(&app, &s, case).await;
        let dead = view["mail"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["status"] == "dead")
            .unwrap();
        assert_eq!(dead["last_error"], "550 5.1.1 mailbox unavailable");
        let html = page(&app, &s.cookie, &format!("/cases/{case}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("class=\"job-dead\"") && html.contains("550 5.1.1 mailbox unavailable")
        );
        assert!(
            html.contains("to finder@example.org"),
            "mail names its recipient"
        );
        // A file the reporter sent is a download for the team too, never shown inline.
        let form = reqwest::multipart::Form::new()
            .text("body", "the exploit")
            .part(
                "attachments",
                reqwest::multipart::Part::bytes(b"<script>alert(1)</script>".to_vec())
                    .file_name("poc.html")
                    .mime_str("text/html")
                    .unwrap(),
            );
        let sent = app
            .post_form(&format!("/r/{case}/{token}/replies"), form)
            .await;
        assert_eq!(sent.status().as_u16(), 303);
        let html = page(&app, &s.cookie, &format!("/cases/{case}"))
            .await
            .text()
            .await
            .unwrap();
        let href = between(&html, "<a href=\"/cases/", "\" download>");
        let file = page(&app, &s.cookie, &format!("/cases/{href}")).await;
        assert_eq!(file.status().as_u16(), 200, "{href}");
        let disposition = file.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(disposition.starts_with("attachment"), "{disposition}");
        assert_eq!(file.headers()["x-content-type-options"], "nosniff");
    })
    .await;
}

#[tokio::test]
async fn behind_https_the_session_cookie_is_secure() {
    on_each_database(|db| async move {
        let app = spawn_app_with(
            &db,
            &[
                (RATE_LIMIT_ENV, "off"),
                ("VULNDESK_PUBLIC_URL", "https://security.example.org"),
            ],
        )
        .await;
        add_member(&app, "m@example.org", false, &[("kamailio", "member")]).await;
        let (answer, _) = sign_in_password(&app, "m@example.org", PASSWORD).await;
        let cookie = answer
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("vd_session="))
            .unwrap();
        for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(cookie.contains(attribute), "on {}: {cookie}", db.label);
        }
    })
    .await;
}

#[tokio::test]
async fn the_dashboard_pages_through_many_cases() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let id = add_member(&app, "k@example.org", false, &[("kamailio", "member")]).await;
        let s = session_for(&app, id).await;
        let before: Value = s
            .on(app.client.get(app.url("/api/v1/cases?org=kamailio")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let existing = before["cases"].as_array().unwrap().len();
        for n in existing..201 {
            app.create_report(&report("kamailio", &format!("Paged case {n}")))
                .await;
        }
        let page = |n: u32| {
            let s = s.clone();
            let app = &app;
            async move {
                let v: Value = s
                    .on(app
                        .client
                        .get(app.url(&format!("/api/v1/cases?org=kamailio&page={n}"))))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                v
            }
        };
        let first = page(1).await;
        assert_eq!(
            first["cases"].as_array().unwrap().len(),
            200,
            "on {}",
            db.label
        );
        assert_eq!(first["next_page"], 2);
        let second = page(2).await;
        assert_eq!(second["cases"].as_array().unwrap().len(), 1);
        assert_eq!(second["next_page"], Value::Null);
        let ids = |v: &Value| {
            v["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        };
        assert!(
            !ids(&first).contains(&ids(&second)[0]),
            "pages do not overlap"
        );
        let html = page_html(&app, &s.cookie).await;
        assert!(
            html.contains("id=\"next-page\" href=\"/dashboard?org=kamailio&#38;page=2\""),
            "{html}"
        );
    })
    .await;
}

async fn page_html(app: &TestApp, cookie: &str) -> String {
    page(app, cookie, "/dashboard?org=kamailio")
        .await
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn people_change_their_own_password_and_their_other_sessions_end() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let id = add_member(&app, "m@example.org", false, &[("kamailio", "member")]).await;
        let here = session_for(&app, id).await;
        let elsewhere = session_for(&app, id).await;
        let account = page(&app, &here.cookie, "/account")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            account.contains("m@example.org"),
            "on {}: {account}",
            db.label
        );
        assert!(
            account.contains("<title>Your account · Vulndesk</title>"),
            "{account}"
        );
        let change = |current: &'static str, new: &'static str| {
            let here = here.clone();
            let app = &app;
            async move {
                post_form(
                    app,
                    &here.cookie,
                    "/account/password",
                    &[
                        ("csrf", here.csrf.as_str()),
                        ("current", current),
                        ("new", new),
                    ],
                )
                .await
            }
        };
        let wrong = change("not it", "a brand new passphrase").await;
        assert_eq!(wrong.status().as_u16(), 422);
        assert!(
            wrong
                .text()
                .await
                .unwrap()
                .contains("not your current password")
        );
        let short = change(PASSWORD, "short").await;
        assert_eq!(short.status().as_u16(), 422);
        assert!(
            short
                .text()
                .await
                .unwrap()
                .contains("at least 12 characters")
        );
        assert_eq!(
            page(&app, &elsewhere.cookie, "/dashboard")
                .await
                .status()
                .as_u16(),
            200
        );
        let done = change(PASSWORD, "a brand new passphrase").await;
        assert_eq!(done.status().as_u16(), 200);
        assert_eq!(
            page(&app, &here.cookie, "/dashboard")
                .await
                .status()
                .as_u16(),
            200
        );
        assert_eq!(
            page(&app, &elsewhere.cookie, "/dashboard")
                .await
                .status()
                .as_u16(),
            303,
            "the other session ended"
        );
        let (old, _) = sign_in_password(&app, "m@example.org", PASSWORD).await;
        assert_eq!(old.status().as_u16(), 401);
        let (new, _) = sign_in_password(&app, "m@example.org", "a brand new passphrase").await;
        assert_eq!(location(&new), "/dashboard");
    })
    .await;
}

#[tokio::test]
async fn people_make_and_revoke_their_own_api_tokens() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let id = add_member(&app, "m@example.org", false, &[("kamailio", "member")]).await;
        let other = add_member(&app, "n@example.org", false, &[("kamailio", "member")]).await;
        let s = session_for(&app, id).await;
        let none = post_form(
            &app,
            &s.cookie,
            "/account/tokens",
            &[("csrf", &s.csrf), ("name", "CI")],
        )
        .await;
        assert_eq!(none.status().as_u16(), 422, "on {}", db.label);
        assert!(
            none.text()
                .await
                .unwrap()
                .contains("tick at least one scope")
        );
        let made = post_form(
            &app,
            &s.cookie,
            "/account/tokens",
            &[("csrf", &s.csrf), ("name", "CI"), ("scope", "cases:read")],
        )
        .await;
        assert_eq!(made.status().as_u16(), 200);
        let html = made.text().await.unwrap();
        let token = between(&html, "<code id=\"new-token\">", "</code>");
        assert!(token.starts_with("vdt_"), "{token}");
        let listed = app
            .client
            .get(app.url("/api/v1/cases"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status().as_u16(), 200);
        let written = app
            .client
            .post(app.url("/api/v1/cases/1/notes"))
            .bearer_auth(&token)
            .json(&json!({"body": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(written.status().as_u16(), 403, "read scope only");
        // The page shows it afterwards without its secret.
        let again = page(&app, &s.cookie, "/account")
            .await
            .text()
            .await
            .unwrap();
        assert!(again.contains("cases:read") && !again.contains(&token));
        let token_id = app.store.api_tokens(id).await.unwrap()[0].id;
        // Someone else cannot revoke it.
        let theirs = session_for(&app, other).await;
        let path = format!("/account/tokens/{token_id}/revoke");
        let refused = post_form(&app, &theirs.cookie, &path, &[("csrf", &theirs.csrf)]).await;
        assert_eq!(refused.status().as_u16(), 404);
        let revoked = post_form(&app, &s.cookie, &path, &[("csrf", &s.csrf)]).await;
        assert_eq!(revoked.status().as_u16(), 200);
        let listed = app
            .client
            .get(app.url("/api/v1/cases"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status().as_u16(), 401, "revoked at once");
    })
    .await;
}

#[tokio::test]
async fn a_current_code_buys_new_recovery_codes_and_the_old_ones_stop_working() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let id = add_member(&app, "o@example.org", false, &[("kamailio", "officer")]).await;
        let secret = accounts::new_totp_secret().unwrap();
        let (old_codes, hashes) = accounts::new_recovery_codes().unwrap();
        app.store.enrol_totp(id, &secret, 0, &hashes).await.unwrap();
        let s = session_for(&app, id).await;
        let account = page(&app, &s.cookie, "/account")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            account.contains("10 unused recovery codes left"),
            "on {}: {account}",
            db.label
        );
        let wrong = post_form(
            &app,
            &s.cookie,
            "/account/recovery-codes",
            &[("csrf", &s.csrf), ("code", "000000")],
        )
        .await;
        assert_eq!(wrong.status().as_u16(), 422);
        let code = accounts::totp_code(&secret, unix_now()).unwrap();
        let made = post_form(
            &app,
            &s.cookie,
            "/account/recovery-codes",
            &[("csrf", &s.csrf), ("code", &code)],
        )
        .await;
        assert_eq!(made.status().as_u16(), 200);
        let html = made.text().await.unwrap();
        let fresh: Vec<String> =
            between(&html, "<ul id=\"recovery-codes\" class=\"codes\">", "</ul>")
                .split("<code>")
                .skip(1)
                .map(|c| c.split("</code>").next().unwrap().to_owned())
                .collect();
        assert_eq!(fresh.len(), 10);
        let used = |code: String| {
            let store = app.store.clone();
            async move {
                store
                    .use_recovery_code(
                        id,
                        &accounts::recovery_code_hash(&code),
                        jiff::Timestamp::now(),
                    )
                    .await
                    .unwrap()
            }
        };
        assert!(!used(old_codes[0].clone()).await, "the old codes are gone");
        assert!(used(fresh[0].clone()).await);
        // The same authenticator code does not buy a second set.
        let again = post_form(
            &app,
            &s.cookie,
            "/account/recovery-codes",
            &[("csrf", &s.csrf), ("code", &code)],
        )
        .await;
        assert_eq!(again.status().as_u16(), 422);
    })
    .await;
}

#[tokio::test]
async fn the_team_sends_the_reporter_files_through_the_portal() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (case, token) = app.create_report(&report("freepbx", "Patch case")).await;
        let id = add_member(&app, "t@example.org", false, &[("freepbx", "member")]).await;
        let s = session_for(&app, id).await;
        let form = |csrf: &str| {
            reqwest::multipart::Form::new()
                .text("csrf", csrf.to_owned())
                .text("body", "Could you test this patch?")
                .part(
                    "attachments",
                    reqwest::multipart::Part::bytes(b"--- a/x\n+++ b/x\n".to_vec())
                        .file_name("fix.patch")
                        .mime_str("text/x-diff")
                        .unwrap(),
                )
        };
        let path = format!("/cases/{case}/messages");
        let cookie = format!("vd_session={}", s.cookie);
        let forged = app
            .client
            .post(app.url(&path))
            .header(COOKIE, &cookie)
            .multipart(form("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status().as_u16(), 403, "on {}", db.label);
        let sent = app
            .client
            .post(app.url(&path))
            .header(COOKIE, &cookie)
            .multipart(form(&s.csrf))
            .send()
            .await
            .unwrap();
        assert_eq!(
            sent.status().as_u16(),
            303,
            "{}",
            sent.text().await.unwrap()
        );
        assert_eq!(
            kinds(&app, case).await[2..],
            ["reporter_message", "attachment_added"]
        );
        let file = app.store.attachments(case).await.unwrap().pop().unwrap();
        assert_eq!(file.filename, "fix.patch");
        // The reporter finds it in the portal, from the team, and downloads it.
        let portal = app
            .get(&format!("/r/{case}/{token}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(portal.contains("fix.patch"), "{portal}");
        let download = app
            .get(&format!("/r/{case}/{token}/files/{}", file.sha256))
            .await;
        assert_eq!(download.status().as_u16(), 200);
        assert!(
            download.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
        // The mail tells them where the file is, without carrying it.
        let mail = app.store.jobs_for_case(case).await.unwrap().pop().unwrap();
        let raw = mail.payload["raw"].as_str().unwrap().replace("=\r\n", "");
        assert!(raw.contains("1 file is attached"), "{raw}");
        assert!(!raw.contains("+++ b/x"));
    })
    .await;
}

#[tokio::test]
async fn every_control_on_the_team_pages_has_a_label_and_the_title_names_the_page() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (case, _) = app.create_report(&report("salestim", "Label check")).await;
        let id = add_member(&app, "o@example.org", true, &[("salestim", "officer")]).await;
        let s = session_for(&app, id).await;
        let drafted = s
            .on(app
                .client
                .post(app.url(&format!("/api/v1/cases/{case}/advisories"))))
            .json(&serde_json::json!({"fields": {"title": "Label check", "summary": "A check."}}))
            .send()
            .await
            .unwrap();
        assert_eq!(drafted.status().as_u16(), 201);
        let advisory = drafted.json::<serde_json::Value>().await.unwrap()["id"].clone();
        for (path, title) in [
            ("/dashboard".to_owned(), "Dashboard"),
            (format!("/cases/{case}"), "Case "),
            (format!("/advisories/{advisory}"), "SALESTIM-"),
            ("/advisories".to_owned(), "Advisories"),
            ("/account".to_owned(), "Your account"),
            ("/signin".to_owned(), "Sign in"),
        ] {
            let html = page(&app, &s.cookie, &path).await.text().await.unwrap();
            let shown = between(&html, "<title>", "</title>");
            assert!(
                shown.starts_with(title) && shown.ends_with(" · Vulndesk"),
                "{path}: {shown}"
            );
            for name in ["input", "textarea", "select"] {
                for tag in crate::html::tags(&html, name) {
                    let kind = crate::html::attr(tag, "type").unwrap_or_default();
                    if kind == "hidden" || kind == "checkbox" {
                        continue;
                    }
                    let control = crate::html::attr(tag, "id")
                        .unwrap_or_else(|| panic!("{path}: a control without an id: {tag}"));
                    assert!(
                        html.contains(&format!("<label for=\"{control}\"")),
                        "on {}: {path}: no label for {tag}",
                        db.label
                    );
                }
            }
        }
    })
    .await;
}
