//! What the team or the reporter asks of a case, and the decision that turns it into events.
//!
//! [`decide`] is the one place a case action is judged: whether the one asking may ask it
//! (the reporter their own follow-ups, the team by its standing on the case), whether its
//! fields hold (a CVSS vector, a decline reason the policy lists, a day in the plausible
//! window, an officer who is one, a reply that says something), and whether the case's state
//! and policy allow it ([`crate::triage::decide_write`]). It reads nothing but its arguments,
//! so the desk can call it again on a fresher log when another write got in first.

use jiff::civil::Date;

use crate::access::{CaseGrant, Standing};
use crate::case::{Channel, Event, Recorded};
use crate::clocks::ClockKind;
use crate::policy::{AcceptWithoutOfficer, Policy};
use crate::severity::Cvss;
use crate::triage::{self, DeclineReason};
use crate::workflow::{self, ApprovalRefused, Member};

#[cfg(test)]
mod tests;

/// A team action on a case, with its values parsed where they entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Ask the reporter for what the report lacks (sent to them).
    RequestInfo {
        message: String,
    },
    Accept,
    Decline {
        reason: DeclineReason,
        duplicate_of: Option<i64>,
        note: Option<String>,
    },
    StartFix,
    ScheduleFix {
        release: Date,
    },
    ReleaseFix {
        on: Date,
    },
    PublishAdvisory {
        on: Date,
    },
    ExploitationObserved {
        on: Date,
    },
    /// The vulnerability's details became public before disclosure.
    Leaked {
        on: Date,
    },
    Close,
    Reopen {
        reason: String,
    },
    /// An internal note; `mentions` are the teammates it names.
    Note {
        body: String,
        mentions: Vec<i64>,
    },
    /// A message to the reporter, with files for them.
    Message {
        body: String,
        files: Vec<File>,
    },
    /// A CVSS vector as typed.
    Severity {
        vector: String,
    },
    /// SSVC's decision points for the case.
    Prioritise {
        points: crate::ssvc::Ssvc,
    },
    AssignOfficer {
        user_id: i64,
    },
    MoveDeadline {
        clock: ClockKind,
        due: Date,
        reason: String,
        /// What the reporter is told of the move; the reason stays with the team.
        reporter_note: Option<String>,
    },
    /// Give a person access to this case (`Some`) or take it away (`None`).
    ChangeAccess {
        user_id: i64,
        grant: Option<CaseGrant>,
    },
    /// The reporter answers, with files (a blank body with files records only the files).
    Reply {
        body: String,
        channel: Channel,
        files: Vec<File>,
    },
    /// The reporter sets the OpenPGP key mail to them is encrypted to (checked where it
    /// entered; the log names its fingerprint).
    SetKey {
        fingerprint: String,
    },
    /// The reporter replaces their secret link.
    ReplaceToken,
    /// Complete a stage of the policy's workflow, with what shows it was done.
    CompleteStage {
        stage: String,
        evidence: Option<String>,
    },
    /// Put a fix up for review (a commit, pull request or private fork branch).
    ProposeFix {
        reference: String,
    },
    /// Merge the fix.
    MergeFix {
        reference: Option<String>,
    },
    /// Move the fix of one release line on.
    UpdateLine {
        line: String,
        update: crate::fixes::LineUpdate,
    },
    /// Propose, approve, decline or pay a bounty.
    Bounty(crate::bounty::BountyCommand),
    /// Approve a gated step as a member of the groups it needs.
    Approve {
        step: String,
        note: Option<String>,
    },
    /// Bring parties (resolved from the registry where the request entered) into the case
    /// under embargo, telling them `summary` and asking for an answer by `reply_by`.
    InviteParties {
        parties: Vec<crate::coordination::Invitee>,
        reply_by: Date,
        summary: String,
    },
    /// Set the embargo's terms and its end (the coordinated release).
    SetEmbargo {
        end: jiff::Timestamp,
        terms: String,
    },
    /// Record the coordinated release agreed with the parties.
    AgreeRelease {
        at: jiff::Timestamp,
        note: Option<String>,
    },
    /// Approve a party's latest statement for publication.
    ApproveStatement {
        party: String,
    },
    /// Write to one party's thread, or (`party` absent) to every party.
    MessageParties {
        party: Option<String>,
        body: String,
        files: Vec<File>,
    },
    /// A party accepts or declines its invitation.
    AnswerInvitation {
        party: String,
        accepted: bool,
        note: Option<String>,
    },
    /// A party's status (by the party, or by the team from what the party wrote).
    State {
        party: String,
        statement: crate::coordination::Statement,
    },
    /// A party writes in its own thread.
    PartyWrite {
        party: String,
        body: String,
        files: Vec<File>,
    },
    /// The reporter says whether the parties may be told who they are.
    Consent {
        share_identity: bool,
    },
    /// Tell the parties who reported the case (with the reporter's consent), or stop.
    ShareReporter {
        share: bool,
    },
}

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// The holder of the case's reporter token.
    Reporter,
    /// A party invited to the case (the command names which).
    Party,
    /// A team member with this standing on the case.
    Team(Standing),
}

/// A file attached to a message, as stored (its bytes are kept with the case under their
/// SHA-256).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct File {
    pub sha256: String,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
}

impl File {
    /// The event recording this file, added by `by` (`reporter` or `team`).
    pub fn added_by(self, by: &str) -> Event {
        Event::AttachmentAdded {
            sha256: self.sha256,
            filename: self.filename,
            content_type: self.content_type,
            size: self.size,
            added_by: by.to_owned(),
        }
    }
}

impl Command {
    /// Who may ask this: the reporter for their follow-ups; for the rest, a team member
    /// managing the case (its officer, its clocks, who may see it) or working it.
    pub fn needs(&self) -> By {
        match self {
            Command::Reply { .. }
            | Command::SetKey { .. }
            | Command::ReplaceToken
            | Command::Consent { .. } => By::Reporter,
            Command::AssignOfficer { .. }
            | Command::MoveDeadline { .. }
            | Command::ChangeAccess { .. } => By::Team(Standing::Manager),
            // The embargo's terms, the release agreed and what becomes public of a party's
            // word are the officer's (one officer per incident, seed 002).
            Command::SetEmbargo { .. }
            | Command::AgreeRelease { .. }
            | Command::ApproveStatement { .. }
            | Command::ShareReporter { .. } => By::Team(Standing::Manager),
            Command::AnswerInvitation { .. } | Command::PartyWrite { .. } => By::Party,
            // Reviewers change nothing else, but their approval is what gates wait for;
            // whether they are in the group a gate names is the decision's to judge.
            Command::Approve { .. } => By::Team(Standing::Reader),
            _ => By::Team(Standing::Worker),
        }
    }

    /// Whether `by` may ask this.
    pub fn allows(&self, by: By) -> bool {
        match (self.needs(), by) {
            (By::Reporter, By::Reporter) | (By::Party, By::Party) => true,
            // A party states its own status; the team may record one it sent by mail.
            (By::Team(_), By::Party) => matches!(self, Command::State { .. }),
            (By::Team(needs), By::Team(has)) => has >= needs,
            _ => false,
        }
    }
}

/// What the decision knows about the actor and the world besides the case's log and policy.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Who asks.
    pub by: By,
    /// Today in the policy's calendar: days given are checked against it.
    pub today: Date,
    /// The user ids of the organisation's security officers.
    pub officers: &'a [i64],
    /// The team member asking, with their role and grant (`None` for the reporter).
    pub member: Option<Member>,
    /// Among the cases the command names, those that are other cases of the same
    /// organisation (looked up by the caller; a case named but absent here is refused).
    pub org_cases: &'a [i64],
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The one asking may not ask this, and why.
    #[error("{why}")]
    Forbidden { why: String },
    /// A field of the command is wrong: which, and why.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The case's state or its policy does not allow the command now.
    #[error("{0}")]
    Conflict(String),
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Refusal {
    Refusal::Invalid {
        field,
        message: message.into(),
    }
}

/// The events `command` records on a case whose log is `log` under `policy`, or why not.
pub fn decide(
    command: Command,
    log: &[Recorded],
    policy: &Policy,
    ctx: &Context<'_>,
) -> Result<Vec<Event>, Refusal> {
    if !command.allows(ctx.by) {
        let why = match command.needs() {
            By::Reporter => "only the case's reporter does this".to_owned(),
            By::Party => "only an invited party does this".to_owned(),
            By::Team(s) => format!("this needs {s:?} standing on the case").to_lowercase(),
        };
        return Err(Refusal::Forbidden { why });
    }
    let events = events_of(command, log, policy, ctx)?;
    for event in &events {
        event
            .validate()
            .map_err(|message| invalid(field_of(event), message))?;
        event.check_dates(ctx.today).map_err(|e| Refusal::Invalid {
            field: given_field(&e.field),
            message: e.to_string(),
        })?;
    }
    triage::decide_write(policy, log, &events).map_err(|e| Refusal::Conflict(e.to_string()))?;
    workflow::check(policy, log, &events).map_err(Refusal::Conflict)?;
    Ok(events)
}

fn events_of(
    command: Command,
    log: &[Recorded],
    policy: &Policy,
    ctx: &Context<'_>,
) -> Result<Vec<Event>, Refusal> {
    let event = match command {
        Command::RequestInfo { message } => Event::InfoRequested { message },
        Command::Accept => return accept(log, policy, ctx),
        Command::Decline {
            reason,
            duplicate_of,
            note,
        } => {
            triage::check_reason(policy, reason).map_err(|e| invalid("reason", e.to_string()))?;
            if let Some(other) = duplicate_of
                && !ctx.org_cases.contains(&other)
            {
                return Err(invalid(
                    "duplicate_of",
                    format!("case {other} is not another case of this organisation"),
                ));
            }
            Event::Declined {
                reason,
                duplicate_of,
                note: note.filter(|n| !n.trim().is_empty()),
            }
        }
        Command::StartFix => Event::FixStarted,
        Command::ScheduleFix { release } => Event::FixScheduled { release },
        Command::ReleaseFix { on } => Event::FixReleased { on },
        Command::PublishAdvisory { on } => Event::AdvisoryPublished { on },
        Command::ExploitationObserved { on } => {
            return Ok(with_break_notice(log, Event::ExploitationObserved { on }));
        }
        Command::Leaked { on } => return Ok(with_break_notice(log, Event::Leaked { on })),
        Command::InviteParties {
            parties,
            reply_by,
            summary,
        } => {
            if reply_by < ctx.today {
                return Err(invalid(
                    "reply_by",
                    format!("reply_by {reply_by} has passed: give the parties a day from today on"),
                ));
            }
            let known = crate::coordination::state(log);
            let again: Vec<&str> = parties
                .iter()
                .filter(|p| known.party(&p.party).is_some())
                .map(|p| p.party.as_str())
                .collect();
            if !again.is_empty() && again.len() == parties.len() {
                return Err(Refusal::Conflict(format!(
                    "already invited: {}",
                    again.join(", ")
                )));
            }
            let parties = parties
                .into_iter()
                .filter(|p| known.party(&p.party).is_none())
                .collect();
            Event::PartiesInvited {
                parties,
                reply_by,
                summary,
            }
        }
        Command::SetEmbargo { end, terms } => {
            crate::plausible::check("end", end_day(end), ctx.today)
                .map_err(|e| invalid("end", e.to_string()))?;
            if end_day(end) < ctx.today {
                return Err(invalid(
                    "end",
                    format!("the embargo's end {end} has passed: give an instant to come"),
                ));
            }
            Event::EmbargoSet { end, terms }
        }
        Command::AgreeRelease { at, note } => {
            crate::plausible::check("at", end_day(at), ctx.today)
                .map_err(|e| invalid("at", e.to_string()))?;
            if crate::coordination::state(log).parties.is_empty() {
                return Err(Refusal::Conflict(
                    "a coordinated release is agreed with parties: invite them first".into(),
                ));
            }
            Event::ReleaseAgreed {
                at,
                note: note.filter(|n| !n.trim().is_empty()),
            }
        }
        Command::ApproveStatement { party } => {
            let state = crate::coordination::state(log);
            let p = invited(&state, &party)?;
            match (&p.statement, p.approved) {
                (None, _) => {
                    return Err(Refusal::Conflict(format!(
                        "{} has given no status yet: nothing to approve",
                        p.invitee.name
                    )));
                }
                (Some(_), true) => {
                    return Err(Refusal::Conflict(format!(
                        "{}'s latest statement is approved already",
                        p.invitee.name
                    )));
                }
                (Some(_), false) => Event::StatementApproved { party },
            }
        }
        Command::MessageParties { party, body, files } => {
            let state = crate::coordination::state(log);
            match &party {
                Some(slug) => {
                    invited(&state, slug)?;
                }
                None if state.parties.is_empty() => {
                    return Err(Refusal::Conflict(
                        "no party is invited to this case yet".into(),
                    ));
                }
                None => {}
            }
            Event::PartyMessage {
                party,
                body,
                from_party: false,
                files,
            }
        }
        Command::AnswerInvitation {
            party,
            accepted,
            note,
        } => {
            invited(&crate::coordination::state(log), &party)?;
            Event::InvitationAnswered {
                party,
                accepted,
                note: note.filter(|n| !n.trim().is_empty()),
            }
        }
        Command::State { party, statement } => {
            invited(&crate::coordination::state(log), &party)?;
            Event::PartyStated {
                party,
                status: statement.status,
                justification: statement.justification,
                statement: statement.statement,
            }
        }
        Command::Consent { share_identity } => Event::ReporterConsented { share_identity },
        Command::ShareReporter { share } => {
            if share && !crate::coordination::state(log).reporter_consents {
                return Err(Refusal::Conflict(
                    "the reporter has not consented to the parties being told who they are: \
                     they choose in their portal"
                        .into(),
                ));
            }
            Event::IdentityShared { share }
        }
        Command::PartyWrite { party, body, files } => {
            invited(&crate::coordination::state(log), &party)?;
            Event::PartyMessage {
                party: Some(party),
                body,
                from_party: true,
                files,
            }
        }
        Command::Close => Event::Closed,
        Command::Reopen { reason } => Event::Reopened { reason },
        Command::Note { body, mentions } => Event::NoteAdded { body, mentions },
        Command::Message { body, files } => {
            let message = Event::ReporterMessage {
                by_team_member: true,
                body,
            };
            return Ok(std::iter::once(message)
                .chain(files.into_iter().map(|f| f.added_by("team")))
                .collect());
        }
        Command::Severity { vector } => {
            let cvss = Cvss::parse(&vector).map_err(|e| invalid("vector", e.to_string()))?;
            Event::SeverityAssessed {
                vector: cvss.to_string(),
            }
        }
        Command::AssignOfficer { user_id } => {
            if !ctx.officers.contains(&user_id) {
                return Err(invalid(
                    "user_id",
                    format!("user {user_id} is not a security officer of this organisation"),
                ));
            }
            Event::OfficerAssigned { user_id }
        }
        Command::MoveDeadline {
            clock,
            due,
            reason,
            reporter_note,
        } => Event::DeadlineOverridden {
            clock,
            due,
            reason,
            reporter_note: reporter_note.filter(|n| !n.trim().is_empty()),
        },
        Command::ChangeAccess {
            grant: Some(CaseGrant::External),
            ..
        } => {
            return Err(invalid(
                "grant",
                "external access is retired: a vendor, distribution or service provider takes \
                 part as an invited party; link their account to the party in the \
                 organisation's registry and invite it to the case",
            ));
        }
        Command::ChangeAccess { user_id, grant } => Event::AccessChanged { user_id, grant },
        Command::Reply {
            body,
            channel,
            files,
        } => {
            if body.trim().is_empty() && files.is_empty() {
                return Err(invalid(
                    "body",
                    "body must not be empty: write a reply or attach a file",
                ));
            }
            let reply = (!body.trim().is_empty()).then_some(Event::ReporterReply { body, channel });
            return Ok(reply
                .into_iter()
                .chain(files.into_iter().map(|f| f.added_by("reporter")))
                .collect());
        }
        Command::SetKey { fingerprint } => Event::ReporterKeySet { fingerprint },
        Command::ReplaceToken => Event::ReporterTokenReplaced,
        Command::CompleteStage { stage, evidence } => {
            let stages = &policy.workflow.stages;
            if !stages.iter().any(|s| s.as_str() == stage) {
                let listed: Vec<&str> = stages.iter().map(|s| s.as_str()).collect();
                return Err(invalid(
                    "stage",
                    if listed.is_empty() {
                        "this policy lists no workflow stages".to_owned()
                    } else {
                        format!(
                            "{stage:?} is not a stage of this policy; its stages are {}",
                            listed.join(", ")
                        )
                    },
                ));
            }
            if let Some(action) = workflow::built_in_action(&stage) {
                return Err(invalid(
                    "stage",
                    format!(
                        "the stage {stage} is completed by the {action} action, which records what the clocks need"
                    ),
                ));
            }
            if let Some(done) = workflow::checklist(policy, log)
                .into_iter()
                .find(|s| s.stage.as_str() == stage)
                .and_then(|s| s.done)
            {
                return Err(Refusal::Conflict(format!(
                    "the stage {stage} was completed at {} already",
                    done.at
                )));
            }
            Event::StageCompleted {
                stage,
                evidence: evidence.filter(|e| !e.trim().is_empty()),
            }
        }
        Command::ProposeFix { reference } => Event::FixProposed { reference },
        Command::Prioritise { points } => Event::SsvcAssessed { points },
        Command::Bounty(command) => {
            use crate::bounty::Refused as R;
            return crate::bounty::decide(policy, log, &member(ctx)?, command).map_err(
                |r| match r {
                    R::Field(field, why) => invalid(field, why),
                    R::NotApprover(why) => Refusal::Forbidden { why },
                    R::Conflict(why) => Refusal::Conflict(why),
                },
            );
        }
        Command::UpdateLine { line, update } => {
            crate::fixes::check(policy, log, &line, &update)
                .map_err(|(field, why)| invalid(field, why))?;
            let follow = crate::fixes::follow_up(policy, log, &line, &update);
            return Ok(std::iter::once(Event::LineUpdated { line, update })
                .chain(follow)
                .collect());
        }
        Command::MergeFix { reference } => Event::FixMerged {
            reference: reference.filter(|r| !r.trim().is_empty()),
        },
        Command::Approve { step, note } => {
            let groups = workflow::approval_groups(policy, log, &member(ctx)?, &step).map_err(
                |e| match e {
                    ApprovalRefused::NotGated { .. } => invalid("step", e.to_string()),
                    ApprovalRefused::NotMember { .. } => Refusal::Forbidden { why: e.to_string() },
                    ApprovalRefused::Author { .. } | ApprovalRefused::Already { .. } => {
                        Refusal::Conflict(e.to_string())
                    }
                },
            )?;
            Event::Approved {
                step,
                groups,
                note: note.filter(|n| !n.trim().is_empty()),
            }
        }
    };
    Ok(vec![event])
}

/// The day (in UTC) of an instant a person gave, for the plausibility window.
fn end_day(at: jiff::Timestamp) -> Date {
    jiff::tz::TimeZone::UTC.to_datetime(at).date()
}

/// The party `slug` of the case, or the refusal naming it.
fn invited<'a>(
    state: &'a crate::coordination::Coordination,
    slug: &str,
) -> Result<&'a crate::coordination::PartyState, Refusal> {
    state
        .party(slug)
        .ok_or_else(|| invalid("party", format!("{slug:?} is not a party of this case")))
}

/// `event` (a leak or exploitation: the embargo broke), and the notice to every party the
/// first time the embargo breaks with parties invited.
fn with_break_notice(log: &[Recorded], event: Event) -> Vec<Event> {
    let state = crate::coordination::state(log);
    let mut events = vec![event];
    if !state.told_of_break && !state.parties.is_empty() {
        events.push(Event::PartiesToldOfBreak {
            parties: state
                .parties
                .iter()
                .map(|p| p.invitee.party.clone())
                .collect(),
        });
    }
    events
}

/// The team member asking: approvals and bounty decisions are a named person's.
fn member(ctx: &Context<'_>) -> Result<Member, Refusal> {
    ctx.member.ok_or_else(|| Refusal::Forbidden {
        why: "only a signed-in team member does this".into(),
    })
}

/// Accepting a case; where one officer manages each case (Kamailio, seed 002) and none is
/// assigned yet, the accepting officer becomes its officer, or the policy refuses.
fn accept(log: &[Recorded], policy: &Policy, ctx: &Context<'_>) -> Result<Vec<Event>, Refusal> {
    if !policy.roles.officer_per_case || crate::case::summary(log).officer.is_some() {
        return Ok(vec![Event::Accepted]);
    }
    let acting_officer = ctx
        .member
        .map(|m| m.user_id)
        .filter(|id| ctx.officers.contains(id));
    match (policy.roles.accept_without_officer, acting_officer) {
        (AcceptWithoutOfficer::AssignActing, Some(user_id)) => {
            Ok(vec![Event::OfficerAssigned { user_id }, Event::Accepted])
        }
        (AcceptWithoutOfficer::AssignActing, None) => Err(Refusal::Conflict(
            "one security officer manages each case under this policy: an officer accepts it (and becomes its officer), or assign its officer first".into(),
        )),
        (AcceptWithoutOfficer::Refuse, _) => Err(Refusal::Conflict(
            "one security officer manages each case under this policy: assign its officer before accepting it".into(),
        )),
    }
}

/// The command field an event's validation error is about.
fn field_of(event: &Event) -> &'static str {
    match event {
        Event::NoteAdded { .. } | Event::ReporterMessage { .. } => "body",
        Event::InfoRequested { .. } => "message",
        Event::Reopened { .. } | Event::DeadlineOverridden { .. } => "reason",
        Event::Declined { .. } => "duplicate_of",
        Event::SeverityAssessed { .. } => "vector",
        Event::FixProposed { .. } => "reference",
        Event::Approved { .. } => "step",
        Event::PartiesInvited { parties, .. } if parties.is_empty() => "parties",
        Event::PartiesInvited { .. } => "summary",
        Event::PartyMessage { .. } => "body",
        Event::EmbargoSet { .. } => "terms",
        _ => "action",
    }
}

/// The command field named by a date check (the event's own field names).
fn given_field(field: &str) -> &'static str {
    match field {
        "release" => "release",
        "on" => "on",
        "due" => "due",
        "reply_by" => "reply_by",
        _ => "date",
    }
}
