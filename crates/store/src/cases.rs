//! Cases, their hash-chained event logs, projections, and the [`Effects`] stored in the same
//! transaction as the events that cause them.

use jiff::Timestamp;
use jiff::civil::Date;
use rand::TryRng;
use sha2::{Digest, Sha256};

use crate::batch::{Batch, write_error};
use crate::intake::{IntakeWrites, NewAttachment, NewRawMessage, NewReporterKey, intake_rows};
use crate::outbox::{JobWrites, NewJob, job_rows};
use crate::search::{SearchText, TeamWrites, team_rows};
use crate::{Store, StoreError, WritePool, parse_date, parse_ts, ts_text};

/// Input for [`Store::open_case`].
#[derive(Debug, Clone)]
pub struct NewCase {
    /// The product the report is about.
    pub product_id: i64,
    /// The policy version the case is governed by for its whole life.
    pub policy_version_id: i64,
    /// Hash of the reporter's access token; the token itself is never stored.
    pub reporter_token_hash: Vec<u8>,
    /// When the report arrived.
    pub opened_at: Timestamp,
    /// The case's reply tag, when the caller needs it before the case exists (to address
    /// mail queued in the same transaction); from [`new_reply_tag`]. `None`: the store draws one.
    pub reply_tag: Option<String>,
}

/// A stored case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    /// Case id.
    pub id: i64,
    /// Product the case is about.
    pub product_id: i64,
    /// Pinned policy version.
    pub policy_version_id: i64,
    /// When the report arrived.
    pub opened_at: Timestamp,
    /// The case's secret reply tag: 32 lowercase hex characters (16 bytes from the operating
    /// system's random generator), unique. It goes into per-case reply addresses such as
    /// `security+<reply_tag>@example.org`, so a reply finds its case even without threading
    /// headers; being unguessable, it also keeps outsiders from posting into a case.
    pub reply_tag: String,
}

/// An event to append to a case's log.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Event kind, interpreted by the caller.
    pub kind: String,
    /// Who caused it.
    pub actor: String,
    /// When it happened.
    pub at: Timestamp,
    /// Event body; serialised once and stored as text.
    pub payload: serde_json::Value,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Owning case.
    pub case_id: i64,
    /// 1, 2, ... without gaps.
    pub seq: i64,
    /// Event kind.
    pub kind: String,
    /// Who caused it.
    pub actor: String,
    /// When it happened.
    pub at: Timestamp,
    /// The exact stored JSON text (what the hash covers).
    pub payload: String,
    /// Hash of the previous event, or [`GENESIS_HASH`] for seq 1.
    pub prev_hash: String,
    /// This event's hash, see [`event_hash`].
    pub hash: String,
}

/// Caller-computed summary of a case, stored for listing and deadline queries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Projection {
    /// Current state name.
    pub state: String,
    /// Next deadline, if any.
    pub next_due: Option<Date>,
    /// What the next deadline is for.
    pub next_due_kind: Option<String>,
    /// The report's title.
    pub title: String,
    /// The latest severity rating (`critical`, `high`, ...), if the case was scored.
    pub severity: Option<String>,
    /// The CVSS vector that rating comes from.
    pub cvss: Option<String>,
    /// The security officer managing the case.
    pub officer_id: Option<i64>,
    /// The SSVC decision (`track`, `track*`, `attend`, `act`), if the case was prioritised.
    pub ssvc: Option<String>,
    /// The next deadline passed with nobody acting and was escalated.
    pub escalated: bool,
}

/// Everything a case write causes besides its events, stored in the same transaction: a report
/// the sender was told about is never half-stored, and a job (such as an acknowledgement mail)
/// exists exactly when the event that caused it does.
///
/// The events should describe the effects (e.g. an attachment event naming
/// [`NewAttachment::sha256`]): the log is the truth, the effect tables hold the bytes.
#[derive(Debug, Default, Clone)]
pub struct Effects {
    /// Files to store with the case, content-addressed: bytes already stored for the case are
    /// kept once (with the first upload's filename).
    pub attachments: Vec<NewAttachment>,
    /// The verbatim inbound mail. If its Message-ID (or, without one, its exact bytes) is
    /// already stored, the whole call fails with [`StoreError::Duplicate`] and writes nothing.
    /// Its own Message-ID is mapped to the case like the [`Effects::thread_ids`].
    pub raw_message: Option<NewRawMessage>,
    /// Message-IDs to map to this case for threading (outbound mail, inbound References). An
    /// ID already mapped keeps its first case.
    pub thread_ids: Vec<String>,
    /// Jobs to enqueue for workers (see [`Store::claim_jobs`]).
    pub jobs: Vec<NewJob>,
    /// The reporter's OpenPGP public key; replaces any earlier one.
    pub reporter_key: Option<NewReporterKey>,
    /// A new hash for the reporter's access token; the old token stops working with the
    /// commit.
    pub reporter_token_hash: Option<Vec<u8>>,
    /// The hash of the token a reporter's write was made with: the write lands only while
    /// it is still the case's token, so a reply or a second replacement made with a token
    /// replaced a moment earlier fails with `NotFound`, like any wrong token.
    pub reporter_token: Option<Vec<u8>>,
    /// Case access to give (`Some(grant)`) or take away (`None`), by user id.
    pub grants: Vec<(i64, Option<String>)>,
    /// Text of these events for the full-text index.
    pub search: Vec<SearchText>,
    /// The case this one is declined as a duplicate of.
    pub duplicate_of: Option<i64>,
    /// Parties joining the case (invited), each with its reply tag and portal token hash.
    pub parties: Vec<crate::NewPartyParticipant>,
}

impl Effects {
    /// Hashes and serialises everything before the transaction starts, so the write lock is
    /// held only for the inserts. `at` stamps rows that have no time of their own.
    fn prepare(self, at: Timestamp) -> (IntakeWrites, JobWrites, TeamWrites) {
        let Effects {
            attachments,
            raw_message,
            thread_ids,
            jobs,
            reporter_key,
            reporter_token_hash,
            reporter_token: _,
            grants,
            search,
            duplicate_of,
            parties,
        } = self;
        (
            IntakeWrites::new(
                attachments,
                raw_message,
                thread_ids,
                reporter_key,
                reporter_token_hash,
                at,
            ),
            JobWrites::new(jobs, at),
            TeamWrites {
                grants,
                search,
                duplicate_of,
                parties,
                at,
            },
        )
    }
}

/// `prev_hash` of every case's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Computes an event's hash: lowercase hex SHA-256 of the bytes
///
/// ```text
/// "vulndesk-event-v1" || F(prev_hash) || F(case_id) || F(seq) || F(kind) || F(actor) || F(at) || F(payload)
/// ```
///
/// where `F(x)` is the byte length of `x` as a big-endian u64 followed by the UTF-8 bytes of `x`,
/// `case_id` and `seq` are ASCII decimal, `prev_hash` is lowercase hex, and `at` and `payload`
/// are the exact stored texts (`at` is RFC 3339 UTC with nine fractional digits). Length
/// prefixes make the encoding unambiguous whatever the fields contain.
pub fn event_hash(
    prev_hash: &str,
    case_id: i64,
    seq: i64,
    kind: &str,
    actor: &str,
    at: &str,
    payload: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(b"vulndesk-event-v1");
    let fields = [
        prev_hash,
        &case_id.to_string(),
        &seq.to_string(),
        kind,
        actor,
        at,
        payload,
    ];
    for f in fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The first broken link found in a case's hash chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The case whose log is broken.
    pub case_id: i64,
    /// The sequence number at which verification failed.
    pub seq: i64,
    /// What was wrong at that point.
    pub reason: String,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "hash chain of case {} broken at seq {}: {}",
            self.case_id, self.seq, self.reason
        )
    }
}

/// 16 bytes from the operating system's random generator, hex: reply tags are bearer secrets
/// (knowing one lets a mail land in the case), so a seeded user-space generator is not used.
pub fn new_reply_tag() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| StoreError::Entropy(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// `SELECT <the columns of RawCase> FROM cases `, a literal for `concat!`.
macro_rules! select_cases {
    () => {
        "SELECT id, product_id, policy_version_id, opened_at, reply_tag FROM cases "
    };
}

#[derive(sqlx::FromRow)]
pub(crate) struct RawCase {
    id: i64,
    product_id: i64,
    policy_version_id: i64,
    opened_at: String,
    reply_tag: String,
}

impl RawCase {
    pub(crate) fn decode(self) -> Result<CaseRow, StoreError> {
        Ok(CaseRow {
            id: self.id,
            product_id: self.product_id,
            policy_version_id: self.policy_version_id,
            opened_at: parse_ts(&self.opened_at)?,
            reply_tag: self.reply_tag,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RawEvent {
    case_id: i64,
    seq: i64,
    kind: String,
    actor: String,
    occurred_at: String,
    payload: String,
    prev_hash: String,
    hash: String,
}

impl RawEvent {
    fn chained(case_id: i64, seq: i64, prev_hash: String, ev: &NewEvent) -> RawEvent {
        let occurred_at = ts_text(ev.at);
        let payload = ev.payload.to_string();
        let hash = event_hash(
            &prev_hash,
            case_id,
            seq,
            &ev.kind,
            &ev.actor,
            &occurred_at,
            &payload,
        );
        RawEvent {
            case_id,
            seq,
            kind: ev.kind.clone(),
            actor: ev.actor.clone(),
            occurred_at,
            payload,
            prev_hash,
            hash,
        }
    }

    /// Chains `events` after `seq`/`prev_hash` (0 and [`GENESIS_HASH`] for a new case).
    fn chain(case_id: i64, mut seq: i64, mut prev_hash: String, events: &[NewEvent]) -> Vec<Self> {
        events
            .iter()
            .map(|ev| {
                seq += 1;
                let raw = RawEvent::chained(case_id, seq, std::mem::take(&mut prev_hash), ev);
                prev_hash.clone_from(&raw.hash);
                raw
            })
            .collect()
    }

    fn recomputed_hash(&self) -> String {
        event_hash(
            &self.prev_hash,
            self.case_id,
            self.seq,
            &self.kind,
            &self.actor,
            &self.occurred_at,
            &self.payload,
        )
    }

    fn decode(self) -> Result<EventRow, StoreError> {
        Ok(EventRow {
            at: parse_ts(&self.occurred_at)?,
            case_id: self.case_id,
            seq: self.seq,
            kind: self.kind,
            actor: self.actor,
            payload: self.payload,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// `<the columns of RawProjection>`, a literal for `concat!`.
macro_rules! projection_columns {
    () => {
        "state, next_due, next_due_kind, title, severity, cvss, officer_id, ssvc, escalated"
    };
}

#[derive(sqlx::FromRow)]
pub(crate) struct RawProjection {
    state: String,
    next_due: Option<String>,
    next_due_kind: Option<String>,
    title: String,
    severity: Option<String>,
    cvss: Option<String>,
    officer_id: Option<i64>,
    ssvc: Option<String>,
    escalated: bool,
}

impl RawProjection {
    pub(crate) fn decode(self) -> Result<Projection, StoreError> {
        Ok(Projection {
            state: self.state,
            next_due: parse_date(self.next_due)?,
            next_due_kind: self.next_due_kind,
            title: self.title,
            severity: self.severity,
            cvss: self.cvss,
            officer_id: self.officer_id,
            ssvc: self.ssvc,
            escalated: self.escalated,
        })
    }
}

/// The time of the last event, which stamps the effects; errors if there is no event, because
/// every stored effect must be explained by the log.
fn last_event_at(events: &[NewEvent]) -> Result<Timestamp, StoreError> {
    events
        .last()
        .map(|e| e.at)
        .ok_or_else(|| StoreError::Invalid("a case write needs at least one event".to_owned()))
}

/// Adds the statement inserting chained events.
fn event_rows(b: &mut Batch, raws: &[RawEvent]) {
    b.insert_rows(
        "events",
        "case_id, seq, kind, actor, occurred_at, payload, prev_hash, hash",
        raws,
        "",
        |b, r| {
            [
                b.arg(r.case_id),
                b.arg(r.seq),
                b.arg(r.kind.clone()),
                b.arg(r.actor.clone()),
                b.arg(r.occurred_at.clone()),
                b.arg(r.payload.clone()),
                b.arg(r.prev_hash.clone()),
                b.arg(r.hash.clone()),
            ]
            .join(", ")
        },
    );
}

/// Adds the statement storing a case's projection.
fn projection_row(b: &mut Batch, case_id: i64, p: &Projection) {
    let values = [
        b.arg(case_id),
        b.arg(p.state.clone()),
        b.arg(p.next_due.map(|d| d.to_string())),
        b.arg(p.next_due_kind.clone()),
        b.arg(ts_text(Timestamp::now())),
        b.arg(p.title.clone()),
        b.arg(p.severity.clone()),
        b.arg(p.cvss.clone()),
        b.arg(p.officer_id),
        b.arg(p.ssvc.clone()),
        b.arg(p.escalated),
    ];
    b.push(format!(
        "INSERT INTO case_projections (case_id, state, next_due, next_due_kind, updated_at, \
         title, severity, cvss, officer_id, ssvc, escalated) VALUES ({}) \
         ON CONFLICT (case_id) DO UPDATE SET state = excluded.state, \
         next_due = excluded.next_due, next_due_kind = excluded.next_due_kind, \
         updated_at = excluded.updated_at, title = excluded.title, \
         severity = excluded.severity, cvss = excluded.cvss, \
         officer_id = excluded.officer_id, ssvc = excluded.ssvc, \
         escalated = excluded.escalated",
        values.join(", ")
    ));
}

/// What a case write's events cause besides the case row. [`CaseWrite::add_to`] adds it with
/// the events (chained) and returns the raw message's name, for the error of a re-delivery.
struct CaseWrite {
    projection: Option<Projection>,
    intake: IntakeWrites,
    jobs: JobWrites,
    team: TeamWrites,
}

impl CaseWrite {
    /// `org` is the case's organisation as SQL: a placeholder, or a subquery.
    fn add_to(
        self,
        b: &mut Batch,
        case_id: i64,
        org: &str,
        raws: &[RawEvent],
    ) -> Result<Option<String>, StoreError> {
        // The raw message first: the insert most likely to fail, see `intake_rows`.
        let raw = intake_rows(b, case_id, org, self.intake);
        event_rows(b, raws);
        if let Some(p) = &self.projection {
            projection_row(b, case_id, p);
        }
        job_rows(b, Some(case_id), &self.jobs);
        let seqs: Vec<i64> = raws.iter().map(|r| r.seq).collect();
        team_rows(b, case_id, &seqs, &self.team)?;
        Ok(raw)
    }
}

/// A case being opened, with its id-to-be.
struct Opened {
    id: i64,
    new: NewCase,
    reply_tag: String,
}

impl Opened {
    /// The whole of [`Store::open_case`]'s writes.
    fn batch(
        self,
        events: &[NewEvent],
        projection: Projection,
        mut intake: IntakeWrites,
        jobs: JobWrites,
        team: TeamWrites,
        identity: &str,
    ) -> Result<(Batch, Option<String>, CaseRow), StoreError> {
        let Opened { id, new, reply_tag } = self;
        let raws = RawEvent::chain(id, 0, GENESIS_HASH.to_owned(), events);
        let mut b = Batch::default();
        let head = raws.last().map(|r| (r.seq, r.hash.clone()));
        let (product, version) = (b.arg(new.product_id), b.arg(new.policy_version_id));
        let values = [
            b.arg(id),
            product.clone(),
            version.clone(),
            // A replacement among the effects is the case's token from the start.
            b.arg(
                intake
                    .reporter_token_hash
                    .take()
                    .unwrap_or(new.reporter_token_hash.clone()),
            ),
            b.arg(ts_text(new.opened_at)),
            b.arg(reply_tag.clone()),
            b.arg(head.as_ref().map(|h| h.0)),
            b.arg(head.map(|h| h.1)),
        ];
        // Inserts nothing unless the product and the policy version are of one
        // organisation; the rows after it then fail on their foreign key.
        b.push(format!(
            "INSERT INTO cases (id, product_id, policy_version_id, reporter_token_hash, \
             opened_at, reply_tag, head_seq, head_hash) {identity} SELECT {} \
             WHERE EXISTS (SELECT 1 FROM products p JOIN policy_versions v \
             ON v.org_id = p.org_id WHERE p.id = {product} AND v.id = {version})",
            values.join(", ")
        ));
        // The case row is not visible to the other statements of the batch on PostgreSQL.
        let org = format!("(SELECT org_id FROM products WHERE id = {product})");
        let (case, tag, at) = (
            b.arg(id),
            b.arg(reply_tag.clone()),
            b.arg(ts_text(new.opened_at)),
        );
        b.push(format!(
            "INSERT INTO participants (case_id, role, reply_tag, joined_at) \
             VALUES ({case}, 'reporter', {tag}, {at})"
        ));
        let write = CaseWrite {
            projection: Some(projection),
            intake,
            jobs,
            team,
        };
        let raw = write.add_to(&mut b, id, &org, &raws)?;
        let row = CaseRow {
            id,
            product_id: new.product_id,
            policy_version_id: new.policy_version_id,
            opened_at: new.opened_at,
            reply_tag,
        };
        Ok((b, raw, row))
    }
}

/// The product's and the policy version's organisations, which must be one.
fn check_orgs(new: &NewCase, orgs: (Option<i64>, Option<i64>)) -> Result<(), StoreError> {
    match orgs {
        (Some(a), Some(b)) if a == b => Ok(()),
        (Some(_), Some(_)) => Err(StoreError::Conflict(format!(
            "policy version {} does not belong to the product's organisation",
            new.policy_version_id
        ))),
        _ => Err(StoreError::NotFound("product or policy version")),
    }
}

/// The product's and the policy version's organisations, to say why a case could not be
/// opened.
const ORGS_SQL: &str = "SELECT (SELECT org_id FROM products WHERE id = $1), \
                        (SELECT org_id FROM policy_versions WHERE id = $2)";

/// The head of a case's log, its reporter token hash and its organisation.
type Head = (Option<i64>, Option<String>, Option<Vec<u8>>, i64);

/// Selects [`Head`] for case `$1`; PostgreSQL appends `FOR UPDATE OF c`.
macro_rules! head_sql {
    () => {
        "SELECT c.head_seq, c.head_hash, c.reporter_token_hash, v.org_id \
         FROM cases c JOIN policy_versions v ON v.id = c.policy_version_id WHERE c.id = $1"
    };
}

/// The statements of [`Store::append_events`] after the head was read, or why not.
fn append_batch(
    case_id: i64,
    decided_on: i64,
    presented: Option<Vec<u8>>,
    head: Option<Head>,
    events: &[NewEvent],
    mut write: CaseWrite,
) -> Result<(Batch, Option<String>, Vec<RawEvent>), StoreError> {
    let Some((seq, hash, token, org_id)) = head else {
        return Err(StoreError::NotFound("case"));
    };
    let (seq, prev) = match (seq, hash) {
        (Some(seq), Some(hash)) => (seq, hash),
        _ => (0, GENESIS_HASH.to_owned()),
    };
    if seq != decided_on {
        return Err(StoreError::Stale {
            case_id,
            decided_on,
            head: seq,
        });
    }
    // Read under the case's lock, so a token replaced by a write that committed first is
    // seen here.
    if presented.is_some() && presented != token {
        return Err(StoreError::NotFound("case"));
    }
    let raws = RawEvent::chain(case_id, seq, prev, events);
    let mut b = Batch::default();
    let last = raws.last().map(|r| (r.seq, r.hash.clone()));
    let (head_seq, head_hash) = (b.arg(last.as_ref().map(|l| l.0)), b.arg(last.map(|l| l.1)));
    // One update of the case row: a batch never writes one row twice.
    let token = match write.intake.reporter_token_hash.take() {
        Some(hash) => format!(", reporter_token_hash = {}", b.arg(hash)),
        None => String::new(),
    };
    let case = b.arg(case_id);
    b.push(format!(
        "UPDATE cases SET head_seq = {head_seq}, head_hash = {head_hash}{token} WHERE id = {case}"
    ));
    let org = b.arg(org_id);
    let raw = write.add_to(&mut b, case_id, &org, &raws)?;
    Ok((b, raw, raws))
}

impl Store {
    /// One transaction: the case row (with a fresh reply tag), its events numbered 1, 2, ... in
    /// the given order, its projection row and the `effects`. Only returns after COMMIT; on any
    /// error nothing is written.
    ///
    /// Fails with `Invalid` if `events` is empty, `NotFound` if the product or policy version is
    /// missing, `Conflict` if the policy version belongs to another organisation than the
    /// product, and `Duplicate` if the effects' raw message is already stored.
    pub async fn open_case(
        &self,
        new: NewCase,
        events: Vec<NewEvent>,
        projection: Projection,
        effects: Effects,
    ) -> Result<CaseRow, StoreError> {
        let (intake, jobs, team) = effects.prepare(last_event_at(&events)?);
        let reply_tag = match new.reply_tag.clone() {
            None => new_reply_tag()?,
            Some(tag)
                if tag.len() == 32
                    && tag.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
            {
                tag
            }
            Some(_) => {
                return Err(StoreError::Invalid(
                    "a reply tag is 32 lowercase hex characters".to_owned(),
                ));
            }
        };
        match self {
            // Two round trips inside the writer's group transaction, whose write lock keeps
            // the next id the next id.
            Store::Sqlite(sqlite) => {
                sqlite
                    .writer
                    .write(move |tx| {
                        Box::pin(async move {
                            // One round trip: the organisations are checked by the insert
                            // itself, and read only to say what was wrong.
                            let id = tx.next_case_id().await?;
                            let opened = Opened {
                                id,
                                new: new.clone(),
                                reply_tag,
                            };
                            let (batch, raw, row) =
                                opened.batch(&events, projection, intake, jobs, team, "")?;
                            match tx.run(batch).await {
                                Ok(()) => {
                                    tx.case_opened(id);
                                    Ok(row)
                                }
                                Err(e) => {
                                    let orgs: (Option<i64>, Option<i64>) = sqlx::query_as(ORGS_SQL)
                                        .bind(new.product_id)
                                        .bind(new.policy_version_id)
                                        .fetch_one(tx.conn())
                                        .await?;
                                    check_orgs(&new, orgs)?;
                                    Err(write_error(e, raw.as_deref()))
                                }
                            }
                        })
                    })
                    .await
            }
            // Two statements, the second atomic by itself: no transaction to begin or commit.
            // The organisations are checked by the insert, as on SQLite.
            Store::Postgres(p) => {
                let id: i64 =
                    sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('cases', 'id'))")
                        .fetch_one(p)
                        .await?;
                let opened = Opened {
                    id,
                    new: new.clone(),
                    reply_tag,
                };
                let (batch, raw, row) = opened.batch(
                    &events,
                    projection,
                    intake,
                    jobs,
                    team,
                    "OVERRIDING SYSTEM VALUE",
                )?;
                match batch.run_postgres(p).await {
                    Ok(()) => Ok(row),
                    Err(e) => {
                        let orgs: (Option<i64>, Option<i64>) = sqlx::query_as(ORGS_SQL)
                            .bind(new.product_id)
                            .bind(new.policy_version_id)
                            .fetch_one(p)
                            .await?;
                        check_orgs(&new, orgs)?;
                        Err(write_error(e, raw.as_deref()))
                    }
                }
            }
        }
    }

    /// Appends `events` (seq = head+1, head+2, ..., each linked to the previous hash),
    /// replaces the projection if given, and stores the `effects`, in one transaction; on
    /// any error nothing is written.
    ///
    /// `decided_on` is the log head (the last event's seq) the caller read and decided the
    /// write on, the projection included. If another write got there first the call fails
    /// with [`StoreError::Stale`] and writes nothing: the caller reads again and decides
    /// again. Concurrent appenders are serialised while the head is compared: PostgreSQL
    /// locks the case row (`FOR UPDATE`); on SQLite every case write goes through one
    /// writer connection, which commits the writes queued meanwhile as one group (one
    /// transaction, one fsync, a savepoint per write) and answers each after its COMMIT. The
    /// `(case_id, seq)` primary key backs both.
    ///
    /// Fails with `Invalid` if `events` is empty, `NotFound` if the case is missing and
    /// `Duplicate` if the effects' raw message is already stored.
    pub async fn append_events(
        &self,
        case_id: i64,
        decided_on: i64,
        events: Vec<NewEvent>,
        projection: Option<Projection>,
        mut effects: Effects,
    ) -> Result<Vec<EventRow>, StoreError> {
        let presented = effects.reporter_token.take();
        let (intake, jobs, team) = effects.prepare(last_event_at(&events)?);
        let write = CaseWrite {
            projection,
            intake,
            jobs,
            team,
        };
        let raws = match self {
            Store::Sqlite(sqlite) => {
                sqlite
                    .writer
                    .write(move |tx| {
                        Box::pin(async move {
                            let head: Option<Head> = sqlx::query_as(head_sql!())
                                .bind(case_id)
                                .fetch_optional(tx.conn())
                                .await?;
                            let (batch, raw, raws) =
                                append_batch(case_id, decided_on, presented, head, &events, write)?;
                            tx.run(batch)
                                .await
                                .map_err(|e| write_error(e, raw.as_deref()))?;
                            Ok(raws)
                        })
                    })
                    .await?
            }
            Store::Postgres(p) => {
                let mut tx = p.begin_write().await?;
                let head: Option<Head> = sqlx::query_as(concat!(head_sql!(), " FOR UPDATE OF c"))
                    .bind(case_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let (batch, raw, raws) =
                    append_batch(case_id, decided_on, presented, head, &events, write)?;
                batch
                    .run_postgres(&mut *tx)
                    .await
                    .map_err(|e| write_error(e, raw.as_deref()))?;
                tx.commit().await?;
                raws
            }
        };
        raws.into_iter().map(RawEvent::decode).collect()
    }

    /// Appends one event without effects, see [`Store::append_events`].
    pub async fn append_event(
        &self,
        case_id: i64,
        decided_on: i64,
        ev: NewEvent,
        projection: Option<Projection>,
    ) -> Result<EventRow, StoreError> {
        let mut rows = self
            .append_events(
                case_id,
                decided_on,
                vec![ev],
                projection,
                Effects::default(),
            )
            .await?;
        rows.pop()
            .ok_or_else(|| StoreError::Invalid("append_events returned no event".to_owned()))
    }

    /// The seq of a case's last event (its log head), what a write is decided on; see
    /// [`Store::append_events`].
    pub async fn head(&self, case_id: i64) -> Result<i64, StoreError> {
        let head: Option<Option<i64>> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT head_seq FROM cases WHERE id = $1",
        )
        .bind(case_id)
        .fetch_optional(p)
        .await?);
        head.map(Option::unwrap_or_default)
            .ok_or(StoreError::NotFound("case"))
    }

    /// One case by id.
    pub async fn case(&self, case_id: i64) -> Result<Option<CaseRow>, StoreError> {
        let row: Option<RawCase> = on_pool!(self, p => sqlx::query_as(
            concat!(select_cases!(), "WHERE id = $1"),
        )
        .bind(case_id)
        .fetch_optional(p)
        .await?);
        row.map(RawCase::decode).transpose()
    }

    /// The case only if `token_hash` equals the stored reporter token hash. The comparison is
    /// SQL equality on a hash of a high-entropy token, so timing reveals nothing useful.
    pub async fn case_for_reporter(
        &self,
        case_id: i64,
        token_hash: &[u8],
    ) -> Result<Option<CaseRow>, StoreError> {
        let row: Option<RawCase> = on_pool!(self, p => sqlx::query_as(
            concat!(select_cases!(), "WHERE id = $1 AND reporter_token_hash = $2"),
        )
        .bind(case_id)
        .bind(token_hash.to_vec())
        .fetch_optional(p)
        .await?);
        row.map(RawCase::decode).transpose()
    }

    async fn raw_events(&self, case_id: i64) -> Result<Vec<RawEvent>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_as(
            "SELECT case_id, seq, kind, actor, occurred_at, payload, prev_hash, hash \
             FROM events WHERE case_id = $1 ORDER BY seq",
        )
        .bind(case_id)
        .fetch_all(p)
        .await?))
    }

    /// A case's events ordered by seq, without the messages of party threads other than
    /// `party`'s (and the team's messages to every party); with `party` absent, without
    /// any party message. What a page about one thread, or about the case around its
    /// threads, reads: a case with hundreds of parties holds thousands of messages.
    ///
    /// Payloads are stored as serde writes them (compact, a thread's party as
    /// `"party":"<slug>"`, slugs needing no escaping, and a body's quotes escaped), so the
    /// patterns below match a message's own party and nothing in its text.
    pub async fn events_around_threads(
        &self,
        case_id: i64,
        party: Option<&str>,
    ) -> Result<Vec<EventRow>, StoreError> {
        let rows: Vec<RawEvent> = on_pool!(self, p => sqlx::query_as(
            "SELECT case_id, seq, kind, actor, occurred_at, payload, prev_hash, hash \
             FROM events WHERE case_id = $1 AND (kind <> 'party_message' \
             OR ($2 IS NOT NULL AND (payload LIKE $2 OR payload NOT LIKE '%\"party\":\"%'))) \
             ORDER BY seq",
        )
        .bind(case_id)
        .bind(party.map(|slug| format!("%\"party\":\"{slug}\"%")))
        .fetch_all(p)
        .await?);
        rows.into_iter().map(RawEvent::decode).collect()
    }

    /// The position of every message a party wrote on a case, with the party's slug: what
    /// the case page counts (what each party wrote, and what the team has not read) without
    /// reading the messages.
    pub async fn party_message_seqs(&self, case_id: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT actor, seq FROM events WHERE case_id = $1 AND kind = 'party_message' \
             AND actor LIKE 'party:%' ORDER BY seq",
        )
        .bind(case_id)
        .fetch_all(p)
        .await?);
        Ok(rows
            .into_iter()
            .filter_map(|(actor, seq)| Some((actor.strip_prefix("party:")?.to_owned(), seq)))
            .collect())
    }

    /// A case's events ordered by seq (empty if the case does not exist).
    pub async fn events(&self, case_id: i64) -> Result<Vec<EventRow>, StoreError> {
        self.raw_events(case_id)
            .await?
            .into_iter()
            .map(RawEvent::decode)
            .collect()
    }

    /// A case's stored projection.
    pub async fn projection(&self, case_id: i64) -> Result<Option<Projection>, StoreError> {
        let row: Option<RawProjection> = on_pool!(self, p => sqlx::query_as(
            concat!("SELECT ", projection_columns!(), " FROM case_projections WHERE case_id = $1"),
        )
        .bind(case_id)
        .fetch_optional(p)
        .await?);
        row.map(RawProjection::decode).transpose()
    }

    /// Replaces a case's projection (e.g. after recomputing it with new rules).
    pub async fn set_projection(&self, case_id: i64, p: &Projection) -> Result<(), StoreError> {
        let mut batch = Batch::default();
        projection_row(&mut batch, case_id, p);
        on_pool!(self, pool => pool.run_batch(batch, pool).await.map_err(|e| write_error(e, None)))
    }

    /// All case ids, ascending.
    pub async fn case_ids(&self) -> Result<Vec<i64>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_scalar("SELECT id FROM cases ORDER BY id")
            .fetch_all(p)
            .await?))
    }

    /// Whether a migration asked for `task` (see `maintenance_requests`), still undone.
    pub async fn maintenance_requested(&self, task: &str) -> Result<bool, StoreError> {
        let found: Option<String> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT task FROM maintenance_requests WHERE task = $1",
        )
        .bind(task)
        .fetch_optional(p)
        .await?);
        Ok(found.is_some())
    }

    /// Records that `task` was done.
    pub async fn maintenance_done(&self, task: &str) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("DELETE FROM maintenance_requests WHERE task = $1")
            .bind(task)
            .execute(p)
            .await
            .map(drop)?);
        Ok(())
    }

    /// Number of cases.
    pub async fn count_cases(&self) -> Result<i64, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cases")
            .fetch_one(p)
            .await?))
    }

    /// Recomputes every event hash of the case from the stored rows and checks seq continuity
    /// and prev_hash links, then that the log ends at the head recorded with the case;
    /// `ChainBroken` names the first broken link. Relies only on the stored data, not on the
    /// append-only triggers. Someone who can rewrite both the events and the cases table can
    /// still cut a log consistently: only a head kept outside the database (a hash shown to
    /// the reporter, a published digest) would catch that.
    pub async fn verify_chain(&self, case_id: i64) -> Result<(), StoreError> {
        if self.case(case_id).await?.is_none() {
            return Err(StoreError::NotFound("case"));
        }
        let broken = |seq: i64, reason: String| {
            Err(StoreError::ChainBroken(ChainBreak {
                case_id,
                seq,
                reason,
            }))
        };
        let events = self.raw_events(case_id).await?;
        if events.is_empty() {
            return broken(1, "case has no events".to_owned());
        }
        let mut prev = GENESIS_HASH.to_owned();
        for (expected, ev) in (1..).zip(&events) {
            if ev.seq != expected {
                return broken(
                    expected,
                    format!("missing event (next stored seq is {})", ev.seq),
                );
            }
            if ev.prev_hash != prev {
                return broken(
                    ev.seq,
                    "prev_hash does not match the previous event's hash".to_owned(),
                );
            }
            if ev.recomputed_hash() != ev.hash {
                return broken(
                    ev.seq,
                    "stored hash does not match the event's contents".to_owned(),
                );
            }
            prev.clone_from(&ev.hash);
        }
        // Cutting events off the end leaves a valid chain: the head recorded with the
        // case says where the log must end.
        let head: (Option<i64>, Option<String>) = on_pool!(self, p => sqlx::query_as(
            "SELECT head_seq, head_hash FROM cases WHERE id = $1",
        )
        .bind(case_id)
        .fetch_one(p)
        .await?);
        let last = events.last().map(|e| (e.seq, e.hash.clone()));
        match head {
            (Some(seq), Some(hash)) if last != Some((seq, hash.clone())) => {
                let ends = last.map_or(0, |(s, _)| s);
                if ends < seq {
                    broken(
                        ends + 1,
                        format!(
                            "missing event: the log ends at event {ends}, the case records {seq}"
                        ),
                    )
                } else {
                    broken(
                        seq,
                        "the log does not end where the case records its head".to_owned(),
                    )
                }
            }
            _ => Ok(()),
        }
    }
}
