//! Advisories: each is a hash-chained log of events of its own (what they mean is the
//! core's, `core::advisory::lifecycle`), covering one or more cases, named within its
//! organisation by a number given in order per year (`KAMAILIO-2026-0001`). A write is
//! appended only on the head it was decided on, like a case's.

use jiff::Timestamp;

use crate::cases::{GENESIS_HASH, NewEvent, event_hash};
use crate::{Store, StoreError, WritePool, constraint, parse_ts, ts_text};

/// A stored advisory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisoryRow {
    pub id: i64,
    pub org_id: i64,
    /// e.g. `KAMAILIO-2026-0001`.
    pub number: String,
    /// The seq of its last event.
    pub head: i64,
    pub created_at: Timestamp,
    pub cases: Vec<i64>,
}

/// A stored advisory event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisoryEventRow {
    pub seq: i64,
    pub kind: String,
    pub actor: String,
    pub at: Timestamp,
    /// The exact stored JSON text (what the hash covers).
    pub payload: String,
}

/// A CVE ID of an organisation's pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PooledCve {
    pub cve: String,
    pub reserved_at: Timestamp,
    /// The advisory it was given to, if it was.
    pub advisory_id: Option<i64>,
}

type RawRow = (i64, i64, String, i64, String);
type RawEvent = (i64, String, String, String, String);

macro_rules! select_advisory {
    () => {
        "SELECT id, org_id, number, head_seq, created_at FROM advisories WHERE "
    };
}

impl Store {
    /// Opens an advisory of `org_id` for `cases` with its first event, numbered next in
    /// the organisation's `year` under `prefix`.
    pub async fn create_advisory(
        &self,
        org_id: i64,
        prefix: &str,
        year: i16,
        cases: &[i64],
        first: NewEvent,
    ) -> Result<AdvisoryRow, StoreError> {
        let created = ts_text(first.at);
        let payload = first.payload.to_string();
        let id: i64 = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            // Numbering is per organisation: its row is the lock concurrent creators queue on.
            sqlx::query(p.lock_org_sql())
                .bind(org_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("organisation"))?;
            let last: Option<i64> = sqlx::query_scalar(
                "SELECT CAST(MAX(ordinal) AS BIGINT) FROM advisories WHERE org_id = $1 AND year = $2",
            )
            .bind(org_id)
            .bind(i64::from(year))
            .fetch_one(&mut *tx)
            .await?;
            let ordinal = last.unwrap_or(0) + 1;
            let number = format!("{prefix}-{year}-{ordinal:04}");
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO advisories (org_id, year, ordinal, number, head_seq, head_hash, created_at) \
                 VALUES ($1, $2, $3, $4, 0, $5, $6) RETURNING id",
            )
            .bind(org_id)
            .bind(i64::from(year))
            .bind(ordinal)
            .bind(&number)
            .bind(GENESIS_HASH)
            .bind(&created)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| constraint(e, "organisation"))?;
            for case in cases {
                sqlx::query("INSERT INTO advisory_cases (advisory_id, case_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(*case)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| constraint(e, "case"))?;
            }
            let hash = event_hash(GENESIS_HASH, id, 1, &first.kind, &first.actor, &created, &payload);
            sqlx::query(
                "INSERT INTO advisory_events (advisory_id, seq, kind, actor, occurred_at, payload, prev_hash, hash) \
                 VALUES ($1, 1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(&first.kind)
            .bind(&first.actor)
            .bind(&created)
            .bind(&payload)
            .bind(GENESIS_HASH)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE advisories SET head_seq = 1, head_hash = $2 WHERE id = $1")
                .bind(id)
                .bind(&hash)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            id
        });
        self.advisory(id)
            .await?
            .ok_or(StoreError::NotFound("advisory"))
    }

    /// Appends `events` to advisory `id` if its log still ends at `decided_on`;
    /// [`StoreError::Conflict`] when another write got there first.
    pub async fn append_advisory_events(
        &self,
        id: i64,
        decided_on: i64,
        events: Vec<NewEvent>,
    ) -> Result<Vec<AdvisoryEventRow>, StoreError> {
        if events.is_empty() {
            return Err(StoreError::Invalid("no events to append".into()));
        }
        let head_sql = match self {
            Store::Sqlite(_) => "SELECT head_seq, head_hash FROM advisories WHERE id = $1",
            Store::Postgres(_) => {
                "SELECT head_seq, head_hash FROM advisories WHERE id = $1 FOR UPDATE"
            }
        };
        let rows: Vec<RawEvent> = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let (head, mut prev): (i64, String) = sqlx::query_as(head_sql)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("advisory"))?;
            if head != decided_on {
                return Err(StoreError::Conflict(format!(
                    "the advisory changed (its log is at {head}, the write was decided at {decided_on})"
                )));
            }
            let mut written = Vec::new();
            for (seq, e) in (head + 1..).zip(&events) {
                let at = ts_text(e.at);
                let payload = e.payload.to_string();
                let hash = event_hash(&prev, id, seq, &e.kind, &e.actor, &at, &payload);
                sqlx::query(
                    "INSERT INTO advisory_events (advisory_id, seq, kind, actor, occurred_at, payload, prev_hash, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(id)
                .bind(seq)
                .bind(&e.kind)
                .bind(&e.actor)
                .bind(&at)
                .bind(&payload)
                .bind(&prev)
                .bind(&hash)
                .execute(&mut *tx)
                .await?;
                written.push((seq, e.kind.clone(), e.actor.clone(), at, payload));
                prev = hash;
            }
            sqlx::query("UPDATE advisories SET head_seq = $2, head_hash = $3 WHERE id = $1")
                .bind(id)
                .bind(head + events.len() as i64)
                .bind(&prev)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            written
        });
        rows.into_iter().map(decode_event).collect()
    }

    /// Advisory `id`.
    pub async fn advisory(&self, id: i64) -> Result<Option<AdvisoryRow>, StoreError> {
        let row: Option<RawRow> = on_pool!(self, p => sqlx::query_as(
            concat!(select_advisory!(), "id = $1"),
        )
        .bind(id)
        .fetch_optional(p)
        .await?);
        match row {
            Some(row) => Ok(Some(self.decode(row).await?)),
            None => Ok(None),
        }
    }

    /// The advisory `number` of `org_id`.
    pub async fn advisory_by_number(
        &self,
        org_id: i64,
        number: &str,
    ) -> Result<Option<AdvisoryRow>, StoreError> {
        let row: Option<RawRow> = on_pool!(self, p => sqlx::query_as(
            concat!(select_advisory!(), "org_id = $1 AND number = $2"),
        )
            .bind(org_id)
            .bind(number.to_owned())
            .fetch_optional(p)
            .await?);
        match row {
            Some(row) => Ok(Some(self.decode(row).await?)),
            None => Ok(None),
        }
    }

    /// The advisories of `org_id`, oldest first.
    pub async fn advisories_of_org(&self, org_id: i64) -> Result<Vec<AdvisoryRow>, StoreError> {
        let rows: Vec<RawRow> = on_pool!(self, p => sqlx::query_as(
            concat!(select_advisory!(), "org_id = $1 ORDER BY id"),
        )
        .bind(org_id)
        .fetch_all(p)
        .await?);
        self.decode_all(rows).await
    }

    /// The advisories numbered `number`, in any organisation (the same prefix may be used
    /// by two).
    pub async fn advisories_numbered(&self, number: &str) -> Result<Vec<AdvisoryRow>, StoreError> {
        let rows: Vec<RawRow> = on_pool!(self, p => sqlx::query_as(
            concat!(select_advisory!(), "number = $1 ORDER BY id"),
        )
        .bind(number.to_owned())
        .fetch_all(p)
        .await?);
        self.decode_all(rows).await
    }

    /// Adds CVE IDs reserved at the CVE Program to `org_id`'s pool; an ID already there is
    /// left as it is. How many were added.
    pub async fn add_to_cve_pool(
        &self,
        org_id: i64,
        ids: &[String],
        at: Timestamp,
    ) -> Result<usize, StoreError> {
        let at = ts_text(at);
        let added: u64 = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let mut added = 0;
            for id in ids {
                added += sqlx::query(
                    "INSERT INTO cve_pool (cve, org_id, reserved_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (cve) DO NOTHING",
                )
                .bind(id)
                .bind(org_id)
                .bind(&at)
                .execute(&mut *tx)
                .await
                .map_err(|e| constraint(e, "organisation"))?
                .rows_affected();
            }
            tx.commit().await?;
            added
        });
        Ok(added as usize)
    }

    /// `org_id`'s pool, free IDs first, each in the order reserved.
    pub async fn cve_pool(&self, org_id: i64) -> Result<Vec<PooledCve>, StoreError> {
        let rows: Vec<(String, String, Option<i64>)> = on_pool!(self, p => sqlx::query_as(
            "SELECT cve, reserved_at, advisory_id FROM cve_pool WHERE org_id = $1 \
             ORDER BY advisory_id IS NOT NULL, reserved_at, LENGTH(cve), cve",
        )
        .bind(org_id)
        .fetch_all(p)
        .await?);
        rows.into_iter()
            .map(|(cve, at, advisory_id)| {
                Ok(PooledCve {
                    cve,
                    reserved_at: parse_ts(&at)?,
                    advisory_id,
                })
            })
            .collect()
    }

    /// The CVE ID of `org_id`'s pool given to `advisory_id`: the one it was given before,
    /// else the first free one, given to it now (under the organisation's lock, so two
    /// advisories never get the same). `None` when the pool has no free ID.
    pub async fn take_from_cve_pool(
        &self,
        org_id: i64,
        advisory_id: i64,
        at: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        let at = ts_text(at);
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query(p.lock_org_sql())
                .bind(org_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("organisation"))?;
            let given: Option<String> = sqlx::query_scalar(
                "SELECT cve FROM cve_pool WHERE org_id = $1 AND advisory_id = $2",
            )
            .bind(org_id)
            .bind(advisory_id)
            .fetch_optional(&mut *tx)
            .await?;
            let taken = match given {
                Some(cve) => Some(cve),
                None => {
                    let free: Option<String> = sqlx::query_scalar(
                        "SELECT cve FROM cve_pool WHERE org_id = $1 AND advisory_id IS NULL \
                         ORDER BY reserved_at, LENGTH(cve), cve LIMIT 1",
                    )
                    .bind(org_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(cve) = &free {
                        sqlx::query(
                            "UPDATE cve_pool SET advisory_id = $2, taken_at = $3 WHERE cve = $1",
                        )
                        .bind(cve)
                        .bind(advisory_id)
                        .bind(&at)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| constraint(e, "advisory"))?;
                    }
                    free
                }
            };
            tx.commit().await?;
            taken
        }))
    }

    /// Every advisory's id, ascending.
    pub async fn advisory_ids(&self) -> Result<Vec<i64>, StoreError> {
        Ok(
            on_pool!(self, p => sqlx::query_scalar("SELECT id FROM advisories ORDER BY id")
            .fetch_all(p)
            .await?),
        )
    }

    /// The advisories covering case `case_id`, oldest first.
    pub async fn advisories_of_case(&self, case_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "SELECT advisory_id FROM advisory_cases WHERE case_id = $1 ORDER BY advisory_id",
        )
        .bind(case_id)
        .fetch_all(p)
        .await?))
    }

    /// Advisory `id`'s log, oldest first.
    pub async fn advisory_events(&self, id: i64) -> Result<Vec<AdvisoryEventRow>, StoreError> {
        let rows: Vec<RawEvent> = on_pool!(self, p => sqlx::query_as(
            "SELECT seq, kind, actor, occurred_at, payload FROM advisory_events \
             WHERE advisory_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(p)
        .await?);
        rows.into_iter().map(decode_event).collect()
    }

    /// Recomputes advisory `id`'s chain; how many events it holds, or
    /// [`StoreError::ChainBroken`] at the first broken link.
    pub async fn verify_advisory_log(&self, id: i64) -> Result<usize, StoreError> {
        let rows: Vec<(i64, String, String, String, String, String, String)> = on_pool!(self, p => sqlx::query_as(
            "SELECT seq, kind, actor, occurred_at, payload, prev_hash, hash FROM advisory_events \
             WHERE advisory_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(p)
        .await?);
        let broken = |seq: i64, reason: String| {
            Err(StoreError::ChainBroken(crate::cases::ChainBreak {
                case_id: id,
                seq,
                reason,
            }))
        };
        let mut prev = GENESIS_HASH.to_owned();
        for (expected, (seq, kind, actor, at, payload, prev_hash, hash)) in (1..).zip(&rows) {
            if *seq != expected {
                return broken(expected, "missing event".into());
            }
            if *prev_hash != prev
                || event_hash(prev_hash, id, *seq, kind, actor, at, payload) != *hash
            {
                return broken(*seq, "the event does not match its chain".into());
            }
            prev.clone_from(hash);
        }
        let (head, head_hash): (i64, String) = on_pool!(self, p => sqlx::query_as(
            "SELECT head_seq, head_hash FROM advisories WHERE id = $1",
        )
        .bind(id)
        .fetch_one(p)
        .await?);
        if head != rows.len() as i64 || (head > 0 && head_hash != prev) {
            return broken(
                head.min(rows.len() as i64) + 1,
                format!(
                    "the log ends at event {}, its head records {head}",
                    rows.len()
                ),
            );
        }
        Ok(rows.len())
    }

    async fn decode_all(&self, rows: Vec<RawRow>) -> Result<Vec<AdvisoryRow>, StoreError> {
        let mut advisories = Vec::with_capacity(rows.len());
        for row in rows {
            advisories.push(self.decode(row).await?);
        }
        Ok(advisories)
    }

    async fn decode(
        &self,
        (id, org_id, number, head, created_at): RawRow,
    ) -> Result<AdvisoryRow, StoreError> {
        let cases: Vec<i64> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT case_id FROM advisory_cases WHERE advisory_id = $1 ORDER BY case_id",
        )
        .bind(id)
        .fetch_all(p)
        .await?);
        Ok(AdvisoryRow {
            id,
            org_id,
            number,
            head,
            created_at: parse_ts(&created_at)?,
            cases,
        })
    }
}

fn decode_event((seq, kind, actor, at, payload): RawEvent) -> Result<AdvisoryEventRow, StoreError> {
    Ok(AdvisoryEventRow {
        seq,
        kind,
        actor,
        at: parse_ts(&at)?,
        payload,
    })
}
