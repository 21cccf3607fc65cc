//! `GET /healthz`: is this instance able to serve, database included.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::{ApiError, AppState};

/// How long the probe may wait for the database. A load balancer's health check has its own
/// timeout; waiting out the pool's (30 s) would make an unreachable database look like a
/// hung instance rather than an unhealthy one.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// 200 `{"status":"ok"}` after a trivial query; 503 if the database does not answer.
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let probe = state.store.ping();
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Ok(_)) => Ok(Json(json!({ "status": "ok" }))),
        Ok(Err(e)) => Err(ApiError::Unavailable(e.to_string())),
        Err(_) => Err(ApiError::Unavailable(format!(
            "health probe got no answer within {PROBE_TIMEOUT:?}"
        ))),
    }
}
