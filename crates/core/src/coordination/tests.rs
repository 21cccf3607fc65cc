use super::*;

fn input(name: &str, kind: &str, contacts: &[&str]) -> PartyInput {
    PartyInput {
        name: name.into(),
        kind: kind.into(),
        contacts: contacts.iter().map(|c| c.to_string()).collect(),
        ..PartyInput::default()
    }
}

#[test]
fn a_service_provider_is_checked_and_normalised() {
    let party = check(&PartyInput {
        products: vec![
            "Signalen hosting ".into(),
            "".into(),
            "Signalen hosting".into(),
        ],
        embargo: Some(" 14 days ".into()),
        terms: Some("Share with your operations team only.\u{0}\n".into()),
        ..input(
            "  Gemeente  Amsterdam\tICT ",
            "Service provider",
            &[
                "mailto:security@amsterdam.example",
                " <SECURITY@amsterdam.example> ",
                "",
            ],
        )
    })
    .unwrap();
    assert_eq!(party.name, "Gemeente Amsterdam ICT");
    assert_eq!(party.slug, "gemeente-amsterdam-ict");
    assert_eq!(party.kind, PartyKind::ServiceProvider);
    assert_eq!(
        party.contacts.len(),
        1,
        "the same address twice is one contact"
    );
    assert_eq!(party.products, ["Signalen hosting"]);
    assert_eq!(
        party.embargo.map(|p| p.to_string()).as_deref(),
        Some("14 days")
    );
    assert_eq!(party.terms, "Share with your operations team only.");
}

#[test]
fn each_bad_field_is_named() {
    let ok = input("Debian", "distribution", &["security@debian.example"]);
    let cases: Vec<(PartyInput, &str, &str)> = vec![
        (
            PartyInput {
                name: " \u{1b} ".into(),
                ..ok.clone()
            },
            "name",
            "must not be empty",
        ),
        (
            PartyInput {
                name: "x".repeat(201),
                ..ok.clone()
            },
            "name",
            "longer than 200",
        ),
        (
            PartyInput {
                kind: "reseller".into(),
                ..ok.clone()
            },
            "kind",
            "\"reseller\" is not one of",
        ),
        (
            PartyInput {
                contacts: vec![],
                ..ok.clone()
            },
            "contacts",
            "at least one",
        ),
        (
            PartyInput {
                contacts: vec!["nobody".into()],
                ..ok.clone()
            },
            "contacts",
            "has no @",
        ),
        (
            PartyInput {
                contacts: vec!["root@localhost".into()],
                ..ok.clone()
            },
            "contacts",
            "no domain",
        ),
        (
            PartyInput {
                contacts: (0..21).map(|i| format!("s{i}@debian.example")).collect(),
                ..ok.clone()
            },
            "contacts",
            "at most 20",
        ),
        (
            PartyInput {
                slug: Some("Debian!".into()),
                ..ok.clone()
            },
            "slug",
            "lowercase letters",
        ),
        (
            PartyInput {
                slug: Some("-debian".into()),
                ..ok.clone()
            },
            "slug",
            "hyphen",
        ),
        (
            PartyInput {
                name: "東京".into(),
                ..ok.clone()
            },
            "slug",
            "no slug can be made",
        ),
        (
            PartyInput {
                embargo: Some("soon".into()),
                ..ok.clone()
            },
            "embargo",
            "embargo: expected a period",
        ),
        (
            PartyInput {
                products: vec!["p".repeat(201)],
                ..ok.clone()
            },
            "products",
            "longer than 200",
        ),
        (
            PartyInput {
                terms: Some("t".repeat(8_001)),
                ..ok.clone()
            },
            "terms",
            "longer than 8000",
        ),
    ];
    for (input, field, words) in cases {
        let e = check(&input).unwrap_err();
        assert_eq!(e.field, field, "{input:?}");
        assert!(e.message.contains(words), "{field}: {e}");
    }
    assert!(check(&ok).is_ok());
}

#[test]
fn kinds_read_the_way_people_write_them() {
    for kind in PartyKind::ALL {
        assert_eq!(PartyKind::parse(kind.as_str()), Some(kind));
        assert_eq!(
            serde_json::to_value(kind).unwrap(),
            serde_json::json!(kind.as_str())
        );
    }
    assert_eq!(
        PartyKind::parse("SERVICE_PROVIDER"),
        Some(PartyKind::ServiceProvider)
    );
    assert_eq!(PartyKind::parse(" Vendor "), Some(PartyKind::Vendor));
    assert_eq!(PartyKind::parse("distro"), None);
}

#[test]
fn slugs_come_from_names_and_stay_within_bounds() {
    assert_eq!(slug_of("Red Hat, Inc.").as_deref(), Some("red-hat-inc"));
    assert_eq!(slug_of("--A--B--").as_deref(), Some("a-b"));
    assert_eq!(slug_of(&"a ".repeat(100)).map(|s| s.len()), Some(63));
    assert_eq!(slug_of("…"), None);
    let e = check(&PartyInput {
        slug: Some("debian".into()),
        ..input("Debian", "distribution", &["security@debian.example"])
    });
    assert_eq!(e.unwrap().slug, "debian");
}

#[test]
fn an_unknown_json_field_is_refused() {
    let e = serde_json::from_str::<PartyInput>(
        r#"{"name":"x","kind":"vendor","contacts":["a@b.example"],"contact":"c@d.example"}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("unknown field `contact`"), "{e}");
}

mod case {
    use jiff::Timestamp;
    use jiff::civil::{Date, date};

    use crate::access::Standing;
    use crate::case::{Event, Recorded};
    use crate::command::{By, Command, Context, Refusal, decide};
    use crate::coordination::*;
    use crate::test_support::{policy, reported};

    const TODAY: Date = date(2026, 11, 30);

    fn ctx(by: By) -> Context<'static> {
        Context {
            by,
            today: TODAY,
            officers: &[3],
            member: None,
            org_cases: &[],
        }
    }

    fn invitee(slug: &str, kind: PartyKind) -> Invitee {
        Invitee {
            party: slug.into(),
            name: slug.to_uppercase(),
            kind,
        }
    }

    /// Records `command` by `by` on `log` (the actor a party's slug when a party asks).
    fn act(log: &mut Vec<Recorded>, by: By, command: Command) -> Result<(), Refusal> {
        let actor = match (&command, by) {
            (Command::AnswerInvitation { party, .. }, By::Party)
            | (Command::State { party, .. }, By::Party)
            | (Command::PartyWrite { party, .. }, By::Party) => format!("party:{party}"),
            _ => "user:3".into(),
        };
        let events = decide(command, log, &policy("salestim"), &ctx(by))?;
        let at: Timestamp = "2026-11-30T12:00:00Z".parse().unwrap();
        log.extend(events.into_iter().map(|event| Recorded {
            at,
            actor: actor.clone(),
            event,
        }));
        Ok(())
    }

    fn invited() -> Vec<Recorded> {
        let mut log = reported("salestim", None);
        act(&mut log, By::Team(Standing::Worker), Command::Accept).unwrap();
        act(
            &mut log,
            By::Team(Standing::Worker),
            Command::InviteParties {
                parties: vec![
                    invitee("debian", PartyKind::Distribution),
                    invitee("acme", PartyKind::Vendor),
                ],
                reply_by: date(2026, 12, 7),
                summary: "A heap overflow in the CSV importer.".into(),
            },
        )
        .unwrap();
        log
    }

    #[test]
    fn a_party_answers_states_and_writes_and_no_one_else_reads_its_thread() {
        let mut log = invited();
        let party = By::Party;
        act(
            &mut log,
            party,
            Command::AnswerInvitation {
                party: "debian".into(),
                accepted: true,
                note: Some(" ".into()),
            },
        )
        .unwrap();
        let not_affected = statement(
            "not affected",
            Some("vulnerable_code_not_present"),
            "We ship 1.x.",
        )
        .unwrap();
        act(
            &mut log,
            party,
            Command::State {
                party: "debian".into(),
                statement: not_affected.clone(),
            },
        )
        .unwrap();
        act(
            &mut log,
            party,
            Command::PartyWrite {
                party: "debian".into(),
                body: "Thanks.".into(),
                files: Vec::new(),
            },
        )
        .unwrap();
        act(
            &mut log,
            party,
            Command::PartyWrite {
                party: "acme".into(),
                body: "Looking.".into(),
                files: Vec::new(),
            },
        )
        .unwrap();
        act(
            &mut log,
            By::Team(Standing::Worker),
            Command::MessageParties {
                party: None,
                body: "Release moves to Friday.".into(),
                files: Vec::new(),
            },
        )
        .unwrap();

        let c = state(&log);
        let debian = c.party("debian").unwrap();
        assert_eq!(
            debian.answer.as_ref().map(|a| (a.accepted, a.note.clone())),
            Some((true, None))
        );
        assert_eq!(debian.statement.as_ref().map(|s| &s.0), Some(&not_affected));
        assert!(!debian.approved);
        assert_eq!(debian.messages, 2, "its own and the message to all");
        assert_eq!(c.silent(), ["acme"], "acme gave no status: no answer yet");
        let bodies = |slug| {
            thread(&log, slug)
                .map(|r| match &r.event {
                    Event::PartyMessage { body, .. } => body.clone(),
                    _ => unreachable!(),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(bodies("debian"), ["Thanks.", "Release moves to Friday."]);
        assert_eq!(bodies("acme"), ["Looking.", "Release moves to Friday."]);

        // Approval is the officer's, once per statement.
        let approve = || Command::ApproveStatement {
            party: "debian".into(),
        };
        assert!(matches!(
            act(&mut log, By::Team(Standing::Worker), approve()),
            Err(Refusal::Forbidden { .. })
        ));
        act(&mut log, By::Team(Standing::Manager), approve()).unwrap();
        assert!(state(&log).party("debian").unwrap().approved);
        assert!(matches!(
            act(&mut log, By::Team(Standing::Manager), approve()),
            Err(Refusal::Conflict(_))
        ));
        let e = act(
            &mut log,
            By::Team(Standing::Manager),
            Command::ApproveStatement {
                party: "acme".into(),
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("no status yet"), "{e}");
        // A new statement needs approving again.
        let fixed = statement("fixed", None, "Fixed in 1.2-3.").unwrap();
        act(
            &mut log,
            party,
            Command::State {
                party: "debian".into(),
                statement: fixed,
            },
        )
        .unwrap();
        assert!(!state(&log).party("debian").unwrap().approved);
    }

    #[test]
    fn who_may_do_what() {
        let mut log = invited();
        // A party cannot act as the team, nor for a party not on the case.
        let e = act(
            &mut log,
            By::Party,
            Command::MessageParties {
                party: None,
                body: "x".into(),
                files: Vec::new(),
            },
        );
        assert!(matches!(e, Err(Refusal::Forbidden { .. })), "{e:?}");
        let e = act(
            &mut log,
            By::Party,
            Command::PartyWrite {
                party: "suse".into(),
                body: "x".into(),
                files: Vec::new(),
            },
        );
        assert!(
            matches!(&e, Err(Refusal::Invalid { field: "party", .. })),
            "{e:?}"
        );
        // The team answers no invitation, but records a status a party sent by mail.
        let e = act(
            &mut log,
            By::Team(Standing::Manager),
            Command::AnswerInvitation {
                party: "acme".into(),
                accepted: true,
                note: None,
            },
        );
        assert!(matches!(e, Err(Refusal::Forbidden { .. })), "{e:?}");
        let affected = statement("affected", None, "").unwrap();
        act(
            &mut log,
            By::Team(Standing::Worker),
            Command::State {
                party: "acme".into(),
                statement: affected,
            },
        )
        .unwrap();
        assert_eq!(
            state(&log).party("acme").unwrap().last_heard,
            None,
            "the team's record is not the party's word"
        );
        // A reader changes nothing; embargo terms and the release are the officer's.
        let end: Timestamp = "2027-01-15T14:00:00Z".parse().unwrap();
        let set = || Command::SetEmbargo {
            end,
            terms: "Maintainers only.".into(),
        };
        assert!(matches!(
            act(&mut log, By::Team(Standing::Worker), set()),
            Err(Refusal::Forbidden { .. })
        ));
        act(&mut log, By::Team(Standing::Manager), set()).unwrap();
        assert_eq!(state(&log).embargo.map(|e| e.end), Some(end));
        let past: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
        let e = act(
            &mut log,
            By::Team(Standing::Manager),
            Command::SetEmbargo {
                end: past,
                terms: String::new(),
            },
        );
        assert!(
            matches!(&e, Err(Refusal::Invalid { field: "end", .. })),
            "{e:?}"
        );
    }

    #[test]
    fn invitations_are_checked_and_a_party_is_invited_once() {
        let mut log = invited();
        let invite = |parties, reply_by| Command::InviteParties {
            parties,
            reply_by,
            summary: "s".into(),
        };
        let worker = By::Team(Standing::Worker);
        let e = act(
            &mut log,
            worker,
            invite(vec![invitee("debian", PartyKind::Distribution)], TODAY),
        )
        .unwrap_err();
        assert!(e.to_string().contains("already invited: debian"), "{e}");
        let e = act(
            &mut log,
            worker,
            invite(
                vec![invitee("suse", PartyKind::Distribution)],
                date(2026, 11, 29),
            ),
        )
        .unwrap_err();
        assert!(
            matches!(
                &e,
                Refusal::Invalid {
                    field: "reply_by",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = act(&mut log, worker, invite(vec![], TODAY)).unwrap_err();
        assert!(
            matches!(
                &e,
                Refusal::Invalid {
                    field: "parties",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = act(
            &mut log,
            worker,
            Command::InviteParties {
                parties: vec![invitee("suse", PartyKind::Distribution)],
                reply_by: TODAY,
                summary: " ".into(),
            },
        )
        .unwrap_err();
        assert!(
            matches!(
                &e,
                Refusal::Invalid {
                    field: "summary",
                    ..
                }
            ),
            "{e:?}"
        );
        // Those already invited are left out of a group invitation.
        act(
            &mut log,
            worker,
            invite(
                vec![
                    invitee("debian", PartyKind::Distribution),
                    invitee("suse", PartyKind::Distribution),
                ],
                TODAY,
            ),
        )
        .unwrap();
        let last = &log.last().unwrap().event;
        assert!(
            matches!(last, Event::PartiesInvited { parties, .. } if parties.len() == 1 && parties[0].party == "suse"),
            "{last:?}"
        );
        assert_eq!(state(&log).parties.len(), 3);
        // Nothing new is coordinated on a declined case, but what a party sends is kept.
        let declined = crate::triage::DeclineReason::NotAVulnerability;
        act(
            &mut log,
            worker,
            Command::Decline {
                reason: declined,
                duplicate_of: None,
                note: None,
            },
        )
        .unwrap();
        assert_eq!(crate::triage::fold(&log), crate::case::State::Declined);
        let e = act(
            &mut log,
            worker,
            invite(vec![invitee("sles", PartyKind::Distribution)], TODAY),
        )
        .unwrap_err();
        assert!(matches!(e, Refusal::Conflict(_)), "{e:?}");
        act(
            &mut log,
            By::Party,
            Command::PartyWrite {
                party: "suse".into(),
                body: "Late, sorry.".into(),
                files: Vec::new(),
            },
        )
        .unwrap();
    }

    #[test]
    fn the_embargo_breaking_tells_every_party_once() {
        let mut log = invited();
        let worker = By::Team(Standing::Worker);
        act(
            &mut log,
            worker,
            Command::Leaked {
                on: date(2026, 11, 29),
            },
        )
        .unwrap();
        let told: Vec<_> = log
            .iter()
            .filter_map(|r| match &r.event {
                Event::PartiesToldOfBreak { parties } => Some(parties.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(told, [vec!["debian".to_owned(), "acme".to_owned()]]);
        act(
            &mut log,
            worker,
            Command::ExploitationObserved {
                on: date(2026, 11, 30),
            },
        )
        .unwrap();
        let count = log
            .iter()
            .filter(|r| matches!(r.event, Event::PartiesToldOfBreak { .. }))
            .count();
        assert_eq!(count, 1, "told once");
        // Without parties nobody is told.
        let mut alone = reported("salestim", None);
        act(
            &mut alone,
            worker,
            Command::Leaked {
                on: date(2026, 11, 29),
            },
        )
        .unwrap();
        assert!(
            !alone
                .iter()
                .any(|r| matches!(r.event, Event::PartiesToldOfBreak { .. }))
        );
    }

    #[test]
    fn a_release_is_agreed_with_parties_and_moves_the_clock() {
        let mut log = reported("salestim", None);
        let officer = By::Team(Standing::Manager);
        let at: Timestamp = "2027-02-25T15:00:00Z".parse().unwrap();
        let e = act(&mut log, officer, Command::AgreeRelease { at, note: None }).unwrap_err();
        assert!(e.to_string().contains("invite them first"), "{e}");
        let mut log = invited();
        act(
            &mut log,
            officer,
            Command::AgreeRelease {
                at,
                note: Some("All accepted.".into()),
            },
        )
        .unwrap();
        let salestim = policy("salestim");
        let facts = crate::case::facts(salestim.calendar(), &log).unwrap();
        assert_eq!(
            facts.release_agreed,
            Some(crate::clocks::Agreement {
                release: date(2027, 2, 25),
                agreed: TODAY
            })
        );
    }

    #[test]
    fn statements_are_checked_by_field() {
        for (status, justification, field) in [
            ("unknown", None, "status"),
            ("not_affected", None, "justification"),
            ("affected", Some("component_not_present"), "justification"),
            ("not_affected", Some("because"), "justification"),
        ] {
            assert_eq!(
                statement(status, justification, "").unwrap_err().field,
                field,
                "{status}"
            );
        }
        let long = "x".repeat(MAX_STATEMENT_CHARS + 1);
        assert_eq!(
            statement("fixed", None, &long).unwrap_err().field,
            "statement"
        );
        assert_eq!(
            statement("Under investigation", Some(""), " a ")
                .unwrap()
                .status,
            VexStatus::UnderInvestigation
        );
        for s in VexStatus::ALL {
            assert_eq!(VexStatus::parse(s.as_str()), Some(s));
        }
        for j in Justification::ALL {
            assert_eq!(Justification::parse(j.as_str()), Some(j));
        }
    }

    #[test]
    fn silent_parties_are_reminded_on_the_policys_cadence() {
        let mut log = invited();
        let salestim = policy("salestim");
        // Invited 2026-11-30: due a week later, not before.
        assert!(due_reminders(&salestim, &log, date(2026, 12, 6)).is_empty());
        assert_eq!(
            due_reminders(&salestim, &log, date(2026, 12, 7)),
            ["debian", "acme"]
        );
        // A party that answered with a status, or declined, is not reminded.
        let fixed = statement("fixed", None, "").unwrap();
        act(
            &mut log,
            By::Party,
            Command::State {
                party: "debian".into(),
                statement: fixed,
            },
        )
        .unwrap();
        assert_eq!(due_reminders(&salestim, &log, date(2026, 12, 7)), ["acme"]);
        log.push(Recorded {
            at: "2026-12-07T09:00:00Z".parse().unwrap(),
            actor: "vulndesk".into(),
            event: Event::PartiesReminded {
                parties: vec!["acme".into()],
            },
        });
        assert!(due_reminders(&salestim, &log, date(2026, 12, 13)).is_empty());
        assert_eq!(due_reminders(&salestim, &log, date(2026, 12, 14)), ["acme"]);
        act(
            &mut log,
            By::Party,
            Command::AnswerInvitation {
                party: "acme".into(),
                accepted: false,
                note: None,
            },
        )
        .unwrap();
        assert!(due_reminders(&salestim, &log, date(2026, 12, 30)).is_empty());
    }

    #[test]
    fn the_reporter_is_shown_to_parties_only_with_consent_and_the_officers_choice() {
        let mut log = invited();
        let officer = By::Team(Standing::Manager);
        let e = act(&mut log, officer, Command::ShareReporter { share: true }).unwrap_err();
        assert!(e.to_string().contains("has not consented"), "{e}");
        let e = act(
            &mut log,
            officer,
            Command::Consent {
                share_identity: true,
            },
        )
        .unwrap_err();
        assert!(
            matches!(e, Refusal::Forbidden { .. }),
            "only the reporter consents"
        );
        act(
            &mut log,
            By::Reporter,
            Command::Consent {
                share_identity: true,
            },
        )
        .unwrap();
        assert!(
            !state(&log).shows_reporter(),
            "consent alone shares nothing"
        );
        let e = act(
            &mut log,
            By::Team(Standing::Worker),
            Command::ShareReporter { share: true },
        );
        assert!(
            matches!(e, Err(Refusal::Forbidden { .. })),
            "the officer's choice"
        );
        act(&mut log, officer, Command::ShareReporter { share: true }).unwrap();
        assert!(state(&log).shows_reporter());
        // Withdrawn consent ends it at once, whatever the team chose.
        act(
            &mut log,
            By::Reporter,
            Command::Consent {
                share_identity: false,
            },
        )
        .unwrap();
        assert!(!state(&log).shows_reporter());
    }

    #[test]
    fn the_team_shares_a_partys_message_with_every_party_files_and_all() {
        let mut log = invited();
        let patch = crate::command::File {
            sha256: "ab".repeat(32),
            filename: "debian.patch".into(),
            content_type: "text/x-diff".into(),
            size: 10,
        };
        act(
            &mut log,
            By::Party,
            Command::PartyWrite {
                party: "debian".into(),
                body: "Our backport.\n\nTested on bookworm.".into(),
                files: vec![patch.clone()],
            },
        )
        .unwrap();
        assert!(
            thread(&log, "acme").next().is_none(),
            "Debian's own, at first"
        );
        let c = state(&log);
        let written = &log.last().unwrap().event;
        let Some(command) = share(&c, written, "For your packages too.", Vec::new()) else {
            panic!("a party's message is shared");
        };
        match &command {
            Command::MessageParties { party, body, files } => {
                assert_eq!(party, &None, "to every party");
                assert_eq!(
                    body,
                    "For your packages too.\n\nDEBIAN wrote:\n\n> Our backport.\n>\n> Tested on bookworm."
                );
                assert_eq!(files, std::slice::from_ref(&patch));
            }
            other => panic!("{other:?}"),
        }
        act(&mut log, By::Team(Standing::Worker), command).unwrap();
        let acme: Vec<_> = thread(&log, "acme").collect();
        assert!(
            matches!(&acme[..], [r] if matches!(&r.event, Event::PartyMessage { files, .. } if files == std::slice::from_ref(&patch)))
        );
        // Only what a party wrote is shared this way; the team writes to all directly.
        let team_message = &log.last().unwrap().event;
        assert!(share(&c, team_message, "", Vec::new()).is_none());
    }
}
