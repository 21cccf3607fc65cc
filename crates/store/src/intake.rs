//! What reporters send and how mail finds its case: attachments, verbatim inbound mail,
//! Message-ID threading, per-case reply tags, and OpenPGP keys (the reporter's and the
//! organisation's).
//!
//! Attachments, raw mail, thread ids and reporter keys are written only as [`Effects`] of a
//! case write ([`Store::open_case`], [`Store::append_events`]), so each is explained by an event
//! in the same transaction.
//!
//! [`Effects`]: crate::Effects

use jiff::Timestamp;

use crate::batch::Batch;
use crate::{Store, StoreError, constraint, parse_ts, sha256_hex, ts_text};

/// A file a reporter uploaded or mailed, to store with a case.
#[derive(Clone)]
pub struct NewAttachment {
    /// The name the reporter gave it (untrusted; never used as a path).
    pub filename: String,
    /// The declared media type (untrusted).
    pub content_type: String,
    /// The exact bytes.
    pub data: Vec<u8>,
}

impl NewAttachment {
    /// Lowercase hex SHA-256 of the bytes: the attachment's address within its case, known
    /// before storing so the event that records the upload can name it.
    pub fn sha256(&self) -> String {
        sha256_hex(&self.data)
    }
}

/// An inbound e-mail exactly as received (RFC 5322 bytes), kept as evidence and so it can be
/// parsed again by a later version.
#[derive(Clone)]
pub struct NewRawMessage {
    /// The Message-ID header as the caller normalised it; compared exactly. `None` if the
    /// message had none (then only identical bytes count as the same message).
    pub message_id: Option<String>,
    /// Where it came from (e.g. `"imap:INBOX"`, `"cli"`).
    pub source: String,
    /// The verbatim bytes.
    pub data: Vec<u8>,
    /// When it was received.
    pub received_at: Timestamp,
}

impl NewRawMessage {
    /// Lowercase hex SHA-256 of the bytes: the message's address, known before storing so the
    /// event that records the mail can name it.
    pub fn sha256(&self) -> String {
        sha256_hex(&self.data)
    }
}

/// The reporter's OpenPGP public key, to encrypt what we send them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReporterKey {
    /// The primary key's fingerprint, as the caller formats it.
    pub fingerprint: String,
    /// The ASCII-armoured public key.
    pub armored: String,
}

/// A stored attachment without its bytes (see [`Store::attachment`] for those).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRow {
    /// Owning case.
    pub case_id: i64,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// The filename of the first upload of these bytes.
    pub filename: String,
    /// The declared media type of the first upload.
    pub content_type: String,
    /// Length in bytes.
    pub size: i64,
    /// When it was first stored (the time of the event that stored it).
    pub created_at: Timestamp,
}

/// A stored inbound e-mail.
#[derive(Clone, PartialEq, Eq)]
pub struct RawMessageRow {
    /// Lowercase hex SHA-256 of `data`.
    pub sha256: String,
    /// The case it was filed under.
    pub case_id: i64,
    /// Its Message-ID, if it had one.
    pub message_id: Option<String>,
    /// Where it came from.
    pub source: String,
    /// The verbatim bytes.
    pub data: Vec<u8>,
    /// When it was received.
    pub received_at: Timestamp,
}

/// A case's reporter key (the latest one set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReporterKeyRow {
    /// The case.
    pub case_id: i64,
    /// The key's fingerprint.
    pub fingerprint: String,
    /// The ASCII-armoured public key.
    pub armored: String,
    /// When it was set (the time of the event that set it).
    pub set_at: Timestamp,
}

/// An organisation's OpenPGP key pair. The secret part is stored exactly as the caller
/// encrypted it; the store never sees it in the clear.
#[derive(Clone, PartialEq, Eq)]
pub struct OrgKeyRow {
    /// The organisation.
    pub org_id: i64,
    /// The key's fingerprint.
    pub fingerprint: String,
    /// The ASCII-armoured public key (published, e.g. via security.txt `Encryption`).
    pub public_armored: String,
    /// The secret key, encrypted by the caller.
    pub secret_protected: Vec<u8>,
    /// When the key pair was stored.
    pub created_at: Timestamp,
}

/// Shows only the length of a byte buffer, so mail, attachments and key material never reach
/// a log through `{:?}`.
struct ByteLen<'a>(&'a [u8]);

impl std::fmt::Debug for ByteLen<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

/// Implements `Debug` with the `bytes` field shown as a [`ByteLen`].
macro_rules! debug_bytes_by_length {
    ($ty:ident { $($field:ident),* ; $bytes:ident }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    .field(stringify!($bytes), &ByteLen(&self.$bytes))
                    .finish()
            }
        }
    };
}

debug_bytes_by_length!(NewAttachment { filename, content_type; data });
debug_bytes_by_length!(NewRawMessage { message_id, source, received_at; data });
debug_bytes_by_length!(RawMessageRow { sha256, case_id, message_id, source, received_at; data });
debug_bytes_by_length!(OrgKeyRow { org_id, fingerprint, public_armored, created_at; secret_protected });

/// The intake part of [`Effects`](crate::Effects), hashed and serialised ahead of the
/// transaction.
pub(crate) struct IntakeWrites {
    /// `(sha256, attachment)`.
    pub(crate) attachments: Vec<(String, NewAttachment)>,
    /// `(sha256, received_at text, message)`.
    pub(crate) raw_message: Option<(String, String, NewRawMessage)>,
    /// Sorted and deduplicated: concurrent transactions then take index locks in one order and
    /// cannot deadlock on each other's Message-IDs (PostgreSQL).
    pub(crate) thread_ids: Vec<String>,
    pub(crate) reporter_key: Option<NewReporterKey>,
    pub(crate) reporter_token_hash: Option<Vec<u8>>,
    /// Stamp for rows without a time of their own.
    pub(crate) at: String,
}

impl IntakeWrites {
    pub(crate) fn new(
        attachments: Vec<NewAttachment>,
        raw_message: Option<NewRawMessage>,
        mut thread_ids: Vec<String>,
        reporter_key: Option<NewReporterKey>,
        reporter_token_hash: Option<Vec<u8>>,
        at: Timestamp,
    ) -> IntakeWrites {
        if let Some(id) = raw_message.as_ref().and_then(|m| m.message_id.clone()) {
            thread_ids.push(id);
        }
        thread_ids.sort_unstable();
        thread_ids.dedup();
        IntakeWrites {
            attachments: attachments.into_iter().map(|a| (a.sha256(), a)).collect(),
            raw_message: raw_message.map(|m| (m.sha256(), ts_text(m.received_at), m)),
            thread_ids,
            reporter_key,
            reporter_token_hash,
            at: ts_text(at),
        }
    }
}

/// Adds the statements writing [`IntakeWrites`] for case `case_id` of organisation `org`
/// (SQL: a placeholder or a subquery; mail is de-duplicated and threaded per organisation), consuming them so no
/// byte buffer is copied; returns the name of the raw message, if any, for the error of a
/// re-delivered one. The raw message goes first: it is the insert most likely to fail, and a
/// concurrent ingest of the same Message-ID then waits on its unique index before touching
/// any row another ingest could hold. The reporter token hash is the caller's to write, with
/// the case row.
pub(crate) fn intake_rows(
    b: &mut Batch,
    case_id: i64,
    org: &str,
    w: IntakeWrites,
) -> Option<String> {
    let mut raw_name = None;
    if let Some((sha, received_at, m)) = w.raw_message {
        raw_name = Some(
            m.message_id
                .clone()
                .unwrap_or_else(|| format!("sha256:{sha}")),
        );
        let values = [
            org.to_owned(),
            b.arg(sha),
            b.arg(case_id),
            b.arg(m.message_id),
            b.arg(m.source),
            b.arg(m.data),
            b.arg(received_at),
        ];
        b.push(format!(
            "INSERT INTO raw_messages \
             (org_id, sha256, case_id, message_id, source, data, received_at) VALUES ({})",
            values.join(", ")
        ));
    }
    let at = w.at;
    // One statement per file: the same bytes twice in one write are kept once, which a
    // multi-row insert cannot say on PostgreSQL.
    for (sha, a) in w.attachments {
        let size = a.data.len() as i64;
        let values = [
            b.arg(case_id),
            b.arg(sha),
            b.arg(a.filename),
            b.arg(a.content_type),
            b.arg(size),
            b.arg(a.data),
            b.arg(at.clone()),
        ];
        b.push(format!(
            "INSERT INTO attachments \
             (case_id, sha256, filename, content_type, size, data, created_at) VALUES ({}) \
             ON CONFLICT (case_id, sha256) DO NOTHING",
            values.join(", ")
        ));
    }
    // First mapping wins: a Message-ID that another case already claimed (e.g. in a
    // cross-posted References header) must not pull later replies away from it.
    b.insert_rows(
        "mail_threads",
        "org_id, message_id, case_id",
        w.thread_ids,
        "ON CONFLICT (org_id, message_id) DO NOTHING",
        |b, id| [org.to_owned(), b.arg(id), b.arg(case_id)].join(", "),
    );
    if let Some(k) = w.reporter_key {
        let values = [
            b.arg(case_id),
            b.arg(k.fingerprint),
            b.arg(k.armored),
            b.arg(at),
        ];
        b.push(format!(
            "INSERT INTO reporter_keys (case_id, fingerprint, armored, set_at) VALUES ({}) \
             ON CONFLICT (case_id) DO UPDATE SET fingerprint = excluded.fingerprint, \
             armored = excluded.armored, set_at = excluded.set_at",
            values.join(", ")
        ));
    }
    raw_name
}

#[derive(sqlx::FromRow)]
struct RawAttachment {
    case_id: i64,
    sha256: String,
    filename: String,
    content_type: String,
    size: i64,
    created_at: String,
}

impl RawAttachment {
    fn decode(self) -> Result<AttachmentRow, StoreError> {
        Ok(AttachmentRow {
            created_at: parse_ts(&self.created_at)?,
            case_id: self.case_id,
            sha256: self.sha256,
            filename: self.filename,
            content_type: self.content_type,
            size: self.size,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RawAttachmentData {
    #[sqlx(flatten)]
    row: RawAttachment,
    data: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct RawRawMessage {
    sha256: String,
    case_id: i64,
    message_id: Option<String>,
    source: String,
    data: Vec<u8>,
    received_at: String,
}

impl RawRawMessage {
    fn decode(self) -> Result<RawMessageRow, StoreError> {
        Ok(RawMessageRow {
            received_at: parse_ts(&self.received_at)?,
            sha256: self.sha256,
            case_id: self.case_id,
            message_id: self.message_id,
            source: self.source,
            data: self.data,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RawReporterKey {
    case_id: i64,
    fingerprint: String,
    armored: String,
    set_at: String,
}

impl RawReporterKey {
    fn decode(self) -> Result<ReporterKeyRow, StoreError> {
        Ok(ReporterKeyRow {
            set_at: parse_ts(&self.set_at)?,
            case_id: self.case_id,
            fingerprint: self.fingerprint,
            armored: self.armored,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RawOrgKey {
    org_id: i64,
    fingerprint: String,
    public_armored: String,
    secret_protected: Vec<u8>,
    created_at: String,
}

impl RawOrgKey {
    fn decode(self) -> Result<OrgKeyRow, StoreError> {
        Ok(OrgKeyRow {
            created_at: parse_ts(&self.created_at)?,
            org_id: self.org_id,
            fingerprint: self.fingerprint,
            public_armored: self.public_armored,
            secret_protected: self.secret_protected,
        })
    }
}

impl Store {
    /// A case's attachments without their bytes, oldest first (then by filename and hash).
    pub async fn attachments(&self, case_id: i64) -> Result<Vec<AttachmentRow>, StoreError> {
        let rows: Vec<RawAttachment> = on_pool!(self, p => sqlx::query_as(
            "SELECT case_id, sha256, filename, content_type, size, created_at FROM attachments \
             WHERE case_id = $1 ORDER BY created_at, filename, sha256",
        )
        .bind(case_id)
        .fetch_all(p)
        .await?);
        rows.into_iter().map(RawAttachment::decode).collect()
    }

    /// One attachment of a case with its bytes. Scoped to the case, so a hash learnt from
    /// another case does not open this one's files.
    pub async fn attachment(
        &self,
        case_id: i64,
        sha256: &str,
    ) -> Result<Option<(AttachmentRow, Vec<u8>)>, StoreError> {
        let row: Option<RawAttachmentData> = on_pool!(self, p => sqlx::query_as(
            "SELECT case_id, sha256, filename, content_type, size, created_at, data \
             FROM attachments WHERE case_id = $1 AND sha256 = $2",
        )
        .bind(case_id)
        .bind(sha256.to_owned())
        .fetch_optional(p)
        .await?);
        row.map(|r| Ok((r.row.decode()?, r.data))).transpose()
    }

    /// A stored inbound e-mail of organisation `org_id` by the SHA-256 of its bytes.
    pub async fn raw_message(
        &self,
        org_id: i64,
        sha256: &str,
    ) -> Result<Option<RawMessageRow>, StoreError> {
        let row: Option<RawRawMessage> = on_pool!(self, p => sqlx::query_as(
            "SELECT sha256, case_id, message_id, source, data, received_at FROM raw_messages \
             WHERE org_id = $1 AND sha256 = $2",
        )
        .bind(org_id)
        .bind(sha256.to_owned())
        .fetch_optional(p)
        .await?);
        row.map(RawRawMessage::decode).transpose()
    }

    /// Whether organisation `org_id` already ingested a message with this Message-ID. A cheap
    /// early answer for ingest; the unique constraint behind [`StoreError::Duplicate`] is
    /// what decides races.
    pub async fn raw_message_exists(
        &self,
        org_id: i64,
        message_id: &str,
    ) -> Result<bool, StoreError> {
        let n: i64 = on_pool!(self, p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM raw_messages WHERE org_id = $1 AND message_id = $2",
        )
        .bind(org_id)
        .bind(message_id.to_owned())
        .fetch_one(p)
        .await?);
        Ok(n > 0)
    }

    /// The case of organisation `org_id` mapped to the first of `message_ids` (in the given
    /// order, e.g. In-Reply-To and then References from the newest back), in one query
    /// whatever their number. Callers bound the list (see `vulndesk_mail::thread`).
    pub async fn case_for_message_ids(
        &self,
        org_id: i64,
        message_ids: &[String],
    ) -> Result<Option<i64>, StoreError> {
        if message_ids.is_empty() {
            return Ok(None);
        }
        let placeholders: Vec<String> = (2..message_ids.len() + 2)
            .map(|n| format!("${n}"))
            .collect();
        let sql = format!(
            "SELECT message_id, case_id FROM mail_threads WHERE org_id = $1 AND message_id IN ({})",
            placeholders.join(", ")
        );
        let found: Vec<(String, i64)> = on_pool!(self, p => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(org_id);
            for id in message_ids {
                query = query.bind(id.clone());
            }
            query.fetch_all(p).await?
        });
        Ok(message_ids
            .iter()
            .find_map(|id| found.iter().find(|(m, _)| m == id).map(|(_, case)| *case)))
    }

    /// The reporter's OpenPGP key for a case, if one was set.
    pub async fn reporter_key(&self, case_id: i64) -> Result<Option<ReporterKeyRow>, StoreError> {
        let row: Option<RawReporterKey> = on_pool!(self, p => sqlx::query_as(
            "SELECT case_id, fingerprint, armored, set_at FROM reporter_keys WHERE case_id = $1",
        )
        .bind(case_id)
        .fetch_optional(p)
        .await?);
        row.map(RawReporterKey::decode).transpose()
    }

    /// Stores the organisation's key pair, replacing any earlier one. `secret_protected` must
    /// already be encrypted by the caller. Fails with `NotFound` if the organisation is missing.
    pub async fn put_org_key(
        &self,
        org_id: i64,
        fingerprint: &str,
        public_armored: &str,
        secret_protected: &[u8],
        created_at: Timestamp,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO org_keys (org_id, fingerprint, public_armored, secret_protected, \
             created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (org_id) DO UPDATE SET fingerprint = excluded.fingerprint, \
             public_armored = excluded.public_armored, \
             secret_protected = excluded.secret_protected, created_at = excluded.created_at",
        )
        .bind(org_id)
        .bind(fingerprint.to_owned())
        .bind(public_armored.to_owned())
        .bind(secret_protected.to_vec())
        .bind(ts_text(created_at))
        .execute(p)
        .await
        .map(drop)
        .map_err(|e| constraint(e, "organisation")))
    }

    /// The organisation's key pair, if one was stored.
    pub async fn org_key(&self, org_id: i64) -> Result<Option<OrgKeyRow>, StoreError> {
        let row: Option<RawOrgKey> = on_pool!(self, p => sqlx::query_as(
            "SELECT org_id, fingerprint, public_armored, secret_protected, created_at \
             FROM org_keys WHERE org_id = $1",
        )
        .bind(org_id)
        .fetch_optional(p)
        .await?);
        row.map(RawOrgKey::decode).transpose()
    }
}
