//! Signing in: browser sessions, API tokens and the failed sign-ins that throttle guessing.
//!
//! Session ids and tokens arrive here already hashed by the caller (SHA-256 of high-entropy
//! random values): the database never holds a usable credential.

use jiff::Timestamp;

use crate::{Store, StoreError, WritePool, constraint, parse_opt_ts, parse_ts, ts_text};

/// A stored session, looked up by the hash of its cookie value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub user_id: i64,
    /// The synchroniser token state-changing requests must carry.
    pub csrf_token: String,
    /// `password` (second factor still due) or `complete`.
    pub stage: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Input for [`Store::create_session`].
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub stage: String,
    pub expires_at: Timestamp,
}

/// A stored API token (without its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// Scope names, as given when it was made.
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// What presenting an API token came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiTokenUse {
    /// It works: marked used now.
    Live(ApiTokenRow),
    /// Neither revoked nor disabled, but past its expiry.
    Expired { expired_at: Timestamp },
}

macro_rules! api_token_columns {
    () => {
        "id, user_id, name, scopes, created_at, last_used_at, revoked_at, expires_at"
    };
}

#[derive(sqlx::FromRow)]
struct RawApiToken {
    id: i64,
    user_id: i64,
    name: String,
    scopes: String,
    created_at: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
    expires_at: Option<String>,
}

impl RawApiToken {
    fn decode(self) -> Result<ApiTokenRow, StoreError> {
        Ok(ApiTokenRow {
            id: self.id,
            user_id: self.user_id,
            name: self.name,
            scopes: self.scopes.split_whitespace().map(str::to_owned).collect(),
            created_at: parse_ts(&self.created_at)?,
            last_used_at: parse_opt_ts(self.last_used_at)?,
            revoked_at: parse_opt_ts(self.revoked_at)?,
            // Migration 0009 gave every token an expiry; a missing one is a fault.
            expires_at: parse_ts(self.expires_at.as_deref().ok_or_else(|| {
                StoreError::Invalid(format!("API token {} has no expiry", self.id))
            })?)?,
        })
    }
}

/// Inside the transaction `$tx`: ends every session of user `$user_id` but the one whose
/// hash is `$keep` (an `Option<&str>`), and revokes every live API token of theirs at `$now`:
/// what disabling, a reset, a password change and signing out everywhere all do, since
/// neither may outlive any of them. Evaluates to how many of each there were.
macro_rules! sign_out {
    ($tx:ident, $user_id:expr, $keep:expr, $now:expr) => {
        async {
            let keep: Option<&str> = $keep;
            // No session hash is empty: without one to keep, every session ends.
            let sessions = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
                .bind($user_id)
                .bind(keep.unwrap_or(""))
                .execute(&mut *$tx)
                .await?
                .rows_affected();
            let tokens = sqlx::query(
                "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            )
            .bind($user_id)
            .bind($crate::ts_text($now))
            .execute(&mut *$tx)
            .await?
            .rows_affected();
            Ok::<(u64, u64), $crate::StoreError>((sessions, tokens))
        }
        .await
    };
}
pub(crate) use sign_out;

impl Store {
    /// Stores a session.
    pub async fn create_session(&self, s: &NewSession, now: Timestamp) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, stage, created_at, last_seen_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $5, $6)",
        )
        .bind(s.id_hash.clone())
        .bind(s.user_id)
        .bind(s.csrf_token.clone())
        .bind(s.stage.clone())
        .bind(ts_text(now))
        .bind(ts_text(s.expires_at))
        .execute(p)
        .await
        .map(drop)
        .map_err(|e| constraint(e, "user")))
    }

    /// The live session with this id hash (expired ones are not returned), if its account
    /// is still enabled.
    pub async fn session(
        &self,
        id_hash: &str,
        now: Timestamp,
    ) -> Result<Option<SessionRow>, StoreError> {
        let row: Option<(i64, String, String, String, String)> = on_pool!(self, p => sqlx::query_as(
            "SELECT s.user_id, s.csrf_token, s.stage, s.created_at, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
        )
        .bind(id_hash)
        .bind(ts_text(now))
        .fetch_optional(p)
        .await?);
        row.map(|(user_id, csrf_token, stage, created, expires)| {
            Ok(SessionRow {
                user_id,
                csrf_token,
                stage,
                created_at: parse_ts(&created)?,
                expires_at: parse_ts(&expires)?,
            })
        })
        .transpose()
    }

    /// Forgets sessions past their expiry and failed sign-ins older than `failures_before`;
    /// neither is of use any more.
    pub async fn prune_sign_ins(
        &self,
        now: Timestamp,
        failures_before: Timestamp,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(ts_text(now))
                .execute(p)
                .await?;
            sqlx::query("DELETE FROM signin_failures WHERE at <= $1")
                .bind(ts_text(failures_before))
                .execute(p)
                .await?;
            Ok(())
        })
    }

    /// Ends one session.
    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(p)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Ends every session of a person and revokes every API token ("sign out
    /// everywhere"), in one transaction; returns how many of each there were.
    pub async fn sign_out_everywhere(
        &self,
        user_id: i64,
        now: Timestamp,
    ) -> Result<(u64, u64), StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let (sessions, tokens) = sign_out!(tx, user_id, None, now)?;
            tx.commit().await?;
            Ok((sessions, tokens))
        })
    }

    /// Stores an API token working until `expires_at`; returns its id.
    pub async fn add_api_token(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &str,
        scopes: &[String],
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<i64, StoreError> {
        on_pool!(self, p => sqlx::query_scalar(
            "INSERT INTO api_tokens (user_id, name, token_hash, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
        .bind(scopes.join(" "))
        .bind(ts_text(now))
        .bind(ts_text(expires_at))
        .fetch_one(p)
        .await
        .map_err(|e| constraint(e, "user")))
    }

    /// A person's API tokens, newest first (revoked ones included, marked).
    pub async fn api_tokens(&self, user_id: i64) -> Result<Vec<ApiTokenRow>, StoreError> {
        let rows: Vec<RawApiToken> = on_pool!(self, p => sqlx::query_as(
            concat!("SELECT ", api_token_columns!(), " FROM api_tokens WHERE user_id = $1 ORDER BY id DESC"),
        )
        .bind(user_id)
        .fetch_all(p)
        .await?);
        rows.into_iter().map(RawApiToken::decode).collect()
    }

    /// Revokes one of a person's tokens; false if they have no such live token.
    pub async fn revoke_api_token(
        &self,
        user_id: i64,
        token_id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, p => sqlx::query(
            "UPDATE api_tokens SET revoked_at = $3 \
             WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(token_id)
        .bind(ts_text(now))
        .execute(p)
        .await?
        .rows_affected());
        Ok(done == 1)
    }

    /// The token with this hash, if it is neither revoked nor its account disabled:
    /// marked used now when it has not expired. Expired tokens are told apart so the
    /// client can be told why it was refused; unknown and revoked ones are not.
    pub async fn use_api_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<ApiTokenUse>, StoreError> {
        let row: Option<RawApiToken> = on_pool!(self, p => sqlx::query_as(
            concat!(
                "UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1 \
                 AND revoked_at IS NULL AND expires_at > $2 \
                 AND user_id IN (SELECT id FROM users WHERE disabled_at IS NULL) RETURNING ",
                api_token_columns!()
            ),
        )
        .bind(token_hash)
        .bind(ts_text(now))
        .fetch_optional(p)
        .await?);
        if let Some(row) = row {
            return Ok(Some(ApiTokenUse::Live(row.decode()?)));
        }
        let expired: Option<String> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT expires_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
             AND user_id IN (SELECT id FROM users WHERE disabled_at IS NULL)",
        )
        .bind(token_hash)
        .fetch_optional(p)
        .await?);
        expired
            .map(|at| {
                Ok(ApiTokenUse::Expired {
                    expired_at: parse_ts(&at)?,
                })
            })
            .transpose()
    }

    /// Records a failed sign-in under each key (an account, an address).
    pub async fn record_signin_failure(
        &self,
        keys: &[String],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            for key in keys {
                sqlx::query("INSERT INTO signin_failures (key, at) VALUES ($1, $2)")
                    .bind(key.clone())
                    .bind(ts_text(now))
                    .execute(p)
                    .await?;
            }
            Ok(())
        })
    }

    /// Failed sign-ins under `key` since `since`, and the earliest of them.
    pub async fn signin_failures(
        &self,
        key: &str,
        since: Timestamp,
    ) -> Result<(i64, Option<Timestamp>), StoreError> {
        let (n, first): (i64, Option<String>) = on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*), MIN(at) FROM signin_failures WHERE key = $1 AND at > $2",
        )
        .bind(key)
        .bind(ts_text(since))
        .fetch_one(p)
        .await?);
        Ok((n, parse_opt_ts(first)?))
    }

    /// Forgets the failures under `key` (after a successful sign-in).
    pub async fn clear_signin_failures(&self, key: &str) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("DELETE FROM signin_failures WHERE key = $1")
            .bind(key)
            .execute(p)
            .await
            .map(drop))?;
        Ok(())
    }
}
