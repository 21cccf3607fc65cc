//! Coordination under embargo: an organisation's registry of parties (vendors,
//! distributions, service providers). The entry is checked by the core
//! ([`vulndesk_core::coordination::check`]), the key here, where the mail crate can read it.

use jiff::Timestamp;
use vulndesk_core::actor::Actor;
use vulndesk_core::case::Event;
use vulndesk_core::command::{self, Command, Context};
use vulndesk_core::coordination::{self, PartyInput, PartyKind};
use vulndesk_core::policy::Policy;
use vulndesk_mail::openpgp::PublicKey;
use vulndesk_mail::parse::Mailbox;
use vulndesk_store::{
    CaseRow, Effects, IfExists, NewParty, NewPartyParticipant, Organisation, PartyRow, Put,
    StoreError,
};

use crate::followup::public_key;
use crate::reporter_token::ReporterToken;
use crate::{Desk, DeskError};

/// A registry entry to write: what was typed, and the party's key when one was given.
#[derive(Debug, Clone, Default)]
pub struct PartyEntry {
    pub input: PartyInput,
    /// An ASCII-armoured OpenPGP public key; blank keeps none.
    pub key: Option<String>,
}

/// A registry entry as the API and `vulndesk party list --format json` show it: the key by
/// its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PartyView {
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub contacts: Vec<String>,
    pub products: Vec<String>,
    pub embargo: Option<String>,
    pub terms: String,
    pub key_fingerprint: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl PartyView {
    pub fn of(row: &PartyRow) -> PartyView {
        let p = &row.party;
        PartyView {
            slug: p.slug.clone(),
            name: p.name.clone(),
            kind: p.kind.clone(),
            contacts: p.contacts.clone(),
            products: p.products.clone(),
            embargo: p.embargo.clone(),
            terms: p.terms.clone(),
            key_fingerprint: p.key.as_ref().map(|(f, _)| f.clone()),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    pub added: usize,
    pub replaced: usize,
}

impl Desk {
    /// The organisation `slug`, or the error naming it.
    pub async fn organisation(&self, slug: &str) -> Result<Organisation, DeskError> {
        self.store()
            .organisation_by_slug(slug)
            .await?
            .ok_or_else(|| DeskError::UnknownProduct {
                field: "organisation",
                message: format!("no organisation {slug:?} on this desk"),
            })
    }

    /// `org`'s registry of parties, by kind then name.
    pub async fn parties(&self, org: &Organisation) -> Result<Vec<PartyRow>, DeskError> {
        Ok(self.store().parties(org.id).await?)
    }

    /// The party `slug` of `org`'s registry.
    pub async fn party(&self, org: &Organisation, slug: &str) -> Result<PartyRow, DeskError> {
        self.store()
            .party(org.id, slug)
            .await?
            .ok_or(DeskError::NotFound)
    }

    /// Looks the key of party `slug` of `org` up in its contacts' Web Key Directories, in
    /// order, and keeps the first usable key that names its address. The entry after, and
    /// where the key was found; or an error naming every attempt, so the officer can paste
    /// the key instead.
    pub async fn find_party_key(
        &self,
        org: &Organisation,
        slug: &str,
        at: Timestamp,
    ) -> Result<(PartyRow, String), DeskError> {
        let current = self.party(org, slug).await?;
        let mut failures = Vec::new();
        for contact in &current.party.contacts {
            match self.wkd.lookup(contact, at).await {
                Ok(found) => {
                    let key = (found.key.fingerprint(), found.key.armored());
                    self.store().set_party_key(current.id, &key, at).await?;
                    return Ok((self.party(org, slug).await?, found.url));
                }
                Err(not_found) => failures.push(not_found.to_string()),
            }
        }
        Err(DeskError::invalid(
            "key",
            format!(
                "no usable key found by Web Key Directory for {}'s contacts ({}); paste the key instead",
                current.party.name,
                failures.join("; ")
            ),
        ))
    }

    /// The accounts that answer for `party`: `(user id, e-mail address, name)`.
    pub async fn party_accounts(
        &self,
        party: &PartyRow,
    ) -> Result<Vec<(i64, String, String)>, DeskError> {
        Ok(self.store().party_accounts(party.id).await?)
    }

    /// Links the account signing in as `email` to `party` (`linked`), so that its holder
    /// reaches the party's portal on every case the party is invited to, or unlinks it.
    /// Recorded in the account log by `actor`; the accounts that answer for the party after.
    pub async fn link_party_account(
        &self,
        party: &PartyRow,
        email: &str,
        linked: bool,
        actor: &str,
    ) -> Result<Vec<(i64, String, String)>, DeskError> {
        let email = email.trim();
        let user = self.store().user_by_email(email).await?;
        let user = match user {
            Some(user) if linked && user.disabled_at.is_some() => {
                return Err(DeskError::invalid(
                    "email",
                    format!("the account {email} is disabled: an administrator enables it first"),
                ));
            }
            Some(user) => user,
            None => {
                return Err(DeskError::invalid(
                    "email",
                    format!(
                        "no account signs in as {email:?}: an administrator creates it first \
                         (vulndesk user add {email} --name NAME), with no role in the \
                         organisation"
                    ),
                ));
            }
        };
        let changed = self
            .store()
            .link_party_account(party.id, user.id, linked, Timestamp::now())
            .await?;
        if changed {
            crate::accounts::audit(
                self,
                if linked {
                    "party_account_linked"
                } else {
                    "party_account_unlinked"
                },
                actor,
                serde_json::json!({ "user_id": user.id, "org_id": party.org_id, "party": party.party.slug }),
            )
            .await?;
        }
        self.party_accounts(party).await
    }

    /// Checks `entry` and writes it to `org`'s registry: a new slug is added; a taken one is
    /// refused or replaced as `if_exists` says.
    pub async fn put_party(
        &self,
        org: &Organisation,
        entry: &PartyEntry,
        if_exists: IfExists,
        at: Timestamp,
    ) -> Result<(PartyRow, Put), DeskError> {
        let new = checked(entry, at)?;
        self.write_party(org, &new, if_exists, at).await
    }

    /// Replaces the party `slug` of `org`'s registry with `entry` (whose slug, if any, must
    /// be the same): an edit. A blank key keeps the party's key. A party that is not there
    /// is not added.
    pub async fn edit_party(
        &self,
        org: &Organisation,
        slug: &str,
        entry: &PartyEntry,
        at: Timestamp,
    ) -> Result<PartyRow, DeskError> {
        let current = self.party(org, slug).await?;
        if let Some(given) = entry.input.slug.as_deref().map(str::trim)
            && !given.is_empty()
            && given != slug
        {
            return Err(DeskError::invalid(
                "slug",
                format!("slug cannot change from {slug:?} to {given:?}: add the party anew"),
            ));
        }
        let mut input = entry.input.clone();
        input.slug = Some(current.party.slug);
        let mut new = checked(
            &PartyEntry {
                input,
                key: entry.key.clone(),
            },
            at,
        )?;
        if new.key.is_none() {
            new.key = current.party.key;
        }
        Ok(self.write_party(org, &new, IfExists::Replace, at).await?.0)
    }

    /// Imports entries into `org`'s registry, each numbered by where it came from (a line
    /// of a file). Every entry is checked first, and none is written unless all are good:
    /// the error lists each bad entry by number and field. A slug already in the registry
    /// is replaced; one given twice is an error.
    pub async fn import_parties(
        &self,
        org: &Organisation,
        entries: &[(u64, PartyEntry)],
        at: Timestamp,
    ) -> Result<Imported, DeskError> {
        let mut problems = Vec::new();
        let mut checked_entries: Vec<(u64, NewParty)> = Vec::new();
        for (line, entry) in entries {
            match checked(entry, at) {
                Ok(new) => {
                    if let Some((first, _)) =
                        checked_entries.iter().find(|(_, n)| n.slug == new.slug)
                    {
                        problems.push(format!(
                            "line {line}: slug {:?} is given on line {first} too",
                            new.slug
                        ));
                    }
                    checked_entries.push((*line, new));
                }
                Err(e) => {
                    let message = e.to_string();
                    match e.field() {
                        Some(field) if !message.starts_with(field) => {
                            problems.push(format!("line {line}: {field}: {message}"))
                        }
                        _ => problems.push(format!("line {line}: {message}")),
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(DeskError::invalid(
                "file",
                format!(
                    "nothing was imported; {} of {} entries need fixing:\n{}",
                    problems.len(),
                    entries.len(),
                    problems.join("\n")
                ),
            ));
        }
        let mut imported = Imported::default();
        for (_, new) in &checked_entries {
            match self.write_party(org, new, IfExists::Replace, at).await?.1 {
                Put::Added => imported.added += 1,
                Put::Replaced => imported.replaced += 1,
            }
        }
        Ok(imported)
    }

    async fn write_party(
        &self,
        org: &Organisation,
        new: &NewParty,
        if_exists: IfExists,
        at: Timestamp,
    ) -> Result<(PartyRow, Put), DeskError> {
        self.store()
            .put_party(org.id, new, if_exists, at)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(message) => DeskError::Conflict {
                    message: format!(
                        "{message} in {}'s registry: choose another slug, or edit that party",
                        org.name
                    ),
                },
                e => e.into(),
            })
    }
}

/// `entry` checked: the core's rules for the entry, the key readable and usable at `at`.
fn checked(entry: &PartyEntry, at: Timestamp) -> Result<NewParty, DeskError> {
    let party =
        coordination::check(&entry.input).map_err(|e| DeskError::invalid(e.field, e.message))?;
    let key = match entry.key.as_deref().filter(|k| !k.trim().is_empty()) {
        Some(armored) => {
            let key = public_key(armored, "key", at)?;
            Some((key.fingerprint(), key.armored()))
        }
        None => None,
    };
    Ok(NewParty {
        slug: party.slug,
        name: party.name,
        kind: party.kind.as_str().to_owned(),
        contacts: party
            .contacts
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        products: party.products,
        embargo: party.embargo.map(|p| p.to_string()),
        terms: party.terms,
        key,
    })
}

/// What a party is written to as: its slug and name, its contacts, its key, its reply
/// address's tag, and (only while it is being invited) its new portal token.
#[derive(Clone)]
struct Addressee {
    slug: String,
    name: String,
    contacts: Vec<String>,
    key: Option<PublicKey>,
    reply_tag: String,
    token: Option<String>,
    party_id: i64,
}

/// Everything the mail to a case's parties needs, looked up before the write, so that the
/// mail is built from the events the write actually records (decided again after a lost
/// race), inside the write.
pub(crate) struct PartyMail {
    case_id: i64,
    org: String,
    addressees: Vec<Addressee>,
    portal_base: String,
}

impl PartyMail {
    /// The mail `events` cause: invitations, the team's messages, news of a broken
    /// embargo; and the new parties' participant rows.
    pub(crate) fn effects(
        &self,
        policy: &Policy,
        log: &[vulndesk_core::case::Recorded],
        events: &[Event],
        at: Timestamp,
    ) -> Result<Effects, DeskError> {
        let mut effects = Effects::default();
        let state_embargo = events.iter().find_map(|e| match e {
            Event::EmbargoSet { end, terms } => Some((*end, terms.clone())),
            _ => None,
        });
        for event in events {
            let (to, text): (Vec<&Addressee>, String) = match event {
                Event::PartiesInvited {
                    parties,
                    reply_by,
                    summary,
                } => {
                    for invitee in parties {
                        let Some(a) = self.addressee(&invitee.party) else {
                            continue;
                        };
                        let (Some(token), true) = (&a.token, a.party_id > 0) else {
                            continue;
                        };
                        effects.parties.push(NewPartyParticipant {
                            party_id: a.party_id,
                            reply_tag: a.reply_tag.clone(),
                            token_hash: crate::reporter_token::token_hash(token),
                        });
                        let link = format!("{}/p/{}/{token}", self.portal_base, self.case_id);
                        let mut text = format!(
                            "{org} invites {name} to coordinate on a vulnerability under embargo (case {id}).\n\n{summary}\n\n",
                            org = self.org,
                            name = a.name,
                            id = self.case_id,
                        );
                        if let Some((end, terms)) = &state_embargo {
                            text.push_str(&embargo_lines(*end, terms));
                        }
                        text.push_str(&format!(
                            "Please accept or decline the invitation by {reply_by} in your portal:\n{link}\n\n\
                             There you see the embargo's end in your own time zone, give your status \
                             (affected, not affected, fixed, under investigation) and write to the team. \
                             The link is a secret: keep it, and replace it there if it leaks. \
                             Replying to this mail also reaches the team; only your organisation and \
                             the team read your thread.\n"
                        ));
                        self.queue(policy, a, &text, at, &mut effects)?;
                    }
                    continue;
                }
                Event::PartyMessage {
                    party,
                    body,
                    from_party: false,
                    files,
                } => {
                    let to = match party {
                        Some(slug) => self.addressed([slug.as_str()])?,
                        None => self.addressed(
                            coordination::state(log)
                                .parties
                                .iter()
                                .map(|p| p.invitee.party.as_str()),
                        )?,
                    };
                    // Files stay on the desk: the portal serves them to the party signed in
                    // or holding its link, where mail would spread them further.
                    let attached = match files.len() {
                        0 => String::new(),
                        n => format!(
                            "{n} file{s} came with this message: {names}. Download {them} in your portal.\n\n",
                            s = if n == 1 { "" } else { "s" },
                            names = files
                                .iter()
                                .map(|f| f.filename.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                            them = if n == 1 { "it" } else { "them" },
                        ),
                    };
                    let text = format!(
                        "{org}'s security team writes about case {id}{all}:\n\n{body}\n\n{attached}\
                         Answer by replying to this mail, or in your portal (the link in the invitation).\n",
                        org = self.org,
                        id = self.case_id,
                        all = if party.is_none() {
                            ", to every party"
                        } else {
                            ""
                        },
                    );
                    (to, text)
                }
                Event::PartiesReminded { parties } => {
                    let text = format!(
                        "{org} is waiting for your status on case {id}: are your products \
                         affected, not affected, fixed, or still under investigation?\n\n\
                         Answer in your portal (the link in the invitation), or by replying to \
                         this mail.\n",
                        org = self.org,
                        id = self.case_id,
                    );
                    let to = self.addressed(parties.iter().map(String::as_str))?;
                    (to, text)
                }
                Event::PartiesToldOfBreak { parties } => {
                    let why = events
                        .iter()
                        .find_map(|e| match e {
                            Event::Leaked { on } => Some(format!("its details leaked on {on}")),
                            Event::ExploitationObserved { on } => {
                                Some(format!("active exploitation was observed on {on}"))
                            }
                            _ => None,
                        })
                        .unwrap_or_else(|| "it broke".to_owned());
                    let text = format!(
                        "The embargo on case {id} with {org} is broken: {why}.\n\n\
                         The details may be public now. Protect your users without waiting for the \
                         coordinated release; {org}'s team will write with the new timeline. \
                         Your portal (the link in the invitation) has the latest.\n",
                        id = self.case_id,
                        org = self.org,
                    );
                    let to = self.addressed(parties.iter().map(String::as_str))?;
                    (to, text)
                }
                _ => continue,
            };
            for a in to {
                self.queue(policy, a, &text, at, &mut effects)?;
            }
        }
        Ok(effects)
    }

    /// The portal addresses of the parties `written` invited.
    pub(crate) fn portals(&self, written: &crate::Appended) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for row in &written.rows {
            let Ok(Event::PartiesInvited { parties, .. }) = serde_json::from_str(&row.payload)
            else {
                continue;
            };
            for invitee in parties {
                if let Some(Addressee {
                    token: Some(token), ..
                }) = self.addressee(&invitee.party)
                {
                    let link = format!("/p/{}/{token}", self.case_id);
                    out.push((invitee.party, link));
                }
            }
        }
        out
    }

    fn addressee(&self, slug: &str) -> Option<&Addressee> {
        self.addressees.iter().find(|a| a.slug == slug)
    }

    /// The addressees of `slugs`. A party the write names that this mail was not prepared
    /// for was invited by a write that got there first: refused, so that the write is made
    /// again with it, rather than leaving it untold.
    fn addressed<'s>(
        &self,
        slugs: impl IntoIterator<Item = &'s str>,
    ) -> Result<Vec<&Addressee>, DeskError> {
        slugs
            .into_iter()
            .map(|slug| {
                self.addressee(slug).ok_or_else(|| DeskError::Conflict {
                    message: format!(
                        "party {slug:?} was invited to case {} while this was being written: \
                         do it again, so that it is told too",
                        self.case_id
                    ),
                })
            })
            .collect()
    }

    /// One message to each of the party's contacts, from its own reply address, encrypted
    /// to its key when it has one.
    fn queue(
        &self,
        policy: &Policy,
        a: &Addressee,
        text: &str,
        at: Timestamp,
        effects: &mut Effects,
    ) -> Result<(), DeskError> {
        let subject = format!(
            "[{} embargo] Coordination on case {}",
            self.org, self.case_id
        );
        let mail = crate::workspace::Outgoing {
            reply_tag: &a.reply_tag,
            subject: &subject,
            text,
            key: a.key.as_ref(),
        };
        for contact in &a.contacts {
            let to = Mailbox {
                name: Some(a.name.clone()),
                email: contact.clone(),
            };
            if !crate::workspace::queue_mail(policy, to, &mail, at, effects)? {
                tracing::warn!(
                    case = self.case_id,
                    "the policy has no mailto: contact to write to parties from; see their portal"
                );
            }
        }
        Ok(())
    }
}

/// The embargo's end and terms, as mail states them: the end in UTC, named as such.
fn embargo_lines(end: Timestamp, terms: &str) -> String {
    let mut text = format!(
        "Embargo until {} (UTC); your portal shows it in your own time zone.\n",
        end.strftime("%Y-%m-%d %H:%M")
    );
    if !terms.trim().is_empty() {
        text.push_str(&format!("Terms: {}\n", terms.trim()));
    }
    text.push('\n');
    text
}

/// Which parties to invite: by slug, and by kind ("every service provider").
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub parties: Vec<String>,
    pub kinds: Vec<PartyKind>,
}

impl Desk {
    /// The mail context for `case`'s parties: those already on it, and `inviting` (registry
    /// entries about to be invited, each given a reply tag and a portal token).
    pub(crate) async fn party_mail(
        &self,
        case: &CaseRow,
        org: &str,
        inviting: &[PartyRow],
        at: Timestamp,
    ) -> Result<PartyMail, DeskError> {
        let registry: Vec<PartyRow> = match self.store().case_org(case.id).await? {
            Some(org_id) => self.store().parties(org_id).await?,
            None => Vec::new(),
        };
        let key = |row: &PartyRow| -> Option<PublicKey> {
            let (_, armored) = row.party.key.as_ref()?;
            PublicKey::parse(armored, at)
                .inspect_err(|e| {
                    tracing::warn!(party = %row.party.slug, error = %e, "party key unusable; mail to it is not encrypted")
                })
                .ok()
        };
        let mut addressees = Vec::new();
        for participant in self.store().participants(case.id).await? {
            let Some((party_id, slug)) = participant.party else {
                continue;
            };
            let Some(row) = registry.iter().find(|r| r.id == party_id) else {
                continue;
            };
            addressees.push(Addressee {
                slug,
                name: row.party.name.clone(),
                contacts: row.party.contacts.clone(),
                key: key(row),
                reply_tag: participant.reply_tag,
                token: None,
                party_id: 0,
            });
        }
        for row in inviting {
            if addressees.iter().any(|a| a.slug == row.party.slug) {
                continue;
            }
            addressees.push(Addressee {
                slug: row.party.slug.clone(),
                name: row.party.name.clone(),
                contacts: row.party.contacts.clone(),
                key: key(row),
                reply_tag: vulndesk_store::new_reply_tag()?,
                token: Some(ReporterToken::generate()?.as_str().to_owned()),
                party_id: row.id,
            });
        }
        Ok(PartyMail {
            case_id: case.id,
            org: org.to_owned(),
            addressees,
            portal_base: self.link(""),
        })
    }

    /// The registry entries `selection` names in `org_id`'s registry, or the error naming
    /// what is not there.
    pub async fn select_parties(
        &self,
        org_id: i64,
        selection: &Selection,
    ) -> Result<Vec<PartyRow>, DeskError> {
        let registry = self.store().parties(org_id).await?;
        let mut chosen: Vec<PartyRow> = Vec::new();
        for slug in &selection.parties {
            let row = registry
                .iter()
                .find(|r| r.party.slug == *slug)
                .ok_or_else(|| {
                    DeskError::invalid(
                        "parties",
                        format!("no party {slug:?} in the registry: add it there first"),
                    )
                })?;
            if !chosen.iter().any(|c| c.id == row.id) {
                chosen.push(row.clone());
            }
        }
        for kind in &selection.kinds {
            let of_kind: Vec<&PartyRow> = registry
                .iter()
                .filter(|r| PartyKind::parse(&r.party.kind) == Some(*kind))
                .collect();
            if of_kind.is_empty() {
                return Err(DeskError::invalid(
                    "kinds",
                    format!("the registry holds no {}", kind.plural()),
                ));
            }
            for row in of_kind {
                if !chosen.iter().any(|c| c.id == row.id) {
                    chosen.push(row.clone());
                }
            }
        }
        if chosen.is_empty() {
            return Err(DeskError::invalid(
                "parties",
                "choose at least one party, or a kind of party",
            ));
        }
        Ok(chosen)
    }
}

impl Desk {
    /// Records what an invited party asks (`command`: an answer, a status, a message in its
    /// thread), as that party, decided on the log the write follows.
    pub async fn as_party(
        &self,
        case: &CaseRow,
        participant: &vulndesk_store::ParticipantRow,
        command: Command,
        at: Timestamp,
    ) -> Result<crate::Appended, DeskError> {
        self.as_party_with(case, participant, command, Effects::default(), at)
            .await
    }

    /// A party's message in its own thread, with files (within the policy's attachment
    /// limits, which the form's reader enforced), stored in the same write.
    pub async fn party_write(
        &self,
        case: &CaseRow,
        participant: &vulndesk_store::ParticipantRow,
        body: String,
        uploads: Vec<crate::attachments::Upload>,
        at: Timestamp,
    ) -> Result<crate::Appended, DeskError> {
        let Some((_, slug)) = &participant.party else {
            return Err(DeskError::NotFound);
        };
        let (files, stored) = crate::attachments::files(uploads);
        let command = Command::PartyWrite {
            party: slug.clone(),
            body,
            files,
        };
        let effects = Effects {
            attachments: stored,
            ..Effects::default()
        };
        self.as_party_with(case, participant, command, effects, at)
            .await
    }

    async fn as_party_with(
        &self,
        case: &CaseRow,
        participant: &vulndesk_store::ParticipantRow,
        command: Command,
        effects: Effects,
        at: Timestamp,
    ) -> Result<crate::Appended, DeskError> {
        let Some((_, slug)) = &participant.party else {
            return Err(DeskError::NotFound);
        };
        let pinned = self.policy(case.policy_version_id).await?;
        let ctx = Context {
            by: command::By::Party,
            today: pinned.policy.calendar().local_date(at),
            officers: &[],
            member: None,
            org_cases: &[],
        };
        let actor = Actor::Party(slug.clone());
        self.decide_and_append(case, &pinned, &actor, &ctx, command, effects, at, None)
            .await
    }

    /// Gives a party a new portal link; the presented one (`old_hash`) stops working at
    /// once. Another replacement that got there first wins, and this one is refused.
    pub async fn replace_party_token(
        &self,
        participant: &vulndesk_store::ParticipantRow,
        old_hash: &[u8],
    ) -> Result<ReporterToken, DeskError> {
        let token = ReporterToken::generate()?;
        if self
            .store()
            .replace_party_token(participant.id, old_hash, &token.hash())
            .await?
        {
            Ok(token)
        } else {
            Err(DeskError::NotFound)
        }
    }
}

impl Desk {
    /// Reminds the silent parties of every open case that are due a reminder at `now` (see
    /// [`coordination::due_reminders`]), each reminder recorded with its mail and decided
    /// on the log the write follows, so two runs at once remind once. Returns how many
    /// cases had parties reminded.
    pub async fn remind_parties(&self, now: Timestamp) -> Result<usize, DeskError> {
        let mut reminded = 0;
        for case_id in self.store().cases_with_parties().await? {
            let Some(row) = self.store().case(case_id).await? else {
                continue;
            };
            let pinned = self.policy(row.policy_version_id).await?;
            let policy = &pinned.policy;
            // Whether anyone is due is decided without the threads' messages: reading every
            // message of every coordinated case on each reminder run is not needed.
            let log = crate::cases::log(&self.store().events_around_threads(case_id, None).await?)?;
            let state = vulndesk_core::case::state(&log);
            if matches!(
                state,
                vulndesk_core::case::State::Declined | vulndesk_core::case::State::Closed
            ) {
                continue;
            }
            let today = policy.calendar().local_date(now);
            if coordination::due_reminders(policy, &log, today).is_empty() {
                continue;
            }
            let mail = self
                .party_mail(&row, &policy.organisation.name, &[], now)
                .await?;
            let written = self
                .append(&row, &Actor::Desk, now, |log| {
                    let due = coordination::due_reminders(policy, log, today);
                    let events = if due.is_empty() {
                        Vec::new()
                    } else {
                        vec![Event::PartiesReminded { parties: due }]
                    };
                    let effects = mail.effects(policy, log, &events, now)?;
                    Ok(crate::cases::Write { events, effects })
                })
                .await;
            match written {
                Ok(written) if !written.rows.is_empty() => reminded += 1,
                Ok(_) => {}
                // One case's trouble does not keep the others' parties from their reminders;
                // the next run tries this one again.
                Err(e) => {
                    tracing::warn!(case = case_id, error = %e, "parties not reminded this time")
                }
            }
        }
        Ok(reminded)
    }
}
