//! E-mail addresses: the one parser every layer uses (reporter contacts, team accounts,
//! the desk's sender, mail headers), so an address accepted in one place is accepted in
//! every other.
//!
//! It checks what goes wrong in practice (a missing or doubled `@`, spaces, a truncated
//! domain) without pretending to validate RFC 5322: quoted local parts and address literals
//! are not taken, because nothing Vulndesk mails to needs them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest address accepted, in characters (RFC 5321 section 4.5.3.1.3: a path holds at
/// most 256 octets including the angle brackets).
pub const MAX_CHARS: usize = 254;

/// An e-mail address: one `@` between a non-empty local part and a domain, no whitespace or
/// control characters, the domain not starting or ending with a dot. Only
/// [`EmailAddress::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmailAddress(String);

/// Why a text is not an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an e-mail address: {why}")]
pub struct AddressError {
    /// The text, shortened.
    pub text: String,
    /// What is wrong.
    pub why: &'static str,
}

impl EmailAddress {
    /// `text` as an address. Surrounding whitespace, a `mailto:` scheme (with any `?query`)
    /// and angle brackets (`<a@b.example>`) are taken off first.
    pub fn parse(text: &str) -> Result<EmailAddress, AddressError> {
        let refuse = |why| {
            Err(AddressError {
                text: text.chars().take(64).collect(),
                why,
            })
        };
        let mut address = text.trim();
        if let Some(uri) = address.strip_prefix("mailto:") {
            address = uri.split('?').next().unwrap_or(uri);
        }
        let address = address
            .strip_prefix('<')
            .and_then(|a| a.strip_suffix('>'))
            .unwrap_or(address)
            .trim();
        if address.chars().count() > MAX_CHARS {
            return refuse("longer than 254 characters");
        }
        if address.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return refuse("it contains spaces or control characters");
        }
        let Some((local, domain)) = address.split_once('@') else {
            return refuse("it has no @");
        };
        if domain.contains('@') {
            return refuse("it has more than one @");
        }
        if local.is_empty() {
            return refuse("nothing before the @");
        }
        if domain.is_empty() || domain.starts_with('.') || domain.ends_with('.') {
            return refuse("the part after the @ is not a domain");
        }
        Ok(EmailAddress(address.to_owned()))
    }

    /// The address, e.g. `finder@example.org`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit('@').next().unwrap_or_default()
    }

    /// Whether the domain has a dot, as every domain reachable on the internet has: what
    /// people are asked for (`a@example` is a typo there), while hosts such as `localhost`
    /// stay valid for the desk's own configuration.
    pub fn is_internet_address(&self) -> bool {
        self.domain().contains('.')
    }

    /// As a `mailto:` URI.
    pub fn to_mailto(&self) -> String {
        format!("mailto:{}", self.0)
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for EmailAddress {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EmailAddress::parse(s)
    }
}

impl Serialize for EmailAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        EmailAddress::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_taken_from_uris_and_brackets() {
        for (text, address) in [
            ("a@example.org", "a@example.org"),
            ("  mailto:a.b+c@sub.example.org ", "a.b+c@sub.example.org"),
            (
                "mailto:security@example.org?subject=hi",
                "security@example.org",
            ),
            ("<vulndesk@localhost>", "vulndesk@localhost"),
            ("ü@bücher.de", "ü@bücher.de"),
        ] {
            assert_eq!(
                EmailAddress::parse(text).unwrap().as_str(),
                address,
                "{text}"
            );
        }
    }

    #[test]
    fn what_people_mistype_is_refused_with_the_reason() {
        for (text, why) in [
            ("", "it has no @"),
            ("a", "it has no @"),
            ("a@", "the part after the @ is not a domain"),
            ("@example.org", "nothing before the @"),
            (
                "a b@example.org",
                "it contains spaces or control characters",
            ),
            ("a@b@c.org", "it has more than one @"),
            ("a@.org", "the part after the @ is not a domain"),
            ("a@example.org.", "the part after the @ is not a domain"),
            (
                "a\u{0}@example.org",
                "it contains spaces or control characters",
            ),
        ] {
            assert_eq!(EmailAddress::parse(text).unwrap_err().why, why, "{text:?}");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }

    #[test]
    fn only_dotted_domains_are_internet_addresses() {
        assert!(
            EmailAddress::parse("a@example.org")
                .unwrap()
                .is_internet_address()
        );
        assert!(
            !EmailAddress::parse("a@example")
                .unwrap()
                .is_internet_address()
        );
        assert!(
            !EmailAddress::parse("vulndesk@localhost")
                .unwrap()
                .is_internet_address()
        );
    }

    #[test]
    fn serde_reads_only_valid_addresses() {
        let a: EmailAddress = serde_json::from_str("\"a@example.org\"").unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"a@example.org\"");
        assert!(serde_json::from_str::<EmailAddress>("\"nope\"").is_err());
    }
}
