//! Connecting and migrating, including migrating databases that already hold data.

use std::collections::BTreeSet;

use super::*;
use crate::testing::fresh_stores;
use crate::{Backend, StoreError};

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
        if let Store::Sqlite(crate::SqliteStore { pool: p, .. }) = store {
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

#[tokio::test]
async fn migration_0002_gives_existing_cases_a_reply_tag() {
    for (label, url) in fresh_databases().await {
        let store = Store::connect(&url, &StoreOptions::default())
            .await
            .unwrap();
        match &store {
            Store::Sqlite(crate::SqliteStore { pool: p, .. }) => {
                crate::SQLITE_MIGRATIONS.run_to(1, p).await.unwrap()
            }
            Store::Postgres(p) => crate::POSTGRES_MIGRATIONS.run_to(1, p).await.unwrap(),
        }
        // Rows as a 0001-era server wrote them (no reply_tag column yet).
        let (product, policy) = product_and_policy(&store).await;
        let blob = match store.backend() {
            Backend::Sqlite => "X'00'",
            Backend::Postgres => "'\\x00'::bytea",
        };
        let insert_old = |extra_col: &str, extra_val: &str| {
            sqlx::AssertSqlSafe(format!(
                "INSERT INTO cases (product_id, policy_version_id, reporter_token_hash, \
                 opened_at{extra_col}) VALUES ({product}, {policy}, {blob}, \
                 '2024-01-01T00:00:00.000000000Z'{extra_val})"
            ))
        };
        for _ in 0..3 {
            raw_sql!(store, insert_old("", "")).unwrap();
        }
        raw_sql!(
            store,
            "INSERT INTO events (case_id, seq, kind, actor, occurred_at, payload, prev_hash, hash) \
             SELECT id, 1, 'reported', 'reporter', opened_at, '{}', '', '' FROM cases"
        )
        .unwrap();

        store.migrate().await.unwrap();
        let mut tags = BTreeSet::new();
        for id in store.case_ids().await.unwrap() {
            let case = store.case(id).await.unwrap().unwrap();
            let tag = &case.reply_tag;
            assert!(
                tag.len() == 32 && tag.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                "{label}: {tag:?}"
            );
            // Every case has its reporter as a participant, with the case's tag.
            let reporter = store.participant_by_reply_tag(tag).await.unwrap();
            let reporter = reporter.unwrap_or_else(|| panic!("{label}: case {id} backfilled"));
            assert_eq!(
                (reporter.case_id, reporter.role.as_str(), reporter.user_id),
                (case.id, "reporter", None),
                "{label}"
            );
            tags.insert(case.reply_tag);
        }
        assert_eq!(tags.len(), 3, "{label}: distinct tags");

        // A writer that bypasses the store still cannot leave a case without a valid tag.
        for (col, val) in [("", ""), (", reply_tag", ", 'NOT-A-TAG'")] {
            let err = raw_sql!(store, insert_old(col, val));
            assert!(err.is_err(), "{label}: insert with{col}{val} must fail");
        }
        let dup = format!(", '{}'", tags.first().unwrap());
        let err = raw_sql!(store, insert_old(", reply_tag", &dup)).expect_err("duplicate tag");
        assert!(
            err.as_database_error().unwrap().is_unique_violation(),
            "{label}: {err}"
        );

        // Old cases keep working through the new API.
        let old = *store.case_ids().await.unwrap().first().unwrap();
        store
            .append_events(
                old,
                store.head(old).await.unwrap(),
                vec![event("message", json!({}))],
                None,
                Effects::default(),
            )
            .await
            .unwrap();
        let new = open(&store, b"new").await;
        assert!(
            !tags.contains(&store.case(new).await.unwrap().unwrap().reply_tag),
            "{label}"
        );

        store.close().await;
        if label == "postgres" {
            drop_postgres_database(&url).await;
        }
    }
}
