//! The Vulndesk HTTP server: the JSON API under `/api/v1` and the health check.
//!
//! One module per capability (`intake`, `products`, `health`), one error type
//! ([`ApiError`]) turned into responses in one place, and request logging that never
//! sees bodies, tokens or report contents.

pub mod cases;
mod error;
pub mod health;
pub mod intake;
mod policies;
pub mod products;
mod telemetry;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use vulndesk_store::Store;

pub use error::ApiError;
pub use policies::PinnedPolicy;

/// What every handler shares: the store and the parsed pinned policies.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    policies: Arc<policies::PolicyCache>,
}

impl AppState {
    /// State over `store` with an empty policy cache.
    pub fn new(store: Store) -> AppState {
        AppState {
            store,
            policies: Arc::default(),
        }
    }
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/api/v1/products", get(products::list))
        .route("/api/v1/reports", post(intake::submit_report))
        .route("/api/v1/reports/{id}", get(intake::reporter_view))
        .fallback(|| async { ApiError::NotFound })
        .layer(DefaultBodyLimit::max(intake::BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn(telemetry::log_request))
        .with_state(state)
}

/// Serves [`router`] on `listener` until SIGTERM or Ctrl-C, then lets requests in flight
/// finish.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    let shutdown = shutdown_signal()?;
    axum::serve(listener, router(state))
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
