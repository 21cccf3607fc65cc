//! Who takes part in a case by mail, and what their mail becomes on the case.
//!
//! Each participant has a reply address of their own, so mail to it is known to be theirs
//! (the address is a secret only mail to them carried) and joins the case as them, seen by
//! whom their role allows: the reporter's words are a reply the reporter reads again in
//! their portal; a team member's are an internal note; a party's (a vendor, distribution
//! or service provider coordinating under embargo) join that party's own thread, which
//! no other party reads.

use crate::case::{Audience, Channel, Event};

/// A participant's part in a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The person who reported the case.
    Reporter,
    /// A member of the security team, written to about the case (a mention).
    Team,
    /// A party invited to the case from the organisation's registry.
    Party,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Reporter, Role::Team, Role::Party];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reporter => "reporter",
            Role::Team => "team",
            Role::Party => "party",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// The widest circle that reads what this participant writes.
    pub fn audience(self) -> Audience {
        self.said("", String::new()).audience()
    }

    /// The event recording the words of a mail from this participant (after the
    /// `mail_received` event every joined mail gets); `party` is the party's slug, for a
    /// party.
    pub fn said(self, party: &str, body: String) -> Event {
        match self {
            Role::Party => Event::PartyMessage {
                party: Some(party.to_owned()),
                body,
                from_party: true,
                files: Vec::new(),
            },
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
        assert_eq!(Role::Party.audience(), Audience::Workers);
        assert!(matches!(
            Role::Party.said("debian", "b".into()),
            Event::PartyMessage { party: Some(p), from_party: true, .. } if p == "debian"
        ));
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("vendor"), None);
    }
}
