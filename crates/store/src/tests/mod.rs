//! Every test runs the same body against each backend from `fresh_databases()`. One module per
//! capability, like the crate.

use crate::testing::{drop_postgres_database, fresh_databases};
use crate::{Effects, NewCase, NewEvent, NewUser, Projection, Store, StoreError, StoreOptions};
use jiff::Timestamp;
use jiff::civil::date;
use serde_json::json;

/// Executes raw SQL behind the API's back, on either backend.
macro_rules! raw_sql {
    ($store:expr, $sql:expr) => {
        match &$store {
            Store::Sqlite(crate::SqliteStore { pool: p, .. }) => {
                sqlx::query($sql).execute(p).await.map(drop)
            }
            Store::Postgres(p) => sqlx::query($sql).execute(p).await.map(drop),
        }
    };
}

mod account_log;
mod accounts;
mod advisories;
mod cases;
mod coordination;
mod dashboard;
mod intake;
mod migrations;
mod outbox;
mod participants;
mod policies;
mod sessions;
mod writer;

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

fn user(email: &str) -> NewUser {
    NewUser {
        email: email.to_owned(),
        name: email.split('@').next().unwrap().to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        admin: false,
        totp_required: true,
    }
}

const NOW: &str = "2025-03-02T10:00:00Z";

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
        ..Projection::default()
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

/// A [`NewCase`] for the product and policy of [`product_and_policy`].
async fn new_case(store: &Store, token_hash: &[u8]) -> NewCase {
    let (product_id, policy_version_id) = product_and_policy(store).await;
    NewCase {
        product_id,
        policy_version_id,
        reporter_token_hash: token_hash.to_vec(),
        opened_at: ts("2025-03-01T10:00:00.123456789Z"),
        reply_tag: None,
    }
}

async fn open(store: &Store, token_hash: &[u8]) -> i64 {
    store
        .open_case(
            new_case(store, token_hash).await,
            vec![event("reported", json!({"title": "XSS"}))],
            projection("new", Some(date(2025, 3, 8))),
            Effects::default(),
        )
        .await
        .unwrap()
        .id
}

/// Every table a case write touches, for "nothing was written" checks.
const CASE_TABLES: [&str; 10] = [
    "cases",
    "events",
    "case_projections",
    "attachments",
    "raw_messages",
    "mail_threads",
    "reporter_keys",
    "jobs",
    "case_grants",
    "case_search",
];

/// Row counts of [`CASE_TABLES`], in that order.
async fn row_counts(store: &Store) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in CASE_TABLES {
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
        let n: i64 = match store {
            Store::Sqlite(crate::SqliteStore { pool: p, .. }) => {
                sqlx::query_scalar(sql).fetch_one(p).await
            }
            Store::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await,
        }
        .unwrap();
        out.push((table, n));
    }
    out
}
