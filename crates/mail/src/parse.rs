//! Inbound MIME: one raw message in, an [`Inbound`] out, never an error.
//!
//! The intake rule is that malformed mail still opens a case, so parsing is
//! total: whatever could not be understood becomes a warning, and the caller
//! keeps the raw bytes next to the result.

use mail_parser::{
    Address, HeaderName, HeaderValue, MessageParser, MessagePart, MimeHeaders, PartType,
    decoders::html::html_to_text,
};
use vulndesk_core::email::EmailAddress;

use crate::openpgp::armored_block;

/// A sender: display name and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// Display name, if given (`"Ada Reporter" <ada@example.org>`).
    pub name: Option<String>,
    /// The address, `ada@example.org`.
    pub email: String,
}

/// A MIME part that is not the message text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// From `Content-Disposition: filename` or `Content-Type: name`.
    pub filename: Option<String>,
    /// `type/subtype`, lowercase; `application/octet-stream` when absent.
    pub content_type: String,
    /// Decoded content.
    pub data: Vec<u8>,
}

/// How OpenPGP appears in the message, found by shape only: nothing is
/// decrypted or verified here (see [`crate::decrypt_inbound`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OpenPgpShape {
    /// No OpenPGP content recognised.
    #[default]
    None,
    /// RFC 3156 `multipart/encrypted`: the `application/octet-stream` part.
    PgpMime {
        /// The encrypted OpenPGP message (usually armoured).
        encrypted: Vec<u8>,
    },
    /// An armoured `-----BEGIN PGP MESSAGE-----` block in the text body.
    Inline {
        /// The block, BEGIN to END lines inclusive.
        armored: String,
    },
    /// RFC 3156 `multipart/signed`: the signed part, byte for byte as
    /// received (headers included, line endings as received), and the
    /// detached signature.
    SignedMime {
        /// The first part, raw.
        signed: Vec<u8>,
        /// The `application/pgp-signature` part.
        signature: Vec<u8>,
    },
    /// A `-----BEGIN PGP SIGNED MESSAGE-----` block in the text body.
    Cleartext {
        /// The block, BEGIN to END lines inclusive.
        armored: String,
    },
}

/// One parsed inbound message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inbound {
    /// `Message-ID` without angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To` ids, as written.
    pub in_reply_to: Vec<String>,
    /// `References` ids, oldest first as written.
    pub references: Vec<String>,
    /// The first `From` mailbox.
    pub from: Option<Mailbox>,
    /// Every recipient address from `To`, `Cc`, `Delivered-To` and
    /// `X-Original-To`, in that order, without duplicates: the per-case
    /// reply address may be in any of them.
    pub to: Vec<String>,
    /// Decoded subject, empty when absent.
    pub subject: String,
    /// The plain-text body; an HTML-only message is converted to text.
    pub text: String,
    /// Every other part.
    pub attachments: Vec<Attachment>,
    /// OpenPGP content found by shape.
    pub openpgp: OpenPgpShape,
    /// What was wrong with the message, one finding per entry.
    pub warnings: Vec<String>,
}

/// Text, attachments and OpenPGP shape of a MIME entity.
#[derive(Debug, Default)]
pub(crate) struct Body {
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub openpgp: OpenPgpShape,
    pub warnings: Vec<String>,
}

/// Headers that mark a byte string as a message at all.
const KNOWN_HEADERS: [HeaderName<'static>; 8] = [
    HeaderName::From,
    HeaderName::To,
    HeaderName::Subject,
    HeaderName::Date,
    HeaderName::MessageId,
    HeaderName::ContentType,
    HeaderName::MimeVersion,
    HeaderName::Received,
];

impl Inbound {
    /// Parses one raw RFC 5322 message. Never fails: bytes that are not a
    /// message give an `Inbound` whose text is the bytes (lossy UTF-8) and
    /// whose warnings start with "not a MIME message".
    pub fn parse(raw: &[u8]) -> Inbound {
        let Some(msg) = MessageParser::default().parse(raw) else {
            return Inbound::unparsed(raw, "no header block found");
        };
        if !KNOWN_HEADERS
            .iter()
            .any(|h| msg.header(h.clone()).is_some())
        {
            return Inbound::unparsed(raw, "no e-mail headers found");
        }
        let mut warnings = Vec::new();
        let message_id = msg.message_id().map(str::to_owned);
        if message_id.is_none() {
            warnings.push(match msg.header_raw(HeaderName::MessageId) {
                Some(v) => format!("malformed Message-ID header {:?}", v.trim()),
                None => "no Message-ID header".to_owned(),
            });
        }
        let from = msg.from().and_then(|a| a.iter().find_map(mailbox));
        if from.is_none() {
            warnings.push(match msg.from() {
                Some(_) => "From header has no address".to_owned(),
                None => "no From header".to_owned(),
            });
        }
        let mut to: Vec<String> = Vec::new();
        let listed = msg
            .to()
            .into_iter()
            .chain(msg.cc())
            .flat_map(Address::iter)
            .filter_map(|a| a.address());
        let delivered = ["Delivered-To", "X-Original-To"]
            .into_iter()
            .flat_map(|name| {
                msg.header_values(name)
                    .filter_map(|v| v.as_text().and_then(bare_address))
                    .collect::<Vec<_>>()
            });
        for address in listed.map(str::to_owned).chain(delivered) {
            if !to.iter().any(|t| t.eq_ignore_ascii_case(&address)) {
                to.push(address);
            }
        }
        let in_reply_to = nearest(ids(msg.in_reply_to()), "In-Reply-To", &mut warnings);
        let references = nearest(ids(msg.references()), "References", &mut warnings);
        let body = Body::of(&msg);
        warnings.extend(body.warnings);
        Inbound {
            message_id,
            in_reply_to,
            references,
            from,
            to,
            subject: msg.subject().unwrap_or_default().to_owned(),
            text: body.text,
            attachments: body.attachments,
            openpgp: body.openpgp,
            warnings,
        }
    }

    fn unparsed(raw: &[u8], why: &str) -> Inbound {
        Inbound {
            text: String::from_utf8_lossy(raw).into_owned(),
            warnings: vec![format!("not a MIME message: {why}")],
            ..Inbound::default()
        }
    }
}

impl Body {
    /// Parses a MIME entity without message headers, such as the plaintext
    /// of a PGP/MIME message.
    pub(crate) fn parse_entity(raw: &[u8]) -> Body {
        match MessageParser::default().parse(raw) {
            Some(msg) => Body::of(&msg),
            None => Body {
                text: String::from_utf8_lossy(raw).into_owned(),
                warnings: vec!["not a MIME entity: no header block found".into()],
                ..Body::default()
            },
        }
    }

    fn of(msg: &mail_parser::Message<'_>) -> Body {
        let mut warnings = structure_warnings(msg);
        // A multipart whose boundary never appears is the sender's text in
        // a broken envelope: show it as text rather than as an attachment.
        let broken: Vec<u32> = (0..msg.parts.len() as u32)
            .filter(|&i| is_broken_multipart(&msg.parts[i as usize]))
            .collect();
        let part = |i: &u32| msg.parts.get(*i as usize);
        let texts: Vec<String> = msg
            .text_body
            .iter()
            .chain(&broken)
            .filter_map(part)
            .filter_map(|p| match &p.body {
                PartType::Text(t) => Some(t.to_string()),
                PartType::Html(h) => Some(html_to_text(h)),
                _ => None,
            })
            .collect();
        let text = texts.join("\n");
        let attachments = msg
            .attachments
            .iter()
            .filter(|i| !broken.contains(i))
            .filter_map(part)
            .map(|p| Attachment {
                filename: p.attachment_name().map(str::to_owned),
                content_type: content_type(p).unwrap_or_else(|| "application/octet-stream".into()),
                data: p.contents().to_vec(),
            })
            .collect();
        let openpgp = openpgp_shape(msg, &text, &mut warnings);
        Body {
            text,
            attachments,
            openpgp,
            warnings,
        }
    }
}

fn is_broken_multipart(part: &MessagePart<'_>) -> bool {
    part.content_type()
        .is_some_and(|c| c.ctype().eq_ignore_ascii_case("multipart"))
        && !part.is_multipart()
}

/// `type/subtype` of a part, lowercase.
fn content_type(part: &MessagePart<'_>) -> Option<String> {
    let ct = part.content_type()?;
    Some(match ct.subtype() {
        Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
        None => ct.ctype().to_ascii_lowercase(),
    })
}

/// Findings about the MIME tree: a multipart whose boundary never appears,
/// and parts whose transfer encoding could not be decoded. Parts are
/// numbered as mail-parser stores them: 0 is the root, then depth-first.
fn structure_warnings(msg: &mail_parser::Message<'_>) -> Vec<String> {
    let mut warnings = Vec::new();
    for (i, part) in msg.parts.iter().enumerate() {
        if is_broken_multipart(part) {
            warnings.push(
                match part.content_type().and_then(|c| c.attribute("boundary")) {
                    Some(b) => {
                        format!("part {i}: multipart boundary {b:?} not found, body kept as text")
                    }
                    None => format!(
                        "part {i}: multipart without a boundary parameter, body kept as text"
                    ),
                },
            );
        } else if part.is_encoding_problem {
            warnings.push(match part.content_transfer_encoding() {
                Some(cte) => format!("part {i}: undecodable {}", cte.to_ascii_lowercase()),
                None => format!("part {i}: unreadable body (closing MIME boundary missing?)"),
            });
        }
    }
    warnings
}

fn openpgp_shape(
    msg: &mail_parser::Message<'_>,
    text: &str,
    warnings: &mut Vec<String>,
) -> OpenPgpShape {
    let root = &msg.parts[0];
    let children: Vec<&MessagePart<'_>> = root
        .sub_parts()
        .unwrap_or_default()
        .iter()
        .filter_map(|&i| msg.parts.get(i as usize))
        .collect();
    let protocol = root
        .content_type()
        .and_then(|c| c.attribute("protocol"))
        .map(str::to_ascii_lowercase);
    match (content_type(root).as_deref(), protocol.as_deref()) {
        (Some("multipart/encrypted"), Some("application/pgp-encrypted")) => {
            match children
                .iter()
                .find(|p| content_type(p).as_deref() == Some("application/octet-stream"))
            {
                Some(p) => {
                    return OpenPgpShape::PgpMime {
                        encrypted: p.contents().to_vec(),
                    };
                }
                None => warnings
                    .push("multipart/encrypted without an application/octet-stream part".into()),
            }
        }
        (Some("multipart/signed"), Some("application/pgp-signature")) => {
            match children.as_slice() {
                [signed, signature, ..] => {
                    let raw = msg.raw_message();
                    let range =
                        signed.raw_header_offset() as usize..signed.raw_end_offset() as usize;
                    if let Some(bytes) = raw.get(range) {
                        return OpenPgpShape::SignedMime {
                            signed: bytes.to_vec(),
                            signature: signature.contents().to_vec(),
                        };
                    }
                }
                _ => warnings
                    .push("multipart/signed without a signed part and a signature part".into()),
            }
        }
        _ => {}
    }
    if let Some(block) = armored_block(text, "MESSAGE", "MESSAGE") {
        OpenPgpShape::Inline {
            armored: block.to_owned(),
        }
    } else if let Some(block) = armored_block(text, "SIGNED MESSAGE", "SIGNATURE") {
        OpenPgpShape::Cleartext {
            armored: block.to_owned(),
        }
    } else {
        OpenPgpShape::None
    }
}

fn mailbox(a: &mail_parser::Addr<'_>) -> Option<Mailbox> {
    Some(Mailbox {
        name: a.name().map(str::to_owned),
        email: a.address()?.to_owned(),
    })
}

/// The address in a trace header such as `Delivered-To: <a@b.example>`.
fn bare_address(raw: &str) -> Option<String> {
    EmailAddress::parse(raw).ok().map(|a| a.as_str().to_owned())
}

/// The last [`MAX_REFERENCES`](crate::thread::MAX_REFERENCES) ids of a threading
/// header: the nearest ancestors are the ones that find a thread, and a reply
/// built from this message then carries a bounded header too.
fn nearest(mut ids: Vec<String>, header: &str, warnings: &mut Vec<String>) -> Vec<String> {
    let keep = crate::thread::MAX_REFERENCES;
    if ids.len() > keep {
        warnings.push(format!(
            "{header} header lists {} message ids; only the last {keep} are used",
            ids.len()
        ));
        ids.drain(..ids.len() - keep);
    }
    ids
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => vec![id.to_string()],
        HeaderValue::TextList(list) => list.iter().map(|id| id.to_string()).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a fixture with CRLF line endings, as mail travels.
    fn eml(text: &str) -> Vec<u8> {
        text.replace('\n', "\r\n").into_bytes()
    }

    #[test]
    fn plain_message_gives_headers_text_and_no_warnings() {
        let m = Inbound::parse(&eml("From: \"Ada Reporter\" <ada@example.org>\n\
             To: Security <security@example.org>\n\
             Cc: cert@example.net\n\
             Subject: XSS in login form\n\
             Message-ID: <r1@example.org>\n\
             In-Reply-To: <o1@vulndesk.example>\n\
             References: <o0@vulndesk.example> <o1@vulndesk.example>\n\
             Date: Tue, 24 Nov 2026 10:00:00 +0000\n\
             \n\
             The login form reflects the user parameter.\n"));
        assert_eq!(m.message_id.as_deref(), Some("r1@example.org"));
        assert_eq!(
            m.from,
            Some(Mailbox {
                name: Some("Ada Reporter".into()),
                email: "ada@example.org".into()
            })
        );
        assert_eq!(m.to, ["security@example.org", "cert@example.net"]);
        assert_eq!(m.subject, "XSS in login form");
        assert_eq!(m.in_reply_to, ["o1@vulndesk.example"]);
        assert_eq!(m.references, ["o0@vulndesk.example", "o1@vulndesk.example"]);
        assert_eq!(
            m.text.trim_end(),
            "The login form reflects the user parameter."
        );
        assert!(m.attachments.is_empty());
        assert_eq!(m.openpgp, OpenPgpShape::None);
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    }

    #[test]
    fn multipart_attachment_is_decoded_with_its_name_and_type() {
        let m = Inbound::parse(&eml("From: ada@example.org\n\
             Message-ID: <r2@example.org>\n\
             Content-Type: multipart/mixed; boundary=\"b1\"\n\
             \n\
             --b1\n\
             Content-Type: text/plain; charset=utf-8\n\
             \n\
             Proof of concept attached.\n\
             --b1\n\
             Content-Type: text/x-python; name=\"poc.py\"\n\
             Content-Disposition: attachment; filename=\"poc.py\"\n\
             Content-Transfer-Encoding: base64\n\
             \n\
             cHJpbnQoIm93bmVkIikK\n\
             --b1--\n"));
        assert_eq!(m.text.trim_end(), "Proof of concept attached.");
        assert_eq!(
            m.attachments,
            [Attachment {
                filename: Some("poc.py".into()),
                content_type: "text/x-python".into(),
                data: b"print(\"owned\")\n".to_vec(),
            }]
        );
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    }

    #[test]
    fn html_only_message_becomes_text_without_tags() {
        let m = Inbound::parse(&eml("From: ada@example.org\n\
             Message-ID: <r3@example.org>\n\
             Content-Type: text/html; charset=utf-8\n\
             \n\
             <html><body><p>Hello <b>security</b> team &amp; friends</p></body></html>\n"));
        assert!(
            m.text.contains("Hello security team & friends"),
            "{:?}",
            m.text
        );
        assert!(!m.text.contains('<'), "{:?}", m.text);
    }

    #[test]
    fn quoted_printable_body_is_decoded() {
        let m = Inbound::parse(&eml("From: ada@example.org\n\
             Message-ID: <r4@example.org>\n\
             Content-Type: text/plain; charset=utf-8\n\
             Content-Transfer-Encoding: quoted-printable\n\
             \n\
             Caf=C3=A9 login is vulnerable, a very long line that was =\n\
             soft-broken.\n"));
        assert_eq!(
            m.text.trim_end(),
            "Café login is vulnerable, a very long line that was soft-broken."
        );
    }

    #[test]
    fn malformed_boundary_keeps_the_body_and_warns() {
        let m = Inbound::parse(&eml("From: ada@example.org\n\
             Message-ID: <r5@example.org>\n\
             Content-Type: multipart/mixed; boundary=\"declared\"\n\
             \n\
             --actual\n\
             Content-Type: text/plain\n\
             \n\
             The report text.\n\
             --actual--\n"));
        assert!(
            m.text.contains("The report text."),
            "{:?} {:?} {:?}",
            m.text,
            m.attachments,
            m.warnings
        );
        assert_eq!(
            m.warnings,
            ["part 0: multipart boundary \"declared\" not found, body kept as text"]
        );
    }

    #[test]
    fn undecodable_base64_part_is_named_in_a_warning() {
        let m = Inbound::parse(&eml("From: ada@example.org\n\
             Message-ID: <r6@example.org>\n\
             Content-Type: multipart/mixed; boundary=\"b\"\n\
             \n\
             --b\n\
             Content-Type: text/plain\n\
             \n\
             See attachment.\n\
             --b\n\
             Content-Type: application/octet-stream\n\
             Content-Transfer-Encoding: base64\n\
             \n\
             !!! this is *not* base64 ###\n\
             --b--\n"));
        assert!(m.text.contains("See attachment."));
        assert_eq!(m.warnings, ["part 2: undecodable base64"]);
    }

    #[test]
    fn missing_message_id_and_from_are_warnings() {
        let m = Inbound::parse(&eml("To: security@example.org\nSubject: hi\n\nbody\n"));
        assert_eq!(m.message_id, None);
        assert_eq!(m.from, None);
        assert_eq!(m.warnings, ["no Message-ID header", "no From header"]);
        assert_eq!(m.text.trim_end(), "body");
    }

    #[test]
    fn garbage_bytes_still_give_an_inbound_with_a_warning() {
        let garbage: Vec<u8> = (0u8..=255)
            .rev()
            .chain(b"\x00\xff\xfe".iter().copied())
            .collect();
        let m = Inbound::parse(&garbage);
        assert!(
            m.warnings[0].starts_with("not a MIME message"),
            "{:?}",
            m.warnings
        );
        assert_eq!(m.message_id, None);
        assert!(!m.text.is_empty());
        assert_eq!(Inbound::parse(b"").warnings.len(), 1);
    }

    #[test]
    fn eight_bit_and_encoded_headers_are_decoded() {
        let mut raw = eml("From: =?ISO-8859-1?Q?J=FCrgen_M=FCller?= <jm@example.de>\n\
             Message-ID: <r7@example.de>\n\
             Content-Type: text/plain; charset=utf-8\n\
             Content-Transfer-Encoding: 8bit\n");
        raw.extend("Subject: Sicherheitslücke im Login\r\n\r\nGrüße\r\n".as_bytes());
        let m = Inbound::parse(&raw);
        assert_eq!(m.subject, "Sicherheitslücke im Login");
        assert_eq!(
            m.from.and_then(|f| f.name).as_deref(),
            Some("Jürgen Müller")
        );
        assert_eq!(m.text.trim_end(), "Grüße");
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    }

    #[test]
    fn delivery_headers_add_recipients_once() {
        let m = Inbound::parse(&eml("From: ada@example.org\n\
             Message-ID: <r8@example.org>\n\
             To: security@example.org\n\
             Delivered-To: security+3f9a0c1d2e3f405162738495a6b7c8d9@example.org\n\
             X-Original-To: <SECURITY@example.org>\n\
             \n\
             hi\n"));
        assert_eq!(
            m.to,
            [
                "security@example.org",
                "security+3f9a0c1d2e3f405162738495a6b7c8d9@example.org"
            ]
        );
    }

    #[test]
    fn pgp_mime_encrypted_part_is_found() {
        let m = Inbound::parse(&eml("From: ada@example.org\n\
             Message-ID: <r9@example.org>\n\
             Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"\n\
             \n\
             --e\n\
             Content-Type: application/pgp-encrypted\n\
             \n\
             Version: 1\n\
             --e\n\
             Content-Type: application/octet-stream\n\
             \n\
             -----BEGIN PGP MESSAGE-----\n\
             \n\
             AAAA\n\
             -----END PGP MESSAGE-----\n\
             --e--\n"));
        let OpenPgpShape::PgpMime { encrypted } = &m.openpgp else {
            panic!("{:?}", m.openpgp)
        };
        assert!(encrypted.starts_with(b"-----BEGIN PGP MESSAGE-----"));
        assert!(encrypted.ends_with(b"-----END PGP MESSAGE-----"));
    }

    #[test]
    fn pgp_mime_signed_part_is_kept_byte_for_byte() {
        let signed = "Content-Type: text/plain\r\n\r\nSigned text.\r\n";
        let raw = format!(
            "From: ada@example.org\r\nMessage-ID: <r10@example.org>\r\n\
             Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"s\"\r\n\
             \r\n--s\r\n{signed}--s\r\nContent-Type: application/pgp-signature\r\n\r\nSIG\r\n--s--\r\n"
        );
        let m = Inbound::parse(raw.as_bytes());
        assert_eq!(
            m.openpgp,
            OpenPgpShape::SignedMime {
                signed: signed.trim_end_matches("\r\n").as_bytes().to_vec(),
                signature: b"SIG".to_vec()
            }
        );
        assert_eq!(m.text.trim_end(), "Signed text.");
    }

    #[test]
    fn inline_armour_and_cleartext_signatures_are_found_in_the_text() {
        let inline = Inbound::parse(&eml(
            "From: a@example.org\nMessage-ID: <i@x>\n\nHello\n-----BEGIN PGP MESSAGE-----\n\nAAAA\n-----END PGP MESSAGE-----\nBye\n",
        ));
        assert_eq!(
            inline.openpgp,
            OpenPgpShape::Inline {
                armored: "-----BEGIN PGP MESSAGE-----\r\n\r\nAAAA\r\n-----END PGP MESSAGE-----"
                    .into()
            }
        );
        let signed = Inbound::parse(&eml(
            "From: a@example.org\nMessage-ID: <c@x>\n\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhi\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n",
        ));
        assert!(
            matches!(signed.openpgp, OpenPgpShape::Cleartext { .. }),
            "{:?}",
            signed.openpgp
        );
    }
}
