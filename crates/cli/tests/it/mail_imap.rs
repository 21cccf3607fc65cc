//! The IMAP poller against a real Dovecot: `vulndesk mail poll --once` and the pollers of
//! `vulndesk serve --mail-config`.

use std::time::{Duration, Instant};

use crate::helpers::{RATE_LIMIT_ENV, on_each_database, spawn_app_with};
use crate::mail_scenarios as scenario;
use crate::mail_support::{Desk, Dovecot, IMAP_PASSWORD, Marked, Via, on_each_desk, report};

/// Longest wait for a running server to take in a delivered message.
const TAKE_IN_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn plain_report_by_imap_opens_a_case_with_a_receipt() {
    on_each_desk!(
        Via::Imap,
        scenario::plain_report_opens_a_case_with_a_receipt
    );
}

#[tokio::test]
async fn encrypted_report_by_imap_is_readable() {
    on_each_desk!(Via::Imap, scenario::encrypted_report_is_readable);
}

#[tokio::test]
async fn signed_reply_by_imap_joins_its_case() {
    on_each_desk!(Via::Imap, scenario::signed_reply_joins_its_case);
}

#[tokio::test]
async fn malformed_message_by_imap_still_opens_a_case() {
    on_each_desk!(Via::Imap, scenario::malformed_message_still_opens_a_case);
}

#[tokio::test]
async fn taken_in_mail_is_moved_to_the_processed_mailbox_duplicates_too() {
    on_each_database(|db| async move {
        let desk = Desk::new(&db, Via::Imap).await;
        let dovecot = desk.dovecot.as_ref().unwrap();
        let config = dovecot.poll_config(Some("processed_mailbox = \"Processed\""));
        let raw = report("moved-1@example.org", "Report", "Details.\r\n");
        // Delivered twice, as an MTA retrying after a lost acknowledgement does.
        let first = dovecot.deliver(&raw);
        let second = dovecot.deliver(&raw);
        let run = desk.poll_once(&config).await;
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stdout.contains("2 taken in, 0 left to retry"),
            "{run:?}"
        );
        assert_eq!(dovecot.state(&first), Marked::Gone);
        assert_eq!(dovecot.state(&second), Marked::Gone);
        assert_eq!(dovecot.count_in("Processed"), 2, "{}", dovecot.log());
        assert_eq!(desk.count_cases().await, 1, "on {}", db.label);
        desk.close().await;
    })
    .await;
}

#[tokio::test]
async fn mail_stays_unseen_until_the_mailbox_configuration_works() {
    on_each_database(|db| async move {
        let desk = Desk::new(&db, Via::Imap).await;
        let dovecot = desk.dovecot.as_ref().unwrap();
        // A product the organisation does not have: nothing can be filed.
        let config = dovecot.poll_config(Some("product = \"no-such-product\""));
        let name = dovecot.deliver(&report("kept-1@example.org", "Report", "Details.\r\n"));
        let run = desk.poll_once(&config).await;
        assert_ne!(run.code, 0, "{run:?}");
        assert!(
            run.stderr.contains("has no product \"no-such-product\""),
            "{run:?}"
        );
        assert_eq!(dovecot.state(&name), Marked::Unseen);
        assert_eq!(desk.count_cases().await, 0);

        // Fixed, the next run takes it in.
        desk.deliver_ok(&report("kept-2@example.org", "Report", "Details.\r\n"))
            .await;
        assert_eq!(dovecot.state(&name), Marked::Seen);
        assert_eq!(desk.count_cases().await, 2, "on {}", db.label);
        desk.close().await;
    })
    .await;
}

/// Runs `vulndesk serve` with the desk's Dovecot as its mailbox, delivers a report and
/// waits for its case; the log names the mailbox and the case, never the password or the
/// message.
async fn serve_takes_in(dovecot_extra: &str, expect_idle: bool) {
    on_each_database(|db| async move {
        let mut desk = Desk::new(&db, Via::Pipe).await;
        desk.dovecot = Some(Dovecot::start(dovecot_extra));
        let dovecot = desk.dovecot.as_ref().unwrap();
        let config = dovecot.poll_config(None);
        let app = spawn_app_with(
            &db,
            &[
                (RATE_LIMIT_ENV, "off"),
                ("VULNDESK_MAIL_CONFIG", config.to_str().unwrap()),
                ("VULNDESK_LOG", "info,sqlx=warn,vulndesk=debug"),
            ],
        )
        .await;
        let before = desk.count_cases().await;
        // Delivered once the poller waits: IDLE (or the next poll) must notice it.
        let ready = Instant::now();
        while !app.log().contains("waiting for new mail") {
            assert!(
                ready.elapsed() < TAKE_IN_TIMEOUT,
                "poller did not start:\n{}",
                app.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let name = dovecot.deliver(&report(
            "served-1@example.org",
            "Crash in the SIP stack",
            "A crafted INVITE crashes it.\r\n",
        ));
        let started = Instant::now();
        // Stored, marked, and logged (the log is read from the server's output as it comes).
        let case_id = loop {
            let found = desk.find_case("served-1@example.org").await;
            if let Some(id) = found
                && dovecot.state(&name) == Marked::Seen
                && app.log().contains(&format!("case={id}"))
            {
                break id;
            }
            assert!(
                started.elapsed() < TAKE_IN_TIMEOUT,
                "not taken in within {TAKE_IN_TIMEOUT:?} on {}; log:\n{}",
                db.label,
                app.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(desk.count_cases().await, before + 1);
        assert_eq!(
            desk.kinds(case_id).await[..2],
            ["reported", "mail_received"]
        );
        let log = app.log();
        assert!(
            log.contains(&format!(
                "waiting for new mail mailbox=desk@127.0.0.1/INBOX idle={expect_idle}"
            )),
            "IDLE use in the log:\n{log}"
        );
        assert!(log.contains(&format!("case={case_id}")), "{log}");
        for secret in [IMAP_PASSWORD, "Crash in the SIP stack", "crafted INVITE"] {
            assert!(!log.contains(secret), "{secret:?} in the log:\n{log}");
        }
        let status = app.terminate().await;
        assert!(status.success(), "serve exits cleanly: {status:?}");
        desk.close().await;
    })
    .await;
}

#[tokio::test]
async fn serve_takes_in_mail_as_it_arrives_using_idle() {
    serve_takes_in("ssl = no", true).await;
}

#[tokio::test]
async fn serve_polls_a_server_without_idle() {
    // Dovecot announces what `imap_capability` lists: here, no IDLE.
    serve_takes_in(
        "ssl = no\nimap_capability = IMAP4rev1 LITERAL+ UIDPLUS MOVE",
        false,
    )
    .await;
}

#[tokio::test]
async fn starttls_and_implicit_tls_trust_the_configured_certificate() {
    on_each_database(|db| async move {
        let mut desk = Desk::new(&db, Via::Pipe).await;
        desk.dovecot = Some(Dovecot::with_tls());
        let dovecot = desk.dovecot.as_ref().unwrap();
        for (n, tls) in ["starttls", "implicit"].into_iter().enumerate() {
            let config = dovecot.config_with(tls, "");
            let id = format!("tls-{tls}@example.org");
            let name = dovecot.deliver(&report(&id, "Report", "Details.\r\n"));
            let run = desk.poll_once(&config).await;
            assert_eq!(run.code, 0, "{tls}: {run:?}\n{}", dovecot.log());
            assert_eq!(dovecot.state(&name), Marked::Seen, "{tls}");
            desk.case_of(&id).await;
            assert_eq!(desk.count_cases().await, n as i64 + 1);
        }
        // Without the certificate, the web PKI roots do not trust it.
        let untrusted = dovecot.config_with("implicit", "");
        let text = std::fs::read_to_string(&untrusted).unwrap();
        let text: String = text
            .lines()
            .filter(|l| !l.starts_with("ca_file"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&untrusted, text).unwrap();
        dovecot.deliver(&report(
            "tls-untrusted@example.org",
            "Report",
            "Details.\r\n",
        ));
        let run = desk.poll_once(&untrusted).await;
        assert_ne!(run.code, 0, "{run:?}");
        assert!(run.stderr.contains("TLS handshake"), "{run:?}");
        assert_eq!(desk.count_cases().await, 2);
        desk.close().await;
    })
    .await;
}
