//! The IMAP poller: takes in the mail of an organisation's mailbox through the same
//! [`Intake`] as `vulndesk mail ingest`.
//!
//! A message is marked (`\Seen`, or moved to the processed mailbox) only after its case
//! write has committed, so a crash in between leaves it unmarked and it is taken in again;
//! the store recognises it as a duplicate, and marking it then completes the job. IDLE
//! (RFC 2177) is used when the server offers it, else the mailbox is polled.
//!
//! Nothing here logs a message's contents or a password: the log names mailboxes, UIDs
//! and case numbers only (and async-imap's own protocol trace is switched off in
//! `init_logging`).

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::types::Uid;
use futures_util::TryStreamExt;
use jiff::Timestamp;
use secrecy::ExposeSecret;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use vulndesk_mail::SecretString;
use vulndesk_store::Store;

use crate::CliError;
use crate::ingest::{Ingested, Intake};
use crate::mail_cmd::read_secret;

/// How long connecting, logging in and each command may take before the connection is
/// given up and opened again.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// RFC 2177 section 3: re-issue IDLE at least every 29 minutes.
const IDLE_RENEW: Duration = Duration::from_secs(29 * 60);
/// How long a stopping poller may take to finish the message in hand.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Waits after a failed connection: doubling from the first up to the last.
const RETRY_FIRST: Duration = Duration::from_secs(5);
const RETRY_MAX: Duration = Duration::from_secs(300);

/// The poller configuration file (`--mail-config`, `mail poll --config`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Seconds between polls of a server without IDLE, and between retries of messages that
    /// could not be stored.
    #[serde(default = "default_poll_seconds")]
    pub poll_seconds: u64,
    /// One entry per mailbox.
    #[serde(rename = "mailbox")]
    pub mailboxes: Vec<MailboxConfig>,
}

fn default_poll_seconds() -> u64 {
    60
}

/// One organisation mailbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxConfig {
    /// Organisation slug.
    pub org: String,
    /// Product slug for new reports (see `vulndesk mail ingest --product`).
    pub product: Option<String>,
    /// IMAP server host name (also the name its TLS certificate must carry).
    pub host: String,
    /// Default 993 for implicit TLS, else 143.
    pub port: Option<u16>,
    /// `none`, `starttls` or `implicit`.
    pub tls: Tls,
    /// Login name.
    pub username: String,
    /// File holding the password (one line); the password itself never goes in this file.
    pub password_file: PathBuf,
    /// The mailbox to take mail from.
    #[serde(default = "default_mailbox")]
    pub mailbox: String,
    /// Move taken-in messages there (created if missing); without it they are flagged
    /// `\Seen` and stay.
    pub processed_mailbox: Option<String>,
    /// PEM file of the certificates to trust instead of the built-in web PKI roots (a
    /// private CA or a self-signed server).
    pub ca_file: Option<PathBuf>,
}

fn default_mailbox() -> String {
    "INBOX".to_owned()
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    /// Plain text: only for a server on the same host or network namespace.
    None,
    /// STARTTLS (RFC 3501 section 6.2.1) on the plain port.
    Starttls,
    /// TLS from the first byte (port 993).
    Implicit,
}

impl Config {
    /// Reads and checks the file; errors name the file and the field.
    pub fn load(path: &Path) -> Result<Config, CliError> {
        let text = std::fs::read_to_string(path).map_err(|source| CliError::Io {
            path: path.to_owned(),
            source,
        })?;
        let config: Config = toml::from_str(&text)
            .map_err(|e| CliError::Invalid(format!("{}: {e}", path.display())))?;
        if config.mailboxes.is_empty() {
            return Err(CliError::Invalid(format!(
                "{}: no [[mailbox]] configured",
                path.display()
            )));
        }
        if config.poll_seconds == 0 {
            return Err(CliError::Invalid(format!(
                "{}: poll_seconds must be at least 1",
                path.display()
            )));
        }
        Ok(config)
    }
}

/// A mailbox ready to be polled: its settings, password, TLS setup and intake.
struct Poller {
    config: MailboxConfig,
    password: SecretString,
    tls: Option<TlsConnector>,
    intake: Intake,
    poll: Duration,
    /// `imap:<mailbox>`, the stored messages' source.
    source: String,
}

impl Poller {
    async fn new(
        store: &Store,
        config: &MailboxConfig,
        poll_seconds: u64,
        passphrase: Option<SecretString>,
    ) -> Result<Poller, CliError> {
        let password = read_secret(&config.password_file)?;
        let tls = match config.tls {
            Tls::None => None,
            Tls::Starttls | Tls::Implicit => Some(tls_connector(config.ca_file.as_deref())?),
        };
        let intake = Intake::new(
            store.clone(),
            &config.org,
            config.product.clone(),
            passphrase,
        )
        .await
        .map_err(|e| CliError::Environment(format!("mailbox {}: {e}", config.label())))?;
        if let Some(problem) = intake.key_problem() {
            tracing::warn!(org = %config.org, "encrypted mail will be stored unread: {problem}");
        }
        Ok(Poller {
            source: format!("imap:{}", config.mailbox),
            config: config.clone(),
            password,
            tls,
            intake,
            poll: Duration::from_secs(poll_seconds),
        })
    }
}

impl MailboxConfig {
    /// `user@host/mailbox`, for logs and errors (never the password).
    fn label(&self) -> String {
        format!("{}@{}/{}", self.username, self.host, self.mailbox)
    }

    fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            Tls::Implicit => 993,
            Tls::None | Tls::Starttls => 143,
        })
    }
}

fn tls_connector(ca_file: Option<&Path>) -> Result<TlsConnector, CliError> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            let pem = std::fs::read(path).map_err(|source| CliError::Io {
                path: path.to_owned(),
                source,
            })?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| {
                    CliError::Invalid(format!("{}: not a PEM certificate: {e}", path.display()))
                })?;
                roots.add(cert).map_err(|e| {
                    CliError::Invalid(format!("{}: unusable certificate: {e}", path.display()))
                })?;
            }
            if roots.is_empty() {
                return Err(CliError::Invalid(format!(
                    "{}: no certificate found",
                    path.display()
                )));
            }
        }
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CliError::Environment(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The transport under the IMAP session: one type for plain and TLS connections, because
/// a session is generic over it and STARTTLS changes it midway.
#[derive(Debug)]
enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

type Session = async_imap::Session<Transport>;

/// A failure of one connection; the poller reconnects after it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ImapError(String);

/// What failed, without what async-imap may quote: its parse and validation errors can
/// carry protocol bytes (message data, a character of the password).
fn imap_error(what: &str) -> impl FnOnce(async_imap::error::Error) -> ImapError + '_ {
    move |e| {
        use async_imap::error::Error;
        let detail = match &e {
            Error::Io(io) => format!("I/O error: {io}"),
            Error::Bad(text) => format!("server said BAD: {text}"),
            Error::No(text) => format!("server said NO: {text}"),
            Error::ConnectionLost => "connection lost".to_owned(),
            Error::Parse(_) => "unreadable server response".to_owned(),
            Error::Validate(_) => "a name or credential is not a valid IMAP string".to_owned(),
            _ => "IMAP failure".to_owned(),
        };
        ImapError(format!("{what}: {detail}"))
    }
}

async fn within<T, E>(
    what: &str,
    limit: Duration,
    fut: impl Future<Output = Result<T, E>>,
    describe: impl FnOnce(E) -> ImapError,
) -> Result<T, ImapError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result.map_err(describe),
        Err(_) => Err(ImapError(format!(
            "{what}: no answer within {} s",
            limit.as_secs()
        ))),
    }
}

/// An open, logged-in session with the mailbox selected.
struct Connected {
    session: Session,
    idle: bool,
    /// `MOVE` (RFC 6851) is offered.
    move_: bool,
    /// `UID EXPUNGE` (RFC 4315) is offered.
    uidplus: bool,
}

/// What one pass over the mailbox did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    /// Messages stored (new cases, joins and duplicates) and marked.
    pub taken_in: usize,
    /// Messages left in place to be tried again.
    pub failed: usize,
}

impl Poller {
    async fn connect(&self) -> Result<Connected, ImapError> {
        let cfg = &self.config;
        let address = (cfg.host.as_str(), cfg.port());
        let tcp = within(
            "connect",
            COMMAND_TIMEOUT,
            TcpStream::connect(address),
            |e| ImapError(format!("connect to {}:{}: {e}", cfg.host, cfg.port())),
        )
        .await?;
        let transport = match cfg.tls {
            Tls::Implicit => self.tls_wrap(tcp).await?,
            Tls::None | Tls::Starttls => Transport::Plain(tcp),
        };
        let mut client = async_imap::Client::new(transport);
        let greeting = within("greeting", COMMAND_TIMEOUT, client.read_response(), |e| {
            ImapError(format!("greeting: {e}"))
        })
        .await?;
        if greeting.is_none() {
            return Err(ImapError("the server closed the connection".to_owned()));
        }
        if cfg.tls == Tls::Starttls {
            within(
                "STARTTLS",
                COMMAND_TIMEOUT,
                client.run_command_and_check_ok("STARTTLS", None),
                imap_error("STARTTLS"),
            )
            .await?;
            let Transport::Plain(tcp) = client.into_inner() else {
                return Err(ImapError("STARTTLS on a TLS connection".to_owned()));
            };
            client = async_imap::Client::new(self.tls_wrap(tcp).await?);
        }
        let login = client.login(&cfg.username, self.password.expose_secret());
        let mut session = match tokio::time::timeout(COMMAND_TIMEOUT, login).await {
            Err(_) => return Err(ImapError("login: no answer".to_owned())),
            Ok(Err((e, _))) => return Err(imap_error("login")(e)),
            Ok(Ok(session)) => session,
        };
        let caps = within(
            "CAPABILITY",
            COMMAND_TIMEOUT,
            session.capabilities(),
            imap_error("CAPABILITY"),
        )
        .await?;
        if let Some(processed) = &cfg.processed_mailbox {
            // Usually it exists already, and the NO answer says so: not an error.
            let _ = within(
                "CREATE",
                COMMAND_TIMEOUT,
                session.create(processed),
                imap_error("CREATE"),
            )
            .await;
        }
        within(
            "SELECT",
            COMMAND_TIMEOUT,
            session.select(&cfg.mailbox),
            imap_error("SELECT"),
        )
        .await?;
        Ok(Connected {
            session,
            idle: caps.has_str("IDLE"),
            move_: caps.has_str("MOVE"),
            uidplus: caps.has_str("UIDPLUS"),
        })
    }

    async fn tls_wrap(&self, tcp: TcpStream) -> Result<Transport, ImapError> {
        let connector = self
            .tls
            .as_ref()
            .ok_or_else(|| ImapError("TLS is not configured".to_owned()))?;
        let name = ServerName::try_from(self.config.host.clone())
            .map_err(|e| ImapError(format!("host {:?}: {e}", self.config.host)))?;
        let tls = within(
            "TLS handshake",
            COMMAND_TIMEOUT,
            connector.connect(name, tcp),
            |e| ImapError(format!("TLS handshake: {e}")),
        )
        .await?;
        Ok(Transport::Tls(Box::new(tls)))
    }

    /// Takes in every waiting message: unseen ones, or all when taken-in mail is moved away
    /// (then a message someone read in a mail client is not skipped).
    async fn pass(&self, conn: &mut Connected) -> Result<PassReport, ImapError> {
        let query = if self.config.processed_mailbox.is_some() {
            "UNDELETED"
        } else {
            "UNSEEN UNDELETED"
        };
        let found = within(
            "SEARCH",
            COMMAND_TIMEOUT,
            conn.session.uid_search(query),
            imap_error("SEARCH"),
        )
        .await?;
        let mut uids: Vec<Uid> = found.into_iter().collect();
        uids.sort_unstable();
        let mut report = PassReport::default();
        for uid in uids {
            let Some(raw) = self.fetch(conn, uid).await? else {
                // Expunged meanwhile by another client.
                continue;
            };
            match self
                .intake
                .ingest(&raw, &self.source, Timestamp::now())
                .await
            {
                Ok(outcome) => {
                    // Logged as soon as it is stored: whoever sees the message marked finds
                    // the log line already written.
                    log_outcome(&self.config, uid, outcome);
                    self.mark(conn, uid).await?;
                    report.taken_in += 1;
                }
                Err(e) => {
                    report.failed += 1;
                    tracing::error!(mailbox = %self.config.label(), uid, error = %e, "message not stored; it stays in the mailbox and is tried again");
                    if e.is_outage() {
                        // The next messages would fail the same way.
                        break;
                    }
                }
            }
        }
        Ok(report)
    }

    async fn fetch(&self, conn: &mut Connected, uid: Uid) -> Result<Option<Vec<u8>>, ImapError> {
        // BODY.PEEK: fetching must not mark the message before it is stored.
        let fetches = within(
            "FETCH",
            COMMAND_TIMEOUT,
            async {
                conn.session
                    .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            },
            imap_error("FETCH"),
        )
        .await?;
        Ok(fetches
            .iter()
            .find(|f| f.uid == Some(uid))
            .or(fetches.first())
            .and_then(|f| f.body())
            .map(<[u8]>::to_vec))
    }

    /// Marks a stored message: moved to the processed mailbox, or flagged `\Seen`.
    async fn mark(&self, conn: &mut Connected, uid: Uid) -> Result<(), ImapError> {
        let set = uid.to_string();
        let session = &mut conn.session;
        let Some(target) = &self.config.processed_mailbox else {
            return self
                .store_flags(session, &set, "+FLAGS.SILENT (\\Seen)")
                .await;
        };
        if conn.move_ {
            return within(
                "MOVE",
                COMMAND_TIMEOUT,
                session.uid_mv(&set, target),
                imap_error("MOVE"),
            )
            .await;
        }
        within(
            "COPY",
            COMMAND_TIMEOUT,
            session.uid_copy(&set, target),
            imap_error("COPY"),
        )
        .await?;
        self.store_flags(session, &set, "+FLAGS.SILENT (\\Seen \\Deleted)")
            .await?;
        // Without UIDPLUS, EXPUNGE also removes what others flagged \Deleted in this
        // mailbox; that is what \Deleted asks for anyway.
        within(
            "EXPUNGE",
            COMMAND_TIMEOUT,
            async {
                if conn.uidplus {
                    session
                        .uid_expunge(&set)
                        .await?
                        .try_collect::<Vec<_>>()
                        .await
                } else {
                    session.expunge().await?.try_collect::<Vec<_>>().await
                }
            },
            imap_error("EXPUNGE"),
        )
        .await
        .map(drop)
    }

    async fn store_flags(
        &self,
        session: &mut Session,
        set: &str,
        flags: &str,
    ) -> Result<(), ImapError> {
        within(
            "STORE",
            COMMAND_TIMEOUT,
            async {
                session
                    .uid_store(set, flags)
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            },
            imap_error("STORE"),
        )
        .await
        .map(drop)
    }

    /// Waits for new mail (IDLE) or for the poll interval (also when messages wait for a
    /// retry: IDLE would only wake for new mail); `false` when asked to stop.
    async fn wait(
        &self,
        conn: Connected,
        stop: &mut watch::Receiver<bool>,
        retry_soon: bool,
    ) -> Result<(Connected, bool), ImapError> {
        tracing::debug!(mailbox = %self.config.label(), idle = conn.idle && !retry_soon, "waiting for new mail");
        if !conn.idle || retry_soon {
            let stopped = tokio::select! {
                _ = tokio::time::sleep(self.poll) => false,
                _ = stop.changed() => true,
            };
            return Ok((conn, !stopped));
        }
        let Connected {
            session,
            idle,
            move_,
            uidplus,
        } = conn;
        let mut handle = session.idle();
        within("IDLE", COMMAND_TIMEOUT, handle.init(), imap_error("IDLE")).await?;
        let (waiting, interrupt) = handle.wait_with_timeout(IDLE_RENEW);
        // Whatever woke it (new mail, an expunge, the renewal timeout), the next pass looks.
        let woke = tokio::select! {
            r = waiting => Some(r),
            _ = stop.changed() => None,
        };
        drop(interrupt);
        let go_on = match woke {
            None => false,
            Some(r) => {
                let _: IdleResponse = r.map_err(imap_error("IDLE"))?;
                true
            }
        };
        let session = within("DONE", COMMAND_TIMEOUT, handle.done(), imap_error("DONE")).await?;
        let conn = Connected {
            session,
            idle,
            move_,
            uidplus,
        };
        Ok((conn, go_on))
    }

    /// Connects, takes in what is waiting, waits for more, and so on until `stop`; a
    /// failed connection is opened again after a growing pause.
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut pause = RETRY_FIRST;
        loop {
            if *stop.borrow() {
                return;
            }
            // A stop is noticed between messages and while waiting; a poller busy
            // connecting or storing gets a grace period, then is dropped (a store write cut
            // off is rolled back, an unmarked message is a duplicate next time).
            let mut stopping = stop.clone();
            let outcome = tokio::select! {
                r = self.session_loop(&mut stop) => r,
                _ = async {
                    let _ = stopping.wait_for(|stop| *stop).await;
                    tokio::time::sleep(STOP_GRACE).await;
                } => return,
            };
            match outcome {
                Ok(()) => return,
                Err(e) => {
                    tracing::error!(mailbox = %self.config.label(), error = %e, "IMAP connection failed; reconnecting in {} s", pause.as_secs());
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {},
                _ = stop.changed() => return,
            }
            pause = (pause * 2).min(RETRY_MAX);
        }
    }

    async fn session_loop(&self, stop: &mut watch::Receiver<bool>) -> Result<(), ImapError> {
        let mut conn = self.connect().await?;
        tracing::info!(mailbox = %self.config.label(), idle = conn.idle, "taking in mail");
        loop {
            let report = self.pass(&mut conn).await?;
            let go_on;
            (conn, go_on) = self.wait(conn, stop, report.failed > 0).await?;
            if !go_on {
                let _ = tokio::time::timeout(COMMAND_TIMEOUT, conn.session.logout()).await;
                return Ok(());
            }
        }
    }

    /// One connection, one pass, logout.
    async fn once(&self) -> Result<PassReport, ImapError> {
        let mut conn = self.connect().await?;
        let report = self.pass(&mut conn).await?;
        let _ = tokio::time::timeout(COMMAND_TIMEOUT, conn.session.logout()).await;
        Ok(report)
    }
}

fn log_outcome(config: &MailboxConfig, uid: Uid, outcome: Ingested) {
    let mailbox = config.label();
    match outcome {
        Ingested::Opened { case_id, receipt } => {
            tracing::info!(%mailbox, uid, case = case_id, receipt, "new case from mail");
        }
        Ingested::Joined { case_id } => {
            tracing::info!(%mailbox, uid, case = case_id, "mail joined case");
        }
        Ingested::Duplicate { case_id } => {
            tracing::info!(%mailbox, uid, case = ?case_id, "mail already ingested");
        }
    }
}

async fn pollers(
    store: &Store,
    config: &Config,
    passphrase: Option<SecretString>,
) -> Result<Vec<Poller>, CliError> {
    let mut out = Vec::with_capacity(config.mailboxes.len());
    for mailbox in &config.mailboxes {
        out.push(Poller::new(store, mailbox, config.poll_seconds, passphrase.clone()).await?);
    }
    Ok(out)
}

/// `vulndesk mail poll --once`: every mailbox once. Fails if a mailbox could not be read or
/// a message could not be stored (it stays in its mailbox for the next run).
pub async fn poll_once(
    store: &Store,
    config: &Config,
    passphrase: Option<SecretString>,
) -> Result<(), CliError> {
    let mut problems = Vec::new();
    for poller in pollers(store, config, passphrase).await? {
        let label = poller.config.label();
        match poller.once().await {
            Ok(report) => {
                crate::server_cmd::announce(&format!(
                    "{label}: {} taken in, {} left to retry",
                    report.taken_in, report.failed
                ))?;
                if report.failed > 0 {
                    problems.push(format!("{label}: {} messages not stored", report.failed));
                }
            }
            Err(e) => problems.push(format!("{label}: {e}")),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::Environment(problems.join("; ")))
    }
}

/// Running pollers, one task per mailbox.
pub struct Pollers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Pollers {
    /// Checks every mailbox's settings (password file, organisation, product, key) and
    /// starts polling them.
    pub async fn start(
        store: &Store,
        config: &Config,
        passphrase: Option<SecretString>,
    ) -> Result<Pollers, CliError> {
        let (stop, stopped) = watch::channel(false);
        let tasks = pollers(store, config, passphrase)
            .await?
            .into_iter()
            .map(|p| tokio::spawn(p.run(stopped.clone())))
            .collect();
        Ok(Pollers { stop, tasks })
    }

    /// Asks every poller to stop after the message in hand and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
