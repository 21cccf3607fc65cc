use super::*;
use crate::{ApiTokenUse, CaseQuery, NewSession, NewUser, SearchText, StoreError, Visible};

fn user(email: &str) -> NewUser {
    NewUser {
        email: email.to_owned(),
        name: email.split('@').next().unwrap().to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        admin: false,
        totp_required: true,
    }
}

const NOW: &str = "2025-03-02T10:00:00Z";
const LATER: &str = "2025-05-31T10:00:00Z";

#[tokio::test]
async fn accounts_are_unique_by_lowercased_address_and_never_print_their_secrets() {
    each_backend(async |label, store| {
        let id = store
            .add_user(&user("Alice@Example.org"), ts(NOW))
            .await
            .unwrap();
        let again = store.add_user(&user("alice@example.org"), ts(NOW)).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{label}");
        let found = store
            .user_by_email(" ALICE@example.org ")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, id);
        assert_eq!(found.email, "alice@example.org");
        assert!(found.totp_required && found.totp_secret.is_none());
        let shown = format!("{found:?}");
        assert!(!shown.contains("argon2"), "{label}: {shown}");
        assert_eq!(store.users().await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_totp_step_and_a_recovery_code_each_work_once() {
    each_backend(async |label, store| {
        let id = store
            .add_user(&user("a@example.org"), ts(NOW))
            .await
            .unwrap();
        store
            .enrol_totp(id, "JBSWY3DPEHPK3PXP", 100, &["h1".into(), "h2".into()])
            .await
            .unwrap();
        assert!(!store.accept_totp_step(id, 100).await.unwrap(), "{label}");
        assert!(!store.accept_totp_step(id, 99).await.unwrap(), "{label}");
        assert!(store.accept_totp_step(id, 101).await.unwrap(), "{label}");
        assert!(store.use_recovery_code(id, "h1", ts(NOW)).await.unwrap());
        assert!(!store.use_recovery_code(id, "h1", ts(NOW)).await.unwrap());
        assert!(!store.use_recovery_code(id, "nope", ts(NOW)).await.unwrap());
        assert_eq!(store.recovery_codes_left(id).await.unwrap(), 1);
        // A reset clears the authenticator and the codes: enrolment starts again.
        store.reset_user(id, "new-hash", ts(NOW)).await.unwrap();
        let u = store.user(id).await.unwrap().unwrap();
        assert_eq!(u.totp_secret, None);
        assert_eq!(u.password_hash, "new-hash");
        assert_eq!(store.recovery_codes_left(id).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn sessions_expire_end_on_disable_and_sign_out_everywhere() {
    each_backend(async |label, store| {
        let id = store
            .add_user(&user("a@example.org"), ts(NOW))
            .await
            .unwrap();
        let session = |hash: &str| NewSession {
            id_hash: hash.to_owned(),
            user_id: id,
            csrf_token: "csrf".to_owned(),
            stage: "complete".to_owned(),
            expires_at: ts("2025-03-03T10:00:00Z"),
        };
        for h in ["s1", "s2", "s3"] {
            store.create_session(&session(h), ts(NOW)).await.unwrap();
        }
        let s = store.session("s1", ts(NOW)).await.unwrap().unwrap();
        assert_eq!((s.user_id, s.stage.as_str()), (id, "complete"));
        assert!(
            store
                .session("s1", ts("2025-03-03T10:00:01Z"))
                .await
                .unwrap()
                .is_none()
        );
        store.delete_session("s1").await.unwrap();
        assert!(
            store.session("s1", ts(NOW)).await.unwrap().is_none(),
            "{label}"
        );
        assert_eq!(
            store.sign_out_everywhere(id, ts(NOW)).await.unwrap(),
            (2, 0)
        );
        store.create_session(&session("s4"), ts(NOW)).await.unwrap();
        let token = store
            .add_api_token(id, "ci", "th", &["cases:read".into()], ts(NOW), ts(LATER))
            .await
            .unwrap();
        let Some(ApiTokenUse::Live(used)) = store.use_api_token("th", ts(NOW)).await.unwrap()
        else {
            panic!("{label}: a live token");
        };
        assert_eq!(
            (used.id, used.scopes.clone()),
            (token, vec!["cases:read".to_owned()])
        );
        assert_eq!(used.last_used_at, Some(ts(NOW)));
        let listed = store.api_tokens(id).await.unwrap();
        assert_eq!(
            (listed.len(), listed[0].name.as_str()),
            (1, "ci"),
            "{label}"
        );
        let other = store
            .add_api_token(
                id,
                "other",
                "th2",
                &["cases:write".into()],
                ts(NOW),
                ts(LATER),
            )
            .await
            .unwrap();
        assert!(store.revoke_api_token(id, other, ts(NOW)).await.unwrap());
        assert!(
            !store.revoke_api_token(id, other, ts(NOW)).await.unwrap(),
            "once"
        );
        assert!(
            !store.revoke_api_token(999, token, ts(NOW)).await.unwrap(),
            "only one's own"
        );
        assert!(store.use_api_token("th2", ts(NOW)).await.unwrap().is_none());
        assert_eq!(
            store.api_tokens(id).await.unwrap()[0].revoked_at,
            Some(ts(NOW))
        );
        store.disable_user(id, ts(NOW)).await.unwrap();
        assert!(
            store.session("s4", ts(NOW)).await.unwrap().is_none(),
            "{label}"
        );
        assert!(
            store.use_api_token("th", ts(NOW)).await.unwrap().is_none(),
            "{label}"
        );
        assert!(matches!(
            store.disable_user(999, ts(NOW)).await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn api_tokens_expire_and_end_with_a_reset_a_password_change_and_signing_out_everywhere() {
    each_backend(async |label, store| {
        let id = store
            .add_user(&user("a@example.org"), ts(NOW))
            .await
            .unwrap();
        let add = |hash: &'static str| {
            let store = store.clone();
            async move {
                store
                    .add_api_token(id, hash, hash, &["cases:read".into()], ts(NOW), ts(LATER))
                    .await
                    .unwrap()
            }
        };
        let live = |hash: &'static str, at: &'static str| {
            let store = store.clone();
            async move {
                matches!(
                    store.use_api_token(hash, ts(at)).await.unwrap(),
                    Some(ApiTokenUse::Live(_))
                )
            }
        };
        add("t1").await;
        assert!(live("t1", "2025-05-31T09:59:59Z").await, "{label}");
        assert_eq!(
            store.use_api_token("t1", ts(LATER)).await.unwrap(),
            Some(ApiTokenUse::Expired {
                expired_at: ts(LATER)
            }),
            "{label}: expired at its expiry"
        );
        assert_eq!(store.api_tokens(id).await.unwrap()[0].expires_at, ts(LATER));
        assert_eq!(store.use_api_token("nope", ts(NOW)).await.unwrap(), None);

        add("t2").await;
        store
            .change_password(id, "h2", Some("kept"), ts(NOW))
            .await
            .unwrap();
        assert!(!live("t2", NOW).await, "{label}: a password change revokes");
        add("t3").await;
        assert_eq!(
            store.sign_out_everywhere(id, ts(NOW)).await.unwrap(),
            (0, 1),
            "{label}: t3 (the password change revoked t1 and t2)"
        );
        assert!(
            !live("t3", NOW).await,
            "{label}: signing out everywhere revokes"
        );
        add("t4").await;
        store.reset_user(id, "h3", ts(NOW)).await.unwrap();
        assert!(!live("t4", NOW).await, "{label}: a reset revokes");
        // An expired token that was then revoked is just unknown.
        assert_eq!(store.use_api_token("t1", ts(LATER)).await.unwrap(), None);

        // A reset never enables a disabled account; enabling does, without its tokens.
        add("t5").await;
        store.disable_user(id, ts(NOW)).await.unwrap();
        store.reset_user(id, "h4", ts(NOW)).await.unwrap();
        assert!(
            store.user(id).await.unwrap().unwrap().disabled_at.is_some(),
            "{label}"
        );
        store.enable_user(id).await.unwrap();
        assert!(store.user(id).await.unwrap().unwrap().disabled_at.is_none());
        assert!(
            !live("t5", NOW).await,
            "{label}: disabling revoked it for good"
        );
        assert!(matches!(
            store.enable_user(999).await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn failed_sign_ins_are_counted_in_a_window_and_cleared() {
    each_backend(async |label, store| {
        let keys = [
            "account:a@example.org".to_owned(),
            "ip:192.0.2.1".to_owned(),
        ];
        store
            .record_signin_failure(&keys, ts("2025-03-02T09:00:00Z"))
            .await
            .unwrap();
        store
            .record_signin_failure(&keys, ts("2025-03-02T09:50:00Z"))
            .await
            .unwrap();
        let (n, first) = store
            .signin_failures(&keys[0], ts("2025-03-02T09:45:00Z"))
            .await
            .unwrap();
        assert_eq!((n, first), (1, Some(ts("2025-03-02T09:50:00Z"))), "{label}");
        store.clear_signin_failures(&keys[0]).await.unwrap();
        let (n, _) = store
            .signin_failures(&keys[0], ts("2025-03-01T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(n, 0);
        let (n, _) = store
            .signin_failures(&keys[1], ts("2025-03-01T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(n, 2);
        store
            .prune_sign_ins(ts(NOW), ts("2025-03-02T09:30:00Z"))
            .await
            .unwrap();
        let (n, _) = store
            .signin_failures(&keys[1], ts("2025-03-01T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(n, 1, "{label}: the failure before the cut is gone");
    })
    .await;
}

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
