//! The only way stored files are ever served back: as downloads.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vulndesk_store::AttachmentRow;

pub use vulndesk_desk::attachments::{Limits, Upload};

/// A stored file as a download and nothing else: whatever its declared type, a browser saves
/// it instead of rendering it, so an uploaded HTML or SVG file cannot run script in our
/// origin (and `sandbox` would contain it if a browser rendered it anyway).
pub(crate) fn download(row: &AttachmentRow, data: Vec<u8>) -> Response {
    let disposition = HeaderValue::from_str(&content_disposition(&row.filename))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        data,
    )
        .into_response()
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266 section 4.3):
/// the ASCII fallback for old clients, the exact name (RFC 8187 encoding) for the rest.
fn content_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' && c != '%' => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::new();
    for b in filename.bytes() {
        // attr-char of RFC 8187 section 3.2.1; everything else is percent-encoded.
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_encodes_any_name_safely() {
        assert_eq!(
            content_disposition("poc.py"),
            "attachment; filename=\"poc.py\"; filename*=UTF-8''poc.py"
        );
        assert_eq!(
            content_disposition("résumé \"x\";.html"),
            "attachment; filename=\"r_sum_ _x_;.html\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22x%22%3B.html"
        );
        for name in ["a\"b", "a\\b", "100%.txt", "日本.txt"] {
            let value = content_disposition(name);
            assert!(HeaderValue::from_str(&value).is_ok(), "{value}");
            assert!(value.is_ascii(), "{value}");
        }
    }
}
