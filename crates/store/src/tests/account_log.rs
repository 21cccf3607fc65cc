use super::*;
use crate::{Backend, StoreError};

async fn three(store: &Store) {
    for (n, kind) in ["signed_in", "password_changed", "api_token_created"]
        .iter()
        .enumerate()
    {
        let seq = store
            .append_account_event(kind, "user:1", ts(NOW), &json!({"user": 1, "n": n}))
            .await
            .unwrap();
        assert_eq!(seq, n as i64 + 1);
    }
}

const NOW: &str = "2025-03-02T10:00:00Z";

fn broken_at(r: Result<usize, StoreError>) -> (i64, String) {
    match r {
        Err(StoreError::ChainBroken(b)) => (b.seq, b.reason),
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

async fn untriggered(store: &Store) {
    match store.backend() {
        Backend::Sqlite => {
            raw_sql!(store, "DROP TRIGGER account_events_no_update").unwrap();
            raw_sql!(store, "DROP TRIGGER account_events_no_delete").unwrap();
        }
        Backend::Postgres => {
            raw_sql!(
                store,
                "DROP TRIGGER account_events_append_only ON account_events"
            )
            .unwrap();
        }
    }
}

#[tokio::test]
async fn the_account_log_is_a_chain_and_edits_deletions_and_cuts_are_caught() {
    each_backend(async |label, store| {
        assert_eq!(
            store.verify_account_log().await.unwrap(),
            0,
            "{label}: empty is fine"
        );
        three(&store).await;
        assert_eq!(store.verify_account_log().await.unwrap(), 3);
        assert_eq!(
            store.account_events().await.unwrap()[1].kind,
            "password_changed"
        );
        // The triggers refuse changes.
        assert!(
            raw_sql!(store, "DELETE FROM account_events WHERE seq = 3").is_err(),
            "{label}"
        );
        untriggered(&store).await;
        // An edit.
        raw_sql!(
            store,
            "UPDATE account_events SET actor = 'user:2' WHERE seq = 2"
        )
        .unwrap();
        let (seq, why) = broken_at(store.verify_account_log().await);
        assert_eq!(seq, 2, "{label}: {why}");
        assert!(why.contains("does not match the event's contents"));
        raw_sql!(
            store,
            "UPDATE account_events SET actor = 'user:1' WHERE seq = 2"
        )
        .unwrap();
        assert_eq!(store.verify_account_log().await.unwrap(), 3);
        // A cut at the end.
        raw_sql!(store, "DELETE FROM account_events WHERE seq = 3").unwrap();
        let (seq, why) = broken_at(store.verify_account_log().await);
        assert_eq!(seq, 3, "{label}: {why}");
        // A deletion in the middle.
        raw_sql!(store, "DELETE FROM account_events WHERE seq = 1").unwrap();
        let (seq, why) = broken_at(store.verify_account_log().await);
        assert_eq!((seq, why.as_str()), (1, "missing event"), "{label}");
    })
    .await;
}

#[tokio::test]
async fn concurrent_appends_make_one_unbroken_chain() {
    each_backend(async |label, store| {
        let mut tasks = Vec::new();
        for n in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .append_account_event("signed_in", "user:1", ts(NOW), &json!({"n": n}))
                    .await
                    .unwrap()
            }));
        }
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.push(t.await.unwrap());
        }
        seqs.sort();
        assert_eq!(seqs, (1..=16).collect::<Vec<_>>(), "{label}");
        assert_eq!(store.verify_account_log().await.unwrap(), 16);
    })
    .await;
}
