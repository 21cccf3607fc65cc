use super::*;
use crate::{IfExists, NewParty, Put};

fn party(slug: &str, kind: &str) -> NewParty {
    NewParty {
        slug: slug.to_owned(),
        name: slug.to_uppercase(),
        kind: kind.to_owned(),
        contacts: vec![format!("security@{slug}.example"), "psirt@x.example".into()],
        products: vec!["Signalen hosting".into()],
        embargo: Some("14 days".into()),
        terms: "Operations team only.".into(),
        key: None,
    }
}

#[tokio::test]
async fn a_registry_keeps_its_entries_per_organisation_and_by_slug() {
    each_backend(async |label, store| {
        let acme = store.upsert_organisation("acme", "Acme").await.unwrap();
        let other = store.upsert_organisation("other", "Other").await.unwrap();
        let (added, put) = store
            .put_party(
                acme,
                &party("gemeente", "service-provider"),
                IfExists::Refuse,
                ts(NOW),
            )
            .await
            .unwrap();
        assert_eq!(put, Put::Added, "{label}");
        assert_eq!(
            added.party,
            party("gemeente", "service-provider"),
            "{label}"
        );
        store
            .put_party(
                acme,
                &party("debian", "distribution"),
                IfExists::Refuse,
                ts(NOW),
            )
            .await
            .unwrap();
        // The same slug in another organisation is another party.
        store
            .put_party(
                other,
                &party("debian", "distribution"),
                IfExists::Refuse,
                ts(NOW),
            )
            .await
            .unwrap();

        let again = store
            .put_party(acme, &party("debian", "vendor"), IfExists::Refuse, ts(NOW))
            .await
            .unwrap_err();
        assert!(
            matches!(&again, StoreError::Conflict(m) if m.contains("\"debian\" exists")),
            "{label}: {again:?}"
        );

        let later = ts("2025-04-01T00:00:00Z");
        let replacement = NewParty {
            key: Some(("ABCD".into(), "-----BEGIN PGP PUBLIC KEY BLOCK-----".into())),
            products: vec![],
            ..party("gemeente", "vendor")
        };
        let (replaced, put) = store
            .put_party(acme, &replacement, IfExists::Replace, later)
            .await
            .unwrap();
        assert_eq!(put, Put::Replaced, "{label}");
        assert_eq!(
            (replaced.id, replaced.created_at, replaced.updated_at),
            (added.id, ts(NOW), later)
        );
        assert_eq!(replaced.party, replacement, "{label}");

        let slugs: Vec<_> = store
            .parties(acme)
            .await
            .unwrap()
            .into_iter()
            .map(|p| (p.party.kind, p.party.slug))
            .collect();
        assert_eq!(
            slugs,
            [
                ("distribution".into(), "debian".into()),
                ("vendor".into(), "gemeente".into())
            ],
            "{label}: by kind, then name"
        );
        assert_eq!(store.party(acme, "gemeente").await.unwrap(), Some(replaced));
        assert_eq!(store.party(acme, "nobody").await.unwrap(), None);
        assert!(matches!(
            store
                .put_party(9999, &party("x", "vendor"), IfExists::Refuse, ts(NOW))
                .await,
            Err(StoreError::NotFound("organisation"))
        ));
    })
    .await;
}

#[tokio::test]
async fn writers_racing_for_one_slug_add_it_once() {
    each_backend(async |label, store| {
        let acme = store.upsert_organisation("acme", "Acme").await.unwrap();
        let mut joins = tokio::task::JoinSet::new();
        for i in 0..8 {
            let store = store.clone();
            let if_exists = if i % 2 == 0 {
                IfExists::Refuse
            } else {
                IfExists::Replace
            };
            joins.spawn(async move {
                store
                    .put_party(acme, &party("suse", "distribution"), if_exists, ts(NOW))
                    .await
            });
        }
        let results = joins.join_all().await;
        let added = results
            .iter()
            .filter(|r| matches!(r, Ok((_, Put::Added))))
            .count();
        assert_eq!(added, 1, "{label}: {results:?}");
        for r in &results {
            assert!(
                matches!(r, Ok(_) | Err(StoreError::Conflict(_))),
                "{label}: {r:?}"
            );
        }
        assert_eq!(store.parties(acme).await.unwrap().len(), 1, "{label}");
    })
    .await;
}

#[tokio::test]
async fn a_threads_page_reads_its_own_messages_and_never_another_partys() {
    each_backend(async |label, store| {
        let case = open(&store, b"token").await;
        let message = |party: Option<&str>, body: &str, from_party: bool| {
            let mut payload =
                json!({"type": "party_message", "body": body, "from_party": from_party});
            if let Some(p) = party {
                payload["party"] = json!(p);
            }
            NewEvent {
                kind: "party_message".into(),
                actor: if from_party {
                    format!("party:{}", party.unwrap())
                } else {
                    "user:1".into()
                },
                at: ts(NOW),
                payload,
            }
        };
        let events = vec![
            message(Some("debian"), "to debian", false),
            message(Some("debian-lts"), "to debian-lts", false),
            // A body quoting another party's key is still debian-lts's message.
            message(
                Some("debian-lts"),
                r#"about "party":"debian" in a body"#,
                true,
            ),
            message(None, "to every party", false),
            message(Some("debian"), "from debian", true),
            event("note_added", json!({"body": "a note"})),
        ];
        let head = store.head(case).await.unwrap();
        store
            .append_events(case, head, events, None, Effects::default())
            .await
            .unwrap();
        let bodies = |rows: Vec<crate::EventRow>| -> Vec<String> {
            rows.iter()
                .map(|r| {
                    let v: serde_json::Value = serde_json::from_str(&r.payload).unwrap();
                    v["body"]
                        .as_str()
                        .map_or_else(|| r.kind.clone(), str::to_owned)
                })
                .collect()
        };
        let debian = bodies(
            store
                .events_around_threads(case, Some("debian"))
                .await
                .unwrap(),
        );
        assert_eq!(
            debian,
            [
                "reported",
                "to debian",
                "to every party",
                "from debian",
                "a note"
            ],
            "{label}"
        );
        let lts = bodies(
            store
                .events_around_threads(case, Some("debian-lts"))
                .await
                .unwrap(),
        );
        assert_eq!(
            lts,
            [
                "reported",
                "to debian-lts",
                r#"about "party":"debian" in a body"#,
                "to every party",
                "a note"
            ],
            "{label}"
        );
        let around = bodies(store.events_around_threads(case, None).await.unwrap());
        assert_eq!(around, ["reported", "a note"], "{label}");
        let seqs = store.party_message_seqs(case).await.unwrap();
        let who: Vec<&str> = seqs.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            who,
            ["debian-lts", "debian"],
            "{label}: what each party wrote, in order"
        );
    })
    .await;
}

#[tokio::test]
async fn accounts_racing_to_link_one_person_link_it_once_and_unlinking_is_at_once() {
    each_backend(async |label, store| {
        let acme = store.upsert_organisation("acme", "Acme").await.unwrap();
        let (suse, _) = store
            .put_party(
                acme,
                &party("suse", "distribution"),
                IfExists::Refuse,
                ts(NOW),
            )
            .await
            .unwrap();
        let vera = store
            .add_user(&user("vera@suse.example"), ts(NOW))
            .await
            .unwrap();
        let mut joins = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let store = store.clone();
            joins
                .spawn(async move { store.link_party_account(suse.id, vera, true, ts(NOW)).await });
        }
        let linked: Vec<bool> = joins
            .join_all()
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            linked.iter().filter(|l| **l).count(),
            1,
            "{label}: {linked:?}"
        );
        let accounts = store.party_accounts(suse.id).await.unwrap();
        assert_eq!(
            accounts,
            [(vera, "vera@suse.example".to_owned(), "vera".to_owned())],
            "{label}"
        );
        // Not invited anywhere yet: no cases through the party.
        assert!(
            store.party_invitations(vera).await.unwrap().is_empty(),
            "{label}"
        );
        assert!(
            store
                .link_party_account(suse.id, vera, false, ts(NOW))
                .await
                .unwrap()
        );
        assert!(
            !store
                .link_party_account(suse.id, vera, false, ts(NOW))
                .await
                .unwrap(),
            "{label}: already unlinked"
        );
        assert!(
            store.party_accounts(suse.id).await.unwrap().is_empty(),
            "{label}"
        );
    })
    .await;
}
