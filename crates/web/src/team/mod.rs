//! What the security team uses: signing in, their account, the dashboard and case pages,
//! and the team's JSON API over the same workspace functions.

pub(crate) mod account;
pub(crate) mod advisories;
pub(crate) mod advisory_pages;
pub(crate) mod api;
pub(crate) mod coordination;
pub(crate) mod outbound;
pub(crate) mod pages;
pub(crate) mod signin;
pub mod workspace;
