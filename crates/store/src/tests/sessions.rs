use super::*;
use crate::{ApiTokenUse, NewSession, StoreError};

const LATER: &str = "2025-05-31T10:00:00Z";

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
