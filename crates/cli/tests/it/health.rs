use serde_json::Value;

use crate::helpers::{on_each_database, spawn_app};

#[tokio::test]
async fn healthz_answers_ok_when_the_database_answers() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let response = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "on {}", db.label);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, serde_json::json!({ "status": "ok" }));
    })
    .await;
}

/// Only PostgreSQL can vanish under a running server: an open SQLite file stays readable
/// even after it is deleted.
#[tokio::test]
async fn healthz_answers_503_when_the_database_is_gone() {
    on_each_database(|db| async move {
        if db.label != "postgres" {
            return;
        }
        let app = spawn_app(&db).await;
        app.store.close().await;
        vulndesk_store::testing::drop_postgres_database(&db.url).await;
        let response = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 503, "log:\n{}", app.log());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
    })
    .await;
}
