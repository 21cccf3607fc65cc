//! What the team should be reminded of on a given day: deadlines close or past, and
//! reporters who have heard nothing for longer than the policy allows (Sangoma, seed 000:
//! "we will keep you updated on the progress").
//!
//! Each reminder has a [`Reminder::key`] naming the deadline and its date, so the service
//! sends it once: a deadline moved by an override, or a new silence after the team wrote,
//! is a new reminder.

use jiff::ToSpan;
use jiff::civil::Date;

use crate::case::{self, Event, Recorded, State};
use crate::clocks::{self, ClockKind};
use crate::duration::Unit;
use crate::policy::Policy;

/// Why the team is reminded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReminderKind {
    /// A deadline is within 48 hours.
    DueSoon,
    /// A deadline has passed unmet.
    Overdue,
    /// The reporter has not heard from the team for the policy's update period.
    UpdateReporter,
}

/// One reminder for one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    pub kind: ReminderKind,
    /// The clock concerned; `None` for [`ReminderKind::UpdateReporter`].
    pub clock: Option<ClockKind>,
    pub due: Date,
    /// One sentence for the team.
    pub text: String,
}

impl Reminder {
    /// What makes this reminder the same one on a later day: its kind, clock and date.
    pub fn key(&self) -> String {
        let kind = match self.kind {
            ReminderKind::DueSoon => "due-soon",
            ReminderKind::Overdue => "overdue",
            ReminderKind::UpdateReporter => "update-reporter",
        };
        match self.clock {
            Some(clock) => format!("{kind}:{}:{}", clock.as_str(), self.due),
            None => format!("{kind}:{}", self.due),
        }
    }
}

fn day(d: Date) -> String {
    d.strftime("%a %Y-%m-%d").to_string()
}

/// When the reporter last heard from the team and when the policy says they should next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReporterUpdate {
    /// The report, or the team's last message or request to the reporter.
    pub last: Date,
    pub every: crate::duration::Period,
    pub due: Date,
}

/// The reporter's next update under the policy's `update_reporter_every` (Sangoma, 000),
/// if the policy promises one. Automatic messages do not count.
pub fn reporter_update(policy: &Policy, log: &[Recorded]) -> Option<ReporterUpdate> {
    let every = policy.response.update_reporter_every?;
    let cal = policy.calendar();
    let last = log
        .iter()
        .filter(|r| match &r.event {
            Event::Reported { .. } | Event::InfoRequested { .. } => true,
            Event::ReporterMessage { by_team_member, .. } => *by_team_member,
            _ => false,
        })
        .map(|r| cal.local_date(r.at))
        .max()?;
    let due = match every.unit {
        Unit::BusinessDays => cal.add_business_days(last, every.count),
        Unit::Days => last.saturating_add(i64::from(every.count).days()),
        Unit::Weeks => last.saturating_add((i64::from(every.count) * 7).days()),
    };
    Some(ReporterUpdate { last, every, due })
}

/// The reminders a case calls for on `today` (in the policy's calendar).
pub fn reminders(policy: &Policy, log: &[Recorded], today: Date) -> Vec<Reminder> {
    let state = case::state(log);
    if matches!(state, State::Declined | State::Closed) {
        return Vec::new();
    }
    let Some(facts) = case::facts(policy.calendar(), log) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for d in clocks::clocks(policy, &facts).deadlines {
        // A permission (when the reporter may publish) is nobody's task: nothing to chase.
        if d.met.is_some() || d.kind.is_permission() {
            continue;
        }
        let soon = today
            .checked_add(2.days())
            .is_ok_and(|limit| d.due <= limit);
        let kind = if d.due < today {
            ReminderKind::Overdue
        } else if soon {
            ReminderKind::DueSoon
        } else {
            continue;
        };
        let text = match kind {
            ReminderKind::Overdue => format!(
                "the {} deadline of {} has passed unmet",
                d.kind.as_str().replace('_', " "),
                day(d.due)
            ),
            _ => format!(
                "the {} deadline is {}, within 48 hours",
                d.kind.as_str().replace('_', " "),
                day(d.due)
            ),
        };
        out.push(Reminder {
            kind,
            clock: Some(d.kind),
            due: d.due,
            text,
        });
    }
    if state != State::Disclosed
        && let Some(update) = reporter_update(policy, log)
        && update.due <= today
    {
        out.push(Reminder {
            kind: ReminderKind::UpdateReporter,
            clock: None,
            due: update.due,
            text: format!(
                "the reporter has heard nothing from the team since {}; the policy promises an update every {} (due {})",
                day(update.last),
                update.every,
                day(update.due)
            ),
        });
    }
    out
}

/// A deadline that passed with nobody acting: for the officer and the organisation's
/// officers and admins, once per deadline and date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub clock: ClockKind,
    pub due: Date,
    /// The team's last action on the case, if any.
    pub last_action: Option<Date>,
    /// One sentence for the people told.
    pub text: String,
}

/// The deadlines of a case to escalate on `today`: passed unmet, with no event recorded by
/// a team member on or after the margin before the day it was due (`response.escalation_margin`,
/// default 2 days), and not escalated before for that date.
pub fn escalations(policy: &Policy, log: &[Recorded], today: Date) -> Vec<Escalation> {
    if matches!(case::state(log), State::Declined | State::Closed) {
        return Vec::new();
    }
    let Some(facts) = case::facts(policy.calendar(), log) else {
        return Vec::new();
    };
    let cal = policy.calendar();
    let margin = policy
        .response
        .escalation_margin
        .unwrap_or(crate::duration::Period {
            count: 2,
            unit: Unit::Days,
        });
    let last_action = log
        .iter()
        .filter(|r| crate::actor::Actor::parse(&r.actor).user_id().is_some())
        .map(|r| cal.local_date(r.at))
        .max();
    let mut out = Vec::new();
    for d in clocks::clocks(policy, &facts).deadlines {
        if d.met.is_some() || d.kind.is_permission() || d.due >= today {
            continue;
        }
        let watched_from = before(policy, d.due, margin);
        if last_action.is_some_and(|last| last >= watched_from) {
            continue;
        }
        let escalated = log.iter().any(|r| {
            matches!(&r.event, Event::Escalated { clock, due, .. } if *clock == d.kind && *due == d.due)
        });
        if escalated {
            continue;
        }
        let since = match last_action {
            Some(last) => format!(
                "nobody of the team has acted on the case since {}",
                day(last)
            ),
            None => "nobody of the team has acted on the case".to_owned(),
        };
        out.push(Escalation {
            clock: d.kind,
            due: d.due,
            last_action,
            text: format!(
                "the {} deadline of {} has passed unmet and {since}",
                d.kind.as_str().replace('_', " "),
                day(d.due)
            ),
        });
    }
    out
}

/// `period` before `d`, counting business days on the policy's calendar.
fn before(policy: &Policy, d: Date, period: crate::duration::Period) -> Date {
    match period.unit {
        Unit::Days => d.saturating_sub(i64::from(period.count).days()),
        Unit::Weeks => d.saturating_sub((i64::from(period.count) * 7).days()),
        Unit::BusinessDays => {
            let mut at = d;
            let mut left = period.count;
            while left > 0 {
                at = at.saturating_sub(1.days());
                if policy.calendar().is_business_day(at) {
                    left -= 1;
                }
            }
            at
        }
    }
}

#[cfg(test)]
mod tests;
