//! Advisories: drafted from one or more cases, reviewed line by line and approved, credited,
//! given a CVE ID, published, revised and withdrawn, each step an event of the advisory's
//! own log (what the steps mean is the core's, [`lifecycle`]). Every write is decided on
//! the head it read and decided again when another write got there first, as for cases.
//!
//! Publishing also records the publication on every case the advisory covers (the case is
//! then disclosed and its disclosure clock met), after the gates before `publish-advisory`
//! were judged: approvals and reviews on the advisory's current draft, everything else on
//! each case.
//!
//! The organisation's latest policy says who publishes ([`Policy::publisher`]), how
//! advisories are named, and who reads drafts.

use std::collections::BTreeSet;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::Value;
use vulndesk_core::access::{AdvisoryRef, CaseGrant, OrgRole};
use vulndesk_core::actor::Actor;
use vulndesk_core::advisory::lifecycle::{self, Command, Fields, Part, Private, Recorded, State};
use vulndesk_core::advisory::{Advisory, CreditKind, LineRange, PartyStatement, Product};
use vulndesk_core::case::{self, Event as CaseEvent};
use vulndesk_core::policy::Policy;
use vulndesk_core::workflow::{self, Member};
use vulndesk_store::{AdvisoryEventRow, AdvisoryRow, CaseRow, NewEvent, StoreError};

use crate::cases::log as case_log;
use crate::cve_services::{Account, CveServices};
use crate::{Desk, DeskError, PinnedPolicy};

/// How many times a write that lost a race is decided again (see [`crate::cases`]).
const MAX_ATTEMPTS: usize = 16;

/// The formats an advisory is exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A CVE JSON 5 record.
    Cve,
    /// A CSAF 2.0 security advisory.
    Csaf,
    /// A CSAF 2.0 VEX document of the parties' statements.
    CsafVex,
    /// An OSV entry.
    Osv,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Cve, Format::Csaf, Format::CsafVex, Format::Osv];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Cve => "cve",
            Format::Csaf => "csaf",
            Format::CsafVex => "csaf-vex",
            Format::Osv => "osv",
        }
    }

    pub fn parse(text: &str) -> Result<Format, DeskError> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == text.trim())
            .ok_or_else(|| {
                DeskError::invalid(
                    "format",
                    format!(
                        "{:?} is not an export format; formats are cve, csaf, csaf-vex, osv",
                        text.trim()
                    ),
                )
            })
    }
}

/// An advisory as the desk reads it: its row, its log folded, and the policy it is
/// published under (its organisation's latest).
#[derive(Debug, Clone)]
pub struct AdvisoryView {
    pub row: AdvisoryRow,
    pub log: Vec<Recorded>,
    pub state: State,
    pub policy: Arc<PinnedPolicy>,
}

impl AdvisoryView {
    /// The organisation's slug, for its public addresses.
    pub fn org_slug(&self) -> &str {
        self.policy.policy.organisation.slug.as_str()
    }

    /// Its public page's path.
    pub fn public_path(&self) -> String {
        format!("/o/{}/advisories/{}", self.org_slug(), self.row.number)
    }

    /// The advisory as far as access is concerned: its cases and, while a draft, who the
    /// policy lets read it.
    pub fn access(&self) -> AdvisoryRef {
        AdvisoryRef {
            org_id: self.row.org_id,
            cases: self.row.cases.clone(),
            draft_readers: draft_readers(&self.policy.policy, &self.state),
        }
    }
}

/// What a teammate does to an advisory.
#[derive(Debug, Clone)]
pub enum AdvisoryAction {
    /// Replace the public fields with these (a new version of the draft; on a published
    /// advisory, changes that a revision then publishes).
    Edit(Fields),
    /// Replace the private fields (proof of concept, exploit details).
    SetPrivate(Private),
    /// Comment on a line of a part of the draft.
    Comment {
        part: Part,
        line: u32,
        body: String,
    },
    /// Approve the draft as it is, as a member of the groups the gates before publication
    /// name.
    Approve,
    /// Offer a credit: to the reporter of one of the cases (who answers in their portal), or
    /// under `name` for someone the team speaks for.
    OfferCredit {
        name: String,
        kind: CreditKind,
        reporter_of: Option<i64>,
    },
    /// Record the CVE ID (as it arrived from where it was requested, or one the CNA
    /// assigned by hand).
    AssignCve {
        cve: String,
    },
    /// Give it the next free CVE ID of the organisation's pool (a CNA's).
    AssignFromPool,
    /// Record where the CVE ID was requested; the policy's `cve_requested_at` when `None`.
    RequestCve {
        at: Option<String>,
    },
    Publish,
    Revise {
        note: String,
    },
    Withdraw {
        reason: String,
    },
}

/// Who acts on an advisory.
#[derive(Debug, Clone, Copy)]
pub struct Writer {
    pub user_id: i64,
}

impl Desk {
    /// The organisation's latest policy: what its advisories are published under.
    async fn org_policy(&self, org_id: i64) -> Result<Arc<PinnedPolicy>, DeskError> {
        let row =
            self.store.latest_policy(org_id).await?.ok_or_else(|| {
                DeskError::Internal(format!("organisation {org_id} has no policy"))
            })?;
        self.parse_policy(&row)
    }

    /// Advisory `id`, read and folded; `NotFound` if there is none.
    pub async fn advisory(&self, id: i64) -> Result<AdvisoryView, DeskError> {
        let row = self.store.advisory(id).await?.ok_or(DeskError::NotFound)?;
        self.view(row).await
    }

    async fn view(&self, row: AdvisoryRow) -> Result<AdvisoryView, DeskError> {
        let policy = self.org_policy(row.org_id).await?;
        let log = decode(row.id, &self.store.advisory_events(row.id).await?)?;
        Ok(AdvisoryView {
            state: lifecycle::state(&log),
            row,
            log,
            policy,
        })
    }

    /// The advisory `id` as far as access is concerned (see [`AdvisoryView::access`]).
    pub async fn advisory_ref(&self, id: i64) -> Result<Option<AdvisoryRef>, DeskError> {
        match self.store.advisory(id).await? {
            Some(row) => Ok(Some(self.view(row).await?.access())),
            None => Ok(None),
        }
    }

    /// The organisation's advisories, oldest first.
    pub async fn advisories_of_org(&self, org_id: i64) -> Result<Vec<AdvisoryView>, DeskError> {
        let mut views = Vec::new();
        for row in self.store.advisories_of_org(org_id).await? {
            views.push(self.view(row).await?);
        }
        Ok(views)
    }

    /// The advisories covering `case_id`, oldest first.
    pub async fn advisories_of_case(&self, case_id: i64) -> Result<Vec<AdvisoryView>, DeskError> {
        let mut views = Vec::new();
        for id in self.store.advisories_of_case(case_id).await? {
            views.push(self.advisory(id).await?);
        }
        Ok(views)
    }

    /// The organisation's published advisories, newest first.
    pub async fn published_advisories(
        &self,
        org_id: i64,
    ) -> Result<Vec<(AdvisoryView, Advisory)>, DeskError> {
        let mut published = Vec::new();
        for view in self.advisories_of_org(org_id).await? {
            if let Some(public) = self.public(&view).await? {
                published.push((view, public));
            }
        }
        published.sort_by_key(|(_, a)| std::cmp::Reverse(a.published()));
        Ok(published)
    }

    /// The published advisory `number` of the organisation `org_slug`, as the public reads
    /// it; `NotFound` for a draft or nothing.
    pub async fn public_advisory(
        &self,
        org_slug: &str,
        number: &str,
    ) -> Result<(AdvisoryView, Advisory), DeskError> {
        let org = self
            .store
            .organisation_by_slug(org_slug)
            .await?
            .ok_or(DeskError::NotFound)?;
        let row = self
            .store
            .advisory_by_number(org.id, number)
            .await?
            .ok_or(DeskError::NotFound)?;
        let view = self.view(row).await?;
        let public = self.public(&view).await?.ok_or(DeskError::NotFound)?;
        Ok((view, public))
    }

    /// The advisory as published, with the parties' approved statements; `None` before its
    /// publication. The only road to the renderers: private fields are not in it.
    pub async fn public(&self, view: &AdvisoryView) -> Result<Option<Advisory>, DeskError> {
        if !view.state.is_published() {
            return Ok(None);
        }
        let policy = &view.policy.policy;
        let mut publisher = policy
            .publisher()
            .map_err(|m| DeskError::Conflict { message: m })?;
        if publisher.cna.is_none() {
            // Not a CNA: the record is the one the CNA it asked assigns the ID under.
            publisher.cna = view
                .state
                .requested_at
                .as_deref()
                .or(policy.advisories.cve_requested_at.as_deref())
                .and_then(vulndesk_core::advisory::known_cna);
        }
        let statements = self.statements(view).await?;
        let url = self.absolute(&view.public_path(), &publisher.namespace);
        Ok(view
            .state
            .public(&view.row.number, &url, &publisher, statements))
    }

    /// `path` on the desk's public address, or under the publisher's namespace when the
    /// operator gave none (every format wants an absolute address).
    fn absolute(&self, path: &str, namespace: &str) -> String {
        match self.public_url() {
            Some(base) => format!("{base}{path}"),
            None => format!("{}{path}", namespace.trim_end_matches('/')),
        }
    }

    /// The approved statements of the parties invited to the advisory's cases, each with
    /// the products its registry entry names.
    async fn statements(&self, view: &AdvisoryView) -> Result<Vec<PartyStatement>, DeskError> {
        let registry = self.store.parties(view.row.org_id).await?;
        let mut statements: Vec<PartyStatement> = Vec::new();
        for case in &view.row.cases {
            let log = case_log(&self.store.events(*case).await?)?;
            for p in vulndesk_core::coordination::state(&log).parties {
                let (true, Some((s, _))) = (p.approved, p.statement) else {
                    continue;
                };
                if statements.iter().any(|x| x.party == p.invitee.name) {
                    continue;
                }
                let products = registry
                    .iter()
                    .find(|r| r.party.slug == p.invitee.party)
                    .map(|r| r.party.products.clone())
                    .unwrap_or_default();
                statements.push(PartyStatement {
                    party: p.invitee.name.clone(),
                    products,
                    status: s.status,
                    justification: s.justification,
                    statement: s.statement,
                });
            }
        }
        Ok(statements)
    }

    /// The formats the advisory has a document in (see [`formats_of`]); none for a draft.
    pub async fn formats(&self, view: &AdvisoryView) -> Result<Vec<Format>, DeskError> {
        Ok(self
            .public(view)
            .await?
            .as_ref()
            .map(formats_of)
            .unwrap_or_default())
    }

    /// The published advisory in `format`.
    pub async fn export(&self, view: &AdvisoryView, format: Format) -> Result<Value, DeskError> {
        let Some(public) = self.public(view).await? else {
            return Err(DeskError::Conflict {
                message: format!(
                    "{} is a draft: it is exported once published",
                    view.row.number
                ),
            });
        };
        render(&public, format)
    }

    /// Drafts an advisory for `case` (and `also`, further cases of the same organisation the
    /// writer works), its fields taken from `fields` or, when `None`, from the cases: title,
    /// CVSS vector, and the affected release lines with their fixed versions.
    pub async fn draft_advisory(
        &self,
        case: &CaseRow,
        org_id: i64,
        person: &vulndesk_core::access::Person,
        also: &[i64],
        fields: Option<Fields>,
    ) -> Result<AdvisoryView, DeskError> {
        let mut cases = vec![case.id];
        for &other in also {
            if cases.contains(&other) {
                continue;
            }
            let works = self.store.case_org(other).await? == Some(org_id)
                && vulndesk_core::access::standing(
                    person,
                    vulndesk_core::access::CaseRef { id: other, org_id },
                ) >= Some(vulndesk_core::access::Standing::Worker);
            if !works {
                return Err(DeskError::invalid(
                    "cases",
                    format!("case {other} is not a case of this organisation that you work"),
                ));
            }
            cases.push(other);
        }
        let policy = self.org_policy(org_id).await?;
        let fields = match fields {
            Some(f) => f,
            None => self.prefill(&policy.policy, &cases).await?,
        };
        let at = Timestamp::now();
        let actor = Actor::User(person.user_id);
        let events = lifecycle::decide(
            Command::Draft {
                cases: cases.clone(),
                fields,
            },
            &[],
            &actor.to_string(),
        )?;
        let first = stored(events, &actor.to_string(), at)?
            .into_iter()
            .next()
            .ok_or_else(|| DeskError::Internal("a draft without its event".into()))?;
        let year = policy.policy.calendar().local_date(at).year();
        let row = self
            .store
            .create_advisory(
                org_id,
                &policy.policy.advisory_prefix(),
                year,
                &cases,
                first,
            )
            .await?;
        self.view(row).await
    }

    /// A first draft from the cases: the first case's title and CVSS vector, and each
    /// case's product with its affected lines and their fixed versions.
    async fn prefill(&self, policy: &Policy, cases: &[i64]) -> Result<Fields, DeskError> {
        let mut fields = Fields::default();
        for id in cases {
            let case = self.store.case(*id).await?.ok_or(DeskError::NotFound)?;
            let pinned = self.policy(case.policy_version_id).await?;
            let log = case_log(&self.store.events(*id).await?)?;
            let summary = case::summary(&log);
            if fields.title.is_empty() {
                fields.title = summary.title.clone();
                fields.summary = summary.title.clone();
                fields.cvss.extend(summary.cvss.clone());
                fields.ssvc = summary.ssvc;
            }
            let Some(product) = log.iter().find_map(|r| match &r.event {
                CaseEvent::Reported { product, .. } => pinned.policy.product(product),
                _ => None,
            }) else {
                continue;
            };
            let lines: Vec<LineRange> = vulndesk_core::fixes::lines(&pinned.policy, &log)
                .into_iter()
                .filter(|l| l.affected == Some(true))
                .map(|l| LineRange {
                    introduced: first_version(&l.versions),
                    line: l.line,
                    fixed: l.released.map(|(version, _)| version),
                })
                .collect();
            if fields.products.iter().any(|p| p.name == product.name) {
                continue;
            }
            fields.products.push(Product {
                vendor: policy.organisation.name.clone(),
                name: product.name.clone(),
                package: None,
                lines,
            });
        }
        // A product with no affected line yet is left for the writer to fill in, rather
        // than drafted in a shape the checks refuse.
        fields.products.retain(|p| !p.lines.is_empty());
        Ok(fields)
    }

    /// Records `action` by `writer` on advisory `id`, decided on the log it read and
    /// decided again when another write got there first.
    pub async fn act_on_advisory(
        &self,
        id: i64,
        writer: Writer,
        action: AdvisoryAction,
    ) -> Result<AdvisoryView, DeskError> {
        let by = Actor::User(writer.user_id);
        let actor = by.to_string();
        for _ in 0..MAX_ATTEMPTS {
            let view = self.advisory(id).await?;
            let command = self.command(&view, writer, action.clone()).await?;
            let publishing = matches!(command, Command::Publish { .. });
            let events = lifecycle::decide(command, &view.log, &actor)?;
            if let Some(view) = self.try_append(&view, &actor, events).await? {
                if publishing {
                    self.mark_cases_published(&view, &by).await?;
                }
                return Ok(view);
            }
        }
        Err(kept_changing(id))
    }

    /// Appends `events`, decided on `view`, if the advisory's log still ends where `view`
    /// read it: the advisory after them, or `None` when another write got there first
    /// (the caller reads and decides again).
    async fn try_append(
        &self,
        view: &AdvisoryView,
        actor: &str,
        events: Vec<lifecycle::Event>,
    ) -> Result<Option<AdvisoryView>, DeskError> {
        let events = stored(events, actor, Timestamp::now())?;
        match self
            .store
            .append_advisory_events(view.row.id, view.row.head, events)
            .await
        {
            Err(StoreError::Conflict(_)) => Ok(None),
            written => {
                written?;
                Ok(Some(self.advisory(view.row.id).await?))
            }
        }
    }

    /// The core's command for `action` on the advisory as it is: what only the desk can
    /// add (the writer's groups, the gates' judgement over the cases, the policy's words).
    async fn command(
        &self,
        view: &AdvisoryView,
        writer: Writer,
        action: AdvisoryAction,
    ) -> Result<Command, DeskError> {
        let policy = &view.policy.policy;
        Ok(match action {
            AdvisoryAction::Edit(fields) => Command::Edit { fields },
            AdvisoryAction::SetPrivate(private) => Command::SetPrivate { private },
            AdvisoryAction::Comment { part, line, body } => Command::Comment { part, line, body },
            AdvisoryAction::Approve => {
                let member = self.member(view, writer.user_id).await?;
                let wrote_it = view.state.authors().contains(&writer.user_id);
                let groups = workflow::advisory_approval_groups(policy, &member, wrote_it)
                    .map_err(|e| DeskError::Conflict {
                        message: e.to_string(),
                    })?;
                Command::Approve { groups }
            }
            AdvisoryAction::OfferCredit {
                name,
                kind,
                reporter_of,
            } => Command::OfferCredit {
                name,
                kind,
                reporter_of,
            },
            AdvisoryAction::AssignCve { cve } => Command::AssignCve { cve },
            AdvisoryAction::AssignFromPool => {
                if policy.advisories.cna.is_none() {
                    return Err(DeskError::invalid(
                        "from_pool",
                        "only a CNA has a pool of reserved CVE IDs: record the ID that was assigned, or where it was requested",
                    ));
                }
                let cve = self
                    .store
                    .take_from_cve_pool(view.row.org_id, view.row.id, Timestamp::now())
                    .await?
                    .ok_or_else(|| DeskError::Conflict {
                        message: format!(
                            "{}'s pool of reserved CVE IDs is empty: an officer reserves more (vulndesk advisory reserve-cves, or POST /api/v1/orgs/{}/cve-ids)",
                            policy.organisation.name,
                            policy.organisation.slug.as_str()
                        ),
                    })?;
                Command::AssignCve { cve }
            }
            AdvisoryAction::RequestCve { at } => {
                let at = at
                    .filter(|a| !a.trim().is_empty())
                    .or_else(|| policy.advisories.cve_requested_at.clone());
                if policy.advisories.cna.is_some() && at.is_none() {
                    return Err(DeskError::invalid(
                        "at",
                        "this organisation is a CNA: assign an ID from its pool, or name where it was requested",
                    ));
                }
                Command::RequestCve {
                    at: at.unwrap_or_default(),
                }
            }
            AdvisoryAction::Publish => Command::Publish {
                cleared: self.clearance(view).await?,
            },
            AdvisoryAction::Revise { note } => Command::Revise { note },
            AdvisoryAction::Withdraw { reason } => Command::Withdraw { reason },
        })
    }

    /// What publishing the advisory still needs, in words; `None` when it may go out.
    pub async fn publication_blockers(
        &self,
        view: &AdvisoryView,
    ) -> Result<Option<String>, DeskError> {
        Ok(self.clearance(view).await?.err())
    }

    /// `user_id` as a member of the advisory's organisation, for its gates: their role, and
    /// what they were added to its first case as.
    async fn member(&self, view: &AdvisoryView, user_id: i64) -> Result<Member, DeskError> {
        let role: Option<OrgRole> = self
            .team(view.row.org_id)
            .await?
            .into_iter()
            .find(|(u, _)| u.id == user_id)
            .map(|(_, role)| role);
        let mut grant: Option<CaseGrant> = None;
        if let Some(first) = view.row.cases.first() {
            let log = case_log(&self.store.events(*first).await?)?;
            grant = case::summary(&log).grants.get(&user_id).copied();
        }
        Ok(Member {
            user_id,
            role,
            grant,
        })
    }

    /// Whether the gates before `publish-advisory` hold: approvals and reviews of the draft
    /// as it is, the other conditions and the case's own rules (a released fix, where the
    /// policy asks for one) on every case.
    async fn clearance(&self, view: &AdvisoryView) -> Result<Result<(), String>, DeskError> {
        let mut logs = Vec::new();
        let mut problems: Vec<String> = Vec::new();
        let today = view.policy.policy.calendar().local_date(Timestamp::now());
        for id in &view.row.cases {
            let case = self.store.case(*id).await?.ok_or(DeskError::NotFound)?;
            let pinned = self.policy(case.policy_version_id).await?;
            let log = case_log(&self.store.events(*id).await?)?;
            if let Err(e) = vulndesk_core::triage::decide_write(
                &pinned.policy,
                &log,
                &[CaseEvent::AdvisoryPublished { on: today }],
            ) {
                problems.push(format!("case {id}: {e}"));
            }
            logs.push(log);
        }
        problems.extend(lifecycle::missing_for_policy(
            &view.policy.policy,
            &view.state,
        ));
        // Every rendering names its publisher: a policy without a namespace cannot publish.
        if let Err(why) = view.policy.policy.publisher() {
            problems.push(why);
        }
        let slices: Vec<&[case::Recorded]> = logs.iter().map(Vec::as_slice).collect();
        if let Err(e) = workflow::advisory_clearance(
            &view.policy.policy,
            &slices,
            &view.state.standing_approvals(),
            &view.state.authors(),
        ) {
            problems.insert(0, e);
        }
        Ok(if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        })
    }

    /// Records the advisory's publication on every case it covers.
    async fn mark_cases_published(
        &self,
        view: &AdvisoryView,
        actor: &Actor,
    ) -> Result<(), DeskError> {
        let at = view
            .state
            .revisions
            .first()
            .map_or_else(Timestamp::now, |r| r.at);
        for id in &view.row.cases {
            let case = self.store.case(*id).await?.ok_or(DeskError::NotFound)?;
            let pinned = self.policy(case.policy_version_id).await?;
            let on = pinned.policy.calendar().local_date(at);
            self.append(&case, actor, Timestamp::now(), |log| {
                let events = vec![CaseEvent::AdvisoryPublished { on }];
                vulndesk_core::triage::decide_write(&pinned.policy, log, &events).map_err(|e| {
                    DeskError::Conflict {
                        message: format!(
                            "{} is published, but case {id} could not record it: {e}",
                            view.row.number
                        ),
                    }
                })?;
                Ok(crate::Write {
                    events,
                    effects: Default::default(),
                })
            })
            .await?;
        }
        Ok(())
    }

    /// The reporter of `case_id` accepts (under `name`) or declines credit `credit` on
    /// advisory `advisory_id`, which must be offered to them.
    pub async fn answer_credit(
        &self,
        case_id: i64,
        advisory_id: i64,
        credit: u32,
        accepted: bool,
        name: Option<String>,
    ) -> Result<AdvisoryView, DeskError> {
        // Which case's reporter: an advisory may cover several.
        let actor = format!("reporter:{case_id}");
        for _ in 0..MAX_ATTEMPTS {
            let view = self.advisory(advisory_id).await?;
            let offered = view
                .state
                .credits
                .iter()
                .any(|c| c.id == credit && c.reporter_of == Some(case_id));
            if !offered {
                return Err(DeskError::NotFound);
            }
            let command = Command::AnswerCredit {
                id: credit,
                accepted,
                name: name.clone(),
            };
            let events = lifecycle::decide(command, &view.log, &actor)?;
            if let Some(view) = self.try_append(&view, &actor, events).await? {
                return Ok(view);
            }
        }
        Err(kept_changing(advisory_id))
    }

    /// The CVE Services client for the CNA `policy` says the organisation is.
    fn cve_client(&self, policy: &Policy) -> Result<CveServices, DeskError> {
        let Some(cna) = &policy.advisories.cna else {
            return Err(DeskError::Conflict {
                message: format!(
                    "{} is not a CNA (its policy has no [advisories] cna): its CVE IDs are requested elsewhere",
                    policy.organisation.name
                ),
            });
        };
        let Some(account) = &self.cve_services else {
            return Err(DeskError::Conflict {
                message: "CVE Services is not configured: start the desk with VULNDESK_CVE_SERVICES_URL, VULNDESK_CVE_SERVICES_USER and VULNDESK_CVE_SERVICES_KEY".into(),
            });
        };
        CveServices::new(Account {
            org: cna.short_name.clone(),
            ..account.clone()
        })
        .map_err(unavailable)
    }

    /// Reserves `amount` CVE IDs for this year at the CVE Program for the organisation (a
    /// CNA) and adds them to its pool; the IDs reserved (fewer than asked when its quota
    /// runs out).
    pub async fn reserve_cves(&self, org_id: i64, amount: u32) -> Result<Vec<String>, DeskError> {
        if !(1..=100).contains(&amount) {
            return Err(DeskError::invalid(
                "amount",
                "reserve from 1 to 100 IDs at a time",
            ));
        }
        let policy = self.org_policy(org_id).await?;
        let client = self.cve_client(&policy.policy)?;
        let now = Timestamp::now();
        let year = policy.policy.calendar().local_date(now).year();
        let ids: Vec<String> = client
            .reserve(year, amount)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|r| r.cve_id)
            .collect();
        self.store.add_to_cve_pool(org_id, &ids, now).await?;
        Ok(ids)
    }

    /// The organisation's pool of reserved CVE IDs.
    pub async fn cve_pool(&self, org_id: i64) -> Result<Vec<vulndesk_store::PooledCve>, DeskError> {
        Ok(self.store.cve_pool(org_id).await?)
    }

    /// Sends the published advisory's CVE record to the CVE Program (the organisation is
    /// the CNA of its ID): published, updated after a revision, or rejected once
    /// withdrawn; records the record's new state on the advisory.
    pub async fn send_cve_record(
        &self,
        id: i64,
        writer: Writer,
    ) -> Result<(AdvisoryView, String), DeskError> {
        let view = self.advisory(id).await?;
        let client = self.cve_client(&view.policy.policy)?;
        let (Some(cve), true) = (view.state.cve.clone(), view.state.is_published()) else {
            return Err(DeskError::Conflict {
                message: "only a published advisory with its CVE ID has a record to send".into(),
            });
        };
        if !view.state.cve_record_behind() {
            return Err(DeskError::Conflict {
                message: format!("the record of {cve} is as published here already"),
            });
        }
        let record = self.export(&view, Format::Cve).await?;
        let container = &record["containers"]["cna"];
        let current = client.state(&cve).await.map_err(unavailable)?;
        let state = if view.state.withdrawn.is_some() {
            client
                .reject(&cve, container, current == "REJECTED")
                .await
                .map_err(unavailable)?;
            "REJECTED"
        } else {
            client
                .publish(&cve, container, current == "PUBLISHED")
                .await
                .map_err(unavailable)?;
            "PUBLISHED"
        };
        let actor = Actor::User(writer.user_id).to_string();
        for _ in 0..MAX_ATTEMPTS {
            let view = self.advisory(id).await?;
            let command = Command::RecordCveSent {
                state: state.to_owned(),
            };
            let events = lifecycle::decide(command, &view.log, &actor)?;
            if let Some(view) = self.try_append(&view, &actor, events).await? {
                return Ok((view, state.to_owned()));
            }
        }
        Err(kept_changing(id))
    }

    /// The credits offered to the reporter of `case_id`, by advisory.
    pub async fn credits_for_reporter(
        &self,
        case_id: i64,
    ) -> Result<Vec<(AdvisoryView, Vec<lifecycle::OfferedCredit>)>, DeskError> {
        let mut offered = Vec::new();
        for view in self.advisories_of_case(case_id).await? {
            let credits: Vec<_> = view
                .state
                .credits
                .iter()
                .filter(|c| c.reporter_of == Some(case_id))
                .cloned()
                .collect();
            if !credits.is_empty() {
                offered.push((view, credits));
            }
        }
        Ok(offered)
    }
}

/// CVE Services refused or could not be reached: nothing was recorded here.
fn unavailable(e: crate::cve_services::CveServicesError) -> DeskError {
    match e {
        crate::cve_services::CveServicesError::Refused { .. } => DeskError::Conflict {
            message: e.to_string(),
        },
        other => DeskError::Unavailable(other.to_string()),
    }
}

fn kept_changing(id: i64) -> DeskError {
    DeskError::Conflict {
        message: format!(
            "advisory {id} kept changing while this was being recorded; nothing was recorded; reload it and try again"
        ),
    }
}

/// The roles whose holders read a draft under `policy`; `None` when every reader of its
/// cases does, or once it is published.
fn draft_readers(policy: &Policy, state: &State) -> Option<Vec<OrgRole>> {
    if state.is_published() || policy.advisories.drafts.is_empty() {
        return None;
    }
    let mut roles: BTreeSet<OrgRole> = BTreeSet::new();
    for group in &policy.advisories.drafts {
        roles.extend(
            workflow::group_roles(policy, group.as_str())
                .unwrap_or_default()
                .iter()
                .copied(),
        );
    }
    Some(roles.into_iter().collect())
}

/// The formats the published `advisory` has a document in: no CVE record without a CVE
/// ID, no VEX without a party's approved statement.
pub fn formats_of(advisory: &Advisory) -> Vec<Format> {
    Format::ALL
        .into_iter()
        .filter(|f| match f {
            Format::Cve => advisory.cve.is_some(),
            Format::CsafVex => !advisory.statements.is_empty(),
            Format::Csaf | Format::Osv => true,
        })
        .collect()
}

/// The published advisory in `format`.
pub fn render(advisory: &Advisory, format: Format) -> Result<Value, DeskError> {
    use vulndesk_formats::{csaf, cve, osv};
    let rendered = match format {
        Format::Cve => cve::record(advisory),
        Format::Csaf => csaf::advisory(advisory),
        Format::CsafVex => csaf::vex(advisory),
        Format::Osv => osv::entry(advisory),
    };
    rendered.map_err(|e| DeskError::Conflict {
        message: format!("{e}: add it, then export again"),
    })
}

/// The lower bound of a line's versions (`>=5.7.0, <5.8` gives `5.7.0`), or `0` when it has
/// none: a first guess the writer corrects.
fn first_version(versions: &str) -> String {
    versions
        .split(',')
        .find_map(|part| part.trim().strip_prefix(">="))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "0".to_owned())
}

fn decode(id: i64, rows: &[AdvisoryEventRow]) -> Result<Vec<Recorded>, DeskError> {
    rows.iter()
        .map(|row| {
            // Only the position is reported: serde's message may quote the draft.
            let event = serde_json::from_str(&row.payload).map_err(|e| {
                DeskError::Internal(format!(
                    "event {} of advisory {id} does not decode (line {} column {})",
                    row.seq,
                    e.line(),
                    e.column()
                ))
            })?;
            Ok(Recorded {
                at: row.at,
                actor: row.actor.clone(),
                event,
            })
        })
        .collect()
}

fn stored(
    events: Vec<lifecycle::Event>,
    actor: &str,
    at: Timestamp,
) -> Result<Vec<NewEvent>, DeskError> {
    events
        .iter()
        .map(|event| {
            let payload = serde_json::to_value(event).map_err(|e| {
                DeskError::Internal(format!("cannot encode an advisory event: {e}"))
            })?;
            let kind = payload
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("event")
                .to_owned();
            Ok(NewEvent {
                kind,
                actor: actor.to_owned(),
                at,
                payload,
            })
        })
        .collect()
}
