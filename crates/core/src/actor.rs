//! Who caused an event: the reporter, a team member, or nobody in particular. Stored as
//! text with each event (`reporter`, `user:7`, `anonymous`); this is the one place that
//! text is written and read.

use std::fmt;

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The person who filed the report, whatever the channel (the form, the API, mail).
    Reporter,
    /// A team member, by user id.
    User(i64),
    /// Nobody signed in (a public page's action).
    Anonymous,
    /// Vulndesk itself, acting on a schedule (escalating a deadline nobody acted on).
    Desk,
    /// A party coordinating on the case, by its slug in the organisation's registry.
    Party(String),
    /// A name this version does not write, kept as stored (logs written by hand or by an
    /// older version stay readable).
    Other(String),
}

impl Actor {
    /// The stored text back as an actor; never fails, because the log must stay readable.
    pub fn parse(text: &str) -> Actor {
        match text {
            "reporter" => Actor::Reporter,
            "anonymous" => Actor::Anonymous,
            "vulndesk" => Actor::Desk,
            _ => match (
                text.strip_prefix("user:").map(str::parse),
                text.strip_prefix("party:"),
            ) {
                (Some(Ok(id)), _) => Actor::User(id),
                (_, Some(slug)) if !slug.is_empty() => Actor::Party(slug.to_owned()),
                _ => Actor::Other(text.to_owned()),
            },
        }
    }

    /// The team member's id, if a team member acted.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Actor::User(id) => Some(*id),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Reporter => f.write_str("reporter"),
            Actor::User(id) => write!(f, "user:{id}"),
            Actor::Anonymous => f.write_str("anonymous"),
            Actor::Desk => f.write_str("vulndesk"),
            Actor::Party(slug) => write!(f, "party:{slug}"),
            Actor::Other(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_read_back_as_written() {
        for actor in [
            Actor::Reporter,
            Actor::User(7),
            Actor::Anonymous,
            Actor::Desk,
            Actor::Party("debian".into()),
            Actor::Other("alice".into()),
        ] {
            assert_eq!(Actor::parse(&actor.to_string()), actor);
        }
        assert_eq!(Actor::User(7).to_string(), "user:7");
        assert_eq!(Actor::parse("user:x"), Actor::Other("user:x".into()));
        assert_eq!(Actor::parse("party:"), Actor::Other("party:".into()));
        assert_eq!(Actor::parse("user:12").user_id(), Some(12));
        assert_eq!(Actor::Reporter.user_id(), None);
    }
}
