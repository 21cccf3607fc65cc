//! The Vulndesk HTTP server: the JSON API under `/api/v1`, the pages reporters use (the
//! report form `/o/{org}/report`, the portal `/r/{id}/{token}`) and the health check.
//!
//! One module per capability (`intake`, `form`, `portal`, `followup`, `products`,
//! `health`), one error type ([`ApiError`]) turned into responses in one place
//! (`error.rs`: JSON for the API, a page for the pages), and request logging that never
//! sees bodies, tokens or report contents.
//!
//! Authorisation is by route: `/healthz`, `/static`, `/api/v1/products`,
//! `/api/v1/openapi.json`, `POST /api/v1/reports` and `/o/...` are public; every route
//! under `/api/v1/reports/{id}` and `/r/{id}/{token}` first resolves the case from the
//! reporter's token (`reporter.rs`) and answers 404 without it.

mod attachments;
pub mod cases;
mod error;
mod followup;
mod form;
pub mod health;
pub mod intake;
mod json_body;
mod multipart;
mod openapi;
mod pages;
mod policies;
mod portal;
pub mod products;
pub mod rate_limit;
mod reporter;
mod security_headers;
mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{get, post};
use vulndesk_store::Store;

pub use attachments::{Limits, Upload};
pub use error::{ApiError, PageError};
pub use policies::PinnedPolicy;
use rate_limit::{Limiter, RateLimit};

/// What every handler shares: the store, the parsed pinned policies, the rate limiter.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    policies: Arc<policies::PolicyCache>,
    limiter: Arc<Limiter>,
}

impl AppState {
    /// State over `store` with an empty policy cache and the default rate limit.
    pub fn new(store: Store) -> AppState {
        AppState {
            store,
            policies: Arc::default(),
            limiter: Arc::new(Limiter::new(RateLimit::DEFAULT)),
        }
    }

    /// The same state with another rate limit.
    pub fn with_rate_limit(mut self, limit: RateLimit) -> AppState {
        self.limiter = Arc::new(Limiter::new(limit));
        self
    }
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    // The forms carry files: their bodies are capped by the policy's limits while they are
    // read (multipart.rs), not by the JSON limit.
    let uploads = || DefaultBodyLimit::disable();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/static/vulndesk.css", get(pages::stylesheet))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/products", get(products::list))
        .route("/api/v1/reports", post(intake::submit_report))
        .route("/api/v1/reports/{id}", get(intake::reporter_view))
        .route("/api/v1/reports/{id}/replies", post(followup::api_reply))
        .route(
            "/api/v1/reports/{id}/files/{sha256}",
            get(followup::api_file),
        )
        .route(
            "/o/{org}/report",
            get(form::show).post(form::submit).layer(uploads()),
        )
        .route("/r/{id}/{token}", get(portal::show))
        .route(
            "/r/{id}/{token}/replies",
            post(portal::reply).layer(uploads()),
        )
        .route("/r/{id}/{token}/key", post(portal::set_key))
        .route("/r/{id}/{token}/token", post(portal::replace_token))
        .route(
            "/api/v1/reports/{id}/token",
            post(followup::api_replace_token),
        )
        .route("/r/{id}/{token}/files/{sha256}", get(portal::file))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(json_body::BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit_posts,
        ))
        .layer(axum::middleware::from_fn(security_headers::set))
        .layer(axum::middleware::from_fn(telemetry::log_request))
        .with_state(state)
}

/// Unknown addresses: the JSON error under `/api/`, the 404 page elsewhere (the same page a
/// wrong reporter token gets).
async fn not_found(uri: Uri) -> Response {
    error::answer(uri.path(), ApiError::NotFound)
}

/// Serves [`router`] on `listener` until SIGTERM or Ctrl-C, then lets requests in flight
/// finish. The rate limit is read from `VULNDESK_RATE_LIMIT` (see [`rate_limit`]).
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    let limit = RateLimit::from_env()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let shutdown = shutdown_signal()?;
    let app = router(state.with_rate_limit(limit));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Installs the handlers before returning, not when the server first polls the future, so
/// a signal sent right after the address is announced is not lost (it would otherwise kill
/// the process with the default action).
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => {},
                _ = interrupt.recv() => {},
            }
            tracing::info!("shutting down: finishing requests in flight");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::error!(error = %e, "cannot listen for Ctrl-C; stopping");
            }
            tracing::info!("shutting down: finishing requests in flight");
        })
    }
}
