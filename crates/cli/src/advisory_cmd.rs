//! `vulndesk advisory`: an organisation's advisories from the command line: list them, and
//! export a published one as a CVE JSON 5 record, a CSAF 2.0 advisory or VEX document, or
//! an OSV entry, rendered exactly as the API and the public pages serve them.

use clap::{Subcommand, ValueEnum};
use vulndesk_desk::Desk;
use vulndesk_desk::advisories::Format;

use crate::CliError;
use crate::server_cmd::{DbArgs, open, runtime};

#[derive(Subcommand)]
pub enum AdvisoryCommand {
    /// List an organisation's advisories, drafts included.
    List {
        /// The organisation (its slug).
        #[arg(long)]
        org: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Reserve CVE IDs for this year at the CVE Program into the organisation's pool (a
    /// CNA: its policy's `[advisories] cna`); needs VULNDESK_CVE_SERVICES_URL,
    /// VULNDESK_CVE_SERVICES_USER and VULNDESK_CVE_SERVICES_KEY.
    ReserveCves {
        #[arg(long)]
        org: String,
        /// How many (1 to 100).
        #[arg(long, default_value_t = 1)]
        amount: u32,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Show the organisation's pool of reserved CVE IDs and which advisory has each.
    Pool {
        #[arg(long)]
        org: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Send a published advisory's CVE record to the CVE Program (publish, update, or
    /// reject once withdrawn), as an officer of its organisation.
    SendRecord {
        /// The advisory: its ID (KAMAILIO-2026-0001) or its number in the API.
        id: String,
        #[arg(long)]
        org: Option<String>,
        /// The officer sending it (their sign-in address), recorded on the advisory.
        #[arg(long = "as", value_name = "EMAIL")]
        officer: String,
        #[arg(long = "public-url", value_name = "URL")]
        public_url: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Print a published advisory in an exchange format, as JSON on standard output.
    Export {
        /// The advisory: its ID (KAMAILIO-2026-0001) or its number in the API.
        id: String,
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// The organisation (its slug), when two use the same ID prefix.
        #[arg(long)]
        org: Option<String>,
        /// The address people reach the desk at, for the advisory's own URL in the
        /// document; also read from VULNDESK_PUBLIC_URL. Without it, the URL is under the
        /// publisher's namespace.
        #[arg(long = "public-url", value_name = "URL")]
        public_url: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Cve,
    Csaf,
    CsafVex,
    Osv,
}

impl From<ExportFormat> for Format {
    fn from(f: ExportFormat) -> Format {
        match f {
            ExportFormat::Cve => Format::Cve,
            ExportFormat::Csaf => Format::Csaf,
            ExportFormat::CsafVex => Format::CsafVex,
            ExportFormat::Osv => Format::Osv,
        }
    }
}

pub fn run(cmd: AdvisoryCommand) -> Result<(), CliError> {
    runtime()?.block_on(async {
        match cmd {
            AdvisoryCommand::List { org, db } => {
                let desk = Desk::new(open(&db).await?);
                let org = desk.organisation(&org).await?;
                let views = desk.advisories_of_org(org.id).await?;
                if views.is_empty() {
                    println!(
                        "{} has no advisories yet: a teammate drafts one from a case (POST /api/v1/cases/ID/advisories)",
                        org.name
                    );
                }
                for view in views {
                    let s = &view.state;
                    println!(
                        "{:<22} {:<9} {:<16} {}",
                        view.row.number,
                        s.status(),
                        s.cve.as_deref().unwrap_or("-"),
                        s.fields.title
                    );
                }
                Ok(())
            }
            AdvisoryCommand::ReserveCves { org, amount, db } => {
                let desk = Desk::new(open(&db).await?).with_cve_services(cve_services_from_env()?);
                let org = desk.organisation(&org).await?;
                let ids = desk.reserve_cves(org.id, amount).await?;
                println!("reserved for {}: {}", org.name, ids.join(" "));
                Ok(())
            }
            AdvisoryCommand::Pool { org, db } => {
                let desk = Desk::new(open(&db).await?);
                let org = desk.organisation(&org).await?;
                let pool = desk.cve_pool(org.id).await?;
                if pool.is_empty() {
                    println!(
                        "{} has no reserved CVE IDs: `vulndesk advisory reserve-cves --org {}` reserves some",
                        org.name, org.slug
                    );
                }
                for p in pool {
                    println!(
                        "{:<18} reserved {}  {}",
                        p.cve,
                        p.reserved_at.strftime("%Y-%m-%d"),
                        p.advisory_id
                            .map_or_else(|| "free".to_owned(), |a| format!("advisory {a}"))
                    );
                }
                Ok(())
            }
            AdvisoryCommand::SendRecord {
                id,
                org,
                officer,
                public_url,
                db,
            } => {
                let desk = Desk::new(open(&db).await?)
                    .with_public_url(public(public_url))
                    .with_cve_services(cve_services_from_env()?);
                let row_id = find(&desk, &id, org.as_deref()).await?;
                let view = desk.advisory(row_id).await?;
                let user = desk
                    .store()
                    .user_by_email(&officer)
                    .await
                    .map_err(vulndesk_desk::DeskError::from)?
                    .filter(|u| u.disabled_at.is_none())
                    .ok_or_else(|| {
                        CliError::Invalid(format!("--as {officer:?}: no enabled account has that address"))
                    })?;
                let person = desk.person(&user).await?;
                if vulndesk_core::access::advisory_standing(&person, &view.access())
                    < Some(vulndesk_core::access::Standing::Manager)
                {
                    return Err(CliError::Refused(format!(
                        "{officer} does not manage the cases of {}: an officer of its organisation sends its record",
                        view.row.number
                    )));
                }
                let (view, state) = desk
                    .send_cve_record(row_id, vulndesk_desk::advisories::Writer { user_id: user.id })
                    .await?;
                println!(
                    "{} of {} is {state} at the CVE Program",
                    view.state.cve.unwrap_or_default(),
                    view.row.number
                );
                Ok(())
            }
            AdvisoryCommand::Export {
                id,
                format,
                org,
                public_url,
                db,
            } => {
                let desk = Desk::new(open(&db).await?).with_public_url(public(public_url));
                let row_id = find(&desk, &id, org.as_deref()).await?;
                let view = desk.advisory(row_id).await?;
                let document = desk.export(&view, format.into()).await?;
                let text = serde_json::to_string_pretty(&document)
                    .map_err(|e| CliError::Environment(e.to_string()))?;
                println!("{text}");
                Ok(())
            }
        }
    })
}

/// The desk's public address, from `--public-url` or `VULNDESK_PUBLIC_URL`.
fn public(flag: Option<String>) -> Option<String> {
    flag.or_else(|| std::env::var("VULNDESK_PUBLIC_URL").ok())
        .filter(|u| !u.trim().is_empty())
}

/// The advisory `id` names: an ID such as KAMAILIO-2026-0001 (in `org` when given), or the
/// API's number.
async fn find(desk: &Desk, id: &str, org: Option<&str>) -> Result<i64, CliError> {
    if let Ok(n) = id.trim().parse::<i64>() {
        return Ok(n);
    }
    let mut rows = desk
        .store()
        .advisories_numbered(id.trim())
        .await
        .map_err(vulndesk_desk::DeskError::from)?;
    if let Some(slug) = org {
        let org = desk.organisation(slug).await?;
        rows.retain(|r| r.org_id == org.id);
    }
    match rows.as_slice() {
        [one] => Ok(one.id),
        [] => Err(CliError::Invalid(format!(
            "no advisory is numbered {id:?}: `vulndesk advisory list --org ORG` lists them"
        ))),
        _ => Err(CliError::Usage(format!(
            "several organisations have an advisory {id:?}: name one with --org"
        ))),
    }
}

/// The CVE Services account from the environment: `VULNDESK_CVE_SERVICES_URL`,
/// `VULNDESK_CVE_SERVICES_USER` and `VULNDESK_CVE_SERVICES_KEY` (all three, or none). The
/// CNA's short name comes from each organisation's policy.
pub(crate) fn cve_services_from_env()
-> Result<Option<vulndesk_desk::cve_services::Account>, CliError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match (
        var("VULNDESK_CVE_SERVICES_URL"),
        var("VULNDESK_CVE_SERVICES_USER"),
        var("VULNDESK_CVE_SERVICES_KEY"),
    ) {
        (None, None, None) => Ok(None),
        (Some(url), Some(user), Some(key)) => {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(CliError::Usage(format!(
                    "VULNDESK_CVE_SERVICES_URL {url:?}: expected the API's address, e.g. https://cveawg.mitre.org/api"
                )));
            }
            Ok(Some(vulndesk_desk::cve_services::Account {
                url,
                org: String::new(),
                user,
                key: secrecy::SecretString::from(key),
            }))
        }
        _ => Err(CliError::Usage(
            "CVE Services needs all three of VULNDESK_CVE_SERVICES_URL, VULNDESK_CVE_SERVICES_USER and VULNDESK_CVE_SERVICES_KEY".into(),
        )),
    }
}
