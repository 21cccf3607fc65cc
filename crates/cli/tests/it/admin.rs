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
