//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of every `/api/v1` route, written
//! by hand next to the code and checked against real responses by the integration tests.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The document, compiled in.
pub const DOCUMENT: &str = include_str!("../../openapi.json");

pub async fn document() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        DOCUMENT,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_json() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"].as_object().is_some_and(|p| !p.is_empty()));
    }
}
