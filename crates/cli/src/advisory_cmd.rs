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
                let rows = desk
                    .store()
                    .advisories_of_org(org.id)
                    .await
                    .map_err(vulndesk_desk::DeskError::from)?;
                if rows.is_empty() {
                    println!(
                        "{} has no advisories yet: a teammate drafts one from a case (POST /api/v1/cases/ID/advisories)",
                        org.name
                    );
                }
                for row in rows {
                    let view = desk.advisory(row.id).await?;
                    let s = &view.state;
                    let status = if s.withdrawn.is_some() {
                        "withdrawn"
                    } else if s.is_published() {
                        "published"
                    } else {
                        "draft"
                    };
                    println!(
                        "{:<22} {:<9} {:<16} {}",
                        view.row.number,
                        status,
                        s.cve.as_deref().unwrap_or("-"),
                        s.fields.title
                    );
                }
                Ok(())
            }
            AdvisoryCommand::Export {
                id,
                format,
                org,
                public_url,
                db,
            } => {
                let public_url = public_url
                    .or_else(|| std::env::var("VULNDESK_PUBLIC_URL").ok())
                    .filter(|u| !u.trim().is_empty());
                let desk = Desk::new(open(&db).await?).with_public_url(public_url);
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
