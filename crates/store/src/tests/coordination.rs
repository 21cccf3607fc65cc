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
