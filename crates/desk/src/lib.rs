//! Vulndesk's application layer: every use case (open a case, append to it, rebuild what
//! is derived from the logs, ...) over the pure core, the store and mail. It knows no HTTP:
//! the web and the command line are adapters that call it and map [`DeskError`] to their
//! own answers, each in one place.
//!
//! Every case write goes through [`Desk::append`], which decides the write on the log head
//! it read and appends only if that is still the head, deciding again when another write
//! got there first: a projection always equals a rebuild from the log.

pub mod accounts;
pub mod advisories;
pub mod attachments;
pub mod cases;
pub mod coordination;
pub mod cve_services;
mod error;
pub mod followup;
pub mod intake;
pub mod outbound;
mod policies;
mod reminders;
pub mod reporter_token;
pub mod wkd;
pub mod workspace;

use std::sync::Arc;

use vulndesk_core::access::{CaseGrant, OrgRole, Person};
use vulndesk_core::email::EmailAddress;
use vulndesk_store::{PolicyVersion, Store};

pub use cases::{Appended, Rebuilt, Write};
pub use error::DeskError;
pub use intake::Opening;
pub use policies::PinnedPolicy;
pub use workspace::{Acted, Acting, Action};

/// The desk: the store and the parsed pinned policies. Cheap to clone.
#[derive(Clone)]
pub struct Desk {
    store: Store,
    policies: Arc<policies::PolicyCache>,
    /// The address people reach the desk at, for links in mail (`https://desk.example`).
    public_url: Option<String>,
    /// The sender of mail to the team, when the operator set one.
    mail_from: Option<EmailAddress>,
    /// Where parties' keys are looked up by their addresses.
    wkd: wkd::Directory,
    /// The CVE Services API and the user calling it for organisations that are CNAs
    /// (each organisation's short name comes from its policy).
    cve_services: Option<cve_services::Account>,
}

impl Desk {
    /// A desk over `store` with an empty policy cache.
    pub fn new(store: Store) -> Desk {
        Desk {
            store,
            policies: Arc::default(),
            public_url: None,
            mail_from: None,
            wkd: wkd::Directory::default(),
            cve_services: None,
        }
    }

    /// The same desk calling CVE Services at `account.url` as `account.user` (its `org` is
    /// replaced by each organisation's CNA short name).
    pub fn with_cve_services(mut self, account: Option<cve_services::Account>) -> Desk {
        self.cve_services = account;
        self
    }

    /// The same desk looking keys up at one Web Key Directory `origin` for every domain (a
    /// mirror, or a stand-in in tests) instead of each address's own.
    pub fn with_wkd_origin(mut self, origin: Option<String>) -> Desk {
        self.wkd = wkd::Directory { origin };
        self
    }

    /// The same desk sending team mail (reminders, mentions) from `from`.
    pub fn with_mail_from(mut self, from: Option<EmailAddress>) -> Desk {
        self.mail_from = from;
        self
    }

    /// The same desk with the address people reach it at, for links in mail.
    pub fn with_public_url(mut self, url: Option<String>) -> Desk {
        self.public_url = url
            .map(|u| u.trim_end_matches('/').to_owned())
            .filter(|u| !u.is_empty());
        self
    }

    /// The address people reach the desk at, if known.
    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    /// A link to `path` for mail: absolute when the public address is known.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.as_deref().unwrap_or_default())
    }

    /// Who team mail about `policy`'s cases comes from.
    pub fn notice_sender(&self, policy: &vulndesk_core::policy::Policy) -> String {
        vulndesk_mail::receipt::notice_sender(
            policy,
            self.mail_from.as_ref().map(EmailAddress::as_str),
        )
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The policy version with row id `id`, parsed.
    pub async fn policy(&self, id: i64) -> Result<Arc<PinnedPolicy>, DeskError> {
        self.policies.get(&self.store, id).await
    }

    /// An organisation's team with their roles. A role this version does not know (written
    /// by a newer one) gives no standing here, so its holder is left out.
    pub async fn team(
        &self,
        org_id: i64,
    ) -> Result<Vec<(vulndesk_store::UserRow, OrgRole)>, DeskError> {
        Ok(self
            .store
            .team_of(org_id)
            .await?
            .into_iter()
            .filter_map(|(user, role)| Some((user, OrgRole::parse(&role)?)))
            .collect())
    }

    /// Everything `user` holds: their role in each organisation and what they were added to
    /// each case as (no token scopes: the caller narrows those). Roles and grants this
    /// version does not know give nothing.
    pub async fn person(&self, user: &vulndesk_store::UserRow) -> Result<Person, DeskError> {
        let orgs = self
            .store
            .memberships(user.id)
            .await?
            .into_iter()
            .filter_map(|(org, role)| Some((org, OrgRole::parse(&role)?)))
            .collect();
        let cases = self
            .store
            .case_grants(user.id)
            .await?
            .into_iter()
            .filter_map(|(case, grant)| Some((case, CaseGrant::parse(&grant)?)))
            .collect();
        Ok(Person {
            user_id: user.id,
            admin: user.admin,
            orgs,
            cases,
            // Read only where a route asks for them (`party_cases`): most requests are the
            // team's, and would pay a query for nothing.
            party_cases: Default::default(),
            scopes: None,
        })
    }

    /// The cases the parties `user_id` answers for are invited to.
    pub async fn party_cases(
        &self,
        user_id: i64,
    ) -> Result<std::collections::BTreeSet<i64>, DeskError> {
        Ok(self
            .store
            .party_invitations(user_id)
            .await?
            .into_iter()
            .map(|(case, ..)| case)
            .collect())
    }

    /// `row`, parsed (or taken from the cache).
    pub fn parse_policy(&self, row: &PolicyVersion) -> Result<Arc<PinnedPolicy>, DeskError> {
        self.policies.parse(row)
    }
}
