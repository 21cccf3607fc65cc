//! Intake effects (attachments, raw mail, threading, reporter keys), reply tags, org keys.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::*;
use crate::{Backend, NewAttachment, NewJob, NewRawMessage, NewReporterKey, StoreError};

/// The organisation of [`product_and_policy`], whose mail the tests store.
async fn acme(store: &Store) -> i64 {
    store.upsert_organisation("acme", "Acme").await.unwrap()
}

fn attachment(filename: &str, content_type: &str, data: &[u8]) -> NewAttachment {
    NewAttachment {
        filename: filename.to_owned(),
        content_type: content_type.to_owned(),
        data: data.to_vec(),
    }
}

fn mail(message_id: Option<&str>, data: &[u8]) -> NewRawMessage {
    NewRawMessage {
        message_id: message_id.map(str::to_owned),
        source: "imap:INBOX".to_owned(),
        data: data.to_vec(),
        received_at: ts("2025-03-01T09:59:59.5Z"),
    }
}

fn key(fingerprint: &str) -> NewReporterKey {
    NewReporterKey {
        fingerprint: fingerprint.to_owned(),
        armored: format!(
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n{fingerprint}\n-----END PGP PUBLIC KEY BLOCK-----\n"
        ),
    }
}

fn send_job(message_id: &str) -> NewJob {
    NewJob {
        kind: "mail.send".to_owned(),
        payload: json!({ "message_id": message_id, "to": "r@reporter.example" }),
        run_after: ts("2025-03-01T10:00:00Z"),
    }
}

/// Effects exercising every table: two attachments, the raw mail, thread ids, a job, a key.
fn full_effects(message_id: &str, body: &[u8]) -> Effects {
    Effects {
        attachments: vec![
            attachment("poc.bin", "application/octet-stream", body),
            attachment("notes.txt", "text/plain", b"notes"),
        ],
        raw_message: Some(mail(Some(message_id), body)),
        thread_ids: vec!["<earlier@reporter.example>".to_owned()],
        jobs: vec![send_job("<ack@desk.example>")],
        reporter_key: Some(key("FP")),
        reporter_token_hash: Some(b"replaced token hash".to_vec()),
        search: vec![crate::SearchText {
            event: 0,
            internal: false,
            body: "searchable words".to_owned(),
        }],
        ..Effects::default()
    }
}

#[test]
fn content_addresses_are_sha256_hex() {
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(attachment("a", "text/plain", b"abc").sha256(), abc);
    assert_eq!(mail(None, b"abc").sha256(), abc);
    let shown = format!("{:?}", mail(Some("<m@x>"), b"secret report body"));
    assert!(
        shown.contains("<18 bytes>") && !shown.contains("secret"),
        "{shown}"
    );
}

#[tokio::test]
async fn open_case_stores_its_effects_with_the_events() {
    each_backend(async |label, store| {
        // Every byte value, NUL and CRLF: stored bytes must come back exactly.
        let pdf = attachment("poc.pdf", "application/pdf", &(0..=255u8).cycle().take(70_000).collect::<Vec<_>>());
        let txt = attachment("notes.txt", "text/plain", b"line\r\n\0end");
        let raw = mail(
            Some("<r1@reporter.example>"),
            b"From: r@reporter.example\r\nMessage-ID: <r1@reporter.example>\r\n\r\n\xff\xfe body\r\n",
        );
        let events = vec![
            event("reported", json!({ "raw_message": raw.sha256() })),
            event("attachment_added", json!({ "sha256": pdf.sha256() })),
            event("attachment_added", json!({ "sha256": txt.sha256() })),
        ];
        let stamp = events[2].at;
        let ack = send_job("<ack1@desk.example>");
        let effects = Effects {
            attachments: vec![pdf.clone(), txt.clone()],
            raw_message: Some(raw.clone()),
            thread_ids: vec![
                "<ack1@desk.example>".to_owned(),
                "<older@reporter.example>".to_owned(),
            ],
            jobs: vec![ack.clone()],
            reporter_key: Some(key("0123ABCD")),
            reporter_token_hash: None,
            ..Effects::default()
        };
        let case = store
            .open_case(new_case(&store, b"t").await, events, projection("new", None), effects)
            .await
            .unwrap();
        assert_eq!(store.events(case.id).await.unwrap().len(), 3, "{label}");
        assert!(store.case_for_reporter(case.id, b"t").await.unwrap().is_some(), "{label}");

        // Replacing the reporter's token: the old one stops working in the same commit.
        store
            .append_events(
                case.id, store.head(case.id).await.unwrap(),
                vec![event("reporter_token_replaced", json!({"type": "reporter_token_replaced"}))],
                None,
                Effects {
                    reporter_token_hash: Some(b"fresh".to_vec()),
                    ..Effects::default()
                },
            )
            .await
            .unwrap();
        assert!(store.case_for_reporter(case.id, b"t").await.unwrap().is_none(), "{label}");
        assert!(store.case_for_reporter(case.id, b"fresh").await.unwrap().is_some(), "{label}");

        let listed = store.attachments(case.id).await.unwrap();
        let names: BTreeSet<_> = listed.iter().map(|a| a.filename.as_str()).collect();
        assert_eq!(names, BTreeSet::from(["notes.txt", "poc.pdf"]), "{label}");
        for a in [&pdf, &txt] {
            let (row, data) = store.attachment(case.id, &a.sha256()).await.unwrap().unwrap();
            assert_eq!(data, a.data, "{label}: exact bytes of {}", a.filename);
            assert_eq!(
                (row.case_id, row.sha256, row.filename, row.content_type, row.size, row.created_at),
                (case.id, a.sha256(), a.filename.clone(), a.content_type.clone(), a.data.len() as i64, stamp),
                "{label}"
            );
        }

        let m = store.raw_message(acme(&store).await, &raw.sha256()).await.unwrap().unwrap();
        assert_eq!(m.data, raw.data, "{label}: verbatim mail");
        assert_eq!(
            (m.case_id, m.message_id.as_deref(), m.source.as_str(), m.received_at),
            (case.id, Some("<r1@reporter.example>"), "imap:INBOX", raw.received_at),
            "{label}"
        );
        assert!(store.raw_message_exists(acme(&store).await, "<r1@reporter.example>").await.unwrap(), "{label}");
        assert!(!store.raw_message_exists(acme(&store).await, "<r2@reporter.example>").await.unwrap(), "{label}");

        // The inbound message's own Message-ID is mapped too, so replies to it thread.
        for id in ["<r1@reporter.example>", "<ack1@desk.example>", "<older@reporter.example>"] {
            assert_eq!(
                store.case_for_message_ids(acme(&store).await, &[id.to_owned()]).await.unwrap(),
                Some(case.id),
                "{label}: {id}"
            );
        }

        let jobs = store.jobs_for_case(case.id).await.unwrap();
        assert_eq!(jobs.len(), 1, "{label}");
        let j = &jobs[0];
        assert_eq!(
            (j.case_id, j.kind.as_str(), &j.payload, j.attempts, j.run_after, j.created_at),
            (Some(case.id), "mail.send", &ack.payload, 0, ack.run_after, stamp),
            "{label}"
        );
        assert_eq!(j.status, crate::JobStatus::Pending, "{label}");
        assert_eq!((j.leased_until, j.finished_at, &j.last_error), (None, None, &None), "{label}");

        let k = store.reporter_key(case.id).await.unwrap().unwrap();
        assert_eq!(
            (k.case_id, k.fingerprint.as_str(), k.armored, k.set_at),
            (case.id, "0123ABCD", key("0123ABCD").armored, stamp),
            "{label}"
        );
    })
    .await;
}

#[tokio::test]
async fn later_writes_dedupe_attachments_replace_the_key_and_keep_thread_owners() {
    each_backend(async |label, store| {
        let x = attachment("first-name.txt", "text/plain", b"same bytes");
        let y = attachment("y.txt", "text/plain", b"other bytes");
        let a = store
            .open_case(
                new_case(&store, b"a").await,
                vec![event("reported", json!({}))],
                projection("new", None),
                Effects {
                    attachments: vec![x.clone()],
                    thread_ids: vec!["<t1@x>".to_owned()],
                    reporter_key: Some(key("OLD")),
                    ..Effects::default()
                },
            )
            .await
            .unwrap()
            .id;
        let b = open(&store, b"b").await;

        let renamed = attachment("second-name.txt", "text/plain", b"same bytes");
        store
            .append_events(
                a,
                store.head(a).await.unwrap(),
                vec![event(
                    "attachment_added",
                    json!({ "filename": "second-name.txt" }),
                )],
                None,
                Effects {
                    attachments: vec![renamed, y.clone()],
                    reporter_key: Some(key("NEW")),
                    ..Effects::default()
                },
            )
            .await
            .unwrap();
        let names: Vec<_> = store
            .attachments(a)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.sha256, r.filename))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut expected = vec![
            (x.sha256(), "first-name.txt".to_owned()),
            (y.sha256(), "y.txt".to_owned()),
        ];
        expected.sort();
        assert_eq!(
            names, expected,
            "{label}: same bytes stored once, first name kept"
        );
        assert!(
            store.events(a).await.unwrap()[1]
                .payload
                .contains("second-name.txt"),
            "{label}: the log still records the second upload"
        );
        assert_eq!(
            store.reporter_key(a).await.unwrap().unwrap().fingerprint,
            "NEW",
            "{label}"
        );
        assert_eq!(store.reporter_key(b).await.unwrap(), None, "{label}");
        // Attachments are scoped to their case.
        assert_eq!(
            store.attachment(b, &x.sha256()).await.unwrap(),
            None,
            "{label}"
        );
        assert!(store.attachments(b).await.unwrap().is_empty(), "{label}");

        store
            .append_events(
                b,
                store.head(b).await.unwrap(),
                vec![event("message", json!({}))],
                None,
                Effects {
                    thread_ids: vec!["<t1@x>".to_owned(), "<t2@x>".to_owned()],
                    ..Effects::default()
                },
            )
            .await
            .unwrap();
        let found = async |v: &[&str]| {
            let ids: Vec<String> = v.iter().map(|s| (*s).to_owned()).collect();
            store
                .case_for_message_ids(acme(&store).await, &ids)
                .await
                .unwrap()
        };
        assert_eq!(
            found(&["<t1@x>"]).await,
            Some(a),
            "{label}: first mapping wins"
        );
        assert_eq!(
            found(&["<nope@x>", "<t2@x>", "<t1@x>"]).await,
            Some(b),
            "{label}"
        );
        assert_eq!(
            found(&["<t1@x>", "<t2@x>"]).await,
            Some(a),
            "{label}: given order"
        );
        assert_eq!(found(&["<nope@x>"]).await, None, "{label}");
        assert_eq!(found(&[]).await, None, "{label}");
        assert_eq!(
            store
                .raw_message(acme(&store).await, &x.sha256())
                .await
                .unwrap(),
            None,
            "{label}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_duplicate_raw_message_fails_and_writes_nothing() {
    each_backend(async |label, store| {
        let first = store
            .open_case(
                new_case(&store, b"t").await,
                vec![event("reported", json!({}))],
                projection("new", None),
                full_effects("<dup@x>", b"first delivery"),
            )
            .await
            .unwrap();
        let before = row_counts(&store).await;

        let again = store
            .open_case(
                new_case(&store, b"t").await,
                vec![event("reported", json!({}))],
                projection("new", None),
                full_effects("<dup@x>", b"second delivery, other bytes"),
            )
            .await;
        assert!(
            matches!(&again, Err(StoreError::Duplicate(id)) if id == "<dup@x>"),
            "{label}: {again:?}"
        );
        let appended = store
            .append_events(
                first.id,
                store.head(first.id).await.unwrap(),
                vec![event("message", json!({}))],
                Some(projection("changed", None)),
                full_effects("<dup@x>", b"third delivery"),
            )
            .await;
        assert!(
            matches!(appended, Err(StoreError::Duplicate(_))),
            "{label}: {appended:?}"
        );
        assert_eq!(row_counts(&store).await, before, "{label}: nothing written");
        assert_eq!(
            store.projection(first.id).await.unwrap(),
            Some(projection("new", None))
        );

        // Without a Message-ID only identical bytes are the same message.
        let no_id = |body: &[u8]| Effects {
            raw_message: Some(mail(None, body)),
            ..Effects::default()
        };
        let append = async |fx| {
            let head = store.head(first.id).await.unwrap();
            store
                .append_events(first.id, head, vec![event("message", json!({}))], None, fx)
                .await
        };
        append(no_id(b"anonymous")).await.unwrap();
        let same = append(no_id(b"anonymous")).await;
        let expected = format!("sha256:{}", mail(None, b"anonymous").sha256());
        assert!(
            matches!(&same, Err(StoreError::Duplicate(s)) if *s == expected),
            "{label}: {same:?}"
        );
        append(no_id(b"anonymous, different")).await.unwrap();
        assert_eq!(store.events(first.id).await.unwrap().len(), 3, "{label}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_ingests_of_one_message_id_store_it_once() {
    each_backend(async |label, store| {
        let new = new_case(&store, b"t").await;
        let before = row_counts(&store).await;
        let start = Arc::new(tokio::sync::Barrier::new(8));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (store, new, start) = (store.clone(), new.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    let body = format!("Message-ID: <race@x>\r\n\r\ndelivery {i}\r\n");
                    store
                        .open_case(
                            new,
                            vec![event("reported", json!({ "i": i }))],
                            projection("new", None),
                            full_effects("<race@x>", body.as_bytes()),
                        )
                        .await
                })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => won += 1,
                Err(StoreError::Duplicate(id)) => assert_eq!(id, "<race@x>", "{label}"),
                Err(e) => panic!("{label}: unexpected {e}"),
            }
        }
        assert_eq!(won, 1, "{label}: exactly one ingest wins");
        let after = row_counts(&store).await;
        let added: Vec<_> = before
            .iter()
            .zip(&after)
            .map(|((t, b), (_, a))| (*t, a - b))
            .collect();
        assert_eq!(
            added,
            [
                ("cases", 1),
                ("events", 1),
                ("case_projections", 1),
                ("attachments", 2),
                ("raw_messages", 1),
                ("mail_threads", 2),
                ("reporter_keys", 1),
                ("jobs", 1),
                ("case_grants", 0),
                ("case_search", 1)
            ],
            "{label}"
        );
    })
    .await;
}

/// Makes the database refuse a job of kind `boom`: a write with [`boom_job`] fails part-way,
/// after its case row, events, projection and mail were inserted.
async fn refuse_boom_jobs(store: &Store) {
    match store.backend() {
        Backend::Sqlite => raw_sql!(
            store,
            "CREATE TRIGGER jobs_boom BEFORE INSERT ON jobs WHEN NEW.kind = 'boom' \
             BEGIN SELECT RAISE(ABORT, 'boom'); END"
        ),
        Backend::Postgres => raw_sql!(
            store,
            "ALTER TABLE jobs ADD CONSTRAINT jobs_boom CHECK (kind <> 'boom')"
        ),
    }
    .unwrap();
}

fn boom_job() -> NewJob {
    NewJob {
        kind: "boom".to_owned(),
        payload: json!({}),
        run_after: ts("2025-01-01T00:00:00Z"),
    }
}

#[tokio::test]
async fn a_failure_in_a_later_effect_leaves_nothing_written() {
    each_backend(async |label, store| {
        let case_id = open(&store, b"t").await;
        refuse_boom_jobs(&store).await;
        let failing = |message_id: &str| {
            let mut fx = full_effects(message_id, b"body");
            fx.jobs.push(boom_job());
            fx
        };
        let before = row_counts(&store).await;
        let opened = store
            .open_case(
                new_case(&store, b"u").await,
                vec![
                    event("reported", json!({})),
                    event("acknowledged", json!({})),
                ],
                projection("new", None),
                failing("<m1@x>"),
            )
            .await;
        assert!(
            matches!(opened, Err(StoreError::Database(_))),
            "{label}: {opened:?}"
        );
        let appended = store
            .append_events(
                case_id,
                store.head(case_id).await.unwrap(),
                vec![event("message", json!({})), event("comment", json!({}))],
                Some(projection("changed", None)),
                failing("<m2@x>"),
            )
            .await;
        assert!(
            matches!(appended, Err(StoreError::Database(_))),
            "{label}: {appended:?}"
        );
        assert_eq!(row_counts(&store).await, before, "{label}: nothing written");
        assert_eq!(
            store.projection(case_id).await.unwrap(),
            Some(projection("new", Some(date(2025, 3, 8)))),
            "{label}"
        );
        assert!(
            !store
                .raw_message_exists(acme(&store).await, "<m2@x>")
                .await
                .unwrap(),
            "{label}"
        );

        // The rolled-back message was not half-claimed: it can be ingested now.
        let mut ok = failing("<m2@x>");
        ok.jobs.pop();
        store
            .append_events(
                case_id,
                store.head(case_id).await.unwrap(),
                vec![event("message", json!({}))],
                None,
                ok,
            )
            .await
            .unwrap();
        assert!(
            store
                .raw_message_exists(acme(&store).await, "<m2@x>")
                .await
                .unwrap(),
            "{label}"
        );
    })
    .await;
}

#[tokio::test]
async fn writes_committed_together_stand_or_fall_each_on_its_own() {
    each_backend(async |label, store| {
        refuse_boom_jobs(&store).await;
        let mut cases = Vec::new();
        for i in 0..12u8 {
            cases.push(open(&store, &[i]).await);
        }
        // Twelve appends at once (on SQLite they share the writer's groups); every third
        // fails on its last insert, after its events and mail were written in its batch.
        let mut writes = tokio::task::JoinSet::new();
        for (i, case_id) in cases.iter().copied().enumerate() {
            let store = store.clone();
            writes.spawn(async move {
                // Bytes of its own: the store keeps a raw message once per content too.
                let body = format!("body {i}");
                let mut effects = full_effects(&format!("<g{i}@x>"), body.as_bytes());
                if i % 3 == 0 {
                    effects.jobs.push(boom_job());
                }
                let written = store
                    .append_events(
                        case_id,
                        1,
                        vec![event("message", json!({"n": i}))],
                        Some(projection("changed", None)),
                        effects,
                    )
                    .await;
                (i, case_id, written.is_ok())
            });
        }
        for (i, case_id, ok) in writes.join_all().await {
            assert_eq!(ok, i % 3 != 0, "{label}: write {i}");
            let events = store.events(case_id).await.unwrap().len();
            assert_eq!(events, if ok { 2 } else { 1 }, "{label}: case {case_id}");
            assert_eq!(store.head(case_id).await.unwrap(), events as i64, "{label}");
            store.verify_chain(case_id).await.unwrap();
            let state = store.projection(case_id).await.unwrap().unwrap().state;
            assert_eq!(state, if ok { "changed" } else { "new" }, "{label}");
            let acme = acme(&store).await;
            let mail = format!("<g{i}@x>");
            assert_eq!(
                store.raw_message_exists(acme, &mail).await.unwrap(),
                ok,
                "{label}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn reply_tags_are_unique_hex_secrets_that_find_their_case() {
    each_backend(async |label, store| {
        let mut tags = BTreeSet::new();
        for i in 0..20u8 {
            let case = store
                .open_case(
                    new_case(&store, &[i]).await,
                    vec![event("reported", json!({}))],
                    projection("new", None),
                    Effects::default(),
                )
                .await
                .unwrap();
            let tag = case.reply_tag.clone();
            assert_eq!(tag.len(), 32, "{label}: {tag}");
            assert!(
                tag.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{label}: {tag}"
            );
            assert_eq!(
                store.case(case.id).await.unwrap(),
                Some(case.clone()),
                "{label}"
            );
            let reporter = store.participant_by_reply_tag(&tag).await.unwrap();
            assert_eq!(
                reporter.map(|p| (p.case_id, p.role, p.user_id)),
                Some((case.id, "reporter".to_owned(), None)),
                "{label}"
            );
            let upper = tag.to_ascii_uppercase();
            assert_eq!(
                store
                    .participant_by_reply_tag(&upper)
                    .await
                    .unwrap()
                    .map(|p| p.case_id),
                Some(case.id),
                "{label}: mail systems may change the case of the local part"
            );
            tags.insert(tag);
        }
        assert_eq!(tags.len(), 20, "{label}: unique");
        assert_eq!(
            store
                .participant_by_reply_tag(&"0".repeat(32))
                .await
                .unwrap(),
            None,
            "{label}"
        );
        assert_eq!(
            store.participant_by_reply_tag("").await.unwrap(),
            None,
            "{label}"
        );
    })
    .await;
}

#[tokio::test]
async fn org_keys_are_stored_and_replaced() {
    each_backend(async |label, store| {
        let org = store.upsert_organisation("acme", "Acme").await.unwrap();
        assert_eq!(store.org_key(org).await.unwrap(), None, "{label}");
        let t1 = ts("2025-01-01T00:00:00.000000001Z");
        store
            .put_org_key(org, "FP1", "public 1", &[0, 1, 255], t1)
            .await
            .unwrap();
        let k = store.org_key(org).await.unwrap().unwrap();
        assert_eq!(
            (
                k.org_id,
                k.fingerprint.as_str(),
                k.public_armored.as_str(),
                &k.secret_protected[..],
                k.created_at
            ),
            (org, "FP1", "public 1", &[0u8, 1, 255][..], t1),
            "{label}"
        );
        let shown = format!("{k:?}");
        assert!(
            shown.contains("<3 bytes>") && !shown.contains("255"),
            "{label}: {shown}"
        );

        let t2 = ts("2025-06-01T00:00:00Z");
        store
            .put_org_key(org, "FP2", "public 2", b"sealed", t2)
            .await
            .unwrap();
        let k = store.org_key(org).await.unwrap().unwrap();
        assert_eq!(
            (
                k.fingerprint.as_str(),
                k.public_armored.as_str(),
                &k.secret_protected[..],
                k.created_at
            ),
            ("FP2", "public 2", &b"sealed"[..], t2),
            "{label}: replaced"
        );
        assert!(matches!(
            store.put_org_key(987_654, "FP", "p", b"s", t1).await,
            Err(StoreError::NotFound("organisation"))
        ));
    })
    .await;
}

#[tokio::test]
async fn text_the_database_refuses_is_unstorable_not_an_outage() {
    each_backend(async |label, store| {
        let refused = store.upsert_organisation("nul", "a\u{0}b").await;
        match store.backend() {
            // PostgreSQL refuses U+0000 in text: the input's fault, not the database's.
            Backend::Postgres => assert!(
                matches!(refused, Err(StoreError::Unstorable(_))),
                "{label}: {refused:?}"
            ),
            Backend::Sqlite => assert!(refused.is_ok(), "{label}: {refused:?}"),
        }
    })
    .await;
}
