use super::*;

const CASE: CaseRef = CaseRef { id: 7, org_id: 1 };
const OTHER_ORG: i64 = 2;

fn person(f: impl FnOnce(&mut Person)) -> Principal {
    let mut p = Person {
        user_id: 1,
        ..Person::default()
    };
    f(&mut p);
    Principal::Person(p)
}

fn principals() -> Vec<(&'static str, Principal)> {
    vec![
        ("anonymous", Principal::Anonymous),
        ("reporter", Principal::Reporter { case_id: 7 }),
        ("other reporter", Principal::Reporter { case_id: 8 }),
        ("party", Principal::Party { case_id: 7 }),
        ("other case's party", Principal::Party { case_id: 8 }),
        (
            "other org member",
            person(|p| {
                p.orgs.insert(OTHER_ORG, OrgRole::Officer);
            }),
        ),
        (
            "member",
            person(|p| {
                p.orgs.insert(1, OrgRole::Member);
            }),
        ),
        (
            "officer",
            person(|p| {
                p.orgs.insert(1, OrgRole::Officer);
            }),
        ),
        (
            "reviewer",
            person(|p| {
                p.orgs.insert(1, OrgRole::Reviewer);
            }),
        ),
        ("admin", person(|p| p.admin = true)),
        (
            "external",
            person(|p| {
                p.cases.insert(7, CaseGrant::External);
            }),
        ),
        (
            "external elsewhere",
            person(|p| {
                p.cases.insert(8, CaseGrant::External);
            }),
        ),
        (
            "party account",
            person(|p| {
                p.party_cases.insert(7);
            }),
        ),
        (
            "party account elsewhere",
            person(|p| {
                p.party_cases.insert(8);
            }),
        ),
        (
            "party account's token",
            person(|p| {
                p.party_cases.insert(7);
                p.scopes = Some(Scope::ALL.to_vec());
            }),
        ),
        (
            "added member",
            person(|p| {
                p.cases.insert(7, CaseGrant::Member);
            }),
        ),
        (
            "reviewer added as member",
            person(|p| {
                p.orgs.insert(1, OrgRole::Reviewer);
                p.cases.insert(7, CaseGrant::Member);
            }),
        ),
        (
            "officer's read token",
            person(|p| {
                p.orgs.insert(1, OrgRole::Officer);
                p.scopes = Some(vec![Scope::CasesRead]);
            }),
        ),
        (
            "officer's write token",
            person(|p| {
                p.orgs.insert(1, OrgRole::Officer);
                p.scopes = Some(vec![Scope::CasesWrite]);
            }),
        ),
        (
            "admin's full token",
            person(|p| {
                p.admin = true;
                p.scopes = Some(Scope::ALL.to_vec());
            }),
        ),
    ]
}

const NEEDS: [Need; 18] = [
    Need::Public,
    Need::Reporter,
    Need::Party,
    Need::PartyAccount,
    Need::SignedIn,
    Need::SignedInWrite,
    Need::BrowserSession,
    Need::ReadCase,
    Need::WorkCase,
    Need::ManageCase,
    Need::ReviewCase,
    Need::OrgTeam,
    Need::OrgOfficer,
    Need::Admin,
    Need::ReadAdvisory,
    Need::ReviewAdvisory,
    Need::WorkAdvisory,
    Need::ManageAdvisory,
];

/// The whole model as a table: one row per principal, one column per need, for the case
/// named by the route. `.` allow, `s` sign in, `h` hidden (404), `f` forbidden (403).
const EXPECTED: [(&str, &str); 20] = [
    // Pub Rep Pty PAc Sig SgW Brw Read Work Mgr Rev Org OrgO Adm RAdv RvAdv WAdv MAdv
    (
        "anonymous",
        ".   h   h   s   s   s   s   s   s   s   s   s   s   s   s   s   s   s",
    ),
    (
        "reporter",
        ".   .   h   s   s   s   s   s   s   s   s   s   s   s   s   s   s   s",
    ),
    (
        "other reporter",
        ".   h   h   s   s   s   s   s   s   s   s   s   s   s   s   s   s   s",
    ),
    (
        "party",
        ".   h   .   s   s   s   s   s   s   s   s   s   s   s   s   s   s   s",
    ),
    (
        "other case's party",
        ".   h   h   s   s   s   s   s   s   s   s   s   s   s   s   s   s   s",
    ),
    (
        "other org member",
        ".   h   h   h   .   .   .   h   h   h   h   f   f   f   h   h   h   h",
    ),
    (
        "member",
        ".   h   h   h   .   .   .   .   .   f   .   .   f   f   .   .   .   f",
    ),
    (
        "officer",
        ".   h   h   h   .   .   .   .   .   .   .   .   .   f   .   .   .   .",
    ),
    (
        "reviewer",
        ".   h   h   h   .   .   .   .   f   f   .   f   f   f   .   .   f   f",
    ),
    (
        "admin",
        ".   h   h   h   .   .   .   .   .   .   .   .   .   .   .   .   .   .",
    ),
    (
        "external",
        ".   h   h   h   .   .   .   h   h   h   h   f   f   f   h   h   h   h",
    ),
    (
        "external elsewhere",
        ".   h   h   h   .   .   .   h   h   h   h   f   f   f   h   h   h   h",
    ),
    (
        "party account",
        ".   h   h   .   .   .   .   h   h   h   h   f   f   f   h   h   h   h",
    ),
    (
        "party account elsewhere",
        ".   h   h   h   .   .   .   h   h   h   h   f   f   f   h   h   h   h",
    ),
    (
        "party account's token",
        ".   h   h   h   .   .   f   h   h   h   h   f   f   f   h   h   h   h",
    ),
    (
        "added member",
        ".   h   h   h   .   .   .   .   .   f   .   f   f   f   .   .   .   f",
    ),
    (
        "reviewer added as member",
        ".   h   h   h   .   .   .   .   .   f   .   f   f   f   .   .   .   f",
    ),
    (
        "officer's read token",
        ".   h   h   h   .   f   f   .   f   f   f   .   f   f   .   f   f   f",
    ),
    (
        "officer's write token",
        ".   h   h   h   .   .   f   .   .   .   .   .   .   f   .   .   .   .",
    ),
    (
        "admin's full token",
        ".   h   h   h   .   .   f   .   .   .   .   .   .   f   .   .   .   .",
    ),
];

/// What a route with `need` names: organisation 1 for the organisation's needs, a
/// published advisory covering case 7 for the advisory's, else case 7 (of organisation 1).
fn target(need: Need) -> Option<Target> {
    match need {
        Need::OrgTeam | Need::OrgOfficer => Some(Target::Org(1)),
        Need::ReadAdvisory | Need::ReviewAdvisory | Need::WorkAdvisory | Need::ManageAdvisory => {
            Some(Target::Advisory(AdvisoryRef {
                org_id: 1,
                cases: vec![7],
                draft_readers: None,
            }))
        }
        _ => Some(Target::Case(CASE)),
    }
}

fn symbol(d: Result<(), Denial>) -> char {
    match d {
        Ok(()) => '.',
        Err(Denial::SignIn) => 's',
        Err(Denial::Hidden) => 'h',
        Err(Denial::Forbidden) => 'f',
    }
}

#[test]
fn every_principal_and_need_has_the_specified_decision() {
    let principals = principals();
    assert_eq!(principals.len(), EXPECTED.len());
    for ((name, principal), (row, cells)) in principals.iter().zip(EXPECTED) {
        assert_eq!(*name, row);
        let want: String = cells.split_whitespace().collect();
        let got: String = NEEDS
            .iter()
            .map(|need| symbol(decide(principal, *need, target(*need))))
            .collect();
        assert_eq!(got, want, "{name}: needs {NEEDS:?}");
    }
}

#[test]
fn a_case_that_does_not_exist_is_never_allowed_and_hidden_from_people() {
    for (name, principal) in principals() {
        for need in [
            Need::Reporter,
            Need::Party,
            Need::PartyAccount,
            Need::ReadCase,
            Need::WorkCase,
            Need::ManageCase,
            Need::ReviewCase,
            Need::OrgTeam,
            Need::OrgOfficer,
            Need::ReadAdvisory,
            Need::ReviewAdvisory,
            Need::WorkAdvisory,
            Need::ManageAdvisory,
        ] {
            let got = decide(&principal, need, None);
            assert!(got.is_err(), "{name} {need:?}");
            if let Principal::Person(Person { scopes: None, .. }) = principal {
                assert_eq!(got, Err(Denial::Hidden), "{name} {need:?}");
            }
        }
    }
}

#[test]
fn standing_takes_the_stronger_of_role_and_grant() {
    let Principal::Person(p) = person(|p| {
        p.orgs.insert(1, OrgRole::Reviewer);
        p.cases.insert(7, CaseGrant::Member);
        p.cases.insert(9, CaseGrant::External);
        p.party_cases.insert(10);
    }) else {
        unreachable!()
    };
    assert_eq!(standing(&p, CASE), Some(Standing::Worker));
    // The retired external grant, and answering for a party, give no standing.
    assert_eq!(standing(&p, CaseRef { id: 9, org_id: 5 }), None);
    assert_eq!(standing(&p, CaseRef { id: 10, org_id: 5 }), None);
    assert!(can_see(&p, CaseRef { id: 11, org_id: 1 }));
}

#[test]
fn an_advisory_is_read_by_readers_of_all_its_cases_and_a_draft_by_the_policys_groups() {
    let two_cases = |draft_readers: Option<Vec<OrgRole>>| {
        Some(Target::Advisory(AdvisoryRef {
            org_id: 1,
            cases: vec![7, 9],
            draft_readers,
        }))
    };
    let added_to_7 = person(|p| {
        p.cases.insert(7, CaseGrant::Member);
    });
    let added_to_both = person(|p| {
        p.cases.insert(7, CaseGrant::Member);
        p.cases.insert(9, CaseGrant::Reviewer);
    });
    // Covering a case one cannot read hides the advisory; the least standing decides.
    assert_eq!(
        decide(&added_to_7, Need::ReadAdvisory, two_cases(None)),
        Err(Denial::Hidden)
    );
    assert_eq!(
        decide(&added_to_both, Need::ReadAdvisory, two_cases(None)),
        Ok(())
    );
    assert_eq!(
        decide(&added_to_both, Need::WorkAdvisory, two_cases(None)),
        Err(Denial::Forbidden)
    );
    // Signalen: a draft is read by officers and the steering group only.
    let drafts = || two_cases(Some(vec![OrgRole::Officer]));
    let member = person(|p| {
        p.orgs.insert(1, OrgRole::Member);
    });
    let officer = person(|p| {
        p.orgs.insert(1, OrgRole::Officer);
    });
    assert_eq!(
        decide(&member, Need::ReadAdvisory, drafts()),
        Err(Denial::Hidden)
    );
    assert_eq!(
        decide(&member, Need::WorkAdvisory, drafts()),
        Err(Denial::Hidden)
    );
    assert_eq!(decide(&officer, Need::ManageAdvisory, drafts()), Ok(()));
    assert_eq!(
        decide(&added_to_both, Need::ReadAdvisory, drafts()),
        Err(Denial::Hidden)
    );
    assert_eq!(
        decide(
            &added_to_both,
            Need::ReadAdvisory,
            two_cases(Some(vec![OrgRole::Member, OrgRole::Reviewer]))
        ),
        Ok(())
    );
    assert_eq!(
        decide(&person(|p| p.admin = true), Need::ManageAdvisory, drafts()),
        Ok(())
    );
    assert_eq!(decide(&member, Need::ReadAdvisory, two_cases(None)), Ok(()));
}

#[test]
fn names_round_trip() {
    for r in OrgRole::ALL {
        assert_eq!(OrgRole::parse(r.as_str()), Some(r));
    }
    for g in CaseGrant::ALL {
        assert_eq!(CaseGrant::parse(g.as_str()), Some(g));
    }
    for s in Scope::ALL {
        assert_eq!(Scope::parse(s.as_str()), Some(s));
        assert_eq!(
            serde_json::to_value(s).unwrap(),
            serde_json::json!(s.as_str())
        );
    }
    assert_eq!(OrgRole::parse("boss"), None);
}
