//! The Vulndesk HTTP server: the JSON API under `/api/v1`, the pages reporters use (the
//! report form `/o/{org}/report`, the portal `/r/{id}/{token}`) and the health check.
//!
//! An adapter: the use cases are the desk's ([`vulndesk_desk`]); handlers read requests,
//! call the desk and write answers. One module per capability (`intake`, `form`, `portal`,
//! `followup`, `products`, `health`), one error type ([`ApiError`], which every
//! [`vulndesk_desk::DeskError`] maps to) turned into responses in one place (`error.rs`:
//! JSON for the API, a page for the pages), and request logging that never sees bodies,
//! tokens or report contents.
//!
//! Authorisation is by route, in one place: every route is declared in [`router`] with
//! the [`Need`] it has, and the `authz` middleware decides each request with
//! [`vulndesk_core::access::decide`] before any handler runs (see `authz.rs`).
//! [`route_table`] lists the routes and their needs for the authorisation matrix test.

mod api;
mod attachments;
mod error;
mod json_body;
pub mod markdown;
mod middleware;
mod multipart;
mod pages;
mod party;
mod published;
mod reporter;
mod team;

pub(crate) use api::openapi;
pub use api::{health, products};
pub use middleware::{authz, rate_limit};
pub(crate) use middleware::{security_headers, telemetry, throttle};
pub use reporter::intake;
pub(crate) use reporter::{followup, form, front, portal};
pub use team::workspace;
pub(crate) use team::{account, signin};

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::response::Response;
use axum::routing::{get, post, put};
use vulndesk_core::access::Need;
use vulndesk_desk::Desk;
use vulndesk_store::Store;

pub use attachments::{Limits, Upload};
pub use error::{ApiError, PageError};
use rate_limit::{Limiter, RateLimit};

/// What every handler shares: the store, the desk, the rate limiter.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The use cases, over the same store.
    pub desk: Desk,
    limiter: Arc<Limiter>,
    rules: authz::SharedRules,
    /// Whether cookies get `Secure` (the desk is served over HTTPS).
    secure_cookies: bool,
}

impl AppState {
    /// State over `store` with an empty policy cache and the default rate limit.
    pub fn new(store: Store) -> AppState {
        AppState {
            desk: Desk::new(store.clone()),
            store,
            limiter: Arc::new(Limiter::new(RateLimit::DEFAULT)),
            rules: Arc::default(),
            secure_cookies: false,
        }
    }

    /// The same state sending team mail (reminders, mentions) from `from`.
    pub fn with_mail_from(mut self, from: Option<vulndesk_core::email::EmailAddress>) -> AppState {
        self.desk = self.desk.with_mail_from(from);
        self
    }

    /// Who team mail about `policy`'s cases comes from.
    pub fn notice_sender(&self, policy: &vulndesk_core::policy::Policy) -> String {
        self.desk.notice_sender(policy)
    }

    /// The same state with the address people reach the desk at: links in mail use it,
    /// and over HTTPS the session cookie is `Secure`.
    /// Parties' keys looked up at one Web Key Directory `origin` (see
    /// [`Desk::with_wkd_origin`]).
    pub fn with_wkd_origin(mut self, origin: Option<String>) -> AppState {
        self.desk = self.desk.with_wkd_origin(origin);
        self
    }

    /// The same state calling CVE Services for organisations that are CNAs (see
    /// [`Desk::with_cve_services`]).
    pub fn with_cve_services(
        mut self,
        account: Option<vulndesk_desk::cve_services::Account>,
    ) -> AppState {
        self.desk = self.desk.with_cve_services(account);
        self
    }

    pub fn with_public_url(mut self, url: Option<String>) -> AppState {
        self.desk = self.desk.with_public_url(url);
        self.secure_cookies = self
            .desk
            .public_url()
            .is_some_and(|u| u.starts_with("https://"));
        self
    }

    /// A link to `path` for mail: absolute when the public address is known.
    pub fn link(&self, path: &str) -> String {
        self.desk.link(path)
    }

    /// The same state with another rate limit.
    pub fn with_rate_limit(mut self, limit: RateLimit) -> AppState {
        self.limiter = Arc::new(Limiter::new(limit));
        self
    }
}

/// Every route of the server with what it needs; the router and the authorisation table
/// come from this one list.
fn routes() -> authz::Routes {
    use Method as M;
    use Need::*;
    // The forms carry files: their bodies are capped by the policy's limits while they are
    // read (multipart.rs), not by the JSON limit.
    let uploads = || DefaultBodyLimit::disable();
    authz::Routes::new()
        .add(M::GET, "/", Public, get(front::show))
        .add(M::GET, "/healthz", Public, get(health::healthz))
        .add(
            M::GET,
            "/static/vulndesk.css",
            Public,
            get(pages::stylesheet),
        )
        .add(
            M::GET,
            "/static/localtime.js",
            Public,
            get(pages::localtime),
        )
        .add(M::GET, "/p/{id}/{token}", Party, get(party::portal::show))
        .add(
            M::POST,
            "/p/{id}/{token}/answer",
            Party,
            post(party::portal::answer),
        )
        .add(
            M::POST,
            "/p/{id}/{token}/status",
            Party,
            post(party::portal::status),
        )
        .add(
            M::POST,
            "/p/{id}/{token}/messages",
            Party,
            post(party::portal::message),
        )
        .add(
            M::POST,
            "/p/{id}/{token}/token",
            Party,
            post(party::portal::replace_token),
        )
        .add(
            M::GET,
            "/p/{id}/{token}/files/{sha256}",
            Party,
            get(party::portal::file),
        )
        .add(
            M::GET,
            "/party/cases/{id}",
            PartyAccount,
            get(party::portal::show),
        )
        .add(
            M::POST,
            "/party/cases/{id}/answer",
            PartyAccount,
            post(party::portal::answer),
        )
        .add(
            M::POST,
            "/party/cases/{id}/status",
            PartyAccount,
            post(party::portal::status),
        )
        .add(
            M::POST,
            "/party/cases/{id}/messages",
            PartyAccount,
            post(party::portal::message),
        )
        .add(
            M::GET,
            "/party/cases/{id}/files/{sha256}",
            PartyAccount,
            get(party::portal::file),
        )
        .add(
            M::GET,
            "/api/v1/openapi.json",
            Public,
            get(openapi::document),
        )
        .add(M::GET, "/api/v1/products", Public, get(products::list))
        .add(
            M::POST,
            "/api/v1/reports",
            Public,
            post(intake::submit_report),
        )
        .add(
            M::GET,
            "/api/v1/reports/{id}",
            Reporter,
            get(intake::reporter_view),
        )
        .add(
            M::POST,
            "/api/v1/reports/{id}/replies",
            Reporter,
            post(followup::api_reply),
        )
        .add(
            M::POST,
            "/api/v1/reports/{id}/token",
            Reporter,
            post(followup::api_replace_token),
        )
        .add(
            M::GET,
            "/api/v1/reports/{id}/files/{sha256}",
            Reporter,
            get(followup::api_file),
        )
        .add(M::GET, "/o/{org}/report", Public, get(form::show))
        .add(
            M::POST,
            "/o/{org}/report",
            Public,
            post(form::submit).layer(uploads()),
        )
        .add(M::GET, "/r/{id}/{token}", Reporter, get(portal::show))
        .add(
            M::POST,
            "/r/{id}/{token}/replies",
            Reporter,
            post(portal::reply).layer(uploads()),
        )
        .add(
            M::POST,
            "/r/{id}/{token}/key",
            Reporter,
            post(portal::set_key),
        )
        .add(
            M::POST,
            "/r/{id}/{token}/token",
            Reporter,
            post(portal::replace_token),
        )
        .add(
            M::POST,
            "/r/{id}/{token}/consent",
            Reporter,
            post(portal::consent),
        )
        .add(
            M::GET,
            "/r/{id}/{token}/files/{sha256}",
            Reporter,
            get(portal::file),
        )
        .add(M::GET, "/signin", Public, get(signin::show))
        .add(M::POST, "/signin", Public, post(signin::submit))
        .add(
            M::GET,
            "/signin/second-factor",
            Public,
            get(signin::second_factor),
        )
        .add(
            M::POST,
            "/signin/second-factor",
            Public,
            post(signin::verify),
        )
        .add(M::GET, "/signin/enrol", Public, get(signin::enrol))
        .add(
            M::POST,
            "/signin/enrol",
            Public,
            post(signin::confirm_enrol),
        )
        .add(M::POST, "/signout", BrowserSession, post(signin::signout))
        .add(
            M::POST,
            "/signout/everywhere",
            BrowserSession,
            post(signin::signout_everywhere),
        )
        .add(M::GET, "/account", BrowserSession, get(account::show))
        .add(
            M::POST,
            "/account/password",
            BrowserSession,
            post(account::change_password),
        )
        .add(
            M::POST,
            "/account/tokens",
            BrowserSession,
            post(account::create_token),
        )
        .add(
            M::POST,
            "/account/recovery-codes",
            BrowserSession,
            post(account::new_recovery_codes),
        )
        .add(
            M::POST,
            "/account/tokens/{token_id}/revoke",
            BrowserSession,
            post(account::revoke_token),
        )
        .add(M::GET, "/dashboard", SignedIn, get(team::pages::dashboard))
        .add(M::GET, "/outbound/new", SignedIn, get(team::outbound::show))
        .add(
            M::POST,
            "/outbound/new",
            SignedInWrite,
            post(team::outbound::submit),
        )
        .add(
            M::GET,
            "/orgs/{org}/parties",
            OrgTeam,
            get(team::coordination::list),
        )
        .add(
            M::POST,
            "/orgs/{org}/parties",
            OrgOfficer,
            post(team::coordination::add),
        )
        .add(
            M::GET,
            "/orgs/{org}/parties/{party}",
            OrgTeam,
            get(team::coordination::show),
        )
        .add(
            M::POST,
            "/orgs/{org}/parties/{party}",
            OrgOfficer,
            post(team::coordination::edit),
        )
        .add(
            M::POST,
            "/orgs/{org}/parties/{party}/accounts",
            OrgOfficer,
            post(team::coordination::accounts),
        )
        .add(
            M::POST,
            "/orgs/{org}/parties/{party}/wkd",
            OrgOfficer,
            post(team::coordination::find_key),
        )
        .add(M::GET, "/cases/{id}", ReadCase, get(team::pages::show))
        .add(
            M::GET,
            "/cases/{id}/files/{sha256}",
            ReadCase,
            get(team::pages::file),
        )
        .add(
            M::POST,
            "/cases/{id}/triage",
            WorkCase,
            post(team::pages::triage),
        )
        .add(
            M::POST,
            "/cases/{id}/notes",
            WorkCase,
            post(team::pages::note),
        )
        .add(
            M::POST,
            "/cases/{id}/messages",
            WorkCase,
            post(team::pages::message).layer(uploads()),
        )
        .add(
            M::POST,
            "/cases/{id}/severity",
            WorkCase,
            post(team::pages::severity),
        )
        .add(
            M::POST,
            "/cases/{id}/ssvc",
            WorkCase,
            post(team::pages::ssvc),
        )
        .add(
            M::POST,
            "/cases/{id}/lines",
            WorkCase,
            post(team::pages::lines),
        )
        .add(
            M::POST,
            "/cases/{id}/bounty",
            WorkCase,
            post(team::pages::bounty),
        )
        .add(
            M::POST,
            "/cases/{id}/officer",
            ManageCase,
            post(team::pages::officer),
        )
        .add(
            M::POST,
            "/cases/{id}/deadlines",
            ManageCase,
            post(team::pages::deadline),
        )
        .add(
            M::POST,
            "/cases/{id}/access",
            ManageCase,
            post(team::pages::access),
        )
        .add(
            M::POST,
            "/cases/{id}/approvals",
            ReviewCase,
            post(team::pages::approval),
        )
        .add(
            M::POST,
            "/cases/{id}/parties",
            WorkCase,
            post(team::pages::parties),
        )
        .add(
            M::POST,
            "/cases/{id}/embargo",
            ManageCase,
            post(team::pages::embargo),
        )
        .add(
            M::GET,
            "/cases/{id}/parties/{party}",
            WorkCase,
            get(team::pages::party_thread),
        )
        .add(
            M::POST,
            "/cases/{id}/party-messages",
            WorkCase,
            post(team::pages::party_messages),
        )
        .add(
            M::POST,
            "/cases/{id}/statements",
            WorkCase,
            post(team::pages::statements),
        )
        .add(
            M::POST,
            "/cases/{id}/reporter-sharing",
            ManageCase,
            post(team::pages::reporter_sharing),
        )
        .add(M::GET, "/o/{org}/advisories", Public, get(published::list))
        .add(
            M::GET,
            "/o/{org}/advisories/{number}",
            Public,
            get(published::show),
        )
        .add(
            M::GET,
            "/o/{org}/advisories/{number}/{file}",
            Public,
            get(published::file),
        )
        .add(
            M::POST,
            "/api/v1/reports/{id}/credits",
            Reporter,
            post(followup::api_credit),
        )
        .add(
            M::POST,
            "/r/{id}/{token}/credits",
            Reporter,
            post(portal::credit),
        )
        .add(
            M::GET,
            "/api/v1/cases/{id}/advisories",
            ReadCase,
            get(team::advisories::list_of_case),
        )
        .add(
            M::POST,
            "/api/v1/cases/{id}/advisories",
            WorkCase,
            post(team::advisories::draft),
        )
        .add(
            M::GET,
            "/api/v1/advisories/{advisory}",
            ReadAdvisory,
            get(team::advisories::show),
        )
        .add(
            M::PUT,
            "/api/v1/advisories/{advisory}",
            WorkAdvisory,
            put(team::advisories::edit),
        )
        .add(
            M::PUT,
            "/api/v1/advisories/{advisory}/private",
            WorkAdvisory,
            put(team::advisories::private),
        )
        .add(
            M::POST,
            "/api/v1/advisories/{advisory}/comments",
            ReviewAdvisory,
            post(team::advisories::comment),
        )
        .add(
            M::POST,
            "/api/v1/advisories/{advisory}/approvals",
            ReviewAdvisory,
            post(team::advisories::approve),
        )
        .add(
            M::POST,
            "/api/v1/advisories/{advisory}/credits",
            WorkAdvisory,
            post(team::advisories::credit),
        )
        .add(
            M::POST,
            "/api/v1/advisories/{advisory}/cve",
            ManageAdvisory,
            post(team::advisories::cve),
        )
        .add(
            M::POST,
            "/api/v1/advisories/{advisory}/publish",
            ManageAdvisory,
            post(team::advisories::publish),
        )
        .add(
            M::POST,
            "/api/v1/advisories/{advisory}/revisions",
            ManageAdvisory,
            post(team::advisories::revise),
        )
        .add(
            M::POST,
            "/api/v1/advisories/{advisory}/withdrawal",
            ManageAdvisory,
            post(team::advisories::withdraw),
        )
        .add(
            M::GET,
            "/api/v1/advisories/{advisory}/export/{format}",
            ReadAdvisory,
            get(team::advisories::export),
        )
        .add(
            M::POST,
            "/cases/{id}/advisories",
            WorkCase,
            post(team::advisory_pages::draft),
        )
        .add(
            M::GET,
            "/advisories",
            SignedIn,
            get(team::advisory_pages::list),
        )
        .add(
            M::GET,
            "/advisories/{advisory}",
            ReadAdvisory,
            get(team::advisory_pages::show),
        )
        .add(
            M::POST,
            "/advisories/{advisory}/edit",
            WorkAdvisory,
            post(team::advisory_pages::edit),
        )
        .add(
            M::POST,
            "/advisories/{advisory}/private",
            WorkAdvisory,
            post(team::advisory_pages::private),
        )
        .add(
            M::POST,
            "/advisories/{advisory}/comments",
            ReviewAdvisory,
            post(team::advisory_pages::comment),
        )
        .add(
            M::POST,
            "/advisories/{advisory}/approvals",
            ReviewAdvisory,
            post(team::advisory_pages::approve),
        )
        .add(
            M::POST,
            "/advisories/{advisory}/credits",
            WorkAdvisory,
            post(team::advisory_pages::credit),
        )
        .add(
            M::POST,
            "/advisories/{advisory}/cve",
            ManageAdvisory,
            post(team::advisory_pages::cve),
        )
        .add(
            M::POST,
            "/advisories/{advisory}/publish",
            ManageAdvisory,
            post(team::advisory_pages::publish),
        )
        .add(
            M::POST,
            "/advisories/{advisory}/revisions",
            ManageAdvisory,
            post(team::advisory_pages::revise),
        )
        .add(
            M::POST,
            "/advisories/{advisory}/withdrawal",
            ManageAdvisory,
            post(team::advisory_pages::withdraw),
        )
        .add(
            M::POST,
            "/advisories/{advisory}/cve-record",
            ManageAdvisory,
            post(team::advisory_pages::send_record),
        )
        .add(
            M::POST,
            "/api/v1/advisories/{advisory}/cve-record",
            ManageAdvisory,
            post(team::advisories::send_record),
        )
        .add(
            M::GET,
            "/api/v1/orgs/{org}/cve-ids",
            OrgTeam,
            get(team::advisories::pool),
        )
        .add(
            M::POST,
            "/api/v1/orgs/{org}/cve-ids",
            OrgOfficer,
            post(team::advisories::reserve),
        )
        .add(M::GET, "/api/v1/cases", SignedIn, get(team::api::list))
        .add(
            M::POST,
            "/api/v1/outbound",
            SignedInWrite,
            post(team::outbound::create),
        )
        .add(
            M::GET,
            "/api/v1/orgs/{org}/parties",
            OrgTeam,
            get(team::coordination::api_list),
        )
        .add(
            M::POST,
            "/api/v1/orgs/{org}/parties",
            OrgOfficer,
            post(team::coordination::api_add),
        )
        .add(
            M::GET,
            "/api/v1/orgs/{org}/parties/{party}",
            OrgTeam,
            get(team::coordination::api_show),
        )
        .add(
            M::PUT,
            "/api/v1/orgs/{org}/parties/{party}",
            OrgOfficer,
            put(team::coordination::api_edit),
        )
        .add(
            M::GET,
            "/api/v1/orgs/{org}/parties/{party}/accounts",
            OrgTeam,
            get(team::coordination::api_accounts),
        )
        .add(
            M::POST,
            "/api/v1/orgs/{org}/parties/{party}/accounts",
            OrgOfficer,
            post(team::coordination::api_link_account),
        )
        .add(
            M::POST,
            "/api/v1/orgs/{org}/parties/{party}/wkd",
            OrgOfficer,
            post(team::coordination::api_find_key),
        )
        .add(M::GET, "/api/v1/cases/{id}", ReadCase, get(team::api::show))
        .add(
            M::POST,
            "/api/v1/cases/{id}/triage",
            WorkCase,
            post(team::api::triage),
        )
        .add(
            M::POST,
            "/api/v1/cases/{id}/notes",
            WorkCase,
            post(team::api::note),
        )
        .add(
            M::POST,
            "/api/v1/cases/{id}/messages",
            WorkCase,
            post(team::api::message),
        )
        .add(
            M::POST,
            "/api/v1/cases/{id}/severity",
            WorkCase,
            post(team::api::severity),
        )
        .add(
            M::POST,
            "/api/v1/cases/{id}/ssvc",
            WorkCase,
            post(team::api::ssvc),
        )
        .add(
            M::POST,
            "/api/v1/cases/{id}/lines",
            WorkCase,
            post(team::api::lines),
        )
        .add(
            M::POST,
            "/api/v1/cases/{id}/bounty",
            WorkCase,
            post(team::api::bounty),
        )
        .add(
            M::POST,
            "/api/v1/cases/{id}/officer",
            ManageCase,
            post(team::api::officer),
        )
        .add(
            M::POST,
            "/api/v1/cases/{id}/deadlines",
            ManageCase,
            post(team::api::deadline),
        )
        .add(
            M::POST,
            "/api/v1/cases/{id}/access",
            ManageCase,
            post(team::api::access),
        )
        .add(
            M::POST,
            "/api/v1/cases/{id}/approvals",
            ReviewCase,
            post(team::api::approval),
        )
        .add(
            M::POST,
            "/api/v1/cases/{id}/parties",
            WorkCase,
            post(team::api::parties),
        )
        .add(
            M::POST,
            "/api/v1/cases/{id}/embargo",
            ManageCase,
            post(team::api::embargo),
        )
        .add(
            M::POST,
            "/api/v1/cases/{id}/party-messages",
            WorkCase,
            post(team::api::party_messages),
        )
        .add(
            M::POST,
            "/api/v1/cases/{id}/statements",
            WorkCase,
            post(team::api::statements),
        )
        .add(
            M::POST,
            "/api/v1/cases/{id}/reporter-sharing",
            ManageCase,
            post(team::api::reporter_sharing),
        )
}

/// Every route with what it needs, for tests and documentation.
pub fn route_table() -> Vec<authz::RouteRule> {
    routes().finish().1
}

/// Every route of the server.
pub fn router(mut state: AppState) -> Router {
    let (routes, rules) = routes().finish();
    state.rules = Arc::new(authz::Rules::new(&rules));
    routes
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authz::authorize,
        ))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(json_body::BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit_posts,
        ))
        .layer(axum::middleware::from_fn_with_state(
            security_headers::OverHttps(state.secure_cookies),
            security_headers::set,
        ))
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
    serve_until(listener, state.with_rate_limit(limit), shutdown).await
}

/// Serves [`router`] on `listener` with `state` as given, its rate limit included, until
/// `shutdown` completes, then lets requests in flight finish. For a server inside another
/// command (`vulndesk bench intake`), which decides when it stops and leaves signals alone.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
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
