use crate::helpers::{on_each_database, spawn_app};

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let response = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let status = app.terminate().await;
        assert!(status.success(), "exit status {status} on {}", db.label);
    })
    .await;
}
