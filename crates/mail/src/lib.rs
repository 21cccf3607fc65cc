//! Vulndesk mail: inbound MIME parsing, threading keys, OpenPGP, outbound
//! composition, and the [`outbox`] worker that delivers over SMTP.
//! Everything but `outbox` is pure: no network, no database, no clock (times
//! are parameters). The adapters (`vulndesk mail ingest`, the IMAP poller,
//! the outbox worker) call it like this:
//!
//! * **Ingest** one raw message: [`Inbound::parse`] (never fails; keep the
//!   raw bytes and store `warnings`), drop it if its `message_id` was seen
//!   before (without one, a hash of the raw bytes serves as the key), find the case with [`thread::find_reply_tag`] and then
//!   [`thread::candidate_ids`], and get what a person reads with
//!   [`decrypt_inbound`]. When that reports `cannot_decrypt`, store the raw
//!   message anyway and flag the case: mail is never dropped.
//! * **Send**: build an [`compose::Outbound`] with an id from
//!   [`compose::new_message_id`]; if the reporter gave a key, parse it with
//!   [`openpgp::PublicKey::parse`] and use [`compose::compose_encrypted`],
//!   else [`compose::compose_plain`].
//! * **Keys**: [`openpgp::OrgKey::generate`] once, store
//!   [`openpgp::OrgKey::secret_protected`] (passphrase-protected by
//!   OpenPGP itself), load it with [`openpgp::OrgKey::import`]. The
//!   passphrase comes from server configuration, never the database, and
//!   is held as a [`SecretString`] so it stays out of logs.

#![warn(missing_docs)]

pub mod compose;
pub mod openpgp;
pub mod outbox;
pub mod parse;
pub mod receipt;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod thread;

pub use parse::{Attachment, Inbound, Mailbox, OpenPgpShape};
pub use secrecy::SecretString;

use openpgp::{OrgKey, PublicKey, Verification};
use parse::Body;

/// What a person reads of an inbound message, after decryption and
/// signature checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readable {
    /// The text: decrypted when it could be, else the text as received.
    pub text: String,
    /// Attachments (decrypted ones for PGP/MIME), without the OpenPGP
    /// control parts (`application/pgp-encrypted`, `-signature`).
    pub attachments: Vec<Attachment>,
    /// The message arrived encrypted (whether or not it could be decrypted).
    pub encrypted: bool,
    /// Why it could not be decrypted; the caller flags the case "cannot
    /// decrypt" and keeps the raw message.
    pub cannot_decrypt: Option<String>,
    /// Fingerprint of the signer when a signature verified.
    pub signed_by: Option<String>,
    /// The signature check, when the message was signed (good, bad or by an
    /// unknown key).
    pub signature: Option<Verification>,
    /// Parse warnings of the message and of the decrypted part, and the
    /// "cannot decrypt: ..." finding.
    pub warnings: Vec<String>,
}

impl Readable {
    fn new(text: String, attachments: Vec<Attachment>, warnings: Vec<String>) -> Readable {
        let attachments = attachments
            .into_iter()
            .filter(|a| {
                !matches!(
                    a.content_type.as_str(),
                    "application/pgp-encrypted" | "application/pgp-signature"
                )
            })
            .collect();
        Readable {
            text,
            attachments,
            encrypted: false,
            cannot_decrypt: None,
            signed_by: None,
            signature: None,
            warnings,
        }
    }

    fn signed(mut self, signature: Option<Verification>) -> Readable {
        self.signed_by = signature
            .as_ref()
            .and_then(Verification::good_fingerprint)
            .map(str::to_owned);
        self.signature = signature;
        self
    }

    /// Keeps an inner signature (PGP/MIME sign-then-encrypt in two layers)
    /// unless the OpenPGP message itself carried one.
    fn signed_if_none(self, outer: Option<Verification>) -> Readable {
        if outer.is_some() || self.signature.is_none() {
            self.signed(outer)
        } else {
            self
        }
    }
}

/// Decrypts and verifies an inbound message: the one call the ingest
/// adapter makes after [`Inbound::parse`].
///
/// PGP/MIME payloads are decrypted and the decrypted MIME entity is parsed
/// again (a `multipart/signed` or cleartext signature inside is verified
/// too); inline armour is replaced by its plaintext. Signatures are checked
/// against `known` (the reporter's keys). With no key, or when decryption
/// fails, the original text is returned with a "cannot decrypt: <reason>"
/// warning and `cannot_decrypt` set.
pub fn decrypt_inbound(
    inbound: &Inbound,
    key: Option<(&OrgKey, &SecretString)>,
    known: &[PublicKey],
) -> Readable {
    let warnings = inbound.warnings.clone();
    let as_received = || {
        Readable::new(
            inbound.text.clone(),
            inbound.attachments.clone(),
            warnings.clone(),
        )
    };
    let ciphertext = match &inbound.openpgp {
        OpenPgpShape::None => return as_received(),
        OpenPgpShape::SignedMime { signed, signature } => {
            return as_received().signed(Some(verify_signed_part(signed, signature, known)));
        }
        OpenPgpShape::Cleartext { armored } => {
            let text = openpgp::cleartext_text(armored)
                .map(|plain| inbound.text.replace(armored.as_str(), &plain))
                .unwrap_or_else(|| inbound.text.clone());
            return Readable::new(text, inbound.attachments.clone(), warnings)
                .signed(Some(openpgp::verify_cleartext(armored, known)));
        }
        OpenPgpShape::PgpMime { encrypted } => encrypted.as_slice(),
        OpenPgpShape::Inline { armored } => armored.as_bytes(),
    };
    let decrypted = match key {
        None => Err("no organisation key is configured".to_owned()),
        Some((key, passphrase)) => {
            openpgp::decrypt(key, passphrase, ciphertext, known).map_err(|e| e.to_string())
        }
    };
    let mut readable = match decrypted {
        Err(reason) => {
            let mut r = as_received();
            r.warnings.push(format!("cannot decrypt: {reason}"));
            r.cannot_decrypt = Some(reason);
            r
        }
        Ok(d) => match &inbound.openpgp {
            OpenPgpShape::Inline { armored } => {
                let plain = String::from_utf8_lossy(&d.plaintext);
                Readable::new(
                    inbound.text.replace(armored.as_str(), &plain),
                    inbound.attachments.clone(),
                    warnings,
                )
                .signed(d.signature)
            }
            _ => readable_entity(&d.plaintext, warnings, known).signed_if_none(d.signature),
        },
    };
    readable.encrypted = true;
    readable
}

/// A decrypted PGP/MIME entity: its text and attachments, and a signature
/// nested inside it.
fn readable_entity(entity: &[u8], mut warnings: Vec<String>, known: &[PublicKey]) -> Readable {
    let body = Body::parse_entity(entity);
    warnings.extend(
        body.warnings
            .into_iter()
            .map(|w| format!("decrypted part: {w}")),
    );
    let signature = match &body.openpgp {
        OpenPgpShape::SignedMime { signed, signature } => {
            Some(verify_signed_part(signed, signature, known))
        }
        OpenPgpShape::Cleartext { armored } => Some(openpgp::verify_cleartext(armored, known)),
        _ => None,
    };
    Readable::new(body.text, body.attachments, warnings).signed(signature)
}

/// RFC 3156 section 5: the signed part is verified in CRLF form, whatever
/// line endings the message was stored with.
fn verify_signed_part(signed: &[u8], signature: &[u8], known: &[PublicKey]) -> Verification {
    openpgp::verify_detached(&openpgp::crlf(signed), signature, known)
}

#[cfg(test)]
mod testutil;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::{Outbound, compose_encrypted};
    use crate::testutil::{Gpg, now, org, pass, reporter_and};

    /// A reporter's message: headers, then `body` (a MIME entity's headers and body).
    fn message(id: &str, body: &str) -> Vec<u8> {
        format!("From: Reporter <reporter@example.org>\r\nTo: security@example.org\r\nMessage-ID: <{id}>\r\nSubject: Report\r\nMIME-Version: 1.0\r\n{body}")
            .into_bytes()
    }

    /// RFC 3156 PGP/MIME around an armoured OpenPGP message.
    fn pgp_mime(id: &str, armored: &[u8]) -> Vec<u8> {
        let armored = String::from_utf8_lossy(armored).replace('\n', "\r\n");
        message(
            id,
            &format!(
                "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"\r\n\r\n\
                 This is an OpenPGP/MIME encrypted message.\r\n--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\
                 --e\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n{armored}\r\n--e--\r\n"
            ),
        )
    }

    #[test]
    fn pgp_mime_report_from_gpg_is_readable_with_attachment_and_signer() {
        let org = org();
        let (gpg, reporter, reporter_key) = reporter_and(&org);
        let entity = "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
                      Stored XSS in comments.\r\n--m\r\nContent-Type: text/x-python\r\nContent-Disposition: attachment; filename=\"poc.py\"\r\n\r\n\
                      print('poc')\r\n--m--\r\n";
        let sealed = gpg.sign_encrypt(&reporter, &org.fingerprint(), entity.as_bytes());
        let inbound = Inbound::parse(&pgp_mime("r1@example.org", &sealed));
        let readable = decrypt_inbound(
            &inbound,
            Some((&org, &pass())),
            std::slice::from_ref(&reporter_key),
        );
        assert_eq!(readable.text.trim_end(), "Stored XSS in comments.");
        assert_eq!(
            readable.attachments,
            [Attachment {
                filename: Some("poc.py".into()),
                content_type: "text/x-python".into(),
                data: b"print('poc')".to_vec()
            }]
        );
        assert!(readable.encrypted);
        assert_eq!(readable.cannot_decrypt, None);
        assert_eq!(readable.signed_by.as_deref(), Some(reporter.as_str()));
        assert!(readable.warnings.is_empty(), "{:?}", readable.warnings);
    }

    #[test]
    fn inline_armoured_report_is_replaced_by_its_plaintext() {
        let org = org();
        let gpg = Gpg::new();
        gpg.import(&org.public_armored());
        let sealed = gpg.ok(
            &["--encrypt", "--armor", "-r", &org.fingerprint()],
            b"Path traversal in /download.\n",
        );
        let body = format!(
            "Content-Type: text/plain\r\n\r\nHello,\r\n{}\r\nBye\r\n",
            String::from_utf8_lossy(&sealed).replace('\n', "\r\n")
        );
        let inbound = Inbound::parse(&message("r2@example.org", &body));
        assert!(
            matches!(inbound.openpgp, OpenPgpShape::Inline { .. }),
            "{:?}",
            inbound.openpgp
        );
        let readable = decrypt_inbound(&inbound, Some((&org, &pass())), &[]);
        assert!(
            readable
                .text
                .starts_with("Hello,\r\nPath traversal in /download.\n"),
            "{:?}",
            readable.text
        );
        assert!(
            readable.text.trim_end().ends_with("Bye"),
            "{:?}",
            readable.text
        );
        assert!(!readable.text.contains("BEGIN PGP"), "{:?}", readable.text);
        assert!(readable.encrypted && readable.signed_by.is_none());
    }

    #[test]
    fn mail_to_a_key_we_do_not_have_is_kept_and_flagged_cannot_decrypt() {
        let org = org();
        let gpg = Gpg::new();
        let other = gpg.reporter_key("Someone Else <else@example.org>");
        let sealed = gpg.ok(&["--encrypt", "--armor", "-r", &other], b"not for you\n");
        let inbound = Inbound::parse(&pgp_mime("r3@example.org", &sealed));
        let readable = decrypt_inbound(&inbound, Some((&org, &pass())), &[]);
        let reason = readable.cannot_decrypt.clone().expect("flagged");
        assert!(reason.contains("not to the organisation key"), "{reason}");
        assert_eq!(readable.warnings, [format!("cannot decrypt: {reason}")]);
        assert_eq!(readable.text, inbound.text);
        assert!(readable.encrypted && readable.signed_by.is_none());
        let kept = &readable.attachments[0];
        assert_eq!(kept.content_type, "application/octet-stream");
        assert!(
            kept.data.starts_with(b"-----BEGIN PGP MESSAGE-----"),
            "the ciphertext is kept"
        );

        let no_key = decrypt_inbound(&inbound, None, &[]);
        assert_eq!(
            no_key.cannot_decrypt.as_deref(),
            Some("no organisation key is configured")
        );
        assert_eq!(no_key.text, inbound.text);
    }

    #[test]
    fn signed_reports_name_their_signer_pgp_mime_and_cleartext() {
        let gpg = Gpg::new();
        let reporter = gpg.reporter_key("Reporter <reporter@example.org>");
        let known = [PublicKey::parse(&gpg.export(&reporter), now()).expect("reporter key")];
        // The signed entity ends before the CRLF that belongs to the next boundary.
        let signed_part = "Content-Type: text/plain; charset=utf-8\r\n\r\nSigned body.";
        let signature = gpg.ok(
            &["--detach-sign", "--armor", "-u", &reporter],
            signed_part.as_bytes(),
        );
        // Stored with LF line endings, as many mail stores do: RFC 3156
        // verification must use the CRLF form.
        let body = format!(
            "Content-Type: multipart/signed; micalg=pgp-sha512; protocol=\"application/pgp-signature\"; boundary=\"s\"\n\n\
             --s\n{}\n--s\nContent-Type: application/pgp-signature; name=\"signature.asc\"\n\n{}\n--s--\n",
            signed_part.replace("\r\n", "\n"),
            String::from_utf8_lossy(&signature)
        );
        let inbound = Inbound::parse(
            &message("r4@example.org", &body)
                .into_iter()
                .filter(|&b| b != b'\r')
                .collect::<Vec<u8>>(),
        );
        let readable = decrypt_inbound(&inbound, None, &known);
        assert_eq!(readable.signed_by.as_deref(), Some(reporter.as_str()));
        assert_eq!(readable.text.trim_end(), "Signed body.");
        assert!(
            readable.attachments.is_empty(),
            "the signature part is not an attachment"
        );
        assert!(!readable.encrypted);

        let clearsigned = gpg.ok(&["--clearsign", "-u", &reporter], b"Clearsigned body.\n");
        let body = format!(
            "Content-Type: text/plain\r\n\r\n{}",
            String::from_utf8_lossy(&clearsigned)
        );
        let readable = decrypt_inbound(
            &Inbound::parse(&message("r5@example.org", &body)),
            None,
            &known,
        );
        assert_eq!(readable.signed_by.as_deref(), Some(reporter.as_str()));
        assert_eq!(readable.text.trim_end(), "Clearsigned body.");
        let unknown = decrypt_inbound(
            &Inbound::parse(&message("r5@example.org", &body)),
            None,
            &[],
        );
        assert_eq!(
            unknown.signature,
            Some(Verification::UnknownKey { issuer: reporter })
        );
    }

    #[test]
    fn our_signed_encrypted_reply_round_trips_through_ingest() {
        let org = org();
        let out = Outbound {
            from: Mailbox {
                name: None,
                email: "security@example.org".into(),
            },
            to: Mailbox {
                name: None,
                email: "security@example.org".into(),
            },
            subject: "[VD-1] Update".into(),
            text: "Fixed in 2.4.1.\n".into(),
            reply_to: None,
            message_id: "m1@example.org".into(),
            in_reply_to: None,
            references: vec![],
            date: now(),
        };
        let raw =
            compose_encrypted(&out, &org.public_key(), Some((&org, &pass()))).expect("compose");
        let readable = decrypt_inbound(
            &Inbound::parse(&raw),
            Some((&org, &pass())),
            &[org.public_key()],
        );
        assert_eq!(readable.text.replace("\r\n", "\n"), out.text);
        assert_eq!(readable.signed_by, Some(org.fingerprint()));
        assert!(readable.warnings.is_empty(), "{:?}", readable.warnings);
    }
}
