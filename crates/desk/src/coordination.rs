//! Coordination under embargo: an organisation's registry of parties (vendors,
//! distributions, service providers). The entry is checked by the core
//! ([`vulndesk_core::coordination::check`]), the key here, where the mail crate can read it.

use jiff::Timestamp;
use vulndesk_core::coordination::{self, PartyInput};
use vulndesk_store::{IfExists, NewParty, Organisation, PartyRow, Put, StoreError};

use crate::followup::public_key;
use crate::{Desk, DeskError};

/// A registry entry to write: what was typed, and the party's key when one was given.
#[derive(Debug, Clone, Default)]
pub struct PartyEntry {
    pub input: PartyInput,
    /// An ASCII-armoured OpenPGP public key; blank keeps none.
    pub key: Option<String>,
}

/// A registry entry as the API and `vulndesk party list --format json` show it: the key by
/// its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PartyView {
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub contacts: Vec<String>,
    pub products: Vec<String>,
    pub embargo: Option<String>,
    pub terms: String,
    pub key_fingerprint: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl PartyView {
    pub fn of(row: &PartyRow) -> PartyView {
        let p = &row.party;
        PartyView {
            slug: p.slug.clone(),
            name: p.name.clone(),
            kind: p.kind.clone(),
            contacts: p.contacts.clone(),
            products: p.products.clone(),
            embargo: p.embargo.clone(),
            terms: p.terms.clone(),
            key_fingerprint: p.key.as_ref().map(|(f, _)| f.clone()),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    pub added: usize,
    pub replaced: usize,
}

impl Desk {
    /// The organisation `slug`, or the error naming it.
    pub async fn organisation(&self, slug: &str) -> Result<Organisation, DeskError> {
        self.store()
            .organisation_by_slug(slug)
            .await?
            .ok_or_else(|| DeskError::UnknownProduct {
                field: "organisation",
                message: format!("no organisation {slug:?} on this desk"),
            })
    }

    /// `org`'s registry of parties, by kind then name.
    pub async fn parties(&self, org: &Organisation) -> Result<Vec<PartyRow>, DeskError> {
        Ok(self.store().parties(org.id).await?)
    }

    /// The party `slug` of `org`'s registry.
    pub async fn party(&self, org: &Organisation, slug: &str) -> Result<PartyRow, DeskError> {
        self.store()
            .party(org.id, slug)
            .await?
            .ok_or(DeskError::NotFound)
    }

    /// Checks `entry` and writes it to `org`'s registry: a new slug is added; a taken one is
    /// refused or replaced as `if_exists` says.
    pub async fn put_party(
        &self,
        org: &Organisation,
        entry: &PartyEntry,
        if_exists: IfExists,
        at: Timestamp,
    ) -> Result<(PartyRow, Put), DeskError> {
        let new = checked(entry, at)?;
        self.write_party(org, &new, if_exists, at).await
    }

    /// Replaces the party `slug` of `org`'s registry with `entry` (whose slug, if any, must
    /// be the same): an edit. A blank key keeps the party's key. A party that is not there
    /// is not added.
    pub async fn edit_party(
        &self,
        org: &Organisation,
        slug: &str,
        entry: &PartyEntry,
        at: Timestamp,
    ) -> Result<PartyRow, DeskError> {
        let current = self.party(org, slug).await?;
        if let Some(given) = entry.input.slug.as_deref().map(str::trim)
            && !given.is_empty()
            && given != slug
        {
            return Err(DeskError::invalid(
                "slug",
                format!("slug cannot change from {slug:?} to {given:?}: add the party anew"),
            ));
        }
        let mut input = entry.input.clone();
        input.slug = Some(current.party.slug);
        let mut new = checked(
            &PartyEntry {
                input,
                key: entry.key.clone(),
            },
            at,
        )?;
        if new.key.is_none() {
            new.key = current.party.key;
        }
        Ok(self.write_party(org, &new, IfExists::Replace, at).await?.0)
    }

    /// Imports entries into `org`'s registry, each numbered by where it came from (a line
    /// of a file). Every entry is checked first, and none is written unless all are good:
    /// the error lists each bad entry by number and field. A slug already in the registry
    /// is replaced; one given twice is an error.
    pub async fn import_parties(
        &self,
        org: &Organisation,
        entries: &[(u64, PartyEntry)],
        at: Timestamp,
    ) -> Result<Imported, DeskError> {
        let mut problems = Vec::new();
        let mut checked_entries: Vec<(u64, NewParty)> = Vec::new();
        for (line, entry) in entries {
            match checked(entry, at) {
                Ok(new) => {
                    if let Some((first, _)) =
                        checked_entries.iter().find(|(_, n)| n.slug == new.slug)
                    {
                        problems.push(format!(
                            "line {line}: slug {:?} is given on line {first} too",
                            new.slug
                        ));
                    }
                    checked_entries.push((*line, new));
                }
                Err(e) => {
                    let message = e.to_string();
                    match e.field() {
                        Some(field) if !message.starts_with(field) => {
                            problems.push(format!("line {line}: {field}: {message}"))
                        }
                        _ => problems.push(format!("line {line}: {message}")),
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(DeskError::invalid(
                "file",
                format!(
                    "nothing was imported; {} of {} entries need fixing:\n{}",
                    problems.len(),
                    entries.len(),
                    problems.join("\n")
                ),
            ));
        }
        let mut imported = Imported::default();
        for (_, new) in &checked_entries {
            match self.write_party(org, new, IfExists::Replace, at).await?.1 {
                Put::Added => imported.added += 1,
                Put::Replaced => imported.replaced += 1,
            }
        }
        Ok(imported)
    }

    async fn write_party(
        &self,
        org: &Organisation,
        new: &NewParty,
        if_exists: IfExists,
        at: Timestamp,
    ) -> Result<(PartyRow, Put), DeskError> {
        self.store()
            .put_party(org.id, new, if_exists, at)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(message) => DeskError::Conflict {
                    message: format!(
                        "{message} in {}'s registry: choose another slug, or edit that party",
                        org.name
                    ),
                },
                e => e.into(),
            })
    }
}

/// `entry` checked: the core's rules for the entry, the key readable and usable at `at`.
fn checked(entry: &PartyEntry, at: Timestamp) -> Result<NewParty, DeskError> {
    let party =
        coordination::check(&entry.input).map_err(|e| DeskError::invalid(e.field, e.message))?;
    let key = match entry.key.as_deref().filter(|k| !k.trim().is_empty()) {
        Some(armored) => {
            let key = public_key(armored, "key", at)?;
            Some((key.fingerprint(), key.armored()))
        }
        None => None,
    };
    Ok(NewParty {
        slug: party.slug,
        name: party.name,
        kind: party.kind.as_str().to_owned(),
        contacts: party
            .contacts
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        products: party.products,
        embargo: party.embargo.map(|p| p.to_string()),
        terms: party.terms,
        key,
    })
}
