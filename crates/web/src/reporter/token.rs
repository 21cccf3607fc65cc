//! The reporter's secret: how it is made, stored (only its hash) and checked. A reporter
//! holds no account; the token they got when filing authorises everything they do after.

use axum::http::{HeaderMap, header};
use vulndesk_store::CaseRow;

use crate::{ApiError, AppState};

pub use vulndesk_desk::reporter_token::{ReporterToken, token_hash};

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
}
