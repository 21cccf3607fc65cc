//! Who takes part in a case by mail, and what their mail becomes on the case.
//!
//! Each participant has a reply address of their own, so mail to it is known to be theirs
//! (the address is a secret only mail to them carried) and joins the case as them, seen by
//! whom their role allows: the reporter's words are a reply the reporter reads again in
//! their portal; a team member's are an internal note. Vendors and service providers join
//! here when coordination lands.

use crate::case::{Audience, Channel, Event};

/// A participant's part in a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The person who reported the case.
    Reporter,
    /// A member of the security team, written to about the case (a mention).
    Team,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Reporter, Role::Team];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reporter => "reporter",
            Role::Team => "team",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// The widest circle that reads what this participant writes.
    pub fn audience(self) -> Audience {
        self.said(String::new()).audience()
    }

    /// The event recording the words of a mail from this participant (after the
    /// `mail_received` event every joined mail gets).
    pub fn said(self, body: String) -> Event {
        match self {
            Role::Reporter => Event::ReporterReply {
                body,
                channel: Channel::Email,
            },
            Role::Team => Event::NoteAdded {
                body,
                mentions: Vec::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_team_members_mail_stays_with_the_team_and_the_reporters_reaches_the_reporter() {
        assert_eq!(Role::Team.audience(), Audience::Workers);
        assert_eq!(Role::Reporter.audience(), Audience::Reporter);
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("vendor"), None);
    }
}
