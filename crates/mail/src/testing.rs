//! The other sides of mail, for tests: a real SMTP server (aiosmtpd, from the test
//! virtualenv that `scripts/install-test-deps` creates, delivering into a Maildir the test
//! reads back) and GnuPG in a throwaway home directory. Compiled always, like
//! `vulndesk_store::testing`, so every crate's tests share them.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The passphrase of every key the tests make, in gpg and in Vulndesk.
pub const TEST_PASSPHRASE: &str = "correct horse battery staple";

/// A running aiosmtpd; stopped when dropped.
pub struct SmtpSink {
    child: Child,
    maildir: PathBuf,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

impl SmtpSink {
    /// Starts a sink on a free port.
    pub fn start() -> SmtpSink {
        let port = free_port();
        SmtpSink::start_on(port)
    }

    /// Starts a sink on `port` (to bring a server "back" on the port a worker already uses).
    pub fn start_on(port: u16) -> SmtpSink {
        let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/install-test-deps",
            python.display()
        );
        let dir = std::env::temp_dir().join(format!(
            "vd-smtp-sink-{}-{port}-{}",
            std::process::id(),
            jiff::Timestamp::now().as_nanosecond()
        ));
        std::fs::create_dir_all(&dir).expect("create the sink's directory");
        // aiosmtpd's Mailbox handler creates the Maildir itself, with its tmp/new/cur.
        let maildir = dir.join("maildir");
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpSink {
            child,
            maildir,
            port,
        }
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message delivered so far, as text.
    pub fn messages(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .collect()
    }

    /// Waits up to `timeout` for at least `count` messages.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.messages();
            if got.len() >= count || Instant::now() >= deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A GnuPG home directory, removed (and its agent stopped) on drop.
pub struct Gpg {
    home: PathBuf,
}

impl Default for Gpg {
    fn default() -> Gpg {
        Gpg::new()
    }
}

impl Gpg {
    /// A fresh home directory; fails the test if gpg is missing.
    pub fn new() -> Gpg {
        let found = Command::new("gpg")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "gpg not found: the OpenPGP interop tests need GnuPG; install the Debian package `gnupg` (apt-get install gnupg)"
        );
        static N: AtomicUsize = AtomicUsize::new(0);
        // Short path: gpg-agent's socket lives in the home directory.
        let home = PathBuf::from(format!(
            "/tmp/vdgpg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).expect("create gpg home");
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700))
            .expect("chmod gpg home");
        Gpg { home }
    }

    /// Runs gpg with the test defaults; returns the raw output.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(&self.home)
            .args([
                "--batch",
                "--yes",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                TEST_PASSPHRASE,
            ])
            .args(["--trust-model", "always", "--status-fd", "2"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gpg");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("write to gpg");
        child.wait_with_output().expect("wait for gpg")
    }

    /// Runs gpg and fails the test, with gpg's own words, if it fails.
    pub fn ok(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "gpg {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Imports armoured key material.
    pub fn import(&self, armored: &str) {
        self.ok(&["--import"], armored.as_bytes());
    }

    /// Generates an Ed25519 signing key with a Cv25519 encryption subkey
    /// (the way the intake issue describes a reporter's key); returns its
    /// fingerprint.
    pub fn reporter_key(&self, uid: &str) -> String {
        let fpr = self.signing_key(uid, &[], "2y");
        self.ok(&["--quick-add-key", &fpr, "cv25519", "encr"], b"");
        fpr
    }

    /// Signs with `signer` and encrypts to `recipient`, armoured.
    pub fn sign_encrypt(&self, signer: &str, recipient: &str, data: &[u8]) -> Vec<u8> {
        self.ok(
            &[
                "--sign",
                "--encrypt",
                "--armor",
                "-u",
                signer,
                "-r",
                recipient,
            ],
            data,
        )
    }

    /// Generates an Ed25519 signing key without encryption subkey, expiring
    /// after `expire` (gpg syntax); `options` go before the command.
    pub fn signing_key(&self, uid: &str, options: &[&str], expire: &str) -> String {
        let mut args = options.to_vec();
        args.extend(["--quick-gen-key", uid, "ed25519", "sign", expire]);
        self.ok(&args, b"");
        self.fingerprint(uid)
    }

    /// The fingerprint of the key with user id `uid`.
    pub fn fingerprint(&self, uid: &str) -> String {
        let listing =
            String::from_utf8(self.ok(&["--with-colons", "--list-keys", uid], b"")).expect("utf-8");
        listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|l| l.split(':').find(|f| f.len() == 40))
            .expect("fingerprint in gpg listing")
            .to_owned()
    }

    /// Encrypts to `fpr`, armoured.
    pub fn encrypt_to(&self, fpr: &str, plaintext: &[u8]) -> Vec<u8> {
        self.ok(&["--encrypt", "--armor", "-r", fpr], plaintext)
    }

    /// A cleartext-signed copy of `text`.
    pub fn clearsign(&self, fpr: &str, text: &str) -> String {
        String::from_utf8(self.ok(&["--clearsign", "-u", fpr], text.as_bytes()))
            .expect("clearsigned text")
    }

    /// The armoured public key `fpr`.
    pub fn export(&self, fpr: &str) -> String {
        String::from_utf8(self.ok(&["--armor", "--export", fpr], b"")).expect("armoured key")
    }

    /// gpg's auto-generated revocation certificate, made importable.
    pub fn revoke(&self, fpr: &str) {
        let cert = std::fs::read_to_string(
            self.home
                .join("openpgp-revocs.d")
                .join(format!("{fpr}.rev")),
        )
        .expect("revocation certificate");
        // gpg prefixes the armour with ':' so the file is not imported by accident.
        self.import(&cert.replace(":-----BEGIN", "-----BEGIN"));
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(&self.home)
            .args(["--kill", "gpg-agent"])
            .output();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}
