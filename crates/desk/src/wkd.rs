//! Finding a party's OpenPGP key by its contact address in the address's own Web Key
//! Directory (draft-koch-openpgp-webkey-service): the advanced method at
//! `openpgpkey.<domain>` first, then the direct method at `<domain>`, over HTTPS.
//!
//! Only those two fixed paths on the address's own domain are asked, and the answer is only
//! ever parsed as a key, so an address cannot make the desk fetch anything else or show
//! what some server said. A key is taken only if it is usable (valid, not revoked, not
//! expired, able to encrypt) and one of its user IDs is the address asked for.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::Url;
use sha1::{Digest, Sha1};
use vulndesk_mail::openpgp::PublicKey;

use crate::followup::KEY_MAX_BYTES;

/// How long one directory may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where a Web Key Directory is looked up: the address's own domain, or (for a mirror, or a
/// stand-in in tests) one origin serving the same paths for every domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    /// `http(s)://host[:port]` replacing `https://openpgpkey.<domain>` and
    /// `https://<domain>`.
    pub origin: Option<String>,
}

/// A key found for an address, and where.
#[derive(Debug, Clone)]
pub struct Found {
    pub key: PublicKey,
    pub url: String,
}

/// Why no key was found for an address: each address asked, and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound(pub Vec<String>);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

/// The WKD hash of an address's local part: SHA-1 of it lowercased, z-base-32 encoded.
fn hashed(local: &str) -> String {
    let digest = Sha1::digest(local.to_lowercase().as_bytes());
    base32::encode(base32::Alphabet::Z, &digest)
}

impl Directory {
    /// The addresses to ask for `email`'s key, advanced method first; `None` for something
    /// that is not an address at a public host name.
    pub fn urls(&self, email: &str) -> Option<[Url; 2]> {
        let (local, domain) = email.trim().rsplit_once('@')?;
        let domain = domain.to_ascii_lowercase();
        // A public host name only: never an address literal or a single label (`localhost`,
        // an intranet name), which would point the desk at its own network.
        let top = domain.rsplit('.').next().unwrap_or_default();
        if local.is_empty()
            || !domain.contains('.')
            || !top.chars().any(|c| c.is_ascii_alphabetic())
            || !domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return None;
        }
        let hash = hashed(local);
        let (advanced, direct) = match &self.origin {
            Some(origin) => (
                origin.trim_end_matches('/').to_owned(),
                origin.trim_end_matches('/').to_owned(),
            ),
            None => (
                format!("https://openpgpkey.{domain}"),
                format!("https://{domain}"),
            ),
        };
        let mut advanced = Url::parse(&format!(
            "{advanced}/.well-known/openpgpkey/{domain}/hu/{hash}"
        ))
        .ok()?;
        let mut direct = Url::parse(&format!("{direct}/.well-known/openpgpkey/hu/{hash}")).ok()?;
        advanced.query_pairs_mut().append_pair("l", local);
        direct.query_pairs_mut().append_pair("l", local);
        Some([advanced, direct])
    }

    /// Looks `email`'s key up: the first usable key naming the address, or what each
    /// attempt found instead.
    pub async fn lookup(&self, email: &str, now: Timestamp) -> Result<Found, NotFound> {
        let Some(urls) = self.urls(email) else {
            return Err(NotFound(vec![format!(
                "{email:?} is not an address at a public host name"
            )]));
        };
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .https_only(self.origin.is_none())
            .user_agent(concat!("vulndesk/", env!("CARGO_PKG_VERSION"), " (WKD)"))
            .build()
            .map_err(|e| NotFound(vec![format!("cannot make an HTTP client: {e}")]))?;
        let mut attempts = Vec::new();
        for url in urls {
            match fetch(&client, &url).await {
                Ok(bytes) => match PublicKey::parse_binary(&bytes, now) {
                    Ok(key) if names(&key, email) => {
                        return Ok(Found {
                            key,
                            url: url.to_string(),
                        });
                    }
                    Ok(key) => attempts.push(format!(
                        "{url}: key {} does not name {email}",
                        key.fingerprint()
                    )),
                    Err(e) => attempts.push(format!("{url}: not a usable key: {e}")),
                },
                Err(why) => attempts.push(format!("{url}: {why}")),
            }
        }
        Err(NotFound(attempts))
    }
}

/// Whether one of `key`'s user IDs is `email` (the domain compared without case, as the
/// directory itself is found).
fn names(key: &PublicKey, email: &str) -> bool {
    let wanted = email.trim().to_lowercase();
    key.user_ids().iter().any(|uid| {
        let address = match (uid.rfind('<'), uid.rfind('>')) {
            (Some(open), Some(close)) if open < close => &uid[open + 1..close],
            _ => uid.as_str(),
        };
        address.trim().to_lowercase() == wanted
    })
}

async fn fetch(client: &reqwest::Client, url: &Url) -> Result<Vec<u8>, String> {
    let mut response = client.get(url.clone()).send().await.map_err(|e| {
        if e.is_timeout() {
            "no answer in time".to_owned()
        } else if e.is_connect() {
            "cannot connect (no such host, or the desk has no network)".to_owned()
        } else {
            format!("request failed: {e}")
        }
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("answered {status}"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("answer cut short: {e}"))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > KEY_MAX_BYTES {
            return Err(format!("answer larger than {KEY_MAX_BYTES} bytes"));
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_drafts_example() {
        // draft-koch-openpgp-webkey-service, section 3.1.
        let [advanced, direct] = Directory::default().urls("Joe.Doe@Example.ORG").unwrap();
        assert_eq!(
            advanced.as_str(),
            "https://openpgpkey.example.org/.well-known/openpgpkey/example.org/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe"
        );
        assert_eq!(
            direct.as_str(),
            "https://example.org/.well-known/openpgpkey/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe"
        );
    }

    #[test]
    fn an_origin_serves_every_domain_and_odd_local_parts_are_encoded() {
        let d = Directory {
            origin: Some("http://127.0.0.1:9/".into()),
        };
        let [advanced, direct] = d.urls("a+b&c@vendor.example").unwrap();
        assert!(
            advanced
                .as_str()
                .starts_with("http://127.0.0.1:9/.well-known/openpgpkey/vendor.example/hu/"),
            "{advanced}"
        );
        assert!(advanced.as_str().ends_with("?l=a%2Bb%26c"), "{advanced}");
        assert!(
            direct
                .as_str()
                .starts_with("http://127.0.0.1:9/.well-known/openpgpkey/hu/")
        );
    }

    #[test]
    fn only_addresses_with_a_plain_domain_are_looked_up() {
        let d = Directory::default();
        for bad in [
            "no-at-sign",
            "@example.org",
            "a@",
            "a@exa mple.org",
            "a@host/path",
            "a@x?y",
        ] {
            assert!(d.urls(bad).is_none(), "{bad}");
        }
    }
}
