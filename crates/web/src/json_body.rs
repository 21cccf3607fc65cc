//! Reading JSON request bodies so that every failure names what to fix: the media type
//! (415), the size limit (413), the position of a syntax error (400), or the field (422).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// Largest JSON request body accepted, in bytes.
pub const BODY_LIMIT_BYTES: usize = 256 * 1024;

/// Checks the media type and the size, then deserializes an object of type `T`;
/// `fields` lists the fields `T` accepts, for the message when the body is no object.
pub(crate) fn read<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    fields: &str,
) -> Result<T, ApiError> {
    require_json(headers)?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge {
                limit: BODY_LIMIT_BYTES as u64,
            }
        } else {
            ApiError::UnreadableBody
        }
    })?;
    parse(&body, fields)
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    match essence {
        Some(e) if e.eq_ignore_ascii_case("application/json") => Ok(()),
        _ => Err(ApiError::UnsupportedMediaType {
            expected: "application/json",
        }),
    }
}

/// Deserializes with the path of the failing field, and classifies the failure: syntax
/// errors are 400 with a position, everything else is about a field and 422.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8], fields: &str) -> Result<T, ApiError> {
    // serde also accepts a struct written as an array of its fields in order; a body is an
    // object or nothing.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        serde_json::from_slice::<serde::de::IgnoredAny>(body)
            .map_err(|e| json_error(".", e, fields))?;
        return Err(not_an_object(fields));
    }
    let mut tree: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| json_error(".", e, fields))?;
    // Every API body passes here, so this is where text from outside is normalised.
    normalise_strings(&mut tree);
    serde_path_to_error::deserialize(tree).map_err(|e| {
        let path = e.path().to_string();
        json_error(&path, e.into_inner(), fields)
    })
}

/// Normalises every string of a JSON value (object keys too) with
/// [`normalise_untrusted`](vulndesk_core::text::normalise_untrusted).
fn normalise_strings(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => vulndesk_core::text::normalise_in_place(s),
        Value::Array(items) => items.iter_mut().for_each(normalise_strings),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (mut key, mut item) in entries {
                vulndesk_core::text::normalise_in_place(&mut key);
                normalise_strings(&mut item);
                map.insert(key, item);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn json_error(path: &str, e: serde_json::Error, fields: &str) -> ApiError {
    use serde_json::error::Category;
    let full = e.to_string();
    if !matches!(e.classify(), Category::Data) {
        return ApiError::MalformedJson {
            message: full,
            line: e.line(),
            column: e.column(),
        };
    }
    // serde_json appends the position to every message; for a field error the field name
    // is the useful locator.
    let message = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(m, _)| m);
    field_error(path, message, fields)
}

/// The error for a body whose value at `path` (`.` for the body itself) did not fit its
/// field: serde's `message` names a missing or unknown field, or says what is wrong with
/// the value. Shared by JSON bodies and the pages' forms.
pub(crate) fn field_error(path: &str, message: &str, fields: &str) -> ApiError {
    let within = |name: &str| {
        if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(name) = backticked(message, "missing field ") {
        return ApiError::MissingField(within(name));
    }
    if let Some(name) = backticked(message, "unknown field ") {
        let expected = message
            .split_once(", expected ")
            .map_or("no other fields", |(_, rest)| rest);
        // Unlike a missing field, an unknown one is already the last segment of the path.
        return ApiError::UnknownField {
            field: if path == "." {
                name.to_owned()
            } else {
                path.to_owned()
            },
            expected: expected.to_owned(),
        };
    }
    if path == "." {
        return not_an_object(fields);
    }
    ApiError::InvalidField {
        field: path.to_owned(),
        message: format!("{path}: {message}"),
    }
}

fn not_an_object(fields: &str) -> ApiError {
    ApiError::InvalidField {
        field: "body".to_owned(),
        message: format!("expected a JSON object with the fields {fields}"),
    }
}

/// `name` from a message of the form ``{prefix}`name`...``.
fn backticked<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.split_once('`').map(|(name, _)| name)
}
