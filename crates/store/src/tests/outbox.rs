//! The job outbox: claiming under concurrency, leases, and job state changes.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::{JobRow, JobStatus, NewJob, StoreError};

const T0: &str = "2025-03-01T12:00:00Z";

fn at(offset_secs: i64) -> Timestamp {
    ts(T0) + jiff::SignedDuration::from_secs(offset_secs)
}

fn job(kind: &str, n: i64, run_after: Timestamp) -> NewJob {
    NewJob {
        kind: kind.to_owned(),
        payload: json!({ "n": n }),
        run_after,
    }
}

/// Enqueues `jobs` as effects of one event on the case.
async fn enqueue(store: &Store, case_id: i64, jobs: Vec<NewJob>) {
    store
        .append_events(
            case_id,
            store.head(case_id).await.unwrap(),
            vec![event("queued", json!({}))],
            None,
            Effects {
                jobs,
                ..Effects::default()
            },
        )
        .await
        .unwrap();
}

fn ids(jobs: &[JobRow]) -> Vec<i64> {
    jobs.iter().map(|j| j.id).collect()
}

const HOUR: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claimers_get_disjoint_sets_covering_all_jobs() {
    each_backend(async |label, store| {
        let case_id = open(&store, b"t").await;
        enqueue(
            &store,
            case_id,
            (0..50).map(|n| job("mail.send", n, at(0))).collect(),
        )
        .await;
        enqueue(
            &store,
            case_id,
            (0..5).map(|n| job("webhook", n, at(0))).collect(),
        )
        .await;
        let all: BTreeSet<i64> = store
            .jobs_for_case(case_id)
            .await
            .unwrap()
            .into_iter()
            .filter(|j| j.kind == "mail.send")
            .map(|j| j.id)
            .collect();
        assert_eq!(all.len(), 50, "{label}");

        let start = Arc::new(tokio::sync::Barrier::new(2));
        let claimers: Vec<_> = (0..2)
            .map(|_| {
                let (store, start) = (store.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    let mut mine = Vec::new();
                    loop {
                        let got = store.claim_jobs("mail.send", at(1), 3, HOUR).await.unwrap();
                        if got.is_empty() {
                            return mine;
                        }
                        for j in &got {
                            assert_eq!((j.attempts, j.leased_until), (1, Some(at(1) + HOUR)));
                            assert_eq!(j.kind, "mail.send");
                        }
                        assert!(got.len() <= 3);
                        mine.extend(ids(&got));
                    }
                })
            })
            .collect();
        let mut seen = BTreeSet::new();
        let mut total = 0;
        for c in claimers {
            let mine = c.await.unwrap();
            total += mine.len();
            seen.extend(mine);
        }
        assert_eq!(total, 50, "{label}: no job claimed twice");
        assert_eq!(seen, all, "{label}: every job claimed");
        assert!(
            store
                .claim_jobs("mail.send", at(2), 100, HOUR)
                .await
                .unwrap()
                .is_empty(),
            "{label}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_leased_job_is_reclaimed_only_after_its_lease_expires() {
    each_backend(async |label, store| {
        let case_id = open(&store, b"t").await;
        enqueue(&store, case_id, vec![job("mail.send", 1, at(0))]).await;
        let claim = async |now| {
            store
                .claim_jobs("mail.send", now, 10, MINUTE)
                .await
                .unwrap()
        };

        assert!(
            claim(at(-1)).await.is_empty(),
            "{label}: run_after not reached"
        );
        let first = claim(at(0)).await;
        assert_eq!(first.len(), 1, "{label}");
        assert_eq!(
            (
                first[0].attempts,
                first[0].leased_until,
                first[0].updated_at
            ),
            (1, Some(at(60)), at(0)),
            "{label}"
        );
        assert!(claim(at(30)).await.is_empty(), "{label}: lease held");
        assert!(
            claim(at(60)).await.is_empty(),
            "{label}: lease held until its end"
        );
        let second = claim(at(61)).await;
        assert_eq!(
            ids(&second),
            ids(&first),
            "{label}: re-claimed after expiry"
        );
        assert_eq!(
            (second[0].attempts, second[0].leased_until),
            (2, Some(at(121))),
            "{label}"
        );
        assert_eq!(
            store.jobs_for_case(case_id).await.unwrap(),
            second,
            "{label}"
        );
        assert!(
            store
                .claim_jobs("other-kind", at(500), 10, MINUTE)
                .await
                .unwrap()
                .is_empty(),
            "{label}: claimed by kind"
        );
    })
    .await;
}

#[tokio::test]
async fn claims_respect_the_limit_and_run_after_order() {
    each_backend(async |label, store| {
        let case_id = open(&store, b"t").await;
        // Enqueued latest first: claiming must still go by run_after.
        enqueue(
            &store,
            case_id,
            (0..4).map(|n| job("k", n, at(10 - n))).collect(),
        )
        .await;
        let got = store.claim_jobs("k", at(100), 2, HOUR).await.unwrap();
        let order: Vec<_> = got.iter().map(|j| j.payload["n"].as_i64()).collect();
        assert_eq!(order, [Some(3), Some(2)], "{label}");
        assert!(
            store
                .claim_jobs("k", at(100), 0, HOUR)
                .await
                .unwrap()
                .is_empty(),
            "{label}"
        );
        assert!(
            store
                .claim_jobs("k", at(100), -1, HOUR)
                .await
                .unwrap()
                .is_empty(),
            "{label}"
        );
        assert_eq!(
            store
                .claim_jobs("k", at(100), 10, HOUR)
                .await
                .unwrap()
                .len(),
            2,
            "{label}"
        );
    })
    .await;
}

#[tokio::test]
async fn retry_kill_and_complete_change_job_state() {
    each_backend(async |label, store| {
        let case_id = open(&store, b"t").await;
        enqueue(
            &store,
            case_id,
            (0..3).map(|n| job("mail.send", n, at(0))).collect(),
        )
        .await;
        let claimed = store
            .claim_jobs("mail.send", at(0), 10, MINUTE)
            .await
            .unwrap();
        let [a, b, c] = ids(&claimed)[..] else {
            panic!("{label}: expected three jobs, got {claimed:?}")
        };
        let row = async |id| {
            let jobs = store.jobs_for_case(case_id).await.unwrap();
            jobs.into_iter().find(|j| j.id == id).unwrap()
        };

        store
            .retry_job(a, at(5), "451 try later", at(300))
            .await
            .unwrap();
        let r = row(a).await;
        assert_eq!(
            (
                r.status,
                r.last_error.as_deref(),
                r.leased_until,
                r.run_after,
                r.updated_at
            ),
            (
                JobStatus::Pending,
                Some("451 try later"),
                None,
                at(300),
                at(5)
            ),
            "{label}"
        );
        assert_eq!((r.attempts, r.finished_at), (1, None), "{label}");

        store.complete_job(b, at(6)).await.unwrap();
        let r = row(b).await;
        assert_eq!(
            (r.status, r.finished_at, r.leased_until, r.last_error),
            (JobStatus::Done, Some(at(6)), None, None),
            "{label}"
        );

        store.kill_job(c, at(7), "550 no such user").await.unwrap();
        let r = row(c).await;
        assert_eq!(
            (
                r.status,
                r.finished_at,
                r.leased_until,
                r.last_error.as_deref()
            ),
            (JobStatus::Dead, Some(at(7)), None, Some("550 no such user")),
            "{label}"
        );

        assert!(
            store
                .claim_jobs("mail.send", at(299), 10, MINUTE)
                .await
                .unwrap()
                .is_empty(),
            "{label}: the retried job waits, done and dead jobs are never claimed"
        );
        let again = store
            .claim_jobs("mail.send", at(300), 10, MINUTE)
            .await
            .unwrap();
        assert_eq!((ids(&again), again[0].attempts), (vec![a], 2), "{label}");
        assert_eq!(
            again[0].last_error.as_deref(),
            Some("451 try later"),
            "{label}"
        );

        for stale in [
            store.complete_job(b, at(8)).await,
            store.retry_job(c, at(8), "x", at(9)).await,
            store.kill_job(b, at(8), "x").await,
        ] {
            assert!(
                matches!(stale, Err(StoreError::Conflict(_))),
                "{label}: {stale:?}"
            );
        }
        assert_eq!(
            row(b).await.status,
            JobStatus::Done,
            "{label}: unchanged by the stale call"
        );
        assert!(matches!(
            store.complete_job(987_654, at(8)).await,
            Err(StoreError::NotFound("job"))
        ));
        assert!(matches!(
            store.kill_job(987_654, at(8), "x").await,
            Err(StoreError::NotFound("job"))
        ));
    })
    .await;
}

#[tokio::test]
async fn jobs_for_case_lists_a_cases_jobs_in_enqueue_order() {
    each_backend(async |label, store| {
        let payload =
            json!({ "to": "r@x", "nested": { "list": [1, 2.5, null], "é": "\u{1F600}" } });
        let j1 = NewJob {
            kind: "mail.send".to_owned(),
            payload: payload.clone(),
            run_after: at(0),
        };
        let j2 = job("webhook", 2, at(-10));
        let opening = event("reported", json!({}));
        let a = store
            .open_case(
                new_case(&store, b"a").await,
                vec![opening.clone()],
                projection("new", None),
                Effects {
                    jobs: vec![j1.clone(), j2.clone()],
                    ..Effects::default()
                },
            )
            .await
            .unwrap()
            .id;
        let b = open(&store, b"b").await;
        enqueue(&store, b, vec![job("mail.send", 3, at(1))]).await;

        let jobs = store.jobs_for_case(a).await.unwrap();
        let got: Vec<_> = jobs
            .iter()
            .map(|j| (j.case_id, j.kind.as_str(), &j.payload, j.run_after))
            .collect();
        assert_eq!(
            got,
            [
                (Some(a), "mail.send", &payload, at(0)),
                (Some(a), "webhook", &j2.payload, at(-10))
            ],
            "{label}"
        );
        for j in &jobs {
            assert_eq!(
                (j.status, j.attempts, j.created_at, j.updated_at),
                (JobStatus::Pending, 0, opening.at, opening.at),
                "{label}"
            );
        }
        assert!(jobs[0].id < jobs[1].id, "{label}");
        let other = store.jobs_for_case(b).await.unwrap();
        assert_eq!(other.len(), 1, "{label}");
        assert_eq!(other[0].payload, json!({ "n": 3 }), "{label}");
        assert!(
            store.jobs_for_case(987_654).await.unwrap().is_empty(),
            "{label}"
        );
    })
    .await;
}
