//! OpenPGP with rPGP: the organisation's key pair, reporters' public keys,
//! decryption, signature verification and encryption.
//!
//! Keys are v4 with a certify+sign Ed25519 primary and a Cv25519 (ECDH)
//! encryption subkey, the shape GnuPG 2.2 generates and reads (see
//! `docs/openpgp.md`). Nothing here reads the clock: validity checks and
//! signature times take `now` from the caller.

use std::fmt;
use std::io::Read;

use pgp::composed::{
    ArmorOptions, CleartextSignedMessage, Deserializable, DetachedSignature, Esk, KeyType, Message,
    MessageBuilder, SignedKeyDetails, SignedPublicKey, SignedPublicSubKey, SignedSecretKey,
    SignedSecretSubKey, SubpacketConfig,
};
use pgp::crypto::{
    ecc_curve::ECCCurve, hash::HashAlgorithm, public_key::PublicKeyAlgorithm,
    sym::SymmetricKeyAlgorithm,
};
use pgp::packet::{
    self, Features, KeyFlags, PubKeyInner, Signature, SignatureConfig, SignatureType, Subpacket,
    SubpacketData, UserId,
};
use pgp::types::{
    CompressionAlgorithm, KeyDetails, KeyVersion, Password, S2kParams, Tag, Timestamp as PgpTime,
    VerifyingKey,
};
use rand_core_06::OsRng;
use secrecy::{ExposeSecret, SecretString};

/// Everything that can go wrong with keys and OpenPGP messages. The messages
/// are meant for an operator: they say what was wrong and, where it helps,
/// what was expected.
#[derive(Debug, thiserror::Error)]
pub enum OpenPgpError {
    /// The input is not an ASCII-armoured block of the expected kind.
    #[error(
        "not an ASCII-armoured OpenPGP {expected}: expected a block starting with \"-----BEGIN PGP {expected}-----\""
    )]
    NotArmored {
        /// The armour label that was expected, e.g. `PUBLIC KEY BLOCK`.
        expected: &'static str,
    },
    /// The OpenPGP data could not be parsed or is internally inconsistent.
    #[error("malformed OpenPGP data: {0}")]
    Malformed(String),
    /// The key has no valid subkey (or primary) that may encrypt.
    #[error("key {fingerprint} has no valid encryption-capable key or subkey")]
    NoEncryptionKey {
        /// Primary key fingerprint.
        fingerprint: String,
    },
    /// The key (or its only encryption subkey) has expired.
    #[error("key {fingerprint} expired at {at}")]
    Expired {
        /// Primary key fingerprint.
        fingerprint: String,
        /// When it expired.
        at: jiff::Timestamp,
    },
    /// The key (or its only encryption subkey) has been revoked by its owner.
    #[error("key {fingerprint} is revoked")]
    Revoked {
        /// Primary key fingerprint.
        fingerprint: String,
    },
    /// The passphrase does not unlock the secret key.
    #[error("wrong passphrase for secret key {fingerprint}")]
    WrongPassphrase {
        /// Primary key fingerprint.
        fingerprint: String,
    },
    /// The message was encrypted to other keys only.
    #[error("encrypted to key(s) {recipients}, not to the organisation key {ours}")]
    NotForThisKey {
        /// Key IDs (hex) named in the message, or "anonymous".
        recipients: String,
        /// Fingerprint of the key we tried.
        ours: String,
    },
    /// The data is an OpenPGP message but not an encrypted one.
    #[error("not an encrypted OpenPGP message")]
    NotEncrypted,
    /// rPGP failed for another reason (unsupported algorithm, corrupt data...).
    #[error("OpenPGP operation failed: {0}")]
    Pgp(String),
}

impl From<pgp::errors::Error> for OpenPgpError {
    fn from(e: pgp::errors::Error) -> Self {
        OpenPgpError::Pgp(e.to_string())
    }
}

type Result<T> = std::result::Result<T, OpenPgpError>;

/// The largest plaintext [`decrypt`] returns: well above any report, far
/// below a decompression bomb.
pub const MAX_PLAINTEXT: u64 = 64 << 20;

/// The result of checking a signature against the keys we know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// A known key made this signature over exactly this data. The
    /// fingerprint is the certificate's primary key, even when a signing
    /// subkey signed, because that is what a person compares.
    Good {
        /// Uppercase hex fingerprint of the signer's primary key.
        fingerprint: String,
    },
    /// The signature does not verify (altered data, or not a usable signature).
    Bad {
        /// What failed.
        reason: String,
    },
    /// Signed by a key we do not have, so nothing can be said about it.
    UnknownKey {
        /// Issuer fingerprint (uppercase hex) or, for old signatures, key ID.
        issuer: String,
    },
}

impl Verification {
    /// The signer's fingerprint when the signature is good.
    pub fn good_fingerprint(&self) -> Option<&str> {
        match self {
            Verification::Good { fingerprint } => Some(fingerprint),
            _ => None,
        }
    }

    /// Several signatures over one text count as good if any good one is
    /// from a known key; else an unknown key is reported before a bad one,
    /// since the caller can act on it (import the key).
    fn best(all: Vec<Verification>) -> Verification {
        let rank = |v: &Verification| match v {
            Verification::Good { .. } => 0,
            Verification::UnknownKey { .. } => 1,
            Verification::Bad { .. } => 2,
        };
        all.into_iter()
            .min_by_key(rank)
            .unwrap_or(Verification::Bad {
                reason: "no signature found".into(),
            })
    }
}

/// A decrypted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    /// The literal data (for PGP/MIME: a MIME entity).
    pub plaintext: Vec<u8>,
    /// Fingerprint of the signer when an embedded signature verified.
    pub signed_by: Option<String>,
    /// The embedded signature's verification, if the message was signed.
    pub signature: Option<Verification>,
}

/// The organisation's key pair. The secret parts are always held
/// passphrase-protected (OpenPGP S2K, iterated+salted SHA-256 with AES-256):
/// every operation that needs them takes the passphrase again, so the
/// unlocked key lives only for that call.
#[derive(Clone)]
pub struct OrgKey {
    secret: SignedSecretKey,
}

impl fmt::Debug for OrgKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgKey({})", self.fingerprint())
    }
}

/// A signing identity for [`encrypt_to`]: the organisation key, its
/// passphrase, and the time to put in the signature.
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    /// The organisation key.
    pub key: &'a OrgKey,
    /// Its passphrase.
    pub passphrase: &'a SecretString,
    /// Signature creation time.
    pub at: jiff::Timestamp,
}

fn password(passphrase: &SecretString) -> Password {
    Password::from(passphrase.expose_secret())
}

fn pgp_time(t: jiff::Timestamp) -> Result<PgpTime> {
    u32::try_from(t.as_second())
        .map(PgpTime::from_secs)
        .map_err(|_| OpenPgpError::Malformed(format!("time {t} is outside OpenPGP's range")))
}

fn jiff_time(t: PgpTime) -> jiff::Timestamp {
    jiff::Timestamp::from_second(i64::from(t.as_secs())).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn hex_fingerprint(k: &impl KeyDetails) -> String {
    format!("{:X}", k.fingerprint())
}

fn require_armor(text: &str, expected: &'static str) -> Result<()> {
    if text.contains(&format!("-----BEGIN PGP {expected}-----")) {
        Ok(())
    } else {
        Err(OpenPgpError::NotArmored { expected })
    }
}

fn malformed(e: impl fmt::Display) -> OpenPgpError {
    OpenPgpError::Malformed(e.to_string())
}

/// Issuer and creation-time subpackets, with `at` instead of rPGP's clock.
fn sig_subpackets(key: &impl KeyDetails, at: PgpTime) -> Result<(Vec<Subpacket>, Vec<Subpacket>)> {
    let hashed = vec![
        Subpacket::regular(SubpacketData::SignatureCreationTime(at))?,
        Subpacket::regular(SubpacketData::IssuerFingerprint(key.fingerprint()))?,
    ];
    let unhashed = vec![Subpacket::regular(SubpacketData::IssuerKeyId(
        key.legacy_key_id(),
    ))?];
    Ok((hashed, unhashed))
}

impl OrgKey {
    /// Generates a new key pair: Ed25519 primary (certify, sign) and a
    /// Cv25519 ECDH encryption subkey, both created at `now`, without
    /// expiry, protected with `passphrase`. `user_id` is e.g.
    /// `"Example Security <security@example.org>"`.
    ///
    /// The self-signatures are built here rather than by rPGP's key builder
    /// because that one stamps them with the system clock.
    pub fn generate(
        user_id: &str,
        passphrase: &SecretString,
        now: jiff::Timestamp,
    ) -> Result<Self> {
        let at = pgp_time(now)?;
        let pw = password(passphrase);

        let (public, secret) = KeyType::Ed25519Legacy.generate(OsRng)?;
        let inner = PubKeyInner::new(
            KeyVersion::V4,
            PublicKeyAlgorithm::EdDSALegacy,
            at,
            None,
            public,
        )?;
        let mut primary = packet::SecretKey::new(packet::PublicKey::from_inner(inner)?, secret)?;

        let (public, secret) = KeyType::ECDH(ECCCurve::Curve25519Legacy).generate(OsRng)?;
        let inner = PubKeyInner::new(KeyVersion::V4, PublicKeyAlgorithm::ECDH, at, None, public)?;
        let mut sub = packet::SecretSubkey::new(packet::PublicSubkey::from_inner(inner)?, secret)?;

        let uid = UserId::from_str(Default::default(), user_id)?;
        let mut flags = KeyFlags::default();
        flags.set_certify(true);
        flags.set_sign(true);
        let mut features = Features::default();
        features.set_seipd_v1(true);
        let mut cert = SignatureConfig::from_key(OsRng, &primary, SignatureType::CertPositive)?;
        (cert.hashed_subpackets, cert.unhashed_subpackets) = sig_subpackets(&primary, at)?;
        cert.hashed_subpackets.extend([
            Subpacket::regular(SubpacketData::KeyFlags(flags))?,
            Subpacket::regular(SubpacketData::Features(features))?,
            Subpacket::regular(SubpacketData::PreferredSymmetricAlgorithms(
                vec![SymmetricKeyAlgorithm::AES256, SymmetricKeyAlgorithm::AES128].into(),
            ))?,
            Subpacket::regular(SubpacketData::PreferredHashAlgorithms(
                vec![HashAlgorithm::Sha512, HashAlgorithm::Sha256].into(),
            ))?,
            // No BZip2: rPGP is built without it (see docs/openpgp.md).
            Subpacket::regular(SubpacketData::PreferredCompressionAlgorithms(
                vec![CompressionAlgorithm::ZLIB, CompressionAlgorithm::ZIP].into(),
            ))?,
            Subpacket::regular(SubpacketData::IsPrimary(true))?,
        ]);
        let cert = cert.sign_certification(
            &primary,
            primary.public_key(),
            &Password::empty(),
            Tag::UserId,
            &uid,
        )?;

        let mut flags = KeyFlags::default();
        flags.set_encrypt_comms(true);
        flags.set_encrypt_storage(true);
        let mut binding = SignatureConfig::from_key(OsRng, &primary, SignatureType::SubkeyBinding)?;
        (binding.hashed_subpackets, binding.unhashed_subpackets) = sig_subpackets(&primary, at)?;
        binding
            .hashed_subpackets
            .push(Subpacket::regular(SubpacketData::KeyFlags(flags))?);
        let binding = binding.sign_subkey_binding(
            &primary,
            primary.public_key(),
            &Password::empty(),
            sub.public_key(),
        )?;

        primary.set_password_with_s2k(&pw, S2kParams::new_default(OsRng, KeyVersion::V4))?;
        sub.set_password_with_s2k(&pw, S2kParams::new_default(OsRng, KeyVersion::V4))?;
        let secret = SignedSecretKey::new(
            primary,
            SignedKeyDetails::new(vec![], vec![], vec![uid.into_signed(cert)], vec![]),
            vec![],
            vec![SignedSecretSubKey::new(sub, vec![binding])],
        );
        Ok(OrgKey { secret })
    }

    /// Imports an armoured secret key (ours from [`OrgKey::secret_protected`],
    /// or one exported by `gpg --export-secret-keys --armor`). A protected key
    /// must unlock with `passphrase` (else [`OpenPgpError::WrongPassphrase`]);
    /// an unprotected one is protected with it, so the key is never held in
    /// the clear. The key needs an encryption-capable secret (sub)key.
    pub fn import(armored_secret: &str, passphrase: &SecretString) -> Result<Self> {
        require_armor(armored_secret, "PRIVATE KEY BLOCK")?;
        let (mut secret, _) = SignedSecretKey::from_string(armored_secret).map_err(malformed)?;
        secret.verify_bindings().map_err(malformed)?;
        let fingerprint = hex_fingerprint(&secret.primary_key);
        let pw = password(passphrase);
        let wrong = |_| OpenPgpError::WrongPassphrase {
            fingerprint: fingerprint.clone(),
        };
        if secret.primary_key.secret_params().is_encrypted() {
            secret
                .primary_key
                .unlock(&pw, |_, _| Ok(()))
                .map_err(wrong)?
                .map_err(wrong)?;
        } else {
            secret.primary_key.set_password(OsRng, &pw)?;
        }
        for sub in &mut secret.secret_subkeys {
            if sub.key.secret_params().is_encrypted() {
                sub.key
                    .unlock(&pw, |_, _| Ok(()))
                    .map_err(wrong)?
                    .map_err(wrong)?;
            } else {
                sub.key.set_password(OsRng, &pw)?;
            }
        }
        let key = OrgKey { secret };
        let public = key.secret.to_public_key();
        if select_encryption_key(&public, None)?.is_none() {
            return Err(OpenPgpError::NoEncryptionKey { fingerprint });
        }
        Ok(key)
    }

    /// The public key (certificate), armoured: what the organisation
    /// publishes (security.txt `Encryption:`, key servers).
    pub fn public_armored(&self) -> String {
        self.secret
            .to_public_key()
            .to_armored_string(ArmorOptions::default())
            .unwrap_or_default()
    }

    /// The public key as a [`PublicKey`], e.g. to verify our own signatures.
    pub fn public_key(&self) -> PublicKey {
        let key = self.secret.to_public_key();
        // An OrgKey always has an encryption key: generate builds one and
        // import checks for one.
        let encryption = select_encryption_key(&key, None)
            .ok()
            .flatten()
            .unwrap_or(Slot::Primary);
        PublicKey { key, encryption }
    }

    /// Uppercase hex fingerprint of the primary key (40 characters for v4).
    pub fn fingerprint(&self) -> String {
        hex_fingerprint(&self.secret.primary_key)
    }

    /// The secret key, armoured, still protected by its OpenPGP S2K
    /// passphrase: the blob the project stores. Read it back with
    /// [`OrgKey::import`]; `gpg --import` reads it too.
    pub fn secret_protected(&self) -> String {
        self.secret
            .to_armored_string(ArmorOptions::default())
            .unwrap_or_default()
    }

    /// Tells a wrong passphrase apart from other failures.
    fn check_passphrase(&self, pw: &Password) -> Result<()> {
        let wrong = |_| OpenPgpError::WrongPassphrase {
            fingerprint: self.fingerprint(),
        };
        self.secret
            .primary_key
            .unlock(pw, |_, _| Ok(()))
            .map_err(wrong)?
            .map_err(wrong)
    }
}

/// Which key of a certificate encrypts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Primary,
    Subkey(usize),
}

/// A correspondent's public key (certificate) that was valid when parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicKey {
    key: SignedPublicKey,
    encryption: Slot,
}

impl PublicKey {
    /// Parses an armoured public key and checks that it can be used at
    /// `now`: self-signatures valid, not revoked, not expired, and with an
    /// encryption-capable (sub)key. `now` is a parameter because expiry is
    /// relative to it and this crate reads no clock; re-parse a stored key
    /// before each use to re-check its validity.
    pub fn parse(armored: &str, now: jiff::Timestamp) -> Result<Self> {
        require_armor(armored, "PUBLIC KEY BLOCK")?;
        let (key, _) = SignedPublicKey::from_string(armored).map_err(malformed)?;
        Self::usable(key, now)
    }

    /// Parses a key in its binary form (what a Web Key Directory serves), checked as
    /// [`PublicKey::parse`] checks an armoured one.
    pub fn parse_binary(bytes: &[u8], now: jiff::Timestamp) -> Result<Self> {
        let key = SignedPublicKey::from_bytes(bytes).map_err(malformed)?;
        Self::usable(key, now)
    }

    fn usable(key: SignedPublicKey, now: jiff::Timestamp) -> Result<Self> {
        key.verify_bindings().map_err(malformed)?;
        let fingerprint = hex_fingerprint(&key);
        if is_revoked(&key) {
            return Err(OpenPgpError::Revoked { fingerprint });
        }
        if let Some(at) = primary_expiry(&key).filter(|at| *at <= now) {
            return Err(OpenPgpError::Expired { fingerprint, at });
        }
        let encryption = select_encryption_key(&key, Some(now))?
            .ok_or(OpenPgpError::NoEncryptionKey { fingerprint })?;
        Ok(PublicKey { key, encryption })
    }

    /// Uppercase hex fingerprint of the primary key.
    pub fn fingerprint(&self) -> String {
        hex_fingerprint(&self.key)
    }

    /// The certificate, armoured (for storage next to the reporter).
    pub fn armored(&self) -> String {
        self.key
            .to_armored_string(ArmorOptions::default())
            .unwrap_or_default()
    }

    /// The certificate in its binary form (as a Web Key Directory serves it).
    pub fn binary(&self) -> Vec<u8> {
        pgp::ser::Serialize::to_bytes(&self.key).unwrap_or_default()
    }

    /// The user IDs, e.g. `Reporter <reporter@example.org>`.
    pub fn user_ids(&self) -> Vec<String> {
        self.key
            .details
            .users
            .iter()
            .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
            .collect()
    }

    /// All keys that may have issued a signature: the primary and each subkey.
    fn components(&self) -> impl Iterator<Item = Component<'_>> {
        std::iter::once(Component::Primary(&self.key.primary_key))
            .chain(self.key.public_subkeys.iter().map(Component::Sub))
    }
}

/// A key inside a certificate that can verify.
#[derive(Clone, Copy)]
enum Component<'a> {
    Primary(&'a packet::PublicKey),
    Sub(&'a SignedPublicSubKey),
}

impl Component<'_> {
    fn as_verifying(&self) -> &dyn VerifyingKey {
        match self {
            Component::Primary(k) => *k,
            Component::Sub(k) => *k,
        }
    }

    fn issued(&self, sig: &Signature) -> bool {
        let k = self.as_verifying();
        sig.issuer_fingerprint()
            .iter()
            .any(|fp| **fp == k.fingerprint())
            || sig
                .issuer_key_id()
                .iter()
                .any(|id| **id == k.legacy_key_id())
    }
}

fn is_revoked(key: &SignedPublicKey) -> bool {
    key.details
        .revocation_signatures
        .iter()
        .any(|sig| sig.verify_key(&key.primary_key).is_ok())
}

/// The newest valid self-signature on a user ID carries the key's expiry.
fn primary_expiry(key: &SignedPublicKey) -> Option<jiff::Timestamp> {
    let newest = key
        .details
        .users
        .iter()
        .flat_map(|u| {
            u.signatures.iter().filter(|s| {
                s.verify_certification(&key.primary_key, Tag::UserId, &u.id)
                    .is_ok()
            })
        })
        .max_by_key(|s| s.created().map(PgpTime::as_secs))?;
    expiry(key.primary_key.created_at(), newest)
}

fn expiry(created: PgpTime, sig: &Signature) -> Option<jiff::Timestamp> {
    let secs = sig.key_expiration_time()?.as_secs();
    // Zero means "never" (RFC 9580, 5.2.3.13).
    (secs > 0).then(|| jiff_time(PgpTime::from_secs(created.as_secs().saturating_add(secs))))
}

/// Picks the newest valid encryption subkey (or an encryption-flagged
/// primary). With `now = None` expiry is not checked. Returns an error
/// naming the reason when encryption keys exist but none is usable.
fn select_encryption_key(
    key: &SignedPublicKey,
    now: Option<jiff::Timestamp>,
) -> Result<Option<Slot>> {
    let fingerprint = hex_fingerprint(key);
    let mut expired = None;
    let mut revoked = false;
    let mut best: Option<(u32, usize)> = None;
    for (i, sub) in key.public_subkeys.iter().enumerate() {
        let valid: Vec<&Signature> = sub
            .signatures
            .iter()
            .filter(|s| s.verify_subkey_binding(&key.primary_key, &sub.key).is_ok())
            .collect();
        if valid
            .iter()
            .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation))
        {
            revoked = true;
            continue;
        }
        let Some(binding) = valid
            .into_iter()
            .max_by_key(|s| s.created().map(PgpTime::as_secs))
        else {
            continue;
        };
        let flags = binding.key_flags();
        if !(flags.encrypt_comms() || flags.encrypt_storage()) || !sub.key.algorithm().can_encrypt()
        {
            continue;
        }
        if let (Some(now), Some(at)) = (now, expiry(sub.key.created_at(), binding))
            && at <= now
        {
            expired = Some(at);
            continue;
        }
        let created = sub.key.created_at().as_secs();
        if best.is_none_or(|(c, _)| created >= c) {
            best = Some((created, i));
        }
    }
    if let Some((_, i)) = best {
        return Ok(Some(Slot::Subkey(i)));
    }
    let primary_encrypts = key
        .details
        .users
        .iter()
        .flat_map(|u| &u.signatures)
        .any(|s| {
            let f = s.key_flags();
            f.encrypt_comms() || f.encrypt_storage()
        })
        && key.primary_key.algorithm().can_encrypt();
    match (primary_encrypts, expired, revoked) {
        (true, _, _) => Ok(Some(Slot::Primary)),
        (false, Some(at), _) => Err(OpenPgpError::Expired { fingerprint, at }),
        (false, None, true) => Err(OpenPgpError::Revoked { fingerprint }),
        (false, None, false) => Ok(None),
    }
}

/// Checks one signature with whichever known key issued it.
fn check(
    sig: &Signature,
    known: &[PublicKey],
    verify: impl Fn(&dyn VerifyingKey) -> pgp::errors::Result<()>,
) -> Verification {
    for cert in known {
        if let Some(component) = cert.components().find(|c| c.issued(sig)) {
            return match verify(component.as_verifying()) {
                Ok(()) => Verification::Good {
                    fingerprint: cert.fingerprint(),
                },
                Err(e) => Verification::Bad {
                    reason: e.to_string(),
                },
            };
        }
    }
    let issuer = sig
        .issuer_fingerprint()
        .first()
        .map(|fp| format!("{fp:X}"))
        .or_else(|| {
            sig.issuer_key_id()
                .first()
                .map(|id| id.to_string().to_uppercase())
        })
        .unwrap_or_else(|| "(no issuer in signature)".into());
    Verification::UnknownKey { issuer }
}

/// Adapts rPGP's `impl VerifyingKey` APIs to a `&dyn` key.
#[derive(Debug)]
struct Dyn<'a>(&'a dyn VerifyingKey);

impl KeyDetails for Dyn<'_> {
    fn version(&self) -> KeyVersion {
        self.0.version()
    }
    fn fingerprint(&self) -> pgp::types::Fingerprint {
        self.0.fingerprint()
    }
    fn legacy_key_id(&self) -> pgp::types::KeyId {
        self.0.legacy_key_id()
    }
    fn algorithm(&self) -> PublicKeyAlgorithm {
        self.0.algorithm()
    }
    fn created_at(&self) -> PgpTime {
        self.0.created_at()
    }
    fn legacy_v3_expiration_days(&self) -> Option<u16> {
        self.0.legacy_v3_expiration_days()
    }
    fn public_params(&self) -> &pgp::types::PublicParams {
        self.0.public_params()
    }
}

impl VerifyingKey for Dyn<'_> {
    fn verify(
        &self,
        hash: HashAlgorithm,
        data: &[u8],
        sig: &pgp::types::SignatureBytes,
    ) -> pgp::errors::Result<()> {
        self.0.verify(hash, data, sig)
    }
}

/// Decrypts an OpenPGP message (armoured or binary) with the organisation
/// key and verifies an embedded signature against `known` keys.
pub fn decrypt(
    key: &OrgKey,
    passphrase: &SecretString,
    ciphertext: &[u8],
    known: &[PublicKey],
) -> Result<Decrypted> {
    let (message, _) = Message::from_reader(ciphertext).map_err(malformed)?;
    let Message::Encrypted { esk, .. } = &message else {
        return Err(OpenPgpError::NotEncrypted);
    };
    let recipients: Vec<String> = esk
        .iter()
        .filter_map(|e| match e {
            Esk::PublicKeyEncryptedSessionKey(p) => {
                p.id().ok().map(|id| id.to_string().to_uppercase())
            }
            Esk::SymKeyEncryptedSessionKey(_) => None,
        })
        .collect();
    let pw = password(passphrase);
    let mut message = match message.decrypt(&pw, &key.secret) {
        Ok(m) => m,
        Err(e) => return Err(diagnose(key, &pw, recipients, e)),
    };
    // gpg compresses by default; a signed message may be compressed inside.
    if message.is_compressed() {
        message = message.decompress()?;
    }
    if message.is_signed() {
        message = message.decompress()?;
    }
    // A compressed message can expand far beyond its size on the wire.
    let mut plaintext = Vec::new();
    (&mut message)
        .take(MAX_PLAINTEXT + 1)
        .read_to_end(&mut plaintext)
        .map_err(|e| OpenPgpError::Pgp(e.to_string()))?;
    if plaintext.len() as u64 > MAX_PLAINTEXT {
        return Err(OpenPgpError::Pgp(format!(
            "decrypted message is larger than {} MiB",
            MAX_PLAINTEXT >> 20
        )));
    }
    let signature = match &message {
        Message::Signed { reader, .. } => Some(Verification::best(
            (0..reader.num_signatures())
                .filter_map(|i| reader.signature(i).map(|sig| (i, sig)))
                .map(|(i, sig)| {
                    check(sig, known, |k| {
                        message.verify_nested_explicit(i, k).map(|_| ())
                    })
                })
                .collect(),
        )),
        _ => None,
    };
    let signed_by = signature
        .as_ref()
        .and_then(Verification::good_fingerprint)
        .map(str::to_owned);
    Ok(Decrypted {
        plaintext,
        signed_by,
        signature,
    })
}

/// Explains a failed decryption: wrong passphrase, other recipients, or rPGP's reason.
fn diagnose(
    key: &OrgKey,
    pw: &Password,
    recipients: Vec<String>,
    e: pgp::errors::Error,
) -> OpenPgpError {
    let ours: Vec<String> = std::iter::once(key.secret.primary_key.legacy_key_id())
        .chain(
            key.secret
                .secret_subkeys
                .iter()
                .map(|s| s.key.legacy_key_id()),
        )
        .map(|id| id.to_string().to_uppercase())
        .collect();
    if !recipients.is_empty()
        && !recipients
            .iter()
            .any(|r| ours.contains(r) || r == "0000000000000000")
    {
        return OpenPgpError::NotForThisKey {
            recipients: recipients.join(", "),
            ours: key.fingerprint(),
        };
    }
    match key.check_passphrase(pw) {
        Err(wrong) => wrong,
        Ok(()) => e.into(),
    }
}

/// Verifies a cleartext-signed block (`-----BEGIN PGP SIGNED MESSAGE-----`
/// ... `-----END PGP SIGNATURE-----`), which may sit inside a longer text.
pub fn verify_cleartext(text: &str, known: &[PublicKey]) -> Verification {
    let Some(block) = armored_block(text, "SIGNED MESSAGE", "SIGNATURE") else {
        return Verification::Bad {
            reason: "no cleartext-signed block found".into(),
        };
    };
    match CleartextSignedMessage::from_string(block) {
        Err(e) => Verification::Bad {
            reason: format!("malformed signed message: {e}"),
        },
        Ok((msg, _)) => {
            let signed = msg.signed_text();
            Verification::best(
                msg.signatures()
                    .iter()
                    .map(|sig| check(sig, known, |k| sig.verify(&Dyn(k), signed.as_bytes())))
                    .collect(),
            )
        }
    }
}

/// The text a cleartext-signed block signs, without armour and dash-escapes.
pub(crate) fn cleartext_text(block: &str) -> Option<String> {
    let (msg, _) = CleartextSignedMessage::from_string(block).ok()?;
    Some(msg.signed_text().replace("\r\n", "\n"))
}

/// Verifies a detached signature (armoured or binary) over `signed_bytes`,
/// e.g. the first part of a PGP/MIME `multipart/signed` message, which the
/// caller passes with CRLF line endings (RFC 3156, section 5).
pub fn verify_detached(signed_bytes: &[u8], signature: &[u8], known: &[PublicKey]) -> Verification {
    let sigs = match DetachedSignature::from_reader_many(signature) {
        Ok((sigs, _)) => sigs.collect::<pgp::errors::Result<Vec<_>>>(),
        Err(e) => Err(e),
    };
    match sigs {
        Err(e) => Verification::Bad {
            reason: format!("malformed signature: {e}"),
        },
        Ok(sigs) => Verification::best(
            sigs.iter()
                .map(|d| check(&d.signature, known, |k| d.verify(&Dyn(k), signed_bytes)))
                .collect(),
        ),
    }
}

/// Encrypts `plaintext` to `recipient` (SEIPDv1 with AES-256, which GnuPG
/// 2.2 reads), optionally signed by the organisation key; returns the
/// armoured message with CRLF line endings, ready for a MIME body.
pub fn encrypt_to(
    recipient: &PublicKey,
    plaintext: &[u8],
    sign_with: Option<&Signer<'_>>,
) -> Result<String> {
    let mut builder = MessageBuilder::from_bytes("", plaintext.to_vec())
        .seipd_v1(OsRng, SymmetricKeyAlgorithm::AES256);
    match recipient.encryption {
        Slot::Primary => builder.encrypt_to_key(OsRng, &recipient.key.primary_key)?,
        Slot::Subkey(i) => builder.encrypt_to_key(OsRng, &recipient.key.public_subkeys[i])?,
    };
    if let Some(signer) = sign_with {
        let primary = &signer.key.secret.primary_key;
        let (hashed, unhashed) = sig_subpackets(primary, pgp_time(signer.at)?)?;
        builder.sign_with_subpackets(
            primary,
            password(signer.passphrase),
            HashAlgorithm::Sha256,
            SubpacketConfig::UserDefined { hashed, unhashed },
        );
    }
    // rPGP reports a wrong passphrase as a generic failure: tell it apart.
    let armored = builder
        .to_armored_string(OsRng, ArmorOptions::default())
        .map_err(|e| match sign_with {
            Some(s) => s
                .key
                .check_passphrase(&password(s.passphrase))
                .err()
                .unwrap_or_else(|| e.into()),
            None => e.into(),
        })?;
    Ok(String::from_utf8_lossy(&crlf(armored.as_bytes())).into_owned())
}

/// Normalises line endings to CRLF, as MIME bodies and RFC 3156 signed
/// parts require; works on bytes so 8-bit content stays as it was.
pub(crate) fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' && (i == 0 || bytes[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Finds `-----BEGIN PGP {begin}-----` ... `-----END PGP {end}-----` in `text`.
pub(crate) fn armored_block<'t>(text: &'t str, begin: &str, end: &str) -> Option<&'t str> {
    let start = text.find(&format!("-----BEGIN PGP {begin}-----"))?;
    let end_marker = format!("-----END PGP {end}-----");
    let stop = start + text[start..].find(&end_marker)? + end_marker.len();
    Some(&text[start..stop])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{Gpg, now, org, pass, reporter_and};

    #[test]
    fn generated_key_reads_back_from_its_protected_blob() {
        let org = org();
        let fpr = org.fingerprint();
        assert_eq!(fpr.len(), 40);
        assert!(
            fpr.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
            "{fpr}"
        );
        assert!(
            org.public_armored()
                .starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----")
        );
        let blob = org.secret_protected();
        assert!(blob.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));
        let again = OrgKey::import(&blob, &pass()).expect("import");
        assert_eq!(again.fingerprint(), fpr);
        assert_eq!(again.public_key().fingerprint(), fpr);
        assert_eq!(
            org.public_key().user_ids(),
            ["Example Security <security@example.org>"]
        );
    }

    #[test]
    fn secret_key_blob_with_a_wrong_passphrase_is_refused() {
        let org = org();
        let err = OrgKey::import(&org.secret_protected(), &SecretString::from("guess"))
            .expect_err("must fail");
        assert!(
            matches!(err, OpenPgpError::WrongPassphrase { ref fingerprint } if *fingerprint == org.fingerprint())
        );
        assert_eq!(
            err.to_string(),
            format!("wrong passphrase for secret key {}", org.fingerprint())
        );
        let sealed = encrypt_to(&org.public_key(), b"x", None).expect("encrypt");
        let err = decrypt(&org, &SecretString::from("guess"), sealed.as_bytes(), &[])
            .expect_err("must fail");
        assert!(matches!(err, OpenPgpError::WrongPassphrase { .. }), "{err}");
    }

    #[test]
    fn gpg_reads_our_key_and_we_decrypt_what_gpg_encrypts_to_it() {
        let org = org();
        let gpg = Gpg::new();
        gpg.import(&org.public_armored());
        let listing =
            String::from_utf8(gpg.ok(&["--with-colons", "--list-keys", &org.fingerprint()], b""))
                .expect("utf-8");
        // GnuPG algorithm ids: 22 = EdDSA (ed25519), 18 = ECDH (cv25519).
        assert!(
            listing
                .lines()
                .any(|l| l.starts_with("pub:") && l.split(':').nth(3) == Some("22")),
            "{listing}"
        );
        assert!(
            listing
                .lines()
                .any(|l| l.starts_with("sub:") && l.split(':').nth(3) == Some("18")),
            "{listing}"
        );
        let report = "SQL injection in /search?q=, PoC attached.\n";
        let sealed = gpg.ok(
            &["--encrypt", "--armor", "-r", &org.fingerprint()],
            report.as_bytes(),
        );
        let opened = decrypt(&org, &pass(), &sealed, &[]).expect("decrypt");
        assert_eq!(opened.plaintext, report.as_bytes());
        assert_eq!((opened.signed_by, opened.signature), (None, None));

        // The stored blob moves to GnuPG too (a way out of Vulndesk).
        gpg.import(&org.secret_protected());
        let to_us = encrypt_to(&org.public_key(), b"round trip\n", None).expect("encrypt");
        assert_eq!(gpg.ok(&["--decrypt"], to_us.as_bytes()), b"round trip\n");
    }

    #[test]
    fn gpg_signed_and_encrypted_report_names_the_reporter() {
        let org = org();
        let (gpg, reporter, reporter_key) = reporter_and(&org);
        assert_eq!(reporter_key.fingerprint(), reporter);
        let sealed = gpg.sign_encrypt(&reporter, &org.fingerprint(), b"signed report\n");
        let opened =
            decrypt(&org, &pass(), &sealed, std::slice::from_ref(&reporter_key)).expect("decrypt");
        assert_eq!(opened.plaintext, b"signed report\n");
        assert_eq!(opened.signed_by.as_deref(), Some(reporter.as_str()));
        let unknown = decrypt(&org, &pass(), &sealed, &[]).expect("decrypt");
        assert_eq!(
            unknown.signature,
            Some(Verification::UnknownKey {
                issuer: reporter.clone()
            })
        );
        assert_eq!(unknown.signed_by, None);
    }

    #[test]
    fn gpg_clearsigned_and_detached_signatures_verify_and_tampering_is_caught() {
        let org = org();
        let (gpg, reporter, reporter_key) = reporter_and(&org);
        let known = std::slice::from_ref(&reporter_key);
        let signed =
            String::from_utf8(gpg.ok(&["--clearsign", "-u", &reporter], b"I found a bug.\n"))
                .expect("utf-8");
        let good = Verification::Good {
            fingerprint: reporter.clone(),
        };
        assert_eq!(
            verify_cleartext(&format!("Hi,\n{signed}\nthanks"), known),
            good
        );
        let tampered = signed.replace("I found a bug.", "I found no bug.");
        assert!(matches!(
            verify_cleartext(&tampered, known),
            Verification::Bad { .. }
        ));
        assert_eq!(
            verify_cleartext(&signed, &[]),
            Verification::UnknownKey {
                issuer: reporter.clone()
            }
        );
        assert!(matches!(
            verify_cleartext("no signature here", known),
            Verification::Bad { .. }
        ));

        let data = b"Content-Type: text/plain\r\n\r\nbody\r\n";
        let signature = gpg.ok(&["--detach-sign", "--armor", "-u", &reporter], data);
        assert_eq!(verify_detached(data, &signature, known), good);
        assert!(matches!(
            verify_detached(
                b"Content-Type: text/plain\r\n\r\nb0dy\r\n",
                &signature,
                known
            ),
            Verification::Bad { .. }
        ));
    }

    #[test]
    fn public_keys_that_cannot_receive_mail_are_refused_with_the_reason() {
        let gpg = Gpg::new();
        assert!(matches!(
            PublicKey::parse("hello", now()),
            Err(OpenPgpError::NotArmored {
                expected: "PUBLIC KEY BLOCK"
            })
        ));
        let signing_only = gpg.signing_key("sign-only@example.org", &[], "2y");
        let err =
            PublicKey::parse(&gpg.export(&signing_only), now()).expect_err("no encryption key");
        assert!(
            matches!(err, OpenPgpError::NoEncryptionKey { ref fingerprint } if *fingerprint == signing_only),
            "{err}"
        );

        let revoked = gpg.reporter_key("revoked@example.org");
        gpg.revoke(&revoked);
        let err = PublicKey::parse(&gpg.export(&revoked), now()).expect_err("revoked");
        assert!(matches!(err, OpenPgpError::Revoked { .. }), "{err}");

        let expired = gpg.signing_key(
            "expired@example.org",
            &["--faked-system-time", "20200101T000000"],
            "1d",
        );
        let err = PublicKey::parse(&gpg.export(&expired), now()).expect_err("expired");
        let OpenPgpError::Expired { at, .. } = err else {
            panic!("{err}")
        };
        assert_eq!(
            at,
            "2020-01-02T00:00:00Z"
                .parse::<jiff::Timestamp>()
                .expect("time")
        );
    }
}
