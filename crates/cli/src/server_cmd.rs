//! `vulndesk serve` and `vulndesk init`: open (and migrate) the database, load policies,
//! run the web server.

use std::io::Write;
use std::path::PathBuf;
use vulndesk_core::email::EmailAddress;

use jiff::Timestamp;
use vulndesk_core::policy::Policy;
use vulndesk_store::{SqliteSync, Store, StoreOptions};

use vulndesk_mail::outbox::{RetryPolicy, Worker};

use crate::CliError;

/// How often the outbox worker looks for due mail.
const OUTBOX_POLL: std::time::Duration = std::time::Duration::from_secs(2);

const DEFAULT_DB: &str = "sqlite://vulndesk.db";
const DB_ENV: &str = "VULNDESK_DB";

/// Where the database is.
#[derive(clap::Args)]
pub struct DbArgs {
    /// Database URL: sqlite://FILE or postgres://USER@HOST:PORT/DB. Also read from
    /// VULNDESK_DB; default sqlite://vulndesk.db.
    #[arg(long, value_name = "URL")]
    db: Option<String>,
    /// SQLite durability. `full` (the default) syncs every commit to disk, so a report
    /// acknowledged with 201 survives a power cut; `normal` may lose the last commits.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = Synchronous::Full)]
    sqlite_synchronous: Synchronous,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Synchronous {
    Full,
    Normal,
}

impl DbArgs {
    fn url(&self) -> String {
        self.db
            .clone()
            .or_else(|| std::env::var(DB_ENV).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| DEFAULT_DB.to_owned())
    }
}

/// `vulndesk serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Load the five reference policies, sample cases (into an empty database) and a demo
    /// team (an officer, a member and a reviewer with printed passwords). Without it, the
    /// demo accounts of an earlier demo run are disabled.
    #[arg(long)]
    demo: bool,
    /// With --demo: the sample data without the demo team (for scripted tests, whose
    /// reminders and notices must reach only the accounts they made).
    #[arg(long, requires = "demo")]
    no_demo_accounts: bool,
    /// Deliver queued mail through this SMTP server: smtp://host:port (plain),
    /// smtp://host:port?tls=required (STARTTLS) or smtps://host:port (implicit TLS).
    /// Also read from VULNDESK_SMTP_URL. Without it mail waits in the outbox.
    #[arg(long, value_name = "URL")]
    smtp_url: Option<String>,
    #[command(flatten)]
    mail: crate::mail_cmd::ServeMailArgs,
    #[command(flatten)]
    public: DeskAddresses,
}

/// Where people reach the desk, and where its mail to the team comes from.
#[derive(clap::Args)]
pub struct DeskAddresses {
    /// The address people reach the desk at, e.g. https://security.example.org: links in
    /// team mail use it, and with https:// the session cookie is marked Secure. Also read
    /// from VULNDESK_PUBLIC_URL.
    #[arg(long = "public-url", value_name = "URL")]
    url: Option<String>,
    /// The sender of mail to the team (reminders, mentions, undecryptable mail). Also read
    /// from VULNDESK_MAIL_FROM. Default: each organisation's mailto: contact, else
    /// vulndesk@localhost.
    #[arg(long = "mail-from", value_name = "ADDRESS")]
    mail_from: Option<String>,
}

impl DeskAddresses {
    /// The configured sender of team mail; an address that does not parse is refused
    /// rather than quietly replaced by the policy's contact.
    pub(crate) fn mail_from(&self) -> Result<Option<EmailAddress>, CliError> {
        self.mail_from
            .clone()
            .or_else(|| std::env::var(crate::ingest::MAIL_FROM_ENV).ok())
            .filter(|f| !f.trim().is_empty())
            .map(|f| {
                EmailAddress::parse(&f).map_err(|e| CliError::Usage(format!("--mail-from: {e}")))
            })
            .transpose()
    }

    pub(crate) fn get(&self) -> Result<Option<String>, CliError> {
        let url = self
            .url
            .clone()
            .or_else(|| std::env::var("VULNDESK_PUBLIC_URL").ok())
            .filter(|u| !u.trim().is_empty());
        match url {
            Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => {
                Err(CliError::Usage(format!(
                    "--public-url {u:?}: expected an http:// or https:// address"
                )))
            }
            other => Ok(other),
        }
    }
}

/// `vulndesk init`.
#[derive(clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Load the five reference policies and, into an empty database, sample cases.
    #[arg(long)]
    demo: bool,
    /// Policy files to load: each one's organisation and products are created or renamed,
    /// and a new policy version is stored when the text changed.
    #[arg(long = "policy", value_name = "FILE", num_args = 1..)]
    policies: Vec<PathBuf>,
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Environment(format!("cannot start the async runtime: {e}")))
}

pub(crate) fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("VULNDESK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // async-imap traces protocol lines, LOGIN passwords and message bodies included: never
    // logged, whatever VULNDESK_LOG asks for.
    let filter = match "async_imap=off".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    // Logs go to stderr: stdout carries the lines scripts read (the bound address).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Connects and applies pending migrations. The URL is not echoed in errors: it may carry
/// a password.
pub(crate) async fn open(db: &DbArgs) -> Result<Store, CliError> {
    let options = StoreOptions {
        synchronous: match db.sqlite_synchronous {
            Synchronous::Full => SqliteSync::Full,
            Synchronous::Normal => SqliteSync::Normal,
        },
        ..StoreOptions::default()
    };
    let store = Store::connect(&db.url(), &options)
        .await
        .map_err(|e| CliError::Environment(format!("cannot open the database: {e}")))?;
    store
        .migrate()
        .await
        .map_err(|e| CliError::Environment(format!("cannot migrate the database: {e}")))?;
    finish_migration(&store).await?;
    Ok(store)
}

/// What a migration asked for beyond SQL: projections recomputed from the logs when the
/// rules deriving them changed, so a projection always equals a rebuild. Done once, by
/// whichever command opens the database first; doing it twice is harmless.
async fn finish_migration(store: &Store) -> Result<(), CliError> {
    const REBUILD: &str = "rebuild-projections";
    if !store
        .maintenance_requested(REBUILD)
        .await
        .map_err(store_error)?
    {
        return Ok(());
    }
    let rebuilt = vulndesk_desk::Desk::new(store.clone())
        .rebuild_projections()
        .await
        .map_err(|e| {
            CliError::Environment(format!("rebuilding projections after the upgrade: {e}"))
        })?;
    if rebuilt.corrected > 0 {
        tracing::info!(
            cases = rebuilt.cases,
            corrected = rebuilt.corrected,
            "projections recomputed after the upgrade"
        );
    }
    store.maintenance_done(REBUILD).await.map_err(store_error)
}

pub(crate) fn store_error(e: vulndesk_store::StoreError) -> CliError {
    CliError::Environment(format!("database: {e}"))
}

/// What loading one policy did.
pub(crate) struct Loaded {
    pub(crate) organisation: String,
    pub(crate) version: i64,
    pub(crate) created: bool,
}

/// Stores a parsed policy: its organisation, a version (new only if `source` changed) and
/// its products.
pub(crate) async fn store_policy(
    store: &Store,
    policy: &Policy,
    source: &str,
) -> Result<Loaded, CliError> {
    let org = &policy.organisation;
    let org_id = store
        .upsert_organisation(org.slug.as_str(), &org.name)
        .await
        .map_err(store_error)?;
    let before = store.latest_policy(org_id).await.map_err(store_error)?;
    let version = store
        .add_policy_version(org_id, source, Timestamp::now())
        .await
        .map_err(store_error)?;
    // Products after the version, so a product never exists without a policy to pin.
    for product in &policy.products {
        store
            .upsert_product(org_id, product.slug.as_str(), &product.name)
            .await
            .map_err(store_error)?;
    }
    Ok(Loaded {
        organisation: org.slug.to_string(),
        version: version.version,
        created: before.is_none_or(|b| b.id != version.id),
    })
}

/// Runs the server until SIGTERM or Ctrl-C.
pub fn serve(args: ServeArgs) -> Result<(), CliError> {
    init_logging();
    runtime()?.block_on(async {
        let store = open(&args.db).await?;
        let demo = if args.demo {
            let mut demo = crate::demo::load(&store).await?;
            if !args.no_demo_accounts {
                crate::demo::accounts(&store, &mut demo).await?;
                crate::demo::walk(&store, &mut demo).await?;
            }
            Some(demo)
        } else {
            crate::demo::retire_accounts(&store).await?;
            None
        };
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| CliError::Environment(format!("cannot listen on {}: {e}", args.listen)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| CliError::Environment(format!("cannot read the bound address: {e}")))?;
        let outbox = match args
            .smtp_url
            .or_else(|| std::env::var("VULNDESK_SMTP_URL").ok())
            .filter(|u| !u.is_empty())
        {
            None => {
                tracing::warn!("no SMTP server configured (--smtp-url): mail stays queued");
                None
            }
            Some(url) => {
                let worker = Worker::new(store.clone(), &url, RetryPolicy::default())
                    .map_err(|e| CliError::Usage(e.to_string()))?;
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                let task = tokio::spawn(worker.run(OUTBOX_POLL, async {
                    let _ = stopped.await;
                }));
                Some((stop, task))
            }
        };
        let public_url = args.public.get()?;
        let mail_from = args.public.mail_from()?;
        let reminders = reminder_interval()?.map(|every| {
            let desk = vulndesk_desk::Desk::new(store.clone())
                .with_public_url(public_url.clone())
                .with_mail_from(mail_from.clone());
            let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        () = tokio::time::sleep(every) => {}
                    }
                    match desk.remind(Timestamp::now()).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(reminders = n, "reminders queued"),
                        Err(e) => tracing::warn!(error = %e, "reminders not sent this time"),
                    }
                }
            });
            (stop, task)
        });
        let mail = crate::mail_cmd::start_serving(&store, &args.mail).await?;
        if let Some(demo) = &demo {
            let base = public_url
                .clone()
                .unwrap_or_else(|| format!("http://{addr}"));
            for line in crate::demo::welcome(&base, demo) {
                announce(&line)?;
            }
        }
        announce(&format!("listening on http://{addr}"))?;
        let state = vulndesk_web::AppState::new(store.clone())
            .with_public_url(public_url)
            .with_mail_from(mail_from)
            .with_wkd_origin(crate::party_cmd::wkd_origin())
            .with_cve_services(crate::advisory_cmd::cve_services_from_env()?);
        let served = vulndesk_web::serve(listener, state).await;
        if let Some(pollers) = mail {
            pollers.stop().await;
        }
        if let Some((stop, task)) = reminders {
            let _ = stop.send(());
            let _ = task.await;
        }
        if let Some((stop, task)) = outbox {
            let _ = stop.send(());
            let _ = task.await;
        }
        served.map_err(|e| CliError::Environment(format!("server failed: {e}")))?;
        store.close().await;
        Ok(())
    })
}

/// How often reminders are looked for: `VULNDESK_REMINDER_SECONDS` (default 300; `off`
/// turns them off, for a desk whose reminders another process sends).
fn reminder_interval() -> Result<Option<std::time::Duration>, CliError> {
    match std::env::var("VULNDESK_REMINDER_SECONDS")
        .ok()
        .as_deref()
        .map(str::trim)
    {
        None | Some("") => Ok(Some(std::time::Duration::from_secs(300))),
        Some("off") => Ok(None),
        Some(n) => match n.parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(Some(std::time::Duration::from_secs(secs))),
            _ => Err(CliError::Usage(format!(
                "VULNDESK_REMINDER_SECONDS={n:?}: expected a number of seconds above 0, or off"
            ))),
        },
    }
}

/// Prints a line on stdout and flushes it at once: scripts and tests wait for it.
pub(crate) fn announce(line: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Environment(format!("cannot write to stdout: {e}")))
}

/// Creates or migrates the database, loads the policies given, and exits.
pub fn init(args: InitArgs) -> Result<(), CliError> {
    // Every file is checked before the database is touched, so one bad file loads nothing.
    let policies = args
        .policies
        .iter()
        .map(|path| crate::policy_cmd::load(path))
        .collect::<Result<Vec<_>, _>>()?;
    runtime()?.block_on(async {
        let store = open(&args.db).await?;
        for (path, (policy, source)) in args.policies.iter().zip(&policies) {
            let loaded = store_policy(&store, policy, source).await?;
            announce(&format!(
                "{}: {} policy version {} ({})",
                path.display(),
                loaded.organisation,
                loaded.version,
                if loaded.created {
                    "stored"
                } else {
                    "unchanged"
                }
            ))?;
        }
        if args.demo {
            let demo = crate::demo::load(&store).await?;
            for (id, what, token) in &demo.cases {
                announce(&format!("demo case {id} ({what}): token {token}"))?;
            }
        }
        store.close().await;
        Ok(())
    })
}
