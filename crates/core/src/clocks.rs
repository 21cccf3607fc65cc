//! The deadline clocks: a pure function from a policy, its calendar and the facts
//! of a case to every promised date, each with the steps that derived it.
//!
//! Semantics (also in docs/policy.md): "the day" of an event is its civil date in
//! the policy's time zone. Periods count from the day after the report: day 1 of
//! "90 days" is the next calendar day, day 1 of "3 business days" is the first
//! business day after the report day, whatever day the report came in.

use std::fmt;

use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, NonBusinessReason};
use crate::duration::{Period, Unit};
use crate::policy::{AckBy, NonBusinessDay, Policy, ReporterMayPublish};

/// Which promise a deadline keeps. The names are part of the JSON interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    Acknowledge,
    Resolve,
    Disclosure,
    DisclosureTarget,
    ReporterDisclosure,
}

impl ClockKind {
    pub const ALL: [ClockKind; 5] = [
        ClockKind::Acknowledge,
        ClockKind::Resolve,
        ClockKind::Disclosure,
        ClockKind::DisclosureTarget,
        ClockKind::ReporterDisclosure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClockKind::Acknowledge => "acknowledge",
            ClockKind::Resolve => "resolve",
            ClockKind::Disclosure => "disclosure",
            ClockKind::DisclosureTarget => "disclosure_target",
            ClockKind::ReporterDisclosure => "reporter_disclosure",
        }
    }

    pub fn parse(text: &str) -> Option<ClockKind> {
        ClockKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether the date is a permission (from when the reporter may publish) rather than
    /// something owed: a permission is never overdue, due soon or a reminder (docs/policy.md).
    pub fn is_permission(self) -> bool {
        self == ClockKind::ReporterDisclosure
    }
}

impl fmt::Display for ClockKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A non-empty, trimmed reason for a manual change (003: "extreme circumstances").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub fn parse(text: &str) -> Option<Reason> {
        let text = text.trim();
        (!text.is_empty()).then(|| Reason(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person moving a deadline by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub kind: ClockKind,
    pub due: Date,
    /// The team's reason; `None` in the reporter's view of the facts.
    pub reason: Option<Reason>,
    /// What the officer wrote for the reporter, if anything.
    pub reporter_note: Option<Reason>,
    /// Who did it (an actor such as `user:3`); `None` in the reporter's view.
    pub by: Option<String>,
    pub on: Date,
}

/// A vendor's announced release date for a fix, and the day we were told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixSchedule {
    pub release: Date,
    pub announced: Date,
}

/// The coordinated release agreed with the parties under embargo: its day, and the day it
/// was agreed (both in the policy's time zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreement {
    pub release: Date,
    pub agreed: Date,
}

/// What happened in a case, as civil dates in the policy's time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub reported: Date,
    /// First reporter-visible message written by a team member.
    pub human_acknowledged: Option<Date>,
    /// The automatic receipt.
    pub receipt_sent: Option<Date>,
    /// Active exploitation observed ("0day").
    pub exploited: Option<Date>,
    /// The vulnerability's details became public before disclosure (a leak): like
    /// exploitation, it breaks the embargo.
    pub leaked: Option<Date>,
    /// The latest fix schedule announced.
    pub fix_scheduled: Option<FixSchedule>,
    pub fix_released: Option<Date>,
    pub advisory_published: Option<Date>,
    /// In order of recording; a later override of the same clock replaces an earlier one.
    pub overrides: Vec<Override>,
    /// The case is our report to a third-party vendor: only the disclosure clock runs.
    pub outbound: bool,
    /// The latest coordinated release agreed with the parties.
    pub release_agreed: Option<Agreement>,
}

impl Facts {
    /// The facts as the reporter may read them: a moved deadline keeps its new date and
    /// what the officer wrote for the reporter, never the team's reason or who moved it.
    pub fn for_reporter(mut self) -> Facts {
        for o in &mut self.overrides {
            o.reason = None;
            o.by = None;
        }
        self
    }

    pub fn reported_on(reported: Date) -> Facts {
        Facts {
            reported,
            human_acknowledged: None,
            receipt_sent: None,
            exploited: None,
            leaked: None,
            fix_scheduled: None,
            fix_released: None,
            advisory_published: None,
            overrides: Vec::new(),
            outbound: false,
            release_agreed: None,
        }
    }
}

/// One promised date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub kind: ClockKind,
    pub due: Date,
    /// The day the promise was kept, if it was.
    pub met: Option<Date>,
    /// How `due` was reached, one step per line, for people to check.
    pub derivation: Vec<String>,
}

/// A clock the policy defines that cannot start until something happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pending {
    pub kind: ClockKind,
    pub waiting_for: &'static str,
    /// The derivation in words: "starts when the advisory is published".
    pub starts_when: &'static str,
}

/// Serialized as `{"clocks":[{"kind","due","met","derivation"}],"pending":[{"kind","waiting_for"}]}`;
/// other tools rely on these names.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Clocks {
    #[serde(rename = "clocks")]
    pub deadlines: Vec<Deadline>,
    pub pending: Vec<Pending>,
}

impl Clocks {
    /// The earliest deadline not yet met: what the team must act on next. Permissions
    /// are not acted on, so they are never next.
    pub fn next_due(&self) -> Option<&Deadline> {
        self.deadlines
            .iter()
            .filter(|d| d.met.is_none() && !d.kind.is_permission())
            .min_by_key(|d| (d.due, d.kind))
    }

    pub fn get(&self, kind: ClockKind) -> Option<&Deadline> {
        self.deadlines.iter().find(|d| d.kind == kind)
    }

    /// The clocks for people: each due date, then its derivation indented.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        for d in &self.deadlines {
            out.push_str(&format!("{} due {}", d.kind, day(d.due)));
            if let Some(m) = d.met {
                out.push_str(&format!(", met {}", day(m)));
            }
            out.push('\n');
            for step in &d.derivation {
                out.push_str(&format!("  {step}\n"));
            }
        }
        for p in &self.pending {
            out.push_str(&format!(
                "{} pending: starts when {}\n",
                p.kind, p.starts_when
            ));
        }
        if out.is_empty() {
            out.push_str("this policy promises no dates\n");
        }
        out
    }
}

/// Every clock of `policy` for a case with these facts.
pub fn clocks(policy: &Policy, facts: &Facts) -> Clocks {
    let c = Compute {
        cal: policy.calendar(),
        policy,
        facts,
    };
    let disclosure = c.disclosure().map(|d| c.overridden(d));
    if facts.outbound {
        // We are the reporter: only our disclosure to the vendor's users runs, on the same
        // rules as for every inbound report (SalesTim, seed 003: "SalesTim expects to be
        // held to the same standard").
        return Clocks {
            deadlines: disclosure
                .map(|mut d| {
                    d.derivation.insert(
                        0,
                        "an outbound report to a vendor: this policy's disclosure rules apply to it as to every vendor".to_owned(),
                    );
                    d
                })
                .into_iter()
                .collect(),
            pending: Vec::new(),
        };
    }
    let reporter = c.reporter_disclosure(disclosure.as_ref());
    let mut out = Clocks {
        deadlines: [c.acknowledge(), c.resolve(), c.target()]
            .into_iter()
            .flatten()
            .map(|d| c.overridden(d))
            .chain(disclosure)
            .collect(),
        pending: Vec::new(),
    };
    match reporter {
        Ok(d) => out.deadlines.extend(d.map(|d| c.overridden(d))),
        Err(p) => out.pending.push(p),
    }
    out.deadlines.sort_by_key(|d| d.kind);
    out
}

struct Compute<'a> {
    cal: &'a Calendar,
    policy: &'a Policy,
    facts: &'a Facts,
}

/// A deadline, noting in its derivation when and how it was met.
fn met(
    kind: ClockKind,
    due: Date,
    mut steps: Vec<String>,
    on: Option<Date>,
    how: &str,
) -> Deadline {
    if let Some(m) = on {
        steps.push(format!("{how} on {}", day(m)));
    }
    Deadline {
        kind,
        due,
        met: on,
        derivation: steps,
    }
}

fn day(d: Date) -> String {
    format!("{d} ({})", d.strftime("%a"))
}

impl Compute<'_> {
    /// `from` plus `period`, with a derivation line naming what was skipped.
    fn add(&self, from: Date, from_label: &str, period: Period, steps: &mut Vec<String>) -> Date {
        match period.unit {
            Unit::BusinessDays => {
                let due = self.cal.add_business_days(from, period.count);
                let skipped = self.skipped_holidays(from, due);
                let mut line = format!(
                    "{from_label} {}, +{period} (day 1 is the first business day after it) = {}",
                    day(from),
                    day(due)
                );
                if !skipped.is_empty() {
                    line.push_str(&format!("; not counted: {}", skipped.join(", ")));
                }
                steps.push(line);
                due
            }
            Unit::Days | Unit::Weeks => {
                let days = if period.unit == Unit::Weeks {
                    i64::from(period.count) * 7
                } else {
                    i64::from(period.count)
                };
                let due = from.saturating_add(days.days());
                steps.push(format!(
                    "{from_label} {}, +{period} = {}",
                    day(from),
                    day(due)
                ));
                due
            }
        }
    }

    /// Holidays (not weekends) strictly after `from` up to `to`, for the derivation.
    fn skipped_holidays(&self, from: Date, to: Date) -> Vec<String> {
        let mut out = Vec::new();
        let mut d = from;
        while d < to {
            d = d.tomorrow().unwrap_or(d);
            match self.cal.non_business(d) {
                None | Some(NonBusinessReason::Weekend(_)) => {}
                Some(reason) => out.push(format!("{} {reason}", day(d))),
            }
            if out.len() > 20 {
                break;
            }
        }
        out
    }

    /// Applies the policy's rule for deadlines landing on a non-business day.
    fn roll(&self, due: Date, steps: &mut Vec<String>) -> Date {
        if self.policy.disclosure.on_non_business_day != NonBusinessDay::NextBusinessDay {
            return due;
        }
        match self.cal.non_business(due) {
            None => {
                steps.push(format!("{} is a business day: no roll-forward", day(due)));
                due
            }
            Some(reason) => {
                let next = self.cal.next_business_day_on_or_after(due);
                let mut line = format!("{} is not a business day ({reason})", day(due));
                let mut d = due;
                while let Some(next_day) = d.tomorrow().ok().filter(|n| *n < next) {
                    d = next_day;
                    if let Some(r) = self.cal.non_business(d) {
                        line.push_str(&format!(", nor is {} ({r})", day(d)));
                    }
                }
                steps.push(format!(
                    "{line}: moved to the next business day {}",
                    day(next)
                ));
                next
            }
        }
    }

    fn acknowledge(&self) -> Option<Deadline> {
        let ack = self.policy.response.acknowledge.as_ref()?;
        let period = ack.within?;
        let mut steps = Vec::new();
        let due = self.add(self.facts.reported, "reported", period, &mut steps);
        let acked = match ack.by {
            AckBy::Human => {
                steps.push(
                    "only a team member's message to the reporter stops this clock; the automatic receipt does not"
                        .into(),
                );
                self.facts.human_acknowledged
            }
            AckBy::Any => [self.facts.receipt_sent, self.facts.human_acknowledged]
                .into_iter()
                .flatten()
                .min(),
        };
        Some(met(
            ClockKind::Acknowledge,
            due,
            steps,
            acked,
            "acknowledged",
        ))
    }

    fn resolve(&self) -> Option<Deadline> {
        let period = self.policy.response.resolve?;
        let mut steps = Vec::new();
        let due = self.add(self.facts.reported, "reported", period, &mut steps);
        Some(met(
            ClockKind::Resolve,
            due,
            steps,
            self.facts.fix_released,
            "fix released",
        ))
    }

    fn disclosure(&self) -> Option<Deadline> {
        let rules = &self.policy.disclosure;
        let normal = match (rules.deadline, self.facts.release_agreed) {
            (Some(period), agreement) => {
                let mut steps = Vec::new();
                let due = self.add(self.facts.reported, "reported", period, &mut steps);
                let due = self.roll(due, &mut steps);
                let due = match agreement {
                    Some(agreement) => self.agreed_release(due, agreement, &mut steps),
                    None => self.patch_grace(due, &mut steps),
                };
                Some((due, steps))
            }
            // Without a deadline of its own (Signalen, seed 004: "coordinate the release
            // date"), the policy discloses when the parties agreed.
            (None, Some(agreement)) => Some((
                agreement.release,
                vec![format!(
                    "coordinated release agreed with the parties on {} for {}: disclosure on the agreed release",
                    day(agreement.agreed),
                    day(agreement.release)
                )],
            )),
            (None, None) => None,
        };
        // Exploitation or a leak breaks the embargo: the earlier starts the short clock.
        let broken = [
            (self.facts.exploited, "active exploitation observed"),
            (self.facts.leaked, "the embargo broke: details leaked"),
        ]
        .into_iter()
        .filter_map(|(on, what)| on.map(|on| (on, what)))
        .min_by_key(|(on, _)| *on);
        let exploited = rules
            .actively_exploited
            .zip(broken)
            .map(|(period, (on, what))| {
                let mut steps = Vec::new();
                let due = self.add(on, what, period, &mut steps);
                (self.roll(due, &mut steps), steps)
            });
        let (mut due, mut steps) = match (normal, exploited) {
            (None, None) => return None,
            (Some(n), None) => n,
            (None, Some(e)) => e,
            (Some((n_due, mut n_steps)), Some((e_due, e_steps))) => {
                n_steps.extend(e_steps);
                if e_due < n_due {
                    n_steps.push(format!(
                        "the actively-exploited deadline {} is earlier than {}: it applies",
                        day(e_due),
                        day(n_due)
                    ));
                    (e_due, n_steps)
                } else {
                    n_steps.push(format!(
                        "the actively-exploited deadline {} is not earlier than {}: no change",
                        day(e_due),
                        day(n_due)
                    ));
                    (n_due, n_steps)
                }
            }
        };
        if rules.fix_release_brings_forward
            && let Some(released) = self.facts.fix_released
        {
            if released < due {
                steps.push(format!(
                    "fix released {}, before {}: disclosure brought forward to the release",
                    day(released),
                    day(due)
                ));
                due = released;
            } else {
                steps.push(format!(
                    "fix released {}, not before {}: no change",
                    day(released),
                    day(due)
                ));
            }
        }
        Some(met(
            ClockKind::Disclosure,
            due,
            steps,
            self.facts.advisory_published,
            "advisory published",
        ))
    }

    /// A coordinated release agreed with the parties sets disclosure to the release, as far
    /// as the policy allows: on or before the deadline always; after it only within the
    /// patch grace, and only when agreed before the deadline passed (SalesTim, seed 003);
    /// otherwise the deadline stands and only an officer's override, with its reason,
    /// moves it.
    fn agreed_release(
        &self,
        deadline: Date,
        agreement: Agreement,
        steps: &mut Vec<String>,
    ) -> Date {
        let agreed = format!(
            "coordinated release agreed with the parties on {} for {}",
            day(agreement.agreed),
            day(agreement.release)
        );
        if agreement.release <= deadline {
            steps.push(format!(
                "{agreed}, on or before the deadline: disclosure on the agreed release"
            ));
            return agreement.release;
        }
        let Some(grace) = self.policy.disclosure.patch_grace else {
            steps.push(format!(
                "{agreed}, after the deadline, and the policy gives no grace: the deadline stands"
            ));
            return deadline;
        };
        if agreement.agreed > deadline {
            steps.push(format!(
                "{agreed}, after the deadline had passed: no grace, the deadline stands"
            ));
            return deadline;
        }
        let mut scratch = Vec::new();
        let limit = self.add(deadline, "deadline", grace, &mut scratch);
        if agreement.release <= limit {
            steps.push(format!(
                "{agreed}, within the {grace} grace after the deadline (until {}): disclosure on the agreed release",
                day(limit)
            ));
            agreement.release
        } else {
            steps.push(format!(
                "{agreed}, later than the {grace} grace allows (until {}): the deadline stands",
                day(limit)
            ));
            deadline
        }
    }

    /// 003: a fix scheduled, before the deadline, for a day within the grace after it
    /// delays disclosure "until the availability of the patch": its actual release when
    /// there is one, at the latest the end of the grace; one scheduled later, or announced
    /// late, does not delay it.
    fn patch_grace(&self, deadline: Date, steps: &mut Vec<String>) -> Date {
        let (Some(grace), Some(fix)) =
            (self.policy.disclosure.patch_grace, self.facts.fix_scheduled)
        else {
            return deadline;
        };
        if fix.release <= deadline {
            steps.push(format!(
                "fix scheduled for {}, on or before the deadline: no grace needed",
                day(fix.release)
            ));
            return deadline;
        }
        if fix.announced > deadline {
            steps.push(format!(
                "fix schedule for {} announced {}, after the deadline had passed: no grace",
                day(fix.release),
                day(fix.announced)
            ));
            return deadline;
        }
        let mut scratch = Vec::new();
        let limit = self.add(deadline, "deadline", grace, &mut scratch);
        if fix.release <= limit {
            steps.push(format!(
                "fix scheduled (announced {}) for {}, within the {grace} grace after the deadline (until {}): disclosure waits until the patch is available",
                day(fix.announced),
                day(fix.release),
                day(limit)
            ));
            match self.facts.fix_released {
                None => {
                    steps.push(format!(
                        "not released yet: due on the scheduled day {}; a later release delays it to the release, until {} at the latest",
                        day(fix.release),
                        day(limit)
                    ));
                    fix.release
                }
                Some(released) if released <= deadline => {
                    steps.push(format!(
                        "fix released {}, on or before the deadline: no grace needed",
                        day(released)
                    ));
                    deadline
                }
                Some(released) if released <= limit => {
                    steps.push(format!(
                        "fix released {}, within the grace: disclosure on the release",
                        day(released)
                    ));
                    released
                }
                Some(released) => {
                    steps.push(format!(
                        "fix released {}, after the grace: disclosure at the end of the grace {}",
                        day(released),
                        day(limit)
                    ));
                    limit
                }
            }
        } else {
            steps.push(format!(
                "fix scheduled for {}, later than the {grace} grace allows (until {}): the deadline stands",
                day(fix.release),
                day(limit)
            ));
            deadline
        }
    }

    fn target(&self) -> Option<Deadline> {
        let period = self.policy.disclosure.target.as_ref()?.within;
        let mut steps = Vec::new();
        let due = self.add(self.facts.reported, "reported", period, &mut steps);
        let due = self.roll(due, &mut steps);
        steps.push(self.policy.disclosure.target_wording().to_owned());
        Some(met(
            ClockKind::DisclosureTarget,
            due,
            steps,
            self.facts.advisory_published,
            "advisory published",
        ))
    }

    fn reporter_disclosure(
        &self,
        disclosure: Option<&Deadline>,
    ) -> Result<Option<Deadline>, Pending> {
        let Some(rule) = self.policy.disclosure.reporter_may_publish else {
            return Ok(None);
        };
        let pending = |waiting_for, starts_when| Pending {
            kind: ClockKind::ReporterDisclosure,
            waiting_for,
            starts_when,
        };
        let advisory = || {
            self.facts.advisory_published.ok_or(pending(
                "our published advisory",
                "the advisory is published",
            ))
        };
        let mut steps = Vec::new();
        let due = match rule {
            ReporterMayPublish::AtDisclosure => {
                let d = disclosure.ok_or(pending(
                    "a disclosure deadline",
                    "the disclosure deadline is set",
                ))?;
                let due = d.met.map_or(d.due, |m| m.min(d.due));
                steps.push(format!(
                    "the reporter may publish with our disclosure: {}",
                    day(due)
                ));
                due
            }
            ReporterMayPublish::WithAdvisory => {
                let on = advisory()?;
                steps.push(format!(
                    "the reporter may post alongside our advisory, published {}",
                    day(on)
                ));
                on
            }
            // 001: the mitigation period is "to allow the public to act on the information",
            // so it runs from our public (abstract) disclosure, not from the fix.
            ReporterMayPublish::AfterMitigation => {
                let period = self.policy.disclosure.mitigation_period.ok_or(pending(
                    "a mitigation period",
                    "the policy sets a mitigation period",
                ))?;
                let from = advisory()?;
                let due = self.add(from, "advisory published", period, &mut steps);
                steps.push(format!(
                    "mitigation period of {period} after our public disclosure: full details, exploits included, may be published by the reporter from then on"
                ));
                self.roll(due, &mut steps)
            }
        };
        steps.push("a permission for the reporter, not a task: never overdue".into());
        Ok(Some(Deadline {
            kind: ClockKind::ReporterDisclosure,
            due,
            met: None,
            derivation: steps,
        }))
    }

    /// The latest override of this clock, if any, replaces the computed date and says so:
    /// to the team with who and why, to the reporter with what the officer wrote for them.
    fn overridden(&self, mut d: Deadline) -> Deadline {
        if let Some(o) = self.facts.overrides.iter().rev().find(|o| o.kind == d.kind) {
            let by = o.by.as_deref().unwrap_or("the security team");
            let mut step = format!(
                "moved by {by} on {}: {} -> {}",
                day(o.on),
                day(d.due),
                day(o.due)
            );
            if let Some(reason) = &o.reason {
                step.push_str(&format!(" because: {}", reason.as_str()));
            }
            if let Some(note) = &o.reporter_note {
                let label = if o.reason.is_some() {
                    "; the reporter was told: "
                } else {
                    ": "
                };
                step.push_str(label);
                step.push_str(note.as_str());
            }
            d.derivation.push(step);
            d.due = o.due;
        }
        d
    }
}

#[cfg(test)]
mod tests;
