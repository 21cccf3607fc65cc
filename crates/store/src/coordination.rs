//! The parties an organisation coordinates with (vendors, distributions, service
//! providers): its registry. Entries are checked by the core before they get here; the
//! store keeps them per organisation, unique by slug.

use jiff::Timestamp;

use crate::{Store, StoreError, constraint, parse_ts, ts_text};

/// A registry entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewParty {
    pub slug: String,
    pub name: String,
    /// `vendor`, `distribution` or `service-provider`.
    pub kind: String,
    pub contacts: Vec<String>,
    pub products: Vec<String>,
    /// The default longest embargo, as a period ("90 days").
    pub embargo: Option<String>,
    pub terms: String,
    /// The party's OpenPGP key: (fingerprint, armoured public key).
    pub key: Option<(String, String)>,
}

/// A stored registry entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyRow {
    pub id: i64,
    pub org_id: i64,
    pub party: NewParty,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Whether [`Store::put_party`] added the entry or replaced one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Added,
    Replaced,
}

#[derive(sqlx::FromRow)]
struct RawParty {
    id: i64,
    org_id: i64,
    slug: String,
    name: String,
    kind: String,
    contacts: String,
    products: String,
    embargo: Option<String>,
    terms: String,
    key_fingerprint: Option<String>,
    key_armored: Option<String>,
    created_at: String,
    updated_at: String,
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

impl RawParty {
    fn decode(self) -> Result<PartyRow, StoreError> {
        Ok(PartyRow {
            id: self.id,
            org_id: self.org_id,
            party: NewParty {
                slug: self.slug,
                name: self.name,
                kind: self.kind,
                contacts: lines(&self.contacts),
                products: lines(&self.products),
                embargo: self.embargo,
                terms: self.terms,
                key: self.key_fingerprint.zip(self.key_armored),
            },
            created_at: parse_ts(&self.created_at)?,
            updated_at: parse_ts(&self.updated_at)?,
        })
    }
}

macro_rules! party_columns {
    () => {
        "id, org_id, slug, name, kind, contacts, products, embargo, terms, \
         key_fingerprint, key_armored, created_at, updated_at "
    };
}

macro_rules! select_parties {
    () => {
        concat!("SELECT ", party_columns!(), "FROM parties ")
    };
}

/// Binds an entry's values as `$1` to `$11` (organisation, slug, name, kind, contacts,
/// products, embargo, terms, key fingerprint, armoured key, time), the order both of
/// [`Store::put_party`]'s statements use.
macro_rules! bind_party {
    ($query:expr, $org_id:expr, $party:expr, $fingerprint:expr, $armored:expr, $at:expr) => {
        $query
            .bind($org_id)
            .bind(&$party.slug)
            .bind(&$party.name)
            .bind(&$party.kind)
            .bind($party.contacts.join("\n"))
            .bind($party.products.join("\n"))
            .bind(&$party.embargo)
            .bind(&$party.terms)
            .bind($fingerprint)
            .bind($armored)
            .bind(ts_text($at))
    };
}

/// How [`Store::put_party`] treats an entry whose slug is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfExists {
    /// Refuse ([`StoreError::Conflict`]): adding a party by hand.
    Refuse,
    /// Replace it (an import, or an edit of that entry).
    Replace,
}

impl Store {
    /// Writes `party` into `org_id`'s registry. A taken slug is refused or replaced as
    /// `if_exists` says (a replaced entry keeps its `created_at`); the decision is the
    /// database's unique index, so two writers racing for one slug never both add it.
    pub async fn put_party(
        &self,
        org_id: i64,
        party: &NewParty,
        if_exists: IfExists,
        at: Timestamp,
    ) -> Result<(PartyRow, Put), StoreError> {
        let (fingerprint, armored) = party.key.clone().unzip();
        let inserted: Result<RawParty, StoreError> = on_pool!(self, p => bind_party!(
            sqlx::query_as(concat!(
                "INSERT INTO parties (org_id, slug, name, kind, contacts, products, embargo, \
                 terms, key_fingerprint, key_armored, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING ",
                party_columns!()
            )),
            org_id, party, &fingerprint, &armored, at
        )
        .fetch_one(p)
        .await
        .map_err(|e| constraint(e, "organisation")));
        match (inserted, if_exists) {
            (Ok(row), _) => Ok((row.decode()?, Put::Added)),
            (Err(StoreError::Conflict(_)), IfExists::Replace) => {
                let row: Option<RawParty> = on_pool!(self, p => bind_party!(
                    sqlx::query_as(concat!(
                        "UPDATE parties SET name = $3, kind = $4, contacts = $5, products = $6, \
                         embargo = $7, terms = $8, key_fingerprint = $9, key_armored = $10, \
                         updated_at = $11 WHERE org_id = $1 AND slug = $2 RETURNING ",
                        party_columns!()
                    )),
                    org_id, party, &fingerprint, &armored, at
                )
                .fetch_optional(p)
                .await?);
                let row = row.ok_or(StoreError::NotFound("party"))?;
                Ok((row.decode()?, Put::Replaced))
            }
            (Err(StoreError::Conflict(_)), IfExists::Refuse) => Err(StoreError::Conflict(format!(
                "a party with slug {:?} exists",
                party.slug
            ))),
            (Err(e), _) => Err(e),
        }
    }

    /// `org_id`'s registry, by kind then name.
    pub async fn parties(&self, org_id: i64) -> Result<Vec<PartyRow>, StoreError> {
        let rows: Vec<RawParty> = on_pool!(self, p => sqlx::query_as(
            concat!(select_parties!(), "WHERE org_id = $1 ORDER BY kind, name, id"),
        )
        .bind(org_id)
        .fetch_all(p)
        .await?);
        rows.into_iter().map(RawParty::decode).collect()
    }

    /// The entry `slug` of `org_id`'s registry.
    pub async fn party(&self, org_id: i64, slug: &str) -> Result<Option<PartyRow>, StoreError> {
        let row: Option<RawParty> = on_pool!(self, p => sqlx::query_as(
            concat!(select_parties!(), "WHERE org_id = $1 AND slug = $2"),
        )
        .bind(org_id)
        .bind(slug.to_owned())
        .fetch_optional(p)
        .await?);
        row.map(RawParty::decode).transpose()
    }

    /// Sets party `party_id`'s OpenPGP key (fingerprint, armoured), leaving the rest of the
    /// entry as it is (an edit made meanwhile is kept).
    pub async fn set_party_key(
        &self,
        party_id: i64,
        key: &(String, String),
        at: Timestamp,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "UPDATE parties SET key_fingerprint = $2, key_armored = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(party_id)
        .bind(key.0.clone())
        .bind(key.1.clone())
        .bind(ts_text(at))
        .execute(p)
        .await
        .map(drop)?);
        Ok(())
    }

    /// Links account `user_id` to party `party_id` (`linked`) or unlinks it; whether
    /// anything changed.
    pub async fn link_party_account(
        &self,
        party_id: i64,
        user_id: i64,
        linked: bool,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, p => if linked {
            sqlx::query(
                "INSERT INTO party_accounts (party_id, user_id, linked_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (party_id, user_id) DO NOTHING",
            )
            .bind(party_id)
            .bind(user_id)
            .bind(ts_text(at))
            .execute(p)
            .await?
            .rows_affected()
        } else {
            sqlx::query("DELETE FROM party_accounts WHERE party_id = $1 AND user_id = $2")
                .bind(party_id)
                .bind(user_id)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// The accounts that answer for party `party_id`: `(user id, e-mail address, name)`,
    /// by address.
    pub async fn party_accounts(
        &self,
        party_id: i64,
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT u.id, u.email, u.name FROM party_accounts a JOIN users u ON u.id = a.user_id \
             WHERE a.party_id = $1 ORDER BY u.email",
        )
        .bind(party_id)
        .fetch_all(p)
        .await?))
    }

    /// The cases a party that `user_id` answers for is invited to, with the party's name
    /// and its organisation's, newest invitation first: `(case id, party name, organisation
    /// name, invited at)`.
    pub async fn party_invitations(
        &self,
        user_id: i64,
    ) -> Result<Vec<(i64, String, String, Timestamp)>, StoreError> {
        let rows: Vec<(i64, String, String, String)> = on_pool!(self, p => sqlx::query_as(
            "SELECT pp.case_id, pt.name, o.name, pp.joined_at \
             FROM party_accounts a \
             JOIN participants pp ON pp.party_id = a.party_id \
             JOIN parties pt ON pt.id = a.party_id \
             JOIN organisations o ON o.id = pt.org_id \
             WHERE a.user_id = $1 ORDER BY pp.joined_at DESC, pp.case_id DESC",
        )
        .bind(user_id)
        .fetch_all(p)
        .await?);
        rows.into_iter()
            .map(|(case, party, org, at)| Ok((case, party, org, parse_ts(&at)?)))
            .collect()
    }
}
