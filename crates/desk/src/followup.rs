//! What a reporter does after filing, authorised by their token: reply (with files), set the
//! OpenPGP key mail to them is encrypted to, replace their secret link. The same for the
//! portal's pages and the reporter API; decided by the core's [`command::decide`] like the
//! team's actions.

use jiff::Timestamp;
use vulndesk_core::actor::Actor;
use vulndesk_core::case::Channel;
use vulndesk_core::command::{By, Command, Context};
use vulndesk_core::policy::Policy;
use vulndesk_mail::openpgp::PublicKey;
use vulndesk_store::{CaseRow, Effects, EventRow, NewReporterKey};

use crate::attachments::{self, Upload};
use crate::intake::{self, DESCRIPTION_MAX_BYTES};
use crate::reporter_token::ReporterToken;
use crate::{Appended, Desk, DeskError};

/// Longest armoured public key accepted, in bytes: a key with many certifications is a few
/// dozen KiB; anything larger is not worth parsing.
pub const KEY_MAX_BYTES: usize = 64 * 1024;

/// What is wrong with a reply before it is decided: a body over the description's limit,
/// files beyond the policy's limits. Every problem, so a form can show them all.
pub fn reply_problems(policy: &Policy, body: &str, uploads: &[Upload]) -> Vec<DeskError> {
    let mut problems = Vec::new();
    if body.trim().is_empty() && uploads.is_empty() {
        problems.push(DeskError::invalid(
            "body",
            "body must not be empty: write a reply or attach a file",
        ));
    }
    if body.len() > DESCRIPTION_MAX_BYTES {
        problems.push(DeskError::invalid(
            "body",
            format!(
                "body is {} bytes long; at most {DESCRIPTION_MAX_BYTES} are allowed",
                body.len()
            ),
        ));
    }
    problems.extend(intake::file_problems(policy, uploads));
    problems
}

impl Desk {
    /// Records the reporter's `command` on `case`, with `effects`, if the token they
    /// `presented` is still the case's when the write lands.
    async fn as_reporter(
        &self,
        case: &CaseRow,
        presented: Option<Vec<u8>>,
        command: Command,
        effects: Effects,
        at: Timestamp,
    ) -> Result<Appended, DeskError> {
        let pinned = self.policy(case.policy_version_id).await?;
        let ctx = Context {
            by: By::Reporter,
            today: pinned.policy.calendar().local_date(at),
            officers: &[],
            org_cases: &[],
            member: None,
        };
        let effects = Effects {
            reporter_token: presented,
            ..effects
        };
        self.decide_and_append(
            case,
            &pinned,
            &Actor::Reporter,
            &ctx,
            command,
            effects,
            at,
            None,
        )
        .await
    }

    /// Appends the reply (`reporter_reply`, unless only files were sent) and one
    /// `attachment_added` per file, with the files, in one transaction. Returns the events
    /// written.
    pub async fn reply(
        &self,
        case: &CaseRow,
        presented: Option<Vec<u8>>,
        body: String,
        uploads: Vec<Upload>,
        channel: Channel,
        at: Timestamp,
    ) -> Result<Vec<EventRow>, DeskError> {
        let pinned = self.policy(case.policy_version_id).await?;
        if let Some(problem) = reply_problems(&pinned.policy, &body, &uploads)
            .into_iter()
            .next()
        {
            return Err(problem);
        }
        let (files, stored) = attachments::files(uploads);
        let effects = Effects {
            attachments: stored,
            ..Effects::default()
        };
        let command = Command::Reply {
            body,
            channel,
            files,
        };
        Ok(self
            .as_reporter(case, presented, command, effects, at)
            .await?
            .rows)
    }

    /// Records whether the parties coordinating on `case` may be told who the reporter is,
    /// if the token they `presented` is still the case's.
    pub async fn consent(
        &self,
        case: &CaseRow,
        presented: Option<Vec<u8>>,
        share_identity: bool,
        at: Timestamp,
    ) -> Result<(), DeskError> {
        self.as_reporter(
            case,
            presented,
            Command::Consent { share_identity },
            Effects::default(),
            at,
        )
        .await?;
        Ok(())
    }

    /// Checks an armoured public key (valid self-signatures, not revoked, not expired at
    /// `at`, able to encrypt) and records it: a `reporter_key_set` event naming its
    /// fingerprint, with the key stored in the same transaction. `field` names the input for
    /// errors. Returns the fingerprint.
    pub async fn set_key(
        &self,
        case: &CaseRow,
        presented: Option<Vec<u8>>,
        armored: &str,
        field: &str,
        at: Timestamp,
    ) -> Result<String, DeskError> {
        let key = public_key(armored, field, at)?;
        let fingerprint = key.fingerprint();
        let effects = Effects {
            reporter_key: Some(NewReporterKey {
                fingerprint: fingerprint.clone(),
                armored: key.armored(),
            }),
            ..Effects::default()
        };
        let command = Command::SetKey {
            fingerprint: fingerprint.clone(),
        };
        self.as_reporter(case, presented, command, effects, at)
            .await?;
        Ok(fingerprint)
    }

    /// Replaces the reporter's token: a `reporter_token_replaced` event and the new token's
    /// hash in one transaction, so the old token stops working with the commit. For a
    /// reporter who thinks their link leaked (forwarded mail, a shared screen, browser
    /// history).
    pub async fn replace_token(
        &self,
        case: &CaseRow,
        presented: Option<Vec<u8>>,
        at: Timestamp,
    ) -> Result<ReporterToken, DeskError> {
        let token = ReporterToken::generate()?;
        let effects = Effects {
            reporter_token_hash: Some(token.hash()),
            ..Effects::default()
        };
        self.as_reporter(case, presented, Command::ReplaceToken, effects, at)
            .await?;
        Ok(token)
    }
}

/// An armoured OpenPGP public key from outside (a reporter's, a party's), checked at `at`:
/// within [`KEY_MAX_BYTES`], valid self-signatures, not revoked, not expired, able to
/// encrypt. `field` names the input in errors.
pub(crate) fn public_key(
    armored: &str,
    field: &str,
    at: Timestamp,
) -> Result<PublicKey, DeskError> {
    if armored.trim().is_empty() {
        return Err(DeskError::invalid(
            field,
            format!("{field} must not be empty: paste an ASCII-armoured OpenPGP public key"),
        ));
    }
    if armored.len() > KEY_MAX_BYTES {
        return Err(DeskError::invalid(
            field,
            format!(
                "{field} is {} bytes long; at most {KEY_MAX_BYTES} are allowed",
                armored.len()
            ),
        ));
    }
    PublicKey::parse(armored.trim(), at).map_err(|e| DeskError::invalid(field, e.to_string()))
}
