//! The pure domain core of Vulndesk: policies, calendars and the deadline clocks
//! derived from them. Nothing here reads the clock, the disk or the network: the
//! present moment and every input are parameters, which is what keeps the rules
//! exhaustively testable.

pub mod access;
pub mod actor;
pub mod advisory;
pub mod bounty;
pub mod calendar;
pub mod case;
pub mod clocks;
pub mod command;
pub mod coordination;
pub mod cwe;
pub mod duration;
pub mod email;
pub mod fixes;
pub mod participant;
pub mod plausible;
pub mod policy;
pub mod reminders;
pub mod severity;
pub mod ssvc;
#[cfg(test)]
mod test_support;
pub mod text;
pub mod triage;
pub mod versions;
pub mod workflow;
