//! What reporters use: the front page, the report form, the JSON intake, the portal behind
//! their secret link and what they do after filing (replies, keys, files).

pub(crate) mod followup;
pub(crate) mod form;
pub(crate) mod front;
pub mod intake;
pub(crate) mod portal;
mod token;

pub(crate) use token::{ReporterToken, bearer, case, token_hash};
