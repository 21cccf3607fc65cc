//! Outbound cases (SalesTim, seed 003): we report to a third-party vendor, the vendor's
//! answers by mail join the case, and SalesTim's own disclosure rules run its date: 90 days,
//! 14 days of grace only for a release the vendor announced before the deadline, the next
//! business day.

use serde_json::{Value, json};

use crate::helpers::{TestApp, on_each_database, spawn_app};
use crate::team_support::{
    Session, act, add_member, case_json, location, page, post_form, session_for,
};

async fn report_to_vendor(app: &TestApp, s: &Session, vendor: &str) -> (u16, Value) {
    let response = s
        .on(app.client.post(app.url("/api/v1/outbound")))
        .json(&json!({
            "organisation": "salestim",
            "vendor": vendor,
            "vendor_product": "libcsv 2.1",
            "contact": "security@vendor.example",
            "title": "Heap overflow parsing quoted fields",
            "description": "A quoted field longer than 64 KiB overflows the parser's buffer. PoC attached on request.",
        }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn disclosure(view: &Value) -> Value {
    let clocks = view["clocks"]["clocks"].as_array().unwrap();
    assert_eq!(
        clocks.len(),
        1,
        "only the disclosure clock runs: {clocks:?}"
    );
    clocks[0].clone()
}

fn day(text: &Value) -> jiff::civil::Date {
    text.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_vendor_that_announces_a_patch_within_the_grace_moves_disclosure_and_one_that_does_not_keeps_day_90()
 {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let sally = add_member(&app, "sally@salestim.test", false, &[("salestim", "officer")]).await;
        let s = session_for(&app, sally).await;
        let (status, opened) = report_to_vendor(&app, &s, "Acme").await;
        assert_eq!(status, 201, "on {}: {opened}", db.label);
        let case = opened["id"].as_i64().unwrap();

        // The report went to the vendor from the case's own reply address.
        let jobs = app.store.jobs_for_case(case).await.unwrap();
        let sent = jobs.iter().find(|j| j.payload["to"] == json!(["security@vendor.example"])).expect("the report is mailed to the vendor");
        let raw = sent.payload["raw"].as_str().unwrap().replace("=\r\n", "");
        let tag = app.store.case(case).await.unwrap().unwrap().reply_tag;
        assert!(raw.contains(&format!("security+{tag}@salestim.com")), "{raw}");
        assert!(raw.contains("overflows the parser"), "{raw}");

        // Only the disclosure clock, derived as for every inbound report.
        let view = case_json(&app, &s, case).await;
        let before = disclosure(&view);
        let steps = before["derivation"].to_string();
        assert!(steps.contains("an outbound report to a vendor"), "{steps}");
        assert!(steps.contains("+90 days"), "{steps}");
        let deadline = day(&before["due"]);

        // The vendor answers by mail: it joins the case as the vendor's reply.
        let mail = format!(
            "From: Acme PSIRT <security@vendor.example>\r\nTo: security+{tag}@salestim.com\r\n\
             Message-ID: <acme-1@vendor.example>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\n\
             Subject: Re: Heap overflow parsing quoted fields\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nThanks. Our fix ships ten days after your deadline.\r\n"
        );
        let args = ["mail", "ingest", "--org", "salestim", "--db", &db.url];
        let run = crate::mail_support::run(&args, mail.as_bytes(), &[]).await;
        assert_eq!((run.code, run.stdout.trim()), (0, format!("joined case {case}").as_str()), "{}", run.stderr);
        let view = case_json(&app, &s, case).await;
        let reply = view["timeline"].as_array().unwrap().iter().find(|e| e["event"]["type"] == "reporter_reply").expect("the vendor's answer");
        assert_eq!(reply["actor_name"], "Vendor");

        // It announced, before the deadline, a release within the 14-day grace: disclosure
        // waits for it.
        let release = deadline.checked_add(jiff::Span::new().days(10)).unwrap();
        let (status, e) = act(&app, &s, case, "triage", json!({"action": "schedule-fix", "release": release.to_string()})).await;
        assert_eq!(status, 201, "{e}");
        let after = disclosure(&case_json(&app, &s, case).await);
        assert_eq!(day(&after["due"]), release, "{after}");

        // Another vendor, treated alike, announces nothing: day 90 (or the next business day).
        let (status, opened) = report_to_vendor(&app, &s, "Globex").await;
        assert_eq!(status, 201, "{opened}");
        let other = opened["id"].as_i64().unwrap();
        let theirs = disclosure(&case_json(&app, &s, other).await);
        assert_eq!(theirs["derivation"].as_array().unwrap()[1], before["derivation"].as_array().unwrap()[1]);
        // Too late an announcement (past the deadline) earns no grace either.
        let late = deadline.checked_add(jiff::Span::new().days(20)).unwrap();
        let (status, e) = act(&app, &s, other, "triage", json!({"action": "schedule-fix", "release": late.to_string()})).await;
        assert_eq!(status, 201, "{e}");
        assert_eq!(day(&disclosure(&case_json(&app, &s, other).await)["due"]), day(&theirs["due"]));

        // The case page says who the vendor is, and the dashboard lists both cases.
        let html = page(&app, &s.cookie, &format!("/cases/{case}")).await.text().await.unwrap();
        assert!(html.contains("Our report to Acme about libcsv 2.1"), "{html}");
    })
    .await;
}

#[tokio::test]
async fn only_the_organisations_team_reports_in_its_name_and_only_under_a_policy_that_says_how() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let outsider = add_member(&app, "kim@kamailio.test", false, &[("kamailio", "officer")]).await;
        let s = session_for(&app, outsider).await;
        let (status, e) = report_to_vendor(&app, &s, "Acme").await;
        assert_eq!(status, 403, "on {}: {e}", db.label);
        assert!(e["error"]["message"].as_str().unwrap().contains("only the team of SalesTim"), "{e}");
        // Kamailio's policy does not say outbound reports run on its rules.
        let response = s
            .on(app.client.post(app.url("/api/v1/outbound")))
            .json(&json!({"organisation": "kamailio", "vendor": "Acme", "vendor_product": "x", "contact": "s@vendor.example", "title": "t", "description": "d"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 409);
        let sally = add_member(&app, "sally@salestim.test", false, &[("salestim", "member")]).await;
        let s = session_for(&app, sally).await;
        let response = s
            .on(app.client.post(app.url("/api/v1/outbound")))
            .json(&json!({"organisation": "salestim", "vendor": "Acme", "vendor_product": "x", "contact": "not an address", "title": "t", "description": "d"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 422);
        let e: Value = response.json().await.unwrap();
        assert_eq!(e["error"]["field"], "contact", "{e}");
        // The form is read with the API's fields: a blank one is named, a full one opens the case.
        let mut fields = vec![
            ("csrf", s.csrf.as_str()),
            ("organisation", "salestim"),
            ("vendor", " "),
            ("vendor_product", "libcsv 2.1"),
            ("contact", "security@vendor.example"),
            ("title", "Overflow"),
            ("description", "Details."),
        ];
        let refused = post_form(&app, &s.cookie, "/outbound/new", &fields).await;
        assert_eq!(refused.status().as_u16(), 422);
        let html = refused.text().await.unwrap();
        assert!(html.contains("vendor"), "{html}");
        assert!(html.contains("value=\"libcsv 2.1\""), "what was typed is kept: {html}");
        fields[2] = ("vendor", "Acme");
        let opened = post_form(&app, &s.cookie, "/outbound/new", &fields).await;
        assert_eq!(opened.status().as_u16(), 303);
        assert!(location(&opened).starts_with("/cases/"), "{}", location(&opened));
    })
    .await;
}
