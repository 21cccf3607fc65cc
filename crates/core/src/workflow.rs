//! The policy's process made binding: the stages a case goes through, kept as a checklist
//! of who completed each and with what evidence, and the gates that refuse a step until
//! its condition holds (Kamailio, seed 002: a patch is "NOT committed directly without
//! clarification with the security team"; Signalen, seed 004: the patch is "reviewed and
//! tested in a private fork" and service providers are told before the release).
//!
//! A step is what an event does: completing a stage of `[workflow] stages`, or one of the
//! built-in steps ([`BUILT_IN_STEPS`]) that the team's actions take (merging the fix,
//! releasing it, publishing the advisory). A gate names a step and a
//! [`Condition`]; [`check`] is asked before every write, on the log the write follows.

use std::collections::BTreeSet;
use std::fmt;

use jiff::Timestamp;
use serde::Deserialize;

use crate::access::{CaseGrant, OrgRole};
use crate::actor::Actor;
use crate::case::{Event, Recorded};
use crate::policy::{Gate, Policy, Slug};

#[cfg(test)]
mod tests;

/// Steps a gate can guard without the policy listing them as stages, with the action that
/// takes each.
pub const BUILT_IN_STEPS: &[(&str, &str)] = &[
    ("merge-fix", "merge-fix"),
    ("release", "release-fix"),
    ("publish-advisory", "publish-advisory"),
];

/// Groups every policy has without defining them: the organisation's officers, its whole
/// team (officers and members), and its reviewers.
const BUILT_IN_GROUPS: &[(&str, &[OrgRole])] = &[
    ("officers", &[OrgRole::Officer]),
    ("team", &[OrgRole::Officer, OrgRole::Member]),
    ("reviewers", &[OrgRole::Reviewer]),
];

/// What a gate requires before its step.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Condition {
    /// `approval:<group>`: members of the group cleared the step.
    Approval(Slug),
    /// `review:<group>`: members of the group other than the work's authors approved it
    /// (for `merge-fix`, whoever proposed a fix cannot review it).
    Review(Slug),
    /// `stage:<stage>`: that stage of the checklist is complete (Signalen's
    /// `notify-providers` before its release).
    Stage(Slug),
    /// `coordinated:<kind>`: parties of that kind were invited to the case under embargo
    /// and a coordinated release was agreed (Signalen, seed 004, step 7: "known service
    /// providers are contacted ... and coordinate the release date").
    Coordinated(crate::coordination::PartyKind),
}

impl TryFrom<String> for Condition {
    type Error = String;

    fn try_from(text: String) -> Result<Condition, String> {
        let expected = "expected approval:<group>, review:<group>, stage:<stage> or coordinated:<kind of party>";
        let Some((kind, name)) = text.split_once(':') else {
            return Err(format!("{text:?} is not a condition; {expected}"));
        };
        let name = Slug::parse(name.trim())?;
        match kind.trim() {
            "approval" => Ok(Condition::Approval(name)),
            "review" => Ok(Condition::Review(name)),
            "stage" => Ok(Condition::Stage(name)),
            "coordinated" => {
                let kind = name.as_str();
                crate::coordination::PartyKind::parse(kind)
                    .or_else(|| crate::coordination::PartyKind::parse(kind.strip_suffix('s')?))
                    .map(Condition::Coordinated)
                    .ok_or_else(|| {
                        format!(
                            "{kind:?} is not a kind of party; kinds are vendor, distribution, service-provider"
                        )
                    })
            }
            other => Err(format!("{other:?} is not a kind of condition; {expected}")),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Approval(g) => write!(f, "approval:{g}"),
            Condition::Review(g) => write!(f, "review:{g}"),
            Condition::Stage(s) => write!(f, "stage:{s}"),
            Condition::Coordinated(kind) => write!(f, "coordinated:{kind}"),
        }
    }
}

impl Condition {
    /// The group whose members approve, for approvals and reviews.
    pub fn group(&self) -> Option<&Slug> {
        match self {
            Condition::Approval(g) | Condition::Review(g) => Some(g),
            Condition::Stage(_) | Condition::Coordinated(_) => None,
        }
    }
}

/// A person acting on a case, as far as groups go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub user_id: i64,
    /// Their role in the case's organisation.
    pub role: Option<OrgRole>,
    /// What they were added to this case as, if they were.
    pub grant: Option<CaseGrant>,
}

/// The roles a group of the policy stands for: `[roles.groups]`, else a built-in group,
/// else the slug of `roles.reviewer_group` (Signalen's "technical steering group" is
/// `technical-steering-group`), which is the reviewers.
pub fn group_roles<'a>(policy: &'a Policy, group: &str) -> Option<&'a [OrgRole]> {
    if let Some((_, roles)) = policy
        .roles
        .groups
        .iter()
        .find(|(g, _)| g.as_str() == group)
    {
        return Some(roles);
    }
    if let Some((_, roles)) = BUILT_IN_GROUPS.iter().find(|(g, _)| *g == group) {
        return Some(roles);
    }
    policy
        .roles
        .reviewer_group
        .as_deref()
        .is_some_and(|name| slugify(name) == group)
        .then_some(&[OrgRole::Reviewer][..])
}

/// The names of the groups a policy can use, for error messages.
pub fn group_names(policy: &Policy) -> Vec<String> {
    let mut names: Vec<String> = policy.roles.groups.keys().map(Slug::to_string).collect();
    names.extend(BUILT_IN_GROUPS.iter().map(|(g, _)| (*g).to_owned()));
    names.extend(policy.roles.reviewer_group.as_deref().map(slugify));
    names
}

fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_owned()
}

/// Whether `member` belongs to `group` under `policy`: by their role in the organisation,
/// or by what they were added to the case as (a case reviewer counts as a reviewer).
pub fn in_group(policy: &Policy, member: &Member, group: &str) -> bool {
    let Some(roles) = group_roles(policy, group) else {
        return false;
    };
    let by_grant = match member.grant {
        Some(CaseGrant::Member) => Some(OrgRole::Member),
        Some(CaseGrant::Reviewer) => Some(OrgRole::Reviewer),
        Some(CaseGrant::External) | None => None,
    };
    [member.role, by_grant]
        .into_iter()
        .flatten()
        .any(|r| roles.contains(&r))
}

/// The step `event` takes, for the gates that guard it.
pub fn step_of(event: &Event) -> Option<&str> {
    match event {
        Event::StageCompleted { stage, .. } => Some(stage),
        Event::FixMerged { .. } => Some("merge-fix"),
        Event::FixReleased { .. } => Some("release"),
        Event::AdvisoryPublished { .. } => Some("publish-advisory"),
        _ => None,
    }
}

/// The action that takes a built-in step, when `step` is one.
pub fn built_in_action(step: &str) -> Option<&'static str> {
    BUILT_IN_STEPS
        .iter()
        .find(|(s, _)| *s == step)
        .map(|(_, action)| *action)
}

/// A step taken: when, by whom, with what evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub at: Timestamp,
    pub actor: Actor,
    pub evidence: Option<String>,
}

/// One stage of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageStatus {
    pub stage: Slug,
    /// The first time the stage's step was taken, if it was.
    pub done: Option<Done>,
    /// The action that completes it when it is a built-in step (`release-fix` for
    /// `release`); otherwise the stage is completed as such.
    pub action: Option<&'static str>,
}

/// The policy's stages with who completed each.
pub fn checklist(policy: &Policy, log: &[Recorded]) -> Vec<StageStatus> {
    policy
        .workflow
        .stages
        .iter()
        .map(|stage| StageStatus {
            stage: stage.clone(),
            done: taken(log, stage.as_str()),
            action: built_in_action(stage.as_str()),
        })
        .collect()
}

fn taken(log: &[Recorded], step: &str) -> Option<Done> {
    log.iter().find_map(|r| {
        (step_of(&r.event) == Some(step)).then(|| Done {
            at: r.at,
            actor: Actor::parse(&r.actor),
            evidence: evidence(&r.event),
        })
    })
}

fn evidence(event: &Event) -> Option<String> {
    match event {
        Event::StageCompleted { evidence, .. } => evidence.clone(),
        Event::FixMerged { reference } => reference.clone(),
        Event::FixReleased { on } => Some(format!("released on {on}")),
        Event::AdvisoryPublished { on } => Some(format!("published on {on}")),
        _ => None,
    }
}

/// Who may not review `step` because they wrote what it is about: for `merge-fix`, the
/// people who proposed a fix.
pub fn authors(log: &[Recorded], step: &str) -> BTreeSet<i64> {
    if step != "merge-fix" {
        return BTreeSet::new();
    }
    log.iter()
        .filter(|r| matches!(r.event, Event::FixProposed { .. }))
        .filter_map(|r| Actor::parse(&r.actor).user_id())
        .collect()
}

/// Where what counts for `step` starts in `log`: for `merge-fix`, after the latest proposed
/// fix (a review is stale once the change it read has changed, and that change is not yet
/// merged); for other steps, the whole log.
fn since_latest_fix(log: &[Recorded], step: &str) -> usize {
    if step == "merge-fix" {
        log.iter()
            .rposition(|r| matches!(r.event, Event::FixProposed { .. }))
            .map_or(0, |i| i + 1)
    } else {
        0
    }
}

/// The approvals of `step` that still stand: by person, the groups they approved as.
/// Approvals of `merge-fix` given before the latest proposed fix are stale.
pub fn approvals(log: &[Recorded], step: &str) -> Vec<(i64, Vec<String>)> {
    let since = since_latest_fix(log, step);
    let mut standing: Vec<(i64, Vec<String>)> = Vec::new();
    for r in &log[since..] {
        if let Event::Approved {
            step: s, groups, ..
        } = &r.event
            && s == step
            && let Some(user) = Actor::parse(&r.actor).user_id()
        {
            standing.retain(|(u, _)| *u != user);
            standing.push((user, groups.clone()));
        }
    }
    standing
}

/// A gate and whether it holds on a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateStatus<'a> {
    pub gate: &'a Gate,
    /// For approvals and reviews, the people whose approval counts.
    pub approved_by: Vec<i64>,
    /// What is still missing, in words; `None` when the gate holds.
    pub missing: Option<String>,
}

impl GateStatus<'_> {
    pub fn holds(&self) -> bool {
        self.missing.is_none()
    }
}

/// Every gate of the policy, judged on `log`.
pub fn gates<'a>(policy: &'a Policy, log: &[Recorded]) -> Vec<GateStatus<'a>> {
    policy
        .workflow
        .gates
        .iter()
        .map(|gate| judge(gate, log))
        .collect()
}

fn judge<'a>(gate: &'a Gate, log: &[Recorded]) -> GateStatus<'a> {
    let step = gate.before.as_str();
    judge_on(gate, log, approvals(log, step), &authors(log, step))
}

/// `gate` judged with `approvals` standing for its step and `authors` not counted as its
/// reviewers; its other conditions on the case's `log`.
fn judge_on<'a>(
    gate: &'a Gate,
    log: &[Recorded],
    approvals: Vec<(i64, Vec<String>)>,
    authors: &BTreeSet<i64>,
) -> GateStatus<'a> {
    match &gate.require {
        Condition::Approval(group) | Condition::Review(group) => {
            let excluded = match gate.require {
                Condition::Review(_) => authors.clone(),
                _ => BTreeSet::new(),
            };
            let approved_by: Vec<i64> = approvals
                .into_iter()
                .filter(|(user, groups)| {
                    !excluded.contains(user) && groups.iter().any(|g| g == group.as_str())
                })
                .map(|(user, _)| user)
                .collect();
            let have = u32::try_from(approved_by.len()).unwrap_or(u32::MAX);
            let missing = (have < gate.approvals).then(|| {
                let what = match gate.require {
                    Condition::Review(_) => "review",
                    _ => "approval",
                };
                let others = match (excluded.is_empty(), gate.before.as_str()) {
                    (true, _) => "",
                    (false, "merge-fix") => " other than who proposed the fix",
                    (false, _) => " other than who wrote it",
                };
                format!(
                    "{what} by {} {}of {group}{others} ({have} so far)",
                    gate.approvals,
                    if gate.approvals == 1 {
                        "member "
                    } else {
                        "members "
                    },
                )
            });
            GateStatus {
                gate,
                approved_by,
                missing,
            }
        }
        Condition::Stage(stage) => GateStatus {
            gate,
            approved_by: Vec::new(),
            missing: taken(log, stage.as_str())
                .is_none()
                .then(|| format!("the stage {stage} completed")),
        },
        Condition::Coordinated(kind) => {
            let c = crate::coordination::state(log);
            let missing = if !c.parties.iter().any(|p| p.invitee.kind == *kind) {
                Some(format!("{} invited under embargo", kind.plural()))
            } else if c.agreed.is_none() {
                Some(format!(
                    "a coordinated release agreed with the {}",
                    kind.plural()
                ))
            } else {
                None
            };
            GateStatus {
                gate,
                approved_by: Vec::new(),
                missing,
            }
        }
    }
}

/// Refuses `events` when one takes a step whose gate does not hold on `log`, naming what
/// is missing; a step taken before stays taken (a second release of a fix is not
/// gated again), except a merge: a newly proposed fix is merged only with its own clearance.
pub fn check(policy: &Policy, log: &[Recorded], events: &[Event]) -> Result<(), String> {
    for event in events {
        let Some(step) = step_of(event) else {
            continue;
        };
        if taken(&log[since_latest_fix(log, step)..], step).is_some() {
            continue;
        }
        let missing: Vec<String> = policy
            .workflow
            .gates
            .iter()
            .filter(|g| g.before.as_str() == step)
            .filter_map(|g| judge(g, log).missing)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "{step} is gated by this policy: it needs {} first",
                missing.join(", and ")
            ));
        }
    }
    Ok(())
}

/// Whether an advisory covering the cases with `logs` may be published: the gates before
/// `publish-advisory` that ask for approvals or reviews are judged on the approvals of the
/// advisory's current draft (`approvals`, by person; the people who wrote the draft,
/// `authors`, do not review it), the others on each case. What is missing, in words.
pub fn advisory_clearance(
    policy: &Policy,
    logs: &[&[Recorded]],
    approvals: &[(i64, Vec<String>)],
    authors: &BTreeSet<i64>,
) -> Result<(), String> {
    let mut missing: Vec<String> = Vec::new();
    for gate in policy
        .workflow
        .gates
        .iter()
        .filter(|g| g.before.as_str() == "publish-advisory")
    {
        for log in logs {
            if let Some(m) = judge_on(gate, log, approvals.to_vec(), authors).missing
                && !missing.contains(&m)
            {
                missing.push(m);
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "publish-advisory is gated by this policy: it needs {} first",
            missing.join(", and ")
        ))
    }
}

/// The groups `member` approves an advisory's draft as: those of the gates before
/// `publish-advisory` that they belong to, save reviews of a draft they wrote.
pub fn advisory_approval_groups(
    policy: &Policy,
    member: &Member,
    wrote_it: bool,
) -> Result<Vec<String>, ApprovalRefused> {
    member_groups(policy, member, "publish-advisory", wrote_it)
}

/// The groups of the gates before `step` that ask for approvals and that `member` belongs
/// to, save reviews when they are an `author` of what the step is about.
fn member_groups(
    policy: &Policy,
    member: &Member,
    step: &str,
    author: bool,
) -> Result<Vec<String>, ApprovalRefused> {
    let gated: Vec<&Gate> = policy
        .workflow
        .gates
        .iter()
        .filter(|g| g.before.as_str() == step && g.require.group().is_some())
        .collect();
    if gated.is_empty() {
        return Err(not_gated(policy, step));
    }
    let mut groups: Vec<String> = Vec::new();
    let mut refused_as_author = false;
    for gate in gated {
        let Some(group) = gate.require.group() else {
            continue;
        };
        if !in_group(policy, member, group.as_str()) {
            continue;
        }
        if author && matches!(gate.require, Condition::Review(_)) {
            refused_as_author = true;
            continue;
        }
        if !groups.iter().any(|g| g == group.as_str()) {
            groups.push(group.to_string());
        }
    }
    if groups.is_empty() {
        return Err(if refused_as_author {
            ApprovalRefused::Author {
                step: step.to_owned(),
            }
        } else {
            ApprovalRefused::NotMember {
                step: step.to_owned(),
            }
        });
    }
    Ok(groups)
}

fn not_gated(policy: &Policy, step: &str) -> ApprovalRefused {
    let steps: BTreeSet<&str> = policy
        .workflow
        .gates
        .iter()
        .filter(|g| g.require.group().is_some())
        .map(|g| g.before.as_str())
        .collect();
    let steps = if steps.is_empty() {
        "none".to_owned()
    } else {
        steps.into_iter().collect::<Vec<_>>().join(", ")
    };
    ApprovalRefused::NotGated {
        step: step.to_owned(),
        steps,
    }
}

/// The approval `member` may give `step`: the groups they approve as, or why they cannot.
pub fn approval_groups(
    policy: &Policy,
    log: &[Recorded],
    member: &Member,
    step: &str,
) -> Result<Vec<String>, ApprovalRefused> {
    let author = authors(log, step).contains(&member.user_id);
    let groups = member_groups(policy, member, step, author)?;
    let already = approvals(log, step)
        .into_iter()
        .any(|(u, g)| u == member.user_id && groups.iter().all(|x| g.contains(x)));
    if already {
        return Err(ApprovalRefused::Already {
            step: step.to_owned(),
        });
    }
    Ok(groups)
}

/// Why an approval was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalRefused {
    #[error("nothing in this policy needs approval before {step}; approvals are for: {steps}")]
    NotGated { step: String, steps: String },
    #[error("you are not in a group whose approval {step} needs")]
    NotMember { step: String },
    #[error(
        "you wrote what {step} is about (the fix, or the advisory's text), so your review does not count: another member of the group reviews it"
    )]
    Author { step: String },
    #[error("you have already approved {step}")]
    Already { step: String },
}
