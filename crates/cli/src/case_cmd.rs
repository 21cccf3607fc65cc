//! `vulndesk case`: a case's process from the command line, for an operator at the server:
//! where it stands (`show`), and its gated steps taken (`step`) or approved (`approve`) as a
//! named team member, decided exactly as the pages and the API decide them. A step a gate
//! refuses exits with 4 and the message naming what is missing.

use clap::{Args, Subcommand};
use jiff::civil::Date;
use vulndesk_core::access::{self, CaseRef};
use vulndesk_core::case;
use vulndesk_core::command::Command;
use vulndesk_core::workflow;
use vulndesk_desk::{Acting, Action, Desk, cases};

use crate::CliError;
use crate::server_cmd::{DbArgs, open, runtime};

#[derive(Subcommand)]
pub enum CaseCommand {
    /// The case's state, officer, process (stages and gates) and next deadline.
    Show {
        /// The case id.
        id: i64,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Take a step of the case's process as a team member: `merge-fix`, `release-fix`,
    /// `publish-advisory`, or a stage of the policy's workflow.
    Step {
        id: i64,
        /// The step.
        step: String,
        #[command(flatten)]
        who: AsArgs,
        /// The day (for release-fix and publish-advisory; default today).
        #[arg(long, value_name = "YYYY-MM-DD")]
        on: Option<Date>,
        /// The merged commit (merge-fix) or the evidence (a stage).
        #[arg(long)]
        evidence: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Approve a gated step as a team member (or reviewer) of a group the gate names.
    Approve {
        id: i64,
        /// The step approved, e.g. `merge-fix`.
        step: String,
        #[command(flatten)]
        who: AsArgs,
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Args)]
pub struct AsArgs {
    /// The team member acting (their account's address).
    #[arg(long = "as", value_name = "EMAIL")]
    email: String,
}

pub fn run(cmd: CaseCommand) -> Result<(), CliError> {
    runtime()?.block_on(async {
        match cmd {
            CaseCommand::Show { id, db } => show(&Desk::new(open(&db).await?), id).await,
            CaseCommand::Step {
                id,
                step,
                who,
                on,
                evidence,
                db,
            } => {
                let desk = Desk::new(open(&db).await?);
                let today = jiff::Timestamp::now().to_string()[..10]
                    .parse()
                    .map_err(|e| CliError::Environment(format!("today: {e}")))?;
                let on = on.unwrap_or(today);
                let command = match step.as_str() {
                    "merge-fix" => Command::MergeFix {
                        reference: evidence,
                    },
                    "release-fix" => Command::ReleaseFix { on },
                    "publish-advisory" => Command::PublishAdvisory { on },
                    stage => Command::CompleteStage {
                        stage: stage.to_owned(),
                        evidence,
                    },
                };
                act(&desk, id, &who.email, command).await
            }
            CaseCommand::Approve {
                id,
                step,
                who,
                note,
                db,
            } => {
                let desk = Desk::new(open(&db).await?);
                act(&desk, id, &who.email, Command::Approve { step, note }).await
            }
        }
    })
}

/// Records `command` on case `id` as the account `email`, with that person's standing.
async fn act(desk: &Desk, id: i64, email: &str, command: Command) -> Result<(), CliError> {
    let store = desk.store();
    let user = store
        .user_by_email(email)
        .await
        .map_err(|e| CliError::Environment(e.to_string()))?
        .filter(|u| u.disabled_at.is_none())
        .ok_or_else(|| {
            CliError::Usage(format!("--as {email}: no enabled account has that address"))
        })?;
    let row = store
        .case(id)
        .await
        .map_err(|e| CliError::Environment(e.to_string()))?
        .ok_or_else(|| CliError::Usage(format!("there is no case {id}")))?;
    let org_id = store
        .case_org(id)
        .await
        .map_err(|e| CliError::Environment(e.to_string()))?
        .ok_or_else(|| CliError::Usage(format!("there is no case {id}")))?;
    let person = desk.person(&user).await?;
    let standing = access::standing(&person, CaseRef { id, org_id })
        .ok_or_else(|| CliError::Refused(format!("{email} has no access to case {id}")))?;
    let acted = desk
        .act(
            &row,
            org_id,
            Acting {
                user: &user,
                standing,
            },
            Action::Command(command),
        )
        .await?;
    println!(
        "case {id}: recorded as event {}; the case is {}",
        acted.seq,
        acted.state.as_str()
    );
    Ok(())
}

async fn show(desk: &Desk, id: i64) -> Result<(), CliError> {
    let store = desk.store();
    let row = store
        .case(id)
        .await
        .map_err(|e| CliError::Environment(e.to_string()))?
        .ok_or_else(|| CliError::Usage(format!("there is no case {id}")))?;
    let pinned = desk.policy(row.policy_version_id).await?;
    let policy = &pinned.policy;
    let log = cases::log(
        &store
            .events(id)
            .await
            .map_err(|e| CliError::Environment(e.to_string()))?,
    )?;
    let summary = case::summary(&log);
    println!("case {id}: {}", summary.title);
    println!("state: {}", case::state(&log).as_str());
    match summary.officer {
        Some(officer) => println!("officer: user {officer}"),
        None => println!("officer: none"),
    }
    if let Some(next) = cases::clocks_of(policy, &log)?.next_due() {
        println!("next deadline: {} {}", next.kind.as_str(), next.due);
    }
    for s in workflow::checklist(policy, &log) {
        match s.done {
            Some(done) => println!("stage {}: done by {} at {}", s.stage, done.actor, done.at),
            None => println!("stage {}: to do", s.stage),
        }
    }
    for g in workflow::gates(policy, &log) {
        match &g.missing {
            None => println!("gate before {} ({}): holds", g.gate.before, g.gate.require),
            Some(missing) => println!(
                "gate before {} ({}): needs {missing}",
                g.gate.before, g.gate.require
            ),
        }
    }
    Ok(())
}
