//! Test support: GnuPG as the other side, in a fresh home directory.

use secrecy::SecretString;

use crate::openpgp::{OrgKey, PublicKey};
pub use crate::testing::Gpg;

/// The passphrase every test key uses.
pub const PASS: &str = crate::testing::TEST_PASSPHRASE;

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

/// A gpg home holding a reporter's key pair and our public key; the
/// reporter's fingerprint; the reporter's key as we know it.
pub fn reporter_and(org: &OrgKey) -> (Gpg, String, PublicKey) {
    let gpg = Gpg::new();
    let fpr = gpg.reporter_key("Reporter <reporter@example.org>");
    gpg.import(&org.public_armored());
    let key = PublicKey::parse(&gpg.export(&fpr), now()).expect("reporter key");
    (gpg, fpr, key)
}
