use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{on_each_database, report, spawn_app};

const TASKS: usize = 16;
const PER_TASK: usize = 13;
const TOTAL: usize = TASKS * PER_TASK;

/// A report the server acknowledged with 201: `(id, token, title)`.
type Acknowledged = (i64, String, String);

/// What one client task saw: the reports acknowledged, and any answer other than 201.
struct Seen {
    acknowledged: Vec<Acknowledged>,
    other_statuses: Vec<u16>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_report_answered_201_survives_a_sigkill_of_the_server() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let url = app.url("/api/v1/reports");
        let answered = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (client, url, answered) = (app.client.clone(), url.clone(), answered.clone());
                tokio::spawn(async move {
                    let mut seen = Seen {
                        acknowledged: Vec::new(),
                        other_statuses: Vec::new(),
                    };
                    for i in 0..PER_TASK {
                        let title = format!("durability report {t}-{i}");
                        // A send error is a request the dying server never answered.
                        let Ok(response) = client
                            .post(&url)
                            .json(&report("salestim", &title))
                            .send()
                            .await
                        else {
                            continue;
                        };
                        answered.fetch_add(1, Ordering::SeqCst);
                        if response.status().as_u16() != 201 {
                            seen.other_statuses.push(response.status().as_u16());
                            continue;
                        }
                        // The server may die between the status line and the body: then the
                        // client never learnt the token and there is nothing to check.
                        if let Ok(body) = response.json::<Value>().await {
                            let id = body["id"].as_i64().expect("id");
                            let token = body["token"].as_str().expect("token").to_owned();
                            seen.acknowledged.push((id, token, title));
                        }
                    }
                    seen
                })
            })
            .collect();

        let waited = tokio::time::timeout(Duration::from_secs(120), async {
            while answered.load(Ordering::SeqCst) < TOTAL / 2 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "half the reports not answered in time on {}:\n{}",
            db.label,
            app.log()
        );
        app.kill().await;

        let mut acknowledged = Vec::new();
        for task in tasks {
            let seen = task.await.expect("client task");
            assert!(
                seen.other_statuses.is_empty(),
                "non-201 answers: {:?}",
                seen.other_statuses
            );
            acknowledged.extend(seen.acknowledged);
        }
        assert!(
            acknowledged.len() >= TOTAL / 2 - TASKS,
            "only {} acknowledged",
            acknowledged.len()
        );
        assert!(
            acknowledged.len() < TOTAL,
            "the server was killed after every request was answered"
        );

        eprintln!(
            "{}: {} of {TOTAL} reports acknowledged before SIGKILL",
            db.label,
            acknowledged.len()
        );
        let app = spawn_app(&db).await;
        for (id, token, title) in &acknowledged {
            let response = app.get_report(&id.to_string(), Some(token)).await;
            assert_eq!(
                response.status().as_u16(),
                200,
                "acknowledged case {id} lost on {}",
                db.label
            );
            let view: Value = response.json().await.unwrap();
            assert_eq!(view["title"], title.as_str());
        }
        // Nothing half-written: every case that exists has its first event and projection.
        for id in app.store.case_ids().await.unwrap() {
            let events = app.store.events(id).await.unwrap();
            assert_eq!(
                events.first().map(|e| e.kind.as_str()),
                Some("reported"),
                "case {id}"
            );
            assert!(
                app.store.projection(id).await.unwrap().is_some(),
                "case {id} without projection"
            );
            app.store.verify_chain(id).await.unwrap();
        }
    })
    .await;
}
