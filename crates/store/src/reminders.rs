//! Reminders: each one sent once per case, whatever races.

use jiff::Timestamp;

use crate::batch::Batch;
use crate::outbox::{JobWrites, NewJob, job_rows};
use crate::{Store, StoreError, WritePool, constraint, ts_text};

impl Store {
    /// Records reminder `key` of a case as sent and enqueues its `jobs`, in one
    /// transaction, unless it was sent before; returns whether it is new. Two reminder
    /// runs racing each other send it once: the primary key decides.
    pub async fn remind_once(
        &self,
        case_id: i64,
        key: &str,
        jobs: &[NewJob],
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let writes = JobWrites::new(jobs.to_vec(), now);
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let inserted = sqlx::query(
                "INSERT INTO reminders_sent (case_id, key, sent_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (case_id, key) DO NOTHING",
            )
            .bind(case_id)
            .bind(key)
            .bind(ts_text(now))
            .execute(&mut *tx)
            .await
            .map_err(|e| constraint(e, "case"))?
            .rows_affected();
            if inserted == 0 {
                return Ok(false);
            }
            let mut batch = Batch::default();
            job_rows(&mut batch, Some(case_id), &writes);
            p.run_batch(batch, &mut *tx)
                .await
                .map_err(|e| constraint(e, "case"))?;
            tx.commit().await?;
            Ok(true)
        })
    }
}
