//! Counting failed guesses at a person's secrets, so none can be guessed at speed.
//!
//! Every place that checks a password or a one-time code a person typed goes through here:
//! the sign-in form, its second-factor step, and the account forms that ask for the current
//! password or an authenticator code. Failures are counted per account, per kind of secret
//! and per client address over [`WINDOW_MINUTES`]; past the limit the answer is 429 with
//! `Retry-After` until the window has passed. Passwords and codes have their own account
//! counters, so knowing the password buys no extra guesses at the code; only a complete
//! sign-in clears them.

use std::net::SocketAddr;

use jiff::{SignedDuration, Timestamp};
use vulndesk_store::UserRow;

use crate::{ApiError, AppState};

/// Failed attempts allowed per account (and secret), and per address, within the window.
const ACCOUNT_FAILURES: i64 = 5;
const ADDRESS_FAILURES: i64 = 20;
const WINDOW_MINUTES: i64 = 15;

const ADDRESS_PREFIX: &str = "ip:";

/// The counters of one kind of guess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Counters(Vec<String>);

impl Counters {
    /// Guesses at the password of the account signing in with `email` (which need not
    /// exist: unknown addresses are throttled alike, so they cannot be told apart).
    pub(crate) fn password(email: &str, peer: Option<SocketAddr>) -> Counters {
        Counters::with_peer(password_key(email), peer)
    }

    /// Guesses at an account's authenticator or recovery codes.
    pub(crate) fn second_factor(user_id: i64, peer: Option<SocketAddr>) -> Counters {
        Counters::with_peer(second_factor_key(user_id), peer)
    }

    fn with_peer(account: String, peer: Option<SocketAddr>) -> Counters {
        let mut keys = vec![account];
        if let Some(peer) = peer {
            keys.push(format!("{ADDRESS_PREFIX}{}", peer.ip()));
        }
        Counters(keys)
    }

    /// Refuses when any counter is over its limit.
    pub(crate) async fn check(&self, state: &AppState, now: Timestamp) -> Result<(), ApiError> {
        let window = SignedDuration::from_mins(WINDOW_MINUTES);
        for key in &self.0 {
            let limit = if key.starts_with(ADDRESS_PREFIX) {
                ADDRESS_FAILURES
            } else {
                ACCOUNT_FAILURES
            };
            let (n, first) = state.store.signin_failures(key, now - window).await?;
            if n >= limit {
                let free_at = first.unwrap_or(now) + window;
                let retry_after = (free_at - now).as_secs().max(1) as u64;
                return Err(ApiError::TooManySignIns { retry_after });
            }
        }
        Ok(())
    }

    /// Counts one failed guess.
    pub(crate) async fn fail(&self, state: &AppState, now: Timestamp) -> Result<(), ApiError> {
        state.store.record_signin_failure(&self.0, now).await?;
        Ok(())
    }
}

fn password_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

fn second_factor_key(user_id: i64) -> String {
    format!("second-factor:{user_id}")
}

/// Forgets an account's failures once it has signed in completely. The address's count
/// stays: one client guessing at many accounts is still held back.
pub(crate) async fn signed_in(state: &AppState, user: &UserRow) -> Result<(), ApiError> {
    state
        .store
        .clear_signin_failures(&password_key(&user.email))
        .await?;
    state
        .store
        .clear_signin_failures(&second_factor_key(user.id))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_codes_are_counted_apart_and_addresses_alike() {
        let peer: SocketAddr = "192.0.2.7:4000".parse().unwrap();
        let password = Counters::password(" Ada@Example.org ", Some(peer));
        let code = Counters::second_factor(4, Some(peer));
        assert_eq!(password.0, ["account:ada@example.org", "ip:192.0.2.7"]);
        assert_eq!(code.0, ["second-factor:4", "ip:192.0.2.7"]);
        assert_eq!(Counters::second_factor(4, None).0, ["second-factor:4"]);
    }
}
