use std::collections::BTreeMap;

use jiff::civil::date;

use super::*;
use crate::test_support::policy;
use crate::triage::DeclineReason;

fn at(ts: &str, event: Event) -> Recorded {
    Recorded {
        at: ts.parse().unwrap(),
        actor: "user:1".into(),
        event,
    }
}

fn reported(on: &str) -> Recorded {
    at(
        on,
        Event::Reported {
            product: "asterisk".into(),
            title: "t".into(),
            description: "d".into(),
            reporter_contact: None,
            channel: crate::case::Channel::Api,
            fields: BTreeMap::new(),
            language: None,
        },
    )
}

fn keys(r: &[Reminder]) -> Vec<String> {
    r.iter().map(Reminder::key).collect()
}

#[test]
fn a_deadline_is_due_soon_within_48_hours_then_overdue_and_quiet_once_met() {
    // FreePBX: a human answer within 3 US business days. Reported Mon 2026-04-06 (UTC).
    let p = policy("freepbx");
    let log = vec![reported("2026-04-06T15:00:00Z")];
    assert!(reminders(&p, &log, date(2026, 4, 6)).is_empty());
    let soon = reminders(&p, &log, date(2026, 4, 7));
    assert_eq!(keys(&soon), ["due-soon:acknowledge:2026-04-09"]);
    assert!(soon[0].text.contains("within 48 hours"), "{}", soon[0].text);
    let late = reminders(&p, &log, date(2026, 4, 10));
    assert_eq!(keys(&late), ["overdue:acknowledge:2026-04-09"]);
    assert!(late[0].text.contains("has passed unmet"));
    let mut answered = log.clone();
    answered.push(at(
        "2026-04-08T09:00:00Z",
        Event::ReporterMessage {
            by_team_member: true,
            body: "We are on it".into(),
        },
    ));
    assert!(
        keys(&reminders(&p, &answered, date(2026, 4, 10)))
            .iter()
            .all(|k| !k.contains("acknowledge"))
    );
}

#[test]
fn a_declined_or_closed_case_calls_for_nothing() {
    let p = policy("freepbx");
    let mut log = vec![reported("2026-04-06T15:00:00Z")];
    log.push(at(
        "2026-04-07T15:00:00Z",
        Event::Declined {
            reason: DeclineReason::OutOfScope,
            duplicate_of: None,
            note: None,
        },
    ));
    assert!(reminders(&p, &log, date(2026, 6, 1)).is_empty());
}

#[test]
fn the_reporter_must_hear_from_the_team_every_14_days_under_sangomas_policy() {
    let p = policy("sangoma");
    let mut log = vec![reported("2026-04-01T10:00:00Z")];
    let quiet = |log: &[Recorded], on| {
        reminders(&p, log, on)
            .into_iter()
            .filter(|r| r.kind == ReminderKind::UpdateReporter)
            .collect::<Vec<_>>()
    };
    assert!(quiet(&log, date(2026, 4, 14)).is_empty());
    let due = quiet(&log, date(2026, 4, 15));
    assert_eq!(keys(&due), ["update-reporter:2026-04-15"]);
    assert!(due[0].text.contains("every 14 days"), "{}", due[0].text);
    // An automatic message does not count; a team member's does, and restarts the period.
    log.push(at(
        "2026-04-10T10:00:00Z",
        Event::ReporterMessage {
            by_team_member: false,
            body: "auto".into(),
        },
    ));
    assert_eq!(
        keys(&quiet(&log, date(2026, 4, 15))),
        ["update-reporter:2026-04-15"]
    );
    log.push(at(
        "2026-04-12T10:00:00Z",
        Event::ReporterMessage {
            by_team_member: true,
            body: "progress".into(),
        },
    ));
    assert!(quiet(&log, date(2026, 4, 15)).is_empty());
    assert_eq!(
        keys(&quiet(&log, date(2026, 4, 27))),
        ["update-reporter:2026-04-26"]
    );
    // Policies without the promise never remind.
    assert!(
        reminders(&policy("kamailio"), &log, date(2027, 1, 1))
            .iter()
            .all(|r| r.kind != ReminderKind::UpdateReporter)
    );
}

#[test]
fn when_the_reporter_may_publish_is_a_permission_never_a_reminder() {
    // SalesTim: the reporter may publish with our disclosure (2026-07-06); long after it,
    // only our own missed disclosure is chased.
    let p = policy("salestim");
    let log = vec![reported("2026-04-05T15:00:00Z")];
    assert_eq!(
        keys(&reminders(&p, &log, date(2026, 8, 1))),
        ["overdue:disclosure:2026-07-06"]
    );
    assert!(
        keys(&reminders(&p, &log, date(2026, 7, 5)))
            .iter()
            .all(|k| !k.contains("reporter"))
    );
    // FreePBX: published on 2026-06-15, the reporter may publish from 2026-06-29.
    let p = policy("freepbx");
    let mut log = vec![
        reported("2026-04-06T15:00:00Z"),
        at(
            "2026-04-07T09:00:00Z",
            Event::ReporterMessage {
                by_team_member: true,
                body: "On it".into(),
            },
        ),
        at("2026-04-07T10:00:00Z", Event::Accepted),
    ];
    log.push(at(
        "2026-05-04T10:00:00Z",
        Event::FixReleased {
            on: date(2026, 5, 4),
        },
    ));
    log.push(at(
        "2026-06-15T10:00:00Z",
        Event::AdvisoryPublished {
            on: date(2026, 6, 15),
        },
    ));
    for today in [date(2026, 6, 28), date(2026, 6, 29), date(2026, 9, 1)] {
        assert!(reminders(&p, &log, today).is_empty(), "{today}");
    }
}

fn by(actor: &str, mut r: Recorded) -> Recorded {
    r.actor = actor.into();
    r
}

#[test]
fn a_deadline_passed_with_nobody_acting_is_escalated_once() {
    // FreePBX: a human answer within 3 US business days of Mon 2026-04-06: Thu 2026-04-09.
    let p = policy("freepbx");
    let mut log = vec![by("reporter", reported("2026-04-06T15:00:00Z"))];
    assert!(
        escalations(&p, &log, date(2026, 4, 9)).is_empty(),
        "not passed yet"
    );
    let due = escalations(&p, &log, date(2026, 4, 10));
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].clock, due[0].due),
        (ClockKind::Acknowledge, date(2026, 4, 9))
    );
    assert_eq!(
        due[0].text,
        "the acknowledge deadline of Thu 2026-04-09 has passed unmet and nobody of the team has acted on the case"
    );
    // Recorded once, it is not escalated again.
    log.push(by(
        "vulndesk",
        at(
            "2026-04-10T08:00:00Z",
            Event::Escalated {
                clock: ClockKind::Acknowledge,
                due: date(2026, 4, 9),
                told: vec![1],
            },
        ),
    ));
    assert!(escalations(&p, &log, date(2026, 4, 11)).is_empty());
}

#[test]
fn a_team_acting_within_the_margin_before_the_deadline_is_not_escalated() {
    let p = policy("freepbx");
    let note = |on: &str| {
        at(
            on,
            Event::NoteAdded {
                body: "looking".into(),
                mentions: vec![],
            },
        )
    };
    // A note two days before the deadline: the team is on it (the default margin is 2 days).
    let log = vec![
        by("reporter", reported("2026-04-06T15:00:00Z")),
        note("2026-04-07T12:00:00Z"),
    ];
    assert!(escalations(&p, &log, date(2026, 4, 10)).is_empty());
    // The reporter writing again is not the team acting.
    let log = vec![
        by("reporter", reported("2026-04-06T15:00:00Z")),
        by(
            "reporter",
            at(
                "2026-04-08T12:00:00Z",
                Event::ReporterReply {
                    body: "any news?".into(),
                    channel: crate::case::Channel::Web,
                },
            ),
        ),
    ];
    assert_eq!(escalations(&p, &log, date(2026, 4, 10)).len(), 1);
    let source = std::fs::read_to_string(format!(
        "{}/../../policies/freepbx.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace(
        "[response]",
        "[response]\nescalation_margin = \"1 business days\"",
    );
    let strict = Policy::parse("freepbx.toml", &source).unwrap();
    let log = vec![
        by("reporter", reported("2026-04-06T15:00:00Z")),
        note("2026-04-07T12:00:00Z"),
    ];
    // A one-business-day margin starts on Wed 2026-04-08: the Tuesday note is too old.
    let due = escalations(&strict, &log, date(2026, 4, 10));
    assert_eq!(due.len(), 1, "{due:?}");
    assert!(
        due[0].text.contains("since Tue 2026-04-07"),
        "{}",
        due[0].text
    );
    // A declined case escalates nothing.
    let mut declined = log.clone();
    declined.push(at(
        "2026-04-07T13:00:00Z",
        Event::Declined {
            reason: DeclineReason::OutOfScope,
            duplicate_of: None,
            note: None,
        },
    ));
    assert!(escalations(&strict, &declined, date(2026, 4, 10)).is_empty());
}
