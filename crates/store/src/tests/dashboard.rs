use super::*;
use crate::{CaseQuery, SearchText, Visible};

#[tokio::test]
async fn the_dashboard_lists_only_visible_cases_and_searches_their_text() {
    each_backend(async |label, store| {
        let a = open(&store, b"a").await;
        let b = open(&store, b"b").await;
        let org = store
            .organisation_by_slug("acme")
            .await
            .unwrap()
            .unwrap()
            .id;
        let other = store.upsert_organisation("other", "Other").await.unwrap();
        let alice = store
            .add_user(&user("alice@example.org"), ts(NOW))
            .await
            .unwrap();
        store
            .set_membership(alice, org, Some("member"))
            .await
            .unwrap();
        store
            .set_membership(alice, other, Some("reviewer"))
            .await
            .unwrap();
        assert_eq!(
            store.memberships(alice).await.unwrap(),
            vec![(org, "member".to_owned()), (other, "reviewer".to_owned())]
        );
        let vendor = store
            .add_user(&user("vendor@example.net"), ts(NOW))
            .await
            .unwrap();
        // A note and a message, and access for the vendor, in the same write.
        store
            .append_events(
                a,
                store.head(a).await.unwrap(),
                vec![
                    event("note_added", json!({"body": "heap overflow in the parser"})),
                    event(
                        "reporter_message",
                        json!({"body": "Thanks, we reproduced it"}),
                    ),
                ],
                Some(Projection {
                    severity: Some("high".into()),
                    ssvc: Some("attend".into()),
                    officer_id: Some(alice),
                    title: "Parser crash".into(),
                    ..projection("accepted", Some(date(2025, 3, 5)))
                }),
                Effects {
                    grants: vec![(vendor, Some("external".into()))],
                    search: vec![
                        SearchText {
                            event: 0,
                            internal: true,
                            body: "heap overflow in the parser".into(),
                        },
                        SearchText {
                            event: 1,
                            internal: false,
                            body: "Thanks, we reproduced it".into(),
                        },
                    ],
                    ..Effects::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            store.case_grants(vendor).await.unwrap(),
            vec![(a, "external".to_owned())]
        );
        let ids = |q: CaseQuery| {
            let store = store.clone();
            async move {
                store
                    .list_cases(&CaseQuery { limit: 50, ..q })
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|c| c.id)
                    .collect::<Vec<_>>()
            }
        };
        // Soonest deadline first.
        assert_eq!(ids(CaseQuery::default()).await, vec![a, b], "{label}");
        let due = |day| CaseQuery {
            due_by: Some(day),
            ..CaseQuery::default()
        };
        assert_eq!(ids(due(date(2025, 3, 5))).await, vec![a], "{label}");
        let ssvc = |decisions: &[&str]| CaseQuery {
            ssvc: decisions.iter().map(|d| (*d).to_owned()).collect(),
            ..CaseQuery::default()
        };
        assert_eq!(ids(ssvc(&["act", "attend"])).await, vec![a], "{label}");
        assert_eq!(ids(ssvc(&["act"])).await, Vec::<i64>::new(), "{label}");
        let listed = store
            .list_cases(&CaseQuery {
                limit: 1,
                ..CaseQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(
            listed[0].projection.ssvc.as_deref(),
            Some("attend"),
            "{label}"
        );
        assert_eq!(
            ids(due(date(2025, 3, 4))).await,
            Vec::<i64>::new(),
            "{label}"
        );
        let page = |offset| CaseQuery {
            offset,
            ..CaseQuery::default()
        };
        // `ids` asks for 50 rows: the second page starts after the first row here.
        assert_eq!(ids(page(1)).await, vec![b], "{label}");
        let team = Visible {
            org_ids: vec![org],
            case_ids: vec![],
            note_org_ids: vec![org],
        };
        let outsider = Visible {
            org_ids: vec![other],
            case_ids: vec![a],
            note_org_ids: vec![],
        };
        let nobody = Visible::default();
        assert_eq!(
            ids(CaseQuery {
                visible: Some(nobody),
                ..Default::default()
            })
            .await,
            Vec::<i64>::new()
        );
        assert_eq!(
            ids(CaseQuery {
                visible: Some(outsider.clone()),
                ..Default::default()
            })
            .await,
            vec![a]
        );
        let search = |visible: Visible, text: &str| CaseQuery {
            visible: Some(visible),
            text: Some(text.to_owned()),
            search_internal: true,
            ..Default::default()
        };
        assert_eq!(
            ids(search(team.clone(), "HEAP parser")).await,
            vec![a],
            "{label}"
        );
        assert_eq!(
            ids(search(team.clone(), "heap \"unbalanced")).await,
            Vec::<i64>::new(),
            "{label}"
        );
        // Notes are searched only for their organisation's team.
        assert_eq!(
            ids(search(outsider.clone(), "heap")).await,
            Vec::<i64>::new(),
            "{label}"
        );
        assert_eq!(
            ids(search(outsider, "reproduced")).await,
            vec![a],
            "{label}"
        );
        let listed = store
            .list_cases(&CaseQuery {
                severity: Some("high".into()),
                officer_id: Some(alice),
                states: vec!["accepted".into(), "new".into()],
                org_id: Some(org),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].projection.title, "Parser crash");
        assert_eq!(
            (listed[0].org_slug.as_str(), listed[0].product_slug.as_str()),
            ("acme", "widget")
        );
        // Taking access away.
        store
            .append_events(
                a,
                store.head(a).await.unwrap(),
                vec![event("access_changed", json!({"user_id": vendor}))],
                None,
                Effects {
                    grants: vec![(vendor, None)],
                    ..Effects::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(store.case_grants(vendor).await.unwrap(), vec![]);
        assert_eq!(store.case_org(a).await.unwrap(), Some(org));
        assert_eq!(store.case_org(999).await.unwrap(), None);
        let team_of = store.team_of(org).await.unwrap();
        assert_eq!(team_of.len(), 1);
        assert_eq!(team_of[0].1, "member");
    })
    .await;
}
