use super::*;
use crate::StoreError;

fn drafted() -> NewEvent {
    NewEvent {
        kind: "drafted".into(),
        actor: "user:1".into(),
        at: ts(NOW),
        payload: json!({"kind": "drafted", "cases": [1]}),
    }
}

#[tokio::test]
async fn advisories_are_numbered_per_organisation_and_year_and_chain_their_events() {
    each_backend(async |label, store| {
        let case = open(&store, b"t").await;
        let acme = store.upsert_organisation("acme", "Acme").await.unwrap();
        let other = store.upsert_organisation("other", "Other").await.unwrap();
        let first = store
            .create_advisory(acme, "ACME", 2026, &[case], drafted())
            .await
            .unwrap();
        let second = store
            .create_advisory(acme, "ACME", 2026, &[case], drafted())
            .await
            .unwrap();
        let next_year = store
            .create_advisory(acme, "ACME", 2027, &[], drafted())
            .await
            .unwrap();
        let elsewhere = store
            .create_advisory(other, "OTHER", 2026, &[], drafted())
            .await
            .unwrap();
        assert_eq!(
            [
                &first.number,
                &second.number,
                &next_year.number,
                &elsewhere.number
            ],
            [
                "ACME-2026-0001",
                "ACME-2026-0002",
                "ACME-2027-0001",
                "OTHER-2026-0001"
            ],
            "{label}"
        );
        assert_eq!(
            (first.head, first.cases.clone()),
            (1, vec![case]),
            "{label}"
        );
        assert_eq!(
            store.advisories_of_case(case).await.unwrap(),
            [first.id, second.id],
            "{label}"
        );
        assert_eq!(
            store
                .advisory_by_number(acme, "ACME-2026-0002")
                .await
                .unwrap()
                .map(|a| a.id),
            Some(second.id)
        );
        assert_eq!(
            store
                .advisory_by_number(other, "ACME-2026-0002")
                .await
                .unwrap(),
            None,
            "{label}"
        );

        // Appends land on the head they were decided on, and only there.
        let edited = NewEvent {
            kind: "edited".into(),
            ..drafted()
        };
        let rows = store
            .append_advisory_events(first.id, 1, vec![edited.clone(), edited.clone()])
            .await
            .unwrap();
        assert_eq!(
            rows.iter().map(|r| r.seq).collect::<Vec<_>>(),
            [2, 3],
            "{label}"
        );
        let stale = store
            .append_advisory_events(first.id, 1, vec![edited.clone()])
            .await;
        assert!(
            matches!(stale, Err(StoreError::Conflict(_))),
            "{label}: {stale:?}"
        );
        assert_eq!(
            store.advisory_events(first.id).await.unwrap().len(),
            3,
            "{label}"
        );
        assert_eq!(
            store.verify_advisory_log(first.id).await.unwrap(),
            3,
            "{label}"
        );
        let missing = store
            .create_advisory(acme, "ACME", 2026, &[999_999], drafted())
            .await;
        assert!(
            matches!(missing, Err(StoreError::NotFound("case"))),
            "{label}: {missing:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn writers_racing_on_one_head_append_once_and_creators_get_distinct_numbers() {
    each_backend(async |label, store| {
        let acme = store.upsert_organisation("acme", "Acme").await.unwrap();
        let advisory = store
            .create_advisory(acme, "ACME", 2026, &[], drafted())
            .await
            .unwrap();
        let mut joins = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let store = store.clone();
            let e = NewEvent {
                kind: "approved".into(),
                ..drafted()
            };
            joins.spawn(async move { store.append_advisory_events(advisory.id, 1, vec![e]).await });
        }
        let results = joins.join_all().await;
        let landed = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(landed, 1, "{label}: {results:?}");
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Ok(_) | Err(StoreError::Conflict(_)))),
            "{label}"
        );
        assert_eq!(
            store.verify_advisory_log(advisory.id).await.unwrap(),
            2,
            "{label}"
        );

        let mut joins = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let store = store.clone();
            joins.spawn(async move {
                store
                    .create_advisory(acme, "ACME", 2030, &[], drafted())
                    .await
            });
        }
        let mut numbers: Vec<String> = joins
            .join_all()
            .await
            .into_iter()
            .map(|r| r.unwrap().number)
            .collect();
        numbers.sort();
        let wanted: Vec<String> = (1..=6).map(|n| format!("ACME-2030-{n:04}")).collect();
        assert_eq!(numbers, wanted, "{label}");
    })
    .await;
}

#[tokio::test]
async fn a_pooled_cve_id_goes_to_one_advisory_however_many_ask_at_once() {
    each_backend(async |label, store| {
        let acme = store.upsert_organisation("acme", "Acme").await.unwrap();
        let ids: Vec<String> = (1..=4)
            .map(|n| format!("CVE-2026-{:05}", 1000 + n))
            .collect();
        assert_eq!(
            store.add_to_cve_pool(acme, &ids, ts(NOW)).await.unwrap(),
            4,
            "{label}"
        );
        // Reserving an ID twice keeps the one entry.
        assert_eq!(
            store
                .add_to_cve_pool(acme, &ids[..1], ts(NOW))
                .await
                .unwrap(),
            0,
            "{label}"
        );
        let mut advisories = Vec::new();
        for _ in 0..6 {
            advisories.push(
                store
                    .create_advisory(acme, "ACME", 2026, &[], drafted())
                    .await
                    .unwrap()
                    .id,
            );
        }
        let mut joins = tokio::task::JoinSet::new();
        for &id in &advisories {
            let store = store.clone();
            joins.spawn(async move {
                (
                    id,
                    store.take_from_cve_pool(acme, id, ts(NOW)).await.unwrap(),
                )
            });
        }
        let taken = joins.join_all().await;
        let mut given: Vec<&String> = taken.iter().filter_map(|(_, cve)| cve.as_ref()).collect();
        given.sort();
        given.dedup();
        assert_eq!(
            given.len(),
            4,
            "{label}: four IDs, each to one advisory: {taken:?}"
        );
        assert_eq!(
            taken.iter().filter(|(_, cve)| cve.is_none()).count(),
            2,
            "{label}"
        );
        // Asking again gives an advisory the ID it was given.
        let (first, its) = taken.iter().find(|(_, cve)| cve.is_some()).unwrap();
        assert_eq!(
            &store
                .take_from_cve_pool(acme, *first, ts(NOW))
                .await
                .unwrap(),
            its,
            "{label}"
        );
        let pool = store.cve_pool(acme).await.unwrap();
        assert_eq!(pool.len(), 4, "{label}");
        assert!(pool.iter().all(|p| p.advisory_id.is_some()), "{label}");
    })
    .await;
}
