//! Mail intake test support: a desk loaded with reference policies, messages as reporters
//! send them, GnuPG as the reporter's side, and a real Dovecot as the organisation's IMAP
//! server.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
pub use vulndesk_mail::testing::Gpg;

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::process::Command;
use vulndesk_store::{JobRow, Store};

use crate::helpers::{BIN, TestDb, run_init};

/// The organisation the desk takes mail for (FreePBX: one product, a receipt text, a
/// mailto: contact, `acknowledge.by = "human"`).
pub const ORG: &str = "freepbx";
/// The passphrase of test keys, the organisation's and GnuPG's.
pub const PASSPHRASE: &str = vulndesk_mail::testing::TEST_PASSPHRASE;
/// The IMAP login's password.
pub const IMAP_PASSWORD: &str = "imap-secret-4711";
/// Longest wait for one `vulndesk` command.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);
/// The reference policies every desk loads.
const POLICIES: [&str; 3] = ["freepbx", "sangoma", "signalen"];

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Unique within the test process (names of files and directories).
fn unique() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// How mail reaches the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `vulndesk mail ingest` with the message on standard input, as from Postfix.
    Pipe,
    /// Into Dovecot's Maildir, then `vulndesk mail poll --once`.
    Imap,
}

/// What a `vulndesk` run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A database with the reference policies and, for [`Via::Imap`], a Dovecot in front.
pub struct Desk {
    pub db: TestDb,
    pub store: Store,
    pub via: Via,
    pub dovecot: Option<Dovecot>,
    /// Whether deliveries are given the organisation key's passphrase.
    pub passphrase: bool,
    config: Option<PathBuf>,
}

impl Desk {
    pub async fn new(db: &TestDb, via: Via) -> Desk {
        let paths: Vec<PathBuf> = POLICIES.iter().map(|p| policy_path(p)).collect();
        let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        let (code, _, stderr) = run_init(db, &refs).await;
        assert_eq!(code, 0, "vulndesk init on {}: {stderr}", db.label);
        let store = crate::helpers::test_store(db).await;
        let (dovecot, config) = match via {
            Via::Pipe => (None, None),
            Via::Imap => {
                let dovecot = Dovecot::start("");
                let config = dovecot.poll_config(None);
                (Some(dovecot), Some(config))
            }
        };
        Desk {
            db: db.clone(),
            store,
            via,
            dovecot,
            passphrase: false,
            config,
        }
    }

    /// Runs `vulndesk ARGS` on this desk's environment: the passphrase if
    /// [`Desk::passphrase`], nothing of the test's own environment that vulndesk reads.
    pub async fn run(&self, args: &[&str], stdin: &[u8]) -> Run {
        let mut env = Vec::new();
        if self.passphrase {
            env.push(("VULNDESK_KEY_PASSPHRASE", PASSPHRASE));
        }
        run(args, stdin, &env).await
    }

    /// `vulndesk mail poll --config CONFIG --once` on this desk's database.
    pub async fn poll_once(&self, config: &Path) -> Run {
        let config = config.to_str().expect("UTF-8 path");
        let url = self.db.url.as_str();
        self.run(
            &["mail", "poll", "--db", url, "--config", config, "--once"],
            b"",
        )
        .await
    }

    /// Delivers one message the way [`Desk::via`] says. Through IMAP, a message that was
    /// taken in must be marked `\Seen` afterwards.
    pub async fn deliver(&self, raw: &[u8]) -> Run {
        match (&self.dovecot, &self.config) {
            (Some(dovecot), Some(config)) => {
                let name = dovecot.deliver(raw);
                let run = self.poll_once(config).await;
                if run.code == 0 {
                    assert_eq!(
                        dovecot.state(&name),
                        Marked::Seen,
                        "taken-in message flagged \\Seen on {}",
                        self.db.label
                    );
                }
                run
            }
            _ => {
                let url = self.db.url.as_str();
                self.run(&["mail", "ingest", "--db", url, "--org", ORG], raw)
                    .await
            }
        }
    }

    /// [`Desk::deliver`] that must succeed.
    pub async fn deliver_ok(&self, raw: &[u8]) -> Run {
        let run = self.deliver(raw).await;
        assert_eq!(
            run.code, 0,
            "delivery via {:?} on {}: {run:?}",
            self.via, self.db.label
        );
        run
    }

    /// Generates the organisation key with `vulndesk mail key generate`; returns its
    /// fingerprint and armoured public key. Later deliveries get the passphrase.
    pub async fn generate_key(&mut self) -> (String, String) {
        self.passphrase = true;
        let run = self
            .run(
                &[
                    "mail",
                    "key",
                    "generate",
                    "--db",
                    &self.db.url,
                    "--org",
                    ORG,
                ],
                b"",
            )
            .await;
        assert_eq!(run.code, 0, "key generate on {}: {run:?}", self.db.label);
        let (first, armored) = run.stdout.split_once('\n').expect("two parts");
        let fingerprint = first
            .strip_prefix("fingerprint ")
            .expect("fingerprint line")
            .to_owned();
        (fingerprint, armored.to_owned())
    }

    /// The organisation's id.
    pub async fn org_id(&self, slug: &str) -> i64 {
        self.store
            .organisation_by_slug(slug)
            .await
            .expect("look up an organisation")
            .unwrap_or_else(|| panic!("no organisation {slug}"))
            .id
    }

    /// The case of any of the desk's organisations that a message (by Message-ID) was
    /// filed under, if one was.
    pub async fn find_case(&self, message_id: &str) -> Option<i64> {
        for slug in POLICIES {
            let org = self.org_id(slug).await;
            let found = self
                .store
                .case_for_message_ids(org, &[message_id.to_owned()])
                .await
                .expect("look up a Message-ID");
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// The case a message (by Message-ID) was filed under.
    pub async fn case_of(&self, message_id: &str) -> i64 {
        self.find_case(message_id)
            .await
            .unwrap_or_else(|| panic!("no case holds <{message_id}> on {}", self.db.label))
    }

    pub async fn count_cases(&self) -> i64 {
        self.store.count_cases().await.expect("count cases")
    }

    /// The case's events as (kind, payload).
    pub async fn events(&self, case_id: i64) -> Vec<(String, Value)> {
        self.store
            .events(case_id)
            .await
            .expect("events")
            .into_iter()
            .map(|e| {
                let payload = serde_json::from_str(&e.payload).expect("JSON payload");
                (e.kind, payload)
            })
            .collect()
    }

    pub async fn kinds(&self, case_id: i64) -> Vec<String> {
        self.events(case_id)
            .await
            .into_iter()
            .map(|e| e.0)
            .collect()
    }

    /// The payload of the case's last event of `kind`.
    pub async fn last(&self, case_id: i64, kind: &str) -> Value {
        self.events(case_id)
            .await
            .into_iter()
            .rev()
            .find(|e| e.0 == kind)
            .unwrap_or_else(|| panic!("case {case_id} has no {kind} event"))
            .1
    }

    pub async fn jobs(&self, case_id: i64) -> Vec<JobRow> {
        self.store.jobs_for_case(case_id).await.expect("jobs")
    }

    /// The stored bytes of a message.
    pub async fn raw(&self, raw: &[u8]) -> Vec<u8> {
        for slug in POLICIES {
            let org = self.org_id(slug).await;
            let found = self
                .store
                .raw_message(org, &sha256(raw))
                .await
                .expect("raw message");
            if let Some(row) = found {
                return row.data;
            }
        }
        panic!("message not stored on {}", self.db.label)
    }

    /// Ends the desk: the test connection closes, Dovecot stops.
    pub async fn close(self) {
        self.store.close().await;
    }
}

/// Runs `$scenario(&mut Desk)` on a fresh desk, mail arriving `$via`, on each database.
macro_rules! on_each_desk {
    ($via:expr, $scenario:expr) => {
        crate::helpers::on_each_database(|db| async move {
            let mut desk = crate::mail_support::Desk::new(&db, $via).await;
            $scenario(&mut desk).await;
            desk.close().await;
        })
        .await
    };
}
pub(crate) use on_each_desk;

/// A reference policy file of the repository.
pub fn policy_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(format!("{name}.toml"))
}

/// Runs the binary with `env` and nothing vulndesk reads from the test's environment.
pub async fn run(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .env("VULNDESK_LOG", "info,sqlx=warn")
        .env_remove("VULNDESK_DB")
        .env_remove("VULNDESK_KEY_PASSPHRASE")
        .env_remove("VULNDESK_MAIL_CONFIG")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start vulndesk");
    let mut input = child.stdin.take().expect("stdin");
    let bytes = stdin.to_vec();
    let writer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        // A command that exits without reading gives a broken pipe: not the test's concern.
        let _ = input.write_all(&bytes).await;
    });
    let output = tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("vulndesk {args:?} did not finish within {RUN_TIMEOUT:?}"))
        .expect("wait for vulndesk");
    let _ = writer.await;
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A reporter's plain-text message to the security address.
pub fn report(message_id: &str, subject: &str, body: &str) -> Vec<u8> {
    message(
        message_id,
        "security@sangoma.com",
        &format!("Subject: {subject}\r\n"),
        &format!("Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"),
    )
}

/// A message from the reporter: `headers` (each ending in CRLF) after the standard ones,
/// then `entity` (MIME headers, a blank line, the body).
pub fn message(message_id: &str, to: &str, headers: &str, entity: &str) -> Vec<u8> {
    format!(
        "From: Ada Reporter <ada@example.org>\r\nTo: {to}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n{headers}MIME-Version: 1.0\r\n{entity}"
    )
    .into_bytes()
}

/// RFC 3156 PGP/MIME around an armoured OpenPGP message, as a mail client sends it.
pub fn pgp_mime(message_id: &str, subject: &str, armored: &[u8]) -> Vec<u8> {
    let armored = String::from_utf8_lossy(armored).replace('\n', "\r\n");
    message(
        message_id,
        "security@sangoma.com",
        &format!("Subject: {subject}\r\n"),
        &format!(
            "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"enc\"\r\n\r\n\
             This is an OpenPGP/MIME encrypted message.\r\n--enc\r\nContent-Type: application/pgp-encrypted\r\n\r\n\
             Version: 1\r\n--enc\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n\
             {armored}\r\n--enc--\r\n"
        ),
    )
}

/// The IMAP user's uid and gid: Debian's `nobody`/`nogroup`. Dovecot refuses to run mail
/// processes as root, and the tests run as root.
const MAIL_UID: u32 = 65534;
/// Longest wait for Dovecot to listen.
const DOVECOT_START: Duration = Duration::from_secs(20);

/// Where a delivered message is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marked {
    /// Still in INBOX and not flagged `\Seen`.
    Unseen,
    /// In INBOX, flagged `\Seen`.
    Seen,
    /// No longer in INBOX (moved away).
    Gone,
}

/// A real Dovecot IMAP server on a loopback port, with one user `desk` whose Maildir the
/// test delivers into. Stopped and removed on drop.
pub struct Dovecot {
    pub dir: PathBuf,
    /// The plain (and STARTTLS) IMAP port.
    pub port: u16,
    /// The implicit-TLS port, when started [`Dovecot::with_tls`].
    pub tls_port: Option<u16>,
    child: std::process::Child,
}

impl Dovecot {
    /// Starts Dovecot without TLS; `extra` configuration lines are added.
    pub fn start(extra: &str) -> Dovecot {
        Dovecot::launch(extra, false)
    }

    /// Starts Dovecot offering STARTTLS and implicit TLS with a self-signed certificate for
    /// `localhost` (`cert.pem` in its directory, the poller's `ca_file`).
    pub fn with_tls() -> Dovecot {
        Dovecot::launch("", true)
    }

    fn launch(extra: &str, tls: bool) -> Dovecot {
        let binary = Path::new("/usr/sbin/dovecot");
        assert!(
            binary.exists(),
            "Dovecot not found: run scripts/install-test-deps (Debian package dovecot-imapd)"
        );
        let dir = std::env::temp_dir().join(format!("vulndesk-dovecot-{}", unique()));
        let maildir = dir.join("mail/desk/Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("create the Maildir");
        }
        std::fs::create_dir_all(dir.join("run")).expect("create Dovecot's base_dir");
        for path in [dir.join("mail"), dir.join("mail/desk"), maildir.clone()]
            .into_iter()
            .chain(["cur", "new", "tmp"].map(|s| maildir.join(s)))
        {
            std::os::unix::fs::chown(&path, Some(MAIL_UID), Some(MAIL_UID)).expect("chown");
        }
        let users = dir.join("users");
        std::fs::write(
            &users,
            format!(
                "desk:{{PLAIN}}{IMAP_PASSWORD}:{MAIL_UID}:{MAIL_UID}::{}::\n",
                dir.join("mail/desk").display()
            ),
        )
        .expect("write the passwd-file");
        std::fs::write(dir.join("imap-password"), format!("{IMAP_PASSWORD}\n"))
            .expect("write the password file");
        // Both ports at once: two calls in a row may be handed the same free port, and a
        // Dovecot told to listen twice on one port does not start.
        let ports = free_ports(if tls { 2 } else { 1 });
        let (port, tls_port) = (ports[0], tls.then(|| ports[1]));
        let ssl = match tls_port {
            None => "ssl = no".to_owned(),
            Some(_) => {
                self_signed_certificate(&dir);
                format!(
                    "ssl = yes\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n",
                    d = dir.display()
                )
            }
        };
        let d = dir.display();
        let conf = dir.join("dovecot.conf");
        std::fs::write(
            &conf,
            format!(
                "protocols = imap\n\
                 listen = 127.0.0.1\n\
                 base_dir = {d}/run\n\
                 state_dir = {d}/run/state\n\
                 log_path = {d}/dovecot.log\n\
                 info_log_path = {d}/dovecot.log\n\
                 auth_mechanisms = plain\n\
                 disable_plaintext_auth = no\n\
                 default_internal_user = nobody\n\
                 default_internal_group = nogroup\n\
                 default_login_user = nobody\n\
                 first_valid_uid = 1\n\
                 mail_location = maildir:{d}/mail/%u/Maildir\n\
                 mailbox_idle_check_interval = 1 secs\n\
                 passdb {{\n  driver = passwd-file\n  args = {users}\n}}\n\
                 userdb {{\n  driver = passwd-file\n  args = {users}\n}}\n\
                 service imap-login {{\n  chroot =\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {}\n  }}\n}}\n\
                 service anvil {{\n  chroot =\n}}\n\
                 {ssl}\n{extra}\n",
                tls_port.unwrap_or(0),
                users = users.display(),
            ),
        )
        .expect("write dovecot.conf");
        let child = std::process::Command::new(binary)
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("dovecot.stderr")).expect("stderr file"))
            .spawn()
            .expect("start dovecot");
        let dovecot = Dovecot {
            dir,
            port,
            tls_port,
            child,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < DOVECOT_START,
                "Dovecot did not listen on 127.0.0.1:{port}; its log:\n{}",
                dovecot.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        dovecot
    }

    pub fn log(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        // What it said before its log was open (a port it could not bind, a bad line).
        format!("{}{}", read("dovecot.stderr"), read("dovecot.log"))
    }

    fn inbox(&self) -> PathBuf {
        self.dir.join("mail/desk/Maildir")
    }

    /// A plain-text poller configuration for this server (`extra` lines go into the
    /// mailbox table).
    pub fn poll_config(&self, extra: Option<&str>) -> PathBuf {
        self.config_with("none", extra.unwrap_or(""))
    }

    /// A poller configuration with `tls` (`none`, `starttls`, `implicit`); over TLS it
    /// trusts this server's certificate and connects to `localhost`, the name it carries.
    pub fn config_with(&self, tls: &str, extra: &str) -> PathBuf {
        let (host, port, ca) = match tls {
            "none" => ("127.0.0.1", self.port, String::new()),
            "starttls" => ("localhost", self.port, self.ca_line()),
            _ => (
                "localhost",
                self.tls_port.expect("started with TLS"),
                self.ca_line(),
            ),
        };
        let path = self.dir.join(format!("mail-{}.toml", unique()));
        std::fs::write(
            &path,
            format!(
                "poll_seconds = 1\n\n[[mailbox]]\norg = \"{ORG}\"\nhost = \"{host}\"\nport = {port}\n\
                 tls = \"{tls}\"\nusername = \"desk\"\npassword_file = \"{}\"\n{ca}{extra}\n",
                self.dir.join("imap-password").display(),
            ),
        )
        .expect("write the poller configuration");
        path
    }

    fn ca_line(&self) -> String {
        format!("ca_file = \"{}\"\n", self.dir.join("cert.pem").display())
    }

    /// Delivers `raw` as an MDA does (written in `tmp/`, renamed into `new/`); returns the
    /// file's name.
    pub fn deliver(&self, raw: &[u8]) -> String {
        let name = format!("{}.vulndesk-test", unique());
        let tmp = self.inbox().join("tmp").join(&name);
        std::fs::write(&tmp, raw).expect("write the message");
        std::os::unix::fs::chown(&tmp, Some(MAIL_UID), Some(MAIL_UID)).expect("chown");
        std::fs::rename(&tmp, self.inbox().join("new").join(&name)).expect("deliver");
        name
    }

    /// Where the message delivered as `name` is, by Maildir file name (`NAME:2,FLAGS`).
    pub fn state(&self, name: &str) -> Marked {
        let in_dir = |sub: &str| -> Vec<String> {
            std::fs::read_dir(self.inbox().join(sub))
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|f| f.starts_with(name))
                        .collect()
                })
                .unwrap_or_default()
        };
        let cur = in_dir("cur");
        if cur.iter().any(|f| {
            f.rsplit_once(":2,")
                .is_some_and(|(_, flags)| flags.contains('S'))
        }) {
            Marked::Seen
        } else if cur.is_empty() && in_dir("new").is_empty() {
            Marked::Gone
        } else {
            Marked::Unseen
        }
    }

    /// How many messages the Maildir folder `.NAME` holds.
    pub fn count_in(&self, folder: &str) -> usize {
        ["cur", "new"]
            .iter()
            .map(|sub| {
                std::fs::read_dir(self.inbox().join(format!(".{folder}")).join(sub))
                    .map(|entries| entries.count())
                    .unwrap_or(0)
            })
            .sum()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its children; bounded, then SIGKILL.
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_dir_all(&self.dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `cert.pem` and `key.pem` in `dir`: a self-signed end-entity certificate for
/// `localhost` (not a CA: webpki refuses a CA certificate as a server's own).
fn self_signed_certificate(dir: &Path) {
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .expect("run openssl (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `n` distinct loopback ports that were free a moment ago (held together while chosen, so
/// none is handed out twice).
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free loopback port"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("its address").port())
        .collect()
}
