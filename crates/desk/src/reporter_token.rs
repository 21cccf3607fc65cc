//! The reporter's secret: how it is made and what is stored of it (only its hash). A
//! reporter holds no account; the token they got when filing authorises everything they do
//! after.

use std::fmt;

use rand::TryRng;
use sha2::{Digest, Sha256};

use crate::DeskError;

/// The secret a reporter holds for their case: 32 bytes from the operating system's random
/// generator, in lowercase hex. Only its SHA-256 is stored, so a database leak does not give
/// access to cases.
pub struct ReporterToken(String);

impl ReporterToken {
    pub fn generate() -> Result<ReporterToken, DeskError> {
        let mut bytes = [0u8; 32];
        rand::rngs::SysRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| DeskError::Internal(format!("operating system random generator: {e}")))?;
        Ok(ReporterToken(hex::encode(bytes)))
    }

    /// The token text to hand to the reporter.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the store keeps instead of the token.
    pub fn hash(&self) -> Vec<u8> {
        token_hash(&self.0)
    }
}

/// Redacted, so a token never reaches a log through `{:?}`.
impl fmt::Debug for ReporterToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReporterToken(..)")
    }
}

/// What the store keeps of a reporter token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

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
