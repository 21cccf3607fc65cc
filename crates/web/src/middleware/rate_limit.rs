//! Per-address rate limiting of submissions: every `POST` (a report by form or API, a reply,
//! a key) takes a token from its client's bucket, so one address cannot flood the desk.
//!
//! A token bucket per client address, in memory: `N` submissions at once, then `N` per
//! minute. Each server instance counts on its own. The address is the TCP peer's, so behind
//! a reverse proxy every client looks like the proxy: raise the limit or turn it off there.
//! IPv6 clients are counted per /64, the block one host usually has to itself.
//!
//! Configured by `VULNDESK_RATE_LIMIT`: `10/min` (the default), `30/minute`, `30`, or `off`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::{ApiError, AppState};

/// The environment variable that sets the limit.
pub const ENV: &str = "VULNDESK_RATE_LIMIT";

/// More clients than this are not tracked at once: full buckets (clients quiet for a
/// minute) are forgotten first, and everyone if that is not enough.
const MAX_TRACKED: usize = 100_000;

/// Submissions allowed per client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Burst size and refill per minute; 0 turns limiting off.
    per_minute: u32,
}

impl RateLimit {
    /// 10 per minute: generous for people, a wall for scripts.
    pub const DEFAULT: RateLimit = RateLimit { per_minute: 10 };
    /// No limit.
    pub const OFF: RateLimit = RateLimit { per_minute: 0 };

    /// `N` submissions at once and `N` more per minute.
    pub fn per_minute(n: u32) -> RateLimit {
        RateLimit { per_minute: n }
    }

    /// Parses `off`, `N`, `N/min` or `N/minute`.
    pub fn parse(text: &str) -> Result<RateLimit, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(RateLimit::OFF);
        }
        let count = match text.split_once('/') {
            Some((n, unit)) if matches!(unit.trim(), "min" | "minute") => n.trim(),
            Some(_) => {
                return Err(format!(
                    "{ENV}={text:?}: the only period is a minute, as in \"10/min\""
                ));
            }
            None => text,
        };
        match count.parse::<u32>() {
            Ok(n) if n > 0 => Ok(RateLimit::per_minute(n)),
            _ => Err(format!(
                "{ENV}={text:?}: expected submissions per minute such as \"10/min\", or \"off\""
            )),
        }
    }

    /// The limit `VULNDESK_RATE_LIMIT` sets, or [`RateLimit::DEFAULT`] when it is unset.
    pub fn from_env() -> Result<RateLimit, String> {
        match std::env::var(ENV) {
            Ok(text) if !text.trim().is_empty() => RateLimit::parse(&text),
            _ => Ok(RateLimit::DEFAULT),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The buckets of every client seen recently.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit,
            buckets: Mutex::default(),
        }
    }

    /// Takes a token for `client` at `now`, or says how long to wait for one.
    fn take(&self, client: IpAddr, now: Instant) -> Result<(), ApiError> {
        let per_minute = self.limit.per_minute;
        if per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED {
            buckets.retain(|_, b| now.duration_since(b.updated) < Duration::from_secs(60));
            if buckets.len() >= MAX_TRACKED {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(key(client)).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - bucket.tokens) / per_second).ceil().max(1.0);
        Err(ApiError::TooManyRequests {
            per_minute,
            retry_after: wait as u64,
        })
    }
}

/// The unit a client is counted by: its IPv4 address, or its IPv6 /64.
fn key(client: IpAddr) -> IpAddr {
    match client.to_canonical() {
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::from(segments)
        }
        v4 => v4,
    }
}

/// A refused body up to this size is read before answering, so the client (a browser
/// posting a form) sees the 429 instead of a reset connection; a larger one is not read.
const DRAIN_MAX_BYTES: u64 = 1024 * 1024;

/// The submissions anyone can make without an account: reports, portal replies and the
/// report form. The team's own requests are authenticated and sign-in has its own
/// per-account throttle, so neither is held to a budget meant for strangers.
fn limited(path: &str) -> bool {
    path.starts_with("/api/v1/reports") || path.starts_with("/o/") || path.starts_with("/r/")
}

/// Middleware: every `POST` of a submission ([`limited`]) costs its client a token;
/// without one, 429 with `Retry-After` and the connection closed, without the handler
/// running. Requests without a peer address (a router driven in process) are not limited.
pub(crate) async fn limit_posts(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::POST
        && limited(request.uri().path())
        && let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>()
        && let Err(e) = state.limiter.take(peer.ip(), Instant::now())
    {
        tracing::warn!("rate limit reached; submission refused");
        let path = request.uri().path().to_owned();
        let length = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(length) = length.filter(|n| *n <= DRAIN_MAX_BYTES) {
            crate::multipart::drain(request.into_body(), length).await;
        }
        let mut response = crate::error::answer(&path, e);
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_anonymous_submissions_are_limited() {
        for path in [
            "/api/v1/reports",
            "/api/v1/reports/4/replies",
            "/o/acme/report",
            "/r/4/t/replies",
        ] {
            assert!(limited(path), "{path}");
        }
        for path in [
            "/signin",
            "/cases/4/notes",
            "/api/v1/cases/4/triage",
            "/signout",
        ] {
            assert!(!limited(path), "{path}");
        }
    }

    #[test]
    fn limits_are_written_per_minute_or_off() {
        assert_eq!(RateLimit::parse("10/min"), Ok(RateLimit::per_minute(10)));
        assert_eq!(
            RateLimit::parse(" 30 / minute "),
            Ok(RateLimit::per_minute(30))
        );
        assert_eq!(RateLimit::parse("7"), Ok(RateLimit::per_minute(7)));
        assert_eq!(RateLimit::parse("OFF"), Ok(RateLimit::OFF));
        for bad in ["0", "-1", "ten", "10/hour", ""] {
            assert!(RateLimit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bucket_allows_a_burst_then_refills_over_the_minute() {
        let limiter = Limiter::new(RateLimit::per_minute(3));
        let client: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take(client, t0).is_ok());
        }
        match limiter.take(client, t0) {
            Err(ApiError::TooManyRequests {
                per_minute: 3,
                retry_after: 20,
            }) => {}
            other => panic!("{other:?}"),
        }
        assert!(limiter.take(other, t0).is_ok(), "buckets are per client");
        assert!(limiter.take(client, t0 + Duration::from_secs(21)).is_ok());
        assert!(limiter.take(client, t0 + Duration::from_secs(21)).is_err());
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(key(a), key(b));
        assert_ne!(key(a), key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn off_never_limits() {
        let limiter = Limiter::new(RateLimit::OFF);
        let client: IpAddr = "192.0.2.7".parse().unwrap();
        let t0 = Instant::now();
        assert!((0..1000).all(|_| limiter.take(client, t0).is_ok()));
    }
}
