//! One log line per request. Only the route template is logged, so case ids (and
//! anything a client puts in a URL) stay out of the logs, as do bodies and headers.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

pub(crate) async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "<unmatched>".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    tracing::info!(
        method = %method,
        path = %route,
        status = response.status().as_u16(),
        latency = ?started.elapsed(),
        "request"
    );
    response
}
