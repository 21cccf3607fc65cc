//! `vulndesk policy check|explain`.

use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use jiff::civil::Date;
use vulndesk_core::clocks::{Facts, FixSchedule, clocks};
use vulndesk_core::policy::Policy;

use crate::CliError;

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Validate policy files; exits non-zero naming file:line:column and the key of each error.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show every clock of a policy for a hypothetical case, with derivations.
    Explain(ExplainArgs),
}

#[derive(clap::Args)]
pub struct ExplainArgs {
    file: PathBuf,
    /// The day the report came in, in the policy's time zone.
    #[arg(long, value_name = "YYYY-MM-DD")]
    reported: Date,
    /// Active exploitation observed: on the given day, or on the report day.
    #[arg(long, value_name = "YYYY-MM-DD", num_args = 0..=1, default_missing_value = "")]
    exploited: Option<String>,
    /// The details leaked (the embargo broke) on this day.
    #[arg(long, value_name = "YYYY-MM-DD")]
    leaked: Option<Date>,
    /// An outbound case: our report to a vendor, on `--reported`; only the disclosure clock.
    #[arg(long)]
    outbound: bool,
    /// The vendor's announced fix release day.
    #[arg(long, value_name = "YYYY-MM-DD")]
    fix_scheduled: Option<Date>,
    /// When the fix schedule was announced (default: the report day, before any deadline).
    #[arg(long, value_name = "YYYY-MM-DD", requires = "fix_scheduled")]
    fix_announced: Option<Date>,
    #[arg(long, value_name = "YYYY-MM-DD")]
    fix_released: Option<Date>,
    /// First human acknowledgement.
    #[arg(long, value_name = "YYYY-MM-DD")]
    acknowledged: Option<Date>,
    #[arg(long, value_name = "YYYY-MM-DD")]
    advisory_published: Option<Date>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

pub fn run(cmd: PolicyCommand) -> Result<(), CliError> {
    match cmd {
        PolicyCommand::Check { files } => check(&files),
        PolicyCommand::Explain(args) => explain(args),
    }
}

/// A policy file, parsed, with its source text (what gets stored as a version).
pub fn load(path: &Path) -> Result<(Policy, String), CliError> {
    let source = std::fs::read_to_string(path).map_err(|source| CliError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let policy = Policy::parse(&path.display().to_string(), &source)
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    Ok((policy, source))
}

fn check(files: &[PathBuf]) -> Result<(), CliError> {
    let mut failures = Vec::new();
    for file in files {
        match load(file) {
            Ok((p, _)) => println!(
                "{}: ok ({}, {} product{})",
                file.display(),
                p.organisation.name,
                p.products.len(),
                if p.products.len() == 1 { "" } else { "s" }
            ),
            Err(e) => failures.push(e.to_string()),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(CliError::Invalid(failures.join("\nvulndesk: ")))
    }
}

/// Refuses flag values outside the plausible window (year 9999 and the like), naming the flag.
fn plausible(flag: &str, given: Date, reference: Date) -> Result<Date, CliError> {
    vulndesk_core::plausible::check(&format!("--{flag}"), given, reference)
        .map_err(|e| CliError::Usage(e.to_string()))
}

fn explain(args: ExplainArgs) -> Result<(), CliError> {
    let (policy, _) = load(&args.file)?;
    let today = policy.calendar().local_date(jiff::Timestamp::now());
    let reported = plausible("reported", args.reported, today)?;
    // The other days of a hypothetical case may lie ahead of today: they are bounded by
    // the report day instead.
    let event = |flag: &str, given: Option<Date>| -> Result<Option<Date>, CliError> {
        given.map(|d| plausible(flag, d, reported)).transpose()
    };
    let fix_scheduled = event("fix-scheduled", args.fix_scheduled)?;
    let fix_announced = event("fix-announced", args.fix_announced)?;
    let fix_released = event("fix-released", args.fix_released)?;
    let leaked = event("leaked", args.leaked)?;
    let acknowledged = event("acknowledged", args.acknowledged)?;
    let advisory_published = event("advisory-published", args.advisory_published)?;
    let mut facts = Facts::reported_on(reported);
    facts.exploited = match args.exploited.as_deref() {
        None => None,
        Some("") => Some(args.reported),
        Some(day) => Some(plausible(
            "exploited",
            day.parse().map_err(|e| {
                CliError::Usage(format!(
                    "--exploited: {day:?} is not a date YYYY-MM-DD: {e}"
                ))
            })?,
            reported,
        )?),
    };
    facts.leaked = leaked;
    facts.outbound = args.outbound;
    facts.fix_scheduled = fix_scheduled.map(|release| FixSchedule {
        release,
        announced: fix_announced.unwrap_or(reported),
    });
    facts.fix_released = fix_released;
    facts.human_acknowledged = acknowledged;
    facts.advisory_published = advisory_published;
    let clocks = clocks(&policy, &facts);
    match args.format {
        Format::Text => print!("{}", clocks.explain()),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&clocks).expect("JSON values serialize")
        ),
    }
    Ok(())
}
