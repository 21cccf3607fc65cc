//! `vulndesk user`: team accounts. Passwords and API tokens are generated here and shown
//! once; the database keeps only their hashes.

use std::io::Read;

use clap::Subcommand;
use jiff::Timestamp;
use vulndesk_core::access::{OrgRole, Scope};
use vulndesk_core::email::EmailAddress;
use vulndesk_desk::accounts;
use vulndesk_store::{NewUser, Store, StoreError, UserRow};

use crate::CliError;
use crate::server_cmd::{DbArgs, open, runtime};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account and print its first password (shown once).
    Add {
        /// The address the person signs in with.
        email: String,
        /// Their name as the team sees it.
        #[arg(long)]
        name: String,
        /// A role in an organisation, as ORG=ROLE (officer, member or reviewer); repeat
        /// for several organisations.
        #[arg(long = "member", value_name = "ORG=ROLE")]
        members: Vec<String>,
        /// Administers the installation (accounts, every case).
        #[arg(long)]
        admin: bool,
        /// Whether sign-in asks for an authenticator code. `auto`: for admins and
        /// officers.
        #[arg(long, value_enum, default_value_t = SecondFactor::Auto)]
        second_factor: SecondFactor,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Set a role in an organisation (`none` removes the person from it).
    Role {
        email: String,
        /// ORG=ROLE, ROLE being officer, member, reviewer or none.
        #[arg(value_name = "ORG=ROLE")]
        membership: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Disable an account: its sessions end and its API tokens stop working at once.
    Disable {
        email: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Enable a disabled account again. Its old sessions and API tokens stay ended.
    Enable {
        email: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Give an account a new password (printed once), clear its authenticator and
    /// recovery codes (enrolled again at the next sign-in), end its sessions and revoke
    /// its API tokens. A disabled account stays disabled (see `enable`).
    Reset {
        email: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Make an API token for automation, acting as this account within its scopes
    /// (printed once on standard output; its expiry goes to standard error).
    Token {
        email: String,
        /// What the token is for, e.g. "CI".
        #[arg(long)]
        name: String,
        /// `cases:read` or `cases:write` (which includes reading); repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Days until it expires, from 1 to 365.
        #[arg(long, default_value_t = accounts::API_TOKEN_DAYS)]
        days: i64,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List the accounts.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SecondFactor {
    Auto,
    Required,
    Off,
}

/// Records an administrator's action in the account log.
async fn audit(store: &Store, kind: &str, payload: serde_json::Value) -> Result<(), CliError> {
    store
        .append_account_event(kind, "cli", Timestamp::now(), &payload)
        .await
        .map(drop)
        .map_err(env_err)
}

fn env_err(e: impl std::fmt::Display) -> CliError {
    CliError::Environment(e.to_string())
}

fn membership(text: &str) -> Result<(String, Option<OrgRole>), CliError> {
    let (org, role) = text.split_once('=').ok_or_else(|| {
        CliError::Usage(format!(
            "{text:?}: expected ORG=ROLE, e.g. kamailio=officer"
        ))
    })?;
    let role = match role.trim() {
        "none" => None,
        r => Some(OrgRole::parse(r).ok_or_else(|| {
            CliError::Usage(format!(
                "{text:?}: unknown role {r:?}; roles are officer, member, reviewer"
            ))
        })?),
    };
    Ok((org.trim().to_owned(), role))
}

async fn org_id(store: &Store, slug: &str) -> Result<i64, CliError> {
    Ok(store
        .organisation_by_slug(slug)
        .await
        .map_err(env_err)?
        .ok_or_else(|| {
            CliError::Usage(format!(
                "no organisation {slug:?}; load its policy with `vulndesk init` first"
            ))
        })?
        .id)
}

async fn user(store: &Store, email: &str) -> Result<UserRow, CliError> {
    store
        .user_by_email(email)
        .await
        .map_err(env_err)?
        .ok_or_else(|| CliError::Usage(format!("no account {email:?}")))
}

/// The password to set: from standard input, or generated and printed.
fn password(from_stdin: bool) -> Result<(String, bool), CliError> {
    if !from_stdin {
        return Ok((accounts::generate_password().map_err(env_err)?, true));
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| CliError::Environment(format!("reading the password: {e}")))?;
    let text = text.trim_end_matches(['\n', '\r']).to_owned();
    if let Some(problem) = accounts::password_problem(&text) {
        return Err(CliError::Invalid(problem));
    }
    Ok((text, false))
}

pub fn run(cmd: UserCommand) -> Result<(), CliError> {
    runtime()?.block_on(async move {
        match cmd {
            UserCommand::Add {
                email,
                name,
                members,
                admin,
                second_factor,
                password_stdin,
                db,
            } => {
                let store = open(&db).await?;
                let members = members
                    .iter()
                    .map(|m| membership(m))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut orgs = Vec::new();
                for (slug, role) in &members {
                    let role = role.ok_or_else(|| {
                        CliError::Usage(format!("{slug}=none: a new account has no role to remove"))
                    })?;
                    orgs.push((org_id(&store, slug).await?, role));
                }
                let email = EmailAddress::parse(&email)
                    .map_err(|e| CliError::Usage(e.to_string()))?
                    .as_str()
                    .to_owned();
                let (password, generated) = password(password_stdin)?;
                let totp_required = match second_factor {
                    SecondFactor::Required => true,
                    SecondFactor::Off => false,
                    SecondFactor::Auto => {
                        admin || orgs.iter().any(|(_, r)| r.requires_second_factor())
                    }
                };
                let new = NewUser {
                    email: email.clone(),
                    name,
                    password_hash: accounts::hash_password(&password).map_err(env_err)?,
                    admin,
                    totp_required,
                };
                let id = match store.add_user(&new, Timestamp::now()).await {
                    Err(StoreError::Conflict(_)) => {
                        return Err(CliError::Usage(format!(
                            "an account {email:?} already exists"
                        )));
                    }
                    other => other.map_err(env_err)?,
                };
                for (org, role) in orgs {
                    store
                        .set_membership(id, org, Some(role.as_str()))
                        .await
                        .map_err(env_err)?;
                }
                let roles: Vec<String> = members
                    .iter()
                    .filter_map(|(slug, role)| Some(format!("{slug}={}", (*role)?.as_str())))
                    .collect();
                let payload = serde_json::json!({"user": id, "admin": admin, "roles": roles});
                audit(&store, "user_added", payload).await?;
                println!("created account {id} for {}", email.trim().to_lowercase());
                if totp_required {
                    println!("an authenticator is set up at the first sign-in");
                }
                if generated {
                    println!("password: {password}");
                    println!("(shown once; the person should keep it in a password manager)");
                }
                Ok(())
            }
            UserCommand::Role {
                email,
                membership: text,
                db,
            } => {
                let store = open(&db).await?;
                let (slug, role) = membership(&text)?;
                let org = org_id(&store, &slug).await?;
                let user = user(&store, &email).await?;
                store
                    .set_membership(user.id, org, role.map(OrgRole::as_str))
                    .await
                    .map_err(env_err)?;
                // Becoming an officer brings the second factor officers sign in with.
                if role.is_some_and(OrgRole::requires_second_factor) && !user.totp_required {
                    store
                        .set_totp_required(user.id, true)
                        .await
                        .map_err(env_err)?;
                    println!("an authenticator is set up at the next sign-in");
                }
                let payload = serde_json::json!({
                    "user": user.id,
                    "organisation": slug,
                    "role": role.map(OrgRole::as_str),
                });
                audit(&store, "role_changed", payload).await?;
                match role {
                    Some(r) => println!("{} is now {} of {slug}", user.email, r.as_str()),
                    None => println!("{} is no longer in {slug}", user.email),
                }
                Ok(())
            }
            UserCommand::Disable { email, db } => {
                let store = open(&db).await?;
                let user = user(&store, &email).await?;
                store
                    .disable_user(user.id, Timestamp::now())
                    .await
                    .map_err(env_err)?;
                audit(
                    &store,
                    "user_disabled",
                    serde_json::json!({"user": user.id}),
                )
                .await?;
                println!(
                    "disabled {}; its sessions and API tokens no longer work",
                    user.email
                );
                Ok(())
            }
            UserCommand::Enable { email, db } => {
                let store = open(&db).await?;
                let user = user(&store, &email).await?;
                store.enable_user(user.id).await.map_err(env_err)?;
                audit(&store, "user_enabled", serde_json::json!({"user": user.id})).await?;
                println!(
                    "enabled {}; its earlier sessions and API tokens stay ended",
                    user.email
                );
                Ok(())
            }
            UserCommand::Reset {
                email,
                password_stdin,
                db,
            } => {
                let store = open(&db).await?;
                let user = user(&store, &email).await?;
                let (password, generated) = password(password_stdin)?;
                let hash = accounts::hash_password(&password).map_err(env_err)?;
                store
                    .reset_user(user.id, &hash, Timestamp::now())
                    .await
                    .map_err(env_err)?;
                audit(&store, "user_reset", serde_json::json!({"user": user.id})).await?;
                println!(
                    "reset {}: sessions ended, API tokens revoked, authenticator and recovery \
                     codes cleared",
                    user.email
                );
                if user.disabled_at.is_some() {
                    println!(
                        "the account stays disabled; `vulndesk user enable {}` enables it",
                        user.email
                    );
                }
                if generated {
                    println!("password: {password}");
                }
                Ok(())
            }
            UserCommand::Token {
                email,
                name,
                scopes,
                days,
                db,
            } => {
                let store = open(&db).await?;
                let user = user(&store, &email).await?;
                for s in &scopes {
                    if Scope::parse(s).is_none() {
                        return Err(CliError::Usage(format!(
                            "unknown scope {s:?}; scopes are cases:read, cases:write"
                        )));
                    }
                }
                let now = Timestamp::now();
                let expires_at = accounts::api_token_expiry(now, Some(&days.to_string()))
                    .map_err(|e| CliError::Usage(format!("--days: {e}")))?;
                let token = accounts::new_api_token().map_err(env_err)?;
                let token_id = store
                    .add_api_token(
                        user.id,
                        &name,
                        &accounts::secret_hash(&token),
                        &scopes,
                        now,
                        expires_at,
                    )
                    .await
                    .map_err(env_err)?;
                let payload = serde_json::json!({
                    "user": user.id,
                    "token": token_id,
                    "scopes": scopes,
                    "expires_at": expires_at.to_string(),
                });
                audit(&store, "api_token_created", payload).await?;
                // Standard output carries the token alone, for `TOKEN=$(vulndesk user token ...)`.
                println!("{token}");
                eprintln!("expires {expires_at} (in {days} days)");
                Ok(())
            }
            UserCommand::List { db } => {
                let store = open(&db).await?;
                let slugs: std::collections::BTreeMap<i64, String> = store
                    .list_products()
                    .await
                    .map_err(env_err)?
                    .into_iter()
                    .map(|p| (p.org_id, p.org_slug))
                    .collect();
                for u in store.users().await.map_err(env_err)? {
                    let mut roles = Vec::new();
                    for (org, role) in store.memberships(u.id).await.map_err(env_err)? {
                        let org = slugs.get(&org).cloned().unwrap_or_else(|| org.to_string());
                        roles.push(format!("{org}={role}"));
                    }
                    println!(
                        "{}\t{}\t{}\t{}{}{}",
                        u.id,
                        u.email,
                        u.name,
                        roles.join(","),
                        if u.admin { "\tadmin" } else { "" },
                        if u.disabled_at.is_some() {
                            "\tdisabled"
                        } else {
                            ""
                        },
                    );
                }
                Ok(())
            }
        }
    })
}
