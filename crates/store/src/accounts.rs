//! Accounts: people, their organisation roles and per-case grants, passwords, second
//! factors (TOTP steps and recovery codes), and the demo accounts of `serve --demo`.
//!
//! Passwords and recovery codes arrive here already hashed by the caller (argon2id for
//! passwords, SHA-256 for the high-entropy random codes), so the database holds neither. The
//! TOTP secret is stored as given: checking a code needs it.

use jiff::Timestamp;

use crate::sessions::sign_out;
use crate::{Store, StoreError, WritePool, constraint, parse_opt_ts, parse_ts, ts_text};

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
            sign_out!(tx, user_id, None, now)?;
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
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sign_out!(tx, user_id, None, now)?;
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
            sign_out!(tx, user_id, keep, now)?;
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
}
