//! Headers every response carries, set in one place so no handler can forget them.
//!
//! Pages get a Content-Security-Policy that allows nothing but our own stylesheet, images,
//! our one script file (it shows instants in the reader's time zone) and form posts to
//! ourselves: no inline script, no script from elsewhere, so markup that slipped through
//! escaping still cannot run. A handler that sets its own policy keeps it
//! (file downloads use `sandbox`).
//!
//! When the desk's public address is `https://`, every response also carries
//! `Strict-Transport-Security`, so a browser that has been here once never again sends the
//! session cookie (or anything else) over plain HTTP, even if a link or a person types
//! `http://`. Over plain HTTP the header would be ignored by browsers (RFC 6797 section
//! 8.1) and would mislead, so it is left off there.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The policy of every HTML page.
pub const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                               script-src 'self'; form-action 'self'; \
                               frame-ancestors 'none'; base-uri 'none'";
/// The policy of everything else (JSON, the stylesheet): load nothing, embed nowhere.
const OTHER_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// One year, the lifetime browsers' preload lists ask for. Subdomains are not included:
/// they may be other people's services, not served over HTTPS.
const HSTS: &str = "max-age=31536000";

/// Whether the desk is served over HTTPS (its public address is `https://`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct OverHttps(pub bool);

pub(crate) async fn set(
    State(OverHttps(https)): State<OverHttps>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Portal addresses carry the reporter's token: no link may pass them on.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(if html {
            PAGE_POLICY
        } else {
            OTHER_POLICY
        }));
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    if html {
        // frame-ancestors for browsers that predate CSP level 2.
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}
