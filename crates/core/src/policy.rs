//! Policy as code: the TOML file an organisation writes, parsed into values the
//! rest of Vulndesk can trust. The format is documented in `docs/policy.md`.

use std::fmt;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde::de::{self, Deserializer};

use crate::calendar::{Calendar, HolidaySet};
use crate::duration::Period;

/// The newest policy file format this build understands.
pub const FORMAT: u32 = 1;

/// A parsed, validated policy. Built only by [`Policy::parse`]: it has no `Deserialize` and
/// a private field, so no other code can make one that skipped validation or the calendar.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Format version of the file, so old files keep loading as the format grows.
    pub format: u32,
    pub organisation: Organisation,
    pub calendar: CalendarSpec,
    pub products: Vec<Product>,
    pub response: Response,
    pub disclosure: Disclosure,
    pub intake: Intake,
    pub triage: Triage,
    pub roles: Roles,
    pub workflow: Workflow,
    pub coordination: Coordination,
    pub bounty: Option<Bounty>,
    pub advisories: Advisories,
    /// Built from `calendar` once at load time; the hot path never re-parses it.
    built_calendar: Calendar,
}

/// A policy file as read, before any rule that spans keys is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    format: u32,
    organisation: Organisation,
    calendar: CalendarSpec,
    #[serde(rename = "product", default)]
    products: Vec<Product>,
    #[serde(default)]
    response: Response,
    #[serde(default)]
    disclosure: Disclosure,
    #[serde(default)]
    intake: Intake,
    #[serde(default)]
    triage: Triage,
    #[serde(default)]
    roles: Roles,
    #[serde(default)]
    workflow: Workflow,
    #[serde(default)]
    coordination: Coordination,
    bounty: Option<Bounty>,
    #[serde(default)]
    advisories: Advisories,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    pub slug: Slug,
    pub name: String,
    pub website: Option<String>,
    /// security.txt `Contact` values, in order of preference (`mailto:` or `https:`).
    pub contact: Vec<String>,
    #[serde(default)]
    pub preferred_languages: Vec<String>,
    /// security.txt `Encryption` values: where the organisation's OpenPGP key is.
    #[serde(default)]
    pub encryption: Vec<String>,
    /// Where the human-readable policy is published, and where its history can be read.
    pub policy_url: Option<String>,
    pub policy_history_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    pub timezone: TzName,
    #[serde(default = "default_weekend")]
    pub weekend: Vec<Day>,
    #[serde(default)]
    pub holidays: Vec<Holidays>,
    #[serde(default)]
    pub extra_holidays: Vec<Date>,
}

fn default_weekend() -> Vec<Day> {
    vec![Day(Weekday::Saturday), Day(Weekday::Sunday)]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub slug: Slug,
    pub name: String,
    pub repository: Option<String>,
    /// Version ranges that receive security fixes, e.g. `">=2.0.0, <3.0.0"`.
    #[serde(default)]
    pub supported: Vec<String>,
    /// Version ranges explicitly out of support; reports against them may be declined.
    #[serde(default)]
    pub unsupported: Vec<String>,
    /// Free text for the supported-versions table when ranges cannot say it
    /// (FreePBX: "current stable, unreleased future versions, and one major release behind").
    pub support_statement: Option<String>,
    /// The product's release lines: each case tracks its fix per line (see
    /// [`crate::fixes`]), and a line's versions count as supported or unsupported like the
    /// ranges above.
    #[serde(default, rename = "line")]
    pub lines: Vec<ReleaseLine>,
}

/// A release line of a product (FreePBX's current stable, next and previous majors;
/// SalesTim's 2.x).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseLine {
    /// Its name, as the team says it: `17`, `2.x`.
    pub name: String,
    /// Its versions, a semver requirement: `">=17.0.0, <18.0.0"`.
    pub versions: String,
    /// Whether it receives security fixes (default true).
    #[serde(default = "yes")]
    pub supported: bool,
    /// What the line is, in the policy's words: "current stable", "one major release behind".
    pub note: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    pub acknowledge: Option<Acknowledge>,
    /// Time to resolve a report, counted from the report.
    pub resolve: Option<Period>,
    /// Longest silence towards the reporter before the team is reminded to write.
    pub update_reporter_every: Option<Period>,
    /// How long before a deadline the team's last action may be for a passed deadline not
    /// to be escalated; default 2 days, the reminders' 48 hours.
    pub escalation_margin: Option<Period>,
}

/// Who may stop the acknowledgement clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AckBy {
    /// Any acknowledgement, the automatic receipt included.
    Any,
    /// Only a team member's message to the reporter: the automatic receipt does not count.
    Human,
}

/// Written either as a period (`acknowledge = "3 business days"`, any acknowledgement
/// counts) or as a table (`acknowledge = { within = "3 business days", by = "human" }`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct Acknowledge {
    /// None where the policy promises no number ("as soon as possible").
    pub within: Option<Period>,
    #[serde(default = "ack_by_any")]
    pub by: AckBy,
    /// How the public policy words the promise when there is no number.
    pub wording: Option<String>,
}

impl<'de> Deserialize<'de> for Acknowledge {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> de::Visitor<'de> for Either {
            type Value = Acknowledge;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a period such as \"3 business days\" or a table { within, by, wording }",
                )
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Acknowledge, E> {
                let within = Period::parse(text).map_err(E::custom)?;
                Ok(Acknowledge {
                    within: Some(within),
                    by: AckBy::Any,
                    wording: None,
                })
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Acknowledge, A::Error> {
                Acknowledge::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_any(Either)
    }
}

fn ack_by_any() -> AckBy {
    AckBy::Any
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NonBusinessDay {
    /// A deadline landing on a weekend or holiday moves to the next business day.
    NextBusinessDay,
    /// Deadlines stay where they land.
    #[default]
    Keep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReporterMayPublish {
    /// When our disclosure deadline arrives (or our disclosure, if sooner).
    AtDisclosure,
    /// Alongside our published advisory, not before.
    WithAdvisory,
    /// Once the mitigation period after the fix release has passed.
    AfterMitigation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PublishStyle {
    /// Component, affected and fixed versions, credit, CVE: no exploit details.
    Abstract,
    /// Full technical details.
    Full,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disclosure {
    /// Public disclosure this long after the report.
    pub deadline: Option<Period>,
    #[serde(default)]
    pub on_non_business_day: NonBusinessDay,
    /// A fix scheduled before the deadline for a day within this period after it
    /// delays disclosure to that day.
    pub patch_grace: Option<Period>,
    /// A fix released before the deadline brings disclosure forward to the release.
    #[serde(default)]
    pub fix_release_brings_forward: bool,
    /// Deadline once active exploitation is observed, counted from the observation.
    pub actively_exploited: Option<Period>,
    /// A goal for the whole process, report to public disclosure (FreePBX's 60 days),
    /// tracked but not enforced.
    pub target: Option<Goal>,
    /// After our public disclosure, before the reporter's full disclosure.
    pub mitigation_period: Option<Period>,
    /// An advisory is published only once a fix has been released (FreePBX, seed 001:
    /// "Once an issue has been verified and fixed an abstract public disclosure will be
    /// released").
    #[serde(default)]
    pub publish_requires_fix: bool,
    pub reporter_may_publish: Option<ReporterMayPublish>,
    pub publish: Option<PublishStyle>,
    /// What the public advisory contains, in order.
    #[serde(default)]
    pub advisory_fields: Vec<String>,
    /// Whether we ever publish functional exploit details ourselves.
    #[serde(default)]
    pub publish_exploit_details: bool,
    /// `request` (we obtain one), `if-available`, or `none`.
    pub cve: Option<String>,
    /// Where advisories are published and announced, e.g. `github-advisory`, `mailing-list:...`.
    #[serde(default)]
    pub channels: Vec<String>,
}

impl Disclosure {
    /// How the policy words its goal, for the clock's derivation.
    pub fn target_wording(&self) -> &str {
        self.target
            .as_ref()
            .and_then(|g| g.wording.as_deref())
            .unwrap_or(
                "a goal for the entire process, from the report to public disclosure: not a deadline for the fix, and not enforced",
            )
    }
}

/// Written as a period (`target = "45 days"`) or as a table
/// (`target = { within = "60 days", wording = "..." }`), the wording the policy's own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct Goal {
    pub within: Period,
    pub wording: Option<String>,
}

impl<'de> Deserialize<'de> for Goal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> de::Visitor<'de> for Either {
            type Value = Goal;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a period such as \"60 days\" or a table { within, wording }")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Goal, E> {
                Ok(Goal {
                    within: Period::parse(text).map_err(E::custom)?,
                    wording: None,
                })
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Goal, A::Error> {
                Goal::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_any(Either)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intake {
    /// Ways reports are accepted: `web`, `api`, `email:ADDRESS`, `github-private`.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Where reports must not go (public trackers, forums), named so the form can warn.
    #[serde(default)]
    pub not_via: Vec<String>,
    /// Text of the automatic receipt, in one language or several; the acknowledgement
    /// rules decide whether it stops a clock.
    pub receipt: Option<Receipt>,
    #[serde(default, rename = "field")]
    pub fields: Vec<IntakeField>,
    /// Largest file a reporter may attach, in bytes; default
    /// [`Intake::DEFAULT_MAX_ATTACHMENT_BYTES`].
    pub max_attachment_bytes: Option<u64>,
    /// Most files one submission (a report or a reply) may carry; default
    /// [`Intake::DEFAULT_MAX_ATTACHMENTS`].
    pub max_attachments: Option<u32>,
}

impl Intake {
    /// 10 MiB: room for a proof of concept, a packet capture or a screen recording.
    pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;
    pub const DEFAULT_MAX_ATTACHMENTS: u32 = 5;

    /// Whether the policy offers the channel `kind` (`web`, `api`, `email`, ...): an entry
    /// of `channels` equal to it or starting with `kind:` (`email:security@example.org`). A
    /// policy that lists no channels restricts none.
    pub fn offers(&self, kind: &str) -> bool {
        self.channels.is_empty()
            || self.channels.iter().any(|c| {
                c == kind
                    || c.strip_prefix(kind)
                        .is_some_and(|rest| rest.starts_with(':'))
            })
    }

    /// The channels the policy offers, for messages: `web, api, github-private`.
    pub fn offered_channels(&self) -> String {
        self.channels.join(", ")
    }

    /// The per-file limit in force.
    pub fn attachment_bytes_limit(&self) -> u64 {
        self.max_attachment_bytes
            .unwrap_or(Self::DEFAULT_MAX_ATTACHMENT_BYTES)
    }

    /// The per-submission file count limit in force.
    pub fn attachments_limit(&self) -> u32 {
        self.max_attachments
            .unwrap_or(Self::DEFAULT_MAX_ATTACHMENTS)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeField {
    pub id: Slug,
    pub label: String,
    #[serde(default)]
    pub required: bool,
    pub help: Option<String>,
    #[serde(default)]
    pub kind: FieldKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldKind {
    #[default]
    Text,
    Line,
    Attachment,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triage {
    /// The policy's definition of a vulnerability, shown to triagers.
    pub vulnerability_definition: Option<String>,
    /// Reasons a report may be declined, by id: `not-a-vulnerability`, `unsupported-version`,
    /// `insecure-configuration`, `duplicate`, `out-of-scope`.
    #[serde(default)]
    pub decline_reasons: Vec<String>,
    /// Whether a verified report becomes a private case visible to staff and the reporter only.
    #[serde(default)]
    pub private_after_verification: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// Each case is managed by exactly one security officer.
    #[serde(default)]
    pub officer_per_case: bool,
    /// Name of the group that reviews drafts and advisories (Signalen's steering group).
    pub reviewer_group: Option<String>,
    /// What accepting a case that has no officer does, where `officer_per_case` is set.
    #[serde(default)]
    pub accept_without_officer: AcceptWithoutOfficer,
    /// Groups of people by their role in the organisation, for gates to name
    /// (`security-team = ["officer"]`); see [`crate::workflow::group_roles`].
    #[serde(default)]
    pub groups: std::collections::BTreeMap<Slug, Vec<crate::access::OrgRole>>,
}

/// Where one officer manages each case, what accepting a case without one does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AcceptWithoutOfficer {
    /// The officer who accepts it becomes its officer; anyone else is refused.
    #[default]
    AssignActing,
    /// Refused: the officer is assigned first.
    Refuse,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// Ordered stages a case goes through.
    #[serde(default)]
    pub stages: Vec<Slug>,
    #[serde(default, rename = "gate")]
    pub gates: Vec<Gate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// The step the gate guards, e.g. `merge-fix`.
    pub before: Slug,
    /// What must happen first, e.g. `approval:security-team`.
    pub require: crate::workflow::Condition,
    /// How many people must approve or review (for `approval:` and `review:`).
    #[serde(default = "one")]
    pub approvals: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coordination {
    /// Who is told before the public, e.g. `service-providers`, `distributions`.
    #[serde(default)]
    pub notify_before_public: Vec<String>,
    /// Outbound reports to other vendors follow this same policy, every vendor alike.
    #[serde(default)]
    pub outbound_same_policy: bool,
    /// How often a party invited to a case that gave no status yet is reminded (default
    /// "7 days").
    #[serde(default)]
    pub remind_parties: Option<crate::duration::Period>,
}

/// Who publishes the organisation's advisories and how they are named, reviewed and given
/// CVE IDs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advisories {
    /// What advisory IDs start with (`KAMAILIO` gives `KAMAILIO-2026-0001`); the
    /// organisation's slug in capitals when unset.
    pub prefix: Option<String>,
    /// A URL of the organisation's own naming its advisories' namespace (CSAF's
    /// `publisher.namespace`); the organisation's website when unset.
    pub namespace: Option<String>,
    /// Where to write about its advisories; the organisation's first contact when unset.
    pub contact: Option<String>,
    /// The groups who read an advisory while it is a draft (Signalen, seed 004: "only
    /// visible to the repository administrators and technical steering group"); everyone
    /// who reads its cases when unset. Administrators of the installation always do.
    #[serde(default)]
    pub drafts: Vec<Slug>,
    /// The organisation's identity as a CVE Numbering Authority: it assigns CVE IDs from
    /// its own reserved pool. Without it, CVE IDs are requested elsewhere.
    pub cna: Option<CnaIdentity>,
    /// Where the organisation requests CVE IDs when it is not a CNA (Signalen: GitHub).
    pub cve_requested_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CnaIdentity {
    /// The CNA's organisation UUID at the CVE Program.
    pub org_id: String,
    /// Its short name at the CVE Program (`kamailio`).
    pub short_name: String,
}

impl Policy {
    /// What advisory IDs start with.
    pub fn advisory_prefix(&self) -> String {
        self.advisories
            .prefix
            .clone()
            .unwrap_or_else(|| self.organisation.slug.as_str().to_ascii_uppercase())
    }

    /// Who publishes the organisation's advisories, for the exports; why not, when the
    /// policy names no namespace for them.
    pub fn publisher(&self) -> Result<crate::advisory::Publisher, String> {
        let a = &self.advisories;
        let contact = a
            .contact
            .clone()
            .or_else(|| self.organisation.contact.first().cloned())
            .unwrap_or_default();
        let namespace = a
            .namespace
            .clone()
            .or_else(|| self.organisation.website.clone())
            .ok_or(
                "advisories need a publisher namespace: set organisation.website or advisories.namespace (https://…) in the policy",
            )?;
        Ok(crate::advisory::Publisher {
            name: self.organisation.name.clone(),
            namespace,
            contact: contact
                .strip_prefix("mailto:")
                .map_or(contact.clone(), str::to_owned),
            cna: a.cna.as_ref().map(|c| crate::advisory::Cna {
                org_id: c.org_id.clone(),
                short_name: c.short_name.clone(),
            }),
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounty {
    #[serde(default)]
    pub discretionary: bool,
    /// Only reporters who followed this policy are eligible.
    #[serde(default)]
    pub requires_policy_compliance: bool,
    #[serde(default)]
    pub payout_methods: Vec<String>,
    /// How the bounty is arranged, e.g. `email`.
    pub communicated_by: Option<String>,
    /// The group whose members approve an award (default `officers`); see
    /// [`crate::workflow::group_roles`].
    pub approvers: Option<String>,
}

/// The automatic receipt's text: `receipt = "..."` (the organisation's first preferred
/// language) or `receipt = { en = "...", nl = "..." }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(
    untagged,
    expecting = "a text, or a table of texts by language such as { en = \"...\" }"
)]
pub enum Receipt {
    One(String),
    ByLanguage(std::collections::BTreeMap<String, String>),
}

impl Receipt {
    /// The text for `language` if the policy offers it, else for the first of `preferred`
    /// it offers, else any. A receipt always goes out, in the best language available.
    pub fn text<'a>(&'a self, language: Option<&str>, preferred: &[String]) -> &'a str {
        match self {
            Receipt::One(text) => text,
            Receipt::ByLanguage(texts) => language
                .into_iter()
                .chain(preferred.iter().map(String::as_str))
                .find_map(|l| texts.get(l))
                .or_else(|| texts.values().next())
                .map_or("", String::as_str),
        }
    }
}

/// A lowercase identifier: letters, digits and dashes or underscores, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

impl Slug {
    pub fn parse(text: &str) -> Result<Slug, String> {
        let ok = text.len() <= 64
            && text.starts_with(|c: char| c.is_ascii_lowercase())
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok {
            Ok(Slug(text.to_string()))
        } else {
            Err(format!(
                "{text:?} is not a valid identifier, expected lowercase letters, digits, '-' or '_', starting with a letter (at most 64)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Slug::parse(&String::deserialize(d)?).map_err(de::Error::custom)
    }
}

/// An IANA time zone name, checked against the embedded time zone database.
#[derive(Debug, Clone)]
pub struct TzName {
    pub name: String,
    pub zone: TimeZone,
}

impl<'de> Deserialize<'de> for TzName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        let zone = TimeZone::get(&name).map_err(|_| {
            de::Error::custom(format!(
                "unknown time zone {name:?}, expected an IANA name such as \"America/New_York\" or \"UTC\""
            ))
        })?;
        Ok(TzName { name, zone })
    }
}

/// A weekday written as `mon` … `sun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub Weekday);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let day = match text.to_ascii_lowercase().as_str() {
            "mon" | "monday" => Weekday::Monday,
            "tue" | "tuesday" => Weekday::Tuesday,
            "wed" | "wednesday" => Weekday::Wednesday,
            "thu" | "thursday" => Weekday::Thursday,
            "fri" | "friday" => Weekday::Friday,
            "sat" | "saturday" => Weekday::Saturday,
            "sun" | "sunday" => Weekday::Sunday,
            _ => {
                return Err(de::Error::custom(format!(
                    "unknown weekday {text:?}, expected mon, tue, wed, thu, fri, sat or sun"
                )));
            }
        };
        Ok(Day(day))
    }
}

/// A built-in holiday set named in the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holidays(pub HolidaySet);

impl<'de> Deserialize<'de> for Holidays {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        HolidaySet::parse(&text).map(Holidays).ok_or_else(|| {
            de::Error::custom(format!(
                "unknown holiday set {text:?}, expected \"us-federal\""
            ))
        })
    }
}

/// Where in which file a policy is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {key}{sep}{message}", sep = if key.is_empty() { "" } else { ": " })]
pub struct PolicyError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// Dotted path of the offending key, e.g. `response.acknowledge.within`; empty for syntax errors.
    pub key: String,
    pub message: String,
}

impl Policy {
    /// Parses and validates a policy. `file` only labels error messages.
    pub fn parse(file: &str, source: &str) -> Result<Policy, PolicyError> {
        let error_at = |span: Option<std::ops::Range<usize>>, key: String, message: String| {
            let (line, column) = line_column(source, span.map_or(0, |s| s.start));
            PolicyError {
                file: file.to_string(),
                line,
                column,
                key,
                message,
            }
        };
        let document = toml::Deserializer::parse(source)
            .map_err(|e| error_at(e.span(), String::new(), e.message().trim().to_string()))?;
        let file_form: PolicyFile = serde_path_to_error::deserialize(document).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let key = if key == "." { String::new() } else { key };
            error_at(inner.span(), key, inner.message().trim().to_string())
        })?;
        let PolicyFile {
            format,
            organisation,
            calendar,
            products,
            response,
            disclosure,
            intake,
            triage,
            roles,
            workflow,
            coordination,
            bounty,
            advisories,
        } = file_form;
        let mut policy = Policy {
            format,
            organisation,
            calendar,
            products,
            response,
            disclosure,
            intake,
            triage,
            roles,
            workflow,
            coordination,
            bounty,
            advisories,
            built_calendar: Calendar::plain(),
        };
        if let Some((key, message)) = policy.semantic_error() {
            let span = key_span(source, &key);
            return Err(error_at(span, key, message));
        }
        policy.built_calendar = Calendar::new(
            policy.calendar.timezone.zone.clone(),
            policy.calendar.weekend.iter().map(|d| d.0).collect(),
            policy.calendar.holidays.iter().map(|h| h.0).collect(),
            policy.calendar.extra_holidays.clone(),
        );
        Ok(policy)
    }

    /// The business-day calendar the policy's clocks run on.
    pub fn calendar(&self) -> &Calendar {
        &self.built_calendar
    }

    pub fn product(&self, slug: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.slug.as_str() == slug)
    }

    /// Rules that span several keys, which serde cannot check field by field.
    fn semantic_error(&self) -> Option<(String, String)> {
        if self.format != FORMAT {
            return Some((
                "format".into(),
                format!("unsupported format {}, expected {FORMAT}", self.format),
            ));
        }
        if self.organisation.contact.is_empty() {
            return Some((
                "organisation.contact".into(),
                "at least one contact is required (mailto: or https: URI)".into(),
            ));
        }
        if let Some(bad) = self
            .organisation
            .contact
            .iter()
            .find(|c| !(c.starts_with("mailto:") || c.starts_with("https://")))
        {
            return Some((
                "organisation.contact".into(),
                format!("{bad:?} is not a contact URI, expected mailto:… or https://…"),
            ));
        }
        if self.products.is_empty() {
            return Some((
                "product".into(),
                "at least one [[product]] is required".into(),
            ));
        }
        for (i, p) in self.products.iter().enumerate() {
            if self.products[..i].iter().any(|q| q.slug == p.slug) {
                return Some((
                    format!("product[{i}].slug"),
                    format!("duplicate product slug {:?}", p.slug.as_str()),
                ));
            }
            for (j, line) in p.lines.iter().enumerate() {
                let name = line.name.trim();
                let ok = !name.is_empty()
                    && name.len() <= 32
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
                if !ok || name != line.name {
                    return Some((
                        format!("product[{i}].line[{j}].name"),
                        format!(
                            "{:?} is not a release line name: letters, digits, '.', '-' or '_', at most 32 (such as \"17\" or \"2.x\")",
                            line.name
                        ),
                    ));
                }
                if p.lines[..j].iter().any(|l| l.name == line.name) {
                    return Some((
                        format!("product[{i}].line[{j}].name"),
                        format!("duplicate release line {:?}", line.name),
                    ));
                }
            }
            if let Some(bad) = crate::versions::range_problems(p).into_iter().next() {
                return Some((
                    match bad.list {
                        "line" => format!("product[{i}].line[{}].versions", bad.index),
                        list => format!("product[{i}].{list}[{}]", bad.index),
                    },
                    format!("{:?}: {}", bad.text, bad.reason),
                ));
            }
        }
        if self.calendar.weekend.len() >= 7 {
            return Some((
                "calendar.weekend".into(),
                "a weekend of every day leaves no business days".into(),
            ));
        }
        let d = &self.disclosure;
        if d.patch_grace.is_some() && d.deadline.is_none() {
            return Some((
                "disclosure.patch_grace".into(),
                "a patch grace needs a disclosure deadline to extend".into(),
            ));
        }
        if d.reporter_may_publish == Some(ReporterMayPublish::AfterMitigation)
            && d.mitigation_period.is_none()
        {
            return Some((
                "disclosure.reporter_may_publish".into(),
                "\"after-mitigation\" needs disclosure.mitigation_period".into(),
            ));
        }
        if d.reporter_may_publish == Some(ReporterMayPublish::AtDisclosure) && d.deadline.is_none()
        {
            return Some((
                "disclosure.reporter_may_publish".into(),
                "\"at-disclosure\" needs disclosure.deadline".into(),
            ));
        }
        if let Some(cve) = &d.cve
            && !matches!(cve.as_str(), "request" | "if-available" | "none")
        {
            return Some((
                "disclosure.cve".into(),
                format!("unknown value {cve:?}, expected request, if-available or none"),
            ));
        }
        if let Some(problem) = self.advisories_error() {
            return Some(problem);
        }
        for (i, f) in self.intake.fields.iter().enumerate() {
            if self.intake.fields[..i].iter().any(|g| g.id == f.id) {
                return Some((
                    format!("intake.field[{i}].id"),
                    format!("duplicate field id {:?}", f.id.as_str()),
                ));
            }
        }
        if let Some(problem) = self.workflow_error() {
            return Some(problem);
        }
        None
    }
}

impl Policy {
    /// The `[advisories]` rules serde cannot check field by field.
    fn advisories_error(&self) -> Option<(String, String)> {
        let a = &self.advisories;
        let prefix = self.advisory_prefix();
        let prefix_ok = !prefix.is_empty()
            && prefix.len() <= 24
            && prefix
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
            && !prefix.starts_with('-')
            && !prefix.ends_with('-');
        if !prefix_ok {
            return Some((
                "advisories.prefix".into(),
                format!(
                    "{prefix:?} is not an advisory ID prefix: capital letters, digits and '-', at most 24 (such as \"KAMAILIO\")"
                ),
            ));
        }
        if let Some(url) = a.namespace.as_ref().or(self.organisation.website.as_ref())
            && (!url.starts_with("https://") || url.contains(char::is_whitespace))
        {
            let key = if a.namespace.is_some() {
                "advisories.namespace"
            } else {
                "organisation.website"
            };
            return Some((
                key.into(),
                format!("{url:?} is not an https:// URL, which a publisher namespace must be"),
            ));
        }
        if let Some(c) = &a.contact
            && !(c.starts_with("mailto:") || c.starts_with("https://"))
        {
            return Some((
                "advisories.contact".into(),
                format!("{c:?} is not a contact URI, expected mailto:… or https://…"),
            ));
        }
        for (i, group) in a.drafts.iter().enumerate() {
            if crate::workflow::group_roles(self, group.as_str()).is_none() {
                return Some((
                    format!("advisories.drafts[{i}]"),
                    format!(
                        "no group is named {:?}: define it under [roles.groups] or use one of {}",
                        group.as_str(),
                        crate::workflow::group_names(self).join(", ")
                    ),
                ));
            }
        }
        if let Some(cna) = &a.cna {
            let uuid = cna.org_id.len() == 36
                && cna.org_id.char_indices().all(|(i, c)| {
                    if matches!(i, 8 | 13 | 18 | 23) {
                        c == '-'
                    } else {
                        c.is_ascii_hexdigit()
                    }
                });
            if !uuid {
                return Some((
                    "advisories.cna.org_id".into(),
                    format!(
                        "{:?} is not a UUID: the CNA's organisation ID as the CVE Program gave it",
                        cna.org_id
                    ),
                ));
            }
            if cna.short_name.trim().is_empty() || cna.short_name.len() > 32 {
                return Some((
                    "advisories.cna.short_name".into(),
                    "the CNA's short name at the CVE Program, 1 to 32 characters".into(),
                ));
            }
            if a.cve_requested_at.is_some() {
                return Some((
                    "advisories.cve_requested_at".into(),
                    "a CNA assigns CVE IDs itself: drop cve_requested_at or cna".into(),
                ));
            }
        }
        if a.cve_requested_at
            .as_deref()
            .is_some_and(|w| w.trim().is_empty())
        {
            return Some((
                "advisories.cve_requested_at".into(),
                "name where CVE IDs are requested (GitHub, MITRE)".into(),
            ));
        }
        None
    }

    /// The `[workflow]` and `[roles.groups]` rules serde cannot check field by field.
    fn workflow_error(&self) -> Option<(String, String)> {
        use crate::workflow::{self, Condition};
        let stages = &self.workflow.stages;
        for (i, s) in stages.iter().enumerate() {
            if stages[..i].contains(s) {
                return Some((
                    format!("workflow.stages[{i}]"),
                    format!("duplicate stage {:?}", s.as_str()),
                ));
            }
        }
        for (group, roles) in &self.roles.groups {
            if roles.is_empty() {
                return Some((
                    format!("roles.groups.{group}"),
                    "a group needs at least one role: officer, member or reviewer".into(),
                ));
            }
        }
        if let Some(group) = self.bounty.as_ref().and_then(|b| b.approvers.as_deref())
            && workflow::group_roles(self, group).is_none()
        {
            return Some((
                "bounty.approvers".into(),
                format!(
                    "no group is named {group:?}: define it under [roles.groups] or use one of {}",
                    workflow::group_names(self).join(", ")
                ),
            ));
        }
        for (i, g) in self.workflow.gates.iter().enumerate() {
            let step = g.before.as_str();
            if !stages.contains(&g.before) && workflow::built_in_action(step).is_none() {
                let built_in: Vec<&str> =
                    workflow::BUILT_IN_STEPS.iter().map(|(s, _)| *s).collect();
                return Some((
                    format!("workflow.gate[{i}].before"),
                    format!(
                        "{step:?} is neither a stage of workflow.stages nor one of {}",
                        built_in.join(", ")
                    ),
                ));
            }
            let problem = match &g.require {
                Condition::Approval(group) | Condition::Review(group)
                    if workflow::group_roles(self, group.as_str()).is_none() =>
                {
                    Some(format!(
                        "no group is named {:?}: define it under [roles.groups] or use one of {}",
                        group.as_str(),
                        workflow::group_names(self).join(", ")
                    ))
                }
                Condition::Stage(stage) if !stages.contains(stage) => Some(format!(
                    "{:?} is not a stage of workflow.stages",
                    stage.as_str()
                )),
                Condition::Stage(stage) if stage == &g.before => {
                    Some("a stage cannot be gated on itself".into())
                }
                _ => None,
            };
            if let Some(message) = problem {
                return Some((format!("workflow.gate[{i}].require"), message));
            }
            if g.approvals == 0 || (g.approvals > 1 && g.require.group().is_none()) {
                return Some((
                    format!("workflow.gate[{i}].approvals"),
                    "approvals counts people (at least 1) and applies only to approval: and review: conditions".into(),
                ));
            }
        }
        None
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Best-effort location of a dotted key for errors found after deserializing: the
/// line where its last plain component is assigned inside its table.
fn key_span(source: &str, key: &str) -> Option<std::ops::Range<usize>> {
    let (parent, leaf) = key.rsplit_once('.').unwrap_or((key, key));
    let leaf = leaf.split('[').next()?;
    // The table path with the index of each array table: `product[1].line[0]` is the first
    // `[[product.line]]` of the second `[[product]]`.
    let path: Vec<(&str, Option<usize>)> = parent
        .split('.')
        .map(|c| match c.split_once('[') {
            Some((name, i)) => (name, i.trim_end_matches(']').parse().ok()),
            None => (c, None),
        })
        .collect();
    let table = path.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(".");
    let mut seen = vec![0usize; path.len()];
    let mut offset = 0;
    let mut in_table = !key.contains('.');
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(header) = trimmed.strip_prefix('[') {
            let name = header
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim();
            let depth = name.split('.').count();
            let prefix = path[..depth.min(path.len())]
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(".");
            if depth <= path.len() && name == prefix {
                seen[depth - 1] += 1;
                for deeper in &mut seen[depth..] {
                    *deeper = 0;
                }
            }
            in_table = name == table
                && path
                    .iter()
                    .zip(&seen)
                    .all(|((_, index), n)| index.is_none_or(|i| *n == i + 1));
            if in_table && leaf == table {
                return Some(offset..offset);
            }
        } else if in_table
            && trimmed
                .strip_prefix(leaf)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            let indent = line.len() - trimmed.len();
            return Some(offset + indent..offset + indent);
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests;
