//! Headers every response carries, set in one place so no handler can forget them.
//!
//! Pages get a Content-Security-Policy that allows nothing but our own stylesheet and
//! images and form posts to ourselves: no script at all, inline or not, so markup that
//! slipped through escaping still cannot run. A handler that sets its own policy keeps it
//! (file downloads use `sandbox`).

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The policy of every HTML page.
pub const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                               form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The policy of everything else (JSON, the stylesheet): load nothing, embed nowhere.
const OTHER_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

pub(crate) async fn set(request: Request, next: Next) -> Response {
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
    if html {
        // frame-ancestors for browsers that predate CSP level 2.
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}
