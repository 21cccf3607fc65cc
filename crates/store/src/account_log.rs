//! The account log: what was done to and by team accounts, hash-chained like a case's log
//! (the same [`event_hash`], with case id 0), its head kept beside it so a log cut short
//! at its end is caught.

use jiff::Timestamp;

use crate::cases::{ChainBreak, GENESIS_HASH, event_hash};
use crate::{Store, StoreError, WritePool, parse_ts, ts_text};

/// A stored account event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEventRow {
    pub seq: i64,
    pub kind: String,
    /// `user:<id>`, `cli` or `anonymous`.
    pub actor: String,
    pub at: Timestamp,
    /// The stored JSON text.
    pub payload: String,
}

/// The case id the account log's hashes are computed with.
const ACCOUNT_LOG: i64 = 0;

impl Store {
    /// Appends an account event; returns its sequence number. Appends are serialised by
    /// the head row's lock (PostgreSQL) or the write lock (SQLite).
    pub async fn append_account_event(
        &self,
        kind: &str,
        actor: &str,
        at: Timestamp,
        payload: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        let occurred_at = ts_text(at);
        let payload = payload.to_string();
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let (seq, prev): (i64, String) = sqlx::query_as(match self {
                Store::Sqlite(_) => "SELECT seq, hash FROM account_log_head WHERE id = 1",
                Store::Postgres(_) => {
                    "SELECT seq, hash FROM account_log_head WHERE id = 1 FOR UPDATE"
                }
            })
            .fetch_one(&mut *tx)
            .await?;
            let seq = seq + 1;
            let hash = event_hash(&prev, ACCOUNT_LOG, seq, kind, actor, &occurred_at, &payload);
            sqlx::query(
                "INSERT INTO account_events (seq, kind, actor, occurred_at, payload, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(seq)
            .bind(kind)
            .bind(actor)
            .bind(occurred_at.clone())
            .bind(payload.clone())
            .bind(prev)
            .bind(hash.clone())
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE account_log_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(seq)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(seq)
        })
    }

    /// The account log, oldest first.
    pub async fn account_events(&self) -> Result<Vec<AccountEventRow>, StoreError> {
        self.raw_account_events()
            .await?
            .into_iter()
            .map(|r| {
                Ok(AccountEventRow {
                    seq: r.0,
                    kind: r.1,
                    actor: r.2,
                    at: parse_ts(&r.3)?,
                    payload: r.4,
                })
            })
            .collect()
    }

    async fn raw_account_events(
        &self,
    ) -> Result<Vec<(i64, String, String, String, String, String, String)>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_as(
            "SELECT seq, kind, actor, occurred_at, payload, prev_hash, hash \
             FROM account_events ORDER BY seq",
        )
        .fetch_all(p)
        .await?))
    }

    /// Recomputes the account log's chain; returns how many events it holds, or
    /// [`StoreError::ChainBroken`] (case id 0) at the first broken link.
    pub async fn verify_account_log(&self) -> Result<usize, StoreError> {
        let broken = |seq: i64, reason: &str| {
            Err(StoreError::ChainBroken(ChainBreak {
                case_id: ACCOUNT_LOG,
                seq,
                reason: reason.to_owned(),
            }))
        };
        let events = self.raw_account_events().await?;
        let mut prev = GENESIS_HASH.to_owned();
        for (expected, (seq, kind, actor, at, payload, prev_hash, hash)) in (1..).zip(&events) {
            if *seq != expected {
                return broken(expected, "missing event");
            }
            if *prev_hash != prev {
                return broken(*seq, "prev_hash does not match the previous event's hash");
            }
            if event_hash(prev_hash, ACCOUNT_LOG, *seq, kind, actor, at, payload) != *hash {
                return broken(*seq, "stored hash does not match the event's contents");
            }
            prev.clone_from(hash);
        }
        let (head_seq, head_hash): (i64, String) = on_pool!(self, p => sqlx::query_as(
            "SELECT seq, hash FROM account_log_head WHERE id = 1",
        )
        .fetch_one(p)
        .await?);
        let ends = events.last().map_or(0, |e| e.0);
        if ends != head_seq || (head_seq > 0 && prev != head_hash) {
            return broken(
                ends.min(head_seq) + 1,
                &format!("the log ends at event {ends}, its head records {head_seq}"),
            );
        }
        Ok(events.len())
    }
}
