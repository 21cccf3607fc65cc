//! Reading the `multipart/form-data` bodies of the pages' forms within a policy's limits.
//!
//! The whole body is capped before a byte is read (by `Content-Length` and while streaming),
//! so a client cannot make the server buffer more than the policy allows. A file over the
//! per-file limit, or one file too many, is read to its end and dropped: the form can then
//! be shown again with the error next to its field and everything else that was typed.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use http_body_util::BodyExt;

use crate::ApiError;
use crate::attachments::{Limits, Upload};

/// What the text parts of a form may add up to, multipart framing included.
pub const TEXT_BUDGET_BYTES: u64 = 1024 * 1024;
/// Most parts a form may have; ours have a few dozen at most.
const MAX_PARTS: usize = 100;

/// A form as received: its text values, the files accepted, and the files refused.
#[derive(Debug, Default)]
pub(crate) struct FormData {
    values: BTreeMap<String, String>,
    /// Files within the limits, in the order sent.
    pub(crate) files: Vec<Upload>,
    /// One error per file refused (too large, one too many), naming its field.
    pub(crate) refused: Vec<ApiError>,
    /// Files sent, accepted or not.
    file_parts: usize,
}

impl FormData {
    /// The value of a text field, `""` when absent.
    pub(crate) fn text(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// Whether any file was sent, accepted or not: a browser cannot put files back into a
    /// form, so a page shown again must ask for them again.
    pub(crate) fn had_files(&self) -> bool {
        self.file_parts > 0
    }
}

/// The most bytes a form under `limits` may have.
pub(crate) fn body_limit(limits: Limits) -> u64 {
    u64::from(limits.files)
        .saturating_mul(limits.file_bytes)
        .saturating_add(TEXT_BUDGET_BYTES)
}

/// How long a refused body is read before the connection is closed anyway.
const DRAIN_TIME: Duration = Duration::from_secs(30);

/// Reads and drops up to `length` bytes of `body` within [`DRAIN_TIME`], so that a refusal
/// sent before the body was read reaches the client instead of a connection reset.
pub(crate) async fn drain(mut body: Body, length: u64) {
    let deadline = tokio::time::Instant::now() + DRAIN_TIME;
    let mut read = 0u64;
    while read < length {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                read += frame.data_ref().map_or(0, |d| d.len() as u64);
            }
            _ => break,
        }
    }
}

/// Reads a `multipart/form-data` request. Fails with 415 for another media type and 413
/// when the body is over [`body_limit`] or its text over [`TEXT_BUDGET_BYTES`].
pub(crate) async fn read(request: Request, limits: Limits) -> Result<FormData, ApiError> {
    const EXPECTED: &str = "multipart/form-data";
    let essence = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if essence.as_deref() != Some(EXPECTED) {
        return Err(ApiError::UnsupportedMediaType { expected: EXPECTED });
    }
    let cap = body_limit(limits);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared.filter(|n| *n > cap) {
        // Closing a connection with unread data resets it, and the browser then shows a
        // network error instead of our page; a body up to twice the limit is read and
        // dropped so the page arrives. Larger ones are not worth the bandwidth.
        if length <= cap.saturating_mul(2) {
            drain(request.into_body(), length).await;
        }
        return Err(ApiError::PayloadTooLarge { limit: cap });
    }
    let (parts, body) = request.into_parts();
    let limited = http_body_util::Limited::new(body, usize::try_from(cap).unwrap_or(usize::MAX));
    let request = Request::from_parts(parts, Body::new(limited));
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|_| ApiError::UnreadableBody)?;
    let over = |e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit: cap }
        } else {
            ApiError::UnreadableBody
        }
    };
    let mut form = FormData::default();
    let mut text_bytes = 0u64;
    let mut parts_seen = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(over)? {
        parts_seen += 1;
        if parts_seen > MAX_PARTS {
            return Err(ApiError::InvalidField {
                field: "body".to_owned(),
                message: format!("a form has at most {MAX_PARTS} fields"),
            });
        }
        let name = field.name().unwrap_or_default().to_owned();
        let Some(filename) = field.file_name().map(str::to_owned) else {
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(over)? {
                text_bytes += chunk.len() as u64;
                if text_bytes > TEXT_BUDGET_BYTES {
                    return Err(ApiError::PayloadTooLarge {
                        limit: TEXT_BUDGET_BYTES,
                    });
                }
                bytes.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(bytes).map_err(|_| ApiError::InvalidField {
                field: name.clone(),
                message: format!("{name} is not valid UTF-8 text"),
            })?;
            // Browsers send a textarea's line breaks as CRLF (HTML's form submission
            // algorithm); the log keeps text the way people typed it.
            // Every form of the site passes here: text from outside is normalised once.
            let text = vulndesk_core::text::normalise_untrusted(&text.replace("\r\n", "\n"));
            form.values.insert(name, text);
            continue;
        };
        let content_type = field.content_type().map(str::to_owned);
        let accepting = (form.files.len() as u64) < u64::from(limits.files);
        let mut data = Vec::new();
        let mut size = 0u64;
        while let Some(chunk) = field.chunk().await.map_err(over)? {
            size += chunk.len() as u64;
            if accepting && size <= limits.file_bytes {
                data.extend_from_slice(&chunk);
            }
        }
        // A file input left empty is still sent, with no name and no bytes.
        if filename.is_empty() && size == 0 {
            continue;
        }
        form.file_parts += 1;
        if !accepting {
            form.refused.push(ApiError::TooManyAttachments {
                field: name,
                limit: limits.files,
            });
        } else if size > limits.file_bytes {
            form.refused.push(ApiError::AttachmentTooLarge {
                field: name,
                filename,
                limit: limits.file_bytes,
            });
        } else {
            form.files
                .push(Upload::new(&name, &filename, content_type.as_deref(), data));
        }
    }
    Ok(form)
}
