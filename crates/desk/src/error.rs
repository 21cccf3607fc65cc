//! Every way a use case can fail, independent of how it was asked for: web maps these
//! to HTTP statuses in one place, cli to exit codes in one place.

use vulndesk_store::StoreError;

/// A use case that did not happen. Nothing of it was recorded.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// A required input is absent.
    #[error("missing field `{0}`")]
    MissingField(String),
    /// An input the use case does not know; refused so typos are not silently dropped.
    #[error("unknown field `{field}`, expected {expected}")]
    UnknownField {
        /// The unexpected input.
        field: String,
        /// The inputs that are accepted.
        expected: String,
    },
    /// An input has an unacceptable value.
    #[error("{message}")]
    InvalidField {
        /// The input to blame.
        field: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// No such product (or organisation) takes reports here.
    #[error("{message}")]
    UnknownProduct {
        /// `product` or `organisation`.
        field: &'static str,
        /// What was not found.
        message: String,
    },
    /// The product slug exists in several organisations and none was named.
    #[error(
        "product {product:?} exists in several organisations ({organisations}); name one in `organisation`"
    )]
    AmbiguousProduct {
        /// The slug given.
        product: String,
        /// The candidates, comma-separated.
        organisations: String,
    },
    /// The organisation's policy does not take reports through this channel.
    #[error(
        "{organisation} does not take reports through the {channel}; its policy lists: {offered}"
    )]
    ChannelNotOffered {
        /// The organisation's name.
        organisation: String,
        /// `report form` or `API`.
        channel: &'static str,
        /// The policy's `intake.channels`, comma-separated.
        offered: String,
    },
    /// One attached file is larger than the policy allows.
    #[error("attachment {filename:?} is larger than the limit of {limit} bytes per file")]
    AttachmentTooLarge {
        /// The input that carried the file.
        field: String,
        /// The file's name, as the sender gave it.
        filename: String,
        /// The policy's per-file limit in bytes.
        limit: u64,
    },
    /// More files than the policy allows in one submission.
    #[error("at most {limit} files may be attached at once")]
    TooManyAttachments {
        /// The input that carried the first file too many.
        field: String,
        /// The policy's limit.
        limit: u32,
    },
    /// The action does not fit the case as it is now (an invalid triage move, a case that
    /// kept changing while the action was decided).
    #[error("{message}")]
    Conflict {
        /// What is wrong and, where there is one, the way forward.
        message: String,
    },
    /// What was to be stored (a mail, named by its Message-ID or `sha256:<hex>`) is stored
    /// already; nothing was written.
    #[error("already stored: {0}")]
    Duplicate(String),
    /// The database refused a value for its content; retrying the same value fails the
    /// same way.
    #[error("the request holds text that cannot be stored: {0}")]
    Unstorable(String),
    /// Seen, but not this principal's to do.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing here, or nothing this principal may see.
    #[error("not found")]
    NotFound,
    /// The database cannot be reached; worth retrying later.
    #[error("the service is temporarily unavailable: {0}")]
    Unavailable(String),
    /// A fault on our side.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DeskError {
    /// The input to blame, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            DeskError::MissingField(field)
            | DeskError::UnknownField { field, .. }
            | DeskError::InvalidField { field, .. }
            | DeskError::AttachmentTooLarge { field, .. }
            | DeskError::TooManyAttachments { field, .. } => Some(field),
            DeskError::UnknownProduct { field, .. } => Some(field),
            DeskError::AmbiguousProduct { .. } => Some("organisation"),
            _ => None,
        }
    }

    /// An [`DeskError::InvalidField`] for `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> DeskError {
        DeskError::InvalidField {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// Database failures are outages (retry later); a stored value that does not decode is
/// our fault.
impl From<StoreError> for DeskError {
    fn from(e: StoreError) -> DeskError {
        match e {
            StoreError::Database(_) | StoreError::Migrate(_) => {
                DeskError::Unavailable(e.to_string())
            }
            StoreError::Unstorable(why) => DeskError::Unstorable(why),
            // The case itself (gone, or its reporter's token replaced under the write): the
            // same answer as a wrong token. Anything else missing is an inconsistency.
            StoreError::NotFound("case") => DeskError::NotFound,
            StoreError::Duplicate(what) => DeskError::Duplicate(what),
            other => DeskError::Internal(other.to_string()),
        }
    }
}
