use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::{Date, date};

use super::*;
use crate::access::OrgRole;
use crate::case::Channel;
use crate::test_support::policy;

const TODAY: Date = date(2026, 11, 30);
const OFFICER: i64 = 3;
const MEMBER: i64 = 4;

fn recorded(events: Vec<Event>) -> Vec<Recorded> {
    let at: Timestamp = "2026-11-20T10:00:00Z".parse().unwrap();
    std::iter::once(Event::Reported {
        product: "salestim".into(),
        title: "XSS".into(),
        description: "d".into(),
        reporter_contact: None,
        channel: Channel::Api,
        fields: BTreeMap::new(),
        language: None,
    })
    .chain(events)
    .map(|event| Recorded {
        at,
        actor: "user:3".into(),
        event,
    })
    .collect()
}

fn ctx(standing: Standing) -> Context<'static> {
    by(By::Team(standing))
}

fn by(by: By) -> Context<'static> {
    Context {
        by,
        today: TODAY,
        officers: &[OFFICER],
        org_cases: &[7],
        member: match by {
            By::Reporter | By::Party => None,
            By::Team(_) => Some(Member {
                user_id: OFFICER,
                role: Some(OrgRole::Officer),
                grant: None,
            }),
        },
    }
}

/// What `decide` answers for `command` by a manager on a case with `log` under SalesTim.
fn on(log: Vec<Event>, command: Command) -> Result<Vec<Event>, Refusal> {
    decide(
        command,
        &recorded(log),
        &policy("salestim"),
        &ctx(Standing::Manager),
    )
}

fn field(r: Result<Vec<Event>, Refusal>) -> &'static str {
    match r {
        Err(Refusal::Invalid { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

#[test]
fn each_command_needs_the_standing_its_route_declares() {
    let commands = [
        (Command::Accept, Standing::Worker),
        (
            Command::Note {
                body: "n".into(),
                mentions: vec![],
            },
            Standing::Worker,
        ),
        (
            Command::Severity {
                vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
            },
            Standing::Worker,
        ),
        (
            Command::AssignOfficer { user_id: OFFICER },
            Standing::Manager,
        ),
        (
            Command::MoveDeadline {
                clock: ClockKind::Disclosure,
                due: date(2027, 1, 4),
                reason: "vendor asked".into(),
                reporter_note: None,
            },
            Standing::Manager,
        ),
        (
            Command::ChangeAccess {
                user_id: MEMBER,
                grant: Some(CaseGrant::Reviewer),
            },
            Standing::Manager,
        ),
    ];
    for (command, needs) in commands {
        assert_eq!(command.needs(), By::Team(needs), "{command:?}");
        for standing in [Standing::Reader, Standing::Worker, Standing::Manager] {
            let got = decide(
                command.clone(),
                &recorded(vec![]),
                &policy("salestim"),
                &ctx(standing),
            );
            if standing >= needs {
                assert!(got.is_ok(), "{command:?} by {standing:?}: {got:?}");
            } else {
                assert!(
                    matches!(&got, Err(Refusal::Forbidden { why }) if why.contains("standing")),
                    "{command:?}: {got:?}"
                );
            }
        }
        // The reporter does none of the team's work.
        let got = decide(
            command.clone(),
            &recorded(vec![]),
            &policy("salestim"),
            &by(By::Reporter),
        );
        assert!(
            matches!(got, Err(Refusal::Forbidden { .. })),
            "{command:?}: {got:?}"
        );
    }
}

#[test]
fn the_reporter_replies_sets_a_key_and_replaces_the_link_and_nobody_else_does() {
    let file = File {
        sha256: "cd".repeat(32),
        filename: "poc.py".into(),
        content_type: "text/x-python".into(),
        size: 40,
    };
    let reply = |body: &str, files: Vec<File>| Command::Reply {
        body: body.into(),
        channel: Channel::Web,
        files,
    };
    let as_reporter = |command: Command, log: Vec<Event>| {
        decide(
            command,
            &recorded(log),
            &policy("salestim"),
            &by(By::Reporter),
        )
    };
    // A reply to a request for information moves the case back to new.
    let events = as_reporter(
        reply("Build 1.4.2", vec![]),
        vec![Event::InfoRequested {
            message: "Which build?".into(),
        }],
    );
    assert_eq!(
        events,
        Ok(vec![Event::ReporterReply {
            body: "Build 1.4.2".into(),
            channel: Channel::Web
        }])
    );
    // Files alone are recorded as the reporter's; nothing at all is refused.
    let events = as_reporter(reply(" ", vec![file.clone()]), vec![]).unwrap();
    assert!(
        matches!(&events[..], [Event::AttachmentAdded { added_by, .. }] if added_by == "reporter")
    );
    assert_eq!(field(as_reporter(reply("\n", vec![]), vec![])), "body");
    assert_eq!(
        as_reporter(Command::ReplaceToken, vec![]),
        Ok(vec![Event::ReporterTokenReplaced])
    );
    assert_eq!(
        as_reporter(
            Command::SetKey {
                fingerprint: "AB".repeat(20)
            },
            vec![]
        ),
        Ok(vec![Event::ReporterKeySet {
            fingerprint: "AB".repeat(20)
        }])
    );
    // Not even an officer speaks for the reporter.
    for command in [reply("x", vec![]), Command::ReplaceToken] {
        let got = decide(
            command,
            &recorded(vec![]),
            &policy("salestim"),
            &ctx(Standing::Manager),
        );
        assert_eq!(
            got,
            Err(Refusal::Forbidden {
                why: "only the case's reporter does this".into()
            })
        );
    }
}

#[test]
fn moves_follow_the_state_machine_on_the_log_given() {
    assert_eq!(on(vec![], Command::Accept), Ok(vec![Event::Accepted]));
    // A second officer accepting what the first already accepted is told so.
    assert!(matches!(
        on(vec![Event::Accepted], Command::Accept),
        Err(Refusal::Conflict(_))
    ));
    assert!(matches!(
        on(vec![], Command::ReleaseFix { on: TODAY }),
        Err(Refusal::Conflict(_))
    ));
    assert_eq!(
        on(
            vec![Event::Accepted, Event::FixStarted],
            Command::ReleaseFix { on: TODAY }
        ),
        Ok(vec![Event::FixReleased { on: TODAY }])
    );
    assert!(matches!(
        on(vec![], Command::Reopen { reason: "r".into() }),
        Err(Refusal::Conflict(_))
    ));
}

#[test]
fn a_decline_uses_a_reason_the_policy_lists_and_names_a_case_of_the_organisation() {
    let decline = |reason, duplicate_of| Command::Decline {
        reason,
        duplicate_of,
        note: Some("  ".into()),
    };
    // SalesTim does not decline for insecure configuration; Sangoma does.
    assert_eq!(
        field(on(
            vec![],
            decline(DeclineReason::InsecureConfiguration, None)
        )),
        "reason"
    );
    assert!(
        decide(
            decline(DeclineReason::InsecureConfiguration, None),
            &recorded(vec![]),
            &policy("sangoma"),
            &ctx(Standing::Worker),
        )
        .is_ok()
    );
    assert_eq!(
        on(vec![], decline(DeclineReason::Duplicate, Some(7))),
        Ok(vec![Event::Declined {
            reason: DeclineReason::Duplicate,
            duplicate_of: Some(7),
            note: None,
        }])
    );
    assert_eq!(
        field(on(vec![], decline(DeclineReason::Duplicate, Some(8)))),
        "duplicate_of"
    );
    assert_eq!(
        field(on(vec![], decline(DeclineReason::Duplicate, None))),
        "duplicate_of"
    );
    assert_eq!(
        field(on(vec![], decline(DeclineReason::OutOfScope, Some(7)))),
        "duplicate_of"
    );
}

#[test]
fn fields_are_checked_and_named() {
    let cases = [
        (
            Command::Severity {
                vector: "CVSS:3.1/AV:X".into(),
            },
            "vector",
        ),
        (Command::AssignOfficer { user_id: MEMBER }, "user_id"),
        // The retired grant is refused where it is asked for: parties take its place.
        (
            Command::ChangeAccess {
                user_id: MEMBER,
                grant: Some(CaseGrant::External),
            },
            "grant",
        ),
        (
            Command::MoveDeadline {
                clock: ClockKind::Disclosure,
                due: date(2027, 1, 4),
                reason: " ".into(),
                reporter_note: None,
            },
            "reason",
        ),
        (
            Command::MoveDeadline {
                clock: ClockKind::Disclosure,
                due: date(2126, 1, 4),
                reason: "vendor asked".into(),
                reporter_note: None,
            },
            "due",
        ),
        (
            Command::RequestInfo {
                message: "\n".into(),
            },
            "message",
        ),
        (
            Command::Note {
                body: String::new(),
                mentions: vec![],
            },
            "body",
        ),
    ];
    for (command, expected) in cases {
        assert_eq!(field(on(vec![], command.clone())), expected, "{command:?}");
    }
    assert_eq!(
        field(on(
            vec![Event::Accepted],
            Command::ScheduleFix {
                release: date(1989, 12, 31)
            }
        )),
        "release"
    );
}

#[test]
fn values_are_recorded_normalised() {
    assert_eq!(
        on(
            vec![],
            Command::Severity {
                vector: " CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\n".into()
            }
        ),
        Ok(vec![Event::SeverityAssessed {
            vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into()
        }])
    );
    let moved = on(
        vec![],
        Command::MoveDeadline {
            clock: ClockKind::Disclosure,
            due: date(2027, 1, 4),
            reason: "vendor asked".into(),
            reporter_note: Some(" ".into()),
        },
    );
    assert_eq!(
        moved,
        Ok(vec![Event::DeadlineOverridden {
            clock: ClockKind::Disclosure,
            due: date(2027, 1, 4),
            reason: "vendor asked".into(),
            reporter_note: None,
        }])
    );
}

#[test]
fn a_message_records_its_files_as_the_teams() {
    let file = File {
        sha256: "ab".repeat(32),
        filename: "patch.diff".into(),
        content_type: "text/x-diff".into(),
        size: 12,
    };
    let events = on(
        vec![],
        Command::Message {
            body: "Please test this patch.".into(),
            files: vec![file],
        },
    )
    .unwrap();
    assert_eq!(events.len(), 2);
    assert!(matches!(
        &events[1],
        Event::AttachmentAdded { added_by, filename, .. } if added_by == "team" && filename == "patch.diff"
    ));
}
