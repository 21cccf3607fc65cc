//! `vulndesk party`: an organisation's registry of parties (vendors, distributions, service
//! providers) from the command line: add one, list them, import a spreadsheet as CSV. The
//! entries are checked by the desk exactly as the pages and the API check them.

use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use vulndesk_core::coordination::PartyInput;
use vulndesk_desk::Desk;
use vulndesk_desk::coordination::{PartyEntry, PartyView};
use vulndesk_store::IfExists;

use crate::CliError;
use crate::server_cmd::{DbArgs, open, runtime};

#[derive(Subcommand)]
pub enum PartyCommand {
    /// Add a party to an organisation's registry.
    Add {
        /// The organisation (its slug).
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
        /// vendor, distribution or service-provider.
        #[arg(long)]
        kind: String,
        /// A security contact's address; repeat for more.
        #[arg(long = "contact", value_name = "EMAIL", required = true)]
        contacts: Vec<String>,
        /// A product the party ships or runs; repeat for more.
        #[arg(long = "product")]
        products: Vec<String>,
        /// The longest embargo it accepts by default, e.g. "14 days".
        #[arg(long)]
        embargo: Option<String>,
        /// What it may share under embargo, and with whom.
        #[arg(long)]
        terms: Option<String>,
        /// Its short name in addresses; made from the name by default.
        #[arg(long)]
        slug: Option<String>,
        /// A file holding its ASCII-armoured OpenPGP public key.
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List an organisation's registry.
    List {
        #[arg(long)]
        org: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Find a party's OpenPGP key in its contacts' Web Key Directories (HTTPS to each
    /// address's own domain; `VULNDESK_WKD_ORIGIN` asks one mirror instead) and keep the
    /// first usable key that names its address.
    FindKey {
        #[arg(long)]
        org: String,
        /// The party's slug.
        party: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Let an account answer for a party: signed in, its holder reaches the party's portal
    /// on every case the party is invited to. `--unlink` takes that away.
    Link {
        #[arg(long)]
        org: String,
        /// The party's slug.
        party: String,
        /// The account's sign-in address (`vulndesk user add` creates it).
        email: String,
        #[arg(long)]
        unlink: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Import parties from a CSV file with a header row. Columns: name, kind, contacts
    /// (addresses separated by `;`), and optionally slug, products (`;`-separated),
    /// embargo, terms, key (an armoured public key). A slug already in the registry is
    /// updated; nothing is written unless every row is good.
    Import {
        #[arg(long)]
        org: String,
        /// The CSV file.
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(cmd: PartyCommand) -> Result<(), CliError> {
    runtime()?.block_on(async {
        match cmd {
            PartyCommand::Add {
                org,
                name,
                kind,
                contacts,
                products,
                embargo,
                terms,
                slug,
                key,
                db,
            } => {
                let key = key.map(|path| read(&path)).transpose()?;
                let desk = Desk::new(open(&db).await?);
                let org = desk.organisation(&org).await?;
                let entry = PartyEntry {
                    input: PartyInput {
                        slug,
                        name,
                        kind,
                        contacts,
                        products,
                        embargo,
                        terms,
                    },
                    key,
                };
                let (row, _) = desk
                    .put_party(&org, &entry, IfExists::Refuse, jiff::Timestamp::now())
                    .await?;
                println!(
                    "added {} ({}) to {}'s parties",
                    row.party.name, row.party.slug, org.name
                );
                Ok(())
            }
            PartyCommand::List { org, format, db } => {
                let desk = Desk::new(open(&db).await?);
                let org = desk.organisation(&org).await?;
                let parties = desk.parties(&org).await?;
                match format {
                    Format::Json => {
                        let list: Vec<_> = parties.iter().map(PartyView::of).collect();
                        let text = serde_json::to_string_pretty(&list)
                            .map_err(|e| CliError::Environment(e.to_string()))?;
                        println!("{text}");
                    }
                    Format::Text if parties.is_empty() => println!(
                        "{} has no parties yet: add one with `vulndesk party add --org {}`",
                        org.name, org.slug
                    ),
                    Format::Text => {
                        for row in &parties {
                            let p = &row.party;
                            println!(
                                "{:<24} {:<17} {:<32} {}{}",
                                p.slug,
                                p.kind,
                                p.name,
                                p.contacts.join(", "),
                                if p.key.is_some() { "  [key]" } else { "" }
                            );
                        }
                    }
                }
                Ok(())
            }
            PartyCommand::FindKey { org, party, db } => {
                let desk = Desk::new(open(&db).await?).with_wkd_origin(wkd_origin());
                let org = desk.organisation(&org).await?;
                let (row, url) = desk
                    .find_party_key(&org, &party, jiff::Timestamp::now())
                    .await?;
                println!(
                    "found {}'s key {} at {url}",
                    row.party.name,
                    row.party.key.map(|(f, _)| f).unwrap_or_default()
                );
                Ok(())
            }
            PartyCommand::Link {
                org,
                party,
                email,
                unlink,
                db,
            } => {
                let desk = Desk::new(open(&db).await?);
                let org = desk.organisation(&org).await?;
                let row = desk.party(&org, &party).await?;
                let accounts = desk
                    .link_party_account(&row, &email, !unlink, "cli")
                    .await?;
                println!(
                    "{} {email} {} {}; accounts answering for it: {}",
                    if unlink { "unlinked" } else { "linked" },
                    if unlink { "from" } else { "to" },
                    row.party.name,
                    if accounts.is_empty() {
                        "none".to_owned()
                    } else {
                        accounts
                            .iter()
                            .map(|a| a.1.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                );
                Ok(())
            }
            PartyCommand::Import { org, file, db } => {
                let text = read(&file)?;
                let entries = entries(&text)
                    .map_err(|e| CliError::Invalid(format!("{}: {e}", file.display())))?;
                let desk = Desk::new(open(&db).await?);
                let org = desk.organisation(&org).await?;
                let imported = desk
                    .import_parties(&org, &entries, jiff::Timestamp::now())
                    .await
                    .map_err(|e| match e {
                        vulndesk_desk::DeskError::InvalidField { message, .. } => {
                            CliError::Invalid(format!("{}: {message}", file.display()))
                        }
                        e => e.into(),
                    })?;
                println!(
                    "imported {} parties into {}'s registry: {} added, {} updated",
                    entries.len(),
                    org.name,
                    imported.added,
                    imported.replaced
                );
                Ok(())
            }
        }
    })
}

/// The one Web Key Directory to ask instead of each address's own, if the operator set one.
pub(crate) fn wkd_origin() -> Option<String> {
    std::env::var("VULNDESK_WKD_ORIGIN")
        .ok()
        .filter(|o| !o.trim().is_empty())
}

fn read(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::Io {
        path: path.to_owned(),
        source,
    })
}

const COLUMNS: [&str; 8] = [
    "name", "kind", "contacts", "slug", "products", "embargo", "terms", "key",
];

/// The entries of a CSV file, each with the line it starts on. The header names the
/// columns (any order, any case); an unknown column is an error, so a misspelt one is not
/// silently dropped.
fn entries(text: &str) -> Result<Vec<(u64, PartyEntry)>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("the header row cannot be read: {e}"))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    for column in &header {
        if !COLUMNS.contains(&column.as_str()) {
            return Err(format!(
                "line 1: unknown column {column:?}; the columns are {}",
                COLUMNS.join(", ")
            ));
        }
    }
    for required in ["name", "kind", "contacts"] {
        if !header.iter().any(|h| h == required) {
            return Err(format!("line 1: the header has no {required:?} column"));
        }
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| match e.position() {
            Some(p) => format!("line {}: {e}", p.line()),
            None => e.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let cell = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .unwrap_or_default()
                .to_owned()
        };
        let list = |name: &str| {
            cell(name)
                .split([';', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let optional = |name: &str| Some(cell(name)).filter(|s| !s.is_empty());
        out.push((
            line,
            PartyEntry {
                input: PartyInput {
                    slug: optional("slug"),
                    name: cell("name"),
                    kind: cell("kind"),
                    contacts: list("contacts"),
                    products: list("products"),
                    embargo: optional("embargo"),
                    terms: optional("terms"),
                },
                key: optional("key"),
            },
        ));
    }
    if out.is_empty() {
        return Err("no rows under the header: nothing to import".into());
    }
    Ok(out)
}
