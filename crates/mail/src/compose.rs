//! Outbound composition: RFC 5322 bytes for the SMTP outbox worker.
//!
//! Both functions are pure: the Message-ID and date come from the caller,
//! so a retried send produces the same headers.

use mail_builder::{
    MessageBuilder,
    headers::{address::Address, content_type::ContentType, date::Date, message_id::MessageId},
    mime::{BodyPart, MimePart},
};
use secrecy::SecretString;

use crate::openpgp::{OpenPgpError, OrgKey, PublicKey, Signer, encrypt_to};
use crate::parse::Mailbox;

/// One outbound message. Ids are written without angle brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// Sender; use [`crate::thread::reply_address`] as `email` so that
    /// replies come back to the case.
    pub from: Mailbox,
    /// Recipient.
    pub to: Mailbox,
    /// Where replies should go instead of `from` (a participant's own reply address on a
    /// notice sent from another address).
    pub reply_to: Option<Mailbox>,
    /// Subject. It travels in clear even when the body is encrypted, so it
    /// should name the case, not the vulnerability.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// From [`new_message_id`].
    pub message_id: String,
    /// The message answered, if any.
    pub in_reply_to: Option<String>,
    /// The thread so far, oldest first.
    pub references: Vec<String>,
    /// The `Date` header, and the signature time when signing.
    pub date: jiff::Timestamp,
}

/// A Message-ID (without angle brackets) from caller-supplied randomness:
/// `new_message_id("5f2c…", "example.org")` → `5f2c…@example.org`.
pub fn new_message_id(random_hex: &str, domain: &str) -> String {
    format!("{random_hex}@{domain}")
}

fn address(m: &Mailbox) -> Address<'_> {
    Address::new_address(m.name.as_deref(), m.email.as_str())
}

fn headers(out: &Outbound) -> MessageBuilder<'_> {
    let mut builder = MessageBuilder::new()
        .from(address(&out.from))
        .to(address(&out.to))
        .subject(out.subject.as_str())
        .message_id(out.message_id.as_str())
        .date(Date::new(out.date.as_second()));
    if let Some(reply_to) = &out.reply_to {
        builder = builder.reply_to(address(reply_to));
    }
    if let Some(parent) = &out.in_reply_to {
        builder = builder.in_reply_to(parent.as_str());
    }
    if !out.references.is_empty() {
        builder = builder.references(MessageId::new_list(
            out.references.iter().map(String::as_str),
        ));
    }
    builder
}

/// The message as a `text/plain; charset=utf-8` e-mail.
pub fn compose_plain(out: &Outbound) -> Vec<u8> {
    let mut bytes = Vec::new();
    headers(out)
        .text_body(out.text.as_str())
        .serialize(&mut bytes);
    bytes
}

/// The message as RFC 3156 PGP/MIME, encrypted to `recipient` and signed
/// by the organisation key when `sign_with` is given (one OpenPGP message,
/// RFC 3156 section 6.2). The encrypted payload is the MIME entity of the
/// text body, so the recipient's client shows it as a normal message.
pub fn compose_encrypted(
    out: &Outbound,
    recipient: &PublicKey,
    sign_with: Option<(&OrgKey, &SecretString)>,
) -> Result<Vec<u8>, OpenPgpError> {
    let mut entity = Vec::new();
    MimePart::new("text/plain", out.text.as_str()).write_part(&mut entity);
    let signer = sign_with.map(|(key, passphrase)| Signer {
        key,
        passphrase,
        at: out.date,
    });
    let armored = encrypt_to(recipient, &entity, signer.as_ref())?;
    // Raw 7bit parts: the version part and the armour must reach the
    // recipient as written, not re-encoded as base64.
    let version = MimePart::new(
        "application/pgp-encrypted",
        BodyPart::Binary(b"Version: 1\r\n"[..].into()),
    )
    .header(
        "Content-Description",
        mail_builder::headers::raw::Raw::new("PGP/MIME version identification"),
    )
    .transfer_encoding("7bit");
    let payload = MimePart::new(
        ContentType::new("application/octet-stream").attribute("name", "encrypted.asc"),
        BodyPart::Binary(armored.into_bytes().into()),
    )
    .header(
        "Content-Description",
        mail_builder::headers::raw::Raw::new("OpenPGP encrypted message"),
    )
    .inline()
    .transfer_encoding("7bit");
    let body = MimePart::new(
        ContentType::new("multipart/encrypted").attribute("protocol", "application/pgp-encrypted"),
        vec![version, payload],
    );
    let mut bytes = Vec::new();
    headers(out).body(body).serialize(&mut bytes);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Inbound, OpenPgpShape};
    use crate::testutil;

    pub(crate) fn outbound() -> Outbound {
        Outbound {
            from: Mailbox {
                name: Some("Example Security".into()),
                email: "security+3f9a0c1d2e3f405162738495a6b7c8d9@example.org".into(),
            },
            to: Mailbox {
                name: None,
                email: "reporter@example.org".into(),
            },
            subject: "[VD-2026-0042] Update on your report".into(),
            text: "Thank you: we reproduced the issue. Fix due 2027-01-15.\nRegards, Café team\n"
                .into(),
            reply_to: None,
            message_id: new_message_id("5f2c9a", "example.org"),
            in_reply_to: Some("r2@example.org".into()),
            references: vec!["r1@example.org".into(), "r2@example.org".into()],
            date: "2026-11-25T13:00:00Z".parse().expect("date"),
        }
    }

    #[test]
    fn new_message_id_joins_randomness_and_domain() {
        assert_eq!(
            new_message_id("5f2c9a", "example.org"),
            "5f2c9a@example.org"
        );
    }

    #[test]
    fn plain_message_round_trips_through_the_parser() {
        let out = outbound();
        let raw = compose_plain(&out);
        let text = String::from_utf8(raw.clone()).expect("utf-8");
        assert!(
            text.contains("Date: Wed, 25 Nov 2026 13:00:00 +0000\r\n"),
            "{text}"
        );
        let back = Inbound::parse(&raw);
        assert_eq!(back.message_id.as_deref(), Some("5f2c9a@example.org"));
        assert_eq!(back.in_reply_to, ["r2@example.org"]);
        assert_eq!(back.references, ["r1@example.org", "r2@example.org"]);
        assert_eq!(back.from, Some(out.from.clone()));
        assert_eq!(back.to, ["reporter@example.org"]);
        assert_eq!(back.subject, out.subject);
        assert_eq!(back.text.replace("\r\n", "\n"), out.text);
        assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    }

    #[test]
    fn encrypted_message_is_rfc3156_pgp_mime_without_the_text_in_clear() {
        let org = testutil::org();
        let out = outbound();
        let raw = compose_encrypted(&out, &org.public_key(), None).expect("compose");
        let text = String::from_utf8(raw.clone()).expect("ascii");
        assert!(text.contains("multipart/encrypted"), "{text}");
        assert!(
            text.contains("protocol=\"application/pgp-encrypted\""),
            "{text}"
        );
        assert!(
            text.contains("Content-Type: application/pgp-encrypted\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\n\r\nVersion: 1\r\n"), "{text}");
        assert!(!text.contains("reproduced"), "plaintext leaked: {text}");
        let back = Inbound::parse(&raw);
        assert_eq!(back.subject, out.subject);
        let OpenPgpShape::PgpMime { encrypted } = &back.openpgp else {
            panic!("{:?}", back.openpgp)
        };
        assert!(encrypted.starts_with(b"-----BEGIN PGP MESSAGE-----\r\n"));
        assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    }

    #[test]
    fn signed_encrypted_reply_to_a_reporter_is_decrypted_by_gpg() {
        let gpg = testutil::Gpg::new();
        let reporter = gpg.reporter_key("Reporter <reporter@example.org>");
        let (org, pass) = (testutil::org(), testutil::pass());
        // Taken after the key was made: gpg refuses a signature older than its key
        // ("Time conflict"), which a second boundary in between would produce.
        let now = testutil::now();
        let reporter_key = PublicKey::parse(&gpg.export(&reporter), now).expect("reporter key");
        gpg.import(&org.public_armored());
        let out = Outbound {
            date: now,
            ..outbound()
        };
        let raw = compose_encrypted(&out, &reporter_key, Some((&org, &pass))).expect("compose");
        let OpenPgpShape::PgpMime { encrypted } = Inbound::parse(&raw).openpgp else {
            panic!("not PGP/MIME")
        };
        let result = gpg.run(&["--decrypt"], &encrypted);
        let status = String::from_utf8_lossy(&result.stderr);
        assert!(result.status.success(), "gpg --decrypt failed: {status}");
        assert!(
            status.contains(&format!("[GNUPG:] VALIDSIG {}", org.fingerprint())),
            "{status}"
        );
        let entity = Inbound::parse(&result.stdout);
        assert_eq!(entity.text.replace("\r\n", "\n"), out.text);
        assert!(
            String::from_utf8_lossy(&result.stdout)
                .starts_with("Content-Type: text/plain; charset=\"utf-8\"")
        );
    }
}
