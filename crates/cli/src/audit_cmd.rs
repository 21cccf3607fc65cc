//! `vulndesk audit`: checks that the case logs, the advisory logs and the account log are
//! what was written.

use clap::Subcommand;
use vulndesk_store::StoreError;

use crate::CliError;
use crate::server_cmd::{DbArgs, open, runtime, store_error};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute every case's hash chain, every advisory's and the account log's; exit 1
    /// naming the first broken link.
    Verify {
        #[command(flatten)]
        db: DbArgs,
    },
}

pub fn run(cmd: AuditCommand) -> Result<(), CliError> {
    match cmd {
        AuditCommand::Verify { db } => runtime()?.block_on(async {
            let store = open(&db).await?;
            let ids = store.case_ids().await.map_err(store_error)?;
            let mut events = 0;
            for &id in &ids {
                match store.verify_chain(id).await {
                    Ok(()) => {}
                    // The first broken link is the one to investigate: later ones may be
                    // consequences of it.
                    Err(StoreError::ChainBroken(b)) => {
                        return Err(CliError::Invalid(format!(
                            "case {}: the log is broken at event {}: {}",
                            b.case_id, b.seq, b.reason
                        )));
                    }
                    Err(e) => return Err(store_error(e)),
                }
                events += store.events(id).await.map_err(store_error)?.len();
            }
            let advisories = store.advisory_ids().await.map_err(store_error)?;
            let mut advisory_events = 0;
            for &id in &advisories {
                match store.verify_advisory_log(id).await {
                    Ok(n) => advisory_events += n,
                    Err(StoreError::ChainBroken(b)) => {
                        let number = store
                            .advisory(id)
                            .await
                            .map_err(store_error)?
                            .map_or_else(|| id.to_string(), |a| a.number);
                        return Err(CliError::Invalid(format!(
                            "advisory {number}: the log is broken at event {}: {}",
                            b.seq, b.reason
                        )));
                    }
                    Err(e) => return Err(store_error(e)),
                }
            }
            let account_events = match store.verify_account_log().await {
                Ok(n) => n,
                Err(StoreError::ChainBroken(b)) => {
                    return Err(CliError::Invalid(format!(
                        "the account log is broken at event {}: {}",
                        b.seq, b.reason
                    )));
                }
                Err(e) => return Err(store_error(e)),
            };
            println!(
                "{} case log{} verified, {events} events, every hash chain intact",
                ids.len(),
                if ids.len() == 1 { "" } else { "s" }
            );
            println!(
                "{} advisory log{} verified, {advisory_events} events, every hash chain intact",
                advisories.len(),
                if advisories.len() == 1 { "" } else { "s" }
            );
            println!("account log verified, {account_events} events, its hash chain intact");
            store.close().await;
            Ok(())
        }),
    }
}
