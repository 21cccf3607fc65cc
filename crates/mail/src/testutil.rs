//! Test support: GnuPG as the other side, in a fresh home directory.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use secrecy::SecretString;

use crate::openpgp::{OrgKey, PublicKey};

/// The passphrase every test key uses.
pub const PASS: &str = "correct horse battery staple";

pub fn pass() -> SecretString {
    SecretString::from(PASS)
}

/// The wall clock: gpg judges key validity against it, so test keys must
/// be created "now".
pub fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// A fresh organisation key protected with [`PASS`].
pub fn org() -> OrgKey {
    OrgKey::generate("Example Security <security@example.org>", &pass(), now()).expect("generate")
}

/// A GnuPG home directory, removed (and its agent stopped) on drop.
pub struct Gpg {
    home: PathBuf,
}

impl Gpg {
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
                PASS,
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

/// A gpg home holding a reporter's key pair and our public key; the
/// reporter's fingerprint; the reporter's key as we know it.
pub fn reporter_and(org: &OrgKey) -> (Gpg, String, PublicKey) {
    let gpg = Gpg::new();
    let fpr = gpg.reporter_key("Reporter <reporter@example.org>");
    gpg.import(&org.public_armored());
    let key = PublicKey::parse(&gpg.export(&fpr), now()).expect("reporter key");
    (gpg, fpr, key)
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
