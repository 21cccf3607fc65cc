use super::*;
use crate::advisory::{Cna, LineRange, ReferenceKind};

fn fields() -> Fields {
    Fields {
        title: "Heap overflow in the SIP parser".into(),
        summary: "A crafted SIP message overflows a heap buffer.".into(),
        description: "An attacker can crash the server.\nUpgrade to 5.7.4.".into(),
        component: Some("parser".into()),
        products: vec![Product {
            vendor: "Kamailio".into(),
            name: "kamailio".into(),
            package: None,
            lines: vec![LineRange {
                line: "5.7".into(),
                introduced: "5.7.0".into(),
                fixed: Some("5.7.4".into()),
            }],
        }],
        cvss: vec!["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H".into()],
        ssvc: None,
        cwes: vec![787],
        references: vec![Reference {
            url: "https://github.com/kamailio/kamailio/commit/abc".into(),
            kind: ReferenceKind::Fix,
        }],
        workarounds: String::new(),
    }
}

/// Decides `command` by `actor` on `log` and records what it adds.
fn act(log: &mut Vec<Recorded>, actor: &str, at: &str, command: Command) -> Result<(), Refusal> {
    let events = decide(command, log, actor)?;
    let at: Timestamp = at.parse().unwrap();
    log.extend(events.into_iter().map(|event| Recorded {
        at,
        actor: actor.into(),
        event,
    }));
    Ok(())
}

fn drafted() -> Vec<Recorded> {
    let mut log = Vec::new();
    act(
        &mut log,
        "user:1",
        "2026-11-20T10:00:00Z",
        Command::Draft {
            cases: vec![7],
            fields: fields(),
        },
    )
    .unwrap();
    log
}

fn publisher() -> Publisher {
    Publisher {
        name: "Kamailio".into(),
        namespace: "https://www.kamailio.org".into(),
        contact: "security@kamailio.org".into(),
        cna: Some(Cna {
            org_id: "b3476cb9-2e3d-41a6-98d0-0f47421a65b6".into(),
            short_name: "kamailio".into(),
        }),
    }
}

#[test]
fn each_bad_field_is_named() {
    let cases: Vec<(Fields, &str)> = vec![
        (
            Fields {
                title: " ".into(),
                ..fields()
            },
            "title",
        ),
        (
            Fields {
                title: "x".repeat(MAX_TITLE_CHARS + 1),
                ..fields()
            },
            "title",
        ),
        (
            Fields {
                summary: String::new(),
                ..fields()
            },
            "summary",
        ),
        (
            Fields {
                cvss: vec!["CVSS:3.1/AV:X".into()],
                ..fields()
            },
            "cvss",
        ),
        (
            Fields {
                cvss: vec![
                    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H".into(),
                    "CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H".into(),
                ],
                ..fields()
            },
            "cvss",
        ),
        (
            Fields {
                cwes: vec![20],
                ..fields()
            },
            "cwes",
        ),
        (
            Fields {
                cwes: vec![999_999],
                ..fields()
            },
            "cwes",
        ),
        (
            Fields {
                references: vec![Reference {
                    url: "javascript:alert(1)".into(),
                    kind: ReferenceKind::Web,
                }],
                ..fields()
            },
            "references",
        ),
        (
            Fields {
                products: vec![Product {
                    lines: Vec::new(),
                    ..fields().products[0].clone()
                }],
                ..fields()
            },
            "products",
        ),
    ];
    for (f, field) in cases {
        let got = decide(Command::Edit { fields: f }, &drafted(), "user:1");
        assert!(
            matches!(&got, Err(Refusal::Invalid { field: named, .. }) if *named == field),
            "{field}: {got:?}"
        );
    }
}

#[test]
fn nothing_happens_to_an_advisory_before_it_is_drafted() {
    let got = decide(Command::Publish { cleared: Ok(()) }, &[], "user:1");
    assert!(matches!(got, Err(Refusal::Conflict(_))), "{got:?}");
    let got = decide(
        Command::Draft {
            cases: vec![],
            fields: fields(),
        },
        &[],
        "user:1",
    );
    assert!(
        matches!(got, Err(Refusal::Invalid { field: "cases", .. })),
        "{got:?}"
    );
}

#[test]
fn approvals_go_stale_when_the_draft_changes_and_count_once_per_version() {
    let mut log = drafted();
    let approve = || Command::Approve {
        groups: vec!["security-team".into()],
    };
    act(&mut log, "user:2", "2026-11-21T10:00:00Z", approve()).unwrap();
    let twice = act(&mut log, "user:2", "2026-11-21T10:05:00Z", approve());
    assert!(matches!(twice, Err(Refusal::Conflict(_))), "{twice:?}");
    assert_eq!(state(&log).current_approvals().count(), 1);
    let edited = Fields {
        summary: "A crafted SIP message overflows a heap buffer in the parser.".into(),
        ..fields()
    };
    act(
        &mut log,
        "user:1",
        "2026-11-21T11:00:00Z",
        Command::Edit { fields: edited },
    )
    .unwrap();
    let s = state(&log);
    assert_eq!(s.version, 2);
    assert_eq!(
        s.current_approvals().count(),
        0,
        "the edit makes the approval stale"
    );
    act(&mut log, "user:2", "2026-11-21T12:00:00Z", approve()).unwrap();
    assert_eq!(state(&log).current_approvals().count(), 1);
}

#[test]
fn comments_name_a_line_of_the_draft() {
    let mut log = drafted();
    let comment = |line| Command::Comment {
        part: Part::Description,
        line,
        body: "Say which versions.".into(),
    };
    act(&mut log, "user:2", "2026-11-21T10:00:00Z", comment(2)).unwrap();
    let beyond = decide(comment(3), &log, "user:2");
    assert!(
        matches!(&beyond, Err(Refusal::Invalid { field: "line", message }) if message.contains("lines 1 to 2")),
        "{beyond:?}"
    );
    let c = &state(&log).comments[0];
    assert_eq!(
        (c.part, c.line, c.version, c.actor.as_str()),
        (Part::Description, 2, 1, "user:2")
    );
}

#[test]
fn the_published_advisory_has_its_revisions_its_accepted_credits_and_nothing_private() {
    let mut log = drafted();
    act(
        &mut log,
        "user:1",
        "2026-11-21T09:00:00Z",
        Command::SetPrivate {
            private: Private {
                proof_of_concept: "CANARY-POC".into(),
                exploit_details: "CANARY-EXPLOIT".into(),
            },
        },
    )
    .unwrap();
    act(
        &mut log,
        "user:1",
        "2026-11-21T09:10:00Z",
        Command::OfferCredit {
            name: "Alfred".into(),
            kind: CreditKind::Finder,
            reporter_of: Some(7),
        },
    )
    .unwrap();
    act(
        &mut log,
        "user:1",
        "2026-11-21T09:11:00Z",
        Command::OfferCredit {
            name: "Fuzzbot".into(),
            kind: CreditKind::Tool,
            reporter_of: None,
        },
    )
    .unwrap();
    act(
        &mut log,
        "reporter:7",
        "2026-11-21T09:20:00Z",
        Command::AnswerCredit {
            id: 1,
            accepted: true,
            name: Some("A. E. Finder".into()),
        },
    )
    .unwrap();
    let again = decide(
        Command::AnswerCredit {
            id: 1,
            accepted: false,
            name: None,
        },
        &log,
        "reporter:7",
    );
    assert!(matches!(again, Err(Refusal::Conflict(_))), "{again:?}");
    act(
        &mut log,
        "user:1",
        "2026-11-21T09:30:00Z",
        Command::AssignCve {
            cve: "cve-2026-31337".into(),
        },
    )
    .unwrap();
    let bad = decide(
        Command::AssignCve {
            cve: "CVE-26-1".into(),
        },
        &log,
        "user:1",
    );
    assert!(
        matches!(bad, Err(Refusal::Invalid { field: "cve", .. })),
        "{bad:?}"
    );

    // The workflow's gates decide whether it may go out.
    let refused = decide(
        Command::Publish {
            cleared: Err("the reviewers have not approved".into()),
        },
        &log,
        "user:1",
    );
    assert_eq!(
        refused,
        Err(Refusal::Conflict("the reviewers have not approved".into()))
    );
    act(
        &mut log,
        "user:1",
        "2026-11-22T12:00:00Z",
        Command::Publish { cleared: Ok(()) },
    )
    .unwrap();
    let s = state(&log);
    let public = s
        .public(
            "KAMAILIO-2026-0001",
            "https://desk.example/a",
            &publisher(),
            Vec::new(),
        )
        .unwrap();
    assert_eq!(public.cve.as_deref(), Some("CVE-2026-31337"));
    assert_eq!(
        public.credits,
        vec![Credit {
            name: "A. E. Finder".into(),
            kind: CreditKind::Finder
        }],
        "only the accepted credit, by its chosen name"
    );
    assert_eq!(public.weaknesses[0].name, "Out-of-bounds Write");
    assert_eq!(public.revisions.len(), 1);
    let rendered = serde_json::to_string(&public).unwrap();
    assert!(
        !rendered.contains("CANARY"),
        "private fields reach the public advisory"
    );

    // A revision needs a change and a note; the public advisory follows it.
    let none = decide(Command::Revise { note: "x".into() }, &log, "user:1");
    assert!(matches!(none, Err(Refusal::Conflict(_))), "{none:?}");
    let mut changed = fields();
    changed.products[0].lines.push(LineRange {
        line: "5.6".into(),
        introduced: "5.6.0".into(),
        fixed: Some("5.6.9".into()),
    });
    act(
        &mut log,
        "user:1",
        "2026-12-01T08:00:00Z",
        Command::Edit { fields: changed },
    )
    .unwrap();
    let unpublished = state(&log);
    assert!(unpublished.unpublished_changes());
    assert_eq!(
        unpublished
            .public("K", "u", &publisher(), Vec::new())
            .unwrap()
            .products[0]
            .lines
            .len(),
        1,
        "an edit is not public until revised"
    );
    let no_note = decide(Command::Revise { note: " ".into() }, &log, "user:1");
    assert!(
        matches!(no_note, Err(Refusal::Invalid { field: "note", .. })),
        "{no_note:?}"
    );
    act(
        &mut log,
        "user:1",
        "2026-12-01T09:00:00Z",
        Command::Revise {
            note: "5.6.9 fixes the 5.6 line.".into(),
        },
    )
    .unwrap();
    let revised = state(&log)
        .public("K", "u", &publisher(), Vec::new())
        .unwrap();
    assert_eq!(
        revised
            .revisions
            .iter()
            .map(|r| r.number)
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(revised.products[0].lines.len(), 2);

    // The team withdraws it, with a reason; then it changes no more.
    act(
        &mut log,
        "user:1",
        "2026-12-02T09:00:00Z",
        Command::Withdraw {
            reason: "A duplicate of CVE-2026-1111.".into(),
        },
    )
    .unwrap();
    let withdrawn = state(&log)
        .public("K", "u", &publisher(), Vec::new())
        .unwrap();
    assert_eq!(
        withdrawn.withdrawn.map(|w| w.reason).as_deref(),
        Some("A duplicate of CVE-2026-1111.")
    );
    let after = decide(Command::Edit { fields: fields() }, &log, "user:1");
    assert!(matches!(after, Err(Refusal::Conflict(_))), "{after:?}");
}

#[test]
fn a_draft_is_not_withdrawn_and_a_published_advisory_keeps_its_cve() {
    let mut log = drafted();
    let w = decide(Command::Withdraw { reason: "x".into() }, &log, "user:1");
    assert!(matches!(w, Err(Refusal::Conflict(_))), "{w:?}");
    act(
        &mut log,
        "user:1",
        "2026-11-21T09:30:00Z",
        Command::AssignCve {
            cve: "CVE-2026-1000".into(),
        },
    )
    .unwrap();
    act(
        &mut log,
        "user:1",
        "2026-11-22T12:00:00Z",
        Command::Publish { cleared: Ok(()) },
    )
    .unwrap();
    let other = decide(
        Command::AssignCve {
            cve: "CVE-2026-2000".into(),
        },
        &log,
        "user:1",
    );
    assert!(matches!(other, Err(Refusal::Conflict(_))), "{other:?}");
}

#[test]
fn every_event_reads_back_as_written() {
    let mut log = drafted();
    act(
        &mut log,
        "user:1",
        "2026-11-21T09:00:00Z",
        Command::RequestCve {
            at: "GitHub".into(),
        },
    )
    .unwrap();
    for r in &log {
        let text = serde_json::to_string(&r.event).unwrap();
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r.event, "{text}");
    }
}

#[test]
fn a_revisions_changes_name_each_field_that_differs() {
    let before = Fields {
        title: "Crash".into(),
        summary: "A crash.".into(),
        cwes: vec![787],
        ..Fields::default()
    };
    let after = Fields {
        title: "Heap overflow".into(),
        cwes: vec![787, 125],
        ..before.clone()
    };
    let changes = changes(&before, &after);
    let fields: Vec<&str> = changes.iter().map(|c| c.field).collect();
    assert_eq!(fields, ["title", "cwes"]);
    assert_eq!(
        (changes[1].before.as_str(), changes[1].after.as_str()),
        ("CWE-787", "CWE-787, CWE-125")
    );
    assert!(super::changes(&after, &after).is_empty());
}

#[test]
fn the_policy_says_what_a_published_advisory_holds() {
    let freepbx = crate::test_support::policy("freepbx");
    let kamailio = crate::test_support::policy("kamailio");
    let mut s = state(&[]);
    s.fields.products = fields().products;
    s.fields.component = None;
    for line in s
        .fields
        .products
        .iter_mut()
        .flat_map(|p| p.lines.iter_mut())
    {
        line.fixed = None;
    }
    let missing = missing_for_policy(&freepbx, &s);
    assert_eq!(missing.len(), 2, "{missing:?}");
    assert!(
        missing[0].contains("component") && missing[1].contains("fixed versions"),
        "{missing:?}"
    );
    // FreePBX publishes a CVE "if available"; Kamailio "including an CVE ID".
    s.fields.component = Some("parser".into());
    s.fields.products[0].lines[0].fixed = Some("5.7.4".into());
    assert!(missing_for_policy(&freepbx, &s).is_empty());
    assert!(missing_for_policy(&kamailio, &s)[0].contains("CVE ID"));
    s.cve = Some("CVE-2026-1234".into());
    assert!(missing_for_policy(&kamailio, &s).is_empty());
}
