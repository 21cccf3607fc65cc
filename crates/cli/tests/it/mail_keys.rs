//! `vulndesk mail key generate|import|export`: the organisation's OpenPGP key.

use crate::helpers::on_each_database;
use crate::mail_support::{Desk, Gpg, ORG, PASSPHRASE, Via, run};

#[tokio::test]
async fn a_generated_key_is_stored_protected_and_exported_public() {
    on_each_database(|db| async move {
        let mut desk = Desk::new(&db, Via::Pipe).await;
        let url = db.url.as_str();
        let without = desk
            .run(&["mail", "key", "generate", "--db", url, "--org", ORG], b"")
            .await;
        assert_eq!(without.code, 2, "a passphrase is required: {without:?}");
        assert!(
            without.stderr.contains("VULNDESK_KEY_PASSPHRASE"),
            "{without:?}"
        );

        let (fingerprint, public) = desk.generate_key().await;
        assert_eq!(fingerprint.len(), 40, "{fingerprint}");
        assert!(
            public.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"),
            "{public}"
        );
        let org = desk.store.organisation_by_slug(ORG).await.unwrap().unwrap();
        let stored = desk.store.org_key(org.id).await.unwrap().unwrap();
        assert_eq!(stored.fingerprint, fingerprint);
        let secret = String::from_utf8(stored.secret_protected.clone()).unwrap();
        assert!(secret.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));

        // The stored secret opens with the passphrase only, and carries the policy's
        // contact as its user id.
        let gpg = Gpg::new();
        gpg.ok(&["--import"], secret.as_bytes());
        let listing =
            String::from_utf8(gpg.ok(&["--with-colons", "--list-secret-keys"], b"")).unwrap();
        assert!(
            listing.contains("FreePBX <security@sangoma.com>"),
            "{listing}"
        );
        let exported = desk
            .run(&["mail", "key", "export", "--db", url, "--org", ORG], b"")
            .await;
        assert_eq!(exported.code, 0, "{exported:?}");
        assert_eq!(exported.stdout.trim_end(), public.trim_end());
        assert!(!exported.stdout.contains("PRIVATE KEY"));

        let again = desk
            .run(&["mail", "key", "generate", "--db", url, "--org", ORG], b"")
            .await;
        assert_eq!(
            again.code, 2,
            "an existing key is not replaced silently: {again:?}"
        );
        assert!(again.stderr.contains(&fingerprint), "{again:?}");
        let replaced = desk
            .run(
                &[
                    "mail",
                    "key",
                    "generate",
                    "--db",
                    url,
                    "--org",
                    ORG,
                    "--replace",
                ],
                b"",
            )
            .await;
        assert_eq!(replaced.code, 0, "{replaced:?}");
        assert!(!replaced.stdout.contains(&fingerprint));
        desk.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_gnupg_key_is_imported_with_the_passphrase_from_a_file() {
    on_each_database(|db| async move {
        let desk = Desk::new(&db, Via::Pipe).await;
        let url = db.url.as_str();
        let gpg = Gpg::new();
        let fingerprint = gpg.reporter_key("FreePBX Security <security@sangoma.com>");
        let secret = gpg.ok(&["--armor", "--export-secret-keys", &fingerprint], b"");
        let dir = std::env::temp_dir().join(format!("vulndesk-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key_file = dir.join(format!("{}-secret.asc", db.label));
        std::fs::write(&key_file, &secret).unwrap();
        let pass_file = dir.join(format!("{}-passphrase", db.label));
        let key_path = key_file.to_str().unwrap();
        let pass_path = pass_file.to_str().unwrap();

        std::fs::write(&pass_file, "not the passphrase\n").unwrap();
        let args = [
            "mail",
            "key",
            "import",
            "--db",
            url,
            "--org",
            ORG,
            "--passphrase-file",
            pass_path,
            key_path,
        ];
        let wrong = run(&args, b"", &[]).await;
        assert_eq!(wrong.code, 1, "{wrong:?}");
        assert!(wrong.stderr.contains("wrong passphrase"), "{wrong:?}");

        std::fs::write(&pass_file, format!("{PASSPHRASE}\n")).unwrap();
        let imported = run(&args, b"", &[]).await;
        assert_eq!(imported.code, 0, "{imported:?}");
        assert_eq!(imported.stdout.trim(), format!("fingerprint {fingerprint}"));
        let org = desk.store.organisation_by_slug(ORG).await.unwrap().unwrap();
        assert_eq!(
            desk.store
                .org_key(org.id)
                .await
                .unwrap()
                .unwrap()
                .fingerprint,
            fingerprint
        );
        let _ = std::fs::remove_dir_all(&dir);
        desk.close().await;
    })
    .await;
}
