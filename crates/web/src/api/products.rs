//! `GET /api/v1/products`: what a reporter can file a report about.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::{ApiError, AppState};

/// One product a reporter can choose, with its organisation.
#[derive(Debug, Serialize)]
pub struct ProductChoice {
    /// Organisation slug (send it as `organisation` when filing a report).
    pub organisation: String,
    /// Organisation display name.
    pub organisation_name: String,
    /// Product slug (send it as `product`).
    pub product: String,
    /// Product display name.
    pub name: String,
}

/// Every product of every organisation, by organisation then product slug.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<ProductChoice>>, ApiError> {
    let rows = state.store.list_products().await?;
    Ok(Json(
        rows.into_iter()
            .map(|p| ProductChoice {
                organisation: p.org_slug,
                organisation_name: p.org_name,
                product: p.slug,
                name: p.name,
            })
            .collect(),
    ))
}
