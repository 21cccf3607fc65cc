//! What a case write stores beside its events for the team: the full-text rows, the case a
//! declined one duplicates, and per-case grants; and rebuilding the first two.

use crate::{Store, StoreError, WritePool};

/// Text a case write adds to the full-text index: the body of `events[event]`.
#[derive(Debug, Clone)]
pub struct SearchText {
    /// Index into the events of the same write.
    pub event: usize,
    /// Only people who may read internal notes find it.
    pub internal: bool,
    pub body: String,
}

/// Grants and search text a case write stores beside its events.
#[derive(Debug, Default)]
pub(crate) struct TeamWrites {
    pub(crate) grants: Vec<(i64, Option<String>)>,
    pub(crate) search: Vec<SearchText>,
    pub(crate) duplicate_of: Option<i64>,
}

/// Writes [`TeamWrites`] for the events just inserted (`$seqs[i]` is the seq of event i).
macro_rules! write_team {
    ($tx:ident, $case_id:expr, $seqs:expr, $w:expr) => {
        async {
            let w: &$crate::search::TeamWrites = $w;
            let seqs: &[i64] = $seqs;
            for (user_id, grant) in &w.grants {
                sqlx::query("DELETE FROM case_grants WHERE case_id = $1 AND user_id = $2")
                    .bind($case_id)
                    .bind(*user_id)
                    .execute(&mut *$tx)
                    .await?;
                if let Some(grant) = grant {
                    sqlx::query(
                        "INSERT INTO case_grants (case_id, user_id, grant_) VALUES ($1, $2, $3)",
                    )
                    .bind($case_id)
                    .bind(*user_id)
                    .bind(grant.clone())
                    .execute(&mut *$tx)
                    .await
                    .map_err(|e| $crate::constraint(e, "user"))?;
                }
            }
            if let Some(original) = w.duplicate_of {
                sqlx::query(
                    "INSERT INTO case_duplicates (case_id, duplicate_of) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind($case_id)
                .bind(original)
                .execute(&mut *$tx)
                .await
                .map_err(|e| $crate::constraint(e, "case"))?;
            }
            for t in &w.search {
                let seq = *seqs.get(t.event).ok_or_else(|| {
                    $crate::StoreError::Invalid(format!("search text for event {}", t.event))
                })?;
                sqlx::query(
                    "INSERT INTO case_search (case_id, seq, internal, body) VALUES ($1, $2, $3, $4)",
                )
                .bind($case_id)
                .bind(seq)
                .bind(t.internal)
                .bind(t.body.clone())
                .execute(&mut *$tx)
                .await?;
            }
            Ok::<(), $crate::StoreError>(())
        }
        .await
    };
}
pub(crate) use write_team;

impl Store {
    /// Replaces a case's full-text rows and records the case it duplicates, if any (for
    /// `vulndesk admin rebuild`).
    pub async fn reindex_case(
        &self,
        case_id: i64,
        texts: &[(i64, bool, String)],
        duplicate_of: Option<i64>,
    ) -> Result<(), StoreError> {
        // The same writes a case append makes, for the events numbered `seqs`.
        let seqs: Vec<i64> = texts.iter().map(|(seq, _, _)| *seq).collect();
        let writes = TeamWrites {
            grants: Vec::new(),
            search: texts
                .iter()
                .enumerate()
                .map(|(event, (_, internal, body))| SearchText {
                    event,
                    internal: *internal,
                    body: body.clone(),
                })
                .collect(),
            duplicate_of,
        };
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("DELETE FROM case_search WHERE case_id = $1")
                .bind(case_id)
                .execute(&mut *tx)
                .await?;
            write_team!(tx, case_id, &seqs, &writes)?;
            tx.commit().await?;
            Ok(())
        })
    }
}
