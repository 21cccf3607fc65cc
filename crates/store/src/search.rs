//! What a case write stores beside its events for the team: the full-text rows, the case a
//! declined one duplicates, and per-case grants; and rebuilding the first two.

use crate::batch::{Batch, write_error};
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
    pub(crate) parties: Vec<crate::NewPartyParticipant>,
    pub(crate) at: jiff::Timestamp,
}

/// Adds the statements writing [`TeamWrites`] for the events just inserted (`seqs[i]` is
/// the seq of event i).
pub(crate) fn team_rows(
    b: &mut Batch,
    case_id: i64,
    seqs: &[i64],
    w: &TeamWrites,
) -> Result<(), StoreError> {
    // The last word per person: two statements of one batch must not write one row.
    let mut grants: Vec<&(i64, Option<String>)> = Vec::new();
    for g in w.grants.iter().rev() {
        if !grants.iter().any(|kept| kept.0 == g.0) {
            grants.push(g);
        }
    }
    for (user_id, grant) in grants {
        let (case, user) = (b.arg(case_id), b.arg(*user_id));
        match grant {
            Some(grant) => {
                let grant = b.arg(grant.clone());
                b.push(format!(
                    "INSERT INTO case_grants (case_id, user_id, grant_) VALUES ({case}, {user}, {grant}) \
                     ON CONFLICT (case_id, user_id) DO UPDATE SET grant_ = excluded.grant_"
                ));
            }
            None => b.push(format!(
                "DELETE FROM case_grants WHERE case_id = {case} AND user_id = {user}"
            )),
        }
    }
    if let Some(original) = w.duplicate_of {
        let (case, original) = (b.arg(case_id), b.arg(original));
        b.push(format!(
            "INSERT INTO case_duplicates (case_id, duplicate_of) VALUES ({case}, {original}) \
             ON CONFLICT DO NOTHING"
        ));
    }
    b.insert_rows(
        "participants",
        "case_id, role, party_id, reply_tag, token_hash, joined_at",
        w.parties.iter(),
        "",
        |b, p| {
            [
                b.arg(case_id),
                b.arg("party".to_owned()),
                b.arg(p.party_id),
                b.arg(p.reply_tag.clone()),
                b.arg(p.token_hash.clone()),
                b.arg(crate::ts_text(w.at)),
            ]
            .join(", ")
        },
    );
    let mut rows = Vec::with_capacity(w.search.len());
    for t in &w.search {
        let seq = *seqs
            .get(t.event)
            .ok_or_else(|| StoreError::Invalid(format!("search text for event {}", t.event)))?;
        rows.push((seq, t));
    }
    b.insert_rows(
        "case_search",
        "case_id, seq, internal, body",
        rows,
        "",
        |b, (seq, t)| {
            [
                b.arg(case_id),
                b.arg(seq),
                b.arg(t.internal),
                b.arg(t.body.clone()),
            ]
            .join(", ")
        },
    );
    Ok(())
}

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
            parties: Vec::new(),
            at: jiff::Timestamp::now(),
        };
        let mut batch = Batch::default();
        team_rows(&mut batch, case_id, &seqs, &writes)?;
        // The old rows go first, in a statement of their own: the new ones have the same keys.
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("DELETE FROM case_search WHERE case_id = $1")
                .bind(case_id)
                .execute(&mut *tx)
                .await?;
            p.run_batch(batch, &mut *tx)
                .await
                .map_err(|e| write_error(e, None))?;
            tx.commit().await?;
        });
        Ok(())
    }
}
