//! Organisations, products and policy versions.

use super::*;
use crate::StoreError;

#[tokio::test]
async fn policy_versions_are_kept_and_numbered() {
    each_backend(async |label, store| {
        let org = store.upsert_organisation("acme", "Acme").await.unwrap();
        let t1 = ts("2025-01-01T00:00:00.000000001Z");
        let v1 = store
            .add_policy_version(org, "policy v1", t1)
            .await
            .unwrap();
        assert_eq!((v1.version, v1.org_id), (1, org), "{label}");
        assert_eq!(
            v1.sha256, "1346d3d6ba0fa2599109504e7524b14a03d1f48cb5e572481f47b8e036d9a85c",
            "{label}"
        );
        assert_eq!(
            v1.created_at, t1,
            "{label}: timestamp must round-trip exactly"
        );

        let again = store
            .add_policy_version(org, "policy v1", ts("2025-02-01T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            again, v1,
            "{label}: identical source must not create a version"
        );

        let v2 = store
            .add_policy_version(org, "policy v2", t1)
            .await
            .unwrap();
        // Reverting to old text is a new version: only the latest is compared.
        let v3 = store
            .add_policy_version(org, "policy v1", t1)
            .await
            .unwrap();
        assert_eq!((v2.version, v3.version), (2, 3), "{label}");

        let all = store.policy_versions(org).await.unwrap();
        assert_eq!(all, vec![v1.clone(), v2, v3.clone()], "{label}");
        assert_eq!(store.latest_policy(org).await.unwrap(), Some(v3), "{label}");
        assert_eq!(store.policy_version(v1.id).await.unwrap(), v1, "{label}");
        assert!(matches!(
            store.policy_version(987_654).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.add_policy_version(987_654, "x", t1).await,
            Err(StoreError::NotFound("organisation"))
        ));
        let other = store.upsert_organisation("other", "Other").await.unwrap();
        assert_eq!(store.latest_policy(other).await.unwrap(), None, "{label}");
    })
    .await;
}

#[tokio::test]
async fn products_are_listed_in_slug_byte_order() {
    each_backend(async |label, store| {
        let zeta = store.upsert_organisation("zeta", "Zeta").await.unwrap();
        let acme = store.upsert_organisation("acme", "Acme").await.unwrap();
        assert_eq!(
            store
                .upsert_organisation("acme", "Acme Corp")
                .await
                .unwrap(),
            acme,
            "{label}: upsert keeps the id"
        );
        store.upsert_product(zeta, "a", "Zeta A").await.unwrap();
        // Byte order puts "a-z" before "ab"; locale collations would not.
        let ab = store.upsert_product(acme, "ab", "AB").await.unwrap();
        store.upsert_product(acme, "a-z", "A to Z").await.unwrap();
        assert_eq!(
            store.upsert_product(acme, "ab", "AB v2").await.unwrap(),
            ab,
            "{label}"
        );

        let list = store.list_products().await.unwrap();
        let keys: Vec<_> = list
            .iter()
            .map(|p| (p.org_slug.as_str(), p.slug.as_str(), p.name.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("acme", "a-z", "A to Z"),
                ("acme", "ab", "AB v2"),
                ("zeta", "a", "Zeta A")
            ],
            "{label}"
        );
        let p = store.product("acme", "ab").await.unwrap().unwrap();
        assert_eq!(
            (p.id, p.org_id, p.org_name.as_str()),
            (ab, acme, "Acme Corp"),
            "{label}"
        );
        let org = store.organisation_by_slug("acme").await.unwrap().unwrap();
        assert_eq!((org.id, org.name.as_str()), (acme, "Acme Corp"), "{label}");
        assert!(matches!(
            store.upsert_product(987_654, "x", "X").await,
            Err(StoreError::NotFound("organisation"))
        ));
    })
    .await;
}
