use super::*;

#[tokio::test]
async fn a_case_opens_with_its_reporter_and_team_members_join_once_with_their_own_tag() {
    each_backend(async |label, store| {
        let case = open(&store, b"token").await;
        let olivia = store
            .add_user(&user("olivia@example.org"), ts(NOW))
            .await
            .unwrap();
        let mo = store
            .add_user(&user("mo@example.org"), ts(NOW))
            .await
            .unwrap();
        let reporter_tag = store.case(case).await.unwrap().unwrap().reply_tag;

        // Mentions racing each other give one participant, and every notice its address.
        let mut joins = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let store = store.clone();
            joins.spawn(async move { store.team_participant(case, olivia, ts(NOW)).await });
        }
        let joined: Vec<_> = joins
            .join_all()
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let first = joined[0].clone();
        assert!(joined.iter().all(|p| *p == first), "{label}: {joined:?}");
        assert_eq!((first.role.as_str(), first.user_id), ("team", Some(olivia)));
        assert_ne!(first.reply_tag, reporter_tag, "{label}: a tag of her own");
        let mo_joined = store.team_participant(case, mo, ts(NOW)).await.unwrap();
        assert_ne!(mo_joined.reply_tag, first.reply_tag, "{label}");

        let all = store.participants(case).await.unwrap();
        let roles: Vec<_> = all.iter().map(|p| (p.role.as_str(), p.user_id)).collect();
        assert_eq!(
            roles,
            [
                ("reporter", None),
                ("team", Some(olivia)),
                ("team", Some(mo))
            ],
            "{label}"
        );
        assert_eq!(all[0].reply_tag, reporter_tag, "{label}");
        assert_eq!(
            store
                .participant_by_reply_tag(&first.reply_tag)
                .await
                .unwrap(),
            Some(first),
            "{label}"
        );
        // A participant needs a case and an account.
        assert!(
            store
                .team_participant(case + 100, olivia, ts(NOW))
                .await
                .is_err()
        );
        assert!(
            store
                .team_participant(case, olivia + 100, ts(NOW))
                .await
                .is_err()
        );
    })
    .await;
}
