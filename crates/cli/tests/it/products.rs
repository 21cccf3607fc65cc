use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{on_each_database, spawn_app};

#[tokio::test]
async fn the_product_list_includes_all_five_reference_organisations() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let response = app
            .client
            .get(app.url("/api/v1/products"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "on {}", db.label);
        let products: Vec<Value> = response.json().await.unwrap();
        let organisations: BTreeSet<&str> = products
            .iter()
            .map(|p| p["organisation"].as_str().unwrap())
            .collect();
        assert_eq!(
            organisations,
            BTreeSet::from(["freepbx", "kamailio", "salestim", "sangoma", "signalen"])
        );
        assert!(
            products.contains(&json!({
                "organisation": "sangoma",
                "organisation_name": "Sangoma",
                "product": "asterisk",
                "name": "Asterisk",
            })),
            "{products:?}"
        );
    })
    .await;
}
