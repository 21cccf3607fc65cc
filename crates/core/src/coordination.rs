//! Coordination under embargo: the parties an organisation tells about a case before the
//! public does (vendors shipping the affected code, distributions packaging it, the service
//! providers running it: Signalen's "known service providers", seed 004).
//!
//! This module holds the registry's rules: what a party is and what makes an entry valid.
//! Every adapter (the pages, the API, `vulndesk party add|import`) checks an entry here, so
//! the same input gets the same answer, naming the same field, wherever it comes from.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::duration::Period;
use crate::email::EmailAddress;
use crate::text::normalise_untrusted;

#[cfg(test)]
mod tests;

/// What a party is to the organisation; cases invite parties by kind too ("all known
/// service providers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartyKind {
    /// Ships the affected code in a product of its own.
    Vendor,
    /// Packages the affected code for its users (a Linux distribution).
    Distribution,
    /// Runs the affected code for customers (managed instances).
    ServiceProvider,
}

impl PartyKind {
    pub const ALL: [PartyKind; 3] = [
        PartyKind::Vendor,
        PartyKind::Distribution,
        PartyKind::ServiceProvider,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PartyKind::Vendor => "vendor",
            PartyKind::Distribution => "distribution",
            PartyKind::ServiceProvider => "service-provider",
        }
    }

    /// How the kind reads in a sentence ("all service providers").
    pub fn plural(self) -> &'static str {
        match self {
            PartyKind::Vendor => "vendors",
            PartyKind::Distribution => "distributions",
            PartyKind::ServiceProvider => "service providers",
        }
    }

    /// The kind named by `text`: its name, with spaces or underscores for the hyphen, any
    /// case (`Service provider` from a spreadsheet).
    pub fn parse(text: &str) -> Option<PartyKind> {
        let text = text.trim().to_ascii_lowercase().replace([' ', '_'], "-");
        PartyKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl fmt::Display for PartyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registry entry as it was given: every field still text, from a form, a JSON body or a
/// CSV row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyInput {
    /// The party's short name in addresses (`/orgs/x/parties/{slug}`); made from the name
    /// when absent.
    #[serde(default)]
    pub slug: Option<String>,
    pub name: String,
    /// `vendor`, `distribution` or `service-provider`.
    pub kind: String,
    /// Where the party's security contact is written to: at least one address.
    pub contacts: Vec<String>,
    /// What the party ships or runs that may be affected.
    #[serde(default)]
    pub products: Vec<String>,
    /// The longest embargo the party accepts by default ("90 days").
    #[serde(default)]
    pub embargo: Option<String>,
    /// What the party may share under embargo, and with whom, unless a case says otherwise.
    #[serde(default)]
    pub terms: Option<String>,
}

/// A checked registry entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub slug: String,
    pub name: String,
    pub kind: PartyKind,
    pub contacts: Vec<EmailAddress>,
    pub products: Vec<String>,
    pub embargo: Option<Period>,
    pub terms: String,
}

/// An entry refused, naming the field at fault and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EntryError {
    pub field: &'static str,
    pub message: String,
}

/// The most contacts one party holds: a security team's list, not a customer base.
pub const MAX_CONTACTS: usize = 20;
/// The most products listed for one party.
pub const MAX_PRODUCTS: usize = 100;
const MAX_NAME_CHARS: usize = 200;
const MAX_SLUG_CHARS: usize = 64;
const MAX_PRODUCT_CHARS: usize = 200;
const MAX_TERMS_CHARS: usize = 8_000;

fn refuse<T>(field: &'static str, message: impl Into<String>) -> Result<T, EntryError> {
    Err(EntryError {
        field,
        message: message.into(),
    })
}

/// Checks a registry entry: a name, a known kind, one to [`MAX_CONTACTS`] distinct
/// internet addresses, products and terms within bounds, an embargo that is a period. Text
/// is normalised here, where it enters.
pub fn check(input: &PartyInput) -> Result<Party, EntryError> {
    let name = one_line(&input.name);
    if name.is_empty() {
        return refuse(
            "name",
            "name must not be empty: the party's name, as its team calls it",
        );
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return refuse(
            "name",
            format!("name is longer than {MAX_NAME_CHARS} characters"),
        );
    }
    let slug = match input
        .slug
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(given) => {
            if !is_slug(given) {
                return refuse(
                    "slug",
                    format!(
                        "slug {given:?} may hold only lowercase letters, digits and hyphens, \
                         1 to {MAX_SLUG_CHARS} of them, not starting or ending with a hyphen"
                    ),
                );
            }
            given.to_owned()
        }
        None => slug_of(&name).ok_or_else(|| EntryError {
            field: "slug",
            message: format!(
                "no slug can be made from the name {name:?}: give one (lowercase letters, \
                 digits and hyphens)"
            ),
        })?,
    };
    let kind = PartyKind::parse(&input.kind).ok_or_else(|| EntryError {
        field: "kind",
        message: format!(
            "kind {:?} is not one of: {}",
            one_line(&input.kind),
            PartyKind::ALL.map(PartyKind::as_str).join(", ")
        ),
    })?;
    let mut contacts: Vec<EmailAddress> = Vec::new();
    for text in input
        .contacts
        .iter()
        .map(|c| one_line(c))
        .filter(|c| !c.is_empty())
    {
        let address = EmailAddress::parse(&text).map_err(|e| EntryError {
            field: "contacts",
            message: format!("contacts: {e}"),
        })?;
        if !address.is_internet_address() {
            return refuse(
                "contacts",
                format!("contacts: {address} has no domain reachable on the internet"),
            );
        }
        if !contacts
            .iter()
            .any(|c| c.as_str().eq_ignore_ascii_case(address.as_str()))
        {
            contacts.push(address);
        }
    }
    if contacts.is_empty() {
        return refuse(
            "contacts",
            "contacts must hold at least one e-mail address: where the party's security team \
             is written to",
        );
    }
    if contacts.len() > MAX_CONTACTS {
        return refuse(
            "contacts",
            format!("at most {MAX_CONTACTS} contacts per party"),
        );
    }
    let mut products: Vec<String> = Vec::new();
    for product in input
        .products
        .iter()
        .map(|p| one_line(p))
        .filter(|p| !p.is_empty())
    {
        if product.chars().count() > MAX_PRODUCT_CHARS {
            return refuse(
                "products",
                format!("products: {product:?} is longer than {MAX_PRODUCT_CHARS} characters"),
            );
        }
        if !products.contains(&product) {
            products.push(product);
        }
    }
    if products.len() > MAX_PRODUCTS {
        return refuse(
            "products",
            format!("at most {MAX_PRODUCTS} products per party"),
        );
    }
    let embargo = match input
        .embargo
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        None => None,
        Some(text) => Some(Period::parse(text).map_err(|e| EntryError {
            field: "embargo",
            message: format!("embargo: {e}"),
        })?),
    };
    let terms = normalise_untrusted(input.terms.as_deref().unwrap_or_default())
        .trim()
        .to_owned();
    if terms.chars().count() > MAX_TERMS_CHARS {
        return refuse(
            "terms",
            format!("terms are longer than {MAX_TERMS_CHARS} characters"),
        );
    }
    Ok(Party {
        slug,
        name,
        kind,
        contacts,
        products,
        embargo,
        terms,
    })
}

/// `text` normalised, on one line, its runs of whitespace made one space.
fn one_line(text: &str) -> String {
    normalise_untrusted(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_slug(text: &str) -> bool {
    (1..=MAX_SLUG_CHARS).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

/// A slug made from a name: ASCII letters and digits lowercased, every other run a hyphen.
fn slug_of(name: &str) -> Option<String> {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug.chars().take(MAX_SLUG_CHARS).collect();
    let slug = slug.trim_end_matches('-').to_owned();
    is_slug(&slug).then_some(slug)
}
