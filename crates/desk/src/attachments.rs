//! Files attached to a case: the limits its policy sets, and the events that record them.
//!
//! A file is stored with its case under its SHA-256 and recorded by an `attachment_added`
//! event in the same transaction ([`vulndesk_store::Effects`]), so the log explains every
//! stored byte.

use vulndesk_core::case::Event;
use vulndesk_core::command::File;
use vulndesk_core::policy::Intake;
use vulndesk_store::NewAttachment;

/// Longest stored filename, in characters; longer names keep their end (the extension).
const FILENAME_MAX_CHARS: usize = 200;
/// Longest stored declared media type; a longer one is not a media type.
const CONTENT_TYPE_MAX_CHARS: usize = 127;
/// What a file is recorded as when the client did not say.
const UNKNOWN_TYPE: &str = "application/octet-stream";

/// A file received in a submission, with the form field that carried it.
#[derive(Debug, Clone)]
pub struct Upload {
    /// `attachments`, or `fields.ID` for a policy field of kind `attachment`.
    pub field: String,
    /// Name, declared type and bytes, as they will be stored.
    pub file: NewAttachment,
}

impl Upload {
    /// An upload with its filename and media type cleaned up for storage.
    pub fn new(field: &str, filename: &str, content_type: Option<&str>, data: Vec<u8>) -> Upload {
        Upload {
            field: field.to_owned(),
            file: NewAttachment {
                filename: clean_filename(filename),
                content_type: clean_content_type(content_type),
                data,
            },
        }
    }
}

/// The attachment limits of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file, in bytes.
    pub file_bytes: u64,
    /// Most files per submission.
    pub files: u32,
}

impl Limits {
    /// The limits `intake` sets (or the documented defaults).
    pub fn of(intake: &Intake) -> Limits {
        Limits {
            file_bytes: intake.attachment_bytes_limit(),
            files: intake.attachments_limit(),
        }
    }
}

/// The events that record `uploads` (one `attachment_added` each, in order) and the files to
/// store as the write's effects.
pub fn record(uploads: Vec<Upload>, added_by: &str) -> (Vec<Event>, Vec<NewAttachment>) {
    let (files, stored) = files(uploads);
    let events = files.into_iter().map(|f| f.added_by(added_by)).collect();
    (events, stored)
}

/// What the log says of each upload, and the bytes to store, in the same order.
pub fn files(uploads: Vec<Upload>) -> (Vec<File>, Vec<NewAttachment>) {
    uploads
        .into_iter()
        .map(|u| (described(&u.file), u.file))
        .unzip()
}

/// What the log says of a file to store.
pub fn described(file: &NewAttachment) -> File {
    File {
        sha256: file.sha256(),
        filename: file.filename.clone(),
        content_type: file.content_type.clone(),
        size: file.data.len() as u64,
    }
}

/// Only the last path component (browsers on Windows used to send full paths), without
/// control or format characters (a U+202E override would make `x\u{202e}txt.exe` display
/// as "xexe.txt"), never empty.
fn clean_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let printable = vulndesk_core::text::normalise_filename(base);
    let trimmed = printable.trim().trim_start_matches('.');
    let chars: Vec<char> = trimmed.chars().collect();
    let kept = &chars[chars.len().saturating_sub(FILENAME_MAX_CHARS)..];
    if kept.is_empty() {
        "attachment".to_owned()
    } else {
        kept.iter().collect()
    }
}

/// The declared media type if it looks like one (`type/subtype`, parameters dropped).
fn clean_content_type(raw: Option<&str>) -> String {
    let essence = raw
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match essence.split_once('/') {
        Some((t, s)) if token(t) && token(s) && essence.len() <= CONTENT_TYPE_MAX_CHARS => essence,
        _ => UNKNOWN_TYPE.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_paths_and_control_characters_but_never_become_empty() {
        assert_eq!(clean_filename("C:\\Users\\me\\poc.py"), "poc.py");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("a\u{0}b\r\n.txt"), "ab.txt");
        assert_eq!(clean_filename(".htaccess"), "htaccess");
        assert_eq!(clean_filename("\u{e4}\u{202e}txt.exe"), "\u{e4}txt.exe");
        assert_eq!(clean_filename("\u{2066}x\u{200b}.pdf"), "x.pdf");
        assert_eq!(clean_filename("  "), "attachment");
        assert_eq!(clean_filename("dir/"), "attachment");
        let long = format!("{}.tar.gz", "x".repeat(300));
        let kept = clean_filename(&long);
        assert_eq!(kept.chars().count(), FILENAME_MAX_CHARS);
        assert!(kept.ends_with(".tar.gz"));
    }

    #[test]
    fn declared_types_are_kept_only_when_they_look_like_media_types() {
        assert_eq!(
            clean_content_type(Some("Text/HTML; charset=utf-8")),
            "text/html"
        );
        assert_eq!(clean_content_type(Some("image/svg+xml")), "image/svg+xml");
        assert_eq!(clean_content_type(Some("nonsense")), UNKNOWN_TYPE);
        assert_eq!(clean_content_type(Some("a/b c")), UNKNOWN_TYPE);
        assert_eq!(clean_content_type(None), UNKNOWN_TYPE);
    }

    #[test]
    fn each_upload_is_recorded_by_one_event_naming_its_hash() {
        let uploads = vec![
            Upload::new("attachments", "a.txt", Some("text/plain"), b"one".to_vec()),
            Upload::new("fields.poc", "b.bin", None, b"two!".to_vec()),
        ];
        let (events, files) = record(uploads, "reporter");
        assert_eq!(files.len(), 2);
        match &events[1] {
            Event::AttachmentAdded {
                sha256,
                filename,
                content_type,
                size,
                added_by,
            } => {
                assert_eq!(sha256, &files[1].sha256());
                assert_eq!(filename, "b.bin");
                assert_eq!(content_type, UNKNOWN_TYPE);
                assert_eq!(*size, 4);
                assert_eq!(added_by, "reporter");
            }
            other => panic!("{other:?}"),
        }
    }
}
