//! The security team: accounts, organisation roles, per-case grants, sessions, API tokens,
//! recovery codes and sign-in throttling; and the team's view of cases (the dashboard
//! listing and full-text search).
//!
//! Every secret arrives here already hashed by the caller (argon2id for passwords, SHA-256
//! for high-entropy random tokens): the database never holds a usable credential.

use jiff::Timestamp;

use crate::cases::RawProjection;
use crate::outbox::{JobWrites, NewJob, write_jobs};
use crate::{
    Projection, Store, StoreError, WritePool, constraint, parse_opt_ts, parse_ts, ts_text,
};

/// Input for [`Store::add_user`].
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Sign-in address; stored lowercased.
    pub email: String,
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub admin: bool,
    /// Whether sign-in demands a second factor.
    pub totp_required: bool,
}

/// A stored account.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub admin: bool,
    pub totp_required: bool,
    /// Set once the person enrolled an authenticator.
    pub totp_secret: Option<String>,
    /// The last RFC 6238 time step accepted.
    pub totp_last_step: Option<i64>,
    pub disabled_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// Made by `serve --demo`: a fictional account whose password was printed.
    pub demo: bool,
}

/// Leaves the password hash and TOTP secret out of logs.
impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("admin", &self.admin)
            .field("totp_required", &self.totp_required)
            .field("totp_enrolled", &self.totp_secret.is_some())
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

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

/// Text a case write adds to the full-text index: the body of `events[event]`.
#[derive(Debug, Clone)]
pub struct SearchText {
    /// Index into the events of the same write.
    pub event: usize,
    /// Only people who may read internal notes find it.
    pub internal: bool,
    pub body: String,
}

/// Which cases the dashboard lists; every field narrows the list.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    /// The cases the person may see: `None` for everything (an admin); otherwise the cases
    /// of these organisations and these case ids.
    pub visible: Option<Visible>,
    pub org_id: Option<i64>,
    pub product_id: Option<i64>,
    pub states: Vec<String>,
    pub severity: Option<String>,
    pub officer_id: Option<i64>,
    /// Words that must all occur in the case's title, description or messages.
    pub text: Option<String>,
    /// Whether internal notes are searched too.
    pub search_internal: bool,
    /// Only cases whose next deadline is on or before this day.
    pub due_by: Option<jiff::civil::Date>,
    pub limit: i64,
    /// Rows of the order to skip (for later pages).
    pub offset: i64,
}

/// The cases a person may see.
#[derive(Debug, Clone, Default)]
pub struct Visible {
    pub org_ids: Vec<i64>,
    pub case_ids: Vec<i64>,
    /// Organisations whose internal notes the person may search (their team, not their
    /// reviewers).
    pub note_org_ids: Vec<i64>,
}

/// One dashboard row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseListing {
    pub id: i64,
    pub org_id: i64,
    pub org_slug: String,
    pub product_id: i64,
    pub product_slug: String,
    pub opened_at: Timestamp,
    /// The policy version the case is pinned to.
    pub policy_version_id: i64,
    pub projection: Projection,
}

#[derive(sqlx::FromRow)]
struct RawUser {
    id: i64,
    email: String,
    name: String,
    password_hash: String,
    admin: bool,
    totp_required: bool,
    totp_secret: Option<String>,
    totp_last_step: Option<i64>,
    disabled_at: Option<String>,
    created_at: String,
    demo: bool,
}

impl RawUser {
    fn decode(self) -> Result<UserRow, StoreError> {
        Ok(UserRow {
            id: self.id,
            email: self.email,
            name: self.name,
            password_hash: self.password_hash,
            admin: self.admin,
            totp_required: self.totp_required,
            totp_secret: self.totp_secret,
            totp_last_step: self.totp_last_step,
            disabled_at: parse_opt_ts(self.disabled_at)?,
            created_at: parse_ts(&self.created_at)?,
            demo: self.demo,
        })
    }
}

macro_rules! user_columns {
    () => {
        "id, email, name, password_hash, admin, totp_required, totp_secret, totp_last_step, \
         disabled_at, created_at, demo"
    };
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

/// Revokes every live API token of user `$1` at `$2`: what disabling, a reset, a password
/// change and signing out everywhere all do, since a token must not outlive any of them.
const REVOKE_ALL_TOKENS: &str =
    "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL";

/// Replaces a person's recovery codes with `$hashes` inside transaction `$tx`.
macro_rules! write_recovery_codes {
    ($tx:ident, $user_id:expr, $hashes:expr) => {
        async {
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind($user_id)
                .execute(&mut *$tx)
                .await?;
            for hash in $hashes {
                sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                    .bind($user_id)
                    .bind(hash.clone())
                    .execute(&mut *$tx)
                    .await
                    .map_err(|e| constraint(e, "user"))?;
            }
            Ok::<(), StoreError>(())
        }
        .await
    };
}

/// Grants and search text a case write stores beside its events.
#[derive(Debug, Default)]
pub(crate) struct TeamWrites {
    pub(crate) grants: Vec<(i64, Option<String>)>,
    pub(crate) search: Vec<SearchText>,
    pub(crate) duplicate_of: Option<i64>,
}

/// Writes [`TeamWrites`] for the events just inserted (`$seqs[i]` is the seq of event i).
macro_rules! write_team {
    ($tx:ident, $case_id:expr, $seqs:expr, $w:expr) => {
        async {
            let w: &$crate::team::TeamWrites = $w;
            let seqs: &[i64] = $seqs;
            for (user_id, grant) in &w.grants {
                sqlx::query("DELETE FROM case_grants WHERE case_id = $1 AND user_id = $2")
                    .bind($case_id)
                    .bind(*user_id)
                    .execute(&mut *$tx)
                    .await?;
                if let Some(grant) = grant {
                    sqlx::query(
                        "INSERT INTO case_grants (case_id, user_id, grant_) VALUES ($1, $2, $3)",
                    )
                    .bind($case_id)
                    .bind(*user_id)
                    .bind(grant.clone())
                    .execute(&mut *$tx)
                    .await
                    .map_err(|e| $crate::constraint(e, "user"))?;
                }
            }
            if let Some(original) = w.duplicate_of {
                sqlx::query(
                    "INSERT INTO case_duplicates (case_id, duplicate_of) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind($case_id)
                .bind(original)
                .execute(&mut *$tx)
                .await
                .map_err(|e| $crate::constraint(e, "case"))?;
            }
            for t in &w.search {
                let seq = *seqs.get(t.event).ok_or_else(|| {
                    $crate::StoreError::Invalid(format!("search text for event {}", t.event))
                })?;
                sqlx::query(
                    "INSERT INTO case_search (case_id, seq, internal, body) VALUES ($1, $2, $3, $4)",
                )
                .bind($case_id)
                .bind(seq)
                .bind(t.internal)
                .bind(t.body.clone())
                .execute(&mut *$tx)
                .await?;
            }
            Ok::<(), $crate::StoreError>(())
        }
        .await
    };
}
pub(crate) use write_team;

/// Words for a full-text query, each quoted so that nothing a person types is read as
/// FTS5 query syntax.
fn fts5_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

impl Store {
    /// Creates an account. `Conflict` if the address is taken.
    pub async fn add_user(&self, new: &NewUser, now: Timestamp) -> Result<i64, StoreError> {
        on_pool!(self, p => sqlx::query_scalar(
            "INSERT INTO users (email, name, password_hash, admin, totp_required, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(new.email.trim().to_lowercase())
        .bind(new.name.clone())
        .bind(new.password_hash.clone())
        .bind(new.admin)
        .bind(new.totp_required)
        .bind(ts_text(now))
        .fetch_one(p)
        .await
        .map_err(|e| constraint(e, "user")))
    }

    /// The account with this id.
    pub async fn user(&self, id: i64) -> Result<Option<UserRow>, StoreError> {
        let row: Option<RawUser> = on_pool!(self, p => sqlx::query_as(
            concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"),
        )
        .bind(id)
        .fetch_optional(p)
        .await?);
        row.map(RawUser::decode).transpose()
    }

    /// The account signing in with this address (compared lowercased).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        let row: Option<RawUser> = on_pool!(self, p => sqlx::query_as(
            concat!("SELECT ", user_columns!(), " FROM users WHERE email = $1"),
        )
        .bind(email.trim().to_lowercase())
        .fetch_optional(p)
        .await?);
        row.map(RawUser::decode).transpose()
    }

    /// Every account, by id.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let rows: Vec<RawUser> = on_pool!(self, p => sqlx::query_as(
            concat!("SELECT ", user_columns!(), " FROM users ORDER BY id"),
        )
        .fetch_all(p)
        .await?);
        rows.into_iter().map(RawUser::decode).collect()
    }

    /// The enabled members of an organisation's team with their roles, by name.
    pub async fn team_of(&self, org_id: i64) -> Result<Vec<(UserRow, String)>, StoreError> {
        let rows: Vec<(i64, String)> = on_pool!(self, p => sqlx::query_as(
            "SELECT m.user_id, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1 AND u.disabled_at IS NULL ORDER BY u.name, u.id",
        )
        .bind(org_id)
        .fetch_all(p)
        .await?);
        let mut team = Vec::with_capacity(rows.len());
        for (id, role) in rows {
            if let Some(user) = self.user(id).await? {
                team.push((user, role));
            }
        }
        Ok(team)
    }

    /// Whether sign-in demands a second factor of this account.
    pub async fn set_totp_required(&self, user_id: i64, required: bool) -> Result<(), StoreError> {
        let done = on_pool!(self, p => sqlx::query("UPDATE users SET totp_required = $2 WHERE id = $1")
            .bind(user_id)
            .bind(required)
            .execute(p)
            .await?
            .rows_affected());
        if done == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    /// Gives the person `role` in the organisation, or removes them from it (`None`).
    pub async fn set_membership(
        &self,
        user_id: i64,
        org_id: i64,
        role: Option<&str>,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("DELETE FROM memberships WHERE user_id = $1 AND org_id = $2")
                .bind(user_id)
                .bind(org_id)
                .execute(&mut *tx)
                .await?;
            if let Some(role) = role {
                sqlx::query("INSERT INTO memberships (user_id, org_id, role) VALUES ($1, $2, $3)")
                    .bind(user_id)
                    .bind(org_id)
                    .bind(role)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| constraint(e, "user or organisation"))?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// A person's organisations and roles: `(org_id, role)`.
    pub async fn memberships(&self, user_id: i64) -> Result<Vec<(i64, String)>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_as(
            "SELECT org_id, role FROM memberships WHERE user_id = $1 ORDER BY org_id",
        )
        .bind(user_id)
        .fetch_all(p)
        .await?))
    }

    /// The cases a person was added to: `(case_id, grant)`.
    pub async fn case_grants(&self, user_id: i64) -> Result<Vec<(i64, String)>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_as(
            "SELECT case_id, grant_ FROM case_grants WHERE user_id = $1 ORDER BY case_id",
        )
        .bind(user_id)
        .fetch_all(p)
        .await?))
    }

    /// Disables an account: its sessions end and its API tokens are revoked, in one commit.
    pub async fn disable_user(&self, user_id: i64, now: Timestamp) -> Result<(), StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let done = sqlx::query("UPDATE users SET disabled_at = $2 WHERE id = $1")
                .bind(user_id)
                .bind(ts_text(now))
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("user"));
            }
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(REVOKE_ALL_TOKENS)
                .bind(user_id)
                .bind(ts_text(now))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Makes the demo account `email` (or, if it exists from an earlier demo run, enables
    /// it again) with this password, no second factor and `roles` by organisation id; ends
    /// its earlier sessions. `Conflict` if a real account has the address: a demo never
    /// takes over a person's account.
    pub async fn upsert_demo_user(
        &self,
        email: &str,
        name: &str,
        password_hash: &str,
        roles: &[(i64, &str)],
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let email = email.trim().to_lowercase();
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let existing: Option<(i64, bool)> =
                sqlx::query_as("SELECT id, demo FROM users WHERE email = $1")
                    .bind(&email)
                    .fetch_optional(&mut *tx)
                    .await?;
            let id = match existing {
                Some((_, false)) => return Err(StoreError::Conflict("user".into())),
                Some((id, true)) => {
                    sqlx::query(
                        "UPDATE users SET password_hash = $2, name = $3, disabled_at = NULL, \
                         totp_required = FALSE, totp_secret = NULL, totp_last_step = NULL \
                         WHERE id = $1",
                    )
                    .bind(id)
                    .bind(password_hash)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                    for sql in [
                        "DELETE FROM sessions WHERE user_id = $1",
                        "DELETE FROM memberships WHERE user_id = $1",
                    ] {
                        sqlx::query(sql).bind(id).execute(&mut *tx).await?;
                    }
                    id
                }
                None => sqlx::query_scalar(
                    "INSERT INTO users (email, name, password_hash, admin, totp_required, \
                     created_at, demo) VALUES ($1, $2, $3, FALSE, FALSE, $4, TRUE) RETURNING id",
                )
                .bind(&email)
                .bind(name)
                .bind(password_hash)
                .bind(ts_text(now))
                .fetch_one(&mut *tx)
                .await?,
            };
            for (org_id, role) in roles {
                sqlx::query("INSERT INTO memberships (user_id, org_id, role) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(*org_id)
                    .bind(*role)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| constraint(e, "organisation"))?;
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Disables every enabled demo account (their passwords were printed on a console),
    /// ending their sessions and tokens. Returns how many were disabled.
    pub async fn disable_demo_users(&self, now: Timestamp) -> Result<usize, StoreError> {
        let ids: Vec<i64> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT id FROM users WHERE demo AND disabled_at IS NULL ORDER BY id",
        )
        .fetch_all(p)
        .await?);
        for id in &ids {
            self.disable_user(*id, now).await?;
        }
        Ok(ids.len())
    }

    /// Enables a disabled account again; its old sessions and tokens stay ended.
    pub async fn enable_user(&self, user_id: i64) -> Result<(), StoreError> {
        let done = on_pool!(self, p => sqlx::query("UPDATE users SET disabled_at = NULL WHERE id = $1")
            .bind(user_id)
            .execute(p)
            .await?
            .rows_affected());
        if done == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    /// Resets an account to a new password: second factor and recovery codes cleared
    /// (enrolled again at the next sign-in), every session ended and every API token
    /// revoked. A disabled account stays disabled: enabling is its own decision.
    pub async fn reset_user(
        &self,
        user_id: i64,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let done = sqlx::query(
                "UPDATE users SET password_hash = $2, totp_secret = NULL, totp_last_step = NULL \
                 WHERE id = $1",
            )
            .bind(user_id)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("user"));
            }
            for sql in [
                "DELETE FROM sessions WHERE user_id = $1",
                "DELETE FROM recovery_codes WHERE user_id = $1",
            ] {
                sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
            }
            sqlx::query(REVOKE_ALL_TOKENS)
                .bind(user_id)
                .bind(ts_text(now))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Sets a new password hash, ends every session of the account but `keep` (the one
    /// the change was made from) and revokes every API token, in one transaction.
    pub async fn change_password(
        &self,
        user_id: i64,
        password_hash: &str,
        keep: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                .bind(user_id)
                .bind(password_hash)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("user"));
            }
            sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
                .bind(user_id)
                .bind(keep.unwrap_or(""))
                .execute(&mut *tx)
                .await?;
            sqlx::query(REVOKE_ALL_TOKENS)
                .bind(user_id)
                .bind(ts_text(now))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Records a proven authenticator: its secret, the step just used, and fresh recovery
    /// codes (hashes) replacing any earlier ones.
    pub async fn enrol_totp(
        &self,
        user_id: i64,
        secret: &str,
        step: i64,
        recovery_code_hashes: &[String],
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("UPDATE users SET totp_secret = $2, totp_last_step = $3 WHERE id = $1")
                .bind(user_id)
                .bind(secret)
                .bind(step)
                .execute(&mut *tx)
                .await?;
            write_recovery_codes!(tx, user_id, recovery_code_hashes)?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Replaces a person's recovery codes (hashes) with fresh ones.
    pub async fn replace_recovery_codes(
        &self,
        user_id: i64,
        hashes: &[String],
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            write_recovery_codes!(tx, user_id, hashes)?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Accepts TOTP time step `step` unless it (or a later one) was already used: a code
    /// works once, even when two requests race with it.
    pub async fn accept_totp_step(&self, user_id: i64, step: i64) -> Result<bool, StoreError> {
        let done = on_pool!(self, p => sqlx::query(
            "UPDATE users SET totp_last_step = $2 \
             WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(user_id)
        .bind(step)
        .execute(p)
        .await?
        .rows_affected());
        Ok(done == 1)
    }

    /// Uses up a recovery code; false if it is not one of the person's unused codes.
    pub async fn use_recovery_code(
        &self,
        user_id: i64,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, p => sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 \
             WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(user_id)
        .bind(code_hash)
        .bind(ts_text(now))
        .execute(p)
        .await?
        .rows_affected());
        Ok(done == 1)
    }

    /// How many unused recovery codes a person has left.
    pub async fn recovery_codes_left(&self, user_id: i64) -> Result<i64, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(p)
        .await?))
    }

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
            let sessions = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let tokens = sqlx::query(REVOKE_ALL_TOKENS)
                .bind(user_id)
                .bind(ts_text(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
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

    /// Records reminder `key` of a case as sent and enqueues its `jobs`, in one
    /// transaction, unless it was sent before; returns whether it is new. Two reminder
    /// runs racing each other send it once: the primary key decides.
    pub async fn remind_once(
        &self,
        case_id: i64,
        key: &str,
        jobs: &[NewJob],
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let writes = JobWrites::new(jobs.to_vec(), now);
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let inserted = sqlx::query(
                "INSERT INTO reminders_sent (case_id, key, sent_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (case_id, key) DO NOTHING",
            )
            .bind(case_id)
            .bind(key)
            .bind(ts_text(now))
            .execute(&mut *tx)
            .await
            .map_err(|e| constraint(e, "case"))?
            .rows_affected();
            if inserted == 0 {
                return Ok(false);
            }
            write_jobs!(tx, Some(case_id), &writes)?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Cases declined as duplicates of `case_id` (see [`Effects::duplicate_of`]). The
    /// caller checks each log: a later reopen undoes the decline.
    ///
    /// [`Effects::duplicate_of`]: crate::Effects::duplicate_of
    pub async fn declared_duplicates(&self, case_id: i64) -> Result<Vec<i64>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_scalar(
            "SELECT case_id FROM case_duplicates WHERE duplicate_of = $1 ORDER BY case_id",
        )
        .bind(case_id)
        .fetch_all(p)
        .await?))
    }

    /// The organisation a case belongs to (through its product).
    pub async fn case_org(&self, case_id: i64) -> Result<Option<i64>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_scalar(
            "SELECT p.org_id FROM cases c JOIN products p ON p.id = c.product_id WHERE c.id = $1",
        )
        .bind(case_id)
        .fetch_optional(p)
        .await?))
    }

    /// Replaces a case's full-text rows and records the case it duplicates, if any (for
    /// `vulndesk admin rebuild`).
    pub async fn reindex_case(
        &self,
        case_id: i64,
        texts: &[(i64, bool, String)],
        duplicate_of: Option<i64>,
    ) -> Result<(), StoreError> {
        // The same writes a case append makes, for the events numbered `seqs`.
        let seqs: Vec<i64> = texts.iter().map(|(seq, _, _)| *seq).collect();
        let writes = TeamWrites {
            grants: Vec::new(),
            search: texts
                .iter()
                .enumerate()
                .map(|(event, (_, internal, body))| SearchText {
                    event,
                    internal: *internal,
                    body: body.clone(),
                })
                .collect(),
            duplicate_of,
        };
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("DELETE FROM case_search WHERE case_id = $1")
                .bind(case_id)
                .execute(&mut *tx)
                .await?;
            write_team!(tx, case_id, &seqs, &writes)?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// The dashboard: cases matching `q`, soonest deadline first (cases without one last),
    /// then newest.
    pub async fn list_cases(&self, q: &CaseQuery) -> Result<Vec<CaseListing>, StoreError> {
        let mut sql = String::from(concat!(
            "SELECT c.id, p.org_id, o.slug, c.product_id, p.slug, c.opened_at, ",
            "cp.state, cp.next_due, cp.next_due_kind, cp.title, cp.severity, cp.cvss, ",
            "cp.officer_id, c.policy_version_id FROM cases c ",
            "JOIN products p ON p.id = c.product_id ",
            "JOIN organisations o ON o.id = p.org_id ",
            "JOIN case_projections cp ON cp.case_id = c.id WHERE 1 = 1"
        ));
        // Every value is a bound parameter; only placeholders are formatted into the text.
        let mut placeholders = Placeholders::default();
        if let Some(v) = &q.visible {
            sql.push_str(" AND (p.org_id IN (");
            placeholders.ints(&mut sql, &v.org_ids);
            sql.push_str(") OR c.id IN (");
            placeholders.ints(&mut sql, &v.case_ids);
            sql.push_str("))");
        }
        if let Some(org) = q.org_id {
            sql.push_str(" AND p.org_id = ");
            placeholders.int(&mut sql, org);
        }
        if let Some(product) = q.product_id {
            sql.push_str(" AND c.product_id = ");
            placeholders.int(&mut sql, product);
        }
        if !q.states.is_empty() {
            sql.push_str(" AND cp.state IN (");
            placeholders.texts(&mut sql, &q.states);
            sql.push(')');
        }
        if let Some(severity) = &q.severity {
            sql.push_str(" AND cp.severity = ");
            placeholders.text(&mut sql, severity);
        }
        if let Some(day) = q.due_by {
            sql.push_str(" AND cp.next_due <= ");
            placeholders.text(&mut sql, &day.to_string());
        }
        if let Some(officer) = q.officer_id {
            sql.push_str(" AND cp.officer_id = ");
            placeholders.int(&mut sql, officer);
        }
        if let Some(text) = q.text.as_deref() {
            let query = match self {
                Store::Sqlite(_) => match fts5_query(text) {
                    Some(fts) => fts,
                    None => return Ok(Vec::new()),
                },
                Store::Postgres(_) => text.to_owned(),
            };
            // `c.id IN (<the cases whose text matches>)`, uncorrelated with the outer row so
            // that the full-text index is searched once, not once per case.
            let matching =
                |sql: &mut String, placeholders: &mut Placeholders, shared_only: bool| {
                    sql.push_str("c.id IN (SELECT s.case_id FROM case_search s WHERE ");
                    match self {
                        Store::Sqlite(_) => sql.push_str("s.body MATCH "),
                        Store::Postgres(_) => sql.push_str("s.doc @@ plainto_tsquery('simple', "),
                    }
                    placeholders.text(sql, &query);
                    if matches!(self, Store::Postgres(_)) {
                        sql.push(')');
                    }
                    if shared_only {
                        sql.push_str(match self {
                            Store::Sqlite(_) => " AND s.internal = 0",
                            Store::Postgres(_) => " AND NOT s.internal",
                        });
                    }
                    sql.push(')');
                };
            match (&q.visible, q.search_internal) {
                (_, false) => {
                    sql.push_str(" AND ");
                    matching(&mut sql, &mut placeholders, true);
                }
                (None, true) => {
                    sql.push_str(" AND ");
                    matching(&mut sql, &mut placeholders, false);
                }
                (Some(v), true) => {
                    // Shared text anywhere the person can see; notes only where they are
                    // on the team.
                    sql.push_str(" AND (");
                    matching(&mut sql, &mut placeholders, true);
                    sql.push_str(" OR (p.org_id IN (");
                    placeholders.ints(&mut sql, &v.note_org_ids);
                    sql.push_str(") AND ");
                    matching(&mut sql, &mut placeholders, false);
                    sql.push_str("))");
                }
            }
        }
        sql.push_str(
            " ORDER BY cp.next_due IS NULL, cp.next_due, c.opened_at DESC, c.id DESC LIMIT ",
        );
        placeholders.int(&mut sql, q.limit.max(1));
        sql.push_str(" OFFSET ");
        placeholders.int(&mut sql, q.offset.max(0));
        type Raw = (
            i64,
            i64,
            String,
            i64,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
            Option<i64>,
            i64,
        );
        let rows: Vec<Raw> = on_pool!(self, p => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
            for value in &placeholders.values {
                query = match value {
                    Value::Int(v) => query.bind(*v),
                    Value::Text(v) => query.bind(v.clone()),
                };
            }
            query.fetch_all(p).await?
        });
        rows.into_iter()
            .map(|r| {
                let projection = RawProjection {
                    state: r.6,
                    next_due: r.7,
                    next_due_kind: r.8,
                    title: r.9,
                    severity: r.10,
                    cvss: r.11,
                    officer_id: r.12,
                }
                .decode()?;
                Ok(CaseListing {
                    id: r.0,
                    org_id: r.1,
                    org_slug: r.2,
                    product_id: r.3,
                    product_slug: r.4,
                    opened_at: parse_ts(&r.5)?,
                    policy_version_id: r.13,
                    projection,
                })
            })
            .collect()
    }
}

enum Value {
    Int(i64),
    Text(String),
}

/// Numbered placeholders and the values bound to them, in order.
#[derive(Default)]
struct Placeholders {
    values: Vec<Value>,
}

impl Placeholders {
    fn push(&mut self, sql: &mut String, value: Value) {
        self.values.push(value);
        sql.push_str(&format!("${}", self.values.len()));
    }
    fn int(&mut self, sql: &mut String, v: i64) {
        self.push(sql, Value::Int(v));
    }
    fn text(&mut self, sql: &mut String, v: &str) {
        self.push(sql, Value::Text(v.to_owned()));
    }
    /// A comma-separated list; `NULL` for none, so `IN (NULL)` matches nothing.
    fn ints(&mut self, sql: &mut String, vs: &[i64]) {
        if vs.is_empty() {
            sql.push_str("NULL");
        }
        for (i, v) in vs.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            self.int(sql, *v);
        }
    }
    fn texts(&mut self, sql: &mut String, vs: &[String]) {
        for (i, v) in vs.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            self.text(sql, v);
        }
    }
}
