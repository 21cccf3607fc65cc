use std::collections::BTreeMap;

use jiff::civil::date;
use proptest::prelude::*;

use super::*;
use crate::calendar::Calendar;
use crate::case::{self, Event, Recorded, State};

const STATES: [State; 8] = State::ALL;

/// One example of every event kind.
fn every_event() -> Vec<Event> {
    let on = date(2026, 5, 1);
    vec![
        Event::Reported {
            product: "p".into(),
            title: "t".into(),
            description: "d".into(),
            reporter_contact: None,
            channel: crate::case::Channel::Api,
            fields: BTreeMap::new(),
            language: None,
        },
        Event::ReceiptSent,
        Event::ReporterMessage {
            by_team_member: true,
            body: "hi".into(),
        },
        Event::ReporterReply {
            body: "here are the steps".into(),
            channel: crate::case::Channel::Web,
        },
        Event::AttachmentAdded {
            sha256: "aa".repeat(32),
            filename: "poc.py".into(),
            content_type: "text/x-python".into(),
            size: 10,
            added_by: "reporter".into(),
        },
        Event::MailReceived {
            raw_sha256: "bb".repeat(32),
            message_id: "m@example.org".into(),
            from: "r@example.org".into(),
            subject: "s".into(),
            encrypted: false,
            signed_by: None,
            warning: None,
        },
        Event::ReporterKeySet {
            fingerprint: "C97EEBEE66DCB9D1D3B372659320B5DCA21CE0A4".into(),
        },
        Event::ReporterTokenReplaced,
        Event::ExploitationObserved { on },
        Event::FixScheduled { release: on },
        Event::FixReleased { on },
        Event::AdvisoryPublished { on },
        Event::DeadlineOverridden {
            clock: crate::clocks::ClockKind::Disclosure,
            due: on,
            reason: "vendor asked".into(),
            reporter_note: Some("The release moved.".into()),
        },
        Event::InfoRequested {
            message: "Which version?".into(),
        },
        Event::Accepted,
        Event::Declined {
            reason: DeclineReason::Duplicate,
            duplicate_of: Some(7),
            note: None,
        },
        Event::FixStarted,
        Event::Closed,
        Event::Reopened {
            reason: "the reporter showed it works on 2.x".into(),
        },
        Event::NoteAdded {
            body: "@bob can you reproduce?".into(),
            mentions: vec![2],
        },
        Event::SeverityAssessed {
            vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
        },
        Event::OfficerAssigned { user_id: 3 },
        Event::AccessChanged {
            user_id: 4,
            grant: Some(crate::access::CaseGrant::External),
        },
        Event::StageCompleted {
            stage: "validate".into(),
            evidence: Some("reproduced on 3.2".into()),
        },
        Event::FixProposed {
            reference: "https://github.com/org/fork/pull/4".into(),
        },
        Event::FixMerged { reference: None },
        Event::Approved {
            step: "merge-fix".into(),
            groups: vec!["security-team".into()],
            note: None,
        },
        Event::SsvcAssessed {
            points: crate::ssvc::Ssvc {
                exploitation: crate::ssvc::Exploitation::Active,
                automatable: crate::ssvc::Automatable::Yes,
                technical_impact: crate::ssvc::TechnicalImpact::Total,
                mission_impact: crate::ssvc::MissionImpact::High,
            },
        },
        Event::Escalated {
            clock: crate::clocks::ClockKind::Acknowledge,
            due: on,
            told: vec![3],
        },
        Event::Leaked { on },
        Event::LineUpdated {
            line: "17".into(),
            update: crate::fixes::LineUpdate::Tested { note: None },
        },
        Event::BountyProposed {
            amount: "500 USD".into(),
            note: None,
        },
        Event::BountyApproved { note: None },
        Event::BountyDeclined {
            reason: "out of scope".into(),
        },
        Event::BountyPaid {
            method: "bitcoin".into(),
            address: Some("bc1q".into()),
            reference: None,
            on,
        },
        Event::PartiesInvited {
            parties: vec![crate::coordination::Invitee {
                party: "debian".into(),
                name: "Debian".into(),
                kind: crate::coordination::PartyKind::Distribution,
            }],
            reply_by: on,
            summary: "s".into(),
        },
        Event::EmbargoSet {
            end: "2026-05-01T12:00:00Z".parse().unwrap(),
            terms: "t".into(),
        },
        Event::InvitationAnswered {
            party: "debian".into(),
            accepted: true,
            note: None,
        },
        Event::ReleaseAgreed {
            at: "2026-05-01T12:00:00Z".parse().unwrap(),
            note: None,
        },
        Event::PartyStated {
            party: "debian".into(),
            status: crate::coordination::VexStatus::Affected,
            justification: None,
            statement: String::new(),
        },
        Event::StatementApproved {
            party: "debian".into(),
        },
        // The team's message; a party's is kept in every state (tested in coordination).
        Event::PartyMessage {
            party: None,
            body: "b".into(),
            from_party: false,
            files: Vec::new(),
        },
        Event::PartiesReminded {
            parties: vec!["debian".into()],
        },
        Event::PartiesToldOfBreak {
            parties: vec!["debian".into()],
        },
        Event::ReporterConsented {
            share_identity: true,
        },
        Event::IdentityShared { share: true },
    ]
}

/// Fails to compile when an event kind is added, so [`every_event`] and [`TABLE`] are
/// updated with it.
fn variant_index(e: &Event) -> usize {
    match e {
        Event::Reported { .. } => 0,
        Event::ReceiptSent => 1,
        Event::ReporterMessage { .. } => 2,
        Event::ReporterReply { .. } => 3,
        Event::AttachmentAdded { .. } => 4,
        Event::MailReceived { .. } => 5,
        Event::ReporterKeySet { .. } => 6,
        Event::ReporterTokenReplaced => 7,
        Event::ExploitationObserved { .. } => 8,
        Event::FixScheduled { .. } => 9,
        Event::FixReleased { .. } => 10,
        Event::AdvisoryPublished { .. } => 11,
        Event::DeadlineOverridden { .. } => 12,
        Event::InfoRequested { .. } => 13,
        Event::Accepted => 14,
        Event::Declined { .. } => 15,
        Event::FixStarted => 16,
        Event::Closed => 17,
        Event::Reopened { .. } => 18,
        Event::NoteAdded { .. } => 19,
        Event::SeverityAssessed { .. } => 20,
        Event::OfficerAssigned { .. } => 21,
        Event::AccessChanged { .. } => 22,
        Event::StageCompleted { .. } => 23,
        Event::FixProposed { .. } => 24,
        Event::FixMerged { .. } => 25,
        Event::Approved { .. } => 26,
        Event::SsvcAssessed { .. } => 27,
        Event::Escalated { .. } => 28,
        Event::Leaked { .. } => 29,
        Event::LineUpdated { .. } => 30,
        Event::BountyProposed { .. } => 31,
        Event::BountyApproved { .. } => 32,
        Event::BountyDeclined { .. } => 33,
        Event::BountyPaid { .. } => 34,
        Event::PartiesInvited { .. } => 35,
        Event::EmbargoSet { .. } => 36,
        Event::InvitationAnswered { .. } => 37,
        Event::ReleaseAgreed { .. } => 38,
        Event::PartyStated { .. } => 39,
        Event::StatementApproved { .. } => 40,
        Event::PartyMessage { .. } => 41,
        Event::PartiesReminded { .. } => 42,
        Event::PartiesToldOfBreak { .. } => 43,
        Event::ReporterConsented { .. } => 44,
        Event::IdentityShared { .. } => 45,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Allowed, the state does not change.
    Same,
    /// Allowed, to this state.
    To(State),
    /// Refused.
    No,
}
use crate::test_support::policy;
use Expect::{No, Same, To};
use State::{
    Accepted as A, Closed as C, Declined as D, Disclosed as Di, Fixed as Fd, Fixing as Fg,
    NeedsInfo as Ni, New as N,
};

/// The specification, written independently of [`transition`]: for every event kind, the
/// outcome from each state in the order of [`STATES`]:
/// new, needs-info, accepted, declined, fixing, fixed, disclosed, closed.
#[rustfmt::skip]
const TABLE: &[(&str, [Expect; 8])] = &[
    //                        new      needs-info accepted declined  fixing   fixed    disclosed closed
    ("reported",              [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("receipt_sent",          [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("reporter_message",      [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("reporter_reply",        [Same,   To(N),  Same,   Same,   Same,   Same,   Same,   Same]),
    ("attachment_added",      [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("mail_received",         [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("reporter_key_set",      [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("reporter_token_replaced", [Same, Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("exploitation_observed", [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("fix_scheduled",         [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("fix_released",          [No,     No,     To(Fd), No,     To(Fd), Same,   Same,   No]),
    ("advisory_published",    [No,     No,     To(Di), No,     To(Di), To(Di), Same,   No]),
    ("deadline_overridden",   [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("info_requested",        [To(Ni), To(Ni), No,     No,     No,     No,     No,     No]),
    ("accepted",              [To(A),  To(A),  No,     No,     No,     No,     No,     No]),
    ("declined",              [To(D),  To(D),  To(D),  No,     No,     No,     No,     No]),
    ("fix_started",           [No,     No,     To(Fg), No,     No,     No,     No,     No]),
    ("closed",                [No,     No,     No,     To(C),  No,     No,     To(C),  No]),
    ("reopened",              [No,     No,     No,     To(N),  No,     No,     No,     To(N)]),
    ("note_added",            [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("severity_assessed",     [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("officer_assigned",      [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("access_changed",        [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("stage_completed",       [Same,   Same,   Same,   No,     Same,   Same,   Same,   No]),
    ("fix_proposed",          [Same,   Same,   Same,   No,     Same,   Same,   Same,   No]),
    ("fix_merged",            [Same,   Same,   Same,   No,     Same,   Same,   Same,   No]),
    ("approved",              [Same,   Same,   Same,   No,     Same,   Same,   Same,   No]),
    ("ssvc_assessed",         [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("escalated",             [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("leaked",                [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("line_updated",          [Same,   Same,   Same,   No,     Same,   Same,   Same,   No]),
    ("bounty_proposed",       [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("bounty_approved",       [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("bounty_declined",       [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("bounty_paid",           [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("parties_invited",       [Same,   Same,   Same,   No,     Same,   Same,   Same,   No]),
    ("embargo_set",           [Same,   Same,   Same,   No,     Same,   Same,   Same,   No]),
    ("invitation_answered",   [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("release_agreed",        [Same,   Same,   Same,   No,     Same,   Same,   Same,   No]),
    ("party_stated",          [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("statement_approved",    [Same,   Same,   Same,   No,     Same,   Same,   Same,   No]),
    ("party_message",         [Same,   Same,   Same,   No,     Same,   Same,   Same,   No]),
    ("parties_reminded",      [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("parties_told_of_break", [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("reporter_consented",    [Same,   Same,   Same,   Same,   Same,   Same,   Same,   Same]),
    ("identity_shared",       [Same,   Same,   Same,   No,     Same,   Same,   Same,   No]),
];

fn expected(from: State, event: &Event) -> Expect {
    let row = TABLE
        .iter()
        .find(|(kind, _)| *kind == event.kind())
        .unwrap_or_else(|| panic!("no row for {}", event.kind()));
    row.1[STATES.iter().position(|s| *s == from).unwrap()]
}

/// The `n`th event of a log, on day `n` after 2026-04-01.
fn at(n: usize, event: Event) -> Recorded {
    let start: jiff::Timestamp = "2026-04-01T10:00:00Z".parse().unwrap();
    Recorded {
        at: start + jiff::SignedDuration::from_hours(24 * n as i64),
        actor: "alice".into(),
        event,
    }
}

fn log(events: impl IntoIterator<Item = Event>) -> Vec<Recorded> {
    std::iter::once(every_event().remove(0))
        .chain(events)
        .enumerate()
        .map(|(i, e)| at(i, e))
        .collect()
}

const POLICIES: [&str; 6] = [
    "sangoma", "freepbx", "kamailio", "salestim", "signalen", "template",
];

#[test]
fn the_table_covers_every_event_kind_exactly_once() {
    let events = every_event();
    let indices: Vec<_> = events.iter().map(variant_index).collect();
    assert_eq!(indices, (0..events.len()).collect::<Vec<_>>());
    let kinds: Vec<_> = events.iter().map(Event::kind).collect();
    let rows: Vec<_> = TABLE.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, rows);
}

#[test]
fn every_state_and_event_pair_has_the_specified_outcome() {
    for event in every_event() {
        for from in STATES {
            let got = transition(from, &event);
            let want = expected(from, &event);
            let ok = match (want, &got) {
                (Same, Ok(to)) => *to == from,
                (To(s), Ok(to)) => *to == s,
                (No, Err(e)) => e.from == from && e.event == event.kind() && !e.why.is_empty(),
                _ => false,
            };
            assert!(
                ok,
                "{} from {}: got {got:?}, want {want:?}",
                event.kind(),
                from.as_str()
            );
        }
    }
}

#[test]
fn only_triage_and_lifecycle_events_move_a_case() {
    for event in every_event() {
        let moves = TABLE
            .iter()
            .find(|(k, _)| *k == event.kind())
            .unwrap()
            .1
            .iter()
            .any(|e| *e != Same);
        assert_eq!(moves_state(&event), moves, "{}", event.kind());
    }
}

#[test]
fn refusals_say_what_to_do_instead() {
    let why = |from, event: Event| transition(from, &event).unwrap_err().to_string();
    let fix = Event::FixReleased {
        on: date(2026, 5, 1),
    };
    assert_eq!(
        why(State::Declined, fix.clone()),
        "a declined case cannot be fixed; reopen it first"
    );
    assert_eq!(
        why(State::Declined, Event::FixStarted),
        "a declined case cannot be fixed; reopen it first"
    );
    assert_eq!(
        why(State::New, fix),
        "only an accepted case can be fixed; accept it first"
    );
    assert_eq!(
        why(State::Fixing, Event::Accepted),
        "only a new or needs-info case can be accepted"
    );
    assert_eq!(
        why(State::Accepted, Event::Closed),
        "only a disclosed or declined case can be closed; publish the advisory or decline it"
    );
    assert_eq!(
        why(State::Closed, Event::Accepted),
        "a closed case cannot change; reopen it first"
    );
    let reopen = Event::Reopened {
        reason: "it works on 2.x".into(),
    };
    assert!(why(State::New, reopen).contains("only a declined or closed"));
}

#[test]
fn a_full_case_runs_from_report_to_closed() {
    let on = date(2026, 5, 1);
    let l = log([
        Event::ReceiptSent,
        Event::Accepted,
        Event::FixStarted,
        Event::FixScheduled { release: on },
        Event::FixReleased { on },
        Event::AdvisoryPublished { on },
        Event::Closed,
    ]);
    let states: Vec<_> = (1..=l.len()).map(|n| case::state(&l[..n])).collect();
    use State::*;
    assert_eq!(
        states,
        [New, New, Accepted, Fixing, Fixing, Fixed, Disclosed, Closed]
    );
}

#[test]
fn a_reporter_reply_to_a_needs_info_case_returns_it_to_new_for_re_triage() {
    let l = log([
        Event::InfoRequested {
            message: "Which version?".into(),
        },
        Event::ReporterReply {
            body: "2.3.1".into(),
            channel: crate::case::Channel::Web,
        },
    ]);
    assert_eq!(case::state(&l[..2]), State::NeedsInfo);
    assert_eq!(case::state(&l), State::New);
    assert!(was_incomplete(&l), "the report stays marked incomplete");
}

#[test]
fn a_complete_report_is_not_marked_incomplete() {
    let l = log([
        Event::ReporterReply {
            body: "also this".into(),
            channel: crate::case::Channel::Web,
        },
        Event::Accepted,
    ]);
    assert!(!was_incomplete(&l));
    assert_eq!(case::state(&l), State::Accepted);
}

#[test]
fn an_info_request_the_machine_refused_does_not_mark_the_report_incomplete() {
    let l = log([
        Event::Accepted,
        Event::InfoRequested {
            message: "late".into(),
        },
    ]);
    assert!(!was_incomplete(&l));
}

#[test]
fn an_info_request_is_a_human_acknowledgement() {
    // FreePBX (seed 001): the non-automated response "may request additional information".
    let l = log([Event::InfoRequested {
        message: "Which version?".into(),
    }]);
    let f = case::facts(&Calendar::plain(), &l).unwrap();
    assert_eq!(f.human_acknowledged, Some(date(2026, 4, 2)));
}

#[test]
fn a_zero_day_advisory_may_come_before_the_fix() {
    // SalesTim (seed 003): within 7 days, "enough time to publish advice about possible
    // mitigations", patched or not.
    let on = date(2026, 5, 1);
    for before in [
        vec![Event::Accepted],
        vec![Event::Accepted, Event::FixStarted],
    ] {
        let mut events = before;
        events.push(Event::ExploitationObserved { on });
        events.push(Event::AdvisoryPublished { on });
        let l = log(events.clone());
        assert_eq!(case::state(&l), State::Disclosed);
        events.push(Event::FixReleased { on });
        assert_eq!(
            case::state(&log(events)),
            State::Disclosed,
            "the later fix leaves it disclosed"
        );
    }
}

#[test]
fn an_invalid_move_in_a_stored_log_is_ignored_and_the_previous_state_kept() {
    let on = date(2026, 5, 1);
    let l = log([
        Event::Declined {
            reason: DeclineReason::NotAVulnerability,
            duplicate_of: None,
            note: None,
        },
        Event::FixReleased { on },
        Event::AdvisoryPublished { on },
    ]);
    assert_eq!(case::state(&l), State::Declined);
}

#[test]
fn a_declined_case_is_reopened_to_new_and_can_then_be_fixed() {
    let on = date(2026, 5, 1);
    let l = log([
        Event::Declined {
            reason: DeclineReason::Duplicate,
            duplicate_of: Some(12),
            note: None,
        },
        Event::Closed,
        Event::Reopened {
            reason: "case 12 was a different bug".into(),
        },
        Event::Accepted,
        Event::FixReleased { on },
    ]);
    assert_eq!(duplicate_of(&l[..2]), Some(12));
    assert_eq!(case::state(&l[..3]), State::Closed);
    assert_eq!(case::state(&l[..4]), State::New);
    assert_eq!(duplicate_of(&l), None);
    assert_eq!(case::state(&l), State::Fixed);
}

#[test]
fn declines_name_the_duplicated_case_exactly_when_duplicate() {
    let declined = |reason, duplicate_of| Event::Declined {
        reason,
        duplicate_of,
        note: None,
    };
    assert!(
        declined(DeclineReason::Duplicate, Some(3))
            .validate()
            .is_ok()
    );
    assert!(declined(DeclineReason::Duplicate, None).validate().is_err());
    assert!(
        declined(DeclineReason::OutOfScope, Some(3))
            .validate()
            .is_err()
    );
    assert!(declined(DeclineReason::OutOfScope, None).validate().is_ok());
}

#[test]
fn info_requests_and_reopens_need_words() {
    let blank = Event::InfoRequested {
        message: " ".into(),
    };
    assert!(blank.validate().is_err());
    let blank = Event::Reopened { reason: "".into() };
    assert!(blank.validate().is_err());
    for e in every_event() {
        assert_eq!(e.validate(), Ok(()), "{}", e.kind());
    }
}

#[test]
fn new_events_round_trip_through_serde_with_their_kind_as_tag() {
    for e in every_event() {
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], e.kind());
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }
    let v = serde_json::to_value(Event::Declined {
        reason: DeclineReason::UnsupportedVersion,
        duplicate_of: None,
        note: Some("1.x.x is out of support".into()),
    })
    .unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "type": "declined",
            "reason": "unsupported-version",
            "note": "1.x.x is out of support",
        })
    );
    assert_eq!(
        serde_json::to_value(Event::Accepted).unwrap(),
        serde_json::json!({"type": "accepted"})
    );
    let bad = serde_json::json!({"type": "declined", "reason": "meh"});
    assert!(serde_json::from_value::<Event>(bad).is_err());
}

#[test]
fn decline_reasons_print_and_parse_back() {
    for r in DeclineReason::ALL {
        assert_eq!(DeclineReason::parse(r.as_str()), Some(r));
        assert_eq!(DeclineReason::parse(&format!(" {r} ")), Some(r));
        let json = serde_json::to_value(r).unwrap();
        assert_eq!(json, r.as_str());
    }
    assert_eq!(DeclineReason::parse("not_a_vulnerability"), None);
    assert_eq!(DeclineReason::parse(""), None);
}

#[test]
fn every_reference_policy_lists_only_known_decline_reasons() {
    for name in POLICIES {
        let p = policy(name);
        assert!(
            unknown_reasons(&p).is_empty(),
            "{name}: {:?}",
            unknown_reasons(&p)
        );
        assert_eq!(
            allowed_reasons(&p).len(),
            if p.triage.decline_reasons.is_empty() {
                DeclineReason::ALL.len()
            } else {
                p.triage.decline_reasons.len()
            },
            "{name}"
        );
    }
}

#[test]
fn a_policy_restricts_decline_reasons_only_when_it_lists_them() {
    // Kamailio (seed 002) lists no version or configuration reasons.
    let kamailio = policy("kamailio");
    assert!(check_reason(&kamailio, DeclineReason::NotAVulnerability).is_ok());
    let err = check_reason(&kamailio, DeclineReason::InsecureConfiguration).unwrap_err();
    assert_eq!(
        err.to_string(),
        "this policy does not decline reports as insecure-configuration; \
         it allows: not-a-vulnerability, duplicate, out-of-scope"
    );
    // Sangoma (seed 000) will not accept reports against insecure configurations.
    assert!(check_reason(&policy("sangoma"), DeclineReason::InsecureConfiguration).is_ok());
    let declined = Event::Declined {
        reason: DeclineReason::UnsupportedVersion,
        duplicate_of: None,
        note: None,
    };
    assert!(check_against_policy(&kamailio, &declined).is_err());
    assert!(check_against_policy(&kamailio, &Event::Accepted).is_ok());
    // A policy with no list allows every reason.
    let mut open = kamailio;
    open.triage.decline_reasons.clear();
    assert_eq!(allowed_reasons(&open), DeclineReason::ALL);
    assert!(check_against_policy(&open, &declined).is_ok());
}

fn any_event() -> impl Strategy<Value = Event> {
    prop::sample::select(every_event())
}

proptest! {
    #[test]
    fn any_sequence_of_events_folds_without_panic_through_allowed_moves_only(
        events in prop::collection::vec(any_event(), 0..40),
    ) {
        let l = log(events);
        let mut state = State::New;
        for (n, r) in l.iter().enumerate() {
            let next = match expected(state, &r.event) {
                Same | No => state,
                To(s) => s,
            };
            if next != state {
                // Closed is only ever reached from disclosed or declined.
                prop_assert!(next != State::Closed
                    || matches!(state, State::Disclosed | State::Declined));
            }
            state = next;
            prop_assert_eq!(case::state(&l[..=n]), state);
        }
        let _ = was_incomplete(&l);
        let _ = duplicate_of(&l);
    }
}

/// What a role can search is what it can read: no word of an event is indexed for a wider
/// circle than the event itself, and the reporter (who does not search) is never the
/// audience of an indexed word.
#[test]
fn search_words_reach_no_one_the_event_does_not() {
    use crate::case::Audience;
    for e in every_event() {
        if let Some((audience, text)) = e.search_text() {
            assert!(
                audience <= e.audience() && audience <= Audience::Readers,
                "{}: {text:?} indexed for {audience:?}, event read by {:?}",
                e.kind(),
                e.audience()
            );
        }
    }
    // The mail that came in is the team's: its subject is neither shown to nor found by a
    // reviewer.
    let mail = every_event()
        .into_iter()
        .find(|e| e.kind() == "mail_received")
        .unwrap();
    assert_eq!(mail.audience(), Audience::Workers);
    assert_eq!(mail.search_text().unwrap().0, Audience::Workers);
}

#[test]
fn freepbx_publishes_only_once_verified_and_fixed() {
    let freepbx = policy("freepbx");
    let on = date(2026, 6, 15);
    let publish = Event::AdvisoryPublished { on };
    for before in [
        vec![Event::Accepted],
        vec![Event::Accepted, Event::FixStarted],
    ] {
        let e = decide(&freepbx, &log(before), &publish).unwrap_err();
        assert_eq!(e.event, "advisory_published");
        assert!(
            e.why
                .contains("no fix release is recorded; record the fix release first"),
            "{e}"
        );
    }
    // Not verified: the state machine's own answer.
    assert!(decide(&freepbx, &log([]), &publish).is_err());
    let fixed = log([
        Event::Accepted,
        Event::FixReleased {
            on: date(2026, 5, 4),
        },
    ]);
    assert_eq!(decide(&freepbx, &fixed, &publish), Ok(State::Disclosed));
    // A fix released after the advisory's day did not precede it.
    let late = log([
        Event::Accepted,
        Event::FixReleased {
            on: date(2026, 6, 20),
        },
    ]);
    let e = decide(&freepbx, &late, &publish).unwrap_err();
    assert!(
        e.why
            .contains("released 2026-06-20, after the advisory's day 2026-06-15"),
        "{e}"
    );
    // SalesTim (003) may publish a 0day advisory unpatched.
    assert_eq!(
        decide(&policy("salestim"), &log([Event::Accepted]), &publish),
        Ok(State::Disclosed)
    );
}

#[test]
fn decide_agrees_with_transition_for_policies_without_publication_rules() {
    let salestim = policy("salestim");
    for before in [
        vec![],
        vec![Event::Accepted],
        vec![Event::Accepted, Event::FixStarted],
    ] {
        let l = log(before);
        for e in every_event() {
            assert_eq!(
                decide(&salestim, &l, &e),
                transition(case::state(&l), &e),
                "{e:?}"
            );
        }
    }
}

#[test]
fn a_write_is_decided_event_by_event_on_the_log_it_follows() {
    let salestim = policy("salestim");
    let freepbx = policy("freepbx");
    let accepted = log([Event::Accepted]);
    // The second of two acceptances racing each other is refused once the first is the log.
    assert_eq!(
        decide_write(&salestim, &log([]), &[Event::Accepted]),
        Ok(State::Accepted)
    );
    assert!(decide_write(&salestim, &accepted, &[Event::Accepted]).is_err());
    // Within one write, each event sees the ones before it.
    assert_eq!(
        decide_write(&salestim, &log([]), &[Event::Accepted, Event::FixStarted]),
        Ok(State::Fixing)
    );
    assert!(decide_write(&salestim, &log([]), &[Event::FixStarted, Event::Accepted]).is_err());
    // The policy's own rule too: a fix released earlier in the same write lets FreePBX
    // publish; without it the advisory is refused.
    let on = date(2026, 3, 2);
    let fixed_then_published = [Event::FixReleased { on }, Event::AdvisoryPublished { on }];
    assert_eq!(
        decide_write(&freepbx, &accepted, &fixed_then_published),
        Ok(State::Disclosed)
    );
    assert!(decide_write(&freepbx, &accepted, &[Event::AdvisoryPublished { on }]).is_err());
    // An empty write leaves the case where it is.
    assert_eq!(decide_write(&salestim, &accepted, &[]), Ok(State::Accepted));
}

#[test]
fn every_state_parses_back_from_its_name_and_only_unfinished_ones_are_open() {
    for state in State::ALL {
        assert_eq!(State::parse(state.as_str()), Some(state));
    }
    assert_eq!(State::parse("open"), None);
    let open: Vec<_> = State::ALL.into_iter().filter(|s| s.is_open()).collect();
    assert_eq!(
        open,
        [
            State::New,
            State::NeedsInfo,
            State::Accepted,
            State::Fixing,
            State::Fixed
        ]
    );
}
