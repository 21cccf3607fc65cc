//! `vulndesk mail ingest`: one message on standard input, as from Postfix's pipe transport.

use serde_json::json;
use vulndesk_store::{Effects, NewCase, NewEvent, NewRawMessage, Projection};

use crate::helpers::on_each_database;
use crate::mail_scenarios::{self as scenario, unfold};
use crate::mail_support::{Desk, ORG, Via, message, on_each_desk, report, run, sha256};

#[tokio::test]
async fn plain_report_by_pipe_opens_a_case_with_a_receipt() {
    on_each_desk!(
        Via::Pipe,
        scenario::plain_report_opens_a_case_with_a_receipt
    );
}

#[tokio::test]
async fn encrypted_report_by_pipe_is_readable() {
    on_each_desk!(Via::Pipe, scenario::encrypted_report_is_readable);
}

#[tokio::test]
async fn signed_reply_by_pipe_joins_its_case() {
    on_each_desk!(Via::Pipe, scenario::signed_reply_joins_its_case);
}

#[tokio::test]
async fn malformed_message_by_pipe_still_opens_a_case() {
    on_each_desk!(Via::Pipe, scenario::malformed_message_still_opens_a_case);
}

#[tokio::test]
async fn ingest_exits_75_when_the_message_cannot_be_stored_so_the_mta_retries() {
    on_each_database(|db| async move {
        let desk = Desk::new(&db, Via::Pipe).await;
        let raw = report("temp-1@example.org", "Report", "Details.\r\n");
        let unreachable = format!(
            "sqlite://{}/no-such-dir/vulndesk.db",
            std::env::temp_dir().display()
        );
        let failed = run(
            &["mail", "ingest", "--db", &unreachable, "--org", "freepbx"],
            &raw,
            &[],
        )
        .await;
        assert_eq!(failed.code, 75, "{failed:?}");
        assert!(failed.stderr.contains("the MTA should retry"), "{failed:?}");

        let unknown = desk
            .run(
                &["mail", "ingest", "--db", &db.url, "--org", "no-such-org"],
                &raw,
            )
            .await;
        assert_eq!(
            unknown.code, 75,
            "a configuration mistake must not bounce: {unknown:?}"
        );
        assert!(
            unknown.stderr.contains("no organisation \"no-such-org\""),
            "{unknown:?}"
        );

        let empty = desk
            .run(
                &["mail", "ingest", "--db", &db.url, "--org", "freepbx"],
                b"",
            )
            .await;
        assert_eq!(empty.code, 1, "{empty:?}");
        assert_eq!(
            desk.count_cases().await,
            0,
            "nothing stored on {}",
            db.label
        );

        let stored = desk.deliver_ok(&raw).await;
        let case_id = desk.case_of("temp-1@example.org").await;
        assert_eq!(
            stored.stdout.trim(),
            format!("case {case_id} opened, receipt queued")
        );
        desk.close().await;
    })
    .await;
}

#[tokio::test]
async fn without_a_product_several_products_file_under_the_first_with_a_note() {
    on_each_database(|db| async move {
        let desk = Desk::new(&db, Via::Pipe).await;
        let ingest = |product: Option<&'static str>, raw: Vec<u8>| {
            let url = db.url.clone();
            async move {
                let mut args = vec!["mail", "ingest", "--db", &url, "--org", "sangoma"];
                args.extend(product.map(|p| ["--product", p]).into_iter().flatten());
                let run = run(&args, &raw, &[]).await;
                assert_eq!(run.code, 0, "{run:?}");
            }
        };
        ingest(
            None,
            report("sg-1@example.org", "Asterisk crash", "Details.\r\n"),
        )
        .await;
        let case_id = desk.case_of("sg-1@example.org").await;
        assert_eq!(desk.last(case_id, "reported").await["product"], "asterisk");
        let warning = desk.last(case_id, "mail_received").await["warning"].clone();
        assert_eq!(
            warning,
            "filed under product asterisk, the policy's first: mail intake of sangoma is not \
             configured with a product and the policy has several (asterisk, switchvox); \
             arrived through a channel the policy does not list (email); the policy lists: \
             web, api, github-private"
        );
        // Sangoma's only contact is a web page: no address to send a receipt from.
        assert_eq!(desk.kinds(case_id).await, ["reported", "mail_received"]);
        assert!(desk.jobs(case_id).await.is_empty());

        ingest(
            Some("switchvox"),
            report("sg-2@example.org", "Switchvox XSS", "Details.\r\n"),
        )
        .await;
        let case_id = desk.case_of("sg-2@example.org").await;
        assert_eq!(desk.last(case_id, "reported").await["product"], "switchvox");
        // No note about the product; only the mark every Sangoma mail gets (its policy
        // takes no reports by mail).
        assert_eq!(
            desk.last(case_id, "mail_received").await["warning"],
            "arrived through a channel the policy does not list (email); the policy lists: \
             web, api, github-private"
        );
        desk.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_receipt_is_in_the_reporters_language_when_the_policy_offers_it() {
    on_each_database(|db| async move {
        let desk = Desk::new(&db, Via::Pipe).await;
        let ingest = |raw: Vec<u8>| {
            let url = db.url.clone();
            async move {
                let run = run(
                    &["mail", "ingest", "--db", &url, "--org", "signalen"],
                    &raw,
                    &[],
                )
                .await;
                assert_eq!(run.code, 0, "{run:?}");
            }
        };
        let receipt_of = |case_id: i64| {
            let desk = &desk;
            async move {
                let jobs = desk.jobs(case_id).await;
                assert_eq!(jobs.len(), 1);
                unfold(jobs[0].payload["raw"].as_str().unwrap())
            }
        };
        ingest(message(
            "lang-en@example.org",
            "signalen-security@lists.publiccode.net",
            "Subject: Report\r\nContent-Language: en-GB\r\n",
            "Content-Type: text/plain\r\n\r\nDetails.\r\n",
        ))
        .await;
        let english = desk.case_of("lang-en@example.org").await;
        assert_eq!(desk.last(english, "reported").await["language"], "en");
        let receipt = receipt_of(english).await;
        assert!(
            receipt.contains("Thank you for your report to the Signalen security team"),
            "{receipt}"
        );
        assert!(
            receipt.contains("From: \"Signalen\" <signalen-security+"),
            "{receipt}"
        );

        ingest(report("lang-none@example.org", "Melding", "Details.\r\n")).await;
        let dutch = desk.case_of("lang-none@example.org").await;
        assert_eq!(desk.last(dutch, "reported").await.get("language"), None);
        let receipt = receipt_of(dutch).await;
        assert!(
            receipt.contains("Bedankt voor je melding"),
            "the policy's first language: {receipt}"
        );
        desk.close().await;
    })
    .await;
}

#[tokio::test]
async fn automatic_mail_gets_no_receipt() {
    on_each_database(|db| async move {
        let desk = Desk::new(&db, Via::Pipe).await;
        // RFC 3834: an auto-reply answered automatically could loop between two robots.
        let raw = message(
            "auto-1@example.org",
            "security@sangoma.com",
            "Subject: Out of office\r\nAuto-Submitted: auto-replied\r\n",
            "Content-Type: text/plain\r\n\r\nI am away.\r\n",
        );
        desk.deliver_ok(&raw).await;
        let case_id = desk.case_of("auto-1@example.org").await;
        assert_eq!(desk.kinds(case_id).await, ["reported", "mail_received"]);
        assert!(desk.jobs(case_id).await.is_empty());
        desk.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_receipt_lost_to_a_crash_is_queued_when_the_message_comes_again() {
    on_each_database(|db| async move {
        let desk = Desk::new(&db, Via::Pipe).await;
        let raw = report("crash-1@example.org", "Report", "Details.\r\n");
        // The case as the first transaction of an ingest leaves it when the process dies
        // before the receipt's transaction.
        let product = desk.store.product(ORG, ORG).await.unwrap().unwrap();
        let policy = desk
            .store
            .latest_policy(product.org_id)
            .await
            .unwrap()
            .unwrap();
        let at = jiff::Timestamp::now();
        let event = |payload: serde_json::Value| NewEvent {
            kind: payload["type"].as_str().unwrap().to_owned(),
            actor: "reporter".to_owned(),
            at,
            payload,
        };
        let case = desk
            .store
            .open_case(
                NewCase {
                    product_id: product.id,
                    policy_version_id: policy.id,
                    reporter_token_hash: vec![0; 32],
                    opened_at: at,
                    reply_tag: None,
                },
                vec![
                    event(
                        json!({"type": "reported", "product": ORG, "title": "Report",
                        "description": "Details.", "reporter_contact": "ada@example.org",
                        "channel": "email"}),
                    ),
                    event(json!({"type": "mail_received", "raw_sha256": sha256(&raw),
                        "message_id": "crash-1@example.org", "from": "ada@example.org",
                        "subject": "Report", "encrypted": false})),
                ],
                Projection {
                    state: "new".to_owned(),
                    next_due: None,
                    next_due_kind: None,
                    ..Projection::default()
                },
                Effects {
                    raw_message: Some(NewRawMessage {
                        message_id: Some("crash-1@example.org".to_owned()),
                        source: "pipe".to_owned(),
                        data: raw.clone(),
                        received_at: at,
                    }),
                    ..Effects::default()
                },
            )
            .await
            .unwrap();
        assert!(desk.jobs(case.id).await.is_empty());

        // The MTA never saw exit 0 and delivers again.
        let again = desk.deliver_ok(&raw).await;
        assert_eq!(
            again.stdout.trim(),
            format!("already ingested (case {})", case.id)
        );
        assert_eq!(
            desk.kinds(case.id).await,
            ["reported", "mail_received", "receipt_sent"]
        );
        let jobs = desk.jobs(case.id).await;
        assert_eq!(jobs.len(), 1, "on {}", db.label);
        assert_eq!(
            jobs[0].payload["envelope_from"],
            format!("security+{}@sangoma.com", case.reply_tag)
        );
        // Once only.
        desk.deliver_ok(&raw).await;
        assert_eq!(desk.jobs(case.id).await.len(), 1);
        assert_eq!(desk.count_cases().await, 1);
        desk.close().await;
    })
    .await;
}
