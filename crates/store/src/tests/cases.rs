//! Cases, hash-chained events and projections.

use std::collections::BTreeSet;

use super::*;
use crate::{Backend, GENESIS_HASH, StoreError, event_hash};

#[tokio::test]
async fn unknown_product_and_case_return_none() {
    each_backend(async |label, store| {
        product_and_policy(&store).await;
        assert_eq!(
            store.product("acme", "nope").await.unwrap(),
            None,
            "{label}"
        );
        assert_eq!(
            store.product("nope", "widget").await.unwrap(),
            None,
            "{label}"
        );
        assert_eq!(
            store.organisation_by_slug("nope").await.unwrap(),
            None,
            "{label}"
        );
        assert_eq!(store.case(987_654).await.unwrap(), None, "{label}");
        assert_eq!(store.projection(987_654).await.unwrap(), None, "{label}");
        assert!(store.events(987_654).await.unwrap().is_empty(), "{label}");
        assert!(matches!(
            store
                .append_event(987_654, 0, event("note", json!({})), None)
                .await,
            Err(StoreError::NotFound("case"))
        ));
        assert!(matches!(
            store.verify_chain(987_654).await,
            Err(StoreError::NotFound("case"))
        ));
    })
    .await;
}

#[tokio::test]
async fn case_and_events_round_trip_exactly() {
    each_backend(async |label, store| {
        let (product_id, policy_version_id) = product_and_policy(&store).await;
        let opened_at = ts("2025-03-01T10:00:00.123456789Z");
        let new = NewCase {
            product_id,
            policy_version_id,
            reporter_token_hash: vec![1, 2, 3],
            opened_at,
            // Chosen by the caller, as mail queued with the case needs its address.
            reply_tag: Some(format!(
                "{:032x}",
                u128::from(product_id.unsigned_abs()) + 0xfeed
            )),
        };
        let payload =
            json!({"z": [1, 2.5, null], "a": "é \"quoted\" \\ \u{1F600}", "n": {"k": true}});
        let case = store
            .open_case(
                new.clone(),
                vec![event("reported", payload.clone())],
                projection("new", None),
                Effects::default(),
            )
            .await
            .unwrap();
        assert_eq!(
            store.case(case.id).await.unwrap(),
            Some(case.clone()),
            "{label}"
        );
        assert_eq!(case.opened_at, opened_at, "{label}");
        assert_eq!(Some(&case.reply_tag), new.reply_tag.as_ref(), "{label}");
        let bad = NewCase {
            reply_tag: Some("NOT-HEX".into()),
            ..new.clone()
        };
        let refused = store
            .open_case(
                bad,
                vec![event("reported", json!({}))],
                projection("new", None),
                Effects::default(),
            )
            .await;
        assert!(
            matches!(refused, Err(StoreError::Invalid(_))),
            "{label}: {refused:?}"
        );

        let second = store
            .append_event(
                case.id,
                store.head(case.id).await.unwrap(),
                event("triaged", json!({"severity": "high"})),
                None,
            )
            .await
            .unwrap();
        let events = store.events(case.id).await.unwrap();
        assert_eq!(events.len(), 2, "{label}");
        assert_eq!(events[1], second, "{label}");
        let first = &events[0];
        assert_eq!(
            first.payload,
            payload.to_string(),
            "{label}: exact payload text"
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&first.payload).unwrap(),
            payload,
            "{label}"
        );
        assert_eq!((first.seq, first.kind.as_str()), (1, "reported"), "{label}");
        assert_eq!(first.at, opened_at, "{label}");
        assert_eq!(first.prev_hash, GENESIS_HASH, "{label}");
        assert_eq!(
            first.hash,
            event_hash(
                GENESIS_HASH,
                case.id,
                1,
                "reported",
                "reporter",
                "2025-03-01T10:00:00.123456789Z",
                &first.payload
            ),
            "{label}: documented hash encoding"
        );
        assert_eq!(second.prev_hash, first.hash, "{label}");
        store.verify_chain(case.id).await.unwrap();

        let again = store
            .open_case(
                new.clone(),
                vec![event("reported", json!({}))],
                projection("new", None),
                Effects::default(),
            )
            .await;
        assert!(
            matches!(again, Err(StoreError::Conflict(_))),
            "{label}: a reply tag is used once"
        );
        let case2 = store
            .open_case(
                NewCase {
                    reply_tag: None,
                    ..new
                },
                vec![event("reported", json!({}))],
                projection("new", None),
                Effects::default(),
            )
            .await
            .unwrap();
        assert_eq!(
            store.case_ids().await.unwrap(),
            vec![case.id, case2.id],
            "{label}"
        );
        assert_eq!(store.count_cases().await.unwrap(), 2, "{label}");
    })
    .await;
}

#[tokio::test]
async fn open_case_rejects_missing_or_foreign_references() {
    each_backend(async |label, store| {
        let (product_id, policy_version_id) = product_and_policy(&store).await;
        let other = store.upsert_organisation("other", "Other").await.unwrap();
        let foreign = store
            .add_policy_version(other, "other policy", ts("2025-01-01T00:00:00Z"))
            .await
            .unwrap();
        let attempt = |product_id, policy_version_id| {
            store.open_case(
                NewCase {
                    product_id,
                    policy_version_id,
                    reporter_token_hash: vec![0],
                    opened_at: ts("2025-01-01T00:00:00Z"),
                    reply_tag: None,
                },
                vec![event("reported", json!({}))],
                projection("new", None),
                Effects::default(),
            )
        };
        assert!(matches!(
            attempt(987_654, policy_version_id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            attempt(product_id, foreign.id).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store.count_cases().await.unwrap(),
            0,
            "{label}: nothing half-written"
        );
    })
    .await;
}

#[tokio::test]
async fn of_concurrent_appends_decided_on_one_head_exactly_one_lands() {
    each_backend(async |label, store| {
        let case_id = open(&store, b"token").await;
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .append_event(case_id, 1, event("comment", json!({ "i": i })), None)
                        .await
                })
            })
            .collect();
        let mut landed = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(row) => {
                    assert_eq!(row.seq, 2, "{label}");
                    landed += 1;
                }
                Err(StoreError::Stale {
                    decided_on: 1,
                    head: 2,
                    ..
                }) => {}
                Err(e) => panic!("{label}: {e}"),
            }
        }
        assert_eq!(landed, 1, "{label}: one write per head");
        // Each loser decides again on the head it now reads, as the desk does.
        let retries: Vec<_> = (0..10)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    loop {
                        let head = store.head(case_id).await.unwrap();
                        let ev = event("comment", json!({ "retry": i }));
                        match store.append_event(case_id, head, ev, None).await {
                            Err(StoreError::Stale { .. }) => continue,
                            other => return other.unwrap().seq,
                        }
                    }
                })
            })
            .collect();
        let mut seqs = BTreeSet::new();
        for t in retries {
            seqs.insert(t.await.unwrap());
        }
        assert_eq!(seqs, (3..=12).collect(), "{label}");
        let stored: Vec<i64> = store
            .events(case_id)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(stored, (1..=12).collect::<Vec<_>>(), "{label}");
        store.verify_chain(case_id).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn reporter_token_hash_must_match() {
    each_backend(async |label, store| {
        let case_id = open(&store, b"right-hash").await;
        let found = store
            .case_for_reporter(case_id, b"right-hash")
            .await
            .unwrap();
        assert_eq!(found.map(|c| c.id), Some(case_id), "{label}");
        assert_eq!(
            store
                .case_for_reporter(case_id, b"wrong-hash")
                .await
                .unwrap(),
            None,
            "{label}"
        );
        assert_eq!(
            store.case_for_reporter(case_id, b"").await.unwrap(),
            None,
            "{label}"
        );
        assert_eq!(
            store
                .case_for_reporter(case_id + 1, b"right-hash")
                .await
                .unwrap(),
            None,
            "{label}"
        );
    })
    .await;
}

#[tokio::test]
async fn projection_is_replaced() {
    each_backend(async |label, store| {
        let case_id = open(&store, b"t").await;
        let initial = projection("new", Some(date(2025, 3, 8)));
        assert_eq!(
            store.projection(case_id).await.unwrap(),
            Some(initial.clone()),
            "{label}"
        );

        let triaged = projection("triaged", Some(date(2025, 12, 31)));
        store
            .append_event(
                case_id,
                store.head(case_id).await.unwrap(),
                event("triaged", json!({})),
                Some(triaged.clone()),
            )
            .await
            .unwrap();
        assert_eq!(
            store.projection(case_id).await.unwrap(),
            Some(triaged.clone()),
            "{label}"
        );

        store
            .append_event(
                case_id,
                store.head(case_id).await.unwrap(),
                event("comment", json!({})),
                None,
            )
            .await
            .unwrap();
        assert_eq!(
            store.projection(case_id).await.unwrap(),
            Some(triaged),
            "{label}"
        );

        let closed = projection("closed", None);
        store.set_projection(case_id, &closed).await.unwrap();
        assert_eq!(
            store.projection(case_id).await.unwrap(),
            Some(closed.clone()),
            "{label}"
        );
        assert!(matches!(
            store.set_projection(987_654, &closed).await,
            Err(StoreError::NotFound("case"))
        ));
    })
    .await;
}

#[tokio::test]
async fn events_cannot_be_updated_or_deleted() {
    each_backend(async |label, store| {
        let case_id = open(&store, b"t").await;
        let before = store.events(case_id).await.unwrap();
        let update = raw_sql!(store, "UPDATE events SET payload = '{\"forged\":true}'");
        let err = update
            .expect_err("UPDATE of an event must fail")
            .to_string();
        assert!(err.contains("append-only"), "{label}: {err}");
        let delete = raw_sql!(store, "DELETE FROM events");
        let err = delete
            .expect_err("DELETE of an event must fail")
            .to_string();
        assert!(err.contains("append-only"), "{label}: {err}");
        assert_eq!(store.events(case_id).await.unwrap(), before, "{label}");
    })
    .await;
}

#[tokio::test]
async fn verify_chain_detects_tampering_behind_the_triggers() {
    each_backend(async |label, store| {
        let edited = open(&store, b"t").await;
        let (product_id, policy_version_id) = product_and_policy(&store).await;
        let gapped = store
            .open_case(
                NewCase {
                    product_id,
                    policy_version_id,
                    reporter_token_hash: vec![9],
                    opened_at: ts("2025-01-01T00:00:00Z"),
                    reply_tag: None,
                },
                vec![event("reported", json!({}))],
                projection("new", None),
                Effects::default(),
            )
            .await
            .unwrap()
            .id;
        for case in [edited, gapped] {
            for i in 0..3 {
                store
                    .append_event(
                        case,
                        store.head(case).await.unwrap(),
                        event("comment", json!({ "i": i })),
                        None,
                    )
                    .await
                    .unwrap();
            }
            store.verify_chain(case).await.unwrap();
        }

        match store.backend() {
            Backend::Sqlite => {
                raw_sql!(store, "DROP TRIGGER events_no_update").unwrap();
                raw_sql!(store, "DROP TRIGGER events_no_delete").unwrap();
            }
            Backend::Postgres => {
                raw_sql!(store, "DROP TRIGGER events_append_only ON events").unwrap();
            }
        }
        let edit = format!(
            "UPDATE events SET payload = '{{\"i\":100}}' WHERE case_id = {edited} AND seq = 3"
        );
        raw_sql!(store, sqlx::AssertSqlSafe(edit)).unwrap();
        let delete = format!("DELETE FROM events WHERE case_id = {gapped} AND seq = 2");
        raw_sql!(store, sqlx::AssertSqlSafe(delete)).unwrap();
        // Cutting the last events off leaves a valid chain; the case's recorded head does not
        // match it.
        let cut = open(&store, b"c").await;
        for i in 0..3 {
            store
                .append_event(
                    cut,
                    store.head(cut).await.unwrap(),
                    event("comment", json!({ "i": i })),
                    None,
                )
                .await
                .unwrap();
        }
        let truncate = format!("DELETE FROM events WHERE case_id = {cut} AND seq >= 3");
        raw_sql!(store, sqlx::AssertSqlSafe(truncate)).unwrap();

        for (case, seq, reason_word) in [
            (edited, 3, "hash"),
            (gapped, 2, "missing"),
            (cut, 3, "missing"),
        ] {
            match store.verify_chain(case).await {
                Err(StoreError::ChainBroken(b)) => {
                    assert_eq!((b.case_id, b.seq), (case, seq), "{label}");
                    assert!(b.reason.contains(reason_word), "{label}: {}", b.reason);
                }
                other => panic!("{label}: expected ChainBroken for case {case}, got {other:?}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn foreign_keys_are_enforced() {
    each_backend(async |label, store| {
        let orphan = raw_sql!(
            store,
            "INSERT INTO events (case_id, seq, kind, actor, occurred_at, payload, prev_hash, hash) \
             VALUES (424242, 1, 'k', 'a', '2025-01-01T00:00:00.000000000Z', '{}', 'p', 'h')"
        );
        let err = orphan.expect_err("event for a missing case must be rejected");
        let db = err.as_database_error().expect("a database error");
        assert!(db.is_foreign_key_violation(), "{label}: {db}");
    })
    .await;
}

#[test]
fn event_hash_fields_are_unambiguous() {
    let a = event_hash(GENESIS_HASH, 1, 1, "ab", "c", "t", "{}");
    let b = event_hash(GENESIS_HASH, 1, 1, "a", "bc", "t", "{}");
    let c = event_hash(GENESIS_HASH, 11, 1, "ab", "c", "t", "{}");
    let d = event_hash(GENESIS_HASH, 1, 11, "ab", "c", "t", "{}");
    assert_eq!(a.len(), 64);
    assert_eq!(BTreeSet::from([&a, &b, &c, &d]).len(), 4);
}

#[tokio::test]
async fn several_events_are_chained_in_the_given_order() {
    each_backend(async |label, store| {
        let kinds = ["reported", "attachment_added", "acknowledged"];
        let events: Vec<_> = kinds
            .iter()
            .enumerate()
            .map(|(i, k)| event(k, json!({ "i": i })))
            .collect();
        let case = store
            .open_case(
                new_case(&store, b"t").await,
                events,
                projection("new", None),
                Effects::default(),
            )
            .await
            .unwrap();
        let more = store
            .append_events(
                case.id,
                store.head(case.id).await.unwrap(),
                vec![event("comment", json!({})), event("triaged", json!({}))],
                Some(projection("triaged", None)),
                Effects::default(),
            )
            .await
            .unwrap();
        let stored = store.events(case.id).await.unwrap();
        let got: Vec<_> = stored.iter().map(|e| (e.seq, e.kind.as_str())).collect();
        assert_eq!(
            got,
            [
                (1, "reported"),
                (2, "attachment_added"),
                (3, "acknowledged"),
                (4, "comment"),
                (5, "triaged")
            ],
            "{label}"
        );
        assert_eq!(
            more,
            stored[3..],
            "{label}: append_events returns what it stored"
        );
        assert_eq!(stored[1].prev_hash, stored[0].hash, "{label}");
        assert_eq!(stored[3].prev_hash, stored[2].hash, "{label}");
        store.verify_chain(case.id).await.unwrap();
        assert_eq!(
            store.projection(case.id).await.unwrap(),
            Some(projection("triaged", None)),
            "{label}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_case_write_without_events_is_refused() {
    each_backend(async |label, store| {
        let case_id = open(&store, b"t").await;
        let before = row_counts(&store).await;
        let opened = store
            .open_case(
                new_case(&store, b"u").await,
                vec![],
                projection("new", None),
                Effects::default(),
            )
            .await;
        assert!(
            matches!(opened, Err(StoreError::Invalid(_))),
            "{label}: {opened:?}"
        );
        let appended = store
            .append_events(
                case_id,
                store.head(case_id).await.unwrap(),
                vec![],
                None,
                Effects::default(),
            )
            .await;
        assert!(
            matches!(appended, Err(StoreError::Invalid(_))),
            "{label}: {appended:?}"
        );
        assert_eq!(row_counts(&store).await, before, "{label}");
    })
    .await;
}

#[tokio::test]
async fn a_reporters_write_lands_only_while_its_token_is_the_cases() {
    each_backend(async |label, store| {
        let case_id = open(&store, b"old").await;
        let with = |token: &[u8], new: Option<&[u8]>| Effects {
            reporter_token: Some(token.to_vec()),
            reporter_token_hash: new.map(<[u8]>::to_vec),
            ..Effects::default()
        };
        // Two replacements made with the same token: the second finds it replaced.
        let head = store.head(case_id).await.unwrap();
        store
            .append_events(
                case_id,
                head,
                vec![event("token", json!({}))],
                None,
                with(b"old", Some(b"new")),
            )
            .await
            .unwrap();
        let head = store.head(case_id).await.unwrap();
        let again = store
            .append_events(
                case_id,
                head,
                vec![event("token", json!({}))],
                None,
                with(b"old", Some(b"other")),
            )
            .await;
        assert!(
            matches!(again, Err(StoreError::NotFound("case"))),
            "{label}: {again:?}"
        );
        // A reply with the replaced token is refused; with the new one it lands.
        let reply = store
            .append_events(
                case_id,
                head,
                vec![event("reply", json!({}))],
                None,
                with(b"old", None),
            )
            .await;
        assert!(
            matches!(reply, Err(StoreError::NotFound("case"))),
            "{label}"
        );
        store
            .append_events(
                case_id,
                head,
                vec![event("reply", json!({}))],
                None,
                with(b"new", None),
            )
            .await
            .unwrap();
        assert!(
            store
                .case_for_reporter(case_id, b"new")
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(store.events(case_id).await.unwrap().len(), 3, "{label}");
    })
    .await;
}
