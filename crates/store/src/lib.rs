//! Vulndesk storage: one repository API over SQLite (the embedded default) and PostgreSQL.
//!
//! The crate does not know the domain: events are a kind string plus a JSON payload stored as
//! text, and the caller computes projections. Each case's events form a SHA-256 hash chain (see
//! [`event_hash`]) that [`Store::verify_chain`] checks without trusting the database's
//! append-only triggers.
//!
//! The API is split by capability, with the same module names as the other layers:
//! [`policies`] (organisations, products, policy versions), [`cases`] (cases, events,
//! projections, the transactional [`Effects`] of a case write), [`intake`] (attachments, raw
//! mail, mail threading, OpenPGP keys), [`outbox`] (jobs claimed by workers), [`accounts`]
//! (people, roles, grants, passwords, second factors), [`participants`] (who takes part in a
//! case by mail, each with a reply address), [`sessions`] (sessions, API tokens,
//! sign-in throttling), [`dashboard`] (the team's case listing), [`search`] (the full-text
//! rows and grants a case write stores), [`reminders`] and [`account_log`]. Everything public
//! is re-exported here.

use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool, Transaction};

/// Expands the same body once per pool type; SQLite accepts `$n` parameters, so one SQL text
/// serves both backends. Defined before the modules so that all of them can use it.
macro_rules! on_pool {
    ($store:expr, $p:ident => $body:expr) => {
        match $store {
            Store::Sqlite(sqlite) => {
                let $p = &sqlite.pool;
                $body
            }
            Store::Postgres($p) => $body,
        }
    };
}

pub mod account_log;
pub mod accounts;
pub mod advisories;
mod batch;
pub mod cases;
pub mod coordination;
pub mod dashboard;
pub mod intake;
pub mod outbox;
pub mod participants;
pub mod policies;
pub mod reminders;
pub mod search;
pub mod sessions;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod writer;

pub use account_log::AccountEventRow;
pub use accounts::{NewUser, UserRow};
pub use advisories::{AdvisoryEventRow, AdvisoryRow, PooledCve};
pub use cases::{
    CaseRow, ChainBreak, Effects, EventRow, GENESIS_HASH, NewCase, NewEvent, Projection,
    event_hash, new_reply_tag,
};
pub use coordination::{IfExists, NewParty, PartyRow, Put};
pub use dashboard::{CaseListing, CaseQuery, Visible};
pub use intake::{
    AttachmentRow, NewAttachment, NewRawMessage, NewReporterKey, OrgKeyRow, RawMessageRow,
    ReporterKeyRow,
};
pub use outbox::{JobRow, JobStatus, NewJob};
pub use participants::{NewPartyParticipant, ParticipantRow};
pub use policies::{Organisation, PolicyVersion, ProductRow};
pub use search::SearchText;
pub use sessions::{ApiTokenRow, ApiTokenUse, NewSession, SessionRow};

/// A connection pool to one of the supported backends. Cheap to clone (pools are shared).
#[derive(Debug, Clone)]
pub enum Store {
    /// Embedded SQLite database file.
    Sqlite(SqliteStore),
    /// PostgreSQL server.
    Postgres(PgPool),
}

/// An SQLite database: a pool for reads and most writes, and the one connection that case
/// writes queue for (see [`Store::append_events`]).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The pool, for statements of one's own (tests, benchmarks).
    pub pool: SqlitePool,
    writer: writer::Writer,
}

/// Which backend a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// SQLite `synchronous` pragma choices offered to operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSync {
    /// fsync on every commit: an acknowledged report survives a power cut.
    #[default]
    Full,
    /// Faster, but the last commits may be lost on power failure (never corrupts in WAL mode).
    Normal,
}

/// Connection settings. `Default` is the durable configuration.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// SQLite durability; ignored for PostgreSQL.
    pub synchronous: SqliteSync,
    /// Pool size.
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            synchronous: SqliteSync::Full,
            max_connections: 8,
        }
    }
}

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named entity does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness or consistency rule would be violated.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The raw message (named by its Message-ID, or `sha256:<hex>` when it has none) is already
    /// stored; nothing of the failed call was written. Mail ingest treats this as "already
    /// ingested", which is what makes re-delivery of the same message harmless.
    #[error("already stored: {0}")]
    Duplicate(String),
    /// The caller passed something the store cannot accept (e.g. no events to append).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The operating system's random generator failed (needed for reply tags).
    #[error("operating system random generator: {0}")]
    Entropy(String),
    /// The database refused a value for its content (PostgreSQL: U+0000 or a byte sequence
    /// invalid in the database encoding). The input, not the database, is at fault: retrying
    /// the same value fails the same way.
    #[error("the database cannot store this text: {0}")]
    Unstorable(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL is malformed or has an unsupported scheme.
    #[error("bad database URL: {0}")]
    BadUrl(String),
    /// A case write was decided on a log head that is no longer the head: someone else
    /// appended first. Nothing was written; read the log again and decide again.
    #[error(
        "case {case_id} changed: its log is at event {head}, the write was decided at {decided_on}"
    )]
    Stale {
        /// The case written to.
        case_id: i64,
        /// The head the write was decided on.
        decided_on: i64,
        /// The head found.
        head: i64,
    },
    /// A case's event log failed verification.
    #[error("{0}")]
    ChainBroken(ChainBreak),
    /// A stored value (timestamp, date, JSON) could not be decoded.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        // PostgreSQL SQLSTATE 22021 character_not_in_repertoire (also raised for 0x00 in
        // text) and 22P05 untranslatable_character: bad content, not an outage.
        match e.as_database_error().and_then(|d| d.code()) {
            Some(code) if code == "22021" || code == "22P05" => {
                let message = e
                    .as_database_error()
                    .map_or_else(String::new, |d| d.message().to_owned());
                StoreError::Unstorable(message)
            }
            _ => StoreError::Database(e),
        }
    }
}

/// Fixed precision so stored texts sort chronologically and re-encode identically.
pub(crate) fn ts_text(t: Timestamp) -> String {
    format!("{t:.9}")
}

pub(crate) fn parse_ts(s: &str) -> Result<Timestamp, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Corrupt(format!("timestamp {s:?}: {e}")))
}

pub(crate) fn parse_opt_ts(s: Option<String>) -> Result<Option<Timestamp>, StoreError> {
    s.as_deref().map(parse_ts).transpose()
}

pub(crate) fn parse_date(s: Option<String>) -> Result<Option<Date>, StoreError> {
    s.map(|s| {
        s.parse()
            .map_err(|e| StoreError::Corrupt(format!("date {s:?}: {e}")))
    })
    .transpose()
}

/// Lowercase hex SHA-256, the content address used for policies, attachments and raw mail.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Turns constraint violations into domain errors; everything else stays a database error.
pub(crate) fn constraint(e: sqlx::Error, missing: &'static str) -> StoreError {
    match e.as_database_error() {
        Some(d) if d.is_foreign_key_violation() => StoreError::NotFound(missing),
        Some(d) if d.is_unique_violation() => StoreError::Conflict(d.message().to_owned()),
        _ => StoreError::from(e),
    }
}

/// The few statements that differ per backend for serialising writers.
pub(crate) trait WritePool {
    type Db: sqlx::Database;
    /// Starts a transaction that already holds (SQLite) or can take (PostgreSQL) write locks.
    async fn begin_write(&self) -> Result<Transaction<'static, Self::Db>, sqlx::Error>;
    /// Selects the organisation row, locking it against concurrent policy writers.
    fn lock_org_sql(&self) -> &'static str;
    /// Runs `batch` on `e` (this backend's connection or transaction).
    async fn run_batch<'c>(
        &self,
        batch: batch::Batch,
        e: impl sqlx::Executor<'c, Database = Self::Db>,
    ) -> Result<(), sqlx::Error>;
}

impl WritePool for SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        // IMMEDIATE takes the write lock up front: a deferred transaction that reads then writes
        // can fail with SQLITE_BUSY on lock upgrade instead of waiting out busy_timeout.
        self.begin_with("BEGIN IMMEDIATE").await
    }
    fn lock_org_sql(&self) -> &'static str {
        "SELECT id FROM organisations WHERE id = $1"
    }
    async fn run_batch<'c>(
        &self,
        batch: batch::Batch,
        e: impl sqlx::Executor<'c, Database = sqlx::Sqlite>,
    ) -> Result<(), sqlx::Error> {
        batch.run_sqlite(e).await
    }
}

impl WritePool for PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> Result<Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
    fn lock_org_sql(&self) -> &'static str {
        "SELECT id FROM organisations WHERE id = $1 FOR UPDATE"
    }
    async fn run_batch<'c>(
        &self,
        batch: batch::Batch,
        e: impl sqlx::Executor<'c, Database = sqlx::Postgres>,
    ) -> Result<(), sqlx::Error> {
        batch.run_postgres(e).await
    }
}

pub(crate) static SQLITE_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate!("./migrations/sqlite");
pub(crate) static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects to `sqlite://path/to/file.db` (the file is created if missing) or
    /// `postgres://user@host:port/db`.
    ///
    /// SQLite runs in WAL mode with foreign keys on, a 10 s busy timeout, temporary files
    /// (the savepoint journals of the case writer's groups) in memory, and `synchronous`
    /// from `opts` (FULL unless configured otherwise).
    pub async fn connect(url: &str, opts: &StoreOptions) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            let o = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::BadUrl(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("temp_store", "memory")
                .synchronous(match opts.synchronous {
                    SqliteSync::Full => SqliteSynchronous::Full,
                    SqliteSync::Normal => SqliteSynchronous::Normal,
                });
            let pool = SqlitePoolOptions::new()
                .max_connections(opts.max_connections)
                .connect_with(o.clone())
                .await?;
            let writer = writer::Writer::start(o).await?;
            Ok(Store::Sqlite(SqliteStore { pool, writer }))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let o =
                PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections)
                .connect_with(o)
                .await?;
            Ok(Store::Postgres(pool))
        } else {
            // The URL itself is not echoed: it may carry a password.
            Err(StoreError::BadUrl(
                "expected a sqlite:// or postgres:// URL".to_owned(),
            ))
        }
    }

    /// Applies pending migrations (`migrations/sqlite` or `migrations/postgres`).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => SQLITE_MIGRATIONS.run(&s.pool).await?,
            Store::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite(_) => Backend::Sqlite,
            Store::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        if let Store::Sqlite(s) = self {
            s.writer.close().await;
        }
        on_pool!(self, p => p.close().await)
    }

    /// A round trip to the database, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("SELECT 1").execute(p).await?;
            Ok(())
        })
    }
}

/// `url`, a PostgreSQL URL, naming database `db` instead (its last path segment); the
/// query string is kept.
///
/// ```
/// assert_eq!(
///     vulndesk_store::with_database("postgres://u@h:5432/test?sslmode=disable", "postgres"),
///     "postgres://u@h:5432/postgres?sslmode=disable"
/// );
/// ```
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

#[cfg(test)]
mod tests;
