//! Mail intake: one raw RFC 5322 message in, a case event out. Both adapters use it, the
//! `vulndesk mail ingest` pipe for an MTA and the IMAP poller, so a message takes the same
//! path whichever way it came.
//!
//! The order is the one `vulndesk_mail` documents. The message is parsed (which never
//! fails). A Message-ID (or, without one, the exact bytes) stored before makes it a
//! duplicate. It is routed: a per-case reply address first, then In-Reply-To and References,
//! else a new case. It is decrypted and its signature checked. Then the raw bytes, the events
//! and the files are written in one store transaction, so a message is never half-ingested.
//! A new case's automatic receipt is queued in that same transaction.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rand::TryRng;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use vulndesk_core::access::OrgRole;
use vulndesk_core::actor::Actor;
use vulndesk_core::case::{Channel, Event, Recorded};
use vulndesk_core::participant::Role;
use vulndesk_core::policy::Policy;
use vulndesk_mail::openpgp::{OrgKey, PublicKey, Verification};
use vulndesk_mail::receipt::{Answering, Queued, offered, receipt_with_note};
use vulndesk_mail::{Inbound, Readable, SecretString, thread};

use vulndesk_desk::attachments::{Upload, described};
use vulndesk_desk::intake::{DESCRIPTION_MAX_BYTES, REPORTER, TITLE_MAX_CHARS};
use vulndesk_desk::{Desk, DeskError, Opening, PinnedPolicy, Write, cases};
use vulndesk_store::{
    CaseRow, Effects, NewAttachment, NewRawMessage, Organisation, Store, StoreError, new_reply_tag,
};
/// The `channel` of reports and replies that came by mail.
const CHANNEL: Channel = Channel::Email;
/// Where the ingest pipe and the poller tell the operator to put the passphrase.
pub const PASSPHRASE_HINT: &str = "set VULNDESK_KEY_PASSPHRASE or --passphrase-file";

/// Why a message could not be stored. Every variant leaves the message with its sender
/// (the MTA's queue, the IMAP mailbox) to be tried again: a report is never dropped because
/// of our own configuration or an outage.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The database is unreachable or failed.
    #[error("database: {0}")]
    Database(StoreError),
    /// The configuration does not fit the database (unknown organisation or product, no
    /// policy loaded) or stored data does not decode.
    #[error("{0}")]
    Setup(String),
    /// The database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl IngestError {
    /// Whether the next messages would fail the same way (the database is unreachable),
    /// so a poller should stop its pass instead of trying each.
    pub fn is_outage(&self) -> bool {
        matches!(
            self,
            IngestError::Database(StoreError::Database(_) | StoreError::Migrate(_))
                | IngestError::Unavailable(_)
        )
    }
}

impl From<StoreError> for IngestError {
    fn from(e: StoreError) -> Self {
        IngestError::Database(e)
    }
}

impl From<DeskError> for IngestError {
    fn from(e: DeskError) -> Self {
        match e {
            // What the store said, kept so ingest can quarantine or skip the message.
            DeskError::Unstorable(why) => IngestError::Database(StoreError::Unstorable(why)),
            DeskError::Duplicate(what) => IngestError::Database(StoreError::Duplicate(what)),
            DeskError::Unavailable(detail) => IngestError::Unavailable(detail),
            DeskError::Internal(detail) => IngestError::Setup(detail),
            other => IngestError::Setup(other.to_string()),
        }
    }
}

/// The case a message joins, and as whom.
struct Joining {
    case: CaseRow,
    role: Role,
    /// For a team member: their account.
    member: Option<vulndesk_store::UserRow>,
    /// For a party: its slug.
    party: Option<String>,
}

/// What ingesting one message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// A new case was opened; `receipt` tells whether an automatic receipt was queued.
    Opened { case_id: i64, receipt: bool },
    /// The message joined an existing case.
    Joined { case_id: i64 },
    /// The message was stored before; nothing new was written (unless a receipt that an
    /// interrupted ingest had not queued yet, see [`Intake::ingest`]).
    Duplicate { case_id: Option<i64> },
}

/// The organisation key as far as ingest can use it.
pub enum LoadedKey {
    /// Unlocked with the configured passphrase (the key stays protected in memory).
    Ready(Box<OrgKey>, SecretString),
    /// Why there is none; becomes the "cannot decrypt: ..." warning of encrypted mail.
    Missing(String),
}

impl LoadedKey {
    /// The organisation's stored key, checked against `passphrase`. Never fails for a key
    /// problem: plain mail must still be taken in, so a missing key, a missing passphrase or a
    /// wrong one only means encrypted mail is stored unread (and the problem is logged).
    pub async fn load(
        store: &Store,
        org: &Organisation,
        passphrase: Option<SecretString>,
    ) -> Result<LoadedKey, StoreError> {
        let stored = store.org_key(org.id).await?;
        Ok(match (stored, passphrase) {
            (None, _) => LoadedKey::Missing(format!(
                "no organisation key loaded: {} has no key (vulndesk mail key generate)",
                org.slug
            )),
            (Some(_), None) => LoadedKey::Missing(format!(
                "no organisation key loaded: no passphrase configured ({PASSPHRASE_HINT})"
            )),
            (Some(row), Some(passphrase)) => {
                let armored = String::from_utf8_lossy(&row.secret_protected);
                match OrgKey::import(&armored, &passphrase) {
                    Ok(key) => LoadedKey::Ready(Box::new(key), passphrase),
                    Err(e) => {
                        tracing::error!(org = %org.slug, error = %e, "cannot load the organisation key; encrypted mail will be stored unread");
                        LoadedKey::Missing(format!("no organisation key loaded: {e}"))
                    }
                }
            }
        })
    }

    fn pair(&self) -> Option<(&OrgKey, &SecretString)> {
        match self {
            LoadedKey::Ready(key, passphrase) => Some((key, passphrase)),
            LoadedKey::Missing(_) => None,
        }
    }
}

/// One organisation's mail intake: where new reports go and the key that reads them.
pub struct Intake {
    store: Store,
    desk: Desk,
    org: Organisation,
    product: Option<String>,
    key: LoadedKey,
}

/// The organisation's latest policy and the product new cases are filed under.
struct Scope {
    pinned: Arc<PinnedPolicy>,
    product_id: i64,
    product: String,
    /// Set when the product was chosen for want of a `--product`.
    note: Option<String>,
}

/// A parsed message with the header facts ingest needs beyond [`Inbound`].
struct Message<'a> {
    raw: &'a [u8],
    sha256: String,
    inbound: Inbound,
    /// Languages the sender reads, from `Content-Language` and `Accept-Language`.
    languages: Vec<String>,
    /// RFC 3834: the message was sent by a machine, so nothing automatic answers it.
    automatic: bool,
}

impl Intake {
    /// Intake for the organisation `org` (a slug), filing new reports under `product` (a slug)
    /// or, without one, under the policy's only product (its first one if it has several).
    pub async fn new(
        store: Store,
        org: &str,
        product: Option<String>,
        passphrase: Option<SecretString>,
    ) -> Result<Intake, IngestError> {
        let org = store.organisation_by_slug(org).await?.ok_or_else(|| {
            IngestError::Setup(format!(
                "no organisation {org:?} in the database (load its policy with vulndesk init --policy FILE)"
            ))
        })?;
        let key = LoadedKey::load(&store, &org, passphrase).await?;
        let intake = Intake {
            desk: Desk::new(store.clone()),
            store,
            org,
            product,
            key,
        };
        // Fails early on a wrong --product or a missing policy.
        intake.scope().await?;
        Ok(intake)
    }

    /// Whether encrypted mail can be read, and if not, why.
    pub fn key_problem(&self) -> Option<&str> {
        match &self.key {
            LoadedKey::Ready(..) => None,
            LoadedKey::Missing(why) => Some(why),
        }
    }

    /// Stores `raw` (received at `at` from `source`, e.g. `"pipe"` or `"imap:INBOX"`) in the
    /// case it belongs to, or in a new one.
    ///
    /// The raw bytes go into the same transaction as the case's events, so once this returns
    /// the message is durable and may be removed from wherever it came from. A message stored
    /// before is [`Ingested::Duplicate`], which is how redelivery stays harmless.
    ///
    /// A new case's automatic receipt is queued in the case's own transaction (its reply tag
    /// is drawn first). A duplicate of the message that opened a case without a receipt
    /// (one opened before the policy had a receipt text) queues the missing one.
    pub async fn ingest(
        &self,
        raw: &[u8],
        source: &str,
        at: Timestamp,
    ) -> Result<Ingested, IngestError> {
        let mut inbound = Inbound::parse(raw);
        normalise_headers(&mut inbound);
        let sha256 = hex::encode(Sha256::digest(raw));
        if let Some(case_id) = self.stored_before(&inbound, &sha256).await? {
            return self.duplicate(raw, inbound, sha256, case_id, at).await;
        }
        let scope = self.scope().await?;
        let joining = self.route(&inbound).await?;
        let known = match &joining {
            // A team member's signature is not checked against the reporter's key.
            Some(j) if j.role == Role::Reporter => self.reporter_keys(j.case.id, at).await?,
            _ => Vec::new(),
        };
        let message = Message::new(raw, sha256, inbound);
        let readable = self.decrypt(&message, &known);
        let written = match joining {
            Some(joining) => self.join(&joining, &message, &readable, source, at).await,
            None => self.open(&scope, &message, &readable, source, at).await,
        };
        let written = match written {
            Err(IngestError::Database(StoreError::Unstorable(why))) => {
                self.quarantine(&scope, &message, source, at, &why).await
            }
            other => other,
        };
        match written {
            Err(IngestError::Database(StoreError::Duplicate(_))) => {
                // Another delivery of the same message won the race; it is stored once.
                let case_id = self
                    .stored_before(&message.inbound, &message.sha256)
                    .await?;
                Ok(Ingested::Duplicate {
                    case_id: case_id.flatten(),
                })
            }
            other => other,
        }
    }

    /// `Some(case)` if this message was stored before (the case it was filed under, when it
    /// can be found), `None` if it is new.
    async fn stored_before(
        &self,
        inbound: &Inbound,
        sha256: &str,
    ) -> Result<Option<Option<i64>>, IngestError> {
        // The same keys as the store's unique constraints: the Message-ID, or for a message
        // without one its bytes.
        // Both are scoped to this organisation: another organisation's copy of the same mail
        // is its own report, and its case number is never ours to name.
        let org = self.org.id;
        match &inbound.message_id {
            Some(id) if self.store.raw_message_exists(org, id).await? => Ok(Some(
                self.store
                    .case_for_message_ids(org, std::slice::from_ref(id))
                    .await?,
            )),
            Some(_) => Ok(None),
            None => Ok(self
                .store
                .raw_message(org, sha256)
                .await?
                .map(|row| Some(row.case_id))),
        }
    }

    async fn duplicate(
        &self,
        raw: &[u8],
        inbound: Inbound,
        sha256: String,
        case_id: Option<i64>,
        at: Timestamp,
    ) -> Result<Ingested, IngestError> {
        let case = match case_id {
            Some(id) => self.store.case(id).await?,
            None => None,
        };
        if let Some(case) = case
            && self.owns(&case).await?
        {
            let message = Message::new(raw, sha256, inbound);
            let log = cases::log(&self.store.events(case.id).await?)?;
            if opened_by(&log, &message) {
                let pinned = self.desk.policy(case.policy_version_id).await?;
                self.queue_receipt(&pinned.policy, &case, &message, at)
                    .await?;
            }
        }
        Ok(Ingested::Duplicate { case_id })
    }

    /// The policy and product for a new case: the latest policy version, and the configured
    /// product or the policy's only (else first) one.
    async fn scope(&self) -> Result<Scope, IngestError> {
        let version = self
            .store
            .latest_policy(self.org.id)
            .await?
            .ok_or_else(|| {
                IngestError::Setup(format!(
                    "organisation {} has no policy (vulndesk init --policy FILE)",
                    self.org.slug
                ))
            })?;
        let pinned = self.desk.parse_policy(&version)?;
        let policy = &pinned.policy;
        let (slug, note) = match &self.product {
            Some(slug) => (slug.clone(), None),
            None => {
                let slugs: Vec<&str> = policy.products.iter().map(|p| p.slug.as_str()).collect();
                let first = slugs.first().ok_or_else(|| {
                    IngestError::Setup(format!("the policy of {} names no product", self.org.slug))
                })?;
                let note = (slugs.len() > 1).then(|| {
                    format!(
                        "filed under product {first}, the policy's first: mail intake of {} is not configured with a product and the policy has several ({})",
                        self.org.slug,
                        slugs.join(", ")
                    )
                });
                ((*first).to_owned(), note)
            }
        };
        let product = self
            .store
            .product(&self.org.slug, &slug)
            .await?
            .ok_or_else(|| {
                IngestError::Setup(format!(
                    "organisation {} has no product {slug:?}",
                    self.org.slug
                ))
            })?;
        Ok(Scope {
            pinned,
            product_id: product.id,
            product: product.slug,
            note,
        })
    }

    /// The case a message belongs to and whose mail it is: its reply address first (each
    /// participant's tag is a secret only mail to them carried), then its threading headers,
    /// which speak for the reporter. Cases of other organisations are never joined: their
    /// mail arrives through their own intake, with their own key.
    async fn route(&self, inbound: &Inbound) -> Result<Option<Joining>, IngestError> {
        if let Some(tag) = thread::find_reply_tag(inbound)
            && let Some(participant) = self.store.participant_by_reply_tag(&tag).await?
            && let Some(case) = self.store.case(participant.case_id).await?
        {
            if self.owns(&case).await? {
                let role = Role::parse(&participant.role).ok_or_else(|| {
                    IngestError::Setup(format!(
                        "case {} has a participant of a role this version does not know: {:?}",
                        case.id, participant.role
                    ))
                })?;
                let member = match participant.user_id {
                    Some(id) => self.store.user(id).await?,
                    None => None,
                };
                let party = participant.party.map(|(_, slug)| slug);
                return Ok(Some(Joining {
                    case,
                    role,
                    member,
                    party,
                }));
            }
            tracing::warn!(case = case.id, org = %self.org.slug, "reply address of another organisation's case; not joined");
        }
        let ids = thread::candidate_ids(inbound);
        if let Some(id) = self.store.case_for_message_ids(self.org.id, &ids).await?
            && let Some(case) = self.store.case(id).await?
            && self.owns(&case).await?
        {
            return Ok(Some(Joining {
                case,
                role: Role::Reporter,
                member: None,
                party: None,
            }));
        }
        Ok(None)
    }

    async fn owns(&self, case: &CaseRow) -> Result<bool, IngestError> {
        let version = self.store.policy_version(case.policy_version_id).await?;
        Ok(version.org_id == self.org.id)
    }

    /// The reporter's key of a case, for checking signatures; a key that no longer parses
    /// (expired, revoked) verifies nothing.
    async fn reporter_keys(
        &self,
        case_id: i64,
        at: Timestamp,
    ) -> Result<Vec<PublicKey>, IngestError> {
        let Some(row) = self.store.reporter_key(case_id).await? else {
            return Ok(Vec::new());
        };
        match PublicKey::parse(&row.armored, at) {
            Ok(key) => Ok(vec![key]),
            Err(e) => {
                tracing::warn!(case = case_id, error = %e, "the reporter's key is not usable for verification");
                Ok(Vec::new())
            }
        }
    }

    /// What a person reads of the message; a missing key is explained, not just noted.
    fn decrypt(&self, message: &Message<'_>, known: &[PublicKey]) -> Readable {
        let mut readable = vulndesk_mail::decrypt_inbound(&message.inbound, self.key.pair(), known);
        normalise_readable(&mut readable);
        if let (Some(reason), LoadedKey::Missing(why)) = (&readable.cannot_decrypt, &self.key) {
            // The library only knows that no key was passed; the operator needs to know why.
            let generic = format!("cannot decrypt: {reason}");
            for w in readable.warnings.iter_mut().filter(|w| **w == generic) {
                *w = format!("cannot decrypt: {why}");
            }
        }
        readable
    }

    async fn open(
        &self,
        scope: &Scope,
        message: &Message<'_>,
        readable: &Readable,
        source: &str,
        at: Timestamp,
    ) -> Result<Ingested, IngestError> {
        let inbound = &message.inbound;
        let language = offered(
            &message.languages,
            &scope.pinned.policy.organisation.preferred_languages,
        );
        let (files, skipped) = attachments(&scope.pinned.policy, readable);
        let mut events = vec![
            Event::Reported {
                product: scope.product.clone(),
                title: title(&inbound.subject),
                description: bounded(&readable.text),
                reporter_contact: inbound.from.as_ref().map(|f| f.email.clone()),
                channel: CHANNEL,
                fields: BTreeMap::new(),
                language,
            },
            mail_received(
                message,
                readable,
                scope
                    .note
                    .iter()
                    .cloned()
                    .chain(unlisted_channel(&scope.pinned.policy))
                    .chain(skipped),
            ),
        ];
        events.extend(files.iter().map(|f| described(f).added_by(REPORTER)));
        // The tag is drawn before the case exists so the receipt, sent from the case's own
        // reply address, is written in the case's transaction: one commit, all or nothing.
        let reply_tag = new_reply_tag()?;
        let mut effects = effects(message, source, at, files);
        let queued = self.receipt_for(&scope.pinned.policy, &reply_tag, message, at)?;
        let receipt = queued.is_some();
        if let Some(queued) = queued {
            events.push(Event::ReceiptSent);
            effects.jobs.push(queued.job);
            effects.thread_ids.push(queued.message_id);
        }
        effects.jobs.extend(
            self.tell_team(&scope.pinned.policy, None, message, readable, at)
                .await?,
        );
        let case = self
            .desk
            .open(Opening {
                product_id: scope.product_id,
                policy: Arc::clone(&scope.pinned),
                reporter_token_hash: unguessable_token_hash()?,
                reply_tag,
                at,
                actor: Actor::Reporter,
                events,
                effects,
            })
            .await?;
        self.log_warnings(case.id, readable);
        Ok(Ingested::Opened {
            case_id: case.id,
            receipt,
        })
    }

    /// Keeps a message the database refused for its content (text is normalised first, so
    /// this is a last resort): a new case with only the verbatim bytes and a warning, so the
    /// sender's acknowledged report is durable and the next messages are not held up.
    async fn quarantine(
        &self,
        scope: &Scope,
        message: &Message<'_>,
        source: &str,
        at: Timestamp,
        why: &str,
    ) -> Result<Ingested, IngestError> {
        tracing::warn!(org = %self.org.slug, "message quarantined, it cannot be stored as received: {why}");
        let warning = format!(
            "quarantined: the message cannot be stored as received ({why}); its exact bytes are kept with the case"
        );
        let events = vec![
            Event::Reported {
                product: scope.product.clone(),
                title: "(quarantined message)".to_owned(),
                description: warning.clone(),
                reporter_contact: None,
                channel: CHANNEL,
                fields: BTreeMap::new(),
                language: None,
            },
            Event::MailReceived {
                raw_sha256: message.sha256.clone(),
                message_id: String::new(),
                from: String::new(),
                subject: String::new(),
                encrypted: false,
                signed_by: None,
                warning: Some(warning),
            },
        ];
        let effects = Effects {
            // Without its Message-ID (it may be what was refused): a redelivery is then
            // recognised by its bytes.
            raw_message: Some(NewRawMessage {
                message_id: None,
                source: source.to_owned(),
                data: message.raw.to_vec(),
                received_at: at,
            }),
            ..Effects::default()
        };
        let case = self
            .desk
            .open(Opening {
                product_id: scope.product_id,
                policy: Arc::clone(&scope.pinned),
                reporter_token_hash: unguessable_token_hash()?,
                reply_tag: new_reply_tag()?,
                at,
                actor: Actor::Reporter,
                events,
                effects,
            })
            .await?;
        Ok(Ingested::Opened {
            case_id: case.id,
            receipt: false,
        })
    }

    async fn join(
        &self,
        joining: &Joining,
        message: &Message<'_>,
        readable: &Readable,
        source: &str,
        at: Timestamp,
    ) -> Result<Ingested, IngestError> {
        let case = &joining.case;
        let pinned = self.desk.policy(case.policy_version_id).await?;
        let policy = &pinned.policy;
        let (files, mut notes) = attachments(policy, readable);
        let (actor, added_by) = match (joining.role, &joining.member) {
            (Role::Team, Some(user)) => {
                let from = message.inbound.from.as_ref().map(|f| f.email.as_str());
                if from != Some(user.email.as_str()) {
                    notes.push(format!(
                        "sent to the reply address of {}, from another address than their account's",
                        user.email
                    ));
                }
                if user.disabled_at.is_some() {
                    notes.push(format!("{}'s account is disabled", user.email));
                }
                // Their words join as an internal note, and so do their files.
                (Actor::User(user.id), "note")
            }
            (Role::Team, None) => {
                return Err(IngestError::Setup(format!(
                    "case {} has a team participant without an account",
                    case.id
                )));
            }
            (Role::Reporter, _) => (Actor::Reporter, REPORTER),
            (Role::Party, _) => match &joining.party {
                Some(slug) => (Actor::Party(slug.clone()), "party"),
                None => {
                    return Err(IngestError::Setup(format!(
                        "case {} has a party participant without its party",
                        case.id
                    )));
                }
            },
        };
        let party = joining.party.as_deref().unwrap_or_default();
        let mut said = joining.role.said(party, bounded(&readable.text));
        let mut events = vec![mail_received(message, readable, notes)];
        if let Event::PartyMessage {
            files: attached, ..
        } = &mut said
        {
            // A party's files belong to its thread, like its words.
            attached.extend(files.iter().map(described));
            events.push(said);
        } else {
            events.push(said);
            events.extend(files.iter().map(|f| described(f).added_by(added_by)));
        }
        let jobs = self
            .tell_team(policy, Some(case.id), message, readable, at)
            .await?;
        let effects = Effects {
            jobs,
            ..effects(message, source, at, files)
        };
        self.desk.record(case, &actor, at, events, effects).await?;
        self.log_warnings(case.id, readable);
        Ok(Ingested::Joined { case_id: case.id })
    }

    /// Notices to the organisation's officers (everyone on the team when it has none) that
    /// a message could not be decrypted, written with the message so nobody is told about
    /// mail that was not stored, and nobody misses mail that was. They name the sender and
    /// the reason, never the contents or the subject.
    async fn tell_team(
        &self,
        policy: &Policy,
        case_id: Option<i64>,
        message: &Message<'_>,
        readable: &Readable,
        at: Timestamp,
    ) -> Result<Vec<vulndesk_store::NewJob>, IngestError> {
        let Some(reason) = &readable.cannot_decrypt else {
            return Ok(Vec::new());
        };
        let reason = self.key_problem().unwrap_or(reason);
        let team = self.desk.team(self.org.id).await?;
        let officers: Vec<_> = team
            .iter()
            .filter(|(_, role)| *role == OrgRole::Officer)
            .collect();
        let to: Vec<_> = if officers.is_empty() {
            team.iter().collect()
        } else {
            officers
        };
        let from = message
            .inbound
            .from
            .as_ref()
            .map_or("an unknown sender", |f| f.email.as_str());
        let place = match case_id {
            Some(id) => format!("It joined case {id}."),
            None => "It opened a new case; find it on the dashboard.".to_owned(),
        };
        let text = format!(
            "Vulndesk stored an encrypted message for {} from {from} that it cannot decrypt: {reason}.\n{place}\nThe message is kept verbatim and can be decrypted once the key is available.\n",
            self.org.name
        );
        let sender = vulndesk_mail::receipt::notice_sender(
            policy,
            std::env::var(MAIL_FROM_ENV).ok().as_deref(),
        );
        let mut jobs = Vec::new();
        for (user, _) in to {
            let random = hex::encode(random_bytes::<16>()?);
            let notice = vulndesk_mail::receipt::Notice {
                to: &user.email,
                subject: "[Vulndesk] Encrypted mail that cannot be decrypted",
                text: &text,
                reply_to: None,
            };
            match vulndesk_mail::receipt::team_notice(policy, &sender, notice, at, &random[..32]) {
                Ok(queued) => jobs.push(queued.job),
                Err(e) => tracing::warn!(error = %e, "cannot address a notice to a team member"),
            }
        }
        Ok(jobs)
    }

    /// Tells the operator, without contents, that a case holds mail nobody can read yet.
    fn log_warnings(&self, case_id: i64, readable: &Readable) {
        if let Some(reason) = &readable.cannot_decrypt {
            // The reason names keys and passphrase sources, never message contents.
            let reason = self.key_problem().unwrap_or(reason);
            tracing::warn!(case = case_id, org = %self.org.slug, "stored an encrypted message that cannot be decrypted: {reason}");
        }
    }

    /// The automatic receipt for `message`, addressed from the case's reply address, if the
    /// policy has a receipt text, the message has a sender to answer, the organisation has a
    /// mailto: contact to answer from, and the message was not itself automatic.
    fn receipt_for(
        &self,
        policy: &Policy,
        reply_tag: &str,
        message: &Message<'_>,
        at: Timestamp,
    ) -> Result<Option<Queued>, IngestError> {
        let Some(to) = message.inbound.from.as_ref() else {
            return Ok(None);
        };
        if message.automatic {
            return Ok(None);
        }
        let inbound = &message.inbound;
        let mut references = inbound.references.clone();
        references.extend(inbound.message_id.clone());
        let answering = Answering {
            reply_tag,
            to: to.clone(),
            languages: &message.languages,
            subject: &title(&inbound.subject),
            in_reply_to: inbound.message_id.clone(),
            references,
            at,
            random_hex: &random_hex(16)?,
        };
        let note = unlisted_channel(policy).map(|_| {
            format!(
                "Mail is not among the ways {} takes reports. Your report is kept and the team will see it; next time please use: {}.",
                policy.organisation.name,
                policy.intake.offered_channels()
            )
        });
        Ok(
            match receipt_with_note(policy, answering, None, note.as_deref()) {
                None => None,
                Some(Ok(queued)) => Some(queued),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "no automatic receipt: the message cannot be answered");
                    None
                }
            },
        )
    }

    /// Queues a receipt that a case opened by `message` lacks (cases opened before receipts
    /// were written with the case, or a policy that gained a receipt text), with its
    /// `receipt_sent` event, in one transaction. Returns whether one was queued.
    async fn queue_receipt(
        &self,
        policy: &Policy,
        case: &CaseRow,
        message: &Message<'_>,
        at: Timestamp,
    ) -> Result<bool, IngestError> {
        let Some(queued) = self.receipt_for(policy, &case.reply_tag, message, at)? else {
            return Ok(false);
        };
        // Decided on the log it appends after: two redeliveries racing queue one receipt.
        let appended = self
            .desk
            .append(case, &Actor::Reporter, at, |log| {
                if log.iter().any(|r| r.event == Event::ReceiptSent) {
                    return Ok(Write::default());
                }
                Ok(Write {
                    events: vec![Event::ReceiptSent],
                    effects: Effects {
                        jobs: vec![queued.job.clone()],
                        thread_ids: vec![queued.message_id.clone()],
                        ..Effects::default()
                    },
                })
            })
            .await?;
        Ok(!appended.rows.is_empty())
    }
}

impl<'a> Message<'a> {
    fn new(raw: &'a [u8], sha256: String, inbound: Inbound) -> Message<'a> {
        let headers = Headers::parse(raw);
        Message {
            raw,
            sha256,
            inbound,
            languages: headers.languages,
            automatic: headers.automatic,
        }
    }
}

/// The finding for mail to an organisation whose policy does not offer mail: the report
/// is kept (it is never lost for coming the wrong way) and the team is told how it came.
fn unlisted_channel(policy: &Policy) -> Option<String> {
    (!policy.intake.offers(CHANNEL.as_str())).then(|| {
        format!(
            "{UNLISTED_CHANNEL} ({}); the policy lists: {}",
            CHANNEL.as_str(),
            policy.intake.offered_channels()
        )
    })
}

/// How a case that came through a channel the policy does not offer is marked.
pub const UNLISTED_CHANNEL: &str = "arrived through a channel the policy does not list";

/// Whether `log` is a case that `message` opened (its first mail is this one).
fn opened_by(log: &[Recorded], message: &Message<'_>) -> bool {
    let first_mail = log.get(1).map(|r| &r.event);
    matches!(log.first().map(|r| &r.event), Some(Event::Reported { channel, .. }) if *channel == CHANNEL)
        && matches!(first_mail, Some(Event::MailReceived { raw_sha256, message_id, .. })
            if *raw_sha256 == message.sha256
                || (!message_id.is_empty() && message.inbound.message_id.as_deref() == Some(message_id.as_str())))
}

/// The headers ingest reads beyond what `vulndesk_mail` parses.
struct Headers {
    languages: Vec<String>,
    automatic: bool,
}

impl Headers {
    fn parse(raw: &[u8]) -> Headers {
        let Some(msg) = mail_parser::MessageParser::default().parse_headers(raw) else {
            return Headers {
                languages: Vec::new(),
                automatic: false,
            };
        };
        let text = |name: &str| msg.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
        // RFC 3834 section 2 (Auto-Submitted other than "no") and the older Precedence.
        let automatic = text("Auto-Submitted").is_some_and(|v| !v.starts_with("no"))
            || text("Precedence").is_some_and(|v| matches!(v.as_str(), "bulk" | "junk" | "list"));
        let languages = ["Content-Language", "Accept-Language"]
            .into_iter()
            .filter_map(|name| msg.header_raw(name))
            .flat_map(|v| v.split(','))
            .filter_map(|item| {
                let tag = item.split(';').next().unwrap_or("").trim();
                (!tag.is_empty() && tag != "*").then(|| tag.to_owned())
            })
            .collect();
        Headers {
            languages,
            automatic,
        }
    }
}

/// Mail is where text from outside enters through this adapter: what is stored of the
/// headers is normalised here, before anything reads it. The body and its parts are left as
/// received until decryption has read them, then [`normalise_readable`] takes over.
fn normalise_headers(inbound: &mut Inbound) {
    use vulndesk_core::text::normalise_in_place as clean;
    inbound.message_id.iter_mut().for_each(clean);
    inbound.in_reply_to.iter_mut().for_each(clean);
    inbound.references.iter_mut().for_each(clean);
    if let Some(from) = &mut inbound.from {
        clean(&mut from.email);
        from.name.iter_mut().for_each(clean);
    }
    inbound.to.iter_mut().for_each(clean);
    clean(&mut inbound.subject);
    inbound.warnings.iter_mut().for_each(clean);
}

/// What a person reads of a message, normalised like every other text from outside
/// (attachment names are normalised as filenames by [`Upload::new`]).
fn normalise_readable(readable: &mut Readable) {
    use vulndesk_core::text::normalise_in_place as clean;
    clean(&mut readable.text);
    readable.warnings.iter_mut().for_each(clean);
    readable.signed_by.iter_mut().for_each(clean);
}

/// A report title from a subject: trimmed, "(no subject)" when empty, within the limit.
fn title(subject: &str) -> String {
    let subject = subject.trim();
    if subject.is_empty() {
        return "(no subject)".to_owned();
    }
    subject.chars().take(TITLE_MAX_CHARS).collect()
}

/// A text for an event, within the description limit; the whole text stays in the stored
/// message.
fn bounded(text: &str) -> String {
    if text.trim().is_empty() {
        return "(the message has no text)".to_owned();
    }
    if text.len() <= DESCRIPTION_MAX_BYTES {
        return text.to_owned();
    }
    const NOTE: &str = "\n[truncated: the whole text is in the stored message]";
    let mut end = DESCRIPTION_MAX_BYTES - NOTE.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{NOTE}", &text[..end])
}

/// The message's files within the policy's limits, and a note for each one left in the
/// stored message only (it is never lost: the raw message holds it).
fn attachments(policy: &Policy, readable: &Readable) -> (Vec<NewAttachment>, Vec<String>) {
    let max_files = policy.intake.attachments_limit() as usize;
    let max_bytes = policy.intake.attachment_bytes_limit();
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for a in &readable.attachments {
        let name = a.filename.as_deref().unwrap_or("attachment");
        let upload = Upload::new("attachments", name, Some(&a.content_type), a.data.clone());
        if a.data.len() as u64 > max_bytes {
            skipped.push(format!(
                "attachment {:?} ({} bytes) is larger than the policy's {max_bytes} bytes: it is only in the stored message",
                upload.file.filename,
                a.data.len()
            ));
        } else if files.len() >= max_files {
            skipped.push(format!(
                "attachment {:?} is beyond the policy's {max_files} files: it is only in the stored message",
                upload.file.filename
            ));
        } else {
            files.push(upload.file);
        }
    }
    (files, skipped)
}

/// The `mail_received` event: what the team sees of the message itself, with every finding
/// (parse warnings, "cannot decrypt: ...", signature problems, `notes`) in `warning`.
fn mail_received(
    message: &Message<'_>,
    readable: &Readable,
    notes: impl IntoIterator<Item = String>,
) -> Event {
    let mut findings = readable.warnings.clone();
    match &readable.signature {
        Some(Verification::Bad { reason }) => findings.push(format!("bad signature: {reason}")),
        Some(Verification::UnknownKey { issuer }) => {
            findings.push(format!("signed by a key the case does not have: {issuer}"));
        }
        Some(Verification::Good { .. }) | None => {}
    }
    findings.extend(notes);
    let inbound = &message.inbound;
    Event::MailReceived {
        raw_sha256: message.sha256.clone(),
        message_id: inbound.message_id.clone().unwrap_or_default(),
        from: inbound
            .from
            .as_ref()
            .map(|f| f.email.clone())
            .unwrap_or_default(),
        // The whole subject stays in the stored message; the event keeps what a title may hold.
        subject: inbound.subject.chars().take(TITLE_MAX_CHARS).collect(),
        encrypted: readable.encrypted,
        signed_by: readable.signed_by.clone(),
        warning: (!findings.is_empty()).then(|| findings.join("; ")),
    }
}

/// The store writes of a message: the verbatim bytes (whose Message-ID the store maps to the
/// case), its files, and its threading ids so that later replies in the thread find the case.
fn effects(
    message: &Message<'_>,
    source: &str,
    at: Timestamp,
    files: Vec<NewAttachment>,
) -> Effects {
    Effects {
        attachments: files,
        raw_message: Some(NewRawMessage {
            message_id: message.inbound.message_id.clone(),
            source: source.to_owned(),
            data: message.raw.to_vec(),
            received_at: at,
        }),
        thread_ids: thread::candidate_ids(&message.inbound),
        ..Effects::default()
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], IngestError> {
    let mut bytes = [0u8; N];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| IngestError::Setup(format!("operating system random generator: {e}")))?;
    Ok(bytes)
}

fn random_hex(bytes: usize) -> Result<String, IngestError> {
    let random: [u8; 32] = random_bytes()?;
    Ok(hex::encode(&random[..bytes.min(32)]))
}

/// A case opened by mail has no portal token yet: the reporter follows it by mail. The store
/// needs a token hash, so it gets the hash of a random token that is thrown away, which
/// nobody can present.
/// The sender of mail to the team (see `vulndesk serve --mail-from`).
pub(crate) const MAIL_FROM_ENV: &str = "VULNDESK_MAIL_FROM";

fn unguessable_token_hash() -> Result<Vec<u8>, IngestError> {
    let token: [u8; 32] = random_bytes()?;
    Ok(Sha256::digest(token).to_vec())
}
