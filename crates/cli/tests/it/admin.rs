//! `vulndesk admin rebuild`: projections are derived data, rebuilt from the event log.

use tokio::process::Command;
use vulndesk_store::Projection;

use crate::helpers::{BIN, on_each_database, report, spawn_app};

async fn rebuild(url: &str) -> String {
    let out = Command::new(BIN)
        .args(["admin", "rebuild", "--db", url])
        .env_remove("VULNDESK_DB")
        .output()
        .await
        .expect("run vulndesk admin rebuild");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn rebuild_restores_projections_from_the_log() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (id, _token) = app.create_report(&report("freepbx", "XSS in admin")).await;
        let truth = app.store.projection(id).await.unwrap().expect("projection");
        assert_eq!(truth.state, "new");
        assert_eq!(truth.next_due_kind.as_deref(), Some("acknowledge"));
        let cases = app.count_cases().await;
        app.kill().await;

        let corrupted = Projection {
            state: "closed".to_owned(),
            next_due: None,
            next_due_kind: None,
            ..Projection::default()
        };
        let store = vulndesk_store::Store::connect(&db.url, &Default::default())
            .await
            .unwrap();
        store.set_projection(id, &corrupted).await.unwrap();

        let out = rebuild(&db.url).await;
        assert_eq!(
            out.trim(),
            format!("rebuilt {cases} case projections; 1 corrected"),
            "on {}",
            db.label
        );
        assert_eq!(store.projection(id).await.unwrap(), Some(truth));
        let again = rebuild(&db.url).await;
        assert!(again.trim().ends_with("; 0 corrected"), "{again}");
        store.close().await;
    })
    .await;
}

/// An upgrade whose rules derive projections differently asks for a rebuild: the next
/// command to open the database does it once, so nobody has to remember `admin rebuild`.
#[tokio::test]
async fn an_upgrade_that_changes_derivation_rebuilds_projections_on_the_next_start() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let (id, _token) = app
            .create_report(&report("kamailio", "Crash in the parser"))
            .await;
        let truth = app.store.projection(id).await.unwrap().expect("projection");
        app.kill().await;

        // What a projection written by an older version looks like, and the request the
        // migration of the newer version leaves behind.
        let store = vulndesk_store::Store::connect(&db.url, &Default::default())
            .await
            .unwrap();
        let stale = Projection {
            next_due_kind: Some("reporter_disclosure".to_owned()),
            ..truth.clone()
        };
        store.set_projection(id, &stale).await.unwrap();
        let request = "INSERT INTO maintenance_requests (task, requested_at) \
                       VALUES ('rebuild-projections', '2026-11-30T00:00:00Z')";
        match &store {
            vulndesk_store::Store::Sqlite(vulndesk_store::SqliteStore { pool: p, .. }) => {
                sqlx::query(request).execute(p).await.map(drop)
            }
            vulndesk_store::Store::Postgres(p) => sqlx::query(request).execute(p).await.map(drop),
        }
        .unwrap();
        assert!(
            store
                .maintenance_requested("rebuild-projections")
                .await
                .unwrap()
        );

        let app = spawn_app(&db).await;
        assert_eq!(
            app.store.projection(id).await.unwrap(),
            Some(truth),
            "on {}",
            db.label
        );
        assert!(
            !store
                .maintenance_requested("rebuild-projections")
                .await
                .unwrap(),
            "done once, on {}",
            db.label
        );
        store.close().await;
    })
    .await;
}
