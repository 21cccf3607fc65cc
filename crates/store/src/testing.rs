//! Helpers for tests in every crate: fresh, empty databases on both backends.
//!
//! PostgreSQL is reached through `VULNDESK_TEST_POSTGRES_URL` (an existing database used only to
//! run `CREATE DATABASE`), default `postgres://postgres@127.0.0.1:5432/test`.

use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::{Store, StoreOptions, with_database};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn admin_url() -> String {
    std::env::var("VULNDESK_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

fn random_hex() -> String {
    format!("{:016x}", rand::random::<u64>())
}

async fn admin_connection() -> Result<PgConnection, String> {
    let url = admin_url();
    match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&url)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("connection timed out after 5 s".to_owned()),
    }
}

/// A fresh SQLite file in a new temporary directory and, if reachable, a fresh PostgreSQL
/// database `vd_test_<random hex>`, as `(label, url)` with labels `"sqlite"` and `"postgres"`.
///
/// If PostgreSQL is unreachable this panics when `CI=true` (CI must never silently skip
/// PostgreSQL) and otherwise warns loudly on stderr and returns only SQLite.
pub async fn fresh_databases() -> Vec<(String, String)> {
    let dir = std::env::temp_dir().join(format!("vulndesk-test-{}", random_hex()));
    std::fs::create_dir_all(&dir).expect("create temporary directory for SQLite test database");
    let mut out = vec![(
        "sqlite".to_owned(),
        format!("sqlite://{}", dir.join("store.db").display()),
    )];
    match admin_connection().await {
        Ok(mut conn) => {
            let name = format!("vd_test_{}", random_hex());
            sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("CREATE DATABASE for PostgreSQL test database");
            let _ = conn.close().await;
            out.push(("postgres".to_owned(), with_database(&admin_url(), &name)));
        }
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("PostgreSQL unreachable at {} in CI: {e}", admin_url())
        }
        Err(e) => eprintln!(
            "\n*** WARNING: PostgreSQL unreachable at {} ({e}); testing SQLite ONLY ***\n",
            admin_url()
        ),
    }
    out
}

/// [`fresh_databases`], each connected with default options and migrated.
pub async fn fresh_stores() -> Vec<(String, Store)> {
    let mut out = Vec::new();
    for (label, url) in fresh_databases().await {
        let store = Store::connect(&url, &StoreOptions::default())
            .await
            .unwrap_or_else(|e| panic!("connect to fresh {label} database: {e}"));
        store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("migrate fresh {label} database: {e}"));
        out.push((label, store));
    }
    out
}

/// Best effort: drops a database made by [`fresh_databases`] (close its pools first). Only
/// `vd_test_*` names are touched; failures are reported on stderr and otherwise ignored.
pub async fn drop_postgres_database(url: &str) {
    let name = url
        .split('?')
        .next()
        .and_then(|u| u.rsplit('/').next())
        .unwrap_or("");
    let valid = name.starts_with("vd_test_")
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        eprintln!("drop_postgres_database: refusing to drop {name:?}");
        return;
    }
    let result = match admin_connection().await {
        Ok(mut conn) => sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        eprintln!("drop_postgres_database: could not drop {name}: {e}");
    }
}
