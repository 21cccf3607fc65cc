use jiff::civil::{Date, date};

use super::*;
use crate::access::{OrgRole, Standing};
use crate::command::{By, Command, Context, Refusal, decide};
use crate::test_support::policy;
use crate::workflow::Member;

const TODAY: Date = date(2026, 11, 30);

fn case(product: &str) -> Vec<Recorded> {
    crate::test_support::reported(product, None)
}

/// Decides `line`'s `update` by an officer and records what it decided.
fn update(
    policy: &Policy,
    log: &mut Vec<Recorded>,
    line: &str,
    update: LineUpdate,
) -> Result<Vec<Event>, Refusal> {
    let ctx = Context {
        by: By::Team(Standing::Manager),
        today: TODAY,
        officers: &[1],
        org_cases: &[],
        member: Some(Member {
            user_id: 1,
            role: Some(OrgRole::Officer),
            grant: None,
        }),
    };
    let command = Command::UpdateLine {
        line: line.into(),
        update,
    };
    let events = decide(command, log, policy, &ctx)?;
    for event in &events {
        log.push(Recorded {
            at: "2026-11-25T10:00:00Z".parse().unwrap(),
            actor: "user:1".into(),
            event: event.clone(),
        });
    }
    Ok(events)
}

fn accept(log: &mut Vec<Recorded>) {
    log.push(Recorded {
        at: "2026-11-21T10:00:00Z".parse().unwrap(),
        actor: "user:1".into(),
        event: Event::Accepted,
    });
}

#[test]
fn freepbx_tracks_its_fix_on_every_supported_line_and_releases_when_the_last_one_ships() {
    let p = policy("freepbx");
    let mut log = case("freepbx");
    accept(&mut log);
    let listed: Vec<(String, bool)> = lines(&p, &log)
        .into_iter()
        .map(|l| (l.line, l.supported))
        .collect();
    assert_eq!(
        listed,
        [
            ("17".to_owned(), true),
            ("18".to_owned(), true),
            ("16".to_owned(), true),
            ("older".to_owned(), false)
        ]
    );
    update(&p, &mut log, "17", LineUpdate::Affected { affected: true }).unwrap();
    update(&p, &mut log, "16", LineUpdate::Affected { affected: true }).unwrap();
    update(&p, &mut log, "18", LineUpdate::Affected { affected: false }).unwrap();
    update(
        &p,
        &mut log,
        "17",
        LineUpdate::Reference {
            reference: "https://github.com/FreePBX/cdr/pull/12".into(),
        },
    )
    .unwrap();
    // Planned on one line of two: no fix schedule yet; on both, the later day.
    let planned = |v: &str, on| LineUpdate::Planned {
        version: Some(v.into()),
        on,
    };
    let first = update(&p, &mut log, "17", planned("17.0.4", date(2026, 12, 10))).unwrap();
    assert_eq!(first.len(), 1);
    let events = update(&p, &mut log, "16", planned("16.0.41", date(2026, 12, 14))).unwrap();
    assert_eq!(
        events[1],
        Event::FixScheduled {
            release: date(2026, 12, 14)
        }
    );
    // A version outside the line is refused, naming the field.
    let released = |v: &str, on| LineUpdate::Released {
        version: v.into(),
        on,
    };
    let wrong = update(&p, &mut log, "16", released("17.0.4", date(2026, 12, 1)));
    assert!(
        matches!(&wrong, Err(Refusal::Invalid { field: "version", message }) if message.contains("not a version of the 16 line")),
        "{wrong:?}"
    );
    let first = update(&p, &mut log, "17", released("17.0.4", date(2026, 11, 28))).unwrap();
    assert_eq!(first.len(), 1);
    let events = update(&p, &mut log, "16", released("16.0.41", date(2026, 11, 29))).unwrap();
    assert_eq!(
        events[1],
        Event::FixReleased {
            on: date(2026, 11, 29)
        }
    );
    assert_eq!(crate::triage::fold(&log), crate::case::State::Fixed);
    let sixteen = &lines(&p, &log)[2];
    assert_eq!(
        sixteen.released,
        Some(("16.0.41".to_owned(), date(2026, 11, 29)))
    );
    assert!(sixteen.owed());
    // The facts the clocks read come from the lines.
    let facts = crate::case::facts(p.calendar(), &log).unwrap();
    assert_eq!(facts.fix_released, Some(date(2026, 11, 29)));
}

#[test]
fn an_unsupported_line_is_tracked_but_never_holds_the_release_back() {
    let p = policy("salestim");
    let mut log = case("salestim");
    accept(&mut log);
    update(&p, &mut log, "1.x", LineUpdate::Affected { affected: true }).unwrap();
    let events = update(
        &p,
        &mut log,
        "2.x",
        LineUpdate::Released {
            version: "2.4.2".into(),
            on: date(2026, 11, 27),
        },
    )
    .unwrap();
    assert_eq!(
        events[1],
        Event::FixReleased {
            on: date(2026, 11, 27)
        }
    );
    let unknown = update(&p, &mut log, "3.x", LineUpdate::Tested { note: None });
    assert!(
        matches!(&unknown, Err(Refusal::Invalid { field: "line", message }) if message.contains("its lines are 2.x, 1.x")),
        "{unknown:?}"
    );
}

#[test]
fn a_release_on_a_case_not_accepted_is_refused_by_the_state_machine() {
    let p = policy("salestim");
    let mut log = case("salestim");
    let refused = update(
        &p,
        &mut log,
        "2.x",
        LineUpdate::Released {
            version: "2.4.2".into(),
            on: date(2026, 11, 27),
        },
    );
    assert!(matches!(refused, Err(Refusal::Conflict(_))), "{refused:?}");
    // Kamailio lists no lines: the refusal says how to add them.
    let k = policy("kamailio");
    let mut log = case("kamailio");
    let refused = update(&k, &mut log, "5.8", LineUpdate::Tested { note: None });
    assert!(
        matches!(&refused, Err(Refusal::Invalid { field: "line", message }) if message.contains("[[product.line]]")),
        "{refused:?}"
    );
}

#[test]
fn policies_name_a_bad_release_line() {
    let path = format!(
        "{}/../../policies/salestim.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let source = std::fs::read_to_string(&path).unwrap();
    let parse =
        |from: &str, to: &str| Policy::parse("s.toml", &source.replace(from, to)).unwrap_err();
    let e = parse("name = \"1.x\"", "name = \"2.x\"");
    assert_eq!(e.key, "product[0].line[1].name");
    assert!(e.message.contains("duplicate release line"), "{e}");
    let e = parse("versions = \">=1.0.0, <2.0.0\"", "versions = \"one\"");
    assert_eq!(e.key, "product[0].line[1].versions", "{e}");
    assert!(e.line > 1, "located in the file: {e}");
    let e = parse("name = \"2.x\"", "name = \"two x\"");
    assert_eq!(e.key, "product[0].line[0].name");
}
