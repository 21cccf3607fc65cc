//! `vulndesk mail`: take in mail (one message from an MTA's pipe, or IMAP mailboxes) and
//! manage the organisations' OpenPGP keys. Wiring is described in `docs/intake.md`.

use std::io::Read;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use vulndesk_core::policy::Policy;
use vulndesk_mail::SecretString;
use vulndesk_mail::openpgp::OrgKey;
use vulndesk_store::{Organisation, Store};

use crate::CliError;
use crate::imap;
use crate::ingest::{IngestError, Ingested, Intake};
use crate::server_cmd::{DbArgs, announce, init_logging, open, runtime, store_error};

/// The largest message `mail ingest` reads; MTAs enforce a smaller limit of their own
/// (Postfix's message_size_limit is 10 MB by default).
const MAX_MESSAGE_BYTES: u64 = 64 << 20;
/// The mailbox configuration of `vulndesk serve` when `--mail-config` is not given.
const MAIL_CONFIG_ENV: &str = "VULNDESK_MAIL_CONFIG";
/// Where the organisation key's passphrase comes from when no file is named.
pub const PASSPHRASE_ENV: &str = "VULNDESK_KEY_PASSPHRASE";

/// `vulndesk mail ...`.
#[derive(clap::Subcommand)]
pub enum MailCommand {
    /// Store one RFC 5322 message read from standard input (for an MTA's pipe transport).
    /// Exits 0 once it is stored (also when it was stored before), 75 (EX_TEMPFAIL) when it
    /// could not be stored, so the MTA keeps it and retries.
    Ingest(IngestArgs),
    /// Take in the mail of the IMAP mailboxes named in a configuration file.
    Poll(PollArgs),
    /// Generate, import or export an organisation's OpenPGP key.
    #[command(subcommand)]
    Key(KeyCommand),
}

/// Where the organisation key's passphrase is read from. It is never a command-line value:
/// those are visible to every user of the machine (`ps`).
#[derive(clap::Args, Clone)]
pub struct PassphraseArgs {
    /// File holding the passphrase of the organisation key (one line). Without it, the
    /// passphrase is read from VULNDESK_KEY_PASSPHRASE.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

impl PassphraseArgs {
    /// The configured passphrase, if any.
    pub fn load(&self) -> Result<Option<SecretString>, CliError> {
        if let Some(path) = &self.passphrase_file {
            return read_secret(path).map(Some);
        }
        Ok(std::env::var(PASSPHRASE_ENV)
            .ok()
            .filter(|v| !v.is_empty())
            .map(SecretString::from))
    }

    fn require(&self) -> Result<SecretString, CliError> {
        self.load()?.ok_or_else(|| {
            CliError::Usage(format!(
                "the organisation key needs a passphrase: set {PASSPHRASE_ENV} or use --passphrase-file FILE"
            ))
        })
    }
}

/// A one-line secret from a file: the line without its line ending.
pub(crate) fn read_secret(path: &Path) -> Result<SecretString, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Io {
        path: path.to_owned(),
        source,
    })?;
    let line = text.strip_suffix('\n').unwrap_or(&text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return Err(CliError::Usage(format!(
            "{}: the file is empty",
            path.display()
        )));
    }
    Ok(SecretString::from(line.to_owned()))
}

/// `vulndesk mail ingest`.
#[derive(clap::Args)]
pub struct IngestArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The organisation (slug) the mailbox belongs to.
    #[arg(long, value_name = "SLUG")]
    org: String,
    /// The product (slug) new reports are filed under. Default: the organisation's only
    /// product; with several, the policy's first, noted on the case.
    #[arg(long, value_name = "SLUG")]
    product: Option<String>,
    #[command(flatten)]
    passphrase: PassphraseArgs,
}

/// `vulndesk mail poll`.
#[derive(clap::Args)]
pub struct PollArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The mailbox configuration (TOML, see docs/intake.md).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Take in what is there now and exit, instead of waiting for new mail.
    #[arg(long)]
    once: bool,
    #[command(flatten)]
    passphrase: PassphraseArgs,
}

/// The mail options of `vulndesk serve`.
#[derive(clap::Args)]
pub struct ServeMailArgs {
    /// Take in the mail of the IMAP mailboxes in this configuration file (TOML, see
    /// docs/intake.md) while serving. Also read from VULNDESK_MAIL_CONFIG.
    #[arg(long, value_name = "FILE")]
    mail_config: Option<PathBuf>,
    #[command(flatten)]
    passphrase: PassphraseArgs,
}

/// `vulndesk mail key ...`.
#[derive(clap::Subcommand)]
pub enum KeyCommand {
    /// Generate the organisation's key pair (Ed25519 + Cv25519), store it protected by the
    /// passphrase, and print its fingerprint and public key.
    Generate(KeyArgs),
    /// Import the organisation's secret key from an ASCII-armoured file (e.g. from
    /// `gpg --export-secret-keys --armor`); it is stored protected by the passphrase.
    Import {
        #[command(flatten)]
        key: KeyArgs,
        /// The armoured secret key.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print the organisation's public key (ASCII-armoured).
    Export {
        #[command(flatten)]
        db: DbArgs,
        /// The organisation (slug).
        #[arg(long, value_name = "SLUG")]
        org: String,
    },
}

/// What `key generate` and `key import` need.
#[derive(clap::Args)]
pub struct KeyArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The organisation (slug).
    #[arg(long, value_name = "SLUG")]
    org: String,
    #[command(flatten)]
    passphrase: PassphraseArgs,
    /// Replace the organisation's existing key. Mail encrypted to the old key can then no
    /// longer be read by Vulndesk: keep an export of it.
    #[arg(long)]
    replace: bool,
}

/// Runs a `vulndesk mail` command.
pub fn run(cmd: MailCommand) -> Result<(), CliError> {
    match cmd {
        MailCommand::Ingest(args) => match ingest_stdin(args) {
            Ok(()) => Ok(()),
            Err(Failure::Permanent(e)) => Err(e),
            Err(Failure::Temporary(why)) => Err(CliError::TempFail(format!(
                "{why}; not stored, the MTA should retry"
            ))),
        },
        MailCommand::Poll(args) => poll(args),
        MailCommand::Key(cmd) => key(cmd),
    }
}

/// Why `mail ingest` did not store a message: a permanent failure bounces it, a temporary
/// one makes the MTA retry.
enum Failure {
    Permanent(CliError),
    Temporary(String),
}

impl From<IngestError> for Failure {
    fn from(e: IngestError) -> Self {
        // A configuration mistake is temporary too: the message waits in the MTA's queue
        // until the operator fixes it, instead of bouncing a report back to its sender.
        Failure::Temporary(e.to_string())
    }
}

fn ingest_stdin(args: IngestArgs) -> Result<(), Failure> {
    init_logging();
    let passphrase = args
        .passphrase
        .load()
        .map_err(|e| Failure::Temporary(e.to_string()))?;
    let raw = read_message(std::io::stdin().lock())?;
    let received = Timestamp::now();
    let rt = runtime().map_err(|e| Failure::Temporary(e.to_string()))?;
    rt.block_on(async {
        let store = open(&args.db)
            .await
            .map_err(|e| Failure::Temporary(e.to_string()))?;
        let result = async {
            let intake = Intake::new(store.clone(), &args.org, args.product, passphrase).await?;
            intake.ingest(&raw, "pipe", received).await
        }
        .await;
        store.close().await;
        let line = match result? {
            Ingested::Opened { case_id, receipt } => format!(
                "case {case_id} opened{}",
                if receipt { ", receipt queued" } else { "" }
            ),
            Ingested::Joined { case_id } => format!("joined case {case_id}"),
            Ingested::Duplicate { case_id } => match case_id {
                Some(id) => format!("already ingested (case {id})"),
                None => "already ingested".to_owned(),
            },
        };
        announce(&line).map_err(Failure::Permanent)
    })
}

/// The whole message, up to the limit.
fn read_message(input: impl Read) -> Result<Vec<u8>, Failure> {
    let mut raw = Vec::new();
    input
        .take(MAX_MESSAGE_BYTES + 1)
        .read_to_end(&mut raw)
        .map_err(|e| {
            Failure::Temporary(format!("cannot read the message from standard input: {e}"))
        })?;
    if raw.len() as u64 > MAX_MESSAGE_BYTES {
        return Err(Failure::Permanent(CliError::Invalid(format!(
            "the message is larger than {MAX_MESSAGE_BYTES} bytes"
        ))));
    }
    if raw.is_empty() {
        return Err(Failure::Permanent(CliError::Invalid(
            "no message on standard input".to_owned(),
        )));
    }
    Ok(raw)
}

fn poll(args: PollArgs) -> Result<(), CliError> {
    init_logging();
    let config = imap::Config::load(&args.config)?;
    let passphrase = args.passphrase.load()?;
    runtime()?.block_on(async {
        let store = open(&args.db).await?;
        let result = if args.once {
            imap::poll_once(&store, &config, passphrase).await
        } else {
            let pollers = imap::Pollers::start(&store, &config, passphrase).await?;
            let stopped = shutdown_signal().await;
            pollers.stop().await;
            stopped
        };
        store.close().await;
        result
    })
}

/// Waits for SIGTERM or Ctrl-C.
async fn shutdown_signal() -> Result<(), CliError> {
    let signal_error =
        |e: std::io::Error| CliError::Environment(format!("cannot wait for signals: {e}"));
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).map_err(signal_error)?;
        tokio::select! {
            _ = terminate.recv() => {},
            r = tokio::signal::ctrl_c() => r.map_err(signal_error)?,
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.map_err(signal_error)?;
    tracing::info!("stopping the mail pollers");
    Ok(())
}

/// Starts the IMAP pollers of `vulndesk serve --mail-config`, if configured.
pub(crate) async fn start_serving(
    store: &Store,
    args: &ServeMailArgs,
) -> Result<Option<imap::Pollers>, CliError> {
    let path = args.mail_config.clone().or_else(|| {
        std::env::var_os(MAIL_CONFIG_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let Some(path) = path else {
        return Ok(None);
    };
    let config = imap::Config::load(&path)?;
    let passphrase = args.passphrase.load()?;
    imap::Pollers::start(store, &config, passphrase)
        .await
        .map(Some)
}

fn key(cmd: KeyCommand) -> Result<(), CliError> {
    runtime()?.block_on(async {
        match cmd {
            KeyCommand::Generate(args) => {
                let passphrase = args.passphrase.require()?;
                let (store, org) = open_org(&args.db, &args.org).await?;
                refuse_replacing(&store, &org, args.replace).await?;
                let user_id = key_user_id(&store, &org).await?;
                let key = OrgKey::generate(&user_id, &passphrase, Timestamp::now())
                    .map_err(|e| CliError::Environment(format!("cannot generate a key: {e}")))?;
                save_key(&store, &org, &key).await?;
                announce(&format!("fingerprint {}", key.fingerprint()))?;
                announce(key.public_armored().trim_end())?;
                store.close().await;
                Ok(())
            }
            KeyCommand::Import { key: args, file } => {
                let passphrase = args.passphrase.require()?;
                let armored = std::fs::read_to_string(&file).map_err(|source| CliError::Io {
                    path: file.clone(),
                    source,
                })?;
                let key = OrgKey::import(&armored, &passphrase)
                    .map_err(|e| CliError::Invalid(format!("{}: {e}", file.display())))?;
                let (store, org) = open_org(&args.db, &args.org).await?;
                refuse_replacing(&store, &org, args.replace).await?;
                save_key(&store, &org, &key).await?;
                announce(&format!("fingerprint {}", key.fingerprint()))?;
                store.close().await;
                Ok(())
            }
            KeyCommand::Export { db, org } => {
                let (store, org) = open_org(&db, &org).await?;
                let row = store.org_key(org.id).await.map_err(store_error)?;
                store.close().await;
                let row = row.ok_or_else(|| {
                    CliError::Usage(format!(
                        "organisation {} has no key (vulndesk mail key generate)",
                        org.slug
                    ))
                })?;
                announce(row.public_armored.trim_end())
            }
        }
    })
}

async fn open_org(db: &DbArgs, slug: &str) -> Result<(Store, Organisation), CliError> {
    let store = open(db).await?;
    let org = store
        .organisation_by_slug(slug)
        .await
        .map_err(store_error)?
        .ok_or_else(|| {
            CliError::Usage(format!(
                "no organisation {slug:?} in the database (load its policy with vulndesk init --policy FILE)"
            ))
        })?;
    Ok((store, org))
}

async fn refuse_replacing(
    store: &Store,
    org: &Organisation,
    replace: bool,
) -> Result<(), CliError> {
    match store.org_key(org.id).await.map_err(store_error)? {
        Some(existing) if !replace => Err(CliError::Usage(format!(
            "organisation {} already has key {}; mail encrypted to it can only be read with it. \
             Export it first, then use --replace",
            org.slug, existing.fingerprint
        ))),
        _ => Ok(()),
    }
}

/// `Name <security@example.org>` from the latest policy: what reporters see in their key
/// ring. Without a mailto: contact, the name alone.
async fn key_user_id(store: &Store, org: &Organisation) -> Result<String, CliError> {
    let latest = store.latest_policy(org.id).await.map_err(store_error)?;
    let policy = latest.and_then(|v| Policy::parse("latest policy", &v.source).ok());
    let address = policy.as_ref().and_then(|p| {
        p.organisation
            .contact
            .iter()
            .find_map(|c| c.strip_prefix("mailto:"))
            .map(|a| a.split('?').next().unwrap_or(a).to_owned())
    });
    let name = policy.map_or_else(|| org.name.clone(), |p| p.organisation.name);
    Ok(match address {
        Some(address) => format!("{name} <{address}>"),
        None => name,
    })
}

async fn save_key(store: &Store, org: &Organisation, key: &OrgKey) -> Result<(), CliError> {
    store
        .put_org_key(
            org.id,
            &key.fingerprint(),
            &key.public_armored(),
            key.secret_protected().as_bytes(),
            Timestamp::now(),
        )
        .await
        .map_err(store_error)
}
