//! The reporter's secret: how it is made, stored (only its hash) and checked. A reporter
//! holds no account; the token they got when filing authorises everything they do after.

use std::fmt;

use axum::http::{HeaderMap, header};
use rand::TryRng;
use sha2::{Digest, Sha256};
use vulndesk_store::CaseRow;

use crate::{ApiError, AppState};

/// The secret a reporter holds for their case: 32 bytes from the operating system's random
/// generator, in lowercase hex. Only its SHA-256 is stored, so a database leak does not give
/// access to cases.
pub struct ReporterToken(String);

impl ReporterToken {
    pub(crate) fn generate() -> Result<ReporterToken, ApiError> {
        let mut bytes = [0u8; 32];
        rand::rngs::SysRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| ApiError::Internal(format!("operating system random generator: {e}")))?;
        Ok(ReporterToken(hex::encode(bytes)))
    }

    /// The token text to hand to the reporter.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the store keeps instead of the token.
    pub(crate) fn hash(&self) -> Vec<u8> {
        token_hash(&self.0)
    }
}

/// Redacted, so a token never reaches a log through `{:?}`.
impl fmt::Debug for ReporterToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReporterToken(..)")
    }
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The token of an `Authorization: Bearer` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The case `id` if `token` is its reporter's. Every mismatch (no such case, a malformed id,
/// a wrong or missing token) is the same [`ApiError::NotFound`], so the answer does not tell
/// whether a case exists.
pub(crate) async fn case(
    state: &AppState,
    id: &str,
    token: Option<&str>,
) -> Result<CaseRow, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    let token = token.ok_or(ApiError::NotFound)?;
    state
        .store
        .case_for_reporter(id, &token_hash(token))
        .await?
        .ok_or(ApiError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_case_insensitively_and_never_empty() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            h
        };
        assert_eq!(bearer(&with("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&with("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(&with("Basic abc")), None);
        assert_eq!(bearer(&with("Bearer ")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }

    #[test]
    fn tokens_are_64_hex_digits_and_unique() {
        let a = ReporterToken::generate().unwrap();
        let b = ReporterToken::generate().unwrap();
        assert_eq!(a.as_str().len(), 64);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(format!("{a:?}"), "ReporterToken(..)");
        assert_eq!(a.hash(), token_hash(a.as_str()));
    }
}
