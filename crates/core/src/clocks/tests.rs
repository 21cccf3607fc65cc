use jiff::civil::date;

use super::*;
use crate::test_support::policy;

fn due(c: &Clocks, kind: ClockKind) -> Date {
    c.get(kind).unwrap_or_else(|| panic!("no {kind} clock")).due
}

fn reported(y: i16, m: i8, d: i8) -> Facts {
    Facts::reported_on(date(y, m, d))
}

#[test]
fn salestim_day_90_on_independence_day_saturday_moves_to_monday() {
    let c = clocks(&policy("salestim"), &reported(2026, 4, 5));
    assert_eq!(due(&c, ClockKind::Disclosure), date(2026, 7, 6));
    let steps = &c.get(ClockKind::Disclosure).unwrap().derivation;
    assert!(
        steps[0].contains("+90 days = 2026-07-04 (Sat)"),
        "{steps:?}"
    );
    assert!(
        steps[1].contains("moved to the next business day 2026-07-06 (Mon)"),
        "{steps:?}"
    );
    assert_eq!(due(&c, ClockKind::ReporterDisclosure), date(2026, 7, 6));
}

#[test]
fn a_deadline_on_a_business_day_stays() {
    let c = clocks(&policy("salestim"), &reported(2026, 12, 24));
    assert_eq!(due(&c, ClockKind::Disclosure), date(2027, 3, 24));
    let steps = &c.get(ClockKind::Disclosure).unwrap().derivation;
    assert!(
        steps[1].contains("is a business day: no roll-forward"),
        "{steps:?}"
    );
}

#[test]
fn a_fix_scheduled_within_the_grace_delays_disclosure_to_it() {
    let mut f = reported(2026, 4, 5);
    f.fix_scheduled = Some(FixSchedule {
        release: date(2026, 7, 15),
        announced: date(2026, 6, 1),
    });
    let c = clocks(&policy("salestim"), &f);
    assert_eq!(due(&c, ClockKind::Disclosure), date(2026, 7, 15));
}

#[test]
fn the_grace_ends_exactly_fourteen_days_after_the_deadline() {
    let at = |release| {
        let mut f = reported(2026, 4, 5);
        f.fix_scheduled = Some(FixSchedule {
            release,
            announced: date(2026, 6, 1),
        });
        due(&clocks(&policy("salestim"), &f), ClockKind::Disclosure)
    };
    assert_eq!(at(date(2026, 7, 20)), date(2026, 7, 20));
    assert_eq!(at(date(2026, 7, 21)), date(2026, 7, 6));
}

#[test]
fn a_fix_scheduled_after_the_grace_or_announced_late_does_not_move_disclosure() {
    let mut f = reported(2026, 4, 5);
    f.fix_scheduled = Some(FixSchedule {
        release: date(2026, 8, 30),
        announced: date(2026, 6, 1),
    });
    assert_eq!(
        due(&clocks(&policy("salestim"), &f), ClockKind::Disclosure),
        date(2026, 7, 6)
    );
    f.fix_scheduled = Some(FixSchedule {
        release: date(2026, 7, 10),
        announced: date(2026, 7, 8),
    });
    let c = clocks(&policy("salestim"), &f);
    assert_eq!(due(&c, ClockKind::Disclosure), date(2026, 7, 6));
    assert!(
        c.get(ClockKind::Disclosure)
            .unwrap()
            .derivation
            .iter()
            .any(|s| s.contains("after the deadline had passed"))
    );
}

#[test]
fn a_fix_released_before_the_deadline_brings_disclosure_forward() {
    let mut f = reported(2026, 4, 5);
    f.fix_released = Some(date(2026, 5, 20));
    let c = clocks(&policy("salestim"), &f);
    assert_eq!(due(&c, ClockKind::Disclosure), date(2026, 5, 20));
}

#[test]
fn a_leak_breaks_the_embargo_like_exploitation_and_the_earlier_counts() {
    let mut f = reported(2026, 4, 5);
    f.leaked = Some(date(2026, 4, 5));
    let c = clocks(&policy("salestim"), &f);
    let d = c
        .deadlines
        .iter()
        .find(|d| d.kind == ClockKind::Disclosure)
        .unwrap();
    assert_eq!(d.due, date(2026, 4, 13), "04-12 is a Sunday");
    assert!(
        d.derivation
            .iter()
            .any(|s| s.contains("the embargo broke: details leaked")),
        "{:?}",
        d.derivation
    );
    // Exploitation seen later does not move it; seen earlier, it starts the clock.
    f.exploited = Some(date(2026, 4, 20));
    assert_eq!(
        due(&clocks(&policy("salestim"), &f), ClockKind::Disclosure),
        date(2026, 4, 13)
    );
    f.exploited = Some(date(2026, 4, 1));
    let c = clocks(&policy("salestim"), &f);
    let d = c
        .deadlines
        .iter()
        .find(|d| d.kind == ClockKind::Disclosure)
        .unwrap();
    assert_eq!(d.due, date(2026, 4, 8));
    assert!(
        d.derivation
            .iter()
            .any(|s| s.contains("active exploitation observed"))
    );
}

#[test]
fn active_exploitation_gives_seven_days_from_the_observation() {
    let mut f = reported(2026, 4, 5);
    f.exploited = Some(date(2026, 4, 5));
    let c = clocks(&policy("salestim"), &f);
    assert_eq!(
        due(&c, ClockKind::Disclosure),
        date(2026, 4, 13),
        "04-12 is a Sunday"
    );
    f.exploited = Some(date(2026, 6, 30));
    let c = clocks(&policy("salestim"), &f);
    assert_eq!(
        due(&c, ClockKind::Disclosure),
        date(2026, 7, 6),
        "the 90 days end first"
    );
}

#[test]
fn freepbx_needs_a_human_acknowledgement_within_three_us_business_days() {
    // Reported Wednesday 1 July 2026: Thu 2 = 1, Fri 3 is Independence Day observed, Mon 6 = 2, Tue 7 = 3.
    let mut f = reported(2026, 7, 1);
    f.receipt_sent = Some(date(2026, 7, 1));
    let c = clocks(&policy("freepbx"), &f);
    let ack = c.get(ClockKind::Acknowledge).unwrap();
    assert_eq!(ack.due, date(2026, 7, 7));
    assert_eq!(
        ack.met, None,
        "the automatic receipt does not stop a human clock"
    );
    assert!(
        ack.derivation[0].contains("Independence Day"),
        "{:?}",
        ack.derivation
    );
    f.human_acknowledged = Some(date(2026, 7, 2));
    let c = clocks(&policy("freepbx"), &f);
    assert_eq!(
        c.get(ClockKind::Acknowledge).unwrap().met,
        Some(date(2026, 7, 2))
    );
}

#[test]
fn sangoma_counts_any_acknowledgement_and_sixty_business_days() {
    let mut f = reported(2026, 11, 20);
    f.receipt_sent = Some(date(2026, 11, 20));
    let c = clocks(&policy("sangoma"), &f);
    assert_eq!(
        c.get(ClockKind::Acknowledge).unwrap().met,
        Some(date(2026, 11, 20))
    );
    assert_eq!(due(&c, ClockKind::Acknowledge), date(2026, 11, 25));
    // 60 business days skipping Thanksgiving, Christmas, New Year's Day and MLK Day.
    assert_eq!(due(&c, ClockKind::Resolve), date(2027, 2, 19));
}

#[test]
fn a_report_on_saturday_counts_from_monday() {
    let c = clocks(&policy("sangoma"), &reported(2026, 10, 3));
    assert_eq!(due(&c, ClockKind::Acknowledge), date(2026, 10, 7));
}

#[test]
fn freepbx_mitigation_period_runs_from_the_public_disclosure_not_the_fix() {
    let pending = vec![Pending {
        kind: ClockKind::ReporterDisclosure,
        waiting_for: "our published advisory",
        starts_when: "the advisory is published",
    }];
    let mut f = reported(2026, 4, 5);
    let c = clocks(&policy("freepbx"), &f);
    assert_eq!(c.pending, pending);
    assert!(
        c.explain()
            .contains("reporter_disclosure pending: starts when the advisory is published"),
        "{}",
        c.explain()
    );
    // A fix alone makes nothing public: the period has not started.
    f.fix_released = Some(date(2026, 5, 4));
    let c = clocks(&policy("freepbx"), &f);
    assert_eq!(c.get(ClockKind::ReporterDisclosure), None);
    assert_eq!(c.pending, pending);
    f.advisory_published = Some(date(2026, 6, 15));
    let c = clocks(&policy("freepbx"), &f);
    assert_eq!(due(&c, ClockKind::ReporterDisclosure), date(2026, 6, 29));
    let steps = &c.get(ClockKind::ReporterDisclosure).unwrap().derivation;
    assert!(
        steps[0].contains("advisory published 2026-06-15 (Mon), +14 days = 2026-06-29"),
        "{steps:?}"
    );
}

#[test]
fn freepbx_sixty_days_are_a_goal_for_the_whole_process_not_a_fix_deadline() {
    let c = clocks(&policy("freepbx"), &reported(2026, 3, 2));
    assert_eq!(
        c.get(ClockKind::Resolve),
        None,
        "the seed promises no fix time"
    );
    let goal = c.get(ClockKind::DisclosureTarget).unwrap();
    assert_eq!(goal.due, date(2026, 5, 1));
    let words = goal.derivation.last().unwrap();
    assert!(
        words.contains("the goal for the entire process, from the report to public disclosure")
            && words.contains("not a deadline for the fix"),
        "{words}"
    );
}

#[test]
fn a_permission_is_never_the_next_thing_due() {
    // SalesTim: the reporter may publish with our disclosure, on the same day.
    let c = clocks(&policy("salestim"), &reported(2026, 4, 5));
    assert_eq!(c.next_due().unwrap().kind, ClockKind::Disclosure);
    let mut f = reported(2026, 4, 5);
    f.advisory_published = Some(date(2026, 7, 1));
    let c = clocks(&policy("salestim"), &f);
    assert_eq!(due(&c, ClockKind::ReporterDisclosure), date(2026, 7, 1));
    assert_eq!(c.next_due(), None);
    assert!(ClockKind::ReporterDisclosure.is_permission());
    assert!(
        ClockKind::ALL
            .iter()
            .filter(|k| k.is_permission())
            .eq([ClockKind::ReporterDisclosure].iter())
    );
}

#[test]
fn the_patch_grace_lasts_until_the_patch_is_available() {
    // Deadline Mon 2026-07-06; grace until Mon 2026-07-20; the fix was scheduled in time
    // (announced 06-01) for 07-10.
    let at = |released: Option<Date>| {
        let mut f = reported(2026, 4, 5);
        f.fix_scheduled = Some(FixSchedule {
            release: date(2026, 7, 10),
            announced: date(2026, 6, 1),
        });
        f.fix_released = released;
        clocks(&policy("salestim"), &f)
    };
    assert_eq!(due(&at(None), ClockKind::Disclosure), date(2026, 7, 10));
    // Slipped a week, still inside the grace: disclosure waits for it.
    let c = at(Some(date(2026, 7, 17)));
    assert_eq!(due(&c, ClockKind::Disclosure), date(2026, 7, 17));
    assert!(
        c.get(ClockKind::Disclosure)
            .unwrap()
            .derivation
            .iter()
            .any(|s| s.contains("fix released 2026-07-17 (Fri), within the grace")),
        "{:?}",
        c.get(ClockKind::Disclosure).unwrap().derivation
    );
    assert_eq!(
        due(&at(Some(date(2026, 7, 20))), ClockKind::Disclosure),
        date(2026, 7, 20)
    );
    // Slipped past the grace: the grace's end.
    assert_eq!(
        due(&at(Some(date(2026, 7, 25))), ClockKind::Disclosure),
        date(2026, 7, 20)
    );
    // Early, after the deadline: on the release.
    assert_eq!(
        due(&at(Some(date(2026, 7, 8))), ClockKind::Disclosure),
        date(2026, 7, 8)
    );
    // Before the deadline: no grace, and the release brings disclosure forward.
    assert_eq!(
        due(&at(Some(date(2026, 7, 1))), ClockKind::Disclosure),
        date(2026, 7, 1)
    );
}

#[test]
fn policies_without_promised_times_have_no_clocks() {
    for name in ["kamailio", "signalen"] {
        let c = clocks(&policy(name), &reported(2026, 3, 2));
        assert!(c.deadlines.is_empty(), "{name}: {:?}", c.deadlines);
    }
}

#[test]
fn an_override_replaces_the_date_and_shows_its_reason() {
    let mut f = reported(2026, 4, 5);
    f.overrides.push(Override {
        kind: ClockKind::Disclosure,
        due: date(2026, 8, 3),
        reason: Reason::parse("vendor needs a coordinated release with distributions"),
        reporter_note: Reason::parse("The vendor ships the fix with the distributions."),
        by: Some("user:7".into()),
        on: date(2026, 6, 1),
    });
    let c = clocks(&policy("salestim"), &f);
    let d = c.get(ClockKind::Disclosure).unwrap();
    assert_eq!(d.due, date(2026, 8, 3));
    let last = d.derivation.last().unwrap();
    assert!(
        last.contains("2026-07-06 (Mon) -> 2026-08-03 (Mon)")
            && last.contains("coordinated release"),
        "{last}"
    );
    assert_eq!(due(&c, ClockKind::ReporterDisclosure), date(2026, 8, 3));
    assert!(Reason::parse("   ").is_none());

    // The reporter reads the new date and the officer's words for them, nothing else.
    let theirs = clocks(&policy("salestim"), &f.for_reporter());
    let d = theirs.get(ClockKind::Disclosure).unwrap();
    assert_eq!(d.due, date(2026, 8, 3));
    let text = d.derivation.join("\n");
    assert!(
        text.contains("moved by the security team on 2026-06-01"),
        "{text}"
    );
    assert!(
        text.contains("ships the fix with the distributions"),
        "{text}"
    );
    assert!(
        !text.contains("coordinated release") && !text.contains("user:7"),
        "{text}"
    );
}

#[test]
fn next_due_is_the_earliest_unmet_deadline() {
    let mut f = reported(2026, 7, 1);
    let c = clocks(&policy("freepbx"), &f);
    assert_eq!(c.next_due().unwrap().kind, ClockKind::Acknowledge);
    f.human_acknowledged = Some(date(2026, 7, 1));
    let c = clocks(&policy("freepbx"), &f);
    assert_eq!(c.next_due().unwrap().kind, ClockKind::DisclosureTarget);
}

#[test]
fn explain_golden_for_every_reference_policy() {
    let mut scenarios = Vec::new();
    for name in ["sangoma", "freepbx", "kamailio", "salestim", "signalen"] {
        let p = policy(name);
        let mut f = reported(2026, 4, 5);
        scenarios.push((format!("{name}, reported 2026-04-05"), clocks(&p, &f)));
        f.exploited = Some(date(2026, 4, 20));
        f.fix_scheduled = Some(FixSchedule {
            release: date(2026, 5, 4),
            announced: date(2026, 4, 21),
        });
        f.fix_released = Some(date(2026, 5, 4));
        scenarios.push((
            format!("{name}, exploited 2026-04-20, fix released 2026-05-04"),
            clocks(&p, &f),
        ));
    }
    let text: String = scenarios
        .iter()
        .map(|(title, c)| format!("== {title}\n{}\n", c.explain()))
        .collect();
    insta::assert_snapshot!(text);
}

#[test]
fn an_outbound_report_runs_only_the_disclosure_clock_on_the_same_rules() {
    // SalesTim, seed 003: "SalesTim expects to be held to the same standard".
    let mut f = reported(2026, 4, 5);
    f.outbound = true;
    let c = clocks(&policy("salestim"), &f);
    assert_eq!(
        c.deadlines.iter().map(|d| d.kind).collect::<Vec<_>>(),
        [ClockKind::Disclosure]
    );
    assert!(
        c.pending.is_empty(),
        "we are the reporter: no permission to wait for"
    );
    let d = c.get(ClockKind::Disclosure).unwrap();
    assert_eq!(d.due, date(2026, 7, 6), "day 90 is Saturday 4 July: Monday");
    assert!(
        d.derivation[0].starts_with("an outbound report to a vendor"),
        "{:?}",
        d.derivation
    );
    // A vendor that announced a release before the deadline, within the 14-day grace: the
    // release day; one that did not: day 90 stands.
    f.fix_scheduled = Some(FixSchedule {
        release: date(2026, 7, 15),
        announced: date(2026, 6, 1),
    });
    assert_eq!(
        due(&clocks(&policy("salestim"), &f), ClockKind::Disclosure),
        date(2026, 7, 15)
    );
    f.fix_scheduled = Some(FixSchedule {
        release: date(2026, 7, 15),
        announced: date(2026, 7, 10),
    });
    assert_eq!(
        due(&clocks(&policy("salestim"), &f), ClockKind::Disclosure),
        date(2026, 7, 6)
    );
}

/// SalesTim reported 2026-04-05: day 90 rolls to Mon 2026-07-06; its grace runs 14 days to
/// 2026-07-20.
fn agreed(release: Date, agreed: Date) -> Date {
    let mut f = reported(2026, 4, 5);
    f.release_agreed = Some(Agreement { release, agreed });
    due(&clocks(&policy("salestim"), &f), ClockKind::Disclosure)
}

#[test]
fn a_coordinated_release_moves_disclosure_as_far_as_the_policy_allows() {
    // Before the deadline: disclosure on the agreed release.
    assert_eq!(
        agreed(date(2026, 6, 30), date(2026, 6, 1)),
        date(2026, 6, 30)
    );
    // Within the grace, agreed before the deadline: moved to the release.
    assert_eq!(
        agreed(date(2026, 7, 15), date(2026, 6, 1)),
        date(2026, 7, 15)
    );
    assert_eq!(
        agreed(date(2026, 7, 20), date(2026, 6, 1)),
        date(2026, 7, 20)
    );
    // Past the grace, or agreed after the deadline passed: the deadline stands.
    assert_eq!(
        agreed(date(2026, 7, 21), date(2026, 6, 1)),
        date(2026, 7, 6)
    );
    assert_eq!(
        agreed(date(2026, 7, 15), date(2026, 7, 7)),
        date(2026, 7, 6)
    );

    let mut f = reported(2026, 4, 5);
    f.release_agreed = Some(Agreement {
        release: date(2026, 7, 15),
        agreed: date(2026, 6, 1),
    });
    let c = clocks(&policy("salestim"), &f);
    let steps = c.get(ClockKind::Disclosure).unwrap().derivation.join("\n");
    assert!(
        steps.contains("coordinated release agreed with the parties on 2026-06-01 (Mon) for 2026-07-15 (Wed), within the 14 days grace"),
        "{steps}"
    );
    // An embargo break still shortens it.
    f.leaked = Some(date(2026, 6, 2));
    assert_eq!(
        due(&clocks(&policy("salestim"), &f), ClockKind::Disclosure),
        date(2026, 6, 9)
    );
}

#[test]
fn without_a_deadline_of_its_own_the_policy_discloses_on_the_agreed_release() {
    let signalen = policy("signalen");
    let mut f = reported(2026, 4, 5);
    assert!(clocks(&signalen, &f).get(ClockKind::Disclosure).is_none());
    f.release_agreed = Some(Agreement {
        release: date(2026, 9, 1),
        agreed: date(2026, 8, 1),
    });
    let c = clocks(&signalen, &f);
    assert_eq!(due(&c, ClockKind::Disclosure), date(2026, 9, 1));
    assert!(
        c.get(ClockKind::Disclosure).unwrap().derivation[0]
            .contains("coordinated release agreed with the parties on 2026-08-01"),
        "{:?}",
        c.get(ClockKind::Disclosure)
    );
}
