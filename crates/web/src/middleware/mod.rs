//! What runs around every handler: the authorisation decision, rate limits and sign-in
//! throttling, security headers and request logging.

pub mod authz;
pub mod rate_limit;
pub(crate) mod security_headers;
pub(crate) mod telemetry;
pub(crate) mod throttle;
