//! A case is an append-only log of events; its state and its clocks' facts are
//! derived from that log, never stored as the truth.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::clocks::{ClockKind, Facts, FixSchedule, Override, Reason};
use crate::triage::DeclineReason;

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    New,
    NeedsInfo,
    Accepted,
    Declined,
    Fixing,
    Fixed,
    Disclosed,
    Closed,
}

impl State {
    /// Every state, in the order a case usually goes through them.
    pub const ALL: [State; 8] = [
        State::New,
        State::NeedsInfo,
        State::Accepted,
        State::Declined,
        State::Fixing,
        State::Fixed,
        State::Disclosed,
        State::Closed,
    ];

    /// The state named `text` (its [`State::as_str`]).
    pub fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the team still owes the case work: it is neither declined, disclosed nor
    /// closed. The dashboard shows these by default and reminders run for them.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            State::New | State::NeedsInfo | State::Accepted | State::Fixing | State::Fixed
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::NeedsInfo => "needs-info",
            State::Accepted => "accepted",
            State::Declined => "declined",
            State::Fixing => "fixing",
            State::Fixed => "fixed",
            State::Disclosed => "disclosed",
            State::Closed => "closed",
        }
    }
}

/// Who may read an event, from the narrowest circle outwards; each circle also reads
/// everything a wider one does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Audience {
    /// The people working the case: its team members, officers and admins.
    Workers,
    /// Everyone with access to the case: also reviewers and external parties.
    Readers,
    /// Also the reporter, in the portal and the reporter API.
    Reporter,
}

impl Audience {
    /// The widest audience a viewer of this standing belongs to.
    pub fn of(standing: crate::access::Standing) -> Audience {
        match standing {
            crate::access::Standing::Reader => Audience::Readers,
            crate::access::Standing::Worker | crate::access::Standing::Manager => Audience::Workers,
        }
    }

    /// Whether a viewer in this audience reads something meant for `of`.
    pub fn reads(self, of: Audience) -> bool {
        self <= of
    }
}

/// How a report or a reply reached the desk; stored in its event as `web`, `api` or
/// `email`, the names policies list in `intake.channels`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The report form and the reporter's portal.
    Web,
    /// The JSON API.
    Api,
    /// Mail, by pipe from an MTA or polled over IMAP.
    Email,
    /// Not a report to us: our own report to a third-party vendor (an outbound case), whose
    /// `reporter_contact` is the vendor's address.
    Outbound,
}

impl Channel {
    /// The name policies use for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Api => "api",
            Channel::Email => "email",
            Channel::Outbound => "outbound",
        }
    }

    /// How people call it in a sentence ("does not take reports through the API").
    pub fn words(self) -> &'static str {
        match self {
            Channel::Web => "report form",
            Channel::Api => "API",
            Channel::Email => "mail",
            Channel::Outbound => "outbound report to a vendor",
        }
    }
}

/// What can happen in a case. The serde tag is the event kind stored beside the payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    Reported {
        product: String,
        title: String,
        description: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reporter_contact: Option<String>,
        channel: Channel,
        /// Answers to the policy's `[[intake.field]]`s, by field id.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        fields: BTreeMap<String, String>,
        /// The reporter's preferred language (BCP 47), when they gave one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
    },
    /// The automatic receipt was queued for delivery.
    ReceiptSent,
    /// A message the reporter can read; `by_team_member` is false for automated mail.
    ReporterMessage {
        by_team_member: bool,
        body: String,
    },
    /// The reporter wrote to the team (portal reply or e-mail).
    ReporterReply {
        body: String,
        channel: Channel,
    },
    /// A file joined the case; its bytes are stored with the case under their SHA-256.
    AttachmentAdded {
        sha256: String,
        filename: String,
        content_type: String,
        size: u64,
        /// `reporter`, `team` (for the reporter, with a message), `note` (a team member's
        /// mail: internal) or `party` (a party's mail: the team's).
        added_by: String,
    },
    /// An e-mail joined the case; the raw message is kept verbatim under its SHA-256.
    MailReceived {
        raw_sha256: String,
        /// The Message-ID header, without angle brackets; empty when the message had none.
        message_id: String,
        from: String,
        subject: String,
        /// The message was OpenPGP-encrypted (and decrypted, unless `warning` says otherwise).
        #[serde(default)]
        encrypted: bool,
        /// Fingerprint of a verified OpenPGP signature.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signed_by: Option<String>,
        /// Why the message could not be fully read (malformed MIME, cannot decrypt, ...).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warning: Option<String>,
    },
    /// The reporter set or replaced the OpenPGP public key mail to them is encrypted to.
    ReporterKeySet {
        fingerprint: String,
    },
    /// The reporter replaced their secret link: the old token stops working at once.
    ReporterTokenReplaced,
    ExploitationObserved {
        on: Date,
    },
    /// The vulnerability's details became public before disclosure: the embargo broke, and
    /// the policy's actively-exploited clock applies from that day.
    Leaked {
        on: Date,
    },
    FixScheduled {
        release: Date,
    },
    FixReleased {
        on: Date,
    },
    AdvisoryPublished {
        on: Date,
    },
    /// A person moved a deadline. `reason` is the team's (the officer's justification for
    /// "extreme circumstances", SalesTim seed 003); `reporter_note` is what the reporter is
    /// told, when the officer writes something for them. Who did it stays with the team.
    DeadlineOverridden {
        clock: ClockKind,
        due: Date,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reporter_note: Option<String>,
    },
    /// Triage asked the reporter for what the report lacks; `message` is shown to them.
    /// Moves the case to needs-info and marks the report as incomplete (FreePBX, seed 001:
    /// "This follow-up may request additional information").
    InfoRequested {
        message: String,
    },
    /// Triage verified the report as a vulnerability the team will fix.
    Accepted,
    /// Triage declined the report, for a reason the policy lists.
    Declined {
        reason: DeclineReason,
        /// The case this one duplicates (set exactly when `reason` is `duplicate`); both
        /// cases are kept so both reporters can be credited.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duplicate_of: Option<i64>,
        /// A note for the team.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Work on a fix began (Kamailio, seed 002: "The kamailio developer team will work to
    /// solve the issue").
    FixStarted,
    /// The case was closed; only a disclosed or declined case can be.
    Closed,
    /// A declined or closed case was opened again for triage; a reason is required.
    Reopened {
        reason: String,
    },
    /// A note for the people working the case; never shown to the reporter, to reviewers
    /// or to external parties. `mentions` are the user ids of teammates it names.
    NoteAdded {
        body: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<i64>,
    },
    /// The team scored the case: a CVSS 3.0, 3.1 or 4.0 vector (see [`crate::severity`]).
    /// The score is derived from the vector whenever it is shown, never stored apart from it.
    SeverityAssessed {
        vector: String,
    },
    /// The security officer who manages the case from now on (Kamailio, seed 002: one
    /// officer per incident).
    OfficerAssigned {
        user_id: i64,
    },
    /// Someone outside the organisation's team was given access to the case (`grant`:
    /// member, reviewer or external), or had it taken away (`grant` absent).
    AccessChanged {
        user_id: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grant: Option<crate::access::CaseGrant>,
    },
    /// A stage of the policy's workflow was completed, with what shows it (a link, a note).
    StageCompleted {
        stage: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evidence: Option<String>,
    },
    /// A fix was put up for review: a commit, pull request or private fork branch. Whoever
    /// records it is its author, whose own review does not count where the policy asks
    /// for review by others.
    FixProposed {
        reference: String,
    },
    /// The fix was merged (Kamailio, seed 002: "committed"; Signalen, seed 004: "merged
    /// into the primary repository").
    FixMerged {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// The team prioritised the case with SSVC (see [`crate::ssvc`]); the decision is derived
    /// from the points whenever it is shown.
    SsvcAssessed {
        points: crate::ssvc::Ssvc,
    },
    /// A deadline passed with nobody of the team acting since shortly before it: the case's
    /// officer and the organisation's officers and admins (`told`, user ids) were mailed.
    /// Recorded once per deadline and date.
    Escalated {
        clock: ClockKind,
        due: Date,
        told: Vec<i64>,
    },
    /// The fix of one release line of the case's product moved on (see [`crate::fixes`]).
    LineUpdated {
        line: String,
        update: crate::fixes::LineUpdate,
    },
    /// An award was proposed; the proposer attests the reporter followed the policy.
    BountyProposed {
        amount: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// An approver approved the proposed award.
    BountyApproved {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// No bounty is awarded, for a reason.
    BountyDeclined {
        reason: String,
    },
    /// The award was paid: by which method, to which address (a crypto-currency payment),
    /// with which transaction reference.
    BountyPaid {
        method: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        on: Date,
    },
    /// A person approved a gated step, as a member of these groups.
    Approved {
        step: String,
        groups: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Parties were brought into the case under embargo (see [`crate::coordination`]):
    /// each is written to with `summary`, what the parties see of the case, and asked to
    /// accept or decline by `reply_by`.
    PartiesInvited {
        parties: Vec<crate::coordination::Invitee>,
        reply_by: Date,
        summary: String,
    },
    /// The embargo's terms (what may be shared, with whom) and its end: the coordinated
    /// release, an instant in UTC, shown to each viewer in their own time zone.
    EmbargoSet {
        end: Timestamp,
        terms: String,
    },
    /// A party accepted or declined its invitation.
    InvitationAnswered {
        party: String,
        accepted: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The coordinated release agreed with the parties: the disclosure clock moves to it,
    /// as far as the policy allows (see [`crate::clocks`]).
    ReleaseAgreed {
        at: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A party's status for the vulnerability, in its own words; public only once an
    /// officer approves it.
    PartyStated {
        party: String,
        status: crate::coordination::VexStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        justification: Option<crate::coordination::Justification>,
        statement: String,
    },
    /// An officer approved a party's latest statement for publication.
    StatementApproved {
        party: String,
    },
    /// A message in one party's thread (`party`), or the team's to every party (`party`
    /// absent); `from_party` when the party wrote it.
    PartyMessage {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        party: Option<String>,
        body: String,
        from_party: bool,
        /// Files sent with the message: they belong to the thread, read by whoever reads
        /// the message (the team, and the party or every party it went to).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        files: Vec<crate::command::File>,
    },
    /// The parties that had not answered were reminded.
    PartiesReminded {
        parties: Vec<String>,
    },
    /// The embargo broke (a leak or exploitation) and these parties were told: once.
    PartiesToldOfBreak {
        parties: Vec<String>,
    },
    /// The reporter said, in their portal, whether the parties coordinating on the case may
    /// be told who they are.
    ReporterConsented {
        share_identity: bool,
    },
    /// The officer chose whether the parties are told who reported the case (only with the
    /// reporter's consent).
    IdentityShared {
        share: bool,
    },
}

impl Event {
    /// The kind name stored with the event (the serde tag).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Reported { .. } => "reported",
            Event::ReceiptSent => "receipt_sent",
            Event::ReporterMessage { .. } => "reporter_message",
            Event::ReporterReply { .. } => "reporter_reply",
            Event::AttachmentAdded { .. } => "attachment_added",
            Event::MailReceived { .. } => "mail_received",
            Event::ReporterKeySet { .. } => "reporter_key_set",
            Event::ReporterTokenReplaced => "reporter_token_replaced",
            Event::ExploitationObserved { .. } => "exploitation_observed",
            Event::Leaked { .. } => "leaked",
            Event::LineUpdated { .. } => "line_updated",
            Event::BountyProposed { .. } => "bounty_proposed",
            Event::BountyApproved { .. } => "bounty_approved",
            Event::BountyDeclined { .. } => "bounty_declined",
            Event::BountyPaid { .. } => "bounty_paid",
            Event::FixScheduled { .. } => "fix_scheduled",
            Event::FixReleased { .. } => "fix_released",
            Event::AdvisoryPublished { .. } => "advisory_published",
            Event::DeadlineOverridden { .. } => "deadline_overridden",
            Event::InfoRequested { .. } => "info_requested",
            Event::Accepted => "accepted",
            Event::Declined { .. } => "declined",
            Event::FixStarted => "fix_started",
            Event::Closed => "closed",
            Event::Reopened { .. } => "reopened",
            Event::NoteAdded { .. } => "note_added",
            Event::SeverityAssessed { .. } => "severity_assessed",
            Event::OfficerAssigned { .. } => "officer_assigned",
            Event::AccessChanged { .. } => "access_changed",
            Event::StageCompleted { .. } => "stage_completed",
            Event::FixProposed { .. } => "fix_proposed",
            Event::FixMerged { .. } => "fix_merged",
            Event::Approved { .. } => "approved",
            Event::SsvcAssessed { .. } => "ssvc_assessed",
            Event::Escalated { .. } => "escalated",
            Event::PartiesInvited { .. } => "parties_invited",
            Event::EmbargoSet { .. } => "embargo_set",
            Event::InvitationAnswered { .. } => "invitation_answered",
            Event::ReleaseAgreed { .. } => "release_agreed",
            Event::PartyStated { .. } => "party_stated",
            Event::StatementApproved { .. } => "statement_approved",
            Event::PartyMessage { .. } => "party_message",
            Event::PartiesReminded { .. } => "parties_reminded",
            Event::PartiesToldOfBreak { .. } => "parties_told_of_break",
            Event::ReporterConsented { .. } => "reporter_consented",
            Event::IdentityShared { .. } => "identity_shared",
        }
    }

    /// Who may read this event at all: the one decision behind the team's timeline, the
    /// reporter's portal and API, and what each role's search finds.
    pub fn audience(&self) -> Audience {
        match self {
            Event::NoteAdded { .. }
            | Event::MailReceived { .. }
            | Event::AccessChanged { .. }
            | Event::Escalated { .. }
            // Awards and payout details are the team's; the reporter is told in a message.
            | Event::BountyProposed { .. }
            | Event::BountyApproved { .. }
            | Event::BountyDeclined { .. }
            | Event::BountyPaid { .. }
            | Event::Declined { note: Some(_), .. } => Audience::Workers,
            // What parties say to the team, and the team to them, is the team's: a party
            // reads its own thread in its portal, never through the case's timeline.
            Event::InvitationAnswered { .. }
            | Event::PartyStated { .. }
            | Event::StatementApproved { .. }
            | Event::PartyMessage { .. }
            | Event::PartiesReminded { .. }
            | Event::PartiesToldOfBreak { .. } => Audience::Workers,
            // A file a party or a team member mailed is the team's, like their words (a
            // party's thread, a member's internal note).
            Event::AttachmentAdded { added_by, .. } if matches!(added_by.as_str(), "party" | "note") => {
                Audience::Workers
            }
            // Who is coordinated with, and on which terms, is the team's and its
            // reviewers'; the reporter sees the disclosure date the agreement moves.
            Event::PartiesInvited { .. }
            | Event::EmbargoSet { .. }
            | Event::ReleaseAgreed { .. }
            | Event::IdentityShared { .. } => Audience::Readers,
            // The team's scoring and who manages the case or else may see it are the team's
            // business until it publishes.
            Event::SeverityAssessed { .. }
            | Event::SsvcAssessed { .. }
            | Event::OfficerAssigned { .. } => Audience::Readers,
            // The process is the team's and its reviewers' (who approve in it).
            Event::StageCompleted { .. }
            | Event::FixProposed { .. }
            | Event::FixMerged { .. }
            | Event::LineUpdated { .. }
            | Event::Approved { .. } => Audience::Readers,
            _ => Audience::Reporter,
        }
    }

    /// Whether the reporter is told this happened (in the reporter API's event list).
    pub fn reporter_visible(&self) -> bool {
        self.audience() >= Audience::Reporter
    }

    /// The words of this event the team's search finds, with who may read them: never a
    /// wider circle than the event's. One text per event (the index keeps a row per event),
    /// so every word of it is read by the same circle.
    pub fn search_text(&self) -> Option<(Audience, String)> {
        let text = match self {
            Event::Reported {
                title,
                description,
                fields,
                ..
            } => {
                let mut text = format!("{title}\n{description}");
                for value in fields.values() {
                    text.push('\n');
                    text.push_str(value);
                }
                text
            }
            Event::ReporterMessage { body, .. }
            | Event::ReporterReply { body, .. }
            | Event::NoteAdded { body, .. }
            | Event::InfoRequested { message: body } => body.clone(),
            Event::MailReceived { subject, .. } => subject.clone(),
            Event::AttachmentAdded { filename, .. } => filename.clone(),
            Event::Declined {
                note: Some(note), ..
            } => note.clone(),
            Event::Reopened { reason } => reason.clone(),
            Event::StageCompleted {
                evidence: Some(text),
                ..
            }
            | Event::FixProposed { reference: text }
            | Event::FixMerged {
                reference: Some(text),
            }
            | Event::Approved {
                note: Some(text), ..
            }
            | Event::PartyMessage { body: text, .. }
            | Event::EmbargoSet { terms: text, .. }
            | Event::PartiesInvited { summary: text, .. }
            | Event::PartyStated {
                statement: text, ..
            } => text.clone(),
            Event::LineUpdated { line, update } => match update.text() {
                Some(text) => format!("{line}: {text}"),
                None => return None,
            },
            // Everyone on the case reads that a deadline moved and why; the reporter only
            // the date and the note written for them.
            Event::DeadlineOverridden {
                reason,
                reporter_note,
                ..
            } => match reporter_note {
                Some(note) => format!("{reason}\n{note}"),
                None => reason.clone(),
            },
            _ => return None,
        };
        // Reporters do not search; the widest circle that does is the case's readers.
        Some((self.audience().min(Audience::Readers), text))
    }

    /// The days a person gave in this event, by the request field that carries each.
    pub fn given_dates(&self) -> Vec<(&'static str, Date)> {
        match self {
            Event::FixScheduled { release } => vec![("release", *release)],
            Event::ExploitationObserved { on }
            | Event::Leaked { on }
            | Event::FixReleased { on }
            | Event::AdvisoryPublished { on } => vec![("on", *on)],
            Event::DeadlineOverridden { due, .. } => vec![("due", *due)],
            Event::LineUpdated { update, .. } => update.given_dates(),
            Event::BountyPaid { on, .. } => vec![("on", *on)],
            Event::PartiesInvited { reply_by, .. } => vec![("reply_by", *reply_by)],
            _ => Vec::new(),
        }
    }

    /// Refuses days outside [`crate::plausible`]'s window around `today`, naming the field.
    pub fn check_dates(&self, today: Date) -> Result<(), crate::plausible::ImplausibleDate> {
        for (field, given) in self.given_dates() {
            crate::plausible::check(field, given, today)?;
        }
        Ok(())
    }

    /// Checks an event before it is recorded, so the log only holds valid ones. Whether
    /// it may happen in the case's current state is [`crate::triage::transition`]'s
    /// question; whether the policy allows a decline reason is
    /// [`crate::triage::check_against_policy`]'s.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Event::DeadlineOverridden { reason, .. } if Reason::parse(reason).is_none() => {
                return Err("an override needs a reason".into());
            }
            Event::InfoRequested { message } if message.trim().is_empty() => {
                return Err("a request for information needs a message to the reporter".into());
            }
            Event::Declined {
                reason,
                duplicate_of,
                ..
            } => match (reason, duplicate_of) {
                (DeclineReason::Duplicate, None) => {
                    return Err("a duplicate needs the case it duplicates".into());
                }
                (DeclineReason::Duplicate, Some(_)) | (_, None) => {}
                (_, Some(_)) => {
                    return Err("only a duplicate names the case it duplicates".into());
                }
            },
            Event::Reopened { reason } if reason.trim().is_empty() => {
                return Err("reopening a case needs a reason".into());
            }
            Event::NoteAdded { body, .. } if body.trim().is_empty() => {
                return Err("a note needs some text".into());
            }
            Event::ReporterMessage { body, .. } if body.trim().is_empty() => {
                return Err("a message to the reporter needs some text".into());
            }
            Event::SeverityAssessed { vector } => {
                crate::severity::Cvss::parse(vector).map_err(|e| e.to_string())?;
            }
            Event::FixProposed { reference } if reference.trim().is_empty() => {
                return Err(
                    "a proposed fix needs its reference: a commit, pull request or branch".into(),
                );
            }
            Event::Approved { groups, .. } if groups.is_empty() => {
                return Err("an approval is given as a member of a group".into());
            }
            Event::PartiesInvited { parties, .. } if parties.is_empty() => {
                return Err("name at least one party to invite".into());
            }
            Event::PartiesInvited { summary, .. } if summary.trim().is_empty() => {
                return Err(
                    "write what the parties are told of the case: they see nothing else".into(),
                );
            }
            Event::PartyMessage { body, files, .. }
                if body.trim().is_empty() && files.is_empty() =>
            {
                return Err("a message needs some text or a file".into());
            }
            Event::PartyMessage { body, .. }
                if body.chars().count() > crate::coordination::MAX_MESSAGE_CHARS =>
            {
                return Err(format!(
                    "a message is at most {} characters; attach longer texts as files",
                    crate::coordination::MAX_MESSAGE_CHARS
                ));
            }
            Event::PartiesInvited { summary, .. }
                if summary.chars().count() > crate::coordination::MAX_SUMMARY_CHARS =>
            {
                return Err(format!(
                    "what the parties are told is at most {} characters",
                    crate::coordination::MAX_SUMMARY_CHARS
                ));
            }
            Event::EmbargoSet { terms, .. }
                if terms.chars().count() > crate::coordination::MAX_SUMMARY_CHARS =>
            {
                return Err(format!(
                    "the embargo's terms are at most {} characters",
                    crate::coordination::MAX_SUMMARY_CHARS
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

/// An event as recorded: when, by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub at: Timestamp,
    pub actor: String,
    pub event: Event,
}

/// The clock facts of a case, read from its log. The first event must be `Reported`;
/// events are taken in log order.
pub fn facts(calendar: &Calendar, log: &[Recorded]) -> Option<Facts> {
    let first = log.first()?;
    let mut facts = Facts::reported_on(calendar.local_date(first.at));
    facts.outbound = is_outbound(log);
    for r in log {
        let on = calendar.local_date(r.at);
        match &r.event {
            Event::Reported { .. }
            | Event::ReporterReply { .. }
            | Event::AttachmentAdded { .. }
            | Event::MailReceived { .. }
            | Event::ReporterKeySet { .. }
            | Event::ReporterTokenReplaced
            | Event::Accepted
            | Event::Declined { .. }
            | Event::FixStarted
            | Event::Closed
            | Event::Reopened { .. }
            | Event::NoteAdded { .. }
            | Event::SeverityAssessed { .. }
            | Event::OfficerAssigned { .. }
            | Event::AccessChanged { .. }
            | Event::StageCompleted { .. }
            | Event::FixProposed { .. }
            | Event::FixMerged { .. }
            | Event::Approved { .. }
            | Event::SsvcAssessed { .. }
            | Event::Escalated { .. }
            | Event::LineUpdated { .. }
            | Event::BountyProposed { .. }
            | Event::BountyApproved { .. }
            | Event::BountyDeclined { .. }
            | Event::BountyPaid { .. }
            | Event::PartiesInvited { .. }
            | Event::EmbargoSet { .. }
            | Event::InvitationAnswered { .. }
            | Event::PartyStated { .. }
            | Event::StatementApproved { .. }
            | Event::PartyMessage { .. }
            | Event::PartiesReminded { .. }
            | Event::PartiesToldOfBreak { .. }
            | Event::ReporterConsented { .. }
            | Event::IdentityShared { .. } => {}
            Event::ReleaseAgreed { at, .. } => {
                facts.release_agreed = Some(crate::clocks::Agreement {
                    release: calendar.local_date(*at),
                    agreed: on,
                });
            }
            // Asking for more information is a person's reply to the report (FreePBX,
            // seed 001: the "non-automated response ... may request additional information").
            Event::InfoRequested { .. } => {
                facts.human_acknowledged.get_or_insert(on);
            }
            Event::ReceiptSent => {
                facts.receipt_sent.get_or_insert(on);
            }
            Event::ReporterMessage { by_team_member, .. } => {
                if *by_team_member {
                    facts.human_acknowledged.get_or_insert(on);
                } else {
                    facts.receipt_sent.get_or_insert(on);
                }
            }
            Event::ExploitationObserved { on: seen } => {
                facts.exploited.get_or_insert(*seen);
            }
            Event::Leaked { on: seen } => {
                facts.leaked.get_or_insert(*seen);
            }
            Event::FixScheduled { release } => {
                facts.fix_scheduled = Some(FixSchedule {
                    release: *release,
                    announced: on,
                });
            }
            Event::FixReleased { on: released } => {
                facts.fix_released.get_or_insert(*released);
            }
            Event::AdvisoryPublished { on: published } => {
                facts.advisory_published.get_or_insert(*published);
            }
            Event::DeadlineOverridden {
                clock,
                due,
                reason,
                reporter_note,
            } => {
                if let Some(reason) = Reason::parse(reason) {
                    facts.overrides.push(Override {
                        kind: *clock,
                        due: *due,
                        reason: Some(reason),
                        reporter_note: reporter_note.as_deref().and_then(Reason::parse),
                        by: Some(r.actor.clone()),
                        on,
                    });
                }
            }
        }
    }
    Some(facts)
}

/// Whether the case is our report to a third-party vendor.
pub fn is_outbound(log: &[Recorded]) -> bool {
    matches!(
        log.first().map(|r| &r.event),
        Some(Event::Reported {
            channel: Channel::Outbound,
            ..
        })
    )
}

/// What the dashboard shows of a case besides its state and clocks, read from its log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// The report's title.
    pub title: String,
    /// The latest CVSS vector the team recorded.
    pub cvss: Option<String>,
    /// The latest SSVC decision points the team recorded.
    pub ssvc: Option<crate::ssvc::Ssvc>,
    /// The officer managing the case, last assigned.
    pub officer: Option<i64>,
    /// Who outside the team was given access, by user id (the last change wins).
    pub grants: BTreeMap<i64, crate::access::CaseGrant>,
}

/// Reads a [`Summary`] from a log.
pub fn summary(log: &[Recorded]) -> Summary {
    let mut s = Summary::default();
    for r in log {
        match &r.event {
            Event::Reported { title, .. } if s.title.is_empty() => s.title.clone_from(title),
            Event::SeverityAssessed { vector } => s.cvss = Some(vector.clone()),
            Event::SsvcAssessed { points } => s.ssvc = Some(*points),
            Event::OfficerAssigned { user_id } => s.officer = Some(*user_id),
            Event::AccessChanged { user_id, grant } => match grant {
                Some(g) => {
                    s.grants.insert(*user_id, *g);
                }
                None => {
                    s.grants.remove(user_id);
                }
            },
            _ => {}
        }
    }
    s
}

/// The state a log leads to: its events folded through the triage state machine
/// ([`crate::triage::fold`]). Events that do not move a case are skipped; a move the
/// machine refuses is ignored and the previous state kept, because the log is the truth
/// and history is never rewritten (the service checks each event before recording it).
pub fn state(log: &[Recorded]) -> State {
    crate::triage::fold(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ts: &str, event: Event) -> Recorded {
        Recorded {
            at: ts.parse().unwrap(),
            actor: "alice".into(),
            event,
        }
    }

    fn reported() -> Event {
        Event::Reported {
            product: "p".into(),
            title: "t".into(),
            description: "d".into(),
            reporter_contact: None,
            channel: crate::case::Channel::Api,
            fields: BTreeMap::new(),
            language: None,
        }
    }

    #[test]
    fn the_day_of_a_report_is_its_date_in_the_policy_time_zone() {
        let ny = Calendar::new(
            jiff::tz::TimeZone::get("America/New_York").unwrap(),
            vec![],
            vec![],
            vec![],
        );
        let f = facts(&ny, &[at("2026-04-06T02:30:00Z", reported())]).unwrap();
        assert_eq!(f.reported, jiff::civil::date(2026, 4, 5));
        let f = facts(
            &Calendar::plain(),
            &[at("2026-04-06T02:30:00Z", reported())],
        )
        .unwrap();
        assert_eq!(f.reported, jiff::civil::date(2026, 4, 6));
    }

    #[test]
    fn automated_messages_do_not_count_as_a_human_acknowledgement() {
        let log = [
            at("2026-04-06T10:00:00Z", reported()),
            at("2026-04-06T10:00:01Z", Event::ReceiptSent),
            at(
                "2026-04-07T10:00:00Z",
                Event::ReporterMessage {
                    by_team_member: false,
                    body: "auto".into(),
                },
            ),
            at(
                "2026-04-08T10:00:00Z",
                Event::ReporterMessage {
                    by_team_member: true,
                    body: "hi".into(),
                },
            ),
        ];
        let f = facts(&Calendar::plain(), &log).unwrap();
        assert_eq!(f.receipt_sent, Some(jiff::civil::date(2026, 4, 6)));
        assert_eq!(f.human_acknowledged, Some(jiff::civil::date(2026, 4, 8)));
    }

    #[test]
    fn overrides_need_a_known_clock_and_a_reason() {
        let bad = Event::DeadlineOverridden {
            clock: ClockKind::Disclosure,
            due: jiff::civil::date(2026, 8, 1),
            reason: "  ".into(),
            reporter_note: None,
        };
        assert!(bad.validate().is_err());
        // A clock is one of the kinds; a log naming another does not read.
        let unknown = r#"{"type":"deadline_overridden","clock":"lunch","due":"2026-08-01","reason":"vendor asked"}"#;
        assert!(serde_json::from_str::<Event>(unknown).is_err());
    }

    #[test]
    fn event_kind_is_the_serde_tag() {
        let events = [
            reported(),
            Event::ReceiptSent,
            Event::FixReleased {
                on: jiff::civil::date(2026, 1, 1),
            },
        ];
        for e in events {
            let v = serde_json::to_value(&e).unwrap();
            assert_eq!(v["type"], e.kind());
            let back: Event = serde_json::from_value(v).unwrap();
            assert_eq!(back, e);
        }
    }

    #[test]
    fn the_summary_keeps_the_first_title_and_the_latest_team_decisions() {
        use crate::access::CaseGrant;
        let log = [
            at("2026-04-06T10:00:00Z", reported()),
            at(
                "2026-04-06T11:00:00Z",
                Event::OfficerAssigned { user_id: 1 },
            ),
            at(
                "2026-04-06T12:00:00Z",
                Event::SeverityAssessed {
                    vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
                },
            ),
            at(
                "2026-04-07T10:00:00Z",
                Event::OfficerAssigned { user_id: 2 },
            ),
            at(
                "2026-04-07T11:00:00Z",
                Event::AccessChanged {
                    user_id: 5,
                    grant: Some(CaseGrant::External),
                },
            ),
            at(
                "2026-04-07T12:00:00Z",
                Event::AccessChanged {
                    user_id: 6,
                    grant: Some(CaseGrant::Member),
                },
            ),
            at(
                "2026-04-07T13:00:00Z",
                Event::AccessChanged {
                    user_id: 5,
                    grant: None,
                },
            ),
        ];
        let s = summary(&log);
        assert_eq!(s.title, "t");
        assert_eq!(s.officer, Some(2));
        assert!(s.cvss.unwrap().starts_with("CVSS:3.1/"));
        assert_eq!(s.grants, BTreeMap::from([(6, CaseGrant::Member)]));
    }

    #[test]
    fn every_dated_event_refuses_an_implausible_day_naming_its_field() {
        let today = jiff::civil::date(2026, 11, 25);
        let far = jiff::civil::date(9999, 1, 1);
        let events = [
            (Event::FixScheduled { release: far }, "release"),
            (Event::FixReleased { on: far }, "on"),
            (Event::AdvisoryPublished { on: far }, "on"),
            (Event::ExploitationObserved { on: far }, "on"),
            (
                Event::DeadlineOverridden {
                    clock: ClockKind::Disclosure,
                    due: far,
                    reason: "r".into(),
                    reporter_note: None,
                },
                "due",
            ),
        ];
        for (event, field) in events {
            assert_eq!(event.check_dates(today).unwrap_err().field, field);
        }
        assert!(
            Event::FixReleased { on: today }.check_dates(today).is_ok()
                && Event::Accepted.check_dates(today).is_ok()
        );
    }

    #[test]
    fn fix_and_advisory_move_the_state() {
        let log = [
            at("2026-04-06T10:00:00Z", reported()),
            at("2026-04-07T10:00:00Z", Event::Accepted),
            at(
                "2026-05-06T10:00:00Z",
                Event::FixReleased {
                    on: jiff::civil::date(2026, 5, 6),
                },
            ),
        ];
        assert_eq!(state(&log[..1]), State::New);
        assert_eq!(state(&log[..2]), State::Accepted);
        assert_eq!(state(&log), State::Fixed);
    }
}
