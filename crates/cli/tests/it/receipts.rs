//! The automatic receipt of reports filed on the web or the API: queued with the case,
//! delivered by the outbox to a real SMTP server, stopping only the clocks the policy
//! lets it stop.

use std::time::Duration;

use serde_json::{Value, json};
use vulndesk_mail::testing::SmtpSink;
use vulndesk_store::JobStatus;

use crate::helpers::{RATE_LIMIT_ENV, on_each_database, spawn_app, spawn_app_with};
use crate::mail_support::Gpg;

fn report(product: &str, contact: &str) -> Value {
    json!({
        "product": product,
        "title": "Heap overflow in the SDP parser",
        "description": "Steps: send the attached INVITE. Impact: remote crash.",
        "reporter_contact": contact,
    })
}

#[tokio::test]
async fn a_receipt_is_queued_with_the_case_and_a_human_acknowledgement_stays_due() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (case, _) = app
            .create_report(&report("freepbx", "finder@example.org"))
            .await;
        assert_eq!(
            kinds(&app, case).await,
            ["reported", "receipt_sent"],
            "on {}",
            db.label
        );
        let jobs = app.store.jobs_for_case(case).await.unwrap();
        assert_eq!(jobs.len(), 1, "one receipt job, written with the case");
        assert_eq!(
            (jobs[0].kind.as_str(), jobs[0].status),
            ("mail", JobStatus::Pending)
        );
        // FreePBX promises a non-automated response: the receipt does not stop that clock.
        let projection = app.store.projection(case).await.unwrap().unwrap();
        assert_eq!(
            projection.next_due_kind.as_deref(),
            Some("acknowledge"),
            "on {}",
            db.label
        );

        // No e-mail address to write to, or (Sangoma, who take reports on GitHub) none to
        // write from: no receipt; the reporter follows the case in the portal.
        for (product, contact) in [
            ("freepbx", "@finder on the fediverse"),
            ("asterisk", "finder@example.org"),
        ] {
            let (case, _) = app.create_report(&report(product, contact)).await;
            assert!(
                app.store.jobs_for_case(case).await.unwrap().is_empty(),
                "{product}"
            );
            assert_eq!(kinds(&app, case).await, ["reported"], "{product}");
        }
    })
    .await;
}

async fn kinds(app: &crate::helpers::TestApp, case: i64) -> Vec<String> {
    app.store
        .events(case)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

#[tokio::test]
async fn the_receipt_reaches_the_reporter_through_the_outbox() {
    on_each_database(|db| async move {
        let sink = SmtpSink::start();
        let app = spawn_app_with(
            &db,
            &[(RATE_LIMIT_ENV, "off"), ("VULNDESK_SMTP_URL", &sink.url())],
        )
        .await;
        let (case, _) = app
            .create_report(&report("freepbx", "finder@example.org"))
            .await;
        let got = sink.wait_for(1, Duration::from_secs(30));
        assert_eq!(got.len(), 1, "on {}: {}", db.label, app.log());
        let mail = &got[0];
        let tag = app.store.case(case).await.unwrap().unwrap().reply_tag;
        assert!(mail.contains("finder@example.org"), "{mail}");
        assert!(
            mail.contains(&format!("security+{tag}@sangoma.com")),
            "from the case's reply address: {mail}"
        );
        assert!(
            mail.contains("Re: Heap overflow in the SDP parser"),
            "{mail}"
        );
        assert!(
            mail.contains("This is an automatic receipt"),
            "FreePBX's receipt text: {mail}"
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let jobs = app.store.jobs_for_case(case).await.unwrap();
            if jobs[0].status == JobStatus::Done {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the job is not marked done: {jobs:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn mail_to_a_reporter_with_a_key_arrives_encrypted_and_gpg_decrypts_it() {
    on_each_database(|db| async move {
        let sink = SmtpSink::start();
        let app = spawn_app_with(
            &db,
            &[(RATE_LIMIT_ENV, "off"), ("VULNDESK_SMTP_URL", &sink.url())],
        )
        .await;
        let gpg = Gpg::new();
        let fpr = gpg.reporter_key("finder@example.org");
        let mut body = report("freepbx", "finder@example.org");
        body["openpgp_key"] = json!(gpg.export(&fpr));
        let (case, _) = app.create_report(&body).await;
        assert_eq!(
            kinds(&app, case).await,
            ["reported", "reporter_key_set", "receipt_sent"]
        );
        let key = app
            .store
            .reporter_key(case)
            .await
            .unwrap()
            .expect("the reporter's key is kept");
        assert_eq!(key.fingerprint, fpr);

        let got = sink.wait_for(1, Duration::from_secs(30));
        assert_eq!(got.len(), 1, "on {}: {}", db.label, app.log());
        let mail = &got[0];
        assert!(mail.contains("multipart/encrypted"), "PGP/MIME: {mail}");
        assert!(
            !mail.contains("automatic receipt"),
            "no text in clear: {mail}"
        );
        let start = mail
            .find("-----BEGIN PGP MESSAGE-----")
            .expect("an armoured message");
        let end = mail.find("-----END PGP MESSAGE-----").expect("its end")
            + "-----END PGP MESSAGE-----".len();
        let plain =
            String::from_utf8(gpg.ok(&["--decrypt"], &mail.as_bytes()[start..end])).unwrap();
        assert!(plain.contains("This is an automatic receipt"), "{plain}");
    })
    .await;
}

#[tokio::test]
async fn a_key_that_cannot_encrypt_is_refused_naming_the_field() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let before = app.count_cases().await;
        let mut body = report("freepbx", "finder@example.org");
        body["openpgp_key"] = json!("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n");
        let response = app.post_report(&body).await;
        assert_eq!(response.status().as_u16(), 422, "on {}", db.label);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], "openpgp_key");
        assert_eq!(app.count_cases().await, before);
    })
    .await;
}
