//! `vulndesk admin`: maintenance of a Vulndesk database.

use clap::Subcommand;
use vulndesk_desk::Desk;

use crate::CliError;
use crate::server_cmd::{DbArgs, open, runtime};

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Recompute every case's projection (state, next due date) from its event log.
    Rebuild {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Queue the reminders that are due now (what `serve` does every few minutes), for a
    /// desk that sends them from cron instead.
    Remind {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        public: crate::server_cmd::DeskAddresses,
    },
}

pub fn run(cmd: AdminCommand) -> Result<(), CliError> {
    match cmd {
        AdminCommand::Rebuild { db } => runtime()?.block_on(async {
            let rebuilt = Desk::new(open(&db).await?).rebuild_projections().await?;
            println!(
                "rebuilt {} case projection{}; {} corrected",
                rebuilt.cases,
                if rebuilt.cases == 1 { "" } else { "s" },
                rebuilt.corrected
            );
            Ok(())
        }),
        AdminCommand::Remind { db, public } => runtime()?.block_on(async {
            let desk = Desk::new(open(&db).await?)
                .with_public_url(public.get()?)
                .with_mail_from(public.mail_from()?);
            let sent = desk.remind(jiff::Timestamp::now()).await?;
            println!("queued {sent} reminder{}", if sent == 1 { "" } else { "s" });
            Ok(())
        }),
    }
}
