//! Every test runs the same body against each backend from `fresh_databases()`.

use std::collections::BTreeSet;

use crate::testing::{drop_postgres_database, fresh_databases, fresh_stores};
use crate::{
    Backend, GENESIS_HASH, NewCase, NewEvent, Projection, Store, StoreError, StoreOptions,
    event_hash,
};
use jiff::Timestamp;
use jiff::civil::date;
use serde_json::json;

/// Runs `f` once per backend on a fresh migrated store, dropping the PostgreSQL database after.
async fn each_backend(f: impl AsyncFn(&str, Store)) {
    for (label, url) in fresh_databases().await {
        let store = Store::connect(&url, &StoreOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        f(&label, store.clone()).await;
        store.close().await;
        if label == "postgres" {
            drop_postgres_database(&url).await;
        }
    }
}

/// Executes raw SQL behind the API's back, on either backend.
macro_rules! raw_sql {
    ($store:expr, $sql:expr) => {
        match &$store {
            Store::Sqlite(p) => sqlx::query($sql).execute(p).await.map(drop),
            Store::Postgres(p) => sqlx::query($sql).execute(p).await.map(drop),
        }
    };
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn event(kind: &str, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        kind: kind.to_owned(),
        actor: "reporter".to_owned(),
        at: ts("2025-03-01T10:00:00.123456789Z"),
        payload,
    }
}

fn projection(state: &str, due: Option<jiff::civil::Date>) -> Projection {
    Projection {
        state: state.to_owned(),
        next_due: due,
        next_due_kind: due.map(|_| "triage".to_owned()),
    }
}

/// An organisation with one product and one policy; returns (product_id, policy_version_id).
async fn product_and_policy(store: &Store) -> (i64, i64) {
    let org = store.upsert_organisation("acme", "Acme").await.unwrap();
    let product = store.upsert_product(org, "widget", "Widget").await.unwrap();
    let policy = store
        .add_policy_version(org, "policy v1", ts("2025-01-01T00:00:00Z"))
        .await
        .unwrap();
    (product, policy.id)
}

async fn open(store: &Store, token_hash: &[u8]) -> i64 {
    let (product_id, policy_version_id) = product_and_policy(store).await;
    store
        .open_case(
            NewCase {
                product_id,
                policy_version_id,
                reporter_token_hash: token_hash.to_vec(),
                opened_at: ts("2025-03-01T10:00:00.123456789Z"),
            },
            event("reported", json!({"title": "XSS"})),
            projection("new", Some(date(2025, 3, 8))),
        )
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn policy_versions_are_kept_and_numbered() {
    each_backend(async |label, store| {
        let org = store.upsert_organisation("acme", "Acme").await.unwrap();
        let t1 = ts("2025-01-01T00:00:00.000000001Z");
        let v1 = store
            .add_policy_version(org, "policy v1", t1)
            .await
            .unwrap();
        assert_eq!((v1.version, v1.org_id), (1, org), "{label}");
        assert_eq!(
            v1.sha256, "1346d3d6ba0fa2599109504e7524b14a03d1f48cb5e572481f47b8e036d9a85c",
            "{label}"
        );
        assert_eq!(
            v1.created_at, t1,
            "{label}: timestamp must round-trip exactly"
        );

        let again = store
            .add_policy_version(org, "policy v1", ts("2025-02-01T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            again, v1,
            "{label}: identical source must not create a version"
        );

        let v2 = store
            .add_policy_version(org, "policy v2", t1)
            .await
            .unwrap();
        // Reverting to old text is a new version: only the latest is compared.
        let v3 = store
            .add_policy_version(org, "policy v1", t1)
            .await
            .unwrap();
        assert_eq!((v2.version, v3.version), (2, 3), "{label}");

        let all = store.policy_versions(org).await.unwrap();
        assert_eq!(all, vec![v1.clone(), v2, v3.clone()], "{label}");
        assert_eq!(store.latest_policy(org).await.unwrap(), Some(v3), "{label}");
        assert_eq!(store.policy_version(v1.id).await.unwrap(), v1, "{label}");
        assert!(matches!(
            store.policy_version(987_654).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.add_policy_version(987_654, "x", t1).await,
            Err(StoreError::NotFound("organisation"))
        ));
        let other = store.upsert_organisation("other", "Other").await.unwrap();
        assert_eq!(store.latest_policy(other).await.unwrap(), None, "{label}");
    })
    .await;
}

#[tokio::test]
async fn products_are_listed_in_slug_byte_order() {
    each_backend(async |label, store| {
        let zeta = store.upsert_organisation("zeta", "Zeta").await.unwrap();
        let acme = store.upsert_organisation("acme", "Acme").await.unwrap();
        assert_eq!(
            store
                .upsert_organisation("acme", "Acme Corp")
                .await
                .unwrap(),
            acme,
            "{label}: upsert keeps the id"
        );
        store.upsert_product(zeta, "a", "Zeta A").await.unwrap();
        // Byte order puts "a-z" before "ab"; locale collations would not.
        let ab = store.upsert_product(acme, "ab", "AB").await.unwrap();
        store.upsert_product(acme, "a-z", "A to Z").await.unwrap();
        assert_eq!(
            store.upsert_product(acme, "ab", "AB v2").await.unwrap(),
            ab,
            "{label}"
        );

        let list = store.list_products().await.unwrap();
        let keys: Vec<_> = list
            .iter()
            .map(|p| (p.org_slug.as_str(), p.slug.as_str(), p.name.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("acme", "a-z", "A to Z"),
                ("acme", "ab", "AB v2"),
                ("zeta", "a", "Zeta A")
            ],
            "{label}"
        );
        let p = store.product("acme", "ab").await.unwrap().unwrap();
        assert_eq!(
            (p.id, p.org_id, p.org_name.as_str()),
            (ab, acme, "Acme Corp"),
            "{label}"
        );
        let org = store.organisation_by_slug("acme").await.unwrap().unwrap();
        assert_eq!((org.id, org.name.as_str()), (acme, "Acme Corp"), "{label}");
        assert!(matches!(
            store.upsert_product(987_654, "x", "X").await,
            Err(StoreError::NotFound("organisation"))
        ));
    })
    .await;
}

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
                .append_event(987_654, event("note", json!({})), None)
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
        };
        let payload =
            json!({"z": [1, 2.5, null], "a": "é \"quoted\" \\ \u{1F600}", "n": {"k": true}});
        let case = store
            .open_case(
                new.clone(),
                event("reported", payload.clone()),
                projection("new", None),
            )
            .await
            .unwrap();
        assert_eq!(
            store.case(case.id).await.unwrap(),
            Some(case.clone()),
            "{label}"
        );
        assert_eq!(case.opened_at, opened_at, "{label}");

        let second = store
            .append_event(case.id, event("triaged", json!({"severity": "high"})), None)
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

        let case2 = store
            .open_case(new, event("reported", json!({})), projection("new", None))
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
                },
                event("reported", json!({})),
                projection("new", None),
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
async fn concurrent_appends_get_consecutive_seqs() {
    each_backend(async |label, store| {
        let case_id = open(&store, b"token").await;
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .append_event(case_id, event("comment", json!({ "i": i })), None)
                        .await
                })
            })
            .collect();
        let mut seqs = BTreeSet::new();
        for t in tasks {
            seqs.insert(t.await.unwrap().unwrap().seq);
        }
        assert_eq!(seqs, (2..=21).collect(), "{label}");
        let stored: Vec<i64> = store
            .events(case_id)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(stored, (1..=21).collect::<Vec<_>>(), "{label}");
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
            .append_event(case_id, event("triaged", json!({})), Some(triaged.clone()))
            .await
            .unwrap();
        assert_eq!(
            store.projection(case_id).await.unwrap(),
            Some(triaged.clone()),
            "{label}"
        );

        store
            .append_event(case_id, event("comment", json!({})), None)
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
                },
                event("reported", json!({})),
                projection("new", None),
            )
            .await
            .unwrap()
            .id;
        for case in [edited, gapped] {
            for i in 0..3 {
                store
                    .append_event(case, event("comment", json!({ "i": i })), None)
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

        for (case, reason_word) in [(edited, "hash"), (gapped, "missing")] {
            match store.verify_chain(case).await {
                Err(StoreError::ChainBroken(b)) => {
                    assert_eq!(
                        (b.case_id, b.seq),
                        (case, if case == edited { 3 } else { 2 })
                    );
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

#[tokio::test]
async fn fresh_stores_are_migrated_and_durable() {
    let stores = fresh_stores().await;
    assert_eq!(stores[0].0, "sqlite");
    for (label, store) in &stores {
        let expected = if label == "sqlite" {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        assert_eq!(store.backend(), expected);
        assert_eq!(store.count_cases().await.unwrap(), 0, "{label}");
        store.migrate().await.unwrap();
        if let Store::Sqlite(p) = store {
            let mut conn = p.acquire().await.unwrap();
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(sync, 2, "synchronous must default to FULL");
            let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(journal, "wal");
            let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(fk, 1);
        }
        store.close().await;
        if let Store::Postgres(p) = store {
            let db = p.connect_options().get_database().map(str::to_owned);
            drop_postgres_database(&format!("postgres:///{}", db.unwrap_or_default())).await;
        }
    }
    assert!(matches!(
        Store::connect("mysql://localhost/x", &StoreOptions::default()).await,
        Err(StoreError::BadUrl(_))
    ));
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
