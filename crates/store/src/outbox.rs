//! The durable outbox: jobs (outbound mail, notifications) enqueued in the same transaction as
//! the case events that cause them, and claimed by workers on any number of server instances.
//!
//! A job's life: `pending` (claimable once `run_after` has passed and no lease is live) →
//! claimed (still `pending`, with `leased_until` in the future) → `done`, back to `pending`
//! with a later `run_after` ([`Store::retry_job`]), or `dead` ([`Store::kill_job`]).
//!
//! Delivery is at-least-once: a worker that dies after doing the work but before
//! [`Store::complete_job`] loses its lease when `leased_until` passes, and the job is claimed
//! again. The alternative, completing before doing the work, would silently lose a
//! notification a deadline depends on. Work must therefore be safe to repeat: outbound mail
//! carries a Message-ID fixed when the job is enqueued (in its payload), so receivers and
//! threading see a repeat as the same message. Choose a lease longer than the slowest run.

use std::time::Duration;

use jiff::Timestamp;
use sqlx::{PgPool, SqlitePool};

use crate::{Store, StoreError, WritePool, parse_opt_ts, parse_ts, ts_text};

/// A job to enqueue as an [`Effects`](crate::Effects) of a case write.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// What the job does, e.g. `"mail.send"`; workers claim by kind.
    pub kind: String,
    /// Everything the worker needs, fixed at enqueue time (e.g. the outbound Message-ID).
    pub payload: serde_json::Value,
    /// Not claimable before this time.
    pub run_after: Timestamp,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting to run, running under a lease, or waiting for a retry.
    Pending,
    /// Completed.
    Done,
    /// Given up on.
    Dead,
}

impl JobStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Done => "done",
            JobStatus::Dead => "dead",
        }
    }

    fn parse(s: &str) -> Result<JobStatus, StoreError> {
        match s {
            "pending" => Ok(JobStatus::Pending),
            "done" => Ok(JobStatus::Done),
            "dead" => Ok(JobStatus::Dead),
            other => Err(StoreError::Corrupt(format!("job status {other:?}"))),
        }
    }
}

/// A stored job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// Job id.
    pub id: i64,
    /// The case whose write enqueued it.
    pub case_id: Option<i64>,
    /// What the job does.
    pub kind: String,
    /// Its input, as enqueued.
    pub payload: serde_json::Value,
    /// Where it is in its life.
    pub status: JobStatus,
    /// How many times it was claimed (the current claim included).
    pub attempts: i64,
    /// Not claimable before this time.
    pub run_after: Timestamp,
    /// While in the future, the job belongs to the worker that claimed it.
    pub leased_until: Option<Timestamp>,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// When it was enqueued (the time of the event that caused it).
    pub created_at: Timestamp,
    /// When it was last claimed, retried, completed or killed (or enqueued).
    pub updated_at: Timestamp,
    /// When it became done or dead.
    pub finished_at: Option<Timestamp>,
}

/// The jobs of an [`Effects`](crate::Effects), serialised ahead of the transaction:
/// `(kind, payload text, run_after text)`, and the enqueue stamp.
pub(crate) struct JobWrites {
    pub(crate) jobs: Vec<(String, String, String)>,
    pub(crate) at: String,
}

impl JobWrites {
    pub(crate) fn new(jobs: Vec<NewJob>, at: Timestamp) -> JobWrites {
        JobWrites {
            jobs: jobs
                .into_iter()
                .map(|j| (j.kind, j.payload.to_string(), ts_text(j.run_after)))
                .collect(),
            at: ts_text(at),
        }
    }
}

/// Adds the statement inserting [`JobWrites`] for a case.
pub(crate) fn job_rows(b: &mut crate::batch::Batch, case_id: Option<i64>, w: &JobWrites) {
    b.insert_rows(
        "jobs",
        "case_id, kind, payload, status, attempts, run_after, created_at, updated_at",
        &w.jobs,
        "",
        |b, (kind, payload, run_after)| {
            let at = b.arg(w.at.clone());
            format!(
                "{}, {}, {}, 'pending', 0, {}, {at}, {at}",
                b.arg(case_id),
                b.arg(kind.clone()),
                b.arg(payload.clone()),
                b.arg(run_after.clone()),
            )
        },
    );
}

/// The columns of [`RawJob`], a literal for `concat!`.
macro_rules! job_columns {
    () => {
        "id, case_id, kind, payload, status, attempts, run_after, leased_until, last_error, \
         created_at, updated_at, finished_at"
    };
}

/// Claiming differs per backend; parameters: $1 leased_until, $2 kind, $3 now, $4 limit.
trait ClaimSql {
    fn claim_jobs_sql(&self) -> &'static str;
}

impl ClaimSql for SqlitePool {
    /// Runs inside `BEGIN IMMEDIATE`: the database write lock serialises claimers, so the
    /// subquery's rows cannot be claimed by anyone else before the UPDATE.
    fn claim_jobs_sql(&self) -> &'static str {
        concat!(
            "UPDATE jobs SET leased_until = $1, updated_at = $3, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM jobs WHERE status = 'pending' AND kind = $2 \
             AND run_after <= $3 AND (leased_until IS NULL OR leased_until < $3) \
             ORDER BY run_after, id LIMIT $4) RETURNING ",
            job_columns!()
        )
    }
}

impl ClaimSql for PgPool {
    /// `SKIP LOCKED` lets concurrent claimers pass over each other's rows instead of waiting;
    /// rows another claimer updated meanwhile are re-checked against the WHERE clause after
    /// locking, so an expired-then-renewed lease is not taken twice. `MATERIALIZED` makes the
    /// locking subquery run exactly once (re-scanning it could lock a different set).
    fn claim_jobs_sql(&self) -> &'static str {
        concat!(
            "WITH picked AS MATERIALIZED (SELECT id AS picked_id FROM jobs \
             WHERE status = 'pending' AND kind = $2 AND run_after <= $3 \
             AND (leased_until IS NULL OR leased_until < $3) \
             ORDER BY run_after, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
             UPDATE jobs SET leased_until = $1, updated_at = $3, attempts = attempts + 1 \
             FROM picked WHERE id = picked_id RETURNING ",
            job_columns!()
        )
    }
}

#[derive(sqlx::FromRow)]
struct RawJob {
    id: i64,
    case_id: Option<i64>,
    kind: String,
    payload: String,
    status: String,
    attempts: i64,
    run_after: String,
    leased_until: Option<String>,
    last_error: Option<String>,
    created_at: String,
    updated_at: String,
    finished_at: Option<String>,
}

impl RawJob {
    fn decode(self) -> Result<JobRow, StoreError> {
        Ok(JobRow {
            payload: serde_json::from_str(&self.payload)
                .map_err(|e| StoreError::Corrupt(format!("payload of job {}: {e}", self.id)))?,
            status: JobStatus::parse(&self.status)?,
            run_after: parse_ts(&self.run_after)?,
            leased_until: parse_opt_ts(self.leased_until)?,
            created_at: parse_ts(&self.created_at)?,
            updated_at: parse_ts(&self.updated_at)?,
            finished_at: parse_opt_ts(self.finished_at)?,
            id: self.id,
            case_id: self.case_id,
            kind: self.kind,
            attempts: self.attempts,
            last_error: self.last_error,
        })
    }
}

impl Store {
    /// Claims up to `limit` pending jobs of `kind` whose `run_after` has passed and whose lease
    /// (if any) expired before `now`: each gets `leased_until = now + lease` and one more
    /// attempt. Returned oldest `run_after` first. Concurrent claimers, on one or many server
    /// instances, always get disjoint sets.
    ///
    /// A claimed job must end in [`Store::complete_job`], [`Store::retry_job`] or
    /// [`Store::kill_job`]. If the worker dies first, the job is claimed again once the lease
    /// expires: at-least-once, so the work must be safe to repeat (see the
    /// [module docs](crate::outbox)).
    pub async fn claim_jobs(
        &self,
        kind: &str,
        now: Timestamp,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<JobRow>, StoreError> {
        if limit < 1 {
            // Also keeps SQLite's "LIMIT -1 means no limit" out of reach.
            return Ok(Vec::new());
        }
        let leased_until = now
            .checked_add(lease)
            .map_err(|e| StoreError::Invalid(format!("lease {lease:?} from {now}: {e}")))?;
        let rows: Vec<RawJob> = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let rows = sqlx::query_as(p.claim_jobs_sql())
                .bind(ts_text(leased_until))
                .bind(kind.to_owned())
                .bind(ts_text(now))
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            rows
        });
        let mut jobs = rows
            .into_iter()
            .map(RawJob::decode)
            .collect::<Result<Vec<_>, _>>()?;
        // RETURNING gives no order guarantee.
        jobs.sort_by_key(|j| (j.run_after, j.id));
        Ok(jobs)
    }

    /// Marks a claimed job done and releases its lease.
    ///
    /// Fails with `NotFound` if there is no such job and `Conflict` if it is no longer pending
    /// (another worker finished it after this worker's lease expired: the work may have run
    /// twice, which is why it must be repeatable).
    pub async fn complete_job(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        let found: Option<i64> = on_pool!(self, p => sqlx::query_scalar(
            "UPDATE jobs SET status = 'done', finished_at = $2, updated_at = $2, \
             leased_until = NULL WHERE id = $1 AND status = 'pending' RETURNING id",
        )
        .bind(id)
        .bind(ts_text(now))
        .fetch_optional(p)
        .await?);
        self.transitioned(id, found).await
    }

    /// Puts a claimed job back to wait until `run_after`, recording why this attempt failed and
    /// releasing the lease. The caller decides the back-off and when to give up instead
    /// ([`Store::kill_job`]), e.g. from [`JobRow::attempts`].
    ///
    /// Fails like [`Store::complete_job`].
    pub async fn retry_job(
        &self,
        id: i64,
        now: Timestamp,
        error: &str,
        run_after: Timestamp,
    ) -> Result<(), StoreError> {
        let found: Option<i64> = on_pool!(self, p => sqlx::query_scalar(
            "UPDATE jobs SET last_error = $3, run_after = $4, updated_at = $2, \
             leased_until = NULL WHERE id = $1 AND status = 'pending' RETURNING id",
        )
        .bind(id)
        .bind(ts_text(now))
        .bind(error.to_owned())
        .bind(ts_text(run_after))
        .fetch_optional(p)
        .await?);
        self.transitioned(id, found).await
    }

    /// Gives up on a job for good (it stays visible, with `error`, for a person to act on).
    ///
    /// Fails like [`Store::complete_job`].
    pub async fn kill_job(&self, id: i64, now: Timestamp, error: &str) -> Result<(), StoreError> {
        let found: Option<i64> = on_pool!(self, p => sqlx::query_scalar(
            "UPDATE jobs SET status = 'dead', last_error = $3, finished_at = $2, \
             updated_at = $2, leased_until = NULL WHERE id = $1 AND status = 'pending' \
             RETURNING id",
        )
        .bind(id)
        .bind(ts_text(now))
        .bind(error.to_owned())
        .fetch_optional(p)
        .await?);
        self.transitioned(id, found).await
    }

    /// Turns "no pending job updated" into `NotFound` or `Conflict`.
    async fn transitioned(&self, id: i64, updated: Option<i64>) -> Result<(), StoreError> {
        if updated.is_some() {
            return Ok(());
        }
        let status: Option<String> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT status FROM jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(p)
        .await?);
        match status {
            None => Err(StoreError::NotFound("job")),
            Some(s) => Err(StoreError::Conflict(format!("job {id} is already {s}"))),
        }
    }

    /// All jobs a case's writes enqueued, in enqueue order.
    pub async fn jobs_for_case(&self, case_id: i64) -> Result<Vec<JobRow>, StoreError> {
        let rows: Vec<RawJob> = on_pool!(self, p => sqlx::query_as(
            concat!("SELECT ", job_columns!(), " FROM jobs WHERE case_id = $1 ORDER BY id"),
        )
        .bind(case_id)
        .fetch_all(p)
        .await?);
        rows.into_iter().map(RawJob::decode).collect()
    }
}
