//! Sending the team the reminders cases call for (see [`vulndesk_core::reminders`]): to
//! the case's officer, else the organisation's officers, else its team (reviewers are
//! not reminded: they do not work cases). Each reminder is recorded with its mail in one
//! transaction and sent once. The mail names the case and the deadline, never the
//! report's contents, because it travels unencrypted.

use std::collections::HashMap;

use jiff::Timestamp;
use vulndesk_core::access::OrgRole;
use vulndesk_core::actor::Actor;
use vulndesk_core::case;
use vulndesk_core::case::Event;
use vulndesk_core::policy::Policy;
use vulndesk_core::reminders::{Escalation, ReminderKind, escalations, reminders};
use vulndesk_mail::receipt::{Notice, team_notice};
use vulndesk_store::{CaseListing, CaseQuery, Effects, NewJob, UserRow};

use crate::cases::{self, Write, open_states};
use crate::{Desk, DeskError};

/// How many cases one run looks at, at most.
const MAX_CASES: i64 = 1_000_000;

/// The open cases that may call for a reminder: those with a deadline within the next few
/// days or past (the projection holds each case's earliest unmet deadline), and every open
/// case of an organisation whose policy promises the reporter regular news.
async fn candidates(state: &Desk, now: Timestamp) -> Result<Vec<CaseListing>, DeskError> {
    let open = open_states();
    // Three days ahead of UTC covers "within 48 hours" in every policy's time zone.
    let horizon = jiff::tz::TimeZone::UTC
        .to_datetime(now)
        .date()
        .saturating_add(jiff::Span::new().days(3));
    let mut found = state
        .store
        .list_cases(&CaseQuery {
            states: open.clone(),
            due_by: Some(horizon),
            limit: MAX_CASES,
            ..CaseQuery::default()
        })
        .await?;
    for org in state
        .store
        .list_products()
        .await?
        .iter()
        .map(|p| p.org_id)
        .collect::<std::collections::BTreeSet<_>>()
    {
        // Cases are pinned to the version they arrived under: the organisation's cases are
        // looked at if any version promises regular news.
        let mut promises = false;
        for version in state.store.policy_versions(org).await? {
            let pinned = state.policy(version.id).await?;
            promises |= pinned.policy.response.update_reporter_every.is_some();
        }
        if promises {
            found.extend(
                state
                    .store
                    .list_cases(&CaseQuery {
                        states: open.clone(),
                        org_id: Some(org),
                        limit: MAX_CASES,
                        ..CaseQuery::default()
                    })
                    .await?,
            );
        }
    }
    found.sort_by_key(|c| c.id);
    found.dedup_by_key(|c| c.id);
    Ok(found)
}

impl Desk {
    /// Sends what is due at `now` (the team's reminders and escalations, and reminders to
    /// parties that gave no status yet); returns how many reminders were new.
    pub async fn remind(&self, now: Timestamp) -> Result<usize, DeskError> {
        let parties = self.remind_parties(now).await?;
        Ok(parties + self.remind_team(now).await?)
    }

    async fn remind_team(&self, now: Timestamp) -> Result<usize, DeskError> {
        let open = candidates(self, now).await?;
        let mut teams: HashMap<i64, Vec<(UserRow, OrgRole)>> = HashMap::new();
        let mut sent = 0;
        for listed in open {
            let Some(row) = self.store.case(listed.id).await? else {
                continue;
            };
            let pinned = self.policy(row.policy_version_id).await?;
            let policy = &pinned.policy;
            let log = cases::log(&self.store.events(row.id).await?)?;
            let today = policy.calendar().local_date(now);
            let due = reminders(policy, &log, today);
            let escalate = escalations(policy, &log, today);
            if due.is_empty() && escalate.is_empty() {
                continue;
            }
            let team = match teams.entry(listed.org_id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(self.team(listed.org_id).await?)
                }
            };
            let officer = case::summary(&log).officer;
            let to: Vec<&UserRow> =
                match officer.and_then(|id| team.iter().find(|(u, _)| u.id == id)) {
                    Some((u, _)) => vec![u],
                    None => {
                        let officers: Vec<_> = team
                            .iter()
                            .filter(|(_, r)| *r == OrgRole::Officer)
                            .map(|(u, _)| u)
                            .collect();
                        if officers.is_empty() {
                            team.iter()
                                .filter(|(_, r)| *r != OrgRole::Reviewer)
                                .map(|(u, _)| u)
                                .collect()
                        } else {
                            officers
                        }
                    }
                };
            for reminder in due {
                let what = match reminder.kind {
                    ReminderKind::Overdue => "a deadline has passed",
                    ReminderKind::DueSoon => "a deadline is close",
                    ReminderKind::UpdateReporter => "the reporter is waiting for news",
                };
                let subject = format!("[Vulndesk] Case {}: {what}", row.id);
                let text = format!(
                    "Case {} ({}): {}.\n\nOpen it in Vulndesk: {}\n",
                    row.id,
                    policy.organisation.name,
                    reminder.text,
                    self.link(&format!("/cases/{}", row.id))
                );
                let jobs = self
                    .team_mail(policy, row.id, &to, &subject, &text, true, now)
                    .await?;
                if jobs.is_empty() {
                    tracing::warn!(case = row.id, "a reminder is due but nobody can be mailed");
                    continue;
                }
                if self
                    .store
                    .remind_once(row.id, &reminder.key(), &jobs, now)
                    .await?
                {
                    sent += 1;
                }
            }
            if !escalate.is_empty() {
                let officer = officer.and_then(|id| team.iter().find(|(u, _)| u.id == id));
                let told = escalation_list(officer.map(|(u, _)| u), team, &admins(self).await?);
                for e in escalate {
                    if self.escalate(&row, policy, &told, e, now).await? {
                        sent += 1;
                    }
                }
            }
        }
        Ok(sent)
    }

    /// One notice per person in `to` about case `case_id`, each from the desk's sender; with
    /// `reply` each carries the person's own reply address on the case (and says what an
    /// answer becomes). A person whose address cannot be written is skipped, with a warning.
    #[allow(clippy::too_many_arguments)]
    async fn team_mail(
        &self,
        policy: &Policy,
        case_id: i64,
        to: &[&UserRow],
        subject: &str,
        text: &str,
        reply: bool,
        now: Timestamp,
    ) -> Result<Vec<NewJob>, DeskError> {
        let mut jobs = Vec::new();
        for user in to {
            let random = vulndesk_store::new_reply_tag()?;
            let reply_to = if reply {
                self.team_reply_to(policy, case_id, user.id, now).await?
            } else {
                None
            };
            let mut text = text.to_owned();
            if reply_to.is_some() {
                text.push_str(crate::workspace::REPLY_AS_NOTE);
            }
            let notice = Notice {
                to: &user.email,
                subject,
                text: &text,
                reply_to: reply_to.as_deref(),
            };
            match team_notice(policy, &self.notice_sender(policy), notice, now, &random) {
                Ok(queued) => jobs.push(queued.job),
                Err(e) => tracing::warn!(error = %e, "cannot address a team notice"),
            }
        }
        Ok(jobs)
    }

    /// Tells `told` that a deadline passed with nobody acting, and records it in the case's
    /// log with the mail: decided on the log the write follows, so two runs at once escalate
    /// it once. Returns whether this run recorded it.
    async fn escalate(
        &self,
        row: &vulndesk_store::CaseRow,
        policy: &Policy,
        told: &[UserRow],
        e: Escalation,
        now: Timestamp,
    ) -> Result<bool, DeskError> {
        let subject = format!(
            "[Vulndesk] Case {}: escalated, a deadline passed with nobody acting",
            row.id
        );
        let text = format!(
            "Case {} ({}): {}.\n\nYou are told as its officer, an officer of {} or an \
             administrator of this desk. Open it in Vulndesk: {}\n",
            row.id,
            policy.organisation.name,
            e.text,
            policy.organisation.name,
            self.link(&format!("/cases/{}", row.id))
        );
        let told_refs: Vec<&UserRow> = told.iter().collect();
        // No reply address of their own: administrators need not take part in the case.
        let jobs = self
            .team_mail(policy, row.id, &told_refs, &subject, &text, false, now)
            .await?;
        if jobs.is_empty() {
            tracing::warn!(
                case = row.id,
                "an escalation is due but nobody can be mailed"
            );
            return Ok(false);
        }
        let event = Event::Escalated {
            clock: e.clock,
            due: e.due,
            told: told.iter().map(|u| u.id).collect(),
        };
        let today = policy.calendar().local_date(now);
        let written = self
            .append(row, &Actor::Desk, now, |log| {
                let still = escalations(policy, log, today)
                    .iter()
                    .any(|x| x.clock == e.clock && x.due == e.due);
                Ok(Write {
                    events: if still {
                        vec![event.clone()]
                    } else {
                        Vec::new()
                    },
                    effects: Effects {
                        jobs: jobs.clone(),
                        ..Effects::default()
                    },
                })
            })
            .await?;
        Ok(!written.rows.is_empty())
    }
}

/// The enabled installation administrators.
async fn admins(desk: &Desk) -> Result<Vec<UserRow>, DeskError> {
    Ok(desk
        .store
        .users()
        .await?
        .into_iter()
        .filter(|u| u.admin && u.disabled_at.is_none())
        .collect())
}

/// Who an escalation goes to: the case's officer, the organisation's officers and the
/// installation's administrators, each once.
fn escalation_list(
    officer: Option<&UserRow>,
    team: &[(UserRow, OrgRole)],
    admins: &[UserRow],
) -> Vec<UserRow> {
    let mut told: Vec<UserRow> = Vec::new();
    let officers = team
        .iter()
        .filter(|(_, r)| *r == OrgRole::Officer)
        .map(|(u, _)| u);
    for user in officer.into_iter().chain(officers).chain(admins) {
        if !told.iter().any(|t| t.id == user.id) {
            told.push(user.clone());
        }
    }
    told
}
