use crate::helpers::{TestDb, on_each_database, reference_policy, run_init, temp_policy};

async fn latest_version(db: &TestDb, org: &str) -> Option<i64> {
    let store = vulndesk_store::Store::connect(&db.url, &Default::default())
        .await
        .unwrap();
    // A failed init may not have created the schema yet.
    store.migrate().await.unwrap();
    let org = store.organisation_by_slug(org).await.unwrap()?;
    let version = store
        .latest_policy(org.id)
        .await
        .unwrap()
        .map(|p| p.version);
    store.close().await;
    version
}

#[tokio::test]
async fn init_stores_a_new_policy_version_only_when_the_file_changed() {
    let file = temp_policy("signalen.toml", &reference_policy("signalen"));
    on_each_database(|db| {
        let file = file.clone();
        async move {
            std::fs::write(&file, reference_policy("signalen")).unwrap();
            let (code, stdout, stderr) = run_init(&db, &[&file]).await;
            assert_eq!(code, 0, "{stderr}");
            assert!(
                stdout.contains("signalen policy version 1 (stored)"),
                "{stdout}"
            );
            let (_, stdout, _) = run_init(&db, &[&file]).await;
            assert!(
                stdout.contains("signalen policy version 1 (unchanged)"),
                "{stdout}"
            );
            std::fs::write(&file, reference_policy("signalen") + "\n# reviewed\n").unwrap();
            let (_, stdout, _) = run_init(&db, &[&file]).await;
            assert!(
                stdout.contains("signalen policy version 2 (stored)"),
                "{stdout}"
            );
            assert_eq!(latest_version(&db, "signalen").await, Some(2));
        }
    })
    .await;
}

#[tokio::test]
async fn init_with_an_invalid_policy_loads_nothing() {
    let good = temp_policy("freepbx.toml", &reference_policy("freepbx"));
    let bad = temp_policy(
        "broken.toml",
        "format = 1\n[organisation]\nslug = \"Not A Slug\"\n",
    );
    on_each_database(|db| {
        let (good, bad) = (good.clone(), bad.clone());
        async move {
            let (code, _, stderr) = run_init(&db, &[&good, &bad]).await;
            assert_eq!(code, 1, "{stderr}");
            assert!(stderr.contains("broken.toml"), "{stderr}");
            assert_eq!(latest_version(&db, "freepbx").await, None);
        }
    })
    .await;
}
