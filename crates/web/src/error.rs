//! Every way a request can fail, and the one place that turns a failure into a response.

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use vulndesk_desk::DeskError;
use vulndesk_store::StoreError;

/// A failed request. Rendered as
/// `{"error": {"code": "...", "message": "...", "field": "..."}}`; `field` is present when
/// one input field is to blame, and malformed JSON adds `line` and `column`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON at all.
    #[error("malformed JSON: {message}")]
    MalformedJson {
        /// The parser's message, with its position.
        message: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(String),
    /// A field the endpoint does not know; rejected so typos are not silently dropped.
    #[error("unknown field `{field}`, expected {expected}")]
    UnknownField {
        /// The unexpected field.
        field: String,
        /// The fields that are accepted.
        expected: String,
    },
    /// A field has the wrong type or an unacceptable value.
    #[error("{message}")]
    InvalidField {
        /// The field to blame.
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
    /// The body is not of the media type the endpoint reads.
    #[error("expected a body with Content-Type: {expected}")]
    UnsupportedMediaType {
        /// The media type the endpoint reads.
        expected: &'static str,
    },
    /// The body is larger than the server accepts.
    #[error("request body exceeds the limit of {limit} bytes ({})", human_size(*limit))]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// One attached file is larger than the policy allows.
    #[error(
        "attachment {filename:?} is larger than the limit of {limit} bytes ({}) per file",
        human_size(*limit)
    )]
    AttachmentTooLarge {
        /// The form field that carried the file.
        field: String,
        /// The file's name, as the client gave it.
        filename: String,
        /// The policy's per-file limit in bytes.
        limit: u64,
    },
    /// More files than the policy allows in one submission.
    #[error(
        "at most {limit} {} may be attached at once",
        if *limit == 1 { "file" } else { "files" }
    )]
    TooManyAttachments {
        /// The form field that carried the first file too many.
        field: String,
        /// The policy's limit.
        limit: u32,
    },
    /// This client sent more submissions than the rate limit allows.
    #[error(
        "too many submissions from your address: at most {per_minute} per minute; try again in {retry_after} seconds"
    )]
    TooManyRequests {
        /// Submissions allowed per minute.
        per_minute: u32,
        /// Seconds until the next submission is accepted.
        retry_after: u64,
    },
    /// The body could not be read (the client went away, a transfer error).
    #[error("could not read the request body")]
    UnreadableBody,
    /// The route is for the security team: sign in, or send an API token.
    #[error("sign in first, or send a team API token as `Authorization: Bearer vdt_...`")]
    SignInRequired,
    /// Signed in, but this is not the caller's to do.
    #[error("your role does not allow this here")]
    Forbidden,
    /// Allowed on the route, but the decision on this case refused the caller, for a reason
    /// worth telling them (not a member of the group whose approval a gate needs).
    #[error("{0}")]
    NotAllowed(String),
    /// A state-changing request made with a session cookie lacked its CSRF token.
    #[error("this form has expired or did not come from Vulndesk; reload the page and try again")]
    CsrfRejected,
    /// The request conflicts with the case's state (an invalid triage move, for example).
    #[error("{message}")]
    Conflict {
        /// What is wrong and, where there is one, the way forward.
        message: String,
    },
    /// Too many failed sign-ins for this account or from this address.
    #[error("too many failed sign-ins; try again in {} minutes", retry_after.div_ceil(60))]
    TooManySignIns {
        /// Seconds until sign-in is allowed again.
        retry_after: u64,
    },
    /// Nothing here, or nothing this caller may see; deliberately the same answer either way.
    #[error("not found")]
    NotFound,
    /// The address exists, but not for this method.
    #[error("this address answers only {allow}")]
    MethodNotAllowed {
        /// The methods it answers, as the `Allow` header lists them.
        allow: String,
    },
    /// An API token past its expiry: a new one is made on the account page.
    #[error("this API token expired at {expired_at}; make a new one on /account")]
    TokenExpired {
        /// When it stopped working.
        expired_at: jiff::Timestamp,
    },
    /// The database cannot be reached; worth retrying later. The detail is logged only.
    #[error("the service is temporarily unavailable; try again later")]
    Unavailable(String),
    /// A fault on our side; the detail goes to the log, not to the client.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status this failure is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson { .. } | ApiError::UnreadableBody => StatusCode::BAD_REQUEST,
            ApiError::MissingField(_)
            | ApiError::UnknownField { .. }
            | ApiError::InvalidField { .. }
            | ApiError::UnknownProduct { .. }
            | ApiError::AmbiguousProduct { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::ChannelNotOffered { .. } => StatusCode::FORBIDDEN,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. }
            | ApiError::AttachmentTooLarge { .. }
            | ApiError::TooManyAttachments { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } | ApiError::TooManySignIns { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::SignInRequired | ApiError::TokenExpired { .. } => StatusCode::UNAUTHORIZED,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Forbidden | ApiError::NotAllowed(_) | ApiError::CsrfRejected => {
                StatusCode::FORBIDDEN
            }
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson { .. } => "malformed_json",
            ApiError::MissingField(_) => "missing_field",
            ApiError::UnknownField { .. } => "unknown_field",
            ApiError::InvalidField { .. } => "invalid_field",
            ApiError::UnknownProduct { .. } => "unknown_product",
            ApiError::AmbiguousProduct { .. } => "ambiguous_product",
            ApiError::ChannelNotOffered { .. } => "channel_not_offered",
            ApiError::UnsupportedMediaType { .. } => "unsupported_media_type",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::AttachmentTooLarge { .. } => "attachment_too_large",
            ApiError::TooManyAttachments { .. } => "too_many_attachments",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::UnreadableBody => "unreadable_body",
            ApiError::SignInRequired => "sign_in_required",
            ApiError::Forbidden | ApiError::NotAllowed(_) => "forbidden",
            ApiError::CsrfRejected => "csrf_rejected",
            ApiError::Conflict { .. } => "conflict",
            ApiError::TooManySignIns { .. } => "too_many_sign_ins",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::TokenExpired { .. } => "token_expired",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The input field to blame, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::MissingField(field)
            | ApiError::UnknownField { field, .. }
            | ApiError::InvalidField { field, .. }
            | ApiError::AttachmentTooLarge { field, .. }
            | ApiError::TooManyAttachments { field, .. } => Some(field),
            ApiError::UnknownProduct { field, .. } => Some(field),
            ApiError::AmbiguousProduct { .. } => Some("organisation"),
            _ => None,
        }
    }
}

/// Database failures are answered 503 (retry later); a stored value we cannot decode is
/// our fault and answered 500.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Database(_) | StoreError::Migrate(_) => {
                ApiError::Unavailable(e.to_string())
            }
            // Text is normalised where it enters, so this is a value that slipped past that;
            // it is the request's fault and retrying it would fail the same way.
            StoreError::Unstorable(why) => ApiError::InvalidField {
                field: "body".to_owned(),
                message: format!("the request holds text that cannot be stored: {why}"),
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Every use case's failure as the HTTP answer it gets: the one place the desk's errors
/// meet HTTP.
impl From<DeskError> for ApiError {
    fn from(e: DeskError) -> ApiError {
        match e {
            DeskError::MissingField(field) => ApiError::MissingField(field),
            DeskError::UnknownField { field, expected } => {
                ApiError::UnknownField { field, expected }
            }
            DeskError::InvalidField { field, message } => ApiError::InvalidField { field, message },
            DeskError::UnknownProduct { field, message } => {
                ApiError::UnknownProduct { field, message }
            }
            DeskError::AmbiguousProduct {
                product,
                organisations,
            } => ApiError::AmbiguousProduct {
                product,
                organisations,
            },
            DeskError::ChannelNotOffered {
                organisation,
                channel,
                offered,
            } => ApiError::ChannelNotOffered {
                organisation,
                channel,
                offered,
            },
            DeskError::AttachmentTooLarge {
                field,
                filename,
                limit,
            } => ApiError::AttachmentTooLarge {
                field,
                filename,
                limit,
            },
            DeskError::TooManyAttachments { field, limit } => {
                ApiError::TooManyAttachments { field, limit }
            }
            DeskError::Conflict { message } => ApiError::Conflict { message },
            // Text is normalised where it enters, so this is a value that slipped past that;
            // it is the request's fault and retrying it would fail the same way.
            DeskError::Unstorable(why) => ApiError::InvalidField {
                field: "body".to_owned(),
                message: format!("the request holds text that cannot be stored: {why}"),
            },
            DeskError::Duplicate(what) => ApiError::Conflict {
                message: format!("already stored: {what}"),
            },
            DeskError::NotFound => ApiError::NotFound,
            DeskError::Forbidden(why) => ApiError::NotAllowed(why),
            DeskError::Unavailable(detail) => ApiError::Unavailable(detail),
            DeskError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}

impl From<DeskError> for PageError {
    fn from(e: DeskError) -> PageError {
        PageError(e.into())
    }
}

impl ApiError {
    /// The server-side detail worth logging; client errors are not logged (they may quote
    /// what the client sent).
    fn log(&self) {
        match self {
            ApiError::Unavailable(detail) => {
                tracing::error!(error = %detail, "storage unavailable")
            }
            ApiError::Internal(detail) => tracing::error!(error = %detail, "internal error"),
            _ => {}
        }
    }

    /// Headers the status calls for (RFC 9110 section 10.2.3: `Retry-After` with 429).
    fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        match self {
            ApiError::TooManyRequests { retry_after, .. }
            | ApiError::TooManySignIns { retry_after } => {
                vec![(header::RETRY_AFTER, HeaderValue::from(*retry_after))]
            }
            // RFC 9110 section 15.5.6: a 405 lists the methods the resource supports.
            ApiError::MethodNotAllowed { allow } => HeaderValue::from_str(allow)
                .map(|v| vec![(header::ALLOW, v)])
                .unwrap_or_default(),
            // RFC 6750 section 3.1: the client learns why its token was refused.
            ApiError::TokenExpired { .. } => vec![(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer error=\"invalid_token\", error_description=\"the token expired\"",
                ),
            )],
            _ => Vec::new(),
        }
    }

    /// The JSON error object.
    fn body(&self) -> Value {
        let mut body = json!({ "code": self.code(), "message": self.to_string() });
        if let Some(field) = self.field() {
            body["field"] = json!(field);
        }
        match self {
            ApiError::MalformedJson { line, column, .. } => {
                body["line"] = json!(line);
                body["column"] = json!(column);
            }
            ApiError::PayloadTooLarge { limit } | ApiError::AttachmentTooLarge { limit, .. } => {
                body["limit"] = json!(limit);
            }
            ApiError::TooManyAttachments { limit, .. } => body["limit"] = json!(limit),
            ApiError::TokenExpired { expired_at } => {
                body["expired_at"] = json!(expired_at.to_string());
            }
            ApiError::TooManyRequests { retry_after, .. }
            | ApiError::TooManySignIns { retry_after } => {
                body["retry_after"] = json!(retry_after);
            }
            _ => {}
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let mut response = (self.status(), Json(json!({ "error": self.body() }))).into_response();
        response.headers_mut().extend(self.headers());
        response
    }
}

/// The same failure answered as an HTML page, for the pages a person reads (the report
/// form, the reporter portal). Status, message and headers are [`ApiError`]'s.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> PageError {
        PageError(e)
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> PageError {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log();
        let mut response = crate::pages::error_page(e.status(), &e.to_string());
        response.headers_mut().extend(e.headers());
        response
    }
}

/// Answers `e` in the form the client of `path` reads: JSON under `/api/`, a page elsewhere.
/// For failures found before a handler runs (unknown routes, rate limits).
pub(crate) fn answer(path: &str, e: ApiError) -> Response {
    if path.starts_with("/api/") {
        e.into_response()
    } else {
        PageError(e).into_response()
    }
}

/// `1048576` as `1 MiB`; exact values only, so a stated limit is never rounded.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    UNITS
        .iter()
        .find(|(unit, _)| bytes >= *unit && bytes.is_multiple_of(*unit))
        .map_or_else(
            || format!("{bytes} bytes"),
            |(unit, name)| format!("{} {name}", bytes / unit),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_stated_exactly() {
        assert_eq!(human_size(10 * 1024 * 1024), "10 MiB");
        assert_eq!(human_size(256 * 1024), "256 KiB");
        assert_eq!(human_size(1536), "1536 bytes");
        assert_eq!(human_size(0), "0 bytes");
    }
}
