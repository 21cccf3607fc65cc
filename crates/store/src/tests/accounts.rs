use super::*;
use crate::StoreError;

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
