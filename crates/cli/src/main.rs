//! The `vulndesk` command. Errors become exit codes here and nowhere else.

mod admin_cmd;
mod advisory_cmd;
mod audit_cmd;
mod bench;
mod bench_coordination;
mod bench_dashboard;
mod bench_intake;
mod case_cmd;
mod demo;
mod imap;
mod ingest;
mod mail_cmd;
mod party_cmd;
mod policy_cmd;
mod server_cmd;
mod user_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "vulndesk",
    version,
    about = "A coordinated vulnerability disclosure desk"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server and API.
    Serve(server_cmd::ServeArgs),
    /// Create or migrate a database and load policies into it.
    Init(server_cmd::InitArgs),
    /// Check and explain policy files.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
    /// Take in mail and manage the organisations' OpenPGP keys.
    #[command(subcommand)]
    Mail(mail_cmd::MailCommand),
    /// Check the tamper-evident case logs.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
    /// Manage the security team's accounts and API tokens.
    #[command(subcommand)]
    User(user_cmd::UserCommand),
    /// A case's process: show it, take or approve its gated steps as a team member.
    #[command(subcommand)]
    Case(case_cmd::CaseCommand),
    /// An organisation's registry of parties: vendors, distributions, service providers.
    #[command(subcommand)]
    Party(party_cmd::PartyCommand),
    /// An organisation's advisories: list them, export a published one (CVE JSON 5, CSAF
    /// 2.0, CSAF VEX, OSV).
    #[command(subcommand)]
    Advisory(advisory_cmd::AdvisoryCommand),
    /// Maintain a database.
    #[command(subcommand)]
    Admin(admin_cmd::AdminCommand),
    /// Measure speed: deadlines, the dashboard, intake, each against a baseline.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// What went wrong, by exit code: 1 for invalid input (a policy that does not
/// load), 2 for usage, 3 for the environment (files, database, network), 4 for an action
/// the case's state or policy refuses (a gate), 75 for "try again later" (mail ingest).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Environment(String),
    /// The case's state, its policy or the person's standing refuses the action: a gate
    /// that does not hold names what is missing.
    #[error("{0}")]
    Refused(String),
    /// Could not be done now, may work later: sysexits' EX_TEMPFAIL, which an MTA
    /// answers by keeping the message and delivering it again.
    #[error("{0}")]
    TempFail(String),
}

/// A use case that did not happen: the input's fault (1) or the environment's (3).
impl From<vulndesk_desk::DeskError> for CliError {
    fn from(e: vulndesk_desk::DeskError) -> CliError {
        use vulndesk_desk::DeskError as D;
        match e {
            D::Unavailable(_) | D::Internal(_) => CliError::Environment(e.to_string()),
            D::MissingField(_)
            | D::UnknownField { .. }
            | D::InvalidField { .. }
            | D::UnknownProduct { .. }
            | D::AmbiguousProduct { .. }
            | D::ChannelNotOffered { .. }
            | D::AttachmentTooLarge { .. }
            | D::TooManyAttachments { .. }
            | D::Duplicate(_)
            | D::Unstorable(_)
            | D::NotFound => CliError::Invalid(e.to_string()),
            D::Conflict { .. } | D::Forbidden(_) => CliError::Refused(e.to_string()),
        }
    }
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Invalid(_) => 1,
            CliError::Usage(_) => 2,
            CliError::Io { .. } | CliError::Environment(_) => 3,
            CliError::Refused(_) => 4,
            CliError::TempFail(_) => 75,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => server_cmd::serve(args),
        Command::Init(args) => server_cmd::init(args),
        Command::Policy(cmd) => policy_cmd::run(cmd),
        Command::Mail(cmd) => mail_cmd::run(cmd),
        Command::Audit(cmd) => audit_cmd::run(cmd),
        Command::Admin(cmd) => admin_cmd::run(cmd),
        Command::User(cmd) => user_cmd::run(cmd),
        Command::Case(cmd) => case_cmd::run(cmd),
        Command::Party(cmd) => party_cmd::run(cmd),
        Command::Advisory(cmd) => advisory_cmd::run(cmd),
        Command::Bench(cmd) => bench::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vulndesk: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
