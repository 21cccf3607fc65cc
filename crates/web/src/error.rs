//! Every way a request can fail, and the one place that turns a failure into a response.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
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
    /// The body is not declared as JSON.
    #[error("expected a body with Content-Type: application/json")]
    UnsupportedMediaType,
    /// The body is larger than the server accepts.
    #[error("request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read (the client went away, a transfer error).
    #[error("could not read the request body")]
    UnreadableBody,
    /// Nothing here, or nothing this caller may see; deliberately the same answer either way.
    #[error("not found")]
    NotFound,
    /// The database cannot be reached; worth retrying later. The detail is logged only.
    #[error("the service is temporarily unavailable; try again later")]
    Unavailable(String),
    /// A fault on our side; the detail goes to the log, not to the client.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson { .. } | ApiError::UnreadableBody => StatusCode::BAD_REQUEST,
            ApiError::MissingField(_)
            | ApiError::UnknownField { .. }
            | ApiError::InvalidField { .. }
            | ApiError::UnknownProduct { .. }
            | ApiError::AmbiguousProduct { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
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
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnreadableBody => "unreadable_body",
            ApiError::NotFound => "not_found",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ApiError::MissingField(field)
            | ApiError::UnknownField { field, .. }
            | ApiError::InvalidField { field, .. } => Some(field),
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
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Unavailable(detail) => {
                tracing::error!(error = %detail, "storage unavailable")
            }
            ApiError::Internal(detail) => tracing::error!(error = %detail, "internal error"),
            _ => {}
        }
        let mut body = json!({ "code": self.code(), "message": self.to_string() });
        if let Some(field) = self.field() {
            body["field"] = json!(field);
        }
        if let ApiError::MalformedJson { line, column, .. } = &self {
            body["line"] = json!(line);
            body["column"] = json!(column);
        }
        (self.status(), Json(json!({ "error": body }))).into_response()
    }
}
