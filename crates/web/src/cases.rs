//! A case's log read back into domain events, and what is derived from it: clocks and
//! the projection row. The log is the truth; projections can always be rebuilt.

use jiff::Timestamp;
use vulndesk_core::case::{self, Audience, Event, Recorded};
use vulndesk_core::clocks::{self, Clocks};
use vulndesk_core::policy::Policy;
use vulndesk_core::severity::Cvss;
use vulndesk_store::{CaseRow, Effects, EventRow, NewEvent, Projection, SearchText};

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

/// What the team's full-text search should find of `events` (the events of one write, in
/// order).
pub fn search_texts(events: &[Recorded]) -> Vec<SearchText> {
    events
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            r.event.search_text().map(|(audience, body)| SearchText {
                event: i,
                internal: audience == Audience::Workers,
                body,
            })
        })
        .collect()
}

/// Every clock of a case under its pinned policy.
pub fn clocks_of(policy: &Policy, log: &[Recorded]) -> Result<Clocks, ApiError> {
    Ok(clocks::clocks(policy, &facts_of(policy, log)?))
}

/// The clocks as the reporter reads them: a moved deadline without the team's reason or
/// who moved it (see [`vulndesk_core::clocks::Facts::for_reporter`]).
pub fn reporter_clocks_of(policy: &Policy, log: &[Recorded]) -> Result<Clocks, ApiError> {
    Ok(clocks::clocks(
        policy,
        &facts_of(policy, log)?.for_reporter(),
    ))
}

fn facts_of(policy: &Policy, log: &[Recorded]) -> Result<clocks::Facts, ApiError> {
    case::facts(policy.calendar(), log)
        .ok_or_else(|| ApiError::Internal("a case without events".to_owned()))
}

/// The projection row of a case: its state and the earliest deadline not yet met.
pub fn project(policy: &Policy, log: &[Recorded]) -> Result<Projection, ApiError> {
    let clocks = clocks_of(policy, log)?;
    let state = case::state(log);
    // A declined or closed case owes nobody anything more: no deadline is chased.
    let next = match state {
        case::State::Declined | case::State::Closed => None,
        _ => clocks.next_due(),
    };
    let summary = case::summary(log);
    let severity = summary
        .cvss
        .as_deref()
        .and_then(|v| Cvss::parse(v).ok())
        .map(|c| c.severity().as_str().to_lowercase());
    Ok(Projection {
        state: state.as_str().to_owned(),
        next_due: next.map(|d| d.due),
        next_due_kind: next.map(|d| d.kind.as_str().to_owned()),
        title: summary.title,
        severity,
        cvss: summary.cvss,
        officer_id: summary.officer,
    })
}

/// `events` as the store records them, all by `actor` at `at`, and as the log reads them
/// (to compute the projection that goes with them).
pub fn prepare(
    events: Vec<Event>,
    actor: &str,
    at: Timestamp,
) -> Result<(Vec<NewEvent>, Vec<Recorded>), ApiError> {
    let mut stored = Vec::with_capacity(events.len());
    for event in &events {
        let payload = serde_json::to_value(event).map_err(|e| {
            ApiError::Internal(format!("cannot encode a {} event: {e}", event.kind()))
        })?;
        stored.push(NewEvent {
            kind: event.kind().to_owned(),
            actor: actor.to_owned(),
            at,
            payload,
        });
    }
    let recorded = events
        .into_iter()
        .map(|event| Recorded {
            at,
            actor: actor.to_owned(),
            event,
        })
        .collect();
    Ok((stored, recorded))
}

/// Appends `events` to the case's log together with `effects` and the projection of the
/// log they lead to, in one store transaction.
///
/// The projection is computed from the log as read before the write; an append that slips
/// in between is overwritten by a projection that misses it until the next write or
/// `vulndesk admin rebuild`. The events appended here by reporters do not move clocks.
pub(crate) async fn append(
    state: &AppState,
    case: &CaseRow,
    events: Vec<Event>,
    actor: &str,
    at: Timestamp,
    mut effects: Effects,
) -> Result<Vec<EventRow>, ApiError> {
    let pinned = state
        .policies
        .get(&state.store, case.policy_version_id)
        .await?;
    let mut log = log(&state.store.events(case.id).await?)?;
    let (stored, recorded) = prepare(events, actor, at)?;
    effects.search = search_texts(&recorded);
    effects.duplicate_of = recorded.iter().find_map(|r| match r.event {
        vulndesk_core::case::Event::Declined { duplicate_of, .. } => duplicate_of,
        _ => None,
    });
    log.extend(recorded);
    let projection = project(&pinned.policy, &log)?;
    Ok(state
        .store
        .append_events(case.id, stored, Some(projection), effects)
        .await?)
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
/// rows that differ, and rebuilds its full-text index.
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
        let rows = state.store.events(id).await?;
        let log = log(&rows)?;
        let texts: Vec<_> = rows
            .iter()
            .zip(&log)
            .filter_map(|(row, r)| {
                let (audience, body) = r.event.search_text()?;
                Some((row.seq, audience == Audience::Workers, body))
            })
            .collect();
        let duplicate_of = vulndesk_core::triage::duplicate_of(&log);
        state.store.reindex_case(id, &texts, duplicate_of).await?;
        let fresh = project(&pinned.policy, &log)?;
        if state.store.projection(id).await?.as_ref() != Some(&fresh) {
            state.store.set_projection(id, &fresh).await?;
            rebuilt.corrected += 1;
        }
        rebuilt.cases += 1;
    }
    Ok(rebuilt)
}
