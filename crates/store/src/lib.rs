//! Vulndesk storage: one repository API over SQLite (the embedded default) and PostgreSQL.
//!
//! The crate does not know the domain: events are a kind string plus a JSON payload stored as
//! text, and the caller computes projections. Each case's events form a SHA-256 hash chain (see
//! [`event_hash`]) that [`Store::verify_chain`] checks without trusting the database's
//! append-only triggers.

use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool, Transaction};

pub mod testing;

/// A connection pool to one of the supported backends. Cheap to clone (pools are shared).
#[derive(Debug, Clone)]
pub enum Store {
    /// Embedded SQLite database file.
    Sqlite(SqlitePool),
    /// PostgreSQL server.
    Postgres(PgPool),
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
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL is malformed or has an unsupported scheme.
    #[error("bad database URL: {0}")]
    BadUrl(String),
    /// A case's event log failed verification.
    #[error("{0}")]
    ChainBroken(ChainBreak),
    /// A stored value (timestamp, date) could not be decoded.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

/// The first broken link found in a case's hash chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The case whose log is broken.
    pub case_id: i64,
    /// The sequence number at which verification failed.
    pub seq: i64,
    /// What was wrong at that point.
    pub reason: String,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "hash chain of case {} broken at seq {}: {}",
            self.case_id, self.seq, self.reason
        )
    }
}

/// An organisation (a vendor running a disclosure desk).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Organisation {
    /// Row id.
    pub id: i64,
    /// URL-safe identifier, unique.
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// One stored version of an organisation's disclosure policy source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    /// Row id; cases pin this.
    pub id: i64,
    /// Owning organisation.
    pub org_id: i64,
    /// 1, 2, ... per organisation.
    pub version: i64,
    /// The policy text exactly as given.
    pub source: String,
    /// Lowercase hex SHA-256 of `source`.
    pub sha256: String,
    /// When this version was stored.
    pub created_at: Timestamp,
}

/// A product together with its organisation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProductRow {
    /// Product row id.
    pub id: i64,
    /// Owning organisation id.
    pub org_id: i64,
    /// Owning organisation slug.
    pub org_slug: String,
    /// Owning organisation name.
    pub org_name: String,
    /// Product slug, unique within the organisation.
    pub slug: String,
    /// Product display name.
    pub name: String,
}

/// Input for [`Store::open_case`].
#[derive(Debug, Clone)]
pub struct NewCase {
    /// The product the report is about.
    pub product_id: i64,
    /// The policy version the case is governed by for its whole life.
    pub policy_version_id: i64,
    /// Hash of the reporter's access token; the token itself is never stored.
    pub reporter_token_hash: Vec<u8>,
    /// When the report arrived.
    pub opened_at: Timestamp,
}

/// A stored case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    /// Case id.
    pub id: i64,
    /// Product the case is about.
    pub product_id: i64,
    /// Pinned policy version.
    pub policy_version_id: i64,
    /// When the report arrived.
    pub opened_at: Timestamp,
}

/// An event to append to a case's log.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Event kind, interpreted by the caller.
    pub kind: String,
    /// Who caused it.
    pub actor: String,
    /// When it happened.
    pub at: Timestamp,
    /// Event body; serialised once and stored as text.
    pub payload: serde_json::Value,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Owning case.
    pub case_id: i64,
    /// 1, 2, ... without gaps.
    pub seq: i64,
    /// Event kind.
    pub kind: String,
    /// Who caused it.
    pub actor: String,
    /// When it happened.
    pub at: Timestamp,
    /// The exact stored JSON text (what the hash covers).
    pub payload: String,
    /// Hash of the previous event, or [`GENESIS_HASH`] for seq 1.
    pub prev_hash: String,
    /// This event's hash, see [`event_hash`].
    pub hash: String,
}

/// Caller-computed summary of a case, stored for listing and deadline queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    /// Current state name.
    pub state: String,
    /// Next deadline, if any.
    pub next_due: Option<Date>,
    /// What the next deadline is for.
    pub next_due_kind: Option<String>,
}

/// `prev_hash` of every case's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Computes an event's hash: lowercase hex SHA-256 of the bytes
///
/// ```text
/// "vulndesk-event-v1" || F(prev_hash) || F(case_id) || F(seq) || F(kind) || F(actor) || F(at) || F(payload)
/// ```
///
/// where `F(x)` is the byte length of `x` as a big-endian u64 followed by the UTF-8 bytes of `x`,
/// `case_id` and `seq` are ASCII decimal, `prev_hash` is lowercase hex, and `at` and `payload`
/// are the exact stored texts (`at` is RFC 3339 UTC with nine fractional digits). Length
/// prefixes make the encoding unambiguous whatever the fields contain.
pub fn event_hash(
    prev_hash: &str,
    case_id: i64,
    seq: i64,
    kind: &str,
    actor: &str,
    at: &str,
    payload: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(b"vulndesk-event-v1");
    let fields = [
        prev_hash,
        &case_id.to_string(),
        &seq.to_string(),
        kind,
        actor,
        at,
        payload,
    ];
    for f in fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Fixed precision so stored texts sort chronologically and re-encode identically.
fn ts_text(t: Timestamp) -> String {
    format!("{t:.9}")
}

fn parse_ts(s: &str) -> Result<Timestamp, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Corrupt(format!("timestamp {s:?}: {e}")))
}

fn parse_date(s: Option<String>) -> Result<Option<Date>, StoreError> {
    s.map(|s| {
        s.parse()
            .map_err(|e| StoreError::Corrupt(format!("date {s:?}: {e}")))
    })
    .transpose()
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Turns constraint violations into domain errors; everything else stays a database error.
fn constraint(e: sqlx::Error, missing: &'static str) -> StoreError {
    match e.as_database_error() {
        Some(d) if d.is_foreign_key_violation() => StoreError::NotFound(missing),
        Some(d) if d.is_unique_violation() => StoreError::Conflict(d.message().to_owned()),
        _ => StoreError::Database(e),
    }
}

#[derive(sqlx::FromRow)]
struct RawPolicy {
    id: i64,
    org_id: i64,
    version: i64,
    source: String,
    sha256: String,
    created_at: String,
}

impl RawPolicy {
    fn decode(self) -> Result<PolicyVersion, StoreError> {
        Ok(PolicyVersion {
            id: self.id,
            org_id: self.org_id,
            version: self.version,
            source: self.source,
            sha256: self.sha256,
            created_at: parse_ts(&self.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RawCase {
    id: i64,
    product_id: i64,
    policy_version_id: i64,
    opened_at: String,
}

impl RawCase {
    fn decode(self) -> Result<CaseRow, StoreError> {
        Ok(CaseRow {
            id: self.id,
            product_id: self.product_id,
            policy_version_id: self.policy_version_id,
            opened_at: parse_ts(&self.opened_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RawEvent {
    case_id: i64,
    seq: i64,
    kind: String,
    actor: String,
    occurred_at: String,
    payload: String,
    prev_hash: String,
    hash: String,
}

impl RawEvent {
    fn chained(case_id: i64, seq: i64, prev_hash: String, ev: &NewEvent) -> RawEvent {
        let occurred_at = ts_text(ev.at);
        let payload = ev.payload.to_string();
        let hash = event_hash(
            &prev_hash,
            case_id,
            seq,
            &ev.kind,
            &ev.actor,
            &occurred_at,
            &payload,
        );
        RawEvent {
            case_id,
            seq,
            kind: ev.kind.clone(),
            actor: ev.actor.clone(),
            occurred_at,
            payload,
            prev_hash,
            hash,
        }
    }

    fn recomputed_hash(&self) -> String {
        event_hash(
            &self.prev_hash,
            self.case_id,
            self.seq,
            &self.kind,
            &self.actor,
            &self.occurred_at,
            &self.payload,
        )
    }

    fn decode(self) -> Result<EventRow, StoreError> {
        Ok(EventRow {
            at: parse_ts(&self.occurred_at)?,
            case_id: self.case_id,
            seq: self.seq,
            kind: self.kind,
            actor: self.actor,
            payload: self.payload,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RawProjection {
    state: String,
    next_due: Option<String>,
    next_due_kind: Option<String>,
}

impl RawProjection {
    fn decode(self) -> Result<Projection, StoreError> {
        Ok(Projection {
            state: self.state,
            next_due: parse_date(self.next_due)?,
            next_due_kind: self.next_due_kind,
        })
    }
}

/// The few statements that differ per backend for serialising writers.
trait WritePool {
    type Db: sqlx::Database;
    /// Starts a transaction that already holds (SQLite) or can take (PostgreSQL) write locks.
    async fn begin_write(&self) -> Result<Transaction<'static, Self::Db>, sqlx::Error>;
    /// Selects the case row, locking it against concurrent appenders where that is needed.
    fn lock_case_sql(&self) -> &'static str;
    /// Selects the organisation row, locking it against concurrent policy writers.
    fn lock_org_sql(&self) -> &'static str;
}

impl WritePool for SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        // IMMEDIATE takes the write lock up front: a deferred transaction that reads then writes
        // can fail with SQLITE_BUSY on lock upgrade instead of waiting out busy_timeout.
        self.begin_with("BEGIN IMMEDIATE").await
    }
    fn lock_case_sql(&self) -> &'static str {
        "SELECT id FROM cases WHERE id = $1"
    }
    fn lock_org_sql(&self) -> &'static str {
        "SELECT id FROM organisations WHERE id = $1"
    }
}

impl WritePool for PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> Result<Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
    fn lock_case_sql(&self) -> &'static str {
        "SELECT id FROM cases WHERE id = $1 FOR UPDATE"
    }
    fn lock_org_sql(&self) -> &'static str {
        "SELECT id FROM organisations WHERE id = $1 FOR UPDATE"
    }
}

/// Expands the same body once per pool type; SQLite accepts `$n` parameters, so one SQL text
/// serves both backends.
macro_rules! on_pool {
    ($store:expr, $p:ident => $body:expr) => {
        match $store {
            Store::Sqlite($p) => $body,
            Store::Postgres($p) => $body,
        }
    };
}

macro_rules! insert_event {
    ($tx:expr, $raw:expr) => {{
        let r: &RawEvent = $raw;
        sqlx::query(
            "INSERT INTO events (case_id, seq, kind, actor, occurred_at, payload, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(r.case_id)
        .bind(r.seq)
        .bind(r.kind.clone())
        .bind(r.actor.clone())
        .bind(r.occurred_at.clone())
        .bind(r.payload.clone())
        .bind(r.prev_hash.clone())
        .bind(r.hash.clone())
        .execute($tx)
        .await
        .map_err(|e| constraint(e, "case"))
    }};
}

macro_rules! upsert_projection {
    ($exec:expr, $case_id:expr, $p:expr) => {{
        let p: &Projection = $p;
        sqlx::query(
            "INSERT INTO case_projections (case_id, state, next_due, next_due_kind, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (case_id) DO UPDATE SET state = excluded.state, \
             next_due = excluded.next_due, next_due_kind = excluded.next_due_kind, \
             updated_at = excluded.updated_at",
        )
        .bind($case_id)
        .bind(p.state.clone())
        .bind(p.next_due.map(|d| d.to_string()))
        .bind(p.next_due_kind.clone())
        .bind(ts_text(Timestamp::now()))
        .execute($exec)
        .await
        .map_err(|e| constraint(e, "case"))
    }};
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects to `sqlite://path/to/file.db` (the file is created if missing) or
    /// `postgres://user@host:port/db`.
    ///
    /// SQLite runs in WAL mode with foreign keys on, a 10 s busy timeout, and
    /// `synchronous` from `opts` (FULL unless configured otherwise).
    pub async fn connect(url: &str, opts: &StoreOptions) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            let o = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::BadUrl(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .synchronous(match opts.synchronous {
                    SqliteSync::Full => SqliteSynchronous::Full,
                    SqliteSync::Normal => SqliteSynchronous::Normal,
                });
            let pool = SqlitePoolOptions::new()
                .max_connections(opts.max_connections)
                .connect_with(o)
                .await?;
            Ok(Store::Sqlite(pool))
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
            Store::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await?,
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
        on_pool!(self, p => p.close().await)
    }

    /// Creates the organisation or renames it; returns its id.
    pub async fn upsert_organisation(&self, slug: &str, name: &str) -> Result<i64, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_scalar(
            "INSERT INTO organisations (slug, name) VALUES ($1, $2) \
             ON CONFLICT (slug) DO UPDATE SET name = excluded.name RETURNING id",
        )
        .bind(slug.to_owned())
        .bind(name.to_owned())
        .fetch_one(p)
        .await?))
    }

    /// Looks an organisation up by slug.
    pub async fn organisation_by_slug(
        &self,
        slug: &str,
    ) -> Result<Option<Organisation>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_as(
            "SELECT id, slug, name FROM organisations WHERE slug = $1",
        )
        .bind(slug.to_owned())
        .fetch_optional(p)
        .await?))
    }

    /// Stores a policy version; every version is kept. Returns the existing latest version
    /// unchanged if `source` is byte-identical to it, otherwise a new version numbered latest+1.
    pub async fn add_policy_version(
        &self,
        org_id: i64,
        source: &str,
        created_at: Timestamp,
    ) -> Result<PolicyVersion, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let org: Option<i64> = sqlx::query_scalar(p.lock_org_sql())
                .bind(org_id)
                .fetch_optional(&mut *tx)
                .await?;
            if org.is_none() {
                return Err(StoreError::NotFound("organisation"));
            }
            let latest: Option<RawPolicy> = sqlx::query_as(
                "SELECT id, org_id, version, source, sha256, created_at FROM policy_versions \
                 WHERE org_id = $1 ORDER BY version DESC LIMIT 1",
            )
            .bind(org_id)
            .fetch_optional(&mut *tx)
            .await?;
            let next = match latest {
                Some(l) if l.source == source => return l.decode(),
                Some(l) => l.version + 1,
                None => 1,
            };
            let row: RawPolicy = sqlx::query_as(
                "INSERT INTO policy_versions (org_id, version, source, sha256, created_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 RETURNING id, org_id, version, source, sha256, created_at",
            )
            .bind(org_id)
            .bind(next)
            .bind(source.to_owned())
            .bind(sha256_hex(source))
            .bind(ts_text(created_at))
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| constraint(e, "organisation"))?;
            tx.commit().await?;
            row.decode()
        })
    }

    /// The organisation's highest-numbered policy version.
    pub async fn latest_policy(&self, org_id: i64) -> Result<Option<PolicyVersion>, StoreError> {
        let row: Option<RawPolicy> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, org_id, version, source, sha256, created_at FROM policy_versions \
             WHERE org_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(org_id)
        .fetch_optional(p)
        .await?);
        row.map(RawPolicy::decode).transpose()
    }

    /// One policy version by row id.
    pub async fn policy_version(&self, id: i64) -> Result<PolicyVersion, StoreError> {
        let row: Option<RawPolicy> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, org_id, version, source, sha256, created_at FROM policy_versions \
             WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(p)
        .await?);
        row.ok_or(StoreError::NotFound("policy version"))?.decode()
    }

    /// All of an organisation's policy versions, oldest first.
    pub async fn policy_versions(&self, org_id: i64) -> Result<Vec<PolicyVersion>, StoreError> {
        let rows: Vec<RawPolicy> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, org_id, version, source, sha256, created_at FROM policy_versions \
             WHERE org_id = $1 ORDER BY version",
        )
        .bind(org_id)
        .fetch_all(p)
        .await?);
        rows.into_iter().map(RawPolicy::decode).collect()
    }

    /// Creates the product or renames it; returns its id.
    pub async fn upsert_product(
        &self,
        org_id: i64,
        slug: &str,
        name: &str,
    ) -> Result<i64, StoreError> {
        on_pool!(self, p => sqlx::query_scalar(
            "INSERT INTO products (org_id, slug, name) VALUES ($1, $2, $3) \
             ON CONFLICT (org_id, slug) DO UPDATE SET name = excluded.name RETURNING id",
        )
        .bind(org_id)
        .bind(slug.to_owned())
        .bind(name.to_owned())
        .fetch_one(p)
        .await
        .map_err(|e| constraint(e, "organisation")))
    }

    /// All products, ordered by organisation slug then product slug (byte order on both
    /// backends).
    pub async fn list_products(&self) -> Result<Vec<ProductRow>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_as(
            "SELECT p.id, p.org_id, o.slug AS org_slug, o.name AS org_name, p.slug, p.name \
             FROM products p JOIN organisations o ON o.id = p.org_id \
             ORDER BY o.slug, p.slug",
        )
        .fetch_all(p)
        .await?))
    }

    /// One product by organisation and product slug.
    pub async fn product(
        &self,
        org_slug: &str,
        product_slug: &str,
    ) -> Result<Option<ProductRow>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_as(
            "SELECT p.id, p.org_id, o.slug AS org_slug, o.name AS org_name, p.slug, p.name \
             FROM products p JOIN organisations o ON o.id = p.org_id \
             WHERE o.slug = $1 AND p.slug = $2",
        )
        .bind(org_slug.to_owned())
        .bind(product_slug.to_owned())
        .fetch_optional(p)
        .await?))
    }

    /// One transaction: the case row, its first event (seq 1) and its projection row. Only
    /// returns after COMMIT.
    ///
    /// Fails with `NotFound` if the product or policy version is missing and `Conflict` if the
    /// policy version belongs to another organisation than the product.
    pub async fn open_case(
        &self,
        new: NewCase,
        first: NewEvent,
        projection: Projection,
    ) -> Result<CaseRow, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let orgs: Option<(i64, i64)> = sqlx::query_as(
                "SELECT p.org_id, v.org_id FROM products p, policy_versions v \
                 WHERE p.id = $1 AND v.id = $2",
            )
            .bind(new.product_id)
            .bind(new.policy_version_id)
            .fetch_optional(&mut *tx)
            .await?;
            match orgs {
                None => return Err(StoreError::NotFound("product or policy version")),
                Some((a, b)) if a != b => {
                    return Err(StoreError::Conflict(format!(
                        "policy version {} does not belong to the product's organisation",
                        new.policy_version_id
                    )))
                }
                Some(_) => {}
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO cases (product_id, policy_version_id, reporter_token_hash, opened_at) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(new.product_id)
            .bind(new.policy_version_id)
            .bind(new.reporter_token_hash.clone())
            .bind(ts_text(new.opened_at))
            .fetch_one(&mut *tx)
            .await?;
            insert_event!(&mut *tx, &RawEvent::chained(id, 1, GENESIS_HASH.to_owned(), &first))?;
            upsert_projection!(&mut *tx, id, &projection)?;
            tx.commit().await?;
            Ok(CaseRow {
                id,
                product_id: new.product_id,
                policy_version_id: new.policy_version_id,
                opened_at: new.opened_at,
            })
        })
    }

    /// Appends one event (seq = last+1, prev_hash = last hash) and, if given, replaces the
    /// projection, in one transaction.
    ///
    /// Concurrent appends to one case are serialised: PostgreSQL locks the case row
    /// (`FOR UPDATE`), SQLite holds the database write lock from `BEGIN IMMEDIATE`; the
    /// `(case_id, seq)` primary key backs both.
    pub async fn append_event(
        &self,
        case_id: i64,
        ev: NewEvent,
        projection: Option<Projection>,
    ) -> Result<EventRow, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let found: Option<i64> = sqlx::query_scalar(p.lock_case_sql())
                .bind(case_id)
                .fetch_optional(&mut *tx)
                .await?;
            if found.is_none() {
                return Err(StoreError::NotFound("case"));
            }
            let last: Option<(i64, String)> = sqlx::query_as(
                "SELECT seq, hash FROM events WHERE case_id = $1 ORDER BY seq DESC LIMIT 1",
            )
            .bind(case_id)
            .fetch_optional(&mut *tx)
            .await?;
            let (seq, prev) = last.map_or((1, GENESIS_HASH.to_owned()), |(s, h)| (s + 1, h));
            let raw = RawEvent::chained(case_id, seq, prev, &ev);
            insert_event!(&mut *tx, &raw)?;
            if let Some(pr) = &projection {
                upsert_projection!(&mut *tx, case_id, pr)?;
            }
            tx.commit().await?;
            raw.decode()
        })
    }

    /// One case by id.
    pub async fn case(&self, case_id: i64) -> Result<Option<CaseRow>, StoreError> {
        let row: Option<RawCase> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, product_id, policy_version_id, opened_at FROM cases WHERE id = $1",
        )
        .bind(case_id)
        .fetch_optional(p)
        .await?);
        row.map(RawCase::decode).transpose()
    }

    /// The case only if `token_hash` equals the stored reporter token hash. The comparison is
    /// SQL equality on a hash of a high-entropy token, so timing reveals nothing useful.
    pub async fn case_for_reporter(
        &self,
        case_id: i64,
        token_hash: &[u8],
    ) -> Result<Option<CaseRow>, StoreError> {
        let row: Option<RawCase> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, product_id, policy_version_id, opened_at FROM cases \
             WHERE id = $1 AND reporter_token_hash = $2",
        )
        .bind(case_id)
        .bind(token_hash.to_vec())
        .fetch_optional(p)
        .await?);
        row.map(RawCase::decode).transpose()
    }

    async fn raw_events(&self, case_id: i64) -> Result<Vec<RawEvent>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_as(
            "SELECT case_id, seq, kind, actor, occurred_at, payload, prev_hash, hash \
             FROM events WHERE case_id = $1 ORDER BY seq",
        )
        .bind(case_id)
        .fetch_all(p)
        .await?))
    }

    /// A case's events ordered by seq (empty if the case does not exist).
    pub async fn events(&self, case_id: i64) -> Result<Vec<EventRow>, StoreError> {
        self.raw_events(case_id)
            .await?
            .into_iter()
            .map(RawEvent::decode)
            .collect()
    }

    /// A case's stored projection.
    pub async fn projection(&self, case_id: i64) -> Result<Option<Projection>, StoreError> {
        let row: Option<RawProjection> = on_pool!(self, p => sqlx::query_as(
            "SELECT state, next_due, next_due_kind FROM case_projections WHERE case_id = $1",
        )
        .bind(case_id)
        .fetch_optional(p)
        .await?);
        row.map(RawProjection::decode).transpose()
    }

    /// Replaces a case's projection (e.g. after recomputing it with new rules).
    pub async fn set_projection(&self, case_id: i64, p: &Projection) -> Result<(), StoreError> {
        let proj = p;
        on_pool!(self, p => upsert_projection!(p, case_id, proj).map(drop))?;
        Ok(())
    }

    /// All case ids, ascending.
    pub async fn case_ids(&self) -> Result<Vec<i64>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_scalar("SELECT id FROM cases ORDER BY id")
            .fetch_all(p)
            .await?))
    }

    /// A round trip to the database, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("SELECT 1").execute(p).await?;
            Ok(())
        })
    }

    /// Number of cases.
    pub async fn count_cases(&self) -> Result<i64, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cases")
            .fetch_one(p)
            .await?))
    }

    /// Recomputes every event hash of the case from the stored rows and checks seq continuity
    /// and prev_hash links; `ChainBroken` names the first broken link. Relies only on the
    /// stored data, not on the append-only triggers. Removing events from the end of a log
    /// leaves a valid shorter chain and is not detectable here without an external anchor
    /// (e.g. a hash previously shown to the reporter).
    pub async fn verify_chain(&self, case_id: i64) -> Result<(), StoreError> {
        if self.case(case_id).await?.is_none() {
            return Err(StoreError::NotFound("case"));
        }
        let broken = |seq: i64, reason: String| {
            Err(StoreError::ChainBroken(ChainBreak {
                case_id,
                seq,
                reason,
            }))
        };
        let events = self.raw_events(case_id).await?;
        if events.is_empty() {
            return broken(1, "case has no events".to_owned());
        }
        let mut prev = GENESIS_HASH.to_owned();
        for (expected, ev) in (1..).zip(&events) {
            if ev.seq != expected {
                return broken(
                    expected,
                    format!("missing event (next stored seq is {})", ev.seq),
                );
            }
            if ev.prev_hash != prev {
                return broken(
                    ev.seq,
                    "prev_hash does not match the previous event's hash".to_owned(),
                );
            }
            if ev.recomputed_hash() != ev.hash {
                return broken(
                    ev.seq,
                    "stored hash does not match the event's contents".to_owned(),
                );
            }
            prev.clone_from(&ev.hash);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
