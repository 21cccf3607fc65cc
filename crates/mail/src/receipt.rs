//! The automatic receipt: the first answer a reporter gets, queued in the same transaction
//! as the report, in their language where the policy offers one. Whether it stops the
//! acknowledgement clock is the policy's business (`acknowledge.by`), not this module's.

use jiff::Timestamp;
use vulndesk_core::email::EmailAddress;
use vulndesk_core::policy::{Policy, Receipt as ReceiptText};
use vulndesk_store::NewJob;

use crate::compose::{Outbound, compose_encrypted, compose_plain, new_message_id};
use crate::openpgp::PublicKey;
use crate::outbox::{MailJob, OutboxError};
use crate::parse::Mailbox;
use crate::thread::reply_address;

/// What the receipt answers.
#[derive(Debug, Clone)]
pub struct Answering<'a> {
    /// The case's reply tag: the receipt comes from the case's own address, so the
    /// reporter's answer (and any bounce) lands in the case.
    pub reply_tag: &'a str,
    /// The reporter.
    pub to: Mailbox,
    /// The reporter's languages, most preferred first (BCP 47 tags).
    pub languages: &'a [String],
    /// The report's title or the mail's subject.
    pub subject: &'a str,
    /// Message-ID of the reporter's mail, when the report came by mail.
    pub in_reply_to: Option<String>,
    /// The reporter's mail's References, for threading.
    pub references: Vec<String>,
    /// When the receipt is queued (its Date and the job's start).
    pub at: Timestamp,
    /// Randomness for the Message-ID, hex.
    pub random_hex: &'a str,
}

/// A queued receipt: the job, and its Message-ID to map to the case for threading.
#[derive(Debug)]
pub struct Queued {
    /// The outbox job to write with the case.
    pub job: NewJob,
    /// The receipt's Message-ID, without angle brackets.
    pub message_id: String,
}

/// The receipt for `answering`, or `None` when the policy has no receipt text or no
/// `mailto:` contact to answer from. Encrypted (PGP/MIME) to `encrypt_to` when the reporter
/// gave a key: even a receipt names the report.
pub fn receipt(
    policy: &Policy,
    answering: Answering<'_>,
    encrypt_to: Option<&PublicKey>,
) -> Option<Result<Queued, OutboxError>> {
    receipt_with_note(policy, answering, encrypt_to, None)
}

/// [`receipt`] with `note` (e.g. where reports belong) after the policy's text.
pub fn receipt_with_note(
    policy: &Policy,
    answering: Answering<'_>,
    encrypt_to: Option<&PublicKey>,
    note: Option<&str>,
) -> Option<Result<Queued, OutboxError>> {
    let text = policy.intake.receipt.as_ref()?;
    let language = offered(answering.languages, &receipt_languages(policy));
    let mut text = text
        .text(
            language.as_deref(),
            &policy.organisation.preferred_languages,
        )
        .to_owned();
    if let Some(note) = note {
        text = format!("{}\n\n{note}\n", text.trim_end());
    }
    message(policy, answering, &text, encrypt_to)
}

/// A message from the team to the reporter (a reply, a request for information), sent the
/// way the receipt is: from the case's reply address, encrypted to `encrypt_to` when the
/// reporter gave a key. `None` when the policy has no `mailto:` contact to send from.
pub fn message(
    policy: &Policy,
    answering: Answering<'_>,
    text: &str,
    encrypt_to: Option<&PublicKey>,
) -> Option<Result<Queued, OutboxError>> {
    let contact = mailto_contact(policy)?;
    let from = reply_address(&contact, answering.reply_tag);
    let domain = contact.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let message_id = new_message_id(answering.random_hex, domain);
    let outbound = Outbound {
        from: Mailbox {
            name: Some(policy.organisation.name.clone()),
            email: from.clone(),
        },
        to: answering.to.clone(),
        subject: reply_subject(answering.subject),
        text: format!("{}\n", text.trim_end()),
        reply_to: None,
        message_id: message_id.clone(),
        in_reply_to: answering.in_reply_to,
        references: answering.references,
        date: answering.at,
    };
    let raw = match encrypt_to {
        None => compose_plain(&outbound),
        Some(key) => match compose_encrypted(&outbound, key, None) {
            Ok(raw) => raw,
            Err(e) => return Some(Err(e.into())),
        },
    };
    Some(queue(
        &from,
        &answering.to.email,
        message_id,
        raw,
        answering.at,
    ))
}

/// The outbox job for one composed message.
fn queue(
    from: &str,
    to: &str,
    message_id: String,
    raw: Vec<u8>,
    at: Timestamp,
) -> Result<Queued, OutboxError> {
    MailJob::new(from, &[to.to_owned()], &message_id, raw).map(|job| Queued {
        job: job.into_job(at),
        message_id,
    })
}

/// Who team notices come from: the address the operator configured, else the
/// organisation's `mailto:` contact, else `vulndesk@localhost` (an organisation that takes
/// reports elsewhere, such as Sangoma on GitHub, still gets its reminders).
pub fn notice_sender(policy: &Policy, configured: Option<&str>) -> String {
    configured
        .map(str::to_owned)
        .or_else(|| mailto_contact(policy))
        .unwrap_or_else(|| "vulndesk@localhost".to_owned())
}

/// What a notice to a team member says, and to whom.
pub struct Notice<'a> {
    /// The member's address.
    pub to: &'a str,
    /// Names the case, never its contents: the notice travels unencrypted.
    pub subject: &'a str,
    /// Says where to look, never what the case holds.
    pub text: &'a str,
    /// The member's own reply address on the case, when replies should join it.
    pub reply_to: Option<&'a str>,
}

/// A notice to a team member (a mention, a reminder, mail nobody can read), from `sender`
/// (see [`notice_sender`]). It names the case but carries none of its contents, because it
/// travels unencrypted.
pub fn team_notice(
    policy: &Policy,
    sender: &str,
    notice: Notice<'_>,
    at: Timestamp,
    random_hex: &str,
) -> Result<Queued, OutboxError> {
    let Notice {
        to,
        subject,
        text,
        reply_to,
    } = notice;
    let domain = sender.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let message_id = new_message_id(random_hex, domain);
    let outbound = Outbound {
        from: Mailbox {
            name: Some(format!("{} (Vulndesk)", policy.organisation.name)),
            email: sender.to_owned(),
        },
        to: Mailbox {
            name: None,
            email: to.to_owned(),
        },
        subject: subject.to_owned(),
        text: text.to_owned(),
        reply_to: reply_to.map(|email| Mailbox {
            name: Some(format!("{} (Vulndesk)", policy.organisation.name)),
            email: email.to_owned(),
        }),
        message_id: message_id.clone(),
        in_reply_to: None,
        references: Vec::new(),
        date: at,
    };
    queue(sender, to, message_id, compose_plain(&outbound), at)
}

/// The first `mailto:` contact of the policy, as a bare address.
pub fn mailto_contact(policy: &Policy) -> Option<String> {
    policy.organisation.contact.iter().find_map(|c| {
        c.starts_with("mailto:")
            .then(|| EmailAddress::parse(c).ok())?
            .map(|a| a.as_str().to_owned())
    })
}

/// The languages a receipt text exists in.
pub fn receipt_languages(policy: &Policy) -> Vec<String> {
    match &policy.intake.receipt {
        Some(ReceiptText::ByLanguage(texts)) => texts.keys().cloned().collect(),
        _ => policy.organisation.preferred_languages.clone(),
    }
}

/// The first of the sender's `languages` found among `offered`, spelt as offered: an exact
/// tag first, else its primary subtag (`de-CH` finds `de`).
pub fn offered(languages: &[String], offered: &[String]) -> Option<String> {
    languages.iter().find_map(|tag| {
        let primary = tag.split('-').next().unwrap_or(tag);
        offered
            .iter()
            .find(|o| o.eq_ignore_ascii_case(tag))
            .or_else(|| offered.iter().find(|o| o.eq_ignore_ascii_case(primary)))
            .cloned()
    })
}

/// "Re: " before a subject that does not have it yet.
pub fn reply_subject(subject: &str) -> String {
    let replied = subject
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case("re:"));
    if replied {
        subject.to_owned()
    } else {
        format!("Re: {subject}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(extra: &str) -> Policy {
        let source = format!(
            "format = 1\n[organisation]\nslug = \"acme\"\nname = \"Acme\"\ncontact = [\"https://acme.test/security\", \"mailto:security@acme.test\"]\npreferred_languages = [\"nl\", \"en\"]\n[calendar]\ntimezone = \"UTC\"\n[[product]]\nslug = \"w\"\nname = \"W\"\n{extra}"
        );
        Policy::parse("p.toml", &source).unwrap()
    }

    fn answering(languages: &[String]) -> Answering<'_> {
        Answering {
            reply_tag: "0123456789abcdef0123456789abcdef",
            to: Mailbox {
                name: None,
                email: "finder@example.org".into(),
            },
            languages,
            subject: "XSS in search",
            in_reply_to: None,
            references: Vec::new(),
            at: "2026-11-25T10:00:00Z".parse().unwrap(),
            random_hex: "abcdef",
        }
    }

    #[test]
    fn the_receipt_comes_from_the_cases_reply_address_in_the_reporters_language() {
        let p =
            policy("[intake]\nreceipt = { en = \"Thanks\", nl = \"Bedankt\", de = \"Danke\" }\n");
        let langs = ["de-CH".to_owned()];
        let queued = receipt(&p, answering(&langs), None).unwrap().unwrap();
        let job: MailJob = serde_json::from_value(queued.job.payload).unwrap();
        assert_eq!(
            job.envelope_from,
            "security+0123456789abcdef0123456789abcdef@acme.test"
        );
        assert_eq!(job.to, ["finder@example.org"]);
        assert_eq!(job.message_id, queued.message_id);
        assert!(
            job.raw.contains("Subject: Re: XSS in search"),
            "{}",
            job.raw
        );
        assert!(job.raw.contains("Danke"), "{}", job.raw);
        let none: [String; 0] = [];
        let job: MailJob = serde_json::from_value(
            receipt(&p, answering(&none), None)
                .unwrap()
                .unwrap()
                .job
                .payload,
        )
        .unwrap();
        assert!(
            job.raw.contains("Bedankt"),
            "the policy's first language: {}",
            job.raw
        );
    }

    #[test]
    fn no_receipt_without_a_text_or_a_mailto_contact() {
        assert!(receipt(&policy(""), answering(&[]), None).is_none());
        let mut p = policy("[intake]\nreceipt = \"Thanks\"\n");
        p.organisation.contact = vec!["https://acme.test/security".into()];
        assert!(receipt(&p, answering(&[]), None).is_none());
    }

    #[test]
    fn subjects_get_one_re() {
        assert_eq!(reply_subject("Bug"), "Re: Bug");
        assert_eq!(reply_subject("RE: Bug"), "RE: Bug");
    }
}
