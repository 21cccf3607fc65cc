//! A case's log read back into domain events, what is derived from it (clocks and the
//! projection row), and the one way to write to a case: [`Desk::append`], decided on the
//! log head it read. The log is the truth; projections can always be rebuilt.

use jiff::Timestamp;
use vulndesk_core::actor::Actor;
use vulndesk_core::case::{self, Audience, Event, Recorded};
use vulndesk_core::clocks::{self, Clocks};
use vulndesk_core::policy::Policy;
use vulndesk_core::severity::Cvss;
use vulndesk_store::{CaseRow, Effects, EventRow, NewEvent, Projection, SearchText, StoreError};

use crate::{Desk, DeskError};

/// The names of the states a case is open in ([`case::State::is_open`]), as the store keeps
/// them: the dashboard's default filter and the cases reminders run for.
pub fn open_states() -> Vec<String> {
    case::State::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .map(|s| s.as_str().to_owned())
        .collect()
}

/// How many cases one page of the dashboard lists.
pub const DASHBOARD_PAGE: i64 = 200;

/// How many times a write that lost a race is decided again before the caller is told
/// the case keeps changing under it. Each retry means another write landed, so this
/// bounds only pathological contention.
const MAX_ATTEMPTS: usize = 16;

/// Stored events as domain events, in log order.
pub fn log(rows: &[EventRow]) -> Result<Vec<Recorded>, DeskError> {
    rows.iter().map(recorded).collect()
}

fn recorded(row: &EventRow) -> Result<Recorded, DeskError> {
    // Only the position is reported: serde's message may quote report contents.
    let event = serde_json::from_str(&row.payload).map_err(|e| {
        DeskError::Internal(format!(
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
pub fn clocks_of(policy: &Policy, log: &[Recorded]) -> Result<Clocks, DeskError> {
    Ok(clocks::clocks(policy, &facts_of(policy, log)?))
}

/// The clocks as the reporter reads them: a moved deadline without the team's reason or
/// who moved it (see [`vulndesk_core::clocks::Facts::for_reporter`]).
pub fn reporter_clocks_of(policy: &Policy, log: &[Recorded]) -> Result<Clocks, DeskError> {
    Ok(clocks::clocks(
        policy,
        &facts_of(policy, log)?.for_reporter(),
    ))
}

fn facts_of(policy: &Policy, log: &[Recorded]) -> Result<clocks::Facts, DeskError> {
    case::facts(policy.calendar(), log)
        .ok_or_else(|| DeskError::Internal("a case without events".to_owned()))
}

/// The projection row of a case: its state and the earliest deadline not yet met.
pub fn project(policy: &Policy, log: &[Recorded]) -> Result<Projection, DeskError> {
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
        ssvc: summary.ssvc.map(|s| s.decision().as_str().to_owned()),
        escalated: next.is_some_and(|d| {
            log.iter().any(|r| {
                matches!(&r.event, Event::Escalated { clock, due, .. } if *clock == d.kind && *due == d.due)
            })
        }),
    })
}

/// `events` as the store records them, all by `actor` at `at`, and as the log reads them
/// (to compute the projection that goes with them).
pub fn prepare(
    events: Vec<Event>,
    actor: &Actor,
    at: Timestamp,
) -> Result<(Vec<NewEvent>, Vec<Recorded>), DeskError> {
    let actor = actor.to_string();
    let mut stored = Vec::with_capacity(events.len());
    for event in &events {
        let payload = serde_json::to_value(event).map_err(|e| {
            DeskError::Internal(format!("cannot encode a {} event: {e}", event.kind()))
        })?;
        stored.push(NewEvent {
            kind: event.kind().to_owned(),
            actor: actor.clone(),
            at,
            payload,
        });
    }
    let recorded = events
        .into_iter()
        .map(|event| Recorded {
            at,
            actor: actor.clone(),
            event,
        })
        .collect();
    Ok((stored, recorded))
}

/// A case write as decided on one log: its events, in order, and what they cause besides
/// (files, mail, grants). Search texts and the duplicate link are derived from the events.
#[derive(Debug, Clone, Default)]
pub struct Write {
    /// The events to append.
    pub events: Vec<Event>,
    /// Everything else stored in the same transaction.
    pub effects: Effects,
}

/// A write that landed.
#[derive(Debug)]
pub struct Appended {
    /// The events as stored.
    pub rows: Vec<EventRow>,
    /// The case's state after them.
    pub state: case::State,
}

impl Desk {
    /// Appends what `decide` makes of the case's current log (nothing, if it decides on no
    /// events), with the projection that log
    /// plus the new events leads to, in one store transaction that succeeds only if nobody
    /// appended in between. When somebody did, the log is read and `decide` asked again (it
    /// may now refuse: a second officer accepting an already accepted case gets the state
    /// machine's answer, not a duplicate event), so the stored projection always equals a
    /// rebuild from the log.
    pub async fn append(
        &self,
        case: &CaseRow,
        actor: &Actor,
        at: Timestamp,
        mut decide: impl FnMut(&[Recorded]) -> Result<Write, DeskError>,
    ) -> Result<Appended, DeskError> {
        let pinned = self.policy(case.policy_version_id).await?;
        for _ in 0..MAX_ATTEMPTS {
            let rows = self.store.events(case.id).await?;
            let head = rows.last().map_or(0, |r| r.seq);
            let mut log = log(&rows)?;
            let Write {
                events,
                mut effects,
            } = decide(&log)?;
            if events.is_empty() {
                // Nothing to record on this log: nothing is written.
                return Ok(Appended {
                    rows: Vec::new(),
                    state: case::state(&log),
                });
            }
            let (stored, recorded) = prepare(events, actor, at)?;
            effects.search = search_texts(&recorded);
            effects.duplicate_of = recorded.iter().find_map(|r| match r.event {
                Event::Declined { duplicate_of, .. } => duplicate_of,
                _ => None,
            });
            log.extend(recorded);
            let projection = project(&pinned.policy, &log)?;
            match self
                .store
                .append_events(case.id, head, stored, Some(projection), effects)
                .await
            {
                Err(StoreError::Stale { .. }) => continue,
                written => {
                    return Ok(Appended {
                        rows: written?,
                        state: case::state(&log),
                    });
                }
            }
        }
        Err(DeskError::Conflict {
            message: format!(
                "case {} kept changing while this was being recorded; nothing was recorded; reload it and try again",
                case.id
            ),
        })
    }

    /// Appends `events` with `effects`, checked by the state machine on the log they follow
    /// (see [`Desk::append`]).
    pub async fn record(
        &self,
        case: &CaseRow,
        actor: &Actor,
        at: Timestamp,
        events: Vec<Event>,
        effects: Effects,
    ) -> Result<Appended, DeskError> {
        let pinned = self.policy(case.policy_version_id).await?;
        self.append(case, actor, at, |log| {
            vulndesk_core::triage::decide_write(&pinned.policy, log, &events).map_err(|e| {
                DeskError::Conflict {
                    message: e.to_string(),
                }
            })?;
            Ok(Write {
                events: events.clone(),
                effects: effects.clone(),
            })
        })
        .await
    }

    /// Recomputes every case's projection from its log and pinned policy, writing only the
    /// rows that differ, and rebuilds its full-text index.
    pub async fn rebuild_projections(&self) -> Result<Rebuilt, DeskError> {
        let mut rebuilt = Rebuilt {
            cases: 0,
            corrected: 0,
        };
        for id in self.store.case_ids().await? {
            let case = self.store.case(id).await?.ok_or(DeskError::NotFound)?;
            let pinned = self.policy(case.policy_version_id).await?;
            let rows = self.store.events(id).await?;
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
            self.store.reindex_case(id, &texts, duplicate_of).await?;
            let fresh = project(&pinned.policy, &log)?;
            if self.store.projection(id).await?.as_ref() != Some(&fresh) {
                self.store.set_projection(id, &fresh).await?;
                rebuilt.corrected += 1;
            }
            rebuilt.cases += 1;
        }
        Ok(rebuilt)
    }
}

/// What a rebuild found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    /// Cases whose projection was recomputed.
    pub cases: usize,
    /// Of those, how many had a stored projection that differed (or was missing).
    pub corrected: usize,
}
