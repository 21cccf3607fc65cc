//! The security team's actions on a case (triage, notes, messages to the reporter, severity,
//! officer, deadline overrides, access), the same for the pages and the API.
//!
//! Access to the route has been decided before anything here runs; the action itself is
//! judged by the core's [`command::decide`] on the log the write appends after. What this
//! module adds is what the decision cannot do itself: looking up the people and cases the
//! action names, and the mail it causes.

use jiff::Timestamp;
use vulndesk_core::access::{CaseGrant, OrgRole, Standing};
use vulndesk_core::actor::Actor;
use vulndesk_core::case::{self, Event, Recorded};
use vulndesk_core::command::{self, By, Command, Context, Refusal};
use vulndesk_core::email::EmailAddress;
use vulndesk_core::workflow::Member;
use vulndesk_mail::parse::Mailbox;
use vulndesk_mail::receipt;
use vulndesk_mail::thread::reply_address;
use vulndesk_store::{CaseRow, Effects, UserRow};

use crate::attachments::{self, Upload};
use crate::cases::{Write, log};
use crate::reporter_token::ReporterToken;
use crate::{Appended, Desk, DeskError, PinnedPolicy};

/// What a notice with the member's own reply address says of it.
pub(crate) const REPLY_AS_NOTE: &str =
    "\nReply to this message to add an internal note to the case; the reporter does not see it.\n";

/// A team action as the adapters read it: a [`Command`], or one that names what the desk
/// must first look up or store.
#[derive(Debug, Clone)]
pub enum Action {
    /// Decided as it is.
    Command(Command),
    /// An internal note; the teammates it mentions (`@name`) are told by mail.
    Note { body: String },
    /// A message to the reporter, with files for them (a patch to test, say).
    Message { body: String, files: Vec<Upload> },
    /// A message to one party's thread (by slug) or to every party, with files.
    PartyMessage {
        party: Option<String>,
        body: String,
        files: Vec<Upload>,
    },
    /// A party's message (by its position in the case's log) passed on to every party,
    /// after `note`, with its files and `files` besides.
    Share {
        seq: i64,
        note: String,
        files: Vec<Upload>,
    },
    /// Give a person access to this case, or take it away (`None`), named by address.
    Access {
        email: String,
        grant: Option<CaseGrant>,
    },
    /// Bring parties of the organisation's registry into the case under embargo.
    Invite {
        selection: crate::coordination::Selection,
        reply_by: jiff::civil::Date,
        summary: String,
    },
}

impl From<Command> for Action {
    fn from(command: Command) -> Action {
        Action::Command(command)
    }
}

/// Who acts, and how far their access to the case goes.
pub struct Acting<'a> {
    pub user: &'a UserRow,
    pub standing: Standing,
}

/// What an action did: the first new event's position and the case's state after it.
#[derive(Debug, Clone)]
pub struct Acted {
    pub seq: i64,
    pub state: case::State,
    /// For an invitation: each new party's slug and portal address (`/p/{id}/{token}`).
    /// The party is sent it by mail; the desk keeps only the token's hash. Only the demo
    /// prints these (its parties are fictional); the pages and the API never show them.
    pub portals: Vec<(String, String)>,
}

impl From<Refusal> for DeskError {
    fn from(r: Refusal) -> DeskError {
        match r {
            Refusal::Forbidden { .. } => DeskError::Forbidden(r.to_string()),
            Refusal::Invalid { field, message } => DeskError::invalid(field, message),
            Refusal::Conflict(message) => DeskError::Conflict { message },
        }
    }
}

impl Desk {
    /// Records `action` on `case` (of organisation `org_id`) by `by`.
    pub async fn act(
        &self,
        case: &CaseRow,
        org_id: i64,
        by: Acting<'_>,
        action: Action,
    ) -> Result<Acted, DeskError> {
        let pinned = self.policy(case.policy_version_id).await?;
        let at = Timestamp::now();
        let team = self.team(org_id).await?;
        let rows = self.store.events(case.id).await?;
        let read = log(&rows)?;
        let mut effects = Effects::default();
        let mut inviting = Vec::new();
        let command = match action {
            Action::Invite {
                selection,
                reply_by,
                summary,
            } => {
                inviting = self.select_parties(org_id, &selection).await?;
                Command::InviteParties {
                    parties: inviting
                        .iter()
                        .map(|row| vulndesk_core::coordination::Invitee {
                            party: row.party.slug.clone(),
                            name: row.party.name.clone(),
                            kind: vulndesk_core::coordination::PartyKind::parse(&row.party.kind)
                                .unwrap_or(vulndesk_core::coordination::PartyKind::Vendor),
                        })
                        .collect(),
                    reply_by,
                    summary,
                }
            }
            Action::Command(command) => command,
            Action::Note { body } => Command::Note {
                mentions: mentions(&body, &team),
                body,
            },
            Action::Message { body, files } => {
                let (files, stored) = attachments::files(files);
                effects.attachments = stored;
                Command::Message { body, files }
            }
            Action::PartyMessage { party, body, files } => {
                let (files, stored) = attachments::files(files);
                effects.attachments = stored;
                Command::MessageParties { party, body, files }
            }
            Action::Share { seq, note, files } => {
                let (files, stored) = attachments::files(files);
                effects.attachments = stored;
                let shared = rows.iter().position(|r| r.seq == seq).and_then(|i| {
                    let state = vulndesk_core::coordination::state(&read);
                    vulndesk_core::coordination::share(&state, &read[i].event, &note, files)
                });
                shared.ok_or_else(|| {
                    DeskError::invalid(
                        "share",
                        format!("entry {seq} of this case is not a message a party wrote"),
                    )
                })?
            }
            Action::Access { email, grant } => {
                let user = self
                    .store
                    .user_by_email(&email)
                    .await?
                    .filter(|u| u.disabled_at.is_none())
                    .ok_or_else(|| {
                        DeskError::invalid("email", format!("no enabled account for {email:?}"))
                    })?;
                effects
                    .grants
                    .push((user.id, grant.map(|g| g.as_str().to_owned())));
                Command::ChangeAccess {
                    user_id: user.id,
                    grant,
                }
            }
        };
        // Mail goes with the write that causes it: built once, committed only if the
        // decision on the log the write follows holds.
        match &command {
            Command::RequestInfo { message } => {
                self.queue_to_reporter(case, &pinned, &read, message, &mut effects, at)
                    .await?;
            }
            Command::Message { body, files } => {
                let mut text = body.clone();
                if !files.is_empty() {
                    // Files go to the portal, not into mail: the reporter downloads them there.
                    let n = files.len();
                    let are = if n == 1 { "file is" } else { "files are" };
                    text.push_str(&format!(
                        "\n\n({n} {are} attached to this message in your case's secret link.)"
                    ));
                }
                self.queue_to_reporter(case, &pinned, &read, &text, &mut effects, at)
                    .await?;
            }
            Command::Note { mentions, .. } => {
                self.notify_mentioned(case, &pinned, by.user, &team, mentions, &mut effects, at)
                    .await?;
            }
            _ => {}
        }
        let org_cases = match &command {
            Command::Decline {
                duplicate_of: Some(other),
                ..
            } if *other != case.id && self.store.case_org(*other).await? == Some(org_id) => {
                vec![*other]
            }
            _ => Vec::new(),
        };
        let officers: Vec<i64> = team
            .iter()
            .filter(|(_, role)| *role == OrgRole::Officer)
            .map(|(u, _)| u.id)
            .collect();
        let member = Member {
            user_id: by.user.id,
            role: team
                .iter()
                .find(|(u, _)| u.id == by.user.id)
                .map(|(_, role)| *role),
            grant: case::summary(&read).grants.get(&by.user.id).copied(),
        };
        let ctx = Context {
            by: By::Team(by.standing),
            today: pinned.policy.calendar().local_date(at),
            officers: &officers,
            org_cases: &org_cases,
            member: Some(member),
        };
        // A bounty awarded or paid is told to the reporter: the decision writes the message,
        // and its mail goes with the write.
        if matches!(command, Command::Bounty(_))
            && let Ok(events) = command::decide(command.clone(), &read, &pinned.policy, &ctx)
            && let Some(text) = vulndesk_core::bounty::reporter_message(&events)
        {
            self.queue_to_reporter(case, &pinned, &read, text, &mut effects, at)
                .await?;
        }
        let actor = Actor::User(by.user.id);
        // What parties are told goes with the write that records it.
        let mails_parties = match command {
            Command::InviteParties { .. } | Command::MessageParties { .. } => true,
            // A break tells the parties there are (and is refused if some were invited
            // meanwhile, see `decide_and_append`).
            Command::Leaked { .. } | Command::ExploitationObserved { .. } => {
                !vulndesk_core::coordination::state(&read).parties.is_empty()
            }
            _ => false,
        };
        let mut portals = Vec::new();
        let written = if mails_parties {
            let org = pinned.policy.organisation.name.clone();
            let mail = self.party_mail(case, &org, &inviting, at).await?;
            let written = self
                .decide_and_append(
                    case,
                    &pinned,
                    &actor,
                    &ctx,
                    command,
                    effects,
                    at,
                    Some(&mail),
                )
                .await?;
            portals = mail.portals(&written);
            written
        } else {
            self.decide_and_append(case, &pinned, &actor, &ctx, command, effects, at, None)
                .await?
        };
        Ok(Acted {
            seq: written.rows.first().map_or(0, |e| e.seq),
            state: written.state,
            portals,
        })
    }

    /// Appends what `command` decides (see [`command::decide`]) on the case's log as it is
    /// when the write lands: after a lost race it is decided again on the fresher log. The
    /// mail to the case's parties (`mail`) is built from the events decided, inside the
    /// write, so what they are told is what the log records.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn decide_and_append(
        &self,
        case: &CaseRow,
        pinned: &PinnedPolicy,
        actor: &Actor,
        ctx: &Context<'_>,
        command: Command,
        effects: Effects,
        at: Timestamp,
        mail: Option<&crate::coordination::PartyMail>,
    ) -> Result<Appended, DeskError> {
        self.append(case, actor, at, |log| {
            let events = command::decide(command.clone(), log, &pinned.policy, ctx)?;
            let mut effects = effects.clone();
            // A break recorded on a case that had no parties when it was read, but has now:
            // the parties a write that got there first invited must be told too.
            if mail.is_none()
                && events
                    .iter()
                    .any(|e| matches!(e, Event::PartiesToldOfBreak { .. }))
            {
                return Err(DeskError::Conflict {
                    message: "parties were invited to this case while this was being recorded: \
                              record it again, so that they are told"
                        .into(),
                });
            }
            if let Some(mail) = mail {
                let told = mail.effects(&pinned.policy, log, &events, at)?;
                effects.jobs.extend(told.jobs);
                effects.thread_ids.extend(told.thread_ids);
                effects.parties.extend(told.parties);
            }
            Ok(Write { events, effects })
        })
        .await
    }

    /// Mail telling each mentioned teammate where to look; it names the case, not its
    /// contents. Each teammate becomes a participant of the case, and the notice's reply
    /// address is theirs: what they answer by mail joins the case as their internal note.
    #[allow(clippy::too_many_arguments)]
    async fn notify_mentioned(
        &self,
        case: &CaseRow,
        pinned: &PinnedPolicy,
        by: &UserRow,
        team: &[(UserRow, OrgRole)],
        mentioned: &[i64],
        effects: &mut Effects,
        at: Timestamp,
    ) -> Result<(), DeskError> {
        let policy = &pinned.policy;
        for id in mentioned {
            let Some((user, _)) = team.iter().find(|(u, _)| u.id == *id) else {
                continue;
            };
            let random = ReporterToken::generate()?;
            let reply_to = self.team_reply_to(policy, case.id, user.id, at).await?;
            let mut text = format!(
                "{} mentioned you in a note on case {} ({}).\n\nRead it in Vulndesk: {}\n",
                by.name,
                case.id,
                policy.organisation.name,
                self.link(&format!("/cases/{}", case.id))
            );
            if reply_to.is_some() {
                text.push_str(REPLY_AS_NOTE);
            }
            let subject = format!("[Vulndesk] You were mentioned on case {}", case.id);
            let notice = receipt::Notice {
                to: &user.email,
                subject: &subject,
                text: &text,
                reply_to: reply_to.as_deref(),
            };
            let queued = receipt::team_notice(
                policy,
                &self.notice_sender(policy),
                notice,
                at,
                &random.as_str()[..32],
            )
            .map_err(|e| DeskError::Internal(format!("notice: {e}")))?;
            effects.jobs.push(queued.job);
        }
        Ok(())
    }

    /// Team member `user_id`'s own reply address on case `case_id` (joining them as a
    /// participant), for notices about the case: what they answer joins as their internal
    /// note. `None` when the policy has no `mailto:` contact to receive replies.
    pub(crate) async fn team_reply_to(
        &self,
        policy: &vulndesk_core::policy::Policy,
        case_id: i64,
        user_id: i64,
        at: Timestamp,
    ) -> Result<Option<String>, DeskError> {
        let Some(contact) = receipt::mailto_contact(policy) else {
            return Ok(None);
        };
        let joined = self.store.team_participant(case_id, user_id, at).await?;
        Ok(Some(reply_address(&contact, &joined.reply_tag)))
    }

    /// Queues `text` to the reporter by mail, encrypted to their key if they set one, from
    /// the case's reply address so their answer joins the case.
    async fn queue_to_reporter(
        &self,
        case: &CaseRow,
        pinned: &PinnedPolicy,
        log: &[Recorded],
        text: &str,
        effects: &mut Effects,
        at: Timestamp,
    ) -> Result<(), DeskError> {
        let Some(address) = reporter_address(log) else {
            return Ok(());
        };
        let key = match self.store.reporter_key(case.id).await? {
            None => None,
            Some(row) => match vulndesk_mail::openpgp::PublicKey::parse(&row.armored, at) {
                Ok(key) => Some(key),
                Err(e) => {
                    // An expired key: never fall back to plain text for a case that asked
                    // for encryption; the message stays in the portal.
                    tracing::warn!(case = case.id, error = %e, "reporter key unusable; mail not sent");
                    return Ok(());
                }
            },
        };
        let title = match log.first().map(|r| &r.event) {
            Some(Event::Reported { title, .. }) => title.clone(),
            _ => format!("Case {}", case.id),
        };
        let to = Mailbox {
            name: None,
            email: address,
        };
        let mail = Outgoing {
            reply_tag: &case.reply_tag,
            subject: &title,
            text,
            key: key.as_ref(),
        };
        // A policy without a mailto: contact sends nothing: the message is in the portal.
        queue_mail(&pinned.policy, to, &mail, at, effects)?;
        Ok(())
    }
}

/// Teammates named as `@name` (their address's local part) or `@address`.
pub fn mentions(body: &str, team: &[(UserRow, OrgRole)]) -> Vec<i64> {
    let mut found = Vec::new();
    for word in body.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')')) {
        let Some(handle) = word.strip_prefix('@') else {
            continue;
        };
        let handle = handle
            .trim_end_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if handle.is_empty() {
            continue;
        }
        for (user, _) in team {
            let local = user.email.split('@').next().unwrap_or_default();
            if (local == handle || user.email == handle) && !found.contains(&user.id) {
                found.push(user.id);
            }
        }
    }
    found
}

/// The reporter's e-mail address, from the report or their first mail.
pub fn reporter_address(log: &[Recorded]) -> Option<String> {
    log.iter().find_map(|r| match &r.event {
        Event::Reported {
            reporter_contact: Some(c),
            ..
        } => EmailAddress::parse(c).ok().map(|a| a.as_str().to_owned()),
        Event::MailReceived { from, .. } => EmailAddress::parse(from)
            .ok()
            .map(|a| a.as_str().to_owned()),
        _ => None,
    })
}

/// A message from a case's participant address (`reply_tag`), encrypted to `key` when
/// there is one.
pub(crate) struct Outgoing<'a> {
    pub reply_tag: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub key: Option<&'a vulndesk_mail::openpgp::PublicKey>,
}

/// Queues `mail` to `to` as an effect of the write it goes with; `false` when the policy
/// has no mailto: contact to send it from.
pub(crate) fn queue_mail(
    policy: &vulndesk_core::policy::Policy,
    to: Mailbox,
    mail: &Outgoing<'_>,
    at: Timestamp,
    effects: &mut Effects,
) -> Result<bool, DeskError> {
    let random = ReporterToken::generate()?;
    let answering = receipt::Answering {
        reply_tag: mail.reply_tag,
        to,
        languages: &[],
        subject: mail.subject,
        in_reply_to: None,
        references: Vec::new(),
        at,
        random_hex: &random.as_str()[..32],
    };
    match receipt::message(policy, answering, mail.text, mail.key) {
        Some(queued) => {
            let queued = queued.map_err(|e| DeskError::Internal(format!("mail: {e}")))?;
            effects.jobs.push(queued.job);
            effects.thread_ids.push(queued.message_id);
            Ok(true)
        }
        None => Ok(false),
    }
}
