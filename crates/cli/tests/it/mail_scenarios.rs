//! What mail intake must do, whichever way a message arrives: each scenario runs through
//! the pipe (`mail_ingest`) and through IMAP (`mail_imap`) on both databases.

use serde_json::{Value, json};
use vulndesk_store::{Effects, NewEvent, NewReporterKey};

use crate::mail_support::{Desk, Gpg, ORG, Via, message, pgp_mime, report, sha256};

/// The FreePBX receipt text (policies/freepbx.toml).
const FREEPBX_RECEIPT: &str = "This is an automatic receipt: your report to FreePBX security";

/// A plain report opens a case holding the message, and queues the policy's receipt from
/// the case's reply address. Delivered again, it changes nothing.
pub async fn plain_report_opens_a_case_with_a_receipt(desk: &Desk) {
    let on = &desk.db.label;
    let raw = report(
        "plain-1@example.org",
        "Stored XSS in the admin panel",
        "Steps: open /admin and paste the payload below.\r\nImpact: session theft.\r\n",
    );
    desk.deliver_ok(&raw).await;
    let case_id = desk.case_of("plain-1@example.org").await;
    assert_eq!(
        desk.kinds(case_id).await,
        ["reported", "mail_received", "receipt_sent"],
        "on {on}"
    );
    let reported = desk.last(case_id, "reported").await;
    assert_eq!(reported["channel"], "email");
    assert_eq!(reported["product"], "freepbx");
    assert_eq!(reported["title"], "Stored XSS in the admin panel");
    assert_eq!(reported["reporter_contact"], "ada@example.org");
    assert!(
        reported["description"]
            .as_str()
            .unwrap()
            .contains("paste the payload below"),
        "{reported}"
    );
    let mail = desk.last(case_id, "mail_received").await;
    assert_eq!(
        mail,
        json!({
            "type": "mail_received",
            "raw_sha256": sha256(&raw),
            "message_id": "plain-1@example.org",
            "from": "ada@example.org",
            "subject": "Stored XSS in the admin panel",
            "encrypted": false,
        }),
        "on {on}"
    );
    assert_eq!(desk.raw(&raw).await, raw, "the message is kept verbatim");

    let case = desk.store.case(case_id).await.unwrap().unwrap();
    let reply_address = format!("security+{}@sangoma.com", case.reply_tag);
    let jobs = desk.jobs(case_id).await;
    assert_eq!(jobs.len(), 1, "one receipt queued on {on}");
    let receipt = &jobs[0].payload;
    assert_eq!(jobs[0].kind, "mail");
    assert_eq!(receipt["to"], json!(["ada@example.org"]));
    assert_eq!(receipt["envelope_from"], reply_address.as_str());
    let text = unfold(receipt["raw"].as_str().unwrap());
    for expected in [
        format!("From: \"FreePBX\" <{reply_address}>"),
        "Subject: Re: Stored XSS in the admin panel".to_owned(),
        "In-Reply-To: <plain-1@example.org>".to_owned(),
        format!("Message-ID: <{}>", receipt["message_id"].as_str().unwrap()),
    ] {
        assert!(
            text.contains(&expected),
            "{expected} in the receipt:\n{text}"
        );
    }
    assert!(text.contains(FREEPBX_RECEIPT), "receipt:\n{text}");
    // FreePBX promises a human answer: the receipt does not stop the acknowledge clock.
    let projection = desk.store.projection(case_id).await.unwrap().unwrap();
    assert_eq!(projection.state, "new");
    assert_eq!(projection.next_due_kind.as_deref(), Some("acknowledge"));

    let again = desk.deliver_ok(&raw).await;
    if desk.via == Via::Pipe {
        assert_eq!(
            again.stdout.trim(),
            format!("already ingested (case {case_id})")
        );
    }
    assert_eq!(desk.count_cases().await, 1, "one case on {on}");
    assert_eq!(
        desk.kinds(case_id).await.len(),
        3,
        "nothing appended on {on}"
    );
    assert_eq!(desk.jobs(case_id).await.len(), 1, "one receipt on {on}");
}

/// A report encrypted to the organisation key by GnuPG is readable on its case; without the
/// passphrase the next one is stored unread and flagged.
pub async fn encrypted_report_is_readable(desk: &mut Desk) {
    let on = desk.db.label.clone();
    let (fingerprint, public) = desk.generate_key().await;
    let gpg = Gpg::new();
    gpg.import(&public);
    let secret = "SQL injection in /admin/config.php?display=users via the username field.";
    // What a mail client encrypts: a MIME entity (RFC 3156 section 4).
    let entity = format!("Content-Type: text/plain; charset=utf-8\r\n\r\n{secret}\r\n");
    let sealed = gpg.encrypt_to(&fingerprint, entity.as_bytes());
    let raw = pgp_mime("enc-1@example.org", "Encrypted report", &sealed);
    desk.deliver_ok(&raw).await;
    let case_id = desk.case_of("enc-1@example.org").await;
    let reported = desk.last(case_id, "reported").await;
    assert!(
        reported["description"].as_str().unwrap().contains(secret),
        "decrypted description on {on}: {reported}"
    );
    let mail = desk.last(case_id, "mail_received").await;
    assert_eq!(mail["encrypted"], true);
    assert_eq!(mail.get("warning"), None, "on {on}: {mail}");
    let stored = desk.raw(&raw).await;
    assert_eq!(stored, raw, "the ciphertext is kept as received");
    assert!(!String::from_utf8_lossy(&stored).contains("SQL injection"));

    desk.passphrase = false;
    // The officer is told about mail that cannot be decrypted (the members are not, as
    // there is an officer).
    let org = desk
        .store
        .organisation_by_slug(ORG)
        .await
        .unwrap()
        .unwrap()
        .id;
    for (email, role) in [
        ("officer@example.org", "officer"),
        ("member@example.org", "member"),
    ] {
        let user = desk
            .store
            .add_user(
                &vulndesk_store::NewUser {
                    email: email.to_owned(),
                    name: role.to_owned(),
                    password_hash: "unused".to_owned(),
                    admin: false,
                    totp_required: false,
                },
                jiff::Timestamp::now(),
            )
            .await
            .unwrap();
        desk.store
            .set_membership(user, org, Some(role))
            .await
            .unwrap();
    }
    let raw = pgp_mime(
        "enc-2@example.org",
        "Encrypted report",
        &gpg.encrypt_to(
            &fingerprint,
            b"Content-Type: text/plain\r\n\r\nSecond secret.\r\n",
        ),
    );
    desk.deliver_ok(&raw).await;
    let case_id = desk.case_of("enc-2@example.org").await;
    let mail = desk.last(case_id, "mail_received").await;
    assert_eq!(mail["encrypted"], true);
    let warning = mail["warning"].as_str().unwrap_or_default();
    assert!(
        warning.starts_with("cannot decrypt: no organisation key loaded: no passphrase configured"),
        "on {on}: {warning}"
    );
    let reported = desk.last(case_id, "reported").await;
    assert!(
        !reported["description"]
            .as_str()
            .unwrap()
            .contains("Second secret")
    );
    assert_eq!(desk.raw(&raw).await, raw, "kept for when the key is loaded");
    let notices: Vec<_> = desk
        .jobs(case_id)
        .await
        .into_iter()
        .filter(|j| {
            j.payload["raw"]
                .as_str()
                .unwrap_or_default()
                .contains("cannot decrypt")
        })
        .collect();
    assert_eq!(notices.len(), 1, "on {on}: one notice, to the officer");
    assert_eq!(
        notices[0].payload["to"],
        serde_json::json!(["officer@example.org"])
    );
    let text = notices[0].payload["raw"].as_str().unwrap();
    assert!(
        text.contains("from ada@example.org"),
        "names the sender: {text}"
    );
    assert!(
        !text.contains("Second secret") && !text.contains("Encrypted report"),
        "no contents: {text}"
    );
}

/// A clearsigned reply to the receipt's reply address joins the case, verified against the
/// reporter's key; on a case without the reporter's key a reply found by In-Reply-To joins
/// too, with the signature reported as unverified.
pub async fn signed_reply_joins_its_case(desk: &Desk) {
    let on = &desk.db.label;
    desk.deliver_ok(&report("sig-1@example.org", "Crash", "Crash details.\r\n"))
        .await;
    let case_id = desk.case_of("sig-1@example.org").await;
    let receipt = desk.jobs(case_id).await.remove(0).payload;
    let reply_address = receipt["envelope_from"].as_str().unwrap().to_owned();

    let gpg = Gpg::new();
    let fingerprint = gpg.reporter_key("Ada Reporter <ada@example.org>");
    set_reporter_key(desk, case_id, &fingerprint, &gpg.export(&fingerprint)).await;
    // No threading headers: only the reply address leads to the case.
    let raw = clearsigned_reply(
        &gpg,
        &fingerprint,
        "sig-1-reply@example.org",
        &reply_address,
        "Subject: Re: Crash\r\n",
        "I can confirm it also crashes 16.0.40.\n",
    );
    desk.deliver_ok(&raw).await;
    assert_eq!(
        desk.case_of("sig-1-reply@example.org").await,
        case_id,
        "on {on}"
    );
    let kinds = desk.kinds(case_id).await;
    assert_eq!(
        kinds[kinds.len() - 2..],
        ["mail_received", "reporter_reply"],
        "on {on}"
    );
    let mail = desk.last(case_id, "mail_received").await;
    assert_eq!(mail["signed_by"], fingerprint.as_str(), "on {on}: {mail}");
    assert_eq!(mail.get("warning"), None, "on {on}: {mail}");
    let reply = desk.last(case_id, "reporter_reply").await;
    assert_eq!(reply["channel"], "email");
    assert!(
        reply["body"]
            .as_str()
            .unwrap()
            .contains("also crashes 16.0.40"),
        "{reply}"
    );
    assert!(
        !reply["body"].as_str().unwrap().contains("BEGIN PGP"),
        "{reply}"
    );

    desk.deliver_ok(&report("sig-2@example.org", "Other", "Other report.\r\n"))
        .await;
    let other = desk.case_of("sig-2@example.org").await;
    let receipt_id = desk.jobs(other).await.remove(0).payload["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let raw = clearsigned_reply(
        &gpg,
        &fingerprint,
        "sig-2-reply@example.org",
        "security@sangoma.com",
        &format!(
            "Subject: Re: Other\r\nIn-Reply-To: <{receipt_id}>\r\nReferences: <sig-2@example.org> <{receipt_id}>\r\n"
        ),
        "More details.\n",
    );
    desk.deliver_ok(&raw).await;
    assert_eq!(
        desk.case_of("sig-2-reply@example.org").await,
        other,
        "on {on}"
    );
    let mail = desk.last(other, "mail_received").await;
    assert_eq!(mail.get("signed_by"), None, "on {on}: {mail}");
    assert!(
        mail["warning"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!(
                "signed by a key the case does not have: {fingerprint}"
            )),
        "on {on}: {mail}"
    );
    assert_eq!(desk.count_cases().await, 2, "replies open no case on {on}");
}

/// A reply whose text `signer` clearsigned (inline OpenPGP, as many clients send it).
fn clearsigned_reply(
    gpg: &Gpg,
    signer: &str,
    message_id: &str,
    to: &str,
    headers: &str,
    text: &str,
) -> Vec<u8> {
    let signed = gpg.clearsign(signer, text).replace('\n', "\r\n");
    message(
        message_id,
        to,
        headers,
        &format!("Content-Type: text/plain; charset=utf-8\r\n\r\n{signed}"),
    )
}

/// Sets the reporter's key as the portal will: an event and the key, in one write.
async fn set_reporter_key(desk: &Desk, case_id: i64, fingerprint: &str, armored: &str) {
    let event = NewEvent {
        kind: "reporter_key_set".to_owned(),
        actor: "reporter".to_owned(),
        at: jiff::Timestamp::now(),
        payload: json!({"type": "reporter_key_set", "fingerprint": fingerprint}),
    };
    desk.store
        .append_events(
            case_id,
            desk.store.head(case_id).await.unwrap(),
            vec![event],
            None,
            Effects {
                reporter_key: Some(NewReporterKey {
                    fingerprint: fingerprint.to_owned(),
                    armored: armored.to_owned(),
                }),
                ..Effects::default()
            },
        )
        .await
        .expect("set the reporter key");
}

/// Malformed MIME still opens a case that holds the exact bytes and says what was wrong;
/// the same bytes again are the same message.
pub async fn malformed_message_still_opens_a_case(desk: &Desk) {
    let on = &desk.db.label;
    let raw = b"From: no address here\r\nSubject: broken upload\r\n\
                Content-Type: multipart/mixed; boundary=\"never-used\"\r\n\r\n\
                The boundary never comes.\r\n"
        .to_vec();
    desk.deliver_ok(&raw).await;
    let ids = desk.store.case_ids().await.unwrap();
    assert_eq!(ids.len(), 1, "on {on}");
    let case_id = ids[0];
    assert_eq!(desk.kinds(case_id).await, ["reported", "mail_received"]);
    let reported = desk.last(case_id, "reported").await;
    assert_eq!(reported["title"], "broken upload");
    assert_eq!(reported.get("reporter_contact"), None);
    let mail: Value = desk.last(case_id, "mail_received").await;
    let warning = mail["warning"].as_str().unwrap_or_default();
    assert!(
        warning.contains("no Message-ID header"),
        "on {on}: {warning}"
    );
    assert!(
        warning.contains("From header has no address"),
        "on {on}: {warning}"
    );
    assert_eq!(mail["message_id"], "");
    assert_eq!(desk.raw(&raw).await, raw, "exact bytes kept on {on}");
    assert!(
        desk.jobs(case_id).await.is_empty(),
        "nobody to send a receipt to"
    );

    desk.deliver_ok(&raw).await;
    assert_eq!(desk.count_cases().await, 1, "the same bytes again on {on}");
}

/// A composed mail with folded header lines and quoted-printable soft line breaks undone,
/// enough to find a header or a sentence in it.
pub fn unfold(text: &str) -> String {
    text.replace("=\r\n", "").replace("\r\n ", " ")
}
