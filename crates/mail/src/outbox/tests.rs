//! The worker against a real SMTP server process (aiosmtpd from the test virtualenv,
//! writing a Maildir the test reads back), on both databases.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::json;
use vulndesk_store::testing::fresh_stores;
use vulndesk_store::{Effects, JobStatus, NewCase, NewEvent, Projection, Store};

use super::*;
use crate::testing::{SmtpSink, free_port};

fn message(id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: security@example.org\r\nTo: reporter@example.net\r\nSubject: Re: your report\r\nMessage-ID: <{id}>\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn mail_job(id: &str) -> NewJob {
    MailJob::new(
        "security@example.org",
        &["reporter@example.net".to_owned()],
        id,
        message(id, &format!("body of {id}")),
    )
    .unwrap()
    .into_job(Timestamp::now())
}

/// A case with `jobs` queued in the same transaction as its first event.
async fn case_with_jobs(store: &Store, jobs: Vec<NewJob>) -> i64 {
    let org = store.upsert_organisation("acme", "Acme").await.unwrap();
    let policy = store
        .add_policy_version(org, "format = 1", Timestamp::now())
        .await
        .unwrap();
    let product = store.upsert_product(org, "widget", "Widget").await.unwrap();
    let case = store
        .open_case(
            NewCase {
                product_id: product,
                policy_version_id: policy.id,
                reporter_token_hash: vec![1; 32],
                opened_at: Timestamp::now(),
                reply_tag: None,
            },
            vec![NewEvent {
                kind: "reported".into(),
                actor: "reporter".into(),
                at: Timestamp::now(),
                payload: json!({"type": "reported"}),
            }],
            Projection {
                state: "new".into(),
                next_due: None,
                next_due_kind: None,
                ..Projection::default()
            },
            Effects {
                jobs,
                ..Effects::default()
            },
        )
        .await
        .unwrap();
    case.id
}

/// A worker sending through 127.0.0.1:`port`.
fn worker(store: &Store, port: u16, retry: RetryPolicy) -> Worker {
    Worker::new(store.clone(), &format!("smtp://127.0.0.1:{port}"), retry).unwrap()
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 50,
        first_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(200),
    }
}

#[test]
fn retry_delays_double_and_are_capped() {
    let r = RetryPolicy {
        max_attempts: 5,
        first_delay: Duration::from_secs(30),
        max_delay: Duration::from_secs(100),
    };
    let delays: Vec<u64> = (1..=4).map(|a| r.delay(a).as_secs()).collect();
    assert_eq!(delays, [30, 60, 100, 100]);
    assert_eq!(r.delay(i64::MAX).as_secs(), 100);
}

#[test]
fn mail_jobs_refuse_8bit_messages_and_bad_addresses() {
    let to = ["reporter@example.net".to_owned()];
    assert!(matches!(
        MailJob::new("a@example.org", &to, "x@y", "Subject: é\r\n\r\n".into()),
        Err(OutboxError::NotText)
    ));
    assert!(matches!(
        MailJob::new("not an address", &to, "x@y", message("x@y", "b")),
        Err(OutboxError::Address(_))
    ));
}

#[tokio::test]
async fn queued_mail_is_delivered_once_to_a_real_smtp_server() {
    for (label, store) in fresh_stores().await {
        let port = free_port();
        let sink = SmtpSink::start_on(port);
        let ids: Vec<String> = (0..5)
            .map(|i| format!("m{i}.{label}@example.org"))
            .collect();
        let case = case_with_jobs(&store, ids.iter().map(|id| mail_job(id)).collect()).await;
        let worker = worker(&store, port, quick_retries());
        let pass = worker.run_once().await.unwrap();
        let jobs = store.jobs_for_case(case).await.unwrap();
        assert_eq!(
            pass,
            Pass {
                sent: 5,
                retried: 0,
                dead: 0
            },
            "on {label}: {:?}",
            jobs[0].last_error
        );
        assert_eq!(
            worker.run_once().await.unwrap(),
            Pass::default(),
            "nothing is sent twice"
        );
        let got = sink.messages();
        assert_eq!(got.len(), 5, "on {label}");
        for id in &ids {
            assert_eq!(
                got.iter()
                    .filter(|m| m.contains(&format!("<{id}>")))
                    .count(),
                1,
                "{id}"
            );
        }
        let jobs = store.jobs_for_case(case).await.unwrap();
        assert!(
            jobs.iter()
                .all(|j| j.status == JobStatus::Done && j.attempts == 1),
            "{jobs:?}"
        );
    }
}

#[tokio::test]
async fn mail_waits_out_an_smtp_outage_and_is_delivered_once_when_it_is_back() {
    for (label, store) in fresh_stores().await {
        let port = free_port();
        let ids: Vec<String> = (0..3)
            .map(|i| format!("o{i}.{label}@example.org"))
            .collect();
        let case = case_with_jobs(&store, ids.iter().map(|id| mail_job(id)).collect()).await;
        let worker = worker(&store, port, quick_retries());

        // Nothing listens on the port: every attempt fails and is rescheduled, nothing dies.
        let down = worker.run_once().await.unwrap();
        assert_eq!(
            down,
            Pass {
                sent: 0,
                retried: 3,
                dead: 0
            },
            "on {label}"
        );
        let jobs = store.jobs_for_case(case).await.unwrap();
        assert!(
            jobs.iter()
                .all(|j| j.status == JobStatus::Pending && j.last_error.is_some())
        );

        let sink = SmtpSink::start_on(port);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut sent = 0;
        while sent < 3 {
            assert!(
                Instant::now() < deadline,
                "not delivered after the server came back"
            );
            tokio::time::sleep(Duration::from_millis(150)).await;
            sent += worker.run_once().await.unwrap().sent;
        }
        assert_eq!(sent, 3);
        let got = sink.messages();
        assert_eq!(got.len(), 3, "each message exactly once on {label}");
        let jobs = store.jobs_for_case(case).await.unwrap();
        assert!(
            jobs.iter()
                .all(|j| j.status == JobStatus::Done && j.attempts >= 2),
            "{jobs:?}"
        );
    }
}

#[tokio::test]
async fn two_workers_deliver_each_message_once() {
    for (label, store) in fresh_stores().await {
        let port = free_port();
        let sink = SmtpSink::start_on(port);
        let ids: Vec<String> = (0..30)
            .map(|i| format!("w{i}.{label}@example.org"))
            .collect();
        case_with_jobs(&store, ids.iter().map(|id| mail_job(id)).collect()).await;
        let (a, b) = (
            worker(&store, port, quick_retries()),
            worker(&store, port, quick_retries()),
        );
        let (pa, pb) = tokio::join!(a.run_once(), b.run_once());
        assert_eq!(pa.unwrap().sent + pb.unwrap().sent, 30, "on {label}");
        let got = sink.messages();
        assert_eq!(got.len(), 30, "no message twice on {label}");
    }
}

#[tokio::test]
async fn a_job_is_dead_after_its_last_failed_attempt() {
    for (label, store) in fresh_stores().await {
        // A port that refuses connections and a single allowed attempt.
        let port = free_port();
        let case = case_with_jobs(&store, vec![mail_job(&format!("d.{label}@example.org"))]).await;
        let once = RetryPolicy {
            max_attempts: 1,
            ..quick_retries()
        };
        let worker = worker(&store, port, once);
        assert_eq!(
            worker.run_once().await.unwrap(),
            Pass {
                sent: 0,
                retried: 0,
                dead: 1
            },
            "on {label}"
        );
        let jobs = store.jobs_for_case(case).await.unwrap();
        assert_eq!(jobs[0].status, JobStatus::Dead);
        assert!(jobs[0].last_error.is_some());
    }
}
