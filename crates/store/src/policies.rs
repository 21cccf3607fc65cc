//! Organisations, their products, and every version of their disclosure policy.

use jiff::Timestamp;

use crate::{Store, StoreError, WritePool, constraint, parse_ts, sha256_hex, ts_text};

/// An organisation (a vendor running a disclosure desk).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Organisation {
    /// Row id.
    pub id: i64,
    /// URL-safe identifier, unique.
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// One stored version of an organisation's disclosure policy source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    /// Row id; cases pin this.
    pub id: i64,
    /// Owning organisation.
    pub org_id: i64,
    /// 1, 2, ... per organisation.
    pub version: i64,
    /// The policy text exactly as given.
    pub source: String,
    /// Lowercase hex SHA-256 of `source`.
    pub sha256: String,
    /// When this version was stored.
    pub created_at: Timestamp,
}

/// A product together with its organisation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProductRow {
    /// Product row id.
    pub id: i64,
    /// Owning organisation id.
    pub org_id: i64,
    /// Owning organisation slug.
    pub org_slug: String,
    /// Owning organisation name.
    pub org_name: String,
    /// Product slug, unique within the organisation.
    pub slug: String,
    /// Product display name.
    pub name: String,
    /// The organisation's latest policy version (row id), which new cases are pinned to.
    pub policy_version_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct RawPolicy {
    id: i64,
    org_id: i64,
    version: i64,
    source: String,
    sha256: String,
    created_at: String,
}

impl RawPolicy {
    fn decode(self) -> Result<PolicyVersion, StoreError> {
        Ok(PolicyVersion {
            id: self.id,
            org_id: self.org_id,
            version: self.version,
            source: self.source,
            sha256: self.sha256,
            created_at: parse_ts(&self.created_at)?,
        })
    }
}

/// `SELECT <the columns of ProductRow> FROM products p JOIN organisations o `, with the
/// organisation's latest policy version, a literal for `concat!`.
macro_rules! select_products {
    () => {
        "SELECT p.id, p.org_id, o.slug AS org_slug, o.name AS org_name, p.slug, p.name, \
         (SELECT v.id FROM policy_versions v WHERE v.org_id = p.org_id \
          ORDER BY v.version DESC LIMIT 1) AS policy_version_id \
         FROM products p JOIN organisations o ON o.id = p.org_id "
    };
}

impl Store {
    /// Creates the organisation or renames it; returns its id.
    pub async fn upsert_organisation(&self, slug: &str, name: &str) -> Result<i64, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_scalar(
            "INSERT INTO organisations (slug, name) VALUES ($1, $2) \
             ON CONFLICT (slug) DO UPDATE SET name = excluded.name RETURNING id",
        )
        .bind(slug.to_owned())
        .bind(name.to_owned())
        .fetch_one(p)
        .await?))
    }

    /// Looks an organisation up by slug.
    pub async fn organisation_by_slug(
        &self,
        slug: &str,
    ) -> Result<Option<Organisation>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_as(
            "SELECT id, slug, name FROM organisations WHERE slug = $1",
        )
        .bind(slug.to_owned())
        .fetch_optional(p)
        .await?))
    }

    /// Stores a policy version; every version is kept. Returns the existing latest version
    /// unchanged if `source` is byte-identical to it, otherwise a new version numbered latest+1.
    pub async fn add_policy_version(
        &self,
        org_id: i64,
        source: &str,
        created_at: Timestamp,
    ) -> Result<PolicyVersion, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let org: Option<i64> = sqlx::query_scalar(p.lock_org_sql())
                .bind(org_id)
                .fetch_optional(&mut *tx)
                .await?;
            if org.is_none() {
                return Err(StoreError::NotFound("organisation"));
            }
            let latest: Option<RawPolicy> = sqlx::query_as(
                "SELECT id, org_id, version, source, sha256, created_at FROM policy_versions \
                 WHERE org_id = $1 ORDER BY version DESC LIMIT 1",
            )
            .bind(org_id)
            .fetch_optional(&mut *tx)
            .await?;
            let next = match latest {
                Some(l) if l.source == source => return l.decode(),
                Some(l) => l.version + 1,
                None => 1,
            };
            let row: RawPolicy = sqlx::query_as(
                "INSERT INTO policy_versions (org_id, version, source, sha256, created_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 RETURNING id, org_id, version, source, sha256, created_at",
            )
            .bind(org_id)
            .bind(next)
            .bind(source.to_owned())
            .bind(sha256_hex(source.as_bytes()))
            .bind(ts_text(created_at))
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| constraint(e, "organisation"))?;
            tx.commit().await?;
            row.decode()
        })
    }

    /// The organisation's highest-numbered policy version.
    pub async fn latest_policy(&self, org_id: i64) -> Result<Option<PolicyVersion>, StoreError> {
        let row: Option<RawPolicy> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, org_id, version, source, sha256, created_at FROM policy_versions \
             WHERE org_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(org_id)
        .fetch_optional(p)
        .await?);
        row.map(RawPolicy::decode).transpose()
    }

    /// One policy version by row id.
    pub async fn policy_version(&self, id: i64) -> Result<PolicyVersion, StoreError> {
        let row: Option<RawPolicy> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, org_id, version, source, sha256, created_at FROM policy_versions \
             WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(p)
        .await?);
        row.ok_or(StoreError::NotFound("policy version"))?.decode()
    }

    /// All of an organisation's policy versions, oldest first.
    pub async fn policy_versions(&self, org_id: i64) -> Result<Vec<PolicyVersion>, StoreError> {
        let rows: Vec<RawPolicy> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, org_id, version, source, sha256, created_at FROM policy_versions \
             WHERE org_id = $1 ORDER BY version",
        )
        .bind(org_id)
        .fetch_all(p)
        .await?);
        rows.into_iter().map(RawPolicy::decode).collect()
    }

    /// Creates the product or renames it; returns its id.
    pub async fn upsert_product(
        &self,
        org_id: i64,
        slug: &str,
        name: &str,
    ) -> Result<i64, StoreError> {
        on_pool!(self, p => sqlx::query_scalar(
            "INSERT INTO products (org_id, slug, name) VALUES ($1, $2, $3) \
             ON CONFLICT (org_id, slug) DO UPDATE SET name = excluded.name RETURNING id",
        )
        .bind(org_id)
        .bind(slug.to_owned())
        .bind(name.to_owned())
        .fetch_one(p)
        .await
        .map_err(|e| constraint(e, "organisation")))
    }

    /// All products, ordered by organisation slug then product slug (byte order on both
    /// backends).
    pub async fn list_products(&self) -> Result<Vec<ProductRow>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_as(
            concat!(select_products!(), "ORDER BY o.slug, p.slug"),
        )
        .fetch_all(p)
        .await?))
    }

    /// One product by organisation and product slug.
    pub async fn product(
        &self,
        org_slug: &str,
        product_slug: &str,
    ) -> Result<Option<ProductRow>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_as(
            concat!(select_products!(), "WHERE o.slug = $1 AND p.slug = $2"),
        )
        .bind(org_slug.to_owned())
        .bind(product_slug.to_owned())
        .fetch_optional(p)
        .await?))
    }
}
