//! A case's log read back into domain events, and what is derived from it: clocks and
//! the projection row. The log is the truth; projections can always be rebuilt.

use vulndesk_core::case::{self, Recorded};
use vulndesk_core::clocks::{self, Clocks};
use vulndesk_core::policy::Policy;
use vulndesk_store::{EventRow, Projection};

use crate::{ApiError, AppState};

/// Stored events as domain events, in log order.
pub fn log(rows: &[EventRow]) -> Result<Vec<Recorded>, ApiError> {
    rows.iter().map(recorded).collect()
}

fn recorded(row: &EventRow) -> Result<Recorded, ApiError> {
    // Only the position is reported: serde's message may quote report contents.
    let event = serde_json::from_str(&row.payload).map_err(|e| {
        ApiError::Internal(format!(
            "event {} of case {} does not decode (line {} column {})",
            row.seq,
            row.case_id,
            e.line(),
            e.column()
        ))
    })?;
    Ok(Recorded {
        at: row.at,
        actor: row.actor.clone(),
        event,
    })
}

/// Every clock of a case under its pinned policy.
pub fn clocks_of(policy: &Policy, log: &[Recorded]) -> Result<Clocks, ApiError> {
    let facts = case::facts(policy.calendar(), log)
        .ok_or_else(|| ApiError::Internal("a case without events".to_owned()))?;
    Ok(clocks::clocks(policy, &facts))
}

/// The projection row of a case: its state and the earliest deadline not yet met.
pub fn project(policy: &Policy, log: &[Recorded]) -> Result<Projection, ApiError> {
    let clocks = clocks_of(policy, log)?;
    let next = clocks.next_due();
    Ok(Projection {
        state: case::state(log).as_str().to_owned(),
        next_due: next.map(|d| d.due),
        next_due_kind: next.map(|d| d.kind.as_str().to_owned()),
    })
}

/// What a rebuild found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    /// Cases whose projection was recomputed.
    pub cases: usize,
    /// Of those, how many had a stored projection that differed (or was missing).
    pub corrected: usize,
}

/// Recomputes every case's projection from its log and pinned policy, writing only the
/// rows that differ.
pub async fn rebuild_projections(state: &AppState) -> Result<Rebuilt, ApiError> {
    let mut rebuilt = Rebuilt {
        cases: 0,
        corrected: 0,
    };
    for id in state.store.case_ids().await? {
        let case = state.store.case(id).await?.ok_or(ApiError::NotFound)?;
        let pinned = state
            .policies
            .get(&state.store, case.policy_version_id)
            .await?;
        let log = log(&state.store.events(id).await?)?;
        let fresh = project(&pinned.policy, &log)?;
        if state.store.projection(id).await?.as_ref() != Some(&fresh) {
            state.store.set_projection(id, &fresh).await?;
            rebuilt.corrected += 1;
        }
        rebuilt.cases += 1;
    }
    Ok(rebuilt)
}
