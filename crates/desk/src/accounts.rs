//! Team credentials: argon2id passwords, RFC 6238 one-time codes with single-use recovery
//! codes, and the random secrets behind sessions, CSRF tokens and API tokens.
//!
//! Everything cryptographic comes from well-kept crates (`argon2`, `totp-rs`, `sha2`, the
//! operating system's random generator); this module only decides the parameters and how
//! secrets are stored: passwords as argon2id PHC strings, every random secret as its SHA-256
//! (they carry 256 bits of entropy, so a slow hash adds nothing).

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::TryRng;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::{Desk, DeskError};

/// Records what was done to or by an account in the hash-chained account log. Payloads
/// name accounts and tokens by id, never a secret or what someone typed.
pub async fn audit(
    desk: &Desk,
    kind: &str,
    actor: &str,
    payload: serde_json::Value,
) -> Result<(), DeskError> {
    desk.store
        .append_account_event(kind, actor, jiff::Timestamp::now(), &payload)
        .await?;
    Ok(())
}

/// The shortest password accepted (NIST SP 800-63B: at least 8; we ask for more because
/// these accounts guard unpublished vulnerabilities).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// How many recovery codes an enrolment hands out.
pub const RECOVERY_CODES: usize = 10;
/// API tokens start with this, so they are recognisable in a leaked log or a secret
/// scanner, and never taken for a reporter's token.
pub const API_TOKEN_PREFIX: &str = "vdt_";

/// How long an API token works unless its maker chooses otherwise.
pub const API_TOKEN_DAYS: i64 = 90;
/// The longest an API token may work: a year, then a new one is made deliberately.
pub const API_TOKEN_MAX_DAYS: i64 = 365;

/// When a token made at `now` stops working, given the days asked for (`None`: the
/// default); the message says what is accepted.
pub fn api_token_expiry(
    now: jiff::Timestamp,
    days: Option<&str>,
) -> Result<jiff::Timestamp, String> {
    let days = match days.map(str::trim).filter(|d| !d.is_empty()) {
        None => API_TOKEN_DAYS,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=API_TOKEN_MAX_DAYS).contains(d))
            .ok_or_else(|| {
                format!(
                    "{text:?} is not a number of days from 1 to {API_TOKEN_MAX_DAYS}; \
                     leave it out for {API_TOKEN_DAYS}"
                )
            })?,
    };
    // Whole 24-hour days: an expiry is an instant, not a calendar date.
    Ok(now + jiff::SignedDuration::from_hours(24 * days))
}

fn random_bytes<const N: usize>() -> Result<[u8; N], DeskError> {
    let mut bytes = [0u8; N];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| DeskError::Internal(format!("operating system random generator: {e}")))?;
    Ok(bytes)
}

/// 32 random bytes in lowercase hex: session ids, CSRF tokens.
pub fn random_token() -> Result<String, DeskError> {
    Ok(hex::encode(random_bytes::<32>()?))
}

/// What is stored for a random secret.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new API token (`vdt_` and 64 hex digits).
pub fn new_api_token() -> Result<String, DeskError> {
    Ok(format!("{API_TOKEN_PREFIX}{}", random_token()?))
}

/// Why a new password is refused.
pub fn password_problem(password: &str) -> Option<String> {
    let chars = password.chars().count();
    (chars < MIN_PASSWORD_CHARS).then(|| {
        format!("a password needs at least {MIN_PASSWORD_CHARS} characters; this one has {chars}")
    })
}

/// An argon2id hash (the crate's defaults: OWASP's 19 MiB, 2 passes) with a random salt.
pub fn hash_password(password: &str) -> Result<String, DeskError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| DeskError::Internal(format!("argon2: {e}")))
}

/// Whether `password` matches a stored hash. A malformed stored hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A password for an account made from the command line: 20 characters from an alphabet
/// without look-alikes, about 113 bits.
pub fn generate_password() -> Result<String, DeskError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut out = String::with_capacity(20);
    while out.len() < 20 {
        // Rejection sampling keeps every character equally likely.
        for b in random_bytes::<32>()? {
            let limit = 256 - 256 % ALPHABET.len();
            if (b as usize) < limit && out.len() < 20 {
                out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
    }
    Ok(out)
}

/// A fresh authenticator secret, base32 as authenticator apps take it (160 bits, as
/// RFC 4226 recommends).
pub fn new_totp_secret() -> Result<String, DeskError> {
    Ok(Secret::new(Box::new(random_bytes::<20>()?)).to_base32())
}

fn totp(secret_base32: &str, account: &str) -> Result<Totp, DeskError> {
    let secret = Secret::try_from_base32(secret_base32)
        .map_err(|e| DeskError::Internal(format!("stored TOTP secret: {e:?}")))?;
    // Six digits, 30 s, SHA-1: what every authenticator app supports. One step of skew
    // either side allows for clocks a little apart.
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .with_secret(secret)
        .with_issuer(Some("Vulndesk"))
        .with_account_name(account.replace(':', ""))
        .build()
        .map_err(|e| DeskError::Internal(format!("TOTP parameters: {e:?}")))
}

/// The `otpauth://` address an authenticator app reads (typed in, or from a QR code).
pub fn totp_url(secret_base32: &str, account: &str) -> Result<String, DeskError> {
    totp(secret_base32, account)?
        .to_url()
        .map_err(|e| DeskError::Internal(format!("TOTP address: {e:?}")))
}

/// The time step a code is valid for at `unix_seconds`, if it is. The caller must accept
/// each step at most once (RFC 6238 section 5.2).
pub fn totp_step(
    secret_base32: &str,
    code: &str,
    unix_seconds: u64,
) -> Result<Option<i64>, DeskError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    Ok(totp(secret_base32, "")?
        .check(&code, unix_seconds)
        .and_then(|step| i64::try_from(step).ok()))
}

/// The code an authenticator shows at `unix_seconds` (for tests and the enrolment check).
pub fn totp_code(secret_base32: &str, unix_seconds: u64) -> Result<String, DeskError> {
    Ok(totp(secret_base32, "")?.generate(unix_seconds).to_string())
}

/// Fresh recovery codes (`xxxxx-xxxxx`, 50 bits each) and what is stored for them.
pub fn new_recovery_codes() -> Result<(Vec<String>, Vec<String>), DeskError> {
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let hex = hex::encode(random_bytes::<5>()?);
        codes.push(format!("{}-{}", &hex[..5], &hex[5..]));
    }
    let hashes = codes.iter().map(|c| recovery_code_hash(c)).collect();
    Ok((codes, hashes))
}

/// What is stored for a recovery code, however it was typed (case, spaces, dash).
pub fn recovery_code_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    secret_hash(&normal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("anything", "not a hash"));
        assert_ne!(hash, hash_password("correct horse battery").unwrap());
    }

    #[test]
    fn short_passwords_are_refused_with_the_rule() {
        assert_eq!(
            password_problem("short").unwrap(),
            "a password needs at least 12 characters; this one has 5"
        );
        assert!(password_problem("twelve chars").is_none());
        let generated = generate_password().unwrap();
        assert_eq!(generated.len(), 20);
        assert!(password_problem(&generated).is_none());
    }

    /// RFC 6238 appendix B, SHA-1 column (8 digits there; the last 6 are the 6-digit code).
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = Secret::new(Box::new(*b"12345678901234567890")).to_base32();
        for (time, eight) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
        ] {
            assert_eq!(totp_code(&secret, time).unwrap(), &eight[2..], "t={time}");
            let step = totp_step(&secret, &eight[2..], time).unwrap();
            assert_eq!(step, Some(time as i64 / 30));
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let secret = new_totp_secret().unwrap();
        let now = 1_800_000_000;
        let code = totp_code(&secret, now).unwrap();
        assert_eq!(
            totp_step(&secret, &code, now + 30).unwrap(),
            Some(now as i64 / 30)
        );
        assert_eq!(
            totp_step(&secret, &code, now - 30).unwrap(),
            Some(now as i64 / 30)
        );
        assert_eq!(totp_step(&secret, &code, now + 90).unwrap(), None);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(totp_step(&secret, &spaced, now).unwrap().is_some());
        let url = totp_url(&secret, "alice@example.org").unwrap();
        assert!(
            url.starts_with("otpauth://totp/Vulndesk:alice%40example.org?"),
            "{url}"
        );
        assert!(url.contains(&format!("secret={secret}")), "{url}");
    }

    #[test]
    fn recovery_codes_are_unique_and_hashed_however_typed() {
        let (codes, hashes) = new_recovery_codes().unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        assert_eq!(
            recovery_code_hash(&codes[0].to_uppercase().replace('-', " ")),
            hashes[0]
        );
        // What is stored is a digest, never the code (a substring test would fail by chance
        // now and then: a hex digest can contain any five hex characters).
        for (code, hash) in codes.iter().zip(&hashes) {
            assert_eq!(hash.len(), 64);
            assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
            assert_ne!(hash, code);
        }
    }

    #[test]
    fn api_tokens_work_90_days_unless_asked_otherwise_and_never_over_a_year() {
        let now: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let at = |days| api_token_expiry(now, days).map(|t| t.to_string());
        assert_eq!(at(None).unwrap(), "2026-04-01T00:00:00Z");
        assert_eq!(at(Some(" ")).unwrap(), "2026-04-01T00:00:00Z");
        assert_eq!(at(Some("1")).unwrap(), "2026-01-02T00:00:00Z");
        assert_eq!(at(Some("365")).unwrap(), "2027-01-01T00:00:00Z");
        for bad in ["0", "366", "-5", "ninety", "1.5"] {
            let e = at(Some(bad)).unwrap_err();
            assert!(e.contains("from 1 to 365"), "{bad}: {e}");
        }
    }

    #[test]
    fn api_tokens_are_prefixed_random_secrets() {
        let t = new_api_token().unwrap();
        assert!(t.starts_with("vdt_") && t.len() == 68);
        assert_ne!(t, new_api_token().unwrap());
        assert_eq!(secret_hash(&t).len(), 64);
    }
}
