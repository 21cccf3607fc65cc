//! Bounties (Sangoma, seed 000 and FreePBX, seed 001): "Sangoma at its full discretion may
//! compensate reporters of a fully verified vulnerability that has not been previously
//! patched. To be eligible for bounty consideration the reporter MUST follow the security
//! policy." FreePBX adds: "The bounty can be paid in Bitcoin (or equivalent crypto-currency)
//! if the security researcher wishes to remain anonymous."
//!
//! [`eligibility`] reads what the case shows (how it was reported, verified, a duplicate or
//! not, the version's support); whether the reporter followed the policy is the team's
//! judgment, attested when it proposes an award. An award is proposed, approved by a member
//! of the policy's approvers other than the proposer, and paid by one of the policy's
//! methods; the reporter is told of the award and the payment.

use jiff::civil::Date;

use crate::case::{Channel, Event, Recorded, State};
use crate::policy::Policy;
use crate::triage::DeclineReason;
use crate::versions::Support;

/// One condition of eligibility and whether the case meets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What is asked, in words.
    pub condition: &'static str,
    /// `None` while it is the team's to judge.
    pub met: Option<bool>,
    /// Why, from the case.
    pub why: String,
}

/// Where the case stands for a bounty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligibility {
    pub checks: Vec<Check>,
    /// The award is at the organisation's discretion, whatever the checks say.
    pub discretionary: bool,
    pub stage: Stage,
}

impl Eligibility {
    /// No condition is known to fail.
    pub fn possible(&self) -> bool {
        self.checks.iter().all(|c| c.met != Some(false))
    }
}

/// How far the award went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    None,
    Proposed {
        amount: String,
        by: String,
    },
    Approved {
        amount: String,
    },
    Declined {
        reason: String,
    },
    Paid {
        amount: String,
        method: String,
        on: Date,
    },
}

/// The case's eligibility under `policy`, or `None` when the policy offers no bounty.
pub fn eligibility(policy: &Policy, log: &[Recorded]) -> Option<Eligibility> {
    let bounty = policy.bounty.as_ref()?;
    if crate::case::is_outbound(log) {
        // Our own report to a vendor: any bounty is the vendor's to give.
        return None;
    }
    let support = crate::versions::reported_support(policy, log).map(|(_, s)| s);
    let mut checks = Vec::new();
    let channel = log.iter().find_map(|r| match &r.event {
        Event::Reported { channel, .. } => Some(*channel),
        _ => None,
    });
    checks.push(Check {
        condition: "reported privately, through the policy's channels",
        met: Some(matches!(
            channel,
            Some(Channel::Web | Channel::Api | Channel::Email)
        )),
        why: match channel {
            Some(Channel::Outbound) => "our own report to a vendor: no bounty of ours".to_owned(),
            Some(c) => format!("reported through the {}", c.words()),
            None => "no report in the case".to_owned(),
        },
    });
    let state = crate::triage::fold(log);
    let verified = log.iter().any(|r| matches!(r.event, Event::Accepted))
        && !matches!(state, State::Declined | State::New | State::NeedsInfo);
    checks.push(Check {
        condition: "a fully verified vulnerability",
        met: Some(verified),
        why: if verified {
            "accepted as a vulnerability".to_owned()
        } else {
            format!("the case is {}: not verified", state.as_str())
        },
    });
    let duplicate = log.iter().rev().find_map(|r| match &r.event {
        Event::Declined {
            reason: DeclineReason::Duplicate,
            duplicate_of,
            ..
        } => Some(*duplicate_of),
        Event::Reopened { .. } => Some(None),
        _ => None,
    });
    checks.push(Check {
        condition: "not previously reported",
        met: Some(!matches!(duplicate, Some(Some(_)))),
        why: match duplicate {
            Some(Some(other)) => format!("a duplicate of case {other}"),
            _ => "no earlier report of it is recorded".to_owned(),
        },
    });
    let (met, why) = match &support {
        Some(Support::Supported { range }) => {
            (Some(true), format!("the version is supported ({range})"))
        }
        Some(Support::Unsupported { range }) => (
            Some(false),
            format!(
                "the version is out of support{}: the issue may already be patched in a supported one",
                range
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
        ),
        Some(Support::Unknown { why }) => (None, format!("the team judges it: {why}")),
        None => (
            None,
            "the team judges it: the report names no version".to_owned(),
        ),
    };
    checks.push(Check {
        condition: "not previously patched (a supported version)",
        met,
        why,
    });
    if bounty.requires_policy_compliance {
        let attested = log
            .iter()
            .any(|r| matches!(r.event, Event::BountyProposed { .. }));
        checks.push(Check {
            condition: "the reporter followed the security policy",
            met: attested.then_some(true),
            why: if attested {
                "attested by the team with the award's proposal".to_owned()
            } else {
                "the team attests it when proposing an award".to_owned()
            },
        });
    }
    Some(Eligibility {
        checks,
        discretionary: bounty.discretionary,
        stage: stage(log),
    })
}

/// How far the award went, from the log.
pub fn stage(log: &[Recorded]) -> Stage {
    let mut s = Stage::None;
    for r in log {
        s = match (&r.event, s) {
            (Event::BountyProposed { amount, .. }, _) => Stage::Proposed {
                amount: amount.clone(),
                by: r.actor.clone(),
            },
            (Event::BountyApproved { .. }, Stage::Proposed { amount, .. }) => {
                Stage::Approved { amount }
            }
            (Event::BountyDeclined { reason }, _) => Stage::Declined {
                reason: reason.clone(),
            },
            (Event::BountyPaid { method, on, .. }, Stage::Approved { amount }) => Stage::Paid {
                amount,
                method: method.clone(),
                on: *on,
            },
            (_, s) => s,
        };
    }
    s
}

/// What the team asks of a bounty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BountyCommand {
    /// Propose an award, attesting the reporter followed the policy.
    Propose {
        amount: String,
        policy_followed: bool,
        note: Option<String>,
    },
    /// Approve the proposed award (an approver other than the proposer).
    Approve { note: Option<String> },
    /// Decide against an award.
    Decline { reason: String },
    /// Record the payment.
    Pay {
        method: String,
        address: Option<String>,
        reference: Option<String>,
        on: Date,
    },
}

/// Why a bounty command was refused: `(field, why)` for a wrong field, or a conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    Field(&'static str, String),
    NotApprover(String),
    Conflict(String),
}

/// The events `command` records, by `member`, on a case with `log`.
pub fn decide(
    policy: &Policy,
    log: &[Recorded],
    member: &crate::workflow::Member,
    command: BountyCommand,
) -> Result<Vec<Event>, Refused> {
    let eligibility = eligibility(policy, log);
    let (Some(bounty), Some(eligibility)) = (policy.bounty.as_ref(), eligibility.as_ref()) else {
        return Err(Refused::Conflict(format!(
            "{}'s policy offers no bounty for this case",
            policy.organisation.name
        )));
    };
    let conflict = |why: String| Err(Refused::Conflict(why));
    match (command, &eligibility.stage) {
        (
            BountyCommand::Propose { .. },
            Stage::Proposed { .. } | Stage::Approved { .. } | Stage::Paid { .. },
        ) => conflict("an award is already proposed for this case".into()),
        (
            BountyCommand::Propose {
                amount,
                policy_followed,
                note,
            },
            _,
        ) => {
            if amount.trim().is_empty() || amount.chars().count() > 100 {
                return Err(Refused::Field(
                    "amount",
                    "an award names its amount in at most 100 characters, such as \"500 USD\""
                        .into(),
                ));
            }
            if bounty.requires_policy_compliance && !policy_followed {
                return Err(Refused::Field(
                    "policy_followed",
                    "the policy pays only reporters who followed it: attest that this one did"
                        .into(),
                ));
            }
            if let Some(failed) = eligibility.checks.iter().find(|c| c.met == Some(false)) {
                return conflict(format!(
                    "not eligible: {} does not hold ({})",
                    failed.condition, failed.why
                ));
            }
            Ok(vec![Event::BountyProposed { amount, note }])
        }
        (BountyCommand::Approve { note }, Stage::Proposed { by, amount }) => {
            approver(policy, member)?;
            if *by == crate::actor::Actor::User(member.user_id).to_string() {
                return Err(Refused::NotApprover(
                    "you proposed this award: another approver approves it".into(),
                ));
            }
            Ok(vec![
                Event::BountyApproved { note },
                told(Telling::Award { amount }, policy),
            ])
        }
        (BountyCommand::Approve { .. }, _) => {
            conflict("there is no proposed award to approve".into())
        }
        (BountyCommand::Decline { .. }, Stage::Paid { .. }) => {
            conflict("the award was paid already".into())
        }
        (BountyCommand::Decline { reason }, _) => {
            approver(policy, member)?;
            if reason.trim().is_empty() {
                return Err(Refused::Field(
                    "reason",
                    "say why no bounty is awarded".into(),
                ));
            }
            Ok(vec![Event::BountyDeclined { reason }])
        }
        (
            BountyCommand::Pay {
                method,
                address,
                reference,
                on,
            },
            Stage::Approved { amount },
        ) => {
            if !bounty.payout_methods.is_empty() && !bounty.payout_methods.contains(&method) {
                return Err(Refused::Field(
                    "method",
                    format!(
                        "{method:?} is not a payout method of this policy; its methods are {}",
                        bounty.payout_methods.join(", ")
                    ),
                ));
            }
            if address.as_deref().is_some_and(|a| a.chars().count() > 200) {
                return Err(Refused::Field(
                    "address",
                    "an address is at most 200 characters".into(),
                ));
            }
            if is_crypto(&method) && address.as_deref().is_none_or(|a| a.trim().is_empty()) {
                return Err(Refused::Field(
                    "address",
                    "a crypto-currency payment records the address paid to".into(),
                ));
            }
            let message = told(
                Telling::Payment {
                    amount,
                    method: &method,
                    on,
                },
                policy,
            );
            Ok(vec![
                Event::BountyPaid {
                    method,
                    address,
                    reference,
                    on,
                },
                message,
            ])
        }
        (BountyCommand::Pay { .. }, Stage::Paid { .. }) => {
            conflict("the award was paid already".into())
        }
        (BountyCommand::Pay { .. }, _) => {
            conflict("only an approved award is paid: approve it first".into())
        }
    }
}

/// What the reporter is told.
enum Telling<'a> {
    Award {
        amount: &'a str,
    },
    Payment {
        amount: &'a str,
        method: &'a str,
        on: Date,
    },
}

/// The message to the reporter (in the portal, and by mail) about an award or a payment.
fn told(what: Telling<'_>, policy: &Policy) -> Event {
    let org = &policy.organisation.name;
    let body = match what {
        Telling::Award { amount } => {
            let methods = policy
                .bounty
                .as_ref()
                .map(|b| b.payout_methods.clone())
                .unwrap_or_default();
            let how = if methods.is_empty() {
                "Reply to this message to arrange the payment.".to_owned()
            } else {
                let anonymous = if methods.iter().any(|m| is_crypto(m)) {
                    " To stay anonymous, ask to be paid in crypto-currency and send the address."
                } else {
                    ""
                };
                format!(
                    "Reply to this message to say how you want to be paid ({}).{anonymous}",
                    methods.join(" or ")
                )
            };
            format!("{org} awards you a bounty of {amount} for this report. Thank you. {how}")
        }
        Telling::Payment { amount, method, on } => {
            format!("{org} paid your bounty of {amount} by {method} on {on}.")
        }
    };
    Event::ReporterMessage {
        by_team_member: true,
        body,
    }
}

/// The message events `command`'s decision tells the reporter, for the mail that goes with
/// them: the desk queues the mail, the log keeps the message.
pub fn reporter_message(events: &[Event]) -> Option<&str> {
    events.iter().find_map(|e| match e {
        Event::ReporterMessage { body, .. } => Some(body.as_str()),
        _ => None,
    })
}

/// Whether a payout method pays to a crypto-currency address (FreePBX's anonymous reporters).
pub fn is_crypto(method: &str) -> bool {
    matches!(
        method,
        "bitcoin" | "btc" | "ethereum" | "eth" | "monero" | "xmr" | "crypto" | "crypto-currency"
    )
}

fn approver(policy: &Policy, member: &crate::workflow::Member) -> Result<(), Refused> {
    let group = policy
        .bounty
        .as_ref()
        .and_then(|b| b.approvers.as_deref())
        .unwrap_or("officers");
    if crate::workflow::in_group(policy, member, group) {
        Ok(())
    } else {
        Err(Refused::NotApprover(format!(
            "only members of {group} decide on bounties under this policy"
        )))
    }
}

#[cfg(test)]
mod tests;
