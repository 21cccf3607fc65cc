//! Triage and the case state machine.
//!
//! A case's state is never stored: it is the fold of its event log through
//! [`transition`]. The same function is what the service calls *before* recording an
//! event, so an event that would make an invalid move is refused with a reason a
//! person can act on, and the log only ever holds valid moves.
//!
//! The flow, in short (every pair is in [`transition`]'s table):
//! new → needs-info | accepted | declined; needs-info → accepted | declined | needs-info,
//! or back to new when the reporter replies; accepted → fixing | fixed | declined |
//! disclosed (0-day); fixing → fixed | disclosed (0-day); fixed → disclosed;
//! disclosed | declined → closed; declined | closed → new by an explicit reopen.

use crate::case::{Event, Recorded, State};
use crate::policy::Policy;

#[cfg(test)]
mod tests;

/// Why a report was declined. The ids are the strings policies list in
/// `triage.decline_reasons`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum DeclineReason {
    /// The behaviour is not a security vulnerability under the policy's definition
    /// (Kamailio, seed 002: "when a user of Kamailio can cause Kamailio to crash or lock up
    /// by sending messages to the server process").
    NotAVulnerability,
    /// The report is against a version out of support (Sangoma, seed 000: "an old version
    /// of our products that may be unpatched for vulnerabilites already resolved"; SalesTim,
    /// seed 003: 1.x.x is not supported).
    UnsupportedVersion,
    /// The deployment was "configured in an insecure fashion" (Sangoma, seed 000).
    InsecureConfiguration,
    /// Another case already reports this; the event names that case
    /// (`Event::Declined`'s `duplicate_of`) so both reporters stay on record for credit.
    Duplicate,
    /// The product or service is not covered by the policy.
    OutOfScope,
}

impl DeclineReason {
    /// Every reason, in the order the template policy lists them.
    pub const ALL: [DeclineReason; 5] = [
        DeclineReason::NotAVulnerability,
        DeclineReason::UnsupportedVersion,
        DeclineReason::InsecureConfiguration,
        DeclineReason::Duplicate,
        DeclineReason::OutOfScope,
    ];

    /// The kebab-case id used in policies and in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            DeclineReason::NotAVulnerability => "not-a-vulnerability",
            DeclineReason::UnsupportedVersion => "unsupported-version",
            DeclineReason::InsecureConfiguration => "insecure-configuration",
            DeclineReason::Duplicate => "duplicate",
            DeclineReason::OutOfScope => "out-of-scope",
        }
    }

    /// Reads an id as [`DeclineReason::as_str`] prints it (surrounding blanks ignored).
    pub fn parse(text: &str) -> Option<DeclineReason> {
        let text = text.trim();
        DeclineReason::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl std::fmt::Display for DeclineReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The decline reasons a policy allows. An empty `triage.decline_reasons` (Signalen,
/// seed 004, names none) means the policy does not restrict them, so all apply. Ids the
/// desk does not know are skipped here; [`unknown_reasons`] lists them for a policy check.
pub fn allowed_reasons(policy: &Policy) -> Vec<DeclineReason> {
    let listed = &policy.triage.decline_reasons;
    if listed.is_empty() {
        return DeclineReason::ALL.to_vec();
    }
    let mut reasons: Vec<_> = listed
        .iter()
        .filter_map(|r| DeclineReason::parse(r))
        .collect();
    reasons.dedup();
    reasons
}

/// The ids in `triage.decline_reasons` that are not a [`DeclineReason`].
pub fn unknown_reasons(policy: &Policy) -> Vec<&str> {
    policy
        .triage
        .decline_reasons
        .iter()
        .map(String::as_str)
        .filter(|r| DeclineReason::parse(r).is_none())
        .collect()
}

/// A decline reason the policy does not list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this policy does not decline reports as {reason}; it allows: {}", list(.allowed))]
pub struct ReasonNotAllowed {
    /// The reason asked for.
    pub reason: DeclineReason,
    /// What the policy allows instead.
    pub allowed: Vec<DeclineReason>,
}

fn list(reasons: &[DeclineReason]) -> String {
    reasons
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks that `reason` is one the policy lists (any reason, when it lists none).
pub fn check_reason(policy: &Policy, reason: DeclineReason) -> Result<(), ReasonNotAllowed> {
    let allowed = allowed_reasons(policy);
    if allowed.contains(&reason) {
        Ok(())
    } else {
        Err(ReasonNotAllowed { reason, allowed })
    }
}

/// Checks an event against the policy before it is recorded: today, that a decline
/// uses one of the policy's reasons. Other events need nothing from the policy.
pub fn check_against_policy(policy: &Policy, event: &Event) -> Result<(), ReasonNotAllowed> {
    match event {
        Event::Declined { reason, .. } => check_reason(policy, *reason),
        _ => Ok(()),
    }
}

/// An event that would move a case where it may not go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{why}")]
pub struct TransitionError {
    /// The state the case was in.
    pub from: State,
    /// The kind of event refused ([`Event::kind`]).
    pub event: &'static str,
    /// What is wrong and, where there is one, the way forward.
    pub why: std::borrow::Cow<'static, str>,
}

/// Whether the state machine judges an event: a triage or lifecycle move, or a step of the
/// workflow (which keeps the state but is refused on a declined or closed case). The others
/// (messages, mail, attachments, clock facts) never change the state and are accepted in
/// any state.
pub fn moves_state(event: &Event) -> bool {
    match event {
        Event::InfoRequested { .. }
        | Event::ReporterReply { .. }
        | Event::Accepted
        | Event::Declined { .. }
        | Event::FixStarted
        | Event::FixReleased { .. }
        | Event::AdvisoryPublished { .. }
        | Event::Closed
        | Event::Reopened { .. } => true,
        Event::Reported { .. }
        | Event::ReceiptSent
        | Event::ReporterMessage { .. }
        | Event::AttachmentAdded { .. }
        | Event::MailReceived { .. }
        | Event::ReporterKeySet { .. }
        | Event::ReporterTokenReplaced
        | Event::ExploitationObserved { .. }
        | Event::Leaked { .. }
        | Event::BountyProposed { .. }
        | Event::BountyApproved { .. }
        | Event::BountyDeclined { .. }
        | Event::BountyPaid { .. }
        | Event::FixScheduled { .. }
        | Event::DeadlineOverridden { .. }
        | Event::NoteAdded { .. }
        | Event::SeverityAssessed { .. }
        | Event::SsvcAssessed { .. }
        | Event::Escalated { .. }
        | Event::OfficerAssigned { .. }
        | Event::AccessChanged { .. }
        // What parties say is recorded whatever the case's state: nothing they send is lost.
        | Event::InvitationAnswered { .. }
        | Event::PartyStated { .. }
        | Event::PartiesReminded { .. }
        | Event::PartiesToldOfBreak { .. }
        | Event::ReporterConsented { .. } => false,
        // A message from a party is kept in any state; the team writes only on a live case.
        Event::PartyMessage { from_party, .. } => !from_party,
        // The workflow's steps keep the state, but not on a case that is over.
        Event::StageCompleted { .. }
        | Event::FixProposed { .. }
        | Event::FixMerged { .. }
        | Event::LineUpdated { .. }
        | Event::Approved { .. }
        | Event::PartiesInvited { .. }
        | Event::EmbargoSet { .. }
        | Event::ReleaseAgreed { .. }
        | Event::StatementApproved { .. }
        | Event::IdentityShared { .. } => true,
    }
}

/// The state `event` moves a case in state `from` to, or why it may not happen.
///
/// | event \ from        | new        | needs-info | accepted  | declined | fixing    | fixed     | disclosed | closed |
/// |---------------------|------------|------------|-----------|----------|-----------|-----------|-----------|--------|
/// | `info_requested`    | needs-info | needs-info | ✗         | ✗        | ✗         | ✗         | ✗         | ✗      |
/// | `reporter_reply`    | =          | **new**    | =         | =        | =         | =         | =         | =      |
/// | `accepted`          | accepted   | accepted   | ✗         | ✗        | ✗         | ✗         | ✗         | ✗      |
/// | `declined`          | declined   | declined   | declined  | ✗        | ✗         | ✗         | ✗         | ✗      |
/// | `fix_started`       | ✗          | ✗          | fixing    | ✗        | ✗         | ✗         | ✗         | ✗      |
/// | `fix_released`      | ✗          | ✗          | fixed     | ✗        | fixed     | =         | =         | ✗      |
/// | `advisory_published`| ✗          | ✗          | disclosed | ✗        | disclosed | disclosed | =         | ✗      |
/// | `closed`            | ✗          | ✗          | ✗         | closed   | ✗         | ✗         | closed    | ✗      |
/// | `reopened`          | ✗          | ✗          | ✗         | new      | ✗         | ✗         | ✗         | new    |
/// | any other event     | =          | =          | =         | =        | =         | =         | =         | =      |
///
/// (`=`: allowed, the state does not change; `✗`: a [`TransitionError`].)
///
/// The choices the seeds leave open:
/// - A reporter's reply to a needs-info case returns it to new: the information asked for
///   (FreePBX, seed 001: "may request additional information ... if enough detail was not
///   originally supplied") has arrived, and the report is triaged again from the start.
///   A reply in any other state is conversation and moves nothing.
/// - An advisory may be published before a fix, from accepted or fixing: SalesTim (seed
///   003) holds a "0day" under active exploitation to 7 days, "enough time to publish
///   advice about possible mitigations", patched or not. A fix released after that
///   leaves the case disclosed.
/// - A second fix release (a backport, a later branch) or an updated advisory is
///   recorded without moving the case; the clocks keep the first date.
/// - A case is only closed once it is disclosed or declined, so no report is closed
///   quietly without either an advisory or a decision; closed is terminal except for an
///   explicit reopen, which needs a reason and starts triage again at new.
pub fn transition(from: State, event: &Event) -> Result<State, TransitionError> {
    use State::*;
    let refuse = |why: &'static str| {
        Err(TransitionError {
            from,
            event: event.kind(),
            why: why.into(),
        })
    };
    if !moves_state(event) {
        return Ok(from);
    }
    match (from, event) {
        // A reply is conversation in every state but needs-info, closed included.
        (NeedsInfo, Event::ReporterReply { .. }) => Ok(New),
        (_, Event::ReporterReply { .. }) => Ok(from),
        (Closed, Event::Reopened { .. }) | (Declined, Event::Reopened { .. }) => Ok(New),
        (_, Event::Reopened { .. }) => {
            refuse("only a declined or closed case can be reopened; this one is still open")
        }
        (Closed, _) => refuse("a closed case cannot change; reopen it first"),
        (Declined, Event::Closed) | (Disclosed, Event::Closed) => Ok(Closed),
        (Declined, Event::FixStarted | Event::FixReleased { .. }) => {
            refuse("a declined case cannot be fixed; reopen it first")
        }
        (Declined, _) => refuse("a declined case cannot change; reopen it first"),

        (New | NeedsInfo, Event::InfoRequested { .. }) => Ok(NeedsInfo),
        (_, Event::InfoRequested { .. }) => {
            refuse("more information can only be requested while triaging a new or needs-info case")
        }
        (New | NeedsInfo, Event::Accepted) => Ok(Accepted),
        (_, Event::Accepted) => refuse("only a new or needs-info case can be accepted"),
        (New | NeedsInfo | Accepted, Event::Declined { .. }) => Ok(Declined),
        (_, Event::Declined { .. }) => {
            refuse("only a case not yet being fixed can be declined (new, needs-info or accepted)")
        }
        (Accepted, Event::FixStarted) => Ok(Fixing),
        (New | NeedsInfo, Event::FixStarted) => {
            refuse("only an accepted case can be fixed; accept it first")
        }
        (_, Event::FixStarted) => refuse("work on a fix has already started"),
        (Accepted | Fixing, Event::FixReleased { .. }) => Ok(Fixed),
        (Fixed | Disclosed, Event::FixReleased { .. }) => Ok(from),
        (_, Event::FixReleased { .. }) => {
            refuse("only an accepted case can be fixed; accept it first")
        }
        (Accepted | Fixing | Fixed, Event::AdvisoryPublished { .. }) => Ok(Disclosed),
        (Disclosed, Event::AdvisoryPublished { .. }) => Ok(Disclosed),
        (_, Event::AdvisoryPublished { .. }) => {
            refuse("an advisory can only be published for an accepted case; accept it first")
        }
        (_, Event::Closed) => refuse(
            "only a disclosed or declined case can be closed; publish the advisory or decline it",
        ),
        // Events that do not move the state returned above.
        _ => Ok(from),
    }
}

/// The state `event` moves the case with this `log` to under `policy`: [`transition`]'s
/// table, then what the policy itself demands first. With
/// `disclosure.publish_requires_fix` (FreePBX, seed 001: "Once an issue has been verified
/// and fixed an abstract public disclosure will be released") an advisory needs a fix
/// released, on or before the advisory's day.
pub fn decide(policy: &Policy, log: &[Recorded], event: &Event) -> Result<State, TransitionError> {
    decide_after(policy, fold(log), log.iter().map(|r| &r.event), event)
}

/// The state the events of one write (in order) move the case with this `log` to, each
/// checked by [`decide`] after the log and the write's events before it. The desk calls
/// this on the log head it appends after, so two writes racing cannot both pass on the
/// same state.
pub fn decide_write(
    policy: &Policy,
    log: &[Recorded],
    events: &[Event],
) -> Result<State, TransitionError> {
    let mut state = fold(log);
    for (i, event) in events.iter().enumerate() {
        let earlier = log.iter().map(|r| &r.event).chain(&events[..i]);
        state = decide_after(policy, state, earlier, event)?;
    }
    Ok(state)
}

fn decide_after<'a>(
    policy: &Policy,
    from: State,
    mut earlier: impl Iterator<Item = &'a Event>,
    event: &Event,
) -> Result<State, TransitionError> {
    let to = transition(from, event)?;
    if let Event::AdvisoryPublished { on } = event
        && policy.disclosure.publish_requires_fix
        && from != State::Disclosed
    {
        let refuse = |why: String| TransitionError {
            from,
            event: event.kind(),
            why: why.into(),
        };
        let released = earlier.find_map(|e| match e {
            Event::FixReleased { on } => Some(*on),
            _ => None,
        });
        match released {
            None => {
                return Err(refuse(
                    "this policy publishes an advisory only once the issue is verified and fixed: no fix release is recorded; record the fix release first".into(),
                ));
            }
            Some(released) if released > *on => {
                return Err(refuse(format!(
                    "this policy publishes an advisory only once the issue is fixed: the fix was released {released}, after the advisory's day {on}"
                )));
            }
            Some(_) => {}
        }
    }
    Ok(to)
}

/// The state a log leads to, folding [`transition`] from new over its events in order.
///
/// A move the state machine refuses is skipped and the previous state kept. The service
/// checks every event with [`transition`] before recording it, so this should not
/// happen; if it does (a log written by an older rule set, or by hand), the log is still
/// the truth and history is never rewritten, so the case is shown where its valid events
/// put it rather than failing to load.
pub fn fold(log: &[Recorded]) -> State {
    log.iter().fold(State::New, |state, r| {
        transition(state, &r.event).unwrap_or(state)
    })
}

/// Whether the team ever had to ask for more information: the report as first sent was
/// incomplete (FreePBX, seed 001: evaluation may "require additional time ... if enough
/// detail was not originally supplied"). Only requests the state machine accepted count.
pub fn was_incomplete(log: &[Recorded]) -> bool {
    let mut state = State::New;
    for r in log {
        if let Ok(next) = transition(state, &r.event) {
            if matches!(r.event, Event::InfoRequested { .. }) {
                return true;
            }
            state = next;
        }
    }
    false
}

/// The case a declined case duplicates, if it was last declined as a duplicate. Both
/// reports stay on record so each reporter can be credited.
pub fn duplicate_of(log: &[Recorded]) -> Option<i64> {
    let mut state = State::New;
    let mut of = None;
    for r in log {
        if let Ok(next) = transition(state, &r.event) {
            match &r.event {
                Event::Declined { duplicate_of, .. } => of = *duplicate_of,
                Event::Reopened { .. } => of = None,
                _ => {}
            }
            state = next;
        }
    }
    of
}
